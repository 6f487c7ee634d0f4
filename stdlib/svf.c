/* svf: Zavalishin's topology-preserving state variable filter (The Art of
 * VA Filter Design, ch. 4.4; the two-integrator loop with trapezoidal
 * integrators, solved for its zero-delay feedback):
 *   g = tan(pi f / sr) (stdlib/tpt.h),  k = 1 / q,  D = 1 / (1 + g k + g^2),
 *   hp = D (x - (k + g) s1 - s2),  bp = g hp + s1 = D (g x + s1 - g s2),
 *   lp = g bp + s2 = D (g^2 x + g s1 + (1 + g k) s2),
 *   s1 <- 2 bp - s1,  s2 <- 2 lp - s2  (s1 = s2 = 0 at the start).
 * With constant f and q it is the bilinear transform, prewarped at f, of
 *   lp 1/P, bp k s/P, hp s^2/P, notch (s^2 + 1)/P, peak (1 - s^2)/P,
 *   P = s^2 + k s + 1,
 * with s = j tan(w/2) / g on the unit circle. The band-pass output is k bp
 * (0 dB at f), so lp + bp + hp = x, notch = lp + hp and peak = lp - hp
 * (gain 2q at f, 1 at DC and the Nyquist). The integrators' states are the
 * capacitors of the analogue circuit, so modulating f and q, even at audio
 * rate, does not blow up as a direct form's does.
 *
 * Backward, backwards in time: with (l1, l2) = dL/d(s1, s2) after step n
 * and the mode's weights (wl, wb, wh) of y = wl lp + wb k bp + wh hp,
 *   Al = wl dy + 2 l2,  Ab = wb k dy + 2 l1,  Ah = wh dy,
 *   dx = D (Ab g + Al g^2 + Ah),
 *   l1 <- -l1 + D (Ab + Al g - Ah (k + g)),
 *   l2 <- -l2 + D (-Ab g + Al (1 + g k) - Ah),
 *   dg = D (Ab (x - s2) + Al (2 g x + s1 + k s2) - Ah s1 - (k + 2g) S),
 *   dk = wb dy bp + D (Al g s2 - Ah s1 - g S),  S = Ab bp + Al lp + Ah hp,
 * (the Jacobians of the step in x, s1, s2, g and k; dD/dg = -D^2 (k + 2g),
 * dD/dk = -D^2 g), then df = dg dg/df and dq = -k^2 dk. The tape keeps
 * (s1, s2) before each step. Inside a feedback loop the backward runs in
 * the loop's steps, (l1, l2) carried from one to the next in the state. */
#include <math.h>
#include <string.h>

#include "stdlib/map.h"
#include "stdlib/tpt.h"

enum { A_X, A_FREQ, A_Q, A_MODE };

#define QMIN 1e-3 /* q is clamped to at least this (k = 1000) */

static const char *const modes[] = {"lp", "bp", "hp", "notch", "peak", NULL};

/* y = wl lp + wb k bp + wh hp per mode. */
static const double weights[][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 1}, {1, 0, -1}};

static const wf_arg_spec svf_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter", 0, NULL, -1, 1},
    {"freq", WF_ARG_SIGNAL, NULL, "cutoff or centre in Hz, clamped to [0, 0.4999 sr]", 0, NULL,
     200, 2500},
    {"q", WF_ARG_SIGNAL, "0.7071", "resonance (0.7071: Butterworth lp and hp), clamped to >= 0.001",
     0, NULL, 0.4, 4},
    {"mode", WF_ARG_ENUM, "lp",
     "lp, bp (0 dB at freq), hp, notch (lp + hp) or peak (lp - hp, 2q at freq)", 0, modes, 0, 0},
};

static int svf_infer(wf_infer *ic)
{
    if (wf_infer_filter(ic, A_X))
        return -1;
    return 0;
}

static void svf_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)in;
    (void)e;
    size_t C = (size_t)g->shape.chans;
    s->state = 4 * C * sizeof(double); /* (s1, s2), then (l1, l2) between a loop's steps */
    s->saved = 2 * (size_t)block * C * sizeof(wf_real);
    s->bwork = wf_map_bwork(3, g, block);
}

/* The step's coefficients from f and q, and their derivatives. */
typedef struct coefs {
    double f, q;          /* the inputs they were made from */
    double g, k, D;
    double dgdf, dkdq;
} coefs;

static void set_coefs(coefs *cf, double f, double q, double sr)
{
    if (f == cf->f && q == cf->q)
        return; /* constant and slow parameters skip the tan */
    cf->f = f;
    cf->q = q;
    cf->g = wf_tpt_g(f, sr, &cf->dgdf);
    int inside = q > QMIN;
    cf->k = 1 / (inside ? q : QMIN);
    cf->dkdq = inside ? -cf->k * cf->k : 0;
    cf->D = 1 / (1 + cf->g * cf->k + cf->g * cf->g);
}

static const double *mode_weights(const wf_kctx *k)
{
    return weights[(int)wf_opt_num(k->node, A_MODE, 0)];
}

