#!/usr/bin/env bash
# test_physical.sh - backup --type=physical with a REPLICATION-only role: BASE_BACKUP
# streamed as encrypted objects (base.tar, PostgreSQL's backup_manifest), the signed
# manifest (kind physical, timeline, LSNs) verified by the stock minisign; list and verify
# depth 1 see it; a superuser or a role with a write privilege is refused; SIGTERM while
# the server sends nothing (its checkpoint held) stops the backup at once, nothing committed.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP"
# archiving on with a failing archive_command: the backup carries its WAL (BASE_BACKUP WAIT
# false), so it must not wait for the archiver (it would wait forever)
pg_start "max_wal_senders = 5" "archive_mode = on" "archive_command = 'false'" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role physrep login replication password 'pr';
create role boss login superuser password 'bs';
create table t1(id int primary key, note text);
insert into t1 select i, md5(i::text) from generate_series(1, 2000) i;
create table t2(id int);
insert into t2 select generate_series(1, 333);
create database other;
SQL
pg_psql_super -d other -c "create table t3 as select generate_series(1, 77) as x" >/dev/null
# a tablespace: its own archive, restored only into a mapped directory
mkdir ts1 && chown postgres: ts1
pg_psql_super -c "create tablespace ts1 location '$TK_TMP/ts1'" >/dev/null
pg_psql_super -c "create table t4 tablespace ts1 as select generate_series(1, 55) as y" >/dev/null
TSOID=$(pg_psql_super -c "select oid from pg_tablespace where spcname = 'ts1'")
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=pr
DB="postgresql://physrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"

# a superuser is refused (exit 22), as for logical backups
PGWARD_DB_PASSWORD=bs expect_fail 22 "could change database" backup shop --type=physical \
    --db "postgresql://boss@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA" --repo repo -r "$R"
# a REPLICATION role with one write privilege: refused, naming it
pg_psql_super -c "grant insert on t1 to physrep" >/dev/null
expect_fail 22 "INSERT" backup shop --type=physical --db "$DB" --repo repo -r "$R"
pg_psql_super -c "revoke insert on t1 from physrep" >/dev/null
[[ ! -d repo/shop ]] || [[ -z "$(ls repo/shop)" ]] || tk_fail "a refused backup wrote something"

timeout -k 5 120 "$PGWARD" backup shop --type=physical --db "$DB" --repo repo -r "$R" --progress >out.txt 2>err.txt \
    || { cat err.txt; tk_fail "physical backup (exit 124: it waited for the failing archive_command)"; }
tk_assert_contains "$(cat err.txt)" "done" "the progress line ends with done"
tk_assert_contains "$(cat out.txt)" "complete (physical, timeline 1" "backup summary"
ID=$(ls repo/shop | grep -v '^\.' | head -1)
B=repo/shop/$ID
for o in base.tar.zst.age backup_manifest.zst.age details.json.age manifest.json manifest.json.minisig; do
    [[ -s "$B/$o" ]] || tk_fail "object $o missing"
done
# never plaintext: the objects are age files
for o in base.tar.zst.age backup_manifest.zst.age; do
    tk_assert_eq "$(head -c 21 "$B/$o")" "age-encryption.org/v1" "$o is an age file"
done
# the stock minisign verifies the manifest's signature
if command -v minisign >/dev/null; then
    minisign -V -P "$TK_SIGN_PUB" -m "$B/manifest.json" -x "$B/manifest.json.minisig" -q \
        || tk_fail "minisign -V of the manifest"
fi
python3 - "$B/manifest.json" <<'PY' || tk_fail "manifest fields"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["kind"] == "physical", m["kind"]
p = m["physical"]
assert p["timeline"] == 1
hi, lo = (int(x, 16) for x in p["start_lsn"].split("/"))
hi2, lo2 = (int(x, 16) for x in p["stop_lsn"].split("/"))
assert (hi2, lo2) >= (hi, lo)
names = {o["name"] for o in m["objects"]}
assert {"base.tar.zst.age", "backup_manifest.zst.age", "details.json.age"} <= names, names
ts = p["tablespaces"]
assert len(ts) == 1 and "%d.tar.zst.age" % ts[0] in names, (ts, names)
PY
# the plaintext of base.tar holds the cluster (decrypted here only to check)
age -d -i key "$B/base.tar.zst.age" | zstd -dq | tar -t >list.txt \
    || tk_fail "base.tar does not decrypt to a tar"
