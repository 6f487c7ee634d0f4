/* FFT backends behind runtime/fft.h. Each thread keeps its own plans (a
 * KissFFT configuration carries scratch space, so it cannot be shared), and
 * FFTW's planner, which is not thread-safe, runs under a lock. FFTW plans use
 * FFTW_ESTIMATE, so the same build always picks the same algorithm and a fit
 * is reproducible bit for bit. */
#include "runtime/fft.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

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
#if HAVE_KISS
    kiss_fftr_cfg kiss;
#endif
#if HAVE_FFTW
    FFTW(plan) fftw;
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

static plan *get_plan(int n, int count, int inverse)
{
    for (plan *p = plans; p; p = p->next)
        if (p->backend == backend && p->n == n && p->inverse == inverse && p->count == count)
            return p;
    plan *p = wf_xcalloc(1, sizeof *p);
    p->backend = backend;
    p->n = n;
    p->count = count;
    p->inverse = inverse;
#if HAVE_KISS
    if (backend == WF_FFT_KISS)
        p->kiss = kiss_fftr_alloc(n, inverse, NULL, NULL);
#endif
#if HAVE_FFTW
    if (backend == WF_FFT_FFTW) {
        int bins = n / 2 + 1;
        wf_real *r = FFTW(malloc)(sizeof(wf_real) * (size_t)n * (size_t)count);
        fftw_cpx *cpx = FFTW(malloc)(sizeof(fftw_cpx) * (size_t)bins * (size_t)count);
        pthread_mutex_lock(&planner_lock);
        if (inverse)
            p->fftw = FFTW(plan_many_dft_c2r)(1, &n, count, cpx, NULL, 1, bins, r, NULL, 1, n,
                                              FFTW_ESTIMATE);
        else
            p->fftw = FFTW(plan_many_dft_r2c)(1, &n, count, r, NULL, 1, n, cpx, NULL, 1, bins,
                                              FFTW_ESTIMATE);
        pthread_mutex_unlock(&planner_lock);
        FFTW(free)(r);
        FFTW(free)(cpx);
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
    return get_plan(n, count, inverse);
}

void wf_fft_exec_r2c(const wf_fft_plan *p, const wf_real *in, wf_real *out)
{
#if HAVE_FFTW
    if (p->backend == WF_FFT_FFTW) {
        FFTW(execute_dft_r2c)(p->fftw, (wf_real *)in, (fftw_cpx *)out);
        return;
    }
#endif
#if HAVE_KISS
    int bins = p->n / 2 + 1;
    for (int f = 0; f < p->count; f++)
        kiss_fftr(p->kiss, in + (size_t)f * p->n, (kiss_fft_cpx *)(out + (size_t)f * 2 * bins));
#endif
}

void wf_fft_exec_c2r(const wf_fft_plan *p, wf_real *in, wf_real *out)
{
#if HAVE_FFTW
    if (p->backend == WF_FFT_FFTW) {
        FFTW(execute_dft_c2r)(p->fftw, (fftw_cpx *)in, out);
        return;
    }
#endif
#if HAVE_KISS
    int bins = p->n / 2 + 1;
    for (int f = 0; f < p->count; f++)
        kiss_fftri(p->kiss, (const kiss_fft_cpx *)(in + (size_t)f * 2 * bins),
                   out + (size_t)f * p->n);
#endif
}

void wf_fft_r2c(int n, int count, const wf_real *in, wf_real *out)
{
    if (count > 0)
        wf_fft_exec_r2c(get_plan(n, count, 0), in, out);
}

void wf_fft_c2r(int n, int count, wf_real *in, wf_real *out)
{
    if (count > 0)
        wf_fft_exec_c2r(get_plan(n, count, 1), in, out);
}
