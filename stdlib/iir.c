/* iir: recursive filters with exact time-domain gradients.
 *
 * iir(x, b, a): y = filt(b, a, x), a general IIR filter whose taps are the
 * channels of b (b0..bM) and a (a0..aN), normalised by a0 (beta_k = b_k/a0,
 * alpha_k = a_k/a0), K = max(M, N), missing taps zero. It runs in the
 * transposed direct form II with double-precision state s_1..s_K (kept from
 * block to block, so streams equal whole passes):
 *   y[n] = beta_0[n] x[n] + s_1,
 *   s_k <- s_{k+1} + beta_k[n] x[n] - alpha_k[n] y[n],   s_{K+1} = 0.
 * With coefficients that change over time this is the transposed form's
 * time-varying filter: tap k acts with its value at the time of the sample
 * it multiplies,
 *   y[n] = sum_{k=0..K} beta_k[n-k] x[n-k] - sum_{k=1..K} alpha_k[n-k] y[n-k],
 * which for constant coefficients is the usual difference equation.
 *
 * Backward (torchaudio's lfilter, torchlpc: the adjoint of a recursion is a
 * recursion run backwards in time, here on the same coefficients). With g the
 * adjoint of y and gb[n] = dL/dy[n] in total (y[n] feeds y[n+k] through
 * -alpha_k[n]):
 *   gb[n]       = g[n] - sum_{k=1..K} alpha_k[n] gb[n+k]     (n from the end down)
 *   dx[n]       = sum_{k=0..K} beta_k[n] gb[n+k]             (the time-reversed filter)
 *   dbeta_k[n]  = gb[n+k] x[n],   dalpha_k[n] = -gb[n+k] y[n] (correlations with
 *                                                              delayed inputs, outputs)
 *   db_k = dbeta_k / a0,  da_k = dalpha_k / a0 (k >= 1),
 *   da_0 = -(sum_k dbeta_k beta_k + sum_{k>=1} dalpha_k alpha_k) / a0.
 * It costs what the forward costs; the tape is the output (x and the
 * coefficients are the inputs), never an unrolled recursion. Time-varying
 * coefficients are prepared (normalised, in double) CHUNK samples at a time,
 * forward and backward, so no buffer grows with the signal.
 *
 * Stability: a filter whose poles leave the unit circle is reported through
 * wf_kernel_fault (a render warns, unstable-run; a fit stops, unstable-node),
 * never clamped. Constant a is checked once by the Schur-Cohn step-down
 * recursion (the reflection coefficients of A(z) must lie in (-1, 1)); a
 * time-varying a of order <= 2 at every sample (the stability triangle
 * |alpha_2| < 1, |alpha_1| < 1 + alpha_2), of higher order at the first sample
 * of every frame. The report gives the largest pole radius (Durand-Kerner).
 *
 * sos(x, sections): a cascade of second-order sections, rows (b0 b1 b2 a0 a1
 * a2) as scipy's sosfilt, each the iir above with K = 2. With constant
 * sections the cascade runs as a wavefront across its stages (section s
 * processes sample n - s while section s + 1 processes n - s - 1, four stages
 * to a SIMD register of doubles, never vectorised across time), all in
 * double between stages. Backward runs the sections' adjoints in reverse
 * order, chunk by chunk from the end; the tape holds every section's output
 * but the last.
 *
 * biquad(x, kind, freq, q, gain): the RBJ Audio EQ Cookbook (Robert
 * Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
 * coefficients"), w0 = 2 pi freq / sr, alpha = sin(w0) / (2 q), A = 10^(gain/40):
 *   lowpass   b = [(1-c)/2, 1-c, (1-c)/2]            a = [1+alpha, -2c, 1-alpha]
 *   highpass  b = [(1+c)/2, -(1+c), (1+c)/2]         a = as lowpass
 *   bandpass  b = [alpha, 0, -alpha] (0 dB peak)     a = as lowpass
 *   notch     b = [1, -2c, 1]                        a = as lowpass
 *   allpass   b = [1-alpha, -2c, 1+alpha]            a = as lowpass
 *   peak      b = [1+alpha A, -2c, 1-alpha A]        a = [1+alpha/A, -2c, 1-alpha/A]
 *   lowshelf  b = A[(A+1)-(A-1)c+2 sqrt(A) alpha, 2((A-1)-(A+1)c), (A+1)-(A-1)c-2 sqrt(A) alpha]
 *             a = [(A+1)+(A-1)c+2 sqrt(A) alpha, -2((A-1)+(A+1)c), (A+1)+(A-1)c-2 sqrt(A) alpha]
 *   highshelf b = A[(A+1)+(A-1)c+2 sqrt(A) alpha, -2((A-1)+(A+1)c), (A+1)+(A-1)c-2 sqrt(A) alpha]
 *             a = [(A+1)-(A-1)c+2 sqrt(A) alpha, 2((A-1)-(A+1)c), (A+1)-(A-1)c-2 sqrt(A) alpha]
 * (c = cos w0). The coefficients are computed per sample (or once when
 * freq, q and gain are constant) in forward-mode dual numbers, whose
 * derivatives carry the filter's coefficient adjoints to freq, q and gain by
 * the chain rule. For freq in (0, sr/2) and q > 0 every kind is stable (the
 * bilinear transform of a stable analogue prototype); outside that range a
 * fault is reported with the offending value.
 *
 * eq(x, gain, freq, q): dasp-pytorch's parametric_eq (Steinmetz et al.
 * 2022), a cascade of RBJ biquads: band 0 a low shelf, bands 1..B-2 peaks,
 * band B-1 a high shelf, band j from channel j of gain, freq and q (B their
 * largest channel count, at least 2). The sets come from the cookbook
 * above with their Jacobians, and the cascade is sos's: with constant bands
 * the wavefront, else section by section; backward the sections' adjoints
 * in reverse order, whose set adjoints the Jacobians carry to each band's
 * gain, freq and q. dasp itself runs this cascade by frequency sampling
 * (sosfilt_via_fsm: the product of the sections' responses on an FFT grid,
 * a circular convolution); here it is the exact recursion. dasp gives
 * ranges, not defaults: gain -20..20 dB, q 0.1..6, and per band freq
 * 20..2000, 80..2000, 2000..8000, 8000..12000, 12000..sr/2-1000 and
 * 4000..sr/2-1000 Hz (ParametricEQ's param_ranges); weft's default freq is
 * the geometric middle of each, at 44.1 kHz for the last two, rounded:
 * 200, 400, 4000, 9800, 16000 and 9200 Hz, with gains of 0 dB (flat). */
#include <complex.h>
#include <math.h>
#include <string.h>

#include "stdlib/map.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define WAVEFRONT 1
#endif

#define CHUNK 256 /* samples of time-varying coefficients prepared at a time */
#define PI 3.14159265358979323846

/* -------------------------------------------------- the TDF-II kernels */

/* A coefficient set is 2K + 1 doubles: beta_0..beta_K, alpha_1..alpha_K. A
 * call's sets are at co + t ct + c cc (ct = 0: constant, cc = 0: shared by
 * the channels). */
typedef struct coefs {
    const double *co;
    size_t ct, cc;
} coefs;

/* n samples of C channels from the state st [C][K]; x read with stride sx
 * from xp (frame 0 of the piece), y written [n][C]. */
static inline void tdf_forward(int K, int C, int n, coefs q, const wf_real *xp, wf_stride sx,
                               wf_real *y, double *st)
{
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++) {
            const double *p = q.co + (size_t)t * q.ct + (size_t)c * q.cc;
            double *s = st + (size_t)c * K;
            double xv = xp[WF_AT(sx, t, c)];
            double yv = p[0] * xv + (K ? s[0] : 0);
            for (int k = 1; k < K; k++)
                s[k - 1] = s[k] + p[k] * xv - p[K + k] * yv;
            if (K)
                s[K - 1] = p[K] * xv - p[2 * K] * yv;
            y[(size_t)t * C + c] = (wf_real)yv;
        }
}

/* One constant second-order set shared by the channels (W3's biquad): the
 * coefficients and the state in registers, a channel at a time. The states
 * are written in terms of the previous s1 rather than of y (s1' = c1 x + s2
 * - a1 s1, s2' = c2 x - a2 s1, c1 = b1 - a1 b0, c2 = b2 - a2 b0, as the
 * wavefront below), so that one multiply-add, not two, lies between one
 * sample's s1 and the next's. */
static void tdf2_const(int C, int n, const double *p, const wf_real *xp, wf_stride sx, wf_real *y,
                       double *st)
{
    const double b0 = p[0], a1 = p[3], a2 = p[4];
    const double c1 = p[1] - a1 * b0, c2 = p[2] - a2 * b0;
    for (int c = 0; c < C; c++) {
        double s1 = st[2 * c], s2 = st[2 * c + 1];
        for (int t = 0; t < n; t++) {
            double xv = xp[WF_AT(sx, t, c)];
            y[(size_t)t * C + c] = (wf_real)(b0 * xv + s1);
            double s1n = (c1 * xv + s2) - a1 * s1;
            s2 = c2 * xv - a2 * s1;
            s1 = s1n;
        }
        st[2 * c] = s1;
        st[2 * c + 1] = s2;
    }
}

static void tdf_forward_any(int K, int C, int n, coefs q, const wf_real *xp, wf_stride sx,
                            wf_real *y, double *st)
{
    if (K == 2 && !q.ct && !q.cc)
        tdf2_const(C, n, q.co, xp, sx, y, st);
    else if (K == 2) /* biquads and sections: the loops unrolled */
        tdf_forward(2, C, n, q, xp, sx, y, st);
    else
        tdf_forward(K, C, n, q, xp, sx, y, st);
}

