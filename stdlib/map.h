/* Elementwise kernels with broadcasting, as macros so that each node's maths
 * is inlined into a plain loop over the block (no per-sample calls).
 *
 * Each input is either laid out like the output ("full"), or broadcast: a
 * constant over time and/or one channel over many. When every input is full
 * or a single scalar, the loop is flat over n * chans; otherwise it walks
 * frames and channels with per-input strides.
 *
 * Forward bodies read x0, x1, x2 and assign y. Gradient bodies read the same
 * plus y (the output, when kept) and g (the output adjoint) and assign
 * d0, d1, d2: the partial derivatives times g. */
#ifndef WF_MAP_H
#define WF_MAP_H

#include <stddef.h>

#include "runtime/node.h"

typedef struct wf_stride {
    size_t t, c; /* element step per frame and per channel */
    int kind;    /* 1 full, 0 scalar, -1 other */
} wf_stride;

static inline wf_stride wf_stride_of(const wf_sig *s, const wf_sig *out)
{
    wf_stride st;
    st.t = (s->n == 1 && out->n != 1) ? 0 : (size_t)s->chans;
    st.c = (s->chans == 1 && out->chans != 1) ? 0 : 1;
    if (st.c == 1 && (st.t == (size_t)out->chans || out->n == 1))
        st.kind = 1;
    else if (st.t == 0 && st.c == 0)
        st.kind = 0;
    else
        st.kind = -1;
    return st;
}

/* Index of element (t, c) of an input with stride st. */
#define WF_AT(st, tt, cc) ((size_t)(tt) * (st).t + (size_t)(cc) * (st).c)

#define WF_MAP1(k, BODY)                                                                       \
    do {                                                                                       \
        const wf_real *P0_ = (k)->in[0].p;                                                     \
        wf_real *O_ = (k)->out.p;                                                              \
        size_t N_ = (size_t)(k)->out.n * (size_t)(k)->out.chans;                               \
        for (size_t i_ = 0; i_ < N_; i_++) {                                                   \
            wf_real x0 = P0_[i_], y;                                                           \
            BODY;                                                                              \
            O_[i_] = y;                                                                        \
        }                                                                                      \
    } while (0)

#define WF_MAP2(k, BODY)                                                                       \
    do {                                                                                       \
        wf_stride S0_ = wf_stride_of(&(k)->in[0], &(k)->out);                                  \
        wf_stride S1_ = wf_stride_of(&(k)->in[1], &(k)->out);                                  \
        const wf_real *P0_ = (k)->in[0].p, *P1_ = (k)->in[1].p;                                \
        wf_real *O_ = (k)->out.p;                                                              \
        int n_ = (k)->out.n, C_ = (k)->out.chans;                                              \
        size_t N_ = (size_t)n_ * (size_t)C_;                                                   \
        if (S0_.kind == 1 && S1_.kind == 1) {                                                  \
            for (size_t i_ = 0; i_ < N_; i_++) {                                               \
                wf_real x0 = P0_[i_], x1 = P1_[i_], y;                                         \
                BODY;                                                                          \
                O_[i_] = y;                                                                    \
            }                                                                                  \
        } else if (S0_.kind == 1 && S1_.kind == 0) {                                           \
            const wf_real x1 = P1_[0];                                                         \
            for (size_t i_ = 0; i_ < N_; i_++) {                                               \
                wf_real x0 = P0_[i_], y;                                                       \
                BODY;                                                                          \
                O_[i_] = y;                                                                    \
            }                                                                                  \
        } else if (S0_.kind == 0 && S1_.kind == 1) {                                           \
            const wf_real x0 = P0_[0];                                                         \
            for (size_t i_ = 0; i_ < N_; i_++) {                                               \
                wf_real x1 = P1_[i_], y;                                                       \
                BODY;                                                                          \
                O_[i_] = y;                                                                    \
            }                                                                                  \
        } else {                                                                               \
            for (int t_ = 0; t_ < n_; t_++)                                                    \
                for (int c_ = 0; c_ < C_; c_++) {                                              \
                    wf_real x0 = P0_[WF_AT(S0_, t_, c_)], x1 = P1_[WF_AT(S1_, t_, c_)], y;     \
                    BODY;                                                                      \
                    O_[(size_t)t_ * C_ + c_] = y;                                              \
                }                                                                              \
        }                                                                                      \
    } while (0)

