# shellcheck shell=bash
#
# pgward integration-test harness.
#
# Source it from a test script (do not execute it):
#
#     #!/usr/bin/env bash
#     set -euo pipefail
#     source "$(dirname "$0")/../harness/lib.sh"
#     pg_start
#     ...
#
# It starts a throwaway PostgreSQL 15 server with TLS (test CA, server cert
# with SANs DNS:localhost and IP:127.0.0.1, hostssl + scram-sha-256 only) and
# guarantees cleanup on every exit path it can see (normal exit, tk_fail,
# set -e aborts, SIGINT/SIGTERM/SIGHUP). A detached watchdog additionally
# stops the server if the test shell disappears without running its traps
# (SIGKILL, e.g. meson's timeout escalation).
#
# The library never changes the caller's shell options (set -e/-u/pipefail);
# all of its functions work with and without them. See README.md.

if [[ -n "${_TK_LIB_LOADED:-}" ]]; then
    return 0
fi
_TK_LIB_LOADED=1
_TK_MAIN_PID=${BASHPID}

# ---------------------------------------------------------------------------
# configuration (override from the environment)
# ---------------------------------------------------------------------------
: "${PG_BINDIR:=/usr/lib/postgresql/15/bin}"
: "${TK_PORT_MIN:=20000}"
: "${TK_PORT_MAX:=40000}"
: "${TK_PORT_ATTEMPTS:=8}"
export PG_BINDIR

# Use the PostgreSQL 15 client tools, not whatever /usr/bin/psql resolves to.
if [[ -d "${PG_BINDIR}" && ":${PATH}:" != *":${PG_BINDIR}:"* ]]; then
    PATH="${PG_BINDIR}:${PATH}"
    export PATH
fi

# Isolate libpq from the invoking user's environment: tests connect only
# where they say they connect, and never pick up ~/.pgpass.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE \
      PGSERVICEFILE PGSSLMODE PGREQUIRESSL PGSSLROOTCERT PGSSLCERT PGSSLKEY \
      PGSSLCRL PGSSLCRLDIR PGOPTIONS PGTARGETSESSIONATTRS PGDATA
export PGPASSFILE=/dev/null/nonexistent   # stat() fails -> silently ignored
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"
# Tests never reach the EC2 metadata address (only loopback traffic is allowed here).
export AWS_EC2_METADATA_DISABLED=true

# ---------------------------------------------------------------------------
# messages and assertions
# ---------------------------------------------------------------------------
_tk_log() { printf '%s\n' "$*" >&2; }

# tk_fail MSG: print "FAIL: MSG" to stderr and exit 1 (runs cleanup).
tk_fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# tk_skip MSG: mark the test as skipped (meson treats exit 77 as SKIP).
tk_skip() {
    printf 'SKIP: %s\n' "$*"
    exit 77
}

# tk_pass MSG: report one passed check (informational only).
tk_pass() {
    printf 'ok: %s\n' "$*"
}

# tk_assert_eq ACTUAL EXPECTED MSG
tk_assert_eq() {
    if [[ "$1" != "$2" ]]; then
        tk_fail "${3:-assert_eq}: expected '$2', got '$1'"
    fi
}

# tk_assert_contains HAYSTACK NEEDLE MSG
# tk_flip_byte FILE OFFSET: invert the byte at OFFSET (always a change, unlike writing a
# fixed value, which leaves the file as it was when the byte already had that value).
tk_flip_byte() {
    local f=$1 off=$2 b
    # a missing file would be created (and "damaged" an object that is not there); an
    # offset past the end would extend the file: the last byte is inverted instead
    [[ -f "$f" && -s "$f" ]] || { _tk_log "tk_flip_byte: no file $f (or empty)"; return 1; }
    local size
    size=$(stat -c %s "$f")
    ((off < size)) || off=$((size - 1))
    b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
    printf "$(printf '\\%03o' $((255 - b)))" | dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
}

