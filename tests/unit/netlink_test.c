/* Unit tests of the netlink message builder and reply parser (no sockets): bounded writes,
 * nesting, link parsing, error/ack handling, sequence matching and malformed replies. */
#include "unit.h"
#include "netlink/message.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdalign.h>

#define SEQ 77
#define PORT 4242

/* A reply message as the kernel would send it, built with our own builder. */
static void start_reply(nl_msg *m, void *storage, size_t cap, uint16_t type, uint16_t flags)
{
    nl_msg_init(m, storage, cap, type, flags);
    nl_msg_hdr(m)->nlmsg_flags = flags; /* replies do not carry NLM_F_REQUEST */
    nl_msg_hdr(m)->nlmsg_seq = SEQ;
    nl_msg_hdr(m)->nlmsg_pid = PORT;
}

static size_t build_link_reply(unsigned char *buf, size_t cap)
{
    nl_msg m;
    start_reply(&m, buf, cap, RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = nl_msg_put(&m, sizeof(*ifi));
    ifi->ifi_index = 7;
    ifi->ifi_flags = IFF_UP | IFF_BROADCAST;
    nl_msg_put_str(&m, IFLA_IFNAME, "br0");
    nl_msg_put_u32(&m, IFLA_MTU, 1400);
    nl_msg_put_u32(&m, IFLA_MASTER, 3);
    const unsigned char mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
    nl_msg_put_attr(&m, IFLA_ADDRESS, mac, sizeof(mac));
    size_t li = nl_msg_nest_begin(&m, IFLA_LINKINFO);
    nl_msg_put_str(&m, IFLA_INFO_KIND, "bridge");
    nl_msg_nest_end(&m, li);
    return m.overflow ? 0 : nl_msg_hdr(&m)->nlmsg_len;
}

/* NLMSG_ERROR carrying -code, capped, with an optional extended ack text. */
static size_t build_error(unsigned char *buf, size_t cap, uint32_t seq, int code, const char *ext)
{
    nl_msg m;
    start_reply(&m, buf, cap, NLMSG_ERROR, NLM_F_CAPPED | (ext ? NLM_F_ACK_TLVS : 0));
    nl_msg_hdr(&m)->nlmsg_seq = seq;
    struct nlmsgerr *e = nl_msg_put(&m, sizeof(*e));
    e->error = -code;
    e->msg.nlmsg_len = 64; /* the original length; capped, so not included */
    e->msg.nlmsg_seq = seq;
    if (ext)
        nl_msg_put_str(&m, NLMSGERR_ATTR_MSG, ext);
    return nl_msg_hdr(&m)->nlmsg_len;
}

TEST(builder_lays_out_header_and_attributes)
{
    alignas(8) unsigned char buf[256];
    nl_msg m;
    nl_msg_init(&m, buf, sizeof(buf), RTM_NEWLINK, NLM_F_CREATE);
    struct ifinfomsg *ifi = nl_msg_put(&m, sizeof(*ifi));
    CHECK(ifi != NULL);
    CHECK_INT(nl_msg_hdr(&m)->nlmsg_len, NLMSG_HDRLEN + sizeof(struct ifinfomsg));
    CHECK_INT(nl_msg_put_str(&m, IFLA_IFNAME, "eth0"), 0); /* 5 bytes -> 4 + 8 aligned */
    CHECK_INT(nl_msg_hdr(&m)->nlmsg_len, NLMSG_HDRLEN + sizeof(struct ifinfomsg) + 12);
    CHECK_INT(nl_msg_hdr(&m)->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE);
    const struct rtattr *a = (const void *)(buf + NLMSG_HDRLEN + sizeof(struct ifinfomsg));
    CHECK_INT(a->rta_type, IFLA_IFNAME);
    CHECK_INT(a->rta_len, 9);
    CHECK_STR((const char *)RTA_DATA(a), "eth0");
    CHECK(buf[NLMSG_HDRLEN + sizeof(struct ifinfomsg) + 9] == 0); /* padding zeroed */
    CHECK(!m.overflow);
}

TEST(builder_nests_veth_peer)
{
    alignas(8) unsigned char buf[512];
    nl_msg m;
    nl_msg_init(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    nl_msg_put(&m, sizeof(struct ifinfomsg));
    size_t li = nl_msg_nest_begin(&m, IFLA_LINKINFO);
    nl_msg_put_str(&m, IFLA_INFO_KIND, "veth");
    size_t data = nl_msg_nest_begin(&m, IFLA_INFO_DATA);
    size_t peer = nl_msg_nest_begin(&m, VETH_INFO_PEER);
    nl_msg_put(&m, sizeof(struct ifinfomsg));
    nl_msg_put_str(&m, IFLA_IFNAME, "peer0");
    nl_msg_nest_end(&m, peer);
    nl_msg_nest_end(&m, data);
    nl_msg_nest_end(&m, li);
    CHECK(!m.overflow);

    /* Parse it back the way the kernel would. */
    const struct nlmsghdr *h = nl_msg_hdr(&m);
    const struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1], *vd[VETH_INFO_MAX + 1];
    CHECK_INT(nl_parse_message_attrs(h, sizeof(struct ifinfomsg), tb, IFLA_MAX), 0);
    CHECK(tb[IFLA_LINKINFO] != NULL);
    CHECK(tb[IFLA_LINKINFO]->rta_type & NLA_F_NESTED);
    CHECK_INT(nl_parse_attrs(RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]), info, IFLA_INFO_MAX), 0);
    char kind[16];
    CHECK_INT(nl_attr_str(info[IFLA_INFO_KIND], kind, sizeof(kind)), 0);
    CHECK_STR(kind, "veth");
    CHECK_INT(nl_parse_attrs(RTA_DATA(info[IFLA_INFO_DATA]), RTA_PAYLOAD(info[IFLA_INFO_DATA]), vd, VETH_INFO_MAX), 0);
    const struct rtattr *p = vd[VETH_INFO_PEER];
    CHECK(p != NULL);
    CHECK(RTA_PAYLOAD(p) > sizeof(struct ifinfomsg));
    const struct rtattr *ptb[IFLA_MAX + 1];
    CHECK_INT(nl_parse_attrs((const unsigned char *)RTA_DATA(p) + sizeof(struct ifinfomsg),
                             RTA_PAYLOAD(p) - sizeof(struct ifinfomsg), ptb, IFLA_MAX), 0);
    char name[IFNAMSIZ];
    CHECK_INT(nl_attr_str(ptb[IFLA_IFNAME], name, sizeof(name)), 0);
    CHECK_STR(name, "peer0");
}

