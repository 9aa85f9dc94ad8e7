/* libFuzzer: the OCI runtime spec parser of lib/ocirt (config.json and the
 * process object of an exec), as vminitd receives them in CreateProcess and
 * Exec, and the seccomp compiler behind it for specs that parse. Nothing read
 * from the JSON may crash, leak or be accepted half-validated. */
#include <cz/ocirt.h>

#include "ocirt/ocirt_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the child relies on without checking again: paths absolute, lists terminated. */
static void check_spec(const cz_ocirt_spec *s)
{
    if (!s->has_process || !s->process.args || !s->process.args[0] || !s->process.cwd ||
        s->process.cwd[0] != '/' || !s->process.env)
        abort();
    for (size_t i = 0; i < s->n_mounts; i++)
        if (s->mounts[i].destination[0] != '/' || !s->mounts[i].source ||
            (!s->mounts[i].type && !s->mounts[i].bind))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_error err;
    cz_ocirt_spec *s;
    if (cz_ocirt_spec_parse((const char *)data, size, &s, &err) == 0) {
        check_spec(s);
        if (!s->root_path || !s->root_path[0])
            abort();
        if (s->seccomp) {
            struct cz_ocirt_filter f = {0};
            if (cz_ocirt_seccomp_compile(s->seccomp, &f, &err) == 0)
                free(f.insns);
        }
        cz_ocirt_spec_free(s);
    } else if (!err.msg[0]) {
        abort(); /* a refusal always says why */
    }
    if (cz_ocirt_process_parse((const char *)data, size, &s, &err) == 0) {
        check_spec(s);
        cz_ocirt_spec_free(s);
    }
    return 0;
}
