/* The CopyIn tar reader on arbitrary bytes, fed in chunks of varying size (the
 * rpc stream splits archives anywhere); then a round trip through the writer: a
 * header made from the input must parse back to the same entry. */
#include "../guest/vminitd/tar.h"

#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    uint64_t entries, bytes;
    tar_entry last;
    char path[TAR_MAX_PATH + 1], link[TAR_MAX_PATH + 1];
} seen;

static int on_begin(void *ctx, const tar_entry *e, cz_error *err)
{
    seen *s = ctx;
    size_t pl = strlen(e->path), ll = strlen(e->linkpath);
    if (pl > TAR_MAX_PATH || ll > TAR_MAX_PATH)
        abort(); /* the reader promised bounded names */
    memcpy(s->path, e->path, pl + 1);
    memcpy(s->link, e->linkpath, ll + 1);
    s->last = *e;
    s->entries++;
    return 0;
}
static int on_data(void *ctx, const uint8_t *p, size_t n, cz_error *err)
{
    ((seen *)ctx)->bytes += n;
    return 0;
}
static int on_end(void *ctx, cz_error *err)
{
    return 0;
}
static const tar_ops ops = {on_begin, on_data, on_end};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    cz_error err = {0};
    seen s = {0};
    tar_reader *r = tar_reader_new(&ops, &s);
    size_t chunk = (size_t)data[0] * 7 + 1, off = 1;
    int rc = 0;
    while (off < size && rc == 0) {
        size_t n = CZ_MIN(chunk, size - off);
        rc = tar_reader_feed(r, data + off, n, &err);
        off += n;
    }
    if (rc == 0)
        tar_reader_finish(r, &err);
    tar_reader_free(r);

    /* Writer round trip. */
    if (size <= 24)
        return 0;
    char path[300], link[300];
    size_t pl = CZ_MIN((size_t)data[1] + 1, size - 24), ll = CZ_MIN((size_t)data[2], size - 24);
    pl = CZ_MIN(pl, sizeof(path) - 1);
    ll = CZ_MIN(ll, sizeof(link) - 1);
    for (size_t i = 0; i < pl; i++)
        path[i] = (char)(data[24 + i] % 94 + 33); /* printable, no NUL */
    path[pl] = '\0';
    for (size_t i = 0; i < ll; i++)
        link[i] = (char)(data[24 + (i % (size - 24))] % 94 + 33);
    link[ll] = '\0';
    uint64_t big;
    memcpy(&big, data + 3, 8);
    tar_entry e = {.path = path, .linkpath = link, .type = ll ? '2' : '0',
                   .mode = (uint32_t)(big & 07777), .uid = (uint32_t)(big >> 12),
                   .gid = (uint32_t)(big >> 20), .mtime_sec = (int64_t)(big >> 8) - (1 << 20),
                   .mtime_nsec = (uint32_t)((big >> 3) % 1000000000u)};
    cz_buf out = {0};
    tar_write_header(&out, &e);
    seen back = {0};
    r = tar_reader_new(&ops, &back);
    if (tar_reader_feed(r, (const uint8_t *)out.data, out.len, &err) < 0 || back.entries != 1 ||
        strcmp(back.path, path) != 0 || strcmp(back.link, link) != 0 ||
        back.last.mode != e.mode || back.last.uid != e.uid || back.last.gid != e.gid ||
        back.last.mtime_sec != e.mtime_sec || back.last.mtime_nsec != e.mtime_nsec)
        abort();
    tar_reader_free(r);
    cz_buf_free(&out);
    return 0;
}
