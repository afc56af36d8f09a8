#!/usr/bin/env bash
# test_hostile_repo.sh - a local repository that someone with write access to it has planted
# things in (issue 11, point 5), against a real PostgreSQL 15 and a genuine backup:
#   - manifest fields with escape sequences are shown escaped by list;
#   - a manifest too large to be one (5 MiB): that backup counts as incomplete, the stanza lists;
#   - names that are not valid keys (a '\', ESC "\e[2J", CR, LF, invalid UTF-8), a symlink
#     to a file outside the repository, a FIFO, a symlinked backup directory: list, repo ls,
#     verify and expire go on, report them as strays with their names escaped (no raw
#     control character reaches the terminal), never read them, never hang;
#   - restore --backup of the good backup works next to them;
#   - an object of a backup replaced by a symlink or a FIFO: a clear error naming it, no
#     read outside the repository, no hang;
#   - the write path does not follow a symlinked stanza directory out of the repository.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk-Secret-123' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
db() { echo "postgresql://$1@localhost:$PGPORT_TEST/${2:-shop}?sslrootcert=$PG_CA"; }
super() { echo "postgresql://postgres@localhost:$PGPORT_TEST/$1?sslrootcert=$PG_CA"; }
export PGWARD_TARGET_PASSWORD=$PG_SUPERPASS PGWARD_DB_PASSWORD=bk-Secret-123

ESC=$'\e'
# no_raw_controls TEXT WHAT: TEXT holds no ESC, CR or other C0 control but newline and tab
no_raw_controls() {
  if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$1"; then
    tk_fail "$2: a raw control character reached the terminal: $(printf '%q' "$1")"
  fi
}

for n in 1 2; do
  "$PGWARD" backup --db "$(db backup)" --repo repo -r "$R" --output=json >"b$n.json" 2>"b$n.err" ||
    { cat "b$n.err"; tk_fail "backup $n failed"; }
done
id1=$(sed -n 's/.*"backup_id": "\(.*\)".*/\1/p' b1.json)
id2=$(sed -n 's/.*"backup_id": "\(.*\)".*/\1/p' b2.json)
[ -n "$id1" ] && [ -n "$id2" ] || tk_fail "no backup ids"

# ---- plant strays next to the genuine backup 1 ----
echo "outside secret" >outside.txt
d=repo/shop/$id1
echo x >"$d/a\\b"
echo x >"$d/${ESC}[2Jclear"
echo x >"$d/cr"$'\r'"x"
echo x >"$d/nl"$'\n'"forged line"
echo x >"$d/bad"$'\xff'"utf8"
ln -s "$TK_TMP/outside.txt" "$d/link"
mkfifo "$d/fifo"
mkdir -p "outside-dir/20260101T000000Z-0000"
cp "$d/manifest.json" outside-dir/20260101T000000Z-0000/
ln -s "$TK_TMP/outside-dir/20260101T000000Z-0000" repo/shop/20260101T000000Z-0001
mkdir -p repo/shop/20261231T000000Z-big
head -c $((5 * 1048576)) /dev/zero | tr '\0' ' ' >repo/shop/20261231T000000Z-big/manifest.json
mkdir -p repo/shop/20261230T000000Z-esc
printf '{"format": 1, "stanza": "shop", "backup_id": "20261230T000000Z-esc", "status": "complete", "started": "\\u001b[2J\\u001b]0;pwned\\u0007", "lock_until": "x\\u001b[31m"}\n' \
  >repo/shop/20261230T000000Z-esc/manifest.json
mkdir -p "repo/shop/20991231T000000Z-${ESC}[2J"
cp "$d/manifest.json" "repo/shop/20991231T000000Z-${ESC}[2J/"

# list: the stanza still lists, strays named in escaped warnings
set +e
out=$(timeout 30 "$PGWARD" list --repo repo 2>list.err); rc=$?
set -e
err=$(<list.err)
tk_assert_eq "$rc" 0 "list next to strays (stderr: $err)"
tk_assert_contains "$out" "$id1" "the genuine backup is listed"
tk_assert_contains "$err" 'skipping stray' "strays are reported"
tk_assert_contains "$err" '\x1b[2Jclear' "the ESC in a stray's name is shown escaped"
tk_assert_contains "$err" 'nl\nforged line' "the newline in a stray's name is shown escaped"
tk_assert_contains "$err" 'a\\b' "the backslash in a stray's name is shown escaped"
tk_assert_contains "$err" 'bad\xffutf8' "invalid UTF-8 is shown escaped"
tk_assert_contains "$err" "a symbolic link" "a symlink is a stray"
tk_assert_contains "$err" "FIFO" "a FIFO is a stray"
tk_assert_contains "$err" "20261231T000000Z-big is too large" "a 5 MiB manifest is reported"
tk_assert_contains "$out" "20261231T000000Z-big" "the backup with the oversized manifest is listed"
tk_assert_contains "$out" '\x1b[2J' "manifest fields with escape sequences are shown escaped"
tk_assert_contains "$(grep 20261230T000000Z-esc <<<"$out")" "damaged" "a manifest with an escape sequence for a time is listed damaged"
[[ "$out" != *20260101T000000Z-0001* ]] || tk_fail "a symlinked backup directory was followed"
no_raw_controls "$out$err" "list"
tk_pass "list goes on next to invalid names, a symlink, a FIFO, a symlinked backup, all escaped"

