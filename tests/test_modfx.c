/* Forward tests of the modulated delays and stereo nodes (stdlib/modfx.c)
 * against closed forms and references computed here in double: a vibrato
 * without depth is a fixed delay; the instantaneous delay read back from a
 * ramp (which linear interpolation reproduces exactly) is the analytic LFO's,
 * also under a modulated rate; a sine through a vibrato is phase modulated by
 * it; evenly spread chorus voices cancel their swings; mix 0 is dry; a
 * flanger's impulse response has peaks feedback^(k-1) at k delays, and a
 * swept flanger follows the defining recursion; faults; the pan law and the
 * mid/side width; streams against whole passes. Outputs are float32, so
 * tolerances are a few float32 roundings. */
#include "family_tests.h"
#include "render.h"

#define PI 3.14159265358979323846

/* Renders text for N samples with its inputs (in order of declaration) set
 * from ins (NULL-terminated, or NULL): every channel, in double; *chans gets
 * their count. */
static double *render(const char *text, const wf_real *const *ins, int N, int *chans)
{
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
    for (int i = 0; ins && ins[i]; i++)
        wf_prog_set_input(r.prog, i, 0, ins[i]);
    const wf_real *y = wf_prog_forward(r.prog);
    size_t len = (size_t)N * (size_t)r.chans;
    double *out = wf_xmalloc(sizeof(double) * len);
    for (size_t i = 0; i < len; i++)
        out[i] = y[i];
    *chans = r.chans;
    double sec;
    const char *what;
    if (wf_prog_fault(r.prog, &sec, &what) >= 0)
        fail_msg("%s: unexpected fault '%s' at %g s", text, what, sec);
    wf_run_close(&r);
    return out;
}

/* Channels a and b of an out of C channels agree to atol + rtol |b|. */
static void expect_channels(const char *what, const double *y, int N, int C, int a, int b,
                            double rtol, double atol)
{
    for (int n = 0; n < N; n++) {
        double u = y[(size_t)n * C + a], v = y[(size_t)n * C + b];
        if (!(fabs(u - v) <= atol + rtol * fabs(v)))
            fail_msg("%s: sample %d is %.9g, want %.9g", what, n, u, v);
    }
}

/* ------------------------------------------------------------- vibrato */

/* With depth 0 the three modulated delays are `delay` with the same time,
 * whole and between samples (at 16384 Hz the times are exact in float32). */
void test_vibrato_fixed_delay(void **state)
{
    (void)state;
    const double samples[] = {10, 2.25, 700.5, 1};
    const int N = 3000;
    for (int i = 0; i < 4; i++) {
        char text[600];
        snprintf(text, sizeof text,
                 "rate 16384\nx = noise(seed: 5)\nD = %g / 16384\n"
                 "out [delay(x, D), vibrato(x, rate: 3 hz, depth: 0, delay: D),"
                 " chorus(x, rate: 2 hz, depth: 0, delay: D, mix: 1, voices: 3),"
                 " flanger(x, rate: 1 hz, depth: 0, delay: D, feedback: 0, mix: 1)]\n",
                 samples[i]);
        int C;
        double *y = render(text, NULL, N, &C);
        assert_int_equal(C, 4);
        for (int k = 1; k < 4; k++)
            expect_channels(text, y, N, C, k, 0, 1e-6, 1e-7);
        /* and it is the delay: a tap of whole samples is the input itself */
        if (samples[i] == 10) {
            double *x = render("rate 16384\nout noise(seed: 5)\n", NULL, N, &C);
            for (int n = 10; n < N; n++)
                assert_close(y[(size_t)n * 4 + 1], x[n - 10], 0, 0);
            free(x);
        }
        free(y);
    }
}

/* The LFO's phase in cycles at each sample: frac(sum_{m<n} rate[m] / sr). */
static double *lfo_phases(const double *rate, int N, double sr)
{
    double *ph = wf_xmalloc(sizeof(double) * (size_t)N), p = 0;
    for (int n = 0; n < N; n++) {
        ph[n] = p;
        p += rate[n] / sr;
        p -= floor(p);
    }
    return ph;
}

