#!/usr/bin/env bash
# test_serve_pg.sh - the service's first loop against real PostgreSQL 15: a scheduled backup
# and depth-1 verification with "serve --once", then SIGTERM to the daemon in the middle of
# a backup: a clean stop, no backup that looks complete, the run recorded as interrupted,
# and the retry succeeds. Then an S3 repository (Ceph RGW): the daemon runs a backup, a
# depth-1 verification and an expiry from its schedules and /metrics shows them; two
# services (two state files, one repository) never verify or expire the stanza at once:
# the second one records "skipped: running elsewhere" (not a failure) and runs at its next
# slot; a second backup while one runs is skipped the same way.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
source "$(dirname "$0")/../harness/s3.sh"
source "$(dirname "$0")/../harness/faultproxy.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
pg_start >/dev/null
pg_sample_db shop
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk-Secret-123' bypassrls;
grant pg_read_all_data to backup;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
"$PGWARD" keygen --sign -o sign.key >/dev/null 2>&1
export PGWARD_DB_PASSWORD=bk-Secret-123
mkdir repo
conf() { cat > "$1"; chmod 600 "$1"; }
stanza() {
  cat <<C
[global]
repo = $TK_TMP/repo
recipient = $R
sign-key = $TK_TMP/sign.key
trusted-signer = $TK_TMP/sign.key.pub
[shop]
db = postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA
backup-schedule = hourly UTC
verify-schedule = hourly UTC
schedule-jitter = 0
C
}
stanza | conf fast.conf
{ stanza; echo "rate-limit = 2MB"; } | conf slow.conf
complete() { "$PGWARD" list shop --repo repo --output=json | grep -c '"status": "complete"' || true; }
# set fields of the shop entries in the state file (python: key=value ISO times)
state_set() {
  python3 - state.json "$@" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
for kv in sys.argv[2:]:
    path, v = kv.split("=", 1)
    kind, field = path.split(".")
    s["stanzas"]["shop"].setdefault(kind, {})[field] = v
json.dump(s, open(p, "w"))
PY
  chmod 600 state.json
}
printf '{"format":"pgward-service-state","version":1,"stanzas":{"shop":{}}}' > state.json
state_set backup.first_seen=2026-01-01T00:00:00Z verify.first_seen=2026-01-01T00:00:00Z

# both due: the backup runs, then (one job per stanza at a time) the verification
"$PGWARD" serve --once --config fast.conf --state-file state.json --log-level info 2> once.err ||
  tk_fail "serve --once: $(cat once.err)"
tk_assert_contains "$(cat once.err)" 'the backup of stanza "shop" succeeded' "scheduled backup"
tk_assert_contains "$(cat once.err)" 'the verify of stanza "shop" succeeded' "scheduled verification"
b=$(grep -n 'starting the backup' once.err | cut -d: -f1); v=$(grep -n 'starting the verify' once.err | cut -d: -f1)
[ "$b" -lt "$v" ] || tk_fail "backup before verification"
tk_assert_eq "$(complete)" "1" "one complete backup"
python3 -c "
import json; s = json.load(open('state.json'))['stanzas']['shop']
assert s['backup']['result'] == 'ok' and s['verify']['result'] == 'ok', s
assert s['backup']['last_success'] and s['verify']['last_success'], s" || tk_fail "state after the pass"
grep -q '"command":"backup".*"scheduled_by":"serve"' "$PGWARD_AUDIT_LOG" || tk_fail "the scheduled backup is audited"

# SIGTERM in the middle of a slow backup
pg_psql_super -d shop -c "insert into customers(name) select 'bulk' from generate_series(1, 300000)" >/dev/null
state_set backup.last_start=2026-01-01T00:00:00Z
"$PGWARD" serve --config slow.conf --state-file state.json --log-level info 2> d.err &
pid=$!
tk_on_exit "kill $pid 2>/dev/null || true"
for _ in $(seq 100); do
  pg_psql_super -c "select count(*) from pg_stat_activity where application_name = 'pgward backup' and state = 'active'" | grep -q 1 && break
  sleep 0.1
done
grep -q 'starting the backup of stanza "shop"' d.err || tk_fail "the daemon did not start the backup: $(cat d.err)"
set +e; tk_stop $pid 30 d.err; rc=$?; set -e
tk_assert_eq "$rc" "0" "SIGTERM mid-backup is a clean stop"
tk_assert_contains "$(cat d.err)" "stopping on signal 15" "the stop is logged"
tk_assert_eq "$(complete)" "1" "no backup that looks complete was left behind"
python3 -c "
import json; s = json.load(open('state.json'))['stanzas']['shop']['backup']
assert s['result'] == 'interrupted' and s['attempts'] == 1, s" || tk_fail "the run is recorded as interrupted"