grep -q '^PG_VERSION$' list.txt || tk_fail "base.tar has no PG_VERSION"
grep -q '^pg_wal/' list.txt || tk_fail "base.tar has no WAL"

# list and verify (depth 1: sizes, SHA-256, signature)
L=$("$PGWARD" list shop --repo repo --output=json)
tk_assert_contains "$L" '"kind": "physical"' "list shows the kind"
tk_assert_contains "$L" '"start_lsn"' "list shows the start LSN"
tk_assert_contains "$("$PGWARD" list shop --repo repo)" "PHYSICAL" "list's text marks it"
"$PGWARD" verify shop --repo repo >v.txt 2>&1 || { cat v.txt; tk_fail "verify depth 1"; }
# depth 2: every archive decrypts and parses with restore's tar reader
"$PGWARD" verify shop --repo repo -i key >v.txt 2>&1 || { cat v.txt; tk_fail "verify depth 2"; }
# depth 3 (a recovery drill, test_pitr.sh) starts a server as restore --start does: not as
# root, refused before anything is written; --scratch-url does not apply to it
expect_fail 5 "does not run a server as root" verify shop --repo repo -i key --restore --scratch-local
expect_fail 2 "does not apply to a physical backup" verify shop --repo repo -i key --restore --scratch-url "postgresql://localhost/postgres"
# a flipped byte in base.tar: verify depth 1 fails
cp -r repo bad
tk_flip_byte "bad/shop/$ID/base.tar.zst.age" 5000
expect_fail 24 "failed verification" verify shop --repo bad

# a tablespace without a mapping: refused before anything is written, naming the option
expect_fail 2 "no mapping" restore shop --type=physical --target-dir "$TK_TMP/r1" --repo repo -i key
tk_assert_contains "$err" "--tablespace-map $TSOID=DIR" "the hint names the mapping"
[[ ! -e r1 ]] || tk_fail "a refused restore created its directory"
# restore into a new directory: checked, extracted, pg_verifybackup passes
"$PGWARD" restore shop --type=physical --target-dir "$TK_TMP/r1" --repo repo -i key \
    --tablespace-map "$TSOID=$TK_TMP/ts1r" --progress >rout.txt 2>rerr.txt || { cat rerr.txt; tk_fail "physical restore"; }
tk_assert_contains "$(cat rout.txt)" "pg_verifybackup passed" "restore output"
tk_assert_contains "$(cat rout.txt)" "pg_ctl -D" "restore prints the start command"
tk_assert_eq "$(stat -c %a r1)" 700 "data directory mode"
[[ -f r1/backup_manifest && -f r1/PG_VERSION ]] || tk_fail "restored directory incomplete"
# start a server on it (loopback socket only, a free port) and compare every table's rows
_tk_pick_port; P1=$_TK_PORT
printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\n" "$P1" "$TK_TMP/r1" \
    >>r1/postgresql.conf
chown -R postgres: r1 ts1r
tk_assert_eq "$(readlink "r1/pg_tblspc/$TSOID")" "$TK_TMP/ts1r" "the tablespace link points to the mapped directory"
tk_on_exit "runuser -u postgres -- pg_ctl -D $TK_TMP/r1 -m immediate stop >/dev/null 2>&1"
runuser -u postgres -- pg_ctl -D "$TK_TMP/r1" -l "$TK_TMP/r1/startup.log" -w -t 60 start >/dev/null 2>&1 \
    || { tail -20 r1/startup.log; tk_fail "the restored server did not start"; }
q1() { runuser -u postgres -- psql -X -qtA -h "$TK_TMP/r1" -p "$P1" -d "$1" -c "$2"; }
for t in t1 t2; do
    tk_assert_eq "$(q1 postgres "select count(*) from $t")" \
        "$(pg_psql_super -c "select count(*) from $t")" "rows of $t"
done
tk_assert_eq "$(q1 other "select count(*) from t3")" 77 "rows of other.t3"
tk_assert_eq "$(q1 postgres "select count(*) from t4")" 55 "rows of t4 (in the tablespace)"
tk_assert_eq "$(q1 postgres "select sum(length(note)) from t1")" 64000 "t1's content"

