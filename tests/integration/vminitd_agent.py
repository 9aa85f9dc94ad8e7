"""Drives vminitd's agent API with python grpcio (code generated from proto/agent.proto
on PYTHONPATH). vminitd runs in namespaces the calling test created (user, mount, uts,
net, pid), serving on a unix socket. Prints PASS:/FAIL: lines.

  vminitd_agent.py SOCKET SCRATCH_DIR
  vminitd_agent.py --restored SOCKET   (vminitd with no user namespace: Restored reseeds
                                        the host's generator, which only mixes bytes in)
"""
import io
import os
import stat
import subprocess
import sys
import tarfile

import agent_pb2 as a
import agent_pb2_grpc as g
import grpc

failed = False


def report(name, ok, why=""):
    global failed
    if ok:
        print("PASS: %s" % name, flush=True)
    else:
        failed = True
        print("FAIL: %s: %s" % (name, why), flush=True)


def expect_code(name, fn, code, contains=None):
    try:
        fn()
    except grpc.RpcError as e:
        ok = e.code() == code and (contains is None or contains in e.details())
        report(name, ok, "got %s %r, want %s %r" % (e.code(), e.details(), code, contains))
        return
    report(name, False, "succeeded, want %s" % code)


def main(sock, scratch):
    ch = grpc.insecure_channel("unix:" + sock, options=[
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.max_send_message_length", 64 << 20)])
    s = g.AgentStub(ch)
    T = 10

    # ---- Mkdir / WriteFile / ReadFile / Stat
    d = os.path.join(scratch, "a/b/c")
    s.Mkdir(a.MkdirRequest(path=d, parents=True, mode=0o750), timeout=T)
    st = os.stat(d)
    report("mkdir -p with mode", stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750,
           oct(st.st_mode))
    expect_code("mkdir of an existing dir: ALREADY_EXISTS",
                lambda: s.Mkdir(a.MkdirRequest(path=d), timeout=T), grpc.StatusCode.ALREADY_EXISTS,
                d)
    expect_code("mkdir under a missing parent: NOT_FOUND",
                lambda: s.Mkdir(a.MkdirRequest(path=scratch + "/nope/x"), timeout=T),
                grpc.StatusCode.NOT_FOUND, "nope/x")
    expect_code("relative path: INVALID_ARGUMENT",
                lambda: s.Mkdir(a.MkdirRequest(path="rel/dir"), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "not absolute")

    f = os.path.join(d, "file.txt")
    s.WriteFile(a.WriteFileRequest(path=f, data=b"hello\n", mode=0o600), timeout=T)
    with open(f, "rb") as fh:
        content = fh.read()
    report("write file: content and mode", content == b"hello\n" and
           stat.S_IMODE(os.stat(f).st_mode) == 0o600, repr(content))
    s.WriteFile(a.WriteFileRequest(path=f, data=b"more\n", append=True), timeout=T)
    r = s.ReadFile(a.ReadFileRequest(path=f), timeout=T)
    report("append, then read back", r.data == b"hello\nmore\n" and r.eof and r.size == 11, str(r))
    r = s.ReadFile(a.ReadFileRequest(path=f, offset=6, limit=2), timeout=T)
    report("read with offset and limit", r.data == b"mo" and not r.eof and r.size == 11, str(r))
    s.WriteFile(a.WriteFileRequest(path=scratch + "/new/deep/f", data=b"x", create_parents=True),
                timeout=T)
    report("write with create_parents", os.path.exists(scratch + "/new/deep/f"))
    big = os.urandom(8 << 20)
    s.WriteFile(a.WriteFileRequest(path=scratch + "/big", data=big), timeout=30)
    r = s.ReadFile(a.ReadFileRequest(path=scratch + "/big"), timeout=30)
    report("8 MiB write and read", r.data == big and r.eof, "len %d" % len(r.data))
    if not os.environ.get("CZ_BUILD", "").endswith("/san"):  # ASan inflates memory
        status = s.ReadFile(a.ReadFileRequest(path="/proc/self/status"), timeout=T).data.decode()
        rss_kb = int(status.split("VmRSS:")[1].split()[0])
        print("vminitd RSS after the 8 MiB round trip: %d KiB" % rss_kb)
        report("vminitd RSS stays under 4 MiB after big messages", rss_kb < 4096, "%d KiB" % rss_kb)
    expect_code("read a directory: INVALID_ARGUMENT",
                lambda: s.ReadFile(a.ReadFileRequest(path=d), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "is a directory")
    expect_code("read a missing file: NOT_FOUND",
                lambda: s.ReadFile(a.ReadFileRequest(path=scratch + "/missing"), timeout=T),
                grpc.StatusCode.NOT_FOUND, "missing")

    os.symlink("file.txt", d + "/link")
    r = s.Stat(a.StatRequest(path=d + "/link"), timeout=T)
    report("stat of a symlink", stat.S_ISLNK(r.mode) and r.link_target == "file.txt", str(r))
    r = s.Stat(a.StatRequest(path=d + "/link", follow_symlinks=True), timeout=T)
    report("stat following it", stat.S_ISREG(r.mode) and r.size == 11 and
           r.ino == os.stat(f).st_ino, str(r))
    expect_code("stat of a missing path: NOT_FOUND",
                lambda: s.Stat(a.StatRequest(path=scratch + "/missing"), timeout=T),
                grpc.StatusCode.NOT_FOUND)

    # ---- Mount / Umount (in vminitd's mount namespace only)
    m = os.path.join(scratch, "mnt")
    s.Mount(a.MountRequest(source="tmpfs", target=m, fstype="tmpfs",
                           options=["nosuid", "size=1m", "mode=700"], create_target=True), timeout=T)
    s.WriteFile(a.WriteFileRequest(path=m + "/inside", data=b"on tmpfs"), timeout=T)
    r = s.ReadFile(a.ReadFileRequest(path="/proc/self/mountinfo"), timeout=T)
    line = [l for l in r.data.decode().splitlines() if " %s " % m in l]
    report("mount tmpfs with flags and data", len(line) == 1 and "nosuid" in line[0] and
           "tmpfs" in line[0] and "size=1024k" in line[0], str(line))
    report("the mount is not visible outside vminitd's namespace",
           os.path.isdir(m) and not os.path.exists(m + "/inside"), str(os.listdir(m)))
    s.Mount(a.MountRequest(source=d, target=scratch + "/ro", options=["bind", "ro"],
                           create_target=True), timeout=T)
    expect_code("read-only bind mount refuses writes: PERMISSION_DENIED",
                lambda: s.WriteFile(a.WriteFileRequest(path=scratch + "/ro/w", data=b"x"),
                                    timeout=T), grpc.StatusCode.PERMISSION_DENIED)
    s.Umount(a.UmountRequest(target=m), timeout=T)
    expect_code("after umount the file is gone: NOT_FOUND",
                lambda: s.ReadFile(a.ReadFileRequest(path=m + "/inside"), timeout=T),
                grpc.StatusCode.NOT_FOUND)
    expect_code("umount of a non-mount: INVALID_ARGUMENT",
                lambda: s.Umount(a.UmountRequest(target=m), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "umount")
    expect_code("mount of an unknown fs type: NOT_FOUND",
                lambda: s.Mount(a.MountRequest(source="x", target=m, fstype="nosuchfs"),
                                timeout=T), grpc.StatusCode.NOT_FOUND, "nosuchfs")

    s.Sync(a.SyncRequest(), timeout=T)
    s.Sync(a.SyncRequest(path=scratch), timeout=T)
    report("sync and syncfs", True)

    # ---- system
    host_name = open("/proc/sys/kernel/hostname").read()
    s.SetHostname(a.SetHostnameRequest(hostname="guest-1", root=scratch + "/root"), timeout=T)
    r = s.ReadFile(a.ReadFileRequest(path="/proc/sys/kernel/hostname"), timeout=T)
    report("set hostname (in vminitd's UTS namespace)", r.data == b"guest-1\n" and
           open("/proc/sys/kernel/hostname").read() == host_name, repr(r.data))
    report("hostname file under the root",
           open(scratch + "/root/etc/hostname").read() == "guest-1\n")
    # A file of /proc or /sys is regular but takes only a write in place.
    s.WriteFile(a.WriteFileRequest(path="/proc/sys/kernel/hostname", data=b"in-place"), timeout=T)
    r = s.ReadFile(a.ReadFileRequest(path="/proc/sys/kernel/hostname"), timeout=T)
    report("write a /proc file in place", r.data == b"in-place\n", repr(r.data))
    s.WriteFile(a.WriteFileRequest(path="/proc/sys/kernel/hostname", data=b"guest-1"), timeout=T)
    expect_code("invalid hostname: INVALID_ARGUMENT",
                lambda: s.SetHostname(a.SetHostnameRequest(hostname="bad name"), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT)

    s.Sysctl(a.SysctlRequest(settings=[a.KeyValue(key="net.ipv4.ip_forward", value="1"),
                                       a.KeyValue(key="net.ipv6.conf.all.forwarding",
                                                  value="1")]), timeout=T)
    r = s.ReadFile(a.ReadFileRequest(path="/proc/sys/net/ipv4/ip_forward"), timeout=T)
    report("sysctl (in vminitd's network namespace)", r.data == b"1\n", repr(r.data))
    expect_code("sysctl key escaping /proc/sys: INVALID_ARGUMENT",
                lambda: s.Sysctl(a.SysctlRequest(settings=[a.KeyValue(key="../../etc/passwd",
                                                                      value="x")]), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT)
    expect_code("unknown sysctl: NOT_FOUND",
                lambda: s.Sysctl(a.SysctlRequest(settings=[a.KeyValue(key="kernel.nosuch",
                                                                      value="1")]), timeout=T),
                grpc.StatusCode.NOT_FOUND, "kernel.nosuch")

    s.ConfigureDns(a.ConfigureDnsRequest(root=scratch + "/root", nameservers=["10.0.2.3", "fd00::3"],
                                         search=["example.com", "corp"], options=["ndots:2"]),
                   timeout=T)
    want = "nameserver 10.0.2.3\nnameserver fd00::3\nsearch example.com corp\noptions ndots:2\n"
    got = open(scratch + "/root/etc/resolv.conf").read()
    report("resolv.conf", got == want, repr(got))
    expect_code("nameserver with a newline: INVALID_ARGUMENT",
                lambda: s.ConfigureDns(a.ConfigureDnsRequest(root=scratch + "/root",
                                                             nameservers=["1.1.1.1\nx"]),
                                       timeout=T), grpc.StatusCode.INVALID_ARGUMENT)
    s.ConfigureHosts(a.ConfigureHostsRequest(root=scratch + "/root", entries=[
        a.HostEntry(ip="127.0.0.1", names=["localhost"]),
        a.HostEntry(ip="10.0.2.15", names=["c1", "c1.local"])]), timeout=T)
    got = open(scratch + "/root/etc/hosts").read()
    report("hosts", got == "127.0.0.1\tlocalhost\n10.0.2.15\tc1\tc1.local\n", repr(got))

    expect_code("set time without CAP_SYS_TIME (user namespace): PERMISSION_DENIED",
                lambda: s.SetTime(a.SetTimeRequest(unix_nanos=1), timeout=T),
                grpc.StatusCode.PERMISSION_DENIED, "set time")

    try:
        s.SetupEmulator(a.SetupEmulatorRequest(name="cz-test", interpreter="/bin/true",
                                               magic=b"\x7fELF\x02:", flags="F"), timeout=T)
        r = s.ReadFile(a.ReadFileRequest(path="/proc/sys/fs/binfmt_misc/cz-test"), timeout=T)
        text = r.data.decode()
        report("binfmt_misc registration (namespaced binfmt_misc)",
               "enabled" in text and "interpreter /bin/true" in text and
               "7f454c46023a" in text and "flags: F" in text, text)
        s.SetupEmulator(a.SetupEmulatorRequest(name="cz-test", interpreter="/bin/true",
                                               magic=b"\x7fELF\x02:", flags="F"), timeout=T)
        report("binfmt_misc registration is idempotent", True)
    except grpc.RpcError as e:
        report("binfmt_misc refused in a user namespace: PERMISSION_DENIED",
               e.code() == grpc.StatusCode.PERMISSION_DENIED, "%s %s" % (e.code(), e.details()))
    expect_code("emulator with bad flags: INVALID_ARGUMENT",
                lambda: s.SetupEmulator(a.SetupEmulatorRequest(name="x", interpreter="/bin/true",
                                                               magic=b"a", flags="Z"), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT)

    restored_tests(s, as_root=False)

    # ---- CopyIn / CopyOut (tar streams)
    if copy_tests(s, scratch) is False:
        return

    # ---- unknown process (the process methods are tested in vminitd_process.py)
    expect_code("start of an unknown process: NOT_FOUND",
                lambda: s.StartProcess(a.StartProcessRequest(id="p"), timeout=T),
                grpc.StatusCode.NOT_FOUND, "no process p")

    # ---- Shutdown: the reply comes, then vminitd exits (as PID 1 of a VM: powers off)
    s.Shutdown(a.ShutdownRequest(), timeout=T)
    report("shutdown replied", True)


def restored_tests(s, as_root):
    """Restored outside a VM: its checks, and the refusal to touch the host's disks."""
    T = 10
    INVALID = grpc.StatusCode.INVALID_ARGUMENT
    for n in (0, 8, 15, 4097):
        expect_code("restored with %d bytes of entropy: INVALID_ARGUMENT" % n,
                    lambda: s.Restored(a.RestoredRequest(entropy=os.urandom(n)), timeout=T),
                    INVALID, "%d bytes of entropy, want 16 to 4096" % n)
    # The safety rule: as an ordinary process vminitd never unbinds a disk (not even with
    # valid entropy, which then is not used either: nothing is done when a check fails).
    expect_code("restored with rescan_disks outside a VM: FAILED_PRECONDITION",
                lambda: s.Restored(a.RestoredRequest(entropy=os.urandom(64), rescan_disks=True),
                                   timeout=T),
                grpc.StatusCode.FAILED_PRECONDITION,
                "rescan_disks: only in a VM (vminitd is not PID 1)")
    expect_code("restored with flush_disks outside a VM: FAILED_PRECONDITION",
                lambda: s.Restored(a.RestoredRequest(entropy=os.urandom(64), flush_disks=True),
                                   timeout=T),
                grpc.StatusCode.FAILED_PRECONDITION,
                "flush_disks: only in a VM (vminitd is not PID 1)")
    if not as_root:
        # In a user namespace vminitd lacks CAP_SYS_ADMIN over the host's generator.
        expect_code("restored in a user namespace: PERMISSION_DENIED naming the step",
                    lambda: s.Restored(a.RestoredRequest(entropy=os.urandom(32)), timeout=T),
                    grpc.StatusCode.PERMISSION_DENIED, "RNDADDENTROPY")
        return
    for n in (16, 4096):
        try:
            r = s.Restored(a.RestoredRequest(entropy=os.urandom(n)), timeout=T)
            report("restored with %d bytes of entropy (no disks asked for)" % n, r.disks == 0,
                   str(r))
        except grpc.RpcError as e:
            report("restored with %d bytes of entropy" % n, False,
                   "%s %s" % (e.code(), e.details()))


def restored_main(sock):
    ch = grpc.insecure_channel("unix:" + sock)
    s = g.AgentStub(ch)
    restored_tests(s, as_root=True)
    s.Shutdown(a.ShutdownRequest(), timeout=10)
    report("shutdown replied", True)


def make_tar():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, data=None, type_=tarfile.REGTYPE, mode=0o644, linkname=""):
            ti = tarfile.TarInfo(name)
            ti.type = type_
            ti.mode = mode
            ti.linkname = linkname
            ti.mtime = 1700000000
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
        add("dir", type_=tarfile.DIRTYPE, mode=0o755)
        add("dir/hello.txt", b"hello tar\n")
        add("dir/exec.sh", b"#!/bin/sh\n", mode=0o755)
        add("dir/" + "long" * 40 + ".txt", b"long name\n")  # needs a pax path
        add("dir/link", type_=tarfile.SYMTYPE, linkname="hello.txt")
        add("dir/hard", type_=tarfile.LNKTYPE, linkname="dir/hello.txt")
        add("dir/big.bin", bytes(range(256)) * 8192)  # 2 MiB
    return buf.getvalue()


def copy_tests(s, scratch):
    T = 30
    data = make_tar()
    dest = scratch + "/copyin"
    os.mkdir(dest)

    def chunks():
        yield a.CopyInRequest(header=a.CopyInHeader(path=dest))
        for i in range(0, len(data), 100000):
            yield a.CopyInRequest(data=data[i:i + 100000])
    try:
        r = s.CopyIn(chunks(), timeout=T)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.UNIMPLEMENTED:
            print("copy methods not implemented yet")
            return None
        report("copy in", False, "%s %s" % (e.code(), e.details()))
        return None
    ok = (open(dest + "/dir/hello.txt").read() == "hello tar\n" and
          os.readlink(dest + "/dir/link") == "hello.txt" and
          os.stat(dest + "/dir/hard").st_ino == os.stat(dest + "/dir/hello.txt").st_ino and
          stat.S_IMODE(os.stat(dest + "/dir/exec.sh").st_mode) == 0o755 and
          os.path.exists(dest + "/dir/" + "long" * 40 + ".txt") and
          open(dest + "/dir/big.bin", "rb").read() == bytes(range(256)) * 8192 and
          int(os.stat(dest + "/dir/hello.txt").st_mtime) == 1700000000)
    report("copy in: files, modes, symlink, hardlink, long name, mtime", ok, str(r))
    report("copy in: counts", r.entries == 7 and r.bytes == 10 + 10 + 10 + 2 * 1024 * 1024,
           str(r))

    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as t:
        ti = tarfile.TarInfo("../escape")
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
    expect_code("copy in: '..' entry refused: INVALID_ARGUMENT",
                lambda: s.CopyIn(iter([a.CopyInRequest(header=a.CopyInHeader(path=dest)),
                                       a.CopyInRequest(data=evil.getvalue())]), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "..")
    report("copy in: nothing escaped", not os.path.exists(scratch + "/escape"))
    expect_code("copy in: garbage: INVALID_ARGUMENT",
                lambda: s.CopyIn(iter([a.CopyInRequest(header=a.CopyInHeader(path=dest)),
                                       a.CopyInRequest(data=b"\x01" * 1024)]), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT)
    expect_code("copy in: truncated archive: INVALID_ARGUMENT",
                lambda: s.CopyIn(iter([a.CopyInRequest(header=a.CopyInHeader(path=dest)),
                                       a.CopyInRequest(data=data[:700])]), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT)

    # A symlink to / followed by a file through it: lands inside the destination.
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as t:
        ti = tarfile.TarInfo("up")
        ti.type = tarfile.SYMTYPE
        ti.linkname = "/"
        t.addfile(ti)
        ti = tarfile.TarInfo("up/tmp/cz-escaped-%d" % os.getpid())
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
    dest2 = scratch + "/copyin2"
    os.mkdir(dest2)
    s.CopyIn(iter([a.CopyInRequest(header=a.CopyInHeader(path=dest2)),
                   a.CopyInRequest(data=evil.getvalue())]), timeout=T)
    report("copy in: a symlink to / stays inside the destination",
           not os.path.exists("/tmp/cz-escaped-%d" % os.getpid()) and
           os.path.exists(dest2 + "/tmp/cz-escaped-%d" % os.getpid()))

    # GNU tar's own format (long names as ././@LongLink), without the end marker
    # (as umoci writes layers).
    src = scratch + "/gnusrc"
    os.makedirs(src + "/sub")
    with open(src + "/sub/" + "n" * 150, "w") as fh:
        fh.write("gnu long name\n")
    gnu = subprocess.run(["tar", "--format=gnu", "-C", src, "-cf", "-", "."],
                         check=True, stdout=subprocess.PIPE).stdout
    gnu = gnu.rstrip(b"\0")
    gnu += b"\0" * ((512 - len(gnu) % 512) % 512)
    dest3 = scratch + "/copyin3"
    os.mkdir(dest3)
    s.CopyIn(iter([a.CopyInRequest(header=a.CopyInHeader(path=dest3)),
                   a.CopyInRequest(data=gnu)]), timeout=T)
    report("copy in: GNU tar archive with long names, no end marker",
           open(dest3 + "/sub/" + "n" * 150).read() == "gnu long name\n")

    out = b"".join(m.data for m in s.CopyOut(a.CopyOutRequest(path=dest + "/dir"), timeout=T))
    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        names = sorted(t.getnames())
        hello = t.extractfile("dir/hello.txt").read()
        big = t.extractfile("dir/big.bin").read()
        link = t.getmember("dir/link")
        longname = "dir/" + "long" * 40 + ".txt" in names
    report("copy out: python's tarfile reads our archive",
           hello == b"hello tar\n" and big == bytes(range(256)) * 8192 and link.issym() and
           link.linkname == "hello.txt" and longname and "dir" in names, str(names))
    # GNU tar lists and extracts our archive too.
    with open(scratch + "/out.tar", "wb") as fh:
        fh.write(out)
    os.mkdir(scratch + "/gnuout")
    rc = subprocess.run(["tar", "-C", scratch + "/gnuout", "-xf", scratch + "/out.tar"]).returncode
    report("copy out: GNU tar extracts our archive", rc == 0 and
           open(scratch + "/gnuout/dir/" + "long" * 40 + ".txt").read() == "long name\n" and
           os.stat(scratch + "/gnuout/dir/hard").st_ino ==
           os.stat(scratch + "/gnuout/dir/hello.txt").st_ino)
    expect_code("copy out of a missing path: NOT_FOUND",
                lambda: list(s.CopyOut(a.CopyOutRequest(path=scratch + "/missing"), timeout=T)),
                grpc.StatusCode.NOT_FOUND)
    return True


if __name__ == "__main__":
    if sys.argv[1] == "--restored":
        restored_main(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
    sys.exit(1 if failed else 0)
