/* Feedback delay networks: fdn(x, matrix, delays, ...), whose matrix,
 * delays and gains are params, and room(x, decay:, predelay:, damping:,
 * mix:), a parametric reverb built on the same kernel (Jot & Chaigne 1991,
 * "Digital delay networks for designing artificial reverberators"; the
 * structure DiffVox fits, Yu et al. 2025, "DiffVox: a differentiable model
 * for capturing and analysing professional effects distributions").
 *
 * The network, N lines, for each channel of x on its own:
 *   s_i[n] = w_i(n - D_i[n])                      line i's output, D_i = delays_i sr
 *   u_i[n] = (1 - a_i) s_i[n] + a_i u_i[n-1]      one-pole damping, DC gain 1
 *   v_i[n] = g_i[n] u_i[n]                        the line's gain
 *   w_i[n] = sum_j A_ij v_j[n] + b_i x[n]         the matrix mixes, x enters every line
 *   y[n]   = sum_i c_i v_i[n]                     the lines' outputs summed
 * with w(p) read by linear interpolation as in stdlib/comb.c, w(i + f) =
 * w[i] (1 - f) + w[i+1] f, 0 before the start, D_i clamped to [1, max sr]
 * (the loop needs a sample of delay). With N = 1 it is a comb filter of the
 * delayed input: y[n] = c g b x(n - D) + A g y(n - D) (without damping).
 * The state keeps max seconds of every w_i (in double, a ring indexed by
 * the time since the start) and u_i, so a stream equals a whole pass.
 *
 * Stability. The loop's gain at any frequency is at most ||A||_2 times the
 * largest |g_i| |1 - a_i| / (1 - |a_i|) (the one-pole's peak gain), so the
 * network is stable when that product is below 1 (the small-gain theorem;
 * for time-varying gains it is checked sample by sample, frozen in time).
 * ||A||_2 is bounded from above by repeated squaring, cheap for small N:
 * with B = A^T A, lambda_max(B) <= ||B^k||_F^(1/k) <= N^(1/(2k)) lambda_max,
 * k = 2^20, so the bound is tight to a factor 1 + 1e-6 (an orthogonal A is
 * not rejected as the Frobenius norm, sqrt(N), or the inf-norm would) and
 * is computed once per matrix. A sample whose bound reaches 1 is reported
 * with wf_kernel_fault, never clamped.
 *
 * Backward (whole runs), the transposed network run backwards in time. With
 * W_i[n] = dL/dw_i[n], complete at step n because only later samples read
 * w_i[n], and U_i the adjoint u_i[n] passes to u_i[n-1]:
 *   vbar_j = c_j dy[n] + sum_i A_ij W_i[n]          (A transposed)
 *   dA_ij += W_i[n] v_j[n],  db_i += W_i[n] x[n],  dx[n] = sum_i b_i W_i[n],
 *   dc_j += dy[n] v_j[n]
 *   ubar_j = U_j + g_j vbar_j,   dg_j[n] = vbar_j u_j[n],
 *   da_j[n] = ubar_j (u_j[n-1] - s_j[n]),   U_j <- a_j ubar_j
 *   sbar_j = (1 - a_j) ubar_j, scattered into W_j at the two taps with the
 *   weights (1 - f), f;  dD_j[n] = -sr sbar_j (w_j[i+1] - w_j[i]) inside
 *   the clamp (0 at the clamps).
 * The tape is w and u of every sample; s is read again from w. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stdlib/map.h"
#include "stdlib/registry.h"

#define MAX_LINES 64
#define MAX_SECONDS 60.0
#define LN10 2.302585092994045684

/* ---------------------------------------------------------- the kernel */

/* One network's coefficients for a block: A [N x N] row-major and its
 * transpose At (the forward's product runs down A's columns, each a
 * contiguous axpy into w that vectorises without reassociating sums), b
 * and c [N], and per-sample D (in samples, clamped), g and a, each [n x N]
 * with a step of N per sample, or [N] with a step of 0 when constant. */
typedef struct net {
    int N;
    int64_t H; /* ring length in samples */
    const double *A, *At, *b, *c;
    const double *D, *g, *a;
    size_t ds, gs, as;
} net;

static inline void tap_of(double D, int64_t m, int64_t *i, double *f)
{
    double pos = (double)m - D, fl = floor(pos);
    *i = (int64_t)fl;
    *f = pos - fl;
}

/* Runs n samples of one channel from t0: x in, y out; ring [H x N] and u [N]
 * carry the state; tw, tu (or NULL) receive w and u of every sample. */
static void net_forward(const net *q, double *ring, double *u, int64_t t0, int n, const double *x,
                        double *y, double *v, double *tw, double *tu)
{
    int N = q->N;
    int64_t H = q->H;
    for (int t = 0; t < n; t++) {
        int64_t m = t0 + t;
        const double *D = q->D + (size_t)t * q->ds, *g = q->g + (size_t)t * q->gs;
        const double *a = q->a + (size_t)t * q->as;
        double out = 0;
        int64_t now = m % H;
        for (int i = 0; i < N; i++) {
            int64_t p;
            double f;
            tap_of(D[i], m, &p, &f);
            /* m - H < p < m: the slot still holds sample p (0 before the start) */
            int64_t s0 = now - (m - p), s1;
            s0 += s0 < 0 ? H : 0;
            s1 = s0 + 1 == H ? 0 : s0 + 1;
            /* with f = 0 the later tap may be slot m itself, not yet written */
            double s = ring[s0 * N + i] + (f > 0 ? (ring[s1 * N + i] - ring[s0 * N + i]) * f : 0);
            u[i] = (1 - a[i]) * s + a[i] * u[i];
            v[i] = g[i] * u[i];
            out += q->c[i] * v[i];
        }
        double *w = ring + now * N;
        for (int i = 0; i < N; i++)
            w[i] = q->b[i] * x[t];
        for (int j = 0; j < N; j++) {
            const double *col = q->At + (size_t)j * N;
            for (int i = 0; i < N; i++)
                w[i] += col[i] * v[j];
        }
        y[t] = out;
        if (tw) {
            memcpy(tw + (size_t)t * N, w, sizeof(double) * (size_t)N);
            memcpy(tu + (size_t)t * N, u, sizeof(double) * (size_t)N);
        }
    }
}

