#!/usr/bin/env bash
# test_pitr.sh - point-in-time recovery with pgward alone: under pgbench load with wal-stream
# running, a physical base backup and marker transactions; restore --type=physical --start to
# a time between two markers gives exactly the rows committed before it, --target-lsn,
# --target-name and --target-xid stop where they say, --latest gives every committed row up
# to the last durable WAL (with a config file and an identity whose paths hold a space and a
# quote: restore_command is quoted right); a flipped byte in a WAL object stops recovery with
# an error naming the object (exit 126), never success, with prefetch too (the prefetcher
# stops at the damaged object; a file or link planted in the spool, or a spool that is a
# link, is never served); a target before the oldest base, past the stored WAL or behind a
# gap is refused before the directory is created, whatever the storage's object times say
# (only the signed stored= times count).
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP"
chmod 755 "$TK_TMP"
pg_start "max_wal_senders = 5" "max_replication_slots = 5" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role walrep login replication password 'wr';
create table marks(id serial primary key, note text not null);
create table load(id bigserial primary key, pad text);
alter system set work_mem = '5MB';
SQL
# the source's superuser chooses a command for the end of recovery: it must not run where
# the backup is restored (the restoring user reads the identity and the repository)
psql1() { pg_psql_super -c "$1"; }
psql1 "alter system set recovery_end_command = 'touch $TK_TMP/w/pwned'" >/dev/null
# and a library for the next start, in the data directory (relative to it): restore --start
# must not load it (a missing one would stop the drill's server from starting)
psql1 "alter system set shared_preload_libraries = 'base/pwned_lib'" >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=wr
DB="postgresql://walrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
lsn_ge() { [[ $(psql1 "select '$1'::pg_lsn >= '$2'::pg_lsn") == t ]]; }
slot_lsn() { psql1 "select coalesce(restart_lsn::text, '0/0') from pg_replication_slots where slot_name = 'pgward_shop'"; }
durable() { lsn_ge "$(slot_lsn)" "$1"; }
echo "insert into load(pad) values (repeat('x', 300));" >load.sql && chmod 644 load.sql
bench() { runuser -u postgres -- "$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" "$@" postgres; }
# pgward as the postgres OS user (the restored server's user; restore_command runs as it)
aspg() { runuser -u postgres -- env PGWARD_AUDIT_LOG="$TK_TMP/w/audit.log" "$PGWARD" "$@"; }
q() { runuser -u postgres -- psql -X -qtA -h "$1" -p "$2" -d postgres -c "$3"; }
rows() { q "$1" "$2" "select string_agg(note, ',' order by id) from marks"; }
stop_pg() { runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$1" -m immediate stop >/dev/null 2>&1 || true; }

"$PGWARD" wal-stream shop --db "$DB" --repo repo -r "$R" --wal-flush-interval 1 2>ws.log &
WS=$!
tk_on_exit "kill -9 $WS 2>/dev/null"
for ((i = 0; i < 200; i++)); do [[ -n "$(slot_lsn)" ]] && break; sleep 0.1; done
[[ -n "$(slot_lsn)" ]] || { cat ws.log; tk_fail "slot pgward_shop not created"; }
T0=$(psql1 "select clock_timestamp()")
tk_next_second
"$PGWARD" backup shop --type=physical --db "$DB" --repo repo -r "$R" >bb.out 2>&1 \
    || { cat bb.out; tk_fail "physical backup"; }

# markers with known commit times, under pgbench load
bench -c 2 -T 5 -n -f "$TK_TMP/load.sql" >bench.out 2>&1 &
BP=$!
psql1 "insert into marks(note) values ('m1')" >/dev/null
psql1 "select pg_switch_wal()" >/dev/null
sleep 1.1
T=$(psql1 "select clock_timestamp()")
sleep 1.1
X2=$(psql1 "begin; insert into marks(note) values ('m2'); select txid_current(); commit;")
L=$(psql1 "select pg_current_wal_insert_lsn()")
psql1 "select pg_create_restore_point('rp1')" >/dev/null
psql1 "select pg_switch_wal()" >/dev/null
psql1 "insert into marks(note) values ('m3')" >/dev/null
wait "$BP" || { cat bench.out; tk_fail "pgbench"; }
psql1 "insert into marks(note) values ('m4')" >/dev/null
END=$(psql1 "select pg_current_wal_insert_lsn()")
HIST=$(psql1 "select count(*) from load")
[[ $HIST -gt 100 ]] || tk_fail "pgbench made only $HIST transactions"
for ((i = 0; i < 300; i++)); do durable "$END" && break; sleep 0.1; done
durable "$END" || { tail -5 ws.log; tk_fail "WAL up to $END not durable"; }
kill -TERM "$WS"; wait "$WS" || tk_fail "wal-stream did not exit 0"

# usage errors, before anything is read
expect_fail 2 "one recovery target" restore shop --type=physical --target-dir "$TK_TMP/x" --repo repo -i key --latest --target-lsn 0/1
expect_fail 2 "needs a target" restore shop --type=physical --target-dir "$TK_TMP/x" --repo repo -i key --latest --target-action pause
expect_fail 2 "is not valid" restore shop --type=physical --target-dir "$TK_TMP/x" --repo repo -i key --target-time "2026-12-07 01:00:00+02"
tk_assert_contains "$err" "UTC" "the hint says UTC"
expect_fail 5 "as root" restore shop --type=physical --target-dir "$TK_TMP/x" --repo repo -i key --latest --start 5999
[[ ! -e x ]] || tk_fail "a refused restore created its directory"
# verify --restore (depth 3) of a physical backup starts a server too: refused as root
mkdir -m 700 vt
expect_fail 5 "does not run a server as root" verify shop --repo repo -i key --restore --temp-dir "$TK_TMP/vt"
[[ -z $(ls -A vt) ]] || tk_fail "a refused drill left something in its temp dir"

# unreachable targets: refused before the directory is created, naming why
expect_fail 9 "before the end of the oldest physical base backup" restore shop --type=physical \
    --target-dir "$TK_TMP/x" --repo repo -i key --target-time "$T0"
expect_fail 32 "end of the stored WAL" restore shop --type=physical --target-dir "$TK_TMP/x" \
    --repo repo -i key --target-lsn FF/0
expect_fail 32 "after the last durable WAL" restore shop --type=physical --target-dir "$TK_TMP/x" \
    --repo repo -i key --target-time "2099-01-01T00:00:00Z"
# the bound of a time target is the time signed into the WAL objects (stored=), never the
# storage's object time, which anyone who can write to the bucket sets (and a copy changes)
cp -a repo mt
find mt/shop/wal -type f -exec touch -d 2099-01-01 {} +
expect_fail 32 "after the last durable WAL" restore shop --type=physical --target-dir "$TK_TMP/x" \
    --repo mt -i key --target-time "2098-06-01T00:00:00Z"
find mt/shop/wal -type f -exec touch -d 2000-01-01 {} +
# redteam: a repository writer replays signatures under other names: the newest segment
# object and its .minisig copied one segment on, and as a history file and a segment of a
# timeline 2 after it. list's window may follow the names (it reads no WAL signature but
# the newest), but never ends at a later time than the signed one, and restore does not
# go past what checks
win() { "$PGWARD" list shop --repo mt --output=json | python3 -c 'import json,sys; w=[x for x in json.load(sys.stdin) if x.get("wal")][0]["wal"]["recovery_window"]; print(w and w["to"], w and w["to_timeline"])'; }
W0=$(win)
[[ $W0 != "None None" && $W0 != None* ]] || tk_fail "no signed window end before the attack: $W0"
wd=mt/shop/wal/00000001
last=$(ls "$wd" | grep -E '^[0-9A-F]{24}\.zst\.age$' | sort | tail -1)
next=$(python3 -c 'import sys; n=sys.argv[1]; s=int(n[16:],16)+1; print("%s%08X%08X" % (n[:8], int(n[8:16],16)+(s>>8), s&255))' "${last%.zst.age}")
cp "$wd/$last" "$wd/$next.zst.age" && cp "$wd/$last.minisig" "$wd/$next.zst.age.minisig"
W1=$(win)
[[ $W1 == "None 1" || $W1 == "$W0" ]] || tk_fail "a replayed signature moved list's window end: $W0 -> $W1"
rc=0
"$PGWARD" restore shop --type=physical --target-dir "$TK_TMP/mt2" --repo mt -i key --latest >mt.out 2>&1 || rc=$?
echo "redteam: restore --latest past a replayed signature: exit $rc: $(tail -2 mt.out)"
[[ $rc -eq 31 ]] && tk_assert_contains "$(cat mt.out)" "$next" "restore names the replayed object" \
    || tk_fail "restore --latest past a replayed signature: exit $rc"
rm -rf mt2
rc=0
(cd "$TK_TMP" && "$PGWARD" wal-fetch shop "$next" "$TK_TMP/pf.seg" --repo "$TK_TMP/mt" -i "$TK_TMP/key") >mt.out 2>&1 || rc=$?
echo "redteam: wal-fetch of the replayed segment: exit $rc: $(tail -2 mt.out)"
[[ $rc -eq 126 && ! -e pf.seg ]] || tk_fail "wal-fetch of a replayed signature: exit $rc"
cp "$wd/$last" mt/shop/wal/00000002.history.zst.age && cp "$wd/$last.minisig" mt/shop/wal/00000002.history.zst.age.minisig
mkdir -p mt/shop/wal/00000002 && cp "$wd/$last" "mt/shop/wal/00000002/00000002${next:8}.zst.age" \
    && cp "$wd/$last.minisig" "mt/shop/wal/00000002/00000002${next:8}.zst.age.minisig"
W2=$(win)
[[ $W2 == None* || $W2 == "$W0" ]] || tk_fail "a planted timeline gave list a window end time: $W0 -> $W2"
echo "redteam: list's window $W0; replayed next segment: $W1; planted timeline 2: $W2"
rc=0
"$PGWARD" restore shop --type=physical --target-dir "$TK_TMP/mt2" --repo mt -i key --latest >mt.out 2>&1 || rc=$?
echo "redteam: restore --latest over the planted objects: exit $rc: $(tail -2 mt.out)"
[[ $rc -ne 0 ]] || tk_fail "restore --latest accepted a window through replayed signatures"
rm -rf mt2
rm -rf "$wd/$next.zst.age" "$wd/$next.zst.age.minisig" mt/shop/wal/00000002.history.zst.age* mt/shop/wal/00000002
"$PGWARD" restore shop --type=physical --target-dir "$TK_TMP/mt1" --repo mt -i key --target-time "$T" \
    >mt.out 2>&1 || { cat mt.out; tk_fail "a time target refused for the storage's object times"; }
rm -rf mt mt1
# a WAL object deleted in the middle: a gap, named with its objects
cp -a repo gap
# the segment holding L: after the base's start, before the end
mid=$(psql1 "select pg_walfile_name('$L')").zst.age
[[ -f "gap/shop/wal/00000001/$mid" ]] || tk_fail "no segment object $mid"
rm "gap/shop/wal/00000001/$mid" "gap/shop/wal/00000001/$mid.minisig"
expect_fail 32 "gap on timeline 1" restore shop --type=physical --target-dir "$TK_TMP/x" --repo gap -i key --latest
tk_assert_contains "$err" "${mid%.zst.age}" "the gap names the missing object"
expect_fail 32 "gap" restore shop --type=physical --target-dir "$TK_TMP/x" --repo gap -i key --target-lsn "$END"
# the same segment's object left without its signature (a crash between the two writes, or
# put there by someone who can write to the bucket): not stored WAL for restore, verify or
# list (restore's pre-check, verify and list counted it, and only wal-fetch refused it)
cp -a repo nosig
rm "nosig/shop/wal/00000001/$mid.minisig"
expect_fail 32 "gap on timeline 1" restore shop --type=physical --target-dir "$TK_TMP/x" --repo nosig -i key --latest
tk_assert_contains "$err" "${mid%.zst.age}" "the unsigned object is a gap, named"
rc=0; "$PGWARD" verify shop --repo nosig >nv.out 2>&1 || rc=$?
[[ $rc != 0 ]] || { cat nv.out; tk_fail "verify passed a base whose WAL has an object without signature"; }
tk_assert_contains "$(cat nv.out)" "stored without its signature" "verify says why the segment is missing"
W3=$("$PGWARD" list shop --repo nosig --output=json | python3 -c 'import json,sys; w=[x for x in json.load(sys.stdin) if x.get("wal")][0]["wal"]; print(w["timelines"][0]["gap_count"], w["reaches_end"], w["recovery_window"])')
tk_assert_eq "$W3" "1 False None" "list: a gap at the unsigned object, no recovery window past it"
rm -rf nosig
# a signature copied from another segment beside it (the listing shows one): restore names
# the object before writing anything (wal-fetch refused it only in the middle of recovery)
cp -a repo cpsig
other=$(ls cpsig/shop/wal/00000001 | grep -E '^[0-9A-F]{24}\.zst\.age$' | grep -v "$mid" | head -1)
cp "cpsig/shop/wal/00000001/$other.minisig" "cpsig/shop/wal/00000001/$mid.minisig"
expect_fail 31 "$mid" restore shop --type=physical --target-dir "$TK_TMP/x" --repo cpsig -i key --latest
tk_assert_contains "$err" "recovery would replay it" "the pre-check says why it refuses"
[[ ! -e x ]] || tk_fail "a refused restore created its directory"
rm -rf cpsig
# the segment holding the base's start missing: refused, saying so
start=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["physical"]["start_lsn"])' repo/shop/*/manifest.json)
first=$(psql1 "select pg_walfile_name('$start')").zst.age
mv "gap/shop/wal/00000001/$first" "gap/$first"
expect_fail 32 "" restore shop --type=physical --target-dir "$TK_TMP/x" --repo gap -i key --target-lsn "$L"
# (when partials of that segment are stored, the rest of it is the gap)
[[ $err == *"base backup's start"* || $err == *"gap on timeline 1"*"${first%.zst.age}"* ]] \
    || tk_fail "the missing start is not named: $err"