#define WF_MAP3(k, BODY)                                                                       \
    do {                                                                                       \
        wf_stride S0_ = wf_stride_of(&(k)->in[0], &(k)->out);                                  \
        wf_stride S1_ = wf_stride_of(&(k)->in[1], &(k)->out);                                  \
        wf_stride S2_ = wf_stride_of(&(k)->in[2], &(k)->out);                                  \
        const wf_real *P0_ = (k)->in[0].p, *P1_ = (k)->in[1].p, *P2_ = (k)->in[2].p;           \
        wf_real *O_ = (k)->out.p;                                                              \
        int n_ = (k)->out.n, C_ = (k)->out.chans;                                              \
        if (S0_.kind == 1 && S1_.kind == 0 && S2_.kind == 0) {                                 \
            size_t N_ = (size_t)n_ * (size_t)C_;                                               \
            const wf_real x1 = P1_[0], x2 = P2_[0];                                            \
            for (size_t i_ = 0; i_ < N_; i_++) {                                               \
                wf_real x0 = P0_[i_], y;                                                       \
                BODY;                                                                          \
                O_[i_] = y;                                                                    \
            }                                                                                  \
        } else {                                                                               \
            for (int t_ = 0; t_ < n_; t_++)                                                    \
                for (int c_ = 0; c_ < C_; c_++) {                                              \
                    wf_real x0 = P0_[WF_AT(S0_, t_, c_)], x1 = P1_[WF_AT(S1_, t_, c_)];        \
                    wf_real x2 = P2_[WF_AT(S2_, t_, c_)], y;                                   \
                    BODY;                                                                      \
                    O_[(size_t)t_ * C_ + c_] = y;                                              \
                }                                                                              \
        }                                                                                      \
    } while (0)

/* Adds one input's contribution: straight into its adjoint when it is laid
 * out like the output, else through the scratch block and a reduction. */
static inline wf_real *wf_grad_target(const wf_kctx *k, int i, wf_real *scratch)
{
    const wf_sig *d = &k->din[i];
    if (!d->p)
        return NULL;
    wf_stride st = wf_stride_of(d, &k->out);
    return st.kind == 1 ? d->p : scratch;
}

static inline void wf_grad_finish(const wf_kctx *k, int i, wf_real *target, wf_real *scratch)
{
    if (target && target == scratch)
        wf_reduce_into(&k->din[i], scratch, k->out.n, k->out.chans);
}

/* Scratch layout for gradient bodies: one [n x chans] block per input. */
static inline size_t wf_map_bwork(int nin, const wf_gnode *g, int block)
{
    return (size_t)nin * (size_t)block * (size_t)g->shape.chans * sizeof(wf_real);
}

/* Size rule for elementwise kinds: backward scratch for broadcast inputs. */
static inline void wf_map_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                               wf_sizes *s)
{
    (void)e;
    (void)in;
    s->bwork = wf_map_bwork(g->nin, g, block);
}

#define WF_GRAD_BEGIN_(k, NIN)                                                                 \
    wf_real *W_ = (wf_real *)(k)->work;                                                        \
    size_t N_ = (size_t)(k)->out.n * (size_t)(k)->out.chans;                                   \
    wf_real *T0_ = wf_grad_target((k), 0, W_);                                                 \
    wf_real *T1_ = (NIN) > 1 ? wf_grad_target((k), 1, W_ + N_) : NULL;                         \
    wf_real *T2_ = (NIN) > 2 ? wf_grad_target((k), 2, W_ + 2 * N_) : NULL;                     \
    if (T0_ == W_)                                                                             \
        for (size_t i_ = 0; i_ < N_; i_++)                                                     \
            W_[i_] = 0;                                                                        \
    if ((NIN) > 1 && T1_ == W_ + N_)                                                           \
        for (size_t i_ = 0; i_ < N_; i_++)                                                     \
            W_[N_ + i_] = 0;                                                                   \
    if ((NIN) > 2 && T2_ == W_ + 2 * N_)                                                       \
        for (size_t i_ = 0; i_ < N_; i_++)                                                     \
            W_[2 * N_ + i_] = 0;                                                               \
    const wf_real *G_ = (k)->dout->p;                                                          \
    const wf_real *Y_ = (k)->out.p;                                                            \
    (void)Y_;

