#!/usr/bin/env bash
# test_children.sh - what pgward's children get and what becomes of them: no PGWARD_*, AWS_*,
# PGSSLPASSWORD (and no PGPASSWORD but the one a child needs) in /proc/PID/environ of pg_dump,
# pg_restore and the drill's server, read while they run; no core dumps, no ptrace (pgward
# is not dumpable); on-change hooks get neither secrets nor stray descriptors, a hook that
# ignores SIGTERM and one that calls setsid are gone after the timeout, and SIGTERM to
# pgward during a hook exits 130 with the rotation resumable; restore as a superuser warns,
# --role restores as the database owner.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null

# secrets in pgward's own environment that no child may see
export PGWARD_LEAK_MARKER=leak-marker-1 AWS_SECRET_ACCESS_KEY=leak-marker-2 AWS_SESSION_TOKEN=leak-marker-3 \
  AWS_CONTAINER_AUTHORIZATION_TOKEN=leak-marker-4 AWS_WEB_IDENTITY_TOKEN_FILE=/leak-marker-5 \
  PGSSLPASSWORD=leak-marker-6 AWS_ACCESS_KEY_ID=leak-marker-7

env_of() { tr '\0' '\n' <"/proc/$1/environ"; }
# check_env PID LABEL [PGPASSWORD the child may have]
check_env() {
  local e
  e=$(env_of "$1") || tk_fail "$2: cannot read /proc/$1/environ"
  [[ -n "$e" ]] || tk_fail "$2: empty environ read (the process ended?)"
  if grep -E '^(PGWARD_|AWS_|PGSSLPASSWORD=)' <<<"$e" >&2; then tk_fail "$2: a variable of pgward's"; fi
  if grep 'leak-marker' <<<"$e" >&2; then tk_fail "$2: a secret value of pgward's"; fi
  local pw
  pw=$(sed -n 's/^PGPASSWORD=//p' <<<"$e")
  tk_assert_eq "$pw" "${3:-}" "$2: PGPASSWORD is only the one it needs"
  tk_pass "$2: allow-list environment ($(wc -l <<<"$e") variables)"
}
# wait_pid PATTERN -> the pid of the newest process whose command line matches
wait_pid() {
  local p
  for ((i = 0; i < 600; i++)); do
    p=$(pgrep -n -f "$1" || true)
    [[ -n "$p" ]] && { echo "$p"; return 0; }
    sleep 0.02
  done
  return 1
}

pg_psql_super >/dev/null <<'SQL'
create role backup login password 'bk-pw' bypassrls;
grant pg_read_all_data to backup;
create role appowner login password 'owner-pw';
create database app owner appowner;
SQL
# a restore that takes a few seconds (a CHECK that sleeps): time to read its children
pg_psql_super -d app >/dev/null <<'SQL'
create function public.slow(x int) returns boolean language sql
  as $$ select true from pg_catalog.pg_sleep(0.01) $$;
create table public.slowpoke(x int check (public.slow(x)));
insert into public.slowpoke select generate_series(1, 300);
alter table public.slowpoke owner to appowner;
alter function public.slow(int) owner to appowner;
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk-pw
DB="postgresql://backup@localhost:$PGPORT_TEST/app?sslrootcert=$PG_CA"

# --- pg_dump: held on a lock so it lives long enough to be read
pg_psql_super -d app -c "begin; lock table public.slowpoke in access exclusive mode; select pg_sleep(3); commit;" >/dev/null &
locker=$!
slowpoke_locked() { [ "$(pg_psql_super -d app -c "select count(*) from pg_locks where relation = 'public.slowpoke'::regclass and mode = 'AccessExclusiveLock' and granted")" = 1 ]; }
tk_wait_for 10 "the lock on slowpoke held" slowpoke_locked
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>bk.err &
bk=$!
pid=$(wait_pid "pg_dump.*port='$PGPORT_TEST'") || tk_fail "pg_dump did not start: $(cat bk.err)"
check_env "$pid" "pg_dump" bk-pw
# the keeper between pgward and pg_dump holds no descriptor of pgward's
keeper=$(awk '{print $4}' "/proc/$pid/stat")
tk_assert_eq "$(ls "/proc/$keeper/fd" | sort -n | tr '\n' ' ')" "0 1 2 " "the keeper holds only /dev/null"
# core dumps off and not dumpable, in pgward itself
tk_assert_eq "$(awk '/^Max core file size/ {print $5, $6}' "/proc/$bk/limits")" "0 0" "pgward: core file size limit 0"
wait "$bk" || tk_fail "backup: $(cat bk.err)"
wait "$locker" || true

# --- not dumpable: run as an ordinary user, its /proc files stay root's (no ptrace, no
# /proc/PID/mem or environ for that user); a blocked encrypt keeps it alive
mkfifo in.fifo; chmod 666 in.fifo
runuser -u nobody -- "$PGWARD" encrypt -r "$R" <in.fifo >/dev/null 2>&1 &
enc=$!
exec 7>in.fifo
for ((i = 0; i < 200; i++)); do
  p=$(pgrep -n -u nobody -f "pgward encrypt" || true)
  [[ -n "$p" ]] && break
  sleep 0.02
