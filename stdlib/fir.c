/* fir: finite impulse response filters (intro2ddsp, "Finite Impulse Response"
 * and "Differentiable FIR Filters"; Oppenheim & Schafer, "Discrete-Time
 * Signal Processing", 3rd ed., sections 6.5 and 8.7).
 *
 * fir(x, taps): M taps, the channels of `taps`, tap 0 first,
 *   y[n] = sum_{m < M} h_n[m] x[n - m],  x = 0 before the start,
 * with h_n = taps for constant taps, the frame's taps interpolated linearly
 * to sample n for per-frame taps (the executor interpolates them, as it does
 * every control input of an audio-rate node: a whole pass holds N x M
 * values), or sample n's taps.
 * Backward (g = dL/dy):
 *   dx[i]     = sum_m h_{i+m}[m] g[i + m]   correlation of g with the taps
 *   dh_n[m]   = g[n] x[n - m]               per-sample taps;
 *   dtaps[m]  = sum_n g[n] x[n - m]         constant taps, correlation of g with x.
 *
 * Two algorithms, same result to float rounding: the direct form (a loop
 * over taps of whole-block multiply-adds, cost M per sample) and, for
 * constant taps, the uniformly partitioned overlap-save FFT convolution of
 * reverb (stdlib/fx.c, shared through stdlib/conv.h; its forward and
 * backward equations are written there). `method: auto` picks the cheaper by
 * the cost model fir_fft_cheaper, whose constants were measured on this
 * machine (see there). Time-varying taps always run directly: a partition's
 * spectra hold one filter.
 *
 * Streams: the direct form keeps the last M - 1 input samples of every
 * channel; the FFT path keeps its input spectra (see fx.c). Both equal the
 * whole pass. An FIR filter has no poles, so it is stable for every value of
 * its taps: nothing is reparametrised and nothing can fault.
 *
 * fir_tv(x, mags): the frequency-sampling time-varying FIR of DDSP's
 * filtered noise, for any signal x. filtered_noise(x, mags) already filters
 * the x it is given (the maths is in stdlib/fx.c), so fir_tv is that kernel
 * under the name of the filter family: one implementation, two records. */
#include <string.h>

#include "stdlib/conv.h"

enum { F_X, F_TAPS, F_METHOD };
enum { M_AUTO, M_DIRECT, M_FFT };

static const char *const fir_methods[] = {"auto", "direct", "fft", NULL};

static const wf_arg_spec fir_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter; every channel gets the same taps", 0, NULL, -1,
     1},
    {"taps", WF_ARG_SIGNAL, NULL,
     "impulse response, one channel per tap, tap 0 first: constant (a param taps[M]), per frame "
     "(interpolated to every sample) or per sample",
     0, NULL, -1, 1},
    {"method", WF_ARG_ENUM, "auto",
     "direct form, partitioned FFT convolution (constant taps only), or auto: the cheaper by the "
     "cost model",
     0, fir_methods, 0, 0},
};

/* The cost model, in nanoseconds per output sample and channel (forward;
 * backward costs about twice either way, so the choice is the same):
 *   direct  DIRECT_NS * M
 *   fft     FFT_NS + BIN_NS * K
 * for the K partitions that reverb's geometry gives the run (P = the
 * stream's granule, or pow2 >= M within [64, 4096] for a whole pass): a
 * partition costs its two FFTs of 2P points, the copies around them and K
 * complex multiply-adds per bin, per P samples. Measured with `weft run` of
 * fir(noise(), h, method: direct|fft) at 48 kHz for 20 s (best of 3, less
 * the 40-80 ns of M = 1: noise, the file), blocks of 64, 2048 and one whole
 * block, M = 1 .. 2048, on this 2-core machine shared with other jobs:
 *   direct  0.14 .. 0.23 ns per tap (M = 512: 80 ns, M = 1024: 100 .. 235 ns)
 *   fft     50 .. 60 ns at K = 1 .. 2, whatever P from 64 to 2048 (the FFT's
 *           log P is lost in the noise), plus 0.9 ns per partition (blocks
 *           of 64: 58 ns at K = 2, 86 ns at K = 32).
 * The paths cross between 256 taps (direct faster in 4 runs of 6) and 512
 * (FFT faster in every run); the constants below put it at 311 taps for a
 * whole pass and 334 for streams of 64-sample blocks. */
#define DIRECT_NS 0.17
#define FFT_NS 52.0
#define BIN_NS 0.9

static int fir_fft_cheaper(int M, const wf_env *e)
{
    int P, K;
    wf_pconv_partition(M, e, &P, &K);
    return FFT_NS + BIN_NS * K < DIRECT_NS * M;
}

/* The FFT path: constant taps, asked for or found cheaper. */
static int fir_uses_fft(const wf_gnode *g, const wf_shape *in, const wf_env *e)
{
    int method = (int)wf_opt_num(g, F_METHOD, M_AUTO);
    if (in[F_TAPS].rate != WF_RATE_CONST || method == M_DIRECT)
        return 0;
    return method == M_FFT || fir_fft_cheaper(in[F_TAPS].chans, e);
}

