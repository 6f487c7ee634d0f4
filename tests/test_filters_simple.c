/* Forward tests of the simple recursive filters (stdlib/onepole.c, svf.c,
 * comb.c) against closed forms computed here in double: impulse responses,
 * magnitude responses (the DTFT of the rendered impulse response at stated
 * frequencies) against the analytic transfer functions, the mode relations
 * of the svf, comb peaks and allpass unit magnitude, the smoother's step
 * response, long runs under fast modulation, streams against whole passes,
 * and the faults of an unstable feedback. Outputs are float32, so
 * tolerances are a few float32 roundings summed over a response. */
#include <complex.h>

#include "family_tests.h"
#include "render.h"

#define PI 3.14159265358979323846

/* Renders text (whose first input, if x is given, gets x) for N samples:
 * channel 0 of the output, in double. */
static double *render(const char *text, const wf_real *x, int N)
{
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
    if (x)
        wf_prog_set_input(r.prog, 0, 0, x);
    const wf_real *y = wf_prog_forward(r.prog);
    double *out = wf_xmalloc(sizeof(double) * (size_t)N);
    for (int n = 0; n < N; n++)
        out[n] = y[(size_t)n * (size_t)r.chans];
    wf_run_close(&r);
    return out;
}

static wf_real *impulse(int N)
{
    wf_real *x = wf_xcalloc((size_t)N, sizeof(wf_real));
    x[0] = 1;
    return x;
}

/* DTFT of h[0..N) at f Hz. */
static double complex dtft(const double *h, int N, double f, double sr)
{
    double complex s = 0, z = 1, step = cexp(-I * 2 * PI * f / sr);
    for (int n = 0; n < N; n++) {
        s += h[n] * z;
        z *= step;
        if (n % 1024 == 1023) /* re-anchored, so that rounding does not build up */
            z = cexp(-I * 2 * PI * f * (n + 1) / sr);
    }
    return s;
}

static double *render_ir(const char *expr, double sr, int N)
{
    char text[300];
    snprintf(text, sizeof text, "rate %g\ninput x\nout %s\n", sr, expr);
    wf_real *x = impulse(N);
    double *h = render(text, x, N);
    free(x);
    return h;
}

/* ------------------------------------------------------------- onepole */

/* The TPT one-pole is the bilinear transform prewarped at fc:
 * h[0] = G, h[n] = G (1 + p) p^(n-1) with p = 1 - 2G, and
 * |H| = 1 / |1 + j tan(w/2) / g|: 1/sqrt(2) at fc, 0 at the Nyquist. */
void test_onepole(void **state)
{
    (void)state;
    const double sr = 48000, fcs[] = {100, 1000, 10000, 20000};
    const int N = 16384;
    for (int i = 0; i < 4; i++) {
        char expr[64];
        snprintf(expr, sizeof expr, "onepole(x, %g hz)", fcs[i]);
        double *h = render_ir(expr, sr, N);
        double g = tan(PI * fcs[i] / sr), G = g / (1 + g), p = 1 - 2 * G;
        for (int n = 0; n < 2000; n++) {
            double want = n == 0 ? G : G * (1 + p) * pow(p, n - 1);
            assert_close(h[n], want, 1e-5, 1e-7);
        }
        assert_close(cabs(dtft(h, N, fcs[i], sr)), sqrt(0.5), 2e-5, 0);
        assert_close(20 * log10(cabs(dtft(h, N, fcs[i], sr))), -3.0103, 0, 2e-4);
        assert_close(cabs(dtft(h, N, sr / 2, sr)), 0, 0, 1e-5);
        for (double f = fcs[i] / 8; f < sr / 2; f *= 1.7) {
            double want = 1 / cabs(1 + I * tan(PI * f / sr) / g);
            assert_close(cabs(dtft(h, N, f, sr)), want, 2e-5, 1e-6);
        }
        free(h);
    }
    /* a cutoff beyond the clamp [0, 0.4999 sr] is the clamp's */
    double *a = render_ir("onepole(x, 30 khz)", sr, 64), *b = render_ir("onepole(x, 100 khz)", sr, 64);
    double g = tan(PI * 0.4999), G = g / (1 + g);
    assert_close(a[0], G, 1e-6, 0);
    for (int n = 0; n < 64; n++)
        assert_close(a[n], b[n], 0, 0);
    free(a);
    free(b);
}

