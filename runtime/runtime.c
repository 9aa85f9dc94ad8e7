/* container-runtime --root ROOT --id ID [--ready-fd N] [--wait-attach] [--debug]
 * container-runtime --root ROOT --id ID --maintenance --lifeline-fd N [--ready-fd N]
 *
 * Supervises one container from boot to teardown:
 *   1. boots the VM (image snapshot read-only, the container's writable disk,
 *      volumes, 9p shares for bind mounts, network, agent channel);
 *   2. through vminitd: the overlay root, resolv.conf/hosts/hostname, the network
 *      interface, then the container's process with its stdio attached here;
 *   3. says on --ready-fd "ok" or "fail CODE MESSAGE" (the CLI waits for it);
 *      with --wait-attach the process starts at the first Attach, and the CLI
 *      holds the ready pipe open meanwhile: when it closes first (the CLI was
 *      interrupted or killed), the process never starts, the VM is stopped and
 *      the container is left created (removed with --rm), as docker leaves it;
 *   4. serves runtime.proto and the forwarded agent methods on runtime.sock,
 *      writes the process's output to the container's log;
 *   5. when the process exits (or the VM dies, or the agent is lost): records
 *      the exit status and its time (or why it failed), stops the VM, removes the
 *      container when --rm, tells attached clients, and exits.
 * With --maintenance it serves `container cp` on a container that is not running:
 * the same VM and guest setup, the container's volumes and bind mounts placed on
 * its root, no process, no network; only CopyIn, CopyOut, Stat and ReadFile on
 * its socket (in its own run directory); the container's state is not touched.
 * When the lifeline fd reaches EOF (the CLI is done, or died) it syncs the guest,
 * powers the VM off and exits. The container's busy lock keeps start and rm away
 * meanwhile.
 * Its own diagnostics go to stderr, which the CLI points at ROOT/containers/ID/runtime.log. */
#include "runtime.h"

#include <cz/content.h>
#include <cz/ext4.h>
#include <cz/volume.h>

#include "agent.pb-c.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"
#include "runtime.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define AGENT (&cz__agent__v1__agent__descriptor)
#define RUNTIME (&cz__runtime__v1__runtime__descriptor)

/* Guest paths (agent side). */
#define G_IMAGE "/run/cz/image"
#define G_RW "/run/cz/rw"
#define G_ROOTFS "/run/cz/rootfs"
#define G_ETC "/run/cz/etc"

/* User-mode networking (QEMU's slirp) addresses. */
#define SLIRP_ADDR "10.0.2.15/24"
#define SLIRP_GW "10.0.2.2"
#define SLIRP_DNS "10.0.2.3"

struct attach {
    struct attach *next;
    struct rt *rt;
    cz_rpc_call *call;
    bool has_stdin;
};

struct waiter {
    struct waiter *next;
    cz_rpc_call *call;
    bool stop; /* a Stop (StopResponse) rather than a Wait */
};

struct rt {
    const char *root;
    cz_container_config c;
    cz_container_state st;
    char *dir;     /* ROOT/containers/ID */
    char *run_dir; /* sockets */
    bool wait_attach;
    int ready_fd;
    bool cli_gone; /* --wait-attach: the CLI went away before it attached */
    char *console; /* the VM's console log */
    char *template_dir; /* the VM was restored from this template */
    ino_t template_ino; /* its state file (a replaced template is not discarded) */
    bool vm_trial;      /* the restored VM is not answering yet: its end is not the container's */
    bool no_template;   /* boot, even where a template would fit */
    bool maintenance; /* serving cp on a container that is not running */
    int lifeline_fd;  /* maintenance: EOF when the CLI is done */
    int busy_fd;      /* maintenance: the container's busy lock */
    /* The VM stopped by QEMU because a disk's file could not grow (the host's filesystem
     * is full): why, for the CLI and for calls that cannot be served meanwhile; resumed
     * by us once there is room again. */
    char *paused;
    int paused_disk; /* the disk whose write failed, -1 not known */
    uint64_t resume_timer;
    char *disk_path[CZ_VM_MAX_DISKS]; /* the VM's disks, by index */
    size_t n_disk_path;
    struct rt_proxy_target proxy;
    int runtime_lock; /* ROOT/containers/ID/runtime.lock, held until we exit */
    bool ending;
    bool quit; /* maintenance: done, do not (re)enter the loop */

    cz_loop *loop;
    cz_vm *vm;
    pid_t vm_pid;
    bool vm_gone;
    uint32_t vsock_cid; /* the agent over vsock when nonzero */
    int vm_status;
    cz_rpc_client *agent;
    cz_rpc_server *server;
    int sigfd;

    struct rt_log log;
    cz_rpc_call *stdio; /* the main process's Stdio stream */
    bool stdio_closed;
    bool eof[3]; /* stdout, stderr reached EOF */
    bool stdio_paused;
    /* Direct output ([1] stdout, [2] stderr): the process writes into the VM's ports cz.out
     * and cz.err, read here from their sockets; Stdio tells where each ends. Open only
     * while the process has them (direct_output) and its stream has not ended. */
    int port_fd[3];
    bool port_watched[3];
    uint64_t port_got[3];  /* bytes read from the port */
    bool port_end_known[3];
    uint64_t port_end[3];  /* its total, from the Stdio end message */
    bool started;
    bool exited;      /* the main process's status is known (or the container failed) */
    int exit_status;
    int64_t finished_at;
    char *failure;    /* why the container failed, NULL when the process exited */
    bool finishing;
    uint64_t drain_timer;
    uint64_t out_bytes, drain_mark; /* output so far; at the drain timer's last look */
    bool attach_full; /* an attached client is behind: output waits for it */
    uint64_t kill_timer;
    uint64_t quit_timer;

    struct attach *attaches;
    struct waiter *waiters;

    /* setup calls sent at once, answered in order (see batch_end) */
    bool batching;
    const char *batch_what;
    struct bitem *batch;
    struct bitem **batch_tail;
    int batch_pending;
    char *passwd, *group; /* the container's /etc/passwd and /etc/group, or NULL */
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int timeout_env(const char *name, int dflt)
{
    const char *s = getenv(name);
    int v = s ? atoi(s) : 0;
    return v > 0 ? v : dflt;
}

/* ------------------------------------------------------------ agent calls */

/* A call of a batch: setup calls go out together and vminitd answers them in
 * order, so a boot pays one round trip for them instead of one each. */
struct bitem {
    struct bitem *next;
    struct rt *rt;
    char *what;
    char **text; /* ReadFile: the data, as text */
    int status;
    char *message;
    bool done;
};

static int bitem_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    (void)err;
    struct bitem *it = cz_rpc_call_handler_data(call);
    if (it->text) {
        const Cz__Agent__V1__ReadFileResponse *f = (const Cz__Agent__V1__ReadFileResponse *)msg;
        free(*it->text);
        *it->text = cz_xstrndup((const char *)f->data.data, f->data.len);
    }
    return 0;
}

static void bitem_close(cz_rpc_call *call, int status, const char *message)
{
    struct bitem *it = cz_rpc_call_handler_data(call);
    it->status = status;
    it->message = cz_xstrdup(message ? message : "");
    it->done = true;
    if (it->rt)
        it->rt->batch_pending--;
}

static const cz_rpc_handler bitem_handler = {.on_message = bitem_message,
                                             .on_close = bitem_close};

static void batch_begin(struct rt *rt)
{
    rt->batching = true;
    rt->batch = NULL;
    rt->batch_tail = &rt->batch;
    rt->batch_pending = 0;
}

static int batch_add(struct rt *rt, const char *method, const ProtobufCMessage *req, char **text,
                     cz_error *err)
{
    struct bitem *it = cz_xcalloc(1, sizeof(*it));
    it->rt = rt;
    it->text = text;
    it->what = rt->batch_what ? cz_xstrdup(rt->batch_what) : cz_xasprintf("guest %s", method);
    cz_rpc_call *call = cz_rpc_client_start(rt->agent, AGENT, method, 0, &bitem_handler, it, err);
    if (!call) {
        free(it->what);
        free(it);
        return -1;
    }
    *rt->batch_tail = it;
    rt->batch_tail = &it->next;
    rt->batch_pending++;
    cz_error e = {0};
    if (cz_rpc_call_send(call, req, &e) < 0 || cz_rpc_call_close_send(call, &e) < 0)
        cz_rpc_call_cancel(call); /* on_close records it */
    return 0;
}

/* Wait for every call of the batch; the first failure, in order, is the error. */
static int batch_end(struct rt *rt, cz_error *err)
{
    rt->batching = false;
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_env("CZ_AGENT_TIMEOUT", 30) * 1000000000ull;
    int r = 0;
    while (rt->batch_pending > 0 && r == 0) {
        if (cz_now_ns() > deadline)
            r = cz_error_set(err, ETIMEDOUT, "the guest agent did not answer the setup calls "
                             "within %d s", timeout_env("CZ_AGENT_TIMEOUT", 30));
        else if (cz_loop_run_once(rt->loop, 100, err) < 0)
            r = -1;
    }
    struct bitem *it = rt->batch;
    for (; it && r == 0; it = it->next)
        /* a file to read that does not exist stays NULL: no error */
        if (it->done && it->status && !(it->text && it->status == CZ_RPC_NOT_FOUND))
            r = cz_error_set(err, cz_rpc_errno_from_status(it->status), "%s: %s", it->what,
                             it->message);
    while (rt->batch) {
        it = rt->batch;
        rt->batch = it->next;
        if (!it->done) {
            it->rt = NULL; /* still in flight after a timeout: its close finds it */
            continue;
        }
        free(it->what);
        free(it->message);
        free(it);
    }
    return r;
}

/* Blocking unary call to the agent (only before the loop runs); in a batch, the
 * call is only sent (replies to batched calls carry nothing we read). */
static int agent_unary(struct rt *rt, const char *method, const ProtobufCMessage *req,
                       ProtobufCMessage **reply, cz_error *err)
{
    if (rt->batching && !reply)
        return batch_add(rt, method, req, NULL, err);
    ProtobufCMessage *r = NULL;
    int ms = timeout_env("CZ_AGENT_TIMEOUT", 30) * 1000;
    if (cz_rpc_client_unary(rt->agent, AGENT, method, req, &r, ms, err) < 0) {
        cz_rpc_error_strip(err);
        return -1;
    }
    if (reply)
        *reply = r;
    else
        protobuf_c_message_free_unpacked(r, NULL);
    return 0;
}

typedef void (*reply_fn)(struct rt *rt, int status, const char *message,
                         const ProtobufCMessage *reply, void *arg);

struct acall {
    struct rt *rt;
    reply_fn fn;
    void *arg;
    bool replied;
};

static int acall_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    (void)err;
    struct acall *a = cz_rpc_call_handler_data(call);
    a->replied = true;
    if (a->fn)
        a->fn(a->rt, 0, NULL, msg, a->arg);
    return 0;
}

static void acall_close(cz_rpc_call *call, int status, const char *message)
{
    struct acall *a = cz_rpc_call_handler_data(call);
    if (!a->replied && a->fn)
        a->fn(a->rt, status ? status : CZ_RPC_INTERNAL, message ? message : "no reply", NULL,
              a->arg);
    free(a);
}

static const cz_rpc_handler acall_handler = {.on_message = acall_message,
                                             .on_close = acall_close};

/* Asynchronous unary call; fn gets the reply or the failure (never both). */
static void agent_async(struct rt *rt, const char *method, const ProtobufCMessage *req,
                        int64_t timeout_ms, reply_fn fn, void *arg)
{
    cz_error err = {0};
    struct acall *a = cz_xcalloc(1, sizeof(*a));
    a->rt = rt;
    a->fn = fn;
    a->arg = arg;
    cz_rpc_call *call = NULL;
    if (rt->agent)
        call = cz_rpc_client_start(rt->agent, AGENT, method, timeout_ms, &acall_handler, a, &err);
    if (!call) {
        if (fn)
            fn(rt, CZ_RPC_UNAVAILABLE, rt->agent ? err.msg : "no agent", NULL, arg);
        free(a);
        return;
    }
    if (cz_rpc_call_send(call, req, &err) < 0 || cz_rpc_call_close_send(call, &err) < 0)
        cz_rpc_call_cancel(call); /* on_close reports it */
}

