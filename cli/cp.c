/* `container cp`: copy files and directories between the host and a container,
 * running or not, like docker cp. Both directions travel as tar streams through
 * the container's runtime to vminitd: CopyOut archives a guest path, CopyIn
 * extracts into a guest directory. The host side reads and writes tar with
 * libarchive. Guest paths are resolved here, component by component through the
 * agent's Stat, with the container's root as "/" (an absolute symlink in the
 * container points inside the container): in a running container under
 * /proc/PID/root of its first process, so its mounts (volumes, tmpfs) are seen as
 * the container sees them; in one that is not running, a maintenance runtime
 * boots its VM for the copy with its volumes and bind mounts placed on the
 * overlay root (guest.c, docs/runtime.md). "-" as the source reads a tar stream
 * from stdin; as the destination writes one to stdout. */
#include "cli.h"

#include <cz/container.h>

#include "agent.pb-c.h"
#include "base/fs.h"
#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AGENT (&cz__agent__v1__agent__descriptor)
#define CALL_TIMEOUT_MS 30000
#define MAX_LINKS 40         /* symlinks followed while resolving one path */
#define CHUNK (256u << 10)   /* CopyIn message size */
#define QUEUE_MAX (4u << 20) /* CopyOut bytes buffered before pausing the stream */
#define FALLBACK_ROOT "/run/cz/rootfs"

/* ---------------------------------------------------- guest paths */

/* The container's root in vminitd's view: /proc/PID/root of the lowest pid in
 * its cgroup (its first process), else the overlay root without mounts. */
static char *guest_root(struct cli_guest *g)
{
    if (g->maintenance) /* no process: the root with the mounts placed on it */
        return cz_xstrdup(FALLBACK_ROOT);
    cz_autofree char *procs = cz_xasprintf("/sys/fs/cgroup/cz/%s/cgroup.procs", g->id);
    cz_autofree char *text = cli_guest_read_text(g, procs, 64 << 10, CALL_TIMEOUT_MS);
    if (!text)
        return cz_xstrdup(FALLBACK_ROOT);
    long best = 0;
    for (char *p = text, *tok; (tok = strsep(&p, "\n"));) {
        long v = strtol(tok, NULL, 10);
        if (v > 0 && (best == 0 || v < best))
            best = v;
    }
    return best ? cz_xasprintf("/proc/%ld/root", best) : cz_xstrdup(FALLBACK_ROOT);
}

struct gstat {
    bool exists;
    uint32_t mode;
};

static int guest_lstat(struct cli_guest *g, const char *root, const char *path, struct gstat *s,
                       char **link, cz_error *err)
{
    Cz__Agent__V1__StatRequest q = CZ__AGENT__V1__STAT_REQUEST__INIT;
    cz_autofree char *full = cz_xasprintf("%s%s", root, path);
    q.path = full;
    ProtobufCMessage *r = NULL;
    *s = (struct gstat){0};
    if (cli_guest_call(g, "Stat", &q.base, &r, CALL_TIMEOUT_MS, err) < 0) {
        if (err->code == ENOENT || err->code == ENOTDIR)
            return 0;
        return cz_error_wrap(err, "stat %s:%s", g->name, path);
    }
    const Cz__Agent__V1__StatResponse *st = (const void *)r;
    s->exists = true;
    s->mode = st->mode;
    if (link)
        *link = S_ISLNK(st->mode) ? cz_xstrdup(st->link_target ? st->link_target : "") : NULL;
    protobuf_c_message_free_unpacked(r, NULL);
    return 0;
}

/* Resolve path (absolute in the container) with the container's root as "/":
 * "." and ".." are handled, symlinks followed (the last one only if
 * follow_last). *out: the resolved absolute path ("/" for the root); *st: what
 * is there (exists false when the last component is missing; a missing
 * directory above it is an error). */
