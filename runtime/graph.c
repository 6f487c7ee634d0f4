/* The compiled graph: construction, pruning of nodes the output does not use,
 * and its Graphviz rendering for `weft graph`. */
#include "runtime/graph.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"
#include "runtime/node.h"

wf_graph *wf_graph_new(void)
{
    wf_graph *g = wf_xcalloc(1, sizeof *g);
    g->out = -1;
    g->frame_rate = 250;
    return g;
}

void wf_gnode_free(wf_gnode *n)
{
    const wf_node_kind *k = n->kind;
    if (n->opt)
        for (int a = 0; a < k->nargs; a++)
            free(n->opt[a].v);
    free(n->opt);
    free(n->in);
    free(n->label);
    if (n->loop) {
        for (int i = 0; i < n->loop->n; i++)
            wf_gnode_free(&n->loop->nodes[i]);
        free(n->loop->nodes);
        free(n->loop->cut);
        free(n->loop->exports);
        free(n->loop);
    }
}

void wf_graph_free(wf_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n; i++)
        wf_gnode_free(&g->nodes[i]);
    free(g->nodes);
    for (int i = 0; i < g->nparams; i++) {
        free(g->params[i].name);
        free(g->params[i].init);
        free(g->params[i].init_file);
    }
    free(g->params);
    for (int i = 0; i < g->ninputs; i++) {
        free(g->inputs[i].name);
        free(g->inputs[i].file);
        free(g->inputs[i].notes);
    }
    free(g->inputs);
    free(g);
}

int wf_graph_add(wf_graph *g, const wf_node_kind *kind, int nin, const int *in, wf_loc loc)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 32;
        g->nodes = wf_xrealloc(g->nodes, (size_t)g->cap * sizeof *g->nodes);
    }
    wf_gnode *n = &g->nodes[g->n];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->nin = nin;
    n->in = wf_xmalloc(sizeof(int) * (size_t)(nin ? nin : 1));
    if (nin)
        memcpy(n->in, in, sizeof(int) * (size_t)nin);
    n->opt = wf_xcalloc((size_t)(kind->nargs + 1), sizeof *n->opt);
    n->loc = loc;
    n->ref = -1;
    return g->n++;
}

static double *copy_doubles(const double *v, int n)
{
    if (!v)
        return NULL;
    double *c = wf_xmalloc(sizeof(double) * (size_t)(n ? n : 1));
    memcpy(c, v, sizeof(double) * (size_t)n);
    return c;
}

static void gnode_copy(wf_gnode *dst, const wf_gnode *src)
{
    *dst = *src;
    dst->in = wf_xmalloc(sizeof(int) * (size_t)(src->nin ? src->nin : 1));
    memcpy(dst->in, src->in, sizeof(int) * (size_t)src->nin);
    int nargs = src->kind->nargs;
    dst->opt = wf_xcalloc((size_t)nargs + 1, sizeof *dst->opt);
    for (int a = 0; src->opt && a < nargs; a++) {
        dst->opt[a].n = src->opt[a].n;
        dst->opt[a].v = copy_doubles(src->opt[a].v, src->opt[a].n);
    }
    dst->label = src->label ? wf_xstrdup(src->label) : NULL;
    if (src->loop) {
        const wf_loop *l = src->loop;
        wf_loop *c = wf_xmalloc(sizeof *c);
        *c = *l;
        c->nodes = wf_xmalloc(sizeof *c->nodes * (size_t)(l->n ? l->n : 1));
        for (int i = 0; i < l->n; i++)
            gnode_copy(&c->nodes[i], &l->nodes[i]);
        c->cut = wf_xmalloc((size_t)(l->n ? l->n : 1));
        memcpy(c->cut, l->cut, (size_t)l->n);
        c->exports = wf_xmalloc(sizeof(int) * (size_t)(l->nexports ? l->nexports : 1));
        memcpy(c->exports, l->exports, sizeof(int) * (size_t)l->nexports);
        dst->loop = c;
    }
}

wf_graph *wf_graph_copy(const wf_graph *g)
{
    wf_graph *c = wf_xmalloc(sizeof *c);
    *c = *g;
    c->cap = g->n ? g->n : 1;
    c->nodes = wf_xmalloc(sizeof *c->nodes * (size_t)c->cap);
    for (int i = 0; i < g->n; i++)
        gnode_copy(&c->nodes[i], &g->nodes[i]);
    c->params = wf_xmalloc(sizeof *c->params * (size_t)(g->nparams ? g->nparams : 1));
    for (int i = 0; i < g->nparams; i++) {
        c->params[i] = g->params[i];
        c->params[i].name = wf_xstrdup(g->params[i].name);
        c->params[i].init = copy_doubles(g->params[i].init, g->params[i].size);
        c->params[i].init_file = g->params[i].init_file ? wf_xstrdup(g->params[i].init_file) : NULL;
    }
    c->inputs = wf_xmalloc(sizeof *c->inputs * (size_t)(g->ninputs ? g->ninputs : 1));
    for (int i = 0; i < g->ninputs; i++) {
        c->inputs[i] = g->inputs[i];
        c->inputs[i].name = wf_xstrdup(g->inputs[i].name);
        c->inputs[i].file = g->inputs[i].file ? wf_xstrdup(g->inputs[i].file) : NULL;
        c->inputs[i].notes = NULL;
        if (g->inputs[i].notes) {
            size_t b = sizeof(wf_note_decl) * (size_t)g->inputs[i].nnotes;
            c->inputs[i].notes = wf_xmalloc(b ? b : 1);
            memcpy(c->inputs[i].notes, g->inputs[i].notes, b);
        }
    }
    return c;
}

