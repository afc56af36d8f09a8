#!/usr/bin/env bash
# test_privs.sh - the one privilege model (src/pg/privs.c) through the backup preflight,
# against real PostgreSQL 15: every way a role can write is refused (exit 22, the object
# named), each printed fix is run against the server as printed and the preflight then
# passes; a pure read-only role passes; identifiers with mixed case, quotes, spaces,
# newlines and "--" give fixes that run; a 5,000-table database is examined quickly.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_psql_super -c 'create database app' >/dev/null
pg_psql_super -d app >/dev/null <<'SQL'
create schema app;
create table app.users(id int primary key, name text, email text);
insert into app.users values (1, 'ann', 'a@example.com');
create table app.orders(id serial primary key, total int);
create view app.users_v as select * from app.users;
select lo_from_bytea(0, 'blob one'), lo_from_bytea(0, 'blob two');
create schema "Mixed Case ""Schema""";
create table "Mixed Case ""Schema"""."Owned Tab" (x int);
create table app."new
line -- table" (x int);
create role bk login password 'bk' bypassrls;
grant pg_read_all_data to bk;
-- the same reads granted directly, so that NOINHERIT (below) still reads everything
grant usage on schema app, "Mixed Case ""Schema""" to bk;
grant select on all tables in schema app, "Mixed Case ""Schema""" to bk;
grant select on all sequences in schema app to bk;
create role writer nologin; grant update on app.users to writer;
create role "Wri""ter -- x
y" nologin; grant insert on app.orders to "Wri""ter -- x
y";
SQL
pg_psql_super -d app -Atc "select format('grant select on large object %s to bk;', oid) from pg_largeobject_metadata" | pg_psql_super -d app >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
DB="postgresql://bk@localhost:$PGPORT_TEST/app?sslrootcert=$PG_CA"
export PGWARD_DB_PASSWORD=bk
sql() { pg_psql_super -d app "$@"; }

# backup_ok: the preflight passes (and the backup with it)
backup_ok() {
    rm -rf repo
    "$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>ok.err \
        || tk_fail "$1: the preflight should pass: $(cat ok.err)"
}
# run_fixes: every "fix:" the last refusal printed, run as printed (one file, psql -f)
run_fixes() {
    python3 - "$err" >fixes.sql <<'PY'
import re, sys
text = sys.argv[1]
fixes = re.findall(r"\n      fix: (.*?)(?=\n  (?:privilege|incomplete): |\n  \.\.\. |\npgward|\nHINT|\Z)", text, re.S)
print("\n".join(fixes))
PY
    [[ -s fixes.sql ]] || tk_fail "$1: no fix printed: $err"
    pg_psql_super -d app -f "$TK_TMP/fixes.sql" >fix.out 2>&1 || tk_fail "$1: the printed fix does not run: $(cat fixes.sql) $(cat fix.out)"
}
# refused CASE NEEDLE: exit 22 naming the object; then the fix runs and the preflight passes
refused() {
    expect_fail 22 "$2" backup --db "$DB" --repo repo -r "$R"
    tk_assert_contains "$err" "  privilege: " "$1: refused as a write path"
    run_fixes "$1"
    backup_ok "$1 (after its fix)"
}

# --- a pure read-only role passes
backup_ok "read-only role"

# --- issue 12 regression: column grant + sequence USAGE (the old preflight let it through)
test_issue12_column_grant_and_sequence_usage() {
    sql -c 'grant update (name) on app.users to bk; grant usage on sequence app.orders_id_seq to bk'
    expect_fail 22 'UPDATE (name) on app.users' backup --db "$DB" --repo repo -r "$R"
    tk_assert_contains "$err" 'USAGE on SEQUENCE app.orders_id_seq' "issue 12: sequence USAGE named"
    run_fixes "issue 12"
    backup_ok "issue 12 (after its fix)"
}
test_issue12_column_grant_and_sequence_usage

