# run/create flags where docker's behaviour is the reference: --env-file before -e,
# signal names, the stop signal and timeout a container keeps (image STOPSIGNAL,
# --stop-signal, --stop-timeout), create's exit codes, --cidfile cleanup, --platform,
# fractional --cpus, -p forms (random host port, ranges, udp, 127.x), ls/prune help.
# Records first (no VM), then a few real containers.
. "$CZ_SRC/tests/lib.sh"
export CONTAINER_RUN_DIR=$T/run
PY=/usr/bin/python3
on_exit rm_all_containers

R=$T/rootfs
mkdir -p "$R/bin" "$R/tmp"
cp /bin/busybox "$R/bin/"
for a in sh cat echo sleep grep mkdir httpd; do ln -s busybox "$R/bin/$a"; done
cz image import -c 'CMD ["/bin/sh"]' -c 'STOPSIGNAL SIGQUIT' "$R" t/flags:1 >/dev/null &&
    cz image import -c 'CMD ["/bin/sh"]' "$R" t/plain:1 >/dev/null &&
    cz image import --platform linux/arm64 -c 'CMD ["/bin/sh"]' "$R" t/arm:1 >/dev/null ||
    { fail "import the test images"; finish; }
M=(-m 256M --cpus 1)
rc() { "$@" >/dev/null 2>&1; echo $?; }
env_of() { cz inspect "$1" | jq -r '.[0].Config.Env[]'; }
n_records() { cz ls -aq | wc -l; }

# --- --env-file: every file, then -e; values verbatim; NAME alone from our environment
printf 'A=from-file\n   LEAD=kept\nTRAIL=two  \n# A=comment\n\nFROMENV\nUNSET_HERE\nCR=x\r\nQ="quoted"\n' >"$T/env1"
printf 'A=second-file\nB=file\n' >"$T/env2"
export FROMENV=ours
unset UNSET_HERE B
cz create --name e1 -e A=flag --env-file "$T/env1" --env-file "$T/env2" -e B t/plain:1 >/dev/null
env_of e1 >"$T/e1"
check "--env-file: -e wins over the files whatever the order" grep -qx A=flag "$T/e1"
check "--env-file: a later file wins over an earlier one" bash -c "! grep -q A=from-file '$T/e1'"
check "--env-file: leading whitespace of a line goes" grep -qx LEAD=kept "$T/e1"
check "--env-file: trailing whitespace of a value is kept" grep -qx 'TRAIL=two  ' "$T/e1"
check "--env-file: quotes are kept, CR of a CRLF line goes" \
    bash -c "grep -qx 'Q=\"quoted\"' '$T/e1' && grep -qx CR=x '$T/e1'"
check "--env-file: comments and blank lines are skipped" bash -c "[ \$(grep -c . '$T/e1') = 8 ]"
check "--env-file: NAME alone takes our value" grep -qx FROMENV=ours "$T/e1"
check "--env-file: NAME alone and unset is left out" bash -c "! grep -q UNSET_HERE '$T/e1'"
check "-e NAME alone and unset over a file's value: the file's stays (B=file)" grep -qx B=file "$T/e1"
printf 'OK=1\nA B=1\n' >"$T/env-bad"
n=$(n_records)
out=$(cz create --env-file "$T/env-bad" t/plain:1 2>&1)
code=$?
check "--env-file: a name with a blank is refused, exit 125 ($code)" test $code = 125
# one_line TEXT PATTERN: TEXT is one line and holds PATTERN
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && grep -q -- "$2" <<<"$1"; }
check "...in one line naming the variable ($out)" \
    one_line "$out" "variable 'A B' contains whitespaces"
check "--env-file of a missing file: exit 125" test "$(rc cz create --env-file "$T/nothere" t/plain:1)" = 125
check "...and no container was made" test "$(n_records)" = "$n"
out=$(cz create -e =x 127.0.0.1:1/never/pulled:1 2>&1)
check "-e =x is refused before any pull ($out)" \
    bash -c "grep -q \"invalid environment variable '=x'\" <<<\"\$1\" && ! grep -q 'Unable to find' <<<\"\$1\"" _ "$out"

# --- signals: names as docker takes them
for s in TERM sigterm SIGUSR1 Winch 10 RTMIN RTMIN+3 SIGRTMAX-2 rtmax 64 SIGSTKFLT PWR; do
    check "--stop-signal $s is a signal" test "$(rc cz create --stop-signal "$s" t/plain:1)" = 0
