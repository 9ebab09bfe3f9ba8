# The demo's data set, in one place (sourced by scripts/demo.sh and by the
# ctest demo_report_test, which checks that the suggested report counts
# something). `relais generate` simulates whole calendar years from
# DEMO_START_YEAR: the data covers DEMO_START_YEAR-01-01 to
# DEMO_LAST_YEAR-12-31, and a report's period is the 12 months up to its
# date: as of today (after the data) it counts nothing but the households.
DEMO_SEED=42
DEMO_START_YEAR=2019
DEMO_YEARS=4
DEMO_LAST_YEAR=$((DEMO_START_YEAR + DEMO_YEARS - 1))
# The data's last day: its last 12 months, the fullest report.
DEMO_REPORT_DATE="$DEMO_LAST_YEAR-12-31"
