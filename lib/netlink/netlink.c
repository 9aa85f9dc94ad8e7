/* rtnetlink requests over a raw AF_NETLINK socket: one request, then its replies until the
 * acknowledgement, matched by sequence number and port id, within a deadline. The message
 * building and reply parsing live in message.c; this file does the I/O and the operations. */
#include <cz/netlink.h>

#include "base/util.h"
#include "netlink/message.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/veth.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#define REQUEST_MAX 1024       /* our largest request (a veth pair) is about 100 bytes */
#define RECEIVE_MAX (32 * 1024) /* a link reply with SKIP_STATS is well under 2 KiB */

struct cz_netlink {
    int fd;
    uint32_t portid;
    uint32_t seq;
    int timeout_ms;
    unsigned char *rx;
};

CZ_PUBLIC int cz_netlink_open(cz_netlink **out, int timeout_ms, cz_error *err)
{
    cz_autoclose int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return cz_error_errno(err, errno, "open netlink socket");
    int one = 1;
    /* Ask for the kernel's explanation with errors, without a copy of our request. These
     * are hints: older kernels without them still work. */
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return cz_error_errno(err, errno, "bind netlink socket");
    socklen_t salen = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 || salen != sizeof(sa))
        return cz_error_errno(err, errno, "netlink socket address");
    cz_netlink *nl = cz_xcalloc(1, sizeof(*nl));
    nl->fd = cz_steal_fd(&fd);
    nl->portid = sa.nl_pid;
    /* Start from the clock so a reused port id cannot match an old socket's replies. */
    nl->seq = (uint32_t)time(NULL);
    nl->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    nl->rx = cz_xmalloc(RECEIVE_MAX);
    *out = nl;
    return 0;
}

CZ_PUBLIC void cz_netlink_close(cz_netlink *nl)
{
    if (!nl)
        return;
    close(nl->fd);
    free(nl->rx);
    free(nl);
}

static int64_t now_ms(void)
{
    return (int64_t)(cz_now_ns() / 1000000);
}

/* Send m, then read replies until its acknowledgement. A kernel error becomes err->code
 * with strerror (and the kernel's extended ack text) as the message; callers add what they
 * were doing. */
static int transact(cz_netlink *nl, nl_msg *m, nl_reply_fn fn, void *ctx, cz_error *err)
{
    if (m->overflow)
        return cz_error_set(err, EMSGSIZE, "netlink request does not fit in %zu bytes", m->cap);
    struct nlmsghdr *h = nl_msg_hdr(m);
    h->nlmsg_flags |= NLM_F_ACK;
    h->nlmsg_seq = ++nl->seq;
    h->nlmsg_pid = nl->portid;

    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    do
        n = sendto(nl->fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cz_error_errno(err, errno, "send netlink request");
    if ((size_t)n != h->nlmsg_len)
        return cz_error_set(err, EIO, "send netlink request: short write");

    nl_reply reply = {0};
    int64_t deadline = now_ms() + nl->timeout_ms;
    while (!reply.done) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return cz_error_set(err, ETIMEDOUT, "no netlink reply within %d ms", nl->timeout_ms);
        struct pollfd pfd = {.fd = nl->fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cz_error_errno(err, errno, "wait for netlink reply");
        if (r == 0)
            continue;
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = nl->rx, .iov_len = RECEIVE_MAX};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        n = recvmsg(nl->fd, &mh, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return cz_error_errno(err, errno, "receive netlink reply");
        if (mh.msg_flags & MSG_TRUNC)
            return cz_error_set(err, EMSGSIZE, "netlink reply larger than %d bytes", RECEIVE_MAX);
        if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0)
            continue; /* only the kernel answers requests */
        if (nl_reply_walk(nl->rx, (size_t)n, h->nlmsg_seq, nl->portid, fn, ctx, &reply, err) < 0)
            return -1;
    }
    if (reply.error) {
        if (reply.ext_msg[0])
            return cz_error_set(err, reply.error, "%s (%s)", strerror(reply.error), reply.ext_msg);
        return cz_error_set(err, reply.error, "%s", strerror(reply.error));
    }
    return 0;
}

