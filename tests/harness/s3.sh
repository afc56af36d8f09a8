# shellcheck shell=bash
#
# pgward integration-test harness, S3 part: a throwaway S3 server.
#
# Source it after lib.sh (do not execute it):
#
#     source "$(dirname "$0")/../harness/lib.sh"
#     source "$(dirname "$0")/../harness/s3.sh"
#     s3_start || tk_fail "s3_start failed"
#     s3_curl PUT "/$S3_BUCKET_PLAIN/obj" --data-binary @file -o /dev/null -w '%{http_code}'
#
# The server is a single-node Ceph RADOS Gateway: one ceph-mon, one ceph-osd
# (memstore, i.e. RAM) and one radosgw (beast frontend), all plain processes
# on 127.0.0.1 under one directory. There is no systemd, no mgr and no cephx.
# The recipe is ../../../shared/recipes/s3-test-server.md. Unlike a lax fake,
# it really verifies SigV4 signatures and payload hashes and enforces Object
# Lock.
#
# Cleanup: s3_stop runs as an exit hook (lib.sh's tk_on_exit). For SIGKILL,
# a second detached watchdog (same pattern as lib.sh's) kills the daemons and
# removes their directory when the test shell disappears. lib.sh's watchdog
# knows only about PostgreSQL, and the Ceph daemons daemonize (setsid), so
# without this they would outlive a killed test.
#
# The library never changes the caller's shell options. See README.md.

if [[ -n "${_TK_S3_LOADED:-}" ]]; then
    return 0
fi
if [[ -z "${_TK_LIB_LOADED:-}" ]]; then
    printf 's3.sh: source tests/harness/lib.sh before s3.sh\n' >&2
    return 1
fi
_TK_S3_LOADED=1

# ---------------------------------------------------------------------------
# configuration (override from the environment)
# ---------------------------------------------------------------------------
: "${TK_S3_MEM_BYTES:=3221225472}"      # memstore capacity; RAM is used as data is stored
: "${TK_S3_START_TIMEOUT:=60}"          # seconds per start attempt

# ---------------------------------------------------------------------------
# environment isolation
# ---------------------------------------------------------------------------
# Tests talk to the harness server only: no inherited credentials, profiles,
# config files, endpoints or regions, and never the EC2/ECS metadata services
# (this workplace forbids traffic to non-loopback addresses).
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
      AWS_ACCESS_KEY AWS_SECRET_KEY AWS_CREDENTIAL_EXPIRATION \
      AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE \
      AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME \
      AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE \
      AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION \
      CEPH_CONF CEPH_ARGS CEPH_KEYRING
for _tk_s3_v in $(compgen -e); do
    case "${_tk_s3_v}" in
        AWS_CONTAINER_CREDENTIALS_* | AWS_CONTAINER_AUTHORIZATION_TOKEN* | AWS_ENDPOINT_URL_*)
            unset "${_tk_s3_v}" ;;
    esac
done
unset _tk_s3_v
export AWS_EC2_METADATA_DISABLED=true
# libcurl honours http_proxy & co.; loopback must never go through a proxy.
for _tk_s3_v in no_proxy NO_PROXY; do
    case ",${!_tk_s3_v:-}," in
        *,127.0.0.1,*) ;;
        *) export "${_tk_s3_v}=${!_tk_s3_v:+${!_tk_s3_v},}127.0.0.1,localhost" ;;
    esac
done
unset _tk_s3_v

# ---------------------------------------------------------------------------
# process helpers (self-contained: also used by the watchdog via declare -f)
# ---------------------------------------------------------------------------

