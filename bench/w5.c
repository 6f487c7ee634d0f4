/* W5a render (bench/WORKLOADS.md): 64 summed sines at 100 * 1.05^i Hz, gain 1/64,
 * 48 kHz, 10 s, forward only, streamed in blocks as `weft run` does, into
 * memory. Timed: the block loop (7 renders after 2 warm-ups, each from a
 * fresh program). Reported: samples per second, real-time factor, and the
 * largest error against the same sum computed in float64 with exact phases
 * frac(n f_i / sr).
 * W5b render: 8 cascaded RBJ lowpass biquads (fc = 500..4000 Hz, Q = 0.7071,
 * coefficients computed in float64 and rounded to float32) over 10 s of
 * noise U(0, 480000) at 48 kHz: the patch sos(x, sections), the sections a
 * constant param set here and x an input made here before the timing (as
 * Faust's main.c makes its input), streamed and timed as W5a. Its error is
 * against the same cascade run in float64 from the same float32
 * coefficients. */
#include <math.h>
#include <string.h>

#include "bench/bench.h"
#include "runtime/exec.h"
#include "runtime/util.h"

#define SR 48000
#define N 480000

static const char *patch = "rate 48 khz\n"
                           "length 10 s\n"
                           "out mix(sine(100 hz * pow(1.05, range(64)))) / 64\n";
static const char *patch_b = "rate 48 khz\n"
                             "length 10 s\n"
                             "input x\n"
                             "param sections[48] = 0\n"
                             "out sos(x, sections)\n";

/* Renders the patch 7 times after 2 warm-ups, streamed in blocks of 2048
 * into y, each from a fresh program reading x as its input (NULL: none);
 * the times go to times[7]. */
static void render(const wf_patch *p, const wf_env *env, wf_params *ps, const float *x, float *y,
                   double *times, wf_diags *d)
{
    enum { REPS = 7, WARMUP = 2 };
    for (int rep = -WARMUP; rep < REPS; rep++) {
        wf_prog *prog = wf_prog_new(p->g, env, ps, WF_RUN_STREAM, 2048, d);
        if (x)
            wf_prog_set_input(prog, 0, 0, x);
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
}

/* seconds, samples per second and the real-time factor from 7 times. */
static void report(const char *w, double *t)
{
    wf_bench_timing(w, "seconds", "s", t, 7, 1.0);
    /* throughput figures from the median (after sorting above) */
    double med = t[3];
    printf("{\"workload\": \"%s\", \"impl\": \"weft\", \"metric\": \"samples_per_s\", \"median\": %.6g, "
           "\"min\": %.6g, \"max\": %.6g}\n",
           w, N / med, N / t[6], N / t[0]);
    printf("{\"workload\": \"%s\", \"impl\": \"weft\", \"metric\": \"x_realtime\", \"median\": %.6g, "
           "\"min\": %.6g, \"max\": %.6g}\n",
           w, 10 / med, 10 / t[6], 10 / t[0]);
}

/* W5b: the sections, and the float64 cascade from them. */
static void w5b(float *y, wf_diags *d)
{
    wf_patch *p = wf_bench_compile("w5b", patch_b, d);
    wf_env env = wf_patch_env(p->g, 0, SR, N);
    wf_params ps;
    wf_params_init(&ps, p->g, &env, NULL, d);
    wf_real *sec = ps.v[wf_params_find(&ps, "sections")].value;
    for (int i = 0; i < 8; i++) {
        double w0 = 2 * 3.141592653589793 * 500 * (i + 1) / SR, alpha = sin(w0) / (2 * 0.7071);
        double a0 = 1 + alpha, cw = cos(w0);
        double row[6] = {(1 - cw) / 2 / a0, (1 - cw) / a0, (1 - cw) / 2 / a0, 1, -2 * cw / a0,
                         (1 - alpha) / a0};
        for (int m = 0; m < 6; m++)
            sec[6 * i + m] = (float)row[m];
    }
    /* x = U(0, N), bench/WORKLOADS.md 0.1 */
    float *x = wf_aalloc(sizeof(float) * N);
    for (int64_t n = 0; n < N; n++) {
        uint64_t z = (uint64_t)(n + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[n] = (float)((double)(z >> 40) * 0x1p-23 - 1.0);
    }
    double times[7];
    render(p, &env, &ps, x, y, times, d);
    /* the same x through the same sections in float64 */
    double s1[8] = {0}, s2[8] = {0}, err = 0;
    for (int64_t n = 0; n < N; n++) {
        double v = x[n];
        for (int i = 0; i < 8; i++) {
            const wf_real *r = sec + 6 * i;
            double out = r[0] * v + s1[i];
            s1[i] = r[1] * v - r[4] * out + s2[i];
            s2[i] = r[2] * v - r[5] * out;
            v = out;
        }
        err = fmax(err, fabs(v - (double)y[n]));
    }
    report("W5b", times);
    wf_bench_value("W5b", "max_abs_error", err);
    wf_afree(x);
    wf_params_free(&ps);
    wf_patch_free(p);
}

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_diags d = {0};
    wf_patch *p = wf_bench_compile("w5a", patch, &d);
    wf_env env = wf_patch_env(p->g, 0, SR, N);
    wf_params ps;
    wf_params_init(&ps, p->g, &env, NULL, &d);
    float *y = wf_aalloc(sizeof(float) * N);
    double times[7];
    render(p, &env, &ps, NULL, y, times, &d);
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
    report("W5a", times);
    wf_bench_value("W5a", "max_abs_error", err);
    w5b(y, &d);
    wf_afree(y);
    wf_params_free(&ps);
    wf_patch_free(p);
    wf_diags_free(&d);
    return 0;
}