/* Adjoints to accumulate into: dA [N x N], db, dc [N] (or NULL), dD, dg, da
 * laid out like D, g, a (or NULL); dx [n] is assigned. */
typedef struct net_adj {
    double *dA, *db, *dc, *dD, *dg, *da, *dx;
} net_adj;

/* The adjoint of a whole run from t = 0 of one channel (the state zero
 * before it): the tape tw, tu of net_forward, gy = dL/dy; W [n x N] and
 * scratch [3N] are work. */
static void net_backward(const net *q, int n, const double *x, const double *tw, const double *tu,
                         const double *gy, double *W, double *scratch, const net_adj *d)
{
    int N = q->N;
    double *U = scratch, *vbar = scratch + N, *v = scratch + 2 * N;
    memset(W, 0, sizeof(double) * (size_t)n * N);
    memset(U, 0, sizeof(double) * (size_t)N);
    for (int t = n - 1; t >= 0; t--) {
        const double *D = q->D + (size_t)t * q->ds, *g = q->g + (size_t)t * q->gs;
        const double *a = q->a + (size_t)t * q->as;
        const double *u = tu + (size_t)t * N, *Wt = W + (size_t)t * N;
        double dyt = gy[t], dxt = 0;
        for (int j = 0; j < N; j++) {
            v[j] = g[j] * u[j];
            vbar[j] = q->c[j] * dyt;
        }
        for (int i = 0; i < N; i++) {
            const double *row = q->A + (size_t)i * N;
            for (int j = 0; j < N; j++)
                vbar[j] += row[j] * Wt[i];
            dxt += q->b[i] * Wt[i];
        }
        if (d->dA)
            for (int i = 0; i < N; i++) {
                double *drow = d->dA + (size_t)i * N;
                for (int j = 0; j < N; j++)
                    drow[j] += Wt[i] * v[j];
            }
        if (d->db)
            for (int i = 0; i < N; i++)
                d->db[i] += Wt[i] * x[t];
        if (d->dc)
            for (int j = 0; j < N; j++)
                d->dc[j] += dyt * v[j];
        d->dx[t] = dxt;
        for (int j = 0; j < N; j++) {
            int64_t p;
            double f;
            tap_of(D[j], t, &p, &f);
            double w0 = p >= 0 ? tw[(size_t)p * N + j] : 0;
            double w1 = p + 1 >= 0 && f > 0 ? tw[(size_t)(p + 1) * N + j] : 0;
            double s = w0 + (w1 - w0) * f, up = t > 0 ? tu[(size_t)(t - 1) * N + j] : 0;
            double ub = U[j] + g[j] * vbar[j];
            if (d->dg)
                d->dg[(size_t)t * q->gs + j] += vbar[j] * u[j];
            if (d->da)
                d->da[(size_t)t * q->as + j] += ub * (up - s);
            U[j] = a[j] * ub;
            double sb = (1 - a[j]) * ub;
            /* the taps lie before t, or at t with weight 0 */
            if (p >= 0)
                W[(size_t)p * N + j] += sb * (1 - f);
            if (p + 1 >= 0 && f > 0)
                W[(size_t)(p + 1) * N + j] += sb * f;
            if (d->dD) {
                double wa = p >= 0 ? tw[(size_t)p * N + j] : 0;
                double wb = p + 1 >= 0 && p + 1 < t ? tw[(size_t)(p + 1) * N + j] : 0;
                d->dD[(size_t)t * q->ds + j] -= sb * (wb - wa);
            }
        }
    }
}

/* An upper bound of ||A||_2 (see the top): B = A^T A squared k = 2^20
 * times, normalised by its Frobenius norm each time. B, T: [N x N] work. */
static double spectral_bound(const double *A, int N, double *B, double *T)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int r = 0; r < N; r++)
                s += A[r * N + i] * A[r * N + j];
            B[i * N + j] = s;
        }
    enum { SQUARINGS = 20 };
    double ls = 0; /* log of the scale taken out of B^(2^m) */
    for (int m = 0;; m++) {
        double f = 0;
        for (int i = 0; i < N * N; i++)
            f += B[i] * B[i];
        f = sqrt(f);
        if (!(f > 0))
            return f == 0 ? 0 : NAN;
        ls += log(f);
        if (m == SQUARINGS)
            break;
        for (int i = 0; i < N * N; i++)
            B[i] /= f;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int r = 0; r < N; r++)
                    s += B[i * N + r] * B[r * N + j];
                T[i * N + j] = s;
            }
        memcpy(B, T, sizeof(double) * (size_t)N * N);
        ls *= 2;
    }
    return exp(ls / ldexp(2.0, SQUARINGS)); /* sqrt of lambda = ||B^k||^(1/k) */
}

/* The largest gain of the lines' loop filters at sample t:
 * max_i |g_i| |1 - a_i| / (1 - |a_i|) (infinite when some |a_i| >= 1). */
