/* Options of the loss and the target, and the GRAD program that fit and check
 * run against the target (objective.h). */
#include "lang/cmd/objective.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/audio.h"
#include "runtime/util.h"

static int parse_sizes(const char *s, wf_loss_opts *lo)
{
    lo->nsizes = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 4 || v % 4 || v > (1 << 20) || lo->nsizes == WF_LOSS_MAX_SIZES)
            return -1;
        lo->sizes[lo->nsizes++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return lo->nsizes ? 0 : -1;
}

int wf_objective_opt(const char *cmd, int c, common *co)
{
    double v;
    switch (c) {
    case OPT_TARGET: co->so.target = optarg; return 1;
    case OPT_SET: wf_opts_add(&co->so.sets, optarg); return 1;
    case OPT_INPUT: wf_opts_add(&co->so.inputs, optarg); return 1;
    case OPT_SECONDS:
        if (wf_parse_number(optarg, &co->so.seconds) || co->so.seconds <= 0)
            return -wf_cli_usage_error(cmd, "--seconds takes a positive number, got '%s'", optarg);
        return 1;
    case OPT_RATE:
        if (wf_parse_number(optarg, &co->so.rate) || co->so.rate < 1 || co->so.rate > 1e6)
            return -wf_cli_usage_error(cmd, "--rate takes a rate in Hz, got '%s'", optarg);
        return 1;
    case OPT_SEED:
        if (wf_parse_number(optarg, &v) || v < 0 || v != floor(v))
            return -wf_cli_usage_error(cmd, "--seed takes a whole number, got '%s'", optarg);
        co->so.seed = (uint64_t)v;
        return 1;
    case OPT_LOSS:
        if (wf_loss_parse(optarg, &co->loss.kind))
            return -wf_cli_usage_error(cmd, "--loss is mss, l1 or l2, not '%s'", optarg);
        co->loss_given = 1;
        return 1;
    case OPT_WEIGHTS: {
        char *end;
        double lin = strtod(optarg, &end), lg = *end == ',' ? strtod(end + 1, &end) : -1;
        if (*end || !(lin >= 0) || !(lg >= 0) || lin + lg <= 0)
            return -wf_cli_usage_error(cmd, "--loss-weights takes LIN,LOG (two non-negative numbers, not both 0), got '%s'", optarg);
        co->loss.lin_weight = lin;
        co->loss.log_weight = lg;
        co->loss.weights_given = 1;
        return 1;
    }
    case OPT_FFT:
        if (parse_sizes(optarg, &co->loss))
            return -wf_cli_usage_error(cmd, "--fft-sizes takes sizes like 2048,512,128 (multiples of 4), got '%s'", optarg);
        return 1;
    default:
        return 0;
    }
}

void wf_objective_free(common *co)
{
    free(co->so.sets.v);
    free(co->so.inputs.v);
}

/* Opens the target to learn its rate (used when the patch sets none) and its
 * length at that rate. */
static int target_info(const char *path, double *rate, int64_t *frames, wf_diags *d)
{
    wf_audio_reader *r = wf_audio_open(path, 0, 1, d);
    if (!r)
        return -1;
    *rate = wf_audio_file_rate(r);
    *frames = wf_audio_frames(r);
    wf_audio_close(r);
    return 0;
}

/* The target at the run's rate and length (zero-padded or cut). */
static wf_real *load_target(const char *path, const wf_env *env, wf_diags *d)
{
    wf_real *data;
    int64_t frames;
    int chans;
    if (wf_audio_load(path, env->sr, 1, &data, &frames, &chans, d))
        return NULL;
    if (frames == env->nsamples)
        return data;
    wf_real *t = wf_aalloc(sizeof(wf_real) * (size_t)env->nsamples);
    memcpy(t, data, sizeof(wf_real) * (size_t)(frames < env->nsamples ? frames : env->nsamples));
    if (frames < env->nsamples)
        wf_report_target_shorter(d, WF_NOWHERE, NULL, path, (double)frames / env->sr,
                                 (double)env->nsamples / env->sr);
    wf_afree(data);
    return t;
}

int wf_objective_prepare(common *co, wf_setup *s, wf_prog **prog, wf_real **target, wf_loss **loss,
                   wf_diags *d)
{
    double file_rate = 0;
    if (co->so.target) {
        int64_t frames;
        if (target_info(co->so.target, &file_rate, &frames, d))
            return -1;
        co->so.fallback_rate = file_rate;
        co->so.length_frames = frames;
    }
    if (wf_setup_prepare(s, &co->so, d))
        return -1;
    if (co->so.target && s->env.sr != file_rate) {
        /* the patch runs at another rate: the target's length at that rate */
        int64_t frames = llround((double)co->so.length_frames * s->env.sr / file_rate);
        if (frames != co->so.length_frames && co->so.seconds <= 0 && s->patch->g->length <= 0) {
            wf_setup_free(s);
            co->so.length_frames = frames;
            if (wf_setup_prepare(s, &co->so, d))
                return -1;
        }
    }
    const wf_graph *g = s->patch->g;
    if (g->nodes[g->out].shape.chans != 1 && co->so.target) {
        wf_report_fit_needs_mono(d, WF_NOWHERE, NULL, g->nodes[g->out].shape.chans);
        return -1;
    }
    wf_setup_load_inputs(s);
    *prog = wf_prog_new(g, &s->env, &s->params, WF_RUN_GRAD, 0, d);
    if (!*prog)
        return -1;
    for (int j = 0; j < g->ninputs; j++)
        if (s->data[j])
            wf_prog_set_input(*prog, j, 0, s->data[j]);
    if (co->so.target) {
        *target = load_target(co->so.target, &s->env, d);
        if (!*target)
            return -1;
        *loss = wf_loss_new(&co->loss, *target, s->env.nsamples, d);
        if (!*loss)
            return -1;
    }
    return 0;
}
