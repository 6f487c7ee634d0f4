/* Forward tests of the delay networks (stdlib/fdn.c) against references
 * computed here in double: one line against comb(), N lines against the
 * recursion written out, N-line gradients against finite differences of
 * that recursion, streams against whole passes, the loop-gain faults, and
 * room()'s decay (Schroeder's backward integration of its impulse response,
 * Schroeder 1965, "New method of measuring reverberation time"), its
 * definition as an fdn of the documented coefficients, and its dry mix.
 * Outputs are float32, so tolerances are a few float32 roundings summed
 * over a response. */
#include <math.h>
#include <stdio.h>

#include "family_tests.h"
#include "render.h"
#include "runtime/rng.h"

/* Renders text with input x (n samples): channel 0 of the output, in double. */
static double *render_x(const char *text, const wf_real *x, int n)
{
    wf_run r;
    wf_run_open(&r, text, n, WF_RUN_WHOLE, 0);
    wf_prog_set_input(r.prog, 0, 0, x);
    const wf_real *y = wf_prog_forward(r.prog);
    double *out = wf_xmalloc(sizeof(double) * (size_t)n);
    for (int t = 0; t < n; t++)
        out[t] = y[(size_t)t * (size_t)r.chans];
    wf_run_close(&r);
    return out;
}

static wf_real *noise_in(int n, uint64_t seed)
{
    wf_real *x = wf_xmalloc(sizeof(wf_real) * (size_t)n);
    for (int t = 0; t < n; t++)
        x[t] = (wf_real)(2 * wf_uniform(seed, (uint64_t)t) - 1);
    return x;
}

static wf_real *impulse_in(int n)
{
    wf_real *x = wf_xcalloc((size_t)n, sizeof(wf_real));
    x[0] = 1;
    return x;
}

/* "[v0, v1, ...]" with every digit. */
static char *vec(const double *v, int n)
{
    char *s = wf_xmalloc((size_t)n * 26 + 4), *p = s;
    *p++ = '[';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%.17g", i ? ", " : "", v[i]);
    strcpy(p, "]");
    return s;
}

/* The network of the doc, in double with whole arrays (no rings), delays D
 * in samples: y[n] for x[0..n). */
typedef struct ref_net {
    int N;
    const double *A, *D, *g, *a, *b, *c;
} ref_net;

static void ref_run(const ref_net *q, const double *x, int n, double *y)
{
    int N = q->N;
    double *w = calloc((size_t)n * N, sizeof(double)), u[64] = {0}, v[64];
    for (int t = 0; t < n; t++) {
        y[t] = 0;
        for (int i = 0; i < N; i++) {
            double pos = t - q->D[i], fl = floor(pos), f = pos - fl;
            int p = (int)fl;
            double w0 = p >= 0 ? w[(size_t)p * N + i] : 0;
            double w1 = p + 1 >= 0 && f > 0 ? w[(size_t)(p + 1) * N + i] : 0;
            double s = w0 * (1 - f) + w1 * f;
            u[i] = (1 - q->a[i]) * s + q->a[i] * u[i];
            v[i] = q->g[i] * u[i];
            y[t] += q->c[i] * v[i];
        }
        for (int i = 0; i < N; i++) {
            double acc = q->b[i] * x[t];
            for (int j = 0; j < N; j++)
                acc += q->A[i * N + j] * v[j];
            w[(size_t)t * N + i] = acc;
        }
    }
    free(w);
}

/* An fdn call of the reference's coefficients, the delays at sample rate sr. */
static char *fdn_call(const ref_net *q, double sr, const char *x)
{
    double d[64];
    for (int i = 0; i < q->N; i++)
        d[i] = q->D[i] / sr;
    char *A = vec(q->A, q->N * q->N), *D = vec(d, q->N), *g = vec(q->g, q->N);
    char *a = vec(q->a, q->N), *b = vec(q->b, q->N), *c = vec(q->c, q->N);
    char *s = wf_xmalloc(strlen(A) + strlen(D) + 6 * strlen(g) + 200);
    sprintf(s, "fdn(%s, %s, %s, gains: %s, damping: %s, in_gains: %s, out_gains: %s)", x, A, D, g,
            a, b, c);
    free(A), free(D), free(g), free(a), free(b), free(c);
    return s;
}

