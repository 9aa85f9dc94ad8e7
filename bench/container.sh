#!/usr/bin/env bash
# Containers end to end, under the accelerator this machine gives (TCG here), in one run:
#   - `container run --rm IMAGE true` (image imported and snapshotted beforehand, the VM
#     template of its layout made: docs/vm.md "Templates"), and the same booting
#     (CZ_VM_TEMPLATE=0), against the floor: QEMU booting the same kernel with the same -m/-smp and an init that
#     stops the VM at once (cz-agent-bench --floor); medians of N interleaved runs;
#   - `container exec` latency in a running container (median of N);
#   - host memory of one idle container (container-runtime + its QEMU) against QEMU
#     alone with the same -m booting the same kernel and initfs, idle;
#   - 20 containers started side by side: how many start, how long, total RSS.
# Updates the "container" section of bench/RESULTS.md.
set -euo pipefail
: "${CZ_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${CZ_BUILD:=$CZ_SRC/build}"
. "$CZ_SRC/bench/lib.bash"
N=${N:-11}
MANY=${MANY:-20}
bin=$CZ_BUILD/bin/container
tool=$CZ_BUILD/tests/tools/cz-agent-bench
work=$(mktemp -d /tmp/cz-bench-run-XXXXXX)
export CONTAINER_ROOT=$work/root CONTAINER_RUN_DIR=$work/run
vmpid=
cleanup() {
    for id in $("$bin" ls -aq 2>/dev/null); do "$bin" rm -f "$id" >/dev/null 2>&1 || true; done
    [ -n "$vmpid" ] && kill "$vmpid" 2>/dev/null && wait "$vmpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/rootfs/bin"
cp /bin/busybox "$work/rootfs/bin/"
for a in sh true sleep dd rm; do ln -s busybox "$work/rootfs/bin/$a"; done
"$bin" image import -c 'CMD ["/bin/sh"]' "$work/rootfs" bench/run:1 >/dev/null
M=(-m 256M --cpus 1)
"$bin" run --rm "${M[@]}" bench/run:1 true # builds the snapshot; marks the VM layout seen
"$bin" run --rm "${M[@]}" bench/run:1 true # builds the layout's VM template

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- run --rm true against the floor
runs=() colds=() floors=()
for i in $(seq 1 "$N"); do
    t0=$(now)
    "$bin" run --rm "${M[@]}" bench/run:1 true
    t1=$(now)
    runs+=("$(echo "$t0 $t1" | awk '{printf "%.4f", $2-$1}')")
    t0=$(now)
    CZ_VM_TEMPLATE=0 "$bin" run --rm "${M[@]}" bench/run:1 true
    t1=$(now)
    colds+=("$(echo "$t0 $t1" | awk '{printf "%.4f", $2-$1}')")
    # (the tool's VM: 256 MiB, 1 vCPU, like M)
    out=$("$tool" --kernel "$CZ_BUILD/kernel/vmlinux" --floor "$CZ_BUILD/kernel/floor.cpio" \
        --cpus 1 "$work")
    floors+=("$(field floor_exit_s "$out")")
done
mr=$(median "${runs[@]}") mc=$(median "${colds[@]}") mf=$(median "${floors[@]}")

# --- exec latency, and the memory of an idle container
"$bin" run -d "${M[@]}" --tmpfs /scratch:size=200m --name idle bench/run:1 sleep 100000 >/dev/null
"$bin" exec idle true # first exec warms the guest's page cache
execs=()
for i in $(seq 1 "$N"); do
    t0=$(now)
    "$bin" exec idle true
    t1=$(now)
    execs+=("$(echo "$t0 $t1" | awk '{printf "%.4f", ($2-$1)*1000}')")
done
me=$(median "${execs[@]}")
sleep 2
rpid=$("$bin" inspect idle | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["RuntimePid"])')
qpid=$(awk '{print $1}' "/proc/$rpid/task/$rpid/children")
rt_rss=$(rss_kb "$rpid") q_rss=$(rss_kb "$qpid")
# a burst: 160 MiB written to a tmpfs and deleted; free page reporting gives it back
"$bin" exec idle dd if=/dev/zero of=/scratch/burst bs=1M count=160 2>/dev/null
burst_rss=$(rss_kb "$qpid")
"$bin" exec idle rm /scratch/burst
back_s=
for i in $(seq 1 60); do
    sleep 0.5
    if [ "$(rss_kb "$qpid")" -le $((q_rss + 16384)) ]; then
        back_s=$(echo "$i" | awk '{printf "%.1f", $1 * 0.5}')
        break
    fi
done
after_rss=$(rss_kb "$qpid")
"$bin" rm -f idle >/dev/null
# the same idle container booted instead of restored from its template: QEMU alone below
# boots too, so this pair compares like with like
CZ_VM_TEMPLATE=0 "$bin" run -d "${M[@]}" --name idleboot bench/run:1 sleep 100000 >/dev/null
"$bin" exec idleboot true
sleep 2
bpid=$("$bin" inspect idleboot | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["RuntimePid"])')
bqpid=$(awk '{print $1}' "/proc/$bpid/task/$bpid/children")
brt_rss=$(rss_kb "$bpid") bq_rss=$(rss_kb "$bqpid")
"$bin" rm -f idleboot >/dev/null
# QEMU alone: same kernel, initfs and -m, vminitd idle (nobody connects)
mkdir -p "$work/alone"
"$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" \
    --initrd "$CZ_BUILD/guest/initfs.cpio" --memory 256 --wait-exit --timeout 120 \
    "$work/alone" >"$work/alone.out" 2>&1 &
vmpid=$!
sleep 6
aq=$(awk '{print $1}' "/proc/$vmpid/task/$vmpid/children" 2>/dev/null || true)
alone_rss=$(rss_kb "${aq:-0}")
kill "$vmpid" 2>/dev/null
wait "$vmpid" 2>/dev/null || true
vmpid=
overhead_kb=$((rt_rss + q_rss - alone_rss))
boot_overhead_kb=$((brt_rss + bq_rss - alone_rss))

# --- many containers side by side (their VM layout's template made first, as for run)
"$bin" run --rm -m 128M --cpus 1 bench/run:1 true
"$bin" run --rm -m 128M --cpus 1 bench/run:1 true
t0=$(now)
pids=()
for i in $(seq 1 "$MANY"); do
    "$bin" run -d -m 128M --cpus 1 --name "many$i" bench/run:1 sleep 100000 >/dev/null 2>"$work/many$i.err" &
    pids+=($!)
done
started=0
for p in "${pids[@]}"; do wait "$p" && started=$((started + 1)); done
t1=$(now)
many_s=$(echo "$t0 $t1" | awk '{printf "%.1f", $2-$1}')
total_kb=0
for id in $("$bin" ls -q); do
    r=$("$bin" inspect "$id" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["RuntimePid"])')
    q=$(awk '{print $1}' "/proc/$r/task/$r/children" 2>/dev/null || echo 0)
    total_kb=$((total_kb + $(rss_kb "$r") + $(rss_kb "${q:-0}")))
done
for id in $("$bin" ls -aq); do "$bin" rm -f "$id" >/dev/null 2>&1 || true; done

load=$(cut -d' ' -f1-3 /proc/loadavg)
table=$(cat <<TABLE
## container (bench/container.sh)

$(date -u +%F), accelerator $("$bin" system info | awk -F': *' '/^Accelerator/{print $2}'),
\`-m 256M --cpus 1\`, medians of $N interleaved runs; load average at the end: $load.

| measure | value | target |
|---|---:|---|
| \`container run --rm IMAGE true\` (the VM restored from its template) | ${mr} s | |
| the same, booting the VM (\`CZ_VM_TEMPLATE=0\`) | ${mc} s | |
| floor: QEMU start to exit, same kernel, init that stops at once | ${mf} s | |
| run / floor | $(ratio "$mr" "$mf") | at most 1.3 |
| run booting / floor | $(ratio "$mc" "$mf") | |
| \`container exec CONTAINER true\` | ${me} ms | under 50 ms |
| idle container: container-runtime RSS | $((rt_rss / 1024)) MiB ($rt_rss kB) | |
| idle container: its QEMU RSS | $((q_rss / 1024)) MiB | |
| QEMU alone, same -m, kernel and initfs, idle | $((alone_rss / 1024)) MiB | |
| overhead of our processes (runtime + QEMU - QEMU alone) | $((overhead_kb / 1024)) MiB ($overhead_kb kB) | under 8 MiB |
| the same, the container booted (\`CZ_VM_TEMPLATE=0\`): runtime $((brt_rss / 1024)) MiB + QEMU $((bq_rss / 1024)) MiB - QEMU alone | $((boot_overhead_kb / 1024)) MiB ($boot_overhead_kb kB) | |
| the idle container's QEMU after writing 160 MiB to a tmpfs | $((burst_rss / 1024)) MiB | |
| ...after deleting it (free page reporting) | $((after_rss / 1024)) MiB${back_s:+, back within ${back_s} s} | |
| $MANY containers started side by side (\`-m 128M\`) | $started started in ${many_s} s | |
| their total RSS (runtimes + QEMUs) | $((total_kb / 1024)) MiB | |

Where a run's time goes (\`container --debug run\`: runtime.log, and vminitd's per-call times
in \`logs --boot\`; 2026-11-30 06:25, load ~0.5), with the VM restored from its template
(docs/vm.md "Templates"): CLI and runtime start ~10 ms; from the runtime's start to the
agent's first answer 68 ms (QEMU up ~25 ms, loading the saved state ~27 ms: the template's
RAM, ~32 MiB, is copied in); the setup batch 91 ms (\`Restored\` 13 ms: reseed and drop the
disks' cached blocks; the three mounts 46 ms, mkdirs 8 ms, eth0 up 12 ms); CreateProcess
43 ms; StartProcess 16 ms; the process running and reaped 32 ms; teardown ~20 ms. Booting
instead (the "booting" row) spends 0.28-0.35 s before the agent's first answer. The
template itself is made once per layout by its second container (a boot to ready, then
QEMU saves the VM: 0.30-0.34 s; 0.56 s for that run; the first container of a layout only
boots). Under TCG every first run of a guest
kernel path is translated, so mounts and namespace setup cost tens of ms each.
The memory rows: the container's QEMU did not run the guest's boot (the template did), so
TCG translated less; its guest RAM holds the template's pages plus the container's own. The
template's state file (~32 MiB for -m 256M) lives in the run directory, once per layout.
Booted instead (the row with \`CZ_VM_TEMPLATE=0\`, like with like against QEMU alone, which
boots too), the container's QEMU holds ~26 MiB more than QEMU alone: not our processes' but
the guest's doing under TCG: the code the guest ran beyond its boot (mounts, overlay, the
network, namespaces, the process) is translated and kept in TCG's translation buffer, and
the guest's page cache holds the image's files (earlier perf and smaps measurements: the
translation buffer 38 vs 20 MiB resident, guest RAM 48 vs 40 MiB). The default path is the
restored one.
Free page reporting (virtio-balloon) returns what the guest frees (the burst rows), not what
it still holds; for it, the template's RAM is copied into each VM rather than mapped from one
shared file (QEMU 7.2 would punch the freed pages out of the shared file).
TABLE
)
echo "$table"
update_results "container (bench/container.sh)" "$table"
