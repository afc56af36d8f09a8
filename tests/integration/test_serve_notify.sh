#!/usr/bin/env bash
# test_serve_notify.sh - the service's webhooks against a receiver on 127.0.0.1
# (tests/tools/webhook_receiver.py) and real PostgreSQL 15: check-config shows receivers
# without their URLs and refuses bad ones; a backup that fails (bad port) sends start,
# failure and the dead-man alarm, signed (the HMAC checked in python with the secret); a
# receiver answering 500 gets it again, a redirect is not followed, a receiver that hangs
# delays neither the job nor the other receivers, and the stop stays bounded; SIGHUP keeps
# the alarm announced once; after the fix the retry sends success and recovery; a stanza's
# own receiver list (Slack format) replaces the [global] one; the URLs' tokens appear in no
# log, audit record, state file or check-config output.
source "$(dirname "$0")/../harness/lib.sh"
RECEIVER=$(cd "$(dirname "$0")/../tools" && pwd)/webhook_receiver.py
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log XDG_STATE_HOME=$TK_TMP/state
unset PGWARD_IDENTITY PGWARD_CONFIG
cd "$TK_TMP"

python3 "$RECEIVER" hooks.log port &
rpid=$!
tk_on_exit "kill $rpid 2>/dev/null || true"
tk_wait_for 30 "the webhook receiver listens" test -s port
P=$(cat port)
secret() { (umask 077 && printf '%s\n' "$2" > "$1"); }
secret ok.url "http://127.0.0.1:$P/ok/TokOk-4a7f1c9e"
secret flaky.url "http://127.0.0.1:$P/flaky/TokFlaky-93be21"
secret hang.url "http://127.0.0.1:$P/hang/TokHang-5d0c77"
secret redir.url "http://127.0.0.1:$P/redirect/TokRedir-e81a04"
secret slack.url "http://localhost:$P/ok/slack/TokSlack-1b2c3d"
secret hook.key "k3y-for-the-hmac-0123456789abcdef"
TOKENS='TokOk-4a7f1c9e|TokFlaky-93be21|TokHang-5d0c77|TokRedir-e81a04|TokSlack-1b2c3d'

pg_start >/dev/null
pg_psql_super -c "create database shop" >/dev/null
pg_psql_super -d shop >/dev/null <<'SQL'
create table t(x int); insert into t values (1);
create role backup login password 'bk-Secret-123';
grant pg_read_all_data to backup;
SQL
# an HTTPS receiver with a certificate of the test CA (trusted through webhook-ca-file)
_tk_gen_server_cert "$TK_TMP/ca" "$TK_TMP/hooktls"
python3 "$RECEIVER" hooks.log tlsport hooktls/server.crt hooktls/server.key &
tk_on_exit "kill $! 2>/dev/null || true"
tk_wait_for 30 "the https receiver listens" test -s tlsport
secret tls.url "https://localhost:$(cat tlsport)/ok/tls/TokTls-6e5f4a"
secret tlsbad.url "https://localhost:$(cat tlsport)/ok/tlsbad/TokTlsBad-0c9d"
TOKENS="$TOKENS|TokTls-6e5f4a|TokTlsBad-0c9d"
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk-Secret-123
mkdir repo
conf() { cat > "$1"; chmod 600 "$1"; }
# PORT: the database port (1 = nothing listens: the backup fails)
config() {
  cat <<C
[global]
repo = $TK_TMP/repo
recipient = $R
webhook-url-file = $TK_TMP/ok.url
webhook-url-file = $TK_TMP/flaky.url
webhook-url-file = $TK_TMP/hang.url
webhook-url-file = $TK_TMP/redir.url
webhook-url-file = $TK_TMP/tls.url
webhook-ca-file = $PG_CA
webhook-secret-file = $TK_TMP/hook.key
webhook-events = all
[shop]
db = postgresql://backup@localhost:$1/shop?sslrootcert=$PG_CA&connect_timeout=5
backup-schedule = daily 03:00 UTC
schedule-jitter = 0
[local]
expire-schedule = daily 03:00 UTC
schedule-jitter = 0
webhook-url-file = $TK_TMP/slack.url
webhook-url-file = $TK_TMP/tlsbad.url
webhook-ca-file =
webhook-format = slack
webhook-secret-file =
C
}
config 1 | conf bad.conf
config "$PGPORT_TEST" | conf good.conf

# ---- check-config: the receivers, never their URLs ----
out=$("$PGWARD" serve --check-config --config bad.conf)
tk_assert_contains "$out" "webhook http://127.0.0.1/... (URL from \"$TK_TMP/ok.url\"): json, signed, events start,success,failure,recovery,deadman; stanzas shop" "check-config lists a receiver"
tk_assert_contains "$out" "(URL from \"$TK_TMP/slack.url\"): slack, unsigned" "a stanza's own receiver"
json=$("$PGWARD" serve --check-config --config bad.conf --output=json)
python3 -c 'import json,sys; w=json.loads(sys.argv[1])["webhooks"]; assert len(w)==7 and w[5]["stanzas"]=="local" and w[0]["signed"] and w[4]["receiver"]=="https://localhost/...", w' "$json" ||
  tk_fail "check-config JSON webhooks"
