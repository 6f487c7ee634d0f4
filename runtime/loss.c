/* Losses and their gradients. The multi-scale spectral loss does, per FFT
 * size and per chunk of frames (chunks split across the cores), frame by
 * frame while the frame is in the first-level cache: window it, real FFT,
 * magnitudes and both loss terms, the gradient of the loss with respect to
 * the spectrum, inverse FFT back to the frame's gradient, windowed and
 * overlap-added into the chunk's stretch of d loss / d y. A final pass adds
 * the stretches up sample by sample, in chunk order.
 *
 * Gradient of one frame: with X_f = sum_j x_j e^(-2 pi i f j / n) and G_f =
 * dL/dRe X_f + i dL/dIm X_f = (dL/dS_f) X_f / S_f, dL/dx_j = Re sum_f G_f
 * e^(2 pi i f j / n), which is the unnormalised inverse real FFT of G with
 * the inner bins halved (the inverse counts them twice). d|z|/dz = 0 at
 * z = 0, as in PyTorch. Partial sums are kept per chunk in double and added
 * in chunk order, so results do not depend on the number of threads. */
#include "runtime/loss.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "runtime/features.h"
#include "runtime/fft.h"
#include "runtime/util.h"
#include "runtime/vmath.h"

#define EPS 1e-7
#define PI 3.14159265358979323846
#define CHUNK_FRAMES 32

typedef struct scale {
    int n, hop, frames, bins, nchunks;
    int span;             /* samples a chunk's frames cover */
    wf_real *window;
    wf_real *tmag, *tlog; /* target |S| and log(|S| + eps), [frames x bins] */
    wf_real *seg;         /* per chunk: its frames' gradients, overlap-added [nchunks x span] */
    double *partial;      /* per chunk: lin, log */
} scale;

/* One thread's scratch: a frame and its spectrum of any size, and the
 * target's chunks. */
typedef struct scratch {
    wf_real *frames;    /* windowed frames, then frame gradients [CHUNK_FRAMES x n] */
    wf_real *spec;      /* their spectra [CHUNK_FRAMES x 2 bins] */
} scratch;

/* A term weight * mean |F(y) - F(t)| over the frames and values of a
 * feature F of runtime/features.h (a mel size, the loudness): centred
 * frames every hop samples over the signal padded with n/2 zeros, in
 * segments of SEG_FRAMES frames split across the cores, each with its own
 * stretch of the adjoint, added up in segment order (so that sums do not
 * depend on the number of threads). */
#define SEG_FRAMES 64

typedef struct featterm {
    wf_feat f;
    void *tables;
    void **work;              /* per thread */
    int nthreads;
    int hop, frames, nseg;
    double weight;
    wf_real *tval, *yval, *g; /* target's and y's values, their adjoint [frames x dims] */
    wf_real *pad, *dpad;      /* the padded signal and its adjoint */
    size_t padlen, span;      /* span: samples a segment's frames cover */
    wf_real *seg;             /* per segment: its frames' adjoint [nseg x span] */
    double *partial;          /* per segment: sum |F(y) - F(t)| */
} featterm;

struct wf_loss {
    wf_loss_opts o;
    int64_t n;
    wf_real *target;
    featterm *ft;
    int nft;
    scale *sc;
    int nsc;
    scratch *scr; /* per thread of the loss's parallel region */
    int nthreads;
};

static const int default_sizes[] = {2048, 1024, 512, 256, 128, 64};
static const int default_mel_sizes[] = {2048, 1024, 512};

const char *wf_loss_name(wf_loss_kind k)
{
    return k == WF_LOSS_MSS ? "mss" : k == WF_LOSS_L1 ? "l1" : k == WF_LOSS_L2 ? "l2" : "mel";
}

