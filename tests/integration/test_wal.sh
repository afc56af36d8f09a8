#!/usr/bin/env bash
# test_wal.sh - continuous WAL (wal-stream) with a REPLICATION-only role, and back
# (wal-fetch as restore_command): objects appear signed (the stock minisign verifies one);
# the slot never moves past what the repository holds; kill -9 mid-segment and a restart
# leave no gap; a flipped byte, a forged object (public key only), a swapped object and an
# unsigned one make wal-fetch exit 126 naming the object; a missing file exits 9 quietly;
# point-in-time recovery of a stock pg_basebackup to a time between two markers gives
# exactly the rows before it, and recovery to the end gives every row up to the last
# durable partial; wal-push is idempotent and refuses different content.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP"
pg_start "max_wal_senders = 5" "max_replication_slots = 5" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role walrep login replication password 'wr';
create role boss login superuser password 'bs';
create table marks(id serial primary key, note text not null, at timestamptz default clock_timestamp());
create table load(id serial primary key, pad text);
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=wr
DB="postgresql://walrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
psql1() { pg_psql_super -c "$1"; }
lsn_ge() { [[ $(psql1 "select '$1'::pg_lsn >= '$2'::pg_lsn") == t ]]; }
slot_lsn() { psql1 "select coalesce(restart_lsn::text, '0/0') from pg_replication_slots where slot_name = 'pgward_shop'"; }
# wait until the slot (advanced only for durable WAL) reaches LSN $1
wait_durable() {
    local i
    for ((i = 0; i < 300; i++)); do
        lsn_ge "$(slot_lsn)" "$1" && return 0
        sleep 0.1
    done
    tail -5 ws.log >&2
    tk_fail "the slot did not reach $1 (at $(slot_lsn))"
}
load() { psql1 "insert into load(pad) select repeat('x', 200) from generate_series(1, $1)" >/dev/null; }
wal_to() { "$PGWARD" wal-list shop --repo repo --output=json | python3 -c 'import json,sys; t=json.load(sys.stdin)["timelines"]; print(t[-1]["to_lsn"] if t else "0/0")'; }
# the slot never claims more than the repository holds
check_slot_le_repo() {
    local s r
    s=$(slot_lsn); r=$(wal_to)
    # until the repository passes it, the slot sits where it was created (S0)
    [[ "$s" != "$S0" ]] || return 0
    lsn_ge "$r" "$s" || tk_fail "slot restart_lsn $s is beyond the repository's $r"
}
# what wal-stream reports as flushed (pg_stat_replication.flush_lsn; 0/0 before any report)
claim() { psql1 "select coalesce((select flush_lsn::text from pg_stat_replication where application_name = 'pgward-wal'), '0/0')"; }
# the claim is never ahead of the signed WAL the repository holds: read first, the
# repository after, N times back to back (from the first claim on: a new slot's start)
sample_claims() { # N
    local k c r
    for ((k = 0; k < 300; k++)); do [[ $(claim) != 0/0 ]] && break; sleep 0.1; done
    for ((k = 0; k < $1; k++)); do
        c=$(claim)
        r=$(wal_to)
        lsn_ge "$r" "$c" || { tail -5 ws.log >&2; tk_fail "wal-stream reported $c as flushed, the repository holds WAL to $r"; }
    done
}
stream() { # [FLUSH_INTERVAL]
    "$PGWARD" wal-stream shop --db "$DB" --repo repo -r "$R" --wal-flush-interval "${1:-1}" \
        --log-level info 2>>ws.log &
    WS=$!
    tk_on_exit "kill -9 $WS 2>/dev/null"
}

# a superuser is refused like for backups (exit 22), before any slot exists
PGWARD_DB_PASSWORD=bs expect_fail 22 "could change database" wal-stream shop \
    --db "postgresql://boss@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA" --repo repo -r "$R"
