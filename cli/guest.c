/* Talking to a container's guest from the CLI: its container-runtime forwards
 * the agent's methods (Stats, CopyIn, CopyOut, Stat, ReadFile...) to vminitd, so
 * a command connects to the runtime's socket and calls them there. Used by stats
 * and cp. For cp on a container that is not running, the CLI starts a runtime in
 * maintenance mode (docs/runtime.md): the container's VM without its process,
 * for as long as the copy lasts. */
#include "cli.h"

#include <cz/container.h>

#include "agent.pb-c.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAINTENANCE_END_TIMEOUT_S 60 /* sync and power off, before we kill it */

static int guest_connect(struct cli_guest *g, const char *sock, const char *ref, cz_error *err)
{
    g->loop = cz_loop_new(err);
    if (!g->loop)
        return -1;
    g->client = cz_rpc_client_connect_unix(g->loop, sock, NULL, err);
    if (!g->client)
        return cz_error_wrap(err, "container %s: its runtime does not answer", ref);
    return 0;
}

/* Load ref into g; *running: its runtime serves it (reconcile: record first
 * that a crashed runtime's RUNNING is not running). */
static int guest_load(struct cli *cli, const char *ref, struct cli_guest *g, bool reconcile,
                      bool *running, cz_error *err)
{
    memset(g, 0, sizeof(*g));
    g->lifeline = -1;
    cz_container_config c;
    cz_container_state st;
    if (cz_container_load(cli->root, ref, &c, &st, err) < 0)
        return -1;
    if (reconcile)
        cli_reconcile(cli, &c, &st);
    *running = st.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&st);
    memcpy(g->id, c.id, sizeof(g->id));
    g->name = cz_xstrdup(c.name);
    g->memory_mib = c.memory_mib;
    cz_container_config_free(&c);
    cz_container_state_free(&st);
    return 0;
}

static int guest_connect_running(struct cli_guest *g, const char *ref, cz_error *err)
{
    cz_autofree char *sock = cz_container_runtime_socket(g->id);
    if (guest_connect(g, sock, ref, err) < 0) {
        cli_guest_close(g);
        return -1;
    }
    return 0;
}

int cli_guest_open(struct cli *cli, const char *ref, struct cli_guest *g, cz_error *err)
{
    bool running;
    if (guest_load(cli, ref, g, false, &running, err) < 0)
        return -1;
    if (!running) {
        cli_guest_close(g);
        return cz_error_set(err, EBUSY, "container %s is not running", ref);
    }
    return guest_connect_running(g, ref, err);
}

/* Put fd at number want in a child about to exec (without close-on-exec). */
static void child_fd(int fd, int want)
{
    if (fd == want)
        fcntl(fd, F_SETFD, 0);
    else
        dup2(fd, want);
}

/* Start container-runtime --maintenance for the container and wait until it
 * serves (or says why not). It is our child, in its own session: a Ctrl-C of
 * ours does not reach it, and our end (even killed) closes the lifeline, which
 * ends it. */
