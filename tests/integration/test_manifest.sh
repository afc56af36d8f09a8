#!/usr/bin/env bash
# test_manifest.sh - the repository format as the repo layer reads it: a manifest validly
# signed by the trusted key but with a wrong-typed field is listed as damaged (the field
# named) and refused by restore and verify (exit 24); one in a newer format is listed as
# such and refused with a hint to upgrade (exit 3); expire keeps both; two verifies in the
# same second both keep their record; a later depth-2 pass does not hide a depth-3 failure.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop 50
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"

# resign FILE STANZA ID [NAME EXTRA]: sign the bytes with the trusted key, as the backup host
# would (the attacker here holds the signing key or the host wrote a broken manifest); NAME
# and EXTRA (tab-separated fields) for a verification record instead of the manifest
resign() {
  python3 - "$PGWARD_SIGN_KEY" "$1" "$2" "$3" "${4:-manifest.json}" "${5:-}" <<'PY'
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key, path, stanza, bid, fname, extra = sys.argv[1:7]
line = [l for l in open(key).read().splitlines() if l.startswith("PWSK-1:")][0]
raw = base64.b64decode(line[7:])
alg, kid, seed = raw[:2], raw[2:10], raw[10:42]
sk = Ed25519PrivateKey.from_private_bytes(seed)
msg = open(path, "rb").read()
sig = sk.sign(hashlib.blake2b(msg, digest_size=64).digest())
tc = "timestamp:1796586241\tfile:%s\tstanza:%s\tbackup:%s%s" % (fname, stanza, bid, extra)
gsig = sk.sign(sig + tc.encode())
with open(path + ".minisig", "w") as f:
    f.write("untrusted comment: test\n")
    f.write(base64.b64encode(b"ED" + kid + sig).decode() + "\n")
    f.write("trusted comment: " + tc + "\n")
    f.write(base64.b64encode(gsig).decode() + "\n")
PY
}

"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
ids=($(ls repo/shop))
[ "${#ids[@]}" = 3 ] || tk_fail "three backups expected: ${ids[*]}"
id1=${ids[0]} id2=${ids[1]} id3=${ids[2]}
kid=$(sed -n 1p "$PGWARD_SIGN_KEY.pub" | awk '{print $NF}')

# the resigner makes signatures pgward trusts (else the test below proves nothing)
resign "repo/shop/$id1/manifest.json" shop "$id1"
tk_assert_contains "$("$PGWARD" list --repo repo | grep "$id1")" "$kid" "a resigned genuine manifest is trusted"

# --- a damaged manifest, validly signed by the trusted key ------------------------------
sed -i 's/"privileged": false/"privileged": "no"/' "repo/shop/$id2/manifest.json"
grep -q '"privileged": "no"' "repo/shop/$id2/manifest.json" || tk_fail "the manifest was not edited"
resign "repo/shop/$id2/manifest.json" shop "$id2"
line=$("$PGWARD" list --repo repo | grep -A1 "$id2")
tk_assert_contains "$line" "damaged" "list shows the backup as damaged"
tk_assert_contains "$line" "$kid" "list still shows who signed it"
tk_assert_contains "$line" 'field "privileged" is not true or false' "list names the field"
json=$("$PGWARD" list --repo repo --output=json)
tk_assert_eq "$(python3 -c 'import json,sys; print([b["status"] for b in json.load(sys.stdin) if b["backup_id"]==sys.argv[1]][0])' "$id2" <<<"$json")" damaged "list json status"
expect_fail 24 "damaged manifest" restore -i key --repo repo --backup "$id2" --to-file x.dump
tk_assert_contains "$err" 'field "privileged"' "restore names the field"
tk_assert_contains "$err" "pick another backup" "restore hint"
[ ! -e x.dump ] || tk_fail "a damaged backup wrote a dump file"
set +e
out=$("$PGWARD" verify --repo repo --backup "$id2" 2>&1); rc=$?
set -e
tk_assert_eq "$rc" 24 "verify of a damaged backup"
tk_assert_contains "$out" 'field "privileged"' "verify names the field"
tk_pass "a validly signed manifest with a wrong-typed field is damaged: listed and refused"

