/* ocirt: parse and validate an OCI runtime spec (config.json) into plain C
 * structures, so that the forked child never touches JSON. Every count and
 * string is bounded; every error names the field that is wrong. */
#include "ocirt_internal.h"

#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define MAX_STR 65536
#define MAX_LIST 4096

static const char *const cap_names[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",            "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int cz_ocirt_cap_from_name(const char *name)
{
    for (size_t i = 0; i < CZ_ARRAY_SIZE(cap_names); i++)
        if (strcmp(name, cap_names[i]) == 0)
            return (int)i;
    return -1;
}

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static const char *const ns_names[CZ_OCIRT_NS_COUNT] = {
    [CZ_OCIRT_NS_PID] = "pid",   [CZ_OCIRT_NS_NET] = "network", [CZ_OCIRT_NS_MOUNT] = "mount",
    [CZ_OCIRT_NS_IPC] = "ipc",   [CZ_OCIRT_NS_UTS] = "uts",     [CZ_OCIRT_NS_USER] = "user",
    [CZ_OCIRT_NS_CGROUP] = "cgroup",
};

const char *cz_ocirt_ns_name(int ns)
{
    return ns_names[ns];
}

/* ---- small JSON accessors that fail with the field's name ---- */

static int get_string(json_t *o, const char *key, const char *where, bool required, char **out,
                      cz_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return cz_error_set(err, EINVAL, "invalid spec: %s%s is required", where, key);
        return 0;
    }
    if (!json_is_string(v))
        return cz_error_set(err, EINVAL, "invalid spec: %s%s must be a string", where, key);
    size_t n = json_string_length(v);
    if (n > MAX_STR || memchr(json_string_value(v), '\0', n))
        return cz_error_set(err, EINVAL, "invalid spec: %s%s is too long or has a NUL byte",
                            where, key);
    *out = cz_xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(json_t *o, const char *key, const char *where, bool *out, cz_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return cz_error_set(err, EINVAL, "invalid spec: %s%s must be true or false", where, key);
    *out = json_is_true(v);
    return 0;
}

/* An integer within [min, max]; *present tells whether it was there. */
static int get_int(json_t *o, const char *key, const char *where, int64_t min, int64_t max,
                   int64_t *out, bool *present, cz_error *err)
{
    if (present)
        *present = false;
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return cz_error_set(err, EINVAL, "invalid spec: %s%s must be an integer", where, key);
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return cz_error_set(err, EINVAL, "invalid spec: %s%s=%lld is out of range [%lld, %lld]",
                            where, key, (long long)n, (long long)min, (long long)max);
    *out = n;
    if (present)
        *present = true;
    return 0;
}

/* Unsigned 64-bit values (rlimits, seccomp args) may exceed json_int_t: jansson
 * gives a real for those, which we refuse unless it is exact. */
static int get_u64(json_t *v, const char *what, uint64_t *out, cz_error *err)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= 0 && d <= 18446744073709551615.0 && d == (double)(uint64_t)d) {
            *out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
            return 0;
        }
    }
    return cz_error_set(err, EINVAL, "invalid spec: %s must be a non-negative integer", what);
}

/* A string array into a NULL-terminated char** (may be empty). */
static int get_strv(json_t *o, const char *key, const char *where, size_t max, char ***out,
                    size_t *count, cz_error *err)
{
    *out = NULL;
    if (count)
        *count = 0;
    json_t *a = json_object_get(o, key);
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return cz_error_set(err, EINVAL, "invalid spec: %s%s must be an array", where, key);
    size_t n = json_array_size(a);
    if (n > max)
        return cz_error_set(err, EINVAL, "invalid spec: %s%s has %zu entries (at most %zu)",
                            where, key, n, max);
    char **v = cz_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(a, i);
        if (!json_is_string(s) || json_string_length(s) > MAX_STR ||
            memchr(json_string_value(s), '\0', json_string_length(s))) {
            cz_ocirt_strv_free(v);
            return cz_error_set(err, EINVAL, "invalid spec: %s%s[%zu] must be a string", where,
                                key, i);
        }
        v[i] = cz_xstrdup(json_string_value(s));
    }
    *out = v;
    if (count)
        *count = n;
    return 0;
}

void cz_ocirt_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Whether a path has a ".." component. */
static bool has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")); s += 2) {
        bool starts = s == p || s[-1] == '/';
        bool ends = s[2] == '\0' || s[2] == '/';
        if (starts && ends)
            return true;
    }
    return false;
}

/* Paths inside the container: absolute, no "..", bounded. */
static int check_container_path(const char *p, const char *what, cz_error *err)
{
    if (p[0] != '/')
        return cz_error_set(err, EINVAL, "invalid spec: %s '%s' must be an absolute path", what, p);
    if (strlen(p) >= PATH_MAX)
        return cz_error_set(err, EINVAL, "invalid spec: %s is too long", what);
    if (has_dotdot(p))
        return cz_error_set(err, EINVAL, "invalid spec: %s '%.256s' must not contain '..'", what,
                            p);
    return 0;
}

/* ---- process ---- */

