#!/usr/bin/env bash
# test_pin.sh - database TLS safety: verify-full by default, public-key pins checked
# before the password is sent, passwords never accepted on the command line.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null

URL="postgresql://postgres@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
want=$(openssl x509 -in "$PG_DATADIR/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)

# pin without a password: the TLS handshake only
out=$(env -u PGPASSWORD "$PGWARD" pin --db "$URL")
tk_assert_contains "$out" "pin-sha256 = $want" "pin matches openssl's SPKI hash"
tk_assert_contains "$out" "TLSv1.3" "protocol shown"

# the right pin connects (and authenticates)
out=$(PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" pin --db "$URL" --pin-sha256 "$want")
tk_assert_contains "$out" 'matches; authenticated as role "postgres"' "right pin connects"
PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" pin --db "$URL" --pin-sha256 "sha256//$want" >/dev/null ||
  tk_fail "sha256// prefix accepted"

# a wrong pin aborts before authentication: even a wrong password is never tried
bad=$(printf 'x%.0s' {1..32} | openssl dgst -sha256 -binary | base64)
before=$(grep -c "password authentication failed\|connection authorized" "$PG_LOG" || true)
PGWARD_DB_PASSWORD=not-the-password expect_fail 21 "does not match the pin" pin --db "$URL" --pin-sha256 "$bad"
# a marker connection after it: once the log shows the marker, it shows pgward's attempt too
pg_psql_super -c "select 1" >/dev/null
marker_logged() { (($(grep -c "password authentication failed\|connection authorized" "$PG_LOG" || true) > before)); }
tk_wait_for 10 "the marker connection in the server log" marker_logged
after=$(grep -c "password authentication failed\|connection authorized" "$PG_LOG" || true)
tk_assert_eq "$after" "$((before + 1))" "no authentication attempt reached the server (only the marker)"
tk_assert_contains "$err" "server $want" "both fingerprints shown"

# verify-full by default: a server whose CA we do not trust is refused
tk_gen_ca "$TK_TMP/otherca" other >/dev/null
expect_fail 21 "could not verify the database server" pin --db "postgresql://postgres@localhost:$PGPORT_TEST/postgres?sslrootcert=$TK_TMP/otherca/ca.crt"
# ... and a host name that is not in the certificate
expect_fail 21 "does not match host name" pin --db "host=wrong.example hostaddr=127.0.0.1 port=$PGPORT_TEST user=postgres dbname=postgres sslrootcert=$PG_CA"
# a weaker mode works only when asked for, with a warning
out=$(env -u PGPASSWORD "$PGWARD" pin --db "$URL&sslmode=require" 2>&1)
tk_assert_contains "$out" "warning: sslmode=require" "weaker sslmode warns"

# passwords: never in argv; from the environment or a private url-file
expect_fail 5 "contains a password" pin --db "postgresql://postgres:secret@localhost:$PGPORT_TEST/postgres"
printf '%s\n' "postgresql://postgres:$PG_SUPERPASS@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA" > url.txt
chmod 644 url.txt
expect_fail 5 "accessible by other users" pin --url-file url.txt --pin-sha256 "$want"
chmod 600 url.txt
"$PGWARD" pin --url-file url.txt --pin-sha256 "$want" >/dev/null || tk_fail "url-file"
DATABASE_URL=$(cat url.txt) "$PGWARD" pin --url-env DATABASE_URL --pin-sha256 "$want" >/dev/null || tk_fail "url-env"
expect_fail 3 "is not set" pin --url-env NO_SUCH_VAR
expect_fail 3 "no database given" pin
expect_fail 3 "alternatives" pin --db "$URL" --url-env DATABASE_URL
expect_fail 3 "invalid database connection string" pin --db "postgresql://[bad"
PGWARD_DB_PASSWORD=wrong expect_fail 20 "password authentication failed" pin --db "$URL" --pin-sha256 "$want"
expect_fail 20 "could not connect" pin --db "postgresql://postgres@localhost:1/postgres?sslrootcert=$PG_CA"

# the password never shows in the audit log or the output
grep -q "$PG_SUPERPASS" "$PGWARD_AUDIT_LOG" && tk_fail "password in the audit log"
tk_assert_contains "$(tail -1 "$PGWARD_AUDIT_LOG")" '"command":"pin"' "pin is audited"
echo "pin: all checks passed"
