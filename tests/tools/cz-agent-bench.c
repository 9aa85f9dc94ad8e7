/* Benchmark tool: boot a VM with our kernel and initfs through lib/vm and
 * measure, from the moment QEMU is started, when vminitd answers its first
 * call; then the unary round trip over the agent channel and vminitd's RSS;
 * then Shutdown. With --floor INITRD it instead measures QEMU start to QEMU
 * exit for an init that powers off at once.
 *   cz-agent-bench --kernel K --initrd I [--calls N] RUN_DIR
 *   cz-agent-bench --kernel K --floor FLOOR_CPIO RUN_DIR
 * Prints "key value" lines. */
#include <cz/rpc.h>
#include <cz/vm.h>

#include "agent.pb-c.h"
#include "base/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define AGENT (&cz__agent__v1__agent__descriptor)

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    for (int i = 0; i < timeout_ms; i++) {
        if (waitpid(pid, status, WNOHANG) == pid)
            return 0;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
                                         {"initrd", required_argument, NULL, 'i'},
                                         {"floor", required_argument, NULL, 'f'},
                                         {"calls", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *kernel = NULL, *initrd = NULL, *floor_cpio = NULL;
    int calls = 200, o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'k')
            kernel = optarg;
        else if (o == 'i')
            initrd = optarg;
        else if (o == 'f')
            floor_cpio = optarg;
        else if (o == 'n')
            calls = atoi(optarg);
        else
            return 2;
    }
    if (!kernel || (!initrd && !floor_cpio) || optind != argc - 1) {
        fprintf(stderr, "usage: cz-agent-bench --kernel K (--initrd I | --floor F) RUN_DIR\n");
        return 2;
    }
    struct cz_vm_config c = {.name = "bench", .kernel = kernel,
                             .initrd = floor_cpio ? floor_cpio : initrd, .cpus = 1,
                             .memory_mib = 256, .accel = CZ_ACCEL_TCG, .run_dir = argv[optind]};
    cz_error err = {0};
    cz_vm *vm;
    uint64_t t0 = cz_now_ns();
    if (cz_vm_start(&c, &vm, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    pid_t pid = cz_vm_pid(vm);
    int status = 0, rc = 0;
    if (floor_cpio) {
        if (wait_exit(pid, 30000, &status) < 0) {
            fprintf(stderr, "error: the floor VM did not exit\n");
            cz_vm_kill(vm);
            waitpid(pid, &status, 0);
            rc = 1;
        } else {
            printf("floor_exit_s %.4f\n", secs(cz_now_ns() - t0));
        }
        cz_vm_exited(vm, status);
        cz_vm_free(vm);
        return rc;
    }
    cz_loop *loop = cz_loop_new(&err);
    cz_rpc_client *cl = NULL;
    Cz__Agent__V1__StatRequest st = CZ__AGENT__V1__STAT_REQUEST__INIT;
    st.path = (char *)"/init";
    ProtobufCMessage *reply = NULL;
    /* The first call: connect (QEMU's socket exists from the start) and ask;
     * the guest answers once vminitd is up. */
    uint64_t first = 0;
    for (int attempt = 0; attempt < 3000 && !first; attempt++) {
        if (!cl)
            cl = cz_rpc_client_connect_unix(loop, cz_vm_agent_socket(vm), NULL, &err);
        if (cl && cz_rpc_client_unary(cl, AGENT, "Stat", &st.base, &reply, 10000, &err) == 0) {
            first = cz_now_ns();
            protobuf_c_message_free_unpacked(reply, NULL);
        } else {
            if (cl)
                cz_rpc_client_free(cl);
            cl = NULL;
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (!first) {
        fprintf(stderr, "error: the agent never answered: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    printf("first_call_s %.4f\n", secs(first - t0));
    uint64_t t1 = cz_now_ns();
    for (int i = 0; i < calls; i++) {
        if (cz_rpc_client_unary(cl, AGENT, "Stat", &st.base, &reply, 10000, &err) < 0) {
            fprintf(stderr, "error: call %d: %s\n", i, err.msg);
            rc = 1;
            goto out;
        }
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    printf("unary_us %.1f\n", (double)(cz_now_ns() - t1) / 1e3 / calls);
    Cz__Agent__V1__ReadFileRequest rf = CZ__AGENT__V1__READ_FILE_REQUEST__INIT;
    rf.path = (char *)"/proc/1/status";
    if (cz_rpc_client_unary(cl, AGENT, "ReadFile", &rf.base, &reply, 10000, &err) == 0) {
        Cz__Agent__V1__ReadFileResponse *r = (Cz__Agent__V1__ReadFileResponse *)reply;
        cz_autofree char *text = cz_xstrndup((const char *)r->data.data, r->data.len);
        /* Its pages in the initramfs count as neither file nor anon RSS, so
         * VmSize (everything mapped) is the honest upper bound. */
        const char *keys[] = {"VmRSS:", "VmSize:", "RssAnon:"};
        const char *names[] = {"vminitd_rss_kb", "vminitd_vmsize_kb", "vminitd_anon_kb"};
        for (int k = 0; k < 3; k++) {
            const char *v = strstr(text, keys[k]);
            if (v)
                printf("%s %ld\n", names[k], strtol(v + strlen(keys[k]), NULL, 10));
        }
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    Cz__Agent__V1__ShutdownRequest sd = CZ__AGENT__V1__SHUTDOWN_REQUEST__INIT;
    if (cz_rpc_client_unary(cl, AGENT, "Shutdown", &sd.base, &reply, 10000, &err) == 0)
        protobuf_c_message_free_unpacked(reply, NULL);
out:
    if (cl)
        cz_rpc_client_free(cl);
    cz_loop_free(loop);
    if (wait_exit(pid, 10000, &status) < 0) {
        cz_vm_kill(vm);
        waitpid(pid, &status, 0);
    }
    cz_vm_exited(vm, status);
    cz_vm_free(vm);
    return rc;
}
