#!/usr/bin/env bash
# test_wal_failover.sh - wal-stream across a failover: a standby (pg_basebackup -R) is
# promoted after the primary stops and url-file is switched to it; wal-stream reconnects,
# re-resolving url-file, creates its slot on the new primary, resumes from the
# repository's end on the old timeline and follows the history to timeline 2 (history file
# stored). No gap on either timeline, and recovery of a base backup taken on the old
# primary replays across the switch to the last row written on the new one.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP"
pg_start "max_wal_senders = 5" "max_replication_slots = 5" "wal_keep_size = '512MB'" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role walrep login replication password 'wr';
create table marks(id serial primary key, note text not null);
create table load(id serial primary key, pad text);
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=wr
url() { echo "postgresql://walrep@localhost:$1/postgres?sslrootcert=$PG_CA"; }
(umask 077 && url "$PGPORT_TEST" >url)
psql_at() { runuser -u postgres -- psql -X -qtA -h "$1" -p "$2" -d postgres -c "$3"; }
lsn_num() { printf '%d' $(( (16#${1%/*} << 32) + 16#${1#*/} )); }
lsn_ge() { (( $(lsn_num "$1") >= $(lsn_num "$2") )); }

# the standby, then the base backup for the recovery at the end
SB=$TK_TMP/standby
mkdir -p "$SB" && chown postgres: "$SB" && chmod 700 "$SB"
runuser -u postgres -- pg_basebackup -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -D "$SB" \
    -R -X stream -c fast 2>bb.err || { cat bb.err; tk_fail "pg_basebackup -R"; }
tk_on_exit "runuser -u postgres -- pg_ctl -D $SB -m immediate stop >/dev/null 2>&1"
# a free port can be taken by another test between the pick and the bind: another one then
for attempt in 1 2 3 4 5; do
    _tk_pick_port; P2=$_TK_PORT
    printf "port = %s\nunix_socket_directories = '%s'\n" "$P2" "$SB" >>"$SB/postgresql.conf"
    chown postgres: "$SB/postgresql.conf"
    runuser -u postgres -- pg_ctl -D "$SB" -l "$SB/server.log" -w -t 60 start >/dev/null && break
    grep -q "Address already in use" "$SB/server.log" && ((attempt < 5)) \
        || { tail "$SB/server.log"; tk_fail "standby did not start"; }
done
mkdir -p base && chown postgres: base
runuser -u postgres -- pg_basebackup -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -D base \
    -Ft -X none -c fast 2>bb.err || { cat bb.err; tk_fail "pg_basebackup"; }

"$PGWARD" wal-stream shop --url-file url --repo repo -r "$R" --wal-flush-interval 1 \
    --log-level info 2>ws.log &
WS=$!
tk_on_exit "kill -9 $WS 2>/dev/null"
wait_slot() { # HOST PORT LSN: the slot on that server reaches LSN
    local i s
    for ((i = 0; i < 400; i++)); do
        s=$(psql_at "$1" "$2" "select coalesce(restart_lsn::text, '0/0') from pg_replication_slots where slot_name = 'pgward_shop'")
        [[ -n "$s" ]] && lsn_ge "$s" "$3" && return 0
        sleep 0.1
    done
    tail -20 ws.log
    tk_fail "slot on port $2 did not reach $3"
}
# pgward's own base backup on the old primary, while wal-stream runs (its slot exists)
slot_there() { [[ -n $(psql_at "$PG_SOCKDIR" "$PGPORT_TEST" "select 1 from pg_replication_slots where slot_name = 'pgward_shop'") ]]; }
tk_wait_for 30 "the slot of wal-stream" slot_there
"$PGWARD" backup shop --type=physical --db "$(url "$PGPORT_TEST")" --repo repo -r "$R" >pb.out 2>&1 \
    || { cat pb.out; tk_fail "physical backup on the old primary"; }
pg_psql_super -c "insert into load(pad) select repeat('x', 200) from generate_series(1, 20000)" >/dev/null
pg_psql_super -c "insert into marks(note) values ('m1')" >/dev/null
pg_psql_super -c "select pg_switch_wal()" >/dev/null
pg_psql_super -c "insert into marks(note) values ('m2')" >/dev/null
end=$(pg_psql_super -c "select pg_current_wal_insert_lsn()")
wait_slot "$PG_SOCKDIR" "$PGPORT_TEST" "$end"

# failover: the primary stops (fast: the standby gets everything), the standby is promoted,
# url-file now names it
runuser -u postgres -- pg_ctl -D "$PG_DATADIR" -m fast -w stop >/dev/null
runuser -u postgres -- pg_ctl -D "$SB" -w promote >/dev/null || tk_fail "promote"
# WAL and a checkpoint on the new primary before wal-stream finds it: a slot created now
# starts segments after the switch, so resuming from the slot alone would leave a gap
psql_at "$SB" "$P2" "insert into marks(note) values ('m3')" >/dev/null
T3=$(psql_at "$SB" "$P2" "select clock_timestamp()") # after m3, before m4: on timeline 2
psql_at "$SB" "$P2" "insert into load(pad) select repeat('y', 200) from generate_series(1, 20000)" >/dev/null
psql_at "$SB" "$P2" "select pg_switch_wal()" >/dev/null
psql_at "$SB" "$P2" "checkpoint" >/dev/null
(umask 077 && url "$P2" >url.new && mv url.new url)
psql_at "$SB" "$P2" "insert into marks(note) values ('m4')" >/dev/null
end2=$(psql_at "$SB" "$P2" "select pg_current_wal_insert_lsn()")
wait_slot "$SB" "$P2" "$end2"
kill -TERM "$WS"; wait "$WS" || tk_fail "wal-stream exit status on SIGTERM"
grep -q "following timeline 2\|on timeline 2" ws.log || { cat ws.log; tk_fail "timeline 2 not followed"; }
[[ -f repo/shop/wal/00000002.history.zst.age && -f repo/shop/wal/00000002.history.zst.age.minisig ]] \
    || tk_fail "history file not stored"
json=$("$PGWARD" wal-list shop --repo repo --output=json)
tk_assert_eq "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print([t["timeline"] for t in d["timelines"]], sum(t["gap_count"] for t in d["timelines"]))' "$json")" "[1, 2] 0" "timelines and gaps"

# recovery of the old primary's base backup across the switch, to the end
chown -R postgres: repo key base
D=$TK_TMP/r1
_tk_pick_port; P3=$_TK_PORT
mkdir -p "$D" && tar -xf base/base.tar -C "$D" && chmod 700 "$D"
{
    printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\n" "$P3" "$D"
    printf "restore_command = '%s wal-fetch shop %%f %%p --repo %s/repo -i %s/key --trusted-signer %s'\n" \
        "$PGWARD" "$TK_TMP" "$TK_TMP" "$TK_SIGN_PUB"
} >>"$D/postgresql.conf"
touch "$D/recovery.signal"
chown -R postgres: "$D"
tk_on_exit "runuser -u postgres -- pg_ctl -D $D -m immediate stop >/dev/null 2>&1"
runuser -u postgres -- pg_ctl -D "$D" -l "$D/server.log" -w -t 120 start >/dev/null 2>&1 \
    || { tail -20 "$D/server.log"; tk_fail "recovery server did not start"; }
for ((i = 0; i < 600; i++)); do
    [[ $(psql_at "$D" "$P3" 'select pg_is_in_recovery()' 2>/dev/null) == f ]] && break
    sleep 0.1
done
tk_assert_eq "$(psql_at "$D" "$P3" "select string_agg(note, ',' order by id) from marks")" "m1,m2,m3,m4" "PITR across the timeline switch"
runuser -u postgres -- pg_ctl -D "$D" -m immediate stop >/dev/null 2>&1

# pgward's own restore of its base from the old primary, as the postgres OS user: the plan
# follows the signed history file to timeline 2, recovery reaches the last row written there
chmod 755 "$TK_TMP"
W=$TK_TMP/w
mkdir -m 700 "$W" && chown postgres: "$W"
aspg() { runuser -u postgres -- env PGWARD_AUDIT_LOG="$W/audit.log" "$PGWARD" "$@"; }
_tk_pick_port; P4=$_TK_PORT
tk_on_exit "runuser -u postgres -- pg_ctl -D $W/l -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/l" --repo "$TK_TMP/repo" -i "$TK_TMP/key" \
    --latest --start "$P4" >l.out 2>&1 || { cat l.out; tail -20 "$W/l/pgward-recovery.log"; tk_fail "restore --latest across the switch"; }
tk_assert_contains "$(cat l.out)" "timeline 1 to 2" "the plan follows the history to timeline 2"
tk_assert_eq "$(psql_at "$W/l" "$P4" "select string_agg(note, ',' order by id) from marks")" "m1,m2,m3,m4" "restore --latest across the timeline switch"
grep -q "restored log file \"00000002.history\"" "$W/l/pgward-recovery.log" || tk_fail "the history file did not come through wal-fetch"
runuser -u postgres -- pg_ctl -D "$W/l" -m immediate stop >/dev/null 2>&1
# a time on timeline 2, after the switch: m3 but not m4; in a repository where someone
# planted an unsigned history of a timeline 3 (well-formed, encrypted to the recipient):
# never followed (wal-fetch answers "not stored" to PostgreSQL's probe), and no obstacle
cp -a repo hrepo
sw=$(psql_at "$SB" "$P2" "select pg_current_wal_insert_lsn()")
printf '1\t%s\tplanted\n2\t%s\tplanted\n' "$end" "$sw" | zstd -q | age -r "$R" >hrepo/shop/wal/00000003.history.zst.age
chown -R postgres: hrepo
_tk_pick_port; P5=$_TK_PORT
tk_on_exit "runuser -u postgres -- pg_ctl -D $W/t -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/t" --repo "$TK_TMP/hrepo" -i "$TK_TMP/key" \
    --target-time "$T3" --start "$P5" >t.out 2>&1 || { cat t.out; tail -20 "$W/t/pgward-recovery.log"; tk_fail "restore --target-time on timeline 2"; }
tk_assert_contains "$(cat t.out)" "recovery paused" "paused at the target on timeline 2"
tk_assert_contains "$(cat t.out)" "timeline 1 to 2," "the plan does not follow the unsigned history"
tk_assert_contains "$(cat t.out)" "00000003.history.zst.age\" is not followed" "the plan names the unsigned history"
tk_assert_eq "$(psql_at "$W/t" "$P5" "select string_agg(note, ',' order by id) from marks")" "m1,m2,m3" "PITR to a time on timeline 2"
grep -q "00000003.history is not followed" "$W/t/pgward-recovery.log" || tk_fail "wal-fetch did not refuse the unsigned history"
if grep -q 'restored log file "00000003.history"' "$W/t/pgward-recovery.log"; then tk_fail "recovery followed an unsigned history"; fi
runuser -u postgres -- pg_ctl -D "$W/t" -m immediate stop >/dev/null 2>&1
# timeline 2's own history without its signature: never followed either; --latest, whose
# end lies on timeline 2, is refused before anything is written; a target on timeline 1
# that does not need it restores
cp -a repo urepo && chown -R postgres: urepo
rm urepo/shop/wal/00000002.history.zst.age.minisig
rc=0; aspg restore shop --type=physical --target-dir "$W/u" --repo "$TK_TMP/urepo" -i "$TK_TMP/key" --latest >u.err 2>&1 || rc=$?
tk_assert_eq "$rc" 32 "--latest past an unsigned history: exit code"
tk_assert_contains "$(cat u.err)" "history \"shop/wal/00000002.history.zst.age\" is not followed" "the refusal names the history"
tk_assert_contains "$(cat u.err)" "goes on on timeline 2" "the refusal names the timeline"
[[ ! -e $W/u ]] || tk_fail "a refused restore created its directory"
# list agrees: the physical base reaches timeline 2 only through a signed history
reach() { "$PGWARD" list shop --repo "$1" --output=json | python3 -c 'import json,sys; b=[x for x in json.load(sys.stdin) if x.get("kind") == "physical"][0]["wal"]; print(b["reaches_timeline"], b["reaches_end"])'; }
tk_assert_eq "$(reach repo)" "2 True" "list: the base reaches timeline 2"
tk_assert_eq "$(reach urepo)" "1 False" "list: an unsigned history is not followed"
aspg restore shop --type=physical --target-dir "$W/u" --repo "$TK_TMP/urepo" -i "$TK_TMP/key" --target-lsn "$end" >u.out 2>&1 \
    || { cat u.out; tk_fail "a target on timeline 1 blocked by timeline 2's unsigned history"; }
tk_assert_contains "$(cat u.out)" "timeline 1 to 1," "recovery stays on timeline 1"
[[ -z ${TK_SHOW:-} ]] || cat l.out t.out u.out >&2
tk_pass