static int guest_resolve(struct cli_guest *g, const char *root, const char *path, bool follow_last,
                         char **out, struct gstat *st, cz_error *err)
{
    cz_buf todo = {0}; /* remaining path, '/'-separated */
    cz_buf_append(&todo, path, strlen(path));
    cz_buf_append(&todo, "", 1);
    cz_buf res = {0};
    cz_buf_append(&res, "", 1);
    res.len = 0;
    int links = 0, rc = 0;
    *st = (struct gstat){.exists = true, .mode = S_IFDIR | 0755};
    size_t pos = 0;
    while (rc == 0) {
        const char *s = todo.data + pos;
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        cz_autofree char *comp = cz_xstrndup(s, n);
        pos = (size_t)(s - todo.data) + n;
        const char *rest = todo.data + pos;
        while (*rest == '/')
            rest++;
        bool last = !*rest;
        if (!strcmp(comp, "."))
            continue;
        if (!strcmp(comp, "..")) {
            char *slash = res.len ? strrchr(res.data, '/') : NULL;
            if (slash) {
                *slash = 0;
                res.len = (size_t)(slash - res.data);
            }
            *st = (struct gstat){.exists = true, .mode = S_IFDIR | 0755};
            continue;
        }
        if (!st->exists || !S_ISDIR(st->mode)) {
            rc = cz_error_set(err, ENOTDIR, "%s:%s: not a directory: %s", g->name, path,
                              res.len ? res.data : "/");
            break;
        }
        size_t before = res.len;
        cz_buf_append(&res, "/", 1);
        cz_buf_append(&res, comp, n);
        cz_buf_append(&res, "", 1);
        res.len--;
        char *link = NULL;
        if (guest_lstat(g, root, res.data, st, &link, err) < 0) {
            rc = -1;
            break;
        }
        if (!st->exists) {
            if (!last)
                rc = cz_error_set(err, ENOENT, "%s:%s: no such file or directory", g->name, path);
            break;
        }
        if (link && (!last || follow_last)) {
            if (++links > MAX_LINKS) {
                free(link);
                rc = cz_error_set(err, ELOOP, "%s:%s: too many levels of symbolic links", g->name,
                                  path);
                break;
            }
            /* continue with the link's target, then what was left */
            cz_buf next = {0};
            cz_buf_append(&next, link, strlen(link));
            cz_buf_append(&next, "/", 1);
            cz_buf_append(&next, rest, strlen(rest) + 1);
            free(link);
            cz_buf_free(&todo);
            todo = next;
            pos = 0;
            res.len = todo.data[0] == '/' ? 0 : before;
            if (res.data)
                res.data[res.len] = 0;
            *st = (struct gstat){.exists = true, .mode = S_IFDIR | 0755};
            continue;
        }
        free(link);
    }
    cz_buf_free(&todo);
    if (rc < 0) {
        cz_buf_free(&res);
        return -1;
    }
    *out = res.len ? cz_buf_steal(&res) : cz_xstrdup("/");
    cz_buf_free(&res);
    return 0;
}

/* ---------------------------------------------------- naming rules */

/* Does path end with "/." (copy a directory's contents, not the directory)? */
static bool ends_with_dot(const char *p)
{
    size_t n = strlen(p);
    return (n >= 2 && !strcmp(p + n - 2, "/.")) || !strcmp(p, ".");
}

static bool ends_with_slash(const char *p)
{
    size_t n = strlen(p);
    return n > 0 && p[n - 1] == '/';
}

/* The last component of a path ("a/b/" -> "b", "/" -> "."). */
static char *last_component(const char *p)
{
    cz_autofree char *c = cz_xstrdup(p);
    size_t n = strlen(c);
    while (n > 1 && c[n - 1] == '/')
        c[--n] = 0;
    const char *s = strrchr(c, '/');
    const char *b = s ? s + 1 : c;
    return cz_xstrdup(*b ? b : ".");
}

/* Replace the first component of an archive name: "old/x" -> "new/x". Entries
 * outside old are refused (NULL). */
static char *rename_entry(const char *name, const char *old, const char *new_)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    const char *o = old;
    while (o[0] == '.' && o[1] == '/')
        o += 2;
    if (!strcmp(o, ".")) { /* the archive of "/" names entries "./x" */
        if (!*name || !strcmp(name, "."))
            return cz_xstrdup(new_);
        return cz_xasprintf("%s/%s", new_, name);
    }
    size_t n = strlen(o);
    if (strncmp(name, o, n) || (name[n] && name[n] != '/'))
        return NULL;
    return cz_xasprintf("%s%s", new_, name + n);
}