tk_assert_eq "$(psql1 "select count(*) from pg_replication_slots")" 0 "no slot for a refused role"
# REPLICATION plus one write privilege: refused, naming it and the fix
psql1 "grant insert on marks to walrep" >/dev/null
expect_fail 22 "INSERT" wal-stream shop --db "$DB" --repo repo -r "$R"
tk_assert_contains "${err,,}" "revoke" "the finding's fix"
psql1 "revoke insert on marks from walrep" >/dev/null
# no pg_hba.conf line for its replication connection: fails at once, saying which line
pg_psql_super -c "create role norep login replication password 'wr'" >/dev/null
{ echo 'hostssl replication norep 127.0.0.1/32 reject'; cat "$PG_DATADIR/pg_hba.conf"; } >hba.new
cat hba.new >"$PG_DATADIR/pg_hba.conf"
pg_psql_super -c "select pg_reload_conf()" >/dev/null
expect_fail 20 "replication connection" wal-stream shop --repo repo -r "$R" \
    --db "postgresql://norep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
tk_assert_contains "$err" "hostssl replication ROLE" "hint gives the pg_hba.conf line"
# no sign-key: refused (recovery replays only signed WAL)
(unset PGWARD_SIGN_KEY; expect_fail 31 "sign-key" wal-stream shop --db "$DB" --repo repo -r "$R") \
    || tk_fail "wal-stream without a sign-key"

stream
for ((i = 0; i < 100; i++)); do [[ -n "$(slot_lsn)" ]] && break; sleep 0.1; done
[[ -n "$(slot_lsn)" ]] || { cat ws.log; tk_fail "slot pgward_shop not created"; }
S0=$(slot_lsn)
# sampled under load from the new slot's first status update on (bounded: 20 samples)
(for ((j = 0; j < 10; j++)); do load 2000; done) &
LOADP=$!
tk_on_exit "kill $LOADP 2>/dev/null"
sample_claims 20
wait "$LOADP"
for k in 1 2 3; do
    load 3000
    psql1 "select pg_switch_wal()" >/dev/null
    check_slot_le_repo
done
wait_durable "$(psql1 'select pg_current_wal_insert_lsn()')"
seg=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | head -1)
[[ -n "$seg" && -f "repo/shop/wal/00000001/$seg.minisig" ]] || tk_fail "no signed segment object"
minisign -Vm "repo/shop/wal/00000001/$seg" -p "$PGWARD_SIGN_KEY.pub" >mv.out 2>&1 \
    || { cat mv.out; tk_fail "minisign -V rejects a WAL object"; }
tk_assert_contains "$(cat mv.out)" "object=shop/wal/00000001/$seg" "trusted comment names the object"
# the stock-tools path: age -d | zstd -d gives the segment
age -d -i key "repo/shop/wal/00000001/$seg" | zstd -dq >seg.raw
tk_assert_eq "$(stat -c %s seg.raw)" 16777216 "a segment decrypts with age | zstd"

# a stock base backup (no WAL in it: recovery fetches all of it through pgward)
mkdir -p "$TK_TMP/base" && chown postgres: "$TK_TMP/base"
runuser -u postgres -- pg_basebackup -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres \
    -D "$TK_TMP/base" -Ft -X none -c fast 2>bb.err || { cat bb.err; tk_fail "pg_basebackup"; }

# WAL received but not yet durable (no partial for 10 minutes): the slot must not move
# past the repository, whatever status updates the receiver sends meanwhile (every 10 s)
kill -TERM "$WS"; wait "$WS" || tk_fail "wal-stream did not exit 0 on SIGTERM"
PGWARD_WAL_MAX_RETAINED=256KiB stream 600
load 2000
mid=$(psql1 'select pg_current_wal_insert_lsn()')
for ((i = 0; i < 300; i++)); do
    lsn_ge "$(psql1 "select coalesce(max(sent_lsn), '0/0') from pg_stat_replication")" "$mid" && break
    sleep 0.1
