/* Channel plumbing: mix (sum of channels), concat (channels side by side),
 * pick (channels by index) and range (a constant vector 0, 1, 2, ..., which
 * the compiler always folds into a constant).
 * Their adjoints route the gradient back to the channels it came from. */
#include <math.h>
#include <string.h>

#include "stdlib/map.h"

/* ---- mix ---- */

static const wf_arg_spec mix_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "multichannel signal", 0, NULL, -1, 1},
};

static int mix_infer(wf_infer *ic)
{
    ic->out = wf_shape_of(ic->in[0].rate, 1);
    return 0;
}

static void mix_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->in[0].chans;
    const wf_real *x = k->in[0].p;
    /* eight running sums side by side, so that a sum over many channels
     * vectorises without reassociating floats */
    for (int t = 0; t < n; t++) {
        const wf_real *xt = x + (size_t)t * C;
        wf_real acc[8] = {0}, s = 0;
        int c = 0;
        for (; c + 8 <= C; c += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += xt[c + j];
        for (int j = 0; j < 8; j++)
            s += acc[j];
        for (; c < C; c++)
            s += xt[c];
        k->out.p[t] = s;
    }
}

static void mix_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->in[0].chans;
    wf_real *d = k->din[0].p;
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            d[(size_t)t * C + c] += k->dout->p[t];
}

const wf_node_kind wf_kind_mix = {
    .name = "mix",
    .family = "channels",
    .doc = "Sum of all channels (one channel out).",
    .args = mix_args,
    .nargs = 1,
    .infer = mix_infer,
    .forward = mix_forward,
    .backward = mix_backward,
};

/* ---- concat ---- */

static const wf_arg_spec concat_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signals whose channels are put side by side", 0, NULL, -1, 1},
};

static int concat_infer(wf_infer *ic)
{
    wf_rate r = WF_RATE_CONST;
    int C = 0;
    for (int i = 0; i < ic->nin; i++) {
        if (ic->in[i].rate > r)
            r = ic->in[i].rate;
        C += ic->in[i].chans;
    }
    for (int i = 0; i < ic->nin; i++)
        if (ic->in[i].rate != WF_RATE_CONST)
            ic->want[i] = r;
    ic->out = wf_shape_of(r, C);
    return 0;
}

static void concat_forward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, col = 0;
    for (int i = 0; i < k->nin; i++) {
        const wf_sig *x = &k->in[i];
        size_t ts = x->n == 1 && n != 1 ? 0 : (size_t)x->chans;
        for (int t = 0; t < n; t++)
            memcpy(k->out.p + (size_t)t * C + col, x->p + (size_t)t * ts,
                   sizeof(wf_real) * (size_t)x->chans);
        col += x->chans;
    }
}

static void concat_backward(wf_kctx *k)
{
    int n = k->out.n, C = k->out.chans, col = 0;
    for (int i = 0; i < k->nin; i++) {
        const wf_sig *d = &k->din[i];
        int xc = k->in[i].chans;
        if (d->p) {
            int bcast = d->n == 1 && n != 1;
            for (int t = 0; t < n; t++) {
                wf_real *dst = d->p + (bcast ? 0 : (size_t)t * xc);
                const wf_real *g = k->dout->p + (size_t)t * C + col;
                for (int c = 0; c < xc; c++)
                    dst[c] += g[c];
            }
        }
        col += xc;
    }
}

const wf_node_kind wf_kind_concat = {
    .name = "concat",
    .family = "channels",
    .doc = "Channels of all arguments side by side; `[a, b]` with signals means concat(a, b).",
    .args = concat_args,
    .nargs = 1,
    .flags = WF_KIND_VARIADIC,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
};

/* ---- pick ---- */

static const wf_arg_spec pick_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "multichannel signal", 0, NULL, -1, 1},
    {"index", WF_ARG_NUMBER, NULL, "channel number(s), from 0", WF_ARG_INT, NULL, 0, 0},
};

static int pick_infer(wf_infer *ic)
{
    const wf_opt *ix = &ic->node->opt[1];
    for (int j = 0; j < ix->n; j++) {
        if (ix->v[j] < 0 || ix->v[j] >= ic->in[0].chans) {
            wf_report_index_out_of_range(ic->d, ic->loc, "channels are numbered from 0", ic->name,
                                         ix->v[j], ic->in[0].chans,
                                         ic->in[0].chans == 1 ? "" : "s");
            return -1;
        }
    }
    ic->out = wf_shape_of(ic->in[0].rate, ix->n);
    return 0;
}

static void pick_forward(wf_kctx *k)
{
    const wf_opt *ix = &k->node->opt[1];
    int n = k->out.n, C = k->out.chans, XC = k->in[0].chans;
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            k->out.p[(size_t)t * C + c] = k->in[0].p[(size_t)t * XC + (int)ix->v[c]];
}

static void pick_backward(wf_kctx *k)
{
    const wf_opt *ix = &k->node->opt[1];
    int n = k->out.n, C = k->out.chans, XC = k->in[0].chans;
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            k->din[0].p[(size_t)t * XC + (int)ix->v[c]] += k->dout->p[(size_t)t * C + c];
}

const wf_node_kind wf_kind_pick = {
    .name = "pick",
    .family = "channels",
    .doc = "The channels of x at the given indices, in that order.",
    .args = pick_args,
    .nargs = 2,
    .infer = pick_infer,
    .forward = pick_forward,
    .backward = pick_backward,
};

/* ---- range ---- */

static const wf_arg_spec range_args[] = {
    {"n", WF_ARG_NUMBER, NULL, "how many values", WF_ARG_INT | WF_ARG_POSITIVE, NULL, 0, 0},
    {"start", WF_ARG_NUMBER, "0", "first value", 0, NULL, 0, 0},
    {"step", WF_ARG_NUMBER, "1", "difference between neighbours", 0, NULL, 0, 0},
};

static int range_infer(wf_infer *ic)
{
    double n = wf_opt_num(ic->node, 0, 1);
    if (n > 65536) {
        wf_report_too_many_values(ic->d, ic->loc, NULL, ic->name, 65536);
        return -1;
    }
    ic->out = wf_shape_of(WF_RATE_CONST, (int)n);
    return 0;
}

static double range_fold(const double *x, const wf_opt *o, int c)
{
    (void)x;
    return (o[1].n ? o[1].v[0] : 0) + (o[2].n ? o[2].v[0] : 1) * c;
}

const wf_node_kind wf_kind_range = {
    .name = "range",
    .family = "channels",
    .doc = "The constant vector [start, start + step, ...] of n channels.",
    .args = range_args,
    .nargs = 3,
    .infer = range_infer,
    .fold = range_fold, /* only numbers in: always a constant, never a kernel */
};
