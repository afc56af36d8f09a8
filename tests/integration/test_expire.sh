#!/usr/bin/env bash
# test_expire.sh - retention against a generated 400-day history (injectable clock):
# the keep set matches an independent computation for several policies (GFS, pins),
# dry run and real run agree, incomplete backups and stale uploads are cleaned, an
# interrupted expire never leaves a manifest without its data, and object-locked
# backups on S3 are reported, not errors.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/s3.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
export PGWARD_NOW=2026-11-22T12:00:00Z
# the generated histories are unsigned: this file tests retention (test_sign.sh: signatures)

gen() { # gen REPO DAYS: one complete backup a day at 03:00 UTC, DAYS days back
  python3 - "$1" "$2" <<'PY'
import datetime, hashlib, json, os, sys
repo, days = sys.argv[1], int(sys.argv[2])
now = datetime.datetime(2026, 11, 22, 12, 0, 0)
for d in range(days):
    t = (now - datetime.timedelta(days=d)).replace(hour=3, minute=0, second=0)
    bid = t.strftime("%Y%m%dT%H%M%SZ") + "-%04x" % d
    p = os.path.join(repo, "db1", bid)
    os.makedirs(p, exist_ok=True)
    data = os.urandom(64)
    open(os.path.join(p, "data.pgdump.zst.age"), "wb").write(data)
    m = {"format": 1, "stanza": "db1", "backup_id": bid, "status": "complete",
         "started": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "objects": [{"name": "data.pgdump.zst.age", "size": 64, "sha256": hashlib.sha256(data).hexdigest()}]}
    open(os.path.join(p, "manifest.json"), "w").write(json.dumps(m))
PY
}

expected() { # expected DAYS MIN DAILY WEEKLY MONTHLY YEARLY [PINNED_ID]: independent computation
  python3 - "$@" <<'PY'
import datetime, sys
days, mn, daily, weekly, monthly, yearly = map(int, sys.argv[1:7])
pinned = sys.argv[7] if len(sys.argv) > 7 else ""
now = datetime.datetime(2026, 11, 22, 12, 0, 0)
bs = []
for d in range(400):
    t = (now - datetime.timedelta(days=d)).replace(hour=3, minute=0, second=0)
    bs.append((t, t.strftime("%Y%m%dT%H%M%SZ") + "-%04x" % d))
bs.sort()  # oldest first
keep = set()
for i, (t, b) in enumerate(bs):
    if (now - t).total_seconds() < days * 86400: keep.add(b)
    if len(bs) - i <= mn: keep.add(b)
    if b == pinned: keep.add(b)
def gfs(n, key):
    seen = []
    for t, b in reversed(bs):
        k = key(t)
        if k in seen: continue
        if len(seen) >= n: break
        seen.append(k); keep.add(b)
gfs(daily, lambda t: t.date())
gfs(weekly, lambda t: t.isocalendar()[:2])
gfs(monthly, lambda t: (t.year, t.month))
gfs(yearly, lambda t: t.year)
print("\n".join(sorted(keep)))
PY
}

# the backups left (lock/ holds the stanza's lease objects: docs/service.md, "Across hosts")
kept_after() { ls "$1/db1" | grep -vx lock | sort; }

check_policy() { # name, expected args..., -- pgward args...
  local name=$1; shift
  local exp_args=() ; while [ "$1" != "--" ]; do exp_args+=("$1"); shift; done; shift
  rm -rf "r-$name"; gen "r-$name" 400
  want=$(expected "${exp_args[@]}")
  dry=$("$PGWARD" expire --allow-unsigned --repo "r-$name" --dry-run "$@" | awk '$1 == "keep" {print $2}' | sed 's|^db1/||' | sort)
  tk_assert_eq "$dry" "$want" "dry run keep set, policy $name"
  [ "$(kept_after "r-$name" | wc -l)" = 400 ] || tk_fail "dry run changed something ($name)"
  "$PGWARD" expire --allow-unsigned --repo "r-$name" "$@" > "expire-$name.out"
  tk_assert_eq "$(kept_after "r-$name")" "$want" "real run keeps what the dry run said, policy $name"
  echo "policy $name: kept $(echo "$want" | wc -l) of 400"
}

check_policy default 30 3 0 0 0 0 --
check_policy gfs 0 0 7 4 6 2 -- --retention-days 0 --retention-min 0 --retention-daily 7 --retention-weekly 4 --retention-monthly 6 --retention-yearly 2
check_policy mixed 14 20 0 8 0 3 -- --retention-days 14 --retention-min 20 --retention-weekly 8 --retention-yearly 3

