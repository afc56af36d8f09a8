#!/usr/bin/env bash
# Integration test: the harness's S3 server (Ceph RADOS Gateway) is a real,
# strict S3: big objects round-trip, signatures and payload hashes are
# verified, and the locked bucket enforces Object Lock.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$(dirname "$0")/../harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/s3.sh
source "$(dirname "$0")/../harness/s3.sh"

t0=${EPOCHREALTIME//[.,]/}
s3_start || tk_fail "s3_start failed"
ms=$(( (${EPOCHREALTIME//[.,]/} - t0) / 1000 ))
echo "S3 server up at ${S3_ENDPOINT} in ${ms} ms (CEPH_DIR ${CEPH_DIR})"

for v in S3_ENDPOINT S3_REGION S3_ACCESS S3_SECRET S3_BUCKET_PLAIN S3_BUCKET_LOCKED CEPH_DIR; do
    [[ -n "$(printenv "$v")" ]] || tk_fail "$v not exported"
done
tk_assert_eq "${AWS_EC2_METADATA_DISABLED:-}" "true" "AWS_EC2_METADATA_DISABLED"
tk_assert_contains "${S3_ENDPOINT}" "http://127.0.0.1:" "endpoint is loopback"
tk_pass "exported variables set"

P=${S3_BUCKET_PLAIN}
L=${S3_BUCKET_LOCKED}
W=${TK_TMP}/work
mkdir -p "$W"

# req METHOD PATH [CURL ARGS...]: body to $W/body, headers to $W/hdr, prints
# the HTTP status.
req() {
    local m=$1 p=$2
    shift 2
    s3_curl "$m" "$p" -o "$W/body" -D "$W/hdr" -w '%{http_code}' "$@"
}
hdr() { # hdr NAME: value of response header NAME from the last req
    local line
    while IFS= read -r line; do
        line=${line%$'\r'}
        if [[ "${line,,}" == "${1,,}:"* ]]; then
            line=${line#*:}
            printf '%s' "${line# }"
            return 0
        fi
    done <"$W/hdr"
    return 0
}

# 1. A 10 MB object round-trips.
head -c 10485760 /dev/urandom >"$W/10m"
code=$(req PUT "/$P/dir/big.bin" --data-binary @"$W/10m") || tk_fail "PUT 10 MB: curl failed"
tk_assert_eq "$code" 200 "PUT 10 MB"
code=$(s3_curl GET "/$P/dir/big.bin" -o "$W/10m.back" -w '%{http_code}') || tk_fail "GET 10 MB: curl failed"
tk_assert_eq "$code" 200 "GET 10 MB"
cmp -s "$W/10m" "$W/10m.back" || tk_fail "10 MB object differs after GET"
tk_pass "10 MB PUT + GET round-trips (cmp)"

# 2. The payload hash is verified when it is signed.
printf 'hello pgward\n' >"$W/small"
sha=$(sha256sum <"$W/small")
sha=${sha%% *}
code=$(req PUT "/$P/small" --data-binary @"$W/small" -H "x-amz-content-sha256: $sha")
tk_assert_eq "$code" 200 "PUT with the real sha256"
bad=$(printf 'other' | sha256sum)
bad=${bad%% *}
code=$(req PUT "/$P/small2" --data-binary @"$W/small" -H "x-amz-content-sha256: $bad")
tk_assert_eq "$code" 400 "PUT with a wrong sha256"
tk_assert_contains "$(cat "$W/body")" "XAmzContentSHA256Mismatch" "wrong sha256 error"
tk_pass "signed payload hash verified (XAmzContentSHA256Mismatch on mismatch)"

# 3. Wrong secret / unknown key are refused.
code=$(S3_SECRET="${S3_SECRET}x" req GET "/$P/small")
tk_assert_eq "$code" 403 "GET signed with a wrong secret"
tk_assert_contains "$(cat "$W/body")" "<Code>SignatureDoesNotMatch</Code>" "wrong-secret error"
code=$(S3_ACCESS="AKIANOSUCHKEY0000000" req GET "/$P/small")
tk_assert_eq "$code" 403 "GET with an unknown access key"
tk_assert_contains "$(cat "$W/body")" "<Code>InvalidAccessKeyId</Code>" "unknown-key error"
code=$(curl -sS --noproxy '*' -o "$W/body" -w '%{http_code}' "${S3_ENDPOINT}/$P/small")
tk_assert_eq "$code" 403 "anonymous GET of a private object"
tk_pass "wrong secret -> 403 SignatureDoesNotMatch; unknown key -> 403 InvalidAccessKeyId; anonymous -> 403"

# 4. Object Lock configuration. curl 7.88 signs "?object-lock" (no '=')
#    wrongly; "?object-lock=" is canonical and RGW accepts it.
code=$(req GET "/$L?object-lock=")
tk_assert_eq "$code" 200 "GET ?object-lock= on the locked bucket"
tk_assert_contains "$(cat "$W/body")" "<ObjectLockEnabled>Enabled</ObjectLockEnabled>" "object lock config"
code=$(req GET "/$L?versioning=")
tk_assert_eq "$code" 200 "GET ?versioning= on the locked bucket"
tk_assert_contains "$(cat "$W/body")" "<Status>Enabled</Status>" "versioning on the locked bucket"
code=$(req GET "/$P?object-lock=")
tk_assert_eq "$code" 404 "GET ?object-lock= on the plain bucket"
tk_assert_contains "$(cat "$W/body")" "ObjectLockConfigurationNotFoundError" "plain bucket has no lock"
if s3_curl GET "/$L?object-lock" -o /dev/null 2>/dev/null; then
    tk_fail "s3_curl accepted the non-canonical query '?object-lock'"
fi
tk_pass "locked bucket: object lock + versioning enabled; plain bucket: no lock config"

# 5. A GOVERNANCE-retained version cannot be deleted.
until=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
md5=$(openssl dgst -md5 -binary <"$W/small" | base64 -w0)
code=$(req PUT "/$L/locked.obj" --data-binary @"$W/small" -H "Content-MD5: $md5" \
    -H "x-amz-object-lock-mode: GOVERNANCE" \
    -H "x-amz-object-lock-retain-until-date: $until")
tk_assert_eq "$code" 200 "PUT with GOVERNANCE retention"
vid=$(hdr x-amz-version-id)
[[ "$vid" =~ ^[A-Za-z0-9._~-]+$ ]] || tk_fail "unexpected version id '$vid'"
code=$(req GET "/$L/locked.obj?retention=&versionId=$vid")
tk_assert_eq "$code" 200 "GET ?retention=&versionId="
tk_assert_contains "$(cat "$W/body")" "<Mode>GOVERNANCE</Mode>" "retention mode"
tk_pass "PUT into the locked bucket with GOVERNANCE retention until $until (version $vid)"

code=$(req DELETE "/$L/locked.obj?versionId=$vid")
tk_assert_eq "$code" 403 "DELETE of the retained version"
tk_assert_contains "$(cat "$W/body")" "<Code>AccessDenied</Code>" "retained-version delete error"
code=$(req GET "/$L/locked.obj?versionId=$vid")
tk_assert_eq "$code" 200 "GET of the retained version after the refused DELETE"
cmp -s "$W/body" "$W/small" || tk_fail "retained version changed"
tk_pass "DELETE ?versionId= of a retained version -> 403 AccessDenied; version still readable"

# A DELETE without versionId only adds a delete marker.
code=$(req DELETE "/$L/locked.obj")
tk_assert_eq "$code" 204 "plain DELETE on the versioned bucket"
tk_assert_eq "$(hdr x-amz-delete-marker)" "true" "x-amz-delete-marker"
code=$(req GET "/$L/locked.obj")
tk_assert_eq "$code" 404 "GET after the delete marker"
code=$(req GET "/$L/locked.obj?versionId=$vid")
tk_assert_eq "$code" 200 "GET of the retained version after the delete marker"
tk_pass "plain DELETE adds a delete marker; the locked version survives"

# GOVERNANCE (unlike COMPLIANCE) may be bypassed by the owner, explicitly.
code=$(req DELETE "/$L/locked.obj?versionId=$vid" -H "x-amz-bypass-governance-retention: true")
tk_assert_eq "$code" 204 "DELETE with x-amz-bypass-governance-retention"
tk_pass "GOVERNANCE bypass header allows the delete"

# 6. s3_stop kills everything and is idempotent.
dir=${CEPH_DIR}
t0=${EPOCHREALTIME//[.,]/}
s3_stop
ms=$(( (${EPOCHREALTIME//[.,]/} - t0) / 1000 ))
s3_stop
[[ ! -e "$dir" ]] || tk_fail "CEPH_DIR $dir still exists after s3_stop"
left=$(_s3_pids_with_arg "$dir/")
tk_assert_eq "$left" "" "processes of $dir after s3_stop"
if curl -s --noproxy '*' --max-time 2 -o /dev/null "${S3_ENDPOINT}/"; then
    tk_fail "endpoint still answers after s3_stop"
fi
tk_pass "s3_stop (${ms} ms) killed the cluster and removed its dir; second s3_stop is a no-op"
