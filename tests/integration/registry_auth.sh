#!/usr/bin/env bash
# Registry authentication against real peers: docker-registry with htpasswd
# (Basic), and the test proxy's token server (Bearer, per-scope tokens that
# expire after a few uses). Login/logout and the credentials file, docker's
# ~/.docker/config.json as a fallback, clear one-line errors, and skopeo
# interop with credentials in both directions.
. "$CZ_SRC/tests/lib.sh"
. "$CZ_SRC/tests/integration/helpers/registry_lib.sh"

htpasswd -Bbn alice secret1 >"$T/htpasswd" || fail "htpasswd"
start_registry "$T/htpasswd" || { fail "start registry"; finish; }
L=$T/layout
umoci_image "$L" base 1 amd64 256 || fail "build fixture"
skopeo_push "$L:base" lib/app:1 --dest-creds alice:secret1 || fail "skopeo push with credentials"
want=$(remote_digest "$REG/lib/app:1" --creds alice:secret1)
AUTH=$CONTAINER_ROOT/auth.json
export HOME=$T/home
mkdir -p "$HOME"

# a copy of the fixture named for this registry, for pushes
mkdir -p "$CONTAINER_ROOT"
cz image ls >/dev/null 2>&1
skopeo copy -q "oci:$L:base" "oci:$CONTAINER_ROOT/content:$REG/lib/mine:1" >/dev/null || fail "name a local copy"
local_digest=$(store_target "$REG/lib/mine:1")

# --- Basic: no credentials ---
expect_fail "pull without login: one clear 401 line" \
    "^Error: pull $REG/lib/app:1: .*HTTP 401.*container registry login" cz image pull "$REG/lib/app:1"
check "pull without login: error is one line" test "$(cz image pull "$REG/lib/app:1" 2>&1 | wc -l)" -eq 1
check "pull without login: nothing named" test -z "$(store_target "$REG/lib/app:1")"
expect_fail "push without login: one clear 401 line" \
    "^Error: push $REG/lib/mine:1: .*HTTP 401.*container registry login" cz image push "$REG/lib/mine:1"

# --- login ---
expect_fail "login with a wrong password is rejected" "login $REG: .*credentials rejected" \
    bash -c "echo wrong | '$CZ_BIN' registry login --username alice --password-stdin $REG"
check "a rejected login writes no credentials" test ! -e "$AUTH"
expect_fail "login with an empty password" "empty password" \
    bash -c "printf '\n' | '$CZ_BIN' registry login --username alice --password-stdin $REG"
out=$(echo secret1 | cz registry login --username alice --password-stdin "$REG" 2>&1)
check "login succeeds" test "$out" = "Login Succeeded"
check "credentials file mode 0600" test "$(stat -c %a "$AUTH")" = 600
check "credentials file in docker config.json format" \
    test "$(jq -r --arg h "$REG" '.auths[$h].auth' "$AUTH" | base64 -d)" = "alice:secret1"
echo secret1 | cz registry login --username alice --password-stdin "http://$REG/" >/dev/null 2>&1
check "login with a URL stores the bare host once" test "$(jq '.auths | length' "$AUTH")" -eq 1

out=$(cz image pull "$REG/lib/app:1" 2>/dev/null)
check "pull after login" test "$(pulled_digest "$out")" = "$want"
check "store consistent after authenticated pull" store_consistent
out=$(cz image push "$REG/lib/mine:1" 2>/dev/null)
check "push after login" grep -qF "digest: $local_digest" <<<"$out"
check "skopeo with credentials reads what we pushed" \
    test "$(remote_digest "$REG/lib/mine:1" --creds alice:secret1)" = "$local_digest"
check "skopeo copies what we pushed (auth)" \
    skopeo copy -q --src-tls-verify=false --src-creds alice:secret1 "docker://$REG/lib/mine:1" "oci:$T/back:x"

