/* ocirt internals shared by the spec parser, the cgroup code, the seccomp
 * compiler, the parent side (process.c) and the child side (child.c). */
#ifndef CZ_OCIRT_INTERNAL_H
#define CZ_OCIRT_INTERNAL_H

#include <cz/ocirt.h>

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

void cz_ocirt_strv_free(char **v);
const char *cz_ocirt_ns_name(int ns);

/* ---- raw syscalls (one place, with the numbers glibc may lack) ---- */
int cz_sys_pidfd_open(pid_t pid);
int cz_sys_pidfd_send_signal(int pidfd, int sig);
int cz_sys_pivot_root(const char *new_root, const char *put_old);
long cz_sys_clone_fork(unsigned long flags);
long cz_sys_clone_into_cgroup(unsigned long flags, int cgroup_fd);
int cz_sys_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
int cz_sys_close_range(unsigned first, unsigned last, unsigned flags);

/* ---- seccomp: compiled in the parent, loaded in the child with prctl ---- */
struct cz_ocirt_filter {
    struct sock_filter *insns;
    unsigned short len;
    bool log_flag;
};
int cz_ocirt_seccomp_compile(const struct cz_ocirt_seccomp *s, struct cz_ocirt_filter *out,
                             cz_error *err);
/* In the child: no allocation. Returns -errno. */
int cz_ocirt_seccomp_load(const struct cz_ocirt_filter *f);

/* ---- cgroup v2 ---- */
#define CZ_OCIRT_DEFAULT_CGROUP_PARENT "/sys/fs/cgroup/cz"
/* Create parent/id with the resources applied; *path gets the directory. */
int cz_ocirt_cgroup_create(const char *parent, const char *id, const struct cz_ocirt_resources *r,
                           char **path, cz_error *err);
int cz_ocirt_cgroup_add_pid(const char *path, pid_t pid, cz_error *err);
int cz_ocirt_cgroup_kill(const char *path, int sig, cz_error *err);
/* Kill what is left, wait (bounded) until empty, rmdir. */
int cz_ocirt_cgroup_destroy(const char *path, cz_error *err);
uint64_t cz_ocirt_cgroup_oom_kills(const char *path);
int cz_ocirt_cgroup_stats(const char *path, struct cz_ocirt_stats *out, cz_error *err);

/* ---- parent <-> child sync messages (SOCK_SEQPACKET) ---- */
enum {
    CZ_SYNC_CONTINUE = 1, /* parent: cgroup and id maps are in place, go on */
    CZ_SYNC_READY,        /* child: set up, waiting for start (pty master attached) */
    CZ_SYNC_ERROR,        /* child: setup failed (message) */
    CZ_SYNC_START,        /* parent: exec now */
    CZ_SYNC_EXEC_FAILED,  /* child: execve failed (message); exits 126/127 */
};
struct cz_sync_msg {
    int32_t type;
    int32_t code;
    char msg[CZ_ERROR_MSG_MAX];
};

/* What the child needs, prepared by the parent before the fork. */
struct cz_ocirt_child {
    const cz_ocirt_spec *spec;     /* container spec (init), NULL for exec */
    const struct cz_ocirt_proc *proc;
    const char *rootfs;            /* init: absolute host path of the rootfs */
    int sync_fd;
    int stdio[3];                  /* child ends (or /dev/null) when no terminal */
    bool terminal;
    uint32_t rows, cols;
    const struct cz_ocirt_filter *filter; /* NULL: no seccomp */
    int join_fds[CZ_OCIRT_NS_COUNT];      /* setns these (-1: none); pid is joined by the parent */
    int root_fd;                          /* exec: the container's root directory */
    int keep_fds[16];
    int n_keep;
    bool exec_signals_blocked; /* create option of the same name */
};
/* Never returns. */
__attribute__((noreturn)) void cz_ocirt_child_main(struct cz_ocirt_child *c);

#endif
