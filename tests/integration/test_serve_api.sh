#!/usr/bin/env bash
# test_serve_api.sh - the service's control API through the real binary, no database
# server: tokens (--new-token, hashes in the configuration), 401 without a token, 403
# without the scope, the read resources, a job asked for through the API (run by the loop,
# seen on the board, in the state file and in the audit log), malformed and hostile
# requests (4xx, nothing changes), the token in no log, 200 concurrent status requests
# while a backup runs (its "database" accepts and never answers) with bounded memory,
# TLS over TCP with the test CA, TCP without TLS refused, and the route table against
# docs/openapi.yaml both ways.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log XDG_STATE_HOME=$TK_TMP/state
unset PGWARD_IDENTITY PGWARD_CONFIG
SRC=${PGWARD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TK_TMP"
command -v curl >/dev/null || tk_skip "curl not found"

# ---- the route table and docs/openapi.yaml describe the same API ----
python3 - "$SRC/src/daemon/api.c" "$SRC/docs/openapi.yaml" <<'PY' || tk_fail "routes and openapi.yaml differ"
import re, sys, yaml
code = open(sys.argv[1]).read()
table = code[code.index("} routes[] = {"):]
table = table[:table.index("};")]
served = set(re.findall(r'\{"(GET|POST|DELETE|PUT|PATCH)", "([^"]+)",', table))
doc = yaml.safe_load(open(sys.argv[2]))
described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
             if m in ("get", "post", "delete", "put", "patch")}
assert served, "no routes parsed"
assert served == described, ("served, not described", served - described,
                             "described, not served", described - served)
PY
tk_pass "the route table and docs/openapi.yaml list the same routes"

# ---- tokens ----
"$PGWARD" serve --new-token ops --scope read,operate > ops.tok 2> newtok.err
"$PGWARD" serve --new-token viewer > viewer.tok
OPS=$(sed -n 1p ops.tok)
VIEW=$(sed -n 1p viewer.tok)
[[ $OPS =~ ^pgward_[0-9a-f]{64}$ ]] || tk_fail "token format: $OPS"
python3 - "$OPS" "$(sed -n 2p ops.tok)" "$(sed -n 2p viewer.tok)" <<'PY' || tk_fail "--new-token's line"
import hashlib, sys
tok, line, vline = sys.argv[1:]
assert line == "api-token = ops:read,operate:" + hashlib.sha256(tok.encode()).hexdigest(), line
assert vline.startswith("api-token = viewer:read:"), vline
PY
tk_assert_contains "$(cat newtok.err)" "shown only now" "the token is said to be shown once"
expect_fail 2 'bad token name' serve --new-token '../x'
expect_fail 2 'bad --scope' serve --new-token x --scope admin
tk_pass "--new-token prints a random token and its hashed api-token line"

# a "database" that accepts and never answers: a backup against it runs until it goes
python3 - > hold.port <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
hold_pid=$!
tk_on_exit "kill $hold_pid 2>/dev/null || true"
tk_wait_for 10 "the holding listener" test -s hold.port
HOLD_PORT=$(cat hold.port)

"$PGWARD" keygen -o id.txt 2>/dev/null
RCPT=$("$PGWARD" keygen -y id.txt)
mkdir -p repo
conf() { cat > "$1"; chmod 600 "$1"; }
# global_plus FILE LINE...: api.conf with LINEs added to its [global] section, as FILE
global_plus() {
    local f=$1; shift
    awk -v add="$(printf '%s\n' "$@")" '/^\[main\]/ && !done {printf "%s\n", add; done=1} {print}' api.conf > "$f"
    chmod 600 "$f"
}
conf api.conf <<C
[global]
repo = $TK_TMP/repo
recipient = $RCPT
$(sed -n 2p ops.tok)
$(sed -n 2p viewer.tok)
[main]
backup-schedule = daily 03:00 UTC
expire-schedule = daily 04:00 UTC
db = host=127.0.0.1 port=$HOLD_PORT dbname=x sslmode=disable connect_timeout=60
[other]
backup-schedule = daily 03:00 UTC
db = host=127.0.0.1 port=1 dbname=x
C

