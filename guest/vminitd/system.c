/* System methods of the agent API: SetTime, SetHostname, Sysctl, ConfigureDns,
 * ConfigureHosts, SetupEmulator, Restored, Shutdown. Files under a container root
 * are written atomically; kernel interfaces (/proc/sys, binfmt_misc, /dev/random,
 * the virtio_blk driver's bind files) in place. */
#include "vminitd.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>

/* <root>/etc/<name>, root "" meaning "/". */
static int root_file(const char *what, const char *root, const char *name, char **out,
                     cz_error *err)
{
    if (root[0] && vminitd_check_path(what, root, err) < 0)
        return -1;
    *out = cz_xasprintf("%s/etc/%s", strcmp(root, "/") == 0 ? "" : root, name);
    return 0;
}

static int write_under_root(const char *what, const char *root, const char *name,
                            const cz_buf *content, cz_error *err)
{
    cz_autofree char *path = NULL;
    if (root_file(what, root, name, &path, err) < 0)
        return -1;
    cz_autofree char *dir = cz_dirname(path);
    if (cz_mkdir_p(dir, 0755, err) < 0 ||
        cz_write_file_atomic(path, content->data ? content->data : "", content->len, 0644, err) < 0)
        return cz_error_wrap(err, "%s", what);
    return 0;
}

/* Text fields end up in files whose format is one entry per line. */
static int check_token(const char *what, const char *s, cz_error *err)
{
    if (!s[0] || strpbrk(s, " \t\r\n#"))
        return cz_error_set(err, EINVAL, "%s: invalid value '%s'", what, s);
    return 0;
}

static int do_set_time(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__SetTimeRequest *r = (const Cz__Agent__V1__SetTimeRequest *)msg;
    if (r->unix_nanos < 0)
        return cz_error_set(err, EINVAL, "set time: negative time %lld", (long long)r->unix_nanos);
    struct timespec ts = {.tv_sec = r->unix_nanos / 1000000000,
                          .tv_nsec = r->unix_nanos % 1000000000};
    if (clock_settime(CLOCK_REALTIME, &ts) < 0)
        return cz_error_errno(err, errno, "set time");
    return cz_rpc_call_reply_empty(call, err);
}

