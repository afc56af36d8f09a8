#!/usr/bin/env bash
# physical_quick.sh - a few-minute subset of pitr_bench.sh for working on the physical path:
#
#   base backup  A  pgward backup --type=physical (local repository)
#                B  pg_basebackup -Ft -D - -X fetch -c fast | zstd -3 -T2 | age -r R > file
#                alternating, BENCH_ROUNDS rounds: wall, user + sys CPU s, other load
#                (with PGWARD_BASELINE set: also A0, that binary's backup, in the same rounds, for
#                a before/after taken under the same load)
#   wal-stream   under pgbench -c BENCH_CLIENTS until BENCH_WAL_SEGMENTS segments of WAL were
#                written, then until the repository holds them: peak RSS (VmHWM) and
#                /proc/PID/smaps_rollup of wal-stream (target: 64 MiB + one segment)
#
# No pgBackRest, no restore, no RPO sampling: pitr_bench.sh does those (make bench). Same server
# settings as pitr_bench.sh (full_page_writes on, a checkpoint a minute), archive_command off.
#
# Environment:
#   BENCH_DB_SCALE      database scale (~42 MB per unit; default 6: ~250 MB)
#   BENCH_ROUNDS        base backup rounds (default 3; 0 skips the base backups)
#   BENCH_WAL_SEGMENTS  WAL segments pgbench writes under wal-stream (default 24; 0 skips it)
#   BENCH_CLIENTS       pgbench clients (default 4)
#   BENCH_FLUSH_INTERVAL wal-stream's wal-flush-interval (default 10)
#   BENCH_DIR           parent of the scratch dir (default /var/tmp, else build/; never tmpfs)
#   PGWARD, AGE         binaries (default build/src/pgward and age from PATH)
#   PGWARD_BASELINE     another pgward binary to alternate with (row A0; default: none)
# Run as root (the server runs as the postgres OS user). Exit status: 0 when every command
# succeeded, 1 on a failure, 2 on a bad setting or a missing tool.
# shellcheck disable=SC2016 # sh -c '...' scripts expand their own variables
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
AGE=${AGE:-age}
SCALE=${BENCH_DB_SCALE:-6}
ROUNDS=${BENCH_ROUNDS:-3}
SEGS=${BENCH_WAL_SEGMENTS:-24}
CLIENTS=${BENCH_CLIENTS:-4}
FLUSH=${BENCH_FLUSH_INTERVAL:-10}

die() { printf 'physical quick bench: %s\n' "$1" >&2; exit "${2:-1}"; }
export BENCH_NAME="physical quick bench"
# shellcheck source=lib.sh
source "$here/bench/lib.sh"
for v in SCALE CLIENTS FLUSH; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')" 2
done
for v in ROUNDS SEGS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')" 2
done
[ "$(id -u)" -eq 0 ] || die "run it as root: PostgreSQL runs as the postgres OS user" 2
need /usr/bin/time time
need "$AGE" age
need zstd zstd
need jq jq
need "$PG_BINDIR/pg_basebackup" postgresql-client-15
need "$PG_BINDIR/pgbench" postgresql-15
[ -x "$PGWARD" ] || die "no pgward binary at $PGWARD (run 'make build')" 2
BASE=${PGWARD_BASELINE:-}
[ -z "$BASE" ] || [ -x "$BASE" ] || die "no pgward binary at PGWARD_BASELINE=$BASE" 2

need_mb=$((SCALE * 42 * 4 + SEGS * 16 * 3 + 1024))
parent=$(pick_dir "$need_mb") || die "no writable non-tmpfs directory with ${need_mb} MiB free (set BENCH_DIR)" 2
export TMPDIR=$parent TK_PG_REPLICATION=1
# shellcheck source=../tests/harness/lib.sh
source "$here/tests/harness/lib.sh"
tk_tmpdir
WORK=$TK_TMP
export HOME=$WORK XDG_STATE_HOME=$WORK/state PGWARD_AUDIT_LOG=$WORK/audit.log NO_PROGRESS=1
cd "$WORK"

