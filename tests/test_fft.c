/* The real transforms of runtime/fft.h against a float64 DFT computed here:
 * both backends, sizes with n/2 even and odd (FFTW's side splits a real
 * transform into a complex one of n/2 points), batches, arrays at every
 * offset a float can have from the SIMD alignment (a plan is only valid on
 * arrays aligned as the ones it was made on), the inverse ignoring the
 * imaginary parts of the first and last bins, and the plan handle giving
 * what the one-call interface gives. Built for both precisions. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/fft.h"
#include "runtime/rng.h"
#include "runtime/util.h"

#define PI 3.14159265358979323846

static const int sizes[] = {2, 4, 6, 10, 16, 18, 30, 64, 66, 130, 256, 1000, 2048};
static const wf_fft_backend backends[2] = {WF_FFT_FFTW, WF_FFT_KISS};

#ifdef WF_REAL_DOUBLE
#define EPS 1e-15
#else
#define EPS 1.2e-7
#endif

static double uniform(uint64_t seed, uint64_t i)
{
    return 2.0 * wf_uniform(seed, i) - 1.0;
}

/* The allowed error of a transform of n points of a signal of energy e. */
static double allowed(int n, double e)
{
    return 4 * EPS * log2((double)n + 1) * sqrt(e);
}

/* Each backend built in, in turn; returns 0 after the last. */
static int next_backend(int *i)
{
    while (*i < 2)
        if (wf_fft_set_backend(backends[(*i)++]) == 0)
            return 1;
    return 0;
}

/* check(n, count, off, s) with each backend built in, each size (s its
 * index), batches of 1 and 3 frames and the arrays at float offsets 0-7. */
static void each_case(void (*check)(int n, int count, int off, size_t s))
{
    wf_fft_backend keep = wf_fft_get_backend();
    int be = 0;
    while (next_backend(&be))
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int count = 1; count <= 3; count += 2)
                for (int off = 0; off < 8; off++)
                    check(sizes[s], count, off, s);
    wf_fft_set_backend(keep);
}

static void check_forward(int n, int count, int off, size_t s)
{
    int bins = n / 2 + 1;
    wf_real *buf = wf_xmalloc(sizeof(wf_real) * ((size_t)n * count + 8));
    wf_real *x = buf + off;
    wf_real *X = wf_xmalloc(sizeof(wf_real) * (2 * (size_t)bins * count + 8));
    wf_real *Xo = X + (off + 3) % 8;
    for (int i = 0; i < n * count; i++)
        x[i] = (wf_real)uniform(s, (uint64_t)i);
    wf_fft_r2c(n, count, x, Xo);
    for (int f = 0; f < count; f++) {
        const wf_real *xf = x + (size_t)f * n;
        double e = 0;
        for (int j = 0; j < n; j++)
            e += (double)xf[j] * xf[j];
        for (int k = 0; k < bins; k++) {
            double re = 0, im = 0;
            for (int j = 0; j < n; j++) {
                double a = -2 * PI * (double)((int64_t)k * j % n) / n;
                re += xf[j] * cos(a);
                im += xf[j] * sin(a);
            }
            const wf_real *got = Xo + 2 * ((size_t)f * bins + k);
            if (fabs(got[0] - re) > allowed(n, e) || fabs(got[1] - im) > allowed(n, e))
                fail_msg("%s n %d count %d offset %d frame %d bin %d: %.9g%+.9gi, want %.9g%+.9gi",
                         wf_fft_backends(), n, count, off, f, k, (double)got[0], (double)got[1], re,
                         im);
        }
    }
    free(buf);
    free(X);
}

/* The unnormalised inverse of a half spectrum whose first and last bins
 * carry imaginary parts that a real inverse must ignore. */
static void check_inverse(int n, int count, int off, size_t s)
{
    int bins = n / 2 + 1;
    wf_real *X = wf_xmalloc(sizeof(wf_real) * (2 * (size_t)bins * count + 8));
    wf_real *Xo = X + (off + 5) % 8;
    wf_real *keepX = wf_xmalloc(sizeof(wf_real) * 2 * (size_t)bins * count);
    wf_real *buf = wf_xmalloc(sizeof(wf_real) * ((size_t)n * count + 8));
    wf_real *x = buf + off;
    for (int i = 0; i < 2 * bins * count; i++)
        keepX[i] = Xo[i] = (wf_real)uniform(100 + s, (uint64_t)i);
    wf_fft_c2r(n, count, Xo, x);
    for (int f = 0; f < count; f++) {
        const wf_real *Xf = keepX + (size_t)f * 2 * bins;
        double e = 0;
        for (int k = 0; k < bins; k++)
            e += (double)Xf[2 * k] * Xf[2 * k] + (double)Xf[2 * k + 1] * Xf[2 * k + 1];
        e *= 2 * n;
        for (int j = 0; j < n; j++) {
            double want = Xf[0] + (j % 2 ? -1 : 1) * (double)Xf[2 * (bins - 1)];
            for (int k = 1; k < bins - 1; k++) {
                double a = 2 * PI * (double)((int64_t)k * j % n) / n;
                want += 2 * (Xf[2 * k] * cos(a) - Xf[2 * k + 1] * sin(a));
            }
            double got = x[(size_t)f * n + j];
            if (fabs(got - want) > allowed(n, e))
                fail_msg("%s n %d count %d offset %d frame %d sample %d: %.9g, want %.9g",
                         wf_fft_backends(), n, count, off, f, j, got, want);
        }
    }
    free(X);
    free(keepX);
    free(buf);
}

static void test_forward(void **state)
{
    (void)state;
    each_case(check_forward);
}

static void test_inverse(void **state)
{
    (void)state;
    each_case(check_inverse);
}

/* A fetched plan executed frame by frame gives the batched call's result
 * bit for bit, and c2r(r2c(x)) = n x. */
static void test_plan_and_round_trip(void **state)
{
    (void)state;
    wf_fft_backend keep = wf_fft_get_backend();
    int be = 0;
    while (next_backend(&be))
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int n = sizes[s], bins = n / 2 + 1, count = 4;
            wf_real *x = wf_xmalloc(sizeof(wf_real) * (size_t)n * count);
            wf_real *X = wf_xmalloc(sizeof(wf_real) * 2 * (size_t)bins * count);
            wf_real *Y = wf_xmalloc(sizeof(wf_real) * 2 * (size_t)bins);
            wf_real *back = wf_xmalloc(sizeof(wf_real) * (size_t)n * count);
            for (int i = 0; i < n * count; i++)
                x[i] = (wf_real)uniform(200 + s, (uint64_t)i);
            wf_fft_r2c(n, count, x, X);
            const wf_fft_plan *fwd = wf_fft_plan_for(n, 1, 0);
            for (int f = 0; f < count; f++) {
                wf_fft_exec_r2c(fwd, x + (size_t)f * n, Y);
                assert_memory_equal(Y, X + (size_t)f * 2 * bins, sizeof(wf_real) * 2 * (size_t)bins);
            }
            wf_fft_c2r(n, count, X, back);
            double e = 0;
            for (int i = 0; i < n; i++)
                e += (double)x[i] * x[i];
            for (int i = 0; i < n * count; i++)
                assert_close(back[i], (double)n * x[i], 0, n * allowed(n, e * n));
            free(x);
            free(X);
            free(Y);
            free(back);
        }
    wf_fft_set_backend(keep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_inverse),
        cmocka_unit_test(test_plan_and_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
