#!/usr/bin/env bash
# The netlink module against the real kernel: cz-netlink-test runs inside a network namespace
# this test creates (and deletes on exit); iproute2's JSON output (`ip -j`) checks each result.
# Bridges, veth pairs, taps, master, MTU, up/down, rename, netns moves, IPv4/IPv6 addresses
# and routes, deletes, and the error messages for the usual mistakes.
. "$CZ_SRC/tests/lib.sh"

TOOL=$CZ_BUILD/tests/tools/cz-netlink-test
[ -x "$TOOL" ] || { fail "missing $TOOL (run make)"; finish; }
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root for ip netns"; pass "netlink: skipped (not root)"; finish; fi

NS=cz-nl-$$-$RANDOM
NS2=$NS-b
ip netns add "$NS" || { fail "ip netns add $NS"; finish; }
on_exit "ip netns del $NS"
ip netns add "$NS2" || { fail "ip netns add $NS2"; finish; }
on_exit "ip netns del $NS2"

nl() { ip netns exec "$NS" "$TOOL" "$@"; }
ipj() { ip -n "$NS" -j "$@"; }
# jq_check NAME JQ_FILTER JSON: PASS when the filter prints true.
jq_check() {
    local name=$1 filter=$2 json=$3
    if [ "$(echo "$json" | jq -r "$filter" 2>/dev/null)" = true ]; then pass "$name"; else
        fail "$name: $filter on $(echo "$json" | head -c 600)"
    fi
}
link_json() { ipj -d link show dev "$1" 2>/dev/null || echo '[]'; }

# --- links --------------------------------------------------------------
check "bridge-add br0" nl bridge-add br0
jq_check "br0 is a bridge" '.[0].linkinfo.info_kind == "bridge"' "$(link_json br0)"
check "veth-add v0/v1" nl veth-add v0 v1
jq_check "v0 is a veth whose peer is v1" '.[0].linkinfo.info_kind == "veth" and .[0].link == "v1"' "$(link_json v0)"
check "tap-add tap0" nl tap-add tap0
jq_check "tap0 is a persistent tap" '.[0].linkinfo.info_kind == "tun" and .[0].linkinfo.info_data.type == "tap"' \
    "$(link_json tap0)"

check "master v0 br0" nl master v0 br0
jq_check "v0's master is br0" '.[0].master == "br0"' "$(link_json v0)"
check "mtu v0 1400" nl mtu v0 1400
jq_check "v0's MTU is 1400" '.[0].mtu == 1400' "$(link_json v0)"
check "up br0" nl up br0
check "up v0" nl up v0
jq_check "br0 is up" '.[0].flags | index("UP") != null' "$(link_json br0)"
jq_check "v0 is up" '.[0].flags | index("UP") != null' "$(link_json v0)"

# link-get reports what ip sees.
out=$(nl link-get v0)
want_mac=$(link_json v0 | jq -r '.[0].address')
want_index=$(link_json v0 | jq -r '.[0].ifindex')
br_index=$(link_json br0 | jq -r '.[0].ifindex')
if [[ "$out" == "index=$want_index name=v0 mtu=1400 state=up mac=$want_mac master=$br_index kind=veth" ]]; then
    pass "link-get v0 matches ip link"
else
    fail "link-get v0: '$out' (ip says index $want_index mac $want_mac master $br_index)"
fi
out=$(nl link-get-index "$want_index")
[[ "$out" == "index=$want_index name=v0 "* ]] && pass "link-get-index" || fail "link-get-index: '$out'"

check "down v0" nl down v0
jq_check "v0 is down" '.[0].flags | index("UP") == null' "$(link_json v0)"
check "master v0 - (release)" nl master v0 -
jq_check "v0 has no master" '.[0].master == null' "$(link_json v0)"
check "rename v1 eth1" nl rename v1 eth1
jq_check "v1 is now eth1" 'length == 1 and .[0].ifname == "eth1"' "$(link_json eth1)"
check "netns eth1 to the second namespace" nl netns eth1 "/var/run/netns/$NS2"
if ip -n "$NS2" link show dev eth1 >/dev/null 2>&1 && ! ip -n "$NS" link show dev eth1 >/dev/null 2>&1; then
    pass "eth1 moved namespaces"
else
    fail "eth1 moved namespaces"
fi

# --- addresses ------------------------------------------------------------
check "addr-add br0 10.0.0.2/24" nl addr-add br0 10.0.0.2/24
check "addr-add br0 fd00::2/64 nodad" nl addr-add br0 fd00::2/64 nodad
addrs=$(ipj addr show dev br0)
jq_check "br0 has 10.0.0.2/24" '[.[0].addr_info[] | select(.family == "inet" and .local == "10.0.0.2" and .prefixlen == 24)] | length == 1' "$addrs"
jq_check "br0 has fd00::2/64, not tentative" '[.[0].addr_info[] | select(.family == "inet6" and .local == "fd00::2" and .prefixlen == 64 and (.tentative | not))] | length == 1' "$addrs"

