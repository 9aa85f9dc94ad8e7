# vminitd's network methods (LinkSet, AddrAdd, RouteAdd) configure interfaces
# for real: vminitd serves inside a network namespace this test creates, python
# grpcio drives it, and iproute2 checks the result. No packet leaves the namespace.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
VMINITD=$CZ_BUILD/guest/vminitd
mkdir -p "$T/py"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py

NS=cz-vmnet-$$
ip netns add "$NS" || { fail "ip netns add"; exit 1; }
on_exit "ip netns del $NS"
ip -n "$NS" link add v0 type veth peer name v1
SOCK=$T/agent.sock
ip netns exec "$NS" "$VMINITD" --listen "unix:$SOCK" 2>"$T/vminitd.log" &
VPID=$!
on_exit "kill $VPID; wait $VPID"
for i in $(seq 1 200); do [ -S "$SOCK" ] && break; sleep 0.01; done
check "vminitd serves in the namespace" [ -S "$SOCK" ]

$PY - "$SOCK" <<'PY'
import sys, grpc
import agent_pb2 as a, agent_pb2_grpc as g
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
def ok(name, fn):
    try:
        fn(); print("PASS: " + name)
    except grpc.RpcError as e:
        print("FAIL: %s: %s %s" % (name, e.code(), e.details()))
def code(name, fn, want, text):
    try:
        fn(); print("FAIL: %s: succeeded" % name)
    except grpc.RpcError as e:
        good = e.code() == want and text in e.details()
        print(("PASS: %s" if good else "FAIL: %s: " + str(e.code()) + " " + e.details()) % name)
U = a.LinkSetRequest.State.Value("UP")
ok("LinkSet lo up", lambda: s.LinkSet(a.LinkSetRequest(name="lo", state=U), timeout=5))
ok("LinkSet v0 up with MTU", lambda: s.LinkSet(a.LinkSetRequest(name="v0", state=U, mtu=1400), timeout=5))
ok("AddrAdd v4", lambda: s.AddrAdd(a.AddrAddRequest(link="v0", cidr="10.99.0.2/24"), timeout=5))
ok("AddrAdd again is fine", lambda: s.AddrAdd(a.AddrAddRequest(link="v0", cidr="10.99.0.2/24"), timeout=5))
ok("AddrAdd v6", lambda: s.AddrAdd(a.AddrAddRequest(link="v0", cidr="fd00:99::2/64"), timeout=5))
ok("RouteAdd default", lambda: s.RouteAdd(a.RouteAddRequest(link="v0", gateway="10.99.0.1"), timeout=5))
ok("RouteAdd link scope", lambda: s.RouteAdd(a.RouteAddRequest(link="v0", destination="10.98.0.0/24"), timeout=5))
code("LinkSet of a missing link", lambda: s.LinkSet(a.LinkSetRequest(name="nope0", state=U), timeout=5),
     grpc.StatusCode.NOT_FOUND, "nope0")
code("AddrAdd of a bad CIDR", lambda: s.AddrAdd(a.AddrAddRequest(link="v0", cidr="10.1.2/99"), timeout=5),
     grpc.StatusCode.INVALID_ARGUMENT, "10.1.2/99")
code("RouteAdd without destination or gateway", lambda: s.RouteAdd(a.RouteAddRequest(link="v0"), timeout=5),
     grpc.StatusCode.INVALID_ARGUMENT, "destination or a gateway")
code("bad interface name", lambda: s.LinkSet(a.LinkSetRequest(name="a/b", state=U), timeout=5),
     grpc.StatusCode.INVALID_ARGUMENT, "invalid interface name")
PY

link=$(ip -n "$NS" -j link show v0)
check "v0 is up" bash -c "echo '$link' | jq -e '.[0].flags | index(\"UP\")' >/dev/null"
check "v0 has MTU 1400" [ "$(echo "$link" | jq '.[0].mtu')" = 1400 ]
addrs=$(ip -n "$NS" -j addr show v0)
check "v0 has 10.99.0.2/24" bash -c "echo '$addrs' | jq -e '.[0].addr_info[] | select(.local==\"10.99.0.2\" and .prefixlen==24)' >/dev/null"
check "v0 has fd00:99::2/64" bash -c "echo '$addrs' | jq -e '.[0].addr_info[] | select(.local==\"fd00:99::2\" and .prefixlen==64)' >/dev/null"
routes=$(ip -n "$NS" -j route show)
check "default route via 10.99.0.1" bash -c "echo '$routes' | jq -e '.[] | select(.dst==\"default\" and .gateway==\"10.99.0.1\" and .dev==\"v0\")' >/dev/null"
check "link-scope route to 10.98.0.0/24" bash -c "echo '$routes' | jq -e '.[] | select(.dst==\"10.98.0.0/24\" and .dev==\"v0\" and .scope==\"link\")' >/dev/null"
check "vminitd still serving" kill -0 $VPID
finish
