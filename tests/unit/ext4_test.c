/* The ext4 writer and layer unpacker, feature by feature. e2fsck -fn judges
 * every image (nothing but its pass lines may be printed); debugfs reads the
 * content back without mounting. Layers are built in memory with libarchive. */
#include "unit.h"

#include <cz/ext4.h>

#include "base/fs.h"
#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

/* e2fsck -fn must say nothing beyond its banner, pass lines and summary. */
static bool fsck_clean(const char *img, char *why, size_t n)
{
    cz_autofree char *cmd = cz_xasprintf("e2fsck -fn '%s' 2>&1", img);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(why, n, "cannot run e2fsck");
        return false;
    }
    char line[512];
    bool ok = true;
    why[0] = 0;
    while (fgets(line, sizeof(line), p)) {
        if (cz_str_has_prefix(line, "e2fsck ") || cz_str_has_prefix(line, "Pass ") ||
            strstr(line, " files (") || line[0] == '\n')
            continue;
        if (ok)
            snprintf(why, n, "%s", line);
        ok = false;
    }
    int st = pclose(p);
    if (st != 0 && ok) {
        snprintf(why, n, "e2fsck exit status %d", st);
        ok = false;
    }
    return ok;
}

/* Output of a debugfs request on img (first 64 KiB). */
static char *debugfs(const char *img, const char *req)
{
    cz_autofree char *cmd = cz_xasprintf("debugfs -R '%s' '%s' 2>/dev/null", req, img);
    FILE *p = popen(cmd, "r");
    cz_buf b = {0};
    char chunk[4096];
    size_t n;
    while (p && (n = fread(chunk, 1, sizeof(chunk), p)) > 0 && b.len < 65536)
        cz_buf_append(&b, chunk, n);
    if (p)
        pclose(p);
    cz_buf_append(&b, "", 0);
    return cz_buf_steal(&b);
}

#define CHECK_FSCK(img)                                                                            \
    do {                                                                                           \
        char why_[512];                                                                            \
        CHECK_MSG(fsck_clean(img, why_, sizeof(why_)), "e2fsck on %s: %s", img, why_);             \
    } while (0)

static struct cz_ext4_attr attr(uint32_t mode)
{
    return (struct cz_ext4_attr){.mode = mode,
                                 .mtime = 1700000000,
                                 .mtime_ns = 123456789,
                                 .atime = 1700000001,
                                 .ctime = 1700000002};
}

TEST(empty_image_with_journal)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/e.ext4", unit_tmpdir());
    CHECK_OK(cz_ext4_create_empty(img, 64u << 20, "vol", &err), &err);
    CHECK_FSCK(img);
    struct stat sb;
    CHECK(stat(img, &sb) == 0);
    CHECK_INT(sb.st_size, 64u << 20);
    cz_autofree char *s = debugfs(img, "stats");
    CHECK(strstr(s, "has_journal") && strstr(s, "metadata_csum") && strstr(s, "flex_bg") &&
          strstr(s, "dir_index") && strstr(s, "huge_file") && strstr(s, "dir_nlink"));
    CHECK(strstr(s, "Filesystem volume name:   vol"));
    cz_autofree char *lf = debugfs(img, "stat /lost+found");
    CHECK(strstr(lf, "Type: directory"));
}

TEST(sparse_512_gib_volume)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/big.ext4", unit_tmpdir());
    CHECK_OK(cz_ext4_create_empty(img, 512ull << 30, NULL, &err), &err);
    struct stat sb;
    CHECK(stat(img, &sb) == 0);
    CHECK_INT(sb.st_size, 512ull << 30);
    CHECK_MSG(sb.st_blocks * 512 < (64 << 20), "uses %lld bytes", (long long)sb.st_blocks * 512);
    CHECK_FSCK(img);
}

