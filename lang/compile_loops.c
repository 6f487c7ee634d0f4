/* Feedback loops: a binding that refers to itself, directly or through other
 * bindings, as Cmajor allows it: every way round must pass through a delay
 * of at least one sample (`y = x + 0.5 * delay(y, 10 ms)`).
 *
 * While a binding is evaluated, a reference to it is a placeholder node of
 * the shape the value will have (audio rate, one channel, one lane at
 * first; when the value turns out otherwise the binding is evaluated again
 * with that shape, its first try taken back). Once the patch is compiled,
 * the placeholders are replaced by the values they stand for, which makes
 * real cycles in the graph; each strongly connected part of it (Tarjan) is
 * then one loop node (runtime/graph.h, wf_loop; run by runtime/loop.c).
 *
 * A loop is cut by delays that are never shorter than some length: those
 * whose time has a lower bound known when compiling, from constants and
 * params' bounds through arithmetic (interval arithmetic). Among them the
 * longest are taken first, until every cycle passes through one; the
 * shortest taken is the step the loop runs in. A loop with no such cut is
 * the `cycle` error, naming the bindings on the way round. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

/* Stands for a binding's value inside its own expression; compiling
 * replaces it before anything runs. */
static const wf_node_kind feedback_kind = {
    .name = "feedback",
    .family = "loop",
    .doc = "The value of a binding inside its own expression (replaced when compiling).",
    .flags = WF_KIND_INTERNAL,
};

val wf_cc_feedback_ref(cc *c, binding *b, wf_loc at)
{
    if (!b->fb) {
        int id = wf_cc_add_node(c, &feedback_kind, 0, NULL, at);
        if (id < 0)
            return WF_POISON;
        c->g->nodes[id].shape = b->fbshape.chans ? b->fbshape : wf_shape_of(WF_RATE_AUDIO, 1);
        b->fb = id + 1;
        b->fbat = at;
        wf_str chain = {0};
        int start = 0;
        for (int i = 0; i < c->nevals; i++)
            if (c->evals[i] == b)
                start = i;
        for (int i = start; i < c->nevals; i++)
            wf_str_printf(&chain, "%s -> ", c->evals[i]->name);
        wf_str_puts(&chain, b->name);
        b->fbchain = wf_arena_strndup(&c->arena, chain.s, strlen(chain.s));
        wf_str_free(&chain);
    }
    return wf_cc_node(b->fb - 1);
}

static val eval_once(cc *c, binding *b)
{
    b->state = 1;
    c->evals[c->nevals++] = b;
    wf_mark m = {c->path, c->seq};
    c->path = b->path;
    c->seq = 0;
    val v = wf_cc_eval(c, b->scope, b->expr);
    wf_cc_leave(c, m);
    c->nevals--;
    return v;
}

static int same_shape(wf_shape a, wf_shape b)
{
    return a.rate == b.rate && a.chans == b.chans && a.lanes == b.lanes;
}

/* Takes back a try: its messages, and the bindings and loops it found. A
 * loop inside keeps the shape it learnt, as its first guess next time, so
 * that nested loops are not tried again and again. */
static void undo(cc *c, int nd, int nforced, int nloops)
{
    wf_diags_truncate(c->d, nd);
    for (int i = nforced; i < c->nforced; i++) {
        binding *f = c->forced[i];
        f->state = 0;
        f->value = WF_POISON;
        f->fb = 0;
    }
    c->nforced = nforced;
    c->nloops = nloops;
}

static void add_loop(cc *c, binding *b, int ref)
{
    if (c->nloops == c->caploops) {
        c->caploops = c->caploops ? 2 * c->caploops : 8;
        c->loops = wf_xrealloc(c->loops, sizeof *c->loops * (size_t)c->caploops);
    }
    c->loops[c->nloops++] = (fbloop){b->fb - 1, ref, b->name, b->fbchain, b->fbat};
}

/* Evaluates b again with its placeholder of shape `sh`, the last try taken
 * back. */
static val retry(cc *c, binding *b, wf_shape sh, int nd, int nforced, int nloops)
{
    undo(c, nd, nforced, nloops);
    b->fb = 0;
    b->fbshape = sh;
    return eval_once(c, b);
}

