#!/usr/bin/env bash
# Builds the guest kernel from Debian's linux-source-6.1 with our config fragments
# (kernel/config/common.fragment + kernel/config/ARCH.fragment), cached outside the clone.
# The cache entry is named by the hash of the merged .config (after Kconfig resolved every
# dependency) + the source version + the build recipe: only the first build of a given
# configuration on a machine pays its minutes, and an edit that does not change the .config
# (a comment, a reordering) finds the existing build. A small index maps the hash of the
# inputs (fragments, this script, source version) to the entry, so a cached build is found
# without even merging the config: then this script prints nothing and writes nothing in the
# cache. Results are linked into OUT_DIR. kernel/patches/*.patch (in name order) are applied
# to the unpacked source; their hash names the source tree, the build directory and the
# entry.
#
# Usage: kernel/build.sh [--arch x86_64|arm64] OUT_DIR
# Environment:
#   CZ_KERNEL_CACHE   cache root (default /var/cache/containerization/kernel)
#   CZ_KERNEL_SOURCE  source tarball (default /usr/src/linux-source-6.1.tar.xz)
#   CZ_KERNEL_JOBS    parallel make jobs (default: make's jobserver when run from make -jN,
#                     else the number of CPUs)
set -euo pipefail

die() { echo "kernel/build.sh: $*" >&2; exit 1; }

