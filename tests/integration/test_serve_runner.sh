#!/usr/bin/env bash
# test_serve_runner.sh - the service's jobs in child processes, against real PostgreSQL 15:
# two stanzas' backups run in parallel (and one after the other with serve-max-jobs = 1);
# a job process killed -9 is a failure and the service goes on; the daemon killed -9 in the
# middle of backups takes its jobs down with it, leaves no backup that looks complete, and
# the next start records the run as interrupted and retries it successfully; SIGTERM to
# the daemon stops its running jobs, records them as interrupted, and leaves no manifest.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
unset PGWARD_IDENTITY PGWARD_CONFIG
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop 5000
pg_sample_db shop2 5000
pg_psql_super >/dev/null <<'SQL'
create role backup login password 'bk-Secret-123' bypassrls;
grant pg_read_all_data to backup;
SQL
for db in shop shop2; do
  pg_psql_super -d $db -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d $db >/dev/null
done
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
"$PGWARD" keygen --sign -o sign.key >/dev/null 2>&1
export PGWARD_DB_PASSWORD=bk-Secret-123
mkdir repo
# conf NAME [EXTRA-STANZA-LINE] [EXTRA-GLOBAL-LINE]
conf() {
  {
    printf '[global]\nrepo = %s/repo\nrecipient = %s\nsign-key = %s/sign.key\n' "$TK_TMP" "$R" "$TK_TMP"
    if [ -n "${3:-}" ]; then echo "$3"; fi
    for db in shop shop2; do
      printf '[%s]\ndb = postgresql://backup@localhost:%s/%s?sslrootcert=%s\n' $db "$PGPORT_TEST" $db "$PG_CA"
      printf 'backup-schedule = hourly UTC\nschedule-jitter = 0\n'
      if [ -n "${2:-}" ]; then echo "$2"; fi
    done
  } > "$1"
  chmod 600 "$1"
}
conf fast.conf
conf serial.conf "" "serve-max-jobs = 1"
conf slow.conf "rate-limit = 1MB"
complete() { "$PGWARD" list "$1" --repo repo --output=json | grep -c '"status": "complete"' || true; }
# both stanzas missed their slot: both due now
fresh_state() {
  printf '{"format":"pgward-service-state","version":1,"stanzas":{"shop":{"backup":{"first_seen":"2026-01-01T00:00:00Z"}},"shop2":{"backup":{"first_seen":"2026-01-01T00:00:00Z"}}}}' > state.json
  chmod 600 state.json
}
# set a field of one stanza's backup entry: state_set STANZA FIELD VALUE
state_set() {
  python3 - state.json "$@" <<'PY'
import json, sys
p, st, f, v = sys.argv[1:5]
s = json.load(open(p)); s["stanzas"][st]["backup"][f] = v
json.dump(s, open(p, "w"))
PY
  chmod 600 state.json
}
state_get() { python3 -c "import json,sys; print(json.load(open('state.json'))['stanzas']['$1']['backup']['$2'])"; }
# the job processes of this test: "/proc/self/exe backup STANZA --config=$TK_TMP/..."
# (the oldest: the job itself, not the keeper it forks for pg_dump)
jobs_of() { pgrep -o -f "^/proc/self/exe backup $1 --config=$TK_TMP/" || true; }
no_jobs() { [ -z "$(jobs_of shop)$(jobs_of shop2)" ]; }
both_running() { [ -n "$(jobs_of shop)" ] && [ -n "$(jobs_of shop2)" ]; }

# 1. in parallel: both jobs start before either ends; serve-max-jobs = 1: one after the other
fresh_state
"$PGWARD" serve --once --config "$TK_TMP/fast.conf" --state-file state.json --log-level info 2> par.err ||
  tk_fail "serve --once: $(cat par.err)"
first_end=$(grep -n 'succeeded (job' par.err | head -1 | cut -d: -f1)
starts=$(head -n "$first_end" par.err | grep -c 'starting the backup of stanza')
tk_assert_eq "$starts" "2" "both backups start before the first ends (in parallel)"
tk_assert_contains "$(cat par.err)" ', stored ' "the stored size comes back from the job"
tk_assert_eq "$(complete shop)/$(complete shop2)" "1/1" "both backups complete"
python3 -c "
import json; s = json.load(open('state.json'))['stanzas']
a, b = s['shop']['backup'], s['shop2']['backup']
assert a['result'] == b['result'] == 'ok', s
assert a['last_start'] <= b['last_end'] and b['last_start'] <= a['last_end'], s" ||
  tk_fail "the state file shows overlapping runs"
tk_assert_eq "$(grep -c '"command":"backup".*"scheduled_by":"serve","serve_job":' audit.log)" "2" \
  "each job's own audit record says the service ran it"
fresh_state
"$PGWARD" serve --once --config "$TK_TMP/serial.conf" --state-file state.json --log-level info 2> ser.err ||
  tk_fail "serve --once (serial): $(cat ser.err)"
