/* Forward values of every node kind against references computed here in
 * double precision from the definitions (docs/design.md, bench/WORKLOADS.md), mostly by
 * rendering small patch texts. The table at the bottom maps each kind of the
 * registry to its tests, and one test fails when a kind has none, so a node
 * cannot be added without a forward test. */
#include <kiss_fftr.h>

#include "render.h"
#include "runtime/rng.h"
#include "runtime/fft.h"
#include "family_tests.h"

#define PI 3.14159265358979323846

/* ------------------------------------------------------------ references */

/* splitmix64 in counter form and its float32 uniform (bench/WORKLOADS.md 0.1). */
static uint64_t ref_splitmix(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float ref_uniform(uint64_t seed, uint64_t i)
{
    return (float)((double)(ref_splitmix(seed, i) >> 40) * 0x1p-23 - 1.0);
}

/* Frame-rate to audio-rate interpolation (bench/WORKLOADS.md 0.3) of channel c of
 * F frames of C channels, at sample n. */
static double ref_interp(const wf_real *v, int64_t F, int C, int c, int hop, int64_t n)
{
    int64_t i = n / hop, last = F - 1;
    double t = (double)(n % hop) / hop;
    int64_t a = i < last ? i : last, b = i + 1 < last ? i + 1 : last;
    return (double)v[a * C + c] * (1 - t) + (double)v[b * C + c] * t;
}

/* Fractional part of n f / sr for whole n and f, exactly. */
static double exact_cycles(int64_t n, int64_t f, int64_t sr)
{
    return (double)((n * f) % sr) / (double)sr;
}

/* Coefficient of sin(2 pi k c) in the Fourier series of the ideal shapes:
 * saw 2c on [0, 1/2) then 2c - 2, square +1 then -1, triangle peaking at 1
 * at c = 1/4. */
enum { SAW, SQUARE, TRIANGLE };

static double shape_coef(int shape, int k)
{
    if (shape == SAW)
        return (2 / PI) * (k % 2 ? 1 : -1) / k;
    if (k % 2 == 0)
        return 0;
    if (shape == SQUARE)
        return (4 / PI) / k;
    return (8 / (PI * PI)) * ((k / 2) % 2 ? -1 : 1) / ((double)k * k);
}

static double shape_ideal(int shape, double c)
{
    if (shape == SAW)
        return c < 0.5 ? 2 * c : 2 * c - 2;
    if (shape == SQUARE)
        return c < 0.5 ? 1 : -1;
    return c < 0.25 ? 4 * c : c < 0.75 ? 2 - 4 * c : 4 * c - 4;
}

/* The band-limited shape at phase c (cycles) for frequency f: the partials
 * strictly below the Nyquist. */
static double shape_bl(int shape, double c, double f, double sr)
{
    double y = 0;
    for (int k = 1; k * fabs(f) < sr / 2; k++)
        y += shape_coef(shape, k) * sin(2 * PI * fmod(k * c, 1.0));
    return y;
}

static const char *const shape_names[] = {"saw", "square", "triangle"};

/* -------------------------------------------------------------- sources */

static void test_const(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "out [0.25, -2, 1e6]\n", 5);
    assert_true(wf_run_uses(&r, "const") >= 1);
    assert_int_equal(r.chans, 3);
    for (int t = 0; t < 5; t++) {
        assert_true(y[t * 3 + 0] == 0.25f);
        assert_true(y[t * 3 + 1] == -2.0f);
        assert_true(y[t * 3 + 2] == 1e6f);
    }
    wf_run_close(&r);
}

/* ---------------------------------------------------------- oscillators */

static void test_sine(void **state)
{
    (void)state;
    wf_run r;
    /* 1 kHz at 48 kHz: 48 samples per cycle */
    const wf_real *y = wf_run_whole(&r, "rate 48000\nout sine(1 khz)\n", 4800);
    assert_int_equal(r.chans, 1);
    for (int n = 0; n < 4800; n++)
        assert_close(y[n], sin(2 * PI * exact_cycles(n, 1000, 48000)), 0, 2e-6);
    wf_run_close(&r);

    y = wf_run_whole(&r, "rate 48000\nout sine(1 khz, phase: 0.5)\n", 4800);
    for (int n = 0; n < 4800; n++)
        assert_close(y[n], sin(2 * PI * exact_cycles(n, 1000, 48000) + 0.5), 0, 2e-6);
    wf_run_close(&r);

    /* one channel per frequency, each with its own phase */
    static const int64_t f[3] = {100, 1000, 3000};
    static const double ph[3] = {0, 1, -2};
    y = wf_run_whole(&r, "rate 48000\nout sine([100, 1000, 3000], phase: [0, 1, -2])\n", 4800);
    assert_int_equal(r.chans, 3);
    for (int n = 0; n < 4800; n++)
        for (int c = 0; c < 3; c++)
            assert_close(y[n * 3 + c], sin(2 * PI * exact_cycles(n, f[c], 48000) + ph[c]), 0, 2e-6);
    wf_run_close(&r);
}

/* A frequency computed from constants is folded when compiling and reaches
 * the oscillator in double: 64 sines at 100 * 1.05^i Hz (W5a) stay exact
 * over 10 s, where a float32 frequency would drift by up to 0.4 radians. */
static void test_sine_exact_constants(void **state)
{
    (void)state;
    wf_run r;
    const int N = 480000;
    const wf_real *y =
        wf_run_whole(&r, "rate 48 khz\nout mix(sine(100 hz * pow(1.05, range(64)))) / 64\n", N);
    assert_true(wf_run_uses(&r, "pow") == 0);
    double f[64], err = 0;
    for (int i = 0; i < 64; i++)
        f[i] = 100 * pow(1.05, i);
    for (int n = N - 4800; n < N; n++) {
        double v = 0;
        for (int i = 0; i < 64; i++) {
            double c = (double)n * f[i] / 48000;
            v += sin(2 * PI * (c - floor(c)));
        }
        err = fmax(err, fabs(v / 64 - y[n]));
    }
    assert_close(err, 0, 0, 1e-6);
    wf_run_close(&r);
}

/* Constant sines of one, three and nine channels (sine_rotate: runs of
 * samples along a channel, and from eight channels across them) with phase
 * offsets, over 10 s, whole and in blocks of 1008 (which end inside the
 * phasor's runs and between its anchors): within 1e-6 of sin(2 pi frac(n f
 * / sr) + phase) in double everywhere, and the stream equal to the whole
 * pass bit for bit. */
static void test_sine_rotation(void **state)
{
    (void)state;
    static const char *texts[] = {
        "rate 48 khz\nframes 1000 hz\nout sine(997.3 hz, phase: 0.4)\n",
        "rate 48 khz\nframes 1000 hz\nout sine([31.7 hz, 4410 hz, 23999 hz], phase: [0, -2, 3])\n",
        "rate 48 khz\nframes 1000 hz\nout sine([31.7 hz, 100 hz, 997.3 hz, 1000 hz, 4410 hz, 7000.5 hz, 12000 hz, "
        "20000 hz, 23999 hz], phase: [0, -2, 3, 1, 0.5, -0.5, 2, -3, 0.1])\n",
    };
    static const double f[3][9] = {{997.3},
                                   {31.7, 4410, 23999},
                                   {31.7, 100, 997.3, 1000, 4410, 7000.5, 12000, 20000, 23999}},
                        ph[3][9] = {{0.4}, {0, -2, 3}, {0, -2, 3, 1, 0.5, -0.5, 2, -3, 0.1}};
    const int N = 480000;
    for (int p = 0; p < 3; p++) {
        wf_real *whole = NULL;
        for (int streamed = 0; streamed < 2; streamed++) {
            wf_run r;
            wf_run_open(&r, texts[p], N, streamed ? WF_RUN_STREAM : WF_RUN_WHOLE, 1008);
            wf_real *y = streamed ? wf_run_collect(&r, 1008) : NULL;
            const wf_real *yw = streamed ? y : wf_prog_forward(r.prog);
            int C = r.chans;
            double err = 0;
            for (int n = 0; n < N; n++)
                for (int c = 0; c < C; c++) {
                    double cy = (double)n * f[p][c] / 48000;
                    double want = sin(2 * PI * (cy - floor(cy)) + ph[p][c]);
                    err = fmax(err, fabs(want - yw[(size_t)n * C + c]));
                }
            assert_close(err, 0, 0, 1e-6);
            if (!streamed) {
                whole = malloc(sizeof(wf_real) * (size_t)N * C);
                memcpy(whole, yw, sizeof(wf_real) * (size_t)N * C);
            } else
                assert_memory_equal(whole, y, sizeof(wf_real) * (size_t)N * C);
            free(y);
            wf_run_close(&r);
        }
        free(whole);
    }
}

/* mix(sine(constants)) compiles to one `sines` node (the sum made as the
 * sines are): over 10 s of 12 and of 3 sines with phase offsets, whole and
 * in blocks of 1008, within 1e-6 of the float64 sum, the stream equal to the
 * whole pass bit for bit. A sine read elsewhere too, or one of a learnt
 * frequency, stays a sine and a mix. */
static void test_sine_banks(void **state)
{
    (void)state;
    static const char *texts[] = {
        "rate 48 khz\nframes 1000 hz\nout mix(sine(100 hz * pow(1.3, range(12)), "
        "phase: 0.1 * range(12)))\n",
        "rate 48 khz\nframes 1000 hz\nout mix(sine([31.7 hz, 4410 hz, 23999 hz], phase: [0, -2, "
        "3]))\n",
    };
    const int N = 480000;
    for (int p = 0; p < 2; p++) {
        int K = p == 0 ? 12 : 3;
        double f[12], ph[12];
        for (int i = 0; i < K; i++) {
            f[i] = p == 0 ? 100 * pow(1.3, i) : (double[]){31.7, 4410, 23999}[i];
            ph[i] = p == 0 ? 0.1 * i : (double[]){0, -2, 3}[i];
        }
        wf_real *whole = NULL;
        for (int streamed = 0; streamed < 2; streamed++) {
            wf_run r;
            wf_run_open(&r, texts[p], N, streamed ? WF_RUN_STREAM : WF_RUN_WHOLE, 1008);
            assert_int_equal(r.chans, 1);
            assert_int_equal(wf_run_uses(&r, "sines"), 1);
            assert_int_equal(wf_run_uses(&r, "mix"), 0);
            assert_int_equal(wf_run_uses(&r, "sine"), 0);
            wf_real *y = streamed ? wf_run_collect(&r, 1008) : NULL;
            const wf_real *yw = streamed ? y : wf_prog_forward(r.prog);
            double err = 0;
            for (int n = 0; n < N; n++) {
                double want = 0;
                for (int i = 0; i < K; i++) {
                    double c = (double)n * f[i] / 48000;
                    want += sin(2 * PI * (c - floor(c)) + ph[i]);
                }
                err = fmax(err, fabs(want - yw[n]));
            }
            assert_close(err, 0, 0, 1e-6 * K);
            if (!streamed) {
                whole = malloc(sizeof(wf_real) * (size_t)N);
                memcpy(whole, yw, sizeof(wf_real) * (size_t)N);
            } else
                assert_memory_equal(whole, y, sizeof(wf_real) * (size_t)N);
            free(y);
            wf_run_close(&r);
        }
        free(whole);
    }
    static const char *kept[] = {
        "rate 48 khz\ns = sine([100 hz, 200 hz])\nout mix(s) + pick(s, 0)\n",
        "rate 48 khz\nparam f[2] = [100, 200]\nout mix(sine(f))\n",
    };
    for (int p = 0; p < 2; p++) {
        wf_run r;
        wf_run_open(&r, kept[p], 4800, WF_RUN_WHOLE, 0);
        assert_int_equal(wf_run_uses(&r, "sines"), 0);
        assert_int_equal(wf_run_uses(&r, "sine"), 1);
        assert_int_equal(wf_run_uses(&r, "mix"), 1);
        wf_run_close(&r);
    }
}