done
[[ -n "$p" ]] || tk_fail "encrypt as nobody did not start"
# past its start-up (harden() makes it undumpable first thing): /proc/$p/environ is root's
environ_root() { [[ $(stat -c %U "/proc/$p/environ") == root ]]; }
tk_wait_for 5 "encrypt as nobody past its start-up" environ_root
tk_assert_eq "$(stat -c %U "/proc/$p/environ")" root "pgward is not dumpable (its /proc files belong to root)"
tk_assert_eq "$(awk '/^Max core file size/ {print $5}' "/proc/$p/limits")" 0 "core size 0 as an ordinary user"
exec 7>&-
wait "$enc" || true

# --- pg_restore: as a superuser it warns; read its environment while it runs
pg_psql_super -c "create database r1" >/dev/null
pg_psql_super -c "alter role postgres password 'super-pw'" >/dev/null
export PGWARD_TARGET_PASSWORD=super-pw
"$PGWARD" restore app --repo repo -i key --target "postgresql://postgres@localhost:$PGPORT_TEST/r1?sslrootcert=$PG_CA" >/dev/null 2>rs.err &
rs=$!
pid=$(wait_pid "pg_restore.*port='$PGPORT_TEST'.*r1") || tk_fail "pg_restore did not start: $(cat rs.err)"
check_env "$pid" "pg_restore" super-pw
wait "$rs" || tk_fail "restore: $(cat rs.err)"
tk_assert_contains "$(cat rs.err)" 'warning: restoring as superuser "postgres"' "superuser restore warns"
tk_assert_contains "$(cat rs.err)" "--role NAME" "and offers --role"
# --role: the owner of the target runs the restore, nothing of it as a superuser
pg_psql_super -c "create database r2 owner appowner" >/dev/null
"$PGWARD" restore app --repo repo -i key --no-owner --role appowner --target "postgresql://postgres@localhost:$PGPORT_TEST/r2?sslrootcert=$PG_CA" >/dev/null 2>rs2.err || tk_fail "restore --role: $(cat rs2.err)"
[[ "$(cat rs2.err)" != *"restoring as superuser"* ]] || tk_fail "--role appowner: no superuser warning"
tk_assert_eq "$(pg_psql_super -d r2 -c "select tableowner from pg_tables where tablename = 'slowpoke'")" appowner "restored objects belong to --role"
pg_psql_super -c "create database r3" >/dev/null
expect_fail 2 'role "no_such_role" does not exist in the target' restore app --repo repo -i key --role no_such_role --target "postgresql://postgres@localhost:$PGPORT_TEST/r3?sslrootcert=$PG_CA"
unset PGWARD_TARGET_PASSWORD

# --- the drill: initdb (if caught), the server and pg_restore get nothing of ours
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [[ $EUID -eq 0 ]] && ! getent passwd pgward-scratch >/dev/null; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgward-scratch
  fi
  SCR=$TK_TMP/scr
  mkdir "$SCR"; chmod 0711 "$TK_TMP" "$SCR"
  TMPDIR=$SCR "$PGWARD" verify app --repo repo -i key --restore --scratch-local >dr.out 2>dr.err &
  dr=$!
  seen_initdb=
  for ((i = 0; i < 1000; i++)); do
    p=$(pgrep -n -f "initdb.*$SCR" || true)
    if [[ -n "$p" && -z "$seen_initdb" ]] && e=$(env_of "$p" 2>/dev/null) && [[ -n "$e" ]]; then
      check_env "$p" "initdb"
      seen_initdb=1
    fi
    pgrep -f "pg_restore.*$SCR" >/dev/null && break
    sleep 0.01
  done
  pid=$(wait_pid "postgres -D $SCR") || tk_fail "the scratch server did not start: $(cat dr.err)"
  check_env "$pid" "scratch postgres"
  e=$(env_of "$pid")
  # PGDATA, PGLOCALEDIR, PGSYSCONFDIR, PG_GRANDPARENT_PID: pg_ctl's; PWD: its shell's
  extra=$(sed 's/=.*//' <<<"$e" | grep -vxE 'PATH|LC_ALL|PWD|PGDATA|PGLOCALEDIR|PGSYSCONFDIR|PG_GRANDPARENT_PID' || true)
  tk_assert_eq "$extra" "" "the scratch server's environment: PATH, LC_ALL and pg_ctl's own only"
  [[ $EUID -ne 0 ]] || tk_assert_eq "$(stat -c %U "/proc/$pid")" pgward-scratch "the scratch server runs as pgward-scratch"
  pid=$(wait_pid "pg_restore.*$SCR") || tk_fail "the drill's pg_restore did not start"
  check_env "$pid" "drill pg_restore"
  wait "$dr" || tk_fail "drill: $(cat dr.out dr.err)"
  tk_assert_contains "$(cat dr.out)" "pass (depth 3" "the drill passes"
fi

