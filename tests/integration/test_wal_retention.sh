#!/usr/bin/env bash
# test_wal_retention.sh - WAL under several physical base backups (wal-stream running):
# list shows the coverage and the recovery window; verify depth 1 checks each base's WAL
# with no key and fails (24) naming a deleted middle segment; expire --dry-run says what
# would go and removes nothing; expire removes the oldest base and the WAL before the next
# base's start (and partials of segments stored complete), never a retained base's WAL;
# recovery-window keeps the base it needs; a planted "superseding" segment with a signature
# for another object does not get partials removed; check: backup.pitr passes while WAL
# arrives and fails when it stops (by the signed time), replication.slots fails for the
# inactive slot that retains WAL.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP"
pg_start "max_wal_senders = 6" "max_replication_slots = 5" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role walrep login replication password 'wr';
create table load(id serial primary key, pad text);
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=wr
DB="postgresql://walrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
psql1() { pg_psql_super -c "$1"; }
lsn_ge() { [[ $(psql1 "select '$1'::pg_lsn >= '$2'::pg_lsn") == t ]]; }
slot_lsn() { psql1 "select coalesce(restart_lsn::text, '0/0') from pg_replication_slots where slot_name = 'pgward_shop'"; }
durable() { lsn_ge "$(slot_lsn)" "$1"; }
has_slot() { [[ -n "$(slot_lsn)" ]]; }
load() { psql1 "insert into load(pad) select repeat('x', 200) from generate_series(1, $1)" >/dev/null; }
switch() { load "$1"; psql1 "select pg_switch_wal()" >/dev/null; }
backup() {
    tk_next_second
    "$PGWARD" backup shop --type=physical --db "$DB" --repo repo -r "$R" >b.out 2>b.err \
        || { cat b.err; tk_fail "physical backup"; }
    ls repo/shop | grep -v '^\.' | grep -v '^wal$' | sort | tail -1
}
start_seg() { # ID: the WAL segment name holding the backup's start LSN
    python3 - "$1" <<'PY'
import json, sys
m = json.load(open("repo/shop/%s/manifest.json" % sys.argv[1]))
p = m["physical"]
hi, lo = (int(x, 16) for x in p["start_lsn"].split("/"))
seg = ((hi << 32) | lo) >> 24
print("%08X%08X%08X" % (p["timeline"], seg >> 8, seg & 0xFF))
PY
}
wal_from() { "$PGWARD" wal-list shop --repo "${1:-repo}" --output=json | python3 -c 'import json,sys; print(json.load(sys.stdin)["timelines"][0]["from_lsn"])'; }
nobj() { find "${1:-repo}/shop/wal" -type f | wc -l; }

"$PGWARD" wal-stream shop --db "$DB" --repo repo -r "$R" --wal-flush-interval 1 2>>ws.log &
WS=$!
tk_on_exit "kill -9 $WS 2>/dev/null"
tk_wait_for 30 "slot pgward_shop" has_slot

switch 2000
B1=$(backup)
switch 3000
switch 3000
B2=$(backup)
switch 3000
B3=$(backup)
load 500
end=$(psql1 'select pg_current_wal_insert_lsn()')
tk_wait_for 60 "the slot to reach $end (WAL durable in the repository)" durable "$end"
S2=$(start_seg "$B2")
S3=$(start_seg "$B3")
[[ "$S2" < "$S3" ]] || tk_fail "B2 ($S2) and B3 ($S3) start in the same segment: the test needs WAL between"

# list: the coverage and the window, from the end of the oldest base (B1)
L=$("$PGWARD" list shop --repo repo)
tk_assert_contains "$L" "timeline 1: from" "list shows the coverage"
tk_assert_contains "$L" "you can restore to any moment from" "list shows the window"
tk_assert_contains "$L" "(the end of backup $B1)" "the window starts with the oldest base"
J=$("$PGWARD" list shop --repo repo --output=json)
w=$(python3 -c 'import json,sys; b=[x for x in json.load(sys.stdin) if x["backup_id"]==sys.argv[1]][0]["wal"]; print(b["consistent"], b["reaches_end"], b["recovery_window"]["from_backup"], b["recovery_window"]["to"] is not None)' "$B2" <<<"$J")
tk_assert_eq "$w" "True True $B1 True" "list json: B2's WAL and the window (with a signed end time)"

