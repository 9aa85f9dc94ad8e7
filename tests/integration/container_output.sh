# A container's output through `container run` in real VMs (TCG here): the main process
# writes straight into the VM's ports cz.out and cz.err (direct output), the runtime reads
# them. Everything arrives, in order, on the right stream, before the exit code; a slow
# reader slows the process without losing anything; logs keep it; exec and terminals
# still go through the Stdio stream; CZ_NO_DIRECT_OUTPUT=1 gives the pipe path.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run

on_exit rm_all_containers

R=$T/rootfs
busybox_root "$R" sh cat echo sleep readlink head true seq
mkdir -p "$R/tmp"
# bytes for the log check: NUL, controls, a quote, a backslash, UTF-8, an invalid byte, DEL
cat >"$R/emit" <<'SCRIPT'
#!/bin/sh
printf 'a\000b\001"q\\\303\251\360\237\230\200\377z\177\n'
SCRIPT
chmod 755 "$R/emit"
head -c 24000000 /dev/urandom >"$R/data" # more than the port's queue and the sockets hold
cz image import -c 'CMD ["/bin/sh"]' "$R" t/out:1 >/dev/null || { fail "import the test image"; finish; }
sum=$(sha256sum <"$R/data" | cut -d' ' -f1)
M=(-m 256M --cpus 1)

# stdout is the port itself (direct output), not a pipe
fd1=$(cz run --rm "${M[@]}" t/out:1 readlink /proc/self/fd/1)
check "the process's stdout is the port (direct output)" bash -c "echo '$fd1' | grep -q vport"
fd1p=$(CZ_NO_DIRECT_OUTPUT=1 cz run --rm "${M[@]}" t/out:1 readlink /proc/self/fd/1)
check "CZ_NO_DIRECT_OUTPUT=1: a pipe, forwarded by vminitd" bash -c "echo '$fd1p' | grep -q pipe"

# all of it, in order, then the exit code
cz run --rm "${M[@]}" t/out:1 sh -c 'cat /data; exit 5' >"$T/out1" 2>"$T/err1"
rc=$?
check "24 MB of stdout arrive whole and in order" [ "$(sha256sum <"$T/out1" | cut -d' ' -f1)" = "$sum" ]
check "the exit code comes after the output" [ "$rc" = 5 ]
check "nothing on stderr" [ ! -s "$T/err1" ]
out=$(cz run --rm "${M[@]}" t/out:1 sh -c 'echo to-out; echo to-err >&2' 2>"$T/err2")
check "stdout and stderr stay apart (stdout)" [ "$out" = to-out ]
check "stdout and stderr stay apart (stderr)" [ "$(cat "$T/err2")" = to-err ]
check "many small writes keep their order" \
    [ "$(cz run --rm "${M[@]}" t/out:1 seq 1 20000 | sha256sum)" = "$(seq 1 20000 | sha256sum)" ]

# A reader that does not read for 4 s (longer than the runtime waits for output that does
# not move): the process waits for it, nothing is lost.
got=$(cz run --rm "${M[@]}" t/out:1 cat /data | (sleep 4; sha256sum | cut -d' ' -f1))
check "a slow reader gets everything" [ "$got" = "$sum" ]

# The pipe path: the same output through the Stdio stream
got=$(CZ_NO_DIRECT_OUTPUT=1 cz run --rm "${M[@]}" t/out:1 cat /data | sha256sum | cut -d' ' -f1)
check "CZ_NO_DIRECT_OUTPUT=1: 24 MB arrive whole" [ "$got" = "$sum" ]
got=$(CZ_NO_DIRECT_OUTPUT=1 cz run --rm "${M[@]}" t/out:1 cat /data | (sleep 4; sha256sum | cut -d' ' -f1))
check "CZ_NO_DIRECT_OUTPUT=1: a slow reader gets everything" [ "$got" = "$sum" ]

# detached: the log keeps both streams; exec still works (through Stdio)
cz run -d --name o1 "${M[@]}" t/out:1 sh -c 'echo first; echo oops >&2; exec sleep 600' >/dev/null
for i in $(seq 1 100); do [ "$(cz logs o1 2>/dev/null | grep -c first)" = 1 ] && break; sleep 0.1; done
check "logs: stdout of a detached container" [ "$(cz logs o1 2>/dev/null)" = first ]
check "logs: its stderr" [ "$(cz logs o1 2>&1 >/dev/null)" = oops ]
check "exec output (Stdio stream) beside it" [ "$(cz exec o1 sh -c 'echo from-exec')" = from-exec ]
check "an exec's stdout is a pipe" bash -c "\"$CZ_BIN\" exec o1 readlink /proc/self/fd/1 | grep -q pipe"
cz stop -t 1 o1 >/dev/null
check "stop: the container stops with the signal's status" \
    bash -c "\"$CZ_BIN\" inspect o1 | grep -Eq '\"ExitCode\": *(137|143)'"
cz rm o1 >/dev/null

# The log (docker's json-file format) keeps any bytes: controls and NUL escaped, valid UTF-8
# as it is, invalid bytes as U+FFFD; `logs` gives the text back.
cz run --name o2 "${M[@]}" t/out:1 /emit >/dev/null
printf 'a\000b\001"q\\\303\251\360\237\230\200\357\277\275z\177\n' >"$T/emit.want"
id=$(cz inspect o2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
check "log: every line is JSON, the bytes escaped as they should be" /usr/bin/python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
text = "".join(json.loads(l)["log"] for l in lines)
sys.exit(0 if text.encode() == open(sys.argv[2], "rb").read() else "got %r" % text)' \
    "$CONTAINER_ROOT/containers/$id/container.log" "$T/emit.want"
cz logs o2 >"$T/emit.got"
check "logs gives the text back" cmp "$T/emit.got" "$T/emit.want"
cz rm o2 >/dev/null

# a terminal: output through the pty, not the ports
got=$(cz run --rm -t "${M[@]}" t/out:1 sh -c 'readlink /proc/self/fd/1' </dev/null | tr -d '\r')
check "with -t stdout is the terminal" bash -c "echo '$got' | grep -q pts"
check "nothing left running" [ -z "$(cz ls -q)" ]
finish
