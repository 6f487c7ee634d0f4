/* What `weft fit` shares with the REPL's :fit (lang/cmd/repl.c): its
 * options, parsed from the same words, the progress line and the closing
 * summary, so that both read and say the same. */
#ifndef WF_CMD_FIT_H
#define WF_CMD_FIT_H

#include "lang/cmd/objective.h"
#include "lang/cmd/report.h"
#include "runtime/fit.h"

/* What `weft fit` was asked for. */
typedef struct wf_fit_args {
    common co;
    wf_fit_opts fo;
    const char *out, *render, *logpath, *report;
    int report_every;
    wf_sample_format fmt;
    int quiet;
} wf_fit_args;

/* Parses `weft fit`'s command line (argv[0] the command's name, one PATCH
 * among the words); 0 to go on, -1 after printing the help, else the exit
 * status of a usage error (printed). */
int wf_fit_options(int argc, char **argv, wf_fit_args *a);

/* The progress line on stderr when tty, and the report's step. */
typedef struct wf_fit_progress_ctx {
    int tty;
    wf_fit_report *report; /* may be NULL */
} wf_fit_progress_ctx;

void wf_fit_show_progress(void *ctx, const wf_fit_progress *p);
/* "weft: fitted in N steps ...; wrote OUT" on stderr. */
void wf_fit_summary(const wf_fit_result *r, const char *outp);

#endif
