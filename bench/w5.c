/* W5a render (bench/WORKLOADS.md): 64 summed sines at 100 * 1.05^i Hz, gain 1/64,
 * 48 kHz, 10 s, forward only, streamed in blocks as `weft run` does, into
 * memory. Timed: the block loop (7 renders after 2 warm-ups, each from a
 * fresh program). Reported: samples per second, real-time factor, and the
 * largest error against the same sum computed in float64 with exact phases
 * frac(n f_i / sr). W5b (cascaded biquads) needs the filter nodes, which are
 * not in weft yet. */
#include <math.h>
#include <string.h>

#include "bench/bench.h"
#include "lang/compile.h"
#include "runtime/exec.h"
#include "runtime/util.h"

#define SR 48000
#define N 480000

static const char *patch = "rate 48 khz\n"
                           "length 10 s\n"
                           "out mix(sine(100 hz * pow(1.05, range(64)))) / 64\n";

int main(void)
{
    wf_diags d = {0};
    wf_compile_opts co = {0};
    wf_patch *p = wf_compile_text("w5a", patch, &co, &d);
    if (!p) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        return 1;
    }
    wf_env env = wf_patch_env(p->g, 0, SR, N);
    wf_params ps;
    wf_params_init(&ps, p->g, &env, NULL, &d);
    float *y = wf_aalloc(sizeof(float) * N);
    enum { REPS = 7, WARMUP = 2 };
    double times[REPS];
    for (int rep = -WARMUP; rep < REPS; rep++) {
        wf_prog *prog = wf_prog_new(p->g, &env, &ps, WF_RUN_STREAM, 2048, &d);
        int64_t at = 0;
        int n;
        const wf_real *b;
        double t0 = wf_now();
        while ((b = wf_prog_next_block(prog, &n))) {
            memcpy(y + at, b, sizeof(float) * (size_t)n);
            at += n;
        }
        double t = wf_now() - t0;
        if (rep >= 0)
            times[rep] = t;
        wf_prog_free(prog);
    }
    double err = 0;
    double f[64];
    for (int i = 0; i < 64; i++)
        f[i] = 100 * pow(1.05, i);
    for (int64_t n = 0; n < N; n++) {
        double s = 0;
        for (int i = 0; i < 64; i++) {
            double c = (double)n * f[i] / SR;
            s += sin(6.283185307179586 * (c - floor(c)));
        }
        err = fmax(err, fabs(s / 64 - (double)y[n]));
    }
    double t_sorted[REPS];
    memcpy(t_sorted, times, sizeof times);
    wf_bench_timing("W5a", "seconds", "s", t_sorted, REPS, 1.0);
    /* throughput figures from the median (after sorting above) */
    double med = t_sorted[REPS / 2];
    printf("{\"workload\": \"W5a\", \"impl\": \"weft\", \"metric\": \"samples_per_s\", \"median\": %.6g, "
           "\"min\": %.6g, \"max\": %.6g}\n",
           N / med, N / t_sorted[REPS - 1], N / t_sorted[0]);
    printf("{\"workload\": \"W5a\", \"impl\": \"weft\", \"metric\": \"x_realtime\", \"median\": %.6g, "
           "\"min\": %.6g, \"max\": %.6g}\n",
           10 / med, 10 / t_sorted[REPS - 1], 10 / t_sorted[0]);
    wf_bench_value("W5a", "max_abs_error", err);
    wf_afree(y);
    wf_params_free(&ps);
    wf_patch_free(p);
    wf_diags_free(&d);
    return 0;
}