arch=x86_64
if [ "${1:-}" = "--arch" ]; then arch=${2:-}; shift 2; fi
[ $# -eq 1 ] || die "usage: kernel/build.sh [--arch x86_64|arm64] OUT_DIR"
out=$1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${CZ_KERNEL_CACHE:-/var/cache/containerization/kernel}
tarball=${CZ_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}

# Run from `make -jN` (the recipe is marked recursive), the kernel's make joins the parent's
# jobserver so the whole build stays at N jobs. Variables given to the parent make (O=, CC=,
# SANITIZE=...) are not the kernel's business: keep only the flags.
if [ -n "${CZ_KERNEL_JOBS:-}" ]; then
    jobs=(-j"$CZ_KERNEL_JOBS")
    unset MAKEFLAGS MFLAGS MAKELEVEL
elif [[ "${MAKEFLAGS:-}" == *jobserver* ]]; then
    jobs=()
    export MAKEFLAGS="${MAKEFLAGS%% -- *}"
    unset MFLAGS MAKEOVERRIDES
else
    jobs=(-j"$(nproc)")
    unset MAKEFLAGS MFLAGS MAKELEVEL
fi

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
fragments=("$here/config/common.fragment" "$here/config/$arch.fragment")
for f in "${fragments[@]}"; do [ -r "$f" ] || die "missing config fragment $f"; done
[ -r "$tarball" ] || die "missing kernel source $tarball (Debian package linux-source-6.1)"

# The source version names the cache entry; fall back to the tarball's own hash when the
# tarball does not come from the Debian package.
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [ -z "$srcver" ] || [ "$tarball" != /usr/src/linux-source-6.1.tar.xz ]; then
    srcver=$(sha256sum "$tarball" | cut -c1-16)
fi
# Our patches to the source (each says why).
shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob
patchkey=
[ ${#patches[@]} -eq 0 ] || patchkey=p$(cat "${patches[@]}" | sha256sum | cut -c1-12)
# What the build does besides the .config; part of the entry's name.
recipe="vmlinux ${images[*]##*/} KBUILD_BUILD_USER=cz KBUILD_BUILD_HOST=containerization $patchkey"
inputs=$( { echo "$arch $srcver $recipe ${bases[*]}"; cat "${fragments[@]}" "$here/build.sh"; } | sha256sum | cut -c1-16)
index=$cache/index/$arch-$inputs

publish() {
    mkdir -p "$out"
    local f
    for f in vmlinux "$(basename "${images[0]}")" config; do
        [ "$entry/$f" -ef "$out/$f" ] && continue # already published
        # A hard link costs nothing; fall back to a copy across filesystems.
        ln -f "$entry/$f" "$out/$f.tmp" 2>/dev/null || cp "$entry/$f" "$out/$f.tmp"
        mv -f "$out/$f.tmp" "$out/$f"
    done
    [ "$(cat "$out/cache-entry" 2>/dev/null)" = "$entry" ] || echo "$entry" >"$out/cache-entry"
}

record_index() {
    echo "$(basename "$entry")" >"$index.tmp"
    mv -f "$index.tmp" "$index"
}

# The fast path: these inputs were merged before and their build is in the cache.
cached_entry() {
    local e
    [ -f "$index" ] || return 1
    e=$cache/$(cat "$index")
    [ -f "$e/done" ] || return 1
    entry=$e
}
if cached_entry; then
    publish
    exit 0
fi

mkdir -p "$cache/index"
exec 9>"$cache/.lock-$arch"
flock 9
if cached_entry; then # another build finished while we waited
    publish
    exit 0
fi

# Unpack the source once per version and set of patches; builds are out of tree (O=) so it
# stays as unpacked and patched.
src=$cache/src-$srcver${patchkey:+-$patchkey}
if [ ! -d "$src/linux-source-6.1" ]; then
    echo "  KERNEL  unpacking $tarball${patchkey:+ (+ ${#patches[@]} patch(es))}"
    exec 8>"$cache/.lock-src"
    flock 8
    if [ ! -d "$src/linux-source-6.1" ]; then
        rm -rf "$src.tmp"
        mkdir -p "$src.tmp"
        tar -xJf "$tarball" -C "$src.tmp"
        for p in "${patches[@]}"; do
            patch -s -p1 -d "$src.tmp/linux-source-6.1" <"$p" || { rm -rf "$src.tmp"; die "patch $p does not apply"; }
        done
        mv "$src.tmp" "$src"
    fi
    exec 8>&-
fi
srctree=$src/linux-source-6.1
[ -f "$srctree/Makefile" ] || die "$srctree does not look like a kernel tree"

# One build directory per arch: a changed fragment rebuilds incrementally.
obj=$cache/build-$arch${patchkey:+-$patchkey}
mkdir -p "$obj"
log=$obj/build.log
: >"$log"

kmake() {
    make -C "$srctree" O="$obj" ARCH="$karch" ${cross:+CROSS_COMPILE=$cross} \
        KBUILD_BUILD_USER=cz KBUILD_BUILD_HOST=containerization "$@"
}

# allnoconfig + the kernel's tiny fragments + ours. merge_config.sh runs make in its working
# directory (and leaves no files behind there), so it runs in the source tree with O=.
(
    cd "$srctree"
    env ARCH="$karch" ${cross:+CROSS_COMPILE=$cross} "$srctree/scripts/kconfig/merge_config.sh" -n -O "$obj" \
        "${bases[@]/#/$srctree/}" "${fragments[@]}"
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
done < <(cat "${fragments[@]}")
if [ ${#missing[@]} -gt 0 ]; then
    printf '  %s\n' "${missing[@]}" >&2
    die "the merged .config lost ${#missing[@]} symbol(s) of the $arch fragments (a dependency is missing)"
fi
# No modules, ever: the guest has no module loader.
if grep -q '=m$' "$obj/.config"; then die "the merged .config has modules: $(grep '=m$' "$obj/.config" | head -3 | tr '\n' ' ')"; fi

# The entry is named by what Kconfig made of the fragments, not by their text.
entry=$cache/$arch-$( { echo "$arch $srcver $recipe"; cat "$obj/.config"; } | sha256sum | cut -c1-16)
if [ -f "$entry/done" ]; then
    echo "  KERNEL  $arch: the merged .config matches the cached build $(basename "$entry")"
    record_index
    publish
    exit 0
fi

echo "  KERNEL  $arch $srcver -> $entry (a few minutes the first time; log: $log)"
kmake "${jobs[@]}" vmlinux "${images[@]##*/}" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; die "kernel build failed (log: $log)"; }

rm -rf "$entry.tmp"
mkdir -p "$entry.tmp"
cp "$obj/vmlinux" "$entry.tmp/vmlinux"
cp "$obj/${images[0]}" "$entry.tmp/"
cp "$obj/.config" "$entry.tmp/config"
echo "$arch $srcver $(date -u +%FT%TZ)" >"$entry.tmp/done"
rm -rf "$entry"
mv "$entry.tmp" "$entry"
record_index
publish
