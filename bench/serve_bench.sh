#!/usr/bin/env bash
# serve_bench.sh - part of `make bench` (issue 16): does the service's API cost a backup
# anything? One throwaway PostgreSQL 15 (tests/harness/lib.sh, TLS), a pgbench database
# (BENCH_SERVE_SCALE, default 10: ~150 MB), then, alternating, BENCH_ROUNDS times:
#   A  pgward backup, nothing else running
#   B  the same backup while `pgward serve` (the API on its unix socket, a read token)
#      answers GET /v1/status, /metrics and / in a loop from BENCH_SERVE_CLIENTS keep-alive
#      clients (default 2), each at BENCH_SERVE_RPS requests a second (default 25: far more
#      than a dashboard and a Prometheus scrape; 0: as fast as they can), for the whole backup
# It reports the median wall time of each, the ratio B/A (target: no measurable cost,
# <= 1.05x on a quiet machine), the requests answered per second during B, and the
# daemon's peak RSS (VmHWM) after serving them. A benchmark, not a test: exit 0 when every
# command succeeded, 1 on a failed command, 2 on a bad setting.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export PGWARD=${PGWARD:-$here/build/src/pgward}
SCALE=${BENCH_SERVE_SCALE:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_SERVE_CLIENTS:-2}
RPS=${BENCH_SERVE_RPS:-25} # per client; 0: as fast as it can
die() { printf 'serve bench: %s\n' "$1" >&2; exit "${2:-1}"; }
[[ $RPS =~ ^[0-9]+$ ]] || die "BENCH_SERVE_RPS must be a number (got '$RPS')" 2
for v in SCALE ROUNDS CLIENTS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')" 2
done
[ -x "$PGWARD" ] || die "no pgward binary at $PGWARD (run 'make build')" 2
export TK_NO_WATCHDOG=1 # a benchmark runs as long as it needs; cleanup still runs on exit
# shellcheck source=../tests/harness/lib.sh
source "$here/tests/harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log XDG_STATE_HOME=$TK_TMP/state
cd "$TK_TMP"
pg_start >/dev/null
echo "serve bench: generating the database (pgbench scale $SCALE)"
pg_psql_super -c "create database shop" >/dev/null
"$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -i -s "$SCALE" -q shop \
  >/dev/null 2>&1 || die "pgbench -i failed"
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk-Secret-123' bypassrls;
grant pg_read_all_data to backup;
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
"$PGWARD" serve --new-token bench > bench.tok
TOKEN=$(sed -n 1p bench.tok)
export PGWARD_DB_PASSWORD=bk-Secret-123
mkdir -p repo
conf() { cat > "$1"; chmod 600 "$1"; }
conf c.conf <<C
[global]
repo = $TK_TMP/repo
recipient = $R
$(sed -n 2p bench.tok)
[shop]
db = postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA
# the daemon must not start a job of its own during the bench: its one schedule is far off
expire-schedule = *-01-01 00:00 UTC
C
SOCK=$TK_TMP/state/pgward/api.sock

backup() { # backup -> wall seconds on stdout
  local t0=$EPOCHREALTIME
  "$PGWARD" backup shop --config c.conf --log-level error >/dev/null 2>>bench.err ||
    die "a backup failed: $(tail -1 bench.err)"
  echo "$EPOCHREALTIME - $t0" | bc
}

"$PGWARD" serve --config c.conf --log-level warn 2> d.err &
dpid=$!
tk_on_exit "kill $dpid 2>/dev/null || true"
for ((i = 0; i < 150; i++)); do
  [ -S "$SOCK" ] && break
  kill -0 "$dpid" 2>/dev/null || die "the daemon stopped: $(cat d.err)"
  sleep 0.1
done
[ -S "$SOCK" ] || die "no API socket after 15 s: $(cat d.err)"

# client STOPFILE COUNTFILE: one keep-alive connection GETting the three read resources in
# turn, RPS requests a second (0: as fast as it can), until STOPFILE exists; the count of
# answered requests into COUNTFILE. One python process, not a curl per request: the bench
# measures the daemon, not process start-up on a 2-core machine.
client() {
  python3 - "$SOCK" "$TOKEN" "$1" "$2" "$RPS" <<'PY'
import http.client, os, socket, sys, time
path, tok, stop, countfile, rps = sys.argv[1:]
rps = float(rps)
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.settimeout(10); self.sock.connect(path)
c, n, sent, bad, t0 = C("localhost"), 0, 0, 0, time.monotonic()
c.connect()
open(countfile + ".ready", "w").close() # the backup starts once every client is connected
while not os.path.exists(stop):
    for p in ("/v1/status", "/metrics", "/"):
        c.request("GET", p, headers={"Authorization": "Bearer " + tok})
        r = c.getresponse(); r.read()
        sent += 1
        if r.status == 200:
            n += 1
        else:
            bad += 1
            if bad == 1:
                sys.stderr.write("serve bench: %s answered %d\n" % (p, r.status))
        if rps > 0: # paced by what was sent: a failing answer must not turn it into a flood
            time.sleep(max(0.0, t0 + sent / rps - time.monotonic()))
open(countfile, "w").write(str(n))
PY
}

declare -a A B RATE
for ((r = 1; r <= ROUNDS; r++)); do
  A+=("$(backup)")
  rm -f stop
  for ((c = 1; c <= CLIENTS; c++)); do rm -f "count.$c" "count.$c.ready"; done
  for ((c = 1; c <= CLIENTS; c++)); do client stop "count.$c" & done
  ready() { for ((c = 1; c <= CLIENTS; c++)); do [ -e "count.$c.ready" ] || return 1; done; }
  for ((i = 0; i < 300; i++)); do ready && break; sleep 0.1; done
  ready || die "the clients did not connect within 30 s"
  t0=$EPOCHREALTIME
  B+=("$(backup)")
  touch stop
  wait_clients=$(jobs -p | grep -v "^$dpid$" || true)
  for p in $wait_clients; do wait "$p" 2>/dev/null || true; done
  secs=$(echo "$EPOCHREALTIME - $t0" | bc)
  total=0
  for ((c = 1; c <= CLIENTS; c++)); do total=$((total + $(cat "count.$c"))); done
  RATE+=("$(echo "scale=0; $total / $secs" | bc)")
  printf 'serve bench: round %d: backup %.2f s alone, %.2f s while the API answered %d requests (%s/s)\n' \
    "$r" "${A[-1]}" "${B[-1]}" "$total" "${RATE[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ma=$(median "${A[@]}")
mb=$(median "${B[@]}")
mr=$(median "${RATE[@]}")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$dpid/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$dpid/status")
ratio=$(echo "scale=3; $mb / $ma" | bc)
printf 'serve bench: backup alone %.2f s, with the API busy %.2f s: %sx (target <= 1.05x); %s requests/s; daemon peak RSS %d MiB (now %d MiB)\n' \
  "$ma" "$mb" "$ratio" "$mr" $((hwm / 1024)) $((rss / 1024))
grep -q . d.err && { echo "serve bench: the daemon logged:"; sed 's/^/  /' d.err; }
mkdir -p "$here/bench/results"
printf '{"bench": "serve", "rounds": %d, "clients": %d, "scale": %d, "backup_alone_s": %s, "backup_api_busy_s": %s, "ratio": %s, "requests_per_s": %s, "daemon_vmhwm_kib": %d}\n' \
  "$ROUNDS" "$CLIENTS" "$SCALE" "$ma" "$mb" "$ratio" "$mr" "$hwm" > "$here/bench/results/serve-latest.json"