val wf_cc_eval_binding(cc *c, binding *b)
{
    int nd = c->d->n, nforced = c->nforced, nloops = c->nloops;
    val v = eval_once(c, b);
    if (!b->fb)
        return v;
    /* The placeholder's shape is a guess: one channel and one lane, then
     * the shape the value turned out to have; when the guess made the
     * expression fail (pick(y, 1) of one channel), two channels. */
    wf_shape first = c->g->nodes[b->fb - 1].shape, stereo = wf_shape_of(WF_RATE_AUDIO, 2);
    int first_errors = 0;
    for (int tries = 0; b->fb && tries < 3; tries++) {
        wf_shape ph = c->g->nodes[b->fb - 1].shape;
        if (v.kind == V_NODE) {
            wf_shape got = wf_cc_shape(c, v.node);
            if (same_shape(ph, got) || got.rate != WF_RATE_AUDIO || tries == 2)
                break;
            v = retry(c, b, got, nd, nforced, nloops);
        } else if (v.kind == V_POISON && tries == 0) {
            first_errors = c->d->errors;
            v = retry(c, b, stereo, nd, nforced, nloops);
        } else {
            break;
        }
    }
    /* both failed: the messages of the try with fewer (the others are
     * likely the guess's doing) */
    if (v.kind == V_POISON && b->fb && !same_shape(c->g->nodes[b->fb - 1].shape, first) &&
        c->d->errors >= first_errors)
        v = retry(c, b, first, nd, nforced, nloops);
    if (!b->fb || v.kind != V_NODE)
        return v;
    wf_shape ph = c->g->nodes[b->fb - 1].shape, got = wf_cc_shape(c, v.node);
    if (v.node == b->fb - 1) { /* y = y, or through other names only */
        wf_report_cycle(c->d, b->fbat, NULL, b->name, b->fbchain);
        return WF_POISON;
    }
    if (got.rate != WF_RATE_AUDIO) {
        wf_report_feedback_rate(c->d, b->fbat,
                                "a loop closes through a delay, which runs at audio rate",
                                b->name, wf_rate_name(got.rate));
        return WF_POISON;
    }
    if (!same_shape(ph, got)) {
        wf_report_feedback_shape(c->d, b->fbat, NULL, b->name, ph.chans, got.chans);
        return WF_POISON;
    }
    add_loop(c, b, v.node);
    return v;
}

void wf_cc_loops_free(cc *c)
{
    free(c->loops);
    free(c->forced);
}

/* ------------------------------------------------------- lower bounds */

#define BOUND_DEPTH 32

/* Bounds [*lo, *hi] of every value node i takes, or 0 when unknown. */
static int bounds(const wf_graph *g, int i, double *lo, double *hi, int depth)
{
    const wf_gnode *n = &g->nodes[i];
    const wf_node_kind *k = n->kind;
    if (depth > BOUND_DEPTH)
        return 0;
    if (k == &wf_kind_const) {
        *lo = INFINITY;
        *hi = -INFINITY;
        for (int j = 0; j < n->opt[0].n; j++) {
            *lo = fmin(*lo, n->opt[0].v[j]);
            *hi = fmax(*hi, n->opt[0].v[j]);
        }
        return n->opt[0].n > 0;
    }
    if (k == &wf_kind_param) {
        const wf_param_decl *p = &g->params[n->ref];
        *lo = p->lo;
        *hi = p->hi;
        return p->bounded;
    }
    if (k == &wf_kind_sine || k == &wf_kind_triangle) {
        *lo = -1;
        *hi = 1;
        return 1;
    }
    double a0, a1, b0, b1;
    if (n->nin < 1 || !bounds(g, n->in[0], &a0, &a1, depth + 1))
        return 0;
    if (k == &wf_kind_upsample || k == &wf_kind_smooth) { /* interpolation stays inside */
        *lo = a0;
        *hi = a1;
        return 1;
    }
    if (k == &wf_kind_neg) {
        *lo = -a1;
        *hi = -a0;
        return 1;
    }
    if (k == &wf_kind_exp) {
        *lo = exp(a0);
        *hi = exp(a1);
        return 1;
    }
    if (n->nin < 2 || !bounds(g, n->in[1], &b0, &b1, depth + 1))
        return 0;
    if (k == &wf_kind_add || k == &wf_kind_sub) {
        *lo = k == &wf_kind_add ? a0 + b0 : a0 - b1;
        *hi = k == &wf_kind_add ? a1 + b1 : a1 - b0;
        return 1;
    }
    if (k == &wf_kind_div) {
        if (b0 <= 0 && b1 >= 0)
            return 0;
        double r0 = 1 / b1, r1 = 1 / b0;
        b0 = r0;
        b1 = r1;
    }
    if (k == &wf_kind_mul || k == &wf_kind_div) {
        double p[4] = {a0 * b0, a0 * b1, a1 * b0, a1 * b1};
        *lo = fmin(fmin(p[0], p[1]), fmin(p[2], p[3]));
        *hi = fmax(fmax(p[0], p[1]), fmax(p[2], p[3]));
        return !isnan(*lo) && !isnan(*hi);
    }
    if (k == &wf_kind_min || k == &wf_kind_max) {
        *lo = k == &wf_kind_min ? fmin(a0, b0) : fmax(a0, b0);
        *hi = k == &wf_kind_min ? fmin(a1, b1) : fmax(a1, b1);
        return 1;
    }
    if (k == &wf_kind_clamp && n->nin == 3) {
        double c0, c1;
        if (!bounds(g, n->in[2], &c0, &c1, depth + 1))
            return 0;
        *lo = fmin(fmax(a0, b0), c1);
        *hi = fmax(fmin(a1, c1), b0);
        return 1;
    }
    return 0;
}

