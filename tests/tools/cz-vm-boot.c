/* Test tool: boot a VM through lib/vm, wait for a marker on its console, show
 * the QMP status, then stop it and report how QEMU ended.
 *   cz-vm-boot --kernel K [--initrd I] [--disk PATH[:ro]]... [--share TAG:PATH[:ro]]...
 *              [--marker TEXT] [--timeout SECONDS] [--accel tcg|kvm|auto] [--cmdline X]
 *              [--wait-exit] [--output-ports] RUN_DIR
 * --output-ports: the ports cz.out and cz.err too (RUN_DIR/out.sock, err.sock). */
#include <cz/vm.h>

#include "base/fs.h"
#include "base/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
                                         {"initrd", required_argument, NULL, 'i'},
                                         {"disk", required_argument, NULL, 'd'},
                                         {"share", required_argument, NULL, 's'},
                                         {"marker", required_argument, NULL, 'm'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"accel", required_argument, NULL, 'a'},
                                         {"cmdline", required_argument, NULL, 'c'},
                                         {"wait-exit", no_argument, NULL, 'w'},
                                         {"memory", required_argument, NULL, 'M'},
                                         {"output-ports", no_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    struct cz_vm_disk disks[CZ_VM_MAX_DISKS];
    struct cz_vm_share shares[CZ_VM_MAX_SHARES];
    struct cz_vm_config c = {.name = "test",
                             .cpus = 1,
                             .memory_mib = 256,
                             .accel = CZ_ACCEL_TCG,
                             .disks = disks,
                             .shares = shares};
    const char *marker = NULL;
    int timeout = 30;
    bool wait_exit = false;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'k':
            c.kernel = optarg;
            break;
        case 'i':
            c.initrd = optarg;
            break;
        case 'd': {
            if (c.n_disks == CZ_VM_MAX_DISKS)
                return 2;
            char *ro = strstr(optarg, ":ro");
            if (ro)
                *ro = '\0';
            disks[c.n_disks++] = (struct cz_vm_disk){.path = optarg, .readonly = ro != NULL};
            break;
        }
        case 's': {
            char *colon = strchr(optarg, ':');
            if (!colon || c.n_shares == CZ_VM_MAX_SHARES)
                return 2;
            *colon = '\0';
            char *ro = strstr(colon + 1, ":ro");
            if (ro)
                *ro = '\0';
            shares[c.n_shares++] =
                (struct cz_vm_share){.tag = optarg, .path = colon + 1, .readonly = ro != NULL};
            break;
        }
        case 'm':
            marker = optarg;
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        case 'a':
            c.accel = !strcmp(optarg, "kvm")    ? CZ_ACCEL_KVM
                      : !strcmp(optarg, "auto") ? CZ_ACCEL_AUTO
                                                : CZ_ACCEL_TCG;
            break;
        case 'c':
            c.cmdline = optarg;
            break;
        case 'w':
            wait_exit = true;
            break;
        case 'M':
            c.memory_mib = strtoull(optarg, NULL, 10);
            break;
        case 'o':
            c.output_ports = true;
            break;
        default:
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: cz-vm-boot [options] RUN_DIR\n");
        return 2;
    }
    c.run_dir = argv[optind];
    cz_autofree char *console = cz_xasprintf("%s/console.log", c.run_dir);
    c.console_log = console;
    cz_error err = {0};
    cz_vm *vm;
    uint64_t t0 = cz_now_ns();
    if (cz_vm_start(&c, &vm, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    pid_t pid = cz_vm_pid(vm);
    int rc = 0, status = 0;
    bool reaped = false;
    if (marker) {
        bool seen = false;
        for (int i = 0; i < timeout * 100 && !seen; i++) {
            char *data = NULL;
            size_t len = 0;
            if (cz_read_file(console, 1 << 22, &data, &len, NULL) == 0)
                seen = memmem(data, len, marker, strlen(marker)) != NULL;
            free(data);
            if (!seen) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                    reaped = true;
                    break;
                }
                sleep_ms(10);
            }
        }
        printf("marker: %s after %.3f s\n", seen ? "seen" : "missing",
               (double)(cz_now_ns() - t0) / 1e9);
        rc = seen ? 0 : 1;
    }
    if (!reaped && !wait_exit) {
        char *st = NULL;
        if (cz_vm_status(vm, &st, &err) == 0) {
            printf("status: %s\n", st);
            free(st);
        }
    }
    if (wait_exit && !reaped) {
        for (int i = 0; i < timeout * 100; i++) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                reaped = true;
                break;
            }
            sleep_ms(10);
        }
        if (!reaped)
            rc = 1;
    }
    if (!reaped) {
        cz_vm_kill(vm);
        waitpid(pid, &status, 0);
    }
    cz_vm_exited(vm, status);
    printf("qemu: %s %d after %.3f s\n", WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
           (double)(cz_now_ns() - t0) / 1e9);
    printf("accel: %s\n", cz_accel_name(cz_vm_accel(vm)));
    cz_vm_free(vm);
    return rc;
}