/* A constant sine whose frequency changes between two blocks (a param set
 * while a live session plays): the phase runs on continuously, the new
 * frequency taking over at the block, within 1e-6 of the double reference;
 * the blocks of 960 end between the phasors' anchors. */
static void test_sine_retune(void **state)
{
    (void)state;
    const int N = 48000, B = 960, change = 7 * 960;
    wf_run r;
    wf_run_open(&r, "rate 48 khz\nparam f = 440\nout sine(f)\n", N, WF_RUN_STREAM, B);
    wf_param *f = wf_run_param(&r, "f");
    double c = 0, err = 0;
    int at = 0, n;
    const wf_real *b;
    while ((b = wf_prog_next_block(r.prog, &n))) {
        for (int t = 0; t < n; t++, at++) {
            err = fmax(err, fabs(b[t] - sin(2 * PI * c)));
            c += (at < change ? 440.0 : 661.5) / 48000;
            c -= floor(c);
        }
        if (at == change)
            f->value[0] = (wf_real)661.5;
    }
    assert_int_equal(at, N);
    assert_close(err, 0, 0, 1e-6);
    wf_run_close(&r);
}

/* A time-varying frequency: the phase is the exclusive running sum of the
 * interpolated frequency (phase 0 at the first sample). */
static void test_sine_fm(void **state)
{
    (void)state;
    wf_run r;
    const int N = 1000;
    wf_run_open(&r, "rate 16000\nframes 250 hz\nparam f = 440 per frame\nout sine(f)\n", N,
                WF_RUN_WHOLE, 0);
    wf_param *f = wf_run_param(&r, "f");
    assert_int_equal(f->rows, 16);
    for (int i = 0; i < f->rows; i++)
        f->value[i] = (wf_real)(300 + 75 * i);
    const wf_real *y = wf_prog_forward(r.prog);
    double c = 0;
    for (int n = 0; n < N; n++) {
        assert_close(y[n], sin(2 * PI * c), 0, 1e-5);
        c += ref_interp(f->value, f->rows, 1, 0, r.env.hop, n) / r.env.sr;
        c -= floor(c);
    }
    wf_run_close(&r);
}

/* saw, square and triangle equal their Fourier sums up to the Nyquist, for
 * a constant frequency and for a sweep whose partial count changes. */
static void test_shapes_fourier(void **state)
{
    (void)state;
    for (int s = 0; s < 3; s++) {
        char text[200];
        wf_run r;
        const int N = 2000;
        snprintf(text, sizeof text, "rate 16000\nout %s(1234.5)\n", shape_names[s]);
        const wf_real *y = wf_run_whole(&r, text, N);
        for (int n = 0; n < N; n++)
            assert_close(y[n], shape_bl(s, fmod(n * 1234.5 / 16000, 1.0), 1234.5, 16000), 0, 1e-5);
        wf_run_close(&r);

        /* 100 Hz to 7 kHz over 0.25 s: the saw goes from 79 partials down to 1 */
        snprintf(text, sizeof text,
                 "rate 16000\nout %s(line(from: 100, to: 7000, time: 0.25))\n", shape_names[s]);
        y = wf_run_whole(&r, text, 4000);
        double c = 0;
        for (int n = 0; n < 4000; n++) {
            float fr = (float)(100 + 6900 * (n / 16000.0 / 0.25));
            assert_close(y[n], shape_bl(s, c, fr, 16000), 0, 2e-5);
            c += fr / 16000.0;
            c -= floor(c);
        }
        wf_run_close(&r);
    }
}

/* The band-limited shapes have no aliasing: a non-integer frequency whose
 * partials above the Nyquist would fold back between the true ones. The
 * frame holds a whole number of periods (1234.5 Hz over 2 s is 2469
 * cycles), so every partial and every fold lands on a bin and the periodic
 * Hann window spreads each over its bin and the two beside it: what is left
 * elsewhere is rounding. */
static void test_shapes_no_aliasing(void **state)
{
    (void)state;
    const int N = 32000, cyc = 2469;
    const double sr = 16000, f = 1234.5;
    kiss_fftr_cfg cfg = kiss_fftr_alloc(N, 0, NULL, NULL);
    kiss_fft_scalar *x = wf_xmalloc(sizeof *x * (size_t)N);
    kiss_fft_cpx *X = wf_xmalloc(sizeof *X * (size_t)(N / 2 + 1));
    double *pw = wf_xmalloc(sizeof *pw * (size_t)(N / 2 + 1));
    char *near = wf_xmalloc((size_t)(N / 2 + 1));
    for (int s = 0; s < 3; s++) {
        char text[100];
        wf_run r;
        snprintf(text, sizeof text, "rate 16000\nout %s(1234.5)\n", shape_names[s]);
        const wf_real *y = wf_run_whole(&r, text, N);
        for (int j = 0; j < N; j++)
            x[j] = y[j] * (kiss_fft_scalar)(0.5 - 0.5 * cos(2 * PI * j / N));
        wf_run_close(&r);
        kiss_fftr(cfg, x, X);
        memset(near, 0, (size_t)(N / 2 + 1));
        for (int b = 0; b <= N / 2; b++)
            pw[b] = (double)X[b].r * X[b].r + (double)X[b].i * X[b].i;
        for (int k = 1; k * f < sr / 2; k++)
            if (shape_coef(s, k) != 0)
                for (int b = k * cyc - 1; b <= k * cyc + 1; b++)
                    near[b] = 1;
        double p1 = pw[cyc - 1] + pw[cyc] + pw[cyc + 1];
        /* the partials below the Nyquist are there, in the right ratios */
        for (int k = 1; k * f < sr / 2; k++) {
            double want = fabs(shape_coef(s, k) / shape_coef(s, 1));
            double got = sqrt(pw[k * cyc] / pw[cyc]);
            assert_close(got, want, 1e-4, 1e-6);
        }
        /* nothing elsewhere: neither single bins nor in total */
        double rest = 0, worst = 0;
        int worst_bin = 0;
        for (int b = 0; b <= N / 2; b++) {
            if (near[b])
                continue;
            rest += pw[b];
            if (pw[b] > worst) {
                worst = pw[b];
                worst_bin = b;
            }
        }
        double worst_db = 10 * log10(worst / pw[cyc] + 1e-300);
        double rest_db = 10 * log10(rest / p1 + 1e-300);
        if (worst_db > -90 || rest_db > -90)
            fail_msg("%s: energy away from its partials: %.1f dB in total, %.1f dB at %.2f Hz "
                     "(relative to the fundamental)",
                     shape_names[s], rest_db, worst_db, worst_bin * sr / N);
        /* in particular where the partials above the Nyquist would fold */
        for (int k = (int)(sr / 2 / f) + 1; k < 60; k++) {
            double fold = fmod(k * f, sr);
            if (fold > sr / 2)
                fold = sr - fold;
            int b = (int)lround(fold * N / sr);
            if (shape_coef(s, k) != 0 && !near[b])
                assert_true(10 * log10(pw[b] / pw[cyc] + 1e-300) < -90);
        }
    }
    free(near);
    free(pw);
    free(X);
    free(x);
    kiss_fftr_free(cfg);
}

/* The shapes at 100 Hz (480 samples a cycle, partials up to the 239th) are
 * close to the ideal ones away from their jumps. */
static void test_shapes_waveform(void **state)
{
    (void)state;
    for (int s = 0; s < 3; s++) {
        char text[100];
        wf_run r;
        snprintf(text, sizeof text, "rate 48000\nout %s(100)\n", shape_names[s]);
        const wf_real *y = wf_run_whole(&r, text, 960);
        double worst = 0;
        for (int n = 0; n < 960; n++) {
            double c = (n % 480) / 480.0;
            /* 5 % of a cycle away from the jumps of saw (c = 1/2) and square */
            int jump = s == SAW ? fabs(c - 0.5) < 0.05
                                : s == SQUARE && (fabs(c - 0.5) < 0.05 || c < 0.05 || c > 0.95);
            if (!jump)
                worst = fmax(worst, fabs(y[n] - shape_ideal(s, c)));
        }
        if (worst > (s == TRIANGLE ? 2e-3 : 0.02))
            fail_msg("%s: %.4g from the ideal shape", shape_names[s], worst);
        switch (s) {
        case SAW: /* rising from 0 */
            assert_close(y[0], 0, 0, 1e-6);
            assert_true(y[1] > y[0] && y[60] > y[1]);
            assert_close(y[120], 0.5, 0, 0.01);
            assert_close(y[360], -0.5, 0, 0.01);
            break;
        case SQUARE: /* +1 on the first half */
            assert_close(y[0], 0, 0, 1e-6);
            assert_close(y[120], 1, 0, 0.01);
            assert_close(y[360], -1, 0, 0.01);
            break;
        case TRIANGLE: /* peak 1 at a quarter */
            assert_close(y[0], 0, 0, 1e-6);
            assert_close(y[120], 1, 0, 2e-3);
            assert_close(y[240], 0, 0, 2e-3);
            assert_close(y[360], -1, 0, 2e-3);
            break;
        }
        wf_run_close(&r);
    }
}

/* harmonic with a constant f0 is the sum of its sines; partials at or
 * above the Nyquist are silent. */
static void test_harmonic_constant(void **state)
{
    (void)state;
    wf_run r;
    static const double a[4] = {0.5, 0.25, 0.125, 0.1};
    const wf_real *y = wf_run_whole(&r, "rate 16000\nout harmonic(220, [0.5, 0.25, 0.125, 0.1])\n", 4000);
    for (int n = 0; n < 4000; n++) {
        double want = 0;
        for (int k = 1; k <= 4; k++)
            want += a[k - 1] * sin(2 * PI * exact_cycles(n, 220 * k, 16000));
        assert_close(y[n], want, 0, 1e-5);
    }
    wf_run_close(&r);

    /* 3 kHz at 16 kHz: partials 3 and 4 (9 and 12 kHz) are silent */
    y = wf_run_whole(&r, "rate 16000\nout harmonic(3000, [1, 0.5, 1, 1])\n", 2000);
    for (int n = 0; n < 2000; n++) {
        double want = sin(2 * PI * exact_cycles(n, 3000, 16000)) +
                      0.5 * sin(2 * PI * exact_cycles(n, 6000, 16000));
        assert_close(y[n], want, 0, 1e-5);
    }
    wf_run_close(&r);
}

/* Control-rate f0 and amps (bench/WORKLOADS.md 0.3, 0.4): each frame's amps are
 * masked with that frame's f0 (k f0 >= sr/2 silenced) before both are
 * interpolated; the phase is the exclusive running sum of the interpolated
 * f0 in double. f0 rises through the Nyquist of partials 6 to 3. */