static int parse_caps(json_t *c, struct cz_ocirt_caps *caps, cz_error *err)
{
    if (!c || json_is_null(c))
        return 0;
    if (!json_is_object(c))
        return cz_error_set(err, EINVAL, "invalid spec: process.capabilities must be an object");
    caps->present = true;
    static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted",
                                       "ambient"};
    uint64_t *dst[] = {&caps->bounding, &caps->effective, &caps->inheritable, &caps->permitted,
                       &caps->ambient};
    for (size_t i = 0; i < 5; i++) {
        json_t *a = json_object_get(c, sets[i]);
        if (!a || json_is_null(a))
            continue;
        if (!json_is_array(a) || json_array_size(a) > 256)
            return cz_error_set(err, EINVAL,
                                "invalid spec: process.capabilities.%s must be an array of names",
                                sets[i]);
        size_t k;
        json_t *v;
        json_array_foreach(a, k, v)
        {
            const char *name = json_string_value(v);
            if (!name)
                return cz_error_set(err, EINVAL,
                                    "invalid spec: process.capabilities.%s[%zu] must be a string",
                                    sets[i], k);
            int cap = cz_ocirt_cap_from_name(name);
            if (cap < 0)
                return cz_error_set(err, EINVAL,
                                    "invalid spec: process.capabilities.%s: unknown capability "
                                    "'%.64s'",
                                    sets[i], name);
            *dst[i] |= 1ull << cap;
        }
    }
    return 0;
}

static int parse_process(json_t *p, struct cz_ocirt_proc *proc, cz_error *err)
{
    if (!json_is_object(p))
        return cz_error_set(err, EINVAL, "invalid spec: process must be an object");
    size_t n;
    if (get_strv(p, "args", "process.", MAX_LIST, &proc->args, &n, err) < 0)
        return -1;
    if (n == 0 || proc->args[0][0] == '\0')
        return cz_error_set(err, EINVAL, "invalid spec: process.args must not be empty");
    if (get_strv(p, "env", "process.", MAX_LIST, &proc->env, &n, err) < 0)
        return -1;
    if (!proc->env)
        proc->env = cz_xcalloc(1, sizeof(char *));
    for (size_t i = 0; proc->env[i]; i++) {
        const char *eq = strchr(proc->env[i], '=');
        if (!eq || eq == proc->env[i])
            return cz_error_set(err, EINVAL,
                                "invalid spec: process.env[%zu] '%.64s' is not KEY=VALUE", i,
                                proc->env[i]);
    }
    if (get_string(p, "cwd", "process.", false, &proc->cwd, err) < 0)
        return -1;
    if (!proc->cwd)
        proc->cwd = cz_xstrdup("/");
    if (check_container_path(proc->cwd, "process.cwd", err) < 0)
        return -1;
    if (get_bool(p, "terminal", "process.", &proc->terminal, err) < 0 ||
        get_bool(p, "noNewPrivileges", "process.", &proc->no_new_privileges, err) < 0)
        return -1;

    json_t *cs = json_object_get(p, "consoleSize");
    if (cs && !json_is_null(cs)) {
        int64_t h = 0, w = 0;
        if (!json_is_object(cs))
            return cz_error_set(err, EINVAL, "invalid spec: process.consoleSize must be an object");
        if (get_int(cs, "height", "process.consoleSize.", 0, 65535, &h, NULL, err) < 0 ||
            get_int(cs, "width", "process.consoleSize.", 0, 65535, &w, NULL, err) < 0)
            return -1;
        proc->console_rows = (uint32_t)h;
        proc->console_cols = (uint32_t)w;
    }

    json_t *u = json_object_get(p, "user");
    if (u && !json_is_null(u)) {
        if (!json_is_object(u))
            return cz_error_set(err, EINVAL, "invalid spec: process.user must be an object");
        int64_t v = 0;
        bool present;
        if (get_int(u, "uid", "process.user.", 0, UINT32_MAX - 1, &v, NULL, err) < 0)
            return -1;
        proc->user.uid = (uint32_t)v;
        v = 0;
        if (get_int(u, "gid", "process.user.", 0, UINT32_MAX - 1, &v, NULL, err) < 0)
            return -1;
        proc->user.gid = (uint32_t)v;
        if (get_int(u, "umask", "process.user.", 0, 0777, &v, &present, err) < 0)
            return -1;
        proc->user.has_umask = present;
        proc->user.umask = present ? (uint32_t)v : 0;
        json_t *g = json_object_get(u, "additionalGids");
        if (g && !json_is_null(g)) {
            if (!json_is_array(g) || json_array_size(g) > 65536)
                return cz_error_set(err, EINVAL,
                                    "invalid spec: process.user.additionalGids must be an array");
            proc->user.n_additional_gids = json_array_size(g);
            proc->user.additional_gids =
                cz_xcalloc(proc->user.n_additional_gids + 1, sizeof(uint32_t));
            size_t i;
            json_t *x;
            json_array_foreach(g, i, x)
            {
                if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                    json_integer_value(x) >= UINT32_MAX)
                    return cz_error_set(
                        err, EINVAL,
                        "invalid spec: process.user.additionalGids[%zu] must be a group id", i);
                proc->user.additional_gids[i] = (uint32_t)json_integer_value(x);
            }
        }
    }

    json_t *rl = json_object_get(p, "rlimits");
    if (rl && !json_is_null(rl)) {
        if (!json_is_array(rl) || json_array_size(rl) > 64)
            return cz_error_set(err, EINVAL, "invalid spec: process.rlimits must be an array");
        proc->rlimits = cz_xcalloc(json_array_size(rl) + 1, sizeof(*proc->rlimits));
        size_t i;
        json_t *r;
        json_array_foreach(rl, i, r)
        {
            const char *type = json_is_object(r) ? json_string_value(json_object_get(r, "type"))
                                                 : NULL;
            if (!type)
                return cz_error_set(err, EINVAL,
                                    "invalid spec: process.rlimits[%zu].type is required", i);
            int res = -1;
            for (size_t k = 0; k < CZ_ARRAY_SIZE(rlimit_names); k++)
                if (strcmp(type, rlimit_names[k].name) == 0)
                    res = rlimit_names[k].resource;
            if (res < 0)
                return cz_error_set(err, EINVAL, "invalid spec: process.rlimits: unknown type '%.64s'",
                                    type);
            for (size_t k = 0; k < proc->n_rlimits; k++)
                if (proc->rlimits[k].resource == res)
                    return cz_error_set(err, EINVAL,
                                        "invalid spec: process.rlimits: %s is given twice", type);
            struct cz_ocirt_rlimit *x = &proc->rlimits[proc->n_rlimits++];
            x->resource = res;
            char what[96];
            snprintf(what, sizeof(what), "process.rlimits[%zu].soft", i);
            if (get_u64(json_object_get(r, "soft"), what, &x->soft, err) < 0)
                return -1;
            snprintf(what, sizeof(what), "process.rlimits[%zu].hard", i);
            if (get_u64(json_object_get(r, "hard"), what, &x->hard, err) < 0)
                return -1;
            if (x->soft > x->hard)
                return cz_error_set(err, EINVAL,
                                    "invalid spec: process.rlimits: %s soft limit exceeds hard",
                                    type);
        }
    }

    if (parse_caps(json_object_get(p, "capabilities"), &proc->caps, err) < 0)
        return -1;
    int64_t adj;
    if (get_int(p, "oomScoreAdj", "process.", -1000, 1000, &adj, &proc->has_oom_score_adj, err) < 0)
        return -1;
    if (proc->has_oom_score_adj)
        proc->oom_score_adj = (int)adj;
    return 0;
}

