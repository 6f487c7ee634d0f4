/* fx: effects computed by FFT over whole blocks. Their kernels are shared
 * with the FIR filters through stdlib/conv.h: fir_tv runs filtered_noise's,
 * and fir runs reverb's when its taps are long (stdlib/fir.c).
 *
 * filtered_noise(x, mags): DDSP's filtered noise (Engel et al. 2020, "DDSP:
 * Differentiable Digital Signal Processing", section 3.2; ddsp/core.py
 * frequency_impulse_response and fft_convolve), bench/WORKLOADS.md 0.5, with the
 * signal to filter as an input. B bands, L = 2 (B - 1) taps, hop h; frame f
 * holds samples f h .. f h + h - 1 and magnitudes m_f:
 *
 *   H_f[i] = (1/L) sum_b c_b m_f[b] cos(2 pi b i / L)   irfft of a real spectrum
 *                                                       (c_0 = c_{B-1} = 1, else 2)
 *   h_f[j] = w[j] H_f[(j - L/2) mod L]                  zero phase made causal, w the
 *                                                       periodic Hann window of length L
 *   z[f h + t] += sum_s x[f h + s] h_f[t - s]           linear convolution, overlap-add
 *   y[n] = z[n + D],  D = (L - 1) div 2 - 1             DDSP's delay compensation
 *
 * The convolutions run by FFT of size nfft = next pow2 >= h + L - 1, with the
 * scales 1/L (irfft) and 1/nfft (inverse FFT) folded into the window.
 *
 * Backward, step by step in reverse (dc = adjoint of one frame's convolution):
 *   dc_f[t] = g[f h + t - D]
 *   dx[f h + s] = sum_t dc_f[t] h_f[t - s]        correlation with the filter
 *   dh_f[j] = sum_t dc_f[t] x[f h + t - j]        correlation with the frame
 *   dH_f[i] = w[j] dh_f[j],  j = (i + L/2) mod L  (the roll and window)
 *   dm_f[b] = (c_b / L) sum_i dH_f[i] cos(2 pi b i / L) = (c_b / L) Re rfft(dH_f)[b]
 * The last line is the adjoint of irfft on spectra with zero imaginary part:
 * there irfft is the real map m -> H of the first line, whose transpose is
 * the cosine sum, i.e. the real part of the forward real FFT with each bin
 * weighted by how often the full spectrum holds it (c_b). Correlations are
 * products with conjugate spectra.
 *
 * Rates: mags is read per frame (control rate) or is one filter for the
 * whole run (constant); an audio-rate mags is refused, since a filter lasts
 * a frame. x may be constant or audio (a control x is interpolated first).
 *
 * The zero-phase filter reaches ahead: y[n] depends on x up to the end of the
 * frame holding n + D. The kind declares that lookahead, so a stream gives it
 * x (and mags) that far ahead, and it keeps the overlap-add line and the
 * next frame to convolve from call to call: streams equal whole passes.
 *
 * reverb(x, ir): convolution with an impulse response whose taps are the
 * channels of a constant signal (a `param ir[M]`), bench/WORKLOADS.md 0.6 and
 * DDSP's Reverb (ddsp/effects.py, core.fft_convolve) without its dry mask:
 *   y[n] = sum_{m < M} ir[m] x[n - m],  n < N,  x = 0 before the start.
 * It runs as uniformly partitioned overlap-save convolution (Stockham 1966;
 * Wefers 2015, "Partitioned convolution algorithms for real-time
 * auralization"): partitions of P samples, FFTs of 2P,
 *   U_i = FFT[x_{i-1}, x_i],  IR_k = FFT[ir_k, 0],  y_i = last half of IFFT(sum_k U_{i-k} IR_k).
 * Partitions keep every FFT small, so the whole 64000 x 16000 convolution of
 * W2 is 36 FFTs of 8192 points split over both cores instead of three of
 * 131072. A stream takes P dividing its calls and keeps the last K - 1 input
 * spectra and P samples as state, so it equals the whole pass exactly.
 * Backward: dx[n] = sum_m g[n + m] ir[m], dir[m] = sum_n g[n + m] x[n], with
 * GP_i = FFT[0, g_i] (the adjoint of keeping the last half):
 *   dU_a = sum_k GP_{a+k} conj(IR_k), dx_{a-1} += first half of IFFT(dU_a), dx_a += last half;
 *   dir_k = first half of IFFT(sum_i GP_i conj(U_{i-k})). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/fft.h"
#include "runtime/node.h"
#include "runtime/vmath.h"
#include "stdlib/conv.h"

#define PARALLEL_WORK (1L << 16) /* FFT points per call worth a second thread */
/* Frames per FFT batch. Batches start at multiples of 8 frames, so that
 * every batch FFTW sees is 64-byte aligned like the arrays it planned on. */
#define CHUNK 64
#define PART_MAX 4096 /* reverb partition: larger FFTs fall out of cache */

