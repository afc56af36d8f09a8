# shellcheck shell=bash
# lib.sh - shared by the benchmarks (bench.sh, and those that start a PostgreSQL:
# backup_bench.sh, pitr_bench.sh, physical_quick.sh, walfetch_bench.sh): tool checks, the
# scratch directory, the machine facts of the report's header, the generated database, the timing of one run (wall,
# CPU, busy/other load, peak RSS) and small report helpers. Source it after setting
#   BENCH_NAME (message prefix), here (the source tree) and a die() function;
# timed() needs WORK, pg_psql_super (tests/harness/lib.sh) and PG_DATADIR, and fills the
# S_* arrays it declares. Not executable on its own.

# --- tools: bench-only tools are installed here (tools/deps.sh covers the build and tests) ----
need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "$BENCH_NAME: installing $2 (for $1)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$2" >/dev/null; } ||
      die "could not install $2" 2
    command -v "$1" >/dev/null 2>&1 || die "$2 installed but $1 still not found" 2
  else
    die "missing $1: install it with 'sudo apt-get install -y $2' (or 'sudo make deps')" 2
  fi
}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

# --- machine facts for the report header ------------------------------------------------------
# bench_facts: sets cpu, ncpu, mem_mib, kernel, pw_version ($PGWARD), commit, dirty ("+dirty"
# when the tree has changes) and fstype (of $WORK)
# shellcheck disable=SC2034 # the variables are the caller's
bench_facts() {
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  ncpu=$(nproc)
  mem_mib=$(awk '/^MemTotal/ {printf "%d", $2/1024}' /proc/meminfo)
  kernel=$(uname -r)
  pw_version=$("$PGWARD" --version 2>&1 | head -n1)
  commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=""
  if git -C "$here" status --porcelain 2>/dev/null | grep -q .; then dirty="+dirty"; fi
  fstype=$(findmnt -n -o FSTYPE -T "$WORK")
}

# --- scratch dir on a real disk ------------------------------------------------------------
# pick_dir MIB: the first of $BENCH_DIR, /var/tmp, build/ that is not tmpfs and has MIB free
pick_dir() { # pick_dir NEED_MB
  local d fs avail
  for d in ${BENCH_DIR:-} /var/tmp "$here/build"; do
    if [ -z "$d" ] || [ ! -d "$d" ] || [ ! -w "$d" ]; then continue; fi
    fs=$(findmnt -n -o FSTYPE -T "$d" 2>/dev/null || echo unknown)
    case $fs in tmpfs | ramfs) continue ;; esac
    avail=$(df -P -m "$d" | awk 'NR==2 {print $4}')
    [ "${avail:-0}" -ge "$1" ] || continue
    echo "$d"
    return 0
  done
  return 1
}

