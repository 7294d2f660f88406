#!/usr/bin/env bash
# tls.sh - what encryption costs: the current module's downloads and handshakes next to a plaintext build of the
# protocol (BASE_REF, built in the same run), curl over HTTPS and Syncthing, with the ratio ours/reference and a
# PASS/FAIL against each target:
#
#   1) 1 GiB, 1 source, verified, to disk: Receive-P2PFile (current) vs the same with the BASE_REF module (>= 0.9)
#                                          vs curl from nginx over HTTPS, TLS 1.3, self-signed certificate  (>= 0.7)
#   2) 1 GiB, 4 sources (4 nodes, each its own pwsh process): current vs BASE_REF                            (>= 0.9)
#   3) handshakes: connections per second one node accepts (16 clients dialing, handshaking, closing with a Bye, back
#      to back, for 5 s, every connection from a loopback address of its own, 127.2.x.y, so that limits per address
#      do not count): current vs BASE_REF (no target: the figure and the ratio are printed)
#   4) Syncthing (Debian's 1.19): two instances on loopback, own homes, discovery, relays, NAT, global announce and
#      usage reporting off, devices introduced by id, one folder shared; from the 1 GiB file's arrival in the sender's
#      folder (a rescan through its REST API) to its completion at the receiver (ItemFinished on the REST events
#      API): ours 1-source throughput vs Syncthing's, one of ours beside each Syncthing run              (>= 2.5)
#
# BASE_REF (default: the last commit before TLS came in, found in the history as the first-parent commit before the
# one that made the protocol's (highest) version 2 in ProtocolLimits.cs; the current commit itself while there is none) is checked out
# with `git worktree add` into the work folder, built there (build.ps1 Build), and removed at the end. Current nodes
# run on 127.0.0.11-14, base nodes on 127.0.0.21-24, nginx on 127.0.0.1, Syncthing on 127.0.0.41-42: loopback only.
#
# How it is timed (as bench/transfer.sh): each module lives in ONE long-lived pwsh process with the module imported
# (bench/Transfer/Serve-Downloads.ps1; two processes, since one cannot load two builds of the module); only the
# Receive-P2PFile command is timed. curl is started from the current module's process and timed the same way.
# One warm-up run of every method, then RUNS rounds, the methods in an order rotated every round. Before every run
# the download folder is emptied and `sync` is run; the last round's copies are compared byte for byte.
#
# Two ratios per comparison: the ratio of the two medians, and the paired ratio, the median over rounds of the ratio
# between the two runs of the same round (seconds apart). The verdict is the paired ratio's: on a shared machine
# whose speed drifts between states that last longer than a round (page-cache folios, the host's load), the median
# of each side falls in whichever state most of its runs met, and the ratio of medians then moves by 0.05-0.1 from
# run to run; a round's two runs meet the same state.
#
# Usage:  sudo bench/tls.sh            (Debian; installs nginx, curl, syncthing if missing)
# Environment knobs:
#   BASE_REF=<see above>   RUNS=3   SYNCTHING_RUNS=2   PHASES=single,multi,handshake,syncthing
#   BENCH_DIR=/tmp/p2p-tls-bench (data and node state reused between runs)
#   REUSE_DATA=/tmp/p2p-transfer-bench/www (hard-link big-1g.bin from there when present)
#   BUILD=1 (BUILD=0: the current tree's out/P2PTransfer as is)   QUIET_WAIT_S=120
# Only processes this script started are stopped, by PID; the system nginx and Syncthing services are untouched.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/p2p-tls-bench}
RUNS=${RUNS:-3}
SYNCTHING_RUNS=${SYNCTHING_RUNS:-2}
PHASES=${PHASES:-single,multi,handshake,syncthing}
REUSE_DATA=${REUSE_DATA:-/tmp/p2p-transfer-bench/www}
case ${1:-} in -h|--help) sed -n '2,40p' "$0"; exit 0 ;; esac
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1-99" >&2; exit 2; }
export PATH=$PATH:/usr/sbin:/sbin
export LC_ALL=C DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY || true
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
has_phase() { [[ ,$PHASES, == *,$1,* ]]; }
START=$SECONDS
declare -A ST_ADDR=() ST_GUI=() ST_PORT=() ST_KEY=() ST_ID=()   # the Syncthing instances (cleanup reads them)
source "$HERE/Common/node.sh"

