/* Forward tests of the recursive filters (stdlib/iir.c): RBJ biquads' magnitude
 * responses against the cookbook's closed forms at their corner, centre and
 * shelf frequencies, impulse responses against a double-precision reference
 * recursion written here from the formulas, iir of orders 1 to 8 against
 * sos of the same filter, streams against whole passes with time-varying
 * coefficients, long runs, and the faults of unstable filters; eq's
 * magnitude response against the cookbook's, its output and gradients
 * against chained biquads, its flat and default settings, streams and
 * faults. */
#include <complex.h>

#include "family_tests.h"
#include "render.h"
#include "runtime/rng.h"

#define PI 3.14159265358979323846
#define SR 48000.0

/* The impulse: decay() with a time constant far below a sample is 1 at
 * sample 0 and 0 after it. */
#define IMPULSE "decay(1e-9)"

/* Renders text (one channel) for n samples into a new buffer. */
static wf_real *render(const char *text, int n)
{
    wf_run r;
    const wf_real *y = wf_run_whole(&r, text, n);
    wf_real *copy = wf_xmalloc(sizeof(wf_real) * (size_t)n * (size_t)r.chans);
    memcpy(copy, y, sizeof(wf_real) * (size_t)n * (size_t)r.chans);
    wf_run_close(&r);
    return copy;
}

/* |H(f)| from an impulse response h[n], by its DFT at f in double. */
static double magnitude(const wf_real *h, int n, double f)
{
    double complex s = 0;
    for (int t = 0; t < n; t++)
        s += (double)h[t] * cexp(-I * 2 * PI * f / SR * t);
    return cabs(s);
}

/* The cookbook's coefficients (b0 b1 b2 a0 a1 a2), written out again here. */
static void cookbook(const char *kind, double f, double q, double gain, double *c)
{
    double w0 = 2 * PI * f / SR, cs = cos(w0), al = sin(w0) / (2 * q), A = pow(10, gain / 40);
    double sa = 2 * sqrt(A) * al;
    double lp[6] = {(1 - cs) / 2, 1 - cs, (1 - cs) / 2, 1 + al, -2 * cs, 1 - al};
    double hp[6] = {(1 + cs) / 2, -(1 + cs), (1 + cs) / 2, 1 + al, -2 * cs, 1 - al};
    double bp[6] = {al, 0, -al, 1 + al, -2 * cs, 1 - al};
    double no[6] = {1, -2 * cs, 1, 1 + al, -2 * cs, 1 - al};
    double ap[6] = {1 - al, -2 * cs, 1 + al, 1 + al, -2 * cs, 1 - al};
    double pk[6] = {1 + al * A, -2 * cs, 1 - al * A, 1 + al / A, -2 * cs, 1 - al / A};
    double ls[6] = {A * ((A + 1) - (A - 1) * cs + sa), 2 * A * ((A - 1) - (A + 1) * cs),
                    A * ((A + 1) - (A - 1) * cs - sa),  (A + 1) + (A - 1) * cs + sa,
                    -2 * ((A - 1) + (A + 1) * cs),      (A + 1) + (A - 1) * cs - sa};
    double hs[6] = {A * ((A + 1) + (A - 1) * cs + sa), -2 * A * ((A - 1) + (A + 1) * cs),
                    A * ((A + 1) + (A - 1) * cs - sa),  (A + 1) - (A - 1) * cs + sa,
                    2 * ((A - 1) - (A + 1) * cs),       (A + 1) - (A - 1) * cs - sa};
    const double *src = !strcmp(kind, "lowpass")    ? lp
                        : !strcmp(kind, "highpass")  ? hp
                        : !strcmp(kind, "bandpass")  ? bp
                        : !strcmp(kind, "notch")     ? no
                        : !strcmp(kind, "allpass")   ? ap
                        : !strcmp(kind, "peak")      ? pk
                        : !strcmp(kind, "lowshelf")  ? ls
                                                     : hs;
    memcpy(c, src, 6 * sizeof(double));
}

