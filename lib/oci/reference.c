/* Image references, parsed by the distribution spec's grammar and normalized
 * the way docker does (default domain docker.io, "library/" for official
 * images, default tag "latest"). */
#include <cz/oci.h>

#include "base/util.h"

#include <ctype.h>
#include <errno.h>

#define DEFAULT_DOMAIN "docker.io"
#define NAME_MAX_LEN 255

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+ */
static bool valid_path_component(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    size_t i = 0;
    while (i < n) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.') {
            j = i + 1;
        } else if (s[i] == '_') {
            j = i + 1;
            if (j < n && s[j] == '_')
                j++;
        } else if (s[i] == '-') {
            while (j < n && s[j] == '-')
                j++;
        } else {
            return false;
        }
        if (j >= n || !is_lower_alnum(s[j]))
            return false;
        i = j;
    }
    return true;
}

/* domain := host [':' port]; host := components of [a-zA-Z0-9-] joined by '.', or [IPv6]. */
static bool valid_domain(const char *s, size_t n)
{
    if (n == 0)
        return false;
    size_t i = 0;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
        i = (size_t)(close - s) + 1;
    } else {
        size_t comp_start = 0;
        for (; i < n && s[i] != ':'; i++) {
            char c = s[i];
            if (c == '.') {
                if (i == comp_start || s[i - 1] == '-')
                    return false;
                comp_start = i + 1;
            } else if (c == '-') {
                if (i == comp_start)
                    return false;
            } else if (!isalnum((unsigned char)c)) {
                return false;
            }
        }
        if (i == comp_start || s[i - 1] == '-')
            return false;
    }
    if (i < n) {
        if (s[i] != ':' || i + 1 == n)
            return false;
        for (size_t j = i + 1; j < n; j++)
            if (!isdigit((unsigned char)s[j]))
                return false;
    }
    return true;
}

static bool valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128)
        return false;
    if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
            return false;
    return true;
}

void cz_reference_free(cz_reference *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

int cz_reference_parse(const char *input, cz_reference *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!input || !*input)
        return cz_error_set(err, EINVAL, "invalid reference: empty");
    if (strlen(input) > 4096)
        return cz_error_set(err, EINVAL, "invalid reference: too long");
    cz_autofree char *s = cz_xstrdup(input);
    cz_autofree char *digest = NULL;
    cz_autofree char *tag = NULL;

    char *at = strchr(s, '@');
    if (at) {
        *at = '\0';
        cz_error derr = {0};
        if (cz_digest_validate(at + 1, &derr) < 0)
            return cz_error_set(err, EINVAL, "invalid reference '%.200s': %s", input, derr.msg);
        digest = cz_xstrdup(at + 1);
    }
    /* A tag is after the last ':' that follows the last '/'. */
    char *slash = strrchr(s, '/');
    char *colon = strrchr(slash ? slash : s, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1))
            return cz_error_set(err, EINVAL, "invalid reference '%.200s': invalid tag '%.130s'",
                                input, colon + 1);
        tag = cz_xstrdup(colon + 1);
    }
    if (!*s)
        return cz_error_set(err, EINVAL, "invalid reference '%.200s': missing name", input);

    /* Split the domain off: the first component is a domain when it has a '.'
     * or ':' or is "localhost" (docker's rule); otherwise docker.io. */
    char *first_slash = strchr(s, '/');
    cz_autofree char *domain = NULL;
    cz_autofree char *path = NULL;
    if (first_slash) {
        size_t dlen = (size_t)(first_slash - s);
        bool is_domain = memchr(s, '.', dlen) || memchr(s, ':', dlen) ||
                         (dlen == 9 && !strncmp(s, "localhost", 9)) || s[0] == '[';
        if (is_domain) {
            if (!valid_domain(s, dlen))
                return cz_error_set(err, EINVAL, "invalid reference '%.200s': invalid domain",
                                    input);
            domain = cz_xstrndup(s, dlen);
            path = cz_xstrdup(first_slash + 1);
        }
        /* an uppercase first component without '.'/':' is not a domain either */
    }
    if (!domain) {
        domain = cz_xstrdup(DEFAULT_DOMAIN);
        path = first_slash ? cz_xstrdup(s) : cz_xasprintf("library/%s", s);
    }
    if (!strcmp(domain, "index.docker.io") || !strcmp(domain, "registry-1.docker.io")) {
        free(domain);
        domain = cz_xstrdup(DEFAULT_DOMAIN);
    }

    for (const char *p = path; *p; p++)
        if (isupper((unsigned char)*p))
            return cz_error_set(err, EINVAL,
                                "invalid reference '%.200s': repository name must be lowercase",
                                input);
    /* Validate each path component. */
    const char *p = path;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!valid_path_component(p, n))
            return cz_error_set(err, EINVAL,
                                "invalid reference '%.200s': invalid repository name component "
                                "'%.*s'",
                                input, (int)CZ_MIN(n, 100), p);
        if (!e)
            break;
        p = e + 1;
    }
    if (strlen(domain) + 1 + strlen(path) > NAME_MAX_LEN)
        return cz_error_set(err, EINVAL, "invalid reference '%.200s': name longer than %d",
                            input, NAME_MAX_LEN);

    if (!tag && !digest)
        tag = cz_xstrdup("latest");
    out->domain = cz_steal_pointer(&domain);
    out->path = cz_steal_pointer(&path);
    out->tag = cz_steal_pointer(&tag);
    out->digest = cz_steal_pointer(&digest);
    return 0;
}

char *cz_reference_name(const cz_reference *r)
{
    return cz_xasprintf("%s/%s", r->domain, r->path);
}

char *cz_reference_string(const cz_reference *r)
{
    return cz_xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
                        r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *cz_reference_familiar(const cz_reference *r)
{
    const char *path = r->path;
    cz_autofree char *name = NULL;
    if (!strcmp(r->domain, DEFAULT_DOMAIN)) {
        if (cz_str_has_prefix(path, "library/") && !strchr(path + 8, '/'))
            path += 8;
        name = cz_xstrdup(path);
    } else {
        name = cz_xasprintf("%s/%s", r->domain, path);
    }
    return cz_xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
                        r->digest ? "@" : "", r->digest ? r->digest : "");
}
