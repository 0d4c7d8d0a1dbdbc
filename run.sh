#!/usr/bin/env bash
# radmm's one entry point. On a fresh Debian machine it installs what is missing, builds,
# and then:   ./run.sh [train options]   trains on red wine (configs/wine-red.ini) and prints a summary
#             ./run.sh test [ctest args] runs the whole test suite
#             ./run.sh tsan | asan       runs the suite under ThreadSanitizer / ASan+UBSan (own build folders)
#             ./run.sh fuzz [seconds]    builds the libFuzzer targets with clang, runs each (default 60 s)
#             ./run.sh radmm ARGS...     runs the built binary with any subcommand
# RADMM_WERROR=1 makes warnings in radmm's own code errors (CI sets it).
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ cmake make libeigen3-dev libboost-dev libboost-program-options-dev doctest-dev zlib1g-dev
          libopenmpi-dev openmpi-bin  # Open MPI: --transport mpi (RADMM_MPI)
          iproute2)                   # ip netns: bench/mpi_two_hosts.sh (ctest mpi_two_hosts)

# A run on Debian's Fashion-MNIST (--data fashion-mnist, or a config saying data = fashion-mnist)
# also needs the data package (files under /usr/share/datasets/fashion-mnist).
needs_fashion() {
  local prev=
  for a in "$@"; do
    [ "$a" = "--data=fashion-mnist" ] && return 0
    [ "$prev" = "--data" ] && [ "$a" = "fashion-mnist" ] && return 0
    if [ "$prev" = "--config" ] || [[ "$a" == --config=* ]]; then
      local f=${a#--config=}
      [ -f "$f" ] && grep -Eq '^[[:space:]]*data[[:space:]]*=[[:space:]]*fashion-mnist[[:space:]]*$' "$f" && return 0
    fi
    prev=$a
  done
  return 1
}
if needs_fashion "$@"; then packages+=(dataset-fashion-mnist); fi

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "run.sh: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }
}

build() {  # build DIR [cmake options...]; BUILD_TARGET limits the build to one target
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release ${RADMM_WERROR:+-DRADMM_WERROR=ON} "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
}

install_missing
mode=${1:-train}
case "$mode" in
  test)
    shift
    build build
    ctest --test-dir build --output-on-failure "$@"
    ;;
  tsan)
    shift
    build build-tsan -DRADMM_TSAN=ON
    ctest --test-dir build-tsan --output-on-failure -R 'test_protocol_threads|test_admm|test_grid' "$@"
    ;;
  asan)
    shift
    build build-asan -DRADMM_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure "$@"
    ;;
  fuzz)
    shift
    seconds=${1:-60}
    packages+=(clang libclang-rt-14-dev)
    install_missing
    BUILD_TARGET=radmm build build
    CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DRADMM_FUZZ=ON >/dev/null
    cmake --build build-fuzz -j "$(nproc)" --target fuzz_csv fuzz_checkpoint fuzz_ini
    corpus=build-fuzz/corpus
    tests/fuzz/make_seeds.sh ./build/radmm "$corpus"
    for target in fuzz_csv fuzz_checkpoint fuzz_ini; do
      seeds=$corpus/csv; [ "$target" = fuzz_checkpoint ] && seeds=$corpus/bin; [ "$target" = fuzz_ini ] && seeds=$corpus/ini
      mkdir -p "$corpus/$target"
      echo "run.sh: $target for $seconds s"
      ./build-fuzz/tests/$target -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix=build-fuzz/ -print_final_stats=1 "$corpus/$target" "$seeds" tests/fuzz/regressions \
        > build-fuzz/$target.log 2>&1 || { tail -n 40 build-fuzz/$target.log; exit 1; }
      grep -E "^(Done|stat::)" build-fuzz/$target.log
    done
    ;;
  radmm)
    shift
    BUILD_TARGET=radmm build build
    exec ./build/radmm "$@"
    ;;
  train) shift || true; BUILD_TARGET=radmm build build; exec ./build/radmm train --config configs/wine-red.ini "$@" ;;
  *) BUILD_TARGET=radmm build build; exec ./build/radmm train --config configs/wine-red.ini "$@" ;;
esac
