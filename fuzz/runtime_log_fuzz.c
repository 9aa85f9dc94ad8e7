/* The container log's JSON escaping (runtime/log.c) on arbitrary output bytes: the escaped
 * text inside quotes must always be one valid JSON string (jansson, NUL allowed), and bytes
 * that are valid UTF-8 must come back exactly; invalid ones as U+FFFD, never dropped. */
#include "../runtime/runtime.h"

#include "base/util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_buf b = {0};
    cz_buf_append(&b, "\"", 1);
    rt_json_escape(&b, data, size);
    cz_buf_append(&b, "\"", 1);
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j || !json_is_string(j))
        abort(); /* not one valid JSON string */
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    /* the same bytes when the input was valid UTF-8 (jansson's own check decides) */
    json_t *raw = json_stringn(size ? (const char *)data : "", size);
    if (raw && (n != size || memcmp(s, data, size) != 0))
        abort();
    /* never shorter: each input byte gives at least one output byte */
    if (n < size)
        abort();
    json_decref(raw);
    json_decref(j);
    cz_buf_free(&b);
    return 0;
}
