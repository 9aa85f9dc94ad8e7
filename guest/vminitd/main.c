/* vminitd: the guest's PID 1. Mounts the basic filesystems, reaps every child,
 * and serves the agent API on the virtio-serial port named cz.agent (or, for
 * tests on the host, on a unix socket: --listen unix:PATH). One single-threaded
 * loop watches the connection, a signalfd and timers. */
#include "vminitd.h"
#include "init.h"

#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <linux/vm_sockets.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

vminitd g_vminitd;

#define AGENT_VSOCK_PORT 1024

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vminitd [--listen unix:PATH|vsock:PORT] [--port DEVICE] "
            "[--cgroup-parent DIR] [--sched-batch] [--debug]\n"
            "  --listen unix:PATH  serve on a unix socket (host tests)\n"
            "  --listen vsock:PORT serve on a vsock port\n"
            "  --port DEVICE       serve on this virtio-serial port device\n"
            "  --cgroup-parent DIR containers' cgroups go under DIR (cgroup v2)\n"
            "  --sched-batch       run as SCHED_BATCH, and so do the processes started\n"
            "                      (faster Stdio, slower wakeups: docs/vminitd.md)\n"
            "  default as PID 1: vsock port %d when the VM has a vsock device, else the\n"
            "  virtio-serial port named cz.agent\n",
            AGENT_VSOCK_PORT);
}

/* The guest's vsock CID, or 0 when there is no vsock device: the transport then
 * reports VMADDR_CID_ANY (a vsock module without a device is common). */
static unsigned vsock_local_cid(void)
{
    int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned cid = VMADDR_CID_ANY;
    int rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
    close(fd);
    return rc < 0 || cid == VMADDR_CID_ANY || cid <= VMADDR_CID_HOST ? 0 : cid;
}

static int listen_vsock(unsigned port, cz_error *err)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cz_error_errno(err, errno, "listen on vsock port %u: socket", port);
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        int e = errno;
        close(fd);
        return cz_error_errno(err, e, "listen on vsock port %u", port);
    }
    return cz_rpc_server_listen_fd(g_vminitd.server, fd, err);
}

int vminitd_check_path(const char *what, const char *path, cz_error *err)
{
    if (!path || path[0] != '/')
        return cz_error_set(err, EINVAL, "%s: path '%s' is not absolute", what, path ? path : "");
    if (strlen(path) >= 4096)
        return cz_error_set(err, ENAMETOOLONG, "%s: path too long", what);
    return 0;
}

/* The basic mounts of a Linux system; a mount that is already there is fine. */
static void mount_basics(void)
{
    static const struct {
        const char *src, *dst, *type;
        unsigned long flags;
        const char *data;
    } m[] = {
        {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
        {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666"},
        {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
        {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
        {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
        {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"binfmt_misc", "/proc/sys/fs/binfmt_misc", "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
         NULL},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(m); i++) {
        mkdir(m[i].dst, 0755);
        if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, m[i].data) < 0 && errno != EBUSY)
            cz_warn("vminitd: mount %s on %s: %s", m[i].type, m[i].dst, strerror(errno));
    }
}

/* /dev/vportNpM of the virtio-serial port with this name; NULL if there is none. */
char *vminitd_find_port(const char *want)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return NULL;
    char *found = NULL;
    size_t wlen = strlen(want);
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cz_autofree char *p = cz_xasprintf("/sys/class/virtio-ports/%s/name", e->d_name);
        char name[64] = "";
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, name, sizeof(name) - 1);
        close(fd);
        if (n > 0 && name[n - 1] == '\n')
            n--;
        if (n == (ssize_t)wlen && memcmp(name, want, wlen) == 0)
            found = cz_xasprintf("/dev/%s", e->d_name);
    }
    closedir(d);
    return found;
}

/* Seconds since the kernel started (for the boot-time line on the console). */
static double uptime_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The agent port stays open for the VM's lifetime: the virtio-console driver discards what
 * the host sent while the port is closed, so closing and reopening it between host
 * connections lost the first bytes (the HTTP/2 preface) of a host that connected meanwhile,
 * and the host stalled. A session (a dup of the port, which the rpc server owns and closes)
 * starts only while the host side is connected: before that, poll() reports POLLHUP and
 * read() returns 0, and poll() does not wake up when the host connects.
 * The driver signals it instead: a port opened with O_ASYNC gets SIGIO (read from the
 * signalfd) when the host connects or sends, so a waiting vminitd starts the session at
 * once and otherwise sleeps. A slow timer remains in case a signal is missed. O_ASYNC is
 * on only while no session runs: it belongs to the open file, which the session shares,
 * and would otherwise raise a SIGIO for every buffer the host sends. */
