/* Network methods of the agent API: LinkSet, AddrAdd, RouteAdd, through the
 * library's rtnetlink client (one socket for the agent's life). */
#include "vminitd.h"

#include "base/util.h"

#include <cz/netlink.h>

#include <errno.h>

static cz_netlink *nl;

static int netlink(cz_netlink **out, cz_error *err)
{
    if (!nl && cz_netlink_open(&nl, 2000, err) < 0)
        return -1;
    *out = nl;
    return 0;
}

static int check_ifname(const char *what, const char *name, cz_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n >= 16 || strchr(name, '/') || strchr(name, ' '))
        return cz_error_set(err, EINVAL, "%s: invalid interface name '%s'", what, name);
    return 0;
}

static int do_link_set(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__LinkSetRequest *r = (const Cz__Agent__V1__LinkSetRequest *)msg;
    cz_netlink *n;
    if (check_ifname("link set", r->name, err) < 0 || netlink(&n, err) < 0)
        return -1;
    if (r->mtu && (r->mtu < 68 || r->mtu > 65535))
        return cz_error_set(err, EINVAL, "link set %s: MTU %u out of range", r->name, r->mtu);
    if (r->mtu && cz_netlink_link_set_mtu(n, r->name, r->mtu, err) < 0)
        return -1;
    if (r->state != CZ__AGENT__V1__LINK_SET_REQUEST__STATE__UNCHANGED &&
        cz_netlink_link_set_up(n, r->name, r->state == CZ__AGENT__V1__LINK_SET_REQUEST__STATE__UP,
                               err) < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

static int do_addr_add(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__AddrAddRequest *r = (const Cz__Agent__V1__AddrAddRequest *)msg;
    cz_netlink *n;
    if (check_ifname("add address", r->link, err) < 0 || netlink(&n, err) < 0)
        return -1;
    if (cz_netlink_addr_add(n, r->link, r->cidr, CZ_NETLINK_ADDR_NODAD, err) < 0) {
        if (err->code != EEXIST) /* already there is what was asked */
            return -1;
        cz_error_clear(err);
    }
    return cz_rpc_call_reply_empty(call, err);
}

static int do_route_add(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__RouteAddRequest *r = (const Cz__Agent__V1__RouteAddRequest *)msg;
    cz_netlink *n;
    if (check_ifname("add route", r->link, err) < 0 || netlink(&n, err) < 0)
        return -1;
    cz_route route = {
        .dst = r->destination[0] ? r->destination : NULL,
        .gateway = r->gateway[0] ? r->gateway : NULL,
        .ifname = r->link,
        .metric = r->metric,
    };
    if (!route.dst && !route.gateway)
        return cz_error_set(err, EINVAL, "add route via %s: a destination or a gateway is needed",
                            r->link);
    if (cz_netlink_route_add(n, &route, err) < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

int vminitd_register_network(cz_rpc_server *server, cz_error *err)
{
    if (cz_rpc_server_add_unary(server, AGENT, "LinkSet", do_link_set, NULL, err) < 0 ||
        cz_rpc_server_add_unary(server, AGENT, "AddrAdd", do_addr_add, NULL, err) < 0 ||
        cz_rpc_server_add_unary(server, AGENT, "RouteAdd", do_route_add, NULL, err) < 0)
        return -1;
    return 0;
}
