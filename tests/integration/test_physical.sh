#!/usr/bin/env bash
# test_physical.sh - backup --type=physical with a REPLICATION-only role: BASE_BACKUP
# streamed as encrypted objects (base.tar, PostgreSQL's backup_manifest), the signed
# manifest (kind physical, timeline, LSNs) verified by the stock minisign; list and verify
# depth 1 see it; a superuser or a role with a write privilege is refused.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP"
pg_start "max_wal_senders = 5" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role physrep login replication password 'pr';
create role boss login superuser password 'bs';
create table t1(id int primary key, note text);
insert into t1 select i, md5(i::text) from generate_series(1, 2000) i;
create table t2(id int);
insert into t2 select generate_series(1, 333);
create database other;
SQL
pg_psql_super -d other -c "create table t3 as select generate_series(1, 77) as x" >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=pr
DB="postgresql://physrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"

# a superuser is refused (exit 22), as for logical backups
PGWARD_DB_PASSWORD=bs expect_fail 22 "could change database" backup shop --type=physical \
    --db "postgresql://boss@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA" --repo repo -r "$R"
# a REPLICATION role with one write privilege: refused, naming it
pg_psql_super -c "grant insert on t1 to physrep" >/dev/null
expect_fail 22 "INSERT" backup shop --type=physical --db "$DB" --repo repo -r "$R"
pg_psql_super -c "revoke insert on t1 from physrep" >/dev/null
[[ ! -d repo/shop ]] || [[ -z "$(ls repo/shop)" ]] || tk_fail "a refused backup wrote something"

"$PGWARD" backup shop --type=physical --db "$DB" --repo repo -r "$R" >out.txt 2>err.txt \
    || { cat err.txt; tk_fail "physical backup"; }
tk_assert_contains "$(cat out.txt)" "complete (physical, timeline 1" "backup summary"
ID=$(ls repo/shop | grep -v '^\.' | head -1)
B=repo/shop/$ID
for o in base.tar.zst.age backup_manifest.zst.age details.json.age manifest.json manifest.json.minisig; do
    [[ -s "$B/$o" ]] || tk_fail "object $o missing"
done
# never plaintext: the objects are age files
for o in base.tar.zst.age backup_manifest.zst.age; do
    tk_assert_eq "$(head -c 21 "$B/$o")" "age-encryption.org/v1" "$o is an age file"
done
# the stock minisign verifies the manifest's signature
if command -v minisign >/dev/null; then
    minisign -V -P "$TK_SIGN_PUB" -m "$B/manifest.json" -x "$B/manifest.json.minisig" -q \
        || tk_fail "minisign -V of the manifest"
fi
python3 - "$B/manifest.json" <<'PY' || tk_fail "manifest fields"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["kind"] == "physical", m["kind"]
p = m["physical"]
assert p["timeline"] == 1
hi, lo = (int(x, 16) for x in p["start_lsn"].split("/"))
hi2, lo2 = (int(x, 16) for x in p["stop_lsn"].split("/"))
assert (hi2, lo2) >= (hi, lo)
names = {o["name"] for o in m["objects"]}
assert {"base.tar.zst.age", "backup_manifest.zst.age", "details.json.age"} <= names, names
PY
# the plaintext of base.tar holds the cluster (decrypted here only to check)
age -d -i key "$B/base.tar.zst.age" | zstd -dq | tar -t >list.txt \
    || tk_fail "base.tar does not decrypt to a tar"
grep -q '^PG_VERSION$' list.txt || tk_fail "base.tar has no PG_VERSION"
grep -q '^pg_wal/' list.txt || tk_fail "base.tar has no WAL"

# list and verify (depth 1: sizes, SHA-256, signature)
L=$("$PGWARD" list shop --repo repo --output=json)
tk_assert_contains "$L" '"kind": "physical"' "list shows the kind"
tk_assert_contains "$L" '"start_lsn"' "list shows the start LSN"
tk_assert_contains "$("$PGWARD" list shop --repo repo)" "PHYSICAL" "list's text marks it"
"$PGWARD" verify shop --repo repo >v.txt 2>&1 || { cat v.txt; tk_fail "verify depth 1"; }
# a flipped byte in base.tar: verify depth 1 fails
cp -r repo bad
tk_flip_byte "bad/shop/$ID/base.tar.zst.age" 5000
expect_fail 24 "failed verification" verify shop --repo bad
tk_pass
