/* Envelopes, with constant (possibly learnable) breakpoints and a gate that
 * is either a constant time in seconds or a gate signal (such as the
 * notes.gate of a notes input: 1 while a key is held).
 *
 * With a constant gate, functions of the time t = n / sr since the start:
 *   line(from, to, time, gate):  from before t = gate, then
 *                                from + (to - from) min((t - gate) / time, 1)
 *   decay(time, gate):           0 before t = gate, then exp(-(t - gate) / time)
 *   adsr(attack, decay, sustain, release, gate): note on at t = 0 and off at
 *     t = gate. Before the gate: t/a while t < a, then 1 - (1 - s)(t - a)/d
 *     while t < a + d, then s. After it the level L reached at the gate falls
 *     linearly to 0 over `release`: L (1 - (t - gate)/r).
 * With a gate signal (above 0.5 is on; a control-rate gate is held over each
 * frame), line and decay restart where the gate rises, and adsr is a
 * linear analogue ADSR: a rise starts the attack from the current level
 * (rising at 1/a per second to 1), then the decay to s, held while the gate
 * is on; a fall starts the release from the current level L, reaching 0
 * after r seconds, L (1 - (t - t_off)/r). Each segment is a formula of its
 * start time and level, so levels never drift.
 *
 * Backward: the partial derivatives in each breakpoint, summed over the
 * block. With a gate signal, the derivatives of each segment's start level
 * are carried from segment to segment (forward mode, in double), since a
 * segment starts where the one before it left off. A gate signal gets no
 * gradient (it is a step function); a constant gate does. */
#include <math.h>
#include <string.h>

#include "runtime/node.h"

static const wf_arg_spec line_args[] = {
    {"from", WF_ARG_SIGNAL, "0", "start value", WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"to", WF_ARG_SIGNAL, "1", "end value", WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"time", WF_ARG_SIGNAL, "1", "seconds from start to end", WF_ARG_CONST_ONLY, NULL, 0.01, 0.03},
    {"gate", WF_ARG_SIGNAL, "0",
     "start time in seconds, or a gate signal: the line restarts where it rises",
     WF_ARG_KEEP_CONTROL | WF_ARG_GATE, NULL, 0.005, 0.02},
};

static const wf_arg_spec decay_args[] = {
    {"time", WF_ARG_SIGNAL, "1", "time constant in seconds (to 1/e)", WF_ARG_CONST_ONLY, NULL,
     0.005, 0.03},
    {"gate", WF_ARG_SIGNAL, "0",
     "start time in seconds, or a gate signal: the decay restarts where it rises",
     WF_ARG_KEEP_CONTROL | WF_ARG_GATE, NULL, 0.005, 0.02},
};

static const wf_arg_spec adsr_args[] = {
    {"attack", WF_ARG_SIGNAL, "0.01", "seconds from 0 to 1", WF_ARG_CONST_ONLY, NULL, 0.002, 0.005},
    {"decay", WF_ARG_SIGNAL, "0.1", "seconds from 1 to sustain", WF_ARG_CONST_ONLY, NULL, 0.003,
     0.008},
    {"sustain", WF_ARG_SIGNAL, "0.7", "level held while the gate is on", WF_ARG_CONST_ONLY, NULL,
     0.3, 0.8},
    {"release", WF_ARG_SIGNAL, "0.2", "seconds from the gate's end to 0", WF_ARG_CONST_ONLY, NULL,
     0.005, 0.01},
    {"gate", WF_ARG_SIGNAL, "1",
     "seconds the note is held from the start, or a gate signal (notes.gate)",
     WF_ARG_KEEP_CONTROL | WF_ARG_GATE, NULL, 0.015, 0.02},
};

