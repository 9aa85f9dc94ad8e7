# The container CLI's lifecycle commands in real VMs (TCG here), as a user sees them:
# stop -s / kill -s with other signals (a name, a number) reaching a trapping process; start -a / -i (exit
# code, stdin on a restart); --entrypoint '' with and without a command; -u by names and
# numbers against the image's passwd/group; rm --all and prune; a missing initfs or QEMU;
# --virtualization tcg|kvm|bogus and system info's accelerator; the agent channel
# (vsock or virtio-serial).
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run

on_exit rm_all_containers

# The images: busybox with a passwd and group naming alice and staff; t/cli:1 runs sh,
# t/cli:ep has an ENTRYPOINT and a CMD.
R=$T/rootfs
busybox_root "$R" sh cat echo sleep id true
mkdir -p "$R/etc" "$R/home/alice" "$R/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n' >"$R/etc/group"
cz image import -c 'CMD ["/bin/sh"]' "$R" t/cli:1 >/dev/null || { fail "import t/cli:1"; finish; }
cz image import -c 'ENTRYPOINT ["/bin/echo", "from-entrypoint"]' -c 'CMD ["from-cmd"]' \
    "$R" t/cli:ep >/dev/null || { fail "import t/cli:ep"; finish; }

M=(-m 256M --cpus 1)

ncontainers() { cz ls -aq | wc -l; }
field() { cz inspect "$1" | jq -r ".[0]$2"; }
# the container's run directory (sockets; its runtime removes it as it ends)
rundir() { echo "$CONTAINER_RUN_DIR/c-$(field "$1" .Id | cut -c1-16)"; }
# QEMU is the runtime's child: found by parent pid (never by name)
qemu_of() { awk '{print $1}' "/proc/$1/task/$1/children" 2>/dev/null; }
# runtimes_end: until no container-runtime of this test's root (unique to it) is left; a
# runtime lingers a moment after its container's end is reported (at most 10 s)
runtimes_end() {
    local _
    for _ in $(seq 1 100); do pgrep -f -- "--root $CONTAINER_ROOT " >/dev/null || return 0; sleep 0.1; done
    return 1
}
# wait_log NAME TEXT: until the container's output has the line TEXT (at most 60 s)
wait_log() {
    local _
    for _ in $(seq 1 300); do cz logs "$1" 2>/dev/null | grep -qx -- "$2" && return 0; sleep 0.2; done
    return 1
}

# --- 1. stop -s / kill -s: a signal other than the default reaches the process
cz run -d "${M[@]}" --name sig1 t/cli:1 sh -c \
    'trap "echo got USR1; exit 42" USR1; echo ready; while true; do sleep 0.1; done' >/dev/null
wait_log sig1 ready
start=$(date +%s)
cz stop -t 60 -s SIGUSR1 sig1 >/dev/null
rc=$?
check "stop -s SIGUSR1 succeeds" test $rc -eq 0
check "...the process trapped SIGUSR1 (its marker in logs)" bash -c "'$CZ_BIN' logs sig1 | grep -qx 'got USR1'"
check "...and ended by its own exit code, not SIGKILL after -t (wait: 42)" test "$(cz wait sig1)" = 42
check "...inspect: stopped, ExitCode 42" test "$(field sig1 .State.Status) $(field sig1 .State.ExitCode)" = "stopped 42"
check "...without waiting out the -t 60 grace period" test $(($(date +%s) - start)) -lt 30
cz rm sig1 >/dev/null

cz run -d "${M[@]}" --name sig3 t/cli:1 sh -c \
    'trap "echo got HUP" HUP; trap "echo got USR1; exit 43" USR1; echo ready; while true; do sleep 0.1; done' >/dev/null
wait_log sig3 ready
out=$(cz kill -s HUP sig3)
check "kill -s HUP prints the container" test "$out" = sig3
check "...the process trapped SIGHUP (its marker in logs)" wait_log sig3 "got HUP"
check "...and, having trapped it, runs on" test "$(field sig3 .State.Status)" = running
cz kill -s 10 sig3 >/dev/null
check "kill -s 10 (a number: SIGUSR1) reaches the process: it exits 43" test "$(cz wait sig3)" = 43
check "...after its marker" bash -c "'$CZ_BIN' logs sig3 | grep -qx 'got USR1'"
cz rm sig3 >/dev/null

