#!/usr/bin/env bash
# test_backup.sh - the main job against real PostgreSQL 15 and a real S3 server: read-only
# preflight, backup to a local directory and to S3, list without a key, restore and compare
# every table, stock-tools restore, tamper, one backup at a time, killed connections and
# killed backups, and no secret in argv, logs or output.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
source "$(dirname "$0")/../harness/s3.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk-Secret-123' bypassrls;
grant pg_read_all_data to backup;
create role writer login password 'w' bypassrls; grant pg_read_all_data to writer; grant insert on public.customers to writer;
create role owner1 login password 'o' bypassrls; grant pg_read_all_data to owner1; create table public.owned(x int); alter table public.owned owner to owner1;
create role partial login password 'p' bypassrls; grant usage on schema sales, hr to partial; grant select on all tables in schema public to partial;
create role norls login password 'n' ; grant pg_read_all_data to norls;
create role nolo login password 'l' bypassrls; grant pg_read_all_data to nolo;
create role ghost nologin;
create role colseq login password 'c' bypassrls; grant pg_read_all_data to colseq;
grant update (name) on public.customers to colseq; grant usage on sequence public.customers_id_seq to colseq;
SQL
# large objects need their own grant (pg_read_all_data does not cover them)
pg_psql_super -d shop -c "select format('grant select on large object %s to backup, writer, owner1, partial, norls, colseq;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
db() { echo "postgresql://$1@localhost:$PGPORT_TEST/${2:-shop}?sslrootcert=$PG_CA"; }
super() { echo "postgresql://postgres@localhost:$PGPORT_TEST/$1?sslrootcert=$PG_CA"; }
export PGWARD_TARGET_PASSWORD=$PG_SUPERPASS

# --- preflight: each kind of over-privileged or partial role is refused, with the fix
PGWARD_DB_PASSWORD=$PG_SUPERPASS expect_fail 22 'role "postgres" is a superuser' backup --db "$(db postgres)" --repo repo -r "$R"
PGWARD_DB_PASSWORD=w expect_fail 22 'holds INSERT on public.customers' backup --db "$(db writer)" --repo repo -r "$R"
tk_assert_contains "$err" 'REVOKE INSERT ON public.customers FROM "writer";' "fix shown"
# regression, issue 12: a column grant and sequence USAGE are write (the preflight used to pass them)
test_issue12_column_grant_and_sequence_usage() {
  PGWARD_DB_PASSWORD=c expect_fail 22 'holds UPDATE (name) on public.customers' backup --db "$(db colseq)" --repo repo -r "$R"
  tk_assert_contains "$err" 'holds USAGE on SEQUENCE public.customers_id_seq' "issue 12: sequence USAGE refused"
  tk_assert_contains "$err" 'REVOKE UPDATE (name) ON public.customers FROM "colseq";' "issue 12: column fix"
}
test_issue12_column_grant_and_sequence_usage
PGWARD_DB_PASSWORD=o expect_fail 22 'owns table public.owned' backup --db "$(db owner1)" --repo repo -r "$R"
PGWARD_DB_PASSWORD=p expect_fail 22 'cannot read table sales.orders_2025' backup --db "$(db partial)" --repo repo -r "$R"
PGWARD_DB_PASSWORD=n expect_fail 22 'row-level security' backup --db "$(db norls)" --repo repo -r "$R"
PGWARD_DB_PASSWORD=l expect_fail 22 'cannot read 2 large objects' backup --db "$(db nolo)" --repo repo -r "$R"
tk_assert_contains "$err" "GRANT SELECT ON LARGE OBJECT" "large-object fix shown"
tk_assert_eq "$(ls repo 2>/dev/null | grep -v pgward-repo.json || true)" "" "nothing written by refused backups"
expect_fail 10 "no recipients" backup --db "$(db backup)" --repo repo
PGWARD_DB_PASSWORD=bk-Secret-123 expect_fail 21 "does not match the pin" backup --db "$(db backup)" --repo repo -r "$R" --pin-sha256 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

# --- --dry-run: every check a backup makes, the verdict, and nothing dumped or written
out=$(PGWARD_DB_PASSWORD=bk-Secret-123 "$PGWARD" backup --db "$(db backup)" --repo dryrepo -r "$R" --dry-run 2>/dev/null) ||
  tk_fail "backup --dry-run with a read-only role"
