#!/usr/bin/env bash
# The ADMM defaults chosen on validation rows: a grid over the knobs that moved white wine in
# docs/tuning.md, each point run by `radmm compare --methods admm` on the tuning seeds 1,2,3
# (never the reporting seeds 11,12,13). Prints one CSV row per point, mean validation MSE first
# (the choice is made on it), test MSE beside it for the record.
# Usage: bench/tune-validation.sh [OUT_CSV] [data] [depth]   (defaults: runs/tune-validation.csv white 5)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
out=${1:-runs/tune-validation.csv} data=${2:-white} depth=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
echo "gamma_rho,inner_passes,lambda,beta,reproject_every,iterations,val_mse,test_mse,train_mse,seconds" > "$out"
for gr in 1 0.3; do for m in 1 3; do for lambda in 10 1; do for beta in 1.05 3; do for rp in 3 10; do for its in 100 300; do
  "$bin" compare --methods admm --seeds 1,2,3 --data "builtin:wine-$data" --depth "$depth" --compare-out "$tmp" \
    --gamma "$gr" --rho "$gr" --inner-passes "$m" --lambda "$lambda" --beta "$beta" --reproject-every "$rp" \
    --iterations "$its" >/dev/null 2>&1
  awk -F, -v p="$gr,$m,$lambda,$beta,$rp,$its" 'NR > 1 { v += $9; t += $10; tr += $8; s += $11; k++ }
    END { printf "%s,%.4f,%.4f,%.4f,%.2f\n", p, v / k, t / k, tr / k, s / k }' "$tmp/compare.csv" | tee -a "$out"
done; done; done; done; done; done
echo "# best by validation MSE:"; sort -t, -k7 -g "$out" | sed -n 2,6p
