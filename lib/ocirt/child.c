/* ocirt: the child side, from the fork to execve. It joins or sets up the
 * namespaces, builds the container's mount tree and pivots into it, sets the
 * terminal, limits, user, capabilities, waits for start, loads seccomp last and
 * execs. Any failure goes back to the parent over the sync socket as one line. */
#include "ocirt_internal.h"

#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static cz_error cerr; /* the child's one error */

static __attribute__((noreturn)) void child_fail(struct cz_ocirt_child *c, int type, int code)
{
    struct cz_sync_msg m = {.type = type, .code = cerr.code};
    snprintf(m.msg, sizeof(m.msg), "%s", cerr.msg);
    (void)send(c->sync_fd, &m, sizeof(m), MSG_NOSIGNAL);
    _exit(code);
}

#define TRY(c, expr)                                                                               \
    do {                                                                                           \
        if ((expr) < 0)                                                                            \
            child_fail((c), CZ_SYNC_ERROR, 1);                                                     \
    } while (0)

static int wait_for(struct cz_ocirt_child *c, int type)
{
    struct cz_sync_msg m;
    ssize_t n;
    do
        n = recv(c->sync_fd, &m, sizeof(m), 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0 || m.type != type)
        _exit(1); /* the parent went away: nothing to report to */
    return 0;
}

/* Move the fds we keep above 2 (so dup2 onto 0..2 cannot clobber them) and close
 * everything else: nothing of the caller's leaks into the container. */
static void keep_only(struct cz_ocirt_child *c)
{
    int *fds[3 + CZ_OCIRT_NS_COUNT + 2];
    int n = 0;
    fds[n++] = &c->sync_fd;
    for (int i = 0; i < 3; i++)
        fds[n++] = &c->stdio[i];
    for (int i = 0; i < CZ_OCIRT_NS_COUNT; i++)
        fds[n++] = &c->join_fds[i];
    fds[n++] = &c->root_fd;
    int moved[CZ_ARRAY_SIZE(fds)];
    for (int i = 0; i < n; i++)
        moved[i] = *fds[i] >= 0 ? fcntl(*fds[i], F_DUPFD_CLOEXEC, 3) : -1;
    for (int i = 0; i < n; i++)
        *fds[i] = moved[i];
    /* sort the kept fds and close the gaps between them */
    int keep[CZ_ARRAY_SIZE(fds)], k = 0;
    for (int i = 0; i < n; i++)
        if (moved[i] >= 0)
            keep[k++] = moved[i];
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned from = 3;
    for (int i = 0; i <= k; i++) {
        unsigned to = i < k ? (unsigned)keep[i] : ~0U;
        if (to > from) {
            if (cz_sys_close_range(from, to - 1, 0) < 0)
                for (unsigned fd = from; fd < to && fd < 4096; fd++)
                    close((int)fd);
        }
        if (i < k)
            from = (unsigned)keep[i] + 1;
    }
}

/* ---- paths inside the rootfs, resolved safely before pivot_root ---- */

static int open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* mkdir -p of path under rootfd, and for a file target an empty file at the end.
 * Returns an O_PATH fd of the target. */
static int make_target(int rootfd, const char *path, bool file)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    size_t len = strlen(buf);
    int parent = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
    if (parent < 0)
        return -1;
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (i > 0 && buf[i - 1] == '/')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        bool last = i == len || strspn(buf + i + 1, "/") == strlen(buf + i + 1);
        int fd = open_in_root(rootfd, buf, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            const char *name = strrchr(buf, '/') + 1;
            if (last && file) {
                int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (f >= 0)
                    close(f);
            } else
                mkdirat(parent, name, 0755);
            fd = open_in_root(rootfd, buf, O_PATH);
        }
        buf[i] = saved;
        close(parent);
        if (fd < 0)
            return -1;
        parent = fd;
        if (last)
            break;
    }
    return parent;
}

static void fdpath(char *out, size_t n, int fd)
{
    snprintf(out, n, "/proc/self/fd/%d", fd);
}

/* Mount flags that a bind remount must keep (locked in a user namespace). */
static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(path, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY)
        f |= MS_RDONLY;
    return f;
}

