/* gRPC over HTTP/2: connections, calls, server and client on one code path.
 * A connection is an nghttp2 session over a non-blocking fd in a cz_loop; each
 * HTTP/2 stream is a cz_rpc_call carrying length-prefixed protobuf messages.
 *
 * Rules that keep the callbacks re-entrant-safe:
 * - calls are freed only from nghttp2's stream-close callback or when their
 *   connection is destroyed, and connections are destroyed only from a loop timer
 *   (never inside an API call or an nghttp2 callback);
 * - writes happen after nghttp2_session_mem_recv returns or from a zero-delay
 *   timer, never from inside an API call.
 * Flow control is manual (no automatic WINDOW_UPDATE): received bytes are
 * consumed once delivered (or while a message is still incomplete), so a paused
 * call stops its sender; queued output drains only as the peer's windows and the
 * socket allow, and the queue length is visible to producers. */
#include <cz/rpc.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <zlib.h>

#define OUT_BATCH (256u << 10)
#define READ_CHUNK (256u << 10)
/* DATA frames are written straight from the queued messages (NO_COPY), so a frame
 * may carry a whole large message: no per-frame buffer holds its bytes. */
#define MAX_DATA_FRAME ((1u << 20) + 64)
#define FRAME_HEAD 9 /* HTTP/2 frame header */
#define GRPC_PREFIX 5
/* Output pieces smaller than this are copied into the connection's byte buffer
 * (merged with their neighbours); larger ones are written from the message itself.
 * A virtio-serial port turns each piece of a writev into its own buffer and kick. */
#define SMALL_PIECE (4u << 10)
#define MAX_IOV 64

/* One queued message: a gRPC-framed message at msg (len bytes, off of them handed
 * to the output), with at least FRAME_HEAD bytes of headroom before msg, so a DATA
 * frame that starts with the message gets its header written in place. Shared by
 * a call's queue and the connection's output pieces (refs). */
typedef struct chunk {
    struct chunk *next;
    unsigned refs;
    uint8_t *msg;
    size_t len, off;
    size_t cap;  /* bytes available from msg (reservations) */
    size_t size; /* bytes allocated after the headroom */
    bool reuse;  /* a reservation's buffer: kept as the connection's spare */
    uint8_t mem[];
} chunk;

/* A piece of output: bytes of a chunk, or (k NULL) of the connection's byte buffer. */
typedef struct out_piece {
    chunk *k;
    size_t off, len;
} out_piece;

typedef struct method {
    struct method *next;
    char *path;
    const ProtobufCMethodDescriptor *desc;
    const cz_rpc_handler *handler;
    cz_rpc_unary_fn unary;
    void *data;
} method;

typedef struct conn conn;

struct cz_rpc_call {
    conn *conn;
    int32_t stream_id;
    cz_rpc_call *prev, *next;
    const cz_rpc_handler *handler;
    void *handler_data;
    void *data;
    const ProtobufCMessageDescriptor *in_desc;  /* messages we receive */
    const ProtobufCMessageDescriptor *out_desc; /* messages we send */
    method *method;                             /* server */
    char *path;

    /* receiving */
    cz_buf rbuf;
    size_t rpos;
    size_t unconsumed;
    bool paused, remote_closed, half_close_delivered, headers_done;

    /* sending */
    chunk *q_head, *q_tail;
    chunk *reserved; /* cz_rpc_call_send_reserve: not queued yet */
    size_t q_bytes;
    bool data_deferred, headers_sent, above_high, notify_writable, reserves;
    bool finished;      /* server: status decided; client: half-closed */
    bool trailers_sent; /* server: END_STREAM went out */
    bool done;          /* on_close delivered (or about to be) */

    /* status */
    int status;
    char *message;
    int http_status;       /* server: what we answer; client: what we got */
    bool have_grpc_status; /* client */
    bool local_status;     /* client: status decided locally (deadline, cancel) */

    /* request headers (server) */
    char *h_method, *h_ctype, *h_timeout;
    char *encoding; /* grpc-encoding of the messages we receive */

    uint64_t deadline_ns;
    uint64_t deadline_timer;

    /* blocking unary client: the reply is handed over instead of freed */
    ProtobufCMessage **take_reply;
    /* unary server method: the request waits for the half-close */
    ProtobufCMessage *held_request;
    void (*close_hook)(cz_rpc_call *call, int status, const char *message);
};

struct conn {
    cz_loop *loop;
    int fd;
    bool is_server;
    bool dead;
    bool watch_out;
    cz_rpc_server *server;
    cz_rpc_client *client;
    conn *next; /* server's list */
    nghttp2_session *session;
    cz_rpc_call *calls;
    uint8_t *out; /* small output bytes, referenced by pieces */
    size_t out_len, out_cap;
    out_piece *pieces; /* what to write, in order */
    size_t n_pieces, pieces_head, pieces_cap;
    size_t out_pending; /* bytes in pieces not written yet */
    /* The last written reservation buffer, reused by the next reservation: a
     * stream of large messages does not map and fault in fresh memory for each.
     * Kept only while a call that reserved is open. */
    chunk *spare;
    unsigned reserving_calls;
    uint64_t flush_timer, destroy_timer;
    size_t buffered; /* bytes held in calls' receive buffers */
    cz_rpc_opts opts;
};

struct cz_rpc_server {
    cz_loop *loop;
    cz_rpc_opts opts;
    method *methods;
    conn *conns;
    int listen_fd;
    char *listen_path;
    void (*on_disconnect)(cz_rpc_server *server, void *data);
    void *on_disconnect_data;
};

struct cz_rpc_client {
    conn *conn;
    void (*on_disconnect)(cz_rpc_client *client, void *data);
    void *on_disconnect_data;
};

static void conn_fail(conn *c);
static void conn_schedule_flush(conn *c);
static void call_pump(cz_rpc_call *call);
static void call_end_local(cz_rpc_call *call, int status, const char *message);

/* ------------------------------------------------------------ helpers */

/* A client's default receive window is larger: it is the host end of the guest's
 * bulk streams (stdout, CopyOut), and with one vCPU under emulation every pause
 * for a WINDOW_UPDATE is a round trip through the VM (bench/agent.sh). */
#define CLIENT_STREAM_WINDOW (4u << 20)

static void fill_opts(cz_rpc_opts *out, const cz_rpc_opts *in, bool is_client)
{
    if (in)
        *out = *in;
    else
        memset(out, 0, sizeof(*out));
    if (!out->max_recv_message)
        out->max_recv_message = CZ_RPC_DEFAULT_MAX_MESSAGE;
    if (!out->max_send_message)
        out->max_send_message = CZ_RPC_DEFAULT_MAX_MESSAGE;
    if (!out->stream_window)
        out->stream_window = is_client ? CLIENT_STREAM_WINDOW : 1u << 20;
    if (out->stream_window > (1u << 30))
        out->stream_window = 1u << 30;
    if (!out->max_concurrent_streams)
        out->max_concurrent_streams = 1024;
}

static size_t conn_buffer_limit(const conn *c)
{
    return CZ_MAX(c->opts.max_recv_message * 4, (size_t)64 << 20);
}

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                 \
    }

