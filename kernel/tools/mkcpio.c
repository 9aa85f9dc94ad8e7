/* mkcpio: writes an initramfs as a "newc" cpio archive from a small spec, so device nodes
 * (/dev/console) can go in without root and the archive is reproducible (uid 0, mtime 0).
 *
 * Usage: mkcpio SPEC OUT     (SPEC "-" reads standard input)
 * Spec lines (blank lines and lines starting with # are ignored; paths in the archive are
 * absolute, parents must come before their children):
 *   dir   PATH MODE
 *   file  PATH HOST_SOURCE MODE
 *   slink PATH TARGET
 *   nod   PATH MODE c|b MAJOR MINOR
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (512u << 20) /* an initramfs member larger than this is a mistake */

static const char *spec_name;
static unsigned spec_line;
static unsigned next_inode = 721;
static char tmp_path[4096]; /* the half-written output, removed on failure */

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mkcpio: ");
    if (spec_line)
        fprintf(stderr, "%s:%u: ", spec_name, spec_line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (tmp_path[0])
        unlink(tmp_path);
    exit(1);
}

static void put(FILE *out, const void *data, size_t len, uint64_t *offset)
{
    if (len && fwrite(data, 1, len, out) != len)
        die("write: %s", strerror(errno));
    *offset += len;
}

static void pad4(FILE *out, uint64_t *offset)
{
    static const char zeros[4];
    put(out, zeros, (4 - (*offset & 3)) & 3, offset);
}

/* One archive member: the 110-byte ASCII header, the NUL-terminated name, the data, each
 * padded to a multiple of four bytes. */
static void member(FILE *out, uint64_t *offset, const char *name, unsigned mode, const void *data, size_t size,
                   unsigned rdev_major, unsigned rdev_minor)
{
    char header[111];
    size_t name_size = strlen(name) + 1;
    unsigned nlink = S_ISDIR(mode) ? 2 : 1;
    snprintf(header, sizeof(header), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             next_inode++, mode, 0u, 0u, nlink, 0u, (unsigned)size, 0u, 0u, rdev_major, rdev_minor,
             (unsigned)name_size, 0u);
    put(out, header, 110, offset);
    put(out, name, name_size, offset);
    pad4(out, offset);
    put(out, data, size, offset);
    pad4(out, offset);
}

static unsigned parse_mode(const char *s)
{
    char *end;
    unsigned long mode = strtoul(s, &end, 8);
    if (!*s || *end || mode > 07777)
        die("invalid mode '%s' (octal, at most 07777)", s);
    return (unsigned)mode;
}

static unsigned parse_number(const char *s, const char *what)
{
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (!*s || *end || n > 0xfffff)
        die("invalid %s '%s'", what, s);
    return (unsigned)n;
}

static const char *archive_name(const char *path)
{
    if (path[0] != '/' || path[1] == '\0')
        die("path '%s' must be absolute and not /", path);
    return path + 1;
}

static void *read_source(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rbe");
    if (!f)
        die("open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))
        die("%s is not a regular file", path);
    if ((uint64_t)st.st_size > MAX_FILE_SIZE)
        die("%s is larger than %u MiB", path, MAX_FILE_SIZE >> 20);
    *size = (size_t)st.st_size;
    char *data = malloc(*size ? *size : 1);
    if (!data)
        die("out of memory");
    if (fread(data, 1, *size, f) != *size)
        die("read %s: short read", path);
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mkcpio SPEC OUT\n");
        return 2;
    }
    spec_name = argv[1];
    FILE *spec = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "re");
    if (!spec)
        die("open %s: %s", argv[1], strerror(errno));

    char tmp[sizeof(tmp_path)];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]) >= sizeof(tmp))
        die("output path too long");
    FILE *out = fopen(tmp, "wbe");
    if (!out)
        die("create %s: %s", tmp, strerror(errno));
    memcpy(tmp_path, tmp, sizeof(tmp));

    uint64_t offset = 0;
    char line[8192];
    while (fgets(line, sizeof(line), spec)) {
        spec_line++;
        if (!strchr(line, '\n') && !feof(spec))
            die("line too long");
        char *word[7];
        int n = 0;
        for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
            if (n == 7)
                die("too many fields");
            word[n++] = w;
        }
        if (n == 0 || word[0][0] == '#')
            continue;
        if (strcmp(word[0], "dir") == 0 && n == 3) {
            member(out, &offset, archive_name(word[1]), S_IFDIR | parse_mode(word[2]), NULL, 0, 0, 0);
        } else if (strcmp(word[0], "file") == 0 && n == 4) {
            size_t size;
            void *data = read_source(word[2], &size);
            member(out, &offset, archive_name(word[1]), S_IFREG | parse_mode(word[3]), data, size, 0, 0);
            free(data);
        } else if (strcmp(word[0], "slink") == 0 && n == 3) {
            member(out, &offset, archive_name(word[1]), S_IFLNK | 0777, word[2], strlen(word[2]), 0, 0);
        } else if (strcmp(word[0], "nod") == 0 && n == 6) {
            unsigned type;
            if (strcmp(word[3], "c") == 0)
                type = S_IFCHR;
            else if (strcmp(word[3], "b") == 0)
                type = S_IFBLK;
            else
                die("device type must be c or b, not '%s'", word[3]);
            member(out, &offset, archive_name(word[1]), type | parse_mode(word[2]), NULL, 0,
                   parse_number(word[4], "major"), parse_number(word[5], "minor"));
        } else {
            die("expected 'dir PATH MODE', 'file PATH SOURCE MODE', 'slink PATH TARGET' or "
                "'nod PATH MODE c|b MAJOR MINOR'");
        }
    }
    if (ferror(spec))
        die("read %s: %s", spec_name, strerror(errno));
    spec_line = 0;
    next_inode = 0;
    member(out, &offset, "TRAILER!!!", 0, NULL, 0, 0, 0);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0)
        die("write %s: %s", tmp, strerror(errno));
    if (rename(tmp, argv[2]) < 0)
        die("rename %s: %s", argv[2], strerror(errno));
    return 0;
}
