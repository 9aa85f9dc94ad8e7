# The local image store: import, ls, inspect, tag, rm, prune, save/load, and
# interoperability with skopeo and umoci reading/writing the same OCI layout.
. "$CZ_SRC/tests/lib.sh"

mkdir -p "$T/rootfs/bin" "$T/rootfs/etc" "$T/rootfs/dev"
cp /bin/busybox "$T/rootfs/bin/"
ln -s busybox "$T/rootfs/bin/sh"
echo "hello from the image" >"$T/rootfs/etc/motd"
ln "$T/rootfs/etc/motd" "$T/rootfs/etc/motd.link"
mkfifo "$T/rootfs/dev/fifo"
setfattr -n user.note -v xattr-value "$T/rootfs/etc/motd" 2>/dev/null || true

digest=$(cz image import -c 'CMD ["/bin/sh"]' -c 'ENV A=1 B=two' -c 'WORKDIR /etc' \
    -m "first import" "$T/rootfs" demo:1)
check "import prints a manifest digest" bash -c "echo '$digest' | grep -Eqx 'sha256:[0-9a-f]{64}'"
check "ls lists the imported image" bash -c "\"$CZ_BIN\" image ls | grep -Eq '^demo +1 +${digest:7:12} +linux/amd64'"
check "ls -q prints its ID" [ "$(cz image ls -q)" = "${digest:7:12}" ]

inspect=$(cz image inspect demo:1)
check "inspect shows the digest" [ "$(echo "$inspect" | jq -r '.[0].digest')" = "$digest" ]
check "inspect shows CMD from --change" [ "$(echo "$inspect" | jq -c '.[0].config.content.config.Cmd')" = '["/bin/sh"]' ]
check "inspect shows ENV from --change" bash -c "echo '$inspect' | jq -e '.[0].config.content.config.Env | index(\"B=two\")' >/dev/null"
check "inspect shows the platform" [ "$(echo "$inspect" | jq -r '.[0].platforms[0]')" = linux/amd64 ]
check "inspect by ID prefix" [ "$(cz image inspect "${digest:7:8}" | jq -r '.[0].name')" = docker.io/library/demo:1 ]

