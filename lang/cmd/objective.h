/* The side of set-up that fit and check share: options of the loss and the
 * targets, the recordings as a batch, and a GRAD program of the patch fed
 * by it. */
#ifndef WF_CMD_OBJECTIVE_H
#define WF_CMD_OBJECTIVE_H

#include "lang/cmd/setup.h"
#include "runtime/batch.h"
#include "runtime/dist.h"
#include "runtime/exec.h"
#include "runtime/loss.h"

enum {
    OPT_TARGET = 300,
    OPT_STEPS,
    OPT_LR,
    OPT_LOSS,
    OPT_RENDER,
    OPT_LOG,
    OPT_SEED,
    OPT_OPTIM,
    OPT_MOMENTUM,
    OPT_SCHED,
    OPT_DECAY,
    OPT_CLIP,
    OPT_FFT,
    OPT_WEIGHTS,
    OPT_SECONDS,
    OPT_RATE,
    OPT_SET,
    OPT_INPUT,
    OPT_ELEMS,
    OPT_TOL,
    OPT_STEP,
    OPT_JITTER,
    OPT_F32,
    OPT_EXCERPT,
    OPT_BATCH,
    OPT_FORMAT,
    OPT_REPORT,
    OPT_REPORT_EVERY,
    OPT_NO_CACHE,
    OPT_MEL_BANDS,
    OPT_LOUDNESS_WEIGHT,
    OPT_CKPT_EVERY,
    OPT_CKPT,
    OPT_RESUME,
    OPT_VALIDATE,
    OPT_VALIDATE_EVERY,
    OPT_MPI,
};

/* Options shared by fit and check. */
typedef struct common {
    wf_setup_opts so;
    wf_loss_opts loss;
    int loss_given;
    wf_pairs targets; /* --target: recordings, or folders of them */
    double excerpt;   /* fit --excerpt: seconds per excerpt (0: whole recordings) */
    int batch;        /* fit --batch: excerpts per step */
    int no_cache;     /* fit --no-cache: analyses computed, never read from or written to disk */
    int quiet;        /* no notes about analyses computed once */
    const wf_dist *dist; /* fit under mpirun: this rank's share of each step; NULL: all */
} common;

/* What a fit or check runs: the recordings, the batch of them, and the GRAD
 * program of the patch fed by it. */
typedef struct wf_objective {
    int count;        /* recordings */
    char **names;
    wf_real **audio;  /* at the run's rate */
    int64_t *frames;
    int64_t whole;    /* samples of a whole run: the patch's length, else the longest recording */
    int64_t reach;    /* samples of the inputs cut with excerpts: the whole run or the longest recording */
    wf_batch *batch;  /* NULL without a target (check) */
    struct wf_analyses *analyses; /* analyses computed once, fed as inputs (analyses.h) */
    wf_prog *prog;
    int *aligned;     /* per input fed by the batch: -1 the target, else its aligned signal */
    /* held-out recordings (fit --validate): whole, or tiled with excerpts */
    int vcount;
    char **vnames;
    wf_real **vaudio;
    int64_t *vframes;
    wf_batch *vbatch;
    int vfirst, vn;   /* this rank's share of the held-out items */
    const wf_dist *dist;
} wf_objective;

/* Handles an option both commands take (getopt's c and optarg); 1 if
 * handled, 0 if not one of them, -status on a bad value. */
int wf_common_opt(const char *cmd, int c, common *co);
/* After the options: 0, or the status of a usage error in their
 * combination (the loss's weights all 0). */
int wf_common_done(const char *cmd, const common *co);
void wf_common_free(common *co);
/* Finds the recordings, compiles and sizes the patch against them, loads
 * them and plans a GRAD program fed by a batch of them (no batch without a
 * target). With excerpts, audio inputs from files are cut with each item's
 * excerpt, as aligned with every recording from its start. */
int wf_objective_prepare(common *co, wf_setup *s, wf_objective *ob, wf_diags *d);
/* Loads the held-out recordings and makes their items, measured like the
 * batch's: whole recordings (cut to the run's length), or with excerpts
 * every excerpt that tiles them. Returns the number of items, -1 on error. */
int wf_objective_validation(wf_objective *ob, const wf_setup *s, const common *co,
                            const wf_pairs *files, wf_diags *d);
/* The held-out loss summed over this rank's share of the items, run lane by
 * lane through the fit's program without gradient (fit's validate). */
double wf_objective_validate(void *ob);
void wf_objective_free(wf_objective *ob);

#endif