static double loop_peak(const net *q, int t)
{
    const double *g = q->g + (size_t)t * q->gs, *a = q->a + (size_t)t * q->as;
    double peak = 0;
    for (int i = 0; i < q->N; i++) {
        double l = fabs(a[i]) < 1 ? fabs(g[i]) * fabs(1 - a[i]) / (1 - fabs(a[i])) : INFINITY;
        if (!(l <= peak))
            peak = l; /* a NaN sticks */
    }
    return peak;
}

/* Reports the first sample of the block whose loop-gain bound sigma *
 * peak is 1 or more (or not a number). */
static void check_loop(wf_kctx *k, const net *q, int n, double sigma)
{
    int steps = q->gs || q->as ? n : 1;
    for (int t = 0; t < steps; t++) {
        double bound = sigma * loop_peak(q, t);
        if (!(bound < 1)) {
            char what[64];
            snprintf(what, sizeof what, "loop gain bound %.4g", bound);
            wf_kernel_fault(k, t, what);
            return;
        }
    }
}

static size_t doubles(size_t n)
{
    return n * sizeof(double) + 64;
}

/* Channel c of a signal laid out like the output, as n doubles. */
static void column(const wf_sig *s, const wf_sig *out, int c, double *dst)
{
    wf_stride st = wf_stride_of(s, out);
    for (int t = 0; t < out->n; t++)
        dst[t] = (double)s->p[WF_AT(st, t, c)];
}

/* ----------------------------------------------------------------- fdn */

enum { F_X, F_MATRIX, F_DELAYS, F_GAINS, F_DAMPING, F_IN, F_OUT, F_MAX };

static const wf_arg_spec fdn_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal into the network (each channel its own network)", 0, NULL,
     -1, 1},
    {"matrix", WF_ARG_SIGNAL, NULL,
     "feedback matrix, N x N row-major (entry i N + j feeds line j's output into line i); "
     "constant",
     WF_ARG_CONST_ONLY, NULL, -0.5, 0.5},
    {"delays", WF_ARG_SIGNAL, NULL, "the N lines' delays in seconds, one channel each", 0, NULL,
     0.0021, 0.0049},
    {"gains", WF_ARG_SIGNAL, "1", "the lines' gains g_i (one, or one per line)", 0, NULL, 0.3, 0.9},
    {"damping", WF_ARG_SIGNAL, "0",
     "the lines' one-pole lowpass coefficients a_i in [0, 1): u = (1 - a) s + a u[n-1] (one, or "
     "one per line)",
     0, NULL, 0, 0.6},
    {"in_gains", WF_ARG_SIGNAL, "1", "gains b_i of x into the lines (one, or one per line); constant",
     WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"out_gains", WF_ARG_SIGNAL, "1",
     "gains c_i of the lines into the output (one, or one per line); constant", WF_ARG_CONST_ONLY,
     NULL, -1, 1},
    {"max", WF_ARG_NUMBER, "0.1", "longest delay in seconds (delays are clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

static int fdn_infer(wf_infer *ic)
{
    const wf_shape *in = ic->in;
    int N = in[F_DELAYS].chans;
    if (N > MAX_LINES) {
        wf_report_too_many_channels(ic->d, ic->arg_loc[F_DELAYS],
                                    "the lines are the channels of the delays", ic->name,
                                    MAX_LINES);
        return -1;
    }
    if (in[F_MATRIX].chans != N * N) {
        wf_report_bad_matrix(ic->d, ic->arg_loc[F_MATRIX], NULL, ic->name, N * N, N,
                             in[F_MATRIX].chans);
        return -1;
    }
    static const int line_args[] = {F_GAINS, F_DAMPING, F_IN, F_OUT};
    for (int k = 0; k < 4; k++) {
        int i = line_args[k];
        if (in[i].chans != 1 && in[i].chans != N) {
            wf_report_shape_mismatch(ic->d, ic->arg_loc[i], "one value, or one per line", ic->name,
                                     i + 1, in[i].chans, F_DELAYS + 1, N);
            return -1;
        }
    }
    if (in[F_X].rate == WF_RATE_CONST) {
        wf_report_constant_signal(ic->d, ic->arg_loc[F_X], NULL, ic->name, "x");
        return -1;
    }
    double maxd = wf_opt_num(ic->node, F_MAX, 0.1);
    if (maxd > MAX_SECONDS) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a delay network holds at most 60 s",
                                        "max", ic->name, maxd);
        return -1;
    }
    for (int i = 0; i < ic->nin; i++)
        if (in[i].rate == WF_RATE_CONTROL)
            ic->want[i] = WF_RATE_AUDIO;
    ic->out = wf_shape_of(WF_RATE_AUDIO, in[F_X].chans);
    return 0;
}

static int64_t fdn_ring(const wf_gnode *g, const wf_env *e)
{
    return (int64_t)ceil(wf_opt_num(g, F_MAX, 0.1) * e->sr) + 2;
}

/* state: the matrix its bound was computed for [N x N], the bound, whether
 * it is known, then per channel the ring [H x N] and u [N] */
static void fdn_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    size_t N = (size_t)in[F_DELAYS].chans, C = (size_t)g->shape.chans, B = (size_t)block;
    size_t H = (size_t)fdn_ring(g, e);
    s->state = sizeof(double) * (N * N + 2 + C * (H * N + N));
    s->saved = 2 * sizeof(double) * C * B * N;
    size_t coefs = 2 * doubles(N * N) + 2 * doubles(N) + 3 * doubles(B * N);
    s->work = coefs + 2 * doubles(N * N) + 3 * doubles(B) + doubles(N);
    s->bwork = coefs + 2 * doubles(N * N) + 3 * doubles(B) + doubles(B * N) + doubles(3 * N) +
               3 * doubles(B * N) + doubles(N * N) + 2 * doubles(N) + doubles(B * N);
}

