# Bad layers for `container image unpack` (tests/ext4/mklayers.py bad-*): truncated gzip
# and tar, corrupt header, name > 255 bytes, NUL in a path, empty component, hardlink
# to a missing target, whiteout of a missing name, an entry larger than --size allows,
# an absurd size, garbage. Each must fail with exactly one line that names the layer
# (its digest) and the entry, and leave no output (nor temporary) file behind.
# Then confinement: `..`, absolute paths and symlinks pointing out of the image never
# make an entry land outside the image, which must still be e2fsck-clean.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/ext4/lib.sh"
ext4_require

out_dir=$T/out
mkdir -p "$out_dir"
for fx in $(python3 "$X4/mklayers.py" list | grep '^bad-'); do
    ext4_fixture "$fx" "$T/$fx" --compress tar || { fail "fixture $fx"; continue; }
    [ "$fx" = bad-nul-in-path ] && nul_layout=$T/$fx
    ext4_import "$T/$fx" "$fx:1" || { fail "$fx: skopeo copy into the store"; continue; }
    entry=$(python3 "$X4/mklayers.py" bad-entry "$fx")
    last_layer=$(skopeo inspect --raw "oci:$CONTAINER_ROOT/content:$fx:1" | jq -r '.layers[-1].digest')
    size_opt=()
    [ "$fx" = bad-too-big ] && size_opt=(--size 32M)
    msg=$(cz image unpack "$fx:1" --output "$out_dir/$fx.ext4" "${size_opt[@]}" 2>&1 </dev/null)
    rc=$?
    if [ $rc -eq 0 ]; then
        fail "$fx: unpack succeeded (should fail)"
        ext4_fsck_clean "$out_dir/$fx.ext4" || fail "$fx: and the image it wrote is not clean"
        ext4_tree "$out_dir/$fx.ext4" "$T/$fx.sum" && echo "    what it wrote:" && sed 's/^/    /' "$T/$fx.sum"
        rm -f "$out_dir/$fx.ext4"
        continue
    fi
    check "$fx: exit status is nonzero and no crash ($rc)" [ $rc -eq 1 ]
    lines=$(printf '%s\n' "$msg" | grep -c .)
    check "$fx: the error is one line" [ "$lines" -eq 1 ]
    [ "$lines" -eq 1 ] || printf '%s\n' "$msg" | head -5
    if printf '%s' "$msg" | grep -q "${last_layer:7:12}"; then
        pass "$fx: the error names the layer"
    else
        fail "$fx: the error does not name the layer ${last_layer:0:19}...: $msg"
    fi
    if [ -z "$entry" ] || printf '%s' "$msg" | grep -Eq -- "$entry"; then
        pass "$fx: the error names the entry"
    else
        fail "$fx: the error does not name the entry /$entry/: $msg"
    fi
    if printf '%s' "$msg" | grep -q $'\x1b'; then
        fail "$fx: the error carries a raw escape character"
    fi
    left=$(ls -A "$out_dir")
    check "$fx: no output or temporary file left" [ -z "$left" ]
    [ -z "$left" ] || { echo "left behind: $left"; rm -f "$out_dir"/* "$out_dir"/.[!.]*; }
    echo "    $fx: $msg"
done

# confinement: build the layers by hand
python3 - "$T/escape" <<'PY'
import io, sys, os
sys.path.insert(0, os.environ["CZ_SRC"] + "/tests/ext4")
import mklayers, tarw
b, w = mklayers.layer()
w.add("./", tarw.DIR)
w.add("etc/", tarw.DIR)
w.add("abs-link", tarw.SYM, linkname="/etc", mode=0o777)
w.add("up-link", tarw.SYM, linkname="../../../../..", mode=0o777)
w.add("host-link", tarw.SYM, linkname="/tmp/cz-ext4-escape-probe", mode=0o777)
l1 = mklayers.done(b, w)
b, w = mklayers.layer()
w.add("../../../../tmp/cz-ext4-escape-probe/dotdot", data=b"dotdot\n")
w.add("/tmp/cz-ext4-escape-probe/absolute", data=b"absolute\n")
w.add("abs-link/through-abs-link", data=b"via /etc\n")
w.add("up-link/through-up-link", data=b"via ..\n")
w.add("host-link/through-host-link", data=b"via host path\n")
l2 = mklayers.done(b, w)
mklayers.Layout(sys.argv[1]).image([(l1, "tar", None), (l2, "gzip", None)])
PY
probe=/tmp/cz-ext4-escape-probe
rm -rf "$probe"
ext4_import "$T/escape" escape:1
if cz image unpack escape:1 --output "$T/escape.ext4" >"$T/escape.log" 2>&1; then
    check "escape: the image is e2fsck-clean" ext4_fsck_clean "$T/escape.ext4"
    ext4_tree "$T/escape.ext4" "$T/escape.sum"
    # resolved inside the image: '..' stops at the root, '/' is the image root, symlinks
    # are followed inside the image
    for p in tmp/cz-ext4-escape-probe/dotdot tmp/cz-ext4-escape-probe/absolute \
        etc/through-abs-link through-up-link tmp/cz-ext4-escape-probe/through-host-link; do
        check "escape: $p landed inside the image" grep -q "^$p f " "$T/escape.sum"
    done
else
    pass "escape: refused ($(cat "$T/escape.log"))"
fi
check "escape: nothing was written on the host" [ ! -e "$probe" ]
check "escape: no temporary image left beside the output" bash -c "! compgen -G '$T/escape.ext4.*'"
finish
