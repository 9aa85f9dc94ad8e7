"""Drives vminitd's process methods with python grpcio: create, stdio, exit codes,
stdin, a pty with a resize, signals, exec, errors, stats. Prints PASS:/FAIL: lines.

  vminitd_process.py SOCKET ROOTFS [--stats]
ROOTFS is a busybox root filesystem already visible to vminitd at that path.
"""
import json
import sys
import threading
import time

import agent_pb2 as a
import agent_pb2_grpc as g
import grpc

failed = False
T = 20


def report(name, ok, why=""):
    global failed
    if not ok:
        failed = True
    print(("PASS: %s" % name) if ok else ("FAIL: %s: %s" % (name, why)), flush=True)


def spec(rootfs, args, terminal=False, hostname="box1", env=None):
    return json.dumps({
        "ociVersion": "1.0.2",
        "process": {"terminal": terminal, "args": args, "cwd": "/",
                    "env": env or ["PATH=/bin", "TERM=xterm"],
                    "user": {"uid": 0, "gid": 0}},
        "root": {"path": rootfs},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "mode=755"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["newinstance", "ptmxmode=0666", "mode=0620"]},
        ],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc")]},
    })


class Session:
    """A Stdio stream: collects stdout/stderr until both reach EOF."""

    def __init__(self, stub, pid):
        self.out, self.err = b"", b""
        self.eof = set()
        self.q = []
        self.cv = threading.Condition()
        self.done = False
        self.first = a.StdioRequest(id=pid)

        def reqs():
            yield self.first
            while True:
                with self.cv:
                    while not self.q and not self.done:
                        self.cv.wait(0.1)
                    if self.done and not self.q:
                        return
                    item = self.q.pop(0)
                yield item

        self.call = stub.Stdio(reqs(), timeout=60)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for r in self.call:
                if r.stream == a.StdioResponse.STDOUT:
                    self.out += r.data
                    if r.eof:
                        self.eof.add("out")
                elif r.stream == a.StdioResponse.STDERR:
                    self.err += r.data
                    if r.eof:
                        self.eof.add("err")
        except grpc.RpcError as e:
            self.error = e
        with self.cv:
            self.done = True
            self.cv.notify_all()

    def send(self, data=b"", close=False):
        with self.cv:
            self.q.append(a.StdioRequest(data=data, close_stdin=close))
            self.cv.notify_all()

    def wait_for(self, text, seconds=T):
        end = time.time() + seconds
        while time.time() < end:
            if text in self.out:
                return True
            time.sleep(0.02)
        return False

    def finish(self, seconds=T):
        self.thread.join(seconds)
        with self.cv:
            self.done = True
            self.cv.notify_all()


def expect_code(name, fn, code, contains=""):
    try:
        fn()
        report(name, False, "succeeded, want %s" % code)
    except grpc.RpcError as e:
        report(name, e.code() == code and contains in e.details(),
               "got %s %r, want %s %r" % (e.code(), e.details(), code, contains))