/* The shortest a delay node ever delays, in seconds (0 when unknown). */
static double shortest_delay(const wf_graph *g, int i)
{
    const wf_gnode *n = &g->nodes[i];
    double lo, hi;
    if (n->kind != &wf_kind_delay || !bounds(g, n->in[1], &lo, &hi, 0) || !(lo > 0))
        return 0;
    double maxd = n->opt[2].n ? n->opt[2].v[0] : 1.0;
    return fmin(lo, maxd);
}

/* ------------------------------------------------------------ cycles */

/* Strongly connected parts of the graph (Tarjan's algorithm, without
 * recursion): comp[i] numbers node i's part; returns how many. */
static int components(const wf_graph *g, int *comp)
{
    int n = g->n, ncomp = 0, idx = 0, sp = 0, cs = 0;
    int *index = wf_xmalloc(sizeof(int) * (size_t)n), *low = wf_xmalloc(sizeof(int) * (size_t)n);
    int *stack = wf_xmalloc(sizeof(int) * (size_t)n), *on = wf_xcalloc((size_t)n, sizeof(int));
    int *call = wf_xmalloc(sizeof(int) * (size_t)n), *edge = wf_xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        index[i] = -1;
    for (int root = 0; root < n; root++) {
        if (index[root] >= 0)
            continue;
        call[cs] = root;
        edge[cs++] = 0;
        index[root] = low[root] = idx++;
        stack[sp++] = root;
        on[root] = 1;
        while (cs) {
            int v = call[cs - 1];
            const wf_gnode *gv = &g->nodes[v];
            if (edge[cs - 1] < gv->nin) {
                int w = gv->in[edge[cs - 1]++];
                if (index[w] < 0) {
                    index[w] = low[w] = idx++;
                    stack[sp++] = w;
                    on[w] = 1;
                    call[cs] = w;
                    edge[cs++] = 0;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                int w;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = ncomp;
                } while (w != v);
                ncomp++;
            }
            cs--;
            if (cs && low[v] < low[call[cs - 1]])
                low[call[cs - 1]] = low[v];
        }
    }
    free(index);
    free(low);
    free(stack);
    free(on);
    free(call);
    free(edge);
    return ncomp;
}

/* A loop being made: its nodes (graph indices, ascending) and which cut. */
typedef struct part {
    int *v;
    int n;
    char *cut;
    int *order; /* positions of v in running order */
    double step, slack;
} part;

static int pos_in(const part *P, int node)
{
    int lo = 0, hi = P->n - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (P->v[m] == node)
            return m;
        if (P->v[m] < node)
            lo = m + 1;
        else
            hi = m - 1;
    }
    return -1;
}

/* Running order of the part with the cut delays' signal edges left out
 * (Kahn's algorithm, lowest index first); 0 when a cycle remains. */
