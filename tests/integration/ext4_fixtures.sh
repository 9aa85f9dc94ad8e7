# The ext4 judge on hand-made layers (tests/ext4/mklayers.py): every whiteout,
# replacement and hardlink case, parents missing, PAX/GNU long names and 255-byte
# names, sparse entries (PAX 1.0 and old GNU), a 5 GiB sparse file, a 50,000-entry
# directory, xattrs/ACLs/capabilities, devices, FIFOs, modes, big ids, ns mtimes,
# layers without end-of-archive blocks. Each image goes through `container image
# unpack`; e2fsck -fn must be silent and the kernel's view (loop mount, read-only)
# must equal GNU tar's extraction with the OCI rules applied (applylayers.py).
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/ext4/lib.sh"
ext4_require
ext4_tmpfs "$T/exp" 4g

# unpack_and_judge NAME LAYOUT EXPECTED_DIR [unpack options...]
unpack_and_judge() {
    local name=$1 layout=$2 exp=$3; shift 3
    local img=$T/$name.ext4
    if ! ext4_import "$layout" "x4-$name:latest"; then fail "$name: skopeo copy into the store"; return; fi
    local out
    if ! out=$(cz image unpack "x4-$name:latest" --output "$img" "$@" 2>&1); then
        fail "$name: image unpack $*: $out"
        return
    fi
    check "$name: e2fsck -fn is silent" ext4_fsck_clean "$img"
    local j=
    case " $* " in *" --size "*) j=journal ;; esac
    check "$name: ext4 features, 4 KiB blocks, UUID, lost+found${j:+, journal}" ext4_features "$img" $j
    if ext4_tree "$img" "$T/$name.sum" "$exp.implicit"; then
        ext4_same "$name: the mounted image equals the expectation" "$exp.sum" "$T/$name.sum"
    else
        fail "$name: mount the image"
    fi
    LAST_IMG=$img
}

for fx in $(python3 "$X4/mklayers.py" list | grep -v '^bad-'); do
    ext4_fixture "$fx" "$T/fx-$fx" --compress mixed || { fail "fixture $fx"; continue; }
    ext4_expect "$T/fx-$fx" "$T/exp/$fx" || { fail "expectation for $fx"; continue; }
    unpack_and_judge "$fx" "$T/fx-$fx" "$T/exp/$fx"
    case $fx in
    bigdir)
        mnt=$T/mnt-bigdir; mkdir -p "$mnt"
        if mount -o ro,loop "$LAST_IMG" "$mnt"; then
            check "bigdir: the 50,000-entry directory is hashed (lsattr I)" \
                bash -c "lsattr -d '$mnt/big' | awk '{print \$1}' | grep -q I"
            check "bigdir: lookups by name find first, middle, last entries" \
                stat -c %s "$mnt/big/entry-00000-" "$mnt/big/entry-24999-$(printf 'q%.0s' $(seq 39))" \
                "$mnt/big/entry-49999-$(printf 'q%.0s' $(seq 39))" "$mnt/big/sub"
            check "bigdir: a missing name is not found" bash -c "! stat '$mnt/big/entry-50000-' 2>/dev/null"
            check "bigdir: readdir lists 50,001 entries" [ "$(ls -f "$mnt/big" | wc -l)" -eq 50003 ]
            umount "$mnt"
        else
            fail "bigdir: mount"
        fi
        ;;
    bigsparse)
        used=$(du -k "$LAST_IMG" | cut -f1)
        check "bigsparse: the image with a 5 GiB sparse file and 136 MiB of data uses $used KiB on disk (< 200 MiB)" \
            [ "$used" -lt 204800 ]
        ;;
    sparse)
        depth=$(debugfs -R "ex /deep-extents" "$LAST_IMG" 2>/dev/null | awk 'NR == 2 {print $2}')
        check "sparse: the 2000-extent file has a depth-2 extent tree (depth ${depth:-?})" [ "${depth:-0}" -ge 2 ]
        ;;
    esac
    rm -f "$T/$fx.ext4"
    cz image rm "x4-$fx:latest" >/dev/null 2>&1
done

# every compression for the multi-layer whiteout case, and sized images with a journal
for c in tar gzip zstd; do
    ext4_fixture whiteouts "$T/fxc-$c" --compress "$c"
    unpack_and_judge "whiteouts-$c" "$T/fxc-$c" "$T/exp/whiteouts"
done
ext4_fixture attrs "$T/fx-attrs-sized" --compress gzip
unpack_and_judge "attrs-sized" "$T/fx-attrs-sized" "$T/exp/attrs" --size 1G
check "attrs-sized: --size 1G gives a 1 GiB image" [ "$(stat -c %s "$T/attrs-sized.ext4")" -eq 1073741824 ]
ext4_fixture hardlinks "$T/fx-hl-big" --compress zstd
unpack_and_judge "hardlinks-512g" "$T/fx-hl-big" "$T/exp/hardlinks" --size 512G
check "hardlinks-512g: a 512 GiB image stays sparse (< 64 MiB on disk)" \
    [ "$(du -k "$T/hardlinks-512g.ext4" | cut -f1)" -lt 65536 ]

# a multi-platform index: the host's platform by default, --platform picks another
python3 "$X4/mklayers.py" platforms "$T/plat" &&
    skopeo copy -q --all --preserve-digests "oci:$T/plat:latest" "oci:$CONTAINER_ROOT/content:plat:1" >/dev/null ||
    fail "platforms: layout and import"
check "platforms: default is linux/amd64" bash -c "'$CZ_BIN' image unpack plat:1 -o '$T/plat.ext4' &&
    [ \"\$(debugfs -R 'cat /platform' '$T/plat.ext4' 2>/dev/null)\" = linux/amd64 ]"
check "platforms: --platform linux/arm64" bash -c "'$CZ_BIN' image unpack plat:1 -o '$T/plat.ext4' --platform linux/arm64 &&
    [ \"\$(debugfs -R 'cat /platform' '$T/plat.ext4' 2>/dev/null)\" = linux/arm64 ]"
check "platforms: e2fsck -fn is silent" ext4_fsck_clean "$T/plat.ext4"
rm -f "$T/plat.ext4"
expect_fail "platforms: a platform the index lacks is refused" "s390x|platform" \
    cz image unpack plat:1 -o "$T/plat.ext4" --platform linux/s390x
check "platforms: no output after the refusal" [ ! -e "$T/plat.ext4" ]

# progress on a terminal (bytes and entries), nothing on a pipe
ext4_import "$T/fx-attrs-sized" prog:1
tty_out=$(script -qec "'$CZ_BIN' image unpack prog:1 --output '$T/prog.ext4'" /dev/null 2>&1)
check "progress is shown on a terminal (bytes and entries)" \
    bash -c "printf '%s' \"\$1\" | grep -q 'entries' && printf '%s' \"\$1\" | grep -Eq '[0-9.]+ ?[kMG]?B'" _ "$tty_out"
check "nothing is printed on a pipe" [ -z "$(cz image unpack prog:1 --output "$T/prog.ext4" 2>&1 | cat)" ]
label=$(ext4_label "$T/prog.ext4")
has_label() { [ -n "$1" ] && [ "$1" != "<none>" ]; }
check "the image has a label (issue 3: a UUID and a label): '$label'" has_label "$label"
finish
