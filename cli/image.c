/* `container image ...`: the image store and registry commands. */
#include "cli.h"

static const struct cli_command image_commands[] = {
    {"pull", NULL, "Pull an image from a registry", cmd_image_pull},
    {"push", NULL, "Push an image to a registry", cmd_image_push},
    {NULL, NULL, NULL, NULL},
};

int cmd_image(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return cli_dispatch(cli, "image", image_commands, argc - 1, argv + 1, err);
}
