// Package resolve is coda's resolution engine: the version-vector algebra
// every replicated update, validation and resolution uses (vv.go: Compare,
// Merge, Bump, Dominant, Lagging, Stamp), and log-based directory
// resolution (dir.go: MergeDir, which merges the replicas of a directory
// that both sides of a partition changed, from their operation logs, and
// names the conflicts). Scenario files in testdata/dir script partitions
// and their expected merges; a property test runs thousands of random ones.
//
// # Background: COP1, COP2 and weak equality
//
// Every object of a replicated volume carries a version vector per replica
// (proto.VV): one counter per replica slot (at most proto.MaxReplicas) and
// the StoreID (client, sequence) of the last update applied. As in Coda, a
// client updates a replicated object in two phases. COP1 sends the update
// to every reachable replica in parallel; each replica that applies it
// records the update's StoreID. COP2 then tells those replicas which of
// them applied it, and each increments, in its own vector, the slot of
// every replica that applied it — so all of them end with the same vector
// (Stamp computes it). A replica that missed the update keeps its old
// vector, which the others now strictly dominate: it is lagging, and
// resolution copies the dominant state to it (Dominant, Lagging). Replicas
// that took updates on both sides of a partition have concurrent vectors.
//
// COP2 may not reach everyone (the client disconnects, a reply is lost).
// The replicas then applied the same update but their counters disagree.
// Coda calls them weakly equal: their StoreIDs are the same, so their last
// update — and therefore their state — is the same, and resolution only
// has to stamp a common vector (Merge) instead of copying anything.
//
// # Decisions
//
//   - Compare compares counters slot-wise (Equal, Dominates, Dominated,
//     Concurrent). If the counters differ but both StoreIDs are equal and
//     non-zero, the result is Equal (weak equality, Coda's rule). A zero
//     StoreID means "no update recorded" (a fresh or merged vector) and
//     never makes two vectors weakly equal: two fresh replicas with
//     different counters did not apply a common update.
//   - Identical counters are Equal whatever the StoreIDs: counters are the
//     authority, the StoreID only adds equalities. CompareCounters gives
//     the counters-only order for callers that must tell weak from strict
//     equality (weakly equal replicas need a new common stamp).
//   - Compare is antisymmetric (Compare(b, a) == Compare(a, b).Reverse()),
//     Equal is symmetric, but weak equality makes Compare non-transitive;
//     Dominant therefore checks every pair rather than assuming an order.
//   - Dominant returns a replica that dominates-or-equals every other one,
//     even when two lagging replicas are concurrent with each other (the
//     dominant one has seen all their updates). ok is false only when no
//     such replica exists: a real divergence.
//   - Merge's StoreID is the dominant vector's, or zero when the inputs
//     are concurrent; the merge of a divergence is no single update.
//   - Stamp refuses (ok false) when no replica applied the update or the
//     applying replicas were not pairwise Equal before it: stamping a
//     lagging replica would claim updates it never saw.
//   - Counters saturate at 2^32-1 instead of wrapping (unreachable in
//     practice, and a wrap would silently invert dominance).
//
// # Contracts
//
// Every function is pure: no I/O, no goroutines, no clocks, no logging, no
// package state; safe for concurrent use. Inputs are values and are never
// modified. There are no errors: the only failures are programming errors
// (a slot outside [0, proto.MaxReplicas), mismatched slice lengths), which
// panic with a message naming the function. Nothing is persisted here;
// callers store the vectors. The package imports no pebble, go-fuse or net
// (TestImportRules at the module root enforces it).
package resolve
