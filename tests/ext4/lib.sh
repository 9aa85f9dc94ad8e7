# Helpers for the ext4 integration tests (bash), sourced after tests/lib.sh.
# The judge: expectations come from GNU tar (applylayers.py) on a tmpfs, the kernel reads
# our images through a read-only loop mount, treesum.py turns both trees into manifests.
X4=$CZ_SRC/tests/ext4
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree

# ext4_require: every tool the judge needs, or the test fails (nothing is skipped silently).
ext4_require() {
    local t missing=
    for t in python3 tar gzip zstd e2fsck mke2fs dumpe2fs debugfs mount umount losetup skopeo jq script lsattr "$@"; do
        command -v "$t" >/dev/null || missing="$missing $t"
    done
    if [ "$(id -u)" != 0 ]; then missing="$missing root(loop mounts)"; fi
    if [ -n "$missing" ]; then
        fail "ext4 tests need:$missing (scripts/install-deps)"
        finish
    fi
}

# ext4_tmpfs DIR [SIZE]: a private tmpfs for expected trees, unmounted at exit.
ext4_tmpfs() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=${2:-2g},mode=0755" tmpfs "$1" || { fail "mount tmpfs $1"; finish; }
    on_exit "umount -l '$1'"
}

# ext4_fixture NAME OUTDIR [--compress C]: an OCI layout (see mklayers.py)
ext4_fixture() { python3 "$X4/mklayers.py" "$@"; }

# ext4_expect LAYOUT DIR: DIR.sum is the expected manifest (DIR.implicit its undefined mtimes)
ext4_expect() {
    mkdir -p "$2" && python3 "$X4/applylayers.py" "$1" "$2" --implicit "$2.implicit" &&
        python3 "$X4/treesum.py" "$2" --implicit "$2.implicit" >"$2.sum"
}

# ext4_import LAYOUT REF: puts the image into the store ($CONTAINER_ROOT/content)
ext4_import() {
    mkdir -p "$CONTAINER_ROOT/content"
    skopeo copy -q --preserve-digests "oci:$1:latest" "oci:$CONTAINER_ROOT/content:$2" >/dev/null
}

# ext4_fsck_clean IMG: e2fsck -fn exits 0 and prints nothing beyond its banner, the pass
# names and the summary line. Prints what it said otherwise.
ext4_fsck_clean() {
    local out rc
    out=$(e2fsck -fn "$1" 2>&1); rc=$?
    local extra
    extra=$(printf '%s\n' "$out" | grep -Ev '^e2fsck [0-9.]+ \(|^Pass [1-5]: (Checking (inodes, blocks, and sizes|directory structure|directory connectivity|reference counts|group summary information))$|^[^ ]+: [0-9]+/[0-9]+ files \([0-9.]+% non-contiguous\), [0-9]+/[0-9]+ blocks$|^$')
    if [ "$rc" -ne 0 ] || [ -n "$extra" ]; then
        echo "e2fsck -fn $1: exit $rc" >&2
        printf '%s\n' "$out" | head -30 >&2
        return 1
    fi
}

# ext4_tree IMG OUT [IMPLICIT]: manifest of IMG as the kernel sees it (mount -o ro,loop)
ext4_tree() {
    local img=$1 out=$2 implicit=${3:-} mnt
    mnt=$(mktemp -d "$T/mnt.XXXXXX")
    mount -o ro,loop -t ext4 "$img" "$mnt" || { echo "mount -o ro,loop $img failed" >&2; return 1; }
    local rc=0
    if [ -n "$implicit" ]; then
        python3 "$X4/treesum.py" "$mnt" --skip-lost-found --implicit "$implicit" >"$out" || rc=1
    else
        python3 "$X4/treesum.py" "$mnt" --skip-lost-found >"$out" || rc=1
    fi
    umount "$mnt" || rc=1
    rmdir "$mnt"
    return $rc
}

# ext4_same NAME EXPECTED ACTUAL: PASS when the manifests are identical, else FAIL with
# the first differing lines (unified diff, - expected, + image)
ext4_same() {
    if cmp -s "$2" "$3"; then
        pass "$1"
    else
        fail "$1: tree differs from the expectation (- expected, + image):"
        diff -U0 "$2" "$3" | grep -E '^[-+][^-+]' | head -${EXT4_DIFF_LINES:-16} | cut -c1-400
    fi
}

# ext4_mount_rw IMG DIR: read-write loop mount, unmounted at exit
ext4_mount_rw() {
    mkdir -p "$2"
    mount -o loop -t ext4 "$1" "$2" || return 1
    on_exit "umount -l '$2'"
}

# ext4_features IMG [journal]: the superblock has the features issue 3 asks for (and a
# journal when asked), 4 KiB blocks, a UUID, and a lost+found directory
ext4_features() {
    local img=$1 want="ext_attr dir_index filetype extent flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum"
    [ "${2:-}" = journal ] && want="$want has_journal"
    local hdr f missing=
    hdr=$(dumpe2fs -h "$img" 2>/dev/null) || { echo "dumpe2fs -h $img failed" >&2; return 1; }
    for f in $want; do
        printf '%s\n' "$hdr" | grep -E '^Filesystem features:' | grep -qw -- "$f" || missing="$missing $f"
    done
    [ -z "$missing" ] || { echo "$img lacks features:$missing" >&2; return 1; }
    printf '%s\n' "$hdr" | grep -Eq '^Block size: +4096$' || { echo "$img: block size is not 4096" >&2; return 1; }
    if ! printf '%s\n' "$hdr" | grep -Eq '^Filesystem UUID: +[0-9a-f-]{36}$' ||
        printf '%s\n' "$hdr" | grep -q '00000000-0000-0000-0000-000000000000'; then
        echo "$img: no UUID" >&2
        return 1
    fi
    debugfs -R 'stat /lost+found' "$img" 2>/dev/null | grep -q 'Type: directory' ||
        { echo "$img: no lost+found directory" >&2; return 1; }
}

# ext4_label IMG: prints the volume label ("<none>" when there is none)
ext4_label() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p'; }
