/* The OCI distribution client: pull and push images between a registry and
 * the content store, over libcurl, with anonymous, Basic and Bearer auth.
 * Every blob and manifest is verified (digest and size) while it streams. */
#ifndef CZ_REGISTRY_H
#define CZ_REGISTRY_H

#include <cz/content.h>
#include <cz/error.h>
#include <cz/oci.h>

#include <stdbool.h>
#include <stdint.h>

enum cz_scheme {
    CZ_SCHEME_AUTO,  /* http for localhost, 127.0.0.0/8 and ::1; https otherwise */
    CZ_SCHEME_HTTP,
    CZ_SCHEME_HTTPS,
};
CZ_PUBLIC int cz_scheme_parse(const char *s, enum cz_scheme *out, cz_error *err);

/* --- progress -------------------------------------------------------- */
enum cz_progress_state {
    CZ_PROGRESS_WAITING,     /* queued */
    CZ_PROGRESS_RUNNING,     /* bytes flowing (downloading or uploading) */
    CZ_PROGRESS_RETRYING,    /* a transient failure; will retry or resume */
    CZ_PROGRESS_DONE,        /* transferred and verified */
    CZ_PROGRESS_EXISTS,      /* already present at the destination; skipped */
    CZ_PROGRESS_MOUNTED,     /* push: mounted from another repository */
};

typedef struct cz_progress {
    const char *digest;   /* the blob */
    const char *kind;     /* "layer", "config", "manifest", "index" */
    int64_t size;         /* total bytes (-1 unknown) */
    int64_t done;         /* bytes so far */
    enum cz_progress_state state;
} cz_progress;

/* Called from the transfer loop (one thread), often: keep it cheap. */
typedef void (*cz_progress_fn)(void *ctx, const cz_progress *p);

/* --- options ---------------------------------------------------------- */
typedef struct cz_registry_options {
    enum cz_scheme scheme;
    /* Credentials file written by login (ROOT/auth.json); NULL: none. The
     * docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json) is
     * read as a fallback either way. */
    const char *auth_file;
    /* Explicit credentials; override the files when set. */
    const char *username;
    const char *password;
    /* Parallel blob transfers (0: $CZ_REGISTRY_PARALLEL, else 6). */
    int max_parallel;
    /* Seconds without any data from the registry before a transfer fails
     * (0: $CZ_REGISTRY_TIMEOUT, else 60). */
    long timeout_s;
    cz_progress_fn progress;
    void *progress_ctx;
} cz_registry_options;

/* Pull ref into the store. From an index, the manifest for platform (NULL:
 * the host's) is fetched with its config and layers; the index itself is kept
 * and named, so pulling another platform later adds to the same image. The
 * image is named by the full normalized reference. digest_out receives the
 * digest of what the name points at (index or manifest). */
CZ_PUBLIC int cz_registry_pull(cz_store *store, const char *ref, const cz_platform *platform,
                               const cz_registry_options *opts, char digest_out[CZ_DIGEST_MAX],
                               cz_error *err);

/* Push the image named ref in the store to its registry: blobs (skipping those
 * present, mounting from other repositories of the same registry when
 * possible), then manifests, children before the index, then the tag. An
 * index is pushed whole: every platform it lists must be present locally. */
CZ_PUBLIC int cz_registry_push(cz_store *store, const char *ref, const cz_registry_options *opts,
                               char digest_out[CZ_DIGEST_MAX], cz_error *err);

/* Check credentials against a registry (ping, then a token for Bearer
 * registries); on success store them in opts->auth_file (mode 0600). */
CZ_PUBLIC int cz_registry_login(const char *host, const cz_registry_options *opts, cz_error *err);
/* Remove the host's credentials from auth_file; an error when there were none. */
CZ_PUBLIC int cz_registry_logout(const char *host, const char *auth_file, cz_error *err);

/* --- credentials (docker config.json format) ------------------------ */
/* {"auths":{"HOST":{"auth":"base64(user:pass)"}}}. Lookup also accepts the
 * "https://HOST", "http://HOST" and docker.io's "https://index.docker.io/v1/"
 * keys. Returns 1 and fills user/pass (allocated) when found, 0 when not. */
CZ_PUBLIC int cz_credentials_lookup(const char *file, const char *host, char **user, char **pass,
                                    cz_error *err);
/* Replace the host's entry, keeping everything else in the file. */
CZ_PUBLIC int cz_credentials_store(const char *file, const char *host, const char *user,
                                   const char *pass, cz_error *err);
/* Returns 1 when an entry was removed, 0 when there was none. */
CZ_PUBLIC int cz_credentials_erase(const char *file, const char *host, cz_error *err);
/* Credentials for host: file first, then the docker config. */
CZ_PUBLIC int cz_credentials_find(const char *file, const char *host, char **user, char **pass,
                                  cz_error *err);

#endif