static int do_set_hostname(cz_rpc_call *call, const ProtobufCMessage *msg, void *data,
                           cz_error *err)
{
    const Cz__Agent__V1__SetHostnameRequest *r = (const Cz__Agent__V1__SetHostnameRequest *)msg;
    size_t n = strlen(r->hostname);
    if (n == 0 || n > 64)
        return cz_error_set(err, EINVAL, "set hostname: '%s' must have 1 to 64 characters",
                            r->hostname);
    for (size_t i = 0; i < n; i++) {
        char c = r->hostname[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return cz_error_set(err, EINVAL, "set hostname: invalid character in '%s'",
                                r->hostname);
    }
    if (sethostname(r->hostname, n) < 0)
        return cz_error_errno(err, errno, "set hostname %s", r->hostname);
    if (r->root[0]) {
        cz_buf b = {0};
        cz_buf_printf(&b, "%s\n", r->hostname);
        int rc = write_under_root("set hostname", r->root, "hostname", &b, err);
        cz_buf_free(&b);
        if (rc < 0)
            return -1;
    }
    return cz_rpc_call_reply_empty(call, err);
}

static int do_sysctl(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__SysctlRequest *r = (const Cz__Agent__V1__SysctlRequest *)msg;
    for (size_t i = 0; i < r->n_settings; i++) {
        const char *key = r->settings[i]->key;
        const char *value = r->settings[i]->value;
        if (!key[0] || strstr(key, "..") || strchr(key, '/') || key[0] == '.')
            return cz_error_set(err, EINVAL, "sysctl: invalid key '%s'", key);
        cz_autofree char *path = cz_xasprintf("/proc/sys/%s", key);
        for (char *p = path + 10; *p; p++)
            if (*p == '.')
                *p = '/';
        cz_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return cz_error_errno(err, errno, "sysctl %s", key);
        if (cz_write_all(fd, value, strlen(value)) < 0)
            return cz_error_errno(err, errno, "sysctl %s=%s", key, value);
    }
    return cz_rpc_call_reply_empty(call, err);
}

static int do_configure_dns(cz_rpc_call *call, const ProtobufCMessage *msg, void *data,
                            cz_error *err)
{
    const Cz__Agent__V1__ConfigureDnsRequest *r = (const Cz__Agent__V1__ConfigureDnsRequest *)msg;
    cz_buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < r->n_nameservers && rc == 0; i++)
        if ((rc = check_token("configure dns: nameserver", r->nameservers[i], err)) == 0)
            cz_buf_printf(&b, "nameserver %s\n", r->nameservers[i]);
    if (r->n_search && rc == 0) {
        cz_buf_printf(&b, "search");
        for (size_t i = 0; i < r->n_search && rc == 0; i++)
            if ((rc = check_token("configure dns: search domain", r->search[i], err)) == 0)
                cz_buf_printf(&b, " %s", r->search[i]);
        cz_buf_printf(&b, "\n");
    }
    if (r->n_options && rc == 0) {
        cz_buf_printf(&b, "options");
        for (size_t i = 0; i < r->n_options && rc == 0; i++)
            if ((rc = check_token("configure dns: option", r->options[i], err)) == 0)
                cz_buf_printf(&b, " %s", r->options[i]);
        cz_buf_printf(&b, "\n");
    }
    if (rc == 0)
        rc = write_under_root("configure dns", r->root, "resolv.conf", &b, err);
    cz_buf_free(&b);
    if (rc < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

static int do_configure_hosts(cz_rpc_call *call, const ProtobufCMessage *msg, void *data,
                              cz_error *err)
{
    const Cz__Agent__V1__ConfigureHostsRequest *r =
        (const Cz__Agent__V1__ConfigureHostsRequest *)msg;
    cz_buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < r->n_entries && rc == 0; i++) {
        const Cz__Agent__V1__HostEntry *e = r->entries[i];
        if (e->n_names == 0) {
            rc = cz_error_set(err, EINVAL, "configure hosts: %s has no names", e->ip);
            break;
        }
        if ((rc = check_token("configure hosts: address", e->ip, err)) < 0)
            break;
        cz_buf_printf(&b, "%s", e->ip);
        for (size_t k = 0; k < e->n_names && rc == 0; k++)
            if ((rc = check_token("configure hosts: name", e->names[k], err)) == 0)
                cz_buf_printf(&b, "\t%s", e->names[k]);
        cz_buf_printf(&b, "\n");
    }
    if (rc == 0)
        rc = write_under_root("configure hosts", r->root, "hosts", &b, err);
    cz_buf_free(&b);
    if (rc < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

/* binfmt_misc: ":name:type:offset:magic:mask:interpreter:flags", with the magic
 * and mask escaped as \xHH so that any byte (even ':') is safe. */
static int do_setup_emulator(cz_rpc_call *call, const ProtobufCMessage *msg, void *data,
                             cz_error *err)
{
    const Cz__Agent__V1__SetupEmulatorRequest *r = (const Cz__Agent__V1__SetupEmulatorRequest *)msg;
    static const char dir[] = "/proc/sys/fs/binfmt_misc";
    if (!r->name[0] || strlen(r->name) > 64 || strpbrk(r->name, ":/\n") ||
        strcmp(r->name, ".") == 0 || strcmp(r->name, "..") == 0)
        return cz_error_set(err, EINVAL, "setup emulator: invalid name '%s'", r->name);
    if (vminitd_check_path("setup emulator", r->interpreter, err) < 0 ||
        strpbrk(r->interpreter, ":\n"))
        return cz_error_set(err, EINVAL, "setup emulator: invalid interpreter '%s'",
                            r->interpreter);
    if (strspn(r->flags, "POCF") != strlen(r->flags))
        return cz_error_set(err, EINVAL, "setup emulator: invalid flags '%s' (P, O, C, F)",
                            r->flags);
    bool by_ext = r->extension[0] != '\0';
    if (by_ext ? strpbrk(r->extension, ":/\n") != NULL : r->magic.len == 0)
        return cz_error_set(err, EINVAL, "setup emulator %s: give a magic or an extension",
                            r->name);
    if (r->magic.len > 128 || (r->mask.len && r->mask.len != r->magic.len))
        return cz_error_set(err, EINVAL,
                            "setup emulator %s: magic of at most 128 bytes, mask of the same "
                            "length",
                            r->name);
    struct stat st;
    cz_autofree char *reg = cz_xasprintf("%s/register", dir);
    if (stat(reg, &st) < 0 &&
        mount("binfmt_misc", dir, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return cz_error_errno(err, errno, "setup emulator %s: mount binfmt_misc on %s", r->name,
                              dir);
    cz_autofree char *existing = cz_xasprintf("%s/%s", dir, r->name);
    if (stat(existing, &st) == 0)
        return cz_rpc_call_reply_empty(call, err); /* already registered */
    cz_buf line = {0};
    if (by_ext) {
        cz_buf_printf(&line, ":%s:E::%s::%s:%s", r->name, r->extension, r->interpreter, r->flags);
    } else {
        cz_buf_printf(&line, ":%s:M:%u:", r->name, r->offset);
        for (size_t i = 0; i < r->magic.len; i++)
            cz_buf_printf(&line, "\\x%02x", r->magic.data[i]);
        cz_buf_printf(&line, ":");
        for (size_t i = 0; i < r->mask.len; i++)
            cz_buf_printf(&line, "\\x%02x", r->mask.data[i]);
        cz_buf_printf(&line, ":%s:%s", r->interpreter, r->flags);
    }
    int fd = open(reg, O_WRONLY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0)
        rc = cz_error_errno(err, errno, "setup emulator %s: open %s", r->name, reg);
    else if (write(fd, line.data, line.len) != (ssize_t)line.len && errno != EEXIST)
        rc = cz_error_errno(err, errno, "setup emulator %s: register '%s'", r->name, line.data);
    if (fd >= 0)
        close(fd);
    cz_buf_free(&line);
    if (rc < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

/* ---- Restored: a VM restored from a template becomes its own ---- */

#define ENTROPY_MIN 16
#define ENTROPY_MAX 4096
#define VIRTIO_BLK_DIR "/sys/bus/virtio/drivers/virtio_blk"
#define MAX_RESCAN_DISKS 256

/* Credit the host's bytes to the input pool, then reseed the generator: without the
 * reseed the generator would keep the template's key until its next scheduled reseed
 * (up to a minute), and every VM of one template would draw the same numbers. */
static int reseed_random(const uint8_t *bytes, size_t len, cz_error *err)
{
    cz_autofree struct rand_pool_info *info = cz_xcalloc(1, sizeof(*info) + len);
    info->entropy_count = (int)(len * 8);
    info->buf_size = (int)len;
    memcpy(info->buf, bytes, len);
    cz_autoclose int fd = open("/dev/random", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "restored: open /dev/random");
    if (ioctl(fd, RNDADDENTROPY, info) < 0)
        return cz_error_errno(err, errno, "restored: add %zu bytes of entropy (RNDADDENTROPY)",
                              len);
    if (ioctl(fd, RNDRESEEDCRNG) < 0) {
        if (errno == ENODATA) /* fewer than 256 bits ever credited */
            return cz_error_set(err, ENODATA,
                                "restored: reseed the random generator (RNDRESEEDCRNG): the "
                                "kernel's generator is not initialized yet; send at least 32 "
                                "bytes of entropy");
        return cz_error_errno(err, errno, "restored: reseed the random generator (RNDRESEEDCRNG)");
    }
    return 0;
}

typedef struct blk_disk {
    unsigned index;  /* N of virtioN */
    char device[32]; /* virtioN */
    char name[32];   /* its block device: vda, vdb, ... */
} blk_disk;

static int compare_disks(const void *a, const void *b)
{
    unsigned x = ((const blk_disk *)a)->index, y = ((const blk_disk *)b)->index;
    return x < y ? -1 : x > y;
}

/* The block device of a virtio device bound to virtio_blk: the one entry of its block/. */
static bool disk_name(const char *device, char *name, size_t size)
{
    cz_autofree char *dir = cz_xasprintf(VIRTIO_BLK_DIR "/%s/block", device);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)))
        if (e->d_name[0] != '.' && strlen(e->d_name) < size) {
            strcpy(name, e->d_name);
            found = true;
        }
    closedir(d);
    return found;
}

/* The devices bound to virtio_blk (the entries virtioN), sorted by N: the order in
 * which they were probed at boot, so binding them again in it hands out the same
 * names (the driver gives each new disk the lowest free index). */
static int list_disks(blk_disk **out, size_t *n_out, cz_error *err)
{
    DIR *d = opendir(VIRTIO_BLK_DIR);
    if (!d) {
        if (errno != ENOENT)
            return cz_error_errno(err, errno, "restored: disks: open %s", VIRTIO_BLK_DIR);
        *out = NULL; /* no virtio_blk driver: no disks */
        *n_out = 0;
        return 0;
    }
    blk_disk *disks = NULL;
    size_t n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        char *end;
        if (!cz_str_has_prefix(e->d_name, "virtio") || e->d_name[6] < '0' || e->d_name[6] > '9')
            continue;
        unsigned long index = strtoul(e->d_name + 6, &end, 10);
        if (*end || index > 1000000 || strlen(e->d_name) >= sizeof(disks->device))
            continue;
        if (n == MAX_RESCAN_DISKS) {
            rc = cz_error_set(err, E2BIG, "restored: disks: more than %d disks", MAX_RESCAN_DISKS);
            break;
        }
        disks = cz_xrealloc(disks, (n + 1) * sizeof(*disks));
        blk_disk *k = &disks[n];
        k->index = (unsigned)index;
        strcpy(k->device, e->d_name);
        if (!disk_name(k->device, k->name, sizeof(k->name))) {
            rc = cz_error_set(err, ENODEV, "restored: disks: %s has no block device", k->device);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc < 0) {
        free(disks);
        return -1;
    }
    if (n)
        qsort(disks, n, sizeof(*disks), compare_disks);
    *out = disks;
    *n_out = n;
    return 0;
}

/* Unbinding a disk under a filesystem would cut it off: refuse while one of them (or a
 * partition of one) is mounted, or held open exclusively, as a mount in another mount
 * namespace or a swap area would. */
static int check_disks_unused(const blk_disk *disks, size_t n, cz_error *err)
{
    cz_autofree char *mounts = NULL;
    size_t len = 0;
    if (cz_read_file("/proc/self/mountinfo", 16 << 20, &mounts, &len, err) < 0)
        return cz_error_wrap(err, "restored: disks");
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTIONS" */
    for (char *line = mounts, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char mountpoint[4096], source[4096];
        const char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mountpoint) != 1 ||
            sscanf(sep + 3, "%*s %4095s", source) != 1)
            continue;
        if (cz_str_has_prefix(source, "/dev/vd"))
            return cz_error_set(err, EBUSY, "restored: disks: %s is mounted on %s", source,
                                mountpoint);
    }
    for (size_t i = 0; i < n; i++) {
        cz_autofree char *dev = cz_xasprintf("/dev/%s", disks[i].name);
        int fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
        if (fd < 0)
            return cz_error_errno(err, errno, "restored: disks: %s is in use", dev);
        close(fd);
    }
    return 0;
}

static int write_driver_file(const char *file, const char *device, cz_error *err)
{
    cz_autofree char *path = cz_xasprintf(VIRTIO_BLK_DIR "/%s", file);
    cz_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || cz_write_all(fd, device, strlen(device)) < 0)
        return cz_error_errno(err, errno, "restored: rescan_disks: %s %s", file, device);
    return 0;
}

/* Removing and adding a disk waits for several RCU grace periods (queue freezes,
 * del_gendisk); expedited ones halve the rescan under TCG (60 -> 29 ms per disk). Returns
 * the previous setting, or -1 when there is none to restore. */
static int set_rcu_expedited(int value)
{
    static const char path[] = "/sys/kernel/rcu_expedited";
    char old[8] = "";
    cz_autoclose int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || read(fd, old, sizeof(old) - 1) <= 0 || (old[0] != '0' && old[0] != '1'))
        return -1;
    char c = value ? '1' : '0';
    if (pwrite(fd, &c, 1, 0) != 1)
        return -1;
    return old[0] - '0';
}