if grep -Eq "$TOKENS" <<<"$out$json"; then tk_fail "check-config shows a webhook token"; fi
# refused: http to another host, not a URL, a file others may read, a short key, a bad event
secret far.url "http://192.0.2.1/hook/TokFar-77"
{ config 1; echo "webhook-url-file = $TK_TMP/far.url"; } | conf far.conf
expect_fail 5 'is http to "192.0.2.1"' serve --check-config --config far.conf
tk_assert_contains "$err" "Use an https:// URL" "the hint of a clear-text receiver"
secret junk.url "not a url TokJunk-12"
{ config 1; echo "webhook-url-file = $TK_TMP/junk.url"; } | conf junk.conf
expect_fail 3 'is not a URL' serve --check-config --config junk.conf
chmod 644 ok.url
expect_fail 5 'ok.url' serve --check-config --config bad.conf
chmod 600 ok.url
secret short.key "short"
sed "s|hook.key|short.key|" bad.conf | conf short.conf
expect_fail 3 'shorter than 16 bytes' serve --check-config --config short.conf
sed "s|webhook-events = all|webhook-events = failure,explosion|" bad.conf | conf ev.conf
expect_fail 3 'unknown event "explosion"' serve --check-config --config ev.conf
if grep -Eq "TokFar|TokJunk|$TOKENS" <<<"$err"; then tk_fail "an error shows a webhook token"; fi

