#!/bin/bash
# bench.sh -- run shared/bench/fsbench.sh on local disk, go-fuse's loopback
# example, sshfs over 127.0.0.1 and a coda mount of a local cell, then print
# one table (seconds per phase, ratio to local disk) and write it as Markdown.
#
# Usage: scripts/bench.sh            (make bench runs this)
# Env:
#   BENCH_TARGETS  targets in column order (default "local loopback sshfs coda")
#   BENCH_RUNS     runs per target (default 1; >1 reports medians)
#   BENCH_OUT      Markdown output (default <repo>/bench-results.md)
#   BENCH_TIMEOUT  seconds one fsbench run may take before it is killed (3600)
#   BENCH_INSTALL  1 (default): apt-get install what a target lacks
#                  (fuse3, openssh-server, sshfs); 0: mark the target n/a
#   BENCH_TMPDIR   parent of the scratch directory (default $TMPDIR or /tmp);
#                  every target's backing directory lives in it, so all
#                  targets sit on the same file system
#   FSBENCH        the workload script (default <repo>/../shared/bench/fsbench.sh)
#   FSBENCH_*      passed through to fsbench.sh (FSBENCH_BIG_MB=256 for a quick run)
# Needs root (mounts, drop_caches). Network traffic stays on 127.0.0.1.
# Everything it mounts or starts is unmounted or stopped on every exit path.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FSBENCH=${FSBENCH:-$REPO/../shared/bench/fsbench.sh}
RUNS=${BENCH_RUNS:-1}
TARGETS=${BENCH_TARGETS:-local loopback sshfs coda}
OUT=${BENCH_OUT:-$REPO/bench-results.md}
RUN_TIMEOUT=${BENCH_TIMEOUT:-3600}
INSTALL=${BENCH_INSTALL:-1}

# State read by cleanup; set as things are started.
BASE=""            # scratch directory
MOUNTS=()          # mount points we mounted, in order
DAEMONS=()         # pids of daemons we started, in order
FSB_PID=""         # the running fsbench (its timeout wrapper)
CODA_CELL=""       # cell directory given to coda-cell start
MADE_RUN_SSHD=0    # we created /run/sshd
APT_UPDATED=0
LOAD_START=""

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# ---- process and mount helpers -------------------------------------------

stat_field() { # pid n: field n of /proc/pid/stat, counted after "(comm)"
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  cut -d' ' -f"$(($2 - 2))" <<<"$st"
}

alive() { # pid: running and not a zombie
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(stat_field "$1" 3)" != Z ]
}

wait_gone() { # pid seconds: poll until the pid has exited
  local pid=$1 end=$((SECONDS + $2))
  while alive "$pid"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.1
  done
  wait "$pid" 2>/dev/null
  return 0
}

stop_pid() { # pid: TERM, then KILL after 10 s
  alive "$1" || { wait "$1" 2>/dev/null; return 0; }
  kill -TERM "$1" 2>/dev/null
  wait_gone "$1" 10 && return 0
  log "pid $1 ignored SIGTERM; sending SIGKILL"
  kill -KILL "$1" 2>/dev/null
  wait_gone "$1" 5
}

stop_group() { # pid of a process-group leader (timeout(1) is one): TERM, then KILL the group
  [ "$(stat_field "$1" 5)" = "$1" ] || { stop_pid "$1"; return; }
  kill -TERM -- "-$1" 2>/dev/null
  wait_gone "$1" 10 && return 0
  log "fsbench (group $1) ignored SIGTERM; sending SIGKILL"
  kill -KILL -- "-$1" 2>/dev/null
  wait_gone "$1" 5
}

is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

wait_mounted() { # dir pid seconds: poll until dir is a mount point
  local end=$((SECONDS + $3))
  until is_mounted "$1"; do
    alive "$2" || return 1
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.1
  done
}

unmount() { # dir
  is_mounted "$1" || return 0
  umount "$1" 2>/dev/null && return 0
  log "umount $1 failed (busy?); detaching it lazily"
  umount -l "$1"
}

