/* File helpers with the store's guarantees: atomic replace (temp, fsync,
 * rename, fsync dir), bounded reads, advisory locks. */
#ifndef CZ_BASE_FS_H
#define CZ_BASE_FS_H

#include <cz/error.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int cz_mkdir_p(const char *path, mode_t mode, cz_error *err);
/* Read a whole file of at most max bytes (NUL-terminated copy in *out). */
int cz_read_file(const char *path, size_t max, char **out, size_t *len, cz_error *err);
int cz_read_fd(int fd, size_t max, char **out, size_t *len, const char *what, cz_error *err);
/* Write data to path atomically with the given mode. */
int cz_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         cz_error *err);
int cz_write_all(int fd, const void *data, size_t len);
int cz_fsync_dir(const char *dir);
/* Remove a tree; missing is fine. */
int cz_rm_rf(const char *path, cz_error *err);
/* Take an exclusive (or shared) flock on path, creating it; returns the fd. */
int cz_lock_path(const char *path, int shared, cz_error *err);
/* Directory part of a path (allocated). */
char *cz_dirname(const char *path);
int cz_path_exists(const char *path);
/* Make a unique temporary file next to `final` ("final.tmp-XXXXXX"); returns fd, path in *tmp. */
int cz_mktemp_beside(const char *final, char **tmp, cz_error *err);
int64_t cz_file_size(const char *path);
/* Connect a stream socket to the unix socket at path; flags: SOCK_NONBLOCK or 0 (the fd is
 * close-on-exec). Returns the fd; errors name the path. */
int cz_unix_connect(const char *path, int flags, cz_error *err);

#endif
