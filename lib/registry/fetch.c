/* Parallel blob download: a curl multi loop with bounded concurrency. Each
 * blob streams into a content-store ingest (sha256 and size checked as bytes
 * arrive); a dropped connection resumes with a Range request from the ingest's
 * offset; 429/5xx/connection errors are retried with backoff, a bounded number
 * of times; the first hard failure stops everything and drops the temp files.
 * Blobs are committed only once all of them are verified, so a failed pull
 * leaves the store as it was. */
#include "registry/internal.h"

#include "base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>

#define ERROR_BODY_MAX (16u << 10)
#define FETCH_BUFFER (512L << 10)
/* curl hands over at most 16 KiB per callback: gather bytes before writing,
 * so a layer costs a few hundred write(2) calls instead of thousands. */
#define WRITE_BATCH (512u << 10)

enum job_state { JOB_PENDING, JOB_ACTIVE, JOB_DONE };

struct fetch;

struct job {
    struct fetch *f;
    const reg_blob *blob;
    enum job_state state;
    cz_ingest *ingest;
    CURL *h;
    struct curl_slist *hl;
    char *url;
    reg_response rs;
    int attempts;
    bool renewed;
    uint64_t not_before_ns;
    bool body_started;
    int64_t range_start;
    bool write_failed;
    cz_error write_err;
    char *pending; /* WRITE_BATCH bytes not yet handed to the ingest */
    size_t n_pending;
    enum cz_progress_state pstate;
};

struct fetch {
    reg_client *c;
    cz_store *store;
    const cz_registry_options *opts;
    char *scope;
    CURLM *multi;
    struct job *jobs;
    size_t n;
};

static void report(struct job *j, enum cz_progress_state st)
{
    j->pstate = st;
    const cz_registry_options *o = j->f->opts;
    if (!o || !o->progress)
        return;
    cz_progress p = {
        .digest = j->blob->digest,
        .kind = j->blob->kind,
        .size = j->blob->size,
        .done = st == CZ_PROGRESS_DONE || st == CZ_PROGRESS_EXISTS
                    ? j->blob->size
                    : (j->ingest ? cz_ingest_offset(j->ingest) + (int64_t)j->n_pending : 0),
        .state = st,
    };
    o->progress(o->progress_ctx, &p);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct job *j = ud;
    return reg_header_line(&j->rs, buf, size * nitems), size * nitems;
}

/* Content-Range: bytes START-END/TOTAL */
static int64_t range_start_of(const char *cr)
{
    if (!cr)
        return -1;
    const char *p = cr;
    if (!strncasecmp(p, "bytes", 5))
        p += 5;
    while (*p == ' ' || *p == '=')
        p++;
    char *end;
    long long v = strtoll(p, &end, 10);
    return end == p || *end != '-' ? -1 : v;
}

static int flush_pending(struct job *j)
{
    if (j->n_pending == 0 || j->write_failed)
        return j->write_failed ? -1 : 0;
    size_t n = j->n_pending;
    j->n_pending = 0;
    if (cz_ingest_write(j->ingest, j->pending, n, &j->write_err) < 0) {
        j->write_failed = true;
        return -1;
    }
    return 0;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct job *j = ud;
    size_t n = size * nmemb;
    long st = j->rs.status;
    if (st < 200 || st > 299) {
        if (j->rs.body.len + n <= ERROR_BODY_MAX)
            cz_buf_append(&j->rs.body, buf, n);
        return n;
    }
    if (!j->body_started) {
        j->body_started = true;
        if (st == 206) {
            int64_t s = range_start_of(j->rs.content_range);
            if (s != j->range_start) {
                cz_error_set(&j->write_err, EPROTO,
                             "blob %s: resumed at byte %" PRId64 " but the registry sent %s",
                             j->blob->digest, j->range_start,
                             j->rs.content_range ? j->rs.content_range : "no Content-Range");
                j->write_failed = true;
                return 0;
            }
        } else if (cz_ingest_offset(j->ingest) > 0) {
            /* the registry ignored the Range: start over */
            if (cz_ingest_restart(j->ingest, &j->write_err) < 0) {
                j->write_failed = true;
                return 0;
            }
            if (j->blob->keep)
                j->blob->keep->len = 0;
        }
    }
    if (j->n_pending + n > WRITE_BATCH && flush_pending(j) < 0)
        return 0;
    if (n >= WRITE_BATCH) {
        if (cz_ingest_write(j->ingest, buf, n, &j->write_err) < 0) {
            j->write_failed = true;
            return 0;
        }
    } else {
        if (!j->pending)
            j->pending = cz_xmalloc(WRITE_BATCH);
        memcpy(j->pending + j->n_pending, buf, n);
        j->n_pending += n;
    }
    if (j->blob->keep)
        cz_buf_append(j->blob->keep, buf, n);
    return n;
}

