#!/usr/bin/env bash
# The whole test suite: what CI runs (via .ci/run).
#
#   1. installs the missing packages, builds build/ (RelWithDebInfo) and runs
#      ctest there;
#   2. builds build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer) and
#      runs the same tests again.
#
# Why both: the optimised build is what ships, and some bugs only show under
# optimisation (or under the timing it gives the writer thread); the sanitized
# build turns silent memory errors (a Cap'n Proto reader outliving its buffer,
# a use-after-free in the stream cache, a leak) and undefined behaviour
# (overflow in date or money arithmetic) into test failures with a stack trace.
#
# RELAIS_SKIP_ASAN=1 skips step 2 for a quick local run. Exits non-zero on any
# failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Installing missing packages"
bash scripts/install-deps.sh

step "Building build/ (RelWithDebInfo)"
bash scripts/build.sh

step "Testing build/"
ctest --test-dir build --output-on-failure -j2

if [[ "${RELAIS_SKIP_ASAN:-0}" == "1" ]]; then
  step "RELAIS_SKIP_ASAN=1: sanitized build skipped"
  exit 0
fi

step "Building build-asan/ (ASan + UBSan)"
bash scripts/build.sh asan

step "Testing build-asan/"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2