# verify depth 1: every base's WAL is continuous and signed
"$PGWARD" verify shop --repo repo --all >v.txt 2>&1 || { cat v.txt; tk_fail "verify of the bases"; }
tk_assert_contains "$(cat v.txt)" "WAL from segment $S2: consistent, continuous to the end of the stored WAL" "verify names B2's WAL"

# check: WAL is arriving, the window, the active slot
chk() { "$PGWARD" check shop --db "$DB" --repo repo --output=json --fail-on=never 2>chk.err; }
res() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); f=next(x for x in r["results"] if x["id"]==sys.argv[2]); print(f["result"], f["severity"]); print(f["evidence"])' "$1" "$2"; }
out=$(chk) || { cat chk.err; tk_fail "check"; }
tk_assert_contains "$(res "$out" backup.pitr)" "pass high" "backup.pitr passes while WAL arrives"
tk_assert_contains "$(res "$out" backup.pitr)" "you can restore to any moment from" "backup.pitr: the window"
tk_assert_contains "$(res "$out" replication.slots)" "pass" "the streaming slot is active"

# a deleted middle segment (after B2's start, before B3's): B2 and B1 fail naming it, B3 passes
cp -a repo gap
mid=$(ls gap/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed 's/\..*//' | awk -v a="$S2" -v b="$S3" '$0 > a && $0 < b' | head -1)
[[ -n "$mid" ]] || mid=$S3
rm "gap/shop/wal/00000001/$mid.zst.age" "gap/shop/wal/00000001/$mid.zst.age.minisig"
rm -f gap/shop/wal/00000001/"$mid".partial.*
rc=0
"$PGWARD" verify shop --repo gap --backup "$B2" >vg.txt 2>&1 || rc=$?
tk_assert_eq "$rc" 24 "verify of B2 with a segment deleted after its start"
tk_assert_contains "$(cat vg.txt)" "WAL segment $mid is missing" "verify names the missing segment"
tk_assert_contains "$(cat vg.txt)" "HINT:" "verify's hint"
if [[ "$mid" != "$S3" ]]; then
    "$PGWARD" verify shop --repo gap --backup "$B3" >v3.txt 2>&1 || { cat v3.txt; tk_fail "B3 after the gap"; }
fi
tk_assert_contains "$("$PGWARD" list shop --repo gap)" "recovery stops at a gap at segment $mid" "list names the gap"

# expire --dry-run: B1 and the WAL before B2's start would go; nothing goes
before=$(nobj)
D=$("$PGWARD" expire shop --repo repo --dry-run --retention-days 0 --retention-min 2 2>/dev/null)
tk_assert_contains "$D" "would remove shop/$B1" "dry run: the oldest base"
tk_assert_contains "$D" "keep    shop WAL from segment $S2" "dry run: WAL from B2's start stays"
tk_assert_contains "$D" "WAL objects before it" "dry run: the WAL before it"
tk_assert_eq "$(nobj)" "$before" "dry run removes nothing"

# a planted "segment" (another segment's object and signature) beside the newest partials:
# the partials it would supersede stay, since its signature is not for it
cp -a repo planted
np=$(ls planted/shop/wal/00000001/ | grep -E '\.partial\.[0-9A-F]{8}\.zst\.age$' | tail -1)
nseg=${np%%.*}
any=$(ls planted/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | head -1)
[[ ! -e "planted/shop/wal/00000001/$nseg.zst.age" ]] || tk_fail "the newest partial's segment is complete"
cp "planted/shop/wal/00000001/$any" "planted/shop/wal/00000001/$nseg.zst.age"
cp "planted/shop/wal/00000001/$any.minisig" "planted/shop/wal/00000001/$nseg.zst.age.minisig"
"$PGWARD" expire shop --repo planted --retention-days 0 --retention-min 3 >/dev/null 2>pl.err
[[ -e "planted/shop/wal/00000001/$np" ]] || tk_fail "a planted segment got genuine partials removed"

