/* Forward tests of the all-pole filters (stdlib/allpole.c): impulse and
 * noise responses against the recursion y[n] = x[n] - sum a_k y[n-k] run
 * here in double, the step-up recursion of lpc() against polynomials known
 * in closed form, stability of long runs, streams against whole passes, and
 * the faults an unstable filter reports. Each patch outputs its input (and
 * its coefficients) beside the filter, so the references filter exactly the
 * float32 values the kernel saw. */
#include "family_tests.h"
#include "render.h"

#define PI 3.14159265358979323846

/* y = allpole(x) in double: x and a are channels of the rendered out (C
 * channels a frame); a holds the coefficients of sample n at column ac + k
 * (k = 0 .. N-1) of frame n, or consts when ac < 0. */
static double *ref_allpole(const wf_real *out, int C, int n, int xc, int ac, const double *consts,
                           int N)
{
    double *y = wf_xcalloc((size_t)n, sizeof(double));
    for (int t = 0; t < n; t++) {
        double acc = out[(size_t)t * C + xc];
        for (int k = 1; k <= N && k <= t; k++) {
            double a = ac < 0 ? consts[k - 1] : (double)out[(size_t)t * C + ac + k - 1];
            acc -= a * y[t - k];
        }
        y[t] = acc;
    }
    return y;
}

static void expect_close(const char *what, const wf_real *out, int C, int yc, const double *want,
                         int n, double tol)
{
    double peak = 0;
    for (int t = 0; t < n; t++)
        peak = fmax(peak, fabs(want[t]));
    for (int t = 0; t < n; t++)
        if (fabs(out[(size_t)t * C + yc] - want[t]) > tol * peak)
            fail_msg("%s: sample %d is %.9g, want %.9g", what, t, out[(size_t)t * C + yc], want[t]);
}

/* An impulse at sample 0: decay() is exp(-t / 1 us), 0 in float32 from
 * the second sample on at 8 kHz. */
#define IMPULSE "x = decay(time: 1e-6)\n"

void test_allpole_impulse(void **state)
{
    (void)state;
    const int n = 2000;
    /* a two-pole resonator: h[n] = r^n sin((n + 1) w) / sin w */
    double r = 0.97, w = 0.3, a1 = (float)(-2 * r * cos(w)), a2 = (float)(r * r);
    char text[400];
    snprintf(text, sizeof text, "rate 8000\n" IMPULSE "out [x, allpole(x, [%.9g, %.9g])]\n", a1, a2);
    wf_run run;
    const wf_real *y = wf_run_whole(&run, text, n);
    assert_true(y[0] == 1 && y[2] == 0);
    /* the closed form with the poles of the float32 coefficients */
    double rr = sqrt(a2), ww = acos(-a1 / (2 * rr));
    double *want = wf_xmalloc(sizeof(double) * n);
    for (int t = 0; t < n; t++)
        want[t] = pow(rr, t) * sin((t + 1) * ww) / sin(ww);
    expect_close("resonator impulse response", y, 2, 1, want, n, 1e-5);
    free(want);
    wf_run_close(&run);

    /* order 6 on two channels of noise: each channel through the same filter */
    const double a[6] = {-0.9, 0.4, 0.2, -0.35, 0.1, 0.05};
    snprintf(text, sizeof text,
             "rate 8000\nx = noise(seed: 4, channels: 2)\n"
             "out [x, allpole(x, [%g, %g, %g, %g, %g, %g])]\n",
             a[0], a[1], a[2], a[3], a[4], a[5]);
    y = wf_run_whole(&run, text, n);
    double af[6];
    for (int k = 0; k < 6; k++)
        af[k] = (float)a[k];
    for (int c = 0; c < 2; c++) {
        double *ref = ref_allpole(y, 4, n, c, -1, af, 6);
        expect_close("order 6 on noise", y, 4, 2 + c, ref, n, 1e-5);
        free(ref);
    }
    wf_run_close(&run);
}

/* Per-frame coefficients are held for their frame, audio-rate ones change
 * every sample; a stream in blocks of three frames equals the whole pass
 * exactly. */
