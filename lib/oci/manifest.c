/* OCI and Docker schema 2 manifests, indexes and image configs. Inputs are
 * bounded (4 MiB manifests, 8 MiB configs) and every field is type-checked;
 * schema 1 is refused with a message that says so. */
#include <cz/oci.h>

#include "base/util.h"
#include "oci/oci_json.h"

#include <errno.h>

json_t *cz_json_parse(const char *data, size_t len, const char *what, cz_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        cz_error_set(err, EINVAL, "invalid JSON in %s: %s (line %d)", what, jerr.text, jerr.line);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        cz_error_set(err, EINVAL, "invalid %s: not a JSON object", what);
        return NULL;
    }
    return j;
}

static char *opt_string(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? cz_xstrdup(json_string_value(v)) : NULL;
}

int cz_platform_from_json(json_t *o, cz_platform *p)
{
    memset(p, 0, sizeof(*p));
    if (!json_is_object(o))
        return -1;
    p->os = opt_string(o, "os");
    p->architecture = opt_string(o, "architecture");
    p->variant = opt_string(o, "variant");
    if (!p->os || !p->architecture) {
        cz_platform_free(p);
        return -1;
    }
    return 0;
}

json_t *cz_platform_to_json(const cz_platform *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "architecture", json_string(p->architecture));
    json_object_set_new(o, "os", json_string(p->os));
    if (p->variant)
        json_object_set_new(o, "variant", json_string(p->variant));
    return o;
}

void cz_descriptor_free(cz_descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    free(d->digest);
    free(d->ref_name);
    if (d->platform) {
        cz_platform_free(d->platform);
        free(d->platform);
    }
    memset(d, 0, sizeof(*d));
}

void cz_descriptor_copy(cz_descriptor *dst, const cz_descriptor *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->media_type = src->media_type ? cz_xstrdup(src->media_type) : NULL;
    dst->digest = src->digest ? cz_xstrdup(src->digest) : NULL;
    dst->ref_name = src->ref_name ? cz_xstrdup(src->ref_name) : NULL;
    dst->size = src->size;
    if (src->platform) {
        dst->platform = cz_xcalloc(1, sizeof(cz_platform));
        dst->platform->os = cz_xstrdup(src->platform->os);
        dst->platform->architecture = cz_xstrdup(src->platform->architecture);
        dst->platform->variant = src->platform->variant ? cz_xstrdup(src->platform->variant) : NULL;
    }
}

int cz_descriptor_from_json(json_t *o, cz_descriptor *d, const char *what, cz_error *err)
{
    memset(d, 0, sizeof(*d));
    if (!json_is_object(o))
        return cz_error_set(err, EINVAL, "invalid %s: descriptor is not an object", what);
    json_t *mt = json_object_get(o, "mediaType");
    json_t *dg = json_object_get(o, "digest");
    json_t *sz = json_object_get(o, "size");
    if (!json_is_string(mt))
        return cz_error_set(err, EINVAL, "invalid %s: descriptor without mediaType", what);
    if (!json_is_string(dg))
        return cz_error_set(err, EINVAL, "invalid %s: descriptor without digest", what);
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return cz_error_set(err, EINVAL, "invalid %s: descriptor without a valid size", what);
    cz_error derr = {0};
    if (cz_digest_validate(json_string_value(dg), &derr) < 0)
        return cz_error_set(err, derr.code, "invalid %s: %s", what, derr.msg);
    d->media_type = cz_xstrdup(json_string_value(mt));
    d->digest = cz_xstrdup(json_string_value(dg));
    d->size = (int64_t)json_integer_value(sz);
    json_t *pl = json_object_get(o, "platform");
    if (pl) {
        cz_platform p;
        if (cz_platform_from_json(pl, &p) == 0) {
            d->platform = cz_xcalloc(1, sizeof(cz_platform));
            *d->platform = p;
        }
    }
    json_t *ann = json_object_get(o, "annotations");
    if (json_is_object(ann))
        d->ref_name = opt_string(ann, CZ_ANNOTATION_REF_NAME);
    return 0;
}