/* The adjoint over n samples, from the last down: h [C][K] holds gb[t+1..t+K]
 * from the piece after this one. Adds dx into dx [n][C] and the coefficient
 * adjoints into dco (laid out like q.co), each when not NULL. */
static inline void tdf_adjoint(int K, int C, int n, coefs q, const wf_real *xp, wf_stride sx,
                               const wf_real *y, const wf_real *g, double *h, wf_real *dx,
                               double *dco)
{
    for (int t = n - 1; t >= 0; t--)
        for (int c = 0; c < C; c++) {
            const double *p = q.co + (size_t)t * q.ct + (size_t)c * q.cc;
            double *hc = h + (size_t)c * K;
            size_t o = (size_t)t * C + c;
            double gb = g[o];
            for (int k = 1; k <= K; k++)
                gb -= p[K + k] * hc[k - 1];
            if (dx) {
                double v = p[0] * gb;
                for (int k = 1; k <= K; k++)
                    v += p[k] * hc[k - 1];
                dx[o] += (wf_real)v;
            }
            if (dco) {
                double *d = dco + (size_t)t * q.ct + (size_t)c * q.cc;
                double xv = xp[WF_AT(sx, t, c)], yv = y[o];
                d[0] += gb * xv;
                for (int k = 1; k <= K; k++) {
                    d[k] += hc[k - 1] * xv;
                    d[K + k] -= hc[k - 1] * yv;
                }
            }
            for (int k = K - 1; k > 0; k--)
                hc[k] = hc[k - 1];
            if (K)
                hc[0] = gb;
        }
}

/* The adjoint of tdf2_const: coefficients, history and sums in registers. */
static void tdf2_const_adjoint(int C, int n, const double *p, const wf_real *xp, wf_stride sx,
                               const wf_real *y, const wf_real *g, double *h, wf_real *dx,
                               double *dco)
{
    const double b0 = p[0], b1 = p[1], b2 = p[2], a1 = p[3], a2 = p[4];
    for (int c = 0; c < C; c++) {
        double h1 = h[2 * c], h2 = h[2 * c + 1];
        double d0 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0;
        for (int t = n - 1; t >= 0; t--) {
            size_t o = (size_t)t * C + c;
            double gb = (g[o] - a2 * h2) - a1 * h1; /* h1, the latest, last */
            if (dx)
                dx[o] += (wf_real)(b0 * gb + b1 * h1 + b2 * h2);
            double xv = xp[WF_AT(sx, t, c)], yv = y[o];
            d0 += gb * xv;
            d1 += h1 * xv;
            d2 += h2 * xv;
            d3 -= h1 * yv;
            d4 -= h2 * yv;
            h2 = h1;
            h1 = gb;
        }
        h[2 * c] = h1;
        h[2 * c + 1] = h2;
        if (dco) {
            dco[0] += d0;
            dco[1] += d1;
            dco[2] += d2;
            dco[3] += d3;
            dco[4] += d4;
        }
    }
}

static void tdf_adjoint_any(int K, int C, int n, coefs q, const wf_real *xp, wf_stride sx,
                            const wf_real *y, const wf_real *g, double *h, wf_real *dx,
                            double *dco)
{
    if (K == 2 && !q.ct && !q.cc)
        tdf2_const_adjoint(C, n, q.co, xp, sx, y, g, h, dx, dco);
    else if (K == 2)
        tdf_adjoint(2, C, n, q, xp, sx, y, g, h, dx, dco);
    else
        tdf_adjoint(K, C, n, q, xp, sx, y, g, h, dx, dco);
}

/* ------------------------------------------------------------ stability */

/* 1 when the monic polynomial 1 + alpha_1 z^-1 + ... + alpha_N z^-N (alpha
 * given as alpha[1..N]) has every root strictly inside the unit circle: the
 * step-down (Schur-Cohn) recursion, whose reflection coefficients must all
 * lie in (-1, 1). w: N doubles of scratch. */
static int schur_stable(const double *alpha, int N, double *w)
{
    for (int i = 0; i < N; i++)
        w[i] = alpha[i + 1];
    for (int m = N; m >= 1; m--) {
        double r = w[m - 1];
        if (!(fabs(r) < 1))
            return 0;
        double inv = 1 / (1 - r * r);
        for (int i = 0, j = m - 2; i < j; i++, j--) {
            double lo = w[i], hi = w[j];
            w[i] = (lo - r * hi) * inv;
            w[j] = (hi - r * lo) * inv;
        }
        if ((m - 1) % 2)
            w[(m - 2) / 2] = w[(m - 2) / 2] * (1 - r) * inv;
    }
    return 1;
}

/* Order 2 (or 1): the stability triangle. */
static int triangle_stable(double a1, double a2)
{
    return fabs(a2) < 1 && fabs(a1) < 1 + a2;
}

/* The largest |root| of z^N + alpha_1 z^(N-1) + ... + alpha_N, by
 * Durand-Kerner iteration (for the report only, once a fault is found). */
static double pole_radius(const double *alpha, int N)
{
    enum { MAXN = 64 };
    if (N > MAXN)
        N = MAXN;
    double complex z[MAXN];
    for (int i = 0; i < N; i++)
        z[i] = cpow(0.4 + 0.9 * I, i);
    for (int it = 0; it < 500; it++) {
        double moved = 0;
        for (int i = 0; i < N; i++) {
            double complex p = 1, den = 1;
            for (int k = 1; k <= N; k++)
                p = p * z[i] + alpha[k];
            for (int j = 0; j < N; j++)
                if (j != i)
                    den *= z[i] - z[j];
            double complex step = den != 0 ? p / den : 1e-9;
            z[i] -= step;
            moved = fmax(moved, cabs(step));
        }
        if (moved < 1e-14)
            break;
    }
    double r = 0;
    for (int i = 0; i < N; i++)
        r = fmax(r, cabs(z[i]));
    return r;
}

static void pole_fault(wf_kctx *k, int frame, const double *alpha, int N, const char *where)
{
    char what[96];
    snprintf(what, sizeof what, "pole radius %.4g%s", pole_radius(alpha, N), where);
    wf_kernel_fault(k, frame, what);
}

/* ------------------------------------------------------- shared pieces */

/* x of an audio-rate filter: audio, or a control signal interpolated, or a
 * constant held (a step response). */
static int infer_filter(wf_infer *ic, int chans)
{
    for (int i = 0; i < ic->nin; i++)
        if (ic->in[i].rate == WF_RATE_CONTROL)
            ic->want[i] = WF_RATE_AUDIO;
    ic->out = wf_shape_of(WF_RATE_AUDIO, chans);
    return 0;
}

/* A constant input's value j in double: exact when known when compiling. */
static inline double const_at(const wf_sig *s, size_t j)
{
    return s->exact ? s->exact[j] : (double)s->p[j];
}

/* Adds the [n x C] adjoint g of frames t0.. of the output into the adjoint
 * of input d (laid out like the input: full, one channel, or constant). */
static void add_adjoint(const wf_sig *d, int t0, const wf_real *g, int n, int C)
{
    wf_sig v = *d;
    if (v.n > 1) {
        v.p += (size_t)t0 * (size_t)v.chans;
        v.n = n;
    }
    wf_reduce_into(&v, g, n, C);
}

static size_t bytes_d(size_t n)
{
    return n * sizeof(double) + 64;
}

static size_t bytes_r(size_t n)
{
    return n * sizeof(wf_real) + 64;
}

/* ------------------------------------------------------------------ iir */

enum { I_X, I_B, I_A };

static const wf_arg_spec iir_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter; every channel gets the same filter", 0, NULL, -1,
     1},
    {"b", WF_ARG_SIGNAL, NULL,
     "feed-forward taps b0..bM, one per channel (constant, per frame or per sample)", 0, NULL, -1,
     1},
    {"a", WF_ARG_SIGNAL, NULL,
     "feedback taps a0..aN, one per channel; the filter is divided through by a0", 0, NULL, 0, 1},
};

/* K = max(M, N) from the channels of b and a. */
static int iir_order(int bchans, int achans)
{
    return (bchans > achans ? bchans : achans) - 1;
}

static int iir_infer(wf_infer *ic)
{
    return infer_filter(ic, ic->in[I_X].chans);
}

static int iir_varying(const wf_kctx *k)
{
    return k->in[I_B].n > 1 || k->in[I_A].n > 1;
}

static void iir_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)e;
    (void)block;
    size_t K = (size_t)iir_order(in[I_B].chans, in[I_A].chans), C = (size_t)g->shape.chans, set = 2 * K + 1;
    s->state = 2 * C * K * sizeof(double); /* the state, then the adjoint's h between a loop's steps */
    s->work = bytes_d(CHUNK * set) + bytes_d(K + 1);
    s->bwork = 2 * bytes_d(CHUNK * set) + bytes_d(C * K) + bytes_r(CHUNK * C) +
               bytes_d((size_t)in[I_B].chans + (size_t)in[I_A].chans) + bytes_d(2 * K + 2);
}

/* Normalised sets of frames t0..t0+len (one set when b and a are constant). */
static void iir_sets(const wf_kctx *k, int K, int t0, int len, double *co)
{
    const wf_sig *b = &k->in[I_B], *a = &k->in[I_A];
    int M1 = b->chans, N1 = a->chans, set = 2 * K + 1;
    for (int i = 0; i < len; i++) {
        size_t tb = b->n > 1 ? (size_t)(t0 + i) : 0, ta = a->n > 1 ? (size_t)(t0 + i) : 0;
        double *q = co + (size_t)i * set;
        double inv = 1 / (a->n > 1 ? (double)a->p[ta * N1] : const_at(a, 0));
        for (int j = 0; j <= K; j++)
            q[j] = j < M1 ? (b->n > 1 ? (double)b->p[tb * M1 + j] : const_at(b, (size_t)j)) * inv : 0;
        for (int j = 1; j <= K; j++)
            q[K + j] = j < N1 ? (a->n > 1 ? (double)a->p[ta * N1 + j] : const_at(a, (size_t)j)) * inv : 0;
    }
}

