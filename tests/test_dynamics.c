/* Forward tests of the dynamics family (stdlib/dynamics.c) against closed
 * forms computed here in double: the static curves of Giannoulis, Massberg
 * & Reiss 2012 written as they write them (the output level y_G of the
 * input level x_G, gain = y_G - x_G) at levels below, inside and above the
 * knee, on inputs of constant magnitude once the smoother has settled; the
 * attack and release time constants, 1 - exp(-t/tau) of the way after a
 * step in level; the release time changing the output; gate and expander
 * attenuation below the threshold; the limiter's ceiling. Gains are read as
 * 20 log10(out / x) of float32 outputs, so tolerances are about 1e-4 dB
 * (the float32 logarithm of the detector and of the output's rounding). */
#include "family_tests.h"
#include "render.h"

#define PI 3.14159265358979323846

/* Renders `out <expr>` at sr with input x (N samples, one channel) and
 * returns the gain in dB of every sample, 20 log10(out / x). */
static double *gains(const char *expr, double sr, const wf_real *x, int N)
{
    char text[400];
    snprintf(text, sizeof text, "rate %g\ninput x\nout %s\n", sr, expr);
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
    wf_prog_set_input(r.prog, 0, 0, x);
    const wf_real *y = wf_prog_forward(r.prog);
    assert_int_equal(r.chans, 1);
    double *g = wf_xmalloc(sizeof(double) * (size_t)N);
    for (int n = 0; n < N; n++)
        g[n] = 20 * log10((double)y[n] / (double)x[n]);
    wf_run_close(&r);
    return g;
}

/* A signal of magnitude 10^(db/20) alternating in sign, from sample `from`
 * to `to`. */
static void fill_level(wf_real *x, int from, int to, double db)
{
    double a = pow(10, db / 20);
    for (int n = from; n < to; n++)
        x[n] = (wf_real)(n % 2 ? -a : a);
}

/* The detector's level of a signal of magnitude 10^(db/20), in dB: its
 * floor of 1e-7 counts at low levels (0.08 dB at -99 dB). */
static double detected(double db)
{
    return 20 * log10(pow(10, db / 20) + 1e-7);
}

/* Giannoulis et al.'s compressor curve (their eq. 4 with the knee) and the
 * downward expander's, as gains in dB; the limiter is R = infinity. */
static double comp_gain(double xg, double T, double R, double W)
{
    double yg;
    if (2 * (xg - T) < -W)
        yg = xg;
    else if (2 * fabs(xg - T) <= W)
        yg = xg + (1 / R - 1) * pow(xg - T + W / 2, 2) / (2 * W);
    else
        yg = T + (xg - T) / R;
    return yg - xg;
}

static double exp_gain(double xg, double T, double R, double W, double range)
{
    double yg;
    if (2 * (xg - T) > W)
        yg = xg;
    else if (2 * fabs(xg - T) <= W)
        yg = xg + (1 - R) * pow(xg - T - W / 2, 2) / (2 * W);
    else
        yg = T + (xg - T) * R;
    return fmax(yg - xg, range);
}

/* The settled gain of `expr` on a constant level. */
static double settled(const char *expr, double db)
{
    const int N = 216000; /* 4.5 s at 48 kHz: 45 time constants of the slowest smoother (0.1 s) */
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    fill_level(x, 0, N, db);
    double *g = gains(expr, 48000, x, N), v = g[N - 1];
    assert_close(g[N - 2], v, 0, 1e-5);
    free(g);
    free(x);
    return v;
}

void test_dynamics_static_curve(void **state)
{
    (void)state;
    /* threshold -20, ratio 4, knee 6: the knee spans [-23, -17] */
    const double levels[] = {-40, -24, -22.5, -21, -20, -19, -17.5, -16, -10, -3};
    for (int i = 0; i < 10; i++) {
        double L = detected(levels[i]);
        assert_close(settled("compressor(x)", levels[i]), comp_gain(L, -20, 4, 6), 0, 1e-4);
        assert_close(settled("compressor(x, threshold: -20, ratio: 4, knee: 6, makeup: 3)", levels[i]),
                     comp_gain(L, -20, 4, 6) + 3, 0, 1e-4);
        assert_close(settled("compressor(x, threshold: -18, ratio: 2.5, knee: 0)", levels[i]),
                     comp_gain(L, -18, 2.5, 0), 0, 1e-4);
        assert_close(settled("limiter(x, threshold: -20, knee: 6)", levels[i]),
                     comp_gain(L, -20, INFINITY, 6), 0, 1e-4);
        assert_close(settled("compressor(x, ratio: 0.5)", levels[i]), 0, 0, 1e-5); /* clamped to 1 */
    }
    /* the expander: threshold -40, ratio 2, knee 6, range -60; the knee
     * spans [-43, -37] and the floor is reached at -100 dB */
    const double quiet[] = {-120, -101, -99, -70, -44, -42, -40, -38, -36, -20};
    for (int i = 0; i < 10; i++) {
        double L = detected(quiet[i]);
        assert_close(settled("expander(x)", quiet[i]), exp_gain(L, -40, 2, 6, -60), 0, 1e-4);
        assert_close(settled("expander(x, threshold: -30, ratio: 3, knee: 0, range: -30)", quiet[i]),
                     exp_gain(L, -30, 3, 0, -30), 0, 1e-4);
        assert_close(settled("gate(x)", quiet[i]), exp_gain(L, -50, 10, 6, -80), 0, 1e-4);
    }
    /* the formulas meet at the knee's edges: the curve is continuous */
    assert_close(comp_gain(-23 + 1e-9, -20, 4, 6), 0, 0, 1e-9);
    assert_close(comp_gain(-17 - 1e-9, -20, 4, 6), comp_gain(-17 + 1e-9, -20, 4, 6), 0, 1e-8);
}

