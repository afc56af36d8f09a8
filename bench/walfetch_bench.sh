#!/usr/bin/env bash
# walfetch_bench.sh - recovery through pgward wal-fetch alone (issue 14's PITR restore, the
# recovery half): one base backup and BENCH_WAL_MB of pgbench WAL streamed by wal-stream, then
# the same restore recovered to the end of the WAL, alternating (A B C A B C ...):
#
#   before   wal-fetch of PGWARD_BEFORE (a build without prefetch, %p fsynced), when given
#   p0       wal-fetch --wal-prefetch 0 (synchronous: one fetch per restore_command)
#   p8       wal-fetch --wal-prefetch 8 --wal-spool <data dir>/pg_wal/pgward-prefetch
#
# Each: `pgward restore --type=physical` (not timed), then the server started with that
# restore_command (as postgres, socket only) until "ready to accept connections": the
# recovery seconds. Every restore_command runs under /usr/bin/time, so the report also gives
# the wall and CPU of each wal-fetch that PostgreSQL waited for (the prefetcher is not waited
# for: its CPU is the p0 per-segment figure again, spent while replay runs). A restored
# cluster must hold the source's pgbench_history count.
#
# Environment: BENCH_WAL_MB (default 320), BENCH_ROUNDS (3), BENCH_SCALE (pgbench scale, 10),
# BENCH_DIR (parent of the scratch dir), PGWARD (build/src/pgward), PGWARD_BEFORE (optional).
# Run as root (the servers run as postgres). Takes about 3-6 minutes on 2 idle cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
BEFORE=${PGWARD_BEFORE:-}
WAL_MB=${BENCH_WAL_MB:-320}
ROUNDS=${BENCH_ROUNDS:-3}
SCALE=${BENCH_SCALE:-10}
die() { printf 'walfetch bench: %s\n' "$1" >&2; exit "${2:-1}"; }
export BENCH_NAME="walfetch bench"
# shellcheck source=lib.sh
source "$here/bench/lib.sh"
[ "$(id -u)" -eq 0 ] || die "run it as root (the restored servers run as postgres)" 2
[ -x "$PGWARD" ] || die "no pgward binary at $PGWARD (run 'make build')" 2
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "PGWARD_BEFORE=$BEFORE is not executable" 2
need /usr/bin/time time
parent=$(pick_dir $((WAL_MB * 6 + 1024))) || die "no non-tmpfs directory with room (set BENCH_DIR)" 2
export TMPDIR=$parent TK_PG_REPLICATION=1
# shellcheck source=../tests/harness/lib.sh
source "$here/tests/harness/lib.sh"
tk_tmpdir
WORK=$TK_TMP
export HOME=$WORK PGWARD_AUDIT_LOG=$WORK/audit.log NO_PROGRESS=1
SIDE=$WORK/pgside && mkdir -p "$SIDE" && chown postgres: "$SIDE" && chmod 700 "$SIDE"
cd "$SIDE"
AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --)
echo "walfetch bench: recovery of ${WAL_MB} MiB of pgbench WAL through wal-fetch; load $(cut -d' ' -f1 /proc/loadavg), $(nproc) cores"

pg_start "wal_level = replica" "full_page_writes = on" "max_wal_senders = 5" "max_replication_slots = 5" \
  "max_wal_size = 1GB" "checkpoint_timeout = 60s" "autovacuum = off" >/dev/null || die "pg_start failed"
