# Processes inside a real VM: our kernel + initfs under QEMU (TCG here). The
# container's root is an overlay: a read-only image disk as the lower layer, a
# writable ext4 disk as the upper, mounted through the agent; python grpcio
# drives vminitd through the virtio-serial port: stdio, exit codes, stdin, a
# pty with a resize, a signal, exec, and cgroup v2 stats; direct output into the ports
# cz.out and cz.err (vminitd_direct.py).
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py" "$T/run" "$T/rootfs/bin" "$T/rootfs/proc" "$T/rootfs/dev" "$T/rootfs/tmp"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py
cp /bin/busybox "$T/rootfs/bin/"
for a in sh cat echo sleep hostname stty tty true; do ln -s busybox "$T/rootfs/bin/$a"; done
head -c 3000000 /dev/urandom >"$T/data"
cp "$T/data" "$T/rootfs/data"
mke2fs -q -t ext4 -d "$T/rootfs" "$T/rootfs.ext4" 32M
mke2fs -q -t ext4 "$T/upper.ext4" 32M

"$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" \
    --initrd "$CZ_BUILD/guest/initfs.cpio" --disk "$T/rootfs.ext4:ro" --disk "$T/upper.ext4" \
    --memory 512 --output-ports \
    --wait-exit --timeout 300 "$T/run" >"$T/boot.out" 2>&1 &
BPID=$!
on_exit "kill $BPID; wait $BPID"
for i in $(seq 1 500); do [ -S "$T/run/agent.sock" ] && break; sleep 0.02; done

$PY - "$T/run/agent.sock" <<'PY' || fail "mounting the root filesystem failed"
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
s.Mount(a.MountRequest(source="/dev/vda", target="/mnt/image", fstype="ext4", options=["ro"],
                       create_target=True), timeout=60, wait_for_ready=True)
s.Mount(a.MountRequest(source="/dev/vdb", target="/mnt/rw", fstype="ext4", create_target=True),
        timeout=60)
for d in ("/mnt/rw/upper", "/mnt/rw/work"):
    s.Mkdir(a.MkdirRequest(path=d, parents=True, mode=0o755), timeout=30)
s.Mount(a.MountRequest(source="overlay", target="/mnt/rootfs", fstype="overlay", create_target=True,
                       options=["lowerdir=/mnt/image", "upperdir=/mnt/rw/upper", "workdir=/mnt/rw/work"]),
        timeout=60)
print("PASS: the agent mounted the overlay root (image disk + writable disk)")
# kernel/patches/0001: every virtqueue at most 128 entries (a port's receive queue 512 KiB)
q = s.ReadFile(a.ReadFileRequest(path="/sys/module/virtio_mmio/parameters/queue_max"),
               timeout=30).data
print(("PASS: %s" if q == b"128\n" else "FAIL: %s: " + repr(q)) % "the guest caps virtqueues at 128")
PY
$PY "$CZ_SRC/tests/integration/vminitd_process.py" "$T/run/agent.sock" /mnt/rootfs --stats \
    || fail "the process suite ended with an error"
PYTHONPATH=$PYTHONPATH:$CZ_SRC/tests/integration \
    $PY "$CZ_SRC/tests/integration/vminitd_direct.py" "$T/run" /mnt/rootfs "$T/data" \
    || fail "the direct output suite ended with an error"
$PY - "$T/run/agent.sock" <<'PY'
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
import json
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
spec = {"ociVersion": "1.0.2", "root": {"path": "/mnt/rootfs"},
        "process": {"args": ["/bin/sh", "-c", "echo layered > /written"], "cwd": "/",
                    "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
s.CreateProcess(a.CreateProcessRequest(id="w1", oci_spec_json=json.dumps(spec)), timeout=30)
s.StartProcess(a.StartProcessRequest(id="w1"), timeout=30)
w = s.Wait(a.WaitRequest(id="w1"), timeout=30)
s.Delete(a.DeleteRequest(id="w1"), timeout=30)
data = s.ReadFile(a.ReadFileRequest(path="/mnt/rw/upper/written"), timeout=30).data
print(("PASS: %s" if w.exit_status == 0 and data == b"layered\n" else "FAIL: %s: " + repr(data))
      % "a write in the container lands in the upper layer")
try:
    s.Stat(a.StatRequest(path="/mnt/image/written"), timeout=30)
    print("FAIL: the image layer stays untouched: /written appeared there")
except grpc.RpcError as e:
    print(("PASS: %s" if e.code() == grpc.StatusCode.NOT_FOUND else "FAIL: %s: " + str(e.code()))
          % "the image layer stays untouched")
for t in ("/mnt/rootfs", "/mnt/rw", "/mnt/image"):
    s.Umount(a.UmountRequest(target=t), timeout=30)
s.Shutdown(a.ShutdownRequest(), timeout=30)
print("PASS: unmount and Shutdown")
PY
for i in $(seq 1 300); do kill -0 $BPID 2>/dev/null || break; sleep 0.05; done
wait $BPID
check "QEMU exited after Shutdown" grep -q 'qemu: exit 0' "$T/boot.out"
check "the image disk is clean" e2fsck -fn "$T/rootfs.ext4"
check "the writable disk is clean" e2fsck -fn "$T/upper.ext4"
check "the container's write is on the writable disk" bash -c "debugfs -R 'cat /upper/written' '$T/upper.ext4' 2>/dev/null | grep -qx layered"
finish
