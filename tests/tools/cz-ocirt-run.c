/* cz-ocirt-run: drives lib/ocirt the way vminitd will: create a container from
 * a config.json, start it, relay stdio (pipes or a pty), act as the single
 * reaper, print the exit status. Used by tests/integration/ocirt.sh.
 *   cz-ocirt-run [options] SPEC.json
 *     --id ID                 container id (default ocirt-<pid>)
 *     --cgroup-parent DIR     cgroup parent ("" for none)
 *     --tty                   run on a pseudo-terminal; --size RxC its initial size
 *     --resize RxC            resize the terminal right after start
 *     --no-stdin              stdin is /dev/null (default: our stdin, EOF relayed)
 *     --signal MS:SIG         send SIG to the process MS milliseconds after start
 *     --signal-all MS:SIG     the same, to every process of the cgroup
 *     --exec PROCESS.json     after start, exec this process in the container; its
 *                             output is relayed, then the container is killed
 *     --exec-delay MS         wait before the exec (default 200)
 *     --stats MS              print cgroup stats MS after start and at the end
 *     --timeout S             kill everything after S seconds (default 60)
 * Prints "exit status N" (and "exec status N") on stderr and exits with N. */
#include <cz/ocirt.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "cz-ocirt-run: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char *buf = malloc(CZ_OCIRT_SPEC_MAX + 1);
    *len = fread(buf, 1, CZ_OCIRT_SPEC_MAX + 1, f);
    fclose(f);
    return buf;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_stats(cz_ocirt_process *p, const char *when)
{
    struct cz_ocirt_stats s;
    cz_error err;
    if (cz_ocirt_stats(p, &s, &err) < 0) {
        fprintf(stderr, "stats: %s\n", err.msg);
        return;
    }
    fprintf(stderr,
            "stats %s: cpu_usage_usec=%llu cpu_user_usec=%llu cpu_system_usec=%llu "
            "mem_current=%llu mem_limit=%llu oom_kill=%llu pids_current=%llu pids_limit=%llu\n",
            when, (unsigned long long)s.cpu_usage_usec, (unsigned long long)s.cpu_user_usec,
            (unsigned long long)s.cpu_system_usec, (unsigned long long)s.mem_current,
            (unsigned long long)s.mem_limit, (unsigned long long)s.mem_oom_kill_events,
            (unsigned long long)s.pids_current, (unsigned long long)s.pids_limit);
}

struct relay {
    int fd;
    int out; /* our fd to copy to */
};