done
for s in 0 65 SIGFOO RTMIN+31 RTMAX-31 RTMIN-1 -9 9x ''; do
    expect_fail "--stop-signal '$s' is refused" "invalid signal" cz create --stop-signal "$s" t/plain:1
    check "...with exit 125" test "$(rc cz create --stop-signal "$s" t/plain:1)" = 125
done
expect_fail "kill -s of an unknown signal" "invalid signal 'BOGUS'" cz kill -s BOGUS e1
check "...exit 125" test "$(rc cz kill -s BOGUS e1)" = 125
expect_fail "stop -s of an unknown signal" "invalid signal 'SIGNOPE'" cz stop -s SIGNOPE e1
expect_fail "stop -t of a bad time" "invalid stop --time 'x'" cz stop -t x e1
check "kill -s RTMIN+2 of a stopped container: only 'not running'" \
    bash -c "'$CZ_BIN' kill -s RTMIN+2 e1 2>&1 | grep -q 'e1 is not running'"

# --- what stop uses, recorded with the container and shown by inspect
stopcfg() { cz inspect "$1" | jq -r '.[0].Config | "\(.StopSignal) \(.StopTimeout)"'; }
cz create --name s1 t/flags:1 >/dev/null
check "the image's STOPSIGNAL is recorded" test "$(stopcfg s1)" = "SIGQUIT 10"
cz create --name s2 --stop-signal usr1 --stop-timeout 3 t/flags:1 >/dev/null
check "--stop-signal over the image's, --stop-timeout" test "$(stopcfg s2)" = "usr1 3"
cz create --name s3 --stop-timeout -1 t/plain:1 >/dev/null
check "no STOPSIGNAL: SIGTERM; --stop-timeout -1 (forever)" test "$(stopcfg s3)" = "SIGTERM -1"
expect_fail "--stop-timeout of garbage" "invalid --stop-timeout" cz create --stop-timeout 1s t/plain:1
expect_fail "--stop-timeout below -1" "invalid --stop-timeout" cz create --stop-timeout -2 t/plain:1

# --- create: 125 for every failure, as run; -d is run's
n=$(n_records)
check "create of an image that cannot be had: 125" \
    test "$(rc cz create 127.0.0.1:1/nosuch/image:1)" = 125
check "create with a name in use: 125" test "$(rc cz create --name e1 t/plain:1)" = 125
check "create with a missing bind source: 125" \
    test "$(rc cz create -v "$T/nothing:/x" t/plain:1)" = 125
expect_fail "create -d is an unknown option" "unknown option '-d" cz create -d t/plain:1
check "...exit 125" test "$(rc cz create --detach t/plain:1)" = 125
check "no records from the failures" test "$(n_records)" = "$n"

