#!/usr/bin/env bash
# transfer.sh - P2PTransfer download speed and memory next to nginx + curl / aria2c, measured in the same run
# on this machine, with the ratio ours/reference and a PASS/FAIL against each target:
#
#   1) 1 GiB, 1 source, verified, to disk: Receive-P2PFile vs curl from nginx   (target ratio >= 0.7)
#                                          Receive-P2PFile vs aria2c -x1 -s1    (target ratio >= 1.0)
#   2) 1 GiB, 4 sources (4 nodes, each its own pwsh process on its own address 127.0.0.11-14)
#      vs aria2c -x4 -s4 -k1M with the same file on 4 nginx ports              (target ratio >= 1.0)
#   3) 1,000 files of 4 KiB (one search's results piped into Receive-P2PFile), files/s
#      vs curl -K (1,000 url/output pairs, one keep-alive connection) to disk   (target ratio >= 0.5)
#   4) peak RSS (VmHWM) of a downloading pwsh process: 1 GiB next to 256 MiB (and 1 GiB from 4 sources),
#      plus the process's RSS with the module imported and nothing downloaded; "(+N)" = peak - that baseline, the
#      download's own memory (target: the 1 GiB download's own memory at most RSS_GROWTH_MAX_MIB above the 256 MiB
#      download's, i.e. memory does not grow with the file size)
#
# How it is timed: ours runs inside ONE long-lived pwsh process with the module already imported (a user at a
# prompt); only the Receive-P2PFile command is timed (Stopwatch), never pwsh start-up. curl and aria2c are started
# from that same process and timed the same way (their process start included, as hyperfine would). Each phase does
# a warm-up run of every method, then RUNS rounds, every method once per round in a rotating order; the figure is the
# median. Before every run the downloaded output (and any *.p2ppart* file) is deleted, a new download folder is made
# (on ext4 in a block group of its own, see Measure-Transfer.ps1) and `sync` is run. The source
# files are in the page cache for both sides (nginx and the nodes read the same hard-linked files). The output of
# the last round is compared with the source byte for byte. Memory (4) is measured in fresh pwsh processes.
#
# Usage:  sudo bench/transfer.sh [--clean]         (Debian; installs nginx, aria2, curl if missing)
#   --clean              delete the test data (1 GiB + 256 MiB + 1,000 small files) at the end
# Environment knobs:
#   RUNS=3               timed rounds per phase (median reported), after one warm-up round
#   BENCH_DIR=/tmp/p2p-transfer-bench   data, node state, downloads, results; the data is reused between runs
#   REUSE_DATA=/tmp/p2p-baselines/www   hard-link big-1g.bin and small/f0000..f0999 from there when present
#                                       (left there by the shared baselines.sh); otherwise made with openssl rand
#   BUILD=1              build the module first (dotnet pwsh ./build.ps1 Build); BUILD=0 uses out/P2PTransfer as is.
#                        Either way a copy of the module is taken into BENCH_DIR, so a rebuild meanwhile is harmless.
#   NGINX_WORKERS=auto   nginx worker_processes
#   RSS_GROWTH_MAX_MIB=32
#   PHASES=single,multi,small,rss       run some parts only
#   QUIET_WAIT_S=120     before timing, wait up to this long for the machine to be idle (< 15% CPU busy)
#
# Only loopback addresses are used (nginx on 127.0.0.1, nodes on 127.0.0.11-14). Only processes started by this
# script are stopped, by PID. The system nginx config/service is untouched. Takes about 2 minutes with RUNS=3, plus the build.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/p2p-transfer-bench}
RUNS=${RUNS:-3}
REUSE_DATA=${REUSE_DATA:-/tmp/p2p-baselines/www}
BUILD=${BUILD:-1}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
RSS_GROWTH_MAX_MIB=${RSS_GROWTH_MAX_MIB:-32}
PHASES=${PHASES:-single,multi,small,rss}
QUIET_WAIT_S=${QUIET_WAIT_S:-120}
CLEAN=0
for a in "$@"; do
  case $a in
    --clean) CLEAN=1 ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1-99" >&2; exit 2; }