static int pow2_at_least(int n)
{
    int p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static int round_up(int n, int m)
{
    return (n + m - 1) / m * m;
}

/* Bytes of n values carved with wf_carve (which adds up to 63 for alignment). */
static size_t reals(size_t n)
{
    return n * sizeof(wf_real) + 64;
}

/* Complex products over interleaved spectra: out = a b, out += a b,
 * out += a conj(b). */
static void cmul(wf_real *restrict out, const wf_real *restrict a, const wf_real *restrict b,
                 int bins)
{
    for (int j = 0; j < bins; j++) {
        wf_real ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1];
        out[2 * j] = ar * br - ai * bi;
        out[2 * j + 1] = ar * bi + ai * br;
    }
}

static void cmac(wf_real *restrict out, const wf_real *restrict a, const wf_real *restrict b,
                 int bins)
{
    for (int j = 0; j < bins; j++) {
        wf_real ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1];
        out[2 * j] += ar * br - ai * bi;
        out[2 * j + 1] += ar * bi + ai * br;
    }
}

static void cmac_conj(wf_real *restrict out, const wf_real *restrict a, const wf_real *restrict b,
                      int bins)
{
    for (int j = 0; j < bins; j++) {
        wf_real ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1];
        out[2 * j] += ar * br + ai * bi;
        out[2 * j + 1] += ai * br - ar * bi;
    }
}


/* ------------------------------------------------------ filtered noise */

enum { N_X, N_MAGS };

static const wf_arg_spec fn_args[] = {
    {"x", WF_ARG_SIGNAL, NULL,
     "signal to filter, usually noise(); every channel gets the same filters", 0, NULL, -1, 1},
    {"mags", WF_ARG_SIGNAL, NULL,
     "magnitude response per frame: B >= 2 channels, bands evenly spaced from 0 Hz to the Nyquist "
     "(control rate, or constant for one filter)",
     WF_ARG_KEEP_CONTROL, NULL, 0.1, 1},
};

typedef struct fn_geo {
    int h, B, L, D; /* hop, bands, filter taps, delay compensation */
    int nfft, bins; /* convolution FFT */
} fn_geo;

static fn_geo fn_geometry(int hop, int B)
{
    fn_geo g;
    g.h = hop;
    g.B = B;
    g.L = 2 * (B - 1);
    g.D = (g.L - 1) / 2 - 1;
    g.nfft = pow2_at_least(hop + g.L - 1);
    g.bins = g.nfft / 2 + 1;
    return g;
}

int wf_fsfir_infer(wf_infer *ic)
{
    const wf_shape *m = &ic->in[N_MAGS];
    if (m->rate == WF_RATE_AUDIO) {
        wf_report_audio_rate_filter(ic->d, ic->arg_loc[N_MAGS],
                                    "use a `per frame` param or downsample(...) of the signal",
                                    ic->name, "mags");
        return -1;
    }
    if (m->chans < 2) {
        wf_report_too_few_bands(ic->d, ic->arg_loc[N_MAGS],
                                "give one channel per band, 0 Hz to the Nyquist", ic->name, "mags",
                                m->chans);
        return -1;
    }
    return infer_x(ic, N_X);
}

/* The pieces of one call, carved in this order by forward and backward. */
typedef struct fn_call {
    fn_geo g;
    int n, C, nf, nfp; /* samples, channels, frames, frames rounded to CHUNK */
    int nfm, nfmp;     /* filters: nf, or 1 for constant mags */
    wf_real *win;      /* w[j] / (L nfft) */
    wf_real *Hs;       /* [nfmp][bins] filter spectra (tape) */
    wf_real *Xs;       /* [C][nfp][bins] frame spectra (tape) */
} fn_call;

static void fn_setup(fn_call *fc, const wf_kctx *k, const fn_geo *g)
{
    fc->g = *g;
    fc->n = k->out.n;
    fc->C = k->out.chans;
    fc->nf = (fc->n + g->h - 1) / g->h;
    fc->nfp = round_up(fc->nf, CHUNK);
    fc->nfm = k->in[N_MAGS].rate == WF_RATE_CONST ? 1 : fc->nf;
    fc->nfmp = round_up(fc->nfm, CHUNK);
}

static size_t fn_tape_bytes(const fn_geo *g, int nfp, int nfmp, int C)
{
    return reals((size_t)nfmp * 2 * g->bins) + reals((size_t)C * nfp * 2 * g->bins);
}

static void fn_carve_tape(fn_call *fc, void **cur)
{
    size_t sb = 2 * (size_t)fc->g.bins;
    fc->Hs = wf_carve(cur, (size_t)fc->nfmp * sb * sizeof(wf_real));
    fc->Xs = wf_carve(cur, (size_t)fc->C * fc->nfp * sb * sizeof(wf_real));
}

static void fn_window(fn_call *fc, void **cur)
{
    int L = fc->g.L;
    fc->win = wf_carve(cur, (size_t)L * sizeof(wf_real));
    double scale = 1.0 / ((double)L * fc->g.nfft);
    for (int j = 0; j < L; j++)
        fc->win[j] = (wf_real)((0.5 - 0.5 * cos(WF_TWO_PI * j / L)) * scale);
}

