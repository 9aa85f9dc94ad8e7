/* The QEMU backend: a microvm machine booting our kernel directly (PVH for
 * an uncompressed vmlinux), virtio-mmio devices only, QMP for control. Each
 * device kind produces its own arguments in its own function. */
#include "vm/vmm.h"

#include "base/fs.h"
#include "base/log.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

static void dev_disk(const struct cz_vm_config *c, struct cz_argv *a)
{
    for (size_t i = 0; i < c->n_disks; i++) {
        /* aio=threads + cache=unsafe for read-only snapshots would be faster, but
         * a writable disk must survive a host crash mid-write: writeback. */
        cz_argv_add(a, "-drive");
        cz_argv_addf(a, "id=disk%zu,file=%s,format=raw,if=none,cache=%s%s", i, c->disks[i].path,
                     c->disks[i].readonly ? "unsafe" : "writeback",
                     c->disks[i].readonly ? ",readonly=on" : "");
        cz_argv_add(a, "-device");
        cz_argv_addf(a, "virtio-blk-device,drive=disk%zu", i);
    }
}

static void dev_share(const struct cz_vm_config *c, struct cz_argv *a)
{
    for (size_t i = 0; i < c->n_shares; i++) {
        cz_autofree char *dir = cz_vm_share_dir(c, i);
        cz_argv_add(a, "-fsdev");
        cz_argv_addf(a, "local,id=fs%zu,path=%s,security_model=none%s", i, dir,
                     c->shares[i].readonly ? ",readonly=on" : "");
        cz_argv_add(a, "-device");
        cz_argv_addf(a, "virtio-9p-device,fsdev=fs%zu,mount_tag=%s", i, c->shares[i].tag);
    }
}

