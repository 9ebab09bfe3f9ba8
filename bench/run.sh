#!/usr/bin/env bash
# Builds relais_bench in Release (build-release/) and runs the standard set:
# W1-W5 (and W6 once the server exists) on 1,000,000 events, medians of 3 runs,
# each workload against the raw RocksDB baseline in the same run.
#
#   bench/run.sh            # the standard set
#   bench/run.sh --quick    # ~100,000 events, one run: same shape, under two minutes
#
# Writes the markdown table to stdout and the figures to bench/results.json
# (override with RELAIS_BENCH_JSON). Extra arguments go to relais_bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
if [[ ! -f build-release/build.ninja ]]; then
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DRELAIS_BUILD_TESTS=OFF
fi
# Everything the bench runs: relais_bench itself, and the relais binary W6
# spawns (`relais token add`, `relais serve`) from build-release/tools/.
targets=(relais_bench relais)
cmake --build build-release -j2 --target "${targets[@]}"
for exe in build-release/bench/relais_bench build-release/tools/relais; do
  if [[ ! -x "$exe" ]]; then
    echo "run.sh: $exe is missing after the build (targets: ${targets[*]}); not running the bench" >&2
    exit 1
  fi
done
json=${RELAIS_BENCH_JSON:-bench/results.json}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
RELAIS_BIN="$PWD/build-release/tools/relais" \
  exec build-release/bench/relais_bench --json "$json" --dir "${RELAIS_BENCH_DIR:-/tmp/relais-bench}" "$@"
