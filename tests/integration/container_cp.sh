# container cp both ways on a real VM: files and directories keep their modes
# and symlinks, renaming and "dir/." follow docker's rules, '-' is a tar
# stream, container symlinks resolve inside the container, volumes-in-mounts
# are seen, and bad paths give one clear error. Containers that are not running
# (created, exited) too: through a maintenance VM, their state untouched, start
# and rm refused while it lasts, nothing left behind (even when the CLI is killed).
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
mkdir -p "$T/rootfs/bin" "$T/rootfs/etc"
cp /bin/busybox "$T/rootfs/bin/"
for a in sh sleep cat ls stat ln mkdir readlink; do ln -s busybox "$T/rootfs/bin/$a"; done
echo image-file >"$T/rootfs/etc/motd"
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" cpimg:1 >/dev/null

on_exit "\"$CZ_BIN\" rm -f cp1 cp2"
cz run -d --name cp1 --tmpfs /scratch cpimg:1 sleep 600 >/dev/null
ex() { cz exec cp1 "$@"; }

# a tree with modes, a symlink, an empty directory, a hard link, a space
src=$T/src
mkdir -p "$src/sub/empty"
printf 'hello\n' >"$src/a.txt"
chmod 751 "$src/a.txt"
printf 'deep\n' >"$src/sub/d e"
chmod 600 "$src/sub/d e"
chmod 700 "$src/sub"
ln -s a.txt "$src/link"
ln "$src/a.txt" "$src/hard"
head -c 3000000 /dev/urandom >"$src/big"

check "cp: host directory into a container directory" cz cp "$src" cp1:/etc
check "cp: it lands under its own name" [ "$(ex cat /etc/src/a.txt)" = hello ]
check "cp: file modes kept" [ "$(ex stat -c %a /etc/src/a.txt /etc/src/sub '/etc/src/sub/d e' | tr '\n' ' ')" = "751 700 600 " ]
check "cp: symlink copied as a symlink" [ "$(ex readlink /etc/src/link)" = a.txt ]
check "cp: empty directory" [ "$(ex stat -c %F /etc/src/sub/empty)" = directory ]
check "cp: hard link kept" [ "$(ex stat -c %i /etc/src/a.txt)" = "$(ex stat -c %i /etc/src/hard)" ]
check "cp: copies in belong to root" [ "$(ex stat -c %u:%g /etc/src/a.txt)" = 0:0 ]

printf 'owned\n' >"$T/owned"
chown 1234:5678 "$T/owned"
cz cp -a "$T/owned" cp1:/etc/owned
check "cp -a: owners kept into the container" [ "$(ex stat -c %u:%g /etc/owned)" = 1234:5678 ]
cz cp -a cp1:/etc/owned "$T/owned-back"
check "cp -a: owners kept onto the host" [ "$(stat -c %u:%g "$T/owned-back")" = 1234:5678 ]

rm -rf "$T/back"
check "cp: container directory to a new host path" cz cp cp1:/etc/src "$T/back"
check "cp: round trip, content" bash -c "cmp '$src/big' '$T/back/big' && cmp '$src/a.txt' '$T/back/a.txt' && [ \"\$(cat '$T/back/sub/d e')\" = deep ]"
check "cp: round trip, modes" [ "$(stat -c %a "$T/back/a.txt" "$T/back/sub" "$T/back/sub/d e" | tr '\n' ' ')" = "751 700 600 " ]
check "cp: round trip, symlink" [ "$(readlink "$T/back/link")" = a.txt ]
check "cp: round trip, empty directory" [ -d "$T/back/sub/empty" ]
mkdir "$T/into"
cz cp cp1:/etc/src "$T/into"
check "cp: into an existing host directory" [ -f "$T/into/src/sub/d e" ]
mkdir "$T/contents"
cz cp cp1:/etc/src/. "$T/contents"
check "cp: SRC/. copies the contents" bash -c "[ -f '$T/contents/a.txt' ] && [ ! -e '$T/contents/src' ]"

