/* Unit tests of lib/content: atomic ingest, verification, names, GC. */
#include "unit.h"
#include <cz/content.h>

#include <dirent.h>
#include <stdlib.h>

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

TEST(ingest_verifies_digest_and_size)
{
    cz_error err = {0};
    cz_store *s;
    CHECK_OK(cz_store_open(unit_tmpdir(), &s, &err), &err);
    char d[CZ_DIGEST_MAX];
    cz_digest_bytes("hello", 5, d);
    cz_ingest *w;
    /* wrong content: digest mismatch, nothing stored, temp removed */
    CHECK_OK(cz_ingest_begin(s, d, 5, &w, &err), &err);
    CHECK_OK(cz_ingest_write(w, "hellO", 5, &err), &err);
    CHECK(cz_ingest_commit(w, NULL, &err) < 0);
    CHECK(strstr(err.msg, "digest mismatch") != NULL);
    CHECK(!cz_store_has_blob(s, d, -1));
    /* too much data */
    CHECK_OK(cz_ingest_begin(s, d, 5, &w, &err), &err);
    CHECK(cz_ingest_write(w, "hello!", 6, &err) < 0);
    cz_ingest_abort(w);
    /* short */
    CHECK_OK(cz_ingest_begin(s, d, 5, &w, &err), &err);
    CHECK_OK(cz_ingest_write(w, "hel", 3, &err), &err);
    CHECK(cz_ingest_commit(w, NULL, &err) < 0);
    CHECK(strstr(err.msg, "size mismatch") != NULL);
    /* restart then right */
    CHECK_OK(cz_ingest_begin(s, d, 5, &w, &err), &err);
    CHECK_OK(cz_ingest_write(w, "xx", 2, &err), &err);
    CHECK_OK(cz_ingest_restart(w, &err), &err);
    CHECK_INT(cz_ingest_offset(w), 0);
    CHECK_OK(cz_ingest_write(w, "hel", 3, &err), &err);
    CHECK_OK(cz_ingest_write(w, "lo", 2, &err), &err);
    CHECK_OK(cz_ingest_commit(w, NULL, &err), &err);
    CHECK(cz_store_has_blob(s, d, 5));
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s/tmp/ingest", unit_tmpdir());
    CHECK_INT(count_files(tmp), 0);
    char *data;
    size_t len;
    CHECK_OK(cz_store_read_blob(s, d, 100, &data, &len, &err), &err);
    CHECK_INT(len, 5);
    free(data);
    cz_store_close(s);
}

TEST(names_and_gc)
{
    cz_error err = {0};
    cz_store *s;
    CHECK_OK(cz_store_open(unit_tmpdir(), &s, &err), &err);
    char cfg[CZ_DIGEST_MAX], layer[CZ_DIGEST_MAX], man[CZ_DIGEST_MAX], junk[CZ_DIGEST_MAX];
    CHECK_OK(cz_store_put_blob(s, "{\"architecture\":\"amd64\",\"os\":\"linux\"}", 37, cfg, &err),
             &err);
    CHECK_OK(cz_store_put_blob(s, "layerdata", 9, layer, &err), &err);
    CHECK_OK(cz_store_put_blob(s, "junk", 4, junk, &err), &err);
    char m[1024];
    snprintf(m, sizeof(m),
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
             "\"digest\":\"%s\",\"size\":37},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
             "\"size\":9}]}",
             CZ_MEDIA_OCI_MANIFEST, CZ_MEDIA_OCI_CONFIG, cfg, CZ_MEDIA_OCI_LAYER, layer);
    CHECK_OK(cz_store_put_blob(s, m, strlen(m), man, &err), &err);
    char mt[] = CZ_MEDIA_OCI_MANIFEST;
    cz_descriptor d = {.media_type = mt, .digest = man, .size = (int64_t)strlen(m)};
    CHECK_OK(cz_store_set_image(s, "docker.io/library/test:1", &d, &err), &err);
    CHECK_OK(cz_store_set_image(s, "docker.io/library/test:1", &d, &err), &err);
    cz_image_record *v;
    size_t n;
    CHECK_OK(cz_store_list_images(s, &v, &n, &err), &err);
    CHECK_INT(n, 1);
    cz_image_records_free(v, n);
    cz_image_record rec;
    CHECK_OK(cz_store_get_image(s, "test:1", &rec, &err), &err);
    CHECK_STR(rec.target.digest, man);
    free(rec.name);
    cz_descriptor_free(&rec.target);
    CHECK(cz_store_get_image(s, "test:2", &rec, &err) < 0);
    uint64_t bytes;
    int blobs;
    CHECK_OK(cz_store_gc(s, &bytes, &blobs, &err), &err);
    CHECK_INT(blobs, 1);
    CHECK(!cz_store_has_blob(s, junk, -1));
    CHECK(cz_store_has_blob(s, layer, 9));
    CHECK_OK(cz_store_remove_image(s, "docker.io/library/test:1", &err), &err);
    CHECK_OK(cz_store_gc(s, &bytes, &blobs, &err), &err);
    CHECK_INT(blobs, 3);
    cz_store_close(s);
}

TEST(ingest_verify_before_commit)
{
    cz_error err = {0};
    cz_store *s;
    const char *root = unit_tmpdir();
    CHECK_OK(cz_store_open(root, &s, &err), &err);
    char d[CZ_DIGEST_MAX];
    cz_digest_bytes("layer", 5, d);
    cz_ingest *w;
    /* short: verify fails, nothing in the store */
    CHECK_OK(cz_ingest_begin(s, d, 5, &w, &err), &err);
    CHECK_OK(cz_ingest_write(w, "lay", 3, &err), &err);
    CHECK(cz_ingest_verify(w, &err) < 0);
    CHECK(strstr(err.msg, "size mismatch") != NULL);
    CHECK(!cz_store_has_blob(s, d, 5));
    /* whole after a restart: verify passes, still not stored until commit */
    CHECK_OK(cz_ingest_restart(w, &err), &err);
    CHECK_OK(cz_ingest_write(w, "layer", 5, &err), &err);
    CHECK_OK(cz_ingest_verify(w, &err), &err);
    CHECK(!cz_store_has_blob(s, d, 5));
    CHECK(cz_ingest_write(w, "x", 1, &err) < 0); /* no writes after verify */
    CHECK_OK(cz_ingest_commit(w, NULL, &err), &err);
    CHECK(cz_store_has_blob(s, d, 5));
    cz_store_close(s);
}
