/* `image import`: a root filesystem (directory or tarball) becomes a
 * one-layer OCI image. The layer is written once, streaming: libarchive
 * produces a pax tar, we hash it (diff_id) and gzip it into the store's
 * atomic ingest (digest). Dockerfile-like --change lines edit the config. */
#include <cz/image.h>

#include "base/log.h"
#include "base/util.h"
#include "oci/oci_json.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

struct layer_sink {
    cz_ingest *ingest;
    cz_sha256 *diff;
    z_stream z;
    cz_error *err;
    int failed;
    unsigned char out[1 << 16];
};

static int sink_deflate(struct layer_sink *k, const void *data, size_t len, int flush)
{
    k->z.next_in = (Bytef *)data;
    k->z.avail_in = (uInt)len;
    do {
        k->z.next_out = k->out;
        k->z.avail_out = sizeof(k->out);
        int zr = deflate(&k->z, flush);
        if (zr == Z_STREAM_ERROR)
            return cz_error_set(k->err, EIO, "compress layer: zlib error");
        size_t have = sizeof(k->out) - k->z.avail_out;
        if (have && cz_ingest_write(k->ingest, k->out, have, k->err) < 0)
            return -1;
    } while (k->z.avail_out == 0 || (flush == Z_FINISH && k->z.avail_in > 0));
    return 0;
}

