/* Losses between a rendered signal and a target, with their gradient with
 * respect to the rendered signal:
 *   l1:  mean |y - t|
 *   l2:  mean (y - t)^2
 *   mss: the multi-scale spectral loss of DDSP (Engel et al. 2020), as
 *        bench/WORKLOADS.md 0.2 defines it: for each FFT size n, hop n/4, periodic
 *        Hann window, no padding, S = |STFT|,
 *        w_lin mean|S - T| + w_log mean|log(S + 1e-7) - log(T + 1e-7)|,
 *        summed over sizes.
 * The target's spectra are computed once, when the loss is made. */
#ifndef WF_LOSS_H
#define WF_LOSS_H

#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/real.h"

typedef enum { WF_LOSS_MSS, WF_LOSS_L1, WF_LOSS_L2 } wf_loss_kind;

#define WF_LOSS_MAX_SIZES 12

typedef struct wf_loss_opts {
    wf_loss_kind kind;
    int nsizes;                     /* 0: the default 2048 1024 512 256 128 64 */
    int sizes[WF_LOSS_MAX_SIZES];   /* FFT sizes, even */
    double lin_weight, log_weight;  /* used when weights_given, else both 1 */
    int weights_given;
} wf_loss_opts;

typedef struct wf_loss wf_loss;

/* A loss against target [n samples]; NULL with a diagnostic when the target
 * is too short for every FFT size. */
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
