#!/usr/bin/env bash
# test_redteam_serve.sh - a running "pgward serve" whose configuration file is edited (by
# whoever can write it) and sent SIGHUP: the reload is refused ("the old configuration
# stays"), so the next scheduled job must not run on the new file either. Before the fix
# the job re-read the file and ran on it (here: another repository, and a stanza that
# holds an identity while scheduling backups, which the service refuses).
# No database server: expire on a local repository, scheduled every minute.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
"$PGWARD" keygen --sign -o sign.key >/dev/null 2>&1
mkdir -p A
conf() { cat >"$1"; chmod 600 "$1"; }
conf c.conf <<C
[global]
repo = $TK_TMP/A
trusted-signer = $TK_TMP/sign.key.pub
[main]
expire-schedule = *:*
schedule-jitter = 0
C
# start early enough in a minute that the edit and SIGHUP come before the run
while (( 10#$(date -u +%S) > 45 )); do sleep 0.5; done
"$PGWARD" serve --config c.conf --state-file st.json --log-level info main 2>d.err &
pid=$!
tk_on_exit "kill $pid 2>/dev/null || true"
tk_wait_for 10 "the daemon starts" grep -q "serving 1 stanza" d.err
conf c.conf <<C
[global]
repo = $TK_TMP/B
trusted-signer = $TK_TMP/sign.key.pub
[main]
expire-schedule = *:*
schedule-jitter = 0
backup-schedule = daily 03:00 UTC
recipient = age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
identity = $TK_TMP/no-such-key
C
kill -HUP $pid
tk_wait_for 10 "the reload is refused" grep -q "reload refused" d.err
tk_wait_for 75 "the scheduled expire ends" grep -q 'the expire of stanza "main" \(succeeded\|failed\)\|scheduled expire of stanza "main" failed' d.err
cat d.err
[[ ! -e B ]] || tk_fail "the job ran on the refused configuration (repository B was opened)"
tk_assert_contains "$(cat d.err)" "changed since the service checked it" "the job says why it did not run"
grep -q '"repository":"local directory '"$TK_TMP"'/B"' audit.log && tk_fail "audited against B"
tk_stop $pid 30 d.err || true
tk_pass "a job never runs on a configuration the service refused"