# the retry (after its backoff; the test moves the end back instead of waiting a minute)
state_set backup.last_end=2026-01-01T00:00:00Z
"$PGWARD" serve --once --config fast.conf --state-file state.json --log-level info 2> retry.err ||
  tk_fail "the retry: $(cat retry.err)"
tk_assert_contains "$(cat retry.err)" 'starting the backup of stanza "shop" (retry)' "the retry runs"
tk_assert_eq "$(complete)" "2" "and succeeds"

# ---- an S3 repository (Ceph RGW): backup, depth-1 verify and expiry from the schedules ----
s3_start || tk_fail "s3_start failed"
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
S3REPO="s3://$S3_BUCKET_PLAIN/serve"
"$PGWARD" serve --new-token prom --scope read > prom.tok 2>/dev/null
TOKEN=$(sed -n 1p prom.tok)
# s3conf ENDPOINT KINDS...: the stanza on the S3 repository with those schedules
s3conf() {
  local ep=$1; shift
  cat <<C
[global]
repo = $S3REPO
s3-endpoint = $ep
recipient = $R
sign-key = $TK_TMP/sign.key
trusted-signer = $TK_TMP/sign.key.pub
$(sed -n 2p prom.tok)
[shop]
db = postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA
schedule-jitter = 0
retention-days = 1
retention-min = 1
C
  local k
  for k in "$@"; do echo "$k-schedule = hourly UTC"; done
}
# fresh_state FILE KINDS...: a state file in which every kind missed its slot (due now)
fresh_state() {
  local f=$1; shift
  python3 - "$f" "$@" <<'PY'
import json, sys
s = {"format": "pgward-service-state", "version": 1, "stanzas": {"shop": {}}}
for k in sys.argv[2:]:
    s["stanzas"]["shop"][k] = {"first_seen": "2026-01-01T00:00:00Z"}
json.dump(s, open(sys.argv[1], "w"))
PY
  chmod 600 "$f"
}
mkdir -m 700 a b
s3conf "$S3_ENDPOINT" backup verify expire | conf s3.conf
fresh_state a/state.json backup verify expire
"$PGWARD" serve --config s3.conf --state-file a/state.json --api-socket "$TK_TMP/a/api.sock" \
  --log-level info 2> s3d.err &
spid=$!
tk_on_exit "kill $spid 2>/dev/null || true"
tk_wait_for 15 "the API socket" test -S a/api.sock
metrics() { curl -sS --max-time 10 --unix-socket a/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/metrics; }
all_ok() {
  local m; m=$(metrics)
  for k in backup verify expire; do
    grep -q "^pgward_job_ever_succeeded{stanza=\"shop\",kind=\"$k\"} 1$" <<<"$m" || return 1
  done
}
tk_wait_for 120 "the backup, the verification and the expiry from the schedules" all_ok
m=$(metrics)
echo "$m" | grep -E '^pgward_(job_ever_succeeded|job_last_success_timestamp_seconds|backup_last_size_bytes|verify_last_depth|repository_reachable)\{' 
grep -qE '^pgward_backup_last_size_bytes\{stanza="shop"\} [1-9][0-9]*$' <<<"$m" || tk_fail "/metrics: the backup's size"
grep -q '^pgward_verify_last_depth{stanza="shop"} 1$' <<<"$m" || tk_fail "/metrics: the verification's depth"
grep -q '^pgward_repository_reachable{stanza="shop"} 1$' <<<"$m" || tk_fail "/metrics: the S3 repository reached"
for k in backup verify expire; do
  grep -q "^pgward_job_failures_total{stanza=\"shop\",kind=\"$k\"} 0$" <<<"$m" || tk_fail "/metrics: a $k failed: $(cat s3d.err)"
done
kill -TERM $spid; set +e; wait $spid; set -e
s3complete() { "$PGWARD" list shop --repo "$S3REPO" --s3-endpoint "$S3_ENDPOINT" --output=json | grep -c '"status": "complete"' || true; }
tk_assert_eq "$(s3complete)" "1" "one complete backup in the S3 repository"
tk_pass "S3: a scheduled backup, depth-1 verify and expiry, shown on /metrics"

