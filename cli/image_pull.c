/* `container image pull|push`: the registry transfers, with progress on
 * stderr (live bars on a terminal, plain lines otherwise, nothing with
 * --quiet) and docker's summary lines on stdout. */
#include "cli.h"

#include "base/fs.h"
#include "base/util.h"

#include <cz/content.h>
#include <cz/registry.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* --- progress ----------------------------------------------------------- */

struct bar {
    char digest[CZ_DIGEST_MAX];
    const char *kind;
    int64_t size, done;
    enum cz_progress_state state;
    bool printed_final;
};

struct progress {
    bool tty, quiet, push;
    struct bar *bars;
    size_t n;
    int lines_drawn;
    uint64_t start_ns, last_draw_ns;
};

static const char *short_digest(const char *d)
{
    static char buf[16];
    const char *hex = strchr(d, ':');
    snprintf(buf, sizeof(buf), "%.12s", hex ? hex + 1 : d);
    return buf;
}

static const char *state_word(const struct progress *pg, enum cz_progress_state st)
{
    switch (st) {
    case CZ_PROGRESS_WAITING: return "Waiting";
    case CZ_PROGRESS_RUNNING: return pg->push ? "Pushing" : "Downloading";
    case CZ_PROGRESS_RETRYING: return "Retrying";
    case CZ_PROGRESS_DONE: return pg->push ? "Pushed" : "Pull complete";
    case CZ_PROGRESS_EXISTS: return pg->push ? "Layer already exists" : "Already exists";
    case CZ_PROGRESS_MOUNTED: return "Mounted from another repository";
    }
    return "";
}

static bool is_final(enum cz_progress_state st)
{
    return st == CZ_PROGRESS_DONE || st == CZ_PROGRESS_EXISTS || st == CZ_PROGRESS_MOUNTED;
}

