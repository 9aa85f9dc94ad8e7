/* `image save` and `image load`: OCI layout tarballs (with a docker-style
 * manifest.json beside them), and docker save tarballs of either generation.
 * Saving writes to a temp file and renames; loading verifies every blob as it
 * streams into the store and names images only once all they need is there. */
#include <cz/image.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"
#include "oci/oci_json.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define META_MAX (16u << 20)

/* --- save --------------------------------------------------------- */

struct blob_list {
    char **digests;
    int64_t *sizes;
    size_t n, cap;
};

static void blobs_add(struct blob_list *b, const char *digest, int64_t size)
{
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->digests[i], digest))
            return;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->digests = cz_xrealloc(b->digests, b->cap * sizeof(char *));
        b->sizes = cz_xrealloc(b->sizes, b->cap * sizeof(int64_t));
    }
    b->digests[b->n] = cz_xstrdup(digest);
    b->sizes[b->n++] = size;
}

static void blobs_free(struct blob_list *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->digests[i]);
    free(b->digests);
    free(b->sizes);
}

/* Add a manifest and everything it needs; all must be present. Appends a
 * manifest.json entry for it to docker_manifest when names are given. */
static int collect_manifest(cz_store *s, const cz_descriptor *d, struct blob_list *b,
                            json_t *docker_entry, cz_error *err)
{
    cz_autofree char *data = NULL;
    size_t len;
    cz_manifest m;
    if (cz_store_read_blob(s, d->digest, CZ_MANIFEST_MAX, &data, &len, err) < 0)
        return -1;
    if (cz_manifest_parse(data, len, &m, err) < 0)
        return -1;
    int r = 0;
    if (!cz_store_has_blob(s, m.config.digest, m.config.size)) {
        r = cz_error_set(err, ENOENT, "config blob %s is missing from the store", m.config.digest);
        goto out;
    }
    blobs_add(b, d->digest, d->size);
    blobs_add(b, m.config.digest, m.config.size);
    json_t *layers = json_array();
    for (size_t i = 0; i < m.n_layers; i++) {
        if (!cz_store_has_blob(s, m.layers[i].digest, m.layers[i].size)) {
            json_decref(layers);
            r = cz_error_set(err, ENOENT, "layer blob %s is missing from the store",
                             m.layers[i].digest);
            goto out;
        }
        blobs_add(b, m.layers[i].digest, m.layers[i].size);
        cz_autofree char *p = cz_xasprintf("blobs/sha256/%s", m.layers[i].digest + 7);
        json_array_append_new(layers, json_string(p));
    }
    if (docker_entry) {
        cz_autofree char *cp = cz_xasprintf("blobs/sha256/%s", m.config.digest + 7);
        json_object_set_new(docker_entry, "Config", json_string(cp));
        json_object_set_new(docker_entry, "Layers", layers);
    } else {
        json_decref(layers);
    }
out:
    cz_manifest_free(&m);
    return r;
}

static int write_file_entry(struct archive *a, const char *name, const void *data, size_t len,
                            cz_error *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, time(NULL), 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN || (len && archive_write_data(a, data, len) < 0))
        return cz_error_set(err, EIO, "write %s: %s", name, archive_error_string(a));
    return 0;
}

