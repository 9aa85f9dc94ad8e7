/* Resolving a user's image reference to one platform's manifest and config,
 * reading everything from the store with its digest verified. */
#include <cz/image.h>

#include "base/util.h"

#include <ctype.h>
#include <errno.h>

void cz_image_free(cz_image *img)
{
    if (!img)
        return;
    free(img->name);
    cz_descriptor_free(&img->target);
    cz_descriptor_free(&img->manifest_desc);
    cz_manifest_free(&img->manifest);
    cz_image_config_free(&img->config);
    free(img->config_json);
    free(img->manifest_json);
    free(img->index_json);
    memset(img, 0, sizeof(*img));
}

static bool is_id_prefix(const char *ref)
{
    if (cz_str_has_prefix(ref, "sha256:"))
        ref += 7;
    size_t n = strlen(ref);
    if (n < 4 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)ref[i]) || isupper((unsigned char)ref[i]))
            return false;
    return true;
}

/* Find a record by name, or by a prefix of its target digest. */
int cz_image_lookup(cz_store *s, const char *ref, cz_image_record *out, cz_error *err)
{
    if (cz_store_get_image(s, ref, out, err) == 0)
        return 0;
    if (err && err->code != ENOENT)
        return -1;
    if (!is_id_prefix(ref)) {
        cz_reference r;
        if (cz_reference_parse(ref, &r, err) == 0) {
            cz_reference_free(&r);
            return cz_error_set(err, ENOENT, "image %s not found", ref);
        }
        return -1;
    }
    const char *hex = cz_str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
    cz_image_record *v;
    size_t n;
    if (cz_store_list_images(s, &v, &n, err) < 0)
        return -1;
    int found = -1;
    bool ambiguous = false;
    for (size_t i = 0; i < n; i++) {
        if (!cz_str_has_prefix(v[i].target.digest + 7, hex))
            continue;
        if (found >= 0 && strcmp(v[found].target.digest, v[i].target.digest) != 0)
            ambiguous = true;
        if (found < 0)
            found = (int)i;
    }
    int r = 0;
    if (ambiguous) {
        r = cz_error_set(err, EINVAL, "image ID prefix %s is ambiguous", ref);
    } else if (found < 0) {
        r = cz_error_set(err, ENOENT, "image %s not found", ref);
    } else {
        out->name = cz_steal_pointer(&v[found].name);
        out->target = v[found].target;
        memset(&v[found].target, 0, sizeof(cz_descriptor));
    }
    cz_image_records_free(v, n);
    return r;
}