/* ---- mounts ---- */

static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},      {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},       {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},  {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"defaults", false, 0},
};

static const struct {
    const char *name;
    unsigned long flag;
} propagation_flags[] = {
    {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int parse_mount(json_t *m, size_t i, struct cz_ocirt_mount *mnt, cz_error *err)
{
    char where[64];
    snprintf(where, sizeof(where), "mounts[%zu].", i);
    if (!json_is_object(m))
        return cz_error_set(err, EINVAL, "invalid spec: mounts[%zu] must be an object", i);
    if (get_string(m, "destination", where, true, &mnt->destination, err) < 0 ||
        get_string(m, "type", where, false, &mnt->type, err) < 0 ||
        get_string(m, "source", where, false, &mnt->source, err) < 0)
        return -1;
    char what[96];
    snprintf(what, sizeof(what), "mounts[%zu].destination", i);
    if (check_container_path(mnt->destination, what, err) < 0)
        return -1;
    char **opts = NULL;
    if (get_strv(m, "options", where, 256, &opts, NULL, err) < 0)
        return -1;
    cz_buf data = {0};
    for (size_t k = 0; opts && opts[k]; k++) {
        const char *o = opts[k];
        bool known = false;
        if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
            mnt->bind = true;
            mnt->recursive |= o[0] == 'r';
            known = true;
        }
        for (size_t f = 0; !known && f < CZ_ARRAY_SIZE(mount_flags); f++)
            if (strcmp(o, mount_flags[f].name) == 0) {
                if (mount_flags[f].clear) {
                    mnt->flags &= ~mount_flags[f].flag;
                    mnt->clear_flags |= mount_flags[f].flag;
                } else {
                    mnt->flags |= mount_flags[f].flag;
                    mnt->clear_flags &= ~mount_flags[f].flag;
                }
                known = true;
            }
        for (size_t f = 0; !known && f < CZ_ARRAY_SIZE(propagation_flags); f++)
            if (strcmp(o, propagation_flags[f].name) == 0) {
                mnt->propagation = propagation_flags[f].flag;
                known = true;
            }
        if (!known && o[0]) {
            if (strchr(o, ',')) {
                cz_error_set(err, EINVAL, "invalid spec: mounts[%zu]: option '%.64s' has a comma", i,
                             o); /* before o is freed with opts */
                cz_buf_free(&data);
                cz_ocirt_strv_free(opts);
                return -1;
            }
            if (data.len)
                cz_buf_append(&data, ",", 1);
            cz_buf_append(&data, o, strlen(o));
        }
    }
    cz_ocirt_strv_free(opts);
    if (data.len > 4000) {
        cz_buf_free(&data);
        return cz_error_set(err, EINVAL, "invalid spec: mounts[%zu]: options are too long", i);
    }
    mnt->data = data.len ? cz_buf_steal(&data) : NULL;
    cz_buf_free(&data);
    if (mnt->type && strcmp(mnt->type, "bind") == 0) {
        free(mnt->type);
        mnt->type = NULL;
        mnt->bind = true;
    }
    if (mnt->type && mnt->type[0] == '\0') {
        free(mnt->type);
        mnt->type = NULL;
    }
    if (!mnt->type && !mnt->bind)
        return cz_error_set(err, EINVAL,
                            "invalid spec: mounts[%zu] (%s) has no type and is not a bind mount", i,
                            mnt->destination);
    if (mnt->bind && (!mnt->source || mnt->source[0] != '/'))
        return cz_error_set(err, EINVAL,
                            "invalid spec: mounts[%zu] (%s): a bind mount needs an absolute source",
                            i, mnt->destination);
    if (!mnt->source)
        mnt->source = cz_xstrdup(mnt->type ? mnt->type : "none");
    return 0;
}

/* ---- linux ---- */

static int parse_idmap(json_t *l, const char *key, struct cz_ocirt_idmap **out, size_t *n,
                       cz_error *err)
{
    json_t *a = json_object_get(l, key);
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 340)
        return cz_error_set(err, EINVAL, "invalid spec: linux.%s must be an array", key);
    *out = cz_xcalloc(json_array_size(a) + 1, sizeof(**out));
    size_t i;
    json_t *m;
    json_array_foreach(a, i, m)
    {
        char where[64];
        snprintf(where, sizeof(where), "linux.%s[%zu].", key, i);
        int64_t c = -1, h = -1, s = -1;
        if (!json_is_object(m))
            return cz_error_set(err, EINVAL, "invalid spec: linux.%s[%zu] must be an object", key,
                                i);
        if (get_int(m, "containerID", where, 0, UINT32_MAX - 1, &c, NULL, err) < 0 ||
            get_int(m, "hostID", where, 0, UINT32_MAX - 1, &h, NULL, err) < 0 ||
            get_int(m, "size", where, 1, UINT32_MAX, &s, NULL, err) < 0)
            return -1;
        if (c < 0 || h < 0 || s < 0)
            return cz_error_set(err, EINVAL,
                                "invalid spec: %s needs containerID, hostID and size", where);
        (*out)[i] = (struct cz_ocirt_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)s};
    }
    *n = json_array_size(a);
    return 0;
}

