/* `container stats`: live resource usage of running containers, like docker
 * stats. Each sample is the agent's Stats (the container's cgroup v2 in its VM)
 * plus the VM's /proc/net/dev (the container shares the VM's network) read
 * through the container's runtime; CPU % is the CPU time used between two
 * samples over the wall time between them (100 % = one CPU busy). */
#include "cli.h"

#include <cz/container.h>

#include "agent.pb-c.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATS_TIMEOUT_MS 15000
/* The refresh period of the live view, and the gap between the two samples of
 * --no-stream (the CPU % needs two). */
#define STREAM_INTERVAL_MS 1000
#define ONCE_INTERVAL_MS 500
/* The VM's memory when the container sets none (the runtime's default). */
#define DEFAULT_VM_MIB 256

struct sample {
    bool ok;
    int64_t when_ns; /* monotonic */
    uint64_t cpu_usec;
    uint64_t mem, mem_limit;
    uint64_t pids;
    uint64_t net_rx, net_tx;
    uint64_t blk_read, blk_write;
};

struct target {
    struct cli_guest g;
    bool open;
    bool gone;       /* stopped (or its runtime went away) */
    uint64_t vm_mem; /* MemTotal of the VM, bytes (0: unknown) */
    struct sample prev, cur;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A small guest text file (procfs) through ReadFile; NULL when it fails. */
static char *read_guest_text(struct target *t, const char *path)
{
    return cli_guest_read_text(&t->g, path, 256 << 10, STATS_TIMEOUT_MS);
}

/* Sum of every interface but lo in /proc/net/dev. */
static void parse_net_dev(const char *text, uint64_t *rx, uint64_t *tx)
{
    *rx = *tx = 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        const char *colon = strchr(line, ':');
        if (colon && (!nl || colon < nl)) {
            const char *name = line;
            while (*name == ' ')
                name++;
            bool lo = (size_t)(colon - name) == 2 && !strncmp(name, "lo", 2);
            unsigned long long v[9];
            if (!lo && sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                              &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9) {
                *rx += v[0];
                *tx += v[8];
            }
        }
        line = nl ? nl + 1 : NULL;
    }
}

static uint64_t meminfo_total(const char *text)
{
    const char *p = text ? strstr(text, "MemTotal:") : NULL;
    unsigned long long kb = 0;
    if (p && sscanf(p + 9, "%llu", &kb) == 1)
        return (uint64_t)kb * 1024;
    return 0;
}

/* Take one sample; a container whose runtime no longer answers is gone. */
static void take_sample(struct target *t)
{
    t->prev = t->cur;
    t->cur = (struct sample){0};
    if (t->gone)
        return;
    Cz__Agent__V1__StatsRequest q = CZ__AGENT__V1__STATS_REQUEST__INIT;
    q.container_id = t->g.id;
    ProtobufCMessage *r = NULL;
    cz_error e = {0};
    if (cli_guest_call(&t->g, "Stats", &q.base, &r, STATS_TIMEOUT_MS, &e) < 0) {
        t->gone = true;
        return;
    }
    const Cz__Agent__V1__StatsResponse *s = (const void *)r;
    struct sample *c = &t->cur;
    c->ok = true;
    c->when_ns = mono_ns();
    if (s->cpu)
        c->cpu_usec = s->cpu->usage_usec;
    if (s->memory) {
        /* like docker: the page cache does not count as usage */
        c->mem = s->memory->current > s->memory->file ? s->memory->current - s->memory->file
                                                      : s->memory->current;
        c->mem_limit = s->memory->limit;
    }
    if (s->pids)
        c->pids = s->pids->current;
    for (size_t i = 0; i < s->n_io; i++) {
        c->blk_read += s->io[i]->read_bytes;
        c->blk_write += s->io[i]->write_bytes;
    }
    protobuf_c_message_free_unpacked(r, NULL);
    if (!t->vm_mem) {
        cz_autofree char *mi = read_guest_text(t, "/proc/meminfo");
        t->vm_mem = meminfo_total(mi);
        if (!t->vm_mem)
            t->vm_mem = (t->g.memory_mib ? t->g.memory_mib : DEFAULT_VM_MIB) << 20;
    }
    /* a cgroup limit above the VM's memory means nothing: the VM is the limit */
    if (!c->mem_limit || c->mem_limit > t->vm_mem)
        c->mem_limit = t->vm_mem;
    cz_autofree char *net = read_guest_text(t, "/proc/net/dev");
    if (net)
        parse_net_dev(net, &c->net_rx, &c->net_tx);
}

