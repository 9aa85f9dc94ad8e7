/* Unit tests of lib/registry's pure parts: WWW-Authenticate challenges (RFC
 * 7235 and what real registries send), token responses, scopes and URLs,
 * base64, local-host detection, retry policy. */
#include "unit.h"

#include "registry/internal.h"

#include <errno.h>

static size_t parse(const char *h, reg_challenge **c, cz_error *err)
{
    size_t n = 0;
    *c = NULL;
    if (reg_parse_challenges(h, c, &n, err) < 0)
        return 0;
    return n;
}

TEST(challenge_docker_hub_bearer)
{
    cz_error err = {0};
    reg_challenge *c;
    size_t n = parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                     "scope=\"repository:library/alpine:pull\"",
                     &c, &err);
    CHECK_INT(n, 1);
    CHECK_STR(c[0].scheme, "bearer");
    CHECK_INT(c[0].n_params, 3);
    CHECK_STR(reg_challenge_param(&c[0], "realm"), "https://auth.docker.io/token");
    CHECK_STR(reg_challenge_param(&c[0], "service"), "registry.docker.io");
    CHECK_STR(reg_challenge_param(&c[0], "SCOPE"), "repository:library/alpine:pull");
    CHECK(reg_challenge_param(&c[0], "error") == NULL);
    reg_challenges_free(c, n);
}

TEST(challenge_basic_and_case)
{
    cz_error err = {0};
    reg_challenge *c;
    size_t n = parse("BASIC Realm=\"Registry Realm\"", &c, &err);
    CHECK_INT(n, 1);
    CHECK_STR(c[0].scheme, "basic");
    CHECK_STR(reg_challenge_param(&c[0], "realm"), "Registry Realm");
    reg_challenges_free(c, n);
    /* a scheme with no parameters at all */
    n = parse("Basic", &c, &err);
    CHECK_INT(n, 1);
    CHECK_INT(c[0].n_params, 0);
    reg_challenges_free(c, n);
}

TEST(challenge_several_in_one_header)
{
    cz_error err = {0};
    reg_challenge *c;
    size_t n = parse("Basic realm=\"r1\", Bearer realm=\"http://127.0.0.1:1/token\", "
                     "service=\"s\",  Negotiate abc+/def==, Digest realm=x,nonce=\"n\"",
                     &c, &err);
    CHECK_INT(n, 4);
    CHECK_STR(c[0].scheme, "basic");
    CHECK_STR(reg_challenge_param(&c[0], "realm"), "r1");
    CHECK_STR(c[1].scheme, "bearer");
    CHECK_INT(c[1].n_params, 2);
    CHECK_STR(reg_challenge_param(&c[1], "service"), "s");
    CHECK_STR(c[2].scheme, "negotiate");
    CHECK_STR(reg_challenge_param(&c[2], ""), "abc+/def=="); /* token68 */
    CHECK_STR(c[3].scheme, "digest");
    CHECK_STR(reg_challenge_param(&c[3], "realm"), "x");
    CHECK_STR(reg_challenge_param(&c[3], "nonce"), "n");
    reg_challenges_free(c, n);
}

TEST(challenge_quoting_and_whitespace)
{
    cz_error err = {0};
    reg_challenge *c;
    /* escaped quote and backslash, commas inside quotes, spaces around '=' */
    size_t n = parse("Bearer  realm = \"a\\\"b,c\\\\d\" ,error=\"insufficient_scope\",,", &c, &err);
    CHECK_INT(n, 1);
    CHECK_STR(reg_challenge_param(&c[0], "realm"), "a\"b,c\\d");
    CHECK_STR(reg_challenge_param(&c[0], "error"), "insufficient_scope");
    reg_challenges_free(c, n);
    /* unquoted URL values (seen in the wild) */
    n = parse("Bearer realm=http://127.0.0.1:5001/token,service=reg", &c, &err);
    CHECK_INT(n, 1);
    CHECK_STR(reg_challenge_param(&c[0], "realm"), "http://127.0.0.1:5001/token");
    CHECK_STR(reg_challenge_param(&c[0], "service"), "reg");
    reg_challenges_free(c, n);
    /* an empty quoted value */
    n = parse("Bearer realm=\"\"", &c, &err);
    CHECK_INT(n, 1);
    CHECK_STR(reg_challenge_param(&c[0], "realm"), "");
    reg_challenges_free(c, n);
}

