/* Modulated delays (vibrato, chorus, flanger) and stereo placement (pan,
 * width).
 *
 * Modulated delays, after Dattorro 1997 ("Effect Design, Part 2: Delay-Line
 * Modulation and Chorus", JAES 45(10)) and DAFX (Zoelzer ed., ch. "Delays":
 * vibrato a modulated delay heard alone, chorus 10-25 ms mixed with the dry
 * signal, flanger under 15 ms with feedback). One sine LFO per channel, its
 * phase c[n] = frac(sum_{m<n} rate[m] / sr) in cycles accumulated in double
 * (0 at the first sample, kept in `state` so that streams equal whole
 * passes), sweeps V taps (the chorus's voices; V = 1 for the others) spread
 * evenly over its cycle:
 *   D_v[n] = (delay[n] + depth[n] sin(2 pi (c[n] + v / V) + phase[n])) sr samples,
 *   d[n]   = (1/V) sum_v w(n - D_v[n]),
 *   w[n]   = x[n] + feedback[n] d[n]          (flanger; w = x otherwise),
 *   y[n]   = (1 - mix[n]) x[n] + mix[n] d[n]  (vibrato: y = d).
 * D_v is clamped to [lo, max sr], lo = 0 (1 sample for the flanger, whose
 * feedback needs one), and w is read between samples by linear interpolation
 * (stdlib/fracdelay.h, as delay and comb): the gradient into the delay time
 * is then the exact derivative of what the forward computes, a sweep costs
 * two reads a voice, and there is no interpolator state. An allpass
 * interpolator would keep the highs flat but is itself a recursion whose
 * state depends on past fractions (transients under modulation, and an
 * adjoint of its own); cubic Lagrange would dull the highs less than linear
 * (|H| = cos(w/2) at a fraction of 1/2: -3 dB at sr/4) for twice the reads.
 * The rings hold max seconds of w per channel in double, indexed by the time
 * since the start, as comb's.
 *
 * The flanger's recursion is stable for |feedback| < 1; a sample with
 * |feedback| >= 1 is reported (wf_kernel_fault, "feedback 1.03"), never
 * clamped, and so is a delay that is not a number (read at lo).
 *
 * Backward, backwards in time (the adjoint of the feedback delay is a
 * feedback advance, as comb's). lam[n], the adjoint of w[n], is complete at
 * step n: w[n] is read by later samples only (by sample n itself only without
 * feedback, and that read is added before lam[n] is used for x). With e[n] =
 * mix g[n] + feedback lam[n], the adjoint of d[n]:
 *   lam[i] += e/V (1 - u), lam[i+1] += e/V u   for each voice's tap i + u,
 *   dx = (1 - mix) g + lam[n],  dmix = g (d - x),  dfeedback = lam[n] d[n],
 *   dD_v = -sr e/V (w[i+1] - w[i]) seconds (0 at the clamps),
 *   ddelay = sum_v dD_v,  ddepth = sum_v dD_v sin_v,  dphase = sum_v dD_v depth cos_v,
 *   dc[n] = 2 pi dphase[n],  drate[m] = (1/sr) sum_{n>m} dc[n].
 * The backward reads the inputs, and the flanger's w from the tape.
 *
 * pan: the constant-power (sine/cosine) law, theta = (pos + 1) pi/4,
 *   left = x cos(theta), right = x sin(theta),  left^2 + right^2 = x^2,
 * -3 dB each side at the centre; pos is clamped to [-1, 1] (gradient 0
 * beyond). d/dx = gl cos + gr sin, d/dpos = (pi/4) x (gr cos - gl sin).
 * width: mid/side, m = (l + r)/2, s = (l - r)/2,
 *   left = m + width s, right = m - width s,
 * so 0 is mono, 1 the input, 2 twice the side; a negative width also swaps
 * the sides. dl = (gl + gr + width (gl - gr))/2, dr = (gl + gr - width
 * (gl - gr))/2, dwidth = s (gl - gr). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/vmath.h"
#include "stdlib/fracdelay.h"
#include "stdlib/map.h"
#include "stdlib/registry.h"

/* ------------------------------------------------------ modulated delays */

enum { A_X, A_RATE, A_DEPTH, A_DELAY };

#define MAX_SECONDS 10.0
#define MAX_VOICES 16
#define DEFAULT_MAX 0.05