json_t *cz_descriptor_to_json(const cz_descriptor *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "mediaType", json_string(d->media_type));
    json_object_set_new(o, "digest", json_string(d->digest));
    json_object_set_new(o, "size", json_integer(d->size));
    if (d->platform)
        json_object_set_new(o, "platform", cz_platform_to_json(d->platform));
    if (d->ref_name) {
        json_t *ann = json_object();
        json_object_set_new(ann, CZ_ANNOTATION_CONTAINERD_NAME, json_string(d->ref_name));
        json_object_set_new(ann, CZ_ANNOTATION_REF_NAME, json_string(d->ref_name));
        json_object_set_new(o, "annotations", ann);
    }
    return o;
}

bool cz_media_is_manifest(const char *mt)
{
    return mt && (!strcmp(mt, CZ_MEDIA_OCI_MANIFEST) || !strcmp(mt, CZ_MEDIA_DOCKER_MANIFEST));
}

bool cz_media_is_index(const char *mt)
{
    return mt && (!strcmp(mt, CZ_MEDIA_OCI_INDEX) || !strcmp(mt, CZ_MEDIA_DOCKER_LIST));
}

bool cz_media_is_layer(const char *mt)
{
    static const char *layers[] = {
        CZ_MEDIA_OCI_LAYER,         CZ_MEDIA_OCI_LAYER_GZIP,    CZ_MEDIA_OCI_LAYER_ZSTD,
        CZ_MEDIA_OCI_LAYER_ND,      CZ_MEDIA_OCI_LAYER_ND_GZIP, CZ_MEDIA_OCI_LAYER_ND_ZSTD,
        CZ_MEDIA_DOCKER_LAYER,      CZ_MEDIA_DOCKER_FOREIGN_LAYER,
        "application/vnd.docker.image.rootfs.diff.tar",
    };
    for (size_t i = 0; mt && i < CZ_ARRAY_SIZE(layers); i++)
        if (!strcmp(mt, layers[i]))
            return true;
    return false;
}

static bool is_schema1(const char *mt)
{
    return mt && (!strcmp(mt, CZ_MEDIA_DOCKER_SCHEMA1) || !strcmp(mt, CZ_MEDIA_DOCKER_SCHEMA1_SIGNED));
}

int cz_manifest_kind(const char *media_type, const char *data, size_t len,
                     enum cz_manifest_kind *kind, cz_error *err)
{
    *kind = CZ_KIND_UNKNOWN;
    if (is_schema1(media_type))
        return cz_error_set(err, ENOTSUP,
                            "unsupported manifest: Docker schema 1 is deprecated and not supported");
    if (cz_media_is_manifest(media_type)) {
        *kind = CZ_KIND_MANIFEST;
        return 0;
    }
    if (cz_media_is_index(media_type)) {
        *kind = CZ_KIND_INDEX;
        return 0;
    }
    if (media_type && *media_type && strcmp(media_type, "application/json") != 0 &&
        strcmp(media_type, "application/octet-stream") != 0 &&
        strcmp(media_type, "text/plain") != 0)
        return cz_error_set(err, ENOTSUP, "unsupported manifest media type '%.200s'", media_type);
    if (!data)
        return cz_error_set(err, EINVAL, "manifest without a media type");
    if (len > CZ_MANIFEST_MAX)
        return cz_error_set(err, EFBIG, "manifest of %zu bytes is larger than the 4 MiB limit",
                            len);
    json_t *j = cz_json_parse(data, len, "manifest", err);
    if (!j)
        return -1;
    int r = 0;
    json_t *sv = json_object_get(j, "schemaVersion");
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    if (json_is_integer(sv) && json_integer_value(sv) == 1)
        r = cz_error_set(err, ENOTSUP,
                         "unsupported manifest: Docker schema 1 is deprecated and not supported");
    else if (cz_media_is_manifest(mt) || (!mt && json_object_get(j, "config")))
        *kind = CZ_KIND_MANIFEST;
    else if (cz_media_is_index(mt) || (!mt && json_object_get(j, "manifests")))
        *kind = CZ_KIND_INDEX;
    else
        r = cz_error_set(err, ENOTSUP, "unsupported manifest media type '%.200s'",
                         mt ? mt : "(none)");
    json_decref(j);
    return r;
}