/* Streaming state: the next frame to convolve, then per channel the
 * overlap-add line z[zbase ..] of frames convolved so far, zbase being the
 * first sample of z not output yet. */
typedef struct fn_state {
    int64_t nextf;
} fn_state;

static int fn_line_len(const fn_geo *g, int block)
{
    return block + g->h + g->L;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* In a stream, frames reaching D samples past the output are convolved:
 * x must be there up to the end of the last of them. */
int wf_fsfir_lookahead(const wf_gnode *gn, const wf_shape *in, const wf_env *e, int input)
{
    (void)gn;
    fn_geo g = fn_geometry(e->hop, in[N_MAGS].chans);
    int frames = g.D > 0 ? (g.D + g.h - 1) / g.h : 0;
    return input == N_X ? frames * g.h : frames;
}

void wf_fsfir_size(const wf_gnode *gn, const wf_shape *in, const wf_env *e, int block, wf_sizes *s)
{
    fn_geo g = fn_geometry(e->hop, in[N_MAGS].chans);
    int ahead = wf_fsfir_lookahead(gn, in, e, N_MAGS) + 1;
    size_t C = (size_t)gn->shape.chans, nfp = (size_t)round_up((block + g.h - 1) / g.h + ahead, CHUNK);
    size_t nfmp = in[N_MAGS].rate == WF_RATE_CONST ? CHUNK : nfp;
    size_t nfft = (size_t)g.nfft, cb = 2 * (size_t)g.bins, L = (size_t)g.L, B = (size_t)g.B;
    s->saved = fn_tape_bytes(&g, (int)nfp, (int)nfmp, (int)C);
    /* window, tape, filter pieces (spectrum, taps, padded), frames, products,
     * overlap-add line */
    s->state = 64 + C * (size_t)fn_line_len(&g, block) * sizeof(wf_real);
    s->work = reals(L) + s->saved + 64 + reals(nfmp * 2 * B) + reals(nfmp * L) +
              reals(nfmp * nfft) + reals(C * nfp * nfft) + reals(C * nfp * cb);
    /* window, frame adjoints (spectra, samples), filter adjoints (spectrum,
     * samples, taps, bands), dm and dx */
    s->bwork = reals(L) + reals(C * nfp * cb) + reals(C * nfp * nfft) + reals(nfp * cb) +
               reals(nfp * nfft) + reals(nfp * L) + reals(nfp * 2 * B) + reals(nfp * B) +
               reals((size_t)block * C);
}

/* Filter spectra of filters [f0, f1): irfft, roll, window, pad, FFT. */
static void fn_filters(const fn_call *fc, const wf_sig *mags, int f0, int f1, wf_real *mspec,
                       wf_real *taps, wf_real *pad)
{
    const fn_geo *g = &fc->g;
    int B = g->B, L = g->L, half = L / 2, count = f1 - f0;
    for (int f = f0; f < f1; f++) {
        const wf_real *m = mags->p + (size_t)(f < mags->n ? f : mags->n - 1) * B;
        wf_real *sp = mspec + (size_t)f * 2 * B;
        for (int b = 0; b < B; b++) {
            sp[2 * b] = m[b];
            sp[2 * b + 1] = 0;
        }
    }
    wf_fft_c2r(L, count, mspec + (size_t)f0 * 2 * B, taps + (size_t)f0 * L);
    for (int f = f0; f < f1; f++) {
        const wf_real *H = taps + (size_t)f * L;
        wf_real *hp = pad + (size_t)f * g->nfft;
        for (int j = 0; j < half; j++)
            hp[j] = fc->win[j] * H[j + half];
        for (int j = half; j < L; j++)
            hp[j] = fc->win[j] * H[j - half];
        memset(hp + L, 0, sizeof(wf_real) * (size_t)(g->nfft - L));
    }
    wf_fft_r2c(g->nfft, count, pad + (size_t)f0 * g->nfft, fc->Hs + (size_t)f0 * 2 * g->bins);
}

/* A fresh state starts convolving at the node's first frame (0, or where a
 * live edit brings the node in). */
void wf_fsfir_reset(wf_kctx *k)
{
    fn_state *st = k->state;
    st->nextf = k->t0 / k->env->hop;
}

/* A call outputs y[s0 .. s0 + n) = z[s0 + D .. s0 + n + D): it convolves the
 * frames that reach into that range and have not been convolved yet, as far
 * as x is there (in a stream the executor gives x the lookahead these
 * frames need; past the end of a run x is silent). A whole pass convolves
 * the frames of its own samples, which is what the tape keeps. */
void wf_fsfir_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[N_X], *mags = &k->in[N_MAGS];
    fn_geo g = fn_geometry(k->env->hop, mags->chans);
    fn_state *st = k->state;
    int C = k->out.chans, n = k->out.n, h = g.h, nfft = g.nfft, bins = g.bins;
    int64_t s0 = k->t0, zbase = s0 + g.D, fv = s0 / h;
    int64_t fend = floor_div(s0 + n + g.D - 1, h) + 1;
    if (x->rate != WF_RATE_CONST && fend > (s0 + x->n + h - 1) / h)
        fend = (s0 + x->n + h - 1) / h;
    /* past the end of the run x is silent: a whole pass convolves just its
     * own frames, as the tape holds them, and so does a stream */
    if (fend > (k->env->nsamples + h - 1) / h)
        fend = (k->env->nsamples + h - 1) / h;
    int64_t fbeg = st->nextf;
    fn_call fc;
    fn_setup(&fc, k, &g);
    fc.nf = fend > fbeg ? (int)(fend - fbeg) : 0;
    fc.nfp = round_up(fc.nf, CHUNK);
    fc.nfm = mags->rate == WF_RATE_CONST ? 1 : fc.nf;
    fc.nfmp = round_up(fc.nfm, CHUNK);
    void *cur = k->work;
    fn_window(&fc, &cur);
    void *tape = k->saved ? k->saved : wf_carve(&cur, fn_tape_bytes(&g, fc.nfp, fc.nfmp, fc.C));
    fn_carve_tape(&fc, &tape);
    int nf = fc.nf, linelen = fn_line_len(&g, k->block);
    size_t cb = 2 * (size_t)bins;
    wf_real *mspec = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfmp * 2 * g.B);
    wf_real *taps = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfmp * g.L);
    wf_real *pad = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfmp * nfft);
    wf_real *fr = wf_carve(&cur, sizeof(wf_real) * (size_t)C * fc.nfp * nfft);
    wf_real *Ys = wf_carve(&cur, sizeof(wf_real) * (size_t)C * fc.nfp * cb);
    wf_real *lines = (wf_real *)((char *)st + 64);
    /* frame i of this call is frame fbeg + i; the mags view starts at frame fv */
    wf_sig mv = *mags;
    if (mags->rate != WF_RATE_CONST) {
        int64_t off = fbeg - fv;
        mv.p += (size_t)off * (size_t)mags->chans;
        mv.n = (int)(mags->n - off);
    }

    if (nf > 0 && fc.nfm == 1)
        fn_filters(&fc, &mv, 0, 1, mspec, taps, pad);

    int nchunks = (nf + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(dynamic, 1) if ((long)nf * C * nfft >= PARALLEL_WORK)
    for (int ch = 0; ch < nchunks; ch++) {
        int f0 = ch * CHUNK, f1 = f0 + CHUNK < nf ? f0 + CHUNK : nf;
        if (fc.nfm > 1)
            fn_filters(&fc, &mv, f0, f1, mspec, taps, pad);
        for (int c = 0; c < C; c++) {
            size_t base = (size_t)c * fc.nfp;
            for (int f = f0; f < f1; f++) {
                wf_real *p = fr + (base + f) * nfft;
                int64_t at = (fbeg + f) * h - s0; /* in the x view */
                int64_t left = k->env->nsamples - (fbeg + f) * h; /* x is silent past the run */
                if (x->rate != WF_RATE_CONST && x->n - at < left)
                    left = x->n - at;
                int len = left < 0 ? 0 : left < h ? (int)left : h;
                for (int s = 0; s < len; s++)
                    p[s] = sample_at(x, (int)at + s, c);
                memset(p + len, 0, sizeof(wf_real) * (size_t)(nfft - len));
            }
            wf_fft_r2c(nfft, f1 - f0, fr + (base + f0) * nfft, fc.Xs + (base + f0) * cb);
            for (int f = f0; f < f1; f++)
                cmul(Ys + (base + f) * cb, fc.Xs + (base + f) * cb,
                     fc.Hs + (size_t)(fc.nfm > 1 ? f : 0) * cb, bins);
            wf_fft_c2r(nfft, f1 - f0, Ys + (base + f0) * cb, fr + (base + f0) * nfft);
        }
    }

    /* overlap-add in frame order; line[i] is z[zbase + i] */
    int len = h + g.L - 1;
    for (int c = 0; c < C; c++) {
        wf_real *line = lines + (size_t)c * (size_t)linelen;
        for (int f = 0; f < nf; f++) {
            const wf_real *conv = fr + ((size_t)c * fc.nfp + f) * nfft;
            int64_t at = (fbeg + f) * h - zbase;
            int t0 = at < 0 ? (int)-at : 0;
            for (int t = t0; t < len; t++)
                line[at + t] += conv[t];
        }
        for (int i = 0; i < n; i++)
            k->out.p[(size_t)i * C + c] = line[i];
        memmove(line, line + n, sizeof(wf_real) * (size_t)(linelen - n));
        memset(line + linelen - n, 0, sizeof(wf_real) * (size_t)n);
    }
    if (nf > 0)
        st->nextf = fend;
}

