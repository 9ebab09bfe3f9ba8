#!/usr/bin/env bash
# Measures the two speed figures of the engine core issue, on this machine:
#   1. bulk import of the generated data set (>= 1,000,000 events), durable at
#      the end (the import syncs the key store and the log before it reports);
#   2. opening that data directory and answering one status (cold process).
# Usage: bench/import_open.sh [EVENTS] [RUNS]   (defaults 1000000, 3)
# Prints one line per run and the medians. Build first (scripts/build.sh);
# RelWithDebInfo is what the README builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
events=${1:-1000000}
runs=${2:-3}
relais=build/tools/relais
work=$(mktemp -d /tmp/relais-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$relais" generate --seed 7 --events "$events" --out "$work/events.ndjson" 2>"$work/gen.json"
appended=0
imports=() opens=()
for run in $(seq "$runs"); do
  rm -rf "$work/data"
  start=$(date +%s.%N)
  "$relais" --data "$work/data" import "$work/events.ndjson" >"$work/summary.json" 2>"$work/refusals"
  end=$(date +%s.%N)
  appended=$(sed -E 's/.*"events":([0-9]+).*/\1/' "$work/summary.json")
  rate=$(awk -v n="$appended" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
  subject=$(grep -m1 -o '"subject": *"household/[^"]*"' "$work/events.ndjson" | sed -E 's/.*"(household\/[^"]*)"/\1/')
  start=$(date +%s.%N)
  "$relais" --data "$work/data" status "$subject" >/dev/null
  end=$(date +%s.%N)
  open_ms=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  echo "run $run: import $appended events at $rate events/s; open + status in $open_ms ms"
  imports+=("$rate")
  opens+=("$open_ms")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median import: $(median "${imports[@]}") events/s over $appended events; median open + status: $(median "${opens[@]}") ms"
echo "data directory: $(du -sb "$work/data" | cut -f1) bytes ($(du -sb "$work/data" | awk -v n="$appended" '{ printf "%.0f", $1 / n }') bytes/event)"