static void test_harmonic_control(void **state)
{
    (void)state;
    wf_run r;
    const int N = 1250, K = 6;
    wf_run_open(&r,
                "rate 16000\nframes 250 hz\nparam f0 = 200 per frame\n"
                "param amps[6] = 0.1 per frame\nout harmonic(f0, amps)\n",
                N, WF_RUN_WHOLE, 0);
    wf_param *f0 = wf_run_param(&r, "f0"), *am = wf_run_param(&r, "amps");
    int F = f0->rows, hop = r.env.hop;
    assert_int_equal(F, 20);
    for (int i = 0; i < F; i++) {
        f0->value[i] = (wf_real)(1000 + 150 * i);
        for (int k = 0; k < K; k++)
            am->value[i * K + k] = (wf_real)(0.3 / (k + 1) + 0.05 * sin(i + k));
    }
    const wf_real *y = wf_prog_forward(r.prog);
    wf_real *masked = wf_xmalloc(sizeof(wf_real) * (size_t)(F * K));
    for (int i = 0; i < F; i++)
        for (int k = 0; k < K; k++)
            masked[i * K + k] = (k + 1) * (double)f0->value[i] >= 8000 ? 0 : am->value[i * K + k];
    double c = 0;
    for (int n = 0; n < N; n++) {
        double want = 0;
        for (int k = 0; k < K; k++)
            want += ref_interp(masked, F, K, k, hop, n) * sin(2 * PI * (k + 1) * (double)(float)c);
        assert_close(y[n], want, 0, 2e-5);
        c += ref_interp(f0->value, F, 1, 0, hop, n) / 16000.0;
        c -= floor(c);
    }
    free(masked);
    wf_run_close(&r);
}

/* Many partials: 300 per-frame amplitudes of a 10 Hz bank, past one span of
 * partials and through several anchors of the rotation, against float64
 * sines of the same phases. */
static void test_harmonic_many(void **state)
{
    (void)state;
    wf_run r;
    const int N = 2000, K = 300;
    wf_run_open(&r, "rate 16000\nframes 250 hz\nparam amps[300] = 0 per frame\nout harmonic(10, amps)\n",
                N, WF_RUN_WHOLE, 0);
    wf_param *am = wf_run_param(&r, "amps");
    int F = am->rows, hop = r.env.hop;
    for (int i = 0; i < F; i++)
        for (int k = 0; k < K; k++)
            am->value[i * K + k] = (wf_real)(0.004 * (1 + sin(0.7 * i + 0.3 * k)));
    const wf_real *y = wf_prog_forward(r.prog);
    for (int n = 0; n < N; n++) {
        double c = (double)(float)exact_cycles(n, 10, 16000), want = 0;
        for (int k = 0; k < K; k++)
            want += ref_interp(am->value, F, K, k, hop, n) * sin(2 * PI * (k + 1) * c);
        assert_close(y[n], want, 0, 5e-5);
    }
    wf_run_close(&r);
}

/* Audio-rate f0: the mask follows f0 at every sample. */
static void test_harmonic_audio_f0(void **state)
{
    (void)state;
    wf_run r;
    static const double a[4] = {0.4, 0.3, 0.2, 0.1};
    const int N = 4000;
    const wf_real *y = wf_run_whole(
        &r, "rate 16000\nout harmonic(line(from: 1000, to: 4000, time: 0.2), [0.4, 0.3, 0.2, 0.1])\n", N);
    double c = 0;
    for (int n = 0; n < N; n++) {
        float f = (float)(1000 + 3000 * fmin(n / 16000.0 / 0.2, 1));
        double want = 0;
        for (int k = 1; k <= 4; k++)
            if (k * (double)f < 8000)
                want += a[k - 1] * sin(2 * PI * k * (double)(float)c);
        assert_close(y[n], want, 0, 1e-5);
        c += f / 16000.0;
        c -= floor(c);
    }
    wf_run_close(&r);
}

/* Inharmonicity B: partial k at k f0 sqrt(1 + B k^2), silenced at or above the
 * Nyquist by its own frequency (at f0 = 2 kHz, B = 0.1, partial 3 is at 8.27
 * kHz although 3 f0 is 6 kHz). The partial ratios are float32: their
 * rounding, 2^-24 of each frequency, is 3e-5 of phase after these 125 cycles. */
static void test_harmonic_inharmonic(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double f0, B;
    } cases[] = {
        {"rate 16000\nout harmonic(220, [0.5, 0.3, 0.2, 0.1], inharmonicity: 0.001)\n", 220, 0.001},
        {"rate 16000\nout harmonic(2000, [0.5, 0.3, 0.2, 0.1], inharmonicity: 0.1)\n", 2000, 0.1},
    };
    static const double a[4] = {0.5, 0.3, 0.2, 0.1};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        wf_run r;
        const wf_real *y = wf_run_whole(&r, cases[t].text, 1000);
        for (int n = 0; n < 1000; n++) {
            double want = 0;
            for (int k = 1; k <= 4; k++) {
                double m = k * sqrt(1 + cases[t].B * k * k);
                if (m * cases[t].f0 < 8000)
                    want += a[k - 1] * sin(2 * PI * fmod(m * n * cases[t].f0 / 16000, 1.0));
            }
            assert_close(y[n], want, 0, 1e-4);
        }
        wf_run_close(&r);
    }
}

/* Ten minutes at 48 kHz, streamed: the phase is kept in double, so the last
 * second of a 440 Hz bank (and of a sine) still matches the analytic values. */
static void test_harmonic_no_drift(void **state)
{
    (void)state;
    static const double a[8] = {0.5, 0.3, 0.2, 0.1, 0.05, 0.05, 0.02, 0.01};
    const int64_t N = 600LL * 48000;
    wf_run r;
    wf_run_open(&r,
                "rate 48000\n"
                "out [harmonic(440, [0.5, 0.3, 0.2, 0.1, 0.05, 0.05, 0.02, 0.01]), sine(440)]\n",
                N, WF_RUN_STREAM, 48000);
    assert_int_equal(r.chans, 2);
    int n;
    int64_t at = 0, checked = 0;
    const wf_real *b;
    while ((b = wf_prog_next_block(r.prog, &n))) {
        if (at + n == N) {
            for (int j = 0; j < n; j++) {
                int64_t s = at + j;
                double want = 0;
                for (int k = 1; k <= 8; k++)
                    want += a[k - 1] * sin(2 * PI * exact_cycles(s, 440 * k, 48000));
                assert_close(b[2 * j], want, 0, 1e-5);
                assert_close(b[2 * j + 1], sin(2 * PI * exact_cycles(s, 440, 48000)), 0, 2e-6);
                checked++;
            }
        }
        at += n;
    }
    assert_int_equal(at, N);
    assert_int_equal(checked, 48000);
    wf_run_close(&r);
}

/* ---------------------------------------------------------------- noise */

static void test_noise(void **state)
{
    (void)state;
    /* the reference itself against the check values of bench/WORKLOADS.md 0.1 */
    assert_true(ref_splitmix(0, 0) == 0xe220a8397b1dcdafull);
    assert_true(ref_splitmix(0, 1) == 0x6e789e6aa1b965f4ull);
    static const double check[4] = {0.76662159, -0.13694406, -0.94713247, 0.94176388};

    wf_run r;
    const int N = 20000;
    const wf_real *y = wf_run_whole(&r, "out noise(seed: 0)\n", N);
    for (int i = 0; i < 4; i++)
        assert_close(y[i], check[i], 0, 1e-8);
    for (int i = 0; i < N; i++)
        assert_true(y[i] == ref_uniform(0, (uint64_t)i));
    wf_run_close(&r);

    /* channels take consecutive values of the stream, frame by frame */
    y = wf_run_whole(&r, "out noise(seed: 7, channels: 3)\n", N);
    assert_int_equal(r.chans, 3);
    double lo = 1, hi = -1;
    for (int i = 0; i < 3 * N; i++) {
        assert_true(y[i] == ref_uniform(7, (uint64_t)i));
        lo = fmin(lo, y[i]);
        hi = fmax(hi, y[i]);
    }
    assert_true(lo >= -1 && lo < -0.999 && hi < 1 && hi > 0.999);
    wf_run_close(&r);

    /* without a seed, a call's stream is named by its node id: two calls
     * differ */
    y = wf_run_whole(&r, "out [noise(), noise()]\n", N);
    uint64_t seeds[2];
    int found = 0;
    for (int i = 0; i < r.patch->g->n; i++)
        if (r.patch->g->nodes[i].kind == &wf_kind_noise)
            seeds[found++] = wf_hash_u64(r.patch->g->nodes[i].id, 0);
    assert_int_equal(found, 2);
    int same = 0;
    for (int i = 0; i < N; i++) {
        assert_true(y[2 * i] == ref_uniform(seeds[0], (uint64_t)i));
        assert_true(y[2 * i + 1] == ref_uniform(seeds[1], (uint64_t)i));
        same += y[2 * i] == y[2 * i + 1];
    }
    assert_true(same < 5);
    wf_run_close(&r);

    /* and it stays the same when other lines of the patch change */
    wf_run r2;
    const wf_real *a = wf_run_whole(&r, "air = noise()\nout air\n", N);
    const wf_real *b = wf_run_whole(&r2, "hum = 0.1 * noise()\nair = noise()\nout air + 0 * hum\n", N);
    for (int i = 0; i < N; i++)
        assert_true(a[i] == b[i]);
    wf_run_close(&r);
    wf_run_close(&r2);
}

/* ------------------------------------------------------------ envelopes */

static double ref_adsr(double t, double a, double d, double s, double rel, double gate)
{
    double at = fmin(t, gate), v;
    if (at < a)
        v = at / a;
    else if (at < a + d)
        v = 1 - (1 - s) * (at - a) / d;
    else
        v = s;
    if (t < gate)
        return v;
    return t < gate + rel ? v * (1 - (t - gate) / rel) : 0;
}

static void test_adsr(void **state)
{
    (void)state;
    wf_run r;
    const int N = 6000;
    const wf_real *y = wf_run_whole(
        &r, "rate 16000\nout adsr(attack: 10 ms, decay: 50 ms, sustain: 0.5, release: 100 ms, gate: 200 ms)\n",
        N);
    for (int n = 0; n < N; n++)
        assert_close(y[n], ref_adsr(n / 16000.0, 0.01, 0.05, 0.5, 0.1, 0.2), 0, 1e-6);
    assert_close(y[0], 0, 0, 1e-9);
    assert_close(y[80], 0.5, 0, 1e-6);   /* half the attack */
    assert_true(y[159] < 1);
    assert_close(y[160], 1, 0, 1e-6);    /* the peak at 10 ms */
    assert_close(y[560], 0.75, 0, 1e-6); /* half the decay */
    assert_close(y[960], 0.5, 0, 1e-6);  /* sustain */
    assert_close(y[3199], 0.5, 0, 1e-6);
    assert_close(y[4000], 0.25, 0, 1e-6); /* half the release after the gate at 3200 */
    assert_close(y[4800], 0, 0, 1e-6);
    assert_close(y[N - 1], 0, 0, 0);
    wf_run_close(&r);

    /* a gate inside the attack releases from where the envelope is */
    y = wf_run_whole(
        &r, "rate 16000\nout adsr(attack: 10 ms, decay: 50 ms, sustain: 0.5, release: 10 ms, gate: 5 ms)\n",
        400);
    assert_close(y[40], 0.25, 0, 1e-6);
    assert_close(y[80], 0.5, 0, 1e-6);
    assert_close(y[120], 0.375, 0, 1e-6);
    assert_close(y[160], 0.25, 0, 1e-6);
    assert_close(y[240], 0, 0, 1e-6);
    assert_close(y[399], 0, 0, 0);
    wf_run_close(&r);

    /* one channel per attack time */
    y = wf_run_whole(&r, "rate 16000\nout adsr(attack: [5 ms, 20 ms], sustain: 1)\n", 400);
    assert_int_equal(r.chans, 2);
    assert_close(y[2 * 80], 1, 0, 1e-6);
    assert_close(y[2 * 80 + 1], 0.25, 0, 1e-6);
    assert_close(y[2 * 320 + 1], 1, 0, 1e-6);
    wf_run_close(&r);
}

