/* The content store: an OCI image layout under ROOT/content, written only
 * through atomic ingest (temp file in ROOT/tmp/ingest, streaming sha256 and
 * size check, fsync, rename) and atomic index.json updates under a lock.
 * Entries that other tools put in index.json are kept as they are. */
#include <cz/content.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"
#include "oci/oci_json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define INDEX_MAX (64u << 20)

struct cz_store {
    char *root;
    char *layout;
    char *blobs;
    char *ingest_dir;
    char *locks;
    int shared_fd;    /* flock LOCK_SH on locks/gc.lock while shared_count > 0 */
    int shared_count;
};

struct cz_ingest {
    cz_store *store;
    char *tmp_path;
    int fd;
    cz_sha256 *hash;
    int64_t written;
    int64_t expected_size;
    char *expected_digest;
    char digest[CZ_DIGEST_MAX]; /* set once the hash is final */
    int64_t flushed;            /* bytes handed to writeback so far */
    bool synced;                /* verified and fsynced */
};

/* Start writeback of what was written every few MiB, so the disk works while
 * the data still streams in and the fsync at the end has little left to do. */
#define INGEST_WRITEBACK_STEP (4 << 20)

static const char empty_index[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":[]}\n";
static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

const char *cz_store_layout_path(const cz_store *s)
{
    return s->layout;
}

const char *cz_store_root(const cz_store *s)
{
    return s->root;
}

int cz_store_open(const char *root, cz_store **out, cz_error *err)
{
    cz_store *s = cz_xcalloc(1, sizeof(*s));
    s->shared_fd = -1;
    s->root = cz_xstrdup(root);
    s->layout = cz_xasprintf("%s/content", root);
    s->blobs = cz_xasprintf("%s/content/blobs/sha256", root);
    s->ingest_dir = cz_xasprintf("%s/tmp/ingest", root);
    s->locks = cz_xasprintf("%s/locks", root);
    cz_autofree char *layout_file = cz_xasprintf("%s/oci-layout", s->layout);
    cz_autofree char *index_file = cz_xasprintf("%s/index.json", s->layout);
    if (cz_mkdir_p(s->blobs, 0755, err) < 0 || cz_mkdir_p(s->ingest_dir, 0700, err) < 0 ||
        cz_mkdir_p(s->locks, 0700, err) < 0)
        goto fail;
    if (!cz_path_exists(layout_file) &&
        cz_write_file_atomic(layout_file, oci_layout, strlen(oci_layout), 0644, err) < 0)
        goto fail;
    if (!cz_path_exists(index_file)) {
        cz_autofree char *lock = cz_xasprintf("%s/index.lock", s->locks);
        cz_autoclose int lfd = cz_lock_path(lock, 0, err);
        if (lfd < 0)
            goto fail;
        if (!cz_path_exists(index_file) &&
            cz_write_file_atomic(index_file, empty_index, strlen(empty_index), 0644, err) < 0)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    cz_error_wrap(err, "open image store %s", root);
    cz_store_close(s);
    return -1;
}

void cz_store_close(cz_store *s)
{
    if (!s)
        return;
    if (s->shared_fd >= 0)
        close(s->shared_fd);
    free(s->root);
    free(s->layout);
    free(s->blobs);
    free(s->ingest_dir);
    free(s->locks);
    free(s);
}

char *cz_store_blob_path(const cz_store *s, const char *digest)
{
    const char *hex = strchr(digest, ':');
    return cz_xasprintf("%s/%s", s->blobs, hex ? hex + 1 : digest);
}

bool cz_store_has_blob(const cz_store *s, const char *digest, int64_t size)
{
    if (cz_digest_validate(digest, NULL) < 0)
        return false;
    cz_autofree char *p = cz_store_blob_path(s, digest);
    struct stat st;
    if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    return size < 0 || st.st_size == size;
}

int cz_store_open_blob(const cz_store *s, const char *digest, cz_error *err)
{
    if (cz_digest_validate(digest, err) < 0)
        return -1;
    cz_autofree char *p = cz_store_blob_path(s, digest);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return cz_error_set(err, ENOENT, "blob %s is not in the store", digest);
        return cz_error_errno(err, errno, "open blob %s", digest);
    }
    return fd;
}

int cz_store_read_blob(const cz_store *s, const char *digest, size_t max, char **data,
                       size_t *len, cz_error *err)
{
    cz_autoclose int fd = cz_store_open_blob(s, digest, err);
    if (fd < 0)
        return -1;
    char *buf;
    size_t n;
    if (cz_read_fd(fd, max, &buf, &n, digest, err) < 0)
        return cz_error_wrap(err, "read blob");
    char got[CZ_DIGEST_MAX];
    cz_digest_bytes(buf, n, got);
    if (strcmp(got, digest) != 0) {
        free(buf);
        return cz_error_set(err, EIO, "blob %s in the store is corrupt (its content hashes to %s)",
                            digest, got);
    }
    *data = buf;
    if (len)
        *len = n;
    return 0;
}

/* --- shared lock against GC --------------------------------------- */

int cz_store_lock_shared(cz_store *s, cz_error *err)
{
    if (s->shared_count++ > 0)
        return 0;
    cz_autofree char *p = cz_xasprintf("%s/gc.lock", s->locks);
    int fd = cz_lock_path(p, 1, err);
    if (fd < 0) {
        s->shared_count--;
        return -1;
    }
    s->shared_fd = fd;
    return 0;
}

void cz_store_unlock_shared(cz_store *s)
{
    if (s->shared_count <= 0 || --s->shared_count > 0)
        return;
    close(s->shared_fd);
    s->shared_fd = -1;
}

/* --- ingest ------------------------------------------------------- */

int cz_ingest_begin(cz_store *s, const char *expected_digest, int64_t expected_size,
                    cz_ingest **out, cz_error *err)
{
    if (expected_digest && cz_digest_validate(expected_digest, err) < 0)
        return -1;
    if (cz_store_lock_shared(s, err) < 0)
        return -1;
    cz_ingest *w = cz_xcalloc(1, sizeof(*w));
    w->store = s;
    w->expected_size = expected_size;
    w->expected_digest = expected_digest ? cz_xstrdup(expected_digest) : NULL;
    w->tmp_path = cz_xasprintf("%s/blob-XXXXXX", s->ingest_dir);
    w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
    if (w->fd < 0) {
        int e = errno;
        free(w->tmp_path);
        free(w->expected_digest);
        free(w);
        cz_store_unlock_shared(s);
        return cz_error_errno(err, e, "create temporary blob in %s", s->ingest_dir);
    }
    fchmod(w->fd, 0644);
    w->hash = cz_sha256_new();
    *out = w;
    return 0;
}

int64_t cz_ingest_offset(const cz_ingest *w)
{
    return w->written;
}

int cz_ingest_write(cz_ingest *w, const void *data, size_t len, cz_error *err)
{
    if (w->digest[0])
        return cz_error_set(err, EINVAL, "blob %s: write after verify", w->digest);
    if (w->expected_size >= 0 && w->written + (int64_t)len > w->expected_size)
        return cz_error_set(err, EFBIG, "blob %s: more data than the expected %lld bytes",
                            w->expected_digest ? w->expected_digest : "(new)",
                            (long long)w->expected_size);
    if (cz_write_all(w->fd, data, len) < 0)
        return cz_error_errno(err, errno, "write blob %s",
                              w->expected_digest ? w->expected_digest : "(new)");
    cz_sha256_update(w->hash, data, len);
    w->written += (int64_t)len;
    if (w->written - w->flushed >= INGEST_WRITEBACK_STEP) {
        /* advisory: an error here shows up again at fsync */
        (void)sync_file_range(w->fd, w->flushed, w->written - w->flushed, SYNC_FILE_RANGE_WRITE);
        w->flushed = w->written;
    }
    return 0;
}

int cz_ingest_restart(cz_ingest *w, cz_error *err)
{
    if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
        return cz_error_errno(err, errno, "restart blob %s",
                              w->expected_digest ? w->expected_digest : "(new)");
    cz_sha256_free(w->hash);
    w->hash = cz_sha256_new();
    w->written = 0;
    w->flushed = 0;
    w->digest[0] = 0;
    return 0;
}

static void ingest_free(cz_ingest *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp_path) {
        unlink(w->tmp_path);
        free(w->tmp_path);
    }
    cz_sha256_free(w->hash);
    free(w->expected_digest);
    cz_store_unlock_shared(w->store);
    free(w);
}