/* A 4 x 4 orthogonal matrix that is not symmetric: the normalised Hadamard
 * matrix with its rows rotated. */
static const double H4[16] = {0.5, -0.5, 0.5, -0.5, 0.5, 0.5, -0.5, -0.5,
                              0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5, 0.5};

/* ---------------------------------------------------------------- fdn */

/* One line is a comb filter of the delayed input: v = g w(n - D),
 * w = A v + b x, so y = c v = comb(c g b x(n - D), D, A g). */
void test_fdn_comb(void **state)
{
    (void)state;
    const int n = 6000;
    wf_real *x = noise_in(n, 3);
    const struct {
        double D, A, g, b, c;
    } cases[] = {{37, 0.9, 0.8, 1, 1}, {37.5, -0.95, 0.9, 0.5, -2}, {120.25, 0.5, 1.5, 1, 0.3}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char a[300], b[300];
        double D = cases[k].D / 48000;
        snprintf(a, sizeof a,
                 "rate 48000\ninput x\nout fdn(x, [%.17g], [%.17g], gains: %.17g, in_gains: %.17g, "
                 "out_gains: %.17g)\n",
                 cases[k].A, D, cases[k].g, cases[k].b, cases[k].c);
        snprintf(b, sizeof b,
                 "rate 48000\ninput x\nout comb(%.17g * delay(x, %.17g), %.17g, %.17g)\n",
                 cases[k].c * cases[k].g * cases[k].b, D, D, cases[k].A * cases[k].g);
        double *y = render_x(a, x, n), *z = render_x(b, x, n);
        double peak = 0;
        for (int t = 0; t < n; t++)
            peak = fmax(peak, fabs(z[t]));
        assert_true(peak > 0.5);
        for (int t = 0; t < n; t++)
            assert_close(y[t], z[t], 0, 2e-6 * peak);
        free(y);
        free(z);
    }
    free(x);
}

/* Four lines of fractional delays, per-line gains, damping and input and
 * output gains: the impulse response against the recursion in double. */
void test_fdn_impulse(void **state)
{
    (void)state;
    const int n = 9600;
    const double D[4] = {23.3, 31.7, 41.25, 53.9}, g[4] = {0.99, 0.98, 0.995, 0.97};
    const double a[4] = {0, 0.2, 0.5, 0.1}, b[4] = {1, -0.5, 0.7, 0.3}, c[4] = {0.5, 1, -1, 0.25};
    ref_net q = {4, H4, D, g, a, b, c};
    char *call = fdn_call(&q, 48000, "x"), text[2000];
    snprintf(text, sizeof text, "rate 48000\ninput x\nout %s\n", call);
    wf_real *x = impulse_in(n);
    double *y = render_x(text, x, n), *xd = calloc(n, sizeof(double)), *want = malloc(sizeof(double) * n);
    xd[0] = 1;
    ref_run(&q, xd, n, want);
    double peak = 0, tail = 0;
    for (int t = 0; t < n; t++) {
        peak = fmax(peak, fabs(want[t]));
        if (t > n / 2)
            tail = fmax(tail, fabs(want[t]));
    }
    assert_true(tail > 1e-4 * peak); /* still ringing at the end */
    assert_int_equal(y[23], 0);     /* nothing before the shortest line */
    for (int t = 0; t < n; t++)
        assert_close(y[t], want[t], 0, 1e-6 * peak);
    free(call), free(x), free(y), free(xd), free(want);
}

/* The adjoint of three lines: every param's gradient against central
 * differences of the recursion in double, L = sum w[t] y[t]. */
