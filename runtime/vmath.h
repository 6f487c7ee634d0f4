/* Vectorisable maths for kernels. The oscillator banks evaluate hundreds of
 * thousands of sines per block, so libm's sinf per sample is too slow; these
 * inline polynomials compile to straight SIMD code inside a loop.
 *
 * wf_sin2pi(x) = sin(2 pi x): reduce to r in [-1/2, 1/2], fold to [-1/4, 1/4]
 * (sin(pi - a) = sin a), then the odd Taylor polynomial of degree 11 in r,
 * whose truncation error at |2 pi r| = pi/2 is (pi/2)^13 / 13! < 6e-8, below
 * float32 rounding. In the float64 build (gradient tests) the same function
 * calls libm, so finite differences see exact values. */
#ifndef WF_VMATH_H
#define WF_VMATH_H

#include <math.h>
#include <stdint.h>

#include "runtime/real.h"

#define WF_TWO_PI 6.283185307179586476925286766559

/* Oscillator phases in cycles, as the sine evaluation sees them: float32 in
 * weft (bench/WORKLOADS.md 0.4), double in the gradient-test build so that finite
 * differences see a smooth function of frequency. */
#ifdef WF_REAL_DOUBLE
typedef double wf_phase;
#else
typedef float wf_phase;
#endif

static inline float wf_sin2pi_f(float x)
{
    float r = x - rintf(x);
    float a = fabsf(r);
    float h = copysignf(0.5f, r);
    r = a > 0.25f ? h - r : r;
    float z = r * r;
    /* (2 pi)^k / k! with alternating signs */
    const float c1 = 6.28318530717958648f, c3 = -41.3417022403997091f,
                c5 = 81.6052492760750507f, c7 = -76.7058597530612700f,
                c9 = 42.0587711477803688f, c11 = -15.0946425768221330f;
    return r * (c1 + z * (c3 + z * (c5 + z * (c7 + z * (c9 + z * c11)))));
}

static inline wf_real wf_sin2pi(wf_real x)
{
#ifdef WF_REAL_DOUBLE
    return sin(WF_TWO_PI * (x - rint(x)));
#else
    return wf_sin2pi_f(x);
#endif
}

static inline wf_real wf_cos2pi(wf_real x)
{
    return wf_sin2pi(x + (wf_real)0.25);
}

/* Natural log for x > 0, inlined so loops over spectra vectorise: split x =
 * m 2^e with m in [sqrt(1/2), sqrt(2)), then Cephes' logf polynomial in m - 1
 * (relative error about 1e-7). Only normal positive inputs: callers add a
 * floor such as 1e-7 first. The float64 build calls libm. */
static inline float wf_logf_pos(float x)
{
    union {
        float f;
        uint32_t i;
    } u = {x};
    int e = (int)((u.i >> 23) & 0xff) - 126;
    u.i = (u.i & 0x807fffffu) | 0x3f000000u; /* mantissa in [0.5, 1) */
    float m = u.f;
    int small = m < 0.707106781186547524f;
    e -= small;
    m = small ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    float fe = (float)e;
    y += -2.12194440e-4f * fe;
    y += -0.5f * z;
    return m + y + 0.693359375f * fe;
}

#if defined(__AVX2__) && defined(__FMA__) && !defined(WF_REAL_DOUBLE)
#include <immintrin.h>
#define WF_HAVE_AVX_FLOAT 1
/* wf_logf_pos on eight lanes for kernels written with AVX intrinsics: the
 * same operations, fused as gcc fuses the scalar form today (results may
 * still differ from it in the last bit where a compiler fuses otherwise). */
static inline __m256 wf_logf8_pos(__m256 x)
{
    __m256i xi = _mm256_castps_si256(x);
    __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(126));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(xi, _mm256_set1_epi32(0x807fffff)), _mm256_set1_epi32(0x3f000000)));
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
    e = _mm256_add_epi32(e, _mm256_castps_si256(small)); /* all ones: -1 */
    m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), _mm256_set1_ps(1.0f));
    __m256 z = _mm256_mul_ps(m, m);
    static const float c[9] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                               -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                               2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
    __m256 y = _mm256_set1_ps(c[0]);
    for (int i = 1; i < 9; i++)
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(c[i]));
    __m256 fe = _mm256_cvtepi32_ps(e);
    y = _mm256_fmadd_ps(_mm256_mul_ps(y, m), z, _mm256_mul_ps(_mm256_set1_ps(-2.12194440e-4f), fe));
    y = _mm256_fmadd_ps(_mm256_set1_ps(-0.5f), z, y);
    return _mm256_fmadd_ps(_mm256_set1_ps(0.693359375f), fe, _mm256_add_ps(m, y));
}
#else
#define WF_HAVE_AVX_FLOAT 0
#endif

static inline wf_real wf_log_pos(wf_real x)
{
#ifdef WF_REAL_DOUBLE
    return log(x);
#else
    return wf_logf_pos(x);
#endif
}

/* Reductions in a fixed order with 16 running sums, so that the compiler
 * can keep them in vector registers (a single running sum is a chain of
 * dependent scalar adds) while results stay bit-for-bit reproducible. */
#define WF_LANES 16

static inline wf_real wf_dot(const wf_real *a, const wf_real *b, int n)
{
    wf_real acc[WF_LANES] = {0};
    int q = 0;
    for (; q + WF_LANES <= n; q += WF_LANES)
        for (int i = 0; i < WF_LANES; i++)
            acc[i] += a[q + i] * b[q + i];
    wf_real s = 0;
    for (; q < n; q++)
        s += a[q] * b[q];
    for (int i = 0; i < WF_LANES; i++)
        s += acc[i];
    return s;
}

/* Fractional part in [0, 1). */
static inline double wf_frac(double x)
{
    return x - floor(x);
}

#endif
