/* Envelopes: functions of the time t = n / sr since the start of the patch,
 * with constant (possibly learnable) breakpoints.
 *   line(from, to, time):  from + (to - from) min(t / time, 1)
 *   decay(time):           exp(-t / time)
 *   adsr(attack, decay, sustain, release, gate): linear segments, note on at
 *     t = 0 and off at t = gate. Before the gate: t/a while t < a, then
 *     1 - (1 - s)(t - a)/d while t < a + d, then s. After the gate the level
 *     L reached at the gate falls linearly to 0 over `release`:
 *     L (1 - (t - gate)/r). A gate before the sustain releases from wherever
 *     the envelope is, as an analogue ADSR does.
 * Backward: the partial derivatives of these formulas in each breakpoint,
 * summed over the block (the breakpoints are constant). */
#include <math.h>
#include <string.h>

#include "runtime/node.h"

static const wf_arg_spec line_args[] = {
    {"from", WF_ARG_SIGNAL, "0", "start value", WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"to", WF_ARG_SIGNAL, "1", "end value", WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"time", WF_ARG_SIGNAL, "1", "seconds from start to end", WF_ARG_CONST_ONLY, NULL, 0.01, 0.03},
};

static const wf_arg_spec decay_args[] = {
    {"time", WF_ARG_SIGNAL, "1", "time constant in seconds (to 1/e)", WF_ARG_CONST_ONLY, NULL,
     0.005, 0.03},
};

static const wf_arg_spec adsr_args[] = {
    {"attack", WF_ARG_SIGNAL, "0.01", "seconds from 0 to 1", WF_ARG_CONST_ONLY, NULL, 0.002, 0.005},
    {"decay", WF_ARG_SIGNAL, "0.1", "seconds from 1 to sustain", WF_ARG_CONST_ONLY, NULL, 0.003,
     0.008},
    {"sustain", WF_ARG_SIGNAL, "0.7", "level held until the gate ends", WF_ARG_CONST_ONLY, NULL, 0.3,
     0.8},
    {"release", WF_ARG_SIGNAL, "0.2", "seconds from the gate's end to 0", WF_ARG_CONST_ONLY, NULL,
     0.005, 0.01},
    {"gate", WF_ARG_SIGNAL, "1", "seconds the note is held", WF_ARG_CONST_ONLY, NULL, 0.015, 0.02},
};


static void env_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)in;
    (void)e;
    (void)block;
    s->bwork = (size_t)g->nin * (size_t)g->shape.chans * sizeof(double) + 64;
}

/* Value of constant input i for channel c. */
static double arg(const wf_kctx *k, int i, int c)
{
    const wf_sig *s = &k->in[i];
    return s->p[s->chans == 1 ? 0 : c];
}

/* Adds the per-channel sums acc[i][c] into the adjoints of the inputs. */
static void env_finish(const wf_kctx *k, const double *acc)
{
    int C = k->out.chans;
    for (int i = 0; i < k->nin; i++) {
        const wf_sig *d = &k->din[i];
        if (!d->p)
            continue;
        for (int c = 0; c < C; c++)
            d->p[d->chans == 1 ? 0 : c] += (wf_real)acc[i * C + c];
    }
}

/* ---- line ---- */

static void line_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double inv = 1.0 / k->env->sr;
    for (int c = 0; c < C; c++) {
        double a = arg(k, 0, c), b = arg(k, 1, c), T = arg(k, 2, c);
        for (int t = 0; t < n; t++) {
            double time = (double)(k->t0 + t) * inv;
            double u = T > 0 ? time / T : 1;
            if (u > 1)
                u = 1;
            k->out.p[(size_t)t * C + c] = (wf_real)(a + (b - a) * u);
        }
    }
}

static void line_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double *acc = k->work;
    memset(acc, 0, sizeof(double) * 3 * (size_t)C);
    double inv = 1.0 / k->env->sr;
    for (int c = 0; c < C; c++) {
        double a = arg(k, 0, c), b = arg(k, 1, c), T = arg(k, 2, c);
        for (int t = 0; t < n; t++) {
            double g = k->dout->p[(size_t)t * C + c];
            double time = (double)(k->t0 + t) * inv;
            double u = T > 0 ? time / T : 1;
            int ramp = u < 1;
            if (!ramp)
                u = 1;
            acc[0 * C + c] += g * (1 - u);
            acc[1 * C + c] += g * u;
            if (ramp)
                acc[2 * C + c] += g * (b - a) * (-time / (T * T));
        }
    }
    env_finish(k, acc);
}

