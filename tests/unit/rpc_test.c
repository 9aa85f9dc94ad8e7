/* Unit tests of the rpc module: wire helpers (timeouts, percent encoding, status
 * mapping, framing), the event loop, and a server and client in one process over
 * a socketpair, using the Agent service descriptors. */
#include "unit.h"

#include <cz/rpc.h>

#include "agent.pb-c.h"
#include "base/util.h"

#include <errno.h>
#include <sys/socket.h>

TEST(timeout_parse_valid)
{
    uint64_t ns = 0;
    CHECK_INT(cz_rpc_timeout_parse("100m", &ns), 0);
    CHECK_INT(ns, 100000000ull);
    CHECK_INT(cz_rpc_timeout_parse("5S", &ns), 0);
    CHECK_INT(ns, 5000000000ull);
    CHECK_INT(cz_rpc_timeout_parse("2M", &ns), 0);
    CHECK_INT(ns, 120000000000ull);
    CHECK_INT(cz_rpc_timeout_parse("1H", &ns), 0);
    CHECK_INT(ns, 3600000000000ull);
    CHECK_INT(cz_rpc_timeout_parse("7u", &ns), 0);
    CHECK_INT(ns, 7000ull);
    CHECK_INT(cz_rpc_timeout_parse("99999999n", &ns), 0);
    CHECK_INT(ns, 99999999ull);
    CHECK_INT(cz_rpc_timeout_parse("99999999H", &ns), 0);
    CHECK(ns == UINT64_MAX); /* saturated */
}

TEST(timeout_parse_invalid)
{
    uint64_t ns = 0;
    const char *bad[] = {"", "m", "1", "123456789S", "1x", "-1S", "1SS", " 1S", "1 S", "1.5S"};
    for (size_t i = 0; i < CZ_ARRAY_SIZE(bad); i++)
        CHECK_MSG(cz_rpc_timeout_parse(bad[i], &ns) < 0, "'%s' accepted", bad[i]);
}

TEST(timeout_format_round_trip)
{
    char buf[32];
    cz_rpc_timeout_format(100000000ull, buf, sizeof(buf));
    CHECK_STR(buf, "100000u");
    cz_rpc_timeout_format(5ull, buf, sizeof(buf));
    CHECK_STR(buf, "5n");
    const uint64_t samples[] = {1,          999,       123456789, 1000000001, 86400000000000ull,
                                7ull << 50, UINT64_MAX};
    for (size_t i = 0; i < CZ_ARRAY_SIZE(samples); i++) {
        uint64_t ns = 0;
        cz_rpc_timeout_format(samples[i], buf, sizeof(buf));
        CHECK_INT(cz_rpc_timeout_parse(buf, &ns), 0);
        /* Never shorter; longer by less than a thousandth (one unit of 8 digits). */
        CHECK_MSG(ns >= samples[i] && ns - samples[i] <= samples[i] / 1000 + 1,
                  "%llu -> %s -> %llu", (unsigned long long)samples[i], buf,
                  (unsigned long long)ns);
    }
}

TEST(percent_encoding)
{
    cz_autofree char *e = cz_rpc_percent_encode("a%b\nc ü~");
    CHECK_STR(e, "a%25b%0Ac %C3%BC~");
    cz_autofree char *d = cz_rpc_percent_decode(e, strlen(e));
    CHECK_STR(d, "a%b\nc ü~");
    cz_autofree char *bad = cz_rpc_percent_decode("100%zz%4", 8);
    CHECK_STR(bad, "100%zz%4");
    cz_autofree char *empty = cz_rpc_percent_encode("");
    CHECK_STR(empty, "");
}

