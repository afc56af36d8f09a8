#!/usr/bin/env bash
# Integration test: the harness's PostgreSQL server only accepts verified TLS.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$(dirname "$0")/../harness/lib.sh"

pg_start || tk_fail "pg_start failed"
echo "server up on ${PGHOST_TEST}:${PGPORT_TEST} (socket dir ${PG_SOCKDIR})"

# Superuser over the unix socket works (trust).
tk_assert_eq "$(pg_psql_super -c 'select 1')" "1" "superuser over unix socket"
tk_pass "superuser psql over unix socket"

# 1. PG_URL (host=localhost, verify-full, harness CA): TLS >= 1.2.
out=$(psql -X -qtA "$PG_URL" \
        -c 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()' 2>&1) \
    || tk_fail "verify-full connection via PG_URL failed: $out"
IFS='|' read -r ssl ver <<<"$out"
tk_assert_eq "$ssl" "t" "pg_stat_ssl.ssl via PG_URL"
case "$ver" in
    TLSv1.2 | TLSv1.3) ;;
    *) tk_fail "unexpected TLS version '$ver' (want >= TLSv1.2)" ;;
esac
tk_pass "verify-full to localhost: ssl=$ssl version=$ver"

# 2. verify-full against an unrelated CA must fail certificate verification.
tk_gen_ca "$TK_TMP/wrongca" "unrelated test CA" || tk_fail "could not create second CA"
if out=$(PGPASSWORD="$PG_SUPERPASS" psql -X -qtA \
        "host=localhost port=$PGPORT_TEST dbname=postgres user=postgres sslmode=verify-full sslrootcert=$TK_TMP/wrongca/ca.crt" \
        -c 'select 1' 2>&1); then
    tk_fail "connection with the wrong CA unexpectedly succeeded"
fi
tk_assert_contains "$out" "certificate verify failed" "wrong-CA error"
tk_pass "verify-full with wrong CA rejected (certificate verify failed)"

# 3. Plain TCP (no TLS) is rejected by pg_hba.conf.
if out=$(PGPASSWORD="$PG_SUPERPASS" psql -X -qtA \
        "host=$PGHOST_TEST port=$PGPORT_TEST dbname=postgres user=postgres sslmode=disable" \
        -c 'select 1' 2>&1); then
    tk_fail "non-TLS TCP connection unexpectedly succeeded"
fi
tk_assert_contains "$out" "no pg_hba.conf entry" "non-TLS rejection"
tk_assert_contains "$out" "no encryption" "non-TLS rejection"
tk_pass "sslmode=disable over TCP rejected by pg_hba.conf"

# 4. verify-full to the IP address (certificate IP SAN).
out=$(PGPASSWORD="$PG_SUPERPASS" psql -X -qtA \
        "host=$PGHOST_TEST port=$PGPORT_TEST dbname=postgres user=postgres sslmode=verify-full sslrootcert=$PG_CA" \
        -c 'select ssl from pg_stat_ssl where pid = pg_backend_pid()' 2>&1) \
    || tk_fail "verify-full to $PGHOST_TEST failed: $out"
tk_assert_eq "$out" "t" "ssl via IP SAN"
tk_pass "verify-full to $PGHOST_TEST (IP SAN) works"

# 5. Wrong password is refused (scram over TLS is actually enforced).
if out=$(PGPASSWORD="not-the-password" psql -X -qtA \
        "host=localhost port=$PGPORT_TEST dbname=postgres user=postgres sslmode=verify-full sslrootcert=$PG_CA" \
        -c 'select 1' 2>&1); then
    tk_fail "wrong password unexpectedly accepted"
fi
tk_assert_contains "$out" "password authentication failed" "wrong-password error"
tk_pass "wrong password rejected"

echo "all checks passed"
