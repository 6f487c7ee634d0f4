/* Fitting: the optimizers against hand-computed steps, schedules, clipping
 * and bounds; both FFT backends against each other; and the DDSP tutorial's
 * fits (intro2ddsp.github.io) on targets made by the same patches with known
 * values, which must be recovered: a gain (where waveform L1 fails on a
 * phase-shifted target and the spectral loss does not), an oscillator's
 * amplitude and log-frequency, W1's 50 harmonic amplitudes, and a harmonic
 * synthesizer on a real flute recording. Also: rewriting the fitted values
 * into the source, stopping, divergence, reproducibility. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lang/compile.h"
#include "lang/rewrite.h"
#include "runtime/audio.h"
#include "runtime/exec.h"
#include "runtime/fft.h"
#include "runtime/fit.h"
#include "runtime/rng.h"
#include "runtime/util.h"

/* ------------------------------------------------------------ fixtures */

typedef struct run {
    wf_patch *patch;
    wf_env env;
    wf_params ps;
    wf_prog *prog;
} run;

static void run_open(run *r, const char *path, const char *text, int64_t nsamples, double rate,
                     wf_run_mode mode)
{
    wf_diags d = {0};
    wf_compile_opts co = {0};
    r->patch = text ? wf_compile_text(path, text, &co, &d) : wf_compile_file(path, &co, &d);
    if (!r->patch)
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
    assert_non_null(r->patch);
    double sr = wf_patch_rate(r->patch->g, 0, rate);
    if (nsamples <= 0)
        nsamples = (int64_t)(r->patch->g->length * sr + 0.5);
    r->env = wf_patch_env(r->patch->g, 0, rate, nsamples);
    assert_int_equal(wf_params_init(&r->ps, r->patch->g, &r->env, r->patch->dir, &d), 0);
    r->prog = wf_prog_new(r->patch->g, &r->env, &r->ps, mode, 0, &d);
    assert_non_null(r->prog);
    wf_diags_free(&d);
}

static void run_close(run *r)
{
    wf_prog_free(r->prog);
    wf_params_free(&r->ps);
    wf_patch_free(r->patch);
}

static wf_param *param(run *r, const char *name)
{
    int i = wf_params_find(&r->ps, name);
    assert_true(i >= 0);
    return &r->ps.v[i];
}

/* Renders `path` with some params set, as a fit target. */
static wf_real *render(const char *path, const char *set1, double v1, const char *set2, double v2,
                       int64_t *n)
{
    run r;
    run_open(&r, path, NULL, 0, 16000, WF_RUN_WHOLE);
    if (set1)
        param(&r, set1)->value[0] = (wf_real)v1;
    if (set2)
        param(&r, set2)->value[0] = (wf_real)v2;
    *n = r.env.nsamples;
    wf_real *y = wf_aalloc(sizeof(wf_real) * (size_t)*n);
    memcpy(y, wf_prog_forward(r.prog), sizeof(wf_real) * (size_t)*n);
    run_close(&r);
    return y;
}

/* A batch of one recording, the target. */
static wf_batch *one_target(const wf_real *t, int64_t n, const wf_loss_opts *lo, wf_diags *d)
{
    wf_batch_opts bo = {0};
    bo.loss = *lo;
    const wf_real *targets[1] = {t};
    const int64_t frames[1] = {n};
    return wf_batch_new(targets, frames, NULL, 1, n, &bo, d);
}

/* The batch's loss of the program's out now. */
static double batch_loss(wf_batch *b, wf_prog *p)
{
    const wf_real *y = wf_prog_forward(p);
    return wf_batch_loss(b, &y, 1, NULL);
}

static wf_fit_result fit_with(run *r, const wf_real *target, const wf_loss_opts *lo, double lr,
                              int steps)
{
    wf_diags d = {0};
    wf_batch *L = one_target(target, r->env.nsamples, lo, &d);
    assert_non_null(L);
    wf_fit_opts fo = {0};
    fo.steps = steps;
    fo.optim.kind = WF_OPTIM_ADAM;
    fo.optim.lr = lr;
    wf_fit_result res;
    assert_int_equal(wf_fit(r->prog, &r->ps, L, &fo, &res, &d), 0);
    assert_int_equal(res.status, WF_FIT_DONE);
    assert_int_equal(res.steps, steps);
    assert_true(res.final_loss < res.first_loss);
    wf_batch_free(L);
    wf_diags_free(&d);
    return res;
}

static wf_fit_result fit(run *r, const wf_real *target, wf_loss_kind kind, double lr, int steps)
{
    wf_loss_opts lo = {0};
    lo.kind = kind;
    return fit_with(r, target, &lo, lr, steps);
}

