#!/usr/bin/env bash
# record-replies.sh - record the S3 replies in replies/ from the test Ceph RGW
# (tests/harness/s3.sh), one request/response pair a file, for tests/unit/test_storage.c
# (s3_reply_classify, s3_error_parse). Run from the repository root:
#     bash tests/data/s3/record-replies.sh
# Each file: "#" comment lines (the request), "key: value" lines (expect: ok, retry, fail or
# notfound; code: the error code the classifier must read, "" for none; want-xml, body-data
# and ok-status describe the request), a line "--", the status line, then the body as the
# server sent it. The files without "recorded" in their comment are hand-written (replies
# RGW does not give on demand). Review the expectations after re-recording.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../harness/lib.sh"
source "$here/../../harness/s3.sh"
tk_tmpdir
s3_start >/dev/null || tk_fail "s3_start failed"
out=$here/replies
# record NAME EXPECT KEY:VALUE... -- METHOD PATH [CURL ARGS]
record() {
	local name=$1 expect=$2; shift 2
	local -a meta=()
	while [[ $1 != -- ]]; do meta+=("$1"); shift; done
	shift
	local method=$1 path=$2
	local body status
	status=$(s3_curl "$@" -o "$TK_TMP/body" -w '%{http_code}' 2>/dev/null || true)
	{
		printf '# %s %s (recorded from Ceph RGW, tests/harness/s3.sh)\n' "$method" "$path"
		printf 'expect: %s\n' "$expect"
		for m in "${meta[@]}"; do printf '%s\n' "$m"; done
		printf -- '--\n%s\n' "$status"
		cat "$TK_TMP/body"
	} >"$out/$name"
	echo "$name: HTTP $status"
}
B=$S3_BUCKET_PLAIN
s3_curl PUT "/$B/present" --data-binary 'hello' -o /dev/null
record get-ok ok 'code: ' 'body-data: yes' -- GET "/$B/present"
record get-missing notfound 'code: NoSuchKey' -- GET "/$B/absent"
record head-missing-ok-status ok 'code: ' 'ok-status: 404' -- GET "/$B/absent"
record no-such-bucket fail 'code: NoSuchBucket' -- GET "/pgward-no-such-bucket/x"
S3_SECRET=not-the-secret record bad-secret fail 'code: SignatureDoesNotMatch' -- GET "/$B/present"
S3_ACCESS=NOSUCHKEYID record bad-access-key fail 'code: InvalidAccessKeyId' -- GET "/$B/present"
record list-ok ok 'code: ' 'want-xml: yes' -- GET "/$B?list-type=2"
record multipart-start ok 'code: ' 'want-xml: yes' -- POST "/$B/mp?uploads="
record bad-upload-id fail 'code: NoSuchUpload' -- PUT "/$B/mp?partNumber=1&uploadId=nope" --data-binary x
record locked-bucket-delete-ok ok 'code: ' -- DELETE "/$S3_BUCKET_LOCKED/absent"
