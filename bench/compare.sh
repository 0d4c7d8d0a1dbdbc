#!/usr/bin/env bash
# ADMM against its family and backprop on the same network, data, split and initial weights:
# test MSE (quality points squared) and wall time per method, data set and seed, then the means.
# Usage: bench/compare.sh [depth] [width]   (defaults 5 32; about a minute on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./build/radmm
depth=${1:-5} width=${2:-32}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
methods=("admm" "bcd" "adam --batch-size 32" "gd --batch-size 32")
echo "data,method,seed,test_mse,train_mse,elapsed_s"
for data in red white; do for m in "${methods[@]}"; do for seed in 1 2 3; do
  # shellcheck disable=SC2086
  $bin train --data builtin:wine-$data --depth "$depth" --width "$width" --iterations 100 --workers 0 \
    --seed "$seed" --method $m --quiet --eval-every 0 --out "$tmp/run" >/dev/null
  get() { grep -o "\"$1\": [-0-9.e+]*" "$tmp/run/summary.json" | head -1 | awk '{print $2}'; }
  echo "$data,${m%% *},$seed,$(get test_mse),$(get train_mse),$(get elapsed_s)"
done; done; done | tee "$tmp/all.csv"
echo
echo "# means over seeds 1-3 (depth $depth, width $width, 100 iterations or epochs, head refit on)"
awk -F, '{k=$1","$2; t[k]+=$4; s[k]+=$6; n[k]++} END {for (k in t) printf "%s,%.4f,%.2f\n", k, t[k]/n[k], s[k]/n[k]}' \
  "$tmp/all.csv" | sort
