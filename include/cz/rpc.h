/* gRPC over HTTP/2 (h2c with prior knowledge, nghttp2) with protobuf-c messages,
 * over any connected byte stream (unix socket, virtio-serial port, vsock), driven
 * by a single-threaded event loop that other file descriptors can join.
 * One stack serves the guest agent (vminitd) and the host side (container-runtime).
 * docs/rpc.md describes the model, the status mapping and the limits. */
#ifndef CZ_RPC_H
#define CZ_RPC_H

#include <cz/error.h>

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ loop */

/* A single-threaded epoll loop with fd watchers, timers and deferred calls. */
typedef struct cz_loop cz_loop;

#define CZ_LOOP_IN 0x1u  /* readable (or hung up / error) */
#define CZ_LOOP_OUT 0x4u /* writable */

typedef void (*cz_loop_fd_fn)(cz_loop *loop, int fd, uint32_t events, void *data);
typedef void (*cz_loop_timer_fn)(cz_loop *loop, void *data);

CZ_PUBLIC cz_loop *cz_loop_new(cz_error *err);
CZ_PUBLIC void cz_loop_free(cz_loop *loop);
/* Watch fd for events (CZ_LOOP_IN/OUT). The fd stays owned by the caller. */
CZ_PUBLIC int cz_loop_add_fd(cz_loop *loop, int fd, uint32_t events, cz_loop_fd_fn fn, void *data,
                             cz_error *err);
CZ_PUBLIC int cz_loop_mod_fd(cz_loop *loop, int fd, uint32_t events, cz_error *err);
/* Stop watching fd; safe from inside any callback (even the fd's own). */
CZ_PUBLIC void cz_loop_del_fd(cz_loop *loop, int fd);
/* Call fn once after delay_ms (0: on the next turn of the loop). Returns an id > 0. */
CZ_PUBLIC uint64_t cz_loop_add_timer(cz_loop *loop, uint64_t delay_ms, cz_loop_timer_fn fn,
                                     void *data);
/* Cancel a timer that has not fired yet (unknown ids are ignored). */
CZ_PUBLIC void cz_loop_cancel_timer(cz_loop *loop, uint64_t id);
/* Wait for events at most timeout_ms (-1: no limit) and dispatch them and due timers. */
CZ_PUBLIC int cz_loop_run_once(cz_loop *loop, int timeout_ms, cz_error *err);
/* Run until cz_loop_stop. */
CZ_PUBLIC int cz_loop_run(cz_loop *loop, cz_error *err);
CZ_PUBLIC void cz_loop_stop(cz_loop *loop);

/* ---------------------------------------------------------------- status */

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum cz_rpc_status {
    CZ_RPC_OK = 0,
    CZ_RPC_CANCELLED = 1,
    CZ_RPC_UNKNOWN = 2,
    CZ_RPC_INVALID_ARGUMENT = 3,
    CZ_RPC_DEADLINE_EXCEEDED = 4,
    CZ_RPC_NOT_FOUND = 5,
    CZ_RPC_ALREADY_EXISTS = 6,
    CZ_RPC_PERMISSION_DENIED = 7,
    CZ_RPC_RESOURCE_EXHAUSTED = 8,
    CZ_RPC_FAILED_PRECONDITION = 9,
    CZ_RPC_ABORTED = 10,
    CZ_RPC_OUT_OF_RANGE = 11,
    CZ_RPC_UNIMPLEMENTED = 12,
    CZ_RPC_INTERNAL = 13,
    CZ_RPC_UNAVAILABLE = 14,
    CZ_RPC_DATA_LOSS = 15,
    CZ_RPC_UNAUTHENTICATED = 16,
};

/* "NOT_FOUND" etc.; "UNKNOWN_STATUS" outside the range. */
CZ_PUBLIC const char *cz_rpc_status_name(int status);
/* The one mapping from a cz_error (its errno-style code) to a gRPC status:
 * ENOENT/ESRCH -> NOT_FOUND, EINVAL -> INVALID_ARGUMENT, EEXIST -> ALREADY_EXISTS,
 * EPERM/EACCES -> PERMISSION_DENIED, E2BIG/EFBIG/ENOMEM/ENOSPC -> RESOURCE_EXHAUSTED,
 * EBUSY/ENOTEMPTY/ECHILD -> FAILED_PRECONDITION, ENOSYS/EOPNOTSUPP -> UNIMPLEMENTED,
 * ETIMEDOUT -> DEADLINE_EXCEEDED, ECANCELED -> CANCELLED, ERANGE -> OUT_OF_RANGE, ...;
 * anything else -> UNKNOWN. */
