#!/bin/sh
# check-rules-docs.sh - docs/check.md's rule table ("## The rules") and pgward check's rule
# table (pgward check --list-rules) list the same rules, in the same order, with the same
# severity; and no rule's user-facing text (title, why) cites an internal document.
# Usage: check-rules-docs.sh PGWARD DOCS/check.md
pgward=${1:?usage: check-rules-docs.sh PGWARD docs/check.md}
doc=${2:?usage: check-rules-docs.sh PGWARD docs/check.md}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
PGWARD_AUDIT_LOG="$tmp/audit.log" "$pgward" check --list-rules >"$tmp/list" 2>"$tmp/err" || {
  echo "pgward check --list-rules failed:"; cat "$tmp/err"; exit 1; }
awk '{ print $1, $2 }' "$tmp/list" >"$tmp/code"
# the rows of the table under "## The rules", up to the next heading: | `id` | severity | ...
awk '/^## The rules/ { on = 1; next } on && /^#/ { exit }
     on && /^\| `[a-z0-9.-]+` \|/ { id = $2; gsub(/`/, "", id); print id, $4 }' "$doc" >"$tmp/docs"
bad=0
if [ ! -s "$tmp/code" ] || [ ! -s "$tmp/docs" ]; then
  echo "empty rule list (code: $(wc -l <"$tmp/code"), docs: $(wc -l <"$tmp/docs"))"; bad=1
fi
if ! diff -u "$tmp/code" "$tmp/docs" >"$tmp/diff"; then
  echo "pgward check's rules (---) and $doc's rule table (+++) differ (id, severity, order):"
  cat "$tmp/diff"
  bad=1
fi
# user-facing texts cite public sources or plain reasons, never internal documents
PGWARD_AUDIT_LOG="$tmp/audit.log" "$pgward" check --list-rules --output=json >"$tmp/json" 2>/dev/null
if grep -inE 'seed [0-9]|seed line|spec/|quality\.md|architecture\.md|product principle|issue [0-9]|\bP[0-9]\b' "$tmp/json"; then
  echo "a rule's title or why cites an internal document (above): cite a public source or say the reason"
  bad=1
fi
[ $bad -eq 0 ] && echo "$(wc -l <"$tmp/code") rules: code and $doc agree"
exit $bad
