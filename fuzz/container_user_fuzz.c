/* libFuzzer: what a container image supplies to the host side of `run` and
 * `exec`: its /etc/passwd and /etc/group (the input is split at the first NUL
 * into the user spec + passwd, and group), resolved and applied to a spec. */
#include <cz/container.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    /* "user\npasswd...\0group..." */
    char *passwd = strchr(buf, '\n');
    const char *user = buf;
    if (passwd)
        *passwd++ = '\0';
    else
        passwd = buf + size;
    const char *group = passwd + strlen(passwd) + 1;
    if (group > buf + size)
        group = "";
    struct cz_user u;
    cz_error err;
    if (cz_user_resolve(user, passwd, group, &u, &err) == 0) {
        char *spec = strdup("{\"process\":{\"env\":[\"PATH=/bin\"]}}");
        if (cz_spec_apply_user(&spec, &u, &err) == 0 && !strstr(spec, "\"uid\""))
            abort();
        free(spec);
        cz_user_free(&u);
    }
    free(buf);
    return 0;
}
