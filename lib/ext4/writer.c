/* The streaming side of the ext4 writer: the image file, the block allocator
 * (sequential, stepping over superblock copies), file contents written as
 * they arrive through a write-combining buffer, and the tree operations of
 * the public API. The metadata is laid out at the end (layout.c). */
#include "ext4/internal.h"

#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#define WBUF_SIZE (1u << 20)
#define BYTES_PER_INODE 16384u

bool ext4_group_has_super(uint64_t g)
{
    if (g <= 1)
        return true;
    for (uint64_t b = 3; b <= 7; b += 2) {
        uint64_t p = b;
        while (p < g)
            p *= b;
        if (p == g)
            return true;
    }
    return false;
}

int ext4_flush(cz_ext4 *w, cz_error *err)
{
    if (!w->wlen)
        return 0;
    if (w->falloc && w->wpos >= w->falloc_end) {
        /* Allocating the range before writing it spares the host file
         * system its per-page delayed-allocation work (about a third of the
         * kernel's cost of the write); where fallocate is not supported,
         * plain writes do. */
        if (fallocate(w->fd, 0, (off_t)w->wpos, (off_t)w->wlen) == 0)
            w->falloc_end = w->wpos + w->wlen;
        else
            w->falloc = false;
    }
    size_t done = 0;
    while (done < w->wlen) {
        ssize_t n = pwrite(w->fd, w->wbuf + done, w->wlen - done, (off_t)(w->wpos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cz_error_errno(err, n < 0 ? errno : EIO, "write %s", w->tmp);
        done += (size_t)n;
    }
    w->wlen = 0;
    return 0;
}

int ext4_pwrite(cz_ext4 *w, const void *data, size_t len, uint64_t pos, cz_error *err)
{
    uint64_t end = w->wpos + w->wlen;
    if (w->wlen && pos > end && pos <= (end + EXT4_BLOCK - 1) / EXT4_BLOCK * EXT4_BLOCK &&
        w->wlen + (pos - end) <= WBUF_SIZE) {
        /* the rest of the block the buffer ends in (a file's tail, or a
         * gap inside a block): zeros keep one write going instead of a
         * write per small file */
        memset(w->wbuf + w->wlen, 0, (size_t)(pos - end));
        w->wlen += (size_t)(pos - end);
    }
    if (w->wlen && pos != w->wpos + w->wlen && ext4_flush(w, err) < 0)
        return -1;
    if (!w->wlen)
        w->wpos = pos;
    const uint8_t *p = data;
    while (len) {
        size_t n = CZ_MIN(len, WBUF_SIZE - w->wlen);
        memcpy(w->wbuf + w->wlen, p, n);
        w->wlen += n;
        p += n;
        len -= n;
        if (w->wlen == WBUF_SIZE) {
            uint64_t next = w->wpos + w->wlen;
            if (ext4_flush(w, err) < 0)
                return -1;
            w->wpos = next;
        }
    }
    return 0;
}

int ext4_alloc(cz_ext4 *w, uint64_t want, uint64_t *start, uint64_t *got, cz_error *err)
{
    for (;;) {
        uint64_t g = w->cursor / EXT4_BLOCKS_PER_GROUP, off = w->cursor % EXT4_BLOCKS_PER_GROUP;
        if (ext4_group_has_super(g) && off < 1u + w->gdt_reserved)
            w->cursor = g * EXT4_BLOCKS_PER_GROUP + 1 + w->gdt_reserved;
        else
            break;
    }
    uint64_t n = 0, pos = w->cursor;
    while (n < want) {
        uint64_t g = pos / EXT4_BLOCKS_PER_GROUP;
        if (pos != w->cursor && pos % EXT4_BLOCKS_PER_GROUP == 0 && ext4_group_has_super(g))
            break;
        uint64_t step = CZ_MIN(want - n, (g + 1) * EXT4_BLOCKS_PER_GROUP - pos);
        n += step;
        pos += step;
    }
    if (w->cursor + w->meta_guess >= w->limit || n > w->limit - w->cursor - w->meta_guess) {
        uint64_t room =
            w->cursor + w->meta_guess < w->limit ? w->limit - w->cursor - w->meta_guess : 0;
        if (!room) {
            char sz[32];
            cz_format_size(w->opt.size_bytes
                               ? w->opt.size_bytes
                               : (uint64_t)EXT4_FIT_MAX_GROUPS * EXT4_BLOCKS_PER_GROUP * EXT4_BLOCK,
                           sz, sizeof(sz));
            return cz_error_set(err, ENOSPC, "no space left in the image (%s)", sz);
        }
        n = CZ_MIN(n, room);
    }
    *start = w->cursor;
    *got = n;
    w->cursor += n;
    return 0;
}

void ext4_inode_add_extent(struct ext4_inode *in, uint32_t logical, uint64_t phys, uint32_t len)
{
    if (in->n_ext) {
        struct ext4_extent *l = &in->ext[in->n_ext - 1];
        if (l->logical + l->len == logical && l->phys + l->len == phys &&
            (uint64_t)l->len + len <= UINT32_MAX) {
            l->len += len;
            return;
        }
    }
    if (in->n_ext == in->cap_ext) {
        in->cap_ext = in->cap_ext ? in->cap_ext * 2 : 2;
        in->ext = cz_xrealloc(in->ext, in->cap_ext * sizeof(*in->ext));
    }
    in->ext[in->n_ext++] = (struct ext4_extent){logical, len, phys};
}

int cz_ext4_open(const char *path, const struct cz_ext4_options *o, cz_ext4 **out, cz_error *err)
{
    if (o->label && strlen(o->label) > 16)
        return cz_error_set(err, EINVAL, "ext4 label '%s' is longer than 16 bytes", o->label);
    uint64_t blocks = o->size_bytes / EXT4_BLOCK;
    if (o->size_bytes && blocks < (o->journal ? 2048u : 64u))
        return cz_error_set(err, EINVAL,
                            "ext4 image size %llu bytes is too small (at least %u KiB)",
                            (unsigned long long)o->size_bytes, o->journal ? 8192u : 256u);
    if (blocks > (1ull << 48))
        return cz_error_set(err, EINVAL, "ext4 image size %llu bytes is too large",
                            (unsigned long long)o->size_bytes);
    cz_ext4 *w = cz_xcalloc(1, sizeof(*w));
    w->fd = -1;
    w->opt = *o;
    w->opt.label = NULL;
    if (o->label)
        snprintf(w->label, sizeof(w->label), "%s", o->label);
    w->path = cz_xstrdup(path);
    w->now = time(NULL);
    if (getrandom(w->uuid, sizeof(w->uuid), 0) != sizeof(w->uuid) ||
        getrandom(w->hash_seed, sizeof(w->hash_seed), 0) != sizeof(w->hash_seed)) {
        cz_error_errno(err, errno, "random UUID");
        cz_ext4_abort(w);
        return -1;
    }
    w->uuid[6] = (w->uuid[6] & 0x0f) | 0x40; /* version 4 */
    w->uuid[8] = (w->uuid[8] & 0x3f) | 0x80;
    w->csum_seed = ext4_crc32c(~0u, w->uuid, 16);

    if (blocks) {
        /* a last group too small to be worth its bitmaps is dropped */
        if (blocks > EXT4_BLOCKS_PER_GROUP && blocks % EXT4_BLOCKS_PER_GROUP < 512)
            blocks -= blocks % EXT4_BLOCKS_PER_GROUP;
        w->total_blocks = blocks;
        w->is64 = o->force_64bit || blocks > 0xFFFFFFFFull;
        w->desc_size = w->is64 ? 64 : 32;
        uint64_t groups = (blocks + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
        w->gdt_reserved = (uint32_t)((groups * w->desc_size + EXT4_BLOCK - 1) / EXT4_BLOCK);
        /* room the layout needs whatever the content: bitmaps, inode tables
         * for the default inode ratio, the journal */
        uint64_t inodes = CZ_MIN(blocks * EXT4_BLOCK / BYTES_PER_INODE, 0xFFFFFFF0ull);
        uint64_t fixed = 2 * groups + inodes * EXT4_INODE_SIZE / EXT4_BLOCK + 64;
        if (o->journal)
            fixed += blocks < 32768     ? 1024
                     : blocks < 262144  ? 4096
                     : blocks < 4194304 ? 16384
                                        : 65536;
        w->limit = fixed < blocks ? blocks - fixed : 0;
    } else {
        w->is64 = o->force_64bit;
        w->desc_size = w->is64 ? 64 : 32;
        w->gdt_reserved = EXT4_FIT_MAX_GROUPS * w->desc_size / EXT4_BLOCK;
        w->limit = (uint64_t)EXT4_FIT_MAX_GROUPS * EXT4_BLOCKS_PER_GROUP;
    }
    w->wbuf = cz_xmalloc(WBUF_SIZE);
    w->falloc = true;
    ext4_tree_init(w);
    w->fd = cz_mktemp_beside(path, &w->tmp, err);
    if (w->fd < 0) {
        cz_ext4_abort(w);
        return cz_error_wrap(err, "create ext4 image %s", path);
    }
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(w->fd, 0644 & ~mask) < 0) {
        cz_error_errno(err, errno, "create ext4 image %s", path);
        cz_ext4_abort(w);
        return -1;
    }
    if (w->total_blocks && ftruncate(w->fd, (off_t)(w->total_blocks * EXT4_BLOCK)) < 0) {
        cz_error_errno(err, errno, "create ext4 image %s: size %llu", path,
                       (unsigned long long)o->size_bytes);
        cz_ext4_abort(w);
        return -1;
    }
    *out = w;
    return 0;
}

void cz_ext4_abort(cz_ext4 *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    ext4_tree_free(w);
    free(w->tmp);
    free(w->path);
    free(w->wbuf);
    free(w);
}

static int check_type(uint32_t mode, cz_error *err)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
        return 0;
    }
    return cz_error_set(err, EINVAL, "unsupported file type (mode %#o)", mode);
}

