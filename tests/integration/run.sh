# `container run` end to end in real VMs (TCG here): output and exit codes, stdin
# piped in, env/workdir/user, a pty session with a resize, detached + logs + exec +
# stop, start again on the same disk, a host directory read-only over 9p,
# --rm leaving nothing, ten containers at once.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
PY=/usr/bin/python3

on_exit rm_all_containers

# The image: busybox with a passwd that has a user, as a one-layer import.
R=$T/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/home/alice" "$R/tmp" "$R/data"
cp /bin/busybox "$R/bin/"
for a in sh cat echo sleep ls id pwd env stty tty true false wc head tr ps kill uname \
    hostname mkdir rm test seq grep httpd wget ip; do
    ln -s busybox "$R/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\nstaff:x:50:alice\n' >"$R/etc/group"
echo "not a program" >"$R/bin/notexec"
chmod 0644 "$R/bin/notexec"
cz image import -c 'CMD ["/bin/sh"]' -c 'ENV GREETING=hello' -c 'WORKDIR /tmp' "$R" t/run:1 \
    >/dev/null || { fail "import the test image"; finish; }

M=(-m 256M --cpus 1)

# --- output and exit codes
out=$(cz run --rm "${M[@]}" t/run:1 sh -c 'echo out; echo err >&2; exit 7' 2>"$T/err")
rc=$?
check "run prints the process's stdout" test "$out" = out
check "run prints the process's stderr on stderr" grep -qx err "$T/err"
check "run exits with the process's exit code" test $rc -eq 7
out=$(cz run --rm "${M[@]}" t/run:1 uname -r)
check "the process runs on our guest kernel" grep -q -- '-cz$' <<<"$out"
cz run --rm "${M[@]}" t/run:1 nosuchcmd 2>"$T/err"
rc=$?
check "a command that does not exist: 127" test $rc -eq 127
check "...with a clear message" grep -q "nosuchcmd.*not found" "$T/err"
cz run -d "${M[@]}" t/run:1 nosuchcmd 2>"$T/err"
check "run -d of a command that does not exist: 127" test $? -eq 127
check "...with the guest's reason only" grep -qx "Error: exec nosuchcmd: executable file not found in \$PATH" "$T/err"
cz run --rm "${M[@]}" t/run:1 /bin/notexec 2>"$T/err"
check "a command that is not executable: 126" test $? -eq 126
cz run -d "${M[@]}" --name victim t/run:1 sleep 600 >/dev/null
cz kill victim >/dev/null
check "killed by a signal: 128+9" test "$(cz wait victim)" = 137
cz kill victim 2>"$T/err"
check "kill of a stopped container fails clearly" grep -q "victim is not running" "$T/err"
cz rm victim >/dev/null

# --- stdin, env, workdir, user
out=$(printf 'one\ntwo\nthree\n' | cz run --rm -i "${M[@]}" t/run:1 wc -l)
check "stdin piped in reaches the process, EOF ends it" test "$(echo $out)" = 3
head -c 3000000 /dev/urandom >"$T/big"
out=$(cz run --rm -i "${M[@]}" t/run:1 cat <"$T/big" | sha256sum | cut -d' ' -f1)
check "3 MB through stdin and back unchanged" test "$out" = "$(sha256sum <"$T/big" | cut -d' ' -f1)"
out=$(cz run --rm "${M[@]}" -e FOO=bar t/run:1 sh -c 'echo $GREETING $FOO; pwd')
check "env from the image and -e; workdir from the image" test "$out" = "hello bar
/tmp"
out=$(cz run --rm "${M[@]}" -w /home t/run:1 pwd)
check "-w sets the working directory" test "$out" = /home
out=$(cz run --rm "${M[@]}" -u alice t/run:1 sh -c 'id; echo $HOME')
check "-u NAME: uid, gid and groups from the image's passwd/group" \
    grep -q "uid=1000(alice) gid=1000(alice) groups=.*50(staff)" <<<"$out"
