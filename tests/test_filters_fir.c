/* Forward tests of the FIR filters (stdlib/fir.c): fir's impulse and step
 * responses against its taps, its direct form against its FFT path, per-frame
 * taps against a reference in double, streams against whole passes, the
 * adjoint identities at sizes the registry's gradient check cannot reach, and
 * fir_tv against filtered_noise and against its frequency-sampling design.
 * The float64 gradient checks of both kinds are the registry's
 * (tests/test_gradients.c). */
#include "family_tests.h"
#include "render.h"

#define PI 3.14159265358979323846

/* A deterministic test signal in [-1, 1): a hash of (seed, i). */
static double sig(uint64_t seed, uint64_t i)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + (i + 1) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 40) * 0x1p-23 - 1.0;
}

static wf_real *fill(uint64_t seed, int n)
{
    wf_real *x = wf_xmalloc(sizeof *x * (size_t)n);
    for (int i = 0; i < n; i++)
        x[i] = (wf_real)sig(seed, (uint64_t)i);
    return x;
}

/* Taps decaying from 1: tap m is sig(seed, m) e^(-m / tau). */
static void set_taps(wf_param *h, uint64_t seed, double tau)
{
    for (size_t m = 0; m < wf_param_len(h); m++)
        h->value[m] = (wf_real)(sig(seed, m) * exp(-(double)(m % (size_t)h->cols) / tau));
}

/* Renders `text` (an `input x` and a `param h`) whole on x[N]. */
static wf_real *render_fir(const char *text, const wf_real *x, int N, uint64_t seed, double tau,
                           wf_run_mode mode, int block)
{
    wf_run r;
    wf_run_open(&r, text, N, mode, block);
    set_taps(wf_run_param(&r, "h"), seed, tau);
    wf_prog_set_input(r.prog, 0, 0, x);
    wf_real *y;
    if (mode == WF_RUN_STREAM) {
        y = wf_run_collect(&r, block);
    } else {
        y = wf_xmalloc(sizeof *y * (size_t)N * (size_t)r.chans);
        memcpy(y, wf_prog_forward(r.prog), sizeof *y * (size_t)N * (size_t)r.chans);
    }
    wf_run_close(&r);
    return y;
}

static const char *const methods[3] = {"direct", "fft", "auto"};

/* The impulse response is the taps and the step response their running sum,
 * by every path: 7 taps (the course's example), 700 (two FFT partitions of
 * 512 in a whole pass), 3000 (longer than the auto crossover). Tolerance:
 * 2e-6 of the sum of |taps| (float32 rounding of the FFT's sums). */
void test_fir_responses(void **state)
{
    (void)state;
    static const int Ms[3] = {7, 700, 3000};
    const int N = 4000;
    wf_real *imp = wf_xcalloc((size_t)N, sizeof *imp), *step = wf_xmalloc(sizeof *step * N);
    imp[0] = 1;
    for (int n = 0; n < N; n++)
        step[n] = 1;
    for (int t = 0; t < 3; t++)
        for (int me = 0; me < 3; me++) {
            int M = Ms[t];
            char text[200];
            snprintf(text, sizeof text,
                     "rate 16000\ninput x\nparam h[%d] = 0\nout fir(x, h, method: %s)\n", M,
                     methods[me]);
            wf_run r;
            wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
            wf_param *h = wf_run_param(&r, "h");
            set_taps(h, 1, M / 4.0);
            double norm = 0;
            for (int m = 0; m < M; m++)
                norm += fabs(h->value[m]);
            for (int kind = 0; kind < 2; kind++) {
                wf_prog_set_input(r.prog, 0, 0, kind ? step : imp);
                const wf_real *y = wf_prog_forward(r.prog);
                double run = 0;
                for (int n = 0; n < N; n++) {
                    run += n < M ? h->value[n] : 0;
                    double want = kind ? run : n < M ? h->value[n] : 0;
                    if (fabs(y[n] - want) > 2e-6 * norm)
                        fail_msg("%s: %s response at %d is %.9g, want %.9g", text,
                                 kind ? "step" : "impulse", n, y[n], want);
                }
            }
            wf_run_close(&r);
        }
    free(imp);
    free(step);
}

/* Both paths give the output of the sum in double on two channels of
 * noise, within 1e-6 of its peak (measured: at most 1.1e-7 direct, 2.4e-7
 * FFT, for 16 to 5000 taps), so within 2e-6 of each other; auto is one of
 * them bit for bit: direct below the crossover, FFT above it. */
