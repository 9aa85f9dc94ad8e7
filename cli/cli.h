/* Shared declarations of the `container` CLI: the global context and the
 * command groups, one file each, dispatched from the table in main.c. */
#ifndef CZ_CLI_H
#define CZ_CLI_H

#include <cz/error.h>

#include <getopt.h>

#include <stdbool.h>

struct cli {
    const char *root; /* --root, CONTAINER_ROOT, or the default */
    bool debug;
};

/* A subcommand: name, one-line help, handler. argv[0] is the subcommand name. */
struct cli_command {
    const char *name;
    const char *alias;
    const char *summary;
    int (*run)(struct cli *cli, int argc, char **argv, cz_error *err);
};

/* Dispatch argv[0] among cmds; prints the group's help for --help or no args. */
int cli_dispatch(struct cli *cli, const char *group, const struct cli_command *cmds, int argc,
                 char **argv, cz_error *err);
/* Usage error: sets err and returns -2 (exit code 125 with a usage hint). */
int cli_usage_error(cz_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for what getopt_long (opterr off) just refused in argv: an unknown option,
 * or one without its value; cmd names the command, shortopts is getopt's string. */
int cli_option_error(cz_error *err, const char *cmd, const char *shortopts,
                     const struct option *longopts, char **argv);

int cmd_image(struct cli *cli, int argc, char **argv, cz_error *err);
/* Container commands at the top level (create, ls, inspect, rm, prune). */
extern const struct cli_command cli_container_commands[];

struct cz_container_config;
/* Parse run/create flags and resolve the image (pulling it when missing) into
 * a container configuration. Returns 1 after printing --help. detach: NULL for
 * create, which refuses -d as docker's does. */
int cli_parse_create(struct cli *cli, int argc, char **argv, const char *usage,
                     struct cz_container_config *c, bool *detach, char **cidfile, cz_error *err);
/* Record the container, write its --cidfile (when not NULL) and make its disks; on
 * failure neither the record nor the cidfile is left. */
int cli_create_container(struct cli *cli, struct cz_container_config *c, const char *cidfile,
                         cz_error *err);
/* Remove a container that failed before it ran, and the cidfile naming it. */
void cli_discard_container(struct cli *cli, const struct cz_container_config *c,
                           const char *cidfile);
/* Remove the cidfile (NULL: none) if it still holds c's id. */
void cli_remove_cidfile(const struct cz_container_config *c, const char *cidfile);
/* Give the published ports without a host port one (c->publish into c->ports): the one
 * picked before while it is still free, else a free one. *changed: c->ports changed. */
int cli_pick_host_ports(struct cz_container_config *c, bool *changed, cz_error *err);
/* Running containers (run.c): run, start, stop, kill, exec, logs, wait. */
extern const struct cli_command cli_run_commands[];
/* A RUNNING record whose runtime died is not running: record that it failed
 * and clean up the run directory it left (container.c). */
struct cz_container_state;
void cli_reconcile(struct cli *cli, const struct cz_container_config *c,
                   struct cz_container_state *st);
/* The container-runtime program: $CONTAINER_RUNTIME_BIN, beside us, or installed (run.c). */
char *cli_runtime_program(void);
/* Read a starting container-runtime's one line from fd (left open): "ok" is 0;
 * "fail CODE MESSAGE" fails with MESSAGE and *exit_code CODE (common.c). */
int cli_runtime_ready(int fd, const char *logpath, int *exit_code, cz_error *err);
/* The image snapshot and the empty writable disk a container boots from. */
int cli_prepare_container(struct cli *cli, const struct cz_container_config *c, cz_error *err);
int cmd_registry(struct cli *cli, int argc, char **argv, cz_error *err);
/* image_pull.c */
int cmd_image_pull(struct cli *cli, int argc, char **argv, cz_error *err);
int cmd_image_push(struct cli *cli, int argc, char **argv, cz_error *err);
int cmd_image_unpack(struct cli *cli, int argc, char **argv, cz_error *err); /* image_unpack.c */
int cmd_volume(struct cli *cli, int argc, char **argv, cz_error *err);       /* volume.c */



#include <cz/content.h>

/* Open the image store under the CLI's root. */
int cli_open_store(struct cli *cli, cz_store **out, cz_error *err);
/* A signal as docker takes it: a name with or without SIG, any case (TERM, sigkill),
 * RTMIN, RTMIN+N, RTMAX-N, RTMAX, or a number from 1 to 64. A usage error otherwise. */
int cli_parse_signal(const char *s, int *out, cz_error *err);
/* stop's default seconds before SIGKILL, unless the container says (--stop-timeout) */
#define CLI_STOP_TIMEOUT 10
/* Seconds before stop sends SIGKILL: 0 to 86400, or -1 (forever); what names the flag. */
int cli_parse_stop_timeout(const char *what, const char *s, int *out, cz_error *err);
/* Print a command's usage text (for --help). */
void cli_print_usage(const char *usage);
/* Is fd a terminal? (progress output, prompts) */
bool cli_isatty(int fd);

/* A table printed with columns sized to their content. */
struct cli_table {
    int ncols;
    char **cells; /* rows * ncols */
    int nrows;
};
void cli_table_init(struct cli_table *t, int ncols, const char *const *headers);
void cli_table_add(struct cli_table *t, const char *const *row);
void cli_table_print(struct cli_table *t);
void cli_table_free(struct cli_table *t);

/* getopt_long loop helper: returns -2 (usage error) for unknown options. */
#define CLI_HELP_OPTION {"help", no_argument, NULL, 'h'}
/* A running container's guest, reached through its runtime's socket (guest.c). */
#include <cz/container.h>
#include <cz/rpc.h>
struct cli_guest {
    char id[CZ_CONTAINER_ID_LEN + 1];
    char *name;
    uint64_t memory_mib; /* the container's setting, 0 for the default */
    cz_loop *loop;
    cz_rpc_client *client;
    /* a container that is not running, reached through a maintenance runtime
     * (ours: it ends when the lifeline closes) */
    bool maintenance;
    pid_t maintenance_pid;
    int lifeline; /* its write end, -1 when none */
};
/* Load the container ref; fails with "container X is not running" unless it runs. */
int cli_guest_open(struct cli *cli, const char *ref, struct cli_guest *g, cz_error *err);
/* As cli_guest_open, but a container that is not running (created, stopped,
 * failed) is booted for the purpose by a maintenance runtime, which serves only
 * CopyIn, CopyOut, Stat and ReadFile with the container's root at /run/cz/rootfs
 * and goes away (guest synced, VM off) in cli_guest_close. */
int cli_guest_open_for_copy(struct cli *cli, const char *ref, struct cli_guest *g, cz_error *err);
/* A unary agent method (forwarded to vminitd); *reply may be NULL to discard it. */
int cli_guest_call(struct cli_guest *g, const char *method, const ProtobufCMessage *req,
                   ProtobufCMessage **reply, int timeout_ms, cz_error *err);
/* Disconnect; a maintenance runtime is waited for until it is gone. */
void cli_guest_close(struct cli_guest *g);
/* A small guest file (at most limit bytes) as text through ReadFile; NULL when it fails. */
char *cli_guest_read_text(struct cli_guest *g, const char *path, size_t limit, int timeout_ms);
/* stats.c, cp.c, system.c */
int cmd_stats(struct cli *cli, int argc, char **argv, cz_error *err);
int cmd_cp(struct cli *cli, int argc, char **argv, cz_error *err);
int cmd_system(struct cli *cli, int argc, char **argv, cz_error *err);
#endif
