#!/usr/bin/env bash
# demo.sh - the README's first command (make demo): start a throwaway PostgreSQL 15 with
# TLS, fill a small database, and protect a dump of it the way pgward's backup will:
# encrypted to a public key whose private half the "backup host" never sees, then prove it
# restores. Until `pgward backup` lands, the dump and compression steps use pg_dump and
# zstd directly; the encryption, key handling and audit trail are pgward's.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
source "$here/tests/harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
say() { printf '\n== %s\n' "$*"; }

say "starting a throwaway PostgreSQL 15 (TLS, scram, loopback only)"
pg_start >/dev/null
pg_psql_super -c "create database shop" >/dev/null
pg_psql_super -d shop -c "
  create table customers(id serial primary key, name text, email text);
  insert into customers(name, email) select 'customer ' || g, 'c' || g || '@example.com' from generate_series(1, 20000) g;
  create table orders(id bigserial primary key, customer int references customers, total numeric);
  insert into orders(customer, total) select 1 + g % 20000, g * 1.5 from generate_series(1, 100000) g;" >/dev/null

say "the key holder makes a key pair offline; the backup host gets only the public key"
mkdir -p "$TK_TMP/offline" "$TK_TMP/repo"
"$PGWARD" keygen -o "$TK_TMP/offline/backup.key"
RECIPIENT=$("$PGWARD" keygen -y "$TK_TMP/offline/backup.key")

say "backup host: dump over verified TLS | zstd | pgward encrypt -> repository"
url="postgresql://postgres@localhost:$PGPORT_TEST/shop?sslmode=verify-full&sslrootcert=$PG_CA"
PGPASSWORD=$PG_SUPERPASS pg_dump -Fc -Z0 "$url" | zstd -q -3 -T2 |
  "$PGWARD" encrypt -r "$RECIPIENT" -o "$TK_TMP/repo/shop.pgdump.zst.age"
ls -l "$TK_TMP/repo"

say "an attacker on the backup host cannot read it (no identity there)"
if "$PGWARD" decrypt -o /dev/null "$TK_TMP/repo/shop.pgdump.zst.age" 2>&1; then
  echo "unexpected: decrypted without a key" >&2; exit 1
fi

say "restore drill with the offline key, using stock tools: age -d | zstd -d | pg_restore"
pg_psql_super -c "create database shop_restored" >/dev/null
dec=(age -d -i "$TK_TMP/offline/backup.key")
command -v age >/dev/null || dec=("$PGWARD" decrypt -i "$TK_TMP/offline/backup.key")
"${dec[@]}" "$TK_TMP/repo/shop.pgdump.zst.age" | zstd -q -d |
  pg_restore --single-transaction --exit-on-error -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d shop_restored
for t in customers orders; do
  a=$(pg_psql_super -d shop -c "select count(*) from $t")
  b=$(pg_psql_super -d shop_restored -c "select count(*) from $t")
  printf '%-10s original %7s rows, restored %7s rows\n' "$t" "$a" "$b"
  [ "$a" = "$b" ] || { echo "row counts differ for $t" >&2; exit 1; }
done

say "audit trail"
"$PGWARD" audit
"$PGWARD" audit verify
say "demo complete: the backup restored and matched row for row"
