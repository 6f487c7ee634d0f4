/* The executor: memory plan, block loop, and the reverse sweep over the tape.
 *
 * Steps: node i runs forward at step i and backward at step 2n-1-i. Every
 * planned buffer has a lifetime [first step, last step]; buffers whose
 * lifetimes do not overlap share arena bytes (greedy placement by size).
 *
 * Streaming and control rate: an audio block of B = bf * hop samples needs
 * control frames b*bf ... (b+1)*bf (one frame of lookahead for the
 * interpolation), so control-rate nodes run one frame ahead. Each control
 * buffer holds bf + 1 frames: frame 0 is carried over from the previous block,
 * and a control node writes its new frames after it. */
#include "runtime/exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

enum { EXT_NONE, EXT_PARAM, EXT_INPUT };

typedef struct nrt {
    int ext;
    int once;       /* computed on the first forward only (persistent output) */
    int grad;       /* GRAD: depends on a param, so backward runs */
    int frames;     /* frames of its rate per call (control: + carry slot) */
    size_t out_bytes;
    wf_real *out;
    wf_real *adj;
    wf_real *carry;
    void *state, *saved, *work, *bwork;
    wf_sizes sz;
    wf_sig *in, *din; /* per-input signal views, rebuilt per call */
    /* planned arena offsets (SIZE_MAX: not planned) */
    size_t off_out, off_adj, off_saved, off_work, off_bwork;
    int adj_start; /* step at which the adjoint must be zeroed */
    int zero_head; /* first node whose adjoint is zeroed just before this node's backward */
    int zero_next;
} nrt;

struct wf_prog {
    const wf_graph *g;
    wf_env env;
    wf_params *params;
    wf_run_mode mode;
    int block, bf;
    int n;
    nrt *rt;
    unsigned char *arena;
    size_t arena_bytes;
    unsigned char *persist;
    int64_t blockno;
    int once_done;
    int done;
    int watch;       /* record the first node whose output is not finite */
    int nonfinite;
    const wf_real **input_data;
    wf_read_fn *readers;
    void **reader_ctx;
};

typedef struct item {
    size_t size;
    int start, end;
    size_t *off;
} item;

static int cmp_items(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->start - y->start;
}

/* Greedy interval placement: biggest first, lowest offset that does not
 * collide with an already placed item whose lifetime overlaps. */
static size_t place(item *items, int n)
{
    qsort(items, (size_t)n, sizeof *items, cmp_items);
    size_t total = 0;
    size_t *offs = wf_xmalloc(sizeof(size_t) * 2 * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < i; j++) {
            if (items[j].end < items[i].start || items[i].end < items[j].start)
                continue;
            offs[2 * m] = *items[j].off;
            offs[2 * m + 1] = *items[j].off + items[j].size;
            m++;
        }
        /* sort the occupied ranges by start (insertion sort: m is small) */
        for (int a = 1; a < m; a++) {
            size_t s = offs[2 * a], e = offs[2 * a + 1];
            int b = a - 1;
            while (b >= 0 && offs[2 * b] > s) {
                offs[2 * (b + 1)] = offs[2 * b];
                offs[2 * (b + 1) + 1] = offs[2 * b + 1];
                b--;
            }
            offs[2 * (b + 1)] = s;
            offs[2 * (b + 1) + 1] = e;
        }
        size_t at = 0;
        for (int a = 0; a < m; a++) {
            if (at + items[i].size <= offs[2 * a])
                break;
            if (offs[2 * a + 1] > at)
                at = offs[2 * a + 1];
        }
        *items[i].off = at;
        if (at + items[i].size > total)
            total = at + items[i].size;
    }
    free(offs);
    return total;
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static const wf_node_kind *kind_of(const wf_prog *p, int i)
{
    return p->g->nodes[i].kind;
}

static int frames_per_call(const wf_prog *p, wf_rate r)
{
    if (r == WF_RATE_CONST)
        return 1;
    if (p->mode == WF_RUN_STREAM)
        return r == WF_RATE_CONTROL ? p->bf + 1 : p->block;
    return (int)(r == WF_RATE_CONTROL ? p->env.nframes : p->env.nsamples);
}

