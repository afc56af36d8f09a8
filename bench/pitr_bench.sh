#!/usr/bin/env bash
# pitr_bench.sh - part of `make bench`: physical backups, point-in-time restore and RPO, pgward
# side by side with the stock pipeline and pgBackRest, in one run (issue 14's bench):
#
#   base backup   A  pgward backup --type=physical (local repository)
#                 B  pg_basebackup -Ft -D - -X fetch -c fast | zstd -3 -T2 | age -r R > file
#                 C  pgbackrest backup --type=full (compress-type=zst, repo1-cipher-type=aes-256-cbc)
#                 targets: A <= 1.1 x B, A <= 1.0 x C
#   PITR restore  the last base backup of each tool + the same pgbench WAL replayed to its end:
#                 D  pgward restore --type=physical --target-dir, then the server with
#                    restore_command = pgward wal-fetch, until recovery has ended
#                 E  pgbackrest restore, then the server (its archive-get), until recovery ended
#                 target: D <= 1.0 x E
#   RPO           wal-stream running under pgbench (a light, rate-limited phase, then a heavy one);
#                 every second: pg_current_wal_lsn() minus the end of the WAL durable in the
#                 repository (wal-list --output=json), as bytes and seconds; max and p99.
#                 targets: p99 <= wal-flush-interval + 2 s; wal-stream's peak RSS <= 64 MiB +
#                 one segment per in-flight upload (it stores one segment at a time)
#
# It starts a throwaway PostgreSQL 15 (tests/harness/lib.sh: TLS, scram; archive_mode on with
# pgBackRest's archive-push, a REPLICATION-only role for pgward and pg_basebackup), generates
# the database of backup_bench.sh (bench/lib.sh gen_db), and removes everything on every exit
# path (the harness's traps: servers, restored servers, wal-stream, pgbench, the scratch dir).
#
# Environment:
#   BENCH_DB_SCALE       database scale (~42 MB per unit; default 24: ~1 GB)
#   BENCH_ROUNDS         rounds of each alternation (default 3)
#   BENCH_PITR_WAL_MB    WAL the heavy pgbench phase writes, replayed by both restores (default 256)
#   BENCH_RPO_SECONDS    length of the light pgbench phase (default 60)
#   BENCH_RPO_RATE       its rate, transactions per second (default 50)
#   BENCH_CLIENTS        pgbench clients of the heavy phase (default 4)
#   BENCH_FLUSH_INTERVAL wal-stream's wal-flush-interval (default 10, pgward's default)
#   BENCH_PGBR_PROCESS_MAX pgBackRest's process-max for backup and restore (default 2: as many
#                        cores as zstd -T2 and pgward's compress-threads use)
#   BENCH_DIR            parent of the scratch dir (default /var/tmp, else build/; never tmpfs)
#   PGWARD, AGE          binaries (default build/src/pgward and age from PATH)
#
# Exit status: 0 when every command succeeded and both restores reached the source's rows (even
# if a target is missed: a benchmark, not a test); 1 on a failed command or a wrong restore; 2 on
# a bad setting or a missing tool.
# shellcheck disable=SC2016 # sh -c '...' scripts expand their own variables
# shellcheck disable=SC2010 # ls | grep on directories whose names pgward and pgBackRest choose
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
AGE=${AGE:-age}
SCALE=${BENCH_DB_SCALE:-24}
ROUNDS=${BENCH_ROUNDS:-3}
WAL_MB=${BENCH_PITR_WAL_MB:-256}
RPO_SECONDS=${BENCH_RPO_SECONDS:-60}
RPO_RATE=${BENCH_RPO_RATE:-50}
CLIENTS=${BENCH_CLIENTS:-4}
FLUSH=${BENCH_FLUSH_INTERVAL:-10}
PGBR_PMAX=${BENCH_PGBR_PROCESS_MAX:-2}
RESULTS_DIR=$here/bench/results
T_BB_PIPE=1.1 T_BB_PGBR=1.0 T_RESTORE=1.0 RSS_BASE_MIB=64
RECOVERY_TIMEOUT=1800 # seconds a restored server may take to end recovery
t_start=$EPOCHREALTIME

die() { printf 'pitr bench: %s\n' "$1" >&2; exit "${2:-1}"; }
export BENCH_NAME="pitr bench"
# shellcheck source=lib.sh
source "$here/bench/lib.sh"
for v in SCALE ROUNDS WAL_MB RPO_SECONDS RPO_RATE CLIENTS FLUSH PGBR_PMAX; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}'; see the header)" 2
done
[ "$(id -u)" -eq 0 ] || die "run it as root: PostgreSQL and pgBackRest run as the postgres OS user (runuser/setpriv)" 2
id -u postgres >/dev/null 2>&1 || die "no 'postgres' OS user (install postgresql-15)" 2

need /usr/bin/time time
need "$AGE" age
need zstd zstd
need jq jq
need openssl openssl
need findmnt util-linux
need setpriv util-linux
need pgbackrest pgbackrest
need "$PG_BINDIR/pg_basebackup" postgresql-client-15
need "$PG_BINDIR/pgbench" postgresql-15
[ -x "$PGWARD" ] || die "no pgward binary at $PGWARD (run 'make build')" 2

# the source (~42 MB/unit), its WAL, ROUNDS backups of each tool (~1/3 each), two restored copies
need_mb=$((SCALE * 42 * 6 + WAL_MB * 4 + 2048))
parent=$(pick_dir "$need_mb") || die "no writable non-tmpfs directory with ${need_mb} MiB free (set BENCH_DIR)" 2

