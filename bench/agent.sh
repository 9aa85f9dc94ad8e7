#!/usr/bin/env bash
# The guest, under TCG here: (a) QEMU start to vminitd answering its first call
# against (b) the floor, the same kernel with an init that stops the VM at once
# (QEMU start to QEMU exit); the unary round trip over the agent channel;
# vminitd's memory. Medians of N runs each, interleaved, ratio from one run.
# Updates the "agent" section of bench/RESULTS.md.
set -euo pipefail
: "${CZ_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${CZ_BUILD:=$CZ_SRC/build}"
N=${N:-11}
tool=$CZ_BUILD/tests/tools/cz-agent-bench
kernel=$CZ_BUILD/kernel/vmlinux
work=$(mktemp -d /tmp/cz-bench-agent-XXXXXX)
trap 'rm -rf "$work"' EXIT
first=() floor=() unary=() vmsize=()
for i in $(seq 1 "$N"); do
    out=$("$tool" --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" --calls 200 "$work")
    first+=("$(echo "$out" | awk '/^first_call_s/{print $2}')")
    unary+=("$(echo "$out" | awk '/^unary_us/{print $2}')")
    vmsize+=("$(echo "$out" | awk '/^vminitd_vmsize_kb/{print $2}')")
    out=$("$tool" --kernel "$kernel" --floor "$CZ_BUILD/kernel/floor.cpio" "$work")
    floor+=("$(echo "$out" | awk '/^floor_exit_s/{print $2}')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mf=$(median "${first[@]}") mfl=$(median "${floor[@]}") mu=$(median "${unary[@]}") mv=$(median "${vmsize[@]}")
ratio=$(echo "$mf $mfl" | awk '{printf "%.2f", $1/$2}')
load=$(cut -d' ' -f1-3 /proc/loadavg)
table=$(cat <<TABLE
## agent (bench/agent.sh)

$(date -u +%F), TCG, \`-m 256\`, 1 vCPU, median of $N interleaved runs each; load average at
the end: $load. vminitd is static and stripped ($(stat -c %s "$CZ_BUILD/guest/init.stripped") bytes).

| measure | value |
|---|---:|
| (a) QEMU start to vminitd answering its first call | ${mf} s |
| (b) floor: QEMU start to exit, init that stops at once | ${mfl} s |
| (a)/(b) (target at most 1.15) | ${ratio} |
| unary round trip over virtio-serial (Stat), mean of 200 | ${mu} us |
| vminitd mapped memory (VmSize; its pages live in the initramfs) | ${mv} kB |

Stdout throughput of a process in the VM against the raw channel waits for process
support in vminitd.
TABLE
)
echo "$table"
results=$CZ_SRC/bench/RESULTS.md
/usr/bin/python3 - "$results" "$table" <<'PY'
import re, sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read() if __import__("os").path.exists(path) else "# Benchmark results\n"
pat = re.compile(r"^## agent \(bench/agent\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(table.strip() + "\n\n", text) if pat.search(text) else text.rstrip() + "\n\n" + table.strip() + "\n"
open(path, "w").write(text)
PY
