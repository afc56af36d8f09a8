#!/usr/bin/env bash
# test_docs.sh - documentation that runs: every shell example in README.md and docs/*.md is
# either marked runnable and run here, as written (placeholders substituted from the
# harness), or marked not-run with a reason (tests/tools/doctest.py lint). Each document's
# examples run in order in one shell, in a fresh directory that is also its HOME, against
# the harness's PostgreSQL (database shop, roles backup and monitor; database app owned by
# appowner, a CREATEROLE role, for docs/credentials.md). A failing example
# fails the test with the document, the line and the command. Also: docs/configuration.md's
# option table is the one "pgward help config" prints (from options.def), and every exit
# code in the help and the docs is one errors.def defines.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
source "$(dirname "$0")/../harness/s3.sh"
: "${PGWARD:?PGWARD must point at the binary}" "${PGWARD_SRCDIR:?}"
command -v python3 >/dev/null || tk_skip "python3 is not installed (tools/deps.sh)"
DT="$PGWARD_SRCDIR/tests/tools/doctest.py"
SRC=$PGWARD_SRCDIR
# DOCS_ONLY=README.md runs one document (for writing docs)
mapfile -t DOCS < <(cd "$SRC" && if [[ -n "${DOCS_ONLY:-}" ]]; then echo "$DOCS_ONLY"; else
  ls README.md docs/*.md; fi)
tk_tmpdir

# 1. every shell example is runnable or says why not
out=$(cd "$SRC" && python3 "$DT" lint "${DOCS[@]}") || tk_fail "unmarked shell examples:
$out"
tk_pass "every shell example is runnable or marked not-run with a reason; every relative link resolves"

# 2. one source for options and exit codes (skipped with DOCS_ONLY)
[[ -n "${DOCS_ONLY:-}" ]] || {
"$PGWARD" help config > "$TK_TMP/help-config.txt"
out=$(python3 "$DT" options "$SRC/docs/configuration.md" "$TK_TMP/help-config.txt") ||
  tk_fail "docs/configuration.md's option table differs from options.def:
$out"
tk_pass "docs/configuration.md's option table is options.def's"
"$PGWARD" help exit-codes > "$TK_TMP/help-exit.txt"
out=$(python3 "$DT" exit-codes "$SRC/docs/exit-codes.md" "$TK_TMP/help-exit.txt") ||
  tk_fail "docs/exit-codes.md differs from errors.def:
$out"
tk_pass "docs/exit-codes.md's table is errors.def's"
codes=$("$PGWARD" help exit-codes | awk '$1 ~ /^[0-9]+$/ {print $1}')
man=$("$PGWARD" help man)
for c in $codes; do
  grep -q "^$c	" <<<"$man" || tk_fail "exit code $c is missing from the man page"
done
nocli=$(awk '/^[a-z]/ {name=$1} /^    where:/ && !/command-line/ {print name}' "$TK_TMP/help-config.txt")
grep -qx "s3-access-key" <<<"$nocli" || tk_fail "s3-access-key is not among the options the command line refuses"
grep -qx "s3-session-token" <<<"$nocli" || tk_fail "s3-session-token is not among the options the command line refuses"
cmds=$("$PGWARD" help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}')
[[ -n "$cmds" ]] || tk_fail "no commands in pgward help"
for cmd in $cmds; do
  h=$("$PGWARD" help "$cmd")
  for c in $(sed -n '/^Exit status:/,$p' <<<"$h" | awk '$1 ~ /^[0-9]+$/ {print $1}'); do
    grep -qx "$c" <<<"$codes" || tk_fail "help $cmd lists exit code $c, which errors.def lacks"
  done
  # an option refused on the command line (every secret, and the S3 access key) is never
  # shown as a flag
  for s in $nocli; do
    grep -qE -- "--$s([= ]|\$)" <<<"$h" && tk_fail "help $cmd shows --$s, which the command line refuses"
  done
done
for f in "${DOCS[@]}"; do
  for c in $(grep -oE '\bexit (code |status )?[0-9]+' "$SRC/$f" | grep -oE '[0-9]+$' | sort -un); do
    grep -qx "$c" <<<"$codes" || tk_fail "$f names exit $c, which errors.def lacks"
  done
done
tk_pass "exit codes in help, man page and docs are errors.def's"
# a command's exit-code section in the docs and its help list the same codes (beyond the
# ones every command has: 0 2 3 4 5)
for spec in "backup:docs/backup.md:## Exit codes" "restore:docs/restore.md:## Exit codes" \
            "decrypt:docs/encryption.md:## Errors"; do
  IFS=: read -r cmd doc sect <<<"$spec"
  [[ -f "$SRC/$doc" ]] || continue
  in_doc=$(awk -v s="$sect" '$0 == s {on=1; next} on && /^## / {on=0} on' "$SRC/$doc" |
    grep -oE '(^|· |^\| )[0-9]+' | grep -oE '[0-9]+' | grep -vxE '0|2|3|4|5' | sort -un)
  in_help=$("$PGWARD" help "$cmd" | sed -n '/^Exit status:/,$p' | awk '$1 ~ /^[0-9]+$/ {print $1}' |
    grep -vxE '0|2|3|4|5' | sort -un)
  tk_assert_eq "$(echo $in_doc)" "$(echo $in_help)" "exit codes of $cmd in $doc and in its help"
done
tk_pass "backup, restore and decrypt: the docs and the help list the same exit codes"
# the commands docs/audit.md lists as audited are the ones whose help says so
audited=$(for cmd in $cmds; do "$PGWARD" help "$cmd" | grep -q "appends one record to the audit log" && echo "$cmd"; done | sort)
documented=$(sed -n '/^<!-- audited commands -->/,/^<!-- end -->/p' "$SRC/docs/audit.md" | grep -oE '`[a-z-]+`' | tr -d '`' | sort -u)
tk_assert_eq "$documented" "$audited" "docs/audit.md's list of audited commands"
tk_pass "docs/audit.md lists exactly the audited commands"
}

# the shipped systemd units pass systemd's own checker (pgward's path made real)
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$TK_TMP/units"
  for u in "$SRC"/contrib/systemd/*.service; do
    b=$(basename "$u")
    sed "s|/usr/local/bin/pgward|$PGWARD|g" "$u" > "$TK_TMP/units/${b/@./@shop.}"
  done
  for u in "$SRC"/contrib/systemd/*@.timer; do
    b=$(basename "$u"); cp "$u" "$TK_TMP/units/${b/@./@shop.}"
  done
  for u in "$TK_TMP"/units/*; do
    out=$(cd "$TK_TMP/units" && timeout 30 systemd-analyze verify "./$(basename "$u")" 2>&1) ||
      tk_fail "systemd-analyze verify $(basename "$u"): $out"
    out=$(grep -v "is not safe" <<<"$out" || true)
    [[ -z "$out" ]] || tk_fail "systemd-analyze verify $(basename "$u"): $out"
  done
  tk_pass "contrib/systemd units pass systemd-analyze verify"
fi

# docs/install.md: meson install puts the binary and the man page where it says (staged)
BUILD=$(dirname "$(dirname "$PGWARD")")
if [[ -f "$BUILD/build.ninja" ]] && command -v meson >/dev/null; then
  out=$(meson install -C "$BUILD" --no-rebuild --destdir "$TK_TMP/stage" 2>&1) ||
    tk_fail "meson install --destdir failed: $out"
  prefix=$(meson introspect "$BUILD" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
  [[ -x "$TK_TMP/stage$prefix/bin/pgward" ]] || tk_fail "no $prefix/bin/pgward after meson install"
  [[ -s "$TK_TMP/stage$prefix/share/man/man1/pgward.1" ]] || tk_fail "no $prefix/share/man/man1/pgward.1 after meson install"
  if [[ "$prefix" == /usr/local ]]; then
    grep -q '/usr/local/bin/pgward' "$SRC/docs/install.md" || tk_fail "docs/install.md does not name /usr/local/bin/pgward"
    grep -q '/usr/local/share/man/man1/pgward.1' "$SRC/docs/install.md" || tk_fail "docs/install.md does not name the man page's path"
  fi
  if command -v groff >/dev/null; then
    out=$(groff -man -Tutf8 -ww -z "$TK_TMP/stage$prefix/share/man/man1/pgward.1" 2>&1)
    [[ -z "$out" ]] || tk_fail "the man page has roff warnings: $out"
  fi
  tk_pass "meson install puts bin/pgward and share/man/man1/pgward.1 under $prefix"
fi

# 3. run the examples
pg_start >/dev/null
pg_sample_db shop 2000
pg_psql_super -d shop >/dev/null <<SQL
create role backup login password '$PG_SUPERPASS' bypassrls;
grant pg_read_all_data to backup;
create role monitor login password '$PG_SUPERPASS';
grant pg_monitor to monitor;
create role appowner login createrole password '$PG_SUPERPASS';
SQL
# docs/credentials.md: an application database and its owner, the default credential
pg_psql_super -c 'create database app owner appowner' >/dev/null
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
mkdir -p "$TK_TMP/bin"
ln -s "$PGWARD" "$TK_TMP/bin/pgward"

cat > "$TK_TMP/prelude.sh" <<'EOF'
# sourced by each document's script: placeholders and the per-command runner
doc_recipient() {  # the recipient of the newest age identity here
  local f
  for f in $(ls -t -- *.key */*.key 2>/dev/null); do
    grep -q '^AGE-SECRET-KEY-1' "$f" 2>/dev/null && { pgward keygen -y "$f"; return; }
  done
  echo "doc_recipient: no age identity (*.key) in $PWD" >&2; return 1
}
doc_signer() {  # the newest signing public key here
  local f=$(ls -t -- *.pub */*.pub "$DOC_ROOT"/etc/pgward/*.pub 2>/dev/null | head -1)
  [ -n "$f" ] || { echo "doc_signer: no .pub file in $PWD" >&2; return 1; }
  sed -n 2p "$f"
}
doc_needs_s3() { :; }
doc_audit_head() { pgward audit verify | sed -n 's/^head: \(.\{16\}\).*/\1/p'; }
doc_file() {  # LINE PATH, content on stdin
  mkdir -p "$(dirname "$2")"
  ( umask 077; cat > "$2" ) || doc_fail "$1" "write $2" 1
}
doc_fail() {
  printf 'FAIL: %s:%s: %s (exit %s)\n' "$DOC_FILE" "$1" "$2" "$3" >&2
  echo "---- output of the document's commands (last 30 lines) ----" >&2
  tail -n 30 "$DOC_LOG" >&2
  exit 1
}
doc_cmd() {  # LINE ALLOWED-CODES SHOWN COMMAND
  [ -f "$DOC_ROOT/etc/pgward/pgward.conf" ] && export PGWARD_CONFIG=$DOC_ROOT/etc/pgward/pgward.conf
  printf '$ %s\n' "$3" >>"$DOC_LOG"
  eval "$4" </dev/null >>"$DOC_LOG" 2>&1
  local rc=$?
  case " $2 " in *" $rc "*) ;; *) doc_fail "$1" "$3" "$rc" ;; esac
}
EOF

