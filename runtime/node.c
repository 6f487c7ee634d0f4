/* Shape rules and kernel helpers shared by the node kinds: broadcasting,
 * control-to-audio interpolation and the reductions of their adjoints. */
#include "runtime/node.h"

#include <string.h>

const char *wf_rate_name(wf_rate r)
{
    return r == WF_RATE_CONST ? "constant" : r == WF_RATE_CONTROL ? "control" : "audio";
}

int64_t wf_env_frames(const wf_env *e, wf_rate r)
{
    return r == WF_RATE_CONST ? 1 : r == WF_RATE_CONTROL ? e->nframes : e->nsamples;
}

int wf_kind_signal_args(const wf_node_kind *k)
{
    int n = 0;
    for (int i = 0; i < k->nargs; i++)
        n += k->args[i].kind == WF_ARG_SIGNAL;
    return n;
}

const wf_arg_spec *wf_kind_input_spec(const wf_node_kind *k, int i)
{
    const wf_arg_spec *last = NULL;
    int seen = 0;
    for (int a = 0; a < k->nargs; a++) {
        if (k->args[a].kind != WF_ARG_SIGNAL)
            continue;
        if (seen == i)
            return &k->args[a];
        last = &k->args[a];
        seen++;
    }
    return (k->flags & WF_KIND_VARIADIC) ? last : NULL;
}

static int broadcast_chans(int a, int b)
{
    if (a == b || b == 1)
        return a;
    if (a == 1)
        return b;
    return -1;
}

static int broadcast_all(wf_infer *ic, int *chans)
{
    int c = 1;
    for (int i = 0; i < ic->nin; i++) {
        int nc = broadcast_chans(c, ic->in[i].chans);
        if (nc < 0) {
            int first = 0;
            for (int j = 0; j < i; j++)
                if (ic->in[j].chans == c)
                    first = j;
            wf_report_shape_mismatch(ic->d, ic->arg_loc ? ic->arg_loc[i] : ic->loc,
                                     "channels broadcast when they are equal or one side has 1",
                                     ic->name, i + 1, ic->in[i].chans, first + 1, c);
            return -1;
        }
        c = nc;
    }
    *chans = c;
    return 0;
}

int wf_infer_elementwise(wf_infer *ic)
{
    int c;
    if (broadcast_all(ic, &c))
        return -1;
    wf_rate r = WF_RATE_CONST;
    for (int i = 0; i < ic->nin; i++)
        if (ic->in[i].rate > r)
            r = ic->in[i].rate;
    for (int i = 0; i < ic->nin; i++)
        if (ic->in[i].rate != WF_RATE_CONST)
            ic->want[i] = r;
    ic->out = wf_shape_of(r, c);
    return 0;
}

int wf_infer_generator(wf_infer *ic)
{
    int c;
    if (broadcast_all(ic, &c))
        return -1;
    for (int i = 0; i < ic->nin; i++)
        if (ic->in[i].rate == WF_RATE_CONTROL)
            ic->want[i] = WF_RATE_AUDIO;
    ic->out = wf_shape_of(WF_RATE_AUDIO, c);
    return 0;
}

int wf_infer_filter(wf_infer *ic, int x)
{
    if (wf_infer_generator(ic))
        return -1;
    if (ic->in[x].rate == WF_RATE_CONST) {
        wf_report_constant_signal(ic->d, ic->arg_loc[x], NULL, ic->name,
                                  wf_kind_input_spec(ic->node->kind, x)->name);
        return -1;
    }
    return 0;
}

void wf_reduce_into(const wf_sig *d, const wf_real *g, int n, int c)
{
    wf_real *dp = d->p;
    int dc = d->chans;
    if (d->rate == WF_RATE_CONST && n > 1) {
        /* Sum over time per channel, in double: long sums lose float precision. */
        double acc[64];
        for (int c0 = 0; c0 < c; c0 += 64) {
            int cw = c - c0 < 64 ? c - c0 : 64;
            memset(acc, 0, sizeof acc);
            for (int t = 0; t < n; t++) {
                const wf_real *row = g + (size_t)t * c + c0;
                for (int j = 0; j < cw; j++)
                    acc[j] += row[j];
            }
            for (int j = 0; j < cw; j++)
                dp[dc == 1 ? 0 : c0 + j] += (wf_real)acc[j];
        }
        return;
    }
    if (dc == c) {
        size_t total = (size_t)n * (size_t)c;
        for (size_t i = 0; i < total; i++)
            dp[i] += g[i];
        return;
    }
    /* dc == 1 < c: sum channels per frame. */
    for (int t = 0; t < n; t++) {
        wf_real s = 0;
        for (int j = 0; j < c; j++)
            s += g[(size_t)t * c + j];
        dp[(d->rate == WF_RATE_CONST) ? 0 : t] += s;
    }
}

void wf_interp_control(const wf_sig *ctl, int hop, wf_real *dst, int n)
{
    int c = ctl->chans;
    int last = ctl->n - 1;
    wf_real inv = (wf_real)1 / (wf_real)hop;
    for (int s0 = 0, i = 0; s0 < n; s0 += hop, i++) {
        const wf_real *a = ctl->p + (size_t)(i < last ? i : last) * c;
        const wf_real *b = ctl->p + (size_t)(i + 1 < last ? i + 1 : last) * c;
        int len = n - s0 < hop ? n - s0 : hop;
        for (int j = 0; j < len; j++) {
            wf_real t = (wf_real)j * inv;
            wf_real *o = dst + (size_t)(s0 + j) * c;
            for (int k = 0; k < c; k++)
                o[k] = a[k] * (1 - t) + b[k] * t;
        }
    }
}

void wf_interp_control_adjoint(const wf_sig *dctl, int hop, const wf_real *g, int n)
{
    int c = dctl->chans;
    int last = dctl->n - 1;
    wf_real inv = (wf_real)1 / (wf_real)hop;
    for (int s0 = 0, i = 0; s0 < n; s0 += hop, i++) {
        wf_real *a = dctl->p + (size_t)(i < last ? i : last) * c;
        wf_real *b = dctl->p + (size_t)(i + 1 < last ? i + 1 : last) * c;
        int len = n - s0 < hop ? n - s0 : hop;
        for (int k = 0; k < c; k++) {
            double sa = 0, sb = 0;
            for (int j = 0; j < len; j++) {
                double t = (double)j * inv;
                double v = g[(size_t)(s0 + j) * c + k];
                sa += v * (1 - t);
                sb += v * t;
            }
            a[k] += (wf_real)sa;
            b[k] += (wf_real)sb;
        }
    }
}
