/* A streaming tar reader (ustar, pax and GNU long names; the bytes arrive in
 * pieces from a CopyIn stream) and a ustar/pax header writer (CopyOut). Only the
 * formats container tools produce; everything it reads is bounded. */
#ifndef CZ_VMINITD_TAR_H
#define CZ_VMINITD_TAR_H

#include <cz/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK 512
#define TAR_MAX_PATH 4096
#define TAR_MAX_META (1u << 20) /* pax / GNU long-name record size limit */

typedef struct tar_entry {
    const char *path;     /* as in the archive (not sanitized) */
    const char *linkpath; /* symlink target or hard link's target path */
    char type; /* '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
    uint32_t mode; /* permission bits */
    uint32_t uid, gid;
    uint32_t devmajor, devminor;
    int64_t mtime_sec;
    uint32_t mtime_nsec;
    uint64_t size; /* data bytes that follow (regular files) */
} tar_entry;

typedef struct tar_ops {
    /* A new entry; its data (if any) follows through data(), then end(). */
    int (*begin)(void *ctx, const tar_entry *e, cz_error *err);
    int (*data)(void *ctx, const uint8_t *p, size_t n, cz_error *err);
    int (*end)(void *ctx, cz_error *err);
} tar_ops;

typedef struct tar_reader tar_reader;

tar_reader *tar_reader_new(const tar_ops *ops, void *ctx);
void tar_reader_free(tar_reader *r);
/* Feed the next bytes of the archive. Errors are EINVAL for a malformed archive. */
int tar_reader_feed(tar_reader *r, const uint8_t *p, size_t n, cz_error *err);
/* The stream ended: fine at the end-of-archive marker or between entries
 * (some tools omit the marker); an error inside an entry. */
int tar_reader_finish(tar_reader *r, cz_error *err);
/* Entries seen so far (pax and GNU meta entries not counted). */
uint64_t tar_reader_entries(const tar_reader *r);

/* Append the header block(s) for e (pax extended header first when a field does
 * not fit ustar) to out. The caller appends e->size data bytes and then
 * tar_padding(e->size) zero bytes. */
struct cz_buf;
void tar_write_header(struct cz_buf *out, const tar_entry *e);
size_t tar_padding(uint64_t size);

#endif
