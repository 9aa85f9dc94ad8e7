/* The end of an image: inode numbers, directories (linear or hashed),
 * symlink, xattr and extent-tree blocks, the journal, then the group
 * metadata (bitmaps and inode tables placed after everything else, which
 * flex_bg allows), group descriptors and superblocks with their copies.
 * Every metadata block carries its crc32c (metadata_csum). */
#include "ext4/internal.h"

#include <errno.h>
#include <sys/stat.h>

#define DIRENT_TAIL 12u
#define DX_ROOT_LIMIT ((EXT4_BLOCK - 32 - 8) / 8)
#define DX_NODE_LIMIT ((EXT4_BLOCK - 8 - 8) / 8)
#define EXTENTS_PER_BLOCK ((EXT4_BLOCK - 12 - 4) / 12)
#define XBODY (EXT4_INODE_SIZE - 128 - EXT4_EXTRA_ISIZE)
#define INODE_XATTR_SPACE (XBODY - 4)

struct run {
    uint64_t start, len;
};

struct layout {
    cz_ext4 *w;
    struct ext4_inode **itab; /* by inode number - 1 */
    uint32_t max_ino;
    struct run *runs; /* metadata blocks handed out by the layout */
    size_t n_runs, cap_runs;
    struct ext4_inode journal;
    uint64_t groups;
    uint32_t ipg, itable_blocks, gdt_blocks;
    uint64_t *block_bitmap, *inode_bitmap, *inode_table; /* per group */
    uint8_t *xbody; /* in-inode xattr area of each inode, by number - 1 */
    uint8_t blk[EXT4_BLOCK];
};

static void add_run(struct layout *l, uint64_t start, uint64_t len)
{
    if (l->n_runs == l->cap_runs) {
        l->cap_runs = l->cap_runs ? l->cap_runs * 2 : 256;
        l->runs = cz_xrealloc(l->runs, l->cap_runs * sizeof(*l->runs));
    }
    l->runs[l->n_runs++] = (struct run){start, len};
}

/* Blocks for metadata: recorded for the bitmaps, and as extents of in when
 * they are the inode's contents (directories, symlinks, the journal). */
static int alloc_blocks(struct layout *l, uint64_t n, struct ext4_inode *in, uint32_t logical,
                        uint64_t *first, cz_error *err)
{
    bool got_first = false;
    while (n) {
        uint64_t s, g;
        if (ext4_alloc(l->w, n, &s, &g, err) < 0)
            return -1;
        add_run(l, s, g);
        if (in)
            ext4_inode_add_extent(in, logical, s, (uint32_t)g);
        if (!got_first && first)
            *first = s;
        got_first = true;
        logical += (uint32_t)g;
        n -= g;
    }
    return 0;
}

static uint32_t inode_seed(const struct layout *l, uint32_t ino)
{
    uint8_t b[4];
    put32(b, 0, ino);
    uint32_t c = ext4_crc32c(l->w->csum_seed, b, 4);
    put32(b, 0, 0); /* generation */
    return ext4_crc32c(c, b, 4);
}

static int write_block(struct layout *l, uint64_t block, const void *data, cz_error *err)
{
    return ext4_pwrite(l->w, data, EXT4_BLOCK, block * EXT4_BLOCK, err);
}

/* Physical block of logical block lb of an inode laid out by alloc_blocks. */
static uint64_t map_block(const struct ext4_inode *in, uint32_t lb)
{
    for (uint32_t i = 0; i < in->n_ext; i++)
        if (lb >= in->ext[i].logical && lb < in->ext[i].logical + in->ext[i].len)
            return in->ext[i].phys + (lb - in->ext[i].logical);
    return 0;
}

/* --- inode numbers ------------------------------------------------------ */
/* Depth-first successor of n below root, without recursion (trees can be deep). */
static struct ext4_node *next_node(struct ext4_node *root, struct ext4_node *n)
{
    if (n->child)
        return n->child;
    while (n != root && !n->next)
        n = n->parent;
    return n == root ? NULL : n->next;
}

static void number_inodes(struct layout *l)
{
    cz_ext4 *w = l->w;
    l->itab = cz_xcalloc(w->n_inodes + EXT4_FIRST_INO + 1, sizeof(*l->itab));
    w->root->inode->ino = EXT4_ROOT_INO;
    l->itab[EXT4_ROOT_INO - 1] = w->root->inode;
    uint32_t next = EXT4_FIRST_INO;
    struct ext4_node *lf = ext4_lookup(w, w->root, "lost+found", 10);
    if (lf && ext4_is_dir(lf)) {
        lf->inode->ino = next;
        l->itab[next++ - 1] = lf->inode;
    }
    for (struct ext4_node *n = w->root->child; n; n = next_node(w->root, n))
        if (!n->inode->ino) {
            n->inode->ino = next;
            l->itab[next++ - 1] = n->inode;
        }
    l->max_ino = next - 1;
}

/* --- directories -------------------------------------------------------- */
struct dentry {
    const char *name;
    uint32_t len, ino, hash, minor;
    uint8_t type;
};

static uint8_t file_type(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return 1;
    case S_IFDIR:
        return 2;
    case S_IFCHR:
        return 3;
    case S_IFBLK:
        return 4;
    case S_IFIFO:
        return 5;
    case S_IFSOCK:
        return 6;
    case S_IFLNK:
        return 7;
    }
    return 0;
}

static inline uint32_t dirent_size(uint32_t name_len)
{
    return (8 + name_len + 3) & ~3u;
}

