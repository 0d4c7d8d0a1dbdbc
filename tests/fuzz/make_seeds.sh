#!/usr/bin/env bash
# Seeds for the fuzzers: real CSV lines, the shipped configs, a real model.bin and a real checkpoint (written by a
# tiny training run), so the fuzzers start from valid structure. Usage: make_seeds.sh RADMM OUTDIR
set -euo pipefail
radmm=$1 out=$2
mkdir -p "$out/csv" "$out/bin" "$out/ini"
cp "$(dirname "$0")"/../../configs/*.ini "$out/ini/"
head -20 "$(dirname "$0")/../../data/winequality-red.csv" > "$out/csv/red.csv"
printf 'a,b\n1,2\n' > "$out/csv/comma.csv"
tmp=$(mktemp -d)
"$radmm" train --depth 3 --width 2 --iterations 2 --checkpoint-every 2 --workers 0 --test-fraction 0.99 \
  --quiet --out "$tmp" >/dev/null
cp "$tmp/model.bin" "$out/bin/model.bin"
cp "$tmp"/checkpoints/*.bin "$out/bin/"
rm -rf "$tmp"
