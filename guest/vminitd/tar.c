/* Tar, streaming: the reader is a state machine over 512-byte blocks (header,
 * meta records, data, padding) fed arbitrary chunks; the writer emits ustar
 * headers with pax records for what ustar cannot hold. */
#include "tar.h"

#include "base/util.h"

#include <errno.h>

enum state { ST_HEADER, ST_META, ST_DATA, ST_PAD, ST_DONE };

struct tar_reader {
    const tar_ops *ops;
    void *ctx;
    enum state state;
    uint8_t block[TAR_BLOCK];
    size_t block_len;
    uint64_t remaining; /* data or meta bytes left */
    size_t pad;         /* padding bytes left */
    char meta_type;     /* 'x', 'g', 'L', 'K' */
    cz_buf meta;
    bool zero_seen; /* one zero block seen */
    uint64_t entries;
    /* pending overrides from pax 'x' / GNU 'L' 'K' for the next entry */
    char *next_path, *next_link;
    bool has_size, has_uid, has_gid, has_mtime;
    uint64_t size;
    uint32_t uid, gid;
    int64_t mtime_sec;
    uint32_t mtime_nsec;
    /* the entry being delivered */
    char *path, *link;
};

tar_reader *tar_reader_new(const tar_ops *ops, void *ctx)
{
    tar_reader *r = cz_xcalloc(1, sizeof(*r));
    r->ops = ops;
    r->ctx = ctx;
    return r;
}

static void clear_pending(tar_reader *r)
{
    free(r->next_path);
    free(r->next_link);
    r->next_path = r->next_link = NULL;
    r->has_size = r->has_uid = r->has_gid = r->has_mtime = false;
}

void tar_reader_free(tar_reader *r)
{
    if (!r)
        return;
    clear_pending(r);
    cz_buf_free(&r->meta);
    free(r->path);
    free(r->link);
    free(r);
}

uint64_t tar_reader_entries(const tar_reader *r)
{
    return r->entries;
}

/* An octal field (NUL/space terminated) or GNU base-256 (high bit of byte 0). */
static int parse_number(const uint8_t *f, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] & 0x40)
            return -1; /* negative */
        v = f[0] & 0x3f;
        for (size_t i = 1; i < len; i++) {
            if (v >> 56)
                return -1;
            v = v << 8 | f[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    bool any = false;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
        any = true;
    }
    if (i < len && f[i] != ' ' && f[i] != '\0')
        return -1;
    *out = any ? v : 0;
    return 0;
}

