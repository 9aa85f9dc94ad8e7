/* Container records: JSON config and state files under ROOT/containers/<id>,
 * written atomically; names unique under a lock. */
#include <cz/container.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD_MAX (1u << 20)

const char *cz_container_status_name(enum cz_container_status s)
{
    switch (s) {
    case CZ_STATUS_CREATED:
        return "created";
    case CZ_STATUS_RUNNING:
        return "running";
    case CZ_STATUS_STOPPED:
        return "stopped";
    case CZ_STATUS_FAILED:
        return "failed";
    }
    return "unknown";
}

char *cz_container_dir(const char *root, const char *id)
{
    return cz_xasprintf("%s/containers/%s", root, id);
}

static json_t *strv_json(char **v)
{
    json_t *a = json_array();
    for (char **p = v; p && *p; p++)
        json_array_append_new(a, json_string(*p));
    return a;
}

static char **json_strv(json_t *a)
{
    if (!json_is_array(a))
        return NULL;
    char **v = cz_xcalloc(json_array_size(a) + 1, sizeof(char *));
    size_t k = 0, i;
    json_t *x;
    json_array_foreach(a, i, x) if (json_is_string(x)) v[k++] = cz_xstrdup(json_string_value(x));
    return v;
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? cz_xstrdup(s) : NULL;
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *config_json(const cz_container_config *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "image", opt_str(c->image));
    json_object_set_new(o, "imageDigest", opt_str(c->image_digest));
    json_object_set_new(o, "platform", opt_str(c->platform));
    json_object_set_new(o, "args", strv_json(c->args));
    json_object_set_new(o, "env", strv_json(c->env));
    json_object_set_new(o, "workdir", opt_str(c->workdir));
    json_object_set_new(o, "user", opt_str(c->user));
    json_object_set_new(o, "hostname", opt_str(c->hostname));
    json_object_set_new(o, "dns", strv_json(c->dns));
    json_object_set_new(o, "labels", strv_json(c->labels));
    json_object_set_new(o, "tty", json_boolean(c->tty));
    json_object_set_new(o, "interactive", json_boolean(c->interactive));
    json_object_set_new(o, "readOnly", json_boolean(c->read_only));
    json_object_set_new(o, "init", json_boolean(c->init));
    json_object_set_new(o, "autoRemove", json_boolean(c->auto_remove));
    json_object_set_new(o, "cpus", json_integer(c->cpus));
    if (c->nano_cpus)
        json_object_set_new(o, "nanoCpus", json_integer((json_int_t)c->nano_cpus));
    json_object_set_new(o, "memoryMiB", json_integer((json_int_t)c->memory_mib));
    if (c->disk_bytes)
        json_object_set_new(o, "diskBytes", json_integer((json_int_t)c->disk_bytes));
    json_object_set_new(o, "network", opt_str(c->network));
    json_object_set_new(o, "ports", strv_json(c->ports));
    if (c->publish)
        json_object_set_new(o, "publish", strv_json(c->publish));
    json_t *mounts = json_array();
    for (size_t i = 0; i < c->n_mounts; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "type", opt_str(c->mounts[i].type));
        json_object_set_new(m, "source", opt_str(c->mounts[i].source));
        json_object_set_new(m, "destination", opt_str(c->mounts[i].destination));
        json_object_set_new(m, "readonly", json_boolean(c->mounts[i].readonly));
        if (c->mounts[i].options)
            json_object_set_new(m, "options", json_string(c->mounts[i].options));
        json_array_append_new(mounts, m);
    }
    json_object_set_new(o, "mounts", mounts);
    json_object_set_new(o, "kernel", opt_str(c->kernel));
    if (c->stop_signal)
        json_object_set_new(o, "stopSignal", json_string(c->stop_signal));
    if (c->stop_timeout_set)
        json_object_set_new(o, "stopTimeout", json_integer(c->stop_timeout));
    json_object_set_new(o, "created", json_integer(c->created));
    return o;
}

