/* ext4 images written directly (no mount, no root, no e2fsprogs): a streaming
 * writer (file contents go to disk as they arrive, metadata is laid out at the
 * end), the OCI layer unpacker built on it, image snapshots and empty images
 * for writable layers and volumes. docs/ext4.md describes layout and limits. */
#ifndef CZ_EXT4_H
#define CZ_EXT4_H

#include <cz/content.h>
#include <cz/error.h>
#include <cz/oci.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct cz_ext4 cz_ext4;

struct cz_ext4_options {
    uint64_t size_bytes; /* image size; 0: sized to fit the content */
    const char *label;   /* volume label (at most 16 bytes), may be NULL */
    bool journal;        /* an empty jbd2 journal: the image will be mounted read-write */
    bool sync;           /* fsync the image before it is renamed into place */
    bool force_64bit;    /* 64bit feature even when the size does not need it */
    uint64_t free_bytes; /* sized to fit: free space to leave for later writes */
};

/* What an entry is: type and permission bits in mode (S_IFREG | 0644 ...). */
struct cz_ext4_attr {
    uint32_t mode;
    uint32_t uid, gid;
    int64_t atime, mtime, ctime; /* seconds since the epoch */
    uint32_t atime_ns, mtime_ns, ctime_ns;
    uint32_t dev_major, dev_minor; /* character and block devices */
    uint64_t size;                 /* regular files: the size (data may be sparse) */
};

/* Start an image at path; it is written to a temporary file beside path and
 * renamed into place by cz_ext4_finish. */
CZ_PUBLIC int cz_ext4_open(const char *path, const struct cz_ext4_options *o, cz_ext4 **out,
                           cz_error *err);
/* Create or replace the entry at path (inside the image; "..", absolute paths
 * and symlinks resolve inside it). Missing parents are created. A directory
 * that exists keeps its children and takes the new attributes. symlink_target
 * is the target of a symlink (S_IFLNK), else NULL. */
CZ_PUBLIC int cz_ext4_add(cz_ext4 *w, const char *path, const struct cz_ext4_attr *a,
                          const char *symlink_target, cz_error *err);
/* Contents of the regular file added last: bytes at offset, offsets increasing;
 * gaps are holes. */
CZ_PUBLIC int cz_ext4_write(cz_ext4 *w, uint64_t offset, const void *data, size_t len,
                            cz_error *err);
/* A hard link at path to the existing non-directory target. */
CZ_PUBLIC int cz_ext4_link(cz_ext4 *w, const char *path, const char *target, cz_error *err);
/* Remove path (directories recursively). Missing: error when must_exist. */
CZ_PUBLIC int cz_ext4_remove(cz_ext4 *w, const char *path, bool must_exist, cz_error *err);
/* Set an extended attribute ("user.x", "security.capability", "trusted.x",
 * "system.posix_acl_access"/"_default" in their xattr form). */
CZ_PUBLIC int cz_ext4_set_xattr(cz_ext4 *w, const char *path, const char *name, const void *value,
                                size_t len, cz_error *err);
/* Lay out the metadata, write it and rename the image into place. Frees w. */
CZ_PUBLIC int cz_ext4_finish(cz_ext4 *w, cz_error *err);
/* Drop the temporary file and free w. */
CZ_PUBLIC void cz_ext4_abort(cz_ext4 *w);

/* An empty image with a journal (writable container layers, volumes). */
CZ_PUBLIC int cz_ext4_create_empty(const char *path, uint64_t size_bytes, const char *label,
                                   cz_error *err);

/* --- OCI layers ---------------------------------------------------- */
struct cz_unpack_progress {
    uint64_t bytes;   /* uncompressed layer bytes read so far */
    uint64_t entries; /* tar entries applied so far */
    size_t layer, n_layers;
};
typedef void (*cz_unpack_progress_fn)(const struct cz_unpack_progress *p, void *arg);

/* Apply one layer (tar, tar+gzip, tar+zstd) read from fd; name (the layer
 * digest) appears in error messages. layer_index orders whiteouts: they hide
 * entries of lower layers. */
CZ_PUBLIC int cz_ext4_apply_layer_fd(cz_ext4 *w, int fd, const char *name, size_t layer_index,
                                     cz_unpack_progress_fn progress, void *progress_arg,
                                     cz_error *err);
CZ_PUBLIC int cz_ext4_apply_layer_mem(cz_ext4 *w, const void *data, size_t len, const char *name,
                                      size_t layer_index, cz_error *err);

struct cz_unpack_options {
    struct cz_ext4_options image;
    cz_unpack_progress_fn progress;
    void *progress_arg;
};
/* Every layer of a single-platform manifest, in order, into one image at output. */
CZ_PUBLIC int cz_ext4_unpack_manifest(cz_store *st, const cz_manifest *m, const char *output,
                                      const struct cz_unpack_options *o, cz_error *err);

/* ROOT/snapshots/<hex of manifest digest>.ext4: the read-only image of that
 * manifest's layers, built once (under ROOT/locks/snapshot-<hex>.lock) and
 * shared. *path_out (allocated) names it. */
CZ_PUBLIC int cz_snapshot_ensure(cz_store *st, const char *manifest_digest, char **path_out,
                                 cz_error *err);

#endif