/* Per channel, for gate signals: where the current segment started. */
typedef struct seg {
    int stage;     /* IDLE, ATTACK, DECAY, SUSTAIN, RELEASE (adsr); line, decay: 0 or ON */
    double t0;     /* its start, seconds */
    double v0;     /* adsr: its start level */
    double prev;   /* the gate in the sample before */
    double dv0[4]; /* adsr, backward: d v0 / d (a, d, s, r) */
} seg;

enum { IDLE, ATTACK, DECAY, SUSTAIN, RELEASE };
enum { ON = 1 };

static void env_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)in;
    (void)e;
    (void)block;
    size_t C = (size_t)g->shape.chans;
    s->state = C * sizeof(seg);
    s->bwork = (size_t)g->nin * C * sizeof(double) + C * sizeof(seg) + 128;
}

/* Value of constant input i for channel c. */
static double arg(const wf_kctx *k, int i, int c)
{
    const wf_sig *s = &k->in[i];
    return s->p[s->chans == 1 ? 0 : c];
}

/* A gate signal's value at sample t of the call; a control gate is held over
 * each frame (its view starts at the frame of the call's first sample). */
static double gate_at(const wf_kctx *k, int i, int t, int c)
{
    const wf_sig *g = &k->in[i];
    int at = g->rate == WF_RATE_CONTROL ? t / k->env->hop : t;
    if (at >= g->n)
        at = g->n - 1;
    return g->p[(size_t)at * (size_t)g->chans + (size_t)(g->chans == 1 ? 0 : c)];
}

static int is_signal(const wf_kctx *k, int i)
{
    return k->in[i].rate != WF_RATE_CONST;
}

/* Gate edges for line and decay: the segment restarts at a rise. */
static void trigger(seg *s, double gate, double time)
{
    if (gate > 0.5 && !(s->prev > 0.5)) {
        s->stage = ON;
        s->t0 = time;
    }
    s->prev = gate;
}

/* Adds the per-channel sums acc[i][c] into the adjoints of the inputs. */
static void env_finish(const wf_kctx *k, const double *acc)
{
    int C = k->out.chans;
    for (int i = 0; i < k->nin; i++) {
        const wf_sig *d = &k->din[i];
        if (!d->p || d->rate != WF_RATE_CONST)
            continue;
        for (int c = 0; c < C; c++)
            d->p[d->chans == 1 ? 0 : c] += (wf_real)acc[i * C + c];
    }
}

/* Streams keep the segments in the state; backward replays from the start. */
static seg *segments(const wf_kctx *k, int backward)
{
    int C = k->out.chans;
    if (!backward)
        return k->state;
    void *cur = (char *)k->work + (size_t)k->nin * (size_t)C * sizeof(double);
    seg *s = wf_carve(&cur, (size_t)C * sizeof(seg));
    memset(s, 0, (size_t)C * sizeof(seg));
    return s;
}

/* ---- line ---- */

enum { L_FROM, L_TO, L_TIME, L_GATE };

/* The ramp's position u in [0, 1] at `time`, and whether it is ramping;
 * -1 before it starts. */
static double line_u(const seg *s, double start, double time, double T, int *ramp)
{
    *ramp = 0;
    if (s ? s->stage != ON : time < start)
        return -1;
    double u = T > 0 ? (time - (s ? s->t0 : start)) / T : 1;
    *ramp = u < 1;
    return u < 1 ? u : 1;
}

static void line_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, sig = is_signal(k, L_GATE);
    double inv = 1.0 / k->env->sr;
    seg *st = segments(k, 0);
    for (int c = 0; c < C; c++) {
        double a = arg(k, L_FROM, c), b = arg(k, L_TO, c), T = arg(k, L_TIME, c);
        double start = sig ? 0 : arg(k, L_GATE, c);
        for (int t = 0; t < n; t++) {
            double time = (double)(k->t0 + t) * inv;
            if (sig)
                trigger(&st[c], gate_at(k, L_GATE, t, c), time);
            int ramp;
            double u = line_u(sig ? &st[c] : NULL, start, time, T, &ramp);
            k->out.p[(size_t)t * C + c] = (wf_real)(u < 0 ? a : a + (b - a) * u);
        }
    }
}