int cz_image_resolve(cz_store *s, const char *ref, const cz_platform *platform, cz_image *out,
                     cz_error *err)
{
    memset(out, 0, sizeof(*out));
    cz_image_record rec;
    if (cz_image_lookup(s, ref, &rec, err) < 0)
        return -1;
    out->name = rec.name;
    out->target = rec.target;
    cz_platform host;
    cz_platform_host(&host);
    const cz_platform *want = platform ? platform : &host;
    int r = -1;

    if (cz_media_is_index(out->target.media_type)) {
        if (cz_store_read_blob(s, out->target.digest, CZ_MANIFEST_MAX, &out->index_json,
                               &out->index_len, err) < 0)
            goto fail;
        cz_index ix;
        if (cz_index_parse(out->index_json, out->index_len, &ix, err) < 0)
            goto fail;
        /* Only platforms whose manifest is present locally count. */
        cz_index local = {.media_type = ix.media_type, .manifests = NULL, .n_manifests = 0};
        local.manifests = cz_xcalloc(ix.n_manifests + 1, sizeof(cz_descriptor));
        for (size_t i = 0; i < ix.n_manifests; i++)
            if (cz_store_has_blob(s, ix.manifests[i].digest, ix.manifests[i].size))
                local.manifests[local.n_manifests++] = ix.manifests[i];
        int pick = cz_index_select(&local, want, err);
        if (pick >= 0)
            cz_descriptor_copy(&out->manifest_desc, &local.manifests[pick]);
        free(local.manifests);
        cz_index_free(&ix);
        if (pick < 0) {
            cz_error_wrap(err, "image %s", out->name);
            goto fail;
        }
    } else if (cz_media_is_manifest(out->target.media_type)) {
        cz_descriptor_copy(&out->manifest_desc, &out->target);
    } else {
        cz_error_set(err, ENOTSUP, "image %s: unsupported media type %s", out->name,
                     out->target.media_type);
        goto fail;
    }
    if (cz_store_read_blob(s, out->manifest_desc.digest, CZ_MANIFEST_MAX, &out->manifest_json,
                           &out->manifest_len, err) < 0 ||
        cz_manifest_parse(out->manifest_json, out->manifest_len, &out->manifest, err) < 0 ||
        cz_store_read_blob(s, out->manifest.config.digest, CZ_CONFIG_MAX, &out->config_json,
                           &out->config_len, err) < 0 ||
        cz_image_config_parse(out->config_json, out->config_len, &out->config, err) < 0) {
        cz_error_wrap(err, "image %s", out->name);
        goto fail;
    }
    /* A single-platform image for another platform is still returned when the
     * caller asked for no platform; an explicit platform must match. */
    if (platform && !cz_media_is_index(out->target.media_type)) {
        cz_platform have = {.os = out->config.os, .architecture = out->config.architecture,
                            .variant = out->config.variant};
        if (!cz_platform_matches(platform, &have)) {
            cz_autofree char *ws = cz_platform_string(platform);
            cz_autofree char *hs = cz_platform_string(&have);
            cz_error_set(err, ENOENT, "image %s is for %s, not %s", out->name, hs, ws);
            goto fail;
        }
    }
    r = 0;
fail:
    cz_platform_free(&host);
    if (r < 0)
        cz_image_free(out);
    return r;
}

int64_t cz_image_content_size(const cz_image *img)
{
    int64_t n = img->manifest.config.size;
    for (size_t i = 0; i < img->manifest.n_layers; i++)
        n += img->manifest.layers[i].size;
    return n;
}

char **cz_image_platforms(cz_store *s, const cz_descriptor *target)
{
    char **v = NULL;
    size_t n = 0;
    if (cz_media_is_index(target->media_type)) {
        char *data;
        size_t len;
        cz_index ix;
        if (cz_store_read_blob(s, target->digest, CZ_MANIFEST_MAX, &data, &len, NULL) == 0) {
            if (cz_index_parse(data, len, &ix, NULL) == 0) {
                v = cz_xcalloc(ix.n_manifests + 1, sizeof(char *));
                for (size_t i = 0; i < ix.n_manifests; i++)
                    if (ix.manifests[i].platform &&
                        cz_store_has_blob(s, ix.manifests[i].digest, ix.manifests[i].size))
                        v[n++] = cz_platform_string(ix.manifests[i].platform);
                cz_index_free(&ix);
            }
            free(data);
        }
    } else {
        char *data = NULL, *cdata = NULL;
        size_t len, clen;
        cz_manifest m;
        cz_image_config c;
        v = cz_xcalloc(2, sizeof(char *));
        if (cz_store_read_blob(s, target->digest, CZ_MANIFEST_MAX, &data, &len, NULL) == 0 &&
            cz_manifest_parse(data, len, &m, NULL) == 0) {
            if (cz_store_read_blob(s, m.config.digest, CZ_CONFIG_MAX, &cdata, &clen, NULL) == 0 &&
                cz_image_config_parse(cdata, clen, &c, NULL) == 0) {
                cz_platform p = {.os = c.os, .architecture = c.architecture, .variant = c.variant};
                v[n++] = cz_platform_string(&p);
                cz_image_config_free(&c);
            }
            cz_manifest_free(&m);
        }
        free(data);
        free(cdata);
    }
    if (!v)
        v = cz_xcalloc(1, sizeof(char *));
    return v;
}