static int write_dir_entry(struct archive *a, const char *name, cz_error *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_mtime(e, time(NULL), 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    return r < ARCHIVE_WARN ? cz_error_set(err, EIO, "write %s: %s", name, archive_error_string(a))
                            : 0;
}

static int write_blob_entry(cz_store *s, struct archive *a, const char *digest, int64_t size,
                            cz_error *err)
{
    cz_autoclose int fd = cz_store_open_blob(s, digest, err);
    if (fd < 0)
        return -1;
    cz_autofree char *name = cz_xasprintf("blobs/sha256/%s", digest + 7);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, time(NULL), 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN)
        return cz_error_set(err, EIO, "write %s: %s", name, archive_error_string(a));
    char buf[1 << 16];
    int64_t left = size;
    while (left > 0) {
        ssize_t n = read(fd, buf, (size_t)CZ_MIN((int64_t)sizeof(buf), left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return cz_error_set(err, EIO, "read blob %s: %s", digest,
                                n < 0 ? strerror(errno) : "shorter than its size");
        if (archive_write_data(a, buf, (size_t)n) < 0)
            return cz_error_set(err, EIO, "write %s: %s", name, archive_error_string(a));
        left -= n;
    }
    return 0;
}

int cz_image_save(cz_store *s, const char *const *refs, size_t n, const char *path, cz_error *err)
{
    struct blob_list blobs = {0};
    json_t *index = json_object();
    json_object_set_new(index, "schemaVersion", json_integer(2));
    json_object_set_new(index, "mediaType", json_string(CZ_MEDIA_OCI_INDEX));
    json_t *entries = json_array();
    json_object_set_new(index, "manifests", entries);
    json_t *docker = json_array();
    cz_autofree char *tmp = NULL;
    cz_autofree char *index_text = NULL;
    cz_autofree char *docker_text = NULL;
    struct archive *a = NULL;
    int fd = -1;
    int rc = -1;
    cz_platform host;
    cz_platform_host(&host);

    for (size_t i = 0; i < n; i++) {
        cz_image_record rec;
        if (cz_image_lookup(s, refs[i], &rec, err) < 0)
            goto out;
        json_t *dentry = json_object();
        json_t *tags = json_array();
        cz_reference r;
        if (cz_reference_parse(rec.name, &r, NULL) == 0) {
            cz_autofree char *fam = cz_reference_familiar(&r);
            json_array_append_new(tags, json_string(fam));
            cz_reference_free(&r);
        }
        json_object_set_new(dentry, "RepoTags", tags);
        int cr = 0;
        bool docker_ok = false;
        blobs_add(&blobs, rec.target.digest, rec.target.size);
        if (cz_media_is_index(rec.target.media_type)) {
            cz_autofree char *data = NULL;
            size_t len;
            cz_index ix;
            cr = cz_store_read_blob(s, rec.target.digest, CZ_MANIFEST_MAX, &data, &len, err);
            if (cr == 0)
                cr = cz_index_parse(data, len, &ix, err);
            if (cr == 0) {
                int host_pick = cz_index_select(&ix, &host, NULL);
                for (size_t k = 0; k < ix.n_manifests && cr == 0; k++) {
                    if (!cz_store_has_blob(s, ix.manifests[k].digest, ix.manifests[k].size))
                        continue; /* a platform that was never pulled */
                    bool for_docker = (int)k == host_pick;
                    cr = collect_manifest(s, &ix.manifests[k], &blobs,
                                          for_docker ? dentry : NULL, err);
                    docker_ok |= for_docker && cr == 0;
                }
                cz_index_free(&ix);
            }
        } else {
            cr = collect_manifest(s, &rec.target, &blobs, dentry, err);
            docker_ok = cr == 0;
        }
        if (cr == 0) {
            cz_descriptor d;
            cz_descriptor_copy(&d, &rec.target);
            free(d.ref_name);
            d.ref_name = cz_xstrdup(rec.name);
            json_array_append_new(entries, cz_descriptor_to_json(&d));
            cz_descriptor_free(&d);
        }
        if (docker_ok)
            json_array_append_new(docker, dentry);
        else
            json_decref(dentry);
        free(rec.name);
        cz_descriptor_free(&rec.target);
        if (cr < 0) {
            cz_error_wrap(err, "image %s", refs[i]);
            goto out;
        }
    }

    if (!strcmp(path, "-")) {
        fd = dup(STDOUT_FILENO);
    } else {
        fd = cz_mktemp_beside(path, &tmp, err);
        if (fd < 0)
            goto out;
        fchmod(fd, 0644);
    }
    a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        cz_error_set(err, EIO, "write %s: %s", path, archive_error_string(a));
        goto out;
    }
    const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    index_text = json_dumps(index, JSON_COMPACT);
    docker_text = json_dumps(docker, JSON_COMPACT);
    if (write_file_entry(a, "oci-layout", layout, strlen(layout), err) < 0 ||
        write_dir_entry(a, "blobs", err) < 0 || write_dir_entry(a, "blobs/sha256", err) < 0)
        goto out;
    for (size_t i = 0; i < blobs.n; i++)
        if (write_blob_entry(s, a, blobs.digests[i], blobs.sizes[i], err) < 0)
            goto out;
    if (write_file_entry(a, "index.json", index_text, strlen(index_text), err) < 0 ||
        write_file_entry(a, "manifest.json", docker_text, strlen(docker_text), err) < 0)
        goto out;
    if (archive_write_close(a) != ARCHIVE_OK) {
        cz_error_set(err, EIO, "write %s: %s", path, archive_error_string(a));
        goto out;
    }
    if (tmp) {
        if (fsync(fd) < 0 || rename(tmp, path) < 0) {
            cz_error_errno(err, errno, "write %s", path);
            goto out;
        }
        free(tmp);
        tmp = NULL;
    }
    rc = 0;
out:
    if (a)
        archive_write_free(a);
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    cz_platform_free(&host);
    blobs_free(&blobs);
    json_decref(index);
    json_decref(docker);
    return rc < 0 ? cz_error_wrap(err, "save") : 0;
}

/* --- load --------------------------------------------------------- */

struct loaded_file {
    char *path;      /* normalized path inside the archive */
    char *digest;    /* blob digest it was stored as */
    int64_t size;
    char *link;      /* symlink target (docker's legacy layer links), else NULL */
};

struct load_state {
    struct loaded_file *files;
    size_t n, cap;
    char *index_json, *manifest_json;
    size_t index_len, manifest_len;
};

static const char *normalize_path(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    while (*p == '/')
        p++;
    return p;
}

static int ingest_entry(cz_store *s, struct archive *a, const char *path, const char *expected,
                        int64_t size, char digest[CZ_DIGEST_MAX], cz_error *err)
{
    cz_ingest *w;
    if (cz_ingest_begin(s, expected, size, &w, err) < 0)
        return -1;
    const void *buf;
    size_t len;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            cz_ingest_abort(w);
            return cz_error_set(err, EIO, "read %s: %s", path, archive_error_string(a));
        }
        if (cz_ingest_write(w, buf, len, err) < 0) {
            cz_ingest_abort(w);
            return -1;
        }
    }
    return cz_ingest_commit(w, digest, err);
}

