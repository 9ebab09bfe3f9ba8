#!/usr/bin/env bash
# Builds relais with CMake + Ninja (ccache is used when installed: the top
# CMakeLists.txt sets it as the compiler launcher).
#
#   scripts/build.sh         -> build/       RelWithDebInfo, tests and benchmarks
#   scripts/build.sh asan    -> build-asan/  the same with AddressSanitizer and
#                                            UndefinedBehaviorSanitizer, no benchmarks
#   scripts/build.sh tsan    -> build-tsan/  ThreadSanitizer, only the concurrency
#                                            tests (TSAN_TARGETS) and the relais
#                                            binary the server tests drive
#
# Configures only when the build directory has no build.ninja yet; after that
# Ninja re-runs CMake by itself when a CMakeLists.txt changes. Works from any
# directory. Parallelism: RELAIS_JOBS (default 2).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

variant="${1:-}"
jobs="${RELAIS_JOBS:-2}"
# The tests with threads of their own (writer thread, server, concurrent
# clients); scripts/test.sh runs exactly these in build-tsan/.
TSAN_TARGETS=(engine_test durability_test server_test server_crash_test)
targets=()
case "$variant" in
  "")
    dir=build
    extra=()
    ;;
  asan)
    dir=build-asan
    extra=(-DRELAIS_SANITIZE=ON -DRELAIS_BUILD_BENCH=OFF)
    ;;
  tsan)
    dir=build-tsan
    extra=(-DRELAIS_SANITIZE_THREAD=ON -DRELAIS_BUILD_BENCH=OFF)
    targets=(--target "${TSAN_TARGETS[@]}" relais)
    ;;
  tsan-targets)  # for scripts/test.sh: which binaries the tsan build holds
    echo "${TSAN_TARGETS[*]}"
    exit 0
    ;;
  *)
    echo "usage: scripts/build.sh [asan|tsan]" >&2
    exit 2
    ;;
esac

if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra[@]}"
fi
cmake --build "$dir" -j"$jobs" "${targets[@]}"
