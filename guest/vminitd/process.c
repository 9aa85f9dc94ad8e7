/* Process methods of the agent API: CreateProcess, Exec, StartProcess, Signal,
 * Wait, ResizePty, CloseStdin, Delete, the Stdio stream and Stats, on top of
 * lib/ocirt. Everything runs on vminitd's one event loop: output fds are
 * watched only while a Stdio call is attached and its send queue is below the
 * high-water mark, so a slow host slows the process down instead of growing
 * our memory. */
#include "vminitd.h"
#include "init.h"

#include "base/log.h"
#include "base/util.h"

#include <cz/ocirt.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#define STDIN_HIGH_WATER (1u << 20)
#define OUTPUT_PIPE_SIZE (1 << 20)
/* One message carries what the pipe holds (FIONREAD), within these bounds. */
#define OUTPUT_READ_MIN (4u << 10)
#define OUTPUT_READ_MAX (1u << 20)

/* Direct output (StdioOptions.direct_output): the process's stdout or stderr is the
 * virtio-serial port cz.out or cz.err itself, which the host reads from the port's chardev.
 * Nothing passes through us; what we tell the host is where the stream ends: once no file
 * in the VM holds the port any more, the port's bytes_sent counter (virtio-console's debugfs
 * file) less its value when the process got the port. */
struct direct {
    bool on;
    bool ended;    /* the port is closed everywhere: bytes is final */
    bool reported; /* the end went out on Stdio */
    char *stats;   /* debugfs virtio-ports/vportNpM */
    uint64_t base; /* bytes_sent when the process got the port */
    uint64_t bytes;
};

struct proc {
    struct proc *next;
    char *id;
    char *container_id; /* the init's id (its own for an init) */
    bool is_init;
    bool started; /* StartProcess succeeded (or tried: the exec may have failed) */
    cz_ocirt_process *p;
    bool terminal;
    int out_fd, err_fd; /* read ends we watch; -1 once at EOF */
    bool out_owned, err_owned;
    bool out_watched, err_watched;
    bool out_eof, err_eof;
    cz_buf in_pending; /* stdin bytes not yet written */
    bool close_stdin_after;
    bool in_watched;
    cz_rpc_call *stdio;
    cz_rpc_call **waiters;
    size_t n_waiters;
    struct direct direct[2]; /* stdout, stderr straight into cz.out / cz.err */
};

static struct proc *procs;
static const char *cgroup_parent; /* NULL: lib/ocirt's default */

void vminitd_set_cgroup_parent(const char *parent)
{
    cgroup_parent = parent;
}

static struct proc *find(const char *id)
{
    for (struct proc *p = procs; p; p = p->next)
        if (!strcmp(p->id, id))
            return p;
    return NULL;
}

static int find_or_fail(const char *what, const char *id, struct proc **out, cz_error *err)
{
    *out = find(id);
    if (!*out)
        return cz_error_set(err, ENOENT, "%s: no process %s", what, id);
    return 0;
}

static int check_id(const char *what, const char *id, cz_error *err)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return cz_error_set(err, EINVAL, "%s: process id must have 1 to 64 characters", what);
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || strchr("_.-", id[i])))
            return cz_error_set(err, EINVAL, "%s: invalid process id '%s'", what, id);
    if (find(id))
        return cz_error_set(err, EEXIST, "%s: process %s already exists", what, id);
    return 0;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* --- direct output -------------------------------------------------- */

#define DEBUGFS "/sys/kernel/debug"
#define DIRECT_RECHECK_MS 20

static const char *const direct_port[2] = {"cz.out", "cz.err"};
static uint64_t direct_timer;
static unsigned direct_rechecks; /* since nothing was pending: every 20 ms, later 500 ms */

/* guest_connected (some file in the VM holds the port open) and bytes_sent of a port. */
static int port_stats(const char *stats, bool *held, uint64_t *sent, cz_error *err)
{
    char buf[512];
    int fd = open(stats, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "direct output: open %s", stats);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return cz_error_errno(err, e, "direct output: read %s", stats);
    buf[n] = '\0';
    const char *c = strstr(buf, "guest_connected: ");
    const char *b = strstr(buf, "bytes_sent: ");
    if (!c || !b)
        return cz_error_set(err, EPROTO, "direct output: %s has no counters", stats);
    *held = c[17] == '1';
    *sent = strtoull(b + 12, NULL, 10);
    return 0;
}