void test_fir_paths_agree(void **state)
{
    (void)state;
    static const struct {
        int M, fft; /* taps, what auto runs */
    } cases[] = {{16, 0}, {200, 0}, {1000, 1}, {5000, 1}};
    const int N = 12000;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        wf_real *y[3];
        for (int me = 0; me < 3; me++) {
            char text[200];
            snprintf(text, sizeof text,
                     "rate 16000\nparam h[%d] = 0\nout fir(noise(seed: 3, channels: 2), h, "
                     "method: %s)\n",
                     cases[t].M, methods[me]);
            wf_run r;
            wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
            set_taps(wf_run_param(&r, "h"), 2, cases[t].M / 3.0);
            y[me] = wf_xmalloc(sizeof(wf_real) * 2 * N);
            memcpy(y[me], wf_prog_forward(r.prog), sizeof(wf_real) * 2 * N);
            wf_run_close(&r);
        }
        /* both against the sum in double */
        int M = cases[t].M;
        wf_run r;
        char text[100];
        snprintf(text, sizeof text, "rate 16000\nparam h[%d] = 0\nout noise(seed: 3, channels: 2)\n", M);
        wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
        wf_param *h = wf_run_param(&r, "h");
        set_taps(h, 2, M / 3.0);
        const wf_real *x = wf_prog_forward(r.prog);
        double peak = 0, err[2] = {0, 0};
        for (int i = 0; i < 2 * N; i++) {
            int n = i / 2, c = i % 2;
            double want = 0;
            for (int m = 0; m < M && m <= n; m++)
                want += (double)h->value[m] * x[(size_t)(n - m) * 2 + c];
            peak = fmax(peak, fabs(want));
            for (int p = 0; p < 2; p++)
                err[p] = fmax(err[p], fabs(y[p][i] - want));
        }
        wf_run_close(&r);
        for (int p = 0; p < 2; p++)
            if (!(err[p] <= 1e-6 * peak))
                fail_msg("%d taps: %s is %.3g from the sum in double (peak %.3g)", M,
                         methods[p], err[p], peak);
        assert_memory_equal(y[2], y[cases[t].fft], sizeof(wf_real) * 2 * N);
        for (int me = 0; me < 3; me++)
            free(y[me]);
    }
}

/* Per-frame taps, interpolated to every sample, against the sum in double:
 * y[n] = sum_m h(n)[m] x[n - m], h(n) = ref interpolation of the frames,
 * to 1e-6. */
void test_fir_per_frame(void **state)
{
    (void)state;
    const int N = 3000, M = 9;
    const char *text = "rate 16000\nframes 250 hz\ninput x\nparam h[9] = 0 per frame\n"
                       "out fir(x, h)\n";
    wf_real *x = fill(4, N);
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
    wf_param *h = wf_run_param(&r, "h");
    set_taps(h, 5, 3);
    wf_prog_set_input(r.prog, 0, 0, x);
    const wf_real *y = wf_prog_forward(r.prog);
    int hop = r.env.hop, F = h->rows;
    assert_int_equal(hop, 64);
    for (int n = 0; n < N; n++) {
        int64_t i = n / hop, a = i < F - 1 ? i : F - 1, b = i + 1 < F - 1 ? i + 1 : F - 1;
        double u = (double)(n % hop) / hop, want = 0;
        for (int m = 0; m < M && m <= n; m++)
            want += ((double)h->value[a * M + m] * (1 - u) + (double)h->value[b * M + m] * u) *
                    x[n - m];
        assert_close(y[n], want, 0, 1e-6);
    }
    wf_run_close(&r);
    free(x);

    /* the FFT path holds one filter: asking it for per-frame taps is an error */
    wf_diags d = {0};
    wf_patch *p = wf_compile_text("t.weft",
                                  "frames 250 hz\ninput x\nparam h[9] = 0 per frame\n"
                                  "out fir(x, h, method: fft)\n",
                                  NULL, &d);
    assert_null(p);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].code, WF_DIAG_rate_mismatch);
    wf_diags_free(&d);
}

/* Streams equal whole passes: the direct form bit for bit (same sums in the
 * same order), the FFT path (partitions of the block) to 2e-6 of the peak, per-frame
 * taps bit for bit. Blocks of 64, 192 (not a power of two) and 640. */
void test_fir_stream(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double tol;
    } cases[] = {
        {"rate 16000\ninput x\nparam h[31] = 0\nout fir(x, h)\n", 0},
        {"rate 16000\ninput x\nparam h[2000] = 0\nout fir(x, h, method: fft)\n", 2e-6},
        {"rate 16000\ninput x\nparam h[2000] = 0\nout fir(x, h, method: direct)\n", 0},
        {"rate 16000\nframes 250 hz\ninput x\nparam h[12] = 0 per frame\nout fir(x, h)\n", 0},
    };
    static const int blocks[3] = {64, 192, 640};
    const int N = 6000;
    wf_real *x = fill(6, N);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        wf_real *whole = render_fir(cases[t].text, x, N, 7, 300, WF_RUN_WHOLE, 0);
        double peak = 0;
        for (int i = 0; i < N; i++)
            peak = fmax(peak, fabs(whole[i]));
        for (int b = 0; b < 3; b++) {
            wf_real *s = render_fir(cases[t].text, x, N, 7, 300, WF_RUN_STREAM, blocks[b]);
            for (int i = 0; i < N; i++)
                if (!(fabs(s[i] - whole[i]) <= cases[t].tol * peak))
                    fail_msg("%sblocks of %d: sample %d streamed %.9g, whole %.9g", cases[t].text,
                             blocks[b], i, s[i], whole[i]);
            free(s);
        }
        free(whole);
    }
    free(x);
}

