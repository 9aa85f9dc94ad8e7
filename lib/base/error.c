/* cz_error: formatting of the single error type. Messages are truncated, never
 * overflowed; wrapping keeps the innermost cause at the end of the line. */
#include <cz/error.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cz_error_set(cz_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = code;
    return -1;
}

int cz_error_errno(cz_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(code));
    err->code = code;
    return -1;
}

int cz_error_wrap(cz_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[CZ_ERROR_MSG_MAX];
    char old[CZ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    if (old[0])
        snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    else
        snprintf(err->msg, sizeof(err->msg), "%s", prefix);
    return -1;
}

void cz_error_clear(cz_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