void test_allpole_time_varying(void **state)
{
    (void)state;
    const int n = 3000, hop = 80;
    const char *held = "rate 8000\nframes 100 hz\nparam a[2] = 0 per frame\n"
                       "x = noise(seed: 5)\nout [x, allpole(x, a)]\n";
    wf_run run;
    wf_run_open(&run, held, n, WF_RUN_WHOLE, 0);
    wf_param *pa = wf_run_param(&run, "a");
    assert_int_equal(pa->cols, 2);
    double *av = wf_xmalloc(sizeof(double) * 2 * (size_t)pa->rows);
    for (int f = 0; f < pa->rows; f++) {
        /* a resonator sweeping its angle and radius frame by frame */
        double r = 0.9 + 0.09 * sin(0.3 * f), w = 0.2 + 0.02 * f;
        pa->value[2 * f] = (wf_real)(-2 * r * cos(w));
        pa->value[2 * f + 1] = (wf_real)(r * r);
        av[2 * f] = pa->value[2 * f];
        av[2 * f + 1] = pa->value[2 * f + 1];
    }
    const wf_real *y = wf_prog_forward(run.prog);
    double *ref = wf_xcalloc((size_t)n, sizeof(double));
    for (int t = 0; t < n; t++) {
        const double *c = av + 2 * (t / hop);
        ref[t] = y[2 * t] - c[0] * (t >= 1 ? ref[t - 1] : 0) - c[1] * (t >= 2 ? ref[t - 2] : 0);
    }
    expect_close("per-frame coefficients, held", y, 2, 1, ref, n, 1e-5);
    wf_real *whole = wf_xmalloc(sizeof(wf_real) * 2 * n);
    memcpy(whole, y, sizeof(wf_real) * 2 * n);
    wf_run_close(&run);

    wf_run_open(&run, held, n, WF_RUN_STREAM, 240);
    pa = wf_run_param(&run, "a");
    for (int f = 0; f < pa->rows; f++)
        for (int k = 0; k < 2; k++)
            pa->value[2 * f + k] = (wf_real)av[2 * f + k];
    wf_real *st = wf_run_collect(&run, 240);
    for (int i = 0; i < 2 * n; i++)
        if (st[i] != whole[i])
            fail_msg("streamed sample %d is %.9g, whole pass %.9g", i / 2, st[i], whole[i]);
    free(st);
    wf_run_close(&run);

    /* audio rate: a resonator whose angle follows a sine, per sample */
    const char *audio = "rate 8000\nx = noise(seed: 6)\nw = 0.6 + 0.4 * sine(3 hz)\n"
                        "a = [-1.9 * cos(w), 0.9025]\nout [x, a, allpole(x, a)]\n";
    y = wf_run_whole(&run, audio, n);
    double *ref2 = ref_allpole(y, 4, n, 0, 1, NULL, 2);
    expect_close("audio-rate coefficients", y, 4, 3, ref2, n, 1e-5);
    wf_run_close(&run);
    wf_run_open(&run, audio, n, WF_RUN_STREAM, 96);
    st = wf_run_collect(&run, 96);
    for (int t = 0; t < n; t++)
        assert_close(st[4 * t + 3], ref2[t], 1e-5, 1e-5);
    free(st);
    wf_run_close(&run);
    free(ref);
    free(ref2);
    free(whole);
    free(av);
}

/* Step-down (Schur-Cohn) recursion: the reflection coefficients of a. */
static void ref_step_down(const double *a, int N, double *k)
{
    double p[16], q[16];
    memcpy(p, a, sizeof(double) * (size_t)N);
    for (int i = N; i >= 1; i--) {
        k[i - 1] = p[i - 1];
        for (int j = 1; j < i; j++)
            q[j - 1] = (p[j - 1] - k[i - 1] * p[i - j - 1]) / (1 - k[i - 1] * k[i - 1]);
        memcpy(p, q, sizeof(double) * (size_t)(i - 1));
    }
}

