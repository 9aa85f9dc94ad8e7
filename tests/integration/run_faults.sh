# Faults around `container run`, in real VMs: signals reaching the process, bad
# flags and images, QEMU or container-runtime killed with SIGKILL, the CLI killed
# mid-run, a guest that never answers, a guest that panics, a full disk. After
# each: a clear message, the container's state tells the truth, and no VM,
# socket or directory is left behind.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run

on_exit rm_all_containers

R=$T/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp"
cp /bin/busybox "$R/bin/"
for a in sh cat echo sleep true trap; do ln -s busybox "$R/bin/$a"; done
cz image import -c 'CMD ["/bin/sh"]' "$R" t/faults:1 >/dev/null || { fail "import"; finish; }
M=(-m 256M --cpus 1)

ncontainers() { ls "$CONTAINER_ROOT/containers" 2>/dev/null | grep -vc '^\.' ; }
alive() { kill -0 "$1" 2>/dev/null; }
field() { cz inspect "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0]$2)"; }
# QEMU is the runtime's child: find it by parent pid (never by name)
qemu_of() { cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}'; }

# --- signals reach the process
# (the CLI itself, not a subshell: `cz` is a function; SIGINT is not ignored as it
# would be for a background job)
env --default-signal=INT "$CZ_BIN" run "${M[@]}" t/faults:1 sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while true; do sleep 0.1; done' \
    >"$T/sig.out" 2>&1 &
cli=$!
for _ in $(seq 1 300); do grep -q ready "$T/sig.out" && break; sleep 0.1; done
kill -TERM $cli
wait $cli
rc=$?
check "SIGTERM to run reaches the process" grep -q "got TERM" "$T/sig.out"
check "...and run exits with its exit code" test $rc -eq 3
env --default-signal=INT "$CZ_BIN" run "${M[@]}" t/faults:1 sh -c 'trap "echo got INT; exit 4" INT; echo ready; while true; do sleep 0.1; done' \
    >"$T/int.out" 2>&1 &
cli=$!
for _ in $(seq 1 300); do grep -q ready "$T/int.out" && break; sleep 0.1; done
kill -INT $cli
wait $cli
rc=$?
check "Ctrl-C (SIGINT) reaches the process" test $rc -eq 4 -a -n "$(grep 'got INT' "$T/int.out")"

# --- bad input: 125, one line, nothing created
n0=$(ncontainers)
expect_fail "--cpus 0 refused" "cpus" cz run --cpus 0 t/faults:1 true
expect_fail "-m too small refused" "memory" cz run -m 1k t/faults:1 true
expect_fail "unknown --network refused" "network" cz run --network bogus t/faults:1 true
expect_fail "bad -p refused" "port" cz run -p nonsense t/faults:1 true
cz run --cpus 0 t/faults:1 true 2>/dev/null
check "bad flags exit 125" test $? -eq 125
cz run "${M[@]}" 127.0.0.1:9/no/such:1 true 2>"$T/err"
rc=$?
check "an unknown image exits 125" test $rc -eq 125
check "...naming the image" grep -q "127.0.0.1:9/no/such" "$T/err"
check "...in one line" test "$(grep -c . "$T/err")" -le 2
check "nothing created by failed runs" test "$(ncontainers)" -eq "$n0"

# --- QEMU killed with SIGKILL
cz run -d "${M[@]}" --name q1 t/faults:1 sleep 600 >/dev/null
rpid=$(field q1 '["State"]["RuntimePid"]')
qpid=$(qemu_of "$rpid")
check "the runtime's QEMU is found" test -n "$qpid"
kill -KILL "$qpid"
for _ in $(seq 1 100); do alive "$rpid" || break; sleep 0.1; done
check "the runtime notices the VM died and ends" bash -c "! kill -0 $rpid 2>/dev/null"
check "the state says why: the VM was killed" bash -c "'$CZ_BIN' ls -a | grep q1 | grep -q 'Failed: the VM was killed'"
check "inspect: status failed" test "$(field q1 '["State"]["Status"]')" = failed
check "no run directory left" test ! -e "$CONTAINER_RUN_DIR/c-$(field q1 '["Id"][:16]')"
cz rm q1 >/dev/null
check "rm of the failed container" test "$(ncontainers)" -eq "$n0"

