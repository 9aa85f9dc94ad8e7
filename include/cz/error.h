/* The one error type of libcz and its contract (docs/errors.md): a fallible
 * function returns a negative value and fills the cz_error passed last; callers
 * add context on the way out; the message is printed once, by the front-end. */
#ifndef CZ_ERROR_H
#define CZ_ERROR_H

#include <stddef.h>

#define CZ_PUBLIC __attribute__((visibility("default")))

#define CZ_ERROR_MSG_MAX 1024

typedef struct cz_error {
    int code;                   /* errno-style cause, 0 when there is none */
    char msg[CZ_ERROR_MSG_MAX]; /* one line: what failed, on what, why */
} cz_error;

/* Set the message; returns -1 so a caller can `return cz_error_set(...)`. */
CZ_PUBLIC int cz_error_set(cz_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like cz_error_set, with ": strerror(code)" appended. */
CZ_PUBLIC int cz_error_errno(cz_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix context: "pull alpine: <previous message>". Returns -1. */
CZ_PUBLIC int cz_error_wrap(cz_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
CZ_PUBLIC void cz_error_clear(cz_error *err);

#endif