/* ------------------------------------------------------------ the end */

static void finish(struct rt *rt);
static void quit_loop(struct rt *rt);
static void stop_escalate(struct rt *rt);
static void t_finish(cz_loop *loop, void *data)
{
    (void)loop;
    finish(data);
}
#define DRAIN_IDLE_MS 2000
static void t_drain(cz_loop *loop, void *data)
{
    struct rt *rt = data;
    if (rt->out_bytes != rt->drain_mark || rt->attach_full) {
        rt->drain_mark = rt->out_bytes;
        rt->drain_timer = cz_loop_add_timer(loop, DRAIN_IDLE_MS, t_drain, rt);
        return;
    }
    finish(rt);
}
static void t_quit(cz_loop *loop, void *data)
{
    (void)loop;
    quit_loop(data);
}
static void t_escalate(cz_loop *loop, void *data)
{
    (void)loop;
    stop_escalate(data);
}

static void state_save(struct rt *rt)
{
    cz_error err = {0};
    if (cz_container_save_state(rt->root, rt->c.id, &rt->st, &err) < 0)
        fprintf(stderr, "container-runtime: %s\n", err.msg);
}

/* The main process is over (status known), or the container failed (why). */
static void process_over(struct rt *rt, int status, const char *failure)
{
    if (rt->exited)
        return;
    rt->exited = true;
    rt->exit_status = status;
    rt->finished_at = wall_ns();
    if (failure)
        rt->failure = cz_xstrdup(failure);
    cz_debug("process over: status %d%s%s", status, failure ? ": " : "", failure ? failure : "");
    /* Output still in flight comes before the end: the streams end by themselves once
     * both reached EOF; while output still moves, wait for it (a direct-output port may
     * hold MiBs the process wrote before it exited) or for a client that is
     * behind; 2 s without any, give up (a background process may still hold them). */
    if (!rt->stdio_closed && !failure) {
        rt->drain_mark = rt->out_bytes;
        rt->drain_timer = cz_loop_add_timer(rt->loop, DRAIN_IDLE_MS, t_drain, rt);
    }
    else
        finish(rt);
}

static void send_exit(struct rt *rt, struct attach *a)
{
    Cz__Runtime__V1__AttachResponse r = CZ__RUNTIME__V1__ATTACH_RESPONSE__INIT;
    r.exited = true;
    r.exit_status = rt->exit_status;
    r.error = rt->failure ? rt->failure : (char *)"";
    cz_error err = {0};
    if (cz_rpc_call_send(a->call, &r.base, &err) == 0)
        cz_rpc_call_finish(a->call, NULL);
    else
        cz_rpc_call_finish_status(a->call, CZ_RPC_INTERNAL, err.msg);
}

static void reply_waiter(struct rt *rt, struct waiter *w)
{
    cz_error err = {0};
    if (w->stop) {
        Cz__Runtime__V1__StopResponse r = CZ__RUNTIME__V1__STOP_RESPONSE__INIT;
        r.exit_status = rt->exit_status;
        if (cz_rpc_call_reply(w->call, &r.base, &err) < 0)
            cz_rpc_call_finish(w->call, &err);
    } else {
        Cz__Runtime__V1__WaitResponse r = CZ__RUNTIME__V1__WAIT_RESPONSE__INIT;
        r.exit_status = rt->exit_status;
        r.error = rt->failure ? rt->failure : (char *)"";
        if (cz_rpc_call_reply(w->call, &r.base, &err) < 0)
            cz_rpc_call_finish(w->call, &err);
    }
}

static void quit_loop(struct rt *rt)
{
    rt->quit_timer = 0;
    cz_loop_stop(rt->loop);
}

/* A panic on the console says more than "the VM exited". */
static char *console_panic(struct rt *rt)
{
    char *data = NULL;
    size_t len = 0;
    if (cz_read_file(rt->console, 4 << 20, &data, &len, NULL) < 0)
        return NULL;
    char *p = strstr(data, "Kernel panic");
    char *out = NULL;
    if (p) {
        char *nl = strchr(p, '\n');
        out = cz_xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
        size_t n = strlen(out);
        while (n && (out[n - 1] == '\r' || out[n - 1] == ' '))
            out[--n] = 0;
    }
    free(data);
    return out;
}

static void vm_reaped(struct rt *rt)
{
    if (!rt->exited) {
        cz_autofree char *panic = console_panic(rt);
        cz_autofree char *why =
            panic ? cz_xasprintf("the guest kernel panicked: %s", panic)
            : WIFSIGNALED(rt->vm_status)
                ? cz_xasprintf("the VM was killed (QEMU got signal %d)", WTERMSIG(rt->vm_status))
                : cz_xasprintf("the VM exited unexpectedly (QEMU exit status %d)",
                               WEXITSTATUS(rt->vm_status));
        process_over(rt, -1, why);
    }
    if (rt->finishing && !rt->quit_timer)
        /* let the final replies reach the clients, then exit */
        rt->quit_timer = cz_loop_add_timer(rt->loop, 200, t_quit, rt);
}

static void on_signal(cz_loop *loop, int fd, uint32_t events, void *data);
static void maintenance_end(struct rt *rt);
static void maintenance_quit(struct rt *rt);

static void finish_after_sync(struct rt *rt, int status, const char *message,
                              const ProtobufCMessage *reply, void *arg);

/* Everything ends here, once: state, VM, removal, the clients. */
static void finish(struct rt *rt)
{
    rt->drain_timer = 0;
    if (rt->finishing)
        return;
    rt->finishing = true;
    if (rt->resume_timer)
        cz_loop_cancel_timer(rt->loop, rt->resume_timer);
    rt->resume_timer = 0;
    if (rt->kill_timer)
        cz_loop_cancel_timer(rt->loop, rt->kill_timer);
    rt->kill_timer = 0;
    rt_log_close(&rt->log);
    bool keep = !rt->c.auto_remove;
    for (size_t i = 0; i < rt->c.n_mounts; i++)
        if (strcmp(rt->c.mounts[i].type, "tmpfs"))
            keep = true; /* volumes and host directories outlive the container */
    if (rt->vm && !rt->vm_gone && keep && !rt->failure && !rt->paused && rt->agent &&
        cz_rpc_client_is_connected(rt->agent)) {
        /* keep what the container wrote: flush the guest's filesystems first */
        Cz__Agent__V1__SyncRequest s = CZ__AGENT__V1__SYNC_REQUEST__INIT;
        agent_async(rt, "Sync", &s.base, 10000, finish_after_sync, NULL);
        return;
    }
    finish_after_sync(rt, 0, NULL, NULL, NULL);
}

static void finish_after_sync(struct rt *rt, int status, const char *message,
                              const ProtobufCMessage *reply, void *arg)
{
    (void)reply;
    (void)arg;
    if (status)
        fprintf(stderr, "container-runtime: sync: %s\n", message);
    /* The VM goes first: --rm must leave nothing behind when run returns. */
    if (rt->vm && !rt->vm_gone) {
        cz_vm_kill(rt->vm);
        int st = 0;
        for (int i = 0; i < 500 && !rt->vm_gone; i++) {
            if (waitpid(rt->vm_pid, &st, WNOHANG) == rt->vm_pid) {
                rt->vm_gone = true;
                rt->vm_status = st;
                cz_vm_exited(rt->vm, st);
                break;
            }
            usleep(10000);
        }
    }

    rt->st.runtime_pid = 0;
    rt->st.runtime_start = 0;
    rt->st.finished_at = rt->finished_at;
    if (rt->cli_gone) {
        rt->st.status = CZ_STATUS_CREATED;
        rt->st.started_at = 0;
        rt->st.finished_at = 0;
        rt->st.exit_code = 0;
        free(rt->st.error);
        rt->st.error = NULL;
    } else if (rt->failure && rt->exit_status < 0) {
        rt->st.status = CZ_STATUS_FAILED;
        free(rt->st.error);
        rt->st.error = cz_xstrdup(rt->failure);
        rt->st.exit_code = -1;
    } else {
        rt->st.status = CZ_STATUS_STOPPED;
        rt->st.exit_code = rt->exit_status;
        free(rt->st.error);
        rt->st.error = rt->failure ? cz_xstrdup(rt->failure) : NULL;
    }
    if (rt->c.auto_remove) {
        cz_error err = {0};
        if (cz_container_remove(rt->root, rt->c.id, &err) < 0)
            fprintf(stderr, "container-runtime: remove: %s\n", err.msg);
    } else {
        state_save(rt);
    }

    for (struct attach *a = rt->attaches; a; a = a->next)
        send_exit(rt, a);
    while (rt->waiters) {
        struct waiter *w = rt->waiters;
        rt->waiters = w->next;
        reply_waiter(rt, w);
        free(w);
    }
    if (!rt->quit_timer)
        rt->quit_timer = cz_loop_add_timer(rt->loop, 200, t_quit, rt);
}

/* ------------------------------------------------------------ signals, VM */

static void on_signal(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct rt *rt = data;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                if (p == rt->vm_pid && !rt->vm_gone) {
                    rt->vm_gone = true;
                    rt->vm_status = status;
                    if (rt->vm)
                        cz_vm_exited(rt->vm, status);
                    if (rt->vm_trial)
                        ; /* a restored VM on trial: start_vm boots another */
                    else if (rt->maintenance)
                        maintenance_quit(rt); /* powered off, or died: nothing left to serve */
                    else
                        vm_reaped(rt);
                }
            }
        } else if (rt->maintenance) {
            maintenance_end(rt);
        } else {
            /* SIGTERM/SIGINT/SIGHUP: the container ends with us (rm -f, shutdown) */
            cz_autofree char *why = cz_xasprintf("container-runtime stopped by signal %d",
                                                 (int)si.ssi_signo);
            process_over(rt, 128 + SIGKILL, why);
        }
    }
}

/* ------------------------------------------------------------ stdio */

static void port_watch(struct rt *rt, bool on);

static void stdio_pause_check(struct rt *rt)
{
    bool full = false;
    for (struct attach *a = rt->attaches; a; a = a->next)
        if (cz_rpc_call_pending(a->call) > CZ_RPC_SEND_HIGH_WATER)
            full = true;
    rt->attach_full = full;
    /* the ports' sockets fill up, QEMU holds the rest, the process waits */
    port_watch(rt, !full);
    /* The flag first: resuming delivers what waited, which may call this again (an
     * attach drained meanwhile, then filled up): the nested call's state must stand. */
    if (full && !rt->stdio_paused && rt->stdio) {
        rt->stdio_paused = true;
        cz_rpc_call_pause(rt->stdio);
    } else if (!full && rt->stdio_paused && rt->stdio) {
        rt->stdio_paused = false;
        cz_rpc_call_resume(rt->stdio);
    }
}

/* One message to every attached client. */
static void attach_broadcast(struct rt *rt, const Cz__Runtime__V1__AttachResponse *r)
{
    for (struct attach *a = rt->attaches; a; a = a->next) {
        cz_error e = {0};
        if (cz_rpc_call_send(a->call, &r->base, &e) < 0)
            cz_debug("attach: %s", e.msg);
    }
}

/* Output of the main process (stream 1 or 2), from Stdio or from a port: to the log and
 * to every attached client. */
static void output_data(struct rt *rt, int stream, const uint8_t *data, size_t len)
{
    rt->out_bytes += len;
    rt_log_write(&rt->log, stream, data, len);
    Cz__Runtime__V1__AttachResponse r = CZ__RUNTIME__V1__ATTACH_RESPONSE__INIT;
    r.stream = stream;
    r.data.data = (uint8_t *)data;
    r.data.len = len;
    attach_broadcast(rt, &r);
    stdio_pause_check(rt);
}

