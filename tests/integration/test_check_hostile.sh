#!/usr/bin/env bash
# test_check_hostile.sh - pgward check's printed fixes against hostile object names (issue 11,
# point 6), with a real PostgreSQL 15. A role that holds only CREATE on the database names a
# schema, a table and a SECURITY DEFINER function with a newline, "--", '"' and ';' and sets
# default privileges in that schema; a LOGIN role with such a name reaches superuser through
# membership and has no password. pgward check (as a superuser) reports them; every fix it
# prints is then run as a superuser, and nothing else happens: the hostile role does not
# become superuser, no payload runs, and the fixes do what they say. Text and markdown reports
# show the line breaks escaped; JSON keeps them as JSON escapes.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null

PAYLOAD='ALTER ROLE evil SUPERUSER;'
pg_psql_super >/dev/null <<'SQL'
create database shop;
create role evil login password 'ev';
grant create on database shop to evil;
create role canary;
SQL
# what the role with CREATE on the database can plant by itself
PGPASSWORD=ev psql -X -q -v ON_ERROR_STOP=1 "postgresql://evil@localhost:$PGPORT_TEST/shop?sslmode=verify-full&sslrootcert=$PG_CA" >/dev/null <<SQL
create schema "s
$PAYLOAD--";
alter default privileges in schema "s
$PAYLOAD--" grant select on tables to public;
create table "s
$PAYLOAD--"."t"";$PAYLOAD--
x" (id int);
grant select on "s
$PAYLOAD--"."t"";$PAYLOAD--
x" to public;
grant create on schema "s
$PAYLOAD--" to public;
create function "s
$PAYLOAD--"."f
$PAYLOAD--"() returns int language sql security definer as 'select 1';
SQL
# a misconfigured cluster: a login role with a hostile name, no password, member of a superuser
pg_psql_super >/dev/null <<SQL
create role "m
$PAYLOAD--" login;
grant postgres to "m
$PAYLOAD--";
SQL

URL="postgresql://postgres@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"
set +e
PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check --db "$URL" --output=json >report.json 2>check.err
rc=$?
PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check --db "$URL" >report.txt 2>/dev/null
PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check --db "$URL" --output=markdown >report.md 2>/dev/null
set -e
[ "$rc" -ne 1 ] && [ -s report.json ] || tk_fail "check failed (exit $rc): $(cat check.err)"

# the fixes of the rules that name the planted objects
python3 - report.json >fixes.sql <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    if x["fix"] and x["id"] in ("roles.superusers", "roles.unused", "priv.public-schema-create",
                                "priv.public-grants", "priv.secdef-search-path"):
        print("-- fix of " + x["id"])
        print(x["fix"])
PY
grep -q 'ALTER DEFAULT PRIVILEGES FOR ROLE' fixes.sql || tk_fail "no default-privileges fix: $(cat fixes.sql)"
grep -q 'REVOKE CREATE ON SCHEMA U&"s\\000A' fixes.sql || tk_fail "no escaped schema in the fixes: $(cat fixes.sql)"
if grep -n "^ALTER ROLE evil" fixes.sql; then tk_fail "a line of the fixes begins with the payload"; fi
tk_pass "the fixes name the hostile objects with U&\"...\" escapes, on one line each"

# every line a report prints stays one line: the payload never starts a line
for f in report.txt report.md; do
  if grep -n "^$PAYLOAD\|^ *$PAYLOAD" "$f"; then tk_fail "$f: a name forged a line"; fi
done
grep -q '\\n' report.txt || tk_fail "report.txt does not show the line break escaped"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert any("\n" in (x["evidence"] or "") for x in r["results"])' report.json ||
  tk_fail "JSON does not keep the newline (as a JSON escape)"
tk_pass "text and markdown show line breaks in names escaped; JSON keeps them"

# run the printed fixes as a superuser: they do what they say and nothing else
PGPASSWORD=$PG_SUPERPASS psql -X -q "postgresql://postgres@localhost:$PGPORT_TEST/shop?sslmode=verify-full&sslrootcert=$PG_CA" \
  -f fixes.sql >fix.out 2>&1 || true
q() { pg_psql_super -d shop -Atc "$1"; }
tk_assert_eq "$(q "select rolsuper from pg_roles where rolname = 'evil'")" "f" \
  "the role with CREATE on the database is not superuser after the fixes ran ($(cat fix.out))"
tk_assert_eq "$(q "select count(*) from pg_default_acl")" "0" "the default privileges were revoked"
tk_assert_eq "$(q "select has_schema_privilege('public', n.oid, 'CREATE') from pg_namespace n where nspname like 's%--'")" \
  "f" "PUBLIC lost CREATE on the hostile schema"
tk_assert_eq "$(q "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname like 'm%--'")" \
  "0" "the membership that reached superuser was revoked"
tk_assert_eq "$(q "select rolcanlogin from pg_roles where rolname like 'm%--'")" "f" "the unused login was made NOLOGIN"
tk_assert_eq "$(q "select count(*) from pg_proc where proname like 'f%--' and proconfig is not null")" "1" \
  "the SECURITY DEFINER function got a search_path"
tk_assert_eq "$(q "select has_table_privilege('public', c.oid, 'SELECT') from pg_class c where relname like 't%x'")" \
  "f" "PUBLIC lost SELECT on the hostile table"
tk_pass "every printed fix ran as a superuser: each did what it says, the payload never ran"
echo "check hostile names: all checks passed"