check "cp: a file to a new name in the container" cz cp "$src/a.txt" cp1:/etc/renamed
check "cp: renamed" [ "$(ex cat /etc/renamed)" = hello ]
echo replaced >"$T/new"
cz cp "$T/new" cp1:/etc/renamed
check "cp: a file over an existing file" [ "$(ex cat /etc/renamed)" = replaced ]
cz cp cp1:/etc/motd "$T/motd"
check "cp: a file from the image to the host" [ "$(cat "$T/motd")" = image-file ]
cz cp cp1:/etc/motd "$T/into"
check "cp: a file into a host directory" [ "$(cat "$T/into/motd")" = image-file ]

# container symlinks resolve in the container's root
ex ln -s /etc/src /abs
cz cp cp1:/abs/a.txt "$T/viaabs"
check "cp: an absolute symlink in the container resolves inside it" [ "$(cat "$T/viaabs")" = hello ]
cz cp cp1:/abs "$T/thelink"
check "cp: a symlink given as SRC is copied as a symlink" [ "$(readlink "$T/thelink")" = /etc/src ]
cz cp -L cp1:/abs "$T/followed"
check "cp -L: follows it" [ -f "$T/followed/a.txt" ]

# the container's mounts are seen as it sees them
check "cp: into a tmpfs mounted in the container" cz cp "$src/a.txt" cp1:/scratch/t
check "cp: the container sees it" [ "$(ex cat /scratch/t)" = hello ]

# tar streams
cz cp cp1:/etc/src - >"$T/out.tar"
check "cp: '-' writes a tar of SRC" bash -c "tar -tf '$T/out.tar' | grep -qx 'src/sub/d e'"
ex mkdir /fromtar
tar -C "$src" -cf - a.txt sub | cz cp - cp1:/fromtar
check "cp: '-' extracts a tar from stdin" [ "$(ex cat '/fromtar/sub/d e')" = deep ]
check "cp: '-' keeps modes" [ "$(ex stat -c %a /fromtar/a.txt)" = 751 ]

# bad paths
expect_fail "cp: missing container path" "cp1:/nope: no such file or directory" cz cp cp1:/nope "$T/x"
expect_fail "cp: missing directory above" "cp1:/no/dir/x: no such file or directory" cz cp "$src/a.txt" cp1:/no/dir/x
expect_fail "cp: missing host path" "$T/nope: No such file or directory" cz cp "$T/nope" cp1:/etc
expect_fail "cp: directory onto a file" "cannot copy directory" cz cp "$src" cp1:/etc/renamed
expect_fail "cp: missing host directory" "destination directory .* does not exist" cz cp cp1:/etc/motd "$T/no/such/x"
expect_fail "cp: tar into a file" "not a directory" bash -c "tar -C '$src' -cf - a.txt | \"$CZ_BIN\" cp - cp1:/etc/motd"
expect_fail "cp: a path through a file" "not a directory" cz cp cp1:/etc/motd/x "$T/x"
expect_fail "cp: two host paths" "exactly one of" cz cp "$T/a" "$T/b"
expect_fail "cp: unknown container" "nosuchbox" cz cp nosuchbox:/x "$T/x"
check "cp: nothing half-written on the host" [ ! -e "$T/x" ]

