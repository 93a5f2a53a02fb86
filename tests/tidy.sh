#!/usr/bin/env bash
# clang-tidy over the project's own sources with the checks in .clang-tidy; fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null || deploy/setup.sh clang-tidy >/dev/null
build_dir=${BUILD_DIR:-build}
[ -f "$build_dir/compile_commands.json" ] || cmake -S . -B "$build_dir" -G Ninja >/dev/null
files=$(git ls-files 'catalog/*.cpp' 'processor/*.cpp')
# shellcheck disable=SC2086
printf '%s\n' $files | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet 2>/dev/null
echo "clang-tidy: $(echo $files | wc -w) files clean"
