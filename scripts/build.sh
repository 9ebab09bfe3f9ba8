#!/usr/bin/env bash
# Builds relais with CMake + Ninja (ccache is used when installed: the top
# CMakeLists.txt sets it as the compiler launcher).
#
#   scripts/build.sh         -> build/       RelWithDebInfo, tests and benchmarks
#   scripts/build.sh asan    -> build-asan/  the same with AddressSanitizer and
#                                            UndefinedBehaviorSanitizer (clang, -O1),
#                                            no benchmarks, and the libFuzzer
#                                            targets scripts/fuzz.sh runs
#   scripts/build.sh asan T.. -> only those targets of build-asan/
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
compilers=()
# The tests with threads of their own (writer thread, server, concurrent
# clients); scripts/test.sh runs exactly these in build-tsan/.
TSAN_TARGETS=(engine_test durability_test server_test server_crash_test access_journal_test)
targets=()
case "$variant" in
  "")
    dir=build
    extra=()
    ;;
  asan)
    # clang, not gcc: measured on this code, clang -O1 with ASan + UBSan
    # compiles a TU in a fifth to a half of gcc -O2's time with the same
    # sanitizers (rules_test.cc 5.9 s against 31 s of CPU, engine.cc 17 s
    # against 37 s), and it is the compiler libFuzzer needs, so one sanitized
    # build serves the tests and the fuzzers (docs/testing.md "CI time").
    dir=build-asan
    compilers=(CC=clang CXX=clang++)
    extra=(-DRELAIS_FUZZ=ON -DRELAIS_BUILD_BENCH=OFF)
    shift || true
    (($#)) && targets=(--target "$@")
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

# A build-asan/ configured by an older script with gcc is configured again:
# CMake cannot change a build directory's compiler in place.
if ((${#compilers[@]})) && [[ -f "$dir/CMakeCache.txt" ]] &&
   ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$dir/CMakeCache.txt"; then
  echo "build.sh: $dir/ was configured with another compiler; configuring it again" >&2
  rm -rf "$dir"
fi
if [[ ! -f "$dir/build.ninja" ]]; then
  env "${compilers[@]}" cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra[@]}"
fi
cmake --build "$dir" -j"$jobs" "${targets[@]}"