# _s3_alive PID: the process exists and is not a zombie. (Killed daemons are
# re-parented to PID 1, which may take seconds to reap them.)
_s3_alive() {
    local s=
    read -r s 2>/dev/null </proc/"$1"/stat || return 1
    s=${s##*) }
    [[ "${s%% *}" != Z ]]
}

# _s3_pids_with_arg PREFIX: PIDs of the processes that have an argv element
# starting with PREFIX. Every Ceph command the harness runs gets
# "--conf DIR/ceph.conf", so this finds a cluster's processes exactly, even
# mid-start before a pid file exists, and never anything else.
_s3_pids_with_arg() {
    local f p x
    local -a a
    for f in /proc/[0-9]*/cmdline; do
        p=${f#/proc/}
        p=${p%/cmdline}
        [[ "$p" != "${BASHPID}" ]] || continue
        a=()
        mapfile -d '' -t a 2>/dev/null <"$f" || continue
        for x in "${a[@]}"; do
            if [[ "$x" == "$1"* ]]; then
                printf '%s\n' "$p"
                break
            fi
        done
    done
}

# _s3_kill_dir DIR: SIGKILL the cluster in DIR and wait (at most ~5 s) until
# its processes are gone (zombies count as gone). First the pid files (if the
# PID still runs with our --conf: no PID-reuse accidents), then whatever else
# still has DIR/ in its argv (a daemon that had not written its pid file yet,
# a CLI call in flight). SIGKILL on purpose: the data is thrown away and a
# graceful stop takes 6-18 s. Returns 1 if something survived.
_s3_kill_dir() {
    local d=$1 f p round i busy
    local -a pids
    for f in "$d"/run/*.pid; do
        [[ -s "$f" ]] || continue
        p=
        read -r p 2>/dev/null <"$f" || continue
        [[ "$p" =~ ^[0-9]+$ ]] || continue
        local -a a=()
        mapfile -d '' -t a 2>/dev/null </proc/"$p"/cmdline || continue
        for ((i = 0; i < ${#a[@]}; i++)); do
            if [[ "${a[i]}" == "$d/ceph.conf" ]]; then
                kill -KILL "$p" 2>/dev/null
                break
            fi
        done
    done
    for ((round = 0; round < 5; round++)); do
        pids=()
        mapfile -t pids < <(_s3_pids_with_arg "$d/")
        ((${#pids[@]} > 0)) || return 0
        for p in "${pids[@]}"; do
            kill -KILL "$p" 2>/dev/null
        done
        for ((i = 0; i < 50; i++)); do
            busy=
            for p in "${pids[@]}"; do
                if _s3_alive "$p"; then
                    busy=1
                    break
                fi
            done
            [[ -n "$busy" ]] || break
            sleep 0.1
        done
    done
    return 1
}

# ---------------------------------------------------------------------------
# watchdog (for SIGKILL of the test shell)
# ---------------------------------------------------------------------------
_S3_WD_PID=

# _s3_start_watchdog BASE: when the test shell dies without running its exit
# hooks, kill every process with BASE/ in its argv and remove BASE. If BASE
# lies inside TK_TMP, also remove whatever lib.sh's watchdog could not delete
# while the daemons were still writing into it (after that watchdog is done,
# because it may still be stopping PostgreSQL in TK_TMP).
_s3_start_watchdog() {
    [[ -z "${TK_NO_WATCHDOG:-}" && -z "${_S3_WD_PID}" ]] || return 0
    command -v setsid >/dev/null || return 0
    local tmp=
    if [[ -n "${_TK_TMP_MINE:-}" && "$1" == "${_TK_TMP_MINE}"/* ]]; then
        tmp=${_TK_TMP_MINE}
    fi
    # Started from inside $(...) like lib.sh's, so it is not a job of the
    # test shell; all fds on /dev/null so it never holds the runner's pipes.
    # shellcheck disable=SC2016  # expanded by the watchdog shell
    _S3_WD_PID=$(
    S3W_PID=${_TK_MAIN_PID} S3W_BASE=$1 S3W_TMP=$tmp S3W_KEEP=${TK_KEEP:-} \
    S3W_LIBWD=${_TK_WATCHDOG_PID:-} setsid bash -c "$(declare -f _s3_alive _s3_pids_with_arg _s3_kill_dir)"'
        while _s3_alive "$S3W_PID"; do sleep 0.2; done
        cd / || exit 0
        _s3_kill_dir "$S3W_BASE"
        [ -z "$S3W_KEEP" ] || exit 0
        rm -rf -- "$S3W_BASE"
        if [ -n "$S3W_TMP" ] && [ -d "$S3W_TMP" ]; then
            while [ -n "$S3W_LIBWD" ] && _s3_alive "$S3W_LIBWD"; do sleep 0.2; done
            rm -rf -- "$S3W_TMP"
        fi
    ' tk-s3-watchdog </dev/null >/dev/null 2>&1 &
    echo "$!"
    ) || _S3_WD_PID=
}

_s3_stop_watchdog() {
    local p=${_S3_WD_PID}
    [[ -n "$p" ]] || return 0
    _S3_WD_PID=
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    return 0
}

# ---------------------------------------------------------------------------
# server lifecycle
# ---------------------------------------------------------------------------
_S3_BASE=               # per-test parent of the cluster dirs
_S3_DIR=                # running cluster (empty: none)
_S3_SEQ=0
_S3_T0=0
_S3_ERR=
_S3_PORTS=()

# _s3_lap MSG: with TK_VERBOSE, print MSG with the time since s3_start began.
_s3_lap() {
    [[ -n "${TK_VERBOSE:-}" ]] || return 0
    local ms=$(( (${EPOCHREALTIME//[.,]/} - _S3_T0) / 1000 ))
    printf 's3: %3d.%02ds %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$*" >&2
}

# Sets _S3_PORTS=(mon-v2 mon-v1 rgw): three distinct free ports.
_s3_pick_ports() {
    local i p
    local -a got=()
    for ((i = 0; i < 30 && ${#got[@]} < 3; i++)); do
        _tk_pick_port || return 1
        p=${_TK_PORT}
        [[ " ${got[*]} " == *" $p "* ]] || got+=("$p")
    done
    ((${#got[@]} == 3)) || return 1
    _S3_PORTS=("${got[@]}")
}

# _s3_listens PORT PID: PID has a listening TCP socket on 127.0.0.1:PORT.
_s3_listens() {
    local out
    out=$(ss -Hltnp "sport = :$1" 2>/dev/null) || return 1
    [[ "$out" == *"127.0.0.1:$1 "* && "$out" == *"pid=$2,"* ]]
}

_s3_show_logs() {
    local d=$1 f
    for f in "$d"/log/*.out "$d"/log/mon.a.log "$d"/log/osd.0.log "$d"/log/client.rgw.a.log; do
        [[ -s "$f" && "$f" != */monmaptool.out ]] || continue
        _tk_log "---- tail of $f ----"
        tail -n 15 "$f" >&2
    done
    _tk_log "---- end of ceph logs ----"
}

