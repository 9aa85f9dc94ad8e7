/* Container commands that work on records: create (flags shared with run),
 * ls, inspect, rm, prune. What a container runs is decided here, once, from
 * the image config and the flags, the way docker decides it. */
#include "cli.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"

#include <cz/container.h>
#include <cz/image.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct strv {
    char **v;
    size_t n;
};

static void strv_push(struct strv *s, const char *x)
{
    s->v = cz_xrealloc(s->v, (s->n + 2) * sizeof(char *));
    s->v[s->n++] = cz_xstrdup(x);
    s->v[s->n] = NULL;
}

static char **strv_steal(struct strv *s)
{
    if (!s->v)
        s->v = cz_xcalloc(1, sizeof(char *));
    char **v = s->v;
    s->v = NULL;
    s->n = 0;
    return v;
}

static void strv_clear(struct strv *s)
{
    cz_strv_free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* "K=V" into env, replacing an existing K. */
static void env_set(struct strv *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < env->n; i++) {
        if (!strncmp(env->v[i], kv, klen) && env->v[i][klen] == '=') {
            free(env->v[i]);
            env->v[i] = cz_xstrdup(kv);
            return;
        }
    }
    strv_push(env, kv);
}

static int env_add_arg(struct strv *env, const char *arg, cz_error *err)
{
    if (!*arg || arg[0] == '=')
        return cli_usage_error(err, "invalid environment variable '%s'", arg);
    if (strchr(arg, '=')) {
        env_set(env, arg);
        return 0;
    }
    /* "-e NAME" takes the value from our own environment, or drops it */
    const char *v = getenv(arg);
    if (v) {
        cz_autofree char *kv = cz_xasprintf("%s=%s", arg, v);
        env_set(env, kv);
    }
    return 0;
}

/* --env-file, by docker's rules: leading whitespace goes, empty and '#' lines are
 * skipped, K=V is kept verbatim (trailing blanks too), a bare K takes our own value
 * (left out when unset), and a name holding a blank is refused. */
static int env_file(struct strv *env, const char *path, cz_error *err)
{
    cz_autofree char *data = NULL;
    size_t len;
    if (cz_read_file(path, 1 << 20, &data, &len, err) < 0)
        return cz_error_wrap(err, "--env-file");
    if (memchr(data, '\0', len))
        return cz_error_set(err, EINVAL, "invalid --env-file %s: it holds NUL bytes", path);
    char *p = data;
    if (!strncmp(p, "\xef\xbb\xbf", 3)) /* a UTF-8 byte order mark */
        p += 3;
    for (unsigned lineno = 1; *p; lineno++) {
        char *line = p, *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
        if (nl)
            *nl = '\0';
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        while (isspace((unsigned char)*line))
            line++;
        if (!*line || *line == '#')
            continue;
        size_t klen = strcspn(line, "=");
        if (klen == 0)
            return cz_error_set(err, EINVAL, "invalid --env-file %s: line %u: no variable name",
                                path, lineno);
        if (strcspn(line, " \t") < klen)
            return cz_error_set(err, EINVAL,
                                "invalid --env-file %s: line %u: variable '%.*s' "
                                "contains whitespaces",
                                path, lineno, (int)klen, line);
        const char *own = line[klen] ? NULL : getenv(line);
        if (line[klen] == '=') {
            strv_push(env, line);
        } else if (own) {
            cz_autofree char *kv = cz_xasprintf("%s=%s", line, own);
            strv_push(env, kv);
        }
    }
    return 0;
}

static bool valid_hostname(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
            return false;
    return h[0] != '-';
}

/* "N" or "N-M", 1 <= N <= M <= 65535. */
static bool port_range(const char *s, unsigned *lo, unsigned *hi)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return false;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (*end == '-') {
        if (!isdigit((unsigned char)end[1]))
            return false;
        b = strtoul(end + 1, &end, 10);
    }
    if (*end || a < 1 || b > 65535 || a > b)
        return false;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    return true;
}

/* -p [[IP:][HOST]:]CONTAINER[/tcp|udp]: ports or ranges of one length, IP a host IPv4
 * address (127.0.0.1 when not given: QEMU's user network publishes on the host). Into
 * publish, one "IP:HOST:CONTAINER/PROTO" per port, HOST empty when it is to be picked. */
