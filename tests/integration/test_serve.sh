#!/usr/bin/env bash
# test_serve.sh - "pgward serve --check-config" through the real binary, no server needed:
# the next runs of every schedule, bad schedules with their column, the verification depth
# against the keys at hand, the two-host split (an identity and backup scheduling in one
# process refused unless serve-allow-mixed), and the state file's checks.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log XDG_STATE_HOME=$TK_TMP/state
unset PGWARD_IDENTITY PGWARD_CONFIG
cd "$TK_TMP"
"$PGWARD" keygen -o id.txt 2>/dev/null

conf() { cat > "$1"; chmod 600 "$1"; }

conf good.conf <<'C'
[global]
repo = /tmp/pgward-serve-test-repo
[main]
backup-schedule = daily 02:00 Europe/Berlin
verify-schedule = Mon..Fri 01:15 UTC
expire-schedule = *-*-01 04:00 UTC
[six]
backup-schedule = *-*-* 00/6:00 UTC
schedule-jitter = 30m
[quiet]
C
out=$("$PGWARD" serve --check-config --config good.conf)
tk_assert_contains "$out" "[main]" "text lists the stanza"
tk_assert_contains "$out" "daily 02:00 Europe/Berlin" "text shows the schedule"
tk_assert_contains "$out" "ok: 3 stanzas, 4 schedules" "summary line"
tk_assert_contains "$out" "not scheduled" "unscheduled kinds are shown"
# JSON: three runs per schedule, in order, in the zone and UTC, jitter inside its bounds
"$PGWARD" serve --check-config --config good.conf --output=json > out.json
python3 - out.json <<'PY' || tk_fail "JSON shape"
import json, sys, datetime as d
j = json.load(open(sys.argv[1]))
st = {s["stanza"]: s for s in j["stanzas"]}
assert set(st) == {"main", "six", "quiet"}, st.keys()
assert st["quiet"]["jobs"] == []
kinds = {x["kind"]: x for x in st["main"]["jobs"]}
assert set(kinds) == {"backup", "verify", "expire"}
assert kinds["verify"]["depth"] == 1
iso = lambda s: d.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
for s in j["stanzas"]:
    for job in s["jobs"]:
        runs = job["next"]
        assert len(runs) == 3, runs
        slots = [iso(r["slot"]) for r in runs]
        assert slots == sorted(slots) and len(set(slots)) == 3, slots
        for r in runs:
            delay = (iso(r["run_at"]) - iso(r["slot"])).total_seconds()
            assert 0 <= delay < job["jitter_max_seconds"], r
            assert r["jitter_seconds"] == delay
for r in kinds["backup"]["next"]:
    assert r["local"][11:16] == "02:00" and r["local"].split()[-1] in ("CET", "CEST"), r
    assert r["slot"][11:] in ("01:00:00Z", "00:00:00Z"), r
for r in kinds["expire"]["next"]:
    assert r["slot"][8:] == "01T04:00:00Z", r
for r in st["six"]["jobs"][0]["next"]:
    assert r["slot"][11:] in ("00:00:00Z", "06:00:00Z", "12:00:00Z", "18:00:00Z"), r
assert j["allow_mixed"] is False
PY
# verify and expire scheduled without a sign-key: their lease claims are unsigned (a host
# that trusts keys ignores them): said, not refused; with a sign-key, nothing is said
env -u PGWARD_SIGN_KEY "$PGWARD" serve --check-config --config good.conf >/dev/null 2>nosign.err \
    || tk_fail "check-config without a sign-key: $(cat nosign.err)"
tk_assert_contains "$(cat nosign.err)" 'stanza "main" schedules verification and expiry without a sign-key' "unsigned lease claims are named"
"$PGWARD" keygen --sign -o own.key >/dev/null 2>&1
PGWARD_SIGN_KEY=$TK_TMP/own.key "$PGWARD" serve --check-config --config good.conf >/dev/null 2>sign.err
[[ $(cat sign.err) != *"without a sign-key"* ]] || tk_fail "warned with a sign-key: $(cat sign.err)"
out=$("$PGWARD" serve --check-config --config good.conf six)
tk_assert_contains "$out" "ok: 1 stanza, 1 schedule" "only the stanza named"
expect_fail 3 'stanza "nope" is not defined' serve --check-config --config good.conf nope

