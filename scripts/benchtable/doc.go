// Command benchtable turns the per-run outputs of shared/bench/fsbench.sh,
// as collected by scripts/bench.sh, into one comparison table.
//
// Input is a results directory with one subdirectory per target
// (local, loopback, sshfs, coda, …). A target directory holds run-N.out
// files (fsbench.sh's stdout, one "<phase> <seconds>[  (rc=N)]" line per
// phase and a "# …" summary line), or a file named "na" whose text says why
// the target could not be measured. An optional notes.txt in the results
// directory adds lines under the table.
//
// Output: a plain-text table on stdout and, with -md, the same table as
// Markdown. Rows are fsbench phases plus "total"; columns are seconds per
// target with the ratio to the local-disk column, e.g. "12.30 (2.0x)". With
// several runs every cell is the median (total is the median of per-run
// totals, not the sum of medians).
//
// "benchtable -freeport" prints a TCP port that was free on 127.0.0.1 a
// moment ago (the caller binds it right away and retries on a clash).
//
// Errors: unreadable input or an empty results directory exit non-zero with
// one line on stderr. It keeps no state and takes no locks.
package main
