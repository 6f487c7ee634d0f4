/* Dynamics: compressor, limiter, expander and gate, one feed-forward design
 * (Giannoulis, Massberg & Reiss 2012, "Digital Dynamic Range Compressor
 * Design - A Tutorial and Analysis", JAES 60(6): the log-domain detector
 * placed after the gain computer, their recommended arrangement), with the
 * attack/release smoother's branch recorded on the tape and its adjoint run
 * backwards in time (as torchcomp's compressor_core does for its smoother).
 *
 * Per channel (channels are not linked: each has its own detector), at
 * sample n with x = x[n] and the params' values at n:
 *   L = 20 log10(|x| + 1e-7)                          level in dB (-140 dB floor)
 *   d = L - T                                         above the threshold T
 *   compressor and limiter, s = 1/R - 1 (R >= 1; the limiter's R is infinite, s = -1):
 *     gc = 0                  for 2d <= -W
 *     gc = s (d + W/2)^2 / 2W for |2d| < W           (the soft knee of width W dB)
 *     gc = s d                for 2d >= W
 *   expander and gate, e = R - 1, floored at the range F <= 0:
 *     gc = e d                for 2d <= -W
 *     gc = -e (d - W/2)^2 / 2W for |2d| < W
 *     gc = 0                  for 2d >= W,     then gc = max(gc, F)
 * (the knee is the quadratic that meets both lines with their slopes, so
 * the curve is C1; W = 0 is the hard knee). The gain in dB is smoothed by a
 * one-pole whose coefficient switches per sample:
 *   y[n] = a[n] y[n-1] + (1 - a[n]) gc[n],  y[-1] = 0,
 *   a[n] = aA = exp(-1 / (attack sr)) when the level rises (the gain falls
 *          in a compressor, gc < y[n-1]; it rises in an expander, gc > y[n-1]),
 *          aR = exp(-1 / (release sr)) otherwise,
 * so a step in level moves the gain by 1 - exp(-t / time) of its distance
 * in t seconds (time <= 0: at once), and
 *   out = x 10^((y + M) / 20)                        M: makeup (compressor, limiter)
 * Both branches give y[n] = gc[n] when gc[n] = y[n-1], so y is continuous
 * in every input even where the branch switches (only its slope jumps).
 *
 * Backward, with K = ln(10)/20, G = 10^((y + M)/20) and lam[n] = dL/dy[n]:
 *   dx += g G,  dM += g K out,  lam[n] = g[n] K out[n] + a[n+1] lam[n+1],
 *   dgc[n] = (1 - a[n]) lam[n],  da[n] = lam[n] (y[n-1] - gc[n]) into the
 *   branch taken (aA or aR), dtime = da a / (time^2 sr),
 * then dgc through the curve's partials in L (dL/dx = 20/ln 10 sign(x) /
 * (|x| + 1e-7)), T, R, W and F. The tape keeps y[n] and the branch of each
 * sample; the level and the curve are recomputed from the inputs.
 *
 * Each call computes the level, the curve and the coefficients over the
 * block first (vectorisable), then runs the serial smoother, then the gain;
 * the smoother's state is a double per channel, so streams equal whole
 * passes. */
#include <math.h>
#include <string.h>

#include "runtime/vmath.h"
#include "stdlib/map.h"
#include "stdlib/registry.h"

#define LN10 2.302585092994045684
#define K_DB (LN10 / 20)   /* 10^(v/20) = exp(K_DB v) */
#define LEVEL_EPS 1e-7     /* the detector's floor, -140 dB (todb's) */

/* The params of the design; the kinds' signatures hold a subset of them. */
enum { P_X, P_THR, P_RATIO, P_KNEE, P_ATT, P_REL, P_EXTRA, NP };

/* Which signal input holds each param (-1: none; the limiter's ratio is
 * infinite), and whether the curve acts below the threshold (expander,
 * gate) or above it (compressor, limiter). P_EXTRA is the makeup gain above
 * the threshold and the range below it. */
typedef struct layout {
    int below;
    int in[NP];
} layout;

static const layout above_layout = {0, {0, 1, 2, 3, 4, 5, 6}};
static const layout limiter_layout = {0, {0, 1, -1, 2, 3, 4, 5}};
static const layout below_layout = {1, {0, 1, 2, 3, 4, 5, 6}};