/* ---------------------------------------------------- container -> host */

struct out_stream {
    cz_loop *loop;
    cz_rpc_call *call;
    cz_buf q; /* received, not yet consumed */
    size_t q_off;
    bool paused, closed;
    int status;
    char *message;
    const void *chunk_hold; /* the bytes handed to libarchive last */
    cz_buf hold;
};

static int out_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    (void)err;
    struct out_stream *s = cz_rpc_call_handler_data(call);
    const Cz__Agent__V1__CopyOutResponse *m = (const void *)msg;
    cz_buf_append(&s->q, m->data.data, m->data.len);
    if (s->q.len - s->q_off > QUEUE_MAX && !s->paused) {
        cz_rpc_call_pause(call);
        s->paused = true;
    }
    return 0;
}

static void out_close(cz_rpc_call *call, int status, const char *message)
{
    struct out_stream *s = cz_rpc_call_handler_data(call);
    s->call = NULL;
    s->closed = true;
    s->status = status;
    s->message = cz_xstrdup(message ? message : "");
}

static const cz_rpc_handler out_handler = {.on_message = out_msg, .on_close = out_close};

/* Next bytes of the archive: runs the loop until some arrive or the call ends.
 * Returns 0 at the end, -1 on failure (err set). */
static ssize_t out_next(struct out_stream *s, const void **data, cz_error *err)
{
    while (s->q.len == s->q_off && !s->closed) {
        if (s->paused && s->call) {
            cz_rpc_call_resume(s->call);
            s->paused = false;
        }
        if (cz_loop_run_once(s->loop, 1000, err) < 0)
            return -1;
    }
    if (s->q.len == s->q_off) {
        if (s->status != 0)
            return cz_error_set(err, cz_rpc_errno_from_status(s->status), "%s",
                                s->message && *s->message ? s->message
                                                          : cz_rpc_status_name(s->status));
        return 0;
    }
    /* hand out what is queued; keep it alive until the next call */
    cz_buf_free(&s->hold);
    s->hold = s->q;
    s->q = (cz_buf){0};
    size_t off = s->q_off;
    s->q_off = 0;
    *data = s->hold.data + off;
    return (ssize_t)(s->hold.len - off);
}

struct out_reader {
    struct out_stream *s;
    cz_error *err;
    bool failed;
};

static la_ssize_t out_read_cb(struct archive *a, void *data, const void **buf)
{
    struct out_reader *r = data;
    ssize_t n = out_next(r->s, buf, r->err);
    if (n < 0) {
        r->failed = true;
        archive_set_error(a, EIO, "%s", r->err->msg);
        return -1;
    }
    return n;
}

static int start_copy_out(struct cli_guest *g, const char *path, struct out_stream *s,
                          cz_error *err)
{
    memset(s, 0, sizeof(*s));
    s->loop = g->loop;
    s->call = cz_rpc_client_start(g->client, AGENT, "CopyOut", 0, &out_handler, s, err);
    if (!s->call)
        return -1;
    Cz__Agent__V1__CopyOutRequest q = CZ__AGENT__V1__COPY_OUT_REQUEST__INIT;
    q.path = (char *)path;
    if (cz_rpc_call_send(s->call, &q.base, err) < 0 || cz_rpc_call_close_send(s->call, err) < 0) {
        cz_rpc_call_cancel(s->call);
        return -1;
    }
    return 0;
}

static void out_stream_free(struct out_stream *s)
{
    if (s->call)
        cz_rpc_call_cancel(s->call);
    cz_buf_free(&s->q);
    cz_buf_free(&s->hold);
    free(s->message);
}

/* Extract the CopyOut archive into the current directory, renaming its first
 * component from `from` to `to`. */