static int run_order(const wf_graph *g, part *P)
{
    int n = P->n, done = 0;
    int *deps = wf_xcalloc((size_t)n, sizeof(int));
    char *placed = wf_xcalloc((size_t)n, 1);
    for (int a = 0; a < n; a++) {
        const wf_gnode *gn = &g->nodes[P->v[a]];
        for (int j = 0; j < gn->nin; j++)
            if (pos_in(P, gn->in[j]) >= 0 && !(P->cut[a] && j == 0))
                deps[a]++;
    }
    /* n is small next to the graph: a quadratic sweep keeps the order plain */
    for (int progress = 1; progress && done < n;) {
        progress = 0;
        for (int a = 0; a < n; a++) {
            if (placed[a] || deps[a])
                continue;
            placed[a] = 1;
            P->order[done++] = a;
            progress = 1;
            for (int b = 0; b < n; b++) {
                const wf_gnode *gb = &g->nodes[P->v[b]];
                for (int j = 0; j < gb->nin; j++)
                    if (gb->in[j] == P->v[a] && !(P->cut[b] && j == 0))
                        deps[b]--;
            }
            break;
        }
    }
    free(deps);
    free(placed);
    return done == n;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The loop record of part P, for messages: the first whose value is in it. */
static const fbloop *loop_of(const cc *c, const part *P)
{
    for (int i = 0; i < c->nloops; i++)
        if (pos_in(P, c->loops[i].ref) >= 0)
            return &c->loops[i];
    return c->nloops ? &c->loops[0] : NULL;
}

/* A state dummy run's sizes tell: whether kind k keeps state. */
static int keeps_state(const wf_graph *g, int i)
{
    const wf_gnode *n = &g->nodes[i];
    if (!n->kind->size)
        return 0;
    wf_shape sh[n->nin ? n->nin : 1];
    for (int j = 0; j < n->nin; j++)
        sh[j] = g->nodes[n->in[j]].shape;
    wf_env e = {48000, 250, 192, 48000, 250, 0, 48000};
    wf_sizes s = {0};
    n->kind->size(n, sh, &e, 1024, &s);
    return s.state > 0;
}

/* Checks part P can run as a loop and chooses its cut; -1 after reporting. */
static int plan_part(cc *c, part *P)
{
    const wf_graph *g = c->g;
    const fbloop *lp = loop_of(c, P);
    const char *name = lp ? lp->name : "?";
    for (int a = 0; a < P->n; a++) {
        const wf_gnode *n = &g->nodes[P->v[a]];
        const wf_node_kind *k = n->kind;
        if (n->shape.rate != WF_RATE_AUDIO) {
            wf_report_feedback_rate(c->d, n->loc,
                                    "a loop closes through a delay, which runs at audio rate",
                                    name, wf_rate_name(n->shape.rate));
            return -1;
        }
        int steps = (k->flags & WF_KIND_STEPS) || !keeps_state(g, P->v[a]);
        if (!steps || k->lookahead || (k->flags & WF_KIND_LANES)) {
            wf_report_feedback_node(c->d, n->loc,
                                    "its state cannot run in the loop's steps: move it outside "
                                    "the loop, or build the recursion from delay and arithmetic",
                                    k->name, name);
            return -1;
        }
        if (k == &wf_kind_delay && pos_in(P, n->in[0]) < 0) {
            wf_report_feedback_node(c->d, n->loc,
                                    "a delay inside a loop delays a signal of the loop; delay the "
                                    "outside signal before it enters",
                                    k->name, name);
            return -1;
        }
    }
    /* candidates, longest first */
    double(*cand)[2] = wf_xmalloc(sizeof *cand * (size_t)P->n);
    int nc = 0;
    for (int a = 0; a < P->n; a++) {
        const wf_gnode *n = &g->nodes[P->v[a]];
        double d = n->kind == &wf_kind_delay && pos_in(P, n->in[0]) >= 0
                       ? shortest_delay(g, P->v[a])
                       : 0;
        if (d > 0) {
            cand[nc][0] = d;
            cand[nc++][1] = a;
        }
    }
    qsort(cand, (size_t)nc, sizeof *cand, cmp_desc);
    int ok = 0;
    for (int i = 0; i < nc && !ok; i++) {
        P->cut[(int)cand[i][1]] = 1;
        P->step = cand[i][0];
        /* delays as long as this one all cut too */
        while (i + 1 < nc && cand[i + 1][0] == cand[i][0])
            P->cut[(int)cand[++i][1]] = 1;
        ok = run_order(g, P);
    }
    free(cand);
    for (int a = 0; a < P->n; a++)
        if (P->cut[a] && g->nodes[P->v[a]].opt[3].n && g->nodes[P->v[a]].opt[3].v[0] == 1)
            P->slack = 0.5; /* an allpass read reaches half a sample further */
    if (!ok) {
        wf_report_cycle(c->d, lp ? lp->at : g->nodes[P->v[0]].loc,
                        "feedback needs a delay on the way round whose time is at least one "
                        "sample and known when compiling: a constant, or a param with bounds "
                        "(`in [lo, hi]`)",
                        name, lp ? lp->chain : name);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------- collapsing */

/* Moves node i of the graph into the loop as node `to`, its inputs
 * renumbered: loop nodes by position, outside producers as loop inputs. */
static void move_node(wf_graph *g, const part *P, int a, wf_gnode *to, int **ext, int *next,
                      int *cap, const int *at_order)
{
    *to = g->nodes[P->v[a]];
    for (int j = 0; j < to->nin; j++) {
        int x = to->in[j], q = pos_in(P, x);
        if (q >= 0) {
            to->in[j] = at_order[q];
            continue;
        }
        int e = 0;
        while (e < *next && (*ext)[e] != x)
            e++;
        if (e == *next) {
            if (*next == *cap) {
                *cap = *cap ? 2 * *cap : 8;
                *ext = wf_xrealloc(*ext, sizeof(int) * (size_t)*cap);
            }
            (*ext)[(*next)++] = x;
        }
        to->in[j] = -1 - e;
    }
    memset(&g->nodes[P->v[a]], 0, sizeof(wf_gnode));
}

/* Makes part P one loop node at graph index `slot` (the place of its last
 * node) and returns, per node of P, which channels of the loop are its
 * output (first channel, or -1 when nothing outside reads it). */
static void collapse(wf_graph *g, const part *P, int slot, const char *is_read, int *chan0,
                     const char *name, char **labels)
{
    wf_loop *L = wf_xcalloc(1, sizeof *L);
    L->n = P->n;
    L->nodes = wf_xcalloc((size_t)P->n, sizeof(wf_gnode));
    L->cut = wf_xcalloc((size_t)P->n, 1);
    L->step = P->step;
    L->slack = P->slack;
    int *at_order = wf_xmalloc(sizeof(int) * (size_t)P->n);
    for (int o = 0; o < P->n; o++)
        at_order[P->order[o]] = o;
    int *ext = NULL, next = 0, cap = 0, chans = 0, lanes = 0;
    uint64_t id = 0x6c6f6f70; /* "loop": any change inside is a new node */
    /* messages about the loop's step point at the delay that sets it */
    wf_loc loc = g->nodes[P->v[P->n - 1]].loc;
    char *label = wf_xstrdup(name);
    for (int a = 0; a < P->n; a++)
        if (P->cut[a] && shortest_delay(g, P->v[a]) == P->step)
            loc = g->nodes[P->v[a]].loc;
    L->exports = wf_xmalloc(sizeof(int) * (size_t)P->n);
    for (int o = 0; o < P->n; o++) {
        int a = P->order[o];
        chan0[a] = -1;
        id = wf_hash_u64(id, g->nodes[P->v[a]].id);
        lanes = g->nodes[P->v[a]].shape.lanes;
        if (is_read[P->v[a]]) {
            chan0[a] = chans;
            chans += g->nodes[P->v[a]].shape.chans;
            L->exports[L->nexports++] = o;
            labels[a] = g->nodes[P->v[a]].label ? wf_xstrdup(g->nodes[P->v[a]].label) : NULL;
        }
        L->cut[o] = P->cut[a];
        move_node(g, P, a, &L->nodes[o], &ext, &next, &cap, at_order);
    }
    free(at_order);
    wf_gnode *n = &g->nodes[slot];
    memset(n, 0, sizeof *n);
    n->kind = &wf_kind_loop;
    n->nin = next;
    n->in = ext ? ext : wf_xmalloc(sizeof(int));
    n->opt = wf_xcalloc(1, sizeof *n->opt);
    n->shape = (wf_shape){WF_RATE_AUDIO, chans, lanes};
    n->ref = -1;
    n->id = id;
    n->loc = loc;
    n->label = label;
    n->loop = L;
}

/* Channels of the loop at graph index L whose export starts at channel ch0. */
static int exported_chans(const wf_graph *g, int L, int ch0)
{
    const wf_loop *lp = g->nodes[L].loop;
    for (int e = 0, ch = 0; e < lp->nexports; e++) {
        int C = lp->nodes[lp->exports[e]].shape.chans;
        if (ch == ch0)
            return C;
        ch += C;
    }
    return 0;
}

/* Puts the graph back in topological order after loops were made (a loop
 * sits where its last node was, which its outside readers may precede). */
static void reorder(wf_graph *g)
{
    int n = g->n, m = 0;
    int *deps = wf_xcalloc((size_t)n, sizeof(int)), *newi = wf_xmalloc(sizeof(int) * (size_t)n);
    int *order = wf_xmalloc(sizeof(int) * (size_t)n), *queue = wf_xmalloc(sizeof(int) * (size_t)n);
    int *rfirst = wf_xcalloc((size_t)n + 1, sizeof(int)), *rd;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].nin; j++)
            rfirst[g->nodes[i].in[j] + 1]++;
    for (int i = 0; i < n; i++)
        rfirst[i + 1] += rfirst[i];
    rd = wf_xmalloc(sizeof(int) * (size_t)(rfirst[n] + 1));
    int *fill = wf_xmalloc(sizeof(int) * (size_t)n);
    memcpy(fill, rfirst, sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        deps[i] = g->nodes[i].nin;
        for (int j = 0; j < g->nodes[i].nin; j++)
            rd[fill[g->nodes[i].in[j]]++] = i;
    }
    /* a min-heap of ready nodes keeps the original order where it can */
    int hn = 0;
#define HPUSH(x)                                                                               \
    do {                                                                                       \
        int k_ = hn++;                                                                         \
        queue[k_] = (x);                                                                       \
        while (k_ && queue[(k_ - 1) / 2] > queue[k_]) {                                        \
            int t_ = queue[k_];                                                                \
            queue[k_] = queue[(k_ - 1) / 2];                                                   \
            queue[(k_ - 1) / 2] = t_;                                                          \
            k_ = (k_ - 1) / 2;                                                                 \
        }                                                                                      \
    } while (0)
    for (int i = 0; i < n; i++)
        if (!deps[i] && g->nodes[i].kind) /* nodes moved into loops leave empty places */
            HPUSH(i);
    while (hn) {
        int v = queue[0];
        queue[0] = queue[--hn];
        for (int k = 0;;) {
            int l = 2 * k + 1, r = l + 1, s = k;
            if (l < hn && queue[l] < queue[s])
                s = l;
            if (r < hn && queue[r] < queue[s])
                s = r;
            if (s == k)
                break;
            int t = queue[k];
            queue[k] = queue[s];
            queue[s] = t;
            k = s;
        }
        newi[v] = m;
        order[m++] = v;
        for (int e = rfirst[v]; e < rfirst[v + 1]; e++)
            if (--deps[rd[e]] == 0)
                HPUSH(rd[e]);
    }
#undef HPUSH
    wf_gnode *nodes = wf_xmalloc(sizeof(wf_gnode) * (size_t)g->cap);
    for (int i = 0; i < m; i++) {
        nodes[i] = g->nodes[order[i]];
        for (int j = 0; j < nodes[i].nin; j++)
            nodes[i].in[j] = newi[nodes[i].in[j]];
    }
    free(g->nodes);
    g->nodes = nodes;
    g->n = m;
    g->out = newi[g->out];
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i].node >= 0)
            g->params[i].node = newi[g->params[i].node];
    for (int i = 0; i < g->ninputs; i++)
        if (g->inputs[i].node >= 0)
            g->inputs[i].node = newi[g->inputs[i].node];
    free(deps);
    free(newi);
    free(order);
    free(queue);
    free(rfirst);
    free(rd);
    free(fill);
}

