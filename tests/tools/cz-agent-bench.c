/* Benchmark tool: boot a VM with our kernel and initfs through lib/vm and measure, from the
 * moment QEMU is started, when vminitd answers its first call; then the unary round trip over
 * the agent channel and vminitd's memory; optionally the stdout throughput of a process in the
 * VM through the Stdio stream; then Shutdown. Two other modes measure the references:
 *   cz-agent-bench --kernel K --initrd I [--calls N] [--stdio-root EXT4 --bytes B] RUN_DIR
 *       agent mode; with --stdio-root, EXT4 (holding /bin/busybox) becomes the process's
 *       root and `busybox dd if=/dev/zero bs=64k` writes B bytes to stdout. Every mode
 *       attaches that disk (read-only), so the VMs compared have the same devices.
 *       --connect-after TEXT: connect only once TEXT is on the console (a host that comes
 *       after vminitd serves, like a restarted runtime), instead of right after QEMU starts
 *   cz-agent-bench --kernel K --floor FLOOR_CPIO RUN_DIR
 *       QEMU start to QEMU exit for an init that stops the VM at once
 *   cz-agent-bench --kernel K (--initrd I | --floor F) --marker TEXT RUN_DIR
 *       QEMU start to TEXT on the serial console (polled every millisecond) and the CPU
 *       time QEMU used until then, then stop
 *   cz-agent-bench --kernel K --raw RAW_CPIO --bytes B RUN_DIR
 *       an init that writes B bytes straight into the agent port and then waits: the raw
 *       channel
 * --output-ports gives the VM the ports cz.out and cz.err (as the runtime's VMs have); --direct
 * also has the Stdio process write into them (StdioOptions.direct_output) and reads them here.
 * For experiments: --cpus N gives the VM N vCPUs (default 1); --cmdline X appends X to lib/vm's
 * kernel command line; --qemu PATH runs PATH (e.g. a wrapper that changes QEMU options) instead of
 * qemu-system-x86_64. Throughputs are counted on the host from the first byte to the last. Prints
 * "key value". */
#include <cz/rpc.h>
#include <cz/vm.h>

#include "agent.pb-c.h"
#include "base/fs.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define AGENT (&cz__agent__v1__agent__descriptor)

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static double mib_per_s(uint64_t bytes, uint64_t ns)
{
    return ns ? (double)bytes / (1024.0 * 1024.0) / secs(ns) : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Reap pid within timeout_ms; its CPU time (all threads) goes to *cpu_s when asked. */
static int wait_exit(pid_t pid, int timeout_ms, int *status, double *cpu_s)
{
    for (int i = 0; i < timeout_ms; i++) {
        struct rusage ru;
        if (wait4(pid, status, WNOHANG, &ru) == pid) {
            if (cpu_s)
                *cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
            return 0;
        }
        sleep_ms(1);
    }
    return -1;
}

/* CPU time QEMU has used so far (all its threads): under load, wall-clock times mostly
 * measure the other jobs; this measures the work a boot costs. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Wait for marker in the console log; the VM is stopped afterwards by the caller. */
static int measure_marker(pid_t pid, const char *console, const char *marker, uint64_t t0)
{
    for (int i = 0; i < 60000; i++) {
        char *data = NULL;
        size_t len = 0;
        bool seen = false;
        if (cz_read_file(console, 1 << 22, &data, &len, NULL) == 0)
            seen = memmem(data, len, marker, strlen(marker)) != NULL;
        free(data);
        if (seen) {
            printf("marker_s %.4f\n", secs(cz_now_ns() - t0));
            printf("marker_cpu_s %.2f\n", cpu_seconds(pid));
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "error: QEMU ended before '%s' appeared (see %s)\n", marker, console);
            return -1;
        }
        sleep_ms(1);
    }
    fprintf(stderr, "error: no '%s' on the console within 60 s\n", marker);
    return -1;
}

