/* Unit tests of lib/vm that need no VM: validation and the QEMU command line. */
#include "unit.h"
#include <cz/vm.h>

#include "vm/vmm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **argv_for(const struct cz_vm_config *c, enum cz_accel a)
{
    cz_error err = {0};
    return cz_vm_argv(c, a, &err);
}

static int has_arg(char **v, const char *want)
{
    for (int i = 0; v && v[i]; i++)
        if (strstr(v[i], want))
            return 1;
    return 0;
}

static void free_argv(char **v)
{
    for (int i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

TEST(validate_catches_bad_configs)
{
    char k[256], d[256];
    snprintf(k, sizeof(k), "%s/vmlinux", unit_tmpdir());
    snprintf(d, sizeof(d), "%s/disk.img", unit_tmpdir());
    touch(k);
    touch(d);
    struct cz_vm_disk disk = {.path = d, .readonly = true};
    struct cz_vm_config c = {.kernel = k, .cpus = 1, .memory_mib = 256, .run_dir = unit_tmpdir(),
                             .disks = &disk, .n_disks = 1, .accel = CZ_ACCEL_TCG};
    cz_error err = {0};
    CHECK_OK(cz_vm_config_validate(&c, &err), &err);
    c.cpus = 0;
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "CPUs") != NULL);
    c.cpus = 2;
    c.memory_mib = 16;
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "memory") != NULL);
    c.memory_mib = 256;
    c.kernel = "/nonexistent/vmlinux";
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "kernel /nonexistent/vmlinux") != NULL);
    c.kernel = k;
    c.qemu = "no-such-qemu-binary";
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "not found") != NULL);
    c.qemu = NULL;
    struct cz_vm_disk bad = {.path = "/tmp/a,b", .readonly = true};
    c.disks = &bad;
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    c.disks = &disk;
    struct cz_vm_port port = {.host_port = 8080, .guest_port = 80};
    c.net.kind = CZ_VM_NET_NONE;
    c.net.ports = &port;
    c.net.n_ports = 1;
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "user-mode") != NULL);
}

TEST(qemu_argv_has_the_fast_boot_shape)
{
    struct cz_vm_disk disks[] = {{.path = "/img/ro.ext4", .readonly = true},
                                 {.path = "/img/rw.ext4", .readonly = false}};
    struct cz_vm_share share = {.tag = "vol0", .path = "/srv/data", .readonly = true};
    struct cz_vm_port port = {.host_port = 8080, .guest_port = 80};
    struct cz_vm_config c = {.name = "c1", .kernel = "/k/vmlinux", .initrd = "/k/init.cpio",
                             .cpus = 2, .memory_mib = 512, .run_dir = "/run/cz/c1",
                             .disks = disks, .n_disks = 2, .shares = &share, .n_shares = 1,
                             .console_log = "/var/log/c1.console",
                             .net = {.kind = CZ_VM_NET_USER, .ports = &port, .n_ports = 1}};
    char **v = argv_for(&c, CZ_ACCEL_TCG);
    CHECK(v != NULL);
    CHECK(has_arg(v, "microvm,x-option-roms=off,acpi=off"));
    CHECK(has_arg(v, "tcg"));
    CHECK(has_arg(v, "noapictimer"));
    CHECK(has_arg(v, "max,-erms,-fsrm")); /* rep movsb is slow under TCG */
    CHECK(has_arg(v, "file=/img/ro.ext4,format=raw,if=none,cache=unsafe,readonly=on"));
    CHECK(has_arg(v, "file=/img/rw.ext4,format=raw,if=none,cache=writeback"));
    CHECK(has_arg(v, "virtio-9p-device,fsdev=fs0,mount_tag=vol0"));
    CHECK(has_arg(v, "hostfwd=tcp:127.0.0.1:8080-:80"));
    CHECK(has_arg(v, "virtserialport,chardev=agent,name=cz.agent"));
    CHECK(has_arg(v, "path=/run/cz/c1/agent.sock"));
    CHECK(has_arg(v, "unix:/run/cz/c1/qmp.sock"));
    CHECK(has_arg(v, "file,id=console,path=/var/log/c1.console"));
    free_argv(v);
    v = argv_for(&c, CZ_ACCEL_KVM);
    CHECK(has_arg(v, "kvm"));
    CHECK(!has_arg(v, "noapictimer"));
    free_argv(v);
    c.vsock = true;
    c.vsock_cid = 7;
    v = argv_for(&c, CZ_ACCEL_KVM);
    CHECK(has_arg(v, "vhost-vsock-device,guest-cid=7"));
    CHECK(!has_arg(v, "virtserialport"));
    free_argv(v);
}

