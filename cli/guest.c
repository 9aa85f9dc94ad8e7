/* Talking to a running container's guest from the CLI: its container-runtime
 * forwards the agent's methods (Stats, CopyIn, CopyOut, Stat, ReadFile...) to
 * vminitd, so a command connects to the runtime's socket and calls them there.
 * Used by stats and cp. */
#include "cli.h"

#include <cz/container.h>

#include "agent.pb-c.h"
#include "base/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_guest_open(struct cli *cli, const char *ref, struct cli_guest *g, cz_error *err)
{
    memset(g, 0, sizeof(*g));
    cz_container_config c;
    cz_container_state st;
    if (cz_container_load(cli->root, ref, &c, &st, err) < 0)
        return -1;
    bool running = st.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&st);
    memcpy(g->id, c.id, sizeof(g->id));
    g->name = cz_xstrdup(c.name);
    g->memory_mib = c.memory_mib;
    cz_container_config_free(&c);
    cz_container_state_free(&st);
    if (!running) {
        cli_guest_close(g);
        return cz_error_set(err, EBUSY, "container %s is not running", ref);
    }
    g->loop = cz_loop_new(err);
    if (!g->loop) {
        cli_guest_close(g);
        return -1;
    }
    cz_autofree char *sock = cz_container_runtime_socket(g->id);
    g->client = cz_rpc_client_connect_unix(g->loop, sock, NULL, err);
    if (!g->client) {
        cli_guest_close(g);
        return cz_error_wrap(err, "container %s: its runtime does not answer", ref);
    }
    return 0;
}

int cli_guest_call(struct cli_guest *g, const char *method, const ProtobufCMessage *req,
                   ProtobufCMessage **reply, int timeout_ms, cz_error *err)
{
    ProtobufCMessage *r = NULL;
    if (cz_rpc_client_unary(g->client, &cz__agent__v1__agent__descriptor, method, req, &r,
                            timeout_ms, err) < 0)
        return -1;
    if (reply)
        *reply = r;
    else
        protobuf_c_message_free_unpacked(r, NULL);
    return 0;
}

void cli_guest_close(struct cli_guest *g)
{
    if (g->client)
        cz_rpc_client_free(g->client);
    if (g->loop)
        cz_loop_free(g->loop);
    free(g->name);
    memset(g, 0, sizeof(*g));
}

char *cli_guest_read_text(struct cli_guest *g, const char *path, size_t limit, int timeout_ms)
{
    Cz__Agent__V1__ReadFileRequest q = CZ__AGENT__V1__READ_FILE_REQUEST__INIT;
    q.path = (char *)path;
    q.limit = limit;
    ProtobufCMessage *r = NULL;
    cz_error e = {0};
    if (cli_guest_call(g, "ReadFile", &q.base, &r, timeout_ms, &e) < 0)
        return NULL;
    const Cz__Agent__V1__ReadFileResponse *f = (const void *)r;
    char *text = cz_xstrndup((const char *)f->data.data, f->data.len);
    protobuf_c_message_free_unpacked(r, NULL);
    return text;
}
