#!/usr/bin/env bash
# test_credentials.sh - pgward credentials against a real PostgreSQL 15: name rules and the
# limit, the permission matrix per level (existing and future objects, two schemas), level
# changes, backup preflight, url, attach/detach, destroy, repair-default, rotation under
# pgbench load, --force, interrupted rotations, followers, and no plaintext password in
# the server log (log_statement = all).
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start "log_statement = 'all'" "log_line_prefix = '%m [%p] %u '" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role appowner login createrole password 'owner-pw';
create database app owner appowner;
SQL
pg_psql_super -d app -c 'alter schema public owner to appowner' >/dev/null
export PGWARD_DB="postgresql://appowner@localhost:$PGPORT_TEST/app?sslrootcert=$PG_CA"
export PGWARD_DB_PASSWORD=owner-pw
url_of() { echo "postgresql://$1:$2@localhost:$PGPORT_TEST/app?sslmode=verify-full&sslrootcert=$PG_CA"; }
owner_sql() { PGPASSWORD=owner-pw psql "$PGWARD_DB" -qAtX -v ON_ERROR_STOP=1 "$@"; }
owner_sql >/dev/null <<'SQL'
create schema s2;
create table public.t(id int, v text); insert into public.t values (1, 'a');
create view public.v as select * from public.t;
create materialized view public.m as select * from public.t;
create sequence public.sq;
create table s2.t(id int, v text); insert into s2.t values (1, 'a');
create view s2.v as select * from s2.t;
create materialized view s2.m as select * from s2.t;
create sequence s2.sq;
SQL
cred_count() { pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname like 'pgward:%' or rolname like 'x%'"; }

# --- bad names: clear errors, nothing created
before=$(cred_count)
for bad in "a'b" 'a;b' 'a b' 'é' "$(printf 'x%.0s' {1..51})" 'x-rotating' 'postgres' 'pg_x' 'default' 'pgwardx' '' ; do
    expect_fail 28 "credential name" credentials create "$bad"
done
expect_fail 28 '"appowner" is the default credential' credentials create appowner
tk_assert_eq "$(cred_count)" "$before" "no role created by bad names"
expect_fail 2 'invalid value "admin" for option "level"' credentials create x1 --level admin
expect_fail 2 'unknown credentials command' credentials frobnicate
expect_fail 28 'no credential named "nobody"' credentials set-level nobody read-only
expect_fail 28 'no credential named "nobody"' credentials rotate nobody

# --- create: the URL is shown once and works; passwords are 65 alphanumerics
out=$("$PGWARD" credentials create analyst --level read-only --output=json)
PW_A=$(python3 -c 'import json,sys; u=json.load(sys.stdin)["url"]; print(u.split(":")[2].split("@")[0])' <<<"$out")
tk_assert_eq "${#PW_A}" 65 "password length"
[[ "$PW_A" =~ ^[A-Za-z0-9]{65}$ ]] || tk_fail "password alphabet: $PW_A"
tk_assert_eq "$(psql "$(url_of analyst "$PW_A")" -AtXc 'select session_user || current_user')" "analystpgward:analyst" "login acts as the privilege role"
verifier=$(pg_psql_super -Atc "select left(rolpassword, 14) from pg_authid where rolname = 'analyst'")
tk_assert_eq "$verifier" 'SCRAM-SHA-256$' "stored as a SCRAM verifier"

# --- permission matrix: each cell as the credential itself
# try USER PW SQL -> prints ok or denied
try() { if psql "$(url_of "$1" "$2")" -qAtX -v ON_ERROR_STOP=1 -c "$3" >/dev/null 2>&1; then echo ok; else echo denied; fi; }
matrix() { # USER PW SCHEMA SUFFIX -> one line of cells
    local u=$1 p=$2 s=$3 x=$4 line=''
    for sql in "select * from $s.t$x" "insert into $s.t$x values (9, 'z')" "update $s.t$x set v = 'y' where id = 9" \
               "delete from $s.t$x where id = 9" "truncate $s.t$x" "select * from $s.v$x" "select * from $s.m$x" \
               "select * from $s.sq$x" "select nextval('$s.sq$x')" "create table $s.new_$RANDOM(x int)"; do
        line+="$(try "$u" "$p" "$sql") "
    done
    echo "$line"
}
RO='ok denied denied denied denied ok ok ok denied denied '
RW='ok ok ok ok denied ok ok ok ok denied '
NO='denied denied denied denied denied denied denied denied denied denied '
future() { # objects the default credential creates after the level was set
    owner_sql <<SQL
create table public.t$1(id int, v text); insert into public.t$1 values (1, 'a');
create view public.v$1 as select * from public.t$1; create materialized view public.m$1 as select * from public.t$1;
create sequence public.sq$1;
create table s2.t$1(id int, v text); insert into s2.t$1 values (1, 'a');
create view s2.v$1 as select * from s2.t$1; create materialized view s2.m$1 as select * from s2.t$1;
create sequence s2.sq$1;
SQL
}
future _ro
for s in public s2; do
    tk_assert_eq "$(matrix analyst "$PW_A" $s '')" "$RO" "read-only, existing objects in $s"
    tk_assert_eq "$(matrix analyst "$PW_A" $s _ro)" "$RO" "read-only, future objects in $s"
done
"$PGWARD" credentials set-level analyst read-write >/dev/null || tk_fail "set-level read-write"
future _rw
for s in public s2; do
    tk_assert_eq "$(matrix analyst "$PW_A" $s '')" "$RW" "read-write, existing objects in $s"
    tk_assert_eq "$(matrix analyst "$PW_A" $s _rw)" "$RW" "read-write, future objects in $s"
done
"$PGWARD" credentials set-level analyst read-only >/dev/null || tk_fail "set-level back to read-only"
for s in public s2; do
    tk_assert_eq "$(matrix analyst "$PW_A" $s _rw)" "$RO" "read-write -> read-only removes write in $s"
done
"$PGWARD" credentials set-level analyst read-only >/dev/null || tk_fail "set-level is idempotent"
out=$("$PGWARD" credentials create nobody1 --output=json)
PW_N=$(python3 -c 'import json,sys; u=json.load(sys.stdin)["url"]; print(u.split(":")[2].split("@")[0])' <<<"$out")
tk_assert_eq "$(matrix nobody1 "$PW_N" public '')" "$NO" "level none"
# schema choice: only s2
"$PGWARD" credentials create s2reader --level read-only --schemas s2 >/dev/null || tk_fail "create --schemas"
expect_fail 28 'no schema "nope"' credentials create s2bad --level read-only --schemas nope
# a PUBLIC write grant breaks read-only: refused, nothing changed
owner_sql -c 'grant update on public.t to public'
expect_fail 22 'would still have UPDATE on public.t' credentials set-level nobody1 read-only
tk_assert_contains "$err" 'REVOKE UPDATE ON public.t FROM PUBLIC' "fix shown"
tk_assert_eq "$(pg_psql_super -d app -Atc "select comment from (select shobj_description(oid, 'pg_authid') as comment from pg_roles where rolname = 'pgward:nobody1') c" | python3 -c 'import json,sys; print(json.load(sys.stdin)["level"])')" none "level unchanged after refusal"
owner_sql -c 'revoke update on public.t from public'
# column-level and sequence grants are write too
owner_sql -c 'grant update (v) on public.t to public'
expect_fail 22 'would still have UPDATE (v) on public.t (granted to PUBLIC)' credentials set-level nobody1 read-only
owner_sql -c 'revoke update (v) on public.t from public; grant usage on sequence s2.sq to public'
expect_fail 22 'would still have USAGE on SEQUENCE s2.sq' credentials set-level nobody1 read-only
owner_sql -c 'revoke usage on sequence s2.sq from public'
# a grant made to the username itself (usable after RESET ROLE) is seen too
owner_sql -c 'grant delete on s2.t to nobody1'
expect_fail 22 'role "nobody1" would still have DELETE on s2.t' credentials set-level nobody1 read-only
owner_sql -c 'revoke delete on s2.t from nobody1'
# credentials belong to one database: another database of the cluster does not see them
pg_psql_super -c 'create database other owner appowner' >/dev/null
tk_assert_eq "$(PGWARD_DB="postgresql://appowner@localhost:$PGPORT_TEST/other?sslrootcert=$PG_CA" "$PGWARD" credentials --output=json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["credentials"]))')" 1 "only the default credential in another database"
PGWARD_DB="postgresql://appowner@localhost:$PGPORT_TEST/other?sslrootcert=$PG_CA" expect_fail 28 'Role names are cluster-wide' credentials create analyst

# --- backup preflight: read-only passes, read-write is refused
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
PGWARD_DB_PASSWORD=$PW_A "$PGWARD" backup --db "$(url_of analyst '' | sed 's/analyst:@/analyst@/')" --repo repo -r "$R" >/dev/null 2>bk.err \
    || tk_fail "read-only credential refused by backup: $(cat bk.err)"
"$PGWARD" credentials set-level analyst read-write >/dev/null
PGWARD_DB_PASSWORD=$PW_A expect_fail 22 'holds' backup --db "$(url_of analyst '' | sed 's/analyst:@/analyst@/')" --repo repo -r "$R"
"$PGWARD" credentials set-level analyst read-only >/dev/null

# --- attach / url / detach
umask 022
printf 'OTHER=1\n' >app.env
expect_fail 28 'the password of "analyst" is not available here' credentials attach analyst --env-file app.env
out=$("$PGWARD" credentials create reporter --level read-only --env-file app.env --on-change "echo changed >>$TK_TMP/changes" --output=json)
tk_assert_eq "$(python3 -c 'import json,sys; print("url" in json.load(sys.stdin))' <<<"$out")" False "attached: URL not printed"
tk_assert_eq "$(stat -c %a app.env)" 640 "env file mode: others lose read, the group keeps it"
tk_assert_contains "$(cat app.env)" "OTHER=1" "other lines kept"
set -a; source app.env; set +a
tk_assert_eq "$(psql "$DATABASE_URL" -AtXc 'select session_user')" reporter "attached URL works"
tk_assert_eq "$(wc -l <changes)" 1 "on-change ran"
expect_fail 28 'is attached' credentials destroy reporter --confirm app
# an attachment whose directory does not exist is refused before anything is created
expect_fail 4 'cannot place environment file' credentials create lost1 --env-file "$TK_TMP/no/such/dir/env"
tk_assert_eq "$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname like '%lost1'")" 0 "nothing created"
# the attachments record names commands pgward runs: it must stay private
REG=$HOME/.local/state/pgward/attachments.json
chmod 644 "$REG"
expect_fail 5 'attachments record' credentials detach reporter --env-file app.env
chmod 600 "$REG"
"$PGWARD" credentials url reporter | grep -q "user='reporter'" || tk_fail "url shows conninfo"

