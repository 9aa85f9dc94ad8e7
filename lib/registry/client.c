/* The per-registry client: curl setup (timeouts, shared connections), the
 * /v2/ ping that learns the auth scheme, Bearer tokens cached per scope and
 * renewed on 401, and one-shot requests with bounded retry and backoff. */
#include "registry/internal.h"

#include "base/log.h"

#include <errno.h>
#include <jansson.h>
#include <strings.h>
#include <time.h>

#define TOKEN_RESPONSE_MAX (1u << 20)
#define ERROR_BODY_DEFAULT (64u << 10)
#define RETRY_AFTER_MAX_MS 10000

static long env_long(const char *name, long def, long min, long max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return def;
    return v;
}

static const char *user_agent(void)
{
    return "containerization/" CZ_VERSION;
}

int reg_client_new(const char *domain, const cz_registry_options *opts, reg_client **out,
                   cz_error *err)
{
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return cz_error_set(err, EIO, "initialize libcurl");
        curl_ready = true;
    }
    reg_client *c = cz_xcalloc(1, sizeof(*c));
    c->domain = cz_xstrdup(domain);
    c->base = reg_base_url(domain, opts ? opts->scheme : CZ_SCHEME_AUTO);
    c->share = curl_share_init();
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    c->connect_timeout_s = env_long("CZ_REGISTRY_CONNECT_TIMEOUT", 30, 1, 3600);
    c->stall_timeout_s = opts && opts->timeout_s > 0 ? opts->timeout_s
                                                     : env_long("CZ_REGISTRY_TIMEOUT", 60, 1, 3600);
    /* connecting must not outlast the stall timeout the user asked for */
    c->connect_timeout_s = CZ_MIN(c->connect_timeout_s, c->stall_timeout_s);
    c->max_retries = (int)env_long("CZ_REGISTRY_RETRIES", 4, 0, 20);
    c->max_parallel = (int)env_long("CZ_REGISTRY_PARALLEL", 6, 1, 64);
    c->retry_delay_ms = env_long("CZ_REGISTRY_RETRY_DELAY_MS", 500, 0, 60000);
    if (opts && opts->username) {
        c->user = cz_xstrdup(opts->username);
        c->pass = cz_xstrdup(opts->password ? opts->password : "");
    } else {
        int r = cz_credentials_find(opts ? opts->auth_file : NULL, domain, &c->user, &c->pass,
                                    err);
        if (r < 0) {
            reg_client_free(c);
            return -1;
        }
    }
    cz_debug("registry %s: %s%s", domain, c->base, c->user ? " (with credentials)" : "");
    *out = c;
    return 0;
}

static void tokens_clear(reg_client *c)
{
    for (size_t i = 0; i < c->n_tokens; i++) {
        free(c->tokens[i].scope);
        free(c->tokens[i].value);
    }
    free(c->tokens);
    c->tokens = NULL;
    c->n_tokens = 0;
}

void reg_client_free(reg_client *c)
{
    if (!c)
        return;
    tokens_clear(c);
    if (c->share)
        curl_share_cleanup(c->share);
    free(c->domain);
    free(c->base);
    free(c->user);
    if (c->pass) {
        explicit_bzero(c->pass, strlen(c->pass));
        free(c->pass);
    }
    free(c->realm);
    free(c->service);
    free(c);
}