static void draw_bar(char *out, size_t outlen, int64_t done, int64_t size)
{
    const int w = 30;
    int fill = size > 0 ? (int)(done * w / size) : 0;
    fill = CZ_MAX(0, CZ_MIN(fill, w));
    char b[64];
    for (int i = 0; i < w; i++)
        b[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    b[w] = 0;
    snprintf(out, outlen, "[%s]", b);
}

/* One line of the live picture, clipped to the terminal's width: a line that
 * wrapped would break the cursor-up count of the next redraw. */
static void __attribute__((format(printf, 2, 3))) put_line(int cols, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    int len = CZ_MIN(n, (int)sizeof(line) - 1);
    if (cols > 1 && len > cols - 1)
        len = cols - 1;
    fprintf(stderr, "\r\033[K%.*s\n", len, line);
}

static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static void redraw(struct progress *pg, bool force)
{
    uint64_t now = cz_now_ns();
    if (!force && now - pg->last_draw_ns < 100000000ull)
        return;
    pg->last_draw_ns = now;
    int cols = terminal_columns();
    if (pg->lines_drawn > 0)
        fprintf(stderr, "\033[%dA", pg->lines_drawn);
    int64_t total = 0, done = 0, moved = 0;
    for (size_t i = 0; i < pg->n; i++) {
        struct bar *b = &pg->bars[i];
        total += b->size > 0 ? b->size : 0;
        done += b->done;
        if (b->state == CZ_PROGRESS_RUNNING || b->state == CZ_PROGRESS_RETRYING ||
            b->state == CZ_PROGRESS_DONE)
            moved += b->done;
        char bar[64] = "", a[32], t[32];
        if (b->state == CZ_PROGRESS_RUNNING || b->state == CZ_PROGRESS_RETRYING) {
            draw_bar(bar, sizeof(bar), b->done, b->size);
            cz_format_size((uint64_t)b->done, a, sizeof(a));
            cz_format_size((uint64_t)CZ_MAX(b->size, 0), t, sizeof(t));
            put_line(cols, "%s: %-11s %s %9s / %s", short_digest(b->digest),
                     state_word(pg, b->state), bar, a, t);
        } else {
            put_line(cols, "%s: %s", short_digest(b->digest), state_word(pg, b->state));
        }
    }
    double secs = (double)(now - pg->start_ns) / 1e9;
    double rate = secs > 0 ? (double)moved / secs : 0;
    char bar[64], a[32], t[32], r[32], eta[32] = "";
    draw_bar(bar, sizeof(bar), done, total);
    cz_format_size((uint64_t)done, a, sizeof(a));
    cz_format_size((uint64_t)total, t, sizeof(t));
    cz_format_size((uint64_t)rate, r, sizeof(r));
    if (rate > 0 && done < total)
        snprintf(eta, sizeof(eta), "  ETA %.0fs", (double)(total - done) / rate);
    put_line(cols, "total        %-11s %s %9s / %s  %s/s%s", "", bar, a, t, r, eta);
    pg->lines_drawn = (int)pg->n + 1;
    fflush(stderr);
}

static void on_progress(void *ctx, const cz_progress *p)
{
    struct progress *pg = ctx;
    if (pg->quiet)
        return;
    struct bar *b = NULL;
    for (size_t i = 0; i < pg->n; i++)
        if (!strcmp(pg->bars[i].digest, p->digest))
            b = &pg->bars[i];
    if (!b) {
        pg->bars = cz_xrealloc(pg->bars, (pg->n + 1) * sizeof(*pg->bars));
        b = &pg->bars[pg->n++];
        memset(b, 0, sizeof(*b));
        snprintf(b->digest, sizeof(b->digest), "%s", p->digest);
    }
    bool changed = b->state != p->state;
    b->kind = p->kind;
    b->size = p->size;
    b->done = p->done;
    b->state = p->state;
    if (pg->tty) {
        redraw(pg, changed && p->state != CZ_PROGRESS_RUNNING);
        return;
    }
    /* plain lines: one per blob when it settles, and when it has to retry */
    if (changed && (is_final(p->state) || p->state == CZ_PROGRESS_RETRYING) &&
        !b->printed_final) {
        char sz[32];
        cz_format_size((uint64_t)CZ_MAX(p->size, 0), sz, sizeof(sz));
        fprintf(stderr, "%s: %s (%s %s)\n", short_digest(p->digest), state_word(pg, p->state),
                p->kind, sz);
        b->printed_final = is_final(p->state);
    }
}

static void progress_init(struct progress *pg, bool quiet, bool push)
{
    memset(pg, 0, sizeof(*pg));
    pg->quiet = quiet;
    pg->push = push;
    pg->tty = isatty(STDERR_FILENO) && !getenv("CZ_NO_TTY");
    pg->start_ns = cz_now_ns();
}

static void progress_end(struct progress *pg)
{
    if (pg->tty && !pg->quiet && pg->n > 0)
        redraw(pg, true);
    free(pg->bars);
}

/* --- commands ----------------------------------------------------------- */

/* --timeout SECONDS: how long a registry may send nothing before we give up. */
static int parse_timeout(const char *s, long *out, cz_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 86400)
        return cz_error_set(err, EINVAL, "invalid --timeout '%s': seconds from 1 to 86400", s);
    *out = v;
    return 0;
}

static char *auth_file_path(const struct cli *cli)
{
    return cz_xasprintf("%s/auth.json", cli->root);
}