static chunk *chunk_new(size_t cap)
{
    chunk *k = cz_xmalloc(sizeof(*k) + FRAME_HEAD + cap);
    k->next = NULL;
    k->refs = 1;
    k->msg = k->mem + FRAME_HEAD;
    k->len = k->off = 0;
    k->cap = k->size = cap;
    k->reuse = false;
    return k;
}

static void chunk_unref(conn *c, chunk *k)
{
    if (!k || --k->refs > 0)
        return;
    if (k->reuse && !c->spare && c->reserving_calls > 0 && !c->dead) {
        k->refs = 1;
        k->msg = k->mem + FRAME_HEAD;
        k->cap = k->size;
        c->spare = k;
        return;
    }
    free(k);
}

static void call_free(cz_rpc_call *call)
{
    conn *c = call->conn;
    if (call->deadline_timer)
        cz_loop_cancel_timer(c->loop, call->deadline_timer);
    for (chunk *k = call->q_head, *n; k; k = n) {
        n = k->next;
        chunk_unref(c, k);
    }
    chunk_unref(c, call->reserved);
    if (call->reserves && --c->reserving_calls == 0) {
        free(c->spare);
        c->spare = NULL;
    }
    c->buffered -= CZ_MIN(c->buffered, call->rbuf.len);
    cz_buf_free(&call->rbuf);
    free(call->path);
    free(call->message);
    free(call->h_method);
    free(call->h_ctype);
    free(call->h_timeout);
    free(call->encoding);
    if (call->held_request)
        protobuf_c_message_free_unpacked(call->held_request, NULL);
    free(call);
}

static void call_unlink(cz_rpc_call *call)
{
    conn *c = call->conn;
    if (call->prev)
        call->prev->next = call->next;
    else if (c->calls == call)
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

static void call_link(conn *c, cz_rpc_call *call)
{
    call->conn = c;
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
}

/* Deliver on_close exactly once, then free. */
static void call_close(cz_rpc_call *call, int status, const char *message)
{
    call_unlink(call);
    if (call->unconsumed && !call->conn->dead)
        nghttp2_session_consume_connection(call->conn->session, call->unconsumed);
    if (!call->done) {
        call->done = true;
        if (call->close_hook)
            call->close_hook(call, status, message ? message : "");
        if (call->handler && call->handler->on_close)
            call->handler->on_close(call, status, message ? message : "");
    }
    call_free(call);
}

static void set_status(cz_rpc_call *call, int status, const char *message)
{
    call->status = status;
    free(call->message);
    call->message = cz_xstrdup(message ? message : "");
}

/* ------------------------------------------------------------ server finish */

void cz_rpc_call_finish_status(cz_rpc_call *call, int status, const char *message)
{
    conn *c = call->conn;
    if (!c->is_server || call->finished || call->done || c->dead)
        return;
    call->finished = true;
    set_status(call, status, message);
    if (call->deadline_timer) {
        cz_loop_cancel_timer(c->loop, call->deadline_timer);
        call->deadline_timer = 0;
    }
    if (!call->headers_sent) {
        /* Trailers-Only: one HEADERS frame with END_STREAM. */
        char code[16], http[8];
        snprintf(code, sizeof(code), "%d", status);
        snprintf(http, sizeof(http), "%d", call->http_status ? call->http_status : 200);
        cz_autofree char *enc = cz_rpc_percent_encode(call->message);
        nghttp2_nv nva[] = {
            NV(":status", http),
            NV("content-type", "application/grpc"),
            NV("grpc-status", code),
            NV("grpc-message", enc),
        };
        size_t n = CZ_ARRAY_SIZE(nva) - (enc[0] ? 0 : 1);
        call->headers_sent = true;
        if (nghttp2_submit_response(c->session, call->stream_id, nva, n, NULL) != 0)
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id,
                                      NGHTTP2_INTERNAL_ERROR);
    } else if (call->data_deferred) {
        call->data_deferred = false;
        nghttp2_session_resume_data(c->session, call->stream_id);
    }
    conn_schedule_flush(c);
}

/* The one place where a cz_error becomes a gRPC status. */
void cz_rpc_call_finish(cz_rpc_call *call, const cz_error *err)
{
    if (!err) {
        cz_rpc_call_finish_status(call, CZ_RPC_OK, "");
        return;
    }
    cz_rpc_call_finish_status(call, cz_rpc_status_from_errno(err->code),
                              err->msg[0] ? err->msg : "failed");
}

/* End a call because of what we received or a local decision: the server sends
 * the status; the client cancels the stream and reports the status itself. */
static void call_end_local(cz_rpc_call *call, int status, const char *message)
{
    conn *c = call->conn;
    if (c->is_server) {
        cz_rpc_call_finish_status(call, status, message);
        return;
    }
    if (call->done || call->local_status)
        return;
    call->local_status = true;
    set_status(call, status, message);
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
    conn_schedule_flush(c);
}

/* A callback failed: the server sends the status (through the one mapping in
 * cz_rpc_call_finish); the client cancels the call and reports it locally. */
static void call_end_error(cz_rpc_call *call, const cz_error *err)
{
    if (call->conn->is_server)
        cz_rpc_call_finish(call, err);
    else
        call_end_local(call, cz_rpc_status_from_errno(err->code),
                       err->msg[0] ? err->msg : "failed");
}

static bool call_over(const cz_rpc_call *call)
{
    return call->done || call->conn->dead ||
           (call->conn->is_server ? call->finished : call->local_status);
}

/* ------------------------------------------------------------ sending */

/* How much of the queue the next DATA frame carries; the bytes themselves go out
 * in send_data_cb (NGHTTP2_DATA_FLAG_NO_COPY), written from the queued messages. */
