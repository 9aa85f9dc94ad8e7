# The README's first command runs scripts/demo: it must finish with status 0 and show
# containers running in their own VMs (our guest kernel, exec, a registry round trip).
. "$CZ_SRC/tests/lib.sh"
mkdir -p "$T/tmp"
CZ_BIN=$CZ_BIN TMPDIR=$T/tmp timeout 600 "$CZ_SRC/scripts/demo" >"$T/demo.out" 2>&1
rc=$?
check "scripts/demo exits 0" test $rc -eq 0
check "a container reports our guest kernel" grep -q "^kernel: Linux .*-cz" "$T/demo.out"
check "exec in a detached container" grep -q "^exec in " "$T/demo.out"
check "the image came back through the local registry and ran" \
    bash -c "grep -A3 'pull into an empty store' '$T/demo.out' | grep -q 'containerization demo image'"
check "the demo cleaned up its temporary directory" test -z "$(ls "$T/tmp")"
[ $rc -eq 0 ] || tail -20 "$T/demo.out"
finish