# --- the generated database -----------------------------------------------------------------
pgbench_() { "$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres "$@"; }

# gen_db NAME SCALE: pgbench -i -s SCALE (server-side generation) + docs (SCALE*20,000 rows of
# text and jsonb) + mixed (SCALE*80,000 rows of assorted types), loaded concurrently, then
# VACUUM (FREEZE, ANALYZE) so no dump pays for setting hint bits.
gen_db() {
  local db=$1 s=$2 p1 p2 p3 rc=0
  pg_psql_super -c "create database \"$db\"" >/dev/null
  pgbench_ -i -s "$s" -I dtGvp -q "$db" >"$WORK/gen.$db.pgbench" 2>&1 &
  p1=$!
  pg_psql_super -d "$db" >"$WORK/gen.$db.docs" 2>&1 <<SQL &
create table docs(id bigint primary key, title text not null, body text, attrs jsonb);
insert into docs
select g,
  'document ' || g || ' ' || (array['alpha','beta','gamma','delta','omega'])[1 + g % 5],
  concat_ws(' ', w[1 + g % 97], w[1 + (g / 3) % 97], w[1 + (g * 7) % 97], md5(g::text),
    w[1 + (g / 11) % 97], w[1 + (g * 13) % 97], w[1 + (g / 5) % 97], substr(md5((g * 31)::text), 1, 16),
    w[1 + (g * 17) % 97], w[1 + (g / 29) % 97], w[1 + (g * 3) % 97], w[1 + (g / 7) % 97],
    md5((g + 1)::text), w[1 + (g * 5) % 97], w[1 + (g / 13) % 97], w[1 + (g * 11) % 97],
    w[1 + (g / 17) % 97], w[1 + (g * 19) % 97], w[1 + (g / 23) % 97], w[1 + (g * 23) % 97],
    md5((g * 7)::text), md5((g * 3)::text)),
  jsonb_build_object('id', g, 'kind', w[1 + g % 97], 'tags', jsonb_build_array(w[1 + g % 13], w[1 + g % 31]),
    'score', (g % 1000) / 10.0, 'active', g % 3 = 0, 'ref', md5(g::text),
    'created', timestamptz '2024-01-01' + g * interval '1 minute')
from (select array_agg('word' || i || repeat(chr(97 + i % 26), 1 + i % 9)) w
      from generate_series(1, 97) i) words,
     generate_series(1::bigint, $s * 20000) g;
SQL
  p2=$!
  pg_psql_super -d "$db" >"$WORK/gen.$db.mixed" 2>&1 <<SQL &
create table mixed(id bigint primary key, n integer, amount numeric(12,2), ts timestamptz,
  flag boolean, code text, u uuid, f double precision);
insert into mixed
select g, (g * 7919) % 100000, (g % 100000) / 100.0, timestamptz '2020-01-01' + g * interval '17 seconds',
  g % 2 = 0, substr(md5((g * 13)::text), 1, 12), md5(g::text)::uuid, g / 7.0
from generate_series(1::bigint, $s * 80000) g;
create index mixed_ts on mixed(ts);
SQL
  p3=$!
  wait "$p1" || rc=1
  wait "$p2" || rc=1
  wait "$p3" || rc=1
  if [ "$rc" -ne 0 ]; then
    cat "$WORK/gen.$db".* >&2
    die "generating database $db failed"
  fi
  pg_psql_super -d "$db" -c "vacuum (freeze, analyze)" >/dev/null
  # large-object grants (none here; kept so the role setup matches tools/demo.sh)
  pg_psql_super -d "$db" -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" |
    pg_psql_super -d "$db" >/dev/null
}
db_size() { pg_psql_super -c "select pg_database_size('$1')"; }

human() { awk -v b="$1" 'BEGIN { split("B KB MB GB TB", u, " "); i = 1; while (b >= 1000 && i < 5) { b /= 1000; i++ } printf (i == 1 ? "%d %s" : "%.2f %s"), b, u[i] }'; }

# --- timing --------------------------------------------------------------------------------
# Samples per command name, space-separated: wall s, max RSS KiB (tree), own VmHWM KiB, user s,
# sys s, machine busy CPU s, other-load CPU s, and '*' / '-' (run spoiled by other load or not).
declare -A S_wall S_rss S_own S_user S_sys S_busy S_other S_mark
# machine-wide busy CPU in ticks (all processes: the PostgreSQL server, pgward, other load)
busy_ticks() { local _c u n s _i _w q sq st _r; read -r _c u n s _i _w q sq st _r </proc/stat; echo $((u + n + s + q + sq + st)); }
TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)
# CPU ticks of the servers under test: the PostgreSQL postmaster with its reaped children
# (backends that have exited) and its live children, and the Ceph daemons once started.
# busy - (command's CPU) - (servers' CPU) = other load on the machine, which spoils a run.
pticks() { # pticks PID: utime + stime + cutime + cstime of a live process
  local st f
  st=$(<"/proc/$1/stat") 2>/dev/null || { echo 0; return; }
  read -r -a f <<<"${st##*) }"
  echo $((f[11] + f[12] + f[13] + f[14]))
}
ext_ticks() {
  local t=0 pm c pf
  read -r pm <"$PG_DATADIR/postmaster.pid" || pm=
  if [ -n "$pm" ] && [ -r "/proc/$pm/task/$pm/children" ]; then
    t=$((t + $(pticks "$pm")))
    for c in $(<"/proc/$pm/task/$pm/children"); do t=$((t + $(pticks "$c"))); done
  fi
  if [ -n "${CEPH_DIR:-}" ] && [ -d "$CEPH_DIR/run" ]; then
    for pf in "$CEPH_DIR"/run/*.pid; do
      [ -s "$pf" ] && read -r c <"$pf" && t=$((t + $(pticks "$c")))
    done
  fi
  echo "$t"
}
OTHER_MAX=0.15 # cores of other load during a run that mark it with '*'
checkpoint() { pg_psql_super -c checkpoint >/dev/null; sync; }
timed() { # timed NAME CMD... : one measured run; CMD's stdout goes to WORK/out.NAME
  local name=$1
  shift
  checkpoint # neither the server's dirty buffers nor our writeback is charged to the next run
  rm -f "$WORK/pid" "$WORK/hwm"
  local b0 b1 e0 e1
  e0=$(ext_ticks)
  b0=$(busy_ticks)
  local t0=$EPOCHREALTIME t1 tp wp pid h
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time.out" \
    sh -c 'echo $$ >"$0"; exec "$@"' "$WORK/pid" "$@" >"$WORK/out.$name" 2>"$WORK/err" &
  tp=$!
  ( # sampler: the exec'd command's own peak RSS (VmHWM is monotone; keep the last value)
    pid=
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      [ -s "$WORK/pid" ] && read -r pid <"$WORK/pid" && break
      sleep 0.01
    done
    [ -n "$pid" ] || exit 0
    while [ -r "/proc/$pid/status" ]; do
      while read -r k v _; do
        if [ "$k" = VmHWM: ]; then echo "$v" >"$WORK/hwm"; break; fi
      done <"/proc/$pid/status" 2>/dev/null || true
      sleep 0.1
    done
  ) &
  wp=$!
  if ! wait "$tp"; then
    kill "$wp" 2>/dev/null || true
    echo >&2
    echo "backup bench: FAILED: $name: $*" >&2
    sed 's/^/  /' "$WORK/err" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  b1=$(busy_ticks)
  wait "$wp" 2>/dev/null || true # ends by itself within 0.1 s: the command is gone
  e1=$(ext_ticks)
  h=0
  [ -s "$WORK/hwm" ] && read -r h <"$WORK/hwm"
  local m u s
  read -r _ m u s <"$WORK/time.out"
  S_wall[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
  S_rss[$name]+="$m "
  S_own[$name]+="$h "
  S_user[$name]+="$u "
  S_sys[$name]+="$s "
  S_busy[$name]+="$(awk -v a="$b0" -v b="$b1" -v t="$TICKS" 'BEGIN { printf "%.2f", (b - a) / t }') "
  local o
  o=$(awk -v b=$((b1 - b0)) -v e=$((e1 - e0)) -v u="$u" -v s="$s" -v t="$TICKS" \
    'BEGIN { o = (b - e) / t - u - s; printf "%.2f", o < 0 ? 0 : o }')
  S_other[$name]+="$o "
  S_mark[$name]+="$(awk -v o="$o" -v a="$t0" -v b="$t1" -v m="$OTHER_MAX" 'BEGIN { print (o / (b - a) >= m) ? "*" : "-" }') "
}
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { tr ' ' '\n' | awk 'NF' | sort -g | tail -n1; }

kib2mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
jarr() { local x out=""; for x in $1; do out+="${out:+, }$x"; done; printf '[%s]' "$out"; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