static int mount_one(int rootfd, const struct cz_ocirt_mount *m, bool userns)
{
    bool file = false;
    struct stat st;
    if (m->bind) {
        if (stat(m->source, &st) < 0)
            return cz_error_errno(&cerr, errno, "mount %s: bind source %s", m->destination,
                                  m->source);
        file = !S_ISDIR(st.st_mode);
    }
    int fd = make_target(rootfd, m->destination, file);
    if (fd < 0)
        return cz_error_errno(&cerr, errno, "mount %s: create the mount point", m->destination);
    char target[64];
    fdpath(target, sizeof(target), fd);
    int r;
    if (m->bind) {
        r = mount(m->source, target, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL);
    } else {
        const char *type = strcmp(m->type, "cgroup") == 0 ? "cgroup2" : m->type;
        const char *data = m->data;
        if (userns && strcmp(type, "devpts") == 0 && data && strstr(data, "gid=5"))
            data = "newinstance,ptmxmode=0666,mode=0620";
        r = mount(m->source, target, type, m->flags & ~MS_REMOUNT, data);
    }
    close(fd);
    if (r < 0)
        return cz_error_errno(&cerr, errno, "mount %s on %s (%s)", m->source, m->destination,
                              m->bind ? "bind" : m->type);
    if ((m->bind && (m->flags & ~MS_REMOUNT)) || m->propagation) {
        fd = open_in_root(rootfd, m->destination, O_PATH);
        if (fd < 0)
            return cz_error_errno(&cerr, errno, "mount %s: reopen", m->destination);
        fdpath(target, sizeof(target), fd);
        if (m->bind && (m->flags & ~MS_REMOUNT)) {
            unsigned long f = MS_BIND | MS_REMOUNT | (m->flags & ~MS_REMOUNT) |
                              (locked_flags(target) & ~m->clear_flags & ~MS_RDONLY);
            r = mount(NULL, target, NULL, f, NULL);
            if (r < 0) {
                close(fd);
                return cz_error_errno(&cerr, errno, "mount %s: remount with its options",
                                      m->destination);
            }
        }
        if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0) {
            close(fd);
            return cz_error_errno(&cerr, errno, "mount %s: set propagation", m->destination);
        }
        close(fd);
    }
    return 0;
}

static bool has_mount(const cz_ocirt_spec *s, const char *dest)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].destination, dest) == 0)
            return true;
    return false;
}

static int make_device(int devfd, const char *name, char type, uint32_t mode, unsigned maj,
                       unsigned min, uint32_t uid, uint32_t gid, const char *hostpath)
{
    mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    unlinkat(devfd, name, 0);
    if (mknodat(devfd, name, fmt | (mode & 07777), makedev(maj, min)) == 0) {
        fchmodat(devfd, name, mode & 07777, 0);
        if (fchownat(devfd, name, uid, gid, 0) < 0 && errno != EINVAL)
            return cz_error_errno(&cerr, errno, "chown /dev/%s", name);
        return 0;
    }
    if (errno != EPERM || !hostpath)
        return cz_error_errno(&cerr, errno, "mknod /dev/%s", name);
    /* In a user namespace mknod is refused: bind the host's node instead. */
    int f = openat(devfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0)
        return cz_error_errno(&cerr, errno, "create /dev/%s", name);
    char target[64];
    fdpath(target, sizeof(target), f);
    int r = mount(hostpath, target, NULL, MS_BIND, NULL);
    close(f);
    if (r < 0)
        return cz_error_errno(&cerr, errno, "bind %s on /dev/%s", hostpath, name);
    return 0;
}