#define PORT_POLL_MS 100
static int port_fd = -1;
static bool session_active;
static uint64_t wait_timer; /* the pending fallback poll, 0 when none */

static void start_session(cz_loop *loop, void *data);

static void set_port_async(bool on)
{
    int flags = fcntl(port_fd, F_GETFL);
    if (flags < 0 || fcntl(port_fd, F_SETFL, on ? flags | O_ASYNC : flags & ~O_ASYNC) < 0)
        cz_warn("vminitd: %s O_ASYNC on %s: %s", on ? "set" : "clear", g_vminitd.port_path,
                strerror(errno));
}

static bool host_connected(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

/* Wait for a host: SIGIO or the fallback timer calls start_session. Signals are on before
 * the state is checked, so a host that connects in between is not missed. */
static void wait_for_host(cz_loop *loop, uint64_t delay_ms)
{
    set_port_async(true);
    if (wait_timer)
        cz_loop_cancel_timer(loop, wait_timer);
    wait_timer = cz_loop_add_timer(loop, delay_ms, start_session, NULL);
}

/* The host went away: a new host connection gets a fresh session on the same port. */
static void on_disconnect(cz_rpc_server *server, void *data)
{
    session_active = false;
    /* Checked on the next turn of the loop (not inside the server's teardown), at once: a
     * host that reconnected before we noticed the hangup is served without waiting. */
    if (port_fd >= 0)
        wait_for_host(g_vminitd.loop, 0);
}

static void start_session(cz_loop *loop, void *data)
{
    if (wait_timer) { /* called by SIGIO or by the timer itself: the timer is done */
        cz_loop_cancel_timer(loop, wait_timer);
        wait_timer = 0;
    }
    if (session_active)
        return;
    if (!host_connected(port_fd)) {
        wait_for_host(loop, PORT_POLL_MS);
        return;
    }
    cz_error err = {0};
    int fd = fcntl(port_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        cz_error_errno(&err, errno, "dup %s", g_vminitd.port_path);
    if (fd < 0 || cz_rpc_server_add_connection(g_vminitd.server, fd, &err) < 0) {
        cz_warn("vminitd: %s", err.msg);
        wait_for_host(loop, 500);
        return;
    }
    session_active = true;
    set_port_async(false);
}

static void open_port(cz_loop *loop, void *data)
{
    port_fd = open(g_vminitd.port_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (port_fd < 0) {
        cz_warn("vminitd: open %s: %s", g_vminitd.port_path, strerror(errno));
        cz_loop_add_timer(loop, 500, open_port, NULL);
        return;
    }
    if (fcntl(port_fd, F_SETOWN, getpid()) < 0)
        cz_warn("vminitd: F_SETOWN on %s: %s", g_vminitd.port_path, strerror(errno));
    start_session(loop, NULL);
}

static void on_signal(cz_loop *loop, int fd, uint32_t events, void *data)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            /* The one reaper: nothing else waits for children. */
            int status;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                vminitd_process_reaped(pid, status);
        } else if (si.ssi_signo == SIGIO) {
            /* The agent port's host side changed (or sent data) while we waited. */
            if (port_fd >= 0 && !session_active)
                start_session(loop, NULL);
        } else if (!g_vminitd.pid1) {
            cz_loop_stop(loop);
        }
    }
}

