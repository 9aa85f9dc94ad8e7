/* Internal: what a VMM backend provides to lib/vm. QEMU is the one backend
 * today; another VMM (cloud-hypervisor, Firecracker) would add a file beside
 * qemu.c implementing these. */
#ifndef CZ_VM_VMM_H
#define CZ_VM_VMM_H

#include <cz/vm.h>

#include "base/util.h"

struct cz_argv {
    char **v;
    size_t n, cap;
};
void cz_argv_add(struct cz_argv *a, const char *s);
void cz_argv_addf(struct cz_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cz_argv_free(struct cz_argv *a);

struct cz_vm_paths {
    const char *agent_socket;   /* host end of the agent channel */
    const char *control_socket; /* the VMM's control socket (QMP) */
    const char *output_socket[2]; /* host ends of cz.out and cz.err (config output_ports) */
    const char *events_socket;  /* a second control socket, for events only (NULL: none) */
    /* Building a template or restoring one (vm/template.c): the template's MAC address */
    bool template;
    /* Wait for the saved state (vm/template.c loads it from fd 3) instead of booting. */
    bool incoming;
};

struct cz_vmm_ops {
    const char *name;
    /* The VMM's command line for c. */
    int (*build_argv)(const struct cz_vm_config *c, enum cz_accel accel,
                      const struct cz_vm_paths *paths, struct cz_argv *out, cz_error *err);
    /* Open the control channel once the VMM runs; returns an fd. */
    int (*control_connect)(const char *control_socket, int timeout_ms, cz_error *err);
    /* One control command; reply text allocated. */
    int (*control_call)(int fd, const char *command, char **reply, int timeout_ms, cz_error *err);
    /* Hand the VMM an open file under a name (for saving a template's state). */
    int (*control_pass_fd)(int fd, int pass, const char *name, int timeout_ms, cz_error *err);
    /* One line read from the events socket: 1 and *ev filled when it is an event, else 0. */
    int (*event_parse)(const char *line, size_t len, struct cz_vm_event *ev);
};

extern const struct cz_vmm_ops cz_vmm_qemu;

/* The directory the VMM shares for share i: its path, or for a regular file the
 * directory RUN_DIR/share-TAG that holds it (cz_vm_start prepares it). Allocated. */
char *cz_vm_share_dir(const struct cz_vm_config *c, size_t i);

/* The pieces of vm.c that template.c builds on. */
struct cz_vm {
    const struct cz_vmm_ops *ops;
    pid_t pid;
    int pidfd;
    int control_fd;
    bool exited;
    int wait_status;
    enum cz_accel accel;
    char *agent_socket;
    char *output_socket[2];
    char *control_socket;
    char *events_socket;
    int events_fd;
    cz_buf events_in; /* read from events_fd, not yet a whole line */
    char *log_path;
};
/* Spawn the VMM for c with the template parts of paths (sockets are filled in), fd3 (or -1)
 * as its fd 3, and wait for its control socket. */
int cz_vm_spawn(const struct cz_vm_config *c, struct cz_vm_paths *paths, int fd3, cz_vm **out,
                cz_error *err);

/* A VM spawned with .incoming: load the saved state from its fd 3; it runs when loaded. */
int cz_vm_template_load(cz_vm *vm, cz_error *err);

/* Whether QEMU has exited, waiting up to ms for it (through its pidfd). */
bool cz_vm_gone(cz_vm *vm, int ms);

/* An executable on PATH (or a path checked); NULL when there is none. Allocated. */
char *cz_vm_find_program(const char *name);

/* Default guest kernel command line for fast boot under accel. */
char *cz_vm_default_cmdline(enum cz_accel accel);

#endif