static const struct loaded_file *find_file(const struct load_state *st, const char *path, int depth)
{
    path = normalize_path(path);
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->files[i].path, path) != 0)
            continue;
        if (!st->files[i].link)
            return &st->files[i];
        if (depth > 8)
            return NULL;
        /* legacy links are relative to the link's directory */
        cz_autofree char *dir = cz_dirname(st->files[i].path);
        cz_autofree char *target = cz_xasprintf("%s/%s", dir, st->files[i].link);
        /* collapse "a/../b" */
        char *dd;
        while ((dd = strstr(target, "/../"))) {
            char *prev = dd;
            while (prev > target && prev[-1] != '/')
                prev--;
            memmove(prev, dd + 4, strlen(dd + 4) + 1);
        }
        return find_file(st, target, depth + 1);
    }
    return NULL;
}

static const char *sniff_layer_type(cz_store *s, const char *digest)
{
    unsigned char magic[4] = {0};
    cz_autoclose int fd = cz_store_open_blob(s, digest, NULL);
    if (fd >= 0 && read(fd, magic, 4) < 0)
        memset(magic, 0, 4);
    if (magic[0] == 0x1f && magic[1] == 0x8b)
        return CZ_MEDIA_OCI_LAYER_GZIP;
    if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return CZ_MEDIA_OCI_LAYER_ZSTD;
    return CZ_MEDIA_OCI_LAYER;
}

