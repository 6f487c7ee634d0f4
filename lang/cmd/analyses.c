/* Analysis computed once (features.h, docs/design.md "Analysis computed
 * once").
 *
 * A cut is a node that depends on no param and on no input but the target
 * and audio files (a dry take the target is a wet recording of), has an
 * analysis kind (WF_KIND_ANALYSIS) or a node that turns audio into frames
 * (loudness, mfcc, ...) at or above it, is not constant,
 * and is read by a node that depends on something else (a learnt param):
 * the frontier of the param-free part of the graph that is worth computing
 * once. Each cut's own graph (the original with the cut as its out,
 * pruned) runs WHOLE once per recording; the fit's graph has the cut
 * replaced by an input, which the batch cuts per item at the excerpt's
 * offset (so excerpts start on frame boundaries) or gives whole.
 *
 * Cache: DIR/.weft-cache/NAME.HASH.npy beside the recording DIR/NAME, the
 * frames x channels of one cut, HASH (FNV-1a, 64 bits) over the recording's
 * bytes, size and modification time, the cut's graph (every node's kind,
 * options, inputs and shape), the rate, the hop, the length and the sample
 * type: a changed file or changed settings give another name, so a stale
 * file is never read. Written atomically (wf_npy_save: temporary file and
 * rename); a folder that cannot be written is not an error, the features
 * are computed without caching. */
#include "lang/cmd/analyses.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/npy.h"
#include "runtime/util.h"

typedef struct cut {
    int node;        /* in the patch's graph */
    wf_graph *g;     /* its own graph, out = the cut */
    int chans, div;
    /* per set of recordings (WF_FEATURES_*), per recording: frames x chans */
    wf_real **data[WF_ANALYSES_SETS];
    int64_t *frames[WF_ANALYSES_SETS];
} cut;

struct wf_analyses {
    cut *cuts;
    int n;
    int count[WF_ANALYSES_SETS]; /* recordings of each set */
    wf_graph *fit;   /* the fit's graph */
    int first_input;
};

/* Per node: 1 when it depends only on recordings (the target, audio
 * files of the patch, loaded whole) and constants. */
static char *recordings_only(const wf_setup *s)
{
    const wf_graph *g = s->patch->g;
    char *ok = wf_xcalloc((size_t)g->n + 1, 1);
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *gn = &g->nodes[i];
        if (gn->kind == &wf_kind_param)
            continue;
        if (gn->kind == &wf_kind_input) {
            const wf_input_decl *in = &g->inputs[gn->ref];
            ok[i] = !in->space && (in->from_target || s->data[gn->ref]);
            continue;
        }
        ok[i] = gn->shape.lanes == 0;
        for (int j = 0; j < gn->nin; j++)
            ok[i] &= ok[gn->in[j]];
    }
    return ok;
}

/* g with every cut an input of its own, and what only fed them pruned. */
static wf_graph *fit_graph(const wf_graph *g, wf_analyses *f)
{
    wf_graph *fg = wf_graph_copy(g);
    f->first_input = fg->ninputs;
    fg->inputs = wf_xrealloc(fg->inputs, sizeof *fg->inputs * (size_t)(fg->ninputs + f->n));
    for (int c = 0; c < f->n; c++) {
        wf_gnode *gn = &fg->nodes[f->cuts[c].node];
        wf_input_decl *in = &fg->inputs[fg->ninputs];
        memset(in, 0, sizeof *in);
        in->name = wf_xstrdup(gn->label ? gn->label : gn->kind->name);
        in->loc = gn->loc;
        in->chans = gn->shape.chans;
        in->node = f->cuts[c].node;
        char *label = gn->label ? wf_xstrdup(gn->label) : NULL;
        wf_gnode_free(gn);
        gn->kind = &wf_kind_input;
        gn->nin = 0;
        gn->in = wf_xmalloc(sizeof(int));
        gn->opt = wf_xcalloc(1, sizeof *gn->opt);
        gn->label = label;
        gn->loop = NULL;
        gn->ref = fg->ninputs++;
    }
    wf_graph_prune(fg);
    return fg;
}

