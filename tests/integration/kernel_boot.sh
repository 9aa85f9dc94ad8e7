# The guest kernel boots: with the floor init (prints a line and stops the VM) QEMU ends by
# itself with status 0, through the uncompressed vmlinux (PVH) and through the bzImage; with
# the initfs, vminitd prints its first line. The arm64 kernel, where the cross-compiler built
# it, is an arm64 image and boots the arm64 floor init under qemu-system-aarch64 -M virt.
# Every check that cannot run here says why (SKIP: ...). No timings are asserted.
. "$CZ_SRC/tests/lib.sh"
tool=$CZ_BUILD/tests/tools/cz-vm-boot
k=$CZ_BUILD/kernel

for image in vmlinux bzImage; do
    mkdir -p "$T/run-$image"
    "$tool" --kernel "$k/$image" --initrd "$k/floor.cpio" --marker "cz-floor-init: hello" \
        --wait-exit --timeout 120 "$T/run-$image" >"$T/floor-$image.out" 2>&1
    check "$image + floor init: the init's line on the console" \
        grep -q "marker: seen" "$T/floor-$image.out"
    check "$image + floor init: QEMU ends by itself with status 0" \
        grep -q "qemu: exit 0" "$T/floor-$image.out"
    check "$image + floor init: the kernel is quiet (only the init's line)" bash -c \
        "[ \"\$(grep -cv '^\$' '$T/run-$image/console.log')\" -le 2 ]"
    grep -q "qemu: exit 0" "$T/floor-$image.out" || cat "$T/floor-$image.out" "$T/run-$image/console.log"
done

mkdir -p "$T/run-initfs"
"$tool" --kernel "$k/vmlinux" --initrd "$CZ_BUILD/guest/initfs.cpio" \
    --marker "vminitd: serving on /dev/vport" --timeout 120 "$T/run-initfs" >"$T/initfs.out" 2>&1
check "vmlinux + initfs: vminitd's first line on the console" grep -q "marker: seen" "$T/initfs.out"
check "vmlinux + initfs: it is the first line" bash -c \
    "grep -v '^\$' '$T/run-initfs/console.log' | head -1 | grep -q '^vminitd: serving on /dev/vport'"
grep -q "marker: seen" "$T/initfs.out" || cat "$T/initfs.out" "$T/run-initfs/console.log"

# The agent answers a host that connects right after QEMU starts and one that connects only
# after vminitd serves (the port stays open: nothing the host sends early is discarded).
# Three rounds each: the second case used to lose the host's first bytes now and then.
bench=$CZ_BUILD/tests/tools/cz-agent-bench
for when in early late; do
    ok=0 opts=()
    [ $when = late ] && opts=(--connect-after "vminitd: serving")
    for i in 1 2 3; do
        mkdir -p "$T/agent-$when-$i"
        "$bench" --kernel "$k/vmlinux" --initrd "$CZ_BUILD/guest/initfs.cpio" --calls 5 \
            "${opts[@]}" "$T/agent-$when-$i" >"$T/agent-$when-$i.out" 2>&1 &&
            ! grep -q "attempt .* failed" "$T/agent-$when-$i.out" && ok=$((ok + 1))
    done
    check "a host connecting $when: vminitd answers at the first attempt, 3 of 3 boots" [ $ok -eq 3 ]
    [ $ok -eq 3 ] || cat "$T"/agent-$when-*.out
done

# arm64: built by `make` only where aarch64-linux-gnu-gcc is installed.
a=$CZ_BUILD/kernel-arm64
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    echo "SKIP: arm64 kernel: the cross-compiler aarch64-linux-gnu-gcc is not installed (Debian: gcc-aarch64-linux-gnu)"
else
    check "arm64: Image is an arm64 kernel" bash -c \
        "file -L '$a/Image' | grep -q 'Linux kernel ARM64 boot executable Image'"
    check "arm64: vmlinux is an ELF aarch64 image" bash -c \
        "file -L '$a/vmlinux' | grep -q 'ELF 64-bit LSB executable, ARM aarch64'"
    if ! command -v qemu-system-aarch64 >/dev/null; then
        echo "SKIP: arm64 boot: qemu-system-aarch64 is not installed (Debian: qemu-system-arm)"
    else
        # TCG emulating another architecture is slow: a generous bound, no timing asserted.
        timeout -k 5 300 qemu-system-aarch64 -M virt -cpu max -m 256 -smp 1 -nodefaults \
            -no-user-config -no-reboot -display none -serial "file:$T/arm64.console" \
            -kernel "$a/Image" -initrd "$a/floor.cpio" \
            -append "console=ttyAMA0 quiet panic=-1 rdinit=/init" </dev/null >"$T/arm64.qemu" 2>&1
        rc=$?
        check "arm64 + floor init under qemu-system-aarch64 -M virt: the init's line" \
            grep -q "cz-floor-init: hello" "$T/arm64.console"
        check "arm64 + floor init: QEMU ends by itself with status 0" [ $rc -eq 0 ]
        [ $rc -eq 0 ] || cat "$T/arm64.qemu" "$T/arm64.console"
    fi
fi
finish
