/* Audio features of frames and their adjoints (runtime/features.h). Frames
 * go through the batched real FFT in chunks; each frame's power spectrum is
 * turned into its values, and backward into G_k = dL/dP_k, in double. */
#include "runtime/features.h"

#include <math.h>
#include <string.h>

#include "runtime/fft.h"
#include "runtime/node.h"
#include "runtime/spectrogram.h"

#define PI 3.14159265358979323846
#define LN10 2.30258509299404568402
#define CHUNK 32          /* frames per batched FFT */
#define FLAT_AMIN 1e-10   /* librosa's spectral_flatness amin */
#define MEL_FLOOR 1e-10   /* librosa's power_to_db amin */

static size_t bytes(size_t n, size_t each)
{
    return n * each + 64; /* wf_carve's alignment */
}

int wf_feat_dims(const wf_feat_spec *s)
{
    return s->kind == WF_FEAT_MELSPEC ? s->bands : s->kind == WF_FEAT_MFCC ? s->coefs : 1;
}

static int has_mel(const wf_feat_spec *s)
{
    return s->kind == WF_FEAT_MELSPEC || s->kind == WF_FEAT_MFCC;
}

size_t wf_feat_table_bytes(const wf_feat_spec *s)
{
    size_t bins = (size_t)s->n / 2 + 1, t = bytes((size_t)s->n, sizeof(double)) + bytes(bins, sizeof(double));
    if (has_mel(s))
        t += 2 * bytes((size_t)s->bands, sizeof(int)) +
             bytes(wf_mel_filters_len(s->bands, s->n), sizeof(double));
    if (s->kind == WF_FEAT_MFCC)
        t += bytes((size_t)s->coefs * (size_t)s->bands, sizeof(double));
    return t;
}

double wf_a_weighting_db(double hz)
{
    static const double c[4] = {12194.217 * 12194.217, 20.598997 * 20.598997,
                                107.65265 * 107.65265, 737.86223 * 737.86223};
    double f2 = hz * hz;
    if (!(f2 > 0))
        return -80; /* log10(0) = -inf, floored */
    double w = 2.0 + 20.0 * (log10(c[0]) + 2 * log10(f2) - log10(f2 + c[0]) - log10(f2 + c[1]) -
                             0.5 * log10(f2 + c[2]) - 0.5 * log10(f2 + c[3]));
    return w > -80 ? w : -80;
}

void wf_feat_init(wf_feat *f, const wf_feat_spec *s, void *mem)
{
    memset(f, 0, sizeof *f);
    f->s = *s;
    if (!(f->s.floor > 0))
        f->s.floor = MEL_FLOOR;
    int n = s->n, bins = n / 2 + 1;
    f->bins = bins;
    f->dims = wf_feat_dims(s);
    void *cur = mem;
    f->win = wf_carve(&cur, sizeof(double) * (size_t)n);
    for (int j = 0; j < n; j++)
        f->win[j] = 0.5 - 0.5 * cos(2 * PI * j / n);
    f->wbin = wf_carve(&cur, sizeof(double) * (size_t)bins);
    for (int k = 0; k < bins; k++) {
        double hz = k * s->rate / n;
        f->wbin[k] = s->kind == WF_FEAT_LOUDNESS ? pow(10.0, wf_a_weighting_db(hz) / 10) : hz;
    }
    if (has_mel(s)) {
        double fmax = s->fmax > 0 && s->fmax < s->rate / 2 ? s->fmax : s->rate / 2;
        f->first = wf_carve(&cur, sizeof(int) * (size_t)s->bands);
        f->len = wf_carve(&cur, sizeof(int) * (size_t)s->bands);
        f->mel = wf_carve(&cur, sizeof(double) * wf_mel_filters_len(s->bands, n));
        wf_mel_filters(s->bands, s->fmin, fmax, s->rate, n, f->first, f->len, f->mel);
    }
    if (s->kind == WF_FEAT_MFCC) {
        int B = s->bands;
        f->dct = wf_carve(&cur, sizeof(double) * (size_t)s->coefs * (size_t)B);
        for (int q = 0; q < s->coefs; q++)
            for (int b = 0; b < B; b++)
                f->dct[(size_t)q * B + b] =
                    sqrt(2.0 / B) * cos(PI * q * (b + 0.5) / B) * (q == 0 ? sqrt(0.5) : 1);
    }
}

