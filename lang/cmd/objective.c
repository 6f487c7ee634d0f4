/* Options of the loss and the targets, the recordings as a batch, and the
 * GRAD program that fit and check run against them (objective.h). */
#include "lang/cmd/objective.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lang/cmd/analyses.h"
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

int wf_common_opt(const char *cmd, int c, common *co)
{
    double v;
    switch (c) {
    case OPT_TARGET: wf_opts_add(&co->targets, optarg); return 1;
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
            return -wf_cli_usage_error(cmd, "--loss is mss, mel, l1 or l2, not '%s'", optarg);
        co->loss_given = 1;
        return 1;
    case OPT_WEIGHTS: {
        char *end;
        double lin = strtod(optarg, &end), lg = *end == ',' ? strtod(end + 1, &end) : -1;
        if (*end || !(lin >= 0) || !(lg >= 0))
            return -wf_cli_usage_error(cmd, "--loss-weights takes LIN,LOG (two non-negative numbers), got '%s'", optarg);
        co->loss.lin_weight = lin;
        co->loss.log_weight = lg;
        co->loss.weights_given = 1;
        return 1;
    }
    case OPT_NO_CACHE: co->no_cache = 1; return 1;
    case OPT_MEL_BANDS:
        if (wf_parse_number(optarg, &v) || v < 1 || v != floor(v))
            return -wf_cli_usage_error(cmd, "--mel-bands takes a whole number of bands, got '%s'", optarg);
        co->loss.mel_bands = v > 1e6 ? 1000000 : (int)v;
        return 1;
    case OPT_LOUDNESS_WEIGHT:
        if (wf_parse_number(optarg, &v) || !(v >= 0) || !isfinite(v))
            return -wf_cli_usage_error(cmd, "--loudness-weight takes a non-negative number, got '%s'", optarg);
        co->loss.loudness_weight = v;
        return 1;
    case OPT_FFT:
        if (parse_sizes(optarg, &co->loss))
            return -wf_cli_usage_error(cmd, "--fft-sizes takes sizes like 2048,512,128 (multiples of 4), got '%s'", optarg);
        return 1;
    default:
        return 0;
    }
}

int wf_common_done(const char *cmd, const common *co)
{
    const wf_loss_opts *lo = &co->loss;
    if (lo->kind == WF_LOSS_MSS && lo->weights_given && lo->lin_weight + lo->log_weight <= 0 &&
        !(lo->loudness_weight > 0))
        return wf_cli_usage_error(cmd, "--loss-weights 0,0 leaves no loss (add --loudness-weight W)%s", "");
    return 0;
}

