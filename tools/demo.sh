#!/usr/bin/env bash
# demo.sh - the README's first command (make demo): start a throwaway PostgreSQL 15 with
# TLS, fill a sample database, create a read-only backup role, make a key pair whose
# private half the backup host never sees, back up into a local repository, list it
# (no key needed), restore into a new database and show that every table matches.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
source "$here/tests/harness/lib.sh"
source "$here/tests/harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log NO_PROGRESS=1
say() { printf '\n== %s\n' "$*"; }

say "starting a throwaway PostgreSQL 15 (TLS with a test CA, scram, loopback only)"
pg_start >/dev/null
pg_sample_db shop 50000
echo "sample database \"shop\": $(pg_psql_super -d shop -c "select pg_size_pretty(pg_database_size('shop'))")"

say "a read-only role for backups (what pgward credentials will automate)"
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'demo-backup-password' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" |
  pg_psql_super -d shop >/dev/null
echo "role backup: pg_read_all_data, BYPASSRLS, SELECT on large objects - and nothing else"

say "the key holder makes a key pair offline; the backup host gets only the public key"
mkdir -p "$TK_TMP/offline"
"$PGWARD" keygen -o "$TK_TMP/offline/backup.key"
RECIPIENT=$("$PGWARD" keygen -y "$TK_TMP/offline/backup.key")

say "the backup host makes its signing key; restore hosts trust only its public key"
mkdir -p "$TK_TMP/backuphost"
export PGWARD_TRUSTED_SIGNER
PGWARD_TRUSTED_SIGNER=$("$PGWARD" keygen --sign -o "$TK_TMP/backuphost/sign.key")
export PGWARD_SIGN_KEY=$TK_TMP/backuphost/sign.key

DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"
say "pgward refuses a superuser: backups run with least privilege"
PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" backup \
  --db "postgresql://postgres@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA" \
  --repo "$TK_TMP/repo" --recipient "$RECIPIENT" || true

say "backup with the read-only role: pg_dump | zstd | age -> repository (verify-full TLS)"
PGWARD_DB_PASSWORD=demo-backup-password "$PGWARD" backup --db "$DB" --repo "$TK_TMP/repo" \
  --recipient "$RECIPIENT"

say "list: what the backup host can see without any key"
"$PGWARD" list --repo "$TK_TMP/repo"
find "$TK_TMP/repo" -type f | sed "s|$TK_TMP/||" | sort

say "the stock minisign verifies the signed manifest"
if command -v minisign >/dev/null; then
  minisign -V -p "$PGWARD_SIGN_KEY.pub" -m "$(ls "$TK_TMP"/repo/shop/*/manifest.json)"
fi

say "an attacker on the backup host cannot read the backup"
if "$PGWARD" decrypt -o - "$(ls "$TK_TMP"/repo/shop/*/data.pgdump.zst.age)" 2>&1 >/dev/null; then
  echo "unexpected: decrypted without a key" >&2; exit 1
fi

say "restore drill with the offline key into a new database"
pg_psql_super -c "create database shop_restored" >/dev/null
PGWARD_TARGET_PASSWORD=$PG_SUPERPASS "$PGWARD" restore shop --repo "$TK_TMP/repo" \
  -i "$TK_TMP/offline/backup.key" \
  --target "postgresql://postgres@localhost:$PGPORT_TEST/shop_restored?sslrootcert=$PG_CA"
a=$(pg_row_counts shop)
b=$(pg_row_counts shop_restored)
paste <(echo "$a") <(echo "$b" | awk '{print $2}') | awk '{printf "  %-28s original %7s  restored %7s\n", $1, $2, $3}'
[ "$a" = "$b" ] || { echo "row counts differ" >&2; exit 1; }

say "the same backup restores with stock tools: age -d | zstd -d | pg_restore"
pg_psql_super -c "create database shop_stock" >/dev/null
dec=(age -d -i "$TK_TMP/offline/backup.key")
command -v age >/dev/null || dec=("$PGWARD" decrypt -i "$TK_TMP/offline/backup.key")
"${dec[@]}" "$(ls "$TK_TMP"/repo/shop/*/data.pgdump.zst.age)" | zstd -q -d |
  pg_restore --single-transaction --exit-on-error -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d shop_stock
[ "$(pg_row_counts shop_stock)" = "$a" ] || { echo "stock-tools restore differs" >&2; exit 1; }
echo "  identical"

say "audit trail (hash-chained)"
"$PGWARD" audit
"$PGWARD" audit verify
say "demo complete: an encrypted, least-privilege backup that restored row for row"