# QEMU killed under an attached run: the CLI says so and exits 125
"$CZ_BIN" run "${M[@]}" --name q2 t/faults:1 sh -c 'echo up; sleep 600' >"$T/q2.out" 2>&1 &
cli=$!
for _ in $(seq 1 300); do grep -q up "$T/q2.out" && break; sleep 0.1; done
qpid=$(qemu_of "$(field q2 '["State"]["RuntimePid"]')")
kill -KILL "$qpid"
wait $cli
rc=$?
check "attached run: a killed VM is reported" grep -q "the VM was killed" "$T/q2.out"
check "attached run: exit code 125" test $rc -eq 125
cz rm q2 >/dev/null

# --- container-runtime killed with SIGKILL
cz run -d "${M[@]}" --name r1 t/faults:1 sleep 600 >/dev/null
rpid=$(field r1 '["State"]["RuntimePid"]')
qpid=$(qemu_of "$rpid")
kill -KILL "$rpid"
for _ in $(seq 1 100); do alive "$qpid" || break; sleep 0.1; done
check "QEMU dies with its runtime" bash -c "! kill -0 $qpid 2>/dev/null"
check "ls -a tells the truth" bash -c "'$CZ_BIN' ls -a | grep r1 | grep -q 'Failed: container-runtime exited unexpectedly'"
id=$(field r1 '["Id"]')
check "...and the run directory it left is cleaned up" test ! -e "$CONTAINER_RUN_DIR/c-${id:0:16}"
cz start r1 >/dev/null
check "a crashed container starts again" test "$(field r1 '["State"]["Status"]')" = running
cz rm -f r1 >/dev/null
check "rm -f removes it" test "$(ncontainers)" -eq "$n0"

# --- the CLI killed mid-run: the container goes on (docker's behaviour)
"$CZ_BIN" run "${M[@]}" --name c1 t/faults:1 sh -c 'echo up; sleep 600' >"$T/c1.out" 2>&1 &
cli=$!
for _ in $(seq 1 300); do grep -q up "$T/c1.out" && break; sleep 0.1; done
kill -KILL $cli
wait $cli 2>/dev/null
check "after the CLI died the container still runs" test "$(field c1 '["State"]["Status"]')" = running
cz stop -t 1 c1 >/dev/null
check "...and stops normally" test "$(field c1 '["State"]["Status"]')" = stopped
cz rm c1 >/dev/null

# --- the CLI killed before it attached (stopped while the VM starts, then killed; or
# killed at once): the process never starts, the VM stops, the container is left
# created as docker leaves it (removed with --rm), and `start` runs it normally
# the runtime pid recorded for the container named $1 (empty: no such container yet)
runtime_pid_of() {
    /usr/bin/python3 - "$CONTAINER_ROOT/containers" "$1" <<'PY'
import json, os, sys
d, name = sys.argv[1], sys.argv[2]
for e in os.listdir(d) if os.path.isdir(d) else []:
    try:
        if json.load(open(f"{d}/{e}/config.json")).get("name") == name:
            print(json.load(open(f"{d}/{e}/state.json")).get("runtimePid", 0))
    except (OSError, ValueError):
        pass
PY
}
killed_early() { # NAME SIGNAL [run flags...]: 0 when the CLI was caught before its attach
    local name=$1 sig=$2; shift 2
    "$CZ_BIN" run "${M[@]}" --name "$name" "$@" t/faults:1 sh -c 'echo ran' >"$T/$name.out" 2>&1 &
    local cli=$! p=""
    # the CLI waits for the runtime's ready line (a VM boot away): stop it as soon as the
    # runtime runs, so that it cannot attach
    for _ in $(seq 1 1000); do
        p=$(runtime_pid_of "$name")
        [ -n "$p" ] && [ "$p" != 0 ] && break
        sleep 0.01
    done
    early_rpid=$p
    kill -STOP $cli
    sleep 1
    kill "-$sig" $cli
    kill -CONT $cli 2>/dev/null
    wait $cli 2>/dev/null
    ! grep -q ran "$T/$name.out"
}
early_ok=0
for _ in 1 2 3; do
    killed_early e1 KILL && { early_ok=1; break; }
    cz rm -f e1 >/dev/null 2>&1