/* A per-line input (1 or N channels, constant or audio) as doubles: [N] when
 * constant (step 0), else [n x N] (step N). */
static size_t per_line(const wf_sig *s, int n, int N, double *dst)
{
    int steps = s->n == 1 ? 1 : n;
    for (int t = 0; t < steps; t++)
        for (int i = 0; i < N; i++)
            dst[(size_t)t * N + i] = (double)s->p[(size_t)t * s->chans + (s->chans == 1 ? 0 : i)];
    return s->n == 1 ? 0 : (size_t)N;
}

/* The network of a block of fdn: coefficients as doubles in work; Dr (or
 * NULL) receives the delays before the clamp; a delay that is not a number
 * is reported when `report`. */
static void fdn_net(wf_kctx *k, void **cur, net *q, double **Dr, int report)
{
    int n = k->out.n, N = k->in[F_DELAYS].chans;
    double sr = k->env->sr, dmax = wf_opt_num(k->node, F_MAX, 0.1) * sr;
    double *A = wf_carve(cur, sizeof(double) * (size_t)N * N);
    double *At = wf_carve(cur, sizeof(double) * (size_t)N * N);
    double *b = wf_carve(cur, sizeof(double) * (size_t)N);
    double *c = wf_carve(cur, sizeof(double) * (size_t)N);
    double *D = wf_carve(cur, sizeof(double) * (size_t)n * N);
    double *g = wf_carve(cur, sizeof(double) * (size_t)n * N);
    double *a = wf_carve(cur, sizeof(double) * (size_t)n * N);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            At[j * N + i] = A[i * N + j] = (double)k->in[F_MATRIX].p[i * N + j];
    per_line(&k->in[F_IN], 1, N, b);
    per_line(&k->in[F_OUT], 1, N, c);
    q->N = N;
    q->H = fdn_ring(k->node, k->env);
    q->A = A;
    q->At = At;
    q->b = b;
    q->c = c;
    q->ds = per_line(&k->in[F_DELAYS], n, N, D);
    q->gs = per_line(&k->in[F_GAINS], n, N, g);
    q->as = per_line(&k->in[F_DAMPING], n, N, a);
    q->D = D;
    q->g = g;
    q->a = a;
    /* delays in samples, clamped to [1, max]; a NaN delay reads 1 sample */
    size_t total = (q->ds ? (size_t)n : 1) * (size_t)N;
    if (Dr) {
        *Dr = wf_carve(cur, sizeof(double) * total);
        memcpy(*Dr, D, sizeof(double) * total);
    }
    for (size_t i = 0; i < total; i++) {
        double v = D[i] * sr;
        if (!isfinite(v) && report) {
            wf_kernel_fault(k, (int)(i / (size_t)N), "delay is not finite");
            report = 0;
        }
        D[i] = !(v > 1) ? 1 : v < dmax ? v : dmax;
    }
}

static void fdn_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    void *cur = k->work;
    net q;
    fdn_net(k, &cur, &q, NULL, 1);
    int N = q.N;
    /* the matrix's bound, computed again only when the matrix changes */
    double *st = k->state, *cache = st, *sigma = st + N * N, *known = sigma + 1;
    if (!*known || memcmp(cache, q.A, sizeof(double) * (size_t)N * N)) {
        double *B = wf_carve(&cur, sizeof(double) * (size_t)N * N);
        double *T = wf_carve(&cur, sizeof(double) * (size_t)N * N);
        memcpy(cache, q.A, sizeof(double) * (size_t)N * N);
        *sigma = spectral_bound(q.A, N, B, T);
        *known = 1;
    }
    check_loop(k, &q, n, *sigma);
    double *x = wf_carve(&cur, sizeof(double) * (size_t)n);
    double *y = wf_carve(&cur, sizeof(double) * (size_t)n);
    double *v = wf_carve(&cur, sizeof(double) * (size_t)N);
    size_t per = (size_t)q.H * N + N;
    for (int c = 0; c < C; c++) {
        double *ring = st + N * N + 2 + (size_t)c * per, *u = ring + (size_t)q.H * N;
        size_t B = (size_t)k->block * N;
        double *tw = k->saved ? (double *)k->saved + (size_t)c * 2 * B : NULL;
        column(&k->in[F_X], &k->out, c, x);
        net_forward(&q, ring, u, k->t0, n, x, y, v, tw, tw ? tw + B : NULL);
        for (int t = 0; t < n; t++)
            k->out.p[(size_t)t * C + c] = (wf_real)y[t];
    }
}

/* Adds a per-line adjoint [steps x N] (step 0: [N]) into the adjoint of a
 * 1- or N-channel input, times scale. */
static void add_per_line(const wf_sig *d, const double *v, size_t step, int n, int N,
                         double scale)
{
    int steps = step ? n : 1;
    for (int t = 0; t < steps; t++)
        for (int i = 0; i < N; i++)
            d->p[(size_t)(d->n == 1 ? 0 : t) * d->chans + (d->chans == 1 ? 0 : i)] +=
                (wf_real)(scale * v[(size_t)t * step + i]);
}

static double *zeroed(void **cur, size_t n, int wanted)
{
    if (!wanted)
        return NULL;
    double *p = wf_carve(cur, sizeof(double) * n);
    memset(p, 0, sizeof(double) * n);
    return p;
}