/* Whether the n normalised taps at q are all finite: an a0 of 0 makes them
 * infinite, which no pole test would catch when the other taps of a are 0. */
static int sets_finite(const double *q, int n)
{
    int ok = 1;
    for (int j = 0; j < n; j++)
        ok &= isfinite(q[j]);
    return ok;
}

/* Checks the sets of frames t0..t0+len; reports the first unstable one. */
static int iir_check(wf_kctx *k, int K, int t0, int len, const double *co, size_t ct, double *w)
{
    int hop = k->env->hop;
    for (int i = 0; i < len; i++) {
        const double *al = co + (size_t)i * ct + K; /* al[1..K] */
        if (!sets_finite(co + (size_t)i * ct, 2 * K + 1)) {
            wf_kernel_fault(k, t0 + i, "a coefficient is not finite (a0 = 0?)");
            return 1;
        }
        if (K > 2 && ct && (k->t0 + t0 + i) % hop != 0)
            continue;
        int ok = K <= 2 ? triangle_stable(K >= 1 ? al[1] : 0, K >= 2 ? al[2] : 0)
                        : schur_stable(al, K, w);
        if (!ok) {
            pole_fault(k, t0 + i, al, K, "");
            return 1;
        }
        if (!ct)
            break;
    }
    return 0;
}

static void iir_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, K = iir_order(k->in[I_B].chans, k->in[I_A].chans);
    int set = 2 * K + 1, tv = iir_varying(k), faulted = 0;
    void *cur = k->work;
    double *co = wf_carve(&cur, sizeof(double) * CHUNK * (size_t)set);
    double *w = wf_carve(&cur, sizeof(double) * (size_t)(K + 1));
    wf_stride sx = wf_stride_of(&k->in[I_X], &k->out);
    if (!tv) {
        iir_sets(k, K, 0, 1, co);
        iir_check(k, K, 0, 1, co, 0, w);
        tdf_forward_any(K, C, n, (coefs){co, 0, 0}, k->in[I_X].p, sx, k->out.p, k->state);
        return;
    }
    for (int t0 = 0; t0 < n; t0 += CHUNK) {
        int len = n - t0 < CHUNK ? n - t0 : CHUNK;
        iir_sets(k, K, t0, len, co);
        if (!faulted)
            faulted = iir_check(k, K, t0, len, co, (size_t)set, w);
        tdf_forward_any(K, C, len, (coefs){co, (size_t)set, 0}, k->in[I_X].p + t0 * sx.t, sx,
                        k->out.p + (size_t)t0 * C, k->state);
    }
}

/* The adjoints of one set's taps from those of its normalised coefficients
 * d (beta_0..beta_K, alpha_1..alpha_K): db_0..db_K into out[0..K], da_0..da_K
 * into out[K+1..2K+1]. */
static void taps_adjoint(int K, const double *q, const double *d, double a0, double *out)
{
    double d0 = 0;
    for (int j = 0; j <= K; j++)
        d0 -= d[j] * q[j];
    for (int j = 1; j <= K; j++)
        d0 -= d[K + j] * q[K + j];
    for (int j = 0; j <= K; j++)
        out[j] = d[j] / a0;
    out[K + 1] = d0 / a0;
    for (int j = 1; j <= K; j++)
        out[K + 1 + j] = d[K + j] / a0;
}

/* Adds the adjoints of sets [len] into b and a: per sample for time-varying
 * taps, else into acc (M1 + N1). t: 2K + 2 doubles of scratch. */
static void iir_set_adjoint(const wf_kctx *k, int K, int t0, int len, const double *co,
                            const double *dco, size_t ct, double *acc, double *t)
{
    const wf_sig *b = &k->in[I_B], *a = &k->in[I_A];
    const wf_sig *db = &k->din[I_B], *da = &k->din[I_A];
    int M1 = b->chans, N1 = a->chans;
    for (int i = 0; i < (ct ? len : 1); i++) {
        double a0 = a->n > 1 ? (double)a->p[(size_t)(t0 + i) * N1] : const_at(a, 0);
        taps_adjoint(K, co + (size_t)i * ct, dco + (size_t)i * ct, a0, t);
        for (int j = 0; j < M1 && db->p; j++) {
            if (b->n > 1)
                db->p[(size_t)(t0 + i) * M1 + j] += (wf_real)t[j];
            else
                acc[j] += t[j];
        }
        for (int j = 0; j < N1 && da->p; j++) {
            if (a->n > 1)
                da->p[(size_t)(t0 + i) * N1 + j] += (wf_real)t[K + 1 + j];
            else
                acc[M1 + j] += t[K + 1 + j];
        }
    }
}

static void iir_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    int M1 = k->in[I_B].chans, N1 = k->in[I_A].chans, K = iir_order(M1, N1);
    int set = 2 * K + 1, tv = iir_varying(k);
    void *cur = k->work;
    double *co = wf_carve(&cur, sizeof(double) * CHUNK * (size_t)set);
    double *dco = wf_carve(&cur, sizeof(double) * CHUNK * (size_t)set);
    double *h = wf_carve(&cur, sizeof(double) * (size_t)C * (size_t)K);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * CHUNK * (size_t)C);
    double *acc = wf_carve(&cur, sizeof(double) * (size_t)(M1 + N1));
    double *tmp = wf_carve(&cur, sizeof(double) * (size_t)(2 * K + 2));
    /* inside a feedback loop h comes from the step after this one and goes
     * on to the one before, in the state (runtime/loop.c) */
    if (k->past)
        h = (double *)k->state + (size_t)C * (size_t)K;
    else
        memset(h, 0, sizeof(double) * (size_t)C * (size_t)K);
    memset(acc, 0, sizeof(double) * (size_t)(M1 + N1));
    memset(dco, 0, sizeof(double) * (size_t)set);
    int want_co = k->din[I_B].p || k->din[I_A].p;
    wf_stride sx = wf_stride_of(&k->in[I_X], &k->out);
    if (!tv)
        iir_sets(k, K, 0, 1, co);
    for (int t0 = (n - 1) / CHUNK * CHUNK; t0 >= 0; t0 -= CHUNK) {
        int len = n - t0 < CHUNK ? n - t0 : CHUNK;
        if (tv) {
            iir_sets(k, K, t0, len, co);
            memset(dco, 0, sizeof(double) * (size_t)len * (size_t)set);
        }
        if (k->din[I_X].p)
            memset(dx, 0, sizeof(wf_real) * (size_t)len * (size_t)C);
        coefs q = {co, tv ? (size_t)set : 0, 0};
        tdf_adjoint_any(K, C, len, q, k->in[I_X].p + t0 * sx.t, sx, k->out.p + (size_t)t0 * C,
                        k->dout->p + (size_t)t0 * C, h, k->din[I_X].p ? dx : NULL,
                        want_co ? dco : NULL);
        if (k->din[I_X].p)
            add_adjoint(&k->din[I_X], t0, dx, len, C);
        if (tv && want_co)
            iir_set_adjoint(k, K, t0, len, co, dco, (size_t)set, acc, tmp);
    }
    if (!tv && want_co)
        iir_set_adjoint(k, K, 0, 1, co, dco, 0, acc, tmp);
    for (int j = 0; j < M1 && k->din[I_B].p && k->in[I_B].n == 1; j++)
        k->din[I_B].p[j] += (wf_real)acc[j];
    for (int j = 0; j < N1 && k->din[I_A].p && k->in[I_A].n == 1; j++)
        k->din[I_A].p[j] += (wf_real)acc[M1 + j];
}

/* Gradient tests: a0 near 1 and sum |alpha_k| < 0.9, which keeps the poles
 * inside the unit circle (Rouche) at every sample, however the taps vary. */
static double iir_test_value(int input, int chan, int chans, double u)
{
    if (input != I_A)
        return 2 * u - 1;
    return chan == 0 ? 0.9 + 0.2 * u : (2 * u - 1) * 0.8 / (chans - 1);
}

const wf_node_kind wf_kind_iir = {
    .name = "iir",
    .family = "iir",
    .doc = "General IIR filter y = filt(b, a, x) of any order (transposed direct form II, "
           "double-precision state), taps constant, per frame or per sample; a0 is divided "
           "through. Time-varying taps act at the time of the sample they multiply. No clamp: "
           "poles on or outside the unit circle are reported (unstable-run when rendering, "
           "unstable-node in a fit) with the pole radius, checked once for constant a, at "
           "every sample for a of order <= 2, else at each frame's first sample. High orders "
           "are better run as sos(). May sit inside a feedback loop.",
    .args = iir_args,
    .nargs = 3,
    .flags = WF_KIND_STEPS,
    .keep = 7 | WF_KEEP_OUT,
    .infer = iir_infer,
    .size = iir_size,
    .forward = iir_forward,
    .backward = iir_backward,
    .test_value = iir_test_value,
};

/* ------------------------------------------------------------------ sos */

enum { S_X, S_SECTIONS };

static const wf_arg_spec sos_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter; every channel gets the same cascade", 0, NULL, -1,
     1},
    {"sections", WF_ARG_SIGNAL, NULL,
     "6 channels per section, b0 b1 b2 a0 a1 a2 each (scipy's sos rows), first section first; "
     "constant, per frame or per sample",
     0, NULL, 0, 1},
};