# --- routes ----------------------------------------------------------------
check "route-add 10.1.0.0/16 via 10.0.0.1" nl route-add 10.1.0.0/16 via 10.0.0.1
check "route-add 10.2.0.0/16 dev br0 (link scope)" nl route-add 10.2.0.0/16 dev br0
check "route-add default via 10.0.0.1" nl route-add default via 10.0.0.1
check "route-add default via fd00::1 dev br0" nl route-add default via fd00::1 dev br0
check "route-add fd01::/64 dev br0 metric 50" nl route-add fd01::/64 dev br0 metric 50
r4=$(ipj route show)
r6=$(ipj -6 route show)
jq_check "10.1.0.0/16 via 10.0.0.1 dev br0" '[.[] | select(.dst == "10.1.0.0/16" and .gateway == "10.0.0.1" and .dev == "br0")] | length == 1' "$r4"
jq_check "10.2.0.0/16 dev br0 scope link" '[.[] | select(.dst == "10.2.0.0/16" and .dev == "br0" and .scope == "link" and .gateway == null)] | length == 1' "$r4"
jq_check "default via 10.0.0.1" '[.[] | select(.dst == "default" and .gateway == "10.0.0.1")] | length == 1' "$r4"
jq_check "v6 default via fd00::1" '[.[] | select(.dst == "default" and .gateway == "fd00::1" and .dev == "br0")] | length == 1' "$r6"
jq_check "fd01::/64 metric 50" '[.[] | select(.dst == "fd01::/64" and .metric == 50)] | length == 1' "$r6"

# --- error cases: the real errno and a message naming what failed ------------------------
expect_fail "adding an existing address" '^Error: add address 10\.0\.0\.2/24 to br0: File exists.*\(errno 17\)$' \
    nl addr-add br0 10.0.0.2/24
expect_fail "deleting a missing link" '^Error: delete link nosuch0: No such device \(errno 19\)$' nl link-del nosuch0
expect_fail "creating an existing bridge" '^Error: create bridge br0: File exists' nl bridge-add br0
expect_fail "creating an existing tap" '^Error: create tap tap0: File exists' nl tap-add tap0
expect_fail "an address on a missing link" '^Error: add address 10\.0\.0\.3/24 to nosuch0: No such device' \
    nl addr-add nosuch0 10.0.0.3/24
expect_fail "a malformed address" "^Error: add address 10\.0\.0\.300/24 to br0: invalid address '10\.0\.0\.300/24'" \
    nl addr-add br0 10.0.0.300/24
expect_fail "deleting a missing address" '^Error: delete address 10\.9\.9\.9/24 from br0: Cannot assign requested address' \
    nl addr-del br0 10.9.9.9/24
expect_fail "adding an existing route" '^Error: add route 10\.1\.0\.0/16 via 10\.0\.0\.1: File exists' \
    nl route-add 10.1.0.0/16 via 10.0.0.1
expect_fail "deleting a missing route" '^Error: delete route 10\.77\.0\.0/16 dev br0: No such process' \
    nl route-del 10.77.0.0/16 dev br0
expect_fail "mixed address families" "^Error: add route 10\.5\.0\.0/16 via fd00::1: gateway fd00::1 is not of the destination's address family" \
    nl route-add 10.5.0.0/16 via fd00::1
expect_fail "an unreachable gateway" '^Error: add route 10\.6\.0\.0/16 via 192\.168\.99\.1: Network is unreachable' \
    nl route-add 10.6.0.0/16 via 192.168.99.1
expect_fail "an MTU the device refuses" '^Error: set MTU of br0 to 70000: out of range' nl mtu br0 70000
expect_fail "an interface name too long" "^Error: create bridge a-very-long-name0: invalid interface name 'a-very-long-name0'" \
    nl bridge-add a-very-long-name0
check "nothing was left half-made by the failures" test "$(ipj link show | jq '[.[] | select(.ifname | test("nosuch|a-very"))] | length')" = 0

# --- deletes ----------------------------------------------------------------
check "route-del 10.1.0.0/16 via 10.0.0.1" nl route-del 10.1.0.0/16 via 10.0.0.1
check "route-del 10.2.0.0/16 (no gateway or dev)" nl route-del 10.2.0.0/16
check "route-del default via fd00::1" nl route-del default via fd00::1
r4=$(ipj route show)
jq_check "10.1.0.0/16 and 10.2.0.0/16 are gone" '[.[] | select(.dst == "10.1.0.0/16" or .dst == "10.2.0.0/16")] | length == 0' "$r4"
jq_check "v6 default route is gone" '[.[] | select(.dst == "default")] | length == 0' "$(ipj -6 route show)"
check "addr-del br0 10.0.0.2/24" nl addr-del br0 10.0.0.2/24
check "addr-del br0 fd00::2/64" nl addr-del br0 fd00::2/64
jq_check "br0 has no global addresses" '[.[0].addr_info[] | select(.scope == "global")] | length == 0' "$(ipj addr show dev br0)"
check "link-del tap0" nl link-del tap0
check "link-del v0 (its peer goes with it)" nl link-del v0
check "link-del br0" nl link-del br0
jq_check "only lo is left" '[.[].ifname] == ["lo"]' "$(ipj link show)"
if ip -n "$NS2" link show dev eth1 >/dev/null 2>&1; then fail "eth1 survived its peer's deletion"; else pass "eth1 went with v0"; fi

finish
