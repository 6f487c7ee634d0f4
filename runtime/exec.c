/* The executor: schedule, lanes, latencies, memory plan, block loop, and the
 * reverse sweep over the tape.
 *
 * Schedule. Nodes are grouped into phases: runs of nodes with the same lane
 * signature (per item or not, and lane space) at the same level (how many
 * lane reductions lie upstream). Phases are ordered so that every node's
 * inputs come before it; within a phase every lane runs the phase's nodes in
 * order, and lanes run in parallel. A node at schedule position s runs
 * forward at step s and backward at step 2n-1-s.
 *
 * Memory. Every planned buffer has a lifetime [first step, last step];
 * buffers whose lifetimes do not overlap share bytes (greedy placement by
 * size). Nodes of one lane share one arena. Nodes of several lanes are laid
 * out once in a lane layout that every lane gets a copy of, so a lane's
 * thread touches only its own copy. A buffer that a node of another lane
 * signature reads or writes (a broadcast, a reduction, the adjoint slots
 * below) lives through the whole phases that touch it, since the threads of
 * a phase do not move in step.
 *
 * Broadcast adjoints. A node read by a node with more lanes (a param read by
 * every voice) receives its readers' adjoints in slots, one per reader lane,
 * summed into its own adjoint, in lane order, before its backward runs: no
 * two threads ever add into the same memory, and sums do not depend on the
 * number of threads.
 *
 * Streaming. Blocks are B = bf * hop samples. A node runs `lat` samples late
 * (a multiple of B): at block b it computes its window [bB - lat,
 * (b+1)B - lat), clipped to the run (block 0 starts at 0). Latencies follow
 * from what each reader needs: an interpolating audio reader of a control
 * signal needs one frame beyond its window (control nodes run a frame
 * ahead), and a declared lookahead needs that much more. Nodes that depend
 * on no streamed input take the latest latency their readers allow. A
 * signal read by a node running later keeps a history of the difference
 * before its window. The out's latency is taken back by a FIFO, so callers
 * see blocks of B samples from time 0. */
#include "runtime/exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

enum { EXT_NONE, EXT_PARAM, EXT_INPUT };

/* A group of broadcast-adjoint slots: node `node`'s adjoint as sent back by
 * readers of one lane signature, one slot per reader lane. */
typedef struct slot {
    int node;
    int lanes, item, vlanes; /* the readers' lanes */
    size_t off;              /* in the lane layout */
    int start, end;          /* lifetime in steps */
    int first;               /* backward step of its first writer, which clears it */
    wf_real **p;             /* per reader lane */
} slot;

typedef struct nrt {
    int ext;
    int once;       /* computed on the first forward only (persistent output) */
    int grad;       /* GRAD: depends on a param, so backward runs */
    int item;       /* one lane per batch item */
    int space;      /* lane space (0: none) */
    int vlanes;     /* voices of its lane space (1 without one) */
    int lanes;      /* items x voices it runs for */
    int level;      /* lane reductions upstream */
    int phase, pos; /* its phase, its position in the schedule */
    int persist;    /* output in persistent memory (once, or stream history) */
    /* streaming */
    int64_t lat;    /* audio samples it runs late */
    int bound;      /* depends on a streamed input (its latency is forced) */
    int hist;       /* frames of history before its window */
    int cap;        /* frames per lane: history + largest window */
    int64_t win0, win1; /* this block's window, in its frames */
    size_t out_bytes;   /* per lane */
    wf_sizes sz;
    int nview;          /* signal views per call (a reduction reads every lane) */
    /* per lane */
    wf_real **out, **adj;
    void **state, **saved, **work, **bwork;
    wf_sig *in, *din;   /* [lane][nview] */
    int *slot_of;       /* per input: slot group this node adds into, or -1 */
    /* plan */
    size_t off_out, off_adj, off_saved, off_work, off_bwork;
    int adj_start;      /* step at which the adjoint must be zeroed */
    int zero_head, zero_next; /* adjoints zeroed just before this node's backward */
} nrt;

typedef struct reader {
    int node, arg;
} reader;

typedef struct phase {
    int first, last; /* schedule positions */
    int lanes;
} phase;

struct wf_prog {
    const wf_graph *g;
    wf_env env;
    wf_params *params;
    wf_run_mode mode;
    int block, bf;
    int n;
    int items;
    int *voices;        /* per lane space 1..nspaces, [0] unused */
    nrt *rt;
    int *order;         /* schedule: node at each position */
    phase *phases;
    int nphases;
    int *rd_first;      /* readers of node i: rd[rd_first[i] .. rd_first[i + 1]) */
    reader *rd;
    wf_shape *shapes;   /* scratch: a node's input shapes */
    slot *slots;
    int nslots;
    int max_lanes;
    unsigned char *arena, *lane_arena, *persist;
    size_t arena_bytes, lane_bytes, persist_bytes;
    int64_t blockno;
    int once_done;
    int done;
    int watch;          /* record the first node whose output is not finite */
    int nonfinite;
    int fault;          /* the first node a kernel fault was reported by, or -1 */
    int64_t fault_frame; /* in that node's frames since the start */
    char fault_what[96];
    /* inputs, per input and lane */
    int *input_lanes;
    const wf_real ***input_data;
    wf_read_fn **readers;
    void ***reader_ctx;
    /* STREAM output FIFO: samples [fifo_t0, fifo_t0 + fifo_n) */
    wf_real *fifo;
    int fifo_n, fifo_cap, fifo_drop;
    int64_t fifo_t0;
    int64_t out_end;    /* the out's window end so far */
};

/* ------------------------------------------------------------ the plan */

typedef struct item {
    size_t size;
    int start, end;
    size_t *off;
} item;

typedef struct items {
    item *v;
    int n, cap;
} items;

static void add_item(items *it, size_t size, int start, int end, size_t *off)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? 2 * it->cap : 64;
        it->v = wf_xrealloc(it->v, sizeof *it->v * (size_t)it->cap);
    }
    it->v[it->n++] = (item){size, start, end, off};
}

static int cmp_items(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->start - y->start;
}

/* Greedy interval placement: biggest first, lowest offset that does not
 * collide with an already placed item whose lifetime overlaps. */
static size_t place(item *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_items);
    size_t total = 0;
    size_t *offs = wf_xmalloc(sizeof(size_t) * 2 * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < i; j++) {
            if (v[j].end < v[i].start || v[i].end < v[j].start)
                continue;
            offs[2 * m] = *v[j].off;
            offs[2 * m + 1] = *v[j].off + v[j].size;
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
            if (at + v[i].size <= offs[2 * a])
                break;
            if (offs[2 * a + 1] > at)
                at = offs[2 * a + 1];
        }
        *v[i].off = at;
        if (at + v[i].size > total)
            total = at + v[i].size;
    }
    free(offs);
    return total;
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static const wf_gnode *gnode(const wf_prog *p, int i)
{
    return &p->g->nodes[i];
}

static int is_whole(const wf_prog *p, int i);

static int shared(const nrt *r)
{
    return r->lanes == 1;
}

/* Lane of producer x that lane j of reader c reads (a reduction reads x's
 * lanes from there on). */
static int src_lane(const nrt *c, int j, const nrt *x)
{
    int b = c->item ? j / c->vlanes : 0, v = j % c->vlanes;
    return (x->item ? b : 0) * x->vlanes + (x->vlanes > 1 && c->vlanes > 1 ? v : 0);
}

