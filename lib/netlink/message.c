/* Netlink message building and reply parsing (no I/O). The builder never writes past the
 * caller's buffer; the parser checks every length against what was received before reading,
 * because a reply is outside input like any other. */
#include "netlink/message.h"

#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>

void nl_msg_init(nl_msg *m, void *storage, size_t cap, uint16_t type, uint16_t flags)
{
    m->buf = storage;
    m->cap = cap;
    m->overflow = cap < NLMSG_HDRLEN;
    if (m->overflow)
        return;
    memset(m->buf, 0, NLMSG_HDRLEN);
    struct nlmsghdr *h = nl_msg_hdr(m);
    h->nlmsg_len = NLMSG_HDRLEN;
    h->nlmsg_type = type;
    h->nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST);
}

/* Room for len more bytes (aligned)? Sets overflow when not. */
static bool reserve(nl_msg *m, size_t len)
{
    if (m->overflow)
        return false;
    size_t used = nl_msg_hdr(m)->nlmsg_len;
    if (len > m->cap || NLMSG_ALIGN(len) > m->cap - used) {
        m->overflow = true;
        return false;
    }
    return true;
}

void *nl_msg_put(nl_msg *m, size_t len)
{
    if (!reserve(m, len))
        return NULL;
    struct nlmsghdr *h = nl_msg_hdr(m);
    unsigned char *p = m->buf + h->nlmsg_len;
    memset(p, 0, NLMSG_ALIGN(len));
    h->nlmsg_len += (uint32_t)NLMSG_ALIGN(len);
    return p;
}

int nl_msg_put_attr(nl_msg *m, uint16_t type, const void *data, size_t len)
{
    /* An attribute's length field is 16 bits. */
    if (len > UINT16_MAX - RTA_LENGTH(0)) {
        m->overflow = true;
        return -1;
    }
    if (!reserve(m, RTA_SPACE(len)))
        return -1;
    struct nlmsghdr *h = nl_msg_hdr(m);
    struct rtattr *a = (struct rtattr *)(void *)(m->buf + h->nlmsg_len);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    memset((unsigned char *)RTA_DATA(a) + len, 0, RTA_SPACE(len) - RTA_LENGTH(len));
    h->nlmsg_len += (uint32_t)RTA_SPACE(len);
    return 0;
}

int nl_msg_put_u32(nl_msg *m, uint16_t type, uint32_t value)
{
    return nl_msg_put_attr(m, type, &value, sizeof(value));
}

int nl_msg_put_str(nl_msg *m, uint16_t type, const char *s)
{
    return nl_msg_put_attr(m, type, s, strlen(s) + 1);
}

size_t nl_msg_nest_begin(nl_msg *m, uint16_t type)
{
    if (m->overflow)
        return 0;
    size_t offset = nl_msg_hdr(m)->nlmsg_len;
    if (nl_msg_put_attr(m, type | NLA_F_NESTED, NULL, 0) < 0)
        return 0;
    return offset;
}

void nl_msg_nest_end(nl_msg *m, size_t nest)
{
    if (m->overflow || nest == 0)
        return;
    struct rtattr *a = (struct rtattr *)(void *)(m->buf + nest);
    size_t len = nl_msg_hdr(m)->nlmsg_len - nest;
    if (len > UINT16_MAX) {
        m->overflow = true;
        return;
    }
    a->rta_len = (unsigned short)len;
}

/* --- parsing ------------------------------------------------------------ */

int nl_next_message(const void *buf, size_t len, size_t *offset, const struct nlmsghdr **out)
{
    if (*offset >= len)
        return 0;
    size_t left = len - *offset;
    if (left < NLMSG_HDRLEN)
        return -1;
    const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)((const unsigned char *)buf + *offset);
    if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left)
        return -1;
    *out = h;
    size_t step = NLMSG_ALIGN(h->nlmsg_len);
    *offset = step > left ? len : *offset + step;
    return 1;
}

