/* CopyIn and CopyOut: tar streams into and out of the guest's filesystem.
 * CopyIn resolves every path inside the destination (openat2 RESOLVE_IN_ROOT:
 * neither ".." nor symlinks planted by the archive lead out of it), writes each
 * file under a temporary name and renames it when complete, and applies
 * directory modes and times at the end. CopyOut walks a tree and streams the
 * archive as the client reads it (flow control through the rpc send queue). */
#include "tar.h"
#include "vminitd.h"

#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static int openat2_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)flags | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
}

/* ------------------------------------------------------------ CopyIn */

typedef struct dir_fixup {
    char *path;
    uint32_t mode;
    struct timespec times[2];
} dir_fixup;

typedef struct copy_in {
    int rootfd;
    char *root_path;
    bool preserve_owners;
    uint32_t uid, gid;
    tar_reader *reader;
    /* current regular file */
    int fd;
    int parentfd;
    char *base, *tmpname;
    tar_entry cur;
    uint64_t bytes;
    dir_fixup *dirs;
    size_t ndirs;
} copy_in;

/* "./a//b/" -> "a/b"; NULL if a component is "..". */
static char *clean_path(const char *p)
{
    cz_buf b = {0};
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            cz_buf_free(&b);
            return NULL;
        }
        if (n > 0 && !(n == 1 && s[0] == '.')) {
            if (b.len)
                cz_buf_append(&b, "/", 1);
            cz_buf_append(&b, s, n);
        }
        s = e;
    }
    return b.data ? cz_buf_steal(&b) : cz_xstrdup("");
}

static int create_dirs(copy_in *c, const char *dir, cz_error *err);

/* Open the directory dir (relative to the root, "" for the root itself),
 * creating missing components, each resolved inside the root. */
static int open_dir_in_root(copy_in *c, const char *dir, cz_error *err)
{
    int fd = openat2_in_root(c->rootfd, dir, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT && create_dirs(c, dir, err) < 0)
        return -1;
    if (fd < 0)
        fd = openat2_in_root(c->rootfd, dir, O_PATH | O_DIRECTORY);
    if (fd < 0)
        return cz_error_errno(err, errno, "copy in: open directory %s", dir[0] ? dir : ".");
    return fd;
}

/* Create the missing components of dir one by one, each resolved in the root. */
static int create_dirs(copy_in *c, const char *dir, cz_error *err)
{
    cz_autofree char *prefix = cz_xstrdup(dir);
    size_t len = strlen(prefix);
    for (size_t i = 0; i <= len; i++) {
        if (prefix[i] != '/' && prefix[i] != '\0')
            continue;
        prefix[i] = '\0';
        char *cut = strrchr(prefix, '/');
        const char *name = cut ? cut + 1 : prefix;
        if (cut)
            *cut = '\0';
        int pfd = openat2_in_root(c->rootfd, cut ? prefix : "", O_PATH | O_DIRECTORY);
        int rc = pfd < 0 ? -1 : mkdirat(pfd, name, 0755);
        int e = errno;
        if (pfd >= 0)
            close(pfd);
        if (cut)
            *cut = '/';
        if (rc < 0 && e != EEXIST)
            return cz_error_errno(err, e, "copy in: create directory %s", prefix);
        if (i < len)
            prefix[i] = '/';
    }
    return 0;
}

/* Open the parent directory of rel; *base points into rel at the last component. */
static int open_parent(copy_in *c, const char *rel, const char **base, cz_error *err)
{
    const char *slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    cz_autofree char *dir = cz_xstrndup(rel, slash ? (size_t)(slash - rel) : 0);
    return open_dir_in_root(c, dir, err);
}

static void owner_of(copy_in *c, const tar_entry *e, uid_t *uid, gid_t *gid)
{
    *uid = c->preserve_owners ? e->uid : c->uid;
    *gid = c->preserve_owners ? e->gid : c->gid;
}

/* Make room for a new entry named base: replace anything but a directory. */
static void remove_existing(int pfd, const char *base, bool keep_dir)
{
    struct stat st;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        if (!keep_dir)
            unlinkat(pfd, base, AT_REMOVEDIR); /* only if empty */
        return;
    }
    unlinkat(pfd, base, 0);
}

