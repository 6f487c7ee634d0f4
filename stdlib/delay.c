/* delay: a fractional delay line, y[n] = x(n - D[n]), D = time * sr clamped
 * to [0, max * sr], x(m) = 0 before the start, read by one of two
 * interpolations:
 *
 * linear:  x(i + u) = x[i] (1 - u) + x[i+1] u.
 *   Backward: dx scatters g with the same two weights; d/dD = -g (x[i+1] -
 *   x[i]) where D is inside its range.
 * allpass: the first-order allpass interpolator (Jaffe & Smith 1983,
 *   "Extensions of the Karplus-Strong plucked-string algorithm", CMJ 7(2)),
 *   N = floor(D - 1/2), u = D - N in [1/2, 3/2), c = (1 - u) / (1 + u):
 *     y[n] = c x[n - N] + x[n - N - 1] - c y[n-1],
 *   of unit magnitude at every frequency and phase delay u at low ones. Its
 *   magnitude does not change with the fraction, which is why a tuned
 *   string loop wants it: a linear read is a lowpass that changes with the
 *   fraction, so that a pitch change inside a loop also changes its decay.
 *   D is at least 1/2 sample; a jump of N (D through a half sample) switches
 *   filters. Backward, the adjoint recursion backwards in time,
 *     G[n] = g[n] - c[n+1] G[n+1],
 *     dx[n - N] += c G[n],  dx[n - N - 1] += G[n],
 *     dc[n] = G[n] (x[n - N] - y[n-1]),  d/dD = dc (-2 / (1 + u)^2).
 *
 * The state keeps the last max * sr + 2 samples (and the allpass's last
 * output), so a stream of blocks gives the same signal as one whole pass.
 * Inside a feedback loop (runtime/loop.c) the input's past is in its view
 * instead, and the backward runs in steps, the allpass's adjoint carried
 * from one to the next in the state. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stdlib/map.h"

enum { A_X, A_TIME, A_MAX, A_INTERP };
enum { LINEAR, ALLPASS };

#define MAX_SECONDS 3600.0

static const char *const interps[] = {"linear", "allpass", NULL};

static const wf_arg_spec delay_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to delay", 0, NULL, -1, 1},
    {"time", WF_ARG_SIGNAL, NULL, "delay in seconds", 0, NULL, 0.0021, 0.0049},
    {"max", WF_ARG_NUMBER, "1", "longest delay in seconds (time is clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
    {"interp", WF_ARG_ENUM, "linear",
     "linear, or allpass: unit magnitude at any fraction (for tuned loops)", 0, interps, 0, 0},
};

static int delay_infer(wf_infer *ic)
{
    if (wf_infer_filter(ic, A_X))
        return -1;
    /* the delay line holds max seconds of every channel */
    double maxd = wf_opt_num(ic->node, A_MAX, 1.0);
    if (maxd > MAX_SECONDS) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a delay holds at most an hour", "max",
                                        ic->name, maxd);
        return -1;
    }
    return 0;
}

/* Samples of history: the longest delay, at most 2^30 samples (a delay this
 * long at a high rate is cut there, and so is its time). */
#define MAX_HISTORY (1 << 30)

static int history_len(const wf_gnode *g, const wf_env *e)
{
    double h = ceil(wf_opt_num(g, A_MAX, 1.0) * e->sr) + 2;
    return h < MAX_HISTORY ? (int)h : MAX_HISTORY;
}

/* The longest delay the history holds, in samples. */
static double longest(const wf_gnode *g, const wf_env *e)
{
    double maxd = wf_opt_num(g, A_MAX, 1.0) * e->sr, fits = history_len(g, e) - 2;
    return maxd < fits ? maxd : fits;
}

static int interp_of(const wf_gnode *g)
{
    return (int)wf_opt_num(g, A_INTERP, LINEAR);
}

/* The state: the history, then per channel the allpass's last output and
 * its adjoint carried between a loop's steps (c[n+1] G[n+1]). */
static size_t hist_bytes(const wf_gnode *g, const wf_env *e)
{
    size_t b = (size_t)history_len(g, e) * (size_t)g->shape.chans * sizeof(wf_real);
    return (b + 7) & ~(size_t)7;
}

static double *carries(const wf_kctx *k)
{
    return (double *)((unsigned char *)k->state + hist_bytes(k->node, k->env));
}

