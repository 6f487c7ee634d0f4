/* Optimizers over a patch's params: Adam (Kingma & Ba 2015, bias-corrected,
 * PyTorch's defaults) and SGD with momentum, a learning-rate schedule
 * (constant, exponential decay, cosine), and gradient-norm clipping.
 *
 * Params are updated in their fitting domain: log params as theta = log(v)
 * (so learning rates are relative changes), the others as v. Bounds are kept
 * by projection: after each step theta is clamped to the bounds (in the same
 * domain), so a bounded param never leaves its range and its learning rate
 * keeps the units of the value.
 *
 * A step reads the gradients already in the params (d loss / d value) and is
 * separate from computing them, so a data-parallel fit can all-reduce the
 * gradients in between. */
#ifndef WF_OPTIM_H
#define WF_OPTIM_H

#include "runtime/params.h"

typedef enum { WF_OPTIM_ADAM, WF_OPTIM_SGD } wf_optim_kind;
typedef enum { WF_SCHED_CONST, WF_SCHED_EXP, WF_SCHED_COSINE } wf_sched_kind;

typedef struct wf_optim_opts {
    wf_optim_kind kind;
    double lr;
    double beta1, beta2, eps; /* Adam; 0s: 0.9, 0.999, 1e-8 */
    double momentum;          /* SGD */
    wf_sched_kind sched;
    double decay;             /* EXP: lr * decay^(step / decay_steps) */
    int decay_steps;          /* EXP: 0 means the whole fit */
    int total_steps;          /* COSINE and EXP's default */
    double clip;              /* > 0: clip the global gradient norm to this */
} wf_optim_opts;

typedef struct wf_optim wf_optim;

wf_optim *wf_optim_new(const wf_params *ps, const wf_optim_opts *o);
void wf_optim_free(wf_optim *o);
/* Learning rate of step `step` (0-based). */
double wf_optim_lr(const wf_optim *o, int step);
/* One update from the gradients in ps; returns the gradient norm (in the
 * fitting domain, before clipping). */
double wf_optim_step(wf_optim *o, wf_params *ps);

/* The state a checkpoint keeps besides the params: the updates made (the
 * schedule's position and Adam's bias correction), and param i's moments,
 * which = 0 for the first (SGD's momentum), 1 for Adam's second; the
 * arrays have the param's length and may be written. */
int wf_optim_updates(const wf_optim *o);
void wf_optim_set_updates(wf_optim *o, int updates);
wf_real *wf_optim_moment(wf_optim *o, int param, int which);

int wf_optim_parse(const char *s, wf_optim_kind *k);
int wf_sched_parse(const char *s, wf_sched_kind *k);

#endif
