/* nn: neural layers over frames. A signal is a matrix [frames x channels];
 * these layers map the channels of each frame, so a layer over F frames is
 * one matrix product with the frames as rows (stdlib/blas.h). Weights are
 * ordinary params: a matrix param `param w[IN, OUT]` is IN x OUT channels,
 * row by row, which is the row-major matrix the products read.
 *
 * dense(x, w, b):  y = x W + b                   (PyTorch's Linear with W = weight^T)
 *   dx += dy W^T,  dW += x^T dy,  db += sum_t dy  (three gemms and a sum)
 * layernorm(x, g, b), per frame over the C channels (Ba et al. 2016, PyTorch's
 * LayerNorm with its biased variance):
 *   mu = mean x,  var = mean (x - mu)^2,  r = 1 / sqrt(var + eps),  xh = (x - mu) r
 *   y = g xh + b
 *   dxh = g dy,  dx = r (dxh - mean dxh - xh mean(dxh xh)),  dg += dy xh,  db += dy
 * relu(x) = max(x, 0); leaky_relu(x) = x > 0 ? x : slope x (the derivative
 * at 0 is taken as 0, resp. slope, as PyTorch does);
 * gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (Hendrycks & Gimpel 2016,
 * PyTorch's exact form):  gelu' = Phi(x) + x phi(x);
 * softmax(x), per frame over the channels: y = e^(x - max x) / sum e^(x - max x),
 *   dx = y (dy - sum_c dy y).
 * conv1d(x, w, b), over frames (Waibel's time-delay layer; PyTorch's Conv1d
 * with its weight [OUT, IN, K] stored as w[k IN + i, o] = weight[o, i, k]):
 *   y[t] = b + sum_{k<K} x[t + k - P] W_k,  W_k the rows k IN .. k IN + IN - 1 of w,
 *   P = K - 1 (causal: y[t] sees x up to t) or floor((K - 1) / 2) (centred,
 *   PyTorch's padding='same'), frames before the start being zero. The
 *   frames x[t + k - P] of each output frame are gathered side by side
 *   (im2col) into [n x K IN], so the layer is one gemm; backward:
 *   dW += col^T dy, dcol = dy W^T scattered back into dx, db += sum dy.
 *   Streaming: the last P input frames are state, and a centred kernel
 *   declares K - 1 - P frames of lookahead. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stdlib/blas.h"
#include "stdlib/map.h"

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

/* Reports weights of `chans` channels that are not `unit` x a whole number. */
static int weights_fit(wf_infer *ic, int arg, int unit, const char *what)
{
    int chans = ic->in[arg].chans;
    if (chans % unit == 0 && chans >= unit)
        return chans / unit;
    char need[160];
    snprintf(need, sizeof need, "not a multiple of %d (%s)", unit, what);
    wf_report_bad_weights(ic->d, ic->arg_loc[arg], NULL, ic->name, ic->node->kind->args[arg].name,
                          chans, need);
    return -1;
}

/* Reports a per-channel argument of neither 1 nor `want` channels. */
static int one_or(wf_infer *ic, int arg, int want, int other)
{
    int c = ic->in[arg].chans;
    if (c == 1 || c == want)
        return 0;
    wf_report_shape_mismatch(ic->d, ic->arg_loc[arg], "one value, or one per output channel",
                             ic->name, arg + 1, c, other + 1, want);
    return -1;
}

/* Fills n frames of C channels with a bias of one value or C. */
static void fill_bias(wf_real *y, int n, int C, const wf_sig *b)
{
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            y[(size_t)t * C + c] = b->p[b->chans == 1 ? 0 : c];
}

static void blas_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                      wf_sizes *s)
{
    (void)g;
    (void)in;
    (void)e;
    (void)block;
    (void)s;
    wf_blas_single_thread();
}

/* ---------------------------------------------------------------- dense */

enum { D_X, D_W, D_B };