/* The gradient tests' ranges are narrow for the arguments that move the
 * reads (rate, depth, delay, phase): their finite-difference steps are
 * 1e-6 of the range, and a read that a step moves across a sample (a kink
 * of the linear interpolation) makes the difference disagree; with these
 * ranges a step moves a read by under 1e-5 samples. */
static const wf_arg_spec vibrato_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to modulate", 0, NULL, -1, 1},
    {"rate", WF_ARG_SIGNAL, "5", "LFO frequency in Hz", 0, NULL, 20, 24},
    {"depth", WF_ARG_SIGNAL, "0.0005", "swing of the delay in seconds (delay +- depth)", 0, NULL,
     0.0008, 0.0012},
    {"delay", WF_ARG_SIGNAL, "0.002", "centre delay in seconds", 0, NULL, 0.004, 0.0044},
    {"phase", WF_ARG_SIGNAL, "0", "LFO phase offset in radians (per channel: [0, 1.5708] puts "
     "a stereo pair in quadrature)", 0, NULL, 0, 1},
    {"max", WF_ARG_NUMBER, "0.05", "longest delay in seconds (delays are clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

static const wf_arg_spec chorus_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to thicken", 0, NULL, -1, 1},
    {"rate", WF_ARG_SIGNAL, "0.8", "LFO frequency in Hz", 0, NULL, 20, 24},
    {"depth", WF_ARG_SIGNAL, "0.002", "swing of each voice's delay in seconds (delay +- depth)",
     0, NULL, 0.0008, 0.0012},
    {"delay", WF_ARG_SIGNAL, "0.012", "centre delay in seconds", 0, NULL, 0.004, 0.0044},
    {"mix", WF_ARG_SIGNAL, "0.5", "wet share: 0 dry, 1 the voices alone", 0, NULL, 0.2, 0.8},
    {"phase", WF_ARG_SIGNAL, "0", "LFO phase offset in radians (per channel: [0, 1.5708] puts "
     "a stereo pair in quadrature)", 0, NULL, 0, 1},
    {"voices", WF_ARG_NUMBER, "1", "modulated taps, their LFO phases spread evenly over a cycle",
     WF_ARG_INT | WF_ARG_POSITIVE, NULL, 0, 0},
    {"max", WF_ARG_NUMBER, "0.05", "longest delay in seconds (delays are clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

static const wf_arg_spec flanger_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to flange", 0, NULL, -1, 1},
    {"rate", WF_ARG_SIGNAL, "0.25", "LFO frequency in Hz", 0, NULL, 20, 24},
    {"depth", WF_ARG_SIGNAL, "0.002", "swing of the delay in seconds (delay +- depth)", 0, NULL,
     0.0008, 0.0012},
    {"delay", WF_ARG_SIGNAL, "0.0025", "centre delay in seconds", 0, NULL, 0.004, 0.0044},
    {"feedback", WF_ARG_SIGNAL, "0.5", "gain of the delayed signal fed back, between -1 and 1", 0,
     NULL, -0.7, 0.7},
    {"mix", WF_ARG_SIGNAL, "0.5", "wet share: 0 dry, 1 the delayed signal alone", 0, NULL, 0.2,
     0.8},
    {"phase", WF_ARG_SIGNAL, "0", "LFO phase offset in radians (per channel: [0, 1.5708] puts "
     "a stereo pair in quadrature)", 0, NULL, 0, 1},
    {"max", WF_ARG_NUMBER, "0.05", "longest delay in seconds (delays are clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

/* Where each kind keeps its arguments: signal inputs mix, fb and phase,
 * number arguments voices and max (-1: the kind has none). */
typedef struct layout {
    int nin, mix, fb, phase, voices, max;
} layout;

static const layout vibrato_layout = {5, -1, -1, 4, -1, 5};
static const layout chorus_layout = {6, 4, -1, 5, 6, 7};
static const layout flanger_layout = {7, 5, 4, 6, -1, 7};

static const layout *layout_of(const wf_gnode *g)
{
    return g->kind == &wf_kind_chorus    ? &chorus_layout
           : g->kind == &wf_kind_flanger ? &flanger_layout
                                         : &vibrato_layout;
}

static int voices_of(const wf_gnode *g, const layout *L)
{
    return L->voices < 0 ? 1 : (int)wf_opt_num(g, L->voices, 1);
}

static int modfx_infer(wf_infer *ic)
{
    if (wf_infer_filter(ic, A_X))
        return -1;
    const layout *L = layout_of(ic->node);
    double maxd = wf_opt_num(ic->node, L->max, DEFAULT_MAX);
    if (maxd > MAX_SECONDS) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a modulated delay holds at most 10 s",
                                        "max", ic->name, maxd);
        return -1;
    }
    if (voices_of(ic->node, L) > MAX_VOICES) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a chorus has at most 16 voices", "voices",
                                        ic->name, wf_opt_num(ic->node, L->voices, 1));
        return -1;
    }
    return 0;
}

