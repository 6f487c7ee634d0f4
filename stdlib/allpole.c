/* all-pole filters: linear-prediction synthesis with time-varying
 * coefficients, the filter of the source-filter model of speech.
 *
 * allpole(x, a): the LPC filter of torchlpc (C.-Y. Yu, github.com/yoyololicon/
 * torchlpc; Yu & Fazekas 2024, "Differentiable time-varying linear prediction
 * in the context of end-to-end analysis-by-synthesis"),
 *   y[n] = x[n] - sum_{k=1..N} a_k[n] y[n-k],   y[n] = 0 before the start,
 * of order N = channels of a (A(z) = 1 + a_1 z^-1 + ... + a_N z^-N, no a_0);
 * every channel of x goes through the same filter.
 *
 * Coefficient rates. torchlpc takes one set of coefficients per sample. Here
 * an audio-rate a is exactly that; a per-frame (control) a is held for its
 * frame's hop, so that each frame is one filter whose poles the frame's
 * values define (and can be checked); a constant a is one filter. Held, not
 * interpolated: a linear path between two stable direct-form polynomials of
 * order 3 or more can leave the stable region (that region is not convex),
 * so an interpolated frame would not be the filter that was checked. Who
 * wants smooth coefficients passes upsample(a) (a filter per sample, as in
 * torchlpc), or interpolated reflection coefficients to lpc().
 *
 * Forward in double precision, the last N outputs of each channel kept as
 * state from block to block (streams equal whole passes).
 *
 * Backward (torchlpc's derivation; the tape is the output alone): with g =
 * dL/dy, the adjoint of the recursion is the same all-pole recursion run
 * backwards in time with the coefficients shifted forward by their lag,
 *   gx[n] = g[n] - sum_k a_k[n+k] gx[n+k],   gx = 0 past the end,
 *   dL/dx[n] = gx[n],   dL/da_k[n] = -gx[n] y[n-k],
 * summed over the samples a coefficient frame covers and over channels. It
 * runs in transposed form: once gx[n] is known, -a_k[n] gx[n] is added to
 * the pending sums of gx[n-k], so each step reads the coefficients of its
 * own sample only.
 *
 * Stability: a direct-form a may put poles anywhere. Each new set of
 * coefficients is tested by the step-down (Schur-Cohn) recursion,
 *   k_i = a^(i)_i,  a^(i-1)_j = (a^(i)_j - k_i a^(i)_{i-j}) / (1 - k_i^2),
 * all poles being inside the unit circle iff every |k_i| < 1 (skipped when
 * sum |a_k| < 1, which already implies it). A set that fails, or an output
 * that is no longer finite, is reported with wf_kernel_fault at its first
 * sample; the output is still what the recursion gives, never clamped.
 *
 * lpc(x, coefs, form:): an all-pole filter stable by construction, for any
 * coefficient path. Each coefficient frame's N values give reflection
 * (PARCOR) coefficients k_i and their complements c_i = sqrt(1 - k_i^2):
 *   form lar:    k_i = tanh(g_i / 2), c_i = sech(g_i / 2)
 *                (g_i = ln((1 + k_i) / (1 - k_i)), the log-area ratio)
 *   form parcor: k_i = tanh(r_i),     c_i = sech(r_i)
 * (sech keeps c_i > 0 where tanh has rounded to +-1). The filter is the
 * normalized lattice (Gray & Markel 1975, "A normalized digital filter
 * structure"), every section a rotation of its input and its delayed
 * backward signal, for i = N .. 1:
 *   f_N[n] = x[n],
 *   f_{i-1}[n] = c_i f_i[n] - k_i b_{i-1}[n-1],
 *   b_i[n]     = k_i f_i[n] + c_i b_{i-1}[n-1],
 *   b_0[n] = f_0[n],   y[n] = f_0[n] / G,   G = prod_i c_i.
 * With constant coefficients it is 1/A(z), A the polynomial of the step-up
 * (Levinson) recursion a^(i)_i = k_i, a^(i)_j = a^(i-1)_j + k_i a^(i-1)_{i-j}
 * (Makhoul 1975, "Linear prediction: a tutorial review"): the same filter
 * as allpole() of that a, so |k| < 1 puts its poles inside the unit circle.
 * When the coefficients change it stays passive: the sections are
 * rotations, so the state's energy never exceeds the input's, whatever the
 * path (the direct form of the same frames is not: it can grow without
 * bound although every frame is stable, which is why lpc does not run the
 * step-up's a through allpole's recursion). Only the memoryless gain 1/G
 * can make the output large; an output that overflows is reported.
 *
 * lpc backward, run backwards in time from the final state: each step's
 * rotations are inverted to recover the state before it (exact, since
 * rotations are orthogonal, and needing only b_N[n], the one value a step
 * drops, which the tape keeps), then the adjoint goes through the same
 * rotations transposed, in reverse order (i = 1 .. N), from
 *   f0bar = g[n] / G + b0bar:
 *   fbar_i = c_i fbar_{i-1} + k_i bbar_i,   bbar_{i-1}' = -k_i fbar_{i-1} + c_i bbar_i,
 *   dk_i = -fbar_{i-1} b_{i-1}[n-1] + bbar_i f_i,   dc_i = fbar_{i-1} f_i + bbar_i b_{i-1}[n-1],
 * dx[n] = fbar_N, bbar_N = 0; with dk/dr = c^2 and dc/dr = -k c (r = g / 2
 * for lar, halving both), and d(1/G)/dr_i = k_i / G. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/node.h"

enum { A_X, A_COEF };
enum { FORM_LAR, FORM_PARCOR };

#define MAX_ORDER 256

static const char *const forms[] = {"lar", "parcor", NULL};

/* Random stable coefficients for the gradient tests: sum |a_k| < 0.9 keeps
 * every frame's poles inside the unit circle and, with time-varying a,
 * bounds the output too (|y| <= |x| + 0.9 max |y|). */
