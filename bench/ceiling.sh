#!/usr/bin/env bash
# The machine's parallel ceiling for one configuration: the in-process trainer (one core, no
# handshake, no reduction) timed alone, then P copies of it at once. P copies of independent work
# is the best any P-worker schedule can do here, so P * t_alone / t_together bounds the speedup
# that memory bandwidth, shared caches and the hypervisor leave (docs/benchmarks.md).
# Usage: bench/ceiling.sh [P] [train options]   (default P = 2; e.g. --depth 5 --width 256)
# Run it on a quiet machine: it reports medians over RADMM_REPEATS (default 3) alternations.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
p=2
if [[ ${1:-} =~ ^[0-9]+$ ]]; then p=$1; shift; fi
repeats=${RADMM_REPEATS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# s/iteration of one in-process bench run (its own median over 3 repeats of 5 iterations).
one() {
  local out=$1; shift
  "$bin" bench --worker-list 0 --repeats 3 --bench-out "$out" "$@" > /dev/null
  grep -o '"s_per_iter_median": [0-9.e+-]*' "$out/bench.json" | head -1 | awk '{print $2}'
}
alone=() together=()
for r in $(seq "$repeats"); do
  alone+=("$(one "$tmp/a$r" "$@")")
  for c in $(seq "$p"); do one "$tmp/t$r-$c" "$@" > "$tmp/t$r-$c.s" & done
  wait
  together+=("$(cat "$tmp"/t"$r"-*.s | sort -g | tail -1)")  # the slowest copy sets the pace
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ta=$(median "${alone[@]}") tt=$(median "${together[@]}")
awk -v p="$p" -v a="$ta" -v t="$tt" 'BEGIN {
  printf "in-process s/iteration: alone %.4f, with %d copies at once %.4f (slowest copy)\n", a, p, t
  printf "parallel ceiling for P = %d: %.2fx (P * alone / together)\n", p, p * a / t }'
echo "reproduce: bench/ceiling.sh $p $*"
