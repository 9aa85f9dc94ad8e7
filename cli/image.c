/* `container image ...`: the local image store: ls, inspect, tag, rm, prune,
 * save, load, import (pull and push live in image_pull.c). */
#include "cli.h"
#include "base/util.h"

#include <cz/container.h>
#include <cz/image.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Close the store when a command returns. */
static void store_closep(cz_store **s)
{
    if (*s)
        cz_store_close(*s);
}
#define autostore __attribute__((cleanup(store_closep)))

static int unknown_option(cz_error *err, const char *cmd, const char *shortopts,
                          const struct option *longopts, char **argv)
{
    cz_autofree char *what = cz_xasprintf("image %s", cmd);
    return cli_option_error(err, what, shortopts, longopts, argv);
}

/* Errors about one of several arguments are printed as they happen and the
 * command fails at the end; with a single argument its error is the result. */
struct item_errors {
    int count, total;
    cz_error last;
};

static void item_error(struct item_errors *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void item_error(struct item_errors *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last.msg, sizeof(e->last.msg), fmt, ap);
    va_end(ap);
    e->count++;
    if (e->total > 1)
        fprintf(stderr, "Error: %s\n", e->last.msg);
}

static int item_result(struct item_errors *e, const char *what, cz_error *err)
{
    if (!e->count)
        return 0;
    if (e->total == 1)
        return cz_error_set(err, e->last.code, "%s", e->last.msg);
    return cz_error_set(err, e->last.code, "%d of %d %s failed", e->count, e->total, what);
}

/* --- ls ----------------------------------------------------------- */

static const char ls_usage[] = "Usage: container image ls [OPTIONS]\n\n"
                               "List images in the local store.\n\n"
                               "Options:\n"
                               "  -q, --quiet            only image IDs\n"
                               "      --format FORMAT    table (default) or json\n";

static char *created_ago(const char *rfc3339)
{
    struct tm tm = {0};
    if (!rfc3339 || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm))
        return cz_xstrdup("N/A");
    char buf[64];
    cz_format_ago((int64_t)timegm(&tm), buf, sizeof(buf));
    return cz_xstrdup(buf);
}

static void split_name(const char *name, char **repo, char **tag)
{
    cz_reference r;
    if (cz_str_has_prefix(name, "sha256:") || cz_reference_parse(name, &r, NULL) < 0) {
        *repo = cz_xstrdup("<none>");
        *tag = cz_xstrdup("<none>");
        return;
    }
    cz_reference nr = {.domain = r.domain, .path = r.path};
    *repo = cz_reference_familiar(&nr);
    *tag = cz_xstrdup(r.tag ? r.tag : "<none>");
    cz_reference_free(&r);
}