void wf_fsfir_backward(wf_kctx *k)
{
    const wf_sig *mags = &k->in[N_MAGS];
    const wf_sig *dX = &k->din[N_X], *dM = &k->din[N_MAGS];
    fn_geo g = fn_geometry(k->env->hop, mags->chans);
    fn_call fc;
    fn_setup(&fc, k, &g);
    void *tape = k->saved;
    fn_carve_tape(&fc, &tape);
    void *cur = k->work;
    fn_window(&fc, &cur);
    int C = fc.C, n = fc.n, nf = fc.nf, h = g.h, nfft = g.nfft, bins = g.bins, L = g.L, B = g.B;
    size_t cb = 2 * (size_t)bins;
    wf_real *DC = wf_carve(&cur, sizeof(wf_real) * (size_t)C * fc.nfp * cb);
    wf_real *fr = wf_carve(&cur, sizeof(wf_real) * (size_t)C * fc.nfp * nfft);
    wf_real *dHs = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfp * cb);
    wf_real *dhp = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfp * nfft);
    wf_real *dtaps = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfp * L);
    wf_real *dms = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfp * 2 * B);
    wf_real *dm = wf_carve(&cur, sizeof(wf_real) * (size_t)fc.nfp * B);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * (size_t)n * C);
    const wf_real *gy = k->dout->p;
    int len = h + L - 1, half = L / 2;

    int nchunks = (nf + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(dynamic, 1) if ((long)nf * C * nfft >= PARALLEL_WORK)
    for (int ch = 0; ch < nchunks; ch++) {
        int f0 = ch * CHUNK, f1 = f0 + CHUNK < nf ? f0 + CHUNK : nf, count = f1 - f0;
        for (int c = 0; c < C; c++) {
            size_t base = (size_t)c * fc.nfp;
            for (int f = f0; f < f1; f++) {
                wf_real *p = fr + (base + f) * nfft;
                for (int t = 0; t < len; t++) {
                    int m = f * h + t - g.D;
                    p[t] = m >= 0 && m < n ? gy[(size_t)m * C + c] : 0;
                }
                memset(p + len, 0, sizeof(wf_real) * (size_t)(nfft - len));
            }
            wf_fft_r2c(nfft, count, fr + (base + f0) * nfft, DC + (base + f0) * cb);
            if (!dX->p)
                continue;
            /* frames are free again: the frame adjoints go there */
            for (int f = f0; f < f1; f++) {
                wf_real *o = dHs + (size_t)f * cb;
                memset(o, 0, sizeof(wf_real) * cb);
                cmac_conj(o, DC + (base + f) * cb, fc.Hs + (size_t)(fc.nfm > 1 ? f : 0) * cb, bins);
            }
            wf_fft_c2r(nfft, count, dHs + (size_t)f0 * cb, fr + (base + f0) * nfft);
            for (int f = f0; f < f1; f++) {
                const wf_real *p = fr + (base + f) * nfft;
                int l = n - f * h < h ? n - f * h : h;
                for (int s = 0; s < l; s++)
                    dx[(size_t)(f * h + s) * C + c] = p[s];
            }
        }
        if (!dM->p)
            continue;
        for (int f = f0; f < f1; f++) {
            wf_real *o = dHs + (size_t)f * cb;
            memset(o, 0, sizeof(wf_real) * cb);
            for (int c = 0; c < C; c++)
                cmac_conj(o, DC + ((size_t)c * fc.nfp + f) * cb,
                          fc.Xs + ((size_t)c * fc.nfp + f) * cb, bins);
        }
        wf_fft_c2r(nfft, count, dHs + (size_t)f0 * cb, dhp + (size_t)f0 * nfft);
        for (int f = f0; f < f1; f++) {
            const wf_real *p = dhp + (size_t)f * nfft;
            wf_real *q = dtaps + (size_t)f * L;
            for (int i = 0; i < half; i++)
                q[i] = fc.win[i + half] * p[i + half];
            for (int i = half; i < L; i++)
                q[i] = fc.win[i - half] * p[i - half];
        }
        wf_fft_r2c(L, count, dtaps + (size_t)f0 * L, dms + (size_t)f0 * 2 * B);
        for (int f = f0; f < f1; f++) {
            const wf_real *sp = dms + (size_t)f * 2 * B;
            wf_real *o = dm + (size_t)f * B;
            for (int b = 0; b < B; b++)
                o[b] = (b == 0 || b == B - 1 ? 1 : 2) * sp[2 * b];
        }
    }
    if (dX->p)
        wf_reduce_into(dX, dx, n, C);
    if (dM->p)
        wf_reduce_into(dM, dm, nf, B);
}