static void fdn_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    void *cur = k->work;
    net q;
    double *Draw;
    fdn_net(k, &cur, &q, &Draw, 0);
    int N = q.N;
    double sr = k->env->sr, dmax = wf_opt_num(k->node, F_MAX, 0.1) * sr;
    const wf_sig *din = k->din;
    size_t nD = (q.ds ? (size_t)n : 1) * N, ng = (q.gs ? (size_t)n : 1) * N;
    size_t na = (q.as ? (size_t)n : 1) * N;
    net_adj d = {
        zeroed(&cur, (size_t)N * N, din[F_MATRIX].p != NULL),
        zeroed(&cur, (size_t)N, din[F_IN].p != NULL),
        zeroed(&cur, (size_t)N, din[F_OUT].p != NULL),
        zeroed(&cur, nD, din[F_DELAYS].p != NULL),
        zeroed(&cur, ng, din[F_GAINS].p != NULL),
        zeroed(&cur, na, din[F_DAMPING].p != NULL),
        wf_carve(&cur, sizeof(double) * (size_t)n),
    };
    double *x = wf_carve(&cur, sizeof(double) * (size_t)n);
    double *gy = wf_carve(&cur, sizeof(double) * (size_t)n);
    double *W = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *scratch = wf_carve(&cur, sizeof(double) * 3 * (size_t)N);
    size_t B = (size_t)k->block * N;
    for (int c = 0; c < C; c++) {
        const double *tw = (const double *)k->saved + (size_t)c * 2 * B;
        column(&k->in[F_X], &k->out, c, x);
        column(k->dout, &k->out, c, gy);
        net_backward(&q, n, x, tw, tw + B, gy, W, scratch, &d);
        if (din[F_X].p)
            for (int t = 0; t < n; t++)
                din[F_X].p[(size_t)t * C + c] += (wf_real)d.dx[t];
    }
    if (d.dA)
        for (int i = 0; i < N * N; i++)
            din[F_MATRIX].p[i] += (wf_real)d.dA[i];
    if (d.db)
        add_per_line(&din[F_IN], d.db, 0, 1, N, 1);
    if (d.dc)
        add_per_line(&din[F_OUT], d.dc, 0, 1, N, 1);
    if (d.dD) {
        /* no gradient where the delay was clamped */
        for (size_t i = 0; i < nD; i++)
            if (!(Draw[i] * sr > 1 && Draw[i] * sr < dmax))
                d.dD[i] = 0;
        add_per_line(&din[F_DELAYS], d.dD, q.ds, n, N, sr);
    }
    if (d.dg)
        add_per_line(&din[F_GAINS], d.dg, q.gs, n, N, 1);
    if (d.da)
        add_per_line(&din[F_DAMPING], d.da, q.as, n, N, 1);
}

/* A stable matrix for the gradient tests: entries within +-0.9 / N, so that
 * every row and column sums to less than 0.9 in magnitude and ||A||_2 <
 * 0.9. */
static double fdn_test_value(int input, int chan, int chans, double u)
{
    (void)chan;
    if (input == F_MATRIX)
        return (2 * u - 1) * 0.9 / sqrt((double)chans);
    const wf_arg_spec *a = &fdn_args[input];
    return a->test_lo + (a->test_hi - a->test_lo) * u;
}

const wf_node_kind wf_kind_fdn = {
    .name = "fdn",
    .family = "reverbs",
    .doc = "Feedback delay network of N lines (N = channels of `delays`): each sample, line i "
           "reads s_i = w_i(n - delays_i sr) (linear interpolation, clamped to [1 sample, "
           "`max`]), damps it with a one-pole lowpass u_i = (1 - a_i) s_i + a_i u_i[n-1] "
           "(`damping`, DC gain 1) and scales it, v_i = g_i u_i (`gains`); the lines' inputs "
           "are w = matrix v + in_gains x (x into every line) and the output is y = sum_i "
           "out_gains_i v_i. One line is a comb filter of the delayed input. Each channel of x "
           "runs its own network; state in double, streams equal whole passes. Gradients "
           "into x, the matrix, the delays, gains, damping and the input and output gains "
           "(the transposed network run backwards in time). Stability contract: the network "
           "is stable when ||matrix||_2 max_i |g_i| |1 - a_i| / (1 - |a_i|) < 1; ||matrix||_2 "
           "is bounded from above (to a factor 1 + 1e-6, by repeated squaring of matrix^T "
           "matrix) once per matrix, the product is checked every sample, and a sample where "
           "it reaches 1 is reported as unstable (unstable-run when rendering, unstable-node "
           "in a fit), never clamped; so is a delay that is not a number. An orthogonal matrix "
           "(Householder, Hadamard) with gains below 1 passes; gains g_i = 10^(-3 delays_i / "
           "T60) give a decay time of T60 seconds.",
    .args = fdn_args,
    .nargs = 8,
    .keep = WF_KEEP_ALL,
    .infer = fdn_infer,
    .size = fdn_size,
    .forward = fdn_forward,
    .backward = fdn_backward,
    .test_value = fdn_test_value,
};

/* ---------------------------------------------------------------- room */

