#!/usr/bin/env bash
# The crash test's long mode, by hand (ctest runs the short one: crash_short).
#
#   scripts/crashtest.sh --iterations 1000            a new random seed
#   scripts/crashtest.sh --seed 42 --iterations 1000  reproduce a run
#   scripts/crashtest.sh --mode http --keep-going     count failures, do not stop
#
# Builds only the targets it needs in build/ (RelWithDebInfo), then runs
# build/tests/relais_crash with the arguments given (its --help-less usage is
# in tests/crash/crash_driver.cc). A progress line per iteration goes to
# stderr, a JSON summary to stdout; exit 0 when every check passed, 1 when one
# failed (the seed, iteration and check are printed, the data directory kept).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${RELAIS_JOBS:-2}"
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build -j"$jobs" --target relais crash_writer relais_crash >&2

args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then
  args=(--iterations 1000)
fi
exec build/tests/relais_crash "${args[@]}"