tk_assert_contains "$out" 'as role "backup": read-only, every table readable' "dry run verdict"
tk_assert_contains "$out" "nothing was dumped or written" "dry run says it wrote nothing"
tk_assert_eq "$(ls dryrepo)" "" "a dry run writes nothing into the repository"
grep -q '"dry_run":true' "$PGWARD_AUDIT_LOG" || tk_fail "dry run audited as such"
PGWARD_DB_PASSWORD=w expect_fail 22 'holds INSERT on public.customers' backup --db "$(db writer)" --repo dryrepo -r "$R" --dry-run
expect_fail 10 "no recipients" backup --db "$(db backup)" --repo dryrepo --dry-run
tk_pass "backup --dry-run checks and writes nothing"

# --- a privileged backup is possible only when asked, and recorded
PGWARD_DB_PASSWORD=w "$PGWARD" backup --db "$(db writer)" --repo privrepo -r "$R" --allow-privileged --output=json > priv.json 2>priv.err || { cat priv.err; tk_fail "privileged backup"; }
grep -q '"privileged": true' priv.json || tk_fail "privileged flag recorded"

# --- backup to a local directory while watching for the password in argv
export PGWARD_DB_PASSWORD=bk-Secret-123
"$PGWARD" backup --db "$(db backup)" --repo repo -r "$R" --output=json > b1.json 2> b1.err &
bp=$!
leak=""
while kill -0 "$bp" 2>/dev/null; do ps -eo args | grep -q '[b]k-Secret-123' && leak=yes; sleep 0.02; done
wait "$bp" || { cat b1.err; tk_fail "backup failed"; }
[ -z "$leak" ] || tk_fail "the database password appeared in a process's argv"
grep -q 'bk-Secret-123' b1.json b1.err "$PGWARD_AUDIT_LOG" && tk_fail "password in output or audit log"
id1=$(sed -n 's/.*"backup_id": "\(.*\)".*/\1/p' b1.json)
[ -n "$id1" ] || tk_fail "no backup id in the JSON output"
for o in data.pgdump.zst.age globals.sql.zst.age details.json.age manifest.json; do
  [ -f "repo/shop/$id1/$o" ] || tk_fail "object $o missing"
done
tk_assert_eq "$(stat -c %a "repo/shop/$id1/data.pgdump.zst.age")" 600 "object mode"
grep -q "customers" "repo/shop/$id1/manifest.json" && tk_fail "table names leaked into the plaintext manifest"
# issue 13: the manifest records where the backup came from (host, port, standby), not the
# database name (that stays in the encrypted details); --output=json prints the committed bytes
src=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); s=m["source"]; print(s["host"], s["port"], s["standby"], m["kind"], "shop" in json.dumps(s))' "repo/shop/$id1/manifest.json")
tk_assert_eq "$src" "localhost $PGPORT_TEST False logical False" "manifest records source host, port and standby=false"
[ "$(cat b1.json)" = "$(cat "repo/shop/$id1/manifest.json")" ] || tk_fail "--output=json is not the committed manifest"
# per-table rows recorded while streaming (no extra query), in the encrypted details
age -d -i key "repo/shop/$id1/details.json.age" > details.json
want=$(pg_psql_super -d shop -c "select count(*) from customers")
grep -A3 '"name": "customers"' details.json | grep -q "\"rows\": $want" || tk_fail "details record the customers row count ($want)"
grep -q '"large_objects": 2' details.json || tk_fail "details record the large objects"
out=$("$PGWARD" list --repo repo)
tk_assert_contains "$out" "$id1  complete" "list shows the backup complete"

# --- restore into a new database and compare every table
pg_psql_super -c "create database shop_r1" >/dev/null
"$PGWARD" restore shop -i key --repo repo --target "$(super shop_r1)" >/dev/null
tk_assert_eq "$(pg_row_counts shop_r1)" "$(pg_row_counts shop)" "restored row counts"
tk_assert_eq "$(pg_psql_super -d shop_r1 -c "select note from customers where id = 7")" "$(pg_psql_super -d shop -c "select note from customers where id = 7")" "special characters survive"
tk_assert_eq "$(pg_psql_super -d shop_r1 -c "select count(*) from sales.daily")" "$(pg_psql_super -d shop -c "select count(*) from sales.daily")" "materialized view refreshed"
tk_assert_eq "$(pg_psql_super -d shop_r1 -c "select last_value from sales.invoice_no")" "1004" "sequence value"
expect_fail 2 "is not empty: it holds 8 tables, 1 view, 2 sequences" restore -i key --repo repo --target "$(super shop_r1)"
# a target holding only a view or a function is not empty either; an extension's objects are
pg_psql_super -c "create database shop_views" >/dev/null
pg_psql_super -d shop_views -c "create extension pgcrypto" >/dev/null 2>&1 || true
pg_psql_super -d shop_views -c "create view v as select 1 as x; create function f() returns int language sql as 'select 1'" >/dev/null
expect_fail 2 "it holds 1 view, 1 function" restore -i key --repo repo --target "$(super shop_views)"