wf_prog *wf_prog_new(const wf_graph *g, const wf_env *env, wf_params *params, wf_run_mode mode,
                     int block, wf_diags *d)
{
    if (mode == WF_RUN_STREAM && wf_graph_needs_whole(g)) {
        wf_fail(d, "internal: this graph cannot stream (a control-rate node reads audio)");
        return NULL;
    }
    if (env->nsamples <= 0 || env->nsamples > (int64_t)1 << 31) {
        wf_fail(d, "a run must be between 1 and 2^31 samples long (asked for %lld)",
                (long long)env->nsamples);
        return NULL;
    }
    wf_prog *p = wf_xcalloc(1, sizeof *p);
    p->g = g;
    p->env = *env;
    p->params = params;
    p->mode = mode;
    p->n = g->n;
    if (mode == WF_RUN_STREAM) {
        int bf = (block + env->hop / 2) / env->hop;
        p->bf = bf < 1 ? 1 : bf;
        p->block = p->bf * env->hop;
    } else {
        p->bf = (int)env->nframes;
        p->block = (int)env->nsamples;
    }
    int n = g->n;
    p->rt = wf_xcalloc((size_t)(n ? n : 1), sizeof *p->rt);
    p->input_data = wf_xcalloc((size_t)(g->ninputs + 1), sizeof *p->input_data);
    p->readers = wf_xcalloc((size_t)(g->ninputs + 1), sizeof *p->readers);
    p->reader_ctx = wf_xcalloc((size_t)(g->ninputs + 1), sizeof *p->reader_ctx);

    /* Which nodes depend on params; which run once; which need backward. */
    for (int i = 0; i < n; i++) {
        const wf_gnode *gn = &g->nodes[i];
        nrt *r = &p->rt[i];
        int dp = gn->kind == &wf_kind_param && !g->params[gn->ref].fixed;
        for (int j = 0; j < gn->nin; j++)
            dp |= p->rt[gn->in[j]].grad;
        r->grad = dp; /* provisional: "depends on a param" */
        r->ext = gn->kind == &wf_kind_param ? EXT_PARAM : gn->kind == &wf_kind_input ? EXT_INPUT : EXT_NONE;
        if (!r->ext && !gn->kind->forward) {
            wf_fail(d, "internal: node '%s' has no kernel", gn->kind->name);
            wf_prog_free(p);
            return NULL;
        }
        r->frames = frames_per_call(p, gn->shape.rate);
        r->in = wf_xcalloc((size_t)(gn->nin ? gn->nin : 1), sizeof *r->in);
        r->din = wf_xcalloc((size_t)(gn->nin ? gn->nin : 1), sizeof *r->din);
    }
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = &g->nodes[i];
        if (r->ext)
            r->once = 0;
        else if (mode == WF_RUN_STREAM)
            r->once = gn->shape.rate == WF_RATE_CONST;
        else
            r->once = !r->grad;
        if (mode != WF_RUN_GRAD)
            r->grad = 0;
        const wf_node_kind *k = kind_of(p, i);
        memset(&r->sz, 0, sizeof r->sz);
        if (k->size) {
            wf_shape ins[64], *insp = gn->nin <= 64 ? ins : wf_xmalloc(sizeof *insp * (size_t)gn->nin);
            for (int j = 0; j < gn->nin; j++)
                insp[j] = g->nodes[gn->in[j]].shape;
            k->size(gn, insp, &p->env, r->frames, &r->sz);
            if (insp != ins)
                free(insp);
        }
        r->out_bytes = align64((size_t)r->frames * (size_t)gn->shape.chans * sizeof(wf_real));
    }

    /* Persistent memory: states, carries, once-outputs, stream input blocks. */
    size_t persist = 0;
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = &g->nodes[i];
        persist += align64(r->sz.state);
        if (r->once || (r->ext == EXT_INPUT && mode == WF_RUN_STREAM))
            persist += r->out_bytes;
        if (mode == WF_RUN_STREAM && !r->ext && gn->shape.rate == WF_RATE_CONTROL)
            persist += align64((size_t)gn->shape.chans * sizeof(wf_real));
    }
    p->persist = wf_aalloc(persist);
    unsigned char *pp = p->persist;
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = &g->nodes[i];
        if (r->sz.state) {
            r->state = pp;
            pp += align64(r->sz.state);
        }
        if (r->once || (r->ext == EXT_INPUT && mode == WF_RUN_STREAM)) {
            r->out = (wf_real *)pp;
            pp += r->out_bytes;
        }
        if (mode == WF_RUN_STREAM && !r->ext && gn->shape.rate == WF_RATE_CONTROL) {
            r->carry = (wf_real *)pp;
            pp += align64((size_t)gn->shape.chans * sizeof(wf_real));
        }
    }

    /* Lifetimes of everything in the arena, from one pass over the edges:
     * last[i] is the last step reading i's value, first_adj[i] the first
     * backward step adding into its adjoint. */
    int bwd0 = 2 * n - 1;
    int *last = wf_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int *first_adj = wf_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        last[i] = i;
        first_adj[i] = bwd0 - i;
    }
    for (int j = 0; j < n; j++) {
        const wf_gnode *c = &g->nodes[j];
        unsigned keep = c->kind->keep;
        for (int a = 0; a < c->nin; a++) {
            int i = c->in[a];
            if (j > last[i])
                last[i] = j;
            if (p->rt[j].grad && (keep & (a < 31 ? 1u << a : WF_KEEP_ALL)) && bwd0 - j > last[i])
                last[i] = bwd0 - j;
            if (p->rt[j].grad && bwd0 - j < first_adj[i])
                first_adj[i] = bwd0 - j;
        }
    }
    item *items = wf_xmalloc(sizeof(item) * (size_t)(5 * n + 1));
    int ni = 0;
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_node_kind *k = kind_of(p, i);
        if (!r->once && !r->ext) {
            int end = last[i];
            if (r->grad && (k->keep & WF_KEEP_OUT) && bwd0 - i > end)
                end = bwd0 - i;
            if (i == g->out && end < n - 1)
                end = n - 1;
            items[ni++] = (item){r->out_bytes, i, end, &r->off_out};
        }
        if (r->grad && r->ext != EXT_PARAM) {
            int start = i == g->out ? n : first_adj[i];
            r->adj_start = start;
            items[ni++] = (item){r->out_bytes, start, bwd0 - i, &r->off_adj};
        }
        if (r->sz.saved && r->grad)
            items[ni++] = (item){align64(r->sz.saved), i, bwd0 - i, &r->off_saved};
        if (r->sz.work)
            items[ni++] = (item){align64(r->sz.work), i, i, &r->off_work};
        if (r->sz.bwork && r->grad)
            items[ni++] = (item){align64(r->sz.bwork), bwd0 - i, bwd0 - i, &r->off_bwork};
    }
    for (int i = 0; i < n; i++)
        p->rt[i].zero_head = -1;
    for (int q = 0; q < n; q++) {
        nrt *rq = &p->rt[q];
        rq->zero_next = -1;
        if (rq->grad && rq->ext != EXT_PARAM && q != g->out) {
            int at = bwd0 - rq->adj_start; /* the node whose backward runs at that step */
            rq->zero_next = p->rt[at].zero_head;
            p->rt[at].zero_head = q;
        }
    }
    p->arena_bytes = place(items, ni);
    free(items);
    free(last);
    free(first_adj);
    p->arena = wf_aalloc(p->arena_bytes);
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        if (!r->once && !r->ext)
            r->out = (wf_real *)(p->arena + r->off_out);
        if (r->grad && r->ext != EXT_PARAM)
            r->adj = (wf_real *)(p->arena + r->off_adj);
        if (r->sz.saved && r->grad)
            r->saved = p->arena + r->off_saved;
        if (r->sz.work)
            r->work = p->arena + r->off_work;
        if (r->sz.bwork && r->grad)
            r->bwork = p->arena + r->off_bwork;
        if (r->ext == EXT_PARAM) {
            const wf_param *pa = &params->v[g->nodes[i].ref];
            r->out = pa->value;
            if (r->grad)
                r->adj = pa->grad;
        }
    }
    return p;
}