static la_ssize_t sink_write(struct archive *a, void *arg, const void *buf, size_t len)
{
    struct layer_sink *k = arg;
    if (k->failed)
        return -1;
    cz_sha256_update(k->diff, buf, len);
    if (sink_deflate(k, buf, len, Z_NO_FLUSH) < 0) {
        k->failed = 1;
        archive_set_error(a, EIO, "%s", k->err->msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int copy_data(struct archive *in, struct archive *out, const char *path, cz_error *err)
{
    static const char zeros[1 << 14];
    const void *buf;
    size_t size;
    la_int64_t offset, pos = 0;
    for (;;) {
        int r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return cz_error_set(err, EIO, "read %s: %s", path, archive_error_string(in));
        /* Holes come back as gaps between blocks: the tar gets their zeros. */
        while (pos < offset) {
            size_t n = (size_t)CZ_MIN((la_int64_t)sizeof(zeros), offset - pos);
            if (archive_write_data(out, zeros, n) < 0)
                return cz_error_set(err, EIO, "write layer entry %s: %s", path,
                                    archive_error_string(out));
            pos += (la_int64_t)n;
        }
        if (size && archive_write_data(out, buf, size) < 0)
            return cz_error_set(err, EIO, "write layer entry %s: %s", path,
                                archive_error_string(out));
        pos = offset + (la_int64_t)size;
    }
}

/* Entry path relative to the image root, without a leading "/" or "./". */
static const char *relative_path(const char *path, const char *root)
{
    size_t n = root ? strlen(root) : 0;
    if (root && !strncmp(path, root, n) && (path[n] == '/' || path[n] == '\0'))
        path += n;
    while (*path == '/' || (path[0] == '.' && path[1] == '/'))
        path += path[0] == '/' ? 1 : 2;
    return path;
}

static int write_entries(struct archive *in, bool from_disk, const char *root,
                         struct archive *out, cz_error *err)
{
    struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
    archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    struct archive_entry *entry = archive_entry_new();
    int rc = 0;
    for (;;) {
        int r = from_disk ? archive_read_next_header2(in, entry)
                          : archive_read_next_header2(in, entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = cz_error_set(err, EIO, "read %s: %s", root ? root : "tarball",
                              archive_error_string(in));
            break;
        }
        if (from_disk)
            archive_read_disk_descend(in);
        cz_autofree char *orig = cz_xstrdup(archive_entry_pathname(entry));
        const char *rel = relative_path(orig, from_disk ? root : NULL);
        if (!*rel || !strcmp(rel, "."))
            continue; /* the root directory itself */
        if (archive_entry_filetype(entry) == AE_IFSOCK) {
            cz_debug("import: skipping socket %s", rel);
            continue;
        }
        archive_entry_set_pathname(entry, rel);
        const char *hl = archive_entry_hardlink(entry);
        if (hl) {
            cz_autofree char *hlc = cz_xstrdup(hl);
            archive_entry_set_hardlink(entry, relative_path(hlc, from_disk ? root : NULL));
        }
        struct archive_entry *e = entry, *spare = NULL;
        if (from_disk)
            archive_entry_linkify(links, &e, &spare);
        if (!e)
            continue;
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            rc = cz_error_set(err, EIO, "write layer entry %s: %s", rel,
                              archive_error_string(out));
            break;
        }
        if (archive_entry_size(e) > 0 && archive_entry_filetype(e) == AE_IFREG &&
            !archive_entry_hardlink(e)) {
            if (copy_data(in, out, rel, err) < 0) {
                rc = -1;
                break;
            }
        }
    }
    archive_entry_free(entry);
    archive_entry_linkresolver_free(links);
    return rc;
}

/* --- config edits ------------------------------------------------- */

static json_t *parse_command(const char *arg)
{
    while (*arg == ' ')
        arg++;
    if (*arg == '[') {
        json_t *a = json_loads(arg, 0, NULL);
        if (json_is_array(a))
            return a;
        json_decref(a);
        return NULL;
    }
    json_t *a = json_array();
    json_array_append_new(a, json_string("/bin/sh"));
    json_array_append_new(a, json_string("-c"));
    json_array_append_new(a, json_string(arg));
    return a;
}

static char *unquote(const char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        return cz_xstrndup(s + 1, n - 2);
    return cz_xstrdup(s);
}

/* KEY=VALUE pairs (or a single "KEY VALUE") into an object or an env array. */
static int apply_pairs(const char *arg, json_t *obj, json_t *env, const char *what, cz_error *err)
{
    const char *eq = strchr(arg, '=');
    const char *sp = strchr(arg, ' ');
    if (!eq || (sp && sp < eq)) {
        if (!sp)
            return cz_error_set(err, EINVAL, "invalid %s change '%s': want KEY=VALUE", what, arg);
        cz_autofree char *k = cz_xstrndup(arg, (size_t)(sp - arg));
        cz_autofree char *v = unquote(sp + 1);
        if (obj)
            json_object_set_new(obj, k, json_string(v));
        else
        {
            cz_autofree char *kv = cz_xasprintf("%s=%s", k, v);
            json_array_append_new(env, json_string(kv));
        }
        return 0;
    }
    cz_autofree char *copy = cz_xstrdup(arg);
    char *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *e = strchr(tok, '=');
        if (!e || e == tok)
            return cz_error_set(err, EINVAL, "invalid %s change '%s': want KEY=VALUE", what, arg);
        *e = '\0';
        cz_autofree char *v = unquote(e + 1);
        if (obj) {
            json_object_set_new(obj, tok, json_string(v));
        } else {
            char *kv = cz_xasprintf("%s=%s", tok, v);
            /* replace an existing KEY= */
            size_t i;
            json_t *x;
            size_t klen = strlen(tok);
            json_array_foreach(env, i, x)
            {
                const char *s = json_string_value(x);
                if (s && !strncmp(s, tok, klen) && s[klen] == '=') {
                    json_array_remove(env, i);
                    break;
                }
            }
            json_array_append_new(env, json_string(kv));
            free(kv);
        }
    }
    return 0;
}

static json_t *object_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, key, v);
    }
    return v;
}