# a flipped byte: refused before anything is extracted (the directory is not even made)
expect_fail 24 "" restore shop --type=physical --target-dir "$TK_TMP/r2" --repo bad -i key --tablespace-map "$TSOID=$TK_TMP/tsx"
[[ ! -e r2 ]] || tk_fail "a refused restore created its directory"
# a directory that is not empty, a link, another user's directory: refused, untouched
mkdir r3 && touch r3/keep
expect_fail 6 "is not empty" restore shop --type=physical --target-dir "$TK_TMP/r3" --repo repo -i key --tablespace-map "$TSOID=$TK_TMP/tsx"
tk_assert_eq "$(ls r3)" keep "a non-empty directory stays as it was"
mkdir r4real && ln -s r4real r4
expect_fail 5 "symbolic link" restore shop --type=physical --target-dir "$TK_TMP/r4" --repo repo -i key --tablespace-map "$TSOID=$TK_TMP/tsx"
tk_assert_eq "$(ls r4real)" "" "nothing written through the link"
mkdir r5 && chown postgres: r5
expect_fail 5 "another user" restore shop --type=physical --target-dir "$TK_TMP/r5" --repo repo -i key --tablespace-map "$TSOID=$TK_TMP/tsx"
# a logical restore does not pick a physical backup
expect_fail 9 "no complete backup" restore shop --repo repo -i key --to-file x.dump

# forged archives, encrypted to the recipient and signed with the backup's key (a stolen
# key, or a compromised backup host): the tar reader refuses what PostgreSQL never writes
forge() { # forge CASE: base.tar of a copy of the repository becomes a hostile tar
    rm -rf forged && cp -r repo forged
    python3 - "$1" <<'PY' | zstd -q -c | "$PGWARD" encrypt -r "$R" -o "forged/shop/$ID/base.tar.zst.age" 2>/dev/null
import io, sys, tarfile
case = sys.argv[1]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    def add(name, data=b"x", kind=tarfile.REGTYPE, link=""):
        i = tarfile.TarInfo(name); i.type = kind; i.linkname = link
        i.size = len(data) if kind == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    add("PG_VERSION", b"15\n")
    if case == "dotdot": add("base/../../evil-dotdot")
    if case == "abs": add("/tmp/pgward-evil-abs")
    if case == "link": add("escape", kind=tarfile.SYMTYPE, link="/tmp"); add("escape/pgward-evil-link")
    if case == "hard": add("hard", kind=tarfile.LNKTYPE, link="/etc/passwd")
    if case == "fifo": add("fifo", kind=tarfile.FIFOTYPE)
    if case == "bm": add("backup_manifest", b"{}")
    if case == "pend": add("backup_manifest.pgward-pending", b"{}")
    if case == "dev": add("dev", kind=tarfile.CHRTYPE)
sys.stdout.buffer.write(buf.getvalue())
PY
    python3 - "forged/shop/$ID" "$PGWARD_SIGN_KEY" <<'PY'
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
d, keyfile = sys.argv[1], sys.argv[2]
m = json.load(open(d + "/manifest.json"))
data = open(d + "/base.tar.zst.age", "rb").read()
for o in m["objects"]:
    if o["name"] == "base.tar.zst.age":
        o["sha256"], o["size"] = hashlib.sha256(data).hexdigest(), len(data)
text = json.dumps(m, indent=2).encode()
open(d + "/manifest.json", "wb").write(text)
raw = base64.b64decode(open(keyfile).read().split("\n")[1].split(":", 1)[1])
keyid, sk = raw[2:10], Ed25519PrivateKey.from_private_bytes(raw[10:42])
old = open(d + "/manifest.json.minisig").read().split("\n")
tc = old[2][len("trusted comment: "):]
sig = sk.sign(hashlib.blake2b(text).digest())
glob = sk.sign(sig + tc.encode())
open(d + "/manifest.json.minisig", "w").write("untrusted comment: forged\n%s\ntrusted comment: %s\n%s\n" % (
    base64.b64encode(b"ED" + keyid + sig).decode(), tc, base64.b64encode(glob).decode()))
PY
}
forge dotdot
minisign -V -P "$TK_SIGN_PUB" -m "forged/shop/$ID/manifest.json" -x "forged/shop/$ID/manifest.json.minisig" -q \
    || tk_fail "the forged manifest's signature does not verify (the test would prove nothing)"