# ---- check-config: the API's settings ----
out=$("$PGWARD" serve --check-config --config api.conf)
tk_assert_contains "$out" "api: on" "check-config says the API is on"
global_plus notls.conf "api-listen = 127.0.0.1:8443"
expect_fail 3 'without TLS' serve --check-config --config notls.conf
conf notok.conf <<C
[global]
api-socket = $TK_TMP/x.sock
[main]
backup-schedule = daily 03:00 UTC
C
expect_fail 3 'no api-token is set' serve --check-config --config notok.conf
global_plus badtok.conf "api-token = x:read:1234"
expect_fail 3 'the hash is not 64 hex digits' serve --check-config --config badtok.conf
global_plus dup.conf "$(sed -n 2p ops.tok | sed 's/= ops:/= ops2:/')"
expect_fail 3 'the same name or hash' serve --check-config --config dup.conf
tk_pass "check-config refuses TCP without TLS, an API without tokens and bad tokens"

# ---- the daemon ----
"$PGWARD" serve --config api.conf --log-level info 2> d.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
SOCK=$TK_TMP/state/pgward/api.sock
tk_wait_for 15 "the API socket" test -S "$SOCK"
tk_wait_for 15 "the daemon serves" grep -q "serving 2 stanzas" d.err
tk_assert_eq "$(stat -c %a "$SOCK")" "600" "the socket's mode"
tk_assert_eq "$(stat -c %a "$(dirname "$SOCK")")" "700" "the socket directory's mode"

