/* Named volumes: an ext4 image and a JSON record per volume under
 * ROOT/volumes/<name>/, created and removed under ROOT/locks/volumes.lock so
 * concurrent CLIs never see half a volume. */
#include <cz/ext4.h>
#include <cz/volume.h>

#include "base/fs.h"
#include "base/util.h"
#include "oci/oci_json.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <time.h>

static bool valid_volume_name(const char *n)
{
    /* the rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
    size_t len = strlen(n);
    if (len < 2 || len > 128 || !isalnum((unsigned char)n[0]))
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static char *volume_dir(const char *root, const char *name)
{
    return cz_xasprintf("%s/volumes/%s", root, name);
}

static int check_name(const char *name, cz_error *err)
{
    if (!valid_volume_name(name))
        return cz_error_set(err, EINVAL,
                            "invalid volume name '%s': want [a-zA-Z0-9][a-zA-Z0-9_.-]+", name);
    return 0;
}

void cz_volume_free(cz_volume *v)
{
    free(v->name);
    free(v->image);
    if (v->labels)
        for (char **l = v->labels; *l; l++)
            free(*l);
    free(v->labels);
    memset(v, 0, sizeof(*v));
}

void cz_volumes_free(cz_volume *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cz_volume_free(&v[i]);
    free(v);
}

static int write_record(const char *dir, const cz_volume *v, cz_error *err)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(v->name));
    json_object_set_new(j, "format", json_string("ext4"));
    json_object_set_new(j, "image", json_string("volume.ext4"));
    json_object_set_new(j, "sizeInBytes", json_integer((json_int_t)v->size));
    json_object_set_new(j, "created", json_integer(v->created));
    json_t *labels = json_object();
    for (char **l = v->labels; l && *l; l++) {
        char *eq = strchr(*l, '=');
        cz_autofree char *k = cz_xstrndup(*l, eq ? (size_t)(eq - *l) : strlen(*l));
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    json_object_set_new(j, "labels", labels);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    cz_autofree char *path = cz_xasprintf("%s/volume.json", dir);
    int r = cz_write_file_atomic(path, text, strlen(text), 0644, err);
    free(text);
    return r;
}

static int read_record(const char *root, const char *name, cz_volume *out, cz_error *err)
{
    cz_autofree char *dir = volume_dir(root, name);
    cz_autofree char *path = cz_xasprintf("%s/volume.json", dir);
    cz_autofree char *data = NULL;
    size_t len;
    if (!cz_path_exists(path))
        return cz_error_set(err, ENOENT, "volume '%s' does not exist", name);
    if (cz_read_file(path, 1 << 20, &data, &len, err) < 0)
        return -1;
    json_t *j = cz_json_parse(data, len, path, err);
    if (!j)
        return -1;
    memset(out, 0, sizeof(*out));
    out->name = cz_xstrdup(name);
    out->image = cz_xasprintf("%s/volume.ext4", dir);
    out->size = (uint64_t)json_integer_value(json_object_get(j, "sizeInBytes"));
    out->created = (int64_t)json_integer_value(json_object_get(j, "created"));
    json_t *labels = json_object_get(j, "labels");
    out->labels = cz_xcalloc(json_object_size(labels) + 1, sizeof(char *));
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(labels, k, v)
    {
        out->labels[i++] =
            cz_xasprintf("%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
    }
    json_decref(j);
    return 0;
}

static int lock_volumes(const char *root, cz_error *err)
{
    cz_autofree char *locks = cz_xasprintf("%s/locks", root);
    if (cz_mkdir_p(locks, 0700, err) < 0)
        return -1;
    cz_autofree char *p = cz_xasprintf("%s/volumes.lock", locks);
    return cz_lock_path(p, 0, err);
}

int cz_volume_create(const char *root, const char *name, uint64_t size, const char *const *labels,
                     cz_volume *out, cz_error *err)
{
    if (check_name(name, err) < 0)
        return -1;
    size_t nl = 0;
    for (const char *const *l = labels; l && *l; l++, nl++)
        if (**l == '=' || !**l)
            return cz_error_set(err, EINVAL, "invalid volume label '%s': want key=value", *l);
    cz_autoclose int lock = lock_volumes(root, err);
    if (lock < 0)
        return cz_error_wrap(err, "create volume %s", name);
    cz_autofree char *dir = volume_dir(root, name);
    cz_autofree char *rec = cz_xasprintf("%s/volume.json", dir);
    if (cz_path_exists(rec))
        return cz_error_set(err, EEXIST, "create volume %s: it already exists", name);
    /* a directory without a record is what a crashed create left */
    if (cz_rm_rf(dir, err) < 0 || cz_mkdir_p(dir, 0700, err) < 0)
        return cz_error_wrap(err, "create volume %s", name);
    cz_volume v = {.name = cz_xstrdup(name),
                   .size = size ? size : CZ_VOLUME_DEFAULT_SIZE,
                   .created = time(NULL)};
    v.image = cz_xasprintf("%s/volume.ext4", dir);
    v.labels = cz_xcalloc(nl + 1, sizeof(char *));
    for (size_t i = 0; i < nl; i++)
        v.labels[i] = cz_xstrdup(labels[i]);
    char label[17];
    snprintf(label, sizeof(label), "%s", name);
    if (cz_ext4_create_empty(v.image, v.size, label, err) < 0 || write_record(dir, &v, err) < 0) {
        cz_rm_rf(dir, NULL);
        cz_volume_free(&v);
        return cz_error_wrap(err, "create volume %s", name);
    }
    if (out)
        *out = v;
    else
        cz_volume_free(&v);
    return 0;
}

int cz_volume_get(const char *root, const char *name, cz_volume *out, cz_error *err)
{
    if (check_name(name, err) < 0)
        return -1;
    return read_record(root, name, out, err);
}

static int cmp_volume(const void *a, const void *b)
{
    return strcmp(((const cz_volume *)a)->name, ((const cz_volume *)b)->name);
}

int cz_volume_list(const char *root, cz_volume **out, size_t *n, cz_error *err)
{
    *out = NULL;
    *n = 0;
    cz_autofree char *dir = cz_xasprintf("%s/volumes", root);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : cz_error_errno(err, errno, "list volumes in %s", dir);
    cz_volume *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!valid_volume_name(de->d_name))
            continue;
        cz_volume one;
        if (read_record(root, de->d_name, &one, NULL) < 0)
            continue; /* unfinished create */
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            v = cz_xrealloc(v, cap * sizeof(*v));
        }
        v[cnt++] = one;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_volume);
    *out = v;
    *n = cnt;
    return 0;
}

int cz_volume_remove(const char *root, const char *name, cz_error *err)
{
    if (check_name(name, err) < 0)
        return -1;
    cz_autoclose int lock = lock_volumes(root, err);
    if (lock < 0)
        return cz_error_wrap(err, "remove volume %s", name);
    cz_autofree char *dir = volume_dir(root, name);
    cz_autofree char *rec = cz_xasprintf("%s/volume.json", dir);
    if (!cz_path_exists(rec))
        return cz_error_set(err, ENOENT, "remove volume %s: no such volume", name);
    /* the record goes first: a crash midway leaves an unfinished volume, not a broken one */
    if (unlink(rec) < 0)
        return cz_error_errno(err, errno, "remove volume %s", name);
    if (cz_rm_rf(dir, err) < 0)
        return cz_error_wrap(err, "remove volume %s", name);
    return 0;
}
