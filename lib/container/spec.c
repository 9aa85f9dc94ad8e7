/* The OCI runtime spec a container's process gets inside its VM, derived from
 * the container's configuration. The VM is the isolation boundary, so the
 * container shares the VM's network namespace (its eth0 is the container's)
 * and gets docker's default capabilities, masked and read-only paths. */
#include <cz/container.h>

#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>

/* docker's default capability set */
static const char *default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE",     "CAP_FSETID",       "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",          "CAP_SETUID",       "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE",
};

static const char *masked_paths[] = {
    "/proc/asound",        "/proc/acpi",        "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list",  "/proc/timer_stats",
    "/proc/sched_debug",   "/proc/scsi",        "/sys/firmware",
};

static const char *readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                       "/proc/sysrq-trigger"};

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *strv_array(char **v)
{
    json_t *a = json_array();
    for (char **p = v; p && *p; p++)
        json_array_append_new(a, json_string(*p));
    return a;
}

static json_t *mount(const char *dst, const char *type, const char *src, const char *const *opts,
                     size_t nopts)
{
    json_t *m = json_object();
    json_object_set_new(m, "destination", json_string(dst));
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "source", json_string(src));
    json_object_set_new(m, "options", str_array(opts, nopts));
    return m;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* "uid[:gid]" numeric goes in process.user; names are resolved in the guest
 * against the container's /etc/passwd and /etc/group (annotation). */
static int user_json(const char *user, json_t *process, json_t *annotations, cz_error *err)
{
    json_t *u = json_object();
    json_object_set_new(u, "uid", json_integer(0));
    json_object_set_new(u, "gid", json_integer(0));
    json_object_set_new(process, "user", u);
    if (!user || !*user)
        return 0;
    cz_autofree char *copy = cz_xstrdup(user);
    char *group = strchr(copy, ':');
    if (group)
        *group++ = '\0';
    if (!*copy || (group && !*group))
        return cz_error_set(err, EINVAL, "invalid user '%s'", user);
    if (all_digits(copy) && (!group || all_digits(group))) {
        unsigned long uid = strtoul(copy, NULL, 10);
        unsigned long gid = group ? strtoul(group, NULL, 10) : uid;
        if (uid > 0xfffffffeul || gid > 0xfffffffeul)
            return cz_error_set(err, EINVAL, "invalid user '%s': id out of range", user);
        json_object_set_new(u, "uid", json_integer((json_int_t)uid));
        json_object_set_new(u, "gid", json_integer((json_int_t)gid));
        if (!group) /* gid from /etc/passwd when the user exists there */
            json_object_set_new(annotations, "io.containerization.user", json_string(user));
        return 0;
    }
    json_object_set_new(annotations, "io.containerization.user", json_string(user));
    return 0;
}