void cz_ingest_abort(cz_ingest *w)
{
    if (w)
        ingest_free(w);
}

int cz_ingest_verify(cz_ingest *w, cz_error *err)
{
    if (!w->digest[0])
        cz_sha256_final(w->hash, w->digest);
    const char *name = w->expected_digest ? w->expected_digest : w->digest;
    if (w->expected_size >= 0 && w->written != w->expected_size)
        return cz_error_set(err, EIO, "blob %s: size mismatch: got %lld bytes, expected %lld",
                            name, (long long)w->written, (long long)w->expected_size);
    if (w->expected_digest && strcmp(w->digest, w->expected_digest) != 0)
        return cz_error_set(err, EIO, "blob %s: digest mismatch: content hashes to %s", name,
                            w->digest);
    if (!w->synced && fsync(w->fd) < 0)
        return cz_error_errno(err, errno, "write blob %s", name);
    w->synced = true;
    return 0;
}

int cz_ingest_commit(cz_ingest *w, char digest_out[CZ_DIGEST_MAX], cz_error *err)
{
    int r = -1;
    cz_autofree char *final = NULL;
    if (cz_ingest_verify(w, err) < 0)
        goto out;
    const char *got = w->digest;
    const char *name = got;
    final = cz_store_blob_path(w->store, got);
    close(w->fd);
    w->fd = -1;
    if (rename(w->tmp_path, final) < 0) {
        cz_error_errno(err, errno, "store blob %s", name);
        goto out;
    }
    free(w->tmp_path);
    w->tmp_path = NULL;
    cz_fsync_dir(w->store->blobs);
    if (digest_out)
        memcpy(digest_out, got, CZ_DIGEST_MAX);
    r = 0;
out:
    ingest_free(w);
    return r;
}

