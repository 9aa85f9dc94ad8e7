/* Drives the test service (tests/proto/rpctest.proto) with the rpc module's
 * client, against any gRPC server on a unix socket (python grpcio in the tests,
 * our own in the benchmarks). Prints one result line; on a non-OK status prints
 * "status=NAME: message" and exits 1.
 *   cz-rpc-testclient SOCKET echo TEXT
 *   cz-rpc-testclient SOCKET sum N [PAYLOAD_BYTES]
 *   cz-rpc-testclient SOCKET count N SIZE [DELAY_MS]
 *   cz-rpc-testclient SOCKET chat N [PAYLOAD_BYTES]
 *   cz-rpc-testclient SOCKET sleep DELAY_MS TIMEOUT_MS
 *   cz-rpc-testclient SOCKET fail ERRNO TEXT
 *   cz-rpc-testclient SOCKET big SIZE [MAX_RECV]
 *   cz-rpc-testclient SOCKET send-big SIZE
 *   cz-rpc-testclient SOCKET slow-count N SIZE    (reads slowly: backpressure)
 *   cz-rpc-testclient SOCKET bench-unary N
 *   cz-rpc-testclient SOCKET bench-stream MIB */
#include <cz/rpc.h>

#include "base/log.h"
#include "base/util.h"
#include "rpctest/rpctest.pb-c.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

typedef Cz__Rpctest__V1__Msg Msg;
#define MSG_INIT CZ__RPCTEST__V1__MSG__INIT
static const ProtobufCServiceDescriptor *svc = &cz__rpctest__v1__test__descriptor;
static cz_loop *loop;
static cz_rpc_client *client;

static int die_status(const cz_error *err)
{
    printf("status=%s: %s\n", cz_rpc_status_name(cz_rpc_status_from_errno(err->code)), err->msg);
    return 1;
}

/* A streaming call's outcome and what it received. */
typedef struct stream_state {
    bool done;
    int status;
    char message[512];
    int64_t messages, bytes, sum;
    int slow_ms; /* pause this long after each message (backpressure test) */
    int64_t max_pending_seen;
} stream_state;

