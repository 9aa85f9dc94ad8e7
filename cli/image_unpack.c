/* `container image unpack REF --output FILE.ext4`: an image's layers, in
 * order, into one ext4 image file (lib/ext4). Progress on a terminal. */
#include "cli.h"

#include <cz/ext4.h>
#include <cz/image.h>

#include "base/util.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char unpack_usage[] =
    "Usage: container image unpack [OPTIONS] IMAGE --output FILE.ext4\n\n"
    "Write an image's root filesystem (all layers applied) as an ext4 image.\n\n"
    "Options:\n"
    "  -o, --output FILE    the ext4 image to write (replaced atomically)\n"
    "      --size SIZE      image size (512M, 10G, ...; sparse) with a journal for\n"
    "                       read-write use; default: just large enough, no journal\n"
    "      --platform P     the platform of a multi-platform image (os/arch)\n";

struct progress_state {
    bool shown;
};

static void show_progress(const struct cz_unpack_progress *p, void *arg)
{
    struct progress_state *ps = arg;
    char sz[32];
    cz_format_size(p->bytes, sz, sizeof(sz));
    fprintf(stderr, "\rlayer %zu/%zu: %s, %llu entries   ", p->layer + 1, p->n_layers, sz,
            (unsigned long long)p->entries);
    fflush(stderr);
    ps->shown = true;
}

int cmd_image_unpack(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"size", required_argument, NULL, 's'},
                                         {"platform", required_argument, NULL, 'p'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    const char *output = NULL, *size = NULL, *platform = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 's':
            size = optarg;
            break;
        case 'p':
            platform = optarg;
            break;
        case 'h':
            cli_print_usage(unpack_usage);
            return 0;
        default:
            return cli_option_error(err, "image unpack", "ho:", opts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(err, "image unpack: exactly one image is required");
    if (!output)
        return cli_usage_error(err, "image unpack: --output FILE is required");
    struct cz_unpack_options o = {0};
    if (size) {
        if (cz_parse_size(size, &o.image.size_bytes, err) < 0)
            return cz_error_wrap(err, "image unpack: --size");
        o.image.journal = true;
    }
    cz_platform plat;
    if (platform && cz_platform_parse(platform, &plat, err) < 0)
        return -1;
    cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0) {
        if (platform)
            cz_platform_free(&plat);
        return -1;
    }
    cz_image img;
    int r = cz_image_resolve(s, argv[optind], platform ? &plat : NULL, &img, err);
    if (platform)
        cz_platform_free(&plat);
    if (r == 0) {
        struct progress_state ps = {0};
        if (cli_isatty(2)) {
            o.progress = show_progress;
            o.progress_arg = &ps;
        }
        /* label: the manifest's short digest, like an image ID (12 hex digits) */
        const char *colon = strchr(img.manifest_desc.digest, ':');
        char label[13];
        snprintf(label, sizeof(label), "%s", colon ? colon + 1 : img.manifest_desc.digest);
        o.image.label = label;
        r = cz_ext4_unpack_manifest(s, &img.manifest, output, &o, err);
        if (ps.shown)
            fputs("\r\033[K", stderr);
        if (r < 0)
            cz_error_wrap(err, "unpack %s", argv[optind]);
        cz_image_free(&img);
    }
    cz_store_close(s);
    return r < 0 ? -1 : 0;
}
