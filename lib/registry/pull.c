/* Pull: resolve the reference to a manifest or index (digest verified), pick
 * the platform, download config and layers in parallel into the store, then
 * write the manifests and name the image. Nothing is named until every blob
 * it reaches is whole and verified. */
#include "registry/internal.h"

#include "base/log.h"

#include <errno.h>
#include <strings.h>

static bool is_schema1(const char *media)
{
    return media && (!strcmp(media, CZ_MEDIA_DOCKER_SCHEMA1) ||
                     !strcmp(media, CZ_MEDIA_DOCKER_SCHEMA1_SIGNED));
}

/* A fetched manifest or index, verified against the digest asked for (or the
 * registry's Docker-Content-Digest). */
typedef struct fetched {
    char *data;
    size_t len;
    char *media_type; /* from Content-Type, NULL when generic */
    char digest[CZ_DIGEST_MAX];
    enum cz_manifest_kind kind;
} fetched;

static void fetched_free(fetched *f)
{
    free(f->data);
    free(f->media_type);
    memset(f, 0, sizeof(*f));
}

static int reg_fetch_manifest(reg_client *c, const char *repo, const char *tag_or_digest,
                              const char *want_digest, fetched *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    cz_autofree char *url = cz_xasprintf("%s/v2/%s/manifests/%s", c->base, repo, tag_or_digest);
    cz_autofree char *scope = reg_scope(repo, "pull");
    reg_request rq = {.method = "GET",
                      .url = url,
                      .scope = scope,
                      .accept = REG_ACCEPT_MANIFESTS,
                      .body_fd = -1,
                      .max_body = CZ_MANIFEST_MAX};
    reg_response rs = {0};
    reg_response_reset(&rs);
    int r = -1;
    if (reg_request_do(c, &rq, &rs, err) < 0) {
        if (err->code == EFBIG)
            cz_error_set(err, EFBIG, "manifest %s is larger than the %u MiB limit", tag_or_digest,
                         CZ_MANIFEST_MAX >> 20);
        goto out;
    }
    if (rs.status != 200) {
        reg_status_error(&rq, &rs, err);
        goto out;
    }
    if (rs.content_length >= 0 && (size_t)rs.content_length != rs.body.len) {
        cz_error_set(err, EPROTO, "manifest %s: got %zu bytes, Content-Length says %lld",
                     tag_or_digest, rs.body.len, (long long)rs.content_length);
        goto out;
    }
    char digest[CZ_DIGEST_MAX];
    cz_digest_bytes(rs.body.data ? rs.body.data : "", rs.body.len, digest);
    if (want_digest && strcmp(want_digest, digest)) {
        cz_error_set(err, EBADMSG, "manifest %s: digest mismatch: got %s", want_digest, digest);
        goto out;
    }
    if (!want_digest && rs.docker_digest && cz_str_has_prefix(rs.docker_digest, "sha256:") &&
        strcmp(rs.docker_digest, digest)) {
        cz_error_set(err, EBADMSG,
                     "manifest %s: digest mismatch: the registry says %s, the content is %s",
                     tag_or_digest, rs.docker_digest, digest);
        goto out;
    }
    char *media = reg_media_type_base(rs.content_type);
    if (is_schema1(media)) {
        free(media);
        cz_error_set(err, ENOTSUP,
                     "manifest %s is Docker schema 1 (deprecated), which is not supported; "
                     "push the image again with a current tool to get schema 2 or OCI",
                     tag_or_digest);
        goto out;
    }
    /* generic types say nothing: let the document speak */
    if (media && (!strcasecmp(media, "application/json") || !strcasecmp(media, "text/plain") ||
                  !*media)) {
        free(media);
        media = NULL;
    }
    out->media_type = media;
    if (cz_manifest_kind(media, rs.body.data ? rs.body.data : "", rs.body.len, &out->kind, err) <
        0) {
        fetched_free(out);
        cz_error_wrap(err, "manifest %s", tag_or_digest);
        goto out;
    }
    if (out->kind == CZ_KIND_UNKNOWN) {
        cz_error_set(err, ENOTSUP, "manifest %s: unsupported media type '%s'", tag_or_digest,
                     media ? media : "(none)");
        fetched_free(out);
        goto out;
    }
    out->len = rs.body.len;
    out->data = cz_buf_steal(&rs.body);
    memcpy(out->digest, digest, sizeof(digest));
    r = 0;
out:
    reg_response_reset(&rs);
    return r;
}