static bool is_zero_block(const uint8_t *b)
{
    for (size_t i = 0; i < TAR_BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

static bool checksum_ok(const uint8_t *b)
{
    uint64_t want;
    if (parse_number(b + 148, 8, &want) < 0)
        return false;
    uint64_t sum_u = 0;
    int64_t sum_s = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++) {
        uint8_t c = (i >= 148 && i < 156) ? ' ' : b[i];
        sum_u += c;
        sum_s += (int8_t)c;
    }
    return want == sum_u || (int64_t)want == sum_s;
}

static char *field_str(const uint8_t *f, size_t len)
{
    size_t n = strnlen((const char *)f, len);
    return cz_xstrndup((const char *)f, n);
}

/* pax records: "LEN key=value\n", LEN counting the whole record. */
static int parse_pax(tar_reader *r, cz_error *err)
{
    const char *p = r->meta.data ? r->meta.data : "";
    size_t left = r->meta.len;
    while (left > 0) {
        size_t len = 0, i = 0;
        while (i < left && p[i] >= '0' && p[i] <= '9' && i < 8)
            len = len * 10 + (size_t)(p[i++] - '0');
        if (i == 0 || i >= left || p[i] != ' ' || len <= i + 1 || len > left || p[len - 1] != '\n')
            return cz_error_set(err, EINVAL, "invalid pax record in tar archive");
        const char *kv = p + i + 1;
        size_t kvlen = len - i - 2;
        const char *eq = memchr(kv, '=', kvlen);
        if (!eq)
            return cz_error_set(err, EINVAL, "invalid pax record in tar archive");
        size_t klen = (size_t)(eq - kv);
        const char *v = eq + 1;
        size_t vlen = kvlen - klen - 1;
        if (r->meta_type == 'x') {
#define KEY(s) (klen == strlen(s) && memcmp(kv, s, klen) == 0)
            char num[32];
            bool numeric = vlen < sizeof(num);
            if (numeric) {
                memcpy(num, v, vlen);
                num[vlen] = '\0';
            }
            if (KEY("path") || KEY("linkpath")) {
                if (vlen == 0 || vlen >= TAR_MAX_PATH || memchr(v, '\0', vlen))
                    return cz_error_set(err, EINVAL, "tar archive: invalid pax %s",
                                        KEY("path") ? "path" : "linkpath");
                char **dst = KEY("path") ? &r->next_path : &r->next_link;
                free(*dst);
                *dst = cz_xstrndup(v, vlen);
            } else if (KEY("size") || KEY("uid") || KEY("gid")) {
                char *end;
                errno = 0;
                unsigned long long x = numeric ? strtoull(num, &end, 10) : 0;
                if (!numeric || errno || *end || !vlen || num[0] == '-')
                    return cz_error_set(err, EINVAL, "tar archive: invalid pax number");
                if (KEY("size")) {
                    r->has_size = true;
                    r->size = x;
                } else if (x > UINT32_MAX) {
                    return cz_error_set(err, EINVAL, "tar archive: uid/gid out of range");
                } else if (KEY("uid")) {
                    r->has_uid = true;
                    r->uid = (uint32_t)x;
                } else {
                    r->has_gid = true;
                    r->gid = (uint32_t)x;
                }
            } else if (KEY("mtime")) {
                char *end;
                if (!numeric || !vlen)
                    return cz_error_set(err, EINVAL, "tar archive: invalid pax mtime");
                errno = 0;
                long long s = strtoll(num, &end, 10);
                uint32_t ns = 0;
                if (*end == '.') {
                    uint32_t scale = 100000000;
                    for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
                        ns += (uint32_t)(*end - '0') * scale;
                }
                if (errno || *end)
                    return cz_error_set(err, EINVAL, "tar archive: invalid pax mtime");
                r->has_mtime = true;
                r->mtime_sec = s;
                r->mtime_nsec = ns;
            }
#undef KEY
        }
        p += len;
        left -= len;
    }
    return 0;
}

static int finish_meta(tar_reader *r, cz_error *err)
{
    if (r->meta_type == 'x' || r->meta_type == 'g')
        return parse_pax(r, err);
    /* GNU long name / long link: NUL-terminated string */
    size_t n = strnlen(r->meta.data ? r->meta.data : "", r->meta.len);
    if (n == 0 || n >= TAR_MAX_PATH)
        return cz_error_set(err, EINVAL, "tar archive: invalid GNU long name");
    char **dst = r->meta_type == 'L' ? &r->next_path : &r->next_link;
    free(*dst);
    *dst = cz_xstrndup(r->meta.data, n);
    return 0;
}

static int handle_header(tar_reader *r, cz_error *err)
{
    const uint8_t *b = r->block;
    if (is_zero_block(b)) {
        if (r->zero_seen)
            r->state = ST_DONE;
        r->zero_seen = true;
        return 0;
    }
    if (r->zero_seen)
        return cz_error_set(err, EINVAL, "tar archive: data after an empty block");
    if (!checksum_ok(b))
        return cz_error_set(err, EINVAL, "not a tar archive (bad header checksum)");
    uint64_t size, mode, uid, gid, mtime, dmaj, dmin;
    if (parse_number(b + 124, 12, &size) < 0 || parse_number(b + 100, 8, &mode) < 0 ||
        parse_number(b + 108, 8, &uid) < 0 || parse_number(b + 116, 8, &gid) < 0 ||
        parse_number(b + 136, 12, &mtime) < 0 || parse_number(b + 329, 8, &dmaj) < 0 ||
        parse_number(b + 337, 8, &dmin) < 0)
        return cz_error_set(err, EINVAL, "tar archive: invalid numeric field");
    char type = (char)b[156];
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (size > TAR_MAX_META)
            return cz_error_set(err, EINVAL, "tar archive: %c record of %llu bytes is too large",
                                type, (unsigned long long)size);
        r->meta_type = type;
        r->meta.len = 0;
        r->remaining = size;
        r->pad = tar_padding(size);
        r->state = ST_META;
        if (size > 0)
            return 0;
        r->state = ST_HEADER;
        return finish_meta(r, err);
    }
    free(r->path);
    free(r->link);
    if (r->next_path) {
        r->path = cz_steal_pointer(&r->next_path);
    } else {
        cz_autofree char *name = field_str(b, 100);
        bool ustar = memcmp(b + 257, "ustar", 5) == 0;
        if (ustar && b[345]) {
            cz_autofree char *prefix = field_str(b + 345, 155);
            r->path = cz_xasprintf("%s/%s", prefix, name);
        } else {
            r->path = cz_steal_pointer(&name);
        }
    }
    r->link = r->next_link ? cz_steal_pointer(&r->next_link) : field_str(b + 157, 100);
    tar_entry e = {
        .path = r->path,
        .linkpath = r->link,
        .type = type ? type : '0',
        .mode = (uint32_t)(mode & 07777),
        .uid = r->has_uid ? r->uid : (uint32_t)CZ_MIN(uid, UINT32_MAX),
        .gid = r->has_gid ? r->gid : (uint32_t)CZ_MIN(gid, UINT32_MAX),
        .devmajor = (uint32_t)CZ_MIN(dmaj, UINT32_MAX),
        .devminor = (uint32_t)CZ_MIN(dmin, UINT32_MAX),
        .mtime_sec = r->has_mtime ? r->mtime_sec : (int64_t)CZ_MIN(mtime, (uint64_t)INT64_MAX),
        .mtime_nsec = r->has_mtime ? r->mtime_nsec : 0,
        .size = r->has_size ? r->size : size,
    };
    clear_pending(r);
    if (!e.path[0])
        return cz_error_set(err, EINVAL, "tar archive: entry without a name");
    if (e.type == '7')
        e.type = '0'; /* contiguous file: a regular file */
    /* Only regular files carry data (hard links, dirs... may declare a size: skip it). */
    uint64_t data = e.size;
    if (e.type != '0')
        e.size = 0;
    if (!strchr("0123456", e.type))
        return cz_error_set(err, EINVAL, "tar archive: unsupported entry type '%c' for %s", e.type,
                            e.path);
    r->entries++;
    if (r->ops->begin(r->ctx, &e, err) < 0)
        return -1;
    if (e.type == '0' && data > 0) {
        r->remaining = data;
        r->pad = tar_padding(data);
        r->state = ST_DATA;
        return 0;
    }
    /* No data, or data of a non-regular entry: skipped, not delivered. */
    if (data > (uint64_t)1 << 62)
        return cz_error_set(err, EINVAL, "tar archive: size out of range for %s", e.path);
    r->pad = (size_t)(data + tar_padding(data));
    r->state = r->pad ? ST_PAD : ST_HEADER;
    return r->ops->end(r->ctx, err);
}

