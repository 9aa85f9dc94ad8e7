/* `container system info` and `container system df`.
 * info: what containers run on here: the accelerator (KVM only where a probe
 * VM really booted on it, the answer cached in ROOT/cache/accel), the guest
 * kernel and its version string, the initfs, QEMU and its version, our
 * version, the directories, and how many containers and images there are.
 * df: disk usage like docker system df: the content store (images), the
 * image snapshots (ext4 images built once per image), the containers'
 * writable disks and the named volumes, each with what could be reclaimed
 * (not used by any container). Sizes are actual disk usage (st_blocks: the
 * disks are sparse), with the apparent size beside it. */
#include "cli.h"

#include <cz/container.h>
#include <cz/image.h>
#include <cz/vm.h>

#include "base/fs.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the accelerator probe's VM prints once our init runs in it. */
#define KERNEL_SCAN_MAX (256u << 20)

/* ------------------------------------------------------------ helpers */

struct usage {
    uint64_t actual;   /* st_blocks * 512 */
    uint64_t apparent; /* st_size */
    uint64_t files;
};

/* Disk usage of a tree (not following symlinks, hard links counted once per
 * call through the inode list). */
struct seen {
    dev_t dev;
    ino_t ino;
};

static void du_add(int dir_fd, const char *name, struct usage *u, struct seen **seen, size_t *ns,
                   int depth)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode)) {
        for (size_t i = 0; i < *ns; i++)
            if ((*seen)[i].dev == st.st_dev && (*seen)[i].ino == st.st_ino)
                return;
        *seen = cz_xrealloc(*seen, (*ns + 1) * sizeof(**seen));
        (*seen)[(*ns)++] = (struct seen){st.st_dev, st.st_ino};
    }
    u->actual += (uint64_t)st.st_blocks * 512;
    u->apparent += (uint64_t)st.st_size;
    if (!S_ISDIR(st.st_mode)) {
        u->files++;
        return;
    }
    if (depth > 64)
        return;
    int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            du_add(dirfd(d), e->d_name, u, seen, ns, depth + 1);
    closedir(d);
}

static struct usage du(const char *path)
{
    struct usage u = {0};
    struct seen *seen = NULL;
    size_t ns = 0;
    du_add(AT_FDCWD, path, &u, &seen, &ns, 0);
    free(seen);
    return u;
}

/* Run argv, return the first line of its output (NULL on failure). */
static char *first_line_of(char *const argv[])
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    char buf[512];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 &&
           ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
            len += (size_t)n;
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    buf[len] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !buf[0])
        return NULL;
    return cz_xstrdup(buf);
}

