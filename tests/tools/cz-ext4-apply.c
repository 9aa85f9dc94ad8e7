/* cz-ext4-apply OUT.ext4 [--size BYTES] [--journal] LAYER...: layers (tar, tar.gz,
 * tar.zst files) applied in order into a new ext4 image through lib/ext4, for
 * tests that judge the result with e2fsck and the kernel. Prints the one-line
 * error and exits 1 on bad input. */
#include <cz/ext4.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cz-ext4-apply OUT.ext4 [--size BYTES] [--journal] LAYER...\n");
        return 2;
    }
    struct cz_ext4_options o = {0};
    int i = 2;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc)
            o.size_bytes = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--journal"))
            o.journal = true;
        else
            return fprintf(stderr, "unknown option %s\n", argv[i]), 2;
    }
    cz_error err = {0};
    cz_ext4 *w;
    if (cz_ext4_open(argv[1], &o, &w, &err) < 0)
        return fprintf(stderr, "%s\n", err.msg), 1;
    for (size_t k = 0; i < argc; i++, k++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            perror(argv[i]);
            cz_ext4_abort(w);
            return 1;
        }
        int r = cz_ext4_apply_layer_fd(w, fd, argv[i], k, NULL, NULL, &err);
        close(fd);
        if (r < 0) {
            fprintf(stderr, "%s\n", err.msg);
            cz_ext4_abort(w);
            return 1;
        }
    }
    if (cz_ext4_finish(w, &err) < 0)
        return fprintf(stderr, "%s\n", err.msg), 1;
    return 0;
}
