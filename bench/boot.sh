#!/usr/bin/env bash
# Boot speed under TCG here, through lib/vm (the command line and QEMU options containers
# get): QEMU start to vminitd's first console line (target: median under 0.35 s), against
# the floor, the same kernel with an init that prints a line and stops the VM (QEMU start to
# that line, and to QEMU's exit). Medians of N interleaved runs. Also the sizes of what boots.
# Updates the "boot" section of bench/RESULTS.md.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
N=${N:-11}
tool=$CZ_BUILD/tests/tools/cz-agent-bench
kernel=$CZ_BUILD/kernel/vmlinux
work=$(mktemp -d /tmp/cz-bench-boot-XXXXXX)
trap 'rm -rf "$work"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
vminitd=() floor_line=() floor_exit=() vminitd_cpu=() floor_cpu=()
for i in $(seq 1 "$N"); do
    out=$("$tool" --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" \
        --marker "vminitd: serving" "$work")
    vminitd+=("$(field marker_s "$out")") vminitd_cpu+=("$(field marker_cpu_s "$out")")
    out=$("$tool" --kernel "$kernel" --floor "$CZ_BUILD/kernel/floor.cpio" \
        --marker "cz-floor-init: hello" "$work")
    floor_line+=("$(field marker_s "$out")") floor_cpu+=("$(field marker_cpu_s "$out")")
    out=$("$tool" --kernel "$kernel" --floor "$CZ_BUILD/kernel/floor.cpio" "$work")
    floor_exit+=("$(field floor_exit_s "$out")")
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
mv=$(median "${vminitd[@]}") ml=$(median "${floor_line[@]}") me=$(median "${floor_exit[@]}")
mvc=$(median "${vminitd_cpu[@]}") mlc=$(median "${floor_cpu[@]}")
minmax() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- ; }
cmdline=$(cat "$CZ_SRC/kernel/cmdline.txt" | grep -v '^#' | grep -v '^$' | cut -d' ' -f1 | paste -sd' ')
kib() { echo $(( ($(stat -L -c %s "$1") + 1023) / 1024 )); }
table=$(cat <<TABLE
## boot (bench/boot.sh)

$(date -u '+%F %H:%M') UTC, TCG, \`-m 256\`, 1 vCPU, through lib/vm (microvm, PVH vmlinux);
median of $N interleaved runs each; load average before: $load0, after: $load1
(2 cores shared with other jobs: wall-clock times move with the load; the CPU time QEMU used
until the line, all its threads, 10 ms ticks, moves much less).
Command line: \`$cmdline\` (kernel/cmdline.txt explains each word).

| measure | median | min-max | QEMU CPU time |
|---|---:|---:|---:|
| QEMU start to vminitd's first console line (target under 0.35 s) | ${mv} s | $(minmax "${vminitd[@]}") | ${mvc} s |
| floor: QEMU start to the floor init's line | ${ml} s | $(minmax "${floor_line[@]}") | ${mlc} s |
| floor: QEMU start to QEMU exit | ${me} s | $(minmax "${floor_exit[@]}") | |
| vminitd's line / floor init's line | $(ratio "$mv" "$ml") | | $(ratio "$mvc" "$mlc") |

Target in this run: vminitd's line under 0.35 s median $(verdict "$mv" lt 0.35).

Sizes: vmlinux $(kib "$kernel") KiB (uncompressed, PVH), bzImage $(kib "$CZ_BUILD/kernel/bzImage") KiB,
initfs.cpio $(kib "$CZ_BUILD/guest/initfs.cpio") KiB, vminitd $(kib "$CZ_BUILD/guest/init.stripped") KiB
(static, stripped).
TABLE
)
echo "$table"
update_results "boot (bench/boot.sh)" "$table"