static int image_ls(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'}, {"format", required_argument, NULL, 'f'},
        CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    bool quiet = false;
    const char *format = "table";
    int c;
    while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            quiet = true;
            break;
        case 'f':
            format = optarg;
            break;
        case 'h':
            cli_print_usage(ls_usage);
            return 0;
        default:
            return unknown_option(err, "ls", "qh", opts, argv);
        }
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(err, "image ls: --format must be table or json, not '%s'", format);
    if (optind < argc)
        return cli_usage_error(err, "image ls: unexpected argument '%s'", argv[optind]);
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    cz_image_record *v;
    size_t n;
    if (cz_store_list_images(s, &v, &n, err) < 0)
        return -1;
    json_t *arr = json_array();
    struct cli_table t;
    const char *headers[] = {"REPOSITORY", "TAG", "IMAGE ID", "PLATFORMS", "CREATED", "SIZE"};
    cli_table_init(&t, 6, headers);
    for (size_t i = 0; i < n; i++) {
        const cz_image_record *rec = &v[i];
        char id[13];
        snprintf(id, sizeof(id), "%.12s", rec->target.digest + 7);
        if (quiet) {
            bool seen = false;
            for (size_t k = 0; k < i; k++)
                seen |= !strcmp(v[k].target.digest, rec->target.digest);
            if (!seen)
                printf("%s\n", id);
            continue;
        }
        cz_image img;
        cz_error ierr = {0};
        bool ok = cz_image_resolve(s, rec->name, NULL, &img, &ierr) == 0;
        if (!ok) {
            /* not for this host: describe it by any platform present */
            char **plats = cz_image_platforms(s, &rec->target);
            cz_platform p;
            if (plats[0] && cz_platform_parse(plats[0], &p, NULL) == 0) {
                ok = cz_image_resolve(s, rec->name, &p, &img, &ierr) == 0;
                cz_platform_free(&p);
            }
            cz_strv_free(plats);
        }
        char **plats = cz_image_platforms(s, &rec->target);
        cz_buf pl = {0};
        for (char **p = plats; *p; p++)
            cz_buf_printf(&pl, "%s%s", p == plats ? "" : ",", *p);
        cz_autofree char *repo = NULL, *tag = NULL;
        split_name(rec->name, &repo, &tag);
        cz_autofree char *ago = created_ago(ok ? img.config.created : NULL);
        char size[32] = "N/A";
        if (ok)
            cz_format_size((uint64_t)cz_image_content_size(&img), size, sizeof(size));
        const char *row[] = {repo, tag, id, pl.len ? pl.data : "-", ago, size};
        cli_table_add(&t, row);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(rec->name));
        json_object_set_new(o, "repository", json_string(repo));
        json_object_set_new(o, "tag", json_string(tag));
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "digest", json_string(rec->target.digest));
        json_object_set_new(o, "mediaType", json_string(rec->target.media_type));
        json_t *pa = json_array();
        for (char **p = plats; *p; p++)
            json_array_append_new(pa, json_string(*p));
        json_object_set_new(o, "platforms", pa);
        json_object_set_new(o, "created",
                            ok && img.config.created ? json_string(img.config.created) : json_null());
        json_object_set_new(o, "size", ok ? json_integer(cz_image_content_size(&img)) : json_null());
        json_array_append_new(arr, o);
        cz_buf_free(&pl);
        cz_strv_free(plats);
        if (ok)
            cz_image_free(&img);
    }
    if (!quiet) {
        if (!strcmp(format, "json")) {
            char *text = json_dumps(arr, JSON_INDENT(2));
            printf("%s\n", text);
            free(text);
        } else {
            cli_table_print(&t);
        }
    }
    cli_table_free(&t);
    json_decref(arr);
    cz_image_records_free(v, n);
    return 0;
}

/* --- inspect ------------------------------------------------------ */

static const char inspect_usage[] = "Usage: container image inspect [OPTIONS] IMAGE...\n\n"
                                    "Show an image's manifest, config, size and platforms as JSON.\n\n"
                                    "Options:\n"
                                    "      --platform P   the platform to show from a multi-platform image\n";

static json_t *parsed(const char *data, size_t len)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    return j ? j : json_null();
}

static int image_inspect(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {
        {"platform", required_argument, NULL, 'p'}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    const char *platform = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'p')
            platform = optarg;
        else if (c == 'h')
            return cli_print_usage(inspect_usage), 0;
        else
            return unknown_option(err, "inspect", "h", opts, argv);
    }
    if (optind >= argc)
        return cli_usage_error(err, "image inspect: an image is required");
    cz_platform plat;
    if (platform && cz_platform_parse(platform, &plat, err) < 0)
        return -1;
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0) {
        if (platform)
            cz_platform_free(&plat);
        return -1;
    }
    json_t *arr = json_array();
    struct item_errors ie = {.total = argc - optind};
    for (int i = optind; i < argc; i++) {
        cz_image img;
        cz_error ierr = {0};
        if (cz_image_resolve(s, argv[i], platform ? &plat : NULL, &img, &ierr) < 0) {
            item_error(&ie, "%s", ierr.msg);
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(img.name));
        json_object_set_new(o, "digest", json_string(img.target.digest));
        json_object_set_new(o, "mediaType", json_string(img.target.media_type));
        json_object_set_new(o, "size", json_integer(cz_image_content_size(&img)));
        char **plats = cz_image_platforms(s, &img.target);
        json_t *pa = json_array();
        for (char **p = plats; *p; p++)
            json_array_append_new(pa, json_string(*p));
        cz_strv_free(plats);
        json_object_set_new(o, "platforms", pa);
        if (img.index_json)
            json_object_set_new(o, "index", parsed(img.index_json, img.index_len));
        json_t *m = json_object();
        json_object_set_new(m, "digest", json_string(img.manifest_desc.digest));
        json_object_set_new(m, "mediaType", json_string(img.manifest_desc.media_type));
        json_object_set_new(m, "size", json_integer(img.manifest_desc.size));
        json_object_set_new(m, "content", parsed(img.manifest_json, img.manifest_len));
        json_object_set_new(o, "manifest", m);
        json_t *cfg = json_object();
        json_object_set_new(cfg, "digest", json_string(img.manifest.config.digest));
        json_object_set_new(cfg, "content", parsed(img.config_json, img.config_len));
        json_object_set_new(o, "config", cfg);
        json_array_append_new(arr, o);
        cz_image_free(&img);
    }
    if (platform)
        cz_platform_free(&plat);
    char *text = json_dumps(arr, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    json_decref(arr);
    return item_result(&ie, "images", err);
}

