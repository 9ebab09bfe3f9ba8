#!/usr/bin/env bash
# How a cold report grows with the log (issue 9, item 4): for each size,
# generates the seeded data set, imports it (a clean close writes the record
# snapshot), then times RUNS cold `relais report` processes (wall time and
# peak RSS from /usr/bin/time).
#
#   bench/replay_scale.sh [RUNS] [EVENTS...]     (defaults: 3, 1000000)
#   RELAIS_SCALE_DIR=/big/disk bench/replay_scale.sh 3 1000000 10000000
#
# The data sets stay in RELAIS_SCALE_DIR (default /tmp/relais-scale) so that a
# second run reuses them; delete it to start over. Build first: scripts/build.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-3}
shift || true
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000000)
relais=${RELAIS_BIN:-build/tools/relais}
[[ -x $relais ]] || { echo "replay_scale: $relais is not built (scripts/build.sh)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "replay_scale: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
root=${RELAIS_SCALE_DIR:-/tmp/relais-scale}
mkdir -p "$root"
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Times `relais report` RUNS times on DIR; prints "median_ms median_rss_mb".
time_reports() {
  local dir=$1 ms=() mb=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$root/time.txt" "$relais" --data "$dir" report --as-of 2022-12-31 >"$root/report.json"
    read -r secs kb <"$root/time.txt"
    ms+=("$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')")
    mb+=("$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')")
  done
  echo "$(median "${ms[@]}") $(median "${mb[@]}")"
}

for n in "${sizes[@]}"; do
  dir="$root/d$n"
  if [[ ! -f "$dir/.imported" ]]; then
    echo "replay_scale: generating and importing $n events into $dir" >&2
    rm -rf "$dir"
    "$relais" generate --seed 42 --events "$n" --out "$root/gen$n.ndjson" 2>/dev/null
    /usr/bin/time -f '%e %M' -o "$root/import$n.txt" "$relais" --data "$dir" import "$root/gen$n.ndjson" >"$root/import$n.json"
    rm -f "$root/gen$n.ndjson"
    touch "$dir/.imported"
  fi
  events=$(sed -E 's/.*"events":([0-9]+).*/\1/' "$root/import$n.json")
  read -r isecs ikb <"$root/import$n.txt"
  read -r snap_ms snap_mb < <(time_reports "$dir")
  echo "$n requested, $events events: import ${isecs} s (peak $(awk -v k="$ikb" 'BEGIN { printf "%.0f", k / 1024 }') MB); cold report ${snap_ms} ms, peak ${snap_mb} MB (medians of $runs)"
done