const wf_node_kind wf_kind_line = {
    .name = "line",
    .family = "envelopes",
    .doc = "Straight line from `from` to `to` over `time` seconds, then held.",
    .args = line_args,
    .nargs = 3,
    .keep = 7,
    .infer = wf_infer_generator,
    .size = env_size,
    .forward = line_forward,
    .backward = line_backward,
};

/* ---- decay ---- */

static void decay_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double inv = 1.0 / k->env->sr;
    for (int c = 0; c < C; c++) {
        double T = arg(k, 0, c);
        for (int t = 0; t < n; t++) {
            double time = (double)(k->t0 + t) * inv;
            k->out.p[(size_t)t * C + c] = (wf_real)(T > 0 ? exp(-time / T) : time == 0);
        }
    }
}

static void decay_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double *acc = k->work;
    double inv = 1.0 / k->env->sr;
    for (int c = 0; c < C; c++) {
        double T = arg(k, 0, c), s = 0;
        for (int t = 0; t < n && T > 0; t++) {
            double time = (double)(k->t0 + t) * inv;
            s += k->dout->p[(size_t)t * C + c] * exp(-time / T) * time / (T * T);
        }
        acc[c] = s;
    }
    env_finish(k, acc);
}

const wf_node_kind wf_kind_decay = {
    .name = "decay",
    .family = "envelopes",
    .doc = "Exponential decay exp(-t / time) from 1 at the start.",
    .args = decay_args,
    .nargs = 1,
    .keep = 1,
    .infer = wf_infer_generator,
    .size = env_size,
    .forward = decay_forward,
    .backward = decay_backward,
};

/* ---- adsr ---- */

/* Attack-decay-sustain level at time t, and its partials in a, d, s, t. */
typedef struct ads {
    double v, da, dd, ds, dt;
} ads;

static ads ads_at(double t, double a, double d, double s)
{
    ads r = {0, 0, 0, 0, 0};
    if (t < a) {
        r.v = t / a;
        r.da = -t / (a * a);
        r.dt = 1 / a;
    } else if (t < a + d) {
        double u = (t - a) / d;
        r.v = 1 - (1 - s) * u;
        r.da = (1 - s) / d;
        r.dd = (1 - s) * u / d;
        r.ds = u;
        r.dt = -(1 - s) / d;
    } else {
        r.v = s;
        r.ds = 1;
    }
    return r;
}

enum { E_A, E_D, E_S, E_R, E_G };

static void adsr_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double inv = 1.0 / k->env->sr;
    for (int c = 0; c < C; c++) {
        double a = arg(k, E_A, c), d = arg(k, E_D, c), s = arg(k, E_S, c);
        double r = arg(k, E_R, c), gate = arg(k, E_G, c);
        double L = ads_at(gate, a, d, s).v;
        for (int t = 0; t < n; t++) {
            double time = (double)(k->t0 + t) * inv, v;
            if (time < gate)
                v = ads_at(time, a, d, s).v;
            else if (time < gate + r)
                v = L * (1 - (time - gate) / r);
            else
                v = 0;
            k->out.p[(size_t)t * C + c] = (wf_real)v;
        }
    }
}

static void adsr_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double *acc = k->work;
    memset(acc, 0, sizeof(double) * 5 * (size_t)C);
    double inv = 1.0 / k->env->sr;
    for (int c = 0; c < C; c++) {
        double a = arg(k, E_A, c), d = arg(k, E_D, c), s = arg(k, E_S, c);
        double r = arg(k, E_R, c), gate = arg(k, E_G, c);
        ads Lg = ads_at(gate, a, d, s);
        for (int t = 0; t < n; t++) {
            double g = k->dout->p[(size_t)t * C + c];
            double time = (double)(k->t0 + t) * inv;
            if (time < gate) {
                ads e = ads_at(time, a, d, s);
                acc[E_A * C + c] += g * e.da;
                acc[E_D * C + c] += g * e.dd;
                acc[E_S * C + c] += g * e.ds;
            } else if (time < gate + r) {
                double u = (time - gate) / r, w = 1 - u;
                acc[E_A * C + c] += g * w * Lg.da;
                acc[E_D * C + c] += g * w * Lg.dd;
                acc[E_S * C + c] += g * w * Lg.ds;
                acc[E_R * C + c] += g * Lg.v * u / r;
                acc[E_G * C + c] += g * (w * Lg.dt + Lg.v / r);
            }
        }
    }
    env_finish(k, acc);
}

const wf_node_kind wf_kind_adsr = {
    .name = "adsr",
    .family = "envelopes",
    .doc = "Linear attack-decay-sustain-release envelope; the note starts at 0 and is held "
           "for `gate` seconds.",
    .args = adsr_args,
    .nargs = 5,
    .keep = 31,
    .infer = wf_infer_generator,
    .size = env_size,
    .forward = adsr_forward,
    .backward = adsr_backward,
};
