/* FFT backends behind runtime/fft.h. Each thread keeps its own plans (a
 * KissFFT configuration carries scratch space, so it cannot be shared), and
 * FFTW's planner, which is not thread-safe, runs under a lock. FFTW plans use
 * FFTW_ESTIMATE, so the same build always picks the same algorithm and a fit
 * is reproducible bit for bit.
 *
 * With FFTW a real transform of n points is a complex one of n/2 points and
 * a pass of twiddles (the textbook split: the even samples as the real
 * part, the odd ones as the imaginary part; KissFFT's kiss_fftr does the
 * same). FFTW's own real transforms are far slower on this kind of machine
 * than its complex ones: one 2048-point r2c took 1.8 us where a 1024-point
 * complex transform took 1.1 us, and at 64 points 174 ns against under
 * 40 ns, because its vectorised codelets are the complex ones. */
#include "runtime/fft.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"
#include "runtime/vmath.h"

#ifndef WF_REAL_DOUBLE
#include <kiss_fftr.h>
#define HAVE_KISS 1
#else
#define HAVE_KISS 0
#endif

#ifdef WF_HAVE_FFTW
#include <fftw3.h>
#ifdef WF_REAL_DOUBLE
#define FFTW(x) fftw_##x
typedef fftw_complex fftw_cpx;
#else
#define FFTW(x) fftwf_##x
typedef fftwf_complex fftw_cpx;
#endif
#define HAVE_FFTW 1
#else
#define HAVE_FFTW 0
#endif

static wf_fft_backend backend = HAVE_FFTW ? WF_FFT_FFTW : WF_FFT_KISS;

int wf_fft_set_backend(wf_fft_backend b)
{
    if ((b == WF_FFT_FFTW && !HAVE_FFTW) || (b == WF_FFT_KISS && !HAVE_KISS))
        return -1;
    backend = b;
    return 0;
}

wf_fft_backend wf_fft_get_backend(void)
{
    return backend;
}

const char *wf_fft_backends(void)
{
    static char buf[128];
#if HAVE_FFTW
    const char *fftw_name = FFTW(version);
#else
    const char *fftw_name = NULL;
#endif
    if (backend == WF_FFT_FFTW)
        snprintf(buf, sizeof buf, "%s%s", fftw_name, HAVE_KISS ? ", kissfft available" : "");
    else if (fftw_name)
        snprintf(buf, sizeof buf, "kissfft, %s available", fftw_name);
    else
        snprintf(buf, sizeof buf, "kissfft");
    return buf;
}

struct wf_fft_plan {
    wf_fft_backend backend;
    int n, count, inverse;
    int align; /* FFTW: the alignment of the caller's array it was made for */
#if HAVE_KISS
    kiss_fftr_cfg kiss;
#endif
#if HAVE_FFTW
    FFTW(plan) fftw; /* one complex transform of n/2 points */
    wf_real *z;      /* its side of the transform, n/2 complex */
    wf_real *tw;     /* e^{-2 pi i k / n}, k = 0 .. n/4, interleaved */
#endif
    struct wf_fft_plan *next;     /* this thread's plans */
    struct wf_fft_plan *all_next; /* every thread's plans */
};
typedef struct wf_fft_plan plan;

/* Every plan also sits on one process-wide list, so that a thread's plans
 * stay reachable (and are not reported as leaks) after the thread of a
 * parallel region that made them has gone. */
static _Thread_local plan *plans;
static plan *all_plans;
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

#if HAVE_FFTW
/* The complex plan from (forward) or to (inverse) the caller's array of
 * alignment `align`, the other side being the plan's own z. A plan is valid
 * only on arrays aligned as the ones it was made on, so the caller's side is
 * planned at the same offset. */