static int same_sig(const nrt *a, const nrt *b)
{
    return a->item == b->item && a->space == b->space;
}

/* Lane signatures: per item, lane space, lanes, level. */
static int plan_lanes(wf_prog *p, const wf_plan *o, wf_diags *d)
{
    const wf_graph *g = p->g;
    for (int i = 0; i < p->n; i++) {
        const wf_gnode *gn = gnode(p, i);
        nrt *r = &p->rt[i];
        r->space = gn->shape.lanes;
        if (r->space < 0 || r->space > g->nspaces) {
            wf_report_internal_lane_space(d, WF_NOWHERE, NULL, gn->kind->name, r->space,
                                          g->nspaces);
            return -1;
        }
        r->vlanes = r->space ? p->voices[r->space] : 1;
        r->item = gn->kind == &wf_kind_input && o->per_item && o->per_item[gn->ref] && p->items > 1;
        int lanes_in = (gn->kind->flags & WF_KIND_LANES) != 0;
        for (int j = 0; j < gn->nin; j++) {
            const nrt *x = &p->rt[gn->in[j]];
            r->item |= x->item;
            int lv = x->level + (lanes_in && x->space);
            if (lv > r->level)
                r->level = lv;
        }
        r->lanes = (r->item ? p->items : 1) * r->vlanes;
        if (r->lanes > p->max_lanes)
            p->max_lanes = r->lanes;
        r->nview = gn->nin;
        if (lanes_in && gn->nin == 1)
            r->nview = p->rt[gn->in[0]].vlanes;
    }
    return 0;
}

static int64_t phase_key(const nrt *r)
{
    return ((int64_t)r->level << 40) | ((int64_t)r->item << 32) | ((int64_t)(r->space > 0) << 31) |
           (int64_t)r->space;
}

/* Phases ordered by (level, item, has a space, space); nodes keep their
 * order within one. Every input sorts before its reader: a reader's level is
 * at least its inputs', and at the same level its signature contains theirs. */
static void plan_schedule(wf_prog *p)
{
    int n = p->n;
    p->order = wf_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        p->order[i] = i;
    /* insertion sort by key, stable; the graph is topologically ordered */
    for (int i = 1; i < n; i++) {
        int x = p->order[i], j = i - 1;
        int64_t kx = phase_key(&p->rt[x]);
        while (j >= 0 && phase_key(&p->rt[p->order[j]]) > kx) {
            p->order[j + 1] = p->order[j];
            j--;
        }
        p->order[j + 1] = x;
    }
    p->phases = wf_xmalloc(sizeof(phase) * (size_t)(n ? n : 1));
    p->nphases = 0;
    for (int s = 0; s < n; s++) {
        nrt *r = &p->rt[p->order[s]];
        r->pos = s;
        if (s == 0 || phase_key(r) != phase_key(&p->rt[p->order[s - 1]]))
            p->phases[p->nphases++] = (phase){s, s, r->lanes};
        p->phases[p->nphases - 1].last = s;
        r->phase = p->nphases - 1;
    }
}

static int frames_of(const wf_prog *p, wf_rate r, int64_t samples)
{
    return r == WF_RATE_CONST ? 1 : r == WF_RATE_CONTROL ? (int)(samples / p->env.hop) : (int)samples;
}

/* The shapes of node i's inputs, in shapes (p->n_scratch long). */
static const wf_shape *input_shapes(wf_prog *p, int i)
{
    const wf_gnode *gn = gnode(p, i);
    for (int j = 0; j < gn->nin; j++)
        p->shapes[j] = gnode(p, gn->in[j])->shape;
    return p->shapes;
}

/* Readers of every node: reader node and argument, grouped by producer. */
static void plan_readers(wf_prog *p)
{
    int n = p->n, total = 0, maxin = 1;
    p->rd_first = wf_xcalloc((size_t)n + 1, sizeof(int));
    for (int c = 0; c < n; c++) {
        const wf_gnode *gc = gnode(p, c);
        total += gc->nin;
        if (gc->nin > maxin)
            maxin = gc->nin;
        for (int j = 0; j < gc->nin; j++)
            p->rd_first[gc->in[j] + 1]++;
    }
    for (int i = 0; i < n; i++)
        p->rd_first[i + 1] += p->rd_first[i];
    p->rd = wf_xmalloc(sizeof *p->rd * (size_t)(total ? total : 1));
    int *fill = wf_xcalloc((size_t)n + 1, sizeof(int));
    for (int c = 0; c < n; c++) {
        const wf_gnode *gc = gnode(p, c);
        for (int j = 0; j < gc->nin; j++) {
            int x = gc->in[j];
            p->rd[p->rd_first[x] + fill[x]++] = (reader){c, j};
        }
    }
    free(fill);
    p->shapes = wf_xmalloc(sizeof(wf_shape) * (size_t)maxin);
}

/* A learnt param that node i depends on (nodes are in topological order). */
static const char *learnt_upstream(const wf_prog *p, int i)
{
    const wf_graph *g = p->g;
    char *mark = wf_xcalloc((size_t)i + 1, 1);
    const char *name = NULL;
    mark[i] = 1;
    for (int j = i; j >= 0 && !name; j--) {
        if (!mark[j])
            continue;
        const wf_gnode *gj = gnode(p, j);
        if (gj->kind == &wf_kind_param && !g->params[gj->ref].fixed)
            name = g->params[gj->ref].name;
        for (int q = 0; q < gj->nin; q++)
            mark[gj->in[q]] = 1;
    }
    free(mark);
    return name;
}

/* Which nodes depend on params, run once, need backward. */
static int plan_kinds(wf_prog *p, wf_diags *d)
{
    const wf_graph *g = p->g;
    for (int i = 0; i < p->n; i++) {
        const wf_gnode *gn = gnode(p, i);
        nrt *r = &p->rt[i];
        r->grad = gn->kind == &wf_kind_param && !g->params[gn->ref].fixed;
        for (int j = 0; j < gn->nin; j++)
            r->grad |= p->rt[gn->in[j]].grad;
        r->ext = gn->kind == &wf_kind_param ? EXT_PARAM : gn->kind == &wf_kind_input ? EXT_INPUT : EXT_NONE;
        if (p->mode == WF_RUN_GRAD && r->grad && (gn->kind->flags & WF_KIND_ANALYSIS)) {
            wf_report_param_reaches_analysis(d, gn->loc,
                                             "analyse the target or an input, or make the param "
                                             "`fixed`",
                                             gn->kind->name, learnt_upstream(p, i));
            return -1;
        }
        if (!r->ext && !gn->kind->forward) {
            wf_report_internal_no_kernel(d, WF_NOWHERE, NULL, gn->kind->name);
            return -1;
        }
        /* the compiler knows a loop's delay in seconds, the run its rate */
        if (gn->loop && gn->loop->step * p->env.sr - gn->loop->slack < 1 - 1e-3) {
            wf_report_feedback_too_short(d, gn->loc, "lengthen the delay or raise the rate",
                                         gn->loop->step * p->env.sr, p->env.sr);
            return -1;
        }
        if (r->ext)
            r->once = 0;
        else if (p->mode == WF_RUN_STREAM)
            r->once = gn->shape.rate == WF_RATE_CONST;
        else
            r->once = !r->grad; /* "depends on a param" */
    }
    if (p->mode != WF_RUN_GRAD)
        for (int i = 0; i < p->n; i++)
            p->rt[i].grad = 0;
    return 0;
}