static int extract_here(struct out_stream *s, const char *from, const char *to, bool archive_mode,
                        cz_error *err)
{
    struct archive *in = archive_read_new();
    archive_read_support_format_tar(in);
    struct archive *disk = archive_write_disk_new();
    int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                ARCHIVE_EXTRACT_UNLINK;
    if (archive_mode)
        flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(disk, flags);
    struct out_reader rd = {.s = s, .err = err};
    int rc = 0;
    if (archive_read_open(in, &rd, NULL, out_read_cb, NULL) != ARCHIVE_OK) {
        rc = rd.failed ? -1
                       : cz_error_set(err, EIO, "read the archive: %s", archive_error_string(in));
        goto done;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = rd.failed
                     ? -1
                     : cz_error_set(err, EIO, "read the archive: %s", archive_error_string(in));
            break;
        }
        const char *name = archive_entry_pathname(e);
        cz_autofree char *nn = rename_entry(name ? name : "", from, to);
        if (!nn) {
            rc = cz_error_set(err, EINVAL, "unexpected entry '%s' in the archive", name);
            break;
        }
        archive_entry_set_pathname(e, nn);
        const char *hl = archive_entry_hardlink(e);
        if (hl) {
            cz_autofree char *nh = rename_entry(hl, from, to);
            if (!nh) {
                rc = cz_error_set(err, EINVAL, "unexpected hard link '%s' in the archive", hl);
                break;
            }
            archive_entry_set_hardlink(e, nh);
        }
        if (archive_write_header(disk, e) < ARCHIVE_WARN) {
            rc = cz_error_set(err, EIO, "%s", archive_error_string(disk));
            break;
        }
        if (archive_entry_size(e) > 0) {
            const void *buf;
            size_t len;
            la_int64_t off;
            while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
                if (archive_write_data_block(disk, buf, len, off) < ARCHIVE_WARN) {
                    rc = cz_error_set(err, EIO, "%s", archive_error_string(disk));
                    break;
                }
            }
            if (rc == 0 && r != ARCHIVE_EOF)
                rc = rd.failed
                         ? -1
                         : cz_error_set(err, EIO, "read the archive: %s", archive_error_string(in));
            if (rc < 0)
                break;
        }
        if (archive_write_finish_entry(disk) < ARCHIVE_WARN) {
            rc = cz_error_set(err, EIO, "%s", archive_error_string(disk));
            break;
        }
    }
    /* a failed call must not pass for a short archive */
    if (rc == 0) {
        const void *d;
        while (rc == 0) {
            ssize_t n = out_next(s, &d, err);
            if (n <= 0) {
                rc = n < 0 ? -1 : 0;
                break;
            }
        }
    }
    if (rc == 0 && archive_write_close(disk) != ARCHIVE_OK)
        rc = cz_error_set(err, EIO, "%s", archive_error_string(disk));
done:
    archive_read_free(in);
    archive_write_free(disk);
    return rc;
}

