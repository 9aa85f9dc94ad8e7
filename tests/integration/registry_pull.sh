#!/usr/bin/env bash
# Pull and push against Debian's docker-registry, checked both ways against
# skopeo with identical digests: OCI and Docker media types, gzip, zstd and
# uncompressed layers, pull by digest, cross-repository mount, chunked upload,
# concurrent pulls of one image.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/integration/helpers/registry_lib.sh"

start_registry || { fail "start registry"; finish; }
L=$T/layout
umoci_image "$L" base 1 amd64 512 || fail "build fixture"
skopeo_push "$L:base" lib/app:1 || fail "skopeo push fixture"

# --- skopeo pushes, we pull ---
out=$(cz image pull "$REG/lib/app:1" 2>"$T/err"); rc=$?
check "pull succeeds" test $rc -eq 0
want=$(remote_digest "$REG/lib/app:1")
check "pull prints the registry's digest" test "$(pulled_digest "$out")" = "$want"
check "pull names the image by its full reference" test "$(store_target "$REG/lib/app:1")" = "$want"
check "plain progress lines when stderr is not a terminal" grep -q "Pull complete" "$T/err"
check "skopeo reads the pulled image from our store" \
    skopeo inspect "oci:$CONTAINER_ROOT/content:$REG/lib/app:1"
check "umoci lists our store" bash -c "umoci ls --layout '$CONTAINER_ROOT/content' | grep -qF '$REG/lib/app:1'"
check "store consistent after pull" store_consistent
nblobs=$(ls "$CONTAINER_ROOT/content/blobs/sha256" | wc -l)
check "manifest, config and two layers stored" test "$nblobs" -eq 4

out=$(cz image pull "$REG/lib/app:1" 2>"$T/err2")
check "second pull finds the layers present" grep -q "Already exists" "$T/err2"
check "second pull, same digest" test "$(pulled_digest "$out")" = "$want"

quiet=$(cz image pull --quiet "$REG/lib/app:1" 2>&1)
check "--quiet prints only the reference" test "$quiet" = "$REG/lib/app:1"

# pull by digest
out=$(cz image pull "$REG/lib/app@$want" 2>/dev/null)
check "pull by digest" test "$(pulled_digest "$out")" = "$want"
check "by-digest name stored" test "$(store_target "$REG/lib/app@$want")" = "$want"

# --- Docker schema 2 media types ---
skopeo_push "$L:base" lib/docker:1 --format v2s2
want=$(remote_digest "$REG/lib/docker:1")
out=$(cz image pull "$REG/lib/docker:1" 2>/dev/null)
check "pull Docker v2s2 image, same digest" test "$(pulled_digest "$out")" = "$want"
mt=$(jq -r --arg n "$REG/lib/docker:1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .mediaType' "$CONTAINER_ROOT/content/index.json")
check "Docker media type kept in the store" test "$mt" = application/vnd.docker.distribution.manifest.v2+json

# --- layer compressions ---
for comp in uncompressed gzip zstd; do
    raw_image "$L" "raw-$comp" "c$comp" "$comp"
    skopeo_push "$L:raw-$comp" "comp/$comp:1"
    want=$(remote_digest "$REG/comp/$comp:1")
    out=$(cz image pull "$REG/comp/$comp:1" 2>&1)
    check "pull $comp layers, same digest" test "$(pulled_digest "$out")" = "$want"
done
skopeo copy -q --dest-tls-verify=false --dest-compress-format zstd "oci:$L:base" "docker://$REG/comp/skopeo-zstd:1" >/dev/null
want=$(remote_digest "$REG/comp/skopeo-zstd:1")
out=$(cz image pull "$REG/comp/skopeo-zstd:1" 2>&1)
check "pull skopeo-recompressed zstd layers" test "$(pulled_digest "$out")" = "$want"

# --- we push, skopeo pulls ---
# name a copy in another repository (and another registry path) in our store
skopeo copy -q "oci:$CONTAINER_ROOT/content:$REG/lib/app:1" "oci:$CONTAINER_ROOT/content:$REG/pushed/app:7" >/dev/null
local_digest=$(store_target "$REG/pushed/app:7")
out=$(cz image push "$REG/pushed/app:7" 2>"$T/push-err"); rc=$?
check "push succeeds" test $rc -eq 0
check "push prints the digest" grep -qF "digest: $local_digest" <<<"$out"
check "blobs mounted from the repository they were pulled from" grep -q "Mounted from another repository" "$T/push-err"
check "skopeo sees the pushed manifest with the same digest" test "$(remote_digest "$REG/pushed/app:7")" = "$local_digest"
check "skopeo copies the pushed image" skopeo copy -q --src-tls-verify=false "docker://$REG/pushed/app:7" "oci:$T/back:x"

out=$(cz image push "$REG/pushed/app:7" 2>"$T/push-err2")
check "second push skips existing blobs" grep -q "Layer already exists" "$T/push-err2"

# a fresh registry: no mount possible, chunked PATCH for "large" blobs
start_registry || fail "second registry"
REG2=$REG
skopeo copy -q "oci:$L:base" "oci:$CONTAINER_ROOT/content:$REG2/chunked/app:1" >/dev/null
d=$(store_target "$REG2/chunked/app:1")
CZ_PUSH_CHUNK=65536 cz image push "$REG2/chunked/app:1" >/dev/null 2>"$T/chunk-err"
check "chunked push succeeds" test $? -eq 0
check "chunked push: skopeo digest matches" test "$(remote_digest "$REG2/chunked/app:1")" = "$d"
check "chunked push: skopeo copies it" skopeo copy -q --src-tls-verify=false "docker://$REG2/chunked/app:1" "oci:$T/back2:x"
check "chunked push: layer bytes identical" bash -c "cmp '$T/back2/blobs/sha256/'\$(jq -r '.layers[1].digest' '$T/back2/blobs/sha256/${d#sha256:}' | cut -d: -f2) '$CONTAINER_ROOT/content/blobs/sha256/'\$(jq -r '.layers[1].digest' '$T/back2/blobs/sha256/${d#sha256:}' | cut -d: -f2)"

# --- two processes pull the same image at once into one store ---
umoci_image "$L" big 9 amd64 4096
skopeo_push "$L:big" conc/app:1
want=$(remote_digest "$REG/conc/app:1")
export CONTAINER_ROOT=$T/conc-root
cz image pull -q "$REG/conc/app:1" >"$T/c1" 2>&1 &
p1=$!
cz image pull -q "$REG/conc/app:1" >"$T/c2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "concurrent pulls both succeed" test $r1 -eq 0 -a $r2 -eq 0
check "concurrent pulls: one name, right digest" test "$(store_target "$REG/conc/app:1")" = "$want"
check "concurrent pulls: store consistent" store_consistent
check "concurrent pulls: skopeo reads the store" skopeo inspect "oci:$CONTAINER_ROOT/content:$REG/conc/app:1"
check "concurrent pulls: umoci reads the store" umoci ls --layout "$CONTAINER_ROOT/content"

finish