/* The spectral loss without its log term: smooth in frequency within the
 * largest FFT's main lobe (the log term's near-empty bins make it rough). */
static wf_loss_opts linear_mss(void)
{
    wf_loss_opts lo = {0};
    lo.kind = WF_LOSS_MSS;
    lo.lin_weight = 1;
    lo.log_weight = 0;
    lo.weights_given = 1;
    return lo;
}

#define EX(name) WF_SOURCE_DIR "/examples/" name

/* ---------------------------------------------------------- optimizers */

static wf_params one_param(wf_param_decl *pd, double v)
{
    wf_params ps;
    ps.n = 1;
    ps.v = wf_xcalloc(1, sizeof *ps.v);
    ps.v[0].decl = pd;
    ps.v[0].rows = 1;
    ps.v[0].cols = pd->size;
    ps.v[0].value = wf_aalloc(sizeof(wf_real) * (size_t)pd->size);
    ps.v[0].grad = wf_aalloc(sizeof(wf_real) * (size_t)pd->size);
    for (int i = 0; i < pd->size; i++)
        ps.v[0].value[i] = (wf_real)v;
    return ps;
}

static void test_adam_steps(void **state)
{
    (void)state;
    wf_param_decl pd = {0};
    pd.size = 1;
    wf_params ps = one_param(&pd, 1.0);
    wf_optim_opts oo = {0};
    oo.lr = 0.1;
    wf_optim *o = wf_optim_new(&ps, &oo);
    /* reference: Adam in double, gradients of f(x) = x^2 */
    double x = 1, m = 0, v = 0;
    for (int t = 1; t <= 20; t++) {
        double g = 2 * x;
        ps.v[0].grad[0] = (wf_real)(2 * ps.v[0].value[0]);
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        double mh = m / (1 - pow(0.9, t)), vh = v / (1 - pow(0.999, t));
        x -= 0.1 * mh / (sqrt(vh) + 1e-8);
        wf_optim_step(o, &ps);
        assert_close(ps.v[0].value[0], x, 1e-4, 1e-5); /* float32 state */
    }
    /* the first Adam step moves by lr whatever the gradient's size */
    wf_optim_free(o);
    ps.v[0].value[0] = 3;
    o = wf_optim_new(&ps, &oo);
    ps.v[0].grad[0] = 1e-3f;
    wf_optim_step(o, &ps);
    assert_close(ps.v[0].value[0], 2.9, 1e-6, 1e-6);
    wf_optim_free(o);
    wf_params_free(&ps);
}

static void test_sgd_momentum(void **state)
{
    (void)state;
    wf_param_decl pd = {0};
    pd.size = 1;
    wf_params ps = one_param(&pd, 0.0);
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_SGD;
    oo.lr = 0.5;
    oo.momentum = 0.9;
    wf_optim *o = wf_optim_new(&ps, &oo);
    double x = 0, buf = 0;
    for (int t = 0; t < 5; t++) {
        ps.v[0].grad[0] = 1;
        buf = 0.9 * buf + 1;
        x -= 0.5 * buf;
        wf_optim_step(o, &ps);
        assert_close(ps.v[0].value[0], x, 1e-6, 1e-6);
    }
    wf_optim_free(o);
    wf_params_free(&ps);
}

static void test_schedules(void **state)
{
    (void)state;
    wf_param_decl pd = {0};
    pd.size = 1;
    wf_params ps = one_param(&pd, 0.0);
    wf_optim_opts oo = {0};
    oo.lr = 0.2;
    oo.sched = WF_SCHED_EXP;
    oo.decay = 0.1;
    oo.total_steps = 100;
    wf_optim *o = wf_optim_new(&ps, &oo);
    assert_close(wf_optim_lr(o, 0), 0.2, 1e-12, 0);
    assert_close(wf_optim_lr(o, 50), 0.2 * sqrt(0.1), 1e-12, 0);
    assert_close(wf_optim_lr(o, 100), 0.02, 1e-12, 0);
    wf_optim_free(o);
    oo.sched = WF_SCHED_COSINE;
    o = wf_optim_new(&ps, &oo);
    assert_close(wf_optim_lr(o, 0), 0.2, 1e-12, 0);
    assert_close(wf_optim_lr(o, 50), 0.1, 1e-12, 0);
    assert_close(wf_optim_lr(o, 100), 0.0, 0, 1e-15);
    wf_optim_free(o);
    wf_params_free(&ps);
}