# pins: an old backup survives, and the reason says so; unpinning lets it go
rm -rf rp; gen rp 400
old=$(ls rp/db1 | sort | head -1)
"$PGWARD" pin "$old" --repo rp | grep -q "pinned db1/$old" || tk_fail "pin"
out=$("$PGWARD" expire --allow-unsigned --repo rp --dry-run)
tk_assert_contains "$out" "keep    db1/$old  (pinned)" "pinned backup kept"
tk_assert_eq "$(echo "$out" | awk '$1 == "keep" {print $2}' | sed 's|^db1/||' | sort)" "$(expected 30 3 0 0 0 0 "$old")" "keep set with a pin"
"$PGWARD" unpin "$old" --repo rp >/dev/null
"$PGWARD" expire --allow-unsigned --repo rp --dry-run | grep -q "would remove db1/$old" || tk_fail "unpin"
"$PGWARD" verify --allow-unsigned --repo rp --backup "$old" | grep -q pass || tk_fail "pin markers are not strays"

# incomplete backups: old ones go, recent ones (maybe still running) stay; stale temp files too
rm -rf ri; gen ri 5
mkdir -p ri/db1/20261101T030000Z-dead ri/db1/20261122T110000Z-live
echo x > ri/db1/20261101T030000Z-dead/data.pgdump.zst.age
echo x > ri/db1/20261122T110000Z-live/data.pgdump.zst.age
echo x > ri/db1/20261122T110000Z-live/.pgward-tmp-details.json.age.1.00000000
touch -d 2026-11-01 ri/db1/20261122T110000Z-live/.pgward-tmp-details.json.age.1.00000000
out=$("$PGWARD" expire --allow-unsigned --repo ri --dry-run)
tk_assert_contains "$out" "would remove db1/20261101T030000Z-dead" "dry run lists the old incomplete"
tk_assert_contains "$out" "$(grep -c '^would remove' <<<"$out") would be removed" "the dry run's summary counts what it lists"
out=$("$PGWARD" expire --allow-unsigned --repo ri)
tk_assert_contains "$out" "removed db1/20261101T030000Z-dead  (incomplete, older than incomplete-grace)" "old incomplete removed"
tk_assert_contains "$out" "keep    db1/20261122T110000Z-live  (incomplete, may still be running)" "recent incomplete kept"
tk_assert_contains "$out" "aborted stale upload of db1/20261122T110000Z-live/details.json.age" "stale temp file aborted"
[ -e ri/db1/20261101T030000Z-dead ] && tk_fail "incomplete backup left"

# an expire killed halfway never leaves a manifest without its data
for trial in 1 2 3 4 5; do
  rm -rf rk; gen rk 400
  "$PGWARD" expire --allow-unsigned --repo rk --retention-days 0 --retention-min 1 >/dev/null 2>&1 &
  p=$!
  sleep "0.0$trial"; kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  for m in rk/db1/*/manifest.json; do
    [ -e "$m" ] || continue
    [ -e "$(dirname "$m")/data.pgdump.zst.age" ] || tk_fail "manifest without data after a killed expire"
  done
done
"$PGWARD" expire --allow-unsigned --repo rk --retention-days 0 --retention-min 1 >/dev/null
tk_assert_eq "$(ls rk/db1 | grep -vx lock | wc -l)" 1 "the next expire finishes the job"

# object lock on S3: locked backups are reported as retained, not as errors
s3_start
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET PGWARD_S3_ENDPOINT=$S3_ENDPOINT
L="s3://$S3_BUCKET_LOCKED/exp"
dsha=$(printf 'data\n' | sha256sum | cut -d' ' -f1)
for id in 20250101T030000Z-0001 20250102T030000Z-0002; do
  echo data | "$PGWARD" repo put "db1/$id/data.pgdump.zst.age" --repo "$L" --lock-days 1 >/dev/null
  printf '{"format":1,"stanza":"db1","backup_id":"%s","status":"complete","started":"%s","objects":[{"name":"data.pgdump.zst.age","size":5,"sha256":"%s"}]}' "$id" "${id:0:4}-${id:4:2}-${id:6:2}T03:00:00Z" "$dsha" |
    "$PGWARD" repo put "db1/$id/manifest.json" --repo "$L" --lock-days 1 >/dev/null
done
out=$("$PGWARD" expire --allow-unsigned --repo "$L" --retention-days 0 --retention-min 0) || tk_fail "expire failed because of a lock"
tk_assert_contains "$out" "retained db1/20250101T030000Z-0001" "lock reported"
tk_assert_contains "$out" "(object lock); a later expire removes it" "lock reported with its date"
tk_assert_contains "$out" "0 kept, 0 removed, 2 retained by object lock" "a locked backup is not counted as removed"
tk_assert_eq "$("$PGWARD" repo ls db1/ --repo "$L" | grep -c manifest.json)" 2 "locked manifests kept with their data"
out=$("$PGWARD" expire --allow-unsigned --repo r-default --retention-days 7 2>&1 >/dev/null)
tk_assert_contains "$out" "14 to 30 days" "short retention warns"
echo "expire: all checks passed"
