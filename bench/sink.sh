#!/usr/bin/env bash
# The sink's figures (docs/performance.md, "Sink"): a data set of N events
# (relais generate --seed 42 --events N, imported), then bench/sink_bench on a
# copy of it: catch-up into an empty PostgreSQL schema, then the live lag
# under 16 durable writers.
#
#   bench/sink.sh [N] [SECONDS]      # default 100000 events, 20 s of writers
#
# Uses build/ (RelWithDebInfo: scripts/build.sh); BUILD overrides it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-100000}
secs=${2:-20}
build=${BUILD:-build}
ninja -C "$build" -j2 relais sink_bench >&2
work=$(mktemp -d /tmp/relais-sink-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/tools/relais" generate --seed 42 --events "$n" --out "$work/events.ndjson"
"$build/tools/relais" --data "$work/data" import "$work/events.ndjson" >/dev/null
echo "machine: $(nproc) cores; data set: $n events requested, $(wc -l < "$work/events.ndjson") lines" >&2
"$build/bench/sink_bench" --dir "$work/data" --seconds "$secs" "${@:3}"