static int copy_from_container(struct cli_guest *g, const char *cpath, const char *dst, bool follow,
                               bool archive_mode, cz_error *err)
{
    cz_autofree char *root = guest_root(g);
    cz_autofree char *abs = cpath[0] == '/' ? cz_xstrdup(cpath) : cz_xasprintf("/%s", cpath);
    cz_autofree char *resolved = NULL;
    struct gstat st;
    if (guest_resolve(g, root, abs, follow, &resolved, &st, err) < 0)
        return -1;
    if (!st.exists)
        return cz_error_set(err, ENOENT, "%s:%s: no such file or directory", g->name, cpath);
    bool src_dir = S_ISDIR(st.mode);
    if (!src_dir && (ends_with_slash(cpath) || ends_with_dot(cpath)))
        return cz_error_set(err, ENOTDIR, "%s:%s: not a directory", g->name, cpath);
    /* The whole root comes from the overlay itself: under /proc/PID/root the
     * walk would descend into the container's /proc and /sys. */
    cz_autofree char *gpath =
        strcmp(resolved, "/") ? cz_xasprintf("%s%s", root, resolved) : cz_xstrdup(FALLBACK_ROOT);
    cz_autofree char *from = last_component(gpath); /* CopyOut names entries after it */

    struct out_stream s;
    if (!strcmp(dst, "-")) {
        if (start_copy_out(g, gpath, &s, err) < 0)
            return -1;
        int rc = 0;
        for (;;) {
            const void *d;
            ssize_t n = out_next(&s, &d, err);
            if (n < 0)
                rc = -1;
            if (n <= 0)
                break;
            if (cz_write_all(1, d, (size_t)n) < 0) {
                rc = cz_error_errno(err, errno, "write to stdout");
                break;
            }
        }
        out_stream_free(&s);
        return rc < 0 ? cz_error_wrap(err, "copy %s:%s", g->name, cpath) : 0;
    }

    /* Where on the host, and under which name. */
    struct stat hs;
    bool dst_exists = stat(dst, &hs) == 0;
    cz_autofree char *dir = NULL, *to = NULL;
    if (dst_exists && S_ISDIR(hs.st_mode)) {
        if (src_dir && (ends_with_dot(cpath) || !strcmp(resolved, "/"))) {
            dir = cz_dirname(dst);
            to = last_component(dst);
            if (!strcmp(to, ".") || !strcmp(to, "..")) {
                free(dir);
                free(to);
                dir = cz_xstrdup(dst);
                to = cz_xstrdup(".");
            }
        } else {
            dir = cz_xstrdup(dst);
            to = cz_xstrdup(from);
        }
    } else if (dst_exists) {
        if (src_dir)
            return cz_error_set(err, EISDIR, "cannot copy directory %s:%s to file %s", g->name,
                                cpath, dst);
        dir = cz_dirname(dst);
        to = last_component(dst);
    } else {
        if (errno != ENOENT)
            return cz_error_errno(err, errno, "stat %s", dst);
        if (ends_with_slash(dst) && !src_dir)
            return cz_error_set(err, ENOENT, "destination directory %s does not exist", dst);
        dir = cz_dirname(dst);
        to = last_component(dst);
        struct stat ds;
        if (stat(dir, &ds) < 0 || !S_ISDIR(ds.st_mode))
            return cz_error_set(err, ENOENT, "destination directory %s does not exist", dir);
    }
    cz_autoclose int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (chdir(dir) < 0)
        return cz_error_errno(err, errno, "cd %s", dir);
    int rc = start_copy_out(g, gpath, &s, err);
    if (rc == 0) {
        rc = extract_here(&s, from, to, archive_mode, err);
        out_stream_free(&s);
    }
    if (here >= 0 && fchdir(here) < 0 && rc == 0)
        rc = cz_error_errno(err, errno, "cd back");
    return rc < 0 ? cz_error_wrap(err, "copy %s:%s to %s", g->name, cpath, dst) : 0;
}

/* ---------------------------------------------------- host -> container */

struct in_stream {
    cz_loop *loop;
    cz_rpc_call *call;
    bool closed, writable;
    int status;
    char *message;
    uint64_t entries;
    cz_buf pending; /* archive bytes not yet sent (up to CHUNK) */
    cz_error *err;
};

static int in_msg(cz_rpc_call *call, const ProtobufCMessage *msg, cz_error *err)
{
    (void)err;
    struct in_stream *s = cz_rpc_call_handler_data(call);
    s->entries = ((const Cz__Agent__V1__CopyInResponse *)msg)->entries;
    return 0;
}

static void in_close(cz_rpc_call *call, int status, const char *message)
{
    struct in_stream *s = cz_rpc_call_handler_data(call);
    s->call = NULL;
    s->closed = true;
    s->status = status;
    s->message = cz_xstrdup(message ? message : "");
}

static void in_writable(cz_rpc_call *call)
{
    struct in_stream *s = cz_rpc_call_handler_data(call);
    s->writable = true;
}

static const cz_rpc_handler in_handler = {
    .on_message = in_msg, .on_close = in_close, .on_writable = in_writable};

static int in_status_error(struct in_stream *s, cz_error *err)
{
    return cz_error_set(err, cz_rpc_errno_from_status(s->status), "%s",
                        s->message && *s->message ? s->message : cz_rpc_status_name(s->status));
}

/* Send the pending bytes, waiting while the send queue is full. */
static int in_flush(struct in_stream *s, cz_error *err)
{
    if (!s->pending.len)
        return 0;
    while (!s->closed && cz_rpc_call_pending(s->call) > CZ_RPC_SEND_HIGH_WATER) {
        s->writable = false;
        if (cz_loop_run_once(s->loop, 1000, err) < 0)
            return -1;
    }
    if (s->closed)
        return s->status ? in_status_error(s, err)
                         : cz_error_set(err, EIO, "the guest ended the copy early");
    Cz__Agent__V1__CopyInRequest m = CZ__AGENT__V1__COPY_IN_REQUEST__INIT;
    m.part_case = CZ__AGENT__V1__COPY_IN_REQUEST__PART_DATA;
    m.data.data = (uint8_t *)s->pending.data;
    m.data.len = s->pending.len;
    int rc = cz_rpc_call_send(s->call, &m.base, err);
    s->pending.len = 0;
    return rc;
}

