/* Virtual machines: a validated configuration, a VMM backend behind an ops
 * table (QEMU microvm today), a QMP control channel, and the accelerator
 * probe (KVM where a guest really runs on it, else TCG). */
#ifndef CZ_VM_H
#define CZ_VM_H

#include <cz/error.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cz_accel { CZ_ACCEL_AUTO = 0, CZ_ACCEL_KVM, CZ_ACCEL_TCG };

struct cz_vm_disk {
    const char *path; /* raw image file */
    bool readonly;
};

/* A host directory over 9p; or a regular file: the VM then sees it as the only entry (under
 * its own name) of a directory RUN_DIR/share-TAG, bind-mounted there in QEMU's own mount
 * namespace (the file's siblings stay out of the VM; needs CAP_SYS_ADMIN). */
struct cz_vm_share {
    const char *tag;
    const char *path;
    bool readonly;
};

struct cz_vm_port { /* user-mode networking: host 127.0.0.1:host_port -> guest port */
    uint16_t host_port;
    uint16_t guest_port;
    bool udp;
    const char *host_addr; /* NULL: 127.0.0.1 */
};

enum cz_vm_net_kind { CZ_VM_NET_NONE = 0, CZ_VM_NET_USER, CZ_VM_NET_TAP };

struct cz_vm_net {
    enum cz_vm_net_kind kind;
    const char *tap;       /* CZ_VM_NET_TAP: existing tap device name */
    const char *mac;       /* NULL: derived from the VM name */
    const struct cz_vm_port *ports;
    size_t n_ports;
};

#define CZ_VM_MAX_DISKS 16
#define CZ_VM_MAX_SHARES 16

struct cz_vm_config {
    const char *name;        /* for logs and the MAC address */
    const char *qemu;        /* NULL: qemu-system-x86_64 from PATH */
    const char *kernel;      /* uncompressed vmlinux (PVH) or bzImage */
    const char *initrd;      /* initfs cpio */
    const char *cmdline;     /* appended to the fast-boot defaults; may be NULL */
    unsigned cpus;           /* 1..64 */
    uint64_t memory_mib;     /* 64..(host RAM) */
    enum cz_accel accel;     /* AUTO: probed */
    const struct cz_vm_disk *disks;
    size_t n_disks;
    const struct cz_vm_share *shares;
    size_t n_shares;
    struct cz_vm_net net;
    const char *run_dir;     /* where the VM's sockets go (must exist) */
    const char *console_log; /* serial console appended here; NULL: discarded */
    bool vsock;              /* agent over vhost-vsock instead of virtio-serial */
    uint32_t vsock_cid;
    /* Two more virtio-serial ports, cz.out and cz.err, for a process's output written
     * straight into them (the agent's StdioOptions.direct_output); their host ends are
     * unix sockets QEMU serves (cz_vm_output_socket). */
    bool output_ports;
    /* Restore this template (made by cz_vm_template_build for a configuration with the
     * same cz_vm_template_key) instead of booting; NULL: boot. */
    const char *template_dir;
};

/* Check everything that can be checked before starting anything: files,
 * sizes, counts, names, the accelerator. */
CZ_PUBLIC int cz_vm_config_validate(const struct cz_vm_config *c, cz_error *err);

typedef struct cz_vm cz_vm;

/* Start the VM (QEMU runs in the background; its pid is the caller's to reap). */
CZ_PUBLIC int cz_vm_start(const struct cz_vm_config *c, cz_vm **out, cz_error *err);
CZ_PUBLIC pid_t cz_vm_pid(const cz_vm *vm);
/* The host end of the agent channel: a unix socket path QEMU serves. */
CZ_PUBLIC const char *cz_vm_agent_socket(const cz_vm *vm);
/* The host end of cz.out (stream 0) or cz.err (1): a unix socket path QEMU serves; NULL
 * without output_ports. */
