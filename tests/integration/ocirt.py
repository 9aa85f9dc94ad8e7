"""Every OCI runtime spec feature that CreateProcess takes, checked the way a user
would check it from inside the container, driven through vminitd's agent API with
python grpcio. Then bad specs, unknown ids and bad input against the agent.
Prints PASS:/FAIL: lines.

  ocirt.py SOCKET ROOTFS HOSTDIR [--cgroup] [--raw]
ROOTFS: a busybox root filesystem at that path for vminitd (see ocirt.sh).
HOSTDIR: a directory there with a file "hello", bind-mounted into containers.
--cgroup: vminitd puts containers in cgroups under /sys/fs/cgroup/cz (a VM):
          check limits, the OOM kill, the fork bomb, Stats and cgroup removal.
--raw:    the socket is vminitd's own (not a VM's serial port): also send raw
          HTTP/2 garbage and drop connections mid-stream.
"""
import json
import os
import re
import socket
import sys
import time

import agent_pb2 as a
import agent_pb2_grpc as g
import grpc

import vminitd_process as vp
from vminitd_process import Session, expect_code, report

T = 60
ROOTFS = HOSTDIR = ""
NS = ("pid", "mount", "uts", "ipc")
BIG = 64 << 20


def spec(args, process=None, linux=None, mounts=None, hostname=None, root=None, ns=NS, **top):
    p = {"args": args, "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}
    p.update(process or {})
    ln = {"namespaces": [{"type": t} for t in ns]}
    ln.update(linux or {})
    s = {"ociVersion": "1.0.2", "process": p, "root": {"path": ROOTFS}, "linux": ln,
         "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}] + (mounts or [])}
    s["root"].update(root or {})
    if hostname:
        s["hostname"] = hostname
    s.update(top)
    return json.dumps(s)


def run(s, cid, spec_json, stdin=None, close_rpc=False, keep=False, io=None):
    """Create, attach, start, feed stdin, wait; returns (WaitResponse, stdout, stderr)."""
    io = io or a.StdioOptions(stdin=stdin is not None, stdout=True, stderr=True)
    s.CreateProcess(a.CreateProcessRequest(id=cid, oci_spec_json=spec_json, stdio=io), timeout=T)
    ss = Session(s, cid)
    s.StartProcess(a.StartProcessRequest(id=cid), timeout=T)
    if stdin is not None:
        ss.send(stdin)
        if close_rpc:
            time.sleep(0.2)
            s.CloseStdin(a.CloseStdinRequest(id=cid), timeout=T)
        else:
            ss.send(close=True)
    w = s.Wait(a.WaitRequest(id=cid), timeout=T)
    ss.finish()
    if not keep:
        s.Delete(a.DeleteRequest(id=cid), timeout=T)
    return w, ss.out.decode(errors="replace"), ss.err.decode(errors="replace")


def sh(s, cid, script, **kw):
    return run(s, cid, spec(["/bin/sh", "-c", script], **kw))


def check_run(name, result, want_out=None, want_code=0, pattern=None, err_pattern=None):
    w, out, err = result
    ok = w.exit_status == want_code
    if want_out is not None:
        ok = ok and out == want_out
    if pattern is not None:
        ok = ok and re.search(pattern, out, re.M) is not None
    if err_pattern is not None:
        ok = ok and re.search(err_pattern, err, re.M) is not None
    report(name, ok, "exit %d out %r err %r" % (w.exit_status, out[:300], err[:300]))


def exists(s, path):
    """Through the agent: the test may run on another machine than vminitd (a VM)."""
    try:
        s.Stat(a.StatRequest(path=path), timeout=T)
        return True
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return False


def read(s, path):
    return s.ReadFile(a.ReadFileRequest(path=path), timeout=T).data


def status_caps(out):
    return {k: int(v, 16) for k, v in re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", out, re.M)}


# ---------------------------------------------------------------- spec features


def process_features(s):
    check_run("args, env and cwd reach the process",
              run(s, "f-args", spec(["/bin/sh", "-c", 'echo "$0|$1|$FOO|$(pwd)"', "zero", "one two"],
                                    process={"env": ["PATH=/bin", "FOO=bar baz"], "cwd": "/tmp"})),
              "zero|one two|bar baz|/tmp\n")
    check_run("HOME comes from /etc/passwd when env lacks it",
              sh(s, "f-home", 'echo $HOME', process={"user": {"uid": 1000, "gid": 1000}}),
              "/home/alice\n")
    check_run("user uid:gid and additionalGids (id)",
              run(s, "f-user", spec(["/bin/id"], process={
                  "user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}})),
              "uid=1000(alice) gid=1000(alice) groups=10(wheel),20(staff)\n")
    check_run("umask from process.user.umask",
              sh(s, "f-umask", "umask", process={"user": {"uid": 0, "gid": 0, "umask": 0o27}}),
              "0027\n")

    # terminal: a pty of the container's own devpts, sized, resized, EOF by CloseStdin
    s.CreateProcess(a.CreateProcessRequest(
        id="f-tty", oci_spec_json=spec(["/bin/sh", "-c", "tty; stty size; read x; stty size; cat; echo cat-ended"],
                                       process={"terminal": True, "consoleSize": {"height": 25, "width": 90}}),
        stdio=a.StdioOptions(stdin=True, stdout=True)), timeout=T)
    ss = Session(s, "f-tty")
    s.StartProcess(a.StartProcessRequest(id="f-tty"), timeout=T)
    report("terminal: stdio is a pty of the container", ss.wait_for(b"/dev/pts/0"), repr(ss.out))
    report("terminal: consoleSize from the spec (stty size)", ss.wait_for(b"25 90"), repr(ss.out))
    s.ResizePty(a.ResizePtyRequest(id="f-tty", rows=40, cols=132), timeout=T)
    ss.send(b"go\n")
    report("ResizePty: stty size sees 40 132", ss.wait_for(b"40 132"), repr(ss.out))
    time.sleep(0.2)
    s.CloseStdin(a.CloseStdinRequest(id="f-tty"), timeout=T)
    report("CloseStdin on a terminal: cat reads EOF", ss.wait_for(b"cat-ended"), repr(ss.out))
    w = s.Wait(a.WaitRequest(id="f-tty"), timeout=T)
    ss.finish()
    report("terminal process exits 0", w.exit_status == 0, str(w))
    s.Delete(a.DeleteRequest(id="f-tty"), timeout=T)

    check_run("CloseStdin (pipe): cat gets everything, then EOF, and ends",
              run(s, "f-stdin", spec(["/bin/cat"]), stdin=b"abc\n" * 1000, close_rpc=True),
              "abc\n" * 1000)
    check_run("rlimits: RLIMIT_NOFILE soft/hard (ulimit -n, ulimit -Hn)",
              sh(s, "f-rlimit", "ulimit -n; ulimit -Hn", process={
                  "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048},
                              {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]}),
              "1024\n2048\n")

    # capabilities: a non-root user keeps exactly the ambient set through exec, so
    # each of the five sets shows a different value in /proc/self/status.
    chown, kill, setuid, nbs = 1 << 0, 1 << 5, 1 << 7, 1 << 10
    w, out, err = run(s, "f-caps", spec(["/bin/grep", "^Cap", "/proc/self/status"], process={
        "user": {"uid": 1000, "gid": 1000},
        "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_BIND_SERVICE"],
                         "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                         "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                         "inheritable": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                         "ambient": ["CAP_NET_BIND_SERVICE"]}}))
    c = status_caps(out)
    want = {"CapBnd": chown | kill | setuid | nbs, "CapInh": chown | kill | nbs,
            "CapPrm": nbs, "CapEff": nbs, "CapAmb": nbs}
    report("capabilities: all five sets (uid 1000 with an ambient capability)", c == want,
           "got %s want %s (%s)" % ({k: hex(v) for k, v in c.items()},
                                    {k: hex(v) for k, v in want.items()}, err))
    w, out, err = run(s, "f-caps-root", spec(["/bin/grep", "^Cap", "/proc/self/status"], process={
        "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"],
                         "permitted": ["CAP_CHOWN", "CAP_KILL"]}}))
    c = status_caps(out)
    report("capabilities: root is bounded by the bounding set",
           c.get("CapBnd") == chown | kill and c.get("CapEff") == chown | kill and c.get("CapAmb") == 0,
           str({k: hex(v) for k, v in c.items()}))
    check_run("capabilities: without CAP_CHOWN, chown fails as root",
              sh(s, "f-caps-chown", "touch /tmp/c; chown 5 /tmp/c", process={
                  "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                   "permitted": ["CAP_KILL"]}}),
              want_code=1, err_pattern="Operation not permitted")
    check_run("noNewPrivileges: NoNewPrivs 1 in /proc/self/status",
              run(s, "f-nnp", spec(["/bin/grep", "NoNewPrivs", "/proc/self/status"],
                                   process={"noNewPrivileges": True})),
              pattern=r"^NoNewPrivs:\s+1$")
    check_run("without noNewPrivileges: NoNewPrivs 0",
              run(s, "f-nnp0", spec(["/bin/grep", "NoNewPrivs", "/proc/self/status"])),
              pattern=r"^NoNewPrivs:\s+0$")
    check_run("oomScoreAdj", sh(s, "f-oom", "cat /proc/self/oom_score_adj",
                                process={"oomScoreAdj": 500}), "500\n")


def root_and_mounts(s):
    outer = read(s, "/proc/sys/kernel/hostname")
    check_run("hostname in its own UTS namespace", sh(s, "f-host", "hostname", hostname="box7"), "box7\n")
    report("the agent's own hostname is untouched", read(s, "/proc/sys/kernel/hostname") == outer)
    check_run("root.readonly: a write to / fails with EROFS",
              sh(s, "f-ro", "touch /newfile; echo rc=$?; touch /tmp/w && echo tmp-ok",
                 root={"readonly": True},
                 mounts=[{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]),
              "rc=1\ntmp-ok\n", err_pattern="Read-only file system")
    report("root.readonly: nothing landed in the rootfs", not exists(s, ROOTFS + "/newfile"))

    mounts = [
        {"destination": "/data", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=700"]},
        {"destination": "/mnt/host", "type": "bind", "source": HOSTDIR, "options": ["rbind", "ro"]},
        {"destination": "/mnt/rw", "type": "bind", "source": HOSTDIR, "options": ["bind", "rw"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/hostfile", "type": "bind", "source": HOSTDIR + "/hello", "options": ["bind", "ro"]},
    ]
    script = ("grep -E ' /(data|mnt/host|mnt/rw|sys|proc|hostfile) ' /proc/mounts | cut -d' ' -f2-4; "
              "cat /mnt/host/hello; cat /hostfile; "
              "touch /mnt/host/no 2>/dev/null || echo host-ro; echo written > /mnt/rw/out; "
              "ls /sys/kernel >/dev/null && echo sysfs-ok; stat -c %a /data; "
              "cp /bin/busybox /data/bb && /data/bb true || echo noexec; echo $$")
    w, out, err = sh(s, "f-mounts", script, mounts=mounts)
    m = {}
    for line in out.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0].startswith("/"):
            m[parts[0]] = (parts[1], set(parts[2].split(",")))
    ok = (m.get("/data", ("", set()))[0] == "tmpfs" and
          {"rw", "nosuid", "nodev", "noexec", "size=1024k", "mode=700"} <= m["/data"][1])
    report("tmpfs mount with its options (/proc/mounts)", ok, out)
    report("bind mount, ro: visible, read-only",
           "ro" in m.get("/mnt/host", ("", {""}))[1] and "from the host\nfrom the host\nhost-ro\n" in out, out + err)
    report("bind mount, rw: a write reaches the host directory",
           "rw" in m.get("/mnt/rw", ("", {""}))[1] and
           read(s, HOSTDIR + "/out") == b"written\n", out)
    report("bind mount of a single file", "ro" in m.get("/hostfile", ("", {""}))[1], out)
    report("sysfs mount, ro", m.get("/sys", ("", set()))[0] == "sysfs" and "ro" in m["/sys"][1] and
           "sysfs-ok" in out, out)
    report("proc mount, and pid 1 in the new pid namespace",
           m.get("/proc", ("", set()))[0] == "proc" and out.endswith("\n1\n"), out)
    report("mode=700 and noexec on the tmpfs", "700\nnoexec\n" in out, out + err)
    check_run("bad mount: a missing bind source is refused with its path",
              run_fail(s, "f-badbind", spec(["/bin/true"], mounts=[
                  {"destination": "/x", "type": "bind", "source": "/no/such/dir", "options": ["bind"]}]),
                  grpc.StatusCode.NOT_FOUND, "/no/such/dir"))


def run_fail(s, cid, spec_json, code, contains):
    """CreateProcess must fail with code; returns a fake run result for check_run."""
    class W:
        exit_status = 0
    try:
        s.CreateProcess(a.CreateProcessRequest(id=cid, oci_spec_json=spec_json), timeout=T)
        s.Delete(a.DeleteRequest(id=cid), timeout=T)
        W.exit_status = -1
        return W, "created", ""
    except grpc.RpcError as e:
        if e.code() != code or contains not in e.details():
            W.exit_status = -2
        return W, "", "%s %s" % (e.code(), e.details())


def namespaces(s):
    check_run("network namespace: only lo",
              sh(s, "f-net", "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '",
                 ns=NS + ("network",)), "lo\n")
    check_run("ipc namespace: a fresh SysV IPC table",
              sh(s, "f-ipc", "cat /proc/sysvipc/shm | wc -l"), "1\n")
    check_run("cgroup namespace: the container sees itself at /",
              sh(s, "f-cgns", "cat /proc/self/cgroup | grep '^0::'", ns=NS + ("cgroup",)), "0::/\n")

    # A user namespace: root inside is an unprivileged id outside.
    w, out, err = sh(s, "f-userns", "id -u; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; "
                     "echo hi > /dev/null && echo devnull-ok; touch /etc/passwd 2>&1 | grep -c denied",
                     ns=NS + ("user",), linux={
                         "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                         "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    report("user namespace: root inside, 100000 outside, the host's files stay the host's",
           w.exit_status == 0 and out == "0\n 0 100000 65536\n 0 100000 65536\ndevnull-ok\n1\n",
           "exit %d %r %r" % (w.exit_status, out, err))

    # Joining by path: B joins A's UTS and network namespaces through /proc/PID/ns.
    s.CreateProcess(a.CreateProcessRequest(
        id="f-nsA", oci_spec_json=spec(["/bin/sleep", "300"], hostname="alpha", ns=NS + ("network",)),
        stdio=a.StdioOptions()), timeout=T)
    pa = s.StartProcess(a.StartProcessRequest(id="f-nsA"), timeout=T).pid
    nsspec = json.loads(spec(["/bin/sh", "-c", "hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/net"],
                             ns=("pid", "mount", "ipc")))
    nsspec["linux"]["namespaces"] += [{"type": "uts", "path": "/proc/%d/ns/uts" % pa},
                                      {"type": "network", "path": "/proc/%d/ns/net" % pa}]
    w, out, err = run(s, "f-nsB", json.dumps(nsspec))
    proc = json.dumps({"args": ["/bin/sh", "-c", "readlink /proc/self/ns/uts; readlink /proc/self/ns/net"], "cwd": "/",
                       "env": ["PATH=/bin"]})
    s.Exec(a.ExecRequest(container_id="f-nsA", id="f-nsAx", process_json=proc,
                         stdio=a.StdioOptions(stdout=True, stderr=True)), timeout=T)
    ss = Session(s, "f-nsAx")
    s.StartProcess(a.StartProcessRequest(id="f-nsAx"), timeout=T)
    s.Wait(a.WaitRequest(id="f-nsAx"), timeout=T)
    ss.finish()
    s.Delete(a.DeleteRequest(id="f-nsAx"), timeout=T)
    lines = out.splitlines()
    report("joining namespaces by path: A's hostname and the same ns links",
           w.exit_status == 0 and lines[:1] == ["alpha"] and lines[1:] == ss.out.decode().splitlines(),
           "B %r, A %r, %s" % (out, ss.out, err))
    s.Signal(a.SignalRequest(id="f-nsA", signal=9), timeout=T)
    s.Wait(a.WaitRequest(id="f-nsA"), timeout=T)
    s.Delete(a.DeleteRequest(id="f-nsA"), timeout=T)


def paths_sysctl_seccomp(s):
    w, out, err = sh(s, "f-mask",
                     "[ -e /proc/kcore ] && wc -c < /proc/kcore || echo 0; wc -c < /proc/meminfo; "
                     "ls -A /sys/firmware | wc -l; "
                     "echo x > /proc/sys/kernel/hostname || echo sys-ro; hostname",
                     hostname="masked",
                     mounts=[{"destination": "/sys", "type": "sysfs", "source": "sysfs"}],
                     linux={"maskedPaths": ["/proc/kcore", "/proc/meminfo", "/sys/firmware", "/proc/does-not-exist"],
                            "readonlyPaths": ["/proc/sys"]})
    lines = out.splitlines()
    report("maskedPaths: /proc/kcore and /proc/meminfo read empty", lines[:2] == ["0", "0"], out + err)
    report("maskedPaths: a masked directory is empty", lines[2:3] == ["0"], out + err)
    report("readonlyPaths: /proc/sys refuses writes (EROFS)",
           lines[3:] == ["sys-ro", "masked"] and "Read-only file system" in err, out + err)

    before = s.ReadFile(a.ReadFileRequest(path="/proc/sys/net/ipv4/ip_forward"), timeout=T).data
    check_run("sysctl: net.ipv4.ip_forward=1 in the container's network namespace",
              sh(s, "f-sysctl", "cat /proc/sys/net/ipv4/ip_forward; sysctl -n net.core.somaxconn",
                 ns=NS + ("network",),
                 linux={"sysctl": {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "77"}}),
              "1\n77\n")
    after = s.ReadFile(a.ReadFileRequest(path="/proc/sys/net/ipv4/ip_forward"), timeout=T).data
    report("sysctl: the agent's own namespace is untouched", before == after, "%r -> %r" % (before, after))
    expect_code("sysctl outside the container's namespaces is refused at create",
                lambda: s.CreateProcess(a.CreateProcessRequest(
                    id="f-sysctl2", oci_spec_json=spec(["/bin/true"], linux={"sysctl": {"kernel.nope_x": "1"}})),
                    timeout=T), grpc.StatusCode.NOT_FOUND, "kernel.nope_x")

    sec = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    check_run("seccomp: mkdir fails with EPERM, other calls work",
              sh(s, "f-seccomp", "mkdir /tmp/sec-dir; echo rc=$?; touch /tmp/sec-file && echo touch-ok",
                 linux={"seccomp": sec}),
              "rc=1\ntouch-ok\n", err_pattern="Operation not permitted")
    sec2 = dict(sec, syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}])
    check_run("seccomp with noNewPrivileges and a non-root user: errnoRet ENOSPC",
              sh(s, "f-seccomp2", "mkdir /tmp/sec-dir2", linux={"seccomp": sec2},
                 process={"noNewPrivileges": True, "user": {"uid": 1000, "gid": 1000}}),
              want_code=1, err_pattern="No space left on device")
    report("seccomp: no directory was made", not exists(s, ROOTFS + "/tmp/sec-dir"))


def exec_wait_signal(s, with_cgroup):
    s.CreateProcess(a.CreateProcessRequest(
        id="f-ex", oci_spec_json=spec(["/bin/sleep", "300"], hostname="exbox", ns=NS + ("network", "cgroup")),
        stdio=a.StdioOptions()), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="f-ex"), timeout=T)
    script = ("for n in pid mnt uts ipc net cgroup; do "
              "[ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] && echo same-$n; done; "
              "[ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] && echo same-cgroup; hostname")
    proc = json.dumps({"args": ["/bin/sh", "-c", script], "cwd": "/", "env": ["PATH=/bin"]})
    s.Exec(a.ExecRequest(container_id="f-ex", id="f-ex1", process_json=proc,
                         stdio=a.StdioOptions(stdout=True, stderr=True)), timeout=T)
    ss = Session(s, "f-ex1")
    s.StartProcess(a.StartProcessRequest(id="f-ex1"), timeout=T)
    w = s.Wait(a.WaitRequest(id="f-ex1"), timeout=T)
    ss.finish()
    want = "".join("same-%s\n" % n for n in ("pid", "mnt", "uts", "ipc", "net", "cgroup", "cgroup")) + "exbox\n"
    report("Exec joins the container's namespaces and cgroup", ss.out.decode() == want and w.exit_status == 0,
           "%r %r" % (ss.out, ss.err))
    s.Delete(a.DeleteRequest(id="f-ex1"), timeout=T)

    # Exec with its own user, environment and a terminal.
    proc = json.dumps({"args": ["/bin/sh", "-c", "id; echo $E; tty; stty size; pwd"], "cwd": "/tmp",
                       "env": ["PATH=/bin", "E=exec-env"], "terminal": True,
                       "user": {"uid": 1000, "gid": 1000, "additionalGids": [20]}})
    s.Exec(a.ExecRequest(container_id="f-ex", id="f-ex2", process_json=proc,
                         stdio=a.StdioOptions(stdout=True, terminal=True, rows=33, cols=77)), timeout=T)
    ss = Session(s, "f-ex2")
    s.StartProcess(a.StartProcessRequest(id="f-ex2"), timeout=T)
    w = s.Wait(a.WaitRequest(id="f-ex2"), timeout=T)
    ss.finish()
    out = ss.out.decode().replace("\r\n", "\n")
    report("Exec with its own user, env, cwd and a terminal",
           w.exit_status == 0 and out.startswith("uid=1000(alice) gid=1000(alice) groups=20(staff)\nexec-env\n/dev/pts/")
           and out.endswith("33 77\n/tmp\n"), repr(out))
    s.Delete(a.DeleteRequest(id="f-ex2"), timeout=T)
    if with_cgroup:
        st = s.Stats(a.StatsRequest(container_id="f-ex"), timeout=T)
        report("Stats: the container's pids and memory", st.pids.current == 1 and st.memory.current > 0,
               str(st))
        path = "/sys/fs/cgroup/cz/f-ex"
        procs = s.ReadFile(a.ReadFileRequest(path=path + "/cgroup.procs"), timeout=T).data
        report("the container's cgroup holds its process", len(procs.split()) == 1, repr(procs))
    # The init of a pid namespace ignores signals it has no handler for (the kernel's rule).
    s.Signal(a.SignalRequest(id="f-ex", signal=15), timeout=T)
    pending = s.Wait.future(a.WaitRequest(id="f-ex"), timeout=T)
    time.sleep(0.5)
    report("Signal SIGTERM to a pid namespace's init without a handler: still running",
           not pending.done())
    t0 = time.time_ns()
    s.Signal(a.SignalRequest(id="f-ex", signal=9), timeout=T)
    w = pending.result()
    t1 = time.time_ns()
    report("Signal SIGKILL: Wait gives 137, signal 9", w.exit_status == 137 and w.signal == 9, str(w))
    report("Wait: the exit time is when it ended", t0 - 2e9 <= w.exited_at_unix_nanos <= t1 + 2e9,
           "%d not in [%d, %d]" % (w.exited_at_unix_nanos, t0, t1))
    w2 = s.Wait(a.WaitRequest(id="f-ex"), timeout=T)
    report("Wait again after the exit: the same answer", w2 == w, str(w2))
    s.Delete(a.DeleteRequest(id="f-ex"), timeout=T)
    if with_cgroup:
        expect_code("Delete removes the container's cgroup",
                    lambda: s.Stat(a.StatRequest(path="/sys/fs/cgroup/cz/f-ex"), timeout=T),
                    grpc.StatusCode.NOT_FOUND)
    expect_code("Delete forgets the process", lambda: s.Wait(a.WaitRequest(id="f-ex"), timeout=T),
                grpc.StatusCode.NOT_FOUND, "f-ex")
    if with_cgroup:
        report("failed creates left no cgroup behind",
               not exists(s, "/sys/fs/cgroup/cz/f-badbind") and not exists(s, "/sys/fs/cgroup/cz/f-sysctl2"))

    w, out, err = sh(s, "f-exit", "exit 7")
    report("Wait: exit code 7", w.exit_status == 7 and w.signal == 0 and w.exited_at_unix_nanos > 0, str(w))
    s.CreateProcess(a.CreateProcessRequest(
        id="f-term", oci_spec_json=spec(["/bin/sleep", "300"], ns=("mount", "uts", "ipc")),
        stdio=a.StdioOptions()), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="f-term"), timeout=T)
    s.Signal(a.SignalRequest(id="f-term", signal=15), timeout=T)
    w = s.Wait(a.WaitRequest(id="f-term"), timeout=T)
    report("Signal SIGTERM (no pid namespace): Wait gives 143, signal 15",
           w.exit_status == 143 and w.signal == 15, str(w))
    s.Delete(a.DeleteRequest(id="f-term"), timeout=T)
    w, out, err = sh(s, "f-self", "kill -USR1 $$", ns=("mount", "uts", "ipc"))
    report("Wait: killed by SIGUSR1 gives 138", w.exit_status == 138 and w.signal == 10, str(w))

    # Signal with all=true reaches every process of the container (cgroup.kill or pid-ns kill).
    if with_cgroup:
        s.CreateProcess(a.CreateProcessRequest(
            id="f-all", oci_spec_json=spec(["/bin/sh", "-c", "trap '' TERM; sleep 300 & sleep 300"]),
            stdio=a.StdioOptions()), timeout=T)
        s.StartProcess(a.StartProcessRequest(id="f-all"), timeout=T)
        time.sleep(0.5)
        s.Signal(a.SignalRequest(id="f-all", signal=9, all=True), timeout=T)
        w = s.Wait(a.WaitRequest(id="f-all"), timeout=T)
        report("Signal all: SIGKILL to every process of the container", w.exit_status == 137, str(w))
        s.Delete(a.DeleteRequest(id="f-all"), timeout=T)


def cgroup_limits(s):
    res = {"memory": {"limit": BIG}, "cpu": {"quota": 50000, "period": 100000, "shares": 1024},
           "pids": {"limit": 20}}
    w, out, err = sh(s, "f-cg", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max",
                     ns=NS + ("cgroup",), linux={"resources": res},
                     mounts=[{"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup",
                              "options": ["nosuid", "noexec", "nodev"]}])
    report("cgroup limits visible in the container's own cgroup files",
           out == "%d\n50000 100000\n20\n" % BIG, out + err)

    # pids.max bounds a fork bomb; the agent sees the count and the limit in Stats.
    s.CreateProcess(a.CreateProcessRequest(
        id="f-bomb", oci_spec_json=spec(["/bin/sh", "-c",
                                         "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; sleep 30"],
                                        linux={"resources": {"pids": {"limit": 8}}}),
        stdio=a.StdioOptions(stderr=True)), timeout=T)
    ss = Session(s, "f-bomb")
    s.StartProcess(a.StartProcessRequest(id="f-bomb"), timeout=T)
    peak = 0
    st = None
    for _ in range(100):
        st = s.Stats(a.StatsRequest(container_id="f-bomb"), timeout=T)
        peak = max(peak, st.pids.current)
        if b"fork" in ss.err:
            break
        time.sleep(0.1)
    report("pids.max: a fork bomb is bounded", b"fork" in ss.err and peak <= 8 and st.pids.limit == 8,
           "peak %d limit %d stderr %r" % (peak, st.pids.limit, ss.err[:200]))
    s.Signal(a.SignalRequest(id="f-bomb", signal=9, all=True), timeout=T)
    s.Wait(a.WaitRequest(id="f-bomb"), timeout=T)
    ss.finish()
    s.Delete(a.DeleteRequest(id="f-bomb"), timeout=T)

    # memory.max: a process that keeps growing is OOM-killed.
    s.CreateProcess(a.CreateProcessRequest(
        id="f-oomk", oci_spec_json=spec(["/bin/awk", 'BEGIN { s = "0123456789abcdef"; while (1) s = s s }'],
                                        linux={"resources": {"memory": {"limit": 32 << 20}}}),
        stdio=a.StdioOptions()), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="f-oomk"), timeout=T)
    w = s.Wait(a.WaitRequest(id="f-oomk"), timeout=120)
    st = s.Stats(a.StatsRequest(container_id="f-oomk"), timeout=T)
    report("memory.max: OOM kill gives 137 and oom_killed", w.exit_status == 137 and w.signal == 9 and
           w.oom_killed, str(w))
    report("memory.max: Stats counts the OOM kill", st.memory.oom_kill_events >= 1 and
           st.memory.limit == 32 << 20, str(st.memory))
    s.Delete(a.DeleteRequest(id="f-oomk"), timeout=T)


# ---------------------------------------------------------------- bad specs, unknown ids


def bad_specs(s):
    def bad(name, spec_json, contains):
        expect_code("bad spec: " + name, lambda: s.CreateProcess(a.CreateProcessRequest(
            id="bad", oci_spec_json=spec_json), timeout=T), grpc.StatusCode.INVALID_ARGUMENT, contains)
        try:  # a mistaken success must not hide the next case
            s.Delete(a.DeleteRequest(id="bad"), timeout=T)
        except grpc.RpcError:
            pass
    good = json.loads(spec(["/bin/true"]))

    def variant(fn):
        v = json.loads(json.dumps(good))
        fn(v)
        return json.dumps(v)
    bad("invalid JSON", '{"process": {"args": ["/bin/true"]', "bad JSON")
    bad("not an object", "[1, 2]", "not a JSON object")
    bad("unknown namespace type", variant(lambda v: v["linux"]["namespaces"].append({"type": "time2"})),
        "unsupported type 'time2'")
    bad("bad rlimit name", variant(lambda v: v["process"].update(
        rlimits=[{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}])), "unknown type 'RLIMIT_BOGUS'")
    bad("rlimit soft above hard", variant(lambda v: v["process"].update(
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 1}])), "soft limit exceeds hard")
    bad("relative root outside the bundle", variant(lambda v: v["root"].update(path="../../etc")),
        "leaves the bundle")
    bad("mount destination with ..", variant(lambda v: v["mounts"].append(
        {"destination": "/tmp/../../etc", "type": "tmpfs", "source": "tmpfs"})), "must not contain '..'")
    bad("mount option with a comma", variant(lambda v: v["mounts"].append(
        {"destination": "/t", "type": "tmpfs", "options": ["size=1m,mode=700"]})), "has a comma")
    bad("relative mount destination", variant(lambda v: v["mounts"].append(
        {"destination": "tmp", "type": "tmpfs"})), "must be an absolute path")
    bad("unknown capability", variant(lambda v: v["process"].update(
        capabilities={"bounding": ["CAP_FLY"]})), "unknown capability 'CAP_FLY'")
    bad("empty args", variant(lambda v: v["process"].update(args=[])), "process.args must not be empty")
    bad("env without =", variant(lambda v: v["process"].update(env=["NOEQUALS"])), "is not KEY=VALUE")
    bad("uid out of range", variant(lambda v: v["process"]["user"].update(uid=-1)), "process.user.uid")
    bad("unknown seccomp action", variant(lambda v: v["linux"].update(
        seccomp={"defaultAction": "SCMP_ACT_PANIC"})), "unsupported action 'SCMP_ACT_PANIC'")
    bad("unknown seccomp operator", variant(lambda v: v["linux"].update(
        seccomp={"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]})),
        "unknown 'SCMP_CMP_ABOUT'")
    bad("no mount namespace", variant(lambda v: v["linux"].update(namespaces=[{"type": "pid"}])),
        "new mount namespace")
    bad("hostname without a uts namespace", variant(lambda v: (v.update(hostname="h"), v["linux"].update(
        namespaces=[{"type": "mount"}]))), "uts namespace")
    bad("namespace path that is relative", variant(lambda v: v["linux"]["namespaces"].append(
        {"type": "network", "path": "proc/1/ns/net"})), "path must be absolute")
    bad("unsupported ociVersion", variant(lambda v: v.update(ociVersion="2.0.0")), "ociVersion")
    bad("negative memory limit", variant(lambda v: v["linux"].update(
        resources={"memory": {"limit": -5}})), "memory.limit")
    bad("bad cpuset", variant(lambda v: v["linux"].update(
        resources={"cpu": {"cpus": "0-1; rm"}})), "cpu.cpus")
    bad("duplicate key", '{"process": {"args": ["/x"]}, "process": {}}', "duplicate")
    bad("exec process JSON", "", "bad JSON")  # an empty spec
    expect_code("bad exec process: unknown container first", lambda: s.Exec(a.ExecRequest(
        container_id="none", id="x", process_json="{}"), timeout=T), grpc.StatusCode.NOT_FOUND, "none")
    s.CreateProcess(a.CreateProcessRequest(id="b-run", oci_spec_json=spec(["/bin/sleep", "300"])), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="b-run"), timeout=T)
    expect_code("bad exec process JSON", lambda: s.Exec(a.ExecRequest(
        container_id="b-run", id="b-x", process_json='{"args": "notalist"}'), timeout=T),
        grpc.StatusCode.INVALID_ARGUMENT, "process.args must be an array")
    expect_code("Start twice", lambda: s.StartProcess(a.StartProcessRequest(id="b-run"), timeout=T),
                grpc.StatusCode.FAILED_PRECONDITION, "already started")
    expect_code("invalid signal number", lambda: s.Signal(a.SignalRequest(id="b-run", signal=0), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "invalid signal")
    expect_code("ResizePty without a terminal", lambda: s.ResizePty(a.ResizePtyRequest(
        id="b-run", rows=10, cols=10), timeout=T), grpc.StatusCode.FAILED_PRECONDITION, "no terminal")
    s.Signal(a.SignalRequest(id="b-run", signal=9), timeout=T)
    s.Wait(a.WaitRequest(id="b-run"), timeout=T)
    s.Delete(a.DeleteRequest(id="b-run"), timeout=T)
    expect_code("a failed create leaves no trace (the id is free)",
                lambda: s.Wait(a.WaitRequest(id="bad"), timeout=T), grpc.StatusCode.NOT_FOUND)


def stdio_rules(s):
    # Output of a process that ended before anyone attached waits in the pipe.
    s.CreateProcess(a.CreateProcessRequest(
        id="f-late", oci_spec_json=spec(["/bin/sh", "-c", "echo early; echo err >&2; exit 4"]),
        stdio=a.StdioOptions(stdout=True, stderr=True)), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="f-late"), timeout=T)
    w = s.Wait(a.WaitRequest(id="f-late"), timeout=T)
    ss = Session(s, "f-late")
    ss.finish()
    report("Stdio attached after the exit still gets the output and EOFs",
           w.exit_status == 4 and ss.out == b"early\n" and ss.err == b"err\n" and ss.eof == {"out", "err"},
           "%s %r %r %s" % (w, ss.out, ss.err, ss.eof))
    s.Delete(a.DeleteRequest(id="f-late"), timeout=T)

    s.CreateProcess(a.CreateProcessRequest(
        id="f-two", oci_spec_json=spec(["/bin/cat"]), stdio=a.StdioOptions(stdin=True, stdout=True)), timeout=T)
    ss = Session(s, "f-two")
    s.StartProcess(a.StartProcessRequest(id="f-two"), timeout=T)
    ss.send(b"one\n")
    ss.wait_for(b"one\n")
    expect_code("a second Stdio on the same process is FAILED_PRECONDITION",
                lambda: list(s.Stdio(iter([a.StdioRequest(id="f-two")]), timeout=T)),
                grpc.StatusCode.FAILED_PRECONDITION, "already attached")
    ss.send(b"two\n", close=True)
    w = s.Wait(a.WaitRequest(id="f-two"), timeout=T)
    ss.finish()
    report("the first Stdio is unharmed by the refused one", ss.out == b"one\ntwo\n" and w.exit_status == 0,
           repr(ss.out))
    s.Delete(a.DeleteRequest(id="f-two"), timeout=T)
    s.CreateProcess(a.CreateProcessRequest(id="nostdin", oci_spec_json=spec(["/bin/sleep", "300"]),
                                           stdio=a.StdioOptions(stdout=True)), timeout=T)
    expect_code("stdin to a process created without stdin is INVALID_ARGUMENT",
                lambda: list(s.Stdio(iter([a.StdioRequest(id="nostdin", data=b"x")]), timeout=T)),
                grpc.StatusCode.INVALID_ARGUMENT, "no stdin")
    try:
        s.Delete(a.DeleteRequest(id="nostdin"), timeout=T)
        report("Delete of a created process that never started", True)
    except grpc.RpcError as e:
        report("Delete of a created process that never started", False, "%s %s" % (e.code(), e.details()))
    expect_code("it is gone", lambda: s.Wait(a.WaitRequest(id="nostdin"), timeout=T), grpc.StatusCode.NOT_FOUND)
    if exists(s, "/sys/fs/cgroup/cz"):
        report("its cgroup is gone", not exists(s, "/sys/fs/cgroup/cz/nostdin"))

    # Setup failures in the child come back as the create's error, naming what failed.
    expect_code("a missing rootfs is NOT_FOUND naming it", lambda: s.CreateProcess(a.CreateProcessRequest(
        id="f-noroot", oci_spec_json=spec(["/bin/true"], root={"path": "/no/such/rootfs"})), timeout=T),
        grpc.StatusCode.NOT_FOUND, "/no/such/rootfs")
    expect_code("a missing cwd is NOT_FOUND naming it", lambda: s.CreateProcess(a.CreateProcessRequest(
        id="f-nocwd", oci_spec_json=spec(["/bin/true"], process={"cwd": "/no/such/dir"})), timeout=T),
        grpc.StatusCode.NOT_FOUND, "chdir to /no/such/dir")
    expect_code("an unknown filesystem type names the mount", lambda: s.CreateProcess(a.CreateProcessRequest(
        id="f-nofs", oci_spec_json=spec(["/bin/true"], mounts=[
            {"destination": "/x", "type": "nosuchfs", "source": "none"}])), timeout=T),
        grpc.StatusCode.NOT_FOUND, "on /x (nosuchfs)")
    expect_code("joining a namespace path that does not exist", lambda: s.CreateProcess(a.CreateProcessRequest(
        id="f-nons", oci_spec_json=spec(["/bin/true"], ns=NS, linux={"namespaces": [
            {"type": "mount"}, {"type": "network", "path": "/proc/999999999/ns/net"}]})), timeout=T),
        grpc.StatusCode.NOT_FOUND, "/proc/999999999/ns/net")
    for cid in ("f-noroot", "f-nocwd", "f-nofs", "f-nons"):
        expect_code("failed create %s is not kept" % cid, lambda: s.Wait(a.WaitRequest(id=cid), timeout=T),
                    grpc.StatusCode.NOT_FOUND)


def unknown_ids(s):
    calls = {
        "StartProcess": lambda: s.StartProcess(a.StartProcessRequest(id="ghost"), timeout=T),
        "Signal": lambda: s.Signal(a.SignalRequest(id="ghost", signal=15), timeout=T),
        "Wait": lambda: s.Wait(a.WaitRequest(id="ghost"), timeout=T),
        "ResizePty": lambda: s.ResizePty(a.ResizePtyRequest(id="ghost", rows=1, cols=1), timeout=T),
        "CloseStdin": lambda: s.CloseStdin(a.CloseStdinRequest(id="ghost"), timeout=T),
        "Delete": lambda: s.Delete(a.DeleteRequest(id="ghost"), timeout=T),
        "Stats": lambda: s.Stats(a.StatsRequest(container_id="ghost"), timeout=T),
        "Exec": lambda: s.Exec(a.ExecRequest(container_id="ghost", id="e", process_json="{}"), timeout=T),
        "Stdio": lambda: list(s.Stdio(iter([a.StdioRequest(id="ghost")]), timeout=T)),
    }
    for name, fn in calls.items():
        expect_code("unknown process id: %s is NOT_FOUND" % name, fn, grpc.StatusCode.NOT_FOUND, "ghost")


# ---------------------------------------------------------------- bad input against the agent


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def raw_exchange(sock, data):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(sock)
    c.sendall(data)
    got = b""
    try:
        while len(got) < 1 << 20:
            b = c.recv(65536)
            if not b:
                break
            got += b
    except (socket.timeout, ConnectionResetError):
        pass
    c.close()
    out = []
    while len(got) >= 9:
        ln = int.from_bytes(got[:3], "big")
        out.append((got[3], got[9:9 + ln]))
        got = got[9 + ln:]
    return out


def goaway_code(frames):
    for t, payload in frames:
        if t == 7 and len(payload) >= 8:
            return int.from_bytes(payload[4:8], "big")
    return None


def alive(s, name):
    try:
        s.Stat(a.StatRequest(path="/"), timeout=T)
        expect_code(name, lambda: s.Wait(a.WaitRequest(id="ghost"), timeout=T), grpc.StatusCode.NOT_FOUND)
    except grpc.RpcError as e:
        report(name, False, "%s %s" % (e.code(), e.details()))


def bad_input(s, sock):
    # Raw HTTP/2 after the preface: the connection ends with GOAWAY; the agent goes on.
    hpack_junk = b"\x00\x00\x04\x01\x05\x00\x00\x00\x01\xff\xff\xff\xff"
    cases = [
        ("SETTINGS of a bad length: FRAME_SIZE_ERROR", PREFACE + b"\x00\x00\x05\x04\x00\x00\x00\x00\x00" + b"\0" * 5, 6),
        ("HEADERS that do not decode: COMPRESSION_ERROR", PREFACE + SETTINGS + hpack_junk, 9),
        ("DATA on stream 0: PROTOCOL_ERROR", PREFACE + SETTINGS + b"\x00\x00\x02\x00\x00\x00\x00\x00\x00hi", 1),
        ("WINDOW_UPDATE of 0: PROTOCOL_ERROR", PREFACE + SETTINGS + b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00", 1),
        ("a frame over the maximum size: FRAME_SIZE_ERROR", PREFACE + SETTINGS + b"\xff\xff\xff\x00\x00\x00\x00\x00\x01" + b"x" * 100, 6),
    ]
    for name, data, code in cases:
        got = goaway_code(raw_exchange(sock, data))
        report("agent, raw HTTP/2: " + name, got == code, "GOAWAY code %s" % got)
    raw_exchange(sock, os.urandom(2048))
    raw_exchange(sock, PREFACE[:7])
    alive(s, "agent still answers after malformed HTTP/2")

    ch = grpc.insecure_channel("unix:" + sock, options=[("grpc.max_send_message_length", 64 << 20)])
    raw = ch.unary_unary("/cz.agent.v1.Agent/CreateProcess", request_serializer=lambda b: b,
                         response_deserializer=lambda b: b)
    expect_code("agent: an undecodable protobuf is INVALID_ARGUMENT",
                lambda: raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=T), grpc.StatusCode.INVALID_ARGUMENT)
    expect_code("agent: a wrong wire type is INVALID_ARGUMENT",
                lambda: raw(b"\x0d\x01\x02\x03\x04", timeout=T), grpc.StatusCode.INVALID_ARGUMENT)
    big = a.CreateProcessRequest(id="huge", oci_spec_json="x" * (20 << 20))
    expect_code("agent: a 20 MiB message is RESOURCE_EXHAUSTED",
                lambda: g.AgentStub(ch).CreateProcess(big, timeout=T), grpc.StatusCode.RESOURCE_EXHAUSTED)
    nope = ch.unary_unary("/cz.agent.v1.Agent/Nope", request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    expect_code("agent: unknown method is UNIMPLEMENTED", lambda: nope(b"", timeout=T),
                grpc.StatusCode.UNIMPLEMENTED)
    other = ch.unary_unary("/cz.other.v1.Svc/Wait", request_serializer=lambda b: b,
                           response_deserializer=lambda b: b)
    expect_code("agent: unknown service is UNIMPLEMENTED", lambda: other(b"", timeout=T),
                grpc.StatusCode.UNIMPLEMENTED)
    ch.close()
    alive(s, "agent still answers after bad messages")


def disconnect_mid_stdio(sock):
    """A host drops its connection while streaming a process's output; a new
    connection finds the process running, reattaches, and can Signal and Wait."""
    ch1 = grpc.insecure_channel("unix:" + sock)
    s1 = g.AgentStub(ch1)
    s1.CreateProcess(a.CreateProcessRequest(
        id="dc", oci_spec_json=spec(["/bin/sh", "-c", "trap 'echo got-term; exit 3' TERM; i=0; "
                                    "while true; do echo line$i; i=$((i+1)); sleep 0.05; done"]),
        stdio=a.StdioOptions(stdin=True, stdout=True, stderr=True)), timeout=T)
    ss = Session(s1, "dc")
    s1.StartProcess(a.StartProcessRequest(id="dc"), timeout=T)
    got = ss.wait_for(b"line3")
    ch1.close()  # the host goes away mid-stream
    ss.finish(5)
    report("disconnect mid-Stdio: output was flowing", got, repr(ss.out[:100]))
    time.sleep(0.5)
    ch2 = grpc.insecure_channel("unix:" + sock)
    s2 = g.AgentStub(ch2)
    w = None
    try:
        pending = s2.Wait.future(a.WaitRequest(id="dc"), timeout=T)
        time.sleep(0.3)
        report("after reconnecting: the process still runs", not pending.done())
        ss2 = Session(s2, "dc")
        report("after reconnecting: Stdio attaches again and output continues",
               ss2.wait_for(b"line", 20), repr(ss2.out[:100]))
        s2.Signal(a.SignalRequest(id="dc", signal=15), timeout=T)
        w = pending.result()
        ss2.finish()
        report("after reconnecting: Signal and Wait (trap ran, exit 3)",
               w.exit_status == 3 and b"got-term" in ss2.out, "%s %r" % (w, ss2.out[-60:]))
        s2.Delete(a.DeleteRequest(id="dc"), timeout=T)
    except grpc.RpcError as e:
        report("after reconnecting: Signal and Wait", False, "%s %s" % (e.code(), e.details()))

    # A Wait pending when the host drops is dropped with it; the process is unharmed.
    ch3 = grpc.insecure_channel("unix:" + sock)
    s3 = g.AgentStub(ch3)
    s3.CreateProcess(a.CreateProcessRequest(id="dc2", oci_spec_json=spec(["/bin/sleep", "300"])), timeout=T)
    s3.StartProcess(a.StartProcessRequest(id="dc2"), timeout=T)
    s3.Wait.future(a.WaitRequest(id="dc2"), timeout=T)
    time.sleep(0.3)
    ch3.close()
    time.sleep(0.3)
    s2.Signal(a.SignalRequest(id="dc2", signal=9), timeout=T)
    w = s2.Wait(a.WaitRequest(id="dc2"), timeout=T)
    report("a Wait whose host left does not stop the next one", w.exit_status == 137, str(w))
    s2.Delete(a.DeleteRequest(id="dc2"), timeout=T)
    alive(s2, "agent still answers after hosts dropped mid-call")
    ch2.close()


def main():
    global ROOTFS, HOSTDIR
    sock, ROOTFS, HOSTDIR = sys.argv[1:4]
    with_cgroup = "--cgroup" in sys.argv
    with_raw = "--raw" in sys.argv
    s = g.AgentStub(grpc.insecure_channel("unix:" + sock))
    s.Stat(a.StatRequest(path="/"), timeout=120, wait_for_ready=True)
    for part in (process_features, root_and_mounts, namespaces, paths_sysctl_seccomp, stdio_rules,
                 bad_specs, unknown_ids):
        part(s)
    exec_wait_signal(s, with_cgroup)
    if with_cgroup:
        cgroup_limits(s)
    if with_raw:
        bad_input(s, sock)
        disconnect_mid_stdio(sock)
    return 1 if vp.failed else 0


if __name__ == "__main__":
    sys.exit(main())
