#!/usr/bin/env bash
# test_verify_local.sh - verify --restore --scratch-local: the drill runs in a throwaway
# cluster pgward starts itself (as an unprivileged user when the test runs as root), passes
# and reports row counts; a backup that does not restore elsewhere is caught; and on every
# path - pass, failure, SIGTERM - the cluster's directory is gone and no server of it runs.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
for b in initdb pg_ctl postgres; do
  ls /usr/lib/postgresql/*/bin/$b >/dev/null 2>&1 || tk_skip "no PostgreSQL server programs installed"
done
pg_sample_db shop 5000
# a backup that restores only into a database named "fussy": a restore drill must catch it
pg_psql_super -c "create database fussy" >/dev/null
pg_psql_super -d fussy >/dev/null <<'SQL'
create table public.fussy(x int check (current_database() = 'fussy'));
insert into public.fussy select generate_series(1, 10);
SQL
# a backup whose restore takes a few seconds (a CHECK that sleeps): room for a SIGTERM
pg_psql_super -c "create database slow" >/dev/null
pg_psql_super -d slow >/dev/null <<'SQL'
create function public.slow(x int) returns boolean language sql
  as $$ select true from pg_catalog.pg_sleep(0.01) $$;
create table public.slowpoke(x int check (public.slow(x)));
insert into public.slowpoke select generate_series(1, 500);
SQL
# code planted by an ordinary user with CREATE on a schema, in a genuine backup: a function
# that leaves the database (COPY TO PROGRAM) whenever it runs with the power to, called from
# a CHECK constraint, an index expression and a column default
DROP=$TK_TMP/drop
mkdir "$DROP"; chmod 1777 "$DROP"
pg_psql_super -c "create database evil" -c "create role mallory login" >/dev/null
pg_psql_super -d evil -c "grant create on schema public to mallory" >/dev/null
pg_psql_super -d evil -U mallory >/dev/null <<SQL
create function public.leak(x int) returns boolean language plpgsql volatile as \$\$
begin
  if pg_catalog.pg_has_role(current_user, 'pg_execute_server_program', 'usage') then
    execute 'copy (select 1) to program ''touch $DROP/pwned-' || x || '''';
  end if;
  return true;
end \$\$;
create function public.leak_default() returns int language plpgsql volatile as \$\$
begin
  perform public.leak(0);
  return 1;
end \$\$;
-- an index expression must be immutable: a wrapper that says so and calls the volatile one
create function public.leak_imm(x int) returns boolean language plpgsql immutable as \$\$
begin
  return public.leak(x);
end \$\$;
create table public.orders(id int check (public.leak(id)), n int default public.leak_default());
insert into public.orders(id) select generate_series(1, 3);
create index on public.orders ((public.leak_imm(id + 100)));
SQL
[[ -z "$(ls -A "$DROP")" ]] || tk_fail "the payload ran while it was planted"
# an untrusted extension (needs superuser to create): the drill names it
pg_psql_super -c "create database ext" >/dev/null
pg_psql_super -d ext -c "create extension file_fdw" -c "create table public.t(x int)" -c "insert into public.t values (1)" >/dev/null
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk
for db in shop fussy slow evil ext; do
  "$PGWARD" backup --db "postgresql://backup@localhost:$PGPORT_TEST/$db?sslrootcert=$PG_CA" --repo repo -r "$R" >/dev/null
done

# as root the cluster runs as its own system user (tools/deps.sh creates it)
if [[ $EUID -eq 0 ]] && ! getent passwd pgward-scratch >/dev/null; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgward-scratch
fi
# the clusters go under their own TMPDIR, which must be empty after every run; as root the
# cluster runs as pgward-scratch, which must be able to reach it
SCR=$TK_TMP/scr
mkdir "$SCR"
chmod 0711 "$TK_TMP" "$SCR"
export TMPDIR=$SCR
nothing_left() { # what
  tk_assert_eq "$(ls -A "$SCR")" "" "$1: the scratch cluster's directory is removed"
  if pgrep -f "$SCR" >/dev/null; then
    pgrep -af "$SCR" >&2
    tk_fail "$1: a server of the scratch cluster still runs"
  fi
}

# clean: passes, reports every table's rows, says where it ran; nothing on stderr
out=$("$PGWARD" verify shop --repo repo -i key --restore --scratch-local 2>err.txt) || { echo "$out" >&2; cat err.txt >&2; tk_fail "verify shop"; }
tk_assert_contains "$out" "pass (depth 3, restored in" "depth 3 in a local cluster"
tk_assert_contains "$out" "in a local throwaway PostgreSQL 15" "server version named"
tk_assert_contains "$out" "row counts of " "row counts reported"
tk_assert_eq "$(cat err.txt)" "" "no warnings (no TLS on the private socket is expected)"
nothing_left "pass"
rec=$(ls repo/shop/*/verify-*.json | tail -1)
grep -q '"kind": "local"' "$rec" || tk_fail "the record says the drill ran locally"
grep -q '"restore_seconds"' "$rec" || tk_fail "the record has the restore time"
cust=$(grep -A3 '"name": "customers"' "$rec")
tk_assert_contains "$cust" '"restored_rows": 5000' "the record has the row counts"
if [[ $EUID -eq 0 ]]; then
  grep -q '"os_user": "pgward-scratch"' "$rec" || tk_fail "as root, the cluster ran as pgward-scratch"