static void test_line(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "rate 16000\nout line(from: 1, to: -1, time: 10 ms)\n", 400);
    for (int n = 0; n < 400; n++)
        assert_close(y[n], 1 - 2 * fmin(n / 160.0, 1), 0, 1e-6);
    assert_close(y[80], 0, 0, 1e-6);
    assert_close(y[160], -1, 0, 1e-6);
    wf_run_close(&r);

    y = wf_run_whole(&r, "rate 16000\nout line(from: [0, 2], to: 1, time: [0.01, 0])\n", 400);
    assert_int_equal(r.chans, 2);
    for (int n = 0; n < 400; n++) {
        assert_close(y[2 * n], fmin(n / 160.0, 1), 0, 1e-6);
        assert_close(y[2 * n + 1], 1, 0, 0); /* time 0: already there */
    }
    wf_run_close(&r);
}

static void test_decay(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "rate 16000\nout decay(time: [50 ms, 0.5])\n", 16000);
    assert_int_equal(r.chans, 2);
    for (int n = 0; n < 16000; n++) {
        assert_close(y[2 * n], exp(-n / 800.0), 1e-6, 1e-30);
        assert_close(y[2 * n + 1], exp(-n / 8000.0), 1e-6, 1e-30);
    }
    assert_close(y[2 * 800], exp(-1), 1e-6, 0);
    assert_close(y[2 * 8000 + 1], exp(-1), 1e-6, 0);
    wf_run_close(&r);
}

/* The level of an analogue ADSR's current segment at time t, moving on to
 * the segments that follow once their start has passed. */
typedef struct ref_seg {
    int stage; /* 0 idle, 1 attack, 2 decay, 3 sustain, 4 release */
    double t0, v0;
} ref_seg;

static double ref_seg_level(ref_seg *g, double t, double a, double d, double s, double r)
{
    for (;;) {
        double tau = t - g->t0;
        switch (g->stage) {
        case 1:
            if (tau < (1 - g->v0) * a)
                return g->v0 + tau / a;
            g->t0 += (1 - g->v0) * a;
            g->stage = 2;
            break;
        case 2:
            if (tau < d)
                return 1 - (1 - s) * tau / d;
            g->stage = 3;
            break;
        case 3:
            return s;
        case 4:
            if (tau < r)
                return g->v0 * (1 - tau / r);
            g->stage = 0;
            break;
        default:
            return 0;
        }
    }
}

/* The analogue ADSR of a gate signal, in double: a rise attacks from the
 * current level at 1/a per second, then decays to s; a fall releases from the
 * current level to 0 over r. */
static void ref_adsr_gate(const double *gate, int n, double sr, double a, double d, double s,
                          double r, double *out)
{
    ref_seg g = {0, 0, 0};
    double prev = 0;
    for (int i = 0; i < n; i++) {
        double t = i / sr;
        int on = gate[i] > 0.5, was = prev > 0.5;
        prev = gate[i];
        if (on != was) {
            double v = ref_seg_level(&g, t, a, d, s, r);
            if (on || g.stage != 0)
                g = (ref_seg){on ? 1 : 4, t, v};
        }
        out[i] = ref_seg_level(&g, t, a, d, s, r);
    }
}

/* Gate signals: adsr held while a control-rate gate is on (held over each
 * frame), retriggering from where it is; line and decay restarting where the
 * gate rises; and constant gates as start times. */
static void test_envelope_gates(void **state)
{
    (void)state;
    const int N = 4800, hop = 16; /* 16 kHz, frames of 1 ms */
    /* on for frames [2, 40), [45, 50) and from 100 */
    const char *text = "rate 16000\nframes 1000 hz\nparam g = 0 per frame fixed\n"
                       "out [adsr(attack: 10 ms, decay: 20 ms, sustain: 0.5, release: 30 ms, gate: g),"
                       " line(from: 1, to: 3, time: 20 ms, gate: g), decay(time: 5 ms, gate: g)]\n";
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
    wf_param *gp = wf_run_param(&r, "g");
    double *gate = wf_xcalloc((size_t)N, sizeof(double));
    for (int f = 0; f < gp->rows; f++) {
        int on = (f >= 2 && f < 40) || (f >= 45 && f < 50) || f >= 100;
        gp->value[f] = (wf_real)on;
        for (int j = 0; j < hop && f * hop + j < N; j++)
            gate[f * hop + j] = on;
    }
    const wf_real *y = wf_prog_forward(r.prog);
    double *ref = wf_xcalloc((size_t)N, sizeof(double));
    ref_adsr_gate(gate, N, 16000, 0.01, 0.02, 0.5, 0.03, ref);
    double t_on = -1;
    for (int i = 0; i < N; i++) {
        double t = i / 16000.0;
        if (gate[i] > 0.5 && (i == 0 || gate[i - 1] <= 0.5))
            t_on = t;
        assert_close(y[3 * i], ref[i], 0, 1e-6);
        double lv = t_on < 0 ? 1 : 1 + 2 * fmin((t - t_on) / 0.02, 1);
        assert_close(y[3 * i + 1], lv, 0, 1e-6);
        double dv = t_on < 0 ? 0 : exp(-(t - t_on) / 0.005);
        assert_close(y[3 * i + 2], dv, 1e-6, 1e-9);
    }
    /* spot values: the attack's top at 2 ms + 10 ms, sustain, a release and
     * a retrigger from the released level */
    assert_close(y[3 * (12 * 16)], 1, 0, 1e-6);
    assert_close(y[3 * (39 * 16)], 0.5, 0, 1e-6);
    assert_true(y[3 * (45 * 16 - 1)] < 0.5 && y[3 * (45 * 16 - 1)] > 0.3);
    assert_true(y[3 * (46 * 16)] > y[3 * (45 * 16 - 1)]);
    wf_run_close(&r);
    free(ref);
    free(gate);

    /* constant gates are start times */
    y = wf_run_whole(&r, "rate 16000\nout [decay(time: 10 ms, gate: 5 ms), line(0, 1, 10 ms, gate: 5 ms)]\n", 800);
    for (int i = 0; i < 800; i++) {
        double t = i / 16000.0;
        assert_close(y[2 * i], t < 0.005 ? 0 : exp(-(t - 0.005) / 0.01), 1e-6, 1e-9);
        assert_close(y[2 * i + 1], t < 0.005 ? 0 : fmin((t - 0.005) / 0.01, 1), 0, 1e-6);
    }
    wf_run_close(&r);
}

/* ---------------------------------------------------------------- delay */

/* x(p) of a signal at a fractional position, 0 before the start. */
static double ref_tap(const wf_real *x, double p)
{
    double fl = floor(p);
    int64_t i = (int64_t)fl;
    double u = p - fl;
    double a = i >= 0 ? x[i] : 0;
    if (u == 0)
        return a;
    return a * (1 - u) + (i + 1 >= 0 ? x[i + 1] : 0) * u;
}

/* At 16384 Hz the delay times below are exact in float32, so the taps land
 * exactly where the reference puts them. */
static void test_delay(void **state)
{
    (void)state;
    const int N = 3000;
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    for (int n = 0; n < N; n++)
        x[n] = ref_uniform(2, (uint64_t)n);
    static const struct {
        const char *expr;
        double samples; /* delay in samples, or -1 for the ramp */
    } cases[] = {
        {"delay(x, 10 / 16384)", 10},     /* whole samples */
        {"delay(x, 2.25 / 16384)", 2.25}, /* between samples */
        {"delay(x, 700.5 / 16384, max: 0.05)", 700.5},
        {"delay(x, 0.5, max: 16 / 16384)", 16}, /* clamped to max */
        {"delay(x, -0.01)", 0},                 /* clamped to 0 */
        {"delay(x, line(from: 0, to: 2 ms, time: 0.1))", -1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char text[200];
        snprintf(text, sizeof text, "rate 16384\nx = noise(seed: 2)\nout %s\n", cases[t].expr);
        wf_run r;
        const wf_real *y = wf_run_whole(&r, text, N);
        for (int n = 0; n < N; n++) {
            double D = cases[t].samples >= 0
                           ? cases[t].samples
                           : (double)(float)(0.002 * fmin(n / 16384.0 / 0.1, 1)) * 16384;
            double want = ref_tap(x, n - D);
            /* the ramp's float32 time may round one ulp (2e-6 samples) away */
            if (fabs(y[n] - want) > 1e-5)
                fail_msg("%s: sample %d is %.9g, want %.9g", cases[t].expr, n, y[n], want);
            if (n < floor(D) && y[n] != 0)
                fail_msg("%s: sample %d is %.9g before the start", cases[t].expr, n, y[n]);
        }
        wf_run_close(&r);
    }
    free(x);
}

/* A delay longer than the blocks, streamed, equals one pass. */
static void test_delay_stream(void **state)
{
    (void)state;
    const char *text = "rate 16000\nout delay(noise(seed: 2, channels: 2), [0.05, 0.0123], max: 0.1)\n";
    const int N = 5000;
    wf_run r;
    const wf_real *whole = wf_run_whole(&r, text, N);
    wf_real *y0 = wf_xmalloc(sizeof(wf_real) * 2 * N);
    memcpy(y0, whole, sizeof(wf_real) * 2 * N);
    wf_run_close(&r);
    for (int n = 0; n < 800; n++)
        assert_true(y0[2 * n] == 0);
    wf_run_open(&r, text, N, WF_RUN_STREAM, 128);
    wf_real *y = wf_run_collect(&r, 128);
    for (int i = 0; i < 2 * N; i++)
        if (y[i] != y0[i])
            fail_msg("streamed sample %d channel %d is %.9g, one pass %.9g", i / 2, i % 2, y[i], y0[i]);
    free(y);
    free(y0);
    wf_run_close(&r);
}

/* -------------------------------------------------------------- effects */

/* DDSP filtered noise from its definition (bench/WORKLOADS.md 0.5), in double:
 * each frame's zero-phase response by the plain inverse DFT of its
 * magnitudes (the real, even spectrum they stand for), rolled by L/2 and
 * Hann-windowed, convolved directly with the frame's samples and
 * overlap-added into z; y[n] = z[n + shift] (the whole pass: shift = D). x
 * is [N], m holds `rows` frames of B bands (1: the same for every frame). */
static void ref_filtered_noise(const double *x, int N, const wf_real *m, int rows, int B, int hop,
                               int shift, double *y)
{
    int L = 2 * (B - 1), F = (N + hop - 1) / hop, zlen = F * hop + L;
    double *z = calloc((size_t)zlen, sizeof *z), *H = wf_xmalloc(sizeof *H * (size_t)L);
    for (int f = 0; f < F; f++) {
        const wf_real *mf = m + (size_t)(rows == 1 ? 0 : f) * B;
        for (int i = 0; i < L; i++) {
            double s = 0;
            for (int k = 0; k < L; k++)
                s += mf[k <= L / 2 ? k : L - k] * cos(2 * PI * k * i / L);
            H[i] = s / L;
        }
        for (int t = f * hop; t < (f + 1) * hop && t < N; t++)
            for (int j = 0; j < L; j++)
                z[t + j] += x[t] * (0.5 - 0.5 * cos(2 * PI * j / L)) * H[(j + L / 2) % L];
    }
    for (int n = 0; n < N; n++)
        y[n] = n + shift >= 0 && n + shift < zlen ? z[n + shift] : 0;
    free(H);
    free(z);
}

/* y[n] = sum_{m < M, m <= n} h[m] x[n - m], directly. */
static void ref_convolve(const double *x, int N, const wf_real *h, int M, double *y)
{
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int m = 0; m < M && m <= n; m++)
            s += (double)h[m] * x[n - m];
        y[n] = s;
    }
}