/* The raw reference: read the agent socket until the guest's init has written `bytes`. */
static int measure_raw(cz_vm *vm, uint64_t bytes)
{
    cz_error err = {0};
    int fd = -1;
    for (int i = 0; i < 5000 && fd < 0; i++)
        if ((fd = cz_unix_connect(cz_vm_agent_socket(vm), 0, &err)) < 0)
            sleep_ms(2);
    if (fd < 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return -1;
    }
    static char buf[1 << 20];
    uint64_t got = 0, first = 0, last = 0;
    while (got < bytes) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 60000) <= 0) {
            fprintf(stderr, "error: no data from the raw writer for 60 s\n");
            break;
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "error: read the agent socket: %s\n", n ? strerror(errno) : "EOF");
            break;
        }
        last = cz_now_ns();
        if (!first)
            first = last;
        got += (uint64_t)n;
    }
    close(fd);
    if (got < bytes) {
        fprintf(stderr, "error: the raw writer sent %llu of %llu bytes\n", (unsigned long long)got,
                (unsigned long long)bytes);
        return -1;
    }
    printf("raw_bytes %llu\nraw_mib_s %.1f\n", (unsigned long long)got,
           mib_per_s(got, last - first));
    return 0;
}

/* ---- stdout of a process in the VM through the Stdio stream ---- */

struct stdio_state {
    cz_loop *loop;
    uint64_t bytes, first, last;
    int eofs, status;
    bool closed;
    /* --direct: stdout/stderr come from the ports cz.out/cz.err ([0], [1]) */
    int port[2];
    uint64_t got[2], end[2];
    bool end_known[2];
};

static bool stdio_done(const struct stdio_state *s)
{
    for (int i = 0; i < 2; i++)
        if (s->port[i] >= 0 && !(s->end_known[i] && s->got[i] >= s->end[i]))
            return false;
    return s->closed;
}

static void on_port(cz_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct stdio_state *s = data;
    static char buf[256 << 10];
    int i = fd == s->port[1];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        fprintf(stderr, "error: port %d: %s\n", i, n ? strerror(errno) : "closed");
        cz_loop_del_fd(loop, fd);
        s->end_known[i] = true;
        s->end[i] = s->got[i];
    } else {
        s->last = cz_now_ns();
        if (!s->first)
            s->first = s->last;
        s->got[i] += (uint64_t)n;
        if (i == 0)
            s->bytes += (uint64_t)n;
    }
    if (stdio_done(s))
        cz_loop_stop(loop);
}



static int stdio_on_message(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    struct stdio_state *s = cz_rpc_call_handler_data(call);
    const Cz__Agent__V1__StdioResponse *r = (const Cz__Agent__V1__StdioResponse *)msg;
    if (r->data.len) {
        s->last = cz_now_ns();
        if (!s->first)
            s->first = s->last;
        if (r->stream == CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDOUT)
            s->bytes += r->data.len;
    }
    if (r->eof) {
        s->eofs++;
        int i = r->stream == CZ__AGENT__V1__STDIO_RESPONSE__STREAM__STDERR;
        if (s->port[i] >= 0) {
            s->end_known[i] = true;
            s->end[i] = r->direct_bytes;
            if (stdio_done(s))
                cz_loop_stop(s->loop);
        }
    }
    (void)err;
    return 0;
}

static void stdio_on_close(cz_rpc_call *call, int status, const char *message)
{
    struct stdio_state *s = cz_rpc_call_handler_data(call);
    s->closed = true;
    s->status = status;
    if (status != CZ_RPC_OK) {
        fprintf(stderr, "error: Stdio: %s: %s\n", cz_rpc_status_name(status),
                message ? message : "");
        cz_loop_stop(s->loop);
    } else if (stdio_done(s)) {
        cz_loop_stop(s->loop);
    }
}

static const cz_rpc_handler stdio_handler = {.on_message = stdio_on_message,
                                             .on_close = stdio_on_close};

#define TRY_UNARY_N(n, method, req)                                                                \
    for (int i_ = 0; i_ < (n); i_++) {                                                             \
        ProtobufCMessage *reply_;                                                                  \
        if (cz_rpc_client_unary(cl, AGENT, method, &(req).base, &reply_, 60000, &err) < 0) {       \
            fprintf(stderr, "error: %s: %s\n", method, err.msg);                                   \
            return -1;                                                                             \
        }                                                                                          \
        protobuf_c_message_free_unpacked(reply_, NULL);                                            \
    }
#define TRY_UNARY(method, req) TRY_UNARY_N(1, method, req)