static void output_eof(struct rt *rt, int stream)
{
    if (rt->eof[stream])
        return;
    rt_log_flush(&rt->log, stream);
    rt->eof[stream] = true;
    /* with a terminal there is only stdout */
    if (rt->eof[1] && (rt->eof[2] || rt->c.tty))
        rt->stdio_closed = true;
    if (rt->stdio_closed && rt->exited && rt->drain_timer) {
        cz_loop_cancel_timer(rt->loop, rt->drain_timer);
        finish(rt);
    }
}

/* --- direct output: the ports' sockets */

static void port_close(struct rt *rt, int stream)
{
    if (rt->port_fd[stream] < 0)
        return;
    if (rt->port_watched[stream])
        cz_loop_del_fd(rt->loop, rt->port_fd[stream]);
    rt->port_watched[stream] = false;
    close(rt->port_fd[stream]);
    rt->port_fd[stream] = -1;
}

/* The stream is complete once all the bytes the guest counted have arrived. */
static void port_end_check(struct rt *rt, int stream)
{
    if (rt->port_end_known[stream] && rt->port_got[stream] >= rt->port_end[stream]) {
        port_close(rt, stream);
        output_eof(rt, stream);
    }
}

static void on_port(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    struct rt *rt = data;
    int stream = fd == rt->port_fd[1] ? 1 : 2;
    static uint8_t buf[128 << 10];
    size_t want = sizeof(buf);
    if (rt->port_end_known[stream])
        want = (size_t)CZ_MIN((uint64_t)want, rt->port_end[stream] - rt->port_got[stream]);
    ssize_t n = want ? read(fd, buf, want) : 0;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* QEMU went away: what came is all there is */
        cz_debug("output port %d: %s", stream, n < 0 ? strerror(errno) : "closed");
        port_close(rt, stream);
        output_eof(rt, stream);
        return;
    }
    rt->port_got[stream] += (uint64_t)n;
    output_data(rt, stream, buf, (size_t)n);
    port_end_check(rt, stream);
}

static void port_watch(struct rt *rt, bool on)
{
    for (int i = 1; i <= 2; i++) {
        if (rt->port_fd[i] < 0 || rt->port_watched[i] == on)
            continue;
        if (on) {
            cz_error e = {0};
            rt->port_watched[i] =
                cz_loop_add_fd(rt->loop, rt->port_fd[i], CZ_LOOP_IN, on_port, rt, &e) == 0;
            if (!rt->port_watched[i])
                cz_debug("output port %d: %s", i, e.msg);
        } else {
            cz_loop_del_fd(rt->loop, rt->port_fd[i]);
            rt->port_watched[i] = false;
        }
    }
}

/* Connect to cz.out's and cz.err's sockets; direct output only if both work. */
static void port_connect(struct rt *rt)
{
    for (int i = 1; i <= 2; i++) {
        const char *path = rt->vm ? cz_vm_output_socket(rt->vm, i - 1) : NULL;
        if (!path)
            break;
        cz_error e = {0};
        rt->port_fd[i] = cz_unix_connect(path, SOCK_NONBLOCK, &e);
        if (rt->port_fd[i] < 0)
            cz_debug("output port: %s", e.msg);
    }
    if (rt->port_fd[1] < 0 || rt->port_fd[2] < 0) {
        port_close(rt, 1);
        port_close(rt, 2);
    }
}

static int stdio_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    (void)err;
    struct rt *rt = cz_rpc_call_handler_data(call);
    const Cz__Agent__V1__StdioResponse *m = (const Cz__Agent__V1__StdioResponse *)msg;
    int stream = m->stream == CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDERR ? 2 : 1;
    if (m->data.len)
        output_data(rt, stream, m->data.data, m->data.len);
    if (m->eof && rt->port_fd[stream] >= 0) {
        rt->port_end_known[stream] = true;
        rt->port_end[stream] = m->direct_bytes;
        cz_debug("output port %d: %llu bytes in all, %llu here", stream,
                 (unsigned long long)m->direct_bytes, (unsigned long long)rt->port_got[stream]);
        port_end_check(rt, stream);
    } else if (m->eof) {
        output_eof(rt, stream);
    }
    return 0;
}

static void stdio_close(cz_rpc_call *call, int status, const char *message)
{
    struct rt *rt = cz_rpc_call_handler_data(call);
    rt->stdio = NULL;
    rt->stdio_paused = false;
    if (status)
        cz_debug("stdio stream ended: %s: %s", cz_rpc_status_name(status), message ? message : "");
    /* A stream whose port still carries output it was told of ends when that arrived;
     * any other ends here (its end will not be told any more). */
    for (int i = 1; i <= 2; i++)
        if (!(rt->port_fd[i] >= 0 && rt->port_end_known[i])) {
            port_close(rt, i);
            output_eof(rt, i);
        }
}

static const cz_rpc_handler stdio_handler = {.on_message = stdio_message,
                                             .on_close = stdio_close};

static void stdin_send(struct rt *rt, const void *data, size_t len, bool close_stdin)
{
    if (!rt->stdio)
        return;
    Cz__Agent__V1__StdioRequest r = CZ__AGENT__V1__STDIO_REQUEST__INIT;
    r.data.data = (uint8_t *)data;
    r.data.len = len;
    r.close_stdin = close_stdin;
    cz_error err = {0};
    if (cz_rpc_call_send(rt->stdio, &r.base, &err) < 0)
        cz_debug("stdin: %s", err.msg);
}

/* ------------------------------------------------------------ the process */

static void on_wait(struct rt *rt, int status, const char *message, const ProtobufCMessage *reply,
                    void *arg)
{
    (void)arg;
    if (status) {
        /* a broken connection is the agent_lost path's to explain */
        if (!rt->exited && rt->agent && cz_rpc_client_is_connected(rt->agent)) {
            cz_autofree char *why = cz_xasprintf("lost the process: %s", message);
            process_over(rt, -1, why);
        }
        return;
    }
    const Cz__Agent__V1__WaitResponse *w = (const Cz__Agent__V1__WaitResponse *)reply;
    process_over(rt, w->exit_status,
                 w->oom_killed ? "the container ran out of memory (OOM killed)" : NULL);
}

static void on_started(struct rt *rt, int status, const char *message,
                       const ProtobufCMessage *reply, void *arg)
{
    (void)reply;
    (void)arg;
    if (status) {
        process_over(rt, cz_container_start_failure_status(status), message);
        return;
    }
    Cz__Agent__V1__WaitRequest w = CZ__AGENT__V1__WAIT_REQUEST__INIT;
    w.id = rt->c.id;
    agent_async(rt, "Wait", &w.base, 0, on_wait, NULL);
}

static void ready_close(struct rt *rt);
static void start_process(struct rt *rt)
{
    if (rt->started)
        return;
    rt->started = true;
    ready_close(rt); /* the CLI is attached: its end no longer matters */
    rt->st.started_at = wall_ns();
    state_save(rt);
    Cz__Agent__V1__StartProcessRequest s = CZ__AGENT__V1__START_PROCESS_REQUEST__INIT;
    s.id = rt->c.id;
    agent_async(rt, "StartProcess", &s.base, timeout_env("CZ_AGENT_TIMEOUT", 30) * 1000,
                on_started, NULL);
}

/* ------------------------------------------------------------ a paused VM */

/* Room that must be free on a paused disk's filesystem before the VM is resumed (less
 * would only pause it again at once). */
#define RESUME_FREE_BYTES (32ull << 20)

static void notify_attaches(struct rt *rt, const char *notice)
{
    Cz__Runtime__V1__AttachResponse r = CZ__RUNTIME__V1__ATTACH_RESPONSE__INIT;
    r.notice = (char *)notice;
    attach_broadcast(rt, &r);
}

/* RUN_DIR/c-ID/paused holds why, for ls and inspect (the run directory is on another
 * filesystem than the full one, as a rule: the state file may not be writable now). */
static void paused_record(struct rt *rt)
{
    cz_autofree char *path = cz_container_paused_path(rt->c.id);
    cz_error err = {0};
    if (!rt->paused)
        unlink(path);
    else if (cz_write_file_atomic(path, rt->paused, strlen(rt->paused), 0644, &err) < 0)
        fprintf(stderr, "container-runtime: %s\n", err.msg);
}

static void t_resume_check(cz_loop *loop, void *data);

static void vm_paused(struct rt *rt, const struct cz_vm_event *ev)
{
    if (rt->paused)
        return;
    rt->paused_disk = ev->disk;
    const char *disk = ev->disk >= 0 && (size_t)ev->disk < rt->n_disk_path
                           ? rt->disk_path[ev->disk] : NULL;
    rt->paused = ev->nospace
        ? cz_xasprintf("the host's disk is full (writing %s)", disk ? disk : "a disk")
        : cz_xasprintf("a disk error on the host (%s: %s)", disk ? disk : "a disk",
                       ev->reason[0] ? ev->reason : "unknown");
    fprintf(stderr, "container-runtime: the VM is paused: %s\n", rt->paused);
    paused_record(rt);
    cz_autofree char *notice =
        ev->nospace ? cz_xasprintf("the container's VM is paused: %s; it resumes by itself "
                                   "once %llu MiB are free there", rt->paused,
                                   RESUME_FREE_BYTES >> 20)
                    : cz_xasprintf("the container's VM is paused: %s", rt->paused);
    notify_attaches(rt, notice);
    if (ev->nospace && !rt->resume_timer && !rt->finishing)
        rt->resume_timer = cz_loop_add_timer(rt->loop, 1000, t_resume_check, rt);
}

static void vm_resumed(struct rt *rt)
{
    if (!rt->paused)
        return;
    fprintf(stderr, "container-runtime: the VM runs again\n");
    free(rt->paused);
    rt->paused = NULL;
    paused_record(rt);
    notify_attaches(rt, "the container's VM runs again");
}

/* Paused for room on the host: resume once there is some (QEMU retries the failed
 * request; still no room pauses it again). */