/* --- tag ---------------------------------------------------------- */

static int image_tag(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h')
            return cli_print_usage("Usage: container image tag SOURCE TARGET\n\n"
                                   "Give an image in the store another name.\n"),
                   0;
        return unknown_option(err, "tag", "h", opts, argv);
    }
    if (argc - optind != 2)
        return cli_usage_error(err, "image tag: want SOURCE and TARGET");
    cz_reference r;
    if (cz_reference_parse(argv[optind + 1], &r, err) < 0)
        return -1;
    if (r.digest) {
        cz_reference_free(&r);
        return cz_error_set(err, EINVAL, "refusing to create a tag with a digest reference '%s'",
                            argv[optind + 1]);
    }
    cz_autofree char *target = cz_reference_string(&r);
    cz_reference_free(&r);
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    /* Hold off garbage collection between resolving and naming. */
    if (cz_store_lock_shared(s, err) < 0)
        return -1;
    cz_image_record rec;
    cz_image img;
    if (cz_image_resolve(s, argv[optind], NULL, &img, NULL) == 0) {
        rec.name = cz_xstrdup(img.name);
        cz_descriptor_copy(&rec.target, &img.target);
        cz_image_free(&img);
    } else if (cz_store_get_image(s, argv[optind], &rec, err) < 0) {
        return -1;
    }
    int rc = cz_store_set_image(s, target, &rec.target, err);
    cz_store_unlock_shared(s);
    free(rec.name);
    cz_descriptor_free(&rec.target);
    return rc;
}

/* --- rm and prune ------------------------------------------------- */

static void print_reclaimed(uint64_t bytes)
{
    char size[32];
    cz_format_size(bytes, size, sizeof(size));
    printf("Total reclaimed space: %s\n", size);
}

/* The name of a container created from this image (a manifest, or one of an
 * index's manifests), or NULL. Allocated. */
static char *container_using(struct cli *cli, cz_store *s, const cz_descriptor *target)
{
    char **ids = cz_container_list(cli->root, NULL);
    if (!ids || !ids[0]) {
        cz_strv_free(ids);
        return NULL;
    }
    cz_index ix = {0};
    if (cz_media_is_index(target->media_type)) {
        char *data;
        size_t len;
        if (cz_store_read_blob(s, target->digest, CZ_MANIFEST_MAX, &data, &len, NULL) == 0) {
            cz_index_parse(data, len, &ix, NULL);
            free(data);
        }
    }
    char *user = NULL;
    for (char **p = ids; *p && !user; p++) {
        cz_container_config c;
        if (cz_container_load(cli->root, *p, &c, NULL, NULL) < 0)
            continue;
        bool uses = c.image_digest && !strcmp(c.image_digest, target->digest);
        for (size_t i = 0; i < ix.n_manifests && !uses; i++)
            uses = c.image_digest && !strcmp(c.image_digest, ix.manifests[i].digest);
        if (uses)
            user = cz_xstrdup(c.name);
        cz_container_config_free(&c);
    }
    cz_index_free(&ix);
    cz_strv_free(ids);
    return user;
}