void reg_client_setup_easy(reg_client *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
    /* A registry that stops sending (or never answers) for stall_timeout_s
     * seconds fails the transfer, instead of hanging forever. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (cz_log_enabled(CZ_LOG_DEBUG) && getenv("CZ_CURL_VERBOSE"))
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
}

/* --- responses ------------------------------------------------------- */

void reg_response_reset(reg_response *r)
{
    free(r->content_type);
    free(r->location);
    free(r->docker_digest);
    free(r->www_authenticate);
    free(r->content_range);
    free(r->retry_after);
    cz_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
}

struct xfer {
    reg_response *rs;
    size_t max_body;
    const reg_request *rq;
    int64_t upload_pos;
};

static void set_header(char **slot, const char *v, size_t n)
{
    free(*slot);
    *slot = cz_xstrndup(v, n);
}

/* Shared by the one-shot requests and the blob fetcher. */
size_t reg_header_line(reg_response *rs, const char *line, size_t n)
{
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        n--;
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* a new response (redirect, 100 Continue): forget the previous headers */
        cz_buf body = rs->body;
        rs->body = (cz_buf){0};
        reg_response_reset(rs);
        rs->body = body;
        const char *sp = memchr(line, ' ', n);
        if (sp)
            rs->status = strtol(sp + 1, NULL, 10);
        return 0;
    }
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return 0;
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vn = n - nl - 1;
    while (vn > 0 && (*v == ' ' || *v == '\t'))
        v++, vn--;
#define IS(name) (nl == strlen(name) && !strncasecmp(line, name, nl))
    if (IS("content-type"))
        set_header(&rs->content_type, v, vn);
    else if (IS("location"))
        set_header(&rs->location, v, vn);
    else if (IS("docker-content-digest"))
        set_header(&rs->docker_digest, v, vn);
    else if (IS("www-authenticate")) {
        /* several challenges may come in several headers: join them */
        if (rs->www_authenticate && strlen(rs->www_authenticate) < 16384) {
            char *j = cz_xasprintf("%s, %.*s", rs->www_authenticate, (int)vn, v);
            free(rs->www_authenticate);
            rs->www_authenticate = j;
        } else
            set_header(&rs->www_authenticate, v, vn);
    } else if (IS("content-range"))
        set_header(&rs->content_range, v, vn);
    else if (IS("retry-after"))
        set_header(&rs->retry_after, v, vn);
    else if (IS("content-length")) {
        char tmp[32];
        size_t k = CZ_MIN(vn, sizeof(tmp) - 1);
        memcpy(tmp, v, k);
        tmp[k] = 0;
        char *end;
        long long x = strtoll(tmp, &end, 10);
        rs->content_length = (end != tmp && x >= 0) ? x : -1;
    }
#undef IS
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    reg_header_line(x->rs, buf, size * nitems);
    return size * nitems;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->rs->body.len + n > x->max_body) {
        x->rs->body_too_big = true;
        return 0;
    }
    cz_buf_append(&x->rs->body, buf, n);
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    const reg_request *rq = x->rq;
    size_t want = size * nitems;
    if (rq->body_fd >= 0) {
        int64_t left = rq->fd_len - x->upload_pos;
        if (left <= 0)
            return 0;
        if ((int64_t)want > left)
            want = (size_t)left;
        ssize_t n;
        do
            n = pread(rq->body_fd, buf, want, rq->fd_offset + x->upload_pos);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return CURL_READFUNC_ABORT;
        x->upload_pos += n;
        return (size_t)n;
    }
    int64_t left = (int64_t)rq->body_len - x->upload_pos;
    if (left <= 0)
        return 0;
    if ((int64_t)want > left)
        want = (size_t)left;
    memcpy(buf, (const char *)rq->body + x->upload_pos, want);
    x->upload_pos += (int64_t)want;
    return want;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct xfer *x = ud;
    if (origin != SEEK_SET)
        return CURL_SEEKFUNC_CANTSEEK;
    x->upload_pos = offset;
    return CURL_SEEKFUNC_OK;
}

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = ud;
    if (x->rq->on_upload)
        x->rq->on_upload(x->rq->upload_ctx, ulnow);
    return 0;
}

/* --- status and retry policy ------------------------------------------ */

