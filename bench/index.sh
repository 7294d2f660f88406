#!/usr/bin/env bash
# Share index benchmark: hashing (engine against openssl), first index and restart of 100,000 small files, and
# local wildcard queries over 1,000,000 indexed names. Prints one line per figure and a summary block.
#
#   bench/index.sh                 work in a new folder under /tmp, deleted at the end
#   BENCH_DIR=/path bench/index.sh work in /path and keep the 1 GiB file and the 1M-row database there for the next
#                                  run (the 100,000 files and the index state are deleted at the end)
#
# Needs: the .NET SDK (the bench runs on net10.0), openssl, about 2 GiB free in the work folder. Takes several minutes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project="$here/IndexBench/IndexBench.csproj"
need_bytes=$((2 * 1024 * 1024 * 1024))
big_bytes=$((1024 * 1024 * 1024))

for tool in dotnet openssl head df timeout stat; do
    command -v "$tool" >/dev/null || { echo "index.sh: '$tool' is needed and was not found" >&2; exit 1; }
done

if [[ -n "${BENCH_DIR:-}" ]]; then
    mkdir -p "$BENCH_DIR"
    work=$(cd "$BENCH_DIR" && pwd)
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/p2p-indexbench.XXXXXX")
    keep=0
fi

cleanup() {
    if [[ $keep == 1 ]]; then
        rm -rf "$work/share" "$work/state"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free space where the files go; what a kept work folder already holds is not needed again.
have_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
kept_bytes=0
[[ -f "$work/big.bin" ]] && kept_bytes=$(( kept_bytes + $(stat -c %s "$work/big.bin") ))
for db in "$work"/query-*.db; do
    [[ -f "$db" ]] && kept_bytes=$(( kept_bytes + $(stat -c %s "$db") ))
done
if (( have_kib * 1024 + kept_bytes < need_bytes )); then
    echo "index.sh: $work has $((have_kib / 1024)) MiB free; the bench needs about $((need_bytes / 1024 / 1024)) MiB (set BENCH_DIR to a folder on a larger disk)" >&2
    exit 1
fi

echo "building $project (Release, net10.0)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly
dll="$here/IndexBench/bin/Release/net10.0/IndexBench.dll"

# The 1 GiB file is only needed when hashing is measured (the default, or --only with hash); the bench warms the
# page cache itself with one uncounted pass.
only="hash"
for (( i = 1; i < $#; i++ )); do
    [[ "${!i}" == "--only" ]] && { next=$((i + 1)); only="${!next}"; }
done
if [[ ",$only," == *,hash,* ]]; then
    if [[ -f "$work/big.bin" && $(stat -c %s "$work/big.bin") == "$big_bytes" ]]; then
        echo "reusing the 1 GiB file of random bytes in $work"
    else
        echo "writing a 1 GiB file of random bytes (head -c 1G /dev/urandom)"
        head -c 1G /dev/urandom > "$work/big.bin"
    fi
fi

# The bench bounds each of its own waits; this is a backstop for the whole run.
status=0
timeout 3600 dotnet "$dll" --dir "$work" --big "$work/big.bin" "$@" || status=$?
if (( status == 124 )); then
    echo "index.sh: the bench did not finish within an hour" >&2
fi
exit "$status"
