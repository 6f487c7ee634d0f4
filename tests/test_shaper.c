/* Forward tests of the memoryless shapers (stdlib/shaper.c): gain and every
 * distortion curve against their closed forms in double, sample by sample,
 * over a ramp that crosses the rails; waveshaper against the Chebyshev
 * series written out, and the harmonics a full-scale sine gets from it;
 * and each kind's gradients against the closed-form derivatives (the
 * registry's check runs distortion's default curve only). */
#include <complex.h>

#include "family_tests.h"
#include "render.h"

#define PI 3.14159265358979323846
#define N 1000

static double db2lin(double db)
{
    return pow(10, db / 20);
}

/* The curves as the docs write them, in double. */
static double curve_ref(const char *kind, double u)
{
    if (!strcmp(kind, "tanh"))
        return tanh(u);
    if (!strcmp(kind, "soft"))
        return fabs(u) > 1 ? (u > 0 ? 1 : -1) : 1.5 * u - 0.5 * u * u * u;
    if (!strcmp(kind, "hard"))
        return u < -1 ? -1 : u > 1 ? 1 : u;
    return tanh(u + 0.5) - tanh(0.5);
}

static double slope_ref(const char *kind, double u)
{
    if (!strcmp(kind, "tanh"))
        return 1 - tanh(u) * tanh(u);
    if (!strcmp(kind, "soft"))
        return fabs(u) > 1 ? 0 : 1.5 * (1 - u * u);
    if (!strcmp(kind, "hard"))
        return u >= -1 && u <= 1;
    return 1 - tanh(u + 0.5) * tanh(u + 0.5);
}

/* The ramp's samples as the line node gives them. */
static void ramp(double *x)
{
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "rate 48 khz\nout line(-2, 2, 1000 / 48000)\n", N);
    for (int t = 0; t < N; t++)
        x[t] = y[t];
    wf_run_close(&r);
}

/* gain: x 10^(db/20) for a constant and a swept db, to float32 rounding. */
void test_gain(void **state)
{
    (void)state;
    double x[N];
    ramp(x);
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "rate 48 khz\nout gain(line(-2, 2, 1000 / 48000), db: -6)\n", N);
    for (int t = 0; t < N; t++)
        assert_close(y[t], x[t] * db2lin(-6), 1e-6, 1e-7);
    wf_run_close(&r);
    y = wf_run_whole(&r,
                     "rate 48 khz\nout gain(line(-2, 2, 1000 / 48000), db: line(-20, 20, 1000 / 48000))\n", N);
    for (int t = 0; t < N; t++)
        assert_close(y[t], x[t] * db2lin(-20 + 40.0 * t / N), 1e-5, 1e-7);
    wf_run_close(&r);
    /* constants fold in double */
    y = wf_run_whole(&r, "rate 48 khz\nout gain(0.5, db: 20)\n", 4);
    assert_close(y[0], 5, 1e-7, 0);
    wf_run_close(&r);
}

/* Each curve at drive 6 dB over the ramp (u from -4 to 4: both rails and the
 * knee between), to 1e-6; the soft curve is continuous with slope 0 at the
 * rails, the hard one is exactly the clamp. */
void test_distortion_curves(void **state)
{
    (void)state;
    static const char *const kinds[] = {"tanh", "soft", "hard", "asym"};
    double x[N];
    ramp(x);
    for (int k = 0; k < 4; k++) {
        char text[256];
        snprintf(text, sizeof text, "rate 48 khz\nout distortion(line(-2, 2, 1000 / 48000), drive: 6, kind: %s)\n",
                 kinds[k]);
        wf_run r;
        const wf_real *y = wf_run_whole(&r, text, N);
        for (int t = 0; t < N; t++)
            assert_close(y[t], curve_ref(kinds[k], x[t] * db2lin(6)), 1e-6, 1e-7);
        wf_run_close(&r);
    }
    assert_close(curve_ref("soft", 1), 1, 0, 0);
    assert_close(slope_ref("soft", 1), 0, 0, 0);
    /* dasp's simple_distortion: tanh(x 10^(drive/20)) */
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "rate 48 khz\nout distortion(0.3 * sine(100 hz), drive: 12)\n", 480);
    for (int t = 0; t < 480; t++) {
        double s = (double)(wf_real)(0.3 * sin(2 * PI * 100 * t / 48000.0));
        assert_close(y[t], tanh(s * db2lin(12)), 1e-5, 1e-6);
    }
    wf_run_close(&r);
}

/* The gradients of every curve: with L = <w, y> and x, drive audio-rate
 * params, dL/dx[t] = w f'(u) G and dL/ddrive[t] = w f'(u) u ln(10)/20, to
 * float32 rounding; a hard-clipped sample passes none. */
