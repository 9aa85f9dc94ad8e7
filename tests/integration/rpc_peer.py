"""Python peers for the rpc module's tests (run with /usr/bin/python3, with the
code generated from tests/proto/rpctest.proto on PYTHONPATH):

  rpc_peer.py server SOCKET          python grpcio server of the test service
  rpc_peer.py client SOCKET LOG PID  grpcio client suite against our server
  rpc_peer.py badinput SOCKET        raw HTTP/2 (h2) and garbage against our server
  rpc_peer.py bench SOCKET N MIB     grpcio client timings against a server

Suites print "PASS: name" / "FAIL: name: why" lines (tests/run counts them).
"""
import os
import socket
import sys
import threading
import time
from concurrent import futures

import grpc
import rpctest_pb2 as pb
import rpctest_pb2_grpc as pbg

MIB = 1 << 20
LIMIT = 16 * MIB  # our server's default message size limit
failed = False


def report(name, ok, why=""):
    global failed
    if ok:
        print("PASS: %s" % name, flush=True)
    else:
        failed = True
        print("FAIL: %s: %s" % (name, why), flush=True)


def expect_code(name, fn, code, details=None):
    try:
        fn()
    except grpc.RpcError as e:
        ok = e.code() == code and (details is None or e.details() == details)
        report(name, ok, "got %s %r, want %s %r" % (e.code(), e.details(), code, details))
        return
    report(name, False, "succeeded, want %s" % code)


# ---------------------------------------------------------------- server


class TestServicer(pbg.TestServicer):
    def Echo(self, req, ctx):
        if req.text.startswith("gzip-me"):
            ctx.set_compression(grpc.Compression.Gzip)
        return req

    def Sum(self, it, ctx):
        total = count = size = 0
        for m in it:
            total += m.number
            count += 1
            size += len(m.payload)
        return pb.Msg(number=total, count=count, size=size)

    def Count(self, req, ctx):
        payload = b"y" * req.size
        for i in range(req.count):
            if req.delay_ms:
                time.sleep(req.delay_ms / 1000)
            yield pb.Msg(number=i, payload=payload)

    def Chat(self, it, ctx):
        for m in it:
            yield m

    def Sleep(self, req, ctx):
        end = time.time() + req.delay_ms / 1000
        while time.time() < end and ctx.is_active():
            time.sleep(0.01)
        return pb.Msg(text="slept")

    def Fail(self, req, ctx):
        codes = {2: grpc.StatusCode.NOT_FOUND, 22: grpc.StatusCode.INVALID_ARGUMENT}
        ctx.abort(codes.get(req.fail_errno, grpc.StatusCode.UNKNOWN), req.text)

    def Big(self, req, ctx):
        return pb.Msg(payload=b"z" * req.size, size=req.size)


def serve(path):
    opts = [("grpc.max_receive_message_length", 64 * MIB),
            ("grpc.max_send_message_length", 64 * MIB)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=opts)
    pbg.add_TestServicer_to_server(TestServicer(), server)
    server.add_insecure_port("unix:" + path)
    server.start()
    print("serving", flush=True)
    server.wait_for_termination()


# ---------------------------------------------------------------- client suite