static const wf_arg_spec dense_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input, IN channels per frame", 0, NULL, -1, 1},
    {"w", WF_ARG_SIGNAL, NULL,
     "weights: a matrix param [IN, OUT] (IN x OUT channels, row by row); constant",
     WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"b", WF_ARG_SIGNAL, "0", "bias: one value, or OUT; constant", WF_ARG_CONST_ONLY, NULL, -1, 1},
};

static int dense_infer(wf_infer *ic)
{
    int in = ic->in[D_X].chans;
    int out = weights_fit(ic, D_W, in, "w is the matrix [IN, OUT], IN the channels of x");
    if (out < 0 || one_or(ic, D_B, out, D_W) < 0)
        return -1;
    ic->out = wf_shape_of(ic->in[D_X].rate, out);
    return 0;
}

static void dense_fwd(wf_kctx *k)
{
    int n = k->out.n, no = k->out.chans, ni = k->in[D_X].chans;
    fill_bias(k->out.p, n, no, &k->in[D_B]);
    wf_gemm_rows(0, 0, n, no, ni, 1, k->in[D_X].p, ni, k->in[D_W].p, no, 1, k->out.p, no);
}

static void dense_bwd(wf_kctx *k)
{
    int n = k->out.n, no = k->out.chans, ni = k->in[D_X].chans;
    const wf_real *dy = k->dout->p;
    if (k->din[D_X].p)
        wf_gemm_rows(0, 1, n, ni, no, 1, dy, no, k->in[D_W].p, no, 1, k->din[D_X].p, ni);
    if (k->din[D_W].p)
        wf_gemm_rows(1, 0, ni, no, n, 1, k->in[D_X].p, ni, dy, no, 1, k->din[D_W].p, no);
    if (k->din[D_B].p)
        wf_reduce_into(&k->din[D_B], dy, n, no);
}

const wf_node_kind wf_kind_dense = {
    .name = "dense",
    .family = "nn",
    .doc = "Fully connected layer per frame: y = x w + b, x of IN channels, w a matrix param "
           "[IN, OUT] (`param w[IN, OUT] = xavier()`), b one value or OUT. The frames are the "
           "rows of one matrix product (OpenBLAS). Linear, so always stable.",
    .args = dense_args,
    .nargs = 3,
    .keep = 3,
    .infer = dense_infer,
    .size = blas_size,
    .forward = dense_fwd,
    .backward = dense_bwd,
};

/* ------------------------------------------------------------ layernorm */

enum { L_X, L_G, L_B, L_EPS };

static const wf_arg_spec layernorm_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input; normalised over its channels, frame by frame", 0, NULL, -1, 1},
    {"g", WF_ARG_SIGNAL, "1", "gain: one value, or one per channel; constant", WF_ARG_CONST_ONLY,
     NULL, 0.5, 1.5},
    {"b", WF_ARG_SIGNAL, "0", "bias: one value, or one per channel; constant", WF_ARG_CONST_ONLY,
     NULL, -1, 1},
    {"eps", WF_ARG_NUMBER, "1e-5", "added to the variance (PyTorch's default)", WF_ARG_POSITIVE,
     NULL, 0, 0},
};

static int layernorm_infer(wf_infer *ic)
{
    int C = ic->in[L_X].chans;
    if (one_or(ic, L_G, C, L_X) < 0 || one_or(ic, L_B, C, L_X) < 0)
        return -1;
    ic->out = wf_shape_of(ic->in[L_X].rate, C);
    return 0;
}

static void layernorm_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                           wf_sizes *s)
{
    (void)in;
    (void)e;
    size_t nc = (size_t)block * (size_t)g->shape.chans;
    s->saved = (nc + (size_t)block) * sizeof(wf_real) + 128;
    s->bwork = nc * sizeof(wf_real);
}

