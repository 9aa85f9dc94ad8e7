/* The container's log: one JSON object per line, as docker's json-file driver
 * writes it: {"log":"text\n","stream":"stdout","time":"2026-11-30T01:02:03.123456789Z"}.
 * Output is split at newlines; a partial line is held until its newline, until
 * 16 KiB accumulate, or until the stream ends. Bytes that are not UTF-8 become
 * U+FFFD, so every line is valid JSON. The lines of one chunk of output share its
 * time and go out in one write; a write the disk cannot take is cut back off the
 * file, so the log never holds half a line. */
#include "runtime.h"

#include "base/fs.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_HOLD (16 * 1024)

int rt_log_open(struct rt_log *l, const char *path, cz_error *err)
{
    memset(l, 0, sizeof(*l));
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (l->fd < 0)
        return cz_error_errno(err, errno, "open the container log %s", path);
    return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        len = 2, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0)
        len = 3, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0)
        len = 4, min = 0x10000, c &= 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return len;
}

/* JSON string contents for output bytes: runs of printable ASCII and valid UTF-8 are
 * copied whole, the rest escaped one byte at a time (invalid UTF-8 becomes U+FFFD). */
void rt_json_escape(cz_buf *b, const void *data, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    size_t run = 0; /* start of the bytes that go out as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t len = c >= 0x80 ? utf8_seq(p + i, n - i) : 0;
        if (len) {
            i += len;
            continue;
        }
        cz_buf_append(b, p + run, i - run);
        char e[6] = {'\\', (char)c};
        size_t elen = 2;
        if (c == '\n')
            e[1] = 'n';
        else if (c == '\r')
            e[1] = 'r';
        else if (c == '\t')
            e[1] = 't';
        else if (c >= 0x80) {
            memcpy(e, "\xef\xbf\xbd", 3); /* U+FFFD */
            elen = 3;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            elen = 6;
        }
        cz_buf_append(b, e, elen);
        run = ++i;
    }
    cz_buf_append(b, p + run, n - run);
}

void rt_time_rfc3339(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%09ldZ", ts.tv_nsec);
}

/* One line's JSON object, appended to out. */
static void emit(cz_buf *out, int stream, const char *data, size_t n, const char *when)
{
    if (n == 0)
        return;
    cz_buf_append(out, "{\"log\":\"", 8);
    rt_json_escape(out, data, n);
    cz_buf_printf(out, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                  stream == 2 ? "stderr" : "stdout", when);
}

/* The lines of one chunk of output in one write. A write that fails (the disk is full) is
 * cut back off the file, so the log never ends in half a line; the container keeps
 * running, and later lines are written again once they fit. */
static void put(struct rt_log *l, cz_buf *out)
{
    if (l->fd < 0 || out->len == 0)
        return;
    off_t end = lseek(l->fd, 0, SEEK_END);
    if (cz_write_all(l->fd, out->data, out->len) < 0) {
        int e = errno;
        if (end >= 0 && ftruncate(l->fd, end) < 0)
            e = errno;
        if (!l->write_failed)
            fprintf(stderr, "container-runtime: writing the log failed: %s\n", strerror(e));
        l->write_failed = true;
    } else if (l->write_failed) {
        fprintf(stderr, "container-runtime: the log is written again\n");
        l->write_failed = false;
    }
}

void rt_log_write(struct rt_log *l, int stream, const void *data, size_t n)
{
    cz_buf *hold = &l->hold[stream == 2 ? 1 : 0];
    cz_buf out = {0};
    char when[40]; /* the time the chunk arrived, for each of its lines (as docker) */
    rt_time_rfc3339(when);
    const char *p = data;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        if (hold->len == 0 && nl) {
            emit(&out, stream, p, take, when);
        } else {
            cz_buf_append(hold, p, take);
            if (nl || hold->len >= LINE_MAX_HOLD) {
                emit(&out, stream, hold->data, hold->len, when);
                hold->len = 0;
            }
        }
        p += take;
        n -= take;
    }
    put(l, &out);
    cz_buf_free(&out);
}

void rt_log_flush(struct rt_log *l, int stream)
{
    cz_buf *hold = &l->hold[stream == 2 ? 1 : 0];
    if (hold->len) {
        char when[40];
        rt_time_rfc3339(when);
        cz_buf out = {0};
        emit(&out, stream, hold->data, hold->len, when);
        put(l, &out);
        cz_buf_free(&out);
        hold->len = 0;
    }
}

void rt_log_close(struct rt_log *l)
{
    rt_log_flush(l, 1);
    rt_log_flush(l, 2);
    cz_buf_free(&l->hold[0]);
    cz_buf_free(&l->hold[1]);
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}
