#!/usr/bin/env bash
# The console's server-side figures (issue 12, docs/performance.md "Console"):
# the household page (its two reads: status and history) and a territory's
# caseload, warm, over a data directory already imported.
#
#   HOUSEHOLD=household/H-002044 bench/console.sh DATA_DIR [RUNS]
#
# Starts `relais serve` on a free port, adds an admin and a Lille coordinator
# token (revoked at the end), reads each page once to warm the caches, then
# RUNS times (default 20) and prints the median and the maximum
# of curl's time_total (loopback: the server's time plus a few hundred µs).
set -euo pipefail
dir="$1"
runs="${2:-20}"
bin="${RELAIS_BIN:-$(dirname "$0")/../build/tools/relais}"
tok=$("$bin" --data "$dir" token add --name "bench-$$" --role coordinator --territory lille |
  sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
admin=$("$bin" --data "$dir" token add --name "bench-admin-$$" --role admin |
  sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
out=$(mktemp)
"$bin" --data "$dir" serve --listen 127.0.0.1:0 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; "$bin" --data "$dir" token revoke --name "bench-$$" >/dev/null 2>&1 || true; "$bin" --data "$dir" token revoke --name "bench-admin-$$" >/dev/null 2>&1 || true; rm -f "$out"' EXIT
for _ in $(seq 600); do grep -q listening "$out" && break; sleep 0.1; done
addr=$(sed -n 's/.*"listening": *"\([^"]*\)".*/\1/p' "$out")
base="http://$addr"
auth=(-H "Authorization: Bearer $tok")
# The household with the most lines in the imported file, unless HOUSEHOLD
# names one (admin token: the whole history, the largest body).
best="${HOUSEHOLD:-}"
[[ -n "$best" ]] || { echo "set HOUSEHOLD=household/<id>" >&2; exit 2; }
best_n=$(curl -sf -H "Authorization: Bearer $admin" "$base/v1/streams/${best/\//%2F}/events" |
  grep -o '"position":' | wc -l)
echo "household: $best ($best_n events)"
time_of() {  # prints `runs` times in ms, sorted (auth from the caller)
  for _ in $(seq "$runs"); do
    curl -s -o /dev/null -w '%{time_total}\n' "${auth[@]}" "$1"
  done | awk '{printf "%.2f\n", $1 * 1000}' | sort -n
}
report() {  # name url [token]
  local auth=(-H "Authorization: Bearer ${3:-$tok}")
  curl -s -o /dev/null "${auth[@]}" "$2"  # warm
  local t
  t=$(time_of "$2")
  printf '%-28s median %7s ms  max %7s ms  (%s runs, %s bytes)\n' "$1" \
    "$(printf '%s\n' "$t" | awk -v n="$runs" 'NR == int((n + 1) / 2)')" \
    "$(printf '%s\n' "$t" | tail -1)" "$runs" \
    "$(curl -s "${auth[@]}" "$2" | wc -c)"
}
enc="${best/\//%2F}"
report "household status" "$base/v1/streams/$enc/status" "$admin"
report "household history" "$base/v1/streams/$enc/events" "$admin"
report "caseload lille (50 rows)" "$base/v1/caseload"
report "caseload lille (500 rows)" "$base/v1/caseload?limit=500"
report "caseload lille needsAction" "$base/v1/caseload?needsAction=true"
report "schema" "$base/v1/schema"