static double allpole_test_value(int input, int chan, int chans, double u)
{
    (void)chan;
    return input == A_COEF ? (2 * u - 1) * 0.9 / chans : 2 * u - 1;
}

static const wf_arg_spec allpole_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter; every channel through the same filter", 0, NULL,
     -1, 1},
    {"a", WF_ARG_SIGNAL, NULL,
     "coefficients a_1 .. a_N (one channel each, no a_0): constant, per frame (held for the "
     "frame) or audio rate (per sample)",
     WF_ARG_KEEP_CONTROL, NULL, -0.2, 0.2},
};

static const wf_arg_spec lpc_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal to filter; every channel through the same filter", 0, NULL,
     -1, 1},
    {"coefs", WF_ARG_SIGNAL, NULL,
     "N raw values, one channel each: log-area ratios (form lar) or reflection coefficients "
     "before tanh (form parcor); constant, per frame (held) or audio rate",
     WF_ARG_KEEP_CONTROL, NULL, -2, 2},
    {"form", WF_ARG_ENUM, "lar",
     "lar: k = tanh(g / 2) of log-area ratios g; parcor: k = tanh(r)", 0, forms, 0, 0},
};

static int ap_infer(wf_infer *ic)
{
    const wf_shape *c = &ic->in[A_COEF];
    if (c->chans > MAX_ORDER) {
        wf_report_too_many_channels(ic->d, ic->arg_loc[A_COEF],
                                    "the order is the channel count of the coefficients",
                                    ic->name, MAX_ORDER);
        return -1;
    }
    if (ic->in[A_X].rate == WF_RATE_CONTROL)
        ic->want[A_X] = WF_RATE_AUDIO;
    ic->out = wf_shape_of(WF_RATE_AUDIO, ic->in[A_X].chans);
    return 0;
}

/* Bytes of n doubles carved with wf_carve. */
static size_t doubles(size_t n)
{
    return n * sizeof(double) + 64;
}

static void allpole_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                         wf_sizes *s)
{
    (void)e;
    size_t N = (size_t)in[A_COEF].chans, C = (size_t)g->shape.chans, B = (size_t)block;
    s->state = C * N * sizeof(double);
    /* the outputs after their N samples of history, one set of
     * coefficients and the step-down's two rows */
    s->work = doubles(C * (N + B)) + 3 * doubles(N);
    /* pending adjoint sums, dx, the coefficients and their adjoints */
    s->bwork = doubles(C * (N + B)) + B * C * sizeof(wf_real) + 64 + 2 * doubles(N);
}

/* The output samples [*from, *to) around sample t that share one set of
 * coefficients; returns that set's frame in the coefficient view. */
static int span(const wf_kctx *k, int t, int *from, int *to)
{
    const wf_sig *c = &k->in[A_COEF];
    int n = k->out.n;
    if (c->rate == WF_RATE_CONST) {
        *from = 0;
        *to = n;
        return 0;
    }
    if (c->rate == WF_RATE_AUDIO) {
        *from = t;
        *to = t + 1;
        return t;
    }
    int64_t hop = k->env->hop, f = (k->t0 + t) / hop;
    int64_t lo = f * hop - k->t0, hi = lo + hop;
    *from = lo > 0 ? (int)lo : 0;
    *to = hi < n ? (int)hi : n;
    return (int)(f - k->t0 / hop);
}