done
for ((i = 0; i < 24; i++)); do check_slot_le_repo; sleep 0.5; done
grep -q "more than wal-max-retained" ws.log || { cat ws.log; tk_fail "no warning about retained WAL"; }
# kill -9 mid-segment (WAL only in memory), more WAL meanwhile, restart: no gap
kill -9 "$WS"; wait "$WS" 2>/dev/null || true
load 2000
psql1 "select pg_switch_wal()" >/dev/null
load 500
check_slot_le_repo
# a crash between a segment's object and its signature, where the slot resumes (planted:
# an object alone): not durable, so the segment is stored again, as its full-size partial,
# before its end is reported as flushed
rl=$(slot_lsn)
segno=$(((16#${rl%/*} * 4294967296 + 16#${rl#*/}) / 16777216))
ns=$(printf '00000001%08X%08X' $((segno / 256)) $((segno % 256)))
[[ ! -e repo/shop/wal/00000001/$ns.zst.age ]] || tk_fail "segment $ns is already stored"
cp "repo/shop/wal/00000001/$seg" "repo/shop/wal/00000001/$ns.zst.age"
stream

# markers with known commit times
psql1 "insert into marks(note) values ('m1')" >/dev/null
sleep 1.1
T=$(psql1 "select clock_timestamp()")
sleep 1.1
psql1 "insert into marks(note) values ('m2')" >/dev/null
psql1 "select pg_switch_wal()" >/dev/null
load 500
psql1 "insert into marks(note) values ('m3')" >/dev/null
end=$(psql1 'select pg_current_wal_insert_lsn()')
wait_durable "$end"
check_slot_le_repo
[[ -f repo/shop/wal/00000001/$ns.partial.01000000.zst.age.minisig ]] \
    || { ls repo/shop/wal/00000001/ | grep "$ns"; tk_fail "the segment under an unsigned object was reported flushed, not stored again"; }
grep -q "$ns.zst.age\" exists without its signature" ws.log || tk_fail "no warning about the unsigned object"
rm -f "repo/shop/wal/00000001/$ns.zst.age"
list=$("$PGWARD" wal-list shop --repo repo)
tk_assert_contains "$list" "no gaps" "wal-list after kill -9 and restart"
tk_assert_contains "$list" "last durable partial" "the newest WAL is a partial"
[[ "$("$PGWARD" wal-list shop --repo repo --output=json | python3 -c 'import json,sys; print(sum(t["gap_count"] for t in json.load(sys.stdin)["timelines"]))')" == 0 ]] \
    || tk_fail "gaps in the JSON coverage"
# the segment size (object names -> LSNs) and the newest time come only from signatures that
# check: without a trusted-signer no coverage is shown, and the storage's object times
# (anyone who can write to the bucket sets them) change nothing
wl_json() { "$@" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["segment_size"], len(d["timelines"]), d["newest_object_time"] is not None)'; }
tk_assert_eq "$(wl_json "$PGWARD" wal-list shop --repo repo --output=json)" "16777216 1 True" "wal-list with a trusted-signer"
tk_assert_eq "$(wl_json env -u PGWARD_TRUSTED_SIGNER "$PGWARD" wal-list shop --repo repo --output=json 2>wl.err)" "None 0 False" "wal-list without a trusted-signer"
tk_assert_contains "$(cat wl.err)" "needs trusted-signer" "wal-list says why it shows no coverage"
tk_assert_contains "$(env -u PGWARD_TRUSTED_SIGNER "$PGWARD" wal-list shop --repo repo 2>/dev/null)" "coverage unknown" "wal-list text without a trusted-signer"
newest_t() { "$PGWARD" wal-list shop --repo "$1" --output=json | python3 -c 'import json,sys; print(json.load(sys.stdin)["newest_object_time"])'; }
# (a copy: wal-stream keeps adding partials to repo)
cp -a repo mtime && before=$(newest_t mtime) && find mtime/shop/wal -type f -exec touch -d 2099-01-01 {} +
tk_assert_eq "$(newest_t mtime)" "$before" "wal-list's newest time is the signed one"
rm -rf mtime

# SIGTERM: stores the open segment's partial and exits 0
kill -TERM "$WS"
wait "$WS" || tk_fail "wal-stream did not exit 0 on SIGTERM"

# wal-fetch: tampering is fatal for recovery (126) and names the object
export PGWARD_IDENTITY=$TK_TMP/key
cp -a repo bad
tk_flip_byte "bad/shop/wal/00000001/$seg" 2000 || { ls -l bad/shop/wal/00000001/; tk_fail "no object $seg to damage"; }
# (a run at stops 22 and 23 saw exit 0 here, with $seg the 5th segment: if it recurs, the
# evidence is printed before the check fails)
rc=0; "$PGWARD" wal-fetch shop "${seg%.zst.age}" out.dbg --repo bad --log-level debug 2>dbg.err || rc=$?
if [[ $rc != 126 ]]; then
    { echo "wal-fetch of the damaged $seg: exit $rc"; cat dbg.err; ls -l bad/shop/wal/00000001/ | grep "${seg%.zst.age}"
      cmp -l "repo/shop/wal/00000001/$seg" "bad/shop/wal/00000001/$seg" | head -3
      [[ -f out.dbg ]] && cmp out.dbg <(age -d -i key "repo/shop/wal/00000001/$seg" | zstd -dq) && echo "served: the undamaged segment"; } >&2
fi
expect_fail 126 "$seg" wal-fetch shop "${seg%.zst.age}" out --repo bad
# forged with the public key only: encrypted to R, signed by another key
"$PGWARD" keygen --sign -o other.key >/dev/null 2>&1
head -c 16777216 /dev/zero | "$PGWARD" encrypt -r "$R" -o forged.age
seg2=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed -n 2p)
cp forged.age "bad/shop/wal/00000001/$seg2"
rm -f "bad/shop/wal/00000001/$seg2.minisig"
expect_fail 126 "is unsigned" wal-fetch shop "${seg2%.zst.age}" out --repo bad
# a genuine object and signature swapped under another name
seg3=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed -n 3p)
cp "repo/shop/wal/00000001/$seg" "bad/shop/wal/00000001/$seg3"
cp "repo/shop/wal/00000001/$seg.minisig" "bad/shop/wal/00000001/$seg3.minisig"
expect_fail 126 "for another object" wal-fetch shop "${seg3%.zst.age}" out --repo bad
# signed by a key that is not trusted (another host's, or an attacker's)
seg4=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed -n 4p)
rm -f "bad/shop/wal/00000001/$seg4" "bad/shop/wal/00000001/$seg4.minisig"
mkdir -p push && cp seg.raw "push/${seg4%.zst.age}"
PGWARD_SIGN_KEY=$TK_TMP/other.key "$PGWARD" wal-push shop "push/${seg4%.zst.age}" --repo bad -r "$R"
expect_fail 126 "not a trusted-signer" wal-fetch shop "${seg4%.zst.age}" out --repo bad
# a segment missing before later ones: a gap, fatal (quiet would end recovery early)
seg5=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed -n 5p)
rm -f "bad/shop/wal/00000001/$seg5" "bad/shop/wal/00000001/$seg5.minisig"
expect_fail 126 "a gap" wal-fetch shop "${seg5%.zst.age}" out --repo bad
tk_assert_contains "$("$PGWARD" wal-list shop --repo bad)" "GAPS:" "wal-list shows the gap"
# a segment whose signature is missing (a crash between the two writes): refused until
# the segment is stored again, then as its full-size partial (the object stays: append-only)
seg6=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed -n 6p)
s6=${seg6%.zst.age}
"$PGWARD" wal-fetch shop "$s6" "push/$s6" --repo repo
rm -f "bad/shop/wal/00000001/$seg6.minisig"
expect_fail 126 "is unsigned" wal-fetch shop "$s6" out --repo bad
"$PGWARD" wal-push shop "push/$s6" --repo bad -r "$R" 2>push.err
tk_assert_contains "$(cat push.err)" "without its signature" "wal-push warns about the unsigned object"
[[ -f "bad/shop/wal/00000001/$s6.partial.01000000.zst.age.minisig" ]] || tk_fail "no full-size partial"
"$PGWARD" wal-fetch shop "$s6" out --repo bad || tk_fail "wal-fetch of the replaced segment"
cmp -s out "push/$s6" || tk_fail "the full-size partial differs"
# an unsigned partial larger than the newest signed one (a crash between the two writes, or
# planted): passed over, the signed one is served
newest=$(ls repo/shop/wal/00000001/ | grep -E '^[0-9A-F]{24}\.partial\.[0-9A-F]{8}\.zst\.age$' | tail -1)
nseg=${newest%%.*}
cp "repo/shop/wal/00000001/$newest" "bad/shop/wal/00000001/$nseg.partial.00FFFFF0.zst.age"
"$PGWARD" wal-fetch shop "$nseg" want --repo repo
"$PGWARD" wal-fetch shop "$nseg" got --repo bad || tk_fail "an unsigned larger partial blocked wal-fetch"
cmp -s want got || tk_fail "the signed partial was not the one served"
# a missing file: exit 9, no message
rc=0
"$PGWARD" wal-fetch shop 0000000100000000000000FF out --repo repo 2>miss.err || rc=$?
tk_assert_eq "$rc" 9 "missing segment exit status"
tk_assert_eq "$(cat miss.err)" "" "missing segment is quiet"
"$PGWARD" wal-fetch shop "${seg%.zst.age}" out --repo repo
tk_assert_eq "$(stat -c %a out)" 600 "fetched file mode"
cmp -s out seg.raw || tk_fail "fetched segment differs"