static int sos_infer(wf_infer *ic)
{
    int c = ic->in[S_SECTIONS].chans;
    if (c % 6 != 0) {
        wf_report_bad_sections(ic->d, ic->arg_loc[S_SECTIONS],
                               "give b0 b1 b2 a0 a1 a2 for each section, one after the other",
                               ic->name, c);
        return -1;
    }
    return infer_filter(ic, ic->in[S_X].chans);
}

/* A cascade of NS sections on input 0 (x) of k, whose normalised sets come
 * from the node's coefficient inputs through `sets`: the sets [len][NS] of
 * frames t0.. (one frame's when the coefficients are constant, tv = 0),
 * each fault reported when check is set (returns 1 after a report); and
 * whose sets' adjoints dco (laid out like the sets) go back to those inputs
 * through `adjoint`, when `want` (set by a backward) says any is wanted.
 * sos reads its rows, eq computes RBJ sets from its bands. */
typedef struct cascade {
    int NS, tv, want;
    int (*sets)(wf_kctx *k, void *ctx, int t0, int len, double *co, int check);
    void (*adjoint)(wf_kctx *k, void *ctx, int t0, int len, const double *co, const double *dco);
    void *ctx;
} cascade;

/* Samples beyond a block in the wavefront's input: its ramp (up to 4 * 8 - 1
 * steps). */
#define WAVE_PAD 40

/* Memory of a cascade: its state, the tape of every section's output but the
 * last, a chunk of sets and the wavefront's input in double forward, and two
 * (sets, adjoints) with the adjoint recursions' histories and two chunks of
 * signal adjoints backward. */
static void cascade_size(size_t NS, size_t C, int block, wf_sizes *s)
{
    /* 2 per section in the plain loops, 3 in the wavefront; then the
     * adjoint's histories between a loop's steps */
    s->state = NS * C * 5 * sizeof(double);
    s->saved = (NS - 1) * (size_t)block * C * sizeof(wf_real);
    s->work = bytes_d(CHUNK * NS * 5) + bytes_d((size_t)block + WAVE_PAD);
    s->bwork = 2 * bytes_d(CHUNK * NS * 5) + bytes_d(NS * C * 2) + 2 * bytes_r(CHUNK * C);
}

static void sos_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)e;
    cascade_size((size_t)in[S_SECTIONS].chans / 6, (size_t)g->shape.chans, block, s);
}

/* Normalised sets [len][NS] (or [NS] for constant sections) of frames t0... */
static void sos_sets(const wf_kctx *k, int t0, int len, double *co)
{
    const wf_sig *S = &k->in[S_SECTIONS];
    int NS = S->chans / 6;
    for (int i = 0; i < (S->n > 1 ? len : 1); i++)
        for (int j = 0; j < NS; j++) {
            double r[6];
            for (int m = 0; m < 6; m++)
                r[m] = S->n > 1 ? (double)S->p[(size_t)(t0 + i) * S->chans + 6 * j + m]
                                : const_at(S, (size_t)(6 * j + m));
            double *q = co + ((size_t)i * NS + j) * 5;
            q[0] = r[0] / r[3];
            q[1] = r[1] / r[3];
            q[2] = r[2] / r[3];
            q[3] = r[4] / r[3];
            q[4] = r[5] / r[3];
        }
}

/* The first unstable section of the sets of frames t0..t0+len, reported. */
static int sos_check(wf_kctx *k, int NS, int t0, int len, const double *co)
{
    for (int i = 0; i < len; i++)
        for (int j = 0; j < NS; j++) {
            const double *q = co + ((size_t)i * NS + j) * 5;
            if (!sets_finite(q, 5)) {
                char what[96];
                snprintf(what, sizeof what, "section %d has a coefficient that is not finite (a0 = 0?)",
                         j + 1);
                wf_kernel_fault(k, t0 + i, what);
                return 1;
            }
            if (!triangle_stable(q[3], q[4])) {
                char where[32];
                snprintf(where, sizeof where, " in section %d", j + 1);
                pole_fault(k, t0 + i, q + 2, 2, where);
                return 1;
            }
        }
    return 0;
}

#ifdef WAVEFRONT
/* One step of the wavefront below: group 0 takes [x y0 y1 y2] of group
 * G - 1 (vperm2f128, an in-lane shuffle), the others group g - 1 as it was;
 * masked, the stages with no sample at step t keep their state. */
static inline __attribute__((always_inline)) void
wave_step(int G, int monic, int masked, __m256d xv, int t, int n, const __m256d *B0,
          const __m256d *C1, const __m256d *C2, const __m256d *A1, const __m256d *A2,
          const __m256d *lane, __m256d *P1, __m256d *P2, __m256d *U, __m256d *Y)
{
    __m256d last = Y[G - 1];
    for (int g = G - 1; g >= 0; g--) {
        __m256d u = g ? Y[g - 1]
                      : _mm256_shuffle_pd(_mm256_permute2f128_pd(last, xv, 0x03), last, 5);
        __m256d yv = monic ? _mm256_add_pd(u, P1[g]) : _mm256_fmadd_pd(B0[g], u, P1[g]);
        __m256d w = _mm256_fnmadd_pd(A2[g], P2[g], _mm256_mul_pd(C2[g], U[g]));
        __m256d s1 = _mm256_fnmadd_pd(A1[g], P1[g], _mm256_fmadd_pd(C1[g], u, w));
        __m256d p2 = P1[g];
        if (masked) {
            __m256d at = _mm256_sub_pd(_mm256_set1_pd((double)t), lane[g]);
            __m256d on = _mm256_and_pd(_mm256_cmp_pd(at, _mm256_setzero_pd(), _CMP_GE_OQ),
                                       _mm256_cmp_pd(at, _mm256_set1_pd((double)n), _CMP_LT_OQ));
            yv = _mm256_blendv_pd(Y[g], yv, on);
            s1 = _mm256_blendv_pd(P1[g], s1, on);
            p2 = _mm256_blendv_pd(P2[g], p2, on);
            u = _mm256_blendv_pd(U[g], u, on);
        }
        Y[g] = yv;
        P2[g] = p2;
        P1[g] = s1;
        U[g] = u;
    }
}

/* *y = lane 3 of v (the cascade's output), times gain when monic. */
static inline void wave_out(__m256d v, wf_real *y, int monic, double gain)
{
    __m128d hi = _mm256_extractf128_pd(v, 1);
    double o = _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi));
    *y = (wf_real)(monic ? gain * o : o);
}

/* The constant cascade as a wavefront: stage L of W = 4 G (lane l of group
 * g for L = l G + g) is a section, which at step t filters sample t - L,
 * the output of stage L - 1 at the step before. Stages are interleaved
 * across the groups so that group g takes group g - 1's outputs lane for
 * lane and only group 0 shifts its input (group G - 1's lanes moved up one,
 * x in lane 0): the step-to-step dependence through the outputs is then G
 * operations and one shift per G steps. The NS sections take the last
 * stages, so the cascade's output is always lane 3 of group G - 1 (read
 * from the registers); the off = W - NS stages in front pass their input
 * through (b0 = 1, the rest 0, exactly). Steps where some stages have no
 * sample (the first and last W - 1) keep those stages' state as it was, so
 * the state at the end is that of every section after sample n - 1.
 *
 * Each section is the transposed form with its first state's recursion
 * written out, so that a step's only dependence on the step before is
 * through s1[t-1] and u[t] (the second state s2[t-1] = c2 u[t-1] - a2
 * s1[t-2] would put three multiply-adds in a row): with u the section's
 * input,
 *   y[t]  = b0 u[t] + s1[t-1],
 *   s1[t] = (c1 u[t] + (c2 u[t-1] - a2 s1[t-2])) - a1 s1[t-1],
 * c1 = b1 - a1 b0, c2 = b2 - a2 b0. The bracket is known a step early, and
 * s1[t-1] is added last, so that the state's own recursion (the loop's
 * longest cycle once the outputs are additions, below) is one multiply-add
 * a step; u[t] reaches s1[t] through two, on the way to the next step's
 * output.
 *
 * Monic form (monic != 0): the sections' b0 are moved to the end of the
 * cascade, so that each stage's output is an addition, y'[t] = u'[t] +
 * s1'[t-1], with c1' = b1/b0 - a1, c2' = b2/b0 - a2: section j's signals
 * are those of the plain form divided by P_j = b0_0 ... b0_j (its input by
 * P_{j-1}), the cascade's output is P_{NS-1} times lane 3, and the state
 * (and the tape) stay in the plain form's units. The caller uses it when
 * every P_j is a normal number far from overflow (b0 = 0, a delayed
 * numerator, is not monic).
 *
 * The state per section and channel is (s1[t-1], s1[t-2], u[t-1]). The
 * input is made double in a pass of its own into buf (n + WAVE_PAD
 * doubles), so that a step loads its sample as a broadcast; the steady
 * steps (all stages busy, no tape) run in a loop of their own, with nothing
 * in it but the recursion and the output's store. Writes channel c of y,
 * and the sections' outputs into tape[s] when not NULL.
 *
 * Measured on the Zen 4 machine of the W5b figures: the monic form with the
 * order above, 8.2 against 9.0 cycles a sample for the plain form with u[t]
 * added last (the two alternated in one process); the input pass, the same
 * in the machine's quiet periods and 1.2x to 1.3x faster in its slow ones,
 * when the wavefront's times nearly double while Faust's scalar code barely
 * changes (an output pass as well measured 10 % slower); the loop of its
 * own, with each form a function of its own (below), 1.5x (W5b, 12 paired
 * runs of the benchmark, median 2.13 -> 1.37 ms). AVX-512 is not used: eight
 * stages to a vector (one group for W5b) put a shift on every step's path,
 * and measured slower than two groups of four on Zen 4, which runs 512-bit
 * operations as two halves. */