static void delay_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                       wf_sizes *s)
{
    (void)in;
    size_t C = (size_t)g->shape.chans, H = (size_t)history_len(g, e);
    s->state = hist_bytes(g, e) + 2 * C * sizeof(double);
    s->work = (H + (size_t)block) * C * sizeof(wf_real) + 64;
    s->bwork = 3 * s->work;
}

static int delay_past(const wf_gnode *g, const wf_env *e)
{
    return history_len(g, e);
}

/* Where a call reads its input: x at time t (frames from the call's first)
 * is p[(o + t) * st + c * sc]. Streams copy history and block together;
 * inside a loop the view holds the past. */
typedef struct line {
    const wf_real *p;
    wf_real *d; /* the input's adjoint, laid out alike (backward) */
    int o;
    size_t st, sc;
} line;

/* [history | block], [H + n] x C. */
static wf_real *fill(const wf_kctx *k, const wf_real *hist, int H, void **cur)
{
    int n = k->out.n, C = k->out.chans;
    wf_real *buf = wf_carve(cur, (size_t)(H + n) * C * sizeof(wf_real));
    if (hist)
        memcpy(buf, hist, (size_t)H * C * sizeof(wf_real));
    else
        memset(buf, 0, (size_t)H * C * sizeof(wf_real));
    const wf_sig *x = &k->in[A_X];
    wf_stride sx = wf_stride_of(x, &k->out);
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            buf[(size_t)(H + t) * C + c] = x->p[WF_AT(sx, t, c)];
    return buf;
}

static line open_line(wf_kctx *k, int backward, void **cur)
{
    line L = {0};
    int n = k->out.n, C = k->out.chans, H = history_len(k->node, k->env);
    if (k->past) {
        const wf_sig *x = &k->in[A_X];
        wf_stride sx = wf_stride_of(x, &k->out);
        L.o = k->past;
        L.st = sx.t;
        L.sc = sx.c;
        L.p = x->p - (size_t)k->past * sx.t;
        if (backward && k->din[A_X].p)
            L.d = k->din[A_X].p - (size_t)k->past * sx.t;
        return L;
    }
    /* a whole pass's backward starts from silence, a stream from its history */
    L.p = fill(k, backward ? NULL : k->state, H, cur);
    L.o = H;
    L.st = (size_t)C;
    L.sc = 1;
    if (backward && k->din[A_X].p) {
        L.d = wf_carve(cur, (size_t)(H + n) * C * sizeof(wf_real));
        memset(L.d, 0, (size_t)(H + n) * C * sizeof(wf_real));
    }
    return L;
}

static void close_line(wf_kctx *k, const line *L, int backward)
{
    int n = k->out.n, C = k->out.chans;
    if (k->past)
        return;
    if (!backward)
        memcpy(k->state, L->p + (size_t)n * C, (size_t)L->o * C * sizeof(wf_real));
    else if (L->d)
        wf_reduce_into(&k->din[A_X], L->d + (size_t)L->o * C, n, C);
}

#define AT(L, i, c) ((size_t)(i) * (L)->st + (size_t)(c) * (L)->sc)

/* One read: the earlier sample's index (from the line's origin) and the
 * fraction, for a delay of D samples at frame t. Inside a loop, a delay
 * that closes it delays by at least k->least samples: times a rounding
 * short of it (1/rate in float) are taken as it, shorter ones too, with a
 * fault, since the loop has not computed what they would read. */
typedef struct tap {
    int i;
    double u;
    int inside; /* D inside its range: the gradient flows */
} tap;

static tap tap_at(wf_kctx *k, const line *L, double D, double maxd, int t, int kind)
{
    tap r;
    double lo = kind == ALLPASS ? 0.5 : 0;
    r.inside = D > lo && D < maxd;
    if (!(D > lo)) /* a NaN delay reads the shortest */
        D = lo;
    if (D > maxd)
        D = maxd;
    double need = k->least + lo;
    if (k->least && D < need) {
        if (D < need - 1e-3) {
            char what[96];
            snprintf(what, sizeof what, "delay of %.4g samples, under its loop's step of %d", D,
                     k->least);
            wf_kernel_fault(k, t, what);
        }
        D = need;
        r.inside = 0;
    }
    if (kind == ALLPASS) {
        double N = floor(D - 0.5);
        r.i = L->o + t - (int)N; /* reads i and i - 1 */
        r.u = D - N;
    } else {
        double pos = (double)(L->o + t) - D, fl = floor(pos);
        r.i = (int)fl; /* reads i and i + 1 */
        r.u = pos - fl;
    }
    return r;
}