static void layernorm_fwd(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    double eps = wf_opt_num(k->node, L_EPS, 1e-5);
    const wf_sig *g = &k->in[L_G], *b = &k->in[L_B];
    wf_real *xh = NULL, *rs = NULL;
    if (k->saved) {
        void *cur = k->saved;
        xh = wf_carve(&cur, (size_t)k->block * C * sizeof(wf_real));
        rs = wf_carve(&cur, (size_t)k->block * sizeof(wf_real));
    }
    for (int t = 0; t < n; t++) {
        const wf_real *x = k->in[L_X].p + (size_t)t * C;
        wf_real *y = k->out.p + (size_t)t * C;
        double mu = 0, var = 0;
        for (int c = 0; c < C; c++)
            mu += x[c];
        mu /= C;
        for (int c = 0; c < C; c++)
            var += (x[c] - mu) * (x[c] - mu);
        wf_real r = (wf_real)(1 / sqrt(var / C + eps));
        for (int c = 0; c < C; c++) {
            wf_real h = (wf_real)(x[c] - mu) * r;
            if (xh)
                xh[(size_t)t * C + c] = h;
            y[c] = h * g->p[g->chans == 1 ? 0 : c] + b->p[b->chans == 1 ? 0 : c];
        }
        if (rs)
            rs[t] = r;
    }
}

static void layernorm_bwd(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    const wf_sig *g = &k->in[L_G];
    void *cur = k->saved;
    const wf_real *xh = wf_carve(&cur, (size_t)k->block * C * sizeof(wf_real));
    const wf_real *rs = wf_carve(&cur, (size_t)k->block * sizeof(wf_real));
    const wf_real *dy = k->dout->p;
    wf_real *dx = k->din[L_X].p;
    if (dx)
        for (int t = 0; t < n; t++) {
            const wf_real *gy = dy + (size_t)t * C, *h = xh + (size_t)t * C;
            double m1 = 0, m2 = 0;
            for (int c = 0; c < C; c++) {
                double d = (double)gy[c] * g->p[g->chans == 1 ? 0 : c];
                m1 += d;
                m2 += d * h[c];
            }
            m1 /= C;
            m2 /= C;
            for (int c = 0; c < C; c++) {
                double d = (double)gy[c] * g->p[g->chans == 1 ? 0 : c];
                dx[(size_t)t * C + c] += (wf_real)(rs[t] * (d - m1 - h[c] * m2));
            }
        }
    if (k->din[L_G].p) {
        wf_real *w = k->work;
        for (size_t i = 0; i < (size_t)n * C; i++)
            w[i] = dy[i] * xh[i];
        wf_reduce_into(&k->din[L_G], w, n, C);
    }
    if (k->din[L_B].p)
        wf_reduce_into(&k->din[L_B], dy, n, C);
}

const wf_node_kind wf_kind_layernorm = {
    .name = "layernorm",
    .family = "nn",
    .doc = "Layer normalisation over the channels of each frame (PyTorch's LayerNorm, biased "
           "variance): g (x - mean) / sqrt(var + eps) + b. Stable: eps keeps a constant frame "
           "finite (its output is b).",
    .args = layernorm_args,
    .nargs = 4,
    .keep = 1u << L_G,
    .infer = layernorm_infer,
    .size = layernorm_size,
    .forward = layernorm_fwd,
    .backward = layernorm_bwd,
};

/* ---------------------------------------------------------- activations */

static const wf_arg_spec act_args[] = {{"x", WF_ARG_SIGNAL, NULL, "input", 0, NULL, -2, 2}};
static const wf_arg_spec leaky_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input", 0, NULL, -2, 2},
    {"slope", WF_ARG_NUMBER, "0.01",
     "slope below zero (PyTorch's default; DDSP's tf.nn.leaky_relu uses 0.2)", 0, NULL, 0, 0},
};