# ---- two services, one repository: never two verifications or expiries at once ----
# service A verifies through a proxy that slows the data object's download (it holds the
# stanza's lease meanwhile); service B verifies and expires directly
fp_start slowget --faults trickle --fault-rate 1 --match '^GET .*data\.pgdump' \
  --trickle-bps 20000 --trickle-bytes 120000 || tk_fail "fp_start failed"
s3conf "$FP_URL" verify | conf a.conf
s3conf "$S3_ENDPOINT" verify expire | conf b.conf
fresh_state a/state.json verify
fresh_state b/state.json verify expire
leases() { "$PGWARD" repo ls --repo "$S3REPO" --s3-endpoint "$S3_ENDPOINT" 2>/dev/null | grep -c "shop/lock/maintenance/$1-" || true; }
held() { (( $(leases claim) > $(leases release) )); }
"$PGWARD" serve --once --config a.conf --state-file a/state.json --api-socket "$TK_TMP/a/api.sock" \
  --log-level info 2> a.err &
apid=$!
tk_on_exit "kill $apid 2>/dev/null || true"
tk_wait_for 30 "service A's verification holds the lease" held
"$PGWARD" serve --once --config b.conf --state-file b/state.json --api-socket "$TK_TMP/b/api.sock" \
  --log-level info 2> b.err || tk_fail "a skipped run is not a failure of serve --once: $(cat b.err)"
kill -0 $apid 2>/dev/null || tk_fail "service A's verification ended before B ran (the proxy did not slow it)"
tk_assert_contains "$(cat b.err)" 'the verify of stanza "shop" was skipped' "B's verification is skipped"
tk_assert_contains "$(cat b.err)" 'the expire of stanza "shop" was skipped' "B's expiry is skipped"
tk_assert_contains "$(cat b.err)" 'another verify or expire of stanza "shop" is running on host' "B names the holder"
grep -q "failed" b.err && tk_fail "a skipped run is logged as a failure: $(cat b.err)"
python3 - b/state.json <<'PY' || tk_fail "B's state file: skipped, not failed"
import json, sys
s = json.load(open(sys.argv[1]))["stanzas"]["shop"]
for k in ("verify", "expire"):
    assert s[k]["result"] == "skipped" and s[k].get("attempts", 0) == 0, s
    assert not s[k].get("last_success"), s
PY
set +e; wait $apid; arc=$?; set -e
tk_assert_eq "$arc" "0" "service A's verification succeeded: $(cat a.err)"
tk_assert_contains "$(cat a.err)" 'the verify of stanza "shop" succeeded' "A verified"
(( $(fp_count trickle) > 0 )) || tk_fail "the proxy slowed nothing"
fp_stop
# B's next slot (the test moves its last start back an hour instead of waiting)
python3 - b/state.json <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
for k in ("verify", "expire"):
    s["stanzas"]["shop"][k]["last_start"] = "2026-01-01T00:00:00Z"
json.dump(s, open(p, "w"))
PY
"$PGWARD" serve --once --config b.conf --state-file b/state.json --api-socket "$TK_TMP/b/api.sock" \
  --log-level info 2> b2.err || tk_fail "B's next slot: $(cat b2.err)"
tk_assert_contains "$(cat b2.err)" 'the verify of stanza "shop" succeeded' "B verifies at its next slot"
tk_assert_contains "$(cat b2.err)" 'the expire of stanza "shop" succeeded' "B expires at its next slot"
tk_assert_eq "$(leases claim)" "$(leases release)" "every claim is released"
tk_pass "two services: B's verify and expire skipped while A verified, run at B's next slot"

# ---- a second backup while one runs: skipped, not failed ----
pg_psql_super -d shop -c "select pg_advisory_lock(hashtextextended('pgward backup ' || 'shop', 0)), pg_sleep(30)" >/dev/null 2>&1 &
lpid=$!
tk_on_exit "kill $lpid 2>/dev/null || true"
advisory_held() { pg_psql_super -d shop -c "select count(*) from pg_locks where locktype = 'advisory' and granted" | grep -qx 1; }
tk_wait_for 15 "the backup lock is held elsewhere" advisory_held
fresh_state b/state.json backup
"$PGWARD" serve --once --config fast.conf --state-file b/state.json --log-level info 2> bk.err ||
  tk_fail "a skipped backup is not a failure of serve --once: $(cat bk.err)"