const wf_node_kind wf_kind_filtered_noise = {
    .name = "filtered_noise",
    .family = "effects",
    .doc = "DDSP's filtered noise: each frame of x (usually noise()) is convolved with a "
           "Hann-windowed zero-phase FIR of 2 (B - 1) taps whose magnitude response is that "
           "frame's B bands of mags (frequency sampling), and the frames are overlap-added, "
           "aligned as DDSP does (a flat response delays by 2 samples). Its zero-phase "
           "filters read x ahead; streams delay what follows by that much and stay exact.",
    .args = fn_args,
    .nargs = 2,
    .lookahead = wf_fsfir_lookahead,
    .keep = 0, /* backward reads the spectra on its tape */
    .infer = wf_fsfir_infer,
    .size = wf_fsfir_size,
    .reset = wf_fsfir_reset,
    .forward = wf_fsfir_forward,
    .backward = wf_fsfir_backward,
};

/* --------------------------------------------------------------- reverb */

enum { R_X, R_IR };

static const wf_arg_spec rv_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "dry signal; every channel gets the same response", 0, NULL, -1, 1},
    {"ir", WF_ARG_SIGNAL, NULL,
     "impulse response, one channel per tap, tap 0 first (a param ir[M])", WF_ARG_CONST_ONLY, NULL,
     -1, 1},
};