[[ ! -e x ]] || tk_fail "a refused restore created its directory"
chown -R postgres: repo key
chmod 755 "$TK_TMP"
W=$TK_TMP/w
mkdir -m 700 "$W" && chown postgres: "$W"
# --start: the directory becomes unix_socket_directories; a name that would break that line
# (or name a second directory) is refused before anything is written
rc=0; out=$(aspg restore shop --type=physical --target-dir "$W/a,b" --repo "$TK_TMP/repo" \
    -i "$TK_TMP/key" --latest --start 5999 2>&1) || rc=$?
tk_assert_eq "$rc" 2 "--start with a comma in the directory: exit code"
tk_assert_contains "$out" "restore --start cannot use" "--start with a comma in the directory"
[[ ! -e "$W/a,b" ]] || tk_fail "a refused --start created its directory"

# to a time between m1 and m2 (default action: pause, read-only)
_tk_pick_port; P1=$_TK_PORT
tk_on_exit "runuser -u postgres -- $PG_BINDIR/pg_ctl -D $W/r1 -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/r1" --repo "$TK_TMP/repo" -i "$TK_TMP/key" \
    --target-time "$T" --start "$P1" >r1.out 2>&1 || { cat r1.out; tail -20 $W/r1/pgward-recovery.log; tk_fail "PITR to a time"; }
