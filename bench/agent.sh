#!/usr/bin/env bash
# The guest agent, under TCG here, side by side in one run (N interleaved rounds):
#  (a) QEMU start to vminitd answering its first call, against (b) the floor, the same
#      kernel with an init that stops the VM at once (QEMU start to QEMU exit);
#  the unary round trip over the agent channel (virtio-serial);
#  stdout throughput of a process in the VM (busybox dd on an ext4 root), with direct output
#      (the process writes into the port cz.out, the host reads its socket: how `container
#      run` carries a container's output) and through the Stdio stream (pipes that vminitd
#      forwards: exec, terminals), against the raw channel (the same dd writing straight into
#      the virtio-serial port cz.agent from a bare init, the host reading the socket);
#  vminitd's memory after all that (/proc/1/smaps_rollup: exact, unlike status's counters);
#  a unary round trip while a process in the VM spins, and the Stdio run and that round
#      trip again with vminitd --sched-batch (opt-in, docs/vminitd.md).
# Targets: (a) at most 1.15x (b); stdio at least 0.5x raw; vminitd RSS under 4 MiB.
# Every VM has the ports cz.out and cz.err, as the runtime's VMs do (--output-ports).
# Updates the "agent" section of bench/RESULTS.md.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
N=${N:-9}
MIB=${MIB:-64}
tool=$CZ_BUILD/tests/tools/cz-agent-bench
kernel=$CZ_BUILD/kernel/vmlinux
work=$(mktemp -d /tmp/cz-bench-agent-XXXXXX)
trap 'rm -rf "$work"' EXIT
bytes=$((MIB * 1024 * 1024))

# The raw writer: a bare init that finds the cz.agent port and dd's into it, then waits
# (the host stops the VM once every byte arrived: a reset could drop buffered bytes).
cat >"$work/raw-init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t sysfs sys /sys
for p in /sys/class/virtio-ports/*; do
    [ "\$(/bin/busybox cat \$p/name)" = cz.agent ] && port=/dev/\${p##*/}
done
/bin/busybox dd if=/dev/zero of=\$port bs=65536 count=$((bytes / 65536)) 2>/dev/null
exec /bin/busybox sleep 2147483647 # PID 1 must not exit; the host stops the VM
INIT
printf '%s\n' 'dir /dev 0755' 'nod /dev/console 0600 c 5 1' 'dir /sys 0755' 'dir /bin 0755' \
    'file /bin/busybox /bin/busybox 0755' "file /init $work/raw-init 0755" |
    "$CZ_BUILD/kernel/mkcpio" - "$work/raw.cpio"
# The process's root: an ext4 disk with the same static busybox.
mkdir -p "$work/root/bin" "$work/root/dev" "$work/root/proc"
cp /bin/busybox "$work/root/bin/"
mke2fs -q -t ext4 -d "$work/root" "$work/root.ext4" 16M >/dev/null 2>&1

