# The host's disk fills while containers run (run_faults.sh runs this in a private mount
# namespace, as root): the store on a 96 MiB tmpfs, nearly all of it taken by a ballast
# file. Prints `key=value` lines for run_faults.sh to check; cleans up its containers.
# In: CZ_BIN, T (scratch), RUN_FLAGS (run flags, words), IMG_ROOT (a rootfs with busybox applets).
set -u
# shellcheck disable=SC2086 # RUN_FLAGS is words
small=$T/small2
mkdir -p "$small"
mount -t tmpfs -o size=96M tmpfs "$small" || { echo "mount=failed"; exit 0; }
export CONTAINER_ROOT=$small/root
c() { "$CZ_BIN" "$@"; }
cleanup() {
    for id in $(c ls -aq 2>/dev/null); do c rm -f "$id" >/dev/null 2>&1; done
}
trap cleanup EXIT
field() { c inspect "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0]$2)"; }
avail_mib() { echo $(($(stat -f -c '%a * %S' "$small") / 1048576)); }
# leave about $1 MiB free
ballast() { rm -f "$small/ballast"; fallocate -l $((($(avail_mib) - $1) * 1048576)) "$small/ballast"; }
wait_paused() { # NAME: 0 once inspect says paused (up to 120 s)
    for _ in $(seq 1 240); do
        [ "$(field "$1" '["State"]["Paused"]' 2>/dev/null)" = True ] && return 0
        sleep 0.5
    done
    return 1
}

c image import "$IMG_ROOT" t/fill:1 >/dev/null || { echo "import=failed"; exit 0; }
# what the container writes: 40 MiB of a known pattern, synced, then its digest
want=$(yes abcdefgh | head -c 41943040 | md5sum | cut -d' ' -f1)
echo "want=$want"
write='yes abcdefgh | head -c 41943040 > /data && sync && md5sum /data && echo done'

# 1. paused while full, resumed once there is room: nothing lost
c run $RUN_FLAGS --rm t/fill:1 true >/dev/null # the image's snapshot, before the ballast
ballast 20
c run $RUN_FLAGS -d --name f1 t/fill:1 sh -c "$write" >/dev/null 2>"$T/fill-run.err"
echo "run1=$?"
wait_paused f1 && echo "paused1=yes"
echo "reason1=$(field f1 '["State"]["PausedReason"]')"
echo "ls1=$(c ls | grep f1)"
c exec f1 true 2>"$T/fill-exec.err"
echo "exec1=$?"
echo "execerr1=$(head -c 300 "$T/fill-exec.err")"
c kill -s HUP f1 2>"$T/fill-kill.err"
echo "kill1=$?"
echo "killerr1=$(head -c 300 "$T/fill-kill.err")"
rm -f "$small/ballast"
echo "wait1=$(timeout 120 "$CZ_BIN" wait f1)"
echo "paused1after=$(field f1 '["State"]["Paused"]')"
echo "logs1=$(c logs f1 | tr '\n' ' ')"
c rm f1 >/dev/null

# 2. an attached run hears of it; stop of a paused container ends it at once
ballast 20
c run $RUN_FLAGS --name f2 t/fill:1 sh -c "$write" >"$T/fill-f2.out" 2>"$T/fill-f2.err" &
cli=$!
wait_paused f2 && echo "paused2=yes"
for _ in $(seq 1 50); do grep -q paused "$T/fill-f2.err" && break; sleep 0.1; done
echo "notice2=$(grep -m1 paused "$T/fill-f2.err")"
start=$(date +%s)
c stop -t 30 f2 >/dev/null 2>&1
echo "stop2=$?"
echo "stoptime2=$(($(date +%s) - start))"
wait $cli
echo "runrc2=$?"
echo "status2=$(field f2 '["State"]["Status"]') $(field f2 '["State"]["ExitCode"]')"
echo "error2=$(field f2 '["State"]["Error"]')"
c rm f2 >/dev/null
rm -f "$small/ballast"

# 3. the log while the disk is full (the container only prints: its VM runs on): lines that
# do not fit are lost, none is cut in half, and the log is written again once there is room
c run $RUN_FLAGS -d --name f3 t/fill:1 sh -c 'i=0; while true; do echo "line $i"; i=$((i + 1)); sleep 0.01; done' >/dev/null
sleep 2
cat /dev/zero >"$small/fill" 2>/dev/null
sleep 2
rm -f "$small/fill"
sleep 2
c stop -t 0 f3 >/dev/null 2>&1
id3=$(c inspect f3 | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0]['Id'])")
echo "logjson3=$(/usr/bin/python3 - "$CONTAINER_ROOT/containers/$id3/container.log" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1], "rb"):
    json.loads(line)  # raises on a torn line
    n += 1
print("ok" if n else "empty")
PY
)"
nums=$(c logs f3 | sed -n 's/^line //p')
echo "lines3=$(echo "$nums" | wc -l)"
echo "gap3=$(echo "$nums" | awk 'NR > 1 && $1 != prev + 1 {g = 1} {prev = $1} END {print g ? "yes" : "no"}')"
echo "again3=$(grep -c 'the log is written again' "$CONTAINER_ROOT/containers/$id3/runtime.log")"
c rm f3 >/dev/null
echo "left=$(ls "$CONTAINER_ROOT/containers" 2>/dev/null | grep -vc '^\.')"