# wal-push: idempotent for the same content, refuses a different one
cp seg.raw "${seg%.zst.age}"
"$PGWARD" wal-push shop "${seg%.zst.age}" --repo repo -r "$R" || tk_fail "wal-push of the same segment"
head -c 100 /dev/urandom | dd of="${seg%.zst.age}" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_fail 32 "different content" wal-push shop "${seg%.zst.age}" --repo repo -r "$R"

# point-in-time recovery (as the postgres OS user, which restore_command runs as)
chown -R postgres: repo "$TK_TMP/key" "$TK_TMP/base"
recover() { # DIR PORT EXTRA_CONF...
    local d=$1 p=$2
    shift 2
    mkdir -p "$d" && tar -xf "$TK_TMP/base/base.tar" -C "$d" && chmod 700 "$d"
    {
        printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\n" "$p" "$d"
        printf "restore_command = 'PGWARD_AUDIT_LOG=%s/fetch-audit.log %s wal-fetch shop %%f %%p --repo %s/repo -i %s/key --trusted-signer %s'\n" \
            "$d" "$PGWARD" "$TK_TMP" "$TK_TMP" "$TK_SIGN_PUB"
        printf '%s\n' "$@"
    } >>"$d/postgresql.conf"
    touch "$d/recovery.signal"
    chown -R postgres: "$d"
    tk_on_exit "runuser -u postgres -- pg_ctl -D $d -m immediate stop >/dev/null 2>&1"
    runuser -u postgres -- pg_ctl -D "$d" -l "$d/server.log" -w -t 120 start >/dev/null 2>&1 \
        || { tail -20 "$d/server.log"; tk_fail "recovery server did not start"; }
    local i
    for ((i = 0; i < 600; i++)); do
        [[ $(runuser -u postgres -- psql -X -qtA -h "$d" -p "$p" -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null) == f ]] && return 0
        sleep 0.1
    done
    tail -20 "$d/server.log"
    tk_fail "recovery did not finish"
}
rows() { runuser -u postgres -- psql -X -qtA -h "$1" -p "$2" -d postgres -c "select string_agg(note, ',' order by id) from marks"; }
_tk_pick_port; P1=$_TK_PORT
recover "$TK_TMP/r1" "$P1" "recovery_target_time = '$T'" "recovery_target_action = 'promote'"
tk_assert_eq "$(rows "$TK_TMP/r1" "$P1")" "m1" "PITR to a time between m1 and m2"
grep -q "recovery stopping before commit" "$TK_TMP/r1/server.log" || tk_fail "recovery did not stop at the target"
_tk_pick_port; P2=$_TK_PORT
recover "$TK_TMP/r2" "$P2"
tk_assert_eq "$(rows "$TK_TMP/r2" "$P2")" "m1,m2,m3" "recovery to the end (m3 only in a partial)"
tk_pass
