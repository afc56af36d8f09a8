#!/usr/bin/env bash
# test_serve_daemon.sh - "pgward serve" as a systemd service, no database needed: sd_notify
# READY=1, STATUS=, WATCHDOG=1 (at half of WATCHDOG_USEC) and STOPPING=1 seen on a test
# NOTIFY_SOCKET; the resident memory of an idle daemon serving 20 stanzas (at most 16 MiB);
# a supervised wal-stream that cannot start is restarted with a growing backoff.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log XDG_STATE_HOME=$TK_TMP/state
unset PGWARD_IDENTITY PGWARD_CONFIG NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
cd "$TK_TMP"
mkdir repo
# 20 stanzas whose schedules do not come soon: the daemon idles
{
  printf '[global]\nrepo = %s/repo\n' "$TK_TMP"
  for i in $(seq 1 20); do
    printf '[db%02d]\ndb = postgresql://backup@localhost:1/db%02d\nbackup-schedule = *-01-01 00:00 UTC\nverify-schedule = *-01-02 00:00 UTC\n' $i $i
  done
} > idle.conf
chmod 600 idle.conf

# a unix datagram socket that records every message systemd would get
python3 - "$TK_TMP/notify.sock" "$TK_TMP/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        out.write(msg.replace("\n", " | ") + "\n")
        out.flush()
PY
listener=$!
tk_on_exit "kill $listener 2>/dev/null || true"
tk_wait_for 10 "the notify socket" test -S notify.sock
# (without MALLOC_PERTURB_, which meson sets: it fills every allocation and so makes
# untouched buffers resident)
env -u MALLOC_PERTURB_ NOTIFY_SOCKET=$TK_TMP/notify.sock WATCHDOG_USEC=1000000 \
  "$PGWARD" serve --config "$TK_TMP/idle.conf" --log-level info 2> d.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
tk_wait_for 20 "READY=1" grep -q '^READY=1 | STATUS=configuration checked' notify.log
tk_wait_for 10 "a STATUS line with the stanzas" grep -q 'STATUS=serving 20 stanzas: 0 jobs running' notify.log
# WATCHDOG_USEC=1 s: a ping every half second
pings() { [ "$(grep -c '^WATCHDOG=1$' notify.log)" -ge "$1" ]; }
tk_wait_for 10 "three watchdog pings" pings 3

# memory of the idle daemon with 20 stanzas. VmRSS counts the pages of shared libraries
# (libcrypto, libc, gnutls, libxml2 ...) that every process using them shares; what this
# process alone costs is its private pages (smaps_rollup Private_*): that is the bound.
kb() { awk -v k="$1" '$1 == k":" {print $2}' "$2"; }
rss=$(kb VmRSS /proc/$pid/status) anon=$(kb RssAnon /proc/$pid/status)
priv=$(( $(kb Private_Clean /proc/$pid/smaps_rollup) + $(kb Private_Dirty /proc/$pid/smaps_rollup) ))
echo "idle daemon, 20 stanzas: VmRSS ${rss} kB (anonymous ${anon} kB), private ${priv} kB" >&2
if [ -z "${PGWARD_SANITIZED:-}" ]; then # ASan's shadow memory is not ours
[ "$priv" -le 16384 ] || tk_fail "an idle daemon with 20 stanzas uses ${priv} kB of its own, more than 16 MiB"
[ "$anon" -le 8192 ] || tk_fail "an idle daemon with 20 stanzas has ${anon} kB of heap and stacks"
fi

set +e; tk_stop $pid 30 d.err; rc=$?; set -e
tk_assert_eq "$rc" "0" "SIGTERM: a clean stop"
tk_wait_for 5 "STOPPING=1" grep -q '^STOPPING=1$' notify.log
# without NOTIFY_SOCKET nothing is sent and nothing fails
"$PGWARD" serve --once --config "$TK_TMP/idle.conf" 2> once.err || tk_fail "serve --once: $(cat once.err)"

# a supervised wal-stream that cannot start (no server on port 1): restarted, 1 s, then 2 s
cat > wal.conf <<C
[global]
repo = $TK_TMP/repo
[w]
db = postgresql://wal@localhost:1/postgres
wal-stream = yes
C
chmod 600 wal.conf
"$PGWARD" serve --config "$TK_TMP/wal.conf" --log-level info 2> wal.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
restarts() { [ "$(grep -c 'the wal-stream of stanza "w" ended' wal.err)" -ge "$1" ]; }
tk_wait_for 20 "two restarts" restarts 2
tk_assert_contains "$(cat wal.err)" "restarting it in 1 s" "the first backoff"
tk_assert_contains "$(cat wal.err)" "restarting it in 2 s" "grows"
tk_stop $pid 30 wal.err || tk_fail "stop with a supervised wal-stream"
# (the units: test_docs.sh runs systemd-analyze verify on every contrib/systemd unit)
python3 -c "import yaml" 2>/dev/null && python3 - "$PGWARD_SRCDIR/contrib/k8s/cronjob.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
job = docs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
assert job["args"][:2] == ["serve", "--once"], job["args"]
assert docs[0]["spec"]["concurrencyPolicy"] == "Forbid"
PY
echo "serve_daemon: all checks passed"
