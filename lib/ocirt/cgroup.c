/* ocirt: a container's cgroup v2: created under a parent with the controllers it
 * needs enabled on the way down, limits written before the process moves in,
 * killed as a whole (cgroup.kill), removed, and read for stats. */
#include "ocirt_internal.h"

#include "base/fs.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

static bool is_cgroup2(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int write_str(const char *dir, const char *file, const char *value, cz_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cz_error_errno(err, errno, "cgroup %s: open %s", dir, file);
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    if (n < 0)
        return cz_error_errno(err, e, "cgroup %s: write %s=%s", dir, file, value);
    return 0;
}

static char *read_small(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    char *data = NULL;
    size_t len;
    cz_error e;
    if (cz_read_file(path, 1 << 20, &data, &len, &e) < 0)
        return NULL;
    return data;
}

static bool word_in(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

int cz_ocirt_cgroup_create(const char *parent, const char *id, const struct cz_ocirt_resources *r,
                           char **out, cz_error *err)
{
    *out = NULL;
    if (cz_mkdir_p(parent, 0755, err) < 0)
        return cz_error_wrap(err, "cgroup parent");
    if (!is_cgroup2(parent))
        return cz_error_set(err, ENOTSUP, "cgroup parent %s is not on a cgroup2 filesystem", parent);

    /* Which controllers: those the limits need (an error when missing), and the
     * ones stats read (enabled when the kernel offers them). */
    const char *wanted[] = {"cpu", "memory", "pids", "io", "cpuset"};
    bool needed[5] = {
        r->cpu_shares >= 0 || r->cpu_quota >= 0 || r->cpu_period >= 0,
        r->memory_limit >= 0 || r->memory_reservation >= 0 || r->memory_swap >= 0,
        r->pids_limit >= 0,
        r->io_weight >= 0,
        r->cpu_cpus || r->cpu_mems,
    };
    for (size_t i = 0; r->unified && r->unified[i]; i += 2)
        for (size_t k = 0; k < 5; k++)
            if (strncmp(r->unified[i], wanted[k], strlen(wanted[k])) == 0 &&
                r->unified[i][strlen(wanted[k])] == '.')
                needed[k] = true;

    /* The chain from the hierarchy's root down to parent. */
    char *chain[64];
    size_t n = 0;
    char *dir = realpath(parent, NULL);
    if (!dir)
        return cz_error_errno(err, errno, "cgroup parent %s", parent);
    chain[n++] = dir;
    while (n < CZ_ARRAY_SIZE(chain)) {
        char *up = cz_dirname(chain[n - 1]);
        if (strcmp(up, chain[n - 1]) == 0 || !is_cgroup2(up) ||
            !cz_path_exists(up) || access(up, F_OK) < 0) {
            free(up);
            break;
        }
        char probe[4096];
        snprintf(probe, sizeof(probe), "%s/cgroup.controllers", up);
        if (!cz_path_exists(probe)) {
            free(up);
            break;
        }
        chain[n++] = up;
    }
    int rc = 0;
    for (size_t i = n; i-- > 0 && rc == 0;) {
        char *avail = read_small(chain[i], "cgroup.controllers");
        for (size_t k = 0; k < 5 && rc == 0; k++) {
            if (!word_in(avail, wanted[k])) {
                if (needed[k])
                    rc = cz_error_set(err, ENOTSUP,
                                      "cgroup %s: the %s controller is not available (cgroup.controllers: "
                                      "%s)",
                                      chain[i], wanted[k], avail && avail[0] != '\n' && avail[0] ? avail : "none\n");
                continue;
            }
            if (k == 4 && !needed[k])
                continue; /* cpuset only when asked: enabling it copies masks around */
            char plus[32];
            snprintf(plus, sizeof(plus), "+%s", wanted[k]);
            cz_error e2;
            if (write_str(chain[i], "cgroup.subtree_control", plus, &e2) < 0 && needed[k])
                rc = cz_error_set(err, e2.code, "%s", e2.msg);
        }
        free(avail);
    }
    if (rc < 0) {
        if (cz_str_has_suffix(err->msg, "\n"))
            err->msg[strlen(err->msg) - 1] = '\0';
    }
    char *path = rc == 0 ? cz_xasprintf("%s/%s", chain[0], id) : NULL;
    for (size_t i = 0; i < n; i++)
        free(chain[i]);
    if (rc < 0)
        return -1;
    if (mkdir(path, 0755) < 0) {
        int e = errno;
        rc = e == EEXIST ? cz_error_set(err, EEXIST, "cgroup %s already exists", path)
                         : cz_error_errno(err, e, "create cgroup %s", path);
        free(path);
        return rc;
    }

    char v[128];
    if (rc == 0 && r->memory_limit >= 0) {
        snprintf(v, sizeof(v), "%" PRId64, r->memory_limit);
        rc = write_str(path, "memory.max", v, err);
    }
    if (rc == 0 && r->memory_reservation >= 0) {
        snprintf(v, sizeof(v), "%" PRId64, r->memory_reservation);
        rc = write_str(path, "memory.low", v, err);
    }
    if (rc == 0 && r->memory_swap != -1 && r->memory_limit >= 0) {
        /* OCI's swap is memory+swap; cgroup v2 counts swap alone. */
        snprintf(v, sizeof(v), "%" PRId64, r->memory_swap - r->memory_limit);
        rc = write_str(path, "memory.swap.max", v, err);
    }
    if (rc == 0 && r->cpu_shares >= 0) {
        /* The conversion runc and crun use: shares 2..262144 -> weight 1..10000. */
        int64_t s = CZ_MAX(r->cpu_shares, 2);
        snprintf(v, sizeof(v), "%" PRId64, 1 + ((s - 2) * 9999) / 262142);
        rc = write_str(path, "cpu.weight", v, err);
    }
    if (rc == 0 && (r->cpu_quota >= 0 || r->cpu_period >= 0)) {
        int64_t period = r->cpu_period > 0 ? r->cpu_period : 100000;
        if (r->cpu_quota > 0)
            snprintf(v, sizeof(v), "%" PRId64 " %" PRId64, r->cpu_quota, period);
        else
            snprintf(v, sizeof(v), "max %" PRId64, period);
        rc = write_str(path, "cpu.max", v, err);
    }
    if (rc == 0 && r->cpu_cpus)
        rc = write_str(path, "cpuset.cpus", r->cpu_cpus, err);
    if (rc == 0 && r->cpu_mems)
        rc = write_str(path, "cpuset.mems", r->cpu_mems, err);
    if (rc == 0 && r->pids_limit >= 0) {
        snprintf(v, sizeof(v), "%" PRId64, r->pids_limit);
        rc = write_str(path, "pids.max", v, err);
    }
    if (rc == 0 && r->io_weight >= 0) {
        snprintf(v, sizeof(v), "default %" PRId64, 1 + (r->io_weight - 10) * 9999 / 990);
        rc = write_str(path, "io.weight", v, err);
    }
    for (size_t i = 0; rc == 0 && r->unified && r->unified[i]; i += 2)
        rc = write_str(path, r->unified[i], r->unified[i + 1], err);
    if (rc < 0) {
        rmdir(path);
        free(path);
        return -1;
    }
    *out = path;
    return 0;
}

int cz_ocirt_cgroup_add_pid(const char *path, pid_t pid, cz_error *err)
{
    char v[32];
    snprintf(v, sizeof(v), "%d", (int)pid);
    return write_str(path, "cgroup.procs", v, err);
}

static bool populated(const char *path)
{
    char *ev = read_small(path, "cgroup.events");
    bool p = !ev || !strstr(ev, "populated 0");
    free(ev);
    return p;
}

int cz_ocirt_cgroup_kill(const char *path, int sig, cz_error *err)
{
    if (sig == SIGKILL) {
        cz_error e2;
        if (write_str(path, "cgroup.kill", "1", &e2) == 0)
            return 0;
    }
    /* Older kernels or another signal: walk cgroup.procs (a few passes, since a
     * process may fork while we walk). */
    for (int pass = 0; pass < (sig == SIGKILL ? 10 : 1); pass++) {
        char *procs = read_small(path, "cgroup.procs");
        if (!procs)
            return cz_error_errno(err, errno, "cgroup %s: read cgroup.procs", path);
        bool any = false;
        for (char *s = procs; *s;) {
            char *end;
            long pid = strtol(s, &end, 10);
            if (end == s)
                break;
            if (pid > 0 && kill((pid_t)pid, sig) == 0)
                any = true;
            s = end;
            while (*s == '\n')
                s++;
        }
        free(procs);
        if (!any)
            break;
    }
    return 0;
}

int cz_ocirt_cgroup_destroy(const char *path, cz_error *err)
{
    if (!cz_path_exists(path))
        return 0;
    for (int i = 0; i < 200; i++) {
        if (!populated(path) && rmdir(path) == 0)
            return 0;
        if (i % 20 == 0)
            cz_ocirt_cgroup_kill(path, SIGKILL, NULL);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rmdir(path) == 0 || errno == ENOENT)
        return 0;
    return cz_error_errno(err, errno, "remove cgroup %s", path);
}

/* "key value" lines: the value of key, 0 when absent. */
static uint64_t keyed(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, key, n) == 0 && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

uint64_t cz_ocirt_cgroup_oom_kills(const char *path)
{
    char *ev = read_small(path, "memory.events");
    uint64_t v = ev ? keyed(ev, "oom_kill") : 0;
    free(ev);
    return v;
}

static uint64_t single(const char *path, const char *file)
{
    char *s = read_small(path, file);
    uint64_t v = s && strncmp(s, "max", 3) != 0 ? strtoull(s, NULL, 10) : 0;
    free(s);
    return v;
}

int cz_ocirt_cgroup_stats(const char *path, struct cz_ocirt_stats *o, cz_error *err)
{
    memset(o, 0, sizeof(*o));
    char *cpu = read_small(path, "cpu.stat");
    if (!cpu)
        return cz_error_errno(err, errno, "cgroup %s: read cpu.stat", path);
    o->cpu_usage_usec = keyed(cpu, "usage_usec");
    o->cpu_user_usec = keyed(cpu, "user_usec");
    o->cpu_system_usec = keyed(cpu, "system_usec");
    o->cpu_nr_periods = keyed(cpu, "nr_periods");
    o->cpu_nr_throttled = keyed(cpu, "nr_throttled");
    o->cpu_throttled_usec = keyed(cpu, "throttled_usec");
    free(cpu);
    o->mem_current = single(path, "memory.current");
    o->mem_limit = single(path, "memory.max");
    o->mem_swap = single(path, "memory.swap.current");
    char *ms = read_small(path, "memory.stat");
    o->mem_anon = keyed(ms, "anon");
    o->mem_file = keyed(ms, "file");
    free(ms);
    char *ev = read_small(path, "memory.events");
    o->mem_high_events = keyed(ev, "high");
    o->mem_max_events = keyed(ev, "max");
    o->mem_oom_events = keyed(ev, "oom");
    o->mem_oom_kill_events = keyed(ev, "oom_kill");
    free(ev);
    o->pids_current = single(path, "pids.current");
    o->pids_limit = single(path, "pids.max");
    char *io = read_small(path, "io.stat");
    for (char *line = io; line && *line && o->n_io < CZ_ARRAY_SIZE(o->io);) {
        struct cz_ocirt_io_stat *d = &o->io[o->n_io];
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (sscanf(line, "%u:%u", &d->major, &d->minor) == 2) {
            char *sp = strchr(line, ' ');
            char *fields = sp ? sp : line;
            char key[32];
            unsigned long long val;
            int used;
            while (sscanf(fields, " %31[a-z]=%llu%n", key, &val, &used) == 2) {
                if (!strcmp(key, "rbytes"))
                    d->rbytes = val;
                else if (!strcmp(key, "wbytes"))
                    d->wbytes = val;
                else if (!strcmp(key, "rios"))
                    d->rios = val;
                else if (!strcmp(key, "wios"))
                    d->wios = val;
                fields += used;
            }
            o->n_io++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(io);
    return 0;
}
