/* W2 DDSP synth (bench/WORKLOADS.md): one forward and backward of a harmonic plus
 * filtered-noise synth through a learnable 16000-tap reverb, 16 kHz, 4 s,
 * 1000 frames, against a fixed target with the multi-scale spectral loss.
 * The synth is a weft patch compiled from text; its params are set through
 * the API (f0, the target and the initial values as bench/WORKLOADS.md defines
 * them). Timed, 7 times after 2 warm-ups each: forward only, forward and
 * loss, and forward, loss and backward (zeroed grads included). */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench.h"
#include "runtime/exec.h"
#include "runtime/fit.h"
#include "runtime/rng.h"
#include "runtime/util.h"

#define SR 16000
#define N 64000
#define F 1000
#define K 100
#define B 65
#define IR 16000
#define PI 3.14159265358979323846

static const char *patch = "rate 16 khz\n"
                           "frames 250 hz\n"
                           "length 4 s\n"
                           "param f0 = 440 hz per frame fixed\n"
                           "param A[100] = 0.01 per frame\n"
                           "param Nm[65] = 0.001 per frame\n"
                           "param h[16000] = 0\n"
                           "out reverb(harmonic(f0, A) + filtered_noise(noise(seed: 0), Nm), h)\n";

static wf_param *param(wf_params *ps, const char *name, size_t len)
{
    int i = wf_params_find(ps, name);
    if (i < 0 || wf_param_len(&ps->v[i]) != len) {
        fprintf(stderr, "w2: param '%s' is missing or has the wrong size\n", name);
        exit(1);
    }
    return &ps->v[i];
}

/* gain U(seed) exp(-n / tau) with a unit first tap, in double. */
static void decaying_ir(wf_real *h, uint64_t seed, double gain, double tau)
{
    for (int n = 0; n < IR; n++)
        h[n] = (wf_real)(gain * (double)wf_uniform(seed, (uint64_t)n) * exp(-n / tau));
    h[0] = 1;
}

/* f0 (both sets) and either the initial or the target values. */
static void set_params(wf_params *ps, int target)
{
    wf_real *f0 = param(ps, "f0", F)->value, *A = param(ps, "A", (size_t)F * K)->value;
    wf_real *Nm = param(ps, "Nm", (size_t)F * B)->value, *h = param(ps, "h", IR)->value;
    for (int f = 0; f < F; f++)
        f0[f] = (wf_real)(440.0 * pow(2.0, 0.02 * sin(2 * PI * 5 * f / 250.0)));
    for (int f = 0; f < F; f++)
        for (int k = 0; k < K; k++)
            A[f * K + k] =
                target ? (wf_real)((0.1 / (k + 1)) * (0.75 + 0.25 * sin(2 * PI * f / 250.0)))
                       : 0.01f;
    for (int i = 0; i < F * B; i++)
        Nm[i] =
            target ? (wf_real)(0.002 * (1.5 + 0.5 * (double)wf_uniform(2, (uint64_t)i))) : 0.001f;
    if (target)
        decaying_ir(h, 3, 0.1, 1600);
    else
        decaying_ir(h, 1, 0.01, 3200);
}

enum { REPS = 7, WARMUP = 2 };

typedef enum { FORWARD, FORWARD_LOSS, FORWARD_BACKWARD } what;

static void time_it(const char *metric, what w, wf_prog *whole, wf_prog *grad, wf_params *ps,
                    wf_batch *batch, wf_real *dy)
{
    double t[REPS];
    for (int r = -WARMUP; r < REPS; r++) {
        double t0 = wf_now();
        if (w == FORWARD) {
            wf_prog_forward(whole);
        } else if (w == FORWARD_LOSS) {
            const wf_real *y = wf_prog_forward(whole);
            wf_batch_loss(batch, &y, 1, NULL);
        } else {
            wf_fit_grad(grad, ps, batch, 0, dy);
        }
        double dt = wf_now() - t0;
        if (r >= 0)
            t[r] = dt;
    }
    wf_bench_timing("W2", metric, "ms", t, REPS, 1000.0);
}

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_diags d = {0};
    wf_patch *p = wf_bench_compile("w2", patch, &d);
    wf_env env = wf_patch_env(p->g, 0, SR, N);
    if (env.hop != 64 || env.nframes != F) {
        fprintf(stderr, "w2: expected 1000 frames of 64 samples, got %lld of %d\n",
                (long long)env.nframes, env.hop);
        return 1;
    }

    /* the target, once */
    wf_params tps;
    if (wf_params_init(&tps, p->g, &env, NULL, &d)) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        return 1;
    }
    set_params(&tps, 1);
    wf_prog *tprog = wf_prog_new(p->g, &env, &tps, WF_RUN_WHOLE, 0, &d);
    wf_real *y_target = wf_aalloc(sizeof(wf_real) * N);
    memcpy(y_target, wf_prog_forward(tprog), sizeof(wf_real) * N);
    wf_prog_free(tprog);
    wf_params_free(&tps);
    wf_batch_opts bo = {0};
    bo.loss.kind = WF_LOSS_MSS;
    const wf_real *targets[1] = {y_target};
    const int64_t frames[1] = {N};
    wf_batch *batch = wf_batch_new(targets, frames, NULL, 1, N, &bo, &d);

    wf_params ps;
    wf_params_init(&ps, p->g, &env, NULL, &d);
    set_params(&ps, 0);
    wf_prog *whole = wf_prog_new(p->g, &env, &ps, WF_RUN_WHOLE, 0, &d);
    wf_prog *grad = wf_prog_new(p->g, &env, &ps, WF_RUN_GRAD, 0, &d);
    if (!batch || !whole || !grad) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        return 1;
    }
    wf_real *dy = wf_aalloc(sizeof(wf_real) * N);

    time_it("forward_ms", FORWARD, whole, grad, &ps, batch, dy);
    time_it("forward_loss_ms", FORWARD_LOSS, whole, grad, &ps, batch, dy);
    time_it("forward_backward_ms", FORWARD_BACKWARD, whole, grad, &ps, batch, dy);
    const wf_real *y0 = wf_prog_forward(whole);
    wf_bench_value("W2", "mss_at_init", wf_batch_loss(batch, &y0, 1, NULL));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    wf_bench_value("W2", "peak_rss_mb", ru.ru_maxrss / 1024.0);
    wf_bench_value("W2", "arena_mb", (double)wf_prog_arena_bytes(grad) / (1024.0 * 1024.0));

    wf_afree(dy);
    wf_afree(y_target);
    wf_batch_free(batch);
    wf_prog_free(grad);
    wf_prog_free(whole);
    wf_params_free(&ps);
    wf_patch_free(p);
    wf_diags_free(&d);
    return 0;
}