int wf_loss_parse(const char *s, wf_loss_kind *k)
{
    if (strcmp(s, "mss") == 0)
        *k = WF_LOSS_MSS;
    else if (strcmp(s, "l1") == 0)
        *k = WF_LOSS_L1;
    else if (strcmp(s, "l2") == 0)
        *k = WF_LOSS_L2;
    else if (strcmp(s, "mel") == 0)
        *k = WF_LOSS_MEL;
    else
        return -1;
    return 0;
}

/* Frames f0 .. f0 + count of x, windowed, into frames [count x n]. */
static void frames_of(const scale *s, const wf_real *x, int f0, int count, wf_real *frames)
{
    for (int m = 0; m < count; m++) {
        const wf_real *src = x + (size_t)(f0 + m) * s->hop;
        wf_real *dst = frames + (size_t)m * s->n;
        for (int j = 0; j < s->n; j++)
            dst[j] = src[j] * s->window[j];
    }
}

static int chunk_frames(const scale *s, int c)
{
    int f0 = c * CHUNK_FRAMES;
    return s->frames - f0 < CHUNK_FRAMES ? s->frames - f0 : CHUNK_FRAMES;
}

static wf_real magnitude(const wf_real *c)
{
    return (wf_real)sqrt((double)c[0] * c[0] + (double)c[1] * c[1]);
}

static void featterm_init(featterm *t, const wf_feat_spec *sp, int hop, double weight, int64_t n)
{
    t->tables = wf_aalloc(wf_feat_table_bytes(sp));
    wf_feat_init(&t->f, sp, t->tables);
    t->nthreads = omp_get_max_threads();
    t->work = wf_xcalloc((size_t)t->nthreads, sizeof *t->work);
    for (int i = 0; i < t->nthreads; i++)
        t->work[i] = wf_aalloc(wf_feat_work_bytes(&t->f));
    t->hop = hop;
    t->frames = (int)(n / hop) + 1;
    t->nseg = (t->frames + SEG_FRAMES - 1) / SEG_FRAMES;
    t->weight = weight;
    size_t vals = (size_t)t->frames * (size_t)t->f.dims;
    t->tval = wf_aalloc(sizeof(wf_real) * vals);
    t->yval = wf_aalloc(sizeof(wf_real) * vals);
    t->g = wf_aalloc(sizeof(wf_real) * vals);
    /* the last frame's end, and the signal after its n/2 zeros (a hop
     * longer than half a frame leaves samples past the last frame) */
    t->padlen = (size_t)(t->frames - 1) * (size_t)hop + (size_t)sp->n;
    if (t->padlen < (size_t)n + (size_t)sp->n)
        t->padlen = (size_t)n + (size_t)sp->n;
    t->pad = wf_xcalloc(t->padlen, sizeof(wf_real));
    t->dpad = wf_xcalloc(t->padlen, sizeof(wf_real));
    t->span = (size_t)(SEG_FRAMES - 1) * (size_t)hop + (size_t)sp->n;
    t->seg = wf_aalloc(sizeof(wf_real) * (size_t)t->nseg * t->span);
    t->partial = wf_xcalloc((size_t)t->nseg, sizeof(double));
}

static void featterm_free(featterm *t)
{
    wf_afree(t->tables);
    for (int i = 0; i < t->nthreads; i++)
        wf_afree(t->work[i]);
    free(t->work);
    wf_afree(t->tval);
    wf_afree(t->yval);
    wf_afree(t->g);
    free(t->pad);
    free(t->dpad);
    wf_afree(t->seg);
    free(t->partial);
}

static int seg_frames(const featterm *t, int c)
{
    int f0 = c * SEG_FRAMES;
    return t->frames - f0 < SEG_FRAMES ? t->frames - f0 : SEG_FRAMES;
}

/* Segment c: its values into out (with `target`, else y's: then also the
 * partial sum, the adjoint of the values and, with want_grad, its stretch
 * of the adjoint of the padded signal). */