# --- rotation under load: pgbench through the attached env file, reconnecting
PGB=$PG_BINDIR/pgbench
cat >ro.sql <<'SQL'
select count(*) from public.t;
SQL
owner_sql -c 'grant create on schema s2 to "pgward:reporter"'
stop=$TK_TMP/stop; fails=$TK_TMP/fails; : >"$fails"
(
    for _ in $(seq 1 60); do
        [[ -e $stop ]] && break
        set -a; source "$TK_TMP/app.env"; set +a
        if ! "$PGB" -n -f ro.sql -T 1 -c 2 "$DATABASE_URL" >pgb.out 2>&1 || grep -q 'number of failed transactions: [1-9]' pgb.out; then
            cat pgb.out >>"$fails"
        fi
    done
) &
loader=$!
sleep 1.5
psql "$DATABASE_URL" -qAtXc 'create table s2.by_old(x int)'
# a session on the old username holds step 2 open, so that "rotate" (no --wait) returns in
# step 1 whatever the timing: without it the loader's sessions could end within the drain's
# quiet time (a slow machine) and the rotation went on to its end in this call
PGAPPNAME=pw_holder psql "$DATABASE_URL" -qAtXc 'select pg_sleep(600)' >/dev/null 2>&1 &
holder=$!
tk_on_exit "kill $holder 2>/dev/null || true"
holder_active() {
    [[ $(pg_psql_super -d app -Atc "select count(*) from pg_stat_activity where application_name = 'pw_holder' and state = 'active'") == 1 ]]
}
tk_wait_for 20 "a session on the old username" holder_active
"$PGWARD" credentials rotate reporter --grace 1m --output=json >rot1.json 2>rot1.err || tk_fail "rotate: $(cat rot1.err)"
set -a; source app.env; set +a
tk_assert_contains "$DATABASE_URL" "reporter-rotating:" "step 1: attachment has the rotating username"
psql "$DATABASE_URL" -qAtXc 'create table s2.by_new(x int)'
pg_psql_super -d app -qAtc "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pw_holder'" >/dev/null
wait $holder 2>/dev/null || true
"$PGWARD" credentials rotate reporter --wait >rot2.out 2>rot2.err || tk_fail "rotate --wait: $(cat rot2.err)"
touch "$stop"; wait "$loader"
tk_assert_eq "$(cat "$fails")" "" "zero failed pgbench transactions during the rotation"
tk_assert_eq "$(pg_psql_super -d app -Atc "select string_agg(rolname, ',' order by rolname) from pg_roles where rolname like 'reporter%'")" reporter "only the name remains"
set -a; source app.env; set +a
tk_assert_contains "$DATABASE_URL" "reporter:" "final attachment has the name"
tk_assert_eq "$(psql "$DATABASE_URL" -AtXc 'select session_user')" reporter "new password works"
tk_assert_eq "$(pg_psql_super -d app -Atc "select string_agg(tableowner, ',') from pg_tables where tablename in ('by_old', 'by_new')")" "pgward:reporter,pgward:reporter" "objects from both usernames owned by the credential"
tk_assert_eq "$(psql "$DATABASE_URL" -AtXc 'select count(*) from s2.by_old, s2.by_new')" 0 "and readable by it"
tk_assert_eq "$(wc -l <changes)" 3 "on-change ran at each URL change"
tk_assert_contains "$(cat "$PGWARD_AUDIT_LOG")" "rotate: complete" "audit has the steps"

