#!/usr/bin/env bash
# How much of a random split's test error comes from test rows that are copies of training rows:
# the default ADMM and a tuned Adam (batch 128, learning rate chosen on the validation rows from
# the grid of radmm compare, early stopping) per data set and seed, test MSE on all test rows, on
# the copies and on the unseen rows (radmm split marks them). docs/tuning.md, "Duplicate rows".
# Usage: bench/leak.sh [OUT_DIR] [seeds] [split]   defaults: runs/leak "11 12 13" random (about 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
out=${1:-runs/leak} seeds=${2:-"11 12 13"} split=${3:-random}
mkdir -p "$out"
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
echo "data,method,seed,test_rows,copies,mse_all,mse_copies,mse_unseen" > "$out/leak.csv"
for data in red white; do for seed in $seeds; do
  $bin split --data "builtin:wine-$data" --seed "$seed" --split "$split" > "$runs/split.csv"
  for label in admm adam; do
    common=(--data "builtin:wine-$data" --seed "$seed" --split "$split" --workers 0 --quiet)
    if [ "$label" = admm ]; then
      $bin train "${common[@]}" --out "$runs/$label" > /dev/null
    else  # the learning rate with the lowest validation MSE
      best=""
      for lr in 1e-4 3e-4 1e-3 3e-3 1e-2; do
        $bin train "${common[@]}" --method adam --batch-size 128 --iterations 300 --learning-rate "$lr" \
          --out "$runs/adam-$lr" > /dev/null
        v=$(grep -o '"val_mse": [-0-9.e+]*' "$runs/adam-$lr/summary.json" | awk '{print $2}')
        if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$v; rm -rf "$runs/adam"; cp -r "$runs/adam-$lr" "$runs/adam"; fi
        rm -rf "${runs:?}/adam-$lr"
      done
    fi
    $bin predict --model "$runs/$label/model.bin" --data "data/winequality-$data.csv" --out "$runs/pred.csv" > /dev/null
    # Row r of split.csv (after its header) and of pred.csv describe the same data row.
    paste -d, "$runs/split.csv" "$runs/pred.csv" | awk -F, -v pre="$data,$label,$seed" '
      NR > 1 && $2 == "test" {e = ($4 - $5)^2; n++; s += e; if ($3 == 1) {nc++; sc += e} else {nu++; su += e}}
      END {printf "%s,%d,%d,%.4f,%s,%.4f\n", pre, n, nc, s / n, nc ? sprintf("%.4f", sc / nc) : "", su / nu}' \
      | tee -a "$out/leak.csv"
    rm -rf "${runs:?}/$label"
  done
done; done
{
  echo "Test MSE on a $split 80/20 split (seeds $seeds): all test rows, the rows that are copies of a"
  echo "training row, the unseen rows. Command: bench/leak.sh $out \"$seeds\" $split"
  echo
  echo "| data | method | copies in the test set | all | copies | unseen |"
  echo "|---|---|---|---|---|---|"
  awk -F, 'NR > 1 {k = $1 "," $2; if (!(k in n)) o[++m] = k; n[k]++; c[k] += $5 / $4; a[k] += $6; d[k] += $7; u[k] += $8}
    END {for (i = 1; i <= m; i++) {k = o[i]; split(k, p, ",");
      printf "| %s | %s | %.0f%% | %.3f | %s | %.3f |\n", p[1], p[2], 100 * c[k] / n[k], a[k] / n[k],
        c[k] ? sprintf("%.3f", d[k] / n[k]) : "-", u[k] / n[k]}}' "$out/leak.csv"
} | tee "$out/leak.md"
