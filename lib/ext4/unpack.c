/* OCI layers into an ext4 image: each tar entry becomes a writer call, in
 * layer order, with whiteouts (.wh.NAME, .wh..wh..opq), replacements and
 * hard links resolved in the writer's in-memory tree. gzip layers are
 * inflated with ISA-L (several times faster than zlib); libarchive reads the
 * tar and decodes every other compression. */
#include <cz/ext4.h>

#include "base/log.h"
#include "base/util.h"
#include "ext4/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <zstd.h>

/* Small buffers stay in cache between the decoder and its reader; the
 * reader keeps up, so a short ring is enough (measured: 1 MiB chunks or 8
 * of them are no faster, and cost more page faults). */
#define IN_SIZE (128u << 10)
#define CHUNK_SIZE (256u << 10)
#define N_CHUNKS 4
#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

/* --- pax records libarchive loses --------------------------------------- */
/* libarchive (3.6.2) cuts a pax path at a NUL byte and mis-normalizes negative
 * fractional times (-1000000000.5 becomes -1000000000 s + 0.5 s, -0.75 becomes
 * +0.75). The tar stream handed to libarchive is scanned on the side for pax
 * headers ('x' blocks with a valid checksum at 512-byte offsets) saying either;
 * what they say is applied to the entry whose headers libarchive read from the
 * range holding that block, so blocks inside file data never match. */
#define PAX_MAX (1u << 20) /* bigger pax headers are not inspected */
#define PAX_CAPTURES 4

struct pax_fix {
    uint64_t off; /* stream offset of the pax header block */
    bool nul;     /* a NUL inside path, linkpath or GNU.sparse.name */
    bool neg[3];  /* mtime, atime, ctime negative with a fraction: sec/nsec */
    int64_t sec[3];
    uint32_t nsec[3];
};

struct paxscan {
    uint64_t pos; /* stream offset of the next byte fed */
    uint8_t blk[512];
    size_t blk_len; /* a block split across chunks */
    struct {
        uint64_t off;
        size_t need;
        cz_buf body;
    } cap[PAX_CAPTURES]; /* pax bodies split across chunks */
    size_t n_cap;
    struct pax_fix *fix; /* notable pax headers not yet matched */
    size_t n_fix;
    bool off; /* the stream is compressed: libarchive decodes it */
};

static uint64_t octal(const uint8_t *p, size_t n, bool *ok)
{
    uint64_t v = 0;
    size_t i = 0;
    *ok = false;
    while (i < n && p[i] == ' ')
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (v >> 60)
            return 0;
        v = v * 8 + (uint64_t)(p[i] - '0');
        *ok = true;
    }
    return v;
}

/* A pax time "-I.F" that is negative with a nonzero fraction, as sec/nsec. */
static bool pax_neg_time(const char *v, size_t n, int64_t *sec, uint32_t *nsec)
{
    if (n < 2 || v[0] != '-')
        return false;
    size_t i = 1;
    int64_t ip = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
        if (i > 18)
            return false;
        ip = ip * 10 + (v[i] - '0');
    }
    if (i == 1 || i >= n || v[i] != '.')
        return false;
    uint32_t f = 0, scale = 100000000;
    for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, scale /= 10)
        f += (uint32_t)(v[i] - '0') * scale;
    if (!f)
        return false;
    *sec = -ip - 1;
    *nsec = 1000000000u - f;
    return true;
}

/* Records "LEN KEY=VALUE\n" of the pax header at off. */
static void pax_parse(struct paxscan *ps, uint64_t off, const uint8_t *b, size_t n)
{
    static const char *const times[] = {"mtime", "atime", "ctime"};
    struct pax_fix f = {.off = off};
    bool notable = false;
    size_t i = 0;
    while (i < n) {
        size_t len = 0, j = i;
        while (j < n && b[j] >= '0' && b[j] <= '9' && len < PAX_MAX)
            len = len * 10 + (size_t)(b[j++] - '0');
        if (j >= n || b[j] != ' ' || len <= j - i || len > n - i || b[i + len - 1] != '\n')
            break; /* malformed: libarchive says so */
        const uint8_t *k = b + j + 1, *end = b + i + len - 1;
        const uint8_t *eq = memchr(k, '=', (size_t)(end - k));
        if (eq) {
            size_t kl = (size_t)(eq - k), vl = (size_t)(end - eq - 1);
            const char *v = (const char *)eq + 1;
            if ((kl == 4 && !memcmp(k, "path", 4)) || (kl == 8 && !memcmp(k, "linkpath", 8)) ||
                (kl == 15 && !memcmp(k, "GNU.sparse.name", 15)))
                f.nul |= memchr(v, 0, vl) != NULL;
            for (int t = 0; t < 3; t++)
                if (kl == 5 && !memcmp(k, times[t], 5))
                    f.neg[t] = pax_neg_time(v, vl, &f.sec[t], &f.nsec[t]);
        }
        i += len;
    }
    notable = f.nul || f.neg[0] || f.neg[1] || f.neg[2];
    if (!notable)
        return;
    ps->fix = cz_xrealloc(ps->fix, (ps->n_fix + 1) * sizeof(*ps->fix));
    ps->fix[ps->n_fix++] = f;
}

