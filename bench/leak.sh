#!/usr/bin/env bash
# How much of a random split's test error comes from test rows that are copies of training rows:
# the default ADMM and Adam (batch 32) per data set and seed, test MSE on all test rows, on the
# copies and on the unseen rows (radmm split marks them). docs/tuning.md, "Duplicate rows".
# Usage: bench/leak.sh [OUT_DIR] [seeds] [split]   defaults: runs/leak "1 2 3" random (about 1 minute)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
out=${1:-runs/leak} seeds=${2:-"1 2 3"} split=${3:-random}
mkdir -p "$out"
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
echo "data,method,seed,test_rows,copies,mse_all,mse_copies,mse_unseen" > "$out/leak.csv"
for data in red white; do for seed in $seeds; do
  $bin split --data "builtin:wine-$data" --seed "$seed" --split "$split" > "$runs/split.csv"
  for m in "admm|" "adam|--method adam --batch-size 32"; do label=${m%%|*} opts=${m#*|}
    # shellcheck disable=SC2086
    $bin train --data "builtin:wine-$data" --seed "$seed" --split "$split" --workers 0 --quiet \
      --out "$runs/$label" $opts > /dev/null
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
