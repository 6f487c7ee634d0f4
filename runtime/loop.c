/* A feedback loop as one node of the graph (wf_kind_loop): the nodes of a
 * cycle of the patch (runtime/graph.h, wf_loop), run together in steps no
 * longer than the shortest delay that cuts the cycle.
 *
 * Within a step every node runs once, in the loop's order, over the step's
 * samples. A cut delay reads its input only from earlier steps (its delay is
 * at least a step), so what the loop feeds back is always computed before it
 * is read: y = x + g * delay(y, D) runs as y[s..s+B) from y[..s+B-D). Every
 * signal of the loop keeps `hist` frames of its past before the step (the
 * longest delay inside the loop), which a delay reads through k->past.
 *
 * The reverse sweep runs the same steps backwards in time, each node's
 * backward in reverse order over the step: the adjoint a cut delay sends to
 * its input lands in earlier steps, which the sweep reaches later, so when a
 * step's adjoints are read they are complete, and the gradient through the
 * loop is exact (the adjoint of the unrolled recursion, without unrolling).
 * A kind may sit in a loop when its kernels are pointwise in time (it keeps
 * no state) or it is WF_KIND_STEPS (lang/compile_loops.c checks).
 *
 * Memory, per lane: in `state` every node's own state and its signal,
 * [hist + block] frames; in `saved` (fits) every node's tape for each step;
 * in `bwork` every node's adjoint, laid out like its signal. A stream keeps
 * the last `hist` frames of each signal from one call to the next. */
#include <math.h>
#include <string.h>

#include "runtime/node.h"
#include "runtime/util.h"

/* Where a loop's pieces live, for one block length. */
typedef struct layout {
    int B;      /* step, samples */
    int hist;   /* frames of past kept before each signal */
    int cap;    /* frames per signal: hist + block */
    int nsteps; /* steps of a whole block */
    int maxin;  /* most inputs of one node */
    size_t state, saved, work, bwork;
} layout;

static size_t up64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* The step in samples: the cut delays' lower bound, less a margin for the
 * float rounding of times (a delay of 1/rate comes out 0.99999994 samples;
 * the delay snaps to whole samples inside loops, stdlib/delay.c). */
static int step_samples(const wf_loop *L, const wf_env *e)
{
    double B = floor(L->step * e->sr * (1 - 1e-6) + 1e-3 - L->slack);
    return B < 1 ? 1 : B > 1 << 20 ? 1 << 20 : (int)B;
}

/* Shapes of node i's inputs: the loop's nodes, or the loop's inputs. */
static void input_shapes(const wf_loop *L, int i, const wf_shape *ext, wf_shape *sh)
{
    const wf_gnode *g = &L->nodes[i];
    for (int j = 0; j < g->nin; j++)
        sh[j] = g->in[j] >= 0 ? L->nodes[g->in[j]].shape : ext[-1 - g->in[j]];
}

static void node_sizes(const wf_loop *L, int i, const wf_shape *ext, const wf_env *e, int B,
                       wf_sizes *s)
{
    const wf_gnode *g = &L->nodes[i];
    memset(s, 0, sizeof *s);
    if (!g->kind->size)
        return;
    wf_shape sh[g->nin ? g->nin : 1];
    input_shapes(L, i, ext, sh);
    g->kind->size(g, sh, e, B, s);
}

static layout plan(const wf_loop *L, const wf_shape *ext, const wf_env *e, int block)
{
    layout y = {0};
    y.B = step_samples(L, e);
    for (int i = 0; i < L->n; i++) {
        const wf_gnode *g = &L->nodes[i];
        if (g->kind->past) {
            int h = g->kind->past(g, e);
            if (h > y.hist)
                y.hist = h;
        }
        if (g->nin > y.maxin)
            y.maxin = g->nin;
    }
    y.cap = y.hist + block;
    y.nsteps = (block + y.B - 1) / y.B;
    size_t work = 0, bwork = 0;
    for (int i = 0; i < L->n; i++) {
        wf_sizes s;
        node_sizes(L, i, ext, e, y.B, &s);
        size_t sig = (size_t)y.cap * (size_t)L->nodes[i].shape.chans * sizeof(wf_real);
        y.state += up64(s.state) + up64(sig) + 128;
        y.saved += (size_t)y.nsteps * up64(s.saved) + 64;
        y.bwork += up64(sig) + 64;
        if (s.work > work)
            work = s.work;
        if (s.bwork > bwork)
            bwork = s.bwork;
    }
    /* the call's own tables (struct run's arrays) */
    size_t tables = (size_t)L->n * (4 * sizeof(void *) + sizeof(size_t)) +
                    (size_t)(y.maxin + 1) * 2 * sizeof(wf_sig) + 6 * 64;
    y.work = tables + work + 64;
    y.bwork += tables + bwork + 64;
    return y;
}

