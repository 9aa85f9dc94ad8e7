# Named volumes: create (sparse ext4 with a journal that e2fsck finds clean and
# the kernel mounts read-write), ls in table/quiet/json, inspect, rm, errors.
. "$CZ_SRC/tests/lib.sh"

fsck_clean() {
    local out
    out=$(e2fsck -fn "$1" 2>&1 | grep -Ev '^(e2fsck [0-9]|Pass [1-5]|.* files \(.*blocks$|$)')
    [ -z "$out" ] || { echo "$out" | head -5; return 1; }
}

check "create prints the name" [ "$(cz volume create data --label app=web --label tier=db)" = data ]
check "create with --size" [ "$(cz volume create --size 1G small)" = small ]
img=$CONTAINER_ROOT/volumes/data/volume.ext4
check "the image is 512 GiB, sparse" bash -c "[ \$(stat -c %s '$img') = 549755813888 ] && [ \$(stat -c %b '$img') -lt 65536 ]"
check "the image passes e2fsck -fn" fsck_clean "$img"
check "ls -q lists both, sorted" [ "$(cz volume ls -q | tr '\n' ' ')" = "data small " ]
check "ls table has a header" bash -c "\"$CZ_BIN\" volume ls | head -1 | grep -q '^NAME'"
check "ls --format json" [ "$(cz volume ls --format json | jq -r '.[1].sizeInBytes')" = 1073741824 ]
inspect=$(cz volume inspect data)
check "inspect shows labels" [ "$(echo "$inspect" | jq -r '.[0].labels.tier')" = db ]
check "inspect shows the image" [ "$(echo "$inspect" | jq -r '.[0].source')" = "$img" ]
check "inspect shows the format" [ "$(echo "$inspect" | jq -r '.[0].format')" = ext4 ]
expect_fail "inspect of an unknown volume" "volume 'nope' does not exist" cz volume inspect nope
expect_fail "create of an existing volume" "already exists" cz volume create data
expect_fail "invalid name" "invalid volume name" cz volume create ../evil
expect_fail "invalid label" "invalid volume label" cz volume create lbl --label =x
expect_fail "bad size" "size" cz volume create sz --size lots
expect_fail "rm of an unknown volume" "no such volume" cz volume rm nope
expect_fail "ls with a bad format" "table or json" cz volume ls --format yaml

if [ "$(id -u)" = 0 ] && losetup -f >/dev/null 2>&1; then
    mnt=$T/mnt
    mkdir -p "$mnt"
    small=$CONTAINER_ROOT/volumes/small/volume.ext4
    if mount -o loop "$small" "$mnt"; then
        on_exit "umount '$mnt'"
        echo data >"$mnt/file" && mkdir "$mnt/dir" && sync
        umount "$mnt"
        pass "the kernel mounts a volume read-write"
        check "e2fsck is clean after the kernel wrote" fsck_clean "$small"
    else
        fail "the kernel mounts a volume read-write"
    fi
fi

check "rm removes several" [ "$(cz volume rm data small | tr '\n' ' ')" = "data small " ]
check "nothing left" [ -z "$(cz volume ls -q)" ]
check "no directories left" [ -z "$(ls "$CONTAINER_ROOT/volumes")" ]
finish
