# Replays every libFuzzer harness over its seed corpus and a few thousand
# mutations: a crash, leak or sanitizer report fails the test.
. "$CZ_SRC/tests/lib.sh"
found=0
for bin in "$CZ_SRC"/build/fuzz/*_fuzz; do
    [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin" _fuzz)
    corpus=$CZ_SRC/fuzz/corpus/$name
    work=$T/corpus-$name
    mkdir -p "$work"
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    if "$bin" -artifact_prefix="$T/" -runs=3000 -max_total_time=60 -rss_limit_mb=2048 "$work" >"$T/$name.log" 2>&1; then
        pass "fuzz $name: corpus and 3000 mutations"
    else
        fail "fuzz $name"
        tail -30 "$T/$name.log"
    fi
done
check "fuzz harnesses were built" [ "$found" = 1 ]
finish
