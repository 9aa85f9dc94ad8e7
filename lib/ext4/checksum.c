/* The arithmetic ext4 metadata needs: crc32c (hardware instruction when the
 * CPU has it, a table otherwise), the half-MD4 hash that orders hashed
 * directories, and the conversion of POSIX ACLs from their xattr form. */
#include "ext4/internal.h"

#include <errno.h>

static uint32_t crc_table[8][256];
static int crc_mode; /* 0 unknown, 1 table, 2 sse4.2 */

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_mode = __builtin_cpu_supports("sse4.2") ? 2 : 1;
#else
    crc_mode = 1;
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

uint32_t ext4_crc32c(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!crc_mode)
        crc_init();
#if defined(__x86_64__)
    if (crc_mode == 2)
        return crc_hw(crc, p, len);
#endif
    while (len >= 8) {
        uint32_t lo = crc ^ get32(p), hi = get32(p + 4);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
              crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
              crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* --- half-MD4 directory hash ------------------------------------------- */
static inline uint32_t rol32(uint32_t v, int s)
{
    return (v << s) | (v >> (32 - s));
}
#define MD4_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD4_G(x, y, z) (((x) & (y)) + (((x) ^ (y)) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD4_STEP(f, a, b, c, d, x, s) ((a) = rol32((a) + f(b, c, d) + (x), s))

static void half_md4(uint32_t buf[4], const uint32_t in[8])
{
    uint32_t a = buf[0], b = buf[1], c = buf[2], d = buf[3];
    const uint32_t k2 = 0x5A827999u, k3 = 0x6ED9EBA1u;

    MD4_STEP(MD4_F, a, b, c, d, in[0], 3);
    MD4_STEP(MD4_F, d, a, b, c, in[1], 7);
    MD4_STEP(MD4_F, c, d, a, b, in[2], 11);
    MD4_STEP(MD4_F, b, c, d, a, in[3], 19);
    MD4_STEP(MD4_F, a, b, c, d, in[4], 3);
    MD4_STEP(MD4_F, d, a, b, c, in[5], 7);
    MD4_STEP(MD4_F, c, d, a, b, in[6], 11);
    MD4_STEP(MD4_F, b, c, d, a, in[7], 19);

    MD4_STEP(MD4_G, a, b, c, d, in[1] + k2, 3);
    MD4_STEP(MD4_G, d, a, b, c, in[3] + k2, 5);
    MD4_STEP(MD4_G, c, d, a, b, in[5] + k2, 9);
    MD4_STEP(MD4_G, b, c, d, a, in[7] + k2, 13);
    MD4_STEP(MD4_G, a, b, c, d, in[0] + k2, 3);
    MD4_STEP(MD4_G, d, a, b, c, in[2] + k2, 5);
    MD4_STEP(MD4_G, c, d, a, b, in[4] + k2, 9);
    MD4_STEP(MD4_G, b, c, d, a, in[6] + k2, 13);

    MD4_STEP(MD4_H, a, b, c, d, in[3] + k3, 3);
    MD4_STEP(MD4_H, d, a, b, c, in[7] + k3, 9);
    MD4_STEP(MD4_H, c, d, a, b, in[2] + k3, 11);
    MD4_STEP(MD4_H, b, c, d, a, in[6] + k3, 15);
    MD4_STEP(MD4_H, a, b, c, d, in[1] + k3, 3);
    MD4_STEP(MD4_H, d, a, b, c, in[5] + k3, 9);
    MD4_STEP(MD4_H, c, d, a, b, in[0] + k3, 11);
    MD4_STEP(MD4_H, b, c, d, a, in[4] + k3, 15);

    buf[0] += a;
    buf[1] += b;
    buf[2] += c;
    buf[3] += d;
}

/* Pack up to 4*words bytes of the name into words, padding with the length. */
static void name_to_words(const uint8_t *p, size_t len, uint32_t *out, int words)
{
    uint32_t pad = (uint32_t)len | ((uint32_t)len << 8);
    pad |= pad << 16;
    uint32_t val = pad;
    size_t n = CZ_MIN(len, (size_t)words * 4);
    for (size_t i = 0; i < n; i++) {
        val = p[i] + (val << 8);
        if (i % 4 == 3) {
            *out++ = val;
            val = pad;
            words--;
        }
    }
    if (--words >= 0)
        *out++ = val;
    while (--words >= 0)
        *out++ = pad;
}

uint32_t ext4_dirhash(const char *name, size_t len, const uint32_t seed[4], uint32_t *minor)
{
    uint32_t buf[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    if (seed[0] || seed[1] || seed[2] || seed[3])
        memcpy(buf, seed, sizeof(buf));
    const uint8_t *p = (const uint8_t *)name;
    size_t left = len;
    do {
        uint32_t in[8];
        name_to_words(p, left, in, 8);
        half_md4(buf, in);
        if (left <= 32)
            break;
        left -= 32;
        p += 32;
    } while (1);
    uint32_t h = buf[1] & ~1u;
    if (h == (0x7fffffffu << 1))
        h = (0x7fffffffu - 1) << 1;
    if (minor)
        *minor = buf[2];
    return h;
}

/* --- POSIX ACLs ---------------------------------------------------------- */
/* xattr form: le32 version 2, then {le16 tag, le16 perm, le32 id} entries.
 * ext4 form: le32 version 1, then entries of 4 bytes (owner, group, mask,
 * other: no id) or 8 bytes (named user or group). */
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20

int ext4_acl_from_xattr(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                        cz_error *err)
{
    if (len < 4 || (len - 4) % 8 != 0 || get32(in) != 2 || len > 4 + 8 * 4096)
        return cz_error_set(err, EINVAL, "malformed POSIX ACL xattr (%zu bytes)", len);
    size_t n = (len - 4) / 8;
    uint8_t *o = cz_xmalloc(4 + n * 8);
    size_t pos = 4;
    put32(o, 0, 1);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = in + 4 + i * 8;
        uint16_t tag = get16(e), perm = get16(e + 2);
        if (perm & ~7u) {
            free(o);
            return cz_error_set(err, EINVAL, "malformed POSIX ACL xattr: permission bits %#x",
                                perm);
        }
        switch (tag) {
        case ACL_USER_OBJ:
        case ACL_GROUP_OBJ:
        case ACL_MASK:
        case ACL_OTHER:
            put16(o, (uint32_t)pos, tag);
            put16(o, (uint32_t)pos + 2, perm);
            pos += 4;
            break;
        case ACL_USER:
        case ACL_GROUP:
            put16(o, (uint32_t)pos, tag);
            put16(o, (uint32_t)pos + 2, perm);
            put32(o, (uint32_t)pos + 4, get32(e + 4));
            pos += 8;
            break;
        default:
            free(o);
            return cz_error_set(err, EINVAL, "malformed POSIX ACL xattr: tag %#x", tag);
        }
    }
    *out = o;
    *out_len = pos;
    return 0;
}