static int in_begin(void *ctx, const tar_entry *e, cz_error *err)
{
    copy_in *c = ctx;
    cz_autofree char *rel = clean_path(e->path);
    if (!rel)
        return cz_error_set(err, EINVAL, "copy in: entry '%s' has a '..' component", e->path);
    c->cur = *e;
    if (!rel[0]) {
        return 0; /* "./": the destination itself */
    }
    const char *base;
    cz_autoclose int pfd = open_parent(c, rel, &base, err);
    if (pfd < 0)
        return -1;
    uid_t uid;
    gid_t gid;
    owner_of(c, e, &uid, &gid);
    struct timespec times[2] = {{.tv_sec = e->mtime_sec, .tv_nsec = e->mtime_nsec},
                                {.tv_sec = e->mtime_sec, .tv_nsec = e->mtime_nsec}};
    switch (e->type) {
    case '5':
        remove_existing(pfd, base, true);
        if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
            return cz_error_errno(err, errno, "copy in: mkdir %s", rel);
        if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return cz_error_errno(err, errno, "copy in: chown %s", rel);
        c->dirs = cz_xrealloc(c->dirs, (c->ndirs + 1) * sizeof(*c->dirs));
        c->dirs[c->ndirs++] = (dir_fixup){cz_xstrdup(rel), e->mode, {times[0], times[1]}};
        return 0;
    case '2':
        if (!e->linkpath[0])
            return cz_error_set(err, EINVAL, "copy in: symlink %s has no target", rel);
        remove_existing(pfd, base, false);
        if (symlinkat(e->linkpath, pfd, base) < 0)
            return cz_error_errno(err, errno, "copy in: symlink %s", rel);
        fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
        utimensat(pfd, base, times, AT_SYMLINK_NOFOLLOW);
        return 0;
    case '1': {
        cz_autofree char *target = clean_path(e->linkpath);
        if (!target || !target[0])
            return cz_error_set(err, EINVAL, "copy in: hard link %s has an invalid target '%s'",
                                rel, e->linkpath);
        const char *tbase;
        cz_autoclose int tpfd = open_parent(c, target, &tbase, err);
        if (tpfd < 0)
            return -1;
        remove_existing(pfd, base, false);
        if (linkat(tpfd, tbase, pfd, base, 0) < 0)
            return cz_error_errno(err, errno, "copy in: hard link %s to %s", rel, target);
        return 0;
    }
    case '3':
    case '4':
    case '6': {
        mode_t type = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
        remove_existing(pfd, base, false);
        if (mknodat(pfd, base, type | (e->mode & 07777), makedev(e->devmajor, e->devminor)) < 0)
            return cz_error_errno(err, errno, "copy in: mknod %s", rel);
        fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
        utimensat(pfd, base, times, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    default: /* '0' */
        break;
    }
    c->base = cz_xstrdup(base);
    c->tmpname = cz_xasprintf(".cz-copyin-%s", base);
    if (strlen(c->tmpname) > 255) {
        free(c->tmpname);
        c->tmpname = cz_xstrdup(".cz-copyin-tmp");
    }
    unlinkat(pfd, c->tmpname, 0);
    c->fd = openat(pfd, c->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (c->fd < 0)
        return cz_error_errno(err, errno, "copy in: create %s", rel);
    c->parentfd = cz_steal_fd(&pfd);
    return 0;
}

static int in_data(void *ctx, const uint8_t *p, size_t n, cz_error *err)
{
    copy_in *c = ctx;
    while (n > 0) {
        ssize_t w = write(c->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return cz_error_errno(err, errno, "copy in: write %s", c->cur.path);
        }
        p += w;
        n -= (size_t)w;
        c->bytes += (uint64_t)w;
    }
    return 0;
}

static void drop_file(copy_in *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        unlinkat(c->parentfd, c->tmpname, 0);
    }
    if (c->parentfd >= 0)
        close(c->parentfd);
    c->fd = c->parentfd = -1;
    free(c->base);
    free(c->tmpname);
    c->base = c->tmpname = NULL;
}

static int in_end(void *ctx, cz_error *err)
{
    copy_in *c = ctx;
    if (c->fd < 0)
        return 0;
    uid_t uid;
    gid_t gid;
    owner_of(c, &c->cur, &uid, &gid);
    struct timespec times[2] = {{.tv_sec = c->cur.mtime_sec, .tv_nsec = c->cur.mtime_nsec},
                                {.tv_sec = c->cur.mtime_sec, .tv_nsec = c->cur.mtime_nsec}};
    int rc = 0;
    if (fchown(c->fd, uid, gid) < 0 || fchmod(c->fd, c->cur.mode & 07777) < 0 ||
        futimens(c->fd, times) < 0)
        rc = cz_error_errno(err, errno, "copy in: set attributes of %s", c->cur.path);
    else {
        remove_existing(c->parentfd, c->base, false);
        if (renameat(c->parentfd, c->tmpname, c->parentfd, c->base) < 0)
            rc = cz_error_errno(err, errno, "copy in: rename into %s", c->cur.path);
    }
    if (rc == 0) {
        close(c->fd);
        c->fd = -1;
    }
    drop_file(c);
    return rc;
}

static const tar_ops copy_in_ops = {.begin = in_begin, .data = in_data, .end = in_end};

static void copy_in_free(copy_in *c)
{
    if (!c)
        return;
    drop_file(c);
    tar_reader_free(c->reader);
    if (c->rootfd >= 0)
        close(c->rootfd);
    for (size_t i = 0; i < c->ndirs; i++)
        free(c->dirs[i].path);
    free(c->dirs);
    free(c->root_path);
    free(c);
}

static int copy_in_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    const Cz__Agent__V1__CopyInRequest *r = (const Cz__Agent__V1__CopyInRequest *)msg;
    copy_in *c = cz_rpc_call_data(call);
    if (!c) {
        if (r->part_case != CZ__AGENT__V1__COPY_IN_REQUEST__PART_HEADER)
            return cz_error_set(err, EINVAL, "copy in: the first message must be the header");
        const Cz__Agent__V1__CopyInHeader *h = r->header;
        if (vminitd_check_path("copy in", h->path, err) < 0)
            return -1;
        c = cz_xcalloc(1, sizeof(*c));
        c->fd = c->parentfd = -1;
        c->rootfd = open(h->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->rootfd < 0) {
            int e = errno;
            free(c);
            return cz_error_errno(err, e, "copy in: open %s", h->path);
        }
        c->root_path = cz_xstrdup(h->path);
        c->preserve_owners = h->preserve_owners;
        c->uid = h->uid;
        c->gid = h->gid;
        c->reader = tar_reader_new(&copy_in_ops, c);
        cz_rpc_call_set_data(call, c);
        return 0;
    }
    if (r->part_case != CZ__AGENT__V1__COPY_IN_REQUEST__PART_DATA)
        return cz_error_set(err, EINVAL, "copy in %s: a second header", c->root_path);
    if (tar_reader_feed(c->reader, r->data.data, r->data.len, err) < 0)
        return cz_error_wrap(err, "copy in %s", c->root_path);
    return 0;
}

static int copy_in_half_close(cz_rpc_call *call, cz_error *err)
{
    copy_in *c = cz_rpc_call_data(call);
    if (!c)
        return cz_error_set(err, EINVAL, "copy in: no header");
    if (tar_reader_finish(c->reader, err) < 0)
        return cz_error_wrap(err, "copy in %s", c->root_path);
    /* Directory modes and times last: a read-only directory could not be filled. */
    for (size_t i = c->ndirs; i-- > 0;) {
        cz_autoclose int fd = openat2_in_root(c->rootfd, c->dirs[i].path, O_RDONLY | O_DIRECTORY);
        if (fd < 0 || fchmod(fd, c->dirs[i].mode & 07777) < 0 || futimens(fd, c->dirs[i].times) < 0)
            return cz_error_errno(err, errno, "copy in %s: set attributes of %s", c->root_path,
                                  c->dirs[i].path);
    }
    Cz__Agent__V1__CopyInResponse resp = CZ__AGENT__V1__COPY_IN_RESPONSE__INIT;
    resp.entries = tar_reader_entries(c->reader);
    resp.bytes = c->bytes;
    return cz_rpc_call_reply(call, &resp.base, err);
}

static void copy_in_close(cz_rpc_call *call, int status, const char *message)
{
    copy_in_free(cz_rpc_call_data(call));
}

static const cz_rpc_handler copy_in_handler = {
    .on_message = copy_in_msg, .on_half_close = copy_in_half_close, .on_close = copy_in_close};

/* ------------------------------------------------------------ CopyOut */

typedef struct out_item {
    char *abs;  /* path on disk */
    char *name; /* name in the archive */
    struct stat st;
} out_item;

typedef struct copy_out {
    cz_rpc_call *call;
    out_item *items;
    size_t n, next;
    int fd;        /* file being streamed */
    uint64_t left; /* its bytes still to send */
    size_t pad;    /* padding after it */
    cz_buf buf;    /* archive bytes not yet sent */
    struct {
        dev_t dev;
        ino_t ino;
        char *name;
    } * links; /* first name of multi-linked files */
    size_t nlinks;
    uint64_t timer;
} copy_out;

#define OUT_CHUNK (256u << 10)

static copy_out *walking;
static size_t walk_prefix;
static const char *walk_base;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    copy_out *o = walking;
    if (o->n % 256 == 0)
        o->items = cz_xrealloc(o->items, (o->n + 256) * sizeof(*o->items));
    out_item *it = &o->items[o->n++];
    it->abs = cz_xstrdup(path);
    it->name = cz_xasprintf("%s%s", walk_base, path + walk_prefix);
    it->st = *st;
    return 0;
}