static uint32_t put_dirent(uint8_t *b, uint32_t off, uint32_t ino, uint32_t rec_len,
                           const char *name, uint32_t len, uint8_t type)
{
    put32(b, off, ino);
    put16(b, off + 4, (uint16_t)rec_len);
    b[off + 6] = (uint8_t)len;
    b[off + 7] = type;
    memcpy(b + off + 8, name, len);
    return off + rec_len;
}

static void leaf_tail(struct layout *l, uint8_t *b, uint32_t seed)
{
    uint32_t t = EXT4_BLOCK - DIRENT_TAIL;
    memset(b + t, 0, DIRENT_TAIL);
    put16(b, t + 4, DIRENT_TAIL);
    b[t + 7] = 0xDE;
    put32(b, t + 8, ext4_crc32c(seed, b, t));
}

static void dx_tail(uint8_t *b, uint32_t count_off, uint32_t limit, uint32_t count, uint32_t seed)
{
    uint32_t t = count_off + limit * 8;
    put32(b, t, 0);
    put32(b, t + 4, 0);
    uint32_t c = ext4_crc32c(seed, b, count_off + count * 8);
    c = ext4_crc32c(c, b + t, 8); /* the tail, its checksum field as zero */
    put32(b, t + 4, c);
}

static int cmp_hash(const void *a, const void *b)
{
    const struct dentry *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->minor != y->minor)
        return x->minor < y->minor ? -1 : 1;
    return 0;
}

/* Fill leaf blocks from e[0..n): returns the number of blocks written into
 * the array starts[] (index of first entry per leaf). */
static size_t plan_leaves(const struct dentry *e, size_t n, uint32_t room, size_t *starts)
{
    size_t leaves = 0, used = room;
    for (size_t i = 0; i < n; i++) {
        uint32_t sz = dirent_size(e[i].len);
        if (used + sz > room) {
            starts[leaves++] = i;
            used = 0;
        }
        used += sz;
    }
    return leaves;
}

static int write_leaf(struct layout *l, struct ext4_inode *in, uint32_t lb, const struct dentry *e,
                      size_t n, const struct dentry *head, size_t n_head, uint32_t seed,
                      cz_error *err)
{
    uint8_t *b = l->blk;
    memset(b, 0, EXT4_BLOCK);
    uint32_t off = 0;
    size_t total = n_head + n;
    for (size_t i = 0; i < total; i++) {
        const struct dentry *d = i < n_head ? &head[i] : &e[i - n_head];
        uint32_t rec = i + 1 == total ? EXT4_BLOCK - DIRENT_TAIL - off : dirent_size(d->len);
        off = put_dirent(b, off, d->ino, rec, d->name, d->len, d->type);
    }
    if (!total)
        put_dirent(b, 0, 0, EXT4_BLOCK - DIRENT_TAIL, "", 0, 0);
    leaf_tail(l, b, seed);
    return write_block(l, map_block(in, lb), b, err);
}

static int layout_dir(struct layout *l, struct ext4_node *dn, cz_error *err)
{
    cz_ext4 *w = l->w;
    struct ext4_inode *in = dn->inode;
    size_t n = dn->nchildren;
    struct dentry *e = cz_xmalloc((n ? n : 1) * sizeof(*e));
    size_t i = 0, bytes = 0;
    for (struct ext4_node *c = dn->child; c; c = c->next, i++) {
        e[i] =
            (struct dentry){c->name, c->name_len, c->inode->ino, 0, 0, file_type(c->inode->mode)};
        bytes += dirent_size(c->name_len);
    }
    struct dentry head[2] = {{".", 1, in->ino, 0, 0, 2},
                             {"..", 2, dn->parent->inode->ino, 0, 0, 2}};
    uint32_t seed = inode_seed(l, in->ino);
    uint32_t room = EXT4_BLOCK - DIRENT_TAIL;
    int r = 0;
    if (bytes + 24 <= room) {
        if ((r = alloc_blocks(l, 1, in, 0, NULL, err)) == 0)
            r = write_leaf(l, in, 0, e, n, head, 2, seed, err);
        in->size = EXT4_BLOCK;
        free(e);
        return r;
    }
    for (i = 0; i < n; i++)
        e[i].hash = ext4_dirhash(e[i].name, e[i].len, w->hash_seed, &e[i].minor);
    qsort(e, n, sizeof(*e), cmp_hash);
    size_t *starts = cz_xmalloc((n + 1) * sizeof(*starts));
    size_t leaves = plan_leaves(e, n, room, starts);
    size_t nodes = leaves <= DX_ROOT_LIMIT ? 0 : (leaves + DX_NODE_LIMIT - 1) / DX_NODE_LIMIT;
    if (nodes > DX_ROOT_LIMIT) {
        free(starts);
        free(e);
        return cz_error_set(err, EFBIG, "directory with %zu entries is too large", n);
    }
    uint64_t nblocks = 1 + leaves + nodes;
    if (alloc_blocks(l, nblocks, in, 0, NULL, err) < 0) {
        free(starts);
        free(e);
        return -1;
    }
    in->size = nblocks * EXT4_BLOCK;
    in->flags |= INODE_FLAG_INDEX;
    /* hash of each leaf, with the collision bit when it continues the previous one */
    uint32_t *lhash = cz_xmalloc(leaves * sizeof(*lhash));
    for (size_t k = 0; k < leaves && r == 0; k++) {
        size_t s = starts[k], end = k + 1 < leaves ? starts[k + 1] : n;
        lhash[k] = e[s].hash | (k > 0 && e[s - 1].hash == e[s].hash ? 1 : 0);
        r = write_leaf(l, in, (uint32_t)(1 + k), e + s, end - s, NULL, 0, seed, err);
    }
    uint8_t *b = l->blk;
    /* index nodes (two levels) */
    for (size_t k = 0; k < nodes && r == 0; k++) {
        memset(b, 0, EXT4_BLOCK);
        put32(b, 0, 0);
        put16(b, 4, 0); /* rec_len 65536 encodes as 0 for 64 KiB; 4096 here */
        put16(b, 4, EXT4_BLOCK);
        size_t first = k * DX_NODE_LIMIT, cnt = CZ_MIN((size_t)DX_NODE_LIMIT, leaves - first);
        put16(b, 8, DX_NODE_LIMIT);
        put16(b, 10, (uint16_t)cnt);
        put32(b, 12, (uint32_t)(1 + first));
        for (size_t j = 1; j < cnt; j++) {
            put32(b, 8 + (uint32_t)j * 8, lhash[first + j]);
            put32(b, 12 + (uint32_t)j * 8, (uint32_t)(1 + first + j));
        }
        dx_tail(b, 8, DX_NODE_LIMIT, (uint32_t)cnt, seed);
        r = write_block(l, map_block(in, (uint32_t)(1 + leaves + k)), b, err);
    }
    if (r == 0) {
        memset(b, 0, EXT4_BLOCK);
        put_dirent(b, 0, in->ino, 12, ".", 1, 2);
        put_dirent(b, 12, dn->parent->inode->ino, EXT4_BLOCK - 12, "..", 2, 2);
        b[24 + 4] = 1; /* half_md4 */
        b[24 + 5] = 8;
        b[24 + 6] = nodes ? 1 : 0;
        size_t cnt = nodes ? nodes : leaves;
        put16(b, 32, DX_ROOT_LIMIT);
        put16(b, 34, (uint16_t)cnt);
        put32(b, 36, nodes ? (uint32_t)(1 + leaves) : 1);
        for (size_t j = 1; j < cnt; j++) {
            put32(b, 32 + (uint32_t)j * 8, nodes ? lhash[j * DX_NODE_LIMIT] : lhash[j]);
            put32(b, 36 + (uint32_t)j * 8, nodes ? (uint32_t)(1 + leaves + j) : (uint32_t)(1 + j));
        }
        dx_tail(b, 32, DX_ROOT_LIMIT, (uint32_t)cnt, seed);
        r = write_block(l, map_block(in, 0), b, err);
    }
    free(lhash);
    free(starts);
    free(e);
    return r;
}

