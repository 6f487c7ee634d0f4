/* Audio features of frames of a signal, with their exact adjoints: the one
 * implementation behind the feature nodes (stdlib/features.c) and the
 * feature losses (runtime/loss.c: `--loss mel`, `--loudness-weight`).
 *
 * A frame is n = n_fft samples; the caller places frame i at x + i hop
 * (centred framing pads the signal with n/2 zeros first). Spectral features
 * read the power spectrum P_k = |X_k|^2, k = 0 .. K - 1, K = n/2 + 1, of the
 * frame times the periodic Hann window w_j = 0.5 - 0.5 cos(2 pi j / n),
 * X = rfft(w x) unnormalised, bin k at f_k = k rate / n:
 *
 *   loudness  DDSP's compute_loudness (ddsp/spectral_ops.py, v3):
 *             a = (1/K) sum_k 10^(A(f_k)/10) P_k, A librosa's A_weighting
 *             (IEC 61672, floored at -80 dB), then core.power_to_db:
 *             L = max(10 log10(max(a, 10^(-range/10))) - ref, -range).
 *   rms       sqrt((1/n) sum_j x_j^2), rectangular frame (DDSP's
 *             compute_rms_energy, librosa.feature.rms).
 *   centroid  sum_k f_k S_k / sum_k S_k with S_k = sqrt(P_k) (librosa's
 *             spectral_centroid); 0 for a silent frame.
 *   flatness  exp(mean_k ln Q_k) / mean_k Q_k, Q_k = max(P_k, 1e-10)
 *             (librosa's spectral_flatness, power 2).
 *   melspec   10 log10(s M_b + floor), M_b = sum_k m_bk P_k over the HTK
 *             mel filter bank of runtime/spectrogram.h (triangles of peak
 *             1, no area normalisation: torchaudio's MelSpectrogram
 *             defaults), s = 16 / n^2 so that a full-scale sine reads about
 *             0 dB in the band centred on it, floor 1e-10 (-100 dB) added
 *             rather than clamped, so the log is smooth everywhere.
 *   mfcc      c_q = sum_b D_qb melspec_b, q < coefs, D the orthonormal
 *             DCT-II (D_qb = sqrt(2/B) cos(pi q (b + 1/2) / B), row 0 times
 *             1/sqrt(2)): librosa.feature.mfcc and torchaudio's MFCC
 *             (norm 'ortho') of the log-mel in dB, without their top_db
 *             clamp.
 *
 * Adjoints: each feature's gradient with respect to P (or to x for rms),
 * then dP_k/dx through the FFT: with G_k = dL/dP_k, dL/d(w x)_j =
 * Re sum_k 2 G_k X_k e^(2 pi i k j / n), an unnormalised inverse real FFT
 * of G_k X_k with the first and last bins doubled. Where a clamp is active
 * (loudness below its range, flatness bins under 1e-10) or a feature has a
 * corner (rms and centroid of silence, |X_k| = 0) the gradient is 0 there. */
#ifndef WF_FEATURES_H
#define WF_FEATURES_H

#include <stddef.h>

#include "runtime/real.h"

typedef enum {
    WF_FEAT_LOUDNESS,
    WF_FEAT_RMS,
    WF_FEAT_CENTROID,
    WF_FEAT_FLATNESS,
    WF_FEAT_MELSPEC,
    WF_FEAT_MFCC,
} wf_feat_kind;

typedef struct wf_feat_spec {
    wf_feat_kind kind;
    int n;            /* frame (FFT) size, even, >= 4 */
    double rate;      /* audio rate, Hz */
    int bands;        /* melspec, mfcc: mel bands */
    int coefs;        /* mfcc: coefficients kept, <= bands */
    double fmin, fmax; /* mel bank range in Hz; fmax 0 or above rate/2: rate/2 */
    double range_db, ref_db; /* loudness (DDSP: 80, 0) */
    double floor;     /* melspec, mfcc: added to s M_b before the log (0: 1e-10) */
} wf_feat_spec;

typedef struct wf_feat {
    wf_feat_spec s;
    int bins, dims;  /* n/2 + 1; values per frame */
    double *win;     /* [n] */
    double *wbin;    /* [bins]: loudness A-weights (linear), centroid f_k */
    int *first, *len; /* [bands]: mel band b's run of bins */
    double *mel;     /* the runs' weights, packed in band order */
    double *dct;     /* [coefs x bands] */
} wf_feat;

/* Values per frame (1, bands or coefs). */
int wf_feat_dims(const wf_feat_spec *s);
/* Bytes of the tables of s (wf_feat_init's mem). */
size_t wf_feat_table_bytes(const wf_feat_spec *s);
/* Fills f's tables into mem (wf_feat_table_bytes, 64-byte aligned). */
void wf_feat_init(wf_feat *f, const wf_feat_spec *s, void *mem);
/* Scratch bytes of one forward or backward call. */
size_t wf_feat_work_bytes(const wf_feat *f);

/* out[i * ostride + d] = feature d of frame i, the frame's samples at
 * x[(i hop + j) * xstride], j < n, for i < frames. */
void wf_feat_forward(const wf_feat *f, const wf_real *x, int xstride, int hop, int frames,
                     wf_real *out, int ostride, void *work);
/* dx[(i hop + j) * xstride] += d/dx of sum_{i,d} g[i * gstride + d] out[i * ostride + d]. */
void wf_feat_backward(const wf_feat *f, const wf_real *x, int xstride, int hop, int frames,
                      const wf_real *g, int gstride, wf_real *dx, void *work);

/* librosa.A_weighting(f, min_db=-80) in dB. */
double wf_a_weighting_db(double hz);

#endif