# --force terminates only that credential's sessions
PW_R=$(sed -n "s/^DATABASE_URL='postgresql:\/\/reporter:\([A-Za-z0-9]*\)@.*/\1/p" app.env)
psql "$(url_of analyst "$PW_A")" -qAtXc 'select pg_sleep(30)' >/dev/null 2>&1 & other=$!
psql "$DATABASE_URL" -qAtXc 'select pg_sleep(30)' >/dev/null 2>&1 & mine=$!
sleep 1
"$PGWARD" credentials rotate reporter --force --wait >/dev/null 2>rf.err || tk_fail "rotate --force: $(cat rf.err)"
wait $mine && tk_fail "the rotated credential's session survived --force"
kill -0 $other 2>/dev/null || tk_fail "--force terminated another credential's session"
kill $other 2>/dev/null; wait $other 2>/dev/null || true
psql "$(url_of reporter "$PW_R")" -AtXc 'select 1' >/dev/null 2>&1 && tk_fail "old password still works"

# interrupted after step 1 (pgward killed by its own on-change hook before the step is saved)
"$PGWARD" credentials detach reporter --env-file app.env >/dev/null || tk_fail detach
"$PGWARD" credentials rotate reporter --force --wait >rot.json --output=json 2>/dev/null || tk_fail "rotate without attachment"
PW_R=$(python3 -c 'import json,sys; u=json.load(open("rot.json"))["secrets"]["reporter"]["url"]; print(u.split(":")[2].split("@")[0])')
tk_assert_eq "$(psql "$(url_of reporter "$PW_R")" -AtXc 'select session_user')" reporter "printed URL works"
printf 'DATABASE_URL=%s\n' "$(url_of reporter "$PW_R")" >kill.env; chmod 600 kill.env
"$PGWARD" credentials attach reporter --env-file kill.env --on-change 'kill -9 $(ps -o ppid= -p $PPID)' >/dev/null 2>&1 || true
"$PGWARD" credentials rotate reporter --grace 1m >/dev/null 2>&1 && tk_fail "pgward survived its kill"
tk_assert_contains "$(pg_psql_super -d app -Atc "select shobj_description(oid, 'pg_authid') from pg_roles where rolname = 'pgward:reporter'")" '"step":"created"' "killed in step 1"
# the next command (any) resumes: a fresh password for the rotating username, the
# attachment, and (no session is left on the old username) the rest of the rotation
python3 - "$HOME/.local/state/pgward/attachments.json" <<'PY'
import json, sys
p = sys.argv[1]
a = json.load(open(p))
for e in a: e.pop("on_change", None)
json.dump(a, open(p, "w"))
PY
"$PGWARD" credentials >/dev/null 2>l.err || tk_fail "list resumes: $(cat l.err)"
set -a; source kill.env; set +a
tk_assert_contains "$DATABASE_URL" "reporter:" "resumed rotation wrote the final attachment"
tk_assert_eq "$(psql "$DATABASE_URL" -AtXc 'select session_user')" reporter "completed after the interruption"
tk_assert_eq "$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname = 'reporter-rotating'")" 0 "no rotating username left"
# interrupted in step 2: rotate --wait waits for a session of the old username; pgward is
# killed there; once the session ends, the next command completes the rotation
PW_R=$(sed -n "s/^DATABASE_URL='postgresql:\/\/reporter:\([A-Za-z0-9]*\)@.*/\1/p" kill.env)
psql "$(url_of reporter "$PW_R")" -qAtXc 'select pg_sleep(4)' >/dev/null 2>&1 & holder=$!
sleep 0.5
"$PGWARD" credentials rotate reporter --wait --grace 1m >/dev/null 2>&1 & rot=$!
for _ in $(seq 1 50); do
    pg_psql_super -d app -Atc "select shobj_description(oid, 'pg_authid') from pg_roles where rolname = 'pgward:reporter'" | grep -q '"step":"draining"' && break
    sleep 0.1
