/* Push: blobs first (HEAD to skip what the registry has, a cross-repository
 * mount when another repository of the same registry in our store holds the
 * blob, else POST then PUT, or chunked PATCH for large blobs), then the
 * manifests, children before the index, then the tag. */
#include "registry/internal.h"

#include "base/log.h"

#include <errno.h>
#include <inttypes.h>

#define PUSH_CHUNK_DEFAULT (16ll << 20)

struct pusher {
    reg_client *c;
    cz_store *store;
    const cz_registry_options *opts;
    const char *repo;
    char *scope;      /* repository:REPO:pull,push */
    int64_t chunk;    /* blobs larger than this go up in PATCH chunks */
    /* blob digest -> another repository (same registry) whose image holds it */
    char **mount_digest;
    char **mount_repo;
    size_t n_mount;
};

static void report(struct pusher *p, const char *digest, const char *kind, int64_t size,
                   int64_t done, enum cz_progress_state st)
{
    if (!p->opts || !p->opts->progress)
        return;
    cz_progress pr = {.digest = digest, .kind = kind, .size = size, .done = done, .state = st};
    p->opts->progress(p->opts->progress_ctx, &pr);
}

struct upload_ctx {
    struct pusher *p;
    const char *digest;
    const char *kind;
    int64_t size;
    int64_t base;
};

static void on_upload(void *ud, int64_t sent)
{
    struct upload_ctx *u = ud;
    report(u->p, u->digest, u->kind, u->size, u->base + sent, CZ_PROGRESS_RUNNING);
}

/* --- mount sources ---------------------------------------------------- */

static void add_mount(struct pusher *p, const char *digest, const char *repo)
{
    for (size_t i = 0; i < p->n_mount; i++)
        if (!strcmp(p->mount_digest[i], digest))
            return;
    p->mount_digest = cz_xrealloc(p->mount_digest, (p->n_mount + 1) * sizeof(char *));
    p->mount_repo = cz_xrealloc(p->mount_repo, (p->n_mount + 1) * sizeof(char *));
    p->mount_digest[p->n_mount] = cz_xstrdup(digest);
    p->mount_repo[p->n_mount] = cz_xstrdup(repo);
    p->n_mount++;
}

static void collect_manifest_blobs(struct pusher *p, const char *digest, const char *repo)
{
    char *data = NULL;
    size_t len;
    cz_error e = {0};
    cz_manifest m = {0};
    if (cz_store_read_blob(p->store, digest, CZ_MANIFEST_MAX, &data, &len, &e) < 0)
        return;
    if (cz_manifest_parse(data, len, &m, &e) == 0) {
        add_mount(p, m.config.digest, repo);
        for (size_t i = 0; i < m.n_layers; i++)
            add_mount(p, m.layers[i].digest, repo);
        cz_manifest_free(&m);
    }
    free(data);
}

/* Images in our store named in other repositories of the same registry are
 * likely to be there still: their blobs can be mounted instead of uploaded. */
static void collect_mount_sources(struct pusher *p, const char *domain)
{
    cz_image_record *recs = NULL;
    size_t n = 0;
    cz_error e = {0};
    if (cz_store_list_images(p->store, &recs, &n, &e) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        cz_reference r = {0};
        if (cz_reference_parse(recs[i].name, &r, &e) < 0)
            continue;
        if (!strcmp(r.domain, domain) && strcmp(r.path, p->repo)) {
            const cz_descriptor *t = &recs[i].target;
            if (cz_media_is_index(t->media_type)) {
                char *data = NULL;
                size_t len;
                cz_index ix = {0};
                if (cz_store_read_blob(p->store, t->digest, CZ_MANIFEST_MAX, &data, &len, &e) ==
                        0 &&
                    cz_index_parse(data, len, &ix, &e) == 0) {
                    for (size_t k = 0; k < ix.n_manifests; k++)
                        collect_manifest_blobs(p, ix.manifests[k].digest, r.path);
                    cz_index_free(&ix);
                }
                free(data);
            } else {
                collect_manifest_blobs(p, t->digest, r.path);
            }
        }
        cz_reference_free(&r);
    }
    cz_image_records_free(recs, n);
}

