/* `container registry login|logout`: credentials in docker's config.json format. */
#include "cli.h"

static const struct cli_command registry_commands[] = {
    {NULL, NULL, NULL, NULL},
};

int cmd_registry(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return cli_dispatch(cli, "registry", registry_commands, argc - 1, argv + 1, err);
}