static inline __attribute__((always_inline)) void
wavefront(int G, int monic, int NS, int C, int c, int n, const double *co, const wf_real *xp,
          wf_stride sx, wf_real *y, double *st, wf_real *tape, size_t tstride, double *buf)
{
    enum { MAXG = 8 };
    __m256d B0[MAXG], C1[MAXG], C2[MAXG], A1[MAXG], A2[MAXG], P1[MAXG], P2[MAXG], U[MAXG];
    __m256d Y[MAXG], lane[MAXG];
    const int W = 4 * G, off = W - NS;
    double scale[4 * MAXG]; /* P_s of section s (1 when plain) */
    for (int s = 0; s < NS; s++)
        scale[s] = monic ? (s ? scale[s - 1] : 1) * co[5 * s] : 1;
    for (int g = 0; g < G; g++) {
        double v[8][4];
        for (int l = 0; l < 4; l++) {
            int s = l * G + g - off;
            const double *q = co + 5 * (s >= 0 ? s : 0);
            const double *w = st + ((size_t)(s >= 0 ? s : 0) * C + c) * 3;
            double b0 = monic ? 1 : q[0], r = monic ? 1 / q[0] : 1;
            double pout = s >= 0 ? scale[s] : 1, pin = s > 0 ? scale[s - 1] : 1;
            v[0][l] = s >= 0 ? b0 : 1;
            v[1][l] = s >= 0 ? q[1] * r - q[3] * b0 : 0;
            v[2][l] = s >= 0 ? q[2] * r - q[4] * b0 : 0;
            v[3][l] = s >= 0 ? q[3] : 0;
            v[4][l] = s >= 0 ? q[4] : 0;
            v[5][l] = s >= 0 ? w[0] / pout : 0;
            v[6][l] = s >= 0 ? w[1] / pout : 0;
            v[7][l] = s >= 0 ? w[2] / pin : 0;
        }
        B0[g] = _mm256_loadu_pd(v[0]);
        C1[g] = _mm256_loadu_pd(v[1]);
        C2[g] = _mm256_loadu_pd(v[2]);
        A1[g] = _mm256_loadu_pd(v[3]);
        A2[g] = _mm256_loadu_pd(v[4]);
        P1[g] = _mm256_loadu_pd(v[5]);
        P2[g] = _mm256_loadu_pd(v[6]);
        U[g] = _mm256_loadu_pd(v[7]);
        Y[g] = _mm256_setzero_pd();
        lane[g] = _mm256_set_pd(3 * G + g, 2 * G + g, G + g, g);
    }
    const double gain = scale[NS - 1];
    double out[4], *xd = buf;
    for (int t = 0; t < n; t++)
        xd[t] = (double)xp[WF_AT(sx, t, c)];
    for (int t = n; t < n + W - 1; t++)
        xd[t] = 0;
    /* the first and last W - 1 steps, and all of them with a tape, in the
     * general loop; the others in one of their own, where nothing but the
     * recursion is left in the loop */
    int t = 0;
    for (; t < n + W - 1; t++) {
        if (t == W - 1 && !tape) /* ends at n, where the ramp out starts (W > 1) */
            for (; t < n; t++) {
                wave_step(G, monic, 0, _mm256_broadcast_sd(xd + t), t, n, B0, C1, C2, A1, A2,
                          lane, P1, P2, U, Y);
                wave_out(Y[G - 1], y + (size_t)(t - (W - 1)) * C + c, monic, gain);
            }
        if (t >= W - 1 && t < n)
            wave_step(G, monic, 0, _mm256_broadcast_sd(xd + t), t, n, B0, C1, C2, A1, A2, lane,
                      P1, P2, U, Y);
        else
            wave_step(G, monic, 1, _mm256_broadcast_sd(xd + t), t, n, B0, C1, C2, A1, A2, lane,
                      P1, P2, U, Y);
        for (int g = 0; tape && g < G; g++) {
            _mm256_storeu_pd(out, Y[g]);
            for (int l = 0; l < 4; l++) {
                int L = l * G + g, s = L - off;
                if (s >= 0 && s < NS - 1 && t - L >= 0 && t - L < n)
                    tape[(size_t)s * tstride + (size_t)(t - L) * C + c] =
                        (wf_real)(out[l] * scale[s]);
            }
        }
        if (t >= W - 1)
            wave_out(Y[G - 1], y + (size_t)(t - (W - 1)) * C + c, monic, gain);
    }
    for (int g = 0; g < G; g++) {
        double v[3][4];
        _mm256_storeu_pd(v[0], P1[g]);
        _mm256_storeu_pd(v[1], P2[g]);
        _mm256_storeu_pd(v[2], U[g]);
        for (int l = 0; l < 4; l++) {
            int s = l * G + g - off;
            if (s < 0)
                continue;
            double *w = st + ((size_t)s * C + c) * 3;
            w[0] = v[0][l] * scale[s];
            w[1] = v[1][l] * scale[s];
            w[2] = v[2][l] * (s ? scale[s - 1] : 1);
        }
    }
}

/* The wavefront for one or two groups, plain or monic, each a function of
 * its own: inlined together into cascade_wavefront, gcc kept some of the
 * groups' vectors on the stack even in the steady loop, a store and a load
 * on the recursion's path. */
#define WAVEFRONT_ARGS                                                                             \
    int NS, int C, int c, int n, const double *co, const wf_real *xp, wf_stride sx, wf_real *y,   \
        double *st, wf_real *tape, size_t tstride, double *buf
#define WAVEFRONT_PASS NS, C, c, n, co, xp, sx, y, st, tape, tstride, buf
static __attribute__((noinline)) void wavefront_1p(WAVEFRONT_ARGS)
{
    wavefront(1, 0, WAVEFRONT_PASS);
}
static __attribute__((noinline)) void wavefront_1m(WAVEFRONT_ARGS)
{
    wavefront(1, 1, WAVEFRONT_PASS);
}
static __attribute__((noinline)) void wavefront_2p(WAVEFRONT_ARGS)
{
    wavefront(2, 0, WAVEFRONT_PASS);
}
static __attribute__((noinline)) void wavefront_2m(WAVEFRONT_ARGS)
{
    wavefront(2, 1, WAVEFRONT_PASS);
}
static __attribute__((noinline)) void wavefront_any(int G, int monic, WAVEFRONT_ARGS)
{
    wavefront(G, monic, WAVEFRONT_PASS);
}

/* Whether the monic wavefront may run the ns sections at co: every running
 * product of their b0 a normal number within 1e+-150 of one, so that no
 * stage's signal, divided by it, comes near overflow or underflow. */
static int monic_ok(int ns, const double *co)
{
    double p = 1;
    for (int s = 0; s < ns; s++) {
        p *= co[5 * s];
        if (!(fabs(p) > 1e-150 && fabs(p) < 1e150))
            return 0;
    }
    return 1;
}

/* Up to 32 sections at a time, the groups' count and the form constants
 * for the compiler (so the vectors stay in registers); longer cascades in
 * pieces. */
static void cascade_wavefront(wf_kctx *k, int NS, const double *co)
{
    int n = k->out.n, C = k->out.chans;
    wf_stride sx = wf_stride_of(&k->in[0], &k->out), sy = {(size_t)C, 1, 1};
    const wf_real *src = k->in[0].p;
    wf_real *tape = k->saved;
    size_t tstride = (size_t)k->block * (size_t)C;
    double *buf = (double *)k->work + CHUNK * NS * 5 + 8;
    for (int s0 = 0; s0 < NS; s0 += 32) {
        int ns = NS - s0 < 32 ? NS - s0 : 32, G = (ns + 3) / 4;
        const double *q = co + (size_t)s0 * 5;
        int monic = monic_ok(ns, q);
        double *st = (double *)k->state + (size_t)s0 * C * 3;
        wf_real *tp = tape ? tape + (size_t)s0 * tstride : NULL;
        /* the last section of a piece that is not the cascade's last goes to the tape too */
        for (int c = 0; c < C; c++) {
            if (G == 1 && monic)
                wavefront_1m(ns, C, c, n, q, src, sx, k->out.p, st, tp, tstride, buf);
            else if (G == 1)
                wavefront_1p(ns, C, c, n, q, src, sx, k->out.p, st, tp, tstride, buf);
            else if (G == 2 && monic)
                wavefront_2m(ns, C, c, n, q, src, sx, k->out.p, st, tp, tstride, buf);
            else if (G == 2)
                wavefront_2p(ns, C, c, n, q, src, sx, k->out.p, st, tp, tstride, buf);
            else
                wavefront_any(G, monic, ns, C, c, n, q, src, sx, k->out.p, st, tp, tstride, buf);
        }
        if (tape && s0 + ns < NS)
            memcpy(tape + (size_t)(s0 + ns - 1) * tstride, k->out.p, sizeof(wf_real) * (size_t)n * C);
        src = k->out.p;
        sx = sy;
    }
}
#endif

static void cascade_forward(wf_kctx *k, const cascade *cs)
{
    int n = k->out.n, C = k->out.chans, NS = cs->NS, tv = cs->tv, faulted = 0;
    double *co = k->work;
    wf_stride sx = wf_stride_of(&k->in[0], &k->out), sy = {(size_t)C, 1, 1};
    size_t tstride = (size_t)k->block * (size_t)C, ct = tv ? (size_t)NS * 5 : 0;
    if (!tv) {
        cs->sets(k, cs->ctx, 0, 1, co, 1);
#ifdef WAVEFRONT
        if (NS >= 2) {
            cascade_wavefront(k, NS, co);
            return;
        }
#endif
    }
    /* section by section over each chunk, in place in the output */
    for (int t0 = 0; t0 < n; t0 += CHUNK) {
        int len = n - t0 < CHUNK ? n - t0 : CHUNK;
        if (tv)
            faulted |= cs->sets(k, cs->ctx, t0, len, co, !faulted);
        wf_real *y = k->out.p + (size_t)t0 * C;
        for (int j = 0; j < NS; j++) {
            coefs q = {co + (size_t)j * 5, ct, 0};
            double *st = (double *)k->state + (size_t)j * C * 2;
            if (j == 0)
                tdf_forward_any(2, C, len, q, k->in[0].p + t0 * sx.t, sx, y, st);
            else
                tdf_forward_any(2, C, len, q, y, sy, y, st);
            if (k->saved && j < NS - 1)
                memcpy((wf_real *)k->saved + (size_t)j * tstride + (size_t)t0 * C, y,
                       sizeof(wf_real) * (size_t)len * C);
        }
    }
}