/* A program on PATH (or the path itself when it has a '/'). */
static char *which(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? cz_xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *d = path; d;) {
        const char *end = strchr(d, ':');
        size_t len = end ? (size_t)(end - d) : strlen(d);
        char *p = cz_xasprintf("%.*s/%s", (int)len, len ? d : ".", name);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
        d = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The "Linux version ..." banner inside a kernel image (vmlinux carries it
 * uncompressed). NULL when not found. */
static char *kernel_version(const char *path)
{
    cz_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    static const char tag[] = "Linux version ";
    char buf[1 << 16];
    size_t keep = 0, scanned = 0;
    for (;;) {
        ssize_t n = read(fd, buf + keep, sizeof(buf) - keep);
        if (n <= 0)
            return NULL;
        size_t len = keep + (size_t)n;
        for (char *p = buf; (p = memmem(p, len - (size_t)(p - buf), tag, sizeof(tag) - 1)); p++) {
            /* the banner is text up to the newline; a format string ("%s") is not it */
            char *q = p + sizeof(tag) - 1;
            size_t room = len - (size_t)(q - buf);
            char *end = memchr(q, '\n', room);
            if (!end || end - q > 400 || !(q[0] >= '0' && q[0] <= '9'))
                continue;
            return cz_xstrndup(p, (size_t)(end - p));
        }
        scanned += (size_t)n;
        if (scanned > KERNEL_SCAN_MAX)
            return NULL;
        keep = CZ_MIN(len, (size_t)512);
        memmove(buf, buf + len - keep, keep);
    }
}

static void fmt_size(uint64_t v, char *out, size_t len)
{
    cz_format_size(v, out, len);
}

/* The options of info and df: --format table|json and nothing else. Returns 1
 * after --help, 0 to go on (*json set), <0 on a usage error. */
static int parse_format_only(const char *cmd, const char *usage, int argc, char **argv, bool *json,
                             cz_error *err)
{
    enum { OPT_FORMAT = 300 };
    static const struct option opts[] = {
        {"format", required_argument, NULL, OPT_FORMAT}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    *json = false;
    int o;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case OPT_FORMAT:
            if (!strcmp(optarg, "json"))
                *json = true;
            else if (strcmp(optarg, "table"))
                return cli_usage_error(err, "%s: invalid --format '%s' (table or json)", cmd,
                                       optarg);
            break;
        case 'h':
            cli_print_usage(usage);
            return 1;
        default:
            return cli_option_error(err, cmd, "h", opts, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error(err, "%s: no arguments expected", cmd);
    return 0;
}

/* ------------------------------------------------------------ info */

struct counts {
    int containers, running, stopped, created, failed;
};

static void count_containers(struct cli *cli, struct counts *c)
{
    memset(c, 0, sizeof(*c));
    cz_error e = {0};
    char **ids = cz_container_list(cli->root, &e);
    for (char **p = ids; p && *p; p++) {
        cz_container_config cfg;
        cz_container_state st;
        if (cz_container_load(cli->root, *p, &cfg, &st, &e) == 0) {
            c->containers++;
            bool alive = st.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&st);
            if (alive)
                c->running++;
            else if (st.status == CZ_STATUS_CREATED)
                c->created++;
            else if (st.status == CZ_STATUS_STOPPED)
                c->stopped++;
            else
                c->failed++;
            cz_container_config_free(&cfg);
            cz_container_state_free(&st);
        }
        free(*p);
    }
    free(ids);
}

static const char info_usage[] =
    "Usage: container system info [OPTIONS]\n\n"
    "Show the accelerator, guest kernel, initfs, QEMU, versions, directories and\n"
    "how many containers and images there are. The first call on a host with\n"
    "/dev/kvm boots a probe VM (a few seconds); the answer is cached.\n\n"
    "Options:\n"
    "      --format FORMAT   table (default) or json\n";

static int cmd_info(struct cli *cli, int argc, char **argv, cz_error *err)
{
    bool json;
    int pr = parse_format_only("system info", info_usage, argc, argv, &json, err);
    if (pr != 0)
        return pr > 0 ? 0 : pr;

    cz_autofree char *kernel = NULL, *initfs = NULL, *kver = NULL, *guest_err = NULL;
    cz_error e = {0};
    if (cz_container_guest_files(cli->root, NULL, &kernel, &initfs, &e) < 0)
        guest_err = cz_xstrdup(e.msg);
    if (kernel)
        kver = kernel_version(kernel);
    cz_autofree char *qemu = which("qemu-system-x86_64");
    cz_autofree char *qver = NULL;
    if (qemu) {
        char *qa[] = {qemu, (char *)"--version", NULL};
        qver = first_line_of(qa);
    }
    /* The accelerator, chosen as the runtime chooses it. */
    bool kvm_dev = access("/dev/kvm", F_OK) == 0;
    const char *accel = "tcg", *accel_source = "no guest kernel to probe with";
    if (kernel)
        accel = cz_accel_name(cz_container_accel(cli->root, kernel, &accel_source));
    struct counts cc;
    count_containers(cli, &cc);
    size_t n_images = 0;
    cz_store *s = NULL;
    if (cli_open_store(cli, &s, &e) == 0) {
        cz_image_record *recs = NULL;
        if (cz_store_list_images(s, &recs, &n_images, &e) == 0)
            cz_image_records_free(recs, n_images);
        cz_store_close(s);
    }
    struct utsname un;
    uname(&un);
    const char *run_base = getenv("CONTAINER_RUN_DIR");
    if (!run_base || !*run_base)
        run_base = "/run/containerization";
    /* VM templates (docs/vm.md "Templates"): how many, and the space their saved states take */
    cz_autofree char *tdir = cz_container_templates_dir();
    size_t n_templates = 0;
    uint64_t template_bytes = 0;
    DIR *td = opendir(tdir);
    for (struct dirent *de; td && (de = readdir(td));) {
        if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
            continue;
        cz_autofree char *state = cz_xasprintf("%s/%s/state", tdir, de->d_name);
        struct stat ts;
        if (stat(state, &ts) < 0)
            continue;
        n_templates++;
        template_bytes += (uint64_t)ts.st_blocks * 512;
    }
    if (td)
        closedir(td);
    struct stat ks = {0}, is = {0};
    if (kernel)
        stat(kernel, &ks);
    if (initfs)
        stat(initfs, &is);

    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "Version", json_string(CZ_VERSION));
        json_object_set_new(j, "GitCommit", json_string(CZ_GIT_REV));
        json_object_set_new(j, "Accelerator", json_string(accel));
        json_object_set_new(j, "AcceleratorSource", json_string(accel_source));
        json_object_set_new(j, "KvmDevice", json_boolean(kvm_dev));
        json_object_set_new(j, "Kernel", kernel ? json_string(kernel) : json_null());
        json_object_set_new(j, "KernelVersion", kver ? json_string(kver) : json_null());
        json_object_set_new(j, "KernelSize", json_integer((json_int_t)ks.st_size));
        json_object_set_new(j, "Initfs", initfs ? json_string(initfs) : json_null());
        json_object_set_new(j, "InitfsSize", json_integer((json_int_t)is.st_size));
        if (guest_err)
            json_object_set_new(j, "GuestFilesError", json_string(guest_err));
        json_object_set_new(j, "Qemu", qemu ? json_string(qemu) : json_null());
        json_object_set_new(j, "QemuVersion", qver ? json_string(qver) : json_null());
        json_object_set_new(j, "HostKernel", json_string(un.release));
        json_object_set_new(j, "Architecture", json_string(un.machine));
        json_object_set_new(j, "Root", json_string(cli->root));
        json_object_set_new(j, "RunDir", json_string(run_base));
        json_object_set_new(j, "Containers", json_integer(cc.containers));
        json_object_set_new(j, "ContainersRunning", json_integer(cc.running));
        json_object_set_new(j, "ContainersStopped", json_integer(cc.stopped));
        json_object_set_new(j, "ContainersCreated", json_integer(cc.created));
        json_object_set_new(j, "ContainersFailed", json_integer(cc.failed));
        json_object_set_new(j, "Images", json_integer((json_int_t)n_images));
        json_object_set_new(j, "VmTemplates", json_integer((json_int_t)n_templates));
        json_object_set_new(j, "VmTemplatesBytes", json_integer((json_int_t)template_bytes));
        char *text = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
        printf("%s\n", text ? text : "{}");
        free(text);
        return 0;
    }
    char ksz[32] = "", isz[32] = "";
    fmt_size((uint64_t)ks.st_size, ksz, sizeof(ksz));
    fmt_size((uint64_t)is.st_size, isz, sizeof(isz));
    printf("Version:          %s (%s)\n", CZ_VERSION, CZ_GIT_REV);
    printf("Accelerator:      %s (%s; /dev/kvm %s)\n", accel, accel_source,
           kvm_dev ? "present" : "absent");
    if (kernel)
        printf("Kernel:           %s (%s)\n", kernel, ksz);
    else
        printf("Kernel:           none (%s)\n", guest_err ? guest_err : "not found");
    printf("Kernel version:   %s\n", kver ? kver : "unknown");
    if (initfs)
        printf("Initfs:           %s (%s)\n", initfs, isz);
    else
        printf("Initfs:           none\n");
    printf("QEMU:             %s\n", qemu ? qemu : "not found (install qemu-system-x86)");
    printf("QEMU version:     %s\n", qver ? qver : "unknown");
    printf("Host:             %s %s\n", un.machine, un.release);
    printf("Root:             %s\n", cli->root);
    printf("Run directory:    %s\n", run_base);
    printf("Containers:       %d (running %d, stopped %d, created %d, failed %d)\n", cc.containers,
           cc.running, cc.stopped, cc.created, cc.failed);
    printf("Images:           %zu\n", n_images);
    char tsz[32] = "";
    fmt_size(template_bytes, tsz, sizeof(tsz));
    printf("VM templates:     %zu (%s) in %s\n", n_templates, tsz, tdir);
    return 0;
}

