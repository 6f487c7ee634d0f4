/* FFT convolution kernels shared by the effects (stdlib/fx.c) and the FIR
 * filters (stdlib/fir.c). They live in fx.c, where their maths is written
 * out; each pair of records below runs the same kernels under two names, so
 * the algorithms exist once:
 *
 * - the uniformly partitioned overlap-save convolution with a constant IR:
 *   reverb(x, ir), and fir(x, taps) when its taps are long (the cost model in
 *   fir.c). Signal input 0 is x, input 1 the taps, one per channel.
 * - DDSP's frequency-sampling time-varying FIR: filtered_noise(x, mags) and
 *   fir_tv(x, mags). Signal input 0 is x, input 1 the bands (control rate,
 *   WF_ARG_KEEP_CONTROL, or constant). */
#ifndef WF_CONV_H
#define WF_CONV_H

#include "runtime/node.h"

/* x as a kernel reads it: sample t of channel c, a constant held. */
static inline wf_real sample_at(const wf_sig *x, int t, int c)
{
    return x->p[(size_t)(x->n == 1 ? 0 : t) * (size_t)x->chans + (size_t)c];
}

/* Audio-rate output with the channels of signal input `arg`, which is read
 * at audio rate (a control signal is interpolated first). */
static inline int infer_x(wf_infer *ic, int arg)
{
    if (ic->in[arg].rate == WF_RATE_CONTROL)
        ic->want[arg] = WF_RATE_AUDIO;
    ic->out = wf_shape_of(WF_RATE_AUDIO, ic->in[arg].chans);
    return 0;
}

/* Partitioned convolution: y[n] = sum_{m < M} ir[m] x[n - m]. */
void wf_pconv_size(const wf_gnode *gn, const wf_shape *in, const wf_env *e, int block, wf_sizes *s);
void wf_pconv_reset(wf_kctx *k);
void wf_pconv_forward(wf_kctx *k);
void wf_pconv_backward(wf_kctx *k);
/* The partition length P and the number of partitions K it would use for
 * `taps` taps in a run of env e (FFTs of 2P points, K products per bin). */
void wf_pconv_partition(int taps, const wf_env *e, int *P, int *K);

/* Frequency-sampling time-varying FIR (filtered_noise, fir_tv). */
int wf_fsfir_infer(wf_infer *ic);
int wf_fsfir_lookahead(const wf_gnode *gn, const wf_shape *in, const wf_env *e, int input);
void wf_fsfir_size(const wf_gnode *gn, const wf_shape *in, const wf_env *e, int block, wf_sizes *s);
void wf_fsfir_reset(wf_kctx *k);
void wf_fsfir_forward(wf_kctx *k);
void wf_fsfir_backward(wf_kctx *k);

#endif