static void test_clip_and_bounds(void **state)
{
    (void)state;
    /* SGD with clipping: the step follows the clipped gradient */
    wf_param_decl pd = {0};
    pd.size = 2;
    wf_params ps = one_param(&pd, 0.0);
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_SGD;
    oo.lr = 1;
    oo.clip = 1;
    wf_optim *o = wf_optim_new(&ps, &oo);
    ps.v[0].grad[0] = 3;
    ps.v[0].grad[1] = 4;
    assert_close(wf_optim_step(o, &ps), 5, 1e-6, 0);
    assert_close(ps.v[0].value[0], -0.6, 1e-6, 0);
    assert_close(ps.v[0].value[1], -0.8, 1e-6, 0);
    wf_optim_free(o);
    wf_params_free(&ps);

    /* bounds are kept by projection */
    pd.size = 1;
    pd.bounded = 1;
    pd.lo = 0;
    pd.hi = 1;
    ps = one_param(&pd, 0.95);
    oo.clip = 0;
    o = wf_optim_new(&ps, &oo);
    ps.v[0].grad[0] = -10;
    wf_optim_step(o, &ps);
    assert_close(ps.v[0].value[0], 1.0, 0, 0);
    ps.v[0].grad[0] = 100;
    wf_optim_step(o, &ps);
    assert_close(ps.v[0].value[0], 0.0, 0, 0);
    wf_optim_free(o);
    wf_params_free(&ps);

    /* a log param moves by relative steps: d/dtheta = v d/dv */
    pd.bounded = 0;
    pd.log = 1;
    ps = one_param(&pd, 100.0);
    oo.lr = 0.1;
    o = wf_optim_new(&ps, &oo);
    ps.v[0].grad[0] = 0.01f; /* d/dtheta = 1 */
    wf_optim_step(o, &ps);
    assert_close(ps.v[0].value[0], 100 * exp(-0.1), 1e-6, 0);
    wf_optim_free(o);
    wf_params_free(&ps);
}

/* ------------------------------------------------------- FFT backends */

static void test_backends_agree(void **state)
{
    (void)state;
    if (wf_fft_set_backend(WF_FFT_FFTW) != 0)
        skip();
    /* broadband signals: every bin well above the FFTs' rounding noise, where
     * the log term's gradient 1/(S + 1e-7) would only measure that noise */
    int64_t n = 16000;
    wf_real *t = wf_aalloc(sizeof(wf_real) * (size_t)n), *y = wf_aalloc(sizeof(wf_real) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        t[i] = (wf_real)(0.3 * wf_uniform(1, (uint64_t)i));
        y[i] = (wf_real)(0.25 * wf_uniform(2, (uint64_t)i) + 0.1 * sin(0.3 * (double)i));
    }
    wf_real *d1 = wf_aalloc(sizeof(wf_real) * (size_t)n), *d2 = wf_aalloc(sizeof(wf_real) * (size_t)n);
    wf_loss_opts lo = {0};
    wf_diags d = {0};
    wf_loss *L = wf_loss_new(&lo, t, n, &d);
    double l1 = wf_loss_eval(L, y, d1);
    wf_loss_free(L);
    assert_int_equal(wf_fft_set_backend(WF_FFT_KISS), 0);
    L = wf_loss_new(&lo, t, n, &d);
    double l2 = wf_loss_eval(L, y, d2);
    wf_loss_free(L);
    wf_fft_set_backend(WF_FFT_FFTW);
    assert_close(l2, l1, 1e-5, 0);
    double scale = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(d1[i]));
        err = fmax(err, fabs(d1[i] - d2[i]));
    }
    assert_true(scale > 0);
    assert_close(err / scale, 0, 0, 1e-4);
    wf_afree(d1);
    wf_afree(d2);
    wf_afree(y);
    wf_afree(t);
}

/* ------------------------------------------------- the tutorial's fits */

static void test_gain(void **state)
{
    (void)state;
    int64_t n;
    wf_real *t0 = render(EX("fit_gain_target.weft"), NULL, 0, NULL, 0, &n);
    wf_real *t1 = render(EX("fit_gain_target.weft"), "phase", 1.5, NULL, 0, &n);
    struct {
        const wf_real *target;
        wf_loss_kind loss;
        int recovers;
    } cases[] = {
        {t0, WF_LOSS_L1, 1},
        {t0, WF_LOSS_MSS, 1},
        {t1, WF_LOSS_MSS, 1},
        {t1, WF_LOSS_L1, 0}, /* the tutorial's lesson: L1 sees the phase */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        run r;
        run_open(&r, EX("fit_gain.weft"), NULL, 0, 16000, WF_RUN_GRAD);
        fit(&r, cases[c].target, cases[c].loss, 0.01, 300);
        double g = param(&r, "gain")->value[0];
        if (cases[c].recovers)
            assert_close(g, 0.7, 0.01, 0);
        else
            assert_true(fabs(g - 0.7) > 0.3);
        run_close(&r);
    }
    wf_afree(t0);
    wf_afree(t1);
}