static int fir_infer(wf_infer *ic)
{
    const wf_shape *t = &ic->in[F_TAPS];
    if (t->rate != WF_RATE_CONST && (int)wf_opt_num(ic->node, F_METHOD, M_AUTO) == M_FFT) {
        wf_report_rate_mismatch(ic->d, ic->arg_loc[F_TAPS],
                                "method: fft holds one filter; use method: direct for taps that "
                                "change over time",
                                ic->name, "taps", t->rate == WF_RATE_AUDIO ? "an" : "a",
                                wf_rate_name(t->rate));
        return -1;
    }
    if (t->rate == WF_RATE_CONTROL)
        ic->want[F_TAPS] = WF_RATE_AUDIO;
    return infer_x(ic, F_X);
}

/* Taps summed in float before their sum is added in double. */
#define GROUP 32

static size_t reals(size_t n)
{
    return n * sizeof(wf_real) + 64;
}

/* Direct form: the state is the last M - 1 input samples of each channel. */
static void fir_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block, wf_sizes *s)
{
    if (fir_uses_fft(g, in, e)) {
        wf_pconv_size(g, in, e, block, s);
        return;
    }
    size_t C = (size_t)g->shape.chans, M = (size_t)in[F_TAPS].chans, n = (size_t)block;
    s->state = reals(C * (M - 1));
    s->saved = 0;
    /* one channel's history and block, a group's sums, the output in double */
    s->work = reals(M - 1 + n) + reals(n) + n * sizeof(double) + 64;
    /* one channel's x and g, dx of every channel, dtaps in double */
    s->bwork = reals(n) + reals(n) + reals(n * C) + M * sizeof(double) + 64;
}

/* The path of a kernel call, as size chose it. */
static int fir_fft_call(const wf_kctx *k)
{
    wf_shape in[2] = {{0}, {0}};
    in[F_TAPS].rate = k->in[F_TAPS].rate;
    in[F_TAPS].chans = k->in[F_TAPS].chans;
    return fir_uses_fft(k->node, in, k->env);
}

static void fir_reset(wf_kctx *k)
{
    if (fir_fft_call(k)) {
        wf_pconv_reset(k);
        return;
    }
    memset(k->state, 0, sizeof(wf_real) * (size_t)k->out.chans * (size_t)(k->in[F_TAPS].chans - 1));
}

static void fir_forward(wf_kctx *k)
{
    if (fir_fft_call(k)) {
        wf_pconv_forward(k);
        return;
    }
    const wf_sig *x = &k->in[F_X], *h = &k->in[F_TAPS];
    int C = k->out.chans, M = h->chans, n = k->out.n, H = M - 1;
    int varying = h->rate != WF_RATE_CONST;
    void *cur = k->work;
    wf_real *buf = wf_carve(&cur, sizeof(wf_real) * (size_t)(H + n));
    wf_real *y = wf_carve(&cur, sizeof(wf_real) * (size_t)n);
    double *acc = wf_carve(&cur, sizeof(double) * (size_t)n);
    wf_real *hist = k->state;
    for (int c = 0; c < C; c++) {
        wf_real *hc = hist + (size_t)c * H;
        memcpy(buf, hc, sizeof(wf_real) * (size_t)H);
        for (int j = 0; j < n; j++)
            buf[H + j] = sample_at(x, j, c);
        if (!varying) {
            /* tap by tap over the whole block: contiguous multiply-adds, in
             * groups of GROUP taps whose sums go into double, so that the
             * rounding does not grow with M (float sums of 5000 taps were
             * 15 times further from the exact sum than the FFT path) */
            memset(acc, 0, sizeof(double) * (size_t)n);
            for (int m0 = 0; m0 < M; m0 += GROUP) {
                int m1 = m0 + GROUP < M ? m0 + GROUP : M;
                memset(y, 0, sizeof(wf_real) * (size_t)n);
                for (int m = m0; m < m1; m++) {
                    const wf_real t = h->p[m], *s = buf + H - m;
                    for (int j = 0; j < n; j++)
                        y[j] += t * s[j];
                }
                for (int j = 0; j < n; j++)
                    acc[j] += y[j];
            }
        } else {
            for (int j = 0; j < n; j++) {
                const wf_real *t = h->p + (size_t)j * M, *s = buf + H + j;
                double a = 0;
                for (int m = 0; m < M; m++)
                    a += (double)(t[m] * s[-m]);
                acc[j] = a;
            }
        }
        for (int j = 0; j < n; j++)
            k->out.p[(size_t)j * C + c] = (wf_real)acc[j];
        /* the last M - 1 samples seen: the history ends the block */
        memcpy(hc, buf + n, sizeof(wf_real) * (size_t)H);
    }
}

