#!/usr/bin/env bash
# test_redteam.sh - attacks on what landed in session 20 (docs/security/redteam-s20.md):
# - a repository writer without the signing key plants an unsigned "newer" backup with a
#   passing verification record and two recipients: check's backup.recent and
#   backup.encrypted must judge the newest *trusted* backup (trusted-signer configured),
#   while backup.signed still names the planted one;
# - backup --dry-run writes nothing: not even the local repository's directory.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop 20
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"

# --- backup --dry-run changes nothing ---------------------------------------------------
audit_before=$(wc -l <audit.log 2>/dev/null || echo 0)
out=$("$PGWARD" backup --dry-run --db "$DB" --repo "$TK_TMP/fresh/repo" -r "$R" 2>&1) \
  || tk_fail "dry run: $out"
tk_assert_contains "$out" "nothing was dumped or written" "dry run's verdict"
[[ ! -e "$TK_TMP/fresh" ]] || tk_fail "backup --dry-run created the repository directory: $(find "$TK_TMP/fresh")"
tk_assert_eq "$(($(wc -l <audit.log) - audit_before))" 1 "dry run: one audit record"
tk_pass "backup --dry-run creates no repository directory"
# a database named with a terminal escape (its owner chose the name): the verdict line
# shows it sanitized
pg_psql_super -c "create database \"evil$(printf '\033')]0;pwned$(printf '\007')\"" >/dev/null
EDB="postgresql://backup@localhost:$PGPORT_TEST/evil%1B%5D0%3Bpwned%07?sslrootcert=$PG_CA"
out=$("$PGWARD" backup --dry-run --db "$EDB" --repo repo -r "$R" evil 2>&1) || tk_fail "dry run on evil: $out"
tk_assert_contains "$out" "nothing was dumped or written" "dry run on the oddly named database"
[[ "$out" != *$'\033'* && "$out" != *$'\007'* ]] || tk_fail "dry run printed a control character: $(od -c <<<"$out" | head -5)"
tk_pass "backup --dry-run prints names sanitized"

# --- a planted unsigned 'newest' backup does not satisfy check ---------------------------
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1 || tk_fail "backup"
gid=$(ls repo/shop)
fake=$(date -u +%Y%m%dT%H%M%SZ)-beef
[[ "$fake" > "$gid" ]] || { tk_next_second; fake=$(date -u +%Y%m%dT%H%M%SZ)-beef; }
mkdir "repo/shop/$fake"
cp "repo/shop/$gid/"*.age "repo/shop/$fake/"
python3 - "repo/shop/$gid/manifest.json" "repo/shop/$fake/manifest.json" "$fake" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["backup_id"] = sys.argv[3]
t = sys.argv[3][:15]
m["started"] = m["finished"] = "%s-%s-%sT%s:%s:%sZ" % (t[0:4], t[4:6], t[6:8], t[9:11], t[11:13], t[13:15])
m["encryption"]["recipient_fingerprints"] = ["sha256:" + "a" * 32, "sha256:" + "b" * 32]
json.dump(m, open(sys.argv[2], "w"), indent=2)
PY
printf '{"depth": 1, "result": "pass"}\n' >"repo/shop/$fake/verify-$(date -u +%Y%m%dT%H%M%SZ)-d1-0000beef.json"
tk_assert_contains "$("$PGWARD" list --repo repo | grep "$fake")" "unsigned" "the planted backup lists as unsigned"
"$PGWARD" check shop --db "$DB" --repo repo --output=json >check.json 2>/dev/null || true
res() { python3 -c 'import json,sys; f=[f for f in json.load(open("check.json"))["results"] if f["id"]==sys.argv[1]][0]; print(f["result"], f["evidence"])' "$1"; }
recent=$(res backup.recent) enc=$(res backup.encrypted) signed=$(res backup.signed)
echo "backup.recent: $recent"; echo "backup.encrypted: $enc"; echo "backup.signed: $signed"
tk_assert_contains "$recent" "warn" "backup.recent: the genuine backup is not verified (the planted pass does not count)"
tk_assert_contains "$recent" "$gid" "backup.recent names the genuine backup"
tk_assert_contains "$enc" "warn" "backup.encrypted: the genuine backup has one recipient"
tk_assert_contains "$enc" "$gid" "backup.encrypted names the genuine backup"
tk_assert_contains "$signed" "fail" "backup.signed still fails on the planted unsigned backup"
tk_assert_contains "$signed" "$fake" "backup.signed names the planted backup"
tk_pass "check judges the newest trusted backup; the planted one shows only as unsigned"
# a repository holding only the planted backup: no trusted backup at all
mkdir -p repo2/shop && cp -r "repo/shop/$fake" repo2/shop/
"$PGWARD" check shop --db "$DB" --repo repo2 --output=json >check.json 2>/dev/null || true
recent=$(res backup.recent)
tk_assert_contains "$recent" "fail" "backup.recent fails with only a planted backup"
tk_assert_contains "$recent" "signed by a trusted-signer" "and says that none is trusted"
tk_pass "only planted backups: backup.recent fails"

# --- a signed manifest dated in the future (a compromised backup host, or its clock) -----
# retention already calls it not genuine; check must not call it "started 0 minutes ago"
resign() {
  python3 - "$PGWARD_SIGN_KEY" "$1" "$2" "$3" <<'PY'
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key, path, stanza, bid = sys.argv[1:5]
line = [l for l in open(key).read().splitlines() if l.startswith("PWSK-1:")][0]
raw = base64.b64decode(line[7:])
kid, seed = raw[2:10], raw[10:42]
sk = Ed25519PrivateKey.from_private_bytes(seed)
msg = open(path, "rb").read()
sig = sk.sign(hashlib.blake2b(msg, digest_size=64).digest())
tc = "timestamp:1796586241\tfile:manifest.json\tstanza:%s\tbackup:%s" % (stanza, bid)
gsig = sk.sign(sig + tc.encode())
with open(path + ".minisig", "w") as f:
    f.write("untrusted comment: test\n")
    f.write(base64.b64encode(b"ED" + kid + sig).decode() + "\n")
    f.write("trusted comment: " + tc + "\n")
    f.write(base64.b64encode(gsig).decode() + "\n")
PY
}
rm -rf "repo/shop/$fake"
fut=20991231T000000Z-f00d
mkdir "repo/shop/$fut"
cp "repo/shop/$gid/"*.age "repo/shop/$fut/"
python3 - "repo/shop/$gid/manifest.json" "repo/shop/$fut/manifest.json" "$fut" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["backup_id"] = sys.argv[3]
m["started"] = m["finished"] = "2099-12-31T00:00:00Z"
json.dump(m, open(sys.argv[2], "w"), indent=2)
PY
resign "repo/shop/$fut/manifest.json" shop "$fut"
printf '{"depth": 1, "result": "pass"}\n' >"repo/shop/$fut/verify-$(date -u +%Y%m%dT%H%M%SZ)-d1-0000f00d.json"
tk_assert_contains "$("$PGWARD" list --repo repo | grep "$fut")" "d1 pass" "the future backup is trusted and 'verified'"
"$PGWARD" check shop --db "$DB" --repo repo --output=json >check.json 2>/dev/null || true
recent=$(res backup.recent)
echo "backup.recent: $recent"
tk_assert_contains "$recent" "warn" "backup.recent: a backup dated 2099 is not the recent one"
tk_assert_contains "$recent" "$gid" "backup.recent names the genuine backup"
tk_pass "a future-dated signed backup does not make check pass"
