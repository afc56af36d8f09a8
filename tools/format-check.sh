#!/bin/sh
# format-check.sh - fail if C sources under src/ and tests/ differ from .clang-format's style.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "clang-format not installed"; exit 77; }
files=$(find src tests -name '*.[ch]' | sort)
# shellcheck disable=SC2086
if ! clang-format --dry-run --Werror $files; then
  echo "run \"make format\" to fix the style"
  exit 1
fi
echo "style ok: $(echo "$files" | wc -l) files"