def channel(path, **kw):
    opts = [("grpc.max_receive_message_length", 64 * MIB),
            ("grpc.max_send_message_length", 64 * MIB)]
    return grpc.insecure_channel("unix:" + path, options=opts, **kw)


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def client_suite(path, log, pid):
    ch = channel(path)
    stub = pbg.TestStub(ch)

    # Backpressure: a slow reader of 256 MiB must not make the server buffer it.
    # First, before big messages raise the server's peak RSS.
    before = vm_hwm(pid)
    n = 0
    for m in stub.Count(pb.Msg(count=256, size=MIB), timeout=60):
        n += 1
        if n < 40:
            time.sleep(0.02)
    growth = vm_hwm(pid) - before
    print("server peak RSS %d -> %d KiB" % (before // 1024, vm_hwm(pid) // 1024))
    report("slow reader: server memory stays bounded", n == 256 and growth < 64 * MIB,
           "received %d, server peak RSS grew by %d MiB" % (n, growth // MIB))

    r = stub.Echo(pb.Msg(text="héllo", number=-7, payload=b"\x00\x01"), timeout=5)
    report("unary echo", r.text == "héllo" and r.number == -7 and r.payload == b"\x00\x01", str(r))

    msg = "missing: /x ü 100%\ttab, line\nnext"
    expect_code("status NOT_FOUND with percent-encoded message",
                lambda: stub.Fail(pb.Msg(fail_errno=2, text=msg), timeout=5),
                grpc.StatusCode.NOT_FOUND, msg)
    for errno_, code in ((22, grpc.StatusCode.INVALID_ARGUMENT),
                         (17, grpc.StatusCode.ALREADY_EXISTS),
                         (13, grpc.StatusCode.PERMISSION_DENIED),
                         (38, grpc.StatusCode.UNIMPLEMENTED),
                         (16, grpc.StatusCode.FAILED_PRECONDITION),
                         (28, grpc.StatusCode.RESOURCE_EXHAUSTED)):
        expect_code("status %s from errno %d" % (code.name, errno_),
                    lambda: stub.Fail(pb.Msg(fail_errno=errno_, text="x"), timeout=5), code)

    unknown = ch.unary_unary("/cz.rpctest.v1.Test/Nope",
                             request_serializer=lambda b: b, response_deserializer=lambda b: b)
    expect_code("unknown method is UNIMPLEMENTED", lambda: unknown(b"", timeout=5),
                grpc.StatusCode.UNIMPLEMENTED)
    unknown_svc = ch.unary_unary("/no.such.Service/Echo",
                                 request_serializer=lambda b: b, response_deserializer=lambda b: b)
    expect_code("unknown service is UNIMPLEMENTED", lambda: unknown_svc(b"", timeout=5),
                grpc.StatusCode.UNIMPLEMENTED)

    raw_echo = ch.unary_unary("/cz.rpctest.v1.Test/Echo",
                              request_serializer=lambda b: b, response_deserializer=lambda b: b)
    expect_code("undecodable protobuf is INVALID_ARGUMENT",
                lambda: raw_echo(b"\x0a\xff\xff\xff\xff\x0f", timeout=5),
                grpc.StatusCode.INVALID_ARGUMENT)

    r = stub.Sum(iter([pb.Msg(number=i, payload=b"p" * 100) for i in range(1, 1001)]), timeout=10)
    report("client streaming sum", r.number == 500500 and r.count == 1000 and r.size == 100000,
           str(r))
    r = stub.Sum(iter([]), timeout=10)
    report("client streaming with no messages", r.number == 0 and r.count == 0, str(r))

    got = list(stub.Count(pb.Msg(count=300, size=1000), timeout=10))
    report("server streaming count", len(got) == 300 and
           [m.number for m in got] == list(range(300)) and
           all(len(m.payload) == 1000 for m in got), "got %d messages" % len(got))

    # Bidirectional, interleaved: each echo arrives before the next request is sent.
    import queue
    q = queue.Queue()

    def gen():
        for i in range(1, 51):
            q.get(timeout=5)
            yield pb.Msg(number=i, text="m%d" % i)
    q.put(1)
    echoes = []
    for m in stub.Chat(gen(), timeout=10):
        echoes.append(m.number)
        q.put(1)
    report("bidi chat interleaved", echoes == list(range(1, 51)), str(echoes[:5]))

    t0 = time.time()
    expect_code("deadline exceeded", lambda: stub.Sleep(pb.Msg(delay_ms=3000), timeout=0.3),
                grpc.StatusCode.DEADLINE_EXCEEDED)
    report("deadline exceeded promptly", time.time() - t0 < 2.0, "took %.2fs" % (time.time() - t0))
    r = stub.Sleep(pb.Msg(delay_ms=50), timeout=5)
    report("call within its deadline", r.text == "slept", str(r))

    r = stub.Big(pb.Msg(size=LIMIT - 64), timeout=30)
    report("reply near the size limit", len(r.payload) == LIMIT - 64, str(len(r.payload)))
    expect_code("reply over the size limit is RESOURCE_EXHAUSTED",
                lambda: stub.Big(pb.Msg(size=LIMIT + 1), timeout=30),
                grpc.StatusCode.RESOURCE_EXHAUSTED)
    r = stub.Echo(pb.Msg(payload=b"q" * (LIMIT - 64)), timeout=30)
    report("request near the size limit", len(r.payload) == LIMIT - 64, str(len(r.payload)))
    expect_code("request over the size limit is RESOURCE_EXHAUSTED",
                lambda: stub.Echo(pb.Msg(payload=b"q" * (LIMIT + 16)), timeout=30),
                grpc.StatusCode.RESOURCE_EXHAUSTED)

    gz = channel(path, compression=grpc.Compression.Gzip)
    r = pbg.TestStub(gz).Echo(pb.Msg(text="a" * 100000, payload=os.urandom(1000)), timeout=5)
    with open(log) as f:
        inflated = "inflated a gzip message" in f.read()
    report("gzip-compressed request is accepted (and was compressed)",
           r.text == "a" * 100000 and inflated, "%d chars, inflated: %s" % (len(r.text), inflated))
    gz.close()

    # Many concurrent streams on one connection.
    results = [None] * 64

    def one(i):
        try:
            ms = list(stub.Count(pb.Msg(count=20, size=100, delay_ms=5), timeout=20))
            results[i] = len(ms)
        except grpc.RpcError as e:
            results[i] = e.code()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report("64 concurrent streams on one connection", results == [20] * 64, str(results[:8]))

    # A client that cancels mid-stream: the handler hears of it, the server goes on.
    it = stub.Count(pb.Msg(count=1000, size=10, delay_ms=20), timeout=30)
    next(it)
    next(it)
    it.cancel()
    time.sleep(0.3)
    with open(log) as f:
        seen = "closed /cz.rpctest.v1.Test/Count CANCELLED" in f.read()
    report("cancelled stream reaches the handler", seen, "no CANCELLED close in server log")

    # A client that disconnects mid-stream.
    ch2 = channel(path)
    it = pbg.TestStub(ch2).Count(pb.Msg(count=1000, size=10, delay_ms=20), timeout=30)
    next(it)
    ch2.close()
    time.sleep(0.3)
    with open(log) as f:
        text = f.read()
    seen = "connection to the client was lost" in text or text.count("Count CANCELLED") >= 2
    report("disconnect mid-stream reaches the handler", seen, "no close in server log")
    r = stub.Echo(pb.Msg(text="still"), timeout=5)
    report("server serves after a disconnect", r.text == "still", str(r))

    ch.close()


# ---------------------------------------------------------------- bad input


def raw_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def read_until_closed(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        pass
    return data, True


def frames(data):
    """Split raw HTTP/2 bytes (after the server preface) into (type, flags, stream, payload)."""
    out = []
    while len(data) >= 9:
        ln = int.from_bytes(data[:3], "big")
        out.append((data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7fffffff,
                    data[9:9 + ln]))
        data = data[9 + ln:]
    return out


def h2_call(path, headers, body_chunks, end=True, close_after=False):
    """One request through the h2 library (a real HTTP/2 peer that lets us send
    any bytes as DATA). Returns (headers dict, data bytes, reset code or None)."""
    import h2.config
    import h2.connection
    import h2.events
    s = raw_connect(path)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers, end_stream=not b"".join(body_chunks) and end)
    data = b"".join(body_chunks)
    for off in range(0, len(data), 16384):  # the default maximum frame size
        piece = data[off:off + 16384]
        conn.send_data(sid, piece, end_stream=end and off + 16384 >= len(data))
    s.sendall(conn.data_to_send())
    if close_after:
        s.close()
        return None
    hdrs, data, reset = {}, b"", None
    done = False
    deadline = time.time() + 5
    while not done and time.time() < deadline:
        b = s.recv(65536)
        if not b:
            break
        for ev in conn.receive_data(b):
            if isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                hdrs.update(dict(ev.headers))
            elif isinstance(ev, h2.events.DataReceived):
                data += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            elif isinstance(ev, h2.events.StreamReset):
                reset = ev.error_code
                done = True
            elif isinstance(ev, h2.events.StreamEnded):
                done = True
        s.sendall(conn.data_to_send())
    s.close()
    return hdrs, data, reset


def grpc_headers(method="/cz.rpctest.v1.Test/Echo", ctype="application/grpc", extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", method),
            (":authority", "localhost"), ("content-type", ctype), ("te", "trailers")] + list(extra)


def frame(payload, flag=0, length=None):
    ln = len(payload) if length is None else length
    return bytes([flag]) + ln.to_bytes(4, "big") + payload


def check_alive(path, name):
    ch = channel(path)
    try:
        r = pbg.TestStub(ch).Echo(pb.Msg(text="alive"), timeout=5)
        report(name, r.text == "alive", str(r))
    except grpc.RpcError as e:
        report(name, False, "%s %s" % (e.code(), e.details()))
    ch.close()


def bad_input_suite(path):
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    s = raw_connect(path)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _, closed = read_until_closed(s)
    s.close()
    report("HTTP/1.1 request: connection closed", closed)
    check_alive(path, "serves after an HTTP/1.1 request")

    s = raw_connect(path)
    s.sendall(os.urandom(4096))
    _, closed = read_until_closed(s)
    s.close()
    report("garbage bytes: connection closed", closed)
    check_alive(path, "serves after garbage")

    # A SETTINGS frame whose length is not a multiple of 6: FRAME_SIZE_ERROR.
    s = raw_connect(path)
    s.sendall(preface + b"\x00\x00\x05\x04\x00\x00\x00\x00\x00" + b"\x00" * 5)
    data, closed = read_until_closed(s)
    s.close()
    goaway = [f for f in frames(data) if f[0] == 7]
    report("malformed SETTINGS frame: GOAWAY FRAME_SIZE_ERROR",
           closed and goaway and int.from_bytes(goaway[0][3][4:8], "big") == 6,
           "frames %s" % [(f[0], f[3][:8]) for f in frames(data)])

    # HEADERS with an undecodable header block: GOAWAY COMPRESSION_ERROR.
    s = raw_connect(path)
    s.sendall(preface + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" +
              b"\x00\x00\x04\x01\x05\x00\x00\x00\x01" + b"\xff\xff\xff\xff")
    data, closed = read_until_closed(s)
    s.close()
    goaway = [f for f in frames(data) if f[0] == 7]
    report("invalid HPACK: GOAWAY COMPRESSION_ERROR",
           closed and goaway and int.from_bytes(goaway[0][3][4:8], "big") == 9,
           "frames %s" % [(f[0], f[3][:8]) for f in frames(data)])

    # DATA on a stream that was never opened: connection error, no crash.
    s = raw_connect(path)
    s.sendall(preface + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" +
              b"\x00\x00\x05\x00\x01\x00\x00\x00\x07" + b"hello")
    data, closed = read_until_closed(s)
    s.close()
    report("DATA on an idle stream: GOAWAY", closed and any(f[0] == 7 for f in frames(data)))

    # Truncated preface then hang-up.
    s = raw_connect(path)
    s.sendall(preface[:10])
    s.close()
    check_alive(path, "serves after a truncated preface")

    def status(h):
        return h.get("grpc-status")

    h, _, _ = h2_call(path, grpc_headers(), [frame(b"\x0a\x03abc")[:-2]])
    report("message cut short by END_STREAM: INTERNAL", status(h) == "13", str(h))
    h, _, _ = h2_call(path, grpc_headers(extra=[("grpc-encoding", "snappy")]),
                      [frame(b"\x0a\x01a", flag=1)])
    report("unsupported compression: UNIMPLEMENTED", status(h) == "12" and
           "snappy" in h.get("grpc-message", ""), str(h))
    import gzip
    bomb = gzip.compress(b"\0" * (20 << 20))
    h, _, _ = h2_call(path, grpc_headers(extra=[("grpc-encoding", "gzip")]),
                      [frame(bomb, flag=1)])
    report("gzip bomb (20 MiB from %d KiB): RESOURCE_EXHAUSTED" % (len(bomb) >> 10),
           status(h) == "8", str(h))
    h, _, _ = h2_call(path, grpc_headers(extra=[("grpc-encoding", "gzip")]),
                      [frame(b"\x1f\x8b garbage", flag=1)])
    report("invalid gzip data: INTERNAL", status(h) == "13", str(h))
    h, _, _ = h2_call(path, grpc_headers(extra=[("grpc-encoding", "gzip")]),
                      [frame(gzip.compress(b"\x0a\x05hello"), flag=1)])
    report("gzip message through raw HTTP/2: OK", status(h) == "0", str(h))
    h, _, _ = h2_call(path, grpc_headers(), [frame(b"", flag=2)])
    report("invalid compression flag: INTERNAL", status(h) == "13", str(h))
    h, _, _ = h2_call(path, grpc_headers(), [frame(b"", length=1 << 30)])
    report("length prefix of 1 GiB: RESOURCE_EXHAUSTED before the body",
           status(h) == "8", str(h))
    h, _, _ = h2_call(path, grpc_headers(), [frame(b"\x0a\x01a") + frame(b"\x0a\x01b")])
    report("two requests to a unary method: INTERNAL", status(h) == "13", str(h))
    h, _, _ = h2_call(path, grpc_headers(), [])
    report("no request to a unary method: INTERNAL", status(h) == "13", str(h))
    h, _, _ = h2_call(path, grpc_headers(ctype="text/plain"), [frame(b"")])
    report("wrong content-type: HTTP 415", h.get(":status") == "415", str(h))
    h, _, _ = h2_call(path, grpc_headers(extra=[("grpc-timeout", "12x")]), [frame(b"")])
    report("malformed grpc-timeout: INVALID_ARGUMENT", status(h) == "3", str(h))
    h, _, _ = h2_call(path, grpc_headers(extra=[("grpc-timeout", "200m")]),
                      [frame(b"\x0a\x02hi")], end=False)
    report("unary request never half-closed: DEADLINE_EXCEEDED", status(h) == "4", str(h))
    h, _, _ = h2_call(path, grpc_headers("/cz.rpctest.v1.Test/Sleep",
                                         extra=[("grpc-timeout", "100m")]),
                      [frame(b"\x30\xa0\x1f")])  # delay_ms=4000
    report("server-side deadline: DEADLINE_EXCEEDED", status(h) == "4", str(h))
    h2_call(path, grpc_headers("/cz.rpctest.v1.Test/Count"), [frame(b"\x20\x64\x30\x0a")],
            close_after=True)
    check_alive(path, "serves after a hang-up mid-stream")


# ---------------------------------------------------------------- bench


def bench(path, n, mib):
    ch = channel(path)
    stub = pbg.TestStub(ch)
    stub.Echo(pb.Msg(text="warm"), timeout=5)
    t0 = time.time()
    for _ in range(n):
        stub.Echo(pb.Msg(text="ping"), timeout=5)
    t = time.time() - t0
    print("unary %d calls %.3f s %.1f us/call" % (n, t, t / n * 1e6))
    chunk = 64 << 10
    t0 = time.time()
    total = 0
    for m in stub.Count(pb.Msg(count=mib * MIB // chunk, size=chunk), timeout=120):
        total += len(m.payload)
    t = time.time() - t0
    print("stream %d bytes %.3f s %.1f MiB/s" % (total, t, total / t / MIB))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(sys.argv[2])
    elif mode == "client":
        client_suite(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "badinput":
        bad_input_suite(sys.argv[2])
    elif mode == "bench":
        bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    sys.exit(1 if failed else 0)