/* The sections' adjoints in reverse order, chunk by chunk from the end; cur:
 * the backward scratch after what the caller carved for itself. */
static void cascade_backward(wf_kctx *k, const cascade *cs, void *cur)
{
    int n = k->out.n, C = k->out.chans, NS = cs->NS, tv = cs->tv;
    size_t set = (size_t)NS * 5, tstride = (size_t)k->block * (size_t)C, ct = tv ? set : 0;
    double *co = wf_carve(&cur, sizeof(double) * CHUNK * set);
    double *dco = wf_carve(&cur, sizeof(double) * CHUNK * set);
    double *h = wf_carve(&cur, sizeof(double) * (size_t)NS * C * 2);
    wf_real *ga = wf_carve(&cur, sizeof(wf_real) * CHUNK * (size_t)C);
    wf_real *gb = wf_carve(&cur, sizeof(wf_real) * CHUNK * (size_t)C);
    if (k->past) /* as iir's */
        h = (double *)k->state + (size_t)NS * C * 3;
    else
        memset(h, 0, sizeof(double) * (size_t)NS * C * 2);
    memset(dco, 0, sizeof(double) * set);
    const wf_real *tape = k->saved;
    wf_stride sx = wf_stride_of(&k->in[0], &k->out), sy = {(size_t)C, 1, 1};
    if (!tv)
        cs->sets(k, cs->ctx, 0, 1, co, 0);
    for (int t0 = (n - 1) / CHUNK * CHUNK; t0 >= 0; t0 -= CHUNK) {
        int len = n - t0 < CHUNK ? n - t0 : CHUNK;
        if (tv) {
            cs->sets(k, cs->ctx, t0, len, co, 0);
            memset(dco, 0, sizeof(double) * (size_t)len * set);
        }
        const wf_real *g = k->dout->p + (size_t)t0 * C;
        for (int j = NS - 1; j >= 0; j--) {
            int want_dx = j > 0 || k->din[0].p;
            wf_real *dx = g == ga ? gb : ga;
            if (want_dx)
                memset(dx, 0, sizeof(wf_real) * (size_t)len * C);
            const wf_real *xj = j == 0 ? k->in[0].p + t0 * sx.t
                                       : tape + (size_t)(j - 1) * tstride + (size_t)t0 * C;
            const wf_real *yj = j == NS - 1 ? k->out.p + (size_t)t0 * C
                                            : tape + (size_t)j * tstride + (size_t)t0 * C;
            coefs q = {co + (size_t)j * 5, ct, 0};
            tdf_adjoint_any(2, C, len, q, xj, j == 0 ? sx : sy, yj, g, h + (size_t)j * C * 2,
                            want_dx ? dx : NULL, cs->want ? dco + (size_t)j * 5 : NULL);
            g = dx;
        }
        if (k->din[0].p)
            add_adjoint(&k->din[0], t0, g, len, C);
        if (tv && cs->want)
            cs->adjoint(k, cs->ctx, t0, len, co, dco);
    }
    if (!tv && cs->want)
        cs->adjoint(k, cs->ctx, 0, 1, co, dco);
}

static int sos_sets_checked(wf_kctx *k, void *ctx, int t0, int len, double *co, int check)
{
    (void)ctx;
    int NS = k->in[S_SECTIONS].chans / 6, tv = k->in[S_SECTIONS].n > 1;
    sos_sets(k, t0, len, co);
    return check ? sos_check(k, NS, t0, tv ? len : 1, co) : 0;
}

/* The sets' adjoints into the rows: per sample for time-varying sections,
 * else into the constant rows. */
static void sos_adjoint(wf_kctx *k, void *ctx, int t0, int len, const double *co,
                        const double *dco)
{
    (void)ctx;
    const wf_sig *S = &k->in[S_SECTIONS], *dS = &k->din[S_SECTIONS];
    int NS = S->chans / 6, tv = S->n > 1;
    double tap[6];
    for (int i = 0; i < (tv ? len : 1); i++)
        for (int j = 0; j < NS; j++) {
            size_t o = ((size_t)i * NS + j) * 5, row = tv ? (size_t)(t0 + i) * S->chans : 0;
            double a0 = tv ? (double)S->p[row + 6 * j + 3] : const_at(S, (size_t)(6 * j + 3));
            taps_adjoint(2, co + o, dco + o, a0, tap);
            for (int m = 0; m < 6; m++)
                dS->p[row + 6 * j + m] += (wf_real)tap[m];
        }
}

static cascade sos_cascade(const wf_kctx *k)
{
    cascade cs = {k->in[S_SECTIONS].chans / 6, k->in[S_SECTIONS].n > 1, 0, sos_sets_checked,
                  sos_adjoint, NULL};
    return cs;
}

static void sos_forward(wf_kctx *k)
{
    cascade cs = sos_cascade(k);
    cascade_forward(k, &cs);
}

static void sos_backward(wf_kctx *k)
{
    cascade cs = sos_cascade(k);
    cs.want = k->din[S_SECTIONS].p != NULL;
    cascade_backward(k, &cs, k->work);
}

/* Gradient tests: each row (b0 b1 b2 a0 a1 a2) with a0 near 1, |a1| < 0.5
 * and |a2| < 0.3, inside the stability triangle at every sample. */
static double sos_test_value(int input, int chan, int chans, double u)
{
    (void)chans;
    if (input != S_SECTIONS)
        return 2 * u - 1;
    switch (chan % 6) {
    case 3:
        return 0.9 + 0.2 * u;
    case 4:
        return (2 * u - 1) * 0.5;
    case 5:
        return (2 * u - 1) * 0.3;
    default:
        return 2 * u - 1;
    }
}

const wf_node_kind wf_kind_sos = {
    .name = "sos",
    .family = "iir",
    .doc = "Cascade of second-order sections (scipy's sosfilt): sections holds b0 b1 b2 a0 a1 "
           "a2 per section, constant, per frame or per sample, each section divided through by "
           "its a0; the stable way to run high orders. Constant cascades run as a wavefront "
           "across their sections in double precision. No clamp: a section whose poles reach "
           "the unit circle (|a2/a0| >= 1 or |a1/a0| >= 1 + a2/a0) is reported (unstable-run, "
           "unstable-node) with its pole radius, at every sample. May sit inside a feedback "
           "loop.",
    .args = sos_args,
    .nargs = 2,
    .flags = WF_KIND_STEPS,
    .keep = 3 | WF_KEEP_OUT,
    .infer = sos_infer,
    .size = sos_size,
    .forward = sos_forward,
    .backward = sos_backward,
    .test_value = sos_test_value,
};

/* --------------------------------------------------------------- biquad */

enum { Q_X, Q_FREQ, Q_Q, Q_GAIN };
enum { LOWPASS, HIGHPASS, BANDPASS, NOTCH, PEAK, LOWSHELF, HIGHSHELF, ALLPASS };

static const char *const biquad_kinds[] = {"lowpass", "highpass",  "bandpass", "notch", "peak",
                                           "lowshelf", "highshelf", "allpass",  NULL};

static const wf_arg_spec biquad_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter", 0, NULL, -1, 1},
    {"kind", WF_ARG_ENUM, "lowpass", "the RBJ cookbook response", 0, biquad_kinds, 0, 0},
    {"freq", WF_ARG_SIGNAL, "1000",
     "cutoff, centre or shelf corner in Hz, inside (0, Nyquist)", 0, NULL, 300, 2000},
    {"q", WF_ARG_SIGNAL, "0.7071", "quality factor, > 0 (0.7071: Butterworth)", 0, NULL, 0.5, 2},
    {"gain", WF_ARG_SIGNAL, "0", "peak and shelf gain in dB", 0, NULL, -6, 6},
};

/* A value and its derivatives in (freq, q, gain). */
typedef struct dn {
    double v, d[3];
} dn;

static inline dn dn_c(double v)
{
    dn r = {v, {0, 0, 0}};
    return r;
}

static inline dn dn_add(dn a, dn b)
{
    dn r = {a.v + b.v, {a.d[0] + b.d[0], a.d[1] + b.d[1], a.d[2] + b.d[2]}};
    return r;
}

static inline dn dn_sub(dn a, dn b)
{
    dn r = {a.v - b.v, {a.d[0] - b.d[0], a.d[1] - b.d[1], a.d[2] - b.d[2]}};
    return r;
}

static inline dn dn_mul(dn a, dn b)
{
    dn r = {a.v * b.v,
            {a.d[0] * b.v + a.v * b.d[0], a.d[1] * b.v + a.v * b.d[1], a.d[2] * b.v + a.v * b.d[2]}};
    return r;
}

static inline dn dn_scale(dn a, double s)
{
    dn r = {a.v * s, {a.d[0] * s, a.d[1] * s, a.d[2] * s}};
    return r;
}