# --- logout ---
out=$(cz registry logout "$REG" 2>&1)
check "logout succeeds" grep -q "Removing login credentials for $REG" <<<"$out"
check "logout removes the entry" test "$(jq --arg h "$REG" '.auths | has($h)' "$AUTH")" = false
check "credentials file still mode 0600" test "$(stat -c %a "$AUTH")" = 600
expect_fail "logout when not logged in" "not logged in to $REG" cz registry logout "$REG"
expect_fail "pull after logout fails again" "HTTP 401" cz image pull "$REG/lib/app:1"

# --- docker's config.json is read too ---
mkdir -p "$HOME/.docker"
printf '{"auths":{"http://%s":{"auth":"%s"}}}\n' "$REG" "$(printf alice:secret1 | base64)" >"$HOME/.docker/config.json"
out=$(cz image pull "$REG/lib/app:1" 2>/dev/null)
check "pull with credentials from ~/.docker/config.json" test "$(pulled_digest "$out")" = "$want"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf alice:nope | base64)" >"$HOME/.docker/config.json"
expect_fail "wrong password in docker's config.json: clear error" \
    "^Error: pull $REG/lib/app:1: .*credentials rejected" cz image pull "$REG/lib/app:1"
printf 'not json' >"$HOME/.docker/config.json"
expect_fail "a broken docker config.json is only a warning" "HTTP 401" cz image pull "$REG/lib/app:1"
rm -rf "$HOME/.docker"
echo secret1 | cz registry login --username alice --password-stdin "$REG" >/dev/null 2>&1

# --- skopeo pushes with credentials, we pull; we push, skopeo pulls ---
umoci_image "$L" other 2 amd64 128 || fail "second fixture"
skopeo_push "$L:other" lib/other:1 --dest-creds alice:secret1 || fail "skopeo push other"
out=$(cz image pull "$REG/lib/other:1" 2>/dev/null)
check "skopeo -> us with Basic auth, same digest" \
    test "$(pulled_digest "$out")" = "$(remote_digest "$REG/lib/other:1" --creds alice:secret1)"

# --- Bearer: token server in front of an open registry ---
BASIC_REG=$REG
start_registry || { fail "start open registry"; finish; }
skopeo_push "$L:base" lib/app:1 || fail "seed open registry"
want=$(remote_digest "$REG/lib/app:1")
start_proxy --bearer --users alice:secret1 || fail "start token proxy"
BR=$PROXY
export CONTAINER_ROOT=$T/bearer-root
cz image ls >/dev/null 2>&1
tokens() { grep -c '^TOKEN ' "$PROXY_LOG"; }

expect_fail "Bearer: anonymous pull refused when the token server wants a user" \
    "^Error: pull $BR/lib/app:1: get token .*HTTP 401.*container registry login" cz image pull "$BR/lib/app:1"
out=$(echo secret1 | cz registry login --username alice --password-stdin "$BR" 2>&1)
check "Bearer: login gets a token" test "$out" = "Login Succeeded"
expect_fail "Bearer: login with a wrong password" "credentials rejected" \
    bash -c "echo wrong | '$CZ_BIN' registry login --username alice --password-stdin $BR"
: >"$PROXY_LOG"
out=$(cz image pull "$BR/lib/app:1" 2>/dev/null)
check "Bearer: pull with a token" test "$(pulled_digest "$out")" = "$want"
check "Bearer: one token for the pull scope, cached for every request" test "$(tokens)" -eq 1
check "Bearer: the token asked for repository:lib/app:pull" grep -q "^TOKEN user=alice scope=repository:lib/app:pull$" "$PROXY_LOG"
check "Bearer: manifest and blobs fetched with it" test "$(grep -cE '^GET /v2/lib/app/(manifests|blobs)/.* 200' "$PROXY_LOG")" -ge 4

