/* Shared helpers of weft's benchmark programs: timing statistics and the
 * JSON lines that bench/run.py pairs with the PyTorch and Faust figures
 * (one object per figure: workload, impl, metric, median/min/max or value). */
#ifndef WF_BENCH_H
#define WF_BENCH_H

#include <stdio.h>
#include <stdlib.h>

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


#endif
