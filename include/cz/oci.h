/* OCI types: image references, digests, platforms, descriptors, manifests and
 * indexes (OCI image-spec and Docker schema 2). Parsers bound every input. */
#ifndef CZ_OCI_H
#define CZ_OCI_H

#include <cz/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CZ_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CZ_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define CZ_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define CZ_MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define CZ_MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define CZ_MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define CZ_MEDIA_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define CZ_MEDIA_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define CZ_MEDIA_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define CZ_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CZ_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CZ_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define CZ_MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define CZ_MEDIA_DOCKER_FOREIGN_LAYER "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define CZ_MEDIA_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define CZ_MEDIA_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Largest manifest or index we accept (the distribution spec's 4 MiB). */
#define CZ_MANIFEST_MAX (4u << 20)
/* Largest image config we accept. */
#define CZ_CONFIG_MAX (8u << 20)

/* --- digests ---------------------------------------------------------- */
/* "sha256:" + 64 hex + NUL */
#define CZ_DIGEST_MAX 72
CZ_PUBLIC int cz_digest_validate(const char *digest, cz_error *err);
/* Digest of a byte range, written into out[CZ_DIGEST_MAX]. */
CZ_PUBLIC void cz_digest_bytes(const void *data, size_t len, char out[CZ_DIGEST_MAX]);

/* Streaming sha256. */
typedef struct cz_sha256 cz_sha256;
CZ_PUBLIC cz_sha256 *cz_sha256_new(void);
CZ_PUBLIC void cz_sha256_update(cz_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out; the context may not be updated afterwards. */
CZ_PUBLIC void cz_sha256_final(cz_sha256 *h, char out[CZ_DIGEST_MAX]);
CZ_PUBLIC void cz_sha256_free(cz_sha256 *h);

/* --- references ------------------------------------------------------- */
typedef struct cz_reference {
    char *domain; /* "docker.io", "127.0.0.1:5000" */
    char *path;   /* "library/alpine" */
    char *tag;    /* "latest"; NULL when only a digest was given */
    char *digest; /* "sha256:..."; NULL when none */
} cz_reference;

/* Parse and normalize as docker does: "alpine" -> docker.io/library/alpine:latest. */
CZ_PUBLIC int cz_reference_parse(const char *s, cz_reference *out, cz_error *err);
/* "domain/path[:tag][@digest]" (allocated). */
CZ_PUBLIC char *cz_reference_string(const cz_reference *r);
/* "domain/path" (allocated). */
CZ_PUBLIC char *cz_reference_name(const cz_reference *r);
/* Short form as docker shows it: "alpine:latest", "127.0.0.1:5000/x:1" (allocated). */
CZ_PUBLIC char *cz_reference_familiar(const cz_reference *r);
CZ_PUBLIC void cz_reference_free(cz_reference *r);

/* --- platforms -------------------------------------------------------- */
typedef struct cz_platform {
    char *os;
    char *architecture;
    char *variant; /* may be NULL */
} cz_platform;

/* "linux/arm64/v8", "linux/amd64", "arm64" (os defaults to linux); normalizes
 * aliases (x86_64 -> amd64, aarch64 -> arm64). */
CZ_PUBLIC int cz_platform_parse(const char *s, cz_platform *out, cz_error *err);
CZ_PUBLIC void cz_platform_host(cz_platform *out);
/* "linux/arm64/v8" (allocated). */
CZ_PUBLIC char *cz_platform_string(const cz_platform *p);
/* Does candidate satisfy want? (variant: want's empty matches any; arm64 treats v8 as default). */
CZ_PUBLIC bool cz_platform_matches(const cz_platform *want, const cz_platform *candidate);
CZ_PUBLIC void cz_platform_free(cz_platform *p);

/* --- descriptors, manifests, indexes -------------------------------- */
typedef struct cz_descriptor {
    char *media_type;
    char *digest;
    int64_t size;
    cz_platform *platform; /* NULL when absent */
    char *ref_name;        /* annotation org.opencontainers.image.ref.name, or NULL */
} cz_descriptor;

CZ_PUBLIC void cz_descriptor_copy(cz_descriptor *dst, const cz_descriptor *src);
CZ_PUBLIC void cz_descriptor_free(cz_descriptor *d);

typedef struct cz_manifest {
    char *media_type;
    cz_descriptor config;
    cz_descriptor *layers;
    size_t n_layers;
} cz_manifest;

typedef struct cz_index {
    char *media_type;
    cz_descriptor *manifests;
    size_t n_manifests;
} cz_index;

enum cz_manifest_kind { CZ_KIND_UNKNOWN, CZ_KIND_MANIFEST, CZ_KIND_INDEX };
/* Kind from a media type (or, when media_type is NULL, from the document's
 * own mediaType / shape). Schema 1 is rejected with a clear error. */
CZ_PUBLIC int cz_manifest_kind(const char *media_type, const char *data, size_t len,
                               enum cz_manifest_kind *kind, cz_error *err);
CZ_PUBLIC int cz_manifest_parse(const char *data, size_t len, cz_manifest *out, cz_error *err);
CZ_PUBLIC void cz_manifest_free(cz_manifest *m);
CZ_PUBLIC int cz_index_parse(const char *data, size_t len, cz_index *out, cz_error *err);
CZ_PUBLIC void cz_index_free(cz_index *ix);
/* Pick the manifest for a platform from an index; returns its position or a
 * negative value with an error naming the platforms that exist. */
CZ_PUBLIC int cz_index_select(const cz_index *ix, const cz_platform *want, cz_error *err);

/* Is this a layer media type we can unpack (tar, gzip, zstd; OCI or Docker)? */
CZ_PUBLIC bool cz_media_is_layer(const char *media_type);
CZ_PUBLIC bool cz_media_is_manifest(const char *media_type);
CZ_PUBLIC bool cz_media_is_index(const char *media_type);

/* --- image config (the parts we use) -------------------------------- */
typedef struct cz_image_config {
    char *architecture;
    char *os;
    char *variant;
    char *created; /* RFC 3339, may be NULL */
    char **env;    /* NULL-terminated */
    char **entrypoint;
    char **cmd;
    char *working_dir;
    char *user;
    char **diff_ids; /* rootfs.diff_ids, NULL-terminated */
    char **exposed_ports;
    char **volumes;
    char *stop_signal;
    char **labels; /* "key=value", NULL-terminated */
} cz_image_config;

CZ_PUBLIC int cz_image_config_parse(const char *data, size_t len, cz_image_config *out,
                                    cz_error *err);
CZ_PUBLIC void cz_image_config_free(cz_image_config *c);
CZ_PUBLIC void cz_strv_free(char **v);

#endif