static inline dn dn_div(dn a, dn b)
{
    double v = a.v / b.v, inv = 1 / b.v;
    dn r = {v, {(a.d[0] - v * b.d[0]) * inv, (a.d[1] - v * b.d[1]) * inv, (a.d[2] - v * b.d[2]) * inv}};
    return r;
}

/* The normalised set (beta_0 beta_1 beta_2 alpha_1 alpha_2) of one kind at
 * (f, q, gain), and its Jacobian jac[5][3] when not NULL. */
static void rbj(int kind, double f, double q, double gain, double sr, double *set, double *jac)
{
    double dw = 2 * PI / sr, w0 = f * dw, cw = cos(w0), sw = sin(w0);
    dn c = {cw, {-sw * dw, 0, 0}}, s = {sw, {cw * dw, 0, 0}};
    dn Q = {q, {0, 1, 0}};
    dn al = dn_div(s, dn_scale(Q, 2));
    double Av = pow(10, gain / 40);
    dn A = {Av, {0, 0, Av * log(10) / 40}}, sA = {sqrt(Av), {0, 0, sqrt(Av) * log(10) / 80}};
    dn one = dn_c(1), b[3], a[3];
    a[0] = dn_add(one, al);
    a[1] = dn_scale(c, -2);
    a[2] = dn_sub(one, al);
    switch (kind) {
    case LOWPASS:
        b[1] = dn_sub(one, c);
        b[0] = b[2] = dn_scale(b[1], 0.5);
        break;
    case HIGHPASS:
        b[0] = b[2] = dn_scale(dn_add(one, c), 0.5);
        b[1] = dn_scale(dn_add(one, c), -1);
        break;
    case BANDPASS:
        b[0] = al;
        b[1] = dn_c(0);
        b[2] = dn_scale(al, -1);
        break;
    case NOTCH:
        b[0] = b[2] = one;
        b[1] = a[1];
        break;
    case ALLPASS:
        b[0] = a[2];
        b[1] = a[1];
        b[2] = a[0];
        break;
    case PEAK: {
        dn aA = dn_mul(al, A), adA = dn_div(al, A);
        b[0] = dn_add(one, aA);
        b[1] = a[1];
        b[2] = dn_sub(one, aA);
        a[0] = dn_add(one, adA);
        a[2] = dn_sub(one, adA);
        break;
    }
    default: { /* shelves: sg = +1 low, -1 high */
        double sg = kind == LOWSHELF ? 1 : -1;
        dn Ap = dn_add(A, one), Am = dn_sub(A, one), sa2 = dn_scale(dn_mul(sA, al), 2);
        dn Amc = dn_scale(dn_mul(Am, c), sg), Apc = dn_mul(Ap, c);
        b[0] = dn_mul(A, dn_add(dn_sub(Ap, Amc), sa2));
        b[1] = dn_scale(dn_mul(A, dn_sub(Am, dn_scale(Apc, sg))), 2 * sg);
        b[2] = dn_mul(A, dn_sub(dn_sub(Ap, Amc), sa2));
        a[0] = dn_add(dn_add(Ap, Amc), sa2);
        a[1] = dn_scale(dn_add(Am, dn_scale(Apc, sg)), -2 * sg);
        a[2] = dn_sub(dn_add(Ap, Amc), sa2);
        break;
    }
    }
    dn r[5] = {dn_div(b[0], a[0]), dn_div(b[1], a[0]), dn_div(b[2], a[0]), dn_div(a[1], a[0]),
               dn_div(a[2], a[0])};
    for (int j = 0; j < 5; j++) {
        set[j] = r[j].v;
        if (jac)
            for (int p = 0; p < 3; p++)
                jac[j * 3 + p] = r[j].d[p];
    }
}

/* RBJ sets from freq, q and gain inputs: biquad's, one kind for every
 * channel, or eq's, whose coefficient channels are its bands (a low shelf,
 * peaks, a high shelf). */
typedef struct bq {
    int kind, C, Cc, tv; /* channels of the output, of the coefficients; time-varying */
    int bands;           /* eq: channel j of the coefficients is band j */
    int in[3];           /* the inputs of freq, q and gain */
    size_t ct, cc;
} bq;

static bq bq_from(const wf_kctx *k, int kind, int bands, int f, int q, int g)
{
    bq b = {kind, k->out.chans, 1, 0, bands, {f, q, g}, 0, 0};
    for (int p = 0; p < 3; p++) {
        if (k->in[b.in[p]].chans > b.Cc)
            b.Cc = k->in[b.in[p]].chans;
        b.tv |= k->in[b.in[p]].n > 1;
    }
    b.cc = b.Cc > 1 ? 5 : 0;
    b.ct = b.tv ? (size_t)b.Cc * 5 : 0;
    return b;
}

static bq bq_of(const wf_kctx *k)
{
    return bq_from(k, (int)wf_opt_num(k->node, 1, 0), 0, Q_FREQ, Q_Q, Q_GAIN);
}

static int bq_kind(const bq *b, int c)
{
    if (!b->bands)
        return b->kind;
    return c == 0 ? LOWSHELF : c == b->Cc - 1 ? HIGHSHELF : PEAK;
}

static inline double bq_par(const wf_sig *s, int t, int c)
{
    size_t j = (size_t)(s->chans > 1 ? c : 0);
    return s->n > 1 ? (double)s->p[(size_t)t * s->chans + j] : const_at(s, j);
}

/* Sets (and Jacobians) of frames t0..t0+len ([len][Cc], or [Cc] when
 * constant); reports the first freq or q out of range when k allows. */
static int bq_sets(wf_kctx *k, const bq *b, int t0, int len, double *co, double *jac, int check)
{
    double sr = k->env->sr;
    int bad = 0;
    for (int i = 0; i < (b->tv ? len : 1); i++)
        for (int c = 0; c < b->Cc; c++) {
            double f = bq_par(&k->in[b->in[0]], t0 + i, c), q = bq_par(&k->in[b->in[1]], t0 + i, c);
            double g = bq_par(&k->in[b->in[2]], t0 + i, c);
            size_t o = (size_t)i * b->Cc + c;
            rbj(bq_kind(b, c), f, q, g, sr, co + o * 5, jac ? jac + o * 15 : NULL);
            if (check && !bad && !(f > 0 && f < sr / 2 && q > 0 && isfinite(g))) {
                char what[96], band[24] = "";
                if (b->bands)
                    snprintf(band, sizeof band, "band %d: ", c + 1);
                if (!(f > 0 && f < sr / 2))
                    snprintf(what, sizeof what, "%sfreq %.6g Hz outside (0, %.6g)", band, f, sr / 2);
                else if (!(q > 0))
                    snprintf(what, sizeof what, "%sq %.6g not positive", band, q);
                else
                    snprintf(what, sizeof what, "%sgain %.6g dB not finite", band, g);
                wf_kernel_fault(k, t0 + i, what);
                bad = 1;
            }
        }
    return bad;
}

static void biquad_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                        wf_sizes *s)
{
    (void)e;
    (void)block;
    (void)in;
    size_t C = (size_t)g->shape.chans, sets = CHUNK * C;
    s->state = C * 4 * sizeof(double); /* (s1, s2), then the adjoint's h between a loop's steps */
    s->work = bytes_d(sets * 5);
    s->bwork = 2 * bytes_d(sets * 5) + bytes_d(sets * 15) + bytes_d(C * 2) + bytes_r(CHUNK * C) +
               bytes_d(3 * C);
}

static void biquad_forward(wf_kctx *k)
{
    int n = k->out.n;
    bq b = bq_of(k);
    double *co = k->work;
    int faulted = 0;
    wf_stride sx = wf_stride_of(&k->in[Q_X], &k->out);
    if (!b.tv) {
        bq_sets(k, &b, 0, 1, co, NULL, 1);
        tdf_forward_any(2, b.C, n, (coefs){co, 0, b.cc}, k->in[Q_X].p, sx, k->out.p, k->state);
        return;
    }
    for (int t0 = 0; t0 < n; t0 += CHUNK) {
        int len = n - t0 < CHUNK ? n - t0 : CHUNK;
        faulted |= bq_sets(k, &b, t0, len, co, NULL, !faulted);
        tdf_forward(2, b.C, len, (coefs){co, b.ct, b.cc}, k->in[Q_X].p + t0 * sx.t, sx,
                    k->out.p + (size_t)t0 * b.C, k->state);
    }
}

/* Adds the adjoints of freq, q and gain from the sets' adjoints dco: per
 * sample into time-varying ones, else into acc [3][Cc]. */
static void bq_params_adjoint(const wf_kctx *k, const bq *b, int t0, int len, const double *dco,
                              const double *jac, double *acc)
{
    for (int i = 0; i < (b->tv ? len : 1); i++)
        for (int c = 0; c < b->Cc; c++) {
            size_t o = (size_t)i * b->Cc + c;
            const double *d = dco + o * 5, *J = jac + o * 15;
            for (int p = 0; p < 3; p++) {
                const wf_sig *ds = &k->din[b->in[p]];
                if (!ds->p)
                    continue;
                double v = 0;
                for (int j = 0; j < 5; j++)
                    v += d[j] * J[j * 3 + p];
                size_t jc = (size_t)(ds->chans > 1 ? c : 0);
                if (ds->n > 1)
                    ds->p[(size_t)(t0 + i) * ds->chans + jc] += (wf_real)v;
                else
                    acc[(size_t)p * b->Cc + jc] += v;
            }
        }
}

/* The sums acc [3][Cc] into the constant ones of freq, q and gain. */
static void bq_flush(const wf_kctx *k, const bq *b, const double *acc)
{
    for (int p = 0; p < 3; p++) {
        const wf_sig *ds = &k->din[b->in[p]];
        if (ds->p && ds->n == 1)
            for (int c = 0; c < ds->chans; c++)
                ds->p[c] += (wf_real)acc[(size_t)p * b->Cc + c];
    }
}

