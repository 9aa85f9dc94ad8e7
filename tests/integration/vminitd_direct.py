"""Direct output (StdioOptions.direct_output) in a real VM with the ports cz.out and cz.err:
the process writes into the ports, this script reads their sockets (QEMU serves them in
RUN_DIR) and learns from Stdio where each stream ends. Prints PASS:/FAIL: lines.

  vminitd_direct.py RUN_DIR ROOTFS DATA
ROOTFS is a busybox root filesystem visible to vminitd at that path, holding /data, a copy
of the host file DATA.
"""
import socket
import sys
import threading
import time

import agent_pb2 as a
import agent_pb2_grpc as g
import grpc

import vminitd_process as vp
from vminitd_process import T, expect_code, report, spec


class Port:
    """What arrives on a port's socket, kept in order."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.data = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            b = self.sock.recv(1 << 16)
            if not b:
                return
            with self.lock:
                self.data += b

    def take(self, n, seconds=T):
        """The next n bytes (None if they do not come in time)."""
        end = time.time() + seconds
        while time.time() < end:
            with self.lock:
                if len(self.data) >= n:
                    out = bytes(self.data[:n])
                    del self.data[:n]
                    return out
            time.sleep(0.02)
        return None


def stdio_ends(s, pid):
    """Attach Stdio; returns ({stream: direct_bytes}, data bytes that came through Stdio)."""
    ends, data = {}, 0
    for r in s.Stdio(iter([a.StdioRequest(id=pid)]), timeout=T):
        data += len(r.data)
        if r.eof:
            ends["out" if r.stream == a.StdioResponse.STDOUT else "err"] = r.direct_bytes
    return ends, data


def main(run, rootfs, data_path):
    s = g.AgentStub(grpc.insecure_channel("unix:" + run + "/agent.sock"))
    out, err = Port(run + "/out.sock"), Port(run + "/err.sock")
    want = open(data_path, "rb").read()
    direct = a.StdioOptions(stdout=True, stderr=True, direct_output=True)

    # A process's whole output, through the ports; Stdio carries only where it ends.
    s.CreateProcess(a.CreateProcessRequest(
        id="d1", oci_spec_json=spec(rootfs, ["/bin/sh", "-c", "cat /data; echo done >&2; exit 4"]),
        stdio=direct), timeout=T)
    res = {}
    t = threading.Thread(target=lambda: res.update(zip(("ends", "data"), stdio_ends(s, "d1"))))
    t.start()
    s.StartProcess(a.StartProcessRequest(id="d1"), timeout=T)
    w = s.Wait(a.WaitRequest(id="d1"), timeout=T)
    t.join(T)
    report("direct: the exit code", w.exit_status == 4, str(w))
    report("direct: Stdio ends each stream with its byte count",
           res.get("ends") == {"out": len(want), "err": 5}, str(res))
    report("direct: no output data through Stdio", res.get("data") == 0, str(res))
    got = out.take(len(want))
    report("direct: stdout arrives whole and in order on cz.out", got == want,
           "%s bytes" % (len(got) if got is not None else "no"))
    report("direct: stderr on cz.err", err.take(5) == b"done\n")
    s.Delete(a.DeleteRequest(id="d1"), timeout=T)

    # The port belongs to one process at a time; an exec or a terminal cannot have it.
    s.CreateProcess(a.CreateProcessRequest(
        id="d2", oci_spec_json=spec(rootfs, ["/bin/sh", "-c", "echo held; exec sleep 60"]),
        stdio=direct), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="d2"), timeout=T)
    report("direct: a running process's output arrives at once", out.take(5) == b"held\n")
    expect_code("direct: a second process while cz.out is held",
                lambda: s.CreateProcess(a.CreateProcessRequest(
                    id="d3", oci_spec_json=spec(rootfs, ["/bin/true"]), stdio=direct), timeout=T),
                grpc.StatusCode.FAILED_PRECONDITION, "still held")
    expect_code("direct: not for an exec",
                lambda: s.Exec(a.ExecRequest(
                    container_id="d2", id="x1", process_json=vp.json.dumps(
                        {"args": ["/bin/true"], "cwd": "/", "env": ["PATH=/bin"],
                         "user": {"uid": 0, "gid": 0}}), stdio=direct), timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "direct output")
    expect_code("direct: not with a terminal",
                lambda: s.CreateProcess(a.CreateProcessRequest(
                    id="d4", oci_spec_json=spec(rootfs, ["/bin/true"]),
                    stdio=a.StdioOptions(stdout=True, terminal=True, direct_output=True)),
                    timeout=T),
                grpc.StatusCode.INVALID_ARGUMENT, "terminal")
    s.Signal(a.SignalRequest(id="d2", signal=9), timeout=T)
    s.Wait(a.WaitRequest(id="d2"), timeout=T)
    ends, _ = stdio_ends(s, "d2")
    report("direct: a killed process's streams end too", ends == {"out": 5, "err": 0}, str(ends))
    s.Delete(a.DeleteRequest(id="d2"), timeout=T)

    # A host that attaches after the process ended still learns where its output ends.
    s.CreateProcess(a.CreateProcessRequest(
        id="d5", oci_spec_json=spec(rootfs, ["/bin/echo", "late"]), stdio=direct), timeout=T)
    s.StartProcess(a.StartProcessRequest(id="d5"), timeout=T)
    s.Wait(a.WaitRequest(id="d5"), timeout=T)
    ends, _ = stdio_ends(s, "d5")
    report("direct: a late attach gets the ends", ends == {"out": 5, "err": 0}, str(ends))
    report("direct: the port is free again for the next process", out.take(5) == b"late\n")
    s.Delete(a.DeleteRequest(id="d5"), timeout=T)
    return 0 if not vp.failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