# expect_fail CODE NEEDLE ARGS...: run "$PGWARD ARGS", expect exit CODE, NEEDLE in its
# stderr, and a HINT line (every failure of pgward says what to do). Sets $err and $rc.
# With TK_TIMEOUT=SECONDS (e.g. "TK_TIMEOUT=20 expect_fail ..."), a hang fails the check
# (exit 124) instead of the whole test.
expect_fail() {
    local code=$1 needle=$2; shift 2
    local run=("$PGWARD")
    [[ -z ${TK_TIMEOUT:-} ]] || run=(timeout "$TK_TIMEOUT" "$PGWARD")
    set +e
    err=$("${run[@]}" "$@" 2>&1 >/dev/null); rc=$?
    set -e
    tk_assert_eq "$rc" "$code" "exit code of: $*"
    tk_assert_contains "$err" "$needle" "message of: $*"
    tk_assert_contains "$err" "HINT:" "hint of: $*"
}

# tk_wait_for SECONDS DESCRIPTION CMD...: poll CMD (every 50 ms) until it succeeds; fail the
# test, naming DESCRIPTION, if it has not within SECONDS. Instead of a fixed sleep.
tk_wait_for() {
    local secs=$1 what=$2; shift 2
    local end=$((${EPOCHREALTIME/[.,]/} / 1000 + secs * 1000))
    until "$@" >/dev/null 2>&1; do
        (( ${EPOCHREALTIME/[.,]/} / 1000 < end )) || tk_fail "waited ${secs} s for: $what"
        sleep 0.05
    done
}

# tk_stop PID SECONDS [LOG]: send SIGTERM to a background child of this shell and wait for
# it to end, at most SECONDS (scaled like the other bounds under the sanitizers). If it is
# still running then, its threads' kernel state (wchan, syscall) and the last lines of LOG
# are shown and the test fails, naming it: a process that hangs on its way out is a finding
# with evidence, not a test killed by meson's timeout. Returns the child's exit status.
tk_stop() {
    local pid=$1 secs=$2 log=${3:-} t st
    [[ -n ${PGWARD_SANITIZED:-} ]] && secs=$((secs * 3))
    kill -TERM "$pid" 2>/dev/null || true
    local end=$((${EPOCHREALTIME/[.,]/} / 1000 + secs * 1000))
    while [[ -e /proc/$pid ]] && ! grep -q '^[0-9]* (.*) Z' "/proc/$pid/stat" 2>/dev/null; do
        if (( ${EPOCHREALTIME/[.,]/} / 1000 >= end )); then
            _tk_log "tk_stop: pid $pid still runs ${secs} s after SIGTERM; its threads:"
            for t in /proc/"$pid"/task/*; do
                _tk_log "  ${t##*/}: $(tr -d '\0' <"$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null) syscall=$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
            done
            [[ -n $log && -f $log ]] && { _tk_log "last lines of $log:"; tail -20 "$log" >&2; }
            kill -9 "$pid" 2>/dev/null || true
            tk_fail "the process ($pid) did not stop within ${secs} s of SIGTERM"
        fi
        sleep 0.05
    done
    st=0
    wait "$pid" || st=$?
    return $st
}

# tk_next_second: return once the UTC clock has moved to the next second (backup ids and
# record names carry the second; two made in the same one would not sort by time).
tk_next_second() {
    local s
    s=$(date -u +%s)
    while [[ $(date -u +%s) == "$s" ]]; do sleep 0.02; done
}

tk_assert_contains() {
    if [[ "$1" != *"$2"* ]]; then
        tk_fail "${3:-assert_contains}: '$2' not found in: $1"
    fi
}

# ---------------------------------------------------------------------------
# cleanup machinery
# ---------------------------------------------------------------------------
_tk_hooks=()
_TK_CLEANED=

# tk_on_exit "CMD": run CMD (via eval) when the test exits, whatever the
# reason. Hooks run last-registered-first; failures are ignored. Hooks
# registered after pg_start run while the server is still up.
tk_on_exit() {
    _tk_hooks+=("$*")
}