/* Latency an input edge x -> c costs, in samples. */
static int64_t edge_cost(wf_prog *p, int c, int j)
{
    const wf_gnode *gc = gnode(p, c);
    const wf_gnode *gx = gnode(p, gc->in[j]);
    int64_t la = gc->kind->lookahead ? gc->kind->lookahead(gc, input_shapes(p, c), &p->env, j) : 0;
    int hop = p->env.hop;
    if (gx->shape.rate == WF_RATE_AUDIO)
        return la;
    if (gc->shape.rate == WF_RATE_CONTROL)
        return la * hop;
    return (1 + la) * hop; /* interpolation reads one frame past the window */
}

static int64_t round_up_to(int64_t v, int64_t m)
{
    return v >= 0 ? (v + m - 1) / m * m : -((-v) / m * m);
}

static int64_t round_down_to(int64_t v, int64_t m)
{
    return v >= 0 ? v / m * m : -((-v + m - 1) / m * m);
}

/* STREAM: latencies, forced by streamed inputs downstream of them, then the
 * free nodes' from their readers (the latest each reader allows), and the
 * histories readers running later need. Latencies are whole blocks: then
 * every window is a whole block, which lets block-wise algorithms (the
 * reverb's partitions) work in blocks, at the price of up to a block more
 * delay where something reads ahead. */
static void plan_latency(wf_prog *p)
{
    int n = p->n, unit = p->block;
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = gnode(p, i);
        r->bound = r->ext == EXT_INPUT && gn->shape.rate == WF_RATE_AUDIO;
        r->lat = 0;
        for (int j = 0; j < gn->nin; j++) {
            const nrt *x = &p->rt[gn->in[j]];
            if (!x->bound)
                continue;
            int64_t need = round_up_to(x->lat + edge_cost(p, i, j), unit);
            if (!r->bound || need > r->lat)
                r->lat = need;
            r->bound = 1;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        nrt *r = &p->rt[i];
        if (r->bound || gnode(p, i)->shape.rate == WF_RATE_CONST)
            continue;
        int any = 0;
        for (int e = p->rd_first[i]; e < p->rd_first[i + 1]; e++) {
            int64_t allow = round_down_to(p->rt[p->rd[e].node].lat - edge_cost(p, p->rd[e].node, p->rd[e].arg), unit);
            if (!any || allow < r->lat)
                r->lat = allow;
            any = 1;
        }
    }
    nrt *ro = &p->rt[p->g->out];
    if (!ro->bound)
        ro->lat = 0;
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = gnode(p, i);
        if (gn->shape.rate == WF_RATE_CONST)
            continue;
        int64_t h = 0;
        for (int e = p->rd_first[i]; e < p->rd_first[i + 1]; e++)
            if (p->rt[p->rd[e].node].lat - r->lat > h)
                h = p->rt[p->rd[e].node].lat - r->lat;
        r->hist = frames_of(p, gn->shape.rate, h);
    }
}

/* Frames per lane of every output, scratch sizes, what persists. */
static void plan_sizes(wf_prog *p)
{
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = gnode(p, i);
        int64_t win;
        if (p->mode != WF_RUN_STREAM)
            win = gn->shape.rate == WF_RATE_CONTROL ? p->env.nframes * p->env.hop : p->env.nsamples;
        else
            win = p->block - (r->lat < 0 ? r->lat : 0); /* block 0 of a node running ahead */
        r->cap = r->hist + frames_of(p, gn->shape.rate, win);
        if (r->ext == EXT_PARAM || (r->ext == EXT_INPUT && is_whole(p, i)))
            r->persist = 0; /* the caller's memory */
        else /* streamed inputs are read into a buffer of their own */
            r->persist = r->once || r->hist > 0 || r->ext == EXT_INPUT;
        memset(&r->sz, 0, sizeof r->sz);
        if (gn->kind->size)
            gn->kind->size(gn, input_shapes(p, i), &p->env, r->cap - r->hist, &r->sz);
        r->out_bytes = align64((size_t)r->cap * (size_t)gn->shape.chans * sizeof(wf_real));
    }
}

/* Per-lane arrays of one node. */
static void alloc_lanes(wf_prog *p)
{
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        size_t L = (size_t)r->lanes;
        r->out = wf_xcalloc(L, sizeof *r->out);
        r->adj = wf_xcalloc(L, sizeof *r->adj);
        r->state = wf_xcalloc(L, sizeof *r->state);
        r->saved = wf_xcalloc(L, sizeof *r->saved);
        r->work = wf_xcalloc(L, sizeof *r->work);
        r->bwork = wf_xcalloc(L, sizeof *r->bwork);
        size_t nv = (size_t)(r->nview ? r->nview : 1);
        r->in = wf_xcalloc(L * nv, sizeof *r->in);
        r->din = wf_xcalloc(L * nv, sizeof *r->din);
        r->slot_of = wf_xmalloc(sizeof(int) * (size_t)(gnode(p, i)->nin + 1));
    }
}

/* Memory a program asks for, checked before it is taken: a patch may ask
 * for more than the machine has (hours at audio rate through nodes that
 * keep them all), which is an error to report, not a crash. */
static int take_memory(void **dst, double bytes, const char *what, wf_diags *d)
{
    *dst = bytes < (double)SIZE_MAX ? wf_aalloc_try((size_t)bytes) : NULL;
    if (!*dst)
        wf_report_out_of_memory(d, WF_NOWHERE, "shorten the run, or make its signals smaller",
                                bytes / 1e9, what);
    return *dst ? 0 : -1;
}

/* Persistent memory: states, once outputs, streams' histories. */
static int plan_persist(wf_prog *p, wf_diags *d)
{
    double total = 0;
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        total += (double)r->lanes * (double)align64(r->sz.state);
        if (r->persist)
            total += (double)r->lanes * (double)r->out_bytes;
    }
    p->persist_bytes = (size_t)total;
    if (take_memory((void **)&p->persist, total, "the nodes' state", d))
        return -1;
    unsigned char *pp = p->persist;
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        for (int l = 0; l < r->lanes; l++) {
            if (r->sz.state) {
                r->state[l] = pp;
                pp += align64(r->sz.state);
            }
            if (r->persist) {
                r->out[l] = (wf_real *)pp;
                pp += r->out_bytes;
            }
        }
    }
    return 0;
}

/* The step range of the phase holding schedule position s, forward (bwd 0)
 * or backward. */
static void phase_steps(const wf_prog *p, int s, int bwd, int *lo, int *hi)
{
    const phase *ph = &p->phases[p->rt[p->order[s]].phase];
    int b0 = 2 * p->n - 1;
    *lo = bwd ? b0 - ph->last : ph->first;
    *hi = bwd ? b0 - ph->first : ph->last;
}

static void widen(const wf_prog *p, int *start, int *end, int s_first, int bwd_first, int s_last,
                  int bwd_last)
{
    int lo, hi;
    phase_steps(p, s_first, bwd_first, &lo, &hi);
    if (lo < *start)
        *start = lo;
    phase_steps(p, s_last, bwd_last, &lo, &hi);
    if (hi > *end)
        *end = hi;
}