static void featterm_segment(featterm *t, int c, wf_real *out, int target, int want_grad, void *work)
{
    int f0 = c * SEG_FRAMES, count = seg_frames(t, c), D = t->f.dims;
    const wf_real *x = t->pad + (size_t)f0 * t->hop;
    wf_feat_forward(&t->f, x, 1, t->hop, count, out + (size_t)f0 * D, D, work);
    if (target)
        return;
    double acc = 0, k = t->weight / ((double)t->frames * D);
    for (size_t i = (size_t)f0 * D; i < (size_t)(f0 + count) * D; i++) {
        double e = (double)t->yval[i] - (double)t->tval[i];
        acc += fabs(e);
        t->g[i] = (wf_real)(k * (e > 0 ? 1 : e < 0 ? -1 : 0));
    }
    t->partial[c] = acc * k;
    if (!want_grad)
        return;
    wf_real *sg = t->seg + (size_t)c * t->span;
    memset(sg, 0, sizeof(wf_real) * t->span);
    wf_feat_backward(&t->f, x, 1, t->hop, count, t->g + (size_t)f0 * D, D, sg, work);
}

/* The values of x [n] (the middle of the padded buffer; its zeros stay),
 * the target's or y's; for y, the term and, when dy is given, its gradient
 * added into dy. */
static double featterm_run(featterm *t, const wf_real *x, int64_t n, int target, wf_real *dy)
{
    memcpy(t->pad + t->f.s.n / 2, x, sizeof(wf_real) * (size_t)n);
    wf_real *out = target ? t->tval : t->yval;
#pragma omp parallel for schedule(dynamic, 1) num_threads(t->nthreads) if (n >= 4096)
    for (int c = 0; c < t->nseg; c++)
        featterm_segment(t, c, out, target, dy != NULL, t->work[omp_get_thread_num()]);
    if (target)
        return 0;
    double loss = 0;
    for (int c = 0; c < t->nseg; c++)
        loss += t->partial[c];
    if (dy) {
        memset(t->dpad, 0, sizeof(wf_real) * t->padlen);
        for (int c = 0; c < t->nseg; c++) {
            wf_real *d = t->dpad + (size_t)c * SEG_FRAMES * t->hop;
            const wf_real *sg = t->seg + (size_t)c * t->span;
            size_t len = (size_t)(seg_frames(t, c) - 1) * t->hop + (size_t)t->f.s.n;
            for (size_t j = 0; j < len; j++)
                d[j] += sg[j];
        }
        const wf_real *mid = t->dpad + t->f.s.n / 2;
        for (int64_t i = 0; i < n; i++)
            dy[i] += mid[i];
    }
    return loss;
}

/* The feature terms: one per mel size, and the loudness. */
static int feature_terms(wf_loss *L, wf_diags *d)
{
    const wf_loss_opts *o = &L->o;
    int mel = o->kind == WF_LOSS_MEL;
    if ((mel || o->loudness_weight > 0) && !(o->rate > 0)) {
        wf_report_bad_loss_setting(d, WF_NOWHERE, NULL, "the audio rate", o->rate);
        return -1;
    }
    int bands = o->mel_bands > 0 ? o->mel_bands : 64;
    if (mel && bands > 1024) {
        wf_report_bad_loss_setting(d, WF_NOWHERE, "at most 1024", "--mel-bands", bands);
        return -1;
    }
    int hop = o->hop > 0 ? o->hop : (int)(o->rate / 250);
    if (hop < 1)
        hop = 1;
    L->ft = wf_xcalloc((size_t)(mel ? o->nsizes : 0) + 1, sizeof *L->ft);
    for (int i = 0; mel && i < o->nsizes; i++) {
        wf_feat_spec sp = {0};
        sp.kind = WF_FEAT_MELSPEC;
        sp.n = o->sizes[i];
        sp.rate = o->rate;
        sp.bands = bands;
        sp.floor = EPS;
        /* nepers: ln = dB ln(10) / 10 */
        featterm_init(&L->ft[L->nft++], &sp, sp.n / 4, log(10.0) / 10, L->n);
    }
    if (o->loudness_weight > 0) {
        wf_feat_spec sp = {0};
        sp.kind = WF_FEAT_LOUDNESS;
        sp.n = 2048;
        sp.rate = o->rate;
        sp.range_db = 80;
        featterm_init(&L->ft[L->nft++], &sp, hop, o->loudness_weight, L->n);
    }
    return 0;
}