/* The feature losses: the log-mel loss, and the loudness term alone, each
 * recover the gain, the latter from the phase-shifted target too. */
static void test_gain_feature_losses(void **state)
{
    (void)state;
    int64_t n;
    wf_real *t0 = render(EX("fit_gain_target.weft"), NULL, 0, NULL, 0, &n);
    wf_real *t1 = render(EX("fit_gain_target.weft"), "phase", 1.5, NULL, 0, &n);
    wf_loss_opts mel = {0}, loud = {0};
    mel.kind = WF_LOSS_MEL;
    mel.rate = 16000;
    loud.kind = WF_LOSS_MSS;
    loud.weights_given = 1; /* both spectral terms 0 */
    loud.loudness_weight = 1;
    loud.rate = 16000;
    loud.hop = 64;
    const struct {
        const wf_real *target;
        const wf_loss_opts *lo;
    } cases[] = {{t0, &mel}, {t1, &mel}, {t0, &loud}, {t1, &loud}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        run r;
        run_open(&r, EX("fit_gain.weft"), NULL, 0, 16000, WF_RUN_GRAD);
        fit_with(&r, cases[c].target, cases[c].lo, 0.01, 300);
        assert_close(param(&r, "gain")->value[0], 0.7, 0.01, 0);
        run_close(&r);
    }
    wf_afree(t0);
    wf_afree(t1);
}

static void test_oscillator(void **state)
{
    (void)state;
    int64_t n;
    wf_real *t = render(EX("fit_osc.weft"), "amp", 0.6, "freq", 440, &n);
    wf_loss_opts lo = linear_mss();
    /* from starts around the target, as the example does from 415 Hz */
    const double starts[] = {400, 415, 430, 455, 480};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        run r;
        run_open(&r, EX("fit_osc.weft"), NULL, 0, 16000, WF_RUN_GRAD);
        param(&r, "freq")->value[0] = (wf_real)starts[i];
        fit_with(&r, t, &lo, 0.005, 300);
        assert_close(param(&r, "freq")->value[0], 440, 0, 0.1);
        assert_close(param(&r, "amp")->value[0], 0.6, 0.01, 0);
        run_close(&r);
    }
    /* from far away the spectral loss has no slope towards the target */
    run r;
    run_open(&r, EX("fit_osc.weft"), NULL, 0, 16000, WF_RUN_GRAD);
    param(&r, "freq")->value[0] = 200;
    wf_diags d = {0};
    wf_batch *L = one_target(t, n, &lo, &d);
    wf_fit_opts fo = {0};
    fo.steps = 300;
    fo.optim.lr = 0.005;
    wf_fit_result res;
    assert_int_equal(wf_fit(r.prog, &r.ps, L, &fo, &res, &d), 0);
    assert_true(fabs(param(&r, "freq")->value[0] - 440) > 200);
    wf_batch_free(L);
    run_close(&r);
    wf_afree(t);
}

static void test_w1_harmonics(void **state)
{
    (void)state;
    int64_t n;
    wf_real *t = render(EX("fit_harmonic_target.weft"), NULL, 0, NULL, 0, &n);
    run r;
    run_open(&r, EX("fit_harmonic.weft"), NULL, 0, 16000, WF_RUN_GRAD);
    fit(&r, t, WF_LOSS_MSS, 0.01, 500);
    const wf_param *a = param(&r, "amps");
    for (int k = 1; k <= 50; k++) {
        if (k * 220 >= 8000) {
            /* above the Nyquist: silenced in target and model, never moved */
            assert_true(a->value[k - 1] == (wf_real)0.1);
            continue;
        }
        /* the spectral loss cannot see a partial's sign (its phase); which
         * partials end up negative follows float rounding (FMA or not, the
         * order of the loss's sums), and each choice is a local minimum of
         * its own, with a nonzero loss, where the amplitudes are near 0.5/k:
         * measured within 0.0062 (k = 9 without FMA) */
        assert_close(fabs(a->value[k - 1]), 0.5 / k, 0, 0.01);
    }
    run_close(&r);
    wf_afree(t);
}

static void test_flute(void **state)
{
    (void)state;
    run r;
    run_open(&r, EX("fit_flute.weft"), NULL, 3 * 16000, 16000, WF_RUN_GRAD);
    wf_real *t;
    int64_t frames;
    int chans;
    wf_diags d = {0};
    assert_int_equal(wf_audio_load(EX("data/flute_d5_16k.wav"), 16000, 1, &t, &frames, &chans, &d), 0);
    assert_int_equal(frames, 3 * 16000);
    wf_loss_opts lo = {0};
    wf_batch *L = one_target(t, frames, &lo, &d);
    wf_fit_opts fo = {0};
    fo.steps = 300;
    fo.optim.lr = 0.05;
    wf_fit_result res;
    assert_int_equal(wf_fit(r.prog, &r.ps, L, &fo, &res, &d), 0);
    /* the fit must explain most of the spectral distance from the start */
    assert_true(res.best_loss < 0.3 * res.first_loss);
    wf_batch_free(L);
    wf_afree(t);
    run_close(&r);
}