CZ_PUBLIC const char *cz_vm_output_socket(const cz_vm *vm, int stream);
CZ_PUBLIC enum cz_accel cz_vm_accel(const cz_vm *vm);
/* Run one QMP command (JSON object text); the "return" member as JSON text. */
CZ_PUBLIC int cz_vm_qmp(cz_vm *vm, const char *command, char **reply, cz_error *err);
/* "running", "paused", "shutdown", ... from query-status. */
CZ_PUBLIC int cz_vm_status(cz_vm *vm, char **status, cz_error *err);
/* Events from the VMM: what the VM's owner must hear of without asking. */
enum cz_vm_event_kind {
    CZ_VM_EVENT_OTHER = 0,
    CZ_VM_EVENT_STOPPED,    /* the VM's vCPUs stopped (for a disk error, after DISK_ERROR) */
    CZ_VM_EVENT_RESUMED,    /* they run again */
    CZ_VM_EVENT_DISK_ERROR, /* a disk request failed (disk, nospace, paused) */
};
struct cz_vm_event {
    enum cz_vm_event_kind kind;
    char name[64];    /* the VMM's own name for it */
    int disk;         /* DISK_ERROR: index into the config's disks, -1 unknown */
    bool nospace;     /* DISK_ERROR: the host's filesystem is full */
    bool paused;      /* DISK_ERROR: the VM was stopped for it (it retries when resumed) */
    char reason[256]; /* DISK_ERROR: the host's error text */
};
/* The fd to watch for events (connected on the first call; owned by the VM). */
CZ_PUBLIC int cz_vm_events_fd(cz_vm *vm, cz_error *err);
/* The next event that has arrived: 1 with *ev, 0 when none is pending, -1 when the channel
 * is closed (the VM exited) or broken. Never blocks. */
CZ_PUBLIC int cz_vm_event_next(cz_vm *vm, struct cz_vm_event *ev, cz_error *err);
/* Resume a stopped VM (QMP cont). */
CZ_PUBLIC int cz_vm_resume(cz_vm *vm, cz_error *err);

/* Stop at once (QMP quit, SIGKILL if QEMU does not answer). Does not reap. */
CZ_PUBLIC void cz_vm_kill(cz_vm *vm);
/* Tell the VM object its process is gone (the caller's reaper saw it). */
CZ_PUBLIC void cz_vm_exited(cz_vm *vm, int wait_status);
/* Free the handle, removing its sockets (kills QEMU if still running). */
CZ_PUBLIC void cz_vm_free(cz_vm *vm);

/* The argv QEMU would get for c (NULL-terminated, allocated): for tests,
 * `container system info` and --debug. */
CZ_PUBLIC char **cz_vm_argv(const struct cz_vm_config *c, enum cz_accel accel, cz_error *err);

/* --- templates ---
 * A template is a VM booted once until its init is ready, then saved by the VMM (RAM and
 * devices' state, into one file). A VM of the same layout starts by loading that state
 * instead of booting. The placeholder disks the template booted with had the real disks'
 * sizes (they are in the key), but the guest still holds blocks it read from them and the
 * template's random state: its init must drop those caches and reseed (the agent's
 * Restored call) before anything else. (RAM is copied, not mapped from a
 * shared file: QEMU 7.2 punches holes into a privately mapped RAM file when the guest
 * reports free pages, which would zero pages under every other VM of the template.) */

/* What a template for c must match: a hash over QEMU, kernel and initfs (their files'
 * identities) and everything the guest sees when it boots (command line, CPUs, memory,
 * accelerator, the number, kind and size of the disks, the shares' tags, the network
 * kind).
 * Allocated hex (32 digits); NULL with err when c cannot start from a template (vsock, a tap
 * device, an explicit MAC address). */
CZ_PUBLIC char *cz_vm_template_key(const struct cz_vm_config *c, enum cz_accel accel,
                                   cz_error *err);

/* Build the template for c into dir (which must not exist; made atomically: a crash
 * leaves only DIR.tmp-PID): boot c's layout with empty placeholder disks and shares
 * until `ready` appears on the console (within timeout_ms), save, quit. An
 * existing dir (another builder won) is success. */
CZ_PUBLIC int cz_vm_template_build(const struct cz_vm_config *c, enum cz_accel accel,
                                   const char *dir, const char *ready, int timeout_ms,
                                   cz_error *err);

/* Decide the accelerator: KVM only where a guest really boots on it. The
 * answer is cached in cache_file (keyed by host kernel, QEMU and guest kernel)
 * so only the first call pays for a probe boot. probe_kernel/probe_initrd boot
 * a guest that prints `marker` on its console. */
CZ_PUBLIC enum cz_accel cz_accel_probe(const char *cache_file, const char *qemu,
                                       const char *probe_kernel, const char *probe_initrd,
                                       const char *marker);
CZ_PUBLIC const char *cz_accel_name(enum cz_accel a);

#endif