# The harness: throwaway PostgreSQL, cleanup on every exit path (its EXIT/INT/TERM/HUP traps
# run the tk_on_exit hooks, last registered first, then remove TK_TMP = our scratch dir).
export TMPDIR=$parent TK_PG_REPLICATION=1
# shellcheck source=../tests/harness/lib.sh
source "$here/tests/harness/lib.sh"
tk_tmpdir
WORK=$TK_TMP
export HOME=$WORK XDG_STATE_HOME=$WORK/state PGWARD_AUDIT_LOG=$WORK/audit.log NO_PROGRESS=1
# What runs as postgres (pgBackRest, the restores, the restored servers, wal-fetch) lives here.
PGSIDE=$WORK/pgside
mkdir -p "$PGSIDE"/{pgbr/log,pgbr/lock,pgbr/spool,pgbr/repo,state}
chown -R postgres: "$PGSIDE"
chmod 700 "$PGSIDE"
cd "$PGSIDE" # pg_ctl and pgBackRest, run as postgres, want a current directory they can read
AS_PG=(env "PGWARD_AUDIT_LOG=$PGSIDE/audit.log" "XDG_STATE_HOME=$PGSIDE/state" "HOME=$PGSIDE"
  setpriv --reuid=postgres --regid=postgres --init-groups --) # setpriv execs: timed sees the pid

# --- machine facts -------------------------------------------------------------------------
bench_facts
load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "pgward PITR bench: physical base backup, PITR restore and RPO vs pg_basebackup and pgBackRest"
echo "  reproduce: ./bench/pitr_bench.sh   (env: BENCH_DB_SCALE=$SCALE BENCH_ROUNDS=$ROUNDS BENCH_PITR_WAL_MB=$WAL_MB BENCH_RPO_SECONDS=$RPO_SECONDS BENCH_RPO_RATE=$RPO_RATE BENCH_CLIENTS=$CLIENTS BENCH_FLUSH_INTERVAL=$FLUSH BENCH_PGBR_PROCESS_MAX=$PGBR_PMAX)"
echo "  cpu:       $cpu, nproc $ncpu, RAM $mem_mib MiB, kernel $(uname -r)"
echo "  pgward:    $pw_version ($PGWARD, commit $commit$dirty)"
echo "  tools:     $("$PG_BINDIR/pg_basebackup" --version), $(pgbackrest version), $("$AGE" --version 2>&1 | head -n1), $(zstd --version 2>&1 | head -n1)"
echo "  scratch:   $WORK ($fstype)"
echo "  load:      $load_start (1-min load average at start)"
if awk -v l="$load_start" 'BEGIN { exit !(l + 0 >= 0.5) }'; then
  echo "  WARNING:   the machine is busy (load $load_start): other work distorts these timings"
fi
echo

# --- server --------------------------------------------------------------------------------
# Production-like WAL (full_page_writes on: the harness turns it off; a checkpoint a minute, so
# pgbench writes full-page images again after each and reaches its WAL amount in minutes) and
# archiving to pgBackRest; archive_command is set once its stanza exists (after the database is generated,
# so the load's WAL is not archived: the benchmark's WAL starts with the first backup).
PGBR_CONF=$PGSIDE/pgbr/pgbackrest.conf
pg_conf=("shared_buffers = 512MB" "wal_level = replica" "full_page_writes = on"
  "max_wal_senders = 10" "max_replication_slots = 10" "archive_mode = on"
  "archive_command = '/bin/true'" "max_wal_size = 1GB" "checkpoint_timeout = 60s" "maintenance_work_mem = 256MB"
  "autovacuum = off" "log_connections = off" "log_checkpoints = off")
printf 'starting PostgreSQL 15 ... '
pg_start "${pg_conf[@]}" >/dev/null || die "pg_start failed"
echo "ok (port $PGPORT_TEST)"
q() { pg_psql_super -d "${2:-postgres}" -c "$1"; }

