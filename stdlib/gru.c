/* gru: a gated recurrent unit over frames (Cho et al. 2014), with PyTorch's
 * gate equations (torch.nn.GRU) and its gate order r, z, n. For frame t,
 * x_t of IN channels, h_{t-1} of H (h_{-1} = 0), a = x_t Wi + bi and
 * c = h_{t-1} Wh + bh, each 3H wide in the blocks r | z | n:
 *
 *   r = sigmoid(a_r + c_r)      z = sigmoid(a_z + c_z)
 *   n = tanh(a_n + r c_n)       h_t = (1 - z) n + z h_{t-1}     y_t = h_t
 *
 * Weights are matrix params laid out like dense()'s, inputs times weights:
 * wi [IN, 3H] and wh [H, 3H] are PyTorch's weight_ih_l0 and weight_hh_l0
 * transposed; bi and bh [3H] are bias_ih_l0 and bias_hh_l0.
 *
 * The input products of every frame of a call are one gemm; the recurrent
 * product is a gemv per frame. Streaming: h is the state, so a stream of
 * blocks equals the whole pass.
 *
 * Backward, backpropagation through time: from the last frame to the first,
 * with dh = dy_t + (what frame t + 1 sent back),
 *   dn = dh (1 - z),  dz = dh (h_{t-1} - n),  dan = dn (1 - n^2)
 *   dar = dan c_n r (1 - r),  daz = dz z (1 - z),  dcn = dan r
 *   gi_t = [dar, daz, dan] (adjoint of a),  gc_t = [dar, daz, dcn] (of c)
 *   frame t - 1 gets dh z + Wh gc_t                                (a gemv)
 * and after the sweep, as gemms over all frames:
 *   dx += GI Wi^T,  dWi += X^T GI,  dbi += sum GI,
 *   dWh += H_prev^T GC,  dbh += sum GC  (H_prev: the outputs shifted by one).
 * The tape holds r, z, n and c_n per frame; h comes from the output. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stdlib/blas.h"
#include "stdlib/map.h"

enum { G_X, G_WI, G_WH, G_BI, G_BH };

static const wf_arg_spec gru_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input, IN channels per frame", 0, NULL, -1, 1},
    {"wi", WF_ARG_SIGNAL, NULL,
     "input weights: a matrix param [IN, 3H], columns in the gate order r, z, n; constant",
     WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"wh", WF_ARG_SIGNAL, NULL, "recurrent weights: a matrix param [H, 3H]; constant",
     WF_ARG_CONST_ONLY, NULL, -1, 1},
    {"bi", WF_ARG_SIGNAL, "0", "input bias: one value, or 3H; constant", WF_ARG_CONST_ONLY, NULL,
     -1, 1},
    {"bh", WF_ARG_SIGNAL, "0", "recurrent bias: one value, or 3H; constant", WF_ARG_CONST_ONLY,
     NULL, -1, 1},
};

static int gru_infer(wf_infer *ic)
{
    int ni = ic->in[G_X].chans, wi = ic->in[G_WI].chans;
    if (ic->in[G_X].rate == WF_RATE_CONST) {
        wf_report_constant_signal(ic->d, ic->arg_loc[G_X], NULL, ic->name, "x");
        return -1;
    }
    char need[160];
    if (wi % (3 * ni) != 0) {
        snprintf(need, sizeof need, "not a multiple of 3 x %d (wi is [IN, 3H], IN the channels of x)", ni);
        wf_report_bad_weights(ic->d, ic->arg_loc[G_WI], NULL, ic->name, "wi", wi, need);
        return -1;
    }
    int H = wi / (3 * ni);
    if (ic->in[G_WH].chans != 3 * H * H) {
        snprintf(need, sizeof need, "not 3 x %d x %d (wh is [H, 3H], H = %d from wi)", H, H, H);
        wf_report_bad_weights(ic->d, ic->arg_loc[G_WH], NULL, ic->name, "wh", ic->in[G_WH].chans, need);
        return -1;
    }
    for (int b = G_BI; b <= G_BH; b++)
        if (ic->in[b].chans != 1 && ic->in[b].chans != 3 * H) {
            wf_report_shape_mismatch(ic->d, ic->arg_loc[b], "one value, or 3H", ic->name, b + 1,
                                     ic->in[b].chans, G_WI + 1, wi);
            return -1;
        }
    ic->out = wf_shape_of(ic->in[G_X].rate, H);
    return 0;
}

static void gru_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)in;
    (void)e;
    size_t H = (size_t)g->shape.chans, n = (size_t)block;
    s->state = H * sizeof(wf_real) + 64;
    s->saved = 4 * H * n * sizeof(wf_real) + 64;
    s->work = (3 * H * n + 3 * H) * sizeof(wf_real) + 128;
    s->bwork = (6 * H * n + 2 * H) * sizeof(wf_real) + 256;
    wf_blas_single_thread();
}

static void gru_reset(wf_kctx *k)
{
    memset(k->state, 0, (size_t)k->out.chans * sizeof(wf_real));
}

static wf_real sigm(wf_real v)
{
    return (wf_real)1 / ((wf_real)1 + exp(-v));
}

/* dst[3H] = a one-value or 3H-value bias. */
static void bias3(wf_real *dst, const wf_sig *b, int H3)
{
    for (int j = 0; j < H3; j++)
        dst[j] = b->p[b->chans == 1 ? 0 : j];
}

