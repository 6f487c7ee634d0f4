/* One-pole lowpasses: onepole for audio, smooth for de-zippering controls.
 *
 * onepole(x, freq): Zavalishin's topology-preserving one-pole (The Art of
 * VA Filter Design, ch. 3), a trapezoidal integrator in a feedback loop:
 *   g = tan(pi f / sr) (stdlib/tpt.h),  G = g / (1 + g),
 *   y[n] = G x[n] + (1 - G) s[n-1],     s[n] = 2 y[n] - s[n-1],  s[-1] = 0.
 * With constant f this is the bilinear transform of 1 / (1 + s/wc)
 * prewarped at f: H(z) = G (1 + z^-1) / (1 - (1 - 2G) z^-1), so |H| is
 * 1/sqrt(2) (-3.01 dB) at f exactly and 0 at the Nyquist. The state's
 * multiplier 1 - 2G lies in (-1, 1) for every f in (0, Nyquist), however
 * fast f moves, so the filter cannot blow up under modulation.
 * Backward, backwards in time, with lam = dL/ds[n] (0 after the end):
 *   a = dL/dy[n] + 2 lam,  dx[n] = G a,  dG[n] = a (x[n] - s[n-1]),
 *   lam <- (1 - G) a - lam,  df = dG dg/df / (1 + g)^2.
 * The tape keeps s[n-1] for each sample. Inside a feedback loop the
 * backward runs in steps, lam carried from one to the next in the state.
 *
 * smooth(x, time): the exponential (impulse-invariant) one-pole at the rate r
 * of its output (the frame rate for controls):
 *   a = 1 - exp(-1 / (time r)),  y[n] = y[n-1] + a (x[n] - y[n-1]),
 *   y[-1] = x[0] (a control starts where it is, it does not rise from 0),
 * so a step reaches 1 - 1/e of its height `time` seconds after it (after
 * time r samples). time <= 0 passes x through.
 * Backward, with lam[n] = dL/dy[n] + (1 - a[n+1]) lam[n+1]:
 *   dx[n] = a[n] lam[n],  da[n] = lam[n] (x[n] - y[n-1]),
 *   dtime = -da (1 - a) / (time^2 r),  and dx[0] += (1 - a[0]) lam[0]
 * for the start value. The backward reads only the output. */
#include <math.h>
#include <string.h>

#include "stdlib/map.h"
#include "stdlib/registry.h"
#include "stdlib/tpt.h"

enum { A_X, A_P }; /* the signal and its one coefficient (freq, time) */

static const wf_arg_spec onepole_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter", 0, NULL, -1, 1},
    {"freq", WF_ARG_SIGNAL, NULL, "cutoff in Hz (-3 dB), clamped to [0, 0.4999 sr]", 0, NULL, 200,
     2500},
};

static const wf_arg_spec smooth_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "control (or audio) signal to smooth", 0, NULL, -1, 1},
    {"time", WF_ARG_SIGNAL, "0.02", "time constant in seconds (to 1 - 1/e of a step)", 0, NULL,
     0.003, 0.012},
};

static int onepole_infer(wf_infer *ic)
{
    return wf_infer_filter(ic, A_X);
}

/* Elementwise shapes at the inputs' rate; x must change over time. */
static int smooth_infer(wf_infer *ic)
{
    if (wf_infer_elementwise(ic))
        return -1;
    if (ic->in[A_X].rate == WF_RATE_CONST) {
        wf_report_constant_signal(ic->d, ic->arg_loc[A_X], NULL, ic->name, "x");
        return -1;
    }
    return 0;
}

/* State: one double per channel (onepole's s, smooth's y), then onepole's
 * lam carried between the steps of a feedback loop's backward. Backward
 * scratch: a block per input for broadcast adjoints. */
