/* Filesystem helpers. Everything opens O_CLOEXEC; atomic writes go through a
 * temp file in the same directory so rename is atomic and never crosses a fs. */
#include "base/fs.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int cz_mkdir_p(const char *path, mode_t mode, cz_error *err)
{
    cz_autofree char *p = cz_xstrdup(path);
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return cz_error_errno(err, errno, "create directory %s", p);
        p[i] = c;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return cz_error_errno(err, errno, "create directory %s", path);
    if (!S_ISDIR(st.st_mode))
        return cz_error_set(err, ENOTDIR, "create directory %s: exists and is not a directory",
                            path);
    return 0;
}

int cz_read_fd(int fd, size_t max, char **out, size_t *len, const char *what, cz_error *err)
{
    cz_buf b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cz_buf_free(&b);
            return cz_error_errno(err, errno, "read %s", what);
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > max) {
            cz_buf_free(&b);
            return cz_error_set(err, EFBIG, "read %s: larger than the limit of %zu bytes", what,
                                max);
        }
        cz_buf_append(&b, chunk, (size_t)n);
    }
    if (len)
        *len = b.len;
    *out = cz_buf_steal(&b);
    return 0;
}

int cz_read_file(const char *path, size_t max, char **out, size_t *len, cz_error *err)
{
    cz_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "open %s", path);
    return cz_read_fd(fd, max, out, len, path, err);
}

int cz_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cz_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

char *cz_dirname(const char *path)
{
    cz_autofree char *copy = cz_xstrdup(path);
    return cz_xstrdup(dirname(copy));
}

int cz_mktemp_beside(const char *final, char **tmp, cz_error *err)
{
    char *t = cz_xasprintf("%s.tmp-XXXXXX", final);
    int fd = mkostemp(t, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(t);
        return cz_error_errno(err, e, "create temporary file for %s", final);
    }
    *tmp = t;
    return fd;
}

int cz_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         cz_error *err)
{
    cz_autofree char *tmp = NULL;
    int fd = cz_mktemp_beside(path, &tmp, err);
    if (fd < 0)
        return -1;
    if (fchmod(fd, mode) < 0 || cz_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return cz_error_errno(err, e, "write %s", path);
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return cz_error_errno(err, e, "write %s", path);
    }
    cz_autofree char *dir = cz_dirname(path);
    cz_fsync_dir(dir);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? -1 : 0;
}

int cz_rm_rf(const char *path, cz_error *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : cz_error_errno(err, errno, "remove %s", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return cz_error_errno(err, errno, "remove %s", path);
        return 0;
    }
    if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
        return cz_error_errno(err, errno, "remove %s", path);
    return 0;
}

int cz_lock_path(const char *path, int shared, cz_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cz_error_errno(err, errno, "open lock %s", path);
    while (flock(fd, shared ? LOCK_SH : LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return cz_error_errno(err, e, "lock %s", path);
    }
    return fd;
}

int cz_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int64_t cz_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    return (int64_t)st.st_size;
}

int cz_unix_connect(const char *path, int flags, cz_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return cz_error_set(err, ENAMETOOLONG, "connect to %s: path too long for a unix socket",
                            path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0)
        return cz_error_errno(err, errno, "connect to %s: socket", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return cz_error_errno(err, e, "connect to %s", path);
    }
    return fd;
}