/* --- extents -------------------------------------------------------------- */
static void put_ext_header(uint8_t *b, uint16_t entries, uint16_t max, uint16_t depth)
{
    put16(b, 0, 0xF30A);
    put16(b, 2, entries);
    put16(b, 4, max);
    put16(b, 6, depth);
    put32(b, 8, 0);
}

struct xent {
    uint32_t logical;
    uint32_t len; /* leaves only */
    uint64_t phys;
};

static int layout_extents(struct layout *l, struct ext4_inode *in, cz_error *err)
{
    /* split to the longest initialized extent */
    size_t n = 0;
    for (uint32_t i = 0; i < in->n_ext; i++)
        n += (in->ext[i].len + EXT4_MAX_EXTENT_LEN - 1) / EXT4_MAX_EXTENT_LEN;
    struct xent *v = cz_xmalloc((n ? n : 1) * sizeof(*v));
    size_t k = 0;
    for (uint32_t i = 0; i < in->n_ext; i++)
        for (uint32_t done = 0; done < in->ext[i].len;) {
            uint32_t len = CZ_MIN(EXT4_MAX_EXTENT_LEN, in->ext[i].len - done);
            v[k++] = (struct xent){in->ext[i].logical + done, len, in->ext[i].phys + done};
            done += len;
        }
    uint8_t *ib = in->iblock;
    memset(ib, 0, sizeof(in->iblock));
    uint16_t depth = 0;
    uint32_t seed = inode_seed(l, in->ino);
    int r = 0;
    while (n > 4) {
        size_t blocks = (n + EXTENTS_PER_BLOCK - 1) / EXTENTS_PER_BLOCK;
        struct xent *up = cz_xmalloc(blocks * sizeof(*up));
        for (size_t bkn = 0; bkn < blocks && r == 0; bkn++) {
            uint64_t blk = 0;
            if ((r = alloc_blocks(l, 1, NULL, 0, &blk, err)) < 0)
                break;
            size_t s = bkn * EXTENTS_PER_BLOCK, cnt = CZ_MIN((size_t)EXTENTS_PER_BLOCK, n - s);
            uint8_t *b = l->blk;
            memset(b, 0, EXT4_BLOCK);
            put_ext_header(b, (uint16_t)cnt, EXTENTS_PER_BLOCK, depth);
            for (size_t j = 0; j < cnt; j++) {
                uint8_t *p = b + 12 + j * 12;
                const struct xent *x = &v[s + j];
                put32(p, 0, x->logical);
                if (depth == 0) {
                    put16(p, 4, (uint16_t)x->len);
                    put16(p, 6, (uint16_t)(x->phys >> 32));
                    put32(p, 8, (uint32_t)x->phys);
                } else {
                    put32(p, 4, (uint32_t)x->phys);
                    put16(p, 8, (uint16_t)(x->phys >> 32));
                }
            }
            put32(b, 12 + EXTENTS_PER_BLOCK * 12,
                  ext4_crc32c(seed, b, 12 + EXTENTS_PER_BLOCK * 12));
            r = write_block(l, blk, b, err);
            up[bkn] = (struct xent){v[s].logical, 0, blk};
            in->meta_blocks++;
        }
        free(v);
        if (r < 0) {
            free(up);
            return -1;
        }
        v = up;
        n = blocks;
        depth++;
    }
    put_ext_header(ib, (uint16_t)n, 4, depth);
    for (size_t j = 0; j < n; j++) {
        uint8_t *p = ib + 12 + j * 12;
        put32(p, 0, v[j].logical);
        if (depth == 0) {
            put16(p, 4, (uint16_t)v[j].len);
            put16(p, 6, (uint16_t)(v[j].phys >> 32));
            put32(p, 8, (uint32_t)v[j].phys);
        } else {
            put32(p, 4, (uint32_t)v[j].phys);
            put16(p, 8, (uint16_t)(v[j].phys >> 32));
        }
    }
    in->flags |= INODE_FLAG_EXTENTS;
    free(v);
    return 0;
}