/* Step-down test of direct-form coefficients: 0 when every pole is inside
 * the unit circle, else the first order i (from N down) whose |k_i| >= 1,
 * with k_i in *kbad. p and q are scratch rows of N. */
static int step_down(const double *a, int N, double *p, double *q, double *kbad)
{
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += fabs(a[i]);
    if (sum < 1)
        return 0;
    memcpy(p, a, sizeof(double) * (size_t)N);
    for (int i = N; i >= 1; i--) {
        double ki = p[i - 1];
        if (!(fabs(ki) < 1)) {
            *kbad = ki;
            return i;
        }
        double d = 1 - ki * ki;
        for (int j = 1; j < i; j++)
            q[j - 1] = (p[j - 1] - ki * p[i - j - 1]) / d;
        double *t = p;
        p = q;
        q = t;
    }
    return 0;
}

/* allpole's coefficients of coefficient frame ci in double; with p, their
 * step-down test (0, or the order found at or past the unit circle). */
static int frame_coefs(const wf_kctx *k, int ci, double *a, double *p, double *q, double *kbad)
{
    const wf_sig *c = &k->in[A_COEF];
    int N = c->chans;
    const wf_real *raw = c->p + (size_t)ci * (size_t)N;
    for (int i = 0; i < N; i++)
        a[i] = raw[i];
    return p ? step_down(a, N, p, q, kbad) : 0;
}

/* Reports the first sample of [t, t + run) of channel c whose stored output
 * is not finite (a float overflows long before the double state, and may
 * come back into range after). */
static int check_overflow(wf_kctx *k, int c, int t, int run, const char *why)
{
    int C = k->out.chans, j = t;
    const wf_real *o = k->out.p + c;
    while (j < t + run && isfinite(o[(size_t)j * C]))
        j++;
    if (j == t + run)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "output overflowed: %s", why);
    wf_kernel_fault(k, j, what);
    return 1;
}

static void allpole_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[A_X];
    int n = k->out.n, C = k->out.chans, N = k->in[A_COEF].chans;
    size_t len = (size_t)(N + n);
    void *cur = k->work;
    double *yb = wf_carve(&cur, sizeof(double) * (size_t)C * len);
    double *a = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *p = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *q = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *hist = k->state;
    for (int c = 0; c < C; c++)
        memcpy(yb + (size_t)c * len, hist + (size_t)c * N, sizeof(double) * (size_t)N);
    size_t xs = x->n == 1 ? 0 : (size_t)C;
    int faulted = 0;
    for (int t = 0; t < n;) {
        int from, to, ci = span(k, t, &from, &to), run = to - t;
        double kbad = 0;
        int bad = frame_coefs(k, ci, a, p, q, &kbad);
        if (bad && !faulted) {
            char what[96];
            snprintf(what, sizeof what, "pole on or outside the unit circle (step-down k%d = %.6g)",
                     bad, kbad);
            wf_kernel_fault(k, t, what);
            faulted = 1;
        }
        for (int c = 0; c < C; c++) {
            double *y = yb + (size_t)c * len + N;
            const wf_real *xc = x->p + c;
            wf_real *o = k->out.p + c;
            for (int j = t; j < t + run; j++) {
                double acc = xc[(size_t)j * xs];
                for (int i = 1; i <= N; i++)
                    acc -= a[i - 1] * y[j - i];
                y[j] = acc;
                o[(size_t)j * C] = (wf_real)acc;
            }
            if (!faulted)
                faulted = check_overflow(k, c, t, run, "poles near the unit circle, or changing fast");
        }
        t += run;
    }
    for (int c = 0; c < C; c++)
        memcpy(hist + (size_t)c * N, yb + (size_t)c * len + n, sizeof(double) * (size_t)N);
}

