/* Unit tests of lib/oci: references, digests, platforms, manifests, indexes. */
#include "unit.h"
#include <cz/oci.h>

#include <stdlib.h>

static char *norm(const char *in)
{
    cz_reference r;
    if (cz_reference_parse(in, &r, NULL) < 0)
        return NULL;
    char *s = cz_reference_string(&r);
    cz_reference_free(&r);
    return s;
}

#define CHECK_NORM(in, want)                                                                       \
    do {                                                                                           \
        char *got_ = norm(in);                                                                     \
        CHECK_MSG(got_ && !strcmp(got_, want), "%s -> %s, want %s", in, got_ ? got_ : "(error)",   \
                  want);                                                                           \
        free(got_);                                                                                \
    } while (0)

#define CHECK_BAD(in)                                                                              \
    do {                                                                                           \
        char *got_ = norm(in);                                                                     \
        CHECK_MSG(!got_, "%s accepted as %s", in, got_);                                           \
    } while (0)

static const char D[] = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

TEST(reference_normalizes_like_docker)
{
    CHECK_NORM("alpine", "docker.io/library/alpine:latest");
    CHECK_NORM("alpine:3.19", "docker.io/library/alpine:3.19");
    CHECK_NORM("user/app", "docker.io/user/app:latest");
    CHECK_NORM("index.docker.io/library/busybox", "docker.io/library/busybox:latest");
    CHECK_NORM("localhost/app:1", "localhost/app:1");
    CHECK_NORM("localhost:5000/a/b/c:v1.0", "localhost:5000/a/b/c:v1.0");
    CHECK_NORM("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest");
    CHECK_NORM("ghcr.io/org/repo_name__x-y.z:tag_1", "ghcr.io/org/repo_name__x-y.z:tag_1");
    CHECK_NORM("[::1]:5000/app:1", "[::1]:5000/app:1");
}

TEST(reference_digest_forms)
{
    char in[200];
    snprintf(in, sizeof(in), "alpine@%s", D);
    char want[200];
    snprintf(want, sizeof(want), "docker.io/library/alpine@%s", D);
    CHECK_NORM(in, want);
    snprintf(in, sizeof(in), "reg.io/a:t@%s", D);
    snprintf(want, sizeof(want), "reg.io/a:t@%s", D);
    CHECK_NORM(in, want);
}

TEST(reference_rejects_invalid)
{
    CHECK_BAD("");
    CHECK_BAD("Alpine");
    CHECK_BAD("alpine:");
    CHECK_BAD("alpine:-bad");
    CHECK_BAD("a//b");
    CHECK_BAD("a/b/");
    CHECK_BAD("-a");
    CHECK_BAD("a..b");
    CHECK_BAD("alpine@sha256:1234");
    CHECK_BAD("alpine@md5:d41d8cd98f00b204e9800998ecf8427e");
    CHECK_BAD("reg.io:port/a");
    CHECK_BAD("a b");
    char longtag[200];
    memset(longtag, 'a', sizeof(longtag));
    memcpy(longtag, "x:", 2);
    longtag[199] = '\0';
    CHECK_BAD(longtag);
    cz_error err = {0};
    cz_reference r;
    CHECK(cz_reference_parse("Upper/case", &r, &err) < 0);
    CHECK(strstr(err.msg, "lowercase") != NULL);
}

TEST(reference_familiar)
{
    cz_reference r;
    cz_error err = {0};
    CHECK_OK(cz_reference_parse("docker.io/library/alpine:3", &r, &err), &err);
    char *f = cz_reference_familiar(&r);
    CHECK_STR(f, "alpine:3");
    free(f);
    cz_reference_free(&r);
    CHECK_OK(cz_reference_parse("127.0.0.1:5000/x/y", &r, &err), &err);
    f = cz_reference_familiar(&r);
    CHECK_STR(f, "127.0.0.1:5000/x/y:latest");
    free(f);
    cz_reference_free(&r);
}

TEST(digest_of_bytes)
{
    char d[CZ_DIGEST_MAX];
    cz_digest_bytes("hello", 5, d);
    CHECK_STR(d, D);
    CHECK_OK(cz_digest_validate(D, NULL) == 0 ? 0 : -1, &(cz_error){0});
    CHECK(cz_digest_validate("sha256:ABC", NULL) < 0);
    CHECK(cz_digest_validate(
              "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824", NULL) < 0);
}