/* Channel c of noise(seed: seed, channels: C), or a constant. */
static double *ref_input(uint64_t seed, int C, int c, int N, double constant)
{
    double *x = wf_xmalloc(sizeof *x * (size_t)N);
    for (int n = 0; n < N; n++)
        x[n] = C ? ref_uniform(seed, (uint64_t)n * C + c) : constant;
    return x;
}

/* got [N x C] channel c against want, to atol relative to want's peak. */
static void check_channel(const char *what, const wf_real *got, int C, int c, const double *want,
                          int N, double atol)
{
    double peak = 0;
    for (int n = 0; n < N; n++)
        peak = fmax(peak, fabs(want[n]));
    assert_true(peak > 0);
    for (int n = 0; n < N; n++)
        if (fabs(got[(size_t)n * C + c] - want[n]) > atol * peak)
            fail_msg("%s: sample %d channel %d is %.9g, want %.9g", what, n, c,
                     got[(size_t)n * C + c], want[n]);
}

/* Both FFT backends (KissFFT is the reference, FFTW the default). */
static const wf_fft_backend fx_backends[2] = {WF_FFT_FFTW, WF_FFT_KISS};

static int fx_use_backend(int i)
{
    return wf_fft_set_backend(fx_backends[i]) == 0;
}

/* Per-frame bands (9 of them, and W2's 65 with filters longer than a hop),
 * two channels, a last frame cut short; constant bands; a constant x. */
static void test_filtered_noise(void **state)
{
    (void)state;
    wf_fft_backend keep = wf_fft_get_backend();
    static const struct {
        int B, C, N;
    } cases[] = {{9, 2, 1000}, {65, 1, 2000}, {3, 1, 700}};
    for (int be = 0; be < 2; be++) {
        if (!fx_use_backend(be))
            continue;
        for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
            int B = cases[t].B, C = cases[t].C, N = cases[t].N;
            char text[200];
            snprintf(text, sizeof text,
                     "rate 16000\nframes 250 hz\nparam m[%d] = 0 per frame\n"
                     "out filtered_noise(noise(seed: 3, channels: %d), m)\n",
                     B, C);
            wf_run r;
            wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
            wf_param *m = wf_run_param(&r, "m");
            for (size_t i = 0; i < wf_param_len(m); i++)
                m->value[i] = (wf_real)(0.5 + 0.5 * ref_uniform(9, i));
            const wf_real *y = wf_prog_forward(r.prog);
            assert_int_equal(r.chans, C);
            double *want = wf_xmalloc(sizeof *want * (size_t)N);
            for (int c = 0; c < C; c++) {
                double *x = ref_input(3, C, c, N, 0);
                ref_filtered_noise(x, N, m->value, m->rows, B, 64, (2 * B - 3) / 2 - 1 /* D */,
                                   want);
                check_channel(text, y, C, c, want, N, 1e-6);
                free(x);
            }
            free(want);
            wf_run_close(&r);
        }

        /* one filter for the whole run, on noise and on a constant */
        static const wf_real mc[5] = {1, 0.5, 0.25, 0.5, 1};
        const char *texts[2] = {
            "rate 16000\nout filtered_noise(noise(seed: 4), [1, 0.5, 0.25, 0.5, 1])\n",
            "rate 16000\nout filtered_noise(0.5, [1, 0.5, 0.25, 0.5, 1])\n"};
        for (int i = 0; i < 2; i++) {
            wf_run r;
            const int N = 900;
            const wf_real *y = wf_run_whole(&r, texts[i], N);
            double *x = ref_input(4, 1 - i, 0, N, 0.5), *want = wf_xmalloc(sizeof *want * N);
            ref_filtered_noise(x, N, mc, 1, 5, r.env.hop, 2, want);
            check_channel(texts[i], y, 1, 0, want, N, 1e-6);
            free(want);
            free(x);
            wf_run_close(&r);
        }
    }
    wf_fft_set_backend(keep);

    /* A flat response is a delay of two samples: DDSP's compensation,
     * (L - 1) div 2 - 1, stops two short of the filter's centre L/2. */
    wf_run r;
    const int N = 3000;
    const wf_real *y = wf_run_whole(
        &r, "rate 16000\nframes 250 hz\nparam m[65] = 1\nout filtered_noise(noise(seed: 5), m)\n",
        N);
    for (int n = 0; n < N; n++)
        assert_close(y[n], n < 2 ? 0 : ref_uniform(5, (uint64_t)n - 2), 0, 1e-6);
    wf_run_close(&r);
}

/* Streams equal whole passes: the filters read ahead, and the executor gives
 * them the lookahead they declare, with noise and a param (free) or a
 * streamed input (whose latency it must take back) as x, and the filter
 * followed by a delay and a reverb reading it later. */
static void test_filtered_noise_stream(void **state)
{
    (void)state;
    const char *texts[] = {
        "rate 16000\nframes 250 hz\nparam m[65] = 1 per frame\n"
        "out filtered_noise(noise(seed: 6), m)\n",
        "rate 16000\nframes 250 hz\ninput x\nparam m[9] = 1 per frame\nparam ir[700] = 0.01\n"
        "f = filtered_noise(x, m)\nout reverb(f, ir) + delay(f, 2 ms) + 0.5 * x\n",
    };
    const int64_t N = 6000;
    wf_real *data = wf_xcalloc((size_t)N, sizeof(wf_real));
    for (int64_t i = 0; i < N; i++)
        data[i] = (wf_real)sin(0.002 * (double)i * (double)i);
    const int blocks[] = {64, 640, 1280};
    for (int t = 0; t < 2; t++) {
        wf_run w;
        wf_run_open(&w, texts[t], N, WF_RUN_WHOLE, 0);
        for (int f = 0; f < w.ps.v[0].rows * w.ps.v[0].cols; f++)
            w.ps.v[0].value[f] = (wf_real)(0.5 + 0.4 * sin(0.37 * f));
        if (t == 1)
            wf_prog_set_input(w.prog, 0, 0, data);
        const wf_real *y = wf_prog_forward(w.prog);
        for (int b = 0; b < 3; b++) {
            wf_run s;
            wf_run_open(&s, texts[t], N, WF_RUN_STREAM, blocks[b]);
            memcpy(s.ps.v[0].value, w.ps.v[0].value, sizeof(wf_real) * (size_t)(w.ps.v[0].rows * w.ps.v[0].cols));
            if (t == 1)
                wf_prog_set_input(s.prog, 0, 0, data);
            wf_real *z = wf_run_collect(&s, blocks[b]);
            for (int64_t i = 0; i < N; i++)
                if (fabs(z[i] - y[i]) > 2e-6 * (1 + fabs(y[i])))
                    fail_msg("patch %d, blocks of %d: sample %lld: %.9g streamed, %.9g whole", t,
                             blocks[b], (long long)i, z[i], y[i]);
            free(z);
            wf_run_close(&s);
        }
        wf_run_close(&w);
    }
    free(data);
}

/* Direct convolution: an IR of 300 taps on two channels, one of 5000 taps
 * (several partitions), one longer than the run, a constant x, and a short
 * IR written as a vector. */
static void test_reverb(void **state)
{
    (void)state;
    wf_fft_backend keep = wf_fft_get_backend();
    static const struct {
        int M, C, N;
    } cases[] = {{300, 2, 3000}, {5000, 1, 9000}, {2000, 1, 1000}, {700, 0, 1500}};
    for (int be = 0; be < 2; be++) {
        if (!fx_use_backend(be))
            continue;
        for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
            int M = cases[t].M, C = cases[t].C, N = cases[t].N;
            char text[200];
            if (C)
                snprintf(
                    text, sizeof text,
                    "rate 16000\nparam h[%d] = 0\nout reverb(noise(seed: 7, channels: %d), h)\n", M,
                    C);
            else
                snprintf(text, sizeof text, "rate 16000\nparam h[%d] = 0\nout reverb(0.5, h)\n", M);
            wf_run r;
            wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
            wf_param *h = wf_run_param(&r, "h");
            for (int m = 0; m < M; m++)
                h->value[m] = (wf_real)(ref_uniform(8, (uint64_t)m) * exp(-m / 500.0));
            const wf_real *y = wf_prog_forward(r.prog);
            double *want = wf_xmalloc(sizeof *want * (size_t)N);
            for (int c = 0; c < (C ? C : 1); c++) {
                double *x = ref_input(7, C, c, N, 0.5);
                ref_convolve(x, N, h->value, M, want);
                check_channel(text, y, C ? C : 1, c, want, N, 2e-6);
                free(x);
            }
            free(want);
            wf_run_close(&r);
        }
    }
    wf_fft_set_backend(keep);

    wf_run r;
    const int N = 500;
    const wf_real *y = wf_run_whole(&r, "rate 16000\nout reverb(noise(seed: 9), [1, 0, 0.5])\n", N);
    for (int n = 0; n < N; n++)
        assert_close(y[n],
                     ref_uniform(9, (uint64_t)n) +
                         (n >= 2 ? 0.5 * ref_uniform(9, (uint64_t)n - 2) : 0),
                     0, 1e-6);
    wf_run_close(&r);
}

/* A stream keeps the last input spectra and samples, with partitions that
 * divide its block (6400 samples: 3200), and equals the whole pass. */