wf_loss *wf_loss_new(const wf_loss_opts *o, const wf_real *target, int64_t n, wf_diags *d)
{
    wf_loss *L = wf_xcalloc(1, sizeof *L);
    L->o = *o;
    if (!L->o.weights_given)
        L->o.lin_weight = L->o.log_weight = 1;
    if (L->o.nsizes == 0 && o->kind == WF_LOSS_MEL) {
        L->o.nsizes = 3;
        memcpy(L->o.sizes, default_mel_sizes, sizeof default_mel_sizes);
    } else if (L->o.nsizes == 0) {
        L->o.nsizes = 6;
        memcpy(L->o.sizes, default_sizes, sizeof default_sizes);
    }
    L->n = n;
    L->target = wf_aalloc(sizeof(wf_real) * (size_t)n);
    if (feature_terms(L, d)) {
        wf_loss_free(L);
        return NULL;
    }
    if (o->kind != WF_LOSS_MSS) {
        if (wf_loss_set_target(L, target, d)) {
            wf_loss_free(L);
            return NULL;
        }
        return L;
    }
    L->sc = wf_xcalloc((size_t)L->o.nsizes, sizeof *L->sc);
    int nmax = 0;
    for (int i = 0; i < L->o.nsizes; i++) {
        int sz = L->o.sizes[i];
        if (sz < 4 || sz % 4 || sz > (1 << 20)) {
            wf_report_bad_fft_size(d, WF_NOWHERE, NULL, sz);
            wf_loss_free(L);
            return NULL;
        }
        if (sz > n)
            continue; /* no whole frame fits */
        scale *s = &L->sc[L->nsc++];
        s->n = sz;
        s->hop = sz / 4;
        s->frames = (int)((n - sz) / s->hop) + 1;
        s->bins = sz / 2 + 1;
        s->nchunks = (s->frames + CHUNK_FRAMES - 1) / CHUNK_FRAMES;
        s->span = (CHUNK_FRAMES - 1) * s->hop + sz;
        s->window = wf_aalloc(sizeof(wf_real) * (size_t)sz);
        for (int j = 0; j < sz; j++)
            s->window[j] = (wf_real)(0.5 - 0.5 * cos(2 * PI * j / sz));
        size_t fb = (size_t)s->frames * (size_t)s->bins;
        s->tmag = wf_aalloc(sizeof(wf_real) * fb);
        s->tlog = wf_aalloc(sizeof(wf_real) * fb);
        s->seg = wf_aalloc(sizeof(wf_real) * (size_t)s->nchunks * (size_t)s->span);
        s->partial = wf_xcalloc((size_t)s->nchunks * 2, sizeof(double));
        if (sz > nmax)
            nmax = sz;
    }
    L->nthreads = omp_get_max_threads();
    L->scr = wf_xcalloc((size_t)L->nthreads, sizeof *L->scr);
    for (int t = 0; t < L->nthreads && L->nsc; t++) {
        scratch *x = &L->scr[t];
        size_t bins = (size_t)nmax / 2 + 1;
        x->frames = wf_aalloc(sizeof(wf_real) * CHUNK_FRAMES * (size_t)nmax);
        x->spec = wf_aalloc(sizeof(wf_real) * CHUNK_FRAMES * 2 * bins);
    }
    if (L->nsc == 0) {
        int smallest = L->o.sizes[0];
        for (int i = 1; i < L->o.nsizes; i++)
            if (L->o.sizes[i] < smallest)
                smallest = L->o.sizes[i];
        wf_report_signal_too_short(d, WF_NOWHERE, NULL, n, smallest);
        wf_loss_free(L);
        return NULL;
    }
    if (wf_loss_set_target(L, target, d)) {
        wf_loss_free(L);
        return NULL;
    }
    return L;
}