tk_assert_contains "$(cat r1.out)" "recovery paused" "pause is the default action"
tk_assert_contains "$(cat r1.out)" "recovery stopping before commit" "the report names the stop"
tk_assert_eq "$(rows "$W/r1" "$P1")" "m1" "PITR to a time between m1 and m2"
tk_assert_eq "$(q "$W/r1" "$P1" "select pg_is_in_recovery()")" t "paused in recovery"
[[ -f $W/r1/recovery.signal ]] || tk_fail "no recovery.signal"
grep -qF "restore_command = '''$PGWARD'' ''wal-fetch'' ''shop'' %f %p ''--audit-log''" $W/r1/postgresql.auto.conf || { cat $W/r1/postgresql.auto.conf; tk_fail "restore_command"; }
grep -q "^work_mem = '5MB'" $W/r1/postgresql.auto.conf || tk_fail "postgresql.auto.conf lost its lines"
# the drill listens on its socket in DIR (0700) only: the source's pg_hba.conf may trust
# 127.0.0.1, and no other local user may reach a server that replays the backup's content
grep -q "^listen_addresses = ''$" $W/r1/postgresql.auto.conf || tk_fail "--start opened a TCP listener"
if ss -Htln "sport = :$P1" 2>/dev/null | grep -q .; then tk_fail "the drill listens on TCP port $P1"; fi
stop_pg "$W/r1"