static bool pump(struct relay *r)
{
    char buf[65536];
    ssize_t n = read(r->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) /* EOF, or EIO on a pty whose slave is gone */
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(r->out, buf + off, (size_t)(n - off));
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct cz_ocirt_create_options o = {0};
    char idbuf[64];
    snprintf(idbuf, sizeof(idbuf), "ocirt-%d", (int)getpid());
    o.id = idbuf;
    const char *exec_file = NULL;
    int exec_delay = 200, stats_ms = -1, timeout_s = 60;
    int sig_ms = -1, sig = 0;
    bool sig_all = false, use_stdin = true;
    unsigned resize_r = 0, resize_c = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--id"))
            o.id = v, i++;
        else if (!strcmp(a, "--cgroup-parent"))
            o.cgroup_parent = v, i++;
        else if (!strcmp(a, "--tty"))
            o.stdio.terminal = true;
        else if (!strcmp(a, "--size"))
            sscanf(v, "%ux%u", &o.stdio.rows, &o.stdio.cols), i++;
        else if (!strcmp(a, "--resize"))
            sscanf(v, "%ux%u", &resize_r, &resize_c), i++;
        else if (!strcmp(a, "--no-stdin"))
            use_stdin = false;
        else if (!strcmp(a, "--signal") || !strcmp(a, "--signal-all")) {
            sig_all = !strcmp(a, "--signal-all");
            sscanf(v, "%d:%d", &sig_ms, &sig);
            i++;
        } else if (!strcmp(a, "--exec"))
            exec_file = v, i++;
        else if (!strcmp(a, "--exec-delay"))
            exec_delay = atoi(v), i++;
        else if (!strcmp(a, "--stats"))
            stats_ms = atoi(v), i++;
        else if (!strcmp(a, "--timeout"))
            timeout_s = atoi(v), i++;
        else {
            fprintf(stderr, "cz-ocirt-run: unknown option %s\n", a);
            return 2;
        }
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: cz-ocirt-run [options] SPEC.json\n");
        return 2;
    }
    o.stdio.stdin_pipe = use_stdin;
    o.stdio.stdout_pipe = o.stdio.stderr_pipe = true;
    char *bundle = strdup(argv[i]);
    char *slash = strrchr(bundle, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(bundle, ".");
    o.bundle = bundle;

    /* The single reaper: SIGCHLD through a signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    size_t len;
    char *json = slurp(argv[i], &len);
    cz_error err;
    cz_ocirt_spec *spec;
    cz_ocirt_process *p;
    if (cz_ocirt_spec_parse(json, len, &spec, &err) < 0 || cz_ocirt_create(spec, &o, &p, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        cz_ocirt_spec_free(spec);
        free(json);
        free(bundle);
        return 2;
    }
    int64_t t0 = now_ms();
    int start_failed = 0;
    if (cz_ocirt_start(p, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        start_failed = 1;
    }
    if (resize_r && cz_ocirt_resize_pty(p, resize_r, resize_c, &err) < 0)
        fprintf(stderr, "Error: %s\n", err.msg);

    struct relay rel[4];
    int nrel = 0;
    if (cz_ocirt_fd(p, CZ_OCIRT_PTY) >= 0)
        rel[nrel++] = (struct relay){cz_ocirt_fd(p, CZ_OCIRT_PTY), 1};
    if (cz_ocirt_fd(p, CZ_OCIRT_STDOUT) >= 0)
        rel[nrel++] = (struct relay){cz_ocirt_fd(p, CZ_OCIRT_STDOUT), 1};
    if (cz_ocirt_fd(p, CZ_OCIRT_STDERR) >= 0)
        rel[nrel++] = (struct relay){cz_ocirt_fd(p, CZ_OCIRT_STDERR), 2};
    bool stdin_open = use_stdin;
    bool tty = cz_ocirt_fd(p, CZ_OCIRT_PTY) >= 0;
    int stdin_target = tty ? cz_ocirt_fd(p, CZ_OCIRT_PTY) : cz_ocirt_fd(p, CZ_OCIRT_STDIN);

    cz_ocirt_process *ex = NULL;
    cz_ocirt_spec *exspec = NULL;
    bool exec_done = exec_file == NULL;
    int exec_status = -1;
    bool stats_printed = false, signalled = false;
    while (1) {
        int64_t el = now_ms() - t0;
        if (el > timeout_s * 1000) {
            fprintf(stderr, "cz-ocirt-run: timeout, killing the container\n");
            cz_ocirt_signal(p, SIGKILL, true, NULL);
            timeout_s += 10;
        }
        if (!signalled && sig_ms >= 0 && el >= sig_ms) {
            signalled = true;
            if (cz_ocirt_signal(p, sig, sig_all, &err) < 0)
                fprintf(stderr, "Error: %s\n", err.msg);
        }
        if (!stats_printed && stats_ms >= 0 && el >= stats_ms) {
            stats_printed = true;
            print_stats(p, "running");
        }
        if (exec_file && !ex && !exec_done && el >= exec_delay) {
            char *pj = slurp(exec_file, &len);
            struct cz_ocirt_exec_options eo = {.stdio = {.stdout_pipe = true, .stderr_pipe = true}};
            if (cz_ocirt_process_parse(pj, len, &exspec, &err) < 0 ||
                cz_ocirt_exec(p, exspec, &eo, &ex, &err) < 0 || cz_ocirt_start(ex, &err) < 0) {
                fprintf(stderr, "Error: %s\n", err.msg);
                exec_done = true;
            } else {
                rel[nrel++] = (struct relay){cz_ocirt_take_fd(ex, CZ_OCIRT_STDOUT), 1};
                rel[nrel++] = (struct relay){cz_ocirt_take_fd(ex, CZ_OCIRT_STDERR), 2};
            }
            free(pj);
        }
        struct cz_ocirt_exit st;
        cz_ocirt_exit_status(p, &st);
        bool outputs_open = false;
        for (int k = 0; k < nrel; k++)
            outputs_open |= rel[k].fd >= 0;
        if (ex) {
            struct cz_ocirt_exit es;
            cz_ocirt_exit_status(ex, &es);
            bool ex_out = false;
            for (int k = 0; k < nrel; k++)
                if (rel[k].fd >= 0 && k >= nrel - 2)
                    ex_out = true;
            if (es.exited && !ex_out && !exec_done) {
                exec_done = true;
                exec_status = es.status;
                fprintf(stderr, "exec status %d\n", es.status);
                cz_ocirt_signal(p, SIGKILL, true, NULL);
            }
        }
        if (st.exited && !outputs_open && (exec_done || !ex))
            break;
        if (st.exited && tty && !outputs_open)
            break;

        struct pollfd pf[8];
        int n = 0;
        pf[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = stdin_open && stdin_target >= 0 ? 0 : -1, .events = POLLIN};
        for (int k = 0; k < nrel; k++)
            pf[n++] = (struct pollfd){.fd = rel[k].fd, .events = POLLIN};
        int r = poll(pf, (nfds_t)n, 50);
        if (r < 0 && errno != EINTR)
            break;
        if (pf[0].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) > 0) {
            }
            int ws;
            pid_t pid;
            while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
                if (!cz_ocirt_reaped(p, pid, ws) && ex)
                    cz_ocirt_reaped(ex, pid, ws);
            }
        }
        if (pf[1].revents) {
            char buf[4096];
            ssize_t m = read(0, buf, sizeof(buf));
            if (m <= 0) {
                stdin_open = false;
                cz_ocirt_close_stdin(p, NULL);
            } else if (write(stdin_target, buf, (size_t)m) < 0) {
                stdin_open = false;
            }
        }
        for (int k = 0; k < nrel; k++)
            if (pf[2 + k].revents && !pump(&rel[k])) {
                if (rel[k].fd != cz_ocirt_fd(p, CZ_OCIRT_PTY) &&
                    rel[k].fd != cz_ocirt_fd(p, CZ_OCIRT_STDOUT) &&
                    rel[k].fd != cz_ocirt_fd(p, CZ_OCIRT_STDERR))
                    close(rel[k].fd);
                rel[k].fd = -1;
            }
    }
    struct cz_ocirt_exit st;
    cz_ocirt_exit_status(p, &st);
    if (stats_ms >= 0)
        print_stats(p, "final");
    fprintf(stderr, "exit status %d%s\n", st.status, st.oom_killed ? " (oom killed)" : "");
    if (ex && cz_ocirt_delete(ex, true, &err) < 0)
        fprintf(stderr, "Error: %s\n", err.msg);
    if (cz_ocirt_delete(p, true, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 3;
    }
    cz_ocirt_spec_free(spec);
    cz_ocirt_spec_free(exspec);
    free(json);
    free(bundle);
    (void)exec_status;
    (void)start_failed;
    return st.status;
}
