# shellcheck shell=bash
#
# pgward integration-test harness, fault-injection part: tests/tools/faultproxy.c in front of
# the harness S3 server.
#
# Source it after lib.sh and s3.sh (do not execute it):
#
#     source "$(dirname "$0")/../harness/lib.sh"
#     source "$(dirname "$0")/../harness/s3.sh"
#     source "$(dirname "$0")/../harness/faultproxy.sh"
#     s3_start || tk_fail "s3_start failed"
#     fp_start flaky --seed 1 --fault-rate 0.05 || tk_fail "fp_start failed"
#     "$PGWARD" repo ls --repo s3://bucket --s3-endpoint "$FP_URL"
#     echo "$(fp_count) faults injected"
#
# The proxy binary is $PGWARD_FAULTPROXY (meson passes it). Each proxy is stopped on exit
# (tk_on_exit), and also exits by itself after FP_MAX_SECONDS (default 600), so a SIGKILLed
# test leaves nothing running for long.
#
# Functions:
#   fp_start NAME [OPTIONS...]  start a proxy (faultproxy --help lists the options) in front
#                               of FP_UPSTREAM (default: S3_ENDPOINT's 127.0.0.1:PORT). Sets
#                               FP_PORT, FP_URL (http://127.0.0.1:PORT), FP_PID and FP_LOG
#                               (TK_TMP/fp-NAME.log: one line per request).
#   fp_stop                     stop the proxy fp_start last started. Idempotent.
#   fp_count [FAULT [LOG]]      number of requests that got FAULT (default: any fault).
#   fp_summary [LOG]            e.g. "3 faults in 49 requests (500:1 stall:1 drop-request:1)".
#   fp_closed_port              print a loopback port on which nothing listens.

if [[ -n "${_TK_FP_LOADED:-}" ]]; then
    return 0
fi
if [[ -z "${_TK_LIB_LOADED:-}" ]]; then
    printf 'faultproxy.sh: source tests/harness/lib.sh before faultproxy.sh\n' >&2
    return 1
fi
_TK_FP_LOADED=1

: "${FP_MAX_SECONDS:=600}"
FP_PID=
FP_PORT=
FP_URL=
FP_LOG=

# _fp_kill PID: SIGTERM PID if it still is a faultproxy (no PID-reuse accidents), and reap it.
_fp_kill() {
    local pid=$1 cmd=
    [[ -n "$pid" ]] || return 0
    read -r -d '' cmd 2>/dev/null </proc/"$pid"/cmdline || true
    if [[ "$cmd" == *faultproxy* ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true # 143: it was killed, as asked
    fi
    return 0
}

fp_start() {
    if (($# < 1)); then
        _tk_log "usage: fp_start NAME [FAULTPROXY OPTIONS...]"
        return 2
    fi
    local name=$1 i
    shift
    if [[ ! -x "${PGWARD_FAULTPROXY:-}" ]]; then
        _tk_log "fp_start: PGWARD_FAULTPROXY must name the faultproxy binary (meson sets it)"
        return 1
    fi
    tk_tmpdir || return 1
    local up=${FP_UPSTREAM:-${S3_ENDPOINT:-}}
    up=${up#http://}
    up=${up%/}
    if [[ -z "$up" ]]; then
        _tk_log "fp_start: no upstream (start the S3 server first, or set FP_UPSTREAM)"
        return 1
    fi
    local out=${TK_TMP}/fp-$name.port
    FP_LOG=${TK_TMP}/fp-$name.log
    : >"$out"
    "$PGWARD_FAULTPROXY" --max-seconds "${FP_MAX_SECONDS}" "$@" "$up" \
        >"$out" 2>"$FP_LOG" </dev/null &
    FP_PID=$!
    tk_on_exit "_fp_kill $FP_PID"
    FP_PORT=
    for ((i = 0; i < 100; i++)); do
        read -r FP_PORT 2>/dev/null <"$out" || FP_PORT=
        [[ -z "$FP_PORT" ]] || break
        if ! kill -0 "$FP_PID" 2>/dev/null; then
            _tk_log "fp_start: faultproxy exited: $(cat "$FP_LOG")"
            FP_PID=
            return 1
        fi
        sleep 0.05
    done
    if [[ ! "$FP_PORT" =~ ^[0-9]+$ ]]; then
        _tk_log "fp_start: faultproxy did not report its port"
        _fp_kill "$FP_PID"
        FP_PID=
        return 1
    fi
    FP_URL=http://127.0.0.1:$FP_PORT
    export FP_PORT FP_URL FP_LOG
    return 0
}

fp_stop() {
    _fp_kill "${FP_PID}"
    FP_PID=
    return 0
}

fp_count() {
    local f=${1:-} log=${2:-${FP_LOG}}
    if [[ -n "$f" ]]; then
        grep -c -- " fault=$f " "$log" 2>/dev/null || true
    else
        grep -- ' fault=' "$log" 2>/dev/null | grep -vc -- ' fault=none ' || true
    fi
}

fp_summary() {
    local log=${1:-${FP_LOG}} total kinds
    total=$(grep -c -- ' fault=' "$log" 2>/dev/null || true)
    kinds=$(grep -o -- ' fault=[a-z0-9-]*' "$log" 2>/dev/null | grep -v '=none$' |
        sort | uniq -c | awk '{sub(/ *fault=/, "", $2); printf "%s%s:%s", sep, $2, $1; sep=" "}')
    printf '%s faults in %s requests%s\n' "$(fp_count "" "$log")" "${total:-0}" \
        "${kinds:+ ($kinds)}"
}

fp_closed_port() {
    # A port the kernel just handed out and that was closed again: nothing listens there.
    local i out pid port=
    tk_tmpdir || return 1
    out=$(mktemp "${TK_TMP}/fp-closed.XXXXXX") || return 1
    "$PGWARD_FAULTPROXY" --max-seconds 10 127.0.0.1:9 >"$out" 2>/dev/null </dev/null &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        read -r port 2>/dev/null <"$out" || port=
        [[ -z "$port" ]] || break
        sleep 0.05
    done
    _fp_kill "$pid"
    rm -f -- "$out"
    [[ "$port" =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$port"
}
