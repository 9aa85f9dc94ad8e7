/* Internals of the registry client shared by its files (and its unit tests):
 * URL helpers, WWW-Authenticate parsing, the per-registry client with its
 * token cache, one-shot requests with retry, and the parallel blob fetcher. */
#ifndef CZ_REGISTRY_INTERNAL_H
#define CZ_REGISTRY_INTERNAL_H

#include <cz/content.h>
#include <cz/registry.h>

#include "base/util.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

/* Accept header for manifests: OCI and Docker schema 2, manifests and indexes. */
#define REG_ACCEPT_MANIFESTS                                                                       \
    CZ_MEDIA_OCI_INDEX ", " CZ_MEDIA_OCI_MANIFEST ", " CZ_MEDIA_DOCKER_LIST                       \
                       ", " CZ_MEDIA_DOCKER_MANIFEST

/* --- URLs -------------------------------------------------------------- */
/* Is this registry host local (localhost, 127.0.0.0/8, ::1), with or without a port? */
bool reg_host_is_local(const char *domain);
/* The API host for a reference domain: docker.io -> registry-1.docker.io. */
const char *reg_api_host(const char *domain);
/* "http://127.0.0.1:5000" or "https://registry-1.docker.io" (allocated). */
char *reg_base_url(const char *domain, enum cz_scheme scheme);
/* Resolve a Location header against the base URL (allocated). */
char *reg_resolve_location(const char *base, const char *location);
/* Append "key=escaped(value)" with ? or & as needed (allocated). */
char *reg_url_add_query(const char *url, const char *key, const char *value);
/* "repository:NAME:ACTIONS" (allocated). */
char *reg_scope(const char *repo, const char *actions);

/* --- WWW-Authenticate -------------------------------------------------- */
typedef struct reg_auth_param {
    char *name; /* lower case */
    char *value;
} reg_auth_param;

typedef struct reg_challenge {
    char *scheme; /* lower case: "basic", "bearer", ... */
    reg_auth_param *params;
    size_t n_params;
} reg_challenge;

/* Parse one WWW-Authenticate value (RFC 7235: several challenges, each with
 * auth-params or a token68). Bounded; rejects malformed input with an error. */
int reg_parse_challenges(const char *header, reg_challenge **out, size_t *n, cz_error *err);
void reg_challenges_free(reg_challenge *c, size_t n);
const char *reg_challenge_param(const reg_challenge *c, const char *name);

/* --- token responses -------------------------------------------------- */
/* Parse a token server's JSON answer: "token" (or OAuth2's "access_token")
 * and "expires_in" (seconds; 60 when absent or invalid, as the spec says).
 * Rejects empty, oversized or header-breaking tokens. */
int reg_parse_token_response(const char *data, size_t len, char **token, int64_t *expires_in,
                             cz_error *err);

/* --- base64 ------------------------------------------------------------ */
char *reg_base64_encode(const void *data, size_t len);
/* Returns NULL on malformed input. */
char *reg_base64_decode(const char *s, size_t *len);

/* --- client ------------------------------------------------------------ */
enum reg_auth_kind { REG_AUTH_UNKNOWN, REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_BEARER };

typedef struct reg_token {
    char *scope;
    char *value;
    uint64_t expires_ns;
} reg_token;

typedef struct reg_client {
    char *domain; /* as in the reference: "127.0.0.1:5000", "docker.io" */
    char *base;   /* "http://127.0.0.1:5000" */
    char *user, *pass;
    CURLSH *share;
    enum reg_auth_kind auth;
    char *realm, *service;
    reg_token *tokens;
    size_t n_tokens;
    long connect_timeout_s;
    long stall_timeout_s;
    int max_retries;
    int max_parallel; /* blob transfers at once, unless the options say */
    long retry_delay_ms;
} reg_client;

int reg_client_new(const char *domain, const cz_registry_options *opts, reg_client **out,
                   cz_error *err);
void reg_client_free(reg_client *c);
/* Ping /v2/ and learn the auth scheme. */
int reg_client_ping(reg_client *c, cz_error *err);
/* "Authorization: ..." header line for scope, or NULL when none is needed. */
int reg_client_auth_header(reg_client *c, const char *scope, char **header, cz_error *err);
/* After a 401 carrying www_authenticate: forget the token for scope and
 * learn the challenge again. Fails when renewal cannot help (no credentials). */
int reg_client_renew(reg_client *c, const char *scope, const char *www_authenticate,
                     cz_error *err);
/* Common curl options: timeouts, share, user agent. */
void reg_client_setup_easy(reg_client *c, CURL *h);

typedef struct reg_response {
    long status;
    char *content_type;
    char *location;
    char *docker_digest;
    char *www_authenticate;
    char *content_range;
    char *retry_after;
    int64_t content_length; /* -1 when absent */
    cz_buf body;
    bool body_too_big;
} reg_response;
void reg_response_reset(reg_response *r);
/* Feed one raw header line (or status line) into a response. */
size_t reg_header_line(reg_response *rs, const char *line, size_t n);

typedef struct reg_request {
    const char *method; /* GET HEAD PUT POST PATCH DELETE */
    const char *url;
    const char *scope;  /* token scope; NULL: no auth */
    const char *accept;
    const char *content_type;
    const char *content_range;
    /* Upload from memory, or from an fd at an offset. */
    const void *body;
    size_t body_len;
    int body_fd; /* -1 when none */
    int64_t fd_offset, fd_len;
    size_t max_body;  /* cap on the collected response body (0: 64 KiB) */
    bool no_retry;    /* not safe to repeat (e.g. PATCH) */
    const char *what; /* "manifest sha256:...", for errors */
    /* Progress of an upload body. */
    void (*on_upload)(void *ctx, int64_t sent);
    void *upload_ctx;
} reg_request;

/* Perform a request, adding auth, retrying transient failures (429, 5xx,
 * connection errors) with backoff, renewing the token on 401 once. A response
 * with any HTTP status is success for this call: callers judge the status. */
int reg_request_do(reg_client *c, const reg_request *rq, reg_response *rs, cz_error *err);
/* One-line error for an unexpected status: "GET URL: 404 Not Found: MANIFEST_UNKNOWN: ..." */
int reg_status_error(const reg_request *rq, const reg_response *rs, cz_error *err);
/* Transient statuses that deserve another try. */
bool reg_status_retryable(long status);
bool reg_curl_retryable(CURLcode code);
/* Backoff before attempt n (1-based), honouring Retry-After when given. */
uint64_t reg_backoff_ms(const reg_client *c, int attempt, const char *retry_after);
void reg_sleep_ms(uint64_t ms);
/* Short reason for a curl failure that names a timeout clearly. */
const char *reg_curl_reason(CURLcode code);

/* --- parallel blob download ------------------------------------------ */
typedef struct reg_blob {
    const char *digest;
    int64_t size;
    const char *kind; /* "layer", "config" */
    cz_buf *keep;     /* when set, a copy of the downloaded bytes (small blobs only) */
} reg_blob;

/* Download blobs in parallel, each verified (digest and size). Nothing enters
 * the store until every blob is whole and verified and before_commit (may be
 * NULL) agreed; then all are committed. On failure the store is unchanged. */
int reg_fetch_blobs(reg_client *c, const char *repo, cz_store *store, const reg_blob *blobs,
                    size_t n, const cz_registry_options *opts,
                    int (*before_commit)(void *ctx, cz_error *err), void *ctx, cz_error *err);

/* Strip parameters from a media type ("a/b; charset=utf-8" -> "a/b"), allocated. */
char *reg_media_type_base(const char *content_type);

#endif