int wf_loss_set_target(wf_loss *L, const wf_real *target, wf_diags *d)
{
    for (int64_t i = 0; i < L->n; i++)
        if (!isfinite(target[i])) {
            wf_report_target_not_finite(d, WF_NOWHERE, NULL, target[i], i);
            return -1;
        }
    memcpy(L->target, target, sizeof(wf_real) * (size_t)L->n);
    for (int i = 0; i < L->nft; i++)
        featterm_run(&L->ft[i], L->target, L->n, 1, NULL);
    if (!L->nsc)
        return 0;
    scratch *x = &L->scr[0];
    for (int i = 0; i < L->nsc; i++) {
        scale *s = &L->sc[i];
        for (int c = 0; c < s->nchunks; c++) {
            int count = chunk_frames(s, c);
            frames_of(s, L->target, c * CHUNK_FRAMES, count, x->frames);
            wf_fft_r2c(s->n, count, x->frames, x->spec);
            size_t at = (size_t)c * CHUNK_FRAMES * (size_t)s->bins;
            for (size_t b = 0; b < (size_t)count * (size_t)s->bins; b++) {
                s->tmag[at + b] = magnitude(x->spec + 2 * b);
                s->tlog[at + b] = wf_log_pos(s->tmag[at + b] + (wf_real)EPS);
            }
        }
    }
    return 0;
}

/* One bin: |X| = S, both terms' summands, and the factor k that turns X into
 * G / 2 (dL/dS = wl sign(S - T) + wg sign(log(S + eps) - log(T + eps)) /
 * (S + eps); G = dL/dS X / S). The two reciprocals do not wait for each
 * other (dividing dL/dS by S made the row's loop wait on two divisions in
 * a row). */
#define MSS_BIN(re, im, tmag, tlog, dlin, dlog, k)                                      \
    do {                                                                               \
        wf_real S_ = (wf_real)sqrt((re) * (re) + (im) * (im));                         \
        wf_real dl_ = S_ - (tmag), dg_ = wf_log_pos(S_ + (wf_real)EPS) - (tlog);       \
        (dlin) = dl_ < 0 ? -dl_ : dl_;                                                 \
        (dlog) = dg_ < 0 ? -dg_ : dg_;                                                 \
        wf_real sl_ = (wf_real)(dl_ > 0 ? 1 : 0) - (wf_real)(dl_ < 0 ? 1 : 0);         \
        wf_real sg_ = (wf_real)(dg_ > 0 ? 1 : 0) - (wf_real)(dg_ < 0 ? 1 : 0);         \
        wf_real u_ = (wf_real)1 / S_, v_ = (wf_real)1 / (S_ + (wf_real)EPS);           \
        (k) = S_ > 0 ? (wf_real)0.5 * u_ * (wl * sl_ + wg * sg_ * v_) : 0;              \
    } while (0)

/* One frame's spectrum sp [bins, interleaved]: both terms added into lin and
 * lg (ROW_LANES running sums, a fixed order), and the spectrum scaled in
 * place to G / 2, then G itself in the first and last bins, which the
 * inverse counts once (done without a gradient too: the spectrum is scratch,
 * and a loop without the stores' condition is the one gcc vectorises). One
 * pass over the row; eight lanes are one AVX register per quantity (sixteen
 * made it spill). With AVX the eight bins of a step are taken apart by two
 * in-lane shuffles (lanes in the order 0 1 4 5 2 3 6 7, the targets
 * permuted to match) instead of the permutes gcc makes of the loop below
 * (2.4 ns a bin against 3.1, measured in the first-level cache). */
#define ROW_LANES 8

