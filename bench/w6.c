/* W6 effect-chain fit (bench/WORKLOADS.md): one fit step of a six-band
 * parametric EQ into a compressor on 5 s of 44.1 kHz audio (noise with a
 * 3 Hz level swing), with the multi-scale spectral loss and Adam (lr 0.01):
 * all 18 EQ params (gain, freq, q per band) and the compressor's 6 learnt
 * together from a flat EQ and a mild compressor towards a target rendered
 * by the same chain at other settings. The model is a weft patch compiled
 * from text (eq and compressor, exact recursive filters: the EQ is RBJ
 * biquads run on the SIMD cascade, the compressor's attack/release
 * smoother switches per sample), so the benchmark runs what a user's fit
 * runs. Timed: 5 steps (forward, loss, backward, Adam), 3 times from the
 * same init after a 1-step warm-up. */
#include <math.h>
#include <string.h>

#include "bench/bench.h"
#include "runtime/exec.h"

#define SR 44100
#define N (5 * SR)

#define SOURCE "x = 0.5 * noise(seed: 0) * (0.55 + 0.45 * sine(3 hz))\n"

static const char *model =
    "rate 44100 hz\n"
    "length 5 s\n" SOURCE
    "param g[6] = 0\n"
    "param f[6] = [200, 400, 4000, 9800, 16000, 9200]\n"
    "param q[6] = 0.7071\n"
    "param thr = -12\nparam ratio = 2\nparam knee = 3\n"
    "param att = 10\nparam rel = 100\nparam makeup = 0\n"
    "out compressor(eq(x, gain: g, freq: f, q: q), threshold: thr, ratio: ratio, knee: knee,"
    " attack: att / 1000, release: rel / 1000, makeup: makeup)\n";
static const char *target =
    "rate 44100 hz\n"
    "length 5 s\n" SOURCE
    "out compressor(eq(x, gain: [4, -3, 5, -6, 3, -4], freq: [150, 600, 3000, 9000, 14000, 10000],"
    " q: [0.9, 1.5, 2, 1, 0.8, 0.7]), threshold: -24, ratio: 4, knee: 6, attack: 0.005,"
    " release: 0.06, makeup: 3)\n";

static void set(wf_params *ps, const char *name, const double *v, int n)
{
    wf_real *p = ps->v[wf_params_find(ps, name)].value;
    for (int i = 0; i < n; i++)
        p[i] = (wf_real)v[i];
}

/* The model's start: a flat EQ at its default bands, a mild compressor. */
static void reset(wf_params *ps)
{
    static const double g[6] = {0, 0, 0, 0, 0, 0}, f[6] = {200, 400, 4000, 9800, 16000, 9200};
    static const double q[6] = {0.7071, 0.7071, 0.7071, 0.7071, 0.7071, 0.7071};
    set(ps, "g", g, 6);
    set(ps, "f", f, 6);
    set(ps, "q", q, 6);
    set(ps, "thr", (double[]){-12}, 1);
    set(ps, "ratio", (double[]){2}, 1);
    set(ps, "knee", (double[]){3}, 1);
    set(ps, "att", (double[]){10}, 1);
    set(ps, "rel", (double[]){100}, 1);
    set(ps, "makeup", (double[]){0}, 1);
}

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_bench_task t;
    wf_bench_task_open(&t, "w6", target, model, SR, N);
    reset(&t.ps);
    wf_bench_value("W6", "loss_at_init", wf_bench_task_loss(&t));
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_ADAM;
    oo.lr = 0.01;
    enum { RUNS = 3, STEPS = 5, WARMUP = 1 };
    double times[RUNS];
    wf_bench_fit(t.p, &t.ps, t.batch, N, &oo, reset, RUNS, STEPS, WARMUP, times);
    wf_bench_timing("W6", "ms_per_step", "ms", times, RUNS, 1000.0 / STEPS);
    wf_bench_value("W6", "final_loss", wf_bench_task_loss(&t));

    wf_bench_task_close(&t);
    return 0;
}