static const char *reason_phrase(long status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

bool reg_status_retryable(long status)
{
    return status == 429 || status == 408 || (status >= 500 && status <= 599 && status != 501);
}

bool reg_curl_retryable(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

const char *reg_curl_reason(CURLcode code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out (no data from the registry)";
    case CURLE_PARTIAL_FILE:
        return "connection closed before the whole body arrived (truncated)";
    case CURLE_GOT_NOTHING:
        return "connection closed without a response";
    case CURLE_COULDNT_CONNECT:
        return "connection refused";
    default:
        return curl_easy_strerror(code);
    }
}

uint64_t reg_backoff_ms(const reg_client *c, int attempt, const char *retry_after)
{
    if (retry_after) {
        char *end;
        long s = strtol(retry_after, &end, 10);
        if (end != retry_after && s >= 0)
            return (uint64_t)CZ_MIN(s * 1000, RETRY_AFTER_MAX_MS);
    }
    uint64_t d = (uint64_t)c->retry_delay_ms;
    for (int i = 1; i < attempt && d < 30000; i++)
        d *= 2;
    /* jitter so that parallel transfers do not retry in lockstep */
    return d + (d ? (uint64_t)(cz_now_ns() % (d / 4 + 1)) : 0);
}

void reg_sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One line from a registry error body: "CODE: message" from the distribution
 * spec's {"errors":[...]}, or nothing. */
static void error_detail(const reg_response *rs, char *out, size_t outlen)
{
    out[0] = 0;
    if (!rs->body.len)
        return;
    json_error_t je;
    json_t *j = json_loadb(rs->body.data, rs->body.len, 0, &je);
    if (!j)
        return;
    json_t *errs = json_object_get(j, "errors");
    json_t *e0 = json_is_array(errs) ? json_array_get(errs, 0) : NULL;
    if (e0) {
        const char *code = json_string_value(json_object_get(e0, "code"));
        const char *msg = json_string_value(json_object_get(e0, "message"));
        snprintf(out, outlen, "%s%s%s", code ? code : "", code && msg ? ": " : "",
                 msg ? msg : "");
    }
    json_decref(j);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int reg_status_error(const reg_request *rq, const reg_response *rs, cz_error *err)
{
    char detail[300];
    error_detail(rs, detail, sizeof(detail));
    int code = rs->status == 404 ? ENOENT
               : rs->status == 401 || rs->status == 403 ? EACCES
                                                         : EIO;
    const char *hint = "";
    if (rs->status == 401)
        hint = " (log in with 'container registry login')";
    return cz_error_set(err, code, "%s %s: HTTP %ld %s%s%s%s", rq->method, rq->url, rs->status,
                        reason_phrase(rs->status), detail[0] ? ": " : "", detail, hint);
}

/* --- auth ------------------------------------------------------------ */

static int learn_challenge(reg_client *c, const char *header, cz_error *err)
{
    reg_challenge *ch;
    size_t n;
    if (reg_parse_challenges(header, &ch, &n, err) < 0)
        return cz_error_wrap(err, "registry %s", c->domain);
    const reg_challenge *bearer = NULL, *basic = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(ch[i].scheme, "bearer") && reg_challenge_param(&ch[i], "realm") && !bearer)
            bearer = &ch[i];
        else if (!strcmp(ch[i].scheme, "basic") && !basic)
            basic = &ch[i];
    }
    int r = 0;
    if (bearer) {
        const char *realm = reg_challenge_param(bearer, "realm");
        if (strncasecmp(realm, "http://", 7) && strncasecmp(realm, "https://", 8)) {
            r = cz_error_set(err, EPROTO, "registry %s: token realm '%s' is not an http(s) URL",
                             c->domain, realm);
        } else {
            if (!c->realm || strcmp(c->realm, realm)) {
                tokens_clear(c);
                free(c->realm);
                c->realm = cz_xstrdup(realm);
            }
            const char *service = reg_challenge_param(bearer, "service");
            free(c->service);
            c->service = service ? cz_xstrdup(service) : NULL;
            c->auth = REG_AUTH_BEARER;
        }
    } else if (basic) {
        c->auth = REG_AUTH_BASIC;
    } else {
        r = cz_error_set(err, ENOTSUP, "registry %s: unsupported authentication scheme '%s'",
                         c->domain, ch[0].scheme);
    }
    reg_challenges_free(ch, n);
    return r;
}

int reg_client_ping(reg_client *c, cz_error *err)
{
    cz_autofree char *url = cz_xasprintf("%s/v2/", c->base);
    reg_request rq = {.method = "GET", .url = url, .body_fd = -1, .what = "ping"};
    reg_response rs = {0};
    reg_response_reset(&rs);
    if (reg_request_do(c, &rq, &rs, err) < 0) {
        reg_response_reset(&rs);
        return cz_error_wrap(err, "registry %s", c->domain);
    }
    int r = 0;
    if (rs.status >= 200 && rs.status < 300) {
        c->auth = REG_AUTH_NONE;
    } else if (rs.status == 401 && rs.www_authenticate) {
        r = learn_challenge(c, rs.www_authenticate, err);
    } else if (rs.status == 401) {
        r = cz_error_set(err, EPROTO, "registry %s: 401 without a WWW-Authenticate challenge",
                         c->domain);
    } else {
        reg_status_error(&rq, &rs, err);
        r = cz_error_wrap(err, "registry %s does not answer the registry API", c->domain);
    }
    reg_response_reset(&rs);
    cz_debug("registry %s: auth %s", c->domain,
             c->auth == REG_AUTH_NONE    ? "none"
             : c->auth == REG_AUTH_BASIC ? "basic"
                                         : "bearer");
    return r;
}

static reg_token *token_find(reg_client *c, const char *scope)
{
    for (size_t i = 0; i < c->n_tokens; i++)
        if (!strcmp(c->tokens[i].scope, scope))
            return &c->tokens[i];
    return NULL;
}