void wf_prog_free(wf_prog *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->rt[i].in);
        free(p->rt[i].din);
    }
    free(p->rt);
    wf_afree(p->arena);
    wf_afree(p->persist);
    free(p->input_data);
    free(p->readers);
    free(p->reader_ctx);
    free(p);
}

void wf_prog_set_input(wf_prog *p, int input, const wf_real *data)
{
    p->input_data[input] = data;
    p->once_done = 0;
}

void wf_prog_set_reader(wf_prog *p, int input, wf_read_fn fn, void *ctx)
{
    p->readers[input] = fn;
    p->reader_ctx[input] = ctx;
}

int wf_prog_out_chans(const wf_prog *p)
{
    return p->g->nodes[p->g->out].shape.chans;
}

const wf_graph *wf_prog_graph(const wf_prog *p)
{
    return p->g;
}

size_t wf_prog_out_len(const wf_prog *p)
{
    const wf_gnode *go = &p->g->nodes[p->g->out];
    return (size_t)wf_env_frames(&p->env, go->shape.rate) * (size_t)go->shape.chans;
}

size_t wf_prog_arena_bytes(const wf_prog *p)
{
    return p->arena_bytes;
}

void wf_prog_invalidate(wf_prog *p)
{
    p->once_done = 0;
}

/* Where this block's frames of node i begin: the block's view of a param
 * (whole matrices are indexed by the block's first frame). */
