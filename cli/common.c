/* Helpers shared by the CLI's command files: the store, tables, terminals. */
#include "cli.h"
#include "base/util.h"

#include <stdio.h>
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