cleanup() {
  local rc=$? i m
  trap - EXIT INT TERM
  [ -n "$FSB_PID" ] && stop_group "$FSB_PID"
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do unmount "${MOUNTS[i]}"; done
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_pid "${DAEMONS[i]}"; done
  [ -n "$CODA_CELL" ] && stop_coda
  [ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
  if [ -n "$BASE" ] && [ -d "$BASE" ]; then
    m=$(awk -v b="$BASE/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo)
    if [ -n "$m" ]; then
      log "left $BASE in place: still mounted: $m"
    else
      rm -rf --one-file-system "$BASE"
    fi
  fi
  exit "$rc"
}

# ---- setup helpers ---------------------------------------------------------

na() { # target reason
  mkdir -p "$RES/$1"
  echo "$2" >"$RES/$1/na"
  log "$1: n/a: $2"
}

apt_install() { # packages...
  if [ "$INSTALL" != 1 ]; then
    log "would need Debian packages $*, but BENCH_INSTALL=$INSTALL"
    return 1
  fi
  command -v apt-get >/dev/null || { log "no apt-get to install $*"; return 1; }
  log "installing Debian packages: $* (apt-get install -y)"
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq >"$BASE/apt.log" 2>&1 || { log "apt-get update failed: $(tail -n 1 "$BASE/apt.log")"; return 1; }
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >>"$BASE/apt.log" 2>&1 || { log "apt-get install $* failed: $(tail -n 1 "$BASE/apt.log")"; return 1; }
  echo "installed for this run: $*" >>"$RES/notes.txt"
}

note() { echo "$*" >>"$RES/notes.txt"; }

# ---- targets ---------------------------------------------------------------
# setup_T prints nothing on success and sets DIRS[T]; on failure it calls na.

declare -A DIRS

setup_local() {
  DIRS[local]=$BASE/local
  mkdir -p "${DIRS[local]}"
}

start_loopback() { # extra loopback flags...
  "$BASE/bin/loopback" -q "$@" "$BASE/loopback.mnt" "$BASE/loopback.src" \
    >"$BASE/loopback.log" 2>&1 &
  local pid=$!
  DAEMONS+=("$pid")
  MOUNTS+=("$BASE/loopback.mnt")
  wait_mounted "$BASE/loopback.mnt" "$pid" 30 && return 0
  stop_pid "$pid"
  return 1
}

setup_loopback() {
  mkdir -p "$BASE/loopback.src" "$BASE/loopback.mnt"
  if ! (cd "$REPO" && go build -o "$BASE/bin/loopback" github.com/hanwen/go-fuse/v2/example/loopback) \
    >"$BASE/loopback-build.log" 2>&1; then
    na loopback "go build of go-fuse's example/loopback failed: $(tail -n 1 "$BASE/loopback-build.log")"
    return
  fi
  # As root, go-fuse can call mount(2) itself; no fusermount needed.
  if ! start_loopback -directmountstrict; then
    log "loopback: direct mount failed ($(tail -n 1 "$BASE/loopback.log")); trying fusermount3"
    if ! command -v fusermount3 >/dev/null && ! command -v fusermount >/dev/null; then
      apt_install fuse3 || { na loopback "direct mount failed and fuse3 could not be installed"; return; }
    fi
    start_loopback || { na loopback "mount failed: $(tail -n 1 "$BASE/loopback.log")"; return; }
  fi
  DIRS[loopback]=$BASE/loopback.mnt
  note "loopback: go-fuse $(cd "$REPO" && go list -m -f '{{.Version}}' github.com/hanwen/go-fuse/v2) example/loopback (attr/entry timeout 1 s)"
}

# coda_binary: the coda binary coda-cell will run. CODA_BIN wins; otherwise
# the repository is built now (static, as shipped), so figures never come
# from a stale ./coda.
coda_binary() {
  if [ -n "${CODA_BIN:-}" ]; then
    [ -x "$CODA_BIN" ] || { na coda "CODA_BIN=$CODA_BIN is not executable"; return 1; }
    return 0
  fi
  if ! (cd "$REPO" && CGO_ENABLED=0 go build -o "$BASE/bin/coda" .) >"$BASE/coda-build.log" 2>&1; then
    na coda "go build of coda failed: $(grep -m 1 -v '^#' "$BASE/coda-build.log")"
    return 1
  fi
  export CODA_BIN=$BASE/bin/coda
}

setup_coda() {
  local cell=$REPO/scripts/coda-cell mnt realm
  [ -x "$cell" ] || { na coda "scripts/coda-cell not found"; return; }
  coda_binary || return
  CODA_CELL=$BASE/coda
  mkdir -p "$CODA_CELL"
  if ! timeout 300 "$cell" start "$CODA_CELL" >"$BASE/coda-start.log" 2>&1; then
    na coda "coda-cell start failed: $(tail -n 1 "$BASE/coda-start.log")"
    return
  fi
  mnt=$(sed -n 's/^coda cell running: mount \(.*\); stop with:.*/\1/p' "$BASE/coda-start.log" | head -n 1)
  realm=$(sed -n 's/^REALM=//p' "$CODA_CELL/cell.env" 2>/dev/null)
  # The target is the realm directory under the mount, whichever of the two
  # the start line names.
  if [ -n "$realm" ] && [ -n "$mnt" ] && [ "$(basename "$mnt")" != "$realm" ] && [ -d "$mnt/$realm" ]; then
    mnt=$mnt/$realm
  fi
  if [ -z "$mnt" ] || [ ! -d "$mnt" ]; then
    na coda "coda-cell start printed no usable mount line: $(tail -n 1 "$BASE/coda-start.log")"
    return
  fi
  DIRS[coda]=$mnt
  note "coda: local cell via scripts/coda-cell ($CODA_BIN), realm ${realm:-?}, target $mnt"
}

# stop_coda: coda-cell stop, then make sure nothing stays mounted in the cell.
stop_coda() {
  "$REPO/scripts/coda-cell" stop "$CODA_CELL" >"$BASE/coda-stop.log" 2>&1 ||
    log "coda-cell stop $CODA_CELL failed: $(tail -n 1 "$BASE/coda-stop.log")"
  unmount "$CODA_CELL/mnt"
}

# shellcheck source=bench/sshfs.sh
. "$REPO/scripts/bench/sshfs.sh"

# ---- running ---------------------------------------------------------------

run_one() { # target run-number
  local t=$1 n=$2 dir=$RES/$1 rc
  mkdir -p "$dir"
  log "$t: run $n/$RUNS in ${DIRS[$t]}"
  timeout -k 10 "$RUN_TIMEOUT" bash "$FSBENCH" "${DIRS[$t]}" >"$dir/run-$n.out" 2>"$dir/run-$n.err" &
  FSB_PID=$!
  wait "$FSB_PID"
  rc=$?
  FSB_PID=""
  [ "$rc" = 124 ] && log "$t: run $n killed after ${RUN_TIMEOUT}s (BENCH_TIMEOUT)"
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && log "$t: fsbench exited $rc"
  if [ -s "$dir/run-$n.err" ]; then
    log "$t: fsbench stderr (last lines):"
    tail -n 5 "$dir/run-$n.err" | sed 's/^/    /' >&2
  fi
  sed 's/^/    /' "$dir/run-$n.out" >&2
}

# The default tar that fsbench.sh makes on first use, made atomically here so
# an interrupted first run cannot leave a truncated one behind.
prepare_tar() {
  [ -n "${FSBENCH_TAR:-}" ] && return 0
  local tar
  tar="$(dirname "$(mktemp -u)")/fsbench-gosrc.tar"
  [ -f "$tar" ] && return 0
  log "making $tar from $(go env GOROOT)/src (once)"
  if ! tar -C "$(go env GOROOT)" -cf "$tar.$$" src || ! mv "$tar.$$" "$tar"; then
    rm -f "$tar.$$"
    return 1
  fi
}

main() {
  local t r setups=()
  [ -r "$FSBENCH" ] || die "workload script not found: $FSBENCH (set FSBENCH)"
  [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
  for t in $TARGETS; do
    case $t in local | loopback | sshfs | coda) setups+=("$t") ;;
    *) die "unknown target '$t' in BENCH_TARGETS (known: local loopback sshfs coda)" ;; esac
  done
  [ "${#setups[@]}" -gt 0 ] || die "BENCH_TARGETS is empty"
  [ "$(id -u)" = 0 ] || log "not root: FUSE mounts and drop_caches will fail"
  OUT=$(realpath -m "$OUT")

  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  BASE=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/coda-bench.XXXXXX") || die "mktemp failed"
  BASE=$(realpath "$BASE")
  RES=$BASE/results
  mkdir -p "$RES" "$BASE/bin"
  (cd "$REPO" && go build -o "$BASE/bin/benchtable" ./scripts/benchtable) || die "cannot build scripts/benchtable"
  prepare_tar || die "cannot make the source tar for fsbench"

  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  for t in "${setups[@]}"; do "setup_$t"; done
  for ((r = 1; r <= RUNS; r++)); do
    for t in "${setups[@]}"; do
      [ -n "${DIRS[$t]:-}" ] && run_one "$t" "$r"
    done
  done
  write_notes
  "$BASE/bin/benchtable" -dir "$RES" -targets "${setups[*]}" -md "$OUT" \
    -title "fsbench: $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS run(s)" || die "benchtable failed"
  log "wrote $OUT"
}

write_notes() {
  local fs v
  fs=$(findmnt -no FSTYPE,SOURCE -T "$BASE" 2>/dev/null | tr -s ' ')
  note "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB, Linux $(uname -r); scratch $BASE on $fs"
  note "load average (1/5/15 min) at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg); other work on the machine skews figures"
  note "runs per target: $RUNS$([ "$RUNS" -gt 1 ] && echo ' (medians)'); workload: $FSBENCH"
  for v in ${!FSBENCH_*}; do note "$v=${!v}"; done
}

main "$@"