static void copy_out_free(copy_out *o)
{
    if (!o)
        return;
    if (o->timer)
        cz_loop_cancel_timer(g_vminitd.loop, o->timer);
    if (o->fd >= 0)
        close(o->fd);
    for (size_t i = 0; i < o->n; i++) {
        free(o->items[i].abs);
        free(o->items[i].name);
    }
    free(o->items);
    for (size_t i = 0; i < o->nlinks; i++)
        free(o->links[i].name);
    free(o->links);
    cz_buf_free(&o->buf);
    free(o);
}

/* Send the buffered archive bytes as one message. */
static int flush_out(copy_out *o, cz_error *err)
{
    if (!o->buf.len)
        return 0;
    Cz__Agent__V1__CopyOutResponse m = CZ__AGENT__V1__COPY_OUT_RESPONSE__INIT;
    m.data.data = (uint8_t *)o->buf.data;
    m.data.len = o->buf.len;
    int rc = cz_rpc_call_send(o->call, &m.base, err);
    o->buf.len = 0;
    return rc;
}

static int add_item_header(copy_out *o, out_item *it, cz_error *err)
{
    struct stat *st = &it->st;
    tar_entry e = {
        .path = it->name,
        .linkpath = "",
        .mode = st->st_mode & 07777,
        .uid = st->st_uid,
        .gid = st->st_gid,
        .mtime_sec = st->st_mtim.tv_sec,
        .mtime_nsec = (uint32_t)st->st_mtim.tv_nsec,
    };
    char target[4096];
    cz_autofree char *dirname_slash = NULL;
    if (S_ISDIR(st->st_mode)) {
        e.type = '5';
        size_t nl = strlen(it->name);
        dirname_slash = cz_xasprintf("%s%s", it->name, nl && it->name[nl - 1] == '/' ? "" : "/");
        e.path = dirname_slash;
    } else if (S_ISLNK(st->st_mode)) {
        ssize_t n = readlink(it->abs, target, sizeof(target) - 1);
        if (n < 0)
            return cz_error_errno(err, errno, "copy out: readlink %s", it->abs);
        target[n] = '\0';
        e.type = '2';
        e.linkpath = target;
    } else if (S_ISREG(st->st_mode)) {
        e.type = '0';
        if (st->st_nlink > 1) {
            for (size_t i = 0; i < o->nlinks; i++) {
                if (o->links[i].dev == st->st_dev && o->links[i].ino == st->st_ino) {
                    e.type = '1';
                    e.linkpath = o->links[i].name;
                    break;
                }
            }
            if (e.type == '0') {
                o->links = cz_xrealloc(o->links, (o->nlinks + 1) * sizeof(*o->links));
                o->links[o->nlinks].dev = st->st_dev;
                o->links[o->nlinks].ino = st->st_ino;
                o->links[o->nlinks++].name = cz_xstrdup(it->name);
            }
        }
        if (e.type == '0') {
            o->fd = open(it->abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (o->fd < 0)
                return cz_error_errno(err, errno, "copy out: open %s", it->abs);
            e.size = (uint64_t)st->st_size;
            o->left = e.size;
            o->pad = tar_padding(e.size);
        }
    } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode)) {
        e.type = S_ISCHR(st->st_mode) ? '3' : S_ISBLK(st->st_mode) ? '4' : '6';
        e.devmajor = major(st->st_rdev);
        e.devminor = minor(st->st_rdev);
    } else {
        return 0; /* sockets: not archivable, skipped as tar does */
    }
    tar_write_header(&o->buf, &e);
    return 0;
}

