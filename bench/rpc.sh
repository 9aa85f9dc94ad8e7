#!/usr/bin/env bash
# rpc benchmark: unary round-trip latency and server-streaming throughput over a
# unix socket, for each client/server pairing of our rpc module and python grpcio
# (the reference peer), measured in one run. Prints a markdown table.
# Each cell is the median of REPEAT runs (the machine is shared: medians tame the noise).
# Usage: bench/rpc.sh [BUILD_DIR] [UNARY_CALLS] [STREAM_MIB] [REPEAT]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
calls=${2:-5000}
mib=${3:-512}
repeat=${4:-3}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/cz-bench-rpc-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/py"
$PY -m grpc_tools.protoc -I"$src/tests/proto" --python_out="$T/py" --grpc_python_out="$T/py" rpctest.proto
export PYTHONPATH=$T/py
PEER=$src/tests/integration/rpc_peer.py

wait_sock() { for _ in $(seq 1 200); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "no socket $1" >&2; return 1; }

"$build/tests/tools/cz-rpc-testserver" --listen "$T/ours.sock" 2>/dev/null & pids+=($!)
$PY "$PEER" server "$T/py.sock" >/dev/null 2>&1 & pids+=($!)
wait_sock "$T/ours.sock"; wait_sock "$T/py.sock"

ours_client() { # SOCK -> "us_per_call MiB_per_s"
    local u s
    u=$("$build/tests/tools/cz-rpc-testclient" "$1" bench-unary "$calls" | awk '{print $6}')
    s=$("$build/tests/tools/cz-rpc-testclient" "$1" bench-stream "$mib" | awk '{print $6}')
    echo "$u $s"
}
py_client() {
    $PY "$PEER" bench "$1" "$calls" "$mib" | awk '/^unary/{u=$6} /^stream/{s=$6} END{print u, s}'
}
# median CMD...: runs CMD $repeat times; prints the median of each of its two columns.
median() {
    local i out m
    out=$(for i in $(seq 1 "$repeat"); do "$@"; done)
    m=$(( (repeat + 1) / 2 ))
    echo "$(echo "$out" | cut -d' ' -f1 | sort -g | sed -n "${m}p")" \
        "$(echo "$out" | cut -d' ' -f2 | sort -g | sed -n "${m}p")"
}
read -r oo_u oo_s < <(median ours_client "$T/ours.sock")
read -r po_u po_s < <(median py_client "$T/ours.sock")
read -r op_u op_s < <(median ours_client "$T/py.sock")
read -r pp_u pp_s < <(median py_client "$T/py.sock")

echo "unix socket, $calls unary Echo calls (tiny messages), server-streaming $mib MiB in 64 KiB messages, median of $repeat runs"
echo
echo "| client -> server | unary round trip (us) | stream (MiB/s) |"
echo "|---|---:|---:|"
echo "| ours -> ours | $oo_u | $oo_s |"
echo "| python grpcio -> ours | $po_u | $po_s |"
echo "| ours -> python grpcio | $op_u | $op_s |"
echo "| python grpcio -> python grpcio | $pp_u | $pp_s |"
echo
awk -v a="$oo_u" -v b="$pp_u" -v c="$oo_s" -v d="$pp_s" 'BEGIN{printf "ours<->ours vs python<->python: latency %.2fx lower, throughput %.2fx higher\n", b/a, c/d}'
