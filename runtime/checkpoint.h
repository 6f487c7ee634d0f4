/* Checkpoints of a fit (`weft fit --checkpoint-every K`, `--resume FILE`):
 * everything a fit needs to go on exactly as if it had not stopped, in one
 * binary file written atomically (temporary file + rename).
 *
 * What a fit's future depends on: the params' values, the optimizer's
 * moments and its count of updates (Adam's bias correction and the learning
 * rate schedule's position), the best params so far and their loss, and the
 * step. Random draws keep no state: excerpts come from the counter stream
 * of the seed at (step, item) and noise() from its own seed (rng.h), so the
 * step and the seed (among the settings) are the whole of the RNG state.
 *
 * The file: the magic "weft-checkpoint\n", a version (1), the size of a
 * real (4: float32) and a byte-order probe; the settings of the fit as text
 * ("key: value" lines, the caller's and each param's shape), which a resume
 * must match; the fit's counters and losses; each param's name, rows, cols,
 * values, first and second moments and best values; an FNV-1a checksum of
 * all before it. */
#ifndef WF_CHECKPOINT_H
#define WF_CHECKPOINT_H

#include "runtime/diag.h"
#include "runtime/optim.h"
#include "runtime/params.h"

typedef struct wf_ckpt_state {
    int step;          /* updates made: the step a resumed fit runs next */
    int best_step;     /* updates made before the best params */
    double first_loss; /* the loss before any update */
    double best;       /* the loss the best params are chosen by */
} wf_ckpt_state;

/* The file a checkpoint of `step` goes to: path with "{step}" replaced by
 * the step (several checkpoints kept), else path. Caller frees. */
char *wf_ckpt_path(const char *path, int step);
int wf_ckpt_write(const char *path, const char *settings, const wf_ckpt_state *st,
                  const wf_params *ps, wf_optim *opt, wf_real *const *best, wf_diags *d);
/* Reads a checkpoint written with the same settings (else a diagnostic
 * naming the first that differs) into the params' values, the optimizer,
 * best (one array per param) and st. */
int wf_ckpt_read(const char *path, const char *settings, wf_ckpt_state *st, wf_params *ps,
                 wf_optim *opt, wf_real **best, wf_diags *d);

#endif