fi
grep -q '"restore_role": "pgward_restore"' "$rec" || tk_fail "the record names the drill's role"
grep -q '"restore_role_superuser": false' "$rec" || tk_fail "the drill's role is no superuser"
json=$("$PGWARD" verify shop --repo repo -i key --restore --scratch-local --output=json)
tk_assert_contains "$json" '"server_version": "15.' "json: server version"
tk_assert_contains "$json" '"result": "pass"' "json: pass"
nothing_left "json"

# a backup that does not restore into another database: caught, and cleaned up
set +e
out=$("$PGWARD" verify fussy --repo repo -i key --restore --scratch-local 2>&1); rc=$?
set -e
tk_assert_eq "$rc" 24 "exit status of a failing drill"
tk_assert_contains "$out" 'fail (depth 3, restored in' "failing drill: report"
tk_assert_contains "$out" 'data.pgdump.zst.age: the restore drill failed: pg_restore (pg_restore) failed: COPY failed for table "fussy"' "failing drill: the cause"
tk_assert_contains "$out" 'HINT: ' "failing drill: hint"
tk_assert_contains "$out" 'DETAIL: Failing row contains' "failing drill: PostgreSQL's DETAIL is kept"
tk_assert_contains "$out" '; from TOC entry ' "failing drill: the TOC entry is named"
tk_assert_contains "$out" 'this is not tampering' "failing drill: the hint says what failed"
[[ "$out" != *"changed the repository"* ]] || tk_fail "failing drill: a good backup's failing drill is not blamed on the repository"
[[ "$out" != *"message above"* ]] || tk_fail "failing drill: no message above to see"
nothing_left "failed drill"

# another drill's initdb runs its bootstrap "postgres" in its pgward-scratch-XXXXXX directory
# (not yet in .../data): that is a scratch cluster, not a real one owned by the scratch user
if [[ $EUID -eq 0 ]]; then
  boot=$(mktemp -d "$SCR/pgward-scratch-XXXXXX")
  chown pgward-scratch "$boot"
  cp "$(command -v sleep)" "$boot/postgres"
  runuser -u pgward-scratch -- sh -c "cd '$boot' && exec ./postgres 60" &
  bootpid=$!
  for ((i = 0; i < 200; i++)); do
    [[ "$(readlink "/proc/$bootpid/cwd" 2>/dev/null)" == "$boot" ]] && break
    sleep 0.02
  done
  out=$("$PGWARD" verify shop --repo repo -i key --restore --scratch-local 2>&1) || {
    kill "$bootpid"
    tk_fail "a drill while another drill's initdb runs: $out"
  }
  kill "$bootpid"; wait "$bootpid" 2>/dev/null || true
  rm -rf "$boot"
  tk_assert_contains "$out" "pass (depth 3" "a drill beside another drill's initdb"
fi

# SIGTERM while pg_restore runs in the scratch cluster: exit 130 at once, nothing left
"$PGWARD" verify slow --repo repo -i key --restore --scratch-local >/dev/null 2>sig.txt &
pid=$!
# (pg_restore's command line names the socket directory)
for ((i = 0; i < 300; i++)); do
  pgrep -f "pg_restore.*$SCR" >/dev/null && break
  sleep 0.05
