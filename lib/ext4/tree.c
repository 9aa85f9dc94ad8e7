/* The in-memory tree the layers are applied to: nodes (names) in a hash
 * table keyed by (parent, name), inodes shared by hard links. Path
 * resolution happens here and only here, confined to the image's root:
 * ".." stops at the root, absolute paths and symlink targets start there. */
#include "ext4/internal.h"

#include <errno.h>
#include <sys/stat.h>

#define SYMLINK_FOLLOW_MAX 40

static size_t node_hash(const struct ext4_node *dir, const char *name, size_t len)
{
    uint64_t h = (uintptr_t)dir * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 0x100000001B3ull;
    return (size_t)(h ^ (h >> 29));
}

static void rehash(cz_ext4 *w)
{
    size_t nb = w->n_buckets ? w->n_buckets * 2 : 1024;
    struct ext4_node **b = cz_xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < w->n_buckets; i++) {
        struct ext4_node *n = w->buckets[i];
        while (n) {
            struct ext4_node *next = n->hnext;
            size_t h = node_hash(n->parent, n->name, n->name_len) & (nb - 1);
            n->hnext = b[h];
            b[h] = n;
            n = next;
        }
    }
    free(w->buckets);
    w->buckets = b;
    w->n_buckets = nb;
}

void ext4_inode_set_attr(struct ext4_inode *in, const struct cz_ext4_attr *a)
{
    in->mode = a->mode;
    in->uid = a->uid;
    in->gid = a->gid;
    in->atime = a->atime;
    in->mtime = a->mtime;
    in->ctime = a->ctime;
    in->atime_ns = a->atime_ns % 1000000000u;
    in->mtime_ns = a->mtime_ns % 1000000000u;
    in->ctime_ns = a->ctime_ns % 1000000000u;
    in->dev_major = a->dev_major;
    in->dev_minor = a->dev_minor;
    if (S_ISREG(a->mode))
        in->size = a->size;
}

struct ext4_inode *ext4_inode_new(cz_ext4 *w, const struct cz_ext4_attr *a)
{
    struct ext4_inode *in = cz_xcalloc(1, sizeof(*in));
    ext4_inode_set_attr(in, a);
    w->n_inodes++;
    return in;
}

static void inode_free(struct ext4_inode *in)
{
    free(in->ext);
    free(in->symlink);
    for (uint32_t i = 0; i < in->n_xattrs; i++) {
        free(in->xattrs[i].name);
        free(in->xattrs[i].value);
    }
    free(in->xattrs);
    free(in);
}

static void inode_unref(cz_ext4 *w, struct ext4_inode *in)
{
    if (--in->links > 0)
        return;
    if (w->current == in)
        w->current = NULL;
    inode_free(in);
    w->n_inodes--;
}

struct ext4_node *ext4_lookup(cz_ext4 *w, struct ext4_node *dir, const char *name, size_t len)
{
    size_t h = node_hash(dir, name, len) & (w->n_buckets - 1);
    for (struct ext4_node *n = w->buckets[h]; n; n = n->hnext)
        if (n->parent == dir && n->name_len == len && !memcmp(n->name, name, len))
            return n;
    return NULL;
}

struct ext4_node *ext4_node_new(cz_ext4 *w, struct ext4_node *dir, const char *name, size_t len,
                                struct ext4_inode *inode)
{
    if (w->n_nodes >= w->n_buckets)
        rehash(w);
    struct ext4_node *n = cz_xcalloc(1, sizeof(*n) + len + 1);
    memcpy(n->name, name, len);
    n->name_len = (uint16_t)len;
    n->parent = dir;
    n->inode = inode;
    n->layer = w->layer;
    inode->links++;
    size_t h = node_hash(dir, name, len) & (w->n_buckets - 1);
    n->hnext = w->buckets[h];
    w->buckets[h] = n;
    n->next = dir->child;
    if (dir->child)
        dir->child->prev = n;
    dir->child = n;
    dir->nchildren++;
    if (S_ISDIR(inode->mode))
        dir->inode->subdirs++;
    w->n_nodes++;
    return n;
}

static void unlink_leaf(cz_ext4 *w, struct ext4_node *n)
{
    struct ext4_node *dir = n->parent;
    size_t h = node_hash(dir, n->name, n->name_len) & (w->n_buckets - 1);
    struct ext4_node **pp = &w->buckets[h];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    if (n->prev)
        n->prev->next = n->next;
    else
        dir->child = n->next;
    if (n->next)
        n->next->prev = n->prev;
    dir->nchildren--;
    if (S_ISDIR(n->inode->mode))
        dir->inode->subdirs--;
    inode_unref(w, n->inode);
    free(n);
    w->n_nodes--;
}

