#!/usr/bin/env bash
# The defaults sweep of docs/tuning.md: a grid over gamma, rho, lambda, alpha and the head
# refit on red wine (depth 5, width 32, phase schedule in-process), seeds 1-3 (= three
# different 80/20 splits). Prints one CSV row per run, then the grid points ranked by mean
# test MSE. Usage: bench/tune.sh [extra train options] > tune.csv
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./build/radmm
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "gamma,rho,lambda,alpha,refit,seed,test_mse,train_mse,admm_test_mse"
for gamma in 0.3 1 3; do for rho in 0.3 1 3; do for lambda in 1 10 30 100; do for alpha in 0.1 1; do
  for refit in true false; do for seed in 1 2 3; do
    rm -rf "$tmp/run"  # one run per folder: radmm refuses a folder that holds a run
    $bin train --workers 0 --quiet --out "$tmp/run" --depth 5 --width 32 --iterations 100 --seed "$seed" \
      --gamma $gamma --rho $rho --lambda $lambda --alpha $alpha --refit-head $refit "$@" >/dev/null
    s="$tmp/run/summary.json"
    get() { grep -o "\"$1\": [-0-9.e+]*" "$s" | head -1 | awk '{print $2}'; }
    echo "$gamma,$rho,$lambda,$alpha,$refit,$seed,$(get test_mse),$(get train_mse),$(get admm_test_mse)"
  done; done
done; done; done; done | tee "$tmp/all.csv"
echo
echo "# mean over seeds, best first: gamma,rho,lambda,alpha,refit,mean_test_mse,max_test_mse"
awk -F, '{k=$1","$2","$3","$4","$5; s[k]+=$7; n[k]++; if($7>m[k]) m[k]=$7}
  END {for (k in s) printf "%s,%.4f,%.4f\n", k, s[k]/n[k], m[k]}' "$tmp/all.csv" | sort -t, -k6 -g | head -15
