#!/usr/bin/env bash
# test_s3.sh - the S3 driver against a real, signature-verifying S3 server (Ceph RGW):
# multipart round trips, key encoding, object lock, error reporting, credential sources,
# bounded memory, and no multipart upload left behind.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/s3.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
s3_start
export PGWARD_S3_ENDPOINT=$S3_ENDPOINT
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
PLAIN="s3://$S3_BUCKET_PLAIN/backups"
LOCKED="s3://$S3_BUCKET_LOCKED"

# check: plain bucket may delete; locked bucket retains
out=$("$PGWARD" repo check --repo "$PLAIN")
tk_assert_contains "$out" "delete:       ok" "plain bucket delete"
tk_assert_contains "$out" "object lock:  no" "plain bucket has no lock"
out=$("$PGWARD" repo check --repo "$LOCKED" --lock-days 1)
tk_assert_contains "$out" "object lock:  enabled" "locked bucket detected"
tk_assert_contains "$out" "delete:       retained (object lock)" "probe retained by the lock"

# a large multipart object round-trips byte for byte; memory stays bounded
SIZE_MB=${PGWARD_TEST_S3_MB:-300}
head -c $((SIZE_MB * 1048576)) /dev/urandom > big.bin
key="db1/2026 backup+1/ü/data.pgdump.zst.age"
/usr/bin/time -f '%M' -o put.rss "$PGWARD" repo put "$key" big.bin --repo "$PLAIN" --s3-part-size 8MiB --s3-parallel 4 > put.out
tk_assert_eq "$(cut -d' ' -f1 put.out)" "$(sha256sum big.bin | cut -d' ' -f1)" "put reports the sha256"
rss=$(cat put.rss)
# memory bounds hold for normal builds; sanitizers add their own shadow memory and quarantine
if [ -z "${PGWARD_SANITIZED:-}" ]; then
  [ "$rss" -lt 120000 ] || tk_fail "put of ${SIZE_MB} MB used ${rss} KiB (want < 120 MiB: 8 MiB parts x 5)"
fi
/usr/bin/time -f '%M' -o get.rss "$PGWARD" repo get "$key" --repo "$PLAIN" -o got.bin
cmp -s big.bin got.bin || tk_fail "multipart object differs after the round trip"
[ -n "${PGWARD_SANITIZED:-}" ] || [ "$(cat get.rss)" -lt 64000 ] || tk_fail "get used $(cat get.rss) KiB"
tk_assert_contains "$("$PGWARD" repo ls db1/ --repo "$PLAIN")" "$key" "encoded key listed back"
tk_assert_eq "$("$PGWARD" repo uploads --repo "$PLAIN")" "" "no multipart upload left open"
expect_fail 6 "already exists" repo put "$key" big.bin --repo "$PLAIN"

# listing pagination (more than one page of 1000 keys would be slow; use the prefix form)
for i in $(seq 1 25); do echo "$i" | "$PGWARD" repo put "many/k$(printf %03d "$i")" --repo "$PLAIN" >/dev/null; done
tk_assert_eq "$("$PGWARD" repo ls many/ --repo "$PLAIN" | wc -l)" 25 "ls many"

# an interrupted multipart upload is aborted, not left open
mkfifo in.fifo
( head -c 40000000 /dev/urandom; sleep 10 ) > in.fifo &
w=$!
"$PGWARD" repo put db1/interrupted in.fifo --repo "$PLAIN" --s3-part-size 5MiB &
p=$!
for _ in $(seq 50); do [ -n "$("$PGWARD" repo uploads --repo "$PLAIN")" ] && break; sleep 0.2; done
tk_assert_contains "$("$PGWARD" repo uploads --repo "$PLAIN")" "db1/interrupted" "upload in progress is visible"
kill -TERM "$p"; wait "$p" 2>/dev/null || true
kill "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true
tk_assert_eq "$("$PGWARD" repo uploads --repo "$PLAIN")" "" "interrupted upload was aborted"
expect_fail 9 "does not exist" repo get db1/interrupted --repo "$PLAIN"