/* The difference equation in double (direct form I), from rest. */
static void ref_biquad(const double *c, const double *x, double *y, int n)
{
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (int t = 0; t < n; t++) {
        double v = (c[0] * x[t] + c[1] * x1 + c[2] * x2 - c[4] * y1 - c[5] * y2) / c[3];
        x2 = x1;
        x1 = x[t];
        y2 = y1;
        y1 = v;
        y[t] = v;
    }
}

static wf_real *biquad_ir(const char *kind, double f, double q, double gain, int n)
{
    char text[256];
    snprintf(text, sizeof text, "rate 48 khz\nout biquad(" IMPULSE ", kind: %s, freq: %.17g, q: %.17g, gain: %.17g)\n",
             kind, f, q, gain);
    return render(text, n);
}

/* Magnitudes at the frequencies where the cookbook gives them in closed
 * form (to 1e-5 relative: float32 impulse responses, 8192 samples long, of
 * filters that decay within a few hundred). */
void test_biquad_magnitudes(void **state)
{
    (void)state;
    const int N = 8192;
    const double f0 = 1000, g = 6;
    static const double qs[] = {0.70710678118654752, 2.0};
    for (int iq = 0; iq < 2; iq++) {
        double q = qs[iq];
        wf_real *h = biquad_ir("lowpass", f0, q, 0, N);
        assert_close(magnitude(h, N, f0), q, 1e-5, 0); /* -3.0103 dB at q = 1/sqrt 2 */
        assert_close(magnitude(h, N, 0), 1, 1e-5, 0);
        if (iq == 0)
            assert_close(20 * log10(magnitude(h, N, f0)), -3.0103, 0, 1e-4);
        free(h);
        h = biquad_ir("highpass", f0, q, 0, N);
        assert_close(magnitude(h, N, f0), q, 1e-5, 0);
        assert_close(magnitude(h, N, SR / 2), 1, 1e-5, 0);
        free(h);
        h = biquad_ir("bandpass", f0, q, 0, N);
        assert_close(magnitude(h, N, f0), 1, 1e-5, 0); /* constant 0 dB peak */
        assert_true(magnitude(h, N, 0) < 1e-5);
        free(h);
        h = biquad_ir("notch", f0, q, 0, N);
        assert_true(magnitude(h, N, f0) < 1e-5);
        assert_close(magnitude(h, N, 0), 1, 1e-5, 0);
        free(h);
        h = biquad_ir("peak", f0, q, g, N);
        assert_close(magnitude(h, N, f0), pow(10, g / 20), 1e-5, 0);
        assert_close(magnitude(h, N, 0), 1, 1e-5, 0);
        free(h);
        h = biquad_ir("allpass", f0, q, 0, N);
        for (double f = 0; f <= SR / 2; f += 1500)
            assert_close(magnitude(h, N, f), 1, 1e-5, 0);
        free(h);
    }
    /* shelves: half the gain (in dB) at the corner, all of it on the shelf */
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double gain = 9 * sgn;
        wf_real *h = biquad_ir("lowshelf", f0, 0.70710678118654752, gain, N);
        assert_close(20 * log10(magnitude(h, N, f0)), gain / 2, 0, 1e-4);
        assert_close(20 * log10(magnitude(h, N, 0)), gain, 0, 1e-4);
        assert_close(20 * log10(magnitude(h, N, SR / 2)), 0, 0, 1e-3);
        free(h);
        h = biquad_ir("highshelf", f0, 0.70710678118654752, gain, N);
        assert_close(20 * log10(magnitude(h, N, f0)), gain / 2, 0, 1e-4);
        assert_close(20 * log10(magnitude(h, N, SR / 2)), gain, 0, 1e-4);
        assert_close(20 * log10(magnitude(h, N, 0)), 0, 0, 1e-3);
        free(h);
    }
}

/* Impulse responses of every kind against the double recursion, to float32
 * rounding (1e-6 of the response's peak). */
