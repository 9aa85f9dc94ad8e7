/* A minimal unit-test harness: TEST() registers a case, CHECK*() fail it.
 * Each case prints "PASS: binary/case" or "FAIL: binary/case: why"; tests/run
 * counts those lines. */
#ifndef CZ_UNIT_H
#define CZ_UNIT_H

#include <stdio.h>
#include <string.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern int unit_current_failed;

#define TEST(name)                                                                                 \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void unit_register_##name(void)                            \
    {                                                                                              \
        unit_register(#name, name);                                                                \
    }                                                                                              \
    static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            unit_fail(__FILE__, __LINE__, "%s", #cond);                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            unit_fail(__FILE__, __LINE__, __VA_ARGS__);                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);                              \
        if (unit_a_ != unit_b_) {                                                                  \
            unit_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, unit_a_, unit_b_);      \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *unit_a_ = (a), *unit_b_ = (b);                                                 \
        if (!unit_a_ || !unit_b_ || strcmp(unit_a_, unit_b_) != 0) {                               \
            unit_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,                     \
                      unit_a_ ? unit_a_ : "(null)", unit_b_ ? unit_b_ : "(null)");                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* The call must succeed (return >= 0); shows the cz_error message otherwise. */
#define CHECK_OK(call, errp)                                                                       \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            unit_fail(__FILE__, __LINE__, "%s failed: %s", #call, (errp)->msg);                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* A temp directory for the current test, removed after it. */
const char *unit_tmpdir(void);

#endif