/* room: the network above with a fixed design, after Jot and DiffVox:
 * N = 8 lines, a Householder matrix A = I - (2/N) 1 1^T (orthogonal, so the
 * lossless loop neither gains nor loses energy and the gains alone set the
 * decay), whole-sample delays D_i, distinct primes (mutually prime, so the
 * lines' echoes do not pile up) near 11.3 .. 35.3 ms, b_i = 1/sqrt(N),
 * c_i = +-1/sqrt(N) alternating. From decay T (T60 at DC, seconds),
 *   g_i = 10^(-3 D_i / (sr T))      each pass loses D_i/(sr T) of 60 dB,
 * and damping d in [0, 1), the fraction by which the decay time at the
 * Nyquist frequency is shorter, T60(sr/2) = (1 - d) T (Jot's absorption
 * filters): the one-pole's gain at the Nyquist, (1 - a)/(1 + a), is
 *   r_i = g_i^(d / (1 - d)),   a_i = (1 - r_i) / (1 + r_i).
 * The input is delayed by predelay seconds first (linear interpolation,
 * clamped to [0, max], as delay()), and
 *   y = (1 - mix) x + mix wet.
 * Stable by construction: ||A||_2 = 1 and every loop filter's gain is at
 * most g_i < 1 when T > 0 and 0 <= d < 1; a sample outside (or a predelay
 * not a number) is reported.
 * Backward: the network's adjoint gives dL/dg_i, dL/da_i and the adjoint of
 * the delayed input, then with e_i = -3 ln(10) D_i / (sr T):
 *   dg_i/dT = -g_i e_i / T,  dr_i/dT = -q r_i e_i / T,  dr_i/dd = r_i e_i / (1 - d)^2,
 *   da_i/dr_i = -2 / (1 + r_i)^2   (q = d / (1 - d)),
 * dL/dmix = dy (wet - x), and the predelay as delay()'s. */

enum { R_X, R_DECAY, R_PREDELAY, R_DAMPING, R_MIX, R_MAX };

#define ROOM_N 8

static const double room_ms[ROOM_N] = {11.3, 13.7, 16.1, 19.3, 22.9, 26.3, 30.7, 35.3};

static const wf_arg_spec room_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "dry signal", 0, NULL, -1, 1},
    {"decay", WF_ARG_SIGNAL, "1", "T60 in seconds: the time the tail takes to fall by 60 dB", 0,
     NULL, 0.2, 1.5},
    {"predelay", WF_ARG_SIGNAL, "0.01", "seconds before the tail starts", 0, NULL, 0.001, 0.005},
    {"damping", WF_ARG_SIGNAL, "0.3",
     "in [0, 1): 1 - T60(Nyquist) / T60(DC), how much faster the highs decay", 0, NULL, 0, 0.7},
    {"mix", WF_ARG_SIGNAL, "0.3", "wet share: y = (1 - mix) x + mix wet", 0, NULL, 0.1, 0.9},
    {"max", WF_ARG_NUMBER, "0.5", "longest predelay in seconds (predelay is clamped to it)",
     WF_ARG_POSITIVE, NULL, 0, 0},
};

static int room_infer(wf_infer *ic)
{
    if (wf_infer_filter(ic, R_X))
        return -1;
    double maxd = wf_opt_num(ic->node, R_MAX, 0.5);
    if (maxd > MAX_SECONDS) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a predelay is at most 60 s", "max",
                                        ic->name, maxd);
        return -1;
    }
    return 0;
}

static int is_prime(int64_t v)
{
    if (v < 2)
        return 0;
    for (int64_t d = 2; d * d <= v; d++)
        if (v % d == 0)
            return 0;
    return 1;
}

/* The lines' delays in samples: the prime at or after round(ms sr), each
 * past the one before. */
static void room_delays(double sr, double *D)
{
    int64_t last = 0;
    for (int i = 0; i < ROOM_N; i++) {
        int64_t v = llround(room_ms[i] * 1e-3 * sr);
        if (v <= last)
            v = last + 1;
        while (!is_prime(v))
            v++;
        D[i] = (double)(last = v);
    }
}

static int64_t room_ring(const wf_env *e)
{
    double D[ROOM_N];
    room_delays(e->sr, D);
    return (int64_t)D[ROOM_N - 1] + 2;
}

static int64_t predelay_ring(const wf_gnode *g, const wf_env *e)
{
    return (int64_t)ceil(wf_opt_num(g, R_MAX, 0.5) * e->sr) + 2;
}

/* state per channel: predelay ring [Hp], network ring [H x N], u [N] */
static void room_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                      wf_sizes *s)
{
    (void)in;
    size_t N = ROOM_N, C = (size_t)g->shape.chans, B = (size_t)block;
    size_t H = (size_t)room_ring(e), Hp = (size_t)predelay_ring(g, e);
    s->state = sizeof(double) * C * (Hp + H * N + N);
    s->saved = 2 * sizeof(double) * C * B * N;
    size_t coefs = doubles(N * N) + 3 * doubles(N) + 2 * doubles(B * N);
    s->work = coefs + 4 * doubles(B) + doubles(N);
    s->bwork = coefs + 9 * doubles(B) + doubles(B * N) + doubles(3 * N) + 2 * doubles(B * N);
}

/* The fixed part of the network (A, b, c, D) in work. */
static void room_fixed(const wf_env *e, void **cur, net *q)
{
    int N = ROOM_N;
    double *A = wf_carve(cur, sizeof(double) * N * N), *b = wf_carve(cur, sizeof(double) * N);
    double *c = wf_carve(cur, sizeof(double) * N), *D = wf_carve(cur, sizeof(double) * N);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            A[i * N + j] = (i == j) - 2.0 / N;
        b[i] = 1 / sqrt((double)N);
        c[i] = (i % 2 ? -1 : 1) / sqrt((double)N);
    }
    room_delays(e->sr, D);
    /* Householder matrices are symmetric: At = A */
    *q = (net){.N = N, .H = room_ring(e), .A = A, .At = A, .b = b, .c = c, .D = D, .ds = 0};
}