static const layout *layout_of(const wf_gnode *g)
{
    if (g->kind == &wf_kind_limiter)
        return &limiter_layout;
    if (g->kind == &wf_kind_expander || g->kind == &wf_kind_gate)
        return &below_layout;
    return &above_layout;
}

#define X_ARG {"x", WF_ARG_SIGNAL, NULL, "signal to process", 0, NULL, -1, 1}
#define THR_DOC "threshold in dB (of |x|, 0 dB = 1)"
#define RATIO_DOC "ratio, clamped to >= 1 (1: no change)"
#define KNEE_DOC "soft knee width in dB around the threshold, clamped to >= 0 (0: hard knee)"
#define ATT_DOC "attack time constant in seconds, while the level rises (<= 0: instant)"
#define REL_DOC "release time constant in seconds, while the level falls (<= 0: instant)"
#define MAKEUP_DOC "makeup gain in dB"
#define RANGE_DOC "most attenuation in dB, clamped to <= 0"

static const wf_arg_spec compressor_args[] = {
    X_ARG,
    {"threshold", WF_ARG_SIGNAL, "-20", THR_DOC, 0, NULL, -30, -10},
    {"ratio", WF_ARG_SIGNAL, "4", RATIO_DOC, 0, NULL, 1.5, 8},
    {"knee", WF_ARG_SIGNAL, "6", KNEE_DOC, 0, NULL, 3, 12},
    {"attack", WF_ARG_SIGNAL, "0.01", ATT_DOC, 0, NULL, 0.001, 0.005},
    {"release", WF_ARG_SIGNAL, "0.1", REL_DOC, 0, NULL, 0.006, 0.02},
    {"makeup", WF_ARG_SIGNAL, "0", MAKEUP_DOC, 0, NULL, -6, 6},
};

static const wf_arg_spec limiter_args[] = {
    X_ARG,
    {"threshold", WF_ARG_SIGNAL, "-1", "ceiling in dB (of |x|, 0 dB = 1)", 0, NULL, -12, -3},
    {"knee", WF_ARG_SIGNAL, "0", KNEE_DOC, 0, NULL, 3, 10},
    {"attack", WF_ARG_SIGNAL, "0", ATT_DOC, 0, NULL, 0.0005, 0.003},
    {"release", WF_ARG_SIGNAL, "0.05", REL_DOC, 0, NULL, 0.006, 0.02},
    {"makeup", WF_ARG_SIGNAL, "0", MAKEUP_DOC, 0, NULL, -6, 6},
};

static const wf_arg_spec expander_args[] = {
    X_ARG,
    {"threshold", WF_ARG_SIGNAL, "-40", THR_DOC, 0, NULL, -12, -3},
    {"ratio", WF_ARG_SIGNAL, "2", RATIO_DOC, 0, NULL, 1.5, 4},
    {"knee", WF_ARG_SIGNAL, "6", KNEE_DOC, 0, NULL, 3, 10},
    {"attack", WF_ARG_SIGNAL, "0.001", ATT_DOC, 0, NULL, 0.001, 0.005},
    {"release", WF_ARG_SIGNAL, "0.1", REL_DOC, 0, NULL, 0.006, 0.02},
    {"range", WF_ARG_SIGNAL, "-60", RANGE_DOC, 0, NULL, -40, -20},
};

static const wf_arg_spec gate_args[] = {
    X_ARG,
    {"threshold", WF_ARG_SIGNAL, "-50", THR_DOC, 0, NULL, -12, -3},
    {"ratio", WF_ARG_SIGNAL, "10", RATIO_DOC, 0, NULL, 5, 20},
    {"knee", WF_ARG_SIGNAL, "6", KNEE_DOC, 0, NULL, 3, 10},
    {"attack", WF_ARG_SIGNAL, "0.001", ATT_DOC, 0, NULL, 0.001, 0.005},
    {"release", WF_ARG_SIGNAL, "0.05", REL_DOC, 0, NULL, 0.006, 0.02},
    {"range", WF_ARG_SIGNAL, "-80", RANGE_DOC, 0, NULL, -40, -20},
};

static int dyn_infer(wf_infer *ic)
{
    return wf_infer_filter(ic, P_X);
}

