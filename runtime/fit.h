/* Fitting a program's params to a target: the loop of forward, loss,
 * backward and optimizer steps, as a library call that `weft fit`, the REPL
 * and the benchmarks share. It keeps the best params seen (restored into the
 * params when it returns), stops cleanly when *stop becomes non-zero, and
 * stops with a diagnostic naming the first param whose gradient is not
 * finite when the loss diverges. */
#ifndef WF_FIT_H
#define WF_FIT_H

#include <signal.h>
#include <stdio.h>

#include "runtime/batch.h"
#include "runtime/diag.h"
#include "runtime/exec.h"
#include "runtime/optim.h"
#include "runtime/params.h"

typedef struct wf_fit_progress {
    int step, steps;
    double loss, best, seconds, lr;
} wf_fit_progress;

typedef struct wf_fit_opts {
    int steps;
    wf_optim_opts optim;
    /* called after every step (may be NULL) */
    void (*progress)(void *ctx, const wf_fit_progress *p);
    void *progress_ctx;
    volatile sig_atomic_t *stop; /* may be NULL */
    FILE *log;                   /* CSV step,loss,seconds (the last line the loss after the
                                    last update); may be NULL */
} wf_fit_opts;

typedef enum { WF_FIT_DONE, WF_FIT_STOPPED, WF_FIT_DIVERGED } wf_fit_status;

typedef struct wf_fit_result {
    wf_fit_status status;
    int steps;          /* updates made */
    double first_loss;  /* before any update */
    double final_loss;  /* after the last update */
    double best_loss;
    int best_step;      /* updates made before the best params */
    double seconds;     /* wall time of the steps */
} wf_fit_result;

/* p must be a WF_RUN_GRAD program over ps, whose output is mono and as long
 * as the batch's targets, with one lane, or one per item of the batch (and
 * its inputs of the targets reading wf_batch_target). */
int wf_fit(wf_prog *p, wf_params *ps, wf_batch *b, const wf_fit_opts *o, wf_fit_result *r,
           wf_diags *d);

/* One gradient evaluation of step `step`: draws the step's items, zeroes
 * the grads, runs forward, the loss and backward; returns the loss. dy is
 * scratch of the output's length (wf_prog_out_len). */
double wf_fit_grad(wf_prog *p, wf_params *ps, wf_batch *b, int step, wf_real *dy);

#endif
