# lib/ocirt through vminitd's agent API, as python grpcio drives it: every OCI
# runtime spec feature CreateProcess takes, checked from inside the container;
# Exec, Wait, Signal, ResizePty, CloseStdin, Delete; bad specs, unknown ids,
# malformed HTTP/2 and protobuf, a host that drops mid-stream (ocirt.py).
#  1. on the host: vminitd as an ordinary root process on a unix socket; its
#     containers get fresh namespaces. This host's cgroup v2 has no memory, cpu
#     or pids controller (they are bound to cgroup v1), so
#  2. in a real VM (our kernel + initfs, TCG): the cgroup v2 limits, their
#     enforcement (fork bomb, OOM kill), Stats, Signal-all and cgroup removal.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py" "$T/run" "$T/hostdir"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py:$CZ_SRC/tests/integration
SUITE=$CZ_SRC/tests/integration/ocirt.py

# A busybox root filesystem with two users and their groups.
R=$T/rootfs
chmod 711 "$T" # a user namespace's root (an unprivileged id outside) must reach the rootfs
mkdir -p "$R/bin" "$R/etc" "$R/proc" "$R/dev" "$R/sys" "$R/tmp" "$R/home/alice" "$R/mnt"
cp /bin/busybox "$R/bin/"
for a in sh cat echo sleep hostname stty tty true id grep wc touch mkdir readlink ls cut tr \
    tail stat cp chown awk sysctl umask kill; do
    ln -s busybox "$R/bin/$a"
done
chmod 1777 "$R/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:alice:/home/alice:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\nwheel:x:10:\nstaff:x:20:\nalice:x:1000:\n' >"$R/etc/group"
echo "from the host" >"$T/hostdir/hello"

# ---- 1. on the host
SOCK=$T/agent.sock
"$CZ_BUILD/guest/vminitd" --listen "unix:$SOCK" 2>"$T/vminitd.log" &
VPID=$!
on_exit "kill $VPID; wait $VPID"
for i in $(seq 1 200); do [ -S "$SOCK" ] && break; sleep 0.01; done
fds_before=$(ls /proc/$VPID/fd | wc -l)
timeout 600 $PY "$SUITE" "$SOCK" "$R" "$T/hostdir" --raw || fail "the host suite ended with an error"
check "vminitd survived the host suite" kill -0 $VPID
sleep 0.5
fds_after=$(ls /proc/$VPID/fd | wc -l)
check "vminitd holds no fds of deleted processes ($fds_before before, $fds_after after)" \
    test "$fds_after" -eq "$fds_before"
check "vminitd has no children left (all reaped and deleted)" test -z "$(cat /proc/$VPID/task/$VPID/children)"
check "no container mounts left on the host" bash -c "! grep -q '$T/' /proc/mounts"
kill $VPID; wait $VPID 2>/dev/null
# A sanitizer build (make check SANITIZE=1) reports here, leaks at exit included.
check "vminitd's log has no sanitizer report" \
    bash -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/vminitd.log'"

# ---- 1b. the library alone, through cz-ocirt-run (no agent in between)
RUN=$CZ_BUILD/tests/tools/cz-ocirt-run
mkspec() { # FILE ARGS-JSON [EXTRA-PROCESS-JSON]
    $PY -c 'import json, sys
p = {"args": json.loads(sys.argv[2]), "cwd": "/", "env": ["PATH=/bin"]}
p.update(json.loads(sys.argv[3]))
json.dump({"ociVersion": "1.0.2", "process": p, "root": {"path": "rootfs"}, "hostname": "direct",
           "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
           "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc")]}},
          open(sys.argv[1], "w"))' "$1" "$2" "${3:-{\}}"
}
mkspec "$T/direct.json" '["/bin/sh", "-c", "hostname; cat; exit 5"]'
out=$(echo piped | "$RUN" --cgroup-parent "" "$T/direct.json" 2>"$T/direct.err"); rc=$?
check "cz-ocirt-run: relative root, stdin, stdout and the exit code" \
    test "$out|$rc|$(cat "$T/direct.err")" = "direct
piped|5|exit status 5"
mkspec "$T/tty.json" '["/bin/sh", "-c", "sleep 0.5; stty size"]'
out=$("$RUN" --cgroup-parent "" --no-stdin --tty --size 20x60 --resize 21x61 "$T/tty.json" 2>/dev/null | tr -d '\r')
check "cz-ocirt-run: a pty, sized then resized" test "$out" = "21 61"
mkspec "$T/sleep.json" '["/bin/sleep", "30"]'
echo '{"args": ["/bin/sh", "-c", "hostname; echo $$"], "cwd": "/", "env": ["PATH=/bin"]}' >"$T/exec.json"
out=$("$RUN" --cgroup-parent "" --no-stdin --exec "$T/exec.json" "$T/sleep.json" 2>"$T/exec.err")
check "cz-ocirt-run: exec joins the container (its hostname, a pid of its namespace)" \
    test "$(echo $out)" = "direct 2"
check "cz-ocirt-run: exec status, then the container is killed" \
    grep -qx "exec status 0" "$T/exec.err"
echo '{"process": {"args": ["/bin/true"]}, "root": {"path": "rootfs"}, "linux": {"namespaces": [{"type": "mount"}, {"type": "time2"}]}}' >"$T/bad.json"
out=$("$RUN" --cgroup-parent "" "$T/bad.json" 2>&1); rc=$?
check "cz-ocirt-run: a bad spec is one line naming the field" \
    test "$rc|$out" = "2|Error: invalid spec: linux.namespaces[1]: unsupported type 'time2'"

# ---- 2. in a VM, with cgroups
rm -f "$R/hostfile"
mke2fs -q -t ext4 -d "$R" "$T/rootfs.ext4" 64M
"$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" \
    --initrd "$CZ_BUILD/guest/initfs.cpio" --disk "$T/rootfs.ext4" --memory 512 \
    --wait-exit --timeout 900 "$T/run" >"$T/boot.out" 2>&1 &
BPID=$!
on_exit "kill $BPID; wait $BPID"
for i in $(seq 1 500); do [ -S "$T/run/agent.sock" ] && break; sleep 0.02; done
$PY - "$T/run/agent.sock" <<'EOF' || fail "preparing the VM failed"
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
s.Mount(a.MountRequest(source="/dev/vda", target="/mnt/rootfs", fstype="ext4", create_target=True),
        timeout=120, wait_for_ready=True)
s.WriteFile(a.WriteFileRequest(path="/run/hostdir/hello", data=b"from the host\n", mode=0o644,
                               create_parents=True), timeout=60)
EOF
timeout 900 $PY "$SUITE" "$T/run/agent.sock" /mnt/rootfs /run/hostdir --cgroup \
    || fail "the VM suite ended with an error"
$PY - "$T/run/agent.sock" <<'EOF'
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
left = [l for l in s.ReadFile(a.ReadFileRequest(path="/proc/mounts"), timeout=60).data.decode().splitlines()
        if " /mnt/rootfs/" in l]
print("PASS: no container mounts left in the guest" if not left else "FAIL: mounts left: %s" % left)
s.Umount(a.UmountRequest(target="/mnt/rootfs"), timeout=60)
s.Shutdown(a.ShutdownRequest(), timeout=60)
EOF
for i in $(seq 1 600); do kill -0 $BPID 2>/dev/null || break; sleep 0.05; done
wait $BPID
check "QEMU exited after Shutdown" grep -q 'qemu: exit 0' "$T/boot.out"
check "the root disk is clean" e2fsck -fn "$T/rootfs.ext4"
finish