static void line_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, sig = is_signal(k, L_GATE);
    double *acc = k->work;
    memset(acc, 0, sizeof(double) * 4 * (size_t)C);
    double inv = 1.0 / k->env->sr;
    seg *st = segments(k, 1);
    for (int c = 0; c < C; c++) {
        double a = arg(k, L_FROM, c), b = arg(k, L_TO, c), T = arg(k, L_TIME, c);
        double start = sig ? 0 : arg(k, L_GATE, c);
        for (int t = 0; t < n; t++) {
            double g = k->dout->p[(size_t)t * C + c];
            double time = (double)(k->t0 + t) * inv;
            if (sig)
                trigger(&st[c], gate_at(k, L_GATE, t, c), time);
            int ramp;
            double u = line_u(sig ? &st[c] : NULL, start, time, T, &ramp);
            if (u < 0) {
                acc[L_FROM * C + c] += g;
                continue;
            }
            acc[L_FROM * C + c] += g * (1 - u);
            acc[L_TO * C + c] += g * u;
            if (ramp) {
                double t0 = sig ? st[c].t0 : start;
                acc[L_TIME * C + c] += g * (b - a) * (-(time - t0) / (T * T));
                acc[L_GATE * C + c] += g * (b - a) * (-1 / T);
            }
        }
    }
    env_finish(k, acc);
}

const wf_node_kind wf_kind_line = {
    .name = "line",
    .family = "envelopes",
    .doc = "Straight line from `from` to `to` over `time` seconds, starting at `gate` seconds "
           "or wherever a gate signal rises, then held.",
    .args = line_args,
    .nargs = 4,
    .keep = 15,
    .infer = wf_infer_generator,
    .size = env_size,
    .forward = line_forward,
    .backward = line_backward,
};

/* ---- decay ---- */

enum { D_TIME, D_GATE };

static void decay_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, sig = is_signal(k, D_GATE);
    double inv = 1.0 / k->env->sr;
    seg *st = segments(k, 0);
    for (int c = 0; c < C; c++) {
        double T = arg(k, D_TIME, c), start = sig ? 0 : arg(k, D_GATE, c);
        for (int t = 0; t < n; t++) {
            double time = (double)(k->t0 + t) * inv;
            if (sig)
                trigger(&st[c], gate_at(k, D_GATE, t, c), time);
            int on = sig ? st[c].stage == ON : time >= start;
            double tau = time - (sig ? st[c].t0 : start);
            k->out.p[(size_t)t * C + c] = (wf_real)(!on ? 0 : T > 0 ? exp(-tau / T) : tau == 0);
        }
    }
}

static void decay_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, sig = is_signal(k, D_GATE);
    double *acc = k->work;
    memset(acc, 0, sizeof(double) * 2 * (size_t)C);
    double inv = 1.0 / k->env->sr;
    seg *st = segments(k, 1);
    for (int c = 0; c < C; c++) {
        double T = arg(k, D_TIME, c), start = sig ? 0 : arg(k, D_GATE, c);
        for (int t = 0; t < n && T > 0; t++) {
            double time = (double)(k->t0 + t) * inv;
            if (sig)
                trigger(&st[c], gate_at(k, D_GATE, t, c), time);
            if (sig ? st[c].stage != ON : time < start)
                continue;
            double tau = time - (sig ? st[c].t0 : start);
            double gv = k->dout->p[(size_t)t * C + c] * exp(-tau / T);
            acc[D_TIME * C + c] += gv * tau / (T * T);
            acc[D_GATE * C + c] += gv / T;
        }
    }
    env_finish(k, acc);
}

/* A voice rings on for 5 time constants (-43 dB) after its note. */
static double decay_tail(const wf_gnode *g, const double *in)
{
    (void)g;
    return 5 * in[D_TIME];
}