int cz_ext4_add(cz_ext4 *w, const char *path, const struct cz_ext4_attr *a,
                const char *symlink_target, cz_error *err)
{
    w->current = NULL;
    if (check_type(a->mode, err) < 0)
        return -1;
    if (S_ISLNK(a->mode)) {
        size_t tl = symlink_target ? strlen(symlink_target) : 0;
        if (tl == 0)
            return cz_error_set(err, EINVAL, "empty symlink target");
        if (tl > EXT4_SYMLINK_MAX)
            return cz_error_set(err, ENAMETOOLONG, "symlink target longer than %u bytes",
                                EXT4_SYMLINK_MAX);
    }
    if (S_ISREG(a->mode) && a->size > EXT4_MAX_FILE_BLOCKS * EXT4_BLOCK)
        return cz_error_set(err, EFBIG, "file size %llu is larger than ext4 allows",
                            (unsigned long long)a->size);
    struct ext4_node *dir;
    const char *last;
    size_t len;
    if (ext4_resolve_parent(w, path, &dir, &last, &len, err) < 0)
        return -1;
    if (len == 0) {
        if (!S_ISDIR(a->mode))
            return cz_error_set(err, EISDIR, "'%s' names a directory", path);
        ext4_inode_set_attr(dir->inode, a);
        return 0;
    }
    struct ext4_node *old = ext4_lookup(w, dir, last, len);
    if (old && ext4_is_dir(old) && S_ISDIR(a->mode)) {
        ext4_inode_set_attr(old->inode, a);
        old->layer = w->layer;
        return 0;
    }
    if (old)
        ext4_node_remove(w, old);
    if (w->n_nodes >= EXT4_MAX_ENTRIES)
        return cz_error_set(err, EMFILE, "more than %u entries", EXT4_MAX_ENTRIES);
    struct ext4_inode *in = ext4_inode_new(w, a);
    if (S_ISLNK(a->mode)) {
        in->symlink = cz_xstrdup(symlink_target);
        in->mode = S_IFLNK | 0777; /* as symlink(2): Linux has no symlink permissions */
    }
    ext4_node_new(w, dir, last, len, in);
    /* rough count of the blocks the layout will need for this entry */
    if (S_ISDIR(a->mode) || (S_ISLNK(a->mode) && strlen(symlink_target) >= 60))
        w->meta_guess++;
    if (w->n_nodes % 64 == 0)
        w->meta_guess++;
    if (S_ISREG(a->mode)) {
        w->current = in;
        w->cur_pos = 0;
    }
    return 0;
}