# --- on-change hooks
pg_psql_super -d app -c "alter role appowner createrole" -c "alter schema public owner to appowner" >/dev/null
export PGWARD_DB="postgresql://appowner@localhost:$PGPORT_TEST/app?sslrootcert=$PG_CA" PGWARD_DB_PASSWORD=owner-pw
url=$("$PGWARD" credentials create reporter --level read-only --output=json | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
fresh_env() { printf 'DATABASE_URL=%s\n' "$url" >app.env; chmod 600 app.env; }
fresh_env
# environment and descriptors of a hook
"$PGWARD" credentials attach reporter --env-file app.env --on-change 'env >hook.env; exec python3 -c "import os; print(sorted(int(x) for x in os.listdir(\"/proc/self/fd\")))" >hook.fds' >/dev/null 2>at.err || tk_fail "attach: $(cat at.err)"
[[ -s hook.env ]] || tk_fail "the hook ran"
if grep -E '^(AWS_|PGSSLPASSWORD=|PGPASSWORD=|PGWARD_DB|PGWARD_LEAK)' hook.env >&2; then tk_fail "hook: a secret variable of pgward's"; fi
grep -q leak-marker hook.env && tk_fail "hook: a secret value"
grep -q '^PGWARD_CREDENTIAL=reporter$' hook.env || tk_fail "hook: PGWARD_CREDENTIAL"
grep -q "^PGWARD_ENV_FILE=$TK_TMP/app.env\$" hook.env || tk_fail "hook: PGWARD_ENV_FILE"
# (3: the directory python lists; anything inherited would push it to 4)
tk_assert_eq "$(cat hook.fds)" "[0, 1, 2, 3]" "hook: no stray descriptor"
"$PGWARD" credentials detach reporter --env-file app.env >/dev/null

# a hook that ignores SIGTERM and starts a process in a new session: both gone at the timeout
hook='trap "" TERM; setsid sh -c "trap \"\" TERM; echo \$\$ >esc.pid; while :; do sleep 1; done" </dev/null >/dev/null 2>&1 & echo $$ >main.pid; while :; do sleep 1; done'
t0=$(date +%s)
fresh_env
PGWARD_TEST_ON_CHANGE_TIMEOUT_MS=1000 "$PGWARD" credentials attach reporter --env-file app.env --on-change "$hook" >/dev/null 2>to.err || tk_fail "attach with a stuck hook: $(cat to.err)"
tk_assert_contains "$(cat to.err)" "ran longer than 1000 ms and was killed with everything it started" "timeout warning"
(($(date +%s) - t0 < 15)) || tk_fail "the stuck hook held pgward too long"
for f in esc.pid main.pid; do
  [[ -s $f ]] || tk_fail "$f written"
  p=$(cat $f)
  if kill -0 "$p" 2>/dev/null; then
    ps -o pid,sid,pgid,cmd -p "$p" >&2
    kill -9 "$p"
    tk_fail "hook process $f ($p) survived the timeout"
  fi
done
tk_pass "a SIGTERM-ignoring hook and its setsid child are gone after the timeout"
PGWARD_TEST_ON_CHANGE_TIMEOUT_MS=1000 "$PGWARD" credentials detach reporter --env-file app.env >/dev/null

# SIGTERM to pgward while a hook runs (in step 1 of a rotation): exit 130, the step stays
# in the database, the next command resumes and completes the rotation
fresh_env
set +e
"$PGWARD" credentials attach reporter --env-file app.env --on-change 'trap "" TERM; kill -TERM $(ps -o ppid= -p $PPID); sleep 30' >/dev/null 2>att.err; rc=$?
set -e
tk_assert_eq "$rc" 130 "attach: pgward SIGTERMed by its hook exits 130 ($(cat att.err))"
tk_assert_contains "$(cat att.err)" "interrupted by signal 15" "attach: the message names the signal"
set +e
"$PGWARD" credentials rotate reporter --grace 1m >/dev/null 2>sig.err; rc=$?
set -e
tk_assert_eq "$rc" 130 "SIGTERM during a hook: exit 130 ($(cat sig.err))"
tk_assert_contains "$(cat sig.err)" "interrupted by signal 15 while the on-change command" "message names the hook"
tk_assert_contains "$(pg_psql_super -d app -c "select shobj_description(oid, 'pg_authid') from pg_roles where rolname = 'pgward:reporter'")" '"step":"created"' "the rotation's state is saved"
python3 - "$HOME/.local/state/pgward/attachments.json" <<'PY'
import json, sys
p = sys.argv[1]
a = json.load(open(p))
for e in a: e.pop("on_change", None)
json.dump(a, open(p, "w"))
PY
"$PGWARD" credentials >/dev/null 2>res.err || tk_fail "resume: $(cat res.err)"
tk_assert_eq "$(pg_psql_super -d app -c "select count(*) from pg_roles where rolname = 'reporter-rotating'")" 0 "the rotation completed"
set -a; source app.env; set +a
tk_assert_eq "$(psql "$DATABASE_URL" -AtXc 'select session_user')" reporter "the attachment works after the resumed rotation"
echo "children: all checks passed"
