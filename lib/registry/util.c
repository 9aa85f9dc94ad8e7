/* Pure helpers of the registry client: URL building, scopes, base64 and the
 * WWW-Authenticate challenge parser (RFC 7235), the token-response parser. No
 * I/O here, so the unit tests
 * and the fuzz harness can drive it directly. */
#include "registry/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <strings.h>

/* --- URLs ------------------------------------------------------------ */

bool reg_host_is_local(const char *domain)
{
    char host[256];
    const char *end;
    if (domain[0] == '[') {
        end = strchr(domain, ']');
        if (!end)
            return false;
        domain++;
    } else {
        end = strrchr(domain, ':');
        if (!end || strchr(domain, ':') != end) /* a bare IPv6 address has several colons */
            end = domain + strlen(domain);
    }
    size_t n = (size_t)(end - domain);
    if (n == 0 || n >= sizeof(host))
        return false;
    memcpy(host, domain, n);
    host[n] = 0;
    if (!strcasecmp(host, "localhost"))
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

const char *reg_api_host(const char *domain)
{
    if (!strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io"))
        return "registry-1.docker.io";
    return domain;
}

char *reg_base_url(const char *domain, enum cz_scheme scheme)
{
    bool http = scheme == CZ_SCHEME_HTTP || (scheme == CZ_SCHEME_AUTO && reg_host_is_local(domain));
    return cz_xasprintf("%s://%s", http ? "http" : "https", reg_api_host(domain));
}

char *reg_resolve_location(const char *base, const char *location)
{
    if (!strncasecmp(location, "http://", 7) || !strncasecmp(location, "https://", 8))
        return cz_xstrdup(location);
    if (location[0] == '/')
        return cz_xasprintf("%s%s", base, location);
    return cz_xasprintf("%s/%s", base, location);
}

char *reg_url_add_query(const char *url, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (!esc)
        abort();
    char *r = cz_xasprintf("%s%c%s=%s", url, strchr(url, '?') ? '&' : '?', key, esc);
    curl_free(esc);
    return r;
}

char *reg_scope(const char *repo, const char *actions)
{
    return cz_xasprintf("repository:%s:%s", repo, actions);
}

char *reg_media_type_base(const char *content_type)
{
    if (!content_type)
        return NULL;
    const char *s = content_type;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, "; \t");
    return cz_xstrndup(s, n);
}

/* --- base64 ---------------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *reg_base64_encode(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = cz_xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    if (p)
        return (int)(p - b64chars);
    if (c == '-') /* URL-safe alphabet */
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

char *reg_base64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '=' || s[n - 1] == '\n'))
        n--;
    if (n % 4 == 1)
        return NULL;
    char *out = cz_xmalloc(n / 4 * 3 + 3 + 1);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = 0;
    *len = o;
    return out;
}

/* --- WWW-Authenticate --------------------------------------------------- */

#define CHALLENGE_HEADER_MAX 16384
#define CHALLENGES_MAX 16
#define PARAMS_MAX 32

static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}
static bool is_token68_char(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("-._~+/", c));
}
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}
static const char *skip_token(const char *p)
{
    while (is_tchar(*p))
        p++;
    return p;
}
static char *lower_dup(const char *s, size_t n)
{
    char *r = cz_xstrndup(s, n);
    for (char *q = r; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return r;
}

/* Does a token followed by BWS "=" start at p (an auth-param, not a new challenge)? */
static bool at_param(const char *p)
{
    const char *t = skip_token(p);
    if (t == p)
        return false;
    t = skip_ws(t);
    return *t == '=';
}

static void add_param(reg_challenge *c, char *name, char *value)
{
    c->params = cz_xrealloc(c->params, (c->n_params + 1) * sizeof(*c->params));
    c->params[c->n_params].name = name;
    c->params[c->n_params].value = value;
    c->n_params++;
}

void reg_challenges_free(reg_challenge *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++) {
        free(c[i].scheme);
        for (size_t j = 0; j < c[i].n_params; j++) {
            free(c[i].params[j].name);
            free(c[i].params[j].value);
        }
        free(c[i].params);
    }
    free(c);
}

const char *reg_challenge_param(const reg_challenge *c, const char *name)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (!strcasecmp(c->params[i].name, name))
            return c->params[i].value;
    return NULL;
}

static int parse_quoted(const char **pp, char **out, cz_error *err)
{
    const char *p = *pp + 1; /* past the opening quote */
    cz_buf b = {0};
    cz_buf_append(&b, "", 0);
    for (;;) {
        if (!*p) {
            cz_buf_free(&b);
            return cz_error_set(err, EINVAL, "unterminated quoted string");
        }
        if (*p == '"')
            break;
        if (*p == '\\' && p[1])
            p++;
        cz_buf_append(&b, p, 1);
        p++;
    }
    *pp = p + 1;
    *out = cz_buf_steal(&b);
    return 0;
}