static int check_ifname(const char *name, cz_error *err)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len >= IFNAMSIZ)
        return cz_error_set(err, EINVAL, "invalid interface name '%s': must be 1 to %d characters",
                            name ? name : "", IFNAMSIZ - 1);
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
            return cz_error_set(err, EINVAL, "invalid interface name '%s': no '/', ':' or spaces", name);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return cz_error_set(err, EINVAL, "invalid interface name '%s'", name);
    return 0;
}

/* --- links ------------------------------------------------------------ */

static int collect_link(const struct nlmsghdr *h, void *ctx, cz_error *err)
{
    if (h->nlmsg_type != RTM_NEWLINK)
        return 0;
    if (nl_parse_link(h, ctx) < 0)
        return cz_error_set(err, EPROTO, "malformed link in netlink reply");
    return 0;
}

/* Look a link up by name (name != NULL) or index. Errors carry only the cause. */
static int link_lookup(cz_netlink *nl, const char *name, int index, cz_link_info *out, cz_error *err)
{
    if (name && check_ifname(name, err) < 0)
        return -1;
    unsigned char storage[REQUEST_MAX] __attribute__((aligned(8)));
    nl_msg m;
    nl_msg_init(&m, storage, sizeof(storage), RTM_GETLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put(&m, sizeof(*ifi));
    if (ifi) {
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = name ? 0 : index;
    }
    if (name)
        nl_msg_put_str(&m, IFLA_IFNAME, name);
    nl_msg_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    memset(out, 0, sizeof(*out));
    if (transact(nl, &m, collect_link, out, err) < 0)
        return -1;
    if (out->index <= 0)
        return cz_error_set(err, EPROTO, "the kernel's reply named no link");
    return 0;
}

CZ_PUBLIC int cz_netlink_link_get(cz_netlink *nl, const char *name, cz_link_info *out, cz_error *err)
{
    if (link_lookup(nl, name, 0, out, err) < 0)
        return cz_error_wrap(err, "get link %s", name ? name : "(null)");
    return 0;
}

CZ_PUBLIC int cz_netlink_link_get_index(cz_netlink *nl, int index, cz_link_info *out, cz_error *err)
{
    if (index <= 0)
        return cz_error_set(err, EINVAL, "get link #%d: invalid index", index);
    if (link_lookup(nl, NULL, index, out, err) < 0)
        return cz_error_wrap(err, "get link #%d", index);
    return 0;
}

static int link_index(cz_netlink *nl, const char *name, int *index, cz_error *err)
{
    cz_link_info info;
    if (link_lookup(nl, name, 0, &info, err) < 0)
        return -1;
    *index = info.index;
    return 0;
}

/* The changes one RTM_NEWLINK (without NLM_F_CREATE) makes to an existing link. */
typedef struct link_change {
    unsigned flags, change; /* ifi_flags under the ifi_change mask */
    unsigned mtu;           /* 0: unchanged */
    int master;             /* -1: unchanged; 0: release */
    const char *new_name;
    int netns_fd;           /* -1: unchanged */
} link_change;

static int link_modify(cz_netlink *nl, const char *name, const link_change *c, cz_error *err)
{
    int index;
    if (link_index(nl, name, &index, err) < 0)
        return -1;
    unsigned char storage[REQUEST_MAX] __attribute__((aligned(8)));
    nl_msg m;
    nl_msg_init(&m, storage, sizeof(storage), RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put(&m, sizeof(*ifi));
    if (ifi) {
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        ifi->ifi_flags = c->flags;
        ifi->ifi_change = c->change;
    }
    if (c->mtu)
        nl_msg_put_u32(&m, IFLA_MTU, c->mtu);
    if (c->master >= 0)
        nl_msg_put_u32(&m, IFLA_MASTER, (uint32_t)c->master);
    if (c->new_name)
        nl_msg_put_str(&m, IFLA_IFNAME, c->new_name);
    if (c->netns_fd >= 0)
        nl_msg_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)c->netns_fd);
    return transact(nl, &m, NULL, NULL, err);
}

#define LINK_CHANGE_NONE {.master = -1, .netns_fd = -1}

CZ_PUBLIC int cz_netlink_link_set_up(cz_netlink *nl, const char *name, bool up, cz_error *err)
{
    link_change c = LINK_CHANGE_NONE;
    c.change = IFF_UP;
    c.flags = up ? IFF_UP : 0;
    if (link_modify(nl, name, &c, err) < 0)
        return cz_error_wrap(err, "set link %s %s", name, up ? "up" : "down");
    return 0;
}