# --- --jobs spools to a private temporary file, removed afterwards
mkdir -m 700 spool
"$PGWARD" restore -i key --repo repo --create --jobs 2 --temp-dir spool --target "$(super shop_jobs)" >/dev/null
tk_assert_eq "$(pg_row_counts shop_jobs)" "$(pg_row_counts shop)" "restore --jobs 2"
tk_assert_eq "$(ls -A spool)" "" "spool file removed"
expect_fail 3 "--jobs must be between 1 and 64" restore -i key --repo repo --jobs 0 --target "$(super shop_jobs)"

# --- --table / --schema select objects; --globals applies the roles first
"$PGWARD" restore -i key --repo repo --create -n public --target "$(super shop_pub)" >/dev/null
tk_assert_eq "$(pg_psql_super -d shop_pub -c "select count(*) from pg_namespace where nspname in ('sales', 'hr')")" 0 "--schema leaves the other schemas out"
tk_assert_eq "$(pg_psql_super -d shop_pub -c "select count(*) from customers")" "$(pg_psql_super -d shop -c "select count(*) from customers")" "--schema restores its tables"
"$PGWARD" restore -i key --repo repo --create -t customers --target "$(super shop_one)" >/dev/null
tk_assert_eq "$(pg_psql_super -d shop_one -c "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')")" 1 "--table restores one table"
# a selection that matches nothing is an error naming it, not a successful empty restore
expect_fail 20 "no_such_table" restore -i key --repo repo --create -t no_such_table --target "$(super shop_none)"
expect_fail 20 "no_such_schema" restore -i key --repo repo --create -n no_such_schema --target "$(super shop_none)"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_database where datname = 'shop_none'")" 0 "a failed restore --create drops the database it made"
pg_psql_super -c "drop role ghost" >/dev/null
"$PGWARD" restore -i key --repo repo --create --globals --target "$(super shop_glob)" >/dev/null 2>glob.err
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_roles where rolname = 'ghost'")" 1 "--globals recreated a dropped role"
tk_assert_contains "$(cat glob.err)" 'role "backup" exists already: left as it is' "existing roles reported, not fatal"

# --- --create makes the target database
"$PGWARD" restore -i key --repo repo --create --target "$(super shop_new)" >/dev/null
tk_assert_eq "$(pg_row_counts shop_new)" "$(pg_row_counts shop)" "restore --create"
expect_fail 20 "already exists" restore -i key --repo repo --create --target "$(super shop_new)"
# a refused target password names where the target's password comes from (README's example)
PGWARD_TARGET_PASSWORD=wrong expect_fail 20 "password authentication failed" restore -i key --repo repo --create --target "$(super shop_pw)"
tk_assert_contains "$err" "PGWARD_TARGET_PASSWORD" "the hint names the target's password"

# --- stock tools: age -d | zstd -d | pg_restore
pg_psql_super -c "create database shop_r2" >/dev/null
age -d -i key "repo/shop/$id1/data.pgdump.zst.age" | zstd -q -d |
  pg_restore --single-transaction --exit-on-error -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d shop_r2
tk_assert_eq "$(pg_row_counts shop_r2)" "$(pg_row_counts shop)" "stock-tools restore"
age -d -i key "repo/shop/$id1/globals.sql.zst.age" | zstd -q -d | grep -q "CREATE ROLE backup" || tk_fail "globals hold the roles"
age -d -i key "repo/shop/$id1/globals.sql.zst.age" | zstd -q -d | grep -qi "password 'bk" && tk_fail "globals hold a password"

# --- to a file
"$PGWARD" restore -i key --repo repo --backup "$id1" --to-file plain.dump >/dev/null
pg_restore -l plain.dump | grep -q "TABLE DATA public customers" || tk_fail "--to-file archive"
tk_assert_eq "$(stat -c %a plain.dump)" 600 "--to-file mode"
# --backup takes the STANZA/ID form that backup and list print
"$PGWARD" restore -i key --repo repo --backup "shop/$id1" --to-file plain2.dump >/dev/null
cmp -s plain.dump plain2.dump || tk_fail "--backup STANZA/ID restores the same backup"
expect_fail 2 'names stanza "shop" but the command names "other"' restore other -i key --repo repo --backup "shop/$id1" --to-file plain3.dump
expect_fail 2 "neither ID nor STANZA/ID" restore -i key --repo repo --backup "shop/" --to-file plain3.dump