static int config_from_json(json_t *o, cz_container_config *c, cz_error *err)
{
    memset(c, 0, sizeof(*c));
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!id || strlen(id) != CZ_CONTAINER_ID_LEN)
        return cz_error_set(err, EINVAL, "container record without a valid id");
    memcpy(c->id, id, CZ_CONTAINER_ID_LEN + 1);
    c->name = jstr(o, "name");
    c->image = jstr(o, "image");
    c->image_digest = jstr(o, "imageDigest");
    c->platform = jstr(o, "platform");
    c->args = json_strv(json_object_get(o, "args"));
    c->env = json_strv(json_object_get(o, "env"));
    c->workdir = jstr(o, "workdir");
    c->user = jstr(o, "user");
    c->hostname = jstr(o, "hostname");
    c->dns = json_strv(json_object_get(o, "dns"));
    c->labels = json_strv(json_object_get(o, "labels"));
    c->tty = json_is_true(json_object_get(o, "tty"));
    c->interactive = json_is_true(json_object_get(o, "interactive"));
    c->read_only = json_is_true(json_object_get(o, "readOnly"));
    c->init = json_is_true(json_object_get(o, "init"));
    c->auto_remove = json_is_true(json_object_get(o, "autoRemove"));
    c->cpus = (unsigned)json_integer_value(json_object_get(o, "cpus"));
    c->nano_cpus = (uint64_t)json_integer_value(json_object_get(o, "nanoCpus"));
    c->memory_mib = (uint64_t)json_integer_value(json_object_get(o, "memoryMiB"));
    c->disk_bytes = (uint64_t)json_integer_value(json_object_get(o, "diskBytes"));
    c->network = jstr(o, "network");
    c->ports = json_strv(json_object_get(o, "ports"));
    c->publish = json_strv(json_object_get(o, "publish"));
    json_t *mounts = json_object_get(o, "mounts");
    size_t n = json_array_size(mounts);
    c->mounts = cz_xcalloc(n + 1, sizeof(struct cz_mount_spec));
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(mounts, i);
        c->mounts[i].type = jstr(m, "type");
        c->mounts[i].source = jstr(m, "source");
        c->mounts[i].destination = jstr(m, "destination");
        c->mounts[i].readonly = json_is_true(json_object_get(m, "readonly"));
        c->mounts[i].options = jstr(m, "options");
    }
    c->n_mounts = n;
    c->kernel = jstr(o, "kernel");
    c->stop_signal = jstr(o, "stopSignal");
    json_t *timeout = json_object_get(o, "stopTimeout");
    c->stop_timeout_set = json_is_integer(timeout);
    c->stop_timeout = (int)json_integer_value(timeout);
    c->created = (int64_t)json_integer_value(json_object_get(o, "created"));
    if (!c->name)
        return cz_error_set(err, EINVAL, "container %.12s: record without a name", c->id);
    return 0;
}

void cz_container_config_free(cz_container_config *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->image);
    free(c->image_digest);
    free(c->platform);
    strv_free(c->args);
    strv_free(c->env);
    free(c->workdir);
    free(c->user);
    free(c->hostname);
    strv_free(c->dns);
    strv_free(c->labels);
    free(c->network);
    strv_free(c->ports);
    strv_free(c->publish);
    for (size_t i = 0; i < c->n_mounts; i++) {
        free(c->mounts[i].type);
        free(c->mounts[i].source);
        free(c->mounts[i].destination);
        free(c->mounts[i].options);
    }
    free(c->mounts);
    free(c->kernel);
    free(c->stop_signal);
    memset(c, 0, sizeof(*c));
}

void cz_container_state_free(cz_container_state *st)
{
    if (!st)
        return;
    free(st->error);
    memset(st, 0, sizeof(*st));
}

/* The state file is kept at least STATE_ROOM bytes (JSON, then spaces): room for an
 * overwrite in place when the filesystem is full (overwrite_json). */
#define STATE_ROOM 4096

static int write_json(const char *path, json_t *j, size_t room, cz_error *err)
{
    cz_autofree char *text = json_dumps(j, JSON_INDENT(2));
    if (!text)
        return cz_error_set(err, ENOMEM, "serialize %s", path);
    size_t n = strlen(text);
    if (n < room) {
        text = cz_xrealloc(text, room);
        memset(text + n, ' ', room - n - 1);
        text[room - 1] = '\n';
        n = room;
    }
    return cz_write_file_atomic(path, text, n, 0644, err);
}