# ---- the daemon: the backup of shop fails; start, failure and the dead-man alarm ----
printf '{"format":"pgward-service-state","version":1,"stanzas":{"shop":{"backup":{"first_seen":"2026-01-01T00:00:00Z"}},"local":{"expire":{"first_seen":"2026-01-01T00:00:00Z"}}}}' > state.json
chmod 600 state.json
# how many requests reached PATH (a prefix) with event EVENT (* = any): grep, not python
# (one python start costs seconds on a loaded machine)
count() {
  local ev='"x-pgward-event": "'$2'"'
  [ "$2" != "*" ] || ev=''
  grep -c "\"path\": \"$1[^\"]*\".*$ev" hooks.log || true
}
has() { [ "$(count "$1" "$2")" -ge "${3:-1}" ]; }
"$PGWARD" serve --config bad.conf --state-file state.json --log-level info 2> d1.err &
pid=$!
tk_on_exit "kill $pid 2>/dev/null || true"
tk_wait_for 20 "the failure event at the receiver" has /ok/TokOk failure
tk_wait_for 10 "the dead-man event at the receiver" has /ok/TokOk deadman
tk_wait_for 10 "the expire of local succeeded" grep -q 'the expire of stanza "local" succeeded' d1.err
tk_wait_for 10 "the slack receiver got the expire's success" has /ok/slack success
tk_wait_for 10 "the 500 is retried" has /flaky/ start 2
tk_wait_for 10 "the hanging receiver got a request" has /hang/ '*'
tk_wait_for 10 "the redirect receiver got a request" has /redirect/ failure
tk_wait_for 10 "the https receiver (webhook-ca-file) got the failure" has /ok/tls/ failure
tk_wait_for 20 "a receiver whose certificate is not trusted is refused" grep -q 'tlsbad.url": the start notification of stanza "local" failed (SSL certificate problem' d1.err
tk_assert_contains "$(cat d1.err)" 'the start notification of stanza "shop" failed (it answered HTTP 500): retried in 1 s' "the retry is logged"
python3 - hook.key <<'PY' || tk_fail "the events of the failed backup"
import hmac, hashlib, json, sys
key = open(sys.argv[1]).read().strip().encode()
recs = [json.loads(l) for l in open("hooks.log")]
ok = [r for r in recs if r["path"].startswith("/ok/TokOk")]
for r in ok:
    h = r["headers"]
    ts = h["x-pgward-timestamp"]
    want = hmac.new(key, (ts + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
    assert h["x-pgward-signature"] == "sha256=" + want, r
    assert abs(int(ts) - r["t"]) < 60, r
    assert h["content-type"] == "application/json", h
    # a body changed in transit fails the check
    assert hmac.new(key, (ts + "." + r["body"] + " ").encode(), hashlib.sha256).hexdigest() != want
ev = {r["headers"]["x-pgward-event"]: json.loads(r["body"]) for r in ok}
f = ev["failure"]
assert f["stanza"] == "shop" and f["kind"] == "backup" and f["exit_code"] == 20, f
assert "could not connect" in f["message"] or "connect" in f["message"], f
assert f["job_id"] == ev["start"]["job_id"], ev
d = ev["deadman"]
assert d["stanza"] == "shop" and d["job_id"] is None and d["deadline"].endswith("Z"), d
assert "local" not in [e["stanza"] for e in ev.values()], "a stanza's own list replaces [global]"
fl = [r for r in recs if r["path"].startswith("/flaky/") and r["headers"]["x-pgward-event"] == "start"]
assert fl[0]["status"] == 500 and fl[1]["status"] == 200, fl
assert fl[0]["headers"]["x-pgward-delivery"] == fl[1]["headers"]["x-pgward-delivery"], fl
assert 0.9 < fl[1]["t"] - fl[0]["t"] < 20, fl  # after its 1 s backoff (a loaded machine adds)
sl = [json.loads(r["body"]) for r in recs if r["path"].startswith("/ok/slack/")]
assert any('the expire of stanza \\"local\\" succeeded' in json.dumps(s["text"]) for s in sl), sl
assert all("x-pgward-signature" not in r["headers"] for r in recs if r["path"].startswith("/ok/slack/"))
# a hanging receiver delays no one: the alarm reached the others at once
hang = min(r["t"] for r in recs if r["path"].startswith("/hang/"))
ok = [r["t"] for r in recs if r["path"].startswith("/ok/TokOk") and r["headers"]["x-pgward-event"] == "deadman"][0]
print(f"hanging receiver got its first request at +0 s; the dead-man alarm reached the other at +{ok - hang:.2f} s")
assert ok - hang < 8, "waited for the hanging receiver (10 s)"
PY
tk_assert_contains "$(cat d1.err)" "(redirects are not followed)" "a redirect is not followed"
tk_assert_eq "$(count /ok/followed '*')" "0" "nothing followed the redirect"
tk_assert_eq "$(count /ok/tlsbad/ '*')" "0" "nothing reached the receiver with an untrusted certificate"

# a reload whose receiver file others may read is refused; the old configuration stays
chmod 644 ok.url
kill -HUP $pid
tk_wait_for 10 "the refused reload" grep -q "reload refused, the old configuration stays:.*ok.url" d1.err
chmod 600 ok.url
# SIGHUP with the fixed database and one more stanza (the loop starts its dead-man
# transitions afresh): reloaded, the alarm is not announced again
{ cat good.conf; printf '[extra]\nexpire-schedule = daily 04:00 UTC\n'; } | conf bad.conf.new
mv bad.conf.new bad.conf
kill -HUP $pid
tk_wait_for 10 "the reload" grep -q "configuration reloaded" d1.err
# SIGTERM while a delivery to the hanging receiver is in flight: a bounded stop
t0=$(date +%s%N)
set +e; tk_stop $pid 30 d1.err; rc=$?; set -e
t1=$(date +%s%N)
tk_assert_eq "$rc" "0" "SIGTERM is a clean stop"
echo "stop with a hanging receiver took $(( (t1 - t0) / 1000000 )) ms"
(( (t1 - t0) / 1000000 < 8000 )) || tk_fail "the stop waited for the hanging receiver"
tk_assert_eq "$(count /ok/TokOk deadman)" "1" "the alarm was announced once"

# the retry after the fix (the test moves the failure back instead of waiting its backoff):
# start, success and recovery; the hanging receiver still hangs and delays nothing
python3 - <<'PY'
import json
s = json.load(open("state.json"))
s["stanzas"]["shop"]["backup"]["last_end"] = "2026-01-01T00:00:00Z"
json.dump(s, open("state.json", "w"))
PY
chmod 600 state.json
"$PGWARD" serve --config bad.conf --state-file state.json --log-level info shop 2> d2.err &
pid=$!
tk_on_exit "kill $pid 2>/dev/null || true"
tk_wait_for 60 "the recovery event" has /ok/TokOk recovery
shop_ok() { python3 -c 'import json; assert json.load(open("state.json"))["stanzas"]["shop"]["backup"]["result"] == "ok"'; }
tk_wait_for 20 "the state file records the success" shop_ok
python3 - <<'PY' || tk_fail "success and recovery"
import json
recs = [json.loads(l) for l in open("hooks.log")]
ok = [r for r in recs if r["path"].startswith("/ok/TokOk")]
ev = {}
for r in ok:
    ev.setdefault(r["headers"]["x-pgward-event"], []).append(r)
start, succ, rec = ev["start"][-1], ev["success"][-1], ev["recovery"][-1]
s = json.loads(succ["body"])
assert s["exit_code"] == 0 and s["message"] is None and s["duration"] >= 0, s
assert json.loads(rec["body"])["job_id"] == s["job_id"] == json.loads(start["body"])["job_id"]
import datetime
st = json.load(open("state.json"))["stanzas"]["shop"]["backup"]
iso = lambda v: datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
job = iso(st["last_end"]) - iso(st["last_start"])
late = succ["t"] - iso(st["last_end"])
print(f"backup job {job:.0f} s (start -> success at the receiver {succ['t'] - start['t']:.2f} s) "
      f"while the hanging receiver held the start; success delivered {late:.2f} s after the job's end second")
assert late < 6, "the success waited for the hanging receiver"
PY
kill -KILL $pid # its stop is measured above
set +e; wait $pid; set -e

# no token anywhere pgward writes
for f in d1.err d2.err "$PGWARD_AUDIT_LOG" state.json; do
  if grep -Eq "$TOKENS" "$f"; then tk_fail "a webhook token in $f"; fi
done
echo "serve_notify: all checks passed"
