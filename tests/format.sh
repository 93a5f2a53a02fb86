#!/usr/bin/env bash
# Checks that every C++ source is formatted as .clang-format says; fails naming the files that are not.
#   tests/format.sh          check
#   tests/format.sh --fix    reformat them in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || deploy/setup.sh clang-format >/dev/null
mapfile -t files < <(git ls-files 'catalog/*.cpp' 'catalog/*.h' 'processor/*.cpp' 'processor/*.h' \
  'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'bench/*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  printf 'format: not formatted as .clang-format says (tests/format.sh --fix):\n' >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files formatted"