/* State: the smoothed gain y per channel. Tape: y and the branch per
 * sample. Scratch (per channel, in double): forward the curve, both
 * coefficients and y; backward the level, the curve, both coefficients,
 * lam and da, plus a block per input for broadcast adjoints. */
enum { FW_ARRAYS = 4, BW_ARRAYS = 6 };

static void dyn_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)in;
    (void)e;
    size_t C = (size_t)g->shape.chans, B = (size_t)block;
    s->state = C * sizeof(double);
    s->saved = B * C * (sizeof(wf_real) + 1) + 128;
    s->work = FW_ARRAYS * (B * sizeof(double) + 64);
    s->bwork = wf_map_bwork(g->nin, g, block) + BW_ARRAYS * (B * sizeof(double) + 64);
}

/* The curve's value and its partials in L, T, R, W and the range F. */
typedef struct curve {
    double g, dL, dT, dR, dW, dF;
} curve;

/* The static curve at level L (see the top); R = INFINITY for the limiter. */
static inline curve gain_curve(int below, double L, double T, double R, double W, double F)
{
    curve c = {0, 0, 0, 0, 0, 0};
    double dslope = R >= 1 ? 1 : 0; /* R clamped to >= 1 */
    R = R >= 1 ? R : 1;
    W = W > 0 ? W : 0;
    double d = L - T, m; /* the line's slope: s in [-1, 0] above, e >= 0 below */
    if (!below) {
        m = 1 / R - 1;
        dslope *= -1 / (R * R);
        if (2 * d <= -W)
            return c;
        if (2 * d < W) {
            double u = d + W / 2;
            c.g = m * u * u / (2 * W);
            c.dL = m * u / W;
            c.dR = dslope * u * u / (2 * W);
            c.dW = m * u * (W - u) / (2 * W * W);
        } else {
            c.g = m * d;
            c.dL = m;
            c.dR = dslope * d;
        }
    } else {
        m = R - 1;
        if (2 * d >= W)
            return c;
        if (2 * d > -W) {
            double u = d - W / 2;
            c.g = -m * u * u / (2 * W);
            c.dL = -m * u / W;
            c.dR = -dslope * u * u / (2 * W);
            c.dW = m * u * (W + u) / (2 * W * W);
        } else {
            c.g = m * d;
            c.dL = m;
            c.dR = dslope * d;
        }
        double floor = F < 0 ? F : 0;
        if (c.g < floor) {
            curve f = {floor, 0, 0, 0, 0, F < 0 ? 1 : 0};
            return f;
        }
    }
    c.dT = -c.dL;
    return c;
}

/* The params' signals and strides (p NULL: the kind has no such input). */
typedef struct view {
    const wf_real *p[NP];
    wf_stride st[NP];
} view;

static view view_of(const wf_kctx *k, const layout *lo)
{
    view v;
    for (int p = 0; p < NP; p++) {
        int i = lo->in[p];
        v.p[p] = i >= 0 ? k->in[i].p : NULL;
        if (i >= 0)
            v.st[p] = wf_stride_of(&k->in[i], &k->out);
    }
    return v;
}

static inline double at(const view *v, int p, int t, int c)
{
    return (double)v->p[p][WF_AT(v->st[p], t, c)];
}

/* The curve at level L, sample t of channel c. */
static inline curve curve_at(const layout *lo, const view *v, double L, int t, int c)
{
    double R = v->p[P_RATIO] ? at(v, P_RATIO, t, c) : INFINITY;
    double F = lo->below ? at(v, P_EXTRA, t, c) : 0;
    return gain_curve(lo->below, L, at(v, P_THR, t, c), R, at(v, P_KNEE, t, c), F);
}

/* 10^(db/20), in float in the float32 build (the output's precision, and
 * expf is several times faster than exp). */
static inline wf_real gain_of(double db)
{
#ifdef WF_REAL_DOUBLE
    return exp(K_DB * db);
#else
    return expf((float)(K_DB * db));
#endif
}

/* The detector's levels of channel c over the call. */
static void levels(const view *v, int c, int n, double *lv)
{
    const wf_real *x = v->p[P_X] + (size_t)c * v->st[P_X].c;
    size_t s = v->st[P_X].t;
    for (int t = 0; t < n; t++)
        lv[t] = (20 / LN10) * (double)wf_log_pos((wf_real)fabs(x[(size_t)t * s]) + (wf_real)LEVEL_EPS);
}