# to an LSN after m2, promoted
_tk_pick_port; P2=$_TK_PORT
tk_on_exit "runuser -u postgres -- $PG_BINDIR/pg_ctl -D $W/r2 -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/r2" --repo "$TK_TMP/repo" -i "$TK_TMP/key" \
    --target-lsn "$L" --target-action promote --start "$P2" >r2.out 2>&1 || { cat r2.out; tk_fail "PITR to an LSN"; }
tk_assert_contains "$(cat r2.out)" "recovery promoted" "promoted"
tk_assert_eq "$(rows "$W/r2" "$P2")" "m1,m2" "PITR to an LSN between m2 and m3"
tk_assert_eq "$(q "$W/r2" "$P2" "select pg_is_in_recovery()")" f "promoted out of recovery"
[[ ! -e $W/pwned ]] || tk_fail "the source's recovery_end_command ran on the restore host"
grep -q "^recovery_end_command = ''$" $W/r2/postgresql.auto.conf || tk_fail "recovery_end_command not emptied"
stop_pg "$W/r2"

# to a restore point
_tk_pick_port; P3=$_TK_PORT
tk_on_exit "runuser -u postgres -- $PG_BINDIR/pg_ctl -D $W/r3 -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/r3" --repo "$TK_TMP/repo" -i "$TK_TMP/key" \
    --target-name rp1 --start "$P3" >r3.out 2>&1 || { cat r3.out; tk_fail "PITR to a restore point"; }