TEST(challenge_malformed_rejected)
{
    static const char *bad[] = {
        "",
        "   ,  , ",
        "Bearer realm=\"unterminated",
        "=realm",
        "Bearer realm=\"x\" junk",
        "\"quoted\"",
        "Bearer realm=\"x\" \"y\"",
        "Bea(rer realm=x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cz_error err = {0};
        reg_challenge *c = NULL;
        size_t n = 0;
        CHECK_MSG(reg_parse_challenges(bad[i], &c, &n, &err) < 0, "accepted '%s'", bad[i]);
        CHECK(c == NULL && n == 0);
        CHECK(err.msg[0] != 0);
    }
}

TEST(challenge_bounds)
{
    cz_error err = {0};
    reg_challenge *c;
    size_t n;
    /* too long */
    char *big = cz_xmalloc(20000);
    memset(big, 'a', 19999);
    big[19999] = 0;
    CHECK(reg_parse_challenges(big, &c, &n, &err) < 0);
    CHECK(strstr(err.msg, "longer than") != NULL);
    free(big);
    /* too many challenges */
    cz_buf b = {0};
    for (int i = 0; i < 40; i++)
        cz_buf_printf(&b, "S%d, ", i);
    cz_buf_append(&b, "", 1);
    CHECK(reg_parse_challenges(b.data, &c, &n, &err) < 0);
    CHECK(strstr(err.msg, "too many challenges") != NULL);
    cz_buf_free(&b);
    /* too many parameters */
    cz_buf_append(&b, "Bearer ", 7);
    for (int i = 0; i < 40; i++)
        cz_buf_printf(&b, "p%d=v, ", i);
    cz_buf_append(&b, "", 1);
    CHECK(reg_parse_challenges(b.data, &c, &n, &err) < 0);
    CHECK(strstr(err.msg, "too many parameters") != NULL);
    cz_buf_free(&b);
}

TEST(token_response)
{
    cz_error err = {0};
    char *tok;
    int64_t exp;
    const char *j1 = "{\"token\":\"abc.def\",\"expires_in\":300,\"issued_at\":\"2020\"}";
    CHECK_OK(reg_parse_token_response(j1, strlen(j1), &tok, &exp, &err), &err);
    CHECK_STR(tok, "abc.def");
    CHECK_INT(exp, 300);
    free(tok);
    /* OAuth2 form, no expiry: 60 s */
    const char *j2 = "{\"access_token\":\"xyz\"}";
    CHECK_OK(reg_parse_token_response(j2, strlen(j2), &tok, &exp, &err), &err);
    CHECK_STR(tok, "xyz");
    CHECK_INT(exp, 60);
    free(tok);
    /* empty token falls back to access_token; huge expiry is capped */
    const char *j3 = "{\"token\":\"\",\"access_token\":\"t\",\"expires_in\":99999999999}";
    CHECK_OK(reg_parse_token_response(j3, strlen(j3), &tok, &exp, &err), &err);
    CHECK_STR(tok, "t");
    CHECK_INT(exp, 31536000);
    free(tok);
    static const char *bad[] = {
        "",
        "nope",
        "[]",
        "{}",
        "{\"token\":5}",
        "{\"token\":\"a\\r\\nX-Injected: 1\"}",
        "{\"token\":\"a b\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tok = NULL;
        CHECK_MSG(reg_parse_token_response(bad[i], strlen(bad[i]), &tok, &exp, &err) < 0,
                  "accepted '%s'", bad[i]);
        CHECK(tok == NULL);
    }
}