TEST(platform_parse_and_match)
{
    cz_platform p, q;
    cz_error err = {0};
    CHECK_OK(cz_platform_parse("linux/arm64/v8", &p, &err), &err);
    char *s = cz_platform_string(&p);
    CHECK_STR(s, "linux/arm64");
    free(s);
    CHECK_OK(cz_platform_parse("aarch64", &q, &err), &err);
    CHECK(cz_platform_matches(&p, &q));
    cz_platform_free(&q);
    CHECK_OK(cz_platform_parse("linux/amd64", &q, &err), &err);
    CHECK(!cz_platform_matches(&p, &q));
    cz_platform_free(&q);
    cz_platform_free(&p);
    CHECK(cz_platform_parse("linux/nonsense", &p, &err) < 0);
    CHECK(cz_platform_parse("a/b/c/d", &p, &err) < 0);
    cz_platform_host(&p);
    CHECK(p.architecture && strcmp(p.architecture, "x86_64") != 0);
    cz_platform_free(&p);
}

static const char index_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" 
    "sha256:1111111111111111111111111111111111111111111111111111111111111111\",\"size\":10,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\""
    "sha256:2222222222222222222222222222222222222222222222222222222222222222\",\"size\":11,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}";

TEST(index_select_platform)
{
    cz_index ix;
    cz_error err = {0};
    CHECK_OK(cz_index_parse(index_json, strlen(index_json), &ix, &err), &err);
    CHECK_INT(ix.n_manifests, 2);
    cz_platform p;
    CHECK_OK(cz_platform_parse("linux/arm64", &p, &err), &err);
    CHECK_INT(cz_index_select(&ix, &p, &err), 1);
    cz_platform_free(&p);
    CHECK_OK(cz_platform_parse("linux/s390x", &p, &err), &err);
    CHECK(cz_index_select(&ix, &p, &err) < 0);
    CHECK_MSG(strstr(err.msg, "linux/amd64, linux/arm64/v8") != NULL, "%s", err.msg);
    cz_platform_free(&p);
    cz_index_free(&ix);
}

TEST(manifest_parse_and_kind)
{
    const char *m = "{\"schemaVersion\":2,\"mediaType\":"
                    "\"application/vnd.docker.distribution.manifest.v2+json\","
                    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
                    "\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
                    "\"size\":3},\"layers\":[{\"mediaType\":"
                    "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":"
                    "\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
                    "\"size\":4}]}";
    cz_manifest man;
    cz_error err = {0};
    CHECK_OK(cz_manifest_parse(m, strlen(m), &man, &err), &err);
    CHECK_INT(man.n_layers, 1);
    CHECK_INT(man.layers[0].size, 4);
    CHECK(cz_media_is_layer(man.layers[0].media_type));
    cz_manifest_free(&man);
    enum cz_manifest_kind k;
    CHECK_OK(cz_manifest_kind(NULL, m, strlen(m), &k, &err), &err);
    CHECK_INT(k, CZ_KIND_MANIFEST);
    CHECK_OK(cz_manifest_kind(NULL, index_json, strlen(index_json), &k, &err), &err);
    CHECK_INT(k, CZ_KIND_INDEX);
    const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
    CHECK(cz_manifest_kind(NULL, s1, strlen(s1), &k, &err) < 0);
    CHECK(strstr(err.msg, "schema 1") != NULL);
    CHECK(cz_manifest_kind("text/html", NULL, 0, &k, &err) < 0);
    CHECK(cz_manifest_parse("{", 1, &man, &err) < 0);
    CHECK(strstr(err.msg, "invalid JSON") != NULL);
    const char *nosize = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":"
                         "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"},"
                         "\"layers\":[]}";
    CHECK(cz_manifest_parse(nosize, strlen(nosize), &man, &err) < 0);
}

TEST(image_config_parse)
{
    const char *c = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"
                    "\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/w\",\"Labels\":{\"a\":\"b\"}},"
                    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:00\"]}}";
    cz_image_config cfg;
    cz_error err = {0};
    CHECK_OK(cz_image_config_parse(c, strlen(c), &cfg, &err), &err);
    CHECK_STR(cfg.env[0], "PATH=/bin");
    CHECK_STR(cfg.cmd[0], "/bin/sh");
    CHECK_STR(cfg.working_dir, "/w");
    CHECK_STR(cfg.labels[0], "a=b");
    CHECK_STR(cfg.diff_ids[0], "sha256:00");
    cz_image_config_free(&cfg);
}