/* Impulse response of lpc(x, coefs, form) for the given raw values. */
static double *lpc_impulse(const double *raw, int N, const char *form, int n)
{
    wf_str t = {0};
    wf_str_printf(&t, "rate 8000\n" IMPULSE "out lpc(x, [");
    for (int i = 0; i < N; i++)
        wf_str_printf(&t, "%s%.17g", i ? ", " : "", raw[i]);
    wf_str_printf(&t, "], form: %s)\n", form);
    wf_run run;
    const wf_real *y = wf_run_whole(&run, t.s, n);
    double *h = wf_xmalloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        h[i] = y[i];
    wf_run_close(&run);
    wf_str_free(&t);
    return h;
}

static void expect_response(const char *what, const double *h, const double *want, int n)
{
    for (int t = 0; t < n; t++)
        if (fabs(h[t] - want[t]) > 1e-5 * (1 + fabs(want[t])))
            fail_msg("%s: sample %d is %.9g, want %.9g", what, t, h[t], want[t]);
}

void test_lpc_step_up(void **state)
{
    (void)state;
    const int n = 1500;
    double want[1500];
    /* k = [0.5] is a = [0.5]: h[n] = (-0.5)^n, as parcor (r = atanh k) and
     * as a log-area ratio (g = ln((1 + k) / (1 - k)) = ln 3) */
    for (int t = 0; t < n; t++)
        want[t] = pow(-0.5, t);
    double r = atanh(0.5), g = log(3.0);
    double *h = lpc_impulse(&r, 1, "parcor", n);
    expect_response("parcor k = 0.5", h, want, n);
    free(h);
    h = lpc_impulse(&g, 1, "lar", n);
    expect_response("lar k = 0.5", h, want, n);
    free(h);

    /* the resonator a = [-2 rho cos w, rho^2] has k2 = rho^2, k1 = a1 / (1 + a2) */
    double rho = 0.95, w = 0.7, a1 = -2 * rho * cos(w), a2 = rho * rho;
    double raw2[2] = {2 * atanh(a1 / (1 + a2)), 2 * atanh(a2)};
    for (int t = 0; t < n; t++)
        want[t] = pow(rho, t) * sin((t + 1) * w) / sin(w);
    h = lpc_impulse(raw2, 2, "lar", n);
    expect_response("resonator from its log-area ratios", h, want, n);
    free(h);

    /* order 5 from its poles 0.9 e^(+-0.5i), 0.7 e^(+-2i), -0.5: the
     * polynomial's reflection coefficients by step-down, back through lpc */
    double poly[6] = {1, 0, 0, 0, 0, 0};
    const double pr[3][2] = {{0.9, 0.5}, {0.7, 2.0}, {0.5, PI}};
    int deg = 0;
    for (int p = 0; p < 3; p++) {
        /* a real pole (angle pi) once, a conjugate pair as its quadratic */
        double q[3] = {1, p == 2 ? pr[p][0] : -2 * pr[p][0] * cos(pr[p][1]),
                       p == 2 ? 0 : pr[p][0] * pr[p][0]};
        int qd = p == 2 ? 1 : 2;
        double nx[6] = {0};
        for (int i = 0; i <= deg; i++)
            for (int j = 0; j <= qd; j++)
                nx[i + j] += poly[i] * q[j];
        deg += qd;
        memcpy(poly, nx, sizeof nx);
    }
    assert_int_equal(deg, 5);
    double ks[5], raw5[5];
    ref_step_down(poly + 1, 5, ks);
    for (int i = 0; i < 5; i++) {
        assert_true(fabs(ks[i]) < 1);
        raw5[i] = atanh(ks[i]);
    }
    double *y = wf_xcalloc((size_t)n, sizeof(double));
    for (int t = 0; t < n; t++) {
        y[t] = t == 0;
        for (int k = 1; k <= 5 && k <= t; k++)
            y[t] -= poly[k] * y[t - k];
    }
    h = lpc_impulse(raw5, 5, "parcor", n);
    expect_response("order 5 through its reflection coefficients", h, y, n);
    free(h);
    free(y);
}