tk_assert_contains "$(cat bk.err)" 'the backup of stanza "shop" was skipped' "the backup is skipped"
python3 -c "
import json; s = json.load(open('b/state.json'))['stanzas']['shop']['backup']
assert s['result'] == 'skipped' and s.get('attempts', 0) == 0, s" || tk_fail "the skipped backup in the state file"
kill $lpid 2>/dev/null || true
tk_pass "a backup while another runs: skipped, not failed"

# ---- two hosts (the default split): the backup host's service backs up (recipient and
# sign-key, no identity); the key-holding host's service (identity, trusted-signer = the
# backup host's public key, a sign-key of its own for its records and lease claims, no
# database credentials) runs the depth-2 drill from its schedule. A backup signed by
# another key is refused (a failed verification naming the signature), and a forged
# unsigned lease claim does not block the drill ----
S3REPO2="s3://$S3_BUCKET_PLAIN/twohost"
# (the harness's signing key in the environment would override the hosts' own: unset here)
h_sk=$PGWARD_SIGN_KEY h_ts=$PGWARD_TRUSTED_SIGNER
unset PGWARD_SIGN_KEY PGWARD_TRUSTED_SIGNER
# (the session of the last part still holds the backup lock: end it)
pg_psql_super -d shop -c "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted" >/dev/null
advisory_free() { ! advisory_held; }
tk_wait_for 15 "the backup lock is free" advisory_free
"$PGWARD" keygen --sign -o vsign.key >/dev/null 2>&1
"$PGWARD" keygen --sign -o evil.key >/dev/null 2>&1
mkdir -m 700 k
# the backup host's configuration (sign is its key: sign.key, or evil.key for the forgery)
bconf() {
  cat <<C
[global]
repo = $S3REPO2
s3-endpoint = $S3_ENDPOINT
recipient = $R
sign-key = $TK_TMP/$1
trusted-signer = $TK_TMP/$1.pub
[shop]
db = postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA
backup-schedule = hourly UTC
schedule-jitter = 0
C
}
bconf evil.key | conf evil.conf
bconf sign.key | conf bhost.conf
{ cat <<C
[global]
repo = $S3REPO2
s3-endpoint = $S3_ENDPOINT
trusted-signer = $TK_TMP/sign.key.pub
sign-key = $TK_TMP/vsign.key
$(sed -n 2p prom.tok)
[shop]
identity = $TK_TMP/key
verify-schedule = hourly UTC
verify-depth = 2
schedule-jitter = 0
C
} | conf khost.conf
grep -q '^db' khost.conf && tk_fail "the key-holding host has no database credentials"
# a forged backup in the bucket (well formed, signed by a key the verify host does not trust)
"$PGWARD" backup shop --config evil.conf 2> evil.err || tk_fail "the forged backup: $(cat evil.err)"
fresh_state k/state.json verify
kmetrics() { curl -sS --max-time 10 --unix-socket k/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/metrics; }
kstatus() { curl -sS --max-time 10 --unix-socket k/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/v1/stanzas/shop; }
kserve() { # LOG [CONFIG]
  "$PGWARD" serve --config "${2:-khost.conf}" --state-file k/state.json --api-socket "$TK_TMP/k/api.sock" \
    --log-level info 2> "$1" &
  kpid=$!
  tk_on_exit "kill $kpid 2>/dev/null || true"
  tk_wait_for 15 "the API socket" test -S k/api.sock || tk_fail "the key-holding host's service: $(cat "$1")"
}
kserve k1.err
verify_failed() { kmetrics | grep -q '^pgward_job_failures_total{stanza="shop",kind="verify"} 1$'; }
tk_wait_for 60 "the drill on the forged backup fails" verify_failed
m=$(kmetrics)
grep -q '^pgward_job_ever_succeeded{stanza="shop",kind="verify"} 0$' <<<"$m" || tk_fail "/metrics: a forged backup passed a drill: $(cat k1.err)"
kstatus | python3 -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["kind"] == "verify"][0]
m = j["last_message"] or ""
assert j["last"]["result"] == "failed" and "signed by key" in m and "not a trusted-signer" in m, j' ||
  tk_fail "the status names the signature of the refused backup: $(kstatus)"
kill -TERM $kpid; set +e; wait $kpid; set -e
tk_pass "two hosts: a backup signed by an untrusted key is refused by the drill, as a failure naming the signature"

# the backup host's service takes the genuine backup
fresh_state k/bstate.json backup
"$PGWARD" serve --once --config bhost.conf --state-file k/bstate.json --log-level info 2> bh.err ||
  tk_fail "the backup host's service: $(cat bh.err)"
