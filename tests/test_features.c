/* Forward tests of the audio features (stdlib/features.c) against
 * references computed here in double by their definitions, with a plain
 * DFT: DDSP's loudness of a 1 kHz full-scale sine (and of silence, at the
 * floor), a sine's RMS (A / sqrt 2), a sine's centroid at its frequency and
 * two sines' at their magnitude-weighted mean, a sine's flatness near 0 and
 * white noise's near exp(-Euler's gamma), log-mel bands against a
 * torchaudio-style filter bank written out here, MFCCs as the orthonormal
 * DCT-II of those bands, and streams against whole passes. A feature at
 * control rate reaches the out through upsample, which at sample i hop is
 * frame i exactly. Outputs are float32; tolerances say how close. */
#include "family_tests.h"
#include "render.h"
#include "runtime/rng.h"

#define PI 3.14159265358979323846
#define SR 16000.0
#define HOP 64 /* 250 Hz frames at 16 kHz */

/* Renders text for N samples with input 0 set to in (or none); frame i of
 * every channel of the out into a new [frames x chans] array. */
static double *frames_of(const char *text, const wf_real *in, int N, int *frames, int *chans)
{
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
    if (in)
        wf_prog_set_input(r.prog, 0, 0, in);
    const wf_real *y = wf_prog_forward(r.prog);
    assert_int_equal(r.env.hop, HOP);
    int F = (N + HOP - 1) / HOP, C = r.chans;
    double *out = wf_xmalloc(sizeof(double) * (size_t)F * (size_t)C);
    for (int i = 0; i < F; i++)
        for (int c = 0; c < C; c++)
            out[(size_t)i * C + c] = y[(size_t)i * HOP * C + c];
    *frames = F;
    *chans = C;
    wf_run_close(&r);
    return out;
}

/* The centred frame i of x (zeros outside), times the periodic Hann
 * window, and its power spectrum by a direct DFT: P[k], k <= n/2. */
static void power_ref(const double *x, int N, int i, int n, double *P)
{
    double *u = malloc(sizeof(double) * n);
    for (int j = 0; j < n; j++) {
        int t = i * HOP - n / 2 + j;
        u[j] = (t >= 0 && t < N ? x[t] : 0) * (0.5 - 0.5 * cos(2 * PI * j / n));
    }
    for (int k = 0; k <= n / 2; k++) {
        double re = 0, im = 0;
        for (int j = 0; j < n; j++) {
            re += u[j] * cos(2 * PI * (double)k * j / n);
            im -= u[j] * sin(2 * PI * (double)k * j / n);
        }
        P[k] = re * re + im * im;
    }
    free(u);
}

static wf_real *sine_signal(int N, double hz, double amp, double *xd)
{
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    for (int t = 0; t < N; t++) {
        x[t] = (wf_real)(amp * sin(2 * PI * hz * t / SR));
        xd[t] = x[t];
    }
    return x;
}

/* ------------------------------------------------------------- loudness */

/* DDSP's compute_loudness, written out: A-weighting as librosa's formula,
 * mean weighted power, power_to_db with range 80 and reference 0. */
static double a_weight_ref(double f)
{
    if (f == 0)
        return -80;
    double f2 = f * f, c0 = pow(12194.217, 2), c1 = pow(20.598997, 2), c2 = pow(107.65265, 2),
           c3 = pow(737.86223, 2);
    double a = 2.0 + 20.0 * (log10(c0) + 2 * log10(f2) - log10(f2 + c0) - log10(f2 + c1) -
                             0.5 * log10(f2 + c2) - 0.5 * log10(f2 + c3));
    return fmax(a, -80);
}

static double loudness_ref(const double *x, int N, int i, int n)
{
    double *P = malloc(sizeof(double) * (n / 2 + 1)), mean = 0;
    power_ref(x, N, i, n, P);
    for (int k = 0; k <= n / 2; k++)
        mean += P[k] * pow(10, a_weight_ref(k * SR / n) / 10);
    mean /= n / 2 + 1;
    free(P);
    double db = 10 * log10(fmax(mean, 1e-8));
    return fmax(db, -80);
}

void test_loudness_sine(void **state)
{
    (void)state;
    const int N = 4000;
    double *xd = malloc(sizeof(double) * N);
    wf_real *x = sine_signal(N, 1000, 1, xd);
    int F, C;
    double *v = frames_of("rate 16 khz\nframes 250 hz\ninput x\nout loudness(x)\n", x, N, &F, &C);
    assert_int_equal(C, 1);
    assert_int_equal(F, 63);
    for (int i = 0; i < F; i++)
        assert_close(v[i], loudness_ref(xd, N, i, 512), 0, 2e-3);
    /* inside the run: the sine at bin 32 gives |X| = 128, 64, 64 at bins 32, 31, 33 */
    double want = 10 * log10((16384 * pow(10, a_weight_ref(1000) / 10) +
                              4096 * pow(10, a_weight_ref(968.75) / 10) +
                              4096 * pow(10, a_weight_ref(1031.25) / 10)) / 257);
    assert_close(v[30], want, 0, 2e-3);
    free(v);
    /* silence sits at the floor, -range_db */
    v = frames_of("rate 16 khz\nframes 250 hz\nout loudness(noise(seed: 1) * 0, range_db: 60)\n",
                  NULL, 1000, &F, &C);
    for (int i = 0; i < F; i++)
        assert_close(v[i], -60, 0, 0);
    free(v);
    free(x);
    free(xd);
}