static int st_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    stream_state *st = cz_rpc_call_handler_data(call);
    const Msg *m = (const Msg *)msg;
    st->messages++;
    st->bytes += (int64_t)m->payload.len;
    st->sum += m->number;
    if (st->slow_ms) {
        struct timespec ts = {0, st->slow_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void st_close(cz_rpc_call *call, int status, const char *message)
{
    stream_state *st = cz_rpc_call_handler_data(call);
    st->done = true;
    st->status = status;
    snprintf(st->message, sizeof(st->message), "%s", message);
}

static const cz_rpc_handler stream_handler = {.on_message = st_msg, .on_close = st_close};

static int wait_done(stream_state *st)
{
    cz_error err = {0};
    for (;;) {
        if (st->done)
            break;
        if (cz_loop_run_once(loop, -1, &err) < 0) {
            fprintf(stderr, "Error: %s\n", err.msg);
            return 1;
        }
    }
    if (st->status != CZ_RPC_OK) {
        printf("status=%s: %s\n", cz_rpc_status_name(st->status), st->message);
        return 1;
    }
    return 0;
}

static double now_s(void)
{
    return (double)cz_now_ns() / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOCKET COMMAND [ARGS]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (getenv("CZ_RPC_DEBUG"))
        cz_log_set_level(CZ_LOG_DEBUG);
    const char *cmd = argv[2];
    long a1 = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    long a2 = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
    long a3 = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
    cz_error err = {0};
    loop = cz_loop_new(&err);
    cz_rpc_opts opts = {0};
    if (strcmp(cmd, "big") == 0 && a2 > 0)
        opts.max_recv_message = (size_t)a2;
    client = loop ? cz_rpc_client_connect_unix(loop, argv[1], &opts, &err) : NULL;
    if (!client) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    ProtobufCMessage *reply = NULL;
    Msg req = MSG_INIT;
    stream_state st = {0};

    if (strcmp(cmd, "echo") == 0 && argc > 3) {
        req.text = argv[3];
        req.number = 42;
        if (cz_rpc_client_unary(client, svc, "Echo", &req.base, &reply, 5000, &err) < 0)
            return die_status(&err);
        Msg *r = (Msg *)reply;
        printf("echo %s %lld\n", r->text, (long long)r->number);
    } else if (strcmp(cmd, "sum") == 0) {
        cz_rpc_call *call =
            cz_rpc_client_start(client, svc, "Sum", 10000, &stream_handler, &st, &err);
        if (!call)
            return die_status(&err);
        cz_autofree uint8_t *pl = cz_xcalloc(1, (size_t)a2 + 1);
        for (long i = 1; i <= a1; i++) {
            Msg m = MSG_INIT;
            m.number = i;
            m.payload.data = pl;
            m.payload.len = (size_t)a2;
            if (cz_rpc_call_send(call, &m.base, &err) < 0)
                return die_status(&err);
        }
        cz_rpc_call_close_send(call, &err);
        /* The reply is one message: its number is the sum. */
        if ((rc = wait_done(&st)) != 0)
            return rc;
        printf("sum %lld messages %lld\n", (long long)st.sum, (long long)st.messages);
    } else if (strcmp(cmd, "count") == 0 || strcmp(cmd, "slow-count") == 0) {
        if (strcmp(cmd, "slow-count") == 0)
            st.slow_ms = 20;
        req.count = (int32_t)a1;
        req.size = a2;
        req.delay_ms = (int32_t)a3;
        cz_rpc_call *call =
            cz_rpc_client_start(client, svc, "Count", 60000, &stream_handler, &st, &err);
        if (!call || cz_rpc_call_send(call, &req.base, &err) < 0 ||
            cz_rpc_call_close_send(call, &err) < 0)
            return die_status(&err);
        if ((rc = wait_done(&st)) != 0)
            return rc;
        printf("count %lld messages %lld bytes\n", (long long)st.messages, (long long)st.bytes);
    } else if (strcmp(cmd, "chat") == 0) {
        cz_rpc_call *call =
            cz_rpc_client_start(client, svc, "Chat", 10000, &stream_handler, &st, &err);
        if (!call)
            return die_status(&err);
        cz_autofree uint8_t *pl = cz_xcalloc(1, (size_t)a2 + 1);
        /* Interleave: send one, wait for its echo, so the stream is truly bidirectional. */
        for (long i = 1; i <= a1; i++) {
            Msg m = MSG_INIT;
            m.number = i;
            m.payload.data = pl;
            m.payload.len = (size_t)a2;
            if (cz_rpc_call_send(call, &m.base, &err) < 0)
                return die_status(&err);
            for (int k = 0; k < 10000 && st.messages < i && !st.done; k++)
                cz_loop_run_once(loop, 100, NULL);
            if (st.messages != i) {
                printf("chat: no echo for message %ld\n", i);
                return 1;
            }
        }
        cz_rpc_call_close_send(call, &err);
        if ((rc = wait_done(&st)) != 0)
            return rc;
        printf("chat %lld echoes sum %lld\n", (long long)st.messages, (long long)st.sum);
    } else if (strcmp(cmd, "sleep") == 0) {
        req.delay_ms = (int32_t)a1;
        if (cz_rpc_client_unary(client, svc, "Sleep", &req.base, &reply, a2, &err) < 0)
            return die_status(&err);
        printf("sleep %s\n", ((Msg *)reply)->text);
    } else if (strcmp(cmd, "fail") == 0 && argc > 4) {
        req.fail_errno = (int32_t)a1;
        req.text = argv[4];
        if (cz_rpc_client_unary(client, svc, "Fail", &req.base, &reply, 5000, &err) < 0)
            return die_status(&err);
        printf("fail: unexpected success\n");
        rc = 1;
    } else if (strcmp(cmd, "big") == 0) {
        req.size = a1;
        if (cz_rpc_client_unary(client, svc, "Big", &req.base, &reply, 30000, &err) < 0)
            return die_status(&err);
        printf("big %zu\n", ((Msg *)reply)->payload.len);
    } else if (strcmp(cmd, "send-big") == 0) {
        cz_autofree uint8_t *pl = cz_xcalloc(1, (size_t)a1 + 1);
        req.payload.data = pl;
        req.payload.len = (size_t)a1;
        if (cz_rpc_client_unary(client, svc, "Echo", &req.base, &reply, 30000, &err) < 0)
            return die_status(&err);
        printf("send-big %zu\n", ((Msg *)reply)->payload.len);
    } else if (strcmp(cmd, "bench-unary") == 0) {
        req.text = (char *)"ping";
        double t0 = now_s();
        for (long i = 0; i < a1; i++) {
            if (cz_rpc_client_unary(client, svc, "Echo", &req.base, &reply, 5000, &err) < 0)
                return die_status(&err);
            protobuf_c_message_free_unpacked(reply, NULL);
            reply = NULL;
        }
        double t = now_s() - t0;
        printf("unary %ld calls %.3f s %.1f us/call\n", a1, t, t / (double)a1 * 1e6);
    } else if (strcmp(cmd, "bench-stream") == 0) {
        const int64_t chunk = 64 << 10;
        req.count = (int32_t)(a1 * (1 << 20) / chunk);
        req.size = chunk;
        double t0 = now_s();
        cz_rpc_call *call =
            cz_rpc_client_start(client, svc, "Count", 120000, &stream_handler, &st, &err);
        if (!call || cz_rpc_call_send(call, &req.base, &err) < 0 ||
            cz_rpc_call_close_send(call, &err) < 0)
            return die_status(&err);
        if ((rc = wait_done(&st)) != 0)
            return rc;
        double t = now_s() - t0;
        printf("stream %lld bytes %.3f s %.1f MiB/s\n", (long long)st.bytes, t,
               (double)st.bytes / t / (1 << 20));
    } else {
        fprintf(stderr, "unknown command %s\n", cmd);
        return 2;
    }
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    cz_rpc_client_free(client);
    cz_loop_free(loop);
    return rc;
}