failed=()
ran=0
for f in "${DOCS[@]}"; do
  name=${f//\//_}
  root="$TK_TMP/run/$name"
  s3env=()
  if grep -q '^doc_needs_s3' < <(python3 "$DT" script "$SRC/$f"); then
    # the S3 server is slow to start: only for a document that needs it, once
    [[ -n "${S3_ENDPOINT:-}" ]] || { s3_start >/dev/null || tk_fail "s3_start failed"; }
    s3env=(PGWARD_S3_ENDPOINT="$S3_ENDPOINT" AWS_EC2_METADATA_DISABLED=true)
  fi
  DOC_ROOT=$root DOC_PGPORT=$PGPORT_TEST DOC_PASSWORD=$PG_SUPERPASS \
    DOC_S3_BUCKET=${S3_BUCKET_LOCKED:-} DOC_S3_REGION=${S3_REGION:-} \
    DOC_S3_ACCESS=${S3_ACCESS:-} DOC_S3_SECRET=${S3_SECRET:-} \
    python3 "$DT" script "$SRC/$f" > "$TK_TMP/doc.sh" || tk_fail "$f: extractor failed"
  [[ -s "$TK_TMP/doc.sh" ]] || continue
  mkdir -p "$root/.postgresql"
  cp "$PG_CA" "$root/.postgresql/root.crt"
  if (cd "$root" && env -i PATH="$TK_TMP/bin:$PATH" HOME="$root" LANG=C.UTF-8 \
        PGPASSFILE=/dev/null/nonexistent PGCONNECT_TIMEOUT=10 \
        DOC_ROOT="$root" DOC_FILE="$f" DOC_LOG="$root/.doc.log" DOC_PGPORT="$PGPORT_TEST" \
        DOC_PASSWORD="$PG_SUPERPASS" "${s3env[@]}" \
        bash -c 'source "$1"; source "$2"' doc "$TK_TMP/prelude.sh" "$TK_TMP/doc.sh"); then
    tk_pass "$f: $(grep -c '^doc_cmd' "$TK_TMP/doc.sh") commands ran as written"
    ran=$((ran + 1))
  else
    failed+=("$f")
  fi
  # the next document starts from the same cluster: only the sample database
  for db in $(pg_psql_super -c "select datname from pg_database where datname not in ('postgres', 'template0', 'template1', 'shop', 'app')"); do
    pg_psql_super -c "drop database \"$db\" with (force)" >/dev/null
  done
done
[[ ${#failed[@]} -eq 0 ]] || tk_fail "examples failed in: ${failed[*]}"
[[ $ran -gt 0 ]] || tk_fail "no runnable example found"
echo "docs: all checks passed ($ran documents with runnable examples)"