# --- --cidfile: refused when it exists; removed with a container that failed to come
echo keep >"$T/cid-there"
check "--cidfile that exists: refused (125), left as it was" \
    bash -c "[ \$(\"$CZ_BIN\" create --cidfile '$T/cid-there' t/plain:1 >/dev/null 2>&1; echo \$?) = 125 ] &&
        [ \"\$(cat '$T/cid-there')\" = keep ]"
mkdir -p "$CONTAINER_ROOT/volumes/broken"
echo garbage >"$CONTAINER_ROOT/volumes/broken/volume.json"
cz create --cidfile "$T/cid1" -v broken:/x t/plain:1 >/dev/null 2>"$T/err"
code=$?
check "create failing after the cidfile was written: 125 ($code)" test $code = 125
check "...its cidfile is gone with it" test ! -e "$T/cid1"
check "...and its record" test "$(n_records)" = "$n"
rm -rf "$CONTAINER_ROOT/volumes/broken"

# --- --platform: only what the VM runs
host=linux/amd64
[ "$(uname -m)" = aarch64 ] && host=linux/arm64
other=linux/arm64
[ "$host" = linux/arm64 ] && other=linux/amd64
out=$(cz create --platform "$other" 127.0.0.1:1/never/pulled:1 2>&1)
code=$?
check "--platform $other: refused with 125 ($code)" test $code = 125
check "...before any pull, in one line ($out)" \
    one_line "$out" "platform is not runnable on this host"
expect_fail "--platform windows/amd64: refused" "not runnable on this host" \
    cz create --platform windows/amd64 t/plain:1
if [ "$host" = linux/amd64 ]; then
    expect_fail "an image of another architecture is refused" \
        "image t/arm:1 \(linux/arm64\): the image's platform is not runnable" cz create t/arm:1
fi
check "--platform $host is fine" test "$(rc cz create --platform "$host" t/plain:1)" = 0
check "no records from the refusals" test "$(n_records)" = "$((n + 1))"

# --- --cpus: fractions, rounded up to whole vCPUs, recorded as given
cz create --name c15 --cpus 1.5 t/plain:1 >/dev/null
check "--cpus 1.5: two vCPUs, 1.5 recorded" \
    test "$(cz inspect c15 | jq -r '.[0].Config | "\(.Cpus) \(.NanoCpus)"')" = "2 1500000000"
cz create --name c05 --cpus .25 t/plain:1 >/dev/null
check "--cpus .25: one vCPU" \
    test "$(cz inspect c05 | jq -r '.[0].Config | "\(.Cpus) \(.NanoCpus)"')" = "1 250000000"
for c in 0 0.0 -1 abc 1.5.1 65 64.5 1e3 0.0000000001; do
    check "--cpus $c is refused with 125" test "$(rc cz create --cpus "$c" t/plain:1)" = 125
done

# --- -p forms, as recorded
cz create --name p1 -p 8080 -p 127.0.0.3:9000-9001:90-91/udp -p 7000:70 t/plain:1 >/dev/null
ports=$(cz inspect p1 | jq -r '.[0].Config.Ports | join(" ")')
check "-p CONTAINER picks a free port on 127.0.0.1 ($ports)" \
    bash -c "echo '$ports' | grep -Eq '^127\.0\.0\.1:[0-9]+:8080/tcp ' && ! echo '$ports' | grep -q '127.0.0.1:0:'"
check "-p a range with an address and /udp: one port each" \
    bash -c "echo '$ports' | grep -q '127.0.0.3:9000:90/udp 127.0.0.3:9001:91/udp 127.0.0.1:7000:70/tcp'"
check "inspect's Publish keeps the request" \
    test "$(cz inspect p1 | jq -r '.[0].Config.Publish[0]')" = "127.0.0.1::8080/tcp"
cz create --name pall -p 0.0.0.0:8081:80 t/plain:1 >/dev/null
check "-p 0.0.0.0:HOST:CONTAINER is taken as asked (every interface)" \
    test "$(cz inspect pall | jq -r '.[0].Config.Ports[0]')" = "0.0.0.0:8081:80/tcp"
cz rm pall >/dev/null
expect_fail "-p a bad address" "bad address" cz create -p 300.1.1.1:80:80 t/plain:1
expect_fail "-p ranges of two lengths" "same length" cz create -p 8000-8002:80-81 t/plain:1
expect_fail "-p a reversed range" "not a port or a range" cz create -p 90-80 t/plain:1
expect_fail "-p a bad protocol" "tcp or udp" cz create -p 80/sctp t/plain:1
expect_fail "-p more than 64 ports" "at most 64" cz create -p 1000-1064:1000-1064 t/plain:1

# --- help
check "ls --help lists its options" \
    bash -c "'$CZ_BIN' ls --help | grep -q -- '-a, --all' && '$CZ_BIN' ls --help | grep -q -- '--format'"
check "prune --help documents -f" bash -c "'$CZ_BIN' prune --help | grep -q -- '-f, --force'"
check "create --help has no -d" bash -c "! '$CZ_BIN' create --help | grep -q -- '--detach'"
check "run --help has -d" bash -c "'$CZ_BIN' run --help | grep -q -- '-d, --detach'"
cz rm -a >/dev/null 2>&1

# --- in VMs: the values reach the process
out=$(cz run --rm "${M[@]}" --env-file "$T/env1" -e A=flag t/plain:1 sh -c 'echo "[$A][$TRAIL][$LEAD]"')
check "--env-file and -e in the container ($out)" test "$out" = "[flag][two  ][kept]"
out=$(cz run --rm -m 256M --cpus 1.5 t/plain:1 grep -c ^processor /proc/cpuinfo)
check "--cpus 1.5 boots two vCPUs ($out)" test "$out" = 2
cz run --rm "${M[@]}" --cidfile "$T/cid2" t/plain:1 nosuchcmd 2>/dev/null
code=$?
check "run --rm of a command that does not start: 127 ($code)" test $code = 127
check "...its cidfile went with the container" test ! -e "$T/cid2"
cz run -d --rm "${M[@]}" --cidfile "$T/cid3" t/plain:1 nosuchcmd 2>/dev/null
code=$?
check "run -d --rm of a command that does not start: 127 ($code), and no cidfile" \
    test $code = 127 -a ! -e "$T/cid3"
cz run "${M[@]}" --cidfile "$T/cid4" t/plain:1 nosuchcmd 2>/dev/null
check "without --rm the failed container stays, and so does its cidfile (as docker)" \
    bash -c "[ -s '$T/cid4' ] && '$CZ_BIN' inspect \$(cat '$T/cid4') >/dev/null"
cz rm "$(cat "$T/cid4")" >/dev/null

# --- stop: the image's STOPSIGNAL, --stop-signal, --stop-timeout; stop's flags over them
# Each shell exits with its own code on the signal it expects; a shell that gets only
# SIGTERM (dropped by PID 1) would be killed: 137.
# trapping SIG CODE [HANDLER]: a shell that exits CODE on SIG (after HANDLER), and says
# it is ready in /tmp/ready once the trap is set
trapping() { echo "trap '${3:-}exit $2' $1; : >/tmp/ready; while :; do sleep 1; done"; }
exit_code() { cz inspect "$1" | jq -r '.[0].State.ExitCode'; }
started() {
    for _ in $(seq 1 100); do cz exec "$1" cat /tmp/ready 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
cz run -d "${M[@]}" --name q1 t/flags:1 sh -c "$(trapping QUIT 42)" >/dev/null
started q1
cz stop -t 20 q1 >/dev/null
check "stop sends the image's STOPSIGNAL (SIGQUIT)" test "$(exit_code q1)" = 42
cz run -d "${M[@]}" --name q2 --stop-signal USR1 t/flags:1 sh -c "$(trapping USR1 43)" >/dev/null
started q2
cz stop -t 20 q2 >/dev/null
check "stop sends --stop-signal over the image's" test "$(exit_code q2)" = 43
cz start q2 >/dev/null && started q2
cz stop -s USR2 -t 2 q2 >/dev/null
check "stop -s over the recorded signal (USR2, not trapped: killed at -t 2)" test "$(exit_code q2)" = 137
cz run -d "${M[@]}" --name q3 --stop-timeout 1 t/plain:1 sh -c "$(trapping TERM 44 'sleep 6; ')" >/dev/null
started q3
cz stop q3 >/dev/null
check "--stop-timeout 1: killed before the 6 s handler ends" test "$(exit_code q3)" = 137
cz start q3 >/dev/null && started q3
cz stop -t 30 q3 >/dev/null
check "stop -t 30 over --stop-timeout: the handler finishes" test "$(exit_code q3)" = 44
cz rm q1 q2 q3 >/dev/null

# --- published ports: a random one, a range, another 127 address, udp
# A static UDP echo server for the container (busybox has none).
udp_echo=
if command -v cc >/dev/null; then
    cc -static -Os -o "$T/udp-echo" -x c - <<'C' && cp "$T/udp-echo" "$R/bin/" && udp_echo=1
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    if (argc < 2 || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return 1;
    for (;;) {
        char b[512];
        struct sockaddr_in p;
        socklen_t l = sizeof(p);
        ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&p, &l);
        if (n > 0)
            sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&p, l);
    }
}
C
    cz image import -c 'CMD ["/bin/sh"]' "$R" t/udp:1 >/dev/null || udp_echo=