CZ_PUBLIC int cz_rpc_status_from_errno(int code);
/* The inverse for clients: one errno per status, chosen so that
 * cz_rpc_status_from_errno(cz_rpc_errno_from_status(s)) == s. */
CZ_PUBLIC int cz_rpc_errno_from_status(int status);

/* A failed client call's err->msg is "pkg.Service/Method: STATUS_NAME: message";
 * keep only the server's message (for a user who needs the reason, not the
 * method). Other messages are left as they are. */
CZ_PUBLIC void cz_rpc_error_strip(cz_error *err);

/* ------------------------------------------------------------- calls */

/* One call (one HTTP/2 stream), on either side. */
typedef struct cz_rpc_call cz_rpc_call;

/* Callbacks for one call. Every callback is optional. Messages passed in are owned
 * by the library and freed when the callback returns. A callback returning < 0
 * ends the call with the status derived from err (server: sent to the client;
 * client: the call is cancelled and reports that status locally). */
typedef struct cz_rpc_handler {
    /* A message arrived. */
    int (*on_message)(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err);
    /* The peer will send no more messages (server: the client half-closed). */
    int (*on_half_close)(cz_rpc_call *call, cz_error *err);
    /* The send queue drained below the low-water mark (see cz_rpc_call_pending). */
    void (*on_writable)(cz_rpc_call *call);
    /* The call is over: status is what was sent (server) or received (client), or
     * CANCELLED / DEADLINE_EXCEEDED / UNAVAILABLE when it was cut short. The last
     * callback: the call pointer is invalid after it returns. */
    void (*on_close)(cz_rpc_call *call, int status, const char *message);
} cz_rpc_handler;

/* Queue a message (packed and framed at once: msg stays the caller's). Never
 * blocks: the queue drains as HTTP/2 flow control allows. Fails if the call is
 * over or the message exceeds the send size limit (E2BIG). */
CZ_PUBLIC int cz_rpc_call_send(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err);
/* Bytes queued and not yet handed to the transport. A producer should stop
 * reading its source above CZ_RPC_SEND_HIGH_WATER and resume in on_writable. */
CZ_PUBLIC size_t cz_rpc_call_pending(const cz_rpc_call *call);
#define CZ_RPC_SEND_HIGH_WATER (1u << 20)
/* Zero-copy sending of bulk bytes (vminitd's Stdio output): the caller fills the
 * message in place instead of building a ProtobufCMessage that gets packed.
 * cz_rpc_call_send_reserve returns room for `cap` payload bytes, preceded by
 * CZ_RPC_RESERVE_LEAD bytes of room for the fields before the payload; it fails
 * (NULL) when the call is over or cap exceeds the send size limit. The caller
 * writes the payload there (e.g. read() from a pipe), puts the packed fields that
 * precede it (at most CZ_RPC_RESERVE_LEAD bytes, ending with the payload field's
 * tag and length) just before the payload, and cz_rpc_call_send_reserved queues
 * those lead + len bytes as one message of the method's output type: the caller
 * vouches that they are a valid encoding of it. A reservation not committed is
 * reused by the next cz_rpc_call_send_reserve and freed with the call. */
#define CZ_RPC_RESERVE_LEAD 16
CZ_PUBLIC uint8_t *cz_rpc_call_send_reserve(cz_rpc_call *call, size_t cap, cz_error *err);
CZ_PUBLIC int cz_rpc_call_send_reserved(cz_rpc_call *call, size_t lead, size_t len, cz_error *err);
/* Server: end the call with OK (err NULL) or the status derived from err. */
CZ_PUBLIC void cz_rpc_call_finish(cz_rpc_call *call, const cz_error *err);
/* Server: end the call with an explicit status and message. */
CZ_PUBLIC void cz_rpc_call_finish_status(cz_rpc_call *call, int status, const char *message);
/* Server, unary: send msg and finish OK. On failure (e.g. too large) returns -1
 * with err set and the call still open, so the caller can finish it with err. */
CZ_PUBLIC int cz_rpc_call_reply(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err);
/* Server, unary: reply with the empty (all defaults) message of the method's
 * output type, and finish OK: for methods whose response carries nothing. */