/* ------------------------------------------------------------------ rms */

void test_rms_sine(void **state)
{
    (void)state;
    const int N = 8000;
    double *xd = malloc(sizeof(double) * N);
    wf_real *x = sine_signal(N, 1000, 0.7, xd);
    int F, C;
    double *v = frames_of("rate 16 khz\nframes 250 hz\ninput x\nout rms(x, frame: 512)\n", x, N, &F, &C);
    /* 512 samples hold 32 whole periods: exactly A / sqrt 2 inside */
    for (int i = 4; i < F - 4; i++)
        assert_close(v[i], 0.7 / sqrt(2), 1e-5, 0);
    /* frame 0 sees the first 256 samples (16 periods) and 256 zeros */
    assert_close(v[0], 0.7 / 2, 1e-5, 0);
    free(v);
    free(x);
    free(xd);
}

/* ------------------------------------------------------------- centroid */

void test_centroid(void **state)
{
    (void)state;
    const int N = 8000;
    double *xd = malloc(sizeof(double) * N);
    wf_real *x = sine_signal(N, 1000, 0.5, xd);
    int F, C;
    double *v = frames_of("rate 16 khz\nframes 250 hz\ninput x\nout centroid(x)\n", x, N, &F, &C);
    /* 1000 Hz is bin 128 of 2048: the Hann main lobe is symmetric about it */
    for (int i = 16; i < F - 16; i++)
        assert_close(v[i], 1000, 0, 0.5);
    free(v);
    /* bins 64 and 192 with amplitudes 0.6 and 0.2: (500 0.6 + 1500 0.2) / 0.8 */
    v = frames_of("rate 16 khz\nframes 250 hz\nout centroid(sine(500 hz) * 0.6 + sine(1500 hz) * 0.2)\n",
                  NULL, N, &F, &C);
    for (int i = 16; i < F - 16; i++)
        assert_close(v[i], 750, 0, 0.5);
    free(v);
    free(x);
    free(xd);
}

/* ------------------------------------------------------------- flatness */

void test_flatness(void **state)
{
    (void)state;
    const int N = 48000;
    int F, C;
    double *v = frames_of("rate 16 khz\nframes 250 hz\nout flatness(sine(1000 hz))\n", NULL, N, &F, &C);
    for (int i = 16; i < F - 16; i++)
        assert_true(v[i] >= 0 && v[i] < 1e-3);
    free(v);
    /* a periodogram's bins of white noise are exponential: E ln P = ln E P - gamma */
    v = frames_of("rate 16 khz\nframes 250 hz\nout flatness(noise(seed: 5))\n", NULL, N, &F, &C);
    double mean = 0;
    int count = 0;
    for (int i = 16; i < F - 16; i++) {
        mean += v[i];
        count++;
    }
    mean /= count;
    assert_close(mean, exp(-0.5772156649), 0, 0.02);
    free(v);
}

/* ------------------------------------------------------ melspec and mfcc */

/* torchaudio's melscale_fbanks (HTK, norm None) written out: triangles
 * between mel points evenly spaced from fmin to fmax. */
static double fbank(int b, int k, int B, int n, double lo, double hi)
{
    double m0 = 2595 * log10(1 + lo / 700), m1 = 2595 * log10(1 + hi / 700);
    double fp[3];
    for (int j = 0; j < 3; j++)
        fp[j] = 700 * (pow(10, (m0 + (m1 - m0) * (b + j) / (B + 1)) / 2595) - 1);
    double f = k * SR / n;
    double up = (f - fp[0]) / (fp[1] - fp[0]), down = (fp[2] - f) / (fp[2] - fp[1]);
    return fmax(0, fmin(up, down));
}

static wf_real *test_signal(int N, double *xd)
{
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    for (int t = 0; t < N; t++) {
        double v = 0.5 * sin(2 * PI * 440 * t / SR) + 0.2 * sin(2 * PI * 3100 * t / SR) +
                   0.05 * wf_uniform(11, (uint64_t)t);
        x[t] = (wf_real)v;
        xd[t] = x[t];
    }
    return x;
}

