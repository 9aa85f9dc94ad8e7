/* libFuzzer: everything lib/oci parses from outside: references, platforms,
 * manifests, indexes, image configs, media-type detection. */
#include <cz/oci.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    cz_error err;
    cz_reference r;
    if (cz_reference_parse(s, &r, &err) == 0) {
        free(cz_reference_string(&r));
        free(cz_reference_familiar(&r));
        cz_reference_free(&r);
    }
    cz_platform p;
    if (cz_platform_parse(s, &p, &err) == 0)
        cz_platform_free(&p);
    cz_manifest m;
    if (cz_manifest_parse((const char *)data, size, &m, &err) == 0)
        cz_manifest_free(&m);
    cz_index ix;
    if (cz_index_parse((const char *)data, size, &ix, &err) == 0) {
        cz_platform host;
        cz_platform_host(&host);
        cz_index_select(&ix, &host, &err);
        cz_platform_free(&host);
        cz_index_free(&ix);
    }
    cz_image_config c;
    if (cz_image_config_parse((const char *)data, size, &c, &err) == 0)
        cz_image_config_free(&c);
    enum cz_manifest_kind k;
    cz_manifest_kind(NULL, (const char *)data, size, &k, &err);
    free(s);
    return 0;
}