int main(int argc, char **argv)
{
    if (vminitd_is_init(argv[0])) /* --init: the container's PID 1 (init.c) */
        return vminitd_init_main(argc, argv);
    const char *listen_path = NULL;
    const char *cgroup_parent = NULL;
    const char *port = NULL;
    long vsock_port = -1;
    bool sched_batch = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            const char *a = argv[++i];
            char *end = NULL;
            if (cz_str_has_prefix(a, "unix:") && a[5]) {
                listen_path = a + 5;
            } else if (cz_str_has_prefix(a, "vsock:") &&
                       (vsock_port = strtol(a + 6, &end, 10)) > 0 && !*end &&
                       vsock_port <= 0xffffffffL) {
            } else {
                fprintf(stderr, "Error: --listen takes unix:PATH or vsock:PORT, not '%s'\n", a);
                return 2;
            }
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (strcmp(argv[i], "--cgroup-parent") == 0 && i + 1 < argc) {
            cgroup_parent = argv[++i];
        } else if (strcmp(argv[i], "--debug") == 0) {
            cz_log_set_level(CZ_LOG_DEBUG);
        } else if (strcmp(argv[i], "--sched-batch") == 0) {
            sched_batch = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (getpid() != 1) {
            /* As PID 1 the kernel passes unknown command-line words: ignore them. */
            usage(stderr);
            return 2;
        }
    }
    /* The VM's init: PID 1 and not a host test (which may be PID 1 of a pid namespace,
     * where mounting over /tmp or powering off is not what anyone wants). */
    g_vminitd.pid1 = getpid() == 1 && !listen_path && vsock_port < 0;
    /* In the VM containers get cgroups under /sys/fs/cgroup/cz; a host test
     * (--listen) gets none unless it names a cgroup v2 directory. */
    vminitd_set_cgroup_parent(cgroup_parent ? cgroup_parent : g_vminitd.pid1 ? NULL : "");
    signal(SIGPIPE, SIG_IGN);
    /* Opt-in: a task that wakes up no longer preempts the running one, for vminitd
     * and (inherited; RESET_ON_FORK would not reset it) every process it starts. A
     * process writing its stdout then fills its pipe before vminitd forwards it, and
     * vminitd forwards a whole pipe without being preempted by the writer: 1.5x the
     * Stdio throughput with one vCPU, but a call or an interactive process waiting on
     * a vCPU kept busy waits for the scheduler tick (docs/vminitd.md). */
    if (sched_batch) {
        struct sched_param sp = {0};
        if (sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
            cz_warn("vminitd: SCHED_BATCH: %s", strerror(errno));
    }
    /* Large message buffers come from mmap and go back to the kernel when freed:
     * the agent's resident memory falls back to ~1 MiB after a big transfer (glibc's
     * default raises the threshold after the first big free and keeps the memory). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
    if (g_vminitd.pid1) {
        cz_debug("vminitd: started %.3f s after boot", uptime_s());
        mount_basics();
        cz_debug("vminitd: mounts done %.3f s after boot", uptime_s());
        setsid();
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGIO); /* the agent port's host connected (see start_session) */
    sigprocmask(SIG_BLOCK, &set, NULL);

    cz_error err = {0};
    g_vminitd.loop = cz_loop_new(&err);
    if (!g_vminitd.loop)
        goto fail;
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        cz_error_errno(&err, errno, "signalfd");
        goto fail;
    }
    if (cz_loop_add_fd(g_vminitd.loop, sfd, CZ_LOOP_IN, on_signal, NULL, &err) < 0)
        goto fail;
    g_vminitd.server = cz_rpc_server_new(g_vminitd.loop, NULL);
    if (vminitd_register_fs(g_vminitd.server, &err) < 0 ||
        vminitd_register_system(g_vminitd.server, &err) < 0 ||
        vminitd_register_copy(g_vminitd.server, &err) < 0 ||
        vminitd_register_network(g_vminitd.server, &err) < 0 ||
        vminitd_register_process(g_vminitd.server, &err) < 0)
        goto fail;
    if (listen_path) {
        if (cz_rpc_server_listen_unix(g_vminitd.server, listen_path, &err) < 0)
            goto fail;
        fprintf(stderr, "vminitd: serving on unix:%s\n", listen_path);
    } else if (vsock_port > 0 || (!port && vsock_local_cid())) {
        unsigned p = vsock_port > 0 ? (unsigned)vsock_port : AGENT_VSOCK_PORT;
        if (listen_vsock(p, &err) < 0)
            goto fail;
        fprintf(stderr, "vminitd: serving on vsock port %u\n", p);
    } else {
        /* The port appears when the virtio-serial driver has talked to the
         * device, which can be after init starts: wait for it, boundedly. */
        g_vminitd.port_path = port;
        for (int i = 0; i < 1000 && !g_vminitd.port_path; i++) {
            g_vminitd.port_path = vminitd_find_port("cz.agent");
            if (!g_vminitd.port_path)
                usleep(5000);
        }
        if (!g_vminitd.port_path) {
            cz_error_set(&err, ENODEV, "no virtio-serial port named cz.agent");
            goto fail;
        }
        cz_rpc_server_on_disconnect(g_vminitd.server, on_disconnect, NULL);
        open_port(g_vminitd.loop, NULL);
        fprintf(stderr, "vminitd: serving on %s (%.3f s after boot)\n", g_vminitd.port_path,
                uptime_s());
    }
    for (;;) {
        if (cz_loop_run(g_vminitd.loop, &err) < 0)
            goto fail;
        if (!g_vminitd.pid1)
            break; /* PID 1 never exits: the kernel would panic */
    }
    cz_rpc_server_free(g_vminitd.server);
    return 0;

fail:
    fprintf(stderr, "vminitd: Error: %s\n", err.msg);
    if (g_vminitd.pid1)
        for (;;)
            pause(); /* keep the VM inspectable rather than panic */
    return 1;
}
