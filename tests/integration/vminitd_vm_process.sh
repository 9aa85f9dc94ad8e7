# Processes inside a real VM: our kernel + initfs under QEMU (TCG here). The
# container's root filesystem is an ext4 disk the agent mounts; python grpcio
# drives vminitd through the virtio-serial port: stdio, exit codes, stdin, a
# pty with a resize, a signal, exec, and cgroup v2 stats.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py" "$T/run" "$T/rootfs/bin" "$T/rootfs/proc" "$T/rootfs/dev" "$T/rootfs/tmp"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py
cp /bin/busybox "$T/rootfs/bin/"
for a in sh cat echo sleep hostname stty tty true; do ln -s busybox "$T/rootfs/bin/$a"; done
mke2fs -q -t ext4 -d "$T/rootfs" "$T/rootfs.ext4" 32M

"$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" \
    --initrd "$CZ_BUILD/guest/initfs.cpio" --disk "$T/rootfs.ext4" --memory 512 \
    --wait-exit --timeout 300 "$T/run" >"$T/boot.out" 2>&1 &
BPID=$!
on_exit "kill $BPID; wait $BPID"
for i in $(seq 1 500); do [ -S "$T/run/agent.sock" ] && break; sleep 0.02; done

$PY - "$T/run/agent.sock" <<'PY' || fail "mounting the root filesystem failed"
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
s.Mount(a.MountRequest(source="/dev/vda", target="/mnt/rootfs", fstype="ext4",
                       create_target=True), timeout=60, wait_for_ready=True)
print("PASS: the agent mounted the container's disk")
PY
$PY "$CZ_SRC/tests/integration/vminitd_process.py" "$T/run/agent.sock" /mnt/rootfs --stats \
    || fail "the process suite ended with an error"
$PY - "$T/run/agent.sock" <<'PY'
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
s.Umount(a.UmountRequest(target="/mnt/rootfs"), timeout=30)
s.Shutdown(a.ShutdownRequest(), timeout=30)
print("PASS: unmount and Shutdown")
PY
for i in $(seq 1 300); do kill -0 $BPID 2>/dev/null || break; sleep 0.05; done
wait $BPID
check "QEMU exited after Shutdown" grep -q 'qemu: exit 0' "$T/boot.out"
check "the disk is clean" e2fsck -fn "$T/rootfs.ext4"
finish