static int overwrite_json(const char *path, json_t *j, cz_error *err)
{
    cz_autofree char *text = json_dumps(j, JSON_INDENT(2));
    cz_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (!text || fd < 0 || fstat(fd, &sb) < 0 || (size_t)sb.st_size < strlen(text) ||
        sb.st_size > RECORD_MAX)
        return cz_error_set(err, ENOSPC, "write %s: No space left on device", path);
    size_t len = (size_t)sb.st_size, n = strlen(text);
    cz_autofree char *buf = cz_xmalloc(len);
    memcpy(buf, text, n);
    memset(buf + n, ' ', len - n);
    if (pwrite(fd, buf, len, 0) != (ssize_t)len || fsync(fd) < 0)
        return cz_error_errno(err, errno, "write %s", path);
    return 0;
}

static json_t *read_json(const char *path, cz_error *err)
{
    cz_autofree char *data = NULL;
    size_t len;
    if (cz_read_file(path, RECORD_MAX, &data, &len, err) < 0)
        return NULL;
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        cz_error_set(err, EINVAL, "%s is corrupt: %s", path, je.text);
        return NULL;
    }
    return j;
}

int cz_container_save_state(const char *root, const char *id, const cz_container_state *st,
                            cz_error *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(cz_container_status_name(st->status)));
    json_object_set_new(o, "runtimePid", json_integer(st->runtime_pid));
    json_object_set_new(o, "runtimeStart", json_integer((json_int_t)st->runtime_start));
    json_object_set_new(o, "exitCode", json_integer(st->exit_code));
    json_object_set_new(o, "startedAt", json_integer(st->started_at));
    json_object_set_new(o, "finishedAt", json_integer(st->finished_at));
    json_object_set_new(o, "error", opt_str(st->error));
    cz_autofree char *dir = cz_container_dir(root, id);
    cz_autofree char *path = cz_xasprintf("%s/state.json", dir);
    cz_error e = {0};
    int r = write_json(path, o, STATE_ROOM, &e);
    /* A full filesystem has no block for the new file: the state must still tell the
     * truth (a container that ended while the host's disk was full), so overwrite the
     * old file's own bytes, padded with spaces, which needs no new block. */
    if (r < 0 && (e.code == ENOSPC || e.code == EDQUOT))
        r = overwrite_json(path, o, &e);
    json_decref(o);
    if (r < 0)
        *err = e;
    return r;
}

int cz_container_save_config(const char *root, const cz_container_config *c, cz_error *err)
{
    cz_autofree char *dir = cz_container_dir(root, c->id);
    cz_autofree char *path = cz_xasprintf("%s/config.json", dir);
    if (access(path, F_OK) < 0)
        return cz_error_errno(err, errno, "container %s", c->name);
    json_t *o = config_json(c);
    int r = write_json(path, o, 0, err);
    json_decref(o);
    return r;
}

static int load_state(const char *dir, cz_container_state *st, cz_error *err)
{
    memset(st, 0, sizeof(*st));
    cz_autofree char *path = cz_xasprintf("%s/state.json", dir);
    json_t *o = read_json(path, err);
    if (!o)
        return -1;
    const char *s = json_string_value(json_object_get(o, "status"));
    st->status = !s                       ? CZ_STATUS_FAILED
                 : !strcmp(s, "created")  ? CZ_STATUS_CREATED
                 : !strcmp(s, "running")  ? CZ_STATUS_RUNNING
                 : !strcmp(s, "stopped")  ? CZ_STATUS_STOPPED
                                          : CZ_STATUS_FAILED;
    st->runtime_pid = (pid_t)json_integer_value(json_object_get(o, "runtimePid"));
    st->runtime_start = (uint64_t)json_integer_value(json_object_get(o, "runtimeStart"));
    st->exit_code = (int)json_integer_value(json_object_get(o, "exitCode"));
    st->started_at = (int64_t)json_integer_value(json_object_get(o, "startedAt"));
    st->finished_at = (int64_t)json_integer_value(json_object_get(o, "finishedAt"));
    st->error = jstr(o, "error");
    json_decref(o);
    return 0;
}