done
kill -9 $rot; wait $rot 2>/dev/null || true
tk_assert_contains "$(pg_psql_super -d app -Atc "select shobj_description(oid, 'pg_authid') from pg_roles where rolname = 'pgward:reporter'")" '"step":"draining"' "killed while draining"
wait $holder || true
"$PGWARD" credentials >/dev/null 2>l.err || tk_fail "list resumes step 2: $(cat l.err)"
tk_assert_eq "$(pg_psql_super -d app -Atc "select string_agg(rolname, ',') from pg_roles where rolname like 'reporter%'")" reporter "step 2 resumed to completion"
set -a; source kill.env; set +a
tk_assert_eq "$(psql "$DATABASE_URL" -AtXc 'select session_user')" reporter "final URL works after the step-2 interruption"
"$PGWARD" credentials detach reporter --env-file kill.env >/dev/null

# --- a process that does not know the new password does not swap (clients on the rotating
# URL would fail); an explicit rotate NAME finishes without the alias
out=$("$PGWARD" credentials create w1 --output=json)
PW_W=$(python3 -c 'import json,sys; u=json.load(sys.stdin)["url"]; print(u.split(":")[2].split("@")[0])' <<<"$out")
psql "$(url_of w1 "$PW_W")" -qAtXc 'select pg_sleep(2)' >/dev/null 2>&1 & holder=$!
sleep 0.5
"$PGWARD" credentials rotate w1 --output=json >w1.json 2>/dev/null || tk_fail "rotate w1"
PW_W2=$(python3 -c 'import json; s=json.load(open("w1.json"))["secrets"]["w1"]; assert s["username"]=="w1-rotating"; print(s["url"].split(":")[2].split("@")[0])')
wait $holder || true
"$PGWARD" credentials >/dev/null 2>w1.err || tk_fail "list"
tk_assert_contains "$(cat w1.err)" 'the rotation of "w1" waits' "list does not swap without the password"
tk_assert_eq "$(psql "$(url_of w1-rotating "$PW_W2")" -AtXc 'select session_user')" w1-rotating "rotating URL still works"
"$PGWARD" credentials rotate w1 >/dev/null 2>w1b.err || tk_fail "explicit rotate finishes: $(cat w1b.err)"
tk_assert_contains "$(cat w1b.err)" 'clients must now use username "w1"' "explicit finish warns"
tk_assert_eq "$(psql "$(url_of w1 "$PW_W2")" -AtXc 'select session_user')" w1 "final username, same new password"
# an on-change command runs without pgward's secrets in its environment; a file that already
# holds the credential's URL can be attached as it is
printf "DATABASE_URL='%s'\n" "$(url_of w1 "$PW_W2")" >w1.env; chmod 600 w1.env
"$PGWARD" credentials attach w1 --env-file w1.env --on-change "env > $TK_TMP/hook.env" >/dev/null 2>w1c.err || tk_fail "attach w1: $(cat w1c.err)"
tk_assert_contains "$(cat hook.env)" "PGWARD_CREDENTIAL=w1" "on-change gets the credential's name"
grep -q "owner-pw\|PGWARD_DB_PASSWORD" hook.env && tk_fail "on-change saw pgward's database password"
"$PGWARD" credentials detach w1 --env-file w1.env >/dev/null || tk_fail "detach w1"