static int slot_group(wf_prog *p, int x, const nrt *c)
{
    for (int s = 0; s < p->nslots; s++)
        if (p->slots[s].node == x && p->slots[s].lanes == c->lanes &&
            p->slots[s].item == c->item && p->slots[s].vlanes == c->vlanes)
            return s;
    p->slots = wf_xrealloc(p->slots, sizeof *p->slots * (size_t)(p->nslots + 1));
    slot *sl = &p->slots[p->nslots];
    memset(sl, 0, sizeof *sl);
    sl->node = x;
    sl->lanes = c->lanes;
    sl->item = c->item;
    sl->vlanes = c->vlanes;
    sl->start = 1 << 30;
    sl->end = -1;
    sl->p = wf_xcalloc((size_t)c->lanes, sizeof *sl->p);
    return p->nslots++;
}

/* How long each node's output and adjoint must live, from one pass over the
 * edges: the last step reading an output (forward, or a kept input's
 * backward), the first backward step writing an adjoint, and which of them
 * cross lane signatures (xs_*: read or written by a node of other lanes).
 * An adjoint written from more lanes than it has goes through a slot group. */
typedef struct lifetimes {
    int *last, *first_adj, *xs_out, *xs_adj;
} lifetimes;

static lifetimes edge_lifetimes(wf_prog *p)
{
    int n = p->n, bwd0 = 2 * n - 1;
    size_t N = (size_t)(n ? n : 1);
    lifetimes lt = {wf_xmalloc(sizeof(int) * N), wf_xmalloc(sizeof(int) * N),
                    wf_xcalloc(N, sizeof(int)), wf_xcalloc(N, sizeof(int))};
    for (int i = 0; i < n; i++) {
        lt.last[i] = p->rt[i].pos;
        lt.first_adj[i] = bwd0 - p->rt[i].pos;
    }
    for (int c = 0; c < n; c++) {
        const wf_gnode *gc = gnode(p, c);
        nrt *rc = &p->rt[c];
        unsigned keep = gc->kind->keep;
        for (int a = 0; a < gc->nin; a++) {
            int x = gc->in[a];
            nrt *rx = &p->rt[x];
            int sc = rc->pos;
            rc->slot_of[a] = -1;
            if (!same_sig(rx, rc))
                lt.xs_out[x] = 1;
            if (sc > lt.last[x])
                lt.last[x] = sc;
            int kept = rc->grad && (keep & (a < 31 ? 1u << a : WF_KEEP_ALL));
            if (kept && bwd0 - sc > lt.last[x])
                lt.last[x] = bwd0 - sc;
            if (!rc->grad || !rx->grad || (rx->ext == EXT_PARAM && rc->lanes == 1))
                continue;
            if (rc->lanes > rx->lanes) {
                int sg = slot_group(p, x, rc);
                rc->slot_of[a] = sg;
                slot *sl = &p->slots[sg];
                if (bwd0 - sc < sl->start)
                    sl->start = bwd0 - sc;
                sl->end = bwd0 - rx->pos;
                continue;
            }
            if (!same_sig(rx, rc))
                lt.xs_adj[x] = 1;
            if (bwd0 - sc < lt.first_adj[x])
                lt.first_adj[x] = bwd0 - sc;
        }
    }
    return lt;
}

static void lifetimes_free(lifetimes *lt)
{
    free(lt->last);
    free(lt->first_adj);
    free(lt->xs_out);
    free(lt->xs_adj);
}

/* Adjoints first written at a step are zeroed just before it: a list per
 * node of the adjoints whose lifetime starts at its backward. */
static void plan_zeroing(wf_prog *p)
{
    int n = p->n, bwd0 = 2 * n - 1;
    for (int i = 0; i < n; i++)
        p->rt[i].zero_head = -1;
    for (int q = 0; q < n; q++) {
        nrt *rq = &p->rt[q];
        rq->zero_next = -1;
        if (rq->grad && rq->ext != EXT_PARAM && q != p->g->out) {
            int at = p->order[bwd0 - rq->adj_start]; /* the node whose backward runs then */
            rq->zero_next = p->rt[at].zero_head;
            p->rt[at].zero_head = q;
        }
    }
}

/* Everything in the arenas with its lifetime, placed: the shared arena for
 * nodes of one lane, the lane layout for the others. Lifetimes crossing lane
 * signatures widen to whole phases, which run lane by lane. */
static void plan_arenas(wf_prog *p)
{
    int n = p->n, bwd0 = 2 * n - 1;
    lifetimes lt = edge_lifetimes(p);
    items sh = {0}, ln = {0};
    for (int i = 0; i < n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = gnode(p, i);
        items *it = shared(r) ? &sh : &ln;
        int s = r->pos;
        if (!r->persist && !r->ext) {
            int start = s, end = lt.last[i];
            if (r->grad && (gn->kind->keep & WF_KEEP_OUT) && bwd0 - s > end)
                end = bwd0 - s;
            if (i == p->g->out && end < n - 1)
                end = n - 1;
            if (lt.xs_out[i] && !shared(r))
                widen(p, &start, &end, s, 0, end <= n - 1 ? end : bwd0 - end, end > n - 1);
            add_item(it, r->out_bytes, start, end, &r->off_out);
        }
        if (r->grad && r->ext != EXT_PARAM) {
            int start = i == p->g->out ? n : lt.first_adj[i], end = bwd0 - s;
            if (lt.xs_adj[i] && !shared(r))
                widen(p, &start, &end, bwd0 - start, 1, s, 1);
            r->adj_start = start;
            add_item(it, r->out_bytes, start, end, &r->off_adj);
        }
        if (r->sz.saved && r->grad)
            add_item(it, align64(r->sz.saved), s, bwd0 - s, &r->off_saved);
        if (r->sz.work)
            add_item(it, align64(r->sz.work), s, s, &r->off_work);
        if (r->sz.bwork && r->grad)
            add_item(it, align64(r->sz.bwork), bwd0 - s, bwd0 - s, &r->off_bwork);
    }
    for (int s = 0; s < p->nslots; s++) {
        slot *sl = &p->slots[s];
        const nrt *rx = &p->rt[sl->node];
        int start = sl->start, end = sl->end;
        sl->first = start;
        widen(p, &start, &end, bwd0 - start, 1, rx->pos, 1);
        sl->start = start;
        sl->end = end;
        add_item(&ln, rx->out_bytes, start, end, &sl->off);
    }
    plan_zeroing(p);
    p->arena_bytes = place(sh.v, sh.n);
    p->lane_bytes = align64(place(ln.v, ln.n));
    free(sh.v);
    free(ln.v);
    lifetimes_free(&lt);
}

static int bind_buffers(wf_prog *p, wf_diags *d)
{
    if (take_memory((void **)&p->arena, (double)p->arena_bytes, "its signals", d) ||
        take_memory((void **)&p->lane_arena, (double)p->lane_bytes * p->max_lanes,
                    "the signals of its lanes", d))
        return -1;
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = gnode(p, i);
        for (int l = 0; l < r->lanes; l++) {
            unsigned char *base = shared(r) ? p->arena : p->lane_arena + (size_t)l * p->lane_bytes;
            if (!r->persist && !r->ext)
                r->out[l] = (wf_real *)(base + r->off_out);
            if (r->grad && r->ext != EXT_PARAM)
                r->adj[l] = (wf_real *)(base + r->off_adj);
            if (r->sz.saved && r->grad)
                r->saved[l] = base + r->off_saved;
            if (r->sz.work)
                r->work[l] = base + r->off_work;
            if (r->sz.bwork && r->grad)
                r->bwork[l] = base + r->off_bwork;
        }
        if (r->ext == EXT_PARAM) {
            const wf_param *pa = &p->params->v[gn->ref];
            r->out[0] = pa->value;
            if (r->grad)
                r->adj[0] = pa->grad;
        }
    }
    for (int s = 0; s < p->nslots; s++)
        for (int l = 0; l < p->slots[s].lanes; l++)
            p->slots[s].p[l] = (wf_real *)(p->lane_arena + (size_t)l * p->lane_bytes + p->slots[s].off);
    return 0;
}

