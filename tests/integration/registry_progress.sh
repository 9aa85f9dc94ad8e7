#!/usr/bin/env bash
# Progress output of pull and push: on a terminal (a pty from script(1)) a
# live bar per layer and a total with bytes, rate and ETA, redrawn in place;
# plain lines when stderr is not a terminal; nothing with --quiet.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/integration/helpers/registry_lib.sh"
unset CZ_NO_TTY

start_registry || { fail "start registry"; finish; }
L=$T/layout
umoci_image "$L" base 1 amd64 1536 || fail "build fixture"
skopeo_push "$L:base" lib/app:1 || fail "skopeo push fixture"
want=$(remote_digest "$REG/lib/app:1")
# about 1.5 MiB at 600 KiB/s: a few seconds of live progress
start_proxy --fault slow:614400 --fault-path "/blobs/"

# on_pty FILE CMD: run CMD with a pseudo-terminal as stdin/stdout/stderr, 100 columns wide.
on_pty() {
    local out=$1
    shift
    timeout 120 script -q -e -c "stty cols 100 rows 40 2>/dev/null; $*" /dev/null </dev/null >"$out"
}

on_pty "$T/tty.log" "'$CZ_BIN' image pull $PROXY/lib/app:1"
check "pull on a terminal succeeds" grep -qF "Digest: $want" "$T/tty.log"
check "terminal: cursor moved up to redraw in place" grep -qF $'\033[' "$T/tty.log"
check "terminal: per-layer bar while downloading" grep -qE '[0-9a-f]{12}: Downloading +\[=*>? *\] +[0-9.]+ [kMG]?B / [0-9.]+ [kMG]?B' "$T/tty.log"
check "terminal: total line with rate and ETA" grep -qE 'total +\[[=> ]+\] +[0-9.]+ [kMG]?B / [0-9.]+ [kMG]?B +[0-9.]+ [kMG]?B/s +ETA [0-9]+s' "$T/tty.log"
redraws=$(grep -o 'total ' "$T/tty.log" | wc -l)
check "terminal: live (redrawn several times, got $redraws)" test "$redraws" -ge 5
check "terminal: every layer ends complete" test "$(tr '\r' '\n' <"$T/tty.log" | grep -cE 'Pull complete$' | sort -u)" -ge 1
last=$(tr '\r' '\n' <"$T/tty.log" | sed 's/\x1b\[[0-9]*[AK]//g' | grep -E '^[0-9a-f]{12}: ' | tail -3)
check "terminal: the final picture shows all three blobs complete" test "$(grep -c 'Pull complete' <<<"$last")" -eq 3
width=$(tr '\r' '\n' <"$T/tty.log" | sed 's/\x1b\[[0-9]*[AK]//g' | grep -E '^([0-9a-f]{12}: |total )' | awk '{ if (length($0) > m) m = length($0) } END { print m }')
check "terminal: lines fit the 100-column terminal (longest $width)" test "$width" -lt 100

on_pty "$T/narrow.log" "stty cols 50; '$CZ_BIN' image pull $PROXY/lib/app:1"
width=$(tr '\r' '\n' <"$T/narrow.log" | sed 's/\x1b\[[0-9]*[AK]//g' | grep -E '^([0-9a-f]{12}: |total )' | awk '{ if (length($0) > m) m = length($0) } END { print m }')
check "terminal: lines clipped to a narrow terminal (longest $width)" test "$width" -lt 50

export CONTAINER_ROOT=$T/root-quiet
on_pty "$T/quiet.log" "'$CZ_BIN' image pull --quiet $PROXY/lib/app:1"
check "--quiet on a terminal: only the reference" \
    test "$(tr -d '\r' <"$T/quiet.log")" = "$PROXY/lib/app:1"

export CONTAINER_ROOT=$T/root-plain
cz image pull "$PROXY/lib/app:1" >"$T/plain.out" 2>"$T/plain.err"
check "not a terminal: pull succeeds" grep -qF "Digest: $want" "$T/plain.out"
check "not a terminal: no escape sequences" bash -c "! grep -qF $'\033' '$T/plain.err'"
check "not a terminal: one plain line per blob" test "$(grep -cE '^[0-9a-f]{12}: Pull complete \((layer|config) [0-9.]+ [kMG]?B\)$' "$T/plain.err")" -eq 3
check "not a terminal: nothing else on stderr" test "$(wc -l <"$T/plain.err")" -eq 3

# push progress: on a terminal and plain
start_registry || fail "second registry"
skopeo copy -q "oci:$L:base" "oci:$CONTAINER_ROOT/content:$REG/lib/pushed:1" >/dev/null
on_pty "$T/push.log" "'$CZ_BIN' image push $REG/lib/pushed:1"
check "push on a terminal shows a total" grep -qE 'total +\[' "$T/push.log"
check "push on a terminal ends with Pushed" grep -q 'Pushed' "$T/push.log"
cz image push "$REG/lib/pushed:1" >/dev/null 2>"$T/push.err"
check "push, not a terminal: plain lines" test "$(grep -c 'Layer already exists' "$T/push.err")" -eq 3
check "push --quiet prints only the digest" \
    test "$(cz image push --quiet "$REG/lib/pushed:1" 2>&1)" = "$(store_target "$REG/lib/pushed:1")"

finish
