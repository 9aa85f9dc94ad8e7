/* Filesystem methods of the agent API: Mount, Umount, Mkdir, WriteFile,
 * ReadFile, Stat, Sync. Each turns one request into a few syscalls; failures
 * come back as cz_errors naming the path and the cause (the rpc server maps the
 * errno to the status). */
#include "vminitd.h"

#include "base/fs.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* ---- Mount ---- */

static const struct {
    const char *name;
    unsigned long set, clear;
} mount_flags[] = {
    {"defaults", 0, 0},
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", MS_REMOUNT, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
};

static const struct {
    const char *name;
    unsigned long flags;
} propagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int do_mount(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__MountRequest *r = (const Cz__Agent__V1__MountRequest *)msg;
    if (vminitd_check_path("mount", r->target, err) < 0)
        return -1;
    unsigned long flags = 0, prop = 0;
    cz_buf fsdata = {0};
    for (size_t i = 0; i < r->n_options; i++) {
        const char *o = r->options[i];
        bool known = false;
        for (size_t k = 0; k < CZ_ARRAY_SIZE(mount_flags) && !known; k++) {
            if (strcmp(o, mount_flags[k].name) == 0) {
                flags = (flags | mount_flags[k].set) & ~mount_flags[k].clear;
                known = true;
            }
        }
        for (size_t k = 0; k < CZ_ARRAY_SIZE(propagation) && !known; k++) {
            if (strcmp(o, propagation[k].name) == 0) {
                prop |= propagation[k].flags;
                known = true;
            }
        }
        if (!known && o[0]) {
            if (fsdata.len)
                cz_buf_append(&fsdata, ",", 1);
            cz_buf_append(&fsdata, o, strlen(o));
        }
    }
    cz_autofree char *fsopts = cz_buf_steal(&fsdata);
    if (r->create_target && cz_mkdir_p(r->target, 0755, err) < 0)
        return cz_error_wrap(err, "mount on %s", r->target);
    const char *type = r->fstype[0] ? r->fstype : NULL;
    const char *source = r->source[0] ? r->source : "none";
    unsigned long first = flags;
    if (flags & MS_BIND)
        first &= ~(unsigned long)MS_RDONLY; /* bind mounts ignore it: see below */
    if (mount(source, r->target, type, first, fsopts) < 0)
        return cz_error_errno(err, errno, "mount %s on %s (type %s, options %s)", source, r->target,
                              type ? type : "none", fsopts ? fsopts : "");
    /* A read-only bind mount takes a second, remounting call. */
    if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
        mount(NULL, r->target, NULL, MS_REMOUNT | MS_BIND | (flags & ~(unsigned long)MS_REC),
              NULL) < 0) {
        int e = errno;
        umount2(r->target, MNT_DETACH);
        return cz_error_errno(err, e, "remount %s read-only", r->target);
    }
    if (prop && mount(NULL, r->target, NULL, prop, NULL) < 0)
        return cz_error_errno(err, errno, "set propagation of %s", r->target);
    return cz_rpc_call_reply_empty(call, err);
}

static int do_umount(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__UmountRequest *r = (const Cz__Agent__V1__UmountRequest *)msg;
    if (vminitd_check_path("umount", r->target, err) < 0)
        return -1;
    int flags = (r->lazy ? MNT_DETACH : 0) | (r->force ? MNT_FORCE : 0);
    if (umount2(r->target, flags) < 0)
        return cz_error_errno(err, errno, "umount %s", r->target);
    return cz_rpc_call_reply_empty(call, err);
}

/* ---- Mkdir, WriteFile ---- */

static int set_owner(const char *path, bool set, uint32_t uid, uint32_t gid, cz_error *err)
{
    if (set && lchown(path, uid, gid) < 0)
        return cz_error_errno(err, errno, "chown %s to %u:%u", path, uid, gid);
    return 0;
}

