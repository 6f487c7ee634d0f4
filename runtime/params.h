/* The values of a patch's params during a run or a fit: one matrix per param
 * ([1 x size] for a vector, [frames x size] for `per frame`), its gradient of
 * the same shape, and the declaration it came from. */
#ifndef WF_PARAMS_H
#define WF_PARAMS_H

#include <stddef.h>

#include "runtime/diag.h"
#include "runtime/graph.h"
#include "runtime/real.h"

typedef struct wf_param {
    const wf_param_decl *decl;
    int rows, cols;
    wf_real *value;
    wf_real *grad;
} wf_param;

typedef struct wf_params {
    int n;
    wf_param *v;
} wf_params;

/* Allocates every param of g for a run of env's length and fills it with its
 * initial value (files are read relative to base_dir). On failure (-1, with
 * a diagnostic) nothing is left to free. */
int wf_params_init(wf_params *ps, const wf_graph *g, const wf_env *env, const char *base_dir,
                   wf_diags *d);
void wf_params_free(wf_params *ps);
void wf_params_zero_grad(wf_params *ps);
size_t wf_param_len(const wf_param *p);
int wf_params_find(const wf_params *ps, const char *name);
/* `--set name=value`: n values (1 broadcasts) checked against the declared
 * size and bounds. */
int wf_params_set(wf_params *ps, const char *name, const double *v, int n, wf_diags *d);

#endif
