# Container records without VMs: create resolves the command from the image
# and the flags as docker does; ls, inspect, rm, prune; bad flags exit 125.
. "$CZ_SRC/tests/lib.sh"
mkdir -p "$T/rootfs/bin"
cp /bin/busybox "$T/rootfs/bin/"
cz image import -c 'ENTRYPOINT ["/bin/busybox"]' -c 'CMD ["echo","from-cmd"]' \
    -c 'ENV IMG=1 PATH=/bin' -c 'WORKDIR /work' -c 'USER 1000' "$T/rootfs" ep:1 >/dev/null
cz image import -c 'CMD ["/bin/sh"]' "$T/rootfs" plain:1 >/dev/null

id=$(cz create --name c1 -e A=1 -e IMG=2 -l team=x -c 3 -m 768M -p 127.0.0.1:8080:80/tcp \
    --dns 10.0.0.53 --hostname box --tmpfs /scratch -v data:/data:ro -v "$T:/host" ep:1)
check "create prints a 64-hex id" bash -c "echo '$id' | grep -Eqx '[0-9a-f]{64}'"
j=$(cz inspect c1)
check "entrypoint + image CMD" [ "$(echo "$j" | jq -c '.[0].Config.Cmd')" = '["/bin/busybox","echo","from-cmd"]' ]
check "-e overrides image ENV" [ "$(echo "$j" | jq -r '.[0].Config.Env | map(select(startswith("IMG="))) | .[0]')" = IMG=2 ]
check "image WORKDIR and USER" [ "$(echo "$j" | jq -r '.[0].Config.WorkingDir + " " + .[0].Config.User')" = "/work 1000" ]
check "resources recorded" [ "$(echo "$j" | jq -r '"\(.[0].Config.Cpus) \(.[0].Config.MemoryMiB)"')" = "3 768" ]
check "mounts recorded" [ "$(echo "$j" | jq -r '[.[0].Config.Mounts[].Type] | join(",")')" = "tmpfs,volume,bind" ]
check "the image digest is pinned" bash -c "echo '$j' | jq -r '.[0].ImageDigest' | grep -Eq '^sha256:'"

cz create --name c2 ep:1 ls -l >/dev/null
check "args replace CMD, keep ENTRYPOINT" [ "$(cz inspect c2 | jq -c '.[0].Config.Cmd')" = '["/bin/busybox","ls","-l"]' ]
cz create --name c3 --entrypoint /bin/sh ep:1 -c true >/dev/null
check "--entrypoint drops the image CMD" [ "$(cz inspect c3 | jq -c '.[0].Config.Cmd')" = '["/bin/sh","-c","true"]' ]
printf 'FROMFILE=yes\n# comment\n\nOTHER=2\n' >"$T/env"
cz create --name c4 --env-file "$T/env" plain:1 >/dev/null
check "--env-file" bash -c "\"$CZ_BIN\" inspect c4 | jq -e '.[0].Config.Env | index(\"FROMFILE=yes\")' >/dev/null"
cz create --cidfile "$T/cid" plain:1 >/dev/null
mkdir -p "$T/a:b"
cz create --name c5 --mount "type=bind,source=$T/a:b,target=/m:n,readonly" plain:1 >/dev/null
check "--mount keeps ':' in paths" [ "$(cz inspect c5 | jq -r '.[0].Config.Mounts[0] | .Source + " " + .Destination + " " + (.ReadOnly|tostring)')" = "$T/a:b /m:n true" ]
cz rm c5 >/dev/null
check "--cidfile holds the id" bash -c "[ \$(wc -c <'$T/cid') = 64 ]"

check "ls hides created containers" [ -z "$(cz ls -q)" ]
check "ls -a shows them" [ "$(cz ls -a -q | wc -l)" = 5 ]
check "ls --format json" [ "$(cz ls -a --format json | jq length)" = 5 ]
check "inspect by id prefix" [ "$(cz inspect "${id:0:8}" | jq -r '.[0].Name')" = c1 ]

rc() { "$@" >/dev/null 2>&1; echo $?; }
expect_fail "duplicate name" "already in use" cz create --name c1 plain:1
expect_fail "invalid name" "invalid container name" cz create --name '-x' plain:1
check "bad flag exits 125" [ "$(rc cz create --bogus plain:1)" = 125 ]
expect_fail "bad memory" "at least 128M" cz create -m 1 plain:1
expect_fail "bad cpus" "above 0 and at most 64" cz create -c 0 plain:1
expect_fail "bad port" "not a port" cz create -p 70000:80 plain:1
expect_fail "ports without a network" "need a network" cz create --network none -p 80:80 plain:1
expect_fail "bad dns" "not an IP" cz create --dns nope plain:1
expect_fail "relative workdir" "absolute" cz create -w rel plain:1
expect_fail "missing bind source" "/nonexistent: No such file or directory" cz create -v /nonexistent:/x plain:1
expect_fail "bad mount type" "type must be" cz create --mount type=nfs,source=a,target=/b plain:1
expect_fail "existing cidfile" "already exists" cz create --cidfile "$T/cid" plain:1
expect_fail "no command" "no command specified" bash -c "cz() { \"$CZ_BIN\" \"\$@\"; }; \"$CZ_BIN\" image import '$T/rootfs' nocmd:1 >/dev/null && \"$CZ_BIN\" create nocmd:1"
expect_fail "unknown container" "no such container" cz inspect nothere
check "failed creates left no records" [ "$(cz ls -a -q | wc -l)" = 5 ]

cz rm c1 >/dev/null
check "rm removes" bash -c "! \"$CZ_BIN\" inspect c1 >/dev/null 2>&1"
cz prune >/dev/null
check "prune removes all stopped" [ "$(cz ls -a -q | wc -l)" = 0 ]
check "no directories left" [ -z "$(ls -A "$CONTAINER_ROOT/containers")" ]
finish
