#!/usr/bin/env bash
# backup_bench.sh - part of `make bench`: pgward backup/restore wall time, output size and peak
# memory, side by side with the reference commands of quality.md, in one run, alternating the
# commands (A B C A B C ...). Targets: P1 P2 P3 P4 P5 P7 P8.
#
# It starts a throwaway PostgreSQL 15 (tests/harness/lib.sh, TLS), generates a database like
# quality.md's (pgbench + a text/jsonb table + a mixed table, scaled by BENCH_DB_SCALE), a
# read-only backup role, then times:
#   A  pg_dump -Fc -Z0 > /dev/null                         (the one-stream floor)
#   B  pgward backup to a local repository
#   C  pg_dump -Fc -Z0 | zstd -3 -T2 | age -r R > file      (shell pipeline)
#   D  pg_dump -Fc -Z0 | bzip2 | openssl enc -aes-256-cbc   (seed 003; slow: once by default)
#   pgward restore vs pg_restore from a plain local file (same flags, serial)
#   pgward backup to the test S3 server vs to a local directory
# and pgward's peak RSS on a small database too (memory flat in size).
#
# Every database connection (pgward's and the reference commands') is TCP over TLS to
# localhost with sslmode=verify-full, as the read-only role "backup" (dumps) or the superuser
# (restores); passwords go through the environment, never argv.
#
# Environment:
#   BENCH_DB_SCALE     database scale: pgbench scale N + N*20,000 text/jsonb rows + N*80,000
#                      mixed rows; about 42 MB per unit (default 20: ~0.84 GB, a ~0.63 GB raw
#                      dump, about 3 minutes in all; 45: ~1.9 GB, quality.md's reference size)
#   BENCH_SMALL_SCALE  scale of the small database for the memory-flatness check (default 3,
#                      ~0.13 GB)
#   BENCH_ROUNDS       rounds of each alternation (default 3)
#   BENCH_SEED003      once (default): time the seed 003 pipeline once; all: every round;
#                      0: skip it (no P3)
#   BENCH_RESTORE      1 (default) measure P5 (restore); 0 to skip
#   BENCH_S3           1 (default) measure P8 (S3 server); 0 to skip
#   BENCH_DIR          parent directory for the scratch dir (default: /var/tmp, else build/;
#                      never tmpfs). PostgreSQL's data directory is there too.
#   PGWARD, AGE        binaries (default build/src/pgward and age from PATH)
#
# Exit status: 0 when every command succeeded (even if a target is missed: this is a
# benchmark, not a test); 1 on a failed command or a wrong restore; 2 on a bad setting or a
# missing tool that cannot be installed.
# shellcheck disable=SC2016 # sh -c '...' scripts expand their own variables
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
AGE=${AGE:-age}
SCALE=${BENCH_DB_SCALE:-20}
SMALL_SCALE=${BENCH_SMALL_SCALE:-3}
ROUNDS=${BENCH_ROUNDS:-3}
SEED003=${BENCH_SEED003:-once}
DO_RESTORE=${BENCH_RESTORE:-1}
DO_S3=${BENCH_S3:-1}
RESULTS_DIR=$here/bench/results
P1_TARGET=1.3 P2_TARGET=0.9 P3_TARGET=0.2 P4_TARGET=1.02 P5_TARGET=1.15 P8_TARGET=1.3
P7_RSS_MIB=64
t_start=$EPOCHREALTIME

die() { printf 'backup bench: %s\n' "$1" >&2; exit "${2:-1}"; }
export BENCH_NAME="backup bench"
# shellcheck source=lib.sh
source "$here/bench/lib.sh"
for v in SCALE SMALL_SCALE ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v} must be a positive integer (got '${!v}')" 2
done
case $SEED003 in once | all | 0) ;; *) die "BENCH_SEED003 must be once, all or 0 (got '$SEED003')" 2 ;; esac
case $DO_RESTORE$DO_S3 in [01][01]) ;; *) die "BENCH_RESTORE and BENCH_S3 must be 0 or 1" 2 ;; esac

