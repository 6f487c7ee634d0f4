/* Analysis computed once (docs/design.md): in a fit, the expensive part of a
 * patch that depends on no learnt param, only on the target (a pitch track
 * of the recording), gives the same result every step. It is cut out of the
 * program: computed once per recording over the whole recording, cached on
 * disk next to it, and fed to every step as an input, cut with the step's
 * excerpts. */
#ifndef WF_CMD_ANALYSES_H
#define WF_CMD_ANALYSES_H

#include "lang/cmd/objective.h"

typedef struct wf_analyses wf_analyses;

/* The analysis cuts of s's graph for the recordings of ob (loaded, not yet
 * batched); NULL when there are none. */
wf_analyses *wf_analyses_find(const wf_setup *s, const wf_objective *ob);
/* Samples the excerpts' offsets must be multiples of (the hop when a cut is
 * at control rate, else 1). */
int64_t wf_analyses_align(const wf_analyses *f, const wf_setup *s);
/* The sets of recordings a fit analyses: those it fits and the held-out
 * ones (fit --validate). */
enum { WF_ANALYSES_FIT, WF_ANALYSES_HELD_OUT, WF_ANALYSES_SETS };

typedef struct wf_recordings {
    int count;
    const char *const *names;
    const wf_real *const *audio; /* mono at the run's rate */
    const int64_t *frames;
} wf_recordings;

/* Computes (or reads from the cache) every cut over every recording of
 * set `set` (once per set), each `len` samples long (the recording's own
 * length when 0). With caching off nothing is read or written. Notes on
 * stderr unless quiet. 0, or -1 after reporting. */
int wf_analyses_compute(wf_analyses *f, int set, const wf_setup *s, const wf_recordings *rec,
                        int64_t len, int cache, int quiet, wf_diags *d);
/* The graph the fit runs: s's with each cut an input (index first_input +
 * k for cut k) and what only fed the cuts pruned; owned by f. */
const wf_graph *wf_analyses_graph(wf_analyses *f, int *first_input, int *ncuts);
/* Cut k's signal of every recording of a set, frames of it, channels and
 * samples per frame, for wf_batch_align_each. */
void wf_analyses_signal(const wf_analyses *f, int set, int k, const wf_real *const **data,
                        const int64_t **frames, int *chans, int *div);
void wf_analyses_free(wf_analyses *f);

#endif