static void loop_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                      wf_sizes *s)
{
    layout y = plan(g->loop, in, e, block);
    s->state = y.state;
    s->saved = y.saved;
    s->work = y.work;
    s->bwork = y.bwork;
}

/* A call's view of the pieces, its tables carved from the call's scratch. */
typedef struct run {
    const wf_loop *L;
    layout y;
    void **st;      /* per node: its state */
    wf_real **sig;  /* per node: its signal, frame 0 = the call's first */
    wf_real **adj;  /* per node: its adjoint, likewise (backward) */
    unsigned char **tape; /* per node: its tape of step 0 (fits) */
    size_t *tstep;  /* per node: bytes of tape per step */
    wf_shape *ext;  /* the loop's input shapes */
    wf_sig *in, *din;
    void *work;     /* what is left for the nodes' kernels */
} run;

static void start(wf_kctx *k, run *r, int backward)
{
    const wf_loop *L = k->node->loop;
    void *sc = k->work;
    wf_shape *ext = wf_carve(&sc, (size_t)(k->nin + 1) * sizeof(wf_shape));
    /* sizes are planned from the loop's input shapes, which the views tell */
    for (int j = 0; j < k->nin; j++)
        ext[j] = (wf_shape){k->in[j].rate, k->in[j].chans, 0};
    r->L = L;
    r->ext = ext;
    r->y = plan(L, ext, k->env, k->block);
    r->st = wf_carve(&sc, (size_t)L->n * sizeof(void *));
    r->sig = wf_carve(&sc, (size_t)L->n * sizeof(void *));
    r->adj = wf_carve(&sc, (size_t)L->n * sizeof(void *));
    r->tape = wf_carve(&sc, (size_t)L->n * sizeof(void *));
    r->tstep = wf_carve(&sc, (size_t)L->n * sizeof(size_t));
    r->in = wf_carve(&sc, (size_t)(r->y.maxin + 1) * sizeof(wf_sig));
    r->din = wf_carve(&sc, (size_t)(r->y.maxin + 1) * sizeof(wf_sig));
    void *cur = k->state, *tp = k->saved;
    for (int i = 0; i < L->n; i++) {
        wf_sizes s;
        node_sizes(L, i, ext, k->env, r->y.B, &s);
        size_t C = (size_t)L->nodes[i].shape.chans;
        r->st[i] = s.state ? wf_carve(&cur, s.state) : NULL;
        r->sig[i] = (wf_real *)wf_carve(&cur, (size_t)r->y.cap * C * sizeof(wf_real)) +
                    (size_t)r->y.hist * C;
        r->tstep[i] = up64(s.saved);
        r->tape[i] = tp && s.saved ? wf_carve(&tp, (size_t)r->y.nsteps * r->tstep[i]) : NULL;
        r->adj[i] = backward ? (wf_real *)wf_carve(&sc, (size_t)r->y.cap * C * sizeof(wf_real)) +
                                   (size_t)r->y.hist * C
                             : NULL;
    }
    r->work = (void *)(((uintptr_t)sc + 63) & ~(uintptr_t)63);
}

/* A loop input as a node sees it over the step starting `s` samples into
 * the call: control inputs from the frame holding the step's first sample. */
static wf_sig ext_view(const wf_kctx *k, const wf_sig *x, int s)
{
    wf_sig v = *x;
    if (!v.p || v.rate == WF_RATE_CONST)
        return v;
    int64_t off = s;
    if (v.rate == WF_RATE_CONTROL)
        off = (k->t0 + s) / k->env->hop - k->t0 / k->env->hop;
    v.p += (size_t)off * (size_t)v.chans;
    v.n -= (int)off;
    return v;
}