TEST(urls_and_scopes)
{
    CHECK(reg_host_is_local("127.0.0.1:5000"));
    CHECK(reg_host_is_local("127.200.1.1"));
    CHECK(reg_host_is_local("localhost:80"));
    CHECK(reg_host_is_local("[::1]:5000"));
    CHECK(!reg_host_is_local("128.0.0.1:5000"));
    CHECK(!reg_host_is_local("docker.io"));
    CHECK(!reg_host_is_local("localhost.example.com"));
    char *u = reg_base_url("127.0.0.1:5000", CZ_SCHEME_AUTO);
    CHECK_STR(u, "http://127.0.0.1:5000");
    free(u);
    u = reg_base_url("docker.io", CZ_SCHEME_AUTO);
    CHECK_STR(u, "https://registry-1.docker.io");
    free(u);
    u = reg_base_url("127.0.0.1:5000", CZ_SCHEME_HTTPS);
    CHECK_STR(u, "https://127.0.0.1:5000");
    free(u);
    u = reg_base_url("example.com", CZ_SCHEME_HTTP);
    CHECK_STR(u, "http://example.com");
    free(u);
    u = reg_scope("lib/app", "pull,push");
    CHECK_STR(u, "repository:lib/app:pull,push");
    char *q = reg_url_add_query("http://h/token?service=s", "scope", u);
    CHECK_STR(q, "http://h/token?service=s&scope=repository%3Alib%2Fapp%3Apull%2Cpush");
    free(q);
    free(u);
    u = reg_resolve_location("http://h:1", "/v2/x/blobs/uploads/abc?_state=1");
    CHECK_STR(u, "http://h:1/v2/x/blobs/uploads/abc?_state=1");
    free(u);
    u = reg_resolve_location("http://h:1", "https://other/upload");
    CHECK_STR(u, "https://other/upload");
    free(u);
    u = reg_media_type_base(" application/json; charset=utf-8");
    CHECK_STR(u, "application/json");
    free(u);
}

TEST(base64_round_trip)
{
    const char *cases[] = {"", "a", "ab", "abc", "alice:secret1", "user:p\xc3\xa4ss:with:colons"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *e = reg_base64_encode(cases[i], strlen(cases[i]));
        size_t n;
        char *d = reg_base64_decode(e, &n);
        CHECK(d != NULL);
        CHECK_INT(n, strlen(cases[i]));
        CHECK(d && memcmp(d, cases[i], n) == 0);
        free(e);
        free(d);
    }
    size_t n;
    char *e = reg_base64_encode("alice:secret1", 13);
    CHECK_STR(e, "YWxpY2U6c2VjcmV0MQ==");
    free(e);
    CHECK(reg_base64_decode("a", &n) == NULL);
    CHECK(reg_base64_decode("ab!d", &n) == NULL);
}

TEST(retry_policy)
{
    CHECK(reg_status_retryable(429));
    CHECK(reg_status_retryable(500));
    CHECK(reg_status_retryable(503));
    CHECK(!reg_status_retryable(501));
    CHECK(!reg_status_retryable(404));
    CHECK(!reg_status_retryable(401));
    CHECK(reg_curl_retryable(CURLE_PARTIAL_FILE));
    CHECK(reg_curl_retryable(CURLE_OPERATION_TIMEDOUT));
    CHECK(!reg_curl_retryable(CURLE_URL_MALFORMAT));
    reg_client c = {.retry_delay_ms = 100};
    CHECK_INT(reg_backoff_ms(&c, 1, "2"), 2000);
    CHECK_INT(reg_backoff_ms(&c, 1, "100000"), 10000); /* Retry-After is capped */
    uint64_t d1 = reg_backoff_ms(&c, 1, NULL), d3 = reg_backoff_ms(&c, 3, NULL);
    CHECK(d1 >= 100 && d1 <= 125);
    CHECK(d3 >= 400 && d3 <= 500);
}
