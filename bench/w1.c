/* W1 harmonic fit (bench/WORKLOADS.md): 50 harmonic amplitudes of 220 Hz at
 * 16 kHz, learnt from 0.1 against the target 0.5/k with the multi-scale
 * spectral loss and Adam (lr 0.01), 500 steps. The model is a weft patch
 * compiled from text, so the benchmark runs what a user's fit runs. Timed:
 * the 500 steps (forward, loss, backward, Adam), 5 times from the same init
 * after a 20-step warm-up. */
#include <math.h>
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

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_diags d = {0};
    wf_patch *tp = wf_bench_compile("w1-target", target, &d);
    wf_env env = wf_patch_env(tp->g, 0, 16000, 16000);
    wf_params tps;
    wf_params_init(&tps, tp->g, &env, NULL, &d);
    wf_prog *tprog = wf_prog_new(tp->g, &env, &tps, WF_RUN_WHOLE, 0, &d);
    wf_real *y_target = wf_aalloc(sizeof(wf_real) * 16000);
    memcpy(y_target, wf_prog_forward(tprog), sizeof(wf_real) * 16000);

    wf_patch *mp = wf_bench_compile("w1-model", model, &d);
    wf_params ps;
    wf_params_init(&ps, mp->g, &env, NULL, &d);
    wf_prog *p = wf_prog_new(mp->g, &env, &ps, WF_RUN_GRAD, 0, &d);
    wf_batch_opts bo = {0};
    bo.loss.kind = WF_LOSS_MSS;
    const wf_real *targets[1] = {y_target};
    const int64_t frames[1] = {16000};
    wf_batch *batch = wf_batch_new(targets, frames, NULL, 1, 16000, &bo, &d);
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_ADAM;
    oo.lr = 0.01;
    enum { RUNS = 5, STEPS = 500, WARMUP = 20 };
    double times[RUNS];
    wf_bench_fit(p, &ps, batch, 16000, &oo, reset, RUNS, STEPS, WARMUP, times);
    wf_bench_timing("W1", "ms_per_step", "ms", times, RUNS, 1000.0 / STEPS);
    const wf_real *y = wf_prog_forward(p);
    double final = wf_batch_loss(batch, &y, 1, NULL);
    double err = 0;
    for (int k = 0; k < 50; k++)
        err = fmax(err, fabs(ps.v[0].value[k] - 0.5 / (k + 1)));
    wf_bench_value("W1", "final_loss", final);
    wf_bench_value("W1", "max_amp_error", err);

    wf_afree(y_target);
    wf_batch_free(batch);
    wf_prog_free(p);
    wf_prog_free(tprog);
    wf_params_free(&ps);
    wf_params_free(&tps);
    wf_patch_free(mp);
    wf_patch_free(tp);
    wf_diags_free(&d);
    return 0;
}
