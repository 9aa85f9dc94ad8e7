# The realistic image: a debootstrap --variant=minbase root filesystem
# (tests/fixtures/rootfs.sh) as one gzip layer, as one zstd layer, and split into
# four layers by top-level directory (mixed tar/gzip/zstd) plus a fifth that deletes
# files and a directory, replaces a file and makes /var/log opaque.
# `container image unpack` of each: e2fsck -fn silent, and the kernel's view of the
# image equals GNU tar's extraction (applylayers.py) on a tmpfs.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/ext4/lib.sh"
ext4_require debootstrap
rootfs=$("$CZ_SRC/tests/fixtures/rootfs.sh") || { fail "tests/fixtures/rootfs.sh"; finish; }
ext4_tmpfs "$T/exp" 3g

judge() {
    local name=$1 layout=$2
    rm -rf "$T/exp/$name"
    if ! ext4_expect "$layout" "$T/exp/$name"; then fail "$name: expectation"; return; fi
    rm -rf "$T/exp/$name"    # only the manifest is needed: keep the tmpfs small
    ext4_import "$layout" "rootfs-$name:1" || { fail "$name: skopeo copy into the store"; return; }
    local img=$T/$name.ext4 out
    if ! out=$(cz image unpack "rootfs-$name:1" --output "$img" 2>&1); then
        fail "$name: image unpack: $out"; return
    fi
    check "$name: e2fsck -fn is silent" ext4_fsck_clean "$img"
    if ext4_tree "$img" "$T/$name.sum" "$T/exp/$name.implicit"; then
        ext4_same "$name: the mounted image equals GNU tar's tree ($(wc -l <"$T/$name.sum") paths)" \
            "$T/exp/$name.sum" "$T/$name.sum"
    else
        fail "$name: mount"
    fi
    rm -f "$img"
    cz image rm "rootfs-$name:1" >/dev/null 2>&1
}

for c in gzip zstd; do
    python3 "$X4/mklayers.py" fromtar "$rootfs" "$T/one-$c" --compress "$c" || fail "layout one-$c"
    judge "one-$c" "$T/one-$c"
    rm -rf "$T/one-$c"
done
python3 "$X4/mklayers.py" fromtar "$rootfs" "$T/split" --split 4 --compress mixed || fail "layout split"
check "split: the image has 5 layers" [ "$(skopeo inspect "oci:$T/split:latest" | jq '.Layers | length')" -eq 5 ]
judge split "$T/split"
check "split: /etc/motd was deleted by the last layer" bash -c "! grep -q '^etc/motd ' '$T/split.sum'"
check "split: /usr/share/doc is gone" bash -c "! grep -Eq '^usr/share/doc[ /]' '$T/split.sum'"
check "split: /etc/hostname was replaced" grep -q '^etc/hostname f .* size=24 ' "$T/split.sum"
check "split: /var/log holds only the new file" \
    [ "$(grep -c '^var/log/' "$T/split.sum")" -eq 1 ]
finish
