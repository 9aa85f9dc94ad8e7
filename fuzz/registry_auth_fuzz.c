/* libFuzzer: what the registry client parses from a registry or token server
 * before trusting it: WWW-Authenticate challenges, token responses, and the
 * base64 of stored credentials. */
#include "registry/internal.h"

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
    reg_challenge *c = NULL;
    size_t n = 0;
    if (reg_parse_challenges(s, &c, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!c[i].scheme || !*c[i].scheme)
                abort(); /* a parsed challenge always names its scheme */
            (void)reg_challenge_param(&c[i], "realm");
        }
        reg_challenges_free(c, n);
    }
    char *tok = NULL;
    int64_t exp = 0;
    if (reg_parse_token_response((const char *)data, size, &tok, &exp, &err) == 0) {
        if (!tok || !*tok || strpbrk(tok, "\r\n ") || exp <= 0)
            abort(); /* a token goes into a header line as is */
        free(tok);
    }
    size_t len;
    char *dec = reg_base64_decode(s, &len);
    if (dec) {
        char *enc = reg_base64_encode(dec, len);
        free(enc);
        free(dec);
    }
    free(s);
    return 0;
}