static int build_all_types(const char *img, const struct cz_ext4_options *o, cz_error *err)
{
    cz_ext4 *w;
    if (cz_ext4_open(img, o, &w, err) < 0)
        return -1;
    struct cz_ext4_attr a = attr(S_IFDIR | 0755);
    int r = cz_ext4_add(w, "etc", &a, NULL, err);
    a = attr(S_IFREG | 04755);
    a.uid = 100000;
    a.gid = 70000;
    a.size = 6;
    if (r == 0)
        r = cz_ext4_add(w, "etc/hello", &a, NULL, err);
    if (r == 0)
        r = cz_ext4_write(w, 0, "hello\n", 6, err);
    a = attr(S_IFLNK | 0777);
    if (r == 0)
        r = cz_ext4_add(w, "etc/fast", &a, "hello", err);
    char target[300];
    memset(target, 't', sizeof(target) - 1);
    target[sizeof(target) - 1] = 0;
    if (r == 0)
        r = cz_ext4_add(w, "etc/slow", &a, target, err);
    a = attr(S_IFCHR | 0666);
    a.dev_major = 1;
    a.dev_minor = 3;
    if (r == 0)
        r = cz_ext4_add(w, "dev/null", &a, NULL, err);
    a = attr(S_IFBLK | 0600);
    a.dev_major = 259;
    a.dev_minor = 70000;
    if (r == 0)
        r = cz_ext4_add(w, "dev/disk", &a, NULL, err);
    a = attr(S_IFIFO | 0600);
    if (r == 0)
        r = cz_ext4_add(w, "dev/fifo", &a, NULL, err);
    a = attr(S_IFSOCK | 0600);
    if (r == 0)
        r = cz_ext4_add(w, "dev/sock", &a, NULL, err);
    a = attr(S_IFDIR | 01777);
    if (r == 0)
        r = cz_ext4_add(w, "tmp", &a, NULL, err);
    if (r == 0)
        r = cz_ext4_link(w, "etc/hello.link", "etc/hello", err);
    static const uint8_t cap[20] = {0, 0, 0, 2, 0x20};
    if (r == 0)
        r = cz_ext4_set_xattr(w, "etc/hello", "security.capability", cap, sizeof(cap), err);
    if (r == 0)
        r = cz_ext4_set_xattr(w, "etc/hello", "user.small", "v", 1, err);
    char big[900];
    memset(big, 'b', sizeof(big));
    for (int i = 0; i < 3 && r == 0; i++) {
        char name[32];
        snprintf(name, sizeof(name), "trusted.big%d", i);
        r = cz_ext4_set_xattr(w, "etc/hello", name, big, sizeof(big), err);
    }
    /* user::rw- user:1000:r-- group::r-- mask::r-- other::--- */
    static const uint8_t acl[] = {2,   0,   0,   0,    1,   0,    6,    0,   255, 255, 255,
                                  255, 2,   0,   4,    0,   0xe8, 3,    0,   0,   4,   0,
                                  4,   0,   255, 255,  255, 255,  0x10, 0,   4,   0,   255,
                                  255, 255, 255, 0x20, 0,   0,    0,    255, 255, 255, 255};
    if (r == 0)
        r = cz_ext4_set_xattr(w, "etc", "system.posix_acl_access", acl, sizeof(acl), err);
    if (r == 0)
        r = cz_ext4_set_xattr(w, "etc", "system.posix_acl_default", acl, sizeof(acl), err);
    if (r < 0) {
        cz_ext4_abort(w);
        return -1;
    }
    return cz_ext4_finish(w, err);
}

TEST(every_file_type_and_xattrs)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/t.ext4", unit_tmpdir());
    struct cz_ext4_options o = {.label = "types"};
    CHECK_OK(build_all_types(img, &o, &err), &err);
    CHECK_FSCK(img);
    cz_autofree char *cat = debugfs(img, "cat /etc/hello");
    CHECK_STR(cat, "hello\n");
    cz_autofree char *st = debugfs(img, "stat /etc/hello");
    CHECK(strstr(st, "Mode:  04755") && strstr(st, "User: 100000") && strstr(st, "Group: 70000"));
    CHECK(strstr(st, "Links: 2"));
    CHECK(strstr(st, "mtime: 0x6553f100:1d6f3454")); /* 1700000000 s, 123456789 ns */
    CHECK(strstr(st, "security.capability") && strstr(st, "user.small") &&
          strstr(st, "trusted.big2"));
    CHECK(strstr(st, "File ACL: ") && !strstr(st, "File ACL: 0"));
    cz_autofree char *fast = debugfs(img, "stat /etc/fast");
    CHECK(strstr(fast, "Fast link dest: \"hello\""));
    cz_autofree char *slow = debugfs(img, "stat /etc/slow");
    CHECK(strstr(slow, "Size: 299"));
    cz_autofree char *dev = debugfs(img, "stat /dev/disk");
    CHECK(strstr(dev, "Device major/minor number: 259:70000"));
    cz_autofree char *acl = debugfs(img, "ea_list /etc");
    CHECK(strstr(acl, "system.posix_acl_access") && strstr(acl, "system.posix_acl_default"));
    cz_autofree char *tmp = debugfs(img, "stat /tmp");
    CHECK(strstr(tmp, "Mode:  01777"));
}