static void relu_fwd(wf_kctx *k) { WF_MAP1(k, y = x0 > 0 ? x0 : 0); }
static void relu_bwd(wf_kctx *k) { WF_GRAD1(k, d0 = x0 > 0 ? g : 0); }
static void leaky_relu_fwd(wf_kctx *k)
{
    const wf_real s = (wf_real)wf_opt_num(k->node, 1, 0.01);
    WF_MAP1(k, y = x0 > 0 ? x0 : s * x0);
}
static void leaky_relu_bwd(wf_kctx *k)
{
    const wf_real s = (wf_real)wf_opt_num(k->node, 1, 0.01);
    WF_GRAD1(k, d0 = x0 > 0 ? g : s * g);
}
static void gelu_fwd(wf_kctx *k) { WF_MAP1(k, y = x0 * (wf_real)0.5 * (1 + erf(x0 * (wf_real)INV_SQRT2))); }
static void gelu_bwd(wf_kctx *k)
{
    WF_GRAD1(k, d0 = g * ((wf_real)0.5 * (1 + erf(x0 * (wf_real)INV_SQRT2)) +
                          x0 * (wf_real)INV_SQRT_2PI * exp(-(wf_real)0.5 * x0 * x0)));
}

static double relu_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] > 0 ? x[0] : 0; }
static double leaky_relu_fold(const double *x, const wf_opt *o, int c)
{
    (void)c;
    return x[0] > 0 ? x[0] : (o[1].n ? o[1].v[0] : 0.01) * x[0];
}
static double gelu_fold(const double *x, const wf_opt *o, int c)
{
    (void)o;
    (void)c;
    return 0.5 * x[0] * (1 + erf(x[0] * INV_SQRT2));
}

#define ACT(id, ARGS, NARGS, DOC)                                                              \
    const wf_node_kind wf_kind_##id = {                                                        \
        .name = #id,                                                                           \
        .family = "nn",                                                                        \
        .doc = DOC,                                                                            \
        .args = ARGS,                                                                          \
        .nargs = NARGS,                                                                        \
        .keep = 1,                                                                             \
        .infer = wf_infer_elementwise,                                                         \
        .size = wf_map_size,                                                                   \
        .forward = id##_fwd,                                                                   \
        .backward = id##_bwd,                                                                  \
        .fold = id##_fold,                                                                     \
    };

ACT(relu, act_args, 1, "Rectifier max(x, 0) (gradient 0 at 0).")
ACT(leaky_relu, leaky_args, 2,
    "Leaky rectifier: x above 0, slope x below (PyTorch's default slope 0.01; DDSP's decoder "
    "stacks use 0.2).")
ACT(gelu, act_args, 1, "Gaussian error linear unit x Phi(x), in its exact erf form (PyTorch's default).")

/* -------------------------------------------------------------- softmax */

static void softmax_fwd(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    for (int t = 0; t < n; t++) {
        const wf_real *x = k->in[0].p + (size_t)t * C;
        wf_real *y = k->out.p + (size_t)t * C;
        wf_real m = x[0];
        for (int c = 1; c < C; c++)
            m = x[c] > m ? x[c] : m;
        double s = 0;
        for (int c = 0; c < C; c++) {
            y[c] = exp(x[c] - m);
            s += y[c];
        }
        wf_real inv = (wf_real)(1 / s);
        for (int c = 0; c < C; c++)
            y[c] *= inv;
    }
}

static void softmax_bwd(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans;
    wf_real *dx = k->din[0].p;
    if (!dx)
        return;
    for (int t = 0; t < n; t++) {
        const wf_real *y = k->out.p + (size_t)t * C, *g = k->dout->p + (size_t)t * C;
        double s = 0;
        for (int c = 0; c < C; c++)
            s += (double)g[c] * y[c];
        for (int c = 0; c < C; c++)
            dx[(size_t)t * C + c] += y[c] * (g[c] - (wf_real)s);
    }
}

static int softmax_infer(wf_infer *ic)
{
    ic->out = wf_shape_of(ic->in[0].rate, ic->in[0].chans);
    return 0;
}

