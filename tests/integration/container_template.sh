# VM templates: the first container of a layout boots and saves a template; the next ones
# start from it. What a user would check: the output is right, every container sees its own
# disks (sizes, contents) and its own random numbers, a broken template costs a cold boot
# and not the run, CZ_VM_TEMPLATE=0 boots, and `logs --boot` still shows a boot.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
unset CZ_VM_TEMPLATE
tdir=$CONTAINER_RUN_DIR/templates
busybox_root "$T/rootfs" sh cat echo true head od sleep
mkdir -p "$T/big/bin"
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" tpl:small >/dev/null
# a second image of another size: another snapshot disk
cp -a "$T/rootfs/." "$T/big/"
head -c 3000000 /dev/urandom >"$T/big/filler"
cz image import -c 'CMD ["/bin/sh"]' "$T/big" tpl:big >/dev/null
on_exit "for c in \$(\"$CZ_BIN\" ls -aq 2>/dev/null); do \"$CZ_BIN\" rm -f \$c >/dev/null 2>&1; done"

ntemplates() { find "$tdir" -mindepth 2 -maxdepth 2 -name state 2>/dev/null | wc -l; }
M=(-m 256M --cpus 1)

# 1. the first run of a layout only marks it seen (a layout used once costs no template);
# the second builds the template; the third starts from it
out=$(cz run --rm "${M[@]}" tpl:small sh -c 'echo first')
check "template: the first run prints its output" [ "$out" = first ]
check "template: the first run of a layout makes no template" [ "$(ntemplates)" = 0 ]
check "template: but marks the layout seen" [ -n "$(find "$tdir" -name '*.seen')" ]
out=$(cz run --rm "${M[@]}" tpl:small sh -c 'echo second')
check "template: the second run prints its output" [ "$out" = second ]
check "template: the second run left one template" [ "$(ntemplates)" = 1 ]
cz run -d --name t1 "${M[@]}" tpl:small sleep 600 >/dev/null
boot=$(cz logs --boot t1)
check "template: the third container was restored from it (logs --boot says so)" \
    grep -q 'restored from the template' <<<"$boot"
check "template: logs --boot still shows the template's boot" grep -q 'vminitd: serving on' <<<"$boot"
check "template: no second template for the same layout" [ "$(ntemplates)" = 1 ]