TEST(journal_and_64bit)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/j.ext4", unit_tmpdir());
    struct cz_ext4_options o = {.size_bytes = 300u << 20, .journal = true, .force_64bit = true};
    CHECK_OK(build_all_types(img, &o, &err), &err);
    CHECK_FSCK(img);
    cz_autofree char *s = debugfs(img, "stats");
    CHECK(strstr(s, "64bit") && strstr(s, "has_journal"));
}

TEST(htree_directory_of_50000_entries)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/h.ext4", unit_tmpdir());
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
    struct cz_ext4_attr a = attr(S_IFREG | 0644);
    for (int i = 0; i < 50000; i++) {
        char p[64];
        snprintf(p, sizeof(p), "many/entry-%d", i);
        if (cz_ext4_add(w, p, &a, NULL, &err) < 0) {
            cz_ext4_abort(w);
            CHECK_MSG(0, "%s", err.msg);
        }
    }
    CHECK_OK(cz_ext4_finish(w, &err), &err);
    CHECK_FSCK(img);
    cz_autofree char *st = debugfs(img, "stat /many");
    CHECK(strstr(st, "Flags: 0x81000")); /* extents + hashed index */
    cz_autofree char *one = debugfs(img, "stat /many/entry-49999");
    CHECK(strstr(one, "Type: regular"));
}

TEST(fragmented_file_has_a_deep_extent_tree)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/f.ext4", unit_tmpdir());
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
    struct cz_ext4_attr a = attr(S_IFREG | 0644);
    a.size = 3000ull * 2 * 4096;
    CHECK_OK(cz_ext4_add(w, "frag", &a, NULL, &err), &err);
    char block[4096];
    for (int i = 0; i < 3000; i++) {
        memset(block, 'a' + i % 26, sizeof(block));
        if (cz_ext4_write(w, (uint64_t)i * 2 * 4096, block, sizeof(block), &err) < 0) {
            cz_ext4_abort(w);
            CHECK_MSG(0, "%s", err.msg);
        }
    }
    /* a sparse 6 GiB file: data beyond 4 GiB, holes between */
    a.size = 6ull << 30;
    CHECK_OK(cz_ext4_add(w, "sparse", &a, NULL, &err), &err);
    CHECK_OK(cz_ext4_write(w, 5ull << 30, "tail", 4, &err), &err);
    CHECK_OK(cz_ext4_finish(w, &err), &err);
    CHECK_FSCK(img);
    cz_autofree char *ex = debugfs(img, "ex /frag");
    CHECK_MSG(strstr(ex, " 2/ 2 "), "extent tree not two levels deep: %.300s", ex);
    cz_autofree char *sp = debugfs(img, "stat /sparse");
    CHECK(strstr(sp, "Size: 6442450944"));
    CHECK(strstr(sp, "Blockcount: 8"));
}

TEST(paths_stay_inside_the_image)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/p.ext4", unit_tmpdir());
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
    struct cz_ext4_attr l = attr(S_IFLNK | 0777), f = attr(S_IFREG | 0644);
    CHECK_OK(cz_ext4_add(w, "escape", &l, "../../../../..", &err), &err);
    CHECK_OK(cz_ext4_add(w, "abs", &l, "/etc", &err), &err);
    CHECK_OK(cz_ext4_add(w, "escape/a", &f, NULL, &err), &err);
    CHECK_OK(cz_ext4_add(w, "../../b", &f, NULL, &err), &err);
    CHECK_OK(cz_ext4_add(w, "/c", &f, NULL, &err), &err);
    CHECK(cz_ext4_add(w, "abs/d", &f, NULL, &err) < 0); /* dangling: /etc is missing */
    struct cz_ext4_attr da = attr(S_IFDIR | 0755);
    CHECK_OK(cz_ext4_add(w, "etc", &da, NULL, &err), &err);
    CHECK_OK(cz_ext4_add(w, "abs/d", &f, NULL, &err), &err);
    CHECK(cz_ext4_add(w, "x//y", &f, NULL, &err) < 0);
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    CHECK(cz_ext4_add(w, longname, &f, NULL, &err) < 0 && err.code == ENAMETOOLONG);
    CHECK(cz_ext4_link(w, "h", "missing", &err) < 0);
    CHECK(cz_ext4_set_xattr(w, "a", "bogus.name", "", 0, &err) < 0);
    CHECK_OK(cz_ext4_finish(w, &err), &err);
    CHECK_FSCK(img);
    cz_autofree char *ls = debugfs(img, "ls -l /");
    CHECK(strstr(ls, " a ") || strstr(ls, " a\n") || strstr(ls, " a  "));
    cz_autofree char *b = debugfs(img, "stat /b");
    CHECK(strstr(b, "Type: regular"));
    cz_autofree char *d = debugfs(img, "stat /etc/d");
    CHECK(strstr(d, "Type: regular"));
}