/* Channels are not linked: each channel's gain follows its own level. */
void test_dynamics_channels(void **state)
{
    (void)state;
    const int N = 24000;
    wf_run r;
    wf_run_open(&r, "rate 48000\ninput x[2]\nout compressor(x, threshold: [-20, -10])\n", N,
                WF_RUN_WHOLE, 0);
    wf_real *x = wf_xmalloc(sizeof(wf_real) * 2 * N);
    const double db[2] = {-6, -30};
    for (int n = 0; n < N; n++)
        for (int c = 0; c < 2; c++)
            x[2 * n + c] = (wf_real)((n % 2 ? -1 : 1) * pow(10, db[c] / 20));
    wf_prog_set_input(r.prog, 0, 0, x);
    const wf_real *y = wf_prog_forward(r.prog);
    const double thr[2] = {-20, -10};
    for (int c = 0; c < 2; c++)
        assert_close(20 * log10(y[2 * (N - 1) + c] / x[2 * (N - 1) + c]),
                     comp_gain(db[c], thr[c], 4, 6), 0, 1e-4);
    free(x);
    wf_run_close(&r);
}

/* Params that change per sample: a threshold gliding from -30 to -10 dB
 * and a ratio from 1 to 5 over 1 s, with instant times, give the curve of
 * each sample's values on a constant level of -20 dB. */
void test_dynamics_time_varying(void **state)
{
    (void)state;
    const double sr = 8000;
    const int N = 8000;
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    fill_level(x, 0, N, -20);
    double *g = gains("compressor(x, threshold: line(-30, -10, 1), ratio: line(1, 5, 1), "
                      "knee: 4, attack: 0, release: 0)", sr, x, N);
    double L = detected(-20);
    for (int n = 0; n < N; n++) {
        double u = n / sr;
        assert_close(g[n], comp_gain(L, -30 + 20 * u, 1 + 4 * u, 4), 0, 1e-4);
    }
    free(g);
    free(x);
}

/* A step up in level moves the compressor's gain 1 - exp(-t / attack) of
 * the way to the curve's, a step down brings it back as exp(-t / release):
 * sample j after the step (j = 0 the first) is at t = (j + 1) / sr. The
 * expander's gain falls with the release (closing) and recovers with the
 * attack (opening). */
void test_dynamics_time_constants(void **state)
{
    (void)state;
    const double sr = 48000;
    const int N = 30000, up = 1000, down = 16000;
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    fill_level(x, 0, up, -40);
    fill_level(x, up, down, 0);
    fill_level(x, down, N, -40);
    double *g = gains("compressor(x, threshold: -20, ratio: 4, knee: 0, attack: 5 ms, "
                      "release: 50 ms)", sr, x, N);
    double target = comp_gain(detected(0), -20, 4, 0); /* -15 dB */
    for (int n = 0; n < up; n++)
        assert_close(g[n], 0, 0, 1e-5);
    for (int j = 0; up + j < down; j++)
        assert_close(g[up + j], target * (1 - exp(-(j + 1) / (0.005 * sr))), 0, 1e-4);
    assert_close(g[up + 239], target * (1 - exp(-1)), 0, 1e-4); /* one attack time */
    double held = g[down - 1];
    for (int j = 0; down + j < N; j++)
        assert_close(g[down + j], held * exp(-(j + 1) / (0.05 * sr)), 0, 1e-4);
    assert_close(g[down + 2399], held * exp(-1), 0, 1e-4); /* one release time */
    free(g);

    double *e = gains("expander(x, threshold: -30, ratio: 2, knee: 0, attack: 2 ms, "
                      "release: 20 ms, range: -60)", sr, x, N);
    double closed = exp_gain(detected(-40), -30, 2, 0, -60); /* -10 dB */
    for (int n = 0; n < up; n++)
        assert_close(e[n], closed * (1 - exp(-(n + 1) / (0.02 * sr))), 0, 1e-4);
    double start = e[up - 1];
    for (int j = 0; up + j < down; j++)
        assert_close(e[up + j], start * exp(-(j + 1) / (0.002 * sr)), 0, 1e-4);
    free(e);
    free(x);
}

