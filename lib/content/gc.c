/* Garbage collection by reachability: everything named in index.json (ours
 * and other tools' entries) is a root; indexes and manifests present in the
 * store lead to their children. Unreached blobs, snapshots of unreached
 * manifests and abandoned ingest files are removed. Runs under the exclusive
 * GC lock, so no ingest or pull is in progress meanwhile. */
#include <cz/content.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"
#include "oci/oci_json.h"

#include <dirent.h>
#include <errno.h>
#include <sys/file.h>
#include <sys/stat.h>

struct digest_set {
    char **v;
    size_t n, cap;
};

static bool set_has(const struct digest_set *s, const char *d)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], d))
            return true;
    return false;
}

static void set_add(struct digest_set *s, const char *d)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = cz_xrealloc(s->v, s->cap * sizeof(char *));
    }
    s->v[s->n++] = cz_xstrdup(d);
}

static void set_free(struct digest_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static void mark(cz_store *st, struct digest_set *live, const cz_descriptor *d, int depth)
{
    if (!d->digest || set_has(live, d->digest) || depth > 8)
        return;
    set_add(live, d->digest);
    if (!cz_media_is_index(d->media_type) && !cz_media_is_manifest(d->media_type))
        return;
    char *data;
    size_t len;
    if (cz_store_read_blob(st, d->digest, CZ_MANIFEST_MAX, &data, &len, NULL) < 0)
        return; /* absent children of an index are normal (platforms not pulled) */
    if (cz_media_is_index(d->media_type)) {
        cz_index ix;
        if (cz_index_parse(data, len, &ix, NULL) == 0) {
            for (size_t i = 0; i < ix.n_manifests; i++)
                mark(st, live, &ix.manifests[i], depth + 1);
            cz_index_free(&ix);
        }
    } else {
        cz_manifest m;
        if (cz_manifest_parse(data, len, &m, NULL) == 0) {
            mark(st, live, &m.config, depth + 1);
            for (size_t i = 0; i < m.n_layers; i++)
                mark(st, live, &m.layers[i], depth + 1);
            cz_manifest_free(&m);
        }
    }
    free(data);
}

/* Roots: every descriptor in index.json, named or not. */
static int mark_roots(cz_store *st, struct digest_set *live, cz_error *err)
{
    cz_autofree char *path = cz_xasprintf("%s/index.json", cz_store_layout_path(st));
    cz_autofree char *data = NULL;
    size_t len;
    if (cz_read_file(path, 64u << 20, &data, &len, err) < 0)
        return -1;
    json_t *j = cz_json_parse(data, len, path, err);
    if (!j)
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "manifests"), i, e)
    {
        cz_descriptor d;
        if (cz_descriptor_from_json(e, &d, "index.json entry", NULL) == 0) {
            mark(st, live, &d, 0);
            cz_descriptor_free(&d);
        }
    }
    json_decref(j);
    return 0;
}

static void sweep_dir(const char *dir, const char *suffix, const struct digest_set *live,
                      uint64_t *bytes, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char digest[CZ_DIGEST_MAX + 16];
        size_t n = strlen(de->d_name);
        size_t sl = suffix ? strlen(suffix) : 0;
        if (suffix && (n <= sl || strcmp(de->d_name + n - sl, suffix) != 0))
            continue;
        snprintf(digest, sizeof(digest), "sha256:%.*s", (int)(n - sl), de->d_name);
        if (set_has(live, digest))
            continue;
        cz_autofree char *p = cz_xasprintf("%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) < 0)
            continue;
        if (unlink(p) == 0) {
            cz_debug("gc: removed %s", p);
            if (bytes)
                *bytes += (uint64_t)sb.st_blocks * 512;
            if (count)
                (*count)++;
        }
    }
    closedir(d);
}

int cz_store_gc(cz_store *st, uint64_t *freed_bytes, int *freed_blobs, cz_error *err)
{
    if (freed_bytes)
        *freed_bytes = 0;
    if (freed_blobs)
        *freed_blobs = 0;
    cz_autofree char *lockp = cz_xasprintf("%s/locks/gc.lock", cz_store_root(st));
    cz_autoclose int lock = cz_lock_path(lockp, 0, err);
    if (lock < 0)
        return cz_error_wrap(err, "garbage-collect the image store");
    struct digest_set live = {0};
    if (mark_roots(st, &live, err) < 0) {
        set_free(&live);
        return cz_error_wrap(err, "garbage-collect the image store");
    }
    cz_autofree char *blobs = cz_xasprintf("%s/blobs/sha256", cz_store_layout_path(st));
    sweep_dir(blobs, NULL, &live, freed_bytes, freed_blobs);
    cz_autofree char *snaps = cz_xasprintf("%s/snapshots", cz_store_root(st));
    sweep_dir(snaps, ".ext4", &live, freed_bytes, NULL);
    /* Nobody ingests while we hold the exclusive lock: leftovers are abandoned. */
    cz_autofree char *ingest = cz_xasprintf("%s/tmp/ingest", cz_store_root(st));
    DIR *d = opendir(ingest);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') {
                cz_autofree char *p = cz_xasprintf("%s/%s", ingest, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    set_free(&live);
    return 0;
}