done
check "the CLI killed before its attach (caught in time, within 3 tries)" test $early_ok = 1
for _ in $(seq 1 300); do alive "$early_rpid" || break; sleep 0.1; done
check "...its runtime ends by itself" test "$(runtime_pid_of e1)" = 0 -a -n "$early_rpid" -a ! -d "/proc/$early_rpid"
check "...the container is left created" test "$(field e1 '["State"]["Status"]')" = created
check "...its process never ran" test -z "$(cz logs e1 2>&1)"
check "...no VM left" test -z "$(run_leftovers)"
check "...and start runs it" test "$(cz start -a e1 2>&1)" = ran
check "...and again at once (the previous runtime may still be ending)" test "$(cz start -a e1 2>&1)" = ran
cz rm e1 >/dev/null
n1=$(ncontainers)
for _ in 1 2 3; do
    killed_early e2 TERM --rm && break
    cz rm -f e2 >/dev/null 2>&1
done
for _ in $(seq 1 300); do alive "$early_rpid" || break; sleep 0.1; done
check "the CLI terminated before its attach, with --rm: the container is removed" \
    test -z "$(runtime_pid_of e2)" -a "$(ncontainers)" -eq "$n1"
check "...and no VM is left" test -z "$(run_leftovers)"

# --- the CLI terminated as the container is being made, with --rm: nothing is left (made
# whole, then removed; or, when the signal comes later, removed by its runtime)
n2=$(ncontainers)
"$CZ_BIN" run "${M[@]}" --rm t/faults:1 true >/dev/null 2>&1 &
cli=$!
for _ in $(seq 1 3000); do [ "$(ncontainers)" -gt "$n2" ] && break; sleep 0.001; done
kill -TERM $cli
wait $cli
rc=$?
for _ in $(seq 1 300); do [ "$(ncontainers)" -eq "$n2" ] && [ -z "$(run_leftovers)" ] && break; sleep 0.1; done
check "the CLI terminated while making a --rm container: it ends by the signal (143)" test $rc -eq 143
check "...and no container, VM or run directory is left" \
    test "$(ncontainers)" -eq "$n2" -a -z "$(run_leftovers)"

# --- two starts of one container at once: it runs once (the second is told it runs, or
# leaves it running), and not again once it is stopped
cz create "${M[@]}" --name twice t/faults:1 sh -c 'echo started; sleep 600' >/dev/null
"$CZ_BIN" start twice >"$T/twice1" 2>&1 &
s1=$!
"$CZ_BIN" start twice >"$T/twice2" 2>&1 &
s2=$!
wait $s1 $s2
for _ in $(seq 1 100); do [ "$(cz logs twice 2>/dev/null | grep -c started)" -ge 1 ] && break; sleep 0.1; done
check "two starts at once: it runs, once" test "$(cz logs twice | grep -c started)" = 1
cat "$T/twice1" "$T/twice2"
check "...the other start left it running or said it runs (it did not wait)" \
    bash -c "! grep -q 'still stopping' '$T/twice1' '$T/twice2'"
check "...and it runs" test "$(field twice '["State"]["Status"]')" = running
cz stop -t 0 twice >/dev/null
sleep 3
check "...and it does not start again once stopped" \
    test "$(field twice '["State"]["Status"]')" = stopped -a "$(cz logs twice | grep -c started)" = 1
cz rm twice >/dev/null

# --- guests that never answer, or panic
mkdir -p "$T/initfs"
cat >"$T/initfs/silent" <<'EOF'
#!/bin/sh
while true; do sleep 1000; done
EOF
cat >"$T/initfs/spec" <<EOF
dir /dev 0755
nod /dev/console 0600 c 5 1
dir /bin 0755
file /bin/busybox /bin/busybox 0755
slink /bin/sh busybox
slink /bin/sleep busybox
file /init $T/initfs/silent 0755
EOF
"$CZ_BUILD/kernel/mkcpio" "$T/initfs/spec" "$T/initfs/silent.cpio"
start=$(date +%s)
CONTAINER_INITFS=$T/initfs/silent.cpio CZ_BOOT_TIMEOUT=5 cz run "${M[@]}" --name g1 t/faults:1 true 2>"$T/err"
rc=$?
check "a silent guest: run fails with 125" test $rc -eq 125
check "...saying the agent did not answer" grep -q "did not answer within 5 s" "$T/err"
check "...within the timeout (not hanging)" test $(($(date +%s) - start)) -lt 60
check "...state failed" test "$(field g1 '["State"]["Status"]')" = failed
check "...no VM left (no runtime pid)" test "$(field g1 '["State"]["RuntimePid"]')" = 0
cz rm g1 >/dev/null
printf 'dir /dev 0755\nnod /dev/console 0600 c 5 1\nfile /init /bin/true 0755\n' >"$T/initfs/spec2"
"$CZ_BUILD/kernel/mkcpio" "$T/initfs/spec2" "$T/initfs/panic.cpio"
CONTAINER_INITFS=$T/initfs/panic.cpio cz run "${M[@]}" --name g2 t/faults:1 true 2>"$T/err"
rc=$?
check "a guest that panics: 125" test $rc -eq 125
check "...and the panic is named" grep -q "the guest kernel panicked" "$T/err"
cz rm g2 >/dev/null
check "nothing left after the guest faults" test "$(ncontainers)" -eq "$n0" -a -z "$(run_leftovers)"