static int parse_resources(json_t *r, struct cz_ocirt_resources *res, cz_error *err)
{
    if (!r || json_is_null(r))
        return 0;
    if (!json_is_object(r))
        return cz_error_set(err, EINVAL, "invalid spec: linux.resources must be an object");
    json_t *m = json_object_get(r, "memory");
    if (json_is_object(m)) {
        if (get_int(m, "limit", "linux.resources.memory.", -1, INT64_MAX, &res->memory_limit, NULL,
                    err) < 0 ||
            get_int(m, "reservation", "linux.resources.memory.", -1, INT64_MAX,
                    &res->memory_reservation, NULL, err) < 0 ||
            get_int(m, "swap", "linux.resources.memory.", -1, INT64_MAX, &res->memory_swap, NULL,
                    err) < 0)
            return -1;
        if (res->memory_limit == 0)
            res->memory_limit = -1;
        if (res->memory_swap >= 0 && res->memory_limit >= 0 && res->memory_swap < res->memory_limit)
            return cz_error_set(err, EINVAL,
                                "invalid spec: linux.resources.memory.swap (memory+swap) is below "
                                "the memory limit");
    } else if (m && !json_is_null(m))
        return cz_error_set(err, EINVAL, "invalid spec: linux.resources.memory must be an object");
    json_t *c = json_object_get(r, "cpu");
    if (json_is_object(c)) {
        if (get_int(c, "shares", "linux.resources.cpu.", 0, 262144, &res->cpu_shares, NULL, err) <
                0 ||
            get_int(c, "quota", "linux.resources.cpu.", -1, INT64_MAX, &res->cpu_quota, NULL, err) <
                0 ||
            get_int(c, "period", "linux.resources.cpu.", 0, 1000000, &res->cpu_period, NULL, err) <
                0 ||
            get_string(c, "cpus", "linux.resources.cpu.", false, &res->cpu_cpus, err) < 0 ||
            get_string(c, "mems", "linux.resources.cpu.", false, &res->cpu_mems, err) < 0)
            return -1;
        if (res->cpu_period == 0)
            res->cpu_period = -1;
        if (res->cpu_shares == 0)
            res->cpu_shares = -1;
        const char *sets[] = {res->cpu_cpus, res->cpu_mems};
        for (size_t i = 0; i < 2; i++)
            if (sets[i] && (strlen(sets[i]) > 1024 || strspn(sets[i], "0123456789,-") != strlen(sets[i])))
                return cz_error_set(err, EINVAL,
                                    "invalid spec: linux.resources.cpu.%s '%.64s' is not a list "
                                    "like 0-3,5",
                                    i ? "mems" : "cpus", sets[i]);
    } else if (c && !json_is_null(c))
        return cz_error_set(err, EINVAL, "invalid spec: linux.resources.cpu must be an object");
    json_t *p = json_object_get(r, "pids");
    if (json_is_object(p)) {
        if (get_int(p, "limit", "linux.resources.pids.", -1, INT64_MAX, &res->pids_limit, NULL,
                    err) < 0)
            return -1;
        if (res->pids_limit == 0)
            res->pids_limit = -1;
    } else if (p && !json_is_null(p))
        return cz_error_set(err, EINVAL, "invalid spec: linux.resources.pids must be an object");
    json_t *b = json_object_get(r, "blockIO");
    if (json_is_object(b)) {
        if (get_int(b, "weight", "linux.resources.blockIO.", 0, 1000, &res->io_weight, NULL, err) <
            0)
            return -1;
        if (res->io_weight == 0)
            res->io_weight = -1;
        else if (res->io_weight < 10)
            return cz_error_set(err, EINVAL,
                                "invalid spec: linux.resources.blockIO.weight must be 10..1000");
    }
    json_t *u = json_object_get(r, "unified");
    if (u && !json_is_null(u)) {
        if (!json_is_object(u) || json_object_size(u) > 256)
            return cz_error_set(err, EINVAL, "invalid spec: linux.resources.unified must be an object");
        res->unified = cz_xcalloc(json_object_size(u) * 2 + 1, sizeof(char *));
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach(u, key, v)
        {
            if (!json_is_string(v) || json_string_length(v) > 4096 || strlen(key) > 255 ||
                !key[0] || strchr(key, '/') || key[0] == '.' || !strchr(key, '.'))
                return cz_error_set(err, EINVAL,
                                    "invalid spec: linux.resources.unified: bad entry '%.64s'",
                                    key);
            res->unified[k++] = cz_xstrdup(key);
            res->unified[k++] = cz_xstrdup(json_string_value(v));
        }
    }
    return 0;
}

