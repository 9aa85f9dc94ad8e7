/* Unit tests of lib/base: errors, sizes, buffers, atomic files. */
#include "unit.h"
#include "base/fs.h"
#include "base/util.h"

#include <errno.h>

TEST(error_wrap_prefixes_context)
{
    cz_error err = {0};
    cz_error_errno(&err, ENOENT, "open %s", "/x");
    cz_error_wrap(&err, "pull %s", "alpine");
    CHECK_STR(err.msg, "pull alpine: open /x: No such file or directory");
    CHECK_INT(err.code, ENOENT);
}

TEST(parse_size_units)
{
    cz_error err = {0};
    uint64_t v;
    CHECK_OK(cz_parse_size("4096", &v, &err), &err);
    CHECK_INT(v, 4096);
    CHECK_OK(cz_parse_size("512M", &v, &err), &err);
    CHECK_INT(v, 512ull << 20);
    CHECK_OK(cz_parse_size("2GiB", &v, &err), &err);
    CHECK_INT(v, 2ull << 30);
    CHECK_OK(cz_parse_size("1.5g", &v, &err), &err);
    CHECK_INT(v, 3ull << 29);
    CHECK(cz_parse_size("12x", &v, &err) < 0);
    CHECK(cz_parse_size("-1", &v, &err) < 0);
    CHECK(cz_parse_size("", &v, &err) < 0);
}

TEST(buf_grows)
{
    cz_buf b = {0};
    for (int i = 0; i < 1000; i++)
        cz_buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK(cz_str_has_prefix(b.data, "0,1,2,"));
    CHECK(cz_str_has_suffix(b.data, "999,"));
    cz_buf_free(&b);
}

TEST(atomic_write_replaces)
{
    cz_error err = {0};
    char path[512];
    snprintf(path, sizeof(path), "%s/f", unit_tmpdir());
    CHECK_OK(cz_write_file_atomic(path, "one", 3, 0600, &err), &err);
    CHECK_OK(cz_write_file_atomic(path, "second", 6, 0600, &err), &err);
    char *data;
    size_t len;
    CHECK_OK(cz_read_file(path, 100, &data, &len, &err), &err);
    CHECK_STR(data, "second");
    free(data);
    CHECK(cz_read_file(path, 3, &data, &len, &err) < 0);
}

TEST(str_escape_names_for_messages)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain/name.txt", "plain/name.txt"},
        {"", ""},
        {"bad\nname\x1b[2J", "bad\\nname\\x1b[2J"},
        {"tab\there\r", "tab\\there\\r"},
        {"back\\slash", "back\\\\slash"},
        {"del\x7f", "del\\x7f"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"latin1 \xe9t\xe9", "latin1 \\xe9t\\xe9"},
        {"c1 \xc2\x9b" "2J", "c1 \\xc2\\x9b2J"},
        {"overlong \xc0\xaf \xe0\x80\xaf", "overlong \\xc0\\xaf \\xe0\\x80\\xaf"},
        {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
        {"cut \xe2\x82", "cut \\xe2\\x82"},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(cases); i++) {
        char *q = cz_str_escape(cases[i].in);
        CHECK_STR(q, cases[i].out);
        free(q);
    }
}