static double peak_of(const wf_real *y, int C, int c, int from, int to)
{
    double p = 0;
    for (int t = from; t < to; t++)
        p = fmax(p, fabs(y[(size_t)t * C + c]));
    return p;
}

/* Any raw value gives poles inside the unit circle: random constant
 * filters with reflection coefficients up to tanh(4) = 0.9993 run 10 s of
 * noise without growing (the last second's peak within 10 times the fifth
 * second's, where an unstable filter grows by many orders of magnitude),
 * with no fault. */
void test_lpc_stable(void **state)
{
    (void)state;
    const int sr = 4000, n = 10 * sr;
    static const char *const texts[] = {
        "param g[18] = uniform(-8, 8, seed: %d)\nout lpc(noise(seed: 1), g)\n",
        "param g[18] = uniform(-2.5, 2.5, seed: %d)\nout lpc(noise(seed: 1), g, form: parcor)\n",
    };
    for (int i = 0; i < 2; i++)
        for (int seed = 1; seed <= 4; seed++) {
            char text[300], body[240];
            snprintf(body, sizeof body, texts[i], seed);
            snprintf(text, sizeof text, "rate %d\n%s", sr, body);
            wf_run run;
            const wf_real *y = wf_run_whole(&run, text, n);
            double s;
            const char *what;
            if (wf_prog_fault(run.prog, &s, &what) >= 0)
                fail_msg("%s: fault at %.3f s: %s", text, s, what);
            for (int t = 0; t < n; t++)
                if (!isfinite(y[t]))
                    fail_msg("%s: sample %d is %g", text, t, y[t]);
            double early = peak_of(y, 1, 0, 4 * sr, 5 * sr), late = peak_of(y, 1, 0, n - sr, n);
            if (!(late < 10 * early))
                fail_msg("%s: grows from a peak of %g in the fifth second to %g in the last",
                         text, early, late);
            wf_run_close(&run);
        }
}

/* Whatever the path of the coefficients, the lattice is passive: its state
 * holds at most the input's energy, so |y[n]| G[n] <= sqrt(sum_{m<=n}
 * x[m]^2) with G[n] = prod_i sech(g_i[n] / 2) of that sample's log-area
 * ratios. Checked for 10 s of random frames every 10 ms, and of random
 * coefficients every sample, reflection coefficients up to 0.9993. The
 * step-up's direct form of milder frames through allpole() overflows
 * within 2 s (and of these, float32 coefficients alone already put some
 * frames' poles outside the unit circle). Only the lattice's gain 1/G can
 * overflow, for huge raw values: that is reported. */