/* --- layers ---------------------------------------------------------------- */
struct tarbuf {
    struct archive *a;
    char *data;
    size_t cap, used;
};

enum { TAR_PLAIN, TAR_GZIP, TAR_ZSTD };

static void tar_begin(struct tarbuf *t, int filter)
{
    t->cap = 8 << 20;
    t->data = cz_xmalloc(t->cap);
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    if (filter == TAR_GZIP)
        archive_write_add_filter_gzip(t->a);
    else if (filter == TAR_ZSTD)
        archive_write_add_filter_zstd(t->a);
    archive_write_open_memory(t->a, t->data, t->cap, &t->used);
}

static void tar_add(struct tarbuf *t, const char *path, unsigned type, unsigned perm,
                    const char *content, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, 1600000000, 0);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(e, link);
    else if (link)
        archive_entry_set_hardlink(e, link);
    size_t n = content ? strlen(content) : 0;
    archive_entry_set_size(e, (la_int64_t)n);
    archive_write_header(t->a, e);
    if (n)
        archive_write_data(t->a, content, n);
    archive_entry_free(e);
}

static void tar_end(struct tarbuf *t)
{
    archive_write_close(t->a);
    archive_write_free(t->a);
}

TEST(layers_whiteouts_replacements_hardlinks)
{
    cz_error err = {0};
    cz_autofree char *img = cz_xasprintf("%s/l.ext4", unit_tmpdir());
    struct tarbuf l1, l2;
    tar_begin(&l1, TAR_GZIP);
    tar_add(&l1, "dir/", AE_IFDIR, 0755, NULL, NULL);
    tar_add(&l1, "dir/keep", AE_IFREG, 0644, "keep", NULL);
    tar_add(&l1, "dir/gone", AE_IFREG, 0644, "gone", NULL);
    tar_add(&l1, "opq/", AE_IFDIR, 0755, NULL, NULL);
    tar_add(&l1, "opq/lower", AE_IFREG, 0644, "lower", NULL);
    tar_add(&l1, "was_dir/", AE_IFDIR, 0755, NULL, NULL);
    tar_add(&l1, "was_dir/child", AE_IFREG, 0644, "c", NULL);
    tar_add(&l1, "was_file", AE_IFREG, 0644, "f", NULL);
    tar_add(&l1, "orig", AE_IFREG, 0600, "original", NULL);
    tar_end(&l1);
    tar_begin(&l2, TAR_PLAIN);
    tar_add(&l2, "dir/.wh.gone", AE_IFREG, 0644, NULL, NULL);
    tar_add(&l2, "opq/.wh..wh..opq", AE_IFREG, 0644, NULL, NULL);
    tar_add(&l2, "opq/upper", AE_IFREG, 0644, "upper", NULL);
    tar_add(&l2, "was_dir", AE_IFREG, 0644, "now a file", NULL);
    tar_add(&l2, "was_file/", AE_IFDIR, 0755, NULL, NULL);
    tar_add(&l2, "was_file/x", AE_IFREG, 0644, "x", NULL);
    tar_add(&l2, "link_to_lower", AE_IFREG, 0600, NULL, "orig");
    tar_add(&l2, "new/parents/made", AE_IFREG, 0644, "p", NULL);
    tar_end(&l2);
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
    if (cz_ext4_apply_layer_mem(w, l1.data, l1.used, "sha256:l1", 0, &err) < 0 ||
        cz_ext4_apply_layer_mem(w, l2.data, l2.used, "sha256:l2", 1, &err) < 0) {
        cz_ext4_abort(w);
        free(l1.data);
        free(l2.data);
        CHECK_MSG(0, "%s", err.msg);
    }
    free(l1.data);
    free(l2.data);
    CHECK_OK(cz_ext4_finish(w, &err), &err);
    CHECK_FSCK(img);
    cz_autofree char *dir = debugfs(img, "ls /dir");
    CHECK(strstr(dir, "keep") && !strstr(dir, "gone"));
    cz_autofree char *opq = debugfs(img, "ls /opq");
    CHECK(strstr(opq, "upper") && !strstr(opq, "lower"));
    cz_autofree char *wd = debugfs(img, "stat /was_dir");
    CHECK(strstr(wd, "Type: regular"));
    cz_autofree char *wf = debugfs(img, "cat /was_file/x");
    CHECK_STR(wf, "x");
    cz_autofree char *hl = debugfs(img, "stat /link_to_lower");
    CHECK(strstr(hl, "Links: 2"));
    cz_autofree char *np = debugfs(img, "cat /new/parents/made");
    CHECK_STR(np, "p");
}