static int image_rm(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else if (c == 'h')
            return cli_print_usage("Usage: container image rm [-f] IMAGE...\n\n"
                                   "Remove images by name or ID; their content is deleted when\n"
                                   "nothing else refers to it.\n\n"
                                   "Options:\n  -f, --force   ignore images that do not exist\n"),
                   0;
        else
            return unknown_option(err, "rm", "fh", opts, argv);
    }
    if (optind >= argc)
        return cli_usage_error(err, "image rm: an image is required");
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    struct item_errors ie = {.total = argc - optind};
    for (int i = optind; i < argc; i++) {
        cz_image_record *v;
        size_t n;
        if (cz_store_list_images(s, &v, &n, err) < 0)
            return -1;
        /* By name first; an ID names every name of that image. */
        cz_image_record rec;
        cz_error ierr = {0};
        bool by_name = cz_store_get_image(s, argv[i], &rec, &ierr) == 0;
        if (!by_name && cz_image_lookup(s, argv[i], &rec, &ierr) < 0) {
            cz_image_records_free(v, n);
            if (!force || ierr.code != ENOENT)
                item_error(&ie, "%s", ierr.msg);
            continue;
        }
        size_t names = 0;
        for (size_t k = 0; k < n; k++)
            names += !strcmp(v[k].target.digest, rec.target.digest);
        cz_autofree char *user = container_using(cli, s, &rec.target);
        bool refuse = false;
        if (!force && !by_name && names > 1) {
            item_error(&ie, "cannot remove image %s: it has %zu names; remove them by name, or use -f",
                       argv[i], names);
            refuse = true;
        } else if (!force && user && (!by_name || names == 1)) {
            item_error(&ie, "cannot remove image %s: container %s uses it; remove the container first, or use -f",
                       argv[i], user);
            refuse = true;
        }
        if (refuse) {
            cz_image_records_free(v, n);
            free(rec.name);
            cz_descriptor_free(&rec.target);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            if (by_name ? strcmp(v[k].name, rec.name) != 0
                        : strcmp(v[k].target.digest, rec.target.digest) != 0)
                continue;
            if (cz_store_remove_image(s, v[k].name, &ierr) < 0) {
                item_error(&ie, "%s", ierr.msg);
                continue;
            }
            cz_autofree char *repo = NULL, *tag = NULL;
            split_name(v[k].name, &repo, &tag);
            if (strcmp(repo, "<none>") != 0)
                printf("Untagged: %s:%s\n", repo, tag);
        }
        /* Deleted when no other name points at the same content. */
        bool still = false;
        cz_image_records_free(v, n);
        if (cz_store_list_images(s, &v, &n, err) < 0)
            return -1;
        for (size_t k = 0; k < n; k++)
            still |= !strcmp(v[k].target.digest, rec.target.digest);
        if (!still && !user)
            printf("Deleted: %s\n", rec.target.digest);
        cz_image_records_free(v, n);
        free(rec.name);
        cz_descriptor_free(&rec.target);
    }
    uint64_t bytes;
    if (cz_store_gc(s, &bytes, NULL, err) < 0)
        return -1;
    return item_result(&ie, "removals", err);
}

static int image_prune(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"force", no_argument, NULL, 'f'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool all = false;
    int c;
    while ((c = getopt_long(argc, argv, "+afh", opts, NULL)) != -1) {
        if (c == 'a')
            all = true;
        else if (c == 'f')
            continue; /* no prompt to skip: prune never asks */
        else if (c == 'h')
            return cli_print_usage("Usage: container image prune [-a]\n\n"
                                   "Remove unnamed images and content no image refers to.\n\n"
                                   "Options:\n  -a, --all   remove every image\n"),
                   0;
        else
            return unknown_option(err, "prune", "afh", opts, argv);
    }
    if (optind < argc)
        return cli_usage_error(err, "image prune: unexpected argument '%s'", argv[optind]);
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    cz_image_record *v;
    size_t n;
    if (cz_store_list_images(s, &v, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        bool unnamed = cz_str_has_prefix(v[i].name, "sha256:");
        if (!all && !unnamed)
            continue;
        cz_autofree char *user = container_using(cli, s, &v[i].target);
        if (user)
            continue;
        if (cz_store_remove_image(s, v[i].name, err) < 0) {
            cz_image_records_free(v, n);
            return -1;
        }
        printf("Deleted: %s (%s)\n", v[i].target.digest, v[i].name);
    }
    cz_image_records_free(v, n);
    uint64_t bytes;
    if (cz_store_gc(s, &bytes, NULL, err) < 0)
        return -1;
    print_reclaimed(bytes);
    return 0;
}

/* --- save, load, import ------------------------------------------- */

static int image_save(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    const char *output = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
        if (c == 'o')
            output = optarg;
        else if (c == 'h')
            return cli_print_usage("Usage: container image save [-o FILE] IMAGE...\n\n"
                                   "Write images to an OCI layout tar archive (with a docker\n"
                                   "manifest.json), to FILE or standard output.\n"),
                   0;
        else
            return unknown_option(err, "save", "o:h", opts, argv);
    }
    if (optind >= argc)
        return cli_usage_error(err, "image save: an image is required");
    if (!output && cli_isatty(1))
        return cli_usage_error(err, "image save: refusing to write an archive to a terminal; "
                                    "use -o FILE or a redirect");
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    return cz_image_save(s, (const char *const *)argv + optind, (size_t)(argc - optind),
                         output ? output : "-", err);
}

