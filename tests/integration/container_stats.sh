# container stats (--no-stream, json, the live view ending when the container
# stops) and container system info / df, on real VMs.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
for a in sh sleep cat dd; do ln -s busybox "$T/rootfs/bin/$a"; done
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" statsimg:1 >/dev/null

on_exit "\"$CZ_BIN\" rm -f st1 st2 st3"
cz run -d --name st1 statsimg:1 sleep 600 >/dev/null
cz run -d --name st2 -m 512M statsimg:1 sh -c 'dd if=/dev/zero of=/tmp/f bs=1k count=64 2>/dev/null; sleep 600' >/dev/null

out=$(cz stats --no-stream)
check "stats: table header" bash -c "echo '$out' | head -1 | grep -q 'CONTAINER ID.*NAME.*CPU %.*MEM USAGE / LIMIT.*MEM %.*NET I/O.*BLOCK I/O.*PIDS'"
check "stats: every running container, one row each" [ "$(echo "$out" | grep -cE ' (st1|st2) ')" = 2 ]

j=$(cz stats --no-stream --format json st1 st2)
check "stats json: one object per container" [ "$(echo "$j" | jq -s length)" = 2 ]
check "stats json: ids and names" [ "$(echo "$j" | jq -rs 'map(.Name) | sort | join(",")')" = st1,st2 ]
check "stats json: pids counted" bash -c "echo '$j' | jq -e -s 'all(.Pids >= 1)' >/dev/null"
check "stats json: memory used and below the limit" bash -c \
    "echo '$j' | jq -e -s 'all(.MemoryUsage > 0 and .MemoryLimit > .MemoryUsage and .MemoryPercent > 0)' >/dev/null"
lim=$(echo "$j" | jq -rs 'map(select(.Name == "st2"))[0].MemoryLimit')
check "stats json: the limit is the VM's memory (-m 512M)" \
    bash -c "[ $lim -gt $((400 << 20)) ] && [ $lim -le $((512 << 20)) ]"
check "stats json: cpu percent is a number" bash -c "echo '$j' | jq -e -s 'all(.CPUPercent | type == \"number\" and . >= 0)' >/dev/null"
check "stats json: block I/O read from the disks" bash -c "echo '$j' | jq -e -s 'all(.BlockRead > 0)' >/dev/null"

expect_fail "stats: a stopped container" "container st3 is not running" \
    bash -c "\"$CZ_BIN\" create --name st3 statsimg:1 >/dev/null; \"$CZ_BIN\" stats --no-stream st3"
expect_fail "stats: an unknown container" "nosuchbox" cz stats --no-stream nosuchbox
expect_fail "stats: bad --format" "invalid --format" cz stats --no-stream --format yaml
check "stats: bad --format exits 125" bash -c "\"$CZ_BIN\" stats --format x >/dev/null 2>&1; [ \$? = 125 ]"

# The live view ends by itself once its containers stop.
cz run -d --name st4 statsimg:1 sleep 4 >/dev/null
on_exit "\"$CZ_BIN\" rm -f st4"
live=$(timeout 120 "$CZ_BIN" stats --format json st4)
rc=$?
check "stats: the live view ends when the container stops" [ "$rc" = 0 ]
check "stats: the live view printed samples" [ "$(echo "$live" | grep -c '"Name":"st4"')" -ge 1 ]

# system info
info=$(cz system info --format json)
check "system info: accelerator" bash -c "echo '$info' | jq -e '.Accelerator == \"tcg\" or .Accelerator == \"kvm\"' >/dev/null"
check "system info: kernel version string" bash -c "echo '$info' | jq -r .KernelVersion | grep -q '^Linux version 6\.'"
check "system info: kernel and initfs exist" bash -c "[ -f \"\$(echo '$info' | jq -r .Kernel)\" ] && [ -f \"\$(echo '$info' | jq -r .Initfs)\" ]"
check "system info: QEMU version" bash -c "echo '$info' | jq -r .QemuVersion | grep -q '^QEMU emulator version'"
check "system info: our version" [ "$(echo "$info" | jq -r .Version)" = "$(cz --version | awk '{print $3}')" ]
check "system info: root and counts" [ "$(echo "$info" | jq -r '"\(.Root) \(.Containers) \(.ContainersRunning) \(.Images)"')" = "$CONTAINER_ROOT 4 2 1" ]
check "system info: table" bash -c "\"$CZ_BIN\" system info | grep -q '^Accelerator: '"
check "system info: the probe answer is cached" bash -c "[ \"\$(\"$CZ_BIN\" system info --format json | jq -r .Accelerator)\" = \"\$(echo '$info' | jq -r .Accelerator)\" ]"

# system df
df=$(cz system df --format json)
row() { echo "$df" | jq -r --arg t "$1" ".[] | select(.Type == \$t) | $2"; }
check "system df: images" [ "$(row Images '"\(.Total) \(.Active) \(.Reclaimable)"')" = "1 1 0" ]
check "system df: image size is the content store's" [ "$(row Images .Size)" -gt 0 ]
check "system df: one snapshot, in use" [ "$(row Snapshots '"\(.Total) \(.Active) \(.Reclaimable)"')" = "1 1 0" ]
check "system df: snapshot disks are sparse (size <= apparent)" [ "$(row Snapshots .Size)" -le "$(row Snapshots .ApparentSize)" ]
check "system df: containers, running ones active" [ "$(row Containers '"\(.Total) \(.Active)"')" = "4 2" ]
check "system df: the stopped container is reclaimable" [ "$(row Containers .Reclaimable)" -gt 0 ]
check "system df: no volumes" [ "$(row Volumes .Total)" = 0 ]
check "system df: table" bash -c "\"$CZ_BIN\" system df | grep -Eq '^Snapshots +1 +1 '"
cz rm -f st1 st2 st3 st4 >/dev/null
df=$(cz system df --format json)
check "system df: an image no container uses is reclaimable" \
    [ "$(row Images '"\(.Active) \(.Reclaimable > 0) \(.Reclaimable <= .Size)"')" = "0 true true" ]
check "system df: so is its snapshot" [ "$(row Snapshots '"\(.Active) \(.Reclaimable > 0)"')" = "0 true" ]
check "system df: no containers left" [ "$(row Containers '"\(.Total) \(.Size)"')" = "0 0" ]
expect_fail "system: unknown command" "unknown command" cz system nope
finish
