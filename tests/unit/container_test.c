/* Unit tests of lib/container: records, names, lookup, state. */
#include "unit.h"
#include <cz/container.h>

#include <errno.h>
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

#include <jansson.h>

TEST(oci_spec_from_config)
{
    char a0[] = "/bin/sh", a1[] = "-c", a2[] = "id", e0[] = "PATH=/bin", user[] = "1000:50",
         wd[] = "/srv", dst[] = "/data", type[] = "volume", src[] = "vol", tdst[] = "/scratch",
         ttype[] = "tmpfs";
    char *args[] = {a0, a1, a2, NULL};
    char *env[] = {e0, NULL};
    struct cz_mount_spec mounts[] = {{.type = type, .source = src, .destination = dst,
                                      .readonly = true},
                                     {.type = ttype, .destination = tdst}};
    cz_container_config c = {.args = args, .env = env, .user = user, .workdir = wd, .tty = true,
                             .read_only = true, .mounts = mounts, .n_mounts = 2};
    memset(c.id, 'a', 64);
    cz_error err = {0};
    char *text = cz_container_oci_spec(&c, "/run/cz/rootfs", &err);
    CHECK_MSG(text != NULL, "%s", err.msg);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    CHECK(j != NULL);
    json_t *p = json_object_get(j, "process");
    CHECK(json_is_true(json_object_get(p, "terminal")));
    CHECK_STR(json_string_value(json_array_get(json_object_get(p, "args"), 2)), "id");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")), 1000);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(p, "user"), "gid")), 50);
    CHECK_STR(json_string_value(json_object_get(p, "cwd")), "/srv");
    CHECK(json_is_true(json_object_get(json_object_get(j, "root"), "readonly")));
    CHECK_STR(json_string_value(json_object_get(j, "hostname")), "aaaaaaaaaaaa");
    json_t *ms = json_object_get(j, "mounts");
    int found_vol = 0, found_tmp = 0;
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m)
    {
        const char *d = json_string_value(json_object_get(m, "destination"));
        found_vol |= !strcmp(d, "/data") &&
                     !strcmp(json_string_value(json_object_get(m, "source")), "/run/cz/mounts/0");
        found_tmp |= !strcmp(d, "/scratch") &&
                     !strcmp(json_string_value(json_object_get(m, "type")), "tmpfs");
    }
    CHECK(found_vol && found_tmp);
    json_decref(j);
    char name[] = "nginx";
    c.user = name;
    text = cz_container_oci_spec(&c, "/r", &err);
    CHECK(text && strstr(text, "\"io.containerization.user\":\"nginx\""));
    free(text);
    char bad[] = "1000:";
    c.user = bad;
    CHECK(cz_container_oci_spec(&c, "/r", &err) == NULL);
}

TEST(busy_lock)
{
    cz_error err = {0};
    const char *root = unit_tmpdir();
    cz_container_config c = {.name = strdup("busy")};
    CHECK_OK(cz_container_create(root, &c, &err), &err);
    int fd = cz_container_lock_busy(root, &c, "a copy (container cp) is in progress", &err);
    CHECK(fd >= 0);
    /* a second holder (start, another cp) is refused, told why */
    CHECK(cz_container_lock_busy(root, &c, "it is being started", &err) < 0);
    CHECK_INT(err.code, EBUSY);
    CHECK_STR(err.msg, "container busy is busy: a copy (container cp) is in progress");
    /* so is a removal */
    CHECK(cz_container_remove(root, c.id, &err) < 0);
    CHECK_INT(err.code, EBUSY);
    cz_container_config got;
    CHECK_OK(cz_container_load(root, "busy", &got, NULL, &err), &err);
    cz_container_config_free(&got);
    close(fd);
    /* released: the removal goes through, and the lock then finds no container */
    CHECK_OK(cz_container_remove(root, c.id, &err), &err);
    CHECK(cz_container_lock_busy(root, &c, "x", &err) < 0);
    CHECK_INT(err.code, ENOENT);
    cz_container_config_free(&c);
}

TEST(port_binding_parse)
{
    struct cz_port_binding b;
    CHECK(cz_port_binding_parse("127.0.0.1:8080:80/tcp", &b));
    CHECK_STR(b.addr, "127.0.0.1");
    CHECK_INT(b.host, 8080);
    CHECK_INT(b.container, 80);
    CHECK(!b.udp);
    CHECK(cz_port_binding_parse("0.0.0.0::53/udp", &b)); /* the host port still to pick */
    CHECK_STR(b.addr, "0.0.0.0");
    CHECK_INT(b.host, 0);
    CHECK_INT(b.container, 53);
    CHECK(b.udp);
    CHECK(cz_port_binding_parse("9000:90", &b)); /* an older record */
    CHECK_STR(b.addr, "127.0.0.1");
    CHECK_INT(b.host, 9000);
    CHECK_INT(b.container, 90);
    CHECK(!b.udp);
    CHECK(cz_port_binding_parse("127.0.0.2:1:2/udp", &b) && b.udp && b.host == 1);
    CHECK(!cz_port_binding_parse("", &b));
    CHECK(!cz_port_binding_parse("80", &b));
    CHECK(!cz_port_binding_parse("1.2.3.4:80:0/tcp", &b));
    CHECK(!cz_port_binding_parse("1.2.3.4:80:70000/tcp", &b));
    CHECK(!cz_port_binding_parse("1.2.3.4:70000:80/tcp", &b));
    CHECK(!cz_port_binding_parse("1.2.3.4:80:80/sctp", &b));
    CHECK(!cz_port_binding_parse("1.2.3.4:80:80/tcpx", &b));
    CHECK(!cz_port_binding_parse("1.2.3.4:80:80 ", &b));
    CHECK(!cz_port_binding_parse("999.0.0.1:80:80/tcp", &b));
}
