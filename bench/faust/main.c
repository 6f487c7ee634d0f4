/* Faust peer of W5 (bench/WORKLOADS.md): renders a Faust-compiled DSP for
 * 480000 samples at 48 kHz in blocks of 512 into memory, 7 timed renders after
 * 2 warm-ups, each from a freshly initialised DSP, and prints the figures as
 * JSON lines for bench/run.py. build.sh compiles it once per part with
 * FAUST_DSP naming the generated C file and W5B selecting part (b). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <faust/gui/CInterface.h>

/* Faust's C backend leaves the integer min and max (table index clamping) to
 * the architecture file, as its own minimal.c does. */
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a < b ? b : a; }

#include FAUST_DSP

#define SR 48000
#define N 480000
#define BLOCK 512
#define WARMUP 2
#define REPS 7

#if W5B
#define WORKLOAD "W5b"
#define MAX_ERROR 1e-4 /* float32 cascade vs float64: about 3e-6 here */
#else
#define WORKLOAD "W5a"
#define MAX_ERROR 2e-2 /* about 7e-3 here: float32 phase drift and table lookup */
#endif

/* Value i of splitmix64 stream `seed` as a float32 uniform in [-1, 1). */
static float uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-23 - 1.0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One render from a fresh DSP; returns the seconds spent in the block loop. */
static double render(const float *in, float *out)
{
    mydsp *dsp = newmydsp();
    initmydsp(dsp, SR);
    double t0 = now();
    for (int off = 0; off < N; off += BLOCK) {
        int n = N - off < BLOCK ? N - off : BLOCK;
        FAUSTFLOAT *ins[1] = { in ? (FAUSTFLOAT *)in + off : NULL };
        FAUSTFLOAT *outs[1] = { out + off };
        computemydsp(dsp, n, ins, outs);
    }
    double t = now() - t0;
    deletemydsp(dsp);
    return t;
}

#if W5B
/* The same cascade in float64 from the same float32-rounded coefficients. */
static void reference(const float *x, double *y)
{
    for (int n = 0; n < N; n++)
        y[n] = x[n];
    for (int s = 1; s <= 8; s++) {
        double w0 = 2 * M_PI * 500 * s / SR, alpha = sin(w0) / (2 * 0.7071);
        double a0 = 1 + alpha, cw = cos(w0);
        double b0 = (float)((1 - cw) / 2 / a0), b1 = (float)((1 - cw) / a0), b2 = b0;
        double a1 = (float)(-2 * cw / a0), a2 = (float)((1 - alpha) / a0);
        double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
        for (int n = 0; n < N; n++) {
            double v = b0 * y[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1, x1 = y[n], y2 = y1, y1 = v;
            y[n] = v;
        }
    }
}
#else
/* The exact signal; os.osc starts at phase f/sr, so Faust's sample n is y[n + 1]. */
static void reference(const float *x, double *y)
{
    (void)x;
    for (int n = 0; n < N; n++)
        y[n] = 0;
    for (int i = 0; i < 64; i++) {
        double f = 100 * pow(1.05, i) / SR;
        for (int n = 0; n < N; n++) {
            double c = (double)(n + 1) * f;
            y[n] += sin(2 * M_PI * (c - floor(c))) / 64;
        }
    }
}
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    float *x = NULL, *y = malloc(N * sizeof *y);
    double *ref = malloc(N * sizeof *ref), t[REPS];
    if (!y || !ref)
        return 1;
    if (W5B) {
        if (!(x = malloc(N * sizeof *x)))
            return 1;
        for (int n = 0; n < N; n++)
            x[n] = uniform(0, (uint64_t)n);
    }
    for (int r = 0; r < WARMUP; r++)
        render(x, y);
    for (int r = 0; r < REPS; r++)
        t[r] = render(x, y);
    qsort(t, REPS, sizeof t[0], cmp_double);

    reference(x, ref);
    double err = 0;
    for (int n = 0; n < N; n++)
        err = fmax(err, fabs((double)y[n] - ref[n]));
    if (!(err <= MAX_ERROR)) {
        fprintf(stderr, "faust %s: max |y - y_f64| = %g, expected below %g\n", WORKLOAD, err,
                MAX_ERROR);
        return 1;
    }

    double med = t[REPS / 2], dur = (double)N / SR;
    printf("{\"workload\": \"%s\", \"impl\": \"faust\", \"metric\": \"samples_per_s\", "
           "\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"unit\": \"samples/s\"}\n",
           WORKLOAD, N / med, N / t[REPS - 1], N / t[0]);
    printf("{\"workload\": \"%s\", \"impl\": \"faust\", \"metric\": \"x_realtime\", "
           "\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"unit\": \"x\"}\n",
           WORKLOAD, dur / med, dur / t[REPS - 1], dur / t[0]);
    printf("{\"workload\": \"%s\", \"impl\": \"faust\", \"metric\": \"max_abs_error\", "
           "\"value\": %.6g}\n", WORKLOAD, err);
    free(x);
    free(y);
    free(ref);
    return 0;
}