static int parse_port(const char *s, struct strv *publish, cz_error *err)
{
    cz_autofree char *copy = cz_xstrdup(s);
    const char *proto = "tcp";
    char *slash = strchr(copy, '/');
    if (slash) {
        *slash = '\0';
        proto = slash + 1;
        if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
            return cli_usage_error(err, "invalid port '%s': protocol must be tcp or udp", s);
    }
    char *parts[3];
    int n = 0;
    for (char *p = copy;; n++) {
        if (n == 3)
            return cli_usage_error(err, "invalid port '%s': want [[IP:][HOST]:]CONTAINER[/PROTO]",
                                   s);
        parts[n] = p;
        char *colon = strchr(p, ':');
        if (!colon) {
            n++;
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    const char *addr = n == 3 ? parts[0] : "127.0.0.1";
    const char *host = n >= 2 ? parts[n - 2] : "";
    struct in_addr a;
    if (inet_pton(AF_INET, addr, &a) != 1)
        return cli_usage_error(err, "invalid port '%s': bad address '%s'", s, addr);
    unsigned clo, chi, hlo = 0, hhi = 0;
    if (!port_range(parts[n - 1], &clo, &chi))
        return cli_usage_error(err, "invalid port '%s': '%s' is not a port or a range of ports", s,
                               parts[n - 1]);
    if (*host && !port_range(host, &hlo, &hhi))
        return cli_usage_error(err, "invalid port '%s': '%s' is not a port or a range of ports", s,
                               host);
    if (*host && hhi - hlo != chi - clo)
        return cli_usage_error(err,
                               "invalid port '%s': the host and container ranges must be "
                               "of the same length",
                               s);
    if (publish->n + (chi - clo + 1) > CZ_MAX_PUBLISHED)
        return cli_usage_error(err, "invalid port '%s': at most %d ports can be published", s,
                               CZ_MAX_PUBLISHED);
    for (unsigned i = 0; i <= chi - clo; i++) {
        char hp[8] = "";
        if (*host)
            snprintf(hp, sizeof(hp), "%u", hlo + i);
        cz_autofree char *b = cz_xasprintf("%s:%s:%u/%s", addr, hp, clo + i, proto);
        strv_push(publish, b);
    }
    return 0;
}

/* Bind addr:port (0: any) as QEMU will and read the port back: *got 0 when it is taken. */
static int bind_host_port(const char *addr, bool udp, unsigned port, unsigned *got, cz_error *err)
{
    cz_autoclose int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cz_error_errno(err, errno, "socket");
    int one = 1;
    /* QEMU's listener takes a port whose old connections linger in TIME_WAIT */
    if (port && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return cz_error_errno(err, errno, "setsockopt");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(sa);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    *got = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (port && errno == EADDRINUSE)
            return 0;
        return cz_error_errno(err, errno, "find a free %s port on %s", udp ? "udp" : "tcp", addr);
    }
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return cz_error_errno(err, errno, "getsockname");
    *got = ntohs(sa.sin_port);
    return 0;
}

int cli_pick_host_ports(cz_container_config *c, bool *changed, cz_error *err)
{
    *changed = false;
    size_t n = 0, had = 0;
    while (c->publish && c->publish[n])
        n++;
    while (c->ports && c->ports[had])
        had++;
    if (!c->publish)
        return 0;
    char **ports = cz_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        struct cz_port_binding want, old;
        if (!cz_port_binding_parse(c->publish[i], &want)) {
            cz_strv_free(ports);
            return cz_error_set(err, EINVAL, "container %s: invalid published port '%s'",
                                c->name ? c->name : "", c->publish[i]);
        }
        unsigned host = want.host;
        /* the port picked before, while it is free */
        if (!host && i < had && cz_port_binding_parse(c->ports[i], &old) &&
            !strcmp(want.addr, old.addr) && want.container == old.container &&
            want.udp == old.udp && old.host &&
            bind_host_port(want.addr, want.udp, old.host, &host, err) < 0) {
            cz_strv_free(ports);
            return -1;
        }
        if (!host && bind_host_port(want.addr, want.udp, 0, &host, err) < 0) {
            cz_strv_free(ports);
            return -1;
        }
        ports[i] = cz_xasprintf("%s:%u:%u/%s", want.addr, host, want.container,
                                want.udp ? "udp" : "tcp");
        *changed |= i >= had || strcmp(ports[i], c->ports[i]) != 0;
    }
    *changed |= had != n;
    cz_strv_free(c->ports);
    c->ports = ports;
    return 0;
}

/* Published ports as docker's ls shows them: "127.0.0.1:8000-8001->80-81/tcp, ...". */
static char *ports_text(char **ports)
{
    cz_buf b = {0};
    for (size_t i = 0; ports && ports[i];) {
        struct cz_port_binding p, next;
        if (!cz_port_binding_parse(ports[i], &p)) {
            i++;
            continue;
        }
        size_t k = 1; /* consecutive ports fold into ranges */
        while (ports[i + k] && cz_port_binding_parse(ports[i + k], &next) &&
               !strcmp(p.addr, next.addr) && p.udp == next.udp && next.host == p.host + k &&
               next.container == p.container + k)
            k++;
        cz_buf_printf(&b, "%s%s:%u", b.len ? ", " : "", p.addr, p.host);
        if (k > 1)
            cz_buf_printf(&b, "-%zu", p.host + k - 1);
        cz_buf_printf(&b, "->%u", p.container);
        if (k > 1)
            cz_buf_printf(&b, "-%zu", p.container + k - 1);
        cz_buf_printf(&b, "/%s", p.udp ? "udp" : "tcp");
        i += k;
    }
    return cz_buf_steal(&b);
}

/* --cpus N[.F] as docker takes it, in billionths: above 0, at most 64. */
static int parse_cpus(const char *s, uint64_t *nano, cz_error *err)
{
    size_t whole = strspn(s, "0123456789"), frac = 0;
    const char *dot = s + whole;
    if (*dot == '.')
        frac = strspn(dot + 1, "0123456789");
    bool ok = (whole || frac) && whole <= 3 && frac <= 9 && !dot[*dot == '.' ? frac + 1 : 0];
    uint64_t v = 0;
    for (size_t i = 0; ok && i < whole; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    v *= 1000000000ull;
    for (uint64_t i = 0, scale = 100000000ull; ok && i < frac; i++, scale /= 10)
        v += (uint64_t)(dot[1 + i] - '0') * scale;
    if (!ok || v == 0 || v > 64 * 1000000000ull)
        return cli_usage_error(err,
                               "invalid --cpus '%s': want a number of CPUs above 0 and at "
                               "most 64, such as 2 or 1.5",
                               s);
    *nano = v;
    return 0;
}

static bool is_volume_name(const char *s)
{
    if (!s[0] || s[0] == '/' || s[0] == '.')
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    return true;
}

static void add_mount(cz_container_config *c, const char *type, const char *src, const char *dst,
                      bool ro)
{
    c->mounts = cz_xrealloc(c->mounts, (c->n_mounts + 1) * sizeof(struct cz_mount_spec));
    c->mounts[c->n_mounts++] = (struct cz_mount_spec){
        .type = cz_xstrdup(type), .source = src ? cz_xstrdup(src) : NULL,
        .destination = cz_xstrdup(dst), .readonly = ro};
}

/* NAME=N with N digits and an optional unit from units (a 0 unit list: digits only). */
static bool numeric_opt(const char *o, const char *name, const char *units, int base)
{
    size_t n = strlen(name);
    if (strncmp(o, name, n) || o[n] != '=' || !o[n + 1])
        return false;
    const char *p = o + n + 1;
    const char *digits = base == 8 ? "01234567" : "0123456789";
    size_t d = strspn(p, digits);
    if (!d || d > 19)
        return false;
    return !p[d] || (units && strchr(units, p[d]) && !p[d + 1]);
}

/* Check tmpfs options as docker's --tmpfs takes them (comma-separated); NULL/empty is fine. */
static int check_tmpfs_options(const char *what, const char *opts, cz_error *err)
{
    static const char *const words[] = {"ro",      "rw",     "noexec",     "exec",       "nosuid",
                                        "suid",    "nodev",  "dev",        "noatime",    "atime",
                                        "relatime", "norelatime", "strictatime", "nodiratime"};
    if (!opts || !*opts)
        return 0;
    cz_autofree char *copy = cz_xstrdup(opts);
    char *save = NULL;
    int n = 0;
    for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (++n > 32)
            return cli_usage_error(err, "invalid %s: more than 32 tmpfs options", what);
        bool ok = numeric_opt(o, "size", "kKmMgG%", 10) || numeric_opt(o, "nr_inodes", "kKmMgG", 10) ||
                  numeric_opt(o, "mode", NULL, 8) || numeric_opt(o, "uid", NULL, 10) ||
                  numeric_opt(o, "gid", NULL, 10);
        for (size_t i = 0; !ok && i < CZ_ARRAY_SIZE(words); i++)
            ok = !strcmp(o, words[i]);
        if (!ok)
            return cli_usage_error(err, "invalid %s: invalid tmpfs option '%s'", what, o);
    }
    return 0;
}

/* --tmpfs PATH[:OPTIONS] */
static int parse_tmpfs(cz_container_config *c, const char *s, cz_error *err)
{
    cz_autofree char *copy = cz_xstrdup(s);
    char *opts = strchr(copy, ':');
    if (opts)
        *opts++ = '\0';
    cz_autofree char *what = cz_xasprintf("--tmpfs '%s'", s);
    if (copy[0] != '/')
        return cli_usage_error(err, "invalid --tmpfs '%s': the path must be absolute", s);
    if (check_tmpfs_options(what, opts, err) < 0)
        return -1;
    add_mount(c, "tmpfs", NULL, copy, false);
    if (opts && *opts)
        c->mounts[c->n_mounts - 1].options = cz_xstrdup(opts);
    return 0;
}

/* A named volume, or an absolute host directory or file, mounted at dst. */
static int add_volume_or_bind(cz_container_config *c, const char *spec, const char *a,
                              const char *b, bool ro, cz_error *err)
{
    if (b[0] != '/')
        return cli_usage_error(err, "invalid volume '%s': destination must be absolute", spec);
    if (a[0] == '/') {
        struct stat st;
        if (stat(a, &st) < 0)
            return cz_error_errno(err, errno, "invalid volume '%s': %s", spec, a);
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
            return cz_error_set(err, EINVAL, "invalid volume '%s': %s is neither a directory nor "
                                "a regular file", spec, a);
        cz_autofree char *real = realpath(a, NULL);
        add_mount(c, "bind", real ? real : a, b, ro);
        return 0;
    }
    if (is_volume_name(a)) {
        add_mount(c, "volume", a, b, ro);
        return 0;
    }
    return cli_usage_error(err, "invalid volume '%s': source must be a volume name or an "
                                "absolute path",
                           spec);
}

/* -v NAME:/path[:ro|rw] or /host/path:/path[:ro|rw] */
static int parse_volume(cz_container_config *c, const char *s, cz_error *err)
{
    cz_autofree char *copy = cz_xstrdup(s);
    char *a = copy, *b = strchr(a, ':');
    if (!b)
        return cli_usage_error(err, "invalid volume '%s': want SOURCE:DEST[:ro]", s);
    *b++ = '\0';
    char *opt = strchr(b, ':');
    bool ro = false;
    if (opt) {
        *opt++ = '\0';
        if (!strcmp(opt, "ro"))
            ro = true;
        else if (strcmp(opt, "rw") != 0)
            return cli_usage_error(err, "invalid volume '%s': option must be ro or rw", s);
    }
    return add_volume_or_bind(c, s, a, b, ro, err);
}

/* --mount type=volume|bind|tmpfs,source=X,target=/y[,readonly] */
static int parse_mount(cz_container_config *c, const char *s, cz_error *err)
{
    cz_autofree char *copy = cz_xstrdup(s);
    const char *type = "volume", *src = NULL, *dst = NULL;
    const char *tsize = NULL, *tmode = NULL;
    bool ro = false;
    char *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        char *v = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        if (!strcmp(kv, "type") && v)
            type = v;
        else if ((!strcmp(kv, "source") || !strcmp(kv, "src")) && v)
            src = v;
        else if ((!strcmp(kv, "target") || !strcmp(kv, "destination") || !strcmp(kv, "dst")) &&
                 v)
            dst = v;
        else if (!strcmp(kv, "tmpfs-size") && v)
            tsize = v;
        else if (!strcmp(kv, "tmpfs-mode") && v)
            tmode = v;
        else if (!strcmp(kv, "readonly") || !strcmp(kv, "ro"))
            ro = !v || !strcmp(v, "true") || !strcmp(v, "1");
        else
            return cli_usage_error(err, "invalid --mount '%s': unknown field '%s'", s, kv);
    }
    if (!dst || dst[0] != '/')
        return cli_usage_error(err, "invalid --mount '%s': target must be an absolute path", s);
    if (!strcmp(type, "tmpfs")) {
        cz_buf o = {0};
        if (tsize)
            cz_buf_printf(&o, "size=%s", tsize);
        if (tmode)
            cz_buf_printf(&o, "%smode=%s", o.len ? "," : "", tmode);
        cz_autofree char *what = cz_xasprintf("--mount '%s'", s);
        if (check_tmpfs_options(what, o.data, err) < 0) {
            cz_buf_free(&o);
            return -1;
        }
        add_mount(c, "tmpfs", NULL, dst, ro);
        c->mounts[c->n_mounts - 1].options = o.len ? cz_xstrdup(o.data) : NULL;
        cz_buf_free(&o);
        return 0;
    }
    if (tsize || tmode)
        return cli_usage_error(err, "invalid --mount '%s': tmpfs-size and tmpfs-mode are for type=tmpfs", s);
    if (strcmp(type, "volume") && strcmp(type, "bind"))
        return cli_usage_error(err, "invalid --mount '%s': type must be volume, bind or tmpfs", s);
    if (!src)
        return cli_usage_error(err, "invalid --mount '%s': source is required", s);
    if (!strcmp(type, "bind") && src[0] != '/')
        return cli_usage_error(err, "invalid --mount '%s': a bind source must be absolute", s);
    if (!strcmp(type, "volume") && src[0] == '/')
        return cli_usage_error(err, "invalid --mount '%s': a volume source is a name", s);
    return add_volume_or_bind(c, s, src, dst, ro, err);
}

