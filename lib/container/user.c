/* `-u user[:group]` resolved against the container's own /etc/passwd and
 * /etc/group, as docker does: names or numbers; a uid without a group takes the
 * user's primary group from passwd (0 when the user is not listed); the user's
 * supplementary groups come from /etc/group. */
#include <cz/container.h>

#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool parse_id(const char *s, uint32_t *out)
{
    if (!*s || strlen(s) > 10)
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > 0xfffffffeul)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Field i (0-based, ':'-separated) of line, copied into out. */
static bool field(const char *line, size_t len, int i, char *out, size_t outlen)
{
    const char *p = line, *end = line + len;
    for (; i > 0 && p < end; i--) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (!c)
            return false;
        p = c + 1;
    }
    const char *c = memchr(p, ':', (size_t)(end - p));
    size_t n = c ? (size_t)(c - p) : (size_t)(end - p);
    if (n >= outlen)
        return false;
    memcpy(out, p, n);
    out[n] = 0;
    return true;
}

/* Find a line whose field 0 is name or whose field 2 is the number id. */
static bool lookup(const char *db, const char *name, const uint32_t *id, char fields[][256],
                   int nfields)
{
    for (const char *line = db; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char f0[256], f2[256];
        if (len && line[0] != '#' && field(line, len, 0, f0, sizeof(f0)) &&
            field(line, len, 2, f2, sizeof(f2))) {
            uint32_t v;
            if ((name && !strcmp(f0, name)) || (id && parse_id(f2, &v) && v == *id)) {
                for (int i = 0; i < nfields; i++)
                    if (!field(line, len, i, fields[i], 256))
                        fields[i][0] = 0;
                return true;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static int resolve(const char *spec, const char *passwd, const char *group, struct cz_user *u,
                   cz_error *err)
{
    memset(u, 0, sizeof(*u));
    cz_autofree char *copy = cz_xstrdup(spec && *spec ? spec : "0");
    char *grp = strchr(copy, ':');
    if (grp)
        *grp++ = 0;
    if (!*copy || (grp && !*grp))
        return cz_error_set(err, EINVAL, "invalid user '%s'", spec);
    char pw[7][256];
    bool numeric = parse_id(copy, &u->uid);
    bool found = lookup(passwd, numeric ? NULL : copy, numeric ? &u->uid : NULL, pw, 7);
    if (!numeric) {
        if (!found)
            return cz_error_set(err, ENOENT, "unable to find user %s: no matching entries in "
                                "the container's /etc/passwd", copy);
        if (!parse_id(pw[2], &u->uid))
            return cz_error_set(err, EINVAL, "user %s: invalid uid in /etc/passwd", copy);
    }
    u->home = cz_xstrdup(found && pw[5][0] ? pw[5] : "/");
    if (grp) {
        char gr[4][256];
        if (!parse_id(grp, &u->gid)) {
            if (!lookup(group, grp, NULL, gr, 4))
                return cz_error_set(err, ENOENT, "unable to find group %s: no matching entries "
                                    "in the container's /etc/group", grp);
            if (!parse_id(gr[2], &u->gid))
                return cz_error_set(err, EINVAL, "group %s: invalid gid in /etc/group", grp);
        }
    } else if (found && !parse_id(pw[3], &u->gid)) {
        u->gid = 0;
    }
    /* supplementary groups: every group listing the user by name */
    if (found && !grp) {
        for (const char *line = group; line && *line;) {
            const char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            char gid_s[256], members[256];
            uint32_t gid;
            if (len && line[0] != '#' && field(line, len, 2, gid_s, sizeof(gid_s)) &&
                field(line, len, 3, members, sizeof(members)) && parse_id(gid_s, &gid) &&
                gid != u->gid) {
                char *save = NULL;
                for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
                    if (!strcmp(m, pw[0]) && u->n_gids < CZ_ARRAY_SIZE(u->gids))
                        u->gids[u->n_gids++] = gid;
            }
            line = nl ? nl + 1 : NULL;
        }
    }
    return 0;
}

int cz_user_resolve(const char *spec, const char *passwd, const char *group, struct cz_user *u,
                    cz_error *err)
{
    int r = resolve(spec, passwd ? passwd : "", group ? group : "", u, err);
    if (r < 0)
        cz_user_free(u);
    return r;
}

int cz_spec_apply_user(char **spec_json, const struct cz_user *u, cz_error *err)
{
    json_error_t je;
    json_t *spec = json_loads(*spec_json, 0, &je);
    if (!spec)
        return cz_error_set(err, EINVAL, "runtime spec: %s", je.text);
    /* a bare process object (exec) or a whole spec */
    json_t *process = json_object_get(spec, "process");
    if (!process)
        process = spec;
    json_t *user = json_object();
    json_object_set_new(user, "uid", json_integer(u->uid));
    json_object_set_new(user, "gid", json_integer(u->gid));
    json_t *gids = json_array();
    for (size_t i = 0; i < u->n_gids; i++)
        json_array_append_new(gids, json_integer(u->gids[i]));
    json_object_set_new(user, "additionalGids", gids);
    json_object_set_new(process, "user", user);
    json_t *env = json_object_get(process, "env");
    bool has_home = false;
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v) if (cz_str_has_prefix(json_string_value(v) ? json_string_value(v)
                                                                             : "",
                                                         "HOME=")) has_home = true;
    if (!has_home && json_is_array(env)) {
        cz_autofree char *h = cz_xasprintf("HOME=%s", u->home ? u->home : "/");
        json_array_append_new(env, json_string(h));
    }
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    if (!text)
        return cz_error_set(err, ENOMEM, "serialize the runtime spec");
    free(*spec_json);
    *spec_json = text;
    return 0;
}

void cz_user_free(struct cz_user *u)
{
    free(u->home);
    u->home = NULL;
}