/* debugfs in our own view (the containers mount their own /sys); mounted by the VM's init
 * only (vminitd on a host for tests leaves the host's alone). */
static int debugfs_ready(cz_error *err)
{
    if (access(DEBUGFS "/virtio-ports", F_OK) == 0)
        return 0;
    if (!g_vminitd.pid1)
        return cz_error_set(err, EBUSY, "direct output: no debugfs virtio-ports counters");
    if (mount("debugfs", DEBUGFS, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0 &&
        errno != EBUSY)
        return cz_error_errno(err, errno, "direct output: mount debugfs on " DEBUGFS);
    if (access(DEBUGFS "/virtio-ports", F_OK) < 0)
        return cz_error_set(err, EBUSY, "direct output: the kernel has no virtio-ports counters");
    return 0;
}

static void direct_free(struct direct d[2])
{
    for (int i = 0; i < 2; i++) {
        free(d[i].stats);
        d[i].stats = NULL;
        d[i].on = false;
    }
}

/* Open the ports the options ask for (fds[i] >= 0), with their counters' start. */
static int direct_open(const Cz__Agent__V1__StdioOptions *so, struct direct d[2], int fds[2],
                       cz_error *err)
{
    fds[0] = fds[1] = -1;
    memset(d, 0, 2 * sizeof(*d));
    if (!so || !so->direct_output)
        return 0;
    if (so->terminal)
        return cz_error_set(err, EINVAL, "direct output: not with a terminal");
    bool want[2] = {so->stdout, so->stderr};
    char *dev[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        if (want[i] && !(dev[i] = vminitd_find_port(direct_port[i]))) {
            cz_error_set(err, EBUSY, "direct output: the VM has no port %s", direct_port[i]);
            free(dev[0]);
            return -1;
        }
    if ((want[0] || want[1]) && debugfs_ready(err) < 0) {
        free(dev[0]);
        free(dev[1]);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        bool held;
        d[i].stats = cz_xasprintf(DEBUGFS "/virtio-ports/%s", strrchr(dev[i], '/') + 1);
        if (port_stats(d[i].stats, &held, &d[i].base, err) < 0)
            goto fail;
        if (held) {
            cz_error_set(err, EBUSY, "direct output: port %s is still held by another process",
                         direct_port[i]);
            goto fail;
        }
        /* blocking, as a process expects its stdout to be */
        fds[i] = open(dev[i], O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fds[i] < 0) {
            cz_error_errno(err, errno, "direct output: open %s (%s)", dev[i], direct_port[i]);
            goto fail;
        }
        d[i].on = true;
    }
    free(dev[0]);
    free(dev[1]);
    return 0;
fail:
    free(dev[0]);
    free(dev[1]);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    direct_free(d);
    return -1;
}

static void finish_stdio_if_done(struct proc *p);

/* Tell an attached host where the ended streams end. */
static void direct_report(struct proc *p)
{
    for (int i = 0; i < 2 && p->stdio; i++) {
        struct direct *d = &p->direct[i];
        if (!d->on || !d->ended || d->reported)
            continue;
        Cz__Agent__V1__StdioResponse r = CZ__AGENT__V1__STDIO_RESPONSE__INIT;
        r.stream = i ? CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDERR
                     : CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDOUT;
        r.eof = true;
        r.direct_bytes = d->bytes;
        cz_error err = {0};
        if (cz_rpc_call_send(p->stdio, &r.base, &err) < 0)
            cz_debug("vminitd: stdio %s: %s", p->id, err.msg);
        d->reported = true;
        *(i ? &p->err_eof : &p->out_eof) = true;
    }
    finish_stdio_if_done(p);
}

/* Whether the streams' ports are free again (every holder closed them); true while some
 * stream is still held. */
static bool direct_check(struct proc *p)
{
    bool pending = false;
    for (int i = 0; i < 2; i++) {
        struct direct *d = &p->direct[i];
        if (!d->on || d->ended)
            continue;
        bool held = true;
        uint64_t sent = 0;
        cz_error err = {0};
        if (port_stats(d->stats, &held, &sent, &err) < 0) {
            cz_warn("vminitd: %s", err.msg);
            held = false; /* cannot know more: end it with what we last knew */
            sent = d->base;
        }
        if (held) {
            pending = true;
            continue;
        }
        d->ended = true;
        d->bytes = sent - d->base;
        cz_debug("vminitd: %s: %s ended after %llu bytes", p->id, direct_port[i],
                 (unsigned long long)d->bytes);
    }
    direct_report(p);
    return pending;
}

static void direct_check_all(void);

static void on_direct_timer(cz_loop *loop, void *data)
{
    (void)loop;
    (void)data;
    direct_timer = 0;
    direct_check_all();
}

/* After a reap: the ports of exited processes are free once their last holder is gone (a
 * container's init takes its whole pid namespace along; an exec'd process may leave a child
 * holding them): look again shortly while one is still held. */
static void direct_check_all(void)
{
    bool again = false;
    for (struct proc *p = procs; p; p = p->next) {
        if (!p->direct[0].on && !p->direct[1].on)
            continue;
        struct cz_ocirt_exit e;
        cz_ocirt_exit_status(p->p, &e);
        if (e.exited && direct_check(p))
            again = true;
    }
    if (!again)
        direct_rechecks = 0;
    else if (!direct_timer)
        direct_timer = cz_loop_add_timer(g_vminitd.loop,
                                         direct_rechecks++ < 100 ? DIRECT_RECHECK_MS : 500,
                                         on_direct_timer, NULL);
}

static struct cz_ocirt_stdio stdio_options(const Cz__Agent__V1__StdioOptions *o)
{
    struct cz_ocirt_stdio s = {0};
    if (o) {
        s.stdin_pipe = o->stdin;
        s.stdout_pipe = o->stdout;
        s.stderr_pipe = o->stderr;
        s.terminal = o->terminal;
        s.rows = o->rows;
        s.cols = o->cols;
    }
    return s;
}

/* Take the output ends from ocirt (a terminal's master stays ocirt's: resize needs it). */
static struct proc *proc_new(const char *id, const char *container_id, bool is_init,
                             cz_ocirt_process *op)
{
    struct proc *p = cz_xcalloc(1, sizeof(*p));
    p->id = cz_xstrdup(id);
    p->container_id = cz_xstrdup(container_id);
    p->is_init = is_init;
    p->p = op;
    int pty = cz_ocirt_fd(op, CZ_OCIRT_PTY);
    p->terminal = pty >= 0;
    if (p->terminal) {
        p->out_fd = pty;
        p->err_fd = -1;
    } else {
        p->out_fd = cz_ocirt_take_fd(op, CZ_OCIRT_STDOUT);
        p->err_fd = cz_ocirt_take_fd(op, CZ_OCIRT_STDERR);
        p->out_owned = p->out_fd >= 0;
        p->err_owned = p->err_fd >= 0;
    }
    p->out_eof = p->out_fd < 0;
    p->err_eof = p->err_fd < 0;
    if (p->out_fd >= 0)
        set_nonblock(p->out_fd);
    if (p->err_fd >= 0)
        set_nonblock(p->err_fd);
    /* A deep output pipe lets the process write on while we forward, and each wakeup
     * forwards more: fewer wakeups and port writes per byte (bench/agent.sh). Best effort. */
    if (p->out_owned)
        fcntl(p->out_fd, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
    if (p->err_owned)
        fcntl(p->err_fd, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
    int in = cz_ocirt_fd(op, p->terminal ? CZ_OCIRT_PTY : CZ_OCIRT_STDIN);
    if (in >= 0)
        set_nonblock(in);
    p->next = procs;
    procs = p;
    return p;
}

/* --- output ------------------------------------------------------- */

static void watch_outputs(struct proc *p);
static void unwatch_outputs(struct proc *p);

static void finish_stdio_if_done(struct proc *p)
{
    if (p->stdio && p->out_eof && p->err_eof) {
        cz_rpc_call *c = p->stdio;
        p->stdio = NULL;
        cz_rpc_call_set_data(c, NULL);
        cz_rpc_call_finish(c, NULL);
    }
}

static void send_output(struct proc *p, int stream, const void *data, size_t len, bool eof)
{
    Cz__Agent__V1__StdioResponse r = CZ__AGENT__V1__STDIO_RESPONSE__INIT;
    r.stream = stream;
    r.data.data = (uint8_t *)data;
    r.data.len = len;
    r.eof = eof;
    cz_error err = {0};
    if (cz_rpc_call_send(p->stdio, &r.base, &err) < 0)
        cz_debug("vminitd: stdio %s: %s", p->id, err.msg);
}

static void output_eof(struct proc *p, bool is_err)
{
    int *fd = is_err ? &p->err_fd : &p->out_fd;
    cz_loop_del_fd(g_vminitd.loop, *fd);
    if (is_err ? p->err_owned : p->out_owned)
        close(*fd);
    *fd = -1;
    *(is_err ? &p->err_watched : &p->out_watched) = false;
    *(is_err ? &p->err_eof : &p->out_eof) = true;
    send_output(p, is_err ? CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDERR
                          : CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDOUT,
                NULL, 0, true);
    finish_stdio_if_done(p);
}

/* Forward what the pipe holds as one message, read straight into the message's
 * place in the send queue (cz_rpc_call_send_reserve): no copy in user space. */
static void on_output(cz_loop *loop, int fd, uint32_t events, void *data)
{
    struct proc *p = data;
    bool is_err = fd == p->err_fd;
    if (!p->stdio)
        return;
    int stream = is_err ? CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDERR
                        : CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDOUT;
    int queued = 0;
    if (ioctl(fd, FIONREAD, &queued) < 0 || queued <= 0)
        queued = OUTPUT_READ_MIN;
    size_t cap = CZ_MIN(CZ_MAX((size_t)queued, (size_t)OUTPUT_READ_MIN), (size_t)OUTPUT_READ_MAX);
    cz_error err = {0};
    uint8_t *buf = cz_rpc_call_send_reserve(p->stdio, cap, &err);
    if (!buf) {
        cz_debug("vminitd: stdio %s: %s", p->id, err.msg);
        return;
    }
    ssize_t n = read(fd, buf, cap);
    if (n > 0) {
        /* A StdioResponse packed by hand: stream (field 1, varint), then data
         * (field 2, bytes: tag, varint length); eof stays false, so it is omitted. */
        uint8_t lead[CZ_RPC_RESERVE_LEAD];
        size_t l = 0;
        lead[l++] = 1 << 3 | 0;
        lead[l++] = (uint8_t)stream;
        lead[l++] = 2 << 3 | 2;
        for (uint64_t v = (uint64_t)n;; v >>= 7) {
            lead[l++] = (uint8_t)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
            if (v < 0x80)
                break;
        }
        memcpy(buf - l, lead, l);
        if (cz_rpc_call_send_reserved(p->stdio, l, (size_t)n, &err) < 0)
            cz_debug("vminitd: stdio %s: %s", p->id, err.msg);
        if (p->stdio && cz_rpc_call_pending(p->stdio) > CZ_RPC_SEND_HIGH_WATER)
            unwatch_outputs(p); /* resumed in on_stdio_writable */
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* 0, or EIO from a terminal whose last slave closed: the end of the stream */
    output_eof(p, is_err);
}

static void watch_outputs(struct proc *p)
{
    cz_error err = {0};
    if (p->out_fd >= 0 && !p->out_watched)
        p->out_watched =
            cz_loop_add_fd(g_vminitd.loop, p->out_fd, CZ_LOOP_IN, on_output, p, &err) == 0;
    if (p->err_fd >= 0 && !p->err_watched)
        p->err_watched =
            cz_loop_add_fd(g_vminitd.loop, p->err_fd, CZ_LOOP_IN, on_output, p, &err) == 0;
}

static void unwatch_outputs(struct proc *p)
{
    if (p->out_watched)
        cz_loop_del_fd(g_vminitd.loop, p->out_fd);
    if (p->err_watched)
        cz_loop_del_fd(g_vminitd.loop, p->err_fd);
    p->out_watched = p->err_watched = false;
}

/* --- stdin -------------------------------------------------------- */

static int stdin_fd(struct proc *p)
{
    return cz_ocirt_fd(p->p, p->terminal ? CZ_OCIRT_PTY : CZ_OCIRT_STDIN);
}

static void flush_stdin(struct proc *p);

static void on_stdin_writable(cz_loop *loop, int fd, uint32_t events, void *data)
{
    flush_stdin(data);
}

static void flush_stdin(struct proc *p)
{
    int fd = stdin_fd(p);
    while (fd >= 0 && p->in_pending.len) {
        ssize_t n = write(fd, p->in_pending.data, p->in_pending.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (!p->in_watched)
                p->in_watched = cz_loop_add_fd(g_vminitd.loop, fd, CZ_LOOP_OUT,
                                               on_stdin_writable, p, NULL) == 0;
            return;
        }
        if (n < 0) { /* the process closed its stdin: drop what is left */
            p->in_pending.len = 0;
            break;
        }
        memmove(p->in_pending.data, p->in_pending.data + n, p->in_pending.len - (size_t)n);
        p->in_pending.len -= (size_t)n;
    }
    if (p->in_watched) {
        cz_loop_del_fd(g_vminitd.loop, fd);
        p->in_watched = false;
    }
    if (p->stdio)
        cz_rpc_call_resume(p->stdio);
    if (p->close_stdin_after) {
        p->close_stdin_after = false;
        cz_error err = {0};
        if (cz_ocirt_close_stdin(p->p, &err) < 0)
            cz_debug("vminitd: close stdin of %s: %s", p->id, err.msg);
    }
}

/* --- the Stdio stream --------------------------------------------- */

static int on_stdio_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    const Cz__Agent__V1__StdioRequest *r = (const Cz__Agent__V1__StdioRequest *)msg;
    struct proc *p = cz_rpc_call_data(call);
    if (!p) {
        if (find_or_fail("stdio", r->id, &p, err) < 0)
            return -1;
        if (p->stdio)
            return cz_error_set(err, EBUSY, "stdio: process %s is already attached", r->id);
        p->stdio = call;
        cz_rpc_call_set_data(call, p);
        watch_outputs(p);
        direct_report(p); /* ends found while no host was attached */
        if (!p->stdio)
            return 0;
        if (p->out_eof && p->err_eof) {
            /* nothing to stream (no pipes, or they already ended) */
            finish_stdio_if_done(p);
            return 0;
        }
    }
    if (r->data.len) {
        if (stdin_fd(p) < 0)
            return cz_error_set(err, EINVAL, "stdio: process %s has no stdin", p->id);
        cz_buf_append(&p->in_pending, r->data.data, r->data.len);
    }
    if (r->close_stdin)
        p->close_stdin_after = true;
    flush_stdin(p);
    if (p->in_pending.len > STDIN_HIGH_WATER)
        cz_rpc_call_pause(call);
    return 0;
}

static void on_stdio_writable(cz_rpc_call *call)
{
    struct proc *p = cz_rpc_call_data(call);
    if (p)
        watch_outputs(p);
}

static void on_stdio_close(cz_rpc_call *call, int status, const char *message)
{
    struct proc *p = cz_rpc_call_data(call);
    if (!p)
        return;
    /* The host went away: output waits in the pipes for the next attach. */
    unwatch_outputs(p);
    p->stdio = NULL;
}

static const cz_rpc_handler stdio_handler = {
    .on_message = on_stdio_message,
    .on_writable = on_stdio_writable,
    .on_close = on_stdio_close,
};

/* --- unary methods ------------------------------------------------ */

static int reply_exit(cz_rpc_call *call, struct proc *p, cz_error *err)
{
    struct cz_ocirt_exit e;
    cz_ocirt_exit_status(p->p, &e);
    Cz__Agent__V1__WaitResponse r = CZ__AGENT__V1__WAIT_RESPONSE__INIT;
    r.exit_status = e.status;
    r.signal = e.signal;
    r.exited_at_unix_nanos = e.exited_at_ns;
    r.oom_killed = e.oom_killed;
    return cz_rpc_call_reply(call, &r.base, err);
}

static int do_create(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__CreateProcessRequest *r =
        (const Cz__Agent__V1__CreateProcessRequest *)msg;
    if (check_id("create process", r->id, err) < 0)
        return -1;
    cz_ocirt_spec *spec;
    cz_autofree char *with_init = NULL; /* --init (init.c) */
    if (vminitd_init_wrap_spec(r->oci_spec_json, &with_init, err) < 0)
        return cz_error_wrap(err, "create process %s", r->id);
    const char *json = with_init ? with_init : r->oci_spec_json;
    if (cz_ocirt_spec_parse(json, strlen(json), &spec, err) < 0)
        return cz_error_wrap(err, "create process %s", r->id);
    struct direct direct[2];
    int port_fd[2];
    if (direct_open(r->stdio, direct, port_fd, err) < 0) {
        cz_ocirt_spec_free(spec);
        return cz_error_wrap(err, "create process %s", r->id);
    }
    struct cz_ocirt_create_options o = {.id = r->id, .cgroup_parent = cgroup_parent,
                                        .stdio = stdio_options(r->stdio),
                                        .exec_signals_blocked = with_init != NULL};
    for (int i = 0; i < 2; i++)
        if (port_fd[i] >= 0) {
            *(i ? &o.stdio.stderr_given : &o.stdio.stdout_given) = true;
            *(i ? &o.stdio.stderr_fd : &o.stdio.stdout_fd) = port_fd[i];
        }
    cz_ocirt_process *op;
    int rc = cz_ocirt_create(spec, &o, &op, err);
    cz_ocirt_spec_free(spec);
    /* the process holds its own: the port is free again when its last holder closes it */
    for (int i = 0; i < 2; i++)
        if (port_fd[i] >= 0)
            close(port_fd[i]);
    if (rc < 0) {
        direct_free(direct);
        return cz_error_wrap(err, "create process %s", r->id);
    }
    struct proc *p = proc_new(r->id, r->id, true, op);
    memcpy(p->direct, direct, sizeof(direct));
    p->out_eof = p->out_eof && !direct[0].on;
    p->err_eof = p->err_eof && !direct[1].on;
    return cz_rpc_call_reply_empty(call, err);
}

static int do_exec(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__ExecRequest *r = (const Cz__Agent__V1__ExecRequest *)msg;
    struct proc *c;
    if (find_or_fail("exec", r->container_id, &c, err) < 0 || check_id("exec", r->id, err) < 0)
        return -1;
    if (!c->is_init)
        return cz_error_set(err, EINVAL, "exec: %s is not a container", r->container_id);
    struct cz_ocirt_exit e;
    cz_ocirt_exit_status(c->p, &e);
    if (e.exited)
        return cz_error_set(err, EBUSY, "exec: container %s is not running", r->container_id);
    cz_ocirt_spec *spec;
    if (cz_ocirt_process_parse(r->process_json, strlen(r->process_json), &spec, err) < 0)
        return cz_error_wrap(err, "exec %s", r->id);
    if (r->stdio && r->stdio->direct_output) {
        cz_ocirt_spec_free(spec);
        return cz_error_set(err, EINVAL, "exec %s: direct output is for a container's process",
                            r->id);
    }
    struct cz_ocirt_exec_options o = {.stdio = stdio_options(r->stdio)};
    cz_ocirt_process *op;
    int rc = cz_ocirt_exec(c->p, spec, &o, &op, err);
    cz_ocirt_spec_free(spec);
    if (rc < 0)
        return cz_error_wrap(err, "exec %s", r->id);
    proc_new(r->id, r->container_id, false, op);
    return cz_rpc_call_reply_empty(call, err);
}

static int do_start(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__StartProcessRequest *r = (const Cz__Agent__V1__StartProcessRequest *)msg;
    struct proc *p;
    if (find_or_fail("start", r->id, &p, err) < 0)
        return -1;
    p->started = true;
    if (cz_ocirt_start(p->p, err) < 0)
        return -1;
    Cz__Agent__V1__StartProcessResponse resp = CZ__AGENT__V1__START_PROCESS_RESPONSE__INIT;
    resp.pid = cz_ocirt_pid(p->p);
    return cz_rpc_call_reply(call, &resp.base, err);
}

static int do_signal(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__SignalRequest *r = (const Cz__Agent__V1__SignalRequest *)msg;
    struct proc *p;
    if (find_or_fail("signal", r->id, &p, err) < 0)
        return -1;
    if (r->signal < 1 || r->signal > 64)
        return cz_error_set(err, EINVAL, "signal %s: invalid signal %d", r->id, r->signal);
    if (cz_ocirt_signal(p->p, r->signal, r->all, err) < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

static void waiter_closed(cz_rpc_call *call, int status, const char *message)
{
    for (struct proc *p = procs; p; p = p->next)
        for (size_t i = 0; i < p->n_waiters; i++)
            if (p->waiters[i] == call) {
                p->waiters[i] = p->waiters[--p->n_waiters];
                return;
            }
}

static int do_wait(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__WaitRequest *r = (const Cz__Agent__V1__WaitRequest *)msg;
    struct proc *p;
    if (find_or_fail("wait", r->id, &p, err) < 0)
        return -1;
    struct cz_ocirt_exit e;
    cz_ocirt_exit_status(p->p, &e);
    if (e.exited)
        return reply_exit(call, p, err);
    p->waiters = cz_xrealloc(p->waiters, (p->n_waiters + 1) * sizeof(*p->waiters));
    p->waiters[p->n_waiters++] = call;
    cz_rpc_call_set_close_hook(call, waiter_closed);
    return CZ_RPC_LATER;
}

static int do_resize(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__ResizePtyRequest *r = (const Cz__Agent__V1__ResizePtyRequest *)msg;
    struct proc *p;
    if (find_or_fail("resize", r->id, &p, err) < 0)
        return -1;
    if (r->rows == 0 || r->cols == 0 || r->rows > 65535 || r->cols > 65535)
        return cz_error_set(err, EINVAL, "resize %s: invalid size %ux%u", r->id, r->cols, r->rows);
    if (cz_ocirt_resize_pty(p->p, r->rows, r->cols, err) < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

static int do_close_stdin(cz_rpc_call *call, const ProtobufCMessage *msg, void *data,
                          cz_error *err)
{
    const Cz__Agent__V1__CloseStdinRequest *r = (const Cz__Agent__V1__CloseStdinRequest *)msg;
    struct proc *p;
    if (find_or_fail("close stdin", r->id, &p, err) < 0)
        return -1;
    p->close_stdin_after = true;
    flush_stdin(p); /* closes once what was sent before is written */
    return cz_rpc_call_reply_empty(call, err);
}

static void proc_free(struct proc *p)
{
    unwatch_outputs(p);
    if (p->in_watched)
        cz_loop_del_fd(g_vminitd.loop, stdin_fd(p));
    if (p->out_owned && p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_owned && p->err_fd >= 0)
        close(p->err_fd);
    if (p->stdio) {
        cz_rpc_call_set_data(p->stdio, NULL);
        cz_rpc_call_finish_status(p->stdio, CZ_RPC_CANCELLED, "the process was deleted");
    }
    cz_buf_free(&p->in_pending);
    direct_free(p->direct);
    free(p->waiters);
    free(p->id);
    free(p->container_id);
    free(p);
}

static int do_delete(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__DeleteRequest *r = (const Cz__Agent__V1__DeleteRequest *)msg;
    struct proc *p;
    if (find_or_fail("delete", r->id, &p, err) < 0)
        return -1;
    struct cz_ocirt_exit e;
    cz_ocirt_exit_status(p->p, &e);
    /* A created process that was never started has run nothing: it may go. */
    if (!e.exited && p->started)
        return cz_error_set(err, EBUSY, "delete %s: the process is still running", r->id);
    if (p->is_init)
        for (struct proc *q = procs; q; q = q->next)
            if (q != p && !strcmp(q->container_id, p->id)) {
                struct cz_ocirt_exit qe;
                cz_ocirt_exit_status(q->p, &qe);
                if (!qe.exited)
                    return cz_error_set(err, EBUSY, "delete %s: exec %s still runs", r->id,
                                        q->id);
            }
    for (struct proc **pp = &procs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    cz_ocirt_process *op = p->p;
    proc_free(p);
    if (cz_ocirt_delete(op, false, err) < 0)
        return cz_error_wrap(err, "delete %s", r->id);
    return cz_rpc_call_reply_empty(call, err);
}

static int do_stats(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__StatsRequest *r = (const Cz__Agent__V1__StatsRequest *)msg;
    struct proc *p;
    if (find_or_fail("stats", r->container_id, &p, err) < 0)
        return -1;
    struct cz_ocirt_stats s;
    if (cz_ocirt_stats(p->p, &s, err) < 0)
        return -1;
    Cz__Agent__V1__StatsResponse resp = CZ__AGENT__V1__STATS_RESPONSE__INIT;
    Cz__Agent__V1__CpuStats cpu = CZ__AGENT__V1__CPU_STATS__INIT;
    Cz__Agent__V1__MemoryStats mem = CZ__AGENT__V1__MEMORY_STATS__INIT;
    Cz__Agent__V1__PidsStats pids = CZ__AGENT__V1__PIDS_STATS__INIT;
    cpu.usage_usec = s.cpu_usage_usec;
    cpu.user_usec = s.cpu_user_usec;
    cpu.system_usec = s.cpu_system_usec;
    cpu.nr_periods = s.cpu_nr_periods;
    cpu.nr_throttled = s.cpu_nr_throttled;
    cpu.throttled_usec = s.cpu_throttled_usec;
    mem.current = s.mem_current;
    mem.limit = s.mem_limit;
    mem.swap = s.mem_swap;
    mem.anon = s.mem_anon;
    mem.file = s.mem_file;
    mem.high_events = s.mem_high_events;
    mem.max_events = s.mem_max_events;
    mem.oom_events = s.mem_oom_events;
    mem.oom_kill_events = s.mem_oom_kill_events;
    pids.current = s.pids_current;
    pids.limit = s.pids_limit;
    Cz__Agent__V1__IoDeviceStats io[16];
    Cz__Agent__V1__IoDeviceStats *iop[16];
    for (size_t i = 0; i < s.n_io && i < 16; i++) {
        cz__agent__v1__io_device_stats__init(&io[i]);
        io[i].major = s.io[i].major;
        io[i].minor = s.io[i].minor;
        io[i].read_bytes = s.io[i].rbytes;
        io[i].write_bytes = s.io[i].wbytes;
        io[i].read_ops = s.io[i].rios;
        io[i].write_ops = s.io[i].wios;
        iop[i] = &io[i];
    }
    resp.cpu = &cpu;
    resp.memory = &mem;
    resp.pids = &pids;
    resp.n_io = CZ_MIN(s.n_io, (size_t)16);
    resp.io = iop;
    return cz_rpc_call_reply(call, &resp.base, err);
}

/* From the one reaper: a child of ours ended. */
void vminitd_process_reaped(pid_t pid, int wait_status)
{
    for (struct proc *p = procs; p; p = p->next) {
        if (!cz_ocirt_reaped(p->p, pid, wait_status))
            continue;
        cz_debug("vminitd: process %s (pid %d) reaped", p->id, (int)pid);
        /* a host learns where direct output ends before it learns the exit */
        direct_check_all();
        while (p->n_waiters) {
            cz_rpc_call *c = p->waiters[--p->n_waiters];
            cz_error err = {0};
            if (reply_exit(c, p, &err) < 0)
                cz_rpc_call_finish(c, &err);
        }
        return;
    }
    direct_check_all(); /* a child of an exec'd process may have held a port */
}

int vminitd_register_process(cz_rpc_server *server, cz_error *err)
{
    static const struct {
        const char *name;
        cz_rpc_unary_fn fn;
    } methods[] = {
        {"CreateProcess", do_create}, {"Exec", do_exec},       {"StartProcess", do_start},
        {"Signal", do_signal},        {"Wait", do_wait},       {"ResizePty", do_resize},
        {"CloseStdin", do_close_stdin}, {"Delete", do_delete}, {"Stats", do_stats},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(methods); i++)
        if (cz_rpc_server_add_unary(server, AGENT, methods[i].name, methods[i].fn, NULL, err) < 0)
            return -1;
    return cz_rpc_server_add_method(server, AGENT, "Stdio", &stdio_handler, NULL, err);
}
