/* Feedback delays with a fractional delay: the feedback comb and Schroeder's
 * allpass (Schroeder 1962, "Natural sounding artificial reverberation"),
 * one kernel for
 *   y[n] = b0 x[n] + b1 x(n - D) + fb y(n - D),
 *   comb:    b0 = 1,  b1 = 0, fb = feedback  (H = 1 / (1 - fb z^-D)),
 *   allpass: b0 = -g, b1 = 1, fb = g         (H = (z^-D - g) / (1 - g z^-D)),
 * with D = delay sr samples and v(p) read by linear interpolation as in
 * stdlib/delay.c (stdlib/fracdelay.h): v(i + u) = v[i] (1 - u) + v[i+1] u,
 * 0 before the start.
 * D is clamped to [1, max sr] samples (the feedback needs at least one
 * sample of delay); the state keeps max seconds of y (and of x for the
 * allpass) in double, in rings indexed by the time since the start, so a
 * stream of blocks gives the same signal as one whole pass.
 *
 * The recursion is stable for |fb| < 1. A sample with |fb| >= 1 is reported
 * (wf_kernel_fault, "feedback 1.03"), never clamped; so is a delay that is
 * not a number (read as 1 sample, so the rings are never read outside).
 *
 * Backward, backwards in time: the adjoint of a feedback delay is a
 * feedback advance. With lam[n] = dL/dy[n] + (what later samples fed back),
 *   lam[n] = dy[n] + sum over m > n reading n: fb[m] w(m, n) lam[m],
 * where w(m, n) is the interpolation weight sample m gave y[n]; at step n,
 * lam[n] is complete, and it is scattered into lam[i], lam[i+1] with the
 * weights fb (1 - u), fb u. Likewise dx[n] = b0 lam[n] plus b1 lam[m]
 * scattered from the x taps; dfb[n] = lam[n] y(n - D), dg = lam (y(n - D) -
 * x[n]) for the allpass, and dD = -sr lam (b1 (x[i+1] - x[i]) +
 * fb (y[i+1] - y[i])) where D is inside its clamp (0 at the clamps). The
 * backward reads x and the output. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stdlib/fracdelay.h"
#include "stdlib/map.h"
#include "stdlib/registry.h"

enum { A_X, A_DELAY, A_FB, A_MAX };

#define MAX_SECONDS 60.0

static const wf_arg_spec comb_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter", 0, NULL, -1, 1},
    {"delay", WF_ARG_SIGNAL, NULL, "delay in seconds (peaks at multiples of 1/delay)", 0, NULL,
     0.0021, 0.0049},
    {"feedback", WF_ARG_SIGNAL, NULL, "gain of the delayed output, between -1 and 1", 0, NULL, -0.7,
     0.7},
    {"max", WF_ARG_NUMBER, "0.1", "longest delay in seconds (delay is clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

static const wf_arg_spec allpass_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter", 0, NULL, -1, 1},
    {"delay", WF_ARG_SIGNAL, NULL, "delay in seconds", 0, NULL, 0.0021, 0.0049},
    {"gain", WF_ARG_SIGNAL, "0.5", "allpass gain g, between -1 and 1", 0, NULL, -0.7, 0.7},
    {"max", WF_ARG_NUMBER, "0.1", "longest delay in seconds (delay is clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

static int comb_infer(wf_infer *ic)
{
    if (wf_infer_filter(ic, A_X))
        return -1;
    double maxd = wf_opt_num(ic->node, A_MAX, 0.1);
    if (maxd > MAX_SECONDS) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a feedback delay holds at most 60 s",
                                        "max", ic->name, maxd);
        return -1;
    }
    return 0;
}

static int is_allpass(const wf_gnode *g)
{
    return g->kind == &wf_kind_allpass;
}

/* Samples each ring holds: the longest delay and the two taps around it. */
static int64_t ring_len(const wf_gnode *g, const wf_env *e)
{
    return (int64_t)ceil(wf_opt_num(g, A_MAX, 0.1) * e->sr) + 2;
}