void wf_common_free(common *co)
{
    free(co->so.sets.v);
    free(co->so.inputs.v);
    free(co->targets.v);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --target FILE and --target DIR (every audio file in it, by name). */
static int find_recordings(const common *co, wf_objective *ob, wf_diags *d)
{
    for (int i = 0; i < co->targets.n; i++) {
        const char *t = co->targets.v[i];
        struct stat st;
        if (stat(t, &st) != 0 || !S_ISDIR(st.st_mode)) {
            ob->names = wf_xrealloc(ob->names, sizeof(char *) * (size_t)(ob->count + 1));
            ob->names[ob->count++] = wf_xstrdup(t);
            continue;
        }
        DIR *dir = opendir(t);
        if (!dir) {
            wf_report_cannot_read_folder(d, WF_NOWHERE, NULL, t, strerror(errno));
            return -1;
        }
        int first = ob->count;
        for (struct dirent *e; (e = readdir(dir));) {
            if (e->d_name[0] == '.' || !wf_audio_is_name(e->d_name))
                continue;
            wf_str p = {0};
            wf_str_printf(&p, "%s/%s", t, e->d_name);
            ob->names = wf_xrealloc(ob->names, sizeof(char *) * (size_t)(ob->count + 1));
            ob->names[ob->count++] = p.s;
        }
        closedir(dir);
        if (ob->count == first) {
            wf_report_no_recordings(d, WF_NOWHERE, "it holds no .wav, .flac, .ogg, ... files", t);
            return -1;
        }
        qsort(ob->names + first, (size_t)(ob->count - first), sizeof(char *), cmp_names);
    }
    return 0;
}

/* The rate of the first recording: the patch's when it sets none. */
static int first_rate(const char *path, double *rate, wf_diags *d)
{
    wf_audio_reader *r = wf_audio_open(path, 0, 1, d);
    if (!r)
        return -1;
    *rate = wf_audio_file_rate(r);
    wf_audio_close(r);
    return 0;
}

static int load_recordings(wf_objective *ob, double sr, int64_t *longest, wf_diags *d)
{
    ob->audio = wf_xcalloc((size_t)ob->count + 1, sizeof *ob->audio);
    ob->frames = wf_xcalloc((size_t)ob->count + 1, sizeof *ob->frames);
    *longest = 0;
    for (int i = 0; i < ob->count; i++) {
        int chans;
        if (wf_audio_load(ob->names[i], sr, 1, &ob->audio[i], &ob->frames[i], &chans, d))
            return -1;
        if (ob->frames[i] > *longest)
            *longest = ob->frames[i];
    }
    return 0;
}

/* Points the program's inputs fed by a batch at items from, from + 1, ...
 * of batch b (past its last item, the last again). */
static void feed(wf_objective *ob, wf_batch *b, int from)
{
    const wf_graph *g = wf_prog_graph(ob->prog);
    int n = wf_batch_items(b);
    for (int j = 0; j < g->ninputs; j++) {
        int k = ob->aligned[j];
        if (k == -2)
            continue;
        for (int i = 0; i < wf_prog_input_lanes(ob->prog, j); i++) {
            int it = from + i < n ? from + i : n - 1;
            wf_prog_set_input(ob->prog, j, i,
                              k < 0 ? wf_batch_target(b, it) : wf_batch_aligned(b, k, it));
        }
    }
}

/* The batch of recordings, and the program fed by it: each item a lane of
 * the inputs from the target. Analyses of the target that nothing learnt
 * feeds are computed once per recording (analyses.h) and fed as inputs of
 * their own, cut with the items like the aligned signals. */
/* The analyses of the fitted (WF_ANALYSES_FIT) or held-out recordings, if
 * the patch has any; whole recordings run padded to the longest and are
 * analysed so. */
static int analyse(wf_objective *ob, int set, const wf_setup *s, const common *co, wf_diags *d)
{
    if (!ob->analyses)
        return 0;
    int held = set == WF_ANALYSES_HELD_OUT;
    wf_recordings rec = {held ? ob->vcount : ob->count,
                         (const char *const *)(held ? ob->vnames : ob->names),
                         (const wf_real *const *)(held ? ob->vaudio : ob->audio),
                         held ? ob->vframes : ob->frames};
    return wf_analyses_compute(ob->analyses, set, s, &rec, co->excerpt > 0 ? 0 : s->env.nsamples,
                               !co->no_cache, co->quiet, d);
}

static int plan_objective(common *co, wf_setup *s, wf_objective *ob, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    wf_batch_opts bo = {co->excerpt > 0 ? (co->batch > 0 ? co->batch : 1) : 0, 0, co->so.seed,
                        co->loss, 1, 0, 0, 0};
    bo.loss.rate = s->env.sr; /* mel bands and loudness frames follow the run */
    bo.loss.hop = s->env.hop;
    if (co->excerpt > 0)
        bo.excerpt = s->env.nsamples;
    ob->analyses = wf_analyses_find(s, ob);
    bo.align = wf_analyses_align(ob->analyses, s);
    if (analyse(ob, WF_ANALYSES_FIT, s, co, d))
        return -1;
    ob->dist = co->dist;
    if (ob->count && co->dist && co->dist->size > 1) {
        /* this rank's share of the whole batch */
        int total = co->excerpt > 0 ? bo.items : ob->count;
        if (total < co->dist->size) {
            char n[64];
            snprintf(n, sizeof n, "%d", co->dist->size);
            wf_cli_usage_error("fit", co->excerpt > 0 ? "--batch must be at least the number of "
                                                        "ranks (%s), one item for each"
                                                      : "every rank needs a recording: %s ranks "
                                                        "for fewer --target recordings (draw "
                                                        "--excerpt with a --batch instead)",
                               n);
            return -1;
        }
        bo.total = total;
        wf_dist_share(co->dist, total, &bo.first, &bo.items);
    }
    if (ob->count) {
        for (int i = 0; i < ob->count && co->excerpt <= 0; i++)
            if (ob->frames[i] < s->env.nsamples)
                wf_report_target_shorter(d, WF_NOWHERE, NULL, ob->names[i],
                                         (double)ob->frames[i] / s->env.sr,
                                         (double)s->env.nsamples / s->env.sr);
        ob->batch = wf_batch_new((const wf_real *const *)ob->audio, ob->frames,
                                 (const char *const *)ob->names, ob->count, s->env.nsamples, &bo, d);
        if (!ob->batch)
            return -1;
    }
    int items = ob->batch ? wf_batch_items(ob->batch) : 1;
    int first = g->ninputs, ncuts = 0;
    const wf_graph *fg = ob->analyses ? wf_analyses_graph(ob->analyses, &first, &ncuts) : g;
    char *per_item = wf_xcalloc((size_t)fg->ninputs + 1, 1);
    for (int j = 0; j < g->ninputs; j++)
        per_item[j] = ob->batch && (g->inputs[j].from_target || (co->excerpt > 0 && s->data[j] &&
                                                                 !g->inputs[j].space));
    for (int j = first; j < first + ncuts; j++)
        per_item[j] = 1;
    /* the fit runs the graph with the cuts as inputs; the patch keeps its
     * own for the render and the fitted patch */
    wf_patch *patch = s->patch;
    wf_graph *own = patch->g;
    patch->g = (wf_graph *)fg;
    ob->prog = wf_setup_plan(s, WF_RUN_GRAD, 0, items, per_item, d);
    patch->g = own;
    ob->aligned = wf_xcalloc((size_t)fg->ninputs + 1, sizeof *ob->aligned);
    for (int j = 0; j < fg->ninputs; j++)
        ob->aligned[j] = -2; /* not fed by the batch */
    for (int j = 0; ob->prog && j < fg->ninputs; j++) {
        if (!per_item[j])
            continue;
        int k;
        if (j >= first) {
            const wf_real *const *data;
            const int64_t *frames;
            int chans, div;
            wf_analyses_signal(ob->analyses, WF_ANALYSES_FIT, j - first, &data, &frames, &chans,
                               &div);
            k = wf_batch_align_each(ob->batch, data, frames, chans, div);
        } else {
            k = g->inputs[j].from_target
                    ? -1
                    : wf_batch_align(ob->batch, s->data[j], ob->reach, g->inputs[j].chans);
        }
        ob->aligned[j] = k;
    }
    if (ob->prog && ob->batch)
        feed(ob, ob->batch, 0);
    free(per_item);
    return ob->prog ? 0 : -1;
}

/* An excerpt runs from its own start: what is timed from the start of the
 * recording (notes, frames of a per-frame param) cannot be cut with it. */
static int check_excerpts(const wf_setup *s, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    const char *hint = "fit whole recordings (drop --excerpt)";
    for (int j = 0; j < g->ninputs; j++)
        if (g->inputs[j].space && g->inputs[j].node >= 0) {
            wf_report_excerpt_follows_run(d, g->inputs[j].loc, hint, "the notes input",
                                          g->inputs[j].name);
            return -1;
        }
    for (int i = 0; i < s->params.n; i++)
        if (s->params.v[i].decl->rate == WF_RATE_CONTROL) {
            wf_report_excerpt_follows_run(d, s->params.v[i].decl->loc, hint, "the per-frame param",
                                          s->params.v[i].decl->name);
            return -1;
        }
    return 0;
}

int wf_objective_prepare(common *co, wf_setup *s, wf_objective *ob, wf_diags *d)
{
    memset(ob, 0, sizeof *ob);
    if (find_recordings(co, ob, d))
        return -1;
    co->so.fed_target = ob->count > 0;
    if (ob->count && first_rate(ob->names[0], &co->so.fallback_rate, d))
        return -1;
    if (wf_setup_compile(s, &co->so, d))
        return -1;
    int64_t longest = 0;
    double sr = wf_setup_rate(s, &co->so);
    if (load_recordings(ob, sr, &longest, d))
        return -1;
    const wf_graph *g = s->patch->g;
    ob->whole = g->length > 0 ? llround(g->length * sr) : longest;
    ob->reach = ob->whole > longest ? ob->whole : longest;
    if (co->excerpt > 0) {
        co->so.seconds = co->excerpt; /* every item an excerpt this long */
    } else {
        co->so.length_frames = longest;
    }
    if (wf_setup_ready(s, &co->so, d))
        return -1;
    if (g->nodes[g->out].shape.chans != 1 && ob->count) {
        wf_report_fit_needs_mono(d, WF_NOWHERE, NULL, g->nodes[g->out].shape.chans);
        return -1;
    }
    if (co->excerpt > 0 && check_excerpts(s, d))
        return -1;
    wf_setup_load_inputs(s, co->excerpt > 0 ? ob->reach : s->env.nsamples);
    return plan_objective(co, s, ob, d);
}

int wf_objective_validation(wf_objective *ob, const wf_setup *s, const common *co,
                            const wf_pairs *files, wf_diags *d)
{
    ob->vcount = files->n;
    ob->vnames = wf_xcalloc((size_t)files->n + 1, sizeof *ob->vnames);
    ob->vaudio = wf_xcalloc((size_t)files->n + 1, sizeof *ob->vaudio);
    ob->vframes = wf_xcalloc((size_t)files->n + 1, sizeof *ob->vframes);
    for (int i = 0; i < files->n; i++) {
        int chans;
        ob->vnames[i] = wf_xstrdup(files->v[i]);
        if (wf_audio_load(files->v[i], s->env.sr, 1, &ob->vaudio[i], &ob->vframes[i], &chans, d))
            return -1;
    }
    wf_batch_opts bo = {0, 0, co->so.seed, co->loss, wf_analyses_align(ob->analyses, s), 0, 0, 1};
    bo.loss.rate = s->env.sr; /* as the batch's */
    bo.loss.hop = s->env.hop;
    if (co->excerpt > 0)
        bo.excerpt = s->env.nsamples;
    ob->vbatch = wf_batch_new((const wf_real *const *)ob->vaudio, ob->vframes,
                              (const char *const *)ob->vnames, ob->vcount, s->env.nsamples, &bo, d);
    if (!ob->vbatch)
        return -1;
    if (analyse(ob, WF_ANALYSES_HELD_OUT, s, co, d))
        return -1;
    /* the same signals, cut at the held-out items' places, in the order of
     * the fitted batch's (ob->aligned indexes both) */
    const wf_graph *g = s->patch->g;
    int first = g->ninputs, ncuts = 0;
    const wf_graph *fg = ob->analyses ? wf_analyses_graph(ob->analyses, &first, &ncuts) : g;
    for (int j = 0; j < fg->ninputs; j++) {
        if (ob->aligned[j] < 0)
            continue;
        if (j >= first) {
            const wf_real *const *data;
            const int64_t *frames;
            int chans, div;
            wf_analyses_signal(ob->analyses, WF_ANALYSES_HELD_OUT, j - first, &data, &frames,
                               &chans, &div);
            wf_batch_align_each(ob->vbatch, data, frames, chans, div);
        } else {
            wf_batch_align(ob->vbatch, s->data[j], ob->reach, g->inputs[j].chans);
        }
    }
    int total = wf_batch_items(ob->vbatch);
    wf_dist one = {0, 1};
    wf_dist_share(ob->dist ? ob->dist : &one, total, &ob->vfirst, &ob->vn);
    return total;
}

double wf_objective_validate(void *ctx)
{
    wf_objective *ob = ctx;
    int lanes = wf_batch_items(ob->batch), outs = wf_prog_out_lanes(ob->prog);
    double sum = 0;
    for (int c = 0; c < ob->vn; c += lanes) {
        feed(ob, ob->vbatch, ob->vfirst + c);
        wf_prog_invalidate(ob->prog);
        wf_prog_forward(ob->prog);
        for (int l = 0; l < lanes && c + l < ob->vn; l++)
            sum += wf_batch_item_loss(ob->vbatch, ob->vfirst + c + l,
                                      wf_prog_out(ob->prog, outs > 1 ? l : 0));
    }
    /* back to the step's items, whose derived values are made anew */
    feed(ob, ob->batch, 0);
    wf_prog_invalidate(ob->prog);
    return sum;
}

void wf_objective_free(wf_objective *ob)
{
    wf_batch_free(ob->vbatch);
    for (int i = 0; i < ob->vcount; i++) {
        free(ob->vnames[i]);
        if (ob->vaudio)
            wf_afree(ob->vaudio[i]);
    }
    free(ob->vnames);
    free(ob->vaudio);
    free(ob->vframes);
    free(ob->aligned);
    wf_prog_free(ob->prog);
    wf_batch_free(ob->batch);
    wf_analyses_free(ob->analyses);
    for (int i = 0; i < ob->count; i++) {
        free(ob->names[i]);
        if (ob->audio)
            wf_afree(ob->audio[i]);
    }
    free(ob->names);
    free(ob->audio);
    free(ob->frames);
    memset(ob, 0, sizeof *ob);
}
