#!/usr/bin/env bash
# test_repo_local.sh - the local-directory repository through the real binary: atomic,
# append-only writes, modes, listing, removal, incomplete uploads, and every bad input.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"

head -c 3000000 /dev/urandom > obj.bin
out=$("$PGWARD" repo put "db1/20261122T031500Z-1a2b/data.age" obj.bin --repo repo)
tk_assert_eq "$out" "$(sha256sum obj.bin | cut -d' ' -f1)  3000000  db1/20261122T031500Z-1a2b/data.age" "put reports sha256 and size"
tk_assert_eq "$(stat -c %a repo)" 700 "repository directory mode"
tk_assert_eq "$(stat -c %a repo/db1/20261122T031500Z-1a2b)" 700 "object directory mode"
tk_assert_eq "$(stat -c %a repo/db1/20261122T031500Z-1a2b/data.age)" 600 "object file mode"
"$PGWARD" repo get "db1/20261122T031500Z-1a2b/data.age" --repo "file://$TK_TMP/repo" | cmp -s - obj.bin || tk_fail "get via file:// differs"
"$PGWARD" repo get "db1/20261122T031500Z-1a2b/data.age" --repo repo -o got.bin
cmp -s got.bin obj.bin || tk_fail "get -o differs"
echo small | "$PGWARD" repo put "db1/z/manifest.json" --repo repo >/dev/null
echo other | "$PGWARD" repo put "db2/a" --repo repo >/dev/null
out=$("$PGWARD" repo ls --repo repo)
tk_assert_eq "$(echo "$out" | awk '{print $2}' | tr '\n' ' ')" "db1/20261122T031500Z-1a2b/data.age db1/z/manifest.json db2/a " "ls in key order"
tk_assert_eq "$("$PGWARD" repo ls db1/z --repo repo | awk '{print $2}')" "db1/z/manifest.json" "ls with a prefix"
"$PGWARD" repo ls --repo repo --output=json | grep -q '"size": 3000000' || tk_fail "ls json"

# append-only: an existing object is never replaced
before=$(sha256sum repo/db2/a)
expect_fail 6 "already exists" repo put db2/a obj.bin --repo repo
tk_assert_eq "$(sha256sum repo/db2/a)" "$before" "existing object untouched"

# removal cleans empty directories; missing objects are errors
"$PGWARD" repo rm db2/a --repo repo
[ -d repo/db2 ] && tk_fail "empty directory left after rm"
expect_fail 9 "does not exist" repo rm db2/a --repo repo
expect_fail 9 "does not exist" repo get nope --repo repo

# bad input: keys, addresses, a file where a directory should be, secrets in argv
expect_fail 2 "invalid object key" repo put ../escape obj.bin --repo repo
expect_fail 2 "invalid object key" repo put a//b obj.bin --repo repo
expect_fail 2 "invalid object key" repo get /abs --repo repo
expect_fail 2 "unknown repo subcommand" repo frob --repo repo
expect_fail 3 "no repository given" repo ls
expect_fail 3 "unsupported repository address" repo ls --repo ftp://x/y
expect_fail 3 "invalid S3 bucket name" repo ls --repo s3://Bad_Bucket
expect_fail 3 "invalid repository address" repo ls --repo file://relative
touch afile
expect_fail 30 "is not a directory" repo ls --repo afile
expect_fail 5 "may not be given on the command line" repo ls --repo s3://bucket --s3-secret-key=abc
expect_fail 3 "s3-parallel" repo ls --repo repo --s3-parallel 0
expect_fail 30 "object lock" repo put locked obj.bin --repo repo --lock-days 3
chmod 500 repo
if [ "$(id -u)" != 0 ]; then expect_fail 30 "could not" repo put x obj.bin --repo repo; fi
chmod 700 repo

# an interrupted put leaves no object; the temporary file it leaves after SIGKILL is
# listed as an incomplete upload and can be aborted
mkfifo in.fifo
( head -c 200000 /dev/urandom; sleep 5 ) > in.fifo &
w=$!
"$PGWARD" repo put db3/killed in.fifo --repo repo &
p=$!
put_tmp() { [ -n "$(find repo -name '.pgward-tmp-*')" ]; }
tk_wait_for 10 "the put's temporary file" put_tmp
kill -TERM "$p"; wait "$p" 2>/dev/null || true
kill "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true
[ -e repo/db3/killed ] && tk_fail "interrupted put left an object"
[ -n "$(find repo -name '.pgward-tmp-*')" ] && tk_fail "SIGTERM left a temporary file"
( head -c 200000 /dev/urandom; sleep 5 ) > in.fifo &
w=$!
"$PGWARD" repo put db3/killed in.fifo --repo repo &
p=$!
tk_wait_for 10 "the put's temporary file" put_tmp
kill -KILL "$p"; wait "$p" 2>/dev/null || true
kill "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true
[ -e repo/db3/killed ] && tk_fail "killed put left an object"
tk_assert_contains "$("$PGWARD" repo uploads --repo repo)" "db3/killed" "leftover listed as an incomplete upload"
"$PGWARD" repo ls --repo repo | grep -q killed && tk_fail "leftover listed as an object"
out=$("$PGWARD" repo abort-uploads --repo repo 2>&1; echo "rc=$?")
tk_assert_eq "$out" "aborted 1 incomplete upload
rc=0" "abort-uploads"
[ -n "$(find repo -name '.pgward-tmp-*')" ] && tk_fail "abort-uploads left the temporary file"

# repo check
out=$("$PGWARD" repo check --repo repo)
tk_assert_contains "$out" "verdict:      this repository can hold backups" "check verdict"
"$PGWARD" repo check --repo repo --output=json | grep -q '"usable": true' || tk_fail "check json"
tk_assert_eq "$("$PGWARD" repo ls pgward-probe --repo repo)" "" "check removes its probe"
echo "repo local: all checks passed"
