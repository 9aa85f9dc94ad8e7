# vminitd as PID 1 of a real VM (our kernel + initfs under QEMU, TCG here):
# python grpcio reaches it through the virtio-serial port, calls filesystem,
# system and network methods, reconnects, and Shutdown ends the VM.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py" "$T/run"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py

mkdir -p "$T/diskroot"
echo "data on the disk" >"$T/diskroot/hello"
mke2fs -q -t ext4 -d "$T/diskroot" "$T/disk.ext4" 16M
"$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" \
    --initrd "$CZ_BUILD/guest/initfs.cpio" --disk "$T/disk.ext4" --wait-exit --timeout 120 \
    "$T/run" >"$T/boot.out" 2>&1 &
BPID=$!
on_exit "kill $BPID; wait $BPID"
for i in $(seq 1 500); do [ -S "$T/run/agent.sock" ] && break; sleep 0.02; done

$PY - "$T/run/agent.sock" <<'PY' || fail "the agent session ended with an error"
import sys, time, grpc
import agent_pb2 as a, agent_pb2_grpc as g
sock = sys.argv[1]
channels = []
def stub():
    ch = grpc.insecure_channel("unix:" + sock)
    channels.append(ch)
    return g.AgentStub(ch)
def check(name, cond, why=""):
    print(("PASS: %s" % name) if cond else ("FAIL: %s: %s" % (name, why)), flush=True)
s = stub()
t0 = time.time()
st = None
for i in range(200):
    try:
        st = s.Stat(a.StatRequest(path="/init"), timeout=5)
        break
    except grpc.RpcError:
        time.sleep(0.05)
check("the agent answers in the VM", st is not None)
check("/init is vminitd", st is not None and st.size > 100000, str(st))
s.SetHostname(a.SetHostnameRequest(hostname="guest1"), timeout=10)
hn = s.ReadFile(a.ReadFileRequest(path="/proc/sys/kernel/hostname"), timeout=10).data
check("SetHostname in the guest", hn == b"guest1\n", repr(hn))
s.Mkdir(a.MkdirRequest(path="/mnt/disk", parents=True, mode=0o755), timeout=10)
s.Mount(a.MountRequest(source="/dev/vda", target="/mnt/disk", fstype="ext4"), timeout=10)
data = s.ReadFile(a.ReadFileRequest(path="/mnt/disk/hello"), timeout=10).data
check("mount the virtio-blk ext4 and read it", data == b"data on the disk\n", repr(data))
s.WriteFile(a.WriteFileRequest(path="/mnt/disk/written", data=b"from the host"), timeout=10)
s.Sync(a.SyncRequest(), timeout=10)
U = a.LinkSetRequest.State.Value("UP")
s.LinkSet(a.LinkSetRequest(name="lo", state=U), timeout=10)
check("LinkSet lo up in the guest", True)
try:
    s.Stat(a.StatRequest(path="/no/such"), timeout=10)
    check("missing path is NOT_FOUND", False, "succeeded")
except grpc.RpcError as e:
    check("missing path is NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND, str(e.code()))
# A host that disconnects and reconnects gets a fresh session, same guest.
channels[0].close()
# virtio-serial has no connection boundaries: the guest learns of the hangup
# from the port's HUP, so a reconnect within milliseconds can race it (noted
# in docs/rpc.md). A restarted runtime takes far longer than this pause.
time.sleep(0.5)
s = stub()
try:
    hn = s.ReadFile(a.ReadFileRequest(path="/proc/sys/kernel/hostname"), timeout=30,
                    wait_for_ready=True).data
    check("a new connection reaches the same guest", hn == b"guest1\n", repr(hn))
except grpc.RpcError as e:
    check("a new connection reaches the same guest", False, str(e.code()))
s.Umount(a.UmountRequest(target="/mnt/disk"), timeout=10)
s.Shutdown(a.ShutdownRequest(), timeout=10)
print("PASS: Shutdown answered")
PY

for i in $(seq 1 300); do kill -0 $BPID 2>/dev/null || break; sleep 0.05; done
wait $BPID
out=$(cat "$T/boot.out")
check "Shutdown ends the VM (QEMU exits 0)" bash -c "echo '$out' | grep -q 'qemu: exit 0'"
check "the host wrote to the disk through the agent" bash -c "debugfs -R 'cat /written' '$T/disk.ext4' 2>/dev/null | grep -q 'from the host'"
check "the disk is clean after the guest unmounted it" e2fsck -fn "$T/disk.ext4"
finish