TEST(bad_layers_fail_cleanly)
{
    cz_error err = {0};
    const char *dir = unit_tmpdir();
    struct {
        const char *what;
        const char *path, *content, *link;
        const char *want;
    } cases[] = {
        {"whiteout of a missing name", "a/.wh.nothing", NULL, NULL, "does not exist"},
        {"hardlink to a missing target", "h", NULL, "nowhere", "hard link target"},
        {"empty component", "a//b", "x", NULL, "empty path component"},
    };
    for (size_t i = 0; i < CZ_ARRAY_SIZE(cases); i++) {
        struct tarbuf t;
        tar_begin(&t, TAR_PLAIN);
        tar_add(&t, cases[i].path, AE_IFREG, 0644, cases[i].content, cases[i].link);
        tar_end(&t);
        cz_autofree char *img = cz_xasprintf("%s/bad%zu.ext4", dir, i);
        struct cz_ext4_options o = {0};
        cz_ext4 *w;
        CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
        int r = cz_ext4_apply_layer_mem(w, t.data, t.used, "sha256:bad", 0, &err);
        free(t.data);
        cz_ext4_abort(w);
        CHECK_MSG(r < 0, "%s accepted", cases[i].what);
        CHECK_MSG(strstr(err.msg, "layer sha256:bad: entry '") && strstr(err.msg, cases[i].want),
                  "%s: %s", cases[i].what, err.msg);
        CHECK(access(img, F_OK) != 0);
    }
    /* truncated gzip stream, through the file path (ISA-L) */
    struct tarbuf t;
    tar_begin(&t, TAR_GZIP);
    char big[20000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    for (int i = 0; i < 50; i++) {
        char p[32];
        snprintf(p, sizeof(p), "f%d", i);
        big[i] = 'a' + i % 26;
        tar_add(&t, p, AE_IFREG, 0644, big, NULL);
    }
    tar_end(&t);
    cz_autofree char *layer = cz_xasprintf("%s/trunc.tar.gz", dir);
    FILE *f = fopen(layer, "w");
    CHECK(f && fwrite(t.data, 1, t.used / 2, f) == t.used / 2);
    fclose(f);
    free(t.data);
    cz_autofree char *img = cz_xasprintf("%s/trunc.ext4", dir);
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
    int fd = open(layer, O_RDONLY | O_CLOEXEC);
    int r = cz_ext4_apply_layer_fd(w, fd, "sha256:trunc", 0, NULL, NULL, &err);
    close(fd);
    cz_ext4_abort(w);
    CHECK_MSG(r < 0 && strstr(err.msg, "sha256:trunc") && strstr(err.msg, "truncated"), "%s",
              err.msg);
    /* an entry larger than the space left */
    cz_autofree char *small = cz_xasprintf("%s/small.ext4", dir);
    struct cz_ext4_options so = {.size_bytes = 1u << 20};
    CHECK_OK(cz_ext4_open(small, &so, &w, &err), &err);
    struct cz_ext4_attr a = attr(S_IFREG | 0644);
    a.size = 4u << 20;
    CHECK_OK(cz_ext4_add(w, "huge", &a, NULL, &err), &err);
    char *chunk = cz_xcalloc(1, 4u << 20);
    r = cz_ext4_write(w, 0, chunk, 4u << 20, &err);
    free(chunk);
    cz_ext4_abort(w);
    CHECK_MSG(r < 0 && err.code == ENOSPC, "%s", err.msg);
    CHECK(access(small, F_OK) != 0);
}

/* --- pax records libarchive loses (NUL in a path, negative fractional times) --- */
static void raw_header(cz_buf *b, const char *name, char type, size_t size)
{
    char h[512] = {0};
    snprintf(h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf(h + 124, 12, "%011zo", size);
    memcpy(h + 136, "14000000000", 12);
    h[156] = type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    cz_buf_append(b, h, 512);
}

static void raw_data(cz_buf *b, const void *d, size_t n)
{
    static const char zero[512];
    cz_buf_append(b, d, n);
    if (n % 512)
        cz_buf_append(b, zero, 512 - n % 512);
}

/* A pax header with one record key=value (value may hold NULs), then a file. */
static void raw_pax_file(cz_buf *b, const char *name, const char *key, const char *value,
                         size_t vlen, const char *content)
{
    size_t body = strlen(key) + vlen + 3, len = body + 1;
    while (len != body + (size_t)snprintf(NULL, 0, "%zu", len))
        len = body + (size_t)snprintf(NULL, 0, "%zu", len);
    cz_buf rec = {0};
    cz_buf_printf(&rec, "%zu %s=", len, key);
    cz_buf_append(&rec, value, vlen);
    cz_buf_append(&rec, "\n", 1);
    raw_header(b, "PaxHeaders/x", 'x', rec.len);
    raw_data(b, rec.data, rec.len);
    cz_buf_free(&rec);
    raw_header(b, name, '0', strlen(content));
    raw_data(b, content, strlen(content));
}

static int apply_raw(const char *img, const cz_buf *b, bool via_fd, cz_error *err)
{
    static const char zero[1024];
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    if (cz_ext4_open(img, &o, &w, err) < 0)
        return -1;
    cz_buf t = {0};
    cz_buf_append(&t, b->data, b->len);
    cz_buf_append(&t, zero, sizeof(zero));
    int r;
    if (via_fd) {
        cz_autofree char *lp = cz_xasprintf("%s.tar", img);
        FILE *f = fopen(lp, "w");
        r = f && fwrite(t.data, 1, t.len, f) == t.len ? 0 : -1;
        if (f)
            fclose(f);
        int fd = open(lp, O_RDONLY | O_CLOEXEC);
        r = r < 0 ? cz_error_set(err, EIO, "write %s", lp)
                  : cz_ext4_apply_layer_fd(w, fd, "sha256:pax", 0, NULL, NULL, err);
        close(fd);
    } else {
        r = cz_ext4_apply_layer_mem(w, t.data, t.len, "sha256:pax", 0, err);
    }
    cz_buf_free(&t);
    if (r < 0) {
        cz_ext4_abort(w);
        return -1;
    }
    return cz_ext4_finish(w, err);
}

TEST(pax_nul_path_and_negative_times)
{
    cz_error err = {0};
    const char *dir = unit_tmpdir();
    for (int via_fd = 0; via_fd < 2; via_fd++) {
        /* a NUL in the path is refused; via the fd its pax header straddles the 1 MiB
         * read chunk */
        cz_buf b = {0};
        size_t n = (1u << 20) - 1024;
        char *big = cz_xcalloc(1, n + 1);
        memset(big, 'b', n);
        raw_header(&b, "big", '0', n);
        raw_data(&b, big, n);
        free(big);
        raw_pax_file(&b, "nul", "path", "with\0nul", 8, "x");
        cz_autofree char *img = cz_xasprintf("%s/nul%d.ext4", dir, via_fd);
        CHECK(apply_raw(img, &b, via_fd, &err) < 0);
        CHECK_MSG(strstr(err.msg, "entry 'with'") && strstr(err.msg, "NUL"), "%s", err.msg);
        CHECK(access(img, F_OK) != 0);
        cz_buf_free(&b);
    }
    /* negative fractional times; a file holding a pax header with a NUL path is data */
    cz_buf b = {0}, decoy = {0};
    raw_pax_file(&decoy, "inner", "path", "in\0ner", 6, "i");
    raw_header(&b, "decoy", '0', decoy.len);
    raw_data(&b, decoy.data, decoy.len);
    raw_pax_file(&b, "neg", "mtime", "-1000000000.5", 13, "n");
    raw_pax_file(&b, "negsmall", "mtime", "-0.75", 5, "n");
    raw_pax_file(&b, "pos", "mtime", "1000000000.25", 13, "p");
    for (int via_fd = 0; via_fd < 2; via_fd++) {
        cz_autofree char *img = cz_xasprintf("%s/times%d.ext4", dir, via_fd);
        CHECK_OK(apply_raw(img, &b, via_fd, &err), &err);
        CHECK_FSCK(img);
        cz_autofree char *neg = debugfs(img, "stat /neg");
        CHECK_MSG(strstr(neg, "mtime: 0xc46535ff:77359400"), "%s", neg);
        cz_autofree char *small = debugfs(img, "stat /negsmall");
        CHECK_MSG(strstr(small, "mtime: 0xffffffff:3b9aca00"), "%s", small);
        cz_autofree char *pos = debugfs(img, "stat /pos");
        CHECK_MSG(strstr(pos, "mtime: 0x3b9aca00:3b9aca00"), "%s", pos);
        cz_autofree char *d = debugfs(img, "cat /decoy");
        CHECK(d && strlen(d) > 0);
    }
    cz_buf_free(&b);
    cz_buf_free(&decoy);
}


/* A layer of many small files and one file spanning several decoder chunks. */
static void tar_sample(struct tarbuf *t, int filter, const char *big)
{
    tar_begin(t, filter);
    tar_add(t, "d/", AE_IFDIR, 0755, NULL, NULL);
    for (int i = 0; i < 200; i++) {
        char p[32], c[32];
        snprintf(p, sizeof(p), "d/f%d", i);
        snprintf(c, sizeof(c), "file %d", i);
        tar_add(t, p, AE_IFREG, 0644, c, NULL);
    }
    tar_add(t, "big", AE_IFREG, 0644, big, NULL);
    tar_end(t);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fwrite(data, 1, len, f) == len);
    if (f)
        fclose(f);
}

/* Apply the layer file; 0 or -1 with err set. */
static int apply_file(const char *img, const char *layer, bool finish, cz_error *err)
{
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    if (cz_ext4_open(img, &o, &w, err) < 0)
        return -1;
    int fd = open(layer, O_RDONLY | O_CLOEXEC);
    int r = cz_ext4_apply_layer_fd(w, fd, "sha256:z", 0, NULL, NULL, err);
    close(fd);
    if (r < 0 || !finish) {
        cz_ext4_abort(w);
        return r;
    }
    return cz_ext4_finish(w, err);
}

TEST(plain_gzip_and_zstd_layers_decode_alike)
{
    cz_error err = {0};
    const char *dir = unit_tmpdir();
    size_t big_len = (3u << 20) + 1234;
    char *big = cz_xmalloc(big_len + 1);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + (uint32_t)(i * 2654435761u) % 23 % 26);
    big[big_len] = 0;
    static const char *const names[] = {"plain", "gzip", "zstd"};
    for (int f = TAR_PLAIN; f <= TAR_ZSTD; f++) {
        struct tarbuf t;
        tar_sample(&t, f, big);
        cz_autofree char *layer = cz_xasprintf("%s/sample-%s", dir, names[f]);
        write_file(layer, t.data, t.used);
        /* from a file and from memory */
        for (int mem = 0; mem < 2; mem++) {
            cz_autofree char *img = cz_xasprintf("%s/sample-%s-%d.ext4", dir, names[f], mem);
            if (mem) {
                struct cz_ext4_options o = {0};
                cz_ext4 *w;
                CHECK_OK(cz_ext4_open(img, &o, &w, &err), &err);
                if (cz_ext4_apply_layer_mem(w, t.data, t.used, "sha256:z", 0, &err) < 0) {
                    cz_ext4_abort(w);
                    CHECK_MSG(0, "%s: %s", names[f], err.msg);
                }
                CHECK_OK(cz_ext4_finish(w, &err), &err);
            } else {
                CHECK_OK(apply_file(img, layer, true, &err), &err);
            }
            CHECK_FSCK(img);
            cz_autofree char *f7 = debugfs(img, "cat /d/f7");
            CHECK_STR(f7, "file 7");
            cz_autofree char *out = cz_xasprintf("%s/big-%s-%d", dir, names[f], mem);
            cz_autofree char *req = cz_xasprintf("dump /big %s", out);
            free(debugfs(img, req));
            size_t n = 0;
            cz_autofree char *got = NULL;
            CHECK_OK(cz_read_file(out, 16u << 20, &got, &n, &err), &err);
            CHECK_MSG(n == big_len && !memcmp(got, big, n), "%s: big file differs (%zu bytes)",
                      names[f], n);
        }
        free(t.data);
    }
    /* the tar ends long before the stream: the decoder is stopped while it waits */
    struct tarbuf t;
    tar_sample(&t, TAR_PLAIN, "x");
    cz_autofree char *tail = cz_xasprintf("%s/tail.tar", dir);
    char *padded = cz_xcalloc(1, t.used + (8u << 20));
    memcpy(padded, t.data, t.used);
    write_file(tail, padded, t.used + (8u << 20));
    free(padded);
    free(t.data);
    cz_autofree char *timg = cz_xasprintf("%s/tail.ext4", dir);
    CHECK_OK(apply_file(timg, tail, true, &err), &err);
    CHECK_FSCK(timg);
    /* truncated and corrupt zstd streams */
    tar_sample(&t, TAR_ZSTD, big);
    cz_autofree char *trunc = cz_xasprintf("%s/trunc.tar.zst", dir);
    write_file(trunc, t.data, t.used / 2);
    cz_autofree char *img = cz_xasprintf("%s/bad.ext4", dir);
    CHECK(apply_file(img, trunc, false, &err) < 0);
    CHECK_MSG(strstr(err.msg, "sha256:z") && strstr(err.msg, "truncated zstd stream"), "%s",
              err.msg);
    t.data[4] |= 0x08; /* a reserved bit of the frame header */
    cz_autofree char *bad = cz_xasprintf("%s/bad.tar.zst", dir);
    write_file(bad, t.data, t.used);
    CHECK(apply_file(img, bad, false, &err) < 0);
    CHECK_MSG(strstr(err.msg, "sha256:z") && strstr(err.msg, "corrupt zstd stream"), "%s", err.msg);
    CHECK(access(img, F_OK) != 0);
    free(t.data);
    free(big);
}