/* Whether the curve's params (threshold, ratio, knee, range) are constant
 * over the call, for the branch-free loops. */
static int curve_fixed(const layout *lo, const view *v)
{
    return v->st[P_THR].t == 0 && v->st[P_KNEE].t == 0 &&
           (!v->p[P_RATIO] || v->st[P_RATIO].t == 0) && (!lo->below || v->st[P_EXTRA].t == 0);
}

/* The curve's gains over the call from the levels: one branch-free loop
 * when its params are constant. */
static void curve_block(const layout *lo, const view *v, const double *lv, int c, int n,
                        double *gc)
{
    int below = lo->below;
    if (!curve_fixed(lo, v)) {
        for (int t = 0; t < n; t++)
            gc[t] = curve_at(lo, v, lv[t], t, c).g;
        return;
    }
    double T = at(v, P_THR, 0, c), R = v->p[P_RATIO] ? at(v, P_RATIO, 0, c) : INFINITY;
    double W = fmax(at(v, P_KNEE, 0, c), 0), F = below ? fmin(at(v, P_EXTRA, 0, c), 0) : 0;
    R = R >= 1 ? R : 1;
    double m = below ? R - 1 : 1 / R - 1, h = W / 2, q = W > 0 ? m / (2 * W) : 0;
    if (!below)
        for (int t = 0; t < n; t++) {
            double d = lv[t] - T, u = d + h, knee = q * u * u, line = m * d;
            gc[t] = d <= -h ? 0 : d < h ? knee : line;
        }
    else
        for (int t = 0; t < n; t++) {
            double d = lv[t] - T, u = d - h, knee = -q * u * u, line = m * d;
            double g = d >= h ? 0 : d > -h ? knee : line;
            gc[t] = g < F ? F : g;
        }
}

/* The smoothing coefficient for a time constant T at sr (0: instant). */
static inline double coef(double T, double sr)
{
    return T > 0 ? exp(-1 / (T * sr)) : 0;
}

/* Coefficients of param p over the call (one exp for a constant time). */
static void coefs(const view *v, int p, int c, int n, double sr, double *a)
{
    if (v->st[p].t == 0) {
        double a0 = coef(at(v, p, 0, c), sr);
        for (int t = 0; t < n; t++)
            a[t] = a0;
        return;
    }
    for (int t = 0; t < n; t++)
        a[t] = coef(at(v, p, t, c), sr);
}

static void dyn_forward(wf_kctx *k)
{
    const layout *lo = layout_of(k->node);
    view v = view_of(k, lo);
    int n = k->out.n, C = k->out.chans, below = lo->below;
    double sr = k->env->sr, *st = k->state;
    void *cur = k->work;
    double *gc = wf_carve(&cur, (size_t)n * sizeof(double));
    double *aA = wf_carve(&cur, (size_t)n * sizeof(double));
    double *aR = wf_carve(&cur, (size_t)n * sizeof(double));
    double *ys = wf_carve(&cur, (size_t)n * sizeof(double));
    wf_real *ty = k->saved;
    unsigned char *tb = ty ? (unsigned char *)(ty + (size_t)k->block * (size_t)C) : NULL;
    for (int c = 0; c < C; c++) {
        levels(&v, c, n, ys);
        curve_block(lo, &v, ys, c, n, gc);
        coefs(&v, P_ATT, c, n, sr, aA);
        coefs(&v, P_REL, c, n, sr, aR);
        double y = st[c];
        for (int t = 0; t < n; t++) {
            double g = gc[t];
            int rise = below ? g > y : g < y; /* the level rises: attack */
            y = g + (rise ? aA[t] : aR[t]) * (y - g);
            ys[t] = y;
            if (ty) {
                size_t o = (size_t)t * C + c;
                ty[o] = (wf_real)y;
                tb[o] = (unsigned char)rise;
            }
        }
        st[c] = y;
        for (int t = 0; t < n; t++) {
            double m = below ? 0 : at(&v, P_EXTRA, t, c);
            size_t o = (size_t)t * C + c;
            k->out.p[o] = v.p[P_X][WF_AT(v.st[P_X], t, c)] * gain_of(ys[t] + m);
        }
    }
}

