#!/usr/bin/env bash
# test_host_trust.sh - issue 17, as another local user or a database owner would try it: an
# env file swapped for a symbolic link to a device or another file at the moment pgward reads
# it (inotify), FIFOs and symbolic links planted in a shared sticky directory for decrypt -o,
# repo get -o and restore --to-file, a configuration file another user can write or owns, a
# FIFO as --config, ALTER DATABASE/ROLE ... SET role before backup, credentials and check, a
# long options= URL, and a container-credentials URL on a non-loopback address. Each ends
# with a clear refusal or a safe outcome, the victim file or device untouched.
source "$(dirname "$0")/../harness/lib.sh"
[[ $(id -u) -eq 0 ]] || tk_skip "needs root (creates a second local user)"
command -v useradd >/dev/null || tk_skip "useradd is missing"
command -v inotifywait >/dev/null || tk_skip "inotifywait is missing (tools/deps.sh: inotify-tools)"
M=pgwmallory
id -u "$M" >/dev/null 2>&1 || useradd -M -r -s /bin/sh "$M" 2>/dev/null || id -u "$M" >/dev/null ||
    tk_skip "cannot create user $M"
as_m() { setpriv --reuid="$M" --regid="$(id -g "$M")" --clear-groups -- "$@"; }
tk_tmpdir
chmod 755 "$TK_TMP"
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
echo "the plaintext" | "$PGWARD" encrypt -r "$R" -o c.age
echo "victim: do not touch" > victim
chmod 644 victim
VSUM=$(sha256sum < victim)

# --- configuration: trusted only when root or we own it and no one else can write it ---------
printf '[global]\nrecipient = %s\n' "$R" > cfg.conf
chmod 666 cfg.conf
expect_fail 5 'is writable by other users (mode 0666)' encrypt --config cfg.conf -o - c.age
tk_assert_contains "$err" 'chmod go-w' "world-writable config: hint"
chmod 644 cfg.conf
chown "$M" cfg.conf
expect_fail 5 "belongs to \"$M\"" encrypt --config cfg.conf -o - c.age
tk_assert_contains "$err" "chown 0 cfg.conf" "config of another user: hint"
chown root cfg.conf
echo x | "$PGWARD" encrypt --config cfg.conf -o x.age || tk_fail "a config of root, mode 0644"
mkfifo cfg.fifo
set +e
err=$(timeout 20 "$PGWARD" encrypt --config cfg.fifo -r "$R" -o - c.age 2>&1 >/dev/null)
rc=$?
set -e
tk_assert_eq "$rc" 4 "a FIFO as --config: no hang, exit 4"
tk_assert_contains "$err" "is not a regular file" "a FIFO as --config: message"
ln -s cfg.conf cfg.link
expect_fail 5 "is a symbolic link" encrypt --config cfg.link -o - c.age
printf '%s\n' "$R" > rcpt.txt
chmod 664 rcpt.txt
expect_fail 5 'recipients file' encrypt -R rcpt.txt -o - c.age

# the audit log is appended to through no link and into no FIFO (a warning, nothing written)
ln -s "$TK_TMP/victim" audit.link
mkfifo audit.fifo
for a in audit.link audit.fifo; do
    set +e
    err=$(echo x | PGWARD_AUDIT_LOG=$TK_TMP/$a timeout 20 "$PGWARD" encrypt -r "$R" -o a.age 2>&1)
    rc=$?
    set -e
    tk_assert_eq "$rc" 0 "audit log $a: no hang"
    tk_assert_contains "$err" "the audit record was not written" "audit log $a: refused"
done
tk_assert_eq "$(sha256sum < victim)" "$VSUM" "victim behind the audit-log link untouched"

# --- a shared sticky directory (like /tmp) with names planted by another user ----------------
mkdir shared
chmod 1777 shared
as_m mkfifo shared/out.fifo
as_m ln -s "$TK_TMP/victim" shared/out.link
as_m sh -c 'echo theirs > shared/out.theirs'
for out in shared/out.fifo shared/out.link shared/out.theirs; do
    set +e
    err=$(timeout 20 "$PGWARD" decrypt -i key -o "$out" c.age 2>&1 >/dev/null)
    rc=$?
    set -e
    tk_assert_eq "$rc" 5 "decrypt -o $out: refused, not blocked (exit)"
    tk_assert_contains "$err" "HINT:" "decrypt -o $out: hint"