void test_biquad_impulse(void **state)
{
    (void)state;
    static const char *const kinds[] = {"lowpass", "highpass", "bandpass", "notch",
                                        "peak",    "lowshelf", "highshelf", "allpass"};
    const int N = 2000;
    double *x = calloc(N, sizeof *x), *y = wf_xmalloc(sizeof *y * N), c[6];
    x[0] = 1;
    for (size_t k = 0; k < 8; k++) {
        cookbook(kinds[k], 2500, 3, -7.5, c);
        ref_biquad(c, x, y, N);
        wf_real *h = biquad_ir(kinds[k], 2500, 3, -7.5, N);
        double peak = 0;
        for (int t = 0; t < N; t++)
            peak = fmax(peak, fabs(y[t]));
        for (int t = 0; t < N; t++)
            if (fabs(h[t] - y[t]) > 1e-6 * peak)
                fail_msg("%s: sample %d is %.9g, the recursion gives %.9g", kinds[k], t, h[t], y[t]);
        free(h);
    }
    free(x);
    free(y);
}

/* Pole/zero pairs of section j of an order-`order` test filter (a real pole
 * and zero for the last section of an odd order), in double. */
static void test_section(int j, int order, double *s)
{
    double rp = 0.55 + 0.05 * j, th = 0.3 + 0.35 * j, rz = 0.8, ph = 1.1 + 0.4 * j;
    int real = 2 * j + 1 == order;
    if (real) {
        double r[6] = {0.5, -0.5 * rz, 0, 1, -rp, 0};
        memcpy(s, r, sizeof r);
        return;
    }
    double r[6] = {0.5, -rz * cos(ph), 0.5 * rz * rz, 1, -2 * rp * cos(th), rp * rp};
    memcpy(s, r, sizeof r);
}

static void poly_mul(double *p, int *deg, const double *q, int qdeg)
{
    double r[32] = {0};
    for (int i = 0; i <= *deg; i++)
        for (int j = 0; j <= qdeg; j++)
            r[i + j] += p[i] * q[j];
    *deg += qdeg;
    memcpy(p, r, sizeof(double) * (size_t)(*deg + 1));
}

static void print_vec(wf_str *b, const double *v, int n)
{
    wf_str_putc(b, '[');
    for (int i = 0; i < n; i++)
        wf_str_printf(b, "%s%.17g", i ? ", " : "", v[i]);
    wf_str_putc(b, ']');
}

/* iir of the expanded polynomials against sos of the sections, orders 1 to
 * 8 (sections built in double, expanded by convolution): to 1e-5 of the
 * output's peak, over 4000 samples of noise. Each order also with its first
 * section's numerator delayed a sample (b0 = 0), which the wavefront cannot
 * run in its monic form. */
static void iir_vs_sos(int order, int delayed)
{
    const int N = 4000;
    int ns = (order + 1) / 2, db = 0, da = 0;
    double sec[48], b[32] = {1}, a[32] = {1};
    for (int j = 0; j < ns; j++) {
        test_section(j, order, sec + 6 * j);
        int d = 2 * j + 1 == order ? 1 : 2, dn = d;
        if (delayed && j == 0) {
            memmove(sec + 1, sec, 2 * sizeof(double));
            sec[0] = 0;
            dn = 2;
        }
        poly_mul(b, &db, sec + 6 * j, dn);
        poly_mul(a, &da, sec + 6 * j + 3, d);
    }
    wf_str t1 = {0}, t2 = {0};
    wf_str_puts(&t1, "rate 48 khz\nout iir(noise(seed: 4), ");
    print_vec(&t1, b, db + 1);
    wf_str_puts(&t1, ", ");
    print_vec(&t1, a, da + 1);
    wf_str_puts(&t1, ")\n");
    wf_str_puts(&t2, "rate 48 khz\nout sos(noise(seed: 4), ");
    print_vec(&t2, sec, 6 * ns);
    wf_str_puts(&t2, ")\n");
    wf_real *y1 = render(t1.s, N), *y2 = render(t2.s, N);
    double peak = 0;
    for (int t = 0; t < N; t++)
        peak = fmax(peak, fabs(y2[t]));
    assert_true(peak > 0.05);
    for (int t = 0; t < N; t++)
        if (fabs(y1[t] - y2[t]) > 1e-5 * peak)
            fail_msg("order %d%s: iir sample %d is %.9g, sos %.9g", order,
                     delayed ? " delayed" : "", t, y1[t], y2[t]);
    free(y1);
    free(y2);
    wf_str_free(&t1);
    wf_str_free(&t2);
}

