/* libFuzzer: the reader of a VM's event channel (lib/vm: cz_vm_event_next and QEMU's
 * event parser), fed whatever the VMM's second QMP socket could carry: lines of JSON or
 * not, events with missing or mistyped members, disk names out of range, a line that
 * never ends. Every event it reports must be well formed: a name, a reason that is a
 * string, a disk index within the disks a VM can have. */
#include <cz/vm.h>

#include "vm/vmm.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 60000) /* within one pipe buffer: written before it is read */
        return 0;
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return 0;
    if (size && write(p[1], data, size) != (ssize_t)size)
        abort();
    close(p[1]);
    cz_vm vm = {.ops = &cz_vmm_qemu, .pid = -1, .pidfd = -1, .control_fd = -1,
                .events_fd = p[0]};
    struct cz_vm_event ev;
    cz_error err = {0};
    int r, n = 0;
    while ((r = cz_vm_event_next(&vm, &ev, &err)) == 1) {
        if (!memchr(ev.name, 0, sizeof(ev.name)) || !memchr(ev.reason, 0, sizeof(ev.reason)) ||
            ev.disk < -1 || ev.disk >= CZ_VM_MAX_DISKS || !ev.name[0])
            abort();
        if (++n > 100000)
            abort();
    }
    if (r == 0) /* the writer is closed: the end is an error, never "nothing yet" */
        abort();
    cz_buf_free(&vm.events_in);
    close(p[0]);
    return 0;
}