typedef struct rv_geo {
    int M;    /* taps that reach the output: min(taps, run length) */
    int P, K; /* partition length, partitions */
    int hist; /* spectra kept before a call's own, >= K - 1, a multiple of 8 */
} rv_geo;

/* A whole pass picks its partition; a stream needs one dividing its calls
 * (granule: every call but the last is a multiple of it), so that
 * partitions never straddle two calls. */
static rv_geo rv_geometry(int taps, int granule, int64_t nsamples)
{
    rv_geo g;
    g.M = (int64_t)taps < nsamples ? taps : (int)nsamples;
    if (granule >= nsamples) {
        g.P = pow2_at_least(g.M);
        g.P = g.P < 64 ? 64 : g.P > PART_MAX ? PART_MAX : g.P;
    } else if (granule <= PART_MAX) {
        g.P = granule;
    } else {
        g.P = PART_MAX;
        while (granule % g.P)
            g.P--;
        if (g.P < 64)
            g.P = granule;
    }
    g.K = (g.M + g.P - 1) / g.P;
    g.hist = round_up(g.K - 1, 8);
    return g;
}

void wf_pconv_partition(int taps, const wf_env *e, int *P, int *K)
{
    rv_geo g = rv_geometry(taps, e->granule, e->nsamples);
    *P = g.P;
    *K = g.K;
}

/* State: the geometry, a copy of the IR its spectra were made from (a param
 * may change between blocks of a stream, or live), the IR spectra, then per
 * channel the last `hist` input spectra and the last P input samples. */
typedef struct rv_state {
    rv_geo g;
    int have_ir; /* the spectra are of the IR in the copy */
} rv_state;

static size_t rv_spec(const rv_geo *g)
{
    return 2 * (size_t)(g->P + 1);
}

/* ir is constant: the compiler holds WF_ARG_CONST_ONLY arguments to it. */
static int rv_infer(wf_infer *ic)
{
    return infer_x(ic, R_X);
}

void wf_pconv_size(const wf_gnode *gn, const wf_shape *in, const wf_env *e, int block, wf_sizes *s)
{
    rv_geo g = rv_geometry(in[R_IR].chans, e->granule, e->nsamples);
    size_t C = (size_t)gn->shape.chans, sp = rv_spec(&g), P = (size_t)g.P, K = (size_t)g.K;
    size_t nbp = (size_t)round_up((block + g.P - 1) / g.P, 8), K8 = (size_t)round_up(g.K, 8);
    size_t spad = (size_t)round_up((int)sp, 64), P2pad = (size_t)round_up(2 * g.P, 16);
    s->state = 64 + reals(K * sp) + reals(C * (size_t)g.hist * sp) + reals(C * P) + reals((size_t)g.M);
    s->saved = reals(C * ((size_t)g.hist + nbp) * sp);
    /* tape, IR frames, input frames, output spectra */
    s->work = s->saved + 64 + reals(K8 * 2 * P) + reals(C * nbp * 2 * P) + reals(C * nbp * sp);
    /* IR spectra and frames, GP, frames, dU, dIR (padded) and their frames, dx */
    s->bwork = reals(K * sp) + reals(K8 * 2 * P) + reals(C * nbp * sp) + reals(C * nbp * 2 * P) +
               reals(C * nbp * sp) + reals(K * spad) + reals(K * P2pad) + reals((size_t)block * C);
}

/* IR_k = FFT[ir_k, 0] / 2P (the inverse's scale folded in). */
static void rv_ir_spectra(const rv_geo *g, const wf_sig *ir, wf_real *frames, wf_real *IR)
{
    size_t P = (size_t)g->P;
    wf_real scale = (wf_real)(1.0 / (2.0 * g->P));
    for (int kk = 0; kk < g->K; kk++) {
        wf_real *f = frames + (size_t)kk * 2 * P;
        memset(f, 0, sizeof(wf_real) * 2 * P);
        for (int j = 0; j < g->P && kk * g->P + j < g->M; j++)
            f[j] = ir->p[kk * g->P + j] * scale;
    }
    wf_fft_r2c(2 * g->P, g->K, frames, IR);
}

/* Jobs of up to 8 blocks of one channel. */
static int rv_jobs(int nb, int C)
{
    return C * ((nb + 7) / 8);
}

static void rv_job(int job, int nb, int *c, int *i0, int *i1)
{
    int per = (nb + 7) / 8;
    *c = job / per;
    *i0 = (job % per) * 8;
    *i1 = *i0 + 8 < nb ? *i0 + 8 : nb;
}

void wf_pconv_reset(wf_kctx *k)
{
    rv_state *st = k->state;
    st->g = rv_geometry(k->in[R_IR].chans, k->env->granule, k->env->nsamples);
}