tk_assert_contains "$(cat r3.out)" "restore point" "the report names the restore point"
tk_assert_eq "$(rows "$W/r3" "$P3")" "m1,m2" "PITR to restore point rp1"
stop_pg "$W/r3"

# to m2's transaction, exclusive, then shut down: stops before it
_tk_pick_port; P4=$_TK_PORT
tk_on_exit "runuser -u postgres -- $PG_BINDIR/pg_ctl -D $W/r4 -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/r4" --repo "$TK_TMP/repo" -i "$TK_TMP/key" \
    --target-xid "$X2" --target-exclusive --target-action shutdown --start "$P4" >r4.out 2>&1 \
    || { cat r4.out; tk_fail "PITR to an xid"; }
tk_assert_contains "$(cat r4.out)" "recovery shut down" "shut down at the target"
tk_assert_contains "$(cat r4.out)" "stopping before commit of transaction $X2" "stopped before the xid"
[[ ! -f $W/r4/postmaster.pid ]] || tk_fail "the server still runs after shutdown at the target"

# --latest with a config file and an identity whose paths hold a space and a quote
CD="$TK_TMP/we ird'cfg %p"
mkdir -p "$CD" && cp key "$CD/my key" && printf '[global]\nrepo = %s/repo\n[shop]\n' "$TK_TMP" >"$CD/pg ward.conf"
chmod 600 "$CD/my key" "$CD/pg ward.conf" && chown -R postgres: "$CD"
_tk_pick_port; P5=$_TK_PORT
tk_on_exit "runuser -u postgres -- $PG_BINDIR/pg_ctl -D $W/r5 -m immediate stop >/dev/null 2>&1"
aspg restore shop --type=physical --target-dir "$W/r5" --config "$CD/pg ward.conf" -i "$CD/my key" \
    --latest --start "$P5" >r5.out 2>&1 || { cat r5.out; tail -20 $W/r5/pgward-recovery.log; tk_fail "recovery to the end"; }