typedef struct blockpos {
    int64_t s0;  /* first audio sample of the block */
    int ns;      /* audio samples in the block */
    int coff;    /* control: index in the buffer of the first new frame */
    int64_t cf0; /* control: first new frame */
    int ncf;     /* control: new frames this block */
} blockpos;

static wf_real *base_of(const wf_prog *p, int i, const blockpos *bp)
{
    const nrt *r = &p->rt[i];
    const wf_gnode *gn = &p->g->nodes[i];
    if (r->ext == EXT_PARAM) {
        if (gn->shape.rate == WF_RATE_CONTROL)
            return r->out + (size_t)(bp->cf0 - bp->coff) * (size_t)gn->shape.chans;
        if (gn->shape.rate == WF_RATE_AUDIO)
            return r->out + (size_t)bp->s0 * (size_t)gn->shape.chans;
        return r->out;
    }
    if (r->ext == EXT_INPUT && p->mode != WF_RUN_STREAM)
        return (wf_real *)p->input_data[gn->ref];
    return r->out;
}

static wf_sig view(const wf_prog *p, int i, wf_rate reader, const blockpos *bp, int adjoint)
{
    const wf_gnode *gn = &p->g->nodes[i];
    wf_sig s = {adjoint ? p->rt[i].adj : base_of(p, i, bp), 0, gn->shape.chans, gn->shape.rate,
                !adjoint && gn->kind == &wf_kind_const ? gn->opt[0].v : NULL};
    switch (gn->shape.rate) {
    case WF_RATE_CONST:
        s.n = 1;
        break;
    case WF_RATE_AUDIO:
        s.n = bp->ns;
        break;
    case WF_RATE_CONTROL:
        if (reader == WF_RATE_CONTROL) {
            s.p += (size_t)bp->coff * (size_t)gn->shape.chans;
            s.n = bp->ncf;
        } else {
            s.n = bp->coff + bp->ncf;
        }
        break;
    }
    return s;
}

static void build_ctx(wf_prog *p, int i, const blockpos *bp, wf_kctx *k, int backward)
{
    const wf_gnode *gn = &p->g->nodes[i];
    nrt *r = &p->rt[i];
    memset(k, 0, sizeof *k);
    k->node = gn;
    k->env = &p->env;
    k->state = r->state;
    k->saved = r->saved;
    k->work = backward ? r->bwork : r->work;
    k->nin = gn->nin;
    for (int j = 0; j < gn->nin; j++) {
        r->in[j] = view(p, gn->in[j], gn->shape.rate, bp, 0);
        if (backward) {
            const wf_arg_spec *as = wf_kind_input_spec(gn->kind, j);
            int want = p->rt[gn->in[j]].grad && !(as && (as->flags & WF_ARG_NODIFF));
            r->din[j] = want ? view(p, gn->in[j], gn->shape.rate, bp, 1) : (wf_sig){0};
        }
    }
    k->in = r->in;
    k->din = backward ? r->din : NULL;
    k->out = view(p, i, gn->shape.rate, bp, 0);
    switch (gn->shape.rate) {
    case WF_RATE_CONST: k->t0 = 0; break;
    case WF_RATE_CONTROL: k->t0 = bp->cf0; break;
    case WF_RATE_AUDIO: k->t0 = bp->s0; break;
    }
}

static void reset_states(wf_prog *p)
{
    blockpos bp = {0};
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        if (r->state) {
            memset(r->state, 0, r->sz.state);
            const wf_node_kind *k = kind_of(p, i);
            if (k->reset) {
                wf_kctx kc;
                build_ctx(p, i, &bp, &kc, 0);
                k->reset(&kc);
            }
        }
    }
}

