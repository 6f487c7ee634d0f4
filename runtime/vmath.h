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
 * (relative error about 1e-7), evaluated by Estrin's scheme, a chain four
 * fused adds deep instead of Horner's nine. Only normal positive inputs: callers add a
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
    float z = m * m, z2 = z * z;
    float p01 = 7.0376836292e-2f * m - 1.1514610310e-1f;
    float p23 = 1.1676998740e-1f * m - 1.2420140846e-1f;
    float p45 = 1.4249322787e-1f * m - 1.6668057665e-1f;
    float p67 = 2.0000714765e-1f * m - 2.4999993993e-1f;
    float y = (p01 * z + p23) * z2 + (p45 * z + p67);
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
 * still differ from it in the last bit where a compiler fuses otherwise).
 * wf_logf8n_pos takes n vectors (n a constant, at most WF_LOG8_MAX) in
 * place, each step done for all of them before the next: gcc does not
 * reorder instructions before register allocation on x86, so a loop that
 * calls it on one vector at a time leaves the out-of-order core one chain
 * to wait on. With Estrin's scheme and two vectors side by side the MSS
 * row took 2.0 ns a bin against 2.5 (Horner, one vector). */
#define WF_LOG8_MAX 2
static inline void wf_logf8n_pos(__m256 *x, int n)
{
#define WF_C8(v) _mm256_set1_ps(v)
    __m256 m[WF_LOG8_MAX], z[WF_LOG8_MAX], y[WF_LOG8_MAX], fe[WF_LOG8_MAX];
    for (int h = 0; h < n; h++) {
        __m256i xi = _mm256_castps_si256(x[h]);
        __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(126));
        __m256 mm = _mm256_castsi256_ps(_mm256_or_si256(
            _mm256_and_si256(xi, _mm256_set1_epi32(0x807fffff)), _mm256_set1_epi32(0x3f000000)));
        __m256 small = _mm256_cmp_ps(mm, WF_C8(0.707106781186547524f), _CMP_LT_OQ);
        e = _mm256_add_epi32(e, _mm256_castps_si256(small)); /* all ones: -1 */
        m[h] = _mm256_sub_ps(_mm256_add_ps(mm, _mm256_and_ps(small, mm)), WF_C8(1.0f));
        z[h] = _mm256_mul_ps(m[h], m[h]);
        fe[h] = _mm256_cvtepi32_ps(e);
    }
    for (int h = 0; h < n; h++) {
        __m256 M = m[h], Z = z[h];
        __m256 p01 = _mm256_fmadd_ps(WF_C8(7.0376836292e-2f), M, WF_C8(-1.1514610310e-1f));
        __m256 p23 = _mm256_fmadd_ps(WF_C8(1.1676998740e-1f), M, WF_C8(-1.2420140846e-1f));
        __m256 p45 = _mm256_fmadd_ps(WF_C8(1.4249322787e-1f), M, WF_C8(-1.6668057665e-1f));
        __m256 p67 = _mm256_fmadd_ps(WF_C8(2.0000714765e-1f), M, WF_C8(-2.4999993993e-1f));
        __m256 q = _mm256_fmadd_ps(p01, Z, p23), r = _mm256_fmadd_ps(p45, Z, p67);
        y[h] = _mm256_fmadd_ps(_mm256_fmadd_ps(q, _mm256_mul_ps(Z, Z), r), M,
                               WF_C8(3.3333331174e-1f));
    }
    for (int h = 0; h < n; h++) {
        __m256 v = _mm256_fmadd_ps(_mm256_mul_ps(y[h], m[h]), z[h],
                                   _mm256_mul_ps(WF_C8(-2.12194440e-4f), fe[h]));
        v = _mm256_fmadd_ps(WF_C8(-0.5f), z[h], v);
        x[h] = _mm256_fmadd_ps(WF_C8(0.693359375f), fe[h], _mm256_add_ps(m[h], v));
    }
#undef WF_C8
}

static inline __m256 wf_logf8_pos(__m256 x)
{
    wf_logf8n_pos(&x, 1);
    return x;
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