/* ---------------------------------------------- stopping and diverging */

static void stop_after_10(void *ctx, const wf_fit_progress *p)
{
    volatile sig_atomic_t *stop = ctx;
    if (p->step == 10)
        *stop = 1;
}

static void test_stop(void **state)
{
    (void)state;
    int64_t n;
    wf_real *t = render(EX("fit_gain_target.weft"), NULL, 0, NULL, 0, &n);
    run r;
    run_open(&r, EX("fit_gain.weft"), NULL, 0, 16000, WF_RUN_GRAD);
    volatile sig_atomic_t stop = 0;
    wf_diags d = {0};
    wf_loss_opts lo = {0};
    wf_batch *L = one_target(t, n, &lo, &d);
    wf_fit_opts fo = {0};
    fo.steps = 1000;
    fo.optim.lr = 0.01;
    fo.stop = &stop;
    fo.progress = stop_after_10;
    fo.progress_ctx = (void *)&stop;
    wf_fit_result res;
    assert_int_equal(wf_fit(r.prog, &r.ps, L, &fo, &res, &d), 0);
    assert_int_equal(res.status, WF_FIT_STOPPED);
    assert_int_equal(res.steps, 10);
    /* the params hold the best seen, whose loss is what was reported */
    assert_close(batch_loss(L, r.prog), res.best_loss, 1e-6, 0);
    wf_batch_free(L);
    run_close(&r);
    wf_afree(t);
}

static void test_divergence(void **state)
{
    (void)state;
    const char *text = "rate 8 khz\nlength 0.1 s\nparam ok = 0.5\nparam x = 1.5\n"
                       "out ok * sine(440 hz) + sqrt(x - 1) * sine(220 hz)\n";
    run r;
    run_open(&r, "diverge.weft", text, 0, 8000, WF_RUN_GRAD);
    wf_real *t = wf_aalloc(sizeof(wf_real) * 800);
    wf_diags d = {0};
    wf_loss_opts lo = {0};
    lo.kind = WF_LOSS_L2;
    wf_batch *L = one_target(t, 800, &lo, &d);
    wf_fit_opts fo = {0};
    fo.steps = 200;
    fo.optim.kind = WF_OPTIM_SGD;
    fo.optim.lr = 2; /* pushes x below 1, where sqrt is not defined */
    wf_fit_result res;
    assert_int_equal(wf_fit(r.prog, &r.ps, L, &fo, &res, &d), -1);
    assert_int_equal(res.status, WF_FIT_DIVERGED);
    assert_int_equal(d.errors, 1);
    if (!strstr(d.v[0].msg, "param 'x'"))
        fail_msg("the message does not name x: %s", d.v[0].msg);
    assert_int_equal(d.v[0].loc.line, 5); /* the sqrt that produced NaN */
    /* the params left in place are the last good ones: finite */
    assert_true(isfinite(param(&r, "x")->value[0]) && param(&r, "x")->value[0] >= 1);
    wf_diags_free(&d);
    wf_batch_free(L);
    wf_afree(t);
    run_close(&r);
}

static void test_reproducible(void **state)
{
    (void)state;
    int64_t n;
    wf_real *t = render(EX("fit_osc.weft"), "amp", 0.6, "freq", 440, &n);
    wf_real got[2][2];
    for (int rep = 0; rep < 2; rep++) {
        run r;
        run_open(&r, EX("fit_osc.weft"), NULL, 0, 16000, WF_RUN_GRAD);
        wf_loss_opts lo = linear_mss();
        fit_with(&r, t, &lo, 0.005, 50);
        got[rep][0] = param(&r, "amp")->value[0];
        got[rep][1] = param(&r, "freq")->value[0];
        run_close(&r);
    }
    assert_memory_equal(got[0], got[1], sizeof got[0]);
    wf_afree(t);
}