int reg_parse_challenges(const char *header, reg_challenge **out, size_t *n, cz_error *err)
{
    *out = NULL;
    *n = 0;
    if (strlen(header) > CHALLENGE_HEADER_MAX)
        return cz_error_set(err, EINVAL, "WWW-Authenticate header longer than %d bytes",
                            CHALLENGE_HEADER_MAX);
    reg_challenge *v = NULL;
    size_t nv = 0;
    const char *p = header;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *t = skip_token(p);
        if (t == p) {
            reg_challenges_free(v, nv);
            return cz_error_set(err, EINVAL, "invalid WWW-Authenticate header: unexpected '%c'",
                                *p);
        }
        if (nv == CHALLENGES_MAX) {
            reg_challenges_free(v, nv);
            return cz_error_set(err, EINVAL, "WWW-Authenticate header has too many challenges");
        }
        v = cz_xrealloc(v, (nv + 1) * sizeof(*v));
        reg_challenge *c = &v[nv++];
        memset(c, 0, sizeof(*c));
        c->scheme = lower_dup(p, (size_t)(t - p));
        p = t;
        if (*p && *p != ' ' && *p != '\t' && *p != ',') {
            reg_challenges_free(v, nv);
            return cz_error_set(err, EINVAL, "invalid WWW-Authenticate header: unexpected '%c'",
                                *p);
        }
        p = skip_ws(p);
        /* token68: a single blob after the scheme, not shaped like name=value */
        if (*p && *p != ',' && !at_param(p)) {
            const char *s = p;
            while (is_token68_char(*p))
                p++;
            while (*p == '=')
                p++;
            if (p == s || (*skip_ws(p) && *skip_ws(p) != ',')) {
                reg_challenges_free(v, nv);
                return cz_error_set(err, EINVAL, "invalid WWW-Authenticate header near '%.20s'",
                                    s);
            }
            add_param(c, cz_xstrdup(""), cz_xstrndup(s, (size_t)(p - s)));
            continue;
        }
        /* auth-params, comma separated, until a token that starts a new challenge */
        while (at_param(p)) {
            const char *ne = skip_token(p);
            char *name = lower_dup(p, (size_t)(ne - p));
            p = skip_ws(skip_ws(ne) + 1); /* past '=' */
            char *value = NULL;
            if (*p == '"') {
                if (parse_quoted(&p, &value, err) < 0) {
                    free(name);
                    reg_challenges_free(v, nv);
                    return cz_error_wrap(err, "invalid WWW-Authenticate header");
                }
            } else {
                const char *ve = skip_token(p);
                /* be lenient with unquoted values that hold '/' or ':' (URLs) */
                while (*ve && *ve != ',' && *ve != ' ' && *ve != '\t' && *ve != '"')
                    ve++;
                value = cz_xstrndup(p, (size_t)(ve - p));
                p = ve;
            }
            if (c->n_params == PARAMS_MAX) {
                free(name);
                free(value);
                reg_challenges_free(v, nv);
                return cz_error_set(err, EINVAL, "WWW-Authenticate challenge has too many parameters");
            }
            add_param(c, name, value);
            p = skip_ws(p);
            if (*p == ',') {
                p++;
                while (*p == ' ' || *p == '\t' || *p == ',')
                    p++;
            } else if (*p) {
                reg_challenges_free(v, nv);
                return cz_error_set(err, EINVAL, "invalid WWW-Authenticate header near '%.20s'",
                                    p);
            }
        }
    }
    if (nv == 0)
        return cz_error_set(err, EINVAL, "empty WWW-Authenticate header");
    *out = v;
    *n = nv;
    return 0;
}

/* --- token responses ----------------------------------------------------- */

#define TOKEN_MAX 65536

int reg_parse_token_response(const char *data, size_t len, char **token, int64_t *expires_in,
                             cz_error *err)
{
    *token = NULL;
    *expires_in = 0;
    json_error_t je;
    json_t *j = json_loadb(data ? data : "", len, 0, &je);
    if (!j)
        return cz_error_set(err, EPROTO, "token response is not JSON (line %d: %s)", je.line,
                            je.text);
    int r = 0;
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (!tok || !*tok)
        tok = json_string_value(json_object_get(j, "access_token"));
    if (!json_is_object(j) || !tok || !*tok) {
        r = cz_error_set(err, EPROTO, "token response holds no token");
    } else if (strlen(tok) > TOKEN_MAX) {
        r = cz_error_set(err, EPROTO, "token longer than %d bytes", TOKEN_MAX);
    } else {
        for (const char *p = tok; *p; p++) {
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
                r = cz_error_set(err, EPROTO, "token holds a character not allowed in a header");
                break;
            }
        }
    }
    if (r == 0) {
        json_t *e = json_object_get(j, "expires_in");
        json_int_t exp = json_is_integer(e) ? json_integer_value(e) : 0;
        /* bounded: a year at most; 60 s when absent (the spec's default) */
        *expires_in = exp > 0 ? (exp > 31536000 ? 31536000 : exp) : 60;
        *token = cz_xstrdup(tok);
    }
    json_decref(j);
    return r;
}