static void t_resume_check(cz_loop *loop, void *data)
{
    struct rt *rt = data;
    rt->resume_timer = 0;
    if (!rt->paused || rt->exited || !rt->vm || rt->vm_gone)
        return;
    bool room = true;
    /* the disk that failed; not known: every writable one (disk 0, the image's snapshot,
     * is read-only) */
    for (size_t i = 1; i < rt->n_disk_path; i++) {
        if (rt->paused_disk >= 0 && (size_t)rt->paused_disk != i)
            continue;
        struct statvfs v;
        cz_autofree char *dir = cz_dirname(rt->disk_path[i]);
        if (statvfs(dir, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize < RESUME_FREE_BYTES)
            room = false;
    }
    cz_error err = {0};
    if (room && cz_vm_resume(rt->vm, &err) < 0)
        fprintf(stderr, "container-runtime: resume the VM: %s\n", err.msg);
    else if (room)
        return; /* the RESUME event clears the pause */
    rt->resume_timer = cz_loop_add_timer(loop, 1000, t_resume_check, rt);
}

/* stop, or kill -s KILL, of a paused container: its VM goes, without a sync (the guest
 * cannot run) */
static void paused_kill(struct rt *rt)
{
    cz_autofree char *why = cz_xasprintf("killed while its VM was paused: %s", rt->paused);
    process_over(rt, 128 + SIGKILL, why);
}

static void on_vm_events(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct rt *rt = data;
    struct cz_vm_event ev;
    cz_error err = {0};
    int r;
    while (rt->vm && (r = cz_vm_event_next(rt->vm, &ev, &err)) == 1) {
        cz_debug("VM event %s", ev.name);
        if (ev.kind == CZ_VM_EVENT_DISK_ERROR && ev.paused)
            vm_paused(rt, &ev);
        else if (ev.kind == CZ_VM_EVENT_RESUMED)
            vm_resumed(rt);
    }
    if (!rt->vm || r < 0)
        cz_loop_del_fd(loop, fd); /* closed: QEMU exited (its reaping says the rest) */
}

/* QEMU's events: a disk that stops the VM for want of room. */
static int vm_events_watch(struct rt *rt, cz_error *err)
{
    int fd = cz_vm_events_fd(rt->vm, err);
    if (fd < 0 || cz_loop_add_fd(rt->loop, fd, CZ_LOOP_IN, on_vm_events, rt, err) < 0)
        return cz_error_wrap(err, "watch the VM's events");
    /* stopped for a disk before we listened (QEMU stops only for want of room) */
    cz_autofree char *status = NULL;
    cz_error e = {0};
    if (cz_vm_status(rt->vm, &status, &e) == 0 && !strcmp(status, "io-error")) {
        struct cz_vm_event ev = {.kind = CZ_VM_EVENT_DISK_ERROR, .disk = -1, .nospace = true,
                                 .paused = true};
        vm_paused(rt, &ev);
    }
    return 0;
}

/* ------------------------------------------------------------ runtime API */

static int attach_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    struct rt *rt = cz_rpc_call_handler_data(call);
    const Cz__Runtime__V1__AttachRequest *m = (const Cz__Runtime__V1__AttachRequest *)msg;
    struct attach *a = cz_rpc_call_data(call);
    if (!a) {
        if (rt->finishing && rt->exited) {
            a = cz_xcalloc(1, sizeof(*a));
            a->call = call;
            send_exit(rt, a);
            free(a);
            return 0;
        }
        a = cz_xcalloc(1, sizeof(*a));
        a->rt = rt;
        a->call = call;
        if (m->stdin) {
            for (struct attach *o = rt->attaches; o; o = o->next)
                if (o->has_stdin) {
                    free(a);
                    return cz_error_set(err, EBUSY, "another client already feeds stdin");
                }
            if (!rt->c.interactive) {
                free(a);
                return cz_error_set(err, EINVAL,
                                    "the container was not created with -i: stdin is closed");
            }
            a->has_stdin = true;
        }
        a->next = rt->attaches;
        rt->attaches = a;
        cz_rpc_call_set_data(call, a);
    }
    if (m->rows && m->cols && rt->c.tty) {
        Cz__Agent__V1__ResizePtyRequest r = CZ__AGENT__V1__RESIZE_PTY_REQUEST__INIT;
        r.id = rt->c.id;
        r.rows = m->rows;
        r.cols = m->cols;
        agent_async(rt, "ResizePty", &r.base, 10000, NULL, NULL);
    }
    if (a->has_stdin && (m->data.len || m->close_stdin))
        stdin_send(rt, m->data.data, m->data.len, m->close_stdin);
    if (rt->wait_attach && !rt->started && !rt->exited)
        start_process(rt);
    return 0;
}

static void attach_writable(cz_rpc_call *call)
{
    struct rt *rt = cz_rpc_call_handler_data(call);
    stdio_pause_check(rt);
}

static void attach_close(cz_rpc_call *call, int status, const char *message)
{
    (void)status;
    (void)message;
    struct rt *rt = cz_rpc_call_handler_data(call);
    struct attach *a = cz_rpc_call_data(call);
    if (!a)
        return;
    for (struct attach **pp = &rt->attaches; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    free(a);
    stdio_pause_check(rt);
}

static const cz_rpc_handler attach_handler = {
    .on_message = attach_message,
    .on_writable = attach_writable,
    .on_close = attach_close,
};

static void signal_main(struct rt *rt, int sig, bool all)
{
    Cz__Agent__V1__SignalRequest s = CZ__AGENT__V1__SIGNAL_REQUEST__INIT;
    s.id = rt->c.id;
    s.signal = sig;
    s.all = all;
    agent_async(rt, "Signal", &s.base, 10000, NULL, NULL);
}

/* A Kill waiting for the guest's answer; call turns NULL when the client goes. */
struct pending_kill {
    cz_rpc_call *call;
};

static void kill_client_gone(cz_rpc_call *call, int status, const char *message)
{
    (void)status;
    (void)message;
    struct pending_kill *p = cz_rpc_call_data(call);
    if (p)
        p->call = NULL;
}

static void kill_replied(struct rt *rt, int status, const char *message,
                         const ProtobufCMessage *reply, void *arg)
{
    (void)rt;
    (void)reply;
    struct pending_kill *p = arg;
    cz_rpc_call *call = p->call;
    free(p);
    if (!call)
        return;
    cz_rpc_call_set_data(call, NULL);
    if (status) {
        cz_rpc_call_finish_status(call, status, message);
    } else {
        cz_error err = {0};
        if (cz_rpc_call_reply_empty(call, &err) < 0)
            cz_rpc_call_finish(call, &err);
    }
}

static int api_kill(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    struct rt *rt = data;
    const Cz__Runtime__V1__KillRequest *k = (const Cz__Runtime__V1__KillRequest *)req;
    if (k->signal <= 0 || k->signal >= 65)
        return cz_error_set(err, EINVAL, "invalid signal %d", k->signal);
    if (rt->exited || !rt->started)
        return cz_error_set(err, EBUSY, "container %s is not running", rt->c.name);
    if (rt->paused && k->signal != SIGKILL)
        return cz_error_set(err, EAGAIN, "container %s cannot take a signal now: its VM is "
                            "paused: %s (SIGKILL or stop ends it)", rt->c.name, rt->paused);
    if (rt->paused) {
        paused_kill(rt);
        return cz_rpc_call_reply_empty(call, err);
    }
    Cz__Agent__V1__SignalRequest s = CZ__AGENT__V1__SIGNAL_REQUEST__INIT;
    s.id = rt->c.id;
    s.signal = k->signal;
    struct pending_kill *p = cz_xcalloc(1, sizeof(*p));
    p->call = call;
    cz_rpc_call_set_data(call, p);
    cz_rpc_call_set_close_hook(call, kill_client_gone);
    agent_async(rt, "Signal", &s.base, 10000, kill_replied, p);
    return CZ_RPC_LATER;
}

static void waiter_closed(cz_rpc_call *call, int status, const char *message)
{
    (void)status;
    (void)message;
    struct rt *rt = cz_rpc_call_handler_data(call);
    for (struct waiter **pp = &rt->waiters; *pp; pp = &(*pp)->next)
        if ((*pp)->call == call) {
            struct waiter *w = *pp;
            *pp = w->next;
            free(w);
            return;
        }
}

static void add_waiter(struct rt *rt, cz_rpc_call *call, bool stop)
{
    struct waiter *w = cz_xcalloc(1, sizeof(*w));
    w->call = call;
    w->stop = stop;
    w->next = rt->waiters;
    rt->waiters = w;
    cz_rpc_call_set_close_hook(call, waiter_closed);
}

static void stop_escalate(struct rt *rt)
{
    rt->kill_timer = 0;
    if (rt->exited)
        return;
    if (rt->paused) { /* paused meanwhile: nothing in it can take the SIGKILL */
        paused_kill(rt);
        return;
    }
    cz_debug("stop: the process ignored the signal; SIGKILL");
    signal_main(rt, SIGKILL, true);
    /* a guest that does not even manage that loses its VM */
    rt->kill_timer = cz_loop_add_timer(rt->loop, 10000, t_finish, rt);
}

static int api_stop(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    struct rt *rt = data;
    const Cz__Runtime__V1__StopRequest *s = (const Cz__Runtime__V1__StopRequest *)req;
    int sig = s->signal ? s->signal : SIGTERM;
    if (sig < 0 || sig >= 65)
        return cz_error_set(err, EINVAL, "invalid signal %d", sig);
    if (rt->exited && rt->finishing) {
        Cz__Runtime__V1__StopResponse r = CZ__RUNTIME__V1__STOP_RESPONSE__INIT;
        r.exit_status = rt->exit_status;
        return cz_rpc_call_reply(call, &r.base, err);
    }
    add_waiter(rt, call, true);
    if (!rt->started) {
        /* never started (waiting for an attach): nothing runs, so it is over */
        process_over(rt, 128 + SIGKILL, NULL);
        return CZ_RPC_LATER;
    }
    if (!rt->exited && rt->paused) {
        paused_kill(rt); /* nothing in a paused VM can take a signal */
        return CZ_RPC_LATER;
    }
    if (!rt->exited) {
        signal_main(rt, sig, false);
        if (rt->kill_timer)
            cz_loop_cancel_timer(rt->loop, rt->kill_timer);
        rt->kill_timer = 0;
        if (s->timeout_seconds >= 0)
            rt->kill_timer = cz_loop_add_timer(rt->loop, (uint64_t)s->timeout_seconds * 1000,
                                               t_escalate, rt);
    }
    return CZ_RPC_LATER;
}

static int api_wait(cz_rpc_call *call, const ProtobufCMessage *req, void *data, cz_error *err)
{
    (void)req;
    struct rt *rt = data;
    if (rt->exited && rt->finishing) {
        Cz__Runtime__V1__WaitResponse r = CZ__RUNTIME__V1__WAIT_RESPONSE__INIT;
        r.exit_status = rt->exit_status;
        r.error = rt->failure ? rt->failure : (char *)"";
        return cz_rpc_call_reply(call, &r.base, err);
    }
    add_waiter(rt, call, false);
    return CZ_RPC_LATER;
}

static void agent_lost_check(cz_loop *loop, void *data)
{
    (void)loop;
    struct rt *rt = data;
    if (!rt->exited && !rt->finishing)
        process_over(rt, -1, "lost the connection to the guest agent");
}

static void agent_lost(cz_rpc_client *client, void *data)
{
    (void)client;
    struct rt *rt = data;
    /* a dead VM closes the channel first: let its exit, which says more, come */
    if (!rt->exited && !rt->finishing)
        cz_loop_add_timer(rt->loop, 500, agent_lost_check, rt);
}

/* ------------------------------------------------------------ setup */

/* Held for the runtime's whole life (released by its exit): the container's previous
 * runtime records the exit before it has removed its VM's sockets and run directory;
 * a `start` right after waits for that (bounded). */
static int runtime_lock(struct rt *rt, cz_error *err)
{
    cz_autofree char *path = cz_xasprintf("%s/runtime.lock", rt->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return cz_error_errno(err, errno, "open %s", path);
    for (int i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            close(fd);
            return cz_error_errno(err, errno, "lock %s", path);
        }
        if (i >= 1000) {
            close(fd);
            return cz_error_set(err, EBUSY, "container %s is still stopping (its previous "
                                "runtime has not ended within 10 s)", rt->c.name);
        }
        /* not a teardown but another start that won: nothing to wait for */
        cz_container_config c;
        cz_container_state st;
        if (i % 10 == 0 && cz_container_load(rt->root, rt->c.id, &c, &st, NULL) == 0) {
            bool running = st.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&st);
            cz_container_config_free(&c);
            cz_container_state_free(&st);
            if (running) {
                close(fd);
                return cz_error_set(err, EBUSY, "container %s is already running", rt->c.name);
            }
        }
        usleep(10000);
    }
    rt->runtime_lock = fd; /* kept open until we exit */
    return 0;
}

static void ready_close(struct rt *rt)
{
    if (rt->ready_fd < 0)
        return;
    cz_loop_del_fd(rt->loop, rt->ready_fd);
    close(rt->ready_fd);
    rt->ready_fd = -1;
}

/* The process will not start: the container goes back to created. */
static void abandon(struct rt *rt)
{
    rt->cli_gone = true;
    rt->exited = true;
    rt->exit_status = 0;
    finish(rt);
}

/* The CLI's end of the ready pipe closed (the pipe's write end reports an error). */
static void on_cli_gone(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct rt *rt = data;
    ready_close(rt);
    if (rt->started || rt->exited)
        return;
    fprintf(stderr, "container-runtime: the CLI went away before it attached: "
                    "the process is not started\n");
    abandon(rt);
}

static void ready(struct rt *rt, const char *line)
{
    if (rt->ready_fd < 0)
        return;
    int r = cz_write_all(rt->ready_fd, line, strlen(line));
    cz_error err = {0};
    /* waiting for the attach: watch for the CLI going away meanwhile */
    if (r == 0 && rt->wait_attach && !strcmp(line, "ok\n") && rt->loop &&
        cz_loop_add_fd(rt->loop, rt->ready_fd, CZ_LOOP_IN, on_cli_gone, rt, &err) == 0)
        return;
    close(rt->ready_fd);
    rt->ready_fd = -1;
    if (r < 0 && rt->wait_attach && !rt->started && !rt->exited && rt->loop) {
        abandon(rt); /* the CLI died while we were getting ready */
    }
}

