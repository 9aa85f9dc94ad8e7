/* Small internal helpers used everywhere: cleanup attributes, ownership
 * transfer, allocation that aborts on exhaustion, a growable byte buffer. */
#ifndef CZ_BASE_UTIL_H
#define CZ_BASE_UTIL_H

#include <cz/error.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CZ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CZ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CZ_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void cz_freep(void *p)
{
    free(*(void **)p);
}
static inline void cz_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd); /* never retried on EINTR: the fd is gone either way */
}
static inline void cz_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}
#define cz_autofree __attribute__((cleanup(cz_freep)))
#define cz_autoclose __attribute__((cleanup(cz_closep)))
#define cz_autofclose __attribute__((cleanup(cz_fclosep)))

/* Hand ownership out of a cleanup-managed variable; type-checked. */
#define cz_steal_pointer(pp)                                                                       \
    ({                                                                                             \
        __typeof__(*(pp)) cz_tmp_ = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        cz_tmp_;                                                                                   \
    })
#define cz_steal_fd(fdp)                                                                           \
    ({                                                                                             \
        int cz_tmpfd_ = *(fdp);                                                                    \
        *(fdp) = -1;                                                                               \
        cz_tmpfd_;                                                                                 \
    })

void *cz_xmalloc(size_t n);
void *cz_xcalloc(size_t n, size_t size);
void *cz_xrealloc(void *p, size_t n);
char *cz_xstrdup(const char *s);
char *cz_xstrndup(const char *s, size_t n);
char *cz_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool cz_str_has_prefix(const char *s, const char *prefix);
bool cz_str_has_suffix(const char *s, const char *suffix);
/* s (a name from outside: a tar entry, a path) made safe for a one-line message
 * (allocated): backslash, newline, tab and CR as \\ \n \t \r, other control bytes,
 * DEL, C1 controls and bytes that are not valid UTF-8 as \xNN. */
char *cz_str_escape(const char *s);

/* Growable byte buffer; always NUL-terminated for convenience. */
typedef struct cz_buf {
    char *data;
    size_t len;
    size_t cap;
} cz_buf;
void cz_buf_append(cz_buf *b, const void *data, size_t len);
void cz_buf_printf(cz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cz_buf_free(cz_buf *b);
char *cz_buf_steal(cz_buf *b);

/* Human sizes: "12.3 MB" (decimal, as docker prints). */
void cz_format_size(uint64_t bytes, char *out, size_t outlen);
/* Parse "512M", "10G", "4096", "1.5g" into bytes. */
int cz_parse_size(const char *s, uint64_t *out, cz_error *err);
/* "3 minutes ago" style for a unix time. */
void cz_format_ago(int64_t when, char *out, size_t outlen);

/* Monotonic time in nanoseconds. */
uint64_t cz_now_ns(void);

#endif