static int setup_dev(int rootfd, const cz_ocirt_spec *s)
{
    int devfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
    if (devfd < 0)
        return cz_error_errno(&cerr, errno, "open /dev in the rootfs");
    static const struct {
        const char *name;
        unsigned maj, min;
    } defaults[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    mode_t old = umask(0);
    int r = 0;
    for (size_t i = 0; i < CZ_ARRAY_SIZE(defaults) && r == 0; i++) {
        char host[32];
        snprintf(host, sizeof(host), "/dev/%s", defaults[i].name);
        r = make_device(devfd, defaults[i].name, 'c', 0666, defaults[i].maj, defaults[i].min, 0, 0,
                        host);
    }
    for (size_t i = 0; i < s->n_devices && r == 0; i++) {
        const struct cz_ocirt_device *d = &s->devices[i];
        const char *rel = d->path + strlen("/dev/");
        if (strchr(rel, '/')) {
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s", d->path);
            *strrchr(dir, '/') = '\0';
            int dfd = make_target(rootfd, dir, false);
            if (dfd >= 0)
                close(dfd);
        }
        int dfd = open_in_root(rootfd, d->path, O_PATH | O_NOFOLLOW);
        if (dfd >= 0)
            close(dfd);
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", d->path);
        *strrchr(parent, '/') = '\0';
        int pfd = open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
        if (pfd < 0) {
            r = cz_error_errno(&cerr, errno, "device %s", d->path);
            break;
        }
        r = make_device(pfd, strrchr(d->path, '/') + 1, d->type == 'u' ? 'c' : d->type, d->mode,
                        (unsigned)d->major, (unsigned)d->minor, d->uid, d->gid, d->path);
        close(pfd);
    }
    umask(old);
    static const char *const links[][2] = {{"ptmx", "pts/ptmx"},
                                           {"fd", "/proc/self/fd"},
                                           {"stdin", "/proc/self/fd/0"},
                                           {"stdout", "/proc/self/fd/1"},
                                           {"stderr", "/proc/self/fd/2"},
                                           {"core", "/proc/kcore"}};
    for (size_t i = 0; i < CZ_ARRAY_SIZE(links) && r == 0; i++) {
        struct stat st;
        if (i == 0 && fstatat(devfd, "ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode))
            unlinkat(devfd, "ptmx", 0);
        if (symlinkat(links[i][1], devfd, links[i][0]) < 0 && errno != EEXIST)
            r = cz_error_errno(&cerr, errno, "symlink /dev/%s", links[i][0]);
    }
    close(devfd);
    return r;
}

static int setup_mounts(struct cz_ocirt_child *c)
{
    const cz_ocirt_spec *s = c->spec;
    bool userns = s->ns[CZ_OCIRT_NS_USER].enabled;
    unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : MS_PRIVATE | MS_REC;
    if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
        return cz_error_errno(&cerr, errno, "make / private");
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return cz_error_errno(&cerr, errno, "bind the rootfs %s", c->rootfs);
    int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cz_error_errno(&cerr, errno, "open the rootfs %s", c->rootfs);
    int r = 0;
    /* /dev is a tmpfs with the default devices unless the spec mounts its own. */
    if (!has_mount(s, "/dev")) {
        struct cz_ocirt_mount dev = {.destination = (char *)"/dev", .type = (char *)"tmpfs",
                                     .source = (char *)"tmpfs", .flags = MS_NOSUID | MS_STRICTATIME,
                                     .data = (char *)"mode=755,size=65536k"};
        r = mount_one(rootfd, &dev, userns);
    }
    for (size_t i = 0; i < s->n_mounts && r == 0; i++)
        r = mount_one(rootfd, &s->mounts[i], userns);
    struct cz_ocirt_mount extra[] = {
        {.destination = (char *)"/dev/pts", .type = (char *)"devpts", .source = (char *)"devpts",
         .flags = MS_NOSUID | MS_NOEXEC, .data = (char *)"newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {.destination = (char *)"/dev/shm", .type = (char *)"tmpfs", .source = (char *)"shm",
         .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC, .data = (char *)"mode=1777,size=65536k"},
        {.destination = (char *)"/dev/mqueue", .type = (char *)"mqueue", .source = (char *)"mqueue",
         .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(extra) && r == 0; i++)
        if (!has_mount(s, extra[i].destination)) {
            /* mqueue belongs to an ipc namespace: only for a new one */
            if (i == 2 && !s->ns[CZ_OCIRT_NS_IPC].enabled)
                continue;
            r = mount_one(rootfd, &extra[i], userns);
        }
    if (r == 0)
        r = setup_dev(rootfd, s);
    close(rootfd);
    return r;
}

static int do_pivot_root(const char *rootfs)
{
    int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (newroot < 0 || oldroot < 0)
        return cz_error_errno(&cerr, errno, "open the rootfs %s", rootfs);
    int r = 0;
    if (fchdir(newroot) < 0)
        r = cz_error_errno(&cerr, errno, "chdir %s", rootfs);
    else if (cz_sys_pivot_root(".", ".") == 0) {
        /* The old root is stacked on "."; detach it without propagating. */
        if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
            umount2(".", MNT_DETACH) < 0)
            r = cz_error_errno(&cerr, errno, "detach the old root");
    } else if (errno == EINVAL) {
        /* The current root is the initramfs (vminitd): pivot_root cannot take
         * it; move the rootfs over / and chroot instead, as switch_root does. */
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
            r = cz_error_errno(&cerr, errno, "move the rootfs %s to /", rootfs);
    } else
        r = cz_error_errno(&cerr, errno, "pivot_root %s", rootfs);
    if (r == 0 && chdir("/") < 0)
        r = cz_error_errno(&cerr, errno, "chdir /");
    close(newroot);
    close(oldroot);
    return r;
}

static int write_file(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    errno = e;
    return n < 0 ? -1 : 0;
}

static int after_pivot(const cz_ocirt_spec *s)
{
    for (size_t i = 0; s->sysctl && s->sysctl[i]; i += 2) {
        char path[512];
        int n = snprintf(path, sizeof(path), "/proc/sys/%s", s->sysctl[i]);
        for (char *p = path + 10; p < path + n; p++)
            if (*p == '.')
                *p = '/';
        if (write_file(path, s->sysctl[i + 1]) < 0)
            return cz_error_errno(&cerr, errno, "sysctl %s=%s", s->sysctl[i], s->sysctl[i + 1]);
    }
    for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++) {
        const char *p = s->masked_paths[i];
        struct stat st;
        if (stat(p, &st) < 0) {
            if (errno == ENOENT)
                continue;
            return cz_error_errno(&cerr, errno, "masked path %s", p);
        }
        int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
                                    : mount("/dev/null", p, NULL, MS_BIND, NULL);
        if (r < 0)
            return cz_error_errno(&cerr, errno, "mask %s", p);
    }
    for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++) {
        const char *p = s->readonly_paths[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return cz_error_errno(&cerr, errno, "readonly path %s", p);
        }
        if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked_flags(p), NULL) <
            0)
            return cz_error_errno(&cerr, errno, "make %s read-only", p);
    }
    if (s->root_readonly &&
        mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), NULL) < 0)
        return cz_error_errno(&cerr, errno, "make the root read-only");
    if (s->hostname && s->hostname[0] && sethostname(s->hostname, strlen(s->hostname)) < 0)
        return cz_error_errno(&cerr, errno, "sethostname %s", s->hostname);
    return 0;
}

