/* Feeds arbitrary bytes into an rpc server connection, as a client would send
 * them: HTTP/2 framing (nghttp2), gRPC message framing and protobuf decoding into
 * the Agent service's request types, with unary and streaming handlers behind.
 * Half the inputs get a valid client preface first, so that the fuzzer reaches
 * frames quickly. The server must neither crash nor leak, whatever arrives. */
#include <cz/rpc.h>

#include "agent.pb-c.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const ProtobufCServiceDescriptor *agent = &cz__agent__v1__agent__descriptor;

static int stat_handler(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    const Cz__Agent__V1__StatRequest *r = (const Cz__Agent__V1__StatRequest *)req;
    if (r->path[0] != '/')
        return cz_error_set(err, 22, "stat %s: not absolute", r->path);
    Cz__Agent__V1__StatResponse resp = CZ__AGENT__V1__STAT_RESPONSE__INIT;
    resp.link_target = r->path;
    return cz_rpc_call_reply(call, &resp.base, err);
}

/* Bidirectional: echo stdin bytes back as stdout; finish on half-close. */
static int stdio_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    const Cz__Agent__V1__StdioRequest *r = (const Cz__Agent__V1__StdioRequest *)msg;
    Cz__Agent__V1__StdioResponse out = CZ__AGENT__V1__STDIO_RESPONSE__INIT;
    out.stream = CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDOUT;
    out.data = r->data;
    if (r->close_stdin)
        cz_rpc_call_pause(call);
    return cz_rpc_call_send(call, &out.base, err);
}

static int stdio_half_close(cz_rpc_call *call, cz_error *err)
{
    cz_rpc_call_finish(call, NULL);
    return 0;
}

static const cz_rpc_handler stdio_handler = {.on_message = stdio_msg,
                                             .on_half_close = stdio_half_close};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (size > 200000)
        return 0;
    cz_error err = {0};
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    int sz = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    cz_loop *loop = cz_loop_new(&err);
    cz_rpc_opts opts = {.max_recv_message = 4096, .max_send_message = 4096};
    cz_rpc_server *server = cz_rpc_server_new(loop, &opts);
    cz_rpc_server_add_unary(server, agent, "Stat", stat_handler, NULL, &err);
    cz_rpc_server_add_method(server, agent, "Stdio", &stdio_handler, NULL, &err);
    cz_rpc_server_add_connection(server, sv[0], &err);

    size_t off = 0;
    bool with_preface = size > 0 && (data[0] & 1);
    if (with_preface && write(sv[1], preface, strlen(preface)) < 0)
        off = size;
    if (with_preface)
        off = 1;
    char sink[65536];
    for (int round = 0; round < 200; round++) {
        if (off < size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
        }
        while (read(sv[1], sink, sizeof(sink)) > 0) {
        }
        cz_loop_run_once(loop, 0, &err);
        if (off >= size && cz_rpc_server_connection_count(server) == 0)
            break;
        if (off >= size && round > 20)
            break;
    }
    close(sv[1]); /* the client hangs up: every open call is cancelled */
    for (int i = 0; i < 5; i++)
        cz_loop_run_once(loop, 0, &err);
    cz_rpc_server_free(server);
    cz_loop_free(loop);
    return 0;
}
