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

#endif
