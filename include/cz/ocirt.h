/* ocirt: a small OCI runtime library (like a tiny crun) for vminitd. It turns an
 * OCI runtime spec into a created, then started, container process in fresh
 * namespaces, pivot_rooted into its rootfs and placed in a cgroup v2, and controls
 * it: signals, pty resize, stdin close, exit status, exec, stats, delete.
 * The caller owns the event loop and the single reaper (waitpid); this module
 * hands out fds and is told about exits. See docs/ocirt.md. */
#ifndef CZ_OCIRT_H
#define CZ_OCIRT_H

#include <cz/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---------------- the parsed spec ---------------- */

#define CZ_OCIRT_SPEC_MAX (4u << 20) /* largest config.json accepted */

struct cz_ocirt_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft, hard;
};

/* The five capability sets as bitmasks (bit n = capability n). */
struct cz_ocirt_caps {
    bool present; /* false: capabilities left as they are (full root) */
    uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct cz_ocirt_user {
    uint32_t uid, gid;
    uint32_t *additional_gids;
    size_t n_additional_gids;
    bool has_umask;
    uint32_t umask;
};

/* The OCI "process" object. */
struct cz_ocirt_proc {
    char **args; /* NULL-terminated, at least one */
    char **env;  /* NULL-terminated, "KEY=VALUE" */
    char *cwd;   /* absolute */
    struct cz_ocirt_user user;
    bool terminal;
    uint32_t console_rows, console_cols;
    struct cz_ocirt_rlimit *rlimits;
    size_t n_rlimits;
    struct cz_ocirt_caps caps;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
};

struct cz_ocirt_mount {
    char *destination; /* absolute, inside the container */
    char *type;        /* NULL for a bind mount */
    char *source;
    unsigned long flags;       /* MS_* set by options */
    unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, ...) */
    unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (|MS_REC) */
    bool bind, recursive;
    char *data; /* the remaining options joined with commas, or NULL */
};

enum cz_ocirt_ns {
    CZ_OCIRT_NS_PID,
    CZ_OCIRT_NS_NET,
    CZ_OCIRT_NS_MOUNT,
    CZ_OCIRT_NS_IPC,
    CZ_OCIRT_NS_UTS,
    CZ_OCIRT_NS_USER,
    CZ_OCIRT_NS_CGROUP,
    CZ_OCIRT_NS_COUNT
};

struct cz_ocirt_namespace {
    bool enabled; /* listed in linux.namespaces */
    char *path;   /* join this one instead of creating a new one */
};

struct cz_ocirt_idmap {
    uint32_t container_id, host_id, size;
};

struct cz_ocirt_device {
    char *path;
    char type; /* 'c', 'b', 'u' or 'p' */
    int64_t major, minor;
    uint32_t mode; /* fileMode, 0666 when absent */
    uint32_t uid, gid;
};

/* linux.resources, cgroup v2 view; -1 means "not set". */
struct cz_ocirt_resources {
    int64_t memory_limit, memory_reservation, memory_swap;
    int64_t cpu_shares, cpu_quota, cpu_period;
    char *cpu_cpus, *cpu_mems;
    int64_t pids_limit;
    int64_t io_weight;
    char **unified; /* linux.resources.unified: key, value, key, value, ..., NULL */
};

struct cz_ocirt_seccomp_arg {
    unsigned index;
    uint64_t value, value_two;
    int op; /* enum scmp_compare */
};

struct cz_ocirt_seccomp_rule {
    char **names; /* NULL-terminated */
    uint32_t action; /* SCMP_ACT_* (with the errno folded in) */
    struct cz_ocirt_seccomp_arg *args;
    size_t n_args;
};

struct cz_ocirt_seccomp {
    uint32_t default_action;
    uint32_t *archs; /* SCMP_ARCH_* */
    size_t n_archs;
    struct cz_ocirt_seccomp_rule *rules;
    size_t n_rules;
    bool log_flag; /* SECCOMP_FILTER_FLAG_LOG */
};

