# Sourced by bench/fuzz.sh, bench/attacks.sh and bench/tls.sh: the module, pwsh, nodes in processes of their own,
# and stopping what the bench started (by PID only). Needs REPO, WORK and log() from the sourcing script.

# pwsh.dll of the repository's pinned tool, started directly (`dotnet pwsh` would add a parent process)
setup_pwsh() {  # repo folder
  (cd "$1" && dotnet tool restore >/dev/null) || die "dotnet tool restore failed in $1"
  PSHOME_DIR=$(cd "$1" && dotnet pwsh -NoProfile -NonInteractive -Command '[Console]::Out.Write($PSHOME)')
  [[ -f $PSHOME_DIR/pwsh.dll ]] || die "pwsh.dll not found (PSHOME '$PSHOME_DIR')"
  PWSH=(dotnet "$PSHOME_DIR/pwsh.dll" -NoProfile -NonInteractive)
}

# Builds the module of a source tree and copies it to a folder of its own (a rebuild meanwhile is harmless).
build_module() {  # repo folder, destination folder, log file
  local repo=$1 dest=$2 logf=$3
  if [[ ${BUILD:-1} == 1 || ! -f $repo/out/P2PTransfer/P2PTransfer.psd1 ]]; then
    log "building the module in $repo (build.ps1 Build)"
    (cd "$repo" && dotnet tool restore && dotnet pwsh -NoProfile -NonInteractive ./build.ps1 Build) >>"$logf" 2>&1 \
      || { tail -30 "$logf" >&2; die "build failed in $repo (log: $logf)"; }
  fi
  rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
  cp -a "$repo/out/P2PTransfer" "$dest"
}

# Builds bench/TrustBench of a source tree; prints the path of its dll.
build_trustbench() {  # repo folder, log file
  local repo=$1 logf=$2
  dotnet build "$repo/bench/TrustBench/TrustBench.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >>"$logf" 2>&1 \
    || { tail -30 "$logf" >&2; die "building TrustBench failed in $repo (log: $logf)"; }
  echo "$repo/bench/TrustBench/bin/Release/net10.0/TrustBench.dll"
}

BENCH_PIDS=()
# Starts a node in a pwsh process of its own (bench/Transfer/Start-Node.ps1); sets NODE_PID and NODE_EP.
start_node() {  # module, name, address, share, state folder, log file[, extra Start-Node.ps1 arguments...]
  local module=$1 name=$2 addr=$3 share=$4 state=$5 logf=$6 t
  shift 6
  rm -f "$state.endpoint"
  "${PWSH[@]}" -File "$HERE/Transfer/Start-Node.ps1" -ModulePath "$module" -Name "$name" -Address "$addr" \
    -StateDirectory "$state" -Share "$share" -EndpointFile "$state.endpoint" -LifetimeSec "${NODE_LIFETIME_S:-3600}" "$@" >"$logf" 2>&1 &
  NODE_PID=$!
  BENCH_PIDS+=("$NODE_PID")
  for t in $(seq 1200); do  # at most 120 s to start and index
    [[ -s $state.endpoint ]] && break
    kill -0 "$NODE_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -s $state.endpoint ]] || { cat "$logf" >&2; die "node $name did not start (log: $logf)"; }
  NODE_EP=$(tr -d '[:space:]' <"$state.endpoint")
}

stop_pid() {  # pid, what: TERM, then KILL after 5 s
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  log "stopped ${2:-process} (pid $pid)"
}

stop_started() {
  local p
  for p in "${BENCH_PIDS[@]}"; do stop_pid "$p" "started process"; done
  BENCH_PIDS=()
}

# CPU busy % of the whole machine over 2 s; waits (at most QUIET_WAIT_S) for it to fall under 15 %.
busy_pct() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 2
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); u=y[1]-x[1]; i=y[2]-x[2]; printf "%.0f", (u+i) ? 100*u/(u+i) : 0}'
}
quiet_wait() {
  local i busy
  busy=$(busy_pct)
  for i in $(seq $(( ${QUIET_WAIT_S:-120} / 2 ))); do
    ((busy > 15)) || break
    ((i == 1)) && log "the machine is busy (${busy}% CPU); waiting up to ${QUIET_WAIT_S:-120}s for it to settle"
    busy=$(busy_pct)
  done
  log "machine busy ${busy}% over 2 s before the timed part (other load skews every figure)"
  IDLE_BUSY=$busy
}