/* The header block hdr at off; its body starts at rest (avail bytes here). */
static void pax_block(struct paxscan *ps, const uint8_t *hdr, uint64_t off, const uint8_t *rest,
                      size_t avail)
{
    if (hdr[156] != 'x' && hdr[156] != 'X')
        return;
    bool ok;
    uint64_t sum = octal(hdr + 148, 8, &ok), u = 0;
    int64_t sg = 0;
    for (size_t i = 0; i < 512; i++) {
        uint8_t c = i >= 148 && i < 156 ? ' ' : hdr[i];
        u += c;
        sg += (int8_t)c;
    }
    if (!ok || (sum != u && (int64_t)sum != sg))
        return;
    uint64_t size = octal(hdr + 124, 12, &ok);
    if (!ok || size > PAX_MAX)
        return;
    if (size <= avail) {
        pax_parse(ps, off, rest, size);
    } else if (ps->n_cap < PAX_CAPTURES) {
        ps->cap[ps->n_cap].off = off;
        ps->cap[ps->n_cap].need = size - avail;
        ps->cap[ps->n_cap].body = (cz_buf){0};
        cz_buf_append(&ps->cap[ps->n_cap].body, rest, avail);
        ps->n_cap++;
    }
}

/* The next len bytes of the tar stream. */
static void pax_feed(struct paxscan *ps, const uint8_t *d, size_t len)
{
    if (ps->off || !len)
        return;
    for (size_t c = 0; c < ps->n_cap;) {
        size_t take = CZ_MIN(ps->cap[c].need, len);
        cz_buf_append(&ps->cap[c].body, d, take);
        ps->cap[c].need -= take;
        if (ps->cap[c].need) {
            c++;
            continue;
        }
        pax_parse(ps, ps->cap[c].off, (const uint8_t *)ps->cap[c].body.data, ps->cap[c].body.len);
        cz_buf_free(&ps->cap[c].body);
        ps->cap[c] = ps->cap[--ps->n_cap];
    }
    size_t i = 0;
    if (ps->blk_len) {
        size_t take = CZ_MIN(512 - ps->blk_len, len);
        memcpy(ps->blk + ps->blk_len, d, take);
        ps->blk_len += take;
        i = take;
        if (ps->blk_len == 512) {
            ps->blk_len = 0;
            pax_block(ps, ps->blk, ps->pos - (512 - take), d + i, len - i);
        }
    }
    for (; i + 512 <= len; i += 512)
        pax_block(ps, d + i, ps->pos + i, d + i + 512, len - i - 512);
    if (i < len) {
        memcpy(ps->blk, d + i, len - i);
        ps->blk_len = len - i;
    }
    ps->pos += len;
}

static void pax_free(struct paxscan *ps)
{
    for (size_t c = 0; c < ps->n_cap; c++)
        cz_buf_free(&ps->cap[c].body);
    free(ps->fix);
    *ps = (struct paxscan){0};
}

/* What the pax headers of the entry just read (stream range [start, end)) say. */
static void pax_match(struct paxscan *ps, uint64_t start, uint64_t end, struct pax_fix *out)
{
    *out = (struct pax_fix){0};
    size_t k = 0;
    for (size_t i = 0; i < ps->n_fix; i++) {
        struct pax_fix *f = &ps->fix[i];
        if (f->off >= end) {
            ps->fix[k++] = *f;
            continue;
        }
        if (f->off < start)
            continue;
        out->nul |= f->nul;
        for (int t = 0; t < 3; t++) {
            if (!f->neg[t])
                continue;
            out->neg[t] = true;
            out->sec[t] = f->sec[t];
            out->nsec[t] = f->nsec[t];
        }
    }
    ps->n_fix = k;
}