static bool config_type_ok(const char *mt)
{
    return mt && (!strcmp(mt, CZ_MEDIA_OCI_CONFIG) || !strcmp(mt, CZ_MEDIA_DOCKER_CONFIG));
}

/* Validate what we are about to download: known media types, sane sizes. */
static int check_manifest(const cz_manifest *m, const char *digest, cz_error *err)
{
    if (!config_type_ok(m->config.media_type))
        return cz_error_set(err, ENOTSUP,
                            "manifest %s: unsupported config media type '%s' (not a container "
                            "image)",
                            digest, m->config.media_type ? m->config.media_type : "(none)");
    if (m->config.size < 0 || (uint64_t)m->config.size > CZ_CONFIG_MAX)
        return cz_error_set(err, EFBIG, "manifest %s: config size %lld is out of range", digest,
                            (long long)m->config.size);
    for (size_t i = 0; i < m->n_layers; i++) {
        const cz_descriptor *l = &m->layers[i];
        if (!cz_media_is_layer(l->media_type))
            return cz_error_set(err, ENOTSUP, "manifest %s: layer %s has unsupported media type '%s'",
                                digest, l->digest, l->media_type ? l->media_type : "(none)");
        if (l->size < 0)
            return cz_error_set(err, EINVAL, "manifest %s: layer %s has a negative size", digest,
                                l->digest);
    }
    return 0;
}

static const char *default_media(enum cz_manifest_kind k, const char *from_header,
                                 const char *from_doc)
{
    if (from_header)
        return from_header;
    if (from_doc)
        return from_doc;
    return k == CZ_KIND_INDEX ? CZ_MEDIA_OCI_INDEX : CZ_MEDIA_OCI_MANIFEST;
}

/* Put a verified manifest or index into the store (no-op when present). */
static int store_document(cz_store *store, const fetched *f, cz_error *err)
{
    if (cz_store_has_blob(store, f->digest, (int64_t)f->len))
        return 0;
    char got[CZ_DIGEST_MAX];
    if (cz_store_put_blob(store, f->data, f->len, got, err) < 0)
        return cz_error_wrap(err, "store %s", f->digest);
    return 0;
}

struct config_check {
    cz_store *store;
    const char *digest;
    cz_buf data; /* the downloaded config; empty when it was already stored */
};

static int config_valid(void *ctx, cz_error *err)
{
    struct config_check *cc = ctx;
    cz_autofree char *stored = NULL;
    const char *data = cc->data.data;
    size_t len = cc->data.len;
    if (!len && cz_store_read_blob(cc->store, cc->digest, CZ_CONFIG_MAX, &stored, &len, err) < 0)
        return cz_error_wrap(err, "config %s", cc->digest);
    if (stored)
        data = stored;
    cz_image_config cfg = {0};
    if (cz_image_config_parse(data ? data : "", len, &cfg, err) < 0)
        return cz_error_wrap(err, "config %s", cc->digest);
    cz_image_config_free(&cfg);
    return 0;
}