static void plan_inputs(wf_prog *p)
{
    const wf_graph *g = p->g;
    size_t ni = (size_t)(g->ninputs + 1);
    p->input_lanes = wf_xcalloc(ni, sizeof(int));
    p->input_data = wf_xcalloc(ni, sizeof *p->input_data);
    p->readers = wf_xcalloc(ni, sizeof *p->readers);
    p->reader_ctx = wf_xcalloc(ni, sizeof *p->reader_ctx);
    for (int j = 0; j < g->ninputs; j++) {
        int node = g->inputs[j].node;
        int L = node >= 0 ? p->rt[node].lanes : 1;
        p->input_lanes[j] = node >= 0 ? L : 0;
        p->input_data[j] = wf_xcalloc((size_t)L, sizeof(wf_real *));
        p->readers[j] = wf_xcalloc((size_t)L, sizeof(wf_read_fn));
        p->reader_ctx[j] = wf_xcalloc((size_t)L, sizeof(void *));
    }
}

wf_prog *wf_prog_plan(const wf_graph *g, const wf_env *env, wf_params *params, const wf_plan *o,
                      wf_diags *d)
{
    if (env->nsamples <= 0 || env->nsamples > (int64_t)1 << 31) {
        wf_report_bad_length(d, WF_NOWHERE, NULL, (double)env->nsamples);
        return NULL;
    }
    wf_prog *p = wf_xcalloc(1, sizeof *p);
    p->g = g;
    p->env = *env;
    p->params = params;
    p->mode = o->mode;
    p->n = g->n;
    p->items = o->items > 1 ? o->items : 1;
    p->max_lanes = 1;
    p->nonfinite = -1;
    p->fault = -1;
    p->voices = wf_xcalloc((size_t)g->nspaces + 1, sizeof(int));
    for (int k = 1; k <= g->nspaces; k++)
        p->voices[k] = o->voices && o->voices[k - 1] > 0 ? o->voices[k - 1] : 1;
    if (o->mode == WF_RUN_STREAM) {
        int bf = (o->block + env->hop / 2) / env->hop;
        p->bf = bf < 1 ? 1 : bf;
        p->block = p->bf * env->hop;
    } else {
        p->bf = (int)env->nframes;
        p->block = (int)env->nsamples;
    }
    p->rt = wf_xcalloc((size_t)(p->n ? p->n : 1), sizeof *p->rt);
    plan_readers(p);
    if (plan_kinds(p, d) || plan_lanes(p, o, d)) {
        wf_prog_free(p);
        return NULL;
    }
    if (o->mode == WF_RUN_STREAM && p->rt[g->out].lanes != 1) {
        wf_report_internal_stream_lanes(d, WF_NOWHERE, NULL, p->rt[g->out].lanes);
        wf_prog_free(p);
        return NULL;
    }
    if (o->mode == WF_RUN_STREAM) {
        plan_latency(p);
        int64_t gr = p->block;
        for (int i = 0; i < p->n; i++) {
            int64_t l = p->rt[i].lat < 0 ? -p->rt[i].lat : p->rt[i].lat;
            int64_t a = gr, b = l;
            while (b) {
                int64_t t = a % b;
                a = b;
                b = t;
            }
            gr = a;
        }
        p->env.granule = (int)gr;
    } else {
        p->env.granule = (int)env->nsamples;
    }
    plan_sizes(p);
    plan_schedule(p);
    alloc_lanes(p);
    if (plan_persist(p, d)) {
        wf_prog_free(p);
        return NULL;
    }
    plan_arenas(p);
    if (bind_buffers(p, d)) {
        wf_prog_free(p);
        return NULL;
    }
    plan_inputs(p);
    if (o->mode == WF_RUN_STREAM) {
        p->fifo_cap = 2 * p->block;
        p->fifo = wf_aalloc(sizeof(wf_real) * (size_t)p->fifo_cap *
                            (size_t)gnode(p, g->out)->shape.chans);
    }
    return p;
}

wf_prog *wf_prog_new(const wf_graph *g, const wf_env *env, wf_params *params, wf_run_mode mode,
                     int block, wf_diags *d)
{
    wf_plan o = {mode, block, 1, NULL, NULL};
    return wf_prog_plan(g, env, params, &o, d);
}

void wf_prog_free(wf_prog *p)
{
    if (!p)
        return;
    for (int i = 0; p->rt && i < p->n; i++) {
        nrt *r = &p->rt[i];
        free(r->out);
        free(r->adj);
        free(r->state);
        free(r->saved);
        free(r->work);
        free(r->bwork);
        free(r->in);
        free(r->din);
        free(r->slot_of);
    }
    for (int s = 0; s < p->nslots; s++)
        free(p->slots[s].p);
    free(p->slots);
    for (int j = 0; p->input_data && j < p->g->ninputs; j++) {
        free(p->input_data[j]);
        free(p->readers[j]);
        free(p->reader_ctx[j]);
    }
    free(p->input_lanes);
    free(p->input_data);
    free(p->readers);
    free(p->reader_ctx);
    free(p->rt);
    free(p->rd_first);
    free(p->rd);
    free(p->shapes);
    free(p->order);
    free(p->phases);
    free(p->voices);
    wf_afree(p->arena);
    wf_afree(p->lane_arena);
    wf_afree(p->persist);
    wf_afree(p->fifo);
    free(p);
}

/* ---------------------------------------------------------- accessors */

void wf_prog_set_input(wf_prog *p, int input, int lane, const wf_real *data)
{
    if (lane < 0 || lane >= p->input_lanes[input])
        return;
    p->input_data[input][lane] = data;
    p->once_done = 0;
}

void wf_prog_set_reader(wf_prog *p, int input, int lane, wf_read_fn fn, void *ctx)
{
    if (lane < 0 || lane >= p->input_lanes[input])
        return;
    p->readers[input][lane] = fn;
    p->reader_ctx[input][lane] = ctx;
}

int wf_prog_input_lanes(const wf_prog *p, int input)
{
    return p->input_lanes[input];
}

int wf_prog_out_chans(const wf_prog *p)
{
    return gnode(p, p->g->out)->shape.chans;
}

int wf_prog_out_lanes(const wf_prog *p)
{
    return p->rt[p->g->out].lanes;
}

const wf_graph *wf_prog_graph(const wf_prog *p)
{
    return p->g;
}

size_t wf_prog_out_len(const wf_prog *p)
{
    const wf_gnode *go = gnode(p, p->g->out);
    return (size_t)wf_prog_out_lanes(p) * (size_t)wf_env_frames(&p->env, go->shape.rate) *
           (size_t)go->shape.chans;
}

size_t wf_prog_arena_bytes(const wf_prog *p)
{
    return p->arena_bytes + p->lane_bytes * (size_t)p->max_lanes;
}

int64_t wf_prog_latency(const wf_prog *p)
{
    return p->rt[p->g->out].lat;
}

void wf_prog_invalidate(wf_prog *p)
{
    p->once_done = 0;
}

/* -------------------------------------------------------------- views */

static wf_real *data_of(const wf_prog *p, int i, int lane)
{
    const nrt *r = &p->rt[i];
    if (r->ext == EXT_INPUT && is_whole(p, i))
        return (wf_real *)p->input_data[gnode(p, i)->ref][lane];
    return r->out[lane];
}

