/* Containers as records on disk: ROOT/containers/<id>/{config.json,state.json}.
 * The configuration is fixed at create time (but for host ports picked when it
 * starts); the state changes as the container runs. Both are written
 * atomically; creating and removing take ROOT/locks/containers.lock so names
 * stay unique across concurrent CLIs. */
#ifndef CZ_CONTAINER_H
#define CZ_CONTAINER_H

#include <cz/error.h>
#include <cz/vm.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CZ_CONTAINER_ID_LEN 64

enum cz_container_status {
    CZ_STATUS_CREATED = 0, /* made, never started */
    CZ_STATUS_RUNNING,     /* its VM and process are up */
    CZ_STATUS_STOPPED,     /* the process exited (exit_code tells how) */
    CZ_STATUS_FAILED,      /* it could not start or its VM died (error tells why) */
};

struct cz_mount_spec {
    char *type;        /* "volume", "bind", "tmpfs" */
    char *source;      /* volume name or host path; NULL for tmpfs */
    char *destination; /* absolute path in the container */
    bool readonly;
    char *options;     /* tmpfs: its mount options ("size=64m,mode=1770,noexec"), or NULL */
};

/* Size of the empty writable disk each container gets unless --storage-opt size= says
 * otherwise (sparse: only what the container writes takes space on the host). */
#define CZ_CONTAINER_DISK_SIZE (16ull << 30)

typedef struct cz_container_config {
    char id[CZ_CONTAINER_ID_LEN + 1];
    char *name;
    char *image;          /* the reference as given */
    char *image_digest;   /* the manifest it resolved to */
    char *platform;       /* "linux/amd64" */
    char **args;          /* the process: entrypoint + cmd, resolved */
    char **env;           /* "K=V" */
    char *workdir;
    char *user;           /* "uid[:gid]" or names */
    char *hostname;
    char **dns;
    char **labels;        /* "k=v" */
    bool tty;
    bool interactive;
    bool read_only;
    bool init;
    bool auto_remove;
    unsigned cpus;      /* whole vCPUs the VM gets (--cpus rounded up) */
    uint64_t nano_cpus; /* --cpus as given, in billionths (1.5: 1500000000); 0: cpus */
    uint64_t memory_mib;
    uint64_t disk_bytes;  /* size of the writable disk (--storage-opt size=); 0: the default */
    char *network;        /* "none", "default" */
    char **ports;         /* "ip:host:container/proto", one per published port */
    char **publish;       /* the same ports as asked for ("ip::container/proto": a host port
                           * picked when the container starts), or NULL (every port fixed) */
    struct cz_mount_spec *mounts;
    size_t n_mounts;
    char *kernel;         /* a kernel override, or NULL */
    char *stop_signal;    /* stop's default signal (--stop-signal, image STOPSIGNAL), or NULL */
    int stop_timeout;     /* stop's default seconds before SIGKILL (-1: forever), ... */
    bool stop_timeout_set; /* ... when --stop-timeout gave one */
    int64_t created;      /* unix time */
} cz_container_config;

typedef struct cz_container_state {
    enum cz_container_status status;
    pid_t runtime_pid;    /* container-runtime supervising it, 0 when none */
    uint64_t runtime_start; /* its start time (/proc/PID/stat), against pid reuse */
    int exit_code;        /* when STOPPED: the process's code, 128+signal when killed */
    int64_t started_at;   /* unix time in ns, 0 when never */
    int64_t finished_at;
    char *error;          /* why it FAILED, or NULL */
} cz_container_state;

CZ_PUBLIC const char *cz_container_status_name(enum cz_container_status s);

/* Allocate an id and write config (name must be unique; NULL name: a generated
 * one). Fills c->id and c->name. */
CZ_PUBLIC int cz_container_create(const char *root, cz_container_config *c, cz_error *err);
/* Find by full id, unique id prefix, or name. */
CZ_PUBLIC int cz_container_load(const char *root, const char *ref, cz_container_config *c,
                                cz_container_state *st, cz_error *err);
/* Rewrite an existing container's config (the ports picked when it starts). */
CZ_PUBLIC int cz_container_save_config(const char *root, const cz_container_config *c,
                                       cz_error *err);
CZ_PUBLIC int cz_container_save_state(const char *root, const char *id,
                                      const cz_container_state *st, cz_error *err);
/* Every container (ids, NULL-terminated, allocated). */
CZ_PUBLIC char **cz_container_list(const char *root, cz_error *err);
/* Remove the container's directory (the caller has stopped it). */
CZ_PUBLIC int cz_container_remove(const char *root, const char *id, cz_error *err);
/* ROOT/containers/<id> (allocated). */
CZ_PUBLIC char *cz_container_dir(const char *root, const char *id);
CZ_PUBLIC void cz_container_config_free(cz_container_config *c);
CZ_PUBLIC void cz_container_state_free(cz_container_state *st);
/* The OCI runtime spec (JSON text, allocated) the container's process gets in
 * its VM, with its root filesystem at rootfs (a guest path). */