/* Are the blobs a manifest (or an index's present manifests) needs all here? */
static int check_complete(cz_store *s, const cz_descriptor *d, int depth, cz_error *err)
{
    if (!cz_store_has_blob(s, d->digest, d->size))
        return cz_error_set(err, ENOENT, "the archive lacks blob %s", d->digest);
    if (!cz_media_is_index(d->media_type) && !cz_media_is_manifest(d->media_type))
        return 0;
    cz_autofree char *data = NULL;
    size_t len;
    if (cz_store_read_blob(s, d->digest, CZ_MANIFEST_MAX, &data, &len, err) < 0)
        return -1;
    if (cz_media_is_index(d->media_type)) {
        cz_index ix;
        if (depth > 4 || cz_index_parse(data, len, &ix, err) < 0)
            return -1;
        int r = 0;
        size_t present = 0;
        for (size_t i = 0; i < ix.n_manifests && r == 0; i++) {
            if (!cz_store_has_blob(s, ix.manifests[i].digest, ix.manifests[i].size))
                continue;
            present++;
            r = check_complete(s, &ix.manifests[i], depth + 1, err);
        }
        if (r == 0 && present == 0 && ix.n_manifests > 0)
            r = cz_error_set(err, ENOENT, "the archive has none of the manifests of index %s",
                             d->digest);
        cz_index_free(&ix);
        return r;
    }
    cz_manifest m;
    if (cz_manifest_parse(data, len, &m, err) < 0)
        return -1;
    int r = 0;
    if (!cz_store_has_blob(s, m.config.digest, m.config.size))
        r = cz_error_set(err, ENOENT, "the archive lacks config blob %s", m.config.digest);
    for (size_t i = 0; i < m.n_layers && r == 0; i++)
        if (!cz_store_has_blob(s, m.layers[i].digest, m.layers[i].size))
            r = cz_error_set(err, ENOENT, "the archive lacks layer blob %s", m.layers[i].digest);
    cz_manifest_free(&m);
    return r;
}

static char *normalize_name(const char *name)
{
    cz_reference r;
    if (!name || cz_reference_parse(name, &r, NULL) < 0)
        return NULL;
    char *s = cz_reference_string(&r);
    cz_reference_free(&r);
    return s;
}

static int load_oci_index(cz_store *s, struct load_state *st,
                          void (*loaded)(const char *, const char *, void *), void *arg,
                          cz_error *err)
{
    json_t *j = cz_json_parse(st->index_json, st->index_len, "index.json", err);
    if (!j)
        return -1;
    int rc = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "manifests"), i, e)
    {
        cz_descriptor d;
        if (cz_descriptor_from_json(e, &d, "index.json entry", err) < 0) {
            rc = -1;
            break;
        }
        if (check_complete(s, &d, 0, err) < 0) {
            cz_descriptor_free(&d);
            rc = -1;
            break;
        }
        json_t *ann = json_object_get(e, "annotations");
        const char *cname = json_string_value(json_object_get(ann, CZ_ANNOTATION_CONTAINERD_NAME));
        const char *rname = json_string_value(json_object_get(ann, CZ_ANNOTATION_REF_NAME));
        cz_autofree char *name = normalize_name(cname);
        /* A bare tag ("latest") as ref.name names nothing by itself. */
        if (!name && rname && (strchr(rname, '/') || strchr(rname, '@') || strchr(rname, ':')))
            name = normalize_name(rname);
        if (!name)
            name = cz_xstrdup(d.digest); /* unnamed: kept by digest */
        cz_platform *keep = d.platform;
        d.platform = NULL;
        if (keep) {
            cz_platform_free(keep);
            free(keep);
        }
        rc = cz_store_set_image(s, name, &d, err);
        if (rc == 0 && loaded)
            loaded(name, d.digest, arg);
        cz_descriptor_free(&d);
        if (rc < 0)
            break;
    }
    json_decref(j);
    return rc;
}