static const char *mount_source(struct pusher *p, const char *digest)
{
    for (size_t i = 0; i < p->n_mount; i++)
        if (!strcmp(p->mount_digest[i], digest))
            return p->mount_repo[i];
    return NULL;
}

/* --- blobs ------------------------------------------------------------- */

static int expect_status(const reg_request *rq, const reg_response *rs, long want,
                         cz_error *err)
{
    if (rs->status == want)
        return 0;
    return reg_status_error(rq, rs, err);
}

/* One attempt at uploading a blob; *transient tells whether another might work. */
static int upload_blob_once(struct pusher *p, const char *digest, int64_t size, const char *kind,
                            bool *transient, cz_error *err)
{
    *transient = false;
    reg_client *c = p->c;
    reg_response rs = {0};
    reg_response_reset(&rs);
    int r = -1;
    cz_autofree char *location = NULL;
    cz_autofree char *scope = NULL;
    cz_autofree char *put_url = NULL;
    cz_autoclose int fd = -1;
    const char *from = mount_source(p, digest);
    cz_autofree char *post_url = cz_xasprintf("%s/v2/%s/blobs/uploads/", c->base, p->repo);
    if (from) {
        /* the token must also grant pull on the source repository */
        scope = cz_xasprintf("%s repository:%s:pull", p->scope, from);
        char *u = reg_url_add_query(post_url, "mount", digest);
        free(post_url);
        post_url = reg_url_add_query(u, "from", from);
        free(u);
    }
    reg_request post = {.method = "POST",
                        .url = post_url,
                        .scope = scope ? scope : p->scope,
                        .body_fd = -1};
    if (reg_request_do(c, &post, &rs, err) < 0) {
        *transient = true;
        goto out;
    }
    if (from && rs.status == 201) {
        cz_debug("blob %s mounted from %s", digest, from);
        report(p, digest, kind, size, size, CZ_PROGRESS_MOUNTED);
        r = 0;
        goto out;
    }
    if (rs.status != 202 || !rs.location) {
        *transient = reg_status_retryable(rs.status);
        if (rs.status == 202)
            cz_error_set(err, EPROTO, "POST %s: 202 without a Location", post_url);
        else
            reg_status_error(&post, &rs, err);
        goto out;
    }
    location = reg_resolve_location(c->base, rs.location);

    fd = cz_store_open_blob(p->store, digest, err);
    if (fd < 0)
        goto out;
    struct upload_ctx uc = {.p = p, .digest = digest, .kind = kind, .size = size};
    int64_t off = 0;
    if (size > p->chunk) {
        /* chunked: PATCH each range, following the Location the registry returns */
        while (off < size) {
            int64_t n = CZ_MIN(p->chunk, size - off);
            char cr[64];
            snprintf(cr, sizeof(cr), "%" PRId64 "-%" PRId64, off, off + n - 1);
            uc.base = off;
            reg_request patch = {.method = "PATCH",
                                 .url = location,
                                 .scope = p->scope,
                                 .content_type = "application/octet-stream",
                                 .content_range = cr,
                                 .body_fd = fd,
                                 .fd_offset = off,
                                 .fd_len = n,
                                 .no_retry = true,
                                 .on_upload = on_upload,
                                 .upload_ctx = &uc};
            if (reg_request_do(c, &patch, &rs, err) < 0) {
                *transient = true;
                goto out;
            }
            if (rs.status != 202) {
                *transient = reg_status_retryable(rs.status);
                reg_status_error(&patch, &rs, err);
                goto out;
            }
            if (rs.location) {
                free(location);
                location = reg_resolve_location(c->base, rs.location);
            }
            off += n;
        }
    }
    put_url = reg_url_add_query(location, "digest", digest);
    uc.base = off;
    reg_request put = {.method = "PUT",
                       .url = put_url,
                       .scope = p->scope,
                       .content_type = "application/octet-stream",
                       .body_fd = fd,
                       .fd_offset = off,
                       .fd_len = size - off,
                       .no_retry = true,
                       .on_upload = on_upload,
                       .upload_ctx = &uc};
    if (reg_request_do(c, &put, &rs, err) < 0) {
        *transient = true;
        goto out;
    }
    if (expect_status(&put, &rs, 201, err) < 0) {
        *transient = reg_status_retryable(rs.status);
        goto out;
    }
    if (rs.docker_digest && strcmp(rs.docker_digest, digest)) {
        cz_error_set(err, EBADMSG, "registry stored blob %s as %s", digest, rs.docker_digest);
        goto out;
    }
    report(p, digest, kind, size, size, CZ_PROGRESS_DONE);
    r = 0;
out:
    reg_response_reset(&rs);
    return r;
}