fi
# three consecutive free ports on 127.0.0.1
base=$($PY - <<'PY'
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    try:
        socks = []
        for q in (p, p + 1, p + 2):
            t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if q == p + 2 else socket.SOCK_STREAM)
            t.bind(("127.0.0.1", q)); socks.append(t)
        print(p); break
    except OSError:
        pass
    finally:
        for t in socks: t.close()
PY
)
serve='mkdir -p /a /b; echo A80 >/a/index.html; echo A81 >/b/index.html; httpd -p 80 -h /a; httpd -p 81 -h /b'
if [ -n "$udp_echo" ]; then img=t/udp:1 serve="$serve; exec udp-echo 5353"; else img=t/plain:1 serve="$serve; exec sleep 600"; fi
cz run -d "${M[@]}" --name web -p 80 -p "$base-$((base + 1)):80-81" -p 127.0.0.2::81 \
    -p "127.0.0.1:$((base + 2)):5353/udp" "$img" sh -c "$serve" >/dev/null
hostport() { cz inspect web | jq -r ".[0].Config.Ports[$1]" | cut -d: -f2; }
get() { local got= i; for i in $(seq 1 100); do got=$(curl -s --max-time 2 "http://$1/") && [ -n "$got" ] && break; sleep 0.2; done; echo "$got"; }
p0=$(hostport 0)
p3=$(hostport 3)
check "-p 80: the random port answers on 127.0.0.1:$p0" test "$(get "127.0.0.1:$p0")" = A80
check "-p $base-$((base + 1)):80-81: both ports" \
    test "$(get "127.0.0.1:$base") $(get "127.0.0.1:$((base + 1))")" = "A80 A81"