static const char run_flags_usage[] =
    "  -i, --interactive         keep stdin open\n"
    "  -t, --tty                 allocate a pseudo-terminal\n"
    "      --rm                  remove the container when it exits\n"
    "      --name NAME           name the container\n"
    "  -e, --env K=V|K           set an environment variable (repeatable; K alone: our value)\n"
    "      --env-file FILE       K=V lines from a file (read before -e: -e wins)\n"
    "  -w, --workdir DIR         working directory inside the container\n"
    "  -u, --user USER[:GROUP]   user to run as\n"
    "      --entrypoint CMD      override the image's entrypoint\n"
    "  -v, --volume SRC:DST[:ro] a named volume, or a host directory or file (9p)\n"
    "      --mount SPEC          type=volume|bind|tmpfs,source=..,target=..[,readonly]\n"
    "                            [,tmpfs-size=SIZE][,tmpfs-mode=OCTAL]\n"
    "      --tmpfs PATH[:OPTS]   a tmpfs at PATH (OPTS: size=64m,mode=1770,noexec,...)\n"
    "  -c, --cpus N              CPUs, e.g. 2 or 1.5 (the VM gets whole vCPUs; default 2)\n"
    "  -m, --memory SIZE         VM memory, e.g. 512M, 1G (default 1G)\n"
    "      --platform P          image platform, e.g. linux/amd64 (the host's only)\n"
    "      --read-only           mount the root filesystem read-only\n"
    "      --init                run an init process that reaps zombies\n"
    "  -l, --label K=V           set a label (repeatable)\n"
    "      --network none|default  networking (default: user-mode NAT)\n"
    "  -p, --publish SPEC        publish ports on the host (repeatable):\n"
    "                            [[IP:][HOST]:]CONTAINER[/tcp|udp], ports or ranges\n"
    "                            (8000-8002), IP default 127.0.0.1 (0.0.0.0: every\n"
    "                            interface), no HOST: a free port\n"
    "      --dns IP              a DNS server (repeatable)\n"
    "      --hostname NAME       the container's hostname\n"
    "      --stop-signal SIG     the signal 'stop' sends (default the image's STOPSIGNAL,\n"
    "                            else SIGTERM)\n"
    "      --stop-timeout SECS   seconds 'stop' waits before SIGKILL (default 10; -1: forever)\n"
    "      --cidfile FILE        write the container ID to FILE (which must not exist)\n"
    "      --kernel PATH         boot this kernel instead of the default\n"
    "      --storage-opt size=N  size of the container's writable disk (default 16G; sparse)\n";