# --- each write path, refused with the object named
sql -c 'grant update on sequence app.orders_id_seq to bk'
refused "sequence UPDATE" 'UPDATE on SEQUENCE app.orders_id_seq'
sql -c 'grant insert (email) on app.users to public'
refused "column INSERT to PUBLIC" 'INSERT (email) on app.users (granted to PUBLIC)'
sql -c 'grant delete on app.users_v to bk'
refused "DELETE on a view" 'DELETE on app.users_v'
lo=$(sql -Atc 'select min(oid) from pg_largeobject_metadata')
sql -c "grant update on large object $lo to bk"
refused "large-object UPDATE" "UPDATE on 1 large object ($lo)"
sql -c "alter large object $lo owner to bk"
refused "large-object ownership" "OWNER of 1 large object ($lo)"
sql -c 'grant writer to bk'
refused "membership, inherited" 'UPDATE on app.users through membership in "writer"'
sql -c 'alter role bk noinherit; grant writer to bk'
refused "membership, NOINHERIT + SET ROLE" 'UPDATE on app.users through SET ROLE to "writer"'
sql -c 'alter role bk inherit'
sql -c 'grant writer to bk; alter role bk set role = writer'
# the session check refuses it before the preflight (the session would run as writer)
expect_fail 22 '(ALTER ROLE "bk" SET role=writer)' backup --db "$DB" --repo repo -r "$R"
tk_assert_contains "$err" 'ALTER ROLE "bk" RESET role' "the session refusal names the fix"
sql -c 'alter role bk reset role'
refused "membership left after the reset" 'UPDATE on app.users through membership in "writer"'
sql -c 'grant pg_write_all_data to bk'
refused "pg_write_all_data" 'membership in pg_write_all_data'
sql -c 'grant create on schema app to bk'
refused "CREATE on a schema" 'may CREATE in schema app'
sql -c 'grant create on database app to public'
refused "CREATE on the database" 'may CREATE in database app (granted to PUBLIC)'
sql -c 'alter table app.orders owner to bk'
refused "ownership of a table" 'owns table app.orders'
# every kind of object it can own: each fix is the right ALTER, in an order that runs (a
# sequence linked to a table follows the table: alpha_seq sorts before zeta)
sql >/dev/null <<'Q'
create table app.zeta (id int);
create sequence app.alpha_seq owned by app.zeta.id;
create function app."Fn"(a int, b text) returns int language sql as 'select 1';
create procedure app.proc() language sql as 'select 1';
create aggregate app.agg(int) (sfunc = int4pl, stype = int);
create domain app.dom as int; create type app.mood as enum ('ok'); create type app.pair as (a int, b int);
create materialized view app.mv as select 1 as x;
do $$ declare o text; begin foreach o in array array['table app.zeta', 'function app."Fn"(int, text)',
  'procedure app.proc()', 'aggregate app.agg(int)', 'domain app.dom', 'type app.mood', 'type app.pair',
  'view app.users_v', 'materialized view app.mv'] loop
  execute format('alter %s owner to bk', o); end loop; end $$;
Q
refused "ownership of each kind" 'owns function app."Fn"(a integer, b text)'
for w in 'owns table app.zeta' 'owns procedure app.proc()' 'owns aggregate app.agg(integer)' 'owns domain app.dom' \
         'owns type app.mood' 'owns type app.pair' 'owns view app.users_v' 'owns materialized view app.mv'; do
    tk_assert_contains "$err" "$w" "ownership: $w"
done
[[ $err != *'owns sequence app.alpha_seq'* ]] || tk_fail "a linked sequence is the table's: $err"
sql -c 'alter role bk createdb'
refused "CREATEDB" 'role "bk" has CREATEDB'
sql -c 'alter system set lo_compat_privileges = on' -c 'select pg_reload_conf()' >/dev/null
refused "lo_compat_privileges" 'lo_compat_privileges = on'
sql -c 'alter database app reset lo_compat_privileges' -c 'alter system reset lo_compat_privileges' -c 'select pg_reload_conf()' >/dev/null

# --- identifiers that need quoting: the printed fixes run
sql -c 'alter table "Mixed Case ""Schema"""."Owned Tab" owner to bk'
refused "owner of a mixed-case quoted name" 'owns table "Mixed Case ""Schema"""."Owned Tab"'
tk_assert_contains "$(cat fixes.sql)" 'ALTER TABLE "Mixed Case ""Schema"""."Owned Tab" OWNER TO' "quoted owner fix"
sql -c 'grant truncate on app."new
line -- table" to bk'
refused "newline and -- in a table name" 'TRUNCATE on app."new'
sql -c 'grant "Wri""ter -- x
y" to bk'
refused "membership in a role with quotes, -- and a newline" 'INSERT on app.orders through membership in'
backup_ok "all fixed"

# --- more than 50 large objects: the fix is a block that finds them, not a cut-off list
sql -Atc "select lo_from_bytea(0, 'x') from generate_series(1, 60)" >/dev/null
sql -Atc "select format('grant select, update on large object %s to bk;', oid) from pg_largeobject_metadata" | sql >/dev/null
refused "61+ writable large objects" 'UPDATE on 62 large objects'
tk_assert_contains "$(cat fixes.sql)" 'DO $pgward$' "a block for many large objects"
sql -Atc "select format('revoke select on large object %s from bk;', oid) from pg_largeobject_metadata" | sql >/dev/null
expect_fail 22 'cannot read 62 large objects' backup --db "$DB" --repo repo -r "$R"
run_fixes "unreadable large objects (incomplete)"
backup_ok "large objects readable again"

# --- 5,000 tables: the model is a few statements, not one per object
sql -c 'create schema wide' -c "select format('create table wide.t%s (id int, v text);', g) from generate_series(1, 5000) g" -Atq | sql >/dev/null
sql -c 'grant update (v) on wide.t4999 to bk'
t0=$(date +%s%N)
expect_fail 22 'UPDATE (v) on wide.t4999' backup --db "$DB" --repo repo -r "$R"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
tk_log_time="preflight on 5,000 tables: ${ms} ms"
echo "$tk_log_time" >&2
(( ms < 10000 )) || tk_fail "the preflight took ${ms} ms on 5,000 tables"
tk_pass
