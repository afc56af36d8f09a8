#!/usr/bin/env bash
# test_progress.sh - the live progress line, in a real pseudo-terminal (script(1)): it fits
# 40 and 200 columns at every refresh, names the phase, the table and how many tables are
# done; restore and verify show a percentage of the manifest's sizes; --no-progress,
# PGWARD_PROGRESS=no and a stderr that is not a terminal turn it off; TERM=dumb gets no
# escape sequences.
source "$(dirname "$0")/../harness/lib.sh"
source "$(dirname "$0")/../harness/sample.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
command -v script >/dev/null || tk_skip "script(1) is not installed (bsdutils)"
pg_start >/dev/null
pg_sample_db shop 20000
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
create table public."a table name long enough to be cut on a narrow terminal, surely" (x int);
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=bk
DB="postgresql://backup@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"

# in_pty COLS OUTFILE ARGS...: run pgward in a pseudo-terminal of COLS columns
in_pty() {
  local cols=$1 out=$2; shift 2
  local cmd
  printf -v cmd '%q ' "$PGWARD" "$@"
  script -qec "stty cols $cols rows 24; $cmd" /dev/null > "$out" 2>&1 < /dev/null
}

# every refresh of the line: split on CR and LF, escape sequences removed
segments() { sed 's/\x1b\[K//g' "$1" | tr '\r' '\n' | grep -v '^ *$' || true; }