void test_iir_vs_sos(void **state)
{
    (void)state;
    for (int order = 1; order <= 8; order++) {
        iir_vs_sos(order, 0);
        iir_vs_sos(order, 1);
    }
}

/* Time-varying filters streamed in blocks equal their whole passes sample
 * for sample: a biquad swept at audio rate and per frame, iir with per-frame
 * taps, and sos cascades (the wavefront's state carried between blocks). */
void test_iir_stream(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "rate 16 khz\nout biquad(noise(seed: 5, channels: 2), kind: peak, freq: 300 * pow(20, line(0, 1, 0.5 s)),"
        " q: [1, 4], gain: 6 * sine(3 hz))\n",
        "rate 16 khz\nframes 250 hz\nparam f[1] = 2000 per frame\nout biquad(noise(seed: 6), freq: f * (1 + 0.5 * sine(2 hz)))\n",
        "rate 16 khz\nframes 250 hz\nparam b[3] = [0.2, 0.3, 0.1] per frame\nparam a[3] = [1, -0.5, 0.2] per frame\n"
        "out iir(noise(seed: 7), b * (1 + 0.2 * sine(5 hz)), a)\n",
        "rate 16 khz\nout sos(noise(seed: 8, channels: 3), [0.2, 0.4, 0.2, 1, -0.6, 0.3, 1, -1, 0, 1, -0.9, 0,"
        " 0.5, 0, -0.5, 1, 0.1, 0.5, 0.3, 0.1, 0.3, 1.2, -0.4, 0.1, 1, 0.2, 1, 1, 0.3, 0.2])\n",
    };
    const int N = 10000;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        wf_run r;
        const wf_real *w = wf_run_whole(&r, texts[i], N);
        int C = r.chans;
        wf_real *whole = wf_xmalloc(sizeof(wf_real) * (size_t)N * C);
        memcpy(whole, w, sizeof(wf_real) * (size_t)N * C);
        wf_run_close(&r);
        wf_run_open(&r, texts[i], N, WF_RUN_STREAM, 320);
        wf_real *y = wf_run_collect(&r, 320);
        for (int t = 0; t < N * C; t++)
            if (y[t] != whole[t])
                fail_msg("patch %zu: streamed sample %d channel %d is %.9g, whole pass %.9g", i,
                         t / C, t % C, y[t], whole[t]);
        free(y);
        free(whole);
        wf_run_close(&r);
    }
}

/* Long runs stay bounded and exact: a 20 Hz lowpass and a resonant peak at
 * 48 kHz over a minute of noise, and the 8-section cascade of W5b, keep
 * their output below a bound their gains give; a lowpass's step response
 * settles at 1 (its DC gain) to float32 rounding. */
void test_iir_long_run(void **state)
{
    (void)state;
    const int N = 48000 * 60;
    static const struct {
        const char *text;
        double bound;
    } runs[] = {
        {"rate 48 khz\nout biquad(noise(seed: 9), freq: 20 hz)\n", 0.2},
        {"rate 48 khz\nout biquad(noise(seed: 9), kind: peak, freq: 3 khz, q: 30, gain: 12)\n", 20},
        {"rate 48 khz\nout biquad(1, freq: 20 hz)\n", 1.05},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        wf_run r;
        wf_run_open(&r, runs[i].text, N, WF_RUN_STREAM, 4096);
        int n;
        const wf_real *b;
        double peak = 0, last = 0;
        while ((b = wf_prog_next_block(r.prog, &n)))
            for (int t = 0; t < n; t++) {
                assert_true(isfinite(b[t]));
                peak = fmax(peak, fabs(b[t]));
                last = b[t];
            }
        if (peak > runs[i].bound)
            fail_msg("%s: peak %g above %g", runs[i].text, peak, runs[i].bound);
        if (i == 2)
            assert_close(last, 1, 1e-6, 0);
        double when;
        const char *what;
        assert_int_equal(wf_prog_fault(r.prog, &when, &what), -1);
        wf_run_close(&r);
    }
}