need /usr/bin/time time
need "$AGE" age
need zstd zstd
need bzip2 bzip2
need openssl openssl
need jq jq
need findmnt util-linux
need "$PG_BINDIR/pg_dump" postgresql-client-15
need "$PG_BINDIR/pgbench" postgresql-15 # pgbench ships in the server package on Debian 12
[ -x "$PGWARD" ] || die "no pgward binary at $PGWARD (run 'make build')" 2

# --- scratch dir on a real disk (PostgreSQL's data, dumps, repositories) -------------------
# ~41 MB of database per scale unit; the source, two restore targets, the raw dump, its
# zstd copy and the outputs of B, C and D at most at once.
need_mb=$((SCALE * 250 + SMALL_SCALE * 250 + 1024))
parent=$(pick_dir "$need_mb") || die "no writable non-tmpfs directory with ${need_mb} MiB free (set BENCH_DIR)" 2

# The harness: throwaway PostgreSQL (and S3 server), cleanup on every exit path. Its EXIT/INT/
# TERM traps remove TK_TMP, which is our scratch dir (no trap of our own: see its README).
export TMPDIR=$parent
# shellcheck source=../tests/harness/lib.sh
source "$here/tests/harness/lib.sh"
# shellcheck source=../tests/harness/sample.sh
source "$here/tests/harness/sample.sh"
if [ "$DO_S3" = 1 ]; then
  # shellcheck source=../tests/harness/s3.sh
  source "$here/tests/harness/s3.sh"
fi
tk_tmpdir
WORK=$TK_TMP
export HOME=$WORK XDG_STATE_HOME=$WORK/state PGWARD_AUDIT_LOG=$WORK/audit.log NO_PROGRESS=1

# --- machine facts -------------------------------------------------------------------------
bench_facts
age_version=$("$AGE" --version 2>&1 | head -n1)
zstd_version=$(zstd --version 2>&1 | head -n1)
case $SEED003 in
  once) seed_note="once, in the middle round" ;;
  all) seed_note="every round" ;;
  *) seed_note="skipped" ;;
esac

echo "pgward backup bench: backup/restore wall time, size and peak memory vs the reference commands"
echo "  reproduce: make bench   (env: BENCH_DB_SCALE=$SCALE BENCH_SMALL_SCALE=$SMALL_SCALE BENCH_ROUNDS=$ROUNDS BENCH_SEED003=$SEED003 BENCH_RESTORE=$DO_RESTORE BENCH_S3=$DO_S3 BENCH_DIR=)"
echo "  cpu:       $cpu, nproc $ncpu, RAM $mem_mib MiB, kernel $kernel"
echo "  pgward:    $pw_version ($PGWARD, commit $commit$dirty)"
echo "  tools:     $("$PG_BINDIR/pg_dump" --version), $age_version, $zstd_version"
echo "  scratch:   $WORK ($fstype)"
load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "  load:      $load_start (1-min load average at start)"
if awk -v l="$load_start" 'BEGIN { exit !(l + 0 >= 0.5) }'; then
  echo "  WARNING:   the machine is busy (load $load_start): other work distorts these timings;"
  echo "             rerun on a quiet machine (see 'busy' below: CPU s of the whole machine per run)"
fi
echo "  method:    $ROUNDS rounds, commands alternated within each round (A B C ...), after a"
echo "             warm-up; sync + CHECKPOINT before each run; all connections TLS verify-full"
echo "             to localhost; wall = median over rounds; max RSS = max over rounds"
echo "             (/usr/bin/time %M: the largest process of the command's tree, e.g. pg_dump);"
echo "             own RSS = pgward's own VmHWM, sampled every 0.1 s; seed 003: $seed_note"
echo

# --- server and databases ------------------------------------------------------------------
# Extra server settings for a fast load and stable timings (the harness already sets
# fsync=off, synchronous_commit=off, full_page_writes=off). wal_level=minimal lets the
# restores' CREATE TABLE + COPY in one transaction skip WAL, for pg_restore and pgward alike.
pg_conf=("shared_buffers = 512MB" "wal_level = minimal" "max_wal_senders = 0"
  "max_wal_size = 16GB" "checkpoint_timeout = 1h" "maintenance_work_mem = 256MB"
  "autovacuum = off" "log_connections = off")
