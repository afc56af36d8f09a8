#!/usr/bin/env bash
# test_globals.sh - restore --globals against real PostgreSQL 15: a genuine backup's roles
# (odd names, memberships, comments, a setting, a tablespace) come back exactly as
# pg_dumpall --globals-only showed them; privileged ones need --allow-privileged-roles and
# are refused before anything is applied; roles that exist are left alone and reported;
# forged globals objects (encrypted to the backup's recipient and put in place of the
# genuine one, as anyone who can write to the repository can) are refused whole: no
# command runs, no file appears, no role is created.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
mkdir -p "$TK_TMP/ts1"
chmod 755 "$TK_TMP"
[ "$(id -u)" = 0 ] && chown postgres "$TK_TMP/ts1"
pg_psql_super >/dev/null <<SQL
create database app;
create role backup login password 'bk-Secret-123';
grant pg_read_all_data to backup;
create role plain;
create role "we""ird" login connection limit 5 valid until '2031-01-02 03:04:05+00';
create role "new
line" nologin;
create role "ünï€ode" createdb;
create role "a--b" noinherit;
create role "x; drop role y";
create role supr superuser;
create role "Mixed Case";
comment on role plain is 'it''s a comment -- with dashes
and a newline';
grant plain to "we""ird";
grant "ünï€ode" to "a--b" with admin option;
grant pg_monitor to "Mixed Case";
alter role plain set work_mem = '64MB';
create tablespace "t s" owner plain location '$TK_TMP/ts1';
comment on tablespace "t s" is 'ts comment';
SQL
pg_psql_super -d app -c "create table t(x int); insert into t values (1), (2)" >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
db() { echo "postgresql://backup@localhost:$PGPORT_TEST/app?sslrootcert=$PG_CA"; }
super() { echo "postgresql://postgres@localhost:$PGPORT_TEST/$1?sslrootcert=$PG_CA"; }
export PGWARD_TARGET_PASSWORD=$PG_SUPERPASS
globals_dump() {
	# the roles and tablespaces as pg_dumpall shows them (its \restrict key changes every run)
	pg_dumpall -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres --globals-only \
		--no-role-passwords | grep -v '^\\\(un\)\{0,1\}restrict '
}

PGWARD_DB_PASSWORD=bk-Secret-123 "$PGWARD" backup --db "$(db)" --repo repo -r "$R" \
	--output=json >b.json 2>b.err || {
	cat b.err
	tk_fail "backup"
}
id=$(sed -n 's/.*"backup_id": "\(.*\)".*/\1/p' b.json)
gobj="repo/app/$id/globals.sql.zst.age"
[ -f "$gobj" ] || tk_fail "the backup has a globals object"
before=$(globals_dump)
tk_assert_contains "$before" 'CREATE ROLE "new' "source has the odd roles"

# --- into a fresh cluster (a second harness server, started by a child process)
pg_psql_super -c 'drop tablespace "t s"' >/dev/null # its directory is for the fresh cluster now
cat >fresh.sh <<'SH'
source "$LIB"
pg_start >/dev/null || exit 1
printf 'F_PORT=%s\nF_CA=%s\nF_PASS=%s\nF_SOCK=%s\n' "$PGPORT_TEST" "$PG_CA" "$PG_SUPERPASS" \
	"$PG_SOCKDIR" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
