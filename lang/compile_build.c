/* The graph builder: every node the compiler makes goes through here, for
 * shape and rate inference by the kind's rule, automatic upsampling of
 * control signals that meet audio, constant folding in double, and node
 * identity. wf_build_node offers the same to programs without source text. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

val wf_cc_const(cc *c, int n, dim dm)
{
    val v = {V_CONST, wf_arena_alloc(&c->arena, sizeof(double) * (size_t)(n ? n : 1)), n, dm, -1,
             NULL};
    return v;
}

val wf_cc_node(int node)
{
    val v = {V_NODE, NULL, 0, DIM_NONE, node, NULL};
    return v;
}

wf_shape wf_cc_shape(cc *c, int node)
{
    return c->g->nodes[node].shape;
}

wf_mark wf_cc_enter(cc *c, uint64_t role)
{
    wf_mark m = {c->path, c->seq};
    c->path = wf_hash_u64(c->path, role);
    c->seq = 0;
    return m;
}

wf_mark wf_cc_enter_name(cc *c, const char *what, const char *name)
{
    wf_mark m = {c->path, c->seq};
    c->path = wf_hash_str(wf_hash_str(c->path, what), name);
    c->seq = 0;
    return m;
}

void wf_cc_leave(cc *c, wf_mark m)
{
    c->path = m.path;
    c->seq = m.seq;
}

/* A node's id: the path of the expression that made it, its kind, and how
 * many nodes that same expression made before it (a call with constant
 * arguments also makes their const nodes, and conversions). */
int wf_cc_add_node(cc *c, const wf_node_kind *k, int nin, const int *in, wf_loc loc)
{
    if (c->g->n >= MAX_NODES) {
        if (!c->too_big)
            wf_report_too_many_nodes(c->d, loc, NULL, MAX_NODES);
        c->too_big = 1;
        return -1;
    }
    int id = wf_graph_add(c->g, k, nin, in, loc);
    c->g->nodes[id].id = wf_hash_u64(wf_hash_str(c->path, k->name), (uint64_t)c->seq++);
    return id;
}

static int const_node(cc *c, const val *v, wf_loc loc)
{
    int id = wf_cc_add_node(c, &wf_kind_const, 0, NULL, loc);
    if (id < 0)
        return -1;
    wf_gnode *n = &c->g->nodes[id];
    n->opt[0].n = v->n;
    n->opt[0].v = wf_xmalloc(sizeof(double) * (size_t)v->n);
    memcpy(n->opt[0].v, v->v, sizeof(double) * (size_t)v->n);
    n->shape = wf_shape_of(WF_RATE_CONST, v->n);
    return id;
}

int wf_cc_as_node(cc *c, const val *v, wf_loc loc)
{
    if (v->kind == V_NODE)
        return v->node;
    if (v->kind == V_CONST)
        return const_node(c, v, loc);
    if (v->kind == V_STR)
        wf_report_string_not_signal(c->d, loc,
                                    "strings name files in `input` and `param ... per frame`");
    return -1;
}

/* The lanes of a node's output: the lane space of its inputs (signals of
 * one lane broadcast), none after a lane reduction. Two lane spaces cannot
 * meet: their voices do not correspond. */
static int infer_lanes(cc *c, const wf_node_kind *k, int nin, const wf_shape *shapes,
                       const wf_loc *in_loc, wf_loc loc, wf_shape *out)
{
    int lanes = 0, first = -1;
    for (int i = 0; i < nin; i++) {
        if (!shapes[i].lanes)
            continue;
        if (lanes && shapes[i].lanes != lanes) {
            wf_report_lane_mismatch(c->d, in_loc[i],
                                    "reduce one of them first, with lanes_sum() or lanes_mean()",
                                    k->name, i + 1, wf_cc_space_name(c, shapes[i].lanes),
                                    first + 1, wf_cc_space_name(c, lanes));
            return -1;
        }
        lanes = shapes[i].lanes;
        if (first < 0)
            first = i;
    }
    (void)loc;
    out->lanes = (k->flags & WF_KIND_LANES) ? 0 : lanes;
    return 0;
}