int nl_parse_attrs(const void *data, size_t len, const struct rtattr **table, size_t max)
{
    for (size_t i = 0; i <= max; i++)
        table[i] = NULL;
    const unsigned char *p = data;
    while (len > 0) {
        if (len < RTA_LENGTH(0))
            return -1;
        const struct rtattr *a = (const struct rtattr *)(const void *)p;
        if (a->rta_len < RTA_LENGTH(0) || a->rta_len > len)
            return -1;
        unsigned type = a->rta_type & NLA_TYPE_MASK;
        if (type <= max)
            table[type] = a;
        size_t step = RTA_ALIGN(a->rta_len);
        if (step >= len)
            break;
        p += step;
        len -= step;
    }
    return 0;
}

int nl_parse_message_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct rtattr **table,
                           size_t max)
{
    size_t payload = h->nlmsg_len - NLMSG_HDRLEN; /* nl_next_message checked nlmsg_len */
    if (payload < hdrlen)
        return -1;
    size_t skip = NLMSG_ALIGN(hdrlen);
    if (skip >= payload) {
        for (size_t i = 0; i <= max; i++)
            table[i] = NULL;
        return 0;
    }
    return nl_parse_attrs((const unsigned char *)NLMSG_DATA(h) + skip, payload - skip, table, max);
}

int nl_attr_u32(const struct rtattr *a, uint32_t *out)
{
    if (nl_attr_len(a) != sizeof(uint32_t))
        return -1;
    memcpy(out, nl_attr_data(a), sizeof(uint32_t));
    return 0;
}

int nl_attr_str(const struct rtattr *a, char *out, size_t outlen)
{
    const char *s = nl_attr_data(a);
    size_t len = nl_attr_len(a);
    size_t n = strnlen(s, len);
    if (n == len || n >= outlen) /* no NUL inside the attribute, or too long for out */
        return -1;
    memcpy(out, s, n + 1);
    return 0;
}

int nl_parse_link(const struct nlmsghdr *h, cz_link_info *out)
{
    memset(out, 0, sizeof(*out));
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len - NLMSG_HDRLEN < sizeof(struct ifinfomsg))
        return -1;
    struct ifinfomsg ifi;
    memcpy(&ifi, NLMSG_DATA(h), sizeof(ifi));
    if (ifi.ifi_index <= 0)
        return -1;
    out->index = ifi.ifi_index;
    out->flags = ifi.ifi_flags;

    const struct rtattr *tb[IFLA_MAX + 1];
    if (nl_parse_message_attrs(h, sizeof(struct ifinfomsg), tb, IFLA_MAX) < 0)
        return -1;
    if (!tb[IFLA_IFNAME] || nl_attr_str(tb[IFLA_IFNAME], out->name, sizeof(out->name)) < 0)
        return -1;
    uint32_t v;
    if (tb[IFLA_MTU]) {
        if (nl_attr_u32(tb[IFLA_MTU], &v) < 0)
            return -1;
        out->mtu = v;
    }
    if (tb[IFLA_MASTER]) {
        if (nl_attr_u32(tb[IFLA_MASTER], &v) < 0 || v > INT32_MAX)
            return -1;
        out->master = (int)v;
    }
    if (tb[IFLA_ADDRESS]) {
        size_t n = nl_attr_len(tb[IFLA_ADDRESS]);
        if (n > sizeof(out->hwaddr))
            return -1;
        memcpy(out->hwaddr, nl_attr_data(tb[IFLA_ADDRESS]), n);
        out->hwaddr_len = n;
    }
    if (tb[IFLA_LINKINFO]) {
        const struct rtattr *info[IFLA_INFO_MAX + 1];
        if (nl_parse_attrs(nl_attr_data(tb[IFLA_LINKINFO]), nl_attr_len(tb[IFLA_LINKINFO]), info,
                           IFLA_INFO_MAX) < 0)
            return -1;
        if (info[IFLA_INFO_KIND] && nl_attr_str(info[IFLA_INFO_KIND], out->kind, sizeof(out->kind)) < 0)
            return -1;
    }
    return 0;
}

