#!/usr/bin/env bash
# ADMM against a tuned Adam and two reference lines on an IDX data set, all on the same split:
# the official test files are read only for the final figures, and every choice (Adam's learning
# rate and epoch, ADMM's stopping iteration, the ridge weight of the reference lines) is made on
# the same validation rows (the config's --validation-fraction of the training rows).
# Usage: bench/classification.sh CONFIG [OUT_DIR] [extra train options]
#   CONFIG: an ADMM config (configs/fashion-admm-d2.ini); OUT_DIR defaults to runs/cls-<config>.
#   RADMM_ADAM_LRS (default "3e-4 1e-3 3e-3"), RADMM_ADAM_EPOCHS (default 30, with --patience 5),
#   RADMM_METHODS (default "admm random-features linear adam": a subset reruns only those; the
#   table shows every method whose folder OUT_DIR/<method> holds a finished run).
# Prints a markdown table (also OUT_DIR/table.md) and the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
cfg=${1:?usage: bench/classification.sh CONFIG [OUT_DIR] [train options]}
out=${2:-runs/cls-$(basename "$cfg" .ini)}
shift $(($# >= 2 ? 2 : 1))
lrs=${RADMM_ADAM_LRS:-"3e-4 1e-3 3e-3"} epochs=${RADMM_ADAM_EPOCHS:-30}
methods=" ${RADMM_METHODS:-admm random-features linear adam} "
want() { [[ "$methods" == *" $1 "* ]]; }
mkdir -p "$out"

# field FILE KEY: a number from summary.json's classification object (or the top level).
field() { grep -o "\"$2\": [-0-9.e+]*" "$1/summary.json" | head -1 | awk '{print $2}'; }
lower() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }
declare -A choice
run() {  # run NAME [train options]: one radmm train into OUT_DIR/NAME, its wall seconds kept
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$bin" train --config "$cfg" "$@" --out "$out/$name.tmp" --quiet > "$out/$name.log" 2>&1 ||
    { echo "radmm train failed for $name: see $out/$name.log" >&2; exit 1; }
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f\n", b - a}' > "$out/$name.tmp/wall_s"
  rm -rf "${out:?}/$name"; mv "$out/$name.tmp" "$out/$name"
}
# best NAME GRID_KEY "VALUES" [train options]: one run per value, the lowest validation loss kept.
best() {
  local name=$1 key=$2 values=$3; shift 3
  local bestv="" v
  for x in $values; do
    run "$name-$x" "$@" "--$key" "$x"
    v=$(field "$out/$name-$x" val_loss)
    if [ -z "$bestv" ] || lower "$v" "$bestv"; then bestv=$v; choice[$name]="$key $x"; rm -rf "${out:?}/$name"; mv "$out/$name-$x" "$out/$name"
    else rm -rf "${out:?}/$name-$x"; fi
  done
}

want admm && run admm "$@"
# Random features: the same network and initial weights, only the ridge head (lambda on validation).
want random-features && best random-features lambda "1 10 100" --iterations 0 --workers 0 "$@"
# A linear classifier: ridge of the one-hot labels on the pixels (an identity layer as wide as the input).
d0=$(grep -o '"features": [0-9]*' "$out"/*/summary.json 2>/dev/null | head -1 | awk '{print $2}')
want linear && best linear lambda "1 10 100" --iterations 0 --workers 0 --depth 2 --width "${d0:-784}" --activation identity "$@"
# Adam, softmax cross-entropy, mini-batch 128: learning rate and epoch (early stopping) on validation.
want adam && best adam learning-rate "$lrs" --method adam --loss softmax --precision double --batch-size 128 --iterations "$epochs" \
  --eval-every 1 --patience 5 --workers 0 "$@"

{
  echo "| method | test accuracy | validation accuracy | train accuracy | chosen on validation | selected iteration / epoch | seconds |"
  echo "|---|---|---|---|---|---|---|"
  for m in admm random-features linear adam; do
    [ -f "$out/$m/summary.json" ] || continue
    sel=$(field "$out/$m" selected_iteration); its=$(field "$out/$m" iterations)
    printf "| %s | %.4f | %.4f | %.4f | %s | %s of %s | %s |\n" "$m" "$(field "$out/$m" test_accuracy)" \
      "$(field "$out/$m" val_accuracy)" "$(field "$out/$m" train_accuracy)" "${choice[$m]:--}" \
      "$([ "${sel:-0}" = 0 ] && echo "$its" || echo "$sel")" "$its" "$(cat "$out/$m/wall_s")"
  done
  echo
  echo "Reproduce: \`bench/classification.sh $cfg $out${*:+ $*}\` (Adam learning rates: $lrs; at most $epochs epochs)"
} | tee "$out/table.md"