void test_lpc_any_path(void **state)
{
    (void)state;
    const int sr = 4000, n = 10 * sr, N = 18;
    static const char *const texts[] = {
        "rate 4000\nframes 100 hz\nparam g[18] = uniform(-8, 8) per frame\n"
        "x = noise(seed: 1)\nout [x, upsample(g), lpc(x, g)]\n",
        "rate 4000\nx = noise(seed: 1)\ng = noise(seed: 2, channels: 18) * 8\n"
        "out [x, g, lpc(x, g)]\n",
    };
    for (int i = 0; i < 2; i++) {
        wf_run run;
        wf_run_open(&run, texts[i], n, WF_RUN_WHOLE, 0);
        const int C = N + 2, hop = 40;
        assert_int_equal(run.chans, C);
        const wf_real *y = wf_prog_forward(run.prog);
        const wf_param *pg = i == 0 ? wf_run_param(&run, "g") : NULL;
        double energy = 0, worst = 0;
        for (int t = 0; t < n; t++) {
            double x = y[(size_t)t * C], G = 1;
            energy += x * x;
            for (int c = 0; c < N; c++) {
                /* the held frame's values (the out's upsampled copy only keeps
                 * the layout of the second patch) */
                double g = pg ? pg->value[(size_t)(t / hop) * N + c] : y[(size_t)t * C + 1 + c];
                G /= cosh(0.5 * g);
            }
            double out = y[(size_t)t * C + C - 1];
            if (!isfinite(out))
                fail_msg("%s: sample %d is %g", texts[i], t, out);
            worst = fmax(worst, fabs(out) * G / sqrt(energy));
        }
        if (!(worst <= 1 + 1e-5))
            fail_msg("%s: |y| G reaches %.9g times the input's energy", texts[i], worst);
        double s;
        const char *what;
        if (wf_prog_fault(run.prog, &s, &what) >= 0)
            fail_msg("%s: fault at %.3f s: %s", texts[i], s, what);
        wf_run_close(&run);
    }
    /* milder random frames (k up to 0.76) as direct-form polynomials
     * (step-up in the test) through allpole: every frame passes the
     * step-down test, the run overflows (a fault kept is the first of the
     * pass, so no frame before it was unstable) */
    wf_run run;
    wf_run_open(&run, "rate 4000\nframes 100 hz\nparam g[18] = uniform(-2, 2) per frame\n"
                      "param a[18] = 0 per frame\nout allpole(noise(seed: 1), a)\n",
                n, WF_RUN_WHOLE, 0);
    const wf_param *pg = wf_run_param(&run, "g");
    wf_param *pa = wf_run_param(&run, "a");
    for (int f = 0; f < pa->rows; f++) {
        double a[18] = {0}, prev[18];
        for (int i = 1; i <= N; i++) {
            double k = tanh(0.5 * pg->value[(size_t)f * N + i - 1]);
            memcpy(prev, a, sizeof a);
            for (int j = 1; j < i; j++)
                a[j - 1] = prev[j - 1] + k * prev[i - j - 1];
            a[i - 1] = k;
        }
        for (int i = 0; i < N; i++)
            pa->value[(size_t)f * N + i] = (wf_real)a[i];
    }
    wf_prog_forward(run.prog);
    double s;
    const char *what;
    int node = wf_prog_fault(run.prog, &s, &what);
    if (node < 0)
        fail_msg("the direct form of the lattice's frames did not overflow");
    assert_non_null(strstr(what, "overflowed"));
    assert_true(s < 2);
    wf_run_close(&run);

    wf_run_whole(&run, "rate 16000\nframes 100 hz\nparam g[18] = uniform(-40, 40) per frame\n"
                       "out lpc(noise(), g)\n", 16000);
    node = wf_prog_fault(run.prog, &s, &what);
    assert_true(node >= 0);
    assert_string_equal(run.patch->g->nodes[node].kind->name, "lpc");
    assert_non_null(strstr(what, "overflowed"));
    wf_run_close(&run);
}

/* allpole's coefficients are checked by the step-down recursion: a filter
 * whose frames leave the unit circle is reported at the first such frame. */
void test_allpole_faults(void **state)
{
    (void)state;
    wf_run run;
    static const struct {
        const char *a;
        double at; /* seconds, or -1: no fault */
    } cases[] = {
        {"[0, 1.21]", 0},         /* poles at +-1.1 i */
        {"[0, 0.9025]", -1},      /* at +-0.95 i */
        {"[-1.8, 0.9]", -1},      /* sum |a| >= 1 but stable: the step-down decides */
        {"[-1.5, 0.3, 0.6]", 0},  /* step-down: k3 = 0.6, then k2 = 1.875 */
        /* a2 = 1 in the frame 0.05 .. 0.06 s (frame means of the line) */
        {"[0, downsample(line(from: 0.81, to: 1.21, time: 0.1))]", 0.05},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[200];
        snprintf(text, sizeof text, "rate 8000\nframes 100 hz\nout allpole(decay(time: 1e-6), %s)\n",
                 cases[i].a);
        wf_run_whole(&run, text, 1600);
        double s;
        const char *what;
        int node = wf_prog_fault(run.prog, &s, &what);
        if (cases[i].at < 0) {
            if (node >= 0)
                fail_msg("%s: fault at %.3f s: %s", cases[i].a, s, what);
        } else {
            if (node < 0)
                fail_msg("%s: no fault", cases[i].a);
            assert_non_null(strstr(what, "unit circle"));
            assert_close(s, cases[i].at, 0, 1e-9);
        }
        wf_run_close(&run);
    }
}
