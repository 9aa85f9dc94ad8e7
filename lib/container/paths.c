/* Where a container's runtime keeps its sockets, and which guest kernel and
 * initfs a container boots. */
#include <cz/container.h>
#include <cz/rpc.h>

#include "base/fs.h"
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *cz_container_run_dir(const char *id)
{
    const char *base = getenv("CONTAINER_RUN_DIR");
    return cz_xasprintf("%s/c-%.16s", base && *base ? base : "/run/containerization", id);
}

char *cz_container_templates_dir(void)
{
    const char *base = getenv("CONTAINER_RUN_DIR");
    return cz_xasprintf("%s/templates", base && *base ? base : "/run/containerization");
}

char *cz_container_maintenance_dir(const char *id)
{
    cz_autofree char *own = cz_container_run_dir(id);
    cz_autofree char *parent = cz_dirname(own);
    return cz_xasprintf("%s/m-%.16s", parent, id);
}

char *cz_container_runtime_socket(const char *id)
{
    cz_autofree char *dir = cz_container_run_dir(id);
    return cz_xasprintf("%s/runtime.sock", dir);
}

/* The directory of the running program (for files installed beside it). */
static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    return cz_dirname(buf);
}

static char *first_file(const char *what, const char *env, char *const *candidates, size_t n,
                        cz_error *err)
{
    const char *e = getenv(env);
    if (e && *e) {
        if (access(e, R_OK) < 0)
            return cz_error_errno(err, errno, "%s %s (from $%s)", what, e, env), NULL;
        return cz_xstrdup(e);
    }
    for (size_t i = 0; i < n; i++)
        if (candidates[i] && access(candidates[i], R_OK) == 0)
            return cz_xstrdup(candidates[i]);
    cz_buf b = {0};
    for (size_t i = 0; i < n; i++)
        if (candidates[i])
            cz_buf_printf(&b, "%s%s", b.len ? ", " : "", candidates[i]);
    cz_error_set(err, ENOENT, "no guest %s found (looked at $%s, %s)", what, env,
                 b.data ? b.data : "");
    cz_buf_free(&b);
    return NULL;
}

int cz_container_guest_files(const char *root, const char *kernel_override, char **kernel,
                             char **initfs, cz_error *err)
{
    cz_autofree char *dir = exe_dir();
    char *kc[] = {cz_xasprintf("%s/kernel/vmlinux", root),
                  dir ? cz_xasprintf("%s/../kernel/vmlinux", dir) : NULL,
                  cz_xstrdup("/usr/lib/containerization/vmlinux")};
    char *ic[] = {cz_xasprintf("%s/kernel/initfs.cpio", root),
                  dir ? cz_xasprintf("%s/../guest/initfs.cpio", dir) : NULL,
                  cz_xstrdup("/usr/lib/containerization/initfs.cpio")};
    int r = 0;
    *kernel = *initfs = NULL;
    if (kernel_override) {
        if (access(kernel_override, R_OK) < 0)
            r = cz_error_errno(err, errno, "kernel %s", kernel_override);
        else
            *kernel = cz_xstrdup(kernel_override);
    } else if (!(*kernel = first_file("kernel", "CONTAINER_KERNEL", kc, 3, err))) {
        r = -1;
    }
    if (r == 0 && !(*initfs = first_file("initfs", "CONTAINER_INITFS", ic, 3, err)))
        r = -1;
    if (r < 0) {
        free(*kernel);
        *kernel = NULL;
    }
    for (size_t i = 0; i < 3; i++) {
        free(kc[i]);
        free(ic[i]);
    }
    return r;
}

enum cz_accel cz_container_accel(const char *root, const char *kernel, const char **source)
{
    const char *forced = getenv("CONTAINER_VIRTUALIZATION");
    const char *dummy;
    if (!source)
        source = &dummy;
    if (forced && !strcmp(forced, "kvm")) {
        *source = "--virtualization kvm";
        return CZ_ACCEL_KVM;
    }
    if (forced && !strcmp(forced, "tcg")) {
        *source = "--virtualization tcg";
        return CZ_ACCEL_TCG;
    }
    if (access("/dev/kvm", R_OK | W_OK) < 0) {
        *source = "no usable /dev/kvm";
        return CZ_ACCEL_TCG;
    }
    /* KVM only where a guest really boots on it: the floor init, which prints
     * one line and stops, is the probe (cached per host kernel, QEMU, kernel) */
    cz_autofree char *kdir = cz_dirname(kernel);
    cz_autofree char *floor = cz_xasprintf("%s/floor.cpio", kdir);
    if (access(floor, R_OK) < 0) {
        *source = "no probe initfs (floor.cpio) beside the kernel";
        return CZ_ACCEL_TCG;
    }
    cz_autofree char *cache = cz_xasprintf("%s/cache/accel", root);
    bool cached = access(cache, F_OK) == 0;
    *source = cached ? "probe (cached)" : "probe";
    return cz_accel_probe(cache, NULL, kernel, floor, "cz-floor-init:");
}

int cz_container_start_failure_status(int rpc_status)
{
    if (rpc_status == CZ_RPC_NOT_FOUND)
        return 127;
    if (rpc_status == CZ_RPC_PERMISSION_DENIED)
        return 126;
    return 125;
}