CZ_PUBLIC int cz_netlink_link_set_mtu(cz_netlink *nl, const char *name, unsigned mtu, cz_error *err)
{
    if (mtu == 0 || mtu > 65536)
        return cz_error_set(err, EINVAL, "set MTU of %s to %u: out of range (1-65536)", name, mtu);
    link_change c = LINK_CHANGE_NONE;
    c.mtu = mtu;
    if (link_modify(nl, name, &c, err) < 0)
        return cz_error_wrap(err, "set MTU of %s to %u", name, mtu);
    return 0;
}

CZ_PUBLIC int cz_netlink_link_set_master(cz_netlink *nl, const char *name, const char *master, cz_error *err)
{
    link_change c = LINK_CHANGE_NONE;
    c.master = 0;
    if (master && link_index(nl, master, &c.master, err) < 0)
        return cz_error_wrap(err, "attach %s to %s", name, master);
    if (link_modify(nl, name, &c, err) < 0) {
        if (master)
            return cz_error_wrap(err, "attach %s to %s", name, master);
        return cz_error_wrap(err, "release %s from its master", name);
    }
    return 0;
}

CZ_PUBLIC int cz_netlink_link_rename(cz_netlink *nl, const char *name, const char *new_name, cz_error *err)
{
    link_change c = LINK_CHANGE_NONE;
    c.new_name = new_name;
    if (check_ifname(new_name, err) < 0 || link_modify(nl, name, &c, err) < 0)
        return cz_error_wrap(err, "rename link %s to %s", name, new_name ? new_name : "(null)");
    return 0;
}

CZ_PUBLIC int cz_netlink_link_set_netns(cz_netlink *nl, const char *name, int netns_fd, cz_error *err)
{
    link_change c = LINK_CHANGE_NONE;
    c.netns_fd = netns_fd;
    if (netns_fd < 0)
        return cz_error_set(err, EBADF, "move link %s to another namespace: invalid fd", name);
    if (link_modify(nl, name, &c, err) < 0)
        return cz_error_wrap(err, "move link %s to another namespace", name);
    return 0;
}

/* RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL: name + kind, and for veth the peer's name. */
static int link_create(cz_netlink *nl, const char *name, const char *kind, const char *peer, cz_error *err)
{
    if (check_ifname(name, err) < 0 || (peer && check_ifname(peer, err) < 0))
        return -1;
    unsigned char storage[REQUEST_MAX] __attribute__((aligned(8)));
    nl_msg m;
    nl_msg_init(&m, storage, sizeof(storage), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = nl_msg_put(&m, sizeof(*ifi));
    if (ifi)
        ifi->ifi_family = AF_UNSPEC;
    nl_msg_put_str(&m, IFLA_IFNAME, name);
    size_t linkinfo = nl_msg_nest_begin(&m, IFLA_LINKINFO);
    nl_msg_put_str(&m, IFLA_INFO_KIND, kind);
    if (peer) {
        size_t data = nl_msg_nest_begin(&m, IFLA_INFO_DATA);
        size_t peer_info = nl_msg_nest_begin(&m, VETH_INFO_PEER);
        struct ifinfomsg *pifi = nl_msg_put(&m, sizeof(*pifi));
        if (pifi)
            pifi->ifi_family = AF_UNSPEC;
        nl_msg_put_str(&m, IFLA_IFNAME, peer);
        nl_msg_nest_end(&m, peer_info);
        nl_msg_nest_end(&m, data);
    }
    nl_msg_nest_end(&m, linkinfo);
    return transact(nl, &m, NULL, NULL, err);
}

CZ_PUBLIC int cz_netlink_bridge_add(cz_netlink *nl, const char *name, cz_error *err)
{
    if (link_create(nl, name, "bridge", NULL, err) < 0)
        return cz_error_wrap(err, "create bridge %s", name ? name : "(null)");
    return 0;
}

CZ_PUBLIC int cz_netlink_veth_add(cz_netlink *nl, const char *name, const char *peer, cz_error *err)
{
    if (!peer)
        return cz_error_set(err, EINVAL, "create veth pair %s: no peer name", name ? name : "(null)");
    if (link_create(nl, name, "veth", peer, err) < 0)
        return cz_error_wrap(err, "create veth pair %s/%s", name ? name : "(null)", peer);
    return 0;
}

/* rtnetlink cannot create tun/tap devices (the kernel answers EOPNOTSUPP): the tun driver's
 * ioctls make a persistent one, which then is an ordinary link. */
CZ_PUBLIC int cz_netlink_tap_add(cz_netlink *nl, const char *name, int owner_uid, cz_error *err)
{
    cz_link_info existing;
    if (check_ifname(name, err) < 0)
        return cz_error_wrap(err, "create tap %s", name ? name : "(null)");
    /* TUNSETIFF on an existing persistent tap attaches to it instead of failing. */
    cz_error lookup = {0};
    if (link_lookup(nl, name, 0, &existing, &lookup) == 0)
        return cz_error_set(err, EEXIST, "create tap %s: %s", name, strerror(EEXIST));
    if (lookup.code != ENODEV)
        return cz_error_set(err, lookup.code, "create tap %s: %s", name, lookup.msg);
    cz_autoclose int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "create tap %s: open /dev/net/tun", name);
    struct ifreq ifr = {0};
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        return cz_error_errno(err, errno, "create tap %s", name);
    if (owner_uid >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)owner_uid) < 0) {
        int e = errno;
        return cz_error_errno(err, e, "create tap %s: set owner %d", name, owner_uid);
    }
    if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
        return cz_error_errno(err, errno, "create tap %s: make persistent", name);
    return 0;
}