/* Samples each ring holds: the longest delay and the two taps around it. */
static int64_t ring_len(const wf_gnode *g, const layout *L, const wf_env *e)
{
    return (int64_t)ceil(wf_opt_num(g, L->max, DEFAULT_MAX) * e->sr) + 2;
}

static void modfx_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                       wf_sizes *s)
{
    (void)in;
    const layout *L = layout_of(g);
    size_t C = (size_t)g->shape.chans, H = (size_t)ring_len(g, L, e), n = (size_t)block;
    s->state = C * (1 + H) * sizeof(double); /* the LFO phases, then the rings */
    s->saved = L->fb >= 0 ? n * C * sizeof(double) : 0;
    s->bwork = 3 * (n * sizeof(double) + 64) + (size_t)L->nin * (n * C * sizeof(wf_real) + 64);
}

/* Everything a call reads, with its strides. */
typedef struct mod_in {
    const layout *L;
    int V;
    double sr, lo, hi;
    const wf_sig *x, *rate, *depth, *delay, *mix, *fb, *phase;
    wf_stride sx, sr_, sdp, sdl, smx, sfb, sph;
} mod_in;

static mod_in mod_inputs(const wf_kctx *k)
{
    mod_in m;
    m.L = layout_of(k->node);
    m.V = voices_of(k->node, m.L);
    m.sr = k->env->sr;
    m.lo = m.L->fb >= 0 ? 1 : 0;
    m.hi = wf_opt_num(k->node, m.L->max, DEFAULT_MAX) * m.sr;
    m.x = &k->in[A_X];
    m.rate = &k->in[A_RATE];
    m.depth = &k->in[A_DEPTH];
    m.delay = &k->in[A_DELAY];
    m.mix = m.L->mix >= 0 ? &k->in[m.L->mix] : NULL;
    m.fb = m.L->fb >= 0 ? &k->in[m.L->fb] : NULL;
    m.phase = &k->in[m.L->phase];
    m.sx = wf_stride_of(m.x, &k->out);
    m.sr_ = wf_stride_of(m.rate, &k->out);
    m.sdp = wf_stride_of(m.depth, &k->out);
    m.sdl = wf_stride_of(m.delay, &k->out);
    m.smx = m.mix ? wf_stride_of(m.mix, &k->out) : m.sx;
    m.sfb = m.fb ? wf_stride_of(m.fb, &k->out) : m.sx;
    m.sph = wf_stride_of(m.phase, &k->out);
    return m;
}

/* The LFO's phase increment at (t, c), in cycles; a constant rate in its
 * exact value, not the float32 copy. */
static inline double lfo_inc(const mod_in *m, int t, int c)
{
    const wf_sig *r = m->rate;
    return (r->exact ? r->exact[c * m->sr_.c] : (double)r->p[WF_AT(m->sr_, t, c)]) / m->sr;
}

/* Delay of voice v in samples at LFO phase ph (cycles) and offset off
 * (radians). */
static inline double voice_delay(const mod_in *m, double ph, double off, int v, double delay,
                                 double depth, double *s, double *co)
{
    double a = WF_TWO_PI * (ph + (double)v / m->V) + off;
    *s = sin(a);
    if (co)
        *co = cos(a);
    return (delay + depth * *s) * m->sr;
}

static void report_feedback(wf_kctx *k, int frame, double fb)
{
    char what[48];
    snprintf(what, sizeof what, "feedback %.3g", fb);
    wf_kernel_fault(k, frame, what);
}

