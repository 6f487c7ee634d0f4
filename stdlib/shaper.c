/* shaper: memoryless level and distortion nodes (dasp-pytorch's gain and
 * distortion, Steinmetz et al. 2022, and a learnable waveshaper).
 *
 * gain(x, db) = x 10^(db/20):
 *   dy/dx = 10^(db/20),   dy/ddb = y ln(10)/20.
 *
 * distortion(x, drive, kind): u = x G with G = 10^(drive/20) (drive in dB,
 * as dasp's simple_distortion tanh(x 10^(drive/20))), then y = f(u):
 *   tanh  f(u) = tanh u                         f'(u) = 1 - tanh^2 u
 *   soft  f(u) = (3/2)(u - u^3/3), |u| <= 1     f'(u) = (3/2)(1 - u^2)
 *              = sign u,           |u| > 1      f'(u) = 0
 *         (the cubic soft clipper scaled to reach +-1: slope 3/2 at 0, and
 *         value and slope continuous where it meets the rails)
 *   hard  f(u) = clamp(u, -1, 1)                f'(u) = 1 for -1 <= u <= 1, else 0
 *         (PyTorch's clamp convention: the rails themselves pass the gradient)
 *   asym  f(u) = tanh(u + 1/2) - tanh(1/2)      f'(u) = 1 - tanh^2(u + 1/2)
 *         (a biased tanh with its offset taken out, f(0) = 0: it clips at
 *         1 - tanh(1/2) = 0.538 above and -1 - tanh(1/2) = -1.462 below,
 *         so it adds even harmonics, as a tube stage biased off centre does)
 * and by the chain rule dy/dx = f'(u) G, dy/ddrive = f'(u) u ln(10)/20.
 *
 * waveshaper(x, coeffs): a Chebyshev series in the input clipped to [-1, 1],
 *   v = clamp(x, -1, 1),   y = sum_{k=1..K} c_k T_k(v),
 * T_1 = v, T_2 = 2v^2 - 1, T_{k+1} = 2 v T_k - T_{k-1}. Chebyshev rather
 * than monomials because T_k(cos t) = cos(k t): a full-scale sine comes out
 * with c_k as the amplitude of its k-th harmonic, so the coefficients mean
 * something to a listener, start from identity at c = [1], and (being
 * orthogonal on [-1, 1]) are far better conditioned for a fit than the
 * powers v^k, which are nearly collinear. The clip keeps |y| <= sum |c_k|
 * whatever the input level (T_k grows like (2x)^k outside [-1, 1]).
 *   dy/dc_k = T_k(v),
 *   dy/dx   = sum_k c_k T_k'(v) for |x| < 1 (else 0),
 *             T_1' = 1, T_2' = 4v, T_{k+1}' = 2 T_k + 2 v T_k' - T_{k-1}'.
 * Every node here is stable for any finite input: nothing to report. */
#include <math.h>
#include <string.h>

#include "stdlib/map.h"

#define LN10_20 0.11512925464970228420 /* ln(10) / 20 */
#define ASYM_BIAS 0.5

/* ----------------------------------------------------------------- gain */

static const wf_arg_spec gain_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal", 0, NULL, -1, 1},
    {"db", WF_ARG_SIGNAL, "0", "gain in dB", 0, NULL, -12, 12},
};

static void gain_fwd(wf_kctx *k) { WF_MAP2(k, y = x0 * (wf_real)exp((double)x1 * LN10_20)); }
static void gain_bwd(wf_kctx *k)
{
    WF_GRAD2(k, ((void)x0, d0 = g * (wf_real)exp((double)x1 * LN10_20), d1 = g * y * (wf_real)LN10_20));
}
static double gain_fold(const double *x, const wf_opt *o, int c)
{
    (void)o;
    (void)c;
    return x[0] * exp(x[1] * LN10_20);
}

const wf_node_kind wf_kind_gain = {
    .name = "gain",
    .family = "shaper",
    .doc = "Level change in dB: x 10^(db/20) (dasp-pytorch's gain), db constant, per frame or "
           "per sample, with gradients into x and db. Stable for any finite db; nothing is "
           "clamped (a fit's range is the param's bounds, e.g. `in [-24, 24]`).",
    .args = gain_args,
    .nargs = 2,
    .keep = 3 | WF_KEEP_OUT,
    .infer = wf_infer_elementwise,
    .size = wf_map_size,
    .forward = gain_fwd,
    .backward = gain_bwd,
    .fold = gain_fold,
};

/* ----------------------------------------------------------- distortion */