#if WF_HAVE_AVX_FLOAT
/* h sign(d): h with d's sign, 0 where d is 0 (h > 0) */
static inline __m256 signed8(__m256 d, __m256 h)
{
    __m256 s = _mm256_or_ps(_mm256_and_ps(d, _mm256_set1_ps(-0.f)), h);
    return _mm256_and_ps(s, _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_NEQ_OQ));
}

/* With AVX two groups of eight bins side by side, each step done for both
 * (see wf_logf8n_pos, whose measurement this is). The estimates rsqrt and
 * rcp with a Newton step each in place of the square root and the two
 * divisions measured the same. */
static int row_avx(wf_real *sp, const wf_real *tm, const wf_real *tl, int bins, wf_real wl,
                   wf_real wg, wf_real *sl, wf_real *sg)
{
    enum { G = 2 };
    __m256 al = _mm256_setzero_ps(), ag = al;
    const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 eps = _mm256_set1_ps((float)EPS), zero = _mm256_setzero_ps();
    const __m256 hl = _mm256_set1_ps(0.5f * wl), hg = _mm256_set1_ps(0.5f * wg);
    const __m256 one = _mm256_set1_ps(1);
    int f = 0;
    for (; f + G * ROW_LANES <= bins; f += G * ROW_LANES) {
        __m256 za[G], zb[G], u[G], S[G], v[G], lg[G];
        for (int h = 0; h < G; h++) {
            const wf_real *z = sp + 2 * (f + h * ROW_LANES);
            za[h] = _mm256_loadu_ps(z);
            zb[h] = _mm256_loadu_ps(z + 8);
            __m256 re = _mm256_shuffle_ps(za[h], zb[h], 0x88), im = _mm256_shuffle_ps(za[h], zb[h], 0xdd);
            S[h] = _mm256_sqrt_ps(_mm256_fmadd_ps(re, re, _mm256_mul_ps(im, im)));
            lg[h] = _mm256_add_ps(S[h], eps);
            u[h] = _mm256_div_ps(one, S[h]);
            v[h] = _mm256_div_ps(one, lg[h]);
        }
        wf_logf8n_pos(lg, G);
        for (int h = 0; h < G; h++) {
            wf_real *z = sp + 2 * (f + h * ROW_LANES);
            __m256 t = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tm + f + h * ROW_LANES), order);
            __m256 tg = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tl + f + h * ROW_LANES), order);
            __m256 dl = _mm256_sub_ps(S[h], t), dg = _mm256_sub_ps(lg[h], tg);
            al = _mm256_add_ps(al, _mm256_and_ps(abs, dl));
            ag = _mm256_add_ps(ag, _mm256_and_ps(abs, dg));
            __m256 k = _mm256_fmadd_ps(signed8(dg, hg), v[h], signed8(dl, hl));
            k = _mm256_and_ps(_mm256_mul_ps(u[h], k), _mm256_cmp_ps(S[h], zero, _CMP_GT_OQ));
            _mm256_storeu_ps(z, _mm256_mul_ps(za[h], _mm256_unpacklo_ps(k, k)));
            _mm256_storeu_ps(z + 8, _mm256_mul_ps(zb[h], _mm256_unpackhi_ps(k, k)));
        }
    }
    float a[ROW_LANES], g[ROW_LANES];
    _mm256_storeu_ps(a, al);
    _mm256_storeu_ps(g, ag);
    for (int i = 0; i < ROW_LANES; i++) {
        *sl += a[i];
        *sg += g[i];
    }
    return f;
}
#endif

