/* sha256 digests ("sha256:<64 lowercase hex>"): validation and streaming
 * hashing through OpenSSL's EVP interface. */
#include <cz/oci.h>

#include "base/util.h"

#include <errno.h>
#include <openssl/evp.h>

struct cz_sha256 {
    EVP_MD_CTX *ctx;
};

int cz_digest_validate(const char *digest, cz_error *err)
{
    if (!digest || !*digest)
        return cz_error_set(err, EINVAL, "invalid digest: empty");
    const char *colon = strchr(digest, ':');
    if (!colon)
        return cz_error_set(err, EINVAL, "invalid digest '%.100s': missing algorithm", digest);
    if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0) {
        /* well-formed algorithm but not one we can verify */
        for (const char *p = digest; p < colon; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", *p))
                return cz_error_set(err, EINVAL, "invalid digest '%.100s'", digest);
        return cz_error_set(err, ENOTSUP, "unsupported digest algorithm in '%.100s'", digest);
    }
    const char *hex = colon + 1;
    size_t n = strlen(hex);
    if (n != 64)
        return cz_error_set(err, EINVAL, "invalid digest '%.100s': want 64 hex characters",
                            digest);
    for (size_t i = 0; i < n; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return cz_error_set(err, EINVAL, "invalid digest '%.100s': not lowercase hex",
                                digest);
    return 0;
}

cz_sha256 *cz_sha256_new(void)
{
    cz_sha256 *h = cz_xcalloc(1, sizeof(*h));
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        fputs("fatal: cannot initialise sha256\n", stderr);
        abort();
    }
    return h;
}

void cz_sha256_update(cz_sha256 *h, const void *data, size_t len)
{
    if (len)
        EVP_DigestUpdate(h->ctx, data, len);
}

void cz_sha256_final(cz_sha256 *h, char out[CZ_DIGEST_MAX])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(h->ctx, md, &mdlen);
    static const char hexdig[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++) {
        out[7 + 2 * i] = hexdig[md[i] >> 4];
        out[8 + 2 * i] = hexdig[md[i] & 15];
    }
    out[71] = '\0';
}

void cz_sha256_free(cz_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void cz_digest_bytes(const void *data, size_t len, char out[CZ_DIGEST_MAX])
{
    cz_sha256 *h = cz_sha256_new();
    cz_sha256_update(h, data, len);
    cz_sha256_final(h, out);
    cz_sha256_free(h);
}
