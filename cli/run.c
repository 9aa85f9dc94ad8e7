/* Running containers: run, start, stop, kill, exec, logs, wait. The CLI starts
 * one container-runtime per container (docs/runtime.md) and talks to it over
 * its unix socket: Attach streams the main process's stdio, the forwarded agent
 * methods carry exec. Exit codes follow docker: the process's own status, 125
 * when we fail, 126 not executable, 127 not found. */
#include "cli.h"

#include <cz/container.h>
#include <cz/ext4.h>
#include <cz/rpc.h>
#include <cz/volume.h>

#include "agent.pb-c.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"
#include "runtime.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define AGENT (&cz__agent__v1__agent__descriptor)
#define RUNTIME (&cz__runtime__v1__runtime__descriptor)


/* --- preparing and starting ------------------------------------------ */

int cli_prepare_container(struct cli *cli, const cz_container_config *c, cz_error *err)
{
    cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    cz_autofree char *snap = NULL;
    int r = cz_snapshot_ensure(s, c->image_digest, &snap, err);
    cz_store_close(s);
    if (r < 0)
        return cz_error_wrap(err, "snapshot of %s", c->image);
    /* named volumes that do not exist yet are made, as docker does */
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (strcmp(c->mounts[i].type, "volume"))
            continue;
        cz_volume v;
        cz_error e = {0};
        if (cz_volume_get(cli->root, c->mounts[i].source, &v, &e) < 0) {
            if (e.code != ENOENT) {
                *err = e;
                return -1;
            }
            if (cz_volume_create(cli->root, c->mounts[i].source, 0, NULL, &v, err) < 0)
                return -1;
        }
        cz_volume_free(&v);
    }
    cz_autofree char *dir = cz_container_dir(cli->root, c->id);
    cz_autofree char *rw = cz_xasprintf("%s/rw.ext4", dir);
    if (cz_ext4_create_empty(rw, c->disk_bytes ? c->disk_bytes : CZ_CONTAINER_DISK_SIZE, "rw",
                             err) < 0)
        return cz_error_wrap(err, "the container's writable disk");
    return 0;
}

char *cli_runtime_program(void)
{
    const char *e = getenv("CONTAINER_RUNTIME_BIN");
    if (e && *e)
        return cz_xstrdup(e);
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = 0;
        cz_autofree char *dir = cz_dirname(buf);
        char *p = cz_xasprintf("%s/container-runtime", dir);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return cz_xstrdup("/usr/lib/containerization/container-runtime");
}

/* Start the container's runtime, detached from us, and wait until it says the
 * container's process is ready (or why not). *exit_code: 125, or 126/127 when the
 * command could not be executed. */