static void delay_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, kind = interp_of(k->node);
    double maxd = longest(k->node, k->env), sr = k->env->sr;
    void *cur = k->work;
    line L = open_line(k, 0, &cur);
    const wf_sig *tm = &k->in[A_TIME];
    wf_stride st = wf_stride_of(tm, &k->out);
    double *prev = carries(k);
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++) {
            tap p = tap_at(k, &L, tm->p[WF_AT(st, t, c)] * sr, maxd, t, kind);
            double y;
            if (kind == ALLPASS) {
                double cf = (1 - p.u) / (1 + p.u);
                y = cf * L.p[AT(&L, p.i, c)] + L.p[AT(&L, p.i - 1, c)] - cf * prev[c];
                prev[c] = y;
            } else {
                /* with u = 0 (a delay of 0) the later sample is not read: for
                 * the block's last frame it lies past the line */
                double a = L.p[AT(&L, p.i, c)];
                y = p.u > 0 ? a + (L.p[AT(&L, p.i + 1, c)] - a) * p.u : a;
            }
            k->out.p[(size_t)t * C + c] = (wf_real)y;
        }
    close_line(k, &L, 0);
}

static void delay_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, kind = interp_of(k->node);
    double maxd = longest(k->node, k->env), sr = k->env->sr;
    void *cur = k->work;
    line L = open_line(k, 1, &cur);
    const wf_sig *tm = &k->in[A_TIME], *dtime = &k->din[A_TIME];
    wf_stride st = wf_stride_of(tm, &k->out);
    wf_real *tg = dtime->p ? wf_carve(&cur, (size_t)n * C * sizeof(wf_real)) : NULL;
    if (kind == LINEAR) {
        for (int t = 0; t < n; t++)
            for (int c = 0; c < C; c++) {
                size_t o = (size_t)t * C + c;
                wf_real g = k->dout->p[o];
                tap p = tap_at(k, &L, tm->p[WF_AT(st, t, c)] * sr, maxd, t, kind);
                if (L.d) {
                    L.d[AT(&L, p.i, c)] += g * (wf_real)(1 - p.u);
                    if (p.u > 0)
                        L.d[AT(&L, p.i + 1, c)] += g * (wf_real)p.u;
                }
                if (tg) /* inside, the later sample is on the line */
                    tg[o] = p.inside ? (wf_real)(-sr * g *
                                                 (L.p[AT(&L, p.i + 1, c)] - L.p[AT(&L, p.i, c)]))
                                     : 0;
            }
    } else {
        /* the carry from the step after this one (a loop's), else none */
        double *carry = carries(k) + C;
        for (int c = 0; c < C; c++) {
            double cG = k->past ? carry[c] : 0;
            for (int t = n - 1; t >= 0; t--) {
                size_t o = (size_t)t * C + c;
                tap p = tap_at(k, &L, tm->p[WF_AT(st, t, c)] * sr, maxd, t, kind);
                double cf = (1 - p.u) / (1 + p.u), G = k->dout->p[o] - cG;
                /* the output before: the line's own past inside a loop, else 0 at the start */
                double yp = t > 0 || k->past ? (k->out.p + o)[-C] : 0;
                if (L.d) {
                    L.d[AT(&L, p.i, c)] += (wf_real)(cf * G);
                    L.d[AT(&L, p.i - 1, c)] += (wf_real)G;
                }
                if (tg) {
                    double dc = G * (L.p[AT(&L, p.i, c)] - yp);
                    tg[o] = p.inside ? (wf_real)(dc * -2 / ((1 + p.u) * (1 + p.u)) * sr) : 0;
                }
                cG = cf * G;
            }
            carry[c] = cG;
        }
    }
    close_line(k, &L, 1);
    if (tg)
        wf_reduce_into(dtime, tg, n, C);
}

const wf_node_kind wf_kind_delay = {
    .name = "delay",
    .family = "delay",
    .doc = "Fractional delay by `time` seconds, up to `max` seconds, read by linear "
           "interpolation or by a first-order allpass (`interp: allpass`, unit magnitude, for "
           "tuned feedback loops; at least half a sample). Inside a feedback loop a delay "
           "whose time has a lower bound when compiling (a constant, a param with bounds) "
           "closes the loop.",
    .args = delay_args,
    .nargs = 4,
    .flags = WF_KIND_STEPS,
    .keep = 3 | WF_KEEP_OUT,
    .infer = delay_infer,
    .size = delay_size,
    .forward = delay_forward,
    .backward = delay_backward,
    .past = delay_past,
};
