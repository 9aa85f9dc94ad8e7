#!/usr/bin/env bash
# A two-platform index (hand-written index.json, pushed with skopeo --all):
# pull one platform with --platform, then add the other to the same image;
# push the whole index back and compare digests with skopeo; a push with a
# platform missing locally names it.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/integration/helpers/registry_lib.sh"

start_registry || { fail "start registry"; finish; }
L=$T/layout
umoci_image "$L" amd 1 amd64 && umoci_image "$L" arm 2 arm64 || fail "build fixtures"
make_index "$L" multi amd linux/amd64 arm linux/arm64 || fail "write index"
skopeo copy -q --all --dest-tls-verify=false "oci:$L:multi" "docker://$REG/multi/app:1" >/dev/null ||
    fail "skopeo push index"

want=$(remote_digest "$REG/multi/app:1")
amd=$(layout_desc "$L" amd | jq -r .digest)
arm=$(layout_desc "$L" arm | jq -r .digest)
has_blob() { test -f "$CONTAINER_ROOT/content/blobs/sha256/${1#sha256:}"; }

out=$(cz image pull --platform linux/arm64 "$REG/multi/app:1" 2>&1)
check "pull --platform linux/arm64 prints the index digest" test "$(pulled_digest "$out")" = "$want"
check "the name points at the index" test "$(store_target "$REG/multi/app:1")" = "$want"
check "arm64 manifest stored" has_blob "$arm"
check "amd64 manifest not stored" bash -c "! test -f '$CONTAINER_ROOT/content/blobs/sha256/${amd#sha256:}'"
check "skopeo reads the arm64 image from the store" \
    bash -c "skopeo inspect --override-arch arm64 'oci:$CONTAINER_ROOT/content:$REG/multi/app:1' | jq -e '.Architecture == \"arm64\"' >/dev/null"

expect_fail "push with a platform missing locally names it" "linux/amd64.*not present locally" \
    cz image push "$REG/multi/app:1"

out=$(cz image pull --platform linux/amd64 "$REG/multi/app:1" 2>&1)
check "adding amd64 keeps the same index" test "$(pulled_digest "$out")" = "$want"
check "both platforms now stored" bash -c "test -f '$CONTAINER_ROOT/content/blobs/sha256/${amd#sha256:}' && test -f '$CONTAINER_ROOT/content/blobs/sha256/${arm#sha256:}'"
check "still one name for the image" test "$(image_names | grep -c "multi/app")" -eq 1
check "store consistent" store_consistent

# default platform is the host's (amd64 here)
rm -rf "$CONTAINER_ROOT"
out=$(cz image pull "$REG/multi/app:1" 2>&1)
check "default platform is the host's" has_blob "$amd"
check "...and only the host's" bash -c "! test -f '$CONTAINER_ROOT/content/blobs/sha256/${arm#sha256:}'"

expect_fail "a platform the index lacks is named" "linux/s390x" \
    cz image pull --platform linux/s390x "$REG/multi/app:1"
expect_fail "invalid platform" "platform" cz image pull --platform "linux/" "$REG/multi/app:1"

# whole index back to another repository; skopeo sees identical digests
cz image pull -q --platform linux/arm64 "$REG/multi/app:1" >/dev/null
skopeo copy -q --all "oci:$CONTAINER_ROOT/content:$REG/multi/app:1" "oci:$CONTAINER_ROOT/content:$REG/copy/app:2" >/dev/null
out=$(cz image push "$REG/copy/app:2" 2>&1); rc=$?
check "push index succeeds" test $rc -eq 0
check "pushed index has the same digest" test "$(remote_digest "$REG/copy/app:2")" = "$want"
check "pushed arm64 manifest readable by skopeo, same digest" \
    test "$(remote_digest "$REG/copy/app@$arm")" = "$arm"
check "skopeo copies the whole pushed index" \
    skopeo copy -q --all --src-tls-verify=false "docker://$REG/copy/app:2" "oci:$T/back:x"

finish