/* --- xattrs ------------------------------------------------------------- */
static int cmp_xattr(const void *a, const void *b)
{
    const struct ext4_xattr *x = a, *y = b;
    if (x->index != y->index)
        return x->index - y->index;
    if (x->name_len != y->name_len)
        return x->name_len - y->name_len;
    return memcmp(x->name, y->name, x->name_len);
}

static uint32_t xattr_hash(const struct ext4_xattr *x)
{
    uint32_t h = 0;
    for (uint32_t i = 0; i < x->name_len; i++)
        h = (h << 5) ^ (h >> 27) ^ (uint8_t)x->name[i];
    for (uint32_t i = 0; i < (x->value_len + 3) / 4; i++) {
        uint8_t wv[4] = {0};
        memcpy(wv, x->value + i * 4, CZ_MIN(4u, x->value_len - i * 4));
        h = (h << 16) ^ (h >> 16) ^ get32(wv);
    }
    return h;
}

static inline uint32_t xentry_size(const struct ext4_xattr *x)
{
    return (16 + x->name_len + 3) & ~3u;
}

/* Put entries e[0..n) into area (entries from the start, values from the
 * end); value offsets relative to base_off. Returns -1 when they do not fit. */
static int pack_xattrs(const struct ext4_xattr *e, size_t n, uint8_t *area, uint32_t size,
                       uint32_t base_off, bool hashes)
{
    uint32_t eoff = 0, vend = size;
    for (size_t i = 0; i < n; i++) {
        uint32_t es = xentry_size(&e[i]), vs = (e[i].value_len + 3) & ~3u;
        if (eoff + es + 4 > vend - vs)
            return -1;
        vend -= vs;
        memcpy(area + vend, e[i].value, e[i].value_len);
        uint8_t *p = area + eoff;
        p[0] = e[i].name_len;
        p[1] = e[i].index;
        put16(p, 2, (uint16_t)(vend + base_off));
        put32(p, 4, 0);
        put32(p, 8, e[i].value_len);
        put32(p, 12, hashes ? xattr_hash(&e[i]) : 0);
        memcpy(p + 16, e[i].name, e[i].name_len);
        eoff += es;
    }
    return 0;
}

static int layout_xattrs(struct layout *l, struct ext4_inode *in, uint8_t *ibody, cz_error *err)
{
    if (!in->n_xattrs)
        return 0;
    qsort(in->xattrs, in->n_xattrs, sizeof(*in->xattrs), cmp_xattr);
    /* as many as fit in the inode, in order; the rest in one block */
    size_t k = 0;
    uint32_t used = 4;
    while (k < in->n_xattrs) {
        uint32_t need = xentry_size(&in->xattrs[k]) + ((in->xattrs[k].value_len + 3) & ~3u);
        if (used + need > INODE_XATTR_SPACE)
            break;
        used += need;
        k++;
    }
    if (k) {
        put32(ibody, 0, 0xEA020000u);
        pack_xattrs(in->xattrs, k, ibody + 4, INODE_XATTR_SPACE, 0, false);
    }
    if (k == in->n_xattrs)
        return 0;
    uint8_t *b = l->blk;
    memset(b, 0, EXT4_BLOCK);
    if (pack_xattrs(in->xattrs + k, in->n_xattrs - k, b + 32, EXT4_BLOCK - 32, 32, true) < 0)
        return cz_error_set(err, E2BIG, "xattrs of inode %u do not fit in one block", in->ino);
    uint64_t blk;
    if (alloc_blocks(l, 1, NULL, 0, &blk, err) < 0)
        return -1;
    uint32_t h = 0;
    for (size_t i = k; i < in->n_xattrs; i++) {
        uint32_t eh = xattr_hash(&in->xattrs[i]);
        if (!eh) {
            h = 0;
            break;
        }
        h = (h << 16) ^ (h >> 16) ^ eh;
    }
    put32(b, 0, 0xEA020000u);
    put32(b, 4, 1);
    put32(b, 8, 1);
    put32(b, 12, h);
    uint8_t bn[8];
    put64(bn, 0, blk);
    uint32_t c = ext4_crc32c(l->w->csum_seed, bn, 8);
    put32(b, 16, ext4_crc32c(c, b, EXT4_BLOCK));
    in->xattr_block = blk;
    in->meta_blocks++;
    return write_block(l, blk, b, err);
}

/* --- inodes --------------------------------------------------------------- */
static uint32_t time_extra(int64_t sec, uint32_t ns)
{
    uint32_t epoch = (uint32_t)(((sec - (int32_t)sec) >> 32) & 3);
    return (ns << 2) | epoch;
}