/* Drop each disk's cached blocks: what the template's partition scan read from its
 * placeholders must not be taken for this VM's disks' contents. */
static int flush_disks(uint32_t *count, cz_error *err)
{
    cz_autofree blk_disk *disks = NULL;
    size_t n = 0;
    if (list_disks(&disks, &n, err) < 0 || check_disks_unused(disks, n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        cz_autofree char *dev = cz_xasprintf("/dev/%s", disks[i].name);
        cz_autoclose int fd = open(dev, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ioctl(fd, BLKFLSBUF, 0) < 0)
            return cz_error_errno(err, errno, "restored: flush_disks: %s", dev);
    }
    *count = (uint32_t)n;
    return 0;
}

/* Unbind every disk, then bind them again in order: each probe reads the capacity and
 * identity of the disk now behind the slot, and drops what the template cached. */
static int rescan_disks(uint32_t *count, cz_error *err)
{
    cz_autofree blk_disk *disks = NULL;
    size_t n = 0;
    if (list_disks(&disks, &n, err) < 0 || check_disks_unused(disks, n, err) < 0)
        return -1;
    int expedited = n ? set_rcu_expedited(1) : -1;
    uint64_t t0 = cz_now_ns();
    size_t unbound = 0;
    for (; unbound < n; unbound++)
        if (write_driver_file("unbind", disks[unbound].device, err) < 0)
            break;
    uint64_t t1 = cz_now_ns();
    int rc = unbound == n ? 0 : -1;
    for (size_t i = 0; i < unbound; i++) {
        cz_error bind_err = {0};
        if (write_driver_file("bind", disks[i].device, &bind_err) < 0 && rc == 0)
            rc = cz_error_set(err, bind_err.code, "%s", bind_err.msg);
    }
    if (expedited == 0)
        set_rcu_expedited(0);
    cz_debug("vminitd: restored: unbind %.1f ms, bind %.1f ms", (double)(t1 - t0) / 1e6,
             (double)(cz_now_ns() - t1) / 1e6);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        struct stat st;
        if (!disk_name(disks[i].device, name, sizeof(name)))
            return cz_error_set(err, ENODEV, "restored: rescan_disks: %s (%s) did not come back",
                                disks[i].device, disks[i].name);
        if (strcmp(name, disks[i].name) != 0)
            return cz_error_set(err, EIO, "restored: rescan_disks: %s came back as %s, was %s",
                                disks[i].device, name, disks[i].name);
        cz_autofree char *dev = cz_xasprintf("/dev/%s", name);
        if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
            return cz_error_set(err, ENODEV, "restored: rescan_disks: no block device %s", dev);
    }
    *count = (uint32_t)n;
    return 0;
}