static ssize_t data_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data)
{
    cz_rpc_call *call = source->ptr;
    size_t n = CZ_MIN(length, call->q_bytes);
    if (n > 0)
        *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == call->q_bytes) {
        if (call->conn->is_server && call->finished) {
            char code[16];
            snprintf(code, sizeof(code), "%d", call->status);
            cz_autofree char *enc = cz_rpc_percent_encode(call->message ? call->message : "");
            nghttp2_nv nva[] = {NV("grpc-status", code), NV("grpc-message", enc)};
            *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (nghttp2_submit_trailer(session, stream_id, nva, enc[0] ? 2 : 1) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        } else if (!call->conn->is_server && call->finished) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        } else if (n == 0) {
            call->data_deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    return (ssize_t)n;
}

/* Append output: small pieces are copied into c->out (merged with the previous
 * piece when that one ends there), large ones reference the chunk. */
static void out_push(conn *c, chunk *k, const uint8_t *p, size_t len)
{
    if (len == 0)
        return;
    c->out_pending += len;
    out_piece *last = c->n_pieces > c->pieces_head ? &c->pieces[c->n_pieces - 1] : NULL;
    if (!k || len < SMALL_PIECE) {
        if (c->out_len + len > c->out_cap) {
            c->out_cap = CZ_MAX(CZ_MAX(c->out_cap * 2, c->out_len + len), (size_t)16384);
            c->out = cz_xrealloc(c->out, c->out_cap);
        }
        memcpy(c->out + c->out_len, p, len);
        if (last && !last->k && last->off + last->len == c->out_len) {
            last->len += len;
            c->out_len += len;
            return;
        }
        k = NULL;
        p = c->out + c->out_len;
        c->out_len += len;
    } else {
        k->refs++;
    }
    if (c->n_pieces == c->pieces_cap) {
        c->pieces_cap = CZ_MAX(c->pieces_cap * 2, (size_t)16);
        c->pieces = cz_xrealloc(c->pieces, c->pieces_cap * sizeof(*c->pieces));
    }
    c->pieces[c->n_pieces++] =
        (out_piece){.k = k, .off = (size_t)(p - (k ? k->mem : c->out)), .len = len};
}

/* A DATA frame whose payload is the next `length` queued bytes: its header and
 * payload become output pieces, without copying the payload. */
static int send_data_cb(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *source, void *user_data)
{
    conn *c = user_data;
    cz_rpc_call *call = source->ptr;
    bool head_out = false;
    for (size_t left = length; left > 0;) {
        chunk *k = call->q_head;
        size_t take = CZ_MIN(left, k->len - k->off);
        if (!head_out && k->off == 0) {
            /* The frame starts with a message: its header goes into the headroom,
             * and header and payload are one contiguous piece. */
            memcpy(k->msg - FRAME_HEAD, framehd, FRAME_HEAD);
            out_push(c, k, k->msg - FRAME_HEAD, FRAME_HEAD + take);
        } else {
            if (!head_out)
                out_push(c, NULL, framehd, FRAME_HEAD);
            out_push(c, k, k->msg + k->off, take);
        }
        head_out = true;
        k->off += take;
        left -= take;
        if (k->off == k->len) {
            call->q_head = k->next;
            chunk_unref(c, k);
        }
    }
    if (!head_out)
        out_push(c, NULL, framehd, FRAME_HEAD);
    if (!call->q_head)
        call->q_tail = NULL;
    call->q_bytes -= length;
    if (call->above_high && call->q_bytes < CZ_RPC_SEND_HIGH_WATER / 2) {
        call->above_high = false;
        call->notify_writable = true;
    }
    (void)session;
    (void)frame;
    return 0;
}

static int submit_response_headers(cz_rpc_call *call)
{
    nghttp2_nv nva[] = {
        NV(":status", "200"),
        NV("content-type", "application/grpc"),
        NV("grpc-accept-encoding", "identity,gzip"),
    };
    nghttp2_data_provider prd = {.source.ptr = call, .read_callback = data_read_cb};
    call->headers_sent = true;
    return nghttp2_submit_response(call->conn->session, call->stream_id, nva, CZ_ARRAY_SIZE(nva),
                                   &prd);
}

static int check_can_send(cz_rpc_call *call, cz_error *err)
{
    if (call_over(call) || (!call->conn->is_server && call->finished))
        return cz_error_set(err, ECANCELED, "send on %s: the call is over", call->path);
    return 0;
}

static int check_send_size(cz_rpc_call *call, size_t size, cz_error *err)
{
    if (size > call->conn->opts.max_send_message)
        return cz_error_set(err, E2BIG,
                            "send on %s: message of %zu bytes exceeds the limit of %zu bytes",
                            call->path, size, call->conn->opts.max_send_message);
    return 0;
}

/* Queue a chunk whose msg holds the gRPC prefix and `size` packed bytes. */
static int queue_message(cz_rpc_call *call, chunk *k, size_t size, cz_error *err)
{
    conn *c = call->conn;
    cz_rpc_frame_header(k->msg, (uint32_t)size);
    k->len = GRPC_PREFIX + size;
    k->off = 0;
    k->next = NULL;
    if (call->q_tail)
        call->q_tail->next = k;
    else
        call->q_head = k;
    call->q_tail = k;
    call->q_bytes += k->len;
    if (call->q_bytes >= CZ_RPC_SEND_HIGH_WATER)
        call->above_high = true;
    if (c->is_server && !call->headers_sent) {
        if (submit_response_headers(call) != 0)
            return cz_error_set(err, EPROTO, "send on %s: cannot submit response", call->path);
    } else if (call->data_deferred) {
        call->data_deferred = false;
        nghttp2_session_resume_data(c->session, call->stream_id);
    }
    conn_schedule_flush(c);
    return 0;
}

int cz_rpc_call_send(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    if (check_can_send(call, err) < 0)
        return -1;
    if (msg->descriptor != call->out_desc)
        return cz_error_set(err, EINVAL, "send on %s: message is a %s, expected %s", call->path,
                            msg->descriptor->name, call->out_desc->name);
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (check_send_size(call, size, err) < 0)
        return -1;
    chunk *k = chunk_new(GRPC_PREFIX + size);
    protobuf_c_message_pack(msg, k->msg + GRPC_PREFIX);
    return queue_message(call, k, size, err);
}

uint8_t *cz_rpc_call_send_reserve(cz_rpc_call *call, size_t cap, cz_error *err)
{
    if (check_can_send(call, err) < 0 || check_send_size(call, cap, err) < 0)
        return NULL;
    size_t need = GRPC_PREFIX + CZ_RPC_RESERVE_LEAD + cap;
    conn *c = call->conn;
    if (call->reserved && call->reserved->cap < need) {
        chunk_unref(c, call->reserved);
        call->reserved = NULL;
    }
    if (!call->reserved && c->spare && c->spare->cap >= need) {
        call->reserved = c->spare;
        c->spare = NULL;
    }
    if (!call->reserved) {
        call->reserved = chunk_new(need);
        call->reserved->reuse = true;
    }
    if (!call->reserves) {
        call->reserves = true;
        c->reserving_calls++;
    }
    return call->reserved->msg + GRPC_PREFIX + CZ_RPC_RESERVE_LEAD;
}

int cz_rpc_call_send_reserved(cz_rpc_call *call, size_t lead, size_t len, cz_error *err)
{
    chunk *k = call->reserved;
    if (!k || lead > CZ_RPC_RESERVE_LEAD || len > k->cap - GRPC_PREFIX - CZ_RPC_RESERVE_LEAD)
        return cz_error_set(err, EINVAL, "send on %s: no reservation for %zu + %zu bytes",
                            call->path, lead, len);
    if (check_can_send(call, err) < 0 || check_send_size(call, lead + len, err) < 0)
        return -1;
    call->reserved = NULL;
    /* The message starts `lead` bytes before the payload; the prefix before it. */
    k->msg += CZ_RPC_RESERVE_LEAD - lead;
    k->cap -= CZ_RPC_RESERVE_LEAD - lead;
    return queue_message(call, k, lead + len, err);
}

int cz_rpc_call_reply(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    if (cz_rpc_call_send(call, msg, err) < 0)
        return -1;
    cz_rpc_call_finish_status(call, CZ_RPC_OK, "");
    return 0;
}

int cz_rpc_call_reply_empty(cz_rpc_call *call, cz_error *err)
{
    if (!call->out_desc)
        return cz_error_set(err, EINVAL, "reply on %s: no method", cz_rpc_call_path(call));
    cz_autofree ProtobufCMessage *msg = cz_xcalloc(1, call->out_desc->sizeof_message);
    protobuf_c_message_init(call->out_desc, msg);
    return cz_rpc_call_reply(call, msg, err);
}

size_t cz_rpc_call_pending(const cz_rpc_call *call)
{
    return call->q_bytes;
}

int cz_rpc_call_close_send(cz_rpc_call *call, cz_error *err)
{
    conn *c = call->conn;
    if (c->is_server)
        return cz_error_set(err, EINVAL, "close_send on %s: only a client half-closes", call->path);
    if (call_over(call))
        return cz_error_set(err, ECANCELED, "close_send on %s: the call is over", call->path);
    if (call->finished)
        return 0;
    call->finished = true;
    if (call->data_deferred) {
        call->data_deferred = false;
        nghttp2_session_resume_data(c->session, call->stream_id);
    }
    conn_schedule_flush(c);
    return 0;
}

void cz_rpc_call_cancel(cz_rpc_call *call)
{
    conn *c = call->conn;
    if (call->done || c->dead)
        return;
    if (c->is_server) {
        if (!call->finished) {
            call->finished = true;
            set_status(call, CZ_RPC_CANCELLED, "cancelled by the server");
        }
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
        conn_schedule_flush(c);
    } else {
        call_end_local(call, CZ_RPC_CANCELLED, "cancelled by the client");
    }
}

void cz_rpc_call_pause(cz_rpc_call *call)
{
    call->paused = true;
}

void cz_rpc_call_resume(cz_rpc_call *call)
{
    if (!call->paused)
        return;
    call->paused = false;
    if (!call_over(call))
        call_pump(call);
}

void cz_rpc_call_set_close_hook(cz_rpc_call *call,
                                void (*fn)(cz_rpc_call *call, int status, const char *message))
{
    call->close_hook = fn;
}

void cz_rpc_call_set_data(cz_rpc_call *call, void *data)
{
    call->data = data;
}
void *cz_rpc_call_data(const cz_rpc_call *call)
{
    return call->data;
}
void *cz_rpc_call_handler_data(const cz_rpc_call *call)
{
    return call->handler_data;
}
const char *cz_rpc_call_path(const cz_rpc_call *call)
{
    return call->path ? call->path : "";
}
int64_t cz_rpc_call_remaining_ms(const cz_rpc_call *call)
{
    if (!call->deadline_ns)
        return -1;
    uint64_t now = cz_now_ns();
    return call->deadline_ns > now ? (int64_t)((call->deadline_ns - now) / 1000000) : 0;
}
bool cz_rpc_call_is_done(const cz_rpc_call *call)
{
    return call_over(call);
}

/* ------------------------------------------------------------ receiving */

static const cz_rpc_handler unary_adapter;

static void call_deliver(cz_rpc_call *call, ProtobufCMessage *msg)
{
    if (call->handler == &unary_adapter) {
        /* Unary: the handler runs at the half-close, so a second request is an error. */
        if (call->held_request) {
            protobuf_c_message_free_unpacked(msg, NULL);
            cz_rpc_call_finish_status(call, CZ_RPC_INTERNAL,
                                      "more than one request message for a unary method");
            return;
        }
        call->held_request = msg;
        return;
    }
    if (call->take_reply) {
        if (*call->take_reply)
            protobuf_c_message_free_unpacked(*call->take_reply, NULL);
        *call->take_reply = msg;
        return;
    }
    cz_error err = {0};
    int rc = 0;
    if (call->handler && call->handler->on_message)
        rc = call->handler->on_message(call, msg, &err);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc < 0)
        call_end_error(call, &err);
}