void wf_graph_prune(wf_graph *g)
{
    if (g->out < 0)
        return;
    char *live = wf_xcalloc((size_t)g->n, 1);
    live[g->out] = 1;
    for (int i = g->n - 1; i >= 0; i--)
        if (live[i])
            for (int j = 0; j < g->nodes[i].nin; j++)
                live[g->nodes[i].in[j]] = 1;
    int *remap = wf_xmalloc(sizeof(int) * (size_t)g->n);
    int m = 0;
    for (int i = 0; i < g->n; i++) {
        if (!live[i]) {
            wf_gnode_free(&g->nodes[i]);
            remap[i] = -1;
            continue;
        }
        remap[i] = m;
        g->nodes[m] = g->nodes[i];
        for (int j = 0; j < g->nodes[m].nin; j++)
            g->nodes[m].in[j] = remap[g->nodes[m].in[j]];
        m++;
    }
    g->n = m;
    g->out = remap[g->out];
    for (int i = 0; i < g->nparams; i++)
        g->params[i].node = g->params[i].node >= 0 ? remap[g->params[i].node] : -1;
    for (int i = 0; i < g->ninputs; i++)
        g->inputs[i].node = g->inputs[i].node >= 0 ? remap[g->inputs[i].node] : -1;
    free(remap);
    free(live);
}

static void dot_escape(wf_str *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            wf_str_putc(b, '\\');
        wf_str_putc(b, *s);
    }
}

/* A loop's nodes as a cluster beside its node: edges inside it, dashed
 * where they come from earlier steps (into a delay that closes the loop),
 * from the producers outside, and from what it gives out to the loop. */
static void dot_loop(wf_str *b, const wf_gnode *n, int i)
{
    const wf_loop *L = n->loop;
    wf_str_printf(b, "  subgraph cluster_%d {\n    label=\"feedback loop, in steps of %g ms\";\n"
                     "    style=rounded;\n",
                  i, L->step * 1000);
    for (int j = 0; j < L->n; j++) {
        const wf_gnode *m = &L->nodes[j];
        wf_str_printf(b, "    n%d_%d [label=\"", i, j);
        if (m->label) {
            dot_escape(b, m->label);
            wf_str_puts(b, " = ");
        }
        dot_escape(b, m->kind->name);
        wf_str_printf(b, "\\n%s x%d\"];\n", wf_rate_name(m->shape.rate), m->shape.chans);
    }
    wf_str_puts(b, "  }\n");
    for (int j = 0; j < L->n; j++) {
        const wf_gnode *m = &L->nodes[j];
        for (int a = 0; a < m->nin; a++) {
            const wf_arg_spec *as = wf_kind_input_spec(m->kind, a);
            int x = m->in[a];
            if (x >= 0)
                wf_str_printf(b, "  n%d_%d -> n%d_%d [label=\"%s\"%s];\n", i, x, i, j,
                              as ? as->name : "", L->cut[j] && a == 0 ? ", style=dashed" : "");
            else
                wf_str_printf(b, "  n%d -> n%d_%d [label=\"%s\"];\n", n->in[-1 - x], i, j,
                              as ? as->name : "");
        }
    }
    for (int e = 0; e < L->nexports; e++)
        wf_str_printf(b, "  n%d_%d -> n%d;\n", i, L->exports[e], i);
}

char *wf_graph_dot(const wf_graph *g)
{
    wf_str b = {0};
    wf_str_puts(&b, "digraph weft {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *n = &g->nodes[i];
        const wf_node_kind *k = n->kind;
        if (n->loop)
            dot_loop(&b, n, i);
        wf_str_printf(&b, "  n%d [label=\"", i);
        if (n->label) {
            dot_escape(&b, n->label);
            wf_str_puts(&b, " = ");
        }
        if (n->kind == &wf_kind_param && n->ref >= 0) {
            wf_str_puts(&b, "param ");
            dot_escape(&b, g->params[n->ref].name);
        } else if (n->kind == &wf_kind_input && n->ref >= 0) {
            wf_str_puts(&b, "input ");
            dot_escape(&b, g->inputs[n->ref].name);
        } else if (n->kind == &wf_kind_const) {
            const wf_opt *o = &n->opt[0];
            if (o->n == 1) {
                wf_str_printf(&b, "%g", o->v[0]);
            } else {
                wf_str_putc(&b, '[');
                for (int j = 0; j < o->n && j < 4; j++)
                    wf_str_printf(&b, "%s%g", j ? ", " : "", o->v[j]);
                wf_str_puts(&b, o->n > 4 ? ", ...]" : "]");
            }
        } else {
            dot_escape(&b, k->name);
        }
        wf_str_printf(&b, "\\n%s x%d\"%s];\n", wf_rate_name(n->shape.rate), n->shape.chans,
                      i == g->out ? ", peripheries=2" : "");
    }
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *n = &g->nodes[i];
        if (n->loop) /* its inputs go to the nodes inside it */
            continue;
        for (int j = 0; j < n->nin; j++) {
            const wf_arg_spec *a = wf_kind_input_spec(n->kind, j);
            wf_str_printf(&b, "  n%d -> n%d [label=\"%s\"];\n", n->in[j], i, a ? a->name : "");
        }
    }
    wf_str_puts(&b, "}\n");
    return b.s;
}