/* Unstable filters are reported, with the pole radius (or the offending
 * freq) and the time it happened at, and computed as asked (no clamp). */
void test_iir_faults(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double when;
        const char *what;
    } cases[] = {
        {"rate 8 khz\nout iir(noise(), [1], [1, -1.1])\n", 0, "pole radius 1.1"},
        /* (1 - 1.05 z^-1)(1 + 0.5 z^-1)(1 - 0.2 z^-1 + 0.5 z^-2): order 4, one root outside */
        {"rate 8 khz\nout iir(noise(), [1], [1, -0.75, 0.085, -0.17, -0.2625])\n", 0,
         "pole radius 1.05"},
        /* a pole moving out through the unit circle at 0.5 s */
        {"rate 8 khz\nout iir(noise(), [1], [1, -0.9 - 0.2 * line(0, 1, 1 s)])\n", 0.5,
         "pole radius 1"},
        {"rate 8 khz\nout sos(noise(), [1, 0, 0, 1, 0.1, 0.1, 1, 0, 0, 2, 0, 2.5])\n", 0,
         "pole radius 1.118 in section 2"},
        {"rate 8 khz\nout biquad(noise(), freq: 3 khz + line(0, 2 khz, 1 s))\n", 0.5,
         "freq 4000 Hz outside (0, 4000)"},
        {"rate 8 khz\nout biquad(noise(), q: -1)\n", 0, "q -1 not positive"},
        /* a0 = 0 with no other denominator taps: no pole test would see it */
        {"rate 8 khz\nout iir(noise(), [1, 0.5], 0)\n", 0, "a coefficient is not finite"},
        {"rate 8 khz\nout sos(noise(), [1, 0, 0, 1, 0.1, 0.1, 1, 0, 0, 0, 0, 0])\n", 0,
         "section 2 has a coefficient that is not finite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_run r;
        wf_run_whole(&r, cases[i].text, 8000);
        double when;
        const char *what;
        int node = wf_prog_fault(r.prog, &when, &what);
        if (node < 0)
            fail_msg("%s: no fault reported", cases[i].text);
        assert_close(when, cases[i].when, 0, 2e-4);
        if (strncmp(what, cases[i].what, strlen(cases[i].what)) != 0)
            fail_msg("%s: the fault says '%s', not '%s'", cases[i].text, what, cases[i].what);
        wf_run_close(&r);
    }
}

/* stdlib/filters.weft's stable_a: the denominator is [1, 2 tanh(r1),
 * ((2 - |a1|) tanh(r2) + |a1|) / 2], and for raw values up to +-4 (new ones
 * every frame over 2 s) iir() with it reports no fault and stays finite.
 * Beyond that the float32 coefficients round onto the triangle's edge
 * (a pole on the unit circle), which iir() reports rather than hides. */
void test_stable_a(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *a = wf_run_whole(&r, "use filters\nrate 8 khz\nout stable_a(3, -0.5)\n", 8);
    double a1 = 2 * tanh(3.0), a2 = ((2 - fabs(a1)) * tanh(-0.5) + fabs(a1)) / 2;
    assert_int_equal(r.chans, 3);
    assert_close(a[0], 1, 0, 0);
    assert_close(a[1], a1, 1e-6, 0);
    assert_close(a[2], a2, 1e-6, 0);
    wf_run_close(&r);

    wf_run_open(&r,
                "use filters\nrate 8 khz\nparam r1 = 0 per frame\nparam r2 = 0 per frame\n"
                "out stable_biquad(noise(), [0.01, 0, 0], r1, r2)\n",
                16000, WF_RUN_WHOLE, 0);
    wf_param *p1 = wf_run_param(&r, "r1"), *p2 = wf_run_param(&r, "r2");
    for (int i = 0; i < p1->rows; i++) {
        p1->value[i] = (wf_real)(4 * wf_uniform(11, (uint64_t)i));
        p2->value[i] = (wf_real)(4 * wf_uniform(12, (uint64_t)i));
    }
    const wf_real *y = wf_prog_forward(r.prog);
    double when;
    const char *what;
    assert_int_equal(wf_prog_fault(r.prog, &when, &what), -1);
    for (int t = 0; t < 16000; t++)
        assert_true(isfinite(y[t]));
    wf_run_close(&r);

    wf_run_whole(&r, "use filters\nrate 8 khz\nout stable_biquad(noise(), [0.01, 0, 0], 8, 8)\n",
                 8000);
    assert_true(wf_prog_fault(r.prog, &when, &what) >= 0);
    assert_true(strncmp(what, "pole radius 1", 13) == 0);
    wf_run_close(&r);
}

