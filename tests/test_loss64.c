/* Losses in double precision: values against a direct computation (a plain
 * DFT written out in the test, bench/WORKLOADS.md 0.2 to the letter) and gradients
 * against central finite differences, for l1, l2 and the multi-scale
 * spectral loss with default and custom sizes and weights, the log-mel
 * loss (against a torchaudio-style filter bank written out here) and the
 * loudness term (DDSP's compute_loudness written out). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/loss.h"
#include "runtime/rng.h"
#include "runtime/util.h"

#ifndef WF_REAL_DOUBLE
#error "this test needs the float64 build"
#endif

#define PI 3.14159265358979323846

/* The multi-scale spectral loss by its definition, with an O(n^2) DFT. */
static double mss_direct(const double *y, const double *t, int N, const int *sizes, int ns,
                         double wl, double wg)
{
    double total = 0;
    for (int s = 0; s < ns; s++) {
        int n = sizes[s], hop = n / 4, bins = n / 2 + 1;
        if (n > N)
            continue;
        int frames = (N - n) / hop + 1;
        double lin = 0, lg = 0;
        for (int m = 0; m < frames; m++)
            for (int f = 0; f < bins; f++) {
                double yr = 0, yi = 0, tr = 0, ti = 0;
                for (int j = 0; j < n; j++) {
                    double w = 0.5 - 0.5 * cos(2 * PI * j / n);
                    double c = cos(2 * PI * f * j / n), sn = sin(2 * PI * f * j / n);
                    yr += y[m * hop + j] * w * c;
                    yi -= y[m * hop + j] * w * sn;
                    tr += t[m * hop + j] * w * c;
                    ti -= t[m * hop + j] * w * sn;
                }
                double S = sqrt(yr * yr + yi * yi), T = sqrt(tr * tr + ti * ti);
                lin += fabs(S - T);
                lg += fabs(log(S + 1e-7) - log(T + 1e-7));
            }
        total += (wl * lin + wg * lg) / ((double)frames * bins);
    }
    return total;
}

static void signals(int N, double *y, double *t)
{
    for (int i = 0; i < N; i++) {
        /* a tone plus noise against a detuned tone plus other noise */
        y[i] = 0.5 * sin(2 * PI * 0.05 * i) + 0.1 * wf_uniform(1, (uint64_t)i);
        t[i] = 0.4 * sin(2 * PI * 0.061 * i) + 0.1 * wf_uniform(2, (uint64_t)i);
    }
}

static void check_value(const wf_loss_opts *o, int N, double want_direct)
{
    double *y = malloc(sizeof(double) * N), *t = malloc(sizeof(double) * N);
    signals(N, y, t);
    wf_diags d = {0};
    wf_loss *L = wf_loss_new(o, t, N, &d);
    assert_non_null(L);
    double got = wf_loss_eval(L, y, NULL);
    if (want_direct >= 0)
        assert_close(got, want_direct, 1e-9, 1e-12);
    wf_loss_free(L);
    free(y);
    free(t);
}

static void test_mss_value(void **state)
{
    (void)state;
    int N = 300;
    double *y = malloc(sizeof(double) * N), *t = malloc(sizeof(double) * N);
    signals(N, y, t);
    int sizes[] = {256, 128, 64, 16};
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_MSS;
    o.nsizes = 4;
    memcpy(o.sizes, sizes, sizeof sizes);
    check_value(&o, N, mss_direct(y, t, N, sizes, 4, 1, 1));
    o.lin_weight = 2;
    o.log_weight = 0.5;
    o.weights_given = 1;
    check_value(&o, N, mss_direct(y, t, N, sizes, 4, 2, 0.5));
    /* sizes longer than the signal are left out */
    int big[] = {512, 64};
    o.nsizes = 2;
    memcpy(o.sizes, big, sizeof big);
    o.weights_given = 0;
    check_value(&o, N, mss_direct(y, t, N, big + 1, 1, 1, 1));
    free(y);
    free(t);
}

static void test_mss_too_short(void **state)
{
    (void)state;
    double t[32] = {0};
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_MSS;
    wf_diags d = {0};
    assert_null(wf_loss_new(&o, t, 32, &d));
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(d.v[0].msg, "shorter than the smallest FFT size"));
    wf_diags_free(&d);
}

/* Centred frame m (every hop samples, zeros outside) of x, times the
 * periodic Hann window, and its power spectrum P[0 .. n/2] by a DFT. */
static void power_ref(const double *x, int N, int m, int hop, int n, double *P)
{
    for (int k = 0; k <= n / 2; k++) {
        double re = 0, im = 0;
        for (int j = 0; j < n; j++) {
            int t = m * hop - n / 2 + j;
            double u = (t >= 0 && t < N ? x[t] : 0) * (0.5 - 0.5 * cos(2 * PI * j / n));
            re += u * cos(2 * PI * (double)k * j / n);
            im -= u * sin(2 * PI * (double)k * j / n);
        }
        P[k] = re * re + im * im;
    }
}

