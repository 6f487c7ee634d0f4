/* Conversions between rates. upsample interpolates a control signal to audio
 * rate linearly between frame values (bench/WORKLOADS.md 0.3; a constant is simply
 * held); the compiler inserts it wherever a control signal meets audio.
 * downsample averages each hop of audio into one frame,
 *   v[i] = mean(x[i hop .. (i+1) hop - 1]).
 * Both are linear, so their adjoints are the transposed maps. */
#include <string.h>

#include "stdlib/map.h"

static const wf_arg_spec up_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "control-rate (or constant) signal", WF_ARG_KEEP_CONTROL, NULL, -1,
     1},
};

static const wf_arg_spec down_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "audio-rate signal", 0, NULL, -1, 1},
};

static int up_infer(wf_infer *ic)
{
    if (ic->in[0].rate == WF_RATE_AUDIO) {
        wf_report_already_audio(ic->d, ic->arg_loc[0], NULL, ic->name, "x");
        return -1;
    }
    ic->out = wf_shape_of(WF_RATE_AUDIO, ic->in[0].chans);
    return 0;
}

static void up_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[0];
    if (x->rate == WF_RATE_CONST) {
        int C = x->chans;
        for (int t = 0; t < k->out.n; t++)
            memcpy(k->out.p + (size_t)t * C, x->p, sizeof(wf_real) * (size_t)C);
        return;
    }
    wf_interp_control(x, k->env->hop, k->out.p, k->out.n);
}

static void up_backward(wf_kctx *k)
{
    const wf_sig *d = &k->din[0];
    if (d->rate == WF_RATE_CONST)
        wf_reduce_into(d, k->dout->p, k->out.n, k->out.chans);
    else
        wf_interp_control_adjoint(d, k->env->hop, k->dout->p, k->out.n);
}

const wf_node_kind wf_kind_upsample = {
    .name = "upsample",
    .family = "rates",
    .doc = "Control rate to audio rate by linear interpolation between frames.",
    .args = up_args,
    .nargs = 1,
    .infer = up_infer,
    .forward = up_forward,
    .backward = up_backward,
};

static int down_infer(wf_infer *ic)
{
    if (ic->in[0].rate != WF_RATE_AUDIO) {
        wf_report_not_audio_rate(ic->d, ic->arg_loc[0], NULL, ic->name, "x",
                                 wf_rate_name(ic->in[0].rate));
        return -1;
    }
    ic->out = wf_shape_of(WF_RATE_CONTROL, ic->in[0].chans);
    return 0;
}

static void down_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[0];
    int C = x->chans, hop = k->env->hop;
    for (int i = 0; i < k->out.n; i++) {
        int s0 = i * hop, s1 = s0 + hop < x->n ? s0 + hop : x->n;
        for (int c = 0; c < C; c++) {
            double acc = 0;
            for (int s = s0; s < s1; s++)
                acc += x->p[(size_t)s * C + c];
            k->out.p[(size_t)i * C + c] = (wf_real)(s1 > s0 ? acc / (s1 - s0) : 0);
        }
    }
}

static void down_backward(wf_kctx *k)
{
    const wf_sig *d = &k->din[0];
    int C = d->chans, hop = k->env->hop;
    for (int i = 0; i < k->out.n; i++) {
        int s0 = i * hop, s1 = s0 + hop < d->n ? s0 + hop : d->n;
        for (int c = 0; c < C; c++) {
            wf_real g = k->dout->p[(size_t)i * C + c] / (wf_real)(s1 > s0 ? s1 - s0 : 1);
            for (int s = s0; s < s1; s++)
                d->p[(size_t)s * C + c] += g;
        }
    }
}

const wf_node_kind wf_kind_downsample = {
    .name = "downsample",
    .family = "rates",
    .doc = "Audio rate to control rate: the mean of each hop of samples.",
    .args = down_args,
    .nargs = 1,
    .infer = down_infer,
    .forward = down_forward,
    .backward = down_backward,
};