static int cli_runtime_start(struct cli *cli, const cz_container_config *c, bool wait_attach,
                      int *exit_code, cz_error *err)
{
    *exit_code = 125;
    cz_autofree char *prog = cli_runtime_program();
    if (access(prog, X_OK) < 0)
        return cz_error_errno(err, errno, "container-runtime %s", prog);
    cz_autofree char *dir = cz_container_dir(cli->root, c->id);
    cz_autofree char *logpath = cz_xasprintf("%s/runtime.log", dir);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cz_error_errno(err, errno, "pipe");
    pid_t child = fork();
    if (child < 0) {
        close(p[0]);
        close(p[1]);
        return cz_error_errno(err, errno, "fork");
    }
    if (child == 0) {
        /* twice, so the runtime is nobody's child here and outlives us */
        setsid();
        if (fork() != 0)
            _exit(0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDWR);
        int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0640);
        dup2(devnull, 0);
        dup2(logfd >= 0 ? logfd : devnull, 1);
        dup2(logfd >= 0 ? logfd : devnull, 2);
        dup2(p[1], 3);
        char *argv[10];
        int n = 0;
        argv[n++] = (char *)"container-runtime";
        argv[n++] = (char *)"--root";
        argv[n++] = (char *)cli->root;
        argv[n++] = (char *)"--id";
        argv[n++] = (char *)c->id;
        argv[n++] = (char *)"--ready-fd";
        argv[n++] = (char *)"3";
        if (wait_attach)
            argv[n++] = (char *)"--wait-attach";
        if (cli->debug)
            argv[n++] = (char *)"--debug";
        argv[n] = NULL;
        execv(prog, argv);
        dprintf(2, "exec %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    waitpid(child, NULL, 0);
    int r = cli_runtime_ready(p[0], logpath, exit_code, err);
    /* Waiting for our attach, the runtime watches this pipe: we keep it open until we
     * exit, so that our end (interrupted, killed) before the attach leaves the
     * container created instead of a VM waiting for good. */
    if (r < 0 || !wait_attach)
        close(p[0]);
    return r;
}

/* --- the terminal ------------------------------------------------------ */

static struct termios saved_tio;
static bool tio_saved;

static void tty_restore(void)
{
    if (tio_saved)
        tcsetattr(0, TCSADRAIN, &saved_tio);
    tio_saved = false;
}

static void tty_raw(void)
{
    if (tio_saved || tcgetattr(0, &saved_tio) < 0)
        return;
    struct termios raw = saved_tio;
    cfmakeraw(&raw); /* the container's terminal does all the processing */
    if (tcsetattr(0, TCSADRAIN, &raw) == 0) {
        tio_saved = true;
        atexit(tty_restore);
    }
}

static void tty_size(unsigned *rows, unsigned *cols)
{
    struct winsize ws;
    *rows = *cols = 0;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 || ioctl(0, TIOCGWINSZ, &ws) == 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* --- a session: stdin in, output out, signals forwarded ---------------- */

struct session {
    cz_loop *loop;
    cz_rpc_client *client;
    cz_rpc_call *call;
    bool attach;        /* Runtime.Attach (else Agent.Stdio of an exec) */
    bool stdin_on;      /* we feed stdin */
    bool stdin_done;
    bool stdin_watched;
    bool stdin_timer;   /* a file that epoll cannot watch: read on timers */
    bool tty;
    const char *proc_id; /* exec: the process id */
    int sigfd;
    bool got_exit;
    int exit_status;
    char *error;
    bool closed;
    int close_status;
    char *close_message;
};

static int write_all_fd(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int session_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    (void)err;
    struct session *s = cz_rpc_call_handler_data(call);
    if (s->attach) {
        const Cz__Runtime__V1__AttachResponse *m = (const void *)msg;
        if (m->data.len)
            write_all_fd(m->stream == 2 ? 2 : 1, m->data.data, m->data.len);
        if (m->notice && *m->notice)
            cz_warn("%s", m->notice);
        if (m->exited) {
            s->got_exit = true;
            s->exit_status = m->exit_status;
            if (m->error && *m->error)
                s->error = cz_xstrdup(m->error);
        }
    } else {
        const Cz__Agent__V1__StdioResponse *m = (const void *)msg;
        if (m->data.len)
            write_all_fd(m->stream == CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDERR ? 2 : 1,
                         m->data.data, m->data.len);
    }
    return 0;
}

static void session_close(cz_rpc_call *call, int status, const char *message)
{
    struct session *s = cz_rpc_call_handler_data(call);
    s->call = NULL;
    s->closed = true;
    s->close_status = status;
    s->close_message = cz_xstrdup(message ? message : "");
    cz_loop_stop(s->loop);
}

static void stdin_pump(struct session *s);
static void stdin_ready(cz_loop *loop, int fd, uint32_t events, void *data);

static void session_writable(cz_rpc_call *call)
{
    struct session *s = cz_rpc_call_handler_data(call);
    if (s->stdin_on && !s->stdin_done) {
        if (s->stdin_timer)
            stdin_pump(s);
        else if (!s->stdin_watched) {
            cz_error e = {0};
            if (cz_loop_add_fd(s->loop, 0, CZ_LOOP_IN, stdin_ready, s, &e) == 0)
                s->stdin_watched = true;
        }
    }
}

static const cz_rpc_handler session_handler = {
    .on_message = session_message,
    .on_writable = session_writable,
    .on_close = session_close,
};

/* For calls whose reply we do not need (it must outlive them: static). */
static const cz_rpc_handler ignore_reply = {0};

static int session_send_input(struct session *s, const void *data, size_t len, bool close_stdin,
                              unsigned rows, unsigned cols)
{
    cz_error err = {0};
    if (!s->call)
        return -1;
    if (s->attach) {
        Cz__Runtime__V1__AttachRequest r = CZ__RUNTIME__V1__ATTACH_REQUEST__INIT;
        r.data.data = (uint8_t *)data;
        r.data.len = len;
        r.close_stdin = close_stdin;
        r.rows = rows;
        r.cols = cols;
        return cz_rpc_call_send(s->call, &r.base, &err);
    }
    if (rows && cols) {
        Cz__Agent__V1__ResizePtyRequest r = CZ__AGENT__V1__RESIZE_PTY_REQUEST__INIT;
        r.id = (char *)s->proc_id;
        r.rows = rows;
        r.cols = cols;
        cz_rpc_call *c = cz_rpc_client_start(s->client, AGENT, "ResizePty", 10000,
                                             &ignore_reply, NULL, &err);
        if (c && (cz_rpc_call_send(c, &r.base, &err) < 0 || cz_rpc_call_close_send(c, &err) < 0))
            cz_rpc_call_cancel(c);
        return 0;
    }
    Cz__Agent__V1__StdioRequest r = CZ__AGENT__V1__STDIO_REQUEST__INIT;
    r.data.data = (uint8_t *)data;
    r.data.len = len;
    r.close_stdin = close_stdin;
    return cz_rpc_call_send(s->call, &r.base, &err);
}

/* Read what stdin has (one chunk), send it; EOF closes the process's stdin. */
static void stdin_read(struct session *s)
{
    char buf[65536];
    ssize_t n = read(0, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        s->stdin_done = true;
        if (s->stdin_watched)
            cz_loop_del_fd(s->loop, 0);
        s->stdin_watched = false;
        if (!s->tty)
            session_send_input(s, NULL, 0, true, 0, 0);
        return;
    }
    session_send_input(s, buf, (size_t)n, false, 0, 0);
    if (s->call && cz_rpc_call_pending(s->call) > CZ_RPC_SEND_HIGH_WATER && s->stdin_watched) {
        cz_loop_del_fd(s->loop, 0); /* resumed in on_writable */
        s->stdin_watched = false;
    }
}

static void stdin_ready(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    (void)events;
    stdin_read(data);
}

static void stdin_tick(cz_loop *loop, void *data)
{
    (void)loop;
    stdin_pump(data);
}

/* Regular files and /dev/null cannot be polled: read them chunk by chunk
 * while the send queue has room. */
static void stdin_pump(struct session *s)
{
    for (int i = 0; i < 16 && !s->stdin_done && s->call &&
                    cz_rpc_call_pending(s->call) <= CZ_RPC_SEND_HIGH_WATER;
         i++)
        stdin_read(s);
    if (!s->stdin_done && s->call && cz_rpc_call_pending(s->call) <= CZ_RPC_SEND_HIGH_WATER)
        cz_loop_add_timer(s->loop, 0, stdin_tick, s);
}

static void stdin_start(struct session *s)
{
    cz_error e = {0};
    if (cz_loop_add_fd(s->loop, 0, CZ_LOOP_IN, stdin_ready, s, &e) == 0) {
        s->stdin_watched = true;
        return;
    }
    s->stdin_timer = true;
    cz_loop_add_timer(s->loop, 0, stdin_tick, s);
}

static void forward_signal(struct session *s, int sig)
{
    cz_error err = {0};
    if (s->attach) {
        Cz__Runtime__V1__KillRequest k = CZ__RUNTIME__V1__KILL_REQUEST__INIT;
        k.signal = sig;
        cz_rpc_call *c = cz_rpc_client_start(s->client, RUNTIME, "Kill", 10000,
                                             &ignore_reply, NULL, &err);
        if (c && (cz_rpc_call_send(c, &k.base, &err) < 0 || cz_rpc_call_close_send(c, &err) < 0))
            cz_rpc_call_cancel(c);
    } else {
        Cz__Agent__V1__SignalRequest k = CZ__AGENT__V1__SIGNAL_REQUEST__INIT;
        k.id = (char *)s->proc_id;
        k.signal = sig;
        cz_rpc_call *c = cz_rpc_client_start(s->client, AGENT, "Signal", 10000,
                                             &ignore_reply, NULL, &err);
        if (c && (cz_rpc_call_send(c, &k.base, &err) < 0 || cz_rpc_call_close_send(c, &err) < 0))
            cz_rpc_call_cancel(c);
    }
}

static void on_cli_signal(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct session *s = data;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGWINCH) {
            unsigned rows, cols;
            tty_size(&rows, &cols);
            if (rows && cols)
                session_send_input(s, NULL, 0, false, rows, cols);
        } else {
            forward_signal(s, (int)si.ssi_signo);
        }
    }
}