tk_assert_eq "$(rows "$W/r5" "$P5")" "m1,m2,m3,m4" "--latest: every committed row"
# the prefetch spool named in restore_command, removed once recovery ended
grep -qF "''--wal-spool'' ''$W/r5/pg_wal/pgward-prefetch''" $W/r5/postgresql.auto.conf || tk_fail "no --wal-spool in restore_command"
[[ ! -e $W/r5/pg_wal/pgward-prefetch ]] || tk_fail "the prefetch spool was left after recovery"
tk_assert_eq "$(q "$W/r5" "$P5" "select count(*) from load")" "$HIST" "--latest: every pgbench transaction"
grep -q "restored log file" $W/r5/pgward-recovery.log || tk_fail "no WAL came through restore_command"
# the value as PostgreSQL reads it ('' and \\ unescaped, %% -> %) and as sh splits it
python3 - "$W/r5/postgresql.auto.conf" "$CD/pg ward.conf" "$CD/my key" <<'PY' || tk_fail "restore_command quoting"
import shlex, sys
line = [l for l in open(sys.argv[1]) if l.startswith("restore_command = ")][-1].rstrip("\n")
v, out, i = line[len("restore_command = '"):-1], "", 0
while i < len(v):
    if v[i] == "'" or v[i] == "\\":
        assert v[i + 1] == v[i], line
        out, i = out + v[i], i + 2
    else:
        out, i = out + v[i], i + 1
argv = [a.replace("\0", "%") for a in shlex.split(out.replace("%%", "\0"))]
assert argv[argv.index("--config") + 1] == sys.argv[2], argv
assert argv[argv.index("--identity") + 1] == sys.argv[3], argv
assert argv[3:5] == ["%f", "%p"], argv
PY
stop_pg "$W/r5"