static void allpole_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, N = k->in[A_COEF].chans;
    size_t len = (size_t)(N + n);
    void *cur = k->work;
    double *pend = wf_carve(&cur, sizeof(double) * (size_t)C * len);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * (size_t)n * C);
    double *a = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *da = wf_carve(&cur, sizeof(double) * (size_t)N);
    memset(pend, 0, sizeof(double) * (size_t)C * len);
    const wf_real *y = k->out.p, *g = k->dout->p;
    const wf_sig *dc = &k->din[A_COEF];
    /* the coefficient frames from the last: each covers [t, stop) */
    for (int end = n; end > 0;) {
        int t, stop, ci = span(k, end - 1, &t, &stop);
        frame_coefs(k, ci, a, NULL, NULL, NULL);
        memset(da, 0, sizeof(double) * (size_t)N);
        for (int c = 0; c < C; c++) {
            double *s = pend + (size_t)c * len + N; /* s[j]: pending part of gx[j] */
            for (int j = stop - 1; j >= t; j--) {
                double gx = g[(size_t)j * C + c] + s[j];
                dx[(size_t)j * C + c] = (wf_real)gx;
                int top = j < N ? j : N; /* y[j - i] = 0 before the start */
                for (int i = 1; i <= N; i++)
                    s[j - i] -= a[i - 1] * gx;
                for (int i = 1; i <= top; i++)
                    da[i - 1] -= gx * (double)y[(size_t)(j - i) * C + c];
            }
        }
        if (dc->p) {
            wf_real *d = dc->p + (size_t)ci * (size_t)N;
            for (int i = 0; i < N; i++)
                d[i] += (wf_real)da[i];
        }
        end = t;
    }
    if (k->din[A_X].p)
        wf_reduce_into(&k->din[A_X], dx, n, C);
}

/* ------------------------------------------------------------------ lpc */

static void lpc_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)e;
    size_t N = (size_t)in[A_COEF].chans, C = (size_t)g->shape.chans, B = (size_t)block;
    s->state = C * N * sizeof(double);
    /* b_N of every sample, then the final state */
    s->saved = doubles(C * (B + N));
    s->work = 2 * doubles(N);
    /* the state run backwards and its adjoint, one step's f_i and
     * b_{i-1}[n-1], the frame's k, c and their adjoints, dx */
    s->bwork = 2 * doubles(C * N) + doubles(N + 1) + 5 * doubles(N) + B * C * sizeof(wf_real) + 64;
}

/* k_i and c_i of coefficient frame ci; returns 1/G = prod 1/c_i. */
static double lattice_frame(const wf_kctx *k, int ci, double *kk, double *cc)
{
    const wf_sig *c = &k->in[A_COEF];
    int N = c->chans;
    double half = wf_opt_num(k->node, 2, FORM_LAR) == FORM_LAR ? 0.5 : 1.0, ig = 1;
    const wf_real *raw = c->p + (size_t)ci * (size_t)N;
    for (int i = 0; i < N; i++) {
        double r = half * (double)raw[i], ch = cosh(r);
        kk[i] = tanh(r);
        cc[i] = 1 / ch;
        ig *= ch;
    }
    return ig;
}

static void lpc_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[A_X];
    int n = k->out.n, C = k->out.chans, N = k->in[A_COEF].chans;
    void *cur = k->work;
    double *kk = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *cc = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *state = k->state, *tape = k->saved;
    size_t xs = x->n == 1 ? 0 : (size_t)C;
    int faulted = 0;
    for (int t = 0; t < n;) {
        int from, to, ci = span(k, t, &from, &to);
        double ig = lattice_frame(k, ci, kk, cc);
        for (int c = 0; c < C; c++) {
            double *b = state + (size_t)c * N;
            for (int j = t; j < to; j++) {
                double f = x->p[(size_t)j * xs + c];
                /* section i reads b_{i-1}[n-1] before section i-1 overwrites it */
                for (int i = N; i >= 1; i--) {
                    double fi = f, bp = b[i - 1];
                    f = cc[i - 1] * fi - kk[i - 1] * bp;
                    double bi = kk[i - 1] * fi + cc[i - 1] * bp;
                    if (i < N)
                        b[i] = bi;
                    else if (tape)
                        tape[(size_t)j * C + c] = bi;
                }
                b[0] = f;
                k->out.p[(size_t)j * C + c] = (wf_real)(f * ig);
            }
            if (!faulted)
                faulted = check_overflow(k, c, t, to - t, "the gain, prod cosh(raw), is too large");
        }
        t = to;
    }
    if (tape)
        memcpy(tape + (size_t)n * C, state, sizeof(double) * (size_t)C * N);
}