static double cpu_percent(const struct target *t)
{
    const struct sample *a = &t->prev, *b = &t->cur;
    if (!a->ok || !b->ok || b->when_ns <= a->when_ns || b->cpu_usec < a->cpu_usec)
        return 0.0;
    return (double)(b->cpu_usec - a->cpu_usec) * 1000.0 / (double)(b->when_ns - a->when_ns) * 100.0;
}

static double mem_percent(const struct sample *s)
{
    return s->mem_limit ? (double)s->mem * 100.0 / (double)s->mem_limit : 0.0;
}

/* docker's units: binary for memory ("12.3MiB"), decimal for I/O ("1.2kB"). */
static void fmt_units(uint64_t v, bool binary, char *out, size_t len)
{
    static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    static const char *const dec[] = {"B", "kB", "MB", "GB", "TB"};
    const char *const *u = binary ? bin : dec;
    double step = binary ? 1024.0 : 1000.0, d = (double)v;
    size_t i = 0;
    while (d >= step && i + 1 < CZ_ARRAY_SIZE(bin)) {
        d /= step;
        i++;
    }
    if (i == 0)
        snprintf(out, len, "%" PRIu64 "B", v);
    else
        snprintf(out, len, binary ? "%.4g%s" : "%.3g%s", d, u[i]);
}

static void print_table(struct target *ts, size_t n, bool clear)
{
    struct cli_table tb;
    static const char *const hdr[] = {"CONTAINER ID", "NAME",    "CPU %",     "MEM USAGE / LIMIT",
                                      "MEM %",        "NET I/O", "BLOCK I/O", "PIDS"};
    cli_table_init(&tb, 8, hdr);
    for (size_t i = 0; i < n; i++) {
        struct target *t = &ts[i];
        if (!t->open || !t->cur.ok)
            continue;
        const struct sample *s = &t->cur;
        char id[13], cpu[32], mem[64], memp[32], net[64], blk[64], pids[32];
        char a[24], b[24];
        snprintf(id, sizeof(id), "%.12s", t->g.id);
        snprintf(cpu, sizeof(cpu), "%.2f%%", cpu_percent(t));
        fmt_units(s->mem, true, a, sizeof(a));
        fmt_units(s->mem_limit, true, b, sizeof(b));
        snprintf(mem, sizeof(mem), "%s / %s", a, b);
        snprintf(memp, sizeof(memp), "%.2f%%", mem_percent(s));
        fmt_units(s->net_rx, false, a, sizeof(a));
        fmt_units(s->net_tx, false, b, sizeof(b));
        snprintf(net, sizeof(net), "%s / %s", a, b);
        fmt_units(s->blk_read, false, a, sizeof(a));
        fmt_units(s->blk_write, false, b, sizeof(b));
        snprintf(blk, sizeof(blk), "%s / %s", a, b);
        snprintf(pids, sizeof(pids), "%" PRIu64, s->pids);
        const char *row[] = {id, t->g.name, cpu, mem, memp, net, blk, pids};
        cli_table_add(&tb, row);
    }
    if (clear)
        fputs("\033[2J\033[H", stdout); /* clear the screen, cursor home */
    cli_table_print(&tb);
    cli_table_free(&tb);
    fflush(stdout);
}