/* Inflate a gzip message, never beyond max bytes: 0, or -1 for invalid data,
 * -2 for too large (a small message may inflate to gigabytes). */
static int gunzip_bounded(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *outlen)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -1;
    size_t cap = CZ_MIN(CZ_MAX(len * 4, (size_t)4096), max + 1);
    uint8_t *buf = cz_xmalloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    size_t used = 0;
    int rc = 0, zr;
    for (;;) {
        if (used == cap) {
            if (cap > max) {
                rc = -2;
                break;
            }
            cap = CZ_MIN(cap * 2, max + 1);
            buf = cz_xrealloc(buf, cap);
        }
        z.next_out = buf + used;
        z.avail_out = (uInt)(cap - used);
        zr = inflate(&z, Z_NO_FLUSH);
        used = cap - z.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0)) {
            rc = -1;
            break;
        }
    }
    inflateEnd(&z);
    if (rc == 0 && (used > max || z.avail_in != 0))
        rc = used > max ? -2 : -1;
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = used;
    return 0;
}

/* Parse and deliver complete messages; consume flow-control window for what was
 * taken; deliver the half-close once everything before it was delivered. */
static void call_pump(cz_rpc_call *call)
{
    conn *c = call->conn;
    char msgbuf[256];
    while (!call->paused && !call_over(call)) {
        size_t avail = call->rbuf.len - call->rpos;
        if (avail < 5)
            break;
        const uint8_t *p = (const uint8_t *)call->rbuf.data + call->rpos;
        uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        if (p[0] > 1) {
            snprintf(msgbuf, sizeof(msgbuf), "invalid message compression flag %u", p[0]);
            call_end_local(call, CZ_RPC_INTERNAL, msgbuf);
            break;
        }
        if (p[0] == 1 && (!call->encoding || strcmp(call->encoding, "gzip") != 0)) {
            snprintf(msgbuf, sizeof(msgbuf),
                     "message compressed with '%.64s', which is not supported (identity, gzip)",
                     call->encoding ? call->encoding : "");
            call_end_local(call, CZ_RPC_UNIMPLEMENTED, msgbuf);
            break;
        }
        if (len > c->opts.max_recv_message) {
            snprintf(msgbuf, sizeof(msgbuf), "received message larger than max (%u vs. %zu)", len,
                     c->opts.max_recv_message);
            call_end_local(call, CZ_RPC_RESOURCE_EXHAUSTED, msgbuf);
            break;
        }
        if (avail < 5 + (size_t)len)
            break;
        cz_autofree uint8_t *inflated = NULL;
        const uint8_t *body = p + 5;
        size_t body_len = len;
        if (p[0] == 1) {
            int zr = gunzip_bounded(p + 5, len, c->opts.max_recv_message, &inflated, &body_len);
            if (zr < 0) {
                call->rpos += 5 + (size_t)len;
                if (zr == -2)
                    snprintf(msgbuf, sizeof(msgbuf),
                             "decompressed message larger than max (%zu bytes)",
                             c->opts.max_recv_message);
                else
                    snprintf(msgbuf, sizeof(msgbuf), "invalid gzip data in a message of %s",
                             call->path);
                call_end_local(call, zr == -2 ? CZ_RPC_RESOURCE_EXHAUSTED : CZ_RPC_INTERNAL,
                               msgbuf);
                break;
            }
            body = inflated;
            cz_debug("rpc: %s: inflated a gzip message of %u bytes to %zu", call->path, len,
                     body_len);
        }
        ProtobufCMessage *msg = protobuf_c_message_unpack(call->in_desc, NULL, body_len, body);
        call->rpos += 5 + (size_t)len;
        if (!msg) {
            snprintf(msgbuf, sizeof(msgbuf), "cannot decode message of %s: invalid %s", call->path,
                     call->in_desc->name);
            call_end_local(call, c->is_server ? CZ_RPC_INVALID_ARGUMENT : CZ_RPC_INTERNAL, msgbuf);
            break;
        }
        call_deliver(call, msg);
    }
    if (call->rpos > 0) {
        size_t rest = call->rbuf.len - call->rpos;
        memmove(call->rbuf.data, call->rbuf.data + call->rpos, rest);
        c->buffered -= CZ_MIN(c->buffered, call->rpos);
        call->rbuf.len = rest;
        call->rpos = 0;
    }
    if (call_over(call)) {
        /* Nothing more will be delivered: drop what is buffered. */
        c->buffered -= CZ_MIN(c->buffered, call->rbuf.len);
        call->rbuf.len = 0;
    }
    if (!call->paused && call->unconsumed && !c->dead) {
        nghttp2_session_consume(c->session, call->stream_id, call->unconsumed);
        call->unconsumed = 0;
        conn_schedule_flush(c);
    }
    if (!call->paused && !call_over(call) && call->remote_closed && !call->half_close_delivered) {
        if (call->rbuf.len > 0) {
            call_end_local(call, CZ_RPC_INTERNAL, "stream ended inside a message");
            return;
        }
        call->half_close_delivered = true;
        if (c->is_server && call->handler && call->handler->on_half_close) {
            cz_error err = {0};
            if (call->handler->on_half_close(call, &err) < 0)
                call_end_error(call, &err);
        }
    }
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *user_data)
{
    conn *c = user_data;
    cz_rpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call || call_over(call)) {
        nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    if (c->buffered + len > conn_buffer_limit(c)) {
        nghttp2_session_consume(session, stream_id, len);
        call_end_local(call, CZ_RPC_RESOURCE_EXHAUSTED,
                       "too much unprocessed data buffered on this connection");
        return 0;
    }
    cz_buf_append(&call->rbuf, data, len);
    c->buffered += len;
    call->unconsumed += len;
    call_pump(call);
    return 0;
}