printf 'starting PostgreSQL 15 ... '
pg_start "${pg_conf[@]}" >/dev/null || die "pg_start failed"
echo "ok (port $PGPORT_TEST)"


BACKUP_PASS=$(openssl rand -hex 16)
pg_psql_super >/dev/null <<SQL
create role backup login password '$BACKUP_PASS' bypassrls;
grant pg_read_all_data to backup;
SQL

t_gen=$EPOCHREALTIME
printf 'generating database "bench" (scale %d) and "small" (scale %d) ... ' "$SCALE" "$SMALL_SCALE"
gen_db bench "$SCALE"
gen_db small "$SMALL_SCALE"
gen_s=$(awk -v a="$t_gen" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
DB_BYTES=$(db_size bench)
SMALL_DB_BYTES=$(db_size small)
echo "done in ${gen_s} s"
tables=$(pg_psql_super -d bench -F ' ' -c "select relname, pg_total_relation_size(oid), reltuples::bigint from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace and reltuples > 0 order by 2 desc")
echo "  bench: $(human "$DB_BYTES") ($(awk '{printf "%s%s %s rows", (NR>1?", ":""), $1, $3}' <<<"$tables"))"
echo "  small: $(human "$SMALL_DB_BYTES")"

# --- keys, URLs, repositories --------------------------------------------------------------
mkdir -p "$WORK/key" && chmod 700 "$WORK/key"
"$PGWARD" keygen -o "$WORK/key/backup.key" 2>/dev/null || die "pgward keygen failed"
R=$("$PGWARD" keygen -y "$WORK/key/backup.key") || die "pgward keygen -y failed"
[[ $R == age1* ]] || die "unexpected recipient '$R'"
ca_enc=$(_tk_url_encode "$PG_CA")
url() { # url ROLE DB [verify-full in the URL: pg_dump has no such default]
  printf 'postgresql://%s@localhost:%s/%s?sslmode=verify-full&sslrootcert=%s' "$1" "$PGPORT_TEST" "$2" "$ca_enc"
}
# pgward's own default is verify-full; it gets the same URL.
REPO_B=$WORK/repo-local     # B: emptied between runs (outside the timing)
REPO_R=$WORK/repo-restore   # the backup that P5 restores
REPO_S=$WORK/repo-small
DUMP=$WORK/raw.dump         # plain pg_dump -Fc -Z0 file: P4's and P5's reference input
D_PASS=$(openssl rand -hex 16)

# Passwords travel in the environment only (never in argv, not even of env or sh -c).
export PGWARD_DB_PASSWORD=$BACKUP_PASS PGWARD_TARGET_PASSWORD=$PG_SUPERPASS
export BENCH_BACKUP_PASS=$BACKUP_PASS BENCH_SUPER_PASS=$PG_SUPERPASS BENCH_D_PASS=$D_PASS
# The commands are arrays, not functions, so `timed` can exec them and watch pgward's own pid.
bk() { # bk DB REPO: sets BK to pgward backup's argv (stdout: the manifest, JSON)
  BK=("$PGWARD" backup --db "$(url backup "$1")" --repo "$2" --recipient "$R" --output json)
}
rs() { # rs REPO TARGETDB: sets RS to pgward restore's argv
  RS=("$PGWARD" restore --repo "$1" -i "$WORK/key/backup.key" --target "$(url postgres "$2")")
}


clear_local() { rm -rf "${1:?}/bench" "${1:?}/small"; }

# --- warm-up: the raw dump (P4/P5 input), the backup P5 restores; caches and hint bits ------
printf 'warm-up (raw dump, one pgward backup) ... '
PGPASSWORD=$BACKUP_PASS "$PG_BINDIR/pg_dump" -Fc -Z0 --no-password -d "$(url backup bench)" -f "$DUMP"
RAW_BYTES=$(stat -c %s "$DUMP")
RAW_MIB=$(awk -v b="$RAW_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
bk bench "$REPO_R"
"${BK[@]}" >"$WORK/restore-backup.json" 2>"$WORK/err" ||
  { cat "$WORK/err" >&2; die "pgward backup (warm-up) failed"; }
ZSTD_BYTES=$(zstd -3 -T2 -q -c "$DUMP" | wc -c)
echo "done (raw custom dump $(human "$RAW_BYTES"))"

# --- backup: A B C [D], alternating ---------------------------------------------------------
mid=$(((ROUNDS + 1) / 2))
printf 'backup, %d rounds:' "$ROUNDS"
for ((r = 1; r <= ROUNDS; r++)); do
  printf ' %d' "$r"
  timed A.pg_dump sh -c 'PGPASSWORD=$BENCH_BACKUP_PASS exec "$0" -Fc -Z0 --no-password -d "$1" >/dev/null' \
    "$PG_BINDIR/pg_dump" "$(url backup bench)"
  clear_local "$REPO_B"
  bk bench "$REPO_B"
  timed B.pgward-backup "${BK[@]}"
  cp "$WORK/out.B.pgward-backup" "$WORK/b.json"
  rm -f "$WORK/c.age"
  timed C.pipeline sh -c 'PGPASSWORD=$BENCH_BACKUP_PASS "$0" -Fc -Z0 --no-password -d "$1" | zstd -3 -T2 -q | "$2" -r "$3" >"$4"' \
    "$PG_BINDIR/pg_dump" "$(url backup bench)" "$AGE" "$R" "$WORK/c.age"
  C_BYTES=$(stat -c %s "$WORK/c.age")
  if [ "$SEED003" = all ] || { [ "$SEED003" = once ] && [ "$r" -eq "$mid" ]; }; then
    rm -f "$WORK/d.enc"
    printf '(+seed 003)'
    timed D.seed003 sh -c 'PGPASSWORD=$BENCH_BACKUP_PASS "$0" -Fc -Z0 --no-password -d "$1" | bzip2 | openssl enc -aes-256-cbc -pbkdf2 -pass env:BENCH_D_PASS >"$2"' \
      "$PG_BINDIR/pg_dump" "$(url backup bench)" "$WORK/d.enc"
    D_BYTES=$(stat -c %s "$WORK/d.enc")
    rm -f "$WORK/d.enc"
  fi
done
echo " ok"
rm -f "$WORK/c.age"
B_DATA_BYTES=$(jq '[.objects[] | select(.name | startswith("data.")) | .size] | add' "$WORK/b.json")
B_ALL_BYTES=$(jq '[.objects[].size] | add' "$WORK/b.json")
B_RAW=$(jq '.raw_bytes' "$WORK/b.json")
B_DUMP_S=$(jq '.dump_seconds * 100 | round / 100' "$WORK/b.json")
B_DUR_S=$(jq '.duration_seconds * 100 | round / 100' "$WORK/b.json")
clear_local "$REPO_B"

# --- restore: pgward restore vs pg_restore from the plain local file ------------------------
same_rows=skipped
if [ "$DO_RESTORE" = 1 ]; then
  src_rows=$(pg_row_counts bench)
  printf 'restore, %d rounds:' "$ROUNDS"
  for ((r = 1; r <= ROUNDS; r++)); do
    printf ' %d' "$r"
    pg_psql_super -c "create database r_pgward" >/dev/null
    rs "$REPO_R" r_pgward
    timed E.pgward-restore "${RS[@]}"
    if [ "$r" -eq 1 ]; then
      [ "$(pg_row_counts r_pgward)" = "$src_rows" ] || die "pgward restore: row counts differ from the source"
    fi
    pg_psql_super -c "drop database r_pgward" >/dev/null
    pg_psql_super -c "create database r_ref" >/dev/null
    timed F.pg_restore sh -c 'PGPASSWORD=$BENCH_SUPER_PASS exec "$0" --single-transaction --exit-on-error --no-password -d "$1" "$2"' \
      "$PG_BINDIR/pg_restore" "$(url postgres r_ref)" "$DUMP"
    if [ "$r" -eq 1 ]; then
      [ "$(pg_row_counts r_ref)" = "$src_rows" ] || die "pg_restore: row counts differ from the source"
      same_rows=yes
    fi
    pg_psql_super -c "drop database r_ref" >/dev/null
  done
  echo " ok (row counts of both restores match the source)"
fi

# --- memory flatness: the small database -----------------------------------------------------
printf 'small database (memory flatness), %d rounds:' "$ROUNDS"
bk small "$REPO_S"
"${BK[@]}" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; die "pgward backup (small) failed"; }
for ((r = 1; r <= ROUNDS; r++)); do
  printf ' %d' "$r"
  bk small "$REPO_B"
  timed small.pgward-backup "${BK[@]}"
  clear_local "$REPO_B"
  if [ "$DO_RESTORE" = 1 ]; then
    pg_psql_super -c "create database r_small" >/dev/null
    rs "$REPO_S" r_small
    timed small.pgward-restore "${RS[@]}"
    pg_psql_super -c "drop database r_small" >/dev/null
  fi
done
echo " ok"

# --- S3: pgward backup to the test S3 server vs to a local directory ------------------------
if [ "$DO_S3" = 1 ]; then
  printf 'starting the S3 test server ... '
  s3_start >/dev/null || die "s3_start failed (see above)"
  export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
  S3_REPO="s3://$S3_BUCKET_PLAIN/bench"
  s3o=(--s3-endpoint "$S3_ENDPOINT")
  echo "ok ($S3_ENDPOINT, memstore $((TK_S3_MEM_BYTES / 1048576)) MiB)"
  printf 'S3 vs local, %d rounds:' "$ROUNDS"
  for ((r = 1; r <= ROUNDS; r++)); do
    printf ' %d' "$r"
    clear_local "$REPO_B"
    bk bench "$REPO_B"
    timed G.pgward-backup-local "${BK[@]}"
    bk bench "$S3_REPO"
    timed H.pgward-backup-s3 "${BK[@]}" "${s3o[@]}"
    "$PGWARD" list --repo "$S3_REPO" "${s3o[@]}" | grep -q complete || die "no complete backup listed on S3"
    # memstore keeps objects in RAM: remove them (outside the timing)
    "$PGWARD" repo ls --repo "$S3_REPO" "${s3o[@]}" | awk '{print $2}' | while read -r k; do
      [ -n "$k" ] && "$PGWARD" repo rm "$k" --repo "$S3_REPO" "${s3o[@]}" >/dev/null
    done
    [ -z "$("$PGWARD" repo ls --repo "$S3_REPO" "${s3o[@]}")" ] || die "S3 objects left after repo rm"
  done
  clear_local "$REPO_B"
  echo " ok"
  s3_stop
fi
echo

# --- report --------------------------------------------------------------------------------
mibs() { awk -v mb="$RAW_MIB" -v s="$1" 'BEGIN { if (s > 0) printf "%.0f", mb / s; else print "-" }'; }
declare -A MED RSS OWN USR SYS BUSY OTHER
summarize() {
  local n=$1
  BUSY[$n]=$(median <<<"${S_busy[$n]}")
  OTHER[$n]=$(median <<<"${S_other[$n]}")
  MED[$n]=$(median <<<"${S_wall[$n]}")
  RSS[$n]=$(maxof <<<"${S_rss[$n]}")
  OWN[$n]=$(maxof <<<"${S_own[$n]}")
  USR[$n]=$(median <<<"${S_user[$n]}")
  SYS[$n]=$(median <<<"${S_sys[$n]}")
}
rows=(A.pg_dump B.pgward-backup C.pipeline)
[ -n "${S_wall[D.seed003]:-}" ] && rows+=(D.seed003)
[ "$DO_RESTORE" = 1 ] && rows+=(E.pgward-restore F.pg_restore)
[ "$DO_S3" = 1 ] && rows+=(G.pgward-backup-local H.pgward-backup-s3)
small_rows=(small.pgward-backup)
[ "$DO_RESTORE" = 1 ] && small_rows+=(small.pgward-restore)
for n in "${rows[@]}" "${small_rows[@]}"; do summarize "$n"; done
declare -A DESC=(
  [A.pg_dump]="pg_dump -Fc -Z0 > /dev/null"
  [B.pgward-backup]="pgward backup -> local repo"
  [C.pipeline]="pg_dump | zstd -3 -T2 | age > file"
  [D.seed003]="pg_dump | bzip2 | openssl enc > file"
  [E.pgward-restore]="pgward restore -> empty db"
  [F.pg_restore]="pg_restore -d (plain local file)"
  [G.pgward-backup-local]="pgward backup -> local repo"
  [H.pgward-backup-s3]="pgward backup -> S3 (RGW)"
  [small.pgward-backup]="pgward backup (small db)"
  [small.pgward-restore]="pgward restore (small db)")

echo "== database \"bench\": $(human "$DB_BYTES"), raw custom dump $(human "$RAW_BYTES") (scale $SCALE)"
echo "   wall: median of $ROUNDS (seed 003: $seed_note); MiB/s = raw dump MiB / wall;"
echo "   user/sys: CPU s of the command and its children; busy: CPU s of the whole machine during the"
echo "   run ($ncpu cores: $ncpu x wall when saturated); other: busy minus the command, PostgreSQL and the"
echo "   S3 server, i.e. unrelated load (a run with >= $OTHER_MAX cores of it is marked *); RSS in MiB"
printf '%-2s %-37s %8s %6s %6s %6s %6s %6s %7s %7s  %s\n' id command "wall s" "MiB/s" "user" "sys" "busy" "other" maxRSS ownRSS "all wall s"
noisy=0
for n in "${rows[@]}"; do
  own=-
  [[ $n == *pgward* ]] && own=$(kib2mib "${OWN[$n]}")
  walls=$(paste -d '' <(tr ' ' '\n' <<<"${S_wall[$n]% }") <(tr ' ' '\n' <<<"${S_mark[$n]% }" | tr -- - ' ') | tr '\n' ' ')
  printf '%-2s %-37s %8s %6s %6s %6s %6s %6s %7s %7s  %s\n' "${n%%.*}" "${DESC[$n]}" "${MED[$n]}" "$(mibs "${MED[$n]}")" \
    "${USR[$n]}" "${SYS[$n]}" "${BUSY[$n]}" "${OTHER[$n]}" "$(kib2mib "${RSS[$n]}")" "$own" "${walls% }"
  [[ ${S_mark[$n]} != *"*"* ]] || noisy=$((noisy + 1))
done
echo "(pgward's repository writes are fsynced; C's and D's output files are not.)"
if [ "$noisy" -gt 0 ]; then
  echo "WARNING: $noisy command(s) had runs with other load on the machine (*): their medians, and the"
  echo "         ratios built on them, are suspect; rerun on a quiet machine or with more rounds"
fi
echo

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
le() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 <= t + 0) ? "PASS" : "FAIL" }'; }
declare -A RATIO VERDICT
setr() { RATIO[$1]=$2; VERDICT[$1]=$(le "$2" "$3"); }
setr P1 "$(ratio "${MED[B.pgward-backup]}" "${MED[A.pg_dump]}")" $P1_TARGET
setr P2 "$(ratio "${MED[B.pgward-backup]}" "${MED[C.pipeline]}")" $P2_TARGET
[ -n "${MED[D.seed003]:-}" ] && setr P3 "$(ratio "${MED[B.pgward-backup]}" "${MED[D.seed003]}")" $P3_TARGET
setr P4 "$(awk -v a="$B_DATA_BYTES" -v b="$ZSTD_BYTES" 'BEGIN { printf "%.4f", a / b }')" $P4_TARGET
[ "$DO_RESTORE" = 1 ] && setr P5 "$(ratio "${MED[E.pgward-restore]}" "${MED[F.pg_restore]}")" $P5_TARGET
[ "$DO_S3" = 1 ] && setr P8 "$(ratio "${MED[H.pgward-backup-s3]}" "${MED[G.pgward-backup-local]}")" $P8_TARGET

