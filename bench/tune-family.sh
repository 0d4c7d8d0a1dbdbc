#!/usr/bin/env bash
# The second defaults sweep (docs/tuning.md, issue 5): schedule x re-projection x lambda x beta x
# alpha on red and white wine, depth 5, width 32, 100 iterations, seeds 1-3, head refit on,
# in-process (SCHEDULES="sweep:1 ..." picks schedule:reproject pairs). One CSV row per run, then the grid points ranked by the mean of red's and white's
# mean test MSE. Usage: bench/tune-family.sh > docs/tune-family.csv   (about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RADMM_BIN:-./build/radmm}
[ -x "$bin" ] || { echo "build first: ./run.sh radmm version" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "schedule,reproject,lambda,beta,alpha,data,seed,test_mse,train_mse"
for sr in ${SCHEDULES:-phase:0 phase:3 sweep:0 sweep:1 sweep:2}; do for lambda in 0.1 1 10; do for beta in 1.05 2; do
  for alpha in 0.01 0.1; do for data in red white; do for seed in 1 2 3; do
    rm -rf "$tmp/run"  # one run per folder: radmm refuses a folder that holds a run
    $bin train --workers 0 --quiet --out "$tmp/run" --data "builtin:wine-$data" --depth 5 --width 32 \
      --iterations 100 --seed "$seed" --schedule "${sr%:*}" --reproject-every "${sr#*:}" --lambda $lambda \
      --beta $beta --alpha $alpha --eval-every 0 --diagnostics false "$@" >/dev/null
    get() { grep -o "\"$1\": [-0-9.e+]*" "$tmp/run/summary.json" | head -1 | awk '{print $2}'; }
    echo "${sr%:*},${sr#*:},$lambda,$beta,$alpha,$data,$seed,$(get test_mse),$(get train_mse)"
  done; done
done; done; done; done | tee "$tmp/all.csv"
echo
echo "# best first: schedule,reproject,lambda,beta,alpha,red_mean,white_mean,mean"
awk -F, '{k=$1","$2","$3","$4","$5; s[k","$6]+=$8; n[k","$6]++; keys[k]=1}
  END {for (k in keys) {r=s[k",red"]/n[k",red"]; w=s[k",white"]/n[k",white"];
       printf "%s,%.4f,%.4f,%.4f\n", k, r, w, (r+w)/2}}' "$tmp/all.csv" | sort -t, -k8 -g | head -20