static void test_reverb_stream(void **state)
{
    (void)state;
    static const int blocks[4] = {64, 192, 640, 6400};
    const char *text = "rate 16000\nframes 250 hz\nparam h[5000] = 0\n"
                       "out reverb(noise(seed: 11, channels: 2), h)\n";
    const int N = 20000;
    wf_real *whole = NULL;
    for (int b = -1; b < 4; b++) {
        wf_run r;
        wf_run_open(&r, text, N, b < 0 ? WF_RUN_WHOLE : WF_RUN_STREAM, b < 0 ? 0 : blocks[b]);
        wf_param *h = wf_run_param(&r, "h");
        for (int m = 0; m < 5000; m++)
            h->value[m] = (wf_real)(ref_uniform(12, (uint64_t)m) * exp(-m / 1000.0));
        if (b < 0) {
            whole = wf_xmalloc(sizeof(wf_real) * 2 * N);
            memcpy(whole, wf_prog_forward(r.prog), sizeof(wf_real) * 2 * N);
        } else {
            wf_real *y = wf_run_collect(&r, blocks[b]);
            for (int i = 0; i < 2 * N; i++)
                if (fabs(y[i] - whole[i]) > 2e-5)
                    fail_msg("blocks of %d: sample %d channel %d is %.9g, whole pass %.9g",
                             blocks[b], i / 2, i % 2, y[i], whole[i]);
            free(y);
        }
        wf_run_close(&r);
    }
    free(whole);
}

/* The backward kernels at the sizes of W2, which the registry's gradient
 * check (a few channels) cannot reach: filters longer than a hop, IRs of
 * several partitions. Both nodes are linear in each input, so for any
 * output weights w, <w, y> = <dL/dx, x> = <dL/dmags, mags> = <dL/dir, ir>
 * exactly, and float32 must agree to rounding. */
static void test_fx_adjoints(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int N;
    } cases[] = {
        {"rate 16000\nframes 250 hz\nparam x[2] = 0 per frame\nparam m[65] = 0 per frame\n"
         "out filtered_noise(x, m)\n",
         8000},
        {"rate 16000\nframes 250 hz\nparam x = 0\nparam m[9] = 0\nout filtered_noise(x, m)\n",
         3000},
        {"rate 16000\nframes 250 hz\nparam x[2] = 0 per frame\nparam m[5000] = 0\n"
         "out reverb(x, m)\n",
         12000},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        wf_run r;
        int N = cases[t].N;
        wf_run_open(&r, cases[t].text, N, WF_RUN_GRAD, 0);
        for (int i = 0; i < r.ps.n; i++) {
            wf_param *p = &r.ps.v[i];
            for (size_t j = 0; j < wf_param_len(p); j++)
                p->value[j] =
                    (wf_real)(ref_uniform(20 + (uint64_t)i, j) * (i ? 0.5 : 1) + (i ? 0.5 : 0));
        }
        size_t len = (size_t)N * r.chans;
        wf_real *w = wf_xmalloc(sizeof *w * len);
        for (size_t j = 0; j < len; j++)
            w[j] = ref_uniform(30, j);
        wf_run_check_linear(&r, w, len, 1e-4, cases[t].text);
        free(w);
        wf_run_close(&r);
    }
}

/* ----------------------------------------------------------------- math */

typedef double (*fn1)(double);

static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double ref_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double ref_exp_sigmoid(double x) { return 2 * pow(ref_sigmoid(x), log(10)) + 1e-7; }
static double ref_db(double x) { return pow(10, x / 20); }
static double ref_todb(double x) { return 20 * log10(fmax(fabs(x), 1e-7)); }
static double ref_clamp01(double x) { return fmin(fmax(x, 0), 1); }
static double ref_neg(double x) { return -x; }

/* Runs `out NAME(x)` for a constant vector x of n values; y[c] is the node's
 * value at x[c]. */
static void check_math1(const char *call, const double *xs, int n, fn1 ref, double rtol,
                        double atol)
{
    char text[200];
    snprintf(text, sizeof text, "param x[%d] = 0\nout %s\n", n, call);
    wf_run r;
    wf_run_open(&r, text, 2, WF_RUN_WHOLE, 0);
    wf_param *p = wf_run_param(&r, "x");
    for (int i = 0; i < n; i++)
        p->value[i] = (wf_real)xs[i];
    const wf_real *y = wf_prog_forward(r.prog);
    assert_int_equal(r.chans, n);
    for (int i = 0; i < n; i++) {
        double want = ref((double)p->value[i]);
        double err = fabs(y[i] - want);
        if (!(err <= atol + rtol * fabs(want)) && !(isinf(want) && y[i] == want))
            fail_msg("%s at x = %.9g: got %.9g, want %.9g", call, (double)p->value[i], y[i], want);
        assert_true(y[n + i] == y[i]); /* a constant holds over the samples */
    }
    wf_run_close(&r);
}

/* Values from lo to hi in n steps, plus the extremes the caller adds. */
static int spread(double *xs, double lo, double hi, int n)
{
    for (int i = 0; i < n; i++)
        xs[i] = lo + (hi - lo) * i / (n - 1);
    return n;
}

static void test_math_unary(void **state)
{
    (void)state;
    double xs[300];
    int n = spread(xs, -30, 30, 241);
    check_math1("exp(x)", xs, n, exp, 2e-6, 0);
    check_math1("tanh(x)", xs, n, tanh, 2e-6, 1e-7);
    check_math1("abs(x)", xs, n, fabs, 0, 0);
    check_math1("-x", xs, n, ref_neg, 0, 0);
    check_math1("clamp(x)", xs, n, ref_clamp01, 0, 0);
    n = spread(xs, -100, 100, 201);
    check_math1("sigmoid(x)", xs, n, ref_sigmoid, 2e-6, 1e-37);
    check_math1("exp_sigmoid(x)", xs, n, ref_exp_sigmoid, 3e-6, 1e-12);
    xs[n++] = -1e4;
    xs[n++] = 1e4;
    xs[n++] = 88.5;
    check_math1("softplus(x)", xs, n, ref_softplus, 2e-6, 1e-40);
    n = spread(xs, -20, 20, 161);
    check_math1("sin(x)", xs, n, sin, 0, 3e-6);
    check_math1("cos(x)", xs, n, cos, 0, 3e-6);
    n = spread(xs, -140, 40, 181);
    check_math1("db(x)", xs, n, ref_db, 2e-6, 0);
    n = 0;
    for (int e = -8; e <= 8; e++) {
        xs[n++] = pow(10, e) * 1.37;
        xs[n++] = -pow(10, e) * 0.71;
    }
    xs[n++] = 1;
    xs[n++] = 0; /* todb floors at -140 dB */
    check_math1("todb(x)", xs, n, ref_todb, 1e-6, 2e-5);
    n = 0;
    for (int e = -8; e <= 8; e++)
        xs[n++] = pow(10, e) * 1.37;
    xs[n++] = 1;
    xs[n++] = 0.999;
    check_math1("log(x)", xs, n, log, 2e-6, 2e-7);
    xs[n++] = 0;
    check_math1("sqrt(x)", xs, n, sqrt, 2e-6, 0);
}

/* DDSP's exp_sigmoid with its options: max sigmoid(x)^ln(exponent) + threshold. */
static double ref_exp_sigmoid_opts(double x) { return 3 * pow(ref_sigmoid(x), log(2)) + 0.01; }

/* Two-input maths over every pair of a few values, with a scalar on either
 * side; clamp with signal limits. */
static void test_math_binary(void **state)
{
    (void)state;
    double xs[40];
    int n = spread(xs, -6, 6, 25);
    check_math1("exp_sigmoid(x, exponent: 2, max: 3, threshold: 0.01)", xs, n, ref_exp_sigmoid_opts,
                3e-6, 0);

    static const double va[6] = {0.3, 1, 2.5, 7, 0.01, 40};
    static const double vb[6] = {-2, -0.5, 0, 0.5, 1.5, 3};
    static const char *const exprs[] = {"pow(a, b)", "min(a, b)", "max(a, b)", "pow(a, 2)",
                                        "pow(2, b)", "min(a, 1)", "max(0, b)",
                                        "clamp(b, lo: -a, hi: a)"};
    for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
        char text[200];
        snprintf(text, sizeof text, "param a[36] = 0\nparam b[36] = 0\nout %s\n", exprs[e]);
        wf_run r;
        wf_run_open(&r, text, 1, WF_RUN_WHOLE, 0);
        wf_param *pa = wf_run_param(&r, "a"), *pb = wf_run_param(&r, "b");
        for (int i = 0; i < 36; i++) {
            pa->value[i] = (wf_real)va[i / 6];
            pb->value[i] = (wf_real)vb[i % 6];
        }
        const wf_real *y = wf_prog_forward(r.prog);
        assert_int_equal(r.chans, 36);
        for (int i = 0; i < 36; i++) {
            double a = pa->value[i], b = pb->value[i], want = 0;
            switch (e) {
            case 0: want = pow(a, b); break;
            case 1: want = fmin(a, b); break;
            case 2: want = fmax(a, b); break;
            case 3: want = a * a; break;
            case 4: want = pow(2, b); break;
            case 5: want = fmin(a, 1); break;
            case 6: want = fmax(0, b); break;
            case 7: want = fmin(fmax(b, -a), a); break;
            }
            if (fabs(y[i] - want) > 2e-6 * fabs(want) + 1e-7)
                fail_msg("%s at a = %g, b = %g: got %.9g, want %.9g", exprs[e], a, b, y[i], want);
        }
        wf_run_close(&r);
    }
}

/* The same maths on an audio-rate signal. */
static void test_math_audio(void **state)
{
    (void)state;
    wf_run r;
    const int N = 3000;
    const wf_real *y = wf_run_whole(&r, "out [exp(3 * noise(seed: 1)), tanh(3 * noise(seed: 1))]\n", N);
    assert_int_equal(wf_run_uses(&r, "exp"), 1);
    for (int n = 0; n < N; n++) {
        double x = (float)(3 * ref_uniform(1, (uint64_t)n));
        assert_close(y[2 * n], exp(x), 2e-6, 0);
        assert_close(y[2 * n + 1], tanh(x), 2e-6, 1e-7);
    }
    wf_run_close(&r);
}

/* ----------------------------------------------------------- arithmetic */

/* Every operator with broadcasting between constants, control and audio
 * rates and between 1 and N channels. */
