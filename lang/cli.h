/* The `weft` command: its subcommands (run, graph, nodes, errors, check, fit) as
 * library calls, so that tests can drive them in-process. */
#ifndef WF_CLI_H
#define WF_CLI_H

/* Runs `weft ARGS...`; returns the process exit status (0 ok, 1 an error in
 * the patch or a run, 2 a usage error, 130 interrupted). */
int wf_cli_main(int argc, char **argv);

/* OpenMP threads that wait at the end of a parallel region sleep rather than
 * spin, unless the user's environment says otherwise (OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT). libgomp spins for 300000 rounds by default; on a machine
 * shared with other programs (the usual case for a command-line tool) a
 * spinning thread takes the core that the thread it waits for needs, and a
 * 400-step fit ran 2-5x slower than with passive waiting. libgomp reads the
 * environment the process started with, before main (a setenv from
 * .preinit_array is too late for its spin count), so the program starts
 * itself again once with the two variables set: call this first in main.
 * The benchmark programs do, so that they run as the command does. */
void wf_cli_wait_policy(char **argv);

#endif