# verify --restore (depth 3): the base restored into a throwaway directory, recovered to the
# end of the stored WAL through wal-fetch, pg_amcheck --all; a signed record that list shows
cp "$PGWARD_SIGN_KEY" "$W/sign.key" && chown postgres: "$W/sign.key"
mkdir -m 700 "$W/vt" && chown postgres: "$W/vt"
vfy() { runuser -u postgres -- env PGWARD_AUDIT_LOG="$TK_TMP/w/audit.log" PGWARD_SIGN_KEY="$W/sign.key" "$PGWARD" verify shop -i "$TK_TMP/key" --restore --temp-dir "$W/vt" "$@"; }
vfy --repo "$TK_TMP/repo" >v1.out 2>&1 || { cat v1.out; tk_fail "verify --restore of a physical backup"; }
tk_assert_contains "$(cat v1.out)" "pass (depth 3" "the drill passed"
tk_assert_contains "$(cat v1.out)" "recovered to the end of the stored WAL" "the drill recovered"
tk_assert_contains "$(cat v1.out)" "pg_amcheck --all passed" "pg_amcheck ran"
[[ -z $(ls -A "$W/vt") ]] || tk_fail "the drill left its directory: $(ls -A "$W/vt")"
ls repo/shop/*/verify-*-d3-*.json.minisig >/dev/null 2>&1 || tk_fail "no signed depth-3 record"
tk_assert_contains "$("$PGWARD" list --repo repo)" "d3 pass" "list shows the depth-3 record"

# a flipped byte in a WAL object recovery needs: recovery stops naming it, never success
cp -a repo bad
last=$mid
tk_flip_byte "bad/shop/wal/00000001/$last" 3000
chown -R postgres: bad

# prefetch, step by step (wal-fetch as PostgreSQL runs it: in the data directory, %p in
# pg_wal): serving the segment two before the damaged one starts the prefetcher, which
# spools the next one and stops at the damaged one: never spooled, refused when asked for
midn=${mid%.zst.age}
mapfile -t segs < <(ls bad/shop/wal/00000001 | grep -E '^[0-9A-F]{24}\.zst\.age$' | sed 's/\.zst\.age$//' | sort)
for ((i = 0; i < ${#segs[@]}; i++)); do [[ ${segs[i]} == "$midn" ]] && break; done
((i >= 2)) || tk_fail "fewer than two stored segments before $midn"
p2=${segs[i - 2]} p1=${segs[i - 1]}
PD=$W/pf SP=$W/pf/pg_wal/pgward-prefetch
mkdir -m 700 "$PD" "$PD/pg_wal" && chown -R postgres: "$PD"
pf() { (cd "$PD" && runuser -u postgres -- env PGWARD_AUDIT_LOG="$W/audit.log" "$PGWARD" wal-fetch shop "$@" --repo "${PF_REPO:-$TK_TMP/bad}"); }
prefetcher_done() { for ((k = 0; k < 600; k++)); do flock -n "${1:-$SP}/lock" true && return 0; sleep 0.1; done; tk_fail "the prefetcher did not end"; }
pf "$p2" pg_wal/RECOVERYXLOG -i "$TK_TMP/key" --wal-spool "$SP" || tk_fail "wal-fetch $p2 with a spool"
prefetcher_done
tk_assert_eq "$(stat -c %a "$SP")" 700 "the spool's mode"
tk_assert_eq "$(ls "$SP" | tr '\n' ' ')" "$p1 lock " "the prefetcher spooled $p1 and stopped at the damaged $midn"
# it stops there: with $p1 damaged instead, nothing is spooled, not even the sound $midn
cp -a repo bad2 && tk_flip_byte "bad2/shop/wal/00000001/$p1.zst.age" 3000 && chown -R postgres: bad2
PF_REPO=$TK_TMP/bad2 pf "$p2" pg_wal/RECOVERYXLOG -i "$TK_TMP/key" --wal-spool "$SP.2" || tk_fail "wal-fetch $p2 from bad2"
prefetcher_done "$SP.2"
tk_assert_eq "$(ls "$SP.2" | tr '\n' ' ')" "lock " "the prefetcher stopped at the damaged $p1"
# served from the spool: no identity needed (the synchronous path would need one), and byte
# for byte what the synchronous path serves
pf "$p1" pg_wal/RECOVERYXLOG --wal-spool "$SP" --log-level info 2>pf.err || { cat pf.err; tk_fail "$p1 from the spool"; }
tk_assert_contains "$(cat pf.err)" "served from the prefetch spool" "$p1 came from the spool"
pf "$p1" pg_wal/sync -i "$TK_TMP/key" --wal-prefetch 0 || tk_fail "wal-fetch $p1 without prefetch"
cmp -s "$PD/pg_wal/RECOVERYXLOG" "$PD/pg_wal/sync" || tk_fail "the spooled $p1 differs from the repository's"
rc=0; pf "$midn" pg_wal/RECOVERYXLOG -i "$TK_TMP/key" --wal-spool "$SP" 2>pf.err || rc=$?
tk_assert_eq "$rc" 126 "the damaged segment with a spool: exit code"
tk_assert_contains "$(cat pf.err)" "$mid" "the damaged segment is named"
prefetcher_done
# planted in the spool: another segment's content under p2's name, and a link named p1 to
# a file with p1's very content: neither is served, the repository's p2 and p1 are
runuser -u postgres -- cp "$PD/pg_wal/sync" "$SP/$p2"
runuser -u postgres -- ln -s "$PD/pg_wal/sync" "$SP/$p1"
pf "$p2" pg_wal/RECOVERYXLOG -i "$TK_TMP/key" --wal-spool "$SP" --wal-prefetch 1 2>pf.err || { cat pf.err; tk_fail "$p2 with a planted file"; }
tk_assert_contains "$(cat pf.err)" "prefetched copy of $p2 was not used" "the planted $p2 is said"
pf "$p2" pg_wal/sync2 -i "$TK_TMP/key" --wal-prefetch 0
cmp -s "$PD/pg_wal/RECOVERYXLOG" "$PD/pg_wal/sync2" || tk_fail "a planted file was served for $p2"
prefetcher_done
pf "$p1" pg_wal/RECOVERYXLOG -i "$TK_TMP/key" --wal-spool "$SP" --log-level info 2>pf.err || tk_fail "$p1 with a planted link"
tk_assert_contains "$(cat pf.err)" "prefetched copy of $p1 was not used (not a plain file)" "the planted link is not served"
[[ ! -L $PD/pg_wal/RECOVERYXLOG ]] && cmp -s "$PD/pg_wal/RECOVERYXLOG" "$PD/pg_wal/sync" || tk_fail "$p1 not served right"
prefetcher_done
# the spool itself a link to a directory of ours: not used (served without prefetch), and
# nothing is written through it
runuser -u postgres -- rm -rf "$SP"
runuser -u postgres -- mkdir -m 700 "$PD/elsewhere"
runuser -u postgres -- ln -s "$PD/elsewhere" "$SP"
pf "$p2" pg_wal/RECOVERYXLOG -i "$TK_TMP/key" --wal-spool "$SP" 2>pf.err || { cat pf.err; tk_fail "$p2 with a linked spool"; }
tk_assert_contains "$(cat pf.err)" "without prefetch" "a linked spool is refused"
[[ -z $(ls -A "$PD/elsewhere") ]] || tk_fail "wal-fetch wrote through a linked spool"
cmp -s "$PD/pg_wal/RECOVERYXLOG" "$PD/pg_wal/sync2" || tk_fail "$p2 not served right"

_tk_pick_port; P6=$_TK_PORT
tk_on_exit "runuser -u postgres -- $PG_BINDIR/pg_ctl -D $W/r6 -m immediate stop >/dev/null 2>&1"
rc=0
aspg restore shop --type=physical --target-dir "$W/r6" --repo "$TK_TMP/bad" -i "$TK_TMP/key" \
    --latest --start "$P6" >r6.out 2>&1 || rc=$?
tk_assert_eq "$rc" 126 "exit status of a recovery stopped by a damaged WAL object"
tk_assert_contains "$(cat r6.out)" "${last}" "the error names the object"
[[ ! -f $W/r6/postmaster.pid ]] || tk_fail "the server runs after a stopped recovery"
[[ ! -e $W/r6/pg_wal/pgward-prefetch ]] || tk_fail "the prefetch spool was left after a stopped recovery"
# the same damaged WAL object under verify --restore: a depth-3 failure naming it
rc=0
vfy --repo "$TK_TMP/bad" >v2.out 2>&1 || rc=$?
tk_assert_eq "$rc" 24 "exit status of a drill stopped by a damaged WAL object"
tk_assert_contains "$(cat v2.out)" "${last}" "the drill's failure names the object"
tk_assert_contains "$(cat v2.out)" "fail (depth 3" "the drill's record says fail"
[[ -z $(ls -A "$W/vt") ]] || tk_fail "the failed drill left its directory: $(ls -A "$W/vt")"
[[ -z ${TK_SHOW:-} ]] || cat r1.out r2.out r3.out r4.out r5.out r6.out v1.out v2.out >&2
tk_pass
