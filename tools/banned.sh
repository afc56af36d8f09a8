#!/bin/sh
# banned.sh - the lint of banned functions (CODING.md). The list lives in one place,
# src/common/banned.h, which the build force-includes so that a call does not compile; this
# script reads the names from it, checks that meson.build still force-includes it, and greps
# the sources as a second net (code not compiled in this configuration, e.g. fuzz/).
# Usage: banned.sh [dir]  (default src; the repository root is found from this script)
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/src}
header=$root/src/common/banned.h
names=$( {
	sed -n 's/^#pragma GCC poison //p' "$header"
	sed -n 's/^PW_BANNED_CALL([^(]*[ *]\([a-z_0-9]*\)(.*/\1/p' "$header"
} | tr ' ' '\n' | grep -v '^$')
if [ -z "$names" ] || ! echo "$names" | grep -qx sprintf; then
  echo "banned.sh: could not read the banned names from $header"
  exit 1
fi
if ! grep -q "src/common/banned.h" "$root/meson.build" ||
   ! grep -q "'-include'" "$root/meson.build"; then
  echo "banned.sh: meson.build no longer force-includes src/common/banned.h (-include)"
  exit 1
fi
re=$(echo "$names" | paste -sd'|' -)
# a call: the name, not preceded by a word character, "_" or "->"/"." (pw_strerror, strtok_r
# and members are other names), then "("; comments and strings are not told apart (rare)
hits=$(grep -rnE "(^|[^A-Za-z0-9_.>])($re)[[:space:]]*\(" "$dir" --include='*.c' --include='*.h' |
  grep -v "^$header:")
if [ -n "$hits" ]; then
  echo "banned functions used (see src/common/banned.h):"
  echo "$hits"
  exit 1
fi
echo "no banned functions in $dir ($(echo "$names" | wc -l) names from src/common/banned.h)"