/* ------------------------------------------------------------ headers */

static void deadline_cb(cz_loop *loop, void *data)
{
    cz_rpc_call *call = data;
    call->deadline_timer = 0;
    if (!call_over(call))
        call_end_local(call, CZ_RPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

static void set_deadline(cz_rpc_call *call, uint64_t ns)
{
    call->deadline_ns = cz_now_ns() + ns;
    call->deadline_timer =
        cz_loop_add_timer(call->conn->loop, (ns + 999999) / 1000000, deadline_cb, call);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (!c->is_server || frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    cz_rpc_call *call = cz_xcalloc(1, sizeof(*call));
    call->stream_id = frame->hd.stream_id;
    call_link(c, call);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

static void set_str(char **dst, const uint8_t *v, size_t len)
{
    free(*dst);
    *dst = cz_xstrndup((const char *)v, len);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    conn *c = user_data;
    cz_rpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
#define IS(s) (namelen == strlen(s) && memcmp(name, s, namelen) == 0)
    if (c->is_server) {
        if (call->headers_done)
            return 0; /* client trailers carry nothing we use */
        if (IS(":path"))
            set_str(&call->path, value, valuelen);
        else if (IS(":method"))
            set_str(&call->h_method, value, valuelen);
        else if (IS("content-type"))
            set_str(&call->h_ctype, value, valuelen);
        else if (IS("grpc-timeout"))
            set_str(&call->h_timeout, value, valuelen);
        else if (IS("grpc-encoding"))
            set_str(&call->encoding, value, valuelen);
    } else {
        if (IS(":status")) {
            int s = 0;
            for (size_t i = 0; i < valuelen && i < 3 && value[i] >= '0' && value[i] <= '9'; i++)
                s = s * 10 + (value[i] - '0');
            call->http_status = s;
        } else if (IS("grpc-status")) {
            int s = 0;
            for (size_t i = 0; i < valuelen && i < 4 && value[i] >= '0' && value[i] <= '9'; i++)
                s = s * 10 + (value[i] - '0');
            if (!call->local_status) {
                call->have_grpc_status = true;
                call->status = s;
            }
        } else if (IS("grpc-encoding")) {
            set_str(&call->encoding, value, valuelen);
        } else if (IS("grpc-message")) {
            if (!call->local_status) {
                free(call->message);
                call->message = cz_rpc_percent_decode((const char *)value, valuelen);
            }
        }
    }
#undef IS
    return 0;
}

static method *find_method(cz_rpc_server *s, const char *path)
{
    for (method *m = s->methods; m; m = m->next)
        if (strcmp(m->path, path) == 0)
            return m;
    return NULL;
}

static void server_dispatch(conn *c, cz_rpc_call *call)
{
    call->headers_done = true;
    call->http_status = 200;
    if (!call->path)
        call->path = cz_xstrdup("");
    if (!call->h_method || strcmp(call->h_method, "POST") != 0) {
        call->http_status = 405;
        cz_rpc_call_finish_status(call, CZ_RPC_INTERNAL, "gRPC requires the POST method");
        return;
    }
    if (!call->h_ctype || !cz_str_has_prefix(call->h_ctype, "application/grpc")) {
        call->http_status = 415;
        cz_rpc_call_finish_status(call, CZ_RPC_INTERNAL, "content-type must be application/grpc");
        return;
    }
    method *m = find_method(c->server, call->path);
    if (!m) {
        char buf[512];
        snprintf(buf, sizeof(buf), "unknown method %.400s", call->path);
        cz_rpc_call_finish_status(call, CZ_RPC_UNIMPLEMENTED, buf);
        return;
    }
    call->method = m;
    call->in_desc = m->desc->input;
    call->out_desc = m->desc->output;
    call->handler = m->handler ? m->handler : &unary_adapter;
    call->handler_data = m->data;
    if (call->h_timeout) {
        uint64_t ns;
        if (cz_rpc_timeout_parse(call->h_timeout, &ns) < 0) {
            cz_rpc_call_finish_status(call, CZ_RPC_INVALID_ARGUMENT, "invalid grpc-timeout");
            return;
        }
        set_deadline(call, ns);
    }
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    cz_rpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    if (c->is_server && frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        server_dispatch(c, call);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        call->remote_closed = true;
        call_pump(call);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (!c->is_server || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    cz_rpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    call->trailers_sent = true;
    /* The status is out: a client still sending is told to stop. */
    if (!call->remote_closed)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
    return 0;
}

static int http_to_grpc_status(int http)
{
    switch (http) {
    case 400:
        return CZ_RPC_INTERNAL;
    case 401:
        return CZ_RPC_UNAUTHENTICATED;
    case 403:
        return CZ_RPC_PERMISSION_DENIED;
    case 404:
        return CZ_RPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return CZ_RPC_UNAVAILABLE;
    default:
        return CZ_RPC_UNKNOWN;
    }
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    conn *c = user_data;
    cz_rpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    if (c->is_server) {
        if (call->trailers_sent)
            call_close(call, call->status, call->message);
        else
            call_close(call, CZ_RPC_CANCELLED, "the client cancelled the call");
        return 0;
    }
    char buf[160];
    /* Messages that arrived before the end of the stream but wait behind a pause
     * would die with the call: deliver them first (at most a stream window). */
    for (size_t left = SIZE_MAX; !call->local_status && call->paused && !call_over(call) &&
                                 call->rbuf.len - call->rpos < left;) {
        left = call->rbuf.len - call->rpos;
        call->paused = false;
        call_pump(call);
    }
    if (call->local_status) {
        call_close(call, call->status, call->message);
    } else if (call->have_grpc_status) {
        call_close(call, call->status, call->message);
    } else if (error_code != NGHTTP2_NO_ERROR) {
        snprintf(buf, sizeof(buf), "stream reset by the server (HTTP/2 error %u)", error_code);
        call_close(call, error_code == NGHTTP2_CANCEL ? CZ_RPC_CANCELLED : CZ_RPC_INTERNAL, buf);
    } else if (call->http_status && call->http_status != 200) {
        snprintf(buf, sizeof(buf), "HTTP status %d", call->http_status);
        call_close(call, http_to_grpc_status(call->http_status), buf);
    } else {
        call_close(call, CZ_RPC_INTERNAL, "the server ended the call without a grpc-status");
    }
    return 0;
}

static ssize_t read_length_cb(nghttp2_session *session, uint8_t frame_type, int32_t stream_id,
                              int32_t session_remote_window_size, int32_t stream_remote_window_size,
                              uint32_t remote_max_frame_size, void *user_data)
{
    /* Large frames cut per-frame costs. Their payload is written from the queued
     * messages (NO_COPY); nghttp2 only reserves (and never touches) a buffer of
     * the frame's size, so only virtual memory grows with the cap. */
    ssize_t n = CZ_MIN(session_remote_window_size, stream_remote_window_size);
    n = CZ_MIN(n, (ssize_t)remote_max_frame_size);
    n = CZ_MIN(n, (ssize_t)MAX_DATA_FRAME);
    return CZ_MAX(n, (ssize_t)1);
}

/* ------------------------------------------------------------ connection I/O */

static int conn_watch(conn *c, bool out)
{
    if (c->watch_out == out)
        return 0;
    c->watch_out = out;
    return cz_loop_mod_fd(c->loop, c->fd, CZ_LOOP_IN | (out ? CZ_LOOP_OUT : 0), NULL);
}

static void conn_notify_writable(conn *c)
{
    for (cz_rpc_call *call = c->calls; call; call = call->next) {
        if (call->notify_writable && !call_over(call)) {
            call->notify_writable = false;
            if (call->handler && call->handler->on_writable)
                call->handler->on_writable(call);
        }
    }
}

/* Drop written pieces; true when everything was written. */
static bool out_advance(conn *c, size_t n)
{
    c->out_pending -= n;
    while (c->pieces_head < c->n_pieces) {
        out_piece *pc = &c->pieces[c->pieces_head];
        if (n < pc->len) {
            pc->off += n;
            pc->len -= n;
            return false;
        }
        n -= pc->len;
        chunk_unref(c, pc->k);
        c->pieces_head++;
    }
    c->pieces_head = c->n_pieces = 0;
    c->out_len = 0;
    return true;
}

static void out_drop(conn *c)
{
    for (size_t i = c->pieces_head; i < c->n_pieces; i++)
        chunk_unref(c, c->pieces[i].k);
    c->pieces_head = c->n_pieces = 0;
    c->out_len = c->out_pending = 0;
}

/* Write what nghttp2 has to send, as far as the socket takes it. */
static void conn_flush(conn *c)
{
    if (c->dead)
        return;
    for (;;) {
        while (c->pieces_head < c->n_pieces) {
            struct iovec iov[MAX_IOV];
            int n_iov = 0;
            for (size_t i = c->pieces_head; i < c->n_pieces && n_iov < MAX_IOV; i++) {
                const out_piece *pc = &c->pieces[i];
                iov[n_iov].iov_base = (pc->k ? pc->k->mem : c->out) + pc->off;
                iov[n_iov++].iov_len = pc->len;
            }
            ssize_t n = n_iov == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len)
                                   : writev(c->fd, iov, n_iov);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN) {
                    conn_watch(c, true);
                    return;
                }
                cz_debug("rpc: write: %s", strerror(errno));
                conn_fail(c);
                return;
            }
            out_advance(c, (size_t)n);
        }
        while (c->out_pending < OUT_BATCH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) {
                cz_debug("rpc: nghttp2 send: %s", nghttp2_strerror((int)n));
                conn_fail(c);
                return;
            }
            if (n == 0)
                break;
            out_push(c, NULL, data, (size_t)n);
        }
        if (c->out_pending == 0)
            break;
    }
    conn_watch(c, false);
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session)) {
        conn_fail(c);
        return;
    }
    conn_notify_writable(c);
}