# --- destroy: owned objects go to the default credential; needs --confirm
expect_fail 2 'needs confirmation' credentials destroy reporter
"$PGWARD" credentials destroy reporter --confirm app >/dev/null || tk_fail destroy
tk_assert_eq "$(pg_psql_super -d app -Atc "select string_agg(tableowner, ',') from pg_tables where tablename in ('by_old', 'by_new')")" "appowner,appowner" "objects reassigned to the default credential"
tk_assert_eq "$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname like '%reporter%'")" 0 "roles dropped"
expect_fail 2 'does not name the database' credentials destroy analyst --confirm other

# --- repair-default after ownership was scrambled
pg_psql_super -d app >/dev/null <<'SQL'
alter table public.t owner to "pgward:analyst";
alter table s2.t owner to analyst;
revoke "pgward:analyst" from appowner;
SQL
"$PGWARD" credentials repair-default --confirm app >rep.out 2>rep.err || tk_fail "repair-default: $(cat rep.err)"
tk_assert_eq "$(pg_psql_super -d app -Atc "select string_agg(tableowner, ',' order by schemaname) from pg_tables where tablename = 't'")" "appowner,appowner" "ownership repaired"
tk_assert_eq "$(pg_psql_super -d app -Atc "select bool_and(admin_option) from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles g on g.oid = m.member where g.rolname = 'appowner' and r.rolname like 'pgward:%'")" t "ADMIN OPTION back"