/* ------------------------------------------------------------- smooth */

/* A step reaches 1 - 1/e of its height `time` after it, at audio rate and
 * at control rate (frame values seen at frame starts), and a constant
 * control stays where it starts. */
void test_smooth(void **state)
{
    (void)state;
    const int N = 4000, at = 100;
    wf_real *x = wf_xcalloc((size_t)N, sizeof(wf_real));
    for (int n = at; n < N; n++)
        x[n] = 1;
    double *y = render("rate 48000\ninput x\nout smooth(x, 1 ms)\n", x, N); /* 48 samples */
    double a = 1 - exp(-1.0 / 48);
    for (int n = 0; n < N; n++)
        assert_close(y[n], n < at ? 0 : 1 - pow(1 - a, n - at + 1), 1e-5, 1e-6);
    assert_close(y[at + 47], 1 - exp(-1), 1e-5, 0);
    free(y);
    free(x);

    /* control rate: 250 frames a second, time 40 ms = 10 frames */
    const int hop = 64, F = 60;
    wf_run r;
    wf_run_open(&r, "rate 16000\nframes 250 hz\nparam v[1] = 0 per frame\nout smooth(v, 40 ms)\n",
                (int64_t)F * hop, WF_RUN_WHOLE, 0);
    assert_int_equal(r.env.hop, hop);
    wf_param *v = wf_run_param(&r, "v");
    for (int f = 0; f < F; f++)
        v->value[f] = f < 20 ? 0.25 : 1.25;
    const wf_real *z = wf_prog_forward(r.prog);
    double ac = 1 - exp(-1.0 / 10);
    for (int f = 0; f < F; f++) {
        double want = f < 20 ? 0.25 : 0.25 + (1 - pow(1 - ac, f - 20 + 1));
        assert_close(z[(size_t)f * hop], want, 1e-5, 1e-6);
    }
    assert_close(z[(size_t)29 * hop], 0.25 + (1 - exp(-1)), 1e-5, 0);
    wf_run_close(&r);
}

/* ---------------------------------------------------------------- svf */

enum { LP, BP, HP, NOTCH, PEAK };
static const char *const svf_modes[] = {"lp", "bp", "hp", "notch", "peak"};

/* The analogue prototype at s = j tan(w/2) / g (the prewarped bilinear
 * transform): lp 1/P, bp k s/P, hp s^2/P, notch (s^2 + 1)/P, peak
 * (1 - s^2)/P, P = s^2 + k s + 1. */
static double complex svf_H(int mode, double f, double fc, double q, double sr)
{
    double complex s = I * tan(PI * f / sr) / tan(PI * fc / sr);
    double k = 1 / q;
    double complex P = s * s + k * s + 1;
    double complex num[] = {1, k * s, s * s, s * s + 1, 1 - s * s};
    return num[mode] / P;
}