/* Where param p's adjoint goes: per sample into d (the input's adjoint, or
 * a scratch block reduced at the end), or for a constant input summed per
 * channel in double (a long sum loses float precision). */
typedef struct sink {
    int on;
    wf_real *d;
    double sum;
} sink;

static inline void put(sink *s, size_t o, double v)
{
    if (!s->on)
        return;
    if (s->d)
        s->d[o] += (wf_real)v;
    else
        s->sum += v;
}

/* dL/dx of the level, 20/ln 10 sign(x) / (|x| + 1e-7) (0 at x = 0). */
static inline double level_slope(double x)
{
    return x == 0 ? 0 : (20 / LN10) / (x > 0 ? x + LEVEL_EPS : x - LEVEL_EPS);
}

/* Adds the adjoints dg of the curve's gains over the call into x and the
 * curve's params: constant params (the usual case) sum the partials of
 * curve_block's branch-free forms in double. */
static void curve_adjoint(const layout *lo, const view *v, const double *lv, const double *dg,
                          int c, int n, int C, sink *sk)
{
    int below = lo->below;
    const wf_real *x = v->p[P_X] + (size_t)c * v->st[P_X].c;
    size_t xs = v->st[P_X].t;
    if (!curve_fixed(lo, v)) {
        for (int t = 0; t < n; t++) {
            size_t o = (size_t)t * C + c;
            curve cv = curve_at(lo, v, lv[t], t, c);
            double g = dg[t];
            if (sk[P_X].on)
                put(&sk[P_X], o, g * cv.dL * level_slope(x[(size_t)t * xs]));
            put(&sk[P_THR], o, g * cv.dT);
            put(&sk[P_RATIO], o, g * cv.dR);
            put(&sk[P_KNEE], o, g * cv.dW);
            if (below)
                put(&sk[P_EXTRA], o, g * cv.dF);
        }
        return;
    }
    double T = at(v, P_THR, 0, c), R = v->p[P_RATIO] ? at(v, P_RATIO, 0, c) : INFINITY;
    double W = fmax(at(v, P_KNEE, 0, c), 0), F = below ? at(v, P_EXTRA, 0, c) : 0;
    double dFl = F < 0 ? 1 : 0, dm = R >= 1 ? 1 : 0; /* the clamps' slopes */
    F = fmin(F, 0);
    R = R >= 1 ? R : 1;
    double m = below ? R - 1 : 1 / R - 1, h = W / 2;
    dm *= below ? 1 : -1 / (R * R);
    double q = W > 0 ? m / (2 * W) : 0, qr = W > 0 ? dm / (2 * W) : 0;
    double qw = W > 0 ? m / (2 * W * W) : 0;
    double sL = 0, sR = 0, sW = 0, sF = 0; /* sums of g times the partials */
    wf_real *dx = sk[P_X].on ? sk[P_X].d : NULL;
    for (int t = 0; t < n; t++) {
        double d = lv[t] - T, g = dg[t], pL, pR, pW, pF = 0;
        if (!below) {
            double u = d + h;
            int off = d <= -h, knee = d < h;
            pL = off ? 0 : knee ? 2 * q * u : m;
            pR = off ? 0 : knee ? qr * u * u : dm * d;
            pW = off ? 0 : knee ? qw * u * (W - u) : 0;
        } else {
            double u = d - h;
            int off = d >= h, knee = d > -h;
            int floor = (off ? 0 : knee ? -q * u * u : m * d) < F;
            off |= floor;
            pL = off ? 0 : knee ? -2 * q * u : m;
            pR = off ? 0 : knee ? -qr * u * u : dm * d;
            pW = off ? 0 : knee ? qw * u * (W + u) : 0;
            pF = floor ? dFl : 0;
        }
        sL += g * pL;
        sR += g * pR;
        sW += g * pW;
        sF += g * pF;
        if (dx)
            dx[(size_t)t * C + c] += (wf_real)(g * pL * level_slope(x[(size_t)t * xs]));
    }
    sk[P_THR].sum -= sL;
    sk[P_RATIO].sum += sR;
    sk[P_KNEE].sum += sW;
    sk[P_EXTRA].sum += below ? sF : 0;
}

/* Adds the coefficients' adjoints da into the attack and release times,
 * each sample into the one its branch used: da/dT = a / (T^2 sr). */