int cz_ext4_write(cz_ext4 *w, uint64_t offset, const void *data, size_t len, cz_error *err)
{
    struct ext4_inode *in = w->current;
    if (!in)
        return cz_error_set(err, EINVAL, "no regular file to write to");
    if (!len)
        return 0;
    if (offset > in->size || len > in->size - offset)
        return cz_error_set(err, EINVAL, "data beyond the file's size %llu",
                            (unsigned long long)in->size);
    if (offset < w->cur_pos)
        return cz_error_set(err, EINVAL, "file data out of order");
    w->cur_pos = offset + len;
    uint64_t first = offset / EXT4_BLOCK, last = (offset + len - 1) / EXT4_BLOCK;
    uint64_t from = CZ_MAX(first, in->data_end);
    while (from <= last) {
        uint64_t start, got;
        if (ext4_alloc(w, last + 1 - from, &start, &got, err) < 0)
            return -1;
        size_t before = in->n_ext;
        ext4_inode_add_extent(in, (uint32_t)from, start, (uint32_t)got);
        if (in->n_ext != before && in->n_ext % 300 == 0)
            w->meta_guess++;
        from += got;
        in->data_end = from;
    }
    /* map bytes to blocks through the extents, newest first */
    const uint8_t *p = data;
    while (len) {
        uint64_t lb = offset / EXT4_BLOCK;
        uint32_t i = in->n_ext;
        while (i > 0 && in->ext[i - 1].logical > lb)
            i--;
        if (i == 0 || lb >= (uint64_t)in->ext[i - 1].logical + in->ext[i - 1].len)
            return cz_error_set(err, EINVAL, "file data out of order");
        const struct ext4_extent *e = &in->ext[i - 1];
        uint64_t ext_end = ((uint64_t)e->logical + e->len) * EXT4_BLOCK;
        size_t n = (size_t)CZ_MIN((uint64_t)len, ext_end - offset);
        uint64_t pos = (e->phys + (lb - e->logical)) * EXT4_BLOCK + offset % EXT4_BLOCK;
        if (ext4_pwrite(w, p, n, pos, err) < 0)
            return -1;
        p += n;
        len -= n;
        offset += n;
    }
    return 0;
}

