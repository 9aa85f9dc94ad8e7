/* Internal to lib/image. */
#ifndef CZ_IMAGE_INTERNAL_H
#define CZ_IMAGE_INTERNAL_H

#include <cz/image.h>

/* Find a record by name, familiar name, or a prefix of its target digest. */
int cz_image_find_record(cz_store *s, const char *ref, cz_image_record *out, cz_error *err);

#endif
