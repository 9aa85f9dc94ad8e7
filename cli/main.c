/* `container`: entry point. Parses global options, dispatches to a command
 * group, and is the one place where an error is printed. */
#include "cli.h"
#include "base/log.h"
#include "base/util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROOT "/var/lib/containerization"

static const struct cli_command groups[] = {
    {"image", "images", "Manage images (pull, push, ls, inspect, tag, rm, save, load, import)",
     cmd_image},
    {"registry", NULL, "Log in to and out of registries", cmd_registry},
    {"volume", "volumes", "Manage volumes (create, ls, rm, inspect)", cmd_volume},
    {"stats", NULL, "Show running containers' resource usage", cmd_stats},
    {"cp", NULL, "Copy files between a container and the host", cmd_cp},
    {"system", NULL, "System information and disk usage (info, df)", cmd_system},
    {NULL, NULL, NULL, NULL},
};

int cli_usage_error(cz_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = 0;
    return -2;
}

static void print_group_help(const char *group, const struct cli_command *cmds)
{
    printf("Usage: container %s%sCOMMAND [OPTIONS]\n\nCommands:\n", group ? group : "",
           group ? " " : "");
    for (const struct cli_command *c = cmds; c->name; c++)
        printf("  %-12s %s\n", c->name, c->summary);
    printf("\nRun 'container %s%sCOMMAND --help' for more on a command.\n", group ? group : "",
           group ? " " : "");
}

int cli_dispatch(struct cli *cli, const char *group, const struct cli_command *cmds, int argc,
                 char **argv, cz_error *err)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") ||
        !strcmp(argv[0], "help")) {
        print_group_help(group, cmds);
        return argc < 1 ? cli_usage_error(err, "%s: a command is required", group) : 0;
    }
    for (const struct cli_command *c = cmds; c->name; c++) {
        if (!strcmp(argv[0], c->name) || (c->alias && !strcmp(argv[0], c->alias))) {
            optind = 0; /* reset getopt for the subcommand */
            return c->run(cli, argc, argv, err);
        }
    }
    return cli_usage_error(err, "unknown command '%s%s%s'", group ? group : "", group ? " " : "",
                           argv[0]);
}

static bool is_container_command(const char *name)
{
    for (const struct cli_command *c = cli_container_commands; c->name; c++)
        if (!strcmp(name, c->name) || (c->alias && !strcmp(name, c->alias)))
            return true;
    return false;
}

static bool is_run_command(const char *name)
{
    for (const struct cli_command *c = cli_run_commands; c->name; c++)
        if (!strcmp(name, c->name))
            return true;
    return false;
}

static void usage(void)
{
    printf("Usage: container [OPTIONS] COMMAND\n\n"
           "Linux containers, each in its own lightweight virtual machine.\n\n"
           "Options:\n"
           "  --root DIR     state directory (env CONTAINER_ROOT, default " DEFAULT_ROOT ")\n"
           "  --debug        verbose diagnostics on stderr\n"
           "  --virtualization kvm|tcg|auto\n"
           "                 the VMs' accelerator (env CONTAINER_VIRTUALIZATION; auto: KVM\n"
           "                 where a guest really boots on it, else TCG)\n"
           "  --version      print the version\n"
           "  -h, --help     this help\n\n"
           "Containers:\n");
    for (const struct cli_command *c = cli_run_commands; c->name; c++)
        printf("  %-12s %s\n", c->name, c->summary);
    for (const struct cli_command *c = cli_container_commands; c->name; c++)
        printf("  %-12s %s\n", c->name, c->summary);
    printf("\nManagement:\n");
    for (const struct cli_command *c = groups; c->name; c++)
        printf("  %-12s %s\n", c->name, c->summary);
    printf("\nRun 'container COMMAND --help' for more on a command.\n");
}

int main(int argc, char **argv)
{
    opterr = 0; /* the commands say what getopt refused, in one line (cli_option_error) */
    struct cli cli = {0};
    cli.root = getenv("CONTAINER_ROOT");
    if (!cli.root || !*cli.root)
        cli.root = DEFAULT_ROOT;

    /* the environment's choice is checked like the option's: a typo is not "auto" */
    const char *env_virt = getenv("CONTAINER_VIRTUALIZATION");
    if (env_virt && *env_virt && strcmp(env_virt, "kvm") && strcmp(env_virt, "tcg") &&
        strcmp(env_virt, "auto")) {
        fprintf(stderr, "Error: invalid CONTAINER_VIRTUALIZATION '%s' (kvm, tcg or auto)\n",
                env_virt);
        return 125;
    }
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--root") || !strcmp(a, "--virtualization")) && i + 1 >= argc) {
            fprintf(stderr, "Error: %s needs a value\nRun 'container --help' for usage.\n", a);
            return 125;
        }
        if (!strcmp(a, "--root")) {
            cli.root = argv[++i];
        } else if (cz_str_has_prefix(a, "--root=")) {
            cli.root = a + 7;
        } else if (!strcmp(a, "--virtualization") || cz_str_has_prefix(a, "--virtualization=")) {
            const char *v = a[16] == '=' ? a + 17 : argv[++i];
            if (strcmp(v, "kvm") && strcmp(v, "tcg") && strcmp(v, "auto")) {
                fprintf(stderr, "Error: invalid --virtualization '%s' (kvm, tcg or auto)\n", v);
                return 125;
            }
            /* the runtime, our child, reads it from the environment */
            if (strcmp(v, "auto"))
                setenv("CONTAINER_VIRTUALIZATION", v, 1);
            else
                unsetenv("CONTAINER_VIRTUALIZATION");
        } else if (!strcmp(a, "--debug")) {
            cli.debug = true;
        } else if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            printf("container version %s (%s)\n", CZ_VERSION, CZ_GIT_REV);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "Error: unknown option '%s'\nRun 'container --help' for usage.\n", a);
            return 125;
        }
    }
    if (cli.debug)
        cz_log_set_level(CZ_LOG_DEBUG);
    if (i >= argc) {
        usage();
        return 125;
    }
    cz_error err = {0};
    int r = is_run_command(argv[i])
                ? cli_dispatch(&cli, NULL, cli_run_commands, argc - i, argv + i, &err)
            : is_container_command(argv[i])
                ? cli_dispatch(&cli, NULL, cli_container_commands, argc - i, argv + i, &err)
                : cli_dispatch(&cli, NULL, groups, argc - i, argv + i, &err);
    if (r >= 0)
        return r;
    fprintf(stderr, "Error: %s\n", err.msg[0] ? err.msg : "failed");
    if (r == -2) {
        fprintf(stderr, "Run 'container --help' for usage.\n");
        return 125;
    }
    if (r == -125) /* a container command failed before its process ran (docker's 125) */
        return 125;
    return 1;
}