static void fftw_make(plan *p)
{
    int h = p->n / 2;
    p->z = FFTW(malloc)(sizeof(fftw_cpx) * (size_t)h);
    p->tw = wf_xmalloc(sizeof(wf_real) * 2 * (size_t)(h / 2 + 1));
    for (int k = 0; k <= h / 2; k++) {
        double a = -2.0 * 3.14159265358979323846 * k / p->n;
        p->tw[2 * k] = (wf_real)cos(a);
        p->tw[2 * k + 1] = (wf_real)sin(a);
    }
    /* 64-byte aligned, so that mem + align has the caller's offset from
     * any alignment FFTW's SIMD asks for */
    char *mem = wf_aalloc(sizeof(fftw_cpx) * (size_t)h + 64);
    fftw_cpx *user = (fftw_cpx *)(mem + p->align);
    pthread_mutex_lock(&planner_lock);
    if (p->inverse)
        p->fftw = FFTW(plan_dft_1d)(h, (fftw_cpx *)p->z, user, FFTW_BACKWARD, FFTW_ESTIMATE);
    else
        p->fftw = FFTW(plan_dft_1d)(h, user, (fftw_cpx *)p->z, FFTW_FORWARD, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    wf_afree(mem);
}
#endif

/* Plans for other counts of the same transform share its backend's state
 * (a batch is a loop over frames), scratch included: a thread runs one
 * transform at a time. */
static plan *get_plan(int n, int count, int inverse, int align)
{
    plan *twin = NULL;
    for (plan *p = plans; p; p = p->next)
        if (p->backend == backend && p->n == n && p->inverse == inverse && p->align == align) {
            if (p->count == count)
                return p;
            twin = p;
        }
    plan *p = wf_xcalloc(1, sizeof *p);
    p->backend = backend;
    p->n = n;
    p->count = count;
    p->inverse = inverse;
    p->align = align;
#if HAVE_KISS
    if (backend == WF_FFT_KISS)
        p->kiss = twin ? twin->kiss : kiss_fftr_alloc(n, inverse, NULL, NULL);
#endif
#if HAVE_FFTW
    if (backend == WF_FFT_FFTW) {
        if (twin) {
            p->fftw = twin->fftw;
            p->z = twin->z;
            p->tw = twin->tw;
        } else {
            fftw_make(p);
        }
    }
#endif
    p->next = plans;
    plans = p;
    pthread_mutex_lock(&planner_lock);
    p->all_next = all_plans;
    all_plans = p;
    pthread_mutex_unlock(&planner_lock);
    return p;
}

const wf_fft_plan *wf_fft_plan_for(int n, int count, int inverse)
{
    return get_plan(n, count, inverse, 0);
}

#if HAVE_FFTW
/* The plan like p for a caller's array at ptr (the same plan when it is
 * aligned as p's). */
static const plan *aligned_for(const plan *p, const void *ptr)
{
    int a = FFTW(alignment_of)((wf_real *)ptr);
    return a == p->align ? p : get_plan(p->n, p->count, p->inverse, a);
}

/* Four bins at a time with AVX: a 256-bit register holds four complex
 * numbers, the mirrored bins h-k-3 .. h-k are loaded and stored with their
 * order reversed (one permute of 64-bit lanes, a complex number each). */
#if WF_HAVE_AVX_FLOAT
static inline __m256 rev4(__m256 v)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0x1b));
}
/* w v for four interleaved complex numbers */
static inline __m256 cmul4(__m256 w, __m256 v)
{
    __m256 sw = _mm256_permute_ps(v, 0xb1);
    return _mm256_fmaddsub_ps(_mm256_moveldup_ps(w), v, _mm256_mul_ps(_mm256_movehdup_ps(w), sw));
}
#endif

/* X = the spectrum of the real frame whose even samples are Re z and odd
 * ones Im z, from Z = DFT(z) of h = n/2 points: with E = (Z[k] + conj
 * Z[h-k]) / 2 and O = -i (Z[k] - conj Z[h-k]) / 2 (the evens' and odds'
 * spectra), X[k] = E + w^k O and X[h-k] = conj(E - w^k O), w = e^{-2 pi i/n};
 * k = 0 gives X[0] and X[h]. */
static void split_forward(const plan *p, wf_real *restrict X)
{
    int h = p->n / 2, k = 1;
    const wf_real *restrict Z = p->z, *restrict tw = p->tw;
    X[0] = Z[0] + Z[1];
    X[1] = 0;
    X[2 * h] = Z[0] - Z[1];
    X[2 * h + 1] = 0;
#if WF_HAVE_AVX_FLOAT
    const __m256 half = _mm256_set1_ps(0.5f), conj = _mm256_setr_ps(0, -0.f, 0, -0.f, 0, -0.f, 0, -0.f);
    for (; k + 3 < h - k - 3; k += 4) {
        __m256 a = _mm256_loadu_ps(Z + 2 * k);
        __m256 bc = _mm256_xor_ps(rev4(_mm256_loadu_ps(Z + 2 * (h - k - 3))), conj);
        __m256 e = _mm256_mul_ps(half, _mm256_add_ps(a, bc));
        __m256 d = _mm256_mul_ps(half, _mm256_sub_ps(a, bc));
        __m256 o = _mm256_xor_ps(_mm256_permute_ps(d, 0xb1), conj); /* -i d */
        __m256 t = cmul4(_mm256_loadu_ps(tw + 2 * k), o);
        _mm256_storeu_ps(X + 2 * k, _mm256_add_ps(e, t));
        _mm256_storeu_ps(X + 2 * (h - k - 3), rev4(_mm256_xor_ps(_mm256_sub_ps(e, t), conj)));
    }
#endif
    for (; k <= h / 2; k++) {
        wf_real ar = Z[2 * k], ai = Z[2 * k + 1], br = Z[2 * (h - k)], bi = Z[2 * (h - k) + 1];
        wf_real er = (wf_real)0.5 * (ar + br), ei = (wf_real)0.5 * (ai - bi);
        wf_real odr = (wf_real)0.5 * (ai + bi), odi = (wf_real)0.5 * (br - ar);
        wf_real wr = tw[2 * k], wi = tw[2 * k + 1];
        wf_real tr = wr * odr - wi * odi, ti = wr * odi + wi * odr;
        X[2 * k] = er + tr;
        X[2 * k + 1] = ei + ti;
        X[2 * (h - k)] = er - tr;
        X[2 * (h - k) + 1] = ti - ei;
    }
}