static const struct {
    const char *name;
    uint32_t action; /* errno/trace data added separately */
} seccomp_actions[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

static int seccomp_action(json_t *o, const char *akey, const char *ekey, const char *where,
                          uint32_t *out, cz_error *err)
{
    const char *name = json_string_value(json_object_get(o, akey));
    if (!name)
        return cz_error_set(err, EINVAL, "invalid spec: %s%s is required", where, akey);
    for (size_t i = 0; i < CZ_ARRAY_SIZE(seccomp_actions); i++) {
        if (strcmp(name, seccomp_actions[i].name) != 0)
            continue;
        uint32_t a = seccomp_actions[i].action;
        if (a == SCMP_ACT_ERRNO(0) || a == SCMP_ACT_TRACE(0)) {
            int64_t e = a == SCMP_ACT_ERRNO(0) ? EPERM : 0;
            if (get_int(o, ekey, where, 0, 4095, &e, NULL, err) < 0)
                return -1;
            a = a == SCMP_ACT_ERRNO(0) ? SCMP_ACT_ERRNO((uint32_t)e) : SCMP_ACT_TRACE((uint32_t)e);
        }
        *out = a;
        return 0;
    }
    return cz_error_set(err, EINVAL, "invalid spec: %s%s: unsupported action '%.64s'", where, akey,
                        name);
}

static const struct {
    const char *name;
    uint32_t arch;
} seccomp_archs[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},         {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},         {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64}, {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},   {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},   {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32}, {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},     {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},       {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

static const struct {
    const char *name;
    int op;
} seccomp_ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static void seccomp_free(struct cz_ocirt_seccomp *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_rules; i++) {
        cz_ocirt_strv_free(s->rules[i].names);
        free(s->rules[i].args);
    }
    free(s->rules);
    free(s->archs);
    free(s);
}

static int parse_seccomp(json_t *j, struct cz_ocirt_seccomp **out, cz_error *err)
{
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_object(j))
        return cz_error_set(err, EINVAL, "invalid spec: linux.seccomp must be an object");
    struct cz_ocirt_seccomp *s = cz_xcalloc(1, sizeof(*s));
    *out = s;
    if (seccomp_action(j, "defaultAction", "defaultErrnoRet", "linux.seccomp.", &s->default_action,
                       err) < 0)
        return -1;
    json_t *a = json_object_get(j, "architectures");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > 32)
            return cz_error_set(err, EINVAL, "invalid spec: linux.seccomp.architectures must be an array");
        s->archs = cz_xcalloc(json_array_size(a) + 1, sizeof(uint32_t));
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            const char *name = json_string_value(v);
            size_t k = 0;
            while (name && k < CZ_ARRAY_SIZE(seccomp_archs) && strcmp(seccomp_archs[k].name, name))
                k++;
            if (!name || k == CZ_ARRAY_SIZE(seccomp_archs))
                return cz_error_set(err, EINVAL,
                                    "invalid spec: linux.seccomp.architectures[%zu]: unknown '%.64s'",
                                    i, name ? name : "(not a string)");
            s->archs[s->n_archs++] = seccomp_archs[k].arch;
        }
    }
    json_t *fl = json_object_get(j, "flags");
    if (json_is_array(fl)) {
        size_t i;
        json_t *v;
        json_array_foreach(fl, i, v)
        {
            const char *f = json_string_value(v);
            if (f && strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
                s->log_flag = true;
            else if (!f || (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") != 0 &&
                            strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") != 0))
                return cz_error_set(err, EINVAL, "invalid spec: linux.seccomp.flags[%zu]: unsupported",
                                    i);
        }
    }
    json_t *sc = json_object_get(j, "syscalls");
    if (!sc || json_is_null(sc))
        return 0;
    if (!json_is_array(sc) || json_array_size(sc) > MAX_LIST)
        return cz_error_set(err, EINVAL, "invalid spec: linux.seccomp.syscalls must be an array");
    s->rules = cz_xcalloc(json_array_size(sc) + 1, sizeof(*s->rules));
    size_t i;
    json_t *r;
    json_array_foreach(sc, i, r)
    {
        char where[64];
        snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu].", i);
        if (!json_is_object(r))
            return cz_error_set(err, EINVAL, "invalid spec: linux.seccomp.syscalls[%zu] must be an object",
                                i);
        struct cz_ocirt_seccomp_rule *rule = &s->rules[s->n_rules++];
        size_t n;
        if (get_strv(r, "names", where, 1024, &rule->names, &n, err) < 0)
            return -1;
        if (n == 0)
            return cz_error_set(err, EINVAL, "invalid spec: %snames must not be empty", where);
        if (seccomp_action(r, "action", "errnoRet", where, &rule->action, err) < 0)
            return -1;
        json_t *args = json_object_get(r, "args");
        if (!args || json_is_null(args))
            continue;
        if (!json_is_array(args) || json_array_size(args) > 6)
            return cz_error_set(err, EINVAL, "invalid spec: %sargs must be an array of at most 6",
                                where);
        rule->args = cz_xcalloc(json_array_size(args) + 1, sizeof(*rule->args));
        size_t k;
        json_t *x;
        json_array_foreach(args, k, x)
        {
            struct cz_ocirt_seccomp_arg *arg = &rule->args[rule->n_args++];
            int64_t idx = -1;
            char what[96];
            snprintf(what, sizeof(what), "%sargs[%zu].", where, k);
            if (!json_is_object(x) || get_int(x, "index", what, 0, 5, &idx, NULL, err) < 0)
                return cz_error_set(err, EINVAL, "invalid spec: %sindex must be 0..5", what);
            if (idx < 0)
                return cz_error_set(err, EINVAL, "invalid spec: %sindex is required", what);
            arg->index = (unsigned)idx;
            char vw[128];
            snprintf(vw, sizeof(vw), "%svalue", what);
            if (get_u64(json_object_get(x, "value"), vw, &arg->value, err) < 0)
                return -1;
            json_t *v2 = json_object_get(x, "valueTwo");
            snprintf(vw, sizeof(vw), "%svalueTwo", what);
            if (v2 && !json_is_null(v2) && get_u64(v2, vw, &arg->value_two, err) < 0)
                return -1;
            const char *op = json_string_value(json_object_get(x, "op"));
            size_t o = 0;
            while (op && o < CZ_ARRAY_SIZE(seccomp_ops) && strcmp(seccomp_ops[o].name, op))
                o++;
            if (!op || o == CZ_ARRAY_SIZE(seccomp_ops))
                return cz_error_set(err, EINVAL, "invalid spec: %sop: unknown '%.64s'", what,
                                    op ? op : "(missing)");
            arg->op = seccomp_ops[o].op;
        }
    }
    return 0;
}

static int parse_devices(json_t *d, cz_ocirt_spec *s, cz_error *err)
{
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_array(d) || json_array_size(d) > 256)
        return cz_error_set(err, EINVAL, "invalid spec: linux.devices must be an array");
    s->devices = cz_xcalloc(json_array_size(d) + 1, sizeof(*s->devices));
    size_t i;
    json_t *x;
    json_array_foreach(d, i, x)
    {
        char where[64];
        snprintf(where, sizeof(where), "linux.devices[%zu].", i);
        if (!json_is_object(x))
            return cz_error_set(err, EINVAL, "invalid spec: linux.devices[%zu] must be an object", i);
        struct cz_ocirt_device *dev = &s->devices[s->n_devices++];
        char *type = NULL;
        if (get_string(x, "path", where, true, &dev->path, err) < 0 ||
            get_string(x, "type", where, true, &type, err) < 0)
            return -1;
        bool ok = strlen(type) == 1 && strchr("cbup", type[0]);
        dev->type = type[0];
        free(type);
        if (!ok)
            return cz_error_set(err, EINVAL, "invalid spec: %stype must be c, b, u or p", where);
        if (check_container_path(dev->path, "linux.devices[].path", err) < 0 ||
            !cz_str_has_prefix(dev->path, "/dev/"))
            return cz_error_set(err, EINVAL, "invalid spec: %spath must be under /dev", where);
        int64_t v = 0, mode = 0666, uid = 0, gid = 0;
        if (get_int(x, "major", where, 0, 0xfffff, &v, NULL, err) < 0)
            return -1;
        dev->major = v;
        v = 0;
        if (get_int(x, "minor", where, 0, 0xfffff, &v, NULL, err) < 0)
            return -1;
        dev->minor = v;
        if (get_int(x, "fileMode", where, 0, 07777, &mode, NULL, err) < 0 ||
            get_int(x, "uid", where, 0, UINT32_MAX - 1, &uid, NULL, err) < 0 ||
            get_int(x, "gid", where, 0, UINT32_MAX - 1, &gid, NULL, err) < 0)
            return -1;
        dev->mode = (uint32_t)mode;
        dev->uid = (uint32_t)uid;
        dev->gid = (uint32_t)gid;
    }
    return 0;
}