sleep 300 &
sleep_pid=$!
tk_on_exit "kill $sleep_pid 2>/dev/null"
wait $sleep_pid
SH
LIB="$(dirname "$0")/../harness/lib.sh"
case $LIB in /*) ;; *) LIB=$OLDPWD/$LIB ;; esac
LIB=$LIB OUT=$TK_TMP/fresh.env bash fresh.sh >fresh.log 2>&1 &
fresh_pid=$!
tk_on_exit "kill $fresh_pid 2>/dev/null; wait $fresh_pid 2>/dev/null"
for _ in $(seq 1 300); do
	[ -f fresh.env ] && break
	kill -0 "$fresh_pid" 2>/dev/null || {
		cat fresh.log
		tk_fail "the fresh cluster did not start"
	}
	sleep 0.1
done
[ -f fresh.env ] || tk_fail "the fresh cluster did not start in 30 s"
source ./fresh.env
fresh() { echo "postgresql://postgres@localhost:$F_PORT/$1?sslrootcert=$F_CA"; }
PGWARD_TARGET_PASSWORD=$F_PASS expect_fail 22 'membership of "backup" in "pg_read_all_data"' \
	restore -i key --repo repo --globals --create --target "$(fresh fr1)"
PGWARD_TARGET_PASSWORD=$F_PASS "$PGWARD" restore -i key --repo repo --globals \
	--allow-privileged-roles --create --target "$(fresh fr2)" >fr.out 2>fr.err || {
	cat fr.err
	tk_fail "restore --globals into a fresh cluster"
}
fresh_dump=$(_tk_as_pg pg_dumpall -h "$F_SOCK" -p "$F_PORT" -U postgres --globals-only \
	--no-role-passwords | grep -v '^\\\(un\)\{0,1\}restrict ')
if [ "$before" != "$fresh_dump" ]; then
	diff <(echo "$before") <(echo "$fresh_dump") >&2
	tk_fail "pg_dumpall --globals-only of the fresh cluster differs from the source's"
fi
kill "$fresh_pid"
wait "$fresh_pid" 2>/dev/null || true
# the fresh cluster's tablespace directory is left behind: empty it for the tests below
rm -rf "$TK_TMP/ts1"/PG_*
tk_pass "genuine globals into a fresh cluster: pg_dumpall output identical"

# --- into a cluster without the backup's roles: drop them (the tablespace too)
pg_psql_super >/dev/null <<'SQL'
drop role plain, "we""ird", "new
line", "ünï€ode", "a--b", "x; drop role y", supr, "Mixed Case";
SQL
nroles() { pg_psql_super -c "select count(*) from pg_roles where rolname !~ '^pg_'"; }
n0=$(nroles)

expect_fail 2 "--allow-privileged-roles needs --globals" restore -i key --repo repo \
	--allow-privileged-roles --create --target "$(super r0)"
# privileged attributes are listed and refused before anything is applied
expect_fail 22 'role "supr": SUPERUSER' restore -i key --repo repo --globals --create \
	--target "$(super r1)"
tk_assert_contains "$err" "allow-privileged-roles" "the hint names the option"
tk_assert_eq "$(nroles)" "$n0" "a refused --globals applies no role"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_tablespace where spcname = 't s'")" 0 \
	"a refused --globals applies no tablespace"

"$PGWARD" restore -i key --repo repo --globals --allow-privileged-roles --create \
	--target "$(super r2)" >g.out 2>g.err || {
	cat g.err
	tk_fail "restore --globals --allow-privileged-roles"
}
tk_assert_contains "$(cat g.out)" "applied the backup's globals: 8 roles, 3 memberships" "summary"
tk_assert_contains "$(cat g.err)" 'role "postgres" exists already' "existing roles reported"
after=$(globals_dump)
if [ "$before" != "$after" ]; then
	diff <(echo "$before") <(echo "$after") >&2
	tk_fail "pg_dumpall --globals-only after the restore differs from the source's"
fi
tk_assert_eq "$(pg_psql_super -d r2 -c 'select count(*) from t')" 2 "the data restored after"
tk_pass "genuine globals round trip: pg_dumpall output identical"

# again: every role exists, nothing is privileged any more, nothing changes
"$PGWARD" restore -i key --repo repo --globals --create --target "$(super r3)" >g.out 2>g.err ||
	{
		cat g.err
		tk_fail "restore --globals over existing roles"
	}
tk_assert_contains "$(cat g.err)" 'role "new\x0aline" exists already: left as it is' \
	"existing roles are reported with sanitized names"
tk_assert_contains "$(cat g.err)" 'tablespace "t s" exists already' "existing tablespace reported"
tk_assert_contains "$(cat g.out)" "0 roles" "nothing created twice"
tk_assert_eq "$(globals_dump)" "$before" "a second --globals changes nothing"

# an existing role keeps its attributes: the backup's ALTER ROLE is not applied to it
pg_psql_super -c 'alter role "a--b" inherit' >/dev/null
"$PGWARD" restore -i key --repo repo --globals --create --target "$(super r4)" >/dev/null 2>&1 ||
	tk_fail "restore --globals r4"
tk_assert_eq "$(pg_psql_super -c "select rolinherit from pg_roles where rolname = 'a--b'")" t \
	"an existing role is left as it is"

# --- forged globals objects, encrypted to the recipient by anyone who can write the repo
# (for a repository without signatures, or whose signing key was stolen: the manifest is
# edited to match, and restore runs with --allow-unsigned; with signatures checked, restore
# refuses such an object before parsing it: test_sign.sh)
cp "$gobj" genuine.age
cp "repo/app/$id/manifest.json" genuine.manifest
forge() { # forge TEXT: the globals object of the backup becomes TEXT, the manifest matches
	printf '%s\n' "$1" | zstd -q -c | "$PGWARD" encrypt -r "$R" -o forged.age 2>/dev/null ||
		tk_fail "encrypt a forged object"
	cp forged.age "$gobj"
	rm -f forged.age
	python3 - "repo/app/$id/manifest.json" "$gobj" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
data = open(sys.argv[2], "rb").read()
for o in m["objects"]:
    if o["name"] == "globals.sql.zst.age":
        o["sha256"], o["size"] = hashlib.sha256(data).hexdigest(), len(data)
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
}
pre='SET default_transaction_read_only = off;
SET client_encoding = '"'UTF8'"';
SET standard_conforming_strings = on;
CREATE ROLE forged1;'
mark=$TK_TMP/pwned
n1=$(nroles)
i=0
while IFS='|' read -r line why; do
	i=$((i + 1))
	forge "$pre
$line
CREATE ROLE forged2;"
	expect_fail 23 "globals line 5: $why" restore --allow-unsigned -i key --repo repo --globals \
		--allow-privileged-roles --create --target "$(super f$i)"
	tk_assert_contains "$err" "Nothing was applied" "forged case $i: hint"
	[ -e "$mark" ] && tk_fail "forged case $i ($line) ran a command: $mark exists"
	tk_assert_eq "$(nroles)" "$n1" "forged case $i: no role created"
done <<EOF
\\! touch $mark|a backslash command
\\o $mark|a backslash command
\\copy (select 1) to program 'touch $mark'|a backslash command
COPY (select 1) TO PROGRAM 'touch $mark';|a character pgward does not accept
COPY t TO PROGRAM 'touch $mark';|a statement pgward does not apply
DO \$\$begin perform 1; end\$\$;|a dollar quote
CREATE ROLE x SUPERUSER;|CREATE ROLE with options
ALTER ROLE forged1 SET search_path = evil;|a setting value that is not a string
ALTER ROLE forged1 SET search_path = 'a'; \\! touch $mark|text after ';' on the same line
ALTER ROLE forged1 SET session_preload_libraries = \$\$x\$\$;|a dollar quote
CREATE ROLE x; DROP ROLE supr;|text after ';' on the same line
ALTER ROLE forged1 WITH PASSWORD 'x';|a password
GRANT pg_execute_server_program, plain TO forged1;|a GRANT of several roles
EOF
# a backslash command hidden on a line of a multi-line name
forge "$pre
CREATE ROLE \"a
\\! touch $mark
\";"
expect_fail 23 "globals line 6: a backslash command inside a statement" restore --allow-unsigned -i key \
	--repo repo --globals --create --target "$(super f_nl)"
[ -e "$mark" ] && tk_fail "a backslash line inside a name ran"
tk_pass "forged globals with commands, COPY, DO, malformed settings and passwords are refused whole"

# role settings pgward does not apply (search_path, role, *_preload_libraries ...): parsed,
# skipped and reported, the rest applied; settings only for the roles the restore creates
# (an existing role's sessions must not change: search_path hijacking of the target's own
# roles)
settings_of() {
	pg_psql_super -c "select coalesce(string_agg(coalesce(d.datname, '*') || ':' ||
		array_to_string(s.setconfig, ','), ';' order by d.datname), '') from pg_db_role_setting s
		join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase
		where r.rolname = '$1'"
}
plain_before=$(settings_of plain)
tk_assert_eq "$plain_before" "*:work_mem=64MB" "the existing role's settings before"
esc_param=$(printf 'x\033[2Jy')
forge "$pre
CREATE ROLE rs_app;
ALTER ROLE rs_app WITH LOGIN;
ALTER ROLE rs_app SET search_path TO 'evil', 'public';
ALTER ROLE rs_app SET role TO 'postgres';
ALTER ROLE rs_app SET work_mem TO '12MB';
ALTER ROLE rs_app IN DATABASE postgres SET session_preload_libraries TO '$TK_TMP/evil.so';
ALTER ROLE rs_app SET \"$esc_param\" TO 'v';
ALTER ROLE plain SET statement_timeout TO '1s';
ALTER ROLE plain SET search_path TO 'evil';
ALTER ROLE not_created SET work_mem TO '1MB';"
"$PGWARD" restore --allow-unsigned -i key --repo repo --globals --create --target "$(super s1)" \
	>s.out 2>s.err || {
	cat s.err
	tk_fail "restore --globals with role settings pgward does not apply"
}
tk_assert_eq "$(pg_psql_super -c "select rolcanlogin from pg_roles where rolname = 'rs_app'")" t \
	"the role with skipped settings is created"
tk_assert_eq "$(settings_of rs_app)" "*:work_mem=12MB" \
	"only the allowed setting of the new role is applied"
tk_assert_eq "$(settings_of plain)" "$plain_before" \
	"an existing role's settings are left as they are (allowed or not)"
tk_assert_contains "$(cat s.out)" "1 setting," "the summary counts the applied setting"
tk_assert_contains "$(cat s.err)" \
	"warning: role \"rs_app\": setting \"search_path\" not applied (pgward does not apply this parameter): ALTER ROLE \"rs_app\" SET \"search_path\" TO 'evil', 'public'" \
	"search_path: warned with the statement"
tk_assert_contains "$(cat s.err)" 'role "rs_app": setting "role" not applied' "role: warned"
tk_assert_contains "$(cat s.err)" \
	"ALTER ROLE \"rs_app\" IN DATABASE \"postgres\" SET \"session_preload_libraries\" TO '$TK_TMP/evil.so'" \
	"session_preload_libraries: warned"
tk_assert_contains "$(cat s.err)" 'setting "x\x1b[2Jy" not applied' "a parameter name is sanitized"
grep -q "$(printf '\033')" s.err && tk_fail "an ESC byte reached the terminal"
tk_assert_contains "$(cat s.err)" \
	'role "plain": setting "statement_timeout" not applied (the role exists in the target' \
	"an allowed setting for an existing role: not applied, warned"
tk_assert_contains "$(cat s.err)" 'role "plain": setting "search_path" not applied' \
	"a disallowed setting for an existing role: warned"
tk_assert_contains "$(cat s.err)" \
	'role "not_created": setting "work_mem" not applied (the backup does not create this role)' \
	"a setting for a role the backup does not create: warned"
audit=$(tail -1 "$PGWARD_AUDIT_LOG")
tk_assert_contains "$audit" '"settings_skipped":7' "the audit record counts the skipped settings"
tk_assert_contains "$audit" '{"role":"rs_app","parameter":"search_path","reason":"pgward does not apply this parameter"}' \
	"the audit record lists them"
# many: the warnings are capped
many="$pre
CREATE ROLE rs_many;"
for i in $(seq 1 25); do many="$many
ALTER ROLE rs_many IN DATABASE d$i SET search_path TO 's$i';"; done
forge "$many"
"$PGWARD" restore --allow-unsigned -i key --repo repo --globals --create --target "$(super s2)" \
	>/dev/null 2>s2.err || {
	cat s2.err
	tk_fail "restore --globals with 25 skipped settings"
}
tk_assert_eq "$(grep -c 'setting "search_path" not applied' s2.err)" 20 "20 warnings"
tk_assert_contains "$(cat s2.err)" "... and 5 more role settings not applied" "then a count"
pg_psql_super -c "drop role forged1, rs_app, rs_many" >/dev/null # for the cases below
tk_pass "role settings pgward does not apply, or for roles it does not create, are skipped and reported"

# privileged statements pg_dumpall would write: refused without the option (nothing
# applied), applied with it
forge "$pre
ALTER ROLE forged1 WITH SUPERUSER;
GRANT pg_execute_server_program TO forged1;"
expect_fail 22 'role "forged1": SUPERUSER' restore --allow-unsigned -i key --repo repo --globals --create \
	--target "$(super p1)"
tk_assert_contains "$err" 'membership of "forged1" in "pg_execute_server_program"' \
	"a privileged membership is listed"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_roles where rolname = 'forged1'")" 0 \
	"nothing applied without --allow-privileged-roles"
"$PGWARD" restore --allow-unsigned -i key --repo repo --globals --allow-privileged-roles --create \
	--target "$(super p2)" >p.out 2>p.err || {
	cat p.err
	tk_fail "--allow-privileged-roles applies the privileged roles"
}
tk_assert_eq "$(pg_psql_super -c "select rolsuper from pg_roles where rolname = 'forged1'")" t \
	"--allow-privileged-roles applied SUPERUSER"
tk_assert_eq "$(pg_psql_super -c "select pg_has_role('forged1', 'pg_execute_server_program', 'member')")" t \
	"--allow-privileged-roles applied the privileged membership"
tk_assert_contains "$(cat p.err)" 'warning: privileged: role "forged1": SUPERUSER' \
	"applied privileged attributes are still listed"

# an existing role gets no new membership from a backup
forge "$pre
GRANT plain TO backup;"
"$PGWARD" restore --allow-unsigned -i key --repo repo --globals --create --target "$(super m1)" >/dev/null \
	2>m.err || {
	cat m.err
	tk_fail "restore --globals with a membership for an existing role"
}
tk_assert_contains "$(cat m.err)" 'membership of "backup" in "plain" (not granted: the role "backup" exists)' \
	"a membership for an existing role is reported"
tk_assert_eq "$(pg_psql_super -c "select pg_has_role('backup', 'plain', 'member')")" f \
	"an existing role gets no new membership"

# names reach the terminal sanitized: escape sequences (ESC, and the C1 CSI U+009B) as \xNN
esc_name=$(printf 'e\033]0;x\007\302\2331m')
pg_psql_super -c "create role \"$esc_name\"" >/dev/null
forge "$pre
CREATE ROLE \"$esc_name\";"
"$PGWARD" restore --allow-unsigned -i key --repo repo --globals --create --target "$(super e1)" >/dev/null \
	2>e.err || tk_fail "restore --globals with an escape sequence in a name"
tk_assert_contains "$(cat e.err)" 'role "e\x1b]0;x\x07\xc2\x9b1m" exists already' \
	"escape sequences in names are shown as \\xNN"
grep -q "$(printf '\033')" e.err && tk_fail "an ESC byte reached the terminal"
grep -q "$(printf '\302\233')" e.err && tk_fail "a C1 CSI reached the terminal"

# a membership in an existing superuser role is privileged too
forge "$pre
CREATE ROLE forged4;
GRANT supr TO forged4;"
expect_fail 22 'membership of "forged4" in "supr" (SUPERUSER)' restore --allow-unsigned -i key --repo repo \
	--globals --create --target "$(super p3)"

# and in any role the target already has (it may own the application's tables): a new login
# must not get it from a forged object without the flag
forge "$pre
CREATE ROLE forged6;
ALTER ROLE forged6 WITH LOGIN;
GRANT plain TO forged6 WITH ADMIN OPTION;"
expect_fail 22 'membership of "forged6" in "plain" (a role the target has already, WITH ADMIN OPTION)' \
	restore --allow-unsigned -i key --repo repo --globals --create --target "$(super p6)"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_roles where rolname = 'forged6'")" 0 \
	"nothing applied for a membership in an existing role"

# and in a role that is (through memberships) a member of a privileged one
pg_psql_super -c "create role ops; create role ops2; grant pg_execute_server_program to ops2; grant ops2 to ops" >/dev/null
forge "$pre
CREATE ROLE forged5;
GRANT ops TO forged5;"
expect_fail 22 'membership of "forged5" in "ops" (member of a privileged role)' restore --allow-unsigned -i key \
	--repo repo --globals --create --target "$(super p5)"

# one transaction: a role statement that fails leaves no role behind
forge "$pre
CREATE ROLE forged3;
GRANT no_such_role TO forged3;"
expect_fail 20 'globals line 6' restore --allow-unsigned -i key --repo repo --globals --create \
	--target "$(super p4)"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_roles where rolname = 'forged3'")" 0 \
	"one transaction: nothing applied"
cp genuine.age "$gobj"
cp genuine.manifest "repo/app/$id/manifest.json"
tk_pass "privileged roles need --allow-privileged-roles; one transaction"

# --- globals_apply() for the restore drill: privileged attributes and memberships stripped
if [ -n "${PGWARD_GLOBALS_APPLY:-}" ]; then
	cat >strip.sql <<'SQL'
CREATE ROLE s1;
ALTER ROLE s1 WITH SUPERUSER REPLICATION LOGIN;
CREATE ROLE s2;
GRANT pg_execute_server_program TO s2;
GRANT s1 TO s2;
GRANT pg_monitor TO s2;
CREATE TABLESPACE s_ts OWNER s2 LOCATION '/nonexistent';
ALTER ROLE s2 SET search_path TO 'evil';
SQL
	ga() { PGPASSWORD=$PG_SUPERPASS "$PGWARD_GLOBALS_APPLY" "$(super postgres)" strip.sql "$@"; }
	set +e
	out=$(ga no-tablespaces 2>&1)
	rc=$?
	set -e
	tk_assert_eq "$rc" 22 "globals_apply without strip or allow: refused ($out)"
	tk_assert_contains "$out" 'privileged: role "s1": SUPERUSER REPLICATION' "the refusal names what is privileged"
	tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_roles where rolname in ('s1', 's2')")" 0 \
		"refused: nothing applied"
	out=$(ga strip no-tablespaces) || tk_fail "globals_apply strip: $out"
	tk_assert_contains "$out" 'privileged: role "s1": SUPERUSER REPLICATION' "stripped attributes listed"
	tk_assert_contains "$out" 'privileged: membership of "s2" in "pg_execute_server_program"' \
		"stripped membership listed"
	tk_assert_contains "$out" "stripped: yes" "report says stripped"
	tk_assert_contains "$out" "skipped: s2 search_path: pgward does not apply this parameter: ALTER ROLE \"s2\" SET \"search_path\" TO 'evil'" \
		"a setting pgward does not apply: skipped and reported"
	tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = 's2'")" \
		0 "the skipped setting is not applied"
	tk_assert_eq "$(pg_psql_super -c "select rolsuper, rolreplication, rolcanlogin from pg_roles where rolname = 's1'")" \
		"f|f|t" "s1 created without its privileged attributes"
	tk_assert_eq "$(pg_psql_super -c "select pg_has_role('s2', 'pg_execute_server_program', 'member'), pg_has_role('s2', 's1', 'member'), pg_has_role('s2', 'pg_monitor', 'member')")" \
		"f|f|t" "privileged memberships left out, the harmless one applied"
	tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_tablespace where spcname = 's_ts'")" 0 \
		"no-tablespaces"
	tk_pass "globals_apply strip_privileged (for the drill)"
fi