static void logmel_ref(const double *x, int N, int i, int n, int B, double fmin, double fmax,
                       double *v)
{
    double *P = malloc(sizeof(double) * (n / 2 + 1));
    power_ref(x, N, i, n, P);
    for (int b = 0; b < B; b++) {
        double M = 0;
        for (int k = 0; k <= n / 2; k++)
            M += fbank(b, k, B, n, fmin, fmax) * P[k];
        v[b] = 10 * log10(16.0 / ((double)n * n) * M + 1e-10);
    }
    free(P);
}

void test_melspec_bank(void **state)
{
    (void)state;
    const int N = 3000, B = 40, n = 1024;
    double *xd = malloc(sizeof(double) * N), ref[40];
    wf_real *x = test_signal(N, xd);
    int F, C;
    double *v = frames_of("rate 16 khz\nframes 250 hz\ninput x\n"
                          "out melspec(x, bands: 40, n_fft: 1024, fmin: 60, fmax: 7000)\n",
                          x, N, &F, &C);
    assert_int_equal(C, B);
    for (int i = 0; i < F; i += 5) {
        logmel_ref(xd, N, i, n, B, 60, 7000, ref);
        for (int b = 0; b < B; b++)
            assert_close(v[(size_t)i * C + b], ref[b], 0, 0.01);
    }
    free(v);
    /* channels: two inputs give two sets of bands, the first's first */
    v = frames_of("rate 16 khz\nframes 250 hz\ninput x\n"
                  "out melspec(concat(x, x * 0.5), bands: 40, n_fft: 1024, fmin: 60, fmax: 7000)\n",
                  x, N, &F, &C);
    assert_int_equal(C, 2 * B);
    for (int b = 0; b < B; b++)
        assert_close(v[(size_t)20 * C + B + b], v[(size_t)20 * C + b] - 20 * log10(2), 0, 0.01);
    free(v);
    free(x);
    free(xd);
}

void test_mfcc_dct(void **state)
{
    (void)state;
    const int N = 3000, B = 40, n = 1024, Q = 20;
    double *xd = malloc(sizeof(double) * N), ref[40];
    wf_real *x = test_signal(N, xd);
    int F, C;
    double *v = frames_of("rate 16 khz\nframes 250 hz\ninput x\n"
                          "out mfcc(x, n: 20, bands: 40, n_fft: 1024, fmin: 60, fmax: 7000)\n",
                          x, N, &F, &C);
    assert_int_equal(C, Q);
    for (int i = 0; i < F; i += 5) {
        logmel_ref(xd, N, i, n, B, 60, 7000, ref);
        double mean = 0;
        for (int b = 0; b < B; b++)
            mean += ref[b] / B;
        for (int q = 0; q < Q; q++) {
            double c = 0;
            for (int b = 0; b < B; b++)
                c += ref[b] * cos(PI * q * (b + 0.5) / B);
            c *= sqrt(2.0 / B) * (q == 0 ? sqrt(0.5) : 1);
            assert_close(v[(size_t)i * C + q], c, 0, 0.05);
        }
        /* orthonormal: c0 is sqrt(B) times the mean band */
        assert_close(v[(size_t)i * C], sqrt((double)B) * mean, 0, 0.05);
    }
    free(v);
    /* a flat log-mel (every band at the floor: silence) has only c0 */
    v = frames_of("rate 16 khz\nframes 250 hz\nout mfcc(noise(seed: 1) * 0, bands: 32, n_fft: 512)\n",
                  NULL, 1000, &F, &C);
    assert_int_equal(C, 13);
    assert_close(v[0], -100 * sqrt(32.0), 1e-6, 0);
    for (int q = 1; q < C; q++)
        assert_close(v[q], 0, 0, 1e-3);
    free(v);
    free(x);
    free(xd);
}

/* ------------------------------------------------------------- streams */

static double stream_amp(int f)
{
    return 0.5 + 0.4 * sin(0.2 * f);
}

/* Every feature of a signal with a per-frame amplitude, streamed in blocks
 * of several sizes (the kept half frames, the lookahead), equals the whole
 * pass. */
void test_features_stream(void **state)
{
    (void)state;
    const char *text =
        "rate 16 khz\nframes 250 hz\nparam a[1] = 0.5 per frame\n"
        "x = concat(sine(440 hz) * a + noise(seed: 3) * 0.1, noise(seed: 4) * a)\n"
        "out concat(loudness(x), rms(x, frame: 300), centroid(x, n_fft: 1024), flatness(x, n_fft: 256),"
        " pick(melspec(x, bands: 16, n_fft: 512), index: [0, 7, 31]), pick(mfcc(x, n: 5), index: [0, 4, 9]))\n";
    static const int blocks[] = {64, 320, 1024};
    /* loudness and mel values are tens of dB, centroids thousands of Hz */
    wf_run_check_stream(text, 6000, 14, "a", stream_amp, blocks, 3, 2e-5);
}