/* A ramp x[n] = n through a linear-interpolation delay gives n - D[n]
 * exactly, so the instantaneous delay is read back sample by sample and
 * compared with delay + depth sin(2 pi phase + offset), the phase summed in
 * double: at a constant rate, at a rate swept at audio rate, and with an
 * offset per channel. */
void test_vibrato_lfo(void **state)
{
    (void)state;
    const double sr = 48000, depth = 0.001, delay = 0.003;
    const int N = 16000; /* 1.7 cycles at 5 Hz */
    wf_real *ramp = wf_xmalloc(sizeof(wf_real) * N), *rate = wf_xmalloc(sizeof(wf_real) * N);
    double *rd = wf_xmalloc(sizeof(double) * N);
    for (int n = 0; n < N; n++) {
        ramp[n] = (wf_real)n;
        rate[n] = (wf_real)(5 + 3 * sin(2 * PI * 1.7 * n / sr));
    }
    for (int swept = 0; swept < 2; swept++) {
        for (int n = 0; n < N; n++)
            rd[n] = swept ? (double)rate[n] : 5;
        double *ph = lfo_phases(rd, N, sr);
        const wf_real *ins[] = {ramp, swept ? rate : NULL, NULL};
        int C;
        double *y = render(swept ? "rate 48 khz\ninput x\ninput r\n"
                                   "out vibrato(x, rate: r, depth: 1 ms, delay: 3 ms)\n"
                                 : "rate 48 khz\ninput x\n"
                                   "out vibrato(x, rate: 5 hz, depth: 1 ms, delay: 3 ms)\n",
                           ins, N, &C);
        double lo = 1e9, hi = -1e9;
        for (int n = 200; n < N; n++) {
            double want = (delay + depth * sin(2 * PI * ph[n])) * sr, got = n - y[n];
            /* float32 output: 2^-10 near 16000 */
            if (fabs(got - want) > 2e-3)
                fail_msg("rate %s: delay at sample %d is %.6f samples, want %.6f",
                         swept ? "swept" : "5 Hz", n, got, want);
            lo = fmin(lo, got);
            hi = fmax(hi, got);
        }
        /* the sweep covers delay +- depth: 144 +- 48 samples */
        assert_close(lo, 96, 0, 0.05);
        assert_close(hi, 192, 0, 0.05);
        free(y);
        free(ph);
    }
    /* a phase offset per channel: the right side's sweep in quadrature */
    {
        double *rc = wf_xmalloc(sizeof(double) * N);
        for (int n = 0; n < N; n++)
            rc[n] = 5;
        double *ph = lfo_phases(rc, N, sr), off = (wf_real)1.5708;
        const wf_real *in1[] = {ramp, NULL};
        int C;
        double *y = render("rate 48 khz\ninput x\n"
                           "out vibrato([x, x], rate: 5 hz, depth: 1 ms, delay: 3 ms, phase: [0, 1.5708])\n",
                           in1, N, &C);
        assert_int_equal(C, 2);
        for (int n = 200; n < N; n++)
            for (int c = 0; c < 2; c++) {
                double want = (delay + depth * sin(2 * PI * ph[n] + (c ? off : 0))) * sr;
                if (fabs(n - y[2 * n + c] - want) > 2e-3)
                    fail_msg("phase %s: delay at sample %d is %.6f samples, want %.6f",
                             c ? "1.5708" : "0", n, n - y[2 * n + c], want);
            }
        free(y);
        free(ph);
        free(rc);
    }
    /* evenly spread voices: the mean of their swings is 0, so the chorus
     * of a ramp is the centre delay; one voice swings */
    const wf_real *ins[] = {ramp, NULL};
    for (int V = 1; V <= 3; V++) {
        char text[200];
        snprintf(text, sizeof text,
                 "rate 48 khz\ninput x\nout chorus(x, rate: 5 hz, depth: 1 ms, delay: 3 ms, mix: 1,"
                 " voices: %d)\n", V);
        int C;
        double *y = render(text, ins, N, &C), swing = 0;
        for (int n = 200; n < N; n++)
            swing = fmax(swing, fabs(n - y[n] - 144));
        if (V == 1)
            assert_close(swing, 48, 0, 0.05);
        else
            assert_close(swing, 0, 0, 2e-3);
        free(y);
    }
    free(ramp);
    free(rate);
    free(rd);
}

