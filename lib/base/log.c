/* Leveled logging to stderr with a monotonic timestamp in debug mode. */
#include "base/log.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdio.h>

static enum cz_log_level current_level = CZ_LOG_WARN;

void cz_log_set_level(enum cz_log_level level)
{
    current_level = level;
}

bool cz_log_enabled(enum cz_log_level level)
{
    return level <= current_level;
}

void cz_log(enum cz_log_level level, const char *fmt, ...)
{
    if (!cz_log_enabled(level))
        return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (current_level >= CZ_LOG_DEBUG)
        fprintf(stderr, "[%.3f] %s: %s\n", (double)cz_now_ns() / 1e9, names[level], line);
    else
        fprintf(stderr, "%s: %s\n", names[level], line);
}