static int load_docker_manifest(cz_store *s, struct load_state *st,
                                void (*loaded)(const char *, const char *, void *), void *arg,
                                cz_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(st->manifest_json, st->manifest_len, 0, &jerr);
    if (!json_is_array(j)) {
        json_decref(j);
        return cz_error_set(err, EINVAL, "invalid manifest.json in the archive");
    }
    int rc = 0;
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e)
    {
        const char *cfg = json_string_value(json_object_get(e, "Config"));
        const struct loaded_file *cf = cfg ? find_file(st, cfg, 0) : NULL;
        if (!cf) {
            rc = cz_error_set(err, ENOENT, "the archive lacks the config %s", cfg ? cfg : "(none)");
            break;
        }
        cz_buf man = {0};
        cz_buf_printf(&man,
                      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                      "\"digest\":\"%s\",\"size\":%lld},\"layers\":[",
                      CZ_MEDIA_OCI_MANIFEST, CZ_MEDIA_OCI_CONFIG, cf->digest, (long long)cf->size);
        size_t k;
        json_t *l;
        json_array_foreach(json_object_get(e, "Layers"), k, l)
        {
            const struct loaded_file *lf =
                json_is_string(l) ? find_file(st, json_string_value(l), 0) : NULL;
            if (!lf) {
                rc = cz_error_set(err, ENOENT, "the archive lacks the layer %s",
                                  json_is_string(l) ? json_string_value(l) : "(invalid)");
                break;
            }
            cz_buf_printf(&man, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}",
                          k ? "," : "", sniff_layer_type(s, lf->digest), lf->digest,
                          (long long)lf->size);
        }
        cz_buf_printf(&man, "]}");
        char md[CZ_DIGEST_MAX];
        if (rc == 0)
            rc = cz_store_put_blob(s, man.data, man.len, md, err);
        char mt[] = CZ_MEDIA_OCI_MANIFEST;
        cz_descriptor d = {.media_type = mt, .digest = md, .size = (int64_t)man.len};
        cz_buf_free(&man);
        if (rc < 0)
            break;
        json_t *tags = json_object_get(e, "RepoTags");
        size_t named = 0;
        json_array_foreach(tags, k, l)
        {
            cz_autofree char *name = normalize_name(json_string_value(l));
            if (!name)
                continue;
            if ((rc = cz_store_set_image(s, name, &d, err)) < 0)
                break;
            named++;
            if (loaded)
                loaded(name, md, arg);
        }
        if (rc == 0 && !named) {
            rc = cz_store_set_image(s, md, &d, err);
            if (rc == 0 && loaded)
                loaded(md, md, arg);
        }
        if (rc < 0)
            break;
    }
    json_decref(j);
    return rc;
}