# --- 2. start -a and start -a -i: the exit code, and stdin streamed on each start
cz create -i "${M[@]}" --name in1 t/cli:1 sh -c 'read line; echo "got:$line"; exit 9' >/dev/null
out=$(printf 'first\n' | timeout 120 "$CZ_BIN" start -a -i in1)
rc=$?
check "start -a -i: stdin reaches the process ($out)" test "$out" = "got:first"
check "start -a: exits with the process's exit code (9, got $rc)" test $rc -eq 9
# at once: the previous runtime, still ending, must not take the new one's run directory
out=$(printf 'second\n' | timeout 120 "$CZ_BIN" start -a -i in1 2>"$T/err")
rc=$?
check "start -a -i right after the last ended: the new stdin reaches the restarted process ($out$(cat "$T/err"))" \
    test "$out" = "got:second"
check "...exit code again 9 (got $rc)" test $rc -eq 9
cz rm in1 >/dev/null
cz create -i "${M[@]}" --name in2 t/cli:1 cat >/dev/null
head -c 1000000 /dev/urandom >"$T/big"
sum=$(timeout 120 "$CZ_BIN" start -a -i in2 <"$T/big" | sha256sum | cut -d' ' -f1)
check "start -a -i: 1 MB through stdin and back unchanged, EOF ends it" \
    test "$sum" = "$(sha256sum <"$T/big" | cut -d' ' -f1)"
check "...exit code 0" test "$(field in2 .State.ExitCode)" = 0
cz rm in2 >/dev/null
# a container created without -i has no stdin: start -a -i must not hang, the process reads EOF
cz create "${M[@]}" --name in3 t/cli:1 sh -c 'read line; echo "got:$line"; exit 5' >/dev/null
out=$(printf 'ignored\n' | timeout 120 "$CZ_BIN" start -a -i in3)
rc=$?
check "start -a -i of a container created without -i: its process reads EOF ($rc: $out)" \
    test "$rc/$out" = "5/got:"
cz rm in3 >/dev/null
cz create "${M[@]}" --name at1 t/cli:1 sh -c 'echo out; echo err >&2; exit 3' >/dev/null
out=$(timeout 120 "$CZ_BIN" start -a at1 2>"$T/err")
rc=$?
check "start -a: the output, and exit code 3 (got $rc: $out)" test "$rc/$out" = "3/out"
check "...stderr on stderr" grep -qx err "$T/err"
out=$(cz start at1 2>&1)
check "start (right after start -a ended) prints the container and returns ($out)" test "$out" = at1
check "...and wait gives its exit code" test "$(cz wait at1)" = 3
cz rm at1 >/dev/null

# --- 3. --entrypoint '': clears the image's ENTRYPOINT and CMD
out=$(cz run --rm "${M[@]}" t/cli:ep)
check "the image's ENTRYPOINT and CMD run by default ($out)" test "$out" = "from-entrypoint from-cmd"
out=$(cz run --rm "${M[@]}" t/cli:ep extra)
check "a command replaces CMD, not the ENTRYPOINT ($out)" test "$out" = "from-entrypoint extra"
n0=$(ncontainers)
out=$(cz run "${M[@]}" --entrypoint '' t/cli:ep 2>"$T/err")
rc=$?
check "--entrypoint '' without a command: 125 (got $rc)" test $rc -eq 125
check "...saying no command is specified, in one line" \
    bash -c "grep -q '^Error: no command specified' '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
check "...before anything ran (no output, no container)" test -z "$out" -a "$(ncontainers)" -eq "$n0"
cz create "${M[@]}" --entrypoint '' t/cli:ep >/dev/null 2>"$T/err"
rc=$?
check "create --entrypoint '' without a command: 125 too (got $rc)" \
    bash -c "[ $rc -eq 125 ] && grep -q '^Error: no command specified' '$T/err'"