CZ_PUBLIC int cz_rpc_call_reply_empty(cz_rpc_call *call, cz_error *err);
/* Client: half-close (no more messages from us). */
CZ_PUBLIC int cz_rpc_call_close_send(cz_rpc_call *call, cz_error *err);
/* Either side: abort the call (RST_STREAM CANCEL); on_close follows with CANCELLED. */
CZ_PUBLIC void cz_rpc_call_cancel(cz_rpc_call *call);
/* Stop delivering messages (and stop granting the peer flow-control window) until
 * cz_rpc_call_resume: backpressure towards a fast sender. */
CZ_PUBLIC void cz_rpc_call_pause(cz_rpc_call *call);
CZ_PUBLIC void cz_rpc_call_resume(cz_rpc_call *call);
/* Also call fn when the call ends (before the handler's on_close): how an
 * asynchronous unary handler (CZ_RPC_LATER) learns of a cancelled call and drops
 * its pointer to it. */
CZ_PUBLIC void cz_rpc_call_set_close_hook(cz_rpc_call *call,
                                          void (*fn)(cz_rpc_call *call, int status,
                                                     const char *message));
/* Per-call user data. */
CZ_PUBLIC void cz_rpc_call_set_data(cz_rpc_call *call, void *data);
CZ_PUBLIC void *cz_rpc_call_data(const cz_rpc_call *call);
/* The data given when the method (server) or the call (client) was registered. */
CZ_PUBLIC void *cz_rpc_call_handler_data(const cz_rpc_call *call);
/* "/package.Service/Method". */
CZ_PUBLIC const char *cz_rpc_call_path(const cz_rpc_call *call);
/* Milliseconds left before the call's deadline; -1 when it has none. */
CZ_PUBLIC int64_t cz_rpc_call_remaining_ms(const cz_rpc_call *call);
/* True once the call ended (finished, cancelled, or its connection died). */
CZ_PUBLIC bool cz_rpc_call_is_done(const cz_rpc_call *call);

/* ---------------------------------------------------------- options */

typedef struct cz_rpc_opts {
    size_t max_recv_message;         /* bytes; 0: CZ_RPC_DEFAULT_MAX_MESSAGE */
    size_t max_send_message;         /* bytes; 0: CZ_RPC_DEFAULT_MAX_MESSAGE */
    uint32_t stream_window;          /* initial per-stream receive window; 0: 1 MiB */
    uint32_t max_concurrent_streams; /* streams the peer may open; 0: 1024 */
} cz_rpc_opts;
#define CZ_RPC_DEFAULT_MAX_MESSAGE (16u << 20)

/* ---------------------------------------------------------- server */

typedef struct cz_rpc_server cz_rpc_server;

/* Unary handler: reply with cz_rpc_call_reply and return 0; or return < 0 with
 * err set (the status comes from cz_rpc_status_from_errno(err->code)); or return
 * CZ_RPC_LATER and end the call later with cz_rpc_call_reply / cz_rpc_call_finish.
 * A handler that returns 0 without finishing gets INTERNAL. */
typedef int (*cz_rpc_unary_fn)(cz_rpc_call *call, const ProtobufCMessage *req, void *data,
                               cz_error *err);
#define CZ_RPC_LATER 1

CZ_PUBLIC cz_rpc_server *cz_rpc_server_new(cz_loop *loop, const cz_rpc_opts *opts);
/* Closes every connection (their calls get on_close CANCELLED) and listener. */
CZ_PUBLIC void cz_rpc_server_free(cz_rpc_server *server);
/* Register a unary method of a protobuf-c service. */
CZ_PUBLIC int cz_rpc_server_add_unary(cz_rpc_server *server,
                                      const ProtobufCServiceDescriptor *service, const char *method,
                                      cz_rpc_unary_fn fn, void *data, cz_error *err);
/* Register any method (client-, server- or bidirectional streaming, or unary
 * handled message by message). The handler struct must outlive the server. */
CZ_PUBLIC int cz_rpc_server_add_method(cz_rpc_server *server,
                                       const ProtobufCServiceDescriptor *service,
                                       const char *method, const cz_rpc_handler *handler,
                                       void *data, cz_error *err);
/* Listen on a unix socket (an existing socket file is replaced). */
CZ_PUBLIC int cz_rpc_server_listen_unix(cz_rpc_server *server, const char *path, cz_error *err);
/* Accept connections on a bound, listening stream socket of any family (vsock,
 * TCP, unix); the server takes the fd. Replaces a previous listener. */