static int pull_locked(cz_store *store, const cz_reference *ref, const cz_platform *platform,
                       const cz_registry_options *opts, char digest_out[CZ_DIGEST_MAX],
                       cz_error *err)
{
    reg_client *c = NULL;
    if (reg_client_new(ref->domain, opts, &c, err) < 0)
        return -1;
    fetched top = {0}, child = {0};
    cz_index ix = {0};
    cz_manifest m = {0};
    reg_blob *blobs = NULL;
    cz_descriptor target = {0};
    cz_platform host = {0};
    char *name = NULL;
    int r = -1;

    const char *what = ref->digest ? ref->digest : ref->tag;
    if (reg_fetch_manifest(c, ref->path, what, ref->digest, &top, err) < 0)
        goto out;
    const fetched *mf = &top;
    if (top.kind == CZ_KIND_INDEX) {
        if (cz_index_parse(top.data, top.len, &ix, err) < 0) {
            cz_error_wrap(err, "index %s", top.digest);
            goto out;
        }
        if (!platform) {
            cz_platform_host(&host);
            platform = &host;
        }
        int sel = cz_index_select(&ix, platform, err);
        if (sel < 0) {
            cz_error_wrap(err, "index %s", top.digest);
            goto out;
        }
        const cz_descriptor *d = &ix.manifests[sel];
        if (d->media_type && !cz_media_is_manifest(d->media_type)) {
            cz_error_set(err, ENOTSUP, "index %s: entry %s has unsupported media type '%s'",
                         top.digest, d->digest, d->media_type);
            goto out;
        }
        if (reg_fetch_manifest(c, ref->path, d->digest, d->digest, &child, err) < 0)
            goto out;
        if ((int64_t)child.len != d->size) {
            cz_error_set(err, EBADMSG, "manifest %s: size %zu, the index says %lld", d->digest,
                         child.len, (long long)d->size);
            goto out;
        }
        if (child.kind != CZ_KIND_MANIFEST) {
            cz_error_set(err, ENOTSUP, "index %s: entry %s is not an image manifest", top.digest,
                         d->digest);
            goto out;
        }
        mf = &child;
    }
    if (cz_manifest_parse(mf->data, mf->len, &m, err) < 0) {
        cz_error_wrap(err, "manifest %s", mf->digest);
        goto out;
    }
    if (check_manifest(&m, mf->digest, err) < 0)
        goto out;

    /* config first, then layers; a digest listed twice is fetched once */
    blobs = cz_xcalloc(m.n_layers + 1, sizeof(*blobs));
    size_t nb = 0;
    blobs[nb++] = (reg_blob){m.config.digest, m.config.size, "config", NULL};
    for (size_t i = 0; i < m.n_layers; i++) {
        bool dup = false;
        for (size_t k = 0; k < nb; k++)
            dup |= !strcmp(blobs[k].digest, m.layers[i].digest);
        if (!dup)
            blobs[nb++] = (reg_blob){m.layers[i].digest, m.layers[i].size, "layer", NULL};
    }
    /* the config must be a valid image config before anything is stored */
    struct config_check cc = {.store = store, .digest = m.config.digest};
    blobs[0].keep = &cc.data;
    r = reg_fetch_blobs(c, ref->path, store, blobs, nb, opts, config_valid, &cc, err);
    cz_buf_free(&cc.data);
    if (r < 0)
        goto out;
    r = -1;

    if (store_document(store, mf, err) < 0)
        goto out;
    if (mf != &top && store_document(store, &top, err) < 0)
        goto out;

    target.media_type = cz_xstrdup(default_media(
        top.kind, top.media_type, top.kind == CZ_KIND_INDEX ? ix.media_type : m.media_type));
    target.digest = cz_xstrdup(top.digest);
    target.size = (int64_t)top.len;
    name = cz_reference_string(ref);
    if (cz_store_set_image(store, name, &target, err) < 0) {
        cz_error_wrap(err, "name %s", name);
        goto out;
    }
    memcpy(digest_out, top.digest, CZ_DIGEST_MAX);
    r = 0;
out:
    free(name);
    cz_descriptor_free(&target);
    free(blobs);
    cz_manifest_free(&m);
    cz_index_free(&ix);
    fetched_free(&top);
    fetched_free(&child);
    if (host.os)
        cz_platform_free(&host);
    reg_client_free(c);
    return r;
}

int cz_registry_pull(cz_store *store, const char *refstr, const cz_platform *platform,
                     const cz_registry_options *opts, char digest_out[CZ_DIGEST_MAX],
                     cz_error *err)
{
    cz_reference ref = {0};
    if (cz_reference_parse(refstr, &ref, err) < 0)
        return -1;
    int r = -1;
    if (cz_store_lock_shared(store, err) == 0) {
        r = pull_locked(store, &ref, platform, opts, digest_out, err);
        cz_store_unlock_shared(store);
    }
    if (r < 0) {
        cz_autofree char *s = cz_reference_familiar(&ref);
        cz_error_wrap(err, "pull %s", s);
    }
    cz_reference_free(&ref);
    return r;
}