/* ------------------------------------------------------------ df */

struct df_row {
    const char *type;
    int total, active;
    struct usage size;
    uint64_t reclaimable;
};

/* The container records, for what is in use. */
struct use {
    char **image_digests; /* of every container */
    size_t n;
    char **volumes; /* named volumes mounted by any container */
    size_t nv;
};

static void strv_push(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s))
            return;
    *v = cz_xrealloc(*v, (*n + 1) * sizeof(char *));
    (*v)[(*n)++] = cz_xstrdup(s);
}

static bool strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return true;
    return false;
}

static void strv_clear(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Containers: their writable disks; and what they use. */
static void df_containers(struct cli *cli, struct df_row *row, struct use *use)
{
    cz_error e = {0};
    char **ids = cz_container_list(cli->root, &e);
    for (char **p = ids; p && *p; p++) {
        cz_container_config c;
        cz_container_state st;
        if (cz_container_load(cli->root, *p, &c, &st, &e) == 0) {
            row->total++;
            bool alive = st.status == CZ_STATUS_RUNNING && cz_container_runtime_alive(&st);
            cz_autofree char *dir = cz_container_dir(cli->root, c.id);
            struct usage u = du(dir);
            row->size.actual += u.actual;
            row->size.apparent += u.apparent;
            if (alive)
                row->active++;
            else
                row->reclaimable += u.actual;
            if (c.image_digest)
                strv_push(&use->image_digests, &use->n, c.image_digest);
            for (size_t i = 0; i < c.n_mounts; i++)
                if (!strcmp(c.mounts[i].type, "volume") && c.mounts[i].source)
                    strv_push(&use->volumes, &use->nv, c.mounts[i].source);
            cz_container_config_free(&c);
            cz_container_state_free(&st);
        }
        free(*p);
    }
    free(ids);
}

/* Images: the content store on disk; reclaimable is what only unused images
 * (or nothing) reference. */
static int df_images(struct cli *cli, struct df_row *row, const struct use *use, cz_error *err)
{
    cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        return -1;
    cz_image_record *recs = NULL;
    size_t n = 0;
    if (cz_store_list_images(s, &recs, &n, err) < 0) {
        cz_store_close(s);
        return -1;
    }
    char **used = NULL; /* blobs of images some container uses */
    size_t nused = 0;
    row->total = (int)n;
    for (size_t i = 0; i < n; i++) {
        cz_image img;
        cz_error e = {0};
        if (cz_image_resolve(s, recs[i].name, NULL, &img, &e) < 0)
            continue;
        bool active = strv_has(use->image_digests, use->n, img.manifest_desc.digest) ||
                      strv_has(use->image_digests, use->n, img.target.digest);
        if (active) {
            row->active++;
            strv_push(&used, &nused, img.target.digest);
            strv_push(&used, &nused, img.manifest_desc.digest);
            strv_push(&used, &nused, img.manifest.config.digest);
            for (size_t l = 0; l < img.manifest.n_layers; l++)
                strv_push(&used, &nused, img.manifest.layers[l].digest);
        }
        cz_image_free(&img);
    }
    cz_image_records_free(recs, n);
    cz_autofree char *blobs = cz_xasprintf("%s/blobs", cz_store_layout_path(s));
    row->size = du(blobs);
    DIR *d = opendir(blobs);
    struct dirent *alg;
    while (d && (alg = readdir(d))) {
        if (alg->d_name[0] == '.')
            continue;
        cz_autofree char *sub = cz_xasprintf("%s/%s", blobs, alg->d_name);
        DIR *ad = opendir(sub);
        struct dirent *b;
        while (ad && (b = readdir(ad))) {
            if (b->d_name[0] == '.')
                continue;
            cz_autofree char *digest = cz_xasprintf("%s:%s", alg->d_name, b->d_name);
            struct stat st;
            if (fstatat(dirfd(ad), b->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                !strv_has(used, nused, digest))
                row->reclaimable += (uint64_t)st.st_blocks * 512;
        }
        if (ad)
            closedir(ad);
    }
    if (d)
        closedir(d);
    strv_clear(used, nused);
    cz_store_close(s);
    return 0;
}

/* Snapshots: ROOT/snapshots/<hex of manifest digest>.ext4, one per image. */
static void df_snapshots(struct cli *cli, struct df_row *row, const struct use *use)
{
    cz_autofree char *dir = cz_xasprintf("%s/snapshots", cli->root);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".ext4"))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        row->total++;
        row->size.actual += (uint64_t)st.st_blocks * 512;
        row->size.apparent += (uint64_t)st.st_size;
        cz_autofree char *digest = cz_xasprintf("sha256:%.*s", (int)(len - 5), e->d_name);
        if (strv_has(use->image_digests, use->n, digest))
            row->active++;
        else
            row->reclaimable += (uint64_t)st.st_blocks * 512;
    }
    if (d)
        closedir(d);
}

