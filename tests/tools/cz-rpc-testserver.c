/* Serves the test service (tests/proto/rpctest.proto) with the rpc module on a
 * unix socket, for the interoperability and bad-input tests. Every call's end is
 * logged on stderr ("closed PATH STATUS"), so tests can see that a handler learnt
 * of a cancelled call. Exits on SIGTERM/SIGINT (watched through a signalfd in the
 * same loop, as vminitd does). */
#include <cz/rpc.h>

#include "base/log.h"
#include "base/util.h"
#include "rpctest/rpctest.pb-c.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>

typedef Cz__Rpctest__V1__Msg Msg;
#define MSG_INIT CZ__RPCTEST__V1__MSG__INIT
static const ProtobufCServiceDescriptor *svc = &cz__rpctest__v1__test__descriptor;
static cz_loop *loop;

static void log_close(cz_rpc_call *call, int status, const char *message)
{
    fprintf(stderr, "closed %s %s %s\n", cz_rpc_call_path(call), cz_rpc_status_name(status),
            message);
}

/* ---- unary ---- */

static int echo(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    return cz_rpc_call_reply(call, req, err);
}

static int fail(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    const Msg *m = (const Msg *)req;
    return cz_error_set(err, m->fail_errno, "%s", m->text);
}

static int big(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    const Msg *m = (const Msg *)req;
    if (m->size < 0 || m->size > (int64_t)1 << 30)
        return cz_error_set(err, EINVAL, "size %lld out of range", (long long)m->size);
    Msg reply = MSG_INIT;
    cz_autofree uint8_t *buf = cz_xcalloc(1, (size_t)m->size + 1);
    reply.payload.data = buf;
    reply.payload.len = (size_t)m->size;
    reply.size = m->size;
    return cz_rpc_call_reply(call, &reply.base, err);
}

/* ---- Sleep: an asynchronous unary call (CZ_RPC_LATER) that watches for
 * cancellation through a close hook ---- */

static void sleep_done(cz_loop *l, void *data)
{
    cz_rpc_call *call = data;
    cz_rpc_call_set_data(call, NULL);
    Msg reply = MSG_INIT;
    reply.text = (char *)"slept";
    cz_error err = {0};
    if (cz_rpc_call_reply(call, &reply.base, &err) < 0)
        cz_rpc_call_finish(call, &err);
}

static void sleep_close(cz_rpc_call *call, int status, const char *message)
{
    uint64_t id = (uint64_t)(uintptr_t)cz_rpc_call_data(call);
    if (id)
        cz_loop_cancel_timer(loop, id);
    log_close(call, status, message);
}

static int sleep_unary(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    const Msg *m = (const Msg *)req;
    uint64_t id = cz_loop_add_timer(loop, (uint64_t)CZ_MAX(m->delay_ms, 0), sleep_done, call);
    cz_rpc_call_set_data(call, (void *)(uintptr_t)id);
    cz_rpc_call_set_close_hook(call, sleep_close);
    return CZ_RPC_LATER;
}

/* ---- Sum: client streaming ---- */

typedef struct sum_state {
    int64_t sum, count, bytes;
} sum_state;

static int sum_msg(cz_rpc_call *call, const ProtobufCMessage *req, cz_error *err)
{
    const Msg *m = (const Msg *)req;
    sum_state *st = cz_rpc_call_data(call);
    if (!st) {
        st = cz_xcalloc(1, sizeof(*st));
        cz_rpc_call_set_data(call, st);
    }
    st->sum += m->number;
    st->count++;
    st->bytes += (int64_t)m->payload.len;
    return 0;
}

static int sum_half_close(cz_rpc_call *call, cz_error *err)
{
    sum_state *st = cz_rpc_call_data(call);
    Msg reply = MSG_INIT;
    if (st) {
        reply.number = st->sum;
        reply.count = (int32_t)st->count;
        reply.size = st->bytes;
    }
    return cz_rpc_call_reply(call, &reply.base, err);
}

static void sum_close(cz_rpc_call *call, int status, const char *message)
{
    free(cz_rpc_call_data(call));
    log_close(call, status, message);
}

static const cz_rpc_handler sum_handler = {
    .on_message = sum_msg, .on_half_close = sum_half_close, .on_close = sum_close};

/* ---- Count: server streaming, paced by timers or by flow control ---- */

typedef struct count_state {
    cz_rpc_call *call;
    int32_t total, next, delay_ms;
    int64_t size;
    uint8_t *payload;
    uint64_t timer;
} count_state;

static void count_timer(cz_loop *l, void *data);