t_gen=$EPOCHREALTIME
printf 'generating database "bench" (scale %d) ... ' "$SCALE"
gen_db bench "$SCALE"
pg_psql_super -d bench -c "create table pitr_marker(id int primary key, note text)" >/dev/null
gen_s=$(awk -v a="$t_gen" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
CLUSTER_BYTES=$(q "select sum(pg_database_size(oid)) from pg_database")
CLUSTER_MIB=$(awk -v b="$CLUSTER_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "done in ${gen_s} s (cluster $(human "$CLUSTER_BYTES"))"

# --- pgBackRest: config (0600, postgres), stanza, archive_command ------------------------------
PGBR_PASS=$(openssl rand -hex 32)
cat >"$PGBR_CONF" <<EOF
[global]
repo1-path=$PGSIDE/pgbr/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$PGBR_PASS
repo1-retention-full=99
compress-type=zst
compress-level=3
process-max=$PGBR_PMAX
start-fast=y
log-path=$PGSIDE/pgbr/log
lock-path=$PGSIDE/pgbr/lock
spool-path=$PGSIDE/pgbr/spool
log-level-console=warn
log-level-file=info

[bench]
pg1-path=$PG_DATADIR
pg1-port=$PGPORT_TEST
pg1-socket-path=$PG_SOCKDIR
pg1-user=postgres
EOF
chown postgres: "$PGBR_CONF" && chmod 600 "$PGBR_CONF"
PGBR=(pgbackrest "--config=$PGBR_CONF" --stanza=bench)
printf 'pgBackRest stanza ... '
"${AS_PG[@]}" "${PGBR[@]}" stanza-create >"$WORK/pgbr.out" 2>&1 || { cat "$WORK/pgbr.out" >&2; die "pgbackrest stanza-create failed"; }
q "alter system set archive_command = 'pgbackrest --config=$PGBR_CONF --stanza=bench archive-push %p'" >/dev/null
q "select pg_reload_conf()" >/dev/null
"${AS_PG[@]}" "${PGBR[@]}" check >"$WORK/pgbr.out" 2>&1 || { cat "$WORK/pgbr.out" >&2; die "pgbackrest check failed"; }
echo "ok (archive_command = pgbackrest archive-push)"

# --- pgward: keys, the REPLICATION-only role, wal-stream ----------------------------------------
mkdir -p "$WORK/key" && chmod 700 "$WORK/key"
"$PGWARD" keygen -o "$WORK/key/backup.key" 2>/dev/null || die "pgward keygen failed"
R=$("$PGWARD" keygen -y "$WORK/key/backup.key") || die "pgward keygen -y failed"
KEY=$PGSIDE/backup.key # the identity, for the restores and wal-fetch (run as postgres)
cp "$WORK/key/backup.key" "$KEY" && chown postgres: "$KEY" && chmod 600 "$KEY"
REP_PASS=$(openssl rand -hex 16)
pg_psql_super >/dev/null <<SQL
create role pgward_wal login replication password '$REP_PASS';
SQL
export PGWARD_DB_PASSWORD=$REP_PASS BENCH_REP_PASS=$REP_PASS
URL="postgresql://pgward_wal@localhost:$PGPORT_TEST/postgres?sslmode=verify-full&sslrootcert=$(_tk_url_encode "$PG_CA")"
REPO=$PGSIDE/repo # pgward's repository: wal-stream's WAL and the base backups

WS_PID=
start_walstream() {
  rm -f "$WORK/ws.pid"
  sh -c 'echo $$ >"$0"; exec "$@"' "$WORK/ws.pid" "$PGWARD" wal-stream bench --db "$URL" --repo "$REPO" \
    -r "$R" --wal-flush-interval "$FLUSH" --log-level info 2>>"$WORK/ws.log" &
  local i
  for ((i = 0; i < 100; i++)); do [ -s "$WORK/ws.pid" ] && break; sleep 0.05; done
  read -r WS_PID <"$WORK/ws.pid" || die "wal-stream did not start"
}
stop_walstream() { # SIGTERM: stores the open segment's partial, exits 0
  [ -n "$WS_PID" ] || return 0
  kill -TERM "$WS_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 600; i++)); do kill -0 "$WS_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$WS_PID" 2>/dev/null && { kill -9 "$WS_PID"; die "wal-stream did not stop within 30 s"; }
  WS_PID=
}
tk_on_exit 'if [ -n "$WS_PID" ]; then kill -9 "$WS_PID" 2>/dev/null; fi'
printf 'starting wal-stream (wal-flush-interval %d s) ... ' "$FLUSH"
start_walstream
for ((i = 0; i < 300; i++)); do
  [ -n "$(q "select 1 from pg_replication_slots where slot_name = 'pgward_bench' and active")" ] && break
  kill -0 "$WS_PID" 2>/dev/null || { cat "$WORK/ws.log" >&2; die "wal-stream exited"; }
  sleep 0.1
done
[ -n "$(q "select 1 from pg_replication_slots where slot_name = 'pgward_bench' and active")" ] ||
  { cat "$WORK/ws.log" >&2; die "wal-stream did not start streaming within 30 s"; }
echo "ok (slot pgward_bench)"
echo

# --- A B C: base backups, alternating ------------------------------------------------------------
declare -A SIZE
printf 'base backup, %d rounds:' "$ROUNDS"
for ((r = 1; r <= ROUNDS; r++)); do
  printf ' %d' "$r"
  before=$(ls "$REPO/bench" 2>/dev/null | grep -v '^\.' || true)
  timed A.pgward "$PGWARD" backup bench --type=physical --db "$URL" --repo "$REPO" -r "$R"
  id=$(comm -13 <(echo "$before" | sort) <(ls "$REPO/bench" | grep -v '^\.' | grep -v '^wal$' | sort) | tail -n1)
  { [ -n "$id" ] && [ -f "$REPO/bench/$id/manifest.json" ]; } || die "no new pgward backup in $REPO/bench"
  SIZE[A]=$(du -sb "$REPO/bench/$id" | cut -f1)
  rm -f "$WORK/b.tar.zst.age"
  timed B.pipeline sh -c 'PGPASSWORD=$BENCH_REP_PASS "$0" -d "$1" -w -Ft -D - -X fetch -c fast | zstd -3 -T2 -q | "$2" -r "$3" >"$4"' \
    "$PG_BINDIR/pg_basebackup" "$URL" "$AGE" "$R" "$WORK/b.tar.zst.age"
  SIZE[B]=$(stat -c %s "$WORK/b.tar.zst.age")
  if [ "$r" -eq 1 ]; then # the pipeline's output is a tar of the cluster (outside the timing)
    "$AGE" -d -i "$WORK/key/backup.key" "$WORK/b.tar.zst.age" | zstd -dq | tar -t >"$WORK/b.list" ||
      die "the pipeline's output does not decrypt to a tar"
    grep -q '^PG_VERSION$' "$WORK/b.list" || die "the pipeline's output is not a tar of the cluster"
  fi
  rm -f "$WORK/b.tar.zst.age"
  timed C.pgbackrest "${AS_PG[@]}" "${PGBR[@]}" backup --type=full
  label=$(ls "$PGSIDE/pgbr/repo/backup/bench" | grep -E '^[0-9]{8}-[0-9]{6}F$' | sort | tail -n1)
  SIZE[C]=$(du -sb "$PGSIDE/pgbr/repo/backup/bench/$label" | cut -f1)
done
echo " ok"
# --- RPO: wal-stream under pgbench, sampled every second ------------------------------------------
# A sample: the slot's claim (pg_stat_replication.flush_lsn, what wal-stream reported durable),
# then the repository's end (wal-list) and the local time after it, then pg_current_wal_lsn()
# with the server's clock (the same machine's). In this order neither the byte lag nor the
# second lag is under-estimated, and claim <= repository must always hold.
SAMPLES=$WORK/rpo.samples
: >"$SAMPLES"
: >"$WORK/wl.failures"
echo idle >"$WORK/phase"
sq() { "$PG_BINDIR/psql" -X -qtA -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d postgres -c "$1"; } # cheaper than runuser
sampler() {
  local next now claim dur tdur cur t hwm phase
  next=$(date +%s.%N)
  while [ -e "$WORK/sampling" ]; do
    claim=$(sq "select coalesce((select flush_lsn - '0/0' from pg_stat_replication where application_name = 'pgward-wal' limit 1), 0)" 2>/dev/null) || claim=0
    # a failed wal-list is no end of 0/0 (that counted as a claim ahead): noted, the sample skipped
    if ! dur=$("$PGWARD" wal-list bench --repo "$REPO" --output=json 2>"$WORK/wl.err" | jq -er '.timelines[-1].to_lsn // "0/0"' 2>/dev/null) ||
      ! [[ $dur =~ ^[0-9A-F]+/[0-9A-F]+$ ]]; then
      echo "$(date +%s.%N) $(head -c 300 "$WORK/wl.err" | tr '\n' ' ')" >>"$WORK/wl.failures"
      sleep 0.2
      continue
    fi
    tdur=$(date +%s.%N)
    read -r t cur < <(sq "select extract(epoch from clock_timestamp()), pg_current_wal_lsn() - '0/0'" 2>/dev/null | tr '|' ' ') || true
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$WS_PID/status" 2>/dev/null) || hwm=0
    read -r phase <"$WORK/phase" || phase='?'
    [ -n "${t:-}" ] && echo "$phase $t ${cur:-0} $((16#${dur%/*} * 4294967296 + 16#${dur#*/})) ${claim:-0} ${hwm:-0} $tdur" >>"$SAMPLES"
    next=$(awk -v n="$next" 'BEGIN { printf "%.3f", n + 1 }')
    now=$(date +%s.%N)
    sleep "$(awk -v n="$next" -v t="$now" 'BEGIN { d = n - t; printf "%.3f", (d > 0 ? d : 0) }')" || true
  done
}
SAMPLER_PID='' PGBENCH_PID=''
tk_on_exit 'rm -f "$WORK/sampling"; if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null; fi; if [ -n "$PGBENCH_PID" ]; then kill "$PGBENCH_PID" 2>/dev/null; fi'
touch "$WORK/sampling"
sampler &
SAMPLER_PID=$!
lsn_now() { q "select pg_current_wal_lsn() - '0/0'"; }
wal_start=$(lsn_now)
printf 'RPO: light load (pgbench -R %d, %d s) ... ' "$RPO_RATE" "$RPO_SECONDS"
echo light >"$WORK/phase"
pgbench_ -n -c 2 -j 1 -R "$RPO_RATE" -T "$RPO_SECONDS" bench >"$WORK/pgbench.light" 2>&1 ||
  { cat "$WORK/pgbench.light" >&2; die "pgbench (light) failed"; }
light_tps=$(awk '/^tps = / {printf "%.0f", $3}' "$WORK/pgbench.light")
echo "done ($light_tps tps)"
printf 'RPO + PITR WAL: heavy load (pgbench -c %d, until %d MiB of WAL) ... ' "$CLIENTS" "$WAL_MB"
echo heavy >"$WORK/phase"
heavy_from=$(lsn_now)
t_heavy=$EPOCHREALTIME
"$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -n -c "$CLIENTS" -j 2 -T 3600 bench \
  >"$WORK/pgbench.heavy" 2>&1 &
PGBENCH_PID=$!
until [ $(($(lsn_now) - heavy_from)) -ge $((WAL_MB * 1048576)) ]; do
  kill -0 "$PGBENCH_PID" 2>/dev/null || { cat "$WORK/pgbench.heavy" >&2; die "pgbench (heavy) ended early"; }
  awk -v a="$t_heavy" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a > 1800) }' && die "pgbench wrote less than $WAL_MB MiB of WAL in 30 minutes"
  sleep 0.5