static bool is_under(const struct ext4_node *n, const struct ext4_node *top)
{
    for (; n->parent != n; n = n->parent)
        if (n == top)
            return true;
    return n == top;
}

int cz_ext4_link(cz_ext4 *w, const char *path, const char *target, cz_error *err)
{
    w->current = NULL;
    cz_error e2 = {0};
    struct ext4_node *t = ext4_resolve(w, target, &e2);
    if (!t)
        return cz_error_set(err, ENOENT, "hard link target '%s' does not exist", target);
    if (ext4_is_dir(t))
        return cz_error_set(err, EPERM, "hard link target '%s' is a directory", target);
    struct ext4_node *dir;
    const char *last;
    size_t len;
    if (ext4_resolve_parent(w, path, &dir, &last, &len, err) < 0)
        return -1;
    if (len == 0)
        return cz_error_set(err, EISDIR, "'%s' names a directory", path);
    struct ext4_node *old = ext4_lookup(w, dir, last, len);
    if (old && old->inode == t->inode)
        return 0;
    if (old && is_under(t, old))
        return cz_error_set(err, EINVAL, "hard link '%s' would replace its own target", path);
    if (t->inode->links >= 65000)
        return cz_error_set(err, EMLINK, "too many links to '%s'", target);
    if (old)
        ext4_node_remove(w, old);
    if (w->n_nodes >= EXT4_MAX_ENTRIES)
        return cz_error_set(err, EMFILE, "more than %u entries", EXT4_MAX_ENTRIES);
    ext4_node_new(w, dir, last, len, t->inode);
    return 0;
}

int cz_ext4_remove(cz_ext4 *w, const char *path, bool must_exist, cz_error *err)
{
    w->current = NULL;
    struct ext4_node *dir;
    const char *last;
    size_t len;
    if (ext4_resolve_parent(w, path, &dir, &last, &len, err) < 0)
        return -1;
    if (len == 0)
        return cz_error_set(err, EBUSY, "'%s' is the root directory", path);
    struct ext4_node *n = ext4_lookup(w, dir, last, len);
    if (!n)
        return must_exist ? cz_error_set(err, ENOENT, "'%s' does not exist", path) : 0;
    ext4_node_remove(w, n);
    return 0;
}