static void test_arith(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *kind;
        int chans;
    } cases[] = {
        {"x * a", "mul", 3},     /* audio x1 by constant x3 */
        {"a - X", "sub", 3},     /* constant x3 minus audio x3 */
        {"X / (a + 4)", "div", 3},
        {"X + x", "add", 3},     /* audio x3 plus audio x1 */
        {"-X", "neg", 3},
        {"Y + b", "add", 2},     /* control x1 meets audio x2 */
        {"Y * p", "mul", 2},     /* control x2 by audio x2 */
        {"p * b", "mul", 2},     /* control by control, then interpolated */
        {"a * a", "mul", 3},     /* constant by constant */
        {"2 / x", "div", 1},
        {"X / 64", "div", 3},    /* by a power of two: the reciprocal's multiply */
        {"X / -3", "div", 3},
    };
    const char *prelude = "rate 16000\nframes 250 hz\nparam a[3] = [0.5, -2, 3]\n"
                          "param b = 0 per frame\nparam p[2] = 0 per frame\n"
                          "x = noise(seed: 4)\nX = noise(seed: 5, channels: 3)\n"
                          "Y = noise(seed: 6, channels: 2)\n";
    const int N = 1000;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char text[600];
        snprintf(text, sizeof text, "%sout %s\n", prelude, cases[t].expr);
        wf_run r;
        wf_run_open(&r, text, N, WF_RUN_WHOLE, 0);
        assert_int_equal(r.chans, cases[t].chans);
        assert_true(wf_run_uses(&r, cases[t].kind) >= 1);
        wf_param *pb = wf_run_param(&r, "b"), *pp = wf_run_param(&r, "p");
        int F = pb->rows, hop = r.env.hop;
        for (int i = 0; i < F; i++) {
            pb->value[i] = (wf_real)(0.1 * i - 0.5);
            pp->value[2 * i] = (wf_real)sin(i);
            pp->value[2 * i + 1] = (wf_real)(1 + i);
        }
        wf_real pbv[64];
        for (int i = 0; i < F; i++)
            for (int c = 0; c < 2; c++)
                pbv[2 * i + c] = pp->value[2 * i + c] * pb->value[i];
        const wf_real *y = wf_prog_forward(r.prog);
        static const double a[3] = {0.5, -2, 3};
        for (int n = 0; n < N; n++)
            for (int c = 0; c < cases[t].chans; c++) {
                /* c is a channel of every operand of the case's expression */
                double x = ref_uniform(4, (uint64_t)n);
                double X = ref_uniform(5, (uint64_t)(3 * n + c));
                double Y = ref_uniform(6, (uint64_t)(2 * n + c));
                double want = 0;
                switch (t) {
                case 0: want = x * a[c]; break;
                case 1: want = a[c] - X; break;
                case 2: want = X / (a[c] + 4); break;
                case 3: want = X + x; break;
                case 4: want = -X; break;
                case 5: want = Y + ref_interp(pb->value, F, 1, 0, hop, n); break;
                case 6: want = Y * ref_interp(pp->value, F, 2, c, hop, n); break;
                case 7: want = ref_interp(pbv, F, 2, c, hop, n); break;
                case 8: want = a[c] * a[c]; break;
                case 9: want = 2 / x; break;
                case 10: want = X / 64; break;
                case 11: want = X / -3; break;
                }
                double got = y[n * cases[t].chans + c];
                if (fabs(got - want) > 1e-6 * (1 + fabs(want)))
                    fail_msg("%s: sample %d channel %d is %.9g, want %.9g", cases[t].expr, n, c, got, want);
            }
        wf_run_close(&r);
    }
}

/* ------------------------------------------------------------- channels */

static void test_mix(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "out mix(noise(seed: 3, channels: 4))\n", 1000);
    assert_int_equal(r.chans, 1);
    for (int n = 0; n < 1000; n++) {
        double want = 0;
        for (int c = 0; c < 4; c++)
            want += ref_uniform(3, (uint64_t)(4 * n + c));
        assert_close(y[n], want, 0, 1e-6);
    }
    wf_run_close(&r);
}

static void test_concat(void **state)
{
    (void)state;
    wf_run r;
    const int N = 700;
    wf_run_open(&r,
                "rate 16000\nframes 250 hz\nparam b = 0 per frame\n"
                "out concat(noise(seed: 3, channels: 2), [5, 6], b, sine(1 khz))\n",
                N, WF_RUN_WHOLE, 0);
    assert_int_equal(r.chans, 6);
    wf_param *pb = wf_run_param(&r, "b");
    for (int i = 0; i < pb->rows; i++)
        pb->value[i] = (wf_real)(i * i);
    const wf_real *y = wf_prog_forward(r.prog);
    for (int n = 0; n < N; n++) {
        const wf_real *row = y + 6 * n;
        assert_true(row[0] == ref_uniform(3, (uint64_t)(2 * n)));
        assert_true(row[1] == ref_uniform(3, (uint64_t)(2 * n + 1)));
        assert_true(row[2] == 5 && row[3] == 6);
        assert_close(row[4], ref_interp(pb->value, pb->rows, 1, 0, r.env.hop, n), 1e-6, 1e-6);
        assert_close(row[5], sin(2 * PI * exact_cycles(n, 1000, 16000)), 0, 2e-6);
    }
    wf_run_close(&r);
}

static void test_pick(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "out pick(noise(seed: 3, channels: 4), [3, 1, 3])\n", 500);
    assert_int_equal(r.chans, 3);
    for (int n = 0; n < 500; n++) {
        assert_true(y[3 * n] == ref_uniform(3, (uint64_t)(4 * n + 3)));
        assert_true(y[3 * n + 1] == ref_uniform(3, (uint64_t)(4 * n + 1)));
        assert_true(y[3 * n + 2] == y[3 * n]);
    }
    wf_run_close(&r);

    y = wf_run_whole(&r, "out pick(range(5, start: 10), 2)\n", 3);
    assert_int_equal(r.chans, 1);
    assert_true(y[0] == 12 && y[2] == 12);
    wf_run_close(&r);
}

static void test_range(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "out range(4, start: 1, step: 0.5)\n", 3);
    /* range takes only numbers, so the compiler folds it into a constant */
    assert_true(wf_run_uses(&r, "range") == 0);
    assert_true(wf_run_uses(&r, "const") >= 1);
    assert_int_equal(r.chans, 4);
    for (int n = 0; n < 3; n++)
        for (int c = 0; c < 4; c++)
            assert_true(y[4 * n + c] == 1 + 0.5f * c);
    wf_run_close(&r);

    y = wf_run_whole(&r, "out range(3)\n", 1);
    assert_int_equal(r.chans, 3);
    assert_true(y[0] == 0 && y[1] == 1 && y[2] == 2);
    wf_run_close(&r);
}

/* ---------------------------------------------------------------- rates */

/* upsample is bench/WORKLOADS.md 0.3 exactly, including the held last frame, for a
 * length that is a whole number of frames and one that is not. */
static void test_upsample(void **state)
{
    (void)state;
    static const int lengths[2] = {1024, 1000};
    for (int l = 0; l < 2; l++) {
        wf_run r;
        int N = lengths[l];
        wf_run_open(&r, "rate 16000\nframes 250 hz\nparam v[2] = 0 per frame\nout upsample(v)\n", N,
                    WF_RUN_WHOLE, 0);
        assert_int_equal(wf_run_uses(&r, "upsample"), 1);
        wf_param *v = wf_run_param(&r, "v");
        int F = v->rows, hop = r.env.hop;
        assert_int_equal(hop, 64);
        assert_int_equal(F, 16);
        for (int i = 0; i < F; i++) {
            v->value[2 * i] = (wf_real)(i % 3) - 0.5f;
            v->value[2 * i + 1] = (wf_real)(100 + i * i);
        }
        const wf_real *y = wf_prog_forward(r.prog);
        for (int n = 0; n < N; n++)
            for (int c = 0; c < 2; c++) {
                int64_t i = n / hop;
                double t = (double)(n % hop) / hop;
                double want = v->value[2 * (i < F - 1 ? i : F - 1) + c] * (1 - t) +
                              v->value[2 * (i + 1 < F - 1 ? i + 1 : F - 1) + c] * t;
                assert_close(y[2 * n + c], want, 3e-7, 3e-7);
            }
        /* the last frame is held */
        for (int n = (F - 1) * hop; n < N; n++)
            assert_close(y[2 * n + 1], v->value[2 * (F - 1) + 1], 3e-7, 0);
        wf_run_close(&r);
    }

    /* a constant is held */
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "param k[2] = [3, -1]\nout upsample(k)\n", 10);
    for (int n = 0; n < 10; n++)
        assert_true(y[2 * n] == 3 && y[2 * n + 1] == -1);
    wf_run_close(&r);
}

/* downsample takes the mean of each hop (of what is left, for the last); the
 * frame values are read back at the first sample of each hop, where the
 * interpolation to audio gives them exactly. */
static void test_downsample(void **state)
{
    (void)state;
    wf_run r;
    const int N = 1000;
    const wf_real *y = wf_run_whole(
        &r, "rate 16000\nframes 250 hz\nout downsample(noise(seed: 5, channels: 2))\n", N);
    assert_int_equal(wf_run_uses(&r, "downsample"), 1);
    int hop = r.env.hop;
    for (int i = 0; i * hop < N; i++) {
        int s1 = (i + 1) * hop < N ? (i + 1) * hop : N;
        for (int c = 0; c < 2; c++) {
            double m = 0;
            for (int s = i * hop; s < s1; s++)
                m += ref_uniform(5, (uint64_t)(2 * s + c));
            m /= s1 - i * hop;
            assert_close(y[2 * i * hop + c], m, 1e-5, 1e-7);
        }
    }
    wf_run_close(&r);
}

/* --------------------------------------------------------- the registry */

typedef struct named_test {
    const char *name;
    CMUnitTestFunction fn;
} named_test;

#define T(f) {#f, f}
#define MAX_TESTS 6

/* ---------------------------------------------------------------- lanes */

/* Frames of voice v of a notes signal: freq, gate, vel and onset. */
static wf_real *voice_frames(int v, int frames)
{
    wf_real *x = wf_xcalloc((size_t)frames * 4, sizeof(wf_real));
    for (int f = 0; f < frames; f++) {
        x[4 * f] = (wf_real)(100 * (v + 1) + f);
        x[4 * f + 1] = (wf_real)((f + v) % 3 != 0);
        x[4 * f + 2] = (wf_real)(0.1 * (v + 1));
        x[4 * f + 3] = (wf_real)(f == v);
    }
    return x;
}

/* Lanes: each voice of a notes input runs the patch with its own frames;
 * lanes_sum and lanes_mean reduce them; the out sums them (a chord), which
 * equals the sum of one-voice renders, and streams of lanes equal whole
 * passes. */
static void test_lanes(void **state)
{
    (void)state;
    const int V = 3, N = 1600, frames = N / 64 + 1;
    const int voices[] = {V};
    wf_real *fr[3];
    for (int v = 0; v < V; v++)
        fr[v] = voice_frames(v, frames);
    wf_run r;
    wf_run_open_voices(&r, "rate 16000\nframes 250 hz\ninput notes = [c4 0 s 1 s]\n"
                           "out [lanes_sum(notes.freq), lanes_mean(notes.vel), lanes_sum(notes.gate)]\n",
                       N, WF_RUN_WHOLE, 0, voices);
    assert_int_equal(wf_prog_input_lanes(r.prog, 0), V);
    for (int v = 0; v < V; v++)
        wf_prog_set_input(r.prog, 0, v, fr[v]);
    const wf_real *y = wf_prog_forward(r.prog);
    for (int f = 0; f < frames - 1; f++) {
        const wf_real *o = y + (size_t)f * 64 * 3; /* frame f's first sample */
        double sf = 0, mv = 0, sg = 0;
        for (int v = 0; v < V; v++) {
            sf += fr[v][4 * f];
            mv += fr[v][4 * f + 2] / V;
            sg += fr[v][4 * f + 1];
        }
        assert_close(o[0], sf, 1e-6, 0);
        assert_close(o[1], mv, 1e-6, 1e-7);
        assert_close(o[2], sg, 0, 1e-6);
    }
    wf_run_close(&r);

    const char *text = "rate 16000\nframes 250 hz\ninput notes = \"x.mid\"\nparam a[4] = [1, 0.5, 0.2, 0.1]\n"
                       "out harmonic(notes.freq, a) * adsr(attack: 3 ms, gate: notes.gate) * notes.vel\n";
    wf_run all;
    wf_run_open_voices(&all, text, N, WF_RUN_WHOLE, 0, voices);
    for (int v = 0; v < V; v++)
        wf_prog_set_input(all.prog, 0, v, fr[v]);
    const wf_real *chord = wf_prog_forward(all.prog);
    wf_real *sum = wf_xcalloc((size_t)N, sizeof(wf_real));
    for (int v = 0; v < V; v++) {
        wf_run one;
        wf_run_open(&one, text, N, WF_RUN_WHOLE, 0);
        wf_prog_set_input(one.prog, 0, 0, fr[v]);
        const wf_real *yv = wf_prog_forward(one.prog);
        for (int i = 0; i < N; i++)
            sum[i] += yv[i];
        wf_run_close(&one);
    }
    for (int i = 0; i < N; i++)
        assert_close(chord[i], sum[i], 1e-5, 1e-6);
    const int blocks[] = {64, 320, 1024};
    for (int b = 0; b < 3; b++) {
        wf_run st;
        wf_run_open_voices(&st, text, N, WF_RUN_STREAM, blocks[b], voices);
        for (int v = 0; v < V; v++)
            wf_prog_set_input(st.prog, 0, v, fr[v]);
        wf_real *z = wf_run_collect(&st, blocks[b]);
        for (int i = 0; i < N; i++)
            assert_close(z[i], chord[i], 1e-6, 1e-7);
        free(z);
        wf_run_close(&st);
    }
    wf_run_close(&all);
    free(sum);
    for (int v = 0; v < V; v++)
        free(fr[v]);
}

