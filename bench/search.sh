#!/usr/bin/env bash
# Network search benchmark: 50 nodes in one process (time to the first and to all results, Query frames per search
# against the number of links, duplicates), the searches per second one entry server sustains for 1, 4 and 16 pure
# clients on that network, and 20 nodes in separate processes searched by a pure client. Prints one line per figure
# and a summary block.
#
#   bench/search.sh                          work in a new folder under /tmp, deleted at the end
#   bench/search.sh --seed N                 other random topologies (the seed is printed)
#   bench/search.sh --only inproc,throughput,procs   some parts only
#
# Needs: the .NET SDK (the bench runs on net10.0) and the loopback addresses 127.0.0.1-50 and 127.0.0.101-120 (Linux
# answers on all of 127.0.0.0/8). Nothing but loopback is ever dialed. Takes about a minute after the build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project="$here/SearchBench/SearchBench.csproj"

for tool in dotnet timeout mktemp grep; do
    command -v "$tool" >/dev/null || { echo "search.sh: '$tool' is needed and was not found" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/p2p-searchbench.XXXXXX")
pids="$work/children.pids"
bench_pid=

cleanup() {
    # The bench kills its node processes itself; after a crash or a kill -9 some may be left. Only processes it listed
    # and that are still SearchBench nodes are stopped.
    if [[ -f "$pids" ]]; then
        while read -r pid; do
            [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || continue
            if tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q 'SearchBench.* node '; then
                kill "$pid" 2>/dev/null || true
            fi
        done < "$pids"
    fi
    rm -rf "$work"
}
interrupted() {
    # The bench runs in the background so that this trap runs at once; it passes the signal on to its node processes.
    if [[ -n "$bench_pid" ]]; then
        kill -TERM "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
    exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

echo "building $project (Release, net10.0)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly
dll="$here/SearchBench/bin/Release/net10.0/SearchBench.dll"

# The bench bounds each of its own waits; this is a backstop for the whole run.
status=0
timeout 480 dotnet "$dll" --dir "$work" "$@" &
bench_pid=$!
wait "$bench_pid" || status=$?
bench_pid=
if (( status == 124 )); then
    echo "search.sh: the bench did not finish within 8 minutes" >&2
fi
exit "$status"