static int in_write(struct in_stream *s, const void *p, size_t n, cz_error *err)
{
    const char *c = p;
    while (n) {
        size_t take = CZ_MIN(n, (size_t)CHUNK - s->pending.len);
        cz_buf_append(&s->pending, c, take);
        c += take;
        n -= take;
        if (s->pending.len >= CHUNK && in_flush(s, err) < 0)
            return -1;
    }
    return 0;
}

static la_ssize_t in_write_cb(struct archive *a, void *data, const void *buf, size_t n)
{
    struct in_stream *s = data;
    if (in_write(s, buf, n, s->err) < 0) {
        archive_set_error(a, EIO, "%s", s->err->msg);
        return -1;
    }
    return (la_ssize_t)n;
}

static int start_copy_in(struct cli_guest *g, const char *dir, bool archive_mode,
                         struct in_stream *s, cz_error *err)
{
    memset(s, 0, sizeof(*s));
    s->loop = g->loop;
    s->err = err;
    s->call = cz_rpc_client_start(g->client, AGENT, "CopyIn", 0, &in_handler, s, err);
    if (!s->call)
        return -1;
    Cz__Agent__V1__CopyInHeader h = CZ__AGENT__V1__COPY_IN_HEADER__INIT;
    h.path = (char *)dir;
    h.preserve_owners = archive_mode;
    Cz__Agent__V1__CopyInRequest m = CZ__AGENT__V1__COPY_IN_REQUEST__INIT;
    m.part_case = CZ__AGENT__V1__COPY_IN_REQUEST__PART_HEADER;
    m.header = &h;
    if (cz_rpc_call_send(s->call, &m.base, err) < 0) {
        cz_rpc_call_cancel(s->call);
        s->call = NULL;
        return -1;
    }
    return 0;
}

/* Flush, half-close, wait for the outcome. */
static int finish_copy_in(struct in_stream *s, cz_error *err)
{
    if (in_flush(s, err) < 0)
        return -1;
    if (s->call && cz_rpc_call_close_send(s->call, err) < 0)
        return -1;
    while (!s->closed)
        if (cz_loop_run_once(s->loop, 1000, err) < 0)
            return -1;
    return s->status ? in_status_error(s, err) : 0;
}

static void in_stream_free(struct in_stream *s)
{
    if (s->call)
        cz_rpc_call_cancel(s->call);
    cz_buf_free(&s->pending);
    free(s->message);
}

