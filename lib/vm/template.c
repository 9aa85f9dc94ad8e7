/* VM templates: boot a VM layout once, and when its init is ready have QEMU save it (RAM and
 * devices' state, one file); VMs of the same layout then load that state instead of
 * booting (include/cz/vm.h, docs/vm.md "Templates"). */
#include <cz/vm.h>

#include "base/fs.h"
#include "base/log.h"
#include "vm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* A disk's size: the template's placeholder for it has the same, so the capacity the guest
 * read at boot is right for every VM of the template. */
static int64_t disk_size(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    off_t end = lseek(fd, 0, SEEK_END);
    close(fd);
    return end;
}

/* c as its template sees it: the same guest-visible layout with placeholder disks (empty,
 * of the same sizes) and shares under dir, no published ports (the host side of user
 * networking), no name. */
struct view {
    struct cz_vm_config c;
    struct cz_vm_disk disks[CZ_VM_MAX_DISKS];
    int64_t sizes[CZ_VM_MAX_DISKS];
    struct cz_vm_share shares[CZ_VM_MAX_SHARES];
    char *paths[CZ_VM_MAX_DISKS + CZ_VM_MAX_SHARES];
    char *console;
};

static void view_init(struct view *v, const struct cz_vm_config *c, enum cz_accel accel,
                      const char *dir)
{
    memset(v, 0, sizeof(*v));
    v->c = *c;
    v->c.name = NULL;
    v->c.accel = accel;
    v->c.template_dir = NULL;
    v->c.net.ports = NULL;
    v->c.net.n_ports = 0;
    for (size_t i = 0; i < c->n_disks && i < CZ_VM_MAX_DISKS; i++) {
        v->paths[i] = cz_xasprintf("%s/disk%zu", dir, i);
        v->disks[i] = (struct cz_vm_disk){.path = v->paths[i], .readonly = c->disks[i].readonly};
        v->sizes[i] = disk_size(c->disks[i].path);
    }
    for (size_t i = 0; i < c->n_shares && i < CZ_VM_MAX_SHARES; i++) {
        char *p = cz_xasprintf("%s/share%zu", dir, i);
        v->paths[CZ_VM_MAX_DISKS + i] = p;
        v->shares[i] = (struct cz_vm_share){
            .tag = c->shares[i].tag, .path = p, .readonly = c->shares[i].readonly};
    }
    v->c.disks = v->disks;
    v->c.shares = v->shares;
    v->console = cz_xasprintf("%s/console.log", dir);
    v->c.console_log = v->console;
}

static void view_free(struct view *v)
{
    for (size_t i = 0; i < CZ_ARRAY_SIZE(v->paths); i++)
        free(v->paths[i]);
    free(v->console);
}

