/* VM lifecycle on top of a VMM backend: validation before anything starts,
 * spawning the VMM with a clean fd table and signal state, the control
 * channel, and teardown that removes every socket it made. */
#include <cz/vm.h>

#include "base/fs.h"
#include "base/log.h"
#include "vm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

void cz_argv_add(struct cz_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = cz_xrealloc(a->v, a->cap * sizeof(char *));
    }
    a->v[a->n++] = cz_xstrdup(s);
    a->v[a->n] = NULL;
}

void cz_argv_addf(struct cz_argv *a, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    cz_argv_add(a, s);
    free(s);
}

void cz_argv_free(struct cz_argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

const char *cz_accel_name(enum cz_accel a)
{
    return a == CZ_ACCEL_KVM ? "kvm" : a == CZ_ACCEL_TCG ? "tcg" : "auto";
}

/* Host TSC frequency in kHz, so the guest skips calibrating it (slow under TCG, and it
 * can hang when the host is loaded). From "bogomips": on x86 the kernel derives it from its
 * TSC calibration (loops_per_jiffy = tsc_khz * 1000 / HZ, bogomips = tsc_khz / 500), so it
 * stays put, where "cpu MHz" is the current frequency on a host that scales it: a guest
 * told that would keep a wrong clock rate (microvm has no timer to refine it against).
 * "cpu MHz" only where there is no "bogomips" line. */
static unsigned long host_khz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return 0;
    char line[256];
    double mhz = 0, bogomips = 0;
    while (fgets(line, sizeof(line), f) && !(mhz > 0 && bogomips > 0)) {
        if (mhz <= 0)
            sscanf(line, "cpu MHz : %lf", &mhz);
        if (bogomips <= 0)
            sscanf(line, "bogomips : %lf", &bogomips);
    }
    fclose(f);
    if (bogomips > 0)
        return (unsigned long)(bogomips * 500 + 0.5);
    return (unsigned long)(mhz * 1000);
}

/* kernel/config/common.fragment's CONFIG_HZ (tests/integration/kernel_config.sh checks) */
#define CZ_GUEST_HZ 100

char *cz_vm_default_cmdline(enum cz_accel accel)
{
    /* kernel/cmdline.txt says what each word is worth (docs/kernel.md has the measurements);
     * tests/unit/vm_test.c keeps the two in step. */
    unsigned long khz = host_khz();
    cz_buf b = {0};
    cz_buf_printf(&b, "console=ttyS0 quiet panic=-1 reboot=t no_timer_check noreplace-smp");
    if (accel == CZ_ACCEL_TCG)
        cz_buf_printf(&b, " noapictimer"); /* TCG has no TSC-deadline timer */
    if (khz)
        cz_buf_printf(&b, " tsc_early_khz=%lu", khz);
    if (accel == CZ_ACCEL_TCG) {
        /* TCG's vCPUs all read the host's clock as their TSC: it is synchronized, and
         * without this word a guest with 2+ vCPUs falls back to a 10 ms jiffies clock */
        cz_buf_printf(&b, " tsc=reliable");
        /* every secondary vCPU would calibrate its delay loop for ~150 ms; the TSC-based
         * delay needs loops_per_jiffy = TSC Hz / CONFIG_HZ (100 in our kernel) */
        if (khz)
            cz_buf_printf(&b, " lpj=%lu", khz * 1000 / CZ_GUEST_HZ);
    }
    return cz_buf_steal(&b);
}

