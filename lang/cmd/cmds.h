/* The subcommands of the weft command, one entry point each; lang/cmd/cli.c
 * dispatches to them. Each returns the process exit status. */
#ifndef WF_CMD_CMDS_H
#define WF_CMD_CMDS_H

int wf_cmd_run(int argc, char **argv);   /* run.c */
int wf_cmd_graph(int argc, char **argv); /* run.c */
int wf_cmd_nodes(int argc, char **argv); /* run.c */
int wf_cmd_errors(int argc, char **argv); /* run.c */
int wf_cmd_fit(int argc, char **argv);   /* fit.c */
int wf_cmd_play(int argc, char **argv);  /* play.c */
int wf_cmd_check(int argc, char **argv); /* check.c */
int wf_cmd_spectrogram(int argc, char **argv); /* picture.c */
int wf_cmd_plot(int argc, char **argv);  /* picture.c */
int wf_cmd_repl(int argc, char **argv);  /* repl.c */
/* `weft check` computes in float64: hands the command over to the float64
 * twin (check.c). Returns only when there is none, or --float32 asks to stay. */
void wf_cmd_exec_float64(int argc, char **argv);

#endif
