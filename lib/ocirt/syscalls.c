/* ocirt: every raw syscall wrapper in one place, with the numbers older libc
 * headers lack. */
#include "ocirt_internal.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of <linux/sched.h> up to the cgroup field (CLONE_ARGS_SIZE_VER2) */
struct cz_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

int cz_sys_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int cz_sys_pidfd_send_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int cz_sys_pivot_root(const char *new_root, const char *put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

/* fork() with namespace flags: the child runs on a copy of our stack. The
 * argument order differs by architecture but every pointer is NULL here. */
long cz_sys_clone_fork(unsigned long flags)
{
    return syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* The same, with the child born in the cgroup that cgroup_fd names: no migration
 * afterwards, which takes the cgroup threadgroup lock for writing (an RCU grace period:
 * ~30 ms in a TCG guest). -1 with errno ENOSYS/E2BIG/EINVAL where clone3 or
 * CLONE_INTO_CGROUP is missing (before Linux 5.7): the caller then migrates. */
long cz_sys_clone_into_cgroup(unsigned long flags, int cgroup_fd)
{
    struct cz_clone_args a = {.flags = (uint64_t)(flags & ~0xffUL) | CLONE_INTO_CGROUP,
                              .exit_signal = SIGCHLD,
                              .cgroup = (uint64_t)cgroup_fd};
    return syscall(SYS_clone3, &a, sizeof(a));
}

int cz_sys_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable},
        {(uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32)},
    };
    return (int)syscall(SYS_capset, &hdr, data);
}

int cz_sys_close_range(unsigned first, unsigned last, unsigned flags)
{
    return (int)syscall(SYS_close_range, first, last, flags);
}