/* A sine of frequency f through the vibrato is sin(w (n - D[n])): phase
 * modulated by the LFO, to the linear interpolation's error (at most
 * w^2/8 of the amplitude, 9e-5 at 200 Hz). */
void test_vibrato_sine(void **state)
{
    (void)state;
    const double sr = 48000, f = 200, w = 2 * PI * f / sr;
    const int N = 12000;
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    double *rate = wf_xmalloc(sizeof(double) * N);
    for (int n = 0; n < N; n++) {
        x[n] = (wf_real)sin(w * n);
        rate[n] = 6;
    }
    double *ph = lfo_phases(rate, N, sr);
    const wf_real *ins[] = {x, NULL};
    int C;
    double *y = render("rate 48 khz\ninput x\nout vibrato(x, rate: 6 hz, depth: 2 ms, delay: 4 ms)\n",
                       ins, N, &C);
    for (int n = 400; n < N; n++) {
        double D = (0.004 + 0.002 * sin(2 * PI * ph[n])) * sr;
        assert_close(y[n], sin(w * (n - D)), 0, 1.2e-4);
    }
    free(y);
    free(ph);
    free(x);
    free(rate);
}

/* ------------------------------------------------------------- chorus */

/* mix 0 is the dry signal exactly, mix 1 with one voice the vibrato, and
 * between them the straight blend. */
void test_chorus_mix(void **state)
{
    (void)state;
    const int N = 4000;
    int C;
    double *y = render("rate 48 khz\nx = noise(seed: 7)\n"
                       "v = vibrato(x, rate: 1.5 hz, depth: 2 ms, delay: 12 ms)\n"
                       "out [x, chorus(x, rate: 1.5 hz, depth: 2 ms, delay: 12 ms, mix: 0, voices: 3),"
                       " v, chorus(x, rate: 1.5 hz, depth: 2 ms, delay: 12 ms, mix: 1),"
                       " 0.7 * x + 0.3 * v, chorus(x, rate: 1.5 hz, depth: 2 ms, delay: 12 ms, mix: 0.3)]\n",
                       NULL, N, &C);
    assert_int_equal(C, 6);
    expect_channels("mix 0", y, N, C, 1, 0, 0, 0);
    expect_channels("mix 1", y, N, C, 3, 2, 0, 0);
    expect_channels("mix 0.3", y, N, C, 5, 4, 1e-6, 1e-7);
    free(y);
}

/* ------------------------------------------------------------- flanger */

/* A reference flanger in double, as its definition: w = x + fb d,
 * d[n] = w(n - D[n]) by linear interpolation, y = (1 - mix) x + mix d, with
 * D[n] = (delay + depth sin(2 pi rate n / sr)) sr clamped to [1, max]. */
static double *flanger_ref(const double *x, int N, double sr, double rate, double depth,
                           double delay, double fb, double mix)
{
    double *w = wf_xcalloc((size_t)N, sizeof(double)), *y = wf_xmalloc(sizeof(double) * N);
    double *r = wf_xmalloc(sizeof(double) * N);
    for (int n = 0; n < N; n++)
        r[n] = rate;
    double *ph = lfo_phases(r, N, sr);
    for (int n = 0; n < N; n++) {
        double D = fmax((delay + depth * sin(2 * PI * ph[n])) * sr, 1), pos = n - D;
        int i = (int)floor(pos);
        double u = pos - i, a = i >= 0 ? w[i] : 0, b = i + 1 >= 0 ? w[i + 1] : 0;
        double d = a + (b - a) * u;
        w[n] = x[n] + fb * d;
        y[n] = (1 - mix) * x[n] + mix * d;
    }
    free(w);
    free(r);
    free(ph);
    return y;
}

