/* Named volumes: ROOT/volumes/<name>/ holds volume.ext4 (an empty sparse ext4
 * image with a journal, made by lib/ext4) and volume.json (the record, written
 * atomically, last: a directory without it is an unfinished create). */
#ifndef CZ_VOLUME_H
#define CZ_VOLUME_H

#include <cz/error.h>

#include <stddef.h>
#include <stdint.h>

#define CZ_VOLUME_DEFAULT_SIZE (512ull << 30)

typedef struct cz_volume {
    char *name;
    char *image;   /* path of the ext4 image */
    uint64_t size; /* bytes (sparse) */
    int64_t created;
    char **labels; /* "key=value", NULL-terminated */
} cz_volume;

/* size 0: CZ_VOLUME_DEFAULT_SIZE. labels may be NULL. */
CZ_PUBLIC int cz_volume_create(const char *root, const char *name, uint64_t size,
                               const char *const *labels, cz_volume *out, cz_error *err);
CZ_PUBLIC int cz_volume_get(const char *root, const char *name, cz_volume *out, cz_error *err);
/* Every volume, sorted by name. */
CZ_PUBLIC int cz_volume_list(const char *root, cz_volume **out, size_t *n, cz_error *err);
CZ_PUBLIC int cz_volume_remove(const char *root, const char *name, cz_error *err);
CZ_PUBLIC void cz_volume_free(cz_volume *v);
CZ_PUBLIC void cz_volumes_free(cz_volume *v, size_t n);

#endif