static void token_drop(reg_client *c, const char *scope)
{
    reg_token *t = token_find(c, scope);
    if (!t)
        return;
    free(t->scope);
    free(t->value);
    *t = c->tokens[--c->n_tokens];
}

static int fetch_token(reg_client *c, const char *scope, cz_error *err)
{
    cz_autofree char *url = cz_xstrdup(c->realm);
    if (c->service) {
        char *u = reg_url_add_query(url, "service", c->service);
        free(url);
        url = u;
    }
    /* several scopes (a mount needs the source's pull too) are separate params */
    cz_autofree char *scopes = cz_xstrdup(scope);
    char *save = NULL;
    for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        char *u = reg_url_add_query(url, "scope", s);
        free(url);
        url = u;
    }
    CURL *h = curl_easy_init();
    if (!h)
        return cz_error_set(err, ENOMEM, "curl_easy_init");
    reg_client_setup_easy(c, h);
    reg_response rs = {0};
    reg_response_reset(&rs);
    reg_request rq = {.method = "GET", .url = url, .body_fd = -1};
    struct xfer x = {.rs = &rs, .max_body = TOKEN_RESPONSE_MAX, .rq = &rq};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    if (c->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->pass);
    }
    int r = 0;
    CURLcode cc = CURLE_OK;
    for (int attempt = 1;; attempt++) {
        cz_buf_free(&rs.body);
        cc = curl_easy_perform(h);
        bool again = cc != CURLE_OK ? reg_curl_retryable(cc) : reg_status_retryable(rs.status);
        if (!again || attempt > c->max_retries)
            break;
        reg_sleep_ms(reg_backoff_ms(c, attempt, rs.retry_after));
    }
    if (cc != CURLE_OK) {
        r = cz_error_set(err, EIO, "get token from %s: %s", c->realm,
                         rs.body_too_big ? "response too large" : reg_curl_reason(cc));
    } else if (rs.status == 401 || rs.status == 403) {
        r = cz_error_set(err, EACCES, "get token from %s%s%s: HTTP %ld %s: %s", c->realm,
                         *scope ? " for " : "", scope, rs.status, reason_phrase(rs.status),
                         c->user ? "credentials rejected"
                                 : "authentication required (log in with 'container registry "
                                   "login')");
    } else if (rs.status != 200) {
        rq.url = c->realm;
        reg_status_error(&rq, &rs, err);
        r = cz_error_wrap(err, "get token");
    } else {
        char *tok = NULL;
        int64_t exp = 0;
        if (reg_parse_token_response(rs.body.data, rs.body.len, &tok, &exp, err) < 0) {
            r = cz_error_wrap(err, "get token from %s", c->realm);
        } else {
            token_drop(c, scope);
            c->tokens = cz_xrealloc(c->tokens, (c->n_tokens + 1) * sizeof(*c->tokens));
            reg_token *t = &c->tokens[c->n_tokens++];
            t->scope = cz_xstrdup(scope);
            t->value = tok;
            /* renew a little early, so a token never expires in flight */
            uint64_t life = (uint64_t)exp * 1000000000ull;
            t->expires_ns = cz_now_ns() + (life > 10000000000ull ? life - 5000000000ull : life / 2);
            cz_debug("token for %s (expires in %llds)", scope, (long long)exp);
        }
    }
    reg_response_reset(&rs);
    curl_easy_cleanup(h);
    return r;
}

int reg_client_auth_header(reg_client *c, const char *scope, char **header, cz_error *err)
{
    *header = NULL;
    if (c->auth == REG_AUTH_UNKNOWN && reg_client_ping(c, err) < 0)
        return -1;
    if (c->auth == REG_AUTH_BASIC) {
        if (!c->user)
            return 0;
        cz_autofree char *up = cz_xasprintf("%s:%s", c->user, c->pass);
        cz_autofree char *b = reg_base64_encode(up, strlen(up));
        explicit_bzero(up, strlen(up));
        *header = cz_xasprintf("Authorization: Basic %s", b);
        return 0;
    }
    if (c->auth != REG_AUTH_BEARER || !scope)
        return 0;
    reg_token *t = token_find(c, scope);
    if (!t || t->expires_ns <= cz_now_ns()) {
        if (fetch_token(c, scope, err) < 0)
            return -1;
        t = token_find(c, scope);
        if (!t)
            return cz_error_set(err, EPROTO, "no token for %s", scope);
    }
    *header = cz_xasprintf("Authorization: Bearer %s", t->value);
    return 0;
}

