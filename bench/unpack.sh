#!/usr/bin/env bash
# unpack benchmark: the debootstrap minbase rootfs (tests/fixtures/rootfs.sh) as one gzip
# layer (and one zstd layer) in the store, turned into an ext4 image by
#   ours  `container image unpack REF --output FILE`
#   (a)   `umoci unpack` then `mke2fs -t ext4 -d` of its rootfs
#   (b)   `mke2fs -t ext4 -d` alone, from the already extracted tree
#   (c)   the floor: `gzip -dc LAYER >/dev/null` (`zstd -dc` for the zstd layer)
# Each cell is the median of REPEAT interleaved rounds after a warm-up round (page cache
# warm; outputs on the same file system); ratios come from the same run; peak RSS from /usr/bin/time -f %M
# (for (a), the larger of its two steps). Prints a markdown table and updates the
# "unpack" section of bench/RESULTS.md.
# Usage: bench/unpack.sh [BUILD_DIR] [REPEAT]    (root: mke2fs -d keeps owners)
# Targets (issue 3): ours >= 4x faster than (a), faster than (b), within 1.3x of (c).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
repeat=${2:-5}
bin=$build/bin/container
for t in umoci mke2fs skopeo gzip zstd /usr/bin/time python3; do
    command -v "$t" >/dev/null || { echo "bench/unpack.sh needs $t" >&2; exit 1; }
done
W=$(mktemp -d /var/tmp/cz-bench-unpack-XXXXXX)
trap 'rm -rf "$W"' EXIT
export CONTAINER_ROOT=$W/root
rootfs=$("$src/tests/fixtures/rootfs.sh")
python3 "$src/tests/ext4/mklayers.py" fromtar "$rootfs" "$W/gz" --compress gzip
python3 "$src/tests/ext4/mklayers.py" fromtar "$rootfs" "$W/zst" --compress zstd
mkdir -p "$CONTAINER_ROOT/content"
skopeo copy -q --preserve-digests oci:"$W/gz":latest oci:"$CONTAINER_ROOT/content":bench-gz:1
skopeo copy -q --preserve-digests oci:"$W/zst":latest oci:"$CONTAINER_ROOT/content":bench-zst:1
layer_of() { # LAYOUT -> path of its only layer blob
    local m
    m=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"][7:])' "$1")
    echo "$1/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' "$1/blobs/sha256/$m")"
}
gzl=$(layer_of "$W/gz")
zsl=$(layer_of "$W/zst")

# one measurement: prints "seconds peak_rss_kB"
measure() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -o "$W/time" -f %M "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; return 1; }
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 )) $(tail -1 "$W/time")"
}
# the mke2fs image size: the tree's apparent size plus room for metadata
tree_size() { echo $(( $(du -sb --apparent-size "$1" | cut -f1) * 3 / 2 / 1048576 + 64 ))M; }

run_ours() { rm -f "$W/ours.ext4"; measure "$bin" image unpack "$1" --output "$W/ours.ext4"; }
run_a() {
    rm -rf "$W/bundle" "$W/a.ext4"
    local u m
    u=$(measure umoci unpack --image "$W/gz:latest" "$W/bundle") || return 1
    m=$(measure mke2fs -q -F -t ext4 -d "$W/bundle/rootfs" "$W/a.ext4" "$(tree_size "$W/bundle/rootfs")") || return 1
    echo "$(( ${u% *} + ${m% *} )) $(( ${u#* } > ${m#* } ? ${u#* } : ${m#* } ))"
}
run_b() { rm -f "$W/b.ext4"; measure mke2fs -q -F -t ext4 -d "$W/tree/rootfs" "$W/b.ext4" "$(tree_size "$W/tree/rootfs")"; }
run_floor() { measure sh -c "$1 -dc '$2' >/dev/null"; }

# REPEAT rounds after a warm-up; each round runs every method once, interleaved, so load
# from other jobs falls on all of them alike. med NAME: the median "seconds peak_rss_kB".
methods=("ours:run_ours bench-gz:1" "a:run_a" "b:run_b" "c:run_floor gzip $gzl"
    "oz:run_ours bench-zst:1" "cz:run_floor zstd $zsl")
