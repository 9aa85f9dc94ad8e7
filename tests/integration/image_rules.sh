# The store's rules that protect what is in use, and archives that lie: found
# in review, kept fixed here.
. "$CZ_SRC/tests/lib.sh"
mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" used:1 >/dev/null
cz create --name user1 used:1 >/dev/null

expect_fail "rm of an image a container uses" "container user1 uses it" cz image rm used:1
cz image rm -f used:1 >/dev/null
check "rm -f untags it" bash -c "! \"$CZ_BIN\" image inspect used:1 >/dev/null 2>&1"
check "its content stays while the container exists" [ -n "$(ls "$CONTAINER_ROOT/content/blobs/sha256")" ]
cz image import "$T/rootfs" other:1 >/dev/null
cz image prune -a >/dev/null
check "prune -a keeps content a container uses" [ -n "$(ls "$CONTAINER_ROOT/content/blobs/sha256")" ]
cz rm user1 >/dev/null
cz image prune >/dev/null
check "content goes once the container is removed" [ -z "$(ls "$CONTAINER_ROOT/content/blobs/sha256")" ]

cz image import "$T/rootfs" a:1 >/dev/null
cz image tag a:1 b:1
id=$(cz image ls -q | head -1)
expect_fail "rm by ID of an image with several names" "has 2 names" cz image rm "$id"
check "both names survive" [ "$(cz image ls --format json | jq length)" = 2 ]
expect_fail "tag with a digest" "digest reference" cz image tag a:1 "x@sha256:$(printf '0%.0s' $(seq 64))"
expect_fail "import with a digest" "digest reference" cz image import "$T/rootfs" "y@sha256:$(printf '0%.0s' $(seq 64))"
check "docker.io/name is an official image" bash -c "\"$CZ_BIN\" image tag a:1 docker.io/short:2 && \"$CZ_BIN\" image inspect short:2 >/dev/null"

# An index.json whose second entry lies: nothing is named.
cz image save -o "$T/a.tar" a:1
mkdir "$T/lie" && tar -C "$T/lie" -xf "$T/a.tar"
jq --arg d "sha256:$(printf 'a%.0s' $(seq 64))" \
    '.manifests += [.manifests[0] | .digest = $d | .annotations["io.containerd.image.name"] = "docker.io/library/second:1"]' \
    "$T/lie/index.json" >"$T/lie/index.new" && mv "$T/lie/index.new" "$T/lie/index.json"
tar -C "$T/lie" -cf "$T/lie.tar" .
expect_fail "an archive with a missing blob" "lacks blob" env CONTAINER_ROOT="$T/r2" "$CZ_BIN" image load -i "$T/lie.tar"
check "it named nothing" [ "$(CONTAINER_ROOT=$T/r2 cz image ls -q)" = "" ]

# An unnamed image saved and loaded again stays unnamed.
jq 'del(.manifests[0].annotations)' "$T/lie/index.json" | jq '.manifests |= [.[0]]' >"$T/lie/index.new"
mv "$T/lie/index.new" "$T/lie/index.json"
rm -f "$T/lie/manifest.json"
tar -C "$T/lie" -cf "$T/unnamed.tar" .
CONTAINER_ROOT=$T/r3 cz image load -i "$T/unnamed.tar" >/dev/null
uid=$(CONTAINER_ROOT=$T/r3 cz image ls -q)
CONTAINER_ROOT=$T/r3 cz image save -o "$T/rt.tar" "$uid"
check "save writes no name for it" [ "$(tar -xOf "$T/rt.tar" manifest.json | jq -c '.[0].RepoTags')" = '[]' ]
CONTAINER_ROOT=$T/r4 cz image load -i "$T/rt.tar" >/dev/null
check "loading it again names no sha256 repository" bash -c "! CONTAINER_ROOT=$T/r4 \"$CZ_BIN\" image ls | grep -q '^sha256 '"

# docker save archives whose identical layers are hard links load fine.
inspect=$(cz image inspect a:1)
layer=$(echo "$inspect" | jq -r '.[0].manifest.content.layers[0].digest')
cfg=$(echo "$inspect" | jq -r '.[0].manifest.content.config.digest')
mkdir -p "$T/hl/l1" "$T/hl/l2"
gzip -dc "$CONTAINER_ROOT/content/blobs/sha256/${layer#sha256:}" >"$T/hl/l1/layer.tar"
ln "$T/hl/l1/layer.tar" "$T/hl/l2/layer.tar"
jq '.rootfs.diff_ids += [.rootfs.diff_ids[0]]' "$CONTAINER_ROOT/content/blobs/sha256/${cfg#sha256:}" >"$T/hl/config.json"
printf '[{"Config":"config.json","RepoTags":["hl:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]' >"$T/hl/manifest.json"
tar -C "$T/hl" -cf "$T/hl.tar" manifest.json config.json l1/layer.tar l2/layer.tar
check "hard-linked layers load" bash -c "CONTAINER_ROOT=$T/r5 \"$CZ_BIN\" image load -i '$T/hl.tar' | grep -q 'hl:1'"
check "with both layers" [ "$(CONTAINER_ROOT=$T/r5 cz image inspect hl:1 | jq '.[0].manifest.content.layers | length')" = 2 ]

# A docker save archive whose config does not describe its layers is refused.
jq '.rootfs.diff_ids = ["sha256:'"$(printf 'b%.0s' $(seq 64))"'", .rootfs.diff_ids[0]]' "$T/hl/config.json" >"$T/hl/bad.json"
printf '[{"Config":"bad.json","RepoTags":["bad:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]' >"$T/hl/manifest.json"
tar -C "$T/hl" -cf "$T/bad.tar" manifest.json bad.json l1/layer.tar l2/layer.tar
expect_fail "layers that do not match diff_ids" "does not match the config's diff_id" env CONTAINER_ROOT="$T/r6" "$CZ_BIN" image load -i "$T/bad.tar"

# A tarball whose entries climb out of the root is refused by import.
mkdir -p "$T/evil/sub"
echo x >"$T/evil/sub/f"
tar -C "$T/evil/sub" -cf "$T/evil.tar" --transform 's|^f$|../../escape|' f
expect_fail "import of a tarball with .. entries" "escapes the root" cz image import "$T/evil.tar" evil:1
finish