echo "== targets (quality.md; ratios of medians taken in this run)"
pr() { # pr ID TARGET TEXT
  [ -n "${RATIO[$1]:-}" ] || { printf '  %-3s %8s %-6s %s\n' "$1" - skip "$3"; return; }
  printf '  %-3s %7sx %-6s %s (target <= %sx)\n' "$1" "${RATIO[$1]}" "${VERDICT[$1]}" "$3" "$2"
}
pr P1 $P1_TARGET "pgward backup / pg_dump -Fc -Z0 > /dev/null (B/A)"
pr P2 $P2_TARGET "pgward backup / pg_dump | zstd -3 -T2 | age (B/C)"
pr P3 $P3_TARGET "pgward backup / seed 003 pipeline (B/D; D $seed_note)"
pr P4 $P4_TARGET "pgward data object / zstd -3 -T2 of the raw dump ($B_DATA_BYTES / $ZSTD_BYTES bytes)"
pr P5 $P5_TARGET "pgward restore / pg_restore --single-transaction from the plain file (E/F)"
pr P8 $P8_TARGET "pgward backup to S3 / to a local directory (H/G)"
echo "  sizes: raw dump $RAW_BYTES, zstd -3 -T2 $ZSTD_BYTES, C (zstd|age) ${C_BYTES:-?}, D (bzip2|openssl) ${D_BYTES:-?},"
echo "         pgward backup $B_ALL_BYTES in all (data object $B_DATA_BYTES); pgward saw $B_RAW raw bytes;"
echo "         its manifest: dump phase ${B_DUMP_S} s of ${B_DUR_S} s"
echo