/* ------------------------------------------------------------------- eq */

/* |H(e^{i w})| of one cookbook section c (b0 b1 b2 a0 a1 a2) at f, in double. */
static double section_magnitude(const double *c, double f)
{
    double complex z1 = cexp(-I * 2 * PI * f / SR), z2 = z1 * z1;
    return cabs((c[0] + c[1] * z1 + c[2] * z2) / (c[3] + c[4] * z1 + c[5] * z2));
}

/* eq(x, gain: G, freq: F, q: Q) as text, the vectors written out. */
static void eq_text(char *text, size_t size, const char *x, int nb, const double *g,
                    const double *f, const double *q)
{
    int at = snprintf(text, size, "rate 48 khz\nout eq(%s, gain: [", x);
    for (int j = 0; j < nb; j++)
        at += snprintf(text + at, size - (size_t)at, "%s%.17g", j ? ", " : "", g[j]);
    at += snprintf(text + at, size - (size_t)at, "], freq: [");
    for (int j = 0; j < nb; j++)
        at += snprintf(text + at, size - (size_t)at, "%s%.17g", j ? ", " : "", f[j]);
    at += snprintf(text + at, size - (size_t)at, "], q: [");
    for (int j = 0; j < nb; j++)
        at += snprintf(text + at, size - (size_t)at, "%s%.17g", j ? ", " : "", q[j]);
    snprintf(text + at, size - (size_t)at, "])\n");
}

static const char *eq_band_kind(int j, int nb)
{
    return j == 0 ? "lowshelf" : j == nb - 1 ? "highshelf" : "peak";
}

/* The magnitude response of a six-band eq at every band's centre or shelf
 * corner (and at DC and Nyquist) against the product of the bands' cookbook
 * responses in double, to 1e-5 relative (float32 impulse responses, 16384
 * samples, of filters that decay within a few thousand). Each band's own
 * closed form is checked too: a peak's section gives 10^(g/20) at its
 * centre, a shelf half its gain in dB at its corner (q = 1/sqrt 2). */
void test_eq_magnitudes(void **state)
{
    (void)state;
    const int N = 16384, NB = 6;
    const double g[6] = {6, -5, 4, -8, 3, -6}, f[6] = {150, 500, 2000, 6000, 12000, 9000};
    const double q[6] = {0.70710678118654752, 1.5, 0.7, 3, 2, 0.70710678118654752};
    char text[512];
    eq_text(text, sizeof text, IMPULSE, NB, g, f, q);
    wf_real *h = render(text, N);
    double probes[8];
    for (int j = 0; j < NB; j++)
        probes[j] = f[j];
    probes[6] = 0;
    probes[7] = SR / 2;
    for (int p = 0; p < 8; p++) {
        double want = 1;
        for (int j = 0; j < NB; j++) {
            double c[6];
            cookbook(eq_band_kind(j, NB), f[j], q[j], g[j], c);
            double m = section_magnitude(c, probes[p]);
            if (p == j && j > 0 && j < NB - 1)
                assert_close(m, pow(10, g[j] / 20), 1e-12, 0);
            if (p == j && (j == 0 || j == NB - 1))
                assert_close(20 * log10(m), g[j] / 2, 0, 1e-9);
            want *= m;
        }
        assert_close(magnitude(h, N, probes[p]), want, 1e-5, 0);
    }
    free(h);
}

/* eq equals the same bands as biquad nodes in a chain (to 1e-5 of the
 * output's peak), with constant bands (the SIMD cascade), per-frame bands
 * and 3 or 8 bands; and so do the gradients of every gain, freq and q (the
 * biquad's own are checked against finite differences in test_gradients),
 * to 1e-3 of the largest. */
