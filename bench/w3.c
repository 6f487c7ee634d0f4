/* W3 biquad fit (bench/WORKLOADS.md): the cutoff and Q of an RBJ lowpass,
 * fc = exp(theta_f) and Q = exp(theta_q), learnt from ln 3000 and ln 2
 * against the target fc = 1000, Q = 0.7071 on 1 s of noise at 44.1 kHz,
 * with the multi-scale spectral loss and Adam (lr 0.05), 200 steps. The
 * model is a weft patch compiled from text (the biquad node, its
 * coefficients computed from theta in every step), so the benchmark runs
 * what a user's fit runs. Timed: the 200 steps (forward, loss, backward,
 * Adam), 5 times from the same init after a 5-step warm-up. */
#include <math.h>
#include <string.h>

#include "bench/bench.h"
#include "runtime/exec.h"

#define SR 44100
#define N 44100

static const char *model = "rate 44100 hz\n"
                           "length 1 s\n"
                           "param tf = 8\n"
                           "param tq = 0.7\n"
                           "out biquad(noise(seed: 0), kind: lowpass, freq: exp(tf), q: exp(tq))\n";
static const char *target = "rate 44100 hz\n"
                            "length 1 s\n"
                            "out biquad(noise(seed: 0), kind: lowpass, freq: 1000, q: 0.7071)\n";

static wf_real *param(wf_params *ps, const char *name)
{
    return ps->v[wf_params_find(ps, name)].value;
}

/* The model's start: fc = 3000 Hz, Q = 2. */
static void reset(wf_params *ps)
{
    param(ps, "tf")[0] = (wf_real)log(3000.0);
    param(ps, "tq")[0] = (wf_real)log(2.0);
}

/* Means of fc and Q over the steps from `from` on. */
struct last_means {
    int from, count;
    double fc, q;
};

static void add_means(int step, double loss, const wf_params *ps, void *ctx)
{
    (void)loss;
    struct last_means *m = ctx;
    if (step < m->from)
        return;
    m->fc += exp(ps->v[wf_params_find(ps, "tf")].value[0]) / m->count;
    m->q += exp(ps->v[wf_params_find(ps, "tq")].value[0]) / m->count;
}

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_bench_task t;
    wf_bench_task_open(&t, "w3", target, model, SR, N);
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_ADAM;
    oo.lr = 0.05;
    enum { RUNS = 5, STEPS = 200, WARMUP = 5, LAST = 50 };
    double times[RUNS];
    wf_bench_fit(t.p, &t.ps, t.batch, N, &oo, reset, RUNS, STEPS, WARMUP, times);
    wf_bench_timing("W3", "ms_per_step", "ms", times, RUNS, 1000.0 / STEPS);
    double final = wf_bench_task_loss(&t);
    wf_bench_value("W3", "final_fc", exp(param(&t.ps, "tf")[0]));
    wf_bench_value("W3", "final_q", exp(param(&t.ps, "tq")[0]));
    wf_bench_value("W3", "final_loss", final);

    /* the mean fc and Q over the fit's last LAST steps (bench/WORKLOADS.md
     * W3: Adam still swings them at step 200) */
    struct last_means m = {STEPS - LAST, LAST, 0, 0};
    wf_bench_replay(t.p, &t.ps, t.batch, N, &oo, reset, STEPS, add_means, &m);
    wf_bench_value("W3", "mean_fc_last50", m.fc);
    wf_bench_value("W3", "mean_q_last50", m.q);

    wf_bench_task_close(&t);
    return 0;
}