out=$("$PGWARD" repo ls --repo repo 2>&1)
no_raw_controls "$out" "repo ls"
[[ "$out" != *outside* ]] || tk_fail "repo ls followed a symlink: $out"

# verify: strays are problems of the backup (exit 24), named escaped; nothing hangs
set +e
out=$(timeout 30 "$PGWARD" verify --repo repo --backup "$id1" 2>&1); rc=$?
set -e
tk_assert_eq "$rc" 24 "verify of a backup with strays (output: $out)"
tk_assert_contains "$out" '\x1b[2Jclear: stray' "verify names the ESC stray escaped"
tk_assert_contains "$out" 'link: stray: a symbolic link' "verify names the symlink"
tk_assert_contains "$out" 'fifo: stray: not a regular file' "verify names the FIFO"
no_raw_controls "$out" "verify"
# expire still runs for the whole stanza
set +e
out=$(timeout 30 "$PGWARD" expire --repo repo --dry-run --retention-min 5 2>&1); rc=$?
set -e
tk_assert_eq "$rc" 0 "expire --dry-run next to strays (output: $out)"
no_raw_controls "$out" "expire"
tk_pass "verify reports the strays (exit 24), expire still runs"

# restore --backup of the genuine backup works next to them
"$PGWARD" restore -i key --repo repo --backup "$id1" --target "$(super shop_r1)" --create >/dev/null 2>restore.err ||
  { cat restore.err; tk_fail "restore --backup next to strays"; }
tk_assert_eq "$(pg_row_counts shop_r1)" "$(pg_row_counts shop)" "restore next to strays"
tk_pass "restore --backup of the good backup works next to the strays"

# ---- backup 2: its objects replaced by a symlink to a file outside, and a FIFO ----
d2=repo/shop/$id2
mv "$d2/globals.sql.zst.age" globals.saved
ln -s "$TK_TMP/outside.txt" "$d2/globals.sql.zst.age"
set +e
out=$(timeout 30 "$PGWARD" verify --repo repo --backup "$id2" 2>&1); rc=$?
set -e
[ "$rc" -ne 124 ] || tk_fail "verify hung on a symlinked object"
tk_assert_eq "$rc" 30 "verify of a symlinked object: exit status ($out)"
tk_assert_contains "$out" "symbolic link" "the symlinked object is named"
[[ "$out" != *"size 15,"* ]] || tk_fail "verify read the file behind the symlink: $out"
rm "$d2/globals.sql.zst.age"
mkfifo "$d2/globals.sql.zst.age"
set +e
t0=$SECONDS
out=$(timeout 30 "$PGWARD" verify --repo repo --backup "$id2" 2>&1); rc=$?
set -e
[ "$rc" -ne 124 ] || tk_fail "verify hung on a FIFO"
tk_assert_eq "$rc" 30 "verify of a FIFO object: exit status ($out)"
tk_assert_contains "$out" "not a regular file" "the FIFO object is named"
((SECONDS - t0 < 20)) || tk_fail "verify took $((SECONDS - t0)) s on a FIFO"
rm "$d2/globals.sql.zst.age"
mv globals.saved "$d2/globals.sql.zst.age"
tk_pass "an object replaced by a symlink or a FIFO: a clear error, no read outside, no hang"

# ---- the write path does not follow a symlinked stanza directory ----
mkdir outside-stanza
ln -s "$TK_TMP/outside-stanza" repo/evil
echo data >f.txt
expect_fail 30 "symbolic link" repo put evil/x/f.txt f.txt --repo repo
ls -A outside-stanza | grep -q . && tk_fail "a put followed a symlinked stanza directory"
# (the stanza is positional: this check ran with "--stanza evil", a usage error, until it
# asserted the exit code and the message)
expect_fail 30 "symbolic link" backup evil --db "$(db backup)" --repo repo -r "$R"
ls -A outside-stanza | grep -q . && tk_fail "a backup followed a symlinked stanza directory"
tk_pass "puts and backups never follow a symlinked stanza directory out of the repository"
echo "hostile repository: all checks passed"