# --------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------
need=()
for pair in nginx:nginx curl:curl openssl:openssl cmp:diffutils ss:iproute2 syncthing:syncthing; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if ((${#need[@]})); then
  [[ $EUID -eq 0 ]] || die "missing packages (${need[*]}) and not root"
  log "installing: ${need[*]}"
  made_policy=0   # keep maintainer scripts from starting the system services
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; } \
    || { if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi; die "apt-get install ${need[*]} failed"; }
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi

# --------------------------------------------------------------------------
# data, folders
# --------------------------------------------------------------------------
WWW=$BENCH_DIR/www
RES=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)
WORK=$BENCH_DIR/work
DL=$BENCH_DIR/dl
mkdir -p "$WWW" "$RES" "$BENCH_DIR/state"
rm -rf "${WORK:?}" "${DL:?}" "${BENCH_DIR:?}/share" "${BENCH_DIR:?}/syncthing"
mkdir -p "$WORK" "$DL"
chmod 755 "$BENCH_DIR" "$WWW"
BIG=$WWW/big-1g.bin
BIG_SIZE=$((1024 * 1024 * 1024))
if [[ ! -f $BIG || $(stat -c %s "$BIG") -ne $BIG_SIZE ]]; then
  if [[ -f $REUSE_DATA/big-1g.bin && $(stat -c %s "$REUSE_DATA/big-1g.bin") -eq $BIG_SIZE ]] && ln -f "$REUSE_DATA/big-1g.bin" "$BIG" 2>/dev/null; then
    log "hard-linked $REUSE_DATA/big-1g.bin"
  else
    log "creating $BIG (1 GiB of random data)"; openssl rand -out "$BIG.tmp" "$BIG_SIZE" && mv "$BIG.tmp" "$BIG"
  fi
fi
chmod 644 "$BIG"
for s in h1 h2 h3 h4 b1 b2 b3 b4; do mkdir -p "$BENCH_DIR/share/$s"; ln "$BIG" "$BENCH_DIR/share/$s/"; done
BIG_HASH=$(sha256sum "$BIG" | cut -c1-64 | tr a-f A-F)

# --------------------------------------------------------------------------
# the base revision, built beside the current one
# --------------------------------------------------------------------------
cd "$REPO"
HEAD_REV=$(git describe --always --dirty 2>/dev/null || echo unknown)
if [[ -z ${BASE_REF:-} ]]; then
  tls_commit=$(git log --first-parent --diff-merges=first-parent --reverse --format=%H -G 'Version = 2;' -- src/P2PCore/Protocol/ProtocolLimits.cs | awk 'NR == 1')
  if [[ -n $tls_commit ]]; then
    BASE_REF=$(git rev-parse "$tls_commit^1"); BASE_NOTE="the last commit before TLS (TLS came in with $(git log -1 --format='%h %s' "$tls_commit" | cut -c1-90))"
  else
    BASE_REF=$(git rev-parse HEAD); BASE_NOTE="no commit with TLS in this history yet: the base is the current commit itself (ratios ~1 expected)"
  fi
else
  BASE_NOTE="BASE_REF as given"
fi
BASE_REV=$(git rev-parse --short "$BASE_REF") || die "BASE_REF '$BASE_REF' is not a commit"
BASE_TREE=$BENCH_DIR/base-tree
cleanup() {
  local rc=$?
  set +e; trap - EXIT INT TERM
  [[ -n ${DRV_W_head:-} ]] && { echo quit >&"$DRV_W_head"; exec {DRV_W_head}>&-; } 2>/dev/null
  [[ -n ${DRV_W_base:-} ]] && { echo quit >&"$DRV_W_base"; exec {DRV_W_base}>&-; } 2>/dev/null
  for s in a b; do   # Syncthing's own shutdown first (it runs a monitor process and the real one)
    [[ -n ${ST_KEY[$s]:-} ]] && curl -q --noproxy 127.0.0.1 -sS -m 5 -X POST -H "X-API-Key: ${ST_KEY[$s]}" "http://127.0.0.1:${ST_GUI[$s]}/rest/system/shutdown" >/dev/null 2>&1
  done
  stop_started
  git -C "$REPO" worktree remove --force "$BASE_TREE" >/dev/null 2>&1 || rm -rf "${BASE_TREE:?}"
  git -C "$REPO" worktree prune >/dev/null 2>&1
  rm -rf "${WORK:?}" "${DL:?}" "${BENCH_DIR:?}/share" "${BENCH_DIR:?}/syncthing"
  log "results in $RES; test data kept in $WWW"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
setup_pwsh "$REPO"
NEED_NODES=0
if has_phase single || has_phase multi || has_phase handshake || has_phase syncthing; then
NEED_NODES=1
git worktree remove --force "$BASE_TREE" >/dev/null 2>&1 || rm -rf "${BASE_TREE:?}"
git worktree prune
git worktree add --detach "$BASE_TREE" "$BASE_REF" >"$RES/worktree.log" 2>&1 || { cat "$RES/worktree.log" >&2; die "git worktree add failed"; }
build_module "$REPO" "$WORK/module-head/P2PTransfer" "$RES/build.log"
BUILD=1 build_module "$BASE_TREE" "$WORK/module-base/P2PTransfer" "$RES/build-base.log"
# the handshake client speaks either protocol itself (TLS and protocol 2, or plaintext protocol 1): one build serves both
DLL=$(build_trustbench "$REPO" "$RES/build.log")
log "current $HEAD_REV, base $BASE_REV ($BASE_NOTE)"

# --------------------------------------------------------------------------
# nodes (their state, and so their index, is kept between runs), nginx with TLS 1.3
# --------------------------------------------------------------------------
EP_HEAD=() EP_BASE=() PID_HEAD=() PID_BASE=()
log "starting 8 nodes (current on 127.0.0.11-14, base on 127.0.0.21-24; each indexes 1 GiB the first time)"
for i in 1 2 3 4; do
  start_node "$WORK/module-head/P2PTransfer" "h$i" "127.0.0.1$i" "$BENCH_DIR/share/h$i" "$BENCH_DIR/state/h$i" "$RES/node-h$i.log"
  EP_HEAD+=("$NODE_EP"); PID_HEAD+=("$NODE_PID")
  start_node "$WORK/module-base/P2PTransfer" "b$i" "127.0.0.2$i" "$BENCH_DIR/share/b$i" "$BENCH_DIR/state/b$i" "$RES/node-b$i.log"
  EP_BASE+=("$NODE_EP"); PID_BASE+=("$NODE_PID")
done
cat "$RES"/node-*.log >&2
fi

TLS_SEEN='' HTTPS_PORT=''
if has_phase single; then
NGX=$WORK/nginx
mkdir -p "$NGX/logs" "$NGX/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$NGX/key.pem" -out "$NGX/cert.pem" >"$RES/openssl.log" 2>&1 || die "openssl req failed"
HTTPS_PORT=
for t in $(seq 200); do
  p=$((20000 + RANDOM % 12000))
  [[ -z $(ss -Hltn "sport = :$p" 2>/dev/null) ]] && { HTTPS_PORT=$p; break; }
done
[[ -n $HTTPS_PORT ]] || die "no free port for nginx"
cat >"$NGX/nginx.conf" <<EOF
# private nginx for tls.sh - not the system instance
worker_processes auto;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$HTTPS_PORT ssl;
        ssl_certificate $NGX/cert.pem;
        ssl_certificate_key $NGX/key.pem;
        ssl_protocols TLSv1.3;
        root $WWW;
        location / { }
    }
}
EOF
NGX_ARGS=(-p "$NGX" -e "$NGX/logs/error.log" -c "$NGX/nginx.conf")
nginx "${NGX_ARGS[@]}" -t >"$RES/nginx-t.log" 2>&1 || { cat "$RES/nginx-t.log" >&2; die "nginx config test failed"; }
nginx "${NGX_ARGS[@]}" >"$NGX/logs/stdout.log" 2>&1 &
BENCH_PIDS+=($!)
URL=https://127.0.0.1:$HTTPS_PORT/big-1g.bin
CURL=(curl -q --noproxy 127.0.0.1 -sSf --no-progress-meter --tlsv1.3 --cacert "$NGX/cert.pem")
for t in $(seq 100); do "${CURL[@]}" -o /dev/null -r 0-0 "$URL" 2>/dev/null && break; sleep 0.1; done
got=$("${CURL[@]}" -o /dev/null -w '%{http_code} %{size_download} %{ssl_verify_result}' -r 0-1048575 "$URL") || die "nginx over HTTPS did not answer"
[[ $got == "206 1048576 0" ]] || die "nginx sanity check failed: $got"
TLS_SEEN=$(openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -tls1_3 </dev/null 2>/dev/null | awk '/Cipher is/{sub(/^New, /, ""); print; exit}')
fi