/* y is linear in x and in the taps, so for output weights w,
 * <w, y> = <dL/dx, x> = <dL/dtaps, taps> exactly: the backward kernels of
 * both paths at lengths of several FFT partitions, and of per-frame taps,
 * to float32 rounding (1e-4 relative). */
void test_fir_adjoints(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int N;
    } cases[] = {
        {"rate 16000\nframes 250 hz\nparam x[2] = 0 per frame\nparam h[3000] = 0\n"
         "out fir(x, h, method: fft)\n",
         10000},
        {"rate 16000\nframes 250 hz\nparam x[2] = 0 per frame\nparam h[300] = 0\n"
         "out fir(x, h, method: direct)\n",
         5000},
        {"rate 16000\nframes 250 hz\nparam x = 0 per frame\nparam h[7] = 0 per frame\n"
         "out fir(x, h)\n",
         3000},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        wf_run r;
        int N = cases[t].N;
        wf_run_open(&r, cases[t].text, N, WF_RUN_GRAD, 0);
        for (int i = 0; i < r.ps.n; i++) {
            wf_param *p = &r.ps.v[i];
            for (size_t j = 0; j < wf_param_len(p); j++)
                p->value[j] = (wf_real)sig(20 + (uint64_t)i, j);
        }
        size_t len = (size_t)N * r.chans;
        wf_real *w = fill(30, (int)len);
        wf_run_check_linear(&r, w, len, 1e-4, cases[t].text);
        free(w);
        wf_run_close(&r);
    }
}

/* fir_tv is filtered_noise's kernel: the same output bit for bit on any
 * input. With constant mags its frames overlap-add to one linear convolution
 * with the frequency-sampling design h[j] = w[j] H[(j - L/2) mod L] (H the
 * inverse DFT of the real, even spectrum of the mags, w the periodic Hann
 * window of L = 2 (B - 1) points), delayed by D = (L - 1) div 2 - 1 less:
 * y[n] = sum_j h[j] x[n + D - j], against which it is checked to 1e-6. */
void test_fir_tv(void **state)
{
    (void)state;
    const int N = 4000;
    wf_real *x = fill(8, N);
    const char *texts[2] = {
        "rate 16000\nframes 250 hz\ninput x\nparam m[17] = 0 per frame\nout fir_tv(x, m)\n",
        "rate 16000\nframes 250 hz\ninput x\nparam m[17] = 0 per frame\nout filtered_noise(x, "
        "m)\n"};
    wf_real *y[2];
    for (int i = 0; i < 2; i++) {
        wf_run r;
        wf_run_open(&r, texts[i], N, WF_RUN_WHOLE, 0);
        wf_param *m = wf_run_param(&r, "m");
        for (size_t j = 0; j < wf_param_len(m); j++)
            m->value[j] = (wf_real)(0.5 + 0.5 * sig(9, j));
        wf_prog_set_input(r.prog, 0, 0, x);
        y[i] = wf_xmalloc(sizeof(wf_real) * N);
        memcpy(y[i], wf_prog_forward(r.prog), sizeof(wf_real) * N);
        wf_run_close(&r);
    }
    assert_memory_equal(y[0], y[1], sizeof(wf_real) * N);
    free(y[0]);
    free(y[1]);

    /* one design: a band-pass of 33 bands (64 taps, the course's example) */
    enum { B = 33, L = 2 * (B - 1), D = (L - 1) / 2 - 1 };
    double mags[B], H[L], h[L];
    for (int b = 0; b < B; b++)
        mags[b] = exp(-0.5 * (b - 10) * (b - 10) / 4.0);
    for (int i = 0; i < L; i++) {
        double s = 0;
        for (int k = 0; k < L; k++)
            s += mags[k <= L / 2 ? k : L - k] * cos(2 * PI * k * i / L);
        H[i] = s / L;
    }
    for (int j = 0; j < L; j++)
        h[j] = (0.5 - 0.5 * cos(2 * PI * j / L)) * H[(j + L / 2) % L];
    wf_str text = {0};
    wf_str_puts(&text, "rate 16000\ninput x\nout fir_tv(x, [");
    for (int b = 0; b < B; b++)
        wf_str_printf(&text, "%s%.17g", b ? ", " : "", mags[b]);
    wf_str_puts(&text, "])\n");
    wf_run r;
    wf_run_open(&r, text.s, N, WF_RUN_WHOLE, 0);
    wf_prog_set_input(r.prog, 0, 0, x);
    const wf_real *z = wf_prog_forward(r.prog);
    for (int n = 0; n < N; n++) {
        double want = 0;
        for (int j = 0; j < L; j++)
            if (n + D - j >= 0 && n + D - j < N)
                want += h[j] * x[n + D - j];
        assert_close(z[n], want, 0, 1e-6);
    }
    wf_run_close(&r);
    wf_str_free(&text);
    free(x);
}