static int push_blob(struct pusher *p, const char *digest, int64_t size, const char *kind,
                     cz_error *err)
{
    if (!cz_store_has_blob(p->store, digest, size))
        return cz_error_set(err, ENOENT, "%s %s is not in the local store", kind, digest);
    report(p, digest, kind, size, 0, CZ_PROGRESS_WAITING);
    cz_autofree char *url = cz_xasprintf("%s/v2/%s/blobs/%s", p->c->base, p->repo, digest);
    reg_request head = {.method = "HEAD", .url = url, .scope = p->scope, .body_fd = -1};
    reg_response rs = {0};
    reg_response_reset(&rs);
    int r = reg_request_do(p->c, &head, &rs, err);
    long st = rs.status;
    reg_response_reset(&rs);
    if (r < 0)
        return cz_error_wrap(err, "%s %s", kind, digest);
    if (st == 200) {
        report(p, digest, kind, size, size, CZ_PROGRESS_EXISTS);
        return 0;
    }
    if (st != 404) {
        reg_status_error(&head, &(reg_response){.status = st}, err);
        return cz_error_wrap(err, "%s %s", kind, digest);
    }
    report(p, digest, kind, size, 0, CZ_PROGRESS_RUNNING);
    for (int attempt = 1;; attempt++) {
        bool transient;
        if (upload_blob_once(p, digest, size, kind, &transient, err) == 0)
            return 0;
        if (!transient || attempt > p->c->max_retries)
            return cz_error_wrap(err, "upload %s %s", kind, digest);
        cz_debug("upload %s: %s; retrying", digest, err->msg);
        report(p, digest, kind, size, 0, CZ_PROGRESS_RETRYING);
        reg_sleep_ms(reg_backoff_ms(p->c, attempt, NULL));
    }
}

/* --- manifests ---------------------------------------------------------- */

static int put_manifest(struct pusher *p, const char *tag_or_digest, const char *media_type,
                        const char *data, size_t len, const char *digest, cz_error *err)
{
    cz_autofree char *url =
        cz_xasprintf("%s/v2/%s/manifests/%s", p->c->base, p->repo, tag_or_digest);
    reg_request put = {.method = "PUT",
                       .url = url,
                       .scope = p->scope,
                       .content_type = media_type,
                       .body = data,
                       .body_len = len,
                       .body_fd = -1};
    reg_response rs = {0};
    reg_response_reset(&rs);
    int r = reg_request_do(p->c, &put, &rs, err);
    if (r == 0 && rs.status != 201)
        r = reg_status_error(&put, &rs, err);
    if (r == 0 && rs.docker_digest && strcmp(rs.docker_digest, digest))
        r = cz_error_set(err, EBADMSG, "registry stored manifest %s as %s", digest,
                         rs.docker_digest);
    reg_response_reset(&rs);
    return r < 0 ? cz_error_wrap(err, "manifest %s", digest) : 0;
}

