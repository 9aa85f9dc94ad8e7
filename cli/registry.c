/* `container registry login|logout`: credentials in docker's config.json
 * format at ROOT/auth.json (mode 0600), checked against the registry first. */
#include "cli.h"

#include "base/fs.h"
#include "base/util.h"

#include <cz/registry.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 4096

/* "https://host:5000/" -> "host:5000" */
static char *normalize_host(const char *s)
{
    if (!strncmp(s, "https://", 8))
        s += 8;
    else if (!strncmp(s, "http://", 7))
        s += 7;
    char *h = cz_xstrndup(s, strcspn(s, "/"));
    if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io")) {
        free(h);
        h = cz_xstrdup("docker.io");
    }
    return h;
}

/* Read a line from the terminal, without echo when secret. */
static int prompt(const char *what, bool secret, char **out, cz_error *err)
{
    cz_autoclose int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return cz_error_errno(err, errno, "cannot prompt for the %s (no terminal)", what);
    struct termios old, quiet;
    bool restore = false;
    if (secret && tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    char label[64];
    int n = snprintf(label, sizeof(label), "%c%s: ", what[0] - 32, what + 1);
    if (write(fd, label, (size_t)n) < 0) { /* best effort */
    }
    char buf[PASSWORD_MAX];
    size_t len = 0;
    int r = 0;
    for (;;) {
        char ch;
        ssize_t k = read(fd, &ch, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || ch == '\n')
            break;
        if (len + 1 >= sizeof(buf)) {
            r = cz_error_set(err, EINVAL, "%s longer than %d bytes", what, PASSWORD_MAX);
            break;
        }
        buf[len++] = ch;
    }
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &old);
        if (write(fd, "\n", 1) < 0) {
        }
    }
    if (r == 0) {
        if (len > 0 && buf[len - 1] == '\r')
            len--;
        *out = cz_xstrndup(buf, len);
    }
    explicit_bzero(buf, sizeof(buf));
    return r;
}

static int cmd_login(struct cli *cli, int argc, char **argv, cz_error *err)
{
    static const struct option longopts[] = {
        {"username", required_argument, NULL, 'u'},
        {"password-stdin", no_argument, NULL, 'P'},
        {"scheme", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cz_registry_options opts = {0};
    const char *user_opt = NULL;
    bool from_stdin = false;
    int c;
    while ((c = getopt_long(argc, argv, "+u:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u':
            user_opt = optarg;
            break;
        case 'P':
            from_stdin = true;
            break;
        case 's':
            if (cz_scheme_parse(optarg, &opts.scheme, err) < 0)
                return -2; /* a usage error; err has the message */
            break;
        case 'h':
            printf("Usage: container registry login [OPTIONS] HOST\n\n"
                   "Check credentials against a registry and store them.\n\n"
                   "Options:\n"
                   "  -u, --username USER       user name (prompted on a terminal when absent)\n"
                   "  --password-stdin          read the password from stdin\n"
                   "  --scheme auto|http|https  auto: http for localhost and 127.0.0.0/8\n");
            return 0;
        default:
            return cli_option_error(err, "registry login", "u:h", longopts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(err, "registry login: exactly one registry host is required");
    cz_autofree char *host = normalize_host(argv[optind]);
    cz_autofree char *user = NULL;
    cz_autofree char *pass = NULL;
    if (user_opt)
        user = cz_xstrdup(user_opt);
    else if (prompt("username", false, &user, err) < 0)
        return cz_error_wrap(err, "login %s: no --username", host);
    if (from_stdin) {
        size_t len;
        if (cz_read_fd(STDIN_FILENO, PASSWORD_MAX, &pass, &len, "password from stdin", err) < 0)
            return cz_error_wrap(err, "login %s", host);
        while (len > 0 && (pass[len - 1] == '\n' || pass[len - 1] == '\r'))
            pass[--len] = 0;
        if (memchr(pass, 0, len))
            return cz_error_set(err, EINVAL, "login %s: the password holds a NUL byte", host);
    } else if (prompt("password", true, &pass, err) < 0) {
        return cz_error_wrap(err, "login %s: use --password-stdin", host);
    }
    if (!*user || !*pass)
        return cz_error_set(err, EINVAL, "login %s: empty %s", host, *user ? "password" : "username");
    cz_autofree char *auth = cz_xasprintf("%s/auth.json", cli->root);
    opts.auth_file = auth;
    opts.username = user;
    opts.password = pass;
    int r = cz_registry_login(host, &opts, err);
    explicit_bzero(pass, strlen(pass));
    if (r < 0)
        return -1;
    printf("Login Succeeded\n");
    return 0;
}

static int cmd_logout(struct cli *cli, int argc, char **argv, cz_error *err)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("Usage: container registry logout HOST\n\nRemove stored credentials for a "
               "registry.\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage_error(err, "registry logout: exactly one registry host is required");
    cz_autofree char *host = normalize_host(argv[1]);
    cz_autofree char *auth = cz_xasprintf("%s/auth.json", cli->root);
    if (cz_registry_logout(host, auth, err) < 0)
        return cz_error_wrap(err, "logout");
    printf("Removing login credentials for %s\n", host);
    return 0;
}

static const struct cli_command registry_commands[] = {
    {"login", NULL, "Log in to a registry", cmd_login},
    {"logout", NULL, "Log out from a registry", cmd_logout},
    {NULL, NULL, NULL, NULL},
};

int cmd_registry(struct cli *cli, int argc, char **argv, cz_error *err)
{
    return cli_dispatch(cli, "registry", registry_commands, argc - 1, argv + 1, err);
}