# expire: B1 and the WAL before B2's start go; partials of complete segments go; B2 and B3
# keep every WAL object they need
"$PGWARD" expire shop --repo repo --retention-days 0 --retention-min 2 >e.txt 2>e.err || { cat e.err; tk_fail "expire"; }
tk_assert_contains "$(cat e.txt)" "removed shop/$B1" "the oldest base is removed"
[[ ! -e repo/shop/$B1 ]] || [[ -z "$(ls repo/shop/$B1)" ]] || tk_fail "B1's objects are still there"
s2lsn=$(python3 -c "s='$S2'; seg=int(s[8:16],16)*256+int(s[16:24],16); print('%X/%X' % (seg>>8, (seg&0xFF)<<24))")
tk_assert_eq "$(wal_from)" "$s2lsn" "the stored WAL now starts with B2's start segment"
[[ -e "repo/shop/wal/00000001/$S2.zst.age" ]] || tk_fail "B2's first segment was removed"
for p in $(ls repo/shop/wal/00000001/ | grep -E '\.partial\.[0-9A-F]{8}\.zst\.age$'); do
    [[ ! -e "repo/shop/wal/00000001/${p%%.*}.zst.age" ]] || tk_fail "partial $p of a complete segment is left"
done
[[ -z "$(ls repo/shop/wal/00000001/ | grep -E '\.minisig$' | while read -r s; do [[ -e "repo/shop/wal/00000001/${s%.minisig}" ]] || echo "$s"; done)" ]] \
    || tk_fail "a signature was left without its object"
"$PGWARD" verify shop --repo repo --all >v2.txt 2>&1 || { cat v2.txt; tk_fail "verify after expire"; }
tk_assert_contains "$("$PGWARD" list shop --repo repo)" "(the end of backup $B2)" "the window now starts with B2"
tk_assert_contains "$("$PGWARD" wal-list shop --repo repo)" "no gaps" "no gap after expire"

# recovery-window: with only the newest base kept by count, the window keeps B2 (no base is
# a day old yet: the oldest one stays), so its WAL stays too
n=$(nobj)
E=$("$PGWARD" expire shop --repo repo --retention-days 0 --retention-min 1 --recovery-window 1 2>/dev/null)
tk_assert_contains "$E" "keep    shop/$B2" "recovery-window keeps B2"
tk_assert_eq "$(wal_from)" "$s2lsn" "recovery-window: B2's WAL stays"

# the stream stops (kill -9: the slot stays, inactive); more WAL on the server
kill -9 "$WS"; wait "$WS" 2>/dev/null || true
switch 1000
out=$(chk)
tk_assert_contains "$(res "$out" replication.slots)" "fail high" "an inactive slot retaining WAL is high"
tk_assert_contains "$(res "$out" replication.slots)" "inactive physical replication slot pgward_shop retains" "names the slot"
later=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
out=$(PGWARD_NOW=$later chk)
tk_assert_contains "$(res "$out" backup.pitr)" "fail high" "backup.pitr fails when WAL stops arriving"
tk_assert_contains "$(res "$out" backup.pitr)" "WAL is not arriving" "backup.pitr says why"

# expire without a trusted-signer keeps all WAL (the segment size is never taken unchecked)
n=$(nobj)
(unset PGWARD_TRUSTED_SIGNER; "$PGWARD" expire shop --repo repo --allow-unsigned --retention-days 0 --retention-min 1 >u.txt 2>/dev/null) \
    || tk_fail "expire --allow-unsigned"
tk_assert_contains "$(cat u.txt)" "no trusted-signer to check WAL signatures with" "WAL kept without trusted-signer"
tk_assert_eq "$(nobj)" "$n" "no WAL removed without trusted-signer"
tk_pass
