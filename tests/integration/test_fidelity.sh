#!/usr/bin/env bash
# test_fidelity.sh - pgward's restores come back as a stock "pg_dump -Fc | pg_restore" round
# trip does, on schemas a DBA has: (a) inheritance children, partitions, a table per schema,
# objects owned by and granted to other roles, row security with policies for other roles,
# generated columns, large objects with an owner and ACL, default privileges; (b) a generated
# database of 3,000 tables. For each: the schema text (pg_dump -s of both targets) and every
# table's row count (of the table alone) are compared for a plain restore, --jobs 2,
# --globals into a fresh cluster, and the local drill (verify depth 3, as root in a
# throwaway cluster), whose record says what it did about roles. Regressions of issue 13:
# the drill sizes its lock table from the archive (b), applies the backup's roles (a: a
# policy TO another role), errors keep their substance and say what state the target is in,
# --to-file refuses an existing file.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
for b in initdb pg_ctl postgres; do
  ls /usr/lib/postgresql/*/bin/$b >/dev/null 2>&1 || tk_skip "no PostgreSQL server programs installed"
done
# room for a one-transaction restore of 3,000 tables here; the drill's cluster gets none of it
pg_start "max_locks_per_transaction = 256" >/dev/null
NTABLES=3000

pg_psql_super >/dev/null <<'SQL'
create role app_owner nologin;
create role reader login;
create role writer nologin;
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
create database rich;
create database many;
SQL
pg_psql_super -d rich >/dev/null <<'SQL'
create schema s1;
create schema s2 authorization app_owner;
create schema s3;
create table s1.t(id int primary key, v text);
create table s2.t(id int primary key, v text);
create table s3.t(id int primary key, v text);
insert into s1.t select g, 's1-' || g from generate_series(1, 10) g;
insert into s2.t select g, 's2-' || g from generate_series(1, 20) g;
insert into s3.t select g, 's3-' || g from generate_series(1, 30) g;
alter table s1.t owner to app_owner;
alter table s2.t owner to app_owner;
grant select on s1.t to reader;
grant insert, update on s2.t to writer;
grant usage on schema s1, s2 to reader;
alter default privileges for role app_owner in schema s2 grant select on tables to reader;
-- inheritance: counts are of each table alone
create table public.parent(id int, v text);
create table public.child1(extra int) inherits (public.parent);
create table public.child2() inherits (public.parent);
insert into public.parent values (1, 'p');
insert into public.child1 values (2, 'c1', 7), (3, 'c1', 8);
insert into public.child2 values (4, 'c2');
-- partitions
create table public.meas(id int, d date, v numeric) partition by range (d);
create table public.meas_2025 partition of public.meas for values from ('2025-01-01') to ('2026-01-01');
create table public.meas_2026 partition of public.meas for values from ('2026-01-01') to ('2027-01-01');
insert into public.meas select g, date '2025-03-01' + g, g * 1.5 from generate_series(1, 600) g;
-- row security, with a policy for another role
create table public.secrets(id int, owner_name text, secret text);
insert into public.secrets values (1, 'reader', 'a'), (2, 'writer', 'b');
alter table public.secrets enable row level security;
create policy own_rows on public.secrets to reader using (owner_name = current_user);
grant select on public.secrets to reader;
alter table public.secrets owner to app_owner;
-- generated columns
create table public.gen(a int, b int generated always as (a * 2) stored);
insert into public.gen(a) select generate_series(1, 5);
-- large objects with an owner and an ACL
select lo_from_bytea(424242, 'hello');
select lo_from_bytea(424243, 'world');
alter large object 424242 owner to app_owner;
grant select on large object 424242 to reader;
grant select on large object 424242, 424243 to backup;
SQL
# a generated database of many tables, in one DO block
pg_psql_super -d many >/dev/null <<SQL
do \$\$
begin
  for i in 1..$NTABLES loop
    execute format('create table public.t%s (id int)', i);
    execute format('insert into public.t%s values (%s)', i, i);
  end loop;
end \$\$;
SQL

tk_pass "[$SECONDS s] databases built"
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk PGWARD_TARGET_PASSWORD=$PG_SUPERPASS
for db in rich many; do
  "$PGWARD" backup --db "postgresql://backup@localhost:$PGPORT_TEST/$db?sslrootcert=$PG_CA" --repo repo -r "$R" >/dev/null
done

# ---- a fresh cluster (no roles of the source) for --globals, with the same TLS identity ----
FB=${PG_DATADIR%/data}/fresh
mkdir -p "$FB"
[[ $EUID -ne 0 ]] || chown postgres: "$FB"
printf '%s\n' "$PG_SUPERPASS" >"$FB/pw"
[[ $EUID -ne 0 ]] || chown postgres: "$FB/pw"
_tk_as_pg_log "$FB" "$TK_TMP/fresh-initdb.log" "$PG_BINDIR/initdb" -D "$FB/data" -U postgres \
  --pwfile="$FB/pw" --auth-local=trust --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C \
  || { cat "$TK_TMP/fresh-initdb.log" >&2; tk_fail "initdb of the fresh cluster"; }
cp "$PG_DATADIR/server.crt" "$PG_DATADIR/server.key" "$FB/data/"
_tk_pick_port
FPORT=$_TK_PORT
cat >>"$FB/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $FPORT
unix_socket_directories = '$FB'
ssl = on
fsync = off
max_locks_per_transaction = 256
EOF
printf '%s\n' 'local all all trust' 'hostssl all all 127.0.0.1/32 scram-sha-256' >"$FB/data/pg_hba.conf"
[[ $EUID -ne 0 ]] || chown -R postgres: "$FB"
tk_on_exit "_tk_as_pg_log / /dev/null $PG_BINDIR/pg_ctl -D $FB/data -m immediate stop"
_tk_as_pg_log "$FB" "$TK_TMP/fresh-ctl.log" "$PG_BINDIR/pg_ctl" -D "$FB/data" -w -t 30 -l "$FB/log" start \
  || { cat "$TK_TMP/fresh-ctl.log" "$FB/log" >&2; tk_fail "start of the fresh cluster"; }
fresh_psql() { _tk_as_pg "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -qtA -h "$FB" -p "$FPORT" -U postgres "$@"; }

target() { echo "postgresql://postgres@localhost:$PGPORT_TEST/$1?sslrootcert=$PG_CA"; }
ftarget() { echo "postgresql://postgres@localhost:$FPORT/$1?sslrootcert=$PG_CA"; }

# schema text of a database (psql function: the main or the fresh cluster), without the
# version banner and pg_dump's per-run \restrict key
schema_of() { # psqlfn port sock db
  _tk_as_pg "$PG_BINDIR/pg_dump" -s -h "$3" -p "$2" -U postgres "$4" | grep -vE '^(--|\\restrict|\\unrestrict)' | grep -v '^$'
}
# every table's row count (the table alone), large objects with owner and ACL
rows_of() { # psqlfn db
  "$1" -d "$2" -F ' ' <<'SQL'
select format('%s.%s %s', n.nspname, c.relname,
  (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from only %I.%I', n.nspname, c.relname), false, true, '')))[1]::text)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
order by 1;
select format('lo %s %s %s', oid, lomowner::regrole, lomacl) from pg_largeobject_metadata order by oid;
SQL
}
same() { # what reference-file psqlfn port sock db
  local what=$1 ref=$2 fn=$3 port=$4 sock=$5 db=$6
  schema_of x "$port" "$sock" "$db" >"$db.schema"
  if ! diff -u "$ref.schema" "$db.schema" >"$db.diff"; then
    head -40 "$db.diff" >&2
    tk_fail "$what: the schema differs from the stock round trip ($(grep -c '^[-+][^-+]' "$db.diff") lines)"
  fi
  rows_of "$fn" "$db" >"$db.rows"
  if ! diff -u "$ref.rows" "$db.rows" >"$db.rdiff"; then
    head -20 "$db.rdiff" >&2
    tk_fail "$what: row counts differ from the stock round trip"
  fi
  tk_pass "[$SECONDS s] $what: schema ($(wc -l <"$db.schema") lines) and $(grep -vc '^lo ' "$db.rows") tables' rows as stock"
}

# ---- errors keep their substance, and say what state the target is in ----
# into the fresh cluster without the roles: ALTER SCHEMA s2 OWNER TO app_owner fails
# (before any --globals: the fresh cluster has none of the backup's roles yet)
fresh_psql -c "create database noroles" -c "create database noroles_j" -c "create database noroles_n" >/dev/null
expect_fail 20 'pg_restore (pg_restore) failed: could not execute query: ERROR:  role "' \
  restore rich -i key --repo repo --target "$(ftarget noroles)"
tk_assert_contains "$err" "; from TOC entry " "the failing TOC entry is named"
tk_assert_contains "$err" "(at: " "the failing statement is named"
tk_assert_contains "$err" "nothing was committed and the target is as it was" "one transaction: the state is said"
[[ "$err" != *"message above"* ]] || tk_fail "no message above to see"
tk_assert_eq "$(fresh_psql -d noroles -c "select count(*) from pg_class where relnamespace = 'public'::regnamespace")" 0 "one transaction: nothing committed"
expect_fail 20 'pg_restore (pg_restore) failed: could not execute query: ERROR:  role "' \
  restore rich -i key --repo repo --jobs 2 --temp-dir . --target "$(ftarget noroles_j)"
tk_assert_contains "$err" "the target is partly restored (it now holds " "--jobs: the state is said"
tk_assert_contains "$err" "restore again with --clean" "--jobs: what to do"
[[ "$err" != *"nothing was committed"* ]] || tk_fail "--jobs: never 'nothing was committed'"
expect_fail 20 'ERROR:  role "' restore rich -i key --repo repo --no-single-transaction --target "$(ftarget noroles_n)"
tk_assert_contains "$err" "pg_restore without one transaction commits as it goes" "--no-single-transaction: the state is said"
tk_assert_contains "$err" "the target is partly restored" "--no-single-transaction: partly restored"

if [[ $EUID -eq 0 ]] && ! getent passwd pgward-scratch >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgward-scratch
fi
SCR=$TK_TMP/scr
mkdir "$SCR"
chmod 0711 "$TK_TMP" "$SCR"

for db in rich many; do
  # all at once (pg_restore waits on round trips more than on the CPU): the stock round trip,
  # the reference; a plain restore (one transaction); --jobs 2; --globals into the fresh
  # cluster (the backup role's pg_read_all_data is privileged); the local drill, with
  # default settings but its lock table
  pg_psql_super -c "create database stock_$db" >/dev/null
  { _tk_as_pg "$PG_BINDIR/pg_dump" -Fc -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres "$db" >"$db.stock.dump" &&
    _tk_as_pg "$PG_BINDIR/pg_restore" --exit-on-error -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d "stock_$db" <"$db.stock.dump"; } >"$db.stock.log" 2>&1 &
  p_stock=$!
  "$PGWARD" restore "$db" -i key --repo repo --create --target "$(target "plain_$db")" >"$db.plain.log" 2>&1 &
  p_plain=$!
  "$PGWARD" restore "$db" -i key --repo repo --create --jobs 2 --temp-dir . --target "$(target "jobs_$db")" >"$db.jobs.log" 2>&1 &
  p_jobs=$!
  "$PGWARD" restore "$db" -i key --repo repo --create --globals --allow-privileged-roles \
    --target "$(ftarget "$db")" >"$db.globals.log" 2>&1 &
  p_globals=$!
  TMPDIR=$SCR "$PGWARD" verify "$db" --repo repo -i key --restore --scratch-local >"$db.verify.out" 2>"$db.verify.err" &
  p_verify=$!
  wait $p_stock || { cat "$db.stock.log" >&2; tk_fail "$db: the stock round trip"; }
  wait $p_plain || { cat "$db.plain.log" >&2; tk_fail "$db: plain restore"; }
  wait $p_jobs || { cat "$db.jobs.log" >&2; tk_fail "$db: restore --jobs 2"; }
  wait $p_globals || { cat "$db.globals.log" >&2; tk_fail "$db: --globals into a fresh cluster"; }
  wait $p_verify || { cat "$db.verify.out" "$db.verify.err" >&2; tk_fail "$db: the local drill"; }
  tk_pass "[$SECONDS s] $db: restored five ways"

  schema_of x "$PGPORT_TEST" "$PG_SOCKDIR" "stock_$db" >"stock_$db.schema"
  rows_of pg_psql_super "stock_$db" >"stock_$db.rows"
  [[ $db != many ]] || tk_assert_eq "$(grep -vc '^lo ' "stock_$db.rows")" "$NTABLES" "many: the stock round trip has every table"
  same "$db: plain restore" "stock_$db" pg_psql_super "$PGPORT_TEST" "$PG_SOCKDIR" "plain_$db"
  same "$db: --jobs 2" "stock_$db" pg_psql_super "$PGPORT_TEST" "$PG_SOCKDIR" "jobs_$db"
  same "$db: --globals into a fresh cluster" "stock_$db" fresh_psql "$FPORT" "$FB" "$db"

  out=$(cat "$db.verify.out")
  tk_assert_contains "$out" "pass (depth 3" "$db: the drill passes"
  tk_assert_contains "$out" "roles: the backup's roles object" "$db: the drill says where the roles came from"
  rec=$(ls repo/"$db"/*/verify-*.json | tail -1)
  grep -q '"restore_options": "--no-owner"' "$rec" || tk_fail "$db: the record says owners were not restored"
  grep -q '"privileges": "restored' "$rec" || tk_fail "$db: the record says privileges were restored"
  [[ -z "$(ls -A "$SCR")" ]] || tk_fail "$db: the scratch cluster's directory is removed"
  tk_pass "[$SECONDS s] $db: the local drill passes and says what it did about roles"
