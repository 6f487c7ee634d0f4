/* Lane reductions: the only nodes that mix lanes (the voices of a
 * polyphonic patch). The executor hands a reduction every lane of its input
 * as a separate input, in lane order:
 *   lanes_sum(x)  = sum_v x_v
 *   lanes_mean(x) = (1/V) sum_v x_v
 * and the adjoint of each lane is the output's (over V for the mean). The
 * out of a patch is summed over its lanes this way (a chord). */
#include <string.h>

#include "runtime/node.h"

static const wf_arg_spec lanes_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "signal with one lane per voice", 0, NULL, -1, 1},
};

static int lanes_infer(wf_infer *ic)
{
    ic->out = wf_shape_of(ic->in[0].rate, ic->in[0].chans);
    return 0;
}

static void sum_forward(const wf_kctx *k, double scale)
{
    size_t N = (size_t)k->out.n * (size_t)k->out.chans;
    wf_real *y = k->out.p;
    memcpy(y, k->in[0].p, N * sizeof(wf_real));
    for (int v = 1; v < k->nin; v++) {
        const wf_real *x = k->in[v].p;
        for (size_t i = 0; i < N; i++)
            y[i] += x[i];
    }
    if (scale != 1)
        for (size_t i = 0; i < N; i++)
            y[i] *= (wf_real)scale;
}

static void sum_backward(const wf_kctx *k, double scale)
{
    size_t N = (size_t)k->out.n * (size_t)k->out.chans;
    const wf_real *g = k->dout->p;
    for (int v = 0; v < k->nin; v++) {
        wf_real *d = k->din[v].p;
        if (!d)
            continue;
        for (size_t i = 0; i < N; i++)
            d[i] += g[i] * (wf_real)scale;
    }
}

static void lanes_sum_forward(wf_kctx *k)
{
    sum_forward(k, 1);
}

static void lanes_sum_backward(wf_kctx *k)
{
    sum_backward(k, 1);
}

static void lanes_mean_forward(wf_kctx *k)
{
    sum_forward(k, 1.0 / k->nin);
}

static void lanes_mean_backward(wf_kctx *k)
{
    sum_backward(k, 1.0 / k->nin);
}

const wf_node_kind wf_kind_lanes_sum = {
    .name = "lanes_sum",
    .family = "lanes",
    .doc = "The sum of x over its lanes (voices): one lane. `out` sums its lanes the same way.",
    .args = lanes_args,
    .nargs = 1,
    .flags = WF_KIND_LANES,
    .infer = lanes_infer,
    .forward = lanes_sum_forward,
    .backward = lanes_sum_backward,
};

const wf_node_kind wf_kind_lanes_mean = {
    .name = "lanes_mean",
    .family = "lanes",
    .doc = "The mean of x over its lanes (voices): one lane.",
    .args = lanes_args,
    .nargs = 1,
    .flags = WF_KIND_LANES,
    .infer = lanes_infer,
    .forward = lanes_mean_forward,
    .backward = lanes_mean_backward,
};
