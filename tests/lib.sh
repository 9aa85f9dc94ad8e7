# Shared helpers for integration tests (bash). Source it first thing:
#   . "$CZ_SRC/tests/lib.sh"
# It gives each test a scratch directory, a private store root, PASS/FAIL
# reporting, and cleanup that runs however the test ends.
set -u
: "${CZ_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${CZ_BUILD:=$CZ_SRC/build}"
: "${CZ_BIN:=$CZ_BUILD/bin/container}"
export CZ_SRC CZ_BUILD CZ_BIN

T=$(mktemp -d /tmp/cz-it-XXXXXX)
export CONTAINER_ROOT=$T/root
_cleanups=()
_test_failed=0

# Register a command to run at exit (last registered runs first).
on_exit() { _cleanups=("$*" "${_cleanups[@]}"); }
_run_cleanups() {
    local c
    for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
    rm -rf "$T"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; _test_failed=1; }
# check NAME CMD...: PASS when CMD succeeds.
check() {
    local name=$1; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
# expect_fail NAME PATTERN CMD...: CMD must fail and print PATTERN (grep -E) on stderr/stdout.
expect_fail() {
    local name=$1 pattern=$2; shift 2
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then fail "$name: succeeded but should fail"; echo "$out" | head -5; return; fi
    if ! echo "$out" | grep -Eq -- "$pattern"; then
        fail "$name: error did not match /$pattern/: $(echo "$out" | head -3)"; return
    fi
    pass "$name"
}
cz() { "$CZ_BIN" "$@"; }
# A root filesystem in DIR with the host's static busybox as /bin/busybox and the named
# applets linked to it.
busybox_root() {
    local dir=$1 a
    shift
    mkdir -p "$dir/bin"
    cp /bin/busybox "$dir/bin/"
    for a in "$@"; do ln -s busybox "$dir/bin/$a"; done
}
# Remove every container of the test's root (container tests: on_exit rm_all_containers).
rm_all_containers() {
    for id in $(cz ls -aq 2>/dev/null); do cz rm -f "$id" >/dev/null 2>&1; done
}
# What containers left in the run directory ($CONTAINER_RUN_DIR): VM templates are kept on
# purpose (docs/vm.md "Templates"), half-built or discarded ones are not.
run_leftovers() {
    ls "$CONTAINER_RUN_DIR" 2>/dev/null | grep -v '^templates$'
    ls "$CONTAINER_RUN_DIR/templates" 2>/dev/null | grep -E '\.(tmp|bad|old)-'
}

# A free TCP port on 127.0.0.1.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_registry [htpasswd-file]: starts Debian's docker-registry on a free
# loopback port; sets REG (host:port), REG_DIR (storage) and REG_PID.
start_registry() {
    local auth=${1:-}
    REG_PORT=$(free_port)
    REG=127.0.0.1:$REG_PORT
    REG_DIR=$T/registry-$REG_PORT
    mkdir -p "$REG_DIR/data"
    {
        echo "version: 0.1"
        echo "log: {level: error, accesslog: {disabled: true}}"
        echo "storage: {filesystem: {rootdirectory: $REG_DIR/data}, delete: {enabled: true}}"
        echo "http: {addr: $REG}"
        if [ -n "$auth" ]; then
            echo "auth: {htpasswd: {realm: cz-test, path: $auth}}"
        fi
    } >"$REG_DIR/config.yml"
    docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/log" 2>&1 &
    REG_PID=$!
    on_exit "kill $REG_PID; wait $REG_PID"
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null "http://$REG/v2/" && return 0
        sleep 0.05
    done
    echo "registry did not start: $(cat "$REG_DIR/log")" >&2
    return 1
}

# Finish: exit status tells the harness whether anything failed.
finish() { exit $_test_failed; }