void test_svf_response(void **state)
{
    (void)state;
    const double sr = 48000;
    const int N = 16384;
    const struct {
        double fc, q;
    } cases[] = {{1000, 0.7071}, {1000, 4}, {5000, 0.5}, {15000, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int m = 0; m < 5; m++) {
            char expr[96];
            snprintf(expr, sizeof expr, "svf(x, %g hz, q: %g, mode: %s)", cases[c].fc, cases[c].q,
                     svf_modes[m]);
            double *h = render_ir(expr, sr, N);
            double fc = cases[c].fc, q = cases[c].q;
            /* at the cutoff: lp and hp q, bp 1, notch 0, peak 2q */
            const double at_fc[] = {q, 1, q, 0, 2 * q};
            assert_close(cabs(dtft(h, N, fc, sr)), at_fc[m], 3e-5, 3e-5);
            for (double f = fc / 8; f < sr / 2; f *= 1.26) {
                double want = cabs(svf_H(m, f, fc, q, sr));
                if (fabs(cabs(dtft(h, N, f, sr)) - want) > 3e-5 * want + 3e-5)
                    fail_msg("%s at %g Hz: |H| %.7g, want %.7g", expr, f,
                             cabs(dtft(h, N, f, sr)), want);
            }
            free(h);
        }
}

/* lp + bp + hp = x, notch = lp + hp, peak = lp - hp, sample by sample, with
 * freq and q modulated at audio rate. */
void test_svf_modes(void **state)
{
    (void)state;
    const int N = 6000;
    double *y[5];
    for (int m = 0; m < 5; m++) {
        char text[240];
        snprintf(text, sizeof text,
                 "rate 48000\nx = noise(seed: 3)\n"
                 "out svf(x, 2 khz + 1500 hz * sine(300 hz), q: 1.5 + sine(70 hz), mode: %s)\n",
                 svf_modes[m]);
        y[m] = render(text, NULL, N);
    }
    double *x = render("rate 48000\nout noise(seed: 3)\n", NULL, N);
    for (int n = 0; n < N; n++) {
        assert_close(y[LP][n] + y[BP][n] + y[HP][n], x[n], 0, 2e-5);
        assert_close(y[NOTCH][n], y[LP][n] + y[HP][n], 0, 2e-5);
        assert_close(y[PEAK][n], y[LP][n] - y[HP][n], 0, 2e-5);
    }
    for (int m = 0; m < 5; m++)
        free(y[m]);
    free(x);
}

/* 10 s of noise through svfs whose cutoff sweeps 100 Hz..23.9 kHz a
 * thousand times a second, at resonances up to q = 39.9: the TPT structure
 * stays bounded. */
void test_svf_modulation_stable(void **state)
{
    (void)state;
    const int N = 480000;
    for (int m = 0; m < 5; m++) {
        char text[240];
        snprintf(text, sizeof text,
                 "rate 48000\nx = noise(seed: 5)\n"
                 "out svf(x, 12 khz + 11.9 khz * sine(1 khz), q: 20 + 19.9 * sine(7 hz), mode: %s)\n",
                 svf_modes[m]);
        double *y = render(text, NULL, N);
        double peak = 0;
        for (int n = 0; n < N; n++) {
            if (!isfinite(y[n]))
                fail_msg("svf %s: sample %d is not finite", svf_modes[m], n);
            peak = fmax(peak, fabs(y[n]));
        }
        /* bounded by the static filter's worst gain, 2q = 80 for peak */
        if (peak > 100)
            fail_msg("svf %s: output reaches %g", svf_modes[m], peak);
        free(y);
    }
}

/* ------------------------------------------------------ comb, allpass */

/* y[n] = b0 x[n] + b1 x(n - D) + fb y(n - D) in double, D in samples per
 * sample, clamped to [1, dmax], linear interpolation, 0 before the start. */
static void ref_feedback(const double *x, const double *D, const double *c, int allpass,
                         double dmax, int N, double *y)
{
    for (int n = 0; n < N; n++) {
        double d = fmin(fmax(D[n], 1), dmax), pos = n - d, fl = floor(pos), u = pos - fl;
        int i = (int)fl;
        double ya = i >= 0 ? y[i] : 0, yb = i + 1 >= 0 && u > 0 ? y[i + 1] : 0;
        double xa = i >= 0 ? x[i] : 0, xb = i + 1 >= 0 && u > 0 ? x[i + 1] : 0;
        double yd = ya + (yb - ya) * u, xd = xa + (xb - xa) * u;
        y[n] = allpass ? -c[n] * x[n] + xd + c[n] * yd : x[n] + c[n] * yd;
    }
}

/* Peaks of 1/(1 - fb) at multiples of 1/delay, troughs of 1/(1 + fb)
 * halfway; the impulse response fb^k at k D. At 32768 Hz, delays of whole
 * samples are exact in float32. */
void test_comb(void **state)
{
    (void)state;
    const double sr = 32768, fbs[] = {0.9, -0.5, 0.3};
    const int N = 16384, D = 32; /* 1/1024 s */
    for (int i = 0; i < 3; i++) {
        char expr[64];
        snprintf(expr, sizeof expr, "comb(x, 1 / 1024, %g)", fbs[i]);
        double *h = render_ir(expr, sr, N);
        for (int n = 0; n < N; n++)
            assert_close(h[n], n % D ? 0 : pow(fbs[i], n / D), 1e-5, 1e-7);
        for (int m = 0; m < 16; m++) {
            assert_close(cabs(dtft(h, N, m * 1024.0, sr)), 1 / (1 - fbs[i]), 1e-5, 0);
            assert_close(cabs(dtft(h, N, (m + 0.5) * 1024.0, sr)), 1 / (1 + fbs[i]), 1e-5, 0);
        }
        free(h);
    }
}

/* Whole-sample delays (exact in float32 at 32768 Hz): |H| = 1 at every
 * frequency, h = -g, then (1 - g^2) g^(k-1) at k D. */
void test_allpass(void **state)
{
    (void)state;
    const double sr = 32768, gs[] = {0.7, -0.5};
    const int N = 16384, D = 37;
    for (int i = 0; i < 2; i++) {
        char expr[80];
        snprintf(expr, sizeof expr, "allpass(x, %d / 32768, gain: %g)", D, gs[i]);
        double *h = render_ir(expr, sr, N);
        double g = gs[i];
        for (int n = 0; n < N; n++) {
            double want = n == 0 ? -g : n % D ? 0 : (1 - g * g) * pow(g, n / D - 1);
            assert_close(h[n], want, 1e-5, 1e-7);
        }
        for (double f = 20; f < sr / 2; f *= 1.31)
            assert_close(cabs(dtft(h, N, f, sr)), 1, 1e-5, 0);
        free(h);
    }
}

/* Fractional and moving delays with moving coefficients, against the
 * definition in double. */
void test_comb_fractional(void **state)
{
    (void)state;
    const int N = 8000;
    const double sr = 16000;
    double *x = render("rate 16000\nout noise(seed: 4)\n", NULL, N);
    double *D = wf_xmalloc(sizeof(double) * N), *c = wf_xmalloc(sizeof(double) * N);
    double *want = wf_xmalloc(sizeof(double) * N);
    /* the renders' float32 delays and coefficients, read back */
    double *dsec = render("rate 16000\nout 2.5 ms + 1.3 ms * sine(3 hz)\n", NULL, N);
    double *cv = render("rate 16000\nout 0.6 * sine(5 hz)\n", NULL, N);
    for (int n = 0; n < N; n++) {
        D[n] = (double)(float)dsec[n] * sr;
        c[n] = cv[n];
    }
    for (int ap = 0; ap < 2; ap++) {
        char text[240];
        snprintf(text, sizeof text,
                 "rate 16000\nx = noise(seed: 4)\n"
                 "out %s(x, 2.5 ms + 1.3 ms * sine(3 hz), 0.6 * sine(5 hz), max: 5 ms)\n",
                 ap ? "allpass" : "comb");
        double *y = render(text, NULL, N);
        ref_feedback(x, D, c, ap, 5e-3 * sr, N, want);
        for (int n = 0; n < N; n++)
            if (fabs(y[n] - want[n]) > 1e-4 * (1 + fabs(want[n])))
                fail_msg("%s: sample %d is %.8g, want %.8g", ap ? "allpass" : "comb", n, y[n],
                         want[n]);
        free(y);
    }
    /* a delay below one sample is one sample, beyond max is max */
    double *a = render("rate 16000\nout comb(noise(seed: 4), 0, 0.5)\n", NULL, 200);
    double *b = render("rate 16000\nout comb(noise(seed: 4), 1 / 16000, 0.5)\n", NULL, 200);
    double *e = render("rate 16000\nout comb(noise(seed: 4), 1, 0.5, max: 3 ms)\n", NULL, 200);
    double *f = render("rate 16000\nout comb(noise(seed: 4), 3 ms, 0.5, max: 3 ms)\n", NULL, 200);
    for (int n = 0; n < 200; n++) {
        assert_close(a[n], b[n], 1e-6, 1e-7);
        assert_close(e[n], f[n], 1e-6, 1e-7);
    }
    free(a);
    free(b);
    free(e);
    free(f);
    free(x);
    free(D);
    free(c);
    free(want);
    free(dsec);
    free(cv);
}

/* |feedback| >= 1 (and |gain| >= 1) is reported with its node and time,
 * never clamped; inside the unit range nothing is. */
void test_comb_fault(void **state)
{
    (void)state;
    const struct {
        const char *text;
        double at;        /* seconds, -1: no fault */
        const char *what; /* its phrase's start */
    } cases[] = {
        {"rate 16000\nout comb(noise(), 2 ms, 1.03)\n", 0, "feedback 1.03"},
        {"rate 16000\nout comb(noise(), 2 ms, 0.999)\n", -1, NULL},
        {"rate 16000\nout comb(noise(), 2 ms, line(from: 0.9, to: 1.1, time: 0.5))\n", 0.25,
         "feedback 1"},
        {"rate 16000\nout allpass(noise(), 2 ms, gain: -1.2)\n", 0, "gain -1.2"},
        {"rate 16000\nout allpass(noise(), 2 ms, gain: 0.95)\n", -1, NULL},
        /* a delay that is not a number reads one sample back, and says so */
        {"rate 16000\nout comb(noise(), 2 ms + sqrt(line(from: 1, to: -1, time: 1)), 0.5)\n",
         0.5, "delay is not finite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_run r;
        wf_run_open(&r, cases[i].text, 16000, WF_RUN_WHOLE, 0);
        const wf_real *y = wf_prog_forward(r.prog);
        double sec = -1;
        const char *what = NULL;
        int node = wf_prog_fault(r.prog, &sec, &what);
        if (cases[i].at < 0) {
            assert_int_equal(node, -1);
        } else {
            assert_true(node >= 0);
            assert_close(sec, cases[i].at, 0, 2.0 / 16000);
            if (strncmp(what, cases[i].what, strlen(cases[i].what)) != 0)
                fail_msg("%s: reported '%s', want '%s'", cases[i].text, what, cases[i].what);
        }
        /* the output is what the recursion gives, not clamped */
        if (strstr(cases[i].text, "1.03"))
            assert_true(fabs(y[15999]) > 10);
        wf_run_close(&r);
    }
}

/* ------------------------------------------------------------- streams */

/* The per-frame param of the stream test, frame by frame. */
static double stream_cutoff(int f)
{
    return 800 + 700 * sin(0.3 * f);
}

/* Every kind, modulated at audio and control rate, streamed in blocks of
 * several sizes, equals the whole pass. */
void test_filters_stream(void **state)
{
    (void)state;
    const char *text = "rate 16000\nframes 250 hz\nparam fc[1] = 800 per frame\n"
                       "x = noise(seed: 9, channels: 2)\n"
                       "a = onepole(x, fc)\n"
                       "b = svf(x, [900, 3000] + 600 * sine(40 hz), q: [0.8, 3], mode: bp)\n"
                       "c = comb(x, 3 ms + 1 ms * sine(2 hz), 0.7, max: 10 ms)\n"
                       "d = allpass(x, [4.1 ms, 7 ms], gain: 0.6 + 0.2 * sine(3 hz), max: 8 ms)\n"
                       "out a + b + c + d + smooth(fc / 1000, 20 ms)\n";
    static const int blocks[] = {64, 320, 1024};
    wf_run_check_stream(text, 5000, 2, "fc", stream_cutoff, blocks, 3, 1e-6);
}