/* Scratch: frames, spectra, then P, G, the log-mel and its adjoint. */
typedef struct scratch {
    wf_real *fr, *sp;
    double *P, *G, *v, *gv;
} scratch;

size_t wf_feat_work_bytes(const wf_feat *f)
{
    size_t n = (size_t)f->s.n, bins = (size_t)f->bins, B = (size_t)(f->s.bands > 0 ? f->s.bands : 1);
    return bytes(CHUNK * n, sizeof(wf_real)) + bytes(CHUNK * 2 * bins, sizeof(wf_real)) +
           2 * bytes(bins, sizeof(double)) + 2 * bytes(B, sizeof(double));
}

static scratch carve_scratch(const wf_feat *f, void *work)
{
    scratch w;
    size_t n = (size_t)f->s.n, bins = (size_t)f->bins, B = (size_t)(f->s.bands > 0 ? f->s.bands : 1);
    void *cur = work;
    w.fr = wf_carve(&cur, sizeof(wf_real) * CHUNK * n);
    w.sp = wf_carve(&cur, sizeof(wf_real) * CHUNK * 2 * bins);
    w.P = wf_carve(&cur, sizeof(double) * bins);
    w.G = wf_carve(&cur, sizeof(double) * bins);
    w.v = wf_carve(&cur, sizeof(double) * B);
    w.gv = wf_carve(&cur, sizeof(double) * B);
    return w;
}

/* Windowed frames f0 .. f0 + count into w->fr, and their spectra. */
static void spectra(const wf_feat *f, const wf_real *x, int xs, int hop, int f0, int count,
                    scratch *w)
{
    int n = f->s.n;
    for (int m = 0; m < count; m++) {
        const wf_real *src = x + (size_t)(f0 + m) * hop * xs;
        wf_real *dst = w->fr + (size_t)m * n;
        for (int j = 0; j < n; j++)
            dst[j] = (wf_real)(src[(size_t)j * xs] * f->win[j]);
    }
    wf_fft_r2c(n, count, w->fr, w->sp);
}

static void power(const wf_feat *f, const wf_real *sp, double *P)
{
    for (int k = 0; k < f->bins; k++)
        P[k] = (double)sp[2 * k] * sp[2 * k] + (double)sp[2 * k + 1] * sp[2 * k + 1];
}

/* The log-mel of P into v. */
static void logmel(const wf_feat *f, const double *P, double *v)
{
    const double *m = f->mel, s = 16.0 / ((double)f->s.n * f->s.n);
    for (int b = 0; b < f->s.bands; b++) {
        double M = 0;
        for (int k = 0; k < f->len[b]; k++)
            M += m[k] * P[f->first[b] + k];
        m += f->len[b];
        v[b] = 10 * log10(s * M + f->s.floor);
    }
}

/* Adjoint of logmel: G = d/dP of sum_b gv[b] v[b]. */
static void logmel_adjoint(const wf_feat *f, const double *P, const double *gv, double *G)
{
    const double *m = f->mel, s = 16.0 / ((double)f->s.n * f->s.n);
    memset(G, 0, sizeof(double) * (size_t)f->bins);
    for (int b = 0; b < f->s.bands; b++) {
        double M = 0;
        for (int k = 0; k < f->len[b]; k++)
            M += m[k] * P[f->first[b] + k];
        double gM = gv[b] * 10 / LN10 * s / (s * M + f->s.floor);
        for (int k = 0; k < f->len[b]; k++)
            G[f->first[b] + k] += gM * m[k];
        m += f->len[b];
    }
}