first_end=$(grep -n 'succeeded (job' ser.err | head -1 | cut -d: -f1)
tk_assert_eq "$(head -n "$first_end" ser.err | grep -c 'starting the backup')" "1" \
  "serve-max-jobs = 1: the second starts after the first ended"
tk_assert_eq "$(grep -c 'succeeded (job' ser.err)" "2" "and both ran"
expect_fail 3 "serve-max-jobs is 0" serve --once --config "$TK_TMP/fast.conf" --state-file state.json --serve-max-jobs 0

# slow backups from here on: enough rows that they last seconds at the rate limit
for db in shop shop2; do
  pg_psql_super -d $db -c "insert into customers(name, note) select 'bulk', md5(g::text) from generate_series(1, 60000) g" >/dev/null
done
n_shop=$(complete shop) n_shop2=$(complete shop2)

# 2. a job process killed -9 (a crash): a failure; the service and the other job go on
fresh_state
"$PGWARD" serve --config "$TK_TMP/slow.conf" --state-file state.json --log-level info 2> crash.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
tk_wait_for 30 "both backups running" both_running
victim=$(jobs_of shop)
[ -n "$victim" ] || tk_fail "no job process of stanza shop"
kill -9 $victim
tk_wait_for 20 "the crash recorded" grep -q 'scheduled backup of stanza "shop" failed' crash.err
tk_assert_contains "$(cat crash.err)" "the backup process was killed by signal 9" "the crash is named"
kill -0 $pid || tk_fail "the service died with its job"
tk_assert_eq "$(state_get shop result)/$(state_get shop attempts)" "failed/1" "the crash is a failure, retried"
tk_wait_for 60 "the other stanza's backup ends" grep -q 'the backup of stanza "shop2" succeeded' crash.err
tk_assert_eq "$(complete shop)" "$n_shop" "the crashed job left nothing that looks complete"
n_shop2=$((n_shop2 + 1))
tk_stop $pid 30 crash.err || tk_fail "the stop after the crash"

# 3. the daemon killed -9 in the middle of two backups
fresh_state
"$PGWARD" serve --config "$TK_TMP/slow.conf" --state-file state.json --log-level info 2> k9.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
tk_wait_for 30 "both backups running" both_running
kill -9 $pid
wait $pid 2>/dev/null || true
# its jobs go with it (the keeper's parent-death signal): no orphan keeps dumping
tk_wait_for 15 "the orphaned jobs stopped" no_jobs
no_sessions() { [ "$(pg_psql_super -Atc "select count(*) from pg_stat_activity where application_name like 'pgward%'")" = 0 ]; }
tk_wait_for 15 "their sessions ended" no_sessions
tk_assert_eq "$(complete shop)/$(complete shop2)" "$n_shop/$n_shop2" "no backup that looks complete"
tk_assert_eq "$(state_get shop result)" "running" "the dead daemon left the run recorded as running"
"$PGWARD" serve --once --config "$TK_TMP/fast.conf" --state-file state.json --log-level info 2> adopt.err ||
  tk_fail "restart: $(cat adopt.err)"
tk_assert_contains "$(cat adopt.err)" 'the backup of stanza "shop" started at' "the restart names the interrupted run"
tk_assert_eq "$(state_get shop result)/$(state_get shop attempts)" "interrupted/1" "recorded as interrupted"
# the retry, after its backoff (moved back instead of waiting a minute)
state_set shop last_end 2026-01-01T00:00:00Z
state_set shop2 last_end 2026-01-01T00:00:00Z
"$PGWARD" serve --once --config "$TK_TMP/fast.conf" --state-file state.json --log-level info 2> retry.err ||
  tk_fail "the retry: $(cat retry.err)"
tk_assert_contains "$(cat retry.err)" 'starting the backup of stanza "shop" (retry)' "the retry runs"
tk_assert_eq "$(complete shop)/$(complete shop2)" "$((n_shop + 1))/$((n_shop2 + 1))" "and succeeds"
n_shop=$((n_shop + 1)) n_shop2=$((n_shop2 + 1))

# 4. SIGTERM to the daemon: its jobs are stopped and recorded as interrupted, no manifest
fresh_state
"$PGWARD" serve --config "$TK_TMP/slow.conf" --state-file state.json --log-level info 2> term.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
tk_wait_for 30 "both backups running" both_running
set +e; tk_stop $pid 30 term.err; rc=$?; set -e
tk_assert_eq "$rc" "0" "SIGTERM is a clean stop"
no_jobs || tk_fail "a job outlived the service: $(jobs_of shop) $(jobs_of shop2)"
tk_assert_contains "$(cat term.err)" "stopping 2 running jobs" "the stop names its jobs"
tk_assert_eq "$(state_get shop result)/$(state_get shop2 result)" "interrupted/interrupted" \
  "both runs recorded as interrupted"
tk_assert_eq "$(complete shop)/$(complete shop2)" "$n_shop/$n_shop2" "no backup that looks complete"
echo "serve_runner: all checks passed"