n=0
for c in dotdot:'".." component' abs:"absolute" link:"symbolic link" hard:"hard link" fifo:"FIFO" dev:"device"; do
    n=$((n + 1))
    forge "${c%%:*}"
    expect_fail 23 "${c#*:}" restore shop --type=physical --target-dir "$TK_TMP/f$n" --repo forged -i key \
        --tablespace-map "$TSOID=$TK_TMP/f$n-ts"
done
# an archive that brings its own backup_manifest: refused, PostgreSQL's is the one written
forge bm
expect_fail 23 "backup_manifest" restore shop --type=physical --target-dir "$TK_TMP/fbm" --repo forged -i key \
    --tablespace-map "$TSOID=$TK_TMP/fbm-ts"
forge pend
expect_fail 23 "pgward-pending" restore shop --type=physical --target-dir "$TK_TMP/fpe" --repo forged -i key \
    --tablespace-map "$TSOID=$TK_TMP/fpe-ts"
[[ ! -e fpe/backup_manifest ]] || tk_fail "a refused restore left a backup_manifest"
# an archive PostgreSQL's manifest does not describe (only PG_VERSION): pg_verifybackup
# refuses it, and the directory has no backup_manifest (a directory with one is a complete,
# synced and checked restore), said to be partial
forge plain
expect_fail 24 "pg_verifybackup refused" restore shop --type=physical --target-dir "$TK_TMP/fpl" --repo forged -i key \
    --tablespace-map "$TSOID=$TK_TMP/fpl-ts"
tk_assert_contains "$err" "holds a partial restore" "the refused directory is called partial"
[[ -f fpl/PG_VERSION && ! -e fpl/backup_manifest && ! -e fpl/backup_manifest.pgward-pending ]] \
    || tk_fail "a refused restore left a backup_manifest: $(ls fpl)"
# verify depth 2 fails the forged archive (its signature and checksums are fine)
forge dotdot
expect_fail 24 "failed verification" verify shop --repo forged -i key
[[ ! -e "$TK_TMP/evil-dotdot" && ! -e /tmp/pgward-evil-abs && ! -e /tmp/pgward-evil-link ]] \
    || tk_fail "a forged archive wrote outside the target directory"

# SIGTERM while the server sends nothing (its checkpoint held: the checkpointer stopped):
# the backup stops at once (exit 130), cancels the server's side, and leaves no manifest
CKPT=$(pg_psql_super -c "select pid from pg_stat_activity where backend_type = 'checkpointer'")
[[ -n $CKPT ]] || tk_fail "no checkpointer"
kill -STOP "$CKPT"
tk_on_exit "kill -CONT $CKPT 2>/dev/null"
"$PGWARD" backup shop --type=physical --db "$DB" --repo sig -r "$R" >sig.out 2>&1 &
BK=$!
tk_on_exit "kill -9 $BK 2>/dev/null"
bb_phase() { pg_psql_super -c "select coalesce(max(phase), 'none') from pg_stat_progress_basebackup"; }
at_checkpoint() { [[ $(bb_phase) == "waiting for checkpoint to finish" ]]; }
tk_wait_for 60 "the backup waiting for the checkpoint" at_checkpoint
t0=${EPOCHREALTIME/[.,]/}
kill -TERM "$BK"
gone() { ! kill -0 "$BK" 2>/dev/null; }
tk_wait_for 10 "the backup to stop on SIGTERM while the server sends nothing" gone
echo "backup stopped $(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) ms after SIGTERM" >&2
rc=0; wait "$BK" || rc=$?
no_bb() { [[ $(bb_phase) == none ]]; }
tk_wait_for 10 "the server's base backup to be cancelled" no_bb
kill -CONT "$CKPT"
tk_assert_eq "$rc" 130 "exit status of a backup stopped by SIGTERM"
tk_assert_contains "$(cat sig.out)" "interrupted" "the backup says it was interrupted"
[[ -z $(find sig -name manifest.json 2>/dev/null) ]] || tk_fail "an interrupted backup left a manifest"
tk_pass