/* The inverse's input Z of h points from the half spectrum X (the imaginary
 * parts of X[0] and X[h] ignored, as a real inverse does): with D = X[k] and
 * C = conj X[h-k], P = D + C and Q = conj(w^k) (D - C), Z[k] = P + i Q and
 * Z[h-k] = conj(P - i Q); the inverse of Z is then x[2j] + i x[2j+1]. */
static void split_inverse(const plan *p, const wf_real *restrict X)
{
    int h = p->n / 2, k = 1;
    wf_real *restrict Z = p->z;
    const wf_real *restrict tw = p->tw;
    Z[0] = X[0] + X[2 * h];
    Z[1] = X[0] - X[2 * h];
#if WF_HAVE_AVX_FLOAT
    const __m256 conj = _mm256_setr_ps(0, -0.f, 0, -0.f, 0, -0.f, 0, -0.f);
    for (; k + 3 < h - k - 3; k += 4) {
        __m256 d = _mm256_loadu_ps(X + 2 * k);
        __m256 c = _mm256_xor_ps(rev4(_mm256_loadu_ps(X + 2 * (h - k - 3))), conj);
        __m256 pv = _mm256_add_ps(d, c);
        __m256 q = cmul4(_mm256_xor_ps(_mm256_loadu_ps(tw + 2 * k), conj), _mm256_sub_ps(d, c));
        __m256 iq = _mm256_xor_ps(_mm256_permute_ps(q, 0xb1), _mm256_permute_ps(conj, 0xb1));
        _mm256_storeu_ps(Z + 2 * k, _mm256_add_ps(pv, iq));
        _mm256_storeu_ps(Z + 2 * (h - k - 3), rev4(_mm256_xor_ps(_mm256_sub_ps(pv, iq), conj)));
    }
#endif
    for (; k <= h / 2; k++) {
        wf_real dr = X[2 * k], di = X[2 * k + 1], cr = X[2 * (h - k)], ci = -X[2 * (h - k) + 1];
        wf_real pr = dr + cr, pi = di + ci, sr = dr - cr, si = di - ci;
        wf_real wr = tw[2 * k], wi = -tw[2 * k + 1];
        wf_real qr = wr * sr - wi * si, qi = wr * si + wi * sr;
        Z[2 * k] = pr - qi;
        Z[2 * k + 1] = pi + qr;
        Z[2 * (h - k)] = pr + qi;
        Z[2 * (h - k) + 1] = qr - pi;
    }
}
#endif

void wf_fft_exec_r2c(const wf_fft_plan *p, const wf_real *in, wf_real *out)
{
    int bins = p->n / 2 + 1;
#if HAVE_FFTW
    if (p->backend == WF_FFT_FFTW) {
        for (int f = 0; f < p->count; f++) {
            const wf_real *x = in + (size_t)f * p->n;
            const plan *q = aligned_for(p, x);
            FFTW(execute_dft)(q->fftw, (fftw_cpx *)x, (fftw_cpx *)q->z);
            split_forward(q, out + (size_t)f * 2 * bins);
        }
        return;
    }
#endif
#if HAVE_KISS
    for (int f = 0; f < p->count; f++)
        kiss_fftr(p->kiss, in + (size_t)f * p->n, (kiss_fft_cpx *)(out + (size_t)f * 2 * bins));
#endif
}

void wf_fft_exec_c2r(const wf_fft_plan *p, wf_real *in, wf_real *out)
{
    int bins = p->n / 2 + 1;
#if HAVE_FFTW
    if (p->backend == WF_FFT_FFTW) {
        for (int f = 0; f < p->count; f++) {
            wf_real *x = out + (size_t)f * p->n;
            const plan *q = aligned_for(p, x);
            split_inverse(q, in + (size_t)f * 2 * bins);
            FFTW(execute_dft)(q->fftw, (fftw_cpx *)q->z, (fftw_cpx *)x);
        }
        return;
    }
#endif
#if HAVE_KISS
    for (int f = 0; f < p->count; f++)
        kiss_fftri(p->kiss, (const kiss_fft_cpx *)(in + (size_t)f * 2 * bins),
                   out + (size_t)f * p->n);
#endif
}

void wf_fft_r2c(int n, int count, const wf_real *in, wf_real *out)
{
    if (count > 0)
        wf_fft_exec_r2c(get_plan(n, count, 0, 0), in, out);
}

void wf_fft_c2r(int n, int count, wf_real *in, wf_real *out)
{
    if (count > 0)
        wf_fft_exec_c2r(get_plan(n, count, 1, 0), in, out);
}
