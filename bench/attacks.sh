#!/usr/bin/env bash
# attacks.sh - the attacks of the probe, one after the other, against a running node while a bystander (a client in a
# process of its own, from 127.0.0.1; the attackers use 127.0.0.66-72) pings it every 50 ms on one connection and
# searches it back to back on new connections, checking every result against the node's shared files:
#   slots-idle    one host (127.0.0.66) holds 512 client connections, each pinging once a second
#   slots-silent  one host holds 1,500 sockets that never say a word (reopened as the node closes them)
#   regex         a peer sends 1,100 Queries with ((((((((.*)*)*)*)*)*)*)*)# at once, then 30 a second
#   sybil         8 peer links under made-up ids from one host, each flooding Queries for every file
#   forged        a peer answers every Query with files under another node's id and name
#   reflection    Queries naming a victim as their entry server, the link dropped once answered, so the node's
#                 direct delivery would dial the victim; two attackers at once, 2 a second each: from 127.0.0.72 with
#                 an entry signature that does not verify (victim 127.0.0.81: target 0 dials), and from 127.0.0.71
#                 self-signed with the key of the id they name, a fresh victim each time (127.0.0.77-80: target at
#                 most 1 dial in all, the first; then that host gets no direct delivery for a while)
#   none          the bystander alone, for reference
# Per attack: bystander ping p99, searches correct, new connections that got in, dials to the victim, forged results
# shown, node RSS, whether the node still runs. Targets: p99 < 100 ms, every search correct, 0 dials (reflection: as
# above), 0 forged shown, RSS within +RSS_GROWTH_MAX_MIB of the node's before the attacks, node alive.
#
# Usage:  bench/attacks.sh
# Environment knobs:
#   SECONDS_PER_ATTACK=15   ONLY=none,slots-idle,slots-silent,regex,sybil,forged,reflection   RSS_GROWTH_MAX_MIB=256
#   BUILD=1 (BUILD=0 uses out/P2PTransfer as is)   BENCH_DIR=<new folder under /tmp> (deleted at the end unless KEEP=1)
# Needs the .NET SDK. Only loopback is used; only processes this script started are stopped, by PID. About 3 minutes.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PER=${SECONDS_PER_ATTACK:-15}
ONLY=${ONLY:-none,slots-idle,slots-silent,regex,sybil,forged,reflection}
RSS_GROWTH_MAX_MIB=${RSS_GROWTH_MAX_MIB:-256}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/p2p-attacks.XXXXXX")}
case ${1:-} in -h|--help) sed -n '2,24p' "$0"; exit 0 ;; esac
export LC_ALL=C DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
source "$HERE/Common/node.sh"
mkdir -p "$WORK"
cleanup() {
  local rc=$?
  set +e; trap - EXIT INT TERM
  stop_started
  [[ ${KEEP:-0} == 1 ]] && log "work folder kept: $WORK" || rm -rf "${WORK:?}"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1,500 silent sockets and 512 connections from one host, plus the node's own: more descriptors than the default 1,024
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
setup_pwsh "$REPO"
build_module "$REPO" "$WORK/module/P2PTransfer" "$WORK/build.log"
DLL=$(build_trustbench "$REPO" "$WORK/build.log")
dotnet "$DLL" make-share --dir "$WORK/share" --files 5000 >/dev/null
log "starting the node (indexing 5,000 files)"
start_node "$WORK/module/P2PTransfer" attacked 127.0.0.31 "$WORK/share" "$WORK/state" "$WORK/node.log"
log "node pid $NODE_PID on $NODE_EP (open files limit $(ulimit -n))"
quiet_wait
echo "== P2PTransfer attacks  $(date -Is)  rev=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)  $(nproc) cores"
status=0
timeout 1800 dotnet "$DLL" attacks --node "$NODE_EP" --node-pid "$NODE_PID" --share "$WORK/share" --seconds "$PER" \
  --only "$ONLY" --rss-growth-max-mib "$RSS_GROWTH_MAX_MIB" || status=$?
if grep -qiE 'unhandled|fatal|stack overflow' "$WORK/node.log"; then
  echo "node log mentions a crash:"; grep -iE -m5 'unhandled|fatal|stack overflow' "$WORK/node.log"; status=1
fi
exit $status
