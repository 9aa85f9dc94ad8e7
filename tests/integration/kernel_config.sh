# The guest kernel's configuration and its build cache: the built .config has every option
# the guest needs built in, no modules, no ACPI, no PCI; a second build finds the cache entry
# and prints or writes nothing in the cache; a fragment edit that leaves the merged .config
# unchanged reuses the same entry; a fragment whose option Kconfig drops fails clearly.
. "$CZ_SRC/tests/lib.sh"
cache=${CZ_KERNEL_CACHE:-/var/cache/containerization/kernel}

check_config() { # ARCH CONFIG_FILE REQUIRED...
    local arch=$1 config=$2 sym missing=()
    shift 2
    for sym in "$@"; do grep -qx "$sym=y" "$config" || missing+=("$sym"); done
    if [ ${#missing[@]} -eq 0 ]; then
        pass "$arch: the .config has all $# required options built in"
    else
        fail "$arch: the .config lacks ${missing[*]}"
    fi
    check "$arch: CONFIG_MODULES is unset" grep -qx "# CONFIG_MODULES is not set" "$config"
    check "$arch: no option is a module" bash -c "! grep -q '=m\$' '$config'"
    check "$arch: ACPI is unset" bash -c "! grep -q '^CONFIG_ACPI=' '$config'"
    check "$arch: PCI is unset" bash -c "! grep -q '^CONFIG_PCI=' '$config'"
    check "$arch: no netfilter" bash -c "! grep -q '^CONFIG_NETFILTER=' '$config'"
}

common=(CONFIG_SMP CONFIG_PRINTK CONFIG_TTY CONFIG_UNIX98_PTYS CONFIG_VIRTIO_CONSOLE
    CONFIG_BINFMT_ELF CONFIG_BINFMT_SCRIPT CONFIG_BINFMT_MISC CONFIG_BLK_DEV_INITRD
    CONFIG_DEVTMPFS CONFIG_PROC_FS CONFIG_SYSFS CONFIG_TMPFS CONFIG_EXT4_FS CONFIG_OVERLAY_FS
    CONFIG_NETWORK_FILESYSTEMS CONFIG_9P_FS CONFIG_NET_9P_VIRTIO
    CONFIG_VIRTIO_MMIO CONFIG_VIRTIO_BLK CONFIG_VIRTIO_NET CONFIG_HW_RANDOM_VIRTIO
    CONFIG_VSOCKETS CONFIG_VIRTIO_VSOCKETS CONFIG_NET CONFIG_INET CONFIG_IPV6 CONFIG_UNIX
    CONFIG_PACKET CONFIG_VETH CONFIG_NAMESPACES CONFIG_UTS_NS CONFIG_IPC_NS CONFIG_PID_NS
    CONFIG_NET_NS CONFIG_USER_NS CONFIG_CGROUPS CONFIG_MEMCG CONFIG_CGROUP_SCHED
    CONFIG_CFS_BANDWIDTH CONFIG_CGROUP_PIDS CONFIG_BLK_CGROUP CONFIG_BLK_DEV_THROTTLING
    CONFIG_CPUSETS CONFIG_CGROUP_BPF CONFIG_SECCOMP CONFIG_SECCOMP_FILTER CONFIG_FUTEX
    CONFIG_EPOLL CONFIG_SIGNALFD CONFIG_TIMERFD CONFIG_EVENTFD CONFIG_SHMEM CONFIG_AIO
    CONFIG_MULTIUSER CONFIG_POSIX_TIMERS CONFIG_FILE_LOCKING CONFIG_RANDOM_TRUST_CPU)
x86=(CONFIG_64BIT CONFIG_SERIAL_8250 CONFIG_SERIAL_8250_CONSOLE CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES
    CONFIG_PARAVIRT CONFIG_KVM_GUEST CONFIG_PVH)
arm64=(CONFIG_ARM64 CONFIG_SERIAL_AMBA_PL011 CONFIG_SERIAL_AMBA_PL011_CONSOLE)

check_config x86_64 "$CZ_BUILD/kernel/config" "${common[@]}" "${x86[@]}"
check "x86_64: vmlinux is an ELF x86-64 image (PVH)" bash -c \
    "file -L '$CZ_BUILD/kernel/vmlinux' | grep -q 'ELF 64-bit LSB executable, x86-64'"
check "x86_64: vmlinux has the PVH entry note" bash -c \
    "readelf -n '$CZ_BUILD/kernel/vmlinux' | grep -q 'Xen'"
check "x86_64: bzImage is a bootable kernel" bash -c \
    "file -L '$CZ_BUILD/kernel/bzImage' | grep -q 'Linux kernel x86 boot executable bzImage'"
if command -v aarch64-linux-gnu-gcc >/dev/null; then
    check_config arm64 "$CZ_BUILD/kernel-arm64/config" "${common[@]}" "${arm64[@]}"
else
    echo "SKIP: arm64 .config: the cross-compiler aarch64-linux-gnu-gcc is not installed"
fi

# A second build: the fast path prints nothing and writes nothing in the cache; the result
# is the cached file itself (a hard link), not a copy.
touch "$T/stamp"
sleep 1
out=$("$CZ_SRC/kernel/build.sh" "$T/k1" 2>&1)
rc=$?
check "a second build succeeds" [ $rc -eq 0 ]
check "a second build prints nothing" [ -z "$out" ]
[ -z "$out" ] || echo "$out" | head -5
entry=$(cat "$T/k1/cache-entry" 2>/dev/null)
# kernel/patches: their hash names the source tree, the build directory and the entry
pk=p$(cat "$CZ_SRC"/kernel/patches/*.patch | sha256sum | cut -c1-12)
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
# (Only what this build could touch: other worktrees may build other entries meanwhile.)
changed=$(find "$cache/index" "$entry" "$cache/build-x86_64-$pk/.config" "$cache/build-x86_64-$pk/build.log" \
    -newer "$T/stamp" 2>/dev/null | head -5)
check "a second build writes nothing in the cache" [ -z "$changed" ]
[ -z "$changed" ] || echo "changed: $changed"
check "the published vmlinux is the cache entry's file" [ "$T/k1/vmlinux" -ef "$entry/vmlinux" ]
check "the published vmlinux is the one make published" [ "$T/k1/vmlinux" -ef "$CZ_BUILD/kernel/vmlinux" ]
case $(basename "$entry") in
x86_64-*) check "the entry is named by the merged .config's hash" \
    [ "$(basename "$entry")" = "x86_64-$( { echo "x86_64 $srcver vmlinux bzImage KBUILD_BUILD_USER=cz KBUILD_BUILD_HOST=containerization $pk"; cat "$entry/config"; } | sha256sum | cut -c1-16)" ] ;;
*) fail "the cache entry is named $(basename "$entry")" ;;
esac

check "the source it was built from has our patches" \
    grep -q 'module_param(queue_max' "$cache/src-$srcver-$pk/linux-source-6.1/drivers/virtio/virtio_mmio.c"

# A comment-only edit of a fragment: new inputs, the same merged .config, the same entry
# (Kconfig runs, the kernel is not built again).
# (A note unique to this run, so no index entry from an earlier run short-cuts it; the index
# entry it adds is removed again.)
cp -r "$CZ_SRC/kernel" "$T/ksrc"
echo "# a reviewer's note: changes nothing ($T)" >>"$T/ksrc/config/common.fragment"
ls "$cache/index" | sort >"$T/index.before"
out=$("$T/ksrc/build.sh" "$T/k2" 2>&1)
comm -13 "$T/index.before" <(ls "$cache/index" | sort) | sed "s|^|$cache/index/|" | xargs -r rm -f
check "a comment-only edit reuses the cached build" bash -c "[ '$(cat "$T/k2/cache-entry" 2>/dev/null)' = '$entry' ]"
check "... and says so" bash -c "echo '$out' | grep -q 'matches the cached build'"
check "... without compiling" bash -c "! echo '$out' | grep -q 'a few minutes'"

# lib/vm's lpj= word is TSC Hz / CONFIG_HZ: the two must agree.
hz=$(sed -n 's/^CONFIG_HZ=//p' "$CZ_BUILD/kernel/config")
vmhz=$(sed -n 's/^#define CZ_GUEST_HZ \([0-9]*\)$/\1/p' "$CZ_SRC/lib/vm/vm.c")
check "lib/vm's CZ_GUEST_HZ ($vmhz) is the kernel's CONFIG_HZ ($hz)" bash -c "[ -n '$hz' ] && [ '$hz' = '$vmhz' ]"

# A fragment asking for an option Kconfig cannot give: a clear error, nothing published.
cp -r "$CZ_SRC/kernel" "$T/kbad"
echo "CONFIG_ACPI_NO_SUCH_OPTION=y" >>"$T/kbad/config/x86_64.fragment"
expect_fail "a dropped option fails the build" "lost 1 symbol.*dependency is missing" \
    "$T/kbad/build.sh" "$T/k3"
check "... and publishes nothing" [ ! -e "$T/k3/vmlinux" ]
expect_fail "an unknown architecture is refused" "unknown arch 'sparc'" \
    "$CZ_SRC/kernel/build.sh" --arch sparc "$T/k4"
finish