static int do_restored(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__RestoredRequest *r = (const Cz__Agent__V1__RestoredRequest *)msg;
    /* Everything is checked before anything is done. */
    if (r->entropy.len < ENTROPY_MIN || r->entropy.len > ENTROPY_MAX)
        return cz_error_set(err, EINVAL, "restored: %zu bytes of entropy, want %d to %d",
                            r->entropy.len, ENTROPY_MIN, ENTROPY_MAX);
    /* Unbinding disks is for the VM's own: vminitd run as a process on a host (tests)
     * would take the host's disks away. */
    if ((r->rescan_disks || r->flush_disks) && !g_vminitd.pid1)
        return cz_error_set(err, EBUSY, "restored: %s: only in a VM (vminitd is not PID 1)",
                            r->rescan_disks ? "rescan_disks" : "flush_disks");
    if (r->rescan_disks && r->flush_disks)
        return cz_error_set(err, EINVAL,
                            "restored: rescan_disks and flush_disks: one or the other (a rescan "
                            "drops the caches too)");
    uint64_t t0 = cz_now_ns();
    if (reseed_random(r->entropy.data, r->entropy.len, err) < 0)
        return -1;
    Cz__Agent__V1__RestoredResponse resp = CZ__AGENT__V1__RESTORED_RESPONSE__INIT;
    if (r->rescan_disks && rescan_disks(&resp.disks, err) < 0)
        return -1;
    if (r->flush_disks && flush_disks(&resp.disks, err) < 0)
        return -1;
    cz_debug("vminitd: restored: %zu bytes of entropy, %u disks %s, %.1f ms", r->entropy.len,
             resp.disks, r->flush_disks ? "flushed" : "probed again",
             (double)(cz_now_ns() - t0) / 1e6);
    return cz_rpc_call_reply(call, &resp.base, err);
}