"$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -i -q -s "$SCALE" postgres >/dev/null 2>&1 || die "pgbench -i"
"$PGWARD" keygen -o "$WORK/backup.key" 2>/dev/null || die "keygen"
R=$("$PGWARD" keygen -y "$WORK/backup.key")
cp "$WORK/backup.key" "$SIDE/backup.key" && chown postgres: "$SIDE/backup.key" && chmod 600 "$SIDE/backup.key"
pg_psql_super -c "create role walrep login replication password 'wr'" >/dev/null
export PGWARD_DB_PASSWORD=wr
DB="postgresql://walrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
REPO=$SIDE/repo
"$PGWARD" wal-stream bench --db "$DB" --repo "$REPO" -r "$R" --wal-flush-interval 1 2>"$WORK/ws.log" &
WS=$!
tk_on_exit "kill -9 $WS 2>/dev/null"
tk_wait_for 30 "the slot" sh -c "[ -n \"\$(psql -X -qtA -h $PG_SOCKDIR -p $PGPORT_TEST -U postgres -d postgres -c \"select 1 from pg_replication_slots where slot_name = 'pgward_bench' and active\")\" ]"
"$PGWARD" backup bench --type=physical --db "$DB" --repo "$REPO" -r "$R" >/dev/null 2>&1 || die "physical backup"
from=$(pg_psql_super -c "select pg_current_wal_lsn() - '0/0'")
"$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -n -c 4 -j 2 -T 3600 postgres >/dev/null 2>&1 &
PB=$!
until [ $(($(pg_psql_super -c "select pg_current_wal_lsn() - '0/0'") - from)) -ge $((WAL_MB << 20)) ]; do sleep 0.5; done
kill -TERM $PB; wait $PB 2>/dev/null || true
hist=$(pg_psql_super -c "select count(*) from pgbench_history")
end=$(pg_psql_super -c "select pg_switch_wal() - '0/0'")
for ((i = 0; i < 1200; i++)); do
  d=$("$PGWARD" wal-list bench --repo "$REPO" --output=json | sed -n 's/.*"to_lsn": "\([0-9A-F]*\)\/\([0-9A-F]*\)".*/\1 \2/p' | tail -n1)
  [ -n "$d" ] && [ $((16#${d% *} * 4294967296 + 16#${d#* })) -ge "$end" ] && break
  sleep 0.1
done
kill -TERM $WS; wait $WS || die "wal-stream did not exit 0"
chown -R postgres: "$REPO"
segs=$(find "$REPO/bench/wal" -name '*.zst.age' ! -name '*.partial.*' | wc -l)
echo "WAL: $(((end - from) >> 20)) MiB after the base backup ($segs segments stored); pgbench_history $hist rows"

declare -A REC
variants=(p0 p8)
[ -z "$BEFORE" ] || variants=(before p0 p8)
D=$SIDE/r
stop_r() { [ -f "$D/postmaster.pid" ] && "${AS_PG[@]}" "$PG_BINDIR/pg_ctl" -D "$D" -m immediate stop >/dev/null 2>&1; return 0; }
tk_on_exit 'stop_r'
for ((r = 1; r <= ROUNDS; r++)); do
  for v in "${variants[@]}"; do
    stop_r
    rm -rf "$D"
    "${AS_PG[@]}" env PGWARD_AUDIT_LOG="$SIDE/audit.log" "$PGWARD" restore bench --type=physical --target-dir "$D" \
      --repo "$REPO" -i "$SIDE/backup.key" >/dev/null 2>&1 || die "restore"
    bin=$PGWARD extra="--wal-prefetch 0"
    [ "$v" = before ] && bin=$BEFORE extra=""
    [ "$v" = p8 ] && extra="--wal-prefetch 8 --wal-spool $D/pg_wal/pgward-prefetch --log-level info"
    _tk_pick_port
    cat >>"$D/postgresql.auto.conf" <<EOF
restore_command = '/usr/bin/time -a -o $SIDE/fetch.$v -f "%e %U %S" $bin wal-fetch bench %f %p --repo $REPO -i $SIDE/backup.key --trusted-signer $TK_SIGN_PUB $extra 2>>$SIDE/fetch.$v.log'
port = $_TK_PORT
listen_addresses = ''
unix_socket_directories = '$D'
archive_mode = off
EOF
    "${AS_PG[@]}" touch "$D/recovery.signal"
    t0=$EPOCHREALTIME
    "${AS_PG[@]}" "$PG_BINDIR/pg_ctl" -D "$D" -l "$D/recovery.log" -W start >/dev/null 2>&1 || die "$v: start"
    for ((i = 0; i < 36000; i++)); do
      grep -q 'ready to accept connections' "$D/recovery.log" 2>/dev/null && break
      [ $i -gt 100 ] && [ ! -f "$D/postmaster.pid" ] && { tail "$D/recovery.log" >&2; die "$v: recovery failed"; }
      sleep 0.05
    done
    REC[$v]+="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') "
    h=$("${AS_PG[@]}" "$PG_BINDIR/psql" -X -qtA -h "$D" -p "$_TK_PORT" -d postgres -c "select count(*) from pgbench_history")
    [ "$h" = "$hist" ] || die "$v: restored pgbench_history has $h rows, not $hist"
    stop_r
  done
done
echo
printf '%-7s %-22s %8s  %s\n' variant "recovery s (rounds)" median "wal-fetch calls PostgreSQL waited for: n, median wall / user+sys ms"
for v in "${variants[@]}"; do
  med=$(echo "${REC[$v]}" | median)
  # (GNU time adds "Command exited with non-zero status 9" for a file not in the archive)
  grep -E '^[0-9.]+ [0-9.]+ [0-9.]+$' "$SIDE/fetch.$v" >"$SIDE/fetch.$v.ok"
  n=$(wc -l <"$SIDE/fetch.$v.ok")
  w=$(awk '{ print $1 * 1000 }' "$SIDE/fetch.$v.ok" | median)
  c=$(awk '{ print ($2 + $3) * 1000 }' "$SIDE/fetch.$v.ok" | median)
  stats="$n, $w / $c"
  printf '%-7s %-22s %8s  %s\n' "$v" "${REC[$v]}" "$med" "$stats"
done
[ ! -f "$SIDE/fetch.p8.log" ] || echo "p8: $(grep -c 'served from the prefetch spool' "$SIDE/fetch.p8.log") of its calls were served from the spool"
