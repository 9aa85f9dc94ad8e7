/* Images as users see them: resolve a name to the manifest and config of one
 * platform, import a root filesystem as a one-layer image, and save/load OCI
 * layout (and docker save) archives. Built on the content store. */
#ifndef CZ_IMAGE_H
#define CZ_IMAGE_H

#include <cz/content.h>
#include <cz/oci.h>

typedef struct cz_image {
    char *name;                 /* as stored in index.json */
    cz_descriptor target;       /* what the name points at (manifest or index) */
    cz_descriptor manifest_desc;/* the chosen platform's manifest */
    cz_manifest manifest;
    cz_image_config config;
    char *config_json;          /* raw config bytes */
    size_t config_len;
    char *manifest_json;        /* raw manifest bytes */
    size_t manifest_len;
    char *index_json;           /* raw index bytes when target is an index, else NULL */
    size_t index_len;
} cz_image;

/* Find the record a reference names: a full or familiar name, or a prefix
 * (at least 4 hex digits) of the target digest, like docker's image IDs. */
CZ_PUBLIC int cz_image_lookup(cz_store *s, const char *ref, cz_image_record *out, cz_error *err);

/* Resolve ref (name, familiar name or digest/ID prefix) for a platform (NULL:
 * the host's; for a single-platform image the platform is not checked). */
CZ_PUBLIC int cz_image_resolve(cz_store *s, const char *ref, const cz_platform *platform,
                               cz_image *out, cz_error *err);
CZ_PUBLIC void cz_image_free(cz_image *img);
/* Bytes of config + layers (as stored, compressed). */
CZ_PUBLIC int64_t cz_image_content_size(const cz_image *img);

/* Platforms of an image present locally ("linux/amd64", ...; NULL-terminated). */
CZ_PUBLIC char **cz_image_platforms(cz_store *s, const cz_descriptor *target);

struct cz_import_options {
    const char *platform;     /* NULL: host */
    const char *message;      /* history comment */
    const char *const *changes; /* Dockerfile-like: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL,
                                   EXPOSE, VOLUME, STOPSIGNAL (NULL-terminated, may be NULL) */
};
/* Make a one-layer image from a directory or a tarball (plain, gzip, zstd,
 * xz, bzip2) and name it ref. The manifest digest goes to digest_out. */
CZ_PUBLIC int cz_image_import(cz_store *s, const char *source, const char *ref,
                              const struct cz_import_options *opts,
                              char digest_out[CZ_DIGEST_MAX], cz_error *err);

/* Write an OCI layout tar (with a docker-compatible manifest.json) of the named
 * images to path ("-" for stdout). */
CZ_PUBLIC int cz_image_save(cz_store *s, const char *const *refs, size_t n, const char *path,
                            cz_error *err);
/* Read an OCI layout tar or a docker save tar ("-" for stdin); every blob is
 * verified. Calls loaded(name, digest, arg) for each image named. */
CZ_PUBLIC int cz_image_load(cz_store *s, const char *path,
                            void (*loaded)(const char *name, const char *digest, void *arg),
                            void *arg, cz_error *err);

#endif