/* With a constant delay of 10 samples, the impulse response is 1 - mix at
 * 0 and mix feedback^(k-1) at 10 k, 0 elsewhere; between samples (10.25)
 * and swept by the LFO, the reference recursion's. */
void test_flanger_impulse(void **state)
{
    (void)state;
    const double sr = 16384;
    const int N = 2000;
    wf_real *imp = wf_xcalloc((size_t)N, sizeof(wf_real));
    imp[0] = 1;
    double *x = wf_xcalloc((size_t)N, sizeof(double));
    x[0] = 1;
    const wf_real *ins[] = {imp, NULL};
    const double fbs[] = {0.5, -0.7, 0.9}, mixes[] = {1, 0.5};
    for (int f = 0; f < 3; f++)
        for (int mi = 0; mi < 2; mi++) {
            char text[200];
            snprintf(text, sizeof text,
                     "rate 16384\ninput x\nout flanger(x, rate: 0.5 hz, depth: 0, delay: 10 / 16384,"
                     " feedback: %g, mix: %g)\n", fbs[f], mixes[mi]);
            int C;
            double *h = render(text, ins, N, &C);
            for (int n = 0; n < N; n++) {
                double want = n == 0 ? 1 - mixes[mi]
                              : n % 10 == 0 ? mixes[mi] * pow(fbs[f], n / 10 - 1)
                                            : 0;
                assert_close(h[n], want, 1e-5, 1e-7);
            }
            free(h);
        }
    struct {
        const char *text;
        double rate, depth, delay, fb, mix;
    } cases[] = {
        {"flanger(x, rate: 0.5 hz, depth: 0, delay: 10.25 / 16384, feedback: 0.8, mix: 0.6)", 0.5, 0,
         10.25 / 16384, 0.8, 0.6},
        {"flanger(x, rate: 7 hz, depth: 1 ms, delay: 2 ms, feedback: -0.75, mix: 0.5)", 7, 0.001,
         0.002, -0.75, 0.5},
        /* the sweep reaches below one sample and is clamped there */
        {"flanger(x, rate: 3 hz, depth: 1 ms, delay: 0.5 ms, feedback: 0.6, mix: 1)", 3, 0.001,
         0.0005, 0.6, 1},
    };
    wf_real *chirp = wf_xmalloc(sizeof(wf_real) * N);
    double *xn = wf_xmalloc(sizeof(double) * N);
    for (int n = 0; n < N; n++)
        xn[n] = chirp[n] = (wf_real)sin(0.37 * n) * (wf_real)cos(0.011 * n * n);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int in = 0; in < 2; in++) {
            char text[200];
            snprintf(text, sizeof text, "rate 16384\ninput x\nout %s\n", cases[c].text);
            const wf_real *sig[] = {in ? chirp : imp, NULL};
            int C;
            double *y = render(text, sig, N, &C);
            /* the node sees its constant signals in float32 (the rate exact) */
            double *want = flanger_ref(in ? xn : x, N, sr, cases[c].rate, (wf_real)cases[c].depth,
                                       (wf_real)cases[c].delay, (wf_real)cases[c].fb,
                                       (wf_real)cases[c].mix);
            for (int n = 0; n < N; n++)
                if (fabs(y[n] - want[n]) > 2e-6 * (1 + fabs(want[n])))
                    fail_msg("%s (%s): sample %d is %.9g, want %.9g", cases[c].text,
                             in ? "chirp" : "impulse", n, y[n], want[n]);
            free(y);
            free(want);
        }
    free(chirp);
    free(xn);
    free(imp);
    free(x);
}

/* |feedback| >= 1 is reported where it happens, and the output is the
 * recursion's (growing), not clamped; so is a delay that is not a number. */