static void times_adjoint(const view *v, const unsigned char *tb, const double *da,
                          const double *aA, const double *aR, int c, int n, int C, double sr,
                          sink *sk)
{
    if (v->st[P_ATT].t == 0 && v->st[P_REL].t == 0) {
        double sA = 0, sR = 0;
        for (int t = 0; t < n; t++) {
            int att = tb[(size_t)t * C + c];
            sA += att ? da[t] : 0;
            sR += att ? 0 : da[t];
        }
        double TA = at(v, P_ATT, 0, c), TR = at(v, P_REL, 0, c);
        sk[P_ATT].sum += TA > 0 ? sA * aA[0] / (TA * TA * sr) : 0;
        sk[P_REL].sum += TR > 0 ? sR * aR[0] / (TR * TR * sr) : 0;
        return;
    }
    for (int t = 0; t < n; t++) {
        size_t o = (size_t)t * C + c;
        int p = tb[o] ? P_ATT : P_REL;
        double T = at(v, p, t, c);
        if (T > 0)
            put(&sk[p], o, da[t] * (tb[o] ? aA[t] : aR[t]) / (T * T * sr));
    }
}

static void dyn_backward(wf_kctx *k)
{
    const layout *lo = layout_of(k->node);
    view v = view_of(k, lo);
    int n = k->out.n, C = k->out.chans, below = lo->below;
    double sr = k->env->sr;
    const wf_real *ty = k->saved, *gy = k->dout->p;
    const unsigned char *tb = (const unsigned char *)(ty + (size_t)k->block * (size_t)C);
    size_t N = (size_t)n * (size_t)C;
    wf_real *W = k->work;
    sink sk[NP];
    for (int p = 0; p < NP; p++) {
        int i = lo->in[p];
        sk[p] = (sink){i >= 0 && k->din[i].p, NULL, 0};
        if (!sk[p].on || k->din[i].rate == WF_RATE_CONST)
            continue;
        sk[p].d = wf_grad_target(k, i, W + (size_t)i * N);
        if (sk[p].d == W + (size_t)i * N)
            memset(sk[p].d, 0, N * sizeof *W);
    }
    void *cur = W + (size_t)k->nin * N;
    double *gc = wf_carve(&cur, (size_t)n * sizeof(double));
    double *aA = wf_carve(&cur, (size_t)n * sizeof(double));
    double *aR = wf_carve(&cur, (size_t)n * sizeof(double));
    double *lam = wf_carve(&cur, (size_t)n * sizeof(double));
    double *da = wf_carve(&cur, (size_t)n * sizeof(double));
    double *lv = wf_carve(&cur, (size_t)n * sizeof(double));
    for (int c = 0; c < C; c++) {
        for (int p = 0; p < NP; p++)
            sk[p].sum = 0;
        /* the output's adjoints: into x, the makeup, and y */
        for (int t = 0; t < n; t++) {
            size_t o = (size_t)t * C + c;
            double m = below ? 0 : at(&v, P_EXTRA, t, c), x = at(&v, P_X, t, c);
            double G = gain_of((double)ty[o] + m), dy = gy[o] * K_DB * x * G;
            if (sk[P_X].on)
                put(&sk[P_X], o, gy[o] * G);
            if (!below && sk[P_EXTRA].on)
                put(&sk[P_EXTRA], o, dy);
            lam[t] = dy;
        }
        levels(&v, c, n, lv);
        curve_block(lo, &v, lv, c, n, gc);
        coefs(&v, P_ATT, c, n, sr, aA);
        coefs(&v, P_REL, c, n, sr, aR);
        /* the smoother's adjoint, backwards in time through the recorded
         * branches: lam becomes dL/dgc, da the coefficient's adjoint */
        double carry = 0;
        for (int t = n - 1; t >= 0; t--) {
            size_t o = (size_t)t * C + c;
            double a = tb[o] ? aA[t] : aR[t], l = lam[t] + carry;
            double prev = t > 0 ? (double)ty[o - (size_t)C] : 0;
            da[t] = l * (prev - gc[t]);
            lam[t] = (1 - a) * l;
            carry = a * l;
        }
        /* through the curve and the coefficients' times */
        curve_adjoint(lo, &v, lv, lam, c, n, C, sk);
        times_adjoint(&v, tb, da, aA, aR, c, n, C, sr, sk);
        for (int p = 0; p < NP; p++)
            if (sk[p].on && !sk[p].d) {
                const wf_sig *dp = &k->din[lo->in[p]];
                dp->p[dp->chans == 1 ? 0 : c] += (wf_real)sk[p].sum;
            }
    }
    for (int p = 0; p < NP; p++)
        if (sk[p].d)
            wf_grad_finish(k, lo->in[p], sk[p].d, W + (size_t)lo->in[p] * N);
}