int cmd_image_pull(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option longopts[] = {
        {"platform", required_argument, NULL, 'p'},
        {"scheme", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *platform_s = NULL;
    cz_registry_options opts = {0};
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            platform_s = optarg;
            break;
        case 's':
            if (cz_scheme_parse(optarg, &opts.scheme, err) < 0)
                return -2; /* a usage error; err has the message */
            break;
        case 't':
            if (parse_timeout(optarg, &opts.timeout_s, err) < 0)
                return -2; /* a usage error; err has the message */
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            printf("Usage: container image pull [OPTIONS] REFERENCE\n\n"
                   "Pull an image from a registry into the local store.\n\n"
                   "Options:\n"
                   "  --platform OS/ARCH[/VARIANT]  platform to pull from an index (default: "
                   "the host's)\n"
                   "  --scheme auto|http|https      auto: http for localhost and 127.0.0.0/8\n"
                   "  --timeout SECONDS             give up when the registry sends nothing for "
                   "this long\n"
                   "                                (default: $CZ_REGISTRY_TIMEOUT or 60)\n"
                   "  -q, --quiet                   no progress output\n");
            return 0;
        default:
            return cli_option_error(err, "image pull", "qh", longopts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(err, "image pull: exactly one reference is required");
    const char *ref = argv[optind];
    cz_platform platform = {0};
    if (platform_s && cz_platform_parse(platform_s, &platform, err) < 0)
        return -2; /* a usage error; err has the message */

    cz_store *store = NULL;
    if (cz_store_open(cli->root, &store, err) < 0) {
        cz_platform_free(&platform);
        return -1;
    }
    cz_autofree char *auth = auth_file_path(cli);
    struct progress pg;
    progress_init(&pg, quiet, false);
    opts.auth_file = auth;
    opts.progress = on_progress;
    opts.progress_ctx = &pg;
    char digest[CZ_DIGEST_MAX];
    int r = cz_registry_pull(store, ref, platform_s ? &platform : NULL, &opts, digest, err);
    progress_end(&pg);
    if (r == 0) {
        cz_reference parsed = {0};
        cz_error e2 = {0};
        cz_autofree char *full = NULL;
        if (cz_reference_parse(ref, &parsed, &e2) == 0) {
            full = cz_reference_string(&parsed);
            cz_reference_free(&parsed);
        }
        if (!quiet) {
            printf("Digest: %s\n", digest);
            printf("Status: Downloaded %s\n", full ? full : ref);
        }
        printf("%s\n", full ? full : ref);
    }
    cz_store_close(store);
    cz_platform_free(&platform);
    return r;
}

int cmd_image_push(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option longopts[] = {
        {"scheme", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cz_registry_options opts = {0};
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (cz_scheme_parse(optarg, &opts.scheme, err) < 0)
                return -2; /* a usage error; err has the message */
            break;
        case 't':
            if (parse_timeout(optarg, &opts.timeout_s, err) < 0)
                return -2; /* a usage error; err has the message */
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            printf("Usage: container image push [OPTIONS] REFERENCE\n\n"
                   "Push an image (a manifest, or an index with all its platforms) to its "
                   "registry.\n\n"
                   "Options:\n"
                   "  --scheme auto|http|https  auto: http for localhost and 127.0.0.0/8\n"
                   "  --timeout SECONDS         give up when the registry sends nothing for this "
                   "long\n"
                   "  -q, --quiet               no progress output\n");
            return 0;
        default:
            return cli_option_error(err, "image push", "qh", longopts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(err, "image push: exactly one reference is required");
    const char *ref = argv[optind];
    cz_store *store = NULL;
    if (cz_store_open(cli->root, &store, err) < 0)
        return -1;
    cz_autofree char *auth = auth_file_path(cli);
    struct progress pg;
    progress_init(&pg, quiet, true);
    opts.auth_file = auth;
    opts.progress = on_progress;
    opts.progress_ctx = &pg;
    char digest[CZ_DIGEST_MAX];
    int r = cz_registry_push(store, ref, &opts, digest, err);
    progress_end(&pg);
    if (r == 0) {
        cz_reference parsed = {0};
        cz_error e2 = {0};
        const char *tag = NULL;
        if (cz_reference_parse(ref, &parsed, &e2) == 0)
            tag = parsed.digest ? NULL : parsed.tag;
        char *path = cz_store_blob_path(store, digest);
        int64_t size = cz_file_size(path);
        free(path);
        if (quiet)
            printf("%s\n", digest);
        else
            printf("%s%sdigest: %s size: %" PRId64 "\n", tag ? tag : "", tag ? ": " : "", digest, size);
        cz_reference_free(&parsed);
    }
    cz_store_close(store);
    return r;
}
