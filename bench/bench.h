/* Shared helpers of weft's benchmark programs: compiling a patch, timing
 * statistics and the
 * JSON lines that bench/run.py pairs with the PyTorch and Faust figures
 * (one object per figure: workload, impl, metric, median/min/max or value). */
#ifndef WF_BENCH_H
#define WF_BENCH_H

#include <stdio.h>
#include <stdlib.h>

#include "lang/cli.h"
#include "lang/compile.h"
#include "runtime/batch.h"
#include "runtime/exec.h"
#include "runtime/fit.h"
#include "runtime/util.h"

static int wf_bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints median, min and max of n timings (sorted in place), scaled. */
static void wf_bench_timing(const char *workload, const char *metric, const char *unit,
                            double *t, int n, double scale)
{
    qsort(t, (size_t)n, sizeof *t, wf_bench_cmp);
    double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    printf("{\"workload\": \"%s\", \"impl\": \"weft\", \"metric\": \"%s\", \"median\": %.6g, "
           "\"min\": %.6g, \"max\": %.6g, \"unit\": \"%s\"}\n",
           workload, metric, med * scale, t[0] * scale, t[n - 1] * scale, unit);
    fflush(stdout);
}

static void wf_bench_value(const char *workload, const char *metric, double v)
{
    printf("{\"workload\": \"%s\", \"impl\": \"weft\", \"metric\": \"%s\", \"value\": %.9g}\n",
           workload, metric, v);
    fflush(stdout);
}

/* A workload's patch, compiled from its text; exits with the compiler's
 * diagnostics if it does not compile. */
static inline wf_patch *wf_bench_compile(const char *name, const char *text, wf_diags *d)
{
    wf_compile_opts co = {0};
    wf_patch *p = wf_compile_text(name, text, &co, d);
    if (!p) {
        wf_diags_print(stderr, d, WF_DIAG_TEXT);
        exit(1);
    }
    return p;
}

/* Times `runs` fits of `steps` optimizer steps on batch b of n-sample
 * signals (forward, loss, backward, update), after one warm-up fit of
 * `warmup` steps; every fit starts from the values reset(ps) sets.
 * times[runs] gets the seconds. */
static inline void wf_bench_fit(wf_prog *p, wf_params *ps, wf_batch *b, int64_t n,
                                const wf_optim_opts *oo, void (*reset)(wf_params *), int runs,
                                int steps, int warmup, double *times)
{
    wf_real *dy = wf_aalloc(sizeof(wf_real) * (size_t)n);
    for (int run = -1; run < runs; run++) {
        reset(ps);
        wf_optim *opt = wf_optim_new(ps, oo);
        int count = run < 0 ? warmup : steps;
        double t0 = wf_now();
        for (int s = 0; s < count; s++) {
            wf_fit_grad(p, ps, b, s, dy);
            wf_optim_step(opt, ps);
        }
        double t = wf_now() - t0;
        if (run >= 0)
            times[run] = t;
        wf_optim_free(opt);
    }
    wf_afree(dy);
}

/* The fit once more, untimed, from reset: after each of the steps, each(step,
 * the loss the step's gradient came with, the params, ctx), for figures
 * about the end of a fit that one step's values do not show. */
static inline void wf_bench_replay(wf_prog *p, wf_params *ps, wf_batch *b, int64_t n,
                                   const wf_optim_opts *oo, void (*reset)(wf_params *), int steps,
                                   void (*each)(int, double, const wf_params *, void *), void *ctx)
{
    wf_real *dy = wf_aalloc(sizeof(wf_real) * (size_t)n);
    reset(ps);
    wf_optim *opt = wf_optim_new(ps, oo);
    for (int s = 0; s < steps; s++) {
        double loss = wf_fit_grad(p, ps, b, s, dy);
        wf_optim_step(opt, ps);
        each(s, loss, ps, ctx);
    }
    wf_optim_free(opt);
    wf_afree(dy);
}

/* A fit workload: a target patch rendered once, and the model patch
 * planned for gradients against it with the multi-scale spectral loss, both
 * n samples at rate sr. */
typedef struct wf_bench_task {
    wf_diags d;
    wf_env env;
    wf_patch *tp, *mp;
    wf_params tps, ps;
    wf_prog *tprog, *p;
    wf_real *y_target;
    wf_batch *batch;
} wf_bench_task;

static inline void wf_bench_task_open(wf_bench_task *t, const char *name, const char *target,
                                      const char *model, double sr, int64_t n)
{
    memset(t, 0, sizeof *t);
    char tname[64], mname[64];
    snprintf(tname, sizeof tname, "%s-target", name);
    snprintf(mname, sizeof mname, "%s-model", name);
    t->tp = wf_bench_compile(tname, target, &t->d);
    t->env = wf_patch_env(t->tp->g, 0, sr, n);
    wf_params_init(&t->tps, t->tp->g, &t->env, NULL, &t->d);
    t->tprog = wf_prog_new(t->tp->g, &t->env, &t->tps, WF_RUN_WHOLE, 0, &t->d);
    t->y_target = wf_aalloc(sizeof(wf_real) * (size_t)n);
    memcpy(t->y_target, wf_prog_forward(t->tprog), sizeof(wf_real) * (size_t)n);
    t->mp = wf_bench_compile(mname, model, &t->d);
    wf_params_init(&t->ps, t->mp->g, &t->env, NULL, &t->d);
    t->p = wf_prog_new(t->mp->g, &t->env, &t->ps, WF_RUN_GRAD, 0, &t->d);
    wf_batch_opts bo = {0};
    bo.loss.kind = WF_LOSS_MSS;
    const wf_real *targets[1] = {t->y_target};
    const int64_t frames[1] = {n};
    t->batch = wf_batch_new(targets, frames, NULL, 1, n, &bo, &t->d);
}

/* The model's loss at its params' values now. */
static inline double wf_bench_task_loss(wf_bench_task *t)
{
    const wf_real *y = wf_prog_forward(t->p);
    return wf_batch_loss(t->batch, &y, 1, NULL);
}

static inline void wf_bench_task_close(wf_bench_task *t)
{
    wf_afree(t->y_target);
    wf_batch_free(t->batch);
    wf_prog_free(t->p);
    wf_prog_free(t->tprog);
    wf_params_free(&t->ps);
    wf_params_free(&t->tps);
    wf_patch_free(t->mp);
    wf_patch_free(t->tp);
    wf_diags_free(&t->d);
}

#endif