/* Run the loop until the call ends. */
static int session_run(struct session *s, cz_error *err)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    sigaddset(&mask, SIGWINCH);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd >= 0)
        cz_loop_add_fd(s->loop, s->sigfd, CZ_LOOP_IN, on_cli_signal, s, err);
    if (s->stdin_on)
        stdin_start(s);
    while (!s->closed)
        if (cz_loop_run_once(s->loop, -1, err) < 0)
            return -1;
    if (s->sigfd >= 0) {
        cz_loop_del_fd(s->loop, s->sigfd);
        close(s->sigfd);
    }
    if (s->stdin_watched)
        cz_loop_del_fd(s->loop, 0);
    s->stdin_watched = false;
    return 0;
}

static void session_free(struct session *s)
{
    if (s->client)
        cz_rpc_client_free(s->client);
    if (s->loop)
        cz_loop_free(s->loop);
    free(s->error);
    free(s->close_message);
}

/* Attach to the main process until it exits; returns its exit code for the
 * CLI (or 125 with err set). *not_started (may be NULL): the process could not be
 * started (its exit code is then 125, 126 or 127). */
static int attach(struct cli *cli, const cz_container_config *c, bool with_stdin, bool *not_started,
                  cz_error *err)
{
    (void)cli;
    struct session s = {.attach = true, .tty = c->tty, .stdin_on = with_stdin, .sigfd = -1};
    cz_autofree char *sock = cz_container_runtime_socket(c->id);
    s.loop = cz_loop_new(err);
    if (!s.loop)
        return -1;
    s.client = cz_rpc_client_connect_unix(s.loop, sock, NULL, err);
    if (!s.client) {
        session_free(&s);
        return cz_error_wrap(err, "attach to %s", c->name);
    }
    s.call = cz_rpc_client_start(s.client, RUNTIME, "Attach", 0, &session_handler, &s, err);
    if (!s.call) {
        session_free(&s);
        return -1;
    }
    Cz__Runtime__V1__AttachRequest first = CZ__RUNTIME__V1__ATTACH_REQUEST__INIT;
    first.stdin = with_stdin;
    if (c->tty && isatty(0)) {
        unsigned rows, cols;
        tty_size(&rows, &cols);
        first.rows = rows;
        first.cols = cols;
        if (with_stdin)
            tty_raw();
    }
    int r = cz_rpc_call_send(s.call, &first.base, err);
    if (r == 0)
        r = session_run(&s, err);
    tty_restore();
    if (r == 0 && !s.got_exit) {
        r = cz_error_set(err, EIO, "lost the connection to the container's runtime%s%s",
                         s.close_message && *s.close_message ? ": " : "",
                         s.close_message ? s.close_message : "");
    } else if (r == 0) {
        if (s.exit_status < 0) {
            r = cz_error_set(err, EIO, "%s", s.error ? s.error : "the container failed");
        } else {
            if (s.error && s.exit_status >= 125 && s.exit_status <= 127) {
                fprintf(stderr, "Error: %s\n", s.error);
                if (not_started)
                    *not_started = true;
            }
            r = s.exit_status;
        }
    }
    session_free(&s);
    return r;
}