# --- tamper: one flipped byte, the restore fails and the target stays empty
cp -r repo tampered
f="tampered/shop/$id1/data.pgdump.zst.age"
size=$(stat -c %s "$f")
tk_flip_byte "$f" $((size / 2))
pg_psql_super -c "create database shop_r3" >/dev/null
# (the signed manifest's SHA-256 catches it before a byte is decrypted; unsigned, age's
# authentication would: exit 14)
expect_fail 24 "differs from its manifest" restore -i key --repo tampered --target "$(super shop_r3)"
tk_assert_eq "$(pg_psql_super -d shop_r3 -c "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('public', 'sales', 'hr')")" 0 "target unchanged"
"$PGWARD" keygen -o other 2>/dev/null
expect_fail 12 "no identity matched" restore -i other --repo repo --target "$(super shop_r3)"

# --- one backup of a stanza at a time
pg_psql_super -d shop -c "select pg_advisory_lock(hashtextextended('pgward backup shop', 0)), pg_sleep(4)" >/dev/null &
lk=$!
lock_held() { [ "$(pg_psql_super -c "select count(*) from pg_locks where locktype = 'advisory' and granted")" = 1 ]; }
tk_wait_for 10 "the advisory lock held" lock_held
expect_fail 30 'another backup of stanza "shop" is running' backup --db "$(db backup)" --repo repo -r "$R"
wait "$lk"

# --- a connection killed mid-dump: clear error, no manifest
pg_psql_super -d shop -c "insert into customers(name) select 'bulk' from generate_series(1, 300000)" >/dev/null
"$PGWARD" backup --db "$(db backup)" --repo repo -r "$R" --rate-limit 2MB > k.out 2> k.err &
bp=$!
for _ in $(seq 50); do
  pg_psql_super -c "select count(*) from pg_stat_activity where application_name = 'pgward backup' and state = 'active'" | grep -q 1 && break
  sleep 0.1
done
pg_psql_super -c "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pgward backup'" >/dev/null
set +e; wait "$bp"; rc=$?; set -e
tk_assert_eq "$rc" 20 "killed connection fails the backup"
tk_assert_contains "$(cat k.err)" "the dump (pg_dump) failed" "message names the dump"
tk_assert_eq "$("$PGWARD" list shop --repo repo --output=json | grep -c '"status": "complete"')" 1 "still only one complete backup"

# --- SIGKILL at random moments never leaves a backup that looks complete
seed=${PGWARD_TEST_SEED:-42}
RANDOM=$seed
for trial in $(seq 1 ${PGWARD_CRASH_TRIALS:-20}); do
  "$PGWARD" backup --db "$(db backup)" --repo crashrepo -r "$R" --rate-limit 40MB >/dev/null 2>&1 &
  bp=$!
  ms=$((RANDOM % 1300))
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
  kill -KILL "$bp" 2>/dev/null || true
  wait "$bp" 2>/dev/null || true
done
"$PGWARD" list --repo crashrepo --output=json > crash.json
n_complete=$(grep -c '"status": "complete"' crash.json || true)
for id in $(sed -n 's/.*"backup_id": "\(.*\)".*/\1/p' crash.json); do
  if [ -f "crashrepo/shop/$id/manifest.json" ]; then
    # every backup that looks complete must restore to the end
    "$PGWARD" restore -i key --repo crashrepo --backup "$id" --to-file "crash-$id.dump" >/dev/null ||
      tk_fail "complete-looking backup $id does not restore"
  fi
done
"$PGWARD" backup --db "$(db backup)" --repo crashrepo -r "$R" >/dev/null 2>&1 || tk_fail "the next backup after the crashes"
echo "crash trials: $n_complete of ${PGWARD_CRASH_TRIALS:-20} finished before the kill; none left half-complete"