/* Produce archive bytes until the send queue is full or the archive is done. */
static void copy_out_pump(copy_out *o)
{
    cz_error err = {0};
    static const uint8_t zeros[2 * TAR_BLOCK];
    while (cz_rpc_call_pending(o->call) < CZ_RPC_SEND_HIGH_WATER) {
        if (o->fd >= 0) {
            size_t want = (size_t)CZ_MIN((uint64_t)OUT_CHUNK, o->left);
            size_t at = o->buf.len;
            if (o->buf.cap < at + want + 1) {
                o->buf.data = cz_xrealloc(o->buf.data, at + want + 1);
                o->buf.cap = at + want + 1;
            }
            ssize_t n = want ? read(o->fd, o->buf.data + at, want) : 0;
            if (n < 0) {
                cz_error_errno(&err, errno, "copy out: read %s", o->items[o->next - 1].abs);
                goto fail;
            }
            if (n == 0 && o->left > 0) {
                /* the file shrank while being archived: pad with zeros to the header size */
                size_t z = (size_t)CZ_MIN(o->left, (uint64_t)want);
                memset(o->buf.data + at, 0, z);
                n = (ssize_t)z;
            }
            o->buf.len = at + (size_t)n;
            o->left -= (uint64_t)n;
            if (o->left == 0) {
                cz_buf_append(&o->buf, zeros, o->pad);
                close(o->fd);
                o->fd = -1;
            }
        } else if (o->next < o->n) {
            if (add_item_header(o, &o->items[o->next++], &err) < 0)
                goto fail;
        } else {
            cz_buf_append(&o->buf, zeros, sizeof(zeros));
            if (flush_out(o, &err) < 0)
                goto fail;
            cz_rpc_call_finish(o->call, NULL);
            return;
        }
        if (o->buf.len >= OUT_CHUNK && flush_out(o, &err) < 0)
            goto fail;
    }
    return; /* resumed by on_writable */
fail:
    cz_rpc_call_finish(o->call, &err);
}