/* A `fixed` param is a value: settable, never learnt, never rewritten. */
static void test_fixed_param(void **state)
{
    (void)state;
    const char *text = "rate 8 khz\nlength 0.25 s\nparam f = 300 hz fixed\n"
                       "param a = 0.2 in [0, 1]\nout a * sine(f)\n";
    int64_t n = 2000;
    wf_real *t = wf_aalloc(sizeof(wf_real) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        t[i] = (wf_real)(0.6 * sin(2 * 3.14159265358979 * 300 * (double)i / 8000));
    run r;
    run_open(&r, "/tmp/fixed.weft", text, 0, 8000, WF_RUN_GRAD);
    assert_true(param(&r, "f")->decl->fixed);
    param(&r, "f")->value[0] = 300; /* as --set would */
    fit(&r, t, WF_LOSS_L2, 0.01, 200);
    assert_true(param(&r, "f")->value[0] == 300);
    assert_true(param(&r, "f")->grad[0] == 0); /* no gradient is computed for it */
    assert_close(param(&r, "a")->value[0], 0.6, 0.01, 0);
    wf_diags d = {0};
    wf_stage files = {0};
    char *out = wf_rewrite_patch(r.patch, &r.ps, &r.env, "/tmp/fixed.fitted.weft", 0, &files, &d);
    assert_int_equal(files.n, 0);
    assert_non_null(strstr(out, "param f = 300 hz fixed\n"));
    assert_null(strstr(out, "param a = 0.2 in"));
    free(out);
    wf_diags_free(&d);
    run_close(&r);
    wf_afree(t);
}

/* ---------------------------------------------------- the fitted text */

static void test_rewrite(void **state)
{
    (void)state;
    const char *text = "# comment kept\n"
                       "rate 8 khz   # trailing comment\n"
                       "length 0.1 s\n"
                       "param cutoff = 2 khz in [40 hz, 8 khz] log\n"
                       "param level  = -6 db\n"
                       "param v[3]   = [0.1, 0.2, 0.3]\n"
                       "param same[3] = 0.5\n"
                       "out level * v * sine(cutoff) * same\n";
    run r;
    run_open(&r, "/tmp/rewrite.weft", text, 0, 8000, WF_RUN_WHOLE);
    param(&r, "cutoff")->value[0] = 1234.5f;
    param(&r, "level")->value[0] = 0.25f;
    param(&r, "v")->value[1] = 0.75f;
    wf_diags d = {0};
    wf_stage files = {0};
    char *out = wf_rewrite_patch(r.patch, &r.ps, &r.env, "/tmp/rewritten.weft", 0, &files, &d);
    assert_int_equal(files.n, 0);
    assert_non_null(out);
    assert_non_null(strstr(out, "# comment kept\nrate 8 khz   # trailing comment\n"));
    assert_non_null(strstr(out, "param cutoff = 1.2345 khz in [40 hz, 8 khz] log\n"));
    char want[128], level[64];
    wf_format_real(level, sizeof level, 20 * log10(0.25));
    snprintf(want, sizeof want, "param level  = %s db\n", level);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "param v[3]   = [0.1, 0.75, 0.3]\n"));
    assert_non_null(strstr(out, "param same[3] = 0.5\n"));
    /* the rewritten text compiles to the same values */
    run r2;
    run_open(&r2, "/tmp/rewritten.weft", out, 0, 8000, WF_RUN_WHOLE);
    assert_close(param(&r2, "cutoff")->value[0], 1234.5, 1e-6, 0);
    assert_close(param(&r2, "level")->value[0], 0.25, 1e-6, 0);
    assert_close(param(&r2, "v")->value[1], 0.75, 0, 0);
    run_close(&r2);
    free(out);
    run_close(&r);
    wf_diags_free(&d);
}

/* ------------------------------------------------------------ batches */

/* Renders text at 8 kHz for n samples (WHOLE). */
static wf_real *render_text(const char *text, int64_t n)
{
    run r;
    run_open(&r, "t.weft", text, n, 8000, WF_RUN_WHOLE);
    wf_real *y = wf_aalloc(sizeof(wf_real) * (size_t)n);
    memcpy(y, wf_prog_forward(r.prog), sizeof(wf_real) * (size_t)n);
    run_close(&r);
    return y;
}

/* One set of params fitted to three takes of different lengths at once: a
 * burst through a room (a 64-tap IR) and an output gain; the takes are the
 * same burst and room, each with noise of its own, cut to 0.15, 0.2 and
 * 0.25 s. The shorter ones are padded, their losses measured on their own
 * length, and the loss is the mean: the fit recovers the room from all
 * three. */
