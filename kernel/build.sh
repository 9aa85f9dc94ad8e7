#!/usr/bin/env bash
# Builds the guest kernel from Debian's linux-source-6.1 with our config fragment, cached
# outside the clone by the hash of (arch, fragment, this script, source package version):
# only the first build on a machine pays its minutes. Results are linked into OUT_DIR.
#
# Usage: kernel/build.sh [--arch x86_64|arm64] OUT_DIR
# Environment:
#   CZ_KERNEL_CACHE   cache root (default /var/cache/containerization/kernel)
#   CZ_KERNEL_SOURCE  source tarball (default /usr/src/linux-source-6.1.tar.xz)
#   CZ_KERNEL_JOBS    parallel make jobs (default: number of CPUs)
set -euo pipefail

die() { echo "kernel/build.sh: $*" >&2; exit 1; }

arch=x86_64
if [ "${1:-}" = "--arch" ]; then arch=${2:-}; shift 2; fi
[ $# -eq 1 ] || die "usage: kernel/build.sh [--arch x86_64|arm64] OUT_DIR"
out=$1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CZ_KERNEL_CACHE:-/var/cache/containerization/kernel}
tarball=${CZ_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
jobs=${CZ_KERNEL_JOBS:-$(nproc)}

case $arch in
x86_64)
    karch=x86
    cross=
    images=(arch/x86/boot/bzImage)
    bases=(kernel/configs/tiny-base.config kernel/configs/tiny.config arch/x86/configs/tiny.config)
    ;;
arm64)
    karch=arm64
    cross=aarch64-linux-gnu-
    command -v ${cross}gcc >/dev/null || die "arm64 needs the cross-compiler ${cross}gcc (Debian: gcc-aarch64-linux-gnu)"
    images=(arch/arm64/boot/Image)
    bases=(kernel/configs/tiny-base.config kernel/configs/tiny.config)
    ;;
*) die "unknown arch '$arch' (x86_64 or arm64)" ;;
esac
fragment=$here/config-$arch.fragment
[ -r "$fragment" ] || die "missing config fragment $fragment"
[ -r "$tarball" ] || die "missing kernel source $tarball (Debian package linux-source-6.1)"

# The source version names the cache entry; fall back to the tarball's own hash when the
# tarball does not come from the Debian package.
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [ -z "$srcver" ] || [ "$tarball" != /usr/src/linux-source-6.1.tar.xz ]; then
    srcver=$(sha256sum "$tarball" | cut -c1-16)
fi
key=$( { echo "$arch $srcver"; cat "$fragment" "$here/build.sh"; } | sha256sum | cut -c1-16)
entry=$cache/$arch-$key

publish() {
    mkdir -p "$out"
    local f
    for f in vmlinux "$(basename "${images[0]}")" config; do
        [ "$entry/$f" -ef "$out/$f" ] && continue # already published
        # A hard link costs nothing; fall back to a copy across filesystems.
        ln -f "$entry/$f" "$out/$f.tmp" 2>/dev/null || cp "$entry/$f" "$out/$f.tmp"
        mv -f "$out/$f.tmp" "$out/$f"
    done
    echo "$entry" >"$out/cache-entry"
}

if [ -f "$entry/done" ]; then
    publish
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock-$arch"
flock 9
if [ -f "$entry/done" ]; then # another build finished while we waited
    publish
    exit 0
fi

# Unpack the source once per version; builds are out of tree (O=) so it stays pristine.
src=$cache/src-$srcver
if [ ! -d "$src/linux-source-6.1" ]; then
    echo "  KERNEL  unpacking $tarball"
    exec 8>"$cache/.lock-src"
    flock 8
    if [ ! -d "$src/linux-source-6.1" ]; then
        rm -rf "$src.tmp"
        mkdir -p "$src.tmp"
        tar -xJf "$tarball" -C "$src.tmp"
        mv "$src.tmp" "$src"
    fi
    exec 8>&-
fi
srctree=$src/linux-source-6.1
[ -f "$srctree/Makefile" ] || die "$srctree does not look like a kernel tree"

# One build directory per arch: a changed fragment rebuilds incrementally.
obj=$cache/build-$arch
mkdir -p "$obj"
log=$obj/build.log
echo "  KERNEL  $arch $srcver -> $entry (log: $log)"
: >"$log"

kmake() { make -C "$srctree" O="$obj" ARCH="$karch" ${cross:+CROSS_COMPILE=$cross} "$@"; }

# allnoconfig + the kernel's tiny fragments + ours. merge_config.sh runs make in its working
# directory (and leaves no files behind there), so it runs in the source tree with O=.
(
    cd "$srctree"
    ARCH=$karch ${cross:+CROSS_COMPILE=$cross} "$srctree/scripts/kconfig/merge_config.sh" -n -O "$obj" \
        "${bases[@]/#/$srctree/}" "$fragment"
) >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "merging the config failed"; }

# merge_config.sh only warns when Kconfig drops a symbol; we fail instead.
missing=()
while IFS= read -r line; do
    case $line in
    CONFIG_*=*)
        grep -qxF -- "$line" "$obj/.config" || missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$obj/.config" || echo unset))")
        ;;
    "# CONFIG_"*" is not set")
        sym=${line#\# }
        sym=${sym%% *}
        if grep -qE "^$sym=" "$obj/.config"; then missing+=("$line (got: $(grep -E "^$sym=" "$obj/.config"))"); fi
        ;;
    esac
done <"$fragment"
if [ ${#missing[@]} -gt 0 ]; then
    printf '  %s\n' "${missing[@]}" >&2
    die "the merged .config lost ${#missing[@]} symbol(s) of $fragment (a dependency is missing)"
fi
# No modules, ever: the guest has no module loader.
if grep -q '=m$' "$obj/.config"; then die "the merged .config has modules: $(grep '=m$' "$obj/.config" | head -3 | tr '\n' ' ')"; fi

echo "  KERNEL  make -j$jobs vmlinux ${images[*]##*/} (a few minutes the first time)"
kmake -j"$jobs" vmlinux "${images[@]##*/}" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; die "kernel build failed (log: $log)"; }

rm -rf "$entry.tmp"
mkdir -p "$entry.tmp"
cp "$obj/vmlinux" "$entry.tmp/vmlinux"
cp "$obj/${images[0]}" "$entry.tmp/"
cp "$obj/.config" "$entry.tmp/config"
echo "$arch $srcver $(date -u +%FT%TZ)" >"$entry.tmp/done"
rm -rf "$entry"
mv "$entry.tmp" "$entry"
publish