#define CONTRACT                                                                               \
    " All params may be constant, per frame or audio rate, with gradients into each (through " \
    "the branch of the smoother each sample took). Channels are not linked: each has its own " \
    "detector. Stability contract: the smoother's coefficients lie in [0, 1) for every time, " \
    "so nothing can blow up and nothing is reported; ratio < 1 is clamped to 1, knee < 0 to 0 " \
    "(the hard knee, whose gradient in `knee` is 0), a time <= 0 is instant; the gradient is 0 " \
    "beyond a clamp."

const wf_node_kind wf_kind_compressor = {
    .name = "compressor",
    .family = "dynamics",
    .doc = "Feed-forward compressor (Giannoulis, Massberg & Reiss 2012): the level "
           "L = 20 log10(|x| + 1e-7) dB per sample, a soft-knee gain computer in dB "
           "((1/ratio - 1)(L - threshold) above the knee, quadratic across it, 0 below), then a "
           "one-pole smoother of the gain in dB that uses exp(-1/(attack sr)) while the gain "
           "falls and exp(-1/(release sr)) while it rises, so a step in level moves the gain by "
           "1 - exp(-t/time) of the way in t seconds; out = x 10^((gain + makeup)/20)." CONTRACT,
    .args = compressor_args,
    .nargs = 7,
    .keep = 0x7f,
    .infer = dyn_infer,
    .size = dyn_size,
    .forward = dyn_forward,
    .backward = dyn_backward,
};

const wf_node_kind wf_kind_limiter = {
    .name = "limiter",
    .family = "dynamics",
    .doc = "Peak limiter: the compressor with an infinite ratio (the gain is threshold - L "
           "above the knee, whose curve stays below the ceiling) and an instant attack by "
           "default, so that no sample leaves above the ceiling `threshold` (+ makeup): at a "
           "rise the gain is the curve's at once, and a release only rises toward it. A nonzero "
           "attack lets peaks through for about that long, as a feed-forward limiter without "
           "lookahead does." CONTRACT,
    .args = limiter_args,
    .nargs = 6,
    .keep = 0x3f,
    .infer = dyn_infer,
    .size = dyn_size,
    .forward = dyn_forward,
    .backward = dyn_backward,
};

const wf_node_kind wf_kind_expander = {
    .name = "expander",
    .family = "dynamics",
    .doc = "Downward expander, the compressor's design below the threshold: the gain in dB is "
           "(ratio - 1)(L - threshold) below the knee, quadratic across it, 0 above, and at "
           "least `range` (the most attenuation). Attack is how fast the gain recovers when the "
           "level rises (the expander opens), release how fast it falls with the level (it "
           "closes): exp(-1/(time sr)) per sample each. out = x 10^(gain/20)." CONTRACT
           " range > 0 is clamped to 0.",
    .args = expander_args,
    .nargs = 7,
    .keep = 0x7f,
    .infer = dyn_infer,
    .size = dyn_size,
    .forward = dyn_forward,
    .backward = dyn_backward,
};

const wf_node_kind wf_kind_gate = {
    .name = "gate",
    .family = "dynamics",
    .doc = "Noise gate: the expander with a gate's defaults, a steep ratio (10: the gain falls "
           "by 9 dB a dB below the threshold) reaching the range of -80 dB within about 9 dB, "
           "a 1 ms attack (opening) and a 50 ms release (closing). A finite ratio and the knee "
           "keep the gain a continuous function of the level, so the threshold has a gradient "
           "(a hard gate's step has none)." CONTRACT " range > 0 is clamped to 0.",
    .args = gate_args,
    .nargs = 7,
    .keep = 0x7f,
    .infer = dyn_infer,
    .size = dyn_size,
    .forward = dyn_forward,
    .backward = dyn_backward,
};
