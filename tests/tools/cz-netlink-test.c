/* cz-netlink-test: drives the netlink module from the command line, one operation per run,
 * for tests/integration/netlink.sh (which runs it inside a network namespace it created and
 * checks the outcome with iproute2). Errors print "Error: <message> (errno N)" and exit 1. */
#include <cz/netlink.h>

#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr,
            "usage: cz-netlink-test OP ARGS...\n"
            "  link-get NAME | link-get-index N | up NAME | down NAME | mtu NAME N\n"
            "  master NAME BRIDGE|- | rename NAME NEW | netns NAME NSPATH\n"
            "  bridge-add NAME | veth-add NAME PEER | tap-add NAME [UID] | link-del NAME\n"
            "  addr-add IF CIDR [nodad] | addr-del IF CIDR\n"
            "  route-add|route-del DST|default [via GW] [dev IF] [metric N] [family 4|6]\n");
    return 2;
}

static void print_link(const cz_link_info *l)
{
    char mac[3 * CZ_NETLINK_HWADDR_MAX];
    cz_netlink_format_hwaddr(l, mac, sizeof(mac));
    printf("index=%d name=%s mtu=%u state=%s mac=%s master=%d kind=%s\n", l->index, l->name, l->mtu,
           (l->flags & IFF_UP) ? "up" : "down", mac[0] ? mac : "-", l->master,
           l->kind[0] ? l->kind : "-");
}

static int parse_route(int argc, char **argv, cz_route *r)
{
    memset(r, 0, sizeof(*r));
    if (argc < 1)
        return -1;
    r->dst = argv[0];
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return -1;
        if (strcmp(argv[i], "via") == 0)
            r->gateway = argv[i + 1];
        else if (strcmp(argv[i], "dev") == 0)
            r->ifname = argv[i + 1];
        else if (strcmp(argv[i], "metric") == 0)
            r->metric = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "family") == 0)
            r->family = strcmp(argv[i + 1], "6") == 0 ? AF_INET6 : AF_INET;
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *op = argv[1];
    cz_error err = {0};
    cz_netlink *nl;
    if (cz_netlink_open(&nl, 0, &err) < 0) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 1;
    }
    int r = -2;
    cz_link_info link;
    if (strcmp(op, "link-get") == 0 && argc == 3) {
        r = cz_netlink_link_get(nl, argv[2], &link, &err);
        if (r == 0)
            print_link(&link);
    } else if (strcmp(op, "link-get-index") == 0 && argc == 3) {
        r = cz_netlink_link_get_index(nl, atoi(argv[2]), &link, &err);
        if (r == 0)
            print_link(&link);
    } else if (strcmp(op, "up") == 0 && argc == 3) {
        r = cz_netlink_link_set_up(nl, argv[2], true, &err);
    } else if (strcmp(op, "down") == 0 && argc == 3) {
        r = cz_netlink_link_set_up(nl, argv[2], false, &err);
    } else if (strcmp(op, "mtu") == 0 && argc == 4) {
        r = cz_netlink_link_set_mtu(nl, argv[2], (unsigned)strtoul(argv[3], NULL, 10), &err);
    } else if (strcmp(op, "master") == 0 && argc == 4) {
        r = cz_netlink_link_set_master(nl, argv[2], strcmp(argv[3], "-") == 0 ? NULL : argv[3],
                                       &err);
    } else if (strcmp(op, "rename") == 0 && argc == 4) {
        r = cz_netlink_link_rename(nl, argv[2], argv[3], &err);
    } else if (strcmp(op, "netns") == 0 && argc == 4) {
        int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "Error: open %s: %s\n", argv[3], strerror(errno));
            cz_netlink_close(nl);
            return 1;
        }
        r = cz_netlink_link_set_netns(nl, argv[2], fd, &err);
        close(fd);
    } else if (strcmp(op, "bridge-add") == 0 && argc == 3) {
        r = cz_netlink_bridge_add(nl, argv[2], &err);
    } else if (strcmp(op, "veth-add") == 0 && argc == 4) {
        r = cz_netlink_veth_add(nl, argv[2], argv[3], &err);
    } else if (strcmp(op, "tap-add") == 0 && (argc == 3 || argc == 4)) {
        r = cz_netlink_tap_add(nl, argv[2], argc == 4 ? atoi(argv[3]) : -1, &err);
    } else if (strcmp(op, "link-del") == 0 && argc == 3) {
        r = cz_netlink_link_del(nl, argv[2], &err);
    } else if (strcmp(op, "addr-add") == 0 && (argc == 4 || argc == 5)) {
        unsigned flags = argc == 5 && strcmp(argv[4], "nodad") == 0 ? CZ_NETLINK_ADDR_NODAD : 0;
        r = cz_netlink_addr_add(nl, argv[2], argv[3], flags, &err);
    } else if (strcmp(op, "addr-del") == 0 && argc == 4) {
        r = cz_netlink_addr_del(nl, argv[2], argv[3], &err);
    } else if (strcmp(op, "route-add") == 0 || strcmp(op, "route-del") == 0) {
        cz_route route;
        if (parse_route(argc - 2, argv + 2, &route) == 0)
            r = op[6] == 'a' ? cz_netlink_route_add(nl, &route, &err)
                             : cz_netlink_route_del(nl, &route, &err);
    }
    cz_netlink_close(nl);
    if (r == -2)
        return usage();
    if (r < 0) {
        fprintf(stderr, "Error: %s (errno %d)\n", err.msg, err.code);
        return 1;
    }
    return 0;
}