/* --- run / start -------------------------------------------------------- */

static const char run_usage[] =
    "Usage: container run [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
    "Create and start a container in its own VM; without -d, stay attached until it exits\n"
    "and exit with its exit code.\n\n"
    "Options: those of 'container create', and\n"
    "  -d, --detach              run in the background and print the container ID\n";

static int cmd_run(struct cli *cli, int argc, char **argv, cz_error *err)
{
    cz_container_config c;
    bool detach = false;
    char *cidfile = NULL;
    int r = cli_parse_create(cli, argc, argv, run_usage, &c, &detach, &cidfile, err);
    if (r != 0) {
        free(cidfile);
        return r > 0 ? 0 : r == -2 ? r : -125;
    }
    r = cli_create_container(cli, &c, cidfile, err);
    int code = 125;
    if (r == 0 && cli_runtime_start(cli, &c, !detach, &code, err) < 0) {
        if (c.auto_remove)
            cli_discard_container(cli, &c, cidfile);
        r = -1;
    }
    if (r == 0) {
        if (detach) {
            printf("%s\n", c.id);
            fflush(stdout);
        } else {
            bool not_started = false;
            r = attach(cli, &c, c.interactive, &not_started, err);
            /* its runtime removed a --rm container that never ran: the cidfile goes too */
            if (not_started && c.auto_remove)
                cli_remove_cidfile(&c, cidfile);
        }
    }
    free(cidfile);
    cz_container_config_free(&c);
    if (r < 0 && code != 125) {
        fprintf(stderr, "Error: %s\n", err->msg);
        return code;
    }
    return r < 0 ? -125 : r;
}

static const char start_usage[] =
    "Usage: container start [OPTIONS] CONTAINER...\n\n"
    "Start stopped containers (a fresh VM on the container's own disk).\n\n"
    "Options:\n"
    "  -a, --attach          attach to its output and exit with its exit code\n"
    "  -i, --interactive     attach stdin too\n";

