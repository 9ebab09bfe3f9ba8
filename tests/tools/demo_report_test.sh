#!/usr/bin/env bash
# ctest demo_report_test: the report scripts/demo.sh runs and suggests (as of
# DEMO_REPORT_DATE, scripts/demo-params.sh) counts something in every
# territory on the demo's own data set: the first report a newcomer runs is
# not all zeros (issue 13, item 7).
#   demo_report_test.sh RELAIS REPO
set -euo pipefail
relais=${1:?usage: demo_report_test.sh RELAIS REPO}
repo=${2:?usage: demo_report_test.sh RELAIS REPO}
source "$repo/scripts/demo-params.sh"
# An override, to see the test fail on a date the data does not cover.
DEMO_REPORT_DATE=${DEMO_REPORT_DATE_OVERRIDE:-$DEMO_REPORT_DATE}
grep -q '^source scripts/demo-params.sh$' "$repo/scripts/demo.sh" ||
  { echo "FAIL scripts/demo.sh does not take its parameters from demo-params.sh"; exit 1; }
grep -q 'as_of="$DEMO_REPORT_DATE"' "$repo/scripts/demo.sh" ||
  { echo "FAIL scripts/demo.sh does not report as of DEMO_REPORT_DATE"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$relais" generate --seed "$DEMO_SEED" --start-year "$DEMO_START_YEAR" --years "$DEMO_YEARS" \
  --out "$tmp/demo.ndjson" 2>/dev/null
"$relais" --data "$tmp/data" import "$tmp/demo.ndjson" >/dev/null 2>"$tmp/import.err" ||
  { cat "$tmp/import.err"; exit 1; }
"$relais" --data "$tmp/data" report --as-of "$DEMO_REPORT_DATE" --format csv >"$tmp/report.csv"

# Figures of the report's period (not the running totals such as
# householdsRegistered, which count on any date after the data).
fail=0
for column in referralsReceived.access referralsReceived.maintien moveIns arrears.alertsRaised \
              support.closed exits.total; do
  while IFS=, read -r territory value; do
    if [[ "$value" =~ ^[0-9]+$ ]] && ((value > 0)); then
      echo "ok   $DEMO_REPORT_DATE $territory $column = $value"
    else
      echo "FAIL $DEMO_REPORT_DATE $territory $column = '$value'"
      fail=1
    fi
  done < <(awk -F, -v col="$column" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
                                      { print $1 "," (c ? $c : "no such column") }' "$tmp/report.csv")
done
[[ $(wc -l <"$tmp/report.csv") -eq 5 ]] || { echo "FAIL expected all + 3 territories"; fail=1; }
exit $fail
