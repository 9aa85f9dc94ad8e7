# Guest disk throughput through virtio-blk (virtio-mmio, the disk's file in the host's page
# cache), with the virtqueues capped at 128 entries (kernel/patches/0001, our default:
# virtio_mmio.queue_max) against QEMU's own 1024 (virtio_mmio.queue_max=1024). The VM runs
# a busybox init that reads one disk and writes another with O_DIRECT (dd), timed by the
# guest's clock, then reboots (QEMU exits: -no-reboot). Interleaved rounds, medians.
#   bench/disk.sh (through bench/run: BENCH=disk.sh bench/run)
set -u
. "$CZ_SRC/bench/lib.bash"
ROUNDS=${ROUNDS:-5}
MIB=${MIB:-256}
work=$(mktemp -d /tmp/cz-bench-disk-XXXXXX)
vmpid=
cleanup() {
    [ -n "$vmpid" ] && kill "$vmpid" 2>/dev/null && wait "$vmpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# the time in microseconds (busybox's dd prints no rate; adjtimex reads the clock)
now() { adjtimex | awk '/tv_sec/{s=\$2} /tv_usec/{u=\$2} END{printf "%d%06d\\n", s, u}'; }
echo "QUEUE_MAX \$(cat /sys/module/virtio_mmio/parameters/queue_max 2>/dev/null)"
t0=\$(now)
dd if=/dev/vda of=/dev/null bs=1M iflag=direct 2>/dev/null
t1=\$(now)
dd if=/dev/zero of=/dev/vdb bs=1M count=$MIB oflag=direct 2>/dev/null
t2=\$(now)
echo "READ_US \$((t1 - t0))"
echo "WRITE_US \$((t2 - t1))"
echo BENCH-DONE
reboot -f
EOF
cat >"$work/spec" <<EOF
dir /dev 0755
nod /dev/console 0600 c 5 1
dir /bin 0755
dir /proc 0755
dir /sys 0755
file /bin/busybox /bin/busybox 0755
slink /bin/sh busybox
slink /bin/mount busybox
slink /bin/cat busybox
slink /bin/dd busybox
slink /bin/tail busybox
slink /bin/echo busybox
slink /bin/poweroff busybox
slink /bin/reboot busybox
slink /bin/adjtimex busybox
slink /bin/awk busybox
file /init $work/init 0755
EOF
"$CZ_BUILD/kernel/mkcpio" "$work/spec" "$work/init.cpio" || exit 1
head -c $((MIB << 20)) /dev/urandom >"$work/src.img"
head -c $((MIB << 20)) /dev/zero >"$work/dst.img" # written once: no run pays for allocating it

# MiB/s from the microseconds $MIB MiB took
mibs() { awk -v us="$1" -v m="$MIB" 'BEGIN{printf "%.0f", m / (us / 1e6)}'; }

one() { # QUEUE_MAX (empty: the default)
    local run=$work/run-$RANDOM
    mkdir -p "$run"
    "$CZ_BUILD/tests/tools/cz-vm-boot" --kernel "$CZ_BUILD/kernel/vmlinux" --initrd "$work/init.cpio" \
        --disk "$work/src.img:ro" --disk "$work/dst.img" --memory 256 --wait-exit --timeout 300 \
        ${1:+--cmdline "virtio_mmio.queue_max=$1"} "$run" >"$run/out" 2>&1 &
    vmpid=$!
    wait "$vmpid"
    vmpid=
    local con=$run/console.log
    grep -q BENCH-DONE "$con" || { echo "disk bench: the VM did not finish (see $con)" >&2; cat "$run/out" >&2; exit 1; }
    echo "$(sed -n 's/.*QUEUE_MAX \([0-9]*\).*/\1/p' "$con" | head -1)" \
        "$(mibs "$(sed -n 's/.*READ_US \([0-9]*\).*/\1/p' "$con" | head -1)")" \
        "$(mibs "$(sed -n 's/.*WRITE_US \([0-9]*\).*/\1/p' "$con" | head -1)")" >"$work/res"
    rm -rf "$run"
}

r128=() w128=() r1024=() w1024=() q1= q2=
for i in $(seq 1 "$ROUNDS"); do
    one ""
    read -r q1 r w <"$work/res"
    r128+=("$r") w128+=("$w")
    one 1024
    read -r q2 r w <"$work/res"
    r1024+=("$r") w1024+=("$w")
done
mr1=$(median "${r128[@]}") mw1=$(median "${w128[@]}") mr2=$(median "${r1024[@]}") mw2=$(median "${w1024[@]}")
table=$(cat <<TABLE
## disk (bench/disk.sh)

$(date -u '+%Y-%m-%d %H:%M UTC'), TCG, \`-m 256\`, 1 vCPU, through lib/vm (the disks as a container's:
virtio-blk on virtio-mmio, raw files in the host's page cache, cache=unsafe read-only and
writeback read-write); a busybox init reads a $MIB MiB disk and writes another with O_DIRECT
(\`dd bs=1M\`); median of $ROUNDS interleaved rounds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg).

| virtqueue size (\`virtio_mmio.queue_max\`) | read (MiB/s) | write (MiB/s) |
|---|---:|---:|
| ${q1:-?} (our default, kernel/patches/0001) | $mr1 | $mw1 |
| ${q2:-?} (QEMU's size) | $mr2 | $mw2 |

128 / 1024: read $(ratio "$mr1" "$mr2"), write $(ratio "$mw1" "$mw2"). The cap is there for
memory (each virtio-serial port's receive queue holds a page per entry: 4 MiB per port at
1024); a disk's queue holds no buffers of its own, and with 1 MiB requests 128 entries keep
it as busy as 1024.
Runs (MiB/s): 128 read ${r128[*]}, write ${w128[*]}; 1024 read ${r1024[*]}, write ${w1024[*]}.
TABLE
)
echo "$table"
update_results "disk (bench/disk.sh)" "$table"
