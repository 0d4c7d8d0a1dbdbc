#!/usr/bin/env bash
# ADMM's family (variants, schedules, BCD) on the same network, data, split and initial weights:
# test MSE (quality points squared) and wall time per data set, depth, method and seed, then the
# means as a Markdown table and one convergence plot per data set and depth (seed 1, radmm plot).
# Its adam / gd columns run fixed settings with no validation: for a fair comparison with backprop
# (learning rate and stopping chosen on validation rows) use `radmm compare` (docs/compare/).
# Usage: bench/compare.sh [OUT_DIR] [depths] [width] [seeds] [iterations] [methods] [split]
#   defaults: runs/compare "5 20" 32 "1 2 3" 100 all grouped   (about 90 minutes on 2 cores;
#   admm-inner alone is 60 of them; methods "fast" = all but admm-inner)
# Writes OUT_DIR/compare.csv, OUT_DIR/compare.md and OUT_DIR/<data>-d<depth>.svg. With a list of
# methods (labels below) only those run: their rows replace theirs in an existing compare.csv, the
# table is redrawn from the whole file, and the plots are left alone. split: grouped | random
# (radmm train --split). Methods "none" only redraws the table from OUT_DIR/compare.csv (after
# appending rows measured elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
out=${1:-runs/compare} depths=${2:-"5 20"} width=${3:-32} seeds=${4:-"1 2 3"} iters=${5:-100} only=${6:-all} split=${7:-grouped}
mkdir -p "$out"
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
# label|train options (every run in-process, so the wall times compare like for like); "xK" in
# front of the options runs that method for K times the common iteration count.
methods=(
  "admm|"
  "admm-inner|x3 --inner-passes 30"
  "admm-sweep|--schedule sweep --reproject-every 1"
  "admm-ts3-linearized|--update linearized"
  "admm-ts2|--splitting ts2"
  "admm-ts2-linearized|--splitting ts2 --update linearized"
  "bcd|--method bcd"
  "adam|--method adam --batch-size 32"
  "gd|--method gd --batch-size 32"
)
labels=$(printf '%s\n' "${methods[@]}" | cut -d'|' -f1 | tr '\n' ' ')
selected() { [ "$only" = all ] || { [ "$only" = fast ] && [ "$1" != admm-inner ]; } || [[ " $only " == *" $1 "* ]]; }
for l in $only; do [ "$l" = all ] || [ "$l" = fast ] || [ "$l" = none ] || [[ " $labels " == *" $l "* ]] || { echo "unknown method '$l' (one of: $labels)" >&2; exit 64; }; done
if [ "$only" != all ] && [ -f "$out/compare.csv" ]; then  # keep the other methods' rows
  awk -F, -v only=" $only " 'NR == 1 || (only == " fast " ? $3 == "admm-inner" : index(only, " " $3 " ") == 0)' \
    "$out/compare.csv" > "$runs/kept.csv"
  mv "$runs/kept.csv" "$out/compare.csv"
else
  echo "data,depth,method,seed,test_mse,train_mse,elapsed_s" > "$out/compare.csv"
fi
for data in red white; do for depth in $depths; do
  plots=()
  for m in "${methods[@]}"; do label=${m%%|*} opts=${m#*|}; selected "$label" || continue
    its=$iters; if [[ "$opts" == x* ]]; then times=${opts%% *}; its=$((iters * ${times#x})); opts=${opts#"$times"}; fi
    for seed in $seeds; do
    dir="$runs/$data-$depth-$label-$seed"
    status=0
    # shellcheck disable=SC2086
    $bin train --data "builtin:wine-$data" --depth "$depth" --width "$width" --iterations "$its" --workers 0 \
      --seed "$seed" --split "$split" --quiet --eval-every 1 --out "$dir" $opts >/dev/null 2>"$runs/err" || status=$?
    if [ "$status" = 3 ]; then  # diverged (exit 3): recorded, not averaged
      echo "$data,$depth,$label,$seed,diverged,diverged," | tee -a "$out/compare.csv"
      continue
    elif [ "$status" != 0 ]; then
      cat "$runs/err" >&2; exit "$status"
    fi
    get() { grep -o "\"$1\": [-0-9.e+]*" "$dir/summary.json" | head -1 | awk '{print $2}'; }
    echo "$data,$depth,$label,$seed,$(get test_mse),$(get train_mse),$(get elapsed_s)" | tee -a "$out/compare.csv"
    if [ "$seed" = "${seeds%% *}" ]; then plots+=("$dir"); fi
  done; done
  if [ "$only" = all ] || [ "$only" = fast ]; then $bin plot --out "$out/$data-d$depth.svg" "${plots[@]}" >/dev/null; fi
done; done
{
  echo "Mean over seeds ($seeds) of the test MSE (quality points squared) and the wall time in seconds;"
  echo "width $width, $iters iterations (epochs for adam / gd; admm-inner: $((3 * iters)) iterations of 30 inner passes),"
  echo "$split 80/20 split, in-process, head refit on for every method;"
  echo "a diverged run (exit 3) is counted, not averaged."
  if [ "$only" = none ]; then
    echo "Command: bench/compare.sh $out \"$depths\" $width \"$seeds\" $iters all $split (table redrawn from"
    echo "compare.csv, whose methods were run by separate invocations)"
  else
    echo "Command: bench/compare.sh $out \"$depths\" $width \"$seeds\" $iters \"$only\" $split"
  fi
  echo
  awk -F, -v depths="$depths" 'NR > 1 {c = $1 " d" $2 "," $3; if ($5 == "diverged") {dv[c]++; next} t[c] += $5; s[c] += $7; n[c]++}
    END {
      no = split("admm admm-inner admm-sweep admm-ts3-linearized admm-ts2 admm-ts2-linearized bcd adam gd", order, " ");
      nd = split(depths, ds, " ");
      printf "| data, depth |"; for (i = 1; i <= no; i++) printf " %s |", order[i]; printf "\n|---|";
      for (i = 1; i <= no; i++) printf "---|"; printf "\n";
      split("red white", data, " ");
      for (a = 1; a <= 2; a++) for (j = 1; j <= nd; j++) { k = data[a] " d" ds[j]; printf "| %s |", k;
        for (i = 1; i <= no; i++) { c = k "," order[i];
          if (n[c]) printf " %.3f (%.1f s)%s |", t[c] / n[c], s[c] / n[c], dv[c] ? ", " dv[c] " diverged" : "";
          else printf " %s |", dv[c] ? "diverged" : "-" }
        printf "\n" } }' "$out/compare.csv"
} | tee "$out/compare.md"