static int load_config(const char *dir, cz_container_config *c, cz_error *err)
{
    cz_autofree char *path = cz_xasprintf("%s/config.json", dir);
    json_t *o = read_json(path, err);
    if (!o)
        return -1;
    int r = config_from_json(o, c, err);
    json_decref(o);
    if (r < 0)
        cz_container_config_free(c);
    return r;
}

char **cz_container_list(const char *root, cz_error *err)
{
    cz_autofree char *dir = cz_xasprintf("%s/containers", root);
    DIR *d = opendir(dir);
    size_t n = 0, cap = 16;
    char **v = cz_xcalloc(cap + 1, sizeof(char *));
    if (!d) {
        if (errno == ENOENT)
            return v;
        free(v);
        cz_error_errno(err, errno, "list containers in %s", dir);
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strlen(de->d_name) != CZ_CONTAINER_ID_LEN)
            continue;
        if (n == cap) {
            cap *= 2;
            v = cz_xrealloc(v, (cap + 1) * sizeof(char *));
        }
        v[n++] = cz_xstrdup(de->d_name);
        v[n] = NULL;
    }
    closedir(d);
    return v;
}

int cz_container_load(const char *root, const char *ref, cz_container_config *c,
                      cz_container_state *st, cz_error *err)
{
    char **ids = cz_container_list(root, err);
    if (!ids)
        return -1;
    const char *found = NULL;
    bool ambiguous = false;
    size_t reflen = strlen(ref);
    /* exact id, then name, then unique id prefix (docker's order) */
    for (char **p = ids; *p && !found; p++)
        if (!strcmp(*p, ref))
            found = *p;
    for (char **p = ids; *p && !found; p++) {
        cz_autofree char *dir = cz_container_dir(root, *p);
        cz_container_config tmp;
        if (load_config(dir, &tmp, NULL) == 0) {
            if (!strcmp(tmp.name, ref))
                found = *p;
            cz_container_config_free(&tmp);
        }
    }
    for (char **p = ids; *p && !found && reflen >= 1; p++) {
        if (strncmp(*p, ref, reflen) != 0)
            continue;
        for (char **q = p + 1; *q; q++)
            ambiguous |= !strncmp(*q, ref, reflen);
        found = *p;
    }
    int r = 0;
    if (!found)
        r = cz_error_set(err, ENOENT, "no such container: %s", ref);
    else if (ambiguous)
        r = cz_error_set(err, EINVAL, "container ID prefix %s is ambiguous", ref);
    else {
        cz_autofree char *dir = cz_container_dir(root, found);
        if (load_config(dir, c, err) < 0 || (st && load_state(dir, st, err) < 0)) {
            cz_container_config_free(c);
            r = cz_error_wrap(err, "container %.12s", found);
        }
    }
    strv_free(ids);
    return r;
}

static const char *adjectives[] = {"brave", "calm", "eager", "fancy", "gentle", "happy", "jolly",
                                   "keen", "lucid", "merry", "nimble", "proud", "quiet", "swift",
                                   "tender", "witty"};
static const char *nouns[] = {"albatross", "badger", "cheetah", "dolphin", "falcon", "gecko",
                              "heron", "ibis", "jaguar", "koala", "lynx", "marmot", "otter",
                              "puffin", "quokka", "raven"};

