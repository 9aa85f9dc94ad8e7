/* Internal: JSON conversions of OCI descriptors shared by oci and content. */
#ifndef CZ_OCI_JSON_H
#define CZ_OCI_JSON_H

#include <cz/oci.h>
#include <jansson.h>

json_t *cz_json_parse(const char *data, size_t len, const char *what, cz_error *err);
int cz_descriptor_from_json(json_t *o, cz_descriptor *d, const char *what, cz_error *err);
/* New JSON object for d (mediaType, digest, size, platform, ref.name annotation). */
json_t *cz_descriptor_to_json(const cz_descriptor *d);
int cz_platform_from_json(json_t *o, cz_platform *p);
json_t *cz_platform_to_json(const cz_platform *p);

#define CZ_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define CZ_ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

#endif