int cz_store_put_blob(cz_store *s, const void *data, size_t len, char digest_out[CZ_DIGEST_MAX],
                      cz_error *err)
{
    char d[CZ_DIGEST_MAX];
    cz_digest_bytes(data, len, d);
    if (digest_out)
        memcpy(digest_out, d, CZ_DIGEST_MAX);
    if (cz_store_has_blob(s, d, (int64_t)len))
        return 0;
    cz_ingest *w;
    if (cz_ingest_begin(s, d, (int64_t)len, &w, err) < 0)
        return -1;
    if (cz_ingest_write(w, data, len, err) < 0) {
        cz_ingest_abort(w);
        return -1;
    }
    return cz_ingest_commit(w, NULL, err);
}

/* --- index.json --------------------------------------------------- */

static json_t *load_index(cz_store *s, cz_error *err)
{
    cz_autofree char *path = cz_xasprintf("%s/index.json", s->layout);
    cz_autofree char *data = NULL;
    size_t len;
    if (cz_read_file(path, INDEX_MAX, &data, &len, err) < 0)
        return NULL;
    json_t *j = cz_json_parse(data, len, path, err);
    if (!j)
        return NULL;
    if (!json_is_array(json_object_get(j, "manifests")))
        json_object_set_new(j, "manifests", json_array());
    return j;
}

static int save_index(cz_store *s, json_t *j, cz_error *err)
{
    cz_autofree char *path = cz_xasprintf("%s/index.json", s->layout);
    cz_autofree char *text = json_dumps(j, JSON_COMPACT);
    if (!text)
        return cz_error_set(err, ENOMEM, "serialize %s", path);
    return cz_write_file_atomic(path, text, strlen(text), 0644, err);
}

static int lock_index(cz_store *s, cz_error *err)
{
    cz_autofree char *p = cz_xasprintf("%s/index.lock", s->locks);
    return cz_lock_path(p, 0, err);
}

static const char *entry_name(json_t *e)
{
    json_t *ann = json_object_get(e, "annotations");
    return json_string_value(json_object_get(ann, CZ_ANNOTATION_REF_NAME));
}

void cz_image_records_free(cz_image_record *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        cz_descriptor_free(&v[i].target);
    }
    free(v);
}