# help
out=$("$PGWARD" help serve)
tk_assert_contains "$out" "--check-config" "help serve"
tk_assert_contains "$out" "serve-allow-mixed" "help serve names the escape hatch"
tk_assert_contains "$out" "--once" "help serve names --once"

# bad schedules: the setting, the column, a hint
conf bad.conf <<'C'
[main]
backup-schedule = daily 25:00
C
expect_fail 3 'backup-schedule of stanza "main"' serve --check-config --config bad.conf
tk_assert_contains "$err" "at column 7: hour 25 is out of range 0-23" "column of a bad hour"
conf zone.conf <<'C'
[main]
verify-schedule = daily 02:00 ../../../../etc/passwd
C
expect_fail 3 "unknown time zone" serve --check-config --config zone.conf
conf never.conf <<'C'
[main]
expire-schedule = *-02-30 00:00 UTC
C
expect_fail 3 "never runs" serve --check-config --config never.conf
# one date with its year runs once: refused at the check (the daemon and --once used to
# fail on it at the first plan, with "never runs")
conf once.conf <<'C'
[main]
expire-schedule = 2040-01-01 00:00 UTC
C
expect_fail 3 "runs only once" serve --check-config --config once.conf
expect_fail 3 "runs only once" serve --once --config once.conf
conf jitter.conf <<'C'
[main]
backup-schedule = hourly
schedule-jitter = 10 minutes
C
expect_fail 3 'schedule-jitter of stanza "main": bad duration' serve --check-config --config jitter.conf
# (the length cap of an expression is tested in test_schedule: inih cuts config lines first)
conf none.conf <<'C'
[main]
repo = /tmp/x
C
expect_fail 3 "has a schedule" serve --check-config --config none.conf
expect_fail 3 "needs a configuration file" serve --check-config

# verification depth against the keys at hand
conf depth2.conf <<'C'
[main]
verify-schedule = Sun 05:00
verify-depth = 2
C
expect_fail 3 "verify-depth 2 of stanza \"main\" decrypts backups, but the stanza has no identity" serve --check-config --config depth2.conf
conf depth3.conf <<C
[main]
verify-schedule = Sun 05:00
verify-depth = 3
identity = $TK_TMP/id.txt
C
expect_fail 3 "no scratch server is set" serve --check-config --config depth3.conf
conf depth9.conf <<'C'
[main]
verify-schedule = Sun 05:00
verify-depth = 9
C
expect_fail 3 "verify-depth of stanza \"main\" is 9" serve --check-config --config depth9.conf
conf depth1.conf <<C
[main]
verify-schedule = Sun 05:00
identity = $TK_TMP/id.txt
C
expect_fail 3 "would decrypt (depth 2)" serve --check-config --config depth1.conf
# the key-holding host: drills and expiry with an identity, no backups - accepted
conf keyhost.conf <<C
[main]
verify-schedule = Sun 05:00
verify-depth = 3
scratch-local = yes
expire-schedule = daily 06:00
identity = $TK_TMP/id.txt
C
"$PGWARD" serve --check-config --config keyhost.conf >/dev/null