static void gru_fwd(wf_kctx *k)
{
    int n = k->out.n, H = k->out.chans, H3 = 3 * H, ni = k->in[G_X].chans;
    const wf_real *wh = k->in[G_WH].p;
    wf_real *h = k->state, *tape = k->saved;
    void *cur = k->work;
    wf_real *A = wf_carve(&cur, (size_t)k->block * H3 * sizeof(wf_real));
    wf_real *c = wf_carve(&cur, (size_t)H3 * sizeof(wf_real));
    for (int t = 0; t < n; t++)
        bias3(A + (size_t)t * H3, &k->in[G_BI], H3);
    wf_gemm_rows(0, 0, n, H3, ni, 1, k->in[G_X].p, ni, k->in[G_WI].p, H3, 1, A, H3);
    for (int t = 0; t < n; t++) {
        const wf_real *a = A + (size_t)t * H3;
        bias3(c, &k->in[G_BH], H3);
        WF_GEMV(CblasRowMajor, CblasTrans, H, H3, 1, wh, H3, h, 1, 1, c, 1);
        wf_real *y = k->out.p + (size_t)t * H;
        wf_real *tp = tape ? tape + (size_t)t * 4 * H : NULL;
        for (int j = 0; j < H; j++) {
            wf_real r = sigm(a[j] + c[j]);
            wf_real z = sigm(a[H + j] + c[H + j]);
            wf_real nn = tanh(a[2 * H + j] + r * c[2 * H + j]);
            h[j] = (1 - z) * nn + z * h[j];
            y[j] = h[j];
            if (tp) {
                tp[j] = r;
                tp[H + j] = z;
                tp[2 * H + j] = nn;
                tp[3 * H + j] = c[2 * H + j];
            }
        }
    }
}

static void gru_bwd(wf_kctx *k)
{
    int n = k->out.n, H = k->out.chans, H3 = 3 * H, ni = k->in[G_X].chans;
    const wf_real *wh = k->in[G_WH].p, *tape = k->saved, *y = k->out.p, *dy = k->dout->p;
    void *cur = k->work;
    wf_real *GI = wf_carve(&cur, (size_t)n * H3 * sizeof(wf_real));
    wf_real *GC = wf_carve(&cur, (size_t)n * H3 * sizeof(wf_real));
    wf_real *carry = wf_carve(&cur, (size_t)H * sizeof(wf_real));
    memset(carry, 0, (size_t)H * sizeof(wf_real));
    for (int t = n - 1; t >= 0; t--) {
        const wf_real *tp = tape + (size_t)t * 4 * H;
        const wf_real *hp = t > 0 ? y + (size_t)(t - 1) * H : NULL;
        wf_real *gi = GI + (size_t)t * H3, *gc = GC + (size_t)t * H3;
        for (int j = 0; j < H; j++) {
            wf_real r = tp[j], z = tp[H + j], nn = tp[2 * H + j], cn = tp[3 * H + j];
            wf_real dh = dy[(size_t)t * H + j] + carry[j];
            wf_real hpj = hp ? hp[j] : 0;
            wf_real dan = dh * (1 - z) * (1 - nn * nn);
            wf_real dar = dan * cn * r * (1 - r);
            wf_real daz = dh * (hpj - nn) * z * (1 - z);
            gi[j] = gc[j] = dar;
            gi[H + j] = gc[H + j] = daz;
            gi[2 * H + j] = dan;
            gc[2 * H + j] = dan * r;
            carry[j] = dh * z;
        }
        if (t > 0)
            WF_GEMV(CblasRowMajor, CblasNoTrans, H, H3, 1, wh, H3, gc, 1, 1, carry, 1);
    }
    if (k->din[G_X].p)
        wf_gemm_rows(0, 1, n, ni, H3, 1, GI, H3, k->in[G_WI].p, H3, 1, k->din[G_X].p, ni);
    if (k->din[G_WI].p)
        wf_gemm_rows(1, 0, ni, H3, n, 1, k->in[G_X].p, ni, GI, H3, 1, k->din[G_WI].p, H3);
    if (k->din[G_WH].p && n > 1)
        wf_gemm_rows(1, 0, H, H3, n - 1, 1, y, H, GC + H3, H3, 1, k->din[G_WH].p, H3);
    if (k->din[G_BI].p)
        wf_reduce_into(&k->din[G_BI], GI, n, H3);
    if (k->din[G_BH].p)
        wf_reduce_into(&k->din[G_BH], GC, n, H3);
}

const wf_node_kind wf_kind_gru = {
    .name = "gru",
    .family = "gru",
    .doc = "Gated recurrent unit over frames with PyTorch's equations and gate order r, z, n; "
           "output h, H channels, h = 0 before the first frame. wi [IN, 3H] and wh [H, 3H] are "
           "matrix params (PyTorch's weight_ih_l0 and weight_hh_l0 transposed), bi and bh one "
           "value or 3H. Stable for any weights: h stays in [-1, 1] (a convex mix of tanh "
           "values). Backward by backpropagation through time; streams carry h.",
    .args = gru_args,
    .nargs = 5,
    .keep = 1u << G_X | 1u << G_WI | 1u << G_WH | WF_KEEP_OUT,
    .infer = gru_infer,
    .size = gru_size,
    .reset = gru_reset,
    .forward = gru_fwd,
    .backward = gru_bwd,
};