/* Volumes: ROOT/volumes/<name>/. */
static void df_volumes(struct cli *cli, struct df_row *row, const struct use *use)
{
    cz_autofree char *dir = cz_xasprintf("%s/volumes", cli->root);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cz_autofree char *path = cz_xasprintf("%s/%s", dir, e->d_name);
        struct usage u = du(path);
        row->total++;
        row->size.actual += u.actual;
        row->size.apparent += u.apparent;
        if (strv_has(use->volumes, use->nv, e->d_name))
            row->active++;
        else
            row->reclaimable += u.actual;
    }
    if (d)
        closedir(d);
}

static const char df_usage[] =
    "Usage: container system df [OPTIONS]\n\n"
    "Show disk usage: images (the content store), image snapshots, containers'\n"
    "writable disks and named volumes; ACTIVE are those some container uses\n"
    "(running, for containers), RECLAIMABLE what the others take. SIZE is the\n"
    "space really used (the disks are sparse); APPARENT their nominal size.\n\n"
    "Options:\n"
    "      --format FORMAT   table (default) or json\n";

static int cmd_df(struct cli *cli, int argc, char **argv, cz_error *err)
{
    bool json;
    int pr = parse_format_only("system df", df_usage, argc, argv, &json, err);
    if (pr != 0)
        return pr > 0 ? 0 : pr;
    struct use use = {0};
    struct df_row rows[4] = {
        {.type = "Images"}, {.type = "Snapshots"}, {.type = "Containers"}, {.type = "Volumes"}};
    df_containers(cli, &rows[2], &use);
    int rc = df_images(cli, &rows[0], &use, err);
    if (rc == 0) {
        df_snapshots(cli, &rows[1], &use);
        df_volumes(cli, &rows[3], &use);
        if (json) {
            json_t *a = json_array();
            for (size_t i = 0; i < 4; i++) {
                json_t *r = json_object();
                json_object_set_new(r, "Type", json_string(rows[i].type));
                json_object_set_new(r, "Total", json_integer(rows[i].total));
                json_object_set_new(r, "Active", json_integer(rows[i].active));
                json_object_set_new(r, "Size", json_integer((json_int_t)rows[i].size.actual));
                json_object_set_new(r, "ApparentSize",
                                    json_integer((json_int_t)rows[i].size.apparent));
                json_object_set_new(r, "Reclaimable",
                                    json_integer((json_int_t)rows[i].reclaimable));
                json_array_append_new(a, r);
            }
            char *text = json_dumps(a, JSON_INDENT(2));
            json_decref(a);
            printf("%s\n", text ? text : "[]");
            free(text);
        } else {
            struct cli_table t;
            static const char *const hdr[] = {"TYPE", "TOTAL",    "ACTIVE",
                                              "SIZE", "APPARENT", "RECLAIMABLE"};
            cli_table_init(&t, 6, hdr);
            for (size_t i = 0; i < 4; i++) {
                char tot[16], act[16], sz[32], ap[32], rc_[48], r0[32];
                snprintf(tot, sizeof(tot), "%d", rows[i].total);
                snprintf(act, sizeof(act), "%d", rows[i].active);
                fmt_size(rows[i].size.actual, sz, sizeof(sz));
                fmt_size(rows[i].size.apparent, ap, sizeof(ap));
                fmt_size(rows[i].reclaimable, r0, sizeof(r0));
                unsigned pct = rows[i].size.actual
                                   ? (unsigned)(rows[i].reclaimable * 100 / rows[i].size.actual)
                                   : 0;
                snprintf(rc_, sizeof(rc_), "%s (%u%%)", r0, pct);
                const char *row[] = {rows[i].type, tot, act, sz, ap, rc_};
                cli_table_add(&t, row);
            }
            cli_table_print(&t);
            cli_table_free(&t);
        }
    }
    strv_clear(use.image_digests, use.n);
    strv_clear(use.volumes, use.nv);
    return rc;
}

static const struct cli_command system_commands[] = {
    {"info", NULL, "Accelerator, guest kernel, versions, directories, counts", cmd_info},
    {"df", NULL, "Disk usage of images, snapshots, containers and volumes", cmd_df},
    {NULL, NULL, NULL, NULL},
};

int cmd_system(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return cli_dispatch(cli, "system", system_commands, argc - 1, argv + 1, err);
}
