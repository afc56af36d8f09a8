#!/usr/bin/env bash
# test_s3_faults.sh - the S3 driver through a fault-injecting proxy (tests/tools/faultproxy.c)
# in front of the real S3 server:
#   - with 5% of requests failing (500, 503, dropped requests, responses cut mid-body, stalls
#     past s3-timeout, slow starts) a 300 MB upload and download complete and match;
#   - a download cut mid-body resumes from where it broke off;
#   - when every request fails (503, dropped, stalled) or the server is unreachable, put and
#     get fail within a bound with a clear error, no object exists under the final key and
#     no multipart upload is left open;
#   - a multipart upload whose parts fail after it began is aborted; when even the abort
#     fails, the upload left open is named in a warning;
#   - a response cut right after its status line (libcurl calls that a success) is retried,
#     for part uploads, downloads (GET and the HEAD before it), CreateMultipartUpload and
#     ListMultipartUploads;
#   - a hostile endpoint: an endless body is cut at the object's size with a clear error, a
#     body that trickles in stops at the deadline (s3-total-timeout), and SIGTERM during a
#     stalled download ends pgward with exit 130 within about a second.
# PGWARD_FAULT_SEED picks the fault schedule (default 15; `faultproxy --seed N --fault-rate
# 0.05 --schedule 60` prints it), PGWARD_TEST_S3_MB the size of the big object (300).
# Checks do not stop at the first failure: every scenario runs, failures are listed at the end.
set -euo pipefail
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/s3.sh"
source "$(dirname "$0")/../harness/faultproxy.sh"