/* An analysis kind, or a node that turns audio into frames (loudness,
 * mfcc, ...: each frame reads a window of samples around it, so computing
 * it over the whole recording also gives an excerpt's first and last
 * frames their real context). */
static int worth_once(const wf_graph *g, const wf_gnode *gn)
{
    if (gn->kind->flags & WF_KIND_ANALYSIS)
        return 1;
    if (gn->shape.rate != WF_RATE_CONTROL)
        return 0;
    for (int j = 0; j < gn->nin; j++)
        if (g->nodes[gn->in[j]].shape.rate == WF_RATE_AUDIO)
            return 1;
    return 0;
}

wf_analyses *wf_analyses_find(const wf_setup *s, const wf_objective *ob)
{
    const wf_graph *g = s->patch->g;
    if (!ob->count)
        return NULL;
    char *ok = recordings_only(s);
    char *ana = wf_xcalloc((size_t)g->n + 1, 1), *target = wf_xcalloc((size_t)g->n + 1, 1);
    char *iscut = wf_xcalloc((size_t)g->n + 1, 1);
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *gn = &g->nodes[i];
        target[i] = gn->kind == &wf_kind_input;
        ana[i] = ok[i] && worth_once(g, gn);
        for (int j = 0; j < gn->nin; j++) {
            target[i] |= target[gn->in[j]];
            ana[i] |= ok[i] && ana[gn->in[j]];
        }
    }
    int n = 0;
    for (int c = 0; c < g->n; c++)
        for (int j = 0; j < g->nodes[c].nin; j++) {
            int x = g->nodes[c].in[j];
            if (!ok[c] && ana[x] && target[x] && g->nodes[x].shape.rate != WF_RATE_CONST && !iscut[x]) {
                iscut[x] = 1;
                n++;
            }
        }
    wf_analyses *f = NULL;
    if (n) {
        f = wf_xcalloc(1, sizeof *f);
        f->cuts = wf_xcalloc((size_t)n, sizeof *f->cuts);
        for (int i = 0; i < g->n; i++)
            if (iscut[i]) {
                cut *k = &f->cuts[f->n++];
                k->node = i;
                k->chans = g->nodes[i].shape.chans;
                k->div = g->nodes[i].shape.rate == WF_RATE_CONTROL ? s->env.hop : 1;
                k->g = wf_graph_copy(g);
                k->g->out = i;
                wf_graph_prune(k->g);
            }
    }
    if (f)
        f->fit = fit_graph(g, f);
    free(ok);
    free(ana);
    free(target);
    free(iscut);
    return f;
}

int64_t wf_analyses_align(const wf_analyses *f, const wf_setup *s)
{
    for (int k = 0; f && k < f->n; k++)
        if (f->cuts[k].div > 1)
            return s->env.hop;
    return 1;
}

/* ---------------------------------------------------------------- hash */

typedef struct hash {
    uint64_t h;
} hash;

static void mix(hash *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h->h ^= b[i];
        h->h *= 0x100000001b3ull;
    }
}

static void mix_str(hash *h, const char *s)
{
    mix(h, s, strlen(s) + 1);
}

static void mix_num(hash *h, double v)
{
    mix(h, &v, sizeof v);
}

/* The cut's graph and the run's timing: what the features depend on
 * besides the recording. */
static void mix_graph(hash *h, const wf_graph *g, const wf_env *e, int64_t len)
{
    mix_str(h, "weft-features-1");
    mix_num(h, e->sr);
    mix_num(h, e->hop);
    mix_num(h, (double)len);
    mix_num(h, sizeof(wf_real));
    mix_num(h, g->out);
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *gn = &g->nodes[i];
        mix_str(h, gn->kind->name);
        mix_num(h, gn->shape.rate);
        mix_num(h, gn->shape.chans);
        mix_num(h, gn->ref);
        mix_num(h, (double)gn->id); /* a noise()'s default seed comes from it */
        for (int j = 0; j < gn->nin; j++)
            mix_num(h, gn->in[j]);
        for (int a = 0; gn->opt && a < gn->kind->nargs; a++) {
            mix_num(h, gn->opt[a].n);
            for (int v = 0; v < gn->opt[a].n; v++)
                mix_num(h, gn->opt[a].v[v]);
        }
    }
}