# --- a manifest in a newer format ----------------------------------------------------------
sed -i 's/"format": 1,/"format": 2,/' "repo/shop/$id3/manifest.json"
resign "repo/shop/$id3/manifest.json" shop "$id3"
tk_assert_contains "$("$PGWARD" list --repo repo | grep -A1 "$id3")" "newer-format" "list shows a newer format"
expect_fail 3 "format 2, newer than this pgward" restore -i key --repo repo --backup "$id3" --to-file x.dump
tk_assert_contains "$err" "(format 1)" "both versions named"
tk_assert_contains "$err" "Upgrade pgward" "hint to upgrade"
# the default pick passes over both (the newest backup pgward can read and trust: id1)
"$PGWARD" restore -i key --repo repo --to-file pick.dump >pick.out 2>&1 || { cat pick.out; tk_fail "restore of the newest good backup"; }
tk_assert_contains "$(cat pick.out)" "restored shop/$id1" "the default pick skips damaged and newer manifests"
# expire keeps both: a damaged signed manifest is evidence, a newer one is not ours to judge
out=$("$PGWARD" expire --repo repo --dry-run --retention-days 0 --retention-min 0 2>&1)
tk_assert_contains "$(grep "$id2" <<<"$out")" "keep" "expire keeps the damaged backup"
tk_assert_contains "$(grep "$id2" <<<"$out")" "investigation" "for investigation"
tk_assert_contains "$(grep "$id3" <<<"$out")" "keep" "expire keeps the newer-format backup"
tk_pass "a newer format is refused with a hint to upgrade; expire keeps both"

# --- verification records never collide ------------------------------------------------
# Three verifies of one stanza at once: the stanza's lease in the repository lets one run at a
# time (a loser says so and writes nothing; all may lose when their claims cross), and every
# run that did its work keeps its record
nrec() { ls "repo/shop/$id1" | grep -c '^verify-.*\.json$' || true; }
before=$(nrec)
pids=()
for i in 1 2 3; do
  "$PGWARD" verify --repo repo --backup "$id1" >"v$i.out" 2>&1 &
  pids+=($!)
done
ran=0
for i in 1 2 3; do
  if wait "${pids[$((i - 1))]}"; then
    ran=$((ran + 1))
  else
    grep -q 'another verify or expire of stanza "shop" is running' "v$i.out" ||
      { cat "v$i.out"; tk_fail "verify $i failed for another reason than the lease"; }
  fi
done
tk_assert_eq "$(($(nrec) - before))" "$ran" "each verify that ran kept its record ($ran ran)"
# one after another within a second: records made in the same second never collide
before=$(nrec)
for i in 1 2 3; do "$PGWARD" verify --repo repo --backup "$id1" >/dev/null 2>&1 || tk_fail "verify $i"; done
tk_assert_eq "$(($(nrec) - before))" 3 "three verifies keep three records"
recs=$(ls "repo/shop/$id1" | grep '^verify-.*\.json$')
stamps=$(sed 's/^verify-\([0-9TZ]*\)-.*/\1/' <<<"$recs" | sort | uniq -d)
echo "records: $recs (shared seconds: ${stamps:-none})"
for r in $recs; do [[ "$r" =~ ^verify-[0-9]{8}T[0-9]{6}Z-d1-[0-9a-f]{8}\.json$ ]] || tk_fail "record name $r"; done
tk_pass "verifies of one stanza run one at a time and keep every record"

# --- a later depth-2 pass does not hide a depth-3 failure -------------------------------
old=$(date -u -d '-1 hour' +%Y%m%dT%H%M%SZ)
printf '{"depth": 3, "result": "fail", "problems": [{"problem": "drill"}]}\n' >"repo/shop/$id1/verify-$old-d3-0badf00d.json"
# signed by the trusted key, as a verify host's real failed drill is (an unsigned one is no
# evidence at all: test_sigrec.sh)
resign "repo/shop/$id1/verify-$old-d3-0badf00d.json" shop "$id1" "verify-$old-d3-0badf00d.json" $'\tdepth:3\tresult:fail'
"$PGWARD" verify -i key --repo repo --backup "$id1" >/dev/null
line=$("$PGWARD" list --repo repo | grep "$id1")
tk_assert_contains "$line" "d1 pass d2 pass d3 FAIL" "list shows the newest result of each depth"
v=$("$PGWARD" list --repo repo --output=json | python3 -c 'import json,sys; b=[b for b in json.load(sys.stdin) if b["backup_id"]==sys.argv[1]][0]; print(b["verified"], b["last_verification"]["depth"], [d["result"] for d in b["verification_by_depth"]])' "$id1")
tk_assert_eq "$v" "False 2 ['pass', 'pass', 'fail']" "list json: not verified while depth 3 failed"
r=$("$PGWARD" check shop --db "$DB" --repo repo --output=json 2>/dev/null | python3 -c 'import json,sys; print([f["result"] for f in json.load(sys.stdin)["results"] if f["id"]=="backup.recent"][0])')
tk_assert_eq "$r" "warn" "check's backup.recent: a later depth-2 pass does not make a failed drill verified"
tk_pass "a depth-3 failure stays visible after a later depth-2 pass"