int reg_client_renew(reg_client *c, const char *scope, const char *www_authenticate,
                     cz_error *err)
{
    enum reg_auth_kind before = c->auth;
    if (www_authenticate && learn_challenge(c, www_authenticate, err) < 0)
        return -1;
    if (c->auth == REG_AUTH_BASIC) {
        if (!c->user)
            return cz_error_set(err, EACCES,
                                "registry %s: HTTP 401 Unauthorized: authentication required (log "
                                "in with 'container registry login %s')",
                                c->domain, c->domain);
        if (before == REG_AUTH_BASIC)
            return cz_error_set(err, EACCES, "registry %s: HTTP 401 Unauthorized: credentials rejected",
                                c->domain);
        return 0;
    }
    if (c->auth == REG_AUTH_BEARER && scope)
        token_drop(c, scope);
    return 0;
}

/* --- one-shot requests ------------------------------------------------ */

int reg_request_do(reg_client *c, const reg_request *rq, reg_response *rs, cz_error *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return cz_error_set(err, ENOMEM, "curl_easy_init");
    struct xfer x = {.rs = rs, .max_body = rq->max_body ? rq->max_body : ERROR_BODY_DEFAULT,
                     .rq = rq};
    bool renewed = false;
    int r = 0;
    for (int attempt = 1;; attempt++) {
        reg_response_reset(rs);
        x.upload_pos = 0;
        curl_easy_reset(h);
        reg_client_setup_easy(c, h);
        cz_autofree char *auth = NULL;
        if (rq->scope && reg_client_auth_header(c, rq->scope, &auth, err) < 0) {
            r = -1;
            break;
        }
        struct curl_slist *hl = NULL;
        cz_autofree char *accept = rq->accept ? cz_xasprintf("Accept: %s", rq->accept) : NULL;
        cz_autofree char *ctype =
            rq->content_type ? cz_xasprintf("Content-Type: %s", rq->content_type) : NULL;
        cz_autofree char *crange =
            rq->content_range ? cz_xasprintf("Content-Range: %s", rq->content_range) : NULL;
        if (accept)
            hl = curl_slist_append(hl, accept);
        if (ctype)
            hl = curl_slist_append(hl, ctype);
        if (crange)
            hl = curl_slist_append(hl, crange);
        if (auth)
            hl = curl_slist_append(hl, auth);
        hl = curl_slist_append(hl, "Expect:");
        curl_easy_setopt(h, CURLOPT_URL, rq->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        bool has_body = rq->body || rq->body_fd >= 0;
        int64_t body_len = rq->body_fd >= 0 ? rq->fd_len : (int64_t)rq->body_len;
        if (!strcmp(rq->method, "HEAD")) {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (!strcmp(rq->method, "POST") && !has_body) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
        } else if (!strcmp(rq->method, "PUT") || !strcmp(rq->method, "PATCH") ||
                   !strcmp(rq->method, "POST")) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(has_body ? body_len : 0));
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &x);
            curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
            if (strcmp(rq->method, "PUT"))
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
            if (rq->on_upload) {
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
                curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
            }
        } else if (strcmp(rq->method, "GET")) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        }
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(hl);
        if (cc == CURLE_WRITE_ERROR && rs->body_too_big) {
            r = cz_error_set(err, EFBIG, "%s %s: response larger than %zu bytes", rq->method,
                             rq->url, x.max_body);
            break;
        }
        if (cc != CURLE_OK) {
            if (reg_curl_retryable(cc) && !rq->no_retry && attempt <= c->max_retries) {
                uint64_t d = reg_backoff_ms(c, attempt, NULL);
                cz_debug("%s %s: %s; retry in %llu ms", rq->method, rq->url, reg_curl_reason(cc),
                         (unsigned long long)d);
                reg_sleep_ms(d);
                continue;
            }
            r = cz_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "%s %s: %s",
                             rq->method, rq->url, reg_curl_reason(cc));
            break;
        }
        if (rs->status == 401 && rq->scope && !renewed) {
            renewed = true;
            if (reg_client_renew(c, rq->scope, rs->www_authenticate, err) < 0) {
                r = -1;
                break;
            }
            attempt--; /* a renewal is not a retry */
            continue;
        }
        if (reg_status_retryable(rs->status) && !rq->no_retry && attempt <= c->max_retries) {
            uint64_t d = reg_backoff_ms(c, attempt, rs->retry_after);
            cz_debug("%s %s: HTTP %ld; retry in %llu ms", rq->method, rq->url, rs->status,
                     (unsigned long long)d);
            reg_sleep_ms(d);
            continue;
        }
        break;
    }
    curl_easy_cleanup(h);
    return r;
}