/* Free page reporting is on in every VM (docs/vm.md). */
TEST(qemu_argv_has_free_page_reporting)
{
    struct cz_vm_config c = {.name = "c1", .kernel = "/k/vmlinux", .cpus = 1, .memory_mib = 128,
                             .run_dir = "/run/cz/c1"};
    char **v = argv_for(&c, CZ_ACCEL_TCG);
    CHECK(has_arg(v, "virtio-balloon-device,free-page-reporting=on"));
    free_argv(v);
}

/* A regular file is shared as the one entry of RUN_DIR/share-TAG; a directory as itself;
 * anything else is refused before QEMU starts. */
TEST(file_shares_go_through_a_directory_of_their_own)
{
    char dir[] = "/tmp/cz-vm-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[64];
    snprintf(file, sizeof(file), "%s/app.conf", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    struct cz_vm_share shares[] = {{.tag = "m0", .path = file, .readonly = true},
                                   {.tag = "m1", .path = dir}};
    struct cz_vm_config c = {.name = "c1", .kernel = "/k/vmlinux", .cpus = 1, .memory_mib = 128,
                             .run_dir = "/run/cz/c1", .shares = shares, .n_shares = 2};
    char **v = argv_for(&c, CZ_ACCEL_TCG);
    CHECK(has_arg(v, "local,id=fs0,path=/run/cz/c1/share-m0,security_model=none,readonly=on"));
    char want[128];
    snprintf(want, sizeof(want), "local,id=fs1,path=%s,security_model=none", dir);
    CHECK(has_arg(v, want));
    free_argv(v);
    cz_error err = {0};
    struct cz_vm_share dev = {.tag = "m0", .path = "/dev/null"};
    c.kernel = file; /* a readable file, so that the share is what fails */
    c.shares = &dev;
    c.n_shares = 1;
    CHECK(cz_vm_config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "neither a directory nor a regular file") != NULL);
    unlink(file);
    rmdir(dir);
}

/* kernel/cmdline.txt documents the command line word by word; lib/vm must build exactly
 * those words (tsc_early_khz=HOST and lpj=HOST stand for values from the host's TSC). */
TEST(default_cmdline_matches_kernel_cmdline_txt)
{
    const char *src = getenv("CZ_SRC");
    char path[4096];
    snprintf(path, sizeof(path), "%s/kernel/cmdline.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char *cmdline = cz_vm_default_cmdline(CZ_ACCEL_TCG);
    char documented[1024] = "";
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char word[256];
        if (line[0] == '#' || sscanf(line, "%255s", word) != 1)
            continue;
        strncat(documented, " ", sizeof(documented) - strlen(documented) - 1);
        strncat(documented, word, sizeof(documented) - strlen(documented) - 1);
    }
    fclose(f);
    /* Compare word by word with HOST replaced by the number lib/vm put there. */
    char built[1024];
    snprintf(built, sizeof(built), " %s", cmdline);
    static const char *const host_words[] = {"tsc_early_khz=", " lpj="};
    for (size_t w = 0; w < 2; w++) {
        char *at = strstr(built, host_words[w]);
        if (!at)
            continue;
        char *end = at + strlen(host_words[w]);
        size_t digits = strspn(end, "0123456789");
        memmove(end + 4, end + digits, strlen(end + digits) + 1);
        memcpy(end, "HOST", 4);
    }
    CHECK_STR(built, documented);
    free(cmdline);
}

/* A template key: the same for VMs the guest cannot tell apart (names, published ports,
 * disk paths), another for anything the guest sees (memory, CPUs, a disk's size or
 * read-only flag, the network kind); none with vsock or a tap device. */
