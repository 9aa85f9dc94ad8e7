/* ocirt: the parent side of a container process: prepare everything that can
 * fail early (rootfs, seccomp program, cgroup, stdio), clone the child into its
 * namespaces, move it into the cgroup, wait until it is ready, and afterwards
 * start, signal, resize, reap-notify, stat and delete it. */
#include "ocirt_internal.h"

#include "base/fs.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

enum state { CREATED, RUNNING, EXITED };

struct cz_ocirt_process {
    char *id;
    pid_t pid;
    int pidfd;
    int sync_fd;
    int fds[4];
    bool is_init;
    enum state state;
    char *cgroup; /* the container's cgroup ("" when none) */
    uint64_t oom_kills_at_create;
    struct cz_ocirt_filter filter; /* the container's seccomp program (init keeps it for exec) */
    bool has_filter;
    char *arg0;
    struct cz_ocirt_exit exit;
};

static const int ns_clone_flag[CZ_OCIRT_NS_COUNT] = {
    [CZ_OCIRT_NS_PID] = CLONE_NEWPID,   [CZ_OCIRT_NS_NET] = CLONE_NEWNET,
    [CZ_OCIRT_NS_MOUNT] = CLONE_NEWNS,  [CZ_OCIRT_NS_IPC] = CLONE_NEWIPC,
    [CZ_OCIRT_NS_UTS] = CLONE_NEWUTS,   [CZ_OCIRT_NS_USER] = CLONE_NEWUSER,
    [CZ_OCIRT_NS_CGROUP] = CLONE_NEWCGROUP,
};
static const char *const ns_proc_name[CZ_OCIRT_NS_COUNT] = {
    [CZ_OCIRT_NS_PID] = "pid", [CZ_OCIRT_NS_NET] = "net",       [CZ_OCIRT_NS_MOUNT] = "mnt",
    [CZ_OCIRT_NS_IPC] = "ipc", [CZ_OCIRT_NS_UTS] = "uts",       [CZ_OCIRT_NS_USER] = "user",
    [CZ_OCIRT_NS_CGROUP] = "cgroup",
};

static cz_ocirt_process *process_new(void)
{
    cz_ocirt_process *p = cz_xcalloc(1, sizeof(*p));
    p->pid = -1;
    p->pidfd = p->sync_fd = -1;
    for (int i = 0; i < 4; i++)
        p->fds[i] = -1;
    p->cgroup = cz_xstrdup("");
    return p;
}

static void process_free(cz_ocirt_process *p)
{
    if (!p)
        return;
    for (int i = 0; i < 4; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->sync_fd >= 0)
        close(p->sync_fd);
    free(p->filter.insns);
    free(p->cgroup);
    free(p->id);
    free(p->arg0);
    free(p);
}

static bool valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64 || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-' || id[i] == '.'))
            return false;
    return true;
}

/* Stdio for the child: pipes (the caller keeps the other end), files the caller gave,
 * or /dev/null. */
static int make_stdio(const struct cz_ocirt_stdio *o, bool terminal, int child[3], int host[4],
                      cz_error *err)
{
    child[0] = child[1] = child[2] = -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return cz_error_errno(err, errno, "open /dev/null");
    bool want[3] = {o->stdin_pipe, o->stdout_pipe, o->stderr_pipe};
    bool given[3] = {false, o->stdout_given, o->stderr_given};
    int given_fd[3] = {-1, o->stdout_fd, o->stderr_fd};
    for (int i = 0; i < 3; i++) {
        if (!terminal && given[i]) {
            child[i] = fcntl(given_fd[i], F_DUPFD_CLOEXEC, 0);
            if (child[i] < 0) {
                int e = errno;
                close(null);
                return cz_error_errno(err, e, "stdio: the given file for fd %d", i);
            }
            continue;
        }
        if (terminal || !want[i]) {
            child[i] = fcntl(null, F_DUPFD_CLOEXEC, 0);
            continue;
        }
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0) {
            close(null);
            return cz_error_errno(err, errno, "pipe");
        }
        child[i] = i == 0 ? pp[0] : pp[1];
        host[i] = i == 0 ? pp[1] : pp[0];
    }
    close(null);
    return 0;
}

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