/* The recording's bytes, size and modification time; -1 when unreadable. */
static int mix_file(hash *h, const char *path)
{
    struct stat st;
    size_t len;
    char *bytes = stat(path, &st) == 0 ? wf_read_file(path, &len) : NULL;
    if (!bytes)
        return -1;
    mix(h, bytes, len);
    mix_num(h, (double)st.st_size);
    mix_num(h, (double)st.st_mtim.tv_sec);
    mix_num(h, (double)st.st_mtim.tv_nsec);
    free(bytes);
    return 0;
}

/* The files the cut reads: the recording, the patch's audio files. */
static int mix_inputs(hash *h, const wf_graph *g, const wf_setup *s, const char *rec)
{
    for (int j = 0; j < g->ninputs; j++) {
        if (g->inputs[j].node < 0)
            continue;
        const char *path = g->inputs[j].from_target ? rec : s->paths[j];
        if (!path || mix_file(h, path))
            return -1;
    }
    return 0;
}

/* DIR/.weft-cache/NAME.HASH.npy for DIR/NAME; *dir gets the folder. */
static char *cache_path(const char *rec, uint64_t key, char **dir)
{
    const char *slash = strrchr(rec, '/');
    wf_str d = {0}, p = {0};
    if (slash)
        wf_str_printf(&d, "%.*s/.weft-cache", (int)(slash - rec), rec);
    else
        wf_str_puts(&d, ".weft-cache");
    wf_str_printf(&p, "%s/%s.%016llx.npy", d.s, slash ? slash + 1 : rec, (unsigned long long)key);
    *dir = d.s;
    return p.s;
}

/* ------------------------------------------------------------- compute */

/* Cut k over recording r, len samples: its graph run whole. */
static wf_real *run_cut(const cut *k, const wf_setup *s, const wf_real *audio, int64_t have,
                        int64_t len, int64_t *frames, wf_diags *d)
{
    wf_env env = s->env;
    env.nsamples = len;
    env.nframes = (len + env.hop - 1) / env.hop;
    wf_plan po = {WF_RUN_WHOLE, 0, 1, NULL, NULL};
    wf_params *ps = (wf_params *)&s->params; /* the cut reads none */
    wf_prog *p = wf_prog_plan(k->g, &env, ps, &po, d);
    if (!p)
        return NULL;
    wf_real *x = wf_aalloc(sizeof(wf_real) * (size_t)(len ? len : 1));
    if (have > len)
        have = len;
    memcpy(x, audio, sizeof(wf_real) * (size_t)have);
    memset(x + have, 0, sizeof(wf_real) * (size_t)(len - have));
    for (int j = 0; j < k->g->ninputs; j++)
        if (wf_prog_input_lanes(p, j))
            wf_prog_set_input(p, j, 0, k->g->inputs[j].from_target ? x : s->data[j]);
    const wf_real *y = wf_prog_forward(p);
    *frames = k->div > 1 ? env.nframes : len;
    size_t vals = (size_t)*frames * (size_t)k->chans;
    wf_real *out = wf_aalloc(sizeof(wf_real) * (vals ? vals : 1));
    memcpy(out, y, sizeof(wf_real) * vals);
    wf_prog_free(p);
    wf_afree(x);
    return out;
}

/* The cached features if the file is there and has the right shape. */
static wf_real *read_cache(const char *path, int64_t frames, int chans)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return NULL;
    wf_diags quiet = {0};
    wf_npy info;
    wf_real *data = NULL;
    int bad = wf_npy_load(path, &info, &data, &quiet);
    wf_diags_free(&quiet);
    if (bad)
        return NULL;
    if (info.ndim != 2 || info.shape[0] != frames || info.shape[1] != chans ||
        info.dtype_bytes != (int)sizeof(wf_real)) {
        wf_afree(data);
        return NULL;
    }
    return data;
}