# object lock: a locked object cannot be removed; the date is reported
echo locked | "$PGWARD" repo put keep/me --repo "$LOCKED" --lock-days 2 >/dev/null
expect_fail 30 "is retained until" repo rm keep/me --repo "$LOCKED"
tk_assert_eq "$("$PGWARD" repo get keep/me --repo "$LOCKED")" "locked" "locked object still readable"
echo unlocked | "$PGWARD" repo put free/me --repo "$LOCKED" >/dev/null
"$PGWARD" repo rm free/me --repo "$LOCKED" || tk_fail "unlocked object in a lock bucket"
expect_fail 9 "does not exist" repo get free/me --repo "$LOCKED"

# permanent errors fail at once with the server's code and a hint
AWS_SECRET_ACCESS_KEY=wrong expect_fail 30 "SignatureDoesNotMatch" repo ls --repo "$PLAIN"
AWS_ACCESS_KEY_ID=NOSUCHKEY expect_fail 30 "InvalidAccessKeyId" repo ls --repo "$PLAIN"
expect_fail 30 "NoSuchBucket" repo ls --repo "s3://no-such-bucket-here"
start=$(date +%s)
PGWARD_S3_ENDPOINT=http://127.0.0.1:9 expect_fail 30 "failed" repo ls --repo "$PLAIN" --s3-max-attempts 2
[ $(( $(date +%s) - start )) -lt 30 ] || tk_fail "unreachable endpoint took too long"

# credentials: the shared credentials file with a profile ...
mkdir -p .aws
printf '[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n[pgward]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS" "$S3_SECRET" > .aws/credentials
chmod 600 .aws/credentials
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_PROFILE=pgward "$PGWARD" repo ls keep/ --repo "$LOCKED")
tk_assert_contains "$out" "keep/me" "credentials from a shared-file profile"
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$PGWARD" repo ls keep/ --repo "$LOCKED" --s3-profile pgward)
tk_assert_contains "$out" "keep/me" "credentials from --s3-profile"
chmod 644 .aws/credentials
( unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; export AWS_PROFILE=pgward
  expect_fail 5 "accessible by other users" repo ls --repo "$LOCKED" )
chmod 600 .aws/credentials
# ... a config file (secret refused on the command line) ...
printf '[global]\ns3-access-key = %s\ns3-secret-key = %s\n' "$S3_ACCESS" "$S3_SECRET" > pw.conf
chmod 600 pw.conf
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME=/nonexistent "$PGWARD" repo ls keep/ --repo "$LOCKED" --config pw.conf)
tk_assert_contains "$out" "keep/me" "credentials from the config file"
# ... and a container credentials endpoint (as an ECS task role)
token=tok-$RANDOM$RANDOM
cat > creds.py <<PY
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Authorization") != "$token":
            self.send_response(401); self.end_headers(); return
        body = json.dumps({"AccessKeyId": "$S3_ACCESS", "SecretAccessKey": "$S3_SECRET",
                           "Token": "", "Expiration": "2099-01-01T00:00:00Z"}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.timeout = 30
for _ in range(20): s.handle_request()
PY
python3 creds.py > creds.port &
cpid=$!
tk_on_exit "kill $cpid 2>/dev/null"
for _ in $(seq 50); do [ -s creds.port ] && break; sleep 0.1; done
port=$(cat creds.port)
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME=/nonexistent \
  AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$port/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN="$token" \
  "$PGWARD" repo ls keep/ --repo "$LOCKED")
tk_assert_contains "$out" "keep/me" "credentials from the container endpoint"
( unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; export HOME=/nonexistent
  AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$port/creds" AWS_CONTAINER_AUTHORIZATION_TOKEN=bad \
    expect_fail 30 "HTTP 401" repo ls --repo "$LOCKED"
  expect_fail 30 "no S3 credentials found" repo ls --repo "$LOCKED" )

# secrets never reach the audit log
grep -q "$S3_SECRET" "$PGWARD_AUDIT_LOG" && tk_fail "S3 secret in the audit log"
echo "s3: all checks passed"
