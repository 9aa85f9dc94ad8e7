/* Netlink message building and reply parsing, with no I/O: the part of the netlink module
 * that unit tests and the fuzz harness drive directly. Every write is bounded by the
 * message's capacity; every length read from a reply is checked before it is used. */
#ifndef CZ_NETLINK_MESSAGE_H
#define CZ_NETLINK_MESSAGE_H

#include <cz/error.h>
#include <cz/netlink.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request under construction in caller-provided storage (aligned for nlmsghdr). Once a
 * write does not fit, `overflow` stays set and later writes are ignored; the sender checks
 * it once instead of every call site. */
typedef struct nl_msg {
    unsigned char *buf;
    size_t cap;
    bool overflow;
} nl_msg;

static inline struct nlmsghdr *nl_msg_hdr(const nl_msg *m)
{
    return (struct nlmsghdr *)(void *)m->buf;
}

/* Start a message of `type` with `flags` (NLM_F_REQUEST is added). cap >= NLMSG_HDRLEN. */
void nl_msg_init(nl_msg *m, void *storage, size_t cap, uint16_t type, uint16_t flags);
/* Reserve len zeroed bytes (aligned) at the end: the family header (ifinfomsg, ...). */
void *nl_msg_put(nl_msg *m, size_t len);
/* Append one attribute. Returns 0, or -1 (and sets overflow) when it does not fit. */
int nl_msg_put_attr(nl_msg *m, uint16_t type, const void *data, size_t len);
int nl_msg_put_u32(nl_msg *m, uint16_t type, uint32_t value);
int nl_msg_put_str(nl_msg *m, uint16_t type, const char *s);
/* Open a nested attribute; close it with nl_msg_nest_end (which fixes its length).
 * Returns an offset (> 0), or 0 when it did not fit. */
size_t nl_msg_nest_begin(nl_msg *m, uint16_t type);
void nl_msg_nest_end(nl_msg *m, size_t nest);

/* --- parsing ------------------------------------------------------------ */

/* Next message of a received datagram: *offset starts at 0. Returns 1 with *out set, 0 at
 * the end of the datagram, -1 when a header's length is impossible. */
int nl_next_message(const void *buf, size_t len, size_t *offset, const struct nlmsghdr **out);

/* Index the attributes in [data, data+len) by type (types > max are skipped; a later
 * duplicate wins). Returns 0, or -1 when an attribute's length is impossible. */
int nl_parse_attrs(const void *data, size_t len, const struct rtattr **table, size_t max);
/* The attributes after a family header of hdrlen bytes in message h. */
int nl_parse_message_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct rtattr **table,
                           size_t max);
static inline const void *nl_attr_data(const struct rtattr *a)
{
    return RTA_DATA(a);
}
static inline size_t nl_attr_len(const struct rtattr *a)
{
    return RTA_PAYLOAD(a);
}
/* Typed reads that fail (-1) on a wrong size instead of reading past the attribute. */
int nl_attr_u32(const struct rtattr *a, uint32_t *out);
/* A NUL-terminated string attribute that fits in out (outlen bytes). */
int nl_attr_str(const struct rtattr *a, char *out, size_t outlen);

/* An RTM_NEWLINK message into *out. Returns 0, or -1 when it is malformed. */
int nl_parse_link(const struct nlmsghdr *h, cz_link_info *out);

/* What one reply datagram said about the request (seq, portid). */
typedef struct nl_reply {
    bool done;        /* the transaction is over (ack, error or NLMSG_DONE seen) */
    int error;        /* errno from NLMSG_ERROR, 0 for an ack */
    char ext_msg[128]; /* the kernel's extended ack text, "" when none */
} nl_reply;

/* Called for each data message of the reply; returns 0 or -1 (with err set). */
typedef int (*nl_reply_fn)(const struct nlmsghdr *h, void *ctx, cz_error *err);

/* Walk one received datagram. Messages for another sequence number or port id are skipped
 * (late replies of an earlier request); data messages go to fn (may be NULL). Returns 0 or
 * -1 with err set when the datagram is malformed or fn failed. */
int nl_reply_walk(const void *buf, size_t len, uint32_t seq, uint32_t portid, nl_reply_fn fn, void *ctx,
                  nl_reply *reply, cz_error *err);

/* "10.0.0.2/24" or "fd00::1/64" into family, 4 or 16 address bytes and the prefix length.
 * No prefix means a host address. Returns 0, or -1 with a message naming the text. */
int nl_parse_cidr(const char *text, int *family, unsigned char addr[16], unsigned *prefix, cz_error *err);

#endif
