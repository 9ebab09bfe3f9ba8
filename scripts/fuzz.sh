#!/usr/bin/env bash
# Runs the libFuzzer targets, each for a bounded time, under ASan + UBSan.
#
#   scripts/fuzz.sh                 every target in FUZZ_TARGETS
#   scripts/fuzz.sh request_fuzz    only those named
#
# Builds them in the sanitized build, build-asan/ (scripts/build.sh asan:
# clang, -DRELAIS_FUZZ=ON), then runs each for
# RELAIS_FUZZ_SECONDS (default 60) starting from its committed corpus,
# tests/fuzz/corpus/<target>/. New inputs go to build-asan/fuzz-work/<target>/,
# never into the source tree; RELAIS_FUZZ_MERGE=1 afterwards folds whatever
# adds coverage back into the committed corpus (-merge=1: minimised), to be
# reviewed and committed by hand.
#
# A crash, sanitizer report, leak, timeout (-timeout, 30 s per input) or
# out-of-memory (-rss_limit_mb) fails the script: its input is saved as
# build-asan/artifacts/<target>/crash-<sha1> (or leak-, timeout-, oom-) and
# printed (base64 by libFuzzer, and a hex dump here). The remaining targets
# still run, so one report shows every failing target. To reproduce:
#   build-asan/tests/<target> build-asan/artifacts/<target>/crash-...
# then keep the input in tests/fuzz/corpus/<target>/ and a test in tests/engine/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One line per target (its source is tests/fuzz/<target>.cc; see tests/CMakeLists.txt).
FUZZ_TARGETS=(
  request_fuzz
  stored_event_fuzz
  record_codec_fuzz
  http_fuzz
)

targets=("$@")
((${#targets[@]})) || targets=("${FUZZ_TARGETS[@]}")
seconds="${RELAIS_FUZZ_SECONDS:-60}"
jobs="${RELAIS_JOBS:-2}"
# Seconds one input may take. Inputs run in well under 10 ms; the margin is for
# a loaded CI machine (a 10 s limit fired once on a healthy input there).
per_input="${RELAIS_FUZZ_TIMEOUT:-30}"

bash scripts/install-deps.sh  # clang and libclang-rt-14-dev among them

bash scripts/build.sh asan "${targets[@]}"

# Leaks are findings too; abort_on_error so that UBSan and ASan reports reach
# libFuzzer as crashes with their input saved.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

failed=()
for t in "${targets[@]}"; do
  corpus="tests/fuzz/corpus/$t"
  work="build-asan/fuzz-work/$t"
  artifacts="build-asan/artifacts/$t"
  if [[ ! -d "$corpus" ]]; then
    echo "fuzz: no corpus folder $corpus for $t" >&2
    exit 2
  fi
  rm -rf "$artifacts"  # only this run's findings are reported
  mkdir -p "$work" "$artifacts"
  printf '\n==> fuzz %s for %ss (corpus %s: %s files)\n' "$t" "$seconds" "$corpus" \
    "$(find "$corpus" -type f | wc -l)" >&2
  # The committed corpus is read, new inputs are written to $work only. A
  # wall-clock guard above libFuzzer's own limit catches a hung process.
  if timeout --kill-after=30 $((seconds + 300)) "build-asan/tests/$t" \
      -max_total_time="$seconds" -max_len=4096 -timeout="$per_input" -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$corpus" \
      > "build-asan/fuzz-$t.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "build-asan/fuzz-$t.log" >&2 || true
    if [[ "${RELAIS_FUZZ_MERGE:-0}" == "1" ]]; then
      "build-asan/tests/$t" -merge=1 -max_len=4096 -timeout=10 "$corpus" "$work" \
        > "build-asan/merge-$t.log" 2>&1
      echo "fuzz: merged into $corpus ($(find "$corpus" -type f | wc -l) files): review, then commit" >&2
    fi
  else
    failed+=("$t")
    echo "fuzz: $t FAILED; the end of build-asan/fuzz-$t.log:" >&2
    grep -v -E '^#[0-9]+' "build-asan/fuzz-$t.log" | tail -60 >&2
    for f in "$artifacts"/*; do
      [[ -f "$f" ]] || continue
      echo "fuzz: input saved as $f ($(stat -c %s "$f") bytes):" >&2
      od -A d -t x1z -v "$f" | head -40 >&2
    done
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: failing targets: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${targets[*]}: no finding in ${seconds}s each" >&2
