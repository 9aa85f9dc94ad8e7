/* vminitd: PID 1 of every container VM, serving the agent API (proto/agent.proto)
 * over one HTTP/2 connection. Shared declarations of its parts. */
#ifndef CZ_VMINITD_H
#define CZ_VMINITD_H

#include <cz/rpc.h>

#include "agent.pb-c.h"

#include <stdbool.h>
#include <sys/types.h>

#define AGENT (&cz__agent__v1__agent__descriptor)

typedef struct vminitd {
    cz_loop *loop;
    cz_rpc_server *server;
    bool pid1;             /* the VM's init: mounts the basics, powers off on Shutdown */
    const char *port_path; /* virtio-serial port device, when serving on one */
} vminitd;

extern vminitd g_vminitd;

/* Register the filesystem methods (fs.c) and the system methods (system.c). */
int vminitd_register_fs(cz_rpc_server *server, cz_error *err);
int vminitd_register_system(cz_rpc_server *server, cz_error *err);
/* CopyIn and CopyOut (copy.c). */
int vminitd_register_copy(cz_rpc_server *server, cz_error *err);
/* LinkSet, AddrAdd, RouteAdd through rtnetlink (network.c). */
int vminitd_register_network(cz_rpc_server *server, cz_error *err);
/* CreateProcess, Exec, StartProcess, Signal, Wait, ResizePty, CloseStdin, Delete,
 * Stdio and Stats through lib/ocirt (process.c). */
int vminitd_register_process(cz_rpc_server *server, cz_error *err);
/* The reaper's report of one exited child. */
void vminitd_process_reaped(pid_t pid, int wait_status);
/* Where containers' cgroups go (NULL: lib/ocirt's default; "": none). */
void vminitd_set_cgroup_parent(const char *parent);

/* /dev/vportNpM of the virtio-serial port with this name (allocated); NULL if none. */
char *vminitd_find_port(const char *name);

/* A path from the host must be absolute and free of ".." components. */
int vminitd_check_path(const char *what, const char *path, cz_error *err);

#endif