static int job_start(struct fetch *f, struct job *j, cz_error *err)
{
    if (!j->ingest) {
        if (cz_store_has_blob(f->store, j->blob->digest, j->blob->size)) {
            j->state = JOB_DONE;
            report(j, CZ_PROGRESS_EXISTS);
            return 0;
        }
        if (cz_ingest_begin(f->store, j->blob->digest, j->blob->size, &j->ingest, err) < 0)
            return cz_error_wrap(err, "%s %s", j->blob->kind, j->blob->digest);
    }
    cz_autofree char *auth = NULL;
    if (reg_client_auth_header(f->c, f->scope, &auth, err) < 0)
        return -1;
    if (!j->h) {
        j->h = curl_easy_init();
        if (!j->h)
            return cz_error_set(err, ENOMEM, "curl_easy_init");
    } else {
        curl_easy_reset(j->h);
    }
    curl_slist_free_all(j->hl);
    j->hl = NULL;
    reg_response_reset(&j->rs);
    j->body_started = false;
    j->range_start = cz_ingest_offset(j->ingest);
    cz_autofree char *range = j->range_start > 0
                                  ? cz_xasprintf("Range: bytes=%" PRId64 "-", j->range_start)
                                  : NULL;
    if (auth)
        j->hl = curl_slist_append(j->hl, auth);
    if (range)
        j->hl = curl_slist_append(j->hl, range);
    reg_client_setup_easy(f->c, j->h);
    curl_easy_setopt(j->h, CURLOPT_URL, j->url);
    curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->hl);
    curl_easy_setopt(j->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(j->h, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
    curl_easy_setopt(j->h, CURLOPT_BUFFERSIZE, FETCH_BUFFER);
    CURLMcode mc = curl_multi_add_handle(f->multi, j->h);
    if (mc != CURLM_OK)
        return cz_error_set(err, EIO, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
    j->state = JOB_ACTIVE;
    report(j, CZ_PROGRESS_RUNNING);
    return 0;
}

static void job_retry_later(struct fetch *f, struct job *j, const char *why)
{
    j->attempts++;
    uint64_t d = reg_backoff_ms(f->c, j->attempts, j->rs.retry_after);
    cz_debug("%s %s: %s; attempt %d in %" PRIu64 " ms (resume at %" PRId64 ")", j->blob->kind,
             j->blob->digest, why, j->attempts + 1, d, cz_ingest_offset(j->ingest));
    j->not_before_ns = cz_now_ns() + d * 1000000ull;
    j->state = JOB_PENDING;
    report(j, CZ_PROGRESS_RETRYING);
}

/* A transfer ended: done, retry later, or a hard error (returns -1). */
static int job_finished(struct fetch *f, struct job *j, CURLcode cc, cz_error *err)
{
    curl_multi_remove_handle(f->multi, j->h);
    long st = j->rs.status;
    flush_pending(j); /* between transfers the ingest holds every byte received */
    if (j->write_failed) {
        *err = j->write_err;
        return cz_error_wrap(err, "%s %s", j->blob->kind, j->blob->digest);
    }
    if (cc != CURLE_OK) {
        if (reg_curl_retryable(cc) && j->attempts < f->c->max_retries) {
            job_retry_later(f, j, reg_curl_reason(cc));
            return 0;
        }
        return cz_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO,
                            "%s %s: GET %s: %s", j->blob->kind, j->blob->digest, j->url,
                            reg_curl_reason(cc));
    }
    if (st == 200 || st == 206) {
        /* a body that ended early without curl noticing (no Content-Length):
         * resume it like a dropped connection */
        if (cz_ingest_offset(j->ingest) < j->blob->size && j->attempts < f->c->max_retries) {
            job_retry_later(f, j, "body ended early");
            return 0;
        }
        if (cz_ingest_offset(j->ingest) != j->blob->size)
            return cz_error_set(err, EIO, "%s %s: size mismatch: got %lld bytes, expected %lld",
                                j->blob->kind, j->blob->digest,
                                (long long)cz_ingest_offset(j->ingest), (long long)j->blob->size);
        j->state = JOB_DONE; /* verified and committed with the others at the end */
        report(j, CZ_PROGRESS_DONE);
        return 0;
    }
    if (st == 401 && !j->renewed) {
        j->renewed = true;
        if (reg_client_renew(f->c, f->scope, j->rs.www_authenticate, err) < 0)
            return -1;
        j->state = JOB_PENDING;
        j->not_before_ns = 0;
        return 0;
    }
    if (reg_status_retryable(st) && j->attempts < f->c->max_retries) {
        char why[32];
        snprintf(why, sizeof(why), "HTTP %ld", st);
        job_retry_later(f, j, why);
        return 0;
    }
    reg_request rq = {.method = "GET", .url = j->url};
    reg_status_error(&rq, &j->rs, err);
    return cz_error_wrap(err, "%s %s", j->blob->kind, j->blob->digest);
}

struct verifier {
    pthread_t thread;
    struct job *job;
    cz_error err;
    int r;
    bool threaded;
};

static void *verify_one(void *arg)
{
    struct verifier *v = arg;
    v->r = cz_ingest_verify(v->job->ingest, &v->err);
    return NULL;
}

/* Check every digest and fsync every blob, the fsyncs in parallel (the
 * filesystem folds them into fewer journal commits than one after another). */
static int verify_all(struct fetch *f, cz_error *err)
{
    struct verifier *v = cz_xcalloc(f->n, sizeof(*v));
    for (size_t i = 0; i < f->n; i++) {
        v[i].job = &f->jobs[i];
        if (!v[i].job->ingest)
            continue;
        v[i].threaded = pthread_create(&v[i].thread, NULL, verify_one, &v[i]) == 0;
        if (!v[i].threaded)
            verify_one(&v[i]); /* no thread to spare: do it here */
    }
    int r = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (v[i].threaded)
            pthread_join(v[i].thread, NULL);
        if (v[i].r < 0 && r == 0) {
            *err = v[i].err;
            r = cz_error_wrap(err, "%s %s", v[i].job->blob->kind, v[i].job->blob->digest);
        }
    }
    free(v);
    return r;
}