enum {
    OPT_RM = 1000,
    OPT_NAME,
    OPT_ENV_FILE,
    OPT_ENTRYPOINT,
    OPT_MOUNT,
    OPT_TMPFS,
    OPT_PLATFORM,
    OPT_READ_ONLY,
    OPT_INIT,
    OPT_NETWORK,
    OPT_DNS,
    OPT_HOSTNAME,
    OPT_CIDFILE,
    OPT_KERNEL,
    OPT_STORAGE_OPT,
    OPT_STOP_SIGNAL,
    OPT_STOP_TIMEOUT,
};

static const struct option run_options[] = {
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"rm", no_argument, NULL, OPT_RM},
    {"name", required_argument, NULL, OPT_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"volume", required_argument, NULL, 'v'},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"tmpfs", required_argument, NULL, OPT_TMPFS},
    {"storage-opt", required_argument, NULL, OPT_STORAGE_OPT},
    {"cpus", required_argument, NULL, 'c'},
    {"memory", required_argument, NULL, 'm'},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"init", no_argument, NULL, OPT_INIT},
    {"label", required_argument, NULL, 'l'},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"publish", required_argument, NULL, 'p'},
    {"dns", required_argument, NULL, OPT_DNS},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"cidfile", required_argument, NULL, OPT_CIDFILE},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
    CLI_HELP_OPTION,
    {NULL, 0, NULL, 0},
};

/* Containers run in VMs of the host's own architecture (no emulation yet): refuse any
 * other platform before anything is pulled or started. what names where p came from. */
static int check_runnable(const char *what, const cz_platform *p, cz_error *err)
{
    cz_platform host;
    cz_platform_host(&host);
    int r = 0;
    if (strcmp(p->os, host.os) || strcmp(p->architecture, host.architecture)) {
        cz_autofree char *have = cz_platform_string(&host);
        r = cz_error_set(err, EINVAL,
                         "%s: the image's platform is not runnable on this host "
                         "(containers run in %s VMs; other architectures are not emulated)",
                         what, have);
    }
    cz_platform_free(&host);
    return r;
}

/* Resolve the image locally, pulling it when missing. */
static int ensure_image(struct cli *cli, cz_store *s, const char *ref, const char *platform,
                        cz_image *img, cz_error *err)
{
    cz_platform plat;
    if (platform && cz_platform_parse(platform, &plat, err) < 0)
        return -1;
    int r = cz_image_resolve(s, ref, platform ? &plat : NULL, img, err);
    if (r < 0 && err->code == ENOENT) {
        fprintf(stderr, "Unable to find image '%s' locally\n", ref);
        char *pull_argv[] = {(char *)"pull", (char *)"--platform", (char *)platform,
                             (char *)ref, NULL};
        if (!platform) {
            pull_argv[1] = (char *)ref;
            pull_argv[2] = NULL;
        }
        optind = 0;
        r = cmd_image_pull(cli, platform ? 4 : 2, pull_argv, err);
        if (r >= 0)
            r = cz_image_resolve(s, ref, platform ? &plat : NULL, img, err);
    }
    if (platform)
        cz_platform_free(&plat);
    return r;
}