for cols in 40 200; do
  # a rate limit makes the dump last a few seconds, so the line is redrawn several times
  in_pty "$cols" "pty$cols.out" backup --db "$DB" --repo "repo$cols" -r "$R" --rate-limit 2MB \
    || { cat "pty$cols.out"; tk_fail "backup in a $cols-column terminal failed"; }
  n=0
  while IFS= read -r line; do
    case "$line" in
      dumping*|uploading*|roles*|committing*|done*) n=$((n + 1))
        ((${#line} < cols)) || tk_fail "a line of ${#line} characters in $cols columns: '$line'" ;;
    esac
  done < <(segments "pty$cols.out")
  ((n >= 3)) || { cat -v "pty$cols.out"; tk_fail "$cols columns: only $n progress lines"; }
done
all=$(segments pty200.out)
tk_assert_contains "$all" "dumping " "the phase is shown"
tk_assert_contains "$all" " tables: public." "tables done and the current table are shown"
tk_assert_contains "$all" "MiB/s" "the rate is shown at 200 columns"
tk_assert_contains "$all" "uploading" "the upload after the dump is a phase of its own"
tk_assert_contains "$all" "committing" "committing is shown"
grep -q "database 31" pty200.out && tk_fail "the database size is not shown as if it were a total"
narrow=$(segments pty40.out)
[[ "$narrow" == *"a table name long enough to be cut on a narrow terminal, surely"* ]] &&
  tk_fail "a long table name was not cut at 40 columns"

# restore: the data object's size in the manifest is an honest total: a percentage
export PGWARD_TARGET_PASSWORD=$PG_SUPERPASS
for cols in 40 200; do
  in_pty "$cols" "rpty$cols.out" restore -i key --repo repo200 --create \
    --target "postgresql://postgres@localhost:$PGPORT_TEST/shop_r$cols?sslrootcert=$PG_CA" \
    || { cat "rpty$cols.out"; tk_fail "restore in a $cols-column terminal failed"; }
  line=$(segments "rpty$cols.out" | grep '^restoring' | tail -1)
  tk_assert_contains "$line" "100%" "restore shows a percentage at $cols columns"
  ((${#line} < cols)) || tk_fail "restore line of ${#line} characters in $cols columns: '$line'"
done
tk_assert_contains "$(segments rpty200.out | grep '^restoring' | tail -1)" " of " "restore shows the total"

# verify: the manifest's object sizes are an honest total (what verify reads): a percentage,
# with the phase (checking without a key, decrypting with one) and the backup's id
vid=$(ls repo200/shop | grep -E '^[0-9]{8}T' | tail -1)
[[ -n "$vid" ]] || tk_fail "no backup in repo200"
for cols in 40 200; do
  for depth in 1 2; do
    keyargs=(); phase=checking
    ((depth == 2)) && keyargs=(-i key) && phase=decrypting
    in_pty "$cols" "vpty$cols-$depth.out" verify --repo repo200 "${keyargs[@]}" \
      || { cat "vpty$cols-$depth.out"; tk_fail "verify (depth $depth) in a $cols-column terminal failed"; }
    line=$(segments "vpty$cols-$depth.out" | grep "^$phase" | tail -1)
    tk_assert_contains "$line" "100%" "verify depth $depth shows a percentage at $cols columns"
    ((${#line} < cols)) || tk_fail "verify line of ${#line} characters in $cols columns: '$line'"
  done
done
tk_assert_contains "$(segments vpty200-2.out | grep '^decrypting' | tail -1)" "$vid" "verify names the backup"
tk_assert_contains "$(segments vpty200-2.out | grep '^decrypting' | tail -1)" " of " "verify shows the total"
# depth 3: the drill's restore has a line of its own, ended before the report
PGWARD_SCRATCH_PASSWORD=$PG_SUPERPASS in_pty 200 vpty-drill.out verify --repo repo200 -i key --restore \
  --scratch-url "postgresql://postgres@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA" \
  || { cat "vpty-drill.out"; tk_fail "verify --restore in a terminal failed"; }
tk_assert_contains "$(segments vpty-drill.out | grep '^restoring' | tail -1)" "100%" "the drill's restore shows a percentage"
segments vpty-drill.out | grep -q "^shop/$vid: pass (depth 3" ||
  { cat -v vpty-drill.out; tk_fail "the drill's report does not start a line of its own"; }
PGWARD_PROGRESS=no in_pty 80 voff.out verify --repo repo200 -i key || tk_fail "verify PGWARD_PROGRESS=no"
grep -q "decrypting" voff.out && tk_fail "PGWARD_PROGRESS=no still drew verify's line"
"$PGWARD" verify --repo repo200 -i key > vplain.out 2>&1 || tk_fail "verify without a terminal"
grep -q $'\r' vplain.out && tk_fail "verify's progress drawn into a file"

# off: --no-progress, PGWARD_PROGRESS=no, and a stderr that is not a terminal
in_pty 80 off1.out backup --db "$DB" --repo repo_off -r "$R" --no-progress || tk_fail "backup --no-progress"
grep -q "dumping" off1.out && tk_fail "--no-progress still drew the line"
PGWARD_PROGRESS=no in_pty 80 off2.out backup --db "$DB" --repo repo_off -r "$R" || tk_fail "backup PGWARD_PROGRESS=no"
grep -q "dumping" off2.out && tk_fail "PGWARD_PROGRESS=no still drew the line"
"$PGWARD" backup --db "$DB" --repo repo_off -r "$R" > plain.out 2>&1 || tk_fail "backup without a terminal"
grep -q $'\r' plain.out && tk_fail "progress drawn into a file"
# --progress forces it on even without a terminal
"$PGWARD" backup --db "$DB" --repo repo_off -r "$R" --progress > forced.out 2>&1 || tk_fail "backup --progress"
grep -q "done" forced.out || tk_fail "--progress did not draw the line"
# TERM=dumb: no escape sequences, the line is blanked with spaces
TERM=dumb in_pty 80 dumb.out backup --db "$DB" --repo repo_off -r "$R" || tk_fail "backup TERM=dumb"
grep -q $'\x1b\\[K' dumb.out && tk_fail "TERM=dumb got escape sequences"
grep -q "done" dumb.out || tk_fail "TERM=dumb shows no progress"
# --no-FLAG is refused for an option that is not yes/no
expect_fail 2 'unknown option "--no-repo"' backup --db "$DB" --no-repo -r "$R"
tk_pass "progress line"