static void node_ctx(wf_kctx *k, run *r, int i, int s, int len, int step, int backward,
                     wf_kctx *ki)
{
    const wf_gnode *g = &r->L->nodes[i];
    int C = g->shape.chans;
    memset(ki, 0, sizeof *ki);
    ki->prog = k->prog;
    ki->parent = k;
    ki->node = g;
    ki->env = k->env;
    ki->lane = k->lane;
    ki->block = r->y.B;
    ki->state = r->st[i];
    ki->saved = r->tape[i] ? r->tape[i] + (size_t)step * r->tstep[i] : NULL;
    ki->work = r->work;
    ki->nin = g->nin;
    ki->t0 = k->t0 + s;
    ki->past = r->y.hist + s;
    ki->least = r->L->cut[i] ? r->y.B : 0;
    for (int j = 0; j < g->nin; j++) {
        int x = g->in[j];
        if (x >= 0) {
            int Cx = r->L->nodes[x].shape.chans;
            r->in[j] = (wf_sig){r->sig[x] + (size_t)s * Cx, len, Cx, WF_RATE_AUDIO, NULL};
            if (backward)
                r->din[j] = (wf_sig){r->adj[x] + (size_t)s * Cx, len, Cx, WF_RATE_AUDIO, NULL};
        } else {
            r->in[j] = ext_view(k, &k->in[-1 - x], s);
            if (backward)
                r->din[j] = ext_view(k, &k->din[-1 - x], s);
        }
    }
    ki->in = r->in;
    ki->out = (wf_sig){r->sig[i] + (size_t)s * C, len, C, WF_RATE_AUDIO, NULL};
    if (backward) {
        ki->din = r->din;
        r->in[g->nin] = (wf_sig){r->adj[i] + (size_t)s * C, len, C, WF_RATE_AUDIO, NULL};
        ki->dout = &r->in[g->nin];
    }
}

static void loop_reset(wf_kctx *k)
{
    run r;
    start(k, &r, 0);
    for (int i = 0; i < r.L->n; i++) {
        if (!r.L->nodes[i].kind->reset || !r.st[i])
            continue;
        wf_kctx ki;
        node_ctx(k, &r, i, 0, 0, 0, 0, &ki);
        r.L->nodes[i].kind->reset(&ki);
    }
}

static void loop_forward(wf_kctx *k)
{
    run r;
    start(k, &r, 0);
    const wf_loop *L = r.L;
    int n = k->out.n, B = r.y.B;
    for (int s = 0, step = 0; s < n; s += B, step++) {
        int len = n - s < B ? n - s : B;
        for (int i = 0; i < L->n; i++) {
            wf_kctx ki;
            node_ctx(k, &r, i, s, len, step, 0, &ki);
            L->nodes[i].kind->forward(&ki);
        }
    }
    int Co = k->out.chans, off = 0;
    for (int e = 0; e < L->nexports; e++) {
        int x = L->exports[e], C = L->nodes[x].shape.chans;
        for (int t = 0; t < n; t++)
            memcpy(k->out.p + (size_t)t * Co + off, r.sig[x] + (size_t)t * C,
                   (size_t)C * sizeof(wf_real));
        off += C;
    }
    /* a stream's next call reads the past of every signal before its own */
    if (!k->saved && r.y.hist)
        for (int i = 0; i < L->n; i++) {
            size_t C = (size_t)L->nodes[i].shape.chans;
            wf_real *base = r.sig[i] - (size_t)r.y.hist * C;
            memmove(base, base + (size_t)n * C, (size_t)r.y.hist * C * sizeof(wf_real));
        }
}

static void loop_backward(wf_kctx *k)
{
    run r;
    start(k, &r, 1);
    const wf_loop *L = r.L;
    int n = k->out.n, B = r.y.B, Co = k->out.chans;
    for (int i = 0; i < L->n; i++) {
        size_t C = (size_t)L->nodes[i].shape.chans;
        memset(r.adj[i] - (size_t)r.y.hist * C, 0, (size_t)(r.y.hist + n) * C * sizeof(wf_real));
        /* the state now carries a stepped backward's adjoint recursion */
        wf_sizes sz;
        node_sizes(L, i, r.ext, k->env, B, &sz);
        if (r.st[i])
            memset(r.st[i], 0, sz.state);
    }
    for (int e = 0, off = 0; e < L->nexports; e++) {
        int x = L->exports[e], C = L->nodes[x].shape.chans;
        for (int t = 0; t < n; t++)
            for (int c = 0; c < C; c++)
                r.adj[x][(size_t)t * C + c] += k->dout->p[(size_t)t * Co + off + c];
        off += C;
    }
    int steps = (n + B - 1) / B;
    for (int step = steps - 1; step >= 0; step--) {
        int s = step * B, len = n - s < B ? n - s : B;
        for (int i = L->n - 1; i >= 0; i--) {
            wf_kctx ki;
            node_ctx(k, &r, i, s, len, step, 1, &ki);
            L->nodes[i].kind->backward(&ki);
        }
    }
}

const wf_node_kind wf_kind_loop = {
    .name = "loop",
    .family = "loop",
    .doc = "A feedback loop: the nodes of a cycle of the patch, run in steps no longer than "
           "the delay that closes it.",
    .flags = WF_KIND_INTERNAL,
    .keep = WF_KEEP_ALL | WF_KEEP_OUT,
    .size = loop_size,
    .reset = loop_reset,
    .forward = loop_forward,
    .backward = loop_backward,
};
