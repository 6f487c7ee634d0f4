/* The gradient check a user runs (`weft check`): for each param, reverse-mode
 * gradients against central finite differences of the same loss, on every
 * element or a seeded random sample of them. Finite differences use two step
 * sizes combined by Richardson extrapolation (error O(h^4)), with the loss
 * accumulated in double, so oscillator frequencies can be checked too.
 *
 * An element passes when |reverse - fd| <= tol max(|reverse|, |fd|) plus the
 * finite differences' own error estimate (twice the gap between the two step
 * sizes) plus 1e-4 of the largest gradient in the patch: the float32 forward
 * pass limits how small a gradient finite differences can resolve. */
#ifndef WF_GRADCHECK_H
#define WF_GRADCHECK_H

#include <stdint.h>

#include "runtime/batch.h"
#include "runtime/exec.h"
#include "runtime/params.h"

typedef struct wf_gradcheck_opts {
    int max_elems;  /* per param; 0: 16 */
    uint64_t seed;  /* which elements, and the projection weights */
    double tol;     /* largest relative error that passes; 0: 2e-2 */
    double step;    /* relative step; 0: 1e-4 (float32), 1e-6 (float64) */
    /* Params are first moved by this relative amount at random (default
     * 1e-6): the spectral loss has cusps where some bin's magnitude is
     * exactly zero, and round values (415 Hz) can sit right on one, where
     * the derivative exists but says nothing about the neighbourhood. */
    double jitter;
    int jitter_given; /* 0: use the default */
} wf_gradcheck_opts;

typedef struct wf_gradcheck_row {
    const char *param;
    int checked, size;
    double max_abs, max_rel;
    int ok;
    int fixed; /* a `fixed` param: not checked */
} wf_gradcheck_row;

/* p: a WF_RUN_GRAD program over ps, fed by batch (its loss is checked). No
 * batch: the loss is a fixed random projection of the output, sum(w y) / n.
 * Fills rows[ps->n]; returns the number of params that fail. */
int wf_gradcheck(wf_prog *p, wf_params *ps, wf_batch *batch, const wf_gradcheck_opts *o,
                 wf_gradcheck_row *rows);

#endif