/* A file's identity: a changed QEMU, kernel or initfs is another template. */
static void add_identity(cz_buf *b, const char *what, const char *path)
{
    struct stat st;
    if (path && stat(path, &st) == 0)
        /* ctime too: a file rewritten in place with its mtime put back is another file */
        cz_buf_printf(b, "%s %s %llu:%llu %lld %lld.%09ld %lld.%09ld\n", what, path,
                      (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                      (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                      (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    else
        cz_buf_printf(b, "%s %s missing\n", what, path ? path : "");
}

char *cz_vm_template_key(const struct cz_vm_config *c, enum cz_accel accel, cz_error *err)
{
    if (c->vsock)
        return cz_error_set(err, ENOTSUP, "no template with vsock (the context id is the VM's)"),
               NULL;
    if (c->net.kind == CZ_VM_NET_TAP || c->net.mac)
        return cz_error_set(err, ENOTSUP, "no template with a tap device or a chosen MAC"), NULL;
    if (c->n_disks > CZ_VM_MAX_DISKS || c->n_shares > CZ_VM_MAX_SHARES)
        return cz_error_set(err, EINVAL, "too many disks or shares"), NULL;
    /* the template's QEMU command line, from fixed stand-in paths, says the rest */
    struct view v;
    view_init(&v, c, accel, "/T");
    v.c.run_dir = "/R";
    for (size_t i = 0; i < c->n_disks; i++)
        if (v.sizes[i] < 0) {
            cz_error_errno(err, errno, "disk %s", c->disks[i].path);
            view_free(&v);
            return NULL;
        }
    struct cz_argv a = {0};
    struct cz_vm_paths p = {.agent_socket = "/R/a", .control_socket = "/R/c",
                            .output_socket = {"/R/o", "/R/e"}, .template = true};
    if (cz_vmm_qemu.build_argv(&v.c, accel, &p, &a, err) < 0) {
        cz_argv_free(&a);
        view_free(&v);
        return NULL;
    }
    cz_buf b = {0};
    cz_buf_printf(&b, "containerization vm template 1\n");
    cz_autofree char *qemu = cz_vm_find_program(a.v[0]);
    add_identity(&b, "qemu", qemu ? qemu : a.v[0]);
    add_identity(&b, "kernel", c->kernel);
    add_identity(&b, "initrd", c->initrd);
    for (size_t i = 0; i < a.n; i++) {
        if (i > 0 && !strcmp(a.v[i - 1], "-append")) {
            /* The host's clock rate hints (tsc_early_khz=, lpj=) are host facts, not layout;
             * where they come from "cpu MHz" (no "bogomips" line) they move with the host's
             * frequency. A restored guest keeps the template's calibration. */
            cz_autofree char *words = cz_xstrdup(a.v[i]);
            char *save = NULL;
            for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
                if (!cz_str_has_prefix(w, "tsc_early_khz=") && !cz_str_has_prefix(w, "lpj="))
                    cz_buf_printf(&b, "%s ", w);
            cz_buf_printf(&b, "\n");
            continue;
        }
        cz_buf_printf(&b, "%s\n", a.v[i]);
    }
    cz_argv_free(&a);
    for (size_t i = 0; i < c->n_disks; i++)
        cz_buf_printf(&b, "disk%zu %lld bytes\n", i, (long long)v.sizes[i]);
    view_free(&v);
    /* FNV-1a, 128 bits: the inputs are the host's own, no one picks them to collide, and
     * the runtime stays clear of a crypto library's pages (2 MiB of RSS for sha256) */
    unsigned __int128 h = ((unsigned __int128)0x6c62272e07bb0142ull << 64) | 0x62b821756295c58dull;
    const unsigned __int128 prime = ((unsigned __int128)0x0000000001000000ull << 64) | 0x13bull;
    for (size_t i = 0; i < b.len; i++)
        h = (h ^ (uint8_t)b.data[i]) * prime;
    cz_buf_free(&b);
    return cz_xasprintf("%016llx%016llx", (unsigned long long)(h >> 64), (unsigned long long)h);
}

static bool console_has(const char *path, const char *text)
{
    char *data = NULL;
    size_t len = 0;
    if (cz_read_file(path, 1 << 20, &data, &len, NULL) < 0)
        return false;
    bool found = memmem(data, len, text, strlen(text)) != NULL;
    free(data);
    return found;
}

/* Save the ready VM (its RAM and its devices' state) into state_fd. */
static int save(cz_vm *vm, int state_fd, int timeout_ms, cz_error *err)
{
    /* not paused first: the state then says "running", and a restored VM runs as soon as
     * it is loaded (migration stops the VM itself for its last step) */
    /* QEMU throttles a migration to 128 MiB/s by default: a file takes what it gets */
    if (cz_vm_qmp(vm,
                  "{\"execute\":\"migrate-set-parameters\","
                  "\"arguments\":{\"max-bandwidth\":1099511627776}}",
                  NULL, err) < 0 ||
        vm->ops->control_pass_fd(vm->control_fd, state_fd, "state", 5000, err) < 0 ||
        cz_vm_qmp(vm, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:state\"}}", NULL, err) <
            0)
        return -1;
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        char *reply = NULL;
        if (cz_vm_qmp(vm, "{\"execute\":\"query-migrate\"}", &reply, err) < 0)
            return -1;
        json_t *j = json_loads(reply, 0, NULL);
        free(reply);
        const char *st = json_string_value(json_object_get(j, "status"));
        const char *why = json_string_value(json_object_get(j, "error-desc"));
        int r = 1;
        if (st && !strcmp(st, "completed"))
            r = 0;
        else if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled")))
            r = cz_error_set(err, EIO, "saving the VM failed: %s", why ? why : st);
        json_decref(j);
        if (r <= 0)
            return r;
        if (cz_now_ns() > deadline)
            return cz_error_set(err, ETIMEDOUT, "saving the VM took over %d ms", timeout_ms);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int cz_vm_template_load(cz_vm *vm, cz_error *err)
{
    if (cz_vm_qmp(vm, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:3\"}}", NULL,
                  err) < 0)
        return cz_error_wrap(err, "restore the VM template");
    return 0;
}

static int make_placeholders(const struct view *v, cz_error *err)
{
    for (size_t i = 0; i < v->c.n_disks; i++) {
        int fd = open(v->disks[i].path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return cz_error_errno(err, errno, "create %s", v->disks[i].path);
        int r = v->sizes[i] < 0 ? (errno = ENOENT, -1) : ftruncate(fd, v->sizes[i]);
        int e = errno;
        close(fd);
        if (r < 0)
            return cz_error_errno(err, e, "size %s", v->disks[i].path);
    }
    for (size_t i = 0; i < v->c.n_shares; i++)
        if (mkdir(v->shares[i].path, 0700) < 0)
            return cz_error_errno(err, errno, "create %s", v->shares[i].path);
    return 0;
}

static void remove_placeholders(const struct view *v)
{
    for (size_t i = 0; i < v->c.n_disks; i++)
        unlink(v->disks[i].path);
    for (size_t i = 0; i < v->c.n_shares; i++)
        rmdir(v->shares[i].path);
}

static int build_in(const struct cz_vm_config *c, enum cz_accel accel, const char *tmp,
                    const char *ready, int timeout_ms, cz_error *err)
{
    struct view v;
    view_init(&v, c, accel, tmp);
    cz_autofree char *state = cz_xasprintf("%s/state", tmp);
    cz_vm *vm = NULL;
    int fd = -1, r = -1;
    if (make_placeholders(&v, err) < 0)
        goto out;
    fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        cz_error_errno(err, errno, "create %s", state);
        goto out;
    }
    struct cz_vm_paths paths = {.template = true};
    if (cz_vm_config_validate(&v.c, err) < 0 || cz_vm_spawn(&v.c, &paths, -1, &vm, err) < 0)
        goto out;
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!console_has(v.console, ready)) {
        if (cz_vm_gone(vm, 0)) {
            cz_error_set(err, EIO, "the template VM exited while booting (see %s)", v.console);
            goto out;
        }
        if (cz_now_ns() > deadline) {
            cz_error_set(err, ETIMEDOUT, "the template VM was not ready within %d ms", timeout_ms);
            goto out;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (save(vm, fd, timeout_ms, err) < 0)
        goto out;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (vm) {
        pid_t pid = vm->pid;
        cz_vm_free(vm); /* quit (or SIGKILL) */
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    remove_placeholders(&v);
    if (r < 0)
        cz_error_wrap(err, "build the VM template %s", tmp);
    view_free(&v);
    return r;
}

int cz_vm_template_build(const struct cz_vm_config *c, enum cz_accel accel, const char *dir,
                         const char *ready, int timeout_ms, cz_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return 0;
    cz_autofree char *key = cz_vm_template_key(c, accel, err);
    if (!key)
        return -1;
    if (strchr(dir, ',') || strchr(dir, '\n'))
        return cz_error_set(err, EINVAL, "VM template directory %s: no ',' allowed", dir);
    cz_autofree char *tmp = cz_xasprintf("%s.tmp-%d", dir, (int)getpid());
    cz_rm_rf(tmp, NULL);
    if (cz_mkdir_p(tmp, 0700, err) < 0)
        return -1;
    uint64_t t0 = cz_now_ns();
    if (build_in(c, accel, tmp, ready, timeout_ms, err) < 0) {
        cz_rm_rf(tmp, NULL);
        return -1;
    }
    if (rename(tmp, dir) < 0) {
        int e = errno;
        cz_rm_rf(tmp, NULL);
        if (stat(dir, &st) == 0)
            return 0; /* another builder's is as good */
        return cz_error_errno(err, e, "publish the VM template %s", dir);
    }
    cz_debug("vm template %s built in %.3f s", dir, (double)(cz_now_ns() - t0) / 1e9);
    return 0;
}