/* A streamed audio input given whole is read where it is once its window's
 * history lies inside it (before that, from the window it is copied into,
 * whose history starts as silence): the whole data, or NULL. */
static const wf_real *input_in_place(const wf_prog *p, int i, int lane)
{
    const nrt *r = &p->rt[i];
    if (r->ext != EXT_INPUT || p->mode != WF_RUN_STREAM ||
        gnode(p, i)->shape.rate != WF_RATE_AUDIO || r->win0 - r->hist < 0)
        return NULL;
    return p->input_data[gnode(p, i)->ref][lane];
}

/* Frames a whole signal of node i holds. */
static int64_t whole_frames(const wf_prog *p, int i)
{
    return wf_env_frames(&p->env, gnode(p, i)->shape.rate);
}

/* Whether node i's data is the whole signal (params, inputs given whole,
 * and every signal outside streams), not a window with its history. */
static int is_whole(const wf_prog *p, int i)
{
    const nrt *r = &p->rt[i];
    if (p->mode != WF_RUN_STREAM || r->ext == EXT_PARAM)
        return 1;
    return r->ext == EXT_INPUT && gnode(p, i)->shape.rate == WF_RATE_CONTROL;
}

/* Node x as reader c sees it in lane `lane` of x: from c's window start, in
 * x's frames, to the end of what x has. */
static wf_sig view(const wf_prog *p, int x, int c, int lane, int adjoint)
{
    const wf_gnode *gx = gnode(p, x), *gc = gnode(p, c);
    const nrt *rx = &p->rt[x], *rc = &p->rt[c];
    wf_sig s = {NULL, 0, gx->shape.chans, gx->shape.rate,
                !adjoint && gx->kind == &wf_kind_const ? gx->opt[0].v : NULL};
    const wf_real *direct = adjoint ? NULL : input_in_place(p, x, lane);
    s.p = adjoint ? rx->adj[lane] : direct ? (wf_real *)direct : data_of(p, x, lane);
    if (gx->shape.rate == WF_RATE_CONST) {
        s.n = 1;
        return s;
    }
    int64_t start; /* c's window start in x's frames */
    if (gc->shape.rate == WF_RATE_CONST)
        start = 0;
    else if (gx->shape.rate == gc->shape.rate)
        start = rc->win0;
    else if (gx->shape.rate == WF_RATE_AUDIO)
        start = rc->win0 * p->env.hop;
    else
        start = rc->win0 / p->env.hop;
    int64_t t0 = 0, end = whole_frames(p, x);
    if (!adjoint && !is_whole(p, x)) {
        t0 = direct ? 0 : rx->win0 - rx->hist;
        end = rx->win1;
    }
    if (s.p) /* inputs may be given only after planning */
        s.p += (size_t)(start - t0) * (size_t)gx->shape.chans;
    s.n = (int)(end - start);
    return s;
}

/* The node's own output (or adjoint) window in lane `lane`. */
static wf_sig own(const wf_prog *p, int i, int lane, int adjoint)
{
    const wf_gnode *gn = gnode(p, i);
    const nrt *r = &p->rt[i];
    wf_sig s = {adjoint ? r->adj[lane] : r->out[lane], (int)(r->win1 - r->win0), gn->shape.chans,
                gn->shape.rate, NULL};
    if (gn->shape.rate == WF_RATE_CONST) {
        s.n = 1;
        return s;
    }
    if (!adjoint)
        s.p += (size_t)r->hist * (size_t)gn->shape.chans;
    return s;
}

static void build_ctx(wf_prog *p, int i, int lane, wf_kctx *k, int backward)
{
    const wf_gnode *gn = gnode(p, i);
    nrt *r = &p->rt[i];
    memset(k, 0, sizeof *k);
    k->prog = p;
    k->node = gn;
    k->env = &p->env;
    k->lane = lane;
    k->block = r->cap - r->hist;
    k->state = r->state[lane];
    k->saved = r->saved[lane];
    k->work = backward ? r->bwork[lane] : r->work[lane];
    wf_sig *in = r->in + (size_t)lane * (size_t)r->nview;
    wf_sig *din = r->din + (size_t)lane * (size_t)r->nview;
    int reduce = r->nview != gn->nin;
    k->nin = r->nview;
    for (int v = 0; v < r->nview; v++) {
        int j = reduce ? 0 : v;
        int x = gn->in[j];
        const nrt *rx = &p->rt[x];
        int xl = src_lane(r, lane, rx) + (reduce ? v : 0);
        in[v] = view(p, x, i, xl, 0);
        if (!backward)
            continue;
        const wf_arg_spec *as = wf_kind_input_spec(gn->kind, j);
        int want = rx->grad && !(as && (as->flags & WF_ARG_NODIFF));
        din[v] = (wf_sig){0};
        if (!want)
            continue;
        if (r->slot_of[j] >= 0) {
            din[v] = view(p, x, i, 0, 1);
            din[v].p = p->slots[r->slot_of[j]].p[lane];
        } else {
            din[v] = view(p, x, i, xl, 1);
        }
    }
    k->in = in;
    k->din = backward ? din : NULL;
    k->out = own(p, i, lane, 0);
    k->t0 = gn->shape.rate == WF_RATE_CONST ? 0 : r->win0;
}

/* ------------------------------------------------------------- forward */

static void reset_node(wf_prog *p, int i)
{
    nrt *r = &p->rt[i];
    const wf_node_kind *k = gnode(p, i)->kind;
    for (int l = 0; l < r->lanes; l++) {
        if (r->persist && !r->once && r->out[l])
            memset(r->out[l], 0, r->out_bytes);
        if (!r->state[l])
            continue;
        memset(r->state[l], 0, r->sz.state);
        if (k->reset) {
            wf_kctx kc;
            build_ctx(p, i, l, &kc, 0);
            k->reset(&kc);
        }
    }
}

static void reset_states(wf_prog *p)
{
    for (int i = 0; i < p->n; i++)
        reset_node(p, i);
}

/* Windows of every node for internal block b (STREAM), or the whole run. */
static void set_windows(wf_prog *p, int64_t b)
{
    int64_t B = p->block;
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        const wf_gnode *gn = gnode(p, i);
        if (gn->shape.rate == WF_RATE_CONST) {
            r->win0 = 0;
            r->win1 = 1;
            continue;
        }
        int64_t w0, w1, total = whole_frames(p, i);
        if (p->mode != WF_RUN_STREAM) {
            r->win0 = 0;
            r->win1 = total;
            continue;
        }
        w0 = b == 0 ? 0 : b * B - r->lat;
        w1 = (b + 1) * B - r->lat;
        if (gn->shape.rate == WF_RATE_CONTROL) {
            w0 /= p->env.hop;
            w1 /= p->env.hop;
        }
        r->win0 = w0 < 0 ? 0 : w0 > total ? total : w0;
        r->win1 = w1 < r->win0 ? r->win0 : w1 > total ? total : w1;
    }
}