int cli_parse_create(struct cli *cli, int argc, char **argv, const char *usage,
                     cz_container_config *c, bool *detach, char **cidfile, cz_error *err)
{
    struct strv env = {0}, labels = {0}, dns = {0}, publish = {0}, env_args = {0};
    struct strv env_files = {0};
    const char *entrypoint = NULL, *platform = NULL;
    bool entrypoint_set = false;
    memset(c, 0, sizeof(*c));
    c->cpus = 2;
    c->memory_mib = 1024;
    *cidfile = NULL;
    int r = -1;
    int o;
    /* '+': options end at the image name; what follows is the command. */
    while ((o = getopt_long(argc, argv, "+ditre:w:u:v:c:m:l:p:h", run_options, NULL)) != -1) {
        r = -1; /* every failure below that is not a usage error */
        switch (o) {
        case 'd':
            if (!detach) { /* docker's create has no -d: it starts nothing */
                r = cli_usage_error(err, "unknown option '-d, --detach' (create does not start "
                                         "the container; 'container run -d' does)");
                goto out;
            }
            *detach = true;
            break;
        case 'i':
            c->interactive = true;
            break;
        case 't':
            c->tty = true;
            break;
        case OPT_RM:
            c->auto_remove = true;
            break;
        case OPT_NAME:
            free(c->name);
            c->name = cz_xstrdup(optarg);
            break;
        case 'e':
            if (!*optarg || optarg[0] == '=') { /* before anything is pulled */
                r = cli_usage_error(err, "invalid environment variable '%s'", optarg);
                goto out;
            }
            strv_push(&env_args, optarg);
            break;
        case OPT_ENV_FILE: /* read after the flags: docker applies every file, then -e */
            strv_push(&env_files, optarg);
            break;
        case 'w':
            if (optarg[0] != '/') {
                r = cli_usage_error(err, "invalid --workdir '%s': must be absolute", optarg);
                goto out;
            }
            free(c->workdir);
            c->workdir = cz_xstrdup(optarg);
            break;
        case 'u':
            free(c->user);
            c->user = cz_xstrdup(optarg);
            break;
        case OPT_ENTRYPOINT:
            entrypoint = optarg;
            entrypoint_set = true;
            break;
        case 'v':
            if ((r = parse_volume(c, optarg, err)) < 0)
                goto out;
            break;
        case OPT_MOUNT:
            if ((r = parse_mount(c, optarg, err)) < 0)
                goto out;
            break;
        case OPT_TMPFS:
            if ((r = parse_tmpfs(c, optarg, err)) < 0)
                goto out;
            break;
        case 'c':
            if ((r = parse_cpus(optarg, &c->nano_cpus, err)) < 0)
                goto out;
            /* the VM has whole vCPUs: 1.5 gets two */
            c->cpus = (unsigned)((c->nano_cpus + 999999999ull) / 1000000000ull);
            break;
        case 'm': {
            uint64_t bytes;
            if (cz_parse_size(optarg, &bytes, err) < 0) {
                r = cli_usage_error(err, "invalid --memory '%s'", optarg);
                goto out;
            }
            if (bytes < (128ull << 20)) {
                r = cli_usage_error(err, "invalid --memory '%s': at least 128M", optarg);
                goto out;
            }
            c->memory_mib = bytes >> 20;
            break;
        }
        case OPT_STORAGE_OPT: {
            uint64_t bytes;
            if (strncmp(optarg, "size=", 5) != 0) {
                r = cli_usage_error(err, "invalid --storage-opt '%s': only size=SIZE is known",
                                    optarg);
                goto out;
            }
            if (cz_parse_size(optarg + 5, &bytes, err) < 0 || bytes < (64ull << 20) ||
                bytes > (16ull << 40)) {
                r = cli_usage_error(err, "invalid --storage-opt '%s': size from 64M to 16T",
                                    optarg);
                goto out;
            }
            c->disk_bytes = bytes;
            break;
        }
        case OPT_PLATFORM: {
            cz_platform p;
            if (cz_platform_parse(optarg, &p, err) < 0)
                goto out;
            cz_autofree char *what = cz_xasprintf("--platform %s", optarg);
            int runnable = check_runnable(what, &p, err);
            cz_platform_free(&p);
            if (runnable < 0)
                goto out;
            platform = optarg;
            break;
        }
        case OPT_READ_ONLY:
            c->read_only = true;
            break;
        case OPT_INIT:
            c->init = true;
            break;
        case 'l':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                r = cli_usage_error(err, "invalid label '%s': want KEY=VALUE", optarg);
                goto out;
            }
            strv_push(&labels, optarg);
            break;
        case OPT_NETWORK:
            if (strcmp(optarg, "none") && strcmp(optarg, "default")) {
                r = cli_usage_error(err, "invalid --network '%s': none or default", optarg);
                goto out;
            }
            free(c->network);
            c->network = cz_xstrdup(optarg);
            break;
        case 'p':
            if ((r = parse_port(optarg, &publish, err)) < 0)
                goto out;
            break;
        case OPT_DNS: {
            unsigned char buf[16];
            if (inet_pton(AF_INET, optarg, buf) != 1 && inet_pton(AF_INET6, optarg, buf) != 1) {
                r = cli_usage_error(err, "invalid --dns '%s': not an IP address", optarg);
                goto out;
            }
            strv_push(&dns, optarg);
            break;
        }
        case OPT_HOSTNAME:
            if (!valid_hostname(optarg)) {
                r = cli_usage_error(err, "invalid --hostname '%s'", optarg);
                goto out;
            }
            free(c->hostname);
            c->hostname = cz_xstrdup(optarg);
            break;
        case OPT_CIDFILE:
            if (cz_path_exists(optarg)) {
                cz_error_set(err, EEXIST, "container ID file %s already exists", optarg);
                goto out;
            }
            free(*cidfile);
            *cidfile = cz_xstrdup(optarg);
            break;
        case OPT_STOP_SIGNAL: {
            int sig;
            if ((r = cli_parse_signal(optarg, &sig, err)) < 0)
                goto out;
            free(c->stop_signal);
            c->stop_signal = cz_xstrdup(optarg);
            break;
        }
        case OPT_STOP_TIMEOUT:
            if ((r = cli_parse_stop_timeout("--stop-timeout", optarg, &c->stop_timeout, err)) < 0)
                goto out;
            c->stop_timeout_set = true;
            break;
        case OPT_KERNEL:
            if (access(optarg, R_OK) < 0) {
                cz_error_errno(err, errno, "--kernel %s", optarg);
                goto out;
            }
            free(c->kernel);
            c->kernel = realpath(optarg, NULL);
            break;
        case 'h':
            cli_print_usage(usage);
            cli_print_usage(run_flags_usage);
            r = 1;
            goto out;
        default:
            cli_option_error(err, argv[0], "ditre:w:u:v:c:m:l:p:h", run_options, argv);
            r = -2;
            goto out;
        }
    }
    r = -1;
    if (optind >= argc) {
        r = cli_usage_error(err, "an image is required");
        goto out;
    }
    if (!c->network)
        c->network = cz_xstrdup("default");
    if (publish.n && !strcmp(c->network, "none")) {
        r = cli_usage_error(err, "published ports need a network (not --network none)");
        goto out;
    }
    /* every file first, then -e: a -e wins whatever the order on the command line */
    struct strv env_flags = env_args;
    env_args = (struct strv){0};
    for (size_t i = 0; i < env_files.n; i++)
        if (env_file(&env_args, env_files.v[i], err) < 0) {
            strv_clear(&env_flags);
            goto out;
        }
    for (size_t i = 0; i < env_flags.n; i++)
        strv_push(&env_args, env_flags.v[i]);
    strv_clear(&env_flags);
    const char *ref = argv[optind];
    cz_store *s = NULL;
    if (cli_open_store(cli, &s, err) < 0)
        goto out;
    cz_image img;
    if (ensure_image(cli, s, ref, platform, &img, err) < 0) {
        cz_store_close(s);
        goto out;
    }
    cz_store_close(s);
    c->image = cz_xstrdup(ref);
    c->image_digest = cz_xstrdup(img.manifest_desc.digest);
    cz_platform have = {.os = img.config.os, .architecture = img.config.architecture,
                        .variant = img.config.variant};
    c->platform = cz_platform_string(&have);
    cz_platform ran;
    if (img.config.architecture && cz_platform_parse(c->platform, &ran, NULL) == 0) {
        cz_autofree char *what = cz_xasprintf("image %s (%s)", ref, c->platform);
        int runnable = check_runnable(what, &ran, err);
        cz_platform_free(&ran);
        if (runnable < 0) {
            cz_image_free(&img);
            goto out;
        }
    }
    if (!c->stop_signal && img.config.stop_signal && *img.config.stop_signal) {
        int sig;
        cz_error e = {0};
        if (cli_parse_signal(img.config.stop_signal, &sig, &e) == 0)
            c->stop_signal = cz_xstrdup(img.config.stop_signal);
        else /* as docker: a STOPSIGNAL that is no signal leaves SIGTERM */
            cz_warn("image %s: ignoring its STOPSIGNAL: %s", ref, e.msg);
    }
    /* The command: docker's rules for ENTRYPOINT and CMD. */
    struct strv args = {0};
    if (entrypoint_set) {
        if (*entrypoint)
            strv_push(&args, entrypoint);
    } else {
        for (char **p = img.config.entrypoint; p && *p; p++)
            strv_push(&args, *p);
    }
    if (optind + 1 < argc) {
        for (int i = optind + 1; i < argc; i++)
            strv_push(&args, argv[i]);
    } else if (!entrypoint_set) {
        for (char **p = img.config.cmd; p && *p; p++)
            strv_push(&args, *p);
    }
    if (args.n == 0) {
        cz_image_free(&img);
        strv_clear(&args);
        r = entrypoint_set && !*entrypoint
                ? cz_error_set(err, EINVAL, "no command specified: --entrypoint '' cleared %s's "
                               "ENTRYPOINT and CMD; give a command", ref)
                : cz_error_set(err, EINVAL, "no command specified: %s has no CMD or ENTRYPOINT",
                               ref);
        goto out;
    }
    c->args = strv_steal(&args);
    for (char **p = img.config.env; p && *p; p++)
        env_set(&env, *p);
    if (!img.config.env || !img.config.env[0])
        env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (size_t i = 0; i < env_args.n; i++)
        if (env_add_arg(&env, env_args.v[i], err) < 0) {
            cz_image_free(&img);
            goto out;
        }
    if (c->tty)
        env_set(&env, "TERM=xterm");
    c->env = strv_steal(&env);
    if (!c->workdir)
        c->workdir = cz_xstrdup(img.config.working_dir && *img.config.working_dir
                                    ? img.config.working_dir
                                    : "/");
    if (!c->user && img.config.user && *img.config.user)
        c->user = cz_xstrdup(img.config.user);
    c->labels = strv_steal(&labels);
    c->dns = strv_steal(&dns);
    if (publish.n) {
        bool picked;
        c->publish = strv_steal(&publish);
        if (cli_pick_host_ports(c, &picked, err) < 0) {
            cz_image_free(&img);
            goto out;
        }
    }
    cz_image_free(&img);
    r = 0;
