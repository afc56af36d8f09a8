#!/bin/sh
# banned.sh - fail if the sources call a banned function (CODING.md).
dir=${1:-src}
hits=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets|system|strncpy)[[:space:]]*\(' "$dir" --include='*.c' --include='*.h' | grep -vE '(snprintf|vsnprintf|strtok_r)')
if [ -n "$hits" ]; then
  echo "banned functions used (see CODING.md):"
  echo "$hits"
  exit 1
fi
echo "no banned functions in $dir"