# 2. its own disks: sizes as the host's files, its own contents
id1=$(cz inspect t1 | jq -r '.[0].Id')
snap=$(ls "$CONTAINER_ROOT"/snapshots/*.ext4 | head -1)
want_rw=$(($(stat -c %s "$CONTAINER_ROOT/containers/$id1/rw.ext4") / 512))
check "template: the writable disk has its size in the guest" \
    [ "$(cz exec t1 cat /sys/block/vdb/size)" = "$want_rw" ]
cz exec t1 sh -c 'echo one > /mine'
cz run -d --name t2 "${M[@]}" tpl:small sleep 600 >/dev/null
expect_fail "template: a file written in one container is not in another" \
    'No such file' cz exec t2 cat /mine
check "template: and stays in the first" [ "$(cz exec t1 cat /mine)" = one ]

# 3. its own random state: two restored VMs do not share random numbers or boot ids
r1=$(cz exec t1 sh -c 'head -c 16 /dev/urandom | od -An -tx1')
r2=$(cz exec t2 sh -c 'head -c 16 /dev/urandom | od -An -tx1')
check "template: two containers of one template read different random bytes" [ "$r1" != "$r2" ]
b1=$(cz exec t1 cat /proc/sys/kernel/random/boot_id)
b2=$(cz exec t2 cat /proc/sys/kernel/random/boot_id)
check "template: and have different boot ids ($b1 / $b2)" [ "$b1" != "$b2" ]
cz rm -f t1 t2 >/dev/null

# 4. another image (another disk size) and another memory size: other templates, right sizes
cz run --rm "${M[@]}" tpl:big true
out=$(cz run --rm "${M[@]}" tpl:big sh -c 'cat /sys/block/vda/size; head -c 5 /filler | od -An -tx1')
want_img=$(($(stat -c %s "$(ls -S "$CONTAINER_ROOT"/snapshots/*.ext4 | head -1)") / 512))
check "template: the bigger image's disk has its own size ($want_img sectors)" \
    [ "$(head -1 <<<"$out")" = "$want_img" ]
check "template: and its own contents" \
    [ "$(tail -1 <<<"$out" | tr -d ' ')" = "$(head -c 5 "$T/big/filler" | od -An -tx1 | tr -d ' ')" ]
cz run --rm -m 320M --cpus 1 tpl:small true
cz run --rm -m 320M --cpus 1 tpl:small true
check "template: a layout per image size and memory size (3 templates)" [ "$(ntemplates)" = 3 ]
out=$(cz run --rm "${M[@]}" tpl:big sh -c 'cat /sys/block/vda/size')
check "template: the bigger image restored has its size too" [ "$out" = "$want_img" ]
cz run --rm "${M[@]}" --storage-opt size=1G tpl:small true
out=$(cz run --rm "${M[@]}" --storage-opt size=1G tpl:small cat /sys/block/vdb/size)
check "template: --storage-opt size=1G is seen as 1 GiB (2097152 sectors)" [ "$out" = 2097152 ]

# 5. a broken template: the run still works (a cold boot), the template goes and its layout
# is not tried again for 10 minutes; then it is rebuilt
rm -rf "$tdir"
cz run --rm "${M[@]}" tpl:small true
cz run --rm "${M[@]}" tpl:small true
ntpl=$(ntemplates)
check "template: made again from scratch" [ "$ntpl" = 1 ]
# cut in the middle: QEMU starts loading it, and fails (exits) part way
for s in "$tdir"/*/state; do truncate -s $(($(stat -c %s "$s") / 2)) "$s"; done
out=$(cz run --rm "${M[@]}" tpl:small echo cold)
check "template: a run over a broken template still works" [ "$out" = cold ]
check "template: the broken template is gone" [ "$(ntemplates)" = $((ntpl - 1)) ]
check "template: and its layout is marked failed" [ -n "$(find "$tdir" -name '*.failed')" ]
out=$(cz run --rm "${M[@]}" tpl:small echo again)
check "template: the next run boots and works" [ "$out" = again ]
check "template: without rebuilding it yet" [ "$(ntemplates)" = $((ntpl - 1)) ]
touch -d '11 minutes ago' "$tdir"/*.failed
cz run --rm "${M[@]}" tpl:small true
check "template: 10 minutes later it is rebuilt (its state is not empty)" \
    [ "$(find "$tdir" -mindepth 2 -name state -size +1k | wc -l)" = "$ntpl" ]

# 6. CZ_VM_TEMPLATE=0: a cold boot, no template made
rm -rf "$tdir"
out=$(CZ_VM_TEMPLATE=0 cz run --rm "${M[@]}" tpl:small echo booted)
check "template: CZ_VM_TEMPLATE=0 runs" [ "$out" = booted ]
check "template: and makes no template" [ "$(ntemplates)" = 0 ]

# 7. a layout's builder holds its lock: others boot at once rather than wait; then three
# containers started together, one builds, all run; a killed builder's leftovers
# (KEY.tmp-PID of a dead PID) are cleared by the next build
cz run --rm "${M[@]}" tpl:small true # seen
key=$(basename "$(find "$tdir" -name '*.seen' | head -1)" .seen)
/usr/bin/python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(120)' "$tdir/$key.lock" &
lockpid=$!
on_exit "kill $lockpid"
for _ in $(seq 1 200); do flock -n "$tdir/$key.lock" true || break; sleep 0.05; done
out=$(cz run --rm "${M[@]}" tpl:small echo nowait)
check "template: with the layout's lock held elsewhere a run still works" [ "$out" = nowait ]
check "template: and builds nothing" [ "$(ntemplates)" = 0 ]
kill "$lockpid"
wait "$lockpid" 2>/dev/null
mkdir -p "$tdir/0123abcd.tmp-4194000"
pids=()
for i in 1 2 3; do
    cz run --rm "${M[@]}" tpl:small echo "c$i" >"$T/par$i" 2>&1 &
    pids+=($!)
done
ok=0
for i in 1 2 3; do
    wait "${pids[$((i - 1))]}" && [ "$(cat "$T/par$i")" = "c$i" ] && ok=$((ok + 1))
done
check "template: three containers started at once all ran ($ok of 3)" [ "$ok" = 3 ]
check "template: and made one template" [ "$(ntemplates)" = 1 ]
check "template: a dead builder's leftovers are cleared" [ ! -e "$tdir/0123abcd.tmp-4194000" ]
check "template: no half-built template is left" \
    [ -z "$(find "$tdir" -mindepth 1 -maxdepth 1 -name '*.tmp-*')" ]
info=$(cz system info)
check "template: system info counts the template" grep -q '^VM templates: *1 ' <<<"$info"
finish