void test_flanger_fault(void **state)
{
    (void)state;
    const struct {
        const char *text;
        double at;        /* seconds, -1: no fault */
        const char *what; /* its phrase's start */
    } cases[] = {
        {"out flanger(noise(), rate: 1 hz, depth: 0, delay: 2 ms, feedback: 1.02, mix: 1)\n", 0,
         "feedback 1.02"},
        {"out flanger(noise(), rate: 1 hz, depth: 1 ms, delay: 2 ms, feedback: -0.999)\n", -1, NULL},
        {"out flanger(noise(), feedback: line(from: 0.9, to: 1.1, time: 0.5))\n", 0.25,
         "feedback 1"},
        {"out flanger(noise(), delay: 2 ms + sqrt(line(from: 1, to: -1, time: 1)))\n", 0.5,
         "delay is not finite"},
        {"out vibrato(noise(), rate: sqrt(line(from: 1, to: -1, time: 1)))\n", 0.5,
         "delay is not finite"},
        {"out chorus(noise(), rate: 3 hz, depth: 5 ms, delay: 1 ms, voices: 4)\n", -1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[300];
        snprintf(text, sizeof text, "rate 16000\n%s", cases[i].text);
        wf_run r;
        wf_run_open(&r, text, 16000, WF_RUN_WHOLE, 0);
        const wf_real *y = wf_prog_forward(r.prog);
        double sec = -1;
        const char *what = NULL;
        int node = wf_prog_fault(r.prog, &sec, &what);
        if (cases[i].at < 0) {
            assert_int_equal(node, -1);
        } else {
            assert_true(node >= 0);
            /* a rate's NaN reaches the delay through the next sample's phase */
            assert_close(sec, cases[i].at, 0, 3.0 / 16000);
            if (strncmp(what, cases[i].what, strlen(cases[i].what)) != 0)
                fail_msg("%s: reported '%s', want '%s'", cases[i].text, what, cases[i].what);
        }
        if (i == 0) /* 1.02^(16000 / 32) */
            assert_true(fabs(y[15999]) > 1e3);
        for (int n = 0; n < 16000; n++)
            assert_true(isfinite(y[n]));
        wf_run_close(&r);
    }
}

/* ------------------------------------------------------------ pan, width */

/* left = x cos(theta), right = x sin(theta), theta = (pos + 1) pi/4: power
 * kept, -1 left only, 1 right only, 0 both at -3 dB; beyond [-1, 1] the
 * clamp; and with pos swept at audio rate, sample by sample. */
void test_pan_law(void **state)
{
    (void)state;
    const int N = 2000;
    const double pos[] = {-1, -0.5, 0, 0.3, 1, 2, -3};
    for (int i = 0; i < 7; i++) {
        char text[160];
        snprintf(text, sizeof text, "rate 48 khz\nx = noise(seed: 2)\nout [x, pan(x, pos: %g)]\n",
                 pos[i]);
        int C;
        double *y = render(text, NULL, N, &C);
        assert_int_equal(C, 3);
        double th = (fmax(-1, fmin(1, pos[i])) + 1) * PI / 4;
        for (int n = 0; n < N; n++) {
            double x = y[3 * n], l = y[3 * n + 1], r = y[3 * n + 2];
            assert_close(l, x * cos(th), 1e-6, 1e-7);
            assert_close(r, x * sin(th), 1e-6, 1e-7);
            assert_close(l * l + r * r, x * x, 1e-6, 1e-9);
            if (pos[i] <= -1) {
                assert_true(l == x);
                assert_true(r == 0);
            }
            if (pos[i] >= 1) {
                assert_true(r == x);
                assert_true(fabs(l) <= 1e-7 * fabs(x));
            }
            if (pos[i] == 0)
                assert_close(l, x / sqrt(2), 1e-6, 0);
        }
        free(y);
    }
    int C;
    double *y = render("rate 48 khz\nx = noise(seed: 2)\np = sine(3 hz)\nout [x, pan(x, pos: p), p]\n",
                       NULL, N, &C);
    assert_int_equal(C, 4);
    for (int n = 0; n < N; n++) {
        double x = y[4 * n], l = y[4 * n + 1], r = y[4 * n + 2], th = (y[4 * n + 3] + 1) * PI / 4;
        assert_close(l, x * cos(th), 1e-6, 1e-7);
        assert_close(r, x * sin(th), 1e-6, 1e-7);
        assert_close(l * l + r * r, x * x, 1e-6, 1e-9);
    }
    free(y);
}

/* width 0 gives both sides the mid, 1 the input, 2 twice the side, -1 the
 * sides swapped; the mid never changes; a width swept at audio rate. */
void test_width(void **state)
{
    (void)state;
    const int N = 2000;
    const double widths[] = {0, 1, 2, -1, 0.4};
    for (int i = 0; i < 5; i++) {
        char text[200];
        snprintf(text, sizeof text,
                 "rate 48 khz\nx = [noise(seed: 1), 0.5 * noise(seed: 2)]\nout [x, width(x, width: %g)]\n",
                 widths[i]);
        int C;
        double *y = render(text, NULL, N, &C);
        assert_int_equal(C, 4);
        for (int n = 0; n < N; n++) {
            double l = y[4 * n], r = y[4 * n + 1], L = y[4 * n + 2], R = y[4 * n + 3];
            double m = (l + r) / 2, s = (l - r) / 2;
            assert_close(L, m + widths[i] * s, 0, 2e-7);
            assert_close(R, m - widths[i] * s, 0, 2e-7);
            assert_close(L + R, l + r, 0, 3e-7);
            if (widths[i] == 0)
                assert_true(L == R);
            if (widths[i] == -1) {
                assert_close(L, r, 0, 2e-7);
                assert_close(R, l, 0, 2e-7);
            }
        }
        free(y);
    }
    int C;
    double *y = render("rate 48 khz\nx = [noise(seed: 1), sine(300 hz)]\nw = 1 + sine(2 hz)\n"
                       "out [x, width(x, width: w), w]\n",
                       NULL, N, &C);
    assert_int_equal(C, 5);
    for (int n = 0; n < N; n++) {
        double l = y[5 * n], r = y[5 * n + 1], w = y[5 * n + 4];
        assert_close(y[5 * n + 2], (l + r) / 2 + w * (l - r) / 2, 0, 3e-7);
        assert_close(y[5 * n + 3], (l + r) / 2 - w * (l - r) / 2, 0, 3e-7);
    }
    free(y);
}

/* ------------------------------------------------------------- streams */

/* The per-frame param of the stream test, frame by frame. */
static double stream_rate(int f)
{
    return 1 + 0.8 * sin(0.3 * f);
}

/* Every kind, modulated at audio and control rate, streamed in blocks of
 * several sizes, equals the whole pass (the LFO phases and the rings live in
 * the state). */
void test_modfx_stream(void **state)
{
    (void)state;
    const char *text =
        "rate 16000\nframes 250 hz\nparam r[1] = 0.7 per frame\n"
        "x = noise(seed: 9, channels: 2)\n"
        "a = vibrato(x, rate: [5, 6.5], depth: 1 ms, delay: 3 ms)\n"
        "b = chorus(x, rate: r, depth: 2 ms + 1 ms * sine(0.3 hz), delay: 12 ms, mix: 0.5,"
        " phase: [0, 1.5708], voices: 3)\n"
        "c = flanger(x, rate: 0.3 hz, depth: 2 ms, delay: 2.5 ms, feedback: 0.7 + 0.2 * sine(1 hz),"
        " mix: 0.5)\n"
        "d = width(a + b + c, width: 1.5 + 0.5 * sine(2 hz))\n"
        "out d + pan(pick(x, index: 0), pos: sine(0.5 hz))\n";
    static const int blocks[] = {64, 320, 1024};
    wf_run_check_stream(text, 6000, 2, "r", stream_rate, blocks, 3, 1e-6);
}
