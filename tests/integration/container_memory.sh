# A container's VM gives memory back: the guest reports pages it freed (virtio-balloon free
# page reporting) and QEMU drops them, so the host RSS of an idle container falls back after
# a burst instead of staying at the most the guest ever touched.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
for a in sh sleep dd rm; do ln -s busybox "$T/rootfs/bin/$a"; done
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" memimg:1 >/dev/null

on_exit "\"$CZ_BIN\" rm -f mem1"
cz run -d --name mem1 -m 512M --tmpfs /scratch:size=200m memimg:1 sleep 600 >/dev/null
rpid=$(cz inspect mem1 | jq -r '.[0].State.RuntimePid')
qpid=$(awk '{print $1}' "/proc/$rpid/task/$rpid/children")
rss() { awk '/^VmRSS/{print int($2 / 1024)}' "/proc/$qpid/status"; }
check "memory: the container's QEMU is found" [ -n "$qpid" ]
before=$(rss)
cz exec mem1 dd if=/dev/zero of=/scratch/burst bs=1M count=160 2>/dev/null
peak=$(rss)
check "memory: 160 MiB written to a tmpfs raise the VM's host RSS (before $before, after $peak MiB)" \
    [ "$peak" -ge $((before + 120)) ]
cz exec mem1 rm /scratch/burst
# Reports come about 2 s after the pages are freed; allow a loaded machine 60 s.
after=$peak
for _ in $(seq 1 60); do
    sleep 1
    after=$(rss)
    [ "$after" -le $((before + 40)) ] && break
done
check "memory: freed guest memory goes back to the host (peak $peak, now $after, before $before MiB)" \
    [ "$after" -le $((before + 40)) ]
finish