static void print_loaded(const char *name, const char *digest, void *arg)
{
    (void)arg;
    if (cz_str_has_prefix(name, "sha256:")) {
        printf("Loaded image ID: %s\n", digest);
        return;
    }
    cz_autofree char *repo = NULL, *tag = NULL;
    split_name(name, &repo, &tag);
    printf("Loaded image: %s:%s\n", repo, tag);
}

static int image_load(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    const char *input = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "+i:h", opts, NULL)) != -1) {
        if (c == 'i')
            input = optarg;
        else if (c == 'h')
            return cli_print_usage("Usage: container image load [-i FILE]\n\n"
                                   "Read images from an OCI layout tar or a docker save tar (file\n"
                                   "or standard input; gzip/zstd/xz compressed is fine).\n"),
                   0;
        else
            return unknown_option(err, "load", "i:h", opts, argv);
    }
    if (optind < argc)
        return cli_usage_error(err, "image load: unexpected argument '%s'", argv[optind]);
    if (!input && cli_isatty(0))
        return cli_usage_error(err, "image load: no input; use -i FILE or a redirect");
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    return cz_image_load(s, input ? input : "-", print_loaded, NULL, err);
}

static int image_import(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"platform", required_argument, NULL, 'p'},
                                         {"message", required_argument, NULL, 'm'},
                                         {"change", required_argument, NULL, 'c'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    struct cz_import_options io = {0};
    const char *changes[65] = {0};
    int nchanges = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+m:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            io.platform = optarg;
            break;
        case 'm':
            io.message = optarg;
            break;
        case 'c':
            if (nchanges == 64)
                return cli_usage_error(err, "image import: too many --change options");
            changes[nchanges++] = optarg;
            break;
        case 'h':
            cli_print_usage(
                "Usage: container image import [OPTIONS] DIR|TARBALL IMAGE\n\n"
                "Make a one-layer image from a root filesystem directory or tarball.\n\n"
                "Options:\n"
                "  -c, --change LINE    apply a Dockerfile instruction to the config (CMD,\n"
                "                       ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER,\n"
                "                       VOLUME, WORKDIR); repeatable\n"
                "  -m, --message TEXT   history comment\n"
                "      --platform P     platform recorded in the image (default: the host's)\n");
            return 0;
        default:
            return unknown_option(err, "import", "m:c:h", opts, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error(err, "image import: want a SOURCE and an IMAGE name");
    io.changes = changes;
    autostore cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    char digest[CZ_DIGEST_MAX];
    if (cz_image_import(s, argv[optind], argv[optind + 1], &io, digest, err) < 0)
        return -1;
    printf("%s\n", digest);
    return 0;
}

static const struct cli_command image_commands[] = {
    {"pull", NULL, "Pull an image from a registry", cmd_image_pull},
    {"push", NULL, "Push an image to a registry", cmd_image_push},
    {"ls", "list", "List images", image_ls},
    {"inspect", NULL, "Show details of images as JSON", image_inspect},
    {"tag", NULL, "Give an image another name", image_tag},
    {"rm", "remove", "Remove images", image_rm},
    {"prune", NULL, "Remove unused images and content", image_prune},
    {"save", NULL, "Write images to a tar archive", image_save},
    {"load", NULL, "Read images from a tar archive", image_load},
    {"import", NULL, "Make an image from a root filesystem", image_import},
    {"unpack", NULL, "Write an image's root filesystem as an ext4 image", cmd_image_unpack},
    {NULL, NULL, NULL, NULL},
};

int cmd_image(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return cli_dispatch(cli, "image", image_commands, argc - 1, argv + 1, err);
}