static int guest_mount_at(struct rt *rt, const char *source, const char *target,
                          const char *fstype, char **options, size_t n_options, bool create_target,
                          cz_error *err)
{
    Cz__Agent__V1__MountRequest m = CZ__AGENT__V1__MOUNT_REQUEST__INIT;
    m.source = (char *)source;
    m.target = (char *)target;
    m.fstype = (char *)fstype;
    m.options = options;
    m.n_options = n_options;
    m.create_target = create_target;
    cz_autofree char *what = cz_xasprintf("mount %s on %s", source, target);
    rt->batch_what = what;
    int r = agent_unary(rt, "Mount", &m.base, NULL, err);
    rt->batch_what = NULL;
    if (r < 0)
        return cz_error_wrap(err, "%s", what);
    return 0;
}

/* A mount on target, made as a directory when missing. */
static int guest_mount(struct rt *rt, const char *source, const char *target, const char *fstype,
                       char **options, size_t n_options, cz_error *err)
{
    return guest_mount_at(rt, source, target, fstype, options, n_options, true, err);
}

static int guest_mkdir(struct rt *rt, const char *path, cz_error *err)
{
    Cz__Agent__V1__MkdirRequest m = CZ__AGENT__V1__MKDIR_REQUEST__INIT;
    m.path = (char *)path;
    m.mode = 0755;
    m.parents = true;
    return agent_unary(rt, "Mkdir", &m.base, NULL, err);
}

/* A directory of the container's root (path absolute in it); what names it in
 * a batch's failure. */
static int guest_mkdir_in_root(struct rt *rt, const char *path, const char *what, cz_error *err)
{
    cz_autofree char *full = cz_xasprintf("%s%s", G_ROOTFS, path);
    rt->batch_what = what;
    int r = guest_mkdir(rt, full, err);
    rt->batch_what = NULL;
    return r;
}

static int guest_write(struct rt *rt, const char *path, const char *text, cz_error *err)
{
    Cz__Agent__V1__WriteFileRequest w = CZ__AGENT__V1__WRITE_FILE_REQUEST__INIT;
    w.path = (char *)path;
    w.data.data = (uint8_t *)text;
    w.data.len = strlen(text);
    w.mode = 0644;
    w.create_parents = true;
    return agent_unary(rt, "WriteFile", &w.base, NULL, err);
}

/* The agent over vsock: the guest's port 1024 (vminitd listens there when the VM
 * has a vsock device). */
static cz_rpc_client *vsock_connect(struct rt *rt, cz_error *err)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cz_error_errno(err, errno, "vsock socket"), NULL;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = rt->vsock_cid, .svm_port = 1024};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        cz_error_errno(err, errno, "connect to the guest's vsock port 1024 (cid %u)",
                       rt->vsock_cid);
        close(fd);
        return NULL;
    }
    return cz_rpc_client_new(rt->loop, fd, NULL, err);
}

/* Connect to the agent and wait for its first answer (the guest boots meanwhile). */
static int agent_connect(struct rt *rt, int timeout_s, cz_error *err)
{
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_s * 1000000000ull;
    Cz__Agent__V1__StatRequest st = CZ__AGENT__V1__STAT_REQUEST__INIT;
    st.path = (char *)"/";
    cz_error e = {0};
    while (cz_now_ns() < deadline) {
        if (rt->vm_gone || waitpid(rt->vm_pid, &rt->vm_status, WNOHANG) == rt->vm_pid) {
            rt->vm_gone = true;
            cz_vm_exited(rt->vm, rt->vm_status);
            cz_autofree char *panic = console_panic(rt);
            if (panic)
                return cz_error_set(err, EIO, "the guest kernel panicked: %s", panic);
            return cz_error_set(err, EIO, "the VM exited before its agent answered (see logs --boot)");
        }
        if (!rt->agent)
            rt->agent = rt->vsock_cid ? vsock_connect(rt, &e)
                                      : cz_rpc_client_connect_unix(rt->loop,
                                                                   cz_vm_agent_socket(rt->vm),
                                                                   NULL, &e);
        if (rt->agent) {
            ProtobufCMessage *r = NULL;
            uint64_t left_ms = (deadline - cz_now_ns()) / 1000000;
            if (cz_rpc_client_unary(rt->agent, AGENT, "Stat", &st.base, &r,
                                    (int64_t)CZ_MIN(left_ms + 1, 5000), &e) == 0) {
                protobuf_c_message_free_unpacked(r, NULL);
                return 0;
            }
            cz_rpc_client_free(rt->agent);
            rt->agent = NULL;
        }
        usleep(5000);
    }
    return cz_error_set(err, ETIMEDOUT,
                        "the guest agent did not answer within %d s (last error: %s; see logs --boot)",
                        timeout_s, e.msg[0] ? e.msg : "none");
}

static int volume_path(struct rt *rt, const char *name, char **out, cz_error *err)
{
    cz_volume v;
    if (cz_volume_get(rt->root, name, &v, err) < 0)
        return -1;
    *out = cz_steal_pointer(&v.image);
    cz_volume_free(&v);
    return 0;
}

/* What vminitd prints on the console when it waits for its host: a template is ready. */
#define VMINITD_READY "vminitd: serving on"

/* VM templates (docs/vm.md "Templates"): CZ_VM_TEMPLATE=0 never, 1 wherever the layout allows,
 * unset: under TCG, where a boot costs most (and which is what this project can test; a
 * KVM restore is QEMU's ordinary migration, untested here). */
static bool templates_wanted(enum cz_accel accel)
{
    const char *e = getenv("CZ_VM_TEMPLATE");
    if (e && *e)
        return strcmp(e, "0") != 0;
    return accel == CZ_ACCEL_TCG;
}

/* Templates hold their booted guest's memory (about 24 MiB + 20 MiB per GiB of guest RAM)
 * on the run directory's filesystem, a tmpfs by default: at most this many and this many
 * bytes, the least recently used removed first. */
#define TEMPLATES_KEEP 8
#define TEMPLATES_BUDGET (512ull << 20)
/* A layout whose template failed to build or to run is not tried again for this long. */
#define TEMPLATE_RETRY_S 600
/* Markers beside the templates (KEY.seen, KEY.failed) older than this go. */
#define TEMPLATE_MARK_MAX_S (7 * 24 * 3600)

static bool pid_dead(const char *s)
{
    long pid = strtol(s, NULL, 10);
    return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void templates_trim(const char *base, const char *keep)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct tpl {
        char *name;
        struct timespec used;
        uint64_t bytes;
    } t[256];
    size_t n = 0;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) && n < CZ_ARRAY_SIZE(t)) {
        if (e->d_name[0] == '.')
            continue;
        cz_autofree char *path = cz_xasprintf("%s/%s", base, e->d_name);
        const char *dot = strchr(e->d_name, '.');
        const char *dash = strrchr(e->d_name, '-');
        struct stat st;
        if (dot && dash && dash > dot) {
            /* what a killed runtime left: KEY.tmp-PID (a build), KEY.bad-PID, KEY.old-PID */
            if (pid_dead(dash + 1))
                cz_rm_rf(path, NULL);
            continue;
        }
        if (dot) { /* KEY.lock, KEY.seen, KEY.failed: old ones go */
            if (stat(path, &st) == 0 && now - st.st_mtime > TEMPLATE_MARK_MAX_S)
                unlink(path);
            continue;
        }
        cz_autofree char *state = cz_xasprintf("%s/state", path);
        if (stat(state, &st) < 0 || !strcmp(e->d_name, keep))
            continue;
        t[n++] = (struct tpl){cz_xstrdup(e->d_name), st.st_mtim, (uint64_t)st.st_blocks * 512};
    }
    closedir(d);
    /* newest first; past the count or the bytes (the kept one counts for one) they go */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (t[j].used.tv_sec > t[j - 1].used.tv_sec ||
                                     (t[j].used.tv_sec == t[j - 1].used.tv_sec &&
                                      t[j].used.tv_nsec > t[j - 1].used.tv_nsec));
             j--) {
            struct tpl x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    cz_autofree char *kept_state = cz_xasprintf("%s/%s/state", base, keep);
    struct stat ks;
    uint64_t total = stat(kept_state, &ks) == 0 ? (uint64_t)ks.st_blocks * 512 : 0;
    for (size_t i = 0; i < n; i++) {
        total += t[i].bytes;
        if (i + 1 >= TEMPLATES_KEEP || total > TEMPLATES_BUDGET) {
            cz_autofree char *dir = cz_xasprintf("%s/%s", base, t[i].name);
            cz_autofree char *gone = cz_xasprintf("%s.old-%d", dir, (int)getpid());
            /* a VM restored from it has read its state already: nothing running needs it */
            if (rename(dir, gone) == 0)
                cz_rm_rf(gone, NULL);
            total -= t[i].bytes;
        }
        free(t[i].name);
    }
}

/* A marker file's age in seconds; -1 when there is none. */
static long mark_age(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    return (long)(time(NULL) - st.st_mtime);
}

