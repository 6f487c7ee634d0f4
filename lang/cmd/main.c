/* The weft command: everything lives in the library (lang/cmd/cli.c). */
#include <stdlib.h>

#include "lang/cli.h"

/* OpenMP threads that wait at the end of a parallel region sleep rather than
 * spin, unless the user's OMP_WAIT_POLICY says otherwise. libgomp spins for
 * a long while by default; on a machine shared with other programs (the
 * usual case for a command-line tool) a spinning thread takes the core that
 * the thread it waits for needs, and a 400-step fit ran about 3x slower
 * than with passive waiting. libgomp reads the variable when it is loaded,
 * before main, so it is set from .preinit_array, which the dynamic linker
 * runs before any shared library's initialisers. */
static void default_wait_policy(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    (void)envp;
    setenv("OMP_WAIT_POLICY", "passive", 0);
}
__attribute__((used, section(".preinit_array"))) static void (*const preinit)(int, char **,
                                                                             char **) =
    default_wait_policy;

int main(int argc, char **argv)
{
    return wf_cli_main(argc, argv);
}
