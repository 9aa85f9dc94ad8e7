#!/usr/bin/env bash
# vminitd waiting for its host on the virtio-serial port (a template VM before its restore, a
# VM whose runtime restarts): how soon a host that connects gets its first answer, and how
# often an idle vminitd wakes up meanwhile. Under TCG here, N rounds per VM: the host closes
# its connection, stays away IDLE seconds, connects again and times connect to the first
# reply (Stat); vminitd's wakeups are the growth of its context switches (/proc/1/status)
# between the last call of one session and the first of the next.
# BASE_INITFS=PATH also measures another initfs (e.g. one built from an older commit) in the
# same run, interleaved, for a side-by-side comparison.
# Updates the "agent_wake" section of bench/RESULTS.md.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
N=${N:-15}
IDLE=${IDLE:-1.0}
VMS=${VMS:-3}
work=$(mktemp -d /tmp/cz-bench-wake-XXXXXX)
pids=()
cleanup() {
    # (VMs that already stopped are fine: the script's status is the benchmark's)
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
/usr/bin/python3 -m grpc_tools.protoc -I"$CZ_SRC/proto" --python_out="$work" \
    --grpc_python_out="$work" agent.proto

cat >"$work/wake.py" <<'PY'
import sys, time, grpc
import agent_pb2 as a, agent_pb2_grpc as g
sock, rounds, idle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def switches(s):
    text = s.ReadFile(a.ReadFileRequest(path="/proc/1/status"), timeout=30).data.decode()
    return sum(int(l.split()[1]) for l in text.splitlines() if l.endswith("ctxt_switches")
               or "ctxt_switches:" in l)
ch = grpc.insecure_channel("unix:" + sock)
s = g.AgentStub(ch)
s.Stat(a.StatRequest(path="/init"), timeout=60, wait_for_ready=True)
last = switches(s)
for i in range(rounds):
    ch.close()
    time.sleep(idle)
    t0 = time.perf_counter()
    ch = grpc.insecure_channel("unix:" + sock)
    s = g.AgentStub(ch)
    s.Stat(a.StatRequest(path="/init"), timeout=60, wait_for_ready=True)
    ms = (time.perf_counter() - t0) * 1e3
    now = switches(s)
    print("reconnect_ms %.2f" % ms)
    print("wakeups_per_s %.1f" % ((now - last) / idle))
    last = switches(s)
s.Shutdown(a.ShutdownRequest(), timeout=30)
PY

# run_vm INITFS OUT: boot a VM with that initfs and run the rounds.
run_vm() {
    local dir=$work/run$RANDOM
    mkdir -p "$dir"
    "$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" --initrd "$1" \
        --wait-exit --timeout 600 "$dir" >"$dir/boot.out" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for i in $(seq 1 500); do [ -S "$dir/agent.sock" ] && break; sleep 0.02; done
    PYTHONPATH=$work /usr/bin/python3 "$work/wake.py" "$dir/agent.sock" "$N" "$IDLE" >>"$2"
    wait "$pid" || true
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/new" >"$work/base"
for v in $(seq 1 "$VMS"); do
    run_vm "$CZ_BUILD/guest/initfs.cpio" "$work/new"
    [ -n "${BASE_INITFS:-}" ] && run_vm "$BASE_INITFS" "$work/base"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
col() { awk -v k="$1" '$1==k{print $2}' "$2"; }
row() { # row FILE LABEL
    local r w
    r=$(median $(col reconnect_ms "$1")) w=$(median $(col wakeups_per_s "$1"))
    local rmin rmax
    rmin=$(col reconnect_ms "$1" | sort -g | head -1) rmax=$(col reconnect_ms "$1" | sort -g | tail -1)
    echo "| $2 | $r ms ($rmin to $rmax) | $w |"
}
rows=$(row "$work/new" "this build: SIGIO wake, 100 ms fallback poll")
[ -n "${BASE_INITFS:-}" ] && rows+=$'\n'$(row "$work/base" "base: ${BASE_LABEL:-$BASE_INITFS}")
table=$(cat <<TABLE
## agent_wake (bench/agent_wake.sh)

$(date -u '+%F %H:%M') UTC, TCG, \`-m 256\`, 1 vCPU, through lib/vm; $VMS VMs per build, $N
rounds each: the host stays away ${IDLE} s, then connects and calls Stat (python grpcio over
QEMU's unix socket); load average before: $load0, after: $load1.

| vminitd | host connect to first reply: median (min to max) | vminitd wakeups per idle second (context switches, median) |
|---|---:|---:|
$rows
TABLE
)
echo "$table"
update_results "agent_wake (bench/agent_wake.sh)" "$table"