done
rec=$(ls repo/many/*/verify-*.json | tail -1)
locks=$(grep -o '"max_locks_per_transaction": [0-9]*' "$rec" | grep -o '[0-9]*$')
((locks >= NTABLES * 2 / 20)) || tk_fail "many: the drill's cluster was sized ($locks locks per transaction)"
tk_pass "many: the drill's cluster had max_locks_per_transaction = $locks"
rec=$(ls repo/rich/*/verify-*.json | tail -1)
tk_assert_contains "$(grep -A3 '"name": "parent"' "$rec")" '"restored_rows": 1' "rich: the parent's rows are its own (ONLY)"

# ---- a grant made by another grantor: pg_dump replays it with SET SESSION AUTHORIZATION,
# which the drill's role may not run; the drill restores again without grants and says so
pg_psql_super -c "create database grantor" >/dev/null
pg_psql_super -d grantor >/dev/null <<'SQL'
create table public.g(id int);
insert into public.g values (1), (2);
alter table public.g owner to app_owner;
grant select on public.g to writer with grant option;
set role writer;
grant select on public.g to reader;
SQL
"$PGWARD" backup --db "postgresql://backup@localhost:$PGPORT_TEST/grantor?sslrootcert=$PG_CA" --repo repo -r "$R" >/dev/null
out=$(TMPDIR=$SCR "$PGWARD" verify grantor --repo repo -i key --restore --scratch-local 2>&1) \
  || { echo "$out" >&2; tk_fail "grantor: the drill"; }