CZ_PUBLIC char *cz_container_oci_spec(const cz_container_config *c, const char *rootfs,
                                      cz_error *err);
/* Is the supervising runtime still alive? (a crashed one leaves RUNNING behind) */
CZ_PUBLIC bool cz_container_runtime_alive(const cz_container_state *st);
/* A published port as a container's record keeps it: "IP:HOST:CONTAINER/PROTO", HOST
 * empty ("IP::CONTAINER/PROTO") while it is still to be picked; records of older versions
 * have "[IP:]HOST:CONTAINER[/PROTO]" (IP 127.0.0.1, tcp). At most CZ_MAX_PUBLISHED. */
#define CZ_MAX_PUBLISHED 64
struct cz_port_binding {
    char addr[16];      /* IPv4, dotted */
    unsigned host;      /* 0: to be picked */
    unsigned container; /* 1..65535 */
    bool udp;
};
CZ_PUBLIC bool cz_port_binding_parse(const char *s, struct cz_port_binding *b);

/* Why a running container's VM is paused (the host's disk is full): its runtime writes it
 * into RUN_DIR/c-ID/paused (cz_container_paused_path) while it lasts. Allocated; NULL when
 * it is not paused. */
CZ_PUBLIC char *cz_container_paused(const char *id);
CZ_PUBLIC char *cz_container_paused_path(const char *id);
/* A process's start time (/proc/PID/stat field 22), 0 when it does not exist:
 * with the pid it names one process even after pid reuse. */
CZ_PUBLIC uint64_t cz_proc_start_time(pid_t pid);

/* Where a running container's sockets live: $CONTAINER_RUN_DIR (default
 * /run/containerization) / c-<first 16 hex digits of the id> (allocated). Short,
 * because unix socket paths are limited to 107 bytes. */
CZ_PUBLIC char *cz_container_run_dir(const char *id);
/* The runtime's API socket in the run directory (allocated). */
CZ_PUBLIC char *cz_container_runtime_socket(const char *id);
/* The run directory of a runtime that serves `cp` on a container that is not
 * running (container-runtime --maintenance): m-<16 hex digits> beside the
 * container's own, so neither runtime's cleanup touches the other's sockets. */
CZ_PUBLIC char *cz_container_maintenance_dir(const char *id);
/* Where VM templates live: RUN_DIR/templates (allocated). */
CZ_PUBLIC char *cz_container_templates_dir(void);

/* A container's busy lock, ROOT/containers/<id>/busy.lock (flock), taken without
 * waiting. A maintenance runtime holds it for its whole life; a starting runtime
 * while it records RUNNING; a removal while it removes. The holder writes what it
 * does (a phrase: "a copy (container cp) is in progress"), so a refusal says it:
 * EBUSY "container NAME is busy: a copy (container cp) is in progress". ENOENT when
 * the container is gone. Returns the lock's fd (closing it releases the lock). */
CZ_PUBLIC int cz_container_lock_busy(const char *root, const cz_container_config *c,
                                     const char *doing, cz_error *err);
/* The guest kernel and initfs to boot: the override (--kernel) or
 * $CONTAINER_KERNEL, ROOT/kernel/vmlinux, then the one installed beside the
 * program (../kernel/vmlinux from its directory, as in the build tree) or in
 * /usr/lib/containerization; the initfs likewise ($CONTAINER_INITFS,
 * ROOT/kernel/initfs.cpio, ../guest/initfs.cpio, /usr/lib/containerization). */
CZ_PUBLIC int cz_container_guest_files(const char *root, const char *kernel_override,
                                       char **kernel, char **initfs, cz_error *err);

/* The accelerator for the container's VMs: $CONTAINER_VIRTUALIZATION (kvm or tcg,
 * set by --virtualization), else KVM only where a probe guest really boots on it
 * (cached in ROOT/cache/accel), else TCG. *source says how it was chosen. */
CZ_PUBLIC enum cz_accel cz_container_accel(const char *root, const char *kernel,
                                           const char **source);

/* The exit status docker gives a process that could not start, from the gRPC
 * status of the failure: 127 not found, 126 not executable (permission), else 125. */
CZ_PUBLIC int cz_container_start_failure_status(int rpc_status);

/* A user as the container's process gets it. */
struct cz_user {
    uint32_t uid, gid;
    uint32_t gids[64]; /* supplementary groups */
    size_t n_gids;
    char *home;
};
/* Resolve "user[:group]" (names or ids; NULL: root) against the texts of the
 * container's /etc/passwd and /etc/group (either may be empty). */
CZ_PUBLIC int cz_user_resolve(const char *spec, const char *passwd, const char *group,
                              struct cz_user *u, cz_error *err);
CZ_PUBLIC void cz_user_free(struct cz_user *u);
/* Put u into a runtime spec (or a bare process object): process.user, and
 * HOME in the environment when it is not set. */
CZ_PUBLIC int cz_spec_apply_user(char **spec_json, const struct cz_user *u, cz_error *err);
#endif
