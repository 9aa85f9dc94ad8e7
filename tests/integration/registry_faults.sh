#!/usr/bin/env bash
# Faults between us and a real docker-registry, injected by the test proxy
# (dropped and truncated bodies, 429/5xx/401/403/404, a registry that hangs,
# oversized, invalid, unknown-type and schema 1 manifests), a corrupted blob in
# the registry's own storage, an invalid reference and a full disk. Each must
# give one clear line naming what failed and leave the store as it was.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/integration/helpers/registry_lib.sh"
export CZ_REGISTRY_RETRY_DELAY_MS=20

start_registry || { fail "start registry"; finish; }
L=$T/layout
umoci_image "$L" base 1 amd64 2048 || fail "build fixture"
skopeo_push "$L:base" lib/app:1 || fail "skopeo push fixture"
want=$(remote_digest "$REG/lib/app:1")
manifest=$(skopeo inspect --raw --tls-verify=false "docker://$REG/lib/app:1")
big_layer=$(jq -r '.layers | max_by(.size) | .digest' <<<"$manifest")
cz image ls >/dev/null 2>&1
SNAP=$T/snap

# fresh_store: an empty store, snapshotted.
fresh_store() {
    export CONTAINER_ROOT=$T/root-$1
    cz image ls >/dev/null 2>&1
    store_snapshot "$SNAP"
}
# fails_cleanly NAME PATTERN CMD...: CMD fails with exactly one line matching PATTERN, and the
# store is unchanged.
fails_cleanly() {
    local name=$1 pattern=$2 out rc
    shift 2
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        fail "$name: succeeded but should fail"
    elif [ "$(grep -c . <<<"$out")" -ne 1 ]; then
        fail "$name: expected one error line, got: $(head -5 <<<"$out")"
    elif ! grep -Eq -- "$pattern" <<<"$out"; then
        fail "$name: error did not match /$pattern/: $out"
    else
        pass "$name"
    fi
    check "$name: store unchanged" store_unchanged "$SNAP"
}
pull() { cz image pull --quiet "$@"; }

# --- a dropped connection resumes with a Range request ---
fresh_store resume
start_proxy --fault drop-once --fault-path "/blobs/$big_layer"
out=$(cz image pull "$PROXY/lib/app:1" 2>"$T/resume-err")
check "dropped connection: pull succeeds" test "$(pulled_digest "$out")" = "$want"
check "dropped connection: the proxy dropped it" grep -q "^DROP /v2/lib/app/blobs/$big_layer" "$PROXY_LOG"
check "dropped connection: resumed with a Range request" \
    grep -qE "^GET /v2/lib/app/blobs/$big_layer 206 bytes=[1-9][0-9]*-$" "$PROXY_LOG"
