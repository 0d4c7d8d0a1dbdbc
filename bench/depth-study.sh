#!/usr/bin/env bash
# The depth study (docs/depth.md): ADMM (default settings) against Adam and GD with the learning
# rate chosen on validation per depth, both initialisations (--init scaled | plain), depths 5 to
# 200, width 32, white and red wine, reporting seeds 11,12,13; ridge and the untrained network as
# reference lines. One `radmm compare` per data set, both at once (one core each).
# Usage: bench/depth-study.sh [OUT_DIR] [seeds] [datasets]
#   defaults: runs/depth-study 11,12,13 "builtin:wine-white builtin:wine-red"
# Sized for 2 cores within an hour: ADMM --iterations 50, Adam / GD at most 25 epochs of
# mini-batch 128 over three learning rates each. Measured: red 18.5 min, white 17.4 min of wall
# time, one core each, on a machine shared with other builds (docs/depth.md).
# Writes OUT_DIR/<data>/compare.{csv,md}, <data>-depth.svg (test MSE and seconds against depth)
# and the per-depth validation plots.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
out=${1:-runs/depth-study} seeds=${2:-11,12,13} datasets=${3:-"builtin:wine-white builtin:wine-red"}
mkdir -p "$out"
pids=()
for data in $datasets; do
  name=${data#builtin:}
  "$bin" compare --datasets "$data" --depths 5,20,50,100,200 --width 32 --seeds "$seeds" --inits scaled,plain \
    --methods admm,adam,gd,ridge,untrained --iterations 50 --epochs 25 \
    --adam-lrs 3e-4,1e-3,3e-3 --gd-lrs 1e-3,1e-2,1e-1 --compare-out "$out/$name" \
    > "$out/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
[ "$status" = 0 ] || { echo "a compare failed (exit $status); see $out/*.log" >&2; exit "$status"; }
echo "wrote $out/<data>/compare.md and <data>-depth.svg"