static int apply_change(json_t *config, const char *change, cz_error *err)
{
    while (*change == ' ')
        change++;
    const char *sp = strchr(change, ' ');
    if (!sp || !sp[1])
        return cz_error_set(err, EINVAL, "invalid change '%s': want INSTRUCTION ARGUMENTS", change);
    cz_autofree char *ins = cz_xstrndup(change, (size_t)(sp - change));
    for (char *c = ins; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    const char *arg = sp + 1;
    if (!strcmp(ins, "CMD") || !strcmp(ins, "ENTRYPOINT")) {
        json_t *cmd = parse_command(arg);
        if (!cmd)
            return cz_error_set(err, EINVAL, "invalid %s change: bad JSON array '%s'", ins, arg);
        json_object_set_new(config, !strcmp(ins, "CMD") ? "Cmd" : "Entrypoint", cmd);
        return 0;
    }
    if (!strcmp(ins, "ENV")) {
        json_t *env = json_object_get(config, "Env");
        if (!json_is_array(env)) {
            env = json_array();
            json_object_set_new(config, "Env", env);
        }
        return apply_pairs(arg, NULL, env, "ENV", err);
    }
    if (!strcmp(ins, "LABEL"))
        return apply_pairs(arg, object_member(config, "Labels"), NULL, "LABEL", err);
    if (!strcmp(ins, "WORKDIR") || !strcmp(ins, "USER") || !strcmp(ins, "STOPSIGNAL")) {
        const char *key = !strcmp(ins, "WORKDIR") ? "WorkingDir"
                          : !strcmp(ins, "USER")  ? "User"
                                                  : "StopSignal";
        json_object_set_new(config, key, json_string(arg));
        return 0;
    }
    if (!strcmp(ins, "EXPOSE") || !strcmp(ins, "VOLUME")) {
        json_t *o = object_member(config, !strcmp(ins, "EXPOSE") ? "ExposedPorts" : "Volumes");
        json_t *arr = arg[0] == '[' ? json_loads(arg, 0, NULL) : NULL;
        if (json_is_array(arr)) {
            size_t i;
            json_t *x;
            json_array_foreach(arr, i, x) if (json_is_string(x))
                json_object_set_new(o, json_string_value(x), json_object());
        } else {
            cz_autofree char *copy = cz_xstrdup(arg);
            char *save = NULL;
            for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (!strcmp(ins, "EXPOSE") && !strchr(t, '/')) {
                    cz_autofree char *k = cz_xasprintf("%s/tcp", t);
                    json_object_set_new(o, k, json_object());
                } else {
                    json_object_set_new(o, t, json_object());
                }
            }
        }
        json_decref(arr);
        return 0;
    }
    return cz_error_set(err, EINVAL,
                        "invalid change '%s': supported are CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                        "STOPSIGNAL, USER, VOLUME, WORKDIR",
                        change);
}

static void rfc3339_now(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%09ldZ", base, ts.tv_nsec);
}

