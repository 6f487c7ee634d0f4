/* W1 harmonic fit (bench/WORKLOADS.md): 50 harmonic amplitudes of 220 Hz at
 * 16 kHz, learnt from 0.1 against the target 0.5/k with the multi-scale
 * spectral loss and Adam (lr 0.01), 500 steps. The model is a weft patch
 * compiled from text, so the benchmark runs what a user's fit runs. Timed:
 * the 500 steps (forward, loss, backward, Adam), 5 times from the same init
 * after a 20-step warm-up. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "runtime/exec.h"

static const char *model = "rate 16 khz\n"
                           "length 1 s\n"
                           "param amps[50] = 0.1\n"
                           "out harmonic(220 hz, amps)\n";
static const char *target = "rate 16 khz\n"
                            "length 1 s\n"
                            "out harmonic(220 hz, 0.5 / range(50, start: 1))\n";

/* The model's start: every amplitude 0.1. */
static void reset(wf_params *ps)
{
    for (int k = 0; k < 50; k++)
        ps->v[0].value[k] = 0.1f;
}

static void keep_loss(int step, double loss, const wf_params *ps, void *ctx)
{
    (void)ps;
    ((double *)ctx)[step] = loss;
}

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_bench_task t;
    wf_bench_task_open(&t, "w1", target, model, 16000, 16000);
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_ADAM;
    oo.lr = 0.01;
    enum { RUNS = 5, STEPS = 500, WARMUP = 20 };
    double times[RUNS];
    wf_bench_fit(t.p, &t.ps, t.batch, 16000, &oo, reset, RUNS, STEPS, WARMUP, times);
    wf_bench_timing("W1", "ms_per_step", "ms", times, RUNS, 1000.0 / STEPS);
    double final = wf_bench_task_loss(&t);
    double err = 0;
    for (int k = 0; k < 50; k++)
        err = fmax(err, fabs(t.ps.v[0].value[k] - 0.5 / (k + 1)));
    wf_bench_value("W1", "final_loss", final);
    wf_bench_value("W1", "max_amp_error", err);
    /* the median loss of the fit's last 100 steps (bench/WORKLOADS.md W1:
     * the fit does not settle, one step's loss says little) */
    double losses[STEPS];
    wf_bench_replay(t.p, &t.ps, t.batch, 16000, &oo, reset, STEPS, keep_loss, losses);
    qsort(losses + STEPS - 100, 100, sizeof(double), wf_bench_cmp);
    wf_bench_value("W1", "median_loss_last100",
                   0.5 * (losses[STEPS - 100 + 49] + losses[STEPS - 100 + 50]));

    wf_bench_task_close(&t);
    return 0;
}
