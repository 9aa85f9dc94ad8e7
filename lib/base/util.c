/* Allocation, string and buffer helpers. Allocation failure aborts: there is
 * no sensible recovery in a CLI or an agent that has run out of memory. */
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <time.h>

static void oom(void)
{
    fputs("fatal: out of memory\n", stderr);
    abort();
}

void *cz_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *cz_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *cz_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *cz_xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        oom();
    return p;
}

char *cz_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom();
    return p;
}

char *cz_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        oom();
    return s;
}

bool cz_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cz_str_has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* Length of the valid UTF-8 sequence at p (not a C1 control), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4;
    else
        return 0;
    if (p[0] == 0xC2)
        lo = 0xA0; /* U+0080..U+009F are C1 controls */
    else if (p[0] == 0xE0)
        lo = 0xA0; /* overlong */
    else if (p[0] == 0xED)
        hi = 0x9F; /* surrogates */
    else if (p[0] == 0xF0)
        lo = 0x90; /* overlong */
    else if (p[0] == 0xF4)
        hi = 0x8F; /* beyond U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

char *cz_str_escape(const char *s)
{
    cz_buf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n;
        if (*p == '\\')
            cz_buf_append(&b, "\\\\", 2);
        else if (*p == '\n')
            cz_buf_append(&b, "\\n", 2);
        else if (*p == '\t')
            cz_buf_append(&b, "\\t", 2);
        else if (*p == '\r')
            cz_buf_append(&b, "\\r", 2);
        else if (*p >= 0x20 && *p < 0x7F)
            cz_buf_append(&b, p, 1);
        else if (*p >= 0x80 && (n = utf8_seq(p)) > 0) {
            cz_buf_append(&b, p, n);
            p += n;
            continue;
        } else {
            char hex[5];
            snprintf(hex, sizeof(hex), "\\x%02x", *p);
            cz_buf_append(&b, hex, 4);
        }
        p++;
    }
    return cz_buf_steal(&b);
}

static void buf_reserve(cz_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = cz_xrealloc(b->data, cap);
    b->cap = cap;
}

void cz_buf_append(cz_buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void cz_buf_printf(cz_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cz_buf_free(cz_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *cz_buf_steal(cz_buf *b)
{
    if (!b->data)
        buf_reserve(b, 0), b->data[0] = '\0';
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void cz_format_size(uint64_t bytes, char *out, size_t outlen)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1000.0 && u + 1 < CZ_ARRAY_SIZE(units)) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%" PRIu64 " B", bytes);
    else
        snprintf(out, outlen, "%.3g %s", v, units[u]);
}

int cz_parse_size(const char *s, uint64_t *out, cz_error *err)
{
    errno = 0;
    char *end;
    if (!s || !*s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return cz_error_set(err, EINVAL, "invalid size '%s'", s ? s : "");
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return cz_error_set(err, EINVAL, "invalid size '%s'", s);
    double mult = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0':
        break;
    case 'b':
        break;
    case 'k':
        mult = 1024.0;
        break;
    case 'm':
        mult = 1024.0 * 1024;
        break;
    case 'g':
        mult = 1024.0 * 1024 * 1024;
        break;
    case 't':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        return cz_error_set(err, EINVAL, "invalid size '%s': unknown unit", s);
    }
    if (*end) {
        end++;
        if (tolower((unsigned char)*end) == 'i')
            end++;
        if (tolower((unsigned char)*end) == 'b' && mult > 1)
            end++;
        if (*end)
            return cz_error_set(err, EINVAL, "invalid size '%s'", s);
    }
    double bytes = v * mult;
    if (bytes > 9.0e18)
        return cz_error_set(err, ERANGE, "invalid size '%s': too large", s);
    *out = (uint64_t)llround(bytes);
    return 0;
}

void cz_format_ago(int64_t when, char *out, size_t outlen)
{
    int64_t d = (int64_t)time(NULL) - when;
    if (d < 0)
        d = 0;
    if (d < 60)
        snprintf(out, outlen, "%s", d < 2 ? "Less than a second ago" : "Seconds ago");
    else if (d < 3600)
        snprintf(out, outlen, "%" PRId64 " minute%s ago", d / 60, d / 60 == 1 ? "" : "s");
    else if (d < 86400)
        snprintf(out, outlen, "%" PRId64 " hour%s ago", d / 3600, d / 3600 == 1 ? "" : "s");
    else
        snprintf(out, outlen, "%" PRId64 " day%s ago", d / 86400, d / 86400 == 1 ? "" : "s");
}

uint64_t cz_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