/* torchaudio's melscale_fbanks (HTK, no norm), 0 Hz to the Nyquist. */
static double fbank(int b, int k, int B, int n, double rate)
{
    double m1 = 2595 * log10(1 + rate / 2 / 700), fp[3];
    for (int j = 0; j < 3; j++)
        fp[j] = 700 * (pow(10, m1 * (b + j) / (B + 1) / 2595) - 1);
    double f = k * rate / n;
    return fmax(0, fmin((f - fp[0]) / (fp[1] - fp[0]), (fp[2] - f) / (fp[2] - fp[1])));
}

static double mel_direct(const double *y, const double *t, int N, const int *sizes, int ns,
                         int B, double rate)
{
    double total = 0;
    for (int s = 0; s < ns; s++) {
        int n = sizes[s], hop = n / 4, frames = N / hop + 1;
        double *Py = malloc(sizeof(double) * (n / 2 + 1)), *Pt = malloc(sizeof(double) * (n / 2 + 1));
        double acc = 0;
        for (int m = 0; m < frames; m++) {
            power_ref(y, N, m, hop, n, Py);
            power_ref(t, N, m, hop, n, Pt);
            for (int b = 0; b < B; b++) {
                double My = 0, Mt = 0;
                for (int k = 0; k <= n / 2; k++) {
                    My += fbank(b, k, B, n, rate) * Py[k];
                    Mt += fbank(b, k, B, n, rate) * Pt[k];
                }
                double sc = 16.0 / ((double)n * n);
                acc += fabs(log(sc * My + 1e-7) - log(sc * Mt + 1e-7));
            }
        }
        total += acc / ((double)frames * B);
        free(Py);
        free(Pt);
    }
    return total;
}

/* librosa's A_weighting, and DDSP's loudness of centred frame m. */
static double a_weight(double f)
{
    if (f == 0)
        return -80;
    double f2 = f * f, c[4] = {12194.217, 20.598997, 107.65265, 737.86223};
    double a = 2.0 + 20.0 * (2 * log10(c[0]) + 2 * log10(f2) - log10(f2 + c[0] * c[0]) -
                             log10(f2 + c[1] * c[1]) - 0.5 * log10(f2 + c[2] * c[2]) -
                             0.5 * log10(f2 + c[3] * c[3]));
    return fmax(a, -80);
}

static double loudness_direct(const double *x, int N, int m, int hop, double rate)
{
    int n = 2048;
    double *P = malloc(sizeof(double) * (n / 2 + 1)), a = 0;
    power_ref(x, N, m, hop, n, P);
    for (int k = 0; k <= n / 2; k++)
        a += P[k] * pow(10, a_weight(k * rate / n) / 10);
    free(P);
    a /= n / 2 + 1;
    return fmax(10 * log10(fmax(a, 1e-8)), -80);
}

static void test_mel_value(void **state)
{
    (void)state;
    int N = 400, sizes[] = {256, 128};
    double *y = malloc(sizeof(double) * N), *t = malloc(sizeof(double) * N);
    signals(N, y, t);
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_MEL;
    o.nsizes = 2;
    memcpy(o.sizes, sizes, sizeof sizes);
    o.mel_bands = 8; /* every band holds bins at these sizes */
    o.rate = 16000;
    check_value(&o, N, mel_direct(y, t, N, sizes, 2, 8, 16000));
    free(y);
    free(t);
    /* long enough for the segments to be split across the cores */
    N = 9000;
    y = malloc(sizeof(double) * N);
    t = malloc(sizeof(double) * N);
    signals(N, y, t);
    check_value(&o, N, mel_direct(y, t, N, sizes, 2, 8, 16000));
    free(y);
    free(t);
}

static void test_loudness_term_value(void **state)
{
    (void)state;
    int N = 700, hop = 64;
    double *y = malloc(sizeof(double) * N), *t = malloc(sizeof(double) * N);
    signals(N, y, t);
    double want = 0;
    int frames = N / hop + 1;
    for (int m = 0; m < frames; m++)
        want += fabs(loudness_direct(y, N, m, hop, 16000) - loudness_direct(t, N, m, hop, 16000));
    want /= frames;
    /* alone (the spectral terms weighted 0), with weight 0.3 */
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_MSS;
    o.nsizes = 1;
    o.sizes[0] = 64;
    o.weights_given = 1;
    o.lin_weight = o.log_weight = 0;
    o.loudness_weight = 0.3;
    o.rate = 16000;
    o.hop = hop;
    check_value(&o, N, 0.3 * want);
    /* added to the L1 loss */
    double l1 = 0;
    for (int i = 0; i < N; i++)
        l1 += fabs(y[i] - t[i]);
    o.kind = WF_LOSS_L1;
    check_value(&o, N, l1 / N + 0.3 * want);
    /* a hop longer than half the 2048-point frame: frames 0 and 1 only */
    o.kind = WF_LOSS_MSS;
    o.hop = 1500;
    N = 2000;
    double *y2 = malloc(sizeof(double) * N), *t2 = malloc(sizeof(double) * N);
    signals(N, y2, t2);
    want = 0;
    for (int m = 0; m < 2; m++)
        want += fabs(loudness_direct(y2, N, m, 1500, 16000) - loudness_direct(t2, N, m, 1500, 16000));
    check_value(&o, N, 0.3 * want / 2);
    free(y2);
    free(t2);
    free(y);
    free(t);
}