static int check_file(const char *what, const char *path, cz_error *err)
{
    if (!path || !*path)
        return cz_error_set(err, EINVAL, "invalid VM configuration: no %s given", what);
    struct stat st;
    if (stat(path, &st) < 0)
        return cz_error_errno(err, errno, "invalid VM configuration: %s %s", what, path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return cz_error_set(err, EINVAL, "invalid VM configuration: %s %s is not a file", what,
                            path);
    return 0;
}

/* Find an executable on PATH (or check a path); the result is allocated. */
char *cz_vm_find_program(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? cz_xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    cz_autofree char *copy = cz_xstrdup(path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *p = cz_xasprintf("%s/%s", dir, name);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

static bool safe_token(const char *s)
{
    /* QEMU option values are comma-separated: a ',' would inject options. */
    return s && *s && !strchr(s, ',') && !strchr(s, '\n');
}

int cz_vm_config_validate(const struct cz_vm_config *c, cz_error *err)
{
    const char *qemu = c->qemu ? c->qemu : "qemu-system-x86_64";
    cz_autofree char *q = cz_vm_find_program(qemu);
    if (!q)
        return cz_error_set(err, ENOENT,
                            "invalid VM configuration: %s not found (install qemu-system-x86)",
                            qemu);
    if (check_file("kernel", c->kernel, err) < 0)
        return -1;
    if (c->initrd && check_file("initfs", c->initrd, err) < 0)
        return -1;
    if (!safe_token(c->kernel) || (c->initrd && !safe_token(c->initrd)))
        return cz_error_set(err, EINVAL, "invalid VM configuration: kernel/initfs paths may "
                                         "not contain ','");
    if (c->cpus < 1 || c->cpus > 64)
        return cz_error_set(err, EINVAL, "invalid VM configuration: %u CPUs (want 1 to 64)",
                            c->cpus);
    struct sysinfo si;
    uint64_t host_mib = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit >> 20 : 0;
    if (c->memory_mib < 64 || (host_mib && c->memory_mib > host_mib))
        return cz_error_set(err, EINVAL,
                            "invalid VM configuration: %llu MiB of memory (want 64 to %llu)",
                            (unsigned long long)c->memory_mib, (unsigned long long)host_mib);
    if (c->n_disks > CZ_VM_MAX_DISKS || c->n_shares > CZ_VM_MAX_SHARES)
        return cz_error_set(err, EINVAL, "invalid VM configuration: too many disks or shares");
    for (size_t i = 0; i < c->n_disks; i++) {
        if (check_file("disk", c->disks[i].path, err) < 0)
            return -1;
        if (!safe_token(c->disks[i].path))
            return cz_error_set(err, EINVAL, "invalid VM configuration: disk path %s contains ','",
                                c->disks[i].path);
        if (!c->disks[i].readonly && access(c->disks[i].path, W_OK) < 0)
            return cz_error_errno(err, errno, "invalid VM configuration: disk %s",
                                  c->disks[i].path);
    }
    for (size_t i = 0; i < c->n_shares; i++) {
        struct stat st;
        if (!safe_token(c->shares[i].path) || !safe_token(c->shares[i].tag) ||
            strlen(c->shares[i].tag) > 31)
            return cz_error_set(err, EINVAL, "invalid VM configuration: share %s (tag %s)",
                                c->shares[i].path ? c->shares[i].path : "",
                                c->shares[i].tag ? c->shares[i].tag : "");
        if (stat(c->shares[i].path, &st) < 0)
            return cz_error_errno(err, errno, "invalid VM configuration: share %s",
                                  c->shares[i].path);
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
            return cz_error_set(err, EINVAL, "invalid VM configuration: share %s is neither a "
                                             "directory nor a regular file",
                                c->shares[i].path);
        if (S_ISREG(st.st_mode) && !c->run_dir)
            return cz_error_set(err, EINVAL, "invalid VM configuration: a file share needs a "
                                             "run directory");
    }
    if (c->net.kind == CZ_VM_NET_TAP && !safe_token(c->net.tap))
        return cz_error_set(err, EINVAL, "invalid VM configuration: tap device name");
    for (size_t i = 0; i < c->net.n_ports; i++)
        if (!c->net.ports[i].host_port || !c->net.ports[i].guest_port ||
            (c->net.ports[i].host_addr && !safe_token(c->net.ports[i].host_addr)))
            return cz_error_set(err, EINVAL, "invalid VM configuration: published port %zu", i);
    if (c->net.n_ports && c->net.kind != CZ_VM_NET_USER)
        return cz_error_set(err, EINVAL, "invalid VM configuration: published ports need "
                                         "user-mode networking");
    if (!c->run_dir)
        return cz_error_set(err, EINVAL, "invalid VM configuration: no run directory");
    /* sockets go in run_dir: sun_path is 108 bytes */
    if (strlen(c->run_dir) > 80)
        return cz_error_set(err, ENAMETOOLONG, "invalid VM configuration: run directory %s is "
                                               "too long for unix sockets",
                            c->run_dir);
    if (c->template_dir &&
        (!safe_token(c->template_dir) || c->vsock || c->net.kind == CZ_VM_NET_TAP))
        return cz_error_set(err, EINVAL,
                            "invalid VM configuration: template %s (no ',' in its "
                            "path; not with vsock or a tap device)",
                            c->template_dir);
    if (c->accel == CZ_ACCEL_KVM && access("/dev/kvm", R_OK | W_OK) < 0)
        return cz_error_errno(err, errno, "invalid VM configuration: KVM requested but /dev/kvm");
    return 0;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *cz_vm_share_dir(const struct cz_vm_config *c, size_t i)
{
    if (c->run_dir && is_file(c->shares[i].path))
        return cz_xasprintf("%s/share-%s", c->run_dir, c->shares[i].tag);
    return cz_xstrdup(c->shares[i].path);
}

static void free_targets(char **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        free(t[i]);
    free(t);
}

/* File shares, in the parent: RUN_DIR/share-TAG/NAME, an empty file the child binds over. */
static int prepare_file_shares(const struct cz_vm_config *c, char ***targets, cz_error *err)
{
    *targets = cz_xcalloc(c->n_shares + 1, sizeof(char *));
    for (size_t i = 0; i < c->n_shares; i++) {
        if (!c->run_dir || !is_file(c->shares[i].path))
            continue;
        cz_autofree char *dir = cz_vm_share_dir(c, i);
        const char *slash = strrchr(c->shares[i].path, '/');
        const char *base = slash ? slash + 1 : c->shares[i].path;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return cz_error_errno(err, errno, "create %s", dir);
        char *target = cz_xasprintf("%s/%s", dir, base);
        (*targets)[i] = target;
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return cz_error_errno(err, errno, "create %s", target);
        close(fd);
    }
    return 0;
}

/* File shares, in QEMU's child before exec: its own mount namespace (the binds vanish
 * with QEMU), each file bound over its placeholder. Errors go to QEMU's log. */
static int bind_file_shares(const struct cz_vm_config *c, char **targets)
{
    bool any = false;
    for (size_t i = 0; i < c->n_shares; i++)
        any = any || targets[i];
    if (!any)
        return 0;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
        dprintf(2, "sharing a file with the VM needs a mount namespace (CAP_SYS_ADMIN): %s\n",
                strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < c->n_shares; i++) {
        if (!targets[i])
            continue;
        if (mount(c->shares[i].path, targets[i], NULL, MS_BIND, NULL) < 0 ||
            (c->shares[i].readonly &&
             mount(NULL, targets[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)) {
            dprintf(2, "share the file %s with the VM: %s\n", c->shares[i].path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

char **cz_vm_argv(const struct cz_vm_config *c, enum cz_accel accel, cz_error *err)
{
    struct cz_argv a = {0};
    cz_autofree char *agent = cz_xasprintf("%s/agent.sock", c->run_dir ? c->run_dir : ".");
    cz_autofree char *control = cz_xasprintf("%s/qmp.sock", c->run_dir ? c->run_dir : ".");
    cz_autofree char *out = cz_xasprintf("%s/out.sock", c->run_dir ? c->run_dir : ".");
    cz_autofree char *errs = cz_xasprintf("%s/err.sock", c->run_dir ? c->run_dir : ".");
    struct cz_vm_paths p = {.agent_socket = agent, .control_socket = control,
                            .output_socket = {out, errs}};
    if (cz_vmm_qemu.build_argv(c, accel, &p, &a, err) < 0) {
        cz_argv_free(&a);
        return NULL;
    }
    return a.v;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The last non-empty line of QEMU's own log, for an error message. */
static char *last_log_line(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (cz_read_file(path, 1 << 20, &data, &len, NULL) < 0)
        return cz_xstrdup("no output");
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        data[--len] = '\0';
    char *nl = strrchr(data, '\n');
    char *line = cz_xstrdup(nl ? nl + 1 : (len ? data : "no output"));
    free(data);
    return line;
}

int cz_vm_spawn(const struct cz_vm_config *c, struct cz_vm_paths *paths, int fd3, cz_vm **out,
                cz_error *err)
{
    enum cz_accel accel = c->accel == CZ_ACCEL_AUTO ? CZ_ACCEL_TCG : c->accel;
    cz_vm *vm = cz_xcalloc(1, sizeof(*vm));
    vm->ops = &cz_vmm_qemu;
    vm->pid = -1;
    vm->pidfd = -1;
    vm->control_fd = -1;
    vm->events_fd = -1;
    vm->accel = accel;
    vm->agent_socket = cz_xasprintf("%s/agent.sock", c->run_dir);
    vm->control_socket = cz_xasprintf("%s/qmp.sock", c->run_dir);
    vm->events_socket = cz_xasprintf("%s/events.sock", c->run_dir);
    unlink(vm->events_socket);
    paths->events_socket = vm->events_socket;
    vm->log_path = cz_xasprintf("%s/qemu.log", c->run_dir);
    unlink(vm->agent_socket);
    unlink(vm->control_socket);
    paths->agent_socket = vm->agent_socket;
    paths->control_socket = vm->control_socket;
    if (c->output_ports)
        for (int i = 0; i < 2; i++) {
            vm->output_socket[i] = cz_xasprintf("%s/%s.sock", c->run_dir, i ? "err" : "out");
            unlink(vm->output_socket[i]);
            paths->output_socket[i] = vm->output_socket[i];
        }
    struct cz_argv argv = {0};
    char **file_targets = NULL;
    cz_autofree char *exe = NULL;
    if (vm->ops->build_argv(c, accel, paths, &argv, err) < 0)
        goto fail;
    if (cz_log_enabled(CZ_LOG_DEBUG)) {
        cz_buf b = {0};
        for (size_t i = 0; i < argv.n; i++)
            cz_buf_printf(&b, "%s%s", i ? " " : "", argv.v[i]);
        cz_debug("vm %s: %s", c->name ? c->name : "", b.data);
        cz_buf_free(&b);
    }
    int logfd = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0) {
        cz_error_errno(err, errno, "create %s", vm->log_path);
        goto fail;
    }
    if (prepare_file_shares(c, &file_targets, err) < 0) {
        close(logfd);
        goto fail;
    }
    exe = cz_vm_find_program(argv.v[0]);
    pid_t pid = fork();
    if (pid < 0) {
        cz_error_errno(err, errno, "start QEMU");
        close(logfd);
        goto fail;
    }
    if (pid == 0) {
        /* Child: a clean signal state and only stdio open. */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++)
            signal(s, SIG_DFL);
        setsid(); /* Ctrl-C in the CLI's terminal must not reach QEMU directly */
        /* the VM dies with its owner, even when the owner is SIGKILLed */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(127);
        /* fd3 out of the way of stdio first (a caller may run with 0-2 closed) */
        if (fd3 >= 0 && fd3 < 3)
            fd3 = fcntl(fd3, F_DUPFD, 10);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (fd3 >= 0) {
            if (fd3 == 3)
                fcntl(3, F_SETFD, 0);
            else
                dup2(fd3, 3);
        }
        syscall(SYS_close_range, fd3 >= 0 ? 4 : 3, ~0u, 0);
        if (bind_file_shares(c, file_targets) < 0)
            _exit(126);
        execv(exe ? exe : argv.v[0], argv.v);
        dprintf(2, "exec %s: %s\n", argv.v[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    vm->pid = pid;
    vm->pidfd = pidfd_open_(pid);
    /* QMP comes up within milliseconds; if QEMU exits first, say why. */
    uint64_t deadline = cz_now_ns() + 10ull * 1000000000ull;
    while (vm->control_fd < 0) {
        if (vm->pidfd >= 0) {
            struct pollfd pfd = {.fd = vm->pidfd, .events = POLLIN};
            if (poll(&pfd, 1, 0) == 1) {
                cz_autofree char *line = last_log_line(vm->log_path);
                /* a host whose KVM cannot run this guest (a paravirtualized KVM, missing
                 * MSRs) fails here: say where the way out is */
                cz_error_set(err, EIO, "QEMU exited at start: %s%s", line,
                             accel == CZ_ACCEL_KVM ? " (under KVM: where KVM does not run a "
                                                     "guest, use --virtualization tcg or auto)"
                                                   : "");
                goto fail;
            }
        }
        cz_error cerr = {0};
        vm->control_fd = vm->ops->control_connect(vm->control_socket, 200, &cerr);
        if (vm->control_fd < 0 && cz_now_ns() > deadline) {
            cz_error_set(err, ETIMEDOUT, "QEMU did not open its control socket: %s", cerr.msg);
            goto fail;
        }
    }
    cz_argv_free(&argv);
    free_targets(file_targets, c->n_shares);
    *out = vm;
    return 0;
fail:
    cz_argv_free(&argv);
    free_targets(file_targets, c->n_shares);
    cz_vm_free(vm);
    return -1;
}

/* Start from a template: its boot console first in the VM's console log, then its saved
 * state on QEMU's fd 3. */
static int start_restored(const struct cz_vm_config *c, cz_vm **out, cz_error *err)
{
    cz_autofree char *state = cz_xasprintf("%s/state", c->template_dir);
    int fd = open(state, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "VM template %s", state);
    if (c->console_log) {
        cz_autofree char *boot = cz_xasprintf("%s/console.log", c->template_dir);
        char *text = NULL;
        size_t len = 0;
        if (cz_read_file(boot, 1 << 20, &text, &len, NULL) == 0) {
            int out_fd = open(c->console_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (out_fd >= 0) {
                cz_write_all(out_fd, text, len);
                dprintf(out_fd,
                        "[containerization: this VM was restored from the template %s, "
                        "whose boot is above]\n",
                        c->template_dir);
                close(out_fd);
            }
            free(text);
        }
    }
    struct cz_vm_paths paths = {.template = true, .incoming = true};
    int r = cz_vm_spawn(c, &paths, fd, out, err);
    close(fd);
    if (r == 0 && cz_vm_template_load(*out, err) < 0) {
        cz_vm_free(*out);
        *out = NULL;
        return -1;
    }
    return r;
}

int cz_vm_start(const struct cz_vm_config *c, cz_vm **out, cz_error *err)
{
    if (cz_vm_config_validate(c, err) < 0)
        return -1;
    if (c->template_dir)
        return start_restored(c, out, err);
    struct cz_vm_paths paths = {0};
    return cz_vm_spawn(c, &paths, -1, out, err);
}

pid_t cz_vm_pid(const cz_vm *vm)
{
    return vm->pid;
}

const char *cz_vm_agent_socket(const cz_vm *vm)
{
    return vm->agent_socket;
}

const char *cz_vm_output_socket(const cz_vm *vm, int stream)
{
    return stream == 0 || stream == 1 ? vm->output_socket[stream] : NULL;
}

enum cz_accel cz_vm_accel(const cz_vm *vm)
{
    return vm->accel;
}

int cz_vm_qmp(cz_vm *vm, const char *command, char **reply, cz_error *err)
{
    if (vm->control_fd < 0 || vm->exited)
        return cz_error_set(err, ESRCH, "the VM is not running");
    return vm->ops->control_call(vm->control_fd, command, reply, 5000, err);
}

int cz_vm_status(cz_vm *vm, char **status, cz_error *err)
{
    char *reply = NULL;
    if (cz_vm_qmp(vm, "{\"execute\":\"query-status\"}", &reply, err) < 0)
        return -1;
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    const char *s = json_string_value(json_object_get(j, "status"));
    *status = cz_xstrdup(s ? s : "unknown");
    json_decref(j);
    return 0;
}

bool cz_vm_gone(cz_vm *vm, int ms)
{
    if (vm->pidfd < 0)
        return kill(vm->pid, 0) < 0; /* (no pidfd: no waiting either) */
    struct pollfd pfd = {.fd = vm->pidfd, .events = POLLIN};
    return poll(&pfd, 1, ms) == 1;
}

int cz_vm_events_fd(cz_vm *vm, cz_error *err)
{
    if (vm->events_fd >= 0)
        return vm->events_fd;
    if (vm->exited)
        return cz_error_set(err, ESRCH, "the VM is not running");
    vm->events_fd = vm->ops->control_connect(vm->events_socket, 2000, err);
    return vm->events_fd;
}

int cz_vm_event_next(cz_vm *vm, struct cz_vm_event *ev, cz_error *err)
{
    if (vm->events_fd < 0)
        return cz_error_set(err, ENOTCONN, "the VM's events are not connected");
    for (;;) {
        char *data = vm->events_in.data;
        char *nl = data ? memchr(data, '\n', vm->events_in.len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - data);
            memset(ev, 0, sizeof(*ev));
            ev->disk = -1;
            int r = vm->ops->event_parse(data, n, ev);
            memmove(data, nl + 1, vm->events_in.len - n - 1);
            vm->events_in.len -= n + 1;
            if (r == 1)
                return 1;
            continue;
        }
        if (vm->events_in.len > (1u << 20))
            return cz_error_set(err, EMSGSIZE, "the VM's events: a line over 1 MiB");
        char buf[4096];
        ssize_t n = read(vm->events_fd, buf, sizeof(buf));
        if (n > 0) {
            cz_buf_append(&vm->events_in, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        return n == 0 ? cz_error_set(err, ECONNRESET, "the VM's events channel closed")
                      : cz_error_errno(err, errno, "read the VM's events");
    }
}

int cz_vm_resume(cz_vm *vm, cz_error *err)
{
    return cz_vm_qmp(vm, "{\"execute\":\"cont\"}", NULL, err);
}

void cz_vm_kill(cz_vm *vm)
{
    if (!vm || vm->pid <= 0 || vm->exited)
        return;
    if (vm->control_fd >= 0) {
        cz_error ignore;
        vm->ops->control_call(vm->control_fd, "{\"execute\":\"quit\"}", NULL, 1000, &ignore);
    }
    if (!cz_vm_gone(vm, 2000)) {
        if (vm->pidfd >= 0)
            syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0);
        else
            kill(vm->pid, SIGKILL);
        cz_vm_gone(vm, 2000);
    }
}

void cz_vm_exited(cz_vm *vm, int wait_status)
{
    vm->exited = true;
    vm->wait_status = wait_status;
}

void cz_vm_free(cz_vm *vm)
{
    if (!vm)
        return;
    cz_vm_kill(vm);
    if (vm->control_fd >= 0)
        close(vm->control_fd);
    if (vm->events_fd >= 0)
        close(vm->events_fd);
    cz_buf_free(&vm->events_in);
    if (vm->pidfd >= 0)
        close(vm->pidfd);
    unlink(vm->agent_socket);
    unlink(vm->control_socket);
    if (vm->events_socket)
        unlink(vm->events_socket);
    free(vm->events_socket);
    for (int i = 0; i < 2; i++)
        if (vm->output_socket[i]) {
            unlink(vm->output_socket[i]);
            free(vm->output_socket[i]);
        }
    free(vm->agent_socket);
    free(vm->control_socket);
    free(vm->log_path);
    free(vm);
}