/* A stable locally administered MAC from the VM's name. */
static void derive_mac(const char *name, char out[18])
{
    uint32_t h = 2166136261u;
    for (const char *p = name ? name : "cz"; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(out, 18, "02:c2:%02x:%02x:%02x:%02x", (h >> 24) & 0xff, (h >> 16) & 0xff,
             (h >> 8) & 0xff, h & 0xff);
}

static void dev_net(const struct cz_vm_config *c, const struct cz_vm_paths *p, struct cz_argv *a)
{
    const struct cz_vm_net *n = &c->net;
    if (n->kind == CZ_VM_NET_NONE)
        return;
    char mac[18];
    /* a template's VMs all have its MAC: the guest read it when it booted */
    derive_mac(p->template ? NULL : c->name, mac);
    cz_argv_add(a, "-netdev");
    if (n->kind == CZ_VM_NET_TAP) {
        cz_argv_addf(a, "tap,id=net0,ifname=%s,script=no,downscript=no", n->tap);
    } else {
        cz_buf b = {0};
        cz_buf_printf(&b, "user,id=net0");
        for (size_t i = 0; i < n->n_ports; i++)
            cz_buf_printf(&b, ",hostfwd=%s:%s:%u-:%u", n->ports[i].udp ? "udp" : "tcp",
                          n->ports[i].host_addr ? n->ports[i].host_addr : "127.0.0.1",
                          n->ports[i].host_port, n->ports[i].guest_port);
        cz_argv_add(a, b.data);
        cz_buf_free(&b);
    }
    cz_argv_add(a, "-device");
    cz_argv_addf(a, "virtio-net-device,netdev=net0,mac=%s", n->mac ? n->mac : mac);
}

/* A virtio-serial port whose host end is a unix socket QEMU serves; the guest's writes
 * block until the host connects. */
static void dev_port(struct cz_argv *a, const char *id, const char *name, const char *socket)
{
    cz_argv_add(a, "-chardev");
    cz_argv_addf(a, "socket,id=%s,path=%s,server=on,wait=off", id, socket);
    cz_argv_add(a, "-device");
    cz_argv_addf(a, "virtserialport,chardev=%s,name=%s", id, name);
}

static void dev_agent(const struct cz_vm_config *c, const struct cz_vm_paths *p, struct cz_argv *a)
{
    if (c->vsock) {
        cz_argv_add(a, "-device");
        cz_argv_addf(a, "vhost-vsock-device,guest-cid=%u", c->vsock_cid);
    }
    if (c->vsock && !c->output_ports)
        return;
    cz_argv_add(a, "-device");
    cz_argv_addf(a, "virtio-serial-device,max_ports=%d", c->output_ports ? 4 : 2);
    if (!c->vsock)
        dev_port(a, "agent", "cz.agent", p->agent_socket);
    /* The main process's stdout and stderr, written straight into these by the process
     * (docs/vminitd.md "Direct output"). */
    if (c->output_ports) {
        dev_port(a, "out", "cz.out", p->output_socket[0]);
        dev_port(a, "err", "cz.err", p->output_socket[1]);
    }
}

/* Free page reporting: the guest's balloon driver reports free 2 MiB blocks and QEMU
 * drops them, so the VM's host memory shrinks back to what the guest uses (the balloon
 * itself is never inflated). A kernel without the driver ignores the device. */
static void dev_balloon(struct cz_argv *a)
{
    cz_argv_add(a, "-device");
    cz_argv_add(a, "virtio-balloon-device,free-page-reporting=on");
}

static void dev_console(const struct cz_vm_config *c, struct cz_argv *a)
{
    cz_argv_add(a, "-chardev");
    if (c->console_log)
        cz_argv_addf(a, "file,id=console,path=%s,append=on", c->console_log);
    else
        cz_argv_add(a, "null,id=console");
    cz_argv_add(a, "-serial");
    cz_argv_add(a, "chardev:console");
}

static int qemu_build_argv(const struct cz_vm_config *c, enum cz_accel accel,
                           const struct cz_vm_paths *p, struct cz_argv *a, cz_error *err)
{
    if (accel != CZ_ACCEL_KVM && accel != CZ_ACCEL_TCG)
        return cz_error_set(err, EINVAL, "qemu: the accelerator must be decided before start");
    cz_argv_add(a, c->qemu ? c->qemu : "qemu-system-x86_64");
    cz_argv_add(a, "-accel");
    cz_argv_add(a, accel == CZ_ACCEL_KVM ? "kvm" : "tcg,tb-size=64");
    cz_argv_add(a, "-cpu");
    /* Under TCG, ERMS/FSRM tell the guest that `rep movsb` is the fast way to copy; TCG
     * emulates it byte by byte, so every copy_to_user, pipe and memcpy pays. Without them
     * the kernel and glibc copy with wider moves: the raw channel and the Stdio stream run
     * 2-3x faster and the boot is a little cheaper (docs/kernel.md). */
    cz_argv_add(a, accel == CZ_ACCEL_KVM ? "host" : "max,-erms,-fsrm");
    cz_argv_add(a, "-M");
    /* acpi=off: our kernel has no ACPI, and only then does QEMU put the
     * virtio-mmio devices on the kernel command line. */
    cz_argv_add(a, "microvm,x-option-roms=off,acpi=off,isa-serial=on");
    cz_argv_add(a, "-m");
    cz_argv_addf(a, "%llu", (unsigned long long)c->memory_mib);
    if (p->incoming) {
        cz_argv_add(a, "-incoming");
        cz_argv_add(a, "defer");
    }
    cz_argv_add(a, "-smp");
    cz_argv_addf(a, "%u", c->cpus);
    const char *fixed[] = {"-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                           "-nographic"};
    for (size_t i = 0; i < CZ_ARRAY_SIZE(fixed); i++)
        cz_argv_add(a, fixed[i]);
    cz_argv_add(a, "-kernel");
    cz_argv_add(a, c->kernel);
    if (c->initrd) {
        cz_argv_add(a, "-initrd");
        cz_argv_add(a, c->initrd);
    }
    cz_autofree char *cmdline = cz_vm_default_cmdline(accel);
    cz_argv_add(a, "-append");
    cz_argv_addf(a, "%s%s%s", cmdline, c->cmdline ? " " : "", c->cmdline ? c->cmdline : "");
    dev_console(c, a);
    dev_agent(c, p, a);
    dev_disk(c, a);
    dev_share(c, a);
    dev_net(c, p, a);
    dev_balloon(a);
    cz_argv_add(a, "-qmp");
    cz_argv_addf(a, "unix:%s,server=on,wait=off", p->control_socket);
    if (p->events_socket) {
        cz_argv_add(a, "-qmp");
        cz_argv_addf(a, "unix:%s,server=on,wait=off", p->events_socket);
    }
    return 0;
}

/* --- QMP ---------------------------------------------------------- */

static int read_line(int fd, cz_buf *b, int timeout_ms, cz_error *err)
{
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    b->len = 0;
    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 1) {
            if (c == '\n')
                return 0;
            if (b->len > (1u << 20))
                return cz_error_set(err, EMSGSIZE, "qmp: reply too long");
            cz_buf_append(b, &c, 1);
            continue;
        }
        if (n == 0)
            return cz_error_set(err, ECONNRESET, "qmp: connection closed");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return cz_error_errno(err, errno, "qmp: read");
        uint64_t now = cz_now_ns();
        if (now >= deadline)
            return cz_error_set(err, ETIMEDOUT, "qmp: no answer within %d ms", timeout_ms);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
    }
}

/* Read until a reply, skipping asynchronous events (QEMU sends every event to every
 * monitor: a disk that keeps failing sends many), within timeout_ms in all. */