/* Every kind of the registry and the tests of its forward values. */
static const struct {
    const char *kind;
    named_test tests[MAX_TESTS];
} coverage[] = {
    {"const", {T(test_const)}},
    {"add", {T(test_arith)}},
    {"sub", {T(test_arith)}},
    {"mul", {T(test_arith)}},
    {"div", {T(test_arith)}},
    {"neg", {T(test_arith), T(test_math_unary)}},
    {"exp", {T(test_math_unary), T(test_math_audio)}},
    {"log", {T(test_math_unary)}},
    {"sqrt", {T(test_math_unary)}},
    {"pow", {T(test_math_binary)}},
    {"sin", {T(test_math_unary)}},
    {"cos", {T(test_math_unary)}},
    {"tanh", {T(test_math_unary), T(test_math_audio)}},
    {"sigmoid", {T(test_math_unary)}},
    {"softplus", {T(test_math_unary)}},
    {"exp_sigmoid", {T(test_math_unary), T(test_math_binary)}},
    {"abs", {T(test_math_unary)}},
    {"clamp", {T(test_math_unary), T(test_math_binary)}},
    {"min", {T(test_math_binary)}},
    {"max", {T(test_math_binary)}},
    {"db", {T(test_math_unary)}},
    {"todb", {T(test_math_unary)}},
    {"sine", {T(test_sine), T(test_sine_exact_constants), T(test_sine_rotation), T(test_sine_retune), T(test_sine_fm), T(test_harmonic_no_drift)}},
    {"sines", {T(test_sine_banks)}},
    {"saw", {T(test_shapes_fourier), T(test_shapes_no_aliasing), T(test_shapes_waveform)}},
    {"square", {T(test_shapes_fourier), T(test_shapes_no_aliasing), T(test_shapes_waveform)}},
    {"triangle", {T(test_shapes_fourier), T(test_shapes_no_aliasing), T(test_shapes_waveform)}},
    {"harmonic",
     {T(test_harmonic_constant), T(test_harmonic_control), T(test_harmonic_many), T(test_harmonic_audio_f0),
      T(test_harmonic_inharmonic), T(test_harmonic_no_drift)}},
    {"noise", {T(test_noise)}},
    {"adsr", {T(test_adsr), T(test_envelope_gates)}},
    {"line", {T(test_line), T(test_shapes_fourier), T(test_delay), T(test_envelope_gates)}},
    {"decay", {T(test_decay), T(test_envelope_gates)}},
    {"delay", {T(test_delay), T(test_delay_stream)}},
    {"filtered_noise",
     {T(test_filtered_noise), T(test_filtered_noise_stream), T(test_fx_adjoints)}},
    {"reverb", {T(test_reverb), T(test_reverb_stream), T(test_fx_adjoints)}},
    {"fir",
     {T(test_fir_responses), T(test_fir_paths_agree), T(test_fir_per_frame), T(test_fir_stream),
      T(test_fir_adjoints)}},
    {"fir_tv", {T(test_fir_tv)}},
    {"allpole", {T(test_allpole_impulse), T(test_allpole_time_varying), T(test_allpole_faults)}},
    {"lpc", {T(test_lpc_step_up), T(test_lpc_stable), T(test_lpc_any_path)}},
    {"onepole", {T(test_onepole), T(test_filters_stream)}},
    {"smooth", {T(test_smooth), T(test_filters_stream)}},
    {"svf",
     {T(test_svf_response), T(test_svf_modes), T(test_svf_modulation_stable),
      T(test_filters_stream)}},
    {"comb", {T(test_comb), T(test_comb_fractional), T(test_comb_fault), T(test_filters_stream)}},
    {"allpass",
     {T(test_allpass), T(test_comb_fractional), T(test_comb_fault), T(test_filters_stream)}},
    {"iir", {T(test_iir_vs_sos), T(test_iir_stream), T(test_iir_faults), T(test_stable_a)}},
    {"sos", {T(test_iir_vs_sos), T(test_iir_stream), T(test_iir_faults)}},
    {"biquad",
     {T(test_biquad_magnitudes), T(test_biquad_impulse), T(test_iir_stream), T(test_iir_long_run),
      T(test_iir_faults)}},
    {"eq", {T(test_eq_magnitudes), T(test_eq_vs_biquads), T(test_eq_flat), T(test_eq_stream_faults)}},
    {"gain", {T(test_gain)}},
    {"distortion", {T(test_distortion_curves), T(test_distortion_gradients)}},
    {"waveshaper", {T(test_waveshaper)}},
    {"compressor",
     {T(test_dynamics_static_curve), T(test_dynamics_channels), T(test_dynamics_time_varying),
      T(test_dynamics_time_constants), T(test_dynamics_release_matters)}},
    {"limiter", {T(test_dynamics_static_curve), T(test_limiter_ceiling)}},
    {"expander",
     {T(test_dynamics_static_curve), T(test_dynamics_time_constants), T(test_gate_below_threshold)}},
    {"gate", {T(test_dynamics_static_curve), T(test_gate_below_threshold)}},
    {"fdn",
     {T(test_fdn_comb), T(test_fdn_impulse), T(test_fdn_gradients), T(test_fdn_stream),
      T(test_fdn_faults), T(test_room_is_fdn)}},
    {"room", {T(test_room_decay), T(test_room_is_fdn), T(test_room_mix)}},
    {"mix", {T(test_mix)}},
    {"concat", {T(test_concat), T(test_noise)}},
    {"pick", {T(test_pick)}},
    {"range", {T(test_range), T(test_pick)}},
    {"upsample", {T(test_upsample), T(test_sine_fm), T(test_arith)}},
    {"downsample", {T(test_downsample)}},
    {"lanes_sum", {T(test_lanes)}},
    {"lanes_mean", {T(test_lanes)}},
    {"vibrato",
     {T(test_vibrato_fixed_delay), T(test_vibrato_lfo), T(test_vibrato_sine), T(test_flanger_fault),
      T(test_modfx_stream)}},
    {"chorus",
     {T(test_vibrato_fixed_delay), T(test_vibrato_lfo), T(test_chorus_mix), T(test_flanger_fault),
      T(test_modfx_stream)}},
    {"flanger",
     {T(test_vibrato_fixed_delay), T(test_flanger_impulse), T(test_flanger_fault),
      T(test_modfx_stream)}},
    {"pan", {T(test_pan_law), T(test_modfx_stream)}},
    {"width", {T(test_width), T(test_modfx_stream)}},
    {"pitch",
     {T(test_pitch_tones), T(test_pitch_glide),
      T(test_pitch_unvoiced), T(test_pitch_recordings), T(test_pitch_stream),
      T(test_pitch_refusals)}},
    {"loudness", {T(test_loudness_sine), T(test_features_stream)}},
    {"rms", {T(test_rms_sine), T(test_features_stream)}},
    {"centroid", {T(test_centroid), T(test_features_stream)}},
    {"flatness", {T(test_flatness), T(test_features_stream)}},
    {"melspec", {T(test_melspec_bank), T(test_features_stream)}},
    {"mfcc", {T(test_mfcc_dct), T(test_features_stream)}},
    {"dense", {T(test_nn_dense_layers), T(test_nn_defaults)}},
    {"layernorm", {T(test_nn_dense_layers)}},
    {"relu", {T(test_nn_dense_layers)}},
    {"leaky_relu", {T(test_nn_dense_layers), T(test_nn_defaults)}},
    {"gelu", {T(test_nn_dense_layers)}},
    {"softmax", {T(test_nn_dense_layers), T(test_nn_defaults)}},
    {"conv1d", {T(test_nn_conv1d)}},
    {"gru", {T(test_nn_gru)}},
};

#define NCOVERAGE ((int)(sizeof coverage / sizeof coverage[0]))

/* Every public kind, and const, has a forward test; every name in the table
 * is a kind. */
static void test_every_kind_is_tested(void **state)
{
    (void)state;
    int missing = 0;
    for (int k = 0; k < WF_NODE_COUNT; k++) {
        const wf_node_kind *kind = wf_registry[k];
        if ((kind->flags & WF_KIND_INTERNAL) && k != WF_NODE_const)
            continue;
        int found = 0;
        for (int i = 0; i < NCOVERAGE; i++)
            found |= strcmp(coverage[i].kind, kind->name) == 0 && coverage[i].tests[0].fn;
        if (!found) {
            print_error("node kind '%s' has no forward test in tests/test_nodes.c\n", kind->name);
            missing++;
        }
    }
    for (int i = 0; i < NCOVERAGE; i++)
        if (wf_registry_find(coverage[i].kind) < 0) {
            print_error("'%s' in the table of tests is not a node kind\n", coverage[i].kind);
            missing++;
        }
    if (missing)
        fail_msg("%d node kinds without forward tests", missing);
}

int main(void)
{
    /* each test once, in the table's order */
    struct CMUnitTest tests[NCOVERAGE * MAX_TESTS + 1];
    int n = 0;
    tests[n++] = (struct CMUnitTest){"test_every_kind_is_tested", test_every_kind_is_tested, NULL,
                                     NULL, NULL};
    for (int i = 0; i < NCOVERAGE; i++)
        for (int j = 0; j < MAX_TESTS && coverage[i].tests[j].fn; j++) {
            int seen = 0;
            for (int q = 0; q < n; q++)
                seen |= tests[q].test_func == coverage[i].tests[j].fn;
            if (!seen)
                tests[n++] = (struct CMUnitTest){coverage[i].tests[j].name, coverage[i].tests[j].fn,
                                                 NULL, NULL, NULL};
        }
    return _cmocka_run_group_tests("nodes", tests, (size_t)n, NULL, NULL);
}
