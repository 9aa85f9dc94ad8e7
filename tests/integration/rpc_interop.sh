#!/usr/bin/env bash
# The rpc module against python grpcio, both ways, over unix sockets:
# grpcio client -> our server (cz-rpc-testserver), our client (cz-rpc-testclient)
# -> grpcio server. Code for python is generated from tests/proto at test time.
. "$CZ_SRC/tests/lib.sh"
PY=/usr/bin/python3
TOOLS=$CZ_BUILD/tests/tools
mkdir -p "$T/py"
$PY -m grpc_tools.protoc -I"$CZ_SRC/tests/proto" -I"$CZ_SRC/proto" --python_out="$T/py" \
    --grpc_python_out="$T/py" rpctest.proto agent.proto || { fail "generate python code"; exit 1; }
export PYTHONPATH=$T/py
PEER="$CZ_SRC/tests/integration/rpc_peer.py"

# wait_sock PATH PID: the socket exists, or the process died.
wait_sock() {
    local i
    for i in $(seq 1 100); do
        [ -S "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# ---- python grpcio client -> our server
SOCK=$T/ours.sock
# No ASan quarantine: the memory bound below is about our buffers, not freed memory.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 CZ_RPC_DEBUG=1 \
    "$TOOLS/cz-rpc-testserver" --listen "$SOCK" 2>"$T/server.log" &
SPID=$!
on_exit "kill $SPID; wait $SPID"
if wait_sock "$SOCK" "$SPID"; then
    $PY "$PEER" client "$SOCK" "$T/server.log" "$SPID"
    $PY "$PEER" badinput "$SOCK"
    check "our server still running after all of it" kill -0 "$SPID"
else
    fail "our test server did not start: $(cat "$T/server.log")"
fi

# ---- our client -> python grpcio server
PSOCK=$T/py.sock
$PY "$PEER" server "$PSOCK" >"$T/pyserver.log" 2>&1 &
PPID_=$!
on_exit "kill $PPID_; wait $PPID_"
if ! wait_sock "$PSOCK" "$PPID_"; then
    fail "python server did not start: $(cat "$T/pyserver.log")"
    exit 1
fi
C="$TOOLS/cz-rpc-testclient $PSOCK"
out() { local o; o=$("$@" 2>&1); echo "$o"; }
expect_out() { # NAME EXPECTED CMD...
    local name=$1 want=$2; shift 2
    local got
    got=$("$@" 2>&1)
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name: got '$got', want '$want'"; fi
}
expect_out "client unary echo" "echo héllo 42" $C echo héllo
# grpcio compresses only what gets smaller: a long, repetitive text.
long="gzip-me$(head -c 4000 /dev/zero | tr '\0' x)"
got=$(CZ_RPC_DEBUG=1 $C echo "$long" 2>"$T/gz.log")
check "gzip-compressed reply is decoded" test "$got" = "echo $long 42"
check "the reply really was compressed" grep -q "inflated a gzip message" "$T/gz.log"
expect_out "client streaming sum" "sum 500500 messages 1" $C sum 1000 100
expect_out "server streaming count" "count 300 messages 300000 bytes" $C count 300 1000
expect_out "bidi chat interleaved" "chat 50 echoes sum 1275" $C chat 50 10
expect_out "status NOT_FOUND and message" \
    "status=NOT_FOUND: cz.rpctest.v1.Test/Fail: NOT_FOUND: gone: ü 100%" $C fail 2 "gone: ü 100%"
expect_out "status INVALID_ARGUMENT" \
    "status=INVALID_ARGUMENT: cz.rpctest.v1.Test/Fail: INVALID_ARGUMENT: bad" $C fail 22 bad
start=$(date +%s%N)
# Either side may notice first: our timer, or the server's DEADLINE_EXCEEDED.
expect_fail "deadline exceeded" "^status=DEADLINE_EXCEEDED: cz.rpctest.v1.Test/Sleep: DEADLINE_EXCEEDED: [Dd]eadline [Ee]xceeded$" \
    $C sleep 3000 200
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check "deadline exceeded promptly (${elapsed} ms)" test "$elapsed" -lt 2000
expect_out "call within its deadline" "sleep slept" $C sleep 50 5000
expect_out "reply near our receive limit" "big 16777152" $C big 16777152
expect_out "reply over our receive limit: RESOURCE_EXHAUSTED" \
    "status=RESOURCE_EXHAUSTED: cz.rpctest.v1.Test/Big: RESOURCE_EXHAUSTED: received message larger than max (16777226 vs. 16777216)" \
    $C big 16777216
expect_out "request over our send limit: RESOURCE_EXHAUSTED" \
    "status=RESOURCE_EXHAUSTED: cz.rpctest.v1.Test/Echo: request of 16777221 bytes exceeds the limit of 16777216 bytes" \
    $C send-big 16777216
expect_out "request near our send limit" "send-big 16000000" $C send-big 16000000
expect_out "slow reader gets everything (flow control)" "count 64 messages 67108864 bytes" \
    $C slow-count 64 1048576
kill "$PPID_"
wait "$PPID_" 2>/dev/null
expect_fail "server gone: connection error" "connect to .*py.sock" $C echo x
finish