static int read_reply(int fd, char **reply, int timeout_ms, cz_error *err)
{
    cz_buf b = {0};
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        uint64_t now = cz_now_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull);
        if (read_line(fd, &b, left, err) < 0) {
            cz_buf_free(&b);
            return -1;
        }
        json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
        if (!j)
            continue;
        json_t *ret = json_object_get(j, "return");
        json_t *error = json_object_get(j, "error");
        int r = 1;
        if (ret) {
            if (reply)
                *reply = json_dumps(ret, JSON_COMPACT | JSON_ENCODE_ANY);
            r = 0;
        } else if (error) {
            const char *desc = json_string_value(json_object_get(error, "desc"));
            r = cz_error_set(err, EIO, "qmp: %s", desc ? desc : "error");
        }
        json_decref(j);
        if (r <= 0) {
            cz_buf_free(&b);
            return r;
        }
    }
}

/* Events that arrived since the last command: read and dropped, so that the next line
 * read after a command is not an old event (the fd is non-blocking). */
static void drop_pending(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        ;
}

static int qemu_control_call(int fd, const char *command, char **reply, int timeout_ms,
                             cz_error *err)
{
    size_t len = strlen(command);
    drop_pending(fd);
    if (cz_write_all(fd, command, len) < 0 || cz_write_all(fd, "\n", 1) < 0)
        return cz_error_errno(err, errno, "qmp: write");
    return read_reply(fd, reply, timeout_ms, err);
}

/* QMP getfd: pass an open file to QEMU under a name (SCM_RIGHTS with the command). */
static int qemu_control_pass_fd(int fd, int pass, const char *name, int timeout_ms, cz_error *err)
{
    cz_autofree char *cmd =
        cz_xasprintf("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"%s\"}}\n", name);
    drop_pending(fd);
    struct iovec iov = {.iov_base = cmd, .iov_len = strlen(cmd)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pass, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, timeout_ms);
        n = sendmsg(fd, &m, MSG_NOSIGNAL);
    }
    if (n < 0)
        return cz_error_errno(err, errno, "qmp: send a file");
    if ((size_t)n < iov.iov_len && cz_write_all(fd, cmd + n, iov.iov_len - (size_t)n) < 0)
        return cz_error_errno(err, errno, "qmp: write");
    return read_reply(fd, NULL, timeout_ms, err);
}

static int qemu_control_connect(const char *path, int timeout_ms, cz_error *err)
{
    uint64_t deadline = cz_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        int fd = cz_unix_connect(path, SOCK_NONBLOCK, err);
        if (fd >= 0) {
            cz_buf greeting = {0};
            int r = read_line(fd, &greeting, timeout_ms, err);
            cz_buf_free(&greeting);
            if (r == 0 && qemu_control_call(fd, "{\"execute\":\"qmp_capabilities\"}", NULL,
                                            timeout_ms, err) == 0)
                return fd;
            close(fd);
            return cz_error_wrap(err, "connect to QMP at %s", path);
        }
        /* not there yet: QEMU creates and listens on it as it starts */
        if ((err->code != ENOENT && err->code != ECONNREFUSED) || cz_now_ns() >= deadline)
            return cz_error_wrap(err, "QMP");
        cz_error_clear(err);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* QMP events: {"event": NAME, "data": {...}, "timestamp": {...}}. The disks are
 * -drive id=diskN (dev_disk). */
static int qemu_event_parse(const char *line, size_t len, struct cz_vm_event *ev)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    const char *name = json_string_value(json_object_get(j, "event"));
    if (!name || !*name) {
        json_decref(j);
        return 0;
    }
    snprintf(ev->name, sizeof(ev->name), "%s", name);
    json_t *data = json_object_get(j, "data");
    if (!strcmp(name, "STOP")) {
        ev->kind = CZ_VM_EVENT_STOPPED;
    } else if (!strcmp(name, "RESUME")) {
        ev->kind = CZ_VM_EVENT_RESUMED;
    } else if (!strcmp(name, "BLOCK_IO_ERROR")) {
        ev->kind = CZ_VM_EVENT_DISK_ERROR;
        const char *dev = json_string_value(json_object_get(data, "device"));
        unsigned idx;
        char tail;
        if (dev && sscanf(dev, "disk%u%c", &idx, &tail) == 1 && idx < CZ_VM_MAX_DISKS)
            ev->disk = (int)idx;
        ev->nospace = json_is_true(json_object_get(data, "nospace"));
        const char *action = json_string_value(json_object_get(data, "action"));
        ev->paused = action && !strcmp(action, "stop");
        const char *reason = json_string_value(json_object_get(data, "reason"));
        snprintf(ev->reason, sizeof(ev->reason), "%s", reason ? reason : "");
    }
    json_decref(j);
    return 1;
}

const struct cz_vmm_ops cz_vmm_qemu = {
    .name = "qemu",
    .build_argv = qemu_build_argv,
    .control_connect = qemu_control_connect,
    .control_call = qemu_control_call,
    .control_pass_fd = qemu_control_pass_fd,
    .event_parse = qemu_event_parse,
};