/* A new pseudo-terminal of the container's own devpts; the slave becomes the
 * controlling terminal and stdio, the master goes to the parent. */
static int setup_terminal(struct cz_ocirt_child *c, int *master_out)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return cz_error_errno(&cerr, errno, "open /dev/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return cz_error_errno(&cerr, errno, "unlock the pty");
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0)
        return cz_error_errno(&cerr, errno, "open the pty slave");
    if (c->rows || c->cols) {
        struct winsize ws = {.ws_row = (unsigned short)c->rows, .ws_col = (unsigned short)c->cols};
        ioctl(master, TIOCSWINSZ, &ws);
    }
    if (fchown(slave, c->proc->user.uid, (gid_t)-1) < 0 && errno != EINVAL)
        return cz_error_errno(&cerr, errno, "chown the pty");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return cz_error_errno(&cerr, errno, "make the pty the controlling terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            return cz_error_errno(&cerr, errno, "dup the pty");
    if (slave > 2)
        close(slave);
    *master_out = master;
    return 0;
}

static int set_user_and_caps(const struct cz_ocirt_proc *p, bool in_userns)
{
    const struct cz_ocirt_caps *caps = &p->caps;
    int last = 40;
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, buf, sizeof(buf) - 1) > 0)
            last = atoi(buf);
        close(fd);
    }
    uint64_t valid = last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;
    if (caps->present)
        for (int cap = 0; cap <= last; cap++)
            if (!(caps->bounding & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
                errno != EINVAL)
                return cz_error_errno(&cerr, errno, "drop capability %d from the bounding set", cap);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return cz_error_errno(&cerr, errno, "keep capabilities");
    const struct cz_ocirt_user *u = &p->user;
    if (setgroups(u->n_additional_gids, (const gid_t *)u->additional_gids) < 0 &&
        !(in_userns && errno == EPERM && u->n_additional_gids == 0))
        return cz_error_errno(&cerr, errno, "setgroups");
    if (setresgid(u->gid, u->gid, u->gid) < 0)
        return cz_error_errno(&cerr, errno, "setgid %u", u->gid);
    if (setresuid(u->uid, u->uid, u->uid) < 0)
        return cz_error_errno(&cerr, errno, "setuid %u", u->uid);
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (caps->present) {
        if (cz_sys_capset(caps->effective & valid, caps->permitted & valid,
                          caps->inheritable & valid) < 0)
            return cz_error_errno(&cerr, errno, "capset");
        for (int cap = 0; cap <= last; cap++)
            if ((caps->ambient & (1ull << cap)) &&
                prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                return cz_error_errno(&cerr, errno, "raise ambient capability %d", cap);
    }
    if (u->has_umask)
        umask(u->umask);
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return cz_error_errno(&cerr, errno, "set no_new_privs");
    return 0;
}

static const char *env_get(char **env, const char *key)
{
    size_t n = strlen(key);
    for (; env && *env; env++)
        if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* HOME from the container's /etc/passwd when the spec does not set it. */
static char **with_home(char **env, uint32_t uid)
{
    if (env_get(env, "HOME"))
        return env;
    char home[512] = "/";
    FILE *f = fopen("/etc/passwd", "re");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof(line), f)) {
            char *fields[7] = {0};
            int n = 0;
            for (char *p = line, *tok; n < 7 && (tok = strsep(&p, ":\n")); n++)
                fields[n] = tok;
            if (n >= 6 && fields[2] && (uint32_t)strtoul(fields[2], NULL, 10) == uid && fields[5][0]) {
                snprintf(home, sizeof(home), "%s", fields[5]);
                break;
            }
        }
        fclose(f);
    }
    size_t n = 0;
    while (env[n])
        n++;
    char **out = cz_xcalloc(n + 2, sizeof(char *));
    memcpy(out, env, n * sizeof(char *));
    out[n] = cz_xasprintf("HOME=%s", home);
    return out;
}