done
[[ -p shared/out.fifo && -L shared/out.link ]] || tk_fail "planted names replaced"
tk_assert_eq "$(sha256sum < victim)" "$VSUM" "victim behind the link untouched"
tk_assert_eq "$(cat shared/out.theirs)" theirs "another user's file untouched"
# a fresh name in the shared directory is fine: created with O_EXCL, ours, 0600
"$PGWARD" decrypt -i key -o shared/fresh.txt c.age
tk_assert_eq "$(stat -c '%U %a' shared/fresh.txt)" "root 600" "fresh file in a sticky directory"
tk_assert_eq "$(cat shared/fresh.txt)" "the plaintext" "fresh file content"
# a directory another user owns (not sticky) is refused, naming the owner
mkdir mdir
chown "$M" mdir
expect_fail 5 "belongs to \"$M\"" decrypt -i key -o mdir/out.txt c.age
[[ ! -e mdir/out.txt ]] || tk_fail "wrote into a directory another user owns"
# a symbolic link to a directory, planted by another user in the shared one
as_m ln -s "$TK_TMP" shared/dirlink
expect_fail 5 "symbolic link in a directory every user can write" decrypt -i key -o shared/dirlink/x.txt c.age
# -o - is standard output
tk_assert_eq "$("$PGWARD" decrypt -i key -o - c.age)" "the plaintext" "-o - is standard output"

# repo get -o into the planted names
"$PGWARD" repo put "db1/20261122T031500Z-1a2b/data.age" c.age --repo repo >/dev/null
for out in shared/out.fifo shared/out.link; do
    TK_TIMEOUT=20 expect_fail 5 "output \"$out\"" repo get "db1/20261122T031500Z-1a2b/data.age" --repo repo -o "$out"
done
tk_assert_eq "$(sha256sum < victim)" "$VSUM" "victim untouched by repo get"

# --- container credentials: plain HTTP only to loopback or the ECS/EKS addresses ------------
for uri in http://10.1.2.3/creds http://169.254.170.2.example.com/ "http://169.254.170.2@10.1.2.3/" http://169.254.169.254/; do
    set +e
    err=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
        AWS_CONTAINER_CREDENTIALS_FULL_URI="$uri" AWS_CONTAINER_AUTHORIZATION_TOKEN=tok \
        timeout 20 "$PGWARD" repo ls --repo s3://bucket/p --s3-endpoint http://127.0.0.1:9 2>&1 >/dev/null)
    rc=$?
    set -e
    tk_assert_eq "$rc" 5 "container credentials URL $uri: refused"
    tk_assert_contains "$err" "neither HTTPS nor a loopback" "container credentials URL $uri: message"
done

# --- the database: sessions that a setting makes run as another role ------------------------
source "$(dirname "$0")/../harness/sample.sh"
pg_start "log_statement = 'all'" >/dev/null
pg_sample_db shop 200
pg_psql_super -d shop >/dev/null <<'SQL'
create role backup login password 'bk' bypassrls;
grant pg_read_all_data to backup;
create role shopowner login password 'so' createrole;
alter database shop owner to shopowner;
create role roled login password 'rd';
grant shopowner to roled;
SQL
pg_psql_super -d shop -c "select format('grant select on large object %s to backup;', oid) from pg_largeobject_metadata" | pg_psql_super -d shop >/dev/null
db() { echo "postgresql://$1@localhost:$PGPORT_TEST/shop?sslrootcert=$PG_CA"; }
PGWARD_DB_PASSWORD=bk "$PGWARD" backup --db "$(db backup)" --repo repo -r "$R" >/dev/null ||
    tk_fail "backup before any role setting"
# restore --to-file into the planted names
for out in shared/out.fifo shared/out.link; do
    TK_TIMEOUT=30 expect_fail 5 "output \"$out\"" restore shop -i key --repo repo --to-file "$out"
done
tk_assert_eq "$(sha256sum < victim)" "$VSUM" "victim untouched by restore"

