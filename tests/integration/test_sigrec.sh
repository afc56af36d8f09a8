#!/usr/bin/env bash
# test_sigrec.sh - verification records and pin markers carry trust only when signed by a
# trusted-signer key: a "pass" record planted by a repository writer does not make list or
# check call the backup verified (shown as an unsigned record); a real verify signs its
# record and does; a planted unpin does not let expire remove a pinned backup; a signed
# unpin does.
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
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"
SUPER="postgresql://postgres@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"
PGWARD_DB_PASSWORD=bk "$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
id=$(ls repo/shop)
d=repo/shop/$id
jq_() { python3 -c 'import json,sys
r = json.loads(sys.argv[1]); f = lambda i: next(x for x in r["results"] if x["id"] == i)
print(eval(sys.argv[2]))' "$1" "$2"; }
check() { # the backup rules as the superuser sees them; report in $out
  set +e
  out=$(PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check shop --db "$SUPER" --repo repo --output=json 2>err)
  set -e
}

# a repository writer plants a depth-1 and a drill "pass" (no key: unsigned)
now=$(date -u +%Y%m%dT%H%M%SZ)
printf '{"depth": 1, "result": "pass"}\n' >"$d/verify-$now-d1-0badf00d.json"
printf '{"depth": 3, "result": "pass"}\n' >"$d/verify-$now-d3-0badf00e.json"
out=$("$PGWARD" list shop --repo repo --output=json)
tk_assert_eq "$(jq_ "$out" 'r[0]["verified"]')" False "a planted pass does not verify (list)"
tk_assert_eq "$(jq_ "$out" 'r[0]["verification_by_depth"][0]["signature"]')" unsigned "shown as unsigned"
out=$("$PGWARD" list shop --repo repo)
tk_assert_contains "$out" "d1 pass (unsigned record)" "text list names the unsigned record"
tk_assert_contains "$out" "not verified" "text list: not verified"
check
tk_assert_eq "$(jq_ "$out" 'f("backup.recent")["result"]')" warn "a planted pass does not pass backup.recent"
tk_assert_contains "$(jq_ "$out" 'f("backup.recent")["evidence"]')" "not signed by a trusted-signer key" "check says why"
tk_assert_eq "$(jq_ "$out" 'f("backup.restore-tested")["result"]')" fail "a planted drill pass is no drill"
tk_assert_contains "$(jq_ "$out" 'f("backup.restore-tested")["evidence"]')" "1 unsigned or untrusted, not counted" "drill rule says why"
# --allow-unsigned counts them, with a warning
out=$("$PGWARD" list shop --repo repo --output=json --allow-unsigned 2>err)
tk_assert_eq "$(jq_ "$out" 'r[0]["verified"]')" True "--allow-unsigned counts unsigned records"
tk_assert_contains "$(cat err)" "allow-unsigned" "--allow-unsigned warns"
# a record signed by a key that is not trusted is not evidence either
"$PGWARD" keygen --sign -o other.key >/dev/null 2>&1
PGWARD_SIGN_KEY=other.key "$PGWARD" verify shop --repo repo >/dev/null
out=$("$PGWARD" list shop --repo repo --output=json)
tk_assert_eq "$(jq_ "$out" 'r[0]["verified"]')" False "a record by an untrusted key does not verify"
tk_assert_eq "$(jq_ "$out" 'r[0]["verification_by_depth"][0]["signature"]')" untrusted "shown as untrusted"

# a real verify with the trusted sign-key signs its record: verified, backup.recent passes
rm -f "$d"/verify-*-d1-*.json "$d"/verify-*-d1-*.json.minisig
"$PGWARD" verify shop --repo repo >v.out
ls "$d"/verify-*-d1-*.json.minisig >/dev/null || tk_fail "no record signature written"
out=$("$PGWARD" list shop --repo repo --output=json)
tk_assert_eq "$(jq_ "$out" 'r[0]["verified"]')" True "a signed record verifies"
tk_assert_eq "$(jq_ "$out" 'r[0]["verification_by_depth"][0]["signature"]')" trusted "shown as trusted"
check
tk_assert_eq "$(jq_ "$out" 'f("backup.recent")["result"]')" pass "a signed pass passes backup.recent: $(jq_ "$out" 'f("backup.recent")["evidence"]')"
# a planted newer unsigned pass copied beside another name with the genuine signature
sig=$(ls "$d"/verify-*-d1-*.json.minisig | head -1)
rec=${sig%.minisig}
later=$(date -u -d "@$(($(date +%s) + 60))" +%Y%m%dT%H%M%SZ) # the newest, within the skew
cp "$rec" "$d/verify-$later-d1-0badf00f.json"
cp "$sig" "$d/verify-$later-d1-0badf00f.json.minisig"
out=$("$PGWARD" list shop --repo repo --output=json)
tk_assert_eq "$(jq_ "$out" 'r[0]["verification_by_depth"][0]["signature"]')" bad-signature "a signature moved to another record name is bad"
tk_assert_eq "$(jq_ "$out" 'r[0]["verified"]')" True "the genuine older signed record still counts"

# pins: pinned (signed), then a planted unpin; expire keeps the backup
EXP=(expire shop --repo repo --retention-days 0 --retention-min 0)
"$PGWARD" pin "$id" --repo repo >/dev/null
printf '{"unpinned": "x"}\n' >"$d/unpin-$(date -u +%Y%m%dT%H%M%SZ).json"
out=$("$PGWARD" "${EXP[@]}" --dry-run 2>/dev/null)
tk_assert_contains "$out" "keep    shop/$id" "a planted unpin does not unpin"
tk_assert_contains "$out" "ignored: not signed by a trusted key" "expire names the ignored unpin"
# an unpin without sign-key warns and is ignored too
err=$(env -u PGWARD_SIGN_KEY "$PGWARD" unpin "$id" --repo repo 2>&1 >/dev/null)
tk_assert_contains "$err" "not signed" "an unsigned unpin warns"
"$PGWARD" "${EXP[@]}" >/dev/null 2>&1
[[ -f $d/manifest.json ]] || tk_fail "expire removed a pinned backup after a planted unpin"
out=$("$PGWARD" list shop --repo repo)
tk_assert_contains "$out" "pinned; ignored unpin-" "list shows the ignored unpin"
tk_assert_contains "$out" "(not signed by a trusted key)" "list says why"
# a writer who takes the name of the operator's next marker gets no signature over their
# bytes: the signed unpin fails (exit 6) and says to run again
t3=$(($(date +%s) + 3))
printf '{"unpinned": "x"}\n' >"$d/unpin-$(date -u -d "@$t3" +%Y%m%dT%H%M%SZ).json"
PGWARD_NOW=$(date -u -d "@$t3" +%Y-%m-%dT%H:%M:%SZ) expect_fail 6 "run the command again" unpin "$id" --repo repo
out=$("$PGWARD" "${EXP[@]}" --dry-run 2>/dev/null)
tk_assert_contains "$out" "keep    shop/$id" "a taken marker name does not unpin"
# a signed unpin lets it go (a second later: the planted unpin holds this second's name)
PGWARD_NOW=$(date -u -d "@$(($(date +%s) + 5))" +%Y-%m-%dT%H:%M:%SZ) "$PGWARD" unpin "$id" --repo repo >/dev/null
out=$("$PGWARD" "${EXP[@]}" 2>/dev/null)
tk_assert_contains "$out" "removed shop/$id" "a signed unpin lets expire remove the backup"
[[ ! -f $d/manifest.json ]] || tk_fail "manifest still there after a signed unpin"
echo "sigrec: all checks passed"