#define WF_GRAD_END_(k, NIN)                                                                   \
    wf_grad_finish((k), 0, T0_, W_);                                                           \
    if ((NIN) > 1)                                                                             \
        wf_grad_finish((k), 1, T1_, W_ + N_);                                                  \
    if ((NIN) > 2)                                                                             \
        wf_grad_finish((k), 2, T2_, W_ + 2 * N_);

#define WF_GRAD1(k, BODY)                                                                      \
    do {                                                                                       \
        WF_GRAD_BEGIN_(k, 1)                                                                   \
        const wf_real *P0_ = (k)->in[0].p;                                                     \
        if (T0_)                                                                               \
            for (size_t i_ = 0; i_ < N_; i_++) {                                               \
                wf_real x0 = P0_[i_], g = G_[i_], y = Y_ ? Y_[i_] : 0, d0;                     \
                (void)y;                                                                       \
                BODY;                                                                          \
                T0_[i_] += d0;                                                                 \
            }                                                                                  \
        WF_GRAD_END_(k, 1)                                                                     \
    } while (0)

#define WF_GRAD2(k, BODY)                                                                      \
    do {                                                                                       \
        WF_GRAD_BEGIN_(k, 2)                                                                   \
        wf_stride S0_ = wf_stride_of(&(k)->in[0], &(k)->out);                                  \
        wf_stride S1_ = wf_stride_of(&(k)->in[1], &(k)->out);                                  \
        const wf_real *P0_ = (k)->in[0].p, *P1_ = (k)->in[1].p;                                \
        int n_ = (k)->out.n, C_ = (k)->out.chans;                                              \
        for (int t_ = 0; t_ < n_; t_++)                                                        \
            for (int c_ = 0; c_ < C_; c_++) {                                                  \
                size_t i_ = (size_t)t_ * C_ + c_;                                              \
                wf_real x0 = P0_[WF_AT(S0_, t_, c_)], x1 = P1_[WF_AT(S1_, t_, c_)];            \
                wf_real g = G_[i_], y = Y_[i_], d0, d1;                                        \
                (void)y;                                                                       \
                BODY;                                                                          \
                if (T0_)                                                                       \
                    T0_[i_] += d0;                                                             \
                if (T1_)                                                                       \
                    T1_[i_] += d1;                                                             \
            }                                                                                  \
        WF_GRAD_END_(k, 2)                                                                     \
    } while (0)

#define WF_GRAD3(k, BODY)                                                                      \
    do {                                                                                       \
        WF_GRAD_BEGIN_(k, 3)                                                                   \
        wf_stride S0_ = wf_stride_of(&(k)->in[0], &(k)->out);                                  \
        wf_stride S1_ = wf_stride_of(&(k)->in[1], &(k)->out);                                  \
        wf_stride S2_ = wf_stride_of(&(k)->in[2], &(k)->out);                                  \
        const wf_real *P0_ = (k)->in[0].p, *P1_ = (k)->in[1].p, *P2_ = (k)->in[2].p;           \
        int n_ = (k)->out.n, C_ = (k)->out.chans;                                              \
        for (int t_ = 0; t_ < n_; t_++)                                                        \
            for (int c_ = 0; c_ < C_; c_++) {                                                  \
                size_t i_ = (size_t)t_ * C_ + c_;                                              \
                wf_real x0 = P0_[WF_AT(S0_, t_, c_)], x1 = P1_[WF_AT(S1_, t_, c_)];            \
                wf_real x2 = P2_[WF_AT(S2_, t_, c_)];                                          \
                wf_real g = G_[i_], y = Y_[i_], d0, d1, d2;                                    \
                (void)y;                                                                       \
                BODY;                                                                          \
                if (T0_)                                                                       \
                    T0_[i_] += d0;                                                             \
                if (T1_)                                                                       \
                    T1_[i_] += d1;                                                             \
                if (T2_)                                                                       \
                    T2_[i_] += d2;                                                             \
            }                                                                                  \
        WF_GRAD_END_(k, 3)                                                                     \
    } while (0)

#endif