/* Archive the host path src (its entries named `to`, `to/...`) into s. */
static int archive_host_path(const char *src, const char *to, bool follow, struct in_stream *s,
                             cz_error *err)
{
    struct archive *disk = archive_read_disk_new();
    struct archive *out = archive_write_new();
    struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
    archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    archive_write_set_format_pax_restricted(out);
    archive_write_set_bytes_per_block(out, 0);
    if (follow)
        archive_read_disk_set_symlink_hybrid(disk);
    else
        archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                             ARCHIVE_READDISK_NO_FFLAGS);
    int rc = 0;
    size_t plen = strlen(src);
    if (archive_write_open(out, s, NULL, in_write_cb, NULL) != ARCHIVE_OK) {
        rc = cz_error_set(err, EIO, "%s", archive_error_string(out));
        goto done;
    }
    if (archive_read_disk_open(disk, src) != ARCHIVE_OK) {
        rc = cz_error_set(err, EIO, "%s", archive_error_string(disk));
        goto done;
    }
    for (;;) {
        struct archive_entry *e = archive_entry_new();
        int r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            break;
        }
        if (r < ARCHIVE_WARN) {
            rc = cz_error_set(err, EIO, "%s", archive_error_string(disk));
            archive_entry_free(e);
            break;
        }
        const char *path = archive_entry_sourcepath(e);
        if (!path)
            path = archive_entry_pathname(e);
        archive_read_disk_descend(disk);
        const char *rest = strlen(path) >= plen ? path + plen : "";
        while (*rest == '/')
            rest++;
        cz_autofree char *name = *rest ? cz_xasprintf("%s/%s", to, rest) : cz_xstrdup(to);
        archive_entry_set_pathname(e, name);
        struct archive_entry *spare = NULL;
        archive_entry_linkify(links, &e, &spare);
        int fd = -1;
        if (e && archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0 && follow)
                fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                rc = cz_error_errno(err, errno, "open %s", path);
                archive_entry_free(e);
                break;
            }
        }
        if (e && archive_write_header(out, e) < ARCHIVE_WARN) {
            rc = err->msg[0] ? -1 : cz_error_set(err, EIO, "%s", archive_error_string(out));
        }
        if (rc == 0 && fd >= 0) {
            char buf[64 << 10];
            la_int64_t left = archive_entry_size(e);
            while (left > 0 && rc == 0) {
                ssize_t n = read(fd, buf, (size_t)CZ_MIN((la_int64_t)sizeof(buf), left));
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0) {
                    rc = cz_error_errno(err, errno, "read %s", path);
                    break;
                }
                if (n == 0) { /* shrank while copied: pad to the recorded size */
                    memset(buf, 0, sizeof(buf));
                    n = (ssize_t)CZ_MIN((la_int64_t)sizeof(buf), left);
                }
                if (archive_write_data(out, buf, (size_t)n) < 0)
                    rc = err->msg[0] ? -1 : cz_error_set(err, EIO, "%s", archive_error_string(out));
                left -= n;
            }
        }
        if (fd >= 0)
            close(fd);
        archive_entry_free(e);
        if (spare)
            archive_entry_free(spare);
        if (rc < 0)
            break;
    }
    if (rc == 0 && archive_write_close(out) != ARCHIVE_OK)
        rc = err->msg[0] ? -1 : cz_error_set(err, EIO, "%s", archive_error_string(out));
done:
    archive_entry_linkresolver_free(links);
    archive_read_free(disk);
    archive_write_free(out);
    return rc;
}

static int copy_to_container(struct cli_guest *g, const char *src, const char *cpath, bool follow,
                             bool archive_mode, cz_error *err)
{
    bool from_stdin = !strcmp(src, "-");
    struct stat hs = {0};
    if (!from_stdin && (follow ? stat(src, &hs) : lstat(src, &hs)) < 0)
        return cz_error_errno(err, errno, "copy %s", src);
    bool src_dir = !from_stdin && S_ISDIR(hs.st_mode);
    if (!from_stdin && !src_dir && (ends_with_slash(src) || ends_with_dot(src)))
        return cz_error_set(err, ENOTDIR, "copy %s: not a directory", src);

    cz_autofree char *root = guest_root(g);
    cz_autofree char *abs = cpath[0] == '/' ? cz_xstrdup(cpath) : cz_xasprintf("/%s", cpath);
    cz_autofree char *resolved = NULL;
    struct gstat st;
    if (guest_resolve(g, root, abs, true, &resolved, &st, err) < 0)
        return -1;
    bool dst_dir = st.exists && S_ISDIR(st.mode);
    /* the guest directory to extract into, and the name of the source there */
    cz_autofree char *gdir = NULL, *to = NULL;
    if (from_stdin) {
        if (!dst_dir)
            return cz_error_set(err, ENOTDIR, "%s:%s: %s", g->name, cpath,
                                st.exists ? "not a directory (a tar stream extracts into one)"
                                          : "no such directory");
        gdir = cz_xstrdup(resolved);
    } else if (dst_dir) {
        gdir = cz_xstrdup(resolved);
        to = src_dir && ends_with_dot(src) ? cz_xstrdup(".") : last_component(src);
        if (!strcmp(to, "..") || !strcmp(to, "/"))
            free(to), to = cz_xstrdup(".");
    } else if (st.exists) {
        if (src_dir)
            return cz_error_set(err, EISDIR, "cannot copy directory %s to file %s:%s", src, g->name,
                                cpath);
        gdir = cz_dirname(resolved);
        to = last_component(resolved);
    } else {
        if (ends_with_slash(cpath) && !src_dir)
            return cz_error_set(err, ENOENT, "%s:%s: no such directory", g->name, cpath);
        /* the parent exists: guest_resolve fails when a directory above is missing */
        gdir = cz_dirname(resolved);
        to = last_component(resolved);
    }
    cz_autofree char *target = cz_xasprintf("%s%s", root, strcmp(gdir, "/") ? gdir : "/");
    struct in_stream s;
    if (start_copy_in(g, target, archive_mode, &s, err) < 0)
        return cz_error_wrap(err, "copy to %s:%s", g->name, cpath);
    int rc = 0;
    if (from_stdin) {
        char buf[64 << 10];
        for (;;) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = cz_error_errno(err, errno, "read stdin");
                break;
            }
            if (n == 0)
                break;
            if (in_write(&s, buf, (size_t)n, err) < 0) {
                rc = -1;
                break;
            }
        }
    } else {
        rc = archive_host_path(src, to, follow, &s, err);
    }
    if (rc == 0)
        rc = finish_copy_in(&s, err);
    in_stream_free(&s);
    return rc < 0
               ? cz_error_wrap(err, "copy %s to %s:%s", from_stdin ? "stdin" : src, g->name, cpath)
               : 0;
}

