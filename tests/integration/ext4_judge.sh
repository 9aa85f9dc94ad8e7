#!/usr/bin/env bash
# Checks the judge itself, without our ext4 writer: for every good fixture, the expected
# tree (GNU tar + applylayers.py on a tmpfs) is copied into an image by e2fsprogs
# (`mke2fs -t ext4 -d`), loop-mounted and summed, and `umoci unpack` of the gzip variant
# is summed too. Both must equal the expectation, apart from the differences this script
# prints as KNOWN (mke2fs -d and umoci are not perfect references).
# Runs in make check (TESTS=ext4_judge), as root.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/ext4/lib.sh"
ext4_require umoci
ext4_tmpfs "$T/exp" 2g
for fx in $(python3 "$X4/mklayers.py" list | grep -v '^bad-'); do
    ext4_fixture "$fx" "$T/fx-$fx" || { fail "fixture $fx"; continue; }
    ext4_expect "$T/fx-$fx" "$T/exp/$fx" || { fail "expectation $fx"; continue; }
    img=$T/$fx.img
    rm -f "$img"
    # KNOWN: mke2fs -d adds directory entries in quadratic time (140 s for the
    # 50,000-entry directory here); umoci judges that one below
    if [ "$fx" != bigdir ] &&
        ! mke2fs -q -F -t ext4 -b 4096 -I 256 -E root_owner=0:0 -d "$T/exp/$fx" "$img" 1G >/dev/null 2>&1; then
        fail "mke2fs -d $fx"
    elif [ "$fx" != bigdir ]; then
        check "mke2fs -d image of $fx is fsck-clean" ext4_fsck_clean "$img"
        # mke2fs -d keeps whole seconds only and gives the root its own metadata: compare
        # seconds, the root left out
        ext4_tree "$img" "$T/$fx.mkfs.sum" "$T/exp/$fx.implicit"
        # KNOWN: mke2fs -d 1.47.0 drops the extra epoch bits (times after 2038 wrap negative)
        # and copies hard-linked symlinks as separate symlinks
        secs() { sed -E 's/ mtime=(-?[0-9]+)[0-9]{9}$/ mtime=\1s/; s/ mtime=[0-9]{1,9}$/ mtime=0s/
            /^\. d /d; /^times\/(neg|y2038|y2100) /d; s/^([^ ]+ l .*) nlink=[0-9]+ link=[^ ]+/\1/' "$1"; }
        secs "$T/exp/$fx.sum" >"$T/$fx.exp.secs"
        secs "$T/$fx.mkfs.sum" >"$T/$fx.mkfs.secs"
        ext4_same "mke2fs -d image of $fx equals the expectation (seconds)" "$T/$fx.exp.secs" "$T/$fx.mkfs.secs"
        rm -f "$img"
    fi
    # umoci's independent whiteout handling (gzip layers; no old-GNU sparse in umoci 0.4.7,
    # and it writes the 5 GiB sparse file out in full: too slow for make check)
    case $fx in sparse | bigsparse) continue ;; esac
    ext4_fixture "$fx" "$T/fxg-$fx" --compress gzip
    if umoci unpack --image "$T/fxg-$fx:latest" "$T/exp/u-$fx" >"$T/umoci.log" 2>&1; then
        python3 "$X4/treesum.py" "$T/exp/u-$fx/rootfs" --implicit "$T/exp/$fx.implicit" >"$T/$fx.umoci.sum"
        # KNOWN: umoci 0.4.7 drops xattrs with empty values, leaves "now" as the mtime
        # of a directory that gets an implicitly created child, and extracts aufs
        # metadata (.wh..wh.plnk/...) that Docker skips
        known() { sed -E 's/user\.k000=,//; s/,user\.empty=\]/]/; /^\.wh\.\.wh\./d' "$1" |
            case $fx in
            parents) sed -E '/^(\.|top) d /s/ mtime=.*//' ;;
            aufs) sed -E '/^\. d /s/ mtime=.*//' ;;
            *) cat ;;
            esac; }
        known "$T/exp/$fx.sum" >"$T/$fx.exp.u"
        known "$T/$fx.umoci.sum" >"$T/$fx.umoci.u"
        ext4_same "umoci unpack of $fx equals the expectation" "$T/$fx.exp.u" "$T/$fx.umoci.u"
    else
        fail "umoci unpack $fx: $(tail -1 "$T/umoci.log")"
    fi
    rm -rf "$T/exp/u-$fx" "$T/fxg-$fx"
done
# the fsck check must see a problem e2fsck reports: a wrong free-blocks count in group 0
img=$T/broken.img
mke2fs -q -F -t ext4 "$img" 64M >/dev/null 2>&1
debugfs -w -R "set_bg 0 free_blocks_count 7" "$img" >/dev/null 2>&1
if ext4_fsck_clean "$img" 2>/dev/null; then fail "ext4_fsck_clean misses a corrupt group descriptor"
else pass "ext4_fsck_clean reports a corrupt group descriptor"; fi
finish