static void biquad_backward(wf_kctx *k)
{
    int n = k->out.n;
    bq b = bq_of(k);
    int C = b.C;
    size_t sets = (size_t)CHUNK * b.Cc;
    void *cur = k->work;
    double *co = wf_carve(&cur, sizeof(double) * sets * 5);
    double *dco = wf_carve(&cur, sizeof(double) * sets * 5);
    double *jac = wf_carve(&cur, sizeof(double) * sets * 15);
    /* inside a feedback loop the adjoint's h comes from the step after this
     * one and goes on to the one before, in the state (runtime/loop.c) */
    double *h = wf_carve(&cur, sizeof(double) * (size_t)C * 2);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * CHUNK * (size_t)C);
    double *acc = wf_carve(&cur, sizeof(double) * 3 * (size_t)b.Cc);
    if (k->past)
        h = (double *)k->state + 2 * (size_t)C;
    else
        memset(h, 0, sizeof(double) * (size_t)C * 2);
    memset(acc, 0, sizeof(double) * 3 * (size_t)b.Cc);
    memset(dco, 0, sizeof(double) * (size_t)b.Cc * 5);
    int want_co = k->din[Q_FREQ].p || k->din[Q_Q].p || k->din[Q_GAIN].p;
    wf_stride sx = wf_stride_of(&k->in[Q_X], &k->out);
    if (!b.tv)
        bq_sets(k, &b, 0, 1, co, jac, 0);
    for (int t0 = (n - 1) / CHUNK * CHUNK; t0 >= 0; t0 -= CHUNK) {
        int len = n - t0 < CHUNK ? n - t0 : CHUNK;
        if (b.tv) {
            bq_sets(k, &b, t0, len, co, want_co ? jac : NULL, 0);
            memset(dco, 0, sizeof(double) * (size_t)len * b.Cc * 5);
        }
        if (k->din[Q_X].p)
            memset(dx, 0, sizeof(wf_real) * (size_t)len * C);
        tdf_adjoint_any(2, C, len, (coefs){co, b.ct, b.cc}, k->in[Q_X].p + t0 * sx.t, sx,
                    k->out.p + (size_t)t0 * C, k->dout->p + (size_t)t0 * C, h,
                    k->din[Q_X].p ? dx : NULL, want_co ? dco : NULL);
        if (k->din[Q_X].p)
            add_adjoint(&k->din[Q_X], t0, dx, len, C);
        if (b.tv && want_co)
            bq_params_adjoint(k, &b, t0, len, dco, jac, acc);
    }
    if (!b.tv && want_co)
        bq_params_adjoint(k, &b, 0, 1, dco, jac, acc);
    bq_flush(k, &b, acc);
}

const wf_node_kind wf_kind_biquad = {
    .name = "biquad",
    .family = "iir",
    .doc = "RBJ Audio EQ Cookbook biquad: lowpass, highpass, bandpass (0 dB peak), notch, peak, "
           "lowshelf, highshelf, allpass; freq (Hz), q and gain (dB, peak and shelves) constant, "
           "per frame (interpolated per sample) or per sample, with gradients into each. Stable "
           "for freq in (0, Nyquist) and q > 0; these are not reparametrised or clamped: declare "
           "the params that drive them with bounds, e.g. `param cutoff = 1 khz in [20 hz, 8 khz] "
           "log`, which a fit keeps by projection. A freq or q outside is reported "
           "(unstable-run when rendering, unstable-node in a fit) with the value and its time. "
           "May sit inside a feedback loop.",
    .args = biquad_args,
    .nargs = 5,
    .flags = WF_KIND_STEPS,
    .keep = 15 | WF_KEEP_OUT,
    .infer = wf_infer_generator,
    .size = biquad_size,
    .forward = biquad_forward,
    .backward = biquad_backward,
};

/* ------------------------------------------------------------------- eq */

enum { E_X, E_GAIN, E_FREQ, E_Q };

static const wf_arg_spec eq_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to equalise; every channel gets the same bands", 0, NULL,
     -1, 1},
    {"gain", WF_ARG_SIGNAL, "0",
     "gain of each band in dB, one channel per band: the low shelf, the peaks, the high shelf "
     "(dasp's range: -20 to 20 dB)",
     0, NULL, -6, 6},
    {"freq", WF_ARG_SIGNAL, "[200, 400, 4000, 9800, 16000, 9200]",
     "shelf corner or peak centre of each band in Hz, inside (0, Nyquist); the default is "
     "dasp's six bands, each at the geometric middle of dasp's range for it",
     0, NULL, 300, 2000},
    {"q", WF_ARG_SIGNAL, "0.7071", "quality factor of each band, > 0 (dasp's range: 0.1 to 6)", 0,
     NULL, 0.5, 2},
};

/* Bands from the channels of gain, freq and q (each one channel, or one
 * per band); the output has x's channels. */
static int eq_infer(wf_infer *ic)
{
    int nb = 1, from = E_GAIN;
    for (int i = E_GAIN; i <= E_Q; i++)
        if (ic->in[i].chans > nb) {
            nb = ic->in[i].chans;
            from = i;
        }
    for (int i = E_GAIN; i <= E_Q; i++)
        if (ic->in[i].chans != 1 && ic->in[i].chans != nb) {
            wf_report_shape_mismatch(ic->d, ic->arg_loc[i],
                                     "give gain, freq and q one channel per band (or one for all)",
                                     ic->name, i + 1, ic->in[i].chans, from + 1, nb);
            return -1;
        }
    if (nb < 2) {
        wf_report_too_few_bands(ic->d, ic->arg_loc[E_FREQ],
                                "a low shelf and a high shelf at least: give freq one channel per band",
                                ic->name, "freq", nb);
        return -1;
    }
    return infer_filter(ic, ic->in[E_X].chans);
}

static int eq_bands(const wf_gnode *g, const wf_shape *in)
{
    (void)g;
    int nb = in[E_GAIN].chans;
    nb = in[E_FREQ].chans > nb ? in[E_FREQ].chans : nb;
    return in[E_Q].chans > nb ? in[E_Q].chans : nb;
}

static void eq_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                    wf_sizes *s)
{
    (void)e;
    size_t NB = (size_t)eq_bands(g, in);
    cascade_size(NB, (size_t)g->shape.chans, block, s);
    s->bwork += bytes_d(CHUNK * NB * 15) + bytes_d(3 * NB); /* Jacobians, constant sums */
}

/* The cascade's view of the bands: RBJ sets through bq_sets, their
 * Jacobians (backward only) and the sums of constant bands' adjoints. */
typedef struct eq_ctx {
    bq b;
    double *jac, *acc;
} eq_ctx;

static int eq_sets(wf_kctx *k, void *ctx, int t0, int len, double *co, int check)
{
    eq_ctx *e = ctx;
    return bq_sets(k, &e->b, t0, len, co, e->jac, check);
}

static void eq_adjoint(wf_kctx *k, void *ctx, int t0, int len, const double *co,
                       const double *dco)
{
    (void)co;
    eq_ctx *e = ctx;
    bq_params_adjoint(k, &e->b, t0, len, dco, e->jac, e->acc);
}

static cascade eq_cascade(wf_kctx *k, eq_ctx *e)
{
    e->b = bq_from(k, PEAK, 1, E_FREQ, E_Q, E_GAIN);
    cascade cs = {e->b.Cc, e->b.tv, 0, eq_sets, eq_adjoint, e};
    return cs;
}

static void eq_forward(wf_kctx *k)
{
    eq_ctx e = {0};
    cascade cs = eq_cascade(k, &e);
    cascade_forward(k, &cs);
}

static void eq_backward(wf_kctx *k)
{
    eq_ctx e = {0};
    cascade cs = eq_cascade(k, &e);
    cs.want = k->din[E_GAIN].p || k->din[E_FREQ].p || k->din[E_Q].p;
    void *cur = k->work;
    e.jac = wf_carve(&cur, sizeof(double) * CHUNK * (size_t)cs.NS * 15);
    e.acc = wf_carve(&cur, sizeof(double) * 3 * (size_t)cs.NS);
    memset(e.acc, 0, sizeof(double) * 3 * (size_t)cs.NS);
    if (!cs.want)
        e.jac = NULL;
    cascade_backward(k, &cs, cur);
    bq_flush(k, &e.b, e.acc);
}

const wf_node_kind wf_kind_eq = {
    .name = "eq",
    .family = "iir",
    .doc = "Parametric equaliser (dasp-pytorch's parametric_eq, Steinmetz et al. 2022): a low "
           "shelf, N peaking bands and a high shelf, each an exact RBJ cookbook biquad run in "
           "cascade (not frequency-sampled); band j is channel j of gain (dB), freq (Hz) and q, "
           "N + 2 the largest channel count. The defaults are dasp's six bands, flat (0 dB). "
           "gain, freq and q constant (run as a double-precision SIMD cascade), per frame "
           "(interpolated per sample) or per sample, with gradients into each band's three "
           "and x. Stable for freq in (0, Nyquist) and q > 0 (dasp's ranges: gain -20 to 20 "
           "dB, q 0.1 to 6); not reparametrised or clamped: bound the params (`in [...]`). A "
           "band outside is reported (unstable-run when rendering, unstable-node in a fit) "
           "with the band, the value and its time. At rates below 32 kHz the default freq "
           "reaches past Nyquist: give freq. May sit inside a feedback loop.",
    .args = eq_args,
    .nargs = 4,
    .flags = WF_KIND_STEPS,
    .keep = 15 | WF_KEEP_OUT,
    .infer = eq_infer,
    .size = eq_size,
    .forward = eq_forward,
    .backward = eq_backward,
};