done
compgen -G "$SCR/pgward-scratch-*/data/postmaster.pid" >/dev/null || tk_fail "the scratch cluster did not start"
pgrep -f "pg_restore.*$SCR" >/dev/null || tk_fail "the restore into the scratch cluster did not start"
sleep 0.3
kill -TERM "$pid"
t0=$(date +%s%N)
set +e
wait "$pid"; rc=$?
set -e
ms=$((($(date +%s%N) - t0) / 1000000))
tk_assert_eq "$rc" 130 "exit status after SIGTERM ($(cat sig.txt))"
# the restore alone takes 5 s: pg_restore is stopped, not waited for
((ms < 3000)) || tk_fail "SIGTERM took $ms ms to stop the drill"
tk_pass "SIGTERM stopped the drill in $ms ms"
tk_assert_contains "$(cat sig.txt)" "interrupted by signal 15" "message after SIGTERM"
nothing_left "SIGTERM"
out=$("$PGWARD" verify slow --repo repo -i key --restore --scratch-local)
tk_assert_contains "$out" "pass (depth 3" "slow passes when left alone"
nothing_left "slow"

# the planted payload runs nothing outside the database: the drill restores as a role
# without superuser or pg_execute_server_program, so the functions take their harmless branch
out=$("$PGWARD" verify evil --repo repo -i key --restore --scratch-local 2>&1) || { echo "$out" >&2; tk_fail "verify evil"; }
tk_assert_contains "$out" "pass (depth 3" "a drill of the planted backup passes"
tk_assert_eq "$(ls -A "$DROP")" "" "no file made by the planted COPY TO PROGRAM"
nothing_left "planted payload"
# what needs superuser fails by name, not as damage
set +e
out=$("$PGWARD" verify ext --repo repo -i key --restore --scratch-local 2>&1); rc=$?
set -e
tk_assert_eq "$rc" 24 "exit status of a drill that needs superuser"
tk_assert_contains "$out" "needs privileges the drill never grants" "the drill says why"
tk_assert_contains "$out" "which the drill never grants (see above)" "the hint does not call it damage"
tk_assert_contains "$out" 'extension "file_fdw"' "the drill names the extension"
tk_assert_contains "$out" "(at: CREATE EXTENSION IF NOT EXISTS file_fdw" "the drill names the statement"
tk_assert_contains "$out" "(PostgreSQL's hint: Must be superuser to create this extension." "PostgreSQL's HINT is kept"
nothing_left "untrusted extension"

# no server programs of the backup's version or newer: a clear error, no directory made
cp -r repo r98
sed -i 's/"server_version": "[0-9]*/"server_version": "98/' r98/shop/*/manifest.json
expect_fail 3 "no PostgreSQL server programs (initdb, pg_ctl, postgres) of version 98 or newer" verify shop --repo r98 -i key --restore --scratch-local --allow-unsigned
tk_assert_contains "$err" "Install postgresql-98 or use --scratch-url." "hint names the package"
nothing_left "no binaries"

# bad input
expect_fail 2 "--scratch-url and --scratch-local are alternatives" verify shop --repo repo -i key --restore --scratch-local --scratch-url "postgresql://x@localhost/postgres"
export PGWARD_SCRATCH_LOCAL=yes
expect_fail 2 "scratch-url is set by command line option --scratch-url" verify shop --repo repo -i key --restore --scratch-url "postgresql://x@localhost/postgres"
unset PGWARD_SCRATCH_LOCAL
expect_fail 2 "--restore needs -i IDENTITY and --scratch-url URL or --scratch-local" verify shop --repo repo --restore --scratch-local
if [[ $EUID -eq 0 ]]; then
  expect_fail 5 'the scratch cluster cannot run as user "root": it is root' verify shop --repo repo -i key --restore --scratch-local --scratch-user root
  # never the account of the real clusters, nor a user that owns a running one
  expect_fail 5 'the scratch cluster cannot run as user "postgres": it is the account of the real PostgreSQL clusters' verify shop --repo repo -i key --restore --scratch-local --scratch-user postgres
  tk_assert_contains "$err" "useradd --system" "hint: a user of its own"
  expect_fail 3 'the scratch user "no-such-user-pw" does not exist' verify shop --repo repo -i key --restore --scratch-local --scratch-user no-such-user-pw
fi
nothing_left "bad input"
echo "verify --scratch-local: all checks passed"
