/* Internal shapes of the ext4 writer: on-disk constants, little-endian field
 * helpers, the in-memory tree the layers are applied to, and the block
 * allocator shared by data streaming and the final metadata layout. */
#ifndef CZ_EXT4_INTERNAL_H
#define CZ_EXT4_INTERNAL_H

#include <cz/ext4.h>

#include "base/util.h"

#include <stdint.h>

#define EXT4_BLOCK 4096u
#define EXT4_BLOCKS_PER_GROUP 32768u
#define EXT4_INODE_SIZE 256u
#define EXT4_EXTRA_ISIZE 32u
#define EXT4_FIRST_INO 11u
#define EXT4_ROOT_INO 2u
#define EXT4_JOURNAL_INO 8u
#define EXT4_MAX_EXTENT_LEN 32768u
#define EXT4_NAME_MAX 255u
#define EXT4_SYMLINK_MAX 4095u
#define EXT4_MAX_FILE_BLOCKS 0xFFFFFFFFull /* logical blocks are 32-bit */
#define EXT4_MAX_ENTRIES (4u << 20)        /* bounds the in-memory tree */
#define EXT4_FIT_MAX_GROUPS 8192u          /* sized-to-fit images up to 1 TiB */

/* Feature bits (superblock). */
#define COMPAT_HAS_JOURNAL 0x4
#define COMPAT_EXT_ATTR 0x8
#define COMPAT_DIR_INDEX 0x20
#define INCOMPAT_FILETYPE 0x2
#define INCOMPAT_EXTENTS 0x40
#define INCOMPAT_64BIT 0x80
#define INCOMPAT_FLEX_BG 0x200
#define RO_COMPAT_SPARSE_SUPER 0x1
#define RO_COMPAT_LARGE_FILE 0x2
#define RO_COMPAT_HUGE_FILE 0x8
#define RO_COMPAT_DIR_NLINK 0x20
#define RO_COMPAT_EXTRA_ISIZE 0x40
#define RO_COMPAT_METADATA_CSUM 0x400

#define INODE_FLAG_INDEX 0x1000
#define INODE_FLAG_EXTENTS 0x80000

#define BG_INODE_UNINIT 0x1
#define BG_BLOCK_UNINIT 0x2
#define BG_ITABLE_ZEROED 0x4

static inline void put16(uint8_t *p, uint32_t off, uint16_t v)
{
    p[off] = (uint8_t)v;
    p[off + 1] = (uint8_t)(v >> 8);
}
static inline void put32(uint8_t *p, uint32_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint32_t off, uint64_t v)
{
    put32(p, off, (uint32_t)v);
    put32(p, off + 4, (uint32_t)(v >> 32));
}
static inline void put32be(uint8_t *p, uint32_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[off + i] = (uint8_t)(v >> (24 - 8 * i));
}
static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* crc32c (Castagnoli) without the final inversion, as ext4 uses it. */
uint32_t ext4_crc32c(uint32_t crc, const void *data, size_t len);
/* The half-MD4 directory hash (unsigned chars); minor may be NULL. */
uint32_t ext4_dirhash(const char *name, size_t len, const uint32_t seed[4], uint32_t *minor);
/* Convert a system.posix_acl_* xattr value to ext4's on-disk ACL format. */
int ext4_acl_from_xattr(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                        cz_error *err);

struct ext4_extent {
    uint32_t logical;
    uint32_t len;
    uint64_t phys;
};

struct ext4_xattr {
    uint8_t index; /* name index (1 user, 2/3 ACLs, 4 trusted, 6 security, 7 system) */
    uint8_t name_len;
    char *name; /* without the prefix the index stands for */
    uint8_t *value;
    uint32_t value_len;
};

