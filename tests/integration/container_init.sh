# --init on real VMs: a tiny init is PID 1, the process its child; signals
# reach a shell that would ignore them as PID 1, orphans are reaped, and the
# exit code is the child's (128 + signal when killed).
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
for a in sh sleep ps cat kill true grep awk; do ln -s busybox "$T/rootfs/bin/$a"; done
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" initimg:1 >/dev/null
on_exit "\"$CZ_BIN\" rm -f in1 in2 in3 in4"

rc() { "$@" >/dev/null 2>&1; echo $?; }
ps1=$(cz run --rm --init initimg:1 ps -o pid,comm)
check "--init: the init is PID 1" bash -c "echo '$ps1' | grep -Eq '^ *1 +cz-init'"
check "--init: the process is its child" bash -c "echo '$ps1' | grep -Eq '^ *2 +ps'"
check "--init: the child's exit code" [ "$(rc cz run --rm --init initimg:1 sh -c 'exit 7')" = 7 ]
check "--init: 128 + signal when the child is killed" [ "$(rc cz run --rm --init initimg:1 sh -c 'kill -TERM $$; sleep 5')" = 143 ]
check "--init: output passes through" [ "$(cz run --rm --init initimg:1 sh -c 'echo out; echo err >&2' 2>&1 | sort | tr '\n' ' ')" = "err out " ]
check "--init: stdin passes through" [ "$(echo piped | cz run --rm -i --init initimg:1 cat)" = piped ]
expect_fail "--init: a missing command" "cz-init: exec nosuch" cz run --rm --init initimg:1 nosuch
check "--init: a missing command exits 127" [ "$(rc cz run --rm --init initimg:1 nosuch)" = 127 ]
check "--init with a read-only root" [ "$(cz run --rm --init --read-only initimg:1 sh -c 'echo ok')" = ok ]
check "--init: the init cannot be overwritten" [ "$(rc cz run --rm --init initimg:1 sh -c 'echo x >/dev/cz-init')" != 0 ]
# The init is exec'd with every signal blocked (none sent right after the start is lost
# before it takes them); its child, like any container process, starts with none blocked.
check "--init: the process starts with no signal blocked" \
    [ "$(cz run --rm --init initimg:1 grep SigBlk /proc/self/status | awk '{print $2}')" = 0000000000000000 ]
check "without --init too" \
    [ "$(cz run --rm initimg:1 grep SigBlk /proc/self/status | awk '{print $2}')" = 0000000000000000 ]
check "without --init the process is PID 1" bash -c "\"$CZ_BIN\" run --rm initimg:1 ps -o pid,comm | grep -Eq '^ *1 +ps'"

# Orphans: a background process whose parent exits is re-parented to PID 1.
# `exec sleep` as PID 1 never reaps it; the init does. The orphan ends only when told (the
# file /go), after the shell has become `sleep 600`: a shell reaps whatever child has ended
# while it waits for its own, so an orphan that ended before the exec (a stalled vCPU makes
# any fixed delay too short) would be gone without a trace.
orphan='(sh -c "while [ ! -e /go ]; do sleep 1; done" &); exec sleep 600'
zombies() { # NAME: once sleep 600 and the orphan run, end the orphan and count zombies
    local i out
    for i in $(seq 1 120); do
        out=$(cz exec "$1" ps -o stat,args)
        echo "$out" | grep -q 'sleep 600$' && echo "$out" | grep -Eq '^[^Z].*while' && break
        sleep 0.5
    done
    cz exec "$1" sh -c ': >/go'
    for i in $(seq 1 120); do
        cz exec "$1" ps -o stat,args | grep -Eq '^[^Z].*while' || break
        sleep 0.5
    done
    cz exec "$1" ps -o stat,args | grep -c '^Z' || true
}
cz run -d --name in1 --init initimg:1 sh -c "$orphan" >/dev/null
cz run -d --name in2 initimg:1 sh -c "$orphan" >/dev/null
check "without --init the orphan stays a zombie (the check can see one)" [ "$(zombies in2)" = 1 ]
check "--init: the orphan is reaped" [ "$(zombies in1)" = 0 ]

# A shell as PID 1 ignores SIGTERM; under the init it gets it: stop ends with
# 143 (SIGTERM), not 137 (the SIGKILL after the timeout).
cz run -d --name in3 --init initimg:1 sh -c 'sleep 600; true' >/dev/null
cz stop -t 120 in3 >/dev/null
check "--init: stop ends the shell with SIGTERM (143)" [ "$(cz wait in3)" = 143 ]
cz run -d --name in4 initimg:1 sh -c 'sleep 600; true' >/dev/null
cz stop -t 2 in4 >/dev/null
check "without --init the shell ignores SIGTERM (killed: 137)" [ "$(cz wait in4)" = 137 ]
check "--init is recorded" [ "$(cz inspect in3 | jq -r '.[0].Config.Init')" = true ]
finish