static __attribute__((noreturn)) void exec_process(struct cz_ocirt_child *c, char **env)
{
    const struct cz_ocirt_proc *p = c->proc;
    const char *arg0 = p->args[0];
    int e;
    if (strchr(arg0, '/')) {
        execve(arg0, p->args, env);
        e = errno;
        cz_error_errno(&cerr, e, "exec %s", arg0);
    } else {
        const char *path = env_get(env, "PATH");
        if (!path)
            path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        bool denied = false;
        e = ENOENT;
        char buf[4096];
        for (const char *dir = path; dir;) {
            const char *end = strchr(dir, ':');
            size_t len = end ? (size_t)(end - dir) : strlen(dir);
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? dir : ".", arg0);
            execve(buf, p->args, env);
            if (errno == EACCES)
                denied = true;
            else if (errno != ENOENT && errno != ENOTDIR) {
                e = errno;
                break;
            }
            dir = end ? end + 1 : NULL;
        }
        if (e == ENOENT && denied)
            e = EACCES;
        if (e == ENOENT)
            cz_error_set(&cerr, ENOENT, "exec %s: executable file not found in $PATH", arg0);
        else
            cz_error_errno(&cerr, e, "exec %s", arg0);
    }
    cerr.code = e;
    child_fail(c, CZ_SYNC_EXEC_FAILED, e == ENOENT ? 127 : 126);
}