static void mss_row(wf_real *sp, const wf_real *tm, const wf_real *tl, int bins, wf_real wl,
                    wf_real wg, double *lin, double *lg)
{
    wf_real sl = 0, sg = 0;
#if WF_HAVE_AVX_FLOAT
    int f = row_avx(sp, tm, tl, bins, wl, wg, &sl, &sg);
#else
    wf_real al[ROW_LANES] = {0}, ag[ROW_LANES] = {0};
    int f = 0;
    for (; f + ROW_LANES <= bins; f += ROW_LANES)
        for (int i = 0; i < ROW_LANES; i++) {
            wf_real *z = sp + 2 * (f + i), dlin, dlog, k;
            MSS_BIN(z[0], z[1], tm[f + i], tl[f + i], dlin, dlog, k);
            al[i] += dlin;
            ag[i] += dlog;
            z[0] *= k;
            z[1] *= k;
        }
    for (int i = 0; i < ROW_LANES; i++) {
        sl += al[i];
        sg += ag[i];
    }
#endif
    for (; f < bins; f++) {
        wf_real *z = sp + 2 * f, dlin, dlog, k;
        MSS_BIN(z[0], z[1], tm[f], tl[f], dlin, dlog, k);
        sl += dlin;
        sg += dlog;
        z[0] *= k;
        z[1] *= k;
    }
    *lin += sl;
    *lg += sg;
    sp[0] *= 2;
    sp[1] *= 2;
    sp[2 * bins - 2] *= 2;
    sp[2 * bins - 1] *= 2;
}

/* One chunk of frames of one scale, frame by frame while the frame is in
 * the first-level cache: window, forward FFT, loss terms, gradient
 * spectrum, inverse FFT to the frame's gradient, overlap-added into the
 * chunk's stretch (s->seg). Going through the chunk in batches of frames
 * instead, each step's data of the larger sizes (half a megabyte for 32
 * frames) left the cache between the passes, and FFTW's batched plans were
 * slower than its single ones, even for the 64-sample size. */
static void mss_chunk(const wf_loss *L, scale *s, const wf_real *y, int c, int want_grad,
                      const scratch *x)
{
    int f0 = c * CHUNK_FRAMES, count = chunk_frames(s, c);
    int n = s->n, bins = s->bins;
    wf_real *frame = x->frames, *spec = x->spec;
    const wf_fft_plan *fwd = wf_fft_plan_for(n, 1, 0);
    const wf_fft_plan *inv = want_grad ? wf_fft_plan_for(n, 1, 1) : NULL;
    double lin = 0, lg = 0;
    double norm = 1.0 / ((double)s->frames * (double)bins);
    wf_real wl = (wf_real)(L->o.lin_weight * norm), wg = (wf_real)(L->o.log_weight * norm);
    wf_real *seg = s->seg + (size_t)c * s->span;
    if (want_grad)
        memset(seg, 0, sizeof(wf_real) * (size_t)s->span);
    for (int m = 0; m < count; m++) {
        size_t row = (size_t)(f0 + m) * bins;
        frames_of(s, y, f0 + m, 1, frame);
        wf_fft_exec_r2c(fwd, frame, spec);
        mss_row(spec, s->tmag + row, s->tlog + row, bins, wl, wg, &lin, &lg);
        if (!want_grad)
            continue;
        wf_fft_exec_c2r(inv, spec, frame);
        wf_real *o = seg + (size_t)m * s->hop;
        for (int j = 0; j < n; j++)
            o[j] += frame[j] * s->window[j];
    }
    s->partial[2 * c] = lin;
    s->partial[2 * c + 1] = lg;
}

/* dy[t0..t1) += the chunks' stretches overlapping it, in chunk order (a
 * fixed order, so the sums do not depend on how blocks are split). */
static void gather(const scale *s, wf_real *dy, int64_t t0, int64_t t1)
{
    int64_t stride = (int64_t)CHUNK_FRAMES * s->hop;
    int64_t clo = t0 - s->span + 1 <= 0 ? 0 : (t0 - s->span + 1 + stride - 1) / stride;
    int64_t chi = (t1 - 1) / stride;
    if (chi >= s->nchunks)
        chi = s->nchunks - 1;
    for (int64_t c = clo; c <= chi; c++) {
        int64_t start = c * stride, len = (int64_t)(chunk_frames(s, (int)c) - 1) * s->hop + s->n;
        int64_t a = t0 > start ? t0 : start;
        int64_t b = t1 < start + len ? t1 : start + len;
        const wf_real *src = s->seg + (size_t)c * s->span - start;
        for (int64_t t = a; t < b; t++)
            dy[t] += src[t];
    }
}