out:
    strv_clear(&env);
    strv_clear(&labels);
    strv_clear(&dns);
    strv_clear(&publish);
    strv_clear(&env_args);
    strv_clear(&env_files);
    if (r != 0) {
        cz_container_config_free(c);
        free(*cidfile);
        *cidfile = NULL;
    }
    return r;
}

/* --cidfile: made here, never over an existing file (docker refuses one too). */
static int write_cidfile(const char *path, const char *id, cz_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST
                   ? cz_error_set(err, EEXIST, "container ID file %s already exists", path)
                   : cz_error_errno(err, errno, "container ID file %s", path);
    int r = cz_write_all(fd, id, strlen(id));
    if (r < 0)
        cz_error_errno(err, errno, "write container ID file %s", path);
    if (close(fd) < 0 && r == 0)
        r = cz_error_errno(err, errno, "write container ID file %s", path);
    if (r < 0)
        unlink(path);
    return r;
}

int cli_create_container(struct cli *cli, cz_container_config *c, const char *cidfile,
                         cz_error *err)
{
    /* Ctrl-C (or SIGTERM, SIGHUP) while the container is being made (its record, then its
     * disks: a second or so) waits until it is whole or undone; a --rm container is then
     * removed, and the signal ends us as it would have */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &old);
    int r = 0;
    if (cz_container_create(cli->root, c, err) < 0) {
        r = -1;
    } else if ((cidfile && write_cidfile(cidfile, c->id, err) < 0) ||
               cli_prepare_container(cli, c, err) < 0) {
        cli_discard_container(cli, c, cidfile);
        r = -1;
    }
    sigset_t pending;
    sigpending(&pending);
    bool interrupted = sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
                       sigismember(&pending, SIGHUP);
    if (interrupted && r == 0 && c->auto_remove)
        cli_discard_container(cli, c, cidfile);
    sigprocmask(SIG_SETMASK, &old, NULL); /* a pending signal ends us here */
    if (interrupted && r == 0 && c->auto_remove)
        return cz_error_set(err, EINTR, "interrupted while the container was made");
    return r;
}

void cli_remove_cidfile(const cz_container_config *c, const char *cidfile)
{
    /* only ours: never a file that another hand put there since */
    cz_autofree char *data = NULL;
    size_t len;
    if (cidfile && cz_read_file(cidfile, 128, &data, &len, NULL) == 0 && !strcmp(data, c->id))
        unlink(cidfile);
}

void cli_discard_container(struct cli *cli, const cz_container_config *c, const char *cidfile)
{
    cz_container_remove(cli->root, c->id, NULL);
    cli_remove_cidfile(c, cidfile);
}

static const char create_usage[] = "Usage: container create [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
                                   "Create a container without starting it.\n\nOptions:\n";

static int cmd_create(struct cli *cli, int argc, char **argv, cz_error *err)
{
    cz_container_config c;
    char *cidfile = NULL;
    int r = cli_parse_create(cli, argc, argv, create_usage, &c, NULL, &cidfile, err);
    if (r != 0)
        return r > 0 ? 0 : r == -2 ? r : -125;
    r = cli_create_container(cli, &c, cidfile, err);
    if (r == 0)
        printf("%s\n", c.id);
    free(cidfile);
    cz_container_config_free(&c);
    /* as run: no container came of it, so 125 (docker's "the daemon failed") */
    return r < 0 ? -125 : 0;
}

/* --- ls / inspect / rm / prune -------------------------------------- */

/* A RUNNING record whose runtime is gone is not running: say so, durably. */
void cli_reconcile(struct cli *cli, const cz_container_config *c, cz_container_state *st)
{
    if (st->status != CZ_STATUS_RUNNING || cz_container_runtime_alive(st))
        return;
    st->status = CZ_STATUS_FAILED;
    free(st->error);
    st->error = cz_xstrdup("container-runtime exited unexpectedly");
    st->finished_at = 0;
    st->runtime_pid = 0;
    cz_container_save_state(cli->root, c->id, st, NULL);
    cz_autofree char *run = cz_container_run_dir(c->id);
    cz_rm_rf(run, NULL);
}

