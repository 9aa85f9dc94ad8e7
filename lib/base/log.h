/* Diagnostics to stderr. Errors are not logged here: they travel as cz_error
 * and are printed once by the front-end. */
#ifndef CZ_BASE_LOG_H
#define CZ_BASE_LOG_H

#include <stdbool.h>

enum cz_log_level { CZ_LOG_ERROR, CZ_LOG_WARN, CZ_LOG_INFO, CZ_LOG_DEBUG };

void cz_log_set_level(enum cz_log_level level);
bool cz_log_enabled(enum cz_log_level level);
void cz_log(enum cz_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cz_debug(...) (cz_log_enabled(CZ_LOG_DEBUG) ? cz_log(CZ_LOG_DEBUG, __VA_ARGS__) : (void)0)
#define cz_info(...) cz_log(CZ_LOG_INFO, __VA_ARGS__)
#define cz_warn(...) cz_log(CZ_LOG_WARN, __VA_ARGS__)

#endif
