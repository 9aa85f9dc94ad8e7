# Robustness: 150 deterministic mutations of fixture layers (tests/ext4/mutate.py:
# flipped header bits, rewritten numeric and name fields, truncation, duplicated or
# dropped blocks, damaged gzip), applied on top of the intact lower layers through
# lib/ext4 (tests/tools/cz-ext4-apply). Each must either fail with exit status 1, one
# line and no output file, or succeed with an image that e2fsck -fn finds clean and
# whose every file the kernel reads back without an error. No crash, no hang.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/ext4/lib.sh"
ext4_require
apply=$CZ_BUILD/tests/tools/cz-ext4-apply
[ -x "$apply" ] || { fail "missing $apply (make)"; finish; }
n=${CZ_EXT4_MUTATIONS:-150}
python3 "$X4/mutate.py" "$T/m" "$n" 7 || { fail "mutate.py"; finish; }
accepted=0 refused=0 bad=0
for d in "$T"/m/*/; do
    what=$(cat "$d/what")
    out=$T/out/img.ext4
    rm -rf "$T/out"; mkdir -p "$T/out"
    msg=$(timeout 60 "$apply" "$out" "$d"/*.tar 2>&1 </dev/null); rc=$?
    if [ $rc -eq 1 ]; then
        refused=$((refused + 1))
        if [ "$(printf '%s\n' "$msg" | grep -c .)" -ne 1 ] || [ -n "$(ls -A "$T/out")" ]; then
            fail "$what ($d): refused, but not with one line and no file: $msg / $(ls -A "$T/out")"
            bad=$((bad + 1))
        fi
    elif [ $rc -eq 0 ]; then
        accepted=$((accepted + 1))
        if ! ext4_fsck_clean "$out"; then
            fail "$what ($d): accepted, and the image is not e2fsck-clean"; bad=$((bad + 1))
        elif ! ext4_tree "$out" "$T/out.sum" 2>"$T/tree.err"; then
            fail "$what ($d): accepted, the kernel cannot read it all: $(head -3 "$T/tree.err")"; bad=$((bad + 1))
        fi
    else
        fail "$what ($d): exit status $rc (crash or hang): $(printf '%s' "$msg" | head -3)"
        bad=$((bad + 1))
    fi
    [ $bad -ge 10 ] && { fail "stopping after 10 failures"; break; }
done
echo "mutations: $accepted accepted, $refused refused, $bad wrong"
check "every mutated layer was refused cleanly or gave a clean image ($accepted accepted, $refused refused)" [ $bad -eq 0 ]
finish