int cz_ext4_set_xattr(cz_ext4 *w, const char *path, const char *name, const void *value, size_t len,
                      cz_error *err)
{
    static const struct {
        const char *prefix;
        uint8_t index;
    } prefixes[] = {
        {"user.", 1},
        {"system.posix_acl_access", 2},
        {"system.posix_acl_default", 3},
        {"trusted.", 4},
        {"security.", 6},
        {"system.", 7},
    };
    struct ext4_node *n = ext4_resolve(w, path, err);
    if (!n)
        return -1;
    uint8_t index = 0;
    const char *suffix = NULL;
    for (size_t i = 0; i < CZ_ARRAY_SIZE(prefixes); i++)
        if (cz_str_has_prefix(name, prefixes[i].prefix)) {
            index = prefixes[i].index;
            suffix = name + strlen(prefixes[i].prefix);
            break;
        }
    if (!suffix || (index == 7 && !*suffix) || ((index == 2 || index == 3) && *suffix))
        return cz_error_set(err, ENOTSUP, "unsupported xattr '%s'", name);
    if ((index != 2 && index != 3) && !*suffix)
        return cz_error_set(err, EINVAL, "empty xattr name '%s'", name);
    if (strlen(suffix) > 255)
        return cz_error_set(err, ERANGE, "xattr name '%s' is too long", name);
    if (len > EXT4_BLOCK - 64)
        return cz_error_set(err, E2BIG, "xattr '%s' value of %zu bytes does not fit a block", name,
                            len);
    uint8_t *v;
    size_t vlen;
    if (index == 2 || index == 3) {
        if (ext4_acl_from_xattr(value, len, &v, &vlen, err) < 0)
            return cz_error_wrap(err, "xattr '%s'", name);
    } else {
        v = cz_xmalloc(len ? len : 1);
        memcpy(v, value, len);
        vlen = len;
    }
    struct ext4_inode *in = n->inode;
    for (uint32_t i = 0; i < in->n_xattrs; i++) {
        struct ext4_xattr *x = &in->xattrs[i];
        if (x->index == index && !strcmp(x->name, suffix)) {
            free(x->value);
            x->value = v;
            x->value_len = (uint32_t)vlen;
            return 0;
        }
    }
    if (in->n_xattrs >= 256) {
        free(v);
        return cz_error_set(err, E2BIG, "too many xattrs on '%s'", path);
    }
    in->xattrs = cz_xrealloc(in->xattrs, (in->n_xattrs + 1) * sizeof(*in->xattrs));
    in->xattrs[in->n_xattrs++] = (struct ext4_xattr){.index = index,
                                                     .name_len = (uint8_t)strlen(suffix),
                                                     .name = cz_xstrdup(suffix),
                                                     .value = v,
                                                     .value_len = (uint32_t)vlen};
    if (in->n_xattrs == 1)
        w->meta_guess++;
    return 0;
}

int cz_ext4_finish(cz_ext4 *w, cz_error *err)
{
    int r = ext4_layout_and_write(w, err);
    if (r == 0 && w->opt.sync && fsync(w->fd) < 0)
        r = cz_error_errno(err, errno, "fsync %s", w->tmp);
    if (r == 0 && rename(w->tmp, w->path) < 0)
        r = cz_error_errno(err, errno, "rename %s to %s", w->tmp, w->path);
    if (r == 0) {
        free(w->tmp);
        w->tmp = NULL;
        if (w->opt.sync) {
            cz_autofree char *dir = cz_dirname(w->path);
            cz_fsync_dir(dir);
        }
    } else {
        cz_error_wrap(err, "write ext4 image %s", w->path);
    }
    cz_ext4_abort(w);
    return r;
}

int cz_ext4_create_empty(const char *path, uint64_t size_bytes, const char *label, cz_error *err)
{
    if (!size_bytes)
        return cz_error_set(err, EINVAL, "create ext4 image %s: a size is required", path);
    struct cz_ext4_options o = {
        .size_bytes = size_bytes, .label = label, .journal = true, .sync = true};
    cz_ext4 *w;
    if (cz_ext4_open(path, &o, &w, err) < 0)
        return -1;
    return cz_ext4_finish(w, err);
}
