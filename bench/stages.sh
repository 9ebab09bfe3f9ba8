#!/usr/bin/env bash
# CPU per event of each stage of the write path (bench/stages_bench.cc), medians
# of 3 repetitions, on the generated data set (seed 42; RELAIS_STAGES_EVENTS
# events, default 100,000). Builds stages_bench in build-release/ (Release, as
# bench/run.sh) unless RELAIS_STAGES_BUILD names another build directory.
#
#   bench/stages.sh [extra Google Benchmark flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${RELAIS_STAGES_BUILD:-build-release}
if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRELAIS_BUILD_TESTS=OFF
fi
cmake --build "$dir" -j2 --target stages_bench
exec "$dir/bench/stages_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_counters_tabular=true "$@"