void cz_ocirt_child_main(struct cz_ocirt_child *c)
{
    const cz_ocirt_spec *s = c->spec;
    const struct cz_ocirt_proc *p = c->proc;
    cz_error_clear(&cerr);
    keep_only(c);
    wait_for(c, CZ_SYNC_CONTINUE);

    bool userns = s ? s->ns[CZ_OCIRT_NS_USER].enabled : c->join_fds[CZ_OCIRT_NS_USER] >= 0;
    /* Join: the user namespace first, so the others are joined with its rights. */
    if (c->join_fds[CZ_OCIRT_NS_USER] >= 0 && setns(c->join_fds[CZ_OCIRT_NS_USER], CLONE_NEWUSER) < 0)
        TRY(c, cz_error_errno(&cerr, errno, "join the user namespace"));
    for (int ns = 0; ns < CZ_OCIRT_NS_COUNT; ns++) {
        if (ns == CZ_OCIRT_NS_USER || c->join_fds[ns] < 0)
            continue;
        if (setns(c->join_fds[ns], 0) < 0)
            TRY(c, cz_error_errno(&cerr, errno, "join the %s namespace", cz_ocirt_ns_name(ns)));
        close(c->join_fds[ns]);
    }
    if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        TRY(c, cz_error_errno(&cerr, errno, "become root in the user namespace"));
    /* After the parent moved us into the container's cgroup, so that it is the root. */
    if (s && s->ns[CZ_OCIRT_NS_CGROUP].enabled && !s->ns[CZ_OCIRT_NS_CGROUP].path &&
        unshare(CLONE_NEWCGROUP) < 0)
        TRY(c, cz_error_errno(&cerr, errno, "create the cgroup namespace"));
    if (p->has_oom_score_adj) {
        char v[16];
        snprintf(v, sizeof(v), "%d", p->oom_score_adj);
        if (write_file("/proc/self/oom_score_adj", v) < 0)
            TRY(c, cz_error_errno(&cerr, errno, "set oom_score_adj %d", p->oom_score_adj));
    }
    if (s) {
        TRY(c, setup_mounts(c));
        TRY(c, do_pivot_root(c->rootfs));
        TRY(c, after_pivot(s));
    } else {
        if (fchdir(c->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
            TRY(c, cz_error_errno(&cerr, errno, "enter the container's root"));
        close(c->root_fd);
    }

    setsid();
    int master = -1;
    if (c->terminal)
        TRY(c, setup_terminal(c, &master));
    else
        for (int i = 0; i < 3; i++)
            if (dup2(c->stdio[i], i) < 0)
                TRY(c, cz_error_errno(&cerr, errno, "set up stdio"));

    for (size_t i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};
        if (setrlimit(p->rlimits[i].resource, &rl) < 0)
            TRY(c, cz_error_errno(&cerr, errno, "setrlimit %d", p->rlimits[i].resource));
    }
    /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
     * process may be about to lose: load it now (like runc), else just before exec. */
    bool seccomp_early = c->filter && !p->no_new_privileges &&
                         !(p->caps.present && (p->caps.effective & (1ull << 21)) && p->user.uid == 0);
    if (seccomp_early) {
        int e = cz_ocirt_seccomp_load(c->filter);
        if (e < 0)
            TRY(c, cz_error_errno(&cerr, -e, "load the seccomp filter"));
    }
    TRY(c, set_user_and_caps(p, userns));
    if (chdir(p->cwd) < 0)
        TRY(c, cz_error_errno(&cerr, errno, "chdir to %s", p->cwd));
    char **env = with_home(p->env, p->user.uid);

    /* Ready: hand the pty master over, then wait for start. */
    struct cz_sync_msg m = {.type = CZ_SYNC_READY};
    struct iovec iov = {&m, sizeof(m)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (master >= 0) {
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof(u.buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &master, sizeof(int));
    }
    if (sendmsg(c->sync_fd, &mh, MSG_NOSIGNAL) < 0)
        _exit(1);
    if (master >= 0)
        close(master);
    wait_for(c, CZ_SYNC_START);

    sigset_t mask;
    if (c->exec_signals_blocked)
        sigfillset(&mask);
    else
        sigemptyset(&mask);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    cz_sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (c->filter && !seccomp_early) {
        int e = cz_ocirt_seccomp_load(c->filter);
        if (e < 0) {
            cz_error_errno(&cerr, -e, "load the seccomp filter");
            child_fail(c, CZ_SYNC_EXEC_FAILED, 126);
        }
    }
    exec_process(c, env);
}
