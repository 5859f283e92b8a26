# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # DIRS, MADE_RUN_SSHD etc. belong to bench.sh
# sshfs.sh -- sourced by scripts/bench.sh: the "sshfs over loopback" target.
#
# Starts a private sshd on a free 127.0.0.1 port (its own host key, config,
# authorized_keys and log under $BASE/sshd; the system's sshd and its config
# are not touched), makes a throwaway client key pair, and mounts
#   sshfs -p PORT root@127.0.0.1:$BASE/sshfs.src $BASE/sshfs.mnt
# with sshfs's default options (no cache tuning). The sshd and sshfs pids and
# the mount are registered in DAEMONS and MOUNTS, so bench.sh's cleanup
# unmounts and stops them by pid on every exit path.
# Missing openssh-server/sshfs are installed from Debian (BENCH_INSTALL=1).

SSHD_BIN=/usr/sbin/sshd
SSHD_PORT=""

sshfs_tools() {
  local pkgs=()
  [ -x "$SSHD_BIN" ] || pkgs+=(openssh-server)
  command -v sshfs >/dev/null || pkgs+=(sshfs)
  command -v ssh-keygen >/dev/null || pkgs+=(openssh-client)
  [ "${#pkgs[@]}" = 0 ] && return 0
  log "sshfs: needs ${pkgs[*]} (this script runs its own sshd; where a service manager runs, the package may also start the system's sshd)"
  apt_install "${pkgs[@]}"
}

sshd_config() { # dir port
  local sftp=internal-sftp
  [ -x /usr/lib/openssh/sftp-server ] && sftp=/usr/lib/openssh/sftp-server
  cat <<EOF
Port $2
ListenAddress 127.0.0.1
HostKey $1/host_key
PidFile $1/sshd.pid
AuthorizedKeysFile $1/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
LogLevel ERROR
Subsystem sftp $sftp
EOF
}

ssh_client_config() { # dir
  cat <<EOF
Host *
  IdentityFile $1/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $1/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ControlMaster no
  ConnectTimeout 10
EOF
}

# start_sshd dir: starts sshd on a free port and sets SSHD_PORT. Not to be
# called in a subshell: it registers the sshd pid in DAEMONS.
start_sshd() {
  local d=$1 port pid try end
  for try in 1 2 3; do
    port=$("$BASE/bin/benchtable" -freeport) || return 1
    sshd_config "$d" "$port" >"$d/sshd_config"
    "$SSHD_BIN" -t -f "$d/sshd_config" >"$d/sshd.log" 2>&1 || return 1
    "$SSHD_BIN" -D -e -f "$d/sshd_config" >>"$d/sshd.log" 2>&1 &
    pid=$!
    end=$((SECONDS + 15))
    while alive "$pid" && [ "$SECONDS" -lt "$end" ]; do
      if [ -n "$(ss -Hltn "src 127.0.0.1:$port" 2>/dev/null)" ]; then
        DAEMONS+=("$pid")
        SSHD_PORT=$port
        return 0
      fi
      sleep 0.1
    done
    stop_pid "$pid"
    log "sshfs: sshd on port $port did not come up (try $try): $(tail -n 1 "$d/sshd.log")"
  done
  return 1
}

setup_sshfs() {
  local d=$BASE/sshd port pid
  sshfs_tools || { na sshfs "openssh-server/sshfs are missing and could not be installed"; return; }
  mkdir -p "$d" "$BASE/sshfs.src" "$BASE/sshfs.mnt"
  chmod 700 "$d"
  if ! ssh-keygen -q -t ed25519 -N '' -C coda-bench-host -f "$d/host_key" ||
    ! ssh-keygen -q -t ed25519 -N '' -C coda-bench-client -f "$d/client_key"; then
    na sshfs "ssh-keygen failed"
    return
  fi
  cp "$d/client_key.pub" "$d/authorized_keys"
  chmod 600 "$d/authorized_keys"
  if [ ! -d /run/sshd ]; then # sshd's privilege-separation directory
    mkdir -m 0755 /run/sshd && MADE_RUN_SSHD=1
  fi
  start_sshd "$d" || { na sshfs "could not start a private sshd: $(tail -n 1 "$d/sshd.log")"; return; }
  port=$SSHD_PORT
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
  ssh_client_config "$d" >"$d/ssh_config"
  if ! ssh -F "$d/ssh_config" -p "$port" root@127.0.0.1 true >"$d/ssh-check.log" 2>&1; then
    na sshfs "ssh to the private sshd failed: $(tail -n 1 "$d/ssh-check.log")"
    return
  fi
  sshfs -f -F "$d/ssh_config" -p "$port" "root@127.0.0.1:$BASE/sshfs.src" "$BASE/sshfs.mnt" \
    >"$d/sshfs.log" 2>&1 &
  pid=$!
  DAEMONS+=("$pid")
  MOUNTS+=("$BASE/sshfs.mnt")
  if ! wait_mounted "$BASE/sshfs.mnt" "$pid" 30; then
    na sshfs "sshfs mount failed: $(tail -n 1 "$d/sshfs.log")"
    return
  fi
  DIRS[sshfs]=$BASE/sshfs.mnt
  note "sshfs: $(sshfs --version 2>&1 | grep -m 1 '^SSHFS version'), $(ssh -V 2>&1 | cut -d, -f1); private sshd on 127.0.0.1:$port; default sshfs options"
}
