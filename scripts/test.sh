#!/usr/bin/env bash
# The whole test suite: what CI runs (via .ci/run).
#
#   1. installs the missing packages, builds build/ (RelWithDebInfo) and runs
#      ctest there;
#   2. builds build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer) and
#      runs the same tests again;
#   3. fuzzes: scripts/fuzz.sh runs every libFuzzer target for
#      RELAIS_FUZZ_SECONDS each, here 30 unless set (fuzz.sh alone: 60),
#      under ASan + UBSan (clang);
#   4. builds build-tsan/ (ThreadSanitizer) with only the concurrency tests
#      (scripts/build.sh tsan) and runs them; any report fails.
#
# Why each: the optimised build is what ships, and some bugs only show under
# optimisation (or under the timing it gives the writer thread); the sanitized
# build turns silent memory errors (a Cap'n Proto reader outliving its buffer,
# a use-after-free in the stream cache, a leak) and undefined behaviour
# (overflow in date or money arithmetic) into test failures with a stack trace;
# fuzzing feeds the decoders what no test thought of (hostile requests, damaged
# stored bytes); TSan sees data races that pass every other run.
#
# RELAIS_SKIP_ASAN=1, RELAIS_SKIP_FUZZ=1, RELAIS_SKIP_TSAN=1 skip a step for a
# quick local run. Exits non-zero on any failure. Prints the time of each step
# at the end (CI must stay under 30 minutes on 2 cores: docs/testing.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

timings=()
step_start=$SECONDS
step_name=""
step() {
  end_step
  step_name="$*"
  step_start=$SECONDS
  printf '\n==> %s\n' "$*" >&2
}
end_step() {
  [[ -n "$step_name" ]] && timings+=("$(printf '%5ds  %s' $((SECONDS - step_start)) "$step_name")")
  step_name=""
}
summary() {
  end_step
  printf '\n==> Time per step (total %ds)\n' "$SECONDS" >&2
  printf '%s\n' "${timings[@]}" >&2
}
trap summary EXIT

step "Installing missing packages"
bash scripts/install-deps.sh

step "Building build/ (RelWithDebInfo)"
bash scripts/build.sh

step "Testing build/"
ctest --test-dir build --output-on-failure -j2

if [[ "${RELAIS_SKIP_ASAN:-0}" == "1" ]]; then
  echo "RELAIS_SKIP_ASAN=1: sanitized build skipped" >&2
else
  step "Building build-asan/ (ASan + UBSan)"
  bash scripts/build.sh asan

  step "Testing build-asan/"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2
fi

if [[ "${RELAIS_SKIP_FUZZ:-0}" == "1" ]]; then
  echo "RELAIS_SKIP_FUZZ=1: fuzzing skipped" >&2
else
  # 30 s a target in CI: each starts from its committed, minimised corpus, so
  # the first seconds replay what earlier runs found and the rest explores;
  # the CI budget (docs/testing.md "CI time") has no room for 4 x 60 s. Long
  # runs are by hand (RELAIS_FUZZ_SECONDS=600 scripts/fuzz.sh <target>).
  export RELAIS_FUZZ_SECONDS="${RELAIS_FUZZ_SECONDS:-30}"
  step "Fuzzing (scripts/fuzz.sh, ${RELAIS_FUZZ_SECONDS}s per target)"
  bash scripts/fuzz.sh
fi

if [[ "${RELAIS_SKIP_TSAN:-0}" == "1" ]]; then
  echo "RELAIS_SKIP_TSAN=1: ThreadSanitizer build skipped" >&2
else
  step "Building build-tsan/ (ThreadSanitizer, concurrency tests)"
  bash scripts/build.sh tsan

  step "Testing build-tsan/"
  bash scripts/tsan.sh
fi