typedef struct cz_ocirt_spec {
    struct cz_ocirt_proc process;
    bool has_process;
    char *hostname;
    char *root_path; /* as written; relative to the bundle when not absolute */
    bool root_readonly;
    struct cz_ocirt_mount *mounts;
    size_t n_mounts;
    struct cz_ocirt_namespace ns[CZ_OCIRT_NS_COUNT];
    struct cz_ocirt_idmap *uid_map, *gid_map;
    size_t n_uid_map, n_gid_map;
    char **masked_paths, **readonly_paths; /* NULL-terminated */
    char **sysctl;                         /* key, value, key, value, ..., NULL */
    struct cz_ocirt_resources resources;
    struct cz_ocirt_seccomp *seccomp; /* NULL when absent */
    struct cz_ocirt_device *devices;
    size_t n_devices;
    unsigned long rootfs_propagation; /* 0: MS_PRIVATE|MS_REC */
} cz_ocirt_spec;

/* Parse and validate a whole config.json. */
CZ_PUBLIC int cz_ocirt_spec_parse(const char *json, size_t len, cz_ocirt_spec **out, cz_error *err);
/* Parse only an OCI "process" object (for exec): the rest of the spec stays empty. */
CZ_PUBLIC int cz_ocirt_process_parse(const char *json, size_t len, cz_ocirt_spec **out,
                                     cz_error *err);
CZ_PUBLIC void cz_ocirt_spec_free(cz_ocirt_spec *spec);

/* Capability name ("CAP_NET_ADMIN") to number, -1 when unknown. */
CZ_PUBLIC int cz_ocirt_cap_from_name(const char *name);

/* ---------------- processes ---------------- */

typedef struct cz_ocirt_process cz_ocirt_process;

struct cz_ocirt_stdio {
    bool stdin_pipe;  /* a pipe for stdin; otherwise /dev/null */
    bool stdout_pipe; /* a pipe for stdout; otherwise /dev/null */
    bool stderr_pipe; /* a pipe for stderr; otherwise /dev/null (ignored with a terminal) */
    bool terminal;    /* a pseudo-terminal (also when process.terminal is true) */
    uint32_t rows, cols; /* initial size; 0: process.consoleSize, else the kernel's */
    /* stdout/stderr are these open files instead (the child gets a duplicate; the caller
     * keeps its own): set the fd and its flag. Ignored with a terminal. */
    bool stdout_given, stderr_given;
    int stdout_fd, stderr_fd;
};

struct cz_ocirt_create_options {
    const char *id;            /* container id: the cgroup's name; [A-Za-z0-9_.-], <= 64 */
    const char *bundle;        /* directory a relative root.path is relative to; NULL: cwd */
    const char *cgroup_parent; /* NULL: /sys/fs/cgroup/cz; "" : no cgroup */
    struct cz_ocirt_stdio stdio;
    /* Exec the process with every signal blocked (an init that takes them with sigwaitinfo
     * and gives its child an empty mask): PID 1 of a pid namespace drops a signal it neither
     * handles nor blocks, so one sent between the exec and the init's first instruction
     * would be lost. Others get an empty mask, as the OCI runtimes give. */
    bool exec_signals_blocked;
};

struct cz_ocirt_exec_options {
    struct cz_ocirt_stdio stdio;
};

/* Create a container's init process: namespaces, mounts, pivot_root, cgroup and
 * the rest are set up and the child waits for cz_ocirt_start. The caller's reaper
 * must report the child's exit (cz_ocirt_reaped) whatever happens later.
 * The process is cloned from the calling thread: call it from a process whose other
 * threads (if any) do not hold the malloc lock (vminitd is single-threaded). */
CZ_PUBLIC int cz_ocirt_create(const cz_ocirt_spec *spec, const struct cz_ocirt_create_options *o,
                              cz_ocirt_process **out, cz_error *err);
/* Create a process that joins container's namespaces, root and cgroup. proc must
 * have a process object (cz_ocirt_process_parse). The container's seccomp filter applies. */
CZ_PUBLIC int cz_ocirt_exec(cz_ocirt_process *container, const cz_ocirt_spec *proc,
                            const struct cz_ocirt_exec_options *o, cz_ocirt_process **out,
                            cz_error *err);