# the two-host split
conf mixed.conf <<C
[main]
backup-schedule = daily 02:00
identity = $TK_TMP/id.txt
C
expect_fail 3 'stanza "main" schedules backups and holds an identity' serve --check-config --config mixed.conf
tk_assert_contains "$err" "two hosts" "the hint explains the two-host default"
conf mixed2.conf <<C
[app]
backup-schedule = daily 02:00
[drills]
verify-schedule = Sun 05:00
verify-depth = 2
identity = $TK_TMP/id.txt
C
expect_fail 3 'stanza "app" schedules backups and stanza "drills" holds an identity' serve --check-config --config mixed2.conf
# an identity from the environment reaches every stanza: refused too
PGWARD_IDENTITY=$TK_TMP/id.txt expect_fail 3 "holds an identity" serve --check-config --config good.conf
# ...unless told explicitly, in [global]
conf allowed.conf <<C
[global]
serve-allow-mixed = yes
[main]
backup-schedule = daily 02:00
identity = $TK_TMP/id.txt
C
out=$("$PGWARD" serve --check-config --config allowed.conf)
tk_assert_contains "$out" "serve-allow-mixed" "the mixed mode is said"
conf allowed_stanza.conf <<C
[main]
serve-allow-mixed = yes
backup-schedule = daily 02:00
identity = $TK_TMP/id.txt
C
expect_fail 3 "serve-allow-mixed" serve --check-config --config allowed_stanza.conf

# the state file: damaged, foreign, shared or a link - refused with a clear message
mkdir -p state/pgward && chmod 700 state state/pgward
echo '{"format":"something-else"}' > state/pgward/service-state.json
chmod 600 state/pgward/service-state.json
expect_fail 3 "is damaged or not pgward's" serve --check-config --config good.conf
printf 'garbage\0\1\2' > st2.json && chmod 600 st2.json
expect_fail 3 "not JSON" serve --check-config --config good.conf --state-file st2.json
printf '{"format":"pgward-service-state","version":1,"stanzas":{}}' > st3.json
chmod 644 st3.json
expect_fail 5 "st3.json" serve --check-config --config good.conf --state-file st3.json
chmod 600 st3.json
out=$("$PGWARD" serve --check-config --config good.conf --state-file st3.json)
tk_assert_contains "$out" "state file: st3.json (0 stanzas recorded)" "a good state file"
ln -s st3.json st4.json
set +e; "$PGWARD" serve --check-config --config good.conf --state-file st4.json >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] || tk_fail "a symlinked state file was accepted"
mkfifo st5.json
set +e; timeout 10 "$PGWARD" serve --check-config --config good.conf --state-file st5.json >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || tk_fail "a FIFO state file hung or was accepted (rc $rc)"

