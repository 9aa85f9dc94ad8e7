/* rtnetlink client on a raw AF_NETLINK socket (no libmnl: vminitd links statically and
 * libmnl ships no static archive). Links (get, set up/down/MTU/master/name/netns, bridge,
 * veth and tap create, delete), IPv4/IPv6 addresses and routes.
 *
 * Every call sends one request and waits for its acknowledgement; a kernel error comes back
 * as its errno in err->code with a one-line message naming the operation and its object:
 * "add address 10.0.0.2/24 to eth0: File exists". Replies are matched by sequence number
 * and port id; every length in a reply is validated before use. */
#ifndef CZ_NETLINK_H
#define CZ_NETLINK_H

#include <cz/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CZ_NETLINK_IFNAME_MAX 16 /* IFNAMSIZ, including the NUL */
#define CZ_NETLINK_HWADDR_MAX 32 /* MAX_ADDR_LEN */

typedef struct cz_netlink cz_netlink;

/* One open NETLINK_ROUTE socket in the caller's network namespace. Not thread-safe: use one
 * per thread. Each request waits at most timeout_ms for its reply (0: 5000 ms). */
CZ_PUBLIC int cz_netlink_open(cz_netlink **out, int timeout_ms, cz_error *err);
CZ_PUBLIC void cz_netlink_close(cz_netlink *nl);

typedef struct cz_link_info {
    int index;
    char name[CZ_NETLINK_IFNAME_MAX];
    unsigned flags;                            /* IFF_UP, IFF_LOWER_UP, IFF_LOOPBACK, ... */
    unsigned mtu;                              /* 0 when the kernel did not say */
    unsigned char hwaddr[CZ_NETLINK_HWADDR_MAX];
    size_t hwaddr_len;                         /* 6 for Ethernet, 0 for none */
    int master;                                /* index of the bridge it is enslaved to, or 0 */
    char kind[16];                             /* "bridge", "veth", "tun", ... or "" */
} cz_link_info;

/* "02:42:ac:11:00:02" into out (at least 3 * CZ_NETLINK_HWADDR_MAX bytes). */
CZ_PUBLIC void cz_netlink_format_hwaddr(const cz_link_info *link, char *out, size_t outlen);

/* --- links ------------------------------------------------------------ */
CZ_PUBLIC int cz_netlink_link_get(cz_netlink *nl, const char *name, cz_link_info *out, cz_error *err);
CZ_PUBLIC int cz_netlink_link_get_index(cz_netlink *nl, int index, cz_link_info *out, cz_error *err);
CZ_PUBLIC int cz_netlink_link_set_up(cz_netlink *nl, const char *name, bool up, cz_error *err);
CZ_PUBLIC int cz_netlink_link_set_mtu(cz_netlink *nl, const char *name, unsigned mtu, cz_error *err);
/* Enslave to a bridge; master NULL releases it. */
CZ_PUBLIC int cz_netlink_link_set_master(cz_netlink *nl, const char *name, const char *master,
                                         cz_error *err);
/* The link must be down to be renamed (the kernel says EBUSY otherwise). */
CZ_PUBLIC int cz_netlink_link_rename(cz_netlink *nl, const char *name, const char *new_name,
                                     cz_error *err);
/* Move a link into the network namespace open as netns_fd (e.g. /proc/PID/ns/net). */
CZ_PUBLIC int cz_netlink_link_set_netns(cz_netlink *nl, const char *name, int netns_fd, cz_error *err);
CZ_PUBLIC int cz_netlink_bridge_add(cz_netlink *nl, const char *name, cz_error *err);
/* A veth pair: name here, peer its other end (both in this namespace). */
CZ_PUBLIC int cz_netlink_veth_add(cz_netlink *nl, const char *name, const char *peer, cz_error *err);
/* A persistent tap device (IFF_TAP | IFF_NO_PI) made through /dev/net/tun, owned by uid
 * (-1: root only), for QEMU to open later. */
CZ_PUBLIC int cz_netlink_tap_add(cz_netlink *nl, const char *name, int owner_uid, cz_error *err);
/* Delete any link (bridge, veth pair, tap). */
CZ_PUBLIC int cz_netlink_link_del(cz_netlink *nl, const char *name, cz_error *err);

/* --- addresses ---------------------------------------------------------- */
/* Addresses are CIDR strings: "10.0.0.2/24", "fd00::2/64" (no prefix: /32 or /128). */
#define CZ_NETLINK_ADDR_NODAD 0x1 /* IPv6: usable at once, no duplicate address detection */
CZ_PUBLIC int cz_netlink_addr_add(cz_netlink *nl, const char *ifname, const char *cidr, unsigned flags,
                                  cz_error *err);
CZ_PUBLIC int cz_netlink_addr_del(cz_netlink *nl, const char *ifname, const char *cidr, cz_error *err);

/* --- routes -------------------------------------------------------------- */
typedef struct cz_route {
    const char *dst;     /* CIDR, or NULL / "default" for the default route */
    const char *gateway; /* next hop; NULL for a link-scope (directly connected) route */
    const char *ifname;  /* output link; may be NULL when gateway is set */
    int family;          /* AF_INET or AF_INET6; 0: taken from dst or gateway */
    unsigned metric;     /* 0: none */
} cz_route;

CZ_PUBLIC int cz_netlink_route_add(cz_netlink *nl, const cz_route *route, cz_error *err);
CZ_PUBLIC int cz_netlink_route_del(cz_netlink *nl, const cz_route *route, cz_error *err);

#endif