static int maintenance_start(struct cli *cli, struct cli_guest *g, cz_error *err)
{
    cz_autofree char *prog = cli_runtime_program();
    if (access(prog, X_OK) < 0)
        return cz_error_errno(err, errno, "container-runtime %s", prog);
    cz_autofree char *dir = cz_container_dir(cli->root, g->id);
    cz_autofree char *logpath = cz_xasprintf("%s/runtime.log", dir);
    int ready[2], life[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return cz_error_errno(err, errno, "pipe");
    if (pipe2(life, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return cz_error_errno(err, errno, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(ready[0]);
        close(ready[1]);
        close(life[0]);
        close(life[1]);
        return cz_error_errno(err, e, "fork");
    }
    if (pid == 0) {
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* above 4 first, so placing one cannot overwrite the other */
        int r = fcntl(ready[1], F_DUPFD_CLOEXEC, 10), l = fcntl(life[0], F_DUPFD_CLOEXEC, 10);
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        child_fd(devnull, 0);
        child_fd(logfd >= 0 ? logfd : devnull, 1);
        child_fd(logfd >= 0 ? logfd : devnull, 2);
        child_fd(r, 3);
        child_fd(l, 4);
        char *argv[] = {(char *)"container-runtime", (char *)"--root", (char *)cli->root,
                        (char *)"--id", g->id, (char *)"--maintenance", (char *)"--ready-fd",
                        (char *)"3", (char *)"--lifeline-fd", (char *)"4",
                        cli->debug ? (char *)"--debug" : NULL, NULL};
        execv(prog, argv);
        dprintf(2, "exec %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(ready[1]);
    close(life[0]);
    g->maintenance = true;
    g->maintenance_pid = pid;
    g->lifeline = life[1];
    int code;
    int r = cli_runtime_ready(ready[0], logpath, &code, err);
    close(ready[0]);
    return r;
}

int cli_guest_open_for_copy(struct cli *cli, const char *ref, struct cli_guest *g, cz_error *err)
{
    bool running;
    if (guest_load(cli, ref, g, true, &running, err) < 0)
        return -1;
    if (running)
        return guest_connect_running(g, ref, err);
    /* a container made before its disk existed gets it now, as start does */
    cz_autofree char *dir = cz_container_dir(cli->root, g->id);
    cz_autofree char *rw = cz_xasprintf("%s/rw.ext4", dir);
    int r = 0;
    if (access(rw, F_OK) < 0) {
        cz_container_config c;
        r = cz_container_load(cli->root, g->id, &c, NULL, err);
        if (r == 0) {
            r = cli_prepare_container(cli, &c, err);
            cz_container_config_free(&c);
        }
    }
    if (r == 0)
        r = maintenance_start(cli, g, err);
    if (r < 0) {
        /* started meanwhile? then the running container serves the copy */
        cz_error e = *err;
        cli_guest_close(g);
        if (cli_guest_open(cli, ref, g, err) == 0)
            return 0;
        *err = e;
        return -1;
    }
    cz_autofree char *mdir = cz_container_maintenance_dir(g->id);
    cz_autofree char *sock = cz_xasprintf("%s/runtime.sock", mdir);
    if (guest_connect(g, sock, ref, err) < 0) {
        cli_guest_close(g);
        return -1;
    }
    return 0;
}

int cli_guest_call(struct cli_guest *g, const char *method, const ProtobufCMessage *req,
                   ProtobufCMessage **reply, int timeout_ms, cz_error *err)
{
    ProtobufCMessage *r = NULL;
    if (cz_rpc_client_unary(g->client, &cz__agent__v1__agent__descriptor, method, req, &r,
                            timeout_ms, err) < 0)
        return -1;
    if (reply)
        *reply = r;
    else
        protobuf_c_message_free_unpacked(r, NULL);
    return 0;
}

void cli_guest_close(struct cli_guest *g)
{
    if (g->client)
        cz_rpc_client_free(g->client);
    if (g->loop)
        cz_loop_free(g->loop);
    if (g->lifeline >= 0)
        close(g->lifeline); /* the maintenance runtime syncs, powers off, exits */
    if (g->maintenance_pid > 0) {
        int i = 0;
        while (waitpid(g->maintenance_pid, NULL, WNOHANG) == 0 &&
               i++ < MAINTENANCE_END_TIMEOUT_S * 100)
            usleep(10000);
        if (i > MAINTENANCE_END_TIMEOUT_S * 100) {
            kill(g->maintenance_pid, SIGKILL);
            waitpid(g->maintenance_pid, NULL, 0);
        }
    }
    free(g->name);
    memset(g, 0, sizeof(*g));
    g->lifeline = -1;
}

char *cli_guest_read_text(struct cli_guest *g, const char *path, size_t limit, int timeout_ms)
{
    Cz__Agent__V1__ReadFileRequest q = CZ__AGENT__V1__READ_FILE_REQUEST__INIT;
    q.path = (char *)path;
    q.limit = limit;
    ProtobufCMessage *r = NULL;
    cz_error e = {0};
    if (cli_guest_call(g, "ReadFile", &q.base, &r, timeout_ms, &e) < 0)
        return NULL;
    const Cz__Agent__V1__ReadFileResponse *f = (const void *)r;
    char *text = cz_xstrndup((const char *)f->data.data, f->data.len);
    protobuf_c_message_free_unpacked(r, NULL);
    return text;
}