static void mark(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

/* The template directory vc can start from; NULL: boot (why is in the runtime's log under
 * --debug). The first container of a layout only marks it seen and boots: a layout used
 * once (a copy into a stopped container, an image run once) costs no template. The next
 * one builds it, if it gets the layout's lock at once (else it boots: waiting for another
 * builder is no faster), there is room for it, and no build or run of that layout failed
 * in the last 10 minutes. */
static char *template_for(struct rt *rt, const struct cz_vm_config *vc)
{
    if (rt->no_template || !templates_wanted(vc->accel))
        return NULL;
    cz_error e = {0};
    cz_autofree char *key = cz_vm_template_key(vc, vc->accel, &e);
    if (!key) {
        cz_debug("no VM template: %s", e.msg);
        return NULL;
    }
    cz_autofree char *base = cz_container_templates_dir();
    char *dir = cz_xasprintf("%s/%s", base, key);
    cz_autofree char *state = cz_xasprintf("%s/state", dir);
    struct stat st;
    if (stat(state, &st) == 0) {
        utimensat(AT_FDCWD, state, NULL, 0); /* recently used */
        rt->template_ino = st.st_ino;
        return dir;
    }
    cz_autofree char *seen = cz_xasprintf("%s/%s.seen", base, key);
    cz_autofree char *failed = cz_xasprintf("%s/%s.failed", base, key);
    cz_autofree char *lock = cz_xasprintf("%s/%s.lock", base, key);
    long failed_age = mark_age(failed);
    const char *why = NULL;
    struct statvfs vfs;
    uint64_t want = (24ull << 20) + vc->memory_mib * (20ull << 10);
    int fd = -1;
    if (cz_mkdir_p(base, 0700, &e) < 0) {
        why = e.msg;
    } else if (mark_age(seen) < 0) {
        mark(seen);
        why = "first container of this layout";
    } else if (failed_age >= 0 && failed_age < TEMPLATE_RETRY_S) {
        why = "its template failed in the last 10 minutes";
    } else if (statvfs(base, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < 4 * want) {
        why = "too little free space in the run directory";
    } else if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
               flock(fd, LOCK_EX | LOCK_NB) < 0) {
        why = "another container is building the template";
    } else if (stat(state, &st) == 0) {
        rt->template_ino = st.st_ino; /* built while we looked */
    } else if (cz_vm_template_build(vc, vc->accel, dir, VMINITD_READY,
                                    timeout_env("CZ_BOOT_TIMEOUT", 60) * 1000, &e) < 0) {
        fprintf(stderr, "container-runtime: no VM template (booting instead): %s\n", e.msg);
        mark(failed);
        why = "the build failed";
    } else if (stat(state, &st) == 0) {
        rt->template_ino = st.st_ino;
        templates_trim(base, key);
    } else {
        why = "the template is gone";
    }
    if (fd >= 0)
        close(fd);
    if (why) {
        cz_debug("no VM template: %s", why);
        free(dir);
        return NULL;
    }
    return dir;
}

/* A template that failed a VM (and a cold boot then worked) goes, unless it was replaced
 * meanwhile; its layout is not tried again for a while. */
static void template_discard(const char *dir, ino_t ino)
{
    cz_autofree char *state = cz_xasprintf("%s/state", dir);
    cz_autofree char *failed = cz_xasprintf("%s.failed", dir);
    cz_autofree char *gone = cz_xasprintf("%s.bad-%d", dir, (int)getpid());
    struct stat st;
    mark(failed);
    if (stat(state, &st) == 0 && st.st_ino == ino && rename(dir, gone) == 0)
        cz_rm_rf(gone, NULL);
}

static int boot(struct rt *rt, cz_error *err)
{
    cz_container_config *c = &rt->c;
    cz_autofree char *kernel = NULL;
    cz_autofree char *initfs = NULL;
    if (cz_container_guest_files(rt->root, c->kernel, &kernel, &initfs, err) < 0)
        return -1;
    cz_autofree char *snapshot = cz_xasprintf("%s/snapshots/%s.ext4", rt->root,
                                              strchr(c->image_digest, ':') + 1);
    cz_autofree char *rw = cz_xasprintf("%s/rw.ext4", rt->dir);
    if (access(snapshot, R_OK) < 0)
        return cz_error_errno(err, errno, "the image snapshot %s", snapshot);
    if (access(rw, R_OK | W_OK) < 0)
        return cz_error_errno(err, errno, "the container's writable disk %s", rw);

    struct cz_vm_disk disks[CZ_VM_MAX_DISKS];
    struct cz_vm_share shares[CZ_VM_MAX_SHARES];
    char *owned[CZ_VM_MAX_DISKS + CZ_VM_MAX_SHARES] = {0};
    size_t n_owned = 0, nd = 0, ns = 0;
    disks[nd++] = (struct cz_vm_disk){.path = snapshot, .readonly = true};
    disks[nd++] = (struct cz_vm_disk){.path = rw, .readonly = false};
    int r = 0;
    for (size_t i = 0; i < c->n_mounts && r == 0; i++) {
        struct cz_mount_spec *m = &c->mounts[i];
        if (!strcmp(m->type, "volume")) {
            if (nd >= CZ_VM_MAX_DISKS) {
                r = cz_error_set(err, E2BIG, "too many volumes (at most %d)", CZ_VM_MAX_DISKS - 2);
                break;
            }
            char *p = NULL;
            if ((r = volume_path(rt, m->source, &p, err)) < 0)
                break;
            owned[n_owned++] = p;
            /* writable at the disk level even for :ro, so the guest can replay
             * the journal a killed VM left; the mount is read-only */
            disks[nd++] = (struct cz_vm_disk){.path = p, .readonly = false};
        } else if (!strcmp(m->type, "bind")) {
            if (ns >= CZ_VM_MAX_SHARES) {
                r = cz_error_set(err, E2BIG, "too many bind mounts (at most %d)", CZ_VM_MAX_SHARES);
                break;
            }
            struct stat sb;
            if (stat(m->source, &sb) < 0) {
                r = cz_error_errno(err, errno, "bind mount source %s", m->source);
                break;
            }
            if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
                r = cz_error_set(err, EINVAL, "bind mount source %s: only directories and "
                                 "regular files can be shared with the VM", m->source);
                break;
            }
            char *tag = cz_xasprintf("m%zu", i);
            owned[n_owned++] = tag;
            shares[ns++] = (struct cz_vm_share){.tag = tag, .path = m->source,
                                                .readonly = m->readonly};
        }
    }
    /* -p, as the CLI recorded it (a HOST it was to pick is picked by now) */
    struct cz_vm_port ports[CZ_MAX_PUBLISHED];
    struct cz_port_binding bind[CZ_MAX_PUBLISHED];
    size_t np = 0;
    for (char **p = c->ports; r == 0 && p && *p; p++) {
        if (np >= CZ_ARRAY_SIZE(ports) || !cz_port_binding_parse(*p, &bind[np]) ||
            bind[np].host == 0) {
            r = cz_error_set(err, EINVAL, "invalid published port '%s'", *p);
            break;
        }
        ports[np] = (struct cz_vm_port){.host_port = (uint16_t)bind[np].host,
                                        .guest_port = (uint16_t)bind[np].container,
                                        .udp = bind[np].udp, .host_addr = bind[np].addr};
        np++;
    }
    for (size_t i = 0; i < rt->n_disk_path; i++)
        free(rt->disk_path[i]);
    rt->n_disk_path = nd;
    for (size_t i = 0; i < nd; i++)
        rt->disk_path[i] = cz_xstrdup(disks[i].path);
    struct cz_vm_config vc = {
        .name = c->name,
        .kernel = kernel,
        .initrd = initfs,
        .cpus = c->cpus ? c->cpus : 1,
        .memory_mib = c->memory_mib ? c->memory_mib : 256,
        .disks = disks,
        .n_disks = nd,
        .shares = shares,
        .n_shares = ns,
        .net = {.kind = strcmp(c->network ? c->network : "default", "none") ? CZ_VM_NET_USER
                                                                             : CZ_VM_NET_NONE,
                .ports = ports,
                .n_ports = np},
        .run_dir = rt->run_dir,
        .output_ports = true,
    };
    vc.console_log = rt->console;
    /* --debug reaches vminitd too (a word the kernel hands to init): its lines, each
     * call's time among them, go to the console log */
    if (cz_log_enabled(CZ_LOG_DEBUG))
        vc.cmdline = "--debug";
    /* vsock where the host can give it (a usable /dev/vhost-vsock), else virtio-serial */
    int vfd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
    if (vfd >= 0 && !getenv("CZ_NO_VSOCK")) {
        close(vfd);
        /* a context id from the container id: 3 and up (0-2 are reserved) */
        uint32_t h = 2166136261u;
        for (const char *p = c->id; *p; p++)
            h = (h ^ (uint8_t)*p) * 16777619u;
        rt->vsock_cid = 3 + h % 0x7fff0000u;
        vc.vsock = true;
        vc.vsock_cid = rt->vsock_cid;
    } else if (vfd >= 0) {
        close(vfd);
    }
    const char *how = NULL;
    vc.accel = cz_container_accel(rt->root, kernel, &how);
    cz_debug("accelerator %s (%s)", cz_accel_name(vc.accel), how);
    if (r == 0 && cz_vm_config_validate(&vc, err) < 0)
        r = -1;
    if (r == 0)
        vc.template_dir = rt->template_dir = template_for(rt, &vc);
    if (r == 0 && cz_vm_start(&vc, &rt->vm, err) < 0) {
        if (vc.template_dir) {
            r = -1; /* start_vm boots instead */
        } else if (vc.vsock) {
            /* a context id in use, or vsock refused: the serial channel always works */
            cz_debug("vsock VM failed (%s): again with virtio-serial", err->msg);
            vc.vsock = false;
            rt->vsock_cid = 0;
            if (cz_vm_start(&vc, &rt->vm, err) < 0)
                r = -1;
        } else {
            r = -1;
        }
    }
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    if (r < 0)
        return cz_error_wrap(err, "start the VM");
    rt->vm_pid = cz_vm_pid(rt->vm);
    return 0;
}

/* A restored VM's first call: its own random state, its disks' cached blocks dropped. */
static int restored_call(struct rt *rt, cz_error *err)
{
    uint8_t entropy[64];
    if (getrandom(entropy, sizeof(entropy), 0) != (ssize_t)sizeof(entropy))
        return cz_error_errno(err, errno, "getrandom");
    Cz__Agent__V1__RestoredRequest rq = CZ__AGENT__V1__RESTORED_REQUEST__INIT;
    rq.entropy.data = entropy;
    rq.entropy.len = sizeof(entropy);
    rq.flush_disks = true;
    return agent_unary(rt, "Restored", &rq.base, NULL, err);
}

/* A restored VM answers within tens of milliseconds; one that does not within this many
 * seconds is given up for a cold boot (CZ_BOOT_TIMEOUT bounds a boot). */
#define RESTORED_ANSWER_S 15

/* Boot (or restore) the VM and connect to its agent. A restored VM that does not answer or
 * cannot be made its own (an initfs older than the template's protocol, a broken state) is
 * replaced by a cold boot; if that works, the template was to blame and goes. */
static int start_vm(struct rt *rt, cz_error *err)
{
    int boot_s = timeout_env("CZ_BOOT_TIMEOUT", 60);
    int booted = boot(rt, err);
    if (!rt->template_dir)
        return booted < 0 ? -1 : agent_connect(rt, boot_s, err);
    bool ok = false; /* QEMU did not even load the template when boot failed */
    if (booted == 0) {
        rt->vm_trial = true;
        ok = agent_connect(rt, CZ_MIN(boot_s, RESTORED_ANSWER_S), err) == 0 &&
             restored_call(rt, err) == 0;
        rt->vm_trial = false;
        if (ok && !rt->vm_gone)
            return 0;
        if (ok)
            cz_error_set(err, EIO, "the VM exited");
    }
    fprintf(stderr, "container-runtime: the VM restored from a template failed (%s): booting\n",
            err->msg);
    char *bad = rt->template_dir;
    rt->template_dir = NULL;
    rt->no_template = true;
    if (rt->agent) {
        cz_rpc_client_free(rt->agent);
        rt->agent = NULL;
    }
    if (rt->vm && !rt->vm_gone) {
        cz_vm_kill(rt->vm);
        waitpid(rt->vm_pid, NULL, 0);
    }
    cz_vm_free(rt->vm);
    rt->vm = NULL;
    rt->vm_gone = false;
    memset(err, 0, sizeof(*err));
    int r = boot(rt, err) < 0 || agent_connect(rt, boot_s, err) < 0 ? -1 : 0;
    if (r == 0)
        template_discard(bad, rt->template_ino);
    free(bad);
    return r;
}

static int setup_guest_calls(struct rt *rt, cz_error *err);
static int serve(struct rt *rt, cz_error *err);
static int guest_read_text(struct rt *rt, const char *path, char **out, cz_error *err);

/* In the same batch, after the root is mounted: docker creates a missing working
 * directory; the container's passwd and group files say who -u USER is (a missing
 * file stays NULL: numeric ids work without). */
static int lookup_calls(struct rt *rt, cz_error *err)
{
    cz_container_config *c = &rt->c;
    if (c->workdir && strcmp(c->workdir, "/")) {
        cz_autofree char *what = cz_xasprintf("working directory %s", c->workdir);
        if (guest_mkdir_in_root(rt, c->workdir, what, err) < 0)
            return -1;
    }
    if (guest_read_text(rt, G_ROOTFS "/etc/passwd", &rt->passwd, err) < 0 ||
        guest_read_text(rt, G_ROOTFS "/etc/group", &rt->group, err) < 0)
        return -1;
    return 0;
}

static int setup_guest(struct rt *rt, cz_error *err)
{
    batch_begin(rt);
    cz_error e = {0};
    int r = setup_guest_calls(rt, &e);
    if (r == 0)
        r = rt->maintenance ? 0 : lookup_calls(rt, &e);
    /* the batch's own failure (in order) says more than a failed send */
    if (batch_end(rt, err) < 0)
        return -1;
    if (r < 0)
        *err = e;
    return r;
}