tk_assert_contains "$(cat bh.err)" 'the backup of stanza "shop" succeeded' "the backup host backs up"
genuine=$("$PGWARD" list shop --repo "$S3REPO2" --s3-endpoint "$S3_ENDPOINT" --trusted-signer "$TK_TMP/sign.key.pub" --output=json |
  python3 -c 'import json,sys; print([b["backup_id"] for b in json.load(sys.stdin) if b["signature"]["verdict"] == "trusted"][0])')
# a forged unsigned claim, as anyone who can write the bucket would leave it (far-future end)
s3_curl PUT "/$S3_BUCKET_PLAIN/twohost/shop/lock/maintenance/claim-20991231T000000Z-00000000000000aa.json" \
  --data-binary '{"host":"attacker","pid":1}' -o /dev/null -w '%{http_code}' | grep -q '^200$' || tk_fail "writing the forged claim"
# the drill's retry is due (the test moves the failure back instead of waiting its backoff)
python3 - k/state.json <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["stanzas"]["shop"]["verify"]["last_start"] = s["stanzas"]["shop"]["verify"]["last_end"] = "2026-01-01T00:00:00Z"
json.dump(s, open(p, "w"))
PY
kserve k2.err
verify_ok() { kmetrics | grep -q '^pgward_job_ever_succeeded{stanza="shop",kind="verify"} 1$'; }
tk_wait_for 120 "the scheduled depth-2 drill" verify_ok
m=$(kmetrics)
grep -q '^pgward_verify_last_depth{stanza="shop"} 2$' <<<"$m" || tk_fail "/metrics: the drill's depth"
grep -qE '^pgward_job_last_success_timestamp_seconds\{stanza="shop",kind="verify"\} [1-9]' <<<"$m" || tk_fail "/metrics: the drill's time"
kstatus | python3 -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["kind"] == "verify"][0]
assert j["last_depth"] == 2 and j["last"]["result"] == "ok", j' || tk_fail "the status shows the drill: $(kstatus)"
curl -sS --max-time 10 --unix-socket k/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/ > k/page.html
grep -q 'depth 2 (decrypted' k/page.html || tk_fail "the page shows the drill"
tk_assert_contains "$(cat k2.err)" 'pgward: [shop verify] warning: 1 lease claim of stanza "shop" ignored: not signed by a trusted key' "the forged claim is named and ignored, in a line naming the job"
kill -TERM $kpid; set +e; wait $kpid; set -e
# list (trusting both hosts' keys) shows the drill's signed record on the genuine backup
"$PGWARD" list shop --repo "$S3REPO2" --s3-endpoint "$S3_ENDPOINT" --trusted-signer "$TK_TMP/sign.key.pub" \
  --trusted-signer "$TK_TMP/vsign.key.pub" --output=json > k/list.json
python3 - k/list.json "$genuine" <<'PY' || tk_fail "list shows the signed depth-2 record: $(cat k/list.json)"
import json, sys
bs = {b["backup_id"]: b for b in json.load(open(sys.argv[1]))}
g = bs[sys.argv[2]]
r = [r for r in g["verification_by_depth"] if r["depth"] == 2]
assert r and r[0]["result"] == "pass" and r[0]["signature"] == "trusted", g
for b in bs.values():
    if b["backup_id"] != sys.argv[2]:
        assert not b.get("verified"), b
PY
# depth 3: the local restore drill from the schedule (a throwaway cluster under its own
# TMPDIR, which must be empty afterwards; as root it runs as pgward-scratch)
SCR=$TK_TMP/scr
mkdir "$SCR"
chmod 0711 "$TK_TMP" "$SCR"
{ sed 's/^verify-depth = 2$/verify-depth = 3/' khost.conf; echo "scratch-local = yes"; } | conf k3.conf
python3 - k/state.json <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["stanzas"]["shop"]["verify"]["last_start"] = "2026-01-01T00:00:00Z"
json.dump(s, open(p, "w"))
PY
t3=$(date +%s)
TMPDIR=$SCR kserve k3.err k3.conf
depth3() { kmetrics | grep -q '^pgward_verify_last_depth{stanza="shop"} 3$'; }
tk_wait_for 180 "the scheduled depth-3 drill" depth3 || tk_fail "depth 3: $(cat k3.err)"
echo "depth-3 drill from the schedule: $(( $(date +%s) - t3 )) s"
kstatus | python3 -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["kind"] == "verify"][0]
assert j["last_depth"] == 3 and j["last"]["result"] == "ok", j' || tk_fail "the status shows the depth-3 drill: $(kstatus)"
curl -sS --max-time 10 --unix-socket k/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/ | grep -q 'depth 3 (restore drill' ||
  tk_fail "the page shows the restore drill"
