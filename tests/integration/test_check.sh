#!/usr/bin/env bash
# test_check.sh - pgward check against a real PostgreSQL 15: an ordinary login gets skips that
# name the GRANT (and the rules run once granted); a hardened cluster with a fresh, verified,
# doubly-encrypted backup passes (or is an honest info/skip/warn); the same cluster, then
# misconfigured (trust and 0.0.0.0/0 hba lines, md5, two superusers, superuser through
# membership, PUBLIC CREATE, SECURITY DEFINER without search_path, an untrusted language, a
# read-only-marked role with UPDATE, a shared account, a plaintext session, logging off, no
# backup) reports each with its id, evidence and fix; JSON, markdown and --fail-on; and with
# log_statement = all, every statement of pgward's session names catalogs only.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/s3.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
EXT=/usr/share/postgresql/15/extension
[[ -f $EXT/pgaudit.control ]] && PGAUDIT=("shared_preload_libraries = 'pgaudit'" "pgaudit.log = 'ddl, role'") || PGAUDIT=()
pg_start "log_disconnections = on" "log_statement = 'all'" "log_line_prefix = '%m [%p] %a '" \
  "fsync = on" "full_page_writes = on" "${PGAUDIT[@]}" >/dev/null

# A server certificate valid for a year (the harness's lasts 2 days, which check reports).
cat > leaf.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[v3]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF
openssl req -new -config leaf.cnf -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout leaf.key -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA "$TK_TMP/ca/ca.crt" -CAkey "$TK_TMP/ca/ca.key" -days 365 \
  -set_serial 0x4242 -extfile leaf.cnf -extensions v3 -out leaf.crt 2>/dev/null
install_cert() { # install_cert CRT KEY: the server's certificate, reloaded
  cp "$1" "$PG_DATADIR/server.crt"; cp "$2" "$PG_DATADIR/server.key"
  chmod 0600 "$PG_DATADIR/server.key"
  [[ $EUID -ne 0 ]] || chown postgres: "$PG_DATADIR/server.crt" "$PG_DATADIR/server.key"
  pg_psql_super -c "select pg_reload_conf()" >/dev/null
  sleep 0.5
}

pg_psql_super >/dev/null <<'SQL'
create database shop;
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
create role monitor login password 'mon';
create role plain login password 'pl';
create role reporting_priv nologin;
comment on role reporting_priv is '{"level":"read-only","schemas":["public"],"state":"active"}';
create role reporting login password 'rp' in role reporting_priv;
SQL
pg_psql_super -d shop >/dev/null <<'SQL'
create table public.secret_data(id int primary key, v text);
insert into public.secret_data values (1, 'TOP-SECRET-VALUE');
grant select on public.secret_data to reporting_priv;
SQL

URL() { echo "postgresql://$1@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"; }
check() { # check ROLE PASSWORD ARGS...: pgward check as ROLE; output in $out, status in $rc
  local role=$1 pw=$2; shift 2
  set +e
  out=$(PGWARD_DB_PASSWORD=$pw "$PGWARD" check --db "$(URL "$role")" "$@" 2>"$TK_TMP/err"); rc=$?
  set -e
}
jq_() { # jq_ JSON PYTHON-EXPR: evaluate EXPR with r = the parsed report, f(id) = a result
  python3 -c 'import json,sys
r = json.loads(sys.argv[1]); f = lambda i: next(x for x in r["results"] if x["id"] == i)
print(eval(sys.argv[2]))' "$1" "$2"
}
IDS="tls.server tls.enforced tls.min-version tls.this-connection tls.live-sessions auth.no-trust
auth.scram net.allowlist roles.superusers roles.unused roles.shared-account
roles.readonly-is-readonly roles.session-role priv.public-schema-create priv.public-grants priv.secdef-search-path
priv.untrusted-languages audit.logging data.checksums version.supported backup.recent
backup.encrypted backup.off-vendor backup.retention backup.restore-tested backup.immutable
backup.signed"

