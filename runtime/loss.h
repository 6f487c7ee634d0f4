/* Losses between a rendered signal and a target, with their gradient with
 * respect to the rendered signal:
 *   l1:  mean |y - t|
 *   l2:  mean (y - t)^2
 *   mss: the multi-scale spectral loss of DDSP (Engel et al. 2020), as
 *        bench/WORKLOADS.md 0.2 defines it: for each FFT size n, hop n/4, periodic
 *        Hann window, no padding, S = |STFT|,
 *        w_lin mean|S - T| + w_log mean|log(S + 1e-7) - log(T + 1e-7)|,
 *        summed over sizes.
 *   mel: a log-mel spectral distance (after auraloss's MelSTFTLoss, over
 *        several sizes as DDSP's): for each FFT size n (default 2048 1024
 *        512), hop n/4, frames centred on multiples of the hop (zeros
 *        outside, N/hop + 1 of them), periodic Hann window, B mel bands
 *        (default 64, HTK triangles from 0 Hz to the Nyquist) of the power
 *        M scaled by 16/n^2 (a full-scale sine reads about 1),
 *        mean over frames and bands of |ln(M_y + 1e-7) - ln(M_t + 1e-7)|,
 *        summed over sizes: runtime/features.h's melspec with a floor of
 *        1e-7, in nepers rather than dB.
 * Any of them may add DDSP SpectralLoss's loudness term,
 *   loudness_weight * mean_i |L_y[i] - L_t[i]|,
 * L DDSP's compute_loudness (n_fft 2048 as SpectralLoss uses it, range
 * 80 dB, frames centred every `hop` samples: the node loudness()'s maths).
 * The target's spectra and features are computed once per target. */
#ifndef WF_LOSS_H
#define WF_LOSS_H

#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/real.h"

typedef enum { WF_LOSS_MSS, WF_LOSS_L1, WF_LOSS_L2, WF_LOSS_MEL } wf_loss_kind;

#define WF_LOSS_MAX_SIZES 12

typedef struct wf_loss_opts {
    wf_loss_kind kind;
    int nsizes;                     /* 0: the default 2048 1024 512 256 128 64 */
    int sizes[WF_LOSS_MAX_SIZES];   /* FFT sizes, even */
    double lin_weight, log_weight;  /* used when weights_given, else both 1 */
    int weights_given;
    int mel_bands;                  /* mel: bands (0: 64) */
    double loudness_weight;         /* 0: no loudness term */
    double rate;                    /* audio rate, Hz: mel and the loudness term need it */
    int hop;                        /* loudness frames every hop samples (0: rate / 250) */
} wf_loss_opts;

typedef struct wf_loss wf_loss;

/* A loss against target [n samples]; NULL with a diagnostic when the target
 * is too short for every FFT size (mss) or a setting is out of range. */
wf_loss *wf_loss_new(const wf_loss_opts *o, const wf_real *target, int64_t n, wf_diags *d);
/* Replaces the target (as long as the first): a batch's next excerpt. 0, or
 * -1 with a diagnostic when it is not finite. */
int wf_loss_set_target(wf_loss *L, const wf_real *target, wf_diags *d);
/* The loss of y [n]; when dy is not NULL, also d loss / d y (overwritten). */
double wf_loss_eval(wf_loss *L, const wf_real *y, wf_real *dy);
void wf_loss_free(wf_loss *L);
const char *wf_loss_name(wf_loss_kind k);
int wf_loss_parse(const char *s, wf_loss_kind *k);

#endif
