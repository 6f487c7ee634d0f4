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
#include "runtime/dist.h"
#include "runtime/exec.h"
#include "runtime/optim.h"
#include "runtime/params.h"

typedef struct wf_fit_progress {
    int step, steps;
    double loss, best, seconds, lr;
    int start;         /* the step the run began at (a resumed fit's checkpoint) */
    double validation; /* the last held-out loss measured, NaN before one */
} wf_fit_progress;

typedef struct wf_fit_opts {
    int steps;
    wf_optim_opts optim;
    /* called after every step (may be NULL) */
    void (*progress)(void *ctx, const wf_fit_progress *p);
    void *progress_ctx;
    volatile sig_atomic_t *stop; /* may be NULL */
    FILE *log;                   /* CSV step,loss,seconds (the last line the loss after the
                                    last update), and with validation a fourth column, the
                                    held-out loss of the steps it is measured at; may be NULL */
    /* Checkpoints (checkpoint.h): every `checkpoint_every` updates (0: none
     * but the last), at the end and when stopped, to `checkpoint` ("{step}"
     * in it: one file per checkpoint), which must match `settings`; a fit
     * with `resume` continues from that checkpoint. */
    const char *checkpoint, *resume, *settings;
    int checkpoint_every;
    /* A held-out loss every `validate_every` steps and at the last: the sum
     * of this rank's share of `validate_items` items' losses. With it the
     * best params are those of the lowest held-out loss. */
    double (*validate)(void *ctx);
    void *validate_ctx;
    int validate_items, validate_every;
    /* Data-parallel (dist.h): this rank's share of each step; gradients and
     * losses summed over the ranks; only rank 0 writes checkpoints. NULL: one
     * process. */
    const wf_dist *dist;
} wf_fit_opts;

typedef enum { WF_FIT_DONE, WF_FIT_STOPPED, WF_FIT_DIVERGED } wf_fit_status;

typedef struct wf_fit_result {
    wf_fit_status status;
    int steps;          /* updates made */
    double first_loss;  /* before any update */
    double final_loss;  /* after the last update */
    double best_loss;   /* the held-out loss of the best params, with validation */
    int best_step;      /* updates made before the best params */
    int start;          /* the step the run began at (resumed: the checkpoint's) */
    int refused;        /* the checkpoint to resume was refused: nothing was fitted */
    double validation;  /* the last held-out loss (NaN without validation) */
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