static bool valid_name(const char *n)
{
    /* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
    size_t len = strlen(n);
    if (len < 2 || len > 128 || !isalnum((unsigned char)n[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && !strchr("_.-", n[i]))
            return false;
    return true;
}

static int write_new_record(const char *root, cz_container_config *c, cz_error *err)
{
    if (!c->created)
        c->created = (int64_t)time(NULL);
    cz_autofree char *dir = cz_container_dir(root, c->id);
    if (mkdir(dir, 0700) < 0)
        return cz_error_errno(err, errno, "create %s", dir);
    json_t *o = config_json(c);
    cz_autofree char *path = cz_xasprintf("%s/config.json", dir);
    int r = write_json(path, o, 0, err);
    json_decref(o);
    if (r == 0) {
        cz_container_state st = {.status = CZ_STATUS_CREATED};
        r = cz_container_save_state(root, c->id, &st, err);
    }
    if (r < 0)
        cz_rm_rf(dir, NULL);
    return r;
}

int cz_container_create(const char *root, cz_container_config *c, cz_error *err)
{
    if (c->name && !valid_name(c->name))
        return cz_error_set(err, EINVAL,
                            "invalid container name '%s': want [a-zA-Z0-9][a-zA-Z0-9_.-]+",
                            c->name);
    cz_autofree char *locks = cz_xasprintf("%s/locks", root);
    cz_autofree char *containers = cz_xasprintf("%s/containers", root);
    if (cz_mkdir_p(locks, 0700, err) < 0 || cz_mkdir_p(containers, 0711, err) < 0)
        return -1;
    cz_autofree char *lockp = cz_xasprintf("%s/containers.lock", locks);
    cz_autoclose int lock = cz_lock_path(lockp, 0, err);
    if (lock < 0)
        return -1;
    char **ids = cz_container_list(root, err);
    if (!ids)
        return -1;
    /* names in use */
    size_t n = 0;
    for (char **p = ids; *p; p++)
        n++;
    char **names = cz_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        cz_autofree char *dir = cz_container_dir(root, ids[i]);
        cz_container_config tmp;
        if (load_config(dir, &tmp, NULL) == 0) {
            names[i] = cz_steal_pointer(&tmp.name);
            cz_container_config_free(&tmp);
        }
    }
    int r = -1;
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
        cz_error_errno(err, errno, "generate a container id");
        goto out;
    }
    for (int i = 0; i < 32; i++)
        snprintf(c->id + 2 * i, 3, "%02x", rnd[i]);
    if (!c->name) {
        for (int attempt = 0; attempt < 64 && !c->name; attempt++) {
            char *cand = cz_xasprintf("%s_%s", adjectives[(rnd[0] + attempt) % 16],
                                      nouns[(rnd[1] + attempt * 7) % 16]);
            if (attempt >= 16) {
                char *t = cz_xasprintf("%s%d", cand, attempt);
                free(cand);
                cand = t;
            }
            bool used = false;
            for (size_t i = 0; i < n; i++)
                used |= names[i] && !strcmp(names[i], cand);
            if (!used)
                c->name = cand;
            else
                free(cand);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            if (names[i] && !strcmp(names[i], c->name)) {
                cz_error_set(err, EEXIST, "the container name \"%s\" is already in use by %.12s",
                             c->name, ids[i]);
                goto out;
            }
        }
    }
    r = write_new_record(root, c, err);
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    strv_free(ids);
    return r;
}

/* The busy lock of container id (label names it in a refusal). */
static int lock_busy(const char *root, const char *id, const char *label, const char *doing,
                     cz_error *err)
{
    cz_autofree char *dir = cz_container_dir(root, id);
    cz_autofree char *path = cz_xasprintf("%s/busy.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == ENOENT)
            return cz_error_set(err, ENOENT, "no such container: %s", label);
        return cz_error_errno(err, errno, "open lock %s", path);
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        char what[256] = "";
        if (e == EWOULDBLOCK) {
            ssize_t n = pread(fd, what, sizeof(what) - 1, 0);
            what[n > 0 ? n : 0] = 0;
            what[strcspn(what, "\n")] = 0;
        }
        close(fd);
        if (e == EWOULDBLOCK)
            return cz_error_set(err, EBUSY, "container %s is busy: %s", label,
                                what[0] ? what : "another command is changing it");
        return cz_error_errno(err, e, "lock %s", path);
    }
    /* removed meanwhile (the lock was taken on the removed directory's file)? */
    struct stat a, b;
    if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
        close(fd);
        return cz_error_set(err, ENOENT, "no such container: %s", label);
    }
    if (doing && (ftruncate(fd, 0) < 0 || pwrite(fd, doing, strlen(doing), 0) < 0)) {
        int e = errno;
        close(fd);
        return cz_error_errno(err, e, "write lock %s", path);
    }
    return fd;
}