static int check_schema(json_t *j, const char *what, cz_error *err)
{
    json_t *sv = json_object_get(j, "schemaVersion");
    if (!json_is_integer(sv))
        return cz_error_set(err, EINVAL, "invalid %s: missing schemaVersion", what);
    if (json_integer_value(sv) == 1)
        return cz_error_set(err, ENOTSUP,
                            "unsupported manifest: Docker schema 1 is deprecated and not supported");
    if (json_integer_value(sv) != 2)
        return cz_error_set(err, EINVAL, "invalid %s: schemaVersion %lld", what,
                            (long long)json_integer_value(sv));
    return 0;
}

/* A JSON array of descriptors (at most max) into a new array. */
static int parse_descriptors(json_t *arr, size_t max, const char *what, cz_descriptor **out,
                             size_t *n_out, cz_error *err)
{
    if (!json_is_array(arr))
        return cz_error_set(err, EINVAL, "invalid %s: not an array", what);
    size_t n = json_array_size(arr);
    if (n > max)
        return cz_error_set(err, EINVAL, "invalid %s: %zu entries is more than %zu", what, n, max);
    *out = cz_xcalloc(n, sizeof(cz_descriptor));
    for (size_t i = 0; i < n; i++) {
        if (cz_descriptor_from_json(json_array_get(arr, i), &(*out)[i], what, err) < 0)
            return -1;
        (*n_out)++;
    }
    return 0;
}

void cz_manifest_free(cz_manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    cz_descriptor_free(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        cz_descriptor_free(&m->layers[i]);
    free(m->layers);
    memset(m, 0, sizeof(*m));
}

int cz_manifest_parse(const char *data, size_t len, cz_manifest *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len > CZ_MANIFEST_MAX)
        return cz_error_set(err, EFBIG, "manifest of %zu bytes is larger than the 4 MiB limit",
                            len);
    json_t *j = cz_json_parse(data, len, "manifest", err);
    if (!j)
        return -1;
    int r = -1;
    if (check_schema(j, "manifest", err) < 0)
        goto out;
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    if (mt && !cz_media_is_manifest(mt)) {
        cz_error_set(err, EINVAL, "invalid manifest: mediaType is '%.200s'", mt);
        goto out;
    }
    out->media_type = cz_xstrdup(mt ? mt : CZ_MEDIA_OCI_MANIFEST);
    if (cz_descriptor_from_json(json_object_get(j, "config"), &out->config, "manifest config",
                                err) < 0)
        goto out;
    if (parse_descriptors(json_object_get(j, "layers"), 4096, "manifest layers", &out->layers,
                          &out->n_layers, err) < 0)
        goto out;
    r = 0;
out:
    json_decref(j);
    if (r < 0)
        cz_manifest_free(out);
    return r;
}

void cz_index_free(cz_index *ix)
{
    if (!ix)
        return;
    free(ix->media_type);
    for (size_t i = 0; i < ix->n_manifests; i++)
        cz_descriptor_free(&ix->manifests[i]);
    free(ix->manifests);
    memset(ix, 0, sizeof(*ix));
}

int cz_index_parse(const char *data, size_t len, cz_index *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len > CZ_MANIFEST_MAX)
        return cz_error_set(err, EFBIG, "index of %zu bytes is larger than the 4 MiB limit", len);
    json_t *j = cz_json_parse(data, len, "index", err);
    if (!j)
        return -1;
    int r = -1;
    if (check_schema(j, "index", err) < 0)
        goto out;
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    if (mt && !cz_media_is_index(mt)) {
        cz_error_set(err, EINVAL, "invalid index: mediaType is '%.200s'", mt);
        goto out;
    }
    out->media_type = cz_xstrdup(mt ? mt : CZ_MEDIA_OCI_INDEX);
    if (parse_descriptors(json_object_get(j, "manifests"), 65536, "index manifests",
                          &out->manifests, &out->n_manifests, err) < 0)
        goto out;
    r = 0;
out:
    json_decref(j);
    if (r < 0)
        cz_index_free(out);
    return r;
}