TEST(builder_never_writes_past_capacity)
{
    alignas(8) unsigned char buf[128];
    memset(buf, 0xAA, sizeof(buf));
    nl_msg m;
    nl_msg_init(&m, buf, 64, RTM_NEWADDR, 0); /* only the first 64 bytes are ours */
    nl_msg_put(&m, sizeof(struct ifaddrmsg));
    unsigned char big[100] = {0};
    CHECK_INT(nl_msg_put_attr(&m, IFA_LOCAL, big, sizeof(big)), -1);
    CHECK(m.overflow);
    size_t len = nl_msg_hdr(&m)->nlmsg_len;
    CHECK_INT(len, NLMSG_HDRLEN + sizeof(struct ifaddrmsg));
    /* Once overflowed, nothing more is written even when it would fit. */
    CHECK_INT(nl_msg_put_u32(&m, IFA_FLAGS, 1), -1);
    CHECK_INT(nl_msg_hdr(&m)->nlmsg_len, len);
    CHECK(nl_msg_nest_begin(&m, IFLA_LINKINFO) == 0);
    for (size_t i = 64; i < sizeof(buf); i++)
        CHECK_MSG(buf[i] == 0xAA, "byte %zu past the capacity was written", i);
    /* An attribute longer than its 16-bit length field can say. */
    alignas(8) unsigned char huge_buf[70000];
    nl_msg_init(&m, huge_buf, sizeof(huge_buf), RTM_NEWLINK, 0);
    CHECK_INT(nl_msg_put_attr(&m, IFLA_IFNAME, huge_buf + 1000, 65535), -1);
    CHECK(m.overflow);
}