check "-p 127.0.0.2::81: on that address ($p3)" test "$(get "127.0.0.2:$p3")" = A81
want="127.0.0.1:$p0->80/tcp, 127.0.0.1:$base-$((base + 1))->80-81/tcp, 127.0.0.2:$p3->81/tcp, 127.0.0.1:$((base + 2))->5353/udp"
check "ls shows the ports, a range folded ($want)" grep -qF "$want" <<<"$(cz ls | grep web)"
if [ -n "$udp_echo" ]; then
    got=$($PY - "$((base + 2))" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for _ in range(30):
    s.sendto(b"udp-ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recv(64).decode()); break
    except socket.timeout:
        pass
PY
)
    check "-p HOST:CONTAINER/udp: a datagram there and back" test "$got" = udp-ping
else
    echo "SKIP: -p .../udp traffic: no C compiler for the test's static UDP echo server"
fi
cz stop -t 0 web >/dev/null
check "ls -a shows no ports for a stopped container" \
    bash -c "! '$CZ_BIN' ls -a | grep web | grep -q '127.0.0.1:'"
# the random port taken meanwhile: start picks another and records it
# (SO_REUSEADDR: the port's closed connections linger in TIME_WAIT)
$PY -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1',$p0)); s.listen(); open('$T/held','w').close(); time.sleep(300)" &
holder=$!
on_exit "kill $holder"
for _ in $(seq 1 50); do [ -e "$T/held" ] && break; sleep 0.1; done
cz start web >/dev/null
p0b=$(hostport 0)
check "start: a random port taken meanwhile is picked anew ($p0 -> $p0b)" \
    bash -c "[ -n '$p0b' ] && [ '$p0b' != '$p0' ] && [ '$p0b' != 0 ]"
check "...and answers" test "$(get "127.0.0.1:$p0b")" = A80
check "...fixed ports stay" test "$(hostport 1)" = "$base"
kill $holder
cz rm -f web >/dev/null

# --- what getopt refuses: one line naming the option, then where usage is; -h everywhere
opt_err() { "$CZ_BIN" "$@" 2>&1 >/dev/null | head -1; }
check "an unknown short option is named" test "$(opt_err kill -x c)" = "Error: kill: unknown option '-x'"
check "an unknown long option is named" test "$(opt_err stop --bogus c)" = "Error: stop: unknown option '--bogus'"
check "an option without its value says so" test "$(opt_err ls --format)" = "Error: ls: option '--format' needs a value"
check "...a short one too" test "$(opt_err logs -n)" = "Error: logs: option '-n' needs a value"
check "a flag given a value says so" test "$(opt_err start --attach=1 c)" = "Error: start: option '--attach' takes no value"
check "an unknown letter in a cluster is the one named" test "$(opt_err ls --all -xq)" = "Error: ls: unknown option '-x'"
check "an ambiguous abbreviation says so" test "$(opt_err run --st x t/plain:1)" = "Error: run: option '--st' is ambiguous"
check "a subcommand's own options only" test "$(opt_err image ls -o)" = "Error: image ls: unknown option '-o'"
check "two lines in all (the error, then where usage is)" test "$("$CZ_BIN" kill -x c 2>&1 | wc -l)" -eq 2
"$CZ_BIN" kill -x c >/dev/null 2>&1
check "...exit 125" test $? -eq 125
for c in start stop kill exec logs cp stats; do
    "$CZ_BIN" $c -h >"$T/h.out" 2>&1
    check "$c -h prints its usage" grep -q "^Usage: container $c" "$T/h.out"
done
finish