CZ_PUBLIC int cz_netlink_link_del(cz_netlink *nl, const char *name, cz_error *err)
{
    if (check_ifname(name, err) < 0)
        return cz_error_wrap(err, "delete link %s", name ? name : "(null)");
    unsigned char storage[REQUEST_MAX] __attribute__((aligned(8)));
    nl_msg m;
    nl_msg_init(&m, storage, sizeof(storage), RTM_DELLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put(&m, sizeof(*ifi));
    if (ifi)
        ifi->ifi_family = AF_UNSPEC;
    nl_msg_put_str(&m, IFLA_IFNAME, name);
    if (transact(nl, &m, NULL, NULL, err) < 0)
        return cz_error_wrap(err, "delete link %s", name);
    return 0;
}

CZ_PUBLIC void cz_netlink_format_hwaddr(const cz_link_info *link, char *out, size_t outlen)
{
    size_t used = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < link->hwaddr_len && i < sizeof(link->hwaddr); i++) {
        int n = snprintf(out + used, outlen - used, i ? ":%02x" : "%02x", link->hwaddr[i]);
        if (n < 0 || (size_t)n >= outlen - used)
            return;
        used += (size_t)n;
    }
}

/* --- addresses ---------------------------------------------------------- */

static int addr_change(cz_netlink *nl, uint16_t type, const char *ifname, const char *cidr, unsigned flags,
                       cz_error *err)
{
    int family, index;
    unsigned char addr[16];
    unsigned prefix;
    if (nl_parse_cidr(cidr, &family, addr, &prefix, err) < 0)
        return -1;
    if (link_index(nl, ifname, &index, err) < 0)
        return -1;
    unsigned char storage[REQUEST_MAX] __attribute__((aligned(8)));
    nl_msg m;
    nl_msg_init(&m, storage, sizeof(storage), type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
    struct ifaddrmsg *ifa = nl_msg_put(&m, sizeof(*ifa));
    if (ifa) {
        ifa->ifa_family = (unsigned char)family;
        ifa->ifa_prefixlen = (unsigned char)prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)index;
    }
    size_t alen = family == AF_INET ? 4 : 16;
    nl_msg_put_attr(&m, IFA_LOCAL, addr, alen);
    nl_msg_put_attr(&m, IFA_ADDRESS, addr, alen);
    if (family == AF_INET6 && (flags & CZ_NETLINK_ADDR_NODAD))
        nl_msg_put_u32(&m, IFA_FLAGS, IFA_F_NODAD);
    return transact(nl, &m, NULL, NULL, err);
}

CZ_PUBLIC int cz_netlink_addr_add(cz_netlink *nl, const char *ifname, const char *cidr, unsigned flags,
                                  cz_error *err)
{
    if (!cidr)
        return cz_error_set(err, EINVAL, "add address to %s: no address", ifname ? ifname : "(null)");
    if (addr_change(nl, RTM_NEWADDR, ifname, cidr, flags, err) < 0)
        return cz_error_wrap(err, "add address %s to %s", cidr, ifname ? ifname : "(null)");
    return 0;
}

