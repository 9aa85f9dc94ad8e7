# Helpers for the registry integration tests (source after tests/lib.sh):
# fixture images built offline (umoci, or by hand for layer types umoci does
# not write), skopeo pushes, the test proxy, and store consistency checks.

HELPERS=$CZ_SRC/tests/integration/helpers
export CZ_NO_TTY=1
# keep failures quick: retries happen, but with short waits
export CZ_REGISTRY_RETRY_DELAY_MS=${CZ_REGISTRY_RETRY_DELAY_MS:-50}

# make_rootfs DIR SEED [SIZE_KB]: a small tree with a random file (so digests differ per seed).
make_rootfs() {
    local dir=$1 seed=$2 kb=${3:-256}
    mkdir -p "$dir/etc" "$dir/bin" "$dir/data"
    echo "fixture $seed" >"$dir/etc/fixture"
    echo "#!/bin/sh" >"$dir/bin/hello"
    chmod 755 "$dir/bin/hello"
    head -c $((kb * 1024)) /dev/urandom >"$dir/data/random-$seed"
}

# umoci_image LAYOUT TAG SEED [ARCH] [SIZE_KB]: an image with two gzip layers.
umoci_image() {
    local layout=$1 tag=$2 seed=$3 arch=${4:-amd64} kb=${5:-256}
    [ -f "$layout/oci-layout" ] || umoci init --layout "$layout" || return 1
    local src=$T/src-$seed
    make_rootfs "$src" "$seed" "$kb"
    umoci new --image "$layout:$tag" &&
        umoci insert --image "$layout:$tag" "$src/etc" /etc >/dev/null &&
        umoci insert --image "$layout:$tag" "$src/data" /data >/dev/null &&
        umoci config --image "$layout:$tag" --architecture "$arch" --os linux \
            --config.cmd /bin/hello >/dev/null
}

# layout_desc LAYOUT TAG: the descriptor (JSON) that index.json names TAG.
layout_desc() {
    jq -c --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | {mediaType, digest, size}' "$1/index.json"
}

# put_blob LAYOUT FILE: copies FILE into the layout's blobs; prints its digest.
put_blob() {
    local d
    d=$(sha256sum "$2" | cut -d' ' -f1)
    cp "$2" "$1/blobs/sha256/$d"
    echo "sha256:$d"
}

# name_in_layout LAYOUT TAG DESCRIPTOR_JSON: add/replace a name in index.json.
name_in_layout() {
    local tmp=$1/index.json.tmp
    jq --arg t "$2" --argjson d "$3" \
        '.manifests = ([.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] != $t)] + [$d + {annotations: {"org.opencontainers.image.ref.name": $t}}])' \
        "$1/index.json" >"$tmp" && mv "$tmp" "$1/index.json"
}

# make_index LAYOUT TAG TAG1 OS/ARCH TAG2 OS/ARCH...: a hand-written index.
make_index() {
    local layout=$1 tag=$2
    shift 2
    local entries=() d os arch
    while [ $# -ge 2 ]; do
        d=$(layout_desc "$layout" "$1")
        os=${2%%/*} arch=${2#*/}
        entries+=("$(jq -c --arg os "$os" --arg arch "$arch" '. + {platform: {os: $os, architecture: $arch}}' <<<"$d")")
        shift 2
    done
    local f=$T/index-$tag.json
    printf '%s\n' "${entries[@]}" | jq -cs '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' >"$f"
    local dg
    dg=$(put_blob "$layout" "$f")
    name_in_layout "$layout" "$tag" "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"$dg\",\"size\":$(stat -c %s "$f")}"
}

# raw_image LAYOUT TAG SEED uncompressed|gzip|zstd: a one-layer image written by hand.
raw_image() {
    local layout=$1 tag=$2 seed=$3 comp=$4
    [ -f "$layout/oci-layout" ] || umoci init --layout "$layout" || return 1
    local src=$T/raw-$seed
    make_rootfs "$src" "$seed" 128
    tar -C "$src" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$T/layer-$seed.tar" . || return 1
    local diff layer mt
    diff=$(sha256sum "$T/layer-$seed.tar" | cut -d' ' -f1)
    case $comp in
    uncompressed) cp "$T/layer-$seed.tar" "$T/layer-$seed.blob"; mt=application/vnd.oci.image.layer.v1.tar ;;
    gzip) gzip -n -c "$T/layer-$seed.tar" >"$T/layer-$seed.blob"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
    zstd) zstd -q -c "$T/layer-$seed.tar" >"$T/layer-$seed.blob"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
    esac
    layer=$(put_blob "$layout" "$T/layer-$seed.blob")
    jq -cn --arg d "sha256:$diff" '{architecture: "amd64", os: "linux", config: {Cmd: ["/bin/hello"]}, rootfs: {type: "layers", diff_ids: [$d]}}' >"$T/config-$seed.json"
    local cfg
    cfg=$(put_blob "$layout" "$T/config-$seed.json")
    jq -cn --arg c "$cfg" --argjson cs "$(stat -c %s "$T/config-$seed.json")" --arg l "$layer" \
        --argjson ls "$(stat -c %s "$T/layer-$seed.blob")" --arg mt "$mt" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs}, layers: [{mediaType: $mt, digest: $l, size: $ls}]}' >"$T/manifest-$seed.json"
    local m
    m=$(put_blob "$layout" "$T/manifest-$seed.json")
    name_in_layout "$layout" "$tag" "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$m\",\"size\":$(stat -c %s "$T/manifest-$seed.json")}"
}