static int setup_guest_calls(struct rt *rt, cz_error *err)
{
    cz_container_config *c = &rt->c;
    /* the guest's clock starts wherever: give it ours */
    Cz__Agent__V1__SetTimeRequest t = CZ__AGENT__V1__SET_TIME_REQUEST__INIT;
    t.unix_nanos = wall_ns();
    if (agent_unary(rt, "SetTime", &t.base, NULL, err) < 0)
        return -1;

    /* the root: the shared image read-only below, the container's disk above */
    char *ro[] = {(char *)"ro"};
    if (guest_mount(rt, "/dev/vda", G_IMAGE, "ext4", ro, 1, err) < 0 ||
        guest_mount(rt, "/dev/vdb", G_RW, "ext4", NULL, 0, err) < 0 ||
        guest_mkdir(rt, G_RW "/upper", err) < 0 || guest_mkdir(rt, G_RW "/work", err) < 0)
        return -1;
    char *ov[] = {(char *)"lowerdir=" G_IMAGE, (char *)"upperdir=" G_RW "/upper",
                  (char *)"workdir=" G_RW "/work"};
    if (guest_mount(rt, "overlay", G_ROOTFS, "overlay", ov, 3, err) < 0)
        return -1;

    /* volumes (disks from /dev/vdc on) and bind mounts (9p shares) */
    char dev = 'c';
    for (size_t i = 0; i < c->n_mounts; i++) {
        struct cz_mount_spec *m = &c->mounts[i];
        cz_autofree char *target = cz_xasprintf("/run/cz/mounts/%zu", i);
        if (!strcmp(m->type, "volume")) {
            cz_autofree char *devpath = cz_xasprintf("/dev/vd%c", dev++);
            if (guest_mount(rt, devpath, target, "ext4", m->readonly ? ro : NULL,
                            m->readonly ? 1 : 0, err) < 0)
                return -1;
        } else if (!strcmp(m->type, "bind")) {
            cz_autofree char *tag = cz_xasprintf("m%zu", i);
            char *o9[] = {(char *)"trans=virtio", (char *)"version=9p2000.L",
                          (char *)"msize=524288", (char *)"cache=none", (char *)"ro"};
            if (guest_mount(rt, tag, target, "9p", o9, m->readonly ? 5 : 4, err) < 0)
                return -1;
        }
    }

    /* the files the container's /etc gets */
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", c->id);
    const char *hostname = c->hostname ? c->hostname : short_id; /* as the spec's, docker's */
    cz_autofree char *hn = cz_xasprintf("%s\n", hostname);
    cz_autofree char *hosts = cz_xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                           "ip6-loopback\n%s\t%s\n",
                                           strcmp(c->network ? c->network : "default", "none")
                                               ? "10.0.2.15"
                                               : "127.0.1.1",
                                           hostname);
    cz_buf resolv = {0};
    if (c->dns && c->dns[0])
        for (char **d = c->dns; *d; d++)
            cz_buf_printf(&resolv, "nameserver %s\n", *d);
    else if (strcmp(c->network ? c->network : "default", "none"))
        cz_buf_printf(&resolv, "nameserver %s\n", SLIRP_DNS);
    else
        cz_buf_printf(&resolv, "# no network\n");
    int r = 0;
    if (guest_write(rt, G_ETC "/hostname", hn, err) < 0 ||
        guest_write(rt, G_ETC "/hosts", hosts, err) < 0 ||
        guest_write(rt, G_ETC "/resolv.conf", resolv.data, err) < 0)
        r = -1;
    cz_buf_free(&resolv);
    if (r < 0)
        return -1;

    /* the network: loopback always; eth0 on QEMU's user-mode network */
    Cz__Agent__V1__LinkSetRequest l = CZ__AGENT__V1__LINK_SET_REQUEST__INIT;
    l.name = (char *)"lo";
    l.state = CZ__AGENT__V1__LINK_SET_REQUEST__STATE__UP;
    if (agent_unary(rt, "LinkSet", &l.base, NULL, err) < 0)
        return -1;
    if (strcmp(c->network ? c->network : "default", "none")) {
        l.name = (char *)"eth0";
        Cz__Agent__V1__AddrAddRequest a = CZ__AGENT__V1__ADDR_ADD_REQUEST__INIT;
        a.link = (char *)"eth0";
        a.cidr = (char *)SLIRP_ADDR;
        Cz__Agent__V1__RouteAddRequest ra = CZ__AGENT__V1__ROUTE_ADD_REQUEST__INIT;
        ra.link = (char *)"eth0";
        ra.destination = (char *)"default";
        ra.gateway = (char *)SLIRP_GW;
        if (agent_unary(rt, "LinkSet", &l.base, NULL, err) < 0 ||
            agent_unary(rt, "AddrAdd", &a.base, NULL, err) < 0 ||
            agent_unary(rt, "RouteAdd", &ra.base, NULL, err) < 0)
            return -1;
    }
    return 0;
}

/* Queue a read of a file of the container's root, as text, into *out (stays
 * NULL when the file does not exist). */
static int guest_read_text(struct rt *rt, const char *path, char **out, cz_error *err)
{
    Cz__Agent__V1__ReadFileRequest q = CZ__AGENT__V1__READ_FILE_REQUEST__INIT;
    q.path = (char *)path;
    q.limit = 1 << 20;
    cz_autofree char *what = cz_xasprintf("read %s", path);
    rt->batch_what = what;
    int r = batch_add(rt, "ReadFile", &q.base, out, err);
    rt->batch_what = NULL;
    return r;
}

static int create_process(struct rt *rt, cz_error *err)
{
    cz_container_config *c = &rt->c;
    cz_autofree char *spec = cz_container_oci_spec(c, G_ROOTFS, err);
    if (!spec)
        return -1;
    /* the user, by the container's own passwd and group files (read in the
     * setup batch) */
    const char *passwd = rt->passwd, *group = rt->group;
    struct cz_user u;
    int r = cz_user_resolve(c->user, passwd ? passwd : "", group ? group : "", &u, err);
    if (r == 0)
        r = cz_spec_apply_user(&spec, &u, err);
    cz_user_free(&u);
    if (r < 0)
        return -1;
    /* kept beside the container's records: what its process was given */
    cz_autofree char *spec_path = cz_xasprintf("%s/spec.json", rt->dir);
    if (cz_write_file_atomic(spec_path, spec, strlen(spec), 0644, err) < 0)
        return -1;
    Cz__Agent__V1__StdioOptions so = CZ__AGENT__V1__STDIO_OPTIONS__INIT;
    so.stdin = c->interactive;
    so.stdout = true;
    so.stderr = true;
    so.terminal = c->tty;
    /* Output straight into the VM's ports (no copy through vminitd): not with a terminal */
    if (!c->tty && !getenv("CZ_NO_DIRECT_OUTPUT")) {
        port_connect(rt);
        so.direct_output = rt->port_fd[1] >= 0;
    }
    Cz__Agent__V1__CreateProcessRequest cp = CZ__AGENT__V1__CREATE_PROCESS_REQUEST__INIT;
    cp.id = c->id;
    cp.oci_spec_json = spec;
    cp.stdio = &so;
    r = agent_unary(rt, "CreateProcess", &cp.base, NULL, err);
    if (r < 0 || !so.direct_output)
        for (int i = 1; i <= 2; i++)
            port_close(rt, i);
    if (r < 0)
        return -1;
    if (so.direct_output)
        port_watch(rt, true);
    cz_debug("process created%s", so.direct_output ? " (direct output)" : "");
    rt->stdio = cz_rpc_client_start(rt->agent, AGENT, "Stdio", 0, &stdio_handler, rt, err);
    if (!rt->stdio)
        return cz_error_wrap(err, "attach to the process");
    Cz__Agent__V1__StdioRequest first = CZ__AGENT__V1__STDIO_REQUEST__INIT;
    first.id = c->id;
    if (cz_rpc_call_send(rt->stdio, &first.base, err) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ maintenance */

/* Stop for good: the end may come while the boot still runs the loop in its
 * calls, before main enters it (cz_loop_run would forget a stop). */
static void maintenance_quit(struct rt *rt)
{
    rt->quit = true;
    cz_loop_stop(rt->loop);
}

static void maintenance_powered_off(cz_loop *loop, void *data)
{
    (void)loop;
    /* the VM did not go by itself: main kills it (the guest is synced) */
    maintenance_quit(data);
}

static void maintenance_synced(struct rt *rt, int status, const char *message,
                               const ProtobufCMessage *reply, void *arg)
{
    (void)reply;
    (void)arg;
    if (status)
        fprintf(stderr, "container-runtime: sync: %s\n", message);
    /* the VM's exit (SIGCHLD) ends the loop; the timer in case it does not */
    Cz__Agent__V1__ShutdownRequest q = CZ__AGENT__V1__SHUTDOWN_REQUEST__INIT;
    agent_async(rt, "Shutdown", &q.base, 5000, NULL, NULL);
    cz_loop_add_timer(rt->loop, 5000, maintenance_powered_off, rt);
}

/* The copy is over (or its CLI is gone, or a signal came): what was written
 * reaches the disks, then the VM powers off. */
static void maintenance_end(struct rt *rt)
{
    if (rt->ending)
        return;
    rt->ending = true;
    cz_debug("maintenance: ending");
    if (!rt->vm || rt->vm_gone || !rt->agent || !cz_rpc_client_is_connected(rt->agent)) {
        maintenance_quit(rt);
        return;
    }
    Cz__Agent__V1__SyncRequest q = CZ__AGENT__V1__SYNC_REQUEST__INIT;
    agent_async(rt, "Sync", &q.base, 30000, maintenance_synced, NULL);
}

static void on_lifeline(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n > 0)
        return; /* the CLI only ever closes it */
    cz_loop_del_fd(loop, fd);
    maintenance_end(data);
}

static void maintenance_agent_lost(cz_rpc_client *client, void *data)
{
    (void)client;
    maintenance_end(data);
}

/* A bind mount of a single file: its share holds the file under its own name. */
static bool bind_is_file(const struct cz_mount_spec *m)
{
    struct stat st;
    return !strcmp(m->type, "bind") && m->source && stat(m->source, &st) == 0 &&
           S_ISREG(st.st_mode);
}

/* The mount point of m in the container's root, made as the container's start
 * makes it: a directory, or for a file an empty file unless one is there. */
static int maintenance_mount_point(struct rt *rt, const struct cz_mount_spec *m, cz_error *err)
{
    cz_autofree char *what = cz_xasprintf("mount point %s", m->destination);
    if (!bind_is_file(m))
        return guest_mkdir_in_root(rt, m->destination, what, err) < 0
                   ? cz_error_wrap(err, "%s", what)
                   : 0;
    cz_autofree char *full = cz_xasprintf("%s%s", G_ROOTFS, m->destination);
    Cz__Agent__V1__StatRequest q = CZ__AGENT__V1__STAT_REQUEST__INIT;
    q.path = full;
    ProtobufCMessage *r = NULL;
    cz_error e = {0};
    if (agent_unary(rt, "Stat", &q.base, &r, &e) == 0) {
        protobuf_c_message_free_unpacked(r, NULL);
        return 0;
    }
    if (e.code != ENOENT) {
        *err = e;
        return cz_error_wrap(err, "%s", what);
    }
    return guest_write(rt, full, "", err) < 0 ? cz_error_wrap(err, "%s", what) : 0;
}

/* A maintenance runtime has no container process whose mount namespace gives
 * the container's view, so it builds that view on the overlay root itself and
 * cp's paths resolve under G_ROOTFS as in the container: volumes and bind mounts
 * on their destinations (read-only ones read-only), a --read-only root made
 * read-only below them. Mount points are made first, while the root is writable,
 * as the container's start makes them. tmpfs mounts and the managed /etc/hosts,
 * /etc/hostname and /etc/resolv.conf exist only while the container runs (as
 * with docker): a copy sees and writes what is beneath them. */
static int maintenance_mounts(struct rt *rt, cz_error *err)
{
    cz_container_config *c = &rt->c;
    for (size_t i = 0; i < c->n_mounts; i++)
        if ((!strcmp(c->mounts[i].type, "volume") || !strcmp(c->mounts[i].type, "bind")) &&
            maintenance_mount_point(rt, &c->mounts[i], err) < 0)
            return -1;
    char *bind_ro[] = {(char *)"bind", (char *)"ro"};
    if (c->read_only && guest_mount_at(rt, G_ROOTFS, G_ROOTFS, "", bind_ro, 2, false, err) < 0)
        return -1;
    for (size_t i = 0; i < c->n_mounts; i++) {
        struct cz_mount_spec *m = &c->mounts[i];
        if (strcmp(m->type, "volume") && strcmp(m->type, "bind"))
            continue;
        cz_autofree char *source = cz_xasprintf("/run/cz/mounts/%zu", i);
        if (bind_is_file(m)) {
            const char *slash = strrchr(m->source, '/');
            char *f = cz_xasprintf("%s/%s", source, slash ? slash + 1 : m->source);
            free(source);
            source = f;
        }
        cz_autofree char *target = cz_xasprintf("%s%s", G_ROOTFS, m->destination);
        /* the mount points exist: a file's is a file */
        if (guest_mount_at(rt, source, target, "", bind_ro, m->readonly ? 2 : 1, false, err) < 0)
            return -1;
    }
    return 0;
}

/* Boot the container's VM for cp, without touching its state; under the busy
 * lock, held until we exit, so neither start nor rm interleave. */
static int maintenance_boot(struct rt *rt, cz_error *err)
{
    rt->busy_fd = cz_container_lock_busy(rt->root, &rt->c, "a copy (container cp) is in progress",
                                         err);
    if (rt->busy_fd < 0)
        return -1;
    /* read under the lock: a start that came first has recorded RUNNING by now */
    cz_container_config now_c;
    cz_container_state now;
    if (cz_container_load(rt->root, rt->c.id, &now_c, &now, err) < 0)
        return -1;
    bool running = now.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&now);
    cz_container_config_free(&now_c);
    cz_container_state_free(&now);
    if (running)
        return cz_error_set(err, EBUSY, "container %s is running", rt->c.name);
    /* no network: nothing to reach, and no host port to publish */
    free(rt->c.network);
    rt->c.network = cz_xstrdup("none");
    cz_strv_free(rt->c.ports);
    rt->c.ports = NULL;
    if (!rt->loop || rt->sigfd < 0)
        return cz_error_set(err, errno ? errno : EIO, "set up the event loop");
    /* what a killed maintenance runtime left (under the lock, it is no one's) */
    cz_rm_rf(rt->run_dir, NULL);
    if (cz_mkdir_p(rt->run_dir, 0700, err) < 0 ||
        cz_loop_add_fd(rt->loop, rt->sigfd, CZ_LOOP_IN, on_signal, rt, err) < 0 ||
        cz_loop_add_fd(rt->loop, rt->lifeline_fd, CZ_LOOP_IN, on_lifeline, rt, err) < 0 ||
        start_vm(rt, err) < 0)
        return -1;
    cz_rpc_client_on_disconnect(rt->agent, maintenance_agent_lost, rt);
    if (!rt->ending && (setup_guest(rt, err) < 0 || maintenance_mounts(rt, err) < 0))
        return cz_error_wrap(err, "prepare the container in its VM");
    if (rt->ending) /* the CLI went away while we booted */
        return cz_error_set(err, ECANCELED, "the copy was abandoned");
    cz_debug("maintenance: guest prepared");
    return serve(rt, err);
}

