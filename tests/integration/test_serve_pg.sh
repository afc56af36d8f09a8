#!/usr/bin/env bash
# test_serve_pg.sh - the service's first loop against real PostgreSQL 15: a scheduled backup
# and depth-1 verification with "serve --once", then SIGTERM to the daemon in the middle of
# a backup: a clean stop, no backup that looks complete, the run recorded as interrupted,
# and the retry succeeds.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
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
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
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
echo "serve_pg: all checks passed"