int cz_index_select(const cz_index *ix, const cz_platform *want, cz_error *err)
{
    int loose = -1;
    for (size_t i = 0; i < ix->n_manifests; i++) {
        const cz_descriptor *d = &ix->manifests[i];
        if (!cz_media_is_manifest(d->media_type) || !d->platform)
            continue;
        if (!cz_platform_matches(want, d->platform))
            continue;
        /* Without a wanted variant, prefer an entry without one (or arm64's v8). */
        if (want->variant || !d->platform->variant)
            return (int)i;
        if (loose < 0)
            loose = (int)i;
    }
    if (loose >= 0)
        return loose;
    cz_buf avail = {0};
    for (size_t i = 0; i < ix->n_manifests; i++) {
        const cz_descriptor *d = &ix->manifests[i];
        if (!d->platform || !strcmp(d->platform->os, "unknown"))
            continue;
        cz_autofree char *ps = cz_platform_string(d->platform);
        cz_buf_printf(&avail, "%s%s", avail.len ? ", " : "", ps);
    }
    cz_autofree char *ws = cz_platform_string(want);
    cz_error_set(err, ENOENT, "no image for platform %s (available: %s)", ws,
                 avail.len ? avail.data : "none");
    cz_buf_free(&avail);
    return -1;
}

void cz_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static char **strv_from_array(json_t *a)
{
    if (!json_is_array(a))
        return NULL;
    size_t n = json_array_size(a);
    char **v = cz_xcalloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (json_is_string(json_array_get(a, i)))
            v[k++] = cz_xstrdup(json_string_value(json_array_get(a, i)));
    return v;
}

static char **strv_from_keys(json_t *o, bool with_values)
{
    if (!json_is_object(o))
        return NULL;
    char **v = cz_xcalloc(json_object_size(o) + 1, sizeof(char *));
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        if (with_values)
            v[k++] = cz_xasprintf("%s=%s", key, json_is_string(val) ? json_string_value(val) : "");
        else
            v[k++] = cz_xstrdup(key);
    }
    return v;
}

void cz_image_config_free(cz_image_config *c)
{
    if (!c)
        return;
    free(c->architecture);
    free(c->os);
    free(c->variant);
    free(c->created);
    cz_strv_free(c->env);
    cz_strv_free(c->entrypoint);
    cz_strv_free(c->cmd);
    free(c->working_dir);
    free(c->user);
    cz_strv_free(c->diff_ids);
    cz_strv_free(c->exposed_ports);
    cz_strv_free(c->volumes);
    free(c->stop_signal);
    cz_strv_free(c->labels);
    memset(c, 0, sizeof(*c));
}

int cz_image_config_parse(const char *data, size_t len, cz_image_config *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len > CZ_CONFIG_MAX)
        return cz_error_set(err, EFBIG, "image config of %zu bytes is larger than the limit", len);
    json_t *j = cz_json_parse(data, len, "image config", err);
    if (!j)
        return -1;
    out->architecture = opt_string(j, "architecture");
    out->os = opt_string(j, "os");
    out->variant = opt_string(j, "variant");
    out->created = opt_string(j, "created");
    json_t *c = json_object_get(j, "config");
    if (json_is_object(c)) {
        out->env = strv_from_array(json_object_get(c, "Env"));
        out->entrypoint = strv_from_array(json_object_get(c, "Entrypoint"));
        out->cmd = strv_from_array(json_object_get(c, "Cmd"));
        out->working_dir = opt_string(c, "WorkingDir");
        out->user = opt_string(c, "User");
        out->exposed_ports = strv_from_keys(json_object_get(c, "ExposedPorts"), false);
        out->volumes = strv_from_keys(json_object_get(c, "Volumes"), false);
        out->stop_signal = opt_string(c, "StopSignal");
        out->labels = strv_from_keys(json_object_get(c, "Labels"), true);
    }
    json_t *rootfs = json_object_get(j, "rootfs");
    if (json_is_object(rootfs))
        out->diff_ids = strv_from_array(json_object_get(rootfs, "diff_ids"));
    json_decref(j);
    if (!out->architecture || !out->os) {
        cz_image_config_free(out);
        return cz_error_set(err, EINVAL, "invalid image config: missing architecture or os");
    }
    return 0;
}