TEST(status_mapping)
{
    for (int s = 0; s <= CZ_RPC_UNAUTHENTICATED; s++) {
        if (s == CZ_RPC_OK)
            continue;
        CHECK_MSG(cz_rpc_status_from_errno(cz_rpc_errno_from_status(s)) == s, "status %s",
                  cz_rpc_status_name(s));
    }
    CHECK_INT(cz_rpc_status_from_errno(ENOENT), CZ_RPC_NOT_FOUND);
    CHECK_INT(cz_rpc_status_from_errno(ESRCH), CZ_RPC_NOT_FOUND);
    CHECK_INT(cz_rpc_status_from_errno(EPERM), CZ_RPC_PERMISSION_DENIED);
    CHECK_INT(cz_rpc_status_from_errno(ENOSPC), CZ_RPC_RESOURCE_EXHAUSTED);
    CHECK_INT(cz_rpc_status_from_errno(0), CZ_RPC_UNKNOWN);
    CHECK_INT(cz_rpc_status_from_errno(12345), CZ_RPC_UNKNOWN);
    CHECK_STR(cz_rpc_status_name(CZ_RPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
    CHECK_STR(cz_rpc_status_name(99), "UNKNOWN_STATUS");
}

TEST(frame_header)
{
    uint8_t h[5];
    cz_rpc_frame_header(h, 0x01020304);
    CHECK(h[0] == 0 && h[1] == 1 && h[2] == 2 && h[3] == 3 && h[4] == 4);
}

/* ---- loop ---- */

static int order[8], norder;
static void rec(cz_loop *loop, void *data)
{
    order[norder++] = (int)(intptr_t)data;
}

TEST(loop_timers_in_order_and_cancel)
{
    cz_error err = {0};
    cz_loop *loop = cz_loop_new(&err);
    CHECK(loop);
    norder = 0;
    cz_loop_add_timer(loop, 30, rec, (void *)3);
    cz_loop_add_timer(loop, 10, rec, (void *)1);
    uint64_t id = cz_loop_add_timer(loop, 20, rec, (void *)2);
    cz_loop_add_timer(loop, 0, rec, (void *)0);
    cz_loop_cancel_timer(loop, id);
    for (int i = 0; i < 50 && norder < 3; i++)
        CHECK_OK(cz_loop_run_once(loop, 100, &err), &err);
    CHECK_INT(norder, 3);
    CHECK(order[0] == 0 && order[1] == 1 && order[2] == 3);
    cz_loop_free(loop);
}

static int fd_hits;
static void on_fd(cz_loop *loop, int fd, uint32_t events, void *data)
{
    char c;
    fd_hits++;
    CHECK(read(fd, &c, 1) == 1);
    cz_loop_del_fd(loop, fd); /* removing oneself inside the callback is allowed */
}

TEST(loop_fd_and_self_removal)
{
    cz_error err = {0};
    cz_loop *loop = cz_loop_new(&err);
    int p[2];
    CHECK(pipe(p) == 0);
    fd_hits = 0;
    CHECK_OK(cz_loop_add_fd(loop, p[0], CZ_LOOP_IN, on_fd, NULL, &err), &err);
    CHECK(write(p[1], "ab", 2) == 2);
    for (int i = 0; i < 3; i++)
        CHECK_OK(cz_loop_run_once(loop, 10, &err), &err);
    CHECK_INT(fd_hits, 1);
    close(p[0]);
    close(p[1]);
    cz_loop_free(loop);
}

/* ---- server and client in one process ---- */

static const ProtobufCServiceDescriptor *agent = &cz__agent__v1__agent__descriptor;

static int stat_handler(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    const Cz__Agent__V1__StatRequest *r = (const Cz__Agent__V1__StatRequest *)req;
    if (strcmp(r->path, "/missing") == 0)
        return cz_error_set(err, ENOENT, "stat %s: No such file or directory", r->path);
    Cz__Agent__V1__StatResponse resp = CZ__AGENT__V1__STAT_RESPONSE__INIT;
    resp.size = strlen(r->path);
    resp.link_target = r->path;
    return cz_rpc_call_reply(call, &resp.base, err);
}

/* Never answers: for deadlines and lost connections. */
static int wait_handler(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    return CZ_RPC_LATER;
}

typedef struct pair {
    cz_loop *loop;
    cz_rpc_server *server;
    cz_rpc_client *client;
} pair;

static int make_pair(pair *p, const cz_rpc_opts *copts, cz_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return cz_error_errno(err, errno, "socketpair");
    p->loop = cz_loop_new(err);
    p->server = cz_rpc_server_new(p->loop, NULL);
    if (cz_rpc_server_add_unary(p->server, agent, "Stat", stat_handler, NULL, err) < 0 ||
        cz_rpc_server_add_unary(p->server, agent, "Wait", wait_handler, NULL, err) < 0 ||
        cz_rpc_server_add_connection(p->server, sv[0], err) < 0)
        return -1;
    p->client = cz_rpc_client_new(p->loop, sv[1], copts, err);
    return p->client ? 0 : -1;
}

static void free_pair(pair *p)
{
    cz_rpc_client_free(p->client);
    cz_rpc_server_free(p->server);
    cz_loop_free(p->loop);
}

TEST(inprocess_unary_ok_and_error)
{
    cz_error err = {0};
    pair p = {0};
    CHECK_OK(make_pair(&p, NULL, &err), &err);
    Cz__Agent__V1__StatRequest req = CZ__AGENT__V1__STAT_REQUEST__INIT;
    req.path = (char *)"/etc/hostname";
    ProtobufCMessage *reply = NULL;
    CHECK_OK(cz_rpc_client_unary(p.client, agent, "Stat", &req.base, &reply, 5000, &err), &err);
    Cz__Agent__V1__StatResponse *r = (Cz__Agent__V1__StatResponse *)reply;
    CHECK_INT(r->size, 13);
    CHECK_STR(r->link_target, "/etc/hostname");
    protobuf_c_message_free_unpacked(reply, NULL);

    req.path = (char *)"/missing";
    CHECK(cz_rpc_client_unary(p.client, agent, "Stat", &req.base, &reply, 5000, &err) < 0);
    CHECK_INT(err.code, ENOENT);
    CHECK_STR(err.msg, "cz.agent.v1.Agent/Stat: NOT_FOUND: stat /missing: No such file or "
                       "directory");

    Cz__Agent__V1__MkdirRequest mk = CZ__AGENT__V1__MKDIR_REQUEST__INIT;
    CHECK(cz_rpc_client_unary(p.client, agent, "Mkdir", &mk.base, &reply, 5000, &err) < 0);
    CHECK_INT(cz_rpc_status_from_errno(err.code), CZ_RPC_UNIMPLEMENTED);
    free_pair(&p);
}

TEST(inprocess_deadline_and_size_limit)
{
    cz_error err = {0};
    pair p = {0};
    cz_rpc_opts small = {.max_recv_message = 64, .max_send_message = 64};
    CHECK_OK(make_pair(&p, &small, &err), &err);
    Cz__Agent__V1__WaitRequest w = CZ__AGENT__V1__WAIT_REQUEST__INIT;
    w.id = (char *)"p1";
    ProtobufCMessage *reply = NULL;
    uint64_t t0 = cz_now_ns();
    CHECK(cz_rpc_client_unary(p.client, agent, "Wait", &w.base, &reply, 50, &err) < 0);
    CHECK_INT(cz_rpc_status_from_errno(err.code), CZ_RPC_DEADLINE_EXCEEDED);
    CHECK((cz_now_ns() - t0) / 1000000 < 2000);

    char path[200];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    Cz__Agent__V1__StatRequest req = CZ__AGENT__V1__STAT_REQUEST__INIT;
    req.path = path;
    CHECK(cz_rpc_client_unary(p.client, agent, "Stat", &req.base, &reply, 5000, &err) < 0);
    CHECK_INT(err.code, E2BIG); /* our request is over our send limit */
    path[62] = '\0'; /* a 64-byte request; the reply adds a field: over our receive limit */
    CHECK(cz_rpc_client_unary(p.client, agent, "Stat", &req.base, &reply, 5000, &err) < 0);
    CHECK_INT(cz_rpc_status_from_errno(err.code), CZ_RPC_RESOURCE_EXHAUSTED);
    CHECK(strstr(err.msg, "received message larger than max") != NULL);
    path[10] = '\0';
    CHECK_OK(cz_rpc_client_unary(p.client, agent, "Stat", &req.base, &reply, 5000, &err), &err);
    protobuf_c_message_free_unpacked(reply, NULL);
    free_pair(&p);
}

static int closed_status = -1;
static void note_close(cz_rpc_call *call, int status, const char *message)
{
    closed_status = status;
}
static const cz_rpc_handler note_handler = {.on_close = note_close};

static int disconnects;
static void note_disconnect(cz_rpc_client *client, void *data)
{
    disconnects++;
}

TEST(inprocess_server_gone_is_unavailable)
{
    cz_error err = {0};
    pair p = {0};
    CHECK_OK(make_pair(&p, NULL, &err), &err);
    closed_status = -1;
    disconnects = 0;
    cz_rpc_client_on_disconnect(p.client, note_disconnect, NULL);
    cz_rpc_call *call = cz_rpc_client_start(p.client, agent, "Wait", 0, &note_handler, NULL, &err);
    CHECK(call);
    Cz__Agent__V1__WaitRequest w = CZ__AGENT__V1__WAIT_REQUEST__INIT;
    CHECK_OK(cz_rpc_call_send(call, &w.base, &err), &err);
    CHECK_OK(cz_rpc_call_close_send(call, &err), &err);
    for (int i = 0; i < 5; i++)
        CHECK_OK(cz_loop_run_once(p.loop, 10, &err), &err);
    CHECK_INT(closed_status, -1);
    cz_rpc_server_free(p.server); /* the server side hangs up */
    p.server = NULL;
    for (int i = 0; i < 50 && closed_status < 0; i++)
        CHECK_OK(cz_loop_run_once(p.loop, 10, &err), &err);
    CHECK_INT(closed_status, CZ_RPC_UNAVAILABLE);
    CHECK(!cz_rpc_client_is_connected(p.client));
    CHECK_INT(disconnects, 1);
    free_pair(&p);
}

/* ---- backpressure towards a fast sender: a paused call holds the client back ---- */

static size_t bp_received;
static cz_rpc_call *bp_server_call;

static int bp_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    const Cz__Agent__V1__StdioRequest *r = (const Cz__Agent__V1__StdioRequest *)msg;
    bp_received += r->data.len;
    bp_server_call = call;
    cz_rpc_call_pause(call); /* a slow consumer: one message, then wait */
    return 0;
}

static int bp_half_close(cz_rpc_call *call, cz_error *err)
{
    cz_rpc_call_finish(call, NULL);
    return 0;
}

static void bp_close(cz_rpc_call *call, int status, const char *message)
{
    bp_server_call = NULL; /* the pointer dies with the call */
}

static const cz_rpc_handler bp_handler = {
    .on_message = bp_msg, .on_half_close = bp_half_close, .on_close = bp_close};

TEST(inprocess_pause_holds_back_the_sender)
{
    cz_error err = {0};
    pair p = {0};
    CHECK_OK(make_pair(&p, NULL, &err), &err);
    CHECK_OK(cz_rpc_server_add_method(p.server, agent, "Stdio", &bp_handler, NULL, &err), &err);
    bp_received = 0;
    bp_server_call = NULL;
    closed_status = -1;
    cz_rpc_call *call = cz_rpc_client_start(p.client, agent, "Stdio", 0, &note_handler, NULL, &err);
    CHECK(call);
    static uint8_t chunk[64 << 10];
    Cz__Agent__V1__StdioRequest req = CZ__AGENT__V1__STDIO_REQUEST__INIT;
    req.data.data = chunk;
    req.data.len = sizeof(chunk);
    const size_t total = 16u << 20; /* 16 MiB: far more than the 1 MiB stream window */
    for (size_t sent = 0; sent < total; sent += sizeof(chunk))
        CHECK_OK(cz_rpc_call_send(call, &req.base, &err), &err);
    CHECK_OK(cz_rpc_call_close_send(call, &err), &err);
    for (int i = 0; i < 100; i++)
        CHECK_OK(cz_loop_run_once(p.loop, 5, &err), &err);
    /* One message delivered; the rest waits in the client's queue, held by flow control
     * (at most about one stream window can be in flight or buffered by the server). */
    CHECK_INT(bp_received, sizeof(chunk));
    CHECK_MSG(cz_rpc_call_pending(call) > total - (3u << 20), "client queue %zu",
              cz_rpc_call_pending(call));
    /* Resume message by message until everything arrived. */
    for (int i = 0; i < 20000 && closed_status < 0; i++) {
        if (bp_server_call)
            cz_rpc_call_resume(bp_server_call);
        CHECK_OK(cz_loop_run_once(p.loop, 5, &err), &err);
    }
    CHECK_INT(closed_status, CZ_RPC_OK);
    CHECK_INT(bp_received, total);
    free_pair(&p);
}

/* ---- a paused client call still gets what arrived before the stream ended ---- */

static int tail_out_handler(cz_rpc_call *call, const ProtobufCMessage *req, void *data,
                            cz_error *err)
{
    static uint8_t chunk[64 << 10];
    Cz__Agent__V1__CopyOutResponse m = CZ__AGENT__V1__COPY_OUT_RESPONSE__INIT;
    m.data.data = chunk;
    m.data.len = sizeof(chunk);
    for (int i = 0; i < 4; i++) /* 256 KiB: within one stream window */
        if (cz_rpc_call_send(call, &m.base, err) < 0)
            return -1;
    cz_rpc_call_finish(call, NULL);
    return 0;
}

static size_t tail_received;
static int tail_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    tail_received += ((const Cz__Agent__V1__CopyOutResponse *)msg)->data.len;
    cz_rpc_call_pause(call); /* a slow consumer */
    return 0;
}
static const cz_rpc_handler tail_handler = {.on_message = tail_msg, .on_close = note_close};

