#!/usr/bin/env bash
# vminitd as an ordinary process on the host, in fresh user, mount, UTS, network,
# IPC and pid namespaces (so nothing it does reaches the host), serving the agent
# API on a unix socket, driven by python grpcio generated from proto/agent.proto.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
VMINITD=$CZ_BUILD/guest/vminitd
mkdir -p "$T/py" "$T/scratch"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py

# The sanitizer build links vminitd dynamically (ASan cannot be static).
if [[ "$CZ_BUILD" != */san ]]; then
    check "vminitd is a static executable" sh -c "file '$VMINITD' | grep -q 'statically linked'"
fi
echo "vminitd size: $(stat -c %s "$VMINITD") bytes"

SOCK=$T/agent.sock
start=$(date +%s%N)
unshare --user --map-root-user --mount --uts --net --ipc --pid --fork --kill-child \
    "$VMINITD" --listen "unix:$SOCK" 2>"$T/vminitd.log" &
UPID=$!
on_exit "kill -9 $UPID; wait $UPID"
for i in $(seq 1 200); do [ -S "$SOCK" ] && break; kill -0 $UPID 2>/dev/null || break; sleep 0.01; done
echo "vminitd serving after $(( ($(date +%s%N) - start) / 1000000 )) ms (including unshare)"
if [ ! -S "$SOCK" ]; then
    fail "vminitd did not start: $(cat "$T/vminitd.log")"
    exit 1
fi

# What the host's disks look like: Restored{rescan_disks} must leave them alone.
host_disks() { ls /sys/block; ls /sys/bus/virtio/drivers/virtio_blk 2>/dev/null; }
host_disks >"$T/disks.before"

$PY "$CZ_SRC/tests/integration/vminitd_agent.py" "$SOCK" "$T/scratch"

# After Shutdown (the last call of the suite) vminitd exits by itself, status 0.
for i in $(seq 1 100); do kill -0 $UPID 2>/dev/null || break; sleep 0.05; done
if kill -0 $UPID 2>/dev/null; then
    fail "vminitd still running after Shutdown"
else
    wait $UPID
    check "vminitd exited with status 0 after Shutdown" test $? -eq 0
fi
check "no vminitd error on stderr" sh -c "! grep -q Error '$T/vminitd.log'"

# Restored reseeding the generator needs CAP_SYS_ADMIN in the initial user namespace: a
# second vminitd, as root with no user namespace (still its own mount, pid and network
# namespaces). On the host it only mixes random bytes into the pool.
if [ "$(id -u)" = 0 ]; then
    RSOCK=$T/root.sock
    unshare --mount --uts --net --ipc --pid --fork --kill-child \
        "$VMINITD" --listen "unix:$RSOCK" 2>"$T/vminitd-root.log" &
    RPID=$!
    on_exit "kill -9 $RPID; wait $RPID"
    for i in $(seq 1 200); do [ -S "$RSOCK" ] && break; kill -0 $RPID 2>/dev/null || break; sleep 0.01; done
    $PY "$CZ_SRC/tests/integration/vminitd_agent.py" --restored "$RSOCK"
    for i in $(seq 1 100); do kill -0 $RPID 2>/dev/null || break; sleep 0.05; done
    check "the vminitd without a user namespace exited after Shutdown" bash -c "! kill -0 $RPID 2>/dev/null"
    check "no error on its stderr" sh -c "! grep -qi error '$T/vminitd-root.log'"
fi
host_disks >"$T/disks.after"
check "the host's disks are untouched by Restored" cmp -s "$T/disks.before" "$T/disks.after"

expect_fail "bad --listen argument" "takes unix:PATH" "$VMINITD" --listen tcp:1
finish