check "...creating nothing" test "$(ncontainers)" -eq "$n0"
out=$(cz run --rm "${M[@]}" --entrypoint '' t/cli:ep sh -c 'echo "only $0"')
check "--entrypoint '' with a command runs just that command ($out)" test "$out" = "only sh"

# --- 4. -u by names and numbers, against the image's /etc/passwd and /etc/group
out=$(cz run --rm "${M[@]}" -u alice:staff t/cli:1 sh -c 'id; echo "HOME=$HOME"')
check "-u alice:staff: both names resolved, no supplementary groups ($(echo $out))" \
    test "$out" = "uid=1000(alice) gid=50(staff)
HOME=/home/alice"
out=$(cz run --rm "${M[@]}" -u alice t/cli:1 sh -c 'id; echo "HOME=$HOME"')
check "-u alice: primary group from passwd, supplementary from group, HOME ($(echo $out))" \
    test "$out" = "uid=1000(alice) gid=1000(alice) groups=50(staff)
HOME=/home/alice"
out=$(cz run --rm "${M[@]}" -u 4321 t/cli:1 sh -c 'id; echo "HOME=$HOME"')
check "-u 4321 (not in passwd): gid 0, HOME=/ ($(echo $out))" test "$out" = "uid=4321 gid=0(root)
HOME=/"
out=$(cz run --rm "${M[@]}" -u 4321:staff t/cli:1 id)
check "-u 4321:staff: a number and a group name ($out)" test "$out" = "uid=4321 gid=50(staff)"
n0=$(ncontainers)
out=$(cz run --rm "${M[@]}" -u nosuchuser t/cli:1 echo ran 2>"$T/err")
rc=$?
check "-u nosuchuser: fails before the process runs (125, got $rc)" test $rc -eq 125 -a -z "$out"
check "...with one clear line" test "$(cat "$T/err")" = \
    "Error: unable to find user nosuchuser: no matching entries in the container's /etc/passwd"
check "...--rm: nothing left" test "$(ncontainers)" -eq "$n0"
cz run --rm "${M[@]}" -u alice:nogroup t/cli:1 true 2>"$T/err"
rc=$?
check "-u alice:nogroup: 125 (got $rc)" test $rc -eq 125
check "...naming the group, in one line" test "$(cat "$T/err")" = \
    "Error: unable to find group nogroup: no matching entries in the container's /etc/group"
cz run "${M[@]}" --name nouser -u nosuchuser t/cli:1 true 2>/dev/null
check "without --rm the container stays, failed, saying why" \
    bash -c "'$CZ_BIN' ls -a | grep nouser | grep -q 'Failed: unable to find user nosuchuser'"
check "...and no VM is left for it" test "$(field nouser .State.RuntimePid)" = 0
cz rm nouser >/dev/null

# --- 5. rm --all and prune
check "no container left by the checks above" test "$(ncontainers)" -eq 0
cz create "${M[@]}" --name p-created t/cli:1 true >/dev/null
cz run "${M[@]}" --name p-exited t/cli:1 true
CONTAINER_INITFS=$T/nope cz run "${M[@]}" --name p-failed t/cli:1 true 2>/dev/null
cz run -d "${M[@]}" --name p-up t/cli:1 sleep 600 >/dev/null
ids=$(for n in p-created p-exited p-failed; do field $n .Id; done | sort)
states=$(for n in p-created p-exited p-failed p-up; do field $n .State.Status; done | tr '\n' ' ')
check "prune setup: created, stopped, failed, running ($states)" test "$states" = "created stopped failed running "
out=$(cz prune)
rc=$?
check "prune succeeds" test $rc -eq 0
check "prune prints the ids of the created, exited and failed containers" \
    test "$(echo "$out" | grep -v '^Removed' | sort)" = "$ids"
check "...and how many ($(echo "$out" | tail -1))" test "$(echo "$out" | tail -1)" = "Removed 3 containers"
check "...keeping only the running one" test "$(cz ls -a --format json | jq -r '.[].Name')" = p-up
check "...which still works" test "$(cz exec p-up echo alive)" = alive
out=$(cz prune)
check "prune with nothing to remove: says so" test "$out" = "Removed 0 containers"
cz run "${M[@]}" --name r-exited t/cli:1 true
cz create "${M[@]}" --name r-created t/cli:1 true >/dev/null
ids=$(for n in r-exited r-created; do field $n .Id; done | sort)
upid=$(field p-up .Id)
out=$(cz rm --all 2>"$T/err")
rc=$?
check "rm --all with a running container: fails (got $rc)" test $rc -ne 0
check "...saying it is running and how to remove it" \
    grep -q "container $upid is running: stop it first, or remove it with -f" "$T/err"
