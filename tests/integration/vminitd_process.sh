# vminitd's process methods on the host: vminitd runs as an ordinary root
# process serving a unix socket (each container it makes gets its own pid,
# mount, UTS and IPC namespaces from lib/ocirt), python grpcio drives it:
# stdio, exit codes, stdin, a pty with a resize, signals, exec, errors.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
mkdir -p "$T/py" "$T/rootfs/bin" "$T/rootfs/proc" "$T/rootfs/dev" "$T/rootfs/tmp"
$PY -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$T/py" --grpc_python_out="$T/py" \
    agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py
cp /bin/busybox "$T/rootfs/bin/"
for a in sh cat echo sleep hostname stty tty true; do ln -s busybox "$T/rootfs/bin/$a"; done

SOCK=$T/agent.sock
"$CZ_BUILD/guest/vminitd" --listen "unix:$SOCK" 2>"$T/vminitd.log" &
VPID=$!
on_exit "kill $VPID; wait $VPID"
for i in $(seq 1 200); do [ -S "$SOCK" ] && break; sleep 0.01; done
$PY "$CZ_SRC/tests/integration/vminitd_process.py" "$SOCK" "$T/rootfs" || fail "the process suite ended with an error"
# Direct output needs the VM's ports cz.out/cz.err: here there are none
PYTHONPATH=$PYTHONPATH:$CZ_SRC/tests/integration $PY - "$SOCK" "$T/rootfs" <<'PY'
import sys, grpc, agent_pb2 as a, agent_pb2_grpc as g
from vminitd_process import expect_code, spec
s = g.AgentStub(grpc.insecure_channel("unix:" + sys.argv[1]))
expect_code("direct output without the VM's ports",
            lambda: s.CreateProcess(a.CreateProcessRequest(
                id="nd1", oci_spec_json=spec(sys.argv[2], ["/bin/true"]),
                stdio=a.StdioOptions(stdout=True, direct_output=True)), timeout=20),
            grpc.StatusCode.FAILED_PRECONDITION, "no port cz.out")
PY
check "vminitd survived the suite" kill -0 $VPID
check "no container mounts left on the host" bash -c "! grep -q '$T/rootfs' /proc/mounts"
finish
