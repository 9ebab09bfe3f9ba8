#!/usr/bin/env bash
# Measures erasing one household on a large log, the key's physical removal
# included (issue 10: <= 1 s on 1,000,000 events): `relais erase` as an
# operator runs it (a cold process: open, append + sync, key destruction,
# close), and the median of RUNS households.
# Usage: bench/erase.sh DATA_DIR [RUNS]   (default 5)
# DATA_DIR is modified (households get erased): give it a copy, e.g.
#   cp -a /work/big/d1m /work/big/d1m-erase && bench/erase.sh /work/big/d1m-erase
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=${1:?usage: bench/erase.sh DATA_DIR [RUNS]}
runs=${2:-5}
relais=build/tools/relais
# Households not erased yet: H-000001 upwards (the generator's names).
times=()
n=0
h=0
while [ "$n" -lt "$runs" ]; do
  h=$((h + 1))
  subject=$(printf 'household/H-%06d' "$h")
  if "$relais" --data "$data" erasures | grep -q "\"$subject\""; then continue; fi
  start=$(date +%s.%N)
  if ! "$relais" --data "$data" erase "$subject" --reason subject_request >/dev/null 2>"$data.erase.err"; then
    continue  # not registered (a gap in the names): the next one
  fi
  end=$(date +%s.%N)
  ms=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  echo "erase $subject: $ms ms"
  times+=("$ms")
  n=$((n + 1))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median of $runs: $median ms (load: $(cut -d' ' -f1-3 /proc/loadavg))"
"$relais" --data "$data" verify | head -c 300; echo
