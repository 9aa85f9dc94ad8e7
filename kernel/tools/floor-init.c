/* floor-init: the smallest useful PID 1, for measuring the boot floor. It prints one line
 * on the console and reboots at once; QEMU runs with -no-reboot, so the reboot ends QEMU.
 * (Without ACPI there is no power-off device: RB_POWER_OFF would only halt the CPUs and
 * QEMU would keep running, so reboot(RB_AUTOBOOT) with reboot=t is how this guest stops.) */
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
    static const char line[] = "cz-floor-init: hello from init\n";
    /* The kernel opened /dev/console as fds 0-2 for us (the initramfs carries the node). */
    if (write(STDOUT_FILENO, line, strlen(line)) < 0) {
        /* nothing to report to: still stop the VM */
    }
    sync();
    reboot(RB_AUTOBOOT);
    /* PID 1 must never exit: the kernel would panic. */
    for (;;)
        pause();
}
