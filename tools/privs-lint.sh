#!/bin/sh
# privs-lint.sh - fail if SQL about role privileges appears outside src/pg/ where
# tools/privs-allow.txt does not say why it is not a second copy of the privilege model
# (src/pg/privs.c: "what can role R change"). Usage: privs-lint.sh [SRCDIR [ALLOWLIST]]
dir=${1:-src}
allow=${2:-$(dirname "$0")/privs-allow.txt}
names="has_table_privilege has_column_privilege has_any_column_privilege
has_sequence_privilege has_schema_privilege has_database_privilege
has_largeobject_privilege pg_write_all_data rolsuper rolcreaterole rolcreatedb
rolbypassrls aclexplode lomacl relacl attacl nspacl datacl"
[ -r "$allow" ] || { echo "privs-lint: cannot read $allow"; exit 1; }
root=$(dirname "$dir")
bad=0
pattern=$(echo $names | tr ' ' '|')
# one grep per file (not one per file and name: that took minutes on a loaded machine)
for f in $(grep -rlE "$pattern" "$dir" --include='*.c' --include='*.h' | grep -v "^$dir/pg/" | sort); do
  rel=${f#"$root"/}
  counts=$(grep -oE "$pattern" "$f" | sort | uniq -c)
  for n in $names; do
    c=$(echo "$counts" | awk -v n="$n" '$2 == n { print $1 }')
    [ -z "$c" ] && continue
    max=$(awk -v p="$rel" -v n="$n" '$1 == p && $2 == n { print $3 }' "$allow")
    if [ -z "$max" ]; then
      echo "$rel: \"$n\" ($c times) is not in $allow:"
      grep -n "$n" "$f" | sed 's/^/  /'
      bad=1
    elif [ "$c" -gt "$max" ]; then
      echo "$rel: \"$n\" occurs $c times, at most $max allowed ($allow):"
      grep -n "$n" "$f" | sed 's/^/  /'
      bad=1
    fi
  done
done
if [ $bad -ne 0 ]; then
  echo "privilege SQL outside src/pg/: ask pg/privs.h (pw_privs_scan) instead, or list the"
  echo "use in $allow with the reason it is not \"can this role write\""
  exit 1
fi
echo "privilege model: one copy (src/pg/privs.c)"