static void lpc_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, N = k->in[A_COEF].chans;
    void *cur = k->work;
    double *state = wf_carve(&cur, sizeof(double) * (size_t)C * N);
    double *adj = wf_carve(&cur, sizeof(double) * (size_t)C * N);
    double *fs = wf_carve(&cur, sizeof(double) * (size_t)(N + 1));
    double *bps = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *kk = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *cc = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *dk = wf_carve(&cur, sizeof(double) * (size_t)N);
    double *dcc = wf_carve(&cur, sizeof(double) * (size_t)N);
    wf_real *dx = wf_carve(&cur, sizeof(wf_real) * (size_t)n * C);
    const double *tape = k->saved;
    memcpy(state, tape + (size_t)n * C, sizeof(double) * (size_t)C * N);
    memset(adj, 0, sizeof(double) * (size_t)C * N);
    const wf_real *g = k->dout->p;
    const wf_sig *dc = &k->din[A_COEF];
    double half = wf_opt_num(k->node, 2, FORM_LAR) == FORM_LAR ? 0.5 : 1.0;
    for (int end = n; end > 0;) {
        int t, stop, ci = span(k, end - 1, &t, &stop);
        double ig = lattice_frame(k, ci, kk, cc), dig = 0;
        memset(dk, 0, sizeof(double) * (size_t)N);
        memset(dcc, 0, sizeof(double) * (size_t)N);
        for (int c = 0; c < C; c++) {
            double *b = state + (size_t)c * N, *bb = adj + (size_t)c * N;
            for (int j = stop - 1; j >= t; j--) {
                /* the state before sample j, by the rotations transposed */
                double f = b[0];
                fs[0] = f;
                for (int i = 1; i <= N; i++) {
                    double bi = i < N ? b[i] : tape[(size_t)j * C + c];
                    double fi = cc[i - 1] * f + kk[i - 1] * bi;
                    bps[i - 1] = b[i - 1] = cc[i - 1] * bi - kk[i - 1] * f;
                    fs[i] = f = fi;
                }
                /* the adjoint through the sections, last first */
                double gy = g[(size_t)j * C + c], fb = gy * ig + bb[0];
                dig += gy * fs[0];
                for (int i = 1; i <= N; i++) {
                    double bbi = i < N ? bb[i] : 0, kv = kk[i - 1], cv = cc[i - 1];
                    dk[i - 1] += bbi * fs[i] - fb * bps[i - 1];
                    dcc[i - 1] += fb * fs[i] + bbi * bps[i - 1];
                    bb[i - 1] = cv * bbi - kv * fb;
                    fb = cv * fb + kv * bbi;
                }
                dx[(size_t)j * C + c] = (wf_real)fb;
            }
        }
        if (dc->p) {
            wf_real *d = dc->p + (size_t)ci * (size_t)N;
            for (int i = 0; i < N; i++) {
                double kv = kk[i], cv = cc[i];
                d[i] += (wf_real)(half * (dk[i] * cv * cv - dcc[i] * kv * cv + dig * ig * kv));
            }
        }
        end = t;
    }
    if (k->din[A_X].p)
        wf_reduce_into(&k->din[A_X], dx, n, C);
}

/* ------------------------------------------------------------- records */

const wf_node_kind wf_kind_allpole = {
    .name = "allpole",
    .family = "all-pole filters",
    .doc = "All-pole (LPC) filter y[n] = x[n] - sum_k a_k y[n-k], k = 1..N, N = channels of `a` "
           "(torchlpc's recursion), every channel of x through the same filter; `a` constant, per "
           "frame (held for its frame: one filter a frame) or audio rate (one per sample; "
           "upsample(a) interpolates). Not stable by construction: each new set of coefficients is "
           "checked by the step-down (Schur-Cohn) recursion, and a pole on or outside the unit "
           "circle, or an output that overflows, is reported with the node and time (a render "
           "warns, a fit stops); nothing is clamped. lpc() stays stable while fitting.",
    .args = allpole_args,
    .nargs = 2,
    .keep = (1u << A_COEF) | WF_KEEP_OUT,
    .infer = ap_infer,
    .size = allpole_size,
    .forward = allpole_forward,
    .backward = allpole_backward,
    .test_value = allpole_test_value,
};

const wf_node_kind wf_kind_lpc = {
    .name = "lpc",
    .family = "all-pole filters",
    .doc = "All-pole filter stable by construction: the N channels of `coefs` are log-area "
           "ratios g (form lar, reflection coefficient k = tanh(g / 2)) or raw reflection "
           "coefficients r (form parcor, k = tanh(r)), so |k| < 1 for any value; constant, per "
           "frame (held) or audio rate. Constant, it is allpole() of the step-up (Levinson) "
           "polynomial of k, every pole inside the unit circle; changing, it runs as a normalized "
           "lattice (rotations), which cannot grow however fast the coefficients move. Only its "
           "output gain, prod cosh of the raw values, can overflow: reported as for allpole().",
    .args = lpc_args,
    .nargs = 3,
    .keep = 1u << A_COEF,
    .infer = ap_infer,
    .size = lpc_size,
    .forward = lpc_forward,
    .backward = lpc_backward,
};
