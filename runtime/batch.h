/* The recordings a fit learns from, as the items (lanes) of each step:
 * every recording whole, padded to the longest with each item's loss
 * measured on its own length, or N excerpts of S seconds drawn per step at
 * random from all of them (seeded, so a fit is reproducible), which is how
 * a model trains on a corpus. The loss of a step is the mean of the items'
 * losses. An item's target is also what the patch's `input x = target`
 * reads in that item's lane. */
#ifndef WF_BATCH_H
#define WF_BATCH_H

#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/loss.h"

typedef struct wf_batch_opts {
    int items;         /* excerpts per step (with excerpt > 0) */
    int64_t excerpt;   /* samples per excerpt; 0: every recording whole, one item each */
    uint64_t seed;     /* which excerpts */
    wf_loss_opts loss;
    /* excerpts start at multiples of this many samples (0 or 1: anywhere):
     * a hop, so that signals of control-rate frames computed over whole
     * recordings can be cut with them (wf_batch_align_each) */
    int64_t align;
    /* A share of a larger batch (data-parallel fits): this batch's items are
     * items first .. first + its items - 1 of a batch of `total` (0: this
     * batch is the whole). An excerpt is drawn from the seed, the step and
     * its item's place in the whole batch, and the loss is a share of the
     * whole batch's mean (the sum of the shares is the mean). Whole
     * recordings: item i is recording first + i. */
    int first, total;
    /* Excerpts that tile every recording from its start (consecutive, each
     * starting on a multiple of align, the tail shorter than an excerpt
     * left out), the same at every step: a held-out set measured the same
     * way each time. */
    int tiles;
} wf_batch_opts;

typedef struct wf_batch wf_batch;

/* Recordings at the run's rate: audio[i] of frames[i] samples, borrowed
 * (kept by the caller while the batch lives). nsamples: the run's length
 * (the longest recording, or the excerpt's). NULL with a diagnostic naming
 * the recording that cannot serve (too short for the loss, not finite). */
wf_batch *wf_batch_new(const wf_real *const *audio, const int64_t *frames, const char *const *names,
                       int count, int64_t nsamples, const wf_batch_opts *o, wf_diags *d);
void wf_batch_free(wf_batch *b);

int wf_batch_items(const wf_batch *b);
/* Item i's target for the current step, [nsamples] (silence past its own
 * length); the buffer stays the same from step to step. */
const wf_real *wf_batch_target(const wf_batch *b, int i);
/* Makes the items of step `step` (excerpts; whole recordings do not change).
 * Returns 1 when the targets changed. */
int wf_batch_draw(wf_batch *b, int step);
/* The step's loss, the mean over items of item i's loss of the out's lane i
 * (y + i * n; lane 0 for every item when the out has one lane), and when dy
 * is not NULL its gradient, laid out like y. */
double wf_batch_loss(wf_batch *b, const wf_real *const *y, int out_lanes, wf_real *dy);
/* A signal aligned with every recording from its start (a dry take beside
 * wet recordings of it): data, frames x chans interleaved, borrowed. Each
 * item gets the stretch of its own excerpt (its recording whole: from 0),
 * silence past the signal's end, redrawn with the targets. Returns k for
 * wf_batch_aligned. */
int wf_batch_align(wf_batch *b, const wf_real *data, int64_t frames, int chans);
/* A signal of each recording, computed from it whole (an analysis of it,
 * docs/design.md "Analysis computed once"): data[r] of frames[r] frames x
 * chans, one frame per `div` samples (1: audio rate; a hop: control rate,
 * which needs align = div), borrowed. Item i gets the stretch of its own
 * recording from its excerpt's offset / div, ceil(nsamples / div) frames,
 * silence past the end. Returns k for wf_batch_aligned. */
int wf_batch_align_each(wf_batch *b, const wf_real *const *data, const int64_t *frames, int chans,
                        int div);
/* Item i's stretch of aligned signal k, [nsamples x chans]; the buffer stays
 * the same from step to step. */
const wf_real *wf_batch_aligned(const wf_batch *b, int k, int i);
/* Item i's loss for y (its lane of the out), without gradient: a held-out
 * loss, not part of the mean wf_batch_loss weighs. */
double wf_batch_item_loss(wf_batch *b, int i, const wf_real *y);
/* The recording and the first sample of item i's excerpt in this step. */
void wf_batch_source(const wf_batch *b, int i, int *recording, int64_t *offset);

#endif
