/* `container volume create|ls|rm|inspect`: named volumes, each an ext4 image
 * in the root (lib/volume). */
#include "cli.h"

#include <cz/container.h>

#include <cz/volume.h>

#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static int unknown(cz_error *err, const char *cmd, const char *shortopts,
                   const struct option *longopts, char **argv)
{
    cz_autofree char *what = cz_xasprintf("volume %s", cmd);
    return cli_option_error(err, what, shortopts, longopts, argv);
}

static json_t *volume_json(const cz_volume *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(v->name));
    json_object_set_new(o, "driver", json_string("local"));
    json_object_set_new(o, "format", json_string("ext4"));
    json_object_set_new(o, "source", json_string(v->image));
    json_object_set_new(o, "sizeInBytes", json_integer((json_int_t)v->size));
    struct stat sb;
    if (stat(v->image, &sb) == 0)
        json_object_set_new(o, "usedBytes", json_integer((json_int_t)sb.st_blocks * 512));
    char ts[64];
    time_t t = (time_t)v->created;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(o, "createdAt", json_string(ts));
    json_t *labels = json_object();
    for (char **l = v->labels; l && *l; l++) {
        char *eq = strchr(*l, '=');
        cz_autofree char *k = cz_xstrndup(*l, eq ? (size_t)(eq - *l) : strlen(*l));
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    json_object_set_new(o, "labels", labels);
    return o;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(j);
}

static const char create_usage[] =
    "Usage: container volume create [OPTIONS] NAME\n\n"
    "Create a named volume: an empty ext4 image (sparse).\n\n"
    "Options:\n"
    "  -s, --size SIZE     size (default 512G; only written blocks use disk)\n"
    "  -l, --label K=V     a label (repeatable)\n";