const wf_node_kind wf_kind_decay = {
    .name = "decay",
    .family = "envelopes",
    .doc = "Exponential decay exp(-t / time) from 1, starting at `gate` seconds or wherever a "
           "gate signal rises (0 before).",
    .args = decay_args,
    .nargs = 2,
    .keep = 3,
    .infer = wf_infer_generator,
    .size = env_size,
    .tail = decay_tail,
    .forward = decay_forward,
    .backward = decay_backward,
};

/* ---- adsr ---- */

enum { E_A, E_D, E_S, E_R, E_G };

/* An envelope level with its partials in a, d, s, r (and, for a constant
 * gate, in the gate time). */
typedef struct lvl {
    double v, d[4], dg;
} lvl;

/* Constant gate: attack-decay-sustain level at time t, and its partials in
 * a, d, s and t (in dg). */
static lvl ads_at(double t, double a, double d, double s)
{
    lvl r = {0, {0, 0, 0, 0}, 0};
    if (t < a) {
        r.v = t / a;
        r.d[E_A] = -t / (a * a);
        r.dg = 1 / a;
    } else if (t < a + d) {
        double u = (t - a) / d;
        r.v = 1 - (1 - s) * u;
        r.d[E_A] = (1 - s) / d;
        r.d[E_D] = (1 - s) * u / d;
        r.d[E_S] = u;
        r.dg = -(1 - s) / d;
    } else {
        r.v = s;
        r.d[E_S] = 1;
    }
    return r;
}

/* Constant gate: the level at `time` and its partials. */
static lvl adsr_const(double time, double a, double d, double s, double r, double gate)
{
    if (time < gate) {
        lvl held = ads_at(time, a, d, s);
        held.dg = 0; /* ads_at's partial in time; the gate time plays no part yet */
        return held;
    }
    lvl L = ads_at(gate, a, d, s), o = {0, {0, 0, 0, 0}, 0};
    if (time >= gate + r)
        return o;
    double u = (time - gate) / r, w = 1 - u;
    o.v = L.v * w;
    for (int i = 0; i < 3; i++)
        o.d[i] = L.d[i] * w;
    o.d[E_R] = L.v * u / r;
    o.dg = w * L.dg + L.v / r;
    return o;
}

/* Gate signal: the level at `time` of the segment in s, moving s on to the
 * segments that follow when their start has passed; with grad, the partials
 * too. */
static lvl adsr_seg(seg *s, double time, double a, double d, double sus, double r, int grad)
{
    lvl o = {0, {0, 0, 0, 0}, 0};
    for (;;) {
        double tau = time - s->t0;
        switch (s->stage) {
        case IDLE:
            return o;
        case ATTACK: {
            double dur = (1 - s->v0) * a; /* to full level at 1/a per second */
            if (tau < dur) {
                o.v = s->v0 + tau / a;
                if (grad) {
                    for (int i = 0; i < 4; i++)
                        o.d[i] = s->dv0[i];
                    o.d[E_A] -= tau / (a * a);
                }
                return o;
            }
            /* the decay starts at t0 + dur: its start time depends on v0 and a */
            double dt[4];
            for (int i = 0; i < 4; i++)
                dt[i] = -s->dv0[i] * a;
            dt[E_A] += 1 - s->v0;
            s->stage = DECAY;
            s->t0 += dur;
            s->v0 = 1;
            for (int i = 0; i < 4; i++)
                s->dv0[i] = dt[i]; /* DECAY keeps d t0 / d theta here */
            continue;
        }
        case DECAY:
            if (tau < d) {
                double u = tau / d;
                o.v = 1 - (1 - sus) * u;
                if (grad) {
                    /* u = (t - t0) / d with t0 moving: du = -dt0 / d - u/d dd */
                    for (int i = 0; i < 4; i++)
                        o.d[i] = (1 - sus) * s->dv0[i] / d;
                    o.d[E_D] += (1 - sus) * u / d;
                    o.d[E_S] += u;
                }
                return o;
            }
            s->stage = SUSTAIN;
            continue;
        case SUSTAIN:
            o.v = sus;
            o.d[E_S] = 1;
            return o;
        case RELEASE:
            if (tau < r) {
                double u = tau / r, w = 1 - u;
                o.v = s->v0 * w;
                if (grad) {
                    for (int i = 0; i < 4; i++)
                        o.d[i] = s->dv0[i] * w;
                    o.d[E_R] += s->v0 * u / r;
                }
                return o;
            }
            s->stage = IDLE;
            continue;
        }
        return o;
    }
}