int wf_analyses_compute(wf_analyses *f, int set, const wf_setup *s, const wf_recordings *rec,
                        int64_t len, int cache, int quiet, wf_diags *d)
{
    f->count[set] = rec->count;
    for (int c = 0; c < f->n; c++) {
        f->cuts[c].data[set] = wf_xcalloc((size_t)rec->count + 1, sizeof(wf_real *));
        f->cuts[c].frames[set] = wf_xcalloc((size_t)rec->count + 1, sizeof(int64_t));
    }
    for (int c = 0; c < f->n; c++) {
        cut *k = &f->cuts[c];
        const char *what = k->g->nodes[k->g->out].kind->name; /* after the analysis in it */
        for (int i = 0; i < k->g->n; i++)
            if (worth_once(k->g, &k->g->nodes[i]))
                what = k->g->nodes[i].kind->name;
        wf_real **data = k->data[set];
        int64_t *got = k->frames[set];
        for (int r = 0; r < rec->count; r++) {
            int64_t n = len > 0 ? len : rec->frames[r];
            int64_t frames = k->div > 1 ? (n + k->div - 1) / k->div : n;
            hash h = {0xcbf29ce484222325ull};
            mix_graph(&h, k->g, &s->env, n);
            char *dir = NULL, *path = NULL;
            if (cache && mix_inputs(&h, k->g, s, rec->names[r]) == 0)
                path = cache_path(rec->names[r], h.h, &dir);
            if (path && (data[r] = read_cache(path, frames, k->chans))) {
                got[r] = frames;
                if (!quiet)
                    fprintf(stderr, "weft: %s of %s read from the cache %s\n", what, rec->names[r],
                            path);
                free(dir);
                free(path);
                continue;
            }
            double t = wf_now();
            data[r] = run_cut(k, s, rec->audio[r], rec->frames[r], n, &got[r], d);
            if (!data[r]) {
                free(dir);
                free(path);
                return -1;
            }
            t = wf_now() - t;
            int saved = 0;
            if (path && (mkdir(dir, 0755) == 0 || errno == EEXIST)) {
                int64_t shape[2] = {got[r], k->chans};
                wf_diags ignored = {0}; /* a folder we cannot write: compute every time */
                saved = wf_npy_save(path, data[r], 2, shape, &ignored) == 0;
                wf_diags_free(&ignored);
            }
            if (!quiet)
                fprintf(stderr, "weft: %s of %s computed once (%.2f s)%s%s\n", what, rec->names[r], t,
                        saved ? ", cached in " : path ? ", not cached (cannot write there)" : "",
                        saved ? path : "");
            free(dir);
            free(path);
        }
    }
    return 0;
}

/* ----------------------------------------------------------- the fit's */

const wf_graph *wf_analyses_graph(wf_analyses *f, int *first_input, int *ncuts)
{
    *ncuts = f->n;
    *first_input = f->first_input;
    return f->fit;
}

void wf_analyses_signal(const wf_analyses *f, int set, int k, const wf_real *const **data,
                        const int64_t **frames, int *chans, int *div)
{
    const cut *c = &f->cuts[k];
    *data = (const wf_real *const *)c->data[set];
    *frames = c->frames[set];
    *chans = c->chans;
    *div = c->div;
}

void wf_analyses_free(wf_analyses *f)
{
    if (!f)
        return;
    for (int c = 0; c < f->n; c++) {
        cut *k = &f->cuts[c];
        wf_graph_free(k->g);
        for (int set = 0; set < WF_ANALYSES_SETS; set++) {
            for (int r = 0; r < f->count[set]; r++)
                wf_afree(k->data[set][r]);
            free(k->frames[set]);
            free(k->data[set]);
        }
    }
    free(f->cuts);
    wf_graph_free(f->fit);
    free(f);
}