static int volume_create(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"size", required_argument, NULL, 's'},
                                         {"label", required_argument, NULL, 'l'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    uint64_t size = 0;
    cz_autofree const char **labels = cz_xcalloc((size_t)argc + 1, sizeof(char *));
    size_t nl = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hs:l:", opts, NULL)) != -1) {
        if (c == 's') {
            if (cz_parse_size(optarg, &size, err) < 0)
                return cz_error_wrap(err, "volume create: --size");
        } else if (c == 'l') {
            labels[nl++] = optarg;
        } else if (c == 'h') {
            return cli_print_usage(create_usage), 0;
        } else {
            return unknown(err, "create", "hs:l:", opts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(err, "volume create: exactly one NAME is required");
    if (cz_volume_create(cli->root, argv[optind], size, labels, NULL, err) < 0)
        return -1;
    puts(argv[optind]);
    return 0;
}

static const char ls_usage[] = "Usage: container volume ls [OPTIONS]\n\n"
                               "List volumes.\n\n"
                               "Options:\n"
                               "  -q, --quiet          only names\n"
                               "      --format FORMAT  table (default) or json\n";

static int volume_ls(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                         {"format", required_argument, NULL, 'f'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool quiet = false;
    const char *format = "table";
    int c;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        if (c == 'q')
            quiet = true;
        else if (c == 'f')
            format = optarg;
        else if (c == 'h')
            return cli_print_usage(ls_usage), 0;
        else
            return unknown(err, "ls", "hq", opts, argv);
    }
    if (optind != argc)
        return cli_usage_error(err, "volume ls: no arguments expected");
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(err, "volume ls: --format must be table or json, not '%s'", format);
    cz_volume *v;
    size_t n;
    if (cz_volume_list(cli->root, &v, &n, err) < 0)
        return -1;
    if (quiet) {
        for (size_t i = 0; i < n; i++)
            puts(v[i].name);
    } else if (!strcmp(format, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, volume_json(&v[i]));
        print_json(arr);
    } else {
        const char *headers[] = {"NAME", "SIZE", "CREATED"};
        struct cli_table t;
        cli_table_init(&t, 3, headers);
        for (size_t i = 0; i < n; i++) {
            char size[32], ago[64];
            cz_format_size(v[i].size, size, sizeof(size));
            cz_format_ago(v[i].created, ago, sizeof(ago));
            const char *row[] = {v[i].name, size, ago};
            cli_table_add(&t, row);
        }
        cli_table_print(&t);
        cli_table_free(&t);
    }
    cz_volumes_free(v, n);
    return 0;
}

/* The container using volume name, if any (allocated short id), else NULL. */
static char *volume_user(struct cli *cli, const char *name)
{
    char **ids = cz_container_list(cli->root, NULL);
    char *user = NULL;
    for (char **p = ids; p && *p; p++) {
        cz_container_config c;
        cz_container_state st;
        if (!user && cz_container_load(cli->root, *p, &c, &st, NULL) == 0) {
            for (size_t i = 0; i < c.n_mounts && !user; i++)
                if (!strcmp(c.mounts[i].type, "volume") && !strcmp(c.mounts[i].source, name))
                    user = cz_xasprintf("%s (%.12s)", c.name, c.id);
            cz_container_config_free(&c);
            cz_container_state_free(&st);
        }
        free(*p);
    }
    free(ids);
    return user;
}

/* rm and inspect: errors about one of several names are printed as they
 * happen and the command fails at the end; a single name's error is the result. */
static int for_each_name(struct cli *cli, int argc, char **argv, const char *cmd, const char *usage,
                         json_t *collect, cz_error *err)
{
    static const struct option opts[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_print_usage(usage), 0;
        return unknown(err, cmd, "h", opts, argv);
    }
    if (optind >= argc)
        return cli_usage_error(err, "volume %s: a volume name is required", cmd);
    int failed = 0, total = argc - optind;
    for (int i = optind; i < argc; i++) {
        cz_error e = {0};
        int r;
        if (collect) {
            cz_volume v;
            r = cz_volume_get(cli->root, argv[i], &v, &e);
            if (r == 0) {
                json_array_append_new(collect, volume_json(&v));
                cz_volume_free(&v);
            }
        } else {
            cz_autofree char *user = volume_user(cli, argv[i]);
            if (user)
                r = cz_error_set(&e, EBUSY, "volume %s is in use by container %s: remove the "
                                 "container first", argv[i], user);
            else
                r = cz_volume_remove(cli->root, argv[i], &e);
            if (r == 0)
                puts(argv[i]);
        }
        if (r < 0) {
            failed++;
            if (total == 1)
                *err = e;
            else
                fprintf(stderr, "Error: %s\n", e.msg);
        }
    }
    if (collect)
        print_json(json_incref(collect));
    if (!failed)
        return 0;
    if (total > 1)
        cz_error_set(err, 0, "volume %s: %d of %d volumes failed", cmd, failed, total);
    return -1;
}

static const char rm_usage[] =
    "Usage: container volume rm NAME...\n\nRemove volumes and their data.\n";
static const char inspect_usage[] =
    "Usage: container volume inspect NAME...\n\nShow volumes as JSON.\n";

static int volume_rm(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return for_each_name(cli, argc, argv, "rm", rm_usage, NULL, err);
}

static int volume_inspect(struct cli *cli, int argc, char **argv, cz_error *err)
{
    json_t *arr = json_array();
    int r = for_each_name(cli, argc, argv, "inspect", inspect_usage, arr, err);
    json_decref(arr);
    return r;
}

static const struct cli_command volume_commands[] = {
    {"create", NULL, "Create a volume", volume_create},
    {"ls", "list", "List volumes", volume_ls},
    {"rm", "remove", "Remove volumes", volume_rm},
    {"inspect", NULL, "Show details of volumes as JSON", volume_inspect},
    {NULL, NULL, NULL, NULL},
};

int cmd_volume(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return cli_dispatch(cli, "volume", volume_commands, argc - 1, argv + 1, err);
}
