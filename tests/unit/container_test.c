/* Unit tests of lib/container: records, names, lookup, state. */
#include "unit.h"
#include <cz/container.h>

#include <stdlib.h>
#include <unistd.h>

TEST(create_load_and_names)
{
    cz_error err = {0};
    const char *root = unit_tmpdir();
    char a0[] = "/bin/sh", a1[] = "-c", a2[] = "echo hi", img[] = "alpine";
    char *args[] = {a0, a1, a2, NULL};
    cz_container_config c = {.image = img, .args = args, .cpus = 2, .memory_mib = 512};
    c.name = strdup("web");
    CHECK_OK(cz_container_create(root, &c, &err), &err);
    CHECK_INT(strlen(c.id), 64);
    cz_container_config dup = {.name = strdup("web")};
    CHECK(cz_container_create(root, &dup, &err) < 0);
    CHECK(strstr(err.msg, "already in use") != NULL);
    free(dup.name);
    cz_container_config bad = {.name = strdup("-bad")};
    CHECK(cz_container_create(root, &bad, &err) < 0);
    free(bad.name);
    cz_container_config anon = {0};
    CHECK_OK(cz_container_create(root, &anon, &err), &err);
    CHECK(anon.name && strchr(anon.name, '_'));
    cz_container_config got;
    cz_container_state st;
    CHECK_OK(cz_container_load(root, "web", &got, &st, &err), &err);
    CHECK_STR(got.id, c.id);
    CHECK_STR(got.args[2], "echo hi");
    CHECK_INT(got.cpus, 2);
    CHECK_INT(st.status, CZ_STATUS_CREATED);
    cz_container_config_free(&got);
    cz_container_state_free(&st);
    char prefix[13];
    snprintf(prefix, sizeof(prefix), "%.12s", c.id);
    CHECK_OK(cz_container_load(root, prefix, &got, NULL, &err), &err);
    CHECK_STR(got.name, "web");
    cz_container_config_free(&got);
    CHECK(cz_container_load(root, "nothere", &got, NULL, &err) < 0);
    CHECK(strstr(err.msg, "no such container") != NULL);
    cz_container_state run = {.status = CZ_STATUS_STOPPED, .exit_code = 137,
                              .runtime_pid = getpid()};
    CHECK_OK(cz_container_save_state(root, c.id, &run, &err), &err);
    CHECK_OK(cz_container_load(root, "web", &got, &st, &err), &err);
    CHECK_INT(st.exit_code, 137);
    CHECK(cz_container_runtime_alive(&st));
    cz_container_config_free(&got);
    cz_container_state_free(&st);
    CHECK_OK(cz_container_remove(root, c.id, &err), &err);
    CHECK(cz_container_load(root, "web", &got, NULL, &err) < 0);
    free(c.name);
    free(anon.name);
}
