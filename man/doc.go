// Package man holds coda's manual pages and generates the command pages
// from the urfave/cli definitions, so that the pages never drift from the
// flags (`coda gen-man DIR`, `make man`; a test in the root package fails
// when the pages here are stale).
//
// Generated pages start with GeneratedMarker. Hand-written pages (formats
// and protocols, section 5 and 7: coda-proto.7) live beside them and are
// never touched by the generator.
//
// Conventions the generator relies on in the command definitions: Usage is
// the one-line summary (NAME section); UsageText the synopsis, one form per
// line; Description is prose paragraphs separated by blank lines, where
// lines indented by spaces are shown verbatim, and an "EXAMPLES:" line
// starts the EXAMPLES section. A flag's placeholder is the `quoted` word of
// its usage, as in urfave/cli's own help.
//
// The output is deterministic (no dates, no version) and renders without
// warnings under `groff -ww -man`. No state; safe for concurrent use.
package man