static double mss(wf_loss *L, const wf_real *y, wf_real *dy)
{
    int want = dy != NULL;
    int total = 0;
    for (int i = 0; i < L->nsc; i++)
        total += L->sc[i].nchunks;
    /* one flat list of (scale, chunk) jobs, so both cores stay busy */
#pragma omp parallel for schedule(dynamic, 1) num_threads(L->nthreads) if (L->n >= 4096)
    for (int job = 0; job < total; job++) {
        int i = 0, c = job;
        while (c >= L->sc[i].nchunks)
            c -= L->sc[i++].nchunks;
        mss_chunk(L, &L->sc[i], y, c, want, &L->scr[omp_get_thread_num()]);
    }
    double loss = 0;
    for (int i = 0; i < L->nsc; i++) {
        const scale *s = &L->sc[i];
        double lin = 0, lg = 0;
        for (int c = 0; c < s->nchunks; c++) {
            lin += s->partial[2 * c];
            lg += s->partial[2 * c + 1];
        }
        double norm = 1.0 / ((double)s->frames * (double)s->bins);
        loss += L->o.lin_weight * lin * norm + L->o.log_weight * lg * norm;
    }
    if (want) {
        memset(dy, 0, sizeof(wf_real) * (size_t)L->n);
        int64_t n = L->n;
        const int64_t block = 4096;
        int64_t nb = (n + block - 1) / block;
#pragma omp parallel for schedule(static) if (nb > 1)
        for (int64_t b = 0; b < nb; b++) {
            int64_t t0 = b * block, t1 = t0 + block < n ? t0 + block : n;
            for (int i = 0; i < L->nsc; i++)
                gather(&L->sc[i], dy, t0, t1);
        }
    }
    return loss;
}

/* The waveform losses. */
static double waveform(wf_loss *L, const wf_real *y, wf_real *dy)
{
    double acc = 0, inv = 1.0 / (double)L->n;
    for (int64_t t = 0; t < L->n; t++) {
        double e = (double)y[t] - (double)L->target[t];
        if (L->o.kind == WF_LOSS_L1) {
            acc += fabs(e);
            if (dy)
                dy[t] = (wf_real)((e > 0 ? 1 : e < 0 ? -1 : 0) * inv);
        } else {
            acc += e * e;
            if (dy)
                dy[t] = (wf_real)(2 * e * inv);
        }
    }
    return acc * inv;
}

double wf_loss_eval(wf_loss *L, const wf_real *y, wf_real *dy)
{
    double loss = 0;
    if (L->o.kind == WF_LOSS_MSS)
        loss = mss(L, y, dy);
    else if (L->o.kind == WF_LOSS_MEL) {
        if (dy)
            memset(dy, 0, sizeof(wf_real) * (size_t)L->n);
    } else
        loss = waveform(L, y, dy);
    for (int i = 0; i < L->nft; i++)
        loss += featterm_run(&L->ft[i], y, L->n, 0, dy);
    return loss;
}

void wf_loss_free(wf_loss *L)
{
    if (!L)
        return;
    for (int i = 0; i < L->nft; i++)
        featterm_free(&L->ft[i]);
    free(L->ft);
    for (int i = 0; i < L->nsc; i++) {
        scale *s = &L->sc[i];
        wf_afree(s->window);
        wf_afree(s->tmag);
        wf_afree(s->tlog);
        wf_afree(s->seg);
        free(s->partial);
    }
    for (int t = 0; t < L->nthreads && L->nsc; t++) {
        wf_afree(L->scr[t].frames);
        wf_afree(L->scr[t].spec);
    }
    free(L->scr);
    free(L->sc);
    wf_afree(L->target);
    free(L);
}