# ALTER ROLE ... SET role: backup refused, naming the setting and the fix
pg_psql_super -c "alter role roled set role = 'shopowner'" >/dev/null
PGWARD_DB_PASSWORD=rd expect_fail 22 'runs as "shopowner", not as "roled"' backup --db "$(db roled)" --repo repo -r "$R"
tk_assert_contains "$err" 'ALTER ROLE "roled" SET role=shopowner' "ALTER ROLE named"
tk_assert_contains "$err" 'ALTER ROLE "roled" RESET role' "fix named"
PGWARD_DB_PASSWORD=rd expect_fail 22 'runs as "shopowner"' credentials list --db "$(db roled)"
pg_psql_super -c "alter role roled reset role" >/dev/null
# ALTER DATABASE ... SET role by the database owner: a superuser's sessions become the owner's
PGPASSWORD=so psql "$(db shopowner)" -qAtX -c "alter database shop set role = 'shopowner'"
PGWARD_DB_PASSWORD=rd expect_fail 22 'runs as "shopowner"' backup --db "$(db roled)" --repo repo -r "$R"
tk_assert_contains "$err" 'ALTER DATABASE "shop" RESET role' "database fix named"
PGWARD_DB_PASSWORD=$PG_SUPERPASS expect_fail 22 'runs as "shopowner", not as "postgres"' credentials list --db "$(db postgres)"
# check: not downgraded; the setting is a finding
out=$(PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check --db "$(db postgres)" --output=json --fail-on never 2>check.err) ||
    tk_fail "check with a role setting: $(cat check.err)"
res() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(next(x for x in r["results"] if x["id"]==sys.argv[2])[sys.argv[3]])' "$out" "$1" "$2"; }
tk_assert_eq "$(res roles.session-role result)" fail "roles.session-role fails"
tk_assert_contains "$(res roles.session-role evidence)" 'run as "shopowner"' "evidence names the role"
tk_assert_contains "$(res roles.session-role fix)" "ALTER DATABASE shop RESET role;" "fix for the finding"
tk_assert_eq "$(res auth.no-trust result)" pass "pg_hba rules run as the superuser, not skipped"
PGPASSWORD=so psql "$(db shopowner)" -qAtX -c "alter database shop reset role"
out=$(PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check --db "$(db postgres)" --output=json --fail-on never 2>check.err) ||
    tk_fail "check: $(cat check.err)"