static void flush_timer_cb(cz_loop *loop, void *data)
{
    conn *c = data;
    c->flush_timer = 0;
    conn_flush(c);
}

static void conn_schedule_flush(conn *c)
{
    if (!c->dead && !c->flush_timer)
        c->flush_timer = cz_loop_add_timer(c->loop, 0, flush_timer_cb, c);
}

static void conn_destroy(conn *c)
{
    if (c->flush_timer)
        cz_loop_cancel_timer(c->loop, c->flush_timer);
    if (c->destroy_timer)
        cz_loop_cancel_timer(c->loop, c->destroy_timer);
    c->dead = true;
    cz_loop_del_fd(c->loop, c->fd);
    while (c->calls) {
        cz_rpc_call *call = c->calls;
        if (c->is_server)
            call_close(call, CZ_RPC_CANCELLED, "the connection to the client was lost");
        else
            call_close(call, call->local_status ? call->status : CZ_RPC_UNAVAILABLE,
                       call->local_status ? call->message
                                          : "the connection to the server was lost");
    }
    nghttp2_session_del(c->session);
    close(c->fd);
    out_drop(c);
    free(c->spare);
    free(c->out);
    free(c->pieces);
    cz_rpc_server *s = c->server;
    if (s) {
        for (conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
    }
    cz_rpc_client *cl = c->client;
    if (cl)
        cl->conn = NULL;
    free(c);
    /* Only a connection that broke by itself is reported, not one the owner freed. */
    if (cl && cl->on_disconnect)
        cl->on_disconnect(cl, cl->on_disconnect_data);
    if (s && s->on_disconnect)
        s->on_disconnect(s, s->on_disconnect_data);
}

static void destroy_timer_cb(cz_loop *loop, void *data)
{
    conn *c = data;
    c->destroy_timer = 0;
    conn_destroy(c);
}

/* Mark dead now (no more I/O, API calls fail), destroy from the loop. */
static void conn_fail(conn *c)
{
    if (c->destroy_timer)
        return;
    c->dead = true;
    cz_loop_del_fd(c->loop, c->fd);
    if (c->flush_timer) {
        cz_loop_cancel_timer(c->loop, c->flush_timer);
        c->flush_timer = 0;
    }
    c->destroy_timer = cz_loop_add_timer(c->loop, 0, destroy_timer_cb, c);
}

static void conn_io(cz_loop *loop, int fd, uint32_t events, void *data)
{
    conn *c = data;
    if (c->dead)
        return;
    if (events & CZ_LOOP_IN) {
        static uint8_t buf[READ_CHUNK];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0) {
            conn_fail(c);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                cz_debug("rpc: read: %s", strerror(errno));
                conn_fail(c);
                return;
            }
        } else {
            ssize_t rv = nghttp2_session_mem_recv(c->session, buf, (size_t)n);
            if (rv < 0) {
                cz_debug("rpc: nghttp2 receive: %s", nghttp2_strerror((int)rv));
                /* Send what nghttp2 queued (GOAWAY) before hanging up. */
                conn_flush(c);
                conn_fail(c);
                return;
            }
        }
    }
    conn_flush(c);
}