# --- the limit: 60 credentials, the 61st refused (counted with the ones above)
have=$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname like 'pgward:%'")
for i in $(seq $((have + 1)) 60); do
    "$PGWARD" credentials create "bulk$i" >/dev/null || tk_fail "credential $i"
done
expect_fail 28 'already has 60 credentials' credentials create one-too-many
tk_assert_eq "$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname = 'one-too-many'")" 0 "61st not created"
# at the limit a rotation still runs: it adds a username, not a credential
"$PGWARD" credentials rotate bulk60 --force --wait >/dev/null 2>rl.err || tk_fail "rotate at the limit: $(cat rl.err)"
tk_assert_eq "$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname like 'bulk60%'")" 1 "rotation at the limit completed"

# --- a stored rotation step this pgward does not know (a tampered or newer comment) is
# refused, and nothing is dropped or terminated (it used to be taken for "finishing")
orig=$(pg_psql_super -d app -Atc "select shobj_description(oid, 'pg_authid') from pg_roles where rolname = 'pgward:bulk59'")
odd=$(pg_psql_super -d app -Atc "select jsonb_set(jsonb_set(shobj_description(oid, 'pg_authid')::jsonb, '{state}', '\"rotating\"'), '{rotation}', '{\"step\": \"swapped\", \"grace\": 0, \"step_at\": 0, \"force\": true}')::text from pg_roles where rolname = 'pgward:bulk59'")
pg_psql_super -d app -c "create role \"bulk59-rotating\" login" -c "comment on role \"pgward:bulk59\" is \$q\$$odd\$q\$" >/dev/null
expect_fail 28 'the rotation of "bulk59" is in a step this pgward does not know' credentials rotate bulk59
"$PGWARD" credentials list >/dev/null 2>odd.err || tk_fail "list with an unknown step: $(cat odd.err)"
tk_assert_contains "$(cat odd.err)" 'the rotation of "bulk59" did not move on' "list warns and goes on"
tk_assert_eq "$(pg_psql_super -d app -Atc "select count(*) from pg_roles where rolname = 'bulk59-rotating'")" 1 "unknown step: nothing dropped"
pg_psql_super -d app -c "drop role \"bulk59-rotating\"" -c "comment on role \"pgward:bulk59\" is \$q\$$orig\$q\$" >/dev/null