/* The payload of NLMSG_ERROR: the errno, then (with NLM_F_ACK_TLVS) attributes such as the
 * extended ack text, after a copy of our request that is only its header when capped. */
static int parse_error(const struct nlmsghdr *h, nl_reply *reply)
{
    size_t payload = h->nlmsg_len - NLMSG_HDRLEN;
    if (payload < sizeof(struct nlmsgerr))
        return -1;
    struct nlmsgerr e;
    memcpy(&e, NLMSG_DATA(h), sizeof(e));
    if (e.error > 0 || e.error < -4095)
        return -1;
    reply->error = -e.error;
    reply->ext_msg[0] = '\0';
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return 0;
    size_t skip = sizeof(struct nlmsgerr);
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
        if (e.msg.nlmsg_len < NLMSG_HDRLEN)
            return -1;
        skip += e.msg.nlmsg_len - NLMSG_HDRLEN;
    }
    skip = NLMSG_ALIGN(skip);
    if (skip > payload)
        return -1;
    const struct rtattr *tb[NLMSGERR_ATTR_MAX + 1];
    if (nl_parse_attrs((const unsigned char *)NLMSG_DATA(h) + skip, payload - skip, tb, NLMSGERR_ATTR_MAX) < 0)
        return -1;
    if (tb[NLMSGERR_ATTR_MSG] && nl_attr_str(tb[NLMSGERR_ATTR_MSG], reply->ext_msg, sizeof(reply->ext_msg)) < 0)
        reply->ext_msg[0] = '\0'; /* an unreadable hint is no reason to fail */
    return 0;
}

int nl_reply_walk(const void *buf, size_t len, uint32_t seq, uint32_t portid, nl_reply_fn fn, void *ctx,
                  nl_reply *reply, cz_error *err)
{
    size_t offset = 0;
    const struct nlmsghdr *h;
    int r;
    while (!reply->done && (r = nl_next_message(buf, len, &offset, &h)) != 0) {
        if (r < 0)
            return cz_error_set(err, EPROTO, "malformed netlink reply: bad message length");
        if (h->nlmsg_seq != seq || h->nlmsg_pid != portid)
            continue; /* a late answer to an earlier request, or not for us */
        switch (h->nlmsg_type) {
        case NLMSG_NOOP:
            break;
        case NLMSG_ERROR:
            if (parse_error(h, reply) < 0)
                return cz_error_set(err, EPROTO, "malformed netlink reply: bad error message");
            reply->done = true;
            break;
        case NLMSG_DONE:
            reply->error = 0;
            reply->done = true;
            break;
        case NLMSG_OVERRUN:
            return cz_error_set(err, ENOBUFS, "netlink reply overrun");
        default:
            /* Data (e.g. RTM_NEWLINK for a get); the ack we always ask for follows. */
            if (fn && fn(h, ctx, err) < 0)
                return -1;
            break;
        }
    }
    return 0;
}

int nl_parse_cidr(const char *text, int *family, unsigned char addr[16], unsigned *prefix, cz_error *err)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t hostlen = slash ? (size_t)(slash - text) : strlen(text);
    if (hostlen == 0 || hostlen >= sizeof(host))
        return cz_error_set(err, EINVAL, "invalid address '%s'", text);
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    memset(addr, 0, 16);
    unsigned max;
    if (inet_pton(AF_INET, host, addr) == 1) {
        *family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, addr) == 1) {
        *family = AF_INET6;
        max = 128;
    } else {
        return cz_error_set(err, EINVAL, "invalid address '%s': not an IPv4 or IPv6 address", text);
    }
    *prefix = max;
    if (slash) {
        const char *p = slash + 1;
        unsigned v = 0;
        if (!*p || strlen(p) > 3)
            return cz_error_set(err, EINVAL, "invalid address '%s': bad prefix length", text);
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return cz_error_set(err, EINVAL, "invalid address '%s': bad prefix length", text);
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v > max)
            return cz_error_set(err, EINVAL, "invalid address '%s': prefix length above %u", text, max);
        *prefix = v;
    }
    return 0;
}
