#!/usr/bin/env bash
# test_sign.sh - signed backups: a genuine backup is signed (the stock minisign verifies its
# manifest) and restores; a backup forged with only the public age key, one signed by an
# untrusted key and one whose manifest was edited are refused by restore and verify (exit
# 31, naming which) and marked by list; the default pick skips a newer forged backup;
# --allow-unsigned restores and is audited; expire under a flood of fake manifests dated in
# the future keeps every genuine backup, and refuses to run without a trusted-signer.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop 200
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk PGWARD_TARGET_PASSWORD=$PG_SUPERPASS
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"
super() { echo "postgresql://postgres@localhost:$PGPORT_TEST/$1?sslrootcert=$PG_CA"; }

# keygen --sign: a 0600 secret key, a minisign public key; no overwrite
"$PGWARD" keygen --sign -o other.key >other.out 2>/dev/null
tk_assert_eq "$(stat -c %a other.key)" 600 "signing key mode"
tk_assert_contains "$(head -1 other.key.pub)" "untrusted comment: minisign public key" "pub file"
tk_assert_eq "$(sed -n 2p other.key.pub)" "$(cat other.out)" "printed public key"
expect_fail 6 "" keygen --sign -o other.key
chmod 640 other.key
PGWARD_SIGN_KEY=other.key expect_fail 5 "signing key" backup --db "$DB" --repo repo -r "$R"
chmod 600 other.key

# a genuine signed backup: the stock minisign verifies it, list names the key, it restores
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>b.err
grep -q "UNSIGNED" b.err && tk_fail "a signed backup warned about signing"
id1=$(ls repo/shop)
[[ -f repo/shop/$id1/manifest.json.minisig ]] || tk_fail "no signature written"
minisign -Vm "repo/shop/$id1/manifest.json" -p "$PGWARD_SIGN_KEY.pub" >mv.out 2>&1 || { cat mv.out; tk_fail "minisign -V rejects the manifest"; }
tk_assert_contains "$(cat mv.out)" "backup:$id1" "trusted comment names the backup"
kid=$(sed -n 1p "$PGWARD_SIGN_KEY.pub" | awk '{print $NF}')
tk_assert_contains "$("$PGWARD" list --repo repo)" "$kid" "list shows the signer"
"$PGWARD" restore -i key --repo repo --create --target "$(super shop_r1)" >/dev/null
tk_assert_eq "$(pg_psql_super -d shop_r1 -tAc 'select count(*) from customers')" "$(pg_psql_super -d shop -tAc 'select count(*) from customers')" "restored rows"
tk_assert_contains "$("$PGWARD" verify --repo repo)" "pass (depth 1)" "verify of a genuine backup"

# a backup signed by an untrusted key (another backup host's, or an attacker's)
tk_next_second
PGWARD_SIGN_KEY=other.key "$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
id2=$(ls repo/shop | sed -n 2p)
expect_fail 31 "not a trusted-signer" restore -i key --repo repo --backup "$id2" --to-file x.dump
tk_assert_contains "$err" "trusted-signer" "hint names trusted-signer"
expect_fail 31 "not a trusted-signer" verify --repo repo --backup "$id2"
okid=$(sed -n 1p other.key.pub | awk '{print $NF}')
tk_assert_contains "$("$PGWARD" list --repo repo)" "untrusted $okid" "list marks the untrusted signer"