static int parse_linux(json_t *l, cz_ocirt_spec *s, cz_error *err)
{
    if (!l || json_is_null(l))
        return 0;
    if (!json_is_object(l))
        return cz_error_set(err, EINVAL, "invalid spec: linux must be an object");
    json_t *ns = json_object_get(l, "namespaces");
    if (ns && !json_is_null(ns)) {
        if (!json_is_array(ns) || json_array_size(ns) > 16)
            return cz_error_set(err, EINVAL, "invalid spec: linux.namespaces must be an array");
        size_t i;
        json_t *x;
        json_array_foreach(ns, i, x)
        {
            const char *type = json_is_object(x) ? json_string_value(json_object_get(x, "type"))
                                                 : NULL;
            if (!type)
                return cz_error_set(err, EINVAL, "invalid spec: linux.namespaces[%zu].type is required",
                                    i);
            int k = 0;
            while (k < CZ_OCIRT_NS_COUNT && strcmp(ns_names[k], type) != 0)
                k++;
            if (k == CZ_OCIRT_NS_COUNT)
                return cz_error_set(err, EINVAL,
                                    "invalid spec: linux.namespaces[%zu]: unsupported type '%.32s'",
                                    i, type);
            if (s->ns[k].enabled)
                return cz_error_set(err, EINVAL, "invalid spec: linux.namespaces: %s is listed twice",
                                    type);
            s->ns[k].enabled = true;
            char where[64];
            snprintf(where, sizeof(where), "linux.namespaces[%zu].", i);
            if (get_string(x, "path", where, false, &s->ns[k].path, err) < 0)
                return -1;
            if (s->ns[k].path && s->ns[k].path[0] != '/')
                return cz_error_set(err, EINVAL, "invalid spec: %spath must be absolute", where);
        }
    }
    if (parse_idmap(l, "uidMappings", &s->uid_map, &s->n_uid_map, err) < 0 ||
        parse_idmap(l, "gidMappings", &s->gid_map, &s->n_gid_map, err) < 0)
        return -1;
    if ((s->n_uid_map || s->n_gid_map) && !(s->ns[CZ_OCIRT_NS_USER].enabled &&
                                            !s->ns[CZ_OCIRT_NS_USER].path))
        return cz_error_set(err, EINVAL,
                            "invalid spec: linux.uidMappings/gidMappings need a new user namespace");
    if (s->ns[CZ_OCIRT_NS_USER].enabled && !s->ns[CZ_OCIRT_NS_USER].path &&
        (!s->n_uid_map || !s->n_gid_map))
        return cz_error_set(err, EINVAL,
                            "invalid spec: a new user namespace needs linux.uidMappings and gidMappings");
    size_t n;
    if (get_strv(l, "maskedPaths", "linux.", MAX_LIST, &s->masked_paths, &n, err) < 0 ||
        get_strv(l, "readonlyPaths", "linux.", MAX_LIST, &s->readonly_paths, &n, err) < 0)
        return -1;
    char **lists[] = {s->masked_paths, s->readonly_paths};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; lists[k] && lists[k][i]; i++)
            if (check_container_path(lists[k][i], k ? "linux.readonlyPaths" : "linux.maskedPaths",
                                     err) < 0)
                return -1;
    json_t *sy = json_object_get(l, "sysctl");
    if (sy && !json_is_null(sy)) {
        if (!json_is_object(sy) || json_object_size(sy) > 1024)
            return cz_error_set(err, EINVAL, "invalid spec: linux.sysctl must be an object");
        s->sysctl = cz_xcalloc(json_object_size(sy) * 2 + 1, sizeof(char *));
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach(sy, key, v)
        {
            if (!json_is_string(v) || json_string_length(v) > 4096 || !key[0] || strlen(key) > 255 ||
                strchr(key, '/') || strstr(key, "..") || key[0] == '.')
                return cz_error_set(err, EINVAL, "invalid spec: linux.sysctl: bad entry '%.64s'", key);
            s->sysctl[k++] = cz_xstrdup(key);
            s->sysctl[k++] = cz_xstrdup(json_string_value(v));
        }
    }
    if (parse_resources(json_object_get(l, "resources"), &s->resources, err) < 0 ||
        parse_seccomp(json_object_get(l, "seccomp"), &s->seccomp, err) < 0 ||
        parse_devices(json_object_get(l, "devices"), s, err) < 0)
        return -1;
    const char *prop = json_string_value(json_object_get(l, "rootfsPropagation"));
    if (prop) {
        size_t k = 0;
        while (k < CZ_ARRAY_SIZE(propagation_flags) && strcmp(propagation_flags[k].name, prop))
            k++;
        if (k == CZ_ARRAY_SIZE(propagation_flags))
            return cz_error_set(err, EINVAL, "invalid spec: linux.rootfsPropagation '%.32s'", prop);
        s->rootfs_propagation = propagation_flags[k].flag;
    }
    return 0;
}

