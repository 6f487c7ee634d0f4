/* noise: white noise, uniform in [-1, 1), from the counter-based splitmix64
 * stream of its seed (bench/WORKLOADS.md 0.1): sample t of channel c is value
 * t * channels + c of the stream, so a seed always gives the same signal,
 * whatever the block size. Without a seed, a call's seed comes from its place
 * in the patch (its node id, mixed with the run's --seed), so two calls do
 * not make the same noise and editing other lines of a patch leaves it be. */
#include "runtime/node.h"
#include "runtime/rng.h"

enum { A_SEED, A_CHANNELS };

static const wf_arg_spec noise_args[] = {
    {"seed", WF_ARG_NUMBER, NULL, "stream seed (default: from the call's place in the patch)",
     WF_ARG_INT | WF_ARG_OPTIONAL, NULL, 0, 0},
    {"channels", WF_ARG_NUMBER, "1", "number of independent channels", WF_ARG_INT | WF_ARG_POSITIVE,
     NULL, 0, 0},
};

static int noise_infer(wf_infer *ic)
{
    double ch = wf_opt_num(ic->node, A_CHANNELS, 1);
    if (ch > 4096) {
        wf_report_too_many_channels(ic->d, ic->loc, NULL, ic->name, 4096);
        return -1;
    }
    ic->out = wf_shape_of(WF_RATE_AUDIO, (int)ch);
    return 0;
}

static void noise_forward(wf_kctx *k)
{
    const wf_opt *s = &k->node->opt[A_SEED];
    uint64_t seed = s->n ? (uint64_t)(int64_t)s->v[0] : wf_hash_u64(k->node->id, k->env->seed);
    int C = k->out.chans;
    size_t N = (size_t)k->out.n * (size_t)C;
    uint64_t base = (uint64_t)k->t0 * (uint64_t)C;
    wf_real *y = k->out.p;
    for (size_t i = 0; i < N; i++)
        y[i] = (wf_real)wf_uniform(seed, base + i);
}

const wf_node_kind wf_kind_noise = {
    .name = "noise",
    .family = "noise",
    .doc = "White noise, uniform in [-1, 1), reproducible from its seed.",
    .args = noise_args,
    .nargs = 2,
    .infer = noise_infer,
    .forward = noise_forward,
};