static void modfx_forward(wf_kctx *k)
{
    mod_in m = mod_inputs(k);
    int n = k->out.n, C = k->out.chans;
    int64_t H = ring_len(k->node, m.L, k->env);
    double *phase = k->state, *tape = k->saved;
    for (int c = 0; c < C; c++) {
        /* one report per channel: the executor keeps the earliest */
        int faulted = 0;
        double *ring = phase + C + (size_t)c * (size_t)H, ph = phase[c];
        for (int t = 0; t < n; t++) {
            int64_t at = k->t0 + t, slot = at % H;
            double xv = m.x->p[WF_AT(m.sx, t, c)];
            double dl = m.delay->p[WF_AT(m.sdl, t, c)], dp = m.depth->p[WF_AT(m.sdp, t, c)];
            double off = m.phase->p[WF_AT(m.sph, t, c)];
            /* x first: without feedback a delay under one sample reads it */
            ring[slot] = xv;
            double d = 0;
            for (int v = 0; v < m.V; v++) {
                double s, D = voice_delay(&m, ph, off, v, dl, dp, &s, NULL);
                if (!isfinite(D) && !faulted) {
                    wf_kernel_fault(k, t, "delay is not finite");
                    faulted = 1;
                }
                d += wf_ring_read(ring, H, wf_tap_at(D, m.lo, m.hi, (double)at));
            }
            d /= m.V;
            if (m.fb) {
                double fb = m.fb->p[WF_AT(m.sfb, t, c)];
                if (!(fabs(fb) < 1) && !faulted) {
                    report_feedback(k, t, fb);
                    faulted = 1;
                }
                ring[slot] = xv + fb * d;
                if (tape)
                    tape[(size_t)t * C + c] = ring[slot];
            }
            double y = d;
            if (m.mix)
                y = xv + (d - xv) * m.mix->p[WF_AT(m.smx, t, c)];
            k->out.p[(size_t)t * C + c] = (wf_real)y;
            ph += lfo_inc(&m, t, c);
            ph -= floor(ph);
        }
        phase[c] = ph;
    }
}

/* w[i] of channel c in a whole run: the tape (flanger) or x; 0 outside. */
static inline double w_at(const mod_in *m, const double *tape, int C, int n, int64_t i, int c)
{
    if (i < 0 || i >= n)
        return 0;
    return tape ? tape[(size_t)i * C + c] : (double)m->x->p[WF_AT(m->sx, i, c)];
}

static void modfx_backward(wf_kctx *k)
{
    mod_in m = mod_inputs(k);
    int n = k->out.n, C = k->out.chans, nin = m.L->nin;
    const wf_real *g = k->dout->p;
    const double *tape = m.fb ? k->saved : NULL;
    size_t N = (size_t)n * (size_t)C;
    void *cur = k->work;
    double *lam = wf_carve(&cur, (size_t)n * sizeof(double));
    double *ph = wf_carve(&cur, (size_t)n * sizeof(double));
    double *dc = wf_carve(&cur, (size_t)n * sizeof(double));
    wf_real *W[7], *T[7];
    for (int i = 0; i < nin; i++) {
        W[i] = wf_carve(&cur, N * sizeof(wf_real));
        T[i] = wf_grad_target(k, i, W[i]);
        if (T[i] == W[i])
            memset(W[i], 0, N * sizeof(wf_real));
    }
    wf_real *dx = T[A_X], *drate = T[A_RATE], *ddepth = T[A_DEPTH], *ddelay = T[A_DELAY];
    wf_real *dmix = m.mix ? T[m.L->mix] : NULL, *dfb = m.fb ? T[m.L->fb] : NULL;
    wf_real *dphase = T[m.L->phase];
    for (int c = 0; c < C; c++) {
        /* the LFO's phases again, from the start */
        double p = 0;
        for (int t = 0; t < n; t++) {
            ph[t] = p;
            p += lfo_inc(&m, t, c);
            p -= floor(p);
        }
        memset(lam, 0, (size_t)n * sizeof *lam);
        for (int t = n - 1; t >= 0; t--) {
            size_t o = (size_t)t * C + c;
            double xv = m.x->p[WF_AT(m.sx, t, c)];
            double dl = m.delay->p[WF_AT(m.sdl, t, c)], dp = m.depth->p[WF_AT(m.sdp, t, c)];
            double mx = m.mix ? m.mix->p[WF_AT(m.smx, t, c)] : 1;
            double fb = m.fb ? m.fb->p[WF_AT(m.sfb, t, c)] : 0;
            double off = m.phase->p[WF_AT(m.sph, t, c)];
            double e = mx * g[o] + fb * lam[t], ev = e / m.V;
            double d = 0, gdl = 0, gdp = 0, gpo = 0;
            for (int v = 0; v < m.V; v++) {
                double s, co, D = voice_delay(&m, ph[t], off, v, dl, dp, &s, &co);
                wf_tap q = wf_tap_at(D, m.lo, m.hi, (double)t);
                double wa = w_at(&m, tape, C, n, q.i, c), wb = w_at(&m, tape, C, n, q.i + 1, c);
                d += q.u > 0 ? wa + (wb - wa) * q.u : wa;
                wf_tap_scatter(lam, q, ev);
                if (q.inside) {
                    double dD = -m.sr * ev * (wb - wa);
                    gdl += dD;
                    gdp += dD * s;
                    gpo += dD * dp * co;
                }
            }
            d /= m.V;
            dc[t] = WF_TWO_PI * gpo;
            if (dx)
                dx[o] += (wf_real)((1 - (m.mix ? mx : 1)) * g[o] + lam[t]);
            if (ddelay)
                ddelay[o] += (wf_real)gdl;
            if (ddepth)
                ddepth[o] += (wf_real)gdp;
            if (dmix)
                dmix[o] += (wf_real)(g[o] * (d - xv));
            if (dfb)
                dfb[o] += (wf_real)(lam[t] * d);
            if (dphase)
                dphase[o] += (wf_real)gpo;
        }
        if (drate) {
            double acc = 0;
            for (int t = n - 1; t >= 0; t--) {
                drate[(size_t)t * C + c] += (wf_real)(acc / m.sr);
                acc += dc[t];
            }
        }
    }
    for (int i = 0; i < nin; i++)
        wf_grad_finish(k, i, T[i], W[i]);
}