static int cmd_start(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
                                         {"interactive", no_argument, NULL, 'i'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool att = false, inter = false;
    int o;
    while ((o = getopt_long(argc, argv, "+aih", opts, NULL)) != -1) {
        switch (o) {
        case 'a': att = true; break;
        case 'i': inter = true; break;
        case 'h': cli_print_usage(start_usage); return 0;
        default: return cli_option_error(err, "start", "aih", opts, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(err, "start: a container is required");
    if ((att || inter) && argc - optind > 1)
        return cli_usage_error(err, "start: attach to one container at a time");
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        cz_container_config c;
        cz_container_state st;
        if (cz_container_load(cli->root, argv[i], &c, &st, err) < 0)
            return -1;
        cli_reconcile(cli, &c, &st);
        int r = 0, code = 125;
        if (st.status == CZ_STATUS_RUNNING) {
            if (!att && !inter)
                printf("%s\n", argv[i]);
            else
                r = attach(cli, &c, inter && c.interactive, NULL, err);
        } else {
            cz_autofree char *dir = cz_container_dir(cli->root, c.id);
            cz_autofree char *rw = cz_xasprintf("%s/rw.ext4", dir);
            bool picked = false;
            if (access(rw, F_OK) < 0)
                r = cli_prepare_container(cli, &c, err);
            /* a host port picked before may be taken by now: pick another, recorded */
            if (r == 0)
                r = cli_pick_host_ports(&c, &picked, err);
            if (r == 0 && picked)
                r = cz_container_save_config(cli->root, &c, err);
            if (r == 0)
                r = cli_runtime_start(cli, &c, att || inter, &code, err);
            if (r == 0 && (att || inter))
                r = attach(cli, &c, inter && c.interactive, NULL, err);
            else if (r == 0)
                printf("%s\n", argv[i]);
        }
        cz_container_config_free(&c);
        cz_container_state_free(&st);
        if (r < 0) {
            if (code != 125) {
                fprintf(stderr, "Error: %s\n", err->msg);
                return code;
            }
            return -1;
        }
        rc = r;
    }
    return rc;
}

/* --- stop / kill / wait ------------------------------------------------- */

static int runtime_unary(const cz_container_config *c, const char *method,
                         const ProtobufCMessage *req, ProtobufCMessage **reply, int64_t timeout_ms,
                         cz_error *err)
{
    cz_error e = {0};
    cz_loop *loop = cz_loop_new(err);
    if (!loop)
        return -1;
    cz_autofree char *sock = cz_container_runtime_socket(c->id);
    cz_rpc_client *cl = cz_rpc_client_connect_unix(loop, sock, NULL, &e);
    int r = -1;
    if (!cl)
        cz_error_set(err, e.code, "container %s: its runtime does not answer: %s", c->name, e.msg);
    else if ((r = cz_rpc_client_unary(cl, RUNTIME, method, req, reply, timeout_ms, err)) < 0)
        cz_rpc_error_strip(err); /* the runtime's own words */
    if (cl)
        cz_rpc_client_free(cl);
    cz_loop_free(loop);
    return r;
}

static const char stop_usage[] =
    "Usage: container stop [OPTIONS] CONTAINER...\n\n"
    "Stop running containers: a signal, then SIGKILL after a timeout.\n\n"
    "Options:\n"
    "  -t, --time SECS       seconds to wait before SIGKILL (default: the container's\n"
    "                        --stop-timeout, else 10; -1: wait forever)\n"
    "  -s, --signal SIG      the first signal (default: the container's --stop-signal,\n"
    "                        else its image's STOPSIGNAL, else SIGTERM)\n"
    "      --all             stop every running container\n";

/* Stop with sig and secs, or where not given (0, INT_MIN) the container's own defaults. */
static int stop_one(struct cli *cli, const char *ref, int sig, int secs, cz_error *err)
{
    cz_container_config c;
    cz_container_state st;
    if (cz_container_load(cli->root, ref, &c, &st, err) < 0)
        return -1;
    cli_reconcile(cli, &c, &st);
    int r = 0;
    cz_error ignored = {0};
    if (!sig && c.stop_signal) /* checked at create; docker falls back to SIGTERM too */
        cli_parse_signal(c.stop_signal, &sig, &ignored);
    if (!sig)
        sig = SIGTERM;
    if (secs == INT_MIN)
        secs = c.stop_timeout_set ? c.stop_timeout : CLI_STOP_TIMEOUT;
    if (st.status == CZ_STATUS_RUNNING) {
        Cz__Runtime__V1__StopRequest q = CZ__RUNTIME__V1__STOP_REQUEST__INIT;
        q.signal = sig;
        q.timeout_seconds = secs;
        ProtobufCMessage *rep = NULL;
        r = runtime_unary(&c, "Stop", &q.base, &rep, secs >= 0 ? (secs + 60) * 1000 : 0, err);
        if (r == 0)
            protobuf_c_message_free_unpacked(rep, NULL);
        /* the runtime tears the VM down after replying: wait for it */
        for (int i = 0; r == 0 && i < 300 && cz_container_runtime_alive(&st); i++)
            usleep(20000);
    }
    cz_container_config_free(&c);
    cz_container_state_free(&st);
    return r;
}

static int cmd_stop(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"time", required_argument, NULL, 't'},
                                         {"signal", required_argument, NULL, 's'},
                                         {"all", no_argument, NULL, 'A'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    int secs = INT_MIN, sig = 0; /* the container's own */
    bool all = false;
    int o;
    while ((o = getopt_long(argc, argv, "+t:s:h", opts, NULL)) != -1) {
        switch (o) {
        case 't':
            if (cli_parse_stop_timeout("stop --time", optarg, &secs, err) < 0)
                return -2;
            break;
        case 's':
            if (cli_parse_signal(optarg, &sig, err) < 0)
                return -2;
            break;
        case 'A': all = true; break;
        case 'h': cli_print_usage(stop_usage); return 0;
        default: return cli_option_error(err, "stop", "t:s:h", opts, argv);
        }
    }
    if (!all && optind >= argc)
        return cli_usage_error(err, "stop: a container is required (or --all)");
    int failures = 0;
    char **ids = NULL;
    if (all) {
        ids = cz_container_list(cli->root, err);
        if (!ids)
            return -1;
    }
    char **list = all ? ids : argv + optind;
    for (char **p = list; *p; p++) {
        cz_error e = {0};
        if (all) {
            cz_container_config c;
            cz_container_state st;
            if (cz_container_load(cli->root, *p, &c, &st, &e) < 0)
                continue;
            bool running = st.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&st);
            cz_container_config_free(&c);
            cz_container_state_free(&st);
            if (!running)
                continue;
        }
        if (stop_one(cli, *p, sig, secs, &e) < 0) {
            if (all || argc - optind > 1)
                fprintf(stderr, "Error: %s\n", e.msg);
            else
                *err = e; /* one container: its error is the command's */
            failures++;
        } else {
            printf("%s\n", *p);
        }
    }
    for (char **p = ids; p && *p; p++)
        free(*p);
    free(ids);
    if (failures && !all && argc - optind == 1)
        return -1;
    if (failures)
        return cz_error_set(err, EIO, "%d container%s could not be stopped", failures,
                            failures == 1 ? "" : "s");
    return 0;
}

static const char kill_usage[] = "Usage: container kill [OPTIONS] CONTAINER...\n\n"
                                 "Send a signal to containers' main processes.\n\n"
                                 "Options:\n"
                                 "  -s, --signal SIG      the signal (default SIGKILL)\n";

static int cmd_kill(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"signal", required_argument, NULL, 's'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    int sig = SIGKILL, o;
    while ((o = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            if (cli_parse_signal(optarg, &sig, err) < 0)
                return -2;
            break;
        case 'h': cli_print_usage(kill_usage); return 0;
        default: return cli_option_error(err, "kill", "s:h", opts, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(err, "kill: a container is required");
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        cz_error e = {0};
        cz_container_config c;
        cz_container_state st;
        if (cz_container_load(cli->root, argv[i], &c, &st, &e) == 0) {
            cli_reconcile(cli, &c, &st);
            if (st.status != CZ_STATUS_RUNNING) {
                cz_error_set(&e, EBUSY, "container %s is not running", argv[i]);
            } else {
                Cz__Runtime__V1__KillRequest k = CZ__RUNTIME__V1__KILL_REQUEST__INIT;
                k.signal = sig;
                ProtobufCMessage *rep = NULL;
                if (runtime_unary(&c, "Kill", &k.base, &rep, 30000, &e) == 0)
                    protobuf_c_message_free_unpacked(rep, NULL);
            }
            cz_container_config_free(&c);
            cz_container_state_free(&st);
        }
        if (e.msg[0]) {
            if (argc - optind > 1)
                fprintf(stderr, "Error: %s\n", e.msg);
            else
                *err = e; /* one container: its error is the command's */
            failures++;
        } else {
            printf("%s\n", argv[i]);
        }
    }
    if (failures && argc - optind == 1)
        return -1;
    if (failures)
        return cz_error_set(err, EIO, "%d container%s could not be signalled", failures,
                            failures == 1 ? "" : "s");
    return 0;
}

static int cmd_wait(struct cli *cli, int argc, char **argv, cz_error *err)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_print_usage("Usage: container wait CONTAINER...\n\n"
                        "Wait until containers stop; print their exit codes.\n");
        return argc < 2 ? cli_usage_error(err, "wait: a container is required") : 0;
    }
    for (int i = 1; i < argc; i++) {
        cz_container_config c;
        cz_container_state st;
        if (cz_container_load(cli->root, argv[i], &c, &st, err) < 0)
            return -1;
        cli_reconcile(cli, &c, &st);
        if (st.status == CZ_STATUS_RUNNING) {
            Cz__Runtime__V1__WaitRequest q = CZ__RUNTIME__V1__WAIT_REQUEST__INIT;
            ProtobufCMessage *rep = NULL;
            if (runtime_unary(&c, "Wait", &q.base, &rep, 0, err) == 0)
                protobuf_c_message_free_unpacked(rep, NULL);
            cz_container_state_free(&st);
            cz_container_config_free(&c);
            if (cz_container_load(cli->root, argv[i], &c, &st, err) < 0)
                return -1;
            for (int k = 0; k < 300 && cz_container_runtime_alive(&st); k++) {
                usleep(20000);
            }
            cz_container_state_free(&st);
            cz_container_config_free(&c);
            if (cz_container_load(cli->root, argv[i], &c, &st, err) < 0)
                return -1;
        }
        printf("%d\n", st.status == CZ_STATUS_STOPPED ? st.exit_code : -1);
        cz_container_config_free(&c);
        cz_container_state_free(&st);
    }
    return 0;
}

/* --- exec --------------------------------------------------------------- */

static const char exec_usage[] =
    "Usage: container exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
    "Run a command in a running container (its namespaces and cgroup).\n\n"
    "Options:\n"
    "  -d, --detach          run in the background\n"
    "  -i, --interactive     keep stdin open\n"
    "  -t, --tty             allocate a pseudo-terminal\n"
    "  -e, --env K=V         set an environment variable (repeatable)\n"
    "  -w, --workdir DIR     working directory\n"
    "  -u, --user U[:G]      user (name or uid) and group\n";

static void strv_add(char ***v, size_t *n, const char *s)
{
    *v = cz_xrealloc(*v, (*n + 2) * sizeof(char *));
    (*v)[(*n)++] = cz_xstrdup(s);
    (*v)[*n] = NULL;
}

static int cmd_exec(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"detach", no_argument, NULL, 'd'},
                                         {"interactive", no_argument, NULL, 'i'},
                                         {"tty", no_argument, NULL, 't'},
                                         {"env", required_argument, NULL, 'e'},
                                         {"workdir", required_argument, NULL, 'w'},
                                         {"user", required_argument, NULL, 'u'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool detach = false, inter = false, tty = false;
    const char *workdir = NULL, *user = NULL;
    char **envs = NULL;
    size_t n_envs = 0;
    int o;
    while ((o = getopt_long(argc, argv, "+dite:w:u:h", opts, NULL)) != -1) {
        switch (o) {
        case 'd': detach = true; break;
        case 'i': inter = true; break;
        case 't': tty = true; break;
        case 'e':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return cli_usage_error(err, "exec: invalid environment variable '%s' (want K=V)",
                                       optarg);
            strv_add(&envs, &n_envs, optarg);
            break;
        case 'w':
            if (optarg[0] != '/')
                return cli_usage_error(err, "exec: the working directory must be absolute");
            workdir = optarg;
            break;
        case 'u': user = optarg; break;
        case 'h': cli_print_usage(exec_usage); return 0;
        default: return cli_option_error(err, "exec", "dite:w:u:h", opts, argv);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error(err, "exec: a container and a command are required");
    cz_container_config c;
    cz_container_state st;
    if (cz_container_load(cli->root, argv[optind], &c, &st, err) < 0)
        return -1;
    cli_reconcile(cli, &c, &st);
    int r = 0, code = 125;
    struct session s = {.tty = tty, .stdin_on = inter && !detach, .sigfd = -1};
    char id[32];
    uint8_t rnd[6];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    snprintf(id, sizeof(id), "exec-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5]);
    s.proc_id = id;
    cz_autofree char *process = NULL;
    if (st.status != CZ_STATUS_RUNNING) {
        r = cz_error_set(err, EBUSY, "container %s is not running", argv[optind]);
        goto out;
    }
    /* the process: the container's own settings, with ours over them */
    {
        cz_container_config x = c;
        char **args = NULL, **env = NULL;
        size_t na = 0, ne = 0;
        for (int i = optind + 1; i < argc; i++)
            strv_add(&args, &na, argv[i]);
        for (char **e = c.env; e && *e; e++)
            strv_add(&env, &ne, *e);
        for (size_t i = 0; i < n_envs; i++)
            strv_add(&env, &ne, envs[i]);
        x.args = args;
        x.env = env;
        x.tty = tty;
        if (workdir)
            x.workdir = (char *)workdir;
        if (user)
            x.user = (char *)user;
        cz_autofree char *spec = cz_container_oci_spec(&x, "/", err);
        for (size_t i = 0; i < na; i++)
            free(args[i]);
        for (size_t i = 0; i < ne; i++)
            free(env[i]);
        free(args);
        free(env);
        if (!spec) {
            r = -1;
            goto out;
        }
        json_t *j = json_loads(spec, 0, NULL);
        process = j ? json_dumps(json_object_get(j, "process"), JSON_COMPACT) : NULL;
        json_decref(j);
        if (!process) {
            r = cz_error_set(err, EINVAL, "exec: build the process");
            goto out;
        }
        s.loop = cz_loop_new(err);
        cz_autofree char *sock = cz_container_runtime_socket(c.id);
        s.client = s.loop ? cz_rpc_client_connect_unix(s.loop, sock, NULL, err) : NULL;
        if (!s.client) {
            r = cz_error_wrap(err, "container %s: its runtime does not answer", c.name);
            goto out;
        }
        /* the guest seen through the session's own connection */
        struct cli_guest g = {.loop = s.loop, .client = s.client};
        cz_autofree char *passwd =
            cli_guest_read_text(&g, "/run/cz/rootfs/etc/passwd", 1 << 20, 30000);
        cz_autofree char *group =
            cli_guest_read_text(&g, "/run/cz/rootfs/etc/group", 1 << 20, 30000);
        struct cz_user u;
        r = cz_user_resolve(x.user, passwd, group, &u, err);
        if (r == 0)
            r = cz_spec_apply_user(&process, &u, err);
        cz_user_free(&u);
        if (r < 0)
            goto out;
    }
    {
        Cz__Agent__V1__StdioOptions so = CZ__AGENT__V1__STDIO_OPTIONS__INIT;
        so.stdin = s.stdin_on;
        so.stdout = !detach;
        so.stderr = !detach;
        so.terminal = tty;
        if (tty && isatty(0)) {
            unsigned rows, cols;
            tty_size(&rows, &cols);
            so.rows = rows;
            so.cols = cols;
        }
        Cz__Agent__V1__ExecRequest q = CZ__AGENT__V1__EXEC_REQUEST__INIT;
        q.container_id = c.id;
        q.id = id;
        q.process_json = process;
        q.stdio = &so;
        ProtobufCMessage *rep = NULL;
        if ((r = cz_rpc_client_unary(s.client, AGENT, "Exec", &q.base, &rep, 30000, err)) < 0) {
            cz_rpc_error_strip(err);
            goto out;
        }
        protobuf_c_message_free_unpacked(rep, NULL);
        if (!detach) {
            s.call = cz_rpc_client_start(s.client, AGENT, "Stdio", 0, &session_handler, &s, err);
            Cz__Agent__V1__StdioRequest first = CZ__AGENT__V1__STDIO_REQUEST__INIT;
            first.id = id;
            if (!s.call || cz_rpc_call_send(s.call, &first.base, err) < 0) {
                r = -1;
                goto out;
            }
        }
        Cz__Agent__V1__StartProcessRequest sp = CZ__AGENT__V1__START_PROCESS_REQUEST__INIT;
        sp.id = id;
        if (cz_rpc_client_unary(s.client, AGENT, "StartProcess", &sp.base, &rep, 30000, err) < 0) {
            code = cz_container_start_failure_status(cz_rpc_status_from_errno(err->code));
            cz_rpc_error_strip(err);
            Cz__Agent__V1__DeleteRequest d = CZ__AGENT__V1__DELETE_REQUEST__INIT;
            d.id = id;
            cz_error e2 = {0};
            if (cz_rpc_client_unary(s.client, AGENT, "Delete", &d.base, &rep, 10000, &e2) == 0)
                protobuf_c_message_free_unpacked(rep, NULL);
            r = -1;
            goto out;
        }
        protobuf_c_message_free_unpacked(rep, NULL);
        if (detach)
            goto out;
        if (tty && inter && isatty(0))
            tty_raw();
        r = session_run(&s, err);
        tty_restore();
        if (r < 0)
            goto out;
        Cz__Agent__V1__WaitRequest w = CZ__AGENT__V1__WAIT_REQUEST__INIT;
        w.id = id;
        if ((r = cz_rpc_client_unary(s.client, AGENT, "Wait", &w.base, &rep, 0, err)) < 0)
            goto out;
        r = ((const Cz__Agent__V1__WaitResponse *)rep)->exit_status;
        protobuf_c_message_free_unpacked(rep, NULL);
        Cz__Agent__V1__DeleteRequest d = CZ__AGENT__V1__DELETE_REQUEST__INIT;
        d.id = id;
        cz_error e2 = {0};
        if (cz_rpc_client_unary(s.client, AGENT, "Delete", &d.base, &rep, 10000, &e2) == 0)
            protobuf_c_message_free_unpacked(rep, NULL);
    }
out:
    session_free(&s);
    for (size_t i = 0; i < n_envs; i++)
        free(envs[i]);
    free(envs);
    cz_container_config_free(&c);
    cz_container_state_free(&st);
    if (r < 0 && code != 125) {
        fprintf(stderr, "Error: %s\n", err->msg);
        return code;
    }
    return r < 0 ? -125 : r;
}

/* --- logs --------------------------------------------------------------- */

static const char logs_usage[] =
    "Usage: container logs [OPTIONS] CONTAINER\n\n"
    "Show a container's output (its log), or with --boot its VM's console.\n\n"
    "Options:\n"
    "  -f, --follow          keep printing new output until the container stops\n"
    "  -n, --tail N          only the last N lines\n"
    "  -t, --timestamps      prefix each line with its time\n"
    "      --boot            the VM's console (kernel and vminitd messages)\n";

struct logs_opts {
    bool follow, timestamps, boot;
    long tail; /* -1: all */
};

/* Print one log line (JSON) or, for the console, raw text. */
static void print_log_line(const struct logs_opts *o, const char *line, size_t len)
{
    if (o->boot) {
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
        return;
    }
    json_error_t je;
    /* output may hold NUL bytes (\u0000 in the line): jansson refuses them unless asked */
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &je);
    if (!j)
        return; /* a torn last line of a crashed writer */
    const char *text = json_string_value(json_object_get(j, "log"));
    size_t tlen = json_string_length(json_object_get(j, "log"));
    const char *stream = json_string_value(json_object_get(j, "stream"));
    const char *when = json_string_value(json_object_get(j, "time"));
    FILE *out = stream && !strcmp(stream, "stderr") ? stderr : stdout;
    if (o->timestamps && when)
        fprintf(out, "%s ", when);
    if (text)
        fwrite(text, 1, tlen, out);
    fflush(out);
    json_decref(j);
}

static int cmd_logs(struct cli *cli, int argc, char **argv, cz_error *err)
{
    enum { OPT_BOOT = 300 };
    static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                         {"tail", required_argument, NULL, 'n'},
                                         {"timestamps", no_argument, NULL, 't'},
                                         {"boot", no_argument, NULL, OPT_BOOT},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    struct logs_opts lo = {.tail = -1};
    int o;
    while ((o = getopt_long(argc, argv, "+fn:th", opts, NULL)) != -1) {
        switch (o) {
        case 'f': lo.follow = true; break;
        case 't': lo.timestamps = true; break;
        case OPT_BOOT: lo.boot = true; break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!strcmp(optarg, "all"))
                v = -1;
            else if (!*optarg || *end || v < 0)
                return cli_usage_error(err, "logs: invalid --tail '%s'", optarg);
            lo.tail = v;
            break;
        }
        case 'h': cli_print_usage(logs_usage); return 0;
        default: return cli_option_error(err, "logs", "fn:th", opts, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(err, "logs: one container is required");
    cz_container_config c;
    cz_container_state st;
    if (cz_container_load(cli->root, argv[optind], &c, &st, err) < 0)
        return -1;
    cli_reconcile(cli, &c, &st);
    cz_autofree char *dir = cz_container_dir(cli->root, c.id);
    cz_autofree char *path = cz_xasprintf("%s/%s", dir, lo.boot ? "console.log" : "container.log");
    int r = 0;
    FILE *f = fopen(path, "re");
    if (!f && errno != ENOENT)
        r = cz_error_errno(err, errno, "open %s", path);
    /* the last N lines: count them first */
    long skip = 0;
    if (f && lo.tail >= 0) {
        long total = 0;
        int ch, prev = '\n';
        while ((ch = getc(f)) != EOF) {
            if (ch == '\n')
                total++;
            prev = ch;
        }
        if (prev != '\n')
            total++;
        skip = total > lo.tail ? total - lo.tail : 0;
        rewind(f);
    }
    cz_buf line = {0};
    for (int idle = 0; r == 0;) {
        if (!f) {
            f = fopen(path, "re");
            if (!f) {
                if (!lo.follow)
                    break;
                goto wait_more;
            }
        }
        int ch;
        bool progress = false;
        while ((ch = getc(f)) != EOF) {
            progress = true;
            if (ch != '\n') {
                char b = (char)ch;
                cz_buf_append(&line, &b, 1);
                continue;
            }
            if (skip > 0)
                skip--;
            else
                print_log_line(&lo, line.data ? line.data : "", line.len);
            line.len = 0;
        }
        clearerr(f);
        fflush(stdout);
        if (!lo.follow)
            break;
        if (progress)
            idle = 0;
    wait_more: {
        /* follow until the container is no longer running */
        cz_container_state now;
        cz_container_config cc;
        cz_error e = {0};
        bool running = false;
        if (cz_container_load(cli->root, c.id, &cc, &now, &e) == 0) {
            running = now.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&now);
            cz_container_config_free(&cc);
            cz_container_state_free(&now);
        }
        if (!running && idle++ > 1)
            break;
        usleep(100000);
    }
    }
    if (line.len && r == 0 && !lo.follow)
        print_log_line(&lo, line.data, line.len);
    cz_buf_free(&line);
    if (f)
        fclose(f);
    cz_container_config_free(&c);
    cz_container_state_free(&st);
    return r;
}

const struct cli_command cli_run_commands[] = {
    {"run", NULL, "Create and start a container in its own VM", cmd_run},
    {"start", NULL, "Start stopped containers", cmd_start},
    {"stop", NULL, "Stop running containers", cmd_stop},
    {"kill", NULL, "Send a signal to containers", cmd_kill},
    {"exec", NULL, "Run a command in a running container", cmd_exec},
    {"logs", NULL, "Show a container's output", cmd_logs},
    {"wait", NULL, "Wait for containers to stop; print their exit codes", cmd_wait},
    {NULL, NULL, NULL, NULL},
};
