/* Image snapshots: ROOT/snapshots/<hex>.ext4 is the read-only ext4 image of
 * one single-platform manifest's layers, shared by every container of that
 * image. Built once, under ROOT/locks/snapshot-<hex>.lock and the store's
 * shared GC lock, into a temp file renamed into place; gc.c removes the
 * snapshots of manifests nothing reaches any more (same naming). */
#include <cz/ext4.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>

int cz_snapshot_ensure(cz_store *st, const char *manifest_digest, char **path_out, cz_error *err)
{
    if (cz_digest_validate(manifest_digest, err) < 0)
        return cz_error_wrap(err, "snapshot");
    if (!cz_str_has_prefix(manifest_digest, "sha256:"))
        return cz_error_set(err, EINVAL, "snapshot %s: only sha256 digests", manifest_digest);
    const char *hex = manifest_digest + 7;
    const char *root = cz_store_root(st);
    cz_autofree char *dir = cz_xasprintf("%s/snapshots", root);
    cz_autofree char *locks = cz_xasprintf("%s/locks", root);
    cz_autofree char *path = cz_xasprintf("%s/%s.ext4", dir, hex);
    if (cz_mkdir_p(dir, 0700, err) < 0 || cz_mkdir_p(locks, 0700, err) < 0)
        return cz_error_wrap(err, "snapshot %s", manifest_digest);
    cz_autofree char *lockp = cz_xasprintf("%s/snapshot-%s.lock", locks, hex);
    cz_autoclose int lock = cz_lock_path(lockp, 0, err);
    if (lock < 0)
        return cz_error_wrap(err, "snapshot %s", manifest_digest);
    if (cz_path_exists(path)) {
        *path_out = cz_steal_pointer(&path);
        return 0;
    }
    if (cz_store_lock_shared(st, err) < 0)
        return cz_error_wrap(err, "snapshot %s", manifest_digest);
    int r = -1;
    char *data = NULL;
    size_t len;
    cz_manifest m = {0};
    if (cz_store_read_blob(st, manifest_digest, CZ_MANIFEST_MAX, &data, &len, err) < 0 ||
        cz_manifest_parse(data, len, &m, err) < 0) {
        cz_error_wrap(err, "snapshot %s", manifest_digest);
        goto out;
    }
    uint64_t t0 = cz_now_ns();
    char label[13]; /* the manifest's short digest, as `image unpack` labels its images */
    snprintf(label, sizeof(label), "%s", hex);
    struct cz_unpack_options o = {.image = {.sync = true, .label = label}};
    if (cz_ext4_unpack_manifest(st, &m, path, &o, err) < 0) {
        cz_error_wrap(err, "snapshot %s", manifest_digest);
        goto out;
    }
    cz_debug("snapshot %s: built in %.3f s", manifest_digest, (double)(cz_now_ns() - t0) / 1e9);
    *path_out = cz_steal_pointer(&path);
    r = 0;
out:
    cz_manifest_free(&m);
    free(data);
    cz_store_unlock_shared(st);
    return r;
}
