/* container-runtime: one per running container. It boots the container's VM,
 * drives vminitd over the agent channel, writes the container's log and state,
 * serves the CLI on a unix socket (runtime.proto plus the agent's process methods,
 * forwarded), and tears everything down when the container ends. docs/runtime.md. */
#ifndef CZ_RUNTIME_H
#define CZ_RUNTIME_H

#include <cz/container.h>
#include <cz/error.h>
#include <cz/rpc.h>
#include <cz/vm.h>

#include "base/util.h"

#include <stdbool.h>
#include <stdint.h>

/* --- log.c: the container's log in docker's json-file format */
struct rt_log {
    int fd;
    bool write_failed;
    cz_buf hold[2]; /* partial lines of stdout, stderr */
};
int rt_log_open(struct rt_log *l, const char *path, cz_error *err);
void rt_log_write(struct rt_log *l, int stream, const void *data, size_t n);
void rt_log_flush(struct rt_log *l, int stream);
void rt_log_close(struct rt_log *l);
void rt_json_escape(cz_buf *b, const void *data, size_t n);
void rt_time_rfc3339(char out[40]);

/* --- proxy.c: the agent's process methods, forwarded to vminitd (copy_only:
 * only CopyIn, CopyOut, Stat and ReadFile, for a maintenance runtime) */
struct rt_proxy_target {
    cz_rpc_client **agent;
    char **paused; /* *paused non-NULL: the VM is paused (why): calls fail at once */
};
int rt_proxy_register(cz_rpc_server *server, struct rt_proxy_target *target, bool copy_only,
                      cz_error *err);

#endif