int tar_reader_feed(tar_reader *r, const uint8_t *p, size_t n, cz_error *err)
{
    while (n > 0) {
        switch (r->state) {
        case ST_DONE:
            return 0; /* anything after the end marker is ignored */
        case ST_HEADER: {
            size_t take = CZ_MIN(n, TAR_BLOCK - r->block_len);
            memcpy(r->block + r->block_len, p, take);
            r->block_len += take;
            p += take;
            n -= take;
            if (r->block_len == TAR_BLOCK) {
                r->block_len = 0;
                if (handle_header(r, err) < 0)
                    return -1;
            }
            break;
        }
        case ST_META: {
            size_t take = (size_t)CZ_MIN((uint64_t)n, r->remaining);
            cz_buf_append(&r->meta, p, take);
            p += take;
            n -= take;
            r->remaining -= take;
            if (r->remaining == 0) {
                r->state = ST_PAD;
                if (finish_meta(r, err) < 0)
                    return -1;
                if (r->pad == 0)
                    r->state = ST_HEADER;
            }
            break;
        }
        case ST_DATA: {
            size_t take = (size_t)CZ_MIN((uint64_t)n, r->remaining);
            if (r->ops->data(r->ctx, p, take, err) < 0)
                return -1;
            p += take;
            n -= take;
            r->remaining -= take;
            if (r->remaining == 0) {
                if (r->ops->end(r->ctx, err) < 0)
                    return -1;
                r->state = r->pad ? ST_PAD : ST_HEADER;
            }
            break;
        }
        case ST_PAD: {
            size_t take = CZ_MIN(n, r->pad);
            p += take;
            n -= take;
            r->pad -= take;
            if (r->pad == 0)
                r->state = ST_HEADER;
            break;
        }
        }
    }
    return 0;
}

int tar_reader_finish(tar_reader *r, cz_error *err)
{
    if (r->state == ST_DONE || (r->state == ST_HEADER && r->block_len == 0))
        return 0;
    return cz_error_set(err, EINVAL, "tar archive is truncated");
}

/* ---------------------------------------------------------------- writer */

size_t tar_padding(uint64_t size)
{
    return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}

