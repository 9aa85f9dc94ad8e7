/* libFuzzer: the netlink reply parser of lib/netlink, fed what the kernel could
 * send back in one datagram: message headers, NLMSG_ERROR with extended acks,
 * NLMSG_DONE, RTM_NEWLINK with nested attributes, addresses and routes. The
 * sequence number and port id are taken from the first header, so that the
 * fuzzer reaches the matching path as often as the skipping one. Also the CIDR
 * parser that reads AddrAdd/RouteAdd text from the agent API. */
#include <cz/netlink.h>

#include "netlink/message.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_message(const struct nlmsghdr *h, void *ctx, cz_error *err)
{
    const struct rtattr *tb[IFLA_MAX + 1];
    switch (h->nlmsg_type) {
    case RTM_NEWLINK: {
        cz_link_info info;
        if (nl_parse_link(h, &info) == 0) {
            char mac[3 * CZ_NETLINK_HWADDR_MAX];
            cz_netlink_format_hwaddr(&info, mac, sizeof(mac));
            if (strnlen(info.name, sizeof(info.name)) == sizeof(info.name) ||
                strnlen(info.kind, sizeof(info.kind)) == sizeof(info.kind))
                abort();
        }
        break;
    }
    case RTM_NEWADDR:
        if (nl_parse_message_attrs(h, sizeof(struct ifaddrmsg), tb, IFA_MAX) == 0 &&
            tb[IFA_LABEL]) {
            char label[16];
            nl_attr_str(tb[IFA_LABEL], label, sizeof(label));
        }
        break;
    case RTM_NEWROUTE:
        if (nl_parse_message_attrs(h, sizeof(struct rtmsg), tb, RTA_MAX) == 0 && tb[RTA_OIF]) {
            uint32_t oif;
            nl_attr_u32(tb[RTA_OIF], &oif);
        }
        break;
    }
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The kernel's datagrams are 4-byte aligned: so is our copy. */
    uint32_t *buf = malloc(size + 4);
    memcpy(buf, data, size);
    uint32_t seq = 1, portid = 0;
    if (size >= sizeof(struct nlmsghdr)) {
        const struct nlmsghdr *h = (const struct nlmsghdr *)(void *)buf;
        seq = h->nlmsg_seq;
        portid = h->nlmsg_pid;
    }
    size_t count = 0;
    nl_reply reply = {0};
    cz_error err;
    if (nl_reply_walk(buf, size, seq, portid, on_message, &count, &reply, &err) == 0 &&
        reply.done && strnlen(reply.ext_msg, sizeof(reply.ext_msg)) == sizeof(reply.ext_msg))
        abort();
    /* The same bytes as text for the CIDR parser. */
    char text[64];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    int family;
    unsigned char addr[16];
    unsigned prefix;
    if (nl_parse_cidr(text, &family, addr, &prefix, &err) == 0 &&
        prefix > (family == 2 /* AF_INET */ ? 32u : 128u))
        abort();
    free(buf);
    return 0;
}