static void test_feature_loss_settings(void **state)
{
    (void)state;
    double t[300] = {0};
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_MEL;
    wf_diags d = {0};
    assert_null(wf_loss_new(&o, t, 300, &d)); /* no rate */
    o.rate = 16000;
    o.mel_bands = 5000;
    assert_null(wf_loss_new(&o, t, 300, &d));
    assert_int_equal(d.errors, 2);
    assert_non_null(strstr(d.v[1].msg, "--mel-bands"));
    wf_diags_free(&d);
}

static void test_waveform_values(void **state)
{
    (void)state;
    int N = 100;
    double y[100], t[100], l1 = 0, l2 = 0;
    signals(N, y, t);
    for (int i = 0; i < N; i++) {
        l1 += fabs(y[i] - t[i]);
        l2 += (y[i] - t[i]) * (y[i] - t[i]);
    }
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_L1;
    check_value(&o, N, l1 / N);
    o.kind = WF_LOSS_L2;
    check_value(&o, N, l2 / N);
}

static void check_gradient_with(wf_loss_opts o, int N, const int *sizes, int ns)
{
    double *y = malloc(sizeof(double) * N), *t = malloc(sizeof(double) * N);
    double *dy = malloc(sizeof(double) * N);
    signals(N, y, t);
    o.nsizes = ns;
    if (ns)
        memcpy(o.sizes, sizes, sizeof(int) * ns);
    wf_diags d = {0};
    wf_loss *L = wf_loss_new(&o, t, N, &d);
    assert_non_null(L);
    wf_loss_eval(L, y, dy);
    double scale = 0;
    for (int i = 0; i < N; i++)
        scale = fmax(scale, fabs(dy[i]));
    assert_true(scale > 0);
    for (int i = 0; i < N; i += 7) {
        double x = y[i], h = 1e-7;
        y[i] = x + h;
        double lp = wf_loss_eval(L, y, NULL);
        y[i] = x - h;
        double lm = wf_loss_eval(L, y, NULL);
        y[i] = x;
        assert_close(dy[i], (lp - lm) / (2 * h), 1e-5, 1e-6 * scale);
    }
    wf_loss_free(L);
    free(y);
    free(t);
    free(dy);
}

static void check_gradient(wf_loss_kind kind, int N, const int *sizes, int ns)
{
    wf_loss_opts o = {0};
    o.kind = kind;
    check_gradient_with(o, N, sizes, ns);
}

static void test_feature_loss_gradients(void **state)
{
    (void)state;
    int sizes[] = {256, 128, 64};
    wf_loss_opts o = {0};
    o.kind = WF_LOSS_MEL;
    o.rate = 16000;
    o.mel_bands = 16;
    check_gradient_with(o, 700, sizes, 3);
    o.mel_bands = 0; /* 64 bands: some narrower than a bin, interpolated */
    check_gradient_with(o, 3000, NULL, 0);
    /* the loudness term, alone and on top of the spectral loss */
    wf_loss_opts l = {0};
    l.kind = WF_LOSS_MSS;
    l.rate = 16000;
    l.hop = 64;
    l.loudness_weight = 0.5;
    l.weights_given = 1;
    check_gradient_with(l, 900, sizes, 3);
    l.lin_weight = l.log_weight = 1;
    check_gradient_with(l, 900, sizes, 3);
    check_gradient_with(l, 6000, sizes, 3); /* segments on both cores */
}

static void test_mss_gradient(void **state)
{
    (void)state;
    int sizes[] = {256, 128, 64, 16};
    check_gradient(WF_LOSS_MSS, 700, sizes, 4);
    check_gradient(WF_LOSS_MSS, 3000, NULL, 0);
}

static void test_waveform_gradients(void **state)
{
    (void)state;
    check_gradient(WF_LOSS_L1, 200, NULL, 0);
    check_gradient(WF_LOSS_L2, 200, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mss_value),       cmocka_unit_test(test_mss_too_short),
        cmocka_unit_test(test_waveform_values), cmocka_unit_test(test_mss_gradient),
        cmocka_unit_test(test_waveform_gradients),
        cmocka_unit_test(test_mel_value),       cmocka_unit_test(test_loudness_term_value),
        cmocka_unit_test(test_feature_loss_settings), cmocka_unit_test(test_feature_loss_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