load0=$(cut -d' ' -f1-3 /proc/loadavg)
first=() floor=() first_cpu=() floor_cpu=() unary=() stdio=() raw=() rss=() hwm=() anon=()
vuser=() vsys=() hostcpu=() busy=() bstdio=() bbusy=() stdio2=() raw2=() direct=() direct2=()
for i in $(seq 1 "$N"); do
    out=$("$tool" --output-ports --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" --calls 200 \
        --stdio-root "$work/root.ext4" --bytes "$bytes" "$work")
    first+=("$(field first_call_s "$out")") unary+=("$(field unary_us "$out")")
    first_cpu+=("$(field first_call_cpu_s "$out")")
    stdio+=("$(field stdio_mib_s "$out")") rss+=("$(field vminitd_rss_kb "$out")")
    hwm+=("$(field vminitd_hwm_kb "$out")") anon+=("$(field vminitd_anon_kb "$out")")
    vuser+=("$(field vminitd_user_s "$out")") vsys+=("$(field vminitd_sys_s "$out")")
    hostcpu+=("$(field stdio_client_cpu_s "$out")") busy+=("$(field unary_busy_us "$out")")
    out=$("$tool" --output-ports --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" --calls 200 \
        --cmdline --sched-batch --stdio-root "$work/root.ext4" --bytes "$bytes" "$work")
    bstdio+=("$(field stdio_mib_s "$out")") bbusy+=("$(field unary_busy_us "$out")")
    out=$("$tool" --output-ports --kernel "$kernel" --floor "$CZ_BUILD/kernel/floor.cpio" \
        --stdio-root "$work/root.ext4" "$work")
    floor+=("$(field floor_exit_s "$out")") floor_cpu+=("$(field floor_cpu_s "$out")")
    out=$("$tool" --output-ports --kernel "$kernel" --raw "$work/raw.cpio" --bytes "$bytes" \
        --stdio-root "$work/root.ext4" "$work")
    raw+=("$(field raw_mib_s "$out")")
    out=$("$tool" --direct --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" \
        --calls 1 --stdio-root "$work/root.ext4" --bytes "$bytes" "$work")
    direct+=("$(field stdio_mib_s "$out")")
    # the same two with 2 vCPUs (the CLI's default): the writer and the forwarder can overlap
    out=$("$tool" --output-ports --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" --cpus 2 \
        --stdio-root "$work/root.ext4" --bytes "$bytes" "$work")
    stdio2+=("$(field stdio_mib_s "$out")")
    out=$("$tool" --output-ports --kernel "$kernel" --raw "$work/raw.cpio" --cpus 2 --bytes "$bytes" \
        --stdio-root "$work/root.ext4" "$work")
    raw2+=("$(field raw_mib_s "$out")")
    out=$("$tool" --direct --kernel "$kernel" --initrd "$CZ_BUILD/guest/initfs.cpio" --cpus 2 \
        --calls 1 --stdio-root "$work/root.ext4" --bytes "$bytes" "$work")
    direct2+=("$(field stdio_mib_s "$out")")
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
mf=$(median "${first[@]}") mfl=$(median "${floor[@]}") mu=$(median "${unary[@]}")
mfc=$(median "${first_cpu[@]}") mflc=$(median "${floor_cpu[@]}")
ms=$(median "${stdio[@]}") mr=$(median "${raw[@]}")
ms2=$(median "${stdio2[@]}") mr2=$(median "${raw2[@]}")
md=$(median "${direct[@]}") md2=$(median "${direct2[@]}")
mbusy=$(median "${busy[@]}") mbs=$(median "${bstdio[@]}") mbbusy=$(median "${bbusy[@]}")
mvu=$(median "${vuser[@]}") mvs=$(median "${vsys[@]}") mhc=$(median "${hostcpu[@]}")
mrss=$(median "${rss[@]}") mhwm=$(median "${hwm[@]}") manon=$(median "${anon[@]}")
table=$(cat <<TABLE
## agent (bench/agent.sh)

$(date -u '+%F %H:%M') UTC, TCG, \`-m 256\`, 1 vCPU, through lib/vm; median of $N interleaved
rounds (agent VM, agent VM with \`--sched-batch\`, floor VM, raw-channel VM, agent VM with
direct output, and with 2 vCPUs again; each with the same read-only ext4 disk and the ports
cz.out and cz.err attached);
load average before: $load0, after: $load1
(2 cores shared with other jobs; QEMU's CPU time, all threads, moves less with the load).
Throughputs: $MIB MiB, counted on the host from the first
byte to the last. vminitd is static and stripped ($(stat -c %s "$CZ_BUILD/guest/init.stripped") bytes).

| measure | value | QEMU CPU time | target |
|---|---:|---:|---|
| (a) QEMU start to vminitd answering its first call (Stat) | ${mf} s | ${mfc} s | |
| (b) floor: QEMU start to exit, init that stops at once | ${mfl} s | ${mflc} s | |
| (a)/(b) | $(ratio "$mf" "$mfl") | $(ratio "$mfc" "$mflc") | at most 1.15 |
| unary round trip over virtio-serial (Stat), mean of 200 | ${mu} us | | |
| stdout of \`busybox dd bs=64k\` in the VM, direct output (into cz.out; \`container run\`) | ${md} MiB/s | | |
| the same through the Stdio stream (a pipe vminitd forwards; exec, terminals) | ${ms} MiB/s | | |
| vminitd's CPU time for those $MIB MiB (user / system, USER_HZ ticks) | ${mvu} s / ${mvs} s | | |
| the host client's CPU time for them (lib/rpc receiving) | ${mhc} s | | |
| raw channel: the same dd into the virtio-serial port | ${mr} MiB/s | | |
| direct output / raw | $(ratio "$md" "$mr") | | at least 0.5 |
| Stdio stream / raw | $(ratio "$ms" "$mr") | | |
| with 2 vCPUs: direct output, Stdio / raw channel | ${md2}, ${ms2} / ${mr2} MiB/s = $(ratio "$md2" "$mr2"), $(ratio "$ms2" "$mr2") | | |
| unary round trip while a process in the VM spins (mean of 200) | ${mbusy} us | | |
| with \`vminitd --sched-batch\` (opt-in; processes inherit SCHED_BATCH): Stdio | ${mbs} MiB/s ($(ratio "$mbs" "$mr") of raw) | | |
| with \`--sched-batch\`: unary round trip while a process spins | ${mbbusy} us | | |
| vminitd RSS after the Stdio run (smaps_rollup; peak VmHWM) | ${mrss} kB (${mhwm} kB) | | under 4096 kB |
| of which anonymous; the rest is its text, shared with the initramfs | ${manon} kB | | |

Targets in this run: (a)/(b) $(verdict "$(ratio "$mf" "$mfl")" le 1.15); stdout/raw
$(verdict "$(ratio "$md" "$mr")" ge 0.5) (direct output: a container's process, as \`container run\`
starts it; docs/vminitd.md "Direct output"); vminitd RSS $(verdict "$mrss" lt 4096). The Stdio
stream, which exec'd processes and terminals use, stays near a quarter of the raw channel
(docs/kernel.md says where its time goes).
TABLE
)
echo "$table"
update_results "agent (bench/agent.sh)" "$table"