void test_fdn_gradients(void **state)
{
    (void)state;
    const int n = 800, N = 3;
    const double sr = 8000;
    double A[9] = {0.3, -0.5, 0.2, 0.6, 0.1, -0.3, -0.2, 0.4, 0.5};
    double D[3] = {17.3, 23.6, 29.45}, g[3] = {0.9, 0.7, 0.8}, a[3] = {0.1, 0.4, 0.25};
    double b[3] = {1, -0.6, 0.4}, c[3] = {0.7, 0.5, -1};
    double *groups[6] = {A, D, g, a, b, c};
    const char *names[6] = {"m", "d", "gains", "damp", "bin", "cout"};
    const int sizes[6] = {9, 3, 3, 3, 3, 3};
    char text[2000], *p = text;
    p += sprintf(p, "rate %g\ninput x\n", sr);
    for (int k = 0; k < 6; k++) {
        double v[9];
        for (int i = 0; i < sizes[k]; i++)
            v[i] = k == 1 ? groups[k][i] / sr : groups[k][i];
        char *s = vec(v, sizes[k]);
        p += sprintf(p, "param %s[%d] = %s\n", names[k], sizes[k], s);
        free(s);
    }
    sprintf(p, "out fdn(x, m, d, gains: gains, damping: damp, in_gains: bin, out_gains: cout)\n");
    wf_real *x = noise_in(n, 5), *w = noise_in(n, 6);
    wf_run r;
    wf_run_open(&r, text, n, WF_RUN_GRAD, 0);
    wf_prog_set_input(r.prog, 0, 0, x);
    wf_params_zero_grad(&r.ps);
    wf_prog_forward(r.prog);
    wf_prog_backward(r.prog, w);
    double *xd = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
    for (int t = 0; t < n; t++)
        xd[t] = x[t];
    ref_net q = {N, A, D, g, a, b, c};
    for (int k = 0; k < 6; k++) {
        wf_param *pa = wf_run_param(&r, names[k]);
        double fd[9], scale = 0;
        for (int i = 0; i < sizes[k]; i++) {
            double v0 = groups[k][i], h = 1e-6, L[2];
            for (int s = 0; s < 2; s++) {
                groups[k][i] = v0 + (s ? -h : h);
                ref_run(&q, xd, n, y);
                L[s] = 0;
                for (int t = 0; t < n; t++)
                    L[s] += w[t] * y[t];
            }
            groups[k][i] = v0;
            fd[i] = (L[0] - L[1]) / (2 * h) * (k == 1 ? sr : 1); /* per second of delay */
            scale = fmax(scale, fabs(fd[i]));
        }
        assert_true(scale > 1e-3);
        for (int i = 0; i < sizes[k]; i++)
            if (fabs(pa->grad[i] - fd[i]) > 5e-5 * scale)
                fail_msg("d/d %s[%d]: reverse %.9g, finite differences %.9g", names[k], i,
                         (double)pa->grad[i], fd[i]);
    }
    wf_run_close(&r);
    free(x), free(w), free(xd), free(y);
}

/* Streams of 64-sample blocks equal the whole pass, with time-varying
 * gains, damping and delays. */
void test_fdn_stream(void **state)
{
    (void)state;
    const int n = 4000;
    char *A = vec(H4, 16), text[1200];
    snprintf(text, sizeof text,
             "rate 16000\nout fdn(noise(seed: 2), %s, [1.3 ms, 2.1 ms, 2.9 ms, "
             "3.7 ms] + 0.2 ms * sine(3 hz), gains: [0.9, 0.8, 0.95, 0.7] + 0.04 * sine(5 hz), "
             "damping: 0.3 + 0.2 * sine(2 hz))\n",
             A);
    free(A);
    wf_run whole, st;
    const wf_real *y = wf_run_whole(&whole, text, n);
    wf_run_open(&st, text, n, WF_RUN_STREAM, 64);
    wf_real *z = wf_run_collect(&st, 64);
    double peak = 0;
    for (int t = 0; t < n; t++) {
        peak = fmax(peak, fabs(y[t]));
        assert_close(z[t], y[t], 0, 1e-7);
    }
    assert_true(peak > 0.1);
    free(z);
    wf_run_close(&st);
    wf_run_close(&whole);
}

/* The loop-gain bound ||A||_2 max |g| |1 - a| / (1 - |a|) reaching 1 is
 * reported at its first sample, an orthogonal matrix (whose inf-norm and
 * Frobenius norm are 2) with gains below 1 is not; so are room's decay and
 * damping outside T > 0, 0 <= d < 1, and delays that are not numbers. */
