/* Accelerator probe. /dev/kvm existing is not enough: on some hosts (a
 * paravirtualized KVM, for one) a standard guest hangs under -accel kvm. So
 * KVM is chosen only after a probe VM really booted on it and printed its
 * marker; the answer is cached per (host kernel, QEMU, guest kernel). */
#include <cz/vm.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"
#include "vm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static bool kvm_device_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    return v == KVM_API_VERSION;
}

static char *probe_key(const char *qemu, const char *kernel)
{
    struct utsname u;
    uname(&u);
    struct stat qs = {0}, ks = {0};
    cz_autofree char *q = NULL;
    if (qemu && strchr(qemu, '/'))
        q = cz_xstrdup(qemu);
    else
        q = cz_xstrdup("/usr/bin/qemu-system-x86_64");
    stat(q, &qs);
    stat(kernel, &ks);
    return cz_xasprintf("%s %s %lld %lld %lld", u.release, q, (long long)qs.st_mtime,
                        (long long)ks.st_size, (long long)ks.st_mtime);
}

static bool console_has(const char *path, const char *marker)
{
    char *data = NULL;
    size_t len;
    if (cz_read_file(path, 1 << 20, &data, &len, NULL) < 0)
        return false;
    bool found = memmem(data, len, marker, strlen(marker)) != NULL;
    free(data);
    return found;
}

static bool probe_boot(const char *qemu, const char *kernel, const char *initrd,
                       const char *marker)
{
    char dir[] = "/tmp/cz-accel-XXXXXX";
    if (!mkdtemp(dir))
        return false;
    cz_autofree char *console = cz_xasprintf("%s/console", dir);
    struct cz_vm_config c = {
        .name = "accel-probe", .qemu = qemu, .kernel = kernel, .initrd = initrd, .cpus = 1,
        .memory_mib = 128, .accel = CZ_ACCEL_KVM, .run_dir = dir, .console_log = console,
    };
    cz_error err = {0};
    cz_vm *vm;
    bool ok = false;
    if (cz_vm_start(&c, &vm, &err) == 0) {
        for (int i = 0; i < 100 && !ok; i++) { /* up to 5 s */
            ok = console_has(console, marker);
            if (!ok)
                usleep(50 * 1000);
        }
        pid_t pid = cz_vm_pid(vm);
        cz_vm_kill(vm);
        int st;
        waitpid(pid, &st, 0); /* our own child, started and reaped here */
        cz_vm_exited(vm, st);
        cz_vm_free(vm);
    } else {
        cz_debug("accel probe: %s", err.msg);
    }
    cz_rm_rf(dir, NULL);
    return ok;
}

enum cz_accel cz_accel_probe(const char *cache_file, const char *qemu, const char *probe_kernel,
                             const char *probe_initrd, const char *marker)
{
    if (!kvm_device_usable())
        return CZ_ACCEL_TCG;
    cz_autofree char *key = probe_key(qemu, probe_kernel);
    char *cached = NULL;
    size_t len;
    if (cache_file && cz_read_file(cache_file, 4096, &cached, &len, NULL) == 0) {
        char *nl = strchr(cached, '\n');
        if (nl) {
            *nl = '\0';
            if (!strcmp(cached, key)) {
                enum cz_accel a = !strncmp(nl + 1, "kvm", 3) ? CZ_ACCEL_KVM : CZ_ACCEL_TCG;
                free(cached);
                return a;
            }
        }
        free(cached);
    }
    enum cz_accel a = probe_boot(qemu, probe_kernel, probe_initrd, marker) ? CZ_ACCEL_KVM
                                                                           : CZ_ACCEL_TCG;
    cz_debug("accel probe: %s", cz_accel_name(a));
    if (cache_file) {
        cz_autofree char *dir = cz_dirname(cache_file);
        cz_mkdir_p(dir, 0755, NULL);
        cz_autofree char *text = cz_xasprintf("%s\n%s\n", key, cz_accel_name(a));
        cz_write_file_atomic(cache_file, text, strlen(text), 0644, NULL);
    }
    return a;
}