static int build_layer(cz_store *s, const char *source, char layer_digest[CZ_DIGEST_MAX],
                       int64_t *layer_size, char diff_id[CZ_DIGEST_MAX], cz_error *err)
{
    struct stat st;
    if (stat(source, &st) < 0)
        return cz_error_errno(err, errno, "import %s", source);
    bool from_disk = S_ISDIR(st.st_mode);
    struct archive *in = from_disk ? archive_read_disk_new() : archive_read_new();
    struct archive *out = archive_write_new();
    struct layer_sink k = {.err = err};
    int rc = -1;
    if (from_disk) {
        archive_read_disk_set_standard_lookup(in);
        archive_read_disk_set_behavior(in, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
        if (archive_read_disk_open(in, source) != ARCHIVE_OK) {
            cz_error_set(err, EIO, "import %s: %s", source, archive_error_string(in));
            goto out;
        }
    } else {
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        archive_read_support_format_gnutar(in);
        if (archive_read_open_filename(in, source, 1 << 16) != ARCHIVE_OK) {
            cz_error_set(err, EIO, "import %s: %s", source, archive_error_string(in));
            goto out;
        }
    }
    if (cz_ingest_begin(s, NULL, -1, &k.ingest, err) < 0)
        goto out;
    k.diff = cz_sha256_new();
    if (deflateInit2(&k.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        cz_error_set(err, ENOMEM, "compress layer: zlib init failed");
        goto out;
    }
    archive_write_set_format_pax_restricted(out);
    archive_write_set_bytes_per_block(out, 0);
    if (archive_write_open2(out, &k, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
        cz_error_set(err, EIO, "write layer: %s", archive_error_string(out));
        goto out_z;
    }
    if (write_entries(in, from_disk, source, out, err) < 0)
        goto out_z;
    if (archive_write_close(out) != ARCHIVE_OK) {
        if (!k.failed)
            cz_error_set(err, EIO, "write layer: %s", archive_error_string(out));
        goto out_z;
    }
    if (sink_deflate(&k, NULL, 0, Z_FINISH) < 0)
        goto out_z;
    *layer_size = cz_ingest_offset(k.ingest);
    cz_sha256_final(k.diff, diff_id);
    rc = cz_ingest_commit(k.ingest, layer_digest, err);
    k.ingest = NULL;
out_z:
    if (rc < 0) {
        /* nothing more may reach the sink once we are failing */
        k.failed = 1;
        archive_write_fail(out);
    }
    archive_write_free(out);
    out = NULL;
    deflateEnd(&k.z);
out:
    if (out)
        archive_write_free(out);
    if (k.ingest)
        cz_ingest_abort(k.ingest);
    cz_sha256_free(k.diff);
    archive_read_free(in);
    return rc;
}

int cz_image_import(cz_store *s, const char *source, const char *ref,
                    const struct cz_import_options *opts, char digest_out[CZ_DIGEST_MAX],
                    cz_error *err)
{
    cz_reference r;
    if (cz_reference_parse(ref, &r, err) < 0)
        return -1;
    cz_autofree char *name = cz_reference_string(&r);
    cz_reference_free(&r);
    cz_platform plat;
    if (opts && opts->platform) {
        if (cz_platform_parse(opts->platform, &plat, err) < 0)
            return -1;
    } else {
        cz_platform_host(&plat);
    }
    /* Validate the changes before writing anything. */
    json_t *config = json_object();
    json_t *root = json_object();
    cz_autofree char *cfg_text = NULL;
    cz_autofree char *manifest = NULL;
    int rc = -1;
    for (const char *const *c = opts ? opts->changes : NULL; c && *c; c++)
        if (apply_change(config, *c, err) < 0)
            goto out;
    if (!json_object_get(config, "Env")) {
        json_t *env = json_array();
        json_array_append_new(
            env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        json_object_set_new(config, "Env", env);
    }
    if (cz_store_lock_shared(s, err) < 0)
        goto out;
    char layer[CZ_DIGEST_MAX], diff[CZ_DIGEST_MAX], cfg_digest[CZ_DIGEST_MAX],
        man_digest[CZ_DIGEST_MAX];
    int64_t layer_size = 0;
    if (build_layer(s, source, layer, &layer_size, diff, err) < 0) {
        cz_store_unlock_shared(s);
        goto out;
    }
    char now[64];
    rfc3339_now(now, sizeof(now));
    json_object_set_new(root, "created", json_string(now));
    json_object_set_new(root, "architecture", json_string(plat.architecture));
    json_object_set_new(root, "os", json_string(plat.os));
    if (plat.variant)
        json_object_set_new(root, "variant", json_string(plat.variant));
    json_object_set_new(root, "config", json_incref(config));
    json_t *rootfs = json_object();
    json_object_set_new(rootfs, "type", json_string("layers"));
    json_t *ids = json_array();
    json_array_append_new(ids, json_string(diff));
    json_object_set_new(rootfs, "diff_ids", ids);
    json_object_set_new(root, "rootfs", rootfs);
    json_t *hist = json_object();
    json_object_set_new(hist, "created", json_string(now));
    json_object_set_new(hist, "created_by", json_string("container image import"));
    if (opts && opts->message)
        json_object_set_new(hist, "comment", json_string(opts->message));
    json_t *history = json_array();
    json_array_append_new(history, hist);
    json_object_set_new(root, "history", history);
    cfg_text = json_dumps(root, JSON_COMPACT);
    if (cz_store_put_blob(s, cfg_text, strlen(cfg_text), cfg_digest, err) < 0) {
        cz_store_unlock_shared(s);
        goto out;
    }
    manifest = cz_xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":"
        "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
        CZ_MEDIA_OCI_MANIFEST, CZ_MEDIA_OCI_CONFIG, cfg_digest, strlen(cfg_text),
        CZ_MEDIA_OCI_LAYER_GZIP, layer, (long long)layer_size);
    if (cz_store_put_blob(s, manifest, strlen(manifest), man_digest, err) < 0) {
        cz_store_unlock_shared(s);
        goto out;
    }
    char mt[] = CZ_MEDIA_OCI_MANIFEST;
    cz_platform *pp = cz_xcalloc(1, sizeof(*pp));
    *pp = plat;
    memset(&plat, 0, sizeof(plat));
    cz_descriptor d = {.media_type = mt, .digest = man_digest, .size = (int64_t)strlen(manifest),
                       .platform = pp};
    rc = cz_store_set_image(s, name, &d, err);
    cz_platform_free(pp);
    free(pp);
    cz_store_unlock_shared(s);
    if (rc == 0 && digest_out)
        memcpy(digest_out, man_digest, CZ_DIGEST_MAX);
out:
    cz_platform_free(&plat);
    json_decref(config);
    json_decref(root);
    return rc < 0 ? cz_error_wrap(err, "import %s", source) : 0;
}