/* Push one image manifest (its blobs, then itself by digest or tag). */
static int push_manifest(struct pusher *p, const cz_descriptor *d, const char *tag,
                         cz_error *err)
{
    char *data = NULL;
    size_t len;
    cz_manifest m = {0};
    int r = -1;
    if (cz_store_read_blob(p->store, d->digest, CZ_MANIFEST_MAX, &data, &len, err) < 0)
        goto out;
    if (cz_manifest_parse(data, len, &m, err) < 0) {
        cz_error_wrap(err, "manifest %s", d->digest);
        goto out;
    }
    if (push_blob(p, m.config.digest, m.config.size, "config", err) < 0)
        goto out;
    for (size_t i = 0; i < m.n_layers; i++)
        if (push_blob(p, m.layers[i].digest, m.layers[i].size, "layer", err) < 0)
            goto out;
    const char *mt = d->media_type ? d->media_type : m.media_type;
    if (!mt)
        mt = CZ_MEDIA_OCI_MANIFEST;
    r = put_manifest(p, tag ? tag : d->digest, mt, data, len, d->digest, err);
out:
    cz_manifest_free(&m);
    free(data);
    return r;
}

static int push_locked(cz_store *store, const char *refstr, const cz_reference *ref,
                       const cz_registry_options *opts, char digest_out[CZ_DIGEST_MAX],
                       cz_error *err)
{
    cz_image_record rec = {0};
    if (cz_store_get_image(store, refstr, &rec, err) < 0)
        return -1;
    struct pusher p = {.store = store, .opts = opts, .repo = ref->path};
    p.scope = reg_scope(ref->path, "pull,push");
    p.chunk = PUSH_CHUNK_DEFAULT;
    const char *ce = getenv("CZ_PUSH_CHUNK");
    if (ce && atoll(ce) > 0)
        p.chunk = atoll(ce);
    int r = -1;
    char *idata = NULL;
    size_t ilen = 0;
    cz_index ix = {0};
    const char *tag = ref->digest ? NULL : ref->tag;
    const cz_descriptor *t = &rec.target;

    if (ref->digest && strcmp(ref->digest, t->digest)) {
        cz_error_set(err, EINVAL, "the local image is %s, not %s", t->digest, ref->digest);
        goto out;
    }
    if (cz_media_is_index(t->media_type)) {
        /* the whole index goes up, so every platform it lists must be here */
        if (cz_store_read_blob(store, t->digest, CZ_MANIFEST_MAX, &idata, &ilen, err) < 0 ||
            cz_index_parse(idata, ilen, &ix, err) < 0)
            goto out;
        for (size_t i = 0; i < ix.n_manifests; i++) {
            const cz_descriptor *d = &ix.manifests[i];
            if (!cz_store_has_blob(store, d->digest, d->size)) {
                cz_autofree char *plat = d->platform ? cz_platform_string(d->platform)
                                                     : cz_xstrdup("(no platform)");
                cz_error_set(err, ENOENT,
                             "platform %s (%s) of the index is not present locally; pull it "
                             "with --platform %s",
                             plat, d->digest, plat);
                goto out;
            }
        }
    } else if (!cz_media_is_manifest(t->media_type)) {
        cz_error_set(err, ENOTSUP, "unsupported media type '%s'",
                     t->media_type ? t->media_type : "(none)");
        goto out;
    }
    if (reg_client_new(ref->domain, opts, &p.c, err) < 0)
        goto out;
    collect_mount_sources(&p, ref->domain);
    if (ix.n_manifests > 0 || cz_media_is_index(t->media_type)) {
        for (size_t i = 0; i < ix.n_manifests; i++) {
            const cz_descriptor *d = &ix.manifests[i];
            if (cz_media_is_index(d->media_type)) {
                cz_error_set(err, ENOTSUP, "nested index %s is not supported", d->digest);
                goto out;
            }
            if (push_manifest(&p, d, NULL, err) < 0)
                goto out;
        }
        if (put_manifest(&p, tag ? tag : t->digest, t->media_type, idata, ilen, t->digest, err) <
            0)
            goto out;
    } else if (push_manifest(&p, t, tag, err) < 0) {
        goto out;
    }
    memcpy(digest_out, t->digest, CZ_DIGEST_MAX);
    r = 0;
out:
    free(idata);
    cz_index_free(&ix);
    for (size_t i = 0; i < p.n_mount; i++) {
        free(p.mount_digest[i]);
        free(p.mount_repo[i]);
    }
    free(p.mount_digest);
    free(p.mount_repo);
    free(p.scope);
    reg_client_free(p.c);
    free(rec.name);
    cz_descriptor_free(&rec.target);
    return r;
}