# ---- containers that are not running: a maintenance VM serves the copy
on_exit "\"$CZ_BIN\" rm -f cp3 cp4 cp5; \"$CZ_BIN\" volume rm cpvol"
state_of() { cz inspect "$1" | grep -E '"(Status|ExitCode|FinishedAt|StartedAt|Error)"' | tr -d ' \n'; }
# nothing of the container's maintenance VM is left: no runtime, no QEMU, no run directory
nothing_left() {
    local id
    id=$(cz inspect "$1" | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p' | head -1)
    [ -n "$id" ] &&
    ! ps -eo args | grep -v grep | grep -qF -- "$id" && ! ls "$CONTAINER_RUN_DIR" | grep -q "^m-"
}

cz create --name cp2 cpimg:1 cat /etc/fromhost >/dev/null
check "cp: into a created container" cz cp "$src/a.txt" cp2:/etc/fromhost
check "cp: it is still created" bash -c "\"$CZ_BIN\" ls -a | grep -E ' cp2\$' | grep -q Created"
check "cp: nothing left running after a copy" nothing_left cp2
check "cp: the container's process sees the file" [ "$(cz start -a cp2)" = hello ]

mkdir -p "$T/bindsrc"
cz run --name cp3 -v cpvol:/data -v "$T/bindsrc:/bind" -v "$T/bindsrc:/robind:ro" cpimg:1 \
    sh -c 'echo written >/out; mkdir -p /outdir/sub; echo deep >/outdir/sub/f; echo invol >/data/v; exit 3' >/dev/null
before=$(state_of cp3)
check "cp: a file an exited container wrote" [ "$(cz cp cp3:/out - | tar -xOf - out)" = written ]
cz cp cp3:/out "$T/out"
check "cp: to a host file" [ "$(cat "$T/out")" = written ]
rm -rf "$T/outdir"
check "cp: a directory out of an exited container" cz cp cp3:/outdir "$T/outdir"
check "cp: its tree" [ "$(cat "$T/outdir/sub/f")" = deep ]
check "cp: a directory into an exited container" cz cp "$src" cp3:/
cz cp cp3:/src/big "$T/big-back"
check "cp: round trip through a stopped container" cmp "$src/big" "$T/big-back"
tar -C "$src" -cf - a.txt sub | cz cp - cp3:/outdir
check "cp: '-' into a stopped container" [ "$(cz cp cp3:/outdir/sub/d\ e - | tar -xOf -)" = deep ]
check "cp: a volume of a stopped container is seen" [ "$(cz cp cp3:/data/v - | tar -xOf -)" = invol ]
check "cp: into a bind mount of a stopped container" cz cp "$src/a.txt" cp3:/bind/viacp
check "cp: it is in the host directory" [ "$(cat "$T/bindsrc/viacp")" = hello ]
expect_fail "cp: a read-only bind mount stays read-only" "[Rr]ead-only file system" cz cp "$src/a.txt" cp3:/robind/x
expect_fail "cp: a missing path in a stopped container" "cp3:/nope: no such file or directory" cz cp cp3:/nope "$T/x"
expect_fail "cp: a missing directory in a stopped container" "no such file or directory" cz cp "$src/a.txt" cp3:/no/dir/x
check "cp: the state did not change" [ "$(state_of cp3)" = "$before" ]
check "cp: still exited with its code" bash -c "\"$CZ_BIN\" ls -a | grep -E ' cp3\$' | grep -q 'Exited (3)'"
check "cp: nothing left running after the copies" nothing_left cp3
cz cp "$src/a.txt" cp3:/data/fromcp
cz run --name cp4 -v cpvol:/data cpimg:1 cat /data/fromcp >"$T/cp4.out" 2>&1
check "cp: into a volume through a stopped container: another container sees it" [ "$(cat "$T/cp4.out")" = hello ]
cz start -a cp3 >/dev/null
check "cp: the container starts after the copies" bash -c "\"$CZ_BIN\" ls -a | grep -E ' cp3\$' | grep -q 'Exited (3)'"

# while a copy holds a stopped container: start and rm are refused, the state stays
cz create --name cp5 cpimg:1 cat /etc/fifo/a.txt >/dev/null
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
"$CZ_BIN" cp - cp5:/etc <"$T/fifo" 2>"$T/cp5.err" 3>&- &
cppid=$!
on_exit "kill -KILL $cppid"
for _ in $(seq 1 600); do ls "$CONTAINER_RUN_DIR" 2>/dev/null | grep -q "^m-" && [ -S "$CONTAINER_RUN_DIR"/m-*/runtime.sock ] && break; sleep 0.1; done
expect_fail "cp: start is refused during a copy" "cp5 is busy: a copy \(container cp\) is in progress" cz start cp5
expect_fail "cp: rm is refused during a copy" "is busy: a copy \(container cp\) is in progress" cz rm -f cp5
expect_fail "cp: a second copy is refused during a copy" "cp5 is busy: a copy" cz cp cp5:/etc/motd "$T/x"
check "cp: ls tells the truth during a copy" bash -c "\"$CZ_BIN\" ls -a | grep -E ' cp5\$' | grep -q Created"
mkdir -p "$T/fifo-src/fifo" && cp "$src/a.txt" "$T/fifo-src/fifo/"
tar -C "$T/fifo-src" -cf - fifo >&3
exec 3>&-
check "cp: the held copy completes" wait $cppid
check "cp: and lands" [ "$(cz start -a cp5)" = hello ]

# the CLI killed mid-copy: the maintenance VM goes, the container stays usable
exec 3<>"$T/fifo"
"$CZ_BIN" cp - cp5:/etc <"$T/fifo" 2>/dev/null 3>&- &
cppid=$!
on_exit "kill -KILL $cppid"
for _ in $(seq 1 600); do ls "$CONTAINER_RUN_DIR" 2>/dev/null | grep -q "^m-" && [ -S "$CONTAINER_RUN_DIR"/m-*/runtime.sock ] && break; sleep 0.1; done
kill -KILL $cppid
wait $cppid 2>/dev/null
exec 3>&-
for _ in $(seq 1 600); do nothing_left cp5 && break; sleep 0.1; done
check "cp: a killed CLI leaves no VM, runtime or socket" nothing_left cp5
check "cp: the container is usable afterwards" [ "$(cz start -a cp5)" = hello ]
check "cp: and its state tells so" bash -c "\"$CZ_BIN\" ls -a | grep -E ' cp5\$' | grep -q 'Exited (0)'"
# the maintenance runtime killed mid-copy: the copy fails, the next one works
exec 3<>"$T/fifo"
"$CZ_BIN" cp - cp5:/etc <"$T/fifo" 2>"$T/killed.err" 3>&- &
cppid=$!
on_exit "kill -KILL $cppid"
for _ in $(seq 1 600); do ls "$CONTAINER_RUN_DIR" 2>/dev/null | grep -q "^m-" && [ -S "$CONTAINER_RUN_DIR"/m-*/runtime.sock ] && break; sleep 0.1; done
rtpid=$(ps -eo pid,args | grep -v grep | grep -- "--maintenance" | grep -F "$CONTAINER_ROOT" | awk '{print $1}' | head -1)
[ -n "$rtpid" ] && kill -KILL "$rtpid"
tar -C "$T/fifo-src" -cf - fifo >&3
exec 3>&-
wait $cppid; rc=$?
check "cp: a copy whose runtime is killed fails, saying so" bash -c "[ $rc -ne 0 ] && grep -q Error '$T/killed.err'"
check "cp: the next copy works" cz cp "$src/a.txt" cp5:/etc/after-kill
check "cp: and cleans what the killed one left" nothing_left cp5
# ... or killed while the maintenance VM still boots
"$CZ_BIN" cp "$src/a.txt" cp5:/etc/early 2>/dev/null &
cppid=$!
sleep 0.3
kill -KILL $cppid
wait $cppid 2>/dev/null
for _ in $(seq 1 600); do nothing_left cp5 && break; sleep 0.1; done
check "cp: a CLI killed while the VM boots leaves nothing" nothing_left cp5
check "cp: the container still starts" [ "$(cz start -a cp5)" = hello ]
# a --read-only container: its root stays read-only, its volume does not
cz create --name cp6 --read-only -v cpvol:/data cpimg:1 >/dev/null
on_exit "\"$CZ_BIN\" rm -f cp6"
expect_fail "cp: into a --read-only root is refused" "[Rr]ead-only file system" cz cp "$src/a.txt" cp6:/etc/x
check "cp: into its volume works" cz cp "$src/a.txt" cp6:/data/ro-root
check "cp: and reads back" [ "$(cz cp cp6:/data/ro-root - | tar -xOf -)" = hello ]

# a VM that cannot boot: one clear error, the state untouched, nothing left
before=$(state_of cp3)
expect_fail "cp: a maintenance VM that cannot boot" "kernel|vmlinux" env CONTAINER_KERNEL="$T/no-such-vmlinux" "$CZ_BIN" cp cp3:/out "$T/x"
check "cp: its failure leaves the state alone" [ "$(state_of cp3)" = "$before" ]
check "cp: and nothing behind" nothing_left cp3
check "cp: the container still copies" [ "$(cz cp cp3:/out - | tar -xOf -)" = written ]
finish