static void comb_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                      wf_sizes *s)
{
    (void)in;
    size_t C = (size_t)g->shape.chans, H = (size_t)ring_len(g, e);
    s->state = (is_allpass(g) ? 2 : 1) * H * C * sizeof(double);
    s->bwork = 2 * ((size_t)block * sizeof(double) + 64) + wf_map_bwork(3, g, block) + 3 * 64;
}

/* The coefficients (b0, b1, fb) from the third input's value v. */
static inline void coefs(int allpass, double v, double *b0, double *b1, double *fb)
{
    *b0 = allpass ? -v : 1;
    *b1 = allpass ? 1 : 0;
    *fb = v;
}

static void report(wf_kctx *k, int frame, int allpass, double v)
{
    char what[48];
    snprintf(what, sizeof what, "%s %.3g", allpass ? "gain" : "feedback", v);
    wf_kernel_fault(k, frame, what);
}

static void comb_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, ap = is_allpass(k->node);
    int64_t H = ring_len(k->node, k->env);
    double sr = k->env->sr, dmax = wf_opt_num(k->node, A_MAX, 0.1) * sr;
    const wf_sig *x = &k->in[A_X], *dl = &k->in[A_DELAY], *cv = &k->in[A_FB];
    wf_stride sx = wf_stride_of(x, &k->out), sd = wf_stride_of(dl, &k->out);
    wf_stride sc = wf_stride_of(cv, &k->out);
    int faulted = 0;
    for (int c = 0; c < C; c++) {
        double *yr = (double *)k->state + (size_t)c * (size_t)H;
        double *xr = ap ? yr + (size_t)C * (size_t)H : NULL;
        for (int t = 0; t < n; t++) {
            int64_t m = k->t0 + t;
            double dv = dl->p[WF_AT(sd, t, c)];
            wf_tap p = wf_tap_at(dv * sr, 1, dmax, (double)m);
            if (!isfinite(dv) && !faulted) {
                wf_kernel_fault(k, t, "delay is not finite");
                faulted = 1;
            }
            /* i >= m - H + 1, so slot i still holds sample i (or 0 before the start) */
            double v = cv->p[WF_AT(sc, t, c)], b0, b1, fb;
            coefs(ap, v, &b0, &b1, &fb);
            if (!(fabs(v) < 1) && !faulted) {
                report(k, t, ap, v);
                faulted = 1;
            }
            double xv = x->p[WF_AT(sx, t, c)];
            double y = b0 * xv + fb * wf_ring_read(yr, H, p);
            if (xr)
                y += wf_ring_read(xr, H, p);
            size_t slot = (size_t)(m % H);
            yr[slot] = y;
            if (xr)
                xr[slot] = xv;
            k->out.p[(size_t)t * C + c] = (wf_real)y;
        }
    }
}

/* Sample i of channel c of a signal laid out like the output, 0 before the
 * start. */
static inline double at(const wf_real *p, wf_stride s, int64_t i, int c)
{
    return i >= 0 ? (double)p[WF_AT(s, i, c)] : 0;
}

