/* ocirt: compile linux.seccomp with libseccomp in the parent (so errors show up
 * at create, and the child allocates nothing), export the BPF program, and load
 * it in the child with one syscall just before execve. */
#include "ocirt_internal.h"

#include "base/util.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int cz_ocirt_seccomp_compile(const struct cz_ocirt_seccomp *s, struct cz_ocirt_filter *out,
                             cz_error *err)
{
    memset(out, 0, sizeof(*out));
    scmp_filter_ctx ctx = seccomp_init(s->default_action);
    if (!ctx)
        return cz_error_set(err, EINVAL, "seccomp: cannot create a filter");
    int r = 0;
    /* We set no_new_privs ourselves, as the spec says. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    for (size_t i = 0; i < s->n_archs && r == 0; i++) {
        int a = seccomp_arch_add(ctx, s->archs[i]);
        if (a < 0 && a != -EEXIST)
            r = cz_error_errno(err, -a, "seccomp: architecture %zu", i);
    }
    for (size_t i = 0; i < s->n_rules && r == 0; i++) {
        const struct cz_ocirt_seccomp_rule *rule = &s->rules[i];
        if (rule->action == s->default_action)
            continue; /* libseccomp refuses a rule that changes nothing */
        struct scmp_arg_cmp cmp[6];
        for (size_t k = 0; k < rule->n_args; k++)
            cmp[k] = (struct scmp_arg_cmp){rule->args[k].index, (enum scmp_compare)rule->args[k].op,
                                           rule->args[k].value, rule->args[k].value_two};
        for (char **name = rule->names; *name && r == 0; name++) {
            int nr = seccomp_syscall_resolve_name(*name);
            if (nr == __NR_SCMP_ERROR)
                continue; /* profiles list syscalls of other kernels and architectures */
            int a = seccomp_rule_add_array(ctx, rule->action, nr, (unsigned)rule->n_args, cmp);
            if (a < 0)
                r = cz_error_errno(err, -a, "seccomp: rule for %s", *name);
        }
    }
    if (r == 0) {
        int fd = memfd_create("cz-seccomp", MFD_CLOEXEC);
        if (fd < 0)
            r = cz_error_errno(err, errno, "seccomp: memfd");
        else {
            int e = seccomp_export_bpf(ctx, fd);
            struct stat st;
            if (e < 0)
                r = cz_error_errno(err, -e, "seccomp: export the filter");
            else if (fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter) ||
                     st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                r = cz_error_set(err, E2BIG, "seccomp: the filter is empty or longer than %d instructions",
                                 BPF_MAXINSNS);
            else {
                out->insns = cz_xmalloc((size_t)st.st_size);
                if (pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
                    free(out->insns);
                    out->insns = NULL;
                    r = cz_error_errno(err, errno ? errno : EIO, "seccomp: read the filter back");
                } else
                    out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
            }
            close(fd);
        }
    }
    seccomp_release(ctx);
    out->log_flag = s->log_flag;
    return r;
}

int cz_ocirt_seccomp_load(const struct cz_ocirt_filter *f)
{
    struct sock_fprog prog = {.len = f->len, .filter = f->insns};
    unsigned flags = f->log_flag ? SECCOMP_FILTER_FLAG_LOG : 0;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) == 0)
        return 0;
    if (flags == 0 && errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
        return 0;
    return -errno;
}