int cz_registry_push(cz_store *store, const char *refstr, const cz_registry_options *opts,
                     char digest_out[CZ_DIGEST_MAX], cz_error *err)
{
    cz_reference ref = {0};
    if (cz_reference_parse(refstr, &ref, err) < 0)
        return -1;
    int r = -1;
    /* the shared lock keeps a concurrent prune from removing what we read */
    if (cz_store_lock_shared(store, err) == 0) {
        r = push_locked(store, refstr, &ref, opts, digest_out, err);
        cz_store_unlock_shared(store);
    }
    if (r < 0) {
        cz_autofree char *s = cz_reference_familiar(&ref);
        cz_error_wrap(err, "push %s", s);
    }
    cz_reference_free(&ref);
    return r;
}

/* --- login ------------------------------------------------------------- */

int cz_registry_login(const char *host, const cz_registry_options *opts, cz_error *err)
{
    if (!opts || !opts->username || !opts->password)
        return cz_error_set(err, EINVAL, "login %s: username and password are required", host);
    if (!*host || strpbrk(host, "/ \t@"))
        return cz_error_set(err, EINVAL, "login: invalid registry host '%s'", host);
    reg_client *c = NULL;
    if (reg_client_new(host, opts, &c, err) < 0)
        return cz_error_wrap(err, "login %s", host);
    int r = reg_client_ping(c, err);
    if (r == 0 && c->auth == REG_AUTH_BASIC) {
        /* /v2/ with the credentials must now answer 200 */
        cz_autofree char *url = cz_xasprintf("%s/v2/", c->base);
        reg_request rq = {.method = "GET", .url = url, .scope = "", .body_fd = -1};
        reg_response rs = {0};
        reg_response_reset(&rs);
        r = reg_request_do(c, &rq, &rs, err);
        if (r == 0 && rs.status != 200) {
            if (rs.status == 401)
                r = cz_error_set(err, EACCES, "HTTP 401 Unauthorized: credentials rejected");
            else
                r = reg_status_error(&rq, &rs, err);
        }
        reg_response_reset(&rs);
    } else if (r == 0 && c->auth == REG_AUTH_BEARER) {
        /* a token without a scope proves the credentials, as docker login does */
        cz_autofree char *hdr = NULL;
        r = reg_client_auth_header(c, "", &hdr, err);
    }
    reg_client_free(c);
    if (r == 0)
        r = cz_credentials_store(opts->auth_file, host, opts->username, opts->password, err);
    return r < 0 ? cz_error_wrap(err, "login %s", host) : 0;
}

int cz_scheme_parse(const char *s, enum cz_scheme *out, cz_error *err)
{
    if (!strcmp(s, "auto"))
        *out = CZ_SCHEME_AUTO;
    else if (!strcmp(s, "http"))
        *out = CZ_SCHEME_HTTP;
    else if (!strcmp(s, "https"))
        *out = CZ_SCHEME_HTTPS;
    else
        return cz_error_set(err, EINVAL, "invalid scheme '%s': expected auto, http or https", s);
    return 0;
}