static void test_batch_takes(void **state)
{
    (void)state;
    const char *room = "rate 8 khz\nparam ir[64] = 0\nparam gain = 1\n"
                       "src = noise(seed: 4) * decay(0.02)\nout reverb(src, ir) * gain\n";
    const int64_t len[3] = {1200, 1600, 2000};
    run truth;
    run_open(&truth, "room.weft", room, 2000, 8000, WF_RUN_WHOLE);
    for (int j = 0; j < 64; j++)
        param(&truth, "ir")->value[j] = (wf_real)(exp(-j / 12.0) * (j % 3 ? 0.5 : -0.4));
    param(&truth, "gain")->value[0] = 0.7f;
    const wf_real *clean = wf_prog_forward(truth.prog);
    wf_real *takes[3];
    for (int k = 0; k < 3; k++) {
        takes[k] = wf_aalloc(sizeof(wf_real) * (size_t)len[k]);
        for (int64_t t = 0; t < len[k]; t++)
            takes[k][t] = clean[t] + (wf_real)(0.002 * wf_uniform(50 + (uint64_t)k, (uint64_t)t));
    }
    run r;
    run_open(&r, "room.weft", room, 2000, 8000, WF_RUN_GRAD);
    wf_diags d = {0};
    wf_batch_opts bo = {0};
    bo.loss.kind = WF_LOSS_L2;
    wf_batch *b = wf_batch_new((const wf_real *const *)takes, len, NULL, 3, 2000, &bo, &d);
    assert_non_null(b);
    assert_int_equal(wf_batch_items(b), 3);
    /* item 0 is padded past its own 1200 samples */
    assert_true(wf_batch_target(b, 0)[1500] == 0);
    wf_fit_opts fo = {0};
    fo.steps = 400;
    fo.optim.kind = WF_OPTIM_ADAM;
    fo.optim.lr = 0.01;
    wf_fit_result res;
    assert_int_equal(wf_fit(r.prog, &r.ps, b, &fo, &res, &d), 0);
    assert_true(res.final_loss < 0.01 * res.first_loss);
    /* the gain and the room are one product: that is what the takes fix */
    double g = param(&r, "gain")->value[0], err = 0;
    for (int j = 0; j < 64; j++)
        err = fmax(err, fabs(g * param(&r, "ir")->value[j] - 0.7 * param(&truth, "ir")->value[j]));
    assert_true(err < 0.02);
    /* the mean of the items' losses, each on its own length */
    const wf_real *y = wf_prog_forward(r.prog);
    double want = 0;
    for (int k = 0; k < 3; k++) {
        double e = 0;
        for (int64_t t = 0; t < len[k]; t++)
            e += ((double)y[t] - takes[k][t]) * ((double)y[t] - takes[k][t]);
        want += e / (double)len[k] / 3;
    }
    assert_close(wf_batch_loss(b, &y, 1, NULL), want, 1e-4, 1e-12);
    wf_batch_free(b);
    for (int k = 0; k < 3; k++)
        wf_afree(takes[k]);
    run_close(&r);
    run_close(&truth);
    wf_diags_free(&d);
}

/* Excerpts: a step's batch depends on the seed and the step alone; every
 * excerpt is a whole stretch of one recording; recordings too short for an
 * excerpt are never drawn, and if all are, that is an error. A signal
 * aligned with the recordings (two channels, shorter than the longest) is
 * cut at each excerpt's place, silent past its end. */
static void test_batch_excerpts(void **state)
{
    (void)state;
    const int64_t len[3] = {5000, 300, 9000};
    wf_real *rec[3];
    for (int k = 0; k < 3; k++) {
        rec[k] = wf_aalloc(sizeof(wf_real) * (size_t)len[k]);
        for (int64_t t = 0; t < len[k]; t++)
            rec[k][t] = (wf_real)(k * 10000 + t); /* where it came from, in the value */
    }
    wf_diags d = {0};
    wf_batch_opts bo = {4, 1000, 7, {0}, 1};
    bo.loss.kind = WF_LOSS_L1;
    wf_batch *a = wf_batch_new((const wf_real *const *)rec, len, NULL, 3, 1000, &bo, &d);
    wf_batch *b = wf_batch_new((const wf_real *const *)rec, len, NULL, 3, 1000, &bo, &d);
    assert_non_null(a);
    assert_int_equal(wf_batch_items(a), 4);
    const int64_t dry_len = 7000;
    wf_real *dry = wf_aalloc(sizeof(wf_real) * 2 * (size_t)dry_len);
    for (int64_t t = 0; t < 2 * dry_len; t++)
        dry[t] = (wf_real)(t + 1);
    int k = wf_batch_align(a, dry, dry_len, 2);
    int seen[3] = {0}, moved = 0, past = 0;
    for (int step = 0; step < 50; step++) {
        wf_batch_draw(a, step);
        wf_batch_draw(b, step);
        for (int i = 0; i < 4; i++) {
            int ra, rb;
            int64_t oa, ob;
            wf_batch_source(a, i, &ra, &oa);
            wf_batch_source(b, i, &rb, &ob);
            assert_int_equal(ra, rb);
            assert_int_equal(oa, ob);
            assert_true(ra != 1 && oa >= 0 && oa + 1000 <= len[ra]);
            seen[ra]++;
            const wf_real *t = wf_batch_target(a, i);
            for (int j = 0; j < 1000; j += 99)
                assert_true(t[j] == (wf_real)(ra * 10000 + oa + j));
            const wf_real *c = wf_batch_aligned(a, k, i);
            for (int j = 0; j < 1000; j++)
                for (int ch = 0; ch < 2; ch++) {
                    int64_t at = oa + j;
                    wf_real want = at < dry_len ? (wf_real)(2 * at + ch + 1) : 0;
                    assert_true(c[2 * j + ch] == want);
                    past += at >= dry_len;
                }
            if (step > 0 && i == 0)
                moved += oa != 0;
        }
    }
    assert_true(seen[0] > 0 && seen[2] > seen[0]); /* by length: 4001 vs 8001 positions */
    assert_true(moved > 40);
    assert_true(past > 0);
    wf_batch_free(a);
    wf_afree(dry);
    wf_batch_free(b);
    bo.excerpt = 20000;
    assert_null(wf_batch_new((const wf_real *const *)rec, len, NULL, 3, 20000, &bo, &d));
    assert_true(d.errors > 0);
    for (int k = 0; k < 3; k++)
        wf_afree(rec[k]);
    wf_diags_free(&d);
}