int wf_cc_close_loops(cc *c)
{
    wf_graph *g = c->g;
    if (!c->nloops || g->out < 0)
        return 0;
    /* placeholders give way to the values they stand for */
    int *to = wf_xmalloc(sizeof(int) * (size_t)g->n);
    for (int i = 0; i < g->n; i++)
        to[i] = i;
    for (int l = 0; l < c->nloops; l++)
        to[c->loops[l].ph] = c->loops[l].ref;
    for (int i = 0; i < g->n; i++)
        for (int j = 0; j < g->nodes[i].nin; j++)
            g->nodes[i].in[j] = to[g->nodes[i].in[j]];
    g->out = to[g->out];
    free(to);
    int *comp = wf_xmalloc(sizeof(int) * (size_t)g->n);
    int ncomp = components(g, comp);
    int *size = wf_xcalloc((size_t)ncomp, sizeof(int));
    for (int i = 0; i < g->n; i++)
        size[comp[i]]++;
    char *is_loop = wf_xcalloc((size_t)g->n, 1);
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *n = &g->nodes[i];
        int self = 0;
        for (int j = 0; j < n->nin; j++)
            self |= n->in[j] == i;
        is_loop[i] = size[comp[i]] > 1 || self;
    }
    /* what outside a part reads of it becomes the loop's output */
    char *is_read = wf_xcalloc((size_t)g->n, 1);
    is_read[g->out] = 1;
    for (int i = 0; i < g->n; i++)
        for (int j = 0; j < g->nodes[i].nin; j++) {
            int x = g->nodes[i].in[j];
            if (is_loop[x] && comp[x] != comp[i])
                is_read[x] = 1;
        }
    int rc = 0;
    int *chan0 = wf_xmalloc(sizeof(int) * (size_t)g->n);
    int *loop_at = wf_xmalloc(sizeof(int) * (size_t)g->n); /* per node: its loop's node */
    char **label = wf_xcalloc((size_t)g->n, sizeof(char *)); /* per node read outside: its name */
    for (int i = 0; i < g->n; i++)
        loop_at[i] = -1;
    int n0 = g->n;
    for (int cmp = 0; cmp < ncomp && rc == 0; cmp++) {
        part P = {0};
        for (int i = 0; i < n0; i++)
            if (comp[i] == cmp && is_loop[i])
                P.n++;
        if (!P.n)
            continue;
        P.v = wf_xmalloc(sizeof(int) * (size_t)P.n);
        P.cut = wf_xcalloc((size_t)P.n, 1);
        P.order = wf_xmalloc(sizeof(int) * (size_t)P.n);
        P.n = 0;
        for (int i = 0; i < n0; i++)
            if (comp[i] == cmp && is_loop[i])
                P.v[P.n++] = i;
        rc = plan_part(c, &P);
        if (rc == 0) {
            int slot = P.v[P.n - 1];
            int *c0 = wf_xmalloc(sizeof(int) * (size_t)P.n);
            char **lab = wf_xcalloc((size_t)P.n, sizeof(char *));
            const fbloop *lp = loop_of(c, &P);
            collapse(g, &P, slot, is_read, c0, lp ? lp->name : "loop", lab);
            for (int a = 0; a < P.n; a++) {
                loop_at[P.v[a]] = slot;
                chan0[P.v[a]] = c0[a];
                label[P.v[a]] = lab[a];
            }
            free(c0);
            free(lab);
        }
        free(P.v);
        free(P.cut);
        free(P.order);
    }
    if (rc == 0) {
        /* outside readers read the loop, or the channels of it they need */
        int *pick = wf_xmalloc(sizeof(int) * (size_t)n0);
        for (int i = 0; i < n0; i++)
            pick[i] = -1;
        for (int i = 0; i < n0; i++) {
            int L = loop_at[i];
            if (L < 0 || chan0[i] < 0)
                continue;
            int C = exported_chans(g, L, chan0[i]);
            if (C == g->nodes[L].shape.chans) {
                pick[i] = L;
                continue;
            }
            int id = wf_graph_add(g, &wf_kind_pick, 1, &L, g->nodes[L].loc);
            wf_gnode *pn = &g->nodes[id], *ln = &g->nodes[L];
            pn->opt[1].n = C;
            pn->opt[1].v = wf_xmalloc(sizeof(double) * (size_t)C);
            for (int ch = 0; ch < C; ch++)
                pn->opt[1].v[ch] = chan0[i] + ch;
            pn->shape = (wf_shape){WF_RATE_AUDIO, C, ln->shape.lanes};
            pn->id = wf_hash_u64(ln->id, (uint64_t)chan0[i]);
            pn->label = label[i];
            label[i] = NULL;
            pick[i] = id;
        }
        for (int i = 0; i < g->n; i++) {
            wf_gnode *n = &g->nodes[i];
            if (!n->kind || i >= n0) /* an empty place, or a pick just made */
                continue;
            for (int j = 0; j < n->nin; j++)
                if (n->in[j] < n0 && pick[n->in[j]] >= 0)
                    n->in[j] = pick[n->in[j]];
        }
        if (pick[g->out] >= 0)
            g->out = pick[g->out];
        free(pick);
        reorder(g);
    }
    free(comp);
    free(size);
    free(is_loop);
    free(is_read);
    free(chan0);
    free(loop_at);
    for (int i = 0; i < n0; i++)
        free(label[i]);
    free(label);
    return rc;
}
