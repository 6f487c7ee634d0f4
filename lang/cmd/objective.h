/* The side of set-up that fit and check share: options of the loss and the
 * target, and a GRAD program of the patch prepared against the target. */
#ifndef WF_CMD_OBJECTIVE_H
#define WF_CMD_OBJECTIVE_H

#include "lang/cmd/setup.h"
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
};

/* Options shared by fit and check. */
typedef struct common {
    wf_setup_opts so;
    wf_loss_opts loss;
    int loss_given;
} common;

/* Handles an option both commands take (getopt's c and optarg); 1 if
 * handled, 0 if not one of them, -status on a bad value. */
int wf_objective_opt(const char *cmd, int c, common *co);
void wf_objective_free(common *co);
/* Compiles, sizes and prepares a GRAD program against the target (or none). */
int wf_objective_prepare(common *co, wf_setup *s, wf_prog **prog, wf_real **target,
                         wf_loss **loss, wf_diags *d);

#endif