static cz_ocirt_spec *spec_new(void)
{
    cz_ocirt_spec *s = cz_xcalloc(1, sizeof(*s));
    struct cz_ocirt_resources *r = &s->resources;
    r->memory_limit = r->memory_reservation = r->memory_swap = -1;
    r->cpu_shares = r->cpu_quota = r->cpu_period = -1;
    r->pids_limit = r->io_weight = -1;
    return s;
}

static int spec_from_json(json_t *j, cz_ocirt_spec *s, cz_error *err)
{
    json_t *ver = json_object_get(j, "ociVersion");
    if (ver && !json_is_null(ver)) {
        const char *v = json_string_value(ver);
        if (!v || !cz_str_has_prefix(v, "1."))
            return cz_error_set(err, EINVAL, "invalid spec: unsupported ociVersion '%.32s' (want 1.x)",
                                v ? v : "(not a string)");
    }
    json_t *p = json_object_get(j, "process");
    if (!p || json_is_null(p))
        return cz_error_set(err, EINVAL, "invalid spec: process is required");
    if (parse_process(p, &s->process, err) < 0)
        return -1;
    s->has_process = true;
    json_t *root = json_object_get(j, "root");
    if (!json_is_object(root))
        return cz_error_set(err, EINVAL, "invalid spec: root.path is required");
    if (get_string(root, "path", "root.", true, &s->root_path, err) < 0 ||
        get_bool(root, "readonly", "root.", &s->root_readonly, err) < 0)
        return -1;
    if (!s->root_path[0])
        return cz_error_set(err, EINVAL, "invalid spec: root.path must not be empty");
    /* A relative root is inside the bundle: ".." would leave it. */
    if (s->root_path[0] != '/' && has_dotdot(s->root_path))
        return cz_error_set(err, EINVAL,
                            "invalid spec: root.path '%.64s' is relative and leaves the bundle "
                            "with '..'",
                            s->root_path);
    if (get_string(j, "hostname", "", false, &s->hostname, err) < 0)
        return -1;
    if (s->hostname && strlen(s->hostname) > 64)
        return cz_error_set(err, EINVAL, "invalid spec: hostname is longer than 64 bytes");
    json_t *m = json_object_get(j, "mounts");
    if (m && !json_is_null(m)) {
        if (!json_is_array(m) || json_array_size(m) > 1024)
            return cz_error_set(err, EINVAL, "invalid spec: mounts must be an array (at most 1024)");
        s->mounts = cz_xcalloc(json_array_size(m) + 1, sizeof(*s->mounts));
        size_t i;
        json_t *x;
        json_array_foreach(m, i, x)
        {
            s->n_mounts++;
            if (parse_mount(x, i, &s->mounts[i], err) < 0)
                return -1;
        }
    }
    if (parse_linux(json_object_get(j, "linux"), s, err) < 0)
        return -1;
    if (!s->ns[CZ_OCIRT_NS_MOUNT].enabled || s->ns[CZ_OCIRT_NS_MOUNT].path)
        return cz_error_set(err, EINVAL,
                            "invalid spec: linux.namespaces must create a new mount namespace");
    if (s->hostname && s->hostname[0] && (!s->ns[CZ_OCIRT_NS_UTS].enabled || s->ns[CZ_OCIRT_NS_UTS].path))
        return cz_error_set(err, EINVAL, "invalid spec: hostname needs a new uts namespace");
    return 0;
}