tk_assert_eq "$(res roles.session-role result)" pass "roles.session-role passes without settings"
# a setting that steers other sessions, not check's own: a warning naming it
pg_psql_super -c "alter role roled set role = 'shopowner'" >/dev/null
out=$(PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" check --db "$(db postgres)" --output=json --fail-on never 2>check.err) ||
    tk_fail "check: $(cat check.err)"
tk_assert_eq "$(res roles.session-role result)" warn "roles.session-role warns about another role's setting"
tk_assert_contains "$(res roles.session-role evidence)" "role roled: role=shopowner" "evidence names the other role"
tk_assert_contains "$(res roles.session-role fix)" "ALTER ROLE roled RESET role;" "fix for the other role"
pg_psql_super -c "alter role roled reset role" >/dev/null

# a long options= no longer pushes out read-only: it is SET after connecting
pad=$(printf 'x%.0s' {1..600})
lurl="$(db backup)&options=-c%20application_name%3D$pad"
PGWARD_DB_PASSWORD=bk "$PGWARD" backup --db "$lurl" --repo repo -r "$R" >/dev/null || tk_fail "backup with a long options="
grep -q "set_config('default_transaction_read_only', \$1" "$PG_LOG" || tk_fail "read-only not set by SET"
grep -q "parameters: \$1 = 'on'" "$PG_LOG" || tk_fail "read-only session not set to on"

# --- env-file race: the application user swaps a link to a device / another file in ----------
app=$TK_TMP/app
mkdir "$app"
chown "$M" "$app"
mknod victim.dev c 1 3 2>/dev/null || cp victim victim.dev
chmod 600 victim.dev
DEVSTAT=$(stat -c '%U %a %F' victim.dev)
n=0
# the moment pgward opens the file, or closes it after reading it, the application user
# renames a link to a device or to another file over it
for spec in "open victim.dev" "close_nowrite victim.dev" "open victim" "close_nowrite victim"; do
    n=$((n + 1))
    ev=${spec%% *}
    target=$TK_TMP/${spec#* }
    as_m sh -c "rm -f $app/app.env; echo OTHER=1 > $app/app.env; ln -sf '$target' '$app/.swap'"
    rm -f "$app/inw.log" "$app/swapped" "$app/ready"
    # its own process group (setsid), ended below with the watcher in it; the link is made
    # beforehand and a running python renames it the instant the event arrives
    setpriv --reuid="$M" --regid="$(id -g "$M")" --clear-groups -- setsid sh -c "timeout --foreground 20 inotifywait -m -e $ev '$app/app.env' 2>'$app/inw.log' |
        python3 -c 'import os, sys
open(\"$app/ready\", \"w\").close()
sys.stdin.readline()
os.rename(\"$app/.swap\", \"$app/app.env\")
open(\"$app/swapped\", \"w\").close()'" &
    swapper=$!
    for _ in $(seq 100); do grep -q "Watches established" "$app/inw.log" 2>/dev/null && [[ -e $app/ready ]] && break; sleep 0.05; done
    set +e
    PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" credentials create "racer$n" --db "$(db postgres)" \
        --env-file "$app/app.env" --var "V_$n" > race.out 2> race.err
    rc=$?
    set -e
    kill -- -"$swapper" 2>/dev/null || true
    wait "$swapper" 2>/dev/null || true
    [[ $rc -eq 0 || $rc -eq 5 ]] || tk_fail "race $n: exit $rc: $(cat race.err)"
    if [[ $rc -eq 5 ]]; then # refused: it says so, and what to do
        tk_assert_contains "$(cat race.err)" "HINT:" "race $n: the refusal has a hint"
    fi
    echo "race $n (at $ev, link to ${spec#* }): exit $rc, swapped: $([[ -e $app/swapped ]] && echo yes || echo no), env file now: $(stat -c %F "$app/app.env") $(head -c 300 race.err)" >&2
    tk_assert_eq "$(sha256sum < victim)" "$VSUM" "race $n: victim file untouched"
    tk_assert_eq "$(stat -c '%U %a %F' victim.dev)" "$DEVSTAT" "race $n: device untouched"
    if [[ $rc -eq 0 && ! -L $app/app.env ]]; then
        # written safely: a regular file of the application user, holding the URL
        tk_assert_eq "$(stat -c '%U %a' "$app/app.env")" "$M 640" "race $n: env file owner and mode (its group could read it)"
        grep -q "^V_$n=" "$app/app.env" || tk_fail "race $n: no URL in the env file"
    fi
done
# the env file a link from the start: refused before anything is created
as_m ln -sf "$TK_TMP/victim" "$app/app.env"
PGWARD_DB_PASSWORD=$PG_SUPERPASS expect_fail 5 "" credentials create racer9 --db "$(db postgres)" --env-file "$app/app.env"
tk_assert_eq "$(sha256sum < victim)" "$VSUM" "link from the start: victim untouched"

# a DIRECTORY of the application user swapped, as fast as it can, between a real directory and
# a link to root's own directory (renameat2 RENAME_EXCHANGE): root's env file there is never
# written (red-team finding: realpath() resolved the link, then the write followed it)
mkdir -m 755 other && printf "DATABASE_URL='postgresql://other-app@db/other'\n" >other/app.env && chmod 600 other/app.env
OSUM=$(sha256sum <other/app.env)
as_m mkdir "$app/cfg"
as_m sh -c "echo OTHER=1 > '$app/cfg/app.env'"
as_m ln -s "$TK_TMP/other" "$app/cfglink"
setpriv --reuid="$M" --regid="$(id -g "$M")" --clear-groups -- timeout 60 python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
' "$app/cfg" "$app/cfglink" &
swapper=$!
tk_on_exit "kill $swapper 2>/dev/null"
for n in $(seq 20 39); do
    set +e
    PGWARD_DB_PASSWORD=$PG_SUPERPASS "$PGWARD" credentials create "dirrace$n" --db "$(db postgres)" \
        --env-file "$app/cfg/app.env" --var "V_$n" >/dev/null 2>dirrace.err
    set -e
    tk_assert_eq "$(sha256sum <other/app.env)" "$OSUM" "directory race $n: root's env file untouched"
done
kill "$swapper" 2>/dev/null || true
wait "$swapper" 2>/dev/null || true
tk_pass
