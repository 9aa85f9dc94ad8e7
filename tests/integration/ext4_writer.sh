# ext4 images from OCI layers, end to end: `image unpack` of an imported image
# (e2fsck -fn clean, the kernel's view equals GNU tar's extraction), a sized
# image with a journal that the kernel writes into, progress-free scripted
# output, and the fuzz seed corpus: whatever is accepted passes e2fsck.
. "$CZ_SRC/tests/lib.sh"
apply=$CZ_BUILD/tests/tools/cz-ext4-apply

fsck_clean() {
    local out
    out=$(e2fsck -fn "$1" 2>&1 | grep -Ev '^(e2fsck [0-9]|Pass [1-5]|.* files \(.*blocks$|$)')
    [ -z "$out" ] || { echo "$out" | head -5; return 1; }
}

# a small tree with every kind of entry
src=$T/src
mkdir -p "$src/bin" "$src/etc/deep/er" "$src/dev" "$src/tmp"
cp /bin/busybox "$src/bin/"
ln -s busybox "$src/bin/sh"
echo "hello" >"$src/etc/motd"
ln "$src/etc/motd" "$src/etc/motd.hard"
ln -s "$(printf 'x%.0s' $(seq 100))" "$src/etc/slowlink"
mkfifo "$src/dev/fifo"
chmod 1777 "$src/tmp"
chmod 4755 "$src/bin/busybox"
touch -d '2001-02-03 04:05:06.123456789' "$src/etc/motd"
setfattr -n user.note -v hi "$src/etc/motd" 2>/dev/null || true
cz image import "$src" demo:1 >/dev/null
truncate -s 3G "$src/etc/deep/er/sparse"
echo end >>"$src/etc/deep/er/sparse"
tar --numeric-owner --xattrs --sparse -C "$src" -czf "$T/layer.tar.gz" .
check "unpack a tar.gz layer" "$apply" "$T/a.ext4" "$T/layer.tar.gz"
check "e2fsck -fn is clean" fsck_clean "$T/a.ext4"

check "image unpack" cz image unpack demo:1 --output "$T/img.ext4"
check "image unpack's output is clean" fsck_clean "$T/img.ext4"
check "image unpack --size gives that size" bash -c "\"$CZ_BIN\" image unpack demo:1 -o '$T/sized.ext4' --size 2G && [ \$(stat -c %s '$T/sized.ext4') = 2147483648 ]"
check "the sized image has a journal" bash -c "debugfs -R stats '$T/sized.ext4' 2>/dev/null | grep -q has_journal"
expect_fail "unpack of a missing image" "nothing|not found|no such|unknown" cz image unpack nothere:1 -o "$T/x.ext4"
check "no output left after a failure" [ ! -e "$T/x.ext4" ]
expect_fail "unpack needs --output" "--output" cz image unpack demo:1

if [ "$(id -u)" = 0 ] && losetup -f >/dev/null 2>&1; then
    mnt=$T/mnt ref=$T/ref
    mkdir -p "$mnt" "$ref"
    tar --numeric-owner --xattrs --xattrs-include='*' -xpzf "$T/layer.tar.gz" -C "$ref"
    if mount -o loop,ro "$T/a.ext4" "$mnt"; then
        on_exit "umount '$mnt'"
        listing() { (cd "$1" && find . -path ./lost+found -prune -o -printf '%p %y %m %U %G %s %T@ %l\n' | grep -v '^\. ' | sort); }
        # directory sizes differ by filesystem: compare everything else
        check "the kernel sees GNU tar's tree" diff <(listing "$ref" | awk '$2=="d"{$6=""}1') <(listing "$mnt" | awk '$2=="d"{$6=""}1')
        check "contents equal" diff -r --no-dereference "$ref/etc" "$mnt/etc"
        check "hardlinks share an inode" [ "$(stat -c %i "$mnt/etc/motd")" = "$(stat -c %i "$mnt/etc/motd.hard")" ]
        check "sparse file stays sparse" [ "$(stat -c %b "$mnt/etc/deep/er/sparse")" -lt 64 ]
        if getfattr -n user.note "$ref/etc/motd" >/dev/null 2>&1; then
            check "xattrs kept" [ "$(getfattr --only-values -n user.note "$mnt/etc/motd")" = hi ]
        fi
        umount "$mnt"
    else
        fail "loop mount"
    fi
    if mount -o loop "$T/sized.ext4" "$mnt"; then
        dd if=/dev/urandom of="$mnt/written" bs=1M count=8 status=none && rm -rf "$mnt/bin" && sync
        umount "$mnt"
        pass "the kernel writes into an unpacked image"
        check "e2fsck clean after the kernel wrote" fsck_clean "$T/sized.ext4"
    else
        fail "read-write loop mount"
    fi
fi

# the fuzz seeds: accepted ones must be clean, rejected ones say why in one line
for seed in "$CZ_SRC"/fuzz/corpus/ext4_layer/*; do
    name=$(basename "$seed")
    if out=$("$apply" "$T/seed.ext4" "$seed" 2>&1); then
        check "seed $name: accepted and clean" fsck_clean "$T/seed.ext4"
    else
        check "seed $name: rejected with one line naming the layer" bash -c "[ \$(echo '$out' | wc -l) = 1 ] && echo '$out' | grep -q '$name'"
        check "seed $name: no image left" [ ! -e "$T/seed.ext4" ]
    fi
    rm -f "$T/seed.ext4"
done
finish