static int parse_common(const char *json, size_t len, bool process_only, cz_ocirt_spec **out,
                        cz_error *err)
{
    *out = NULL;
    if (len > CZ_OCIRT_SPEC_MAX)
        return cz_error_set(err, EFBIG, "invalid spec: %zu bytes is larger than %u", len,
                            CZ_OCIRT_SPEC_MAX);
    json_error_t jerr;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return cz_error_set(err, EINVAL, "invalid spec: bad JSON: %s (line %d)", jerr.text, jerr.line);
    cz_ocirt_spec *s = spec_new();
    int r;
    if (!json_is_object(j))
        r = cz_error_set(err, EINVAL, "invalid spec: not a JSON object");
    else if (process_only) {
        r = parse_process(j, &s->process, err);
        s->has_process = r == 0;
    } else
        r = spec_from_json(j, s, err);
    json_decref(j);
    if (r < 0) {
        cz_ocirt_spec_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int cz_ocirt_spec_parse(const char *json, size_t len, cz_ocirt_spec **out, cz_error *err)
{
    return parse_common(json, len, false, out, err);
}

int cz_ocirt_process_parse(const char *json, size_t len, cz_ocirt_spec **out, cz_error *err)
{
    return parse_common(json, len, true, out, err);
}

void cz_ocirt_spec_free(cz_ocirt_spec *s)
{
    if (!s)
        return;
    struct cz_ocirt_proc *p = &s->process;
    cz_ocirt_strv_free(p->args);
    cz_ocirt_strv_free(p->env);
    free(p->cwd);
    free(p->user.additional_gids);
    free(p->rlimits);
    free(s->hostname);
    free(s->root_path);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].destination);
        free(s->mounts[i].type);
        free(s->mounts[i].source);
        free(s->mounts[i].data);
    }
    free(s->mounts);
    for (int i = 0; i < CZ_OCIRT_NS_COUNT; i++)
        free(s->ns[i].path);
    free(s->uid_map);
    free(s->gid_map);
    cz_ocirt_strv_free(s->masked_paths);
    cz_ocirt_strv_free(s->readonly_paths);
    cz_ocirt_strv_free(s->sysctl);
    free(s->resources.cpu_cpus);
    free(s->resources.cpu_mems);
    cz_ocirt_strv_free(s->resources.unified);
    seccomp_free(s->seccomp);
    for (size_t i = 0; i < s->n_devices; i++)
        free(s->devices[i].path);
    free(s->devices);
    free(s);
}