int wf_cc_make_node(cc *c, const wf_node_kind *k, int nin, int *in, const wf_loc *in_loc,
                    wf_opt *opts, wf_loc loc)
{
    wf_shape *shapes = wf_xmalloc(sizeof(wf_shape) * (size_t)(nin + 1));
    wf_rate *want = wf_xmalloc(sizeof(wf_rate) * (size_t)(nin + 1));
    int rc = 0;
    for (int i = 0; i < nin; i++) {
        shapes[i] = wf_cc_shape(c, in[i]);
        want[i] = shapes[i].rate;
        const wf_arg_spec *as = wf_kind_input_spec(k, i);
        if (as && (as->flags & WF_ARG_CONST_ONLY) && shapes[i].rate != WF_RATE_CONST) {
            wf_report_rate_mismatch(c->d, in_loc[i], "use a number or a param without 'per frame'",
                                    k->name, as->name, shapes[i].rate == WF_RATE_AUDIO ? "an" : "a",
                                    wf_rate_name(shapes[i].rate));
            rc = -1;
        }
    }
    wf_gnode tmp = {0};
    tmp.kind = k;
    tmp.nin = nin;
    tmp.in = in;
    tmp.opt = opts;
    wf_infer ic = {&tmp, nin, shapes, want, wf_shape_of(WF_RATE_CONST, 1), c->d, loc, in_loc, k->name};
    if (rc == 0 && k->infer)
        rc = k->infer(&ic);
    int id = -1;
    if (rc == 0 && ic.out.chans < 1) {
        wf_report_no_channels(c->d, loc, NULL, k->name);
        rc = -1;
    }
    if (rc == 0)
        rc = infer_lanes(c, k, nin, shapes, in_loc, loc, &ic.out);
    if (rc == 0) {
        for (int i = 0; i < nin; i++) {
            const wf_arg_spec *as = wf_kind_input_spec(k, i);
            if (want[i] == WF_RATE_AUDIO && shapes[i].rate == WF_RATE_CONTROL &&
                !(as && (as->flags & WF_ARG_KEEP_CONTROL))) {
                int up = wf_cc_add_node(c, &wf_kind_upsample, 1, &in[i], in_loc[i]);
                if (up < 0) {
                    rc = -1;
                    break;
                }
                c->g->nodes[up].shape = wf_shape_of(WF_RATE_AUDIO, shapes[i].chans);
                c->g->nodes[up].shape.lanes = shapes[i].lanes;
                in[i] = up;
            }
        }
    }
    int foldable = rc == 0 && k->fold && ic.out.rate == WF_RATE_CONST && nin <= 8;
    for (int i = 0; foldable && i < nin; i++)
        foldable = c->g->nodes[in[i]].kind == &wf_kind_const;
    if (foldable) {
        /* all inputs are constants: the result is one, computed in double */
        val v = wf_cc_const(c, ic.out.chans, DIM_NONE);
        for (int ch = 0; ch < v.n; ch++) {
            double x[8];
            for (int i = 0; i < nin; i++) {
                const wf_opt *o = &c->g->nodes[in[i]].opt[0];
                x[i] = o->v[o->n == 1 ? 0 : ch];
            }
            v.v[ch] = k->fold(x, opts, ch);
            if (!isfinite(v.v[ch])) {
                wf_report_fold_not_finite(c->d, loc, NULL, k->name, ch);
                rc = -1;
                break;
            }
        }
        if (rc == 0)
            id = const_node(c, &v, loc);
    } else if (rc == 0) {
        id = wf_cc_add_node(c, k, nin, in, loc);
    }
    if (!foldable && id >= 0) {
        wf_gnode *n = &c->g->nodes[id];
        free(n->opt);
        n->opt = opts;
        opts = NULL;
        n->shape = ic.out;
    }
    if (opts) {
        for (int a = 0; a < k->nargs; a++)
            free(opts[a].v);
        free(opts);
    }
    free(shapes);
    free(want);
    return id;
}

const char *wf_cc_space_name(cc *c, int k)
{
    for (int i = 0; i < c->g->ninputs; i++)
        if (c->g->inputs[i].space == k)
            return c->g->inputs[i].name;
    return "?";
}

wf_opt *wf_cc_new_opts(const wf_node_kind *k)
{
    return wf_xcalloc((size_t)(k->nargs + 1), sizeof(wf_opt));
}

int wf_build_node(wf_graph *g, const wf_node_kind *kind, int nin, const int *in, wf_opt *opts,
                  wf_loc loc, wf_diags *d)
{
    cc c = {0};
    c.g = g;
    c.d = d;
    c.path = wf_hash_u64(0, (uint64_t)g->n); /* each call its own identity */
    int *ins = wf_xmalloc(sizeof(int) * (size_t)(nin + 1));
    wf_loc *locs = wf_xmalloc(sizeof(wf_loc) * (size_t)(nin + 1));
    for (int i = 0; i < nin; i++) {
        ins[i] = in[i];
        locs[i] = loc;
    }
    if (!opts)
        opts = wf_cc_new_opts(kind);
    int id = wf_cc_make_node(&c, kind, nin, ins, locs, opts, loc);
    free(ins);
    free(locs);
    wf_arena_free(&c.arena);
    return id;
}