char *cz_container_oci_spec(const cz_container_config *c, const char *rootfs, cz_error *err)
{
    json_t *spec = json_object();
    json_t *annotations = json_object();
    json_object_set_new(spec, "ociVersion", json_string("1.0.2"));
    json_t *process = json_object();
    json_object_set_new(process, "terminal", json_boolean(c->tty));
    json_object_set_new(process, "args", strv_array(c->args));
    json_object_set_new(process, "env", strv_array(c->env));
    json_object_set_new(process, "cwd", json_string(c->workdir ? c->workdir : "/"));
    if (user_json(c->user, process, annotations, err) < 0) {
        json_decref(spec);
        json_decref(annotations);
        json_decref(process);
        return NULL;
    }
    json_t *caps = json_object();
    size_t ncaps = CZ_ARRAY_SIZE(default_caps);
    json_object_set_new(caps, "bounding", str_array(default_caps, ncaps));
    json_object_set_new(caps, "effective", str_array(default_caps, ncaps));
    json_object_set_new(caps, "permitted", str_array(default_caps, ncaps));
    json_object_set_new(caps, "inheritable", json_array());
    json_object_set_new(caps, "ambient", json_array());
    json_object_set_new(process, "capabilities", caps);
    json_t *rl = json_object();
    json_object_set_new(rl, "type", json_string("RLIMIT_NOFILE"));
    json_object_set_new(rl, "hard", json_integer(1048576));
    json_object_set_new(rl, "soft", json_integer(1048576));
    json_t *rlimits = json_array();
    json_array_append_new(rlimits, rl);
    json_object_set_new(process, "rlimits", rlimits);
    json_object_set_new(process, "noNewPrivileges", json_false());
    json_object_set_new(spec, "process", process);

    json_t *root = json_object();
    json_object_set_new(root, "path", json_string(rootfs));
    json_object_set_new(root, "readonly", json_boolean(c->read_only));
    json_object_set_new(spec, "root", root);
    char hostname[64];
    snprintf(hostname, sizeof(hostname), "%.12s", c->id);
    json_object_set_new(spec, "hostname", json_string(c->hostname ? c->hostname : hostname));

    json_t *mounts = json_array();
    static const char *proc_o[] = {"nosuid", "noexec", "nodev"};
    static const char *dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
    static const char *pts_o[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                  "gid=5"};
    static const char *shm_o[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"};
    static const char *mq_o[] = {"nosuid", "noexec", "nodev"};
    static const char *sys_o[] = {"nosuid", "noexec", "nodev", "ro"};
    static const char *cg_o[] = {"nosuid", "noexec", "nodev", "relatime", "ro"};
    json_array_append_new(mounts, mount("/proc", "proc", "proc", proc_o, 3));
    json_array_append_new(mounts, mount("/dev", "tmpfs", "tmpfs", dev_o, 4));
    json_array_append_new(mounts, mount("/dev/pts", "devpts", "devpts", pts_o, 6));
    json_array_append_new(mounts, mount("/dev/shm", "tmpfs", "shm", shm_o, 5));
    json_array_append_new(mounts, mount("/dev/mqueue", "mqueue", "mqueue", mq_o, 3));
    json_array_append_new(mounts, mount("/sys", "sysfs", "sysfs", sys_o, 4));
    json_array_append_new(mounts, mount("/sys/fs/cgroup", "cgroup2", "cgroup", cg_o, 5));
    /* The VM's resolv.conf, hosts and hostname, written by the agent. */
    static const char *bind_ro[] = {"rbind", "rprivate", "ro"};
    static const char *bind_rw[] = {"rbind", "rprivate"};
    json_array_append_new(mounts, mount("/etc/resolv.conf", "bind", "/run/cz/etc/resolv.conf",
                                        bind_rw, 2));
    json_array_append_new(mounts, mount("/etc/hosts", "bind", "/run/cz/etc/hosts", bind_rw, 2));
    json_array_append_new(mounts,
                          mount("/etc/hostname", "bind", "/run/cz/etc/hostname", bind_rw, 2));
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct cz_mount_spec *m = &c->mounts[i];
        if (!strcmp(m->type, "tmpfs")) {
            /* docker's defaults, then what the user gave (a later option wins; the CLI
             * allows at most 32) */
            const char *tmp_o[64] = {"nosuid", "nodev", "mode=1777"};
            size_t n = 3;
            cz_autofree char *opts = m->options ? cz_xstrdup(m->options) : NULL;
            char *save = NULL;
            for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o && n < CZ_ARRAY_SIZE(tmp_o);
                 o = strtok_r(NULL, ",", &save))
                tmp_o[n++] = o;
            if (m->readonly && n < CZ_ARRAY_SIZE(tmp_o))
                tmp_o[n++] = "ro";
            json_array_append_new(mounts, mount(m->destination, "tmpfs", "tmpfs", tmp_o, n));
            continue;
        }
        /* Volumes and binds reach the guest as disks or 9p shares mounted by
         * the agent under /run/cz/mounts/<n>; the container gets a bind. */
        cz_autofree char *src = cz_xasprintf("/run/cz/mounts/%zu", i);
        struct stat st;
        if (!strcmp(m->type, "bind") && m->source && stat(m->source, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            /* a file comes as the one entry of its share (lib/vm), under its own name */
            const char *slash = strrchr(m->source, '/');
            free(src);
            src = cz_xasprintf("/run/cz/mounts/%zu/%s", i, slash ? slash + 1 : m->source);
        }
        json_array_append_new(mounts, mount(m->destination, "bind", src,
                                            m->readonly ? bind_ro : bind_rw, m->readonly ? 3 : 2));
    }
    json_object_set_new(spec, "mounts", mounts);

    json_t *linux_ = json_object();
    json_t *ns = json_array();
    static const char *nss[] = {"pid", "ipc", "uts", "mount", "cgroup"};
    for (size_t i = 0; i < CZ_ARRAY_SIZE(nss); i++) {
        json_t *n = json_object();
        json_object_set_new(n, "type", json_string(nss[i]));
        json_array_append_new(ns, n);
    }
    json_object_set_new(linux_, "namespaces", ns);
    json_object_set_new(linux_, "maskedPaths", str_array(masked_paths, CZ_ARRAY_SIZE(masked_paths)));
    json_object_set_new(linux_, "readonlyPaths",
                        str_array(readonly_paths, CZ_ARRAY_SIZE(readonly_paths)));
    json_object_set_new(spec, "linux", linux_);
    if (c->init)
        json_object_set_new(annotations, "io.containerization.init", json_string("true"));
    json_object_set_new(spec, "annotations", annotations);
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    if (!text)
        cz_error_set(err, ENOMEM, "serialize the runtime spec");
    return text;
}