# P7: every pgward run's tree max RSS <= 64 MiB, and flat between the small and the big db.
echo "== P7: peak memory (max RSS, MiB): small db $(human "$SMALL_DB_BYTES") vs bench db $(human "$DB_BYTES")"
printf '  %-26s %9s %9s %8s  %s\n' command small bench growth verdict
p7=PASS
flatv() { awk -v s="$1" -v b="$2" 'BEGIN { print (b - s <= 2048 || b <= s * 1.10) ? "flat" : "GROWS" }'; }
p7row() { # p7row LABEL SMALLNAME BIGNAME
  local s=${RSS[$2]} b=${RSS[$3]} so=${OWN[$2]} bo=${OWN[$3]} f v
  f=$(flatv "$s" "$b")
  v=$f
  if [ "$b" -le $((P7_RSS_MIB * 1024)) ]; then v+=", <= ${P7_RSS_MIB} MiB"; else v+=", > ${P7_RSS_MIB} MiB"; fi
  [ "$f" = flat ] && [ "$b" -le $((P7_RSS_MIB * 1024)) ] || p7=FAIL
  printf '  %-26s %9s %9s %+8.1f  %s  (pgward itself: %s -> %s)\n' "$1" "$(kib2mib "$s")" "$(kib2mib "$b")" \
    "$(awk -v s="$s" -v b="$b" 'BEGIN { printf "%.1f", (b - s) / 1024 }')" "$v" "$(kib2mib "$so")" "$(kib2mib "$bo")"
}
p7row "pgward backup (local)" small.pgward-backup B.pgward-backup
[ "$DO_RESTORE" = 1 ] && p7row "pgward restore" small.pgward-restore E.pgward-restore
if [ "$DO_S3" = 1 ]; then
  b=${RSS[H.pgward-backup-s3]}
  v=$([ "$b" -le $((P7_RSS_MIB * 1024)) ] && echo "<= ${P7_RSS_MIB} MiB" || echo "> ${P7_RSS_MIB} MiB")
  [ "$b" -le $((P7_RSS_MIB * 1024)) ] || p7=FAIL
  printf '  %-26s %9s %9s %8s  %s  (pgward itself: %s)\n' "pgward backup (S3)" - "$(kib2mib "$b")" - "$v" "$(kib2mib "${OWN[H.pgward-backup-s3]}")"