done
kill -TERM "$PGBENCH_PID" 2>/dev/null || true # (SIGINT is ignored by background jobs)
wait "$PGBENCH_PID" 2>/dev/null || true
PGBENCH_PID=
heavy_s=$(awk -v a="$t_heavy" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
heavy_mib=$(awk -v a="$heavy_from" -v b="$(lsn_now)" 'BEGIN { printf "%.0f", (b - a) / 1048576 }')
echo "done ($heavy_mib MiB in $heavy_s s)"
# a quiet tail: only the partials (every wal-flush-interval) bound the loss now
printf 'RPO: quiet tail (%d s) ... ' $((FLUSH + 5))
echo quiet >"$WORK/phase"
q "insert into pitr_marker values (1, 'end of load')" bench >/dev/null
sleep $((FLUSH + 5))
rm -f "$WORK/sampling"
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
echo "done"
ws_hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$WS_PID/status")
ws_segsize=$("$PGWARD" wal-list bench --repo "$REPO" --output=json | jq '.segment_size')

# the end of the WAL both restores replay: a switch, then wait for both archives to hold it
src_hist=$(q "select count(*) from pgbench_history" bench)
src_bal=$(q "select sum(abalance) from pgbench_accounts" bench)
end_seg=$(q "select pg_walfile_name(pg_current_wal_lsn())")
end_lsn=$(q "select pg_switch_wal() - '0/0'")
wal_mib=$(awk -v a="$wal_start" -v b="$end_lsn" 'BEGIN { printf "%.0f", (b - a) / 1048576 }')
for ((i = 0; i < 1200; i++)); do
  a=$(q "select coalesce(last_archived_wal, '') >= '$end_seg' from pg_stat_archiver")
  d=$("$PGWARD" wal-list bench --repo "$REPO" --output=json | jq -r '.timelines[-1].to_lsn')
  [ "$a" = t ] && [ $((16#${d%/*} * 4294967296 + 16#${d#*/})) -ge "$end_lsn" ] && break
  sleep 0.1
done
[ "$a" = t ] || die "pgBackRest did not archive $end_seg within 120 s"
[ $((16#${d%/*} * 4294967296 + 16#${d#*/})) -ge "$end_lsn" ] || die "wal-stream did not store WAL up to the switch within 120 s"
stop_walstream
"$PGWARD" wal-list bench --repo "$REPO" | grep -q 'no gaps' || die "wal-list shows gaps"
chown -R postgres: "$REPO"
echo "WAL to replay: ${wal_mib} MiB since the last base backups (pgbench_history $src_hist rows)"
echo

# --- D E: PITR restore (restore + recovery to the end of the WAL), alternating ----------------------
declare -A S_recover S_total
running=()
stop_restored() { # stop_restored DIR
  [ -f "$1/postmaster.pid" ] && "${AS_PG[@]}" "$PG_BINDIR/pg_ctl" -D "$1" -m immediate -t 30 stop >/dev/null 2>&1
  return 0
}
tk_on_exit 'for d in "${running[@]}"; do stop_restored "$d"; done'
# recover NAME DIR: start the restored server on a free port (socket only) and wait until its
# recovery has ended (promoted: "ready to accept connections"); records the seconds.
recover() {
  local name=$1 d=$2 port t0 i ok=
  _tk_pick_port
  port=$_TK_PORT
  printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\narchive_mode = off\n" "$port" "$d" \
    >>"$d/postgresql.auto.conf"
  running+=("$d")
  t0=$EPOCHREALTIME
  "${AS_PG[@]}" "$PG_BINDIR/pg_ctl" -D "$d" -l "$d/recovery.log" start >/dev/null 2>&1 ||
    { tail -20 "$d/recovery.log" >&2; die "$name: the restored server did not start"; }
  for ((i = 0; i < RECOVERY_TIMEOUT * 20; i++)); do
    if grep -q 'database system is ready to accept connections' "$d/recovery.log" 2>/dev/null; then ok=1; break; fi
    if [ $i -gt 100 ] && { [ ! -f "$d/postmaster.pid" ] || ! kill -0 "$(head -n1 "$d/postmaster.pid")" 2>/dev/null; }; then break; fi
    sleep 0.05
  done
  [ -n "$ok" ] || { tail -20 "$d/recovery.log" >&2; die "$name: recovery did not end"; }
  S_recover[$name]+="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') "
  RPORT=$port
}
check_rows() { # check_rows NAME DIR: the restored cluster has the source's final rows
  local h b m
  h=$("${AS_PG[@]}" "$PG_BINDIR/psql" -X -qtA -h "$2" -p "$RPORT" -d bench -c "select count(*) from pgbench_history")
  b=$("${AS_PG[@]}" "$PG_BINDIR/psql" -X -qtA -h "$2" -p "$RPORT" -d bench -c "select sum(abalance) from pgbench_accounts")
  m=$("${AS_PG[@]}" "$PG_BINDIR/psql" -X -qtA -h "$2" -p "$RPORT" -d bench -c "select count(*) from pitr_marker")
  [ "$h" = "$src_hist" ] && [ "$b" = "$src_bal" ] && [ "$m" = 1 ] ||
    die "$1: the restored cluster differs from the source (history $h/$src_hist, balance $b/$src_bal, marker $m/1)"
}
RW=$PGSIDE/r-pgward RB=$PGSIDE/r-pgbackrest
FETCH="PGWARD_AUDIT_LOG=$PGSIDE/fetch-audit.log $PGWARD wal-fetch bench %f %p --repo $REPO -i $KEY --trusted-signer $TK_SIGN_PUB --wal-spool $RW/pg_wal/pgward-prefetch"
printf 'PITR restore, %d rounds:' "$ROUNDS"
for ((r = 1; r <= ROUNDS; r++)); do
  printf ' %d' "$r"
  rm -rf "$RW"
  timed D.pgward-restore "${AS_PG[@]}" "$PGWARD" restore bench --type=physical --target-dir "$RW" --repo "$REPO" -i "$KEY"
  printf "restore_command = '%s'\n" "$FETCH" >>"$RW/postgresql.auto.conf"
  "${AS_PG[@]}" touch "$RW/recovery.signal"
  recover D.pgward-restore "$RW"
  [ "$r" -eq 1 ] && check_rows pgward "$RW"
  stop_restored "$RW"
  rm -rf "$RB" && "${AS_PG[@]}" mkdir -m 700 "$RB"
  timed E.pgbackrest-restore "${AS_PG[@]}" "${PGBR[@]}" restore "--pg1-path=$RB" --archive-mode=off
  recover E.pgbackrest-restore "$RB"
  [ "$r" -eq 1 ] && check_rows pgbackrest "$RB"
  stop_restored "$RB"
done
echo " ok (both restored clusters hold the source's final rows)"
rm -rf "$RW" "$RB"
echo

# --- report --------------------------------------------------------------------------------------
declare -A MED RSS OWN USR SYS BUSY OTHER
summarize() {
  local n=$1
  MED[$n]=$(median <<<"${S_wall[$n]}")
  RSS[$n]=$(maxof <<<"${S_rss[$n]}")
  OWN[$n]=$(maxof <<<"${S_own[$n]}")
  USR[$n]=$(median <<<"${S_user[$n]}")
  SYS[$n]=$(median <<<"${S_sys[$n]}")
  BUSY[$n]=$(median <<<"${S_busy[$n]}")
  OTHER[$n]=$(median <<<"${S_other[$n]}")
}
for n in A.pgward B.pipeline C.pgbackrest D.pgward-restore E.pgbackrest-restore; do summarize "$n"; done
for n in D.pgward-restore E.pgbackrest-restore; do
  S_total[$n]=$(paste -d ' ' <(tr ' ' '\n' <<<"${S_wall[$n]% }") <(tr ' ' '\n' <<<"${S_recover[$n]% }") |
    awk '{printf "%.3f ", $1 + $2}')
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
le() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 <= t + 0) ? "PASS" : "FAIL" }'; }
mibs() { awk -v mb="$CLUSTER_MIB" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f", mb / s; else print "-" }'; }
walls() { paste -d '' <(tr ' ' '\n' <<<"${S_wall[$1]% }") <(tr ' ' '\n' <<<"${S_mark[$1]% }" | tr -- - ' ') | tr '\n' ' '; }
declare -A DESC=(
  [A.pgward]="pgward backup --type=physical"
  [B.pipeline]="pg_basebackup | zstd -3 -T2 | age"
  [C.pgbackrest]="pgbackrest backup --type=full"
  [D.pgward-restore]="pgward restore --type=physical"
  [E.pgbackrest-restore]="pgbackrest restore")

echo "== base backup: cluster $(human "$CLUSTER_BYTES") (scale $SCALE); wall = median of $ROUNDS; MiB/s = cluster MiB / wall"
echo "   user/sys: CPU s of the command and its children (not the server's); busy: CPU s of the machine;"
echo "   other: unrelated load (busy minus the command and PostgreSQL; runs with >= $OTHER_MAX cores of it: *)"
printf '%-2s %-34s %8s %6s %6s %6s %6s %6s %7s %7s %9s  %s\n' id command "wall s" "MiB/s" user sys busy other maxRSS ownRSS "size MiB" "all wall s"
for n in A.pgward B.pipeline C.pgbackrest; do
  own=-
  [[ $n == A.* ]] && own=$(kib2mib "${OWN[$n]}")
  printf '%-2s %-34s %8s %6s %6s %6s %6s %6s %7s %7s %9s  %s\n' "${n%%.*}" "${DESC[$n]}" "${MED[$n]}" "$(mibs "${MED[$n]}")" \
    "${USR[$n]}" "${SYS[$n]}" "${BUSY[$n]}" "${OTHER[$n]}" "$(kib2mib "${RSS[$n]}")" "$own" \
    "$(awk -v b="${SIZE[${n%%.*}]}" 'BEGIN { printf "%.1f", b / 1048576 }')" "$(walls "$n")"
done
echo "(pgward's and pgBackRest's repository files are fsynced; the pipeline's output file is not. pgBackRest"
echo " reads the data directory as the postgres OS user; pgward and pg_basebackup use a REPLICATION role over TLS.)"
echo
echo "== PITR restore: the last base backup + ${wal_mib} MiB of WAL, replayed to its end; median of $ROUNDS"
printf '%-2s %-34s %9s %9s %9s %6s %6s %7s  %s\n' id command "restore s" "recover s" "total s" user sys maxRSS "all total s"
declare -A TOT REC
for n in D.pgward-restore E.pgbackrest-restore; do
  TOT[$n]=$(median <<<"${S_total[$n]}")
  REC[$n]=$(median <<<"${S_recover[$n]}")
  printf '%-2s %-34s %9s %9s %9s %6s %6s %7s  %s\n' "${n%%.*}" "${DESC[$n]}" "${MED[$n]}" "${REC[$n]}" "${TOT[$n]}" \
    "${USR[$n]}" "${SYS[$n]}" "$(kib2mib "${RSS[$n]}")" "${S_total[$n]% }"
done
echo "(restore s: the command; recover s: start of the server until recovery ended, fetching the WAL through"
echo " pgward wal-fetch or pgbackrest archive-get; user/sys/maxRSS: of the restore command only)"
echo

# RPO: per sample, bytes = current - durable; seconds = at the time the durable end was read, how
# long ago the WAL at it was the current end (interpolated between the samples of
# pg_current_wal_lsn around it; 'ub' is the upper bound: the time since the last sample whose
# current LSN was <= the durable end).
awk -v flush="$FLUSH" '
  { ph[NR] = $1; t[NR] = $2; cur[NR] = $3; dur[NR] = $4; claim[NR] = $5; td[NR] = $7; n = NR }
  END {
    for (i = 1; i <= n; i++) {
      b = cur[i] - dur[i]; if (b < 0) b = 0
      s = 0; ub = 0
      if (b > 0) {
        j = 0
        for (k = i; k >= 1; k--) if (cur[k] <= dur[i]) { j = k; break }
        if (j == 0) { s = td[i] - t[1]; ub = s }    # before the first sample: a lower bound
        else {
          ub = td[i] - t[j]
          if (j < i && cur[j + 1] > cur[j]) s = td[i] - (t[j] + (dur[i] - cur[j]) / (cur[j + 1] - cur[j]) * (t[j + 1] - t[j]))
          else s = ub
          if (s < 0) s = 0
        }
      }
      bad = (claim[i] > dur[i]) ? 1 : 0
      printf "%s %d %.3f %.3f %d\n", ph[i], b, s, ub, bad
    }
  }' "$SAMPLES" >"$WORK/rpo.lags"
pct() { # pct FIELD P [PHASE...]: the P-th percentile (nearest rank) of FIELD over the phases
  local f=$1 p=$2
  shift 2
  awk -v f="$f" -v ph=" $* " 'index(ph, " " $1 " ") { print $f }' "$WORK/rpo.lags" | sort -g |
    awk -v p="$p" '{ a[NR] = $1 } END { if (!NR) { print "-"; exit } k = int(NR * p / 100 + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; print a[k] }'
}
cnt() { awk -v ph=" $* " 'index(ph, " " $1 " ")' "$WORK/rpo.lags" | wc -l; }
claims_bad=$(awk '{ s += $5 } END { print s + 0 }' "$WORK/rpo.lags")
rpo_target=$((FLUSH + 2))
echo "== RPO: pg_current_wal_lsn() - end of the WAL durable in the repository, sampled every second"
printf '%-30s %7s %12s %12s %9s %9s %9s\n' phase samples "p99 bytes" "max bytes" "p99 s" "max s" "max s ub"
declare -A RPO99S RPO99B RPOMAXS RPOMAXB
for ph in light heavy quiet all; do
  set -- "$ph"
  [ "$ph" = all ] && set -- light heavy quiet
  RPO99B[$ph]=$(pct 2 99 "$@") RPOMAXB[$ph]=$(pct 2 100 "$@")
  RPO99S[$ph]=$(pct 3 99 "$@") RPOMAXS[$ph]=$(pct 3 100 "$@")
  case $ph in
    light) label="light (pgbench -R $RPO_RATE, ${light_tps} tps)" ;;
    heavy) label="heavy (pgbench -c $CLIENTS)" ;;
    quiet) label="quiet tail (no writes)" ;;
    *) label="all" ;;
  esac
  printf '%-30s %7s %12s %12s %9s %9s %9s\n' "$label" "$(cnt "$@")" "${RPO99B[$ph]}" "${RPOMAXB[$ph]}" \
    "${RPO99S[$ph]}" "${RPOMAXS[$ph]}" "$(pct 4 100 "$@")"
done
echo "(seconds: how long ago the WAL at the durable end was written, interpolated between samples;"
echo " ub: the upper bound without interpolation. The slot's claim (flush_lsn) was ahead of the repository"
echo " in $claims_bad sample(s): it must be 0)"
wl_failed=$(wc -l <"$WORK/wl.failures")
[ "$wl_failed" -eq 0 ] || echo "  wal-list failed $wl_failed time(s) while sampling (those samples skipped): $(head -n1 "$WORK/wl.failures")"
echo

rss_limit_kib=$(((RSS_BASE_MIB * 1048576 + ws_segsize) / 1024))
declare -A V
V[bb_pipe]=$(ratio "${MED[A.pgward]}" "${MED[B.pipeline]}")
V[bb_pgbr]=$(ratio "${MED[A.pgward]}" "${MED[C.pgbackrest]}")
V[restore]=$(ratio "${TOT[D.pgward-restore]}" "${TOT[E.pgbackrest-restore]}")
rpo_v=$(awk -v s="${RPO99S[all]}" -v t="$rpo_target" 'BEGIN { print (s + 0 <= t + 0) ? "PASS" : "FAIL" }')
rss_v=$([ "$ws_hwm" -le "$rss_limit_kib" ] && echo PASS || echo FAIL)
echo "== targets (issue 14; ratios of medians taken in this run)"
printf '  base backup    %6sx %-4s pgward / pg_basebackup | zstd | age (target <= %sx)\n' "${V[bb_pipe]}" "$(le "${V[bb_pipe]}" $T_BB_PIPE)" $T_BB_PIPE
printf '  base backup    %6sx %-4s pgward / pgBackRest full (target <= %sx)\n' "${V[bb_pgbr]}" "$(le "${V[bb_pgbr]}" $T_BB_PGBR)" $T_BB_PGBR
printf '  PITR restore   %6sx %-4s pgward / pgBackRest, restore + recovery (target <= %sx)\n' "${V[restore]}" "$(le "${V[restore]}" $T_RESTORE)" $T_RESTORE
printf '  RPO p99        %6ss %-4s all phases (target <= wal-flush-interval + 2 = %s s)\n' "${RPO99S[all]}" "$rpo_v" "$rpo_target"
printf '  wal-stream RSS %6s MiB %s (target <= %s MiB + one %s MiB segment in flight = %s MiB)\n' \
  "$(kib2mib "$ws_hwm")" "$rss_v" "$RSS_BASE_MIB" "$((ws_segsize / 1048576))" "$(kib2mib "$rss_limit_kib")"
[ "$claims_bad" -eq 0 ] || echo "  WARNING: wal-stream reported WAL as flushed before the repository held it"
noisy=0
for n in A.pgward B.pipeline C.pgbackrest D.pgward-restore E.pgbackrest-restore; do
  [[ ${S_mark[$n]} != *"*"* ]] || noisy=$((noisy + 1))
done
if [ "$noisy" -gt 0 ]; then
  echo "  WARNING: $noisy command(s) had runs with other load on the machine (*): the ratios are suspect"
fi
echo

# --- JSON ----------------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
[ -f "$RESULTS_DIR/.gitignore" ] || printf '*\n!.gitignore\n' >"$RESULTS_DIR/.gitignore"
total_s=$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
{
  printf '{\n'
  printf '  "date": %s,\n' "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "machine": {"cpu": %s, "nproc": %d, "mem_mib": %d, "scratch_fs": %s, "load_start": %s, "load_end": %s},\n' \
    "$(jstr "$cpu")" "$ncpu" "$mem_mib" "$(jstr "$fstype")" "$load_start" "$(cut -d' ' -f1 /proc/loadavg)"
  printf '  "pgward": {"version": %s, "commit": %s},\n' "$(jstr "$pw_version")" "$(jstr "$commit$dirty")"
  printf '  "params": {"db_scale": %d, "rounds": %d, "pitr_wal_mib": %d, "rpo_seconds": %d, "rpo_rate": %d, "clients": %d, "flush_interval": %d, "pgbackrest_process_max": %d},\n' \
    "$SCALE" "$ROUNDS" "$WAL_MB" "$RPO_SECONDS" "$RPO_RATE" "$CLIENTS" "$FLUSH" "$PGBR_PMAX"
  printf '  "cluster_bytes": %s, "replayed_wal_mib": %s,\n' "$CLUSTER_BYTES" "$wal_mib"
  printf '  "runs": [\n'
  all=(A.pgward B.pipeline C.pgbackrest D.pgward-restore E.pgbackrest-restore)
  for i in "${!all[@]}"; do
    n=${all[$i]}
    extra=""
    [[ $n == [DE].* ]] && extra=$(printf ', "recover_s": %s, "total_s": %s, "median_total_s": %s' "$(jarr "${S_recover[$n]}")" "$(jarr "${S_total[$n]}")" "${TOT[$n]}")
    [[ $n == [ABC].* ]] && extra=$(printf ', "size_bytes": %s' "${SIZE[${n%%.*}]}")
    printf '    {"id": "%s", "command": %s, "median_wall_s": %s, "max_rss_kib": %s, "own_rss_kib": %s, "median_user_s": %s, "median_sys_s": %s, "median_other_load_s": %s, "wall_s": %s%s}%s\n' \
      "$n" "$(jstr "${DESC[$n]}")" "${MED[$n]}" "${RSS[$n]}" "${OWN[$n]}" "${USR[$n]}" "${SYS[$n]}" "${OTHER[$n]}" \
      "$(jarr "${S_wall[$n]}")" "$extra" "$([ "$i" -lt $((${#all[@]} - 1)) ] && echo ,)"
  done
  printf '  ],\n'
  printf '  "rpo": {'
  first=1
  for ph in light heavy quiet all; do
    printf '%s"%s": {"p99_bytes": %s, "max_bytes": %s, "p99_s": %s, "max_s": %s}' "$([ $first = 1 ] || echo ', ')" \
      "$ph" "${RPO99B[$ph]/-/null}" "${RPOMAXB[$ph]/-/null}" "${RPO99S[$ph]/-/null}" "${RPOMAXS[$ph]/-/null}"
    first=0
  done
  printf ', "claim_ahead_samples": %d, "wal_list_failed_samples": %d, "walstream_rss_kib": %s, "walstream_rss_limit_kib": %s},\n' "$claims_bad" "$wl_failed" "$ws_hwm" "$rss_limit_kib"
  printf '  "targets": {"base_vs_pipeline": {"ratio": %s, "target": %s}, "base_vs_pgbackrest": {"ratio": %s, "target": %s}, "restore_vs_pgbackrest": {"ratio": %s, "target": %s}, "rpo_p99_s": {"value": %s, "target": %s, "verdict": "%s"}, "walstream_rss": {"verdict": "%s"}},\n' \
    "${V[bb_pipe]}" $T_BB_PIPE "${V[bb_pgbr]}" $T_BB_PGBR "${V[restore]}" $T_RESTORE "${RPO99S[all]}" "$rpo_target" "$rpo_v" "$rss_v"
  printf '  "total_runtime_s": %s\n' "$total_s"
  printf '}\n'
} >"$RESULTS_DIR/pitr-latest.json.tmp"
jq . "$RESULTS_DIR/pitr-latest.json.tmp" >/dev/null || die "internal: bad JSON written"
mv "$RESULTS_DIR/pitr-latest.json.tmp" "$RESULTS_DIR/pitr-latest.json"
cp "$SAMPLES" "$RESULTS_DIR/pitr-rpo-samples.txt"
echo "results: ${RESULTS_DIR#"$here"/}/pitr-latest.json (RPO samples: pitr-rpo-samples.txt)   total runtime: ${total_s} s"
