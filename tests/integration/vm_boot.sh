# lib/vm boots our kernel under QEMU (TCG here): a busybox init reads an ext4
# disk, a 9p share and the agent port's name, then reboots, and QEMU exits;
# QMP answers while it runs; bad configurations fail before anything starts.
. "$CZ_SRC/tests/lib.sh"
kernel=$CZ_BUILD/kernel/vmlinux
tool=$CZ_BUILD/tests/tools/cz-vm-boot
check "the guest kernel was built" [ -f "$kernel" ]

mkdir -p "$T/ird/bin" "$T/ird/proc" "$T/ird/sys" "$T/ird/dev" "$T/ird/mnt/disk" "$T/ird/mnt/share"
cp /bin/busybox "$T/ird/bin/"
cat >"$T/ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "marker-booted $(uname -r)"
mount -t ext4 -o ro /dev/vda /mnt/disk && echo "disk-says: $(cat /mnt/disk/hello)"
mount -t 9p -o trans=virtio,version=9p2000.L share0 /mnt/share && echo "share-says: $(cat /mnt/share/hello)"
for p in /sys/class/virtio-ports/*; do echo "port-name: $(cat $p/name)"; done
echo marker-done
reboot -f
INIT
chmod +x "$T/ird/init"
(cd "$T/ird" && find . | cpio -o -H newc --quiet >"$T/init.cpio")

mkdir -p "$T/diskroot" "$T/share" "$T/run"
echo "from-the-disk" >"$T/diskroot/hello"
mke2fs -q -t ext4 -d "$T/diskroot" "$T/disk.ext4" 8M
echo "from-the-share" >"$T/share/hello"

out=$("$tool" --kernel "$kernel" --initrd "$T/init.cpio" --disk "$T/disk.ext4:ro" \
    --share "share0:$T/share:ro" --marker marker-done --wait-exit --timeout 60 "$T/run" 2>&1)
echo "$out"
console=$(cat "$T/run/console.log" 2>/dev/null)
check "the guest booted our kernel" bash -c "echo '$console' | grep -q 'marker-booted 6.1'"
check "the guest read the virtio-blk ext4 disk" bash -c "echo '$console' | grep -q 'disk-says: from-the-disk'"
check "the guest read the 9p share" bash -c "echo '$console' | grep -q 'share-says: from-the-share'"
check "the agent port is named cz.agent" bash -c "echo '$console' | grep -q 'port-name: cz.agent'"
check "QEMU exits when the guest reboots" bash -c "echo '$out' | grep -q 'qemu: exit 0'"
check "sockets are removed" bash -c "[ ! -e $T/run/qmp.sock ] && [ ! -e $T/run/agent.sock ]"

# A second VM: QMP status while it runs, then it is stopped from the host.
sed -i 's/^reboot -f$/sleep 600/' "$T/ird/init"
(cd "$T/ird" && find . | cpio -o -H newc --quiet >"$T/sleep.cpio")
out=$("$tool" --kernel "$kernel" --initrd "$T/sleep.cpio" --marker marker-done --timeout 60 "$T/run" 2>&1)
check "QMP reports a running VM" bash -c "echo '$out' | grep -q 'status: running'"
check "the host stops it" bash -c "echo '$out' | grep -Eq 'qemu: (exit|signal)'"

# Bad configurations: clear errors, nothing started.
expect_fail "missing kernel" "kernel $T/nope" "$tool" --kernel "$T/nope" "$T/run"
expect_fail "too little memory" "memory" "$tool" --kernel "$kernel" --memory 8 "$T/run"
# a fixed text, not random bytes: random bytes can by chance carry a header QEMU accepts
yes "this is not a kernel" | head -c 4096 >"$T/garbage-kernel"
expect_fail "a kernel QEMU cannot load" "QEMU exited at start" "$tool" --kernel "$T/garbage-kernel" "$T/run"
finish