/* Gate signal: edges at `time` start an attack or a release from the level
 * the envelope has there. */
static void adsr_edge(seg *s, double gate, double time, double a, double d, double sus,
                      double r, int grad)
{
    int on = gate > 0.5, was = s->prev > 0.5;
    s->prev = gate;
    if (on == was)
        return;
    lvl here = adsr_seg(s, time, a, d, sus, r, grad);
    if (!on && s->stage == IDLE)
        return;
    s->stage = on ? ATTACK : RELEASE;
    s->t0 = time;
    s->v0 = here.v;
    for (int i = 0; i < 4; i++)
        s->dv0[i] = grad ? here.d[i] : 0;
}

static void adsr_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, sig = is_signal(k, E_G);
    double inv = 1.0 / k->env->sr;
    seg *st = segments(k, 0);
    for (int c = 0; c < C; c++) {
        double a = arg(k, E_A, c), d = arg(k, E_D, c), s = arg(k, E_S, c), r = arg(k, E_R, c);
        for (int t = 0; t < n; t++) {
            double time = (double)(k->t0 + t) * inv, v;
            if (sig) {
                adsr_edge(&st[c], gate_at(k, E_G, t, c), time, a, d, s, r, 0);
                v = adsr_seg(&st[c], time, a, d, s, r, 0).v;
            } else {
                v = adsr_const(time, a, d, s, r, arg(k, E_G, c)).v;
            }
            k->out.p[(size_t)t * C + c] = (wf_real)v;
        }
    }
}

static void adsr_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, sig = is_signal(k, E_G);
    double *acc = k->work;
    memset(acc, 0, sizeof(double) * 5 * (size_t)C);
    double inv = 1.0 / k->env->sr;
    seg *st = segments(k, 1);
    for (int c = 0; c < C; c++) {
        double a = arg(k, E_A, c), d = arg(k, E_D, c), s = arg(k, E_S, c), r = arg(k, E_R, c);
        for (int t = 0; t < n; t++) {
            double g = k->dout->p[(size_t)t * C + c];
            double time = (double)(k->t0 + t) * inv;
            lvl l;
            if (sig) {
                adsr_edge(&st[c], gate_at(k, E_G, t, c), time, a, d, s, r, 1);
                l = adsr_seg(&st[c], time, a, d, s, r, 1);
            } else {
                l = adsr_const(time, a, d, s, r, arg(k, E_G, c));
            }
            for (int i = 0; i < 4; i++)
                acc[i * C + c] += g * l.d[i];
            acc[E_G * C + c] += g * l.dg;
        }
    }
    env_finish(k, acc);
}

static double adsr_tail(const wf_gnode *g, const double *in)
{
    (void)g;
    return in[E_R];
}

const wf_node_kind wf_kind_adsr = {
    .name = "adsr",
    .family = "envelopes",
    .doc = "Linear attack-decay-sustain-release envelope: held for `gate` seconds from the "
           "start, or while a gate signal is on (notes.gate), retriggering where it rises.",
    .args = adsr_args,
    .nargs = 5,
    .keep = 31,
    .infer = wf_infer_generator,
    .size = env_size,
    .tail = adsr_tail,
    .forward = adsr_forward,
    .backward = adsr_backward,
};