/* g_i and a_i of channel c of the block (steps of N per sample when decay
 * or damping changes over time); reports the first sample outside T > 0,
 * 0 <= d < 1. */
static void room_gains(wf_kctx *k, int c, net *q, double *g, double *a, int *faulted)
{
    const wf_sig *T = &k->in[R_DECAY], *dm = &k->in[R_DAMPING];
    wf_stride sT = wf_stride_of(T, &k->out), sd = wf_stride_of(dm, &k->out);
    int steps = T->n == 1 && dm->n == 1 ? 1 : k->out.n, N = ROOM_N;
    double sr = k->env->sr;
    for (int t = 0; t < steps; t++) {
        double Tv = T->p[WF_AT(sT, t, c)], d = dm->p[WF_AT(sd, t, c)], q_ = d / (1 - d);
        if (!(Tv > 0 && d >= 0 && d < 1) && !*faulted) {
            char what[64];
            snprintf(what, sizeof what, "decay %.3g s, damping %.3g", Tv, d);
            wf_kernel_fault(k, t, what);
            *faulted = 1;
        }
        for (int i = 0; i < N; i++) {
            double e = -3 * LN10 * q->D[i] / (sr * Tv), r = exp(q_ * e);
            g[(size_t)t * N + i] = exp(e);
            a[(size_t)t * N + i] = (1 - r) / (1 + r);
        }
    }
    q->g = g;
    q->a = a;
    q->gs = q->as = steps > 1 ? (size_t)N : 0;
}

/* Where sample t reads the predelayed input: x[i] (1 - f) + x[i+1] f. */
static inline void predelay_tap(double P, double sr, double pmax, int64_t m, int64_t *i,
                                double *f, int *inside)
{
    double v = P * sr;
    *inside = v > 0 && v < pmax;
    v = !(v > 0) ? 0 : v < pmax ? v : pmax;
    tap_of(v, m, i, f);
}

static void room_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, N = ROOM_N, faulted = 0;
    double sr = k->env->sr, pmax = wf_opt_num(k->node, R_MAX, 0.5) * sr;
    void *cur = k->work;
    net q;
    room_fixed(k->env, &cur, &q);
    double *g = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *a = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *x = wf_carve(&cur, sizeof(double) * (size_t)n), *xd = wf_carve(&cur, sizeof(double) * n);
    double *P = wf_carve(&cur, sizeof(double) * (size_t)n), *y = wf_carve(&cur, sizeof(double) * n);
    double *v = wf_carve(&cur, sizeof(double) * N);
    int64_t Hp = predelay_ring(k->node, k->env);
    size_t per = (size_t)Hp + (size_t)q.H * N + N, B = (size_t)k->block * N;
    for (int c = 0; c < C; c++) {
        double *pr = (double *)k->state + (size_t)c * per, *ring = pr + Hp;
        double *u = ring + (size_t)q.H * N;
        room_gains(k, c, &q, g, a, &faulted);
        column(&k->in[R_X], &k->out, c, x);
        column(&k->in[R_PREDELAY], &k->out, c, P);
        for (int t = 0; t < n; t++) {
            int64_t m = k->t0 + t, i;
            double f;
            int inside;
            if (!isfinite(P[t]) && !faulted) {
                wf_kernel_fault(k, t, "predelay is not finite");
                faulted = 1;
            }
            pr[m % Hp] = x[t];
            predelay_tap(P[t], sr, pmax, m, &i, &f, &inside);
            int64_t s0 = (i % Hp + Hp) % Hp, s1 = s0 + 1 == Hp ? 0 : s0 + 1;
            xd[t] = pr[s0] + (f > 0 ? (pr[s1] - pr[s0]) * f : 0);
        }
        double *tw = k->saved ? (double *)k->saved + (size_t)c * 2 * B : NULL;
        net_forward(&q, ring, u, k->t0, n, xd, y, v, tw, tw ? tw + B : NULL);
        wf_stride sm = wf_stride_of(&k->in[R_MIX], &k->out);
        for (int t = 0; t < n; t++) {
            double mix = k->in[R_MIX].p[WF_AT(sm, t, c)];
            k->out.p[(size_t)t * C + c] = (wf_real)((1 - mix) * x[t] + mix * y[t]);
        }
    }
}