/* One inode; several names share it when hard-linked. */
struct ext4_inode {
    uint32_t mode, uid, gid;
    uint32_t links; /* names pointing here */
    uint32_t ino;   /* assigned by the layout */
    uint32_t subdirs;
    int64_t atime, mtime, ctime;
    uint32_t atime_ns, mtime_ns, ctime_ns;
    uint32_t dev_major, dev_minor;
    uint64_t size;
    struct ext4_extent *ext;
    uint32_t n_ext, cap_ext;
    uint64_t data_end; /* logical block after the last allocated one */
    char *symlink;
    struct ext4_xattr *xattrs;
    uint32_t n_xattrs;
    uint64_t meta_blocks; /* extent tree, xattr and symlink blocks (layout) */
    uint64_t xattr_block;
    uint8_t iblock[60]; /* i_block as laid out */
    uint32_t flags;
    bool laid_out;
};

struct ext4_node {
    struct ext4_node *parent;
    struct ext4_node *hnext;               /* hash chain */
    struct ext4_node *child, *prev, *next; /* directory children */
    struct ext4_inode *inode;
    uint32_t nchildren;
    uint32_t layer;
    uint16_t name_len;
    char name[];
};

struct cz_ext4 {
    char *path, *tmp;
    int fd;
    struct cz_ext4_options opt;
    char label[17];
    uint8_t uuid[16];
    uint32_t hash_seed[4];
    uint32_t csum_seed;
    int64_t now;

    /* geometry known up front (explicit size) or at the end (sized to fit) */
    uint64_t total_blocks; /* 0 while unknown */
    uint32_t desc_size;
    uint32_t gdt_reserved; /* GDT blocks kept free after each superblock copy */
    bool is64;

    uint64_t cursor;     /* next block the allocator hands out */
    uint64_t limit;      /* blocks the allocator may hand out */
    uint64_t meta_guess; /* metadata blocks the layout will need (space checks) */

    /* the in-memory tree */
    struct ext4_node *root;
    struct ext4_node **buckets;
    size_t n_buckets, n_nodes;
    uint64_t n_inodes;
    struct ext4_inode *current; /* regular file receiving cz_ext4_write */
    uint64_t cur_pos;           /* end of its last write */
    uint32_t layer;

    /* write combining for file data */
    uint8_t *wbuf;
    size_t wlen;
    uint64_t wpos; /* byte position of wbuf[0] */
    bool falloc;   /* allocate written ranges first (until fallocate fails) */
    uint64_t falloc_end;
};

/* Blocks [start, start+n) handed out by the allocator, contiguous; returns
 * how many (at most want; fewer when a superblock copy is in the way). */
int ext4_alloc(cz_ext4 *w, uint64_t want, uint64_t *start, uint64_t *got, cz_error *err);
bool ext4_group_has_super(uint64_t group);
int ext4_pwrite(cz_ext4 *w, const void *data, size_t len, uint64_t pos, cz_error *err);
int ext4_flush(cz_ext4 *w, cz_error *err);
void ext4_inode_add_extent(struct ext4_inode *in, uint32_t logical, uint64_t phys, uint32_t len);

/* tree.c */
void ext4_tree_init(cz_ext4 *w);
void ext4_tree_free(cz_ext4 *w);
struct ext4_node *ext4_lookup(cz_ext4 *w, struct ext4_node *dir, const char *name, size_t len);
/* Resolve path: the parent directory (created when missing) and the last
 * component. *last_len 0 means the path names the directory *parent itself. */
int ext4_resolve_parent(cz_ext4 *w, const char *path, struct ext4_node **parent, const char **last,
                        size_t *last_len, cz_error *err);
/* Resolve a whole path (symlinks followed except in the last component). */
struct ext4_node *ext4_resolve(cz_ext4 *w, const char *path, cz_error *err);
struct ext4_node *ext4_node_new(cz_ext4 *w, struct ext4_node *dir, const char *name, size_t len,
                                struct ext4_inode *inode);
void ext4_node_remove(cz_ext4 *w, struct ext4_node *n);
struct ext4_inode *ext4_inode_new(cz_ext4 *w, const struct cz_ext4_attr *a);
void ext4_inode_set_attr(struct ext4_inode *in, const struct cz_ext4_attr *a);
static inline bool ext4_is_dir(const struct ext4_node *n)
{
    return (n->inode->mode & 0170000) == 0040000;
}

/* layout.c */
int ext4_layout_and_write(cz_ext4 *w, cz_error *err);

#endif