# --------------------------------------------------------------------------
# the two long-lived pwsh processes (commands in through a FIFO, answers out through another)
# --------------------------------------------------------------------------
start_driver() {  # name module
  mkfifo "$WORK/$1.in" "$WORK/$1.out"
  "${PWSH[@]}" -File "$HERE/Transfer/Serve-Downloads.ps1" -ModulePath "$2" <"$WORK/$1.in" >"$WORK/$1.out" 2>"$RES/driver-$1.err" &
  BENCH_PIDS+=($!)
  local w r line
  exec {w}>"$WORK/$1.in"; exec {r}<"$WORK/$1.out"
  printf -v "DRV_W_$1" %s "$w"; printf -v "DRV_R_$1" %s "$r"
  read -r -t 120 line <&"$r" || die "the $1 pwsh process did not start (see $RES/driver-$1.err)"
  log "$1 pwsh process: $line"
}
ask() {  # driver command... -> prints the answer line (bounded: 15 min)
  local w r line
  w=DRV_W_$1; r=DRV_R_$1; shift
  echo "$*" >&"${!w}"
  read -r -t 900 line <&"${!r}" || line="fail no answer within 900 s"
  echo "$line"
}
if ((NEED_NODES)); then
  start_driver head "$WORK/module-head/P2PTransfer"
  start_driver base "$WORK/module-base/P2PTransfer"