# ---- the loop, without a database server: expire on a local repository, and a backup
# whose server does not answer ----
R=$("$PGWARD" keygen -y id.txt)
"$PGWARD" keygen --sign -o sign.key >/dev/null 2>&1
mkdir -p repo
conf loop.conf <<C
[global]
repo = $TK_TMP/repo
trusted-signer = $TK_TMP/sign.key.pub
[main]
expire-schedule = daily 03:00 UTC
schedule-jitter = 0
[broken]
backup-schedule = daily 03:00 UTC
db = postgresql://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=5
recipient = $R
C
# the schedules were first seen long ago: both are due (missed), each runs once
printf '{"format":"pgward-service-state","version":1,"stanzas":{"main":{"expire":{"first_seen":"2026-01-01T00:00:00Z"}},"broken":{"backup":{"first_seen":"2026-01-01T00:00:00Z"}}}}' > loop.json
chmod 600 loop.json
expect_fail 20 'the backup of stanza "broken" failed' serve --once --config loop.conf --state-file loop.json --log-level info
tk_assert_contains "$err" 'starting the expire of stanza "main" (missed while the service was down)' "expire ran"
tk_assert_contains "$err" 'the expire of stanza "main" succeeded' "expire succeeded"
tk_assert_contains "$err" 'dead-man: stanza "broken" has no successful backup' "dead-man alarm"
tk_assert_contains "$err" "(it never succeeded)" "never succeeded is its own state"
python3 - loop.json <<'PY' || tk_fail "state after the first pass"
import json, sys
s = json.load(open(sys.argv[1]))["stanzas"]
assert s["main"]["expire"]["result"] == "ok" and s["main"]["expire"]["attempts"] == 0, s
assert "last_success" in s["main"]["expire"], s
assert s["broken"]["backup"]["result"] == "failed" and s["broken"]["backup"]["attempts"] == 1, s
assert "last_success" not in s["broken"]["backup"], s
PY
[ "$(stat -c %a loop.json)" = 600 ] || tk_fail "state file mode"
# check-config shows what the state says and what the plan makes of it
out=$("$PGWARD" serve --check-config --config loop.conf --state-file loop.json broken)
tk_assert_contains "$out" "last run: failed" "the last result"
tk_assert_contains "$out" "(retry)" "the retry is due next"
tk_assert_contains "$out" "last success never; dead-man never-overdue" "the never-succeeded alarm"
"$PGWARD" serve --check-config --config loop.conf --state-file loop.json --output=json main > st.json
python3 - st.json <<'PY' || tk_fail "check-config JSON state"
import json, sys
j = json.load(open(sys.argv[1]))["stanzas"][0]["jobs"][0]
assert j["last"]["result"] == "ok" and j["health"] == "ok" and j["due_why"] == "scheduled", j
PY
# right away again: nothing is due (expire tomorrow, the backup's retry after its backoff)
"$PGWARD" serve --once --config loop.conf --state-file loop.json --log-level info 2> again.err
tk_assert_eq "$(grep -c starting again.err || true)" "0" "a second pass runs nothing"
tk_assert_eq "$(grep -c '"scheduled_by":"serve"' "$PGWARD_AUDIT_LOG")" "2" "each scheduled job is audited once"
# a run the last process left "running" (killed mid-job) is recorded interrupted and retried
printf '{"format":"pgward-service-state","version":1,"stanzas":{"main":{"expire":{"first_seen":"2026-01-01T00:00:00Z","last_start":"2026-12-01T03:00:00Z","result":"running"}}}}' > loop.json
"$PGWARD" serve --once --config loop.conf --state-file loop.json --log-level info main 2> int.err
tk_assert_contains "$(cat int.err)" "was interrupted" "the interrupted run is said"
tk_assert_contains "$(cat int.err)" 'starting the expire of stanza "main" (retry)' "and retried"
# the loop refuses what check-config refuses, before running anything
expect_fail 3 "holds an identity" serve --once --config mixed.conf --state-file loop.json
echo '{"format":"x"}' > bad-state.json && chmod 600 bad-state.json
expect_fail 3 "is damaged or not pgward's" serve --once --config loop.conf --state-file bad-state.json

# the default state file: created under $XDG_STATE_HOME/pgward (0700), mode 0600; nothing
# is due on a schedule seen for the first time
XDG_STATE_HOME=$TK_TMP/fresh "$PGWARD" serve --once --config loop.conf main
[ "$(stat -c %a fresh/pgward)" = 700 ] || tk_fail "state directory mode"
[ "$(stat -c %a fresh/pgward/service-state.json)" = 600 ] || tk_fail "default state file mode"
grep -q '"first_seen"' fresh/pgward/service-state.json || tk_fail "first_seen recorded"
grep -q '"last_start"' fresh/pgward/service-state.json && tk_fail "a first-seen schedule ran at once"

# the daemon: SIGHUP reloads, SIGTERM stops cleanly (exit 0)
"$PGWARD" serve --config loop.conf --state-file loop.json --log-level info main 2> d.err &
pid=$!
tk_on_exit "kill $pid 2>/dev/null || true"
for _ in $(seq 1 100); do grep -q "serving 1 stanza" d.err && break; sleep 0.1; done
grep -q "serving 1 stanza" d.err || tk_fail "the daemon did not start: $(cat d.err)"
kill -HUP $pid
for _ in $(seq 1 100); do grep -q "configuration reloaded" d.err && break; sleep 0.1; done
grep -q "configuration reloaded" d.err || tk_fail "SIGHUP did not reload: $(cat d.err)"
set +e; tk_stop $pid 30 d.err; rc=$?; set -e
tk_assert_eq "$rc" "0" "SIGTERM is a clean stop"
tk_assert_contains "$(cat d.err)" "stopping on signal 15" "the stop is logged"
echo "serve: all checks passed"