static void run_block(wf_prog *p, const blockpos *bp, int first)
{
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = &p->g->nodes[i];
        if (r->ext == EXT_PARAM)
            continue;
        if (r->ext == EXT_INPUT) {
            if (p->mode == WF_RUN_STREAM) {
                int c = gn->shape.chans;
                int got = p->readers[gn->ref]
                              ? p->readers[gn->ref](p->reader_ctx[gn->ref], r->out, bp->ns)
                              : 0;
                if (got < 0)
                    got = 0;
                if (got < bp->ns)
                    memset(r->out + (size_t)got * c, 0,
                           (size_t)(bp->ns - got) * (size_t)c * sizeof(wf_real));
            }
            continue;
        }
        if (r->once && !first)
            continue;
        const wf_node_kind *k = kind_of(p, i);
        int ctl_stream = r->carry != NULL;
        if (ctl_stream && bp->coff)
            memcpy(r->out, r->carry, (size_t)gn->shape.chans * sizeof(wf_real));
        wf_kctx kc;
        build_ctx(p, i, bp, &kc, 0);
        if (kc.out.n > 0)
            k->forward(&kc);
        if (p->watch && p->nonfinite < 0) {
            size_t len = (size_t)kc.out.n * (size_t)kc.out.chans;
            for (size_t t = 0; t < len; t++)
                if (!isfinite((double)kc.out.p[t])) {
                    p->nonfinite = i;
                    break;
                }
        }
        if (ctl_stream && (bp->coff + bp->ncf) > 0)
            memcpy(r->carry, r->out + (size_t)(bp->coff + bp->ncf - 1) * gn->shape.chans,
                   (size_t)gn->shape.chans * sizeof(wf_real));
    }
}

const wf_real *wf_prog_next_block(wf_prog *p, int *n)
{
    if (p->done)
        return NULL;
    int64_t b = p->blockno;
    blockpos bp;
    bp.s0 = b * p->block;
    if (bp.s0 >= p->env.nsamples) {
        p->done = 1;
        return NULL;
    }
    int64_t left = p->env.nsamples - bp.s0;
    bp.ns = left < p->block ? (int)left : p->block;
    bp.coff = b == 0 ? 0 : 1;
    bp.cf0 = b == 0 ? 0 : b * p->bf + 1;
    int64_t want = b == 0 ? p->bf + 1 : p->bf;
    int64_t fleft = p->env.nframes - bp.cf0;
    if (fleft < 0)
        fleft = 0;
    bp.ncf = (int)(want < fleft ? want : fleft);
    if (b == 0)
        reset_states(p);
    run_block(p, &bp, b == 0);
    p->blockno++;
    *n = bp.ns;
    return base_of(p, p->g->out, &bp);
}

static blockpos whole_pos(const wf_prog *p)
{
    return (blockpos){0, (int)p->env.nsamples, 0, 0, (int)p->env.nframes};
}

const wf_real *wf_prog_forward(wf_prog *p)
{
    blockpos bp = whole_pos(p);
    reset_states(p);
    run_block(p, &bp, !p->once_done);
    p->once_done = 1;
    return base_of(p, p->g->out, &bp);
}

int wf_prog_find_nonfinite(wf_prog *p)
{
    p->watch = 1;
    p->nonfinite = -1;
    p->once_done = 0;
    wf_prog_forward(p);
    p->watch = 0;
    for (int q = 0; q < p->g->nparams && p->nonfinite < 0; q++) {
        const wf_param *pa = &p->params->v[q];
        for (size_t j = 0; j < wf_param_len(pa); j++)
            if (!isfinite((double)pa->value[j]))
                p->nonfinite = pa->decl->node;
    }
    return p->nonfinite;
}

void wf_prog_backward(wf_prog *p, const wf_real *dout)
{
    blockpos bp = whole_pos(p);
    int n = p->n;
    nrt *ro = &p->rt[p->g->out];
    if (!ro->grad)
        return;
    const wf_gnode *go = &p->g->nodes[p->g->out];
    size_t len = (size_t)wf_env_frames(&p->env, go->shape.rate) * (size_t)go->shape.chans;
    if (ro->ext == EXT_PARAM) {
        for (size_t t = 0; t < len; t++)
            ro->adj[t] += dout[t];
        return;
    }
    memcpy(ro->adj, dout, len * sizeof(wf_real));
    for (int i = n - 1; i >= 0; i--) {
        /* Adjoints first written at this step start from zero. */
        for (int q = p->rt[i].zero_head; q >= 0; q = p->rt[q].zero_next) {
            const wf_gnode *gq = &p->g->nodes[q];
            size_t frames = (size_t)wf_env_frames(&p->env, gq->shape.rate);
            memset(p->rt[q].adj, 0, frames * (size_t)gq->shape.chans * sizeof(wf_real));
        }
        nrt *r = &p->rt[i];
        if (!r->grad || r->ext)
            continue;
        const wf_node_kind *k = kind_of(p, i);
        wf_kctx kc;
        build_ctx(p, i, &bp, &kc, 1);
        wf_sig dout_sig = view(p, i, p->g->nodes[i].shape.rate, &bp, 1);
        kc.dout = &dout_sig;
        if (k->backward)
            k->backward(&kc);
    }
}