const wf_node_kind wf_kind_softmax = {
    .name = "softmax",
    .family = "nn",
    .doc = "Softmax over the channels of each frame: e^x / sum e^x, computed after subtracting "
           "the frame's largest value, so it never overflows. Each frame sums to 1.",
    .args = act_args,
    .nargs = 1,
    .keep = WF_KEEP_OUT,
    .infer = softmax_infer,
    .forward = softmax_fwd,
    .backward = softmax_bwd,
};

/* --------------------------------------------------------------- conv1d */

enum { C_X, C_W, C_B, C_PAD };

static const char *const pad_choices[] = {"causal", "centred", NULL};

static const wf_arg_spec conv1d_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input, IN channels per frame", 0, NULL, -1, 1},
    {"w", WF_ARG_SIGNAL, NULL,
     "weights: a matrix param [K IN, OUT], row k IN + i the tap k of input channel i; constant",
     WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"b", WF_ARG_SIGNAL, NULL, "bias of OUT channels (its channels set OUT); constant",
     WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"padding", WF_ARG_ENUM, "causal",
     "causal: frame t sees x up to t; centred: K/2 frames either side (PyTorch's 'same')", 0,
     pad_choices, 0, 0},
};

typedef struct {
    int K, P, ni, no;
} conv_dims;

static conv_dims conv_dims_of(const wf_gnode *g, const wf_shape *in)
{
    conv_dims d;
    d.ni = in[C_X].chans;
    d.no = in[C_B].chans;
    d.K = in[C_W].chans / (d.ni * d.no);
    d.P = wf_opt_num(g, C_PAD, 0) == 0 ? d.K - 1 : (d.K - 1) / 2;
    return d;
}

static int conv1d_infer(wf_infer *ic)
{
    if (ic->in[C_X].rate == WF_RATE_CONST) {
        wf_report_constant_signal(ic->d, ic->arg_loc[C_X], NULL, ic->name, "x");
        return -1;
    }
    if (weights_fit(ic, C_W, ic->in[C_X].chans * ic->in[C_B].chans,
                    "K x IN x OUT: w is [K IN, OUT], IN the channels of x, OUT those of b") < 0)
        return -1;
    ic->out = wf_shape_of(ic->in[C_X].rate, ic->in[C_B].chans);
    return 0;
}

static void conv1d_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                        wf_sizes *s)
{
    (void)e;
    conv_dims d = conv_dims_of(g, in);
    size_t col = (size_t)block * d.K * d.ni;
    s->state = (size_t)d.P * d.ni * sizeof(wf_real) + 64;
    s->work = (col + (size_t)d.P * d.ni) * sizeof(wf_real) + 128;
    s->bwork = col * sizeof(wf_real) + 64;
    wf_blas_single_thread();
}

static int conv1d_lookahead(const wf_gnode *g, const wf_shape *in, const wf_env *e, int input)
{
    (void)e;
    conv_dims d = conv_dims_of(g, in);
    return input == C_X ? d.K - 1 - d.P : 0;
}

static conv_dims conv_dims_k(const wf_kctx *k)
{
    wf_shape in[3] = {{0, k->in[C_X].chans, 0}, {0, k->in[C_W].chans, 0}, {0, k->in[C_B].chans, 0}};
    return conv_dims_of(k->node, in);
}

static void conv1d_reset(wf_kctx *k)
{
    conv_dims d = conv_dims_k(k);
    memset(k->state, 0, (size_t)d.P * d.ni * sizeof(wf_real));
}

/* Gathers the K frames around each output frame into col [n x K IN]; hist
 * holds the P input frames before the call (NULL: zeros). */