echo "pgward physical quick bench: base backup vs pg_basebackup | zstd | age; wal-stream peak RSS"
echo "  reproduce: ./bench/physical_quick.sh   (env: BENCH_DB_SCALE=$SCALE BENCH_ROUNDS=$ROUNDS BENCH_WAL_SEGMENTS=$SEGS BENCH_CLIENTS=$CLIENTS BENCH_FLUSH_INTERVAL=$FLUSH)"
echo "  cpu:       $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), nproc $(nproc)"
echo "  pgward:    $PGWARD (commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown))${BASE:+, baseline (A0) $BASE}"
echo "  scratch:   $WORK ($(findmnt -n -o FSTYPE -T "$WORK"))"
echo "  load:      $(cut -d' ' -f1 /proc/loadavg) (1-min load average at start)"

pg_conf=("shared_buffers = 512MB" "wal_level = replica" "full_page_writes = on"
  "max_wal_senders = 10" "max_replication_slots = 10" "max_wal_size = 1GB"
  "checkpoint_timeout = 60s" "maintenance_work_mem = 256MB" "autovacuum = off"
  "log_connections = off" "log_checkpoints = off")
pg_start "${pg_conf[@]}" >/dev/null || die "pg_start failed"
q() { pg_psql_super -d "${2:-postgres}" -c "$1"; }
gen_db bench "$SCALE"
CLUSTER_BYTES=$(q "select sum(pg_database_size(oid)) from pg_database")
echo "  cluster:   $(human "$CLUSTER_BYTES") (scale $SCALE)"
"$PGWARD" keygen -o "$WORK/backup.key" 2>/dev/null || die "pgward keygen failed"
R=$("$PGWARD" keygen -y "$WORK/backup.key")
REP_PASS=$(openssl rand -hex 16)
q "create role pgward_wal login replication password '$REP_PASS'" >/dev/null
export PGWARD_DB_PASSWORD=$REP_PASS BENCH_REP_PASS=$REP_PASS
URL="postgresql://pgward_wal@localhost:$PGPORT_TEST/postgres?sslmode=verify-full&sslrootcert=$(_tk_url_encode "$PG_CA")"
REPO=$WORK/repo
echo

if [ "$ROUNDS" -gt 0 ]; then
  printf 'base backup, %d rounds:' "$ROUNDS"
  for ((r = 1; r <= ROUNDS; r++)); do
    printf ' %d' "$r"
    [ -z "$BASE" ] || timed A0.baseline "$BASE" backup bench --type=physical --db "$URL" --repo "$REPO" -r "$R"
    timed A.pgward "$PGWARD" backup bench --type=physical --db "$URL" --repo "$REPO" -r "$R"
    rm -f "$WORK/b.tar.zst.age"
    timed B.pipeline sh -c 'PGPASSWORD=$BENCH_REP_PASS "$0" -d "$1" -w -Ft -D - -X fetch -c fast | zstd -3 -T2 -q | "$2" -r "$3" >"$4"' \
      "$PG_BINDIR/pg_basebackup" "$URL" "$AGE" "$R" "$WORK/b.tar.zst.age"
    rm -f "$WORK/b.tar.zst.age"
  done
  echo " ok"
  echo "(user/sys: CPU s of the command and its children; other: CPU s of unrelated load during the run,"
  echo " '*' marks a run with >= $OTHER_MAX cores of it; the pipeline's output file is not fsynced)"
  printf '%-2s %-36s %8s %6s %6s %6s %7s  %s\n' id command "wall s" user sys other maxRSS "all wall s (other)"
  rows=(A.pgward B.pipeline)
  [ -z "$BASE" ] || rows=(A0.baseline A.pgward B.pipeline)
  for n in "${rows[@]}"; do
    printf '%-2s %-36s %8s %6s %6s %6s %7s  %s\n' "${n%%.*}" "$n" "$(median <<<"${S_wall[$n]}")" \
      "$(median <<<"${S_user[$n]}")" "$(median <<<"${S_sys[$n]}")" "$(median <<<"${S_other[$n]}")" \
      "$(kib2mib "$(maxof <<<"${S_rss[$n]}")")" \
      "$(paste -d '' <(tr ' ' '\n' <<<"${S_wall[$n]% }") <(tr ' ' '\n' <<<"${S_other[$n]% }" | sed 's/^/(/; s/$/)/') <(tr ' ' '\n' <<<"${S_mark[$n]% }" | tr -- - ' ') | tr '\n' ' ')"
  done
  [ -z "$BASE" ] || printf 'ratio A0/B of medians: %s\n' "$(awk -v a="$(median <<<"${S_wall[A0.baseline]}")" -v b="$(median <<<"${S_wall[B.pipeline]}")" 'BEGIN { printf "%.2f", a / b }')"
  printf 'ratio A/B of medians: %s\n\n' "$(awk -v a="$(median <<<"${S_wall[A.pgward]}")" -v b="$(median <<<"${S_wall[B.pipeline]}")" 'BEGIN { printf "%.2f", a / b }')"