skopeo copy -q "oci:$L:base" "oci:$CONTAINER_ROOT/content:$BR/lib/mine:2" >/dev/null
local_digest=$(store_target "$BR/lib/mine:2")
: >"$PROXY_LOG"
out=$(cz image push "$BR/lib/mine:2" 2>"$T/bpush")
check "Bearer: push" grep -qF "digest: $local_digest" <<<"$out"
check "Bearer: push token asked for pull,push on the target" grep -qE "^TOKEN user=alice scope=.*repository:lib/mine:pull,push" "$PROXY_LOG"
check "Bearer: push asked for few tokens (cached per scope)" test "$(tokens)" -le 4
check "Bearer: skopeo pulls what we pushed" \
    skopeo copy -q --src-tls-verify=false --src-creds alice:secret1 "docker://$BR/lib/mine:2" "oci:$T/back3:x"

# tokens that expire after 3 requests: renewed on 401, the pull still succeeds
start_proxy --bearer --users alice:secret1 --token-uses 2 || fail "start expiring-token proxy"
export CONTAINER_ROOT=$T/renew-root
echo secret1 | cz registry login --username alice --password-stdin "$PROXY" >/dev/null 2>&1
umoci_image "$L" many 3 amd64 64 && skopeo_push "$L:many" lib/many:1 || fail "seed"
out=$(cz image pull "$PROXY/lib/many:1" 2>"$T/renew-err")
check "Bearer: pull succeeds with tokens that expire (renewed on 401)" \
    test "$(pulled_digest "$out")" = "$(remote_digest "$REG/lib/many:1")"
check "Bearer: expired tokens were seen" grep -q "^TOKEN-EXPIRED" "$PROXY_LOG"
check "Bearer: a new token was fetched after expiry" test "$(tokens)" -ge 2
check "store consistent after renewals" store_consistent
skopeo copy -q "oci:$L:many" "oci:$CONTAINER_ROOT/content:$PROXY/lib/renewpush:1" >/dev/null
: >"$PROXY_LOG"
out=$(CZ_PUSH_CHUNK=20000 cz image push "$PROXY/lib/renewpush:1" 2>/dev/null)
check "Bearer: chunked push succeeds with tokens that expire" \
    grep -qF "digest: $(store_target "$PROXY/lib/renewpush:1")" <<<"$out"
check "Bearer: the push saw expired tokens and renewed them" \
    test "$(grep -c '^TOKEN-EXPIRED' "$PROXY_LOG")" -ge 1 -a "$(tokens)" -ge 2

# anonymous pull allowed, anonymous push denied
start_proxy --bearer --users alice:secret1 --anonymous-pull || fail "start anonymous proxy"
AR=$PROXY
export CONTAINER_ROOT=$T/anon-root
cz image ls >/dev/null 2>&1
out=$(cz image pull "$AR/lib/app:1" 2>/dev/null)
check "Bearer: anonymous pull when allowed" test "$(pulled_digest "$out")" = "$want"
check "Bearer: anonymous token request" grep -q "^TOKEN user=None scope=repository:lib/app:pull$" "$PROXY_LOG"
skopeo copy -q "oci:$L:base" "oci:$CONTAINER_ROOT/content:$AR/lib/anon:1" >/dev/null
expect_fail "Bearer: anonymous push denied with a clear line" \
    "^Error: push $AR/lib/anon:1: .*(HTTP 401|denied).*container registry login" cz image push "$AR/lib/anon:1"
check "Bearer: anonymous push error is one line" test "$(cz image push "$AR/lib/anon:1" 2>&1 | wc -l)" -eq 1

# skopeo through the token server, both directions
export CONTAINER_ROOT=$T/bearer-root
umoci_image "$L" viaproxy 4 amd64 64 || fail "fixture 4"
skopeo copy -q --dest-tls-verify=false --dest-creds alice:secret1 "oci:$L:viaproxy" "docker://$BR/lib/viaproxy:1" >/dev/null ||
    fail "skopeo push through the token server"
out=$(cz image pull "$BR/lib/viaproxy:1" 2>/dev/null)
check "skopeo -> us through Bearer auth, same digest" \
    test "$(pulled_digest "$out")" = "$(remote_digest "$BR/lib/viaproxy:1" --creds alice:secret1)"

finish