static int copy_out_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    const Cz__Agent__V1__CopyOutRequest *r = (const Cz__Agent__V1__CopyOutRequest *)msg;
    if (cz_rpc_call_data(call))
        return cz_error_set(err, EINVAL, "copy out: one request per call");
    if (vminitd_check_path("copy out", r->path, err) < 0)
        return -1;
    struct stat st;
    if (lstat(r->path, &st) < 0)
        return cz_error_errno(err, errno, "copy out %s", r->path);
    copy_out *o = cz_xcalloc(1, sizeof(*o));
    o->call = call;
    o->fd = -1;
    cz_rpc_call_set_data(call, o);
    /* The archive holds the path under its base name ("/a/b" -> "b", "b/..."). */
    cz_autofree char *copy = cz_xstrdup(r->path);
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *slash = strrchr(copy, '/');
    walk_base = slash && slash[1] ? slash + 1 : ".";
    walk_prefix = len == 1 ? 0 : len; /* "/": names "./etc", ... */
    walking = o;
    int rc = nftw(copy, walk_one, 64, FTW_PHYS);
    walking = NULL;
    if (rc != 0)
        return cz_error_errno(err, errno, "copy out: walk %s", r->path);
    copy_out_pump(o);
    return 0;
}

static void copy_out_writable(cz_rpc_call *call)
{
    copy_out *o = cz_rpc_call_data(call);
    if (o && !cz_rpc_call_is_done(call))
        copy_out_pump(o);
}

static void copy_out_close(cz_rpc_call *call, int status, const char *message)
{
    copy_out_free(cz_rpc_call_data(call));
}

static const cz_rpc_handler copy_out_handler = {
    .on_message = copy_out_msg, .on_writable = copy_out_writable, .on_close = copy_out_close};

int vminitd_register_copy(cz_rpc_server *server, cz_error *err)
{
    if (cz_rpc_server_add_method(server, AGENT, "CopyIn", &copy_in_handler, NULL, err) < 0 ||
        cz_rpc_server_add_method(server, AGENT, "CopyOut", &copy_out_handler, NULL, err) < 0)
        return -1;
    return 0;
}