int cz_store_list_images(cz_store *s, cz_image_record **out, size_t *n, cz_error *err)
{
    json_t *j = load_index(s, err);
    if (!j)
        return -1;
    json_t *ms = json_object_get(j, "manifests");
    cz_image_record *v = cz_xcalloc(json_array_size(ms) + 1, sizeof(*v));
    size_t k = 0;
    size_t i;
    json_t *e;
    json_array_foreach(ms, i, e)
    {
        const char *name = entry_name(e);
        if (!name)
            continue;
        cz_error derr = {0};
        if (cz_descriptor_from_json(e, &v[k].target, "index.json entry", &derr) < 0) {
            cz_warn("index.json: skipping entry %s: %s", name, derr.msg);
            continue;
        }
        v[k].name = cz_xstrdup(name);
        k++;
    }
    json_decref(j);
    *out = v;
    *n = k;
    return 0;
}

/* Does a stored name refer to the reference the user typed? */
static bool name_matches(const char *stored, const char *input, const char *normalized)
{
    if (!strcmp(stored, input) || (normalized && !strcmp(stored, normalized)))
        return true;
    cz_reference r;
    if (!normalized || cz_reference_parse(stored, &r, NULL) < 0)
        return false;
    cz_autofree char *full = cz_reference_string(&r);
    cz_reference_free(&r);
    return !strcmp(full, normalized);
}

int cz_store_get_image(cz_store *s, const char *ref, cz_image_record *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    cz_autofree char *normalized = NULL;
    cz_reference r;
    if (cz_reference_parse(ref, &r, NULL) == 0) {
        normalized = cz_reference_string(&r);
        cz_reference_free(&r);
    }
    cz_image_record *v;
    size_t n;
    if (cz_store_list_images(s, &v, &n, err) < 0)
        return -1;
    int found = -1;
    for (size_t i = 0; i < n && found < 0; i++)
        if (!strcmp(v[i].name, ref) || (normalized && !strcmp(v[i].name, normalized)))
            found = (int)i;
    for (size_t i = 0; i < n && found < 0; i++)
        if (name_matches(v[i].name, ref, normalized))
            found = (int)i;
    if (found >= 0) {
        out->name = cz_steal_pointer(&v[found].name);
        out->target = v[found].target;
        memset(&v[found].target, 0, sizeof(cz_descriptor));
    }
    cz_image_records_free(v, n);
    if (found < 0)
        return cz_error_set(err, ENOENT, "image %s not found", ref);
    return 0;
}

int cz_store_set_image(cz_store *s, const char *name, const cz_descriptor *target, cz_error *err)
{
    cz_autoclose int lock = lock_index(s, err);
    if (lock < 0)
        return -1;
    if (!cz_store_has_blob(s, target->digest, target->size))
        return cz_error_set(err, ENOENT, "name image %s: %s is not in the store", name,
                            target->digest);
    json_t *j = load_index(s, err);
    if (!j)
        return -1;
    json_t *ms = json_object_get(j, "manifests");
    for (size_t i = json_array_size(ms); i-- > 0;) {
        const char *en = entry_name(json_array_get(ms, i));
        if (en && !strcmp(en, name))
            json_array_remove(ms, i);
    }
    cz_descriptor d;
    cz_descriptor_copy(&d, target);
    free(d.ref_name);
    d.ref_name = cz_xstrdup(name);
    json_array_append_new(ms, cz_descriptor_to_json(&d));
    cz_descriptor_free(&d);
    int r = save_index(s, j, err);
    json_decref(j);
    return r < 0 ? cz_error_wrap(err, "name image %s", name) : 0;
}

int cz_store_remove_image(cz_store *s, const char *name, cz_error *err)
{
    cz_autoclose int lock = lock_index(s, err);
    if (lock < 0)
        return -1;
    json_t *j = load_index(s, err);
    if (!j)
        return -1;
    json_t *ms = json_object_get(j, "manifests");
    bool removed = false;
    for (size_t i = json_array_size(ms); i-- > 0;) {
        const char *en = entry_name(json_array_get(ms, i));
        if (en && !strcmp(en, name)) {
            json_array_remove(ms, i);
            removed = true;
        }
    }
    int r = removed ? save_index(s, j, err) : cz_error_set(err, ENOENT, "image %s not found", name);
    json_decref(j);
    return r;
}