TEST(template_key_follows_what_the_guest_sees)
{
    char k[256], d1[256], d2[256], d3[256];
    snprintf(k, sizeof(k), "%s/tk-vmlinux", unit_tmpdir());
    snprintf(d1, sizeof(d1), "%s/tk-a.img", unit_tmpdir());
    snprintf(d2, sizeof(d2), "%s/tk-b.img", unit_tmpdir());
    snprintf(d3, sizeof(d3), "%s/tk-c.img", unit_tmpdir());
    touch(k);
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(i == 0 ? d1 : i == 1 ? d2 : d3, "w");
        CHECK(f != NULL);
        if (f) {
            fseek(f, i == 2 ? 8192 : 4096, SEEK_SET);
            fputc(0, f);
            fclose(f);
        }
    }
    struct cz_vm_disk disks[1] = {{.path = d1, .readonly = true}};
    struct cz_vm_port port = {.host_port = 8080, .guest_port = 80};
    struct cz_vm_config c = {.name = "one",
                             .kernel = k,
                             .cpus = 1,
                             .memory_mib = 256,
                             .run_dir = unit_tmpdir(),
                             .disks = disks,
                             .n_disks = 1,
                             .accel = CZ_ACCEL_TCG,
                             .net = {.kind = CZ_VM_NET_USER}};
    cz_error err = {0};
    char *base = cz_vm_template_key(&c, CZ_ACCEL_TCG, &err);
    CHECK(base != NULL && strlen(base) == 32);
    struct cz_vm_config o = c;
    o.name = "two";
    o.net.ports = &port;
    o.net.n_ports = 1;
    o.console_log = "/somewhere/console.log";
    struct cz_vm_disk same_size[1] = {{.path = d2, .readonly = true}};
    o.disks = same_size;
    char *key = cz_vm_template_key(&o, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) == 0);
    free(key);

    struct cz_vm_config m = c;
    m.memory_mib = 512;
    key = cz_vm_template_key(&m, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) != 0);
    free(key);
    m = c;
    m.cpus = 2;
    key = cz_vm_template_key(&m, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) != 0);
    free(key);
    struct cz_vm_disk bigger[1] = {{.path = d3, .readonly = true}};
    m = c;
    m.disks = bigger;
    key = cz_vm_template_key(&m, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) != 0);
    free(key);
    struct cz_vm_disk writable[1] = {{.path = d1, .readonly = false}};
    m = c;
    m.disks = writable;
    key = cz_vm_template_key(&m, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) != 0);
    free(key);
    m = c;
    m.net.kind = CZ_VM_NET_NONE;
    key = cz_vm_template_key(&m, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) != 0);
    free(key);
    m = c;
    m.cmdline = "--debug";
    key = cz_vm_template_key(&m, CZ_ACCEL_TCG, &err);
    CHECK(key && base && strcmp(key, base) != 0);
    free(key);

    m = c;
    m.vsock = true;
    m.vsock_cid = 7;
    CHECK(cz_vm_template_key(&m, CZ_ACCEL_TCG, &err) == NULL);
    CHECK(strstr(err.msg, "vsock") != NULL);
    m = c;
    m.net.kind = CZ_VM_NET_TAP;
    m.net.tap = "tap0";
    CHECK(cz_vm_template_key(&m, CZ_ACCEL_TCG, &err) == NULL);
    struct cz_vm_disk missing[1] = {{.path = "/nonexistent/disk.img", .readonly = true}};
    m = c;
    m.disks = missing;
    CHECK(cz_vm_template_key(&m, CZ_ACCEL_TCG, &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent/disk.img") != NULL);
    free(base);
}

/* A restored VM's command line: it waits for its state instead of booting, and has the
 * template's MAC address whatever its name. */
TEST(restored_vm_waits_for_its_state)
{
    char k[256];
    snprintf(k, sizeof(k), "%s/tr-vmlinux", unit_tmpdir());
    touch(k);
    struct cz_vm_config c = {.name = "mine",
                             .kernel = k,
                             .cpus = 1,
                             .memory_mib = 256,
                             .run_dir = unit_tmpdir(),
                             .accel = CZ_ACCEL_TCG,
                             .net = {.kind = CZ_VM_NET_USER}};
    struct cz_argv a = {0}, t = {0};
    struct cz_vm_paths p = {.agent_socket = "/r/a", .control_socket = "/r/c"};
    cz_error err = {0};
    CHECK_OK(cz_vmm_qemu.build_argv(&c, CZ_ACCEL_TCG, &p, &a, &err), &err);
    CHECK(!has_arg(a.v, "-incoming"));
    struct cz_vm_paths r = {
        .agent_socket = "/r/a", .control_socket = "/r/c", .template = true, .incoming = true};
    CHECK_OK(cz_vmm_qemu.build_argv(&c, CZ_ACCEL_TCG, &r, &t, &err), &err);
    int incoming = 0;
    for (size_t i = 0; i + 1 < t.n; i++)
        if (!strcmp(t.v[i], "-incoming") && !strcmp(t.v[i + 1], "defer"))
            incoming = 1;
    CHECK(incoming);
    struct cz_vm_config other = c;
    other.name = "another";
    struct cz_argv t2 = {0};
    CHECK_OK(cz_vmm_qemu.build_argv(&other, CZ_ACCEL_TCG, &r, &t2, &err), &err);
    const char *mac1 = NULL, *mac2 = NULL;
    for (size_t i = 0; i < t.n; i++)
        if (strstr(t.v[i], "mac="))
            mac1 = strstr(t.v[i], "mac=");
    for (size_t i = 0; i < t2.n; i++)
        if (strstr(t2.v[i], "mac="))
            mac2 = strstr(t2.v[i], "mac=");
    CHECK(mac1 && mac2 && strcmp(mac1, mac2) == 0);
    cz_argv_free(&a);
    cz_argv_free(&t);
    cz_argv_free(&t2);
}