check "...but removes the stopped ones" test "$(cz ls -a --format json | jq -r '.[].Name')" = p-up
check "...printing what it removed" test "$(echo "$out" | sort)" = "$ids"
rpid=$(field p-up .State.RuntimePid)
qpid=$(qemu_of "$rpid")
rdir=$(rundir p-up)
out=$(cz rm -a -f)
check "rm -a -f removes the running one too" test "$out" = "$upid" -a "$(ncontainers)" -eq 0
check "...its runtime and QEMU gone" bash -c "! kill -0 $rpid 2>/dev/null && ! kill -0 ${qpid:-$rpid} 2>/dev/null"
check "...and its run directory" test ! -e "$rdir"
check "...and its records" test -z "$(ls "$CONTAINER_ROOT/containers")"
out=$(cz rm --all)
check "rm --all with no containers: nothing to do, no error" test $? -eq 0 -a -z "$out"
expect_fail "rm without a container or --all: a usage error" "a container is required \(or --all\)" cz rm

# --- 6. a missing initfs or QEMU: one clear line at run, 125, no VM left
# unstartable WHAT REGEX VAR=VALUE: run with VAR=VALUE (a piece missing) fails with 125 and
# the one line "Error: <REGEX>"; the container stays, failed for that reason (as docker
# keeps a container that could not start), with no VM left; with --rm nothing stays.
unstartable() {
    local what=$1 re=$2 setting=$3 rc n0
    n0=$(ncontainers)
    env "$setting" "$CZ_BIN" run "${M[@]}" --name broken t/cli:1 echo ran >"$T/out" 2>"$T/err"
    rc=$?
    check "$what: run exits 125 (got $rc)" test $rc -eq 125
    check "...with one line: $(head -1 "$T/err")" \
        test "$(wc -l <"$T/err")" -eq 1 -a -n "$(grep -Ex -- "Error: $re" "$T/err")"
    check "...nothing ran" test ! -s "$T/out"
    check "...the container stays, failed, saying why" \
        test "$(field broken .State.Status)" = failed -a -n "$(field broken .State.Error | grep -Ex -- "$re")"
    check "...no runtime, no run directory left" \
        test "$(field broken .State.RuntimePid)" = 0 -a ! -e "$(rundir broken)"
    cz rm broken >/dev/null
    env "$setting" "$CZ_BIN" run --rm "${M[@]}" t/cli:1 true 2>"$T/err"
    rc=$?
    check "$what, run --rm: 125, the same line, nothing left" \
        test "$rc" = 125 -a -n "$(grep -Ex -- "Error: $re" "$T/err")" -a "$(ncontainers)" = "$n0"
}
unstartable "no initfs" "initfs $T/nope \(from \\\$CONTAINER_INITFS\): No such file or directory" \
    CONTAINER_INITFS=$T/nope
mkdir -p "$T/emptybin"
unstartable "no QEMU on PATH" ".*qemu-system-x86_64 not found \(install qemu-system-x86\)" \
    PATH=$T/emptybin
out=$(PATH=$T/emptybin "$CZ_BIN" system info)
check "system info without QEMU says so" grep -q '^QEMU: *not found (install qemu-system-x86)' <<<"$out"
check "no runtime process left by the failures" runtimes_end
check "...and no run directory" test -z "$(run_leftovers)"

# --- 7. --virtualization
out=$(cz --virtualization tcg system info)
check "--virtualization tcg: system info reports the accelerator and why" \
    grep -qE '^Accelerator: +tcg \(--virtualization tcg[;)]' <<<"$out"
check "system info --format json: Accelerator" \
    test "$(cz --virtualization=tcg system info --format json | jq -r '.Accelerator + "/" + .AcceleratorSource')" = "tcg/--virtualization tcg"