void test_eq_vs_biquads(void **state)
{
    (void)state;
    static const struct {
        int nb;
        const char *per; /* "" or " per frame" */
    } cases[] = {{6, ""}, {3, ""}, {8, ""}, {6, " per frame"}};
    const int N = 4800;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int nb = cases[ci].nb;
        char decl[1024] = "", chain[2048] = "noise(seed: 4, channels: 2)", eqs[256];
        size_t at = 0;
        for (int j = 0; j < nb; j++) {
            double f = 120 * pow(1.9, j), q = 0.6 + 0.3 * j, gv = (j % 2 ? -1 : 1) * (2 + j);
            at += (size_t)snprintf(decl + at, sizeof decl - at,
                                   "param g%d = %g%s\nparam f%d = %g%s\nparam q%d = %g%s\n", j, gv,
                                   cases[ci].per, j, f, cases[ci].per, j, q, cases[ci].per);
            char next[2048];
            snprintf(next, sizeof next, "biquad(%s, kind: %s, freq: f%d, q: q%d, gain: g%d)", chain,
                     eq_band_kind(j, nb), j, j, j);
            strcpy(chain, next);
        }
        char gs[256] = "", fs[256] = "", qs[256] = "";
        for (int j = 0; j < nb; j++) {
            char one[16];
            snprintf(one, sizeof one, "%sg%d", j ? ", " : "", j);
            strcat(gs, one);
            snprintf(one, sizeof one, "%sf%d", j ? ", " : "", j);
            strcat(fs, one);
            snprintf(one, sizeof one, "%sq%d", j ? ", " : "", j);
            strcat(qs, one);
        }
        snprintf(eqs, sizeof eqs, "eq(noise(seed: 4, channels: 2), gain: [%s], freq: [%s], q: [%s])",
                 gs, fs, qs);
        char ta[4096], tb[4096];
        snprintf(ta, sizeof ta, "rate 48 khz\nframes 250 hz\n%sout %s\n", decl, eqs);
        snprintf(tb, sizeof tb, "rate 48 khz\nframes 250 hz\n%sout %s\n", decl, chain);
        wf_run ra, rb;
        wf_run_open(&ra, ta, N, WF_RUN_GRAD, 0);
        wf_run_open(&rb, tb, N, WF_RUN_GRAD, 0);
        assert_int_equal(wf_run_uses(&ra, "eq"), 1);
        assert_int_equal(ra.chans, 2);
        wf_real *w = wf_xmalloc(sizeof(wf_real) * (size_t)N * 2);
        for (int t = 0; t < 2 * N; t++)
            w[t] = wf_uniform(21, (uint64_t)t);
        wf_params_zero_grad(&ra.ps);
        wf_params_zero_grad(&rb.ps);
        const wf_real *ya = wf_prog_forward(ra.prog), *yb = wf_prog_forward(rb.prog);
        double peak = 0;
        for (int t = 0; t < 2 * N; t++)
            peak = fmax(peak, fabs(yb[t]));
        for (int t = 0; t < 2 * N; t++)
            if (fabs(ya[t] - yb[t]) > 1e-5 * peak)
                fail_msg("%d bands%s: sample %d is %.9g, the biquads give %.9g", nb, cases[ci].per,
                         t / 2, ya[t], yb[t]);
        wf_prog_backward(ra.prog, w);
        wf_prog_backward(rb.prog, w);
        double gmax = 0;
        for (int i = 0; i < rb.ps.n; i++)
            for (size_t j = 0; j < wf_param_len(&rb.ps.v[i]); j++)
                gmax = fmax(gmax, fabs(rb.ps.v[i].grad[j]));
        assert_true(gmax > 0);
        for (int i = 0; i < rb.ps.n; i++) {
            wf_param *pb = &rb.ps.v[i], *pa = wf_run_param(&ra, pb->decl->name);
            for (size_t j = 0; j < wf_param_len(pb); j++)
                if (fabs(pa->grad[j] - pb->grad[j]) > 1e-3 * gmax)
                    fail_msg("%d bands%s: d/d %s[%zu] is %.9g, through the biquads %.9g", nb,
                             cases[ci].per, pb->decl->name, j, pa->grad[j], pb->grad[j]);
        }
        free(w);
        wf_run_close(&ra);
        wf_run_close(&rb);
    }
}