/* Serve CopyOut with fn, call it through handler (client options copts) and run the
 * loop until the call closes (at most `turns` turns): closed_status has its status. */
static void copyout_call(const cz_rpc_opts *copts, cz_rpc_unary_fn fn,
                         const cz_rpc_handler *handler, int turns)
{
    cz_error err = {0};
    pair p = {0};
    closed_status = -1;
    CHECK_OK(make_pair(&p, copts, &err), &err);
    CHECK_OK(cz_rpc_server_add_unary(p.server, agent, "CopyOut", fn, NULL, &err), &err);
    cz_rpc_call *call = cz_rpc_client_start(p.client, agent, "CopyOut", 0, handler, NULL, &err);
    CHECK(call);
    Cz__Agent__V1__CopyOutRequest q = CZ__AGENT__V1__COPY_OUT_REQUEST__INIT;
    q.path = (char *)"/x";
    CHECK_OK(cz_rpc_call_send(call, &q.base, &err), &err);
    CHECK_OK(cz_rpc_call_close_send(call, &err), &err);
    for (int i = 0; i < turns && closed_status < 0; i++)
        CHECK_OK(cz_loop_run_once(p.loop, 5, &err), &err);
    free_pair(&p);
}

TEST(inprocess_paused_call_gets_all_before_close)
{
    tail_received = 0;
    /* never resumed: the end of the stream must not drop the buffered messages */
    copyout_call(NULL, tail_out_handler, &tail_handler, 200);
    CHECK_INT(closed_status, CZ_RPC_OK);
    CHECK_INT(tail_received, 4u << 16);
}