/* Whole-signal runs only: x = 0 before the block, which starts the run. */
static void fir_backward(wf_kctx *k)
{
    if (fir_fft_call(k)) {
        wf_pconv_backward(k);
        return;
    }
    const wf_sig *x = &k->in[F_X], *h = &k->in[F_TAPS], *dX = &k->din[F_X],
                 *dH = &k->din[F_TAPS];
    const wf_real *gy = k->dout->p;
    int C = k->out.chans, M = h->chans, n = k->out.n;
    int varying = h->rate != WF_RATE_CONST;
    void *cur = k->work;
    wf_real *xc = wf_carve(&cur, sizeof(wf_real) * (size_t)n);
    wf_real *gc = wf_carve(&cur, sizeof(wf_real) * (size_t)n);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * (size_t)n * C);
    double *dt = wf_carve(&cur, sizeof(double) * (size_t)M);
    memset(dt, 0, sizeof(double) * (size_t)M);
    for (int c = 0; c < C; c++) {
        for (int j = 0; j < n; j++) {
            xc[j] = sample_at(x, j, c);
            gc[j] = gy[(size_t)j * C + c];
        }
        if (dH->p && !varying)
            for (int m = 0; m < M && m < n; m++) {
                double s = 0;
                for (int j = m; j < n; j++)
                    s += (double)gc[j] * xc[j - m];
                dt[m] += s;
            }
        if (dH->p && varying)
            for (int j = 0; j < n; j++) {
                wf_real *d = dH->p + (size_t)j * M;
                int top = j + 1 < M ? j + 1 : M;
                for (int m = 0; m < top; m++)
                    d[m] += gc[j] * xc[j - m];
            }
        if (!dX->p)
            continue;
        /* x is read; its room takes this channel's dx */
        memset(xc, 0, sizeof(wf_real) * (size_t)n);
        if (!varying)
            for (int m = 0; m < M && m < n; m++) {
                const wf_real t = h->p[m], *g = gc + m;
                for (int i = 0; i + m < n; i++)
                    xc[i] += t * g[i];
            }
        else
            for (int j = 0; j < n; j++) {
                const wf_real *t = h->p + (size_t)j * M;
                int top = j + 1 < M ? j + 1 : M;
                for (int m = 0; m < top; m++)
                    xc[j - m] += t[m] * gc[j];
            }
        for (int i = 0; i < n; i++)
            dx[(size_t)i * C + c] = xc[i];
    }
    if (dX->p)
        wf_reduce_into(dX, dx, n, C);
    if (dH->p && !varying)
        for (int m = 0; m < M; m++)
            dH->p[m] += (wf_real)dt[m];
}

const wf_node_kind wf_kind_fir = {
    .name = "fir",
    .family = "filters",
    .doc = "FIR filter: y[n] = sum_m taps[m] x[n - m], the channels of taps its impulse response "
           "(tap 0 first), constant, per frame (interpolated per sample) or per sample, with "
           "gradients into x and every tap. Constant taps run in direct form or by partitioned "
           "FFT convolution, the cheaper for the length (about 300 taps and more: FFT), same "
           "result either way; streams equal whole passes. Stable for any taps: nothing is "
           "reparametrised and nothing is reported.",
    .args = fir_args,
    .nargs = 3,
    .keep = (1u << F_X) | (1u << F_TAPS),
    .infer = fir_infer,
    .size = fir_size,
    .reset = fir_reset,
    .forward = fir_forward,
    .backward = fir_backward,
};

/* --------------------------------------------------------------- fir_tv */

static const wf_arg_spec tv_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter; every channel gets the same filters", 0, NULL,
     -1, 1},
    {"mags", WF_ARG_SIGNAL, NULL,
     "magnitude response per frame: B >= 2 channels, bands evenly spaced from 0 Hz to the Nyquist "
     "(control rate, or constant for one filter)",
     WF_ARG_KEEP_CONTROL, NULL, 0.1, 1},
};

const wf_node_kind wf_kind_fir_tv = {
    .name = "fir_tv",
    .family = "filters",
    .doc = "Time-varying FIR by frequency sampling, the filter of filtered_noise (the same "
           "kernel) for any x: each frame's B magnitudes become a Hann-windowed zero-phase FIR "
           "of 2 (B - 1) taps (irfft, made causal), that frame of x is convolved with it and the "
           "frames are overlap-added, aligned as DDSP does (a flat response delays by 2 "
           "samples). Linear in x and in mags, stable for any mags (negative ones flip the "
           "phase); it reads x ahead, and streams delay what follows by that much and stay "
           "exact.",
    .args = tv_args,
    .nargs = 2,
    .lookahead = wf_fsfir_lookahead,
    .keep = 0, /* backward reads the spectra on its tape */
    .infer = wf_fsfir_infer,
    .size = wf_fsfir_size,
    .reset = wf_fsfir_reset,
    .forward = wf_fsfir_forward,
    .backward = wf_fsfir_backward,
};