static void im2col(const wf_sig *x, const wf_real *hist, conv_dims d, int n, wf_real *col)
{
    size_t row = (size_t)d.K * d.ni;
    for (int t = 0; t < n; t++)
        for (int j = 0; j < d.K; j++) {
            int src = t + j - d.P;
            wf_real *dst = col + (size_t)t * row + (size_t)j * d.ni;
            if (src >= 0 && src < x->n)
                memcpy(dst, x->p + (size_t)src * d.ni, (size_t)d.ni * sizeof(wf_real));
            else if (src < 0 && hist)
                memcpy(dst, hist + (size_t)(d.P + src) * d.ni, (size_t)d.ni * sizeof(wf_real));
            else
                memset(dst, 0, (size_t)d.ni * sizeof(wf_real));
        }
}

static void conv1d_fwd(wf_kctx *k)
{
    conv_dims d = conv_dims_k(k);
    int n = k->out.n;
    wf_real *hist = k->state;
    void *cur = k->work;
    wf_real *col = wf_carve(&cur, (size_t)k->block * d.K * d.ni * sizeof(wf_real));
    wf_real *next = wf_carve(&cur, (size_t)d.P * d.ni * sizeof(wf_real));
    im2col(&k->in[C_X], hist, d, n, col);
    fill_bias(k->out.p, n, d.no, &k->in[C_B]);
    wf_gemm_rows(0, 0, n, d.no, d.K * d.ni, 1, col, d.K * d.ni, k->in[C_W].p, d.no, 1, k->out.p, d.no);
    /* the P input frames before the next call's first */
    for (int j = 0; j < d.P; j++) {
        int src = n - d.P + j;
        const wf_real *from = src >= 0 ? k->in[C_X].p + (size_t)src * d.ni
                                       : hist + (size_t)(d.P + src) * d.ni;
        memcpy(next + (size_t)j * d.ni, from, (size_t)d.ni * sizeof(wf_real));
    }
    memcpy(hist, next, (size_t)d.P * d.ni * sizeof(wf_real));
}

static void conv1d_bwd(wf_kctx *k)
{
    conv_dims d = conv_dims_k(k);
    int n = k->out.n, row = d.K * d.ni;
    const wf_real *dy = k->dout->p;
    wf_real *col = (wf_real *)(((uintptr_t)k->work + 63) & ~(uintptr_t)63);
    if (k->din[C_W].p) {
        im2col(&k->in[C_X], NULL, d, n, col);
        wf_gemm_rows(1, 0, row, d.no, n, 1, col, row, dy, d.no, 1, k->din[C_W].p, d.no);
    }
    if (k->din[C_B].p)
        wf_reduce_into(&k->din[C_B], dy, n, d.no);
    wf_real *dx = k->din[C_X].p;
    if (!dx)
        return;
    wf_gemm_rows(0, 1, n, row, d.no, 1, dy, d.no, k->in[C_W].p, d.no, 0, col, row);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < d.K; j++) {
            int src = t + j - d.P;
            if (src < 0 || src >= k->din[C_X].n)
                continue;
            const wf_real *g = col + (size_t)t * row + (size_t)j * d.ni;
            for (int i = 0; i < d.ni; i++)
                dx[(size_t)src * d.ni + i] += g[i];
        }
}

const wf_node_kind wf_kind_conv1d = {
    .name = "conv1d",
    .family = "nn",
    .doc = "1-D convolution over frames (or samples), IN -> OUT channels: y[t] = b + sum_k "
           "x[t + k - P] W_k, w a matrix param [K IN, OUT] (PyTorch's Conv1d weight[o, i, k] at "
           "row k IN + i, column o), K = channels of w / (IN OUT), OUT = channels of b. "
           "Padding causal (P = K - 1) or centred (P = (K - 1) / 2, reading ahead). Linear, so "
           "always stable; streams equal whole runs.",
    .args = conv1d_args,
    .nargs = 4,
    .keep = 3,
    .infer = conv1d_infer,
    .size = conv1d_size,
    .reset = conv1d_reset,
    .forward = conv1d_fwd,
    .backward = conv1d_bwd,
    .lookahead = conv1d_lookahead,
};