tk_assert_contains "$out" "pass (depth 3" "grantor: the drill passes"
tk_assert_contains "$out" "privileges not restored: the restore with them failed" "grantor: the output says grants were left out"
tk_assert_contains "$out" "restored again with --no-privileges" "grantor: and how it restored"

# ---- a role setting pgward does not apply: the drill applies the roles without it, and
# says so (ALTER ROLE ... SET search_path is skipped and listed by pgward's globals applier)
pg_psql_super -c "alter role writer set search_path = s1, public" >/dev/null
"$PGWARD" backup --db "postgresql://backup@localhost:$PGPORT_TEST/rich?sslrootcert=$PG_CA" --repo repo -r "$R" >/dev/null
id=$("$PGWARD" list rich --repo repo --output=json | grep -o '"backup_id": *"[^"]*"' | sort | tail -1 | cut -d'"' -f4)
[[ -n "$id" ]] || tk_fail "the new backup's id"
out=$(TMPDIR=$SCR "$PGWARD" verify rich --repo repo -i key --backup "$id" --restore --scratch-local 2>&1) \
  || { echo "$out" >&2; tk_fail "drill with a role setting pgward does not apply"; }
tk_assert_contains "$out" "pass (depth 3" "drill with a skipped setting: passes"
tk_assert_contains "$out" "roles: the backup's roles object" "drill with a skipped setting: the roles applied"
tk_assert_contains "$out" 'role "writer": setting "search_path" not applied (pgward does not apply this parameter)' \
  "drill with a skipped setting: the output names it"
rec=$(ls -t repo/rich/"$id"/verify-*.json | head -1)
grep -q '"settings_skipped": 1' "$rec" || tk_fail "the drill's record counts the skipped setting"
grep -q '"parameter": "search_path"' "$rec" || tk_fail "the drill's record lists the skipped setting"
[[ -z "$(ls -A "$SCR")" ]] || tk_fail "the scratch cluster's directory is removed"

# ---- --to-file refuses an existing file unless --force ----
echo keep >existing.dump
expect_fail 6 '"existing.dump" exists; --to-file does not replace a file' \
  restore rich -i key --repo repo --to-file existing.dump
tk_assert_contains "$err" "--force" "--to-file: the hint names --force"
tk_assert_eq "$(cat existing.dump)" "keep" "--to-file: the file is untouched"
"$PGWARD" restore rich -i key --repo repo --to-file existing.dump --force >/dev/null 2>&1
[[ "$(head -c 5 existing.dump)" == "PGDMP" ]] || tk_fail "--to-file --force replaces the file"
tk_pass "fidelity"