# --- a full disk: the root on a tiny tmpfs in a private mount namespace
cat >"$T/full.sh" <<EOF
set -u
mkdir -p "$T/small"
mount -t tmpfs -o size=3M tmpfs "$T/small" || exit 99
export CONTAINER_ROOT=$T/small/root
"$CZ_BIN" image import "$R" t/full:1 >/dev/null 2>"$T/full-import.err"
echo "import=\$?"
"$CZ_BIN" run ${M[*]} t/full:1 true 2>"$T/full.err"
echo "run=\$?"
echo "left=\$(ls "\$CONTAINER_ROOT/containers" 2>/dev/null | grep -vc '^\.')"
echo "tmp=\$(find "\$CONTAINER_ROOT/tmp" -type f 2>/dev/null | wc -l)"
EOF
unshare -m --propagation private bash "$T/full.sh" >"$T/full.out" 2>&1
cat "$T/full.out" "$T/full.err" "$T/full-import.err" 2>/dev/null
if grep -q "import=0" "$T/full.out"; then
    check "full disk: run fails" grep -q "run=125" "$T/full.out"
    check "...saying the disk is full" grep -qi "no space left" "$T/full.err"
    check "...leaving no container behind" grep -q "left=0" "$T/full.out"
else
    check "full disk (at import): a clear error" grep -qi "no space left" "$T/full-import.err"
fi
check "full disk: no temp files left" grep -q "tmp=0" "$T/full.out"

# --- the host's disk fills while containers run: QEMU pauses the VM (nothing is lost), the
# runtime says so (ls, inspect, an attached run) and resumes it once there is room
busybox_root "$T/fillroot" sh yes head md5sum sync echo true sleep
unshare -m --propagation private env T="$T" RUN_FLAGS="${M[*]}" IMG_ROOT="$T/fillroot" \
    bash "$CZ_SRC/tests/integration/helpers/disk_fills.sh" >"$T/fill.out" 2>&1
cat "$T/fill.out"
got() { sed -n "s/^$1=//p" "$T/fill.out" | head -1; }
check "disk fills: the VM is paused, not failed" test "$(got paused1)" = yes
check "...inspect says why (the host's disk is full, which file)" \
    bash -c "grep -q 'reason1=the host.s disk is full (writing .*rw' '$T/fill.out'"
check "...ls shows it paused" bash -c "grep -q 'ls1=.*Up .*Paused: the host' '$T/fill.out'"
check "...exec fails at once, saying so" test "$(got exec1)" != 0 -a -n "$(got execerr1 | grep 'paused')"
check "...a signal other than KILL is refused, saying so" test "$(got kill1)" != 0 -a -n "$(got killerr1 | grep 'paused')"
check "...it resumes once there is room, and exits 0" test "$(got wait1)" = 0
check "...not paused any more" test "$(got paused1after)" = False
check "...nothing it wrote was lost" test "$(got logs1)" = "$(got want)  /data done "
check "an attached run is told its VM is paused" bash -c "grep -q 'notice2=warning: the container.s VM is paused: the host.s disk is full' '$T/fill.out'"
check "stop of a paused container ends it at once" test "$(got stop2)" = 0 -a "$(got stoptime2)" -lt 20
check "...the run exits 137" test "$(got runrc2)" = 137
check "...recorded as killed while paused" test "$(got status2)" = "stopped 137" -a -n "$(got error2 | grep 'killed while its VM was paused')"
check "the log while the disk is full: no line cut in half (every line is JSON)" test "$(got logjson3)" = ok
check "...the lines that did not fit are missing (a gap), the rest are there" \
    test "$(got gap3)" = yes -a "$(got lines3)" -gt 100
check "...and it is written again once there is room" test "$(got again3)" -ge 1
check "...and no container is left" test "$(got left)" = 0
check "disk fills: no VM left" test -z "$(run_leftovers)"
finish
