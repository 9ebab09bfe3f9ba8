#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs
# each for a while (default 60 s; RELAIS_FUZZ_SECONDS overrides), starting
# from the contract's worked example as a seed corpus. A crash leaves its input
# in build-fuzz/ and fails the script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
command -v clang++ >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-rt-14-dev
if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRELAIS_FUZZ=ON -DRELAIS_BUILD_BENCH=OFF -DRELAIS_BUILD_TESTS=ON
fi
cmake --build build-fuzz -j2 --target request_fuzz stored_event_fuzz http_fuzz
seconds=${RELAIS_FUZZ_SECONDS:-60}
corpus=build-fuzz/corpus-request
mkdir -p "$corpus" build-fuzz/corpus-stored
# Seeds: every line of the worked example.
i=0
while IFS= read -r line; do
  printf '%s' "$line" > "$corpus/example-$i.json"
  i=$((i + 1))
done < tests/data/examples/journey.ndjson
cd build-fuzz
ASAN_OPTIONS=detect_leaks=0 ./tests/request_fuzz -max_total_time="$seconds" -max_len=4096 corpus-request
ASAN_OPTIONS=detect_leaks=0 ./tests/stored_event_fuzz -max_total_time="$seconds" -max_len=4096 corpus-stored
# The HTTP handler: raw requests, seeded from the committed corpus (copied so
# that the run's finds stay in build-fuzz/).
mkdir -p corpus-http
cp ../tests/fuzz/corpus/http/* corpus-http/
ASAN_OPTIONS=detect_leaks=0 ./tests/http_fuzz -max_total_time="$seconds" -max_len=8192 corpus-http