# --- no plaintext password in the server log
for p in "$PW_A" "$PW_N" "$PW_R"; do
    grep -q "$p" "$PG_LOG" && tk_fail "a plaintext password is in the server log"
done
grep -q "create role" "$PG_LOG" || tk_fail "log_statement = all is not logging (test broken)"

# --- search_path: an operator planted in public, searched before pg_catalog by a database
# setting, is never called by pgward's queries (they run with an empty search_path)
owner_sql >/dev/null <<'SQL'
create function public.evil(name, name) returns bool language plpgsql as $$ begin raise exception 'planted operator called'; end $$;
create operator public.!~ (leftarg = name, rightarg = name, function = public.evil);
alter database app set search_path = public, pg_catalog;
SQL
"$PGWARD" credentials >/dev/null 2>sp.err || tk_fail "list with a planted operator: $(cat sp.err)"
"$PGWARD" credentials set-level analyst read-only >/dev/null 2>sp.err || tk_fail "set-level with a planted operator: $(cat sp.err)"
"$PGWARD" check >/dev/null 2>sp.err; tk_assert_eq "$(grep -c 'planted operator' sp.err)" 0 "check does not call the planted operator"
owner_sql >/dev/null <<'SQL'
alter database app reset search_path;
drop operator public.!~ (name, name); drop function public.evil(name, name);
SQL

# --- pgward check sees a read-only credential as read-only, and notices write added behind
# pgward's back (roles.readonly-is-readonly reads the credential's "level" comment)
ro_result() { "$PGWARD" check --output=json 2>/dev/null | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin)["results"] if x["id"]=="roles.readonly-is-readonly"][0]; print(r["result"], r["evidence"])'; }
tk_assert_contains "$(ro_result)" "pass" "check: the read-only credential holds no write"
owner_sql -c 'grant update on public.t to "pgward:analyst"'
res=$(ro_result)
tk_assert_contains "$res" "fail" "check: UPDATE granted behind pgward's back is reported"
tk_assert_contains "$res" "analyst" "check names the credential"
"$PGWARD" credentials set-level analyst read-only >/dev/null || tk_fail "set-level repairs the level"
tk_assert_contains "$(ro_result)" "pass" "check passes again after set-level"

# --- followers: every credentials command fails with the follower message
printf 'local replication all trust\n' >>"$PG_DATADIR/pg_hba.conf"
pg_psql_super -c 'select pg_reload_conf()' >/dev/null
SB=$_TK_PGBASE/standby
_tk_as_pg_log "$_TK_PGBASE" "$TK_TMP/basebackup.log" "$PG_BINDIR/pg_basebackup" -D "$SB" -R -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -X stream -c fast \
    || tk_fail "pg_basebackup: $(cat "$TK_TMP/basebackup.log")"
_tk_pick_port; SPORT=$_TK_PORT
cat >>"$SB/postgresql.auto.conf" <<EOF
port = $SPORT
EOF
sed -i "s/^port = .*/port = $SPORT/" "$SB/pgward_harness.conf"
stop_standby() { _tk_as_pg_log "$_TK_PGBASE" /dev/null "$PG_BINDIR/pg_ctl" -D "$SB" -m immediate stop; }
tk_on_exit stop_standby
_tk_as_pg_log "$_TK_PGBASE" "$TK_TMP/standby.log" "$PG_BINDIR/pg_ctl" -D "$SB" -w -t 30 -l "$SB/log" start \
    || tk_fail "standby start: $(cat "$TK_TMP/standby.log")"
FOLLOWER="postgresql://appowner@localhost:$SPORT/app?sslrootcert=$PG_CA"
for args in "list" "create f1" "set-level analyst read-write" "url analyst" "rotate analyst" \
            "destroy analyst --confirm app" "repair-default --confirm app" "attach analyst --env-file x.env" "detach analyst --env-file x.env"; do
    # shellcheck disable=SC2086
    PGWARD_DB=$FOLLOWER expect_fail 27 "This operation is not supported for follower databases." credentials $args
done
tk_pass "credentials"