_tk_cleanup() {
    # Traps are not inherited by subshells, but be defensive anyway.
    [[ "${BASHPID}" == "${_TK_MAIN_PID}" ]] || return 0
    [[ -z "${_TK_CLEANED}" ]] || return 0
    _TK_CLEANED=1
    set +e
    trap '' INT TERM HUP          # do not let a second ^C abort the cleanup
    local i
    for ((i = ${#_tk_hooks[@]} - 1; i >= 0; i--)); do
        eval "${_tk_hooks[i]}"
    done
    # Last: until everything is stopped/removed, the watchdog stays armed in
    # case we get SIGKILLed half-way through the cleanup.
    _tk_stop_watchdog
    return 0
}

_tk_exit_trap() {
    local rc=$?
    if [[ $rc -ne 0 && $rc -ne 77 && -n "${PG_LOG:-}" && -s "${PG_LOG}" \
          && -z "${TK_QUIET_LOG:-}" && -z "${_TK_LOG_SHOWN:-}" ]]; then
        _tk_log "---- last lines of server log ${PG_LOG} ----"
        tail -n 25 "${PG_LOG}" >&2
        _tk_log "---- end of server log ----"
    fi
    _tk_cleanup
    exit "$rc"
}

_tk_signal_trap() {
    _tk_log "harness: caught SIG$1, cleaning up"
    exit "$2"                     # runs the EXIT trap
}

trap _tk_exit_trap EXIT
trap '_tk_signal_trap INT 130' INT
trap '_tk_signal_trap TERM 143' TERM
trap '_tk_signal_trap HUP 129' HUP

# ---------------------------------------------------------------------------
# watchdog
# ---------------------------------------------------------------------------
# Traps cannot run on SIGKILL (e.g. meson's timeout escalation), and the
# postmaster is in its own session (pg_ctl setsid()s it), so it would outlive
# the test. tk_tmpdir therefore spawns a detached watchdog (own session, all
# fds on /dev/null so it never holds the test runner's pipes) that waits for
# the test shell to die and then acts on the state file TK_TMP/.tk_watchdog:
#   user NAME     run pg_ctl as NAME
#   datadir DIR   stop the server in DIR if it is running
#   rm DIR        remove DIR (unless TK_KEEP is set)
# After a normal cleanup the watchdog is killed before it does anything.
_TK_WATCHDOG_PID=
_TK_WD_STATE=

_tk_wd_note() {
    [[ -n "${_TK_WD_STATE}" ]] || return 0
    printf '%s\n' "$*" >>"${_TK_WD_STATE}"
}

_tk_start_watchdog() {
    [[ -z "${TK_NO_WATCHDOG:-}" && -z "${_TK_WATCHDOG_PID}" ]] || return 0
    command -v setsid >/dev/null || return 0
    # Started from inside $(...) so that it is not a job of the test shell
    # (a bare "wait" in a test must not wait for it). No job control there,
    # so setsid need not fork and $! is the watchdog itself.
    # shellcheck disable=SC2016  # expanded by the watchdog shell
    _TK_WATCHDOG_PID=$(
    TKW_PID=${_TK_MAIN_PID} TKW_STATE=${_TK_WD_STATE} TKW_KEEP=${TK_KEEP:-} \
    TKW_BINDIR=${PG_BINDIR} setsid bash -c '
        st=()
        while kill -0 "$TKW_PID" 2>/dev/null; do
            [ -f "$TKW_STATE" ] && mapfile -t st <"$TKW_STATE"
            sleep 0.3
        done
        [ -f "$TKW_STATE" ] && mapfile -t st <"$TKW_STATE"
        cd / || exit 0
        user="" datadir="" rms=()
        for l in "${st[@]}"; do
            case "$l" in
                "user "?*) user=${l#user } ;;
                "datadir /"?*) datadir=${l#datadir } ;;
                "rm /"?*) rms+=("${l#rm }") ;;
            esac
        done
        if [ -n "$datadir" ] && [ -d "$datadir" ]; then
            # a start may have been in flight: let the pid file appear
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                [ -f "$datadir/postmaster.pid" ] && break
                sleep 0.2
            done
            if [ -f "$datadir/postmaster.pid" ]; then
                stop=("$TKW_BINDIR/pg_ctl" -D "$datadir" -m immediate -t 10 stop)
                if [ -n "$user" ]; then runuser -u "$user" -- "${stop[@]}"; else "${stop[@]}"; fi
            fi
        fi
        if [ -z "$TKW_KEEP" ]; then
            for d in "${rms[@]}"; do rm -rf -- "$d"; done
        fi
    ' tk-watchdog </dev/null >/dev/null 2>&1 &
    echo "$!"
    ) || _TK_WATCHDOG_PID=
}

_tk_stop_watchdog() {
    local p=${_TK_WATCHDOG_PID}
    [[ -n "$p" ]] || return 0
    _TK_WATCHDOG_PID=
    # It leads its own process group (bash + its sleep).
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    return 0
}

# ---------------------------------------------------------------------------
# temp dirs
# ---------------------------------------------------------------------------
_tk_rm_dir() {
    local d=$1
    [[ -n "$d" && "$d" != / && -d "$d" ]] || return 0
    if [[ -n "${TK_KEEP:-}" ]]; then
        _tk_log "harness: TK_KEEP set, keeping $d"
        return 0
    fi
    rm -rf -- "$d"
}

# tk_tmpdir: create the per-test temp dir (once), export it as TK_TMP and
# schedule its removal. Call it directly, not inside $(...).
_TK_TMP_MINE=
tk_tmpdir() {
    # (A TK_TMP inherited from a parent process is not ours.)
    if [[ -n "${_TK_TMP_MINE}" && -d "${_TK_TMP_MINE}" ]]; then
        return 0
    fi
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/pgward-test.XXXXXX") \
        || { _tk_log "harness: mktemp -d failed"; return 1; }
    TK_TMP=$d
    _TK_TMP_MINE=$d
    export TK_TMP
    tk_on_exit "_tk_rm_dir $(printf '%q' "$d")"
    _TK_WD_STATE=$d/.tk_watchdog
    _tk_wd_note "rm $d"
    _tk_start_watchdog
    tk_signing_key
}

# tk_signing_key: every test's backups are signed and trusted, as in production: a
# signing key in $TK_TMP/.sign.key, exported as PGWARD_SIGN_KEY and its public key as
# PGWARD_TRUSTED_SIGNER (TK_SIGN_PUB). Tests of unsigned behaviour unset them.
tk_signing_key() {
    [[ -n "${PGWARD:-}" && -x "${PGWARD}" && -n "${TK_TMP:-}" ]] || return 0
    [[ -f "${TK_TMP}/.sign.key" ]] && return 0
    TK_SIGN_PUB=$(PGWARD_AUDIT_LOG="${TK_TMP}/.sign-audit.log" \
        "${PGWARD}" keygen --sign -o "${TK_TMP}/.sign.key" 2>/dev/null) \
        || { _tk_log "harness: pgward keygen --sign failed"; return 1; }
    export TK_SIGN_PUB PGWARD_SIGN_KEY="${TK_TMP}/.sign.key" PGWARD_TRUSTED_SIGNER="${TK_SIGN_PUB}"
}

# ---------------------------------------------------------------------------
# running things as the PostgreSQL OS user
# ---------------------------------------------------------------------------
_TK_PGUSER=             # OS user that owns the cluster; empty = current user

# _tk_as_pg CMD...: run CMD as the cluster owner.
_tk_as_pg() {
    if [[ -n "${_TK_PGUSER}" ]]; then
        runuser -u "${_TK_PGUSER}" -- "$@"
    else
        "$@"
    fi
}

# _tk_as_pg_log DIR LOG CMD...: same, from a directory that user can enter
# (initdb/pg_ctl complain when they cannot access the cwd, e.g. /root), with
# stdout+stderr to LOG. The redirection is done inside the subshell on
# purpose: a redirection on a function call would also apply to the main
# shell while it waits, so a signal trap firing then would print into LOG.
_tk_as_pg_log() {
    local dir=$1 log=$2
    shift 2
    (
        cd "$dir" || exit 1
        exec >"$log" 2>&1
        _tk_as_pg "$@"
    )
}

_tk_url_encode() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case "$c" in
            [A-Za-z0-9._~/-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# ---------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------

# tk_gen_ca DIR [CN]: create DIR/ca.key and a self-signed DIR/ca.crt.
tk_gen_ca() {
    local dir=$1 cn=${2:-pgward test CA}
    mkdir -p "$dir" || return 1
    cat >"$dir/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    (umask 077 && openssl req -x509 -new -config "$dir/ca.cnf" \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 2 \
        -subj "/CN=${cn}") >"$dir/openssl.log" 2>&1 \
        || { cat "$dir/openssl.log" >&2; return 1; }
    chmod 0644 "$dir/ca.crt"
}

# _tk_gen_server_cert CADIR OUTDIR: OUTDIR/server.{key,crt} signed by CADIR,
# SAN DNS:localhost, IP:127.0.0.1.
_tk_gen_server_cert() {
    local ca=$1 out=$2
    mkdir -p "$out" || return 1
    cat >"$out/server.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[v3_srv]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EOF
    (
        umask 077
        openssl req -new -config "$out/server.cnf" \
            -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$out/server.key" -out "$out/server.csr" &&
        openssl x509 -req -in "$out/server.csr" -CA "$ca/ca.crt" \
            -CAkey "$ca/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
            -days 2 -extfile "$out/server.cnf" -extensions v3_srv \
            -out "$out/server.crt"
    ) >"$out/openssl.log" 2>&1 || { cat "$out/openssl.log" >&2; return 1; }
    chmod 0644 "$out/server.crt"
}

# ---------------------------------------------------------------------------
# server lifecycle
# ---------------------------------------------------------------------------
_TK_PGBASE=
_TK_DATADIR=            # set by pg_start (PG_DATADIR may be inherited)
_TK_STARTING=

_tk_port_busy() {
    # Something accepts connections on it -> busy. (Bind races are handled
    # by retrying pg_ctl start.)
    (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Sets _TK_PORT. Not meant for $(...): with bash < 5.1 (no SRANDOM) a
# subshell would replay the same RANDOM sequence on every call.
_TK_PORT=
_tk_pick_port() {
    local span=$((TK_PORT_MAX - TK_PORT_MIN + 1)) p i
    for ((i = 0; i < 50; i++)); do
        p=$((TK_PORT_MIN + ${SRANDOM:-$RANDOM} % span))
        if ! _tk_port_busy "$p"; then
            _TK_PORT=$p
            return 0
        fi
    done
    return 1
}

# pg_stop: immediate shutdown; idempotent, never fails.
pg_stop() {
    local dd=${_TK_DATADIR} pid='' i
    [[ -n "$dd" && -d "$dd" ]] || return 0
    if [[ -n "${_TK_STARTING}" ]]; then
        # Interrupted during pg_ctl start: the postmaster may not have
        # written its pid file yet.
        for ((i = 0; i < 20; i++)); do
            [[ ! -f "$dd/postmaster.pid" ]] || break
            sleep 0.1
        done
    fi
    [[ -f "$dd/postmaster.pid" ]] || return 0
    pid=$(head -n 1 "$dd/postmaster.pid" 2>/dev/null)
    _tk_as_pg_log / /dev/null "${PG_BINDIR}/pg_ctl" -D "$dd" -m immediate -t 10 stop
    # Belt and braces: the postmaster must be gone before we delete its dir.
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
    fi
    return 0
}

# pg_psql_super ARGS...: psql as the superuser over the unix socket.
pg_psql_super() {
    [[ -n "${PG_SOCKDIR:-}" ]] || { _tk_log "pg_psql_super: server not started"; return 1; }
    _tk_as_pg "${PG_BINDIR}/psql" -X -v ON_ERROR_STOP=1 -qtA \
        -h "${PG_SOCKDIR}" -p "${PGPORT_TEST}" -U postgres -d postgres "$@"
}

# pg_start [EXTRA_CONF_LINE...]: see README.md.
# shellcheck disable=SC2120  # arguments are optional
pg_start() {
    if [[ -n "${_TK_DATADIR}" ]]; then
        _tk_log "pg_start: called twice (server in ${_TK_DATADIR}); once per test"
        return 1
    fi
    local b
    for b in initdb pg_ctl postgres psql; do
        [[ -x "${PG_BINDIR}/$b" ]] || tk_skip "PostgreSQL binary ${PG_BINDIR}/$b not found"
    done
    command -v openssl >/dev/null || tk_skip "openssl CLI not found"
    # PG_URL uses host "localhost" (DNS SAN); it must reach 127.0.0.1. (No
    # "getent | grep -q": under the caller's pipefail that can SIGPIPE.)
    local hosts
    hosts=$(getent ahostsv4 localhost 2>/dev/null) || hosts=
    if [[ $'\n'"$hosts" != *$'\n'127.0.0.1[[:space:]]* ]]; then
        tk_skip "localhost does not resolve to 127.0.0.1"
    fi

    tk_tmpdir || return 1

    # Who runs the server? PostgreSQL refuses to run as root.
    _TK_PGUSER=
    if [[ ${EUID} -eq 0 ]]; then
        id -u postgres >/dev/null 2>&1 || tk_skip "running as root but no 'postgres' OS user"
        command -v runuser >/dev/null || tk_skip "running as root but no runuser"
        _TK_PGUSER=postgres
        chmod 0711 "${TK_TMP}" || return 1
    fi

    # Server-side dir, owned by the cluster user. Under TK_TMP if that user
    # can reach it and the socket path stays short, else a separate dir in
    # /tmp.
    _TK_PGBASE=${TK_TMP}/pg
    if ((${#_TK_PGBASE} > 80)) || { [[ -n "${_TK_PGUSER}" ]] &&
            ! runuser -u "${_TK_PGUSER}" -- test -x "${TK_TMP}" 2>/dev/null; }; then
        _TK_PGBASE=$(mktemp -d /tmp/pgward-pg.XXXXXX) || return 1
        tk_on_exit "_tk_rm_dir $(printf '%q' "${_TK_PGBASE}")"
        _tk_wd_note "rm ${_TK_PGBASE}"
    fi
    mkdir -p "${_TK_PGBASE}" || return 1
    chmod 0700 "${_TK_PGBASE}"
    local sockdir=${_TK_PGBASE}/sock datadir=${_TK_PGBASE}/data
    [[ -z "${_TK_PGUSER}" ]] || _tk_wd_note "user ${_TK_PGUSER}"
    _tk_wd_note "datadir $datadir"
    local logfile=${_TK_PGBASE}/server.log pwfile=${_TK_PGBASE}/pwfile
    mkdir -p "$sockdir" || return 1
    if ((${#sockdir} > 90)); then
        _tk_log "pg_start: socket dir path too long for a unix socket: $sockdir"
        return 1
    fi

    # Certificates: CA (root-only dir), server key/cert, client CA copy.
    tk_gen_ca "${TK_TMP}/ca" || { _tk_log "pg_start: CA generation failed"; return 1; }
    chmod 0700 "${TK_TMP}/ca"
    _tk_gen_server_cert "${TK_TMP}/ca" "${TK_TMP}/ca" \
        || { _tk_log "pg_start: server certificate generation failed"; return 1; }
    mkdir -p "${TK_TMP}/client" && cp "${TK_TMP}/ca/ca.crt" "${TK_TMP}/client/ca.crt" \
        && chmod 0644 "${TK_TMP}/client/ca.crt" || return 1

    # Random superuser password (hex: safe in URLs and conf files).
    local pass
    pass=$(openssl rand -hex 16) || return 1
    (umask 077 && printf '%s\n' "$pass" >"$pwfile") || return 1

    if [[ -n "${_TK_PGUSER}" ]]; then
        chown -R "${_TK_PGUSER}:" "${_TK_PGBASE}" || return 1
    fi

    if ! _tk_as_pg_log "${_TK_PGBASE}" "${TK_TMP}/initdb.log" \
            "${PG_BINDIR}/initdb" -D "$datadir" \
            -U postgres --pwfile="$pwfile" \
            --auth-local=trust --auth-host=scram-sha-256 \
            --no-sync --data-checksums -E UTF8 --locale=C --no-instructions; then
        _tk_log "pg_start: initdb failed:"
        cat "${TK_TMP}/initdb.log" >&2
        return 1
    fi
    rm -f "$pwfile"

    # TLS material inside the data dir, key 0600 owned by the cluster user.
    cp "${TK_TMP}/ca/server.crt" "$datadir/server.crt" &&
        cp "${TK_TMP}/ca/server.key" "$datadir/server.key" &&
        chmod 0600 "$datadir/server.key" && chmod 0644 "$datadir/server.crt" || return 1
    if [[ -n "${_TK_PGUSER}" ]]; then
        chown "${_TK_PGUSER}:" "$datadir/server.crt" "$datadir/server.key" || return 1
    fi

    # pg_hba.conf: exactly these two lines.
    printf '%s\n' \
        'local   all  all                 trust' \
        'hostssl all  all  127.0.0.1/32  scram-sha-256' >"$datadir/pg_hba.conf" || return 1
    # TK_PG_REPLICATION=1 (test_wal.sh): also the replication lines wal-stream and
    # pg_basebackup need
    if [[ -n "${TK_PG_REPLICATION:-}" ]]; then
        printf '%s\n' \
            'local   replication  all                 trust' \
            'hostssl replication  all  127.0.0.1/32  scram-sha-256' >>"$datadir/pg_hba.conf" \
            || return 1
    fi

    # postgresql.conf: include the harness file (rewritten per port attempt),
    # then the caller's extra lines so they can override anything.
    {
        printf '\n# --- pgward test harness ---\n'
        printf "include 'pgward_harness.conf'\n"
        if (($# > 0)); then
            printf '# --- extra lines from pg_start ---\n'
            printf '%s\n' "$@"
        fi
    } >>"$datadir/postgresql.conf" || return 1
    if [[ -n "${_TK_PGUSER}" ]]; then
        chown "${_TK_PGUSER}:" "$datadir/pg_hba.conf" "$datadir/postgresql.conf" || return 1
    fi

    _TK_DATADIR=$datadir
    PG_DATADIR=$datadir
    PG_LOG=$logfile
    export PG_DATADIR PG_LOG
    tk_on_exit "pg_stop"

    local attempt port ok=
    for ((attempt = 1; attempt <= TK_PORT_ATTEMPTS; attempt++)); do
        _tk_pick_port || { _tk_log "pg_start: no free port found"; return 1; }
        port=$_TK_PORT
        cat >"$datadir/pgward_harness.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
ssl = on
ssl_cert_file = '$datadir/server.crt'
ssl_key_file = '$datadir/server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
log_connections = on
EOF
        [[ -z "${_TK_PGUSER}" ]] || chown "${_TK_PGUSER}:" "$datadir/pgward_harness.conf"
        [[ ! -e "$logfile" ]] || mv -f "$logfile" "$logfile.attempt$((attempt - 1))"
        _TK_STARTING=1
        if _tk_as_pg_log "${_TK_PGBASE}" "${TK_TMP}/pg_ctl.log" \
                "${PG_BINDIR}/pg_ctl" -D "$datadir" -w -t 30 -l "$logfile" start; then
            _TK_STARTING=
            ok=1
            break
        fi
        _TK_STARTING=
        if grep -Eq 'could not bind|Address already in use|could not create any TCP/IP sockets' \
                "$logfile" 2>/dev/null; then
            _tk_log "harness: port $port taken, retrying"
            continue
        fi
        break
    done
    if [[ -z "$ok" ]]; then
        _tk_log "pg_start: server failed to start:"
        cat "${TK_TMP}/pg_ctl.log" >&2
        if [[ -f "$logfile" ]]; then
            _tk_log "---- tail of $logfile ----"
            tail -n 30 "$logfile" >&2
            _TK_LOG_SHOWN=1
        fi
        return 1
    fi

    PGHOST_TEST=127.0.0.1
    PGPORT_TEST=$port
    PG_SOCKDIR=$sockdir
    PG_SUPERUSER=postgres
    PG_SUPERPASS=$pass
    PG_CA=${TK_TMP}/client/ca.crt
    PG_URL="postgresql://postgres:${pass}@localhost:${port}/postgres?sslmode=verify-full&sslrootcert=$(_tk_url_encode "${PG_CA}")"
    export PGHOST_TEST PGPORT_TEST PG_SOCKDIR PG_SUPERUSER PG_SUPERPASS PG_CA PG_URL
    return 0
}