/* vminitd's CPU time (user, system) in the guest, from /proc/1/stat. */
static int guest_init_cpu(cz_rpc_client *cl, double *user, double *sys)
{
    cz_error err = {0};
    Cz__Agent__V1__ReadFileRequest rf = CZ__AGENT__V1__READ_FILE_REQUEST__INIT;
    rf.path = (char *)"/proc/1/stat";
    ProtobufCMessage *reply;
    if (cz_rpc_client_unary(cl, AGENT, "ReadFile", &rf.base, &reply, 10000, &err) < 0)
        return -1;
    Cz__Agent__V1__ReadFileResponse *r = (Cz__Agent__V1__ReadFileResponse *)reply;
    cz_autofree char *text = cz_xstrndup((const char *)r->data.data, r->data.len);
    protobuf_c_message_free_unpacked(reply, NULL);
    const char *p = strrchr(text, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    *user = (double)ut / 100.0; /* USER_HZ is 100 in every Linux ABI */
    *sys = (double)st / 100.0;
    return 0;
}

/* Wait for process `id` in the VM to end, then delete it. */
static int wait_and_delete(cz_rpc_client *cl, const char *id)
{
    cz_error err = {0};
    Cz__Agent__V1__WaitRequest w = CZ__AGENT__V1__WAIT_REQUEST__INIT;
    w.id = (char *)id;
    TRY_UNARY("Wait", w);
    Cz__Agent__V1__DeleteRequest d = CZ__AGENT__V1__DELETE_REQUEST__INIT;
    d.id = (char *)id;
    TRY_UNARY("Delete", d);
    return 0;
}

/* This process's CPU time (the host end of the Stdio stream; QEMU is a child). */
static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int measure_stdio(cz_loop *loop, cz_vm *vm, cz_rpc_client *cl, uint64_t bytes,
                         bool direct)
{
    cz_error err = {0};
    Cz__Agent__V1__MountRequest mnt = CZ__AGENT__V1__MOUNT_REQUEST__INIT;
    char *ro[] = {(char *)"ro"};
    mnt.source = (char *)"/dev/vda";
    mnt.target = (char *)"/mnt/bench";
    mnt.fstype = (char *)"ext4";
    mnt.options = ro;
    mnt.n_options = 1;
    mnt.create_target = true;
    TRY_UNARY("Mount", mnt);

    uint64_t blocks = (bytes + 65535) / 65536;
    cz_autofree char *spec = cz_xasprintf(
        "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/mnt/bench\",\"readonly\":true},"
        "\"process\":{\"args\":[\"/bin/busybox\",\"dd\",\"if=/dev/zero\",\"bs=65536\","
        "\"count=%llu\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}},"
        "\"mounts\":[{\"destination\":\"/dev\",\"type\":\"devtmpfs\",\"source\":\"dev\"}],"
        "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}",
        (unsigned long long)blocks);
    Cz__Agent__V1__StdioOptions so = CZ__AGENT__V1__STDIO_OPTIONS__INIT;
    so.stdout = true;
    so.stderr = true;
    struct stdio_state s = {.loop = loop, .port = {-1, -1}};
    if (direct) {
        so.direct_output = true;
        for (int i = 0; i < 2; i++)
            if ((s.port[i] = cz_unix_connect(cz_vm_output_socket(vm, i), SOCK_NONBLOCK, &err)) < 0 ||
                cz_loop_add_fd(loop, s.port[i], CZ_LOOP_IN, on_port, &s, &err) < 0) {
                fprintf(stderr, "error: port %d: %s\n", i, err.msg);
                return -1;
            }
    }
    Cz__Agent__V1__CreateProcessRequest cp = CZ__AGENT__V1__CREATE_PROCESS_REQUEST__INIT;
    cp.id = (char *)"bench";
    cp.oci_spec_json = spec;
    cp.stdio = &so;
    TRY_UNARY("CreateProcess", cp);

    double u0 = 0, s0 = 0, u1 = 0, s1 = 0;
    guest_init_cpu(cl, &u0, &s0);
    double host0 = self_cpu_s();
    cz_rpc_call *call = cz_rpc_client_start(cl, AGENT, "Stdio", 120000, &stdio_handler, &s, &err);
    if (!call) {
        fprintf(stderr, "error: Stdio: %s\n", err.msg);
        return -1;
    }
    Cz__Agent__V1__StdioRequest first = CZ__AGENT__V1__STDIO_REQUEST__INIT;
    first.id = (char *)"bench";
    if (cz_rpc_call_send(call, &first.base, &err) < 0 || cz_rpc_call_close_send(call, &err) < 0) {
        fprintf(stderr, "error: Stdio: %s\n", err.msg);
        return -1;
    }
    Cz__Agent__V1__StartProcessRequest sp = CZ__AGENT__V1__START_PROCESS_REQUEST__INIT;
    sp.id = (char *)"bench";
    TRY_UNARY("StartProcess", sp);
    while (!(s.status != CZ_RPC_OK && s.closed) && !stdio_done(&s))
        if (cz_loop_run(loop, &err) < 0) {
            fprintf(stderr, "error: loop: %s\n", err.msg);
            return -1;
        }
    double host1 = self_cpu_s();
    for (int i = 0; i < 2; i++)
        if (s.port[i] >= 0) {
            cz_loop_del_fd(loop, s.port[i]);
            close(s.port[i]);
        }
    if (wait_and_delete(cl, "bench") < 0)
        return -1;
    if (s.status != CZ_RPC_OK || s.bytes != blocks * 65536) {
        fprintf(stderr, "error: Stdio delivered %llu of %llu bytes\n", (unsigned long long)s.bytes,
                (unsigned long long)(blocks * 65536));
        return -1;
    }
    printf("stdio_bytes %llu\nstdio_mib_s %.1f\n", (unsigned long long)s.bytes,
           mib_per_s(s.bytes, s.last - s.first));
    printf("stdio_client_cpu_s %.3f\n", host1 - host0);
    if (guest_init_cpu(cl, &u1, &s1) == 0)
        printf("stdio_s %.2f\nvminitd_user_s %.2f\nvminitd_sys_s %.2f\n", secs(s.last - s.first),
               u1 - u0, s1 - s0);
    return 0;
}

/* The unary round trip while a process in the VM keeps the vCPU busy (a shell loop on
 * the ext4 root measure_stdio mounted): what vminitd's scheduling costs a busy VM. */
static int measure_busy_unary(cz_rpc_client *cl, int calls)
{
    cz_error err = {0};
    const char *spec =
        "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/mnt/bench\",\"readonly\":true},"
        "\"process\":{\"args\":[\"/bin/busybox\",\"sh\",\"-c\",\"while :; do :; done\"],"
        "\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}},"
        "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}";
    Cz__Agent__V1__CreateProcessRequest cp = CZ__AGENT__V1__CREATE_PROCESS_REQUEST__INIT;
    cp.id = (char *)"spin";
    cp.oci_spec_json = (char *)spec;
    TRY_UNARY("CreateProcess", cp);
    Cz__Agent__V1__StartProcessRequest sp = CZ__AGENT__V1__START_PROCESS_REQUEST__INIT;
    sp.id = (char *)"spin";
    TRY_UNARY("StartProcess", sp);
    sleep_ms(200);
    Cz__Agent__V1__StatRequest st = CZ__AGENT__V1__STAT_REQUEST__INIT;
    st.path = (char *)"/init";
    uint64_t t0 = cz_now_ns();
    TRY_UNARY_N(calls, "Stat", st);
    printf("unary_busy_us %.1f\n", (double)(cz_now_ns() - t0) / 1e3 / calls);
    Cz__Agent__V1__SignalRequest sg = CZ__AGENT__V1__SIGNAL_REQUEST__INIT;
    sg.id = (char *)"spin";
    sg.signal = SIGKILL;
    TRY_UNARY("Signal", sg);
    return wait_and_delete(cl, "spin");
}

/* ---- the agent: first call, round trips, memory ---- */

static int measure_agent(cz_vm *vm, uint64_t t0, int calls, uint64_t stdio_bytes,
                         const char *console, const char *connect_after, bool direct)
{
    cz_error err = {0};
    cz_loop *loop = cz_loop_new(&err);
    if (!loop) {
        fprintf(stderr, "error: %s\n", err.msg);
        return -1;
    }
    cz_rpc_client *cl = NULL;
    Cz__Agent__V1__StatRequest st = CZ__AGENT__V1__STAT_REQUEST__INIT;
    st.path = (char *)"/init";
    ProtobufCMessage *reply = NULL;
    int rc = -1;
    /* The first call: connect (QEMU's socket exists from the start) and ask; the guest
     * answers once vminitd is up. */
    uint64_t first = 0;
    if (connect_after && measure_marker(cz_vm_pid(vm), console, connect_after, t0) < 0)
        goto out;
    /* QEMU creates the socket within milliseconds; under heavy load give it 10 s. A call
     * that fails is retried on a new connection (a failure is worth reporting: the test of
     * early and late hosts counts them). */
    for (int attempt = 0, connects = 0; attempt < 5 && connects < 5000 && !first;) {
        if (!cl) {
            cl = cz_rpc_client_connect_unix(loop, cz_vm_agent_socket(vm), NULL, &err);
            if (!cl) {
                connects++;
                sleep_ms(2);
                continue;
            }
        }
        attempt++;
        if (cz_rpc_client_unary(cl, AGENT, "Stat", &st.base, &reply, 60000, &err) == 0) {
            first = cz_now_ns();
            protobuf_c_message_free_unpacked(reply, NULL);
        } else {
            fprintf(stderr, "attempt %d failed at %.3f s: %s\n", attempt, secs(cz_now_ns() - t0),
                    err.msg);
            cz_rpc_client_free(cl);
            cl = NULL;
        }
    }
    if (!first) {
        fprintf(stderr, "error: the agent never answered: %s\n", err.msg);
        goto out;
    }
    printf("first_call_s %.4f\nfirst_call_cpu_s %.2f\n", secs(first - t0),
           cpu_seconds(cz_vm_pid(vm)));
    uint64_t t1 = cz_now_ns();
    for (int i = 0; i < calls; i++) {
        if (cz_rpc_client_unary(cl, AGENT, "Stat", &st.base, &reply, 10000, &err) < 0) {
            fprintf(stderr, "error: call %d: %s\n", i, err.msg);
            goto out;
        }
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    printf("unary_us %.1f\n", (double)(cz_now_ns() - t1) / 1e3 / calls);
    if (stdio_bytes &&
        (measure_stdio(loop, vm, cl, stdio_bytes, direct) < 0 || measure_busy_unary(cl, calls) < 0))
        goto out;
    /* vminitd's memory. smaps_rollup walks its page tables: exact, where the status
     * counters lag by up to 64 pages. Its text pages live in the initramfs (rootfs page
     * cache): Rss counts what it touched of them plus heap and stacks; Anonymous is the
     * private part. VmHWM (status) is the peak, with the same lag. */
    static const struct {
        const char *file, *key, *name;
    } mem[] = {{"/proc/1/smaps_rollup", "Rss:", "vminitd_rss_kb"},
               {"/proc/1/smaps_rollup", "Anonymous:", "vminitd_anon_kb"},
               {"/proc/1/status", "VmHWM:", "vminitd_hwm_kb"},
               {"/proc/1/status", "VmSize:", "vminitd_vmsize_kb"}};
    for (size_t k = 0; k < sizeof(mem) / sizeof(mem[0]); k++) {
        Cz__Agent__V1__ReadFileRequest rf = CZ__AGENT__V1__READ_FILE_REQUEST__INIT;
        rf.path = (char *)mem[k].file;
        if (cz_rpc_client_unary(cl, AGENT, "ReadFile", &rf.base, &reply, 10000, &err) < 0) {
            fprintf(stderr, "error: read %s: %s\n", mem[k].file, err.msg);
            continue;
        }
        Cz__Agent__V1__ReadFileResponse *r = (Cz__Agent__V1__ReadFileResponse *)reply;
        cz_autofree char *text = cz_xstrndup((const char *)r->data.data, r->data.len);
        const char *v = strstr(text, mem[k].key);
        if (v)
            printf("%s %ld\n", mem[k].name, strtol(v + strlen(mem[k].key), NULL, 10));
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    Cz__Agent__V1__ShutdownRequest sd = CZ__AGENT__V1__SHUTDOWN_REQUEST__INIT;
    if (cz_rpc_client_unary(cl, AGENT, "Shutdown", &sd.base, &reply, 10000, &err) == 0)
        protobuf_c_message_free_unpacked(reply, NULL);
    rc = 0;
out:
    if (cl)
        cz_rpc_client_free(cl);
    cz_loop_free(loop);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
                                         {"initrd", required_argument, NULL, 'i'},
                                         {"floor", required_argument, NULL, 'f'},
                                         {"raw", required_argument, NULL, 'r'},
                                         {"calls", required_argument, NULL, 'n'},
                                         {"stdio-root", required_argument, NULL, 's'},
                                         {"bytes", required_argument, NULL, 'b'},
                                         {"marker", required_argument, NULL, 'm'},
                                         {"cmdline", required_argument, NULL, 'c'},
                                         {"qemu", required_argument, NULL, 'q'},
                                         {"connect-after", required_argument, NULL, 'a'},
                                         {"cpus", required_argument, NULL, 'p'},
                                         {"direct", no_argument, NULL, 'd'},
                                         {"output-ports", no_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *kernel = NULL, *initrd = NULL, *floor_cpio = NULL, *raw_cpio = NULL;
    const char *stdio_root = NULL, *marker = NULL, *cmdline = NULL, *qemu = NULL;
    const char *connect_after = NULL;
    uint64_t bytes = 64ull << 20;
    int calls = 200, cpus = 1, o;
    bool direct = false, output_ports = false;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'k':
            kernel = optarg;
            break;
        case 'i':
            initrd = optarg;
            break;
        case 'f':
            floor_cpio = optarg;
            break;
        case 'r':
            raw_cpio = optarg;
            break;
        case 'n':
            calls = atoi(optarg);
            break;
        case 's':
            stdio_root = optarg;
            break;
        case 'b':
            bytes = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            marker = optarg;
            break;
        case 'c':
            cmdline = optarg;
            break;
        case 'q':
            qemu = optarg;
            break;
        case 'a':
            connect_after = optarg;
            break;
        case 'p':
            cpus = atoi(optarg);
            break;
        case 'd':
            direct = output_ports = true;
            break;
        case 'o':
            output_ports = true;
            break;
        default:
            return 2;
        }
    }
    int modes = !!initrd + !!floor_cpio + !!raw_cpio;
    if (!kernel || modes != 1 || optind != argc - 1 || calls < 1 || !bytes ||
        (marker && raw_cpio)) {
        fprintf(stderr, "usage: cz-agent-bench --kernel K [--stdio-root EXT4] (--initrd I | "
                        "--floor F | --raw R) [--bytes B] [--calls N] RUN_DIR\n");
        return 2;
    }
    struct cz_vm_disk disk = {.path = stdio_root, .readonly = true};
    struct cz_vm_config c = {.name = "bench",
                             .kernel = kernel,
                             .initrd = initrd       ? initrd
                                       : floor_cpio ? floor_cpio
                                                    : raw_cpio,
                             .cmdline = cmdline,
                             .qemu = qemu,
                             .cpus = (unsigned)cpus,
                             .memory_mib = 256,
                             .accel = CZ_ACCEL_TCG,
                             .disks = &disk,
                             .n_disks = stdio_root ? 1 : 0,
                             .run_dir = argv[optind],
                             .output_ports = output_ports};
    cz_autofree char *console = cz_xasprintf("%s/console.log", c.run_dir);
    unlink(console);
    c.console_log = console;
    signal(SIGPIPE, SIG_IGN); /* QMP or agent sockets of a QEMU that just ended */
    cz_error err = {0};
    cz_vm *vm;
    uint64_t t0 = cz_now_ns();
    if (cz_vm_start(&c, &vm, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    pid_t pid = cz_vm_pid(vm);
    int status = 0, rc = 0;
    bool reaped = false;
    if (marker) {
        rc = measure_marker(pid, console, marker, t0) < 0;
    } else if (floor_cpio) {
        double cpu = 0;
        reaped = wait_exit(pid, 60000, &status, &cpu) == 0;
        if (reaped)
            printf("floor_exit_s %.4f\nfloor_cpu_s %.3f\n", secs(cz_now_ns() - t0), cpu);
        else
            fprintf(stderr, "error: the floor VM did not exit\n");
        rc = !reaped;
    } else if (raw_cpio) {
        /* The writer does not stop the VM: a reset could drop bytes still in QEMU's
         * buffers. We stop it once everything arrived. */
        rc = measure_raw(vm, bytes) < 0;
    } else {
        rc = measure_agent(vm, t0, calls, stdio_root ? bytes : 0, console, connect_after,
                           direct) < 0;
        /* Shutdown stops the VM. */
        reaped = wait_exit(pid, 20000, &status, NULL) == 0;
        if (!reaped && !rc) {
            fprintf(stderr, "error: the VM did not stop by itself\n");
            rc = 1;
        }
    }
    if (!reaped) {
        cz_vm_kill(vm);
        waitpid(pid, &status, 0);
    }
    cz_vm_exited(vm, status);
    cz_vm_free(vm);
    return rc;
}