/* `input x = target` with a lane per item: each item's out is computed
 * from its own recording, and a gain is fitted over all of them. */
static void test_batch_inputs(void **state)
{
    (void)state;
    const int64_t n = 4000;
    wf_real *rec[2] = {render_text("rate 8 khz\nout 0.5 * sine(300)\n", n),
                       render_text("rate 8 khz\nout 0.3 * saw(200)\n", n)};
    wf_diags d = {0};
    wf_compile_opts co = {0};
    wf_patch *pt = wf_compile_text("dub.weft", "rate 8 khz\ninput x = target\nparam g = 0.2\n"
                                               "out x * g + delay(x, 1 ms) * (1 - g)\n", &co, &d);
    assert_non_null(pt);
    wf_env env = wf_patch_env(pt->g, 0, 8000, n);
    wf_params ps;
    assert_int_equal(wf_params_init(&ps, pt->g, &env, NULL, &d), 0);
    const int64_t len[2] = {n, n};
    wf_batch_opts bo = {0};
    bo.loss.kind = WF_LOSS_L2;
    wf_batch *b = wf_batch_new((const wf_real *const *)rec, len, NULL, 2, n, &bo, &d);
    const char per_item[1] = {1};
    wf_plan o = {WF_RUN_GRAD, 0, 2, per_item, NULL};
    wf_prog *p = wf_prog_plan(pt->g, &env, &ps, &o, &d);
    assert_non_null(p);
    assert_int_equal(wf_prog_out_lanes(p), 2);
    assert_int_equal(wf_prog_input_lanes(p, 0), 2);
    for (int i = 0; i < 2; i++)
        wf_prog_set_input(p, 0, i, wf_batch_target(b, i));
    wf_prog_forward(p);
    for (int i = 0; i < 2; i++) /* lane i: 0.2 x_i + 0.8 x_i delayed by 8 samples */
        for (int64_t t = 8; t < n; t += 97)
            assert_close(wf_prog_out(p, i)[t], 0.2 * rec[i][t] + 0.8 * rec[i][t - 8], 1e-5, 1e-6);
    wf_fit_opts fo = {0};
    fo.steps = 150;
    fo.optim.kind = WF_OPTIM_ADAM;
    fo.optim.lr = 0.02;
    wf_fit_result res;
    assert_int_equal(wf_fit(p, &ps, b, &fo, &res, &d), 0);
    assert_close(ps.v[0].value[0], 1, 0, 0.02); /* the out that is the recording itself */
    wf_prog_free(p);
    wf_batch_free(b);
    wf_params_free(&ps);
    wf_patch_free(pt);
    wf_afree(rec[0]);
    wf_afree(rec[1]);
    wf_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_steps),     cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_schedules),      cmocka_unit_test(test_clip_and_bounds),
        cmocka_unit_test(test_backends_agree), cmocka_unit_test(test_gain),
        cmocka_unit_test(test_gain_feature_losses),
        cmocka_unit_test(test_oscillator),     cmocka_unit_test(test_w1_harmonics),
        cmocka_unit_test(test_flute),          cmocka_unit_test(test_stop),
        cmocka_unit_test(test_divergence),     cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_rewrite),       cmocka_unit_test(test_fixed_param),
        cmocka_unit_test(test_batch_takes),   cmocka_unit_test(test_batch_excerpts),
        cmocka_unit_test(test_batch_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