static void onepole_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                         wf_sizes *s)
{
    (void)in;
    (void)e;
    size_t C = (size_t)g->shape.chans;
    s->state = 2 * C * sizeof(double);
    s->saved = g->kind == &wf_kind_onepole ? (size_t)block * C * sizeof(wf_real) : 0;
    s->bwork = wf_map_bwork(2, g, block);
}

/* ---- onepole ---- */

static void onepole_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double sr = k->env->sr, *st = k->state;
    const wf_sig *x = &k->in[A_X], *f = &k->in[A_P];
    wf_stride sx = wf_stride_of(x, &k->out), sf = wf_stride_of(f, &k->out);
    wf_real *tape = k->saved;
    for (int c = 0; c < C; c++) {
        double s = st[c], fprev = NAN, G = 0, dg;
        for (int t = 0; t < n; t++) {
            double fv = f->p[WF_AT(sf, t, c)];
            if (fv != fprev) { /* constant and slow cutoffs skip the tan */
                double g = wf_tpt_g(fv, sr, &dg);
                G = g / (1 + g);
                fprev = fv;
            }
            size_t o = (size_t)t * C + c;
            if (tape)
                tape[o] = (wf_real)s;
            double y = G * x->p[WF_AT(sx, t, c)] + (1 - G) * s;
            s = 2 * y - s;
            k->out.p[o] = (wf_real)y;
        }
        st[c] = s;
    }
}

static void onepole_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double sr = k->env->sr;
    const wf_sig *x = &k->in[A_X], *f = &k->in[A_P];
    wf_stride sx = wf_stride_of(x, &k->out), sf = wf_stride_of(f, &k->out);
    const wf_real *tape = k->saved, *gy = k->dout->p;
    size_t N = (size_t)n * (size_t)C;
    wf_real *W = k->work;
    wf_real *dx = wf_grad_target(k, A_X, W), *df = wf_grad_target(k, A_P, W + N);
    if (dx == W)
        memset(W, 0, N * sizeof *W);
    if (df == W + N)
        memset(W + N, 0, N * sizeof *W);
    double *carry = (double *)k->state + C; /* a loop's later step's lam, else none */
    for (int c = 0; c < C; c++) {
        double lam = k->past ? carry[c] : 0, fprev = NAN, G = 0, dGdf = 0;
        for (int t = n - 1; t >= 0; t--) {
            double fv = f->p[WF_AT(sf, t, c)];
            if (fv != fprev) {
                double dg, g = wf_tpt_g(fv, sr, &dg);
                G = g / (1 + g);
                dGdf = dg / ((1 + g) * (1 + g));
                fprev = fv;
            }
            size_t o = (size_t)t * C + c;
            double s = tape[o], a = gy[o] + 2 * lam;
            if (dx)
                dx[o] += (wf_real)(G * a);
            if (df)
                df[o] += (wf_real)(a * (x->p[WF_AT(sx, t, c)] - s) * dGdf);
            lam = (1 - G) * a - lam;
        }
        carry[c] = lam;
    }
    wf_grad_finish(k, A_X, dx, W);
    wf_grad_finish(k, A_P, df, W + N);
}

const wf_node_kind wf_kind_onepole = {
    .name = "onepole",
    .family = "filters",
    .doc = "One-pole lowpass, Zavalishin's topology-preserving (trapezoidal) design: the "
           "bilinear transform of 1/(1 + s/wc) prewarped at `freq`, so the gain is -3.01 dB at "
           "`freq` exactly and 0 at the Nyquist. `freq` may be constant, per frame or audio rate; "
           "the pole stays inside the unit circle for every cutoff in (0, Nyquist) however fast "
           "it moves. Stability contract: `freq` is clamped to [0, 0.4999 sr] (at 0 the filter "
           "holds its output), and its gradient is 0 outside that range. Nothing is reported. "
           "May sit inside a feedback loop (a damped echo).",
    .args = onepole_args,
    .nargs = 2,
    .flags = WF_KIND_STEPS,
    .keep = 3,
    .infer = onepole_infer,
    .size = onepole_size,
    .forward = onepole_forward,
    .backward = onepole_backward,
};