check "dropped connection: the layer's digest is right" \
    test "$(sha256sum "$CONTAINER_ROOT/content/blobs/sha256/${big_layer#sha256:}" | cut -d' ' -f1)" = "${big_layer#sha256:}"
check "dropped connection: store consistent" store_consistent

# --- a body that is always truncated ---
fresh_store truncate
start_proxy --fault truncate-always --fault-path "/blobs/$big_layer"
fails_cleanly "truncated body: clear error" \
    "^Error: pull $PROXY/lib/app:1: layer $big_layer: .*truncated" \
    env CZ_REGISTRY_RETRIES=2 "$CZ_BIN" image pull -q "$PROXY/lib/app:1"

# --- transient 429 and 503, then success ---
for code in 429 503 502; do
    fresh_store "retry-$code"
    start_proxy --fault "status:$code:2" --fault-path "/blobs/"
    out=$(cz image pull "$PROXY/lib/app:1" 2>/dev/null)
    check "$code twice on blobs, then success" test "$(pulled_digest "$out")" = "$want"
    check "$code: the registry answered $code twice" test "$(grep -c "^FAULT $code" "$PROXY_LOG")" -eq 2
    fresh_store "retry-m-$code"
    start_proxy --fault "status:$code:2" --fault-path "/manifests/"
    out=$(cz image pull "$PROXY/lib/app:1" 2>/dev/null)
    check "$code twice on the manifest, then success" test "$(pulled_digest "$out")" = "$want"
done

# --- persistent errors ---
fresh_store persistent
for code in 500 503; do
    start_proxy --fault "status:$code:-1" --fault-path "/blobs/"
    fails_cleanly "persistent $code on blobs" "^Error: pull $PROXY/lib/app:1: (layer|config) sha256:[0-9a-f]{64}: GET .*: HTTP $code " \
        env CZ_REGISTRY_RETRIES=2 "$CZ_BIN" image pull -q "$PROXY/lib/app:1"
    start_proxy --fault "status:$code:-1" --fault-path "/manifests/"
    fails_cleanly "persistent $code on the manifest" "^Error: pull $PROXY/lib/app:1: GET .*/manifests/1: HTTP $code " \
        env CZ_REGISTRY_RETRIES=2 "$CZ_BIN" image pull -q "$PROXY/lib/app:1"
done
start_proxy --fault "status:401:-1" --fault-path "/blobs/"
fails_cleanly "401 on blobs" "^Error: pull $PROXY/lib/app:1: .*(HTTP 401|401 without)" pull "$PROXY/lib/app:1"
start_proxy --fault "status:403:-1" --fault-path "/blobs/"
fails_cleanly "403 on blobs" "^Error: pull $PROXY/lib/app:1: (layer|config) sha256:.*HTTP 403 Forbidden" pull "$PROXY/lib/app:1"
start_proxy --fault "status:403:-1" --fault-path "/manifests/"
fails_cleanly "403 on the manifest" "^Error: pull $PROXY/lib/app:1: GET .*HTTP 403 Forbidden" pull "$PROXY/lib/app:1"
start_proxy --fault "status:404:-1" --fault-path "/blobs/"
fails_cleanly "404 on a blob" "^Error: pull $PROXY/lib/app:1: (layer|config) sha256:.*HTTP 404 Not Found" pull "$PROXY/lib/app:1"
fails_cleanly "404: unknown tag" "^Error: pull $REG/lib/app:nope: GET .*/manifests/nope: HTTP 404 Not Found: MANIFEST_UNKNOWN" \
    pull "$REG/lib/app:nope"
fails_cleanly "404: unknown repository" "^Error: pull $REG/no/such:1: GET .*HTTP 404 Not Found" pull "$REG/no/such:1"

# --- a registry that hangs: the timeout fires ---
start_proxy --fault hang --fault-path "/blobs/"
fails_cleanly "hanging registry: CZ_REGISTRY_TIMEOUT" "^Error: pull $PROXY/lib/app:1: (layer|config) sha256:.*timed out" \
    env CZ_REGISTRY_TIMEOUT=2 CZ_REGISTRY_RETRIES=1 "$CZ_BIN" image pull -q "$PROXY/lib/app:1"
start_proxy --fault hang --fault-path "/manifests/"
fails_cleanly "hanging registry: --timeout" "^Error: pull $PROXY/lib/app:1: GET .*/manifests/1: timed out" \
    env CZ_REGISTRY_RETRIES=0 "$CZ_BIN" image pull -q --timeout 2 "$PROXY/lib/app:1"
expect_fail "--timeout must be a positive number" "timeout" cz image pull --timeout 0 "$REG/lib/app:1"

# --- bad manifests ---
head -c $((4 * 1024 * 1024 + 100)) /dev/zero | tr '\0' ' ' >"$T/huge.json"
start_proxy --fault "serve:$T/huge.json:application/vnd.oci.image.manifest.v1+json" --fault-path "/manifests/"
fails_cleanly "manifest over 4 MiB" "^Error: pull $PROXY/lib/app:1: manifest 1 is larger than the 4 MiB limit" pull "$PROXY/lib/app:1"
printf '{"schemaVersion": 2, "config": ' >"$T/invalid.json"
start_proxy --fault "serve:$T/invalid.json:application/vnd.oci.image.manifest.v1+json" --fault-path "/manifests/"
fails_cleanly "invalid JSON manifest" "^Error: pull $PROXY/lib/app:1: manifest .*(JSON|json)" pull "$PROXY/lib/app:1"
echo '{"schemaVersion": 2, "mediaType": "application/vnd.example.thing+json"}' >"$T/unknown.json"
start_proxy --fault "serve:$T/unknown.json:application/vnd.example.thing+json" --fault-path "/manifests/"
fails_cleanly "unknown manifest media type" "^Error: pull $PROXY/lib/app:1: manifest 1: unsupported (manifest )?media type 'application/vnd.example.thing\+json'" \
    pull "$PROXY/lib/app:1"
jq -c '.layers[0].mediaType = "application/vnd.example.layer"' <<<"$manifest" >"$T/badlayer.json"
start_proxy --fault "serve:$T/badlayer.json:application/vnd.oci.image.manifest.v1+json" --fault-path "/manifests/"
fails_cleanly "unknown layer media type" "^Error: pull $PROXY/lib/app:1: manifest sha256:.*unsupported media type 'application/vnd.example.layer'" \
    pull "$PROXY/lib/app:1"
cat >"$T/schema1.json" <<'S1'
{"schemaVersion": 1, "name": "lib/app", "tag": "1", "architecture": "amd64",
 "fsLayers": [{"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
 "history": [{"v1Compatibility": "{}"}], "signatures": []}
S1
start_proxy --fault "serve:$T/schema1.json:application/vnd.docker.distribution.manifest.v1+prettyjws" --fault-path "/manifests/"
fails_cleanly "schema 1 manifest rejected" "^Error: pull $PROXY/lib/app:1: manifest 1 is Docker schema 1 .*not supported" \
    pull "$PROXY/lib/app:1"
start_proxy --fault "serve:$T/schema1.json:application/json" --fault-path "/manifests/"
fails_cleanly "schema 1 manifest without its media type rejected" "^Error: pull $PROXY/lib/app:1: manifest 1.*schema 1" \
    pull "$PROXY/lib/app:1"
fails_cleanly "manifest digest mismatch (by digest)" "^Error: pull .*digest mismatch" \
    pull "$PROXY/lib/app@sha256:$(printf x | sha256sum | cut -d' ' -f1)"

# --- a corrupted blob in the registry's storage ---
umoci_image "$L" corrupt 7 amd64 512 || fail "fixture 7"
skopeo_push "$L:corrupt" lib/corrupt:1
cm=$(skopeo inspect --raw --tls-verify=false "docker://$REG/lib/corrupt:1")
cl=$(jq -r '.layers | max_by(.size) | .digest' <<<"$cm")
data=$REG_DIR/data/docker/registry/v2/blobs/sha256/${cl:7:2}/${cl#sha256:}/data
printf 'CORRUPT' | dd of="$data" bs=1 seek=100 conv=notrunc 2>/dev/null
fails_cleanly "corrupted blob in the registry: digest mismatch named" \
    "^Error: pull $REG/lib/corrupt:1: layer $cl: .*digest mismatch" pull "$REG/lib/corrupt:1"

# --- invalid references ---
fails_cleanly "invalid reference" "^Error: .*invalid reference" pull "$REG/UPPER/case:1"
fails_cleanly "invalid reference (bad tag)" "^Error: .*invalid reference" pull "$REG/lib/app:bad tag!"

# --- push through faults ---
export CONTAINER_ROOT=$T/root-push
cz image ls >/dev/null 2>&1
umoci_image "$L" topush 11 amd64 256 || fail "fixture 11"
start_proxy --fault "status:503:2" --fault-path "/blobs/uploads/"
skopeo copy -q "oci:$L:topush" "oci:$CONTAINER_ROOT/content:$PROXY/push/app:1" >/dev/null
pd=$(store_target "$PROXY/push/app:1")
out=$(cz image push "$PROXY/push/app:1" 2>/dev/null)
check "push: 503 twice on uploads, then success" grep -qF "digest: $pd" <<<"$out"
check "push: the registry has it" test "$(remote_digest "$REG/push/app:1")" = "$pd"
start_proxy --fault "status:500:-1" --fault-path "/blobs/uploads/"
skopeo copy -q "oci:$L:topush" "oci:$CONTAINER_ROOT/content:$PROXY/push/fail:1" >/dev/null
out=$(env CZ_REGISTRY_RETRIES=1 "$CZ_BIN" image push -q "$PROXY/push/fail:1" 2>&1)
check "push: persistent 500 is one line" test "$(grep -c . <<<"$out")" -eq 1
check "push: persistent 500 names the upload and the status" \
    grep -Eq "^Error: push $PROXY/push/fail:1: upload (layer|config) sha256:[0-9a-f]{64}: POST .*: HTTP 500 Internal Server Error" <<<"$out"
start_proxy --fault hang --fault-path "/blobs/"
skopeo copy -q "oci:$L:topush" "oci:$CONTAINER_ROOT/content:$PROXY/push/hang:1" >/dev/null
expect_fail "push: hanging registry times out" "^Error: push $PROXY/push/hang:1: .*timed out" \
    env CZ_REGISTRY_RETRIES=0 "$CZ_BIN" image push --timeout 2 "$PROXY/push/hang:1"

# --- a full disk ---
umoci_image "$L" large 8 amd64 8192 || fail "fixture 8"
skopeo_push "$L:large" lib/large:1
disk=$T/disk
mkdir -p "$disk"
cat >"$T/fulldisk.sh" <<FD
set -u
mount -t tmpfs -o size=4m tmpfs "$disk" || exit 99
export CONTAINER_ROOT=$disk/root T=$T CZ_SRC=$CZ_SRC
"$CZ_BIN" image ls >/dev/null 2>&1
. "$CZ_SRC/tests/integration/helpers/registry_lib.sh"
store_snapshot "$T/fullsnap"
"$CZ_BIN" image pull -q "$REG/lib/large:1" >"$T/out" 2>&1; echo \$? >"$T/rc"
store_unchanged "$T/fullsnap" 2>"$T/why" && echo yes >"$T/unchanged"
FD
timeout 120 unshare -m bash "$T/fulldisk.sh"
check "full disk: pull fails" test "$(cat "$T/rc" 2>/dev/null)" = 1
check "full disk: one clear line (no space)" grep -Eq "^Error: pull $REG/lib/large:1: .*No space left on device" "$T/out"
check "full disk: error is one line" test "$(grep -c . "$T/out")" -eq 1
check "full disk: store unchanged" bash -c "test -f '$T/unchanged' || { cat '$T/why' >&2; false; }"

finish