/* The release time changes the output (dasp-pytorch's compressor ignores
 * it): after a burst, a longer release holds the gain down longer, while
 * the attack before any release is the same. */
void test_dynamics_release_matters(void **state)
{
    (void)state;
    const double sr = 48000;
    const int N = 12000, burst = 4000;
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    for (int n = 0; n < N; n++)
        x[n] = (wf_real)((n < burst ? 0.9 : 0.05) * sin(2 * PI * 220 * n / sr) + 1e-3);
    double *a = gains("compressor(x, release: 20 ms)", sr, x, N);
    double *b = gains("compressor(x, release: 200 ms)", sr, x, N);
    double after = 0, before = 0;
    for (int n = 0; n < 40; n++) /* the first rise: attacks only */
        before = fmax(before, fabs(a[n] - b[n]));
    for (int n = burst + 480; n < burst + 4800; n++) /* 10 to 100 ms after the burst */
        after = fmax(after, fabs(a[n] - b[n]));
    assert_close(before, 0, 0, 1e-6);
    assert_true(after > 3); /* dB */
    for (int n = burst + 480; n < N; n++)
        assert_true(b[n] <= a[n] + 1e-4); /* the slow release stays further down */
    free(a);
    free(b);
    free(x);
}

/* A gate passes a loud signal unchanged and takes a quiet one down by its
 * range; the expander takes a signal below its threshold down by
 * (ratio - 1) dB per dB. */
void test_gate_below_threshold(void **state)
{
    (void)state;
    const double sr = 48000;
    const int N = 48000, quiet = 12000; /* loud for 0.25 s, then quiet for 0.75 s */
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    fill_level(x, 0, quiet, -20);
    fill_level(x, quiet, N, -70);
    double *g = gains("gate(x)", sr, x, N); /* threshold -50, range -80, release 50 ms */
    assert_close(g[quiet - 1], 0, 0, 1e-4);
    assert_close(g[N - 1], -80, 0, 1e-3);
    for (int n = quiet; n < N; n++)
        assert_close(g[n], -80 * (1 - exp(-(n - quiet + 1) / (0.05 * sr))), 0, 1e-3);
    free(g);
    double *e = gains("expander(x, threshold: -40, ratio: 3, knee: 0, release: 20 ms, range: -100)",
                      sr, x, N);
    assert_close(e[quiet - 1], 0, 0, 1e-4);
    assert_close(e[N - 1], (3 - 1) * (detected(-70) + 40), 0, 1e-3); /* -60 dB */
    free(e);
    free(x);
}

/* The limiter with its instant attack lets no sample of a sine out above
 * the ceiling (+ makeup), and its peaks reach it; with a 1 ms attack, a
 * signal of constant magnitude overshoots at first and comes down to the
 * ceiling once the attack has passed (a sine's peaks would overshoot by
 * what the gain releases between them). */
void test_limiter_ceiling(void **state)
{
    (void)state;
    const double sr = 48000;
    const int N = 24000;
    const char *exprs[] = {"limiter(x)", "limiter(x, threshold: -6, makeup: 2)",
                           "limiter(x, attack: 1 ms)"};
    const double ceil_db[] = {-1, -4, -1};
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    for (int i = 0; i < 3; i++) {
        for (int n = 0; n < N; n++)
            x[n] = (wf_real)(i < 2 ? 2 * sin(2 * PI * 100 * n / sr) * (n < N / 2 ? 1 : 0.5)
                                   : (n % 2 ? -2 : 2));
        char text[200];
        snprintf(text, sizeof text, "rate 48000\ninput x\nout %s\n", exprs[i]);
        wf_run r;
        wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
        wf_prog_set_input(r.prog, 0, 0, x);
        const wf_real *y = wf_prog_forward(r.prog);
        double ceiling = pow(10, ceil_db[i] / 20), peak = 0, late = 0;
        for (int n = 0; n < N; n++) {
            peak = fmax(peak, fabs(y[n]));
            if (n >= 960) /* after 20 ms, 20 attack times */
                late = fmax(late, fabs(y[n]));
        }
        if (i < 2)
            assert_true(peak <= ceiling * (1 + 1e-6));
        else
            assert_true(peak > 1.5 * ceiling); /* the attack lets the start through */
        assert_close(20 * log10(late), ceil_db[i], 0, 1e-4);
        wf_run_close(&r);
    }
    free(x);
}
