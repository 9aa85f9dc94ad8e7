/* Forwarding of the agent's process methods from the runtime's socket to the
 * guest: each call from a CLI becomes one call to vminitd on the runtime's one
 * agent connection, message for message in both directions, with flow control
 * carried across (a side whose send queue is full pauses the other side), the
 * deadline carried over, and the final status passed back as it came. */
#include "runtime.h"

#include "agent.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AGENT (&cz__agent__v1__agent__descriptor)

/* The methods a CLI may call through the runtime. */
static const char *const forwarded[] = {"Exec",      "StartProcess", "Stdio",  "Wait",
                                        "Signal",    "ResizePty",    "CloseStdin",
                                        "Delete",    "Stats",        "CopyIn", "CopyOut",
                                        "Stat",      "ReadFile"};
/* What a maintenance runtime (cp on a container that is not running) serves:
 * there is no process to reach. */
static const char *const copy_methods[] = {"CopyIn", "CopyOut", "Stat", "ReadFile"};

struct proxy {
    cz_rpc_call *down; /* the CLI's call to us */
    cz_rpc_call *up;   /* our call to vminitd */
    bool up_done;
    bool half_closed; /* the CLI half-closed before the up call existed */
};

static int up_on_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    struct proxy *p = cz_rpc_call_handler_data(call);
    if (!p->down)
        return 0;
    if (cz_rpc_call_send(p->down, msg, err) < 0)
        return -1;
    if (cz_rpc_call_pending(p->down) > CZ_RPC_SEND_HIGH_WATER)
        cz_rpc_call_pause(call);
    return 0;
}

static void up_on_writable(cz_rpc_call *call)
{
    struct proxy *p = cz_rpc_call_handler_data(call);
    if (p->down)
        cz_rpc_call_resume(p->down);
}

static void up_on_close(cz_rpc_call *call, int status, const char *message)
{
    struct proxy *p = cz_rpc_call_handler_data(call);
    p->up = NULL;
    p->up_done = true;
    if (p->down)
        cz_rpc_call_finish_status(p->down, status, message);
    else
        free(p);
}

static const cz_rpc_handler up_handler = {
    .on_message = up_on_message,
    .on_writable = up_on_writable,
    .on_close = up_on_close,
};

/* The proxy of a call, made when its first event arrives. */
static struct proxy *proxy_of(cz_rpc_call *down, cz_error *err)
{
    struct proxy *p = cz_rpc_call_data(down);
    if (p)
        return p;
    struct rt_proxy_target *t = cz_rpc_call_handler_data(down);
    cz_rpc_client *agent = *t->agent;
    if (t->paused && *t->paused) {
        cz_error_set(err, EAGAIN, "the container's VM is paused: %s", *t->paused);
        return NULL;
    }
    if (!agent || !cz_rpc_client_is_connected(agent)) {
        cz_error_set(err, ECONNRESET, "the container's guest agent is not connected");
        return NULL;
    }
    p = cz_xcalloc(1, sizeof(*p));
    p->down = down;
    const char *path = cz_rpc_call_path(down);
    const char *method = strrchr(path, '/');
    method = method ? method + 1 : path;
    int64_t timeout = cz_rpc_call_remaining_ms(down);
    p->up = cz_rpc_client_start(agent, AGENT, method, timeout > 0 ? timeout : 0, &up_handler, p,
                                err);
    if (!p->up) {
        free(p);
        return NULL;
    }
    cz_rpc_call_set_data(down, p);
    return p;
}

static int down_on_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    struct proxy *p = proxy_of(call, err);
    if (!p)
        return -1;
    if (!p->up)
        return 0;
    if (cz_rpc_call_send(p->up, msg, err) < 0)
        return -1;
    if (cz_rpc_call_pending(p->up) > CZ_RPC_SEND_HIGH_WATER)
        cz_rpc_call_pause(call);
    return 0;
}

static int down_on_half_close(cz_rpc_call *call, cz_error *err)
{
    struct proxy *p = proxy_of(call, err);
    if (!p)
        return -1;
    if (p->up)
        return cz_rpc_call_close_send(p->up, err);
    return 0;
}

static void down_on_writable(cz_rpc_call *call)
{
    struct proxy *p = cz_rpc_call_data(call);
    if (p && p->up)
        cz_rpc_call_resume(p->up);
}

static void down_on_close(cz_rpc_call *call, int status, const char *message)
{
    (void)status;
    (void)message;
    struct proxy *p = cz_rpc_call_data(call);
    if (!p)
        return;
    p->down = NULL;
    if (p->up_done)
        free(p);
    else if (p->up)
        cz_rpc_call_cancel(p->up); /* its on_close frees p */
}

static const cz_rpc_handler down_handler = {
    .on_message = down_on_message,
    .on_half_close = down_on_half_close,
    .on_writable = down_on_writable,
    .on_close = down_on_close,
};

int rt_proxy_register(cz_rpc_server *server, struct rt_proxy_target *target, bool copy_only,
                      cz_error *err)
{
    const char *const *names = copy_only ? copy_methods : forwarded;
    size_t n = copy_only ? CZ_ARRAY_SIZE(copy_methods) : CZ_ARRAY_SIZE(forwarded);
    for (size_t i = 0; i < n; i++)
        if (cz_rpc_server_add_method(server, AGENT, names[i], &down_handler, target, err) < 0)
            return -1;
    return 0;
}