# The layer holds what the directory held (GNU tar is the judge).
layer=$(echo "$inspect" | jq -r '.[0].manifest.content.layers[0].digest')
mkdir "$T/x"
tar -xzf "$CONTAINER_ROOT/content/blobs/sha256/${layer#sha256:}" -C "$T/x"
check "layer content round-trips" cmp "$T/rootfs/bin/busybox" "$T/x/bin/busybox"
check "layer keeps symlinks" [ "$(readlink "$T/x/bin/sh")" = busybox ]
check "layer keeps hardlinks" [ "$(stat -c %i "$T/x/etc/motd")" = "$(stat -c %i "$T/x/etc/motd.link")" ]
check "layer keeps fifos" [ -p "$T/x/dev/fifo" ]
diff_id=$(echo "$inspect" | jq -r '.[0].config.content.rootfs.diff_ids[0]')
check "diff_id is the uncompressed layer's digest" [ "sha256:$(gzip -dc "$CONTAINER_ROOT/content/blobs/sha256/${layer#sha256:}" | sha256sum | cut -d' ' -f1)" = "$diff_id" ]

# Other OCI tools read our store...
check "skopeo inspects our store" [ "$(skopeo inspect oci:"$CONTAINER_ROOT/content":docker.io/library/demo:1 | jq -r .Digest)" = "$digest" ]
check "umoci lists our store" bash -c "umoci ls --layout '$CONTAINER_ROOT/content' | grep -qx docker.io/library/demo:1"
# ...and write it: an image skopeo copies in is listed and usable.
skopeo copy -q oci:"$CONTAINER_ROOT/content":docker.io/library/demo:1 oci:"$CONTAINER_ROOT/content":fromskopeo:v1
check "an image skopeo copied in is listed" bash -c "\"$CZ_BIN\" image ls | grep -Eq '^fromskopeo +v1 '"
check "and inspectable by its name" [ "$(cz image inspect fromskopeo:v1 | jq -r '.[0].digest')" = "$digest" ]

# tag
cz image tag demo:1 localhost:5000/team/demo:2
check "tag adds a name" bash -c "\"$CZ_BIN\" image ls --format json | jq -e 'map(.name) | index(\"localhost:5000/team/demo:2\")' >/dev/null"
expect_fail "tag to an invalid name" "invalid reference" cz image tag demo:1 'Bad Name'
expect_fail "tag of a missing image" "not found" cz image tag nothere:1 x:1

# save / load round trip into a second store, digests identical
cz image save -o "$T/demo.tar" demo:1 localhost:5000/team/demo:2
check "save writes an OCI layout" bash -c "tar -tf '$T/demo.tar' | grep -qx oci-layout && tar -tf '$T/demo.tar' | grep -qx index.json"
check "skopeo reads the saved archive" [ "$(skopeo inspect oci-archive:"$T/demo.tar":docker.io/library/demo:1 | jq -r .Digest)" = "$digest" ]
out=$(CONTAINER_ROOT=$T/root2 cz image load -i "$T/demo.tar")
check "load reports the names" bash -c "echo '$out' | grep -q 'Loaded image: demo:1' && echo '$out' | grep -q 'Loaded image: localhost:5000/team/demo:2'"
check "load keeps the digest" [ "$(CONTAINER_ROOT=$T/root2 cz image inspect demo:1 | jq -r '.[0].digest')" = "$digest" ]
check "load from stdin" bash -c "CONTAINER_ROOT=$T/root3 \"$CZ_BIN\" image load <'$T/demo.tar' | grep -q 'demo:1'"

# A docker save archive of the classic layout (<id>.json, <dir>/layer.tar).
mkdir -p "$T/dsave/abc123"
gzip -dc "$CONTAINER_ROOT/content/blobs/sha256/${layer#sha256:}" >"$T/dsave/abc123/layer.tar"
cfg=$(echo "$inspect" | jq -r '.[0].manifest.content.config.digest')
cp "$CONTAINER_ROOT/content/blobs/sha256/${cfg#sha256:}" "$T/dsave/${cfg#sha256:}.json"
echo '1.0' >"$T/dsave/abc123/VERSION"
printf '[{"Config":"%s.json","RepoTags":["legacy/app:3"],"Layers":["abc123/layer.tar"]}]' "${cfg#sha256:}" >"$T/dsave/manifest.json"
tar -C "$T/dsave" -cf "$T/dsave.tar" .
out=$(CONTAINER_ROOT=$T/root4 cz image load -i "$T/dsave.tar" 2>&1)
check "docker save archive loads" bash -c "echo '$out' | grep -q 'Loaded image: legacy/app:3'"
check "its config is kept" [ "$(CONTAINER_ROOT=$T/root4 cz image inspect legacy/app:3 | jq -r '.[0].config.digest')" = "$cfg" ]

# Bad archives leave the store as it was.
before=$(ls "$CONTAINER_ROOT/content/blobs/sha256" | sort | md5sum)
head -c 3000 "$T/demo.tar" >"$T/trunc.tar"
expect_fail "truncated archive" "load .*trunc.tar" cz image load -i "$T/trunc.tar"
mkdir -p "$T/liar/blobs/sha256"
echo "not what the name says" >"$T/liar/blobs/sha256/$(printf '0%.0s' $(seq 64))"
echo '{"imageLayoutVersion":"1.0.0"}' >"$T/liar/oci-layout"
tar -C "$T/liar" -cf "$T/liar.tar" .
expect_fail "archive blob that does not match its digest" "digest mismatch" cz image load -i "$T/liar.tar"
echo "garbage" >"$T/garbage.tar"
expect_fail "not an archive" "load" cz image load -i "$T/garbage.tar"
check "store unchanged after bad loads" [ "$(ls "$CONTAINER_ROOT/content/blobs/sha256" | sort | md5sum)" = "$before" ]
check "no temp files left" [ -z "$(ls -A "$CONTAINER_ROOT/tmp/ingest")" ]

# Bad input to commands.
expect_fail "invalid reference" "invalid reference" cz image inspect 'UPPER:case'
expect_fail "unknown option" "unknown option" cz image ls --bogus
expect_fail "bad format" "table or json" cz image ls --format yaml
expect_fail "missing source" "import .*nope" cz image import "$T/nope" x:1
expect_fail "bad change" "invalid change" cz image import -c 'FROB x' "$T/rootfs" x:1
expect_fail "rm of a missing image" "not found" cz image rm nothere:1
check "rm -f of a missing image succeeds" cz image rm -f nothere:1
check "--help on a command" bash -c "\"$CZ_BIN\" image save --help | grep -q 'Usage: container image save'"
check "--version" bash -c "\"$CZ_BIN\" --version | grep -Eq '^container version [0-9]'"

# Full disk: import into a tiny tmpfs fails cleanly.
mkdir -p "$T/small"
if mount -t tmpfs -o size=600k tmpfs "$T/small" 2>/dev/null; then
    on_exit "umount '$T/small'"
    expect_fail "import on a full disk" "No space left" env CONTAINER_ROOT="$T/small/root" "$CZ_BIN" image import "$T/rootfs" big:1
    check "no partial blob after a full disk" [ -z "$(ls -A "$T/small/root/tmp/ingest")" ]
    check "no image named after a full disk" [ "$(CONTAINER_ROOT=$T/small/root cz image ls -q)" = "" ]
else
    fail "could not mount a tmpfs for the full-disk case"
fi

# rm and prune collect unreferenced blobs.
cz image rm demo:1 localhost:5000/team/demo:2 >/dev/null
check "content shared with another name survives rm" [ -n "$(ls "$CONTAINER_ROOT/content/blobs/sha256")" ]
cz image rm fromskopeo:v1 >/dev/null
check "rm of the last name deletes the blobs" [ -z "$(ls "$CONTAINER_ROOT/content/blobs/sha256")" ]
out=$(CONTAINER_ROOT=$T/root2 cz image prune -a)
check "prune -a empties a store" bash -c "[ -z \"\$(ls '$T/root2/content/blobs/sha256')\" ] && echo '$out' | grep -q 'Total reclaimed space'"
finish