CZ_PUBLIC int cz_rpc_server_listen_fd(cz_rpc_server *server, int fd, cz_error *err);
/* Serve one already connected byte stream (virtio-serial port, accepted socket).
 * The server takes the fd. */
CZ_PUBLIC int cz_rpc_server_add_connection(cz_rpc_server *server, int fd, cz_error *err);
/* Called after a connection ended (EOF, error, protocol violation) and its calls
 * were closed: e.g. to reopen a virtio-serial port. */
CZ_PUBLIC void cz_rpc_server_on_disconnect(cz_rpc_server *server,
                                           void (*fn)(cz_rpc_server *server, void *data),
                                           void *data);
CZ_PUBLIC size_t cz_rpc_server_connection_count(const cz_rpc_server *server);

/* ---------------------------------------------------------- client */

typedef struct cz_rpc_client cz_rpc_client;

/* A client on a connected fd (the client takes it) on loop. */
CZ_PUBLIC cz_rpc_client *cz_rpc_client_new(cz_loop *loop, int fd, const cz_rpc_opts *opts,
                                           cz_error *err);
CZ_PUBLIC cz_rpc_client *cz_rpc_client_connect_unix(cz_loop *loop, const char *path,
                                                    const cz_rpc_opts *opts, cz_error *err);
/* Cancels every open call (on_close UNAVAILABLE... CANCELLED) and closes the fd. */
CZ_PUBLIC void cz_rpc_client_free(cz_rpc_client *client);
/* Called once when the connection breaks (EOF, error, protocol violation), after
 * every open call got its on_close: e.g. the runtime learns that the guest is
 * gone. Not called by cz_rpc_client_free. The callback may free the client. */
CZ_PUBLIC void cz_rpc_client_on_disconnect(cz_rpc_client *client,
                                           void (*fn)(cz_rpc_client *client, void *data),
                                           void *data);
/* False once the connection broke. */
CZ_PUBLIC bool cz_rpc_client_is_connected(const cz_rpc_client *client);

/* Start a call; send with cz_rpc_call_send, then cz_rpc_call_close_send; replies
 * arrive through handler (which must outlive the call). timeout_ms <= 0: no
 * deadline. The returned call is valid until handler->on_close returns. */
CZ_PUBLIC cz_rpc_call *cz_rpc_client_start(cz_rpc_client *client,
                                           const ProtobufCServiceDescriptor *service,
                                           const char *method, int64_t timeout_ms,
                                           const cz_rpc_handler *handler, void *data,
                                           cz_error *err);
/* Blocking unary call: runs the loop until the reply, the deadline (timeout_ms <=
 * 0: none) or a failure. On success *reply is set (free it with
 * protobuf_c_message_free_unpacked(*reply, NULL)). On a non-OK status returns -1
 * with err->code = cz_rpc_errno_from_status(status) and err->msg
 * "STATUS_NAME: message". Not to be called from inside a loop callback. */
CZ_PUBLIC int cz_rpc_client_unary(cz_rpc_client *client, const ProtobufCServiceDescriptor *service,
                                  const char *method, const ProtobufCMessage *req,
                                  ProtobufCMessage **reply, int64_t timeout_ms, cz_error *err);

/* ---------------------------------------------------- wire helpers (tested) */

/* Parse a grpc-timeout value ("100m", "5S", "1H"): 1-8 digits and a unit. */
CZ_PUBLIC int cz_rpc_timeout_parse(const char *s, uint64_t *ns_out);
/* Format a timeout for grpc-timeout, rounding up to the unit used; out >= 16 bytes. */
CZ_PUBLIC void cz_rpc_timeout_format(uint64_t ns, char *out, size_t outlen);
/* Percent-encode a grpc-message (bytes outside 0x20-0x7e and '%'). Caller frees. */
CZ_PUBLIC char *cz_rpc_percent_encode(const char *s);
/* Decode a grpc-message; malformed escapes are kept as they are. Caller frees. */
CZ_PUBLIC char *cz_rpc_percent_decode(const char *s, size_t len);
/* Frame a packed message: 5-byte prefix (flag 0, big-endian length) + body. */
CZ_PUBLIC void cz_rpc_frame_header(uint8_t out[5], uint32_t len);

#endif