auto=$(cz system info --format json | jq -r .Accelerator)
check "system info without --virtualization: an accelerator chosen ($auto)" grep -qxE 'kvm|tcg' <<<"$auto"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || check "...tcg where there is no usable /dev/kvm" test "$auto" = tcg
cz --virtualization tcg run -d "${M[@]}" --name acc t/cli:1 sleep 600 >/dev/null
qpid=$(qemu_of "$(field acc .State.RuntimePid)")
check "--virtualization tcg: the container's QEMU runs with -accel tcg" \
    bash -c "tr '\0' '\n' </proc/$qpid/cmdline | grep -A1 -x -- -accel | grep -q '^tcg'"
check "...and its process runs" test "$(cz exec acc echo ok)" = ok
# 8. the agent channel: vsock where the host has /dev/vhost-vsock, else virtio-serial
if [ -r /dev/vhost-vsock ] && [ -w /dev/vhost-vsock ]; then
    check "the agent channel: vsock (QEMU has a vhost-vsock device)" \
        bash -c "tr '\0' '\n' </proc/$qpid/cmdline | grep -q '^vhost-vsock-device,'"
else
    echo "SKIP: the vsock agent channel: no usable /dev/vhost-vsock on this host"
    check "the agent channel: virtio-serial (QEMU has the cz.agent port)" \
        bash -c "tr '\0' '\n' </proc/$qpid/cmdline | grep -q 'virtserialport,chardev=agent,name=cz.agent'"
fi
cz rm -f acc >/dev/null
out=$(timeout 60 "$CZ_BIN" --virtualization tcg run --rm "${M[@]}" t/cli:1 echo tcg-ok)
check "--virtualization tcg run works" test "$out" = tcg-ok
check "--virtualization kvm: system info reports it" \
    bash -c "'$CZ_BIN' --virtualization kvm system info | grep -qE '^Accelerator: +kvm \(--virtualization kvm'"
start=$(date +%s)
out=$(timeout 120 "$CZ_BIN" --virtualization kvm run "${M[@]}" --name kvm1 t/cli:1 echo kvm-ok 2>"$T/err")
rc=$?
took=$(($(date +%s) - start))
if [ "$auto" = kvm ]; then
    # the probe booted a guest on KVM here: forcing it must work too
    check "--virtualization kvm run works where KVM does (got $rc: $out)" test "$rc/$out" = 0/kvm-ok
else
    # no usable KVM (none, or one a standard guest hangs or crashes on, as here): a clear
    # failure, bounded, not a hang
    echo "--virtualization kvm here: rc $rc after ${took}s: $(cat "$T/err")"
    check "--virtualization kvm where KVM does not work: not a hang (got $rc after ${took}s)" test $rc -ne 124
    check "...fails with 125" test $rc -eq 125 -a -z "$out"
    check "...in one Error: line" bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q '^Error: ' '$T/err'"
    check "...the container failed, no runtime left" \
        test "$(field kvm1 .State.Status) $(field kvm1 .State.RuntimePid)" = "failed 0"
fi
cz rm -f kvm1 >/dev/null
n0=$(ncontainers)
cz --virtualization bogus run --rm "${M[@]}" t/cli:1 true 2>"$T/err"
rc=$?
check "--virtualization bogus: a usage error (125, got $rc)" test $rc -eq 125
check "...naming the choices" grep -qx "Error: invalid --virtualization 'bogus' (kvm, tcg or auto)" "$T/err"
check "...nothing created" test "$(ncontainers)" -eq "$n0"
expect_fail "CONTAINER_VIRTUALIZATION=bogus is refused, not taken for auto" \
    "invalid CONTAINER_VIRTUALIZATION 'bogus'" env CONTAINER_VIRTUALIZATION=bogus "$CZ_BIN" ls
expect_fail "--virtualization without a value: says so" "^Error: --virtualization needs a value" \
    "$CZ_BIN" --virtualization
check "nothing left at the end: no runtime" runtimes_end
check "...no container, no run directory" test "$(ncontainers)" -eq 0 -a -z "$(run_leftovers)"
finish
