#!/usr/bin/env bash
# The relais demo, from a fresh Debian 12 machine (as root) to answers:
#
#   1. installs the missing packages (scripts/install-deps.sh) and builds;
#   2. generates the seeded synthetic Nord data set (`relais generate --seed 42`:
#      several years of access and maintien households, dwellings, territories);
#   3. imports it into a fresh data directory ($RELAIS_DEMO_DIR, default
#      ./relais-demo at the repository root);
#   4. shows a household's status and history, a dwelling's status (its tenancy
#      history) and verifies the hash chain.
#
# Headers go to stderr, the JSON answers to stdout.
set -euo pipefail

start_dir="$PWD"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

step() { printf '\n==> %s\n' "$*" >&2; }
# The seed, the years simulated and the report date that the data covers.
source scripts/demo-params.sh

data_dir="${RELAIS_DEMO_DIR:-$repo/relais-demo}"
[[ "$data_dir" == /* ]] || data_dir="$start_dir/$data_dir"
ndjson=/tmp/relais-demo.ndjson
refusals=/tmp/relais-demo.refusals.ndjson

step "Installing missing packages"
bash scripts/install-deps.sh

step "Building (scripts/build.sh)"
bash scripts/build.sh
relais="$repo/build/tools/relais"

gen_args=(--seed "$DEMO_SEED" --start-year "$DEMO_START_YEAR" --years "$DEMO_YEARS")
step "Generating the synthetic data set ($DEMO_START_YEAR to $DEMO_LAST_YEAR): relais generate ${gen_args[*]} --out $ndjson"
"$relais" generate "${gen_args[@]}" --out "$ndjson"

step "Fresh data directory: $data_dir"
# Never remove a directory that is not a relais data directory.
if [[ -e "$data_dir" ]]; then
  if [[ -d "$data_dir" && ( -f "$data_dir/log/CURRENT" || -z "$(ls -A "$data_dir")" ) ]]; then
    rm -rf -- "$data_dir"
  else
    echo "demo: $data_dir exists and is not a relais data directory; set RELAIS_DEMO_DIR" >&2
    exit 1
  fi
fi
mkdir -p "$data_dir"

step "Importing: relais --data $data_dir import $ndjson"
rc=0
"$relais" --data "$data_dir" import "$ndjson" 2>"$refusals" || rc=$?
case "$rc" in
  0) echo "every line accepted" >&2 ;;
  3)
    # Some lines refused: reported, the demo goes on with what was accepted.
    echo "$(grep -c '"code"' "$refusals" || true) line(s) refused; the first ones ($refusals):" >&2
    head -n 5 "$refusals" >&2
    ;;
  *)
    cat "$refusals" >&2
    echo "demo: import failed (exit $rc)" >&2
    exit "$rc"
    ;;
esac

# A household and a dwelling that exist: the subjects of the first registrations
# in the generated file.
household=$(grep -o '"type":"HouseholdRegistered","subject":"household/[A-Za-z0-9_-]*"' "$ndjson" |
  head -n 1 | sed 's/.*"household\/\([A-Za-z0-9_-]*\)"$/\1/' || true)
dwelling=$(grep -o '"type":"DwellingRegistered","subject":"dwelling/[A-Za-z0-9_-]*"' "$ndjson" |
  head -n 1 | sed 's/.*"dwelling\/\([A-Za-z0-9_-]*\)"$/\1/' || true)
if [[ -z "$household" || -z "$dwelling" ]]; then
  echo "demo: no HouseholdRegistered or DwellingRegistered line found in $ndjson" >&2
  exit 1
fi

step "Status of household/$household: relais status household/$household --pretty"
"$relais" --data "$data_dir" status "household/$household" --pretty

step "History of household/$household (first 60 lines): relais history household/$household --pretty"
# Through a file: `relais history | head` would end relais with SIGPIPE.
history_file=$(mktemp)
trap 'rm -f "$history_file"' EXIT
"$relais" --data "$data_dir" history "household/$household" --pretty >"$history_file"
head -n 60 "$history_file"
echo "... ($(wc -l <"$history_file") lines in all)" >&2

step "Status of dwelling/$dwelling, with its tenancy history: relais status dwelling/$dwelling --pretty"
"$relais" --data "$data_dir" status "dwelling/$dwelling" --pretty

# The data set ends before today: report as of its last day (a report as of
# today would count nothing in its 12 months).
as_of="$DEMO_REPORT_DATE"
step "Evaluation report as of $as_of (CSV, first columns): relais report --as-of $as_of --format csv"
"$relais" --data "$data_dir" report --as-of "$as_of" --format csv | cut -d, -f1-4,17-22
html="${TMPDIR:-/tmp}/relais-demo-report.html"
"$relais" --data "$data_dir" report --as-of "$as_of" --format html > "$html"
echo "the same report as a printable page with charts: $html" >&2

step "Verifying the hash chain and the indexes: relais verify"
"$relais" --data "$data_dir" verify

step "Done. The demo data covers $DEMO_START_YEAR-01-01 to $DEMO_REPORT_DATE. Try more with:
  $relais --data $data_dir report --as-of $DEMO_REPORT_DATE --format md
  $relais --data $data_dir report --series --from $DEMO_START_YEAR-01-31 --to $DEMO_REPORT_DATE --step month
  $relais --data $data_dir status|history SUBJECT [--as-of YYYY-MM-DD] [--known-at TIME]
(a report without --as-of is as of today, after the data: its period holds no event)"