/* Wait (bounded) for the child's answer: READY (maybe with the pty master) or ERROR. */
static int await_ready(cz_ocirt_process *p, int *master, cz_error *err)
{
    *master = -1;
    struct pollfd pf = {.fd = p->sync_fd, .events = POLLIN};
    int r;
    do
        r = poll(&pf, 1, 60000);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return cz_error_set(err, ETIMEDOUT, "the container process did not get ready in 60 s");
    struct cz_sync_msg m;
    struct iovec iov = {&m, sizeof(m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(p->sync_fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cz_error_errno(err, errno, "read from the container process");
    if (n == 0)
        return cz_error_set(err, ECHILD, "the container process died while being set up");
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            memcpy(master, CMSG_DATA(cm), sizeof(int));
    if ((size_t)n < sizeof(m) || m.type != CZ_SYNC_READY) {
        if (*master >= 0)
            close(*master);
        *master = -1;
        m.msg[sizeof(m.msg) - 1] = '\0';
        return cz_error_set(err, m.code ? m.code : EIO, "%s",
                            (size_t)n == sizeof(m) && m.msg[0] ? m.msg : "bad message from the child");
    }
    return 0;
}

static int send_msg(int fd, int type)
{
    struct cz_sync_msg m = {.type = type};
    return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

static int write_idmap(pid_t pid, const char *file, const struct cz_ocirt_idmap *m, size_t n,
                       cz_error *err)
{
    cz_buf b = {0};
    for (size_t i = 0; i < n; i++)
        cz_buf_printf(&b, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int r = 0;
    if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)
        r = cz_error_errno(err, errno, "write %s", file);
    if (fd >= 0)
        close(fd);
    cz_buf_free(&b);
    return r;
}

/* Common tail of create and exec: fork with pid namespace handling, cgroup,
 * continue, ready. c is filled except sync_fd. */
static int spawn(cz_ocirt_process *p, struct cz_ocirt_child *c, unsigned long clone_flags,
                 int join_pid_fd, const cz_ocirt_spec *spec, int host_fds[4], cz_error *err)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return cz_error_errno(err, errno, "socketpair");
    c->sync_fd = sp[1];
    int self_pid_ns = -1;
    if (join_pid_fd >= 0) {
        /* setns(CLONE_NEWPID) only changes where our next child goes. */
        self_pid_ns = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
        if (self_pid_ns < 0 || setns(join_pid_fd, CLONE_NEWPID) < 0) {
            int e = errno;
            if (self_pid_ns >= 0)
                close(self_pid_ns);
            close(sp[0]);
            close(sp[1]);
            return cz_error_errno(err, e, "join the pid namespace");
        }
    }
    /* Born in the container's cgroup when the kernel can (clone3), else moved there below. */
    int cgfd = p->cgroup[0] ? open(p->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    long pid = -1;
    bool in_cgroup = false;
    if (cgfd >= 0) {
        pid = cz_sys_clone_into_cgroup(clone_flags, cgfd);
        in_cgroup = pid >= 0;
        if (pid < 0 && errno != ENOSYS && errno != E2BIG && errno != EINVAL)
            in_cgroup = true; /* a real failure (EAGAIN, ENOMEM...): report it below */
    }
    if (pid < 0 && !in_cgroup)
        pid = cz_sys_clone_fork(clone_flags);
    if (pid == 0) {
        close(sp[0]);
        for (int i = 0; i < 4; i++)
            if (host_fds[i] >= 0)
                close(host_fds[i]);
        cz_ocirt_child_main(c);
    }
    int clone_errno = errno;
    if (cgfd >= 0)
        close(cgfd);
    if (self_pid_ns >= 0) {
        if (setns(self_pid_ns, CLONE_NEWPID) < 0)
            abort(); /* cannot happen: our own namespace; continuing would misplace children */
        close(self_pid_ns);
    }
    close(sp[1]);
    if (pid < 0) {
        close(sp[0]);
        return cz_error_errno(err, clone_errno, "clone the container process");
    }
    p->pid = (pid_t)pid;
    p->sync_fd = sp[0];
    p->pidfd = cz_sys_pidfd_open(p->pid);
    int r = 0;
    if (p->cgroup[0] && !in_cgroup)
        r = cz_ocirt_cgroup_add_pid(p->cgroup, p->pid, err);
    if (r == 0 && spec && spec->n_uid_map) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)p->pid);
        r = write_idmap(p->pid, "uid_map", spec->uid_map, spec->n_uid_map, err);
        if (r == 0)
            r = write_idmap(p->pid, "gid_map", spec->gid_map, spec->n_gid_map, err);
    }
    if (r == 0 && send_msg(p->sync_fd, CZ_SYNC_CONTINUE) < 0)
        r = cz_error_set(err, ECHILD, "the container process died while being set up");
    int master = -1;
    if (r == 0)
        r = await_ready(p, &master, err);
    if (r < 0) {
        if (p->pidfd >= 0)
            cz_sys_pidfd_send_signal(p->pidfd, SIGKILL);
        else
            kill(p->pid, SIGKILL);
        return -1;
    }
    p->fds[CZ_OCIRT_PTY] = master;
    return 0;
}

static void stdio_settings(const struct cz_ocirt_stdio *o, const struct cz_ocirt_proc *proc,
                           struct cz_ocirt_child *c)
{
    c->terminal = o->terminal || proc->terminal;
    c->rows = o->rows ? o->rows : proc->console_rows;
    c->cols = o->cols ? o->cols : proc->console_cols;
}

int cz_ocirt_create(const cz_ocirt_spec *spec, const struct cz_ocirt_create_options *o,
                    cz_ocirt_process **out, cz_error *err)
{
    *out = NULL;
    if (!valid_id(o->id))
        return cz_error_set(err, EINVAL,
                            "invalid container id '%.80s': use 1-64 of [A-Za-z0-9_.-], not starting "
                            "with '.'",
                            o->id ? o->id : "");
    if (!spec->has_process || !spec->root_path)
        return cz_error_set(err, EINVAL, "create %s: the spec has no process or root", o->id);
    /* Resolve the rootfs now, in our namespace. */
    char *joined = spec->root_path[0] == '/' || !o->bundle
                       ? cz_xstrdup(spec->root_path)
                       : cz_xasprintf("%s/%s", o->bundle, spec->root_path);
    char *rootfs = realpath(joined, NULL);
    if (!rootfs) {
        int e = errno;
        cz_error_errno(err, e, "create %s: rootfs %s", o->id, joined);
        free(joined);
        return -1;
    }
    free(joined);
    struct stat st;
    if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
        cz_error_set(err, ENOTDIR, "create %s: rootfs %s is not a directory", o->id, rootfs);
        free(rootfs);
        return -1;
    }

    cz_ocirt_process *p = process_new();
    p->id = cz_xstrdup(o->id);
    p->is_init = true;
    p->arg0 = cz_xstrdup(spec->process.args[0]);
    int child_stdio[3] = {-1, -1, -1};
    int join[CZ_OCIRT_NS_COUNT];
    for (int i = 0; i < CZ_OCIRT_NS_COUNT; i++)
        join[i] = -1;
    int r = 0;
    if (spec->seccomp) {
        r = cz_ocirt_seccomp_compile(spec->seccomp, &p->filter, err);
        p->has_filter = r == 0;
    }
    const char *parent = o->cgroup_parent ? o->cgroup_parent : CZ_OCIRT_DEFAULT_CGROUP_PARENT;
    if (r == 0 && parent[0]) {
        char *cg = NULL;
        r = cz_ocirt_cgroup_create(parent, o->id, &spec->resources, &cg, err);
        if (r == 0) {
            free(p->cgroup);
            p->cgroup = cg;
            p->oom_kills_at_create = cz_ocirt_cgroup_oom_kills(cg);
        }
    }
    unsigned long flags = 0;
    for (int i = 0; i < CZ_OCIRT_NS_COUNT && r == 0; i++) {
        if (!spec->ns[i].enabled)
            continue;
        if (!spec->ns[i].path) {
            /* the cgroup namespace is unshared by the child once inside its cgroup */
            if (i != CZ_OCIRT_NS_CGROUP)
                flags |= (unsigned long)ns_clone_flag[i];
            continue;
        }
        join[i] = open(spec->ns[i].path, O_RDONLY | O_CLOEXEC);
        if (join[i] < 0)
            r = cz_error_errno(err, errno, "open the %s namespace %s", cz_ocirt_ns_name(i),
                               spec->ns[i].path);
    }
    struct cz_ocirt_child c = {.spec = spec, .proc = &spec->process, .rootfs = rootfs,
                               .filter = p->has_filter ? &p->filter : NULL, .root_fd = -1,
                               .exec_signals_blocked = o->exec_signals_blocked};
    stdio_settings(&o->stdio, &spec->process, &c);
    if (r == 0)
        r = make_stdio(&o->stdio, c.terminal, child_stdio, p->fds, err);
    if (r == 0) {
        memcpy(c.stdio, child_stdio, sizeof(c.stdio));
        int pidjoin = join[CZ_OCIRT_NS_PID];
        join[CZ_OCIRT_NS_PID] = -1;
        memcpy(c.join_fds, join, sizeof(join));
        r = spawn(p, &c, flags, pidjoin, spec, p->fds, err);
        if (pidjoin >= 0)
            close(pidjoin);
    }
    close_fds(child_stdio, 3);
    close_fds(join, CZ_OCIRT_NS_COUNT);
    free(rootfs);
    if (r < 0) {
        cz_error_wrap(err, "create %s", o->id);
        if (p->cgroup[0])
            cz_ocirt_cgroup_destroy(p->cgroup, NULL);
        /* A cloned child is killed; the caller's reaper collects it. */
        process_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

static bool same_ns(pid_t pid, const char *name)
{
    char a[64];
    snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, name);
    char b[64];
    snprintf(b, sizeof(b), "/proc/self/ns/%s", name);
    struct stat sa, sb;
    if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
        return false;
    return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

int cz_ocirt_exec(cz_ocirt_process *ct, const cz_ocirt_spec *proc,
                  const struct cz_ocirt_exec_options *o, cz_ocirt_process **out, cz_error *err)
{
    *out = NULL;
    if (!proc->has_process)
        return cz_error_set(err, EINVAL, "exec in %s: no process given", ct->id);
    if (ct->state != RUNNING)
        return cz_error_set(err, ESRCH, "exec in %s: the container is not running", ct->id);
    cz_ocirt_process *p = process_new();
    p->id = cz_xstrdup(ct->id);
    p->arg0 = cz_xstrdup(proc->process.args[0]);
    free(p->cgroup);
    p->cgroup = cz_xstrdup(ct->cgroup);
    int join[CZ_OCIRT_NS_COUNT];
    int child_stdio[3] = {-1, -1, -1};
    for (int i = 0; i < CZ_OCIRT_NS_COUNT; i++)
        join[i] = -1;
    int r = 0;
    for (int i = 0; i < CZ_OCIRT_NS_COUNT && r == 0; i++) {
        if (same_ns(ct->pid, ns_proc_name[i]))
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)ct->pid, ns_proc_name[i]);
        join[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (join[i] < 0)
            r = cz_error_errno(err, errno, "open %s", path);
    }
    char rootpath[64];
    snprintf(rootpath, sizeof(rootpath), "/proc/%d/root", (int)ct->pid);
    int rootfd = r == 0 ? open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    if (r == 0 && rootfd < 0)
        r = cz_error_errno(err, errno, "open %s", rootpath);
    struct cz_ocirt_child c = {.spec = NULL, .proc = &proc->process, .root_fd = rootfd,
                               .filter = ct->has_filter ? &ct->filter : NULL};
    stdio_settings(&o->stdio, &proc->process, &c);
    if (r == 0)
        r = make_stdio(&o->stdio, c.terminal, child_stdio, p->fds, err);
    if (r == 0) {
        memcpy(c.stdio, child_stdio, sizeof(c.stdio));
        int pidjoin = join[CZ_OCIRT_NS_PID];
        join[CZ_OCIRT_NS_PID] = -1;
        memcpy(c.join_fds, join, sizeof(join));
        r = spawn(p, &c, 0, pidjoin, NULL, p->fds, err);
        if (pidjoin >= 0)
            close(pidjoin);
    }
    close_fds(child_stdio, 3);
    close_fds(join, CZ_OCIRT_NS_COUNT);
    if (rootfd >= 0)
        close(rootfd);
    if (r < 0) {
        cz_error_wrap(err, "exec in %s", ct->id);
        process_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int cz_ocirt_start(cz_ocirt_process *p, cz_error *err)
{
    if (p->state != CREATED)
        return cz_error_set(err, EBUSY, "start %s: the process was already started", p->id);
    if (send_msg(p->sync_fd, CZ_SYNC_START) < 0)
        return cz_error_set(err, ECHILD, "start %s: the process is gone", p->id);
    p->state = RUNNING;
    /* EOF: execve closed the socket (close-on-exec); a message: it failed. */
    struct cz_sync_msg m;
    ssize_t n;
    do
        n = recv(p->sync_fd, &m, sizeof(m), 0);
    while (n < 0 && errno == EINTR);
    close(p->sync_fd);
    p->sync_fd = -1;
    if (n == (ssize_t)sizeof(m) && m.type == CZ_SYNC_EXEC_FAILED) {
        m.msg[sizeof(m.msg) - 1] = '\0';
        return cz_error_set(err, m.code, "%s", m.msg);
    }
    if (n != 0)
        return cz_error_set(err, EIO, "start %s: unexpected answer from the process", p->id);
    return 0;
}

pid_t cz_ocirt_pid(const cz_ocirt_process *p)
{
    return p->pid;
}

const char *cz_ocirt_id(const cz_ocirt_process *p)
{
    return p->id;
}

const char *cz_ocirt_cgroup_path(const cz_ocirt_process *p)
{
    return p->cgroup;
}

int cz_ocirt_fd(const cz_ocirt_process *p, enum cz_ocirt_fd which)
{
    return (unsigned)which < 4 ? p->fds[which] : -1;
}

int cz_ocirt_take_fd(cz_ocirt_process *p, enum cz_ocirt_fd which)
{
    if ((unsigned)which >= 4)
        return -1;
    return cz_steal_fd(&p->fds[which]);
}

int cz_ocirt_signal(cz_ocirt_process *p, int sig, bool all, cz_error *err)
{
    if (sig <= 0 || sig >= NSIG)
        return cz_error_set(err, EINVAL, "signal %s: invalid signal %d", p->id, sig);
    if (all && p->cgroup[0]) {
        if (cz_ocirt_cgroup_kill(p->cgroup, sig, err) < 0)
            return cz_error_wrap(err, "signal %s", p->id);
        return 0;
    }
    if (p->state == EXITED)
        return 0;
    int r = p->pidfd >= 0 ? cz_sys_pidfd_send_signal(p->pidfd, sig) : kill(p->pid, sig);
    if (r < 0 && errno != ESRCH)
        return cz_error_errno(err, errno, "signal %s (pid %d)", p->id, (int)p->pid);
    return 0;
}

int cz_ocirt_resize_pty(cz_ocirt_process *p, uint32_t rows, uint32_t cols, cz_error *err)
{
    if (p->fds[CZ_OCIRT_PTY] < 0)
        return cz_error_set(err, ENOTTY, "resize %s: the process has no terminal", p->id);
    if (rows > 65535 || cols > 65535)
        return cz_error_set(err, EINVAL, "resize %s: %ux%u is too large", p->id, rows, cols);
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(p->fds[CZ_OCIRT_PTY], TIOCSWINSZ, &ws) < 0)
        return cz_error_errno(err, errno, "resize %s", p->id);
    return 0;
}

int cz_ocirt_close_stdin(cz_ocirt_process *p, cz_error *err)
{
    if (p->fds[CZ_OCIRT_PTY] >= 0) {
        /* A terminal has no separate input to close: send the EOF character. */
        struct termios t;
        char eof = tcgetattr(p->fds[CZ_OCIRT_PTY], &t) == 0 ? (char)t.c_cc[VEOF] : 4;
        if (write(p->fds[CZ_OCIRT_PTY], &eof, 1) < 0 && errno != EIO)
            return cz_error_errno(err, errno, "close stdin of %s", p->id);
        return 0;
    }
    if (p->fds[CZ_OCIRT_STDIN] >= 0) {
        close(p->fds[CZ_OCIRT_STDIN]);
        p->fds[CZ_OCIRT_STDIN] = -1;
    }
    return 0;
}

int cz_ocirt_decode_status(int st, int *sig)
{
    if (WIFSIGNALED(st)) {
        if (sig)
            *sig = WTERMSIG(st);
        return 128 + WTERMSIG(st);
    }
    if (sig)
        *sig = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

bool cz_ocirt_reaped(cz_ocirt_process *p, pid_t pid, int st)
{
    if (!p || pid != p->pid || p->state == EXITED || !(WIFEXITED(st) || WIFSIGNALED(st)))
        return false;
    p->state = EXITED;
    p->exit.exited = true;
    p->exit.status = cz_ocirt_decode_status(st, &p->exit.signal);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->exit.exited_at_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (p->cgroup[0])
        p->exit.oom_killed = cz_ocirt_cgroup_oom_kills(p->cgroup) > p->oom_kills_at_create;
    if (p->sync_fd >= 0) {
        close(p->sync_fd);
        p->sync_fd = -1;
    }
    return true;
}

void cz_ocirt_exit_status(const cz_ocirt_process *p, struct cz_ocirt_exit *out)
{
    *out = p->exit;
}

int cz_ocirt_delete(cz_ocirt_process *p, bool force, cz_error *err)
{
    if (!p)
        return 0;
    if (p->state != EXITED && !force) {
        /* A created process that never started may go: it has run nothing. */
        if (p->state != CREATED) {
            int r = cz_error_set(err, EBUSY, "delete %s: the process is still running", p->id);
            return r;
        }
    }
    int r = 0;
    if (p->state != EXITED)
        cz_ocirt_signal(p, SIGKILL, false, NULL);
    if (p->is_init && p->cgroup[0] && cz_ocirt_cgroup_destroy(p->cgroup, err) < 0)
        r = cz_error_wrap(err, "delete %s", p->id);
    process_free(p);
    return r;
}

int cz_ocirt_stats(const cz_ocirt_process *p, struct cz_ocirt_stats *out, cz_error *err)
{
    if (!p->cgroup[0])
        return cz_error_set(err, ENOENT, "stats %s: the container has no cgroup", p->id);
    if (cz_ocirt_cgroup_stats(p->cgroup, out, err) < 0)
        return cz_error_wrap(err, "stats %s", p->id);
    return 0;
}

int cz_ocirt_mount_overlay(const char *lower, const char *upper, const char *work,
                           const char *target, cz_error *err)
{
    const char *paths[] = {lower, upper, work, target};
    const char *names[] = {"lower", "upper", "work", "target"};
    for (int i = 0; i < 4; i++) {
        if (!paths[i] || paths[i][0] != '/')
            return cz_error_set(err, EINVAL, "overlay: the %s directory must be an absolute path",
                                names[i]);
        if (strpbrk(paths[i], ",:\\") || strlen(paths[i]) > 1024)
            return cz_error_set(err, EINVAL, "overlay: the %s directory '%s' has a ',', ':' or '\\'",
                                names[i], paths[i]);
    }
    struct stat st;
    if (stat(lower, &st) < 0 || !S_ISDIR(st.st_mode))
        return cz_error_set(err, ENOENT, "overlay: the lower directory %s does not exist", lower);
    for (int i = 1; i < 4; i++)
        if (cz_mkdir_p(paths[i], 0755, err) < 0)
            return cz_error_wrap(err, "overlay");
    char *data = cz_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
    int r = 0;
    if (mount("overlay", target, "overlay", 0, data) < 0)
        r = cz_error_errno(err, errno, "mount overlay on %s (lower %s, upper %s)", target, lower,
                           upper);
    free(data);
    return r;
}
