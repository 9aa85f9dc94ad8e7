#!/usr/bin/env bash
# Restored in a real VM (our kernel + initfs under QEMU, TCG here), as a VM restored from a
# template calls it: the kernel's generator is reseeded with the host's bytes and the
# virtio disks are probed again, keeping their names and sizes and their contents readable;
# with a disk mounted, nothing is unbound and the call says which mount is in the way.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py" "$T/run"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py

mkdir -p "$T/diskroot"
echo "data on the disk" >"$T/diskroot/hello"
mke2fs -q -t ext4 -d "$T/diskroot" "$T/disk.ext4" 16M
truncate -s 8M "$T/second.img"
"$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" \
    --initrd "$CZ_BUILD/guest/initfs.cpio" --disk "$T/disk.ext4" --disk "$T/second.img" \
    --wait-exit --timeout 180 "$T/run" >"$T/boot.out" 2>&1 &
BPID=$!
on_exit "kill $BPID; wait $BPID"
for i in $(seq 1 500); do [ -S "$T/run/agent.sock" ] && break; sleep 0.02; done

$PY - "$T/run/agent.sock" <<'PY' || fail "the agent session ended with an error"
import os, sys, time, grpc
import agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
T = 30
def check(name, cond, why=""):
    print(("PASS: %s" % name) if cond else ("FAIL: %s: %s" % (name, why)), flush=True)
def read(path):
    return s.ReadFile(a.ReadFileRequest(path=path), timeout=T).data
def sizes():
    return read("/sys/block/vda/size").strip(), read("/sys/block/vdb/size").strip()
st = None
for i in range(200):
    try:
        st = s.Stat(a.StatRequest(path="/init"), timeout=5)
        break
    except grpc.RpcError:
        time.sleep(0.05)
check("the agent answers in the VM", st is not None)
before = sizes()
check("two disks before: 16 MiB vda, 8 MiB vdb", before == (b"32768", b"16384"), repr(before))

try:
    r = s.Restored(a.RestoredRequest(entropy=os.urandom(64), rescan_disks=True), timeout=60)
    check("Restored with entropy and rescan_disks: both disks probed again", r.disks == 2, str(r))
except grpc.RpcError as e:
    check("Restored with entropy and rescan_disks", False, "%s %s" % (e.code(), e.details()))
after = sizes()
check("the disks keep their names and sizes", after == before, repr(after))
ok = all(s.Stat(a.StatRequest(path=p), timeout=T).mode & 0o170000 == 0o060000
         for p in ("/dev/vda", "/dev/vdb"))
check("/dev/vda and /dev/vdb are block devices again", ok)

try:
    s.Restored(a.RestoredRequest(entropy=os.urandom(32), rescan_disks=True, flush_disks=True),
               timeout=60)
    check("Restored with rescan_disks and flush_disks: INVALID_ARGUMENT", False, "succeeded")
except grpc.RpcError as e:
    check("Restored with rescan_disks and flush_disks: INVALID_ARGUMENT",
          e.code() == grpc.StatusCode.INVALID_ARGUMENT, "%s %s" % (e.code(), e.details()))
try:
    r = s.Restored(a.RestoredRequest(entropy=os.urandom(32), flush_disks=True), timeout=60)
    check("Restored with flush_disks: both disks flushed", r.disks == 2, str(r))
except grpc.RpcError as e:
    check("Restored with flush_disks", False, "%s %s" % (e.code(), e.details()))
check("the disks keep their sizes after a flush", sizes() == before, repr(sizes()))

s.Mkdir(a.MkdirRequest(path="/mnt/disk", parents=True, mode=0o755), timeout=T)
s.Mount(a.MountRequest(source="/dev/vda", target="/mnt/disk", fstype="ext4"), timeout=T)
data = read("/mnt/disk/hello")
check("mount /dev/vda after the rescan and read a file", data == b"data on the disk\n", repr(data))

# With vda mounted nothing is unbound or flushed: the call fails before touching any disk.
for flag in ("rescan_disks", "flush_disks"):
    try:
        s.Restored(a.RestoredRequest(entropy=os.urandom(32), **{flag: True}), timeout=60)
        check("Restored{%s} with a disk mounted: FAILED_PRECONDITION" % flag, False, "succeeded")
    except grpc.RpcError as e:
        check("Restored{%s} with a disk mounted: FAILED_PRECONDITION naming the mount" % flag,
              e.code() == grpc.StatusCode.FAILED_PRECONDITION and
              "/dev/vda is mounted on /mnt/disk" in e.details(), "%s %s" % (e.code(), e.details()))
s.WriteFile(a.WriteFileRequest(path="/mnt/disk/written", data=b"after the refusal"), timeout=T)
s.Sync(a.SyncRequest(), timeout=T)
data = read("/mnt/disk/hello")
check("vda still mounted and readable after the refusal", data == b"data on the disk\n"
      and sizes() == before, repr(data))

# Entropy alone: no disk is touched, even with one mounted.
try:
    r = s.Restored(a.RestoredRequest(entropy=os.urandom(4096)), timeout=60)
    check("Restored with 4096 bytes of entropy only", r.disks == 0, str(r))
except grpc.RpcError as e:
    check("Restored with 4096 bytes of entropy only", False, "%s %s" % (e.code(), e.details()))
try:
    s.Restored(a.RestoredRequest(entropy=os.urandom(8)), timeout=T)
    check("Restored with 8 bytes of entropy: INVALID_ARGUMENT", False, "succeeded")
except grpc.RpcError as e:
    check("Restored with 8 bytes of entropy: INVALID_ARGUMENT",
          e.code() == grpc.StatusCode.INVALID_ARGUMENT, "%s %s" % (e.code(), e.details()))
s.Umount(a.UmountRequest(target="/mnt/disk"), timeout=T)
s.Shutdown(a.ShutdownRequest(), timeout=T)
print("PASS: Shutdown answered")
PY

for i in $(seq 1 300); do kill -0 $BPID 2>/dev/null || break; sleep 0.05; done
wait $BPID
check "Shutdown ends the VM (QEMU exits 0)" grep -q 'qemu: exit 0' "$T/boot.out"
check "the write after the refused rescan reached the disk" \
    bash -c "debugfs -R 'cat /written' '$T/disk.ext4' 2>/dev/null | grep -q 'after the refusal'"
check "the disk is clean after the guest unmounted it" e2fsck -fn "$T/disk.ext4"
finish
