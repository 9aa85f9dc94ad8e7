/* --init, as docker has it: a tiny init runs as PID 1 of the container and the
 * container's process as its child. The init forwards the signals it gets to
 * the child, reaps every zombie (orphans are re-parented to it), and exits
 * with the child's status (128 + signal when the child was killed). PID 1 of a
 * pid namespace gets only the signals it has a handler for (or blocks), so a
 * shell as PID 1 ignores SIGTERM; under the init it gets it.
 *
 * The init is vminitd itself: the container's spec gets a read-only bind
 * mount of vminitd's binary at /dev/cz-init (on the container's /dev tmpfs,
 * so the image and a read-only root are untouched) and its process runs
 * `/dev/cz-init -- ARGS...`; vminitd started under that name acts as the init. */
#include "init.h"

#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

bool vminitd_is_init(const char *argv0)
{
    if (!argv0)
        return false;
    const char *slash = strrchr(argv0, '/');
    return strcmp(slash ? slash + 1 : argv0, "cz-init") == 0;
}

/* Exit like the child: its code, or 128 + the signal that killed it. */
static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

int vminitd_init_main(int argc, char **argv)
{
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    if (first >= argc) {
        fprintf(stderr, "cz-init: usage: cz-init [--] COMMAND [ARG...]\n");
        return 2;
    }
    /* Every signal waits in the mask until we take it with sigwaitinfo (a
     * blocked signal reaches even a namespace's PID 1). vminitd execs us with all of
     * them blocked already (cz_ocirt_create_options.exec_signals_blocked): a stop right
     * after the start is not lost before we get here. The child starts with none blocked,
     * as any container process. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    sigemptyset(&old);
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans still come to us */
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "cz-init: fork: %s\n", strerror(errno));
        return 126;
    }
    if (child == 0) {
        /* Its own process group, in the foreground of the terminal if there is
         * one: ^C reaches it once, from the terminal, not twice. */
        setpgid(0, 0);
        if (isatty(0)) {
            signal(SIGTTOU, SIG_IGN);
            tcsetpgrp(0, getpid());
            signal(SIGTTOU, SIG_DFL);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[first], argv + first);
        int e = errno;
        fprintf(stderr, "cz-init: exec %s: %s\n", argv[first], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue; /* EINTR */
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == child) {
                /* reap what is already dead; the rest goes with the namespace */
                while (waitpid(-1, NULL, WNOHANG) > 0)
                    ;
                return exit_code_of(status);
            }
        }
    }
}

/* The path of this binary in vminitd's mount namespace. */
static char *self_path(cz_error *err)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) {
        cz_error_errno(err, errno, "--init: find vminitd's binary");
        return NULL;
    }
    buf[n] = 0;
    return cz_xstrdup(buf);
}

int vminitd_init_wrap_spec(const char *spec_json, char **out, cz_error *err)
{
    *out = NULL;
    if (!strstr(spec_json, VMINITD_INIT_ANNOTATION))
        return 0; /* the common case: no second parse of the spec */
    json_t *spec = json_loads(spec_json, 0, NULL);
    if (!spec)
        return 0; /* the spec parser reports what is wrong with it */
    const char *want = json_string_value(
        json_object_get(json_object_get(spec, "annotations"), VMINITD_INIT_ANNOTATION));
    json_t *process = json_object_get(spec, "process");
    json_t *args = json_object_get(process, "args");
    if (!want || strcmp(want, "true") != 0 || !json_is_array(args) || !json_array_size(args)) {
        json_decref(spec);
        return 0;
    }
    cz_autofree char *self = self_path(err);
    if (!self) {
        json_decref(spec);
        return -1;
    }
    json_t *wrapped = json_array();
    json_array_append_new(wrapped, json_string(VMINITD_INIT_PATH));
    json_array_append_new(wrapped, json_string("--"));
    json_array_extend(wrapped, args);
    json_object_set_new(process, "args", wrapped);
    json_t *mounts = json_object_get(spec, "mounts");
    if (!json_is_array(mounts)) {
        mounts = json_array();
        json_object_set_new(spec, "mounts", mounts);
    }
    json_t *m = json_object();
    json_object_set_new(m, "destination", json_string(VMINITD_INIT_PATH));
    json_object_set_new(m, "type", json_string("bind"));
    json_object_set_new(m, "source", json_string(self));
    json_t *opts = json_array();
    static const char *const o[] = {"bind", "ro", "nosuid", "nodev"};
    for (size_t i = 0; i < CZ_ARRAY_SIZE(o); i++)
        json_array_append_new(opts, json_string(o[i]));
    json_object_set_new(m, "options", opts);
    json_array_append_new(mounts, m);
    *out = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    if (!*out)
        return cz_error_set(err, ENOMEM, "--init: serialize the runtime spec");
    return 0;
}