void test_fdn_faults(void **state)
{
    (void)state;
    char *H = vec(H4, 16);
    double H2[16];
    for (int i = 0; i < 16; i++)
        H2[i] = 1.02 * H4[i];
    char *Hb = vec(H2, 16);
    const char *ds = "[1.3 ms, 2.1 ms, 2.9 ms, 3.7 ms]";
    char texts[10][600];
    double at[10] = {0, -1, 0.25, 0, -1, 0, 0.5, 0, 0.25, 0.5};
    const char *what[10] = {"loop gain bound 1.05", NULL, "loop gain bound 1", "loop gain bound 1.0",
                            NULL, "loop gain bound inf", "delay is not finite",
                            "decay -1 s, damping 0.3", "decay 1 s, damping 1",
                            "predelay is not finite"};
    snprintf(texts[0], 600, "rate 16000\nout fdn(noise(), [1.05], [2 ms])\n");
    snprintf(texts[1], 600, "rate 16000\nout fdn(noise(), %s, %s, gains: 0.999)\n", H, ds);
    snprintf(texts[2], 600,
             "rate 16000\nout fdn(noise(), %s, %s, gains: line(from: 0.9, to: 1.1, time: 0.5))\n", H,
             ds);
    snprintf(texts[3], 600, "rate 16000\nout fdn(noise(), %s, %s, gains: 0.995)\n", Hb, ds);
    snprintf(texts[4], 600, "rate 16000\nout fdn(noise(), %s, %s, gains: 0.97)\n", Hb, ds);
    snprintf(texts[5], 600, "rate 16000\nout fdn(noise(), [0.5], [2 ms], damping: 1)\n");
    snprintf(texts[6], 600,
             "rate 16000\nout fdn(noise(), [0.5], [2 ms] + sqrt(line(from: 1, to: -1, time: 1)))\n");
    snprintf(texts[7], 600, "rate 16000\nout room(noise(), decay: -1)\n");
    snprintf(texts[8], 600,
             "rate 16000\nout room(noise(), damping: line(from: 0.8, to: 1.2, time: 0.5))\n");
    snprintf(texts[9], 600,
             "rate 16000\nout room(noise(), predelay: sqrt(line(from: 1, to: -1, time: 1)))\n");
    free(H);
    free(Hb);
    for (int i = 0; i < 10; i++) {
        wf_run r;
        wf_run_open(&r, texts[i], 16000, WF_RUN_WHOLE, 0);
        wf_prog_forward(r.prog);
        double sec = -1;
        const char *w = NULL;
        int node = wf_prog_fault(r.prog, &sec, &w);
        if (at[i] < 0) {
            assert_int_equal(node, -1);
        } else {
            assert_true(node >= 0);
            assert_close(sec, at[i], 0, 2.0 / 16000);
            if (strncmp(w, what[i], strlen(what[i])) != 0)
                fail_msg("case %d: fault '%s', want '%s...'", i, w, what[i]);
        }
        wf_run_close(&r);
    }
}

/* --------------------------------------------------------------- room */

/* Schroeder's energy decay curve of h, in dB: the line fitted to it between
 * -5 and -35 dB gives the T60 (60 dB over its slope). */
static double schroeder_t60(const double *h, int n, double sr)
{
    double *edc = malloc(sizeof(double) * n), acc = 0;
    for (int t = n - 1; t >= 0; t--)
        edc[t] = acc += h[t] * h[t];
    double st = 0, sy = 0, stt = 0, sty = 0;
    int m = 0;
    for (int t = 0; t < n; t++) {
        double db = 10 * log10(edc[t] / edc[0]);
        if (db <= -5 && db >= -35) {
            double s = t / sr;
            st += s, sy += db, stt += s * s, sty += s * db, m++;
        }
    }
    free(edc);
    assert_true(m > 100);
    double slope = (m * sty - st * sy) / (m * stt - st * st);
    return -60 / slope;
}

/* The tail of room() without damping falls by 60 dB in `decay` seconds:
 * Schroeder's integration of its impulse response, within 1% (measured:
 * 0.3003, 0.8018 and 2.0004 s for 0.3, 0.8 and 2 s)
 * (the lines' energy mixes through an orthogonal matrix, so every mode
 * decays at the rate the gains set). With damping the broadband decay is
 * faster, but not faster than T60 at the Nyquist, (1 - damping) decay. */
