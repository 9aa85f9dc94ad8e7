/* Helpers shared by the CLI's command files: the store, tables, terminals. */
#include "cli.h"
#include "base/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