static void comb_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, ap = is_allpass(k->node);
    double sr = k->env->sr, dmax = wf_opt_num(k->node, A_MAX, 0.1) * sr;
    const wf_sig *x = &k->in[A_X], *dl = &k->in[A_DELAY], *cv = &k->in[A_FB];
    wf_stride sx = wf_stride_of(x, &k->out), sd = wf_stride_of(dl, &k->out);
    wf_stride sc = wf_stride_of(cv, &k->out), sy = wf_stride_of(&k->out, &k->out);
    const wf_real *gy = k->dout->p, *y = k->out.p;
    size_t N = (size_t)n * (size_t)C;
    void *cur = k->work;
    double *lam = wf_carve(&cur, (size_t)n * sizeof(double));
    double *dxa = wf_carve(&cur, (size_t)n * sizeof(double));
    wf_real *W = wf_carve(&cur, 3 * N * sizeof(wf_real));
    wf_real *dx = wf_grad_target(k, A_X, W), *dd = wf_grad_target(k, A_DELAY, W + N);
    wf_real *dc = wf_grad_target(k, A_FB, W + 2 * N);
    for (int i = 0; i < 3; i++)
        if ((i == 0 ? dx : i == 1 ? dd : dc) == W + (size_t)i * N)
            memset(W + (size_t)i * N, 0, N * sizeof *W);
    for (int c = 0; c < C; c++) {
        memset(lam, 0, (size_t)n * sizeof *lam);
        memset(dxa, 0, (size_t)n * sizeof *dxa);
        for (int t = n - 1; t >= 0; t--) {
            size_t o = (size_t)t * C + c;
            wf_tap p = wf_tap_at(dl->p[WF_AT(sd, t, c)] * sr, 1, dmax, (double)(k->t0 + t));
            p.i -= k->t0; /* in the call's frames */
            int64_t i = p.i;
            double v = cv->p[WF_AT(sc, t, c)], b0, b1, fb;
            coefs(ap, v, &b0, &b1, &fb);
            double L = gy[o] + lam[t], w0 = 1 - p.u, w1 = p.u;
            double ya = at(y, sy, i, c), yb = at(y, sy, i + 1, c);
            double xa = at(x->p, sx, i, c), xb = at(x->p, sx, i + 1, c);
            /* the taps lie before t, or at t with weight 0 */
            wf_tap_scatter(lam, p, fb * L);
            wf_tap_scatter(dxa, p, b1 * L);
            dxa[t] += b0 * L;
            double yd = ya * w0 + yb * w1;
            if (dc)
                dc[o] += (wf_real)(ap ? L * (yd - (double)x->p[WF_AT(sx, t, c)]) : L * yd);
            if (dd && p.inside)
                dd[o] += (wf_real)(-sr * L * (b1 * (xb - xa) + fb * (yb - ya)));
        }
        if (dx)
            for (int t = 0; t < n; t++)
                dx[(size_t)t * C + c] += (wf_real)dxa[t];
    }
    wf_grad_finish(k, A_X, dx, W);
    wf_grad_finish(k, A_DELAY, dd, W + N);
    wf_grad_finish(k, A_FB, dc, W + 2 * N);
}

#define STABILITY                                                                              \
    " `delay` may be constant, per frame or audio rate; it is clamped to [1 sample, `max`] "   \
    "(linear interpolation between samples, as `delay`), with a gradient of 0 beyond the "     \
    "clamps. Stability contract: the recursion is stable for |"

const wf_node_kind wf_kind_comb = {
    .name = "comb",
    .family = "filters",
    .doc = "Feedback comb filter y[n] = x[n] + feedback y(n - delay sr): peaks of height "
           "1/(1 - feedback) at multiples of 1/delay." STABILITY
           "feedback| < 1; a sample with |feedback| >= 1 is reported as unstable (unstable-run "
           "when rendering, unstable-node in a fit), never clamped; so is a delay that is not a "
           "number.",
    .args = comb_args,
    .nargs = 4,
    .keep = 7 | WF_KEEP_OUT,
    .infer = comb_infer,
    .size = comb_size,
    .forward = comb_forward,
    .backward = comb_backward,
};

const wf_node_kind wf_kind_allpass = {
    .name = "allpass",
    .family = "filters",
    .doc = "Schroeder allpass y[n] = -gain x[n] + x(n - D) + gain y(n - D), D = delay sr: unit "
           "magnitude at every frequency for whole-sample delays (between samples the linear "
           "interpolation dulls the highs a little)." STABILITY
           "gain| < 1; a sample with |gain| >= 1 is reported as unstable (unstable-run when "
           "rendering, unstable-node in a fit), never clamped; so is a delay that is not a "
           "number.",
    .args = allpass_args,
    .nargs = 4,
    .keep = 7 | WF_KEEP_OUT,
    .infer = comb_infer,
    .size = comb_size,
    .forward = comb_forward,
    .backward = comb_backward,
};