/* One JSON object per container and line (numbers in bytes and percent). */
static void print_json(struct target *ts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct target *t = &ts[i];
        if (!t->open || !t->cur.ok)
            continue;
        const struct sample *s = &t->cur;
        json_t *o = json_object();
        json_object_set_new(o, "ID", json_string(t->g.id));
        json_object_set_new(o, "Name", json_string(t->g.name));
        json_object_set_new(o, "CPUPercent", json_real(cpu_percent(t)));
        json_object_set_new(o, "MemoryUsage", json_integer((json_int_t)s->mem));
        json_object_set_new(o, "MemoryLimit", json_integer((json_int_t)s->mem_limit));
        json_object_set_new(o, "MemoryPercent", json_real(mem_percent(s)));
        json_object_set_new(o, "NetRx", json_integer((json_int_t)s->net_rx));
        json_object_set_new(o, "NetTx", json_integer((json_int_t)s->net_tx));
        json_object_set_new(o, "BlockRead", json_integer((json_int_t)s->blk_read));
        json_object_set_new(o, "BlockWrite", json_integer((json_int_t)s->blk_write));
        json_object_set_new(o, "Pids", json_integer((json_int_t)s->pids));
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (text)
            printf("%s\n", text);
        free(text);
    }
    fflush(stdout);
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Sleep ms, waking early on SIGINT/SIGTERM. */
static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char stats_usage[] =
    "Usage: container stats [OPTIONS] [CONTAINER...]\n\n"
    "Show running containers' resource usage (all running containers by default):\n"
    "CPU % (100% = one CPU), memory use and limit (the VM's memory), network and\n"
    "block I/O, processes. Refreshes every second until the containers stop or ^C.\n\n"
    "Options:\n"
    "      --no-stream       print one sample and exit\n"
    "      --format FORMAT   table (default) or json (one object per container and line)\n";

int cmd_stats(struct cli *cli, int argc, char **argv, cz_error *err)
{
    enum { OPT_NO_STREAM = 300, OPT_FORMAT };
    static const struct option opts[] = {{"no-stream", no_argument, NULL, OPT_NO_STREAM},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         CLI_HELP_OPTION,
                                         {NULL, 0, NULL, 0}};
    bool stream = true, json = false;
    int o;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case OPT_NO_STREAM:
            stream = false;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "json"))
                json = true;
            else if (strcmp(optarg, "table"))
                return cli_usage_error(err, "stats: invalid --format '%s' (table or json)", optarg);
            break;
        case 'h':
            cli_print_usage(stats_usage);
            return 0;
        default:
            return cli_option_error(err, "stats", "h", opts, argv);
        }
    }
    /* Which containers: the named ones (each must run), else every running one. */
    char **refs = NULL;
    size_t n = 0;
    bool named = optind < argc;
    if (named) {
        n = (size_t)(argc - optind);
        refs = cz_xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            refs[i] = cz_xstrdup(argv[optind + (int)i]);
    } else {
        refs = cz_container_list(cli->root, err);
        if (!refs)
            return -1;
        while (refs[n])
            n++;
    }
    struct target *ts = cz_xcalloc(n ? n : 1, sizeof(*ts));
    int rc = 0;
    size_t live = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cz_error e = {0};
        if (cli_guest_open(cli, refs[i], &ts[i].g, &e) == 0) {
            ts[i].open = true;
            live++;
        } else if (named) {
            *err = e;
            rc = -1;
        }
    }
    struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool tty = cli_isatty(1);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            if (ts[i].open)
                take_sample(&ts[i]);
        for (int round = 0; !interrupted; round++) {
            pause_ms(round == 0 && !stream ? ONCE_INTERVAL_MS : STREAM_INTERVAL_MS);
            if (interrupted)
                break;
            live = 0;
            for (size_t i = 0; i < n; i++) {
                if (!ts[i].open)
                    continue;
                take_sample(&ts[i]);
                if (ts[i].gone) {
                    cli_guest_close(&ts[i].g);
                    ts[i].open = false;
                } else {
                    live++;
                }
            }
            if (json)
                print_json(ts, n);
            else
                print_table(ts, n, stream && tty);
            if (!stream || !live)
                break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    for (size_t i = 0; i < n; i++) {
        if (ts[i].open)
            cli_guest_close(&ts[i].g);
        free(refs[i]);
    }
    free(refs);
    free(ts);
    return rc;
}