int cz_container_lock_busy(const char *root, const cz_container_config *c, const char *doing,
                           cz_error *err)
{
    return lock_busy(root, c->id, c->name, doing, err);
}

int cz_container_remove(const char *root, const char *id, cz_error *err)
{
    cz_autofree char *lockp = cz_xasprintf("%s/locks/containers.lock", root);
    cz_autoclose int lock = cz_lock_path(lockp, 0, err);
    if (lock < 0)
        return -1;
    /* not while a copy or a start holds it */
    char label[16];
    snprintf(label, sizeof(label), "%.12s", id);
    cz_error e = {0};
    cz_autoclose int busy = lock_busy(root, id, label, "it is being removed", &e);
    if (busy < 0 && e.code != ENOENT) {
        *err = e;
        return -1;
    }
    cz_autofree char *dir = cz_container_dir(root, id);
    /* Rename first so a half-removed container is never listed. */
    cz_autofree char *trash = cz_xasprintf("%s/containers/.removing-%s", root, id);
    if (rename(dir, trash) < 0)
        return cz_error_errno(err, errno, "remove container %.12s", id);
    /* what a crashed runtime left in the run directory goes too */
    cz_autofree char *run = cz_container_run_dir(id);
    cz_rm_rf(run, NULL);
    cz_autofree char *maint = cz_container_maintenance_dir(id);
    cz_rm_rf(maint, NULL);
    return cz_rm_rf(trash, err);
}

uint64_t cz_proc_start_time(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *data = NULL;
    size_t len;
    if (cz_read_file(path, 4096, &data, &len, NULL) < 0)
        return 0;
    /* field 22, counted after the ')' that ends the command name */
    char *p = strrchr(data, ')');
    uint64_t start = 0;
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (p)
        start = strtoull(p, NULL, 10);
    free(data);
    return start;
}

bool cz_port_binding_parse(const char *s, struct cz_port_binding *b)
{
    char proto[4] = "tcp";
    int end = 0;
    memset(b, 0, sizeof(*b));
    snprintf(b->addr, sizeof(b->addr), "127.0.0.1");
    if (sscanf(s, "%15[0-9.]:%u:%u%n", b->addr, &b->host, &b->container, &end) != 3) {
        b->host = 0; /* IP::CONTAINER */
        if (sscanf(s, "%15[0-9.]::%u%n", b->addr, &b->container, &end) != 2) {
            snprintf(b->addr, sizeof(b->addr), "127.0.0.1"); /* HOST:CONTAINER */
            if (sscanf(s, "%u:%u%n", &b->host, &b->container, &end) != 2)
                return false;
        }
    }
    if (s[end] && !(sscanf(s + end, "/%3[a-z]", proto) == 1 && strlen(s + end) == 1 + strlen(proto)))
        return false;
    struct in_addr a;
    if ((strcmp(proto, "tcp") && strcmp(proto, "udp")) || inet_pton(AF_INET, b->addr, &a) != 1 ||
        b->host > 65535 || b->container < 1 || b->container > 65535)
        return false;
    b->udp = !strcmp(proto, "udp");
    return true;
}

char *cz_container_paused_path(const char *id)
{
    cz_autofree char *run = cz_container_run_dir(id);
    return cz_xasprintf("%s/paused", run);
}

char *cz_container_paused(const char *id)
{
    cz_autofree char *path = cz_container_paused_path(id);
    char *text = NULL;
    size_t len = 0;
    if (cz_read_file(path, 4096, &text, &len, NULL) < 0)
        return NULL;
    return text;
}

bool cz_container_runtime_alive(const cz_container_state *st)
{
    if (st->runtime_pid <= 0)
        return false;
    uint64_t start = cz_proc_start_time(st->runtime_pid);
    return start != 0 && (st->runtime_start == 0 || start == st->runtime_start);
}