enum { TANH, SOFT, HARD, ASYM };

static const char *const distortion_kinds[] = {"tanh", "soft", "hard", "asym", NULL};

static const wf_arg_spec distortion_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal", 0, NULL, -1, 1},
    {"drive", WF_ARG_SIGNAL, "0", "input gain in dB before the curve", 0, NULL, -6, 12},
    {"kind", WF_ARG_ENUM, "tanh", "the curve: tanh, soft (cubic), hard (clip), asym (biased tanh)",
     0, distortion_kinds, 0, 0},
};

/* The curve f(u) and its slope f'(u), in double. */
static inline double curve(int kind, double u, double *slope)
{
    switch (kind) {
    case SOFT:
        if (fabs(u) > 1) {
            *slope = 0;
            return u > 0 ? 1 : -1;
        }
        *slope = 1.5 * (1 - u * u);
        return 1.5 * u - 0.5 * u * u * u;
    case HARD:
        *slope = u >= -1 && u <= 1;
        return u < -1 ? -1 : u > 1 ? 1 : u;
    case ASYM: {
        double t = tanh(u + ASYM_BIAS);
        *slope = 1 - t * t;
        return t - tanh(ASYM_BIAS);
    }
    default: {
        double t = tanh(u);
        *slope = 1 - t * t;
        return t;
    }
    }
}

static int dist_kind(const wf_kctx *k)
{
    return (int)wf_opt_num(k->node, 2, TANH);
}

static void distortion_fwd(wf_kctx *k)
{
    int kind = dist_kind(k);
    double s;
    WF_MAP2(k, y = (wf_real)curve(kind, (double)x0 * exp((double)x1 * LN10_20), &s));
}

/* The adjoints of x and drive from the output's, g. */
static inline void distortion_adjoint(int kind, double x, double drive, double g, wf_real *dx,
                                      wf_real *ddrive)
{
    double G = exp(drive * LN10_20), u = x * G, s;
    curve(kind, u, &s);
    *dx = (wf_real)(g * s * G);
    *ddrive = (wf_real)(g * s * u * LN10_20);
}

static void distortion_bwd(wf_kctx *k)
{
    int kind = dist_kind(k);
    WF_GRAD2(k, distortion_adjoint(kind, x0, x1, g, &d0, &d1));
}

static double distortion_fold(const double *x, const wf_opt *o, int c)
{
    (void)c;
    double s;
    return curve(o[2].n ? (int)o[2].v[0] : TANH, x[0] * exp(x[1] * LN10_20), &s);
}

const wf_node_kind wf_kind_distortion = {
    .name = "distortion",
    .family = "shaper",
    .doc = "Memoryless distortion of u = x 10^(drive/20) (drive in dB, as dasp-pytorch's "
           "tanh(x 10^(drive/20))): tanh; soft, the cubic (3/2)(u - u^3/3) railing at +-1 "
           "for |u| > 1; hard, clamp(u, -1, 1), whose gradient is 1 for -1 <= u <= 1 and 0 "
           "beyond (a clipped sample passes no gradient to x or drive); asym, tanh(u + 1/2) - "
           "tanh(1/2), rails at 0.538 and -1.462 (even harmonics). drive constant, per frame "
           "or per sample; gradients into x and drive. Stable for any finite input; no "
           "anti-aliasing (oversample upstream for heavy drive).",
    .args = distortion_args,
    .nargs = 3,
    .keep = 3 | WF_KEEP_OUT,
    .infer = wf_infer_elementwise,
    .size = wf_map_size,
    .forward = distortion_fwd,
    .backward = distortion_bwd,
    .fold = distortion_fold,
};

/* ----------------------------------------------------------- waveshaper */

enum { W_X, W_COEFFS };

static const wf_arg_spec waveshaper_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal, clipped to [-1, 1] before the series", 0, NULL, -1, 1},
    {"coeffs", WF_ARG_SIGNAL, NULL,
     "c_1..c_K, one per channel, weights of the Chebyshev polynomials T_1..T_K (constant, per "
     "frame or per sample)",
     0, NULL, -1, 1},
};

/* Output at the higher rate of x and coeffs, with x's channels; a control
 * input of an audio-rate output is interpolated. */
static int waveshaper_infer(wf_infer *ic)
{
    wf_rate r = ic->in[W_X].rate > ic->in[W_COEFFS].rate ? ic->in[W_X].rate : ic->in[W_COEFFS].rate;
    for (int i = 0; i < ic->nin; i++)
        if (ic->in[i].rate != WF_RATE_CONST)
            ic->want[i] = r;
    ic->out = wf_shape_of(r, ic->in[W_X].chans);
    return 0;
}

