#!/usr/bin/env bash
# fuzz.sh - hostile frames against a running node: at least 1,000,000 frames (random, and mutated from valid frames of
# every request code: bits flipped, lengths wrong, payloads cut or padded, codes and flags changed, frames spliced,
# random bytes) sent before and after the handshake, as a client and as a peer, from 64 connections at once spread
# over the source addresses 127.0.1.1-254. Then: the node's process still runs (0 crashes), it answers a Ping and a
# search with the right files (hashes checked), and its memory (RSS) before, after and at its peak.
#
# The node is the module as users run it (Start-P2PNode in a pwsh process of its own, on 127.0.0.31, sharing 5,000
# small files). The frames come from bench/TrustBench, which encodes the protocol itself from docs/protocol.md.
#
# Usage:  bench/fuzz.sh
# Environment knobs:
#   FRAMES=1000000       frames to send          CONNECTIONS=64   connections at once
#   SEED=<random>        the frames' seed (printed; the same seed sends the same frames)
#   MAX_SECONDS=900      stop sending after this long even if FRAMES are not all sent
#   BUILD=1              build the module first; BUILD=0 uses out/P2PTransfer as is
#   BENCH_DIR=<new folder under /tmp>   work folder, deleted at the end unless KEEP=1
# Needs the .NET SDK. Only loopback is used; only processes this script started are stopped, by PID.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FRAMES=${FRAMES:-1000000}
CONNECTIONS=${CONNECTIONS:-64}
SEED=${SEED:-$((RANDOM % 65536))}
MAX_SECONDS=${MAX_SECONDS:-900}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/p2p-fuzz.XXXXXX")}
case ${1:-} in -h|--help) sed -n '2,20p' "$0"; exit 0 ;; esac
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

setup_pwsh "$REPO"
build_module "$REPO" "$WORK/module/P2PTransfer" "$WORK/build.log"
DLL=$(build_trustbench "$REPO" "$WORK/build.log")
dotnet "$DLL" make-share --dir "$WORK/share" --files 5000 >/dev/null
log "starting the node (indexing 5,000 files)"
start_node "$WORK/module/P2PTransfer" fuzzed 127.0.0.31 "$WORK/share" "$WORK/state" "$WORK/node.log"
log "node pid $NODE_PID on $NODE_EP"
echo "== P2PTransfer fuzz  $(date -Is)  rev=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)  $(nproc) cores"
status=0
timeout $((MAX_SECONDS + 120)) dotnet "$DLL" fuzz --node "$NODE_EP" --node-pid "$NODE_PID" --share "$WORK/share" \
  --frames "$FRAMES" --connections "$CONNECTIONS" --seed "$SEED" --max-seconds "$MAX_SECONDS" || status=$?
if grep -qiE 'unhandled|fatal|stack overflow' "$WORK/node.log"; then
  echo "node log mentions a crash:"; grep -iE -m5 'unhandled|fatal|stack overflow' "$WORK/node.log"; status=1
fi
exit $status
