#!/usr/bin/python3
"""A test proxy in front of a real docker-registry, on 127.0.0.1 only.

It forwards every request to the upstream registry and can add:
  --bearer           a token server (/token) and Bearer auth per scope, the way
                     Docker Hub does it (users from --users u:p,...; anonymous
                     tokens only get pull when --anonymous-pull is given);
                     --token-uses N makes each token expire after N requests,
                     so clients must renew on 401.
  --fault KIND       for requests whose path matches --fault-path (regex):
                     drop-once        send half of a 2xx body, then close (once)
                     truncate-always  the same, every time
                     status:CODE:N    answer CODE the first N times (N=-1: always)
                     hang             accept and never answer
                     serve:FILE:TYPE  answer 200 with FILE as TYPE
                     slow:BYTES       send 2xx bodies at about BYTES per second
It writes its port to --port-file once listening and logs one line per
request to --log."""
import argparse
import base64
import http.client
import http.server
import json
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--upstream", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--bearer", action="store_true")
ap.add_argument("--users", default="")
ap.add_argument("--anonymous-pull", action="store_true")
ap.add_argument("--token-uses", type=int, default=0)
ap.add_argument("--fault", default="")
ap.add_argument("--fault-path", default=r"/v2/.+")
args = ap.parse_args()

lock = threading.RLock()  # log() is called with it held
logf = open(args.log, "a", buffering=1)
users = dict(u.split(":", 1) for u in args.users.split(",") if u)
tokens = {}  # token -> {"grants": {repo: set(actions)}, "uses": n}
fault_count = [0]
SERVICE = "cz-test-registry"


def log(msg):
    with lock:
        logf.write(msg + "\n")


def parse_scopes(scopes):
    grants = {}
    for s in scopes:
        parts = s.split(":")
        if len(parts) < 3 or parts[0] != "repository":
            continue
        repo = ":".join(parts[1:-1])
        grants.setdefault(repo, set()).update(a for a in parts[-1].split(",") if a)
    return grants


def required(method, path, query):
    """(repo, actions) a request needs; None for /v2/."""
    m = re.match(r"^/v2/(.+)/(manifests|blobs|tags)(/.*)?$", path)
    if not m:
        return None
    repo = m.group(1)
    if m.group(2) == "blobs" and m.group(3) and m.group(3).startswith("/uploads"):
        need = {repo: {"pull", "push"}}
    elif method in ("GET", "HEAD"):
        need = {repo: {"pull"}}
    else:
        need = {repo: {"pull", "push"}}
    q = urllib.parse.parse_qs(query)
    if "from" in q and method == "POST":
        need.setdefault(q["from"][0], set()).add("pull")
    return need


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def challenge(self, need):
        port = self.server.server_address[1]
        h = 'Bearer realm="http://127.0.0.1:%d/token",service="%s"' % (port, SERVICE)
        if need:
            repo, acts = next(iter(need.items()))
            h += ',scope="repository:%s:%s"' % (repo, ",".join(sorted(acts)))
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode()
        self.reply(401, body, {"WWW-Authenticate": h, "Content-Type": "application/json"})

    def do_token(self, query):
        q = urllib.parse.parse_qs(query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                u, p = base64.b64decode(auth[6:]).decode().split(":", 1)
            except Exception:
                return self.reply(400, b"bad basic auth")
            if users.get(u) != p:
                log("TOKEN-DENY user=%s" % u)
                return self.reply(401, b'{"details":"incorrect username or password"}')
            user = u
        grants = parse_scopes(q.get("scope", []))
        if user is None:
            if not args.anonymous_pull and users:
                log("TOKEN-DENY anonymous")
                return self.reply(401, b'{"details":"authentication required"}',
                                  {"WWW-Authenticate": 'Basic realm="token"'})
            grants = {r: a & {"pull"} for r, a in grants.items()}
        tok = secrets.token_hex(16)
        with lock:
            tokens[tok] = {"grants": grants, "uses": args.token_uses}
        log("TOKEN user=%s scope=%s" % (user, " ".join(sorted(q.get("scope", [])))))
        body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
        self.reply(200, body, {"Content-Type": "application/json"})

    def authorized(self, need):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with lock:
            t = tokens.get(auth[7:])
            if t is None:
                return False
            if args.token_uses:
                if t["uses"] <= 0:
                    log("TOKEN-EXPIRED")
                    return False
                t["uses"] -= 1
            for repo, acts in (need or {}).items():
                if not acts <= t["grants"].get(repo, set()):
                    return False
        return True

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if args.bearer and url.path == "/token":
            return self.do_token(url.query)
        if args.bearer:
            need = required(self.command, url.path, url.query)
            if not self.authorized(need):
                log("DENY %s %s" % (self.command, self.path))
                return self.challenge(need)
        fault = None
        if args.fault and re.search(args.fault_path, url.path):
            fault = args.fault
        if fault and fault.startswith("status:"):
            _, code, count = fault.split(":")
            with lock:
                fault_count[0] += 1
                hit = int(count) < 0 or fault_count[0] <= int(count)
            if hit:
                log("FAULT %s %s %s" % (code, self.command, self.path))
                return self.reply(int(code), b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}',
                                  {"Content-Type": "application/json", "Retry-After": "0"})
        if fault == "hang":
            log("HANG %s %s" % (self.command, self.path))
            time.sleep(600)
            return
        if fault and fault.startswith("serve:"):
            _, path, ctype = fault.split(":", 2)
            data = open(path, "rb").read()
            log("SERVE %s %s" % (self.command, self.path))
            return self.reply(200, data, {"Content-Type": ctype})
        # forward
        up = http.client.HTTPConnection(args.upstream, timeout=60)
        # a header sent several times (skopeo sends several Accept lines) is joined, not lost
        hdrs = {}
        for k, v in self.headers.items():
            if k.lower() in ("authorization", "connection"):
                continue
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        up.request(self.command, self.path, body=body if n else None, headers=hdrs)
        r = up.getresponse()
        data = r.read()
        up.close()
        log("%s %s %d %s" % (self.command, self.path, r.status, self.headers.get("Range", "")))
        drop = False
        if fault in ("drop-once", "truncate-always") and self.command == "GET" and 200 <= r.status < 300 and len(data) > 1:
            with lock:
                fault_count[0] += 1
                drop = fault == "truncate-always" or fault_count[0] == 1
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if drop:
            log("DROP %s after %d of %d bytes" % (self.path, len(data) // 2, len(data)))
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault.startswith("slow:") and len(data) > 0:
            rate = max(1024, int(fault.split(":")[1]))
            chunk = max(1, rate // 10)
            try:
                for i in range(0, len(data), chunk):
                    self.wfile.write(data[i:i + chunk])
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