export PATH=$PATH:/usr/sbin:/sbin
export LC_ALL=C DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1
# never talk to anything but loopback: no proxies
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY ftp_proxy FTP_PROXY no_proxy NO_PROXY || true

BIG_SIZE=$((1024 * 1024 * 1024))
MID_SIZE=$((256 * 1024 * 1024))
SMALL_N=1000
SMALL_SIZE=4096
HOST=127.0.0.1
NODE_ADDRS=(127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14)
has_phase() { [[ ,$PHASES, == *,$1,* ]]; }

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
START=$SECONDS

# --------------------------------------------------------------------------
# 1. tools
# --------------------------------------------------------------------------
install_tools() {
  local need=() pair
  for pair in nginx:nginx curl:curl aria2c:aria2 fincore:util-linux ss:iproute2 openssl:openssl cmp:diffutils; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  ((${#need[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "missing packages (${need[*]}) and not root"
  log "installing: ${need[*]}"
  # keep package maintainer scripts from starting the system nginx service
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local ok=0
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 && ok=1
  if ((!ok)); then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 && ok=1
  fi
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  ((ok)) || die "apt-get install ${need[*]} failed"
}
install_tools
command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is needed"

# --------------------------------------------------------------------------
# 2. data (reused if already present with the right size) and the nodes' share folders (hard links)
# --------------------------------------------------------------------------
WWW=$BENCH_DIR/www
SHARE=$BENCH_DIR/share
STATE=$BENCH_DIR/state
DL=$BENCH_DIR/dl
NGX=$BENCH_DIR/nginx
RES=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$WWW/small" "$NGX/logs" "$NGX/tmp" "$RES"
chmod 755 "$BENCH_DIR" "$WWW" "$WWW/small"   # nginx workers run as nobody
rm -rf "${DL:?}" "${STATE:?}" "${SHARE:?}"
mkdir -p "$DL/timed" "$DL/rss" "$STATE" "$SHARE"
# ext4: each run's new download folder gets a block group of its own (see Measure-Transfer.ps1, Reset-Downloads);
# without this, thousands of just-deleted inodes slow down file creation in the next runs, more with every run
FRESH_NOTE="download folders: a new one per run under a chattr +T folder (ext4: a fresh block group per run)"
if ! { chattr +T "$DL/timed" && chattr +T "$DL/rss"; } 2>/dev/null; then
  FRESH_NOTE="download folders: a new one per run; chattr +T not possible here ($(findmnt -no FSTYPE --target "$BENCH_DIR")): on ext4, runs after many deletions create files slower"
fi

BIG=$WWW/big-1g.bin
MID=$WWW/mid-256m.bin
size_is() { [[ -f $1 && $(stat -c %s "$1") -eq $2 ]]; }
make_random() {  # path size [file to hard-link from]
  local f=$1 sz=$2 from=${3:-}
  if size_is "$f" "$sz"; then log "reusing $f"; return; fi
  if [[ -n $from ]] && size_is "$from" "$sz" && ln -f "$from" "$f" 2>/dev/null; then log "hard-linked $from"; return; fi
  log "creating $f ($sz bytes of random data)"
  openssl rand -out "$f.tmp" "$sz" && mv "$f.tmp" "$f"
}
make_random "$BIG" "$BIG_SIZE" "$REUSE_DATA/big-1g.bin"
make_random "$MID" "$MID_SIZE"
count_small() { find "$1" -maxdepth 1 -type f -size "${SMALL_SIZE}c" -name 'f[0-9]*' 2>/dev/null | wc -l; }
if [[ $(count_small "$WWW/small") -ne $SMALL_N ]]; then
  rm -f "$WWW/small"/f*
  if [[ $(count_small "$REUSE_DATA/small") -eq $SMALL_N ]] && ln -f "$REUSE_DATA/small"/f* "$WWW/small/" 2>/dev/null; then
    log "hard-linked $SMALL_N small files from $REUSE_DATA/small"
  else
    log "creating $SMALL_N x $SMALL_SIZE B files"
    rm -f "$WWW/small"/f*
    openssl rand $((SMALL_N * SMALL_SIZE)) | (cd "$WWW/small" && split -b "$SMALL_SIZE" -a 4 -d - f)
  fi
fi
[[ $(count_small "$WWW/small") -eq $SMALL_N ]] || die "expected $SMALL_N small files in $WWW/small"
chmod 644 "$BIG" "$MID" "$WWW/small"/f*
# node s1 shares the big, the 256 MiB and the small files; s2-s4 the big file only. Hard links: one inode, one
# copy in the page cache, the same bytes nginx serves.
mkdir -p "$SHARE/s1/small" "$SHARE/s2" "$SHARE/s3" "$SHARE/s4"
ln "$BIG" "$MID" "$SHARE/s1/"
ln "$WWW/small"/f* "$SHARE/s1/small/"
for i in 2 3 4; do ln "$BIG" "$SHARE/s$i/"; done
sync
log "hashing the test files (sha256sum)"
BIG_HASH=$(sha256sum "$BIG" | cut -c1-64 | tr a-f A-F)
MID_HASH=$(sha256sum "$MID" | cut -c1-64 | tr a-f A-F)

# --------------------------------------------------------------------------
# 3. the module (built, then copied so that a rebuild meanwhile does not change it under the bench)
# --------------------------------------------------------------------------
cd "$REPO"
if [[ $BUILD == 1 ]]; then
  log "building the module (dotnet pwsh ./build.ps1 Build)"
  dotnet tool restore >"$RES/build.log" 2>&1 || { cat "$RES/build.log" >&2; die "dotnet tool restore failed"; }
  dotnet pwsh -NoProfile -NonInteractive ./build.ps1 Build >>"$RES/build.log" 2>&1 || { tail -30 "$RES/build.log" >&2; die "build failed"; }
else
  dotnet tool restore >"$RES/build.log" 2>&1 || { cat "$RES/build.log" >&2; die "dotnet tool restore failed"; }
fi
[[ -f $REPO/out/P2PTransfer/P2PTransfer.psd1 ]] || die "no module in $REPO/out/P2PTransfer (run with BUILD=1)"
MODULE=$BENCH_DIR/module/P2PTransfer
rm -rf "${BENCH_DIR:?}/module"; mkdir -p "$BENCH_DIR/module"
cp -a "$REPO/out/P2PTransfer" "$MODULE"
# pwsh.dll of the repository's pinned tool, started directly (`dotnet pwsh` would add a parent process)
PSHOME_DIR=$(dotnet pwsh -NoProfile -NonInteractive -Command '[Console]::Out.Write($PSHOME)')
[[ -f $PSHOME_DIR/pwsh.dll ]] || die "pwsh.dll not found (PSHOME '$PSHOME_DIR')"
PWSH=(dotnet "$PSHOME_DIR/pwsh.dll" -NoProfile -NonInteractive)
PS_VERSION=$("${PWSH[@]}" -Command '[Console]::Out.Write($PSVersionTable.PSVersion.ToString())')
GIT_REV=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)

# --------------------------------------------------------------------------
# 4. own nginx (4 ports on 127.0.0.1) and 4 nodes (127.0.0.11-14), each its own pwsh process
# --------------------------------------------------------------------------
NGINX_PID='' NODE_PIDS=() DRIVER_PID=''
stop_pid() {  # pid name: TERM, then KILL after 5 s
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  log "stopped $2 (pid $pid)"
}
cleanup() {
  local rc=$? p
  set +e
  trap - EXIT INT TERM
  [[ -n $DRIVER_PID ]] && stop_pid "$DRIVER_PID" "timed pwsh"
  for p in "${NODE_PIDS[@]}"; do stop_pid "$p" node; done
  [[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID" nginx
  rm -rf "${DL:?}" "${SHARE:?}" "${STATE:?}"
  if ((CLEAN)); then
    rm -rf "${WWW:?}" "${NGX:?}" "${BENCH_DIR:?}/module"; log "deleted test data under $BENCH_DIR (results kept in $RES)"
  else
    log "test data kept in $WWW (run with --clean to delete)"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PICKED=()
port_free() {
  local p=$1 q
  for q in "${PICKED[@]}"; do [[ $q == "$p" ]] && return 1; done
  [[ -z $(ss -Hltn "sport = :$p" 2>/dev/null) ]] || return 1
  ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null
}
free_port() {  # below the ephemeral range (32768+) so clients never collide
  local p i
  for i in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p"; then echo "$p"; return; fi
  done
  die "no free port found"
}
PORTS=()
for i in 1 2 3 4; do p=$(free_port); PICKED+=("$p"); PORTS+=("$p"); done

cat >"$NGX/nginx.conf" <<EOF
# minimal private nginx for transfer.sh - not the system instance
worker_processes $NGINX_WORKERS;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    # log only the big-file requests (to check how aria2c spreads over the 4 ports)
    map \$uri \$loggable { ~^/big 1; default 0; }
    log_format bench '\$server_port \$connection \$connection_requests \$status \$body_bytes_sent "\$http_range"';
    access_log $NGX/logs/access.log bench if=\$loggable;
    server {
        listen $HOST:${PORTS[0]};
        listen $HOST:${PORTS[1]};
        listen $HOST:${PORTS[2]};
        listen $HOST:${PORTS[3]};
        root $WWW;
        location / { }
    }
}
EOF
NGX_ARGS=(-p "$NGX" -e "$NGX/logs/error.log" -c "$NGX/nginx.conf")
nginx "${NGX_ARGS[@]}" -t >"$RES/nginx-t.log" 2>&1 || { cat "$RES/nginx-t.log" >&2; die "nginx config test failed"; }
: >"$NGX/logs/access.log"
nginx "${NGX_ARGS[@]}" >>"$NGX/logs/stdout.log" 2>&1 &
NGINX_PID=$!

log "starting 4 nodes (each its own pwsh process; indexing 1 GiB each)"
for i in 1 2 3 4; do
  "${PWSH[@]}" -File "$HERE/Transfer/Start-Node.ps1" -ModulePath "$MODULE" -Name "s$i" -Address "${NODE_ADDRS[i-1]}" \
    -StateDirectory "$STATE/s$i" -Share "$SHARE/s$i" -EndpointFile "$STATE/s$i.endpoint" >"$RES/node-s$i.log" 2>&1 &
  NODE_PIDS+=($!)
done

CURL=(curl -q --noproxy '*' -sSf --no-progress-meter)
nginx_up() { local p; for p in "${PORTS[@]}"; do "${CURL[@]}" -o /dev/null -r 0-0 "http://$HOST:$p/big-1g.bin" || return 1; done; }
for i in $(seq 100); do nginx_up >/dev/null 2>&1 && break; sleep 0.1; done
nginx_up >/dev/null 2>&1 || die "nginx did not come up"
NGINX_PIDS=("$NGINX_PID" $(pgrep -P "$NGINX_PID" || true))
got=$("${CURL[@]}" -o /dev/null -w '%{http_code} %{size_download}' "http://$HOST:${PORTS[0]}/big-1g.bin" -r 0-1048575)
[[ $got == "206 1048576" ]] || die "nginx sanity check failed: $got"

ENDPOINTS=()
for i in 1 2 3 4; do
  f=$STATE/s$i.endpoint
  for t in $(seq 1800); do [[ -s $f ]] && break; kill -0 "${NODE_PIDS[i-1]}" 2>/dev/null || break; sleep 0.1; done
  [[ -s $f ]] || { cat "$RES/node-s$i.log" >&2; die "node s$i did not start (log: $RES/node-s$i.log)"; }
  ENDPOINTS+=("$(tr -d '[:space:]' <"$f")")
done
cat "$RES"/node-s*.log >&2
log "nginx pids ${NGINX_PIDS[*]} on $HOST:${PORTS[*]}; node pids ${NODE_PIDS[*]} on ${ENDPOINTS[*]}"
log "results -> $RES"

# page cache: the source files are read once so both sides serve them from RAM
cat "$BIG" "$MID" "$WWW/small"/f* >/dev/null
cache_pct() { fincore -b -n -o RES "$1" | awk -v s="$(stat -c %s "$1")" '{printf "%.0f", 100*$1/s}'; }
CACHE_NOTE="page cache before the timed runs: big-1g.bin $(cache_pct "$BIG")%, mid-256m.bin $(cache_pct "$MID")% resident"
log "$CACHE_NOTE"

cpu_stat() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $9}' /proc/stat; }  # total steal
busy_pct() {  # CPU busy % of the whole machine over 2 s (nothing of ours is running: a check for other load)
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 2
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); u=y[1]-x[1]; i=y[2]-x[2]; printf "%.0f", (u+i) ? 100*u/(u+i) : 0}'
}
IDLE_BUSY=$(busy_pct)
for i in $(seq $((QUIET_WAIT_S / 2))); do   # bounded wait for a quiet machine
  ((IDLE_BUSY > 15)) || break
  ((i == 1)) && log "the machine is busy (${IDLE_BUSY}% CPU); waiting up to ${QUIET_WAIT_S}s for it to settle"
  IDLE_BUSY=$(busy_pct)
done
log "machine busy ${IDLE_BUSY}% over 2 s before the timed part (other load skews every figure)"
read -r T0 S0 < <(cpu_stat)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TIMED_START=$SECONDS

# --------------------------------------------------------------------------
# 5. timed phases (one long-lived pwsh process)
# --------------------------------------------------------------------------
RAW=$RES/runs.tsv
: >"$RAW"
join_by() { local IFS=$1; shift; echo "$*"; }
DRIVER_PHASES=()
for ph in single multi small; do has_phase "$ph" && DRIVER_PHASES+=("$ph"); done
if ((${#DRIVER_PHASES[@]})); then
  URLS=(); for p in "${PORTS[@]}"; do URLS+=("http://$HOST:$p/big-1g.bin"); done
  timeout 900 "${PWSH[@]}" -File "$HERE/Transfer/Measure-Transfer.ps1" -ModulePath "$MODULE" -Runs "$RUNS" \
    -DownloadDir "$DL/timed" -ResultFile "$RAW" -BigPath "$BIG" -BigHash "$BIG_HASH" -BigSize "$BIG_SIZE" \
    -Endpoints "$(join_by , "${ENDPOINTS[@]}")" -BigUrls "$(join_by , "${URLS[@]}")" \
    -SmallUrlBase "http://$HOST:${PORTS[0]}/small" -SmallDir "$WWW/small" -SmallCount "$SMALL_N" \
    -NodePids "$(join_by , "${NODE_PIDS[@]}")" -NginxPids "$(join_by , "${NGINX_PIDS[@]}")" \
    -AccessLog "$NGX/logs/access.log" -ResultsDir "$RES" -Phases "$(join_by , "${DRIVER_PHASES[@]}")" \
    -ClockTicks "$(getconf CLK_TCK)" 2> >(tee "$RES/timed.log" >&2) &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || log "the timed pwsh process exited with $? (see $RES/timed.log)"
  DRIVER_PID=''
fi

# --------------------------------------------------------------------------
# 6. peak memory: a fresh pwsh process per download
# --------------------------------------------------------------------------
RSS=$RES/rss.tsv
: >"$RSS"   # case run baseline_kib peak_kib seconds time_maxrss_kib
if has_phase rss; then
  log "peak RSS: fresh pwsh process per download, $RUNS run(s) each of 256 MiB, 1 GiB, 1 GiB from 4 sources"
  TIME_BIN=''
  [[ -x /usr/bin/time ]] && TIME_BIN=/usr/bin/time
  rss_run() {  # case run hash name size sources
    local c=$1 r=$2 out line maxrss=- dir=$DL/rss/$1-$2
    rm -rf "${DL:?}/rss/"*; mkdir -p "$dir"; sync
    local cmd=("${PWSH[@]}" -File "$HERE/Transfer/Measure-Rss.ps1" -ModulePath "$MODULE" -Hash "$3" -Source "$6" \
               -Name "$4" -Size "$5" -Destination "$dir")
    [[ -n $TIME_BIN ]] && cmd=("$TIME_BIN" -f '%M' -o "$RES/time-$c-$r.txt" "${cmd[@]}")
    if ! out=$(timeout 300 "${cmd[@]}" 2>"$RES/rss-$c-$r.err"); then
      log "FAILED: peak RSS run $c/$r: $(head -c 600 "$RES/rss-$c-$r.err")"; return 0
    fi
    line=$(tail -1 <<<"$out")
    [[ -n $TIME_BIN && -s $RES/time-$c-$r.txt ]] && maxrss=$(tail -1 "$RES/time-$c-$r.txt")
    printf '%s\t%s\t%s\t%s\n' "$c" "$r" "$line" "$maxrss" >>"$RSS"
    log "rss $c run $r: baseline/peak KiB/seconds: $line (time -f %M: $maxrss KiB)"
  }
  for r in $(seq "$RUNS"); do
    rss_run mid "$r" "$MID_HASH" mid-256m.bin "$MID_SIZE" "${ENDPOINTS[0]}"
    rss_run big "$r" "$BIG_HASH" big-1g.bin "$BIG_SIZE" "${ENDPOINTS[0]}"
    rss_run big4 "$r" "$BIG_HASH" big-1g.bin "$BIG_SIZE" "$(join_by , "${ENDPOINTS[@]}")"
  done
  rm -rf "${DL:?}/rss/"*
fi

# --------------------------------------------------------------------------
# 7. report
# --------------------------------------------------------------------------
read -r T1 S1 < <(cpu_stat)
STEAL=$(awk -v t=$((T1 - T0)) -v s=$((S1 - S0)) 'BEGIN{printf "%.1f", t ? 100*s/t : 0}')
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
col() {  # method column -> values of the timed runs that succeeded
  awk -F'\t' -v m="$1" -v c="$2" '$2==m && $3>0 && $5==1 {print $c}' "$RAW"
}
failed() { awk -F'\t' -v m="$1" '$2==m && $5!=1 {n++} END{print n+0}' "$RAW"; }
med_s() { col "$1" 4 | median; }
rate() {  # amount seconds -> amount/s
  awk -v a="$1" -v t="$2" 'BEGIN{ if (t=="nan" || t<=0) print "nan"; else printf "%.0f", a/t }'
}
range() {  # method amount -> slowest..fastest rate
  local v; v=$(col "$1" 4 | sort -g)
  [[ -n $v ]] || { echo -; return; }
  echo "$(rate "$2" "$(tail -1 <<<"$v")")..$(rate "$2" "$(head -1 <<<"$v")")"
}
BIG_MB=$(awk -v b="$BIG_SIZE" 'BEGIN{print b/1e6}')
ROWS=$RES/table.tsv
: >"$ROWS"
compare() {  # test ours-method ref-method amount unit target
  local t=$1 o=$2 f=$3 amt=$4 unit=$5 target=$6 os fs ratio verdict
  os=$(med_s "$o"); fs=$(med_s "$f")
  ratio=$(awk -v a="$os" -v b="$fs" 'BEGIN{ if (a=="nan" || b=="nan" || a<=0) print "nan"; else printf "%.2f", b/a }')
  verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN{ if (r=="nan") print "FAIL"; else print (r+0 >= t+0) ? "PASS" : "FAIL" }')
  [[ $(failed "$o") -gt 0 || $(failed "$f") -gt 0 ]] && verdict="FAIL (errors)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$(rate "$amt" "$os") $unit" "$(rate "$amt" "$fs") $unit" "$ratio" ">= $target" "$verdict" >>"$ROWS"
}
has_phase single && {
  compare "1 GiB, 1 source -> disk (vs curl from nginx)" ours curl "$BIG_MB" MB/s 0.70
  compare "1 GiB, 1 source -> disk (vs aria2c -x1 -s1)" ours aria2c-x1 "$BIG_MB" MB/s 1.00
}
has_phase multi && compare "1 GiB, 4 sources -> disk (vs aria2c -x4 -s4 -k1M, 4 URIs)" ours-4src aria2c-4src "$BIG_MB" MB/s 1.00
has_phase small && compare "1000 x 4 KiB -> disk (vs curl -K, 1 keep-alive conn)" ours-1000 curl-K-1000 "$SMALL_N" files/s 0.50
rss_med() { awk -F'\t' -v c="$1" -v k="$2" '$1==c {print $k}' "$RSS" | median | awk '{ if ($1=="nan") print "nan"; else printf "%.0f", $1/1024 }'; }
if has_phase rss; then
  # the download's own memory = peak - the same process's RSS with the module imported (that baseline alone varies by
  # ~10 MiB from process to process); it must not grow with the file size
  own_med() { awk -F'\t' -v c="$1" '$1==c {print $4-$3}' "$RSS" | median | awk '{ if ($1=="nan") print "nan"; else printf "%.0f", $1/1024 }'; }
  PEAK_BIG=$(rss_med big 4); PEAK_MID=$(rss_med mid 4)
  OWN_BIG=$(own_med big); OWN_MID=$(own_med mid)
  growth=$(awk -v a="$OWN_BIG" -v b="$OWN_MID" 'BEGIN{ if (a=="nan" || b=="nan") print "nan"; else printf "%+d", a-b }')
  verdict=$(awk -v g="$growth" -v m="$RSS_GROWTH_MAX_MIB" 'BEGIN{ if (g=="nan") print "FAIL"; else print (g+0 <= m+0) ? "PASS" : "FAIL" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "peak RSS of the downloading pwsh, 1 GiB vs 256 MiB" "$PEAK_BIG MiB (+$OWN_BIG)" \
    "$PEAK_MID MiB (+$OWN_MID)" \
    "$(awk -v a="$PEAK_BIG" -v b="$PEAK_MID" 'BEGIN{ if (a=="nan" || b=="nan" || b<=0) print "nan"; else printf "%.2f", a/b }')" \
    "own +<= $RSS_GROWTH_MAX_MIB MiB" "$verdict ($growth MiB)" >>"$ROWS"
fi

detail() {  # method amount unit
  local n s cl sv
  n=$(col "$1" 4 | wc -l)
  [[ $n -gt 0 || $(failed "$1") -gt 0 ]] || return 0
  s=$(med_s "$1"); cl=$(col "$1" 6 | median); sv=$(col "$1" 7 | median)
  printf '  %-12s %s ok %s failed  median %6.3f s %6s %-7s range %-11s  cpu s: client %5.2f (user %5.2f sys %5.2f) server %5.2f kernel %4.2f  other %4.2f (max %4.2f)\n' \
    "$1" "$n" "$(failed "$1")" "$s" "$(rate "$2" "$s")" "$3" "$(range "$1" "$2")" "$cl" "$(col "$1" 9 | median)" "$(col "$1" 10 | median)" "$sv" \
    "$(col "$1" 12 | median)" "$(col "$1" 11 | median)" "$(col "$1" 11 | sort -g | tail -1)"
}
CPU_MODEL=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
{
  echo
  echo "== P2PTransfer downloads vs nginx + curl / aria2c  $(date -Is)  host=$(hostname)  rev=$GIT_REV"
  echo "CPU: $CPU_MODEL, $(nproc) cores; RAM $(free -g | awk '/^Mem/{print $2}') GiB; kernel $(uname -r); FS $(findmnt -no FSTYPE --target "$BENCH_DIR")"
  echo "pwsh $PS_VERSION, .NET $(dotnet --list-runtimes | awk '/NETCore.App/{v=$2} END{print v}'), nginx $(nginx -v 2>&1 | sed 's|.*/||') (sendfile on, workers=$NGINX_WORKERS), $(curl --version | head -1 | cut -d' ' -f1-2), aria2 $(aria2c --version | head -1 | awk '{print $3}')"
  echo "RUNS=$RUNS rounds after 1 warm-up round, medians; MB = 1e6 bytes; ratio = ours/reference throughput."
  echo "Ours: Receive-P2PFile timed inside one long-lived pwsh process with the module already imported (pwsh start-up"
  echo "not included); references started from that process and timed the same way. Before every run: output deleted, new"
  echo "download folder, sync. Source files in the page cache on both sides; last round's output compared byte for byte."
  echo "Timed part $((SECONDS - TIMED_START)) s, steal ${STEAL}%, load average $LOAD0 at start, $LOAD1 at end;"
  echo "CPU busy ${IDLE_BUSY}% over the 2 s just before the timed part (should be ~0: other load on the machine skews the figures)."
  echo
  printf '%-58s %-16s %-22s %6s %-15s %s\n' test ours reference ratio target result
  printf '%s\n' "-----------------------------------------------------------------------------------------------------------------------------"
  while IFS=$'\t' read -r t o f r g v; do
    printf '%-58s %-16s %-22s %6s %-15s %s\n' "$t" "$o" "$f" "$r" "$g" "$v"
  done <"$ROWS"
  echo
  if [[ -s $RAW ]]; then
    echo "per method (timed rounds; cpu = median user+sys seconds per run: client = the downloader, server = nodes or nginx,"
    echo "kernel = kernel threads + irq/softirq (loopback TCP, writeback), other = any other process: other load skews the run):"
    detail ours "$BIG_MB" MB/s; detail curl "$BIG_MB" MB/s; detail aria2c-x1 "$BIG_MB" MB/s
    detail ours-4src "$BIG_MB" MB/s; detail aria2c-4src "$BIG_MB" MB/s
    detail ours-1000 "$SMALL_N" files/s; detail curl-K-1000 "$SMALL_N" files/s
    if [[ -n $(col ours-4src 8) ]]; then
      echo "  ours-4src server cpu per node s1,s2,s3,s4 by round: $(col ours-4src 8 | paste -sd' ')"
    fi
    if [[ -s $RES/access-multi.log ]]; then
      awk '$4==206 || $4==200 {n++; conn[$1" "$2]=1; bytes[$1]+=$5; tot+=$5}
           END{c=0; for(k in conn) c++; s=sprintf("  aria2c-4src (all rounds): %d requests, %d connections; bytes by nginx port:", n, c);
               for(p in bytes) s=s sprintf(" %s=%.0f%%", p, 100*bytes[p]/tot); print s}' "$RES/access-multi.log"
    fi
    echo
  fi
  if [[ -s $RSS ]]; then
    echo "peak memory (VmHWM of a fresh pwsh process: module imported, then one Receive-P2PFile; median of $RUNS):"
    for c in mid big big4; do
      case $c in mid) d="256 MiB, 1 source";; big) d="1 GiB, 1 source";; big4) d="1 GiB, 4 sources";; esac
      b=$(rss_med "$c" 3); p=$(rss_med "$c" 4)
      printf '  %-18s baseline (module imported) %4s MiB   peak %4s MiB   download adds %4s MiB   (/usr/bin/time %%M: %s MiB; %s s)\n' \
        "$d" "$b" "$p" "$(awk -v a="$p" -v b="$b" 'BEGIN{print a-b}')" \
        "$(awk -F'\t' -v c="$c" '$1==c && $6!="-" {print $6}' "$RSS" | median | awk '{ if ($1=="nan") print "-"; else printf "%.0f", $1/1024 }')" \
        "$(awk -F'\t' -v c="$c" '$1==c {print $5}' "$RSS" | median)"
    done
    echo
  fi
  echo "notes:"
  echo "  - $CACHE_NOTE"
  echo "  - data: $WWW (reused between runs); nodes s1-s4 on ${ENDPOINTS[*]}; nginx on $HOST:${PORTS[*]}"
  echo "  - aria2c and curl do not verify content; Receive-P2PFile verifies the whole file (and a source's first pieces and one in 8 after them as they arrive)"
  echo "  - $FRESH_NOTE"
  grep -h 'FAILED' "$RES/timed.log" 2>/dev/null | sed 's/^/  - /' || true
  if [[ -s $RAW ]]; then
    awk -F'\t' '$3>0 && $11>0.3 {printf "  - other load: %s round %s: other processes used %.2f CPU s during its %.2f s (figure skewed)\n", $2, $3, $11, $4}' "$RAW"
  fi
  [[ -s $NGX/logs/error.log ]] && echo "  - nginx error.log: $(wc -l <"$NGX/logs/error.log") line(s) in $NGX/logs/error.log"
  echo "  - raw runs: $RAW; peak RSS: $RSS; logs: $RES"
  echo "  - total wall time $((SECONDS - START)) s"
} | tee "$RES/table.txt"