/* sum_k ln max(P_k, FLAT_AMIN) and sum_k max(P_k, FLAT_AMIN), with one log
 * per frame: the product of the values, renormalised by frexp every 4 (a
 * float spectrum's power is below 1e77, so 4 of them stay within double). */
static void flat_sums(const double *P, int K, double *lg, double *am)
{
    double prod = 1, a = 0;
    long ex = 0;
    for (int k = 0; k < K; k++) {
        double Q = P[k] > FLAT_AMIN ? P[k] : FLAT_AMIN;
        prod *= Q;
        a += Q;
        if (k % 4 == 3) {
            int e;
            prod = frexp(prod, &e);
            ex += e;
        }
    }
    *lg = log(prod) + (double)ex * 0.69314718055994530942;
    *am = a;
}

/* One frame's values from its power spectrum. */
static void frame_values(const wf_feat *f, scratch *w, wf_real *out)
{
    const double *P = w->P;
    int K = f->bins;
    switch (f->s.kind) {
    case WF_FEAT_LOUDNESS: {
        double a = 0;
        for (int k = 0; k < K; k++)
            a += f->wbin[k] * P[k];
        a /= K;
        double pmin = pow(10.0, -f->s.range_db / 10);
        double L = 10 * log10(a > pmin ? a : pmin) - f->s.ref_db;
        out[0] = (wf_real)(L > -f->s.range_db ? L : -f->s.range_db);
        break;
    }
    case WF_FEAT_CENTROID: {
        double num = 0, den = 0;
        for (int k = 0; k < K; k++) {
            double S = sqrt(P[k]);
            num += f->wbin[k] * S;
            den += S;
        }
        out[0] = (wf_real)(den > 0 ? num / den : 0);
        break;
    }
    case WF_FEAT_FLATNESS: {
        double lg, am;
        flat_sums(P, K, &lg, &am);
        out[0] = (wf_real)(exp(lg / K) / (am / K));
        break;
    }
    case WF_FEAT_MELSPEC:
        logmel(f, P, w->v);
        for (int b = 0; b < f->s.bands; b++)
            out[b] = (wf_real)w->v[b];
        break;
    case WF_FEAT_MFCC: {
        int B = f->s.bands;
        logmel(f, P, w->v);
        for (int q = 0; q < f->s.coefs; q++) {
            double c = 0;
            for (int b = 0; b < B; b++)
                c += f->dct[(size_t)q * B + b] * w->v[b];
            out[q] = (wf_real)c;
        }
        break;
    }
    case WF_FEAT_RMS:
        break;
    }
}

/* G = d/dP of sum_d g[d] value[d] for one frame. */
static void frame_adjoint(const wf_feat *f, scratch *w, const wf_real *g)
{
    const double *P = w->P;
    double *G = w->G;
    int K = f->bins;
    switch (f->s.kind) {
    case WF_FEAT_LOUDNESS: {
        double a = 0;
        for (int k = 0; k < K; k++)
            a += f->wbin[k] * P[k];
        a /= K;
        double pmin = pow(10.0, -f->s.range_db / 10);
        int live = a > pmin && 10 * log10(a) - f->s.ref_db > -f->s.range_db;
        double ga = live ? g[0] * 10 / (LN10 * a) / K : 0;
        for (int k = 0; k < K; k++)
            G[k] = ga * f->wbin[k];
        break;
    }
    case WF_FEAT_CENTROID: {
        double num = 0, den = 0;
        for (int k = 0; k < K; k++) {
            double S = sqrt(P[k]);
            num += f->wbin[k] * S;
            den += S;
        }
        double C = den > 0 ? num / den : 0;
        for (int k = 0; k < K; k++) {
            double S = sqrt(P[k]);
            G[k] = den > 0 && S > 0 ? g[0] * (f->wbin[k] - C) / den / (2 * S) : 0;
        }
        break;
    }
    case WF_FEAT_FLATNESS: {
        double lg, am;
        flat_sums(P, K, &lg, &am);
        am /= K;
        double F = exp(lg / K) / am;
        for (int k = 0; k < K; k++)
            G[k] = P[k] > FLAT_AMIN ? g[0] * F * (1 / P[k] - 1 / am) / K : 0;
        break;
    }
    case WF_FEAT_MELSPEC:
        for (int b = 0; b < f->s.bands; b++)
            w->gv[b] = g[b];
        logmel_adjoint(f, P, w->gv, G);
        break;
    case WF_FEAT_MFCC: {
        int B = f->s.bands;
        for (int b = 0; b < B; b++) {
            double s = 0;
            for (int q = 0; q < f->s.coefs; q++)
                s += f->dct[(size_t)q * B + b] * g[q];
            w->gv[b] = s;
        }
        logmel_adjoint(f, P, w->gv, G);
        break;
    }
    case WF_FEAT_RMS:
        break;
    }
}