static int do_mkdir(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__MkdirRequest *r = (const Cz__Agent__V1__MkdirRequest *)msg;
    if (vminitd_check_path("mkdir", r->path, err) < 0)
        return -1;
    mode_t mode = r->mode ? (mode_t)(r->mode & 07777) : 0755;
    if (r->parents) {
        if (cz_mkdir_p(r->path, 0755, err) < 0)
            return -1;
    } else if (mkdir(r->path, mode) < 0) {
        return cz_error_errno(err, errno, "mkdir %s", r->path);
    }
    /* mkdir(2) applies the umask; the caller asked for exactly this mode. */
    if (chmod(r->path, mode) < 0)
        return cz_error_errno(err, errno, "chmod %s", r->path);
    if (set_owner(r->path, r->set_owner, r->uid, r->gid, err) < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

/* Files of /proc, /sys and the like are regular files that only take a write in place:
 * no temporary file can be created beside them. */
static bool on_kernel_fs(const char *path)
{
    struct statfs fs;
    if (statfs(path, &fs) < 0)
        return false;
    switch ((unsigned long)fs.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case BINFMTFS_MAGIC:
    case DEBUGFS_MAGIC:
    case SECURITYFS_MAGIC:
    case TRACEFS_MAGIC:
        return true;
    default:
        return false;
    }
}
static int do_write_file(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__WriteFileRequest *r = (const Cz__Agent__V1__WriteFileRequest *)msg;
    if (vminitd_check_path("write", r->path, err) < 0)
        return -1;
    mode_t mode = r->mode ? (mode_t)(r->mode & 07777) : 0644;
    if (r->create_parents) {
        cz_autofree char *dir = cz_dirname(r->path);
        if (cz_mkdir_p(dir, 0755, err) < 0)
            return cz_error_wrap(err, "write %s", r->path);
    }
    if (r->append) {
        cz_autoclose int fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
        if (fd < 0)
            return cz_error_errno(err, errno, "open %s", r->path);
        if (cz_write_all(fd, r->data.data, r->data.len) < 0)
            return cz_error_errno(err, errno, "write %s", r->path);
    } else {
        struct stat st;
        if (stat(r->path, &st) == 0 && (!S_ISREG(st.st_mode) || on_kernel_fs(r->path))) {
            /* /proc, /sys, devices: write in place, no temp file beside them. */
            cz_autoclose int fd = open(r->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
            if (fd < 0)
                return cz_error_errno(err, errno, "open %s", r->path);
            if (cz_write_all(fd, r->data.data, r->data.len) < 0)
                return cz_error_errno(err, errno, "write %s", r->path);
        } else if (cz_write_file_atomic(r->path, r->data.data, r->data.len, mode, err) < 0) {
            return -1;
        }
    }
    if (set_owner(r->path, r->set_owner, r->uid, r->gid, err) < 0)
        return -1;
    return cz_rpc_call_reply_empty(call, err);
}

/* ---- ReadFile, Stat, Sync ---- */

/* What fits in one reply under the default message size limit. */
#define READ_LIMIT (CZ_RPC_DEFAULT_MAX_MESSAGE - (1u << 20))

static int do_read_file(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__ReadFileRequest *r = (const Cz__Agent__V1__ReadFileRequest *)msg;
    if (vminitd_check_path("read", r->path, err) < 0)
        return -1;
    cz_autoclose int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "open %s", r->path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cz_error_errno(err, errno, "stat %s", r->path);
    if (S_ISDIR(st.st_mode))
        return cz_error_set(err, EISDIR, "read %s: is a directory", r->path);
    size_t limit = r->limit && r->limit < READ_LIMIT ? (size_t)r->limit : READ_LIMIT;
    cz_autofree uint8_t *buf = cz_xmalloc(CZ_MIN(limit, (size_t)CZ_MAX(st.st_size, 65536)) + 1);
    size_t cap = CZ_MIN(limit, (size_t)CZ_MAX(st.st_size, 65536));
    size_t len = 0;
    bool eof = false;
    off_t off = (off_t)r->offset;
    while (len < limit) {
        if (len == cap) {
            cap = CZ_MIN(limit, cap * 2);
            buf = cz_xrealloc(buf, cap + 1);
        }
        ssize_t n = pread(fd, buf + len, cap - len, off + (off_t)len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cz_error_errno(err, errno, "read %s", r->path);
        }
        if (n == 0) {
            eof = true;
            break;
        }
        len += (size_t)n;
    }
    if (!eof && S_ISREG(st.st_mode) && off + (off_t)len >= st.st_size)
        eof = true;
    Cz__Agent__V1__ReadFileResponse resp = CZ__AGENT__V1__READ_FILE_RESPONSE__INIT;
    resp.data.data = buf;
    resp.data.len = len;
    resp.size = (uint64_t)st.st_size;
    resp.eof = eof;
    return cz_rpc_call_reply(call, &resp.base, err);
}

static int do_stat(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__StatRequest *r = (const Cz__Agent__V1__StatRequest *)msg;
    if (vminitd_check_path("stat", r->path, err) < 0)
        return -1;
    struct stat st;
    if ((r->follow_symlinks ? stat(r->path, &st) : lstat(r->path, &st)) < 0)
        return cz_error_errno(err, errno, "stat %s", r->path);
    Cz__Agent__V1__StatResponse resp = CZ__AGENT__V1__STAT_RESPONSE__INIT;
    resp.mode = st.st_mode;
    resp.size = (uint64_t)st.st_size;
    resp.uid = st.st_uid;
    resp.gid = st.st_gid;
    resp.nlink = st.st_nlink;
    resp.ino = st.st_ino;
    resp.dev = st.st_dev;
    resp.mtime_unix_nanos = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    char target[4096] = "";
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(r->path, target, sizeof(target) - 1);
        if (n < 0)
            return cz_error_errno(err, errno, "readlink %s", r->path);
        target[n] = '\0';
    }
    resp.link_target = target;
    return cz_rpc_call_reply(call, &resp.base, err);
}

static int do_sync(cz_rpc_call *call, const ProtobufCMessage *msg, void *data, cz_error *err)
{
    const Cz__Agent__V1__SyncRequest *r = (const Cz__Agent__V1__SyncRequest *)msg;
    if (!r->path[0]) {
        sync();
    } else {
        if (vminitd_check_path("sync", r->path, err) < 0)
            return -1;
        cz_autoclose int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            return cz_error_errno(err, errno, "open %s", r->path);
        if (syncfs(fd) < 0)
            return cz_error_errno(err, errno, "syncfs %s", r->path);
    }
    return cz_rpc_call_reply_empty(call, err);
}

int vminitd_register_fs(cz_rpc_server *server, cz_error *err)
{
    static const struct {
        const char *name;
        cz_rpc_unary_fn fn;
    } methods[] = {
        {"Mount", do_mount},        {"Umount", do_umount},
        {"Mkdir", do_mkdir},        {"WriteFile", do_write_file},
        {"ReadFile", do_read_file}, {"Stat", do_stat},
        {"Sync", do_sync},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(methods); i++)
        if (cz_rpc_server_add_unary(server, AGENT, methods[i].name, methods[i].fn, NULL, err) < 0)
            return -1;
    return 0;
}