/* ---- smooth ---- */

/* The coefficient a for a time constant of T seconds at rate r, and da/dT. */
static double smooth_a(double T, double r, double *da)
{
    if (!(T > 0)) {
        *da = 0;
        return 1;
    }
    double a = -expm1(-1 / (T * r));
    *da = -(1 - a) / (T * T * r);
    return a;
}

static double out_rate(const wf_kctx *k)
{
    return k->out.rate == WF_RATE_AUDIO ? k->env->sr : k->env->frame_rate;
}

static void smooth_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double r = out_rate(k), *st = k->state;
    const wf_sig *x = &k->in[A_X], *tm = &k->in[A_P];
    wf_stride sx = wf_stride_of(x, &k->out), sm = wf_stride_of(tm, &k->out);
    for (int c = 0; c < C; c++) {
        double y = st[c], tprev = NAN, a = 1, da;
        if (k->t0 == 0 && n > 0)
            y = x->p[WF_AT(sx, 0, c)];
        for (int t = 0; t < n; t++) {
            double tv = tm->p[WF_AT(sm, t, c)];
            if (tv != tprev) {
                a = smooth_a(tv, r, &da);
                tprev = tv;
            }
            y += a * (x->p[WF_AT(sx, t, c)] - y);
            k->out.p[(size_t)t * C + c] = (wf_real)y;
        }
        st[c] = y;
    }
}

static void smooth_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double r = out_rate(k);
    const wf_sig *x = &k->in[A_X], *tm = &k->in[A_P];
    wf_stride sx = wf_stride_of(x, &k->out), sm = wf_stride_of(tm, &k->out);
    const wf_real *gy = k->dout->p, *y = k->out.p;
    size_t N = (size_t)n * (size_t)C;
    wf_real *W = k->work;
    wf_real *dx = wf_grad_target(k, A_X, W), *dt = wf_grad_target(k, A_P, W + N);
    if (dx == W)
        memset(W, 0, N * sizeof *W);
    if (dt == W + N)
        memset(W + N, 0, N * sizeof *W);
    for (int c = 0; c < C; c++) {
        double carry = 0, tprev = NAN, a = 1, da = 0; /* carry = (1 - a[n+1]) lam[n+1] */
        for (int t = n - 1; t >= 0; t--) {
            double tv = tm->p[WF_AT(sm, t, c)];
            if (tv != tprev) {
                a = smooth_a(tv, r, &da);
                tprev = tv;
            }
            size_t o = (size_t)t * C + c;
            double lam = gy[o] + carry, xv = x->p[WF_AT(sx, t, c)];
            double prev = t > 0 ? y[o - (size_t)C] : xv;
            if (dx)
                dx[o] += (wf_real)(a * lam);
            if (dt)
                dt[o] += (wf_real)(lam * (xv - prev) * da);
            carry = (1 - a) * lam;
        }
        if (dx && n > 0)
            dx[c] += (wf_real)carry; /* y[-1] = x[0] */
    }
    wf_grad_finish(k, A_X, dx, W);
    wf_grad_finish(k, A_P, dt, W + N);
}

const wf_node_kind wf_kind_smooth = {
    .name = "smooth",
    .family = "filters",
    .doc = "One-pole smoother for controls (de-zippering): y moves toward x by "
           "1 - exp(-1/(time r)) of the gap each step, at the rate r of its inputs (control in, "
           "control out), starting at x's first value. A step reaches 1 - 1/e of its height "
           "`time` seconds after it. Stability contract: stable for every `time`; `time` <= 0 "
           "passes x through, with a gradient of 0 in `time`. Nothing is reported.",
    .args = smooth_args,
    .nargs = 2,
    .keep = 3 | WF_KEEP_OUT,
    .infer = smooth_infer,
    .size = onepole_size,
    .forward = smooth_forward,
    .backward = smooth_backward,
};