/* ---------------------------------------------------- the command */

/* "name:path" names a container path when the part before ':' has no '/'
 * (so ./a:b and /x:y stay host paths). */
static bool split_container_path(const char *arg, char **ref, const char **path)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || memchr(arg, '/', (size_t)(colon - arg)))
        return false;
    *ref = cz_xstrndup(arg, (size_t)(colon - arg));
    *path = colon + 1;
    return true;
}

static const char cp_usage[] =
    "Usage: container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
    "       container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
    "Copy files and directories between a container and the host. A container\n"
    "that is not running is booted for the copy, without its process (a few\n"
    "seconds); its state does not change.\n"
    "A directory is copied with its contents; SRC ending in /. copies only the\n"
    "contents. A destination that is an existing directory receives the source\n"
    "under its own name; otherwise the destination names the copy. '-' reads a\n"
    "tar stream from stdin (extracted into a container directory) or writes one\n"
    "to stdout. Container paths are taken from the container's root.\n\n"
    "Options:\n"
    "  -a, --archive         keep owners (uid/gid); otherwise copies into the container\n"
    "                        belong to root, copies to the host to you\n"
    "  -L, --follow-link     follow a symlink given as SRC_PATH\n";

int cmd_cp(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"archive", no_argument, NULL, 'a'},
                                         {"follow-link", no_argument, NULL, 'L'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool archive_mode = false, follow = false;
    int o;
    while ((o = getopt_long(argc, argv, "+aLh", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            archive_mode = true;
            break;
        case 'L':
            follow = true;
            break;
        case 'h':
            cli_print_usage(cp_usage);
            return 0;
        default:
            return cli_option_error(err, "cp", "aLh", opts, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(err, "cp: a source and a destination are required");
    const char *src = argv[optind], *dst = argv[optind + 1];
    cz_autofree char *sref = NULL, *dref = NULL;
    const char *spath = NULL, *dpath = NULL;
    bool sc = split_container_path(src, &sref, &spath);
    bool dc = split_container_path(dst, &dref, &dpath);
    if (sc == dc)
        return cli_usage_error(err, "cp: exactly one of the source and the destination must be "
                                    "CONTAINER:PATH");
    if ((sc && !*spath) || (dc && !*dpath))
        return cli_usage_error(err, "cp: an empty container path");
    if (!strcmp(src, "-") && !strcmp(dst, "-"))
        return cli_usage_error(err, "cp: '-' on both sides");
    struct cli_guest g;
    if (cli_guest_open_for_copy(cli, sc ? sref : dref, &g, err) < 0)
        return -1;
    int rc = sc ? copy_from_container(&g, spath, dst, follow, archive_mode, err)
                : copy_to_container(&g, src, dpath, follow, archive_mode, err);
    cli_guest_close(&g);
    return rc;
}
