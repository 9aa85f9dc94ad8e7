# Read-write round trips: the kernel writes into images we made, then e2fsck -fn must
# still be silent and the kernel must read back exactly what it wrote.
#  - an empty named volume (`container volume create`, 512 GiB sparse, journal);
#  - `image unpack --size` of the attrs and bigdir fixtures: the kernel modifies, deletes,
#    renames what we wrote, adds 1000 entries to our 50,000-entry hashed directory and
#    removes 1000 of ours.
# The same operations run on a tmpfs copy; both trees must then have the same manifest
# (mtimes left out: they are "now" on both sides).
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/ext4/lib.sh"
ext4_require
ext4_tmpfs "$T/ref" 2g

# the kernel's writes, the same on the image and on the tmpfs reference
kernel_writes() {
    local d=$1
    python3 - "$d" <<'PY' || return 1
import os, socket, sys
d = sys.argv[1]
os.makedirs(d + "/rw/many", exist_ok=True)
for i in range(1000):                    # mkdir 1000 entries
    os.mkdir(d + "/rw/many/dir%04d" % i)
    with open(d + "/rw/many/dir%04d/f" % i, "wb") as f:
        f.write(b"%d\n" % i * (i % 50))
for i in range(0, 1000, 3):              # and delete a third of them
    os.unlink(d + "/rw/many/dir%04d/f" % i)
    os.rmdir(d + "/rw/many/dir%04d" % i)
with open(d + "/rw/big.bin", "wb") as f:  # 24 MiB of data, then a hole, then a tail
    for i in range(24):
        f.write(bytes([i]) * (1 << 20))
    f.seek(1 << 30)
    f.write(b"tail")
os.symlink("big.bin", d + "/rw/fast")
os.symlink("x" * 300, d + "/rw/slow")
os.link(d + "/rw/big.bin", d + "/rw/big.hard")
os.mknod(d + "/rw/null", 0o20666, os.makedev(1, 3))
os.mkfifo(d + "/rw/fifo", 0o600)
s = socket.socket(socket.AF_UNIX)
s.bind(d + "/rw/sock")
s.close()
os.setxattr(d + "/rw/big.bin", "user.k", b"v" * 2000)
os.setxattr(d + "/rw/fast", "trusted.t", b"t", follow_symlinks=False)
os.chown(d + "/rw/null", 4000000000, 123)
os.chmod(d + "/rw/fifo", 0o4600 & 0o7777)
PY
}

# changes to what the unpacker wrote (attrs fixture)
modify_attrs() {
    local d=$1
    echo appended >>"$d/user-attrs" &&
        rm -rf "${d:?}/dev" "$d/modes/f4755" &&
        mv "$d/times" "$d/times-renamed" &&
        python3 -c 'import os,sys; os.setxattr(sys.argv[1]+"/big-xattr","user.more",b"m"*500); os.removexattr(sys.argv[1]+"/caps","security.capability")' "$d" &&
        truncate -s 10M "$d/many-xattrs" && chmod 0600 "$d/caps" && chown 5:6 "$d/acl-file"
}

# changes to the 50,000-entry directory (bigdir fixture)
modify_bigdir() {
    local d=$1
    python3 - "$d/big" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(1000):
    open("%s/kernel-%04d-%s" % (d, i, "k" * (i % 60)), "w").close()
for i in range(0, 50000, 50):
    os.unlink("%s/entry-%05d-%s" % (d, i, "q" * (i % 40)))
os.rename(d + "/entry-00001-q", d + "/renamed")
PY
}

nomtime() { sed -E 's/ mtime=[-0-9]+$//' "$1" >"$2"; }

# round_trip NAME IMG MODIFY REFDIR: mount IMG rw, run MODIFY on it and on REFDIR, unmount,
# e2fsck, compare
round_trip() {
    local name=$1 img=$2 modify=$3 ref=$4 mnt=$T/mnt-$1
    mkdir -p "$mnt"
    if ! mount -o loop -t ext4 "$img" "$mnt"; then fail "$name: mount -o loop (rw)"; return; fi
    check "$name: the kernel writes into the image" $modify "$mnt"
    $modify "$ref" >/dev/null 2>&1
    if ! umount "$mnt"; then fail "$name: umount"; umount -l "$mnt"; return; fi
    check "$name: e2fsck -fn is still silent after the kernel's writes" ext4_fsck_clean "$img"
    python3 "$X4/treesum.py" "$ref" >"$T/$name.ref.sum"
    ext4_tree "$img" "$T/$name.img.sum" || { fail "$name: remount read-only"; return; }
    nomtime "$T/$name.ref.sum" "$T/$name.ref"
    nomtime "$T/$name.img.sum" "$T/$name.img"
    ext4_same "$name: the kernel reads back what it wrote (mtimes aside)" "$T/$name.ref" "$T/$name.img"
}

# 1. an empty named volume
check "volume create" cz volume create rt1
vol=$(cz volume inspect rt1 | jq -r '.[0].source')
check "the volume's image is e2fsck-clean" ext4_fsck_clean "$vol"
check "the volume has a journal" bash -c "dumpe2fs -h '$vol' 2>/dev/null | grep -q has_journal"
mkdir -p "$T/ref/vol"
chmod 0755 "$T/ref/vol"
both() { kernel_writes "$1"; }
round_trip volume "$vol" both "$T/ref/vol"
check "volume rm" cz volume rm rt1
check "volume rm removed the image" [ ! -e "$vol" ]

# 2. an unpacked image with room to write (attrs fixture)
ext4_fixture attrs "$T/fx-attrs" --compress gzip
ext4_import "$T/fx-attrs" rt-attrs:1
check "unpack attrs --size 2G" cz image unpack rt-attrs:1 --output "$T/attrs.ext4" --size 2G
mkdir -p "$T/ref/attrs"
python3 "$X4/applylayers.py" "$T/fx-attrs" "$T/ref/attrs" || fail "attrs: expectation"
attrs_ops() { modify_attrs "$1" && kernel_writes "$1"; }
round_trip attrs "$T/attrs.ext4" attrs_ops "$T/ref/attrs"
rm -f "$T/attrs.ext4"

# 3. the kernel inserts into and deletes from our hashed 50,000-entry directory
ext4_fixture bigdir "$T/fx-bigdir" --compress gzip
ext4_import "$T/fx-bigdir" rt-bigdir:1
check "unpack bigdir --size 1G" cz image unpack rt-bigdir:1 --output "$T/bigdir.ext4" --size 1G
mkdir -p "$T/ref/bigdir"
python3 "$X4/applylayers.py" "$T/fx-bigdir" "$T/ref/bigdir" || fail "bigdir: expectation"
round_trip bigdir "$T/bigdir.ext4" modify_bigdir "$T/ref/bigdir"
finish