# a genuine backup whose manifest was edited afterwards (one byte)
tk_next_second
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
id3=$(ls repo/shop | sed -n 3p)
sed -i 's/"kind": "logical"/"kind": "logicaL"/' "repo/shop/$id3/manifest.json"
expect_fail 31 "bad signature" restore -i key --repo repo --backup "$id3" --to-file x.dump
expect_fail 31 "bad signature" verify --repo repo --backup "$id3"
tk_assert_contains "$("$PGWARD" list --repo repo --output=json)" '"verdict": "bad-signature"' "list json"
# a genuine signed manifest and signature copied under another id: bad
tk_next_second
idc=$(date -u +%Y%m%dT%H%M%SZ)-c0c0
mkdir "repo/shop/$idc"; cp repo/shop/"$id1"/* "repo/shop/$idc/"
expect_fail 31 "another backup" restore -i key --repo repo --backup "$idc" --to-file x.dump
rm -r "repo/shop/$idc"

# a forgery made with the public age key only: evil data, details and manifest, no signature
tk_next_second
idf=$(date -u +%Y%m%dT%H%M%SZ)-f0f0
mkdir -p "repo/shop/$idf" && F=repo/shop/$idf
pg_psql_super -c "create database evil" >/dev/null
# with a payload: restoring its rows runs a CHECK that writes a file on the server's host
markdir=$(mktemp -d /tmp/pgward-mark.XXXXXX) && chmod 0777 "$markdir" # the server's OS user writes here
tk_on_exit rm -rf "$markdir"
mark=$markdir/pwned-by-swapped-object
pg_psql_super -d evil >/dev/null <<SQL
create function public.payload() returns boolean language plpgsql as \$\$
begin execute 'copy (select 1) to program ''touch $mark'''; return true; end \$\$;
create table customers(id int check (public.payload()));
SQL
pg_psql_super -d evil -c "insert into customers values (666)" >/dev/null
# and a megabyte of rows after it, so pg_restore reaches the payload long before the object ends
pg_psql_super -d evil -c "create table zz_filler as select g, md5(g::text) || md5((g * 7)::text) as t from generate_series(1, 40000) g" >/dev/null
rm -f "$mark"
PGPASSWORD=$PG_SUPERPASS pg_dump -Fc -d "$(super evil)" | zstd -q | "$PGWARD" encrypt -r "$R" -o "$F/data.pgdump.zst.age"
echo '{"tables": []}' | "$PGWARD" encrypt -r "$R" -o "$F/details.json.age"
python3 - "$F" "$idf" "repo/shop/$id1/manifest.json" <<'PY'
import hashlib, json, os, sys
d, i, src = sys.argv[1:]
m = json.load(open(src))
m["backup_id"] = i
m["started"] = m["finished"] = "%s-%s-%sT%s:%s:%sZ" % (i[0:4], i[4:6], i[6:8], i[9:11], i[11:13], i[13:15])
m["globals"] = False
objs = []
for n in ("data.pgdump.zst.age", "details.json.age"):
    b = open(os.path.join(d, n), "rb").read()
    objs.append({"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()})
m["objects"] = objs
open(os.path.join(d, "manifest.json"), "w").write(json.dumps(m, indent=2))
PY
tk_assert_contains "$("$PGWARD" list --repo repo)" "unsigned" "list marks the forgery"
expect_fail 31 "is not signed" restore -i key --repo repo --backup "$idf" --to-file x.dump
expect_fail 31 "is not signed" verify --repo repo --backup "$idf"
# a signature that cannot be read (here a directory) marks that backup, not the whole listing
idd=$(date -u +%Y%m%dT%H%M%SZ)-d0d0
mkdir -p "repo/shop/$idd/manifest.json.minisig"
touch "repo/shop/$idd/manifest.json.minisig/x"
sed "s/$idf/$idd/" "$F/manifest.json" >"repo/shop/$idd/manifest.json"
tk_assert_contains "$("$PGWARD" list --repo repo --output=json)" "the signature could not be read" "unreadable signature"
expect_fail 31 "bad signature" restore -i key --repo repo --backup "$idd" --to-file x.dump
rm -r "repo/shop/$idd"
# the default pick is the newest trusted backup, not the newer forgery
out=$("$PGWARD" restore -i key --repo repo --create --target "$(super shop_r2)")
tk_assert_contains "$out" "$id1" "default restore picks the newest trusted backup"
tk_assert_eq "$(pg_psql_super -d shop_r2 -tAc 'select count(*) from customers where id = 666')" 0 "forged rows"
# the data object of a genuine signed backup swapped for the forged one: restore checks the
# object against the signed manifest before pg_restore may commit
cp -r repo rswap
cp "$F/data.pgdump.zst.age" "rswap/shop/$id1/data.pgdump.zst.age"
expect_fail 24 "its manifest" restore -i key --repo rswap --backup "$id1" --to-file swapped.dump
[[ -e swapped.dump ]] && tk_fail "a swapped data object left a restored file"
expect_fail 24 "its manifest" restore -i key --repo rswap --backup "$id1" --create --target "$(super shop_swap)"
# no byte of the swapped object reached pg_restore: its payload never ran (it did when the
# object was checked only at its end), also without one transaction
[[ -e "$mark" ]] && tk_fail "the swapped object's payload ran before its hash was checked"
expect_fail 24 "its manifest" restore -i key --repo rswap --backup "$id1" --create --no-single-transaction --target "$(super shop_swap)"
[[ -e "$mark" ]] && tk_fail "the swapped object's payload ran (--no-single-transaction)"
tk_assert_eq "$(pg_psql_super -tAc "select count(*) from pg_database where datname = 'shop_swap'")" 0 "nothing restored from a swapped object (the database --create made is dropped)"
# the same for the globals object (roles are SQL that restore --globals applies)
cp -r repo rswap2
grep -q '"globals": true' "rswap2/shop/$id1/manifest.json" || tk_fail "the genuine backup has no globals"
echo 'CREATE ROLE evil SUPERUSER;' | zstd -q | "$PGWARD" encrypt -r "$R" -o evil-globals.age
cp evil-globals.age "rswap2/shop/$id1/globals.sql.zst.age"
expect_fail 24 "differs from its manifest" restore -i key --repo rswap2 --backup "$id1" --globals --create --target "$(super shop_swap2)"
tk_assert_eq "$(pg_psql_super -tAc "select count(*) from pg_roles where rolname = 'evil'")" 0 "no role from a swapped globals object"
rm -rf rswap rswap2
# without any trusted-signer, nothing is accepted by default
PGWARD_TRUSTED_SIGNER= expect_fail 31 "not a trusted-signer" restore -i key --repo repo --backup "$id1" --to-file x.dump
# --allow-unsigned: explicit, warned and audited
"$PGWARD" restore -i key --repo repo --backup "$idf" --allow-unsigned --to-file forged.dump >/dev/null 2>au.err
tk_assert_contains "$(cat au.err)" "--allow-unsigned" "warning"
tail -1 "$PGWARD_AUDIT_LOG" | grep -q '"allow_unsigned": *true' || tk_fail "--allow-unsigned not audited: $(tail -1 "$PGWARD_AUDIT_LOG")"
tail -1 "$PGWARD_AUDIT_LOG" | grep -q '"signature": *"unsigned"' || tk_fail "verdict not audited"

# expire: a flood of fake manifests dated in the future keeps every genuine backup
for k in 1 2 3 4 5 6 7 8; do
  fid=2030010${k}T000000Z-00$k$k
  mkdir -p "repo/shop/$fid"
  sed "s/$idf/$fid/" "$F/manifest.json" >"repo/shop/$fid/manifest.json"
done
PGWARD_TRUSTED_SIGNER= expect_fail 31 "expire needs trusted-signer" expire --repo repo --retention-min 1 --retention-days 0
# make the genuine backup old, then expire keeping only the newest genuine one
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
id4=$(ls repo/shop | grep -v "^2030\|^lock$" | tail -1)
out=$(PGWARD_NOW=2026-12-31T00:00:00Z "$PGWARD" expire --repo repo --retention-min 2 --retention-days 0 --incomplete-grace 2000 2>/dev/null)
tk_assert_contains "$out" "keep    shop/$id4" "newest genuine kept"
tk_assert_contains "$out" "keep    shop/$id1" "second genuine kept by retention-min 2"
tk_assert_contains "$out" "not genuine" "fakes reported"
for i in "$id1" "$id4"; do [[ -f repo/shop/$i/manifest.json ]] || tk_fail "expire removed genuine backup $i"; done
for k in 1 2 3 4 5 6 7 8; do [[ -d repo/shop/2030010${k}T000000Z-00$k$k ]] || tk_fail "a young fake was removed before the grace period"; done
# past the grace period (by the repository's time, not the fakes' claimed dates), the fakes
# go as incomplete backups; the genuine ones stay
out=$(PGWARD_NOW=2026-12-31T00:00:00Z "$PGWARD" expire --repo repo --retention-min 2 --retention-days 0 2>/dev/null)
tk_assert_contains "$out" "removed shop/20300101T000000Z-0011  (not genuine: not signed" "old fake removed"
# a genuine backup altered after signing is evidence: kept, not expired as garbage
# ("logicaL" is not a kind: the manifest no longer decodes, and its signature is next to it)
tk_assert_contains "$out" "keep    shop/$id3  (damaged manifest: field \"kind\" is neither" "tampered backup kept"
tk_assert_contains "$(grep "$id3" <<<"$out")" "a signature is next to it: kept for investigation" "tampered backup kept for investigation"
[[ -f repo/shop/$id3/data.pgdump.zst.age ]] || tk_fail "the tampered backup was removed"
for i in "$id1" "$id4"; do [[ -f repo/shop/$i/manifest.json ]] || tk_fail "expire removed genuine backup $i"; done
tk_assert_contains "$("$PGWARD" restore -i key --repo repo --to-file last.dump)" "$id4" "restore after expire"
# the audit anchor: each signed manifest records the log's head; a log edited and re-chained
# still verifies on its own, but not against the anchors in the append-only repository
grep -q '"audit_anchor"' "repo/shop/$id4/manifest.json" || tk_fail "no audit anchor in the manifest"
tk_assert_contains "$("$PGWARD" audit verify --repo repo)" "all match" "anchors match"
python3 - "$PGWARD_AUDIT_LOG" <<'PY'
import hashlib, json, sys
path = sys.argv[1]
lines = open(path, "rb").read().decode().splitlines()
out, prev = [], None
for i, l in enumerate(lines):
    r = json.loads(l)
    if i == 0:
        r["command"] = "nothing-to-see"
    if prev is not None:
        r["prev"] = prev
    s = json.dumps(r)
    out.append(s)
    prev = hashlib.sha256(s.encode()).hexdigest()
open(path, "w").write("\n".join(out) + "\n")
PY
tk_assert_contains "$("$PGWARD" audit verify)" "intact" "a re-chained log verifies on its own"
expect_fail 18 "the log was rewritten" audit verify --repo repo

# an attacker who can write but not delete edits genuine backups so that expire would remove
# them (red-team finding): a byte appended to an object of a signed backup, a manifest
# overwritten with garbage. Both are evidence and stay; retention-min 2 counts only what is
# genuine, and nothing genuine is deleted.
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null 2>&1
id5=$(ls repo/shop | grep -v "^2030\|^lock$" | tail -1)
printf x >>"repo/shop/$id1/details.json.age"
head -c 5000000 /dev/zero >"repo/shop/$id4/manifest.json"
out=$(PGWARD_NOW=2026-12-31T00:00:00Z "$PGWARD" expire --repo repo --retention-min 2 --retention-days 0 2>/dev/null)
tk_assert_contains "$out" "keep    shop/$id1  (not genuine: object details.json.age" "an object edited after signing: kept"
tk_assert_contains "$out" "kept for investigation" "said why"
tk_assert_contains "$out" "keep    shop/$id4  (damaged manifest: larger than 4 MiB; a signature is next to it: kept for investigation" "an overwritten manifest: kept"
for i in "$id1" "$id3" "$id4" "$id5"; do [[ -d repo/shop/$i ]] || tk_fail "expire removed backup $i after an unsigned edit"; done
tk_pass