/* Post-order without recursion: trees from layers can be arbitrarily deep. */
void ext4_node_remove(cz_ext4 *w, struct ext4_node *n)
{
    struct ext4_node *cur = n;
    for (;;) {
        while (cur->child)
            cur = cur->child;
        struct ext4_node *parent = cur->parent;
        bool last = cur == n;
        unlink_leaf(w, cur);
        if (last)
            return;
        cur = parent;
    }
}

void ext4_tree_init(cz_ext4 *w)
{
    rehash(w);
    struct cz_ext4_attr a = {
        .mode = S_IFDIR | 0755, .atime = w->now, .mtime = w->now, .ctime = w->now};
    w->root = cz_xcalloc(1, sizeof(*w->root) + 1);
    w->root->parent = w->root;
    w->root->inode = ext4_inode_new(w, &a);
    w->root->inode->links = 1;
}

void ext4_tree_free(cz_ext4 *w)
{
    if (!w->root)
        return;
    /* Inodes are shared by links: free nodes through the table, inodes by count. */
    for (size_t i = 0; i < w->n_buckets; i++) {
        struct ext4_node *n = w->buckets[i];
        while (n) {
            struct ext4_node *next = n->hnext;
            struct ext4_inode *in = n->inode;
            if (--in->links == 0)
                inode_free(in);
            free(n);
            n = next;
        }
    }
    inode_free(w->root->inode);
    free(w->root);
    free(w->buckets);
    w->root = NULL;
    w->buckets = NULL;
}

/* Walk components of path from dir. Stops before the last component when
 * stop_before_last (its name goes to *last). Creates missing directories when
 * create. depth bounds symlink following. */
static int walk(cz_ext4 *w, struct ext4_node *dir, const char *path, bool stop_before_last,
                bool create, int *depth, struct ext4_node **out, const char **last,
                size_t *last_len, cz_error *err)
{
    if (*path == '/') {
        dir = w->root;
        while (*path == '/')
            path++;
    }
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *rest = e ? e + 1 : p + len;
        bool is_last = !*rest; /* also after a trailing slash */
        if (len == 0)
            return cz_error_set(err, EINVAL, "empty path component");
        if (len > EXT4_NAME_MAX)
            return cz_error_set(err, ENAMETOOLONG, "name longer than %u bytes", EXT4_NAME_MAX);
        if (is_last && stop_before_last) {
            if ((len == 1 && p[0] == '.')) {
                len = 0;
            } else if (len == 2 && p[0] == '.' && p[1] == '.') {
                dir = dir->parent;
                len = 0;
            }
            *out = dir;
            *last = p;
            *last_len = len;
            return 0;
        }
        if (len == 1 && p[0] == '.') {
            /* stays */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            dir = dir->parent; /* the root's parent is the root */
        } else {
            struct ext4_node *n = ext4_lookup(w, dir, p, len);
            if (!n) {
                if (!create)
                    return cz_error_set(err, ENOENT, "'%.*s' does not exist", (int)len, p);
                struct cz_ext4_attr a = {
                    .mode = S_IFDIR | 0755, .atime = w->now, .mtime = w->now, .ctime = w->now};
                n = ext4_node_new(w, dir, p, len, ext4_inode_new(w, &a));
            } else if (S_ISLNK(n->inode->mode)) {
                if (++*depth > SYMLINK_FOLLOW_MAX)
                    return cz_error_set(err, ELOOP, "too many levels of symbolic links");
                struct ext4_node *t;
                if (walk(w, dir, n->inode->symlink, false, false, depth, &t, NULL, NULL, err) < 0)
                    return -1;
                n = t;
            }
            if (!ext4_is_dir(n))
                return cz_error_set(err, ENOTDIR, "'%.*s' is not a directory", (int)len, p);
            dir = n;
        }
        p = rest;
        if (is_last)
            break;
    }
    if (stop_before_last) {
        /* path was empty or only slashes: it names dir itself */
        *out = dir;
        *last = p;
        *last_len = 0;
        return 0;
    }
    *out = dir;
    return 0;
}

int ext4_resolve_parent(cz_ext4 *w, const char *path, struct ext4_node **parent, const char **last,
                        size_t *last_len, cz_error *err)
{
    int depth = 0;
    return walk(w, w->root, path, true, true, &depth, parent, last, last_len, err);
}

struct ext4_node *ext4_resolve(cz_ext4 *w, const char *path, cz_error *err)
{
    struct ext4_node *dir;
    const char *last;
    size_t len;
    int depth = 0;
    if (walk(w, w->root, path, true, false, &depth, &dir, &last, &len, err) < 0)
        return NULL;
    if (len == 0)
        return dir;
    struct ext4_node *n = ext4_lookup(w, dir, last, len);
    if (!n)
        cz_error_set(err, ENOENT, "'%s' does not exist", path);
    return n;
}