void test_room_decay(void **state)
{
    (void)state;
    const double sr = 16000, T[3] = {0.3, 0.8, 2.0};
    for (int k = 0; k < 3; k++) {
        int n = (int)(sr * T[k] * 1.2);
        char text[200];
        snprintf(text, sizeof text,
                 "rate 16000\ninput x\nout room(x, decay: %g, predelay: 0, damping: 0, mix: 1)\n",
                 T[k]);
        wf_real *x = impulse_in(n);
        double *h = render_x(text, x, n);
        double t60 = schroeder_t60(h, n, sr);
        assert_close(t60, T[k], 0.01, 0);
        free(h);
        snprintf(text, sizeof text,
                 "rate 16000\ninput x\nout room(x, decay: %g, predelay: 0, damping: 0.5, mix: 1)\n",
                 T[k]);
        h = render_x(text, x, n);
        double damped = schroeder_t60(h, n, sr);
        assert_true(damped < 0.98 * T[k] && damped > 0.5 * T[k]);
        free(h);
        free(x);
    }
}

/* room() is the fdn of its doc: 8 lines of prime delays (the first prime
 * at or after 11.3 .. 35.3 ms), a Householder matrix, g = 10^(-3 D / (sr
 * T)), r = g^(d / (1 - d)), a = (1 - r) / (1 + r), b = 1/sqrt(8), c =
 * +-1/sqrt(8), after delay(x, predelay), mixed with the dry signal. At
 * 32768 Hz the delays in seconds are exact in float32. */
void test_room_is_fdn(void **state)
{
    (void)state;
    const double sr = 32768, ms[8] = {11.3, 13.7, 16.1, 19.3, 22.9, 26.3, 30.7, 35.3};
    const double T = 0.8, d = 0.4, P = 3e-3, mix = 0.6;
    double A[64], D[8], g[8], a[8], b[8], c[8];
    long last = 0;
    for (int i = 0; i < 8; i++) {
        long v = lround(ms[i] * 1e-3 * sr);
        if (v <= last)
            v = last + 1;
        for (;; v++) {
            int prime = v > 1;
            for (long f = 2; f * f <= v && prime; f++)
                prime = v % f != 0;
            if (prime)
                break;
        }
        D[i] = (double)(last = v);
        g[i] = pow(10, -3 * D[i] / (sr * T));
        double r = pow(g[i], d / (1 - d));
        a[i] = (1 - r) / (1 + r);
        b[i] = 1 / sqrt(8);
        c[i] = (i % 2 ? -1 : 1) / sqrt(8);
        for (int j = 0; j < 8; j++)
            A[i * 8 + j] = (i == j) - 0.25;
    }
    assert_int_equal((int)D[0], 373); /* 11.3 ms is 370.3 samples */
    ref_net q = {8, A, D, g, a, b, c};
    char *call = fdn_call(&q, sr, "delay(x, 3 ms)"), *text = malloc(strlen(call) + 200);
    const int n = 20000;
    wf_real *x = noise_in(n, 9);
    sprintf(text, "rate 32768\ninput x\nout %g * x + %g * %s\n", 1 - mix, mix, call);
    double *want = render_x(text, x, n);
    sprintf(text, "rate 32768\ninput x\nout room(x, decay: %g, predelay: %g, damping: %g, mix: %g)\n", T,
            P, d, mix);
    double *y = render_x(text, x, n);
    for (int t = 0; t < n; t++)
        assert_close(y[t], want[t], 0, 2e-6);
    free(call), free(text), free(x), free(want), free(y);
}

/* mix 0 is the dry signal, sample for sample; mix 1 is silent until the
 * predelay and the shortest line have passed. */
void test_room_mix(void **state)
{
    (void)state;
    const int n = 3000;
    wf_real *x = noise_in(n, 11), *imp = impulse_in(n);
    double *y = render_x("rate 16000\ninput x\nout room(x, decay: 1.2, mix: 0)\n", x, n);
    for (int t = 0; t < n; t++)
        assert_true(y[t] == (double)x[t]);
    free(y);
    /* 5 ms is 80 samples (less by float32's rounding of 0.005, a tap of
     * weight 2e-6 on the sample after), the shortest line 181 (the prime
     * after 11.3 ms) */
    y = render_x("rate 16000\ninput x\nout room(x, decay: 1.2, predelay: 5 ms, mix: 1)\n", imp, n);
    for (int t = 0; t < 260; t++)
        assert_true(y[t] == 0);
    assert_true(fabs(y[261]) > 0.05);
    free(y);
    free(x);
    free(imp);
}
