/* The weft command: everything lives in the library (lang/cmd/cli.c). */
#include <stdlib.h>
#include <unistd.h>

#include "lang/cli.h"

/* OpenMP threads that wait at the end of a parallel region sleep rather than
 * spin, unless the user's environment says otherwise (OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT). libgomp spins for 300000 rounds by default; on a machine
 * shared with other programs (the usual case for a command-line tool) a
 * spinning thread takes the core that the thread it waits for needs, and a
 * 400-step fit ran 2-5x slower than with passive waiting. libgomp reads the
 * environment the process started with, before main (a setenv from
 * .preinit_array is too late for its spin count), so the command starts
 * itself again once with the two variables set. */
static void default_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("GOMP_SPINCOUNT", "0", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
}

int main(int argc, char **argv)
{
    default_wait_policy(argv);
    return wf_cli_main(argc, argv);
}
