/* --init: a tiny init as PID 1 of a container (init.c). */
#ifndef CZ_VMINITD_INIT_H
#define CZ_VMINITD_INIT_H

#include <cz/error.h>

#include <stdbool.h>

/* The path the init has inside a container, and the annotation asking for it. */
#define VMINITD_INIT_PATH "/dev/cz-init"
#define VMINITD_INIT_ANNOTATION "io.containerization.init"

/* Was vminitd started as the container init (argv[0] ends in "cz-init")? */
bool vminitd_is_init(const char *argv0);
/* Run as the container init: `cz-init [--] COMMAND [ARG...]`. Returns the exit code. */
int vminitd_init_main(int argc, char **argv);
/* When the runtime spec carries the init annotation, *out gets a copy of it
 * that runs the process under the init (bound read-only from vminitd's own
 * binary); otherwise *out is NULL. */
int vminitd_init_wrap_spec(const char *spec_json, char **out, cz_error *err);

#endif
