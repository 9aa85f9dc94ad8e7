/* Helpers shared by the CLI's command files: the store, tables, terminals. */
#include "cli.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cli_open_store(struct cli *cli, cz_store **out, cz_error *err)
{
    return cz_store_open(cli->root, out, err);
}

void cli_print_usage(const char *usage)
{
    fputs(usage, stdout);
}

bool cli_isatty(int fd)
{
    return isatty(fd) == 1;
}

void cli_table_init(struct cli_table *t, int ncols, const char *const *headers)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->cells = NULL;
    cli_table_add(t, headers);
}

void cli_table_add(struct cli_table *t, const char *const *row)
{
    t->cells = cz_xrealloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof(char *));
    for (int c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = cz_xstrdup(row[c] ? row[c] : "");
    t->nrows++;
}

void cli_table_print(struct cli_table *t)
{
    size_t width[32] = {0};
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols && c < 32; c++)
            width[c] = CZ_MAX(width[c], strlen(t->cells[r * t->ncols + c]));
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c == t->ncols - 1)
                printf("%s\n", cell);
            else
                printf("%-*s   ", (int)width[c], cell);
        }
    }
}

void cli_table_free(struct cli_table *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = 0;
}

int cli_option_error(cz_error *err, const char *cmd, const char *shortopts,
                     const struct option *longopts, char **argv)
{
    /* A long option is the one at optind - 1 when it is the culprit: getopt sets optopt
     * to 0 for an unknown or ambiguous one, to its val when its value is missing or not
     * taken. A short one in a cluster (-xq) leaves optind - 1 at the word before. */
    const char *arg = argv[optind - 1];
    if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
        size_t n = strcspn(arg + 2, "=");
        const struct option *hit = NULL;
        int matches = 0;
        for (const struct option *o = longopts; o && o->name; o++) {
            if (strncmp(o->name, arg + 2, n))
                continue;
            if (strlen(o->name) == n) { /* exact: that one */
                hit = o;
                matches = 1;
                break;
            }
            hit = o;
            matches++;
        }
        if (!optopt && matches > 1)
            return cli_usage_error(err, "%s: option '%.*s' is ambiguous", cmd, (int)n + 2, arg);
        if (!optopt)
            return cli_usage_error(err, "%s: unknown option '%.*s'", cmd, (int)n + 2, arg);
        if (hit && hit->val == optopt) {
            if (arg[n + 2] == '=')
                return cli_usage_error(err, "%s: option '%.*s' takes no value", cmd, (int)n + 2,
                                       arg);
            return cli_usage_error(err, "%s: option '%s' needs a value", cmd, arg);
        }
    }
    const char *at = optopt ? strchr(shortopts, optopt) : NULL;
    if (at && at[1] == ':')
        return cli_usage_error(err, "%s: option '-%c' needs a value", cmd, optopt);
    if (optopt > ' ' && optopt < 127)
        return cli_usage_error(err, "%s: unknown option '-%c'", cmd, optopt);
    return cli_usage_error(err, "%s: unknown option (a byte 0x%02x, not ASCII)", cmd,
                           (unsigned)optopt & 0xff);
}

int cli_runtime_ready(int fd, const char *logpath, int *exit_code, cz_error *err)
{
    char line[4096];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(line, '\n', len) || len == sizeof(line) - 1)
            break;
    }
    line[len] = 0;
    line[strcspn(line, "\n")] = 0;
    *exit_code = 125;
    if (!strcmp(line, "ok"))
        return 0;
    if (cz_str_has_prefix(line, "fail ")) {
        char *msg = NULL;
        long code = strtol(line + 5, &msg, 10);
        if (msg && *msg == ' ')
            msg++;
        *exit_code = code >= 1 && code <= 255 ? (int)code : 125;
        return cz_error_set(err, EIO, "%s", msg && *msg ? msg : "the container failed to start");
    }
    return cz_error_set(err, EIO, "container-runtime exited before the container was ready "
                        "(see %s)", logpath);
}

/* The guest is Linux on the host's architecture, so the host's numbers are the guest's. */
static const struct {
    const char *name;
    int sig;
} signal_names[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};
/* docker's real-time range on Linux: glibc keeps 32 and 33 for itself */
#define CLI_SIGRTMIN 34
#define CLI_SIGRTMAX 64

/* "N" (digits only, at most 3) as a number, else -1. */
static int small_number(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 3 || s[n])
        return -1;
    return atoi(s);
}

/* RTMIN, RTMIN+N, RTMAX-N, RTMAX within the real-time range, else -1. */
static int realtime_signal(const char *n)
{
    bool min = !strncasecmp(n, "RTMIN", 5), max = !strncasecmp(n, "RTMAX", 5);
    if (!min && !max)
        return -1;
    if (!n[5])
        return min ? CLI_SIGRTMIN : CLI_SIGRTMAX;
    int k = n[5] == (min ? '+' : '-') ? small_number(n + 6) : -1;
    if (k < 0 || k > CLI_SIGRTMAX - CLI_SIGRTMIN)
        return -1;
    return min ? CLI_SIGRTMIN + k : CLI_SIGRTMAX - k;
}

int cli_parse_signal(const char *s, int *out, cz_error *err)
{
    int v = small_number(s);
    if (v < 0) {
        const char *n = strncasecmp(s, "SIG", 3) ? s : s + 3;
        for (size_t i = 0; i < CZ_ARRAY_SIZE(signal_names) && v < 0; i++)
            if (!strcasecmp(n, signal_names[i].name))
                v = signal_names[i].sig;
        if (v < 0)
            v = realtime_signal(n);
    }
    if (v < 1 || v > CLI_SIGRTMAX)
        return cli_usage_error(err,
                               "invalid signal '%s': want a name (TERM, SIGKILL, RTMIN+3, "
                               "...) or a number from 1 to %d",
                               s, CLI_SIGRTMAX);
    *out = v;
    return 0;
}

int cli_parse_stop_timeout(const char *what, const char *s, int *out, cz_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || isspace((unsigned char)*s) || *end || errno || v < -1 || v > 86400)
        return cli_usage_error(err,
                               "invalid %s '%s': want seconds from 0 to 86400, or -1 to "
                               "wait forever",
                               what, s);
    *out = (int)v;
    return 0;
}
