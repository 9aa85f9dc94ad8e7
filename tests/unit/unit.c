/* Runs the registered unit tests in order; optional argv[1] filters by
 * substring. Exit status is non-zero when any case failed. */
#include "unit.h"

#include <ftw.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

struct unit_case {
    const char *name;
    unit_fn fn;
};
static struct unit_case cases[512];
static int ncases;
int unit_current_failed;
static char tmpdir[256];

void unit_register(const char *name, unit_fn fn)
{
    if (ncases < (int)(sizeof(cases) / sizeof(cases[0])))
        cases[ncases++] = (struct unit_case){name, fn};
}

static const char *current_name;
static const char *prog;

void unit_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("FAIL: %s/%s: %s:%d: %s\n", prog, current_name, file, line, msg);
    unit_current_failed = 1;
}

const char *unit_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/cz-unit-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return tmpdir;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

int main(int argc, char **argv)
{
    prog = basename(argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int failed = 0, passed = 0;
    for (int i = 0; i < ncases; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1]))
            continue;
        current_name = cases[i].name;
        unit_current_failed = 0;
        cases[i].fn();
        if (tmpdir[0]) {
            nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
            tmpdir[0] = '\0';
        }
        if (unit_current_failed) {
            failed++;
        } else {
            passed++;
            printf("PASS: %s/%s\n", prog, cases[i].name);
        }
    }
    return failed ? 1 : 0;
}