/* Send until done, the queue is full (resume in on_writable) or it is time to wait. */
static void count_pump(count_state *st)
{
    cz_error err = {0};
    while (st->next < st->total) {
        if (st->delay_ms == 0 && cz_rpc_call_pending(st->call) >= CZ_RPC_SEND_HIGH_WATER)
            return;
        Msg m = MSG_INIT;
        m.number = st->next;
        m.payload.data = st->payload;
        m.payload.len = (size_t)st->size;
        if (cz_rpc_call_send(st->call, &m.base, &err) < 0) {
            cz_rpc_call_finish(st->call, &err);
            return;
        }
        st->next++;
        if (st->delay_ms > 0 && st->next < st->total) {
            st->timer = cz_loop_add_timer(loop, (uint64_t)st->delay_ms, count_timer, st);
            return;
        }
    }
    cz_rpc_call_finish(st->call, NULL);
}

static void count_timer(cz_loop *l, void *data)
{
    count_state *st = data;
    st->timer = 0;
    count_pump(st);
}

static int count_msg(cz_rpc_call *call, const ProtobufCMessage *req, cz_error *err)
{
    const Msg *m = (const Msg *)req;
    if (cz_rpc_call_data(call))
        return cz_error_set(err, EINVAL, "Count takes one request");
    if (m->size < 0 || m->size > (64 << 20) || m->count < 0)
        return cz_error_set(err, EINVAL, "count %d or size %lld out of range", m->count,
                            (long long)m->size);
    count_state *st = cz_xcalloc(1, sizeof(*st));
    st->call = call;
    st->total = m->count;
    st->size = m->size;
    st->delay_ms = m->delay_ms;
    st->payload = cz_xcalloc(1, (size_t)m->size + 1);
    memset(st->payload, 'x', (size_t)m->size);
    cz_rpc_call_set_data(call, st);
    count_pump(st);
    return 0;
}

static void count_writable(cz_rpc_call *call)
{
    count_state *st = cz_rpc_call_data(call);
    if (st && !st->timer)
        count_pump(st);
}

static void count_close(cz_rpc_call *call, int status, const char *message)
{
    count_state *st = cz_rpc_call_data(call);
    if (st) {
        if (st->timer)
            cz_loop_cancel_timer(loop, st->timer);
        free(st->payload);
        free(st);
    }
    log_close(call, status, message);
}

static const cz_rpc_handler count_handler = {
    .on_message = count_msg, .on_writable = count_writable, .on_close = count_close};

/* ---- Chat: bidirectional echo ---- */

static int chat_msg(cz_rpc_call *call, const ProtobufCMessage *req, cz_error *err)
{
    return cz_rpc_call_send(call, req, err);
}

static int chat_half_close(cz_rpc_call *call, cz_error *err)
{
    cz_rpc_call_finish(call, NULL);
    return 0;
}

static const cz_rpc_handler chat_handler = {
    .on_message = chat_msg, .on_half_close = chat_half_close, .on_close = log_close};

/* ---- main ---- */

static void on_signal(cz_loop *l, int fd, uint32_t events, void *data)
{
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        cz_loop_stop(l);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    cz_rpc_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--max-message") == 0 && i + 1 < argc)
            opts.max_recv_message = opts.max_send_message = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s --listen PATH [--max-message BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: %s --listen PATH [--max-message BYTES]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (getenv("CZ_RPC_DEBUG"))
        cz_log_set_level(CZ_LOG_DEBUG);
    cz_error err = {0};
    loop = cz_loop_new(&err);
    if (!loop) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    cz_rpc_server *server = cz_rpc_server_new(loop, &opts);
    if (sfd < 0 || cz_loop_add_fd(loop, sfd, CZ_LOOP_IN, on_signal, NULL, &err) < 0 ||
        cz_rpc_server_add_unary(server, svc, "Echo", echo, NULL, &err) < 0 ||
        cz_rpc_server_add_unary(server, svc, "Fail", fail, NULL, &err) < 0 ||
        cz_rpc_server_add_unary(server, svc, "Big", big, NULL, &err) < 0 ||
        cz_rpc_server_add_unary(server, svc, "Sleep", sleep_unary, NULL, &err) < 0 ||
        cz_rpc_server_add_method(server, svc, "Sum", &sum_handler, NULL, &err) < 0 ||
        cz_rpc_server_add_method(server, svc, "Count", &count_handler, NULL, &err) < 0 ||
        cz_rpc_server_add_method(server, svc, "Chat", &chat_handler, NULL, &err) < 0 ||
        cz_rpc_server_listen_unix(server, path, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.msg[0] ? err.msg : "signalfd failed");
        return 1;
    }
    fprintf(stderr, "listening on %s\n", path);
    int rc = cz_loop_run(loop, &err) < 0 ? 1 : 0;
    if (rc)
        fprintf(stderr, "Error: %s\n", err.msg);
    cz_rpc_server_free(server);
    close(sfd);
    cz_loop_free(loop);
    return rc;
}