/* paused: cz_container_paused of a running container (NULL: not paused) */
static char *status_text(const cz_container_state *st, const char *paused)
{
    char ago[64];
    switch (st->status) {
    case CZ_STATUS_CREATED:
        return cz_xstrdup("Created");
    case CZ_STATUS_RUNNING: {
        cz_format_ago(st->started_at / 1000000000, ago, sizeof(ago));
        return paused ? cz_xasprintf("Up (since %s) (Paused: %s)", ago, paused)
                      : cz_xasprintf("Up (since %s)", ago);
    }
    case CZ_STATUS_STOPPED:
        cz_format_ago(st->finished_at / 1000000000, ago, sizeof(ago));
        return cz_xasprintf("Exited (%d) %s", st->exit_code, ago);
    case CZ_STATUS_FAILED:
        return cz_xasprintf("Failed: %s", st->error ? st->error : "unknown");
    }
    return cz_xstrdup("Unknown");
}

static char *command_text(char **args)
{
    cz_buf b = {0};
    for (char **p = args; p && *p; p++)
        cz_buf_printf(&b, "%s%s", p == args ? "" : " ", *p);
    char *s = cz_buf_steal(&b);
    if (strlen(s) > 30)
        strcpy(s + 27, "...");
    char *q = cz_xasprintf("\"%s\"", s);
    free(s);
    return q;
}

static json_t *strv_json(char **v)
{
    json_t *a = json_array();
    for (char **p = v; p && *p; p++)
        json_array_append_new(a, json_string(*p));
    return a;
}

static json_t *container_json(const cz_container_config *c, const cz_container_state *st,
                              const char *paused)
{
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(c->id));
    json_object_set_new(o, "Name", json_string(c->name));
    json_object_set_new(o, "Created", json_integer(c->created));
    json_object_set_new(o, "Image", json_string(c->image ? c->image : ""));
    json_object_set_new(o, "ImageDigest", json_string(c->image_digest ? c->image_digest : ""));
    json_object_set_new(o, "Platform", json_string(c->platform ? c->platform : ""));
    json_t *cfg = json_object();
    json_object_set_new(cfg, "Cmd", strv_json(c->args));
    json_object_set_new(cfg, "Env", strv_json(c->env));
    json_object_set_new(cfg, "WorkingDir", json_string(c->workdir ? c->workdir : "/"));
    json_object_set_new(cfg, "User", json_string(c->user ? c->user : ""));
    json_object_set_new(cfg, "Hostname", json_string(c->hostname ? c->hostname : ""));
    json_object_set_new(cfg, "Tty", json_boolean(c->tty));
    json_object_set_new(cfg, "OpenStdin", json_boolean(c->interactive));
    json_object_set_new(cfg, "Labels", strv_json(c->labels));
    json_object_set_new(cfg, "Cpus", json_integer(c->cpus));
    json_object_set_new(
        cfg, "NanoCpus",
        json_integer((json_int_t)(c->nano_cpus ? c->nano_cpus : c->cpus * 1000000000ull)));
    json_object_set_new(cfg, "MemoryMiB", json_integer((json_int_t)c->memory_mib));
    json_object_set_new(cfg, "DiskBytes", json_integer((json_int_t)(c->disk_bytes ? c->disk_bytes
                                                                                  : CZ_CONTAINER_DISK_SIZE)));
    json_object_set_new(cfg, "Network", json_string(c->network ? c->network : "default"));
    json_object_set_new(cfg, "Ports", strv_json(c->ports));
    json_object_set_new(cfg, "Publish", strv_json(c->publish ? c->publish : c->ports));
    json_object_set_new(cfg, "Dns", strv_json(c->dns));
    json_object_set_new(cfg, "ReadOnly", json_boolean(c->read_only));
    json_object_set_new(cfg, "Init", json_boolean(c->init));
    json_object_set_new(cfg, "AutoRemove", json_boolean(c->auto_remove));
    json_object_set_new(cfg, "StopSignal",
                        json_string(c->stop_signal ? c->stop_signal : "SIGTERM"));
    json_object_set_new(cfg, "StopTimeout",
                        json_integer(c->stop_timeout_set ? c->stop_timeout : CLI_STOP_TIMEOUT));
    json_t *mounts = json_array();
    for (size_t i = 0; i < c->n_mounts; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "Type", json_string(c->mounts[i].type));
        json_object_set_new(m, "Source", json_string(c->mounts[i].source ? c->mounts[i].source
                                                                          : ""));
        json_object_set_new(m, "Destination", json_string(c->mounts[i].destination));
        json_object_set_new(m, "ReadOnly", json_boolean(c->mounts[i].readonly));
        json_array_append_new(mounts, m);
    }
    json_object_set_new(cfg, "Mounts", mounts);
    json_object_set_new(o, "Config", cfg);
    json_t *s = json_object();
    json_object_set_new(s, "Status", json_string(cz_container_status_name(st->status)));
    json_object_set_new(s, "Running", json_boolean(st->status == CZ_STATUS_RUNNING));
    json_object_set_new(s, "Paused", json_boolean(paused != NULL));
    json_object_set_new(s, "PausedReason", json_string(paused ? paused : ""));
    json_object_set_new(s, "ExitCode", json_integer(st->exit_code));
    json_object_set_new(s, "Error", json_string(st->error ? st->error : ""));
    json_object_set_new(s, "StartedAt", json_integer(st->started_at));
    json_object_set_new(s, "FinishedAt", json_integer(st->finished_at));
    json_object_set_new(s, "RuntimePid", json_integer(st->runtime_pid));
    json_object_set_new(o, "State", s);
    return o;
}

static int cmd_ls(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"format", required_argument, NULL, 'f'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool all = false, quiet = false;
    const char *format = "table";
    int o;
    while ((o = getopt_long(argc, argv, "+aqh", opts, NULL)) != -1) {
        if (o == 'a')
            all = true;
        else if (o == 'q')
            quiet = true;
        else if (o == 'f')
            format = optarg;
        else if (o == 'h')
            return cli_print_usage(
                       "Usage: container ls [OPTIONS]\n\n"
                       "List containers (running ones; -a for all).\n\n"
                       "Options:\n"
                       "  -a, --all             every container, not only running ones\n"
                       "  -q, --quiet           only their IDs (12 hex digits)\n"
                       "      --format F        table (default) or json: an array of\n"
                       "                        what inspect shows for each\n"),
                   0;
        else
            return cli_option_error(err, "ls", "aqh", opts, argv);
    }
    if (strcmp(format, "table") && strcmp(format, "json"))
        return cli_usage_error(err, "ls: --format must be table or json, not '%s'", format);
    char **ids = cz_container_list(cli->root, err);
    if (!ids)
        return -1;
    struct cli_table t;
    const char *headers[] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                             "STATUS",       "PORTS", "NAMES"};
    cli_table_init(&t, 7, headers);
    json_t *arr = json_array();
    for (char **p = ids; *p; p++) {
        cz_container_config c;
        cz_container_state st;
        if (cz_container_load(cli->root, *p, &c, &st, NULL) < 0)
            continue;
        cli_reconcile(cli, &c, &st);
        if (all || st.status == CZ_STATUS_RUNNING) {
            char id[13], ago[64];
            snprintf(id, sizeof(id), "%.12s", c.id);
            cz_format_ago(c.created, ago, sizeof(ago));
            cz_autofree char *cmd = command_text(c.args);
            cz_autofree char *paused =
                st.status == CZ_STATUS_RUNNING ? cz_container_paused(c.id) : NULL;
            cz_autofree char *status = status_text(&st, paused);
            /* as docker: a container's ports are published only while it runs */
            cz_autofree char *ports = ports_text(st.status == CZ_STATUS_RUNNING ? c.ports : NULL);
            const char *row[] = {id, c.image, cmd, ago, status, ports, c.name};
            if (quiet)
                printf("%s\n", id);
            cli_table_add(&t, row);
            json_array_append_new(arr, container_json(&c, &st, paused));
        }
        cz_container_config_free(&c);
        cz_container_state_free(&st);
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
    json_decref(arr);
    cli_table_free(&t);
    cz_strv_free(ids);
    return 0;
}