# skopeo_push LAYOUT:TAG REPO:TAG [skopeo args...]: push a fixture to $REG.
skopeo_push() {
    local src=$1 dst=$2
    shift 2
    skopeo copy -q --dest-tls-verify=false "$@" "oci:$src" "docker://$REG/$dst" >/dev/null
}

# remote_digest REF [skopeo args]: sha256 of the manifest bytes the registry serves.
remote_digest() {
    local ref=$1
    shift
    echo "sha256:$(skopeo inspect --raw --tls-verify=false "$@" "docker://$ref" | sha256sum | cut -d' ' -f1)"
}

# pulled_digest OUTPUT: the "Digest:" line of `container image pull`.
pulled_digest() { sed -n 's/^Digest: //p' <<<"$1"; }

# store_target NAME: digest index.json names NAME.
store_target() {
    jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' \
        "$CONTAINER_ROOT/content/index.json" 2>/dev/null
}

# store_consistent: no temp files, every blob's content matches its name.
store_consistent() {
    local f bad=0
    if [ -d "$CONTAINER_ROOT/tmp/ingest" ] && [ -n "$(ls -A "$CONTAINER_ROOT/tmp/ingest")" ]; then
        echo "temp files left: $(ls "$CONTAINER_ROOT/tmp/ingest")" >&2
        bad=1
    fi
    for f in "$CONTAINER_ROOT"/content/blobs/sha256/*; do
        [ -e "$f" ] || continue
        if [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$(basename "$f")" ]; then
            echo "corrupt blob $f" >&2
            bad=1
        fi
    done
    return $bad
}

# image_names: the names in the store's index.json, sorted.
image_names() {
    jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$CONTAINER_ROOT/content/index.json" 2>/dev/null | sort
}

# start_proxy ARGS...: the test proxy in front of $REG; sets PROXY, PROXY_LOG.
start_proxy() {
    local pf=$T/proxy-port-$RANDOM
    PROXY_LOG=$T/proxy-$RANDOM.log
    : >"$PROXY_LOG"
    /usr/bin/python3 "$HELPERS/regproxy.py" --upstream "$REG" --port-file "$pf" --log "$PROXY_LOG" "$@" &
    local pid=$!
    on_exit "kill $pid; wait $pid"
    local i
    for i in $(seq 1 100); do
        [ -f "$pf" ] && break
        sleep 0.05
    done
    [ -f "$pf" ] || { echo "proxy did not start" >&2; return 1; }
    PROXY=127.0.0.1:$(cat "$pf")
}

# store_snapshot FILE: record the store's file list (with sizes) and index.json's hash, so a
# failed operation can be shown to have changed nothing.
store_snapshot() {
    {
        (cd "$CONTAINER_ROOT" 2>/dev/null && find content tmp \( -type f -printf 'f %s %p\n' \) -o -printf '%y %p\n' 2>/dev/null | sort)
        sha256sum "$CONTAINER_ROOT/content/index.json" 2>/dev/null | cut -d' ' -f1
    } >"$1"
}
# store_unchanged FILE: the store is exactly as in the snapshot (no new or partial blob, no new
# name in index.json) and no temp file is left in tmp/ingest.
store_unchanged() {
    local now=$T/snapshot-now.$RANDOM
    store_snapshot "$now"
    if ! cmp -s "$1" "$now"; then
        echo "store changed:" >&2
        diff "$1" "$now" | head -10 >&2
        return 1
    fi
    if [ -n "$(ls -A "$CONTAINER_ROOT/tmp/ingest" 2>/dev/null)" ]; then
        echo "temp files left in tmp/ingest" >&2
        return 1
    fi
}
