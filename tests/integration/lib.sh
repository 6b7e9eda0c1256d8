# shellcheck shell=bash disable=SC2034   # SL, PORT, ...: used by the sourcing test
# tests/integration/lib.sh -- shared by the shell integration tests; source it
# (it is not a test itself):
#
#   . "$(dirname "$0")/lib.sh"
#   sluice_tmp cli                  # TMP=/tmp/sluice-cli-XXXXXX, removed on exit
#   start_broker [SLUICED ARGS...]  # ephemeral port; sets BPID, PORT
#   wait_for CMD...                 # poll CMD until it succeeds (60 s deadline)
#   fail MSG                        # print MSG and the broker log tail, exit 1
#
# Sets ROOT, BUILD (SLUICE_BUILD, default build, relative to ROOT), SLUICED
# and SL. On exit, cleanup() runs the test's cleanup_extra (if it defines
# one), stops the broker (stop_pid) and removes $TMP. fail() runs the test's
# fail_extra (if defined) before printing the broker log.

ROOT="${SLUICE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BUILD="${SLUICE_BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
SLUICED="$BUILD/sluiced"
SL="$BUILD/sluice"

TMP=""
BPID=""

# stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL (nothing if not running)
stop_pid() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
}

cleanup() {
    if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
    stop_pid "$BPID"
    [ -n "$TMP" ] && rm -rf "$TMP"
}

# sluice_tmp NAME: a fresh temp dir in TMP, removed (with the broker stopped) on exit
sluice_tmp() {
    TMP=$(mktemp -d "/tmp/sluice-$1-XXXXXX")
    trap cleanup EXIT
}

fail() {
    echo "FAIL: $*"
    if declare -F fail_extra >/dev/null; then fail_extra; fi
    echo "---- broker log (tail)"; tail -30 "$TMP/broker.log" 2>/dev/null
    exit 1
}

# wait_for CMD... : poll until CMD succeeds, 60 s deadline
wait_for() {
    local deadline=$(( $(date +%s) + 60 ))
    while ! "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
    return 0
}

# start_broker [ARGS...]: sluiced on 127.0.0.1, an ephemeral port, data in
# $TMP/data, log in $TMP/broker.log, ARGS appended; waits for its
# "node N listening on HOST:PORT" line and sets BPID and PORT.
broker_port_known() { grep -q 'node [0-9]* listening on' "$TMP/broker.log" 2>/dev/null; }
start_broker() {
    "$SLUICED" --override listeners=PLAINTEXT://127.0.0.1:0 --override "log.dirs=$TMP/data" "$@" \
        >"$TMP/broker.log" 2>&1 &
    BPID=$!
    wait_for broker_port_known || fail "broker did not start"
    PORT=$(grep -o 'node [0-9]* listening on [^ ]*' "$TMP/broker.log" | head -1 | sed 's/.*://')
}
