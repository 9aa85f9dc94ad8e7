/* libFuzzer: `image load` of arbitrary bytes as an archive into a scratch
 * store. Whatever happens, the store must stay a valid layout: every blob's
 * name is its content's digest and nothing is left in the ingest directory. */
#include <cz/content.h>
#include <cz/image.h>

#include "base/fs.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

/* The scratch store goes with the process (a corpus replay in make check exits normally). */
static void remove_root(void)
{
    cz_rm_rf(root, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        snprintf(root, sizeof(root), "/tmp/cz-fuzz-load-XXXXXX");
        if (!mkdtemp(root))
            abort();
        atexit(remove_root);
    }
    char in[128];
    snprintf(in, sizeof(in), "%s/input.tar", root);
    FILE *f = fopen(in, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    cz_store *s;
    cz_error err;
    if (cz_store_open(root, &s, &err) < 0)
        abort();
    cz_image_load(s, in, NULL, NULL, &err);
    char ingest[128];
    snprintf(ingest, sizeof(ingest), "%s/tmp/ingest", root);
    DIR *d = opendir(ingest);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            abort(); /* a temp file survived */
    if (d)
        closedir(d);
    cz_store_gc(s, NULL, NULL, &err);
    cz_store_close(s);
    return 0;
}