static conn *conn_new(cz_loop *loop, int fd, bool is_server, const cz_rpc_opts *opts, cz_error *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        cz_error_errno(err, errno, "rpc connection: set fd %d non-blocking", fd);
        close(fd);
        return NULL;
    }
    conn *c = cz_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->fd = fd;
    c->is_server = is_server;
    fill_opts(&c->opts, opts, !is_server);

    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_data_source_read_length_callback(cb, read_length_cb);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    int rv = is_server ? nghttp2_session_server_new2(&c->session, cb, c, opt)
                       : nghttp2_session_client_new2(&c->session, cb, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) {
        free(c);
        close(fd);
        cz_error_set(err, ENOMEM, "rpc connection: %s", nghttp2_strerror(rv));
        return NULL;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->opts.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->opts.stream_window},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 4u << 20}, /* received data streams through */
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64u << 10},
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, CZ_ARRAY_SIZE(iv));
    int32_t conn_window = (int32_t)CZ_MIN(
        (uint64_t)INT32_MAX, CZ_MAX((uint64_t)c->opts.stream_window * 4, (uint64_t)16 << 20));
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, conn_window);
    if (cz_loop_add_fd(loop, fd, CZ_LOOP_IN, conn_io, c, err) < 0) {
        nghttp2_session_del(c->session);
        free(c);
        close(fd);
        return NULL;
    }
    conn_schedule_flush(c);
    return c;
}

/* ------------------------------------------------------------ server */

/* Unary methods: call_deliver holds the request; the handler runs here. */
static int unary_on_half_close(cz_rpc_call *call, cz_error *err)
{
    if (!call->held_request) {
        cz_rpc_call_finish_status(call, CZ_RPC_INTERNAL, "no request message for a unary method");
        return 0;
    }
    uint64_t t0 = cz_log_enabled(CZ_LOG_DEBUG) ? cz_now_ns() : 0;
    int rc = call->method->unary(call, call->held_request, call->handler_data, err);
    if (t0)
        cz_debug("rpc: %s took %.2f ms", call->path, (double)(cz_now_ns() - t0) / 1e6);
    protobuf_c_message_free_unpacked(call->held_request, NULL);
    call->held_request = NULL;
    if (rc < 0)
        return -1;
    if (rc == 0 && !call->finished)
        cz_rpc_call_finish_status(call, CZ_RPC_INTERNAL, "the handler returned no reply");
    return 0;
}

static const cz_rpc_handler unary_adapter = {
    .on_half_close = unary_on_half_close,
};

cz_rpc_server *cz_rpc_server_new(cz_loop *loop, const cz_rpc_opts *opts)
{
    cz_rpc_server *s = cz_xcalloc(1, sizeof(*s));
    s->loop = loop;
    fill_opts(&s->opts, opts, false);
    s->listen_fd = -1;
    return s;
}

void cz_rpc_server_free(cz_rpc_server *s)
{
    if (!s)
        return;
    s->on_disconnect = NULL;
    while (s->conns)
        conn_destroy(s->conns);
    if (s->listen_fd >= 0) {
        cz_loop_del_fd(s->loop, s->listen_fd);
        close(s->listen_fd);
    }
    if (s->listen_path)
        unlink(s->listen_path);
    free(s->listen_path);
    for (method *m = s->methods, *n; m; m = n) {
        n = m->next;
        free(m->path);
        free(m);
    }
    free(s);
}

static int add_method(cz_rpc_server *s, const ProtobufCServiceDescriptor *service, const char *name,
                      const cz_rpc_handler *handler, cz_rpc_unary_fn unary, void *data,
                      cz_error *err)
{
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(service, name);
    if (!md)
        return cz_error_set(err, ENOENT, "register %s/%s: no such method in the service",
                            service->name, name);
    char *path = cz_xasprintf("/%s/%s", service->name, name);
    if (find_method(s, path)) {
        cz_error_set(err, EEXIST, "register %s: already registered", path);
        free(path);
        return -1;
    }
    method *m = cz_xcalloc(1, sizeof(*m));
    m->path = path;
    m->desc = md;
    m->handler = handler;
    m->unary = unary;
    m->data = data;
    m->next = s->methods;
    s->methods = m;
    return 0;
}

int cz_rpc_server_add_unary(cz_rpc_server *s, const ProtobufCServiceDescriptor *service,
                            const char *name, cz_rpc_unary_fn fn, void *data, cz_error *err)
{
    return add_method(s, service, name, NULL, fn, data, err);
}

int cz_rpc_server_add_method(cz_rpc_server *s, const ProtobufCServiceDescriptor *service,
                             const char *name, const cz_rpc_handler *handler, void *data,
                             cz_error *err)
{
    return add_method(s, service, name, handler, NULL, data, err);
}

int cz_rpc_server_add_connection(cz_rpc_server *s, int fd, cz_error *err)
{
    conn *c = conn_new(s->loop, fd, true, &s->opts, err);
    if (!c)
        return -1;
    c->server = s;
    c->next = s->conns;
    s->conns = c;
    return 0;
}

static void accept_cb(cz_loop *loop, int fd, uint32_t events, void *data)
{
    cz_rpc_server *s = data;
    for (int i = 0; i < 16; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                cz_warn("rpc: accept: %s", strerror(errno));
            return;
        }
        cz_error err = {0};
        if (cz_rpc_server_add_connection(s, cfd, &err) < 0)
            cz_warn("rpc: %s", err.msg);
    }
}

int cz_rpc_server_listen_fd(cz_rpc_server *s, int fd, cz_error *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return cz_error_errno(err, e, "listen: set fd %d non-blocking", fd);
    }
    if (cz_loop_add_fd(s->loop, fd, CZ_LOOP_IN, accept_cb, s, err) < 0) {
        close(fd);
        return -1;
    }
    if (s->listen_fd >= 0) {
        cz_loop_del_fd(s->loop, s->listen_fd);
        close(s->listen_fd);
    }
    s->listen_fd = fd;
    return 0;
}