# wait_job ID STATE SECONDS: poll the job (one process, every 100 ms) until its state is STATE
wait_job() {
    python3 - "$SOCK" "$VIEW" "$@" <<'PY' || tk_fail "job $1 did not reach $2 within $3 s"
import http.client, json, socket, sys, time
path, tok, job, want, secs = sys.argv[1:]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.settimeout(10); self.sock.connect(path)
end = time.monotonic() + float(secs)
while time.monotonic() < end:
    c = C("localhost")
    c.request("GET", "/v1/jobs/" + job, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    if r.status == 200 and json.loads(r.read())["state"] == want:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
}
RESP=$TK_TMP/responses.txt
: > "$RESP"
# req [curl args...] URL-PATH: prints the status code; the body goes to body.json (and RESP)
req() {
    local path=${*: -1}
    local args=("${@:1:$#-1}")
    curl -sS --max-time 10 --unix-socket "$SOCK" --path-as-is -o body.json -D headers.txt \
        -w '%{http_code}' "${args[@]}" "http://localhost$path"
    { cat headers.txt body.json; echo; } >> "$RESP"
}
code=$(req /v1/status)
tk_assert_eq "$code" "401" "no token"
tk_assert_contains "$(cat headers.txt)" 'WWW-Authenticate: Bearer realm="pgward"' "401 names the scheme"
code=$(req -H "Authorization: Bearer pgward_0000" /v1/status)
tk_assert_eq "$code" "401" "a wrong token"
tk_assert_contains "$(cat headers.txt)" 'error="invalid_token"' "a wrong token is said to be invalid"
R=(-H "Authorization: Bearer $VIEW")
O=(-H "Authorization: Bearer $OPS")
code=$(req "${O[@]}" /nope)
tk_assert_eq "$code" "404" "an unknown path with a token"
code=$(req /nope)
tk_assert_eq "$code" "401" "an unknown path without a token says nothing but 401"
code=$(req "${R[@]}" /v1/status)
tk_assert_eq "$code" "200" "read: status"
python3 - body.json <<'PY' || tk_fail "status shape"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["service"]["started"], j
st = {s["stanza"]: s for s in j["stanzas"]}
assert list(st) == ["main", "other"], st
assert [k["kind"] for k in st["main"]["jobs"]] == ["backup", "expire"], st["main"]
assert st["main"]["jobs"][0]["schedule"] == "daily 03:00 UTC"
assert st["main"]["repository"]["reachable"] is None
PY
# the stanza objects are the ones check-config prints (one builder): same keys
"$PGWARD" serve --check-config --config api.conf --output=json > cc.json
python3 - body.json cc.json <<'PY' || tk_fail "status and check-config share the stanza shape"
import json, sys
api = json.load(open(sys.argv[1]))["stanzas"][0]
cc = json.load(open(sys.argv[2]))["stanzas"][0]
assert set(api) <= set(cc), set(api) - set(cc)
for a, c in zip(api["jobs"], cc["jobs"]):
    assert set(a) <= set(c), set(a) - set(c)
    assert a["kind"] == c["kind"] and a["schedule"] == c["schedule"]
PY
for p in /v1/stanzas /v1/stanzas/main /v1/stanzas/main/backups /metrics /; do
    code=$(req "${R[@]}" "$p")
    tk_assert_eq "$code" "200" "read: $p"
done
python3 -c 'import json,sys; j=json.load(open("body.json"))' 2>/dev/null && tk_fail "the page is not JSON"
# the page the daemon serves: its policy as a header, and it renders in the real browser
# (test_status_page.sh tests the page itself on a made-up board)
tk_assert_contains "$(cat headers.txt)" "Content-Security-Policy: default-src 'none'" "the page's CSP header"
tk_assert_contains "$(cat headers.txt)" "frame-ancestors 'none'" "the page cannot be framed"
cp body.json page.html
if [[ -x /usr/bin/chromium ]]; then
    dom=$(timeout 60 /usr/bin/chromium --headless --disable-gpu --no-sandbox --dump-dom \
        "file://$TK_TMP/page.html" 2>/dev/null)
    tk_assert_contains "$dom" 'data-stanza="main"' "the daemon's page renders the stanza in chromium"
fi
code=$(req "${R[@]}" /metrics)
grep -q '^pgward_job_ever_succeeded{stanza="main",kind="expire"} ' body.json ||
    tk_fail "the daemon's /metrics has the stanza's job"
code=$(req "${R[@]}" /v1/stanzas/main/backups)
python3 -c 'import json; j=json.load(open("body.json")); assert j == {"stanza": "main", "backups": []}, j' ||
    tk_fail "backups of an empty repository"
code=$(req "${R[@]}" /v1/stanzas/nope)
tk_assert_eq "$code" "404" "an unknown stanza"
code=$(req "${R[@]}" -X PUT /v1/status)
tk_assert_eq "$code" "405" "a method not allowed"
tk_assert_contains "$(cat headers.txt)" "Allow: GET" "405 says what is allowed"
code=$(req "${R[@]}" -H 'Content-Type: application/json' -d '{"kind":"expire"}' /v1/stanzas/main/jobs)
tk_assert_eq "$code" "403" "read cannot start a job"
code=$(req "${R[@]}" -X DELETE /v1/jobs/1)
tk_assert_eq "$code" "403" "read cannot cancel a job"
tk_pass "401 without a token, 403 without the scope, the read resources"

# ---- malformed and hostile requests: 4xx, and nothing changes ----
snapshot() {
    curl -sS --unix-socket "$SOCK" "${O[@]}" http://localhost/v1/status |
        python3 -c 'import json,sys; j=json.load(sys.stdin); del j["service"]["now"]; print(json.dumps(j, sort_keys=True))'
    sha256sum "$TK_TMP/state/pgward/service-state.json" | cut -d' ' -f1
    ls repo | sort
}
before=$(snapshot)
audit_before=$(grep -c '"command":"api"' audit.log || true)
J=(-H 'Content-Type: application/json')
bad() { # bad WANT DESCRIPTION curl-args... PATH
    local want=$1 what=$2; shift 2
    local code
    code=$(req "$@")
    [[ $code == "$want" ]] || tk_fail "$what: expected $want, got $code ($(cat body.json))"
}
bad 400 "../ in the path" "${O[@]}" /v1/stanzas/../status
bad 400 "/./ in the path" "${O[@]}" /v1/./status
bad 400 "an escaped ../" "${O[@]}" /v1/stanzas/%2e%2e/jobs
bad 400 "an escaped NUL" "${O[@]}" /v1/stanzas/main%00x
bad 400 "an escaped slash" "${O[@]}" /v1/stanzas/main%2fbackups
bad 400 "a stanza name starting with a dot" "${O[@]}" /v1/stanzas/.hidden
bad 400 "a double slash" "${O[@]}" //v1/status
bad 414 "an overlong path" "${O[@]}" "/v1/stanzas/$(head -c 300 /dev/zero | tr '\0' a)"
bad 404 "a stanza name too long to be one" "${O[@]}" "/v1/stanzas/$(head -c 70 /dev/zero | tr '\0' a)"
bad 400 "a job id that is not a number" "${O[@]}" /v1/jobs/abc
bad 400 "job id 0" "${O[@]}" /v1/jobs/0
bad 400 "a job id past 32 bits" "${O[@]}" /v1/jobs/99999999999
bad 400 "a negative job id" "${O[@]}" -X DELETE /v1/jobs/-1
bad 404 "an unknown job" "${O[@]}" /v1/jobs/4000000000
bad 404 "cancel an unknown job" "${O[@]}" -X DELETE /v1/jobs/77
bad 400 "bad JSON" "${O[@]}" "${J[@]}" -d '{"kind":' /v1/stanzas/main/jobs
bad 400 "not an object" "${O[@]}" "${J[@]}" -d '["backup"]' /v1/stanzas/main/jobs
bad 400 "an unknown kind" "${O[@]}" "${J[@]}" -d '{"kind":"restore"}' /v1/stanzas/main/jobs
bad 400 "an extra field" "${O[@]}" "${J[@]}" -d '{"kind":"expire","db":"x"}' /v1/stanzas/main/jobs
bad 400 "a duplicate field" "${O[@]}" "${J[@]}" -d '{"kind":"verify","kind":"expire"}' /v1/stanzas/main/jobs
bad 400 "a NUL in the body" "${O[@]}" "${J[@]}" --data-binary $'{"kind":"expire\\u0000"}' /v1/stanzas/main/jobs
bad 400 "an empty body" "${O[@]}" "${J[@]}" -X POST /v1/stanzas/main/jobs
bad 415 "not JSON" "${O[@]}" -d 'kind=expire' /v1/stanzas/main/jobs
head -c 100000 /dev/zero | tr '\0' ' ' > big.json
bad 413 "a huge body" "${O[@]}" "${J[@]}" -H "Expect: 100-continue" --data-binary @big.json /v1/stanzas/main/jobs
bad 413 "a huge chunked body" "${O[@]}" "${J[@]}" -H "Expect: 100-continue" -H 'Transfer-Encoding: chunked' --data-binary @big.json /v1/stanzas/main/jobs
bad 409 "a kind this service does not schedule" "${O[@]}" "${J[@]}" -d '{"kind":"verify"}' /v1/stanzas/main/jobs
bad 404 "a job for an unknown stanza" "${O[@]}" "${J[@]}" -d '{"kind":"backup"}' /v1/stanzas/nope/jobs
code=$(req "${O[@]}" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" /v1/status)
[[ $code == 4?? ]] || tk_fail "a huge header: expected 4xx, got $code"
code=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $(head -c 5000 /dev/zero | tr '\0' a)" http://localhost/v1/status)
tk_assert_eq "$code" "401" "a huge token"
# raw bytes curl would not send: control characters and UTF-8 in the path are refused; a
# raw NUL ends the path inside libmicrohttpd 0.9.75 (the rest never reaches us): the call
# is answered for the path before it, a GET that changes nothing (docs/security/serve-api.md)
python3 - "$SOCK" "$OPS" <<'PY' || tk_fail "raw hostile request lines"
import socket, sys
def send(line):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    s.sendall(line + b"\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() + b"\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    return int(reply.split(b" ")[1]) if reply else 0
for line in (b"GET /v1/stanzas/ma\x01in HTTP/1.1", b"GET /v1/stanzas/m\xc3\xa4in HTTP/1.1",
             b"GET /v1/stanzas/main\x7f HTTP/1.1", b"DELETE /v1/jobs/1\x00/../../x HTTP/1.1"):
    code = send(line)
    assert code == 0 or 400 <= code < 500, (line, code)
code = send(b"GET /v1/stanzas/main\x00/../x HTTP/1.1")
assert code in (0, 200) or 400 <= code < 500, code
PY
after=$(snapshot)
tk_assert_eq "$after" "$before" "no malformed request changed the board, the state file or the repository"
audit_after=$(grep -c '"command":"api"' audit.log || true)
(( audit_after > audit_before )) || tk_fail "malformed calls are audited too"
tk_pass "malformed, hostile and oversized requests: 4xx, nothing changed"

# ---- operate: a job asked for through the API runs, and is seen ----
code=$(req "${O[@]}" "${J[@]}" -d '{"kind":"expire"}' /v1/stanzas/main/jobs)
tk_assert_eq "$code" "202" "operate starts a job"
ID=$(python3 -c 'import json; print(json.load(open("body.json"))["id"])')
tk_assert_contains "$(cat headers.txt)" "Location: /v1/jobs/$ID" "202 names the job"
job_state() {
    curl -sS --unix-socket "$SOCK" "${R[@]}" "http://localhost/v1/jobs/$ID" |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["state"], j.get("result", ""))'
}
wait_job "$ID" finished 30
tk_assert_eq "$(job_state)" "finished ok" "the expire asked for succeeded"
tk_assert_contains "$(cat d.err)" "(asked for through the API) as job $ID" "the loop says who asked"
grep -q '"command":"expire".*"scheduled_by":"serve"' audit.log || tk_fail "the job's own audit record"
python3 - audit.log "$ID" <<'PY' || tk_fail "the API call's audit record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
calls = [r for r in recs if r["command"] == "api" and r["details"].get("job_id") == int(sys.argv[2])
         and r["details"]["method"] == "POST"]
assert len(calls) == 1, calls
c = calls[0]
assert c["details"]["token"] == "ops" and c["details"]["status"] == 202, c
assert c["details"]["route"] == "/v1/stanzas/{name}/jobs" and c["stanza"] == "main", c
assert c["outcome"] == "success", c
denied = [r for r in recs if r["command"] == "api" and r["details"]["status"] == 401]
assert denied and all(r["details"]["token"] is None for r in denied), denied
forbidden = [r for r in recs if r["command"] == "api" and r["details"]["status"] == 403]
assert forbidden and all(r["details"]["token"] == "viewer" for r in forbidden), forbidden
PY
python3 - state/pgward/service-state.json <<'PY' || tk_fail "the state file records the run"
import json, sys
e = json.load(open(sys.argv[1]))["stanzas"]["main"]["expire"]
assert e["result"] == "ok" and e["last_start"], e
PY
code=$(req "${R[@]}" /v1/stanzas/main)
python3 -c 'import json; j=json.load(open("body.json")); e=[k for k in j["jobs"] if k["kind"]=="expire"][0]; assert e["last"]["result"]=="ok" and e["runs_total"]==1 and e["job_id"]=='"$ID"', e' ||
    tk_fail "the board shows the run"
"$PGWARD" audit verify > /dev/null || tk_fail "the audit chain with the API's batched records"
tk_pass "operate: a job asked for runs, on the board, in the state file and the audit log"

# ---- 200 concurrent status requests while a backup runs, bounded memory ----
code=$(req "${O[@]}" "${J[@]}" -d '{"kind":"backup"}' /v1/stanzas/main/jobs)
tk_assert_eq "$code" "202" "a backup asked for"
BID=$(python3 -c 'import json; print(json.load(open("body.json"))["id"])')
wait_job "$BID" running 20
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
rss0=$(rss)
python3 - "$SOCK" "$VIEW" <<'PY' > burst.txt || tk_fail "200 concurrent status requests"
import http.client, socket, sys, threading, time
path, tok = sys.argv[1:]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.settimeout(30); self.sock.connect(path)
codes, lock, go = [], threading.Lock(), threading.Barrier(200)
def one():
    c = C("localhost"); c.connect(); go.wait()
    c.request("GET", "/v1/status", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse(); body = r.read()
    with lock: codes.append((r.status, b'"running": true' in body))
t0 = time.monotonic()
ts = [threading.Thread(target=one) for _ in range(200)]
[t.start() for t in ts]; [t.join() for t in ts]
print("200 requests in %.2f s" % (time.monotonic() - t0))
assert len(codes) == 200 and all(c == 200 for c, _ in codes), codes
assert all(run for _, run in codes), "the status shows the backup running"
PY
rss1=$(rss)
cat burst.txt
echo "RSS before ${rss0} KiB, after ${rss1} KiB"
# bounds: 64 MiB in all, 16 MiB of growth (4x under the sanitizers' shadow memory)
scale=1; [[ -z ${PGWARD_SANITIZED:-} ]] || scale=4
(( rss1 < 65536 * scale )) || tk_fail "RSS after 200 concurrent requests: ${rss1} KiB"
(( rss1 - rss0 < 16384 * scale )) || tk_fail "RSS grew by $((rss1 - rss0)) KiB"
kill $hold_pid; wait $hold_pid 2>/dev/null || true
wait_job "$BID" finished 30
tk_pass "200 concurrent status requests answered while a backup ran (RSS ${rss0} -> ${rss1} KiB)"

# ---- a flood of bad tokens: a bounded number of audit records, a bounded delay, the
# good token still answered at once, memory bounded ----
BAD=pgward_$(printf 'f%.0s' {1..64})
a401() { grep -c '"command":"api".*"status":401' audit.log || true; }
before401=$(a401)
rss0=$(rss)
python3 - "$SOCK" "$BAD" "$VIEW" <<'PY' > flood.txt || tk_fail "2000 bad-token calls"
import http.client, socket, sys, threading, time
path, bad, good = sys.argv[1:]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.settimeout(30); self.sock.connect(path)
def call(tok):
    c = C("localhost"); t0 = time.monotonic()
    c.request("GET", "/v1/status", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse(); r.read(); c.close()
    return r.status, time.monotonic() - t0
codes, lock, left = [], threading.Lock(), [2000]
def flood():
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        st, _ = call(bad)
        with lock: codes.append(st)
t0 = time.monotonic()
ts = [threading.Thread(target=flood) for _ in range(100)]
[t.start() for t in ts]
# the good token, while the flood runs (and its answers are held back)
while len(codes) < 300: time.sleep(0.05)
good_times = []
for _ in range(5):
    st, dt = call(good)
    assert st == 200, st
    good_times.append(dt)
[t.join() for t in ts]
took = time.monotonic() - t0
# the flooding peer is slowed down now: a further bad call waits
st, slow = call(bad)
assert st == 401
assert len(codes) == 2000 and set(codes) == {401}, set(codes)
print("2000 refused in %.1f s; good token answered in %.3f s at most; a further refusal "
      "took %.2f s" % (took, max(good_times), slow))
print("GOOD_MAX %.3f SLOW %.3f" % (max(good_times), slow))
PY
cat flood.txt
read -r _ good_max _ slow < <(grep GOOD_MAX flood.txt)
scale=1; [[ -z ${PGWARD_SANITIZED:-} ]] || scale=4
python3 -c "import sys; sys.exit(0 if $good_max < 1.0 * $scale else 1)" ||
    tk_fail "the good token waited ${good_max} s during the flood"
python3 -c "import sys; sys.exit(0 if $slow >= 0.3 else 1)" ||
    tk_fail "a peer that keeps failing is not slowed down (${slow} s)"
rss1=$(rss)
echo "RSS before the flood ${rss0} KiB, after ${rss1} KiB"
(( rss1 - rss0 < 16384 * scale )) || tk_fail "RSS grew by $((rss1 - rss0)) KiB in the flood"
# wait for the writer's batch, then: at most 10 refusals of this peer per minute one by one
tk_wait_for 10 "the flood's first records" test "$(a401)" -gt "$before401"
after401=$(a401)
(( after401 - before401 <= 10 )) || tk_fail "$((after401 - before401)) audit records for 2001 refused calls"
tk_pass "2001 bad-token calls: $((after401 - before401)) audit records, the good token answered in ${good_max} s, a repeated refusal held ${slow} s"

# ---- a second service on the same socket is refused; a stale one is replaced ----
TK_TIMEOUT=20 expect_fail 6 "in use by another process" serve --config api.conf

tk_stop $pid 30 d.err || true
[[ ! -e $SOCK ]] || tk_fail "the socket is removed on a clean stop"
python3 - audit.log <<'PY' || tk_fail "the refused calls' summary record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"command":"api"' in l]
sums = [r for r in recs if r["details"].get("refused_calls")]
one = [r for r in recs if r["details"]["status"] == 401 and not r["details"].get("refused_calls")]
assert sums, "no summary"
s = sums[-1]
assert s["details"]["peer"].startswith("unix uid "), s
assert s["error"].endswith("more refused calls from %s in the last minute" % s["details"]["peer"]), s
assert all(r["details"]["peer"].startswith("unix uid ") for r in one), one
# every refused call of the daemon is in a record one by one or in a summary
assert len(one) + sum(r["details"]["refused_calls"] for r in sums) >= 2001, (len(one), sums)
PY
"$PGWARD" audit verify > /dev/null || tk_fail "the audit chain with the summaries"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
touch "$TK_TMP/state/pgward/not-a-socket"
global_plus plant.conf "api-socket = $TK_TMP/state/pgward/not-a-socket"
TK_TIMEOUT=20 expect_fail 6 "is not a socket of this user" serve --config plant.conf

# ---- TLS over TCP with the test CA ----
tk_gen_ca "$TK_TMP/ca" >/dev/null
_tk_gen_server_cert "$TK_TMP/ca" "$TK_TMP/tls" >/dev/null
_tk_pick_port || tk_fail "no free port"
PORT=$_TK_PORT
global_plus tls.conf "api-listen = 127.0.0.1:$PORT" "api-tls-cert = $TK_TMP/tls/server.crt" \
    "api-tls-key = $TK_TMP/tls/server.key"
chmod 644 "$TK_TMP/tls/server.key"
expect_fail 5 "api-tls-key" serve --check-config --config tls.conf
chmod 600 "$TK_TMP/tls/server.key"
"$PGWARD" serve --check-config --config tls.conf > /dev/null
"$PGWARD" serve --config tls.conf --log-level info 2> t.err &
pid=$!
tk_on_exit "kill -9 $pid 2>/dev/null || true"
tk_wait_for 15 "the stale socket is replaced" test -S "$SOCK"
tk_wait_for 15 "the TLS listener" grep -q "https://127.0.0.1:$PORT" t.err
code=$(curl -sS --max-time 10 --cacert "$TK_TMP/ca/ca.crt" -o body.json -w '%{http_code}' \
    -H "Authorization: Bearer $VIEW" "https://127.0.0.1:$PORT/v1/status")
tk_assert_eq "$code" "200" "status over TLS, verified with the test CA"
code=$(curl -sS --max-time 10 --cacert "$TK_TMP/ca/ca.crt" -o body.json -w '%{http_code}' \
    "https://127.0.0.1:$PORT/v1/status")
tk_assert_eq "$code" "401" "no token over TLS"
set +e
plain=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/status" 2>/dev/null)
set -e
[[ $plain != 2* && $plain != 4* ]] || tk_fail "plain HTTP on the TLS port was answered ($plain)"
tk_pass "TLS over TCP with the test CA; plain HTTP there gets no answer"

# ---- SIGHUP reloads the tokens: a removed one is refused at once; a bad line is refused
# and the old tokens stay ----
code() { curl -sS --max-time 10 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" http://localhost/v1/status; }
tk_assert_eq "$(code "$VIEW")" "200" "viewer before the reload"
grep -v "^api-token = viewer:" tls.conf > tls2.conf && cat tls2.conf > tls.conf
kill -HUP $pid
tk_wait_for 15 "the tokens are reloaded" grep -q "API tokens reloaded: 1" t.err
tk_assert_eq "$(code "$VIEW")" "401" "a token removed and reloaded is refused"
tk_assert_eq "$(code "$OPS")" "200" "the token that stays still works"
printf 'api-token = broken\n' > extra && awk '/^\[main\]/ && !d {system("cat extra"); d=1} {print}' tls2.conf > tls.conf
kill -HUP $pid
tk_wait_for 15 "the bad reload is refused" grep -q "reload refused.*api-token 2" t.err
tk_assert_eq "$(code "$OPS")" "200" "a refused reload keeps the tokens"
tk_stop $pid 30 t.err || true
tk_pass "SIGHUP reloads the API's tokens; a refused reload keeps them"

# the sanitizers (ASan build) found nothing in either daemon, leaks included
grep -l "Sanitizer\|runtime error" d.err t.err && tk_fail "a sanitizer report in the daemon's log"

# ---- the token is in no log, audit record, state file or response ----
for f in d.err t.err audit.log state/pgward/service-state.json "$RESP" cc.json; do
    for t in "$OPS" "$VIEW" "${OPS#pgward_}" "${VIEW#pgward_}" "$BAD"; do
        grep -qF "$t" "$f" && tk_fail "a token appears in $f"
    done
done
tk_pass "no token in the logs, the audit log, the state file or any response"
