/* The `weft` command: its subcommands (run, graph, nodes, errors, check, fit) as
 * library calls, so that tests can drive them in-process. */
#ifndef WF_CLI_H
#define WF_CLI_H

/* Runs `weft ARGS...`; returns the process exit status (0 ok, 1 an error in
 * the patch or a run, 2 a usage error, 130 interrupted). */
int wf_cli_main(int argc, char **argv);

#endif