#define LFO_DOC(LO)                                                                            \
    " The LFO is a sine whose phase runs in double from `phase` (radians) at the first "        \
    "sample, so a vector of offsets sets the channels' sweeps apart; every argument "            \
    "may be constant, per frame or audio rate, and each delay is clamped to [" LO ", `max`] "  \
    "(gradient 0 beyond). Delays are read between samples by linear interpolation, as "        \
    "`delay` (which dulls the highs a little at fractions near 1/2)."

const wf_node_kind wf_kind_vibrato = {
    .name = "vibrato",
    .family = "modulated delays",
    .doc = "Vibrato: x read through a delay of `delay` + `depth` sin(2 pi rate t) seconds, heard "
           "alone, so its pitch swings by up to 2 pi rate depth (1.6% for 5 Hz and 0.5 ms). "
           "Keep `delay` at least `depth`, or the sweep is clamped at 0." LFO_DOC("0")
           " Stability contract: no recursion; a delay that is not a number is reported "
           "(unstable-run when rendering, unstable-node in a fit) and read at 0.",
    .args = vibrato_args,
    .nargs = 6,
    .keep = 31,
    .infer = modfx_infer,
    .size = modfx_size,
    .forward = modfx_forward,
    .backward = modfx_backward,
};

const wf_node_kind wf_kind_chorus = {
    .name = "chorus",
    .family = "modulated delays",
    .doc = "Chorus: `voices` copies of x, voice v through a delay of `delay` + `depth` sin(2 pi "
           "(rate t + v / voices)) seconds (the voices' LFOs spread evenly over a cycle), "
           "averaged and mixed with the dry signal: (1 - mix) x + mix wet. Classic settings: "
           "delay 7-20 ms, depth 1-5 ms, rate 0.1-3 Hz; mix 0 is x itself. Channels share the "
           "LFO but for `phase`: chorus([x, x], phase: [0, 1.5708]) is a stereo chorus whose sides "
           "sweep in quadrature." LFO_DOC("0")
           " Stability contract: no recursion; a delay that is not a number is reported "
           "(unstable-run when rendering, unstable-node in a fit) and read at 0.",
    .args = chorus_args,
    .nargs = 8,
    .keep = 63,
    .infer = modfx_infer,
    .size = modfx_size,
    .forward = modfx_forward,
    .backward = modfx_backward,
};