TEST(builder_fills_exactly_to_capacity)
{
    alignas(8) unsigned char buf[NLMSG_HDRLEN + 8];
    nl_msg m;
    nl_msg_init(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    CHECK_INT(nl_msg_put_u32(&m, IFLA_MTU, 1500), 0); /* 8 bytes: fits exactly */
    CHECK(!m.overflow);
    CHECK_INT(nl_msg_put_u32(&m, IFLA_MTU, 1500), -1);
    CHECK(m.overflow);
}

TEST(parse_link_reads_every_field)
{
    alignas(8) unsigned char buf[512];
    size_t len = build_link_reply(buf, sizeof(buf));
    CHECK(len > 0);
    cz_link_info link;
    CHECK_INT(nl_parse_link((const struct nlmsghdr *)(const void *)buf, &link), 0);
    CHECK_INT(link.index, 7);
    CHECK_STR(link.name, "br0");
    CHECK_INT(link.mtu, 1400);
    CHECK_INT(link.master, 3);
    CHECK(link.flags & IFF_UP);
    CHECK_STR(link.kind, "bridge");
    char mac[3 * CZ_NETLINK_HWADDR_MAX];
    cz_netlink_format_hwaddr(&link, mac, sizeof(mac));
    CHECK_STR(mac, "02:42:ac:11:00:02");
}

TEST(parse_link_rejects_bad_attributes)
{
    alignas(8) unsigned char buf[512];
    cz_link_info link;
    /* MTU of the wrong size. */
    nl_msg m;
    start_reply(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    ((struct ifinfomsg *)nl_msg_put(&m, sizeof(struct ifinfomsg)))->ifi_index = 2;
    nl_msg_put_str(&m, IFLA_IFNAME, "eth0");
    uint16_t small = 1500;
    nl_msg_put_attr(&m, IFLA_MTU, &small, sizeof(small));
    CHECK_INT(nl_parse_link(nl_msg_hdr(&m), &link), -1);
    /* A name without its NUL. */
    start_reply(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    ((struct ifinfomsg *)nl_msg_put(&m, sizeof(struct ifinfomsg)))->ifi_index = 2;
    nl_msg_put_attr(&m, IFLA_IFNAME, "eth0", 4);
    CHECK_INT(nl_parse_link(nl_msg_hdr(&m), &link), -1);
    /* A name longer than IFNAMSIZ. */
    start_reply(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    ((struct ifinfomsg *)nl_msg_put(&m, sizeof(struct ifinfomsg)))->ifi_index = 2;
    nl_msg_put_str(&m, IFLA_IFNAME, "a-name-much-longer-than-sixteen");
    CHECK_INT(nl_parse_link(nl_msg_hdr(&m), &link), -1);
    /* A hardware address longer than MAX_ADDR_LEN. */
    start_reply(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    ((struct ifinfomsg *)nl_msg_put(&m, sizeof(struct ifinfomsg)))->ifi_index = 2;
    nl_msg_put_str(&m, IFLA_IFNAME, "eth0");
    unsigned char longaddr[40] = {0};
    nl_msg_put_attr(&m, IFLA_ADDRESS, longaddr, sizeof(longaddr));
    CHECK_INT(nl_parse_link(nl_msg_hdr(&m), &link), -1);
    /* An attribute whose length runs past the message. */
    size_t len = build_link_reply(buf, sizeof(buf));
    struct rtattr *first = (struct rtattr *)(void *)(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg)));
    first->rta_len = (unsigned short)(len + 4);
    CHECK_INT(nl_parse_link((const struct nlmsghdr *)(const void *)buf, &link), -1);
    /* A message shorter than its family header. */
    start_reply(&m, buf, sizeof(buf), RTM_NEWLINK, 0);
    CHECK_INT(nl_parse_link(nl_msg_hdr(&m), &link), -1);
}

static int count_links(const struct nlmsghdr *h, void *ctx, cz_error *err)
{
    cz_link_info link;
    if (nl_parse_link(h, &link) < 0)
        return cz_error_set(err, EPROTO, "bad link");
    (*(int *)ctx)++;
    return 0;
}

TEST(reply_walk_data_then_ack)
{
    alignas(8) unsigned char buf[1024];
    size_t len = build_link_reply(buf, sizeof(buf));
    len = NLMSG_ALIGN(len);
    len += build_error(buf + len, sizeof(buf) - len, SEQ, 0, NULL);
    nl_reply reply = {0};
    cz_error err = {0};
    int links = 0;
    CHECK_OK(nl_reply_walk(buf, len, SEQ, PORT, count_links, &links, &reply, &err), &err);
    CHECK(reply.done);
    CHECK_INT(reply.error, 0);
    CHECK_INT(links, 1);
}

TEST(reply_walk_reports_errno_and_kernel_text)
{
    alignas(8) unsigned char buf[512];
    size_t len = build_error(buf, sizeof(buf), SEQ, EEXIST, "Address already assigned");
    nl_reply reply = {0};
    cz_error err = {0};
    CHECK_OK(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), &err);
    CHECK(reply.done);
    CHECK_INT(reply.error, EEXIST);
    CHECK_STR(reply.ext_msg, "Address already assigned");
}

TEST(reply_walk_skips_other_sequence_numbers_and_ports)
{
    alignas(8) unsigned char buf[1024];
    size_t len = build_error(buf, sizeof(buf), SEQ - 1, ENODEV, NULL); /* a late reply */
    len += build_error(buf + len, sizeof(buf) - len, SEQ, 0, NULL);
    nl_reply reply = {0};
    cz_error err = {0};
    CHECK_OK(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), &err);
    CHECK(reply.done);
    CHECK_INT(reply.error, 0);

    reply = (nl_reply){0};
    len = build_error(buf, sizeof(buf), SEQ, ENODEV, NULL);
    CHECK_OK(nl_reply_walk(buf, len, SEQ, PORT + 1, NULL, NULL, &reply, &err), &err);
    CHECK(!reply.done); /* not for us: keep waiting */
}

TEST(reply_walk_rejects_malformed_datagrams)
{
    alignas(8) unsigned char buf[512];
    nl_reply reply = {0};
    cz_error err = {0};
    /* Truncated header. */
    build_error(buf, sizeof(buf), SEQ, 0, NULL);
    CHECK_INT(nl_reply_walk(buf, 10, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    CHECK_INT(err.code, EPROTO);
    /* nlmsg_len beyond the datagram. */
    size_t len = build_error(buf, sizeof(buf), SEQ, 0, NULL);
    ((struct nlmsghdr *)(void *)buf)->nlmsg_len = (uint32_t)len + 100;
    CHECK_INT(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    /* nlmsg_len below the header size. */
    ((struct nlmsghdr *)(void *)buf)->nlmsg_len = 8;
    CHECK_INT(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    /* An error message too short for struct nlmsgerr. */
    len = build_error(buf, sizeof(buf), SEQ, 0, NULL);
    ((struct nlmsghdr *)(void *)buf)->nlmsg_len = NLMSG_HDRLEN + 4;
    CHECK_INT(nl_reply_walk(buf, NLMSG_HDRLEN + 4, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    /* A positive or absurd errno. */
    len = build_error(buf, sizeof(buf), SEQ, -5, NULL);
    CHECK_INT(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    len = build_error(buf, sizeof(buf), SEQ, 100000, NULL);
    CHECK_INT(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    /* Uncapped error whose copied request claims more bytes than there are. */
    len = build_error(buf, sizeof(buf), SEQ, EINVAL, "x");
    struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf;
    h->nlmsg_flags &= (uint16_t)~NLM_F_CAPPED;
    CHECK_INT(nl_reply_walk(buf, len, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    /* A data message the callback cannot parse fails the walk with its error. */
    int links = 0;
    len = build_link_reply(buf, sizeof(buf));
    struct rtattr *first = (struct rtattr *)(void *)(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg)));
    first->rta_len = 2;
    reply = (nl_reply){0};
    CHECK_INT(nl_reply_walk(buf, len, SEQ, PORT, count_links, &links, &reply, &err), -1);
    CHECK_STR(err.msg, "bad link");
}

TEST(reply_walk_done_and_overrun)
{
    alignas(8) unsigned char buf[64];
    nl_msg m;
    start_reply(&m, buf, sizeof(buf), NLMSG_DONE, NLM_F_MULTI);
    nl_msg_put(&m, sizeof(int));
    nl_reply reply = {0};
    cz_error err = {0};
    CHECK_OK(nl_reply_walk(buf, nl_msg_hdr(&m)->nlmsg_len, SEQ, PORT, NULL, NULL, &reply, &err), &err);
    CHECK(reply.done);
    start_reply(&m, buf, sizeof(buf), NLMSG_OVERRUN, 0);
    reply = (nl_reply){0};
    CHECK_INT(nl_reply_walk(buf, nl_msg_hdr(&m)->nlmsg_len, SEQ, PORT, NULL, NULL, &reply, &err), -1);
    CHECK_INT(err.code, ENOBUFS);
}

TEST(parse_cidr_v4_v6_and_errors)
{
    cz_error err = {0};
    int family;
    unsigned char addr[16];
    unsigned prefix;
    CHECK_OK(nl_parse_cidr("10.0.0.2/24", &family, addr, &prefix, &err), &err);
    CHECK_INT(family, AF_INET);
    CHECK_INT(prefix, 24);
    CHECK(addr[0] == 10 && addr[3] == 2);
    CHECK_OK(nl_parse_cidr("fd00::1/64", &family, addr, &prefix, &err), &err);
    CHECK_INT(family, AF_INET6);
    CHECK_INT(prefix, 64);
    CHECK(addr[0] == 0xfd && addr[15] == 1);
    CHECK_OK(nl_parse_cidr("192.168.1.1", &family, addr, &prefix, &err), &err);
    CHECK_INT(prefix, 32);
    CHECK_OK(nl_parse_cidr("::1", &family, addr, &prefix, &err), &err);
    CHECK_INT(prefix, 128);
    CHECK(nl_parse_cidr("10.0.0.2/33", &family, addr, &prefix, &err) < 0);
    CHECK_STR(err.msg, "invalid address '10.0.0.2/33': prefix length above 32");
    CHECK(nl_parse_cidr("fd00::1/129", &family, addr, &prefix, &err) < 0);
    CHECK(nl_parse_cidr("10.0.0.2/", &family, addr, &prefix, &err) < 0);
    CHECK(nl_parse_cidr("10.0.0.2/2x", &family, addr, &prefix, &err) < 0);
    CHECK(nl_parse_cidr("10.0.0.2/-1", &family, addr, &prefix, &err) < 0);
    CHECK(nl_parse_cidr("10.0.0.256/8", &family, addr, &prefix, &err) < 0);
    CHECK(nl_parse_cidr("/24", &family, addr, &prefix, &err) < 0);
    CHECK(nl_parse_cidr("eth0", &family, addr, &prefix, &err) < 0);
    CHECK_STR(err.msg, "invalid address 'eth0': not an IPv4 or IPv6 address");
    CHECK_INT(err.code, EINVAL);
}