check "-u NAME: HOME from passwd" grep -qx /home/alice <<<"$out"
out=$(cz run --rm "${M[@]}" -u 1234:50 t/run:1 id)
check "-u UID:GID" grep -q "uid=1234 gid=50(staff)" <<<"$out"
cz run --rm "${M[@]}" -u nobody t/run:1 true 2>"$T/err"
check "-u of an unknown user fails clearly" grep -q "unable to find user nobody" "$T/err"
printf 'A=1\n# a comment\nB=two words\n' >"$T/envfile"
out=$(cz run --rm "${M[@]}" --env-file "$T/envfile" t/run:1 sh -c 'echo "$A/$B"')
check "--env-file" test "$out" = "1/two words"
out=$(cz run --rm "${M[@]}" --entrypoint /bin/echo t/run:1 via entrypoint)
check "--entrypoint replaces the image's entrypoint" test "$out" = "via entrypoint"
out=$(cz run --rm "${M[@]}" --dns 192.0.2.53 t/run:1 cat /etc/resolv.conf)
check "--dns writes the container's resolv.conf" grep -qx "nameserver 192.0.2.53" <<<"$out"
out=$(cz run --rm "${M[@]}" --platform linux/amd64 t/run:1 uname -m)
check "--platform of the host's platform" test "$out" = x86_64
cz run --rm "${M[@]}" --cidfile "$T/cid" -l team=a t/run:1 true
check "--cidfile gets the id" grep -qE '^[0-9a-f]{64}$' "$T/cid"
out=$(cz run --rm "${M[@]}" --kernel "$CZ_BUILD/kernel/vmlinux" t/run:1 uname -r)
check "--kernel boots the given kernel" grep -q -- '-cz$' <<<"$out"
cz run --rm "${M[@]}" --kernel /nonexistent t/run:1 true 2>"$T/err"
check "--kernel of a missing file: a clear error" grep -q "/nonexistent" "$T/err"
out=$(cz run --rm "${M[@]}" --hostname box1 t/run:1 sh -c 'hostname; cat /etc/hostname')
check "--hostname" test "$out" = "box1
box1"
out=$(cz run --rm "${M[@]}" --read-only t/run:1 sh -c 'echo x > /f 2>&1 || echo refused')
check "--read-only root refuses writes" grep -q refused <<<"$out"
out=$(cz run --rm "${M[@]}" --tmpfs /scratch t/run:1 sh -c 'echo x > /scratch/f && cat /scratch/f')
check "--tmpfs" test "$out" = x
out=$(cz run --rm "${M[@]}" --tmpfs /scratch:size=8m,mode=1770,noexec t/run:1 sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch')
check "--tmpfs PATH:OPTIONS: size, mode and flags reach the mount ($out)" \
    bash -c "echo '$out' | grep -q 'size=8192k' && echo '$out' | grep -q noexec && echo '$out' | tail -1 | grep -qx 1770"
out=$(cz run --rm "${M[@]}" --mount type=tmpfs,target=/t,tmpfs-size=4m,readonly t/run:1 sh -c 'grep " /t " /proc/mounts')
check "--mount type=tmpfs with tmpfs-size and readonly ($out)" \
    bash -c "echo '$out' | grep -q 'size=4096k' && echo '$out' | grep -q ' ro,'"
out=$(cz run --rm "${M[@]}" --storage-opt size=100M t/run:1 sh -c \
    'df -k / | tail -1; dd if=/dev/zero of=/big bs=1M count=200 2>&1 | grep -c "No space left"')
check "--storage-opt size=100M: the writable disk holds ~100M and then is full ($out)" \
    bash -c "set -- \$(echo '$out' | head -1); [ \$2 -gt 80000 ] && [ \$2 -le 102400 ] && [ \"\$(echo '$out' | tail -1)\" = 1 ]"
# Two vCPUs: both online, and a real clock (without tsc=reliable under TCG the guest fell
# back to a 10 ms jiffies clock with more than one vCPU).
out=$(cz run --rm -m 256M --cpus 2 t/run:1 sh -c \
    'grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/clocksource/clocksource0/current_clocksource')
check "--cpus 2: two vCPUs and a real clock, not jiffies ($(echo $out))" \
    bash -c "[ \"\$(echo '$out' | head -1)\" = 2 ] && echo '$out' | tail -1 | grep -Eq '^(tsc|kvm-clock)'"
n_before=$(cz ls -aq | wc -l)
expect_fail "--storage-opt: an unknown option is refused" "only size=SIZE is known" \
    cz run --rm "${M[@]}" --storage-opt dm.basesize=1G t/run:1 true
expect_fail "--storage-opt: a size too small is refused" "size from 64M to 16T" \
    cz run --rm "${M[@]}" --storage-opt size=1k t/run:1 true
expect_fail "--tmpfs: an unknown option is refused" "invalid tmpfs option 'bogus'" \
    cz run --rm "${M[@]}" --tmpfs /x:size=1m,bogus t/run:1 true
expect_fail "--mount: tmpfs-size on a volume is refused" "tmpfs-size and tmpfs-mode are for type=tmpfs" \
    cz run --rm "${M[@]}" --mount type=volume,source=v1,target=/x,tmpfs-size=1m t/run:1 true
check "refused tmpfs options created no container" [ "$(cz ls -aq | wc -l)" = "$n_before" ]

# --- a pty session with a resize, driven through a pseudo-terminal
$PY - "$CZ_BIN" "${M[@]}" <<'PY' >"$T/pty.out" 2>&1
import fcntl, os, pty, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "--rm", "-it"] + sys.argv[2:] + ["t/run:1", "sh"])
def setsize(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
setsize(30, 100)
buf = b""
def read_until(marker, secs=120):
    global buf
    end = time.time() + secs
    while marker not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            buf += data
    return marker in buf
read_until(b"# ")  # the shell's prompt: it reads its terminal now
read_until(b"never", 2)  # its line editor asked for the cursor position: let it give up
os.write(fd, b"tty; stty size; echo MARK1\n")
ok1 = read_until(b"\nMARK1\r\n") and b"30 100" in buf
print("PASS: pty: a terminal of the initial size" if ok1 else "FAIL: pty initial size: %r" % buf[-300:])
setsize(50, 132)
os.kill(pid, 28)  # the terminal's SIGWINCH reaches the CLI's process group
time.sleep(1)
buf = b""
os.write(fd, b"stty size; echo MARK2\n")
ok2 = read_until(b"\nMARK2\r\n") and b"50 132" in buf
print("PASS: pty: a resize reaches the process" if ok2 else "FAIL: pty resize: %r" % buf[-300:])
os.write(fd, b"exit 5\n")
read_until(b"\x00", 60)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print("PASS: pty: exit code" if code == 5 else "FAIL: pty exit code %d" % code)
PY
cat "$T/pty.out"
grep -q FAIL "$T/pty.out" && fail "pty session (see above)"
grep -q "PASS: pty: exit code" "$T/pty.out" || fail "pty session did not finish"

# --- detached, logs, exec, stop, start
id=$(cz run -d "${M[@]}" --name web t/run:1 sh -c 'echo started; i=0; while [ $i -lt 600 ]; do echo tick $i; i=$((i+1)); sleep 1; done')
check "run -d prints the container id" grep -qE '^[0-9a-f]{64}$' <<<"$id"
check "ls shows it running" bash -c "'$CZ_BIN' ls | grep -q 'web'"
for _ in $(seq 1 100); do cz logs web | grep -q "tick 1" && break; sleep 0.2; done
check "logs shows its output" bash -c "'$CZ_BIN' logs web | grep -qx started"
check "logs -n 1 shows one line" test "$(cz logs -n 1 web | wc -l)" -eq 1
check "logs -t prefixes timestamps" bash -c "'$CZ_BIN' logs -t -n 1 web | grep -qE '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T'"
check "logs --boot shows the VM console" bash -c "'$CZ_BIN' logs --boot web | grep -q vminitd"
check "...without vminitd's debug lines by default" bash -c "! '$CZ_BIN' logs --boot web | grep -q 'rpc: .* took'"
cz --debug run "${M[@]}" --name dbg1 t/run:1 true 2>/dev/null
on_exit "\"$CZ_BIN\" rm -f dbg1"
check "--debug reaches vminitd: each agent call's time on the console" \
    bash -c "'$CZ_BIN' logs --boot dbg1 | grep -q 'rpc: /cz.agent.v1.Agent/CreateProcess took [0-9.]* ms'"
cz rm dbg1 >/dev/null
out=$(cz exec web sh -c 'echo from exec; exit 3')
rc=$?
check "exec runs in the container" test "$out" = "from exec"
check "exec returns the command's exit code" test $rc -eq 3
out=$(cz exec -e X=1 -w /home -u alice web sh -c 'echo $X $GREETING; pwd; id -u')
check "exec -e -w -u" test "$out" = "1 hello
/home
1000"
out=$(echo piped | cz exec -i web cat)
check "exec -i streams stdin" test "$out" = piped
out=$(cz exec web sh -c 'ps -o pid,comm | grep -c "sh"')
check "exec joins the container's pid namespace (sees its shell)" test "${out:-0}" -ge 1
cz exec web nosuch 2>"$T/err"
check "exec of a missing command: 127" test $? -eq 127
check "...with the guest's reason only" grep -qx "Error: exec nosuch: executable file not found in \$PATH" "$T/err"
out=$(cz exec -t web tty </dev/null)
check "exec -t gets a terminal" grep -q "^/dev/pts/" <<<"$out"
cz exec -d web sh -c 'sleep 1; echo done > /tmp/detached'
check "exec -d returns at once" bash -c "! '$CZ_BIN' exec web test -e /tmp/detached"
for _ in $(seq 1 50); do cz exec web test -e /tmp/detached && break; sleep 0.2; done
check "...and the command runs on" test "$(cz exec web cat /tmp/detached)" = done
cz exec web sh -c 'echo persisted > /data/file'
timeout 120 "$CZ_BIN" logs -f web >"$T/follow" 2>&1 &
fpid=$!
on_exit "kill $fpid 2>/dev/null"
cz stop -t 1 web >/dev/null
check "stop ends the container" bash -c "'$CZ_BIN' ls -a | grep web | grep -q Exited"
wait $fpid
check "logs -f ends when the container stops" test $? -ne 124
check "logs -f followed the output" grep -q "tick" "$T/follow"
check "inspect shows the exit code" bash -c "'$CZ_BIN' inspect web | grep -q '\"ExitCode\": 137'"
out=$(cz start -a web 2>&1 | head -1)
check "start -a runs it again, attached" test "$out" = started
cz stop -t 1 web >/dev/null
id2=$(cz run -d "${M[@]}" --name web2 t/run:1 sleep 600)
cz exec web2 sh -c 'echo one > /data/f'
cz stop -t 0 web2 >/dev/null
cz start web2 >/dev/null
out=$(cz exec web2 cat /data/f)
check "a restarted container keeps what it wrote (its own disk)" test "$out" = one
cz rm -f web2 >/dev/null
check "rm -f of a running container" bash -c "! '$CZ_BIN' ls -a | grep -q web2"
cz run -d "${M[@]}" --name web t/run:1 true 2>"$T/err"
check "a name in use is refused" grep -q "\"web\" is already in use" "$T/err"
cz run -d "${M[@]}" --name s1 t/run:1 sleep 600 >/dev/null
cz run -d "${M[@]}" --name s2 t/run:1 sleep 600 >/dev/null
cz stop --all -t 0 >/dev/null
check "stop --all stops every running container" test -z "$(cz ls -q)"
cz rm s1 s2 >/dev/null

# --- a host directory over 9p, read-only
mkdir -p "$T/share"
echo "from the host" >"$T/share/hello"
out=$(cz run --rm "${M[@]}" -v "$T/share:/mnt/share:ro" t/run:1 sh -c 'cat /mnt/share/hello; echo x > /mnt/share/new 2>/dev/null || echo ro')
check "a host directory mounted over 9p" test "$out" = "from the host
ro"
check "...and read-only: nothing written on the host" test ! -e "$T/share/new"
out=$(cz run --rm "${M[@]}" -v "$T/share:/mnt/share" t/run:1 sh -c 'echo back > /mnt/share/new && echo ok')
check "a writable host directory" test "$(cat "$T/share/new" 2>/dev/null)" = back

# --- a host file: only that file reaches the VM; :ro holds; writes and host edits are live
echo "conf v1" >"$T/share/app.conf"
out=$(cz run --rm "${M[@]}" -v "$T/share/app.conf:/etc/app.conf:ro" t/run:1 sh -c \
    'cat /etc/app.conf; echo x > /etc/app.conf 2>/dev/null || echo ro; ls /run/cz 2>/dev/null | wc -l')
check "a host file mounted read-only ($out)" test "$out" = "conf v1
ro
0"
check "...nothing written on the host" test "$(cat "$T/share/app.conf")" = "conf v1"
cz run -d "${M[@]}" --name fb -v "$T/share/app.conf:/app.conf" t/run:1 sleep 600 >/dev/null
on_exit "\"$CZ_BIN\" rm -f fb"
cz exec fb sh -c 'echo from-container >> /app.conf'
echo "from-host" >>"$T/share/app.conf"
out=$(cz exec fb sh -c 'cat /app.conf; ls /run/cz/mounts 2>/dev/null; grep -c . /proc/mounts >/dev/null')
check "a writable host file: the container's write reaches the host" \
    bash -c "grep -qx from-container '$T/share/app.conf'"
check "...and the host's later write reaches the container" bash -c "echo '$out' | grep -qx from-host"
rpid=$(cz inspect fb | jq -r '.[0].State.RuntimePid')
qpid=$(awk '{print $1}' "/proc/$rpid/task/$rpid/children")
share=$(tr '\0' '\n' <"/proc/$qpid/cmdline" | sed -n 's/^local,id=fs0,path=\([^,]*\),.*/\1/p')
check "the file's siblings stay out of the VM: QEMU shares a directory holding only it ($share)" \
    bash -c "[ -n '$share' ] && [ \"\$(ls -A '$share')\" = app.conf ]"
cz rm -f fb >/dev/null
check "...and its bind mount went with QEMU (no mount left on the host)" \
    bash -c "! grep -q share-m0 /proc/self/mountinfo"
expect_fail "-v of a device node is refused" "is neither a directory nor a regular file" \
    cz run --rm "${M[@]}" -v /dev/null:/x t/run:1 true
expect_fail "-v of a missing host path is refused" "No such file or directory" \
    cz run --rm "${M[@]}" -v "$T/nothing-here:/x" t/run:1 true

# --- a named volume keeps data between two containers
cz run --rm "${M[@]}" -v data1:/vol t/run:1 sh -c 'echo kept > /vol/f' 2>"$T/err"
check "run -v NAME creates the volume" bash -c "'$CZ_BIN' volume ls -q | grep -qx data1"
out=$(cz run --rm "${M[@]}" -v data1:/vol:ro t/run:1 sh -c 'cat /vol/f; echo x > /vol/g 2>/dev/null || echo ro')
check "a second container reads what the first wrote; :ro is read-only" test "$out" = "kept
ro"
cz create "${M[@]}" --name voluser -v data1:/vol t/run:1 true >/dev/null
cz volume rm data1 2>"$T/err"
check "a volume in use by a container is not removed" grep -q "in use by container voluser" "$T/err"
cz rm voluser >/dev/null
cz volume rm data1 >/dev/null
check "...and is once the container is gone" bash -c "! '$CZ_BIN' volume ls -q | grep -qx data1"

# --- networking: published ports, outbound access, --network none
mkdir -p "$T/www"
echo "served from the host" >"$T/www/index.html"
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$T/www" 0 >"$T/http.log" 2>&1 &
hpid=$!
on_exit "kill $hpid 2>/dev/null"
for _ in $(seq 1 100); do hport=$(grep -o 'port [0-9]*' "$T/http.log" | awk '{print $2}'); [ -n "$hport" ] && break; sleep 0.1; done
out=$(cz run --rm "${M[@]}" t/run:1 wget -q -O- "http://10.0.2.2:$hport/index.html")
check "outbound access from the container (to the host's 127.0.0.1 through the user network)" \
    test "$out" = "served from the host"
out=$(cz run --rm "${M[@]}" --network none t/run:1 sh -c 'ip -o link | grep -c -v " lo:"; wget -q -T 3 -O- http://10.0.2.2:1/ 2>&1 || echo unreachable')
check "--network none: no interface but lo, no network" grep -q unreachable <<<"$out"
# publish_check NAME SPEC TEXT: a container serving TEXT on port 80, published with -p SPEC
# (which names host port PORT); TEXT must come back from 127.0.0.1:PORT
publish_check() {
    local name=$1 spec=$2 text=$3 got=
    cz run -d "${M[@]}" --name pub -p "$spec" t/run:1 sh -c "mkdir -p /www && echo '$text' > /www/index.html && httpd -f -p 80 -h /www" >/dev/null
    for _ in $(seq 1 100); do got=$(curl -s --max-time 2 "http://127.0.0.1:$pport/index.html") && [ -n "$got" ] && break; sleep 0.2; done
    check "$name" test "$got" = "$text"
    cz rm -f pub >/dev/null
}
pport=$(free_port)
publish_check "-p publishes a container port on 127.0.0.1" "$pport:80" "from the container"
pport=$(free_port)
publish_check "-p 127.0.0.1:HOST:CONTAINER/tcp publishes on that address" \
    "127.0.0.1:$pport:80/tcp" "with an address"

# --- --rm leaves nothing
before=$(ls "$CONTAINER_ROOT/containers" 2>/dev/null | wc -l)
cz run --rm "${M[@]}" t/run:1 true
check "--rm removes the container" test "$(ls "$CONTAINER_ROOT/containers" | wc -l)" -eq "$before"
ls -la "$CONTAINER_RUN_DIR"/* 2>/dev/null; cz ls -a
check "--rm leaves no run directory (nothing runs now)" test -z "$(run_leftovers)"
# rm -f of a running --rm container: its runtime removes it too as it ends; no error
cz run -d --rm --name rmrace "${M[@]}" t/run:1 sleep 600 >/dev/null
out=$(cz rm -f rmrace 2>&1)
rc=$?
check "rm -f of a running --rm container succeeds quietly (got $rc: $out)" \
    bash -c "[ $rc = 0 ] && [ '$out' = rmrace ]"
check "... and it is gone" bash -c "! '$CZ_BIN' ls -a | grep -q rmrace"

# --- ten containers at once
pids=()
for i in $(seq 1 10); do
    cz run --rm "${M[@]}" t/run:1 sh -c "echo c$i" >"$T/c$i.out" 2>&1 &
    pids+=($!)
done
ok=0
for i in $(seq 1 10); do
    wait "${pids[$((i - 1))]}" && grep -qx "c$i" "$T/c$i.out" && ok=$((ok + 1))
done
check "ten containers started concurrently all ran (got $ok)" test $ok -eq 10
check "...and left nothing" test "$(ls "$CONTAINER_ROOT/containers" | wc -l)" -eq "$before" -a -z "$(run_leftovers)"
finish