const wf_node_kind wf_kind_flanger = {
    .name = "flanger",
    .family = "modulated delays",
    .doc = "Flanger: a short swept delay with feedback inside it, w[n] = x[n] + feedback d[n], "
           "d[n] = w(n - D[n]), D = (`delay` + `depth` sin(2 pi rate t)) sr, out (1 - mix) x + "
           "mix d: a comb of notches (peaks, with feedback) sweeping up and down. With a "
           "constant delay the impulse response is 1 - mix at 0 and mix feedback^(k-1) at k "
           "delay. Gradients run the recursion's adjoint backwards in time." LFO_DOC("1 sample")
           " Stability contract: the recursion is stable for |feedback| < 1; a sample with "
           "|feedback| >= 1 is reported as unstable (unstable-run when rendering, unstable-node "
           "in a fit), never clamped; so is a delay that is not a number (read 1 sample back).",
    .args = flanger_args,
    .nargs = 8,
    .keep = 127,
    .infer = modfx_infer,
    .size = modfx_size,
    .forward = modfx_forward,
    .backward = modfx_backward,
};

/* ------------------------------------------------------------------- pan */

static const wf_arg_spec pan_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "mono signal", 0, NULL, -1, 1},
    {"pos", WF_ARG_SIGNAL, "0", "position: -1 left, 0 centre, 1 right", 0, NULL, -0.9, 0.9},
};

/* Output at the inputs' highest rate, like an elementwise node. */
static int pan_infer(wf_infer *ic)
{
    for (int i = 0; i < 2; i++)
        if (ic->in[i].chans != 1) {
            wf_report_not_mono(ic->d, ic->arg_loc[i],
                               i ? NULL : "pan one channel at a time (pick(x, index: 0))", ic->name,
                               pan_args[i].name, ic->in[i].chans);
            return -1;
        }
    if (wf_infer_elementwise(ic))
        return -1;
    ic->out.chans = 2;
    return 0;
}

static inline double pan_angle(double pos, int *inside)
{
    *inside = pos > -1 && pos < 1;
    pos = !(pos > -1) ? -1 : pos < 1 ? pos : 1;
    return (pos + 1) * (WF_TWO_PI / 8);
}

static void pan_forward(wf_kctx *k)
{
    int n = k->out.n, inside;
    const wf_sig *x = &k->in[0], *pos = &k->in[1];
    wf_stride sx = wf_stride_of(x, &k->out), sp = wf_stride_of(pos, &k->out);
    for (int t = 0; t < n; t++) {
        double th = pan_angle(pos->p[WF_AT(sp, t, 0)], &inside), xv = x->p[WF_AT(sx, t, 0)];
        k->out.p[2 * (size_t)t] = (wf_real)(xv * cos(th));
        k->out.p[2 * (size_t)t + 1] = (wf_real)(xv * sin(th));
    }
}

static void pan_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)g;
    (void)in;
    (void)e;
    s->bwork = 2 * ((size_t)block * sizeof(wf_real) + 64);
}

static void pan_backward(wf_kctx *k)
{
    int n = k->out.n, inside;
    const wf_sig *x = &k->in[0], *pos = &k->in[1];
    wf_stride sx = wf_stride_of(x, &k->out), sp = wf_stride_of(pos, &k->out);
    void *cur = k->work;
    wf_real *gx = wf_carve(&cur, (size_t)n * sizeof(wf_real));
    wf_real *gp = wf_carve(&cur, (size_t)n * sizeof(wf_real));
    const wf_real *g = k->dout->p;
    for (int t = 0; t < n; t++) {
        double th = pan_angle(pos->p[WF_AT(sp, t, 0)], &inside), xv = x->p[WF_AT(sx, t, 0)];
        double gl = g[2 * (size_t)t], gr = g[2 * (size_t)t + 1], co = cos(th), si = sin(th);
        gx[t] = (wf_real)(gl * co + gr * si);
        gp[t] = inside ? (wf_real)(WF_TWO_PI / 8 * xv * (gr * co - gl * si)) : 0;
    }
    if (k->din[0].p)
        wf_reduce_into(&k->din[0], gx, n, 1);
    if (k->din[1].p)
        wf_reduce_into(&k->din[1], gp, n, 1);
}