/* Every blob is verified: move them all into the store. */
static int commit_all(struct fetch *f, cz_error *err)
{
    for (size_t i = 0; i < f->n; i++) {
        struct job *j = &f->jobs[i];
        if (!j->ingest)
            continue;
        cz_ingest *w = j->ingest;
        j->ingest = NULL;
        if (cz_ingest_commit(w, NULL, err) < 0)
            return cz_error_wrap(err, "%s %s", j->blob->kind, j->blob->digest);
    }
    return 0;
}

/* Largest first: the longest transfers start at once and the small ones fill
 * in around them, so the pull does not end waiting on one big late layer. */
static int larger_first(const void *a, const void *b)
{
    int64_t x = (*(struct job *const *)a)->blob->size, y = (*(struct job *const *)b)->blob->size;
    return x > y ? -1 : x < y;
}

int reg_fetch_blobs(reg_client *c, const char *repo, cz_store *store, const reg_blob *blobs,
                    size_t n, const cz_registry_options *opts,
                    int (*before_commit)(void *ctx, cz_error *err), void *ctx, cz_error *err)
{
    if (n == 0)
        return before_commit ? before_commit(ctx, err) : 0;
    struct fetch f = {.c = c, .store = store, .opts = opts, .n = n};
    f.scope = reg_scope(repo, "pull");
    f.multi = curl_multi_init();
    f.jobs = cz_xcalloc(n, sizeof(*f.jobs));
    int max_parallel = opts && opts->max_parallel > 0 ? opts->max_parallel : c->max_parallel;
    curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_parallel);
    for (size_t i = 0; i < n; i++) {
        struct job *j = &f.jobs[i];
        j->f = &f;
        j->blob = &blobs[i];
        j->url = cz_xasprintf("%s/v2/%s/blobs/%s", c->base, repo, blobs[i].digest);
        reg_response_reset(&j->rs);
        report(j, CZ_PROGRESS_WAITING);
    }
    struct job **order = cz_xcalloc(n, sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = &f.jobs[i];
    qsort(order, n, sizeof(*order), larger_first);
    int r = 0;
    size_t done = 0;
    while (r == 0) {
        uint64_t now = cz_now_ns();
        size_t active = 0;
        done = 0;
        uint64_t next_ready = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            active += f.jobs[i].state == JOB_ACTIVE;
            done += f.jobs[i].state == JOB_DONE;
        }
        if (done == n)
            break;
        for (size_t i = 0; i < n && active < (size_t)max_parallel && r == 0; i++) {
            struct job *j = order[i];
            if (j->state != JOB_PENDING)
                continue;
            if (j->not_before_ns > now) {
                next_ready = CZ_MIN(next_ready, j->not_before_ns);
                continue;
            }
            if (job_start(&f, j, err) < 0)
                r = -1;
            else
                active += j->state == JOB_ACTIVE;
        }
        if (r < 0)
            break;
        int running = 0;
        CURLMcode mc = curl_multi_perform(f.multi, &running);
        if (mc != CURLM_OK) {
            r = cz_error_set(err, EIO, "curl_multi_perform: %s", curl_multi_strerror(mc));
            break;
        }
        CURLMsg *msg;
        int left;
        while (r == 0 && (msg = curl_multi_info_read(f.multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct job *j = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            if (job_finished(&f, j, msg->data.result, err) < 0)
                r = -1;
        }
        if (r < 0)
            break;
        for (size_t i = 0; i < n; i++)
            if (f.jobs[i].state == JOB_ACTIVE)
                report(&f.jobs[i], CZ_PROGRESS_RUNNING);
        if (running > 0) {
            curl_multi_poll(f.multi, NULL, 0, 100, NULL);
        } else if (next_ready != UINT64_MAX) {
            uint64_t t = cz_now_ns();
            reg_sleep_ms(next_ready > t ? CZ_MIN((next_ready - t) / 1000000 + 1, 1000) : 0);
        }
    }
    if (r == 0)
        r = verify_all(&f, err);
    if (r == 0 && before_commit)
        r = before_commit(ctx, err);
    if (r == 0)
        r = commit_all(&f, err);
    for (size_t i = 0; i < n; i++) {
        struct job *j = &f.jobs[i];
        if (j->h) {
            curl_multi_remove_handle(f.multi, j->h);
            curl_easy_cleanup(j->h);
        }
        curl_slist_free_all(j->hl);
        if (j->ingest)
            cz_ingest_abort(j->ingest);
        reg_response_reset(&j->rs);
        free(j->url);
        free(j->pending);
    }
    free(order);
    free(f.jobs);
    free(f.scope);
    curl_multi_cleanup(f.multi);
    return r;
}
