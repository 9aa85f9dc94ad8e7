/* The small pieces of the gRPC wire format that are pure functions: status
 * names and the errno mapping, grpc-timeout values, grpc-message percent
 * encoding, the 5-byte message prefix. */
#include <cz/rpc.h>

#include "base/util.h"

#include <errno.h>

static const char *const status_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *cz_rpc_status_name(int status)
{
    if (status < 0 || (size_t)status >= CZ_ARRAY_SIZE(status_names))
        return "UNKNOWN_STATUS";
    return status_names[status];
}

/* The canonical errno of each status; cz_rpc_status_from_errno maps it back. */
static const int status_errnos[] = {
    [CZ_RPC_OK] = 0,
    [CZ_RPC_CANCELLED] = ECANCELED,
    [CZ_RPC_UNKNOWN] = EIO,
    [CZ_RPC_INVALID_ARGUMENT] = EINVAL,
    [CZ_RPC_DEADLINE_EXCEEDED] = ETIMEDOUT,
    [CZ_RPC_NOT_FOUND] = ENOENT,
    [CZ_RPC_ALREADY_EXISTS] = EEXIST,
    [CZ_RPC_PERMISSION_DENIED] = EACCES,
    [CZ_RPC_RESOURCE_EXHAUSTED] = E2BIG,
    [CZ_RPC_FAILED_PRECONDITION] = EBUSY,
    [CZ_RPC_ABORTED] = ECONNABORTED,
    [CZ_RPC_OUT_OF_RANGE] = ERANGE,
    [CZ_RPC_UNIMPLEMENTED] = ENOSYS,
    [CZ_RPC_INTERNAL] = EPROTO,
    [CZ_RPC_UNAVAILABLE] = ECONNRESET,
    [CZ_RPC_DATA_LOSS] = EBADMSG,
    [CZ_RPC_UNAUTHENTICATED] = EKEYREJECTED,
};

int cz_rpc_errno_from_status(int status)
{
    if (status < 0 || (size_t)status >= CZ_ARRAY_SIZE(status_errnos))
        return EIO;
    return status_errnos[status];
}

int cz_rpc_status_from_errno(int code)
{
    switch (code) {
    case 0:
    case EIO:
        return CZ_RPC_UNKNOWN;
    case ECANCELED:
        return CZ_RPC_CANCELLED;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case EBADF:
        return CZ_RPC_INVALID_ARGUMENT;
    case ETIMEDOUT:
        return CZ_RPC_DEADLINE_EXCEEDED;
    case ENOENT:
    case ESRCH:
    case ENODEV:
    case ENXIO:
        return CZ_RPC_NOT_FOUND;
    case EEXIST:
        return CZ_RPC_ALREADY_EXISTS;
    case EPERM:
    case EACCES:
    case EROFS:
        return CZ_RPC_PERMISSION_DENIED;
    case E2BIG:
    case EFBIG:
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case EDQUOT:
        return CZ_RPC_RESOURCE_EXHAUSTED;
    case EBUSY:
    case ENOTEMPTY:
    case ECHILD:
    case EALREADY:
    case ENOTTY: /* e.g. resizing a process that has no terminal */
        return CZ_RPC_FAILED_PRECONDITION;
    case ECONNABORTED:
        return CZ_RPC_ABORTED;
    case ERANGE:
    case EOVERFLOW:
        return CZ_RPC_OUT_OF_RANGE;
    case ENOSYS:
    case EOPNOTSUPP:
        return CZ_RPC_UNIMPLEMENTED;
    case EPROTO:
        return CZ_RPC_INTERNAL;
    case ECONNRESET:
    case EPIPE:
    case EAGAIN:
    case ECONNREFUSED:
        return CZ_RPC_UNAVAILABLE;
    case EBADMSG:
        return CZ_RPC_DATA_LOSS;
    case EKEYREJECTED:
        return CZ_RPC_UNAUTHENTICATED;
    default:
        return CZ_RPC_UNKNOWN;
    }
}

int cz_rpc_timeout_parse(const char *s, uint64_t *ns_out)
{
    size_t n = 0;
    uint64_t v = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        v = v * 10 + (uint64_t)(s[n] - '0');
        n++;
        if (n > 8)
            return -1;
    }
    if (n == 0 || s[n] == '\0' || s[n + 1] != '\0')
        return -1;
    uint64_t unit;
    switch (s[n]) {
    case 'H':
        unit = 3600ull * 1000000000ull;
        break;
    case 'M':
        unit = 60ull * 1000000000ull;
        break;
    case 'S':
        unit = 1000000000ull;
        break;
    case 'm':
        unit = 1000000ull;
        break;
    case 'u':
        unit = 1000ull;
        break;
    case 'n':
        unit = 1;
        break;
    default:
        return -1;
    }
    /* 99999999H is more nanoseconds than 64 bits hold: saturate (about 584 years). */
    *ns_out = v > UINT64_MAX / unit ? UINT64_MAX : v * unit;
    return 0;
}

void cz_rpc_timeout_format(uint64_t ns, char *out, size_t outlen)
{
    static const struct {
        uint64_t ns;
        char unit;
    } units[] = {
        {1, 'n'},
        {1000ull, 'u'},
        {1000000ull, 'm'},
        {1000000000ull, 'S'},
        {60ull * 1000000000ull, 'M'},
        {3600ull * 1000000000ull, 'H'},
    };
    /* The finest unit whose count fits in 8 digits; round up so that a deadline
     * is never shortened by the encoding. */
    for (size_t i = 0; i < CZ_ARRAY_SIZE(units); i++) {
        uint64_t v = ns / units[i].ns + (ns % units[i].ns != 0);
        if (v <= 99999999ull) {
            snprintf(out, outlen, "%llu%c", (unsigned long long)v, units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "99999999H");
}

char *cz_rpc_percent_encode(const char *s)
{
    cz_buf b = {0};
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            cz_buf_append(&b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            cz_buf_append(&b, e, 3);
        }
    }
    if (!b.data)
        return cz_xstrdup("");
    return cz_buf_steal(&b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *cz_rpc_percent_decode(const char *s, size_t len)
{
    char *out = cz_xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

void cz_rpc_frame_header(uint8_t out[5], uint32_t len)
{
    out[0] = 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

void cz_rpc_error_strip(cz_error *err)
{
    /* "pkg.Service/Method: STATUS_NAME: message" -> "message" */
    char *sep = strstr(err->msg, ": ");
    if (!sep || !memchr(err->msg, '/', (size_t)(sep - err->msg)))
        return;
    char *status = sep + 2;
    char *sep2 = strstr(status, ": ");
    if (!sep2)
        return;
    for (int s = 0; s <= CZ_RPC_UNAUTHENTICATED; s++) {
        const char *name = cz_rpc_status_name(s);
        if (strlen(name) == (size_t)(sep2 - status) && !strncmp(status, name, strlen(name))) {
            memmove(err->msg, sep2 + 2, strlen(sep2 + 2) + 1);
            return;
        }
    }
}
