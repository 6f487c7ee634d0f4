/* Spectrograms (runtime/spectrogram.h).
 *
 * STFT: frames of `fft` samples every `hop`, centred on t * hop (the signal
 * padded with zeros, as librosa's center=True), times the periodic Hann
 * window w_j = 0.5 - 0.5 cos(2 pi j / fft), through the runtime's batched
 * real FFT (runtime/fft.h) in chunks of frames. A sine of amplitude A at a
 * bin's centre gives |X| = A sum(w) / 2 = A fft / 4 there, hence the scale.
 *
 * Mel axis: bands centred evenly in mel between fmin and fmax, each a
 * triangle over the bins from its left neighbour's centre to its right one's
 * (peak 1, HTK's filter bank; Young et al., The HTK Book, sec. 5.4), applied
 * to the power spectrum. A band narrower than the bin spacing that holds no
 * bin reads the power interpolated at its centre, so no row is empty. */
#include "runtime/spectrogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fft.h"
#include "runtime/util.h"

#define PI 3.14159265358979323846
#define CHUNK 64

double wf_mel_of_hz(double hz)
{
    return 2595.0 * log10(1.0 + hz / 700.0);
}

double wf_hz_of_mel(double mel)
{
    return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

size_t wf_mel_filters_len(int bands, int fft)
{
    /* a bin lies inside at most two neighbouring triangles; a band holding
     * no bin takes two */
    return 2 * (size_t)(fft / 2 + 1) + 2 * (size_t)bands;
}

void wf_mel_filters(int bands, double fmin, double fmax, double rate, int fft, int *first,
                    int *len, double *w)
{
    int bins = fft / 2 + 1;
    double lo = wf_mel_of_hz(fmin), step = (wf_mel_of_hz(fmax) - lo) / (bands + 1);
    double row0 = lo + step, df = rate / fft;
    for (int b = 0; b < bands; b++) {
        double left = wf_hz_of_mel(row0 + (b - 1) * step);
        double mid = wf_hz_of_mel(row0 + b * step);
        double right = wf_hz_of_mel(row0 + (b + 1) * step);
        int k0 = (int)floor(left / df) + 1, k1 = (int)ceil(right / df) - 1;
        if (k0 < 0)
            k0 = 0;
        if (k1 > bins - 1)
            k1 = bins - 1;
        if (k1 >= k0) {
            for (int k = k0; k <= k1; k++) {
                double f = k * df;
                *w++ = f <= mid ? (f - left) / (mid - left) : (right - f) / (right - mid);
            }
            first[b] = k0;
            len[b] = k1 - k0 + 1;
            continue;
        }
        /* no bin inside: linear interpolation of the power at the centre */
        double at = mid / df;
        int k = (int)floor(at);
        if (k >= bins - 1) {
            k = bins - 2;
            at = bins - 1;
        }
        *w++ = 1 - (at - k);
        *w++ = at - k;
        first[b] = k;
        len[b] = 2;
    }
}

int wf_spectrogram_compute(const wf_real *x, int64_t n, double rate, const wf_spec_opts *o,
                           wf_spectrogram *s)
{
    memset(s, 0, sizeof *s);
    int fft = o->fft ? o->fft : 2048;
    int hop = o->hop ? o->hop : fft / 4;
    if (fft < 16 || fft > (1 << 20) || fft % 2 || hop < 1 || hop > fft || o->mel < 0 ||
        o->mel > 1024 || n < 0 || n > ((int64_t)1 << 34) || !(rate > 0))
        return -1;
    int bins = fft / 2 + 1;
    s->frames = (int)(n / hop) + 1;
    s->rate = rate;
    s->seconds = (double)n / rate;
    s->hop_seconds = hop / rate;
    s->mel = o->mel;
    if (o->mel) {
        double fmax = o->fmax > 0 ? o->fmax : rate / 2;
        if (o->fmin < 0 || o->fmin >= fmax || fmax > rate / 2)
            return -1;
        s->rows = o->mel;
        s->lo = wf_mel_of_hz(o->fmin);
        s->hi = wf_mel_of_hz(fmax);
        s->step = (s->hi - s->lo) / (o->mel + 1);
        s->row0 = s->lo + s->step;
    } else {
        s->rows = bins;
        s->lo = 0;
        s->hi = rate / 2;
        s->row0 = 0;
        s->step = rate / fft;
    }
    s->freq = wf_xmalloc(sizeof *s->freq * (size_t)s->rows);
    for (int r = 0; r < s->rows; r++) {
        double a = s->row0 + r * s->step;
        s->freq[r] = s->mel ? wf_hz_of_mel(a) : a;
    }
    s->db = wf_xmalloc(sizeof *s->db * (size_t)s->frames * (size_t)s->rows);

    /* the signal with fft/2 zeros each side, and room for the last frame */
    int64_t padded = (int64_t)(s->frames - 1) * hop + fft;
    wf_real *xp = wf_aalloc(sizeof(wf_real) * (size_t)padded);
    memcpy(xp + fft / 2, x, sizeof(wf_real) * (size_t)n);
    wf_real *win = wf_aalloc(sizeof(wf_real) * (size_t)fft);
    for (int j = 0; j < fft; j++)
        win[j] = (wf_real)(0.5 - 0.5 * cos(2 * PI * j / fft));
    wf_real *frames = wf_aalloc(sizeof(wf_real) * CHUNK * (size_t)fft);
    wf_real *spec = wf_aalloc(sizeof(wf_real) * CHUNK * 2 * (size_t)bins);
    double *power = wf_xmalloc(sizeof *power * (size_t)bins);
    int *first = NULL, *len = NULL;
    double *mw = NULL;
    if (s->mel) {
        first = wf_xmalloc(sizeof *first * (size_t)s->rows);
        len = wf_xmalloc(sizeof *len * (size_t)s->rows);
        mw = wf_xmalloc(sizeof *mw * wf_mel_filters_len(s->rows, fft));
        wf_mel_filters(s->rows, o->fmin, o->fmax > 0 ? o->fmax : rate / 2, rate, fft, first, len, mw);
    }
    double scale = 1.0 / ((double)fft / 4 * fft / 4); /* |X|^2 of a unit sine to 1 */
    float peak = -INFINITY;
    for (int f0 = 0; f0 < s->frames; f0 += CHUNK) {
        int count = s->frames - f0 < CHUNK ? s->frames - f0 : CHUNK;
        for (int m = 0; m < count; m++) {
            const wf_real *src = xp + (size_t)(f0 + m) * hop;
            wf_real *dst = frames + (size_t)m * fft;
            for (int j = 0; j < fft; j++)
                dst[j] = src[j] * win[j];
        }
        wf_fft_r2c(fft, count, frames, spec);
        for (int m = 0; m < count; m++) {
            const wf_real *sp = spec + (size_t)m * 2 * bins;
            float *out = s->db + (size_t)(f0 + m) * s->rows;
            const double *mwr = mw;
            for (int k = 0; k < bins; k++)
                power[k] = ((double)sp[2 * k] * sp[2 * k] + (double)sp[2 * k + 1] * sp[2 * k + 1]) * scale;
            for (int r = 0; r < s->rows; r++) {
                double p = 0;
                if (s->mel) {
                    for (int k = 0; k < len[r]; k++)
                        p += mwr[k] * power[first[r] + k];
                    mwr += len[r];
                } else {
                    p = power[r];
                }
                out[r] = p > 0 ? 4.342944819f * logf((float)p) : -INFINITY; /* 10 log10 */
                if (out[r] > peak)
                    peak = out[r];
            }
        }
    }
    s->peak = peak;
    free(first);
    free(len);
    free(mw);
    free(power);
    wf_afree(spec);
    wf_afree(frames);
    wf_afree(win);
    wf_afree(xp);
    return 0;
}

void wf_spectrogram_free(wf_spectrogram *s)
{
    free(s->freq);
    free(s->db);
    memset(s, 0, sizeof *s);
}