int cz_image_load(cz_store *s, const char *path,
                  void (*loaded)(const char *name, const char *digest, void *arg), void *arg,
                  cz_error *err)
{
    struct load_state st = {0};
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int rc = -1;
    if (cz_store_lock_shared(s, err) < 0) {
        archive_read_free(a);
        return -1;
    }
    int r = !strcmp(path, "-") ? archive_read_open_fd(a, STDIN_FILENO, 1 << 16)
                               : archive_read_open_filename(a, path, 1 << 16);
    if (r != ARCHIVE_OK) {
        cz_error_set(err, EIO, "%s", archive_error_string(a));
        goto out;
    }
    struct archive_entry *e;
    size_t entries = 0;
    for (;;) {
        r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            cz_error_set(err, EIO, "read archive: %s", archive_error_string(a));
            goto out;
        }
        if (++entries > 1000000) {
            cz_error_set(err, EFBIG, "archive has too many entries");
            goto out;
        }
        const char *raw = archive_entry_pathname(e);
        if (!raw) {
            cz_error_set(err, EINVAL, "archive entry %zu has no name", entries);
            goto out;
        }
        const char *name = normalize_path(raw);
        int type = archive_entry_filetype(e);
        if (type == AE_IFLNK) {
            if (!archive_entry_symlink(e))
                continue;
            if (st.n == st.cap) {
                st.cap = st.cap ? st.cap * 2 : 32;
                st.files = cz_xrealloc(st.files, st.cap * sizeof(*st.files));
            }
            st.files[st.n++] = (struct loaded_file){cz_xstrdup(name), NULL, 0,
                                                    cz_xstrdup(archive_entry_symlink(e))};
            continue;
        }
        if (type != AE_IFREG)
            continue;
        int64_t size = archive_entry_size(e);
        if (!strcmp(name, "index.json") || !strcmp(name, "manifest.json")) {
            bool is_index = !strcmp(name, "index.json");
            if (size < 0 || size > (int64_t)META_MAX) {
                cz_error_set(err, EFBIG, "%s in the archive is too large", name);
                goto out;
            }
            char *buf = cz_xmalloc((size_t)size + 1);
            la_ssize_t got = archive_read_data(a, buf, (size_t)size);
            if (got != size) {
                free(buf);
                cz_error_set(err, EIO, "read %s: truncated archive", name);
                goto out;
            }
            buf[size] = '\0';
            free(is_index ? st.index_json : st.manifest_json);
            *(is_index ? &st.index_json : &st.manifest_json) = buf;
            *(is_index ? &st.index_len : &st.manifest_len) = (size_t)size;
            continue;
        }
        if (!strcmp(name, "oci-layout") || !strcmp(name, "repositories"))
            continue;
        char expected[CZ_DIGEST_MAX + 8];
        const char *want = NULL;
        if (cz_str_has_prefix(name, "blobs/sha256/")) {
            snprintf(expected, sizeof(expected), "sha256:%s", name + 13);
            if (cz_digest_validate(expected, err) < 0) {
                cz_error_wrap(err, "archive entry %s", name);
                goto out;
            }
            want = expected;
        } else if (!cz_str_has_suffix(name, ".json") && !cz_str_has_suffix(name, "layer.tar")) {
            continue; /* docker's per-layer VERSION/json files */
        }
        char digest[CZ_DIGEST_MAX];
        if (want && cz_store_has_blob(s, want, size)) {
            memcpy(digest, want, CZ_DIGEST_MAX);
            archive_read_data_skip(a);
        } else if (ingest_entry(s, a, name, want, size, digest, err) < 0) {
            cz_error_wrap(err, "archive entry %s", name);
            goto out;
        }
        if (st.n == st.cap) {
            st.cap = st.cap ? st.cap * 2 : 32;
            st.files = cz_xrealloc(st.files, st.cap * sizeof(*st.files));
        }
        st.files[st.n++] = (struct loaded_file){cz_xstrdup(name), cz_xstrdup(digest), size, NULL};
    }
    if (st.index_json)
        rc = load_oci_index(s, &st, loaded, arg, err);
    else if (st.manifest_json)
        rc = load_docker_manifest(s, &st, loaded, arg, err);
    else
        rc = cz_error_set(err, EINVAL,
                          "not an image archive: neither index.json nor manifest.json found");
out:
    cz_store_unlock_shared(s);
    archive_read_free(a);
    for (size_t i = 0; i < st.n; i++) {
        free(st.files[i].path);
        free(st.files[i].digest);
        free(st.files[i].link);
    }
    free(st.files);
    free(st.index_json);
    free(st.manifest_json);
    return rc < 0 ? cz_error_wrap(err, "load %s", path) : 0;
}