const wf_node_kind wf_kind_pan = {
    .name = "pan",
    .family = "stereo",
    .doc = "Mono to stereo by the constant-power (sine/cosine) law: [x cos(theta), x sin(theta)] "
           "with theta = (pos + 1) pi/4, so left^2 + right^2 = x^2 everywhere, -1 is left only, "
           "1 right only, 0 both at -3 dB. `pos` may be constant, per frame or audio rate; it is "
           "clamped to [-1, 1] (gradient 0 beyond). x and pos must be one channel each.",
    .args = pan_args,
    .nargs = 2,
    .keep = 3,
    .infer = pan_infer,
    .size = pan_size,
    .forward = pan_forward,
    .backward = pan_backward,
};

/* ----------------------------------------------------------------- width */

static const wf_arg_spec width_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "stereo signal [left, right]", 0, NULL, -1, 1},
    {"width", WF_ARG_SIGNAL, "1", "0 mono, 1 unchanged, 2 twice the side", 0, NULL, 0, 2},
};

static int width_infer(wf_infer *ic)
{
    if (ic->in[0].chans != 2) {
        wf_report_not_stereo(ic->d, ic->arg_loc[0],
                             ic->in[0].chans == 1 ? "make it stereo first, with pan(x)" : NULL,
                             ic->name, "x", ic->in[0].chans);
        return -1;
    }
    if (ic->in[1].chans != 1) {
        wf_report_not_mono(ic->d, ic->arg_loc[1], NULL, ic->name, "width", ic->in[1].chans);
        return -1;
    }
    return wf_infer_elementwise(ic);
}

static void width_forward(wf_kctx *k)
{
    int n = k->out.n;
    const wf_sig *x = &k->in[0], *w = &k->in[1];
    wf_stride sx = wf_stride_of(x, &k->out), sw = wf_stride_of(w, &k->out);
    for (int t = 0; t < n; t++) {
        wf_real l = x->p[WF_AT(sx, t, 0)], r = x->p[WF_AT(sx, t, 1)];
        wf_real m = (l + r) / 2, s = w->p[WF_AT(sw, t, 0)] * ((l - r) / 2);
        k->out.p[2 * (size_t)t] = m + s;
        k->out.p[2 * (size_t)t + 1] = m - s;
    }
}

static void width_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                       wf_sizes *s)
{
    (void)g;
    (void)in;
    (void)e;
    s->bwork = 3 * ((size_t)block * sizeof(wf_real) + 64);
}

static void width_backward(wf_kctx *k)
{
    int n = k->out.n;
    const wf_sig *x = &k->in[0], *w = &k->in[1];
    wf_stride sx = wf_stride_of(x, &k->out), sw = wf_stride_of(w, &k->out);
    void *cur = k->work;
    wf_real *gx = wf_carve(&cur, 2 * (size_t)n * sizeof(wf_real));
    wf_real *gw = wf_carve(&cur, (size_t)n * sizeof(wf_real));
    const wf_real *g = k->dout->p;
    for (int t = 0; t < n; t++) {
        wf_real l = x->p[WF_AT(sx, t, 0)], r = x->p[WF_AT(sx, t, 1)], wv = w->p[WF_AT(sw, t, 0)];
        wf_real sum = g[2 * (size_t)t] + g[2 * (size_t)t + 1];
        wf_real dif = g[2 * (size_t)t] - g[2 * (size_t)t + 1];
        gx[2 * (size_t)t] = (sum + wv * dif) / 2;
        gx[2 * (size_t)t + 1] = (sum - wv * dif) / 2;
        gw[t] = (l - r) / 2 * dif;
    }
    if (k->din[0].p)
        wf_reduce_into(&k->din[0], gx, n, 2);
    if (k->din[1].p)
        wf_reduce_into(&k->din[1], gw, n, 1);
}

const wf_node_kind wf_kind_width = {
    .name = "width",
    .family = "stereo",
    .doc = "Stereo width by mid/side: with m = (left + right)/2 and s = (left - right)/2, "
           "[m + width s, m - width s]: 0 is mono (both sides m), 1 the input, 2 twice the side "
           "(wider and louder at the edges), and a negative width swaps the sides as well. The "
           "mid, left + right, never changes. x must have two channels [left, right]; `width` "
           "one, constant, per frame or audio rate, any value (nothing is clamped).",
    .args = width_args,
    .nargs = 2,
    .keep = 3,
    .infer = width_infer,
    .size = width_size,
    .forward = width_forward,
    .backward = width_backward,
};
