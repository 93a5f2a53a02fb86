#!/usr/bin/env bash
# Fuzzes the per-message pipeline with libFuzzer (clang, with AddressSanitizer and UBSan), seeded
# with the golden inputs.
#   tests/fuzz/run.sh              the CI smoke run: 60 seconds
#   tests/fuzz/run.sh 3600         a longer run, in seconds
# A crash leaves its input in build-fuzz/crashes/; add it as a golden case (tests/golden/) once fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}

deploy/setup.sh clang libclang-rt-14-dev

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDLR_BUILD_FUZZ=ON \
  -DDLR_BUILD_TESTS=OFF -DDLR_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target dlr_fuzz -j "$(nproc)"

/usr/bin/python3 tests/fuzz/seed.py build-fuzz/seeds
mkdir -p build-fuzz/corpus build-fuzz/crashes
build-fuzz/tests/fuzz/dlr_fuzz -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1 build-fuzz/corpus build-fuzz/seeds
echo "fuzz: ${seconds}s without a crash"
