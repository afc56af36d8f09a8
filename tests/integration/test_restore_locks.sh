#!/usr/bin/env bash
# test_restore_locks.sh - a one-transaction restore that the target's lock table cannot hold
# is refused before anything is restored, naming max_locks_per_transaction and the value to
# set (a stock pg_restore --single-transaction dies with "out of shared memory" near its end);
# --no-single-transaction and --jobs restore it. The server is made small on purpose
# (10 locks x 20 connections) so that 150 tables are "thousands".
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start "max_locks_per_transaction = 10" "max_connections = 20" >/dev/null
pg_psql_super -c "create database many" >/dev/null
pg_psql_super -d many >/dev/null <<'SQL'
create role backup login password 'bk';
grant pg_read_all_data to backup;
select format('create table public.t%s (id int primary key, v text); insert into public.t%s values (1, ''x'');', g, g)
  from generate_series(1, 150) g \gexec
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk PGWARD_TARGET_PASSWORD=$PG_SUPERPASS
"$PGWARD" backup --db "postgresql://backup@localhost:$PGPORT_TEST/many?sslrootcert=$PG_CA" --repo repo -r "$R" >/dev/null
target() { echo "postgresql://postgres@localhost:$PGPORT_TEST/$1?sslrootcert=$PG_CA"; }

# stock tools, for the record: pg_restore --single-transaction runs out of lock slots
"$PGWARD" restore -i key --repo repo --to-file many.dump >/dev/null
pg_psql_super -c "create database stock" >/dev/null
set +e
stock=$(pg_restore --single-transaction --exit-on-error -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d stock many.dump 2>&1)
set -e
tk_assert_contains "$stock" "max_locks_per_transaction" "stock pg_restore fails on the lock table"

# pgward says so before it starts, and leaves nothing behind
expect_fail 20 "needs about" restore -i key --repo repo --create --target "$(target r1)"
tk_assert_contains "$err" "max_locks_per_transaction 10 x (max_connections 20" "the settings are named"
tk_assert_contains "$err" "nothing was restored" "the state is said"
tk_assert_contains "$err" "Set max_locks_per_transaction = " "the value to set is given"
tk_assert_contains "$err" "--no-single-transaction" "the alternative is given"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_database where datname = 'r1'")" 0 "no database left behind"

# the alternatives work
"$PGWARD" restore -i key --repo repo --create --no-single-transaction --target "$(target r2)" >/dev/null
tk_assert_eq "$(pg_psql_super -d r2 -c "select count(*) from pg_tables where schemaname = 'public'")" 150 "--no-single-transaction restores every table"
"$PGWARD" restore -i key --repo repo --create --jobs 2 --temp-dir . --target "$(target r3)" >/dev/null
tk_assert_eq "$(pg_psql_super -d r3 -c "select count(*) from pg_tables where schemaname = 'public'")" 150 "--jobs 2 restores every table"
tk_pass "lock table"