static double frame_rms(const wf_feat *f, const wf_real *x, int xs)
{
    double acc = 0;
    for (int j = 0; j < f->s.n; j++) {
        double v = x[(size_t)j * xs];
        acc += v * v;
    }
    return sqrt(acc / f->s.n);
}

void wf_feat_forward(const wf_feat *f, const wf_real *x, int xs, int hop, int frames,
                     wf_real *out, int os, void *work)
{
    if (f->s.kind == WF_FEAT_RMS) {
        for (int i = 0; i < frames; i++)
            out[(size_t)i * os] = (wf_real)frame_rms(f, x + (size_t)i * hop * xs, xs);
        return;
    }
    scratch w = carve_scratch(f, work);
    for (int f0 = 0; f0 < frames; f0 += CHUNK) {
        int count = frames - f0 < CHUNK ? frames - f0 : CHUNK;
        spectra(f, x, xs, hop, f0, count, &w);
        for (int m = 0; m < count; m++) {
            power(f, w.sp + (size_t)m * 2 * f->bins, w.P);
            frame_values(f, &w, out + (size_t)(f0 + m) * os);
        }
    }
}

void wf_feat_backward(const wf_feat *f, const wf_real *x, int xs, int hop, int frames,
                      const wf_real *g, int gs, wf_real *dx, void *work)
{
    int n = f->s.n, K = f->bins;
    if (f->s.kind == WF_FEAT_RMS) {
        for (int i = 0; i < frames; i++) {
            const wf_real *xi = x + (size_t)i * hop * xs;
            double r = frame_rms(f, xi, xs);
            if (!(r > 0))
                continue; /* the corner of sqrt at silence */
            double c = g[(size_t)i * gs] / (n * r);
            for (int j = 0; j < n; j++)
                dx[((size_t)i * hop + j) * xs] += (wf_real)(c * xi[(size_t)j * xs]);
        }
        return;
    }
    scratch w = carve_scratch(f, work);
    for (int f0 = 0; f0 < frames; f0 += CHUNK) {
        int count = frames - f0 < CHUNK ? frames - f0 : CHUNK;
        spectra(f, x, xs, hop, f0, count, &w);
        for (int m = 0; m < count; m++) {
            wf_real *sp = w.sp + (size_t)m * 2 * K;
            power(f, sp, w.P);
            frame_adjoint(f, &w, g + (size_t)(f0 + m) * gs);
            /* G_k X_k, the first and last bins doubled: the inverse counts
             * the inner bins twice */
            for (int k = 0; k < K; k++) {
                double c = w.G[k] * (k == 0 || k == K - 1 ? 2 : 1);
                sp[2 * k] = (wf_real)(c * sp[2 * k]);
                sp[2 * k + 1] = (wf_real)(c * sp[2 * k + 1]);
            }
        }
        wf_fft_c2r(n, count, w.sp, w.fr);
        for (int m = 0; m < count; m++) {
            const wf_real *d = w.fr + (size_t)m * n;
            wf_real *o = dx + (size_t)(f0 + m) * hop * xs;
            for (int j = 0; j < n; j++)
                o[(size_t)j * xs] += (wf_real)(d[j] * f->win[j]);
        }
    }
}