static void read_stream_input(wf_prog *p, int i, int lane)
{
    nrt *r = &p->rt[i];
    const wf_gnode *gn = gnode(p, i);
    int C = gn->shape.chans, want = (int)(r->win1 - r->win0);
    wf_real *dst = r->out[lane] + (size_t)r->hist * (size_t)C;
    int got = 0;
    const wf_real *whole = p->input_data[gn->ref][lane];
    if (whole) {
        /* the history too (silence before the start), so that the window
         * never depends on what earlier blocks left in it */
        int64_t from = r->win0 - r->hist, lead = from < 0 ? -from : 0;
        memset(r->out[lane], 0, sizeof(wf_real) * (size_t)lead * (size_t)C);
        memcpy(r->out[lane] + (size_t)lead * C, whole + (size_t)(from + lead) * C,
               sizeof(wf_real) * (size_t)(r->win1 - from - lead) * (size_t)C);
        got = want;
    } else if (p->readers[gn->ref][lane]) {
        got = p->readers[gn->ref][lane](p->reader_ctx[gn->ref][lane], dst, want);
        if (got < 0)
            got = 0;
    }
    if (got < want)
        memset(dst + (size_t)got * C, 0, (size_t)(want - got) * (size_t)C * sizeof(wf_real));
}

static void watch_output(wf_prog *p, int i, const wf_sig *o)
{
    size_t len = (size_t)o->n * (size_t)o->chans;
    for (size_t t = 0; t < len; t++)
        if (!isfinite((double)o->p[t])) {
#pragma omp critical(wf_watch)
            if (p->nonfinite < 0 || p->rt[p->nonfinite].pos > p->rt[i].pos)
                p->nonfinite = i;
            break;
        }
}

static void forward_node(wf_prog *p, int i, int lane, int first)
{
    nrt *r = &p->rt[i];
    const wf_gnode *gn = gnode(p, i);
    if (r->ext == EXT_PARAM)
        return;
    if (r->ext == EXT_INPUT) {
        if (p->mode == WF_RUN_STREAM && gn->shape.rate == WF_RATE_AUDIO &&
            !input_in_place(p, i, lane))
            read_stream_input(p, i, lane);
        return;
    }
    if (r->once && !first)
        return;
    wf_kctx kc;
    build_ctx(p, i, lane, &kc, 0);
    if (kc.out.n > 0)
        gn->kind->forward(&kc);
    if (p->watch)
        watch_output(p, i, &kc.out);
}

/* Streams: moves the last `hist` frames before the next window to the front. */
static void shift_histories(wf_prog *p)
{
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        if (!r->hist || r->ext == EXT_PARAM)
            continue;
        const wf_gnode *gn = gnode(p, i);
        if (r->ext == EXT_INPUT && gn->shape.rate == WF_RATE_CONTROL)
            continue;
        size_t C = (size_t)gn->shape.chans, w = (size_t)(r->win1 - r->win0);
        for (int l = 0; l < r->lanes; l++)
            memmove(r->out[l], r->out[l] + w * C, (size_t)r->hist * C * sizeof(wf_real));
    }
}

static void run_phases(wf_prog *p, int first)
{
    for (int ph = 0; ph < p->nphases; ph++) {
        const phase *f = &p->phases[ph];
        if (f->lanes == 1) {
            for (int s = f->first; s <= f->last; s++)
                forward_node(p, p->order[s], 0, first);
            continue;
        }
#pragma omp parallel for schedule(dynamic, 1)
        for (int l = 0; l < f->lanes; l++)
            for (int s = f->first; s <= f->last; s++)
                forward_node(p, p->order[s], l, first);
    }
}

/* Appends the out's window of this block to the FIFO, in absolute time. */
static void fifo_push(wf_prog *p)
{
    int o = p->g->out;
    const nrt *r = &p->rt[o];
    size_t C = (size_t)gnode(p, o)->shape.chans;
    int64_t s = r->win0, e = r->win1, end = p->fifo_t0 + p->fifo_n;
    const wf_real *direct = input_in_place(p, o, 0);
    const wf_real *src = direct ? direct + (size_t)s * C : r->out[0] + (size_t)r->hist * C;
    if (s > end) { /* a later start than what was given: silence between */
        int gap = (int)(s - end);
        memset(p->fifo + (size_t)p->fifo_n * C, 0, sizeof(wf_real) * (size_t)gap * C);
        p->fifo_n += gap;
        end = s;
    }
    if (e > end) {
        int skip = (int)(end - s), len = (int)(e - end);
        memcpy(p->fifo + (size_t)p->fifo_n * C, src + (size_t)skip * C, sizeof(wf_real) * (size_t)len * C);
        p->fifo_n += len;
    }
    p->out_end = e;
}

/* Runs the next block; its out window goes to the FIFO, or when `direct`
 * and the window is the FIFO's next block exactly (nothing waiting, no gap,
 * no overlap), stays where it is: returns its frames then, else 0. */
static int run_block(wf_prog *p, int direct)
{
    int64_t b = p->blockno;
    set_windows(p, b);
    if (b == 0)
        reset_states(p);
    run_phases(p, b == 0 || !p->once_done);
    p->once_done = 1;
    const nrt *r = &p->rt[p->g->out];
    int len = direct && r->win0 == p->fifo_t0 ? (int)(r->win1 - r->win0) : 0;
    if (len <= 0 || len > p->block) {
        len = 0;
        fifo_push(p);
    } else {
        p->fifo_t0 = p->out_end = r->win1;
    }
    shift_histories(p);
    p->blockno++;
    return len;
}

/* Whether the out's windows may be handed out in place: an audio signal
 * computed into memory of its own with no history kept before its window
 * (which the next block would move over it). */
static int out_in_place(const wf_prog *p)
{
    const nrt *r = &p->rt[p->g->out];
    return !r->ext && !r->hist && gnode(p, p->g->out)->shape.rate == WF_RATE_AUDIO;
}

const wf_real *wf_prog_next_block(wf_prog *p, int *n)
{
    if (p->done)
        return NULL;
    size_t C = (size_t)wf_prog_out_chans(p);
    if (p->fifo_drop) { /* what the last call handed out leaves the FIFO */
        p->fifo_n -= p->fifo_drop;
        memmove(p->fifo, p->fifo + (size_t)p->fifo_drop * C, sizeof(wf_real) * (size_t)p->fifo_n * C);
        p->fifo_t0 += p->fifo_drop;
        p->fifo_drop = 0;
    }
    /* a whole block computed while nothing waits is handed out in place,
     * valid until the next call */
    if (p->fifo_n == 0 && p->out_end < p->env.nsamples && out_in_place(p)) {
        int direct = run_block(p, 1);
        if (direct) {
            *n = direct;
            return p->rt[p->g->out].out[0];
        }
    }
    while (p->fifo_n < p->block && p->out_end < p->env.nsamples)
        run_block(p, 0);
    int len = p->fifo_n < p->block ? p->fifo_n : p->block;
    if (len <= 0) {
        p->done = 1;
        return NULL;
    }
    p->fifo_drop = len;
    *n = len;
    return p->fifo;
}

static void whole_windows(wf_prog *p)
{
    set_windows(p, 0);
}

void wf_kernel_fault(wf_kctx *k, int frame, const char *what)
{
    for (; k->parent; k = k->parent)
        frame += (int)(k->t0 - k->parent->t0);
    wf_prog *p = k->prog;
    int i = (int)(k->node - p->g->nodes);
    int64_t at = k->t0 + frame;
#pragma omp critical(wf_fault)
    if (p->fault < 0 || p->rt[i].pos < p->rt[p->fault].pos ||
        (p->fault == i && at < p->fault_frame)) {
        p->fault = i;
        p->fault_frame = at;
        snprintf(p->fault_what, sizeof p->fault_what, "%s", what);
    }
}