/* 0 dB in every band is the identity, whatever freq and q (the cookbook's
 * peak and shelves reduce to b = a at A = 1): eq(x) with its defaults, and
 * 4 bands elsewhere, give x to float32 rounding. The defaults are dasp's six
 * bands: eq(x, gain: G) with six gains is the same cascade as the
 * defaults written out. */
void test_eq_flat(void **state)
{
    (void)state;
    const int N = 4800;
    static const char *const texts[] = {
        "rate 48 khz\nout eq(noise(seed: 2)) - noise(seed: 2)\n",
        "rate 48 khz\nout eq(noise(seed: 2), freq: [50, 900, 3000, 20000], q: [0.1, 6, 1, 0.3]) - noise(seed: 2)\n",
        "rate 48 khz\nout eq(noise(seed: 2), gain: [2, -3, 4, -5, 6, -7]) - eq(noise(seed: 2), gain: [2, -3, 4, -5, 6, -7],"
        " freq: [200, 400, 4000, 9800, 16000, 9200], q: 0.7071)\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        wf_run r;
        const wf_real *y = wf_run_whole(&r, texts[i], N);
        for (int t = 0; t < N; t++)
            if (fabs(y[t]) > 2e-6)
                fail_msg("%s: sample %d differs by %.3g", texts[i], t, y[t]);
        wf_run_close(&r);
    }
}

/* Streams of a constant and a modulated eq equal their whole passes, and a
 * band outside (0, Nyquist) or with q <= 0 is reported with the band. */
void test_eq_stream_faults(void **state)
{
    (void)state;
    static const char *const streams[] = {
        "rate 48 khz\nout eq(noise(seed: 5, channels: 2), gain: [3, -6, 6, 4, -2, -3])\n",
        "rate 48 khz\nout eq(noise(seed: 5), gain: [3, 6 * sine(2 hz), -4], freq: [100, 1000 * (1 + 0.5 * sine(3 hz)), 8000])\n",
    };
    const int N = 10000;
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        wf_run r;
        const wf_real *w = wf_run_whole(&r, streams[i], N);
        int C = r.chans;
        wf_real *whole = wf_xmalloc(sizeof(wf_real) * (size_t)N * C);
        memcpy(whole, w, sizeof(wf_real) * (size_t)N * C);
        wf_run_close(&r);
        wf_run_open(&r, streams[i], N, WF_RUN_STREAM, 384);
        wf_real *y = wf_run_collect(&r, 384);
        for (int t = 0; t < N * C; t++)
            if (y[t] != whole[t])
                fail_msg("%s: streamed sample %d is %.9g, whole pass %.9g", streams[i], t / C, y[t],
                         whole[t]);
        free(y);
        free(whole);
        wf_run_close(&r);
    }
    static const struct {
        const char *text, *what;
        double when;
    } cases[] = {
        {"rate 16 khz\nout eq(noise())\n", "band 4: freq 9800 Hz outside (0, 8000)", 0},
        {"rate 8 khz\nout eq(noise(), freq: [100, 1000, 3000 + line(0, 2 khz, 1 s)])\n",
         "band 3: freq 4000 Hz outside (0, 4000)", 0.5},
        {"rate 8 khz\nout eq(noise(), freq: [100, 1000, 3000], q: [1, -1, 1])\n",
         "band 2: q -1 not positive", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_run r;
        wf_run_whole(&r, cases[i].text, 8000);
        double when;
        const char *what;
        if (wf_prog_fault(r.prog, &when, &what) < 0)
            fail_msg("%s: no fault reported", cases[i].text);
        assert_close(when, cases[i].when, 0, 2e-4);
        if (strncmp(what, cases[i].what, strlen(cases[i].what)) != 0)
            fail_msg("%s: the fault says '%s', not '%s'", cases[i].text, what, cases[i].what);
        wf_run_close(&r);
    }
}
