#!/usr/bin/env bash
# test_serve_tags.sh - several schedule entries per stanza, each with its own retention,
# against real PostgreSQL 15: "serve --once" tags each backup with the entries whose slots
# it stands for (a missed run: every entry; the next run: the one whose slot came), the
# tags are in the signed manifest (list shows them), "backup --tag NAME:KEEP" does the same
# by hand, and expire keeps a backup while one of its tags' keep covers it, on top of the
# other rules. Bad entries and bad --tag values are refused with a hint.
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
export PGWARD_DB_PASSWORD=bk-Secret-123
mkdir repo
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"

# two hourly entries whose last slots were 10 and 30 minutes ago (whatever the time now):
# "a" kept 2 days, "b" kept 30 days
min=$((10#$(date -u +%M)))
ma=$(( (min + 50) % 60 )) mb=$(( (min + 30) % 60 ))
conf() { cat > "$1"; chmod 600 "$1"; }
conf serve.conf <<C
[global]
repo = $TK_TMP/repo
recipient = $R
[shop]
db = $DB
backup-schedule = *-*-* *:$(printf %02d $ma) UTC keep 2d tag a; *-*-* *:$(printf %02d $mb) UTC keep 30d tag b
schedule-jitter = 0
C

# check-config shows each entry with its tag, keep and next runs
out=$("$PGWARD" serve --check-config --config serve.conf --state-file state.json) ||
  tk_fail "check-config: $out"
tk_assert_contains "$out" "entry 1: *-*-* *:$(printf %02d $ma) UTC  (zone UTC, tag a, keep 2d)" "entry a"
tk_assert_contains "$out" "entry 2: *-*-* *:$(printf %02d $mb) UTC  (zone UTC, tag b, keep 30d)" "entry b"
tk_assert_contains "$out" "  tags a" "the next run's tags"
"$PGWARD" serve --check-config --config serve.conf --state-file state.json --output=json |
  python3 -c "
import json, sys; j = json.load(sys.stdin)['stanzas'][0]['jobs'][0]
assert [e['tag'] for e in j['entries']] == ['a', 'b'], j
assert [e['keep_seconds'] for e in j['entries']] == [172800, 2592000], j
assert j['next'][0]['tags'] == ['b'] and j['next'][1]['tags'] == ['a'] and len(j['entries'][0]['next']) == 3, j" ||
  tk_fail "check-config JSON"

state_set() { # set fields of the shop backup entry in the state file
  python3 - state.json "$@" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    s["stanzas"]["shop"]["backup"][k] = v
json.dump(s, open(p, "w"))
PY
  chmod 600 state.json
}
ago() { date -u -d "-$1 minutes" +%Y-%m-%dT%H:%M:%SZ; }
manifest_tags() { # manifest_tags N: "name:keep ..." of the Nth backup (oldest first)
  python3 - "$1" <<'PY'
import json, os, sys
d = sorted(os.listdir("repo/shop"))[int(sys.argv[1])]
m = json.load(open(os.path.join("repo/shop", d, "manifest.json")))
print(" ".join("%s:%s" % (t["name"], t["keep_seconds"]) for t in m.get("tags", [])))
PY
}

# 1: the schedule was first seen long ago: one missed run, standing for both entries
printf '{"format":"pgward-service-state","version":1,"stanzas":{"shop":{"backup":{}}}}' > state.json
state_set first_seen=2026-01-01T00:00:00Z
tk_assert_contains "$("$PGWARD" serve --check-config --config serve.conf --state-file state.json)" \
  "(missed, tags a,b)" "check-config shows what the missed run will stand for"
"$PGWARD" serve --once --config serve.conf --state-file state.json --log-level info 2> once1.err ||
  tk_fail "serve --once: $(cat once1.err)"
tk_assert_eq "$(grep -c 'starting the backup' once1.err)" "1" "one run for the missed slots"
tk_assert_eq "$(manifest_tags 0)" "a:172800 b:2592000" "the missed run stands for both entries"
grep -q '"command":"backup".*"tags":\["a:2d","b:30d"\]' "$PGWARD_AUDIT_LOG" || tk_fail "the tags are audited"

# 2: the last success began 15 minutes ago: only entry a's slot (10 minutes ago) came since
tk_next_second
state_set last_start="$(ago 15)" last_success_start="$(ago 15)" last_success="$(ago 14)" last_end="$(ago 14)"
"$PGWARD" serve --once --config serve.conf --state-file state.json --log-level info 2> once2.err ||
  tk_fail "serve --once: $(cat once2.err)"
tk_assert_eq "$(grep -c 'starting the backup' once2.err)" "1" "one run for a's slot"
tk_assert_eq "$(manifest_tags 1)" "a:172800" "the next run stands for entry a only"
python3 -c "
import json; s = json.load(open('state.json'))['stanzas']['shop']['backup']
assert s['result'] == 'ok' and s['last_success_start'] == s['last_start'], s" || tk_fail "state records the success's start"
# nothing is due any more
"$PGWARD" serve --once --config serve.conf --state-file state.json --log-level info 2> once3.err
tk_assert_eq "$(grep -c 'starting the backup' once3.err || true)" "0" "nothing due"

# 3, 4: by hand, untagged and tagged
back() { "$PGWARD" backup shop --db "$DB" --repo repo -r "$R" "$@" >/dev/null 2>&1 || tk_fail "backup $*"; }
tk_next_second; back
tk_next_second; back --tag manual:10d --tag release
tk_assert_eq "$(manifest_tags 2)" "" "an untagged backup has no tags"
tk_assert_eq "$(manifest_tags 3)" "manual:864000 release:None" "tags by hand"
ids=($(ls repo/shop))
out=$("$PGWARD" list shop --repo repo)
tk_assert_contains "$out" "tags: a (keep 2d) b (keep 30d)" "list shows the tags"
tk_assert_contains "$out" "tags: manual (keep 10d) release" "list shows hand tags"

# expire with little base retention: each backup is kept while a tag's keep covers it
at() { date -u -d "+$1" +%Y-%m-%dT%H:%M:%SZ; }
ret=(--retention-days 1 --retention-min 1) # signed and trusted: the harness key (PGWARD_SIGN_KEY)
decisions() { # "keep|remove" per backup, oldest first, and the reasons of the first
  python3 -c "
import json, sys; r = json.load(sys.stdin)
print(' '.join(b['action'] for b in r['backups']))
print(r['backups'][0]['reasons'])"
}
out=$(PGWARD_NOW=$(at '36 hours') "$PGWARD" expire shop --repo repo "${ret[@]}" --dry-run --output=json | decisions)
tk_assert_eq "$(head -1 <<<"$out")" "keep keep remove keep" "after 36 hours: a and b keep theirs, the untagged one goes"
tk_assert_contains "$out" 'tagged "b", kept 30d' "the reason names the tag"
out=$(PGWARD_NOW=$(at '5 days') "$PGWARD" expire shop --repo repo "${ret[@]}" --output=json | decisions) ||
  tk_fail "expire: $out"
tk_assert_eq "$(head -1 <<<"$out")" "keep remove remove keep" "after 5 days: a's keep has passed"
tk_assert_eq "$(ls repo/shop | tr '\n' ' ')" "${ids[0]} ${ids[3]} " "expire removed exactly those"
out=$(PGWARD_NOW=$(at '40 days') "$PGWARD" expire shop --repo repo "${ret[@]}" --dry-run --output=json | decisions)
tk_assert_eq "$(head -1 <<<"$out")" "remove keep" "after 40 days: every keep has passed"

# bad entries and tags: refused, with a hint
conf bad.conf <<C
[global]
repo = $TK_TMP/repo
recipient = $R
[shop]
db = $DB
backup-schedule = hourly keep 2d; *-*-* 00/6:00 keep 30d
C
expect_fail 3 "a keep needs a name" serve --check-config --config bad.conf --state-file state.json
sed -i 's/^backup-schedule = .*/backup-schedule = hourly keep 2d tag x\/y/' bad.conf
expect_fail 3 'bad tag "x/y"' serve --check-config --config bad.conf --state-file state.json
sed -i 's/^backup-schedule = .*/backup-schedule = hourly\nexpire-schedule = daily keep 2d/' bad.conf
expect_fail 3 "keep and tag belong to backup-schedule entries" serve --check-config --config bad.conf --state-file state.json
expect_fail 3 'bad tag name "../x"' backup shop --db "$DB" --repo repo -r "$R" --tag ../x:2d
expect_fail 3 'bad keep "2m"' backup shop --db "$DB" --repo repo -r "$R" --tag daily:2m
expect_fail 3 'tag "d" is given twice' backup shop --db "$DB" --repo repo -r "$R" --tag d --tag d:1d
tk_assert_eq "$(ls repo/shop | wc -l)" "2" "a refused backup writes nothing"
tk_pass