static int cmd_inspect(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (o == 'h')
            return cli_print_usage("Usage: container inspect CONTAINER...\n\n"
                                   "Show containers' configuration and state as JSON.\n"),
                   0;
        return cli_option_error(err, "inspect", "h", opts, argv);
    }
    if (optind >= argc)
        return cli_usage_error(err, "inspect: a container is required");
    json_t *arr = json_array();
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        cz_container_config c;
        cz_container_state st;
        cz_error e = {0};
        if (cz_container_load(cli->root, argv[i], &c, &st, &e) < 0) {
            fprintf(stderr, "Error: %s\n", e.msg);
            failures++;
            continue;
        }
        cli_reconcile(cli, &c, &st);
        cz_autofree char *paused =
            st.status == CZ_STATUS_RUNNING ? cz_container_paused(c.id) : NULL;
        json_array_append_new(arr, container_json(&c, &st, paused));
        cz_container_config_free(&c);
        cz_container_state_free(&st);
    }
    char *text = json_dumps(arr, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    json_decref(arr);
    if (failures)
        return cz_error_set(err, ENOENT, "%d of %d containers not found", failures,
                            argc - optind);
    return 0;
}

/* Stop a container's supervisor for good (rm -f): it owns the VM and tears it
 * down on SIGTERM; SIGKILL if it does not finish in time. */
static void kill_runtime(const cz_container_state *st)
{
    if (!cz_container_runtime_alive(st))
        return;
    int pidfd = (int)syscall(SYS_pidfd_open, st->runtime_pid, 0);
    if (pidfd < 0)
        return;
    syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
    for (int i = 0; i < 100 && cz_container_runtime_alive(st); i++)
        usleep(50 * 1000);
    if (cz_container_runtime_alive(st))
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    close(pidfd);
}

static int remove_one(struct cli *cli, const char *ref, bool force, cz_error *err)
{
    cz_container_config c;
    cz_container_state st;
    if (cz_container_load(cli->root, ref, &c, &st, err) < 0)
        return -1;
    cli_reconcile(cli, &c, &st);
    int r = 0;
    if (st.status == CZ_STATUS_RUNNING && !force)
        r = cz_error_set(err, EBUSY,
                         "container %s is running: stop it first, or remove it with -f", ref);
    else {
        kill_runtime(&st);
        r = cz_container_remove(cli->root, c.id, err);
        /* a --rm container's runtime removes it itself as it ends: gone is what was asked */
        if (r < 0 && err->code == ENOENT && c.auto_remove) {
            memset(err, 0, sizeof(*err));
            r = 0;
        }
    }
    cz_container_config_free(&c);
    cz_container_state_free(&st);
    return r;
}

static int cmd_rm(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                         {"all", no_argument, NULL, 'a'},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool force = false, all = false;
    int o;
    while ((o = getopt_long(argc, argv, "+fah", opts, NULL)) != -1) {
        if (o == 'f')
            force = true;
        else if (o == 'a')
            all = true;
        else if (o == 'h')
            return cli_print_usage("Usage: container rm [-f] [--all] CONTAINER...\n\n"
                                   "Remove containers.\n\nOptions:\n"
                                   "  -f, --force   stop running containers first\n"
                                   "  -a, --all     every container\n"),
                   0;
        else
            return cli_option_error(err, "rm", "fah", opts, argv);
    }
    if (!all && optind >= argc)
        return cli_usage_error(err, "rm: a container is required (or --all)");
    char **targets = all ? cz_container_list(cli->root, err) : NULL;
    if (all && !targets)
        return -1;
    int failures = 0, total = 0;
    for (char **p = all ? targets : argv + optind; *p; p++) {
        cz_error e = {0};
        total++;
        if (remove_one(cli, *p, force, &e) < 0) {
            fprintf(stderr, "Error: %s\n", e.msg);
            failures++;
        } else {
            printf("%s\n", all ? *p : *p);
        }
    }
    cz_strv_free(targets);
    if (failures)
        return cz_error_set(err, EBUSY, "%d of %d containers not removed", failures, total);
    return 0;
}

static int cmd_prune(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
        if (o == 'f')
            continue;
        if (o == 'h')
            return cli_print_usage(
                       "Usage: container prune [OPTIONS]\n\n"
                       "Remove every container that is not running (created, exited,\n"
                       "failed) and print their IDs.\n\n"
                       "Options:\n"
                       "  -f, --force   accepted for docker's sake: prune never asks\n"),
                   0;
        return cli_option_error(err, "prune", "fh", opts, argv);
    }
    char **ids = cz_container_list(cli->root, err);
    if (!ids)
        return -1;
    int removed = 0;
    for (char **p = ids; *p; p++) {
        cz_container_config c;
        cz_container_state st;
        if (cz_container_load(cli->root, *p, &c, &st, NULL) < 0)
            continue;
        cli_reconcile(cli, &c, &st);
        if (st.status != CZ_STATUS_RUNNING && cz_container_remove(cli->root, c.id, NULL) == 0) {
            printf("%s\n", c.id);
            removed++;
        }
        cz_container_config_free(&c);
        cz_container_state_free(&st);
    }
    cz_strv_free(ids);
    printf("Removed %d container%s\n", removed, removed == 1 ? "" : "s");
    return 0;
}

const struct cli_command cli_container_commands[] = {
    {"create", NULL, "Create a container", cmd_create},
    {"ls", "list", "List containers", cmd_ls},
    {"inspect", NULL, "Show containers as JSON", cmd_inspect},
    {"rm", "remove", "Remove containers", cmd_rm},
    {"prune", NULL, "Remove stopped containers", cmd_prune},
    {NULL, NULL, NULL, NULL},
};
