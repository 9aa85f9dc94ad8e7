/* The content store: an OCI image layout on disk (oci-layout, index.json,
 * blobs/sha256/...), so skopeo, umoci and containerd read and write it too.
 *
 * Layout under the root directory:
 *   ROOT/content/          the OCI layout
 *   ROOT/tmp/ingest/       blobs being written (same filesystem, so rename is atomic)
 *   ROOT/locks/            flock files: index.lock (index.json updates), gc.lock
 *
 * Ingest is atomic: a temp file, a streaming sha256 and size check, fsync,
 * rename. A blob is either whole and verified under blobs/ or absent.
 * Image names live in index.json as descriptors annotated with
 * org.opencontainers.image.ref.name = the full normalized reference
 * ("docker.io/library/alpine:latest"). */
#ifndef CZ_CONTENT_H
#define CZ_CONTENT_H

#include <cz/error.h>
#include <cz/oci.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct cz_store cz_store;

/* Open (creating when missing) the store under root. */
CZ_PUBLIC int cz_store_open(const char *root, cz_store **out, cz_error *err);
CZ_PUBLIC void cz_store_close(cz_store *s);
/* ROOT/content */
CZ_PUBLIC const char *cz_store_layout_path(const cz_store *s);
CZ_PUBLIC const char *cz_store_root(const cz_store *s);

/* --- blobs ----------------------------------------------------------- */
/* Path of a blob (allocated); the blob may not exist. */
CZ_PUBLIC char *cz_store_blob_path(const cz_store *s, const char *digest);
/* Present with this size (size < 0: any size)? */
CZ_PUBLIC bool cz_store_has_blob(const cz_store *s, const char *digest, int64_t size);
/* Read a whole blob of at most max bytes and verify its digest. */
CZ_PUBLIC int cz_store_read_blob(const cz_store *s, const char *digest, size_t max, char **data,
                                 size_t *len, cz_error *err);
/* Open a blob for reading (O_CLOEXEC fd). */
CZ_PUBLIC int cz_store_open_blob(const cz_store *s, const char *digest, cz_error *err);
/* Write a small blob from memory; its digest goes to digest_out. */
CZ_PUBLIC int cz_store_put_blob(cz_store *s, const void *data, size_t len,
                                char digest_out[CZ_DIGEST_MAX], cz_error *err);

/* Streaming ingest. expected_digest may be NULL (computed), expected_size may
 * be -1 (unknown). Writes beyond expected_size fail at once. */
typedef struct cz_ingest cz_ingest;
CZ_PUBLIC int cz_ingest_begin(cz_store *s, const char *expected_digest, int64_t expected_size,
                              cz_ingest **out, cz_error *err);
CZ_PUBLIC int cz_ingest_write(cz_ingest *w, const void *data, size_t len, cz_error *err);
/* Bytes accepted so far: where a resumed download continues (Range). */
CZ_PUBLIC int64_t cz_ingest_offset(const cz_ingest *w);
/* Discard what was written and start again from byte 0. */
CZ_PUBLIC int cz_ingest_restart(cz_ingest *w, cz_error *err);
/* Check size and digest and fsync the data now, without storing: a caller
 * holding several ingests verifies them all before committing any, so a
 * failure leaves the store unchanged. No more writes after a verify. */
CZ_PUBLIC int cz_ingest_verify(cz_ingest *w, cz_error *err);
/* Verify size and digest, fsync, rename into blobs/. Frees w in every case.
 * digest_out (may be NULL) receives the digest. */
CZ_PUBLIC int cz_ingest_commit(cz_ingest *w, char digest_out[CZ_DIGEST_MAX], cz_error *err);
/* Drop the temp file and free w. */
CZ_PUBLIC void cz_ingest_abort(cz_ingest *w);

/* --- image names (index.json) ------------------------------------- */
typedef struct cz_image_record {
    char *name;             /* ref.name as stored (normally a full reference) */
    cz_descriptor target;   /* the manifest or index it names */
} cz_image_record;

CZ_PUBLIC int cz_store_list_images(cz_store *s, cz_image_record **out, size_t *n, cz_error *err);
CZ_PUBLIC void cz_image_records_free(cz_image_record *v, size_t n);
/* Find by reference: the full normalized name, or the name exactly as stored
 * (images written by other tools, e.g. "myimage:tag" from skopeo). */
CZ_PUBLIC int cz_store_get_image(cz_store *s, const char *ref, cz_image_record *out,
                                 cz_error *err);
/* Point a name at a target (replaces an existing entry of that name). */
CZ_PUBLIC int cz_store_set_image(cz_store *s, const char *name, const cz_descriptor *target,
                                 cz_error *err);
CZ_PUBLIC int cz_store_remove_image(cz_store *s, const char *name, cz_error *err);

/* --- garbage collection ------------------------------------------- */
/* Operations that add blobs hold the shared GC lock while they run, so a
 * concurrent prune never removes a blob that is about to be referenced. */
CZ_PUBLIC int cz_store_lock_shared(cz_store *s, cz_error *err);
CZ_PUBLIC void cz_store_unlock_shared(cz_store *s);
/* Remove every blob not reachable from index.json, and stale temp files. */
CZ_PUBLIC int cz_store_gc(cz_store *s, uint64_t *freed_bytes, int *freed_blobs, cz_error *err);

#endif