kill -TERM $kpid; set +e; wait $kpid; set -e
tk_assert_eq "$(ls -A "$SCR")" "" "the drill's cluster directory is removed"
"$PGWARD" list shop --repo "$S3REPO2" --s3-endpoint "$S3_ENDPOINT" --trusted-signer "$TK_TMP/sign.key.pub" \
  --trusted-signer "$TK_TMP/vsign.key.pub" --output=json > k/list3.json
python3 - k/list3.json "$genuine" <<'PY' || tk_fail "list shows the signed depth-3 record: $(cat k/list3.json)"
import json, sys
g = {b["backup_id"]: b for b in json.load(open(sys.argv[1]))}[sys.argv[2]]
r = [r for r in g["verification_by_depth"] if r["depth"] == 3]
assert r and r[0]["result"] == "pass" and r[0]["signature"] == "trusted", g
PY
export PGWARD_SIGN_KEY=$h_sk PGWARD_TRUSTED_SIGNER=$h_ts
tk_pass "two hosts: the key-holding host's scheduled depth-2 and depth-3 drills on /metrics, the status and the page, their records signed; a forged lease claim ignored"

# ---- the last durable WAL (wal-stream = yes) on /metrics and in the status, read from the
# repository: a segment stored with wal-push shows up after a reload ----
mkdir -m 700 c
{ stanza | awk -v t="$(sed -n 2p prom.tok)" '{print} /^\[global\]/ {print t}'; echo "wal-stream = yes"; } | conf wal.conf
fresh_state c/state.json
"$PGWARD" serve --config wal.conf --state-file c/state.json --api-socket "$TK_TMP/c/api.sock" \
  --log-level info 2> w.err &
wpid=$!
tk_on_exit "kill $wpid 2>/dev/null || true"
tk_wait_for 15 "the API socket" test -S c/api.sock
cmetrics() { curl -sS --max-time 10 --unix-socket c/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/metrics; }
m=$(cmetrics)
grep -q '^pgward_wal_ever_durable{stanza="shop"} 0$' <<<"$m" || tk_fail "/metrics: no WAL yet is 'never durable'"
grep -q '^pgward_wal_last_durable_timestamp_seconds{stanza="shop"}' <<<"$m" && tk_fail "/metrics: a time for WAL that never was durable"
t0=$(date +%s)
seg=$(pg_psql_super -c "select pg_walfile_name(pg_current_wal_lsn())")
pg_psql_super -c "select pg_switch_wal()" >/dev/null
"$PGWARD" wal-push shop "$PG_DATADIR/pg_wal/$seg" --config wal.conf 2> push.err || tk_fail "wal-push: $(cat push.err)"
kill -HUP $wpid
wal_seen() { cmetrics | grep -q '^pgward_wal_ever_durable{stanza="shop"} 1$'; }
tk_wait_for 30 "the stored WAL on /metrics" wal_seen
m=$(cmetrics)
echo "$m" | grep '^pgward_wal_'
t=$(sed -n 's/^pgward_wal_last_durable_timestamp_seconds{stanza="shop"} //p' <<<"$m")
(( t >= t0 - 1 && t <= $(date +%s) + 1 )) || tk_fail "the last durable WAL time $t is not the push's ($t0)"
grep -qE '^pgward_wal_since_last_durable_seconds\{stanza="shop"\} [0-9]+' <<<"$m" || tk_fail "/metrics: seconds since the last durable WAL"
curl -sS --max-time 10 --unix-socket c/api.sock -H "Authorization: Bearer $TOKEN" http://localhost/v1/stanzas/shop |
  python3 -c 'import json,sys; w=json.load(sys.stdin)["wal"]; assert w["supervised"] and w["last_durable"], w' ||
  tk_fail "the status shows the last durable WAL"
kill -TERM $wpid; set +e; wait $wpid; set -e
tk_pass "the last durable WAL on /metrics and in the status"
# the sanitizers (ASan build) found nothing in the services, leaks included (the harness
# sets noglob: the logs by name)
grep -l "Sanitizer\|runtime error" once.err d.err retry.err s3d.err a.err b.err b2.err bk.err k1.err k2.err k3.err bh.err w.err && tk_fail "a sanitizer report in a service's log"
echo "serve_pg: all checks passed"
