#!/usr/bin/env bash
# walclaim_probe.sh [SECONDS] [FLUSH]: wal-stream under pgbench against a throwaway server;
# samples back to back: the claim (pg_stat_replication.flush_lsn of pgward-wal), then the
# repository's end as wal-list --output=json reports it, then as the files show it (the end
# of the newest object that has its .minisig). A claim ahead of either is printed.
# From the source tree: PGWARD=build/src/pgward [CLIENTS=4 SCALE=2] bench/walclaim_probe.sh 60 1
set -u
SECS=${1:-60} FLUSH=${2:-1}
PGWARD=$(realpath "${PGWARD:-build/src/pgward}")
export PGWARD
source "$(dirname "$0")/../tests/harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log TK_PG_REPLICATION=1
cd "$TK_TMP" || exit 1
pg_start "max_wal_senders = 5" "max_replication_slots = 5" >/dev/null
pg_psql_super >/dev/null <<'SQL'
create role walrep login replication password 'wr';
SQL
"$PGWARD" keygen -o key 2>/dev/null
R=$("$PGWARD" keygen -y key)
export PGWARD_DB_PASSWORD=wr
DB="postgresql://walrep@localhost:$PGPORT_TEST/postgres?sslrootcert=$PG_CA"
PB=("$PG_BINDIR/pgbench" -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres postgres)
"${PB[@]:0:7}" -i -q -s "${SCALE:-2}" postgres >/dev/null 2>&1 || tk_fail "pgbench -i"
"$PGWARD" wal-stream shop --db "$DB" --repo repo -r "$R" --wal-flush-interval "$FLUSH" \
    --log-level debug 2>>ws.log &
WS=$!
tk_on_exit "kill -9 $WS 2>/dev/null"
"${PB[@]:0:7}" -n -c "${CLIENTS:-4}" -j 2 -T "$SECS" postgres >pgbench.out 2>&1 &
PBP=$!
tk_on_exit "kill $PBP 2>/dev/null"
sq() { "$PG_BINDIR/psql" -X -qtA -h "$PG_SOCKDIR" -p "$PGPORT_TEST" -U postgres -d postgres -c "$1"; }
lsn() { local x=${1:-0/0}; echo $((16#${x%/*} * 4294967296 + 16#${x#*/})); }
# the end of the newest signed object, from the file names (timeline 1, 16 MiB segments)
files_end() {
    local f best=0 e n
    for f in repo/shop/wal/00000001/*.minisig; do
        f=${f##*/}
        f=${f%.minisig}
        [[ -f repo/shop/wal/00000001/$f ]] || continue
        n=$((16#${f:8:8} * 256 + 16#${f:16:8}))
        if [[ $f =~ \.partial\.([0-9A-F]{8})\. ]]; then
            e=$((n * 16777216 + 16#${BASH_REMATCH[1]}))
        else e=$(((n + 1) * 16777216)); fi
        ((e > best)) && best=$e
    done
    echo "$best"
}
prev=0 back=0 n=0 bad_list=0 bad_files=0 fails=0 t_end=$((SECONDS + SECS))
while ((SECONDS < t_end)); do
    c=$(sq "select coalesce((select flush_lsn::text from pg_stat_replication where application_name = 'pgward-wal' limit 1), '0/0')")
    out=$("$PGWARD" wal-list shop --repo repo --output=json 2>wl.err)
    rc=$?
    w=$(jq -r '.timelines[-1].to_lsn // "0/0"' <<<"$out" 2>/dev/null)
    [[ $w =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || w=0/0
    set +f; fe=$(files_end); set -f
    wl=$(lsn "$w")
    if ((wl < prev)); then
        echo "sample $n: wal-list went back: $w after $(printf '%X/%X' $((prev >> 32)) $((prev & 0xffffffff))) (rc $rc)"
        back=$((back + 1))
    fi
    ((wl > prev)) && prev=$wl
    n=$((n + 1))
    ((rc == 0)) || { fails=$((fails + 1)); echo "wal-list exit $rc: $(head -c 300 wl.err)"; }
    cl=$(lsn "$c")
    [[ $cl -ne 0 ]] || continue
    if ((cl > $(lsn "$w"))); then
        bad_list=$((bad_list + 1))
        echo "sample $n: claim $c > wal-list $w (rc $rc; files $fe)"
    fi
    if ((cl > fe)); then
        bad_files=$((bad_files + 1))
        echo "sample $n: claim $c > the newest signed object's end $(printf '%X/%X' $((fe >> 32)) $((fe & 0xffffffff)))"
    fi
done
wait "$PBP"
echo "samples $n, claim ahead of wal-list $bad_list, ahead of the signed files $bad_files, wal-list failures $fails, went back $back"
grep -c stored ws.log