static void waveshaper_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                            wf_sizes *s)
{
    (void)e;
    s->bwork = (size_t)block * (size_t)g->shape.chans * sizeof(wf_real) + 64 +
               (size_t)in[W_COEFFS].chans * sizeof(double) + 64;
}

static inline double clip1(double x)
{
    return x < -1 ? -1 : x > 1 ? 1 : x;
}

static void waveshaper_fwd(wf_kctx *k)
{
    const wf_sig *X = &k->in[W_X], *Cf = &k->in[W_COEFFS];
    int n = k->out.n, C = k->out.chans, K = Cf->chans;
    wf_stride sx = wf_stride_of(X, &k->out);
    for (int t = 0; t < n; t++) {
        const wf_real *c = Cf->p + (Cf->n > 1 ? (size_t)t * K : 0);
        for (int ch = 0; ch < C; ch++) {
            double v = clip1((double)X->p[WF_AT(sx, t, ch)]), tm = 1, tk = v, y = c[0] * v;
            for (int j = 1; j < K; j++) {
                double tn = 2 * v * tk - tm;
                tm = tk;
                tk = tn;
                y += c[j] * tk;
            }
            k->out.p[(size_t)t * C + ch] = (wf_real)y;
        }
    }
}

static void waveshaper_bwd(wf_kctx *k)
{
    const wf_sig *X = &k->in[W_X], *Cf = &k->in[W_COEFFS], *dC = &k->din[W_COEFFS];
    int n = k->out.n, C = k->out.chans, K = Cf->chans;
    void *cur = k->work;
    wf_real *scratch = wf_carve(&cur, sizeof(wf_real) * (size_t)n * (size_t)C);
    double *acc = wf_carve(&cur, sizeof(double) * (size_t)K);
    wf_real *dx = wf_grad_target(k, W_X, scratch);
    if (dx == scratch)
        memset(scratch, 0, sizeof(wf_real) * (size_t)n * (size_t)C);
    memset(acc, 0, sizeof(double) * (size_t)K);
    wf_stride sx = wf_stride_of(X, &k->out);
    for (int t = 0; t < n; t++) {
        const wf_real *c = Cf->p + (Cf->n > 1 ? (size_t)t * K : 0);
        for (int ch = 0; ch < C; ch++) {
            size_t o = (size_t)t * C + ch;
            double x = (double)X->p[WF_AT(sx, t, ch)], v = clip1(x), g = k->dout->p[o];
            /* T_{j-1}, T_j and their slopes */
            double tm = 1, tk = v, dm = 0, dk = 1, dy = c[0];
            if (dC->p) {
                if (dC->n > 1)
                    dC->p[(size_t)t * K] += (wf_real)(g * v);
                else
                    acc[0] += g * v;
            }
            for (int j = 1; j < K; j++) {
                double tn = 2 * v * tk - tm, dn = 2 * tk + 2 * v * dk - dm;
                tm = tk;
                tk = tn;
                dm = dk;
                dk = dn;
                dy += c[j] * dk;
                if (dC->p) {
                    if (dC->n > 1)
                        dC->p[(size_t)t * K + j] += (wf_real)(g * tk);
                    else
                        acc[j] += g * tk;
                }
            }
            if (dx)
                dx[o] += (wf_real)(fabs(x) < 1 ? g * dy : 0);
        }
    }
    wf_grad_finish(k, W_X, dx, scratch);
    for (int j = 0; dC->p && dC->n == 1 && j < K; j++)
        dC->p[j] += (wf_real)acc[j];
}

const wf_node_kind wf_kind_waveshaper = {
    .name = "waveshaper",
    .family = "shaper",
    .doc = "Learnable waveshaper: y = sum_k c_k T_k(v), the Chebyshev polynomials T_1..T_K of "
           "v = clamp(x, -1, 1), K the channels of coeffs; T_k turns a full-scale sine into its "
           "k-th harmonic, so c_k is that harmonic's amplitude and coeffs [1] is the identity "
           "(inside [-1, 1]). coeffs constant, per frame or per sample; gradients into x (0 "
           "where |x| >= 1, clipped) and every c_k. Bounded: |y| <= sum |c_k| for any input.",
    .args = waveshaper_args,
    .nargs = 2,
    .keep = 3,
    .infer = waveshaper_infer,
    .size = waveshaper_size,
    .forward = waveshaper_fwd,
    .backward = waveshaper_bwd,
};