static void svf_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double sr = k->env->sr, *st = k->state;
    const double *w = mode_weights(k);
    const wf_sig *x = &k->in[A_X], *f = &k->in[A_FREQ], *q = &k->in[A_Q];
    wf_stride sx = wf_stride_of(x, &k->out), sf = wf_stride_of(f, &k->out);
    wf_stride sq = wf_stride_of(q, &k->out);
    wf_real *tape = k->saved;
    for (int c = 0; c < C; c++) {
        double s1 = st[2 * c], s2 = st[2 * c + 1];
        coefs cf = {NAN, NAN, 0, 0, 0, 0, 0};
        for (int t = 0; t < n; t++) {
            set_coefs(&cf, f->p[WF_AT(sf, t, c)], q->p[WF_AT(sq, t, c)], sr);
            size_t o = (size_t)t * C + c;
            if (tape) {
                tape[2 * o] = (wf_real)s1;
                tape[2 * o + 1] = (wf_real)s2;
            }
            double g = cf.g, kk = cf.k;
            double hp = cf.D * (x->p[WF_AT(sx, t, c)] - (kk + g) * s1 - s2);
            double bp = g * hp + s1, lp = g * bp + s2;
            s1 = 2 * bp - s1;
            s2 = 2 * lp - s2;
            k->out.p[o] = (wf_real)(w[0] * lp + w[1] * kk * bp + w[2] * hp);
        }
        st[2 * c] = s1;
        st[2 * c + 1] = s2;
    }
}

static void svf_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double sr = k->env->sr;
    const double *w = mode_weights(k);
    const wf_sig *x = &k->in[A_X], *f = &k->in[A_FREQ], *q = &k->in[A_Q];
    wf_stride sx = wf_stride_of(x, &k->out), sf = wf_stride_of(f, &k->out);
    wf_stride sq = wf_stride_of(q, &k->out);
    const wf_real *tape = k->saved, *gy = k->dout->p;
    size_t N = (size_t)n * (size_t)C;
    wf_real *W = k->work;
    wf_real *dx = wf_grad_target(k, A_X, W), *df = wf_grad_target(k, A_FREQ, W + N);
    wf_real *dq = wf_grad_target(k, A_Q, W + 2 * N);
    for (int i = 0; i < 3; i++)
        if ((i == 0 ? dx : i == 1 ? df : dq) == W + (size_t)i * N)
            memset(W + (size_t)i * N, 0, N * sizeof *W);
    double *carry = (double *)k->state + 2 * C; /* a loop's later step's (l1, l2), else none */
    for (int c = 0; c < C; c++) {
        double l1 = k->past ? carry[2 * c] : 0, l2 = k->past ? carry[2 * c + 1] : 0;
        coefs cf = {NAN, NAN, 0, 0, 0, 0, 0};
        for (int t = n - 1; t >= 0; t--) {
            set_coefs(&cf, f->p[WF_AT(sf, t, c)], q->p[WF_AT(sq, t, c)], sr);
            size_t o = (size_t)t * C + c;
            double g = cf.g, kk = cf.k, D = cf.D, s1 = tape[2 * o], s2 = tape[2 * o + 1];
            double xv = x->p[WF_AT(sx, t, c)];
            double hp = D * (xv - (kk + g) * s1 - s2), bp = g * hp + s1, lp = g * bp + s2;
            double dy = gy[o];
            double Al = w[0] * dy + 2 * l2, Ab = w[1] * kk * dy + 2 * l1, Ah = w[2] * dy;
            double S = Ab * bp + Al * lp + Ah * hp;
            if (dx)
                dx[o] += (wf_real)(D * (Ab * g + Al * g * g + Ah));
            if (df) {
                double dg = D * (Ab * (xv - s2) + Al * (2 * g * xv + s1 + kk * s2) - Ah * s1 -
                                 (kk + 2 * g) * S);
                df[o] += (wf_real)(dg * cf.dgdf);
            }
            if (dq) {
                double dk = w[1] * dy * bp + D * (Al * g * s2 - Ah * s1 - g * S);
                dq[o] += (wf_real)(dk * cf.dkdq);
            }
            double n1 = -l1 + D * (Ab + Al * g - Ah * (kk + g));
            double n2 = -l2 + D * (-Ab * g + Al * (1 + g * kk) - Ah);
            l1 = n1;
            l2 = n2;
        }
        carry[2 * c] = l1;
        carry[2 * c + 1] = l2;
    }
    wf_grad_finish(k, A_X, dx, W);
    wf_grad_finish(k, A_FREQ, df, W + N);
    wf_grad_finish(k, A_Q, dq, W + 2 * N);
}

const wf_node_kind wf_kind_svf = {
    .name = "svf",
    .family = "filters",
    .doc = "State variable filter, Zavalishin's topology-preserving design (trapezoidal "
           "integrators, prewarped at `freq`): lp, bp (0 dB at `freq`), hp, notch or peak of "
           "the second-order analogue prototype with k = 1/q, so lp + bp + hp = x. `freq` and "
           "`q` may be constant, per frame or audio rate; the states are the analogue "
           "integrators', so the filter stays bounded under fast modulation (no direct-form "
           "coefficient jumps). Stability contract: `freq` is clamped to [0, 0.4999 sr] and `q` "
           "to at least 0.001; inside those every (freq, q) is stable, and the gradient is 0 "
           "beyond a clamp. Nothing is reported. May sit inside a feedback loop.",
    .args = svf_args,
    .nargs = 4,
    .flags = WF_KIND_STEPS,
    .keep = 7,
    .infer = svf_infer,
    .size = svf_size,
    .forward = svf_forward,
    .backward = svf_backward,
};