/* --- snapshots --------------------------------------------------------------- */
#include <cz/image.h>

TEST(snapshot_built_once_and_collected)
{
    cz_error err = {0};
    cz_autofree char *root = cz_xasprintf("%s/root", unit_tmpdir());
    cz_autofree char *src = cz_xasprintf("%s/src", unit_tmpdir());
    cz_autofree char *cmd = cz_xasprintf("mkdir -p %s/etc && echo snap > %s/etc/f", src, src);
    CHECK(system(cmd) == 0);
    cz_store *s;
    CHECK_OK(cz_store_open(root, &s, &err), &err);
    char digest[CZ_DIGEST_MAX];
    if (cz_image_import(s, src, "snap:1", NULL, digest, &err) < 0) {
        cz_store_close(s);
        CHECK_MSG(0, "%s", err.msg);
    }
    char *path = NULL, *again = NULL;
    int r = cz_snapshot_ensure(s, digest, &path, &err);
    if (r == 0)
        r = cz_snapshot_ensure(s, digest, &again, &err);
    cz_autofree char *want = cz_xasprintf("%s/snapshots/%s.ext4", root, digest + 7);
    bool same = r == 0 && !strcmp(path, want) && !strcmp(again, want);
    free(again);
    char why[512] = "";
    bool clean = r == 0 && fsck_clean(path, why, sizeof(why));
    cz_autofree char *cat = r == 0 ? debugfs(path, "cat /etc/f") : NULL;
    free(path);
    cz_error e2 = {0};
    bool bad_digest = cz_snapshot_ensure(s, "sha256:zz", &path, &e2) < 0;
    if (r == 0)
        r = cz_store_remove_image(s, "docker.io/library/snap:1", &err);
    if (r == 0)
        r = cz_store_gc(s, NULL, NULL, &err);
    cz_store_close(s);
    CHECK_MSG(r == 0, "%s", err.msg);
    CHECK(same);
    CHECK_MSG(clean, "e2fsck: %s", why);
    CHECK_STR(cat, "snap\n");
    CHECK(bad_digest);
    CHECK_MSG(access(want, F_OK) != 0, "gc kept the snapshot of an unreferenced image");
}
