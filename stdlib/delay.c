/* delay: a fractional delay line with linear interpolation,
 *   y[n] = x(n - D[n] sr),  D clamped to [0, max],  x(m) = 0 before the start,
 * x(p) = x[i] (1 - u) + x[i+1] u for p = i + u (stdlib/fracdelay.h). The state keeps the last
 * max * sr + 1 samples, so a stream of blocks gives the same signal as one
 * whole pass.
 * Backward: dx scatters g with the same two weights; d/dD = -sr g (x[i+1] -
 * x[i]) where D is inside its range. */
#include <math.h>
#include <string.h>

#include "stdlib/fracdelay.h"
#include "stdlib/map.h"

enum { A_X, A_TIME, A_MAX };

#define MAX_SECONDS 3600.0

static const wf_arg_spec delay_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to delay", 0, NULL, -1, 1},
    {"time", WF_ARG_SIGNAL, NULL, "delay in seconds", 0, NULL, 0.0021, 0.0049},
    {"max", WF_ARG_NUMBER, "1", "longest delay in seconds (time is clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
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

/* The longest delay the history holds, in seconds. */
static double longest(const wf_gnode *g, const wf_env *e)
{
    double maxd = wf_opt_num(g, A_MAX, 1.0), fits = (history_len(g, e) - 2) / e->sr;
    return maxd < fits ? maxd : fits;
}

static void delay_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                       wf_sizes *s)
{
    (void)in;
    size_t C = (size_t)g->shape.chans, H = (size_t)history_len(g, e);
    s->state = H * C * sizeof(wf_real);
    s->work = (H + (size_t)block) * C * sizeof(wf_real) + 64;
    s->bwork = 3 * s->work;
}

/* The tap of sample t of the block in the [history | block] buffer. */
static inline wf_tap tap_at(double D, double maxd, double sr, int H, int t)
{
    return wf_tap_at(D * sr, 0, maxd * sr, (double)(H + t));
}

/* Channel c at the tap. With u = 0 (a delay of 0) the later sample is not
 * read: for the block's last sample it lies past the buffer. */
static inline double read(const wf_real *buf, wf_tap p, int C, int c)
{
    double a = buf[(size_t)p.i * C + c];
    return p.u > 0 ? a + (buf[(size_t)(p.i + 1) * C + c] - a) * p.u : a;
}

/* buf = [history | block], [H + n] x C. */
static wf_real *fill(const wf_kctx *k, const wf_real *hist, int H, void **cur)
{
    int n = k->out.n, C = k->out.chans;
    wf_real *buf = wf_carve(cur, (size_t)(H + n) * C * sizeof(wf_real));
    memcpy(buf, hist, (size_t)H * C * sizeof(wf_real));
    const wf_sig *x = &k->in[A_X];
    wf_stride sx = wf_stride_of(x, &k->out);
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            buf[(size_t)(H + t) * C + c] = x->p[WF_AT(sx, t, c)];
    return buf;
}

static void delay_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, H = history_len(k->node, k->env);
    double maxd = longest(k->node, k->env), sr = k->env->sr;
    void *cur = k->work;
    wf_real *buf = fill(k, k->state, H, &cur);
    const wf_sig *tm = &k->in[A_TIME];
    wf_stride st = wf_stride_of(tm, &k->out);
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++) {
            wf_tap p = tap_at(tm->p[WF_AT(st, t, c)], maxd, sr, H, t);
            k->out.p[(size_t)t * C + c] = (wf_real)read(buf, p, C, c);
        }
    memcpy(k->state, buf + (size_t)n * C, (size_t)H * C * sizeof(wf_real));
}

static void delay_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, H = history_len(k->node, k->env);
    double maxd = longest(k->node, k->env), sr = k->env->sr;
    void *cur = k->work;
    wf_real *zero = wf_carve(&cur, (size_t)H * C * sizeof(wf_real));
    memset(zero, 0, (size_t)H * C * sizeof(wf_real));
    wf_real *buf = fill(k, zero, H, &cur);
    wf_real *dbuf = wf_carve(&cur, (size_t)(H + n) * C * sizeof(wf_real));
    memset(dbuf, 0, (size_t)(H + n) * C * sizeof(wf_real));
    const wf_sig *tm = &k->in[A_TIME];
    wf_stride st = wf_stride_of(tm, &k->out);
    const wf_sig *dtime = &k->din[A_TIME];
    wf_real *tg = dtime->p ? wf_carve(&cur, (size_t)n * C * sizeof(wf_real)) : NULL;
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++) {
            size_t o = (size_t)t * C + c;
            wf_real g = k->dout->p[o];
            wf_tap p = tap_at(tm->p[WF_AT(st, t, c)], maxd, sr, H, t);
            dbuf[(size_t)p.i * C + c] += (wf_real)(g * (1 - p.u));
            if (p.u > 0)
                dbuf[(size_t)(p.i + 1) * C + c] += (wf_real)(g * p.u);
            if (tg) /* inside, the later sample is in the buffer */
                tg[o] = p.inside ? (wf_real)(-sr * g *
                                             (buf[(size_t)(p.i + 1) * C + c] - buf[(size_t)p.i * C + c]))
                                 : 0;
        }
    if (k->din[A_X].p)
        wf_reduce_into(&k->din[A_X], dbuf + (size_t)H * C, n, C);
    if (tg)
        wf_reduce_into(dtime, tg, n, C);
}

const wf_node_kind wf_kind_delay = {
    .name = "delay",
    .family = "delay",
    .doc = "Fractional delay by `time` seconds (linear interpolation), up to `max` seconds.",
    .args = delay_args,
    .nargs = 3,
    .keep = 3,
    .infer = delay_infer,
    .size = delay_size,
    .forward = delay_forward,
    .backward = delay_backward,
};
