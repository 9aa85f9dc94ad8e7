/* Arbitrary bytes as an OCI layer applied to an ext4 image: no crash, no
 * leak, and a clear error or a finished image (the image itself is checked by
 * e2fsck in tests/integration/ext4_fuzz_fsck.sh over the seed corpus). */
#include <cz/ext4.h>

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/cz-ext4-fuzz-%d.ext4", (int)getpid());
    cz_error err = {0};
    struct cz_ext4_options o = {0};
    cz_ext4 *w;
    if (cz_ext4_open(path, &o, &w, &err) < 0)
        return 0;
    if (cz_ext4_apply_layer_mem(w, data, size, "sha256:fuzz", 0, &err) < 0) {
        cz_ext4_abort(w);
        return 0;
    }
    if (cz_ext4_finish(w, &err) == 0)
        unlink(path);
    return 0;
}