T_START=${EPOCHREALTIME//[.,]/}
[ -x "${PGWARD_FAULTPROXY:-}" ] || tk_fail "PGWARD_FAULTPROXY does not name the faultproxy binary"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
s3_start || tk_fail "s3_start failed"
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
unset PGWARD_S3_ENDPOINT PGWARD_S3_TIMEOUT PGWARD_S3_MAX_ATTEMPTS PGWARD_S3_PART_SIZE
B=$S3_BUCKET_PLAIN
REPO=s3://$B/faults
DIRECT=(--repo "$REPO" --s3-endpoint "$S3_ENDPOINT")
SEED=${PGWARD_FAULT_SEED:-15}
SLOW=1
[ -z "${PGWARD_SANITIZED:-}" ] || SLOW=3 # ASan+UBSan binary: only the time bounds are relaxed
export FP_MAX_SECONDS=300                # no proxy outlives a killed test by long

FAILED=()
bad() {
  printf 'FAIL: %s\n' "$*" >&2
  FAILED+=("$*")
}
check_eq() { [[ "$1" == "$2" ]] || bad "$3: expected '$2', got '$1'"; }
check_has() { [[ "$1" == *"$2"* ]] || bad "$3: '$2' not found in: $1"; }
# ok_since N MSG: print "ok: MSG" if no check failed since FAILED had N entries
ok_since() { ((${#FAILED[@]} > $1)) || tk_pass "$2"; }
secs() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# run ARGS...: run pgward; sets RC, OUT, ERR and MS (elapsed milliseconds). Never fails.
run() {
  local t0=${EPOCHREALTIME//[.,]/}
  set +e
  "$PGWARD" "$@" >run.out 2>run.err
  RC=$?
  set -e
  MS=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
  OUT=$(<run.out)
  ERR=$(<run.err)
}

# nothing_left NAME KEY: no object under KEY and no multipart upload open (asked directly)
nothing_left() {
  run repo get "$2" -o "absent-$1.bin" "${DIRECT[@]}"
  check_eq "$RC" 9 "$1: exit status of a get of $2 (stderr: $ERR)"
  check_has "$ERR" "does not exist" "$1: no object under the final key"
  [ ! -e "absent-$1.bin" ] || bad "$1: a failed get left its output file"
  run repo uploads "${DIRECT[@]}"
  check_eq "$RC:$OUT" "0:" "$1: no multipart upload left open"
}

# ---- 5% of requests fail: a 300 MB object goes up and comes back intact --------------------
nf=${#FAILED[@]}
SIZE_MB=${PGWARD_TEST_S3_MB:-300}
head -c $((SIZE_MB * 1048576)) /dev/urandom >big.bin
sha=$(sha256sum big.bin | cut -d' ' -f1)
fp_start rate5 --seed "$SEED" --fault-rate 0.05 --stall-seconds 6 || tk_fail "fp_start failed"
VIA=(--repo "$REPO" --s3-endpoint "$FP_URL" --s3-timeout 3)
run repo put big/data.bin big.bin "${VIA[@]}" --s3-part-size 8MiB
put_ms=$MS
check_eq "$RC" 0 "put of $SIZE_MB MB with 5% faults: exit status (stderr: $ERR)"
check_eq "${OUT%% *}" "$sha" "put with 5% faults reports the sha256"
run repo get big/data.bin -o got.bin "${VIA[@]}"
get_ms=$MS
check_eq "$RC" 0 "get of $SIZE_MB MB with 5% faults: exit status (stderr: $ERR)"
cmp -s big.bin got.bin || bad "the $SIZE_MB MB object differs after a round trip with 5% faults"
rm -f got.bin big.bin
fp_stop
run repo uploads "${DIRECT[@]}"
check_eq "$RC:$OUT" "0:" "no multipart upload left open after the 5% round trip"
[ "$(fp_count)" -gt 0 ] || echo "note: seed $SEED injected no fault into the $SIZE_MB MB round trip"
ok_since "$nf" "$SIZE_MB MB up in $(secs "$put_ms"), down in $(secs "$get_ms") with 5% faults (seed $SEED): $(fp_summary "$FP_LOG")"

# ---- a download cut mid-body resumes where it broke off -------------------------------------
nf=${#FAILED[@]}
head -c $((40 * 1048576)) /dev/urandom >mid.bin
fp_start rate5b --seed "$((SEED + 1))" --fault-rate 0.05 --stall-seconds 6 || tk_fail "fp_start failed"
run repo put mid/data.bin mid.bin --repo "$REPO" --s3-endpoint "$FP_URL" --s3-timeout 3 --s3-part-size 5MiB
check_eq "$RC" 0 "put of 40 MB in 5 MiB parts with 5% faults: exit status (stderr: $ERR)"
up_faults=$(fp_summary "$FP_LOG")
fp_stop
fp_start cut --faults drop-response --fault-rate 1 --max-faults 2 \
  --match "^GET /$B/faults/mid/data\\.bin\$" || tk_fail "fp_start failed"
run repo get mid/data.bin -o mid.got --repo "$REPO" --s3-endpoint "$FP_URL" --s3-timeout 3
check_eq "$RC" 0 "get of a download cut twice: exit status (stderr: $ERR)"
cmp -s mid.bin mid.got || bad "a download cut twice differs from what was uploaded"
check_eq "$(grep -c "GET /$B/faults/mid/data.bin .*fault=drop-response status=20[06]" "$FP_LOG")" 2 \
  "the proxy cut the download twice"
grep -q "GET /$B/faults/mid/data.bin q=- range=bytes=[1-9][0-9]*- " "$FP_LOG" ||
  bad "no GET resumed with a Range at the byte where the download broke off: $(grep -o 'GET [^ ]* q=[^ ]*\( range=[^ ]*\)\? fault=[^ ]* status=[0-9]*' "$FP_LOG" | tr '\n' ';')"
fp_stop
rm -f mid.bin mid.got
ok_since "$nf" "40 MB in 5 MiB parts up with 5% faults ($up_faults), download cut twice and resumed"

# ---- every request fails, or the server is unreachable: a bounded, clear failure -----------
head -c $((20 * 1048576)) /dev/urandom >f20.bin
"$PGWARD" repo put keep/f20.bin f20.bin "${DIRECT[@]}" >/dev/null || tk_fail "direct put failed"
# fail_all NAME BOUND_SECONDS NEEDLE ENDPOINT [PGWARD OPTIONS...]: put a new object and get an
# existing one through ENDPOINT; both must fail (exit 30) within the bound, with NEEDLE, the
# object's address and a hint in the message; nothing may be left behind.
# Bound: a put is 3 requests (GET ?object-lock and ?versioning, whose failures are ignored,
# then HEAD of the key), each tried s3-max-attempts times with up to 0.2 x 2^n s between tries.
fail_all() {
  local name=$1 bound=$(($2 * SLOW)) needle=$3 ep=$4 nf=${#FAILED[@]} put_ms get_ms
  shift 4
  local -a via=(--repo "$REPO" --s3-endpoint "$ep" --s3-max-attempts 3 "$@")
  run repo put "fail/$name.bin" f20.bin "${via[@]}"
  put_ms=$MS
  check_eq "$RC" 30 "$name: put exit status (stderr: $ERR)"
  check_has "$ERR" "$needle" "$name: put says what failed"
  check_has "$ERR" "s3://$B/faults/fail/$name.bin" "$name: put names the object"
  check_has "$ERR" "HINT:" "$name: put gives a hint"
  ((MS < bound * 1000)) || bad "$name: put took $(secs "$MS") (bound $bound s)"
  run repo get keep/f20.bin -o "got-$name.bin" "${via[@]}"
  check_eq "$RC" 30 "$name: get exit status (stderr: $ERR)"
  check_has "$ERR" "$needle" "$name: get says what failed"
  check_has "$ERR" "s3://$B/faults/keep/f20.bin" "$name: get names the object"
  get_ms=$MS
  ((MS < bound * 1000)) || bad "$name: get took $(secs "$MS") (bound $bound s)"
  [ ! -e "got-$name.bin" ] || bad "$name: a failed get left its output file"
  nothing_left "$name" "fail/$name.bin"
  ok_since "$nf" "$name: put failed in $(secs "$put_ms"), get in $(secs "$get_ms") (bound $bound s), nothing left behind"
}
fp_start all503 --fault-rate 1 --faults 503 || tk_fail "fp_start failed"
fail_all 503 15 "HTTP 503" "$FP_URL"
fp_stop
fp_start alldrop --fault-rate 1 --faults drop-request || tk_fail "fp_start failed"
fail_all drop-request 15 "failed: " "$FP_URL"
fp_stop
# stalls: 3 requests x 2 attempts x s3-timeout (2 s), plus libcurl's speed-averaging lag
fp_start allstall --fault-rate 1 --faults stall --stall-seconds 60 || tk_fail "fp_start failed"
fail_all stall 30 "failed: " "$FP_URL" --s3-max-attempts 2 --s3-timeout 2
fp_stop
closed=$(fp_closed_port) || tk_fail "no closed port found"
fail_all unreachable 15 "connect" "http://127.0.0.1:$closed"

# ---- faults that begin after the multipart upload was initiated -----------------------------
# Every part upload fails; pgward's abort (DELETE ?uploadId) gets through.
nf=${#FAILED[@]}
fp_start parts503 --fault-rate 1 --faults 503 --match '^PUT [^ ]*[?&]partNumber=' ||
  tk_fail "fp_start failed"
run repo put parts/f20.bin f20.bin --repo "$REPO" --s3-endpoint "$FP_URL" --s3-max-attempts 3 \
  --s3-part-size 5MiB
parts_ms=$MS
check_eq "$RC" 30 "failing parts: put exit status (stderr: $ERR)"
check_has "$ERR" "HTTP 503 SlowDown" "failing parts: the error names the server's code"
grep -q "DELETE /$B/faults/parts/f20.bin q=uploadId fault=none status=204" "$FP_LOG" ||
  bad "failing parts: pgward did not abort the multipart upload"
nothing_left parts "parts/f20.bin"
fp_stop
ok_since "$nf" "parts failing after the upload began: exit 30 in $(secs "$parts_ms"), upload aborted, nothing left"

# Every request after the 5th fails: the 4th initiates the upload, one part gets through, and
# then the other parts, CompleteMultipartUpload and pgward's own AbortMultipartUpload fail.
# The upload then stays open, which pgward can only report: it must name it in a warning
# (and "repo abort-uploads" must remove it). With an abort that got through, nothing is left.
nf=${#FAILED[@]}
fp_start after5 --fault-rate 1 --faults 503 --start-after 5 || tk_fail "fp_start failed"
run repo put after/f20.bin f20.bin --repo "$REPO" --s3-endpoint "$FP_URL" --s3-max-attempts 3 \
  --s3-part-size 5MiB
after_ms=$MS
after_err=$ERR
check_eq "$RC" 30 "all failing after 5 requests: put exit status (stderr: $ERR)"
check_has "$ERR" "HTTP 503 SlowDown" "all failing after 5 requests: the error names the server's code"
grep -q "#4 POST /$B/faults/after/f20.bin q=uploads fault=none status=200" "$FP_LOG" ||
  bad "the 4th request did not initiate the multipart upload: $(head -6 "$FP_LOG" | tr '\n' ';')"
aborts=$(grep -c "DELETE /$B/faults/after/f20.bin q=uploadId " "$FP_LOG" || true)
fp_stop
run repo uploads "${DIRECT[@]}"
if [ -z "$OUT" ]; then
  nothing_left after "after/f20.bin"
  ok_since "$nf" "all failing after the upload began: exit 30 in $(secs "$after_ms"), nothing left"
else
  id=$(awk '{print $3}' <<<"$OUT")
  check_eq "$(wc -l <<<"$OUT")" 1 "one upload left open"
  check_has "$OUT" "after/f20.bin" "the upload left open is the failed one"
  check_has "$after_err" "could not abort multipart upload $id of faults/after/f20.bin" \
    "the upload left open is named in a warning"
  run repo abort-uploads "${DIRECT[@]}"
  check_eq "$RC:$OUT" "0:aborted 1 incomplete upload" "repo abort-uploads removes it"
  nothing_left after "after/f20.bin"
  ok_since "$nf" "all failing after the upload began: exit 30 in $(secs "$after_ms"); the abort failed too ($aborts tries), the upload stayed open, was named in a warning and removed by abort-uploads"
fi

# ---- a response cut right after its status line is not a complete response -----------------
# ("HTTP/1.1 200 OK" and then the connection closes: libcurl reports success for that.)
# Under their own prefix: a leftover here must not disturb the checks above.
nf=${#FAILED[@]}
CUT=(--repo "s3://$B/cut" --s3-timeout 3 --s3-part-size 5MiB)
"$PGWARD" repo put keep.bin f20.bin --repo "s3://$B/cut" --s3-endpoint "$S3_ENDPOINT" >/dev/null ||
  tk_fail "direct put failed"
# cut_once NAME ERE: a proxy whose first request matching ERE gets only the status line back
cut_once() {
  fp_start "$1" --faults drop-head --fault-rate 1 --max-faults 1 --match "$2" ||
    tk_fail "fp_start failed"
}
cut_once head-part '^PUT [^ ]*[?&]partNumber='
run repo put part.bin f20.bin "${CUT[@]}" --s3-endpoint "$FP_URL"
check_eq "$RC" 0 "a part PUT answered with a bare status line: put exit status (stderr: $ERR)"
check_eq "$(fp_count drop-head)" 1 "the proxy cut one part PUT after its status line"
fp_stop
cut_once head-get "^GET /$B/cut/keep\\.bin\$"
run repo get keep.bin -o cut-get.bin "${CUT[@]}" --s3-endpoint "$FP_URL"
check_eq "$RC" 0 "a GET answered with a bare status line: get exit status (stderr: $ERR)"
cmp -s f20.bin cut-get.bin ||
  bad "a GET answered with a bare status line: got $(stat -c %s cut-get.bin 2>/dev/null || echo no) bytes of 20971520, exit $RC"
fp_stop
cut_once head-stat "^HEAD /$B/cut/keep\\.bin\$"
run repo get keep.bin -o cut-stat.bin "${CUT[@]}" --s3-endpoint "$FP_URL"
check_eq "$RC" 0 "the HEAD before a GET answered with a bare status line: get exit status (stderr: $ERR)"
cmp -s f20.bin cut-stat.bin ||
  bad "the HEAD before a GET answered with a bare status line: got $(stat -c %s cut-stat.bin 2>/dev/null || echo no) bytes of 20971520, exit $RC"
fp_stop
cut_once head-init '^POST [^ ]*[?&]uploads(=|&|$)'
run repo put init.bin f20.bin "${CUT[@]}" --s3-endpoint "$FP_URL"
check_eq "$RC" 0 "CreateMultipartUpload answered with a bare status line: put exit status (stderr: $ERR)"
fp_stop
run repo uploads --repo "s3://$B/cut" --s3-endpoint "$S3_ENDPOINT"
check_eq "$RC:$OUT" "0:" "CreateMultipartUpload answered with a bare status line: no upload left open"
# an upload that is open must be listed, even when the listing is cut
run repo abort-uploads --repo "s3://$B/cut" --s3-endpoint "$S3_ENDPOINT"
code=$(s3_curl POST "/$B/cut/open.bin?uploads=" -o /dev/null -w '%{http_code}') || code=curl-failed
check_eq "$code" 200 "starting a multipart upload with curl"
cut_once head-list '^GET [^ ]*[?&]uploads(=|&|$)'
run repo uploads --repo "s3://$B/cut" --s3-endpoint "$FP_URL"
check_has "$RC:$OUT" "open.bin" "a ListMultipartUploads answered with a bare status line: the open upload is listed (exit $RC, stderr: $ERR)"
fp_stop
run repo abort-uploads --repo "s3://$B/cut" --s3-endpoint "$S3_ENDPOINT"
rm -f cut-get.bin cut-stat.bin
ok_since "$nf" "responses cut after their status line (part PUT, GET, HEAD, CreateMultipartUpload, ListMultipartUploads) are retried"

# ---- a hostile or broken endpoint: no hang, no endless read, a signal is honoured -----------
# (issue 11, point 5) An endless body is cut at the object's recorded size; a body that
# trickles in fails at the deadline (s3-total-timeout); SIGTERM during a stalled download
# ends pgward with 130 within about a second.
nf=${#FAILED[@]}
head -c 100000 /dev/urandom >small.bin
head -c $((2 * 1048576)) /dev/urandom >two.bin
"$PGWARD" repo put hostile/small.bin small.bin "${DIRECT[@]}" >/dev/null || tk_fail "direct put failed"
"$PGWARD" repo put hostile/two.bin two.bin "${DIRECT[@]}" >/dev/null || tk_fail "direct put failed"
fp_start endless --faults endless-body --fault-rate 1 --match "^GET /$B/faults/hostile/small\\.bin\$" ||
  tk_fail "fp_start failed"
run repo get hostile/small.bin -o endless.got --repo "$REPO" --s3-endpoint "$FP_URL" --s3-total-timeout 60
check_eq "$RC" 30 "endless body: exit status (stderr: $ERR)"
check_has "$ERR" "more than the 100000 bytes the object holds" "endless body: the error says what happened"
check_has "$ERR" "HINT:" "endless body: a hint"
((MS < 10000 * SLOW)) || bad "endless body: took $(secs "$MS")"
[ ! -e endless.got ] || bad "endless body: a failed get left its output file"
endless_ms=$MS
fp_stop
fp_start slow --faults trickle --fault-rate 1 --trickle-bps 20000 --trickle-bytes 100000000 \
  --match "^GET /$B/faults/hostile/two\\.bin\$" || tk_fail "fp_start failed"
run repo get hostile/two.bin -o slow.got --repo "$REPO" --s3-endpoint "$FP_URL" --s3-total-timeout 5
check_eq "$RC" 30 "slow body: exit status (stderr: $ERR)"
check_has "$ERR" "did not finish in time" "slow body: the error names the deadline"
check_has "$ERR" "s3-total-timeout" "slow body: the hint names s3-total-timeout"
((MS >= 4000 && MS < 12000 * SLOW)) || bad "slow body: failed after $(secs "$MS") (deadline 5 s)"
slow_ms=$MS
fp_stop
fp_start stallget --faults stall --fault-rate 1 --stall-seconds 120 \
  --match "^GET /$B/faults/hostile/small\\.bin\$" || tk_fail "fp_start failed"
set +e
"$PGWARD" repo get hostile/small.bin -o stall.got --repo "$REPO" --s3-endpoint "$FP_URL" \
  --s3-timeout 300 >stall.out 2>stall.err &
pid=$!
# wait until the GET reached the proxy (its connection is open), then stop pgward
for _ in $(seq 100); do
  grep -q "#2 HEAD\|HEAD /$B/faults/hostile/small.bin" "$FP_LOG" 2>/dev/null && break
  sleep 0.1
done
sleep 1.5
t0=${EPOCHREALTIME//[.,]/}
kill -TERM "$pid"
wait "$pid"
RC=$?
set -e
term_ms=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
check_eq "$RC" 130 "SIGTERM during a stalled download: exit status (stderr: $(<stall.err))"
((term_ms < 1500 * SLOW)) || bad "SIGTERM during a stalled download: exited after $(secs "$term_ms")"
[ ! -e stall.got ] || bad "SIGTERM during a stalled download left its output file"
for _ in $(seq 30); do grep -q "GET /$B/faults/hostile/small.bin .*fault=stall" "$FP_LOG" && break; sleep 0.1; done
grep -q "GET /$B/faults/hostile/small.bin .*fault=stall" "$FP_LOG" ||
  bad "SIGTERM during a stalled download: the GET was not stalled at the proxy: $(tr '\n' ';' <"$FP_LOG")"
fp_stop
rm -f small.bin two.bin slow.got
ok_since "$nf" "hostile endpoint: endless body cut in $(secs "$endless_ms"), slow body stopped at the deadline in $(secs "$slow_ms"), SIGTERM in a stalled download honoured in $(secs "$term_ms")"

rm -f f20.bin
total_ms=$(((${EPOCHREALTIME//[.,]/} - T_START) / 1000))
if ((${#FAILED[@]} > 0)); then
  printf 'FAIL: %s\n' "${FAILED[@]}" >&2
  tk_fail "${#FAILED[@]} check(s) failed, in $(secs "$total_ms")"
fi
echo "s3 faults: all checks passed in $(secs "$total_ms")"