static void encode_inode(struct layout *l, const struct ext4_inode *in, uint8_t *b,
                         const uint8_t *ibody)
{
    memset(b, 0, EXT4_INODE_SIZE);
    uint64_t blocks = in->meta_blocks;
    for (uint32_t i = 0; i < in->n_ext; i++)
        blocks += in->ext[i].len;
    uint32_t links = in->links;
    if (S_ISDIR(in->mode))
        links = 2 + in->subdirs >= 65000 ? 1 : 2 + in->subdirs;
    put16(b, 0x00, (uint16_t)in->mode);
    put16(b, 0x02, (uint16_t)in->uid);
    put32(b, 0x04, (uint32_t)in->size);
    put32(b, 0x08, (uint32_t)in->atime);
    put32(b, 0x0C, (uint32_t)in->ctime);
    put32(b, 0x10, (uint32_t)in->mtime);
    put16(b, 0x18, (uint16_t)in->gid);
    put16(b, 0x1A, (uint16_t)links);
    put32(b, 0x1C, (uint32_t)(blocks * 8));
    put32(b, 0x20, in->flags);
    memcpy(b + 0x28, in->iblock, 60);
    put32(b, 0x68, (uint32_t)in->xattr_block);
    put32(b, 0x6C, (uint32_t)(in->size >> 32));
    put16(b, 0x74, (uint16_t)((blocks * 8) >> 32));
    put16(b, 0x76, (uint16_t)(in->xattr_block >> 32));
    put16(b, 0x78, (uint16_t)(in->uid >> 16));
    put16(b, 0x7A, (uint16_t)(in->gid >> 16));
    put16(b, 0x80, EXT4_EXTRA_ISIZE);
    put32(b, 0x84, time_extra(in->ctime, in->ctime_ns));
    put32(b, 0x88, time_extra(in->mtime, in->mtime_ns));
    put32(b, 0x8C, time_extra(in->atime, in->atime_ns));
    put32(b, 0x90, (uint32_t)in->mtime); /* crtime */
    put32(b, 0x94, time_extra(in->mtime, in->mtime_ns));
    if (ibody)
        memcpy(b + 128 + EXT4_EXTRA_ISIZE, ibody, XBODY);
    uint32_t c = ext4_crc32c(inode_seed(l, in->ino), b, EXT4_INODE_SIZE);
    put16(b, 0x7C, (uint16_t)c);
    put16(b, 0x82, (uint16_t)(c >> 16));
}

static int layout_inode(struct layout *l, struct ext4_node *dirnode, struct ext4_inode *in,
                        uint8_t *ibody, cz_error *err)
{
    uint32_t type = in->mode & S_IFMT;
    if (type == S_IFDIR) {
        if (layout_dir(l, dirnode, err) < 0)
            return -1;
        if (layout_extents(l, in, err) < 0)
            return -1;
    } else if (type == S_IFREG) {
        if (layout_extents(l, in, err) < 0)
            return -1;
    } else if (type == S_IFLNK) {
        size_t tl = strlen(in->symlink);
        in->size = tl;
        if (tl < 60) {
            memset(in->iblock, 0, 60);
            memcpy(in->iblock, in->symlink, tl);
        } else {
            uint64_t blk;
            if (alloc_blocks(l, 1, in, 0, &blk, err) < 0)
                return -1;
            memset(l->blk, 0, EXT4_BLOCK);
            memcpy(l->blk, in->symlink, tl);
            if (write_block(l, blk, l->blk, err) < 0)
                return -1;
            if (layout_extents(l, in, err) < 0)
                return -1;
        }
    } else if (type == S_IFCHR || type == S_IFBLK) {
        memset(in->iblock, 0, 60);
        if (in->dev_major < 256 && in->dev_minor < 256) {
            put32(in->iblock, 0, in->dev_major << 8 | in->dev_minor);
        } else {
            put32(in->iblock, 4,
                  (in->dev_minor & 0xff) | (in->dev_major << 8) | ((in->dev_minor & ~0xffu) << 12));
        }
    }
    return layout_xattrs(l, in, ibody, err);
}

/* --- journal -------------------------------------------------------------- */
static uint64_t journal_blocks(uint64_t total)
{
    return total < 32768 ? 1024 : total < 262144 ? 4096 : total < 4194304 ? 16384 : 65536;
}

static int layout_journal(struct layout *l, uint64_t estimate_total, cz_error *err)
{
    struct ext4_inode *j = &l->journal;
    memset(j, 0, sizeof(*j));
    j->mode = S_IFREG | 0600;
    j->links = 1;
    j->ino = EXT4_JOURNAL_INO;
    j->atime = j->mtime = j->ctime = l->w->now;
    uint64_t n = journal_blocks(estimate_total);
    j->size = n * EXT4_BLOCK;
    uint64_t first;
    if (alloc_blocks(l, n, j, 0, &first, err) < 0)
        return -1;
    uint8_t *b = l->blk;
    memset(b, 0, EXT4_BLOCK);
    put32be(b, 0x00, 0xC03B3998u);
    put32be(b, 0x04, 4);
    put32be(b, 0x0C, EXT4_BLOCK);
    put32be(b, 0x10, (uint32_t)n);
    put32be(b, 0x14, 1);
    put32be(b, 0x18, 1);
    memcpy(b + 0x30, l->w->uuid, 16);
    put32be(b, 0x40, 1);
    memcpy(b + 0x100, l->w->uuid, 16);
    if (write_block(l, first, b, err) < 0)
        return -1;
    return layout_extents(l, j, err);
}

/* --- groups ---------------------------------------------------------------- */
static void set_bits(uint8_t *bm, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to;) {
        if (i % 8 == 0 && to - i >= 8) {
            uint64_t bytes = (to - i) / 8;
            memset(bm + i / 8, 0xff, bytes);
            i += bytes * 8;
        } else {
            bm[i / 8] |= (uint8_t)(1u << (i % 8));
            i++;
        }
    }
}