# --- to S3 and back
s3_start
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET PGWARD_S3_ENDPOINT=$S3_ENDPOINT
S3REPO="s3://$S3_BUCKET_LOCKED/prod"
"$PGWARD" backup --db "$(db backup)" --repo "$S3REPO" -r "$R" --lock-days 1 --s3-part-size 5MiB > s3.out
tk_assert_contains "$(cat s3.out)" "complete" "backup to S3"
"$PGWARD" list --repo "$S3REPO" | grep -q complete || tk_fail "list on S3"
pg_psql_super -c "create database shop_r4" >/dev/null
"$PGWARD" restore -i key --repo "$S3REPO" --target "$(super shop_r4)" >/dev/null
tk_assert_eq "$(pg_row_counts shop_r4)" "$(pg_row_counts shop)" "restore from S3"
# verify on S3 at all three depths
tk_assert_contains "$("$PGWARD" verify --repo "$S3REPO")" "pass (depth 1)" "verify depth 1 on S3"
tk_assert_contains "$("$PGWARD" verify --repo "$S3REPO" -i key)" "pass (depth 2)" "verify depth 2 on S3"
tk_assert_contains "$(PGWARD_SCRATCH_PASSWORD=$PG_SUPERPASS "$PGWARD" verify --repo "$S3REPO" -i key --restore --scratch-url "$(super postgres)")" "pass (depth 3" "verify depth 3 on S3"
sid=$("$PGWARD" list --repo "$S3REPO" --output=json | sed -n 's/.*"backup_id": "\(.*\)".*/\1/p' | head -1)
expect_fail 30 "retained until" repo rm "shop/$sid/data.pgdump.zst.age" --repo "$S3REPO"
# signed on S3 too: list names the signer; a newer manifest put by anyone with PutObject is
# refused, and the default verify still picks the signed backup
kid=$(sed -n 1p "$PGWARD_SIGN_KEY.pub" | awk '{print $NF}')
tk_assert_contains "$("$PGWARD" list --repo "$S3REPO")" "$kid" "S3: list shows the signer"
fid=$(date -u -d '+1 minute' +%Y%m%dT%H%M%SZ)-5353
"$PGWARD" repo get "shop/$sid/manifest.json" --repo "$S3REPO" -o s3m.json
sed "s/$sid/$fid/" s3m.json | "$PGWARD" repo put "shop/$fid/manifest.json" --repo "$S3REPO" >/dev/null
expect_fail 31 "is not signed" verify --repo "$S3REPO" --backup "$fid"
tk_assert_contains "$("$PGWARD" verify --repo "$S3REPO")" "$sid: pass" "S3: default verify picks the signed backup"
# --- hostile keys planted in the bucket (issue 11, point 5): names that are not valid keys,
# next to the genuine backup and as a backup id of their own, are strays: list, verify and
# restore --backup go on, and show the names escaped
plant() {
  local code
  code=$(s3_curl PUT "/$S3_BUCKET_LOCKED/prod/shop/$1" --data-binary x -o /dev/null -w '%{http_code}') || code=curl-failed
  tk_assert_eq "$code" 200 "planting prod/shop/$1 with curl"
}
plant "$sid/a%5Cb"
plant "$sid/%1B%5B2Jclear"
plant "$sid/cr%0Dlf%0Aforged"
plant "20991231T000000Z-x%5Cy/manifest.json"
plant "20991231T000000Z-%1B%5D0%3Btitle%07/manifest.json"
set +e
out=$("$PGWARD" list --repo "$S3REPO" 2>list.err); rc=$?
set -e
tk_assert_eq "$rc" 0 "list next to hostile S3 keys (stderr: $(<list.err))"
tk_assert_contains "$out" "$sid" "the genuine backup is still listed"
tk_assert_contains "$(<list.err)" "skipping stray \"shop/$sid/\\x1b[2Jclear\"" "the ESC in an S3 key is shown escaped"
tk_assert_contains "$(<list.err)" 'cr\rlf\nforged' "CR and LF in an S3 key are shown escaped"
if printf '%s\n' "$out" | cat - list.err | LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]'; then
  tk_fail "a raw control character reached the terminal"
fi
set +e
out=$("$PGWARD" verify --repo "$S3REPO" --backup "$sid" 2>&1); rc=$?
set -e
tk_assert_eq "$rc" 24 "verify of the S3 backup with strays next to it (output: $out)"
tk_assert_contains "$out" 'a\\b: stray: not a valid object name' "verify names the '\\' stray"
"$PGWARD" restore -i key --repo "$S3REPO" --backup "$sid" --target "$(super shop_r5)" --create >/dev/null 2>restore.err ||
  { cat restore.err; tk_fail "restore --backup from S3 next to hostile keys"; }
tk_assert_eq "$(pg_row_counts shop_r5)" "$(pg_row_counts shop)" "restore from S3 next to hostile keys"
tk_pass "hostile S3 keys are strays: list, verify and restore --backup go on, names escaped"
grep -q "$S3_SECRET" "$PGWARD_AUDIT_LOG" && tk_fail "S3 secret in the audit log"
echo "backup: all checks passed"