void wf_pconv_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[R_X], *ir = &k->in[R_IR];
    rv_state *st = k->state;
    const rv_geo g = st->g;
    int C = k->out.chans, n = k->out.n, P = g.P, nb = (n + P - 1) / P, nbp = round_up(nb, 8);
    size_t sp = rv_spec(&g), P2 = 2 * (size_t)P;
    void *sc = (char *)k->state + 64;
    wf_real *IR = wf_carve(&sc, sizeof(wf_real) * (size_t)g.K * sp);
    wf_real *hist = wf_carve(&sc, sizeof(wf_real) * (size_t)C * g.hist * sp);
    wf_real *prev = wf_carve(&sc, sizeof(wf_real) * (size_t)C * P);
    wf_real *ircopy = wf_carve(&sc, sizeof(wf_real) * (size_t)g.M);
    void *cur = k->work;
    void *tape = k->saved ? k->saved : wf_carve(&cur, reals((size_t)C * (g.hist + nbp) * sp));
    wf_real *U = wf_carve(&tape, sizeof(wf_real) * (size_t)C * (g.hist + nbp) * sp);
    wf_real *irf = wf_carve(&cur, sizeof(wf_real) * (size_t)round_up(g.K, 8) * P2);
    wf_real *fr = wf_carve(&cur, sizeof(wf_real) * (size_t)C * nbp * P2);
    wf_real *Y = wf_carve(&cur, sizeof(wf_real) * (size_t)C * nbp * sp);
    size_t ustride = (size_t)(g.hist + nbp) * sp;

    if (!st->have_ir || memcmp(ircopy, ir->p, sizeof(wf_real) * (size_t)g.M) != 0) {
        memcpy(ircopy, ir->p, sizeof(wf_real) * (size_t)g.M);
        rv_ir_spectra(&g, ir, irf, IR);
        st->have_ir = 1;
    }
    for (int c = 0; c < C; c++) {
        memcpy(U + c * ustride, hist + (size_t)c * g.hist * sp, sizeof(wf_real) * g.hist * sp);
        for (int i = 0; i < nb; i++) {
            wf_real *f = fr + ((size_t)c * nbp + i) * P2;
            if (i == 0)
                memcpy(f, prev + (size_t)c * P, sizeof(wf_real) * (size_t)P);
            else
                memcpy(f, f - P2 + P, sizeof(wf_real) * (size_t)P);
            for (int s = 0; s < P; s++)
                f[P + s] = i * P + s < n ? sample_at(x, i * P + s, c) : 0;
        }
    }
    int jobs = rv_jobs(nb, C);
    int par = (long)C * nb * (long)P2 >= PARALLEL_WORK;
#pragma omp parallel for schedule(static) if (par)
    for (int j = 0; j < jobs; j++) {
        int c, i0, i1;
        rv_job(j, nb, &c, &i0, &i1);
        wf_fft_r2c(2 * P, i1 - i0, fr + ((size_t)c * nbp + i0) * P2,
                   U + c * ustride + (size_t)(g.hist + i0) * sp);
    }
#pragma omp parallel for schedule(static) if (par)
    for (int j = 0; j < jobs; j++) {
        int c, i0, i1;
        rv_job(j, nb, &c, &i0, &i1);
        const wf_real *Uc = U + c * ustride + (size_t)g.hist * sp;
        for (int i = i0; i < i1; i++) {
            wf_real *y = Y + ((size_t)c * nbp + i) * sp;
            cmul(y, Uc + (size_t)i * sp, IR, P + 1);
            for (int kk = 1; kk < g.K; kk++)
                cmac(y, Uc + (ptrdiff_t)(i - kk) * (ptrdiff_t)sp, IR + (size_t)kk * sp, P + 1);
        }
        wf_fft_c2r(2 * P, i1 - i0, Y + ((size_t)c * nbp + i0) * sp,
                   fr + ((size_t)c * nbp + i0) * P2);
    }
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < nb; i++) {
            const wf_real *f = fr + ((size_t)c * nbp + i) * P2 + P;
            int len = n - i * P < P ? n - i * P : P;
            for (int s = 0; s < len; s++)
                k->out.p[(size_t)(i * P + s) * C + c] = f[s];
        }
        memcpy(hist + (size_t)c * g.hist * sp, U + c * ustride + (size_t)nb * sp,
               sizeof(wf_real) * g.hist * sp);
        for (int s = 0; s < P; s++) {
            int t = (nb - 1) * P + s;
            prev[(size_t)c * P + s] = t < n ? sample_at(x, t, c) : 0;
        }
    }
}