CZ_PUBLIC int cz_netlink_addr_del(cz_netlink *nl, const char *ifname, const char *cidr, cz_error *err)
{
    if (!cidr)
        return cz_error_set(err, EINVAL, "delete address from %s: no address", ifname ? ifname : "(null)");
    if (addr_change(nl, RTM_DELADDR, ifname, cidr, 0, err) < 0)
        return cz_error_wrap(err, "delete address %s from %s", cidr, ifname ? ifname : "(null)");
    return 0;
}

/* --- routes -------------------------------------------------------------- */

static void describe_route(const cz_route *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s%s%s%s", r->dst ? r->dst : "default", r->gateway ? " via " : "",
             r->gateway ? r->gateway : "", r->ifname ? " dev " : "", r->ifname ? r->ifname : "");
}

static int route_change(cz_netlink *nl, uint16_t type, const cz_route *r, cz_error *err)
{
    int family = r->family;
    unsigned char dst[16] = {0}, gw[16];
    unsigned dst_len = 0;
    if (family != 0 && family != AF_INET && family != AF_INET6)
        return cz_error_set(err, EAFNOSUPPORT, "address family %d is not IPv4 or IPv6", family);
    if (r->dst && strcmp(r->dst, "default") != 0) {
        int f;
        if (nl_parse_cidr(r->dst, &f, dst, &dst_len, err) < 0)
            return -1;
        if (family && f != family)
            return cz_error_set(err, EINVAL, "destination %s is not of the route's address family", r->dst);
        family = f;
    }
    if (r->gateway) {
        int f;
        unsigned gw_len;
        if (nl_parse_cidr(r->gateway, &f, gw, &gw_len, err) < 0)
            return -1;
        if (strchr(r->gateway, '/'))
            return cz_error_set(err, EINVAL, "gateway %s must be an address, not a network", r->gateway);
        if (family && f != family)
            return cz_error_set(err, EINVAL, "gateway %s is not of the destination's address family", r->gateway);
        family = f;
    }
    if (!family)
        return cz_error_set(err, EINVAL, "a default route needs a gateway or an address family");
    bool add = type == RTM_NEWROUTE;
    if (add && !r->gateway && !r->ifname)
        return cz_error_set(err, EINVAL, "a route needs a gateway or an output link");
    int oif = 0;
    if (r->ifname && link_index(nl, r->ifname, &oif, err) < 0)
        return -1;

    unsigned char storage[REQUEST_MAX] __attribute__((aligned(8)));
    nl_msg m;
    nl_msg_init(&m, storage, sizeof(storage), type, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    struct rtmsg *rtm = nl_msg_put(&m, sizeof(*rtm));
    if (rtm) {
        rtm->rtm_family = (unsigned char)family;
        rtm->rtm_dst_len = (unsigned char)dst_len;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = add ? RTPROT_BOOT : RTPROT_UNSPEC;
        /* Without a gateway the destination is on the link itself. A delete matches any
         * scope, as `ip route del` does. */
        rtm->rtm_scope = !add ? RT_SCOPE_NOWHERE : r->gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        rtm->rtm_type = RTN_UNICAST;
    }
    size_t alen = family == AF_INET ? 4 : 16;
    if (dst_len > 0)
        nl_msg_put_attr(&m, RTA_DST, dst, alen);
    if (r->gateway)
        nl_msg_put_attr(&m, RTA_GATEWAY, gw, alen);
    if (oif)
        nl_msg_put_u32(&m, RTA_OIF, (uint32_t)oif);
    if (r->metric)
        nl_msg_put_u32(&m, RTA_PRIORITY, r->metric);
    return transact(nl, &m, NULL, NULL, err);
}

CZ_PUBLIC int cz_netlink_route_add(cz_netlink *nl, const cz_route *route, cz_error *err)
{
    char what[256];
    describe_route(route, what, sizeof(what));
    if (route_change(nl, RTM_NEWROUTE, route, err) < 0)
        return cz_error_wrap(err, "add route %s", what);
    return 0;
}

CZ_PUBLIC int cz_netlink_route_del(cz_netlink *nl, const cz_route *route, cz_error *err)
{
    char what[256];
    describe_route(route, what, sizeof(what));
    if (route_change(nl, RTM_DELROUTE, route, err) < 0)
        return cz_error_wrap(err, "delete route %s", what);
    return 0;
}