fi
printf '  for scale: pg_dump alone %s MiB\n' "$(kib2mib "${RSS[A.pg_dump]}")"
echo "  P7 (every pgward run <= ${P7_RSS_MIB} MiB incl. its pg_dump/pg_restore child, and flat in size): $p7"
echo

# --- JSON ----------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
[ -f "$RESULTS_DIR/.gitignore" ] || printf '*\n!.gitignore\n' >"$RESULTS_DIR/.gitignore"
total_s=$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
load_end=$(cut -d' ' -f1 /proc/loadavg)
{
  printf '{\n'
  printf '  "date": %s,\n' "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "machine": {"cpu": %s, "nproc": %d, "mem_mib": %d, "kernel": %s, "scratch_fs": %s, "load_start": %s, "load_end": %s},\n' \
    "$(jstr "$cpu")" "$ncpu" "$mem_mib" "$(jstr "$kernel")" "$(jstr "$fstype")" "$load_start" "$load_end"
  printf '  "pgward": {"version": %s, "commit": %s},\n' "$(jstr "$pw_version")" "$(jstr "$commit$dirty")"
  printf '  "params": {"db_scale": %d, "small_scale": %d, "rounds": %d, "seed003": "%s", "restore": %s, "s3": %s},\n' \
    "$SCALE" "$SMALL_SCALE" "$ROUNDS" "$SEED003" "$DO_RESTORE" "$DO_S3"
  printf '  "database": {"bytes": %s, "raw_dump_bytes": %s, "small_bytes": %s, "generate_s": %s},\n' \
    "$DB_BYTES" "$RAW_BYTES" "$SMALL_DB_BYTES" "$gen_s"
  printf '  "sizes": {"zstd3_bytes": %s, "pipeline_bytes": %s, "seed003_bytes": %s, "pgward_data_bytes": %s, "pgward_total_bytes": %s},\n' \
    "$ZSTD_BYTES" "${C_BYTES:-null}" "${D_BYTES:-null}" "$B_DATA_BYTES" "$B_ALL_BYTES"
  printf '  "runs": [\n'
  all=("${rows[@]}" "${small_rows[@]}")
  for i in "${!all[@]}"; do
    n=${all[$i]}
    printf '    {"id": "%s", "command": %s, "median_wall_s": %s, "max_rss_kib": %s, "own_rss_kib": %s, "median_user_s": %s, "median_sys_s": %s, "median_machine_busy_s": %s, "median_other_load_s": %s, "wall_s": %s, "other_load_s": %s, "rss_kib": %s}%s\n' \
      "$n" "$(jstr "${DESC[$n]}")" "${MED[$n]}" "${RSS[$n]}" "${OWN[$n]}" "${USR[$n]}" "${SYS[$n]}" "${BUSY[$n]}" "${OTHER[$n]}" \
      "$(jarr "${S_wall[$n]}")" "$(jarr "${S_other[$n]}")" "$(jarr "${S_rss[$n]}")" "$([ "$i" -lt $((${#all[@]} - 1)) ] && echo ,)"
  done
  printf '  ],\n'
  printf '  "targets": {'
  first=1
  for p in P1 P2 P3 P4 P5 P8; do
    t_var=${p}_TARGET
    [ -n "${RATIO[$p]:-}" ] || continue
    printf '%s"%s": {"ratio": %s, "target": %s, "verdict": "%s"}' "$([ $first = 1 ] || echo ', ')" "$p" "${RATIO[$p]}" "${!t_var}" "${VERDICT[$p]}"
    first=0
  done
  printf ', "P7": {"limit_mib": %d, "verdict": "%s"}},\n' "$P7_RSS_MIB" "$p7"
  printf '  "restore_rows_match": "%s",\n' "$same_rows"
  printf '  "total_runtime_s": %s\n' "$total_s"
  printf '}\n'
} >"$RESULTS_DIR/backup-latest.json.tmp"
jq . "$RESULTS_DIR/backup-latest.json.tmp" >/dev/null || die "internal: bad JSON written"
mv "$RESULTS_DIR/backup-latest.json.tmp" "$RESULTS_DIR/backup-latest.json"
echo "results: ${RESULTS_DIR#"$here"/}/backup-latest.json   total runtime: ${total_s} s"