/* ---- messages filled in place (cz_rpc_call_send_reserve) ---- */

/* CopyOutResponse is `bytes data = 1`: its lead is the tag and the varint length. */
static size_t copyout_lead(uint8_t *lead, size_t len)
{
    size_t l = 0;
    lead[l++] = 1 << 3 | 2;
    for (uint64_t v = len;; v >>= 7) {
        lead[l++] = (uint8_t)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
        if (v < 0x80)
            break;
    }
    return l;
}

static const size_t reserved_sizes[] = {1, 100, 5000, 70000, 300000, 1u << 20, 3, 200000};

static uint8_t pattern_byte(size_t msg, size_t i)
{
    return (uint8_t)(msg * 31 + i * 7 + (i >> 9));
}

/* Reserved and packed messages in turn, with every size above: each frame the client's
 * small window allows splits messages at arbitrary places. */
static int reserved_out_handler(cz_rpc_call *call, const ProtobufCMessage *req, void *data,
                                cz_error *err)
{
    for (size_t m = 0; m < CZ_ARRAY_SIZE(reserved_sizes); m++) {
        size_t n = reserved_sizes[m];
        if (m % 3 == 2) {
            cz_autofree uint8_t *buf = cz_xmalloc(n);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern_byte(m, i);
            Cz__Agent__V1__CopyOutResponse r = CZ__AGENT__V1__COPY_OUT_RESPONSE__INIT;
            r.data.data = buf;
            r.data.len = n;
            if (cz_rpc_call_send(call, &r.base, err) < 0)
                return -1;
            continue;
        }
        uint8_t *p = cz_rpc_call_send_reserve(call, n + 1000, err);
        if (!p)
            return -1;
        for (size_t i = 0; i < n; i++)
            p[i] = pattern_byte(m, i);
        uint8_t lead[CZ_RPC_RESERVE_LEAD];
        size_t l = copyout_lead(lead, n);
        memcpy(p - l, lead, l);
        if (cz_rpc_call_send_reserved(call, l, n, err) < 0)
            return -1;
    }
    cz_rpc_call_finish(call, NULL);
    return 0;
}

