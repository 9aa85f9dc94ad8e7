/* Platforms ("linux/arm64/v8"): parsing with docker's aliases, the host's own
 * platform, and matching rules for picking a manifest out of an index. */
#include <cz/oci.h>

#include "base/util.h"

#include <errno.h>
#include <sys/utsname.h>

struct arch_alias {
    const char *name;
    const char *arch;
    const char *variant;
};

static const struct arch_alias aliases[] = {
    {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
    {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},    {"armv7l", "arm", "v7"},
    {"i686", "386", NULL},     {"i386", "386", NULL},
};

static const char *known_arches[] = {"amd64",  "arm64",   "arm",   "386",      "ppc64le",
                                     "s390x",  "riscv64", "mips64le", "mips64", "mipsle",
                                     "mips",   "ppc64",   "loong64", "wasm"};

void cz_platform_free(cz_platform *p)
{
    if (!p)
        return;
    free(p->os);
    free(p->architecture);
    free(p->variant);
    memset(p, 0, sizeof(*p));
}

static void normalize(cz_platform *p)
{
    for (size_t i = 0; i < CZ_ARRAY_SIZE(aliases); i++) {
        if (!strcmp(p->architecture, aliases[i].name)) {
            free(p->architecture);
            p->architecture = cz_xstrdup(aliases[i].arch);
            if (!p->variant && aliases[i].variant)
                p->variant = cz_xstrdup(aliases[i].variant);
        }
    }
    /* arm64's only variant in practice is v8: treat it as the default. */
    if (!strcmp(p->architecture, "arm64") && p->variant && !strcmp(p->variant, "v8")) {
        free(p->variant);
        p->variant = NULL;
    }
}

int cz_platform_parse(const char *s, cz_platform *out, cz_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!s || !*s || strlen(s) > 128)
        return cz_error_set(err, EINVAL, "invalid platform '%s'", s ? s : "");
    cz_autofree char *copy = cz_xstrdup(s);
    for (char *c = copy; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    char *parts[4] = {0};
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (n == 3)
            return cz_error_set(err, EINVAL, "invalid platform '%s': want os/arch[/variant]", s);
        parts[n++] = tok;
    }
    if (n == 0)
        return cz_error_set(err, EINVAL, "invalid platform '%s'", s);
    if (n == 1) {
        out->os = cz_xstrdup("linux");
        out->architecture = cz_xstrdup(parts[0]);
    } else {
        out->os = cz_xstrdup(parts[0]);
        out->architecture = cz_xstrdup(parts[1]);
        if (n == 3)
            out->variant = cz_xstrdup(parts[2]);
    }
    normalize(out);
    bool known = false;
    for (size_t i = 0; i < CZ_ARRAY_SIZE(known_arches); i++)
        known |= !strcmp(out->architecture, known_arches[i]);
    if (!known) {
        cz_error_set(err, EINVAL, "invalid platform '%s': unknown architecture '%s'", s,
                     out->architecture);
        cz_platform_free(out);
        return -1;
    }
    return 0;
}

void cz_platform_host(cz_platform *out)
{
    struct utsname u;
    memset(out, 0, sizeof(*out));
    out->os = cz_xstrdup("linux");
    out->architecture = cz_xstrdup(uname(&u) == 0 ? u.machine : "x86_64");
    normalize(out);
}

char *cz_platform_string(const cz_platform *p)
{
    return cz_xasprintf("%s/%s%s%s", p->os ? p->os : "unknown",
                        p->architecture ? p->architecture : "unknown", p->variant ? "/" : "",
                        p->variant ? p->variant : "");
}

bool cz_platform_matches(const cz_platform *want, const cz_platform *cand)
{
    if (!cand || !cand->os || !cand->architecture)
        return false;
    if (strcmp(want->os, cand->os) || strcmp(want->architecture, cand->architecture))
        return false;
    const char *cv = cand->variant;
    if (!strcmp(cand->architecture, "arm64") && cv && !strcmp(cv, "v8"))
        cv = NULL;
    if (!want->variant)
        return true;
    return cv && !strcmp(want->variant, cv);
}