/* ---- Shutdown: reply first, then act once the reply is on its way ---- */

static int shutdown_action;

static void shutdown_now(cz_loop *loop, void *data)
{
    sync();
    if (g_vminitd.pid1) {
        /* Our guest kernel has no ACPI, so RB_POWER_OFF would only halt the CPU
         * and leave QEMU running. The VM runs with -no-reboot and reboot=t: a
         * reboot ends it, which is what power-off means for a container's VM. */
        (void)shutdown_action;
        reboot(RB_AUTOBOOT);
        return; /* only reached if reboot failed; keep serving */
    }
    cz_loop_stop(loop);
}

static void shutdown_after_reply(cz_rpc_call *call, int status, const char *message)
{
    /* The call closed: its last frame was handed to the socket in this flush. */
    if (status == CZ_RPC_OK)
        cz_loop_add_timer(g_vminitd.loop, 20, shutdown_now, NULL);
}

static int do_shutdown(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__ShutdownRequest *r = (const Cz__Agent__V1__ShutdownRequest *)msg;
    shutdown_action = r->action;
    cz_rpc_call_set_close_hook(call, shutdown_after_reply);
    return cz_rpc_call_reply_empty(call, err);
}

int vminitd_register_system(cz_rpc_server *server, cz_error *err)
{
    static const struct {
        const char *name;
        cz_rpc_unary_fn fn;
    } methods[] = {
        {"SetTime", do_set_time},
        {"SetHostname", do_set_hostname},
        {"Sysctl", do_sysctl},
        {"ConfigureDns", do_configure_dns},
        {"ConfigureHosts", do_configure_hosts},
        {"SetupEmulator", do_setup_emulator},
        {"Restored", do_restored},
        {"Shutdown", do_shutdown},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(methods); i++)
        if (cz_rpc_server_add_unary(server, AGENT, methods[i].name, methods[i].fn, NULL, err) < 0)
            return -1;
    return 0;
}