static size_t reserved_msgs, reserved_bad;
static int reserved_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    const Cz__Agent__V1__CopyOutResponse *r = (const Cz__Agent__V1__CopyOutResponse *)msg;
    size_t m = reserved_msgs++;
    if (m >= CZ_ARRAY_SIZE(reserved_sizes) || r->data.len != reserved_sizes[m]) {
        reserved_bad++;
        return 0;
    }
    for (size_t i = 0; i < r->data.len; i++)
        if (r->data.data[i] != pattern_byte(m, i)) {
            reserved_bad++;
            break;
        }
    return 0;
}
static const cz_rpc_handler reserved_handler = {.on_message = reserved_msg, .on_close = note_close};

TEST(inprocess_reserved_messages_arrive_intact)
{
    cz_rpc_opts copts = {.stream_window = 100000};
    reserved_msgs = reserved_bad = 0;
    copyout_call(&copts, reserved_out_handler, &reserved_handler, 2000);
    CHECK_INT(closed_status, CZ_RPC_OK);
    CHECK_INT(reserved_msgs, CZ_ARRAY_SIZE(reserved_sizes));
    CHECK_INT(reserved_bad, 0);
}

static int reserve_limits_handler(cz_rpc_call *call, const ProtobufCMessage *req, void *data,
                                  cz_error *err)
{
    cz_error e = {0};
    /* over the send limit (16 MiB by default) */
    if (cz_rpc_call_send_reserve(call, 17u << 20, &e) || e.code != E2BIG)
        return cz_error_set(err, EPROTO, "reserve over the limit: %d %s", e.code, e.msg);
    /* nothing reserved */
    e = (cz_error){0};
    if (cz_rpc_call_send_reserved(call, 2, 10, &e) == 0 || e.code != EINVAL)
        return cz_error_set(err, EPROTO, "commit without a reservation: %d", e.code);
    /* more than was reserved, or a lead longer than CZ_RPC_RESERVE_LEAD */
    if (!cz_rpc_call_send_reserve(call, 10, err))
        return -1;
    e = (cz_error){0};
    if (cz_rpc_call_send_reserved(call, 2, 11, &e) == 0 || e.code != EINVAL)
        return cz_error_set(err, EPROTO, "commit beyond the reservation: %d", e.code);
    if (cz_rpc_call_send_reserved(call, CZ_RPC_RESERVE_LEAD + 1, 1, &e) == 0)
        return cz_error_set(err, EPROTO, "commit with a lead too long");
    /* the reservation is still there and usable: an empty CopyOutResponse */
    if (cz_rpc_call_send_reserved(call, 0, 0, err) < 0)
        return -1;
    cz_rpc_call_finish(call, NULL);
    return 0;
}

TEST(inprocess_reserve_limits)
{
    copyout_call(NULL, reserve_limits_handler, &note_handler, 200);
    CHECK_INT(closed_status, CZ_RPC_OK);
}

TEST(error_strip_keeps_the_server_message)
{
    cz_error e = {0};
    snprintf(e.msg, sizeof(e.msg), "cz.agent.v1.Agent/StartProcess: NOT_FOUND: exec x: not found");
    cz_rpc_error_strip(&e);
    CHECK_STR(e.msg, "exec x: not found");
    snprintf(e.msg, sizeof(e.msg), "connect to /run/x: No such file or directory");
    cz_rpc_error_strip(&e);
    CHECK_STR(e.msg, "connect to /run/x: No such file or directory");
    snprintf(e.msg, sizeof(e.msg), "a/b: NOT_A_STATUS: kept");
    cz_rpc_error_strip(&e);
    CHECK_STR(e.msg, "a/b: NOT_A_STATUS: kept");
}