fi
cat "$BIG" >/dev/null   # page cache: every side serves the file from RAM
quiet_wait
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

RAW=$RES/runs.tsv   # phase method run seconds ok
: >"$RAW"
join_by() { local IFS=$1; shift; echo "$*"; }
run_method() {  # phase method run
  local out dir=$DL/run last=$RUNS
  [[ $1 == syncthing ]] && last=$SYNCTHING_RUNS
  case $2 in
    ours) out=$(ask head download "$dir" "$BIG_HASH" "$BIG_SIZE" big-1g.bin "${EP_HEAD[0]}") ;;
    base) out=$(ask base download "$dir" "$BIG_HASH" "$BIG_SIZE" big-1g.bin "${EP_BASE[0]}") ;;
    curl-https) out=$(ask head curl "$dir" "$URL" "$NGX/cert.pem") ;;
    ours-4src) out=$(ask head download "$dir" "$BIG_HASH" "$BIG_SIZE" big-1g.bin "$(join_by , "${EP_HEAD[@]}")") ;;
    base-4src) out=$(ask base download "$dir" "$BIG_HASH" "$BIG_SIZE" big-1g.bin "$(join_by , "${EP_BASE[@]}")") ;;
  esac
  local ok=0 s=nan
  if [[ $out == ok\ * ]]; then
    ok=1; s=${out#ok }
    if (($3 == last)) && ! cmp -s "$BIG" "$dir/big-1g.bin"; then ok=0; log "VERIFY FAILED $1/$2: the copy differs"; fi
  else
    log "FAILED $1/$2 run $3: ${out#fail }"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$s" "$ok" >>"$RAW"
  log "$(printf '%-6s %-11s run %s: %s s%s' "$1" "$2" "$3" "$s" "$( ((ok)) || echo '  FAILED')")"
  rm -rf "${dir:?}"
}
run_phase() {  # phase methods...
  local ph=$1 r k n; shift
  local m=("$@"); n=${#m[@]}
  log "phase $ph: warm-up, then $RUNS round(s) of ${m[*]}"
  for k in "${m[@]}"; do run_method "$ph" "$k" 0; done
  for r in $(seq "$RUNS"); do
    for k in $(seq 0 $((n - 1))); do run_method "$ph" "${m[$(((k + r - 1) % n))]}" "$r"; done
  done
}
has_phase single && run_phase single ours base curl-https
has_phase multi && run_phase multi ours-4src base-4src

HS=$RES/handshakes.tsv   # method run per_second p50 p99 failed
: >"$HS"
if has_phase handshake; then
  log "phase handshake: 16 clients dialing (each connection from its own address, 127.2.x.y), handshaking and closing for 5 s; current and base alternately, $RUNS rounds"
  hs_run() {  # method endpoint run
    local line
    line=$(timeout 120 dotnet "$DLL" handshake --node "$2" --seconds 5 --parallel 16 2>>"$RES/handshake.err") || true
    log "handshake $1 run $3: ${line:-no output}"
    awk -v m="$1" -v r="$3" '{for(i=1;i<NF;i++) v[$i]=$(i+1)} END{printf "%s\t%s\t%s\t%s\t%s\t%s\n", m, r, v["per_second"], v["p50_ms"], v["p99_ms"], v["failed"]}' <<<"${line:-none 0}" >>"$HS"
  }
  for r in $(seq "$RUNS"); do
    if ((r % 2)); then hs_run ours "${EP_HEAD[1]}" "$r"; hs_run base "${EP_BASE[1]}" "$r"
    else hs_run base "${EP_BASE[1]}" "$r"; hs_run ours "${EP_HEAD[1]}" "$r"; fi
  done
fi

# --------------------------------------------------------------------------
# Syncthing: two instances on loopback, one folder from A to B
# --------------------------------------------------------------------------
ST=$RES/syncthing.tsv   # run seconds status
: >"$ST"
ST_NOTE=''
if has_phase syncthing; then
  STD=$BENCH_DIR/syncthing
  mkdir -p "$STD"
  free_port() { local p t; for t in $(seq 200); do p=$((20000 + RANDOM % 12000)); [[ -z $(ss -Hltn "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return; }; done; die "no free port"; }
  ST_ADDR=([a]=127.0.0.41 [b]=127.0.0.42)
  for s in a b; do
    syncthing generate --home="$STD/$s" --no-default-folder --skip-port-probing >"$RES/syncthing-gen-$s.log" 2>&1 || die "syncthing generate failed"
    ST_ID[$s]=$(syncthing serve --home="$STD/$s" --device-id 2>/dev/null)
    ST_GUI[$s]=$(free_port); ST_PORT[$s]=$(free_port); ST_KEY[$s]=$(openssl rand -hex 16)
    mkdir -p "$STD/$s/folder/.stfolder"
  done
  ST_VERSION=$(sed -n 's/.*<configuration version="\([0-9]*\)".*/\1/p' "$STD/a/config.xml")
  for s in a b; do
    o=$([[ $s == a ]] && echo b || echo a)
    cat >"$STD/$s/config.xml" <<EOF
<configuration version="$ST_VERSION">
    <folder id="bench" label="bench" path="$STD/$s/folder" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="false" ignorePerms="false" autoNormalize="true">
        <device id="${ST_ID[$s]}"></device>
        <device id="${ST_ID[$o]}"></device>
    </folder>
    <device id="${ST_ID[$s]}" name="$s" compression="metadata"><address>dynamic</address></device>
    <device id="${ST_ID[$o]}" name="$o" compression="metadata"><address>tcp://${ST_ADDR[$o]}:${ST_PORT[$o]}</address></device>
    <gui enabled="true" tls="false"><address>127.0.0.1:${ST_GUI[$s]}</address><apikey>${ST_KEY[$s]}</apikey></gui>
    <options>
        <listenAddress>tcp://${ST_ADDR[$s]}:${ST_PORT[$s]}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <urAccepted>-1</urAccepted>
        <crashReportingEnabled>false</crashReportingEnabled>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <startBrowser>false</startBrowser>
        <setLowPriority>false</setLowPriority>
    </options>
</configuration>
EOF
    STNODEFAULTFOLDER=1 STNOUPGRADE=1 syncthing serve --home="$STD/$s" --no-browser --no-restart --no-upgrade \
      --logfile="$RES/syncthing-$s.log" >/dev/null 2>&1 &
    BENCH_PIDS+=($!)
  done
  st_api() { curl -q --noproxy 127.0.0.1 -sSf -m 10 -H "X-API-Key: ${ST_KEY[$1]}" "http://127.0.0.1:${ST_GUI[$1]}$2"; }
  connected=0
  for t in $(seq 120); do   # at most 60 s for the two to connect
    if st_api a /rest/system/connections 2>/dev/null | tr -d ' \n' | grep -q "\"${ST_ID[b]}\":{[^}]*\"connected\":true"; then connected=1; break; fi
    sleep 0.5
  done
  ST_VER=$(st_api a /rest/system/version 2>/dev/null | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
  st_run() {  # run: one Syncthing run, into $ST and, for the paired ratio, into $RAW beside ours
    "${PWSH[@]}" -File "$HERE/Transfer/Measure-Syncthing.ps1" -ApiA "http://127.0.0.1:${ST_GUI[a]}" -KeyA "${ST_KEY[a]}" \
      -ApiB "http://127.0.0.1:${ST_GUI[b]}" -KeyB "${ST_KEY[b]}" -Folder bench -Source "$BIG" \
      -DirA "$STD/a/folder" -DirB "$STD/b/folder" -From "$1" -Runs "$1" 2>>"$RES/syncthing-measure.err" \
      | while read -r r s st; do
          log "syncthing run $r: $s s $st"; printf '%s\t%s\t%s\n' "$r" "$s" "$st" >>"$ST"
          printf 'syncthing\tsyncthing\t%s\t%s\t%s\n' "$r" "$s" "$([[ $st == ok ]] && echo 1 || echo 0)" >>"$RAW"
        done
  }
  if ((connected)); then
    log "syncthing $ST_VER: a (${ST_ADDR[a]}:${ST_PORT[a]}) and b (${ST_ADDR[b]}:${ST_PORT[b]}) connected; a warm-up, then $SYNCTHING_RUNS round(s) of one Syncthing run and one of ours, in turn first"
    st_run 0; run_method syncthing ours 0
    for r in $(seq "$SYNCTHING_RUNS"); do
      if ((r % 2)); then st_run "$r"; run_method syncthing ours "$r"; else run_method syncthing ours "$r"; st_run "$r"; fi
    done
  else
    ST_NOTE="the two Syncthing instances did not connect within 60 s (logs: $RES/syncthing-*.log)"; log "$ST_NOTE"
  fi
fi

# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
med_s() { awk -F'\t' -v p="$1" -v m="$2" '$1==p && $2==m && $3>0 && $5==1 {print $4}' "$RAW" | median; }   # phase method
failed() { awk -F'\t' -v p="$1" -v m="$2" '$1==p && $2==m && $5!=1 {n++} END{print n+0}' "$RAW"; }      # phase method
# phase ours reference: the median over rounds of reference seconds / ours seconds (both runs of the round ok)
paired() {
  awk -F'\t' -v p="$1" -v a="$2" -v b="$3" '$1==p && $3>0 && $5==1 {t[$2 SUBSEP $3]=$4}
    END {for (k in t) {split(k, x, SUBSEP); if (x[1]==a && ((b SUBSEP x[2]) in t)) print t[b SUBSEP x[2]]/t[k]}}' "$RAW" \
    | median | awk '{ if ($1=="nan") print "nan"; else printf "%.4f", $1 }'
}
mbps() { awk -v s="$1" -v b="$BIG_SIZE" 'BEGIN{ if (s=="nan" || s<=0) print "nan"; else printf "%.0f", b/1e6/s }'; }
ROWS=$RES/table.tsv
: >"$ROWS"
row() {  # test ours ref ratio paired-ratio target failures (the verdict is the paired ratio's, unrounded; '-' for none)
  local verdict paired
  verdict=$(awk -v r="$5" -v t="$6" 'BEGIN{ if (t=="-") print "(figure)"; else if (r=="nan") print "FAIL"; else print (r+0 >= t+0) ? "PASS" : "FAIL" }')
  if [[ ${7:-0} -gt 0 ]]; then verdict="FAIL (errors)"; fi
  paired=$(awk -v r="$5" 'BEGIN{ if (r=="nan") print "nan"; else printf "%.3f", r }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$paired" "$([[ $6 == - ]] && echo - || echo ">= $6")" "$verdict" >>"$ROWS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="nan" || b=="nan" || b<=0) print "nan"; else printf "%.2f", a/b }'; }
if has_phase single; then
  o=$(mbps "$(med_s single ours)"); b=$(mbps "$(med_s single base)"); c=$(mbps "$(med_s single curl-https)")
  row "1 GiB, 1 source (vs $BASE_REV, plaintext base)" "$o MB/s" "$b MB/s" "$(ratio "$o" "$b")" "$(paired single ours base)" 0.9 \
    $(( $(failed single ours) + $(failed single base) ))
  row "1 GiB, 1 source (vs curl, nginx HTTPS TLS 1.3)" "$o MB/s" "$c MB/s" "$(ratio "$o" "$c")" "$(paired single ours curl-https)" 0.7 \
    $(( $(failed single ours) + $(failed single curl-https) ))
fi
if has_phase multi; then
  o=$(mbps "$(med_s multi ours-4src)"); b=$(mbps "$(med_s multi base-4src)")
  row "1 GiB, 4 sources (vs $BASE_REV)" "$o MB/s" "$b MB/s" "$(ratio "$o" "$b")" "$(paired multi ours-4src base-4src)" 0.9 \
    $(( $(failed multi ours-4src) + $(failed multi base-4src) ))
fi
if has_phase handshake; then
  hs_med() { awk -F'\t' -v m="$1" -v c="$2" '$1==m {print $c}' "$HS" | median; }
  o=$(hs_med ours 3); b=$(hs_med base 3)
  hs_paired=$(awk -F'\t' '{v[$1 SUBSEP $2]=$3} END {for (k in v) {split(k, x, SUBSEP); if (x[1]=="ours" && ("base" SUBSEP x[2]) in v && v["base" SUBSEP x[2]]>0) print v[k]/v["base" SUBSEP x[2]]}}' "$HS" \
    | median | awk '{ if ($1=="nan") print "nan"; else printf "%.4f", $1 }')
  row "handshakes accepted per second (vs $BASE_REV)" "$(printf '%.0f' "$o")/s" "$(printf '%.0f' "$b")/s" "$(ratio "$o" "$b")" "$hs_paired" - \
    "$(awk -F'\t' '{n+=$6} END{print n+0}' "$HS")"
fi
if has_phase syncthing; then
  sf=$(( $(failed syncthing syncthing) + $(failed syncthing ours) )); [[ -s $ST ]] || sf=1
  o=$(mbps "$(med_s syncthing ours)"); st=$(mbps "$(med_s syncthing syncthing)")
  row "1 GiB, 1 source (vs Syncthing $ST_VER, arrival to done)" "$o MB/s" "$st MB/s" "$(ratio "$o" "$st")" "$(paired syncthing ours syncthing)" 2.5 "$sf"
fi
{
  echo
  echo "== P2PTransfer with encryption vs its plaintext base, curl over HTTPS, Syncthing  $(date -Is)  host=$(hostname)"
  echo "current $HEAD_REV; base $BASE_REV: $BASE_NOTE"
  echo "CPU: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cores; kernel $(uname -r); FS $(findmnt -no FSTYPE --target "$BENCH_DIR")"
  echo "pwsh $("${PWSH[@]}" -Command '[Console]::Out.Write($PSVersionTable.PSVersion.ToString())'), nginx $(nginx -v 2>&1 | sed 's|.*/||') ($TLS_SEEN), $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "RUNS=$RUNS rounds (SYNCTHING_RUNS=$SYNCTHING_RUNS) after 1 warm-up; MB = 1e6 bytes, medians; ratio = ours/reference, of the medians; paired = the median of each round's ratio, which the verdict uses. Machine busy ${IDLE_BUSY}% just before; load $LOAD0 -> $LOAD1."
  echo
  printf '%-58s %-10s %-10s %6s %6s %-7s %s\n' test ours reference ratio paired target result
  printf '%s\n' "------------------------------------------------------------------------------------------------------------------"
  while IFS=$'\t' read -r t o f r p g v; do printf '%-58s %-10s %-10s %6s %6s %-7s %s\n' "$t" "$o" "$f" "$r" "$p" "$g" "$v"; done <"$ROWS"
  echo
  echo "runs (seconds; run 0 = warm-up):"
  for pm in single:ours single:base single:curl-https multi:ours-4src multi:base-4src syncthing:ours syncthing:syncthing; do
    v=$(awk -F'\t' -v p="${pm%%:*}" -v m="${pm#*:}" '$1==p && $2==m {printf "%s%s ", $4, ($5==1 ? "" : "!")}' "$RAW")
    [[ -n $v ]] && printf '  %-20s %s\n' "$pm" "$v"
  done
  [[ -s $HS ]] && awk -F'\t' '{printf "  handshake %-4s run %s: %s/s, p50 %s ms, p99 %s ms, %s failed\n", $1, $2, $3, $4, $5, $6}' "$HS"
  [[ -s $ST ]] && awk -F'\t' '$3!="ok" {printf "  syncthing run %s: %s s %s\n", $1, $2, $3}' "$ST"
  echo "notes:"
  echo "  - Syncthing's time includes its scan (hashing) of the file at the sender: that is what arrival-to-done costs a user of it; ours downloads from a node that has indexed the file already"
  [[ -n $ST_NOTE ]] && echo "  - $ST_NOTE"
  echo "  - nodes: current ${EP_HEAD[*]}, base ${EP_BASE[*]}; nginx https on 127.0.0.1:$HTTPS_PORT"
  echo "  - raw runs: $RAW; logs: $RES; total wall time $((SECONDS - START)) s"
} | tee "$RES/table.txt"