# --- an ordinary login with no grants: nothing errors, the skips name the GRANT -------------
check plain pl --output=json
tk_assert_eq "$rc" 0 "check as an ordinary login exits 0: $(cat err)"
tk_assert_eq "$(jq_ "$out" 'r["schema_version"]')" 1 "schema_version"
# (the second ring's rules, between version.supported and backup.recent: test_check_ring2.sh)
tk_assert_eq "$(jq_ "$out" '" ".join(x["id"] for x in r["results"] if x["id"] in """'"$IDS"'""".split())')" "$(echo $IDS)" "every rule, in order"
tk_assert_eq "$(jq_ "$out" 'sorted(set(x["result"] for x in r["results"]) - {"pass","fail","warn","skip","info"})')" "[]" "results are pass/fail/warn/skip/info"
tk_assert_eq "$(jq_ "$out" 'sorted(r.keys())')" "['checked_at', 'database', 'fail_on', 'failing', 'results', 'role', 'schema_version', 'server_version', 'stanza', 'summary', 'tool']" "report keys"
tk_assert_eq "$(jq_ "$out" 'sorted(f("tls.server").keys())')" "['evidence', 'fails_threshold', 'fix', 'id', 'result', 'severity', 'title', 'why']" "result keys"
tk_assert_eq "$(jq_ "$out" 'f("tls.min-version")["result"]')" skip "settings hidden -> skip"
tk_assert_contains "$(jq_ "$out" 'f("tls.min-version")["fix"]')" 'GRANT pg_read_all_settings TO "plain";' "skip names pg_read_all_settings"
tk_assert_contains "$(jq_ "$out" 'f("tls.live-sessions")["fix"]')" 'GRANT pg_read_all_stats TO "plain";' "skip names pg_read_all_stats"
tk_assert_contains "$(jq_ "$out" 'f("roles.shared-account")["fix"]')" 'GRANT pg_read_all_stats TO "plain";' "shared-account names pg_read_all_stats"
for id in tls.enforced auth.no-trust net.allowlist; do
  tk_assert_eq "$(jq_ "$out" "f('$id')['result']")" skip "$id skips without pg_hba_file_rules"
  tk_assert_contains "$(jq_ "$out" "f('$id')['fix']")" 'GRANT SELECT ON pg_catalog.pg_hba_file_rules TO "plain";' "$id names the view grant"
  tk_assert_contains "$(jq_ "$out" "f('$id')['fix']")" 'GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO "plain";' "$id names the function grant"
done
tk_assert_eq "$(jq_ "$out" 'f("backup.recent")["result"]')" skip "no repository -> backup rules skip"
tk_assert_contains "$(jq_ "$out" 'f("backup.recent")["fix"]')" "--repo ADDR" "backup skip says what to configure"
tk_assert_eq "$(jq_ "$out" 'f("tls.this-connection")["result"]')" warn "the 2-day harness certificate is reported"
tk_assert_contains "$(jq_ "$out" 'f("tls.this-connection")["evidence"]')" "within 30 days" "expiry evidence"
tk_pass "ordinary login: skips name the GRANT, nothing errors"

pg_psql_super -d shop >/dev/null <<'SQL'
grant pg_read_all_settings, pg_read_all_stats to plain;
grant select on pg_catalog.pg_hba_file_rules to plain;
grant execute on function pg_catalog.pg_hba_file_rules() to plain;
SQL
check plain pl --output=json
for id in tls.min-version tls.live-sessions roles.shared-account tls.enforced auth.no-trust net.allowlist; do
  tk_assert_eq "$(jq_ "$out" "f('$id')['result']")" pass "$id runs once granted: $(jq_ "$out" "f('$id')['evidence']")"
done
tk_pass "after the grants, the rules run"

# pg_hba.conf on disk with an error: the view shows the file, not what the server loaded, so
# the hba rules cannot pass
cp "$PG_DATADIR/pg_hba.conf" hba.saved
echo 'hostssl all all 10.1.0.0/99 scram-sha-256' >> "$PG_DATADIR/pg_hba.conf"
check plain pl --output=json
for id in tls.enforced auth.no-trust net.allowlist; do
  tk_assert_eq "$(jq_ "$out" "f('$id')['result']")" warn "$id warns on hba errors"
  tk_assert_contains "$(jq_ "$out" "f('$id')['evidence']")" "pg_hba.conf on disk has 1 line with errors (line 3:" "$id names the error"
  tk_assert_contains "$(jq_ "$out" "f('$id')['evidence']")" "keeps the rules it loaded before" "$id says what the server runs"
done
cp hba.saved "$PG_DATADIR/pg_hba.conf"
tk_pass "hba file with errors: no pass"

# a unix socket: no network, so tls.this-connection is info, not "not encrypted"
out=$(PGWARD_DB_PASSWORD=pl "$PGWARD" check --db "postgresql://plain@/shop?host=$PG_SOCKDIR&port=$PGPORT_TEST" --output=json 2>"$TK_TMP/err") || tk_fail "check over the socket: $(cat err)"
tk_assert_eq "$(jq_ "$out" 'f("tls.this-connection")["result"]')" info "socket: info"
tk_assert_contains "$(jq_ "$out" 'f("tls.this-connection")["evidence"]')" "local socket" "socket evidence"
tk_pass "unix socket"

# a server that answers but refuses the first query: the rules that need no query still run;
# the skips count under --fail-on (a check that saw nothing is not a clean check)
pg_psql_super >/dev/null <<'SQL'
create database locked;
\c locked
revoke execute on function pg_catalog.pg_has_role(name, text) from public;
SQL
LURL="postgresql://plain@localhost:$PGPORT_TEST/locked?sslrootcert=$PG_CA"
set +e
out=$(PGWARD_DB_PASSWORD=pl "$PGWARD" check --db "$LURL" --output=json 2>"$TK_TMP/err"); rc=$?
set -e
tk_assert_eq "$rc" 0 "unreadable server, --fail-on=never: exit 0"
tk_assert_eq "$(jq_ "$out" 'f("tls.server")["result"]')" skip "query rules skip"
tk_assert_contains "$(jq_ "$out" 'f("tls.server")["evidence"]')" "could not read the server" "skip says why"
tk_assert_eq "$(jq_ "$out" 'f("version.supported")["result"]')" pass "version from the connection"
tk_assert_eq "$(jq_ "$out" 'f("tls.this-connection")["result"]')" warn "this connection judged (2-day certificate)"
tk_assert_eq "$(jq_ "$out" 'r["role"] + " " + r["database"]')" "plain locked" "role and database from the connection"
PGWARD_DB_PASSWORD=pl expect_fail 25 "at or above --fail-on=critical" check --db "$LURL" --fail-on=critical
tk_pass "server that refuses queries"

# no stanza named and a database name that is not a valid stanza name: check runs, the
# backup rules say to name one
pg_psql_super -c 'create database "bad name"' >/dev/null
mkdir nostanza
set +e
out=$(PGWARD_DB_PASSWORD=pl "$PGWARD" check --db "postgresql://plain@localhost:$PGPORT_TEST/bad%20name?sslrootcert=$PG_CA" --repo nostanza --output=json 2>"$TK_TMP/err"); rc=$?
set -e
tk_assert_eq "$rc" 0 "database name that is no stanza name: $(cat err)"
tk_assert_eq "$(jq_ "$out" 'f("backup.recent")["result"]')" skip "backup rules skip"
tk_assert_contains "$(jq_ "$out" 'f("backup.recent")["fix"]')" "pgward check STANZA" "says to name the stanza"
tk_assert_eq "$(jq_ "$out" 'r["stanza"]')" None "no stanza"
tk_pass "no valid stanza"

# docs/check.md, "Privileges": pg_read_all_data reaches the catalogs too: every password hash
hashes=$(PGPASSWORD=bk psql -X -At "$(URL backup)&sslmode=verify-full" \
  -c "select rolname || ' ' || left(rolpassword, 14) from pg_catalog.pg_authid where rolname = 'monitor'" \
  -c "select 'shadow ' || left(passwd, 14) from pg_catalog.pg_shadow where usename = 'monitor'" \
  -c "select 'roles ' || rolpassword from pg_catalog.pg_roles where rolname = 'monitor'" 2>&1)
tk_assert_contains "$hashes" 'monitor SCRAM-SHA-256$' "pg_read_all_data reads pg_authid's hashes"
tk_assert_contains "$hashes" 'shadow SCRAM-SHA-256$' "pg_read_all_data reads pg_shadow"
tk_assert_contains "$hashes" 'roles ********' "pg_roles hides them"
PGPASSWORD=bk psql -X -At "$(URL backup)&sslmode=verify-full" -c "update pg_catalog.pg_authid set rolpassword = null where rolname = 'monitor'" >/dev/null 2>&1 &&
  tk_fail "pg_read_all_data wrote pg_authid"
tk_pass "pg_read_all_data reads password hashes (docs/check.md)"

# --- hardened: certificate for a year, a verified backup encrypted to two recipients ------
install_cert leaf.crt leaf.key
"$PGWARD" keygen -o key1 2>/dev/null
"$PGWARD" keygen -o key2 2>/dev/null
R1=$("$PGWARD" keygen -y key1); R2=$("$PGWARD" keygen -y key2)
PGWARD_DB_PASSWORD=bk "$PGWARD" backup --db "$(URL backup)" --repo repo -r "$R1" -r "$R2" >/dev/null
PGWARD_SCRATCH_PASSWORD=$PG_SUPERPASS "$PGWARD" verify shop --repo repo -i key1 --restore \
  --scratch-url "postgresql://postgres@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA" >/dev/null
pg_psql_super -d shop >/dev/null <<'SQL'
grant pg_read_all_settings, pg_read_all_stats to monitor;
grant select on pg_catalog.pg_hba_file_rules to monitor;
grant execute on function pg_catalog.pg_hba_file_rules() to monitor;
SQL

check monitor mon shop --repo repo --output=json
tk_assert_eq "$rc" 0 "hardened check: $(cat err)"
# what may honestly not pass here: the repository is a local directory on the database's own
# machine (off-vendor fails, immutable warns), and an ordinary role cannot see password hashes
expected="auth.scram=skip roles.unused=skip"
[[ ${#PGAUDIT[@]} -gt 0 ]] || expected+=" audit.logging=warn"
expected+=" backup.off-vendor=fail backup.immutable=warn"
tk_assert_eq "$(jq_ "$out" '" ".join(x["id"] + "=" + x["result"] for x in r["results"] if x["result"] != "pass" and x["id"] in """'"$IDS"'""".split())')" \
  "$expected" "hardened: everything else passes: $(jq_ "$out" 'f("roles.readonly-is-readonly")["evidence"]')"
tk_assert_contains "$(jq_ "$out" 'f("roles.readonly-is-readonly")["evidence"]')" "reporting_priv (comment)" "read-only by comment"
tk_assert_contains "$(jq_ "$out" 'f("roles.readonly-is-readonly")["evidence"]')" "reporting (member of reporting_priv)" "members of a read-only role"
tk_assert_contains "$(jq_ "$out" 'f("roles.readonly-is-readonly")["evidence"]')" "backup (takes this stanza's backups)" "the backup role"
tk_assert_contains "$(jq_ "$out" 'f("backup.encrypted")["evidence"]')" "2 recipients" "two recipients"
tk_assert_contains "$(jq_ "$out" 'f("backup.restore-tested")["evidence"]')" "restore drill passed" "restore drill seen"
tk_assert_contains "$(jq_ "$out" 'f("tls.this-connection")["evidence"]')" "chain and host name verified" "verified connection"
tk_assert_contains "$(jq_ "$out" 'f("backup.immutable")["evidence"]')" "cannot lock objects" "local repository cannot lock"
tk_assert_contains "$(jq_ "$out" 'f("backup.signed")["evidence"]')" "is signed by trusted key" "signed backup seen"
tk_assert_eq "$(jq_ "$out" 'r["failing"]')" 0 "fail-on never: nothing failing"
PGWARD_TRUSTED_SIGNER= check monitor mon shop --repo repo --output=json
tk_assert_eq "$(jq_ "$out" 'f("backup.signed")["result"]')" fail "no trusted-signer"
tk_assert_contains "$(jq_ "$out" 'f("backup.signed")["evidence"]')" "no trusted-signer is configured" "no trusted-signer evidence"
check monitor mon shop --repo repo --fail-on=high
tk_assert_eq "$rc" 0 "hardened: --fail-on=high exits 0"
tk_assert_contains "$out" "tls.server                   critical  pass" "text table"
check monitor mon shop --repo repo --fail-on=medium
tk_assert_eq "$rc" 25 "hardened: --fail-on=medium exits 25 (off-vendor)"
tk_assert_contains "$(cat err)" "at or above --fail-on=medium" "fail-on message"
tk_assert_contains "$(cat err)" "HINT:" "fail-on hint"
check postgres "$PG_SUPERPASS" shop --repo repo --output=json
tk_assert_eq "$(jq_ "$out" 'f("auth.scram")["result"] + " " + f("roles.unused")["result"]')" "pass pass" "a superuser sees the hashes"
check monitor mon shop --repo repo --output=markdown
tk_assert_contains "$out" "| id | severity | result | title |" "markdown table"
tk_assert_contains "$out" '| `backup.off-vendor` | medium | **fail** |' "markdown row"
# the stanza's own credentials: the connecting role is held to read-only too
printf '[shop]\ndb = %s\nrepo = %s/repo\ndb-password = bk\n' "$(URL backup)" "$TK_TMP" > pgward.conf
chmod 600 pgward.conf
out=$("$PGWARD" check shop --config pgward.conf --output=json)
tk_assert_contains "$(jq_ "$out" 'f("roles.readonly-is-readonly")["evidence"]')" "connects with the backup stanza's credentials" "stanza credentials"
tk_assert_eq "$(jq_ "$out" 'f("roles.readonly-is-readonly")["result"]')" pass "backup role is read-only"
# two months on: without GFS the backup is past retention-days (expire does not run); with
# retention-monthly it is the month's copy that expire keeps on purpose
LATER=$(date -u -d '+60 days' +%Y-%m-%dT%H:%M:%SZ)
out=$(PGWARD_NOW=$LATER PGWARD_DB_PASSWORD=mon "$PGWARD" check --db "$(URL monitor)" shop --repo repo --retention-min 0 --output=json 2>/dev/null)
tk_assert_eq "$(jq_ "$out" 'f("backup.retention")["result"]')" warn "no GFS: expire does not run"
tk_assert_contains "$(jq_ "$out" 'f("backup.retention")["evidence"]')" "expire does not seem to run" "stale backup evidence"
out=$(PGWARD_NOW=$LATER PGWARD_DB_PASSWORD=mon "$PGWARD" check --db "$(URL monitor)" shop --repo repo --retention-min 0 --retention-monthly 12 --output=json 2>/dev/null)
tk_assert_eq "$(jq_ "$out" 'f("backup.retention")["result"]')" pass "GFS keeps it on purpose: $(jq_ "$out" 'f("backup.retention")["evidence"]')"
tk_assert_contains "$(jq_ "$out" 'f("backup.retention")["evidence"]')" "keep older copies on purpose (up to about 360 days)" "GFS evidence"
tk_pass "hardened cluster"

# --- metadata only: every statement of pgward's session names catalogs --------------------
python3 - "$PG_LOG" <<'PY' || tk_fail "statement log check"
import re, sys
stmts = []
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"\] pgward-check LOG:  (?:statement|execute [^:]*): (.*)", line)
    if m:
        stmts.append(m.group(1))
assert len(stmts) > 20, "too few pgward-check statements logged: %d" % len(stmts)
allowed = {"r", "rel", "lateral"}
for s in stmts:
    low = s.lower()
    assert "secret_data" not in low and "top-secret" not in low, s
    for t in re.findall(r"\b(?:from|join)\s+([^\s(,]+)", low):
        assert t.startswith("pg_catalog.") or t in allowed, "not a catalog: %r in %s" % (t, s)
print("ok: %d statements, all on catalogs" % len(stmts))
PY
tk_pass "log_statement = all: pgward-check read catalogs, settings and statistics only"

# --- an object-locked bucket (Ceph RGW): backup.immutable passes, or fails without a lock ---
s3_start || tk_fail "s3_start failed"
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET PGWARD_S3_ENDPOINT=$S3_ENDPOINT
for p in locked unlocked; do
  [[ $p == locked ]] && lock=(--lock-days 14) || lock=()
  PGWARD_DB_PASSWORD=bk "$PGWARD" backup --db "$(URL backup)" --repo "s3://$S3_BUCKET_LOCKED/$p" \
    -r "$R1" -r "$R2" "${lock[@]}" >/dev/null
done
check monitor mon shop --repo "s3://$S3_BUCKET_LOCKED/locked" --output=json
tk_assert_eq "$(jq_ "$out" 'f("backup.immutable")["result"]')" pass "object lock within retention"
tk_assert_contains "$(jq_ "$out" 'f("backup.immutable")["evidence"]')" "(governance mode)" "lock evidence"
tk_assert_eq "$(jq_ "$out" 'f("backup.off-vendor")["result"]')" fail "the bucket is on the database's host"
check monitor mon shop --repo "s3://$S3_BUCKET_LOCKED/unlocked" --output=json
tk_assert_eq "$(jq_ "$out" 'f("backup.immutable")["result"]')" fail "lockable bucket, unlocked backup"
tk_assert_contains "$(jq_ "$out" 'f("backup.immutable")["evidence"]')" "written without a lock" "no-lock evidence"
check monitor mon shop --repo "s3://$S3_BUCKET_LOCKED/locked" --retention-days 7 --output=json
tk_assert_eq "$(jq_ "$out" 'f("backup.immutable")["result"]')" warn "lock longer than retention"
# the endpoint from AWS_ENDPOINT_URL (the storage layer's last fallback) is the one judged
out=$(unset PGWARD_S3_ENDPOINT; AWS_ENDPOINT_URL=$S3_ENDPOINT PGWARD_DB_PASSWORD=mon "$PGWARD" check \
  --db "$(URL monitor)" shop --repo "s3://$S3_BUCKET_LOCKED/locked" --output=json 2>"$TK_TMP/err") || tk_fail "AWS_ENDPOINT_URL: $(cat err)"
tk_assert_eq "$(jq_ "$out" 'f("backup.off-vendor")["result"]')" fail "AWS_ENDPOINT_URL: the bucket is on the database's host"
tk_assert_contains "$(jq_ "$out" 'f("backup.off-vendor")["evidence"]')" "endpoint 127.0.0.1" "the endpoint the storage uses"
# a bucket whose lock configuration the credentials may not read (HTTP 403): the storage
# layer assumes lock support, check does not claim it
NB=pgward-nolockread
tk_assert_eq "$(s3_curl PUT "/$NB" -o /dev/null -w '%{http_code}')" 200 "bucket $NB"
printf '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:GetBucketObjectLockConfiguration"],"Resource":["arn:aws:s3:::%s"]}]}' "$NB" > policy.json
tk_assert_eq "$(s3_curl PUT "/$NB?policy=" --data-binary @policy.json -o /dev/null -w '%{http_code}')" 204 "deny policy"
tk_assert_eq "$(s3_curl GET "/$NB?object-lock=" -o /dev/null -w '%{http_code}')" 403 "lock configuration unreadable"
PGWARD_DB_PASSWORD=bk "$PGWARD" backup --db "$(URL backup)" --repo "s3://$NB/p" -r "$R1" -r "$R2" >/dev/null
check monitor mon shop --repo "s3://$NB/p" --output=json
tk_assert_eq "$(jq_ "$out" 'f("backup.immutable")["result"]')" skip "403: lock support unknown"
tk_assert_contains "$(jq_ "$out" 'f("backup.immutable")["evidence"]')" "could not be read (HTTP 403)" "403 evidence"
tk_assert_contains "$(jq_ "$out" 'f("backup.immutable")["fix"]')" "s3:GetBucketObjectLockConfiguration" "names the permission"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY PGWARD_S3_ENDPOINT
tk_pass "object lock"

# --- misconfigured -------------------------------------------------------------------------
install_cert "$TK_TMP/ca/server.crt" "$TK_TMP/ca/server.key"
printf '%s\n' 'host all all 127.0.0.1/32 trust' 'host all all 0.0.0.0/0 scram-sha-256' \
  'host shop app 10.0.0.0/8 scram-sha-256' 'hostnogssenc shop app 192.168.7.0/24 scram-sha-256' \
  >> "$PG_DATADIR/pg_hba.conf"
pg_psql_super >/dev/null <<'SQL'
alter system set password_encryption = 'md5';
alter system set log_connections = off;
alter system set log_disconnections = off;
create role admin2 login superuser password 'a2';
create role ops superuser nologin;
create role app login password 'app';
grant ops to app;
set password_encryption = 'md5';
create role legacy login password 'legacy';
create role ghost login;
select pg_reload_conf();
SQL
pg_psql_super -d shop >/dev/null <<'SQL'
create schema scratch;
grant create on schema scratch to public;
create function public.bump() returns int language sql security definer as 'select 1';
grant update on public.secret_data to reporting_priv;
grant select on public.secret_data to public;
create sequence public.counter;
grant usage on sequence public.counter to reporting_priv;
grant create on database shop to reporting_priv;
alter role reporting_priv createdb;
create table public.cols(a int, b int);
grant select (b) on public.cols to public;
create extension pg_stat_statements;
create function public.weak() returns int language sql security definer set search_path = public as 'select 1';
alter role plain in database shop set password_encryption = 'scram-sha-256';
SQL
# many LOGIN roles without a password: the evidence lists some and counts the rest
pg_psql_super -c "do \$\$ begin for i in 1..300 loop execute format('create role %I login', 'ghost_' || repeat('x', 50) || i); end loop; end \$\$" >/dev/null
if [[ -f $EXT/plperlu.control ]]; then
  pg_psql_super -d shop -c "create extension plperlu" >/dev/null
  PERL=1
else
  PERL=
fi
# one role from two applications at once, and a session without TLS (through the trust line)
for app in billing reports; do
  psql "$(URL app)&application_name=$app&password=app&sslmode=verify-full" -Xqc "select pg_sleep(60)" >/dev/null 2>&1 &
  tk_on_exit "kill $! 2>/dev/null"
done
psql "host=127.0.0.1 port=$PGPORT_TEST dbname=shop user=app sslmode=disable application_name=plaintext" -Xqc "select pg_sleep(60)" >/dev/null 2>&1 &
tk_on_exit "kill $! 2>/dev/null"
for _ in $(seq 50); do
  n=$(pg_psql_super -c "select count(*) from pg_stat_activity where usename = 'app' and wait_event = 'PgSleep'")
  [[ $n == 3 ]] && break
  sleep 0.2
done
tk_assert_eq "$n" 3 "three app sessions running"
mkdir empty

check monitor mon shop --repo empty --retention-days 7 --output=json --fail-on=high
tk_assert_eq "$rc" 25 "misconfigured: --fail-on=high exits 25"
tk_assert_contains "$(cat "$TK_TMP/err")" "at or above --fail-on=high" "misconfigured: fail-on message"
tk_assert_contains "$(cat "$TK_TMP/err")" "HINT:" "misconfigured: fail-on hint"
res() { jq_ "$out" "f('$1')['result']"; }
ev() { jq_ "$out" "f('$1')['evidence']"; }
fix() { jq_ "$out" "f('$1')['fix']"; }
tk_assert_eq "$(res auth.no-trust)" fail "trust host line"
tk_assert_contains "$(ev auth.no-trust)" "host all all 127.0.0.1/32 trust" "trust evidence"
tk_assert_contains "$(fix auth.no-trust)" "trust -> scram-sha-256" "trust fix"
tk_assert_eq "$(jq_ "$out" 'f("auth.no-trust")["severity"]')" critical "trust is critical"
tk_assert_eq "$(res tls.enforced)" fail "host line without TLS"
tk_assert_contains "$(ev tls.enforced)" "host all all 0.0.0.0/0 scram-sha-256" "tls.enforced evidence"
tk_assert_contains "$(ev tls.enforced)" "hostnogssenc shop app 192.168.7.0/24 scram-sha-256" "hostnogssenc accepts plaintext"
tk_assert_contains "$(fix tls.enforced)" 'change "hostnogssenc" to "hostssl"' "hostnogssenc fix"
tk_assert_contains "$(fix tls.enforced)" 'to "hostssl"' "tls.enforced fix"
tk_assert_eq "$(res net.allowlist)" fail "0.0.0.0/0"
tk_assert_contains "$(ev net.allowlist)" "open to every address, database and user: line" "allowlist evidence"
tk_assert_contains "$(ev net.allowlist)" "wide range: line" "10.0.0.0/8 warned"
tk_assert_eq "$(res auth.scram)" fail "md5"
tk_assert_contains "$(ev auth.scram)" "password_encryption = md5" "md5 setting evidence"
tk_assert_contains "$(fix auth.scram)" "password_encryption = 'scram-sha-256'" "md5 fix"
tk_assert_eq "$(res roles.superusers)" fail "two superusers"
tk_assert_contains "$(ev roles.superusers)" "2 superusers with LOGIN: admin2, postgres" "superusers evidence"
tk_assert_contains "$(ev roles.superusers)" "role app reaches superuser through membership in ops" "membership evidence"
tk_assert_contains "$(fix roles.superusers)" 'ALTER ROLE "admin2" NOSUPERUSER;' "demote the second superuser"
tk_assert_contains "$(fix roles.superusers)" 'REVOKE ops FROM "app";' "membership fix"
tk_assert_eq "$(res priv.public-schema-create)" fail "PUBLIC CREATE"
tk_assert_eq "$(jq_ "$out" 'repr(f("priv.public-schema-create")["fix"])')" "'REVOKE CREATE ON SCHEMA scratch FROM PUBLIC;'" "PUBLIC CREATE fix (no trailing newline)"
tk_assert_eq "$(res priv.secdef-search-path)" fail "secdef"
tk_assert_eq "$(fix priv.secdef-search-path)" "ALTER FUNCTION public.bump() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.weak() SET search_path = pg_catalog, pg_temp;" "secdef fix"
tk_assert_contains "$(ev priv.secdef-search-path)" "SECURITY DEFINER without search_path: public.bump()" "secdef without search_path"
tk_assert_contains "$(ev priv.secdef-search-path)" "public.weak() (search_path=public)" "search_path without pg_temp last"
tk_assert_eq "$(res priv.public-grants)" fail "table granted to PUBLIC"
tk_assert_contains "$(ev priv.public-grants)" "table public.secret_data: SELECT to PUBLIC" "public grant evidence"
tk_assert_contains "$(ev priv.public-grants)" "function public.bump(): EXECUTE to PUBLIC" "secdef open to PUBLIC"
tk_assert_contains "$(ev priv.public-grants)" "column public.cols (b): SELECT to PUBLIC" "column grant to PUBLIC"
tk_assert_contains "$(fix priv.public-grants)" "REVOKE SELECT (b) ON public.cols FROM PUBLIC;" "column grant fix"
[[ $(ev priv.public-grants) != *pg_stat_statements* ]] || tk_fail "an extension's initial privileges are not reported: $(ev priv.public-grants)"
if [[ -n $PERL ]]; then
  tk_assert_eq "$(res priv.untrusted-languages)" fail "plperlu"
  tk_assert_eq "$(fix priv.untrusted-languages)" 'DROP EXTENSION "plperlu"; -- if nothing uses it' "plperlu fix"
fi
tk_assert_eq "$(res roles.readonly-is-readonly)" fail "read-only role with UPDATE"
tk_assert_contains "$(ev roles.readonly-is-readonly)" "reporting_priv holds UPDATE on public.secret_data" "read-only evidence"
tk_assert_contains "$(ev roles.readonly-is-readonly)" "reporting holds UPDATE on public.secret_data" "member inherits it"
tk_assert_contains "$(fix roles.readonly-is-readonly)" 'REVOKE UPDATE ON public.secret_data FROM "reporting_priv";' "read-only fix"
tk_assert_contains "$(ev roles.readonly-is-readonly)" "reporting_priv holds USAGE on SEQUENCE public.counter" "sequence USAGE (nextval)"
tk_assert_contains "$(ev roles.readonly-is-readonly)" "reporting_priv holds CREATE on DATABASE shop" "CREATE on the database"
tk_assert_contains "$(ev roles.readonly-is-readonly)" "reporting_priv holds CREATEDB" "CREATEDB attribute"
tk_assert_contains "$(fix roles.readonly-is-readonly)" 'ALTER ROLE "reporting_priv" NOCREATEDB;' "CREATEDB fix"
tk_assert_eq "$(res roles.shared-account)" fail "shared account"
tk_assert_contains "$(ev roles.shared-account)" "role app: 3 sessions from applications [billing, plaintext, reports]" "shared evidence"
tk_assert_eq "$(res tls.live-sessions)" warn "plaintext loopback session"
tk_assert_contains "$(ev tls.live-sessions)" "role app, application plaintext, from 127.0.0.1" "live session evidence"
tk_assert_eq "$(res audit.logging)" fail "logging off"
tk_assert_contains "$(ev audit.logging)" "log_connections = off, log_disconnections = off" "logging evidence"
tk_assert_contains "$(fix audit.logging)" "log_connections = on" "logging fix"
tk_assert_eq "$(res backup.recent)" fail "no backup"
tk_assert_contains "$(ev backup.recent)" "no complete backup of stanza shop" "no backup evidence"
tk_assert_contains "$(fix backup.recent)" "pgward backup shop" "backup fix"
tk_assert_eq "$(res backup.retention)" fail "retention 7 days"
tk_assert_contains "$(ev backup.retention)" "retention-days = 7 (command line option --retention-days)" "retention evidence"
tk_assert_eq "$(res backup.restore-tested)" fail "no restore drill"
tk_assert_eq "$(res tls.this-connection)" warn "certificate expiring"
tk_assert_eq "$(jq_ "$out" 'f("tls.this-connection")["fails_threshold"]')" False "medium warn below --fail-on=high"
tk_assert_eq "$(jq_ "$out" 'f("auth.no-trust")["fails_threshold"]')" True "critical fail above --fail-on=high"
check postgres "$PG_SUPERPASS" shop --output=json
tk_assert_contains "$(ev auth.scram)" "1 role with an MD5 password hash: legacy" "md5 role"
tk_assert_eq "$(res roles.unused)" warn "role without password"
tk_assert_contains "$(ev roles.unused)" "ghost (no password)" "unused role"
tk_assert_contains "$(ev roles.unused)" "more (they log in only through" "a long list ends with the count of the rest"
# password_encryption set for one role in this database only: the source is shown
check plain pl shop --output=json
tk_assert_eq "$(res auth.scram)" warn "password_encryption from ALTER ROLE SET"
tk_assert_contains "$(ev auth.scram)" 'from source "database user"' "source in evidence"
# weaker sslmode on this connection
check monitor mon shop --output=json
out=$(PGWARD_DB_PASSWORD=mon "$PGWARD" check --db "postgresql://monitor@localhost:$PGPORT_TEST/shop?sslmode=require" --output=json 2>/dev/null)
tk_assert_eq "$(res tls.this-connection)" fail "sslmode=require"
tk_assert_contains "$(ev tls.this-connection)" "neither the chain nor the host name was verified" "require evidence"
tk_assert_contains "$(fix tls.this-connection)" "pgward pin --db URL" "suggest pinning"
tk_pass "misconfigured cluster: each problem reported with id, evidence and fix"

# --- bad input, audit ----------------------------------------------------------------------
expect_fail 2 "fail-on" check --db "$(URL monitor)" --fail-on=sometimes
expect_fail 2 "output" check --db "$(URL monitor)" --output=yaml
expect_fail 3 "no database given" check
grep -q '"command":"check"' "$PGWARD_AUDIT_LOG" || grep -q '"command": "check"' "$PGWARD_AUDIT_LOG" || tk_fail "audit record"
"$PGWARD" audit verify >/dev/null || tk_fail "audit chain"
echo "check: all checks passed"