void wf_pconv_backward(wf_kctx *k)
{
    const wf_sig *ir = &k->in[R_IR], *dX = &k->din[R_X], *dI = &k->din[R_IR];
    const rv_geo g = rv_geometry(ir->chans, k->env->granule, k->env->nsamples);
    int C = k->out.chans, n = k->out.n, P = g.P, nb = (n + P - 1) / P, nbp = round_up(nb, 8);
    size_t sp = rv_spec(&g), P2 = 2 * (size_t)P;
    /* the partitions' adjoints go through single FFTs: strides padded to 64 bytes */
    size_t spad = (size_t)round_up((int)sp, 64), P2pad = (size_t)round_up(2 * P, 16);
    void *tape = k->saved;
    wf_real *U = wf_carve(&tape, sizeof(wf_real) * (size_t)C * (g.hist + nbp) * sp);
    size_t ustride = (size_t)(g.hist + nbp) * sp;
    void *cur = k->work;
    wf_real *IR = wf_carve(&cur, sizeof(wf_real) * (size_t)g.K * sp);
    wf_real *irf = wf_carve(&cur, sizeof(wf_real) * (size_t)round_up(g.K, 8) * P2);
    wf_real *GP = wf_carve(&cur, sizeof(wf_real) * (size_t)C * nbp * sp);
    wf_real *fr = wf_carve(&cur, sizeof(wf_real) * (size_t)C * nbp * P2);
    wf_real *DU = wf_carve(&cur, sizeof(wf_real) * (size_t)C * nbp * sp);
    wf_real *DI = wf_carve(&cur, sizeof(wf_real) * (size_t)g.K * spad);
    wf_real *dif = wf_carve(&cur, sizeof(wf_real) * (size_t)g.K * P2pad);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * (size_t)n * C);
    const wf_real *gy = k->dout->p;

    rv_ir_spectra(&g, ir, irf, IR);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < nb; i++) {
            wf_real *f = fr + ((size_t)c * nbp + i) * P2;
            memset(f, 0, sizeof(wf_real) * (size_t)P);
            for (int s = 0; s < P; s++)
                f[P + s] = i * P + s < n ? gy[(size_t)(i * P + s) * C + c] : 0;
        }
    int jobs = rv_jobs(nb, C);
    int par = (long)C * nb * (long)P2 >= PARALLEL_WORK;
#pragma omp parallel for schedule(static) if (par)
    for (int j = 0; j < jobs; j++) {
        int c, i0, i1;
        rv_job(j, nb, &c, &i0, &i1);
        wf_fft_r2c(2 * P, i1 - i0, fr + ((size_t)c * nbp + i0) * P2,
                   GP + ((size_t)c * nbp + i0) * sp);
    }
    if (dX->p) {
#pragma omp parallel for schedule(static) if (par)
        for (int j = 0; j < jobs; j++) {
            int c, i0, i1;
            rv_job(j, nb, &c, &i0, &i1);
            const wf_real *Gc = GP + (size_t)c * nbp * sp;
            for (int a = i0; a < i1; a++) {
                wf_real *d = DU + ((size_t)c * nbp + a) * sp;
                memset(d, 0, sizeof(wf_real) * sp);
                for (int kk = 0; kk < g.K && a + kk < nb; kk++)
                    cmac_conj(d, Gc + (size_t)(a + kk) * sp, IR + (size_t)kk * sp, P + 1);
            }
            wf_fft_c2r(2 * P, i1 - i0, DU + ((size_t)c * nbp + i0) * sp,
                       fr + ((size_t)c * nbp + i0) * P2);
        }
        for (int c = 0; c < C; c++)
            for (int a = 0; a < nb; a++) {
                const wf_real *f = fr + ((size_t)c * nbp + a) * P2;
                int len = n - a * P < P ? n - a * P : P;
                for (int s = 0; s < len; s++)
                    dx[(size_t)(a * P + s) * C + c] = f[P + s] + (a + 1 < nb ? f[P2 + s] : 0);
            }
        wf_reduce_into(dX, dx, n, C);
    }
    if (dI->p) {
        /* one partition per thread: sums in a fixed order */
#pragma omp parallel for schedule(static) if (par && g.K > 1)
        for (int kk = 0; kk < g.K; kk++) {
            wf_real *d = DI + (size_t)kk * spad;
            memset(d, 0, sizeof(wf_real) * sp);
            for (int c = 0; c < C; c++)
                for (int i = kk; i < nb; i++)
                    cmac_conj(d, GP + ((size_t)c * nbp + i) * sp,
                              U + c * ustride + (size_t)(g.hist + i - kk) * sp, P + 1);
            wf_fft_c2r(2 * P, 1, d, dif + (size_t)kk * P2pad);
        }
        wf_real scale = (wf_real)(1.0 / (2.0 * P));
        for (int kk = 0; kk < g.K; kk++)
            for (int j = 0; j < P && kk * P + j < g.M; j++)
                dI->p[kk * P + j] += dif[(size_t)kk * P2pad + j] * scale;
    }
}

const wf_node_kind wf_kind_reverb = {
    .name = "reverb",
    .family = "effects",
    .doc = "Convolution reverb: y[n] = sum_m ir[m] x[n - m], as long as x and with no dry "
           "path, where the channels of ir are its taps; partitioned FFT convolution, exact "
           "in streams too.",
    .args = rv_args,
    .nargs = 2,
    .keep = 1u << R_IR,
    .infer = rv_infer,
    .size = wf_pconv_size,
    .reset = wf_pconv_reset,
    .forward = wf_pconv_forward,
    .backward = wf_pconv_backward,
};