int cz_rpc_server_listen_unix(cz_rpc_server *s, const char *path, cz_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return cz_error_set(err, ENAMETOOLONG, "listen on %s: path too long for a unix socket",
                            path);
    strcpy(sa.sun_path, path);
    cz_autoclose int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return cz_error_errno(err, errno, "listen on %s: socket", path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return cz_error_errno(err, errno, "listen on %s: bind", path);
    if (listen(fd, 64) < 0)
        return cz_error_errno(err, errno, "listen on %s", path);
    if (cz_rpc_server_listen_fd(s, cz_steal_fd(&fd), err) < 0)
        return cz_error_wrap(err, "listen on %s", path);
    free(s->listen_path);
    s->listen_path = cz_xstrdup(path);
    return 0;
}

void cz_rpc_server_on_disconnect(cz_rpc_server *s, void (*fn)(cz_rpc_server *, void *), void *data)
{
    s->on_disconnect = fn;
    s->on_disconnect_data = data;
}

size_t cz_rpc_server_connection_count(const cz_rpc_server *s)
{
    size_t n = 0;
    for (const conn *c = s->conns; c; c = c->next)
        n += !c->dead;
    return n;
}

/* ------------------------------------------------------------ client */

cz_rpc_client *cz_rpc_client_new(cz_loop *loop, int fd, const cz_rpc_opts *opts, cz_error *err)
{
    conn *c = conn_new(loop, fd, false, opts, err);
    if (!c)
        return NULL;
    cz_rpc_client *cl = cz_xcalloc(1, sizeof(*cl));
    cl->conn = c;
    c->client = cl;
    return cl;
}

cz_rpc_client *cz_rpc_client_connect_unix(cz_loop *loop, const char *path, const cz_rpc_opts *opts,
                                          cz_error *err)
{
    int fd = cz_unix_connect(path, 0, err);
    return fd < 0 ? NULL : cz_rpc_client_new(loop, fd, opts, err);
}

void cz_rpc_client_on_disconnect(cz_rpc_client *cl, void (*fn)(cz_rpc_client *, void *), void *data)
{
    cl->on_disconnect = fn;
    cl->on_disconnect_data = data;
}

void cz_rpc_client_free(cz_rpc_client *cl)
{
    if (!cl)
        return;
    cl->on_disconnect = NULL;
    if (cl->conn)
        conn_destroy(cl->conn);
    free(cl);
}

bool cz_rpc_client_is_connected(const cz_rpc_client *cl)
{
    return cl->conn && !cl->conn->dead;
}

cz_rpc_call *cz_rpc_client_start(cz_rpc_client *cl, const ProtobufCServiceDescriptor *service,
                                 const char *name, int64_t timeout_ms,
                                 const cz_rpc_handler *handler, void *data, cz_error *err)
{
    conn *c = cl->conn;
    if (!c || c->dead) {
        cz_error_set(err, ECONNRESET, "call %s/%s: not connected", service->name, name);
        return NULL;
    }
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(service, name);
    if (!md) {
        cz_error_set(err, ENOENT, "call %s/%s: no such method in the service", service->name, name);
        return NULL;
    }
    cz_rpc_call *call = cz_xcalloc(1, sizeof(*call));
    call->conn = c;
    call->path = cz_xasprintf("/%s/%s", service->name, name);
    call->in_desc = md->output;
    call->out_desc = md->input;
    call->handler = handler;
    call->handler_data = data;
    char tmo[32] = "";
    if (timeout_ms > 0)
        cz_rpc_timeout_format((uint64_t)timeout_ms * 1000000ull, tmo, sizeof(tmo));
    nghttp2_nv nva[] = {
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":path", call->path),
        NV(":authority", "localhost"),
        NV("content-type", "application/grpc"),
        NV("te", "trailers"),
        NV("grpc-accept-encoding", "identity,gzip"),
        NV("user-agent", "cz-rpc/" CZ_VERSION),
        NV("grpc-timeout", tmo),
    };
    nghttp2_data_provider prd = {.source.ptr = call, .read_callback = data_read_cb};
    int32_t id = nghttp2_submit_request(c->session, NULL, nva,
                                        CZ_ARRAY_SIZE(nva) - (tmo[0] ? 0 : 1), &prd, call);
    if (id < 0) {
        cz_error_set(err, EAGAIN, "call %s: %s", call->path, nghttp2_strerror(id));
        free(call->path);
        free(call);
        return NULL;
    }
    call->stream_id = id;
    call->headers_sent = true;
    call_link(c, call);
    if (timeout_ms > 0)
        set_deadline(call, (uint64_t)timeout_ms * 1000000ull);
    conn_schedule_flush(c);
    return call;
}

typedef struct unary_state {
    bool done;
    int status;
    char *message;
} unary_state;

static void unary_client_close(cz_rpc_call *call, int status, const char *message)
{
    unary_state *st = call->handler_data;
    st->done = true;
    st->status = status;
    st->message = cz_xstrdup(message);
}

static const cz_rpc_handler unary_client_handler = {.on_close = unary_client_close};

int cz_rpc_client_unary(cz_rpc_client *cl, const ProtobufCServiceDescriptor *service,
                        const char *name, const ProtobufCMessage *req, ProtobufCMessage **reply,
                        int64_t timeout_ms, cz_error *err)
{
    *reply = NULL;
    if (!cl->conn)
        return cz_error_set(err, ECONNRESET, "%s/%s: not connected", service->name, name);
    size_t size = protobuf_c_message_get_packed_size(req);
    if (size > cl->conn->opts.max_send_message)
        return cz_error_set(err, E2BIG,
                            "%s/%s: request of %zu bytes exceeds the limit of %zu bytes",
                            service->name, name, size, cl->conn->opts.max_send_message);
    unary_state st = {0};
    cz_rpc_call *call =
        cz_rpc_client_start(cl, service, name, timeout_ms, &unary_client_handler, &st, err);
    if (!call)
        return -1;
    ProtobufCMessage *got = NULL;
    call->take_reply = &got;
    cz_loop *loop = call->conn->loop;
    if (cz_rpc_call_send(call, req, err) < 0 || cz_rpc_call_close_send(call, err) < 0) {
        cz_rpc_call_cancel(call);
        while (!st.done)
            if (cz_loop_run_once(loop, 100, NULL) < 0)
                break;
        if (got)
            protobuf_c_message_free_unpacked(got, NULL);
        free(st.message);
        return -1;
    }
    while (!st.done) {
        if (cz_loop_run_once(loop, -1, err) < 0) {
            if (got)
                protobuf_c_message_free_unpacked(got, NULL);
            free(st.message);
            return -1;
        }
    }
    cz_autofree char *msg = st.message;
    if (st.status == CZ_RPC_OK && !got)
        st.status = CZ_RPC_INTERNAL, free(msg), msg = cz_xstrdup("no reply message");
    if (st.status != CZ_RPC_OK) {
        if (got)
            protobuf_c_message_free_unpacked(got, NULL);
        return cz_error_set(err, cz_rpc_errno_from_status(st.status), "%s/%s: %s: %s",
                            service->name, name, cz_rpc_status_name(st.status), msg);
    }
    *reply = got;
    return 0;
}