static void room_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, N = ROOM_N, faulted = 1; /* the forward reported */
    double sr = k->env->sr, pmax = wf_opt_num(k->node, R_MAX, 0.5) * sr;
    void *cur = k->work;
    net q;
    room_fixed(k->env, &cur, &q);
    double *g = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *a = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *dg = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *da = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *x = wf_carve(&cur, sizeof(double) * n), *xd = wf_carve(&cur, sizeof(double) * n);
    double *P = wf_carve(&cur, sizeof(double) * n), *gy = wf_carve(&cur, sizeof(double) * n);
    double *gw = wf_carve(&cur, sizeof(double) * n), *dxd = wf_carve(&cur, sizeof(double) * n);
    double *dx = wf_carve(&cur, sizeof(double) * n), *mix = wf_carve(&cur, sizeof(double) * n);
    double *W = wf_carve(&cur, sizeof(double) * (size_t)n * N);
    double *scratch = wf_carve(&cur, sizeof(double) * 3 * N);
    const wf_sig *din = k->din;
    size_t B = (size_t)k->block * N;
    wf_stride sT = wf_stride_of(&k->in[R_DECAY], &k->out);
    wf_stride sd = wf_stride_of(&k->in[R_DAMPING], &k->out);
    for (int c = 0; c < C; c++) {
        const double *tw = (const double *)k->saved + (size_t)c * 2 * B, *tu = tw + B;
        room_gains(k, c, &q, g, a, &faulted);
        column(&k->in[R_X], &k->out, c, x);
        column(&k->in[R_PREDELAY], &k->out, c, P);
        column(&k->in[R_MIX], &k->out, c, mix);
        column(k->dout, &k->out, c, gy);
        for (int t = 0; t < n; t++) {
            int64_t i;
            double f;
            int inside;
            predelay_tap(P[t], sr, pmax, t, &i, &f, &inside);
            xd[t] = (i >= 0 ? x[i] : 0) + (f > 0 ? ((i + 1 >= 0 ? x[i + 1] : 0) - (i >= 0 ? x[i] : 0)) * f : 0);
            gw[t] = mix[t] * gy[t];
            dx[t] = (1 - mix[t]) * gy[t];
        }
        /* dL/dmix = dy (wet - x), the wet from the tape */
        if (din[R_MIX].p)
            for (int t = 0; t < n; t++) {
                const double *gt = g + (size_t)t * q.gs, *u = tu + (size_t)t * N;
                double wet = 0;
                for (int j = 0; j < N; j++)
                    wet += q.c[j] * gt[j] * u[j];
                mix[t] = gy[t] * (wet - x[t]);
            }
        size_t steps = q.gs ? (size_t)n : 1;
        memset(dg, 0, sizeof(double) * steps * N);
        memset(da, 0, sizeof(double) * steps * N);
        net_adj d = {NULL, NULL, NULL, NULL, dg, da, dxd};
        net_backward(&q, n, xd, tw, tu, gw, W, scratch, &d);
        /* the predelay's adjoint: delay()'s, x scattered with the tap's weights */
        wf_stride sp = wf_stride_of(&k->in[R_PREDELAY], &k->out);
        for (int t = 0; t < n; t++) {
            int64_t i;
            double f;
            int inside;
            predelay_tap(P[t], sr, pmax, t, &i, &f, &inside);
            double xa = i >= 0 ? x[i] : 0, xb = i + 1 >= 0 && i + 1 <= t ? x[i + 1] : 0;
            if (i >= 0)
                dx[i] += dxd[t] * (1 - f);
            if (f > 0 && i + 1 >= 0)
                dx[i + 1] += dxd[t] * f;
            if (din[R_PREDELAY].p && inside)
                din[R_PREDELAY].p[WF_AT(sp, t, c)] += (wf_real)(-sr * dxd[t] * (xb - xa));
        }
        if (din[R_X].p) {
            wf_stride sx = wf_stride_of(&din[R_X], &k->out); /* x may be broadcast */
            for (int t = 0; t < n; t++)
                din[R_X].p[WF_AT(sx, t, c)] += (wf_real)dx[t];
        }
        if (din[R_MIX].p) {
            wf_stride sm = wf_stride_of(&k->in[R_MIX], &k->out);
            for (int t = 0; t < n; t++)
                din[R_MIX].p[WF_AT(sm, t, c)] += (wf_real)mix[t];
        }
        /* decay and damping through g_i and a_i */
        for (size_t t = 0; t < steps; t++) {
            double Tv = k->in[R_DECAY].p[WF_AT(sT, t, c)], dv = k->in[R_DAMPING].p[WF_AT(sd, t, c)];
            double qv = dv / (1 - dv), dT = 0, dd = 0;
            for (int j = 0; j < N; j++) {
                double e = -3 * LN10 * q.D[j] / (sr * Tv), gj = g[t * N + j];
                double r = exp(qv * e), dadr = -2 / ((1 + r) * (1 + r));
                double ga = dg[t * N + j], aa = da[t * N + j] * dadr;
                dT += ga * (-gj * e / Tv) + aa * (-qv * r * e / Tv);
                dd += aa * r * e / ((1 - dv) * (1 - dv));
            }
            if (din[R_DECAY].p)
                din[R_DECAY].p[WF_AT(sT, t, c)] += (wf_real)dT;
            if (din[R_DAMPING].p)
                din[R_DAMPING].p[WF_AT(sd, t, c)] += (wf_real)dd;
        }
    }
}

const wf_node_kind wf_kind_room = {
    .name = "room",
    .family = "reverbs",
    .doc = "Parametric reverb of a few fittable params: a feedback delay network of 8 lines "
           "(Jot's design, as DiffVox fits it; the `fdn` kernel) with a Householder matrix, "
           "prime delays of 11 to 35 ms and per-line gains g_i = 10^(-3 d_i / decay), so the "
           "tail falls by 60 dB in `decay` seconds; a one-pole lowpass in each line makes the "
           "highs decay faster, T60 at the Nyquist = (1 - damping) decay; the input is delayed "
           "by `predelay` first (clamped to [0, `max`]), and y = (1 - mix) x + mix wet. A "
           "delay network rather than a noise IR because its decay, damping and predelay act "
           "through a recursion whose gradients are exact and smooth in every param, with a "
           "cost per sample that does not grow with the decay time. Exact gradients into x, "
           "decay, predelay, damping and mix (any rate). Stability contract: stable by "
           "construction for decay > 0 and damping in [0, 1) (the matrix is orthogonal and "
           "every line's gain below 1); a sample outside is reported as unstable "
           "(unstable-run when rendering, unstable-node in a fit), never clamped; so is a "
           "predelay that is not a number.",
    .args = room_args,
    .nargs = 6,
    .keep = WF_KEEP_ALL,
    .infer = room_infer,
    .size = room_size,
    .forward = room_forward,
    .backward = room_backward,
};