static int plan_groups(struct layout *l, cz_error *err)
{
    cz_ext4 *w = l->w;
    uint64_t c0 = w->cursor;
    size_t runs_base = l->n_runs;
    uint64_t total = w->total_blocks;
    uint64_t needed = l->max_ino + 16;
    if (!total)
        needed += w->opt.free_bytes / 16384 + (w->opt.journal ? 256 : 0);
    uint64_t groups = total ? (total + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP
                            : (c0 + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
    groups = CZ_MAX(groups, (needed + 32767) / 32768);
    groups = CZ_MAX(groups, 1);
    for (int iter = 0;; iter++) {
        uint64_t inodes = needed;
        if (total)
            inodes = CZ_MAX(needed, CZ_MIN(total * EXT4_BLOCK / 16384, 0xFFFFFFF0ull));
        uint64_t ipg = (inodes + groups - 1) / groups;
        ipg = (ipg + 15) & ~15ull;
        ipg = CZ_MAX(ipg, 16);
        if (ipg > 32768) {
            if (total && needed > groups * 32768)
                return cz_error_set(err, ENOSPC, "%llu entries do not fit an image of this size",
                                    (unsigned long long)l->max_ino);
            ipg = 32768;
        }
        if (ipg * groups > 0xFFFFFFFFull)
            ipg = (0xFFFFFFFFull / groups) & ~15ull;
        l->ipg = (uint32_t)ipg;
        l->itable_blocks = (uint32_t)(ipg * EXT4_INODE_SIZE / EXT4_BLOCK);
        l->groups = groups;
        l->gdt_blocks = (uint32_t)((groups * w->desc_size + EXT4_BLOCK - 1) / EXT4_BLOCK);
        w->cursor = c0;
        l->n_runs = runs_base;
        size_t runs0 = l->n_runs;
        free(l->block_bitmap);
        free(l->inode_bitmap);
        free(l->inode_table);
        l->block_bitmap = cz_xmalloc(groups * sizeof(uint64_t));
        l->inode_bitmap = cz_xmalloc(groups * sizeof(uint64_t));
        l->inode_table = cz_xmalloc(groups * sizeof(uint64_t));
        if (alloc_blocks(l, groups, NULL, 0, NULL, err) < 0)
            return -1;
        /* the bitmaps may be split by superblock copies: find each block */
        uint64_t gi = 0;
        for (size_t r = runs0; r < l->n_runs; r++)
            for (uint64_t k = 0; k < l->runs[r].len; k++)
                l->block_bitmap[gi++] = l->runs[r].start + k;
        runs0 = l->n_runs;
        if (alloc_blocks(l, groups, NULL, 0, NULL, err) < 0)
            return -1;
        gi = 0;
        for (size_t r = runs0; r < l->n_runs; r++)
            for (uint64_t k = 0; k < l->runs[r].len; k++)
                l->inode_bitmap[gi++] = l->runs[r].start + k;
        for (uint64_t g = 0; g < groups; g++) {
            /* an inode table must be contiguous */
            uint64_t s, got;
            for (int tries = 0;; tries++) {
                if (ext4_alloc(w, l->itable_blocks, &s, &got, err) < 0)
                    return -1;
                if (got == l->itable_blocks)
                    break;
                if (tries > 2)
                    return cz_error_set(err, ENOSPC, "no room for an inode table");
            }
            add_run(l, s, got);
            l->inode_table[g] = s;
        }
        if (total) {
            if (w->cursor > total)
                return cz_error_set(err, ENOSPC, "the content does not fit the image size");
            return 0;
        }
        uint64_t end = w->cursor + w->opt.free_bytes / EXT4_BLOCK + 16;
        uint64_t g2 = (end + EXT4_BLOCKS_PER_GROUP - 1) / EXT4_BLOCKS_PER_GROUP;
        if (g2 > EXT4_FIT_MAX_GROUPS)
            return cz_error_set(err, EFBIG, "the content needs more than 1 TiB: give a size");
        if (g2 <= groups || iter > 20) {
            /* the last group holds at least its superblock copy and some room */
            uint64_t min_total = (groups - 1) * EXT4_BLOCKS_PER_GROUP +
                                 (ext4_group_has_super(groups - 1) ? 1 + w->gdt_reserved : 0) + 64;
            w->total_blocks = CZ_MAX(end, min_total);
            if (w->total_blocks > groups * EXT4_BLOCKS_PER_GROUP)
                w->total_blocks = groups * EXT4_BLOCKS_PER_GROUP;
            return 0;
        }
        groups = g2;
    }
}

static void group_desc(struct layout *l, uint8_t *gd, uint64_t g, uint64_t free_blocks,
                       uint32_t free_inodes, uint32_t dirs, uint16_t flags, uint32_t bb_csum,
                       uint32_t ib_csum, uint32_t itable_unused)
{
    cz_ext4 *w = l->w;
    uint8_t *d = gd + g * w->desc_size;
    memset(d, 0, w->desc_size);
    put32(d, 0x00, (uint32_t)l->block_bitmap[g]);
    put32(d, 0x04, (uint32_t)l->inode_bitmap[g]);
    put32(d, 0x08, (uint32_t)l->inode_table[g]);
    put16(d, 0x0C, (uint16_t)free_blocks);
    put16(d, 0x0E, (uint16_t)free_inodes);
    put16(d, 0x10, (uint16_t)dirs);
    put16(d, 0x12, flags);
    put16(d, 0x18, (uint16_t)bb_csum);
    put16(d, 0x1A, (uint16_t)ib_csum);
    put16(d, 0x1C, (uint16_t)itable_unused);
    if (w->desc_size >= 64) {
        put32(d, 0x20, (uint32_t)(l->block_bitmap[g] >> 32));
        put32(d, 0x24, (uint32_t)(l->inode_bitmap[g] >> 32));
        put32(d, 0x28, (uint32_t)(l->inode_table[g] >> 32));
        put16(d, 0x2C, (uint16_t)(free_blocks >> 16));
        put16(d, 0x2E, (uint16_t)(free_inodes >> 16));
        put16(d, 0x30, (uint16_t)(dirs >> 16));
        put16(d, 0x32, (uint16_t)(itable_unused >> 16));
        put16(d, 0x38, (uint16_t)(bb_csum >> 16));
        put16(d, 0x3A, (uint16_t)(ib_csum >> 16));
    }
    uint8_t gb[4];
    put32(gb, 0, (uint32_t)g);
    uint32_t c = ext4_crc32c(w->csum_seed, gb, 4);
    c = ext4_crc32c(c, d, w->desc_size);
    put16(d, 0x1E, (uint16_t)c);
}

static void superblock(struct layout *l, uint8_t *sb, uint64_t free_blocks, uint64_t free_inodes,
                       uint64_t group)
{
    cz_ext4 *w = l->w;
    uint64_t total = w->total_blocks;
    memset(sb, 0, 1024);
    put32(sb, 0x00, (uint32_t)(l->groups * l->ipg));
    put32(sb, 0x04, (uint32_t)total);
    put32(sb, 0x0C, (uint32_t)free_blocks);
    put32(sb, 0x10, (uint32_t)free_inodes);
    put32(sb, 0x14, 0);
    put32(sb, 0x18, 2);
    put32(sb, 0x1C, 2);
    put32(sb, 0x20, EXT4_BLOCKS_PER_GROUP);
    put32(sb, 0x24, EXT4_BLOCKS_PER_GROUP);
    put32(sb, 0x28, l->ipg);
    put32(sb, 0x30, (uint32_t)w->now);
    put16(sb, 0x36, 0xFFFF);
    put16(sb, 0x38, 0xEF53);
    put16(sb, 0x3A, 1);
    put16(sb, 0x3C, 1);
    put32(sb, 0x40, (uint32_t)w->now);
    put32(sb, 0x4C, 1);
    put32(sb, 0x54, EXT4_FIRST_INO);
    put16(sb, 0x58, EXT4_INODE_SIZE);
    put16(sb, 0x5A, (uint16_t)group);
    put32(sb, 0x5C, COMPAT_EXT_ATTR | COMPAT_DIR_INDEX | (w->opt.journal ? COMPAT_HAS_JOURNAL : 0));
    put32(sb, 0x60,
          INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_FLEX_BG | (w->is64 ? INCOMPAT_64BIT : 0));
    put32(sb, 0x64,
          RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE |
              RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE | RO_COMPAT_METADATA_CSUM);
    memcpy(sb + 0x68, w->uuid, 16);
    memcpy(sb + 0x78, w->label, strlen(w->label));
    if (w->opt.journal) {
        put32(sb, 0xE0, EXT4_JOURNAL_INO);
        sb[0xFD] = 1; /* s_jnl_blocks holds a copy of the journal's i_block */
        memcpy(sb + 0x10C, l->journal.iblock, 60);
        put32(sb, 0x10C + 15 * 4, (uint32_t)(l->journal.size >> 32));
        put32(sb, 0x10C + 16 * 4, (uint32_t)l->journal.size);
    }
    for (int i = 0; i < 4; i++)
        put32(sb, 0xEC + 4 * i, w->hash_seed[i]);
    sb[0xFC] = 1; /* half_md4 */
    put16(sb, 0xFE, w->is64 ? 64 : 0);
    put32(sb, 0x100, 0x000C); /* user_xattr, acl */
    put32(sb, 0x108, (uint32_t)w->now);
    put32(sb, 0x150, (uint32_t)(total >> 32));
    put32(sb, 0x158, (uint32_t)(free_blocks >> 32));
    put16(sb, 0x15C, EXT4_EXTRA_ISIZE);
    put16(sb, 0x15E, EXT4_EXTRA_ISIZE);
    put32(sb, 0x160, 0x2); /* unsigned directory hash */
    sb[0x174] = 4;         /* 16 groups per flex group */
    sb[0x175] = 1;         /* crc32c */
    put32(sb, 0x3FC, ext4_crc32c(~0u, sb, 0x3FC));
}

static int write_groups(struct layout *l, cz_error *err)
{
    cz_ext4 *w = l->w;
    uint64_t total = w->total_blocks, groups = l->groups;
    uint64_t span = w->cursor; /* every block at or above is free (or a superblock copy) */
    uint8_t *used = cz_xcalloc(span / 8 + 1, 1);
    for (size_t r = 0; r < l->n_runs; r++)
        set_bits(used, l->runs[r].start, l->runs[r].start + l->runs[r].len);
    for (uint32_t i = 0; i < l->max_ino; i++) {
        struct ext4_inode *in = l->itab[i];
        if (in && (in->mode & S_IFMT) == S_IFREG)
            for (uint32_t k = 0; k < in->n_ext; k++)
                set_bits(used, in->ext[k].phys, in->ext[k].phys + in->ext[k].len);
    }
    uint8_t *gd = cz_xcalloc(l->gdt_blocks, EXT4_BLOCK);
    uint8_t *bm = cz_xmalloc(EXT4_BLOCK);
    uint64_t free_total = 0, free_inodes_total = 0;
    uint32_t *dirs = cz_xcalloc(groups, sizeof(uint32_t));
    for (uint32_t i = 0; i < l->max_ino; i++)
        if (l->itab[i] && S_ISDIR(l->itab[i]->mode))
            dirs[i / l->ipg]++;
    int r = 0;
    for (uint64_t g = 0; g < groups && r == 0; g++) {
        uint64_t gs = g * EXT4_BLOCKS_PER_GROUP;
        uint64_t ge = CZ_MIN(total, gs + EXT4_BLOCKS_PER_GROUP);
        memset(bm, 0, EXT4_BLOCK);
        if (ext4_group_has_super(g))
            set_bits(bm, 0, 1 + l->gdt_blocks);
        for (uint64_t b = gs; b < CZ_MIN(ge, span); b++)
            if (used[b / 8] & (1u << (b % 8)))
                bm[(b - gs) / 8] |= (uint8_t)(1u << ((b - gs) % 8));
        set_bits(bm, ge - gs, EXT4_BLOCKS_PER_GROUP);
        uint64_t free_blocks = 0;
        for (uint64_t b = 0; b < ge - gs; b++)
            if (!(bm[b / 8] & (1u << (b % 8))))
                free_blocks++;
        free_total += free_blocks;
        uint16_t flags = BG_ITABLE_ZEROED;
        uint32_t bb_csum = ext4_crc32c(w->csum_seed, bm, EXT4_BLOCK);
        if (gs >= span && g > 0 && g + 1 < groups)
            flags |= BG_BLOCK_UNINIT;
        else
            r = write_block(l, l->block_bitmap[g], bm, err);
        uint64_t first_ino = g * l->ipg + 1;
        uint32_t used_inodes = first_ino > l->max_ino
                                   ? 0
                                   : (uint32_t)CZ_MIN((uint64_t)l->ipg, l->max_ino - first_ino + 1);
        memset(bm, 0, EXT4_BLOCK);
        set_bits(bm, 0, used_inodes);
        set_bits(bm, l->ipg, EXT4_BLOCK * 8);
        uint32_t ib_csum = ext4_crc32c(w->csum_seed, bm, l->ipg / 8);
        if (!used_inodes)
            flags |= BG_INODE_UNINIT;
        else if (r == 0)
            r = write_block(l, l->inode_bitmap[g], bm, err);
        free_inodes_total += l->ipg - used_inodes;
        group_desc(l, gd, g, free_blocks, l->ipg - used_inodes, dirs[g], flags, bb_csum, ib_csum,
                   l->ipg - used_inodes);
        /* the inode table: used inodes only, the rest stays zero (sparse) */
        for (uint32_t k = 0; k < used_inodes && r == 0; k += 16) {
            uint8_t *t = l->blk;
            memset(t, 0, EXT4_BLOCK);
            for (uint32_t j = 0; j < 16 && k + j < used_inodes; j++) {
                uint32_t ino = (uint32_t)first_ino + k + j;
                struct ext4_inode *in =
                    ino == EXT4_JOURNAL_INO && w->opt.journal ? &l->journal : l->itab[ino - 1];
                uint8_t *ib = t + j * EXT4_INODE_SIZE;
                if (in) {
                    encode_inode(l, in, ib,
                                 in->n_xattrs ? l->xbody + (size_t)(ino - 1) * XBODY : NULL);
                } else {
                    /* reserved inode: empty but with a valid checksum */
                    struct ext4_inode z = {.ino = ino};
                    encode_inode(l, &z, ib, NULL);
                }
            }
            r = write_block(l, l->inode_table[g] + k / 16, t, err);
        }
    }
    if (r == 0) {
        uint8_t sb[1024];
        for (uint64_t g = 0; g < groups && r == 0; g++) {
            if (!ext4_group_has_super(g))
                continue;
            uint64_t gs = g * EXT4_BLOCKS_PER_GROUP;
            superblock(l, sb, free_total, free_inodes_total, g);
            r = ext4_pwrite(w, sb, sizeof(sb), g ? gs * EXT4_BLOCK : 1024, err);
            if (r == 0)
                r = ext4_pwrite(w, gd, (size_t)l->gdt_blocks * EXT4_BLOCK, (gs + 1) * EXT4_BLOCK,
                                err);
        }
    }
    free(dirs);
    free(bm);
    free(gd);
    free(used);
    return r;
}

int ext4_layout_and_write(cz_ext4 *w, cz_error *err)
{
    struct layout *l = cz_xcalloc(1, sizeof(*l));
    l->w = w;
    int r = 0;
    w->current = NULL;
    w->meta_guess = 0;
    if (w->total_blocks)
        w->limit = w->total_blocks;
    if (!ext4_lookup(w, w->root, "lost+found", 10)) {
        struct cz_ext4_attr a = {
            .mode = S_IFDIR | 0700, .atime = w->now, .mtime = w->now, .ctime = w->now};
        ext4_node_new(w, w->root, "lost+found", 10, ext4_inode_new(w, &a));
    }
    number_inodes(l);
    l->xbody = cz_xcalloc(l->max_ino + 1, XBODY);
    /* directories need their node: walk the tree (each inode once) */
    for (struct ext4_node *n = w->root; n && r == 0; n = next_node(w->root, n)) {
        struct ext4_inode *in = n->inode;
        if (!in->laid_out) {
            in->laid_out = true;
            r = layout_inode(l, n, in, l->xbody + (size_t)(in->ino - 1) * XBODY, err);
        }
    }
    if (r == 0 && w->opt.journal)
        r = layout_journal(l, w->total_blocks ? w->total_blocks : w->cursor, err);
    if (r == 0)
        r = plan_groups(l, err);
    if (r == 0)
        r = write_groups(l, err);
    if (r == 0)
        r = ext4_flush(w, err);
    if (r == 0 && ftruncate(w->fd, (off_t)(w->total_blocks * EXT4_BLOCK)) < 0)
        r = cz_error_errno(err, errno, "resize %s", w->tmp);
    free(l->xbody);
    free(l->itab);
    free(l->runs);
    free(l->journal.ext);
    free(l->block_bitmap);
    free(l->inode_bitmap);
    free(l->inode_table);
    free(l);
    return r;
}