void test_distortion_gradients(void **state)
{
    (void)state;
    static const char *const kinds[] = {"tanh", "soft", "hard", "asym"};
    const int n = 480;
    for (int k = 0; k < 4; k++) {
        char text[256];
        snprintf(text, sizeof text,
                 "rate 48 khz\nframes 48 khz\nparam x[1] = 0 per frame\nparam d[1] = 0 per frame\n"
                 "out distortion(x, drive: d, kind: %s)\n", kinds[k]);
        wf_run r;
        wf_run_open(&r, text, n, WF_RUN_GRAD, 0);
        wf_param *px = wf_run_param(&r, "x"), *pd = wf_run_param(&r, "d");
        assert_int_equal(px->rows, n);
        for (int t = 0; t < n; t++) {
            px->value[t] = (wf_real)(-2 + 4.0 * t / n);
            pd->value[t] = (wf_real)(-6 + 18.0 * ((t * 7) % n) / n);
        }
        wf_real w[480];
        for (int t = 0; t < n; t++)
            w[t] = (wf_real)(0.5 + 0.5 * sin(t));
        wf_params_zero_grad(&r.ps);
        wf_prog_forward(r.prog);
        wf_prog_backward(r.prog, w);
        int zeros = 0;
        for (int t = 0; t < n; t++) {
            double G = db2lin(pd->value[t]), u = px->value[t] * G, s = slope_ref(kinds[k], u);
            assert_close(px->grad[t], w[t] * s * G, 1e-5, 1e-7);
            assert_close(pd->grad[t], w[t] * s * u * log(10) / 20, 1e-5, 1e-7);
            zeros += px->grad[t] == 0;
        }
        if (!strcmp(kinds[k], "hard") || !strcmp(kinds[k], "soft"))
            assert_true(zeros > 0);
        wf_run_close(&r);
    }
}

/* waveshaper: the Chebyshev series over the ramp (clipped to [-1, 1]); the
 * identity at coeffs [1]; a full-scale sine through c = [0.5, 0.3, 0.2]
 * comes out as those amplitudes at harmonics 1, 2 and 3 (T_k(cos t) =
 * cos kt), to 1e-5, and nothing above; and the gradient into c_k is
 * <w, T_k(v)>, into x the series' slope. */
void test_waveshaper(void **state)
{
    (void)state;
    double x[N];
    ramp(x);
    wf_run r;
    const wf_real *y =
        wf_run_whole(&r, "rate 48 khz\nout waveshaper(line(-2, 2, 1000 / 48000), [0.7, -0.2, 0.3, 0.1])\n", N);
    for (int t = 0; t < N; t++) {
        double v = fmax(-1, fmin(1, x[t]));
        double T[5] = {1, v, 2 * v * v - 1, 4 * v * v * v - 3 * v, 8 * v * v * v * v - 8 * v * v + 1};
        assert_close(y[t], 0.7 * T[1] - 0.2 * T[2] + 0.3 * T[3] + 0.1 * T[4], 1e-6, 1e-6);
    }
    wf_run_close(&r);
    y = wf_run_whole(&r, "rate 48 khz\nout waveshaper(line(-2, 2, 1000 / 48000), [1])\n", N);
    for (int t = 0; t < N; t++)
        assert_close(y[t], fmax(-1, fmin(1, x[t])), 0, 0);
    wf_run_close(&r);

    /* harmonics: 100 Hz for 4800 samples, exactly 10 periods */
    const int M = 4800;
    y = wf_run_whole(&r, "rate 48 khz\nout waveshaper(cos(2 * 3.14159265358979 * 100 * line(0, 1, 1 s)), [0.5, 0.3, 0.2])\n", M);
    for (int h = 0; h <= 6; h++) {
        double complex s = 0;
        for (int t = 0; t < M; t++)
            s += (double)y[t] * cexp(-I * 2 * PI * h * 10 * t / M);
        double amp = (h ? 2 : 1) * cabs(s) / M, want = h >= 1 && h <= 3 ? (double[]){0.5, 0.3, 0.2}[h - 1] : 0;
        assert_close(amp, want, 0, 2e-4);
    }
    wf_run_close(&r);

    wf_run_open(&r, "rate 48 khz\nframes 48 khz\nparam x[1] = 0 per frame\nparam c[3] = [0.5, -0.3, 0.2]\n"
                    "out waveshaper(x, c)\n", 200, WF_RUN_GRAD, 0);
    wf_param *px = wf_run_param(&r, "x"), *pc = wf_run_param(&r, "c");
    for (int t = 0; t < 200; t++)
        px->value[t] = (wf_real)(-1.5 + 3.0 * t / 200);
    wf_real w[200];
    for (int t = 0; t < 200; t++)
        w[t] = (wf_real)cos(0.3 * t);
    wf_params_zero_grad(&r.ps);
    wf_prog_forward(r.prog);
    wf_prog_backward(r.prog, w);
    double dc[3] = {0, 0, 0};
    for (int t = 0; t < 200; t++) {
        double xv = px->value[t], v = fmax(-1, fmin(1, xv));
        double T[3] = {v, 2 * v * v - 1, 4 * v * v * v - 3 * v};
        double slope = fabs(xv) < 1 ? 0.5 - 0.3 * 4 * v + 0.2 * (12 * v * v - 3) : 0;
        for (int k = 0; k < 3; k++)
            dc[k] += w[t] * T[k];
        assert_close(px->grad[t], w[t] * slope, 1e-5, 1e-6);
    }
    for (int k = 0; k < 3; k++)
        assert_close(pc->grad[k], dc[k], 1e-5, 1e-5);
    wf_run_close(&r);
}