/* Let a created process exec. Fails (ENOENT/EACCES/...) with "exec ARG0: why" when the
 * executable cannot run; the child then exits with 127 (not found) or 126. */
CZ_PUBLIC int cz_ocirt_start(cz_ocirt_process *p, cz_error *err);

/* The process's pid in the caller's pid namespace. */
CZ_PUBLIC pid_t cz_ocirt_pid(const cz_ocirt_process *p);
CZ_PUBLIC const char *cz_ocirt_id(const cz_ocirt_process *p);

enum cz_ocirt_fd { CZ_OCIRT_STDIN, CZ_OCIRT_STDOUT, CZ_OCIRT_STDERR, CZ_OCIRT_PTY };
/* The host end of a stdio stream (still owned by p), or -1. */
CZ_PUBLIC int cz_ocirt_fd(const cz_ocirt_process *p, enum cz_ocirt_fd which);
/* Take ownership of it (p forgets it); -1 when there is none. */
CZ_PUBLIC int cz_ocirt_take_fd(cz_ocirt_process *p, enum cz_ocirt_fd which);

/* Send sig to the process, or with all to every process of its container's cgroup
 * (SIGKILL through cgroup.kill). A process that already exited is not an error. */
CZ_PUBLIC int cz_ocirt_signal(cz_ocirt_process *p, int sig, bool all, cz_error *err);
CZ_PUBLIC int cz_ocirt_resize_pty(cz_ocirt_process *p, uint32_t rows, uint32_t cols,
                                  cz_error *err);
/* The process reads EOF: the stdin pipe is closed (on a terminal, an EOF character is sent). */
CZ_PUBLIC int cz_ocirt_close_stdin(cz_ocirt_process *p, cz_error *err);

/* Called by the caller's reaper for every reaped child: true when pid was p's
 * (its status is recorded), false otherwise. */
CZ_PUBLIC bool cz_ocirt_reaped(cz_ocirt_process *p, pid_t pid, int wait_status);

struct cz_ocirt_exit {
    bool exited;          /* false while it runs */
    int status;           /* exit code, or 128 + signal */
    int signal;           /* the killing signal, 0 when it exited by itself */
    int64_t exited_at_ns; /* CLOCK_REALTIME */
    bool oom_killed;      /* the cgroup's oom_kill count rose while it ran */
};
CZ_PUBLIC void cz_ocirt_exit_status(const cz_ocirt_process *p, struct cz_ocirt_exit *out);
/* Decode a waitpid status: exit code, or 128 + signal. */
CZ_PUBLIC int cz_ocirt_decode_status(int wait_status, int *signal);

/* Forget a process. A running one is refused (EBUSY) unless force (then it and, for
 * a container's init, its cgroup are killed). For an init: every leftover process of
 * the cgroup is killed and the cgroup removed. Frees p even on error. */
CZ_PUBLIC int cz_ocirt_delete(cz_ocirt_process *p, bool force, cz_error *err);

struct cz_ocirt_io_stat {
    uint32_t major, minor;
    uint64_t rbytes, wbytes, rios, wios;
};
struct cz_ocirt_stats {
    uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
    uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec;
    uint64_t mem_current, mem_limit /* 0: max */, mem_swap, mem_anon, mem_file;
    uint64_t mem_high_events, mem_max_events, mem_oom_events, mem_oom_kill_events;
    uint64_t pids_current, pids_limit /* 0: max */;
    struct cz_ocirt_io_stat io[16];
    size_t n_io;
};
/* Resource usage of p's container (its cgroup). */
CZ_PUBLIC int cz_ocirt_stats(const cz_ocirt_process *p, struct cz_ocirt_stats *out,
                             cz_error *err);
/* The container's cgroup directory ("" when it has none). */
CZ_PUBLIC const char *cz_ocirt_cgroup_path(const cz_ocirt_process *p);

/* Mount an overlay at target: lower read-only, upper and work directories on
 * the same writable filesystem (created when missing). */
CZ_PUBLIC int cz_ocirt_mount_overlay(const char *lower, const char *upper, const char *work,
                                     const char *target, cz_error *err);

#endif