_s3_fail() {
    _S3_ERR=$*
    return 1
}

# _s3_boot MON_V2 MON_V1 RGW_PORT ACCESS SECRET: start the cluster in
# _S3_DIR. Returns 0, 1 (failed: _S3_ERR says why) or 2 (port clash).
_s3_boot() {
    local v2=$1 v1=$2 port=$3 access=$4 secret=$5
    local d=${_S3_DIR} conf=${_S3_DIR}/ceph.conf
    local fsid osd_uuid osd_id monaddr deadline rgwpid='' code
    deadline=$(( ${EPOCHREALTIME//[.,]/} + TK_S3_START_TIMEOUT * 1000000 ))
    mkdir -p "$d"/mon.a "$d"/osd.0 "$d"/rgw "$d"/run "$d"/log || return 1
    fsid=$(uuidgen) && osd_uuid=$(uuidgen) || _s3_fail "uuidgen failed" || return 1
    monaddr="[v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]"
    # The gotchas from the recipe: "ms mon client mode = crc" (else radosgw
    # hangs: it wants msgr2 secure mode, impossible with auth none), the paxos
    # tuning (3 s instead of 13 s), "mon data avail crit = 1" (a nearly full
    # CI disk must not shut the mon down), gc after seconds instead of hours.
    cat >"$conf" <<EOF || return 1
[global]
fsid = $fsid
mon host = $monaddr
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
run dir = $d/run
admin socket = $d/run/\$name.asok
pid file = $d/run/\$name.pid
log file = $d/log/\$name.log
mon cluster log file = $d/log/cluster.log
mon data = $d/\$name
osd data = $d/\$name
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
paxos propose interval = 0.05
paxos min wait = 0.01
client mount timeout = 30
osd objectstore = memstore
memstore device bytes = ${TK_S3_MEM_BYTES}
osd memory target = 1073741824
[mon]
# fail at once on a port clash (default: 3 tries 5 s apart); s3_start retries
ms bind retry count = 1
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $d/rgw
rgw gc obj min wait = 5
rgw gc processor period = 10
EOF
    monmaptool --conf "$conf" --create --fsid "$fsid" --addv a "$monaddr" "$d/monmap" \
        >"$d/log/monmaptool.out" 2>&1 || _s3_fail "monmaptool failed" || return 1
    ceph-mon --conf "$conf" --mkfs -i a --monmap "$d/monmap" \
        >"$d/log/mon-mkfs.out" 2>&1 || _s3_fail "ceph-mon --mkfs failed" || return 1
    # ceph-mon binds before it daemonizes, so a clash shows in its status.
    if ! ceph-mon --conf "$conf" -i a >"$d/log/mon-start.out" 2>&1; then
        if grep -qs 'Address already in use' "$d/log/mon-start.out" "$d/log/mon.a.log"; then
            return 2
        fi
        _s3_fail "ceph-mon failed to start"
        return 1
    fi
    _s3_lap "mon started (v2 $v2, v1 $v1)"
    # The CLI waits for the mon itself (no polling loop).
    osd_id=$(ceph --conf "$conf" --connect-timeout 20 osd new "$osd_uuid" 2>"$d/log/osd-new.out") \
        || _s3_fail "ceph osd new failed (mon not reachable?)" || return 1
    [[ "$osd_id" == 0 ]] || _s3_fail "ceph osd new returned '$osd_id', expected 0" || return 1
    ceph-osd --conf "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
        >"$d/log/osd-mkfs.out" 2>&1 || _s3_fail "ceph-osd --mkfs failed" || return 1
    ceph-osd --conf "$conf" -i 0 >"$d/log/osd-start.out" 2>&1 \
        || _s3_fail "ceph-osd failed to start" || return 1
    _s3_lap "osd started"
    # radosgw waits for the OSD by itself; no need to poll "ceph osd dump".
    radosgw --conf "$conf" -n client.rgw.a >"$d/log/rgw-start.out" 2>&1 \
        || _s3_fail "radosgw failed to start" || return 1
    # Ready = our radosgw (not some other process that got the port) listens
    # and answers 200 to an anonymous GET /.
    while :; do
        if grep -qs 'failed to bind address' "$d/log/client.rgw.a.log"; then
            return 2
        fi
        if grep -qs -e 'failed initializing frontend' -e "Couldn't init storage provider" \
                "$d/log/client.rgw.a.log"; then
            _s3_fail "radosgw failed to initialize"
            return 1
        fi
        if [[ -z "$rgwpid" && -s "$d/run/client.rgw.a.pid" ]]; then
            read -r rgwpid <"$d/run/client.rgw.a.pid" || rgwpid=
        fi
        if [[ -n "$rgwpid" ]]; then
            _s3_alive "$rgwpid" || _s3_fail "radosgw (pid $rgwpid) exited" || return 1
            if _s3_listens "$port" "$rgwpid"; then
                code=$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' \
                    "http://127.0.0.1:$port/" 2>/dev/null) || code=
                [[ "$code" != 200 ]] || break
            fi
        fi
        if (( ${EPOCHREALTIME//[.,]/} > deadline )); then
            _s3_fail "radosgw not answering on 127.0.0.1:$port after ${TK_S3_START_TIMEOUT} s"
            return 1
        fi
        sleep 0.1
    done
    _s3_lap "radosgw answering on 127.0.0.1:$port"
    # (Throwaway random keys; this is the only way radosgw-admin takes them.)
    radosgw-admin --conf "$conf" user create --uid pgward-test --display-name pgward-test \
        --access-key "$access" --secret "$secret" >"$d/log/user-create.out" 2>&1 \
        || _s3_fail "radosgw-admin user create failed" || return 1
    _s3_lap "user created"
    return 0
}

# _s3_make_bucket NAME [CURL ARGS...]
_s3_make_bucket() {
    local b=$1 code
    shift
    code=$(s3_curl PUT "/$b" "$@" -o "${_S3_DIR}/log/bucket-$b.out" -w '%{http_code}') \
        || _s3_fail "creating bucket $b: curl failed" || return 1
    [[ "$code" == 200 ]] || _s3_fail "creating bucket $b: HTTP $code" || return 1
}

# s3_start: see README.md.
s3_start() {
    if [[ -n "${_S3_DIR}" ]]; then
        _tk_log "s3_start: already running in ${_S3_DIR}; call s3_stop first"
        return 1
    fi
    local b
    local -a missing=()
    for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl ss setsid; do
        command -v "$b" >/dev/null || missing+=("$b")
    done
    if ((${#missing[@]} > 0)); then
        _tk_log "s3_start: ERROR: not installed: ${missing[*]}"
        _tk_log "s3_start: the S3 tests need them: apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl iproute2 (see tools/deps.sh)"
        return 1
    fi
    _S3_T0=${EPOCHREALTIME//[.,]/}
    tk_tmpdir || return 1

    if [[ -z "${_S3_BASE}" ]]; then
        # The admin sockets (BASE/cN/run/client.rgw.a.asok) must fit in a
        # unix socket path.
        local base=${TK_TMP}/s3
        if ((${#base} > 70)); then
            base=$(mktemp -d /tmp/pgward-s3.XXXXXX) || return 1
            tk_on_exit "_tk_rm_dir $(printf '%q' "$base")"
            _tk_wd_note "rm $base"
        else
            mkdir -p "$base" || return 1
        fi
        chmod 0700 "$base" || return 1
        _S3_BASE=$base
        # LIFO: s3_stop, then the watchdog is disarmed.
        tk_on_exit "_s3_stop_watchdog"
        tk_on_exit "s3_stop"
        _s3_start_watchdog "$base"
    fi

    local access secret
    access=$(head -c 10 /dev/urandom | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F) || return 1
    secret=$(head -c 30 /dev/urandom | base64 -w0) || return 1   # 40 chars, may hold + and /

    local attempt rc=1
    for ((attempt = 1; attempt <= TK_PORT_ATTEMPTS; attempt++)); do
        _s3_pick_ports || { _tk_log "s3_start: no free ports found"; return 1; }
        _S3_SEQ=$((_S3_SEQ + 1))
        _S3_DIR=${_S3_BASE}/c${_S3_SEQ}
        _S3_ERR=
        rc=0
        _s3_boot "${_S3_PORTS[@]}" "$access" "$secret" || rc=$?
        if ((rc == 0)); then
            S3_ENDPOINT=http://127.0.0.1:${_S3_PORTS[2]}
            S3_REGION=us-east-1
            S3_ACCESS=$access
            S3_SECRET=$secret
            S3_BUCKET_PLAIN=pgward-plain
            S3_BUCKET_LOCKED=pgward-locked
            CEPH_DIR=${_S3_DIR}
            export S3_ENDPOINT S3_REGION S3_ACCESS S3_SECRET S3_BUCKET_PLAIN S3_BUCKET_LOCKED CEPH_DIR
            _s3_make_bucket "$S3_BUCKET_PLAIN" || rc=1
        fi
        if ((rc == 0)); then
            # Object Lock can only be enabled at creation; it enables versioning.
            _s3_make_bucket "$S3_BUCKET_LOCKED" -H 'x-amz-bucket-object-lock-enabled: true' || rc=1
        fi
        ((rc != 0)) || break
        _s3_kill_dir "${_S3_DIR}"
        if ((rc == 2)); then
            [[ -z "${TK_VERBOSE:-}" ]] || _tk_log "s3: port clash (${_S3_PORTS[*]}), retrying"
            rm -rf -- "${_S3_DIR}"
            _S3_DIR=
            continue
        fi
        break
    done
    if ((rc != 0)); then
        local d=${_S3_DIR}
        _S3_DIR=
        unset S3_ENDPOINT S3_ACCESS S3_SECRET CEPH_DIR
        _tk_log "s3_start: ${_S3_ERR:-could not start the S3 server (port clashes?)}"
        [[ -z "$d" ]] || _s3_show_logs "$d"
        return 1
    fi
    _s3_lap "READY: S3 at $S3_ENDPOINT, buckets $S3_BUCKET_PLAIN and $S3_BUCKET_LOCKED (CEPH_DIR=$CEPH_DIR)"
    return 0
}

# s3_stop: SIGKILL the cluster and remove its directory (TK_KEEP keeps it).
# Idempotent; never fails. Runs automatically on exit.
s3_stop() {
    local d=${_S3_DIR} t0=${EPOCHREALTIME//[.,]/}
    [[ -n "$d" ]] || return 0
    _S3_DIR=
    _s3_kill_dir "$d" || _tk_log "s3_stop: processes of $d survived SIGKILL"
    _tk_rm_dir "$d"
    if [[ -n "${TK_VERBOSE:-}" ]]; then
        local ms=$(( (${EPOCHREALTIME//[.,]/} - t0) / 1000 ))
        _tk_log "s3: stopped in ${ms} ms"
    fi
    return 0
}

# s3_curl METHOD PATH [CURL ARGS...]: a SigV4-signed path-style request to the
# harness server, e.g. s3_curl PUT "/$S3_BUCKET_PLAIN/k" --data-binary @f.
# Uses the current S3_ACCESS/S3_SECRET (so S3_SECRET=x s3_curl ... signs with
# a wrong secret), sends x-amz-content-sha256: UNSIGNED-PAYLOAD unless the
# arguments set that header, and passes the key on a config fd (not argv).
# Plain curl semantics: the exit status is curl's; use -o/-w/-D for the HTTP
# status and body. HEAD is sent as -I.
# Query strings: curl 7.88 signs them wrongly unless they are already
# canonical, so only "name=value" pairs of unreserved characters, sorted by
# name, are accepted (?object-lock= and ?retention=&versionId=X work,
# ?object-lock and ?versionId=X&retention= do not); others return 2.
s3_curl() {
    if (($# < 2)); then
        _tk_log "usage: s3_curl METHOD PATH [CURL ARGS...]"
        return 2
    fi
    if [[ -z "${S3_ENDPOINT:-}" ]]; then
        _tk_log "s3_curl: S3 server not started"
        return 2
    fi
    local method=$1 path=$2 a prev='' kv name LC_ALL=C
    shift 2
    if [[ "$path" != /* ]]; then
        _tk_log "s3_curl: path must start with /: $path"
        return 2
    fi
    if [[ "$path" == *\?* ]]; then
        local -a kvs=()
        IFS='&' read -r -a kvs <<<"${path#*\?}"
        for kv in "${kvs[@]}"; do
            name=${kv%%=*}
            if [[ ! "$kv" =~ ^[A-Za-z0-9._~-]+=[A-Za-z0-9._~-]*$ ]] ||
                    { [[ -n "$prev" ]] && ! [[ "$prev" < "$name" ]]; }; then
                _tk_log "s3_curl: curl's SigV4 would sign this query string wrongly: ${path#*\?} (need sorted name=value pairs of [A-Za-z0-9._~-])"
                return 2
            fi
            prev=$name
        done
    fi
    local -a pre=(-sS --noproxy '*' --max-time 300 --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3")
    if [[ "$method" == HEAD ]]; then
        pre+=(-I)
    else
        pre+=(-X "$method")
    fi
    local sha=1
    for a in "$@"; do
        if [[ "${a,,}" == x-amz-content-sha256:* ]]; then
            sha=
        fi
    done
    [[ -z "$sha" ]] || pre+=(-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
    curl "${pre[@]}" -K <(printf 'user = "%s:%s"\n' "${S3_ACCESS:-}" "${S3_SECRET:-}") \
        "$@" "${S3_ENDPOINT}${path}"
}
