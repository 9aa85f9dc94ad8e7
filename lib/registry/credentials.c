/* Registry credentials in docker's config.json format:
 *   {"auths": {"HOST": {"auth": "base64(user:password)"}}}
 * Our own file (ROOT/auth.json) is written atomically with mode 0600 and keeps
 * whatever else it holds; docker's file is only read, as a fallback. */
#include "registry/internal.h"

#include "base/fs.h"
#include "base/log.h"

#include <errno.h>
#include <jansson.h>
#include <strings.h>

#define AUTH_FILE_MAX (4u << 20)

static bool is_docker_hub(const char *h)
{
    return !strcmp(h, "docker.io") || !strcmp(h, "index.docker.io") ||
           !strcmp(h, "registry-1.docker.io");
}

/* "https://index.docker.io/v1/" -> "index.docker.io" */
static char *key_host(const char *key)
{
    const char *s = key;
    if (!strncasecmp(s, "https://", 8))
        s += 8;
    else if (!strncasecmp(s, "http://", 7))
        s += 7;
    return cz_xstrndup(s, strcspn(s, "/"));
}

static bool key_matches(const char *key, const char *host)
{
    cz_autofree char *k = key_host(key);
    if (!strcasecmp(k, host))
        return true;
    return is_docker_hub(k) && is_docker_hub(host);
}

/* 1: parsed into *out; 0: file missing; -1: error. */
static int load(const char *file, json_t **out, cz_error *err)
{
    *out = NULL;
    cz_autofree char *data = NULL;
    size_t len;
    if (cz_read_file(file, AUTH_FILE_MAX, &data, &len, err) < 0) {
        if (err->code == ENOENT) {
            cz_error_clear(err);
            return 0;
        }
        return -1;
    }
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return cz_error_set(err, EINVAL, "credentials file %s is not a JSON object (line %d: %s)",
                            file, je.line, je.text);
    }
    *out = j;
    return 1;
}

static int entry_credentials(json_t *entry, const char *file, const char *key, char **user,
                             char **pass, cz_error *err)
{
    const char *auth = json_string_value(json_object_get(entry, "auth"));
    if (auth && *auth) {
        size_t n;
        cz_autofree char *dec = reg_base64_decode(auth, &n);
        char *colon = dec ? memchr(dec, ':', n) : NULL;
        if (!colon || memchr(dec, 0, n))
            return cz_error_set(err, EINVAL, "credentials file %s: entry '%s' has an invalid auth",
                                file, key);
        *user = cz_xstrndup(dec, (size_t)(colon - dec));
        *pass = cz_xstrdup(colon + 1);
        explicit_bzero(dec, n);
        return 1;
    }
    const char *u = json_string_value(json_object_get(entry, "username"));
    const char *p = json_string_value(json_object_get(entry, "password"));
    if (u && p) {
        *user = cz_xstrdup(u);
        *pass = cz_xstrdup(p);
        return 1;
    }
    return 0;
}

int cz_credentials_lookup(const char *file, const char *host, char **user, char **pass,
                          cz_error *err)
{
    *user = *pass = NULL;
    json_t *j;
    int r = load(file, &j, err);
    if (r <= 0)
        return r;
    json_t *auths = json_object_get(j, "auths");
    r = 0;
    if (json_is_object(auths)) {
        /* an exact key first, then the URL-shaped aliases */
        json_t *e = json_object_get(auths, host);
        if (json_is_object(e))
            r = entry_credentials(e, file, host, user, pass, err);
        const char *key;
        json_t *v;
        json_object_foreach(auths, key, v)
        {
            if (r != 0)
                break;
            if (json_is_object(v) && key_matches(key, host))
                r = entry_credentials(v, file, key, user, pass, err);
        }
    }
    json_decref(j);
    return r;
}

static int write_json(const char *file, json_t *j, cz_error *err)
{
    cz_autofree char *dir = cz_dirname(file);
    if (cz_mkdir_p(dir, 0700, err) < 0)
        return -1;
    cz_autofree char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!s)
        return cz_error_set(err, ENOMEM, "encode %s", file);
    size_t n = strlen(s);
    s = cz_xrealloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = 0;
    return cz_write_file_atomic(file, s, n + 1, 0600, err);
}

int cz_credentials_store(const char *file, const char *host, const char *user, const char *pass,
                         cz_error *err)
{
    if (!*host || strpbrk(host, "/ \t\r\n"))
        return cz_error_set(err, EINVAL, "invalid registry host '%s'", host);
    if (strchr(user, ':'))
        return cz_error_set(err, EINVAL, "invalid username '%s': it may not contain ':'", user);
    json_t *j;
    int r = load(file, &j, err);
    if (r < 0)
        return -1;
    if (!j)
        j = json_object();
    json_t *auths = json_object_get(j, "auths");
    if (!json_is_object(auths)) {
        auths = json_object();
        json_object_set_new(j, "auths", auths);
    }
    /* drop aliases of the same host so lookups cannot find stale entries */
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(auths, tmp, key, v)
    {
        if (key_matches(key, host))
            json_object_del(auths, key);
    }
    cz_autofree char *up = cz_xasprintf("%s:%s", user, pass);
    cz_autofree char *b = reg_base64_encode(up, strlen(up));
    explicit_bzero(up, strlen(up));
    json_object_set_new(auths, host, json_pack("{s:s}", "auth", b));
    r = write_json(file, j, err);
    json_decref(j);
    return r;
}

int cz_credentials_erase(const char *file, const char *host, cz_error *err)
{
    json_t *j;
    int r = load(file, &j, err);
    if (r <= 0)
        return r;
    json_t *auths = json_object_get(j, "auths");
    int removed = 0;
    if (json_is_object(auths)) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(auths, tmp, key, v)
        {
            if (key_matches(key, host)) {
                json_object_del(auths, key);
                removed = 1;
            }
        }
    }
    r = removed ? write_json(file, j, err) : 0;
    json_decref(j);
    return r < 0 ? -1 : removed;
}

static char *docker_config_path(void)
{
    const char *d = getenv("DOCKER_CONFIG");
    if (d && *d)
        return cz_xasprintf("%s/config.json", d);
    const char *home = getenv("HOME");
    if (home && *home)
        return cz_xasprintf("%s/.docker/config.json", home);
    return NULL;
}

int cz_credentials_find(const char *file, const char *host, char **user, char **pass,
                        cz_error *err)
{
    *user = *pass = NULL;
    if (file) {
        int r = cz_credentials_lookup(file, host, user, pass, err);
        if (r != 0)
            return r;
    }
    cz_autofree char *docker = docker_config_path();
    if (!docker)
        return 0;
    cz_error derr = {0};
    int r = cz_credentials_lookup(docker, host, user, pass, &derr);
    if (r < 0) {
        /* someone else's file: a problem there must not break our pulls */
        cz_warn("ignoring docker credentials: %s", derr.msg);
        return 0;
    }
    return r;
}

int cz_registry_logout(const char *host, const char *auth_file, cz_error *err)
{
    if (!auth_file)
        return cz_error_set(err, EINVAL, "no credentials file");
    int r = cz_credentials_erase(auth_file, host, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return cz_error_set(err, ENOENT, "not logged in to %s", host);
    return 0;
}