/* After archive_read_next_header: the fixes for this entry. */
static void pax_entry(struct paxscan *ps, struct archive *a, struct pax_fix *out)
{
    *out = (struct pax_fix){0};
    if (!ps || ps->off)
        return;
    if (archive_filter_count(a) > 1) { /* libarchive decompresses: we saw no tar */
        pax_free(ps);
        ps->off = true;
        return;
    }
    la_int64_t start = archive_read_header_position(a), end = archive_filter_bytes(a, 0);
    if (start >= 0 && end >= start)
        pax_match(ps, (uint64_t)start, (uint64_t)end, out);
}

static void pax_times(const struct pax_fix *f, struct cz_ext4_attr *at)
{
    int64_t *sec[3] = {&at->mtime, &at->atime, &at->ctime};
    uint32_t *nsec[3] = {&at->mtime_ns, &at->atime_ns, &at->ctime_ns};
    for (int t = 0; t < 3; t++) {
        if (f->neg[t]) {
            *sec[t] = f->sec[t];
            *nsec[t] = f->nsec[t];
        }
    }
}

/* --- the decoder thread -------------------------------------------------------
 * A layer's bytes are read and decompressed (gzip with ISA-L, zstd with
 * libzstd; anything else is handed to libarchive as it is) by a thread of
 * its own into a ring of chunks, while the calling thread parses the tar
 * and writes the image: the two costs overlap instead of adding up. */
enum codec { CODEC_RAW, CODEC_GZIP, CODEC_ZSTD };

struct source {
    /* producer side: the input and its decoder */
    int fd;              /* -1: the input is mem */
    const uint8_t *next; /* input not yet decoded */
    size_t avail;
    bool eof; /* no input beyond next/avail */
    uint8_t *in;
    enum codec codec;
    struct inflate_state gz;
    bool gz_member_done;
    ZSTD_DStream *zs;
    size_t zs_ret; /* last ZSTD_decompressStream result: 0 at a frame's end */

    /* the ring, under mu */
    pthread_mutex_t mu;
    pthread_cond_t filled_cv, free_cv;
    uint8_t *chunk[N_CHUNKS];
    size_t chunk_len[N_CHUNKS];
    unsigned head, n_filled; /* next chunk to fill; chunks filled or held by the reader */
    bool held;               /* the reader holds chunk[(head - n_filled) % N_CHUNKS] */
    bool done, stop;
    cz_error err; /* why the decoder stopped early */
    pthread_t thread;

    /* consumer side: progress */
    uint64_t bytes;
    cz_unpack_progress_fn progress;
    void *progress_arg;
    struct cz_unpack_progress p;
    uint64_t last_report;
    struct paxscan scan;
};

static void report(struct source *s, bool force)
{
    if (!s->progress)
        return;
    uint64_t now = cz_now_ns();
    if (!force && now - s->last_report < 100000000ull)
        return;
    s->last_report = now;
    s->p.bytes = s->bytes;
    s->progress(&s->p, s->progress_arg);
}

static const char *gzip_error(int r)
{
    switch (r) {
    case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
        return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
        return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
        return "checksum mismatch";
    }
    return "inflate error";
}