fi

if [ "$SEGS" -gt 0 ]; then
  rm -f "$WORK/ws.pid"
  sh -c 'echo $$ >"$0"; exec "$@"' "$WORK/ws.pid" "$PGWARD" wal-stream bench --db "$URL" --repo "$REPO" \
    -r "$R" --wal-flush-interval "$FLUSH" --log-level info 2>>"$WORK/ws.log" &
  for ((i = 0; i < 100; i++)); do [ -s "$WORK/ws.pid" ] && break; sleep 0.05; done
  read -r WS_PID <"$WORK/ws.pid" || die "wal-stream did not start"
  tk_on_exit 'kill -9 "$WS_PID" 2>/dev/null'
  for ((i = 0; i < 300; i++)); do
    [ -n "$(q "select 1 from pg_replication_slots where slot_name = 'pgward_bench' and active")" ] && break
    kill -0 "$WS_PID" 2>/dev/null || { cat "$WORK/ws.log" >&2; die "wal-stream exited"; }
    sleep 0.1
  done
  from=$(q "select pg_current_wal_lsn() - '0/0'")
  printf 'wal-stream: pgbench -c %d until %d segments of WAL ... ' "$CLIENTS" "$SEGS"
  t0=$EPOCHREALTIME c0=$(pticks "$WS_PID")
  "$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -n -c "$CLIENTS" -j 2 -T 3600 bench \
    >"$WORK/pgbench.out" 2>&1 &
  PB=$!
  tk_on_exit 'kill "$PB" 2>/dev/null'
  until [ $(($(q "select pg_current_wal_lsn() - '0/0'") - from)) -ge $((SEGS * 16777216)) ]; do
    kill -0 "$PB" 2>/dev/null || { cat "$WORK/pgbench.out" >&2; die "pgbench ended early"; }
    sleep 0.5
  done
  kill -TERM "$PB" 2>/dev/null || true
  wait "$PB" 2>/dev/null || true
  end=$(q "select pg_current_wal_lsn() - '0/0'")
  for ((i = 0; i < 1200; i++)); do
    d=$(q "select coalesce((select flush_lsn - '0/0' from pg_stat_replication where application_name = 'pgward-wal' limit 1), 0)")
    [ "$d" -ge "$end" ] && break
    sleep 0.1
  done
  [ "$d" -ge "$end" ] || die "wal-stream did not store the WAL within 120 s"
  t1=$EPOCHREALTIME c1=$(pticks "$WS_PID")
  echo "done ($(((end - from) / 1048576)) MiB of WAL in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s, wal-stream CPU $(awk -v c=$((c1 - c0)) -v t="$TICKS" 'BEGIN { printf "%.2f", c / t }') s)"
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$WS_PID/status")
  echo "wal-stream peak RSS (VmHWM): $(kib2mib "$hwm") MiB (target: 64 + 16 = 80 MiB)"
  echo "wal-stream now (smaps_rollup, KiB):"
  grep -E '^(Rss|Pss_Anon|Pss_File|Anonymous|Private_Dirty)' "/proc/$WS_PID/smaps_rollup" | sed 's/^/  /'
  kill -TERM "$WS_PID"
  for ((i = 0; i < 600; i++)); do kill -0 "$WS_PID" 2>/dev/null || break; sleep 0.05; done
  "$PGWARD" wal-list bench --repo "$REPO" | grep -q 'no gaps' || die "wal-list shows gaps"
fi
