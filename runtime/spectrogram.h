/* Spectrograms of mono signals: the short-time Fourier transform with a
 * Hann window, as magnitudes in dB on a linear frequency axis (one row per
 * FFT bin) or on a mel axis (one row per band of a triangular mel filter
 * bank). Used by `weft spectrogram`; small enough for any other picture. */
#ifndef WF_SPECTROGRAM_H
#define WF_SPECTROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/real.h"

typedef struct wf_spec_opts {
    int fft;     /* window and FFT size, even, >= 16 (0: 2048) */
    int hop;     /* samples between frames (0: fft / 4) */
    int mel;     /* bands of a mel axis; 0: linear, one row per bin */
    double fmin, fmax; /* the mel axis's range in Hz (fmax 0: rate / 2) */
} wf_spec_opts;

typedef struct wf_spectrogram {
    int frames, rows;
    double rate, seconds;     /* the signal's rate and length */
    double hop_seconds;       /* frame t is centred at t * hop_seconds */
    int mel;                  /* bands on a mel axis; 0: linear */
    /* Rows are evenly spaced on the axis (Hz, or mel with mel set): row r
     * is centred at row0 + r * step; the axis runs from lo (bottom) to hi. */
    double lo, hi, row0, step;
    double *freq;             /* each row's centre in Hz [rows] */
    float *db;                /* [frames x rows]; -INFINITY for silence */
    float peak;               /* the largest value in db (-INFINITY for silence) */
} wf_spectrogram;

/* Frames are centred (the signal padded with fft/2 zeros each side), so
 * there are n / hop + 1 of them. Levels are dB relative to a full-scale
 * sine: a sine of amplitude 1 at a bin's centre reads 0 dB on the linear
 * axis; on the mel axis a band holds the power of the bins under its
 * triangle (peak weight 1), so the same sine reads about 0 dB in the band
 * centred on it. 0 on success, -1 when the
 * options make no sense (an FFT size, hop or band count out of range). */
int wf_spectrogram_compute(const wf_real *x, int64_t n, double rate, const wf_spec_opts *o,
                           wf_spectrogram *s);
void wf_spectrogram_free(wf_spectrogram *s);

/* The mel scale of O'Shaughnessy (1987) as HTK uses it: 2595 log10(1 + f/700). */
double wf_mel_of_hz(double hz);
double wf_hz_of_mel(double mel);

/* The mel axis's filter bank (its triangles, and the interpolation of a band
 * that holds no bin), for the feature nodes and losses too: `bands` bands
 * evenly spaced in mel between fmin and fmax Hz over the fft/2 + 1 bins of
 * an FFT of `fft` at `rate`. Band b weighs bins first[b] .. first[b] +
 * len[b] - 1 with its next len[b] values of w, packed band after band, at
 * most wf_mel_filters_len(bands, fft) in all. */
size_t wf_mel_filters_len(int bands, int fft);
void wf_mel_filters(int bands, double fmin, double fmax, double rate, int fft, int *first,
                    int *len, double *w);

#endif