static ssize_t read_fd(int fd, uint8_t *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

/* More input once the current input is used up. */
static int refill(struct source *s)
{
    if (s->avail || s->eof)
        return 0;
    ssize_t r = read_fd(s->fd, s->in, IN_SIZE);
    if (r < 0)
        return cz_error_errno(&s->err, errno, "read layer");
    s->eof = r == 0;
    s->next = s->in;
    s->avail = (size_t)r;
    return 0;
}

static int fill_raw(struct source *s, uint8_t *buf, size_t *len)
{
    size_t n = CZ_MIN(s->avail, CHUNK_SIZE - *len);
    if (n) { /* an empty layer in memory may have no address at all */
        memcpy(buf + *len, s->next, n);
        *len += n;
        s->next += n;
        s->avail -= n;
    }
    while (*len < CHUNK_SIZE && !s->eof) { /* straight into the chunk, no copy */
        ssize_t r = read_fd(s->fd, buf + *len, CHUNK_SIZE - *len);
        if (r < 0)
            return cz_error_errno(&s->err, errno, "read layer");
        s->eof = r == 0;
        *len += (size_t)r;
    }
    return 0;
}

static int fill_gzip(struct source *s, uint8_t *buf, size_t *len)
{
    while (*len < CHUNK_SIZE) {
        if (refill(s) < 0)
            return -1;
        if (s->gz_member_done) {
            if (!s->avail)
                return 0; /* the end */
            /* another gzip member follows (concatenated streams) */
            isal_inflate_init(&s->gz);
            s->gz.crc_flag = ISAL_GZIP;
            s->gz_member_done = false;
        }
        s->gz.next_in = (uint8_t *)s->next;
        s->gz.avail_in = (uint32_t)s->avail;
        s->gz.next_out = buf + *len;
        s->gz.avail_out = (uint32_t)(CHUNK_SIZE - *len);
        int r = isal_inflate(&s->gz);
        if (r != ISAL_DECOMP_OK)
            return cz_error_set(&s->err, EINVAL, "corrupt gzip stream: %s", gzip_error(r));
        size_t got = CHUNK_SIZE - *len - s->gz.avail_out;
        *len += got;
        s->next = s->gz.next_in;
        s->avail = s->gz.avail_in;
        if (s->gz.block_state == ISAL_BLOCK_FINISH)
            s->gz_member_done = true;
        else if (!got && !s->avail && s->eof)
            return cz_error_set(&s->err, EINVAL, "truncated gzip stream");
    }
    return 0;
}

static int fill_zstd(struct source *s, uint8_t *buf, size_t *len)
{
    while (*len < CHUNK_SIZE) {
        if (refill(s) < 0)
            return -1;
        if (!s->avail && s->eof && s->zs_ret == 0)
            return 0; /* the end, after a whole frame */
        ZSTD_inBuffer in = {s->next, s->avail, 0};
        ZSTD_outBuffer out = {buf, CHUNK_SIZE, *len};
        size_t r = ZSTD_decompressStream(s->zs, &out, &in);
        if (ZSTD_isError(r))
            return cz_error_set(&s->err, EINVAL, "corrupt zstd stream: %s", ZSTD_getErrorName(r));
        bool progress = in.pos || out.pos > *len;
        s->next += in.pos;
        s->avail -= in.pos;
        *len = out.pos;
        s->zs_ret = r;
        if (!progress && !s->avail && s->eof)
            return cz_error_set(&s->err, EINVAL, "truncated zstd stream");
    }
    return 0;
}

static void *decode_thread(void *arg)
{
    struct source *s = arg;
    bool end = false;
    int r = 0;
    pthread_mutex_lock(&s->mu);
    while (!end && r == 0) {
        while (s->n_filled == N_CHUNKS && !s->stop)
            pthread_cond_wait(&s->free_cv, &s->mu);
        if (s->stop)
            break;
        unsigned slot = s->head;
        pthread_mutex_unlock(&s->mu);
        /* the slot is the producer's alone until published */
        size_t len = 0;
        r = s->codec == CODEC_GZIP   ? fill_gzip(s, s->chunk[slot], &len)
            : s->codec == CODEC_ZSTD ? fill_zstd(s, s->chunk[slot], &len)
                                     : fill_raw(s, s->chunk[slot], &len);
        end = len < CHUNK_SIZE;
        pthread_mutex_lock(&s->mu);
        if (len) {
            s->chunk_len[slot] = len;
            s->head = (slot + 1) % N_CHUNKS;
            s->n_filled++;
        }
        pthread_cond_signal(&s->filled_cv);
    }
    s->done = true;
    pthread_cond_signal(&s->filled_cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* libarchive's read callback: the next decoded chunk. The previous one is
 * handed back to the decoder only now, as libarchive may use it until then. */
static la_ssize_t source_read(struct archive *a, void *arg, const void **buf)
{
    struct source *s = arg;
    pthread_mutex_lock(&s->mu);
    if (s->held) {
        s->held = false;
        s->n_filled--;
        pthread_cond_signal(&s->free_cv);
    }
    while (!s->n_filled && !s->done)
        pthread_cond_wait(&s->filled_cv, &s->mu);
    if (!s->n_filled) {
        int code = s->err.code;
        pthread_mutex_unlock(&s->mu);
        if (code) {
            archive_set_error(a, code, "%s", s->err.msg);
            return -1;
        }
        return 0;
    }
    unsigned slot = (s->head + N_CHUNKS - s->n_filled) % N_CHUNKS;
    s->held = true;
    size_t len = s->chunk_len[slot];
    pthread_mutex_unlock(&s->mu);
    *buf = s->chunk[slot];
    pax_feed(&s->scan, s->chunk[slot], len); /* the tar stream, whatever its codec */
    s->bytes += len;
    report(s, false);
    return (la_ssize_t)len;
}

static void source_free(struct source *s)
{
    if (s->zs)
        ZSTD_freeDStream(s->zs);
    for (unsigned i = 0; i < N_CHUNKS; i++)
        free(s->chunk[i]);
    free(s->in);
    pthread_cond_destroy(&s->filled_cv);
    pthread_cond_destroy(&s->free_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Sniff the compression and start the decoder thread; the input is fd, or
 * mem/len when fd is -1. NULL (err set) when the thread cannot start. */
static struct source *source_start(int fd, const void *mem, size_t len, cz_error *err)
{
    struct source *s = cz_xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->filled_cv, NULL);
    pthread_cond_init(&s->free_cv, NULL);
    s->fd = fd;
    if (fd >= 0) {
        s->in = cz_xmalloc(IN_SIZE);
        s->next = s->in;
        while (s->avail < 4 && !s->eof) { /* enough to recognize the format */
            ssize_t r = read_fd(fd, s->in + s->avail, IN_SIZE - s->avail);
            if (r < 0) {
                cz_error_errno(err, errno, "read");
                source_free(s);
                return NULL;
            }
            s->eof = r == 0;
            s->avail += (size_t)r;
        }
    } else {
        s->next = mem;
        s->avail = len;
        s->eof = true;
    }
    const uint8_t *m = s->next;
    if (s->avail >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        s->codec = CODEC_GZIP;
        isal_inflate_init(&s->gz);
        s->gz.crc_flag = ISAL_GZIP;
    } else if (s->avail >= 4 && get32(m) == 0xFD2FB528u) {
        s->codec = CODEC_ZSTD;
        s->zs = ZSTD_createDStream();
        s->zs_ret = 1;
        if (!s->zs) {
            source_free(s);
            cz_error_set(err, ENOMEM, "zstd decoder");
            return NULL;
        }
    }
    for (unsigned i = 0; i < N_CHUNKS; i++)
        s->chunk[i] = cz_xmalloc(CHUNK_SIZE);
    /* the decoder takes no signals: they stay with the caller's threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&s->thread, NULL, decode_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        source_free(s);
        cz_error_errno(err, r, "start the layer decoder thread");
        return NULL;
    }
    return s;
}

/* Stop the decoder (the tar may end before the stream does) and free it. */
static void source_stop(struct source *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->free_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    source_free(s);
}

/* --- entries ------------------------------------------------------------- */
struct applier {
    cz_ext4 *w;
    const char *layer;
    struct source *src;
    struct pax_fix fix; /* what libarchive lost from this entry's pax header */
};

/* "a/b/c/" -> dir "a/b", base "c" (in buf) */
static void split_path(const char *path, char **dir, char **base)
{
    char *p = cz_xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    char *slash = strrchr(p, '/');
    if (slash) {
        *base = cz_xstrdup(slash + 1);
        *slash = 0;
        *dir = p;
    } else {
        *base = p;
        *dir = cz_xstrdup(".");
    }
}

static int opaque(cz_ext4 *w, const char *dirpath, cz_error *err)
{
    struct ext4_node *dir;
    const char *last;
    size_t len;
    cz_autofree char *p = cz_xasprintf("%s/", dirpath);
    if (ext4_resolve_parent(w, p, &dir, &last, &len, err) < 0)
        return -1;
    if (len) {
        struct ext4_node *n = ext4_lookup(w, dir, last, len);
        if (!n)
            return 0;
        dir = n;
    }
    if (!ext4_is_dir(dir))
        return cz_error_set(err, ENOTDIR, "opaque marker in '%s', not a directory", dirpath);
    struct ext4_node *c = dir->child;
    while (c) {
        struct ext4_node *next = c->next;
        if (c->layer < w->layer)
            ext4_node_remove(w, c);
        c = next;
    }
    return 0;
}

static int whiteout(cz_ext4 *w, const char *dirpath, const char *name, cz_error *err)
{
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return cz_error_set(err, EINVAL, "whiteout of '%s'", name);
    cz_autofree char *path = cz_xasprintf("%s/%s", dirpath, name);
    struct ext4_node *dir;
    const char *last;
    size_t len;
    if (ext4_resolve_parent(w, path, &dir, &last, &len, err) < 0)
        return -1;
    struct ext4_node *n = len ? ext4_lookup(w, dir, last, len) : NULL;
    if (!n)
        return cz_error_set(err, ENOENT, "whiteout of '%s', which does not exist", path);
    if (n->layer < w->layer) /* whiteouts hide lower layers only */
        ext4_node_remove(w, n);
    return 0;
}

static int acl_tag(int tag)
{
    switch (tag) {
    case ARCHIVE_ENTRY_ACL_USER_OBJ:
        return 0x01;
    case ARCHIVE_ENTRY_ACL_USER:
        return 0x02;
    case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
        return 0x04;
    case ARCHIVE_ENTRY_ACL_GROUP:
        return 0x08;
    case ARCHIVE_ENTRY_ACL_MASK:
        return 0x10;
    case ARCHIVE_ENTRY_ACL_OTHER:
        return 0x20;
    }
    return -1;
}

static int cmp_acl(const void *a, const void *b)
{
    const uint8_t *x = a, *y = b;
    if (get16(x) != get16(y))
        return get16(x) - get16(y);
    return get32(x + 4) < get32(y + 4) ? -1 : get32(x + 4) > get32(y + 4);
}

/* Text ACLs (SCHILY.acl.*) parsed by libarchive, as system.posix_acl_* xattrs. */
static int apply_acls(struct applier *ap, struct archive_entry *e, const char *path, cz_error *err)
{
    static const struct {
        int type;
        const char *xattr;
    } kinds[] = {{ARCHIVE_ENTRY_ACL_TYPE_ACCESS, "system.posix_acl_access"},
                 {ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, "system.posix_acl_default"}};
    for (size_t k = 0; k < CZ_ARRAY_SIZE(kinds); k++) {
        int n = archive_entry_acl_reset(e, kinds[k].type);
        if (n <= 0 || n > 1024)
            continue;
        uint8_t *v = cz_xcalloc(1, 4 + 8 * ((size_t)n + 4));
        size_t cnt = 0;
        int type, perm, tag, qual;
        const char *name;
        put32(v, 0, 2);
        while (cnt < (size_t)n + 4 && archive_entry_acl_next(e, kinds[k].type, &type, &perm, &tag,
                                                             &qual, &name) == ARCHIVE_OK) {
            int t = acl_tag(tag);
            if (t < 0)
                continue;
            uint8_t *p = v + 4 + cnt * 8;
            put16(p, 0, (uint16_t)t);
            put16(p, 2, (uint16_t)(perm & 7));
            put32(p, 4, (t == 0x02 || t == 0x08) ? (uint32_t)qual : 0xFFFFFFFFu);
            cnt++;
        }
        qsort(v + 4, cnt, 8, cmp_acl);
        int r = cnt ? cz_ext4_set_xattr(ap->w, path, kinds[k].xattr, v, 4 + cnt * 8, err) : 0;
        free(v);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Under a root-level .wh..wh.* name (aufs metadata: .wh..wh.plnk/, .wh..wh.aufs,
 * .wh..wh.orph/), other than the root's own opaque marker: skipped, children too,
 * as Docker does. */
static bool aufs_meta(const char *path)
{
    for (;;) {
        if (*path == '/')
            path++;
        else if (path[0] == '.' && path[1] == '/')
            path += 2;
        else
            break;
    }
    if (!cz_str_has_prefix(path, ".wh..wh."))
        return false;
    size_t n = strcspn(path, "/");
    return n != strlen(OPAQUE) || strncmp(path, OPAQUE, n) || path[n + strspn(path + n, "/")];
}

static int apply_entry(struct applier *ap, struct archive *a, struct archive_entry *e,
                       const char *path, cz_error *err)
{
    cz_ext4 *w = ap->w;
    if (ap->fix.nul)
        return cz_error_set(err, EINVAL, "NUL byte inside the path in its pax header");
    if (aufs_meta(path))
        return 0;
    cz_autofree char *dir = NULL, *base = NULL;
    split_path(path, &dir, &base);
    if (cz_str_has_prefix(base, WHITEOUT)) {
        if (!strcmp(base, OPAQUE))
            return opaque(w, dir, err);
        if (cz_str_has_prefix(base, ".wh..wh."))
            return 0; /* aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not content */
        return whiteout(w, dir, base + strlen(WHITEOUT), err);
    }
    const char *hardlink = archive_entry_hardlink(e);
    if (hardlink)
        return cz_ext4_link(w, path, hardlink, err);

    struct cz_ext4_attr at = {0};
    at.mode = archive_entry_mode(e);
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
        return cz_error_set(err, ERANGE, "uid/gid %lld/%lld out of range", (long long)uid,
                            (long long)gid);
    at.uid = (uint32_t)uid;
    at.gid = (uint32_t)gid;
    at.mtime = archive_entry_mtime(e);
    at.mtime_ns = (uint32_t)archive_entry_mtime_nsec(e);
    at.atime = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : at.mtime;
    at.atime_ns =
        archive_entry_atime_is_set(e) ? (uint32_t)archive_entry_atime_nsec(e) : at.mtime_ns;
    at.ctime = archive_entry_ctime_is_set(e) ? archive_entry_ctime(e) : at.mtime;
    at.ctime_ns =
        archive_entry_ctime_is_set(e) ? (uint32_t)archive_entry_ctime_nsec(e) : at.mtime_ns;
    pax_times(&ap->fix, &at);
    at.dev_major = (uint32_t)archive_entry_rdevmajor(e);
    at.dev_minor = (uint32_t)archive_entry_rdevminor(e);
    la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0)
        return cz_error_set(err, EINVAL, "negative size");
    at.size = (uint64_t)size;
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFLNK:
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
    case AE_IFSOCK:
        break;
    default:
        return cz_error_set(err, EINVAL, "unsupported entry type %#o",
                            (unsigned)archive_entry_filetype(e));
    }
    if (cz_ext4_add(w, path, &at, archive_entry_symlink(e), err) < 0)
        return -1;
    /* xattrs (SCHILY.xattr.*, LIBARCHIVE.xattr.*) and text ACLs */
    const char *xname;
    const void *xval;
    size_t xlen;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
        cz_error xe = {0};
        if (cz_ext4_set_xattr(w, path, xname, xval, xlen, &xe) < 0) {
            if (xe.code == ENOTSUP) {
                cz_debug("layer %s: entry '%s': %s: skipped", ap->layer, path, xe.msg);
                continue;
            }
            *err = xe;
            return -1;
        }
    }
    if (apply_acls(ap, e, path, err) < 0)
        return -1;
    if (!S_ISREG(at.mode))
        return 0;
    /* contents, straight from libarchive's buffers */
    const void *buf;
    size_t len;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return cz_error_set(err, EIO, "%s", archive_error_string(a));
        if (off < 0 || (uint64_t)off > at.size || len > at.size - (uint64_t)off)
            return cz_error_set(err, EINVAL, "data beyond the entry's size");
        if (len && cz_ext4_write(w, (uint64_t)off, buf, len, err) < 0) {
            if (err->code == ENOSPC) /* err->msg is "no space left in the image (SIZE)" */
                return cz_error_wrap(err, "%llu bytes", (unsigned long long)at.size);
            return -1;
        }
    }
    return 0;
}

/* "layer L: entry 'NAME': <err>", with the name and the writer's message (which
 * may quote parts of it) escaped: one line, no control bytes. */
static int entry_error(cz_error *err, const char *layer, const char *path)
{
    cz_autofree char *q = cz_str_escape(path), *why = cz_str_escape(err->msg);
    return cz_error_set(err, err->code, "layer %s: entry '%s': %s", layer, q, why);
}

static int apply_archive(cz_ext4 *w, struct archive *a, const char *name, size_t layer_index,
                         struct source *src, struct paxscan *scan, cz_error *err)
{
    struct applier ap = {w, name, src, {0}};
    w->layer = (uint32_t)layer_index + 1;
    struct archive_entry *e;
    uint64_t count = 0;
    char last[256] = "";
    int r = 0;
    for (;;) {
        int ar = archive_read_next_header(a, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
            /* ARCHIVE_RETRY: a header libarchive could not use (bad checksum) */
            const char *why = archive_error_string(a);
            if (!why)
                why = "corrupt archive";
            const char *what = ar == ARCHIVE_RETRY ? "bad tar header: " : "";
            cz_autofree char *qlast = cz_str_escape(last), *qwhy = cz_str_escape(why);
            r = last[0] ? cz_error_set(err, EINVAL, "layer %s: after entry '%s': %s%s", name, qlast,
                                       what, qwhy)
                        : cz_error_set(err, EINVAL, "layer %s: %s%s", name, what, qwhy);
            break;
        }
        pax_entry(scan, a, &ap.fix);
        const char *path = archive_entry_pathname(e);
        if (!path || !*path) {
            r = cz_error_set(err, EINVAL, "layer %s: entry %llu has an empty name", name,
                             (unsigned long long)count + 1);
            break;
        }
        if (++count > EXT4_MAX_ENTRIES) {
            r = cz_error_set(err, EMFILE, "layer %s: more than %u entries", name, EXT4_MAX_ENTRIES);
            break;
        }
        snprintf(last, sizeof(last), "%s", path);
        const char *lk = archive_entry_hardlink(e);
        if (strlen(path) > 4096 || (lk && strlen(lk) > 4096)) {
            cz_autofree char *q = cz_str_escape(path);
            r = cz_error_set(err, ENAMETOOLONG,
                             "layer %s: entry '%.64s...': path longer than 4096 bytes", name, q);
            break;
        }
        if (apply_entry(&ap, a, e, path, err) < 0) {
            r = entry_error(err, name, path);
            break;
        }
        src->p.entries++;
        report(src, false);
    }
    w->current = NULL;
    report(src, true);
    return r;
}

/* One layer, from fd or (fd -1) from memory, through the decoder thread. */
static int apply_layer(cz_ext4 *w, int fd, const void *data, size_t len, const char *name,
                       size_t layer_index, cz_unpack_progress_fn progress, void *progress_arg,
                       cz_error *err)
{
    struct source *s = source_start(fd, data, len, err);
    if (!s)
        return cz_error_wrap(err, "layer %s", name);
    s->progress = progress;
    s->progress_arg = progress_arg;
    s->p.layer = layer_index;
    struct archive *a = archive_read_new();
    if (s->codec == CODEC_RAW) /* xz, bzip2, ...: libarchive decodes those itself */
        archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int r;
    if (archive_read_open(a, s, NULL, source_read, NULL) != ARCHIVE_OK)
        r = cz_error_set(err, EINVAL, "layer %s: %s", name,
                         archive_error_string(a) ? archive_error_string(a) : "unreadable");
    else
        r = apply_archive(w, a, name, layer_index, s, &s->scan, err);
    archive_read_free(a);
    pax_free(&s->scan);
    source_stop(s);
    return r;
}

int cz_ext4_apply_layer_fd(cz_ext4 *w, int fd, const char *name, size_t layer_index,
                           cz_unpack_progress_fn progress, void *progress_arg, cz_error *err)
{
    return apply_layer(w, fd, NULL, 0, name, layer_index, progress, progress_arg, err);
}

int cz_ext4_apply_layer_mem(cz_ext4 *w, const void *data, size_t len, const char *name,
                            size_t layer_index, cz_error *err)
{
    return apply_layer(w, -1, data, len, name, layer_index, NULL, NULL, err);
}

struct progress_adapter {
    cz_unpack_progress_fn fn;
    void *arg;
    size_t n_layers;
};

static void adapt_progress(const struct cz_unpack_progress *p, void *arg)
{
    struct progress_adapter *pa = arg;
    struct cz_unpack_progress q = *p;
    q.n_layers = pa->n_layers;
    pa->fn(&q, pa->arg);
}

int cz_ext4_unpack_manifest(cz_store *st, const cz_manifest *m, const char *output,
                            const struct cz_unpack_options *o, cz_error *err)
{
    if (m->n_layers > 1000)
        return cz_error_set(err, EINVAL, "image has %zu layers (at most 1000)", m->n_layers);
    cz_ext4 *w;
    if (cz_ext4_open(output, &o->image, &w, err) < 0)
        return -1;
    for (size_t i = 0; i < m->n_layers; i++) {
        const cz_descriptor *d = &m->layers[i];
        int fd = cz_store_open_blob(st, d->digest, err);
        if (fd < 0) {
            cz_ext4_abort(w);
            return cz_error_wrap(err, "layer %s", d->digest);
        }
        struct progress_adapter pa = {o->progress, o->progress_arg, m->n_layers};
        int r = cz_ext4_apply_layer_fd(w, fd, d->digest, i, o->progress ? adapt_progress : NULL,
                                       &pa, err);
        close(fd);
        if (r < 0) {
            cz_ext4_abort(w);
            return -1;
        }
    }
    return cz_ext4_finish(w, err);
}