static int serve(struct rt *rt, cz_error *err)
{
    rt->server = cz_rpc_server_new(rt->loop, NULL);
    if (rt->maintenance) {
        cz_autofree char *sock = cz_xasprintf("%s/runtime.sock", rt->run_dir);
        if (rt_proxy_register(rt->server, &rt->proxy, true, err) < 0)
            return -1;
        return cz_rpc_server_listen_unix(rt->server, sock, err);
    }
    if (cz_rpc_server_add_method(rt->server, RUNTIME, "Attach", &attach_handler, rt, err) < 0 ||
        cz_rpc_server_add_unary(rt->server, RUNTIME, "Kill", api_kill, rt, err) < 0 ||
        cz_rpc_server_add_unary(rt->server, RUNTIME, "Stop", api_stop, rt, err) < 0 ||
        cz_rpc_server_add_unary(rt->server, RUNTIME, "Wait", api_wait, rt, err) < 0 ||
        rt_proxy_register(rt->server, &rt->proxy, false, err) < 0)
        return -1;
    cz_autofree char *sock = cz_container_runtime_socket(rt->c.id);
    return cz_rpc_server_listen_unix(rt->server, sock, err);
}

static void usage(void)
{
    fprintf(stderr, "usage: container-runtime --root ROOT --id ID [--ready-fd N] [--wait-attach] "
                    "[--debug]\n"
                    "       container-runtime --root ROOT --id ID --maintenance --lifeline-fd N "
                    "[--ready-fd N] [--debug]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"ready-fd", required_argument, NULL, 'f'},
                                         {"wait-attach", no_argument, NULL, 'w'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"maintenance", no_argument, NULL, 'm'},
                                         {"lifeline-fd", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    struct rt rt_ = {.ready_fd = -1, .sigfd = -1, .exit_status = -1, .log = {.fd = -1},
                     .port_fd = {-1, -1, -1},
                     .lifeline_fd = -1, .busy_fd = -1, .runtime_lock = -1};
    rt_.proxy = (struct rt_proxy_target){.agent = &rt_.agent, .paused = &rt_.paused};
    struct rt *rt = &rt_;
    const char *id = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r': rt->root = optarg; break;
        case 'i': id = optarg; break;
        case 'f': rt->ready_fd = atoi(optarg); break;
        case 'w': rt->wait_attach = true; break;
        case 'd': cz_log_set_level(CZ_LOG_DEBUG); break;
        case 'm': rt->maintenance = true; break;
        case 'l': rt->lifeline_fd = atoi(optarg); break;
        default: usage(); return 2;
        }
    }
    if (!rt->root || !id || optind != argc || rt->maintenance != (rt->lifeline_fd >= 0)) {
        usage();
        return 2;
    }
    if (rt->ready_fd >= 0)
        fcntl(rt->ready_fd, F_SETFD, FD_CLOEXEC);
    if (rt->lifeline_fd >= 0)
        fcntl(rt->lifeline_fd, F_SETFD, FD_CLOEXEC);
    cz_error err = {0};
    if (cz_container_load(rt->root, id, &rt->c, &rt->st, &err) < 0) {
        char line[sizeof(err.msg) + 16];
        snprintf(line, sizeof(line), "fail 125 %s\n", err.msg);
        ready(rt, line);
        return 1;
    }
    rt->dir = cz_container_dir(rt->root, rt->c.id);
    rt->run_dir = rt->maintenance ? cz_container_maintenance_dir(rt->c.id)
                                  : cz_container_run_dir(rt->c.id);
    /* a maintenance VM's console goes with its run directory: `logs --boot` keeps
     * showing the container's own boot */
    rt->console = cz_xasprintf("%s/console.log", rt->maintenance ? rt->run_dir : rt->dir);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    rt->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    int r = 0;
    int fail_code = 125;
    cz_autofree char *logpath = cz_xasprintf("%s/container.log", rt->dir);
    bool refused = false;
    rt->loop = cz_loop_new(&err);
    if (rt->maintenance) {
        r = maintenance_boot(rt, &err);
        goto served;
    }
    if (!rt->loop || rt->sigfd < 0)
        r = cz_error_set(&err, errno ? errno : EIO, "set up the event loop");
    /* one runtime at a time: the one before (its process just exited) may still be
     * tearing down, and the run directory is the same */
    if (r == 0 && runtime_lock(rt, &err) < 0) {
        refused = true;
        r = -1;
    }
    if (r == 0 && cz_mkdir_p(rt->run_dir, 0700, &err) < 0)
        r = -1;
    /* not while a copy (a maintenance runtime) holds the container: refused,
     * the state untouched */
    int busy = r == 0 ? cz_container_lock_busy(rt->root, &rt->c, "it is being started", &err) : -1;
    if (r == 0 && busy < 0) {
        refused = true;
        r = -1;
    }
    if (r == 0) {
        /* the state says RUNNING with our pid from the start: a crash of ours
         * is then visible to `ls` (the pid is gone) */
        rt->st.status = CZ_STATUS_RUNNING;
        rt->st.runtime_pid = getpid();
        rt->st.runtime_start = cz_proc_start_time(getpid());
        rt->st.started_at = wall_ns();
        rt->st.finished_at = 0;
        rt->st.exit_code = 0;
        free(rt->st.error);
        rt->st.error = NULL;
        if (cz_container_save_state(rt->root, rt->c.id, &rt->st, &err) < 0)
            r = -1;
    }
    if (busy >= 0)
        close(busy);
    if (r == 0 && rt_log_open(&rt->log, logpath, &err) < 0)
        r = -1;
    if (r == 0 && cz_loop_add_fd(rt->loop, rt->sigfd, CZ_LOOP_IN, on_signal, rt, &err) < 0)
        r = -1;
    if (r == 0)
        r = start_vm(rt, &err);
    if (r == 0)
        r = vm_events_watch(rt, &err);
    if (r == 0) {
        cz_debug("agent answered");
        cz_rpc_client_on_disconnect(rt->agent, agent_lost, rt);
        r = setup_guest(rt, &err);
        if (r < 0)
            cz_error_wrap(&err, "prepare the container in its VM");
    }
    if (r == 0) {
        cz_debug("guest prepared");
        r = create_process(rt, &err);
    }
    if (r == 0 && !rt->wait_attach) {
        rt->started = true;
        Cz__Agent__V1__StartProcessRequest s = CZ__AGENT__V1__START_PROCESS_REQUEST__INIT;
        s.id = rt->c.id;
        ProtobufCMessage *rep = NULL;
        if (cz_rpc_client_unary(rt->agent, AGENT, "StartProcess", &s.base, &rep,
                                timeout_env("CZ_AGENT_TIMEOUT", 30) * 1000, &err) < 0) {
            fail_code = cz_container_start_failure_status(cz_rpc_status_from_errno(err.code));
            cz_rpc_error_strip(&err);
            r = -1;
        } else {
            protobuf_c_message_free_unpacked(rep, NULL);
            cz_debug("process started");
            rt->st.started_at = wall_ns();
            Cz__Agent__V1__WaitRequest w = CZ__AGENT__V1__WAIT_REQUEST__INIT;
            w.id = rt->c.id;
            agent_async(rt, "Wait", &w.base, 0, on_wait, NULL);
        }
    }
    if (r == 0)
        r = serve(rt, &err);

served:
    if (r < 0) {
        fprintf(stderr, "container-runtime: %s\n", err.msg);
        char line[sizeof(err.msg) + 16];
        snprintf(line, sizeof(line), "fail %d %s\n", fail_code, err.msg);
        /* record the failure before the CLI hears of it */
        rt->exited = true;
        rt->exit_status = fail_code == 125 ? -1 : fail_code;
        rt->finished_at = wall_ns();
        rt->failure = cz_xstrdup(err.msg);
        if (rt->loop && !rt->maintenance && !refused)
            finish(rt);
        ready(rt, line);
    } else {
        if (!rt->maintenance)
            state_save(rt);
        ready(rt, "ok\n");
        if (!rt->quit && cz_loop_run(rt->loop, &err) < 0)
            fprintf(stderr, "container-runtime: %s\n", err.msg);
    }
    if (rt->vm && !rt->vm_gone) {
        cz_vm_kill(rt->vm);
        waitpid(rt->vm_pid, NULL, 0);
    }
    if (rt->server)
        cz_rpc_server_free(rt->server);
    if (rt->agent)
        cz_rpc_client_free(rt->agent);
    if (rt->vm)
        cz_vm_free(rt->vm);
    if (rt->maintenance || rt->runtime_lock >= 0) /* not the previous runtime's */
        cz_rm_rf(rt->run_dir, NULL);
    if (rt->loop)
        cz_loop_free(rt->loop);
    cz_container_config_free(&rt->c);
    cz_container_state_free(&rt->st);
    free(rt->failure);
    free(rt->passwd);
    free(rt->group);
    if (rt->busy_fd >= 0)
        close(rt->busy_fd);
    free(rt->dir);
    free(rt->run_dir);
    free(rt->template_dir);
    free(rt->console);
    free(rt->paused);
    for (size_t i = 0; i < rt->n_disk_path; i++)
        free(rt->disk_path[i]);
    return r < 0 ? 1 : 0;
}