int wf_prog_fault(const wf_prog *p, double *seconds, const char **what)
{
    if (p->fault < 0)
        return -1;
    const wf_gnode *gn = gnode(p, p->fault);
    double rate = gn->shape.rate == WF_RATE_AUDIO     ? p->env.sr
                  : gn->shape.rate == WF_RATE_CONTROL ? p->env.frame_rate
                                                      : 1;
    *seconds = (double)p->fault_frame / rate;
    *what = p->fault_what;
    return p->fault;
}

const wf_real *wf_prog_forward(wf_prog *p)
{
    p->fault = -1;
    whole_windows(p);
    reset_states(p);
    run_phases(p, !p->once_done);
    p->once_done = 1;
    return data_of(p, p->g->out, 0);
}

const wf_real *wf_prog_out(const wf_prog *p, int lane)
{
    return data_of(p, p->g->out, lane);
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

/* ------------------------------------------------------------ backward */

/* Adds the slots of node x into its own adjoint in lane l, in slot order. */
static void gather_slots(wf_prog *p, int x, int l)
{
    const nrt *rx = &p->rt[x];
    size_t len = (size_t)whole_frames(p, x) * (size_t)gnode(p, x)->shape.chans;
    for (int s = 0; s < p->nslots; s++) {
        const slot *sl = &p->slots[s];
        if (sl->node != x)
            continue;
        const nrt probe = {.item = sl->item, .vlanes = sl->vlanes};
        wf_real *dst = rx->adj[l];
        for (int j = 0; j < sl->lanes; j++) {
            if (src_lane(&probe, j, rx) != l)
                continue;
            const wf_real *src = sl->p[j];
            for (size_t t = 0; t < len; t++)
                dst[t] += src[t];
        }
    }
}

/* Adjoints whose lifetime starts at node i's backward start from zero there:
 * the lanes of each that map to this lane of node i. Node i need not be
 * their writer (a lifetime widened to its phase starts at the phase's first
 * node), but it runs in the writer's phase, so it has the writer's lanes,
 * which are the adjoint's own or, for a reduction, fewer. */
static void zero_adjoints(wf_prog *p, int i, int lane)
{
    const nrt *r = &p->rt[i];
    for (int q = r->zero_head; q >= 0; q = p->rt[q].zero_next) {
        const nrt *rq = &p->rt[q];
        size_t len = (size_t)whole_frames(p, q) * (size_t)gnode(p, q)->shape.chans * sizeof(wf_real);
        for (int l = 0; l < rq->lanes; l++)
            if (src_lane(rq, l, r) == lane)
                memset(rq->adj[l], 0, len);
    }
}

static void backward_node(wf_prog *p, int i, int lane)
{
    nrt *r = &p->rt[i];
    zero_adjoints(p, i, lane);
    if (!r->grad || r->ext == EXT_INPUT)
        return;
    gather_slots(p, i, lane);
    if (r->ext == EXT_PARAM)
        return;
    const wf_gnode *gn = gnode(p, i);
    wf_kctx kc;
    build_ctx(p, i, lane, &kc, 1);
    /* a slot group's first writer clears its slot of this lane */
    int bstep = 2 * p->n - 1 - r->pos;
    for (int j = 0; j < gn->nin; j++) {
        int sg = r->slot_of[j];
        if (sg >= 0 && p->slots[sg].first == bstep)
            memset(p->slots[sg].p[lane], 0,
                   (size_t)whole_frames(p, gn->in[j]) * (size_t)gnode(p, gn->in[j])->shape.chans *
                       sizeof(wf_real));
    }
    wf_sig dout = own(p, i, lane, 1);
    kc.dout = &dout;
    if (gn->kind->backward)
        gn->kind->backward(&kc);
}

void wf_prog_backward(wf_prog *p, const wf_real *dout)
{
    whole_windows(p);
    int o = p->g->out;
    nrt *ro = &p->rt[o];
    if (!ro->grad)
        return;
    size_t len = (size_t)whole_frames(p, o) * (size_t)gnode(p, o)->shape.chans;
    if (ro->ext == EXT_PARAM) {
        for (size_t t = 0; t < len; t++)
            ro->adj[0][t] += dout[t];
        return;
    }
    for (int l = 0; l < ro->lanes; l++)
        memcpy(ro->adj[l], dout + (size_t)l * len, len * sizeof(wf_real));
    for (int ph = p->nphases - 1; ph >= 0; ph--) {
        const phase *f = &p->phases[ph];
        if (f->lanes == 1) {
            for (int s = f->last; s >= f->first; s--)
                backward_node(p, p->order[s], 0);
            continue;
        }
#pragma omp parallel for schedule(dynamic, 1)
        for (int l = 0; l < f->lanes; l++)
            for (int s = f->last; s >= f->first; s--)
                backward_node(p, p->order[s], l);
    }
}

/* ------------------------------------------------------ live editing */

int64_t wf_prog_position(const wf_prog *p)
{
    return p->fifo_t0 + p->fifo_drop;
}

int64_t wf_prog_input_position(const wf_prog *p)
{
    return p->blockno * p->block;
}

/* Whether node j of `old` can hand its streaming state to node i of p: the
 * same node (id, kind, shape), running as late, with state and history laid
 * out alike. */
static int same_node(const wf_prog *p, int i, const wf_prog *old, int j)
{
    const wf_gnode *a = gnode(p, i), *b = gnode(old, j);
    const nrt *ra = &p->rt[i], *rb = &old->rt[j];
    return a->id == b->id && a->kind == b->kind && a->shape.rate == b->shape.rate &&
           a->shape.chans == b->shape.chans && ra->lanes == rb->lanes && ra->lat == rb->lat &&
           ra->hist == rb->hist && ra->cap == rb->cap && ra->sz.state == rb->sz.state &&
           ra->persist == rb->persist && !ra->once;
}

int wf_prog_adopt(wf_prog *p, const wf_prog *old)
{
    if (p->mode != WF_RUN_STREAM || old->mode != WF_RUN_STREAM || p->block != old->block)
        return 0;
    p->blockno = old->blockno;
    p->out_end = old->out_end;
    p->once_done = 0;
    set_windows(p, p->blockno);
    reset_states(p);
    /* what the old program computed and has not handed out yet */
    size_t C = (size_t)wf_prog_out_chans(p), oc = (size_t)wf_prog_out_chans(old);
    p->fifo_t0 = old->fifo_t0 + old->fifo_drop;
    p->fifo_n = old->fifo_n - old->fifo_drop;
    p->fifo_drop = 0;
    for (int t = 0; t < p->fifo_n; t++)
        for (size_t c = 0; c < C; c++)
            p->fifo[(size_t)t * C + c] =
                old->fifo[(size_t)(old->fifo_drop + t) * oc + (oc == C ? c : 0)];
    /* node ids are unique but for nodes no edit can tell apart (constants) */
    int kept = 0;
    for (int i = 0; i < p->n; i++) {
        nrt *r = &p->rt[i];
        if (r->ext == EXT_PARAM || (r->ext == EXT_INPUT && is_whole(p, i)))
            continue;
        for (int j = 0; j < old->n; j++) {
            if (!same_node(p, i, old, j))
                continue;
            const nrt *ro = &old->rt[j];
            for (int l = 0; l < r->lanes; l++) {
                if (r->sz.state)
                    memcpy(r->state[l], ro->state[l], r->sz.state);
                if (r->persist)
                    memcpy(r->out[l], ro->out[l], r->out_bytes);
            }
            kept++;
            break;
        }
    }
    return kept;
}