static void put_octal(uint8_t *f, size_t len, uint64_t v)
{
    /* len-1 octal digits and a NUL */
    for (size_t i = len - 1; i-- > 0;) {
        f[i] = (uint8_t)('0' + (v & 7));
        v >>= 3;
    }
    f[len - 1] = '\0';
}

static bool fits_octal(uint64_t v, size_t len)
{
    return v < ((uint64_t)1 << (3 * (len - 1)));
}

static void pax_record(cz_buf *b, const char *key, const char *value)
{
    size_t body = strlen(key) + strlen(value) + 3; /* ' ' '=' '\n' */
    size_t digits = 1;
    while (true) {
        size_t total = body + digits;
        size_t d = 0;
        for (size_t t = total; t; t /= 10)
            d++;
        if (d == digits)
            break;
        digits = d;
    }
    cz_buf_printf(b, "%zu %s=%s\n", body + digits, key, value);
}

static void header_block(uint8_t *h, const char *name, const char *prefix, const tar_entry *e,
                         char type, uint64_t size, const char *link)
{
    memset(h, 0, TAR_BLOCK);
    memcpy(h, name, CZ_MIN(strlen(name), (size_t)100));
    put_octal(h + 100, 8, e->mode & 07777);
    put_octal(h + 108, 8, fits_octal(e->uid, 8) ? e->uid : 0);
    put_octal(h + 116, 8, fits_octal(e->gid, 8) ? e->gid : 0);
    put_octal(h + 124, 12, fits_octal(size, 12) ? size : 0);
    uint64_t mt = e->mtime_sec > 0 ? (uint64_t)e->mtime_sec : 0;
    put_octal(h + 136, 12, fits_octal(mt, 12) ? mt : 0);
    h[156] = (uint8_t)type;
    memcpy(h + 157, link, CZ_MIN(strlen(link), (size_t)100));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    put_octal(h + 329, 8, fits_octal(e->devmajor, 8) ? e->devmajor : 0);
    put_octal(h + 337, 8, fits_octal(e->devminor, 8) ? e->devminor : 0);
    memcpy(h + 345, prefix, CZ_MIN(strlen(prefix), (size_t)155));
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++)
        sum += h[i];
    put_octal(h + 148, 7, sum);
    h[155] = ' ';
}

void tar_write_header(cz_buf *out, const tar_entry *e)
{
    const char *path = e->path;
    const char *link = e->linkpath ? e->linkpath : "";
    size_t plen = strlen(path);
    char name[101] = "", prefix[156] = "";
    bool need_pax_path = false;
    if (plen <= 100) {
        memcpy(name, path, plen);
    } else {
        /* split at a '/' so that prefix <= 155 and name <= 100 */
        const char *cut = NULL;
        for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/'))
            if ((size_t)(s - path) <= 155 && strlen(s + 1) <= 100 && s + 1 < path + plen)
                cut = s;
        if (cut) {
            memcpy(prefix, path, (size_t)(cut - path));
            memcpy(name, cut + 1, strlen(cut + 1));
        } else {
            need_pax_path = true;
            memcpy(name, path, 100);
        }
    }
    cz_buf pax = {0};
    if (need_pax_path)
        pax_record(&pax, "path", path);
    if (strlen(link) > 100)
        pax_record(&pax, "linkpath", link);
    char num[32];
    if (!fits_octal(e->size, 12)) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)e->size);
        pax_record(&pax, "size", num);
    }
    if (!fits_octal(e->uid, 8)) {
        snprintf(num, sizeof(num), "%u", e->uid);
        pax_record(&pax, "uid", num);
    }
    if (!fits_octal(e->gid, 8)) {
        snprintf(num, sizeof(num), "%u", e->gid);
        pax_record(&pax, "gid", num);
    }
    if (e->mtime_nsec || e->mtime_sec < 0 || !fits_octal((uint64_t)e->mtime_sec, 12)) {
        snprintf(num, sizeof(num), "%lld.%09u", (long long)e->mtime_sec, e->mtime_nsec);
        pax_record(&pax, "mtime", num);
    }
    uint8_t h[TAR_BLOCK];
    if (pax.len) {
        header_block(h, "PaxHeader", "", e, 'x', pax.len, "");
        cz_buf_append(out, h, TAR_BLOCK);
        cz_buf_append(out, pax.data, pax.len);
        static const uint8_t zeros[TAR_BLOCK];
        cz_buf_append(out, zeros, tar_padding(pax.len));
    }
    cz_buf_free(&pax);
    header_block(h, name, prefix, e, e->type, e->size, strlen(link) > 100 ? "" : link);
    cz_buf_append(out, h, TAR_BLOCK);
}