def main(sock, rootfs, with_stats):
    s = g.AgentStub(grpc.insecure_channel("unix:" + sock))
    io = a.StdioOptions(stdin=True, stdout=True, stderr=True)

    # stdout, stderr, exit code
    s.CreateProcess(a.CreateProcessRequest(
        id="c1", oci_spec_json=spec(rootfs, ["/bin/sh", "-c", "echo out; echo err >&2; hostname; exit 3"]),
        stdio=io), timeout=T)
    ss = Session(s, "c1")
    pid = s.StartProcess(a.StartProcessRequest(id="c1"), timeout=T).pid
    report("start returns a pid", pid > 1, str(pid))
    w = s.Wait(a.WaitRequest(id="c1"), timeout=T)
    ss.finish()
    report("exit code 3", w.exit_status == 3 and w.signal == 0, str(w))
    report("stdout arrives", ss.out == b"out\nbox1\n", repr(ss.out))
    report("stderr arrives apart", ss.err == b"err\n", repr(ss.err))
    report("EOF for both streams", ss.eof == {"out", "err"}, str(ss.eof))
    report("the hostname is the spec's (own UTS namespace)", b"box1" in ss.out, repr(ss.out))
    s.Delete(a.DeleteRequest(id="c1"), timeout=T)
    expect_code("deleted process is gone", lambda: s.Wait(a.WaitRequest(id="c1"), timeout=T),
                grpc.StatusCode.NOT_FOUND, "c1")

    # stdin through to EOF
    s.CreateProcess(a.CreateProcessRequest(id="c2", oci_spec_json=spec(rootfs, ["/bin/cat"]), stdio=io),
                    timeout=T)
    ss = Session(s, "c2")
    s.StartProcess(a.StartProcessRequest(id="c2"), timeout=T)
    payload = b"line one\n" + bytes(range(256)) * 1024
    ss.send(payload)
    ss.send(close=True)
    w = s.Wait(a.WaitRequest(id="c2"), timeout=T)
    ss.finish()
    report("stdin reaches the process, EOF ends it", ss.out == payload and w.exit_status == 0,
            "%d bytes back, exit %d" % (len(ss.out), w.exit_status))
    s.Delete(a.DeleteRequest(id="c2"), timeout=T)

    # a pty with a resize
    s.CreateProcess(a.CreateProcessRequest(
        id="c3", oci_spec_json=spec(rootfs, ["/bin/sh", "-c", "stty size; read x; stty size; tty"], terminal=True),
        stdio=a.StdioOptions(stdin=True, stdout=True, terminal=True, rows=30, cols=100)), timeout=T)
    ss = Session(s, "c3")
    s.StartProcess(a.StartProcessRequest(id="c3"), timeout=T)
    report("pty starts with the given size", ss.wait_for(b"30 100"), repr(ss.out))
    s.ResizePty(a.ResizePtyRequest(id="c3", rows=40, cols=120), timeout=T)
    ss.send(b"go\n")
    report("the process sees the resize", ss.wait_for(b"40 120"), repr(ss.out))
    report("stdout is a terminal", ss.wait_for(b"/dev/pts/"), repr(ss.out))
    w = s.Wait(a.WaitRequest(id="c3"), timeout=T)
    ss.finish()
    report("pty process exits 0", w.exit_status == 0, str(w))
    s.Delete(a.DeleteRequest(id="c3"), timeout=T)

    # signals, exec, delete rules
    s.CreateProcess(a.CreateProcessRequest(id="c4", oci_spec_json=spec(rootfs, ["/bin/sleep", "100"], hostname="box4"),
                                           stdio=a.StdioOptions()), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="c4"), timeout=T)
    expect_code("delete of a running process", lambda: s.Delete(a.DeleteRequest(id="c4"), timeout=T),
                grpc.StatusCode.FAILED_PRECONDITION, "running")
    proc = json.dumps({"args": ["/bin/sh", "-c", "hostname; cat /proc/1/cmdline; echo; echo $$"],
                       "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}})
    s.Exec(a.ExecRequest(container_id="c4", id="e1", process_json=proc,
                         stdio=a.StdioOptions(stdout=True, stderr=True)), timeout=T)
    ss = Session(s, "e1")
    s.StartProcess(a.StartProcessRequest(id="e1"), timeout=T)
    w = s.Wait(a.WaitRequest(id="e1"), timeout=T)
    ss.finish()
    lines = ss.out.split(b"\n")
    report("exec joins the container's UTS namespace", lines[0] == b"box4", repr(ss.out))
    report("exec joins its pid namespace (pid 1 is the init)",
           len(lines) > 1 and lines[1].startswith(b"/bin/sleep"), repr(ss.out))
    report("exec exits 0", w.exit_status == 0, str(w))
    s.Delete(a.DeleteRequest(id="e1"), timeout=T)
    if with_stats:
        st = s.Stats(a.StatsRequest(container_id="c4"), timeout=T)
        report("stats: pids of the container", st.pids.current >= 1, str(st.pids))
        report("stats: memory in use", st.memory.current > 0, str(st.memory))
    s.Signal(a.SignalRequest(id="c4", signal=9), timeout=T)
    w = s.Wait(a.WaitRequest(id="c4"), timeout=T)
    report("SIGKILL gives 137", w.exit_status == 137 and w.signal == 9, str(w))
    s.Delete(a.DeleteRequest(id="c4"), timeout=T)

    # a command that does not exist
    s.CreateProcess(a.CreateProcessRequest(id="c5", oci_spec_json=spec(rootfs, ["/bin/nope"]),
                                           stdio=a.StdioOptions()), timeout=T)
    expect_code("start of a missing executable", lambda: s.StartProcess(a.StartProcessRequest(id="c5"), timeout=T),
                grpc.StatusCode.NOT_FOUND, "/bin/nope")
    w = s.Wait(a.WaitRequest(id="c5"), timeout=T)
    report("a missing executable exits 127", w.exit_status == 127, str(w))
    s.Delete(a.DeleteRequest(id="c5"), timeout=T)

    # bad requests
    expect_code("duplicate id", lambda: [s.CreateProcess(a.CreateProcessRequest(
        id="d1", oci_spec_json=spec(rootfs, ["/bin/true"])), timeout=T) for _ in range(2)],
        grpc.StatusCode.ALREADY_EXISTS, "d1")
    s.StartProcess(a.StartProcessRequest(id="d1"), timeout=T)
    s.Wait(a.WaitRequest(id="d1"), timeout=T)
    s.Delete(a.DeleteRequest(id="d1"), timeout=T)
    expect_code("invalid spec JSON", lambda: s.CreateProcess(a.CreateProcessRequest(
        id="b1", oci_spec_json="{not json"), timeout=T), grpc.StatusCode.INVALID_ARGUMENT)
    expect_code("bad process id", lambda: s.CreateProcess(a.CreateProcessRequest(
        id="a/b", oci_spec_json=spec(rootfs, ["/bin/true"])), timeout=T), grpc.StatusCode.INVALID_ARGUMENT)
    expect_code("signal to an unknown process", lambda: s.Signal(a.SignalRequest(id="zz", signal=15), timeout=T),
                grpc.StatusCode.NOT_FOUND, "zz")
    expect_code("exec into an unknown container", lambda: s.Exec(a.ExecRequest(
        container_id="zz", id="e9", process_json=proc), timeout=T), grpc.StatusCode.NOT_FOUND)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], "--stats" in sys.argv))
