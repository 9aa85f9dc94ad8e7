#!/usr/bin/env bash
# What Restored is for, end to end in the guest: a VM booted with a 16 MiB disk A, its
# vminitd waiting for its host, is paused and saved by QEMU (a template); two VMs are
# restored from it, each with a 32 MiB disk B in A's slot. Before Restored the guest still
# believes in A's size; after Restored{entropy, rescan_disks} it sees B's size and reads B's
# files, and the two VMs draw different random numbers. QEMU is run directly here (the
# options of lib/vm that matter for the guest), so the test covers the guest side only.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py
mkdir -p "$T/ra" "$T/rb"
echo "disk A" >"$T/ra/which"
echo "disk B" >"$T/rb/which"
mke2fs -q -t ext4 -d "$T/ra" "$T/A.ext4" 16M
mke2fs -q -t ext4 -d "$T/rb" "$T/B1.ext4" 32M
cp "$T/B1.ext4" "$T/B2.ext4"

timeout -k 5 600 $PY - "$T" "$CZ_BUILD/kernel/vmlinux" "$CZ_BUILD/guest/initfs.cpio" <<'PY' ||
import json, os, signal, socket, subprocess, sys, time, grpc
import agent_pb2 as a, agent_pb2_grpc as g
tmp, kernel, initfs = sys.argv[1:4]
T = 60

def check(name, cond, why=""):
    print(("PASS: %s" % name) if cond else ("FAIL: %s: %s" % (name, why)), flush=True)

def wait_for(cond, what, seconds=120):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)

class Vm:
    def __init__(self, name, disk, incoming=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.console = os.path.join(self.dir, "console.log")
        self.agent = os.path.join(self.dir, "agent.sock")
        qmp = os.path.join(self.dir, "qmp.sock")
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max,-erms,-fsrm",
                "-M", "microvm,x-option-roms=off,acpi=off,isa-serial=on", "-m", "256",
                "-smp", "1", "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                "-kernel", kernel, "-initrd", initfs, "-append",
                "console=ttyS0 panic=-1 reboot=t no_timer_check noreplace-smp noapictimer",
                "-chardev", "file,id=console,path=" + self.console, "-serial", "chardev:console",
                "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % self.agent,
                "-device", "virtio-serial-device,max_ports=2",
                "-device", "virtserialport,chardev=agent,name=cz.agent",
                "-drive", "id=disk0,file=%s,format=raw,if=none" % disk,
                "-device", "virtio-blk-device,drive=disk0",
                "-qmp", "unix:%s,server=on,wait=off" % qmp]
        if incoming:
            argv += ["-incoming", "exec:cat " + incoming]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "qemu.err"), "w"))
        wait_for(lambda: os.path.exists(qmp) or self.proc.poll() is not None, "QMP socket")
        self.qmp = socket.socket(socket.AF_UNIX)
        self.qmp.connect(qmp)
        self.qmp_file = self.qmp.makefile("r")
        self.qmp_file.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.qmp.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            r = json.loads(self.qmp_file.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("%s: %s" % (name, r["error"]))

    def console_text(self):
        try:
            return open(self.console, errors="replace").read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

vms = []
try:
    # The template: boots, vminitd serves (no host has connected), paused and saved.
    tpl = Vm("template", os.path.join(tmp, "A.ext4"))
    vms.append(tpl)
    wait_for(lambda: "vminitd: serving" in tpl.console_text(), "vminitd in the template")
    time.sleep(0.5)  # let it settle into its idle wait
    state = os.path.join(tmp, "template.state")
    tpl.cmd("stop")
    tpl.cmd("migrate", uri="exec:cat > " + state)
    wait_for(lambda: tpl.cmd("query-migrate").get("status") in ("completed", "failed"),
             "the template's state")
    check("the template's state is saved", tpl.cmd("query-migrate")["status"] == "completed")
    tpl.stop()

    uuids = []
    for n in (1, 2):
        vm = Vm("vm%d" % n, os.path.join(tmp, "B%d.ext4" % n), incoming=state)
        vms.append(vm)
        # Until the state is loaded ("inmigrate" lasts through the load, and query-migrate
        # may not report the incoming migration before it begins): a host that connects to
        # the agent while the devices are still being loaded is not seen by the guest.
        wait_for(lambda: vm.proc.poll() is not None or
                 vm.cmd("query-status")["status"] in ("paused", "running", "postmigrate"),
                 "the incoming state")
        if vm.proc.poll() is not None:
            raise RuntimeError("vm%d: QEMU ended loading the state: %s" %
                               (n, open(os.path.join(vm.dir, "qemu.err")).read()))
        if vm.cmd("query-status")["status"] != "running":
            vm.cmd("cont")
        t0 = time.perf_counter()
        s = g.AgentStub(grpc.insecure_channel("unix:" + vm.agent))
        rd = lambda p: s.ReadFile(a.ReadFileRequest(path=p), timeout=T, wait_for_ready=True).data
        stale = rd("/sys/block/vda/size").strip()
        t1 = time.perf_counter()
        if n == 1:
            check("before Restored the guest still sees the template's 16 MiB disk",
                  stale == b"32768", repr(stale))
        uuid_before = rd("/proc/sys/kernel/random/uuid").strip()
        t2 = time.perf_counter()
        r = s.Restored(a.RestoredRequest(entropy=os.urandom(64), rescan_disks=True), timeout=T)
        print("vm%d: cont to the first answer %.1f ms, Restored %.1f ms" %
              (n, (t1 - t0) * 1e3, (time.perf_counter() - t2) * 1e3))
        check("vm%d: Restored probed its disk again" % n, r.disks == 1, str(r))
        size = rd("/sys/block/vda/size").strip()
        check("vm%d: after Restored vda is its own 32 MiB disk" % n, size == b"65536", repr(size))
        s.Mkdir(a.MkdirRequest(path="/mnt/b", parents=True), timeout=T)
        s.Mount(a.MountRequest(source="/dev/vda", target="/mnt/b", fstype="ext4"), timeout=T)
        which = rd("/mnt/b/which")
        check("vm%d: its disk mounts and holds its own files" % n, which == b"disk B\n",
              repr(which))
        uuids.append((uuid_before, rd("/proc/sys/kernel/random/uuid").strip()))
        s.Umount(a.UmountRequest(target="/mnt/b"), timeout=T)
        s.Sync(a.SyncRequest(), timeout=T)
        vm.stop()
    print("random uuid drawn first after the restore, without Restored: %s and %s (%s)" %
          (uuids[0][0].decode(), uuids[1][0].decode(),
           "the same" if uuids[0][0] == uuids[1][0] else "different"))
    check("after Restored the two VMs draw different random numbers",
          uuids[0][1] != uuids[1][1], repr(uuids))
finally:
    for vm in vms:
        vm.stop()
PY
    fail "the template scenario ended with an error"
check "disk B1 is clean after the guest unmounted it" e2fsck -fn "$T/B1.ext4"
finish