# for information: ISA-L's igzip (Debian isal), the inflater ours uses, as a harder floor
command -v igzip >/dev/null && methods+=("ig:run_floor igzip $gzl")
umoci unpack --image "$W/gz:latest" "$W/tree" >/dev/null 2>&1
for round in $(seq 0 "$repeat"); do
    for m in "${methods[@]}"; do
        r=$(${m#*:})
        [ "$round" -gt 0 ] && echo "$r" >>"$W/res.${m%%:*}"
    done
done
med() {
    local k=$(( (repeat + 1) / 2 ))
    echo "$(cut -d' ' -f1 "$W/res.$1" | sort -n | sed -n "${k}p")" \
        "$(cut -d' ' -f2 "$W/res.$1" | sort -n | sed -n "${k}p")"
}
read -r o_t o_m < <(med ours)
read -r a_t a_m < <(med a)
read -r b_t b_m < <(med b)
read -r c_t c_m < <(med c)
read -r oz_t oz_m < <(med oz)
read -r cz_t cz_m < <(med cz)
if [ -f "$W/res.ig" ]; then
    read -r ig_t ig_m < <(med ig)
    igrow="| for information: \`igzip -dc\` (ISA-L) to /dev/null | $(awk -v u="$ig_t" 'BEGIN{printf "%.3f", u/1e6}') | $(awk -v k="$ig_m" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v a="$o_t" -v b="$ig_t" 'BEGIN{printf "%.2f", a/b}')x this floor |"
else
    igrow="| for information: \`igzip -dc\` (ISA-L) | - | - | not installed (Debian isal) |"
fi
spread() { awk '{print $1/1e6}' "$W/res.$1" | sort -n | awk '{a[NR]=$1} END{printf "%.3f-%.3f", a[1], a[NR]}'; }
entries=$(tar -tf "$rootfs" | wc -l)
tarmb=$(( $(stat -c %s "$rootfs") / 1048576 ))
gzmb=$(awk -v s="$(stat -c %s "$gzl")" 'BEGIN{printf "%.1f", s/1048576}')
zsmb=$(awk -v s="$(stat -c %s "$zsl")" 'BEGIN{printf "%.1f", s/1048576}')
imgmb=$(( $(stat -c %s "$W/ours.ext4") / 1048576 ))
s() { awk -v u="$1" 'BEGIN{printf "%.3f", u/1e6}'; }
r() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
verdict() { awk -v v="$1" -v lim="$2" -v dir="$3" 'BEGIN{ok = dir == "ge" ? v >= lim : v <= lim; print ok ? "met" : "NOT met"}'; }
load=$(cut -d' ' -f1 /proc/loadavg)
table=$(cat <<TABLE
## unpack (bench/unpack.sh)

\`bench/unpack.sh build $repeat\`, $(date -u '+%Y-%m-%d %H:%M') UTC, 2 cores shared with other jobs
(load average $load at the end). The debootstrap bookworm minbase rootfs: $entries entries,
$tarmb MiB tar; gzip layer $gzmb MiB (level 6), zstd layer $zsmb MiB (level 3). Our image
(sized to fit, no journal) is $imgmb MiB. Median of $repeat rounds after a warm-up round; each
round runs every method once, interleaved; page cache warm; all outputs on the same disk;
ratios from this run. Range of ours over the rounds: gzip $(spread ours) s, zstd $(spread oz) s.

| gzip layer -> ext4 | time (s) | peak RSS (MiB) | ours is ... |
|---|---:|---:|---|
| ours: \`container image unpack\` | $(s "$o_t") | $(mb "$o_m") | |
| (a) \`umoci unpack\` + \`mke2fs -t ext4 -d\` | $(s "$a_t") | $(mb "$a_m") | $(r "$a_t" "$o_t")x faster (target >= 4x: $(verdict "$(r "$a_t" "$o_t")" 4 ge)) |
| (b) \`mke2fs -t ext4 -d\` from the extracted tree | $(s "$b_t") | $(mb "$b_m") | $(r "$b_t" "$o_t")x faster (target > 1x: $(verdict "$(r "$b_t" "$o_t")" 1 ge)) |
| (c) floor: \`gzip -dc\` to /dev/null | $(s "$c_t") | $(mb "$c_m") | $(r "$o_t" "$c_t")x the floor (target <= 1.3x: $(verdict "$(r "$o_t" "$c_t")" 1.3 le)) |
$igrow

| zstd layer -> ext4 | time (s) | peak RSS (MiB) | |
|---|---:|---:|---|
| ours: \`container image unpack\` | $(s "$oz_t") | $(mb "$oz_m") | |
| floor: \`zstd -dc\` to /dev/null | $(s "$cz_t") | $(mb "$cz_m") | ours is $(r "$oz_t" "$cz_t")x the floor (target <= 1.3x: $(verdict "$(r "$oz_t" "$cz_t")" 1.3 le)) |

Peak RSS target (issue 3): at most 64 MiB for ours: $(verdict "$(mb "$o_m")" 64 le) (gzip), $(verdict "$(mb "$oz_m")" 64 le) (zstd).
TABLE
)
echo "$table"
python3 - "$src/bench/RESULTS.md" "$table" <<'PY'
import os, re, sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
pat = re.compile(r"^## unpack \(bench/unpack\.sh\)\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(lambda m: table.strip() + "\n\n", text) if pat.search(text) else text.rstrip() + "\n\n" + table.strip() + "\n"
open(path, "w").write(text)
PY
