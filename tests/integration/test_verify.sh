#!/usr/bin/env bash
# test_verify.sh - verify at its three depths catches and names each injected fault: a
# flipped byte and a removed object (depth 1, no key), a manifest edited to match an object
# encrypted to an attacker's key and a details/data mismatch (depth 2), and a restore that
# loses rows (depth 3). Every run leaves a verify-<time>-d<depth>-<random>.json record.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop 5000
# inheritance: depth 3 counts each table alone (a parent's count(*) includes its children)
pg_psql_super -d shop >/dev/null <<'SQL'
create table public.animal (name text);
create table public.dog (barks bool) inherits (public.animal);
insert into public.animal values ('generic');
insert into public.dog values ('rex', true), ('fido', false);
SQL
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
"$PGWARD" keygen -o attacker 2>/dev/null
R=$("$PGWARD" keygen -y key)
RA=$("$PGWARD" keygen -y attacker)
export PGWARD_DB_PASSWORD=bk PGWARD_SCRATCH_PASSWORD=$PG_SUPERPASS
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"
SCRATCH="postgresql://postgres@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
"$PGWARD" backup --db "$DB" --repo repo -r "$R" >/dev/null
id=$(ls repo/shop)
B=repo/shop/$id

expect_fail() { # code, needle, args...
  local code=$1 needle=$2; shift 2
  set +e
  out=$("$PGWARD" "$@" 2>&1); rc=$?
  set -e
  tk_assert_eq "$rc" "$code" "exit code of: $*"
  tk_assert_contains "$out" "$needle" "message of: $*"
}

# clean: all three depths pass
tk_assert_contains "$("$PGWARD" verify --repo repo)" "shop/$id: pass (depth 1)" "depth 1"
tk_assert_contains "$("$PGWARD" verify --repo repo -i key)" "pass (depth 2)" "depth 2"
out=$("$PGWARD" verify shop --repo repo -i key --restore --scratch-url "$SCRATCH")
tk_assert_contains "$out" "pass (depth 3, restored in" "depth 3"
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_database where datname like 'pgward_verify_%'")" 0 "scratch database dropped"
# one record per verification, whatever second each ran in (names never collide)
nrec=$(ls "$B" | grep -c '^verify-.*\.json$')
((nrec == 3)) || tk_fail "verification records written: $nrec (expected 3)"
# each signed with the harness's sign-key (a trusted-signer): the record's .minisig
nsig=$(ls "$B" | grep -c '^verify-.*\.json\.minisig$')
((nsig == 3)) || tk_fail "verification record signatures written: $nsig (expected 3)"
"$PGWARD" verify --repo repo --output=json | grep -q '"result": "pass"' || tk_fail "json report"
tk_assert_contains "$("$PGWARD" list --repo repo)" "d1 pass d2 pass d3 pass" "list shows the newest result of each depth"
"$PGWARD" list --repo repo --output=json | grep -q '"last_verification"' || tk_fail "list json shows verification"

# depth 1: a flipped byte
cp -r repo r1
f=r1/shop/$id/data.pgdump.zst.age
tk_flip_byte "$f" 100
expect_fail 24 "data.pgdump.zst.age: SHA-256 differs from the manifest" verify --repo r1
# depth 1: a removed object, and a stray one
cp -r repo r2
rm "r2/shop/$id/globals.sql.zst.age"
echo junk > "r2/shop/$id/extra.bin"
expect_fail 24 "globals.sql.zst.age: missing" verify --repo r2
tk_assert_contains "$out" "extra.bin: stray" "stray named"

# depth 2: the data object replaced by one encrypted to the attacker, the manifest edited to match
cp -r repo r3
"$PGWARD" decrypt -i key "r3/shop/$id/data.pgdump.zst.age" | "$PGWARD" encrypt -r "$RA" > evil.age
old_sha=$(sha256sum "r3/shop/$id/data.pgdump.zst.age" | cut -d' ' -f1)
old_size=$(stat -c %s "r3/shop/$id/data.pgdump.zst.age")
cp evil.age "r3/shop/$id/data.pgdump.zst.age"
sed -i "s/$old_sha/$(sha256sum evil.age | cut -d' ' -f1)/; s/\"size\": $old_size,/\"size\": $(stat -c %s evil.age),/" "r3/shop/$id/manifest.json"
# the manifest is signed: the edit is caught before anything is read (test_sign.sh has more)
expect_fail 31 "has a bad signature" verify --repo r3
# without the signature check, depth 1 passes and depth 2 still catches it
"$PGWARD" verify --repo r3 --allow-unsigned >/dev/null 2>&1 || tk_fail "the doctored manifest should pass depth 1"
expect_fail 24 "data.pgdump.zst.age: does not decrypt to the end: no identity matched" verify --repo r3 -i key --allow-unsigned

# depth 2: details that do not match the data (re-encrypted to our key, manifest updated)
cp -r repo r4
"$PGWARD" decrypt -i key "r4/shop/$id/details.json.age" | sed 's/"rows": 5000,/"rows": 4999,/' | "$PGWARD" encrypt -r "$R" > d.age
old_sha=$(sha256sum "r4/shop/$id/details.json.age" | cut -d' ' -f1)
old_size=$(stat -c %s "r4/shop/$id/details.json.age")
cp d.age "r4/shop/$id/details.json.age"
sed -i "s/$old_sha/$(sha256sum d.age | cut -d' ' -f1)/; s/\"size\": $old_size,/\"size\": $(stat -c %s d.age),/" "r4/shop/$id/manifest.json"
expect_fail 24 "table public.customers: 5000 rows in the archive, 4999 in the details" verify --repo r4 -i key --allow-unsigned

# depth 3: a restore that loses rows (the scratch server drops every other customer on load)
pg_psql_super -d template1 >/dev/null <<'SQL'
create function public.lose_rows() returns trigger language plpgsql as
  $$ begin if new.id % 2 = 0 then return null; end if; return new; end $$;
create function public.arm() returns event_trigger language plpgsql as $$
begin
  if exists (select 1 from pg_catalog.pg_class where relname = 'customers' and relnamespace = 'public'::pg_catalog.regnamespace)
     and not exists (select 1 from pg_catalog.pg_trigger where tgname = 'lose') then
    execute 'create trigger lose before insert on public.customers for each row execute function public.lose_rows()';
  end if;
end $$;
create event trigger arm_lose on ddl_command_end execute function public.arm();
SQL
expect_fail 24 "table public.customers has 2500 rows after the restore, 5000 at backup" verify --repo repo -i key --restore --scratch-url "$SCRATCH"
pg_psql_super -d template1 -c "drop event trigger arm_lose" >/dev/null
tk_assert_eq "$(pg_psql_super -c "select count(*) from pg_database where datname like 'pgward_verify_%'")" 0 "scratch database dropped after a failed drill"

# bad input
expect_fail 2 "--restore needs -i IDENTITY and --scratch-url URL" verify --repo repo --restore
expect_fail 2 "--restore of a logical backup needs --scratch-url URL or --scratch-local" verify --repo repo -i key --restore
expect_fail 9 "not found" verify --repo repo --backup 20000101T000000Z-0000
"$PGWARD" verify --repo repo --all | grep -q pass || tk_fail "--all"
echo "verify: all checks passed"
