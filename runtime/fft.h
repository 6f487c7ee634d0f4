/* The one FFT interface of the runtime: real-input transforms of even size n,
 * over one frame or a batch of frames. Plans are cached per size, batch and
 * thread. Two backends: KissFFT, always built and the reference, and FFTW's
 * single-precision library when present (faster; GPL). The float64 test build
 * uses FFTW's double library.
 *
 * Spectra are interleaved complex, n/2 + 1 bins per frame (re, im, re, ...).
 * The inverse is unnormalised: c2r(r2c(x)) = n x. */
#ifndef WF_FFT_H
#define WF_FFT_H

#include "runtime/real.h"

typedef enum { WF_FFT_KISS, WF_FFT_FFTW } wf_fft_backend;

/* 0 on success, -1 when that backend is not built in. */
int wf_fft_set_backend(wf_fft_backend b);
wf_fft_backend wf_fft_get_backend(void);
/* Human description of the backends, the active one first. */
const char *wf_fft_backends(void);

/* A plan of this thread for count frames of n samples, forward or inverse,
 * made on first use and kept. Fetching it once and executing it many times
 * spares a lookup per frame in loops over single frames. */
typedef struct wf_fft_plan wf_fft_plan;
const wf_fft_plan *wf_fft_plan_for(int n, int count, int inverse);
/* Execute a forward / inverse plan, as wf_fft_r2c / wf_fft_c2r below. */
void wf_fft_exec_r2c(const wf_fft_plan *p, const wf_real *in, wf_real *out);
void wf_fft_exec_c2r(const wf_fft_plan *p, wf_real *in, wf_real *out);

/* count frames of n samples, contiguous, to count spectra of n/2 + 1 bins. */
void wf_fft_r2c(int n, int count, const wf_real *in, wf_real *out);
/* count spectra to count frames (unnormalised inverse). The spectra are
 * used as scratch and left undefined (FFTW's c2r works in place). */
void wf_fft_c2r(int n, int count, wf_real *in, wf_real *out);

#endif
