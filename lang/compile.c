/* The compiler: names, defs, units, constant folding, signatures, shapes and
 * rates, from syntax trees to a wf_graph (see compile.h).
 *
 * Evaluation is by demand: `out` is evaluated first and pulls in the bindings
 * it names; bindings nobody uses are evaluated afterwards so that their errors
 * are still reported. A binding met again while it is being evaluated is a
 * cycle. Each error yields a "poison" value that later checks stay quiet
 * about, so one mistake gives one message. */
#define _POSIX_C_SOURCE 200809L
#include "lang/compile.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/node.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

#ifndef WF_STDLIB_DIR
#define WF_STDLIB_DIR ""
#endif
#ifndef WF_STDLIB_INSTALL_DIR
#define WF_STDLIB_INSTALL_DIR ""
#endif

#define MAX_NODES 2000000
#define MAX_DEPTH 200
#define MAX_VECTOR 1000000
/* Recursion of eval through brackets, calls, unary minus, defs and bindings
 * together (operator chains are walked with a loop): bounded so that a
 * pathological patch gets an error rather than a stack overflow. */
#define MAX_EVAL_DEPTH 1000

/* Physical dimension of a constant, for unit checks in settings and params. */
typedef enum { DIM_NONE, DIM_FREQ, DIM_TIME, DIM_GAIN } dim;

static const char *dim_name(dim d)
{
    return d == DIM_FREQ ? "a frequency" : d == DIM_TIME ? "a time" : d == DIM_GAIN ? "a gain (db)" : "a plain number";
}

typedef enum { V_POISON, V_CONST, V_NODE, V_STR } vkind;

typedef struct val {
    vkind kind;
    double *v; /* V_CONST: n numbers */
    int n;
    dim dim;
    int node;        /* V_NODE */
    const char *str; /* V_STR */
} val;

static const val POISON = {V_POISON, NULL, 0, DIM_NONE, -1, NULL};

typedef enum { B_LAZY, B_VALUE } bkind;

typedef struct binding {
    const char *name;
    wf_loc loc;
    bkind kind;
    const wf_ast *expr;
    struct scope *scope; /* where a lazy binding is evaluated */
    int state;           /* 0 new, 1 being evaluated, 2 done */
    val value;
} binding;

typedef struct scope {
    binding *v;
    int n, cap;
    struct scope *parent;
} scope;

typedef struct def {
    const char *name;
    const wf_stmt *st;
} def;

typedef struct frame {
    const char *name;
    wf_loc loc;
} frame;

typedef struct cc {
    wf_patch *patch;
    wf_graph *g;
    wf_diags *d;
    wf_arena arena;
    scope globals;
    def *defs;
    int ndefs, capdefs;
    frame calls[MAX_DEPTH]; /* defs being expanded */
    int ncalls;
    const binding *evals[MAX_DEPTH * 4]; /* bindings being evaluated */
    int nevals;
    const wf_compile_opts *opts;
    int too_big;
    int depth;    /* eval recursion */
    int too_deep;
} cc;

static val eval(cc *c, scope *s, const wf_ast *e);

/* ---------------------------------------------------------------- helpers */

static val mkconst(cc *c, int n, dim dm)
{
    val v = {V_CONST, wf_arena_alloc(&c->arena, sizeof(double) * (size_t)(n ? n : 1)), n, dm, -1,
             NULL};
    return v;
}

static val mknode(int node)
{
    val v = {V_NODE, NULL, 0, DIM_NONE, node, NULL};
    return v;
}

static wf_loc ast_span(const wf_ast *e)
{
    wf_loc l = e->loc;
    /* underline the whole expression when it sits on one line */
    if (e->first_line == e->last_line && e->start <= l.off) {
        l.col -= l.off - e->start;
        l.off = e->start;
        l.len = e->end - e->start;
    }
    return l;
}

static binding *scope_find_local(scope *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

static binding *scope_lookup(scope *s, const char *name)
{
    for (; s; s = s->parent) {
        binding *b = scope_find_local(s, name);
        if (b)
            return b;
    }
    return NULL;
}

static void scope_free(scope *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static def *find_def(cc *c, const char *name)
{
    for (int i = 0; i < c->ndefs; i++)
        if (strcmp(c->defs[i].name, name) == 0)
            return &c->defs[i];
    return NULL;
}

static void dup_error(cc *c, wf_loc loc, const char *name, wf_loc first)
{
    char hint[256];
    if (first.src)
        snprintf(hint, sizeof hint, "first defined at %s:%d:%d", first.src->path, first.line,
                 first.col);
    else
        snprintf(hint, sizeof hint, "'%s' is a built-in node", name);
    wf_diag(c->d, WF_SEV_ERROR, loc, hint, "duplicate name '%s'", name);
}

/* Adds a binding; reports a duplicate in the same scope, or a clash with a
 * def or, at top level, with a param or input. */
static binding *bind(cc *c, scope *s, const char *name, wf_loc loc)
{
    binding *old = scope_find_local(s, name);
    if (old) {
        dup_error(c, loc, name, old->loc);
        return NULL;
    }
    const def *df = find_def(c, name);
    if (df) {
        dup_error(c, loc, name, df->st->name_loc);
        return NULL;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = wf_xrealloc(s->v, sizeof *s->v * (size_t)s->cap);
    }
    binding *b = &s->v[s->n++];
    memset(b, 0, sizeof *b);
    b->name = name;
    b->loc = loc;
    b->scope = s;
    return b;
}

/* "did you mean" among the values visible from s or, for a call, among defs
 * and nodes: a suggestion of the wrong sort would only lead to another error. */
static const char *suggest_name(cc *c, scope *s, const char *name, int callables)
{
    int cap = 64, n = 0;
    const char **cands = wf_xmalloc(sizeof(char *) * (size_t)cap);
#define ADD(x)                                                                                 \
    do {                                                                                       \
        if (n == cap) {                                                                        \
            cap *= 2;                                                                          \
            cands = wf_xrealloc(cands, sizeof(char *) * (size_t)cap);                          \
        }                                                                                      \
        cands[n++] = (x);                                                                      \
    } while (0)
    for (scope *p = s; p; p = p->parent)
        for (int i = 0; i < p->n; i++)
            ADD(p->v[i].name);
    if (callables) {
        for (int i = 0; i < c->ndefs; i++)
            ADD(c->defs[i].name);
        for (int i = 0; i < WF_NODE_COUNT; i++)
            if (!(wf_registry[i]->flags & WF_KIND_INTERNAL))
                ADD(wf_registry[i]->name);
    }
#undef ADD
    const char *r = wf_suggest(name, cands, n);
    free(cands);
    return r;
}

static void error_with_suggestion(cc *c, wf_loc loc, const char *s, const char *fmt,
                                  const char *name)
{
    char hint[160];
    if (s)
        snprintf(hint, sizeof hint, "did you mean '%s'?", s);
    wf_diag(c->d, WF_SEV_ERROR, loc, s ? hint : NULL, fmt, name);
}

static wf_shape shape_of(cc *c, int node)
{
    return c->g->nodes[node].shape;
}

/* ------------------------------------------------------------- node making */

static int add_node(cc *c, int kind, int nin, const int *in, wf_loc loc)
{
    if (c->g->n >= MAX_NODES) {
        if (!c->too_big)
            wf_diag(c->d, WF_SEV_ERROR, loc, NULL,
                    "the patch expands to more than %d nodes", MAX_NODES);
        c->too_big = 1;
        return -1;
    }
    return wf_graph_add(c->g, kind, nin, in, loc);
}

static int const_node(cc *c, const val *v, wf_loc loc)
{
    int id = add_node(c, WF_NODE_const, 0, NULL, loc);
    if (id < 0)
        return -1;
    wf_gnode *n = &c->g->nodes[id];
    n->opt[0].n = v->n;
    n->opt[0].v = wf_xmalloc(sizeof(double) * (size_t)v->n);
    memcpy(n->opt[0].v, v->v, sizeof(double) * (size_t)v->n);
    n->shape = (wf_shape){WF_RATE_CONST, v->n};
    return id;
}

/* A value as a graph node (constants become const nodes); -1 on poison. */
static int as_node(cc *c, const val *v, wf_loc loc)
{
    if (v->kind == V_NODE)
        return v->node;
    if (v->kind == V_CONST)
        return const_node(c, v, loc);
    if (v->kind == V_STR)
        wf_diag(c->d, WF_SEV_ERROR, loc, "strings name files in `input` and `param ... per frame`",
                "a string is not a signal");
    return -1;
}

/* Runs kind's shape rule on the inputs, converts inputs to the rates it asks
 * for, and adds the node. opts: one per signature argument (taken over). */
static int make_node(cc *c, int kind, int nin, int *in, const wf_loc *in_loc, wf_opt *opts,
                     wf_loc loc)
{
    const wf_node_kind *k = wf_registry[kind];
    wf_shape *shapes = wf_xmalloc(sizeof(wf_shape) * (size_t)(nin + 1));
    wf_rate *want = wf_xmalloc(sizeof(wf_rate) * (size_t)(nin + 1));
    int rc = 0;
    for (int i = 0; i < nin; i++) {
        shapes[i] = shape_of(c, in[i]);
        want[i] = shapes[i].rate;
        const wf_arg_spec *as = wf_registry_input_spec(k, i);
        if (as && (as->flags & WF_ARG_CONST_ONLY) && shapes[i].rate != WF_RATE_CONST) {
            wf_diag(c->d, WF_SEV_ERROR, in_loc[i], "use a number or a param without 'per frame'",
                    "rate mismatch in '%s': argument '%s' must be constant, but it is %s "
                    "%s-rate signal",
                    k->name, as->name, shapes[i].rate == WF_RATE_AUDIO ? "an" : "a",
                    wf_rate_name(shapes[i].rate));
            rc = -1;
        }
    }
    wf_gnode tmp = {0};
    tmp.kind = kind;
    tmp.nin = nin;
    tmp.in = in;
    tmp.opt = opts;
    wf_infer ic = {&tmp, nin, shapes, want, {WF_RATE_CONST, 1}, c->d, loc, in_loc, k->name};
    if (rc == 0 && k->infer)
        rc = k->infer(&ic);
    int id = -1;
    if (rc == 0 && ic.out.chans < 1) {
        wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "'%s' would have no channels", k->name);
        rc = -1;
    }
    if (rc == 0) {
        for (int i = 0; i < nin; i++) {
            const wf_arg_spec *as = wf_registry_input_spec(k, i);
            if (want[i] == WF_RATE_AUDIO && shapes[i].rate == WF_RATE_CONTROL &&
                !(as && (as->flags & WF_ARG_KEEP_CONTROL))) {
                int up = add_node(c, WF_NODE_upsample, 1, &in[i], in_loc[i]);
                if (up < 0) {
                    rc = -1;
                    break;
                }
                c->g->nodes[up].shape = (wf_shape){WF_RATE_AUDIO, shapes[i].chans};
                in[i] = up;
            }
        }
    }
    int foldable = rc == 0 && k->fold && ic.out.rate == WF_RATE_CONST && nin <= 8;
    for (int i = 0; foldable && i < nin; i++)
        foldable = c->g->nodes[in[i]].kind == WF_NODE_const;
    if (foldable) {
        /* all inputs are constants: the result is one, computed in double */
        val v = mkconst(c, ic.out.chans, DIM_NONE);
        for (int ch = 0; ch < v.n; ch++) {
            double x[8];
            for (int i = 0; i < nin; i++) {
                const wf_opt *o = &c->g->nodes[in[i]].opt[0];
                x[i] = o->v[o->n == 1 ? 0 : ch];
            }
            v.v[ch] = k->fold(x, opts, ch);
            if (!isfinite(v.v[ch])) {
                wf_diag(c->d, WF_SEV_ERROR, loc, NULL,
                        "'%s' of these constants is not a finite number (channel %d)", k->name,
                        ch);
                rc = -1;
                break;
            }
        }
        if (rc == 0)
            id = const_node(c, &v, loc);
    } else if (rc == 0) {
        id = add_node(c, kind, nin, in, loc);
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

static wf_opt *new_opts(int kind)
{
    return wf_xcalloc((size_t)(wf_registry[kind]->nargs + 1), sizeof(wf_opt));
}

/* ------------------------------------------------------------- arithmetic */

static dim combine_dim(char op, dim a, dim b)
{
    if (a == DIM_NONE)
        return (op == '/' && b != DIM_NONE) ? DIM_NONE : b;
    if (b == DIM_NONE)
        return a;
    if (op == '+' || op == '-')
        return a == b ? a : DIM_NONE;
    return DIM_NONE;
}

static val fold(cc *c, char op, const val *a, const val *b, wf_loc loc)
{
    int n = a->n > b->n ? a->n : b->n;
    if (a->n != b->n && a->n != 1 && b->n != 1) {
        wf_diag(c->d, WF_SEV_ERROR, loc, "channels broadcast when they are equal or one side has 1",
                "shape mismatch: the left side has %d channels, the right side %d", a->n, b->n);
        return POISON;
    }
    val r = mkconst(c, n, combine_dim(op, a->dim, b->dim));
    for (int i = 0; i < n; i++) {
        double x = a->v[a->n == 1 ? 0 : i], y = b->v[b->n == 1 ? 0 : i];
        r.v[i] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    }
    return r;
}

static val binop(cc *c, char op, val a, val b, wf_loc loc, wf_loc la, wf_loc lb)
{
    if (a.kind == V_POISON || b.kind == V_POISON)
        return POISON;
    if (op == '/' && b.kind == V_CONST)
        for (int i = 0; i < b.n; i++)
            if (b.v[i] == 0) {
                wf_diag(c->d, WF_SEV_ERROR, lb, NULL, "division by zero");
                return POISON;
            }
    if (a.kind == V_CONST && b.kind == V_CONST)
        return fold(c, op, &a, &b, loc);
    int in[2] = {as_node(c, &a, la), as_node(c, &b, lb)};
    if (in[0] < 0 || in[1] < 0)
        return POISON;
    int kind = op == '+' ? WF_NODE_add : op == '-' ? WF_NODE_sub : op == '*' ? WF_NODE_mul : WF_NODE_div;
    wf_loc locs[2] = {la, lb};
    int id = make_node(c, kind, 2, in, locs, new_opts(kind), loc);
    return id < 0 ? POISON : mknode(id);
}

/* ----------------------------------------------------------------- literals */

static double unit_scale(wf_unit u, double x)
{
    switch (u) {
    case WF_UNIT_KHZ: return x * 1000;
    case WF_UNIT_MS: return x / 1000;
    case WF_UNIT_DB: return pow(10, x / 20);
    default: return x;
    }
}

static dim unit_dim(wf_unit u)
{
    switch (u) {
    case WF_UNIT_HZ:
    case WF_UNIT_KHZ: return DIM_FREQ;
    case WF_UNIT_MS:
    case WF_UNIT_S: return DIM_TIME;
    case WF_UNIT_DB: return DIM_GAIN;
    default: return DIM_NONE;
    }
}

static val number(cc *c, double x, wf_unit u)
{
    val v = mkconst(c, 1, unit_dim(u));
    v.v[0] = unit_scale(u, x);
    return v;
}

/* ---------------------------------------------------------------- names */

static void cycle_error(cc *c, const binding *b, wf_loc at)
{
    wf_str chain = {0};
    int start = 0;
    for (int i = 0; i < c->nevals; i++)
        if (c->evals[i] == b)
            start = i;
    for (int i = start; i < c->nevals; i++)
        wf_str_printf(&chain, "%s -> ", c->evals[i]->name);
    wf_str_puts(&chain, b->name);
    wf_diag(c->d, WF_SEV_ERROR, at,
            "feedback needs a delay of at least one sample, which is not supported yet: "
            "recursion lives inside nodes",
            "cycle: '%s' depends on itself (%s)", b->name, chain.s);
    wf_str_free(&chain);
}

static val force(cc *c, binding *b, wf_loc at)
{
    if (b->kind == B_VALUE || b->state == 2)
        return b->value;
    if (b->state == 1) {
        cycle_error(c, b, at);
        return POISON;
    }
    if (c->nevals == (int)(sizeof c->evals / sizeof c->evals[0])) {
        wf_diag(c->d, WF_SEV_ERROR, at, NULL, "bindings nested too deeply");
        return POISON;
    }
    b->state = 1;
    c->evals[c->nevals++] = b;
    val v = eval(c, b->scope, b->expr);
    c->nevals--;
    b->state = 2;
    b->value = v;
    if (v.kind == V_NODE && !c->g->nodes[v.node].label)
        c->g->nodes[v.node].label = wf_xstrdup(b->name);
    return v;
}

static val name_ref(cc *c, scope *s, const wf_ast *e)
{
    binding *b = scope_lookup(s, e->u.name);
    if (b)
        return force(c, b, e->loc);
    if (find_def(c, e->u.name) || wf_registry_find(e->u.name) >= 0) {
        wf_diag(c->d, WF_SEV_ERROR, e->loc, "call it with arguments in parentheses",
                "'%s' is a node or def, not a value", e->u.name);
        return POISON;
    }
    error_with_suggestion(c, e->loc, suggest_name(c, s, e->u.name, 0), "undefined name '%s'",
                          e->u.name);
    return POISON;
}

/* ---------------------------------------------------------------- calls */

typedef struct actual {
    const wf_arg *arg; /* NULL: not given */
} actual;

static wf_loc arg_loc(const wf_arg *a)
{
    return a->name ? a->name_loc : ast_span(a->value);
}

/* Matches a call's arguments to names; reports unknown, repeated and
 * missing ones. names[i] for i < nnames; variadic: the last repeats. */
static int match_args(cc *c, const char *callee, const char *const *names, int nnames,
                      int variadic, const wf_arg *args, const wf_arg **slot, const wf_arg ***extra,
                      int *nextra)
{
    int pos = 0, rc = 0, nx = 0, capx = 0;
    const wf_arg **ex = NULL;
    int seen_named = 0;
    for (const wf_arg *a = args; a; a = a->next) {
        if (!a->name) {
            if (seen_named) {
                wf_diag(c->d, WF_SEV_ERROR, ast_span(a->value), NULL,
                        "positional argument after a named one in a call of '%s'", callee);
                rc = -1;
                continue;
            }
            if (pos < nnames) {
                slot[pos++] = a;
            } else if (variadic) {
                if (nx == capx) {
                    capx = capx ? 2 * capx : 8;
                    ex = wf_xrealloc(ex, sizeof *ex * (size_t)capx);
                }
                ex[nx++] = a;
            } else {
                int count = 0;
                for (const wf_arg *b = args; b; b = b->next)
                    count++;
                wf_diag(c->d, WF_SEV_ERROR, ast_span(a->value), NULL,
                        "'%s' takes at most %d argument%s, got %d", callee, nnames,
                        nnames == 1 ? "" : "s", count);
                free(ex);
                return -1;
            }
            continue;
        }
        seen_named = 1;
        int found = -1;
        for (int i = 0; i < nnames; i++)
            if (strcmp(names[i], a->name) == 0)
                found = i;
        if (found < 0) {
            const char *s = wf_suggest(a->name, names, nnames);
            char hint[160];
            if (s)
                snprintf(hint, sizeof hint, "did you mean '%s'?", s);
            wf_diag(c->d, WF_SEV_ERROR, a->name_loc, s ? hint : NULL,
                    "'%s' has no argument named '%s'", callee, a->name);
            rc = -1;
            continue;
        }
        if (slot[found]) {
            wf_diag(c->d, WF_SEV_ERROR, a->name_loc, NULL,
                    "argument '%s' of '%s' is given twice", a->name, callee);
            rc = -1;
            continue;
        }
        slot[found] = a;
    }
    *extra = ex;
    *nextra = nx;
    return rc;
}

static int check_number(cc *c, const wf_arg_spec *as, const val *v, const char *callee,
                        wf_loc loc)
{
    for (int i = 0; i < v->n; i++) {
        if ((as->flags & WF_ARG_INT) && v->v[i] != floor(v->v[i])) {
            wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "argument '%s' of '%s' must be a whole number, got %g",
                    as->name, callee, v->v[i]);
            return -1;
        }
        if ((as->flags & WF_ARG_POSITIVE) && !(v->v[i] > 0)) {
            wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "argument '%s' of '%s' must be positive, got %g",
                    as->name, callee, v->v[i]);
            return -1;
        }
        if (!isfinite(v->v[i]) || fabs(v->v[i]) > 1e15) {
            wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "argument '%s' of '%s' is out of range (%g)",
                    as->name, callee, v->v[i]);
            return -1;
        }
    }
    return 0;
}

static val call_node(cc *c, scope *s, const wf_ast *e, int kind)
{
    const wf_node_kind *k = wf_registry[kind];
    int nargs = k->nargs;
    const char **names = wf_xmalloc(sizeof *names * (size_t)(nargs + 1));
    for (int i = 0; i < nargs; i++)
        names[i] = k->args[i].name;
    const wf_arg **slot = wf_xcalloc((size_t)(nargs + 1), sizeof *slot);
    const wf_arg **extra = NULL;
    int nextra = 0;
    int variadic = (k->flags & WF_KIND_VARIADIC) != 0;
    int rc = match_args(c, k->name, names, nargs, variadic, e->u.call.args, slot, &extra, &nextra);
    free(names);
    if (rc) {
        free(slot);
        free(extra);
        return POISON;
    }
    int nsig = wf_registry_signal_args(k) + nextra;
    int *in = wf_xmalloc(sizeof(int) * (size_t)(nsig + 1));
    wf_loc *in_loc = wf_xmalloc(sizeof(wf_loc) * (size_t)(nsig + 1));
    wf_opt *opts = new_opts(kind);
    int ni = 0, bad = 0;
    for (int a = 0; a < nargs; a++) {
        const wf_arg_spec *as = &k->args[a];
        const wf_arg *given = slot[a];
        wf_loc loc = given ? arg_loc(given) : e->loc;
        if (as->kind == WF_ARG_ENUM) {
            const char *word = as->dflt;
            if (given) {
                if (given->value->kind != WF_AST_NAME) {
                    wf_diag(c->d, WF_SEV_ERROR, ast_span(given->value), NULL,
                            "argument '%s' of '%s' takes a word, such as '%s'", as->name, k->name,
                            as->choices[0]);
                    bad = 1;
                    continue;
                }
                word = given->value->u.name;
            }
            int found = -1, nch = 0;
            while (as->choices[nch])
                nch++;
            for (int i = 0; word && i < nch; i++)
                if (strcmp(as->choices[i], word) == 0)
                    found = i;
            if (!word) {
                wf_diag(c->d, WF_SEV_ERROR, e->loc, NULL, "'%s' needs argument '%s'", k->name, as->name);
                bad = 1;
            } else if (found < 0) {
                const char *sg = wf_suggest(word, as->choices, nch);
                char hint[160];
                snprintf(hint, sizeof hint, sg ? "did you mean '%s'?" : "one of: %s", sg ? sg : as->choices[0]);
                wf_diag(c->d, WF_SEV_ERROR, ast_span(given->value), hint,
                        "'%s' is not a %s of '%s'", word, as->name, k->name);
                bad = 1;
            } else {
                opts[a].n = 1;
                opts[a].v = wf_xmalloc(sizeof(double));
                opts[a].v[0] = found;
            }
            continue;
        }
        val v;
        if (given) {
            v = eval(c, s, given->value);
        } else if (as->dflt) {
            v = number(c, strtod(as->dflt, NULL), WF_UNIT_NONE);
        } else if (as->kind == WF_ARG_NUMBER && (as->flags & WF_ARG_OPTIONAL)) {
            continue;
        } else {
            wf_diag(c->d, WF_SEV_ERROR, e->loc, NULL, "'%s' needs argument '%s' (%s)", k->name,
                    as->name, as->doc);
            bad = 1;
            continue;
        }
        if (v.kind == V_POISON) {
            bad = 1;
            continue;
        }
        if (as->kind == WF_ARG_NUMBER) {
            if (v.kind != V_CONST) {
                wf_diag(c->d, WF_SEV_ERROR, loc, "write a number, or a binding of one",
                        "argument '%s' of '%s' must be a number known when compiling",
                        as->name, k->name);
                bad = 1;
                continue;
            }
            if (check_number(c, as, &v, k->name, loc)) {
                bad = 1;
                continue;
            }
            opts[a].n = v.n;
            opts[a].v = wf_xmalloc(sizeof(double) * (size_t)v.n);
            memcpy(opts[a].v, v.v, sizeof(double) * (size_t)v.n);
            continue;
        }
        int id = as_node(c, &v, loc);
        if (id < 0) {
            bad = 1;
            continue;
        }
        in_loc[ni] = loc;
        in[ni++] = id;
    }
    for (int x = 0; x < nextra && !bad; x++) {
        val v = eval(c, s, extra[x]->value);
        int id = v.kind == V_POISON ? -1 : as_node(c, &v, arg_loc(extra[x]));
        if (id < 0) {
            bad = 1;
            break;
        }
        in_loc[ni] = arg_loc(extra[x]);
        in[ni++] = id;
    }
    free(extra);
    free(slot);
    int id = -1;
    if (!bad)
        id = make_node(c, kind, ni, in, in_loc, opts, e->loc);
    else {
        for (int a = 0; a < k->nargs; a++)
            free(opts[a].v);
        free(opts);
    }
    free(in);
    free(in_loc);
    return id < 0 ? POISON : mknode(id);
}

static val eval_body(cc *c, scope *local, const def *df);

static val call_def(cc *c, scope *s, const wf_ast *e, const def *df)
{
    for (int i = 0; i < c->ncalls; i++) {
        if (strcmp(c->calls[i].name, df->name) == 0) {
            wf_str chain = {0};
            for (int j = i; j < c->ncalls; j++)
                wf_str_printf(&chain, "%s -> ", c->calls[j].name);
            wf_str_puts(&chain, df->name);
            wf_diag(c->d, WF_SEV_ERROR, e->loc,
                    "defs are expanded when compiling, so they cannot call themselves",
                    "recursive def '%s' (%s)", df->name, chain.s);
            wf_str_free(&chain);
            return POISON;
        }
    }
    if (c->ncalls == MAX_DEPTH) {
        wf_diag(c->d, WF_SEV_ERROR, e->loc, NULL, "defs nested more than %d deep", MAX_DEPTH);
        return POISON;
    }
    int nf = 0;
    for (const wf_formal *f = df->st->formals; f; f = f->next)
        nf++;
    const char **names = wf_xmalloc(sizeof *names * (size_t)(nf + 1));
    nf = 0;
    for (const wf_formal *f = df->st->formals; f; f = f->next)
        names[nf++] = f->name;
    const wf_arg **slot = wf_xcalloc((size_t)(nf + 1), sizeof *slot);
    const wf_arg **extra = NULL;
    int nextra = 0;
    int rc = match_args(c, df->name, names, nf, 0, e->u.call.args, slot, &extra, &nextra);
    free(names);
    free(extra);
    if (rc) {
        free(slot);
        return POISON;
    }
    scope local = {NULL, 0, 0, &c->globals};
    int i = 0, bad = 0;
    for (const wf_formal *f = df->st->formals; f; f = f->next, i++) {
        val v;
        if (slot[i]) {
            v = eval(c, s, slot[i]->value);
        } else if (f->dflt) {
            v = eval(c, &c->globals, f->dflt);
        } else {
            wf_diag(c->d, WF_SEV_ERROR, e->loc, NULL, "'%s' needs argument '%s'", df->name, f->name);
            bad = 1;
            continue;
        }
        binding *b = bind(c, &local, f->name, f->loc);
        if (!b) {
            bad = 1;
            continue;
        }
        b->kind = B_VALUE;
        b->value = v;
    }
    free(slot);
    val r = POISON;
    if (!bad) {
        c->calls[c->ncalls++] = (frame){df->name, e->loc};
        r = eval_body(c, &local, df);
        c->ncalls--;
    }
    scope_free(&local);
    return r;
}

static val eval_body(cc *c, scope *local, const def *df)
{
    const wf_stmt *ret = NULL;
    int bad = 0;
    for (const wf_stmt *st = df->st->body; st; st = st->next) {
        if (st->kind == WF_ST_BIND) {
            binding *b = bind(c, local, st->name, st->name_loc);
            if (b) {
                b->kind = B_LAZY;
                b->expr = st->expr;
            }
        } else if (st->kind == WF_ST_RETURN) {
            if (ret) {
                wf_diag(c->d, WF_SEV_ERROR, st->loc, NULL, "def '%s' has more than one return",
                        df->name);
                bad = 1;
            }
            ret = st;
        } else {
            wf_diag(c->d, WF_SEV_ERROR, st->loc, "declare params, inputs and settings at the top level",
                    "only bindings and 'return' may appear inside a def");
            bad = 1;
        }
    }
    if (!ret) {
        wf_diag(c->d, WF_SEV_ERROR, df->st->name_loc, NULL, "def '%s' has no 'return'", df->name);
        return POISON;
    }
    if (bad)
        return POISON;
    val r = eval(c, local, ret->expr);
    for (int i = 0; i < local->n; i++)
        if (local->v[i].kind == B_LAZY)
            force(c, &local->v[i], local->v[i].loc);
    return r;
}

static val call(cc *c, scope *s, const wf_ast *e)
{
    const def *df = find_def(c, e->u.call.name);
    if (df)
        return call_def(c, s, e, df);
    int kind = wf_registry_find(e->u.call.name);
    if (kind >= 0 && !(wf_registry[kind]->flags & WF_KIND_INTERNAL))
        return call_node(c, s, e, kind);
    if (scope_lookup(s, e->u.call.name)) {
        wf_diag(c->d, WF_SEV_ERROR, e->loc, NULL, "'%s' is a value, not a node or def",
                e->u.call.name);
        return POISON;
    }
    error_with_suggestion(c, e->loc, suggest_name(c, NULL, e->u.call.name, 1), "unknown node '%s'",
                          e->u.call.name);
    return POISON;
}

/* ---------------------------------------------------------------- eval */

static val vector(cc *c, scope *s, const wf_ast *e)
{
    int n = 0, all_const = 1, bad = 0;
    for (const wf_item *it = e->u.items; it; it = it->next)
        n++;
    val *vs = wf_xmalloc(sizeof(val) * (size_t)n);
    int i = 0, total = 0;
    for (const wf_item *it = e->u.items; it; it = it->next, i++) {
        vs[i] = eval(c, s, it->value);
        if (vs[i].kind == V_POISON)
            bad = 1;
        else if (vs[i].kind != V_CONST)
            all_const = 0;
        else
            total += vs[i].n;
    }
    val r = POISON;
    if (bad) {
    } else if (all_const) {
        if (total > MAX_VECTOR) {
            wf_diag(c->d, WF_SEV_ERROR, e->loc, NULL, "vector literal longer than %d", MAX_VECTOR);
        } else {
            r = mkconst(c, total, vs[0].dim);
            int at = 0;
            for (int j = 0; j < n; j++) {
                memcpy(r.v + at, vs[j].v, sizeof(double) * (size_t)vs[j].n);
                at += vs[j].n;
                if (vs[j].dim != r.dim)
                    r.dim = DIM_NONE;
            }
        }
    } else {
        int *in = wf_xmalloc(sizeof(int) * (size_t)n);
        wf_loc *locs = wf_xmalloc(sizeof(wf_loc) * (size_t)n);
        i = 0;
        for (const wf_item *it = e->u.items; it; it = it->next, i++) {
            locs[i] = ast_span(it->value);
            in[i] = as_node(c, &vs[i], locs[i]);
            if (in[i] < 0)
                bad = 1;
        }
        if (!bad) {
            int id = make_node(c, WF_NODE_concat, n, in, locs, new_opts(WF_NODE_concat), e->loc);
            if (id >= 0)
                r = mknode(id);
        }
        free(in);
        free(locs);
    }
    free(vs);
    return r;
}

/* A chain such as a + b - c + ... is a left-deep tree as tall as the chain
 * is long: its left spine is walked with a loop, evaluating in the same order
 * as recursion would, so long sums cost no stack. */
static val binary(cc *c, scope *s, const wf_ast *e)
{
    int n = 0;
    for (const wf_ast *x = e; x->kind == WF_AST_BIN; x = x->u.bin.l)
        n++;
    const wf_ast **spine = wf_xmalloc(sizeof *spine * (size_t)n);
    int i = n;
    for (const wf_ast *x = e; x->kind == WF_AST_BIN; x = x->u.bin.l)
        spine[--i] = x;
    val a = eval(c, s, spine[0]->u.bin.l);
    for (i = 0; i < n; i++) {
        const wf_ast *b = spine[i];
        val r = eval(c, s, b->u.bin.r);
        a = binop(c, b->u.bin.op, a, r, b->loc, ast_span(b->u.bin.l), ast_span(b->u.bin.r));
    }
    free(spine);
    return a;
}

static val eval_node(cc *c, scope *s, const wf_ast *e);

static val eval(cc *c, scope *s, const wf_ast *e)
{
    if (c->too_big || c->too_deep)
        return POISON;
    if (c->depth == MAX_EVAL_DEPTH) {
        wf_diag(c->d, WF_SEV_ERROR, e->loc, "split it into smaller expressions",
                "the patch nests too deeply here (more than %d levels of brackets, calls and "
                "bindings)",
                MAX_EVAL_DEPTH);
        c->too_deep = 1;
        return POISON;
    }
    c->depth++;
    val v = eval_node(c, s, e);
    c->depth--;
    return v;
}

static val eval_node(cc *c, scope *s, const wf_ast *e)
{
    switch (e->kind) {
    case WF_AST_NUM:
        return number(c, e->u.num.value, e->u.num.unit);
    case WF_AST_STR: {
        val v = {V_STR, NULL, 0, DIM_NONE, -1, e->u.str};
        return v;
    }
    case WF_AST_NAME:
        return name_ref(c, s, e);
    case WF_AST_VEC:
        return vector(c, s, e);
    case WF_AST_NEG: {
        const wf_ast *x = e->u.operand;
        /* -30 db is a gain of -30 dB, not minus the gain of 30 dB;
         * -(30 db) is minus the gain */
        if (x->kind == WF_AST_NUM && !x->paren)
            return number(c, -x->u.num.value, x->u.num.unit);
        val v = eval(c, s, x);
        if (v.kind == V_POISON)
            return v;
        if (v.kind == V_CONST) {
            val r = mkconst(c, v.n, v.dim);
            for (int i = 0; i < v.n; i++)
                r.v[i] = -v.v[i];
            return r;
        }
        int in = as_node(c, &v, ast_span(x));
        if (in < 0)
            return POISON;
        wf_loc l = ast_span(x);
        int id = make_node(c, WF_NODE_neg, 1, &in, &l, new_opts(WF_NODE_neg), e->loc);
        return id < 0 ? POISON : mknode(id);
    }
    case WF_AST_BIN:
        return binary(c, s, e);
    case WF_AST_CALL:
        return call(c, s, e);
    }
    return POISON;
}

/* ------------------------------------------------------------- statements */

/* A constant scalar for a setting or size, checked for its dimension. */
static int eval_scalar(cc *c, const wf_ast *e, dim want, const char *what, double *out)
{
    val v = eval(c, &c->globals, e);
    if (v.kind == V_POISON)
        return -1;
    wf_loc loc = ast_span(e);
    if (v.kind != V_CONST || v.n != 1) {
        wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "%s must be a single number known when compiling",
                what);
        return -1;
    }
    if (v.dim != DIM_NONE && v.dim != want) {
        wf_diag(c->d, WF_SEV_ERROR, loc,
                want == DIM_FREQ ? "write it in hz or khz" : want == DIM_TIME ? "write it in s or ms" : NULL,
                "bad unit: %s expects %s, got %s", what, dim_name(want), dim_name(v.dim));
        return -1;
    }
    if (!(v.v[0] > 0) || !isfinite(v.v[0])) {
        wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "%s must be positive, got %g", what, v.v[0]);
        return -1;
    }
    *out = v.v[0];
    return 0;
}

static int eval_count(cc *c, const wf_ast *e, const char *what, int limit, int *out)
{
    double x;
    if (eval_scalar(c, e, DIM_NONE, what, &x))
        return -1;
    if (x != floor(x) || x > limit) {
        wf_diag(c->d, WF_SEV_ERROR, ast_span(e), NULL, "%s must be a whole number up to %d, got %g",
                what, limit, x);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static void setting(cc *c, const wf_stmt *st, wf_loc *seen, const char *what, dim want, double *dst)
{
    if (seen->src) {
        char hint[200];
        snprintf(hint, sizeof hint, "first set at line %d", seen->line);
        wf_diag(c->d, WF_SEV_ERROR, st->loc, hint, "'%s' is set twice", what);
        return;
    }
    *seen = st->loc;
    double v;
    if (eval_scalar(c, st->expr, want, what, &v) == 0)
        *dst = v;
}

static int single_unit(const wf_ast *e)
{
    if (e->kind == WF_AST_NUM)
        return e->u.num.unit;
    if (e->kind == WF_AST_NEG && e->u.operand->kind == WF_AST_NUM && !e->u.operand->paren)
        return e->u.operand->u.num.unit;
    return WF_UNIT_NONE;
}

/* A declaration that failed still defines its name, so that its uses do not
 * add "undefined name" errors to the one already given. */
static void bind_poison(cc *c, const wf_stmt *st)
{
    binding *b = bind(c, &c->globals, st->name, st->name_loc);
    if (b) {
        b->kind = B_VALUE;
        b->value = POISON;
    }
}

static void param_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    int size = 1;
    if (st->size && eval_count(c, st->size, "a param's size", 65536, &size)) {
        bind_poison(c, st);
        return;
    }
    if (size < 1) {
        wf_diag(c->d, WF_SEV_ERROR, ast_span(st->size), NULL, "a param needs at least one value");
        bind_poison(c, st);
        return;
    }
    wf_param_decl pd = {0};
    pd.name = wf_xstrdup(st->name);
    pd.loc = st->name_loc;
    pd.size = size;
    pd.node = -1;
    pd.src = st->loc.src;
    pd.init_start = st->expr->start;
    pd.init_end = st->expr->end;
    pd.init_unit = single_unit(st->expr);
    pd.rate = WF_RATE_CONST;
    pd.fixed = st->fixed;
    int bad = 0;
    if (st->per) {
        if (strcmp(st->per, "frame") != 0) {
            wf_diag(c->d, WF_SEV_ERROR, st->per_loc, "write 'per frame'", "unknown 'per %s'", st->per);
            bad = 1;
        }
        pd.rate = WF_RATE_CONTROL;
    }
    if (st->scale) {
        if (strcmp(st->scale, "log") == 0)
            pd.log = 1;
        else if (strcmp(st->scale, "lin") != 0) {
            wf_diag(c->d, WF_SEV_ERROR, st->scale_loc, "after a param's value come 'lin', 'log' or 'fixed'",
                    "unexpected '%s' after the param's value", st->scale);
            bad = 1;
        }
    }
    val init = eval(c, &c->globals, st->expr);
    wf_loc iloc = ast_span(st->expr);
    if (init.kind == V_STR && pd.rate == WF_RATE_CONTROL) {
        pd.init_file = wf_xstrdup(init.str);
    } else if (init.kind == V_STR) {
        wf_diag(c->d, WF_SEV_ERROR, iloc, "add 'per frame' to start a frame-wise param from a file",
                "a param's value must be numbers");
        bad = 1;
    } else if (init.kind == V_NODE) {
        wf_diag(c->d, WF_SEV_ERROR, iloc, NULL, "a param's initial value must be known when compiling");
        bad = 1;
    } else if (init.kind == V_POISON) {
        bad = 1;
    } else if (init.n != 1 && init.n != size) {
        wf_diag(c->d, WF_SEV_ERROR, iloc, NULL,
                "shape mismatch: param '%s' has %d values but its initial value has %d", st->name,
                size, init.n);
        bad = 1;
    } else {
        pd.init = wf_xmalloc(sizeof(double) * (size_t)size);
        for (int i = 0; i < size; i++) {
            pd.init[i] = init.v[init.n == 1 ? 0 : i];
            if (!isfinite(pd.init[i])) {
                wf_diag(c->d, WF_SEV_ERROR, iloc, NULL, "param '%s' starts at a non-finite value", st->name);
                bad = 1;
                break;
            }
        }
    }
    if (!bad && st->lo) {
        val lo = eval(c, &c->globals, st->lo), hi = eval(c, &c->globals, st->hi);
        if (lo.kind != V_CONST || hi.kind != V_CONST || lo.n != 1 || hi.n != 1) {
            if (lo.kind != V_POISON && hi.kind != V_POISON)
                wf_diag(c->d, WF_SEV_ERROR, st->lo->loc, NULL, "a param's bounds must be two numbers");
            bad = 1;
        } else if (!(lo.v[0] < hi.v[0])) {
            wf_diag(c->d, WF_SEV_ERROR, ast_span(st->lo), NULL,
                    "param '%s' has bounds [%g, %g]: the lower must be below the upper", st->name,
                    lo.v[0], hi.v[0]);
            bad = 1;
        } else {
            dim di = init.kind == V_CONST ? init.dim : DIM_NONE;
            dim dims[3] = {di, lo.dim, hi.dim};
            dim first = DIM_NONE;
            for (int i = 0; i < 3; i++) {
                if (dims[i] == DIM_NONE)
                    continue;
                if (first != DIM_NONE && dims[i] != first) {
                    wf_diag(c->d, WF_SEV_ERROR, ast_span(i == 0 ? st->expr : i == 1 ? st->lo : st->hi),
                            NULL, "bad unit: param '%s' mixes %s and %s", st->name,
                            dim_name(first), dim_name(dims[i]));
                    bad = 1;
                    break;
                }
                first = dims[i];
            }
            pd.bounded = 1;
            pd.lo = lo.v[0];
            pd.hi = hi.v[0];
            for (int i = 0; !bad && pd.init && i < size; i++)
                if (pd.init[i] < pd.lo || pd.init[i] > pd.hi) {
                    wf_diag(c->d, WF_SEV_ERROR, iloc, NULL,
                            "param '%s' starts at %g, outside its bounds [%g, %g]", st->name,
                            pd.init[i], pd.lo, pd.hi);
                    bad = 1;
                }
        }
    }
    if (!bad && pd.log) {
        int nonpos = (pd.bounded && pd.lo <= 0);
        for (int i = 0; pd.init && i < size; i++)
            nonpos |= pd.init[i] <= 0;
        if (nonpos) {
            wf_diag(c->d, WF_SEV_ERROR, st->scale_loc, "a log param is fitted as log(value)",
                    "log param '%s' needs positive values and bounds", st->name);
            bad = 1;
        }
    }
    binding *b = bind(c, &c->globals, st->name, st->name_loc);
    if (bad || !b) {
        free(pd.name);
        free(pd.init);
        free(pd.init_file);
        if (b) {
            b->kind = B_VALUE;
            b->value = POISON;
        }
        return;
    }
    int idx = g->nparams++;
    g->params = wf_xrealloc(g->params, sizeof *g->params * (size_t)g->nparams);
    int id = add_node(c, WF_NODE_param, 0, NULL, st->name_loc);
    pd.node = id;
    g->params[idx] = pd;
    b->kind = B_VALUE;
    if (id < 0) {
        b->value = POISON;
        return;
    }
    g->nodes[id].ref = idx;
    g->nodes[id].shape = (wf_shape){pd.rate, size};
    g->nodes[id].label = wf_xstrdup(st->name);
    b->value = mknode(id);
}

static void input_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    int chans = 1;
    binding *b = bind(c, &c->globals, st->name, st->name_loc);
    if (!b)
        return;
    b->kind = B_VALUE;
    b->value = POISON;
    if (st->size && eval_count(c, st->size, "an input's channel count", 1024, &chans))
        return;
    wf_input_decl in = {0};
    if (st->from && !st->from_is_file && strcmp(st->from, "target") != 0) {
        wf_diag(c->d, WF_SEV_ERROR, st->from_loc, "write `input NAME = target` or `input NAME = \"file.wav\"`",
                "an input comes from 'target' or a file name, not '%s'", st->from);
        return;
    }
    if (chans < 1) {
        wf_diag(c->d, WF_SEV_ERROR, ast_span(st->size), NULL, "an input needs at least one channel");
        return;
    }
    in.name = wf_xstrdup(st->name);
    in.loc = st->name_loc;
    in.chans = chans;
    in.from_target = st->from && !st->from_is_file;
    in.file = st->from && st->from_is_file ? wf_xstrdup(st->from) : NULL;
    int idx = g->ninputs++;
    g->inputs = wf_xrealloc(g->inputs, sizeof *g->inputs * (size_t)g->ninputs);
    int id = add_node(c, WF_NODE_input, 0, NULL, st->name_loc);
    in.node = id;
    g->inputs[idx] = in;
    if (id < 0)
        return;
    g->nodes[id].ref = idx;
    g->nodes[id].shape = (wf_shape){WF_RATE_AUDIO, chans};
    g->nodes[id].label = wf_xstrdup(st->name);
    b->value = mknode(id);
}

/* ----------------------------------------------------------- files, `use` */

static wf_file_ast *load(cc *c, const char *path)
{
    for (int i = 0; i < c->patch->nsources; i++)
        if (strcmp(c->patch->sources[i]->path, path) == 0)
            return NULL; /* already loaded: `use` is idempotent */
    wf_source *src = wf_source_load(path);
    if (!src)
        return NULL;
    int k = c->patch->nsources++;
    c->patch->sources = wf_xrealloc(c->patch->sources, sizeof(void *) * (size_t)c->patch->nsources);
    c->patch->asts = wf_xrealloc(c->patch->asts, sizeof(void *) * (size_t)c->patch->nsources);
    c->patch->sources[k] = src;
    c->patch->asts[k] = wf_parse(src, c->d);
    return c->patch->asts[k];
}

static void module_stmts(cc *c, const wf_file_ast *f, int is_module);

static int file_exists(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp)
        fclose(fp);
    return fp != NULL;
}

static void use_stmt(cc *c, const wf_stmt *st)
{
    const char *dirs[16];
    int nd = 0;
    dirs[nd++] = c->patch->dir;
    for (int i = 0; c->opts && c->opts->search && c->opts->search[i] && nd < 12; i++)
        dirs[nd++] = c->opts->search[i];
    const char *env = getenv("WEFT_PATH");
    if (env && *env && nd < 13)
        dirs[nd++] = env;
    if (WF_STDLIB_DIR[0])
        dirs[nd++] = WF_STDLIB_DIR;
    if (WF_STDLIB_INSTALL_DIR[0])
        dirs[nd++] = WF_STDLIB_INSTALL_DIR;
    wf_str tried = {0};
    for (int i = 0; i < nd; i++) {
        wf_str path = {0};
        wf_str_printf(&path, "%s/%s.weft", dirs[i], st->name);
        if (file_exists(path.s)) {
            wf_file_ast *f = load(c, path.s);
            if (f)
                module_stmts(c, f, 1);
            wf_str_free(&path);
            wf_str_free(&tried);
            return;
        }
        wf_str_printf(&tried, "%s%s", tried.len ? ", " : "", path.s);
        wf_str_free(&path);
    }
    char *hint = wf_xstrdup(tried.s ? tried.s : "");
    wf_str h = {0};
    wf_str_printf(&h, "looked for %s", hint);
    wf_diag(c->d, WF_SEV_ERROR, st->name_loc, h.s, "cannot find module '%s'", st->name);
    wf_str_free(&h);
    free(hint);
    wf_str_free(&tried);
}

static void def_stmt(cc *c, const wf_stmt *st)
{
    if (find_def(c, st->name)) {
        dup_error(c, st->name_loc, st->name, find_def(c, st->name)->st->name_loc);
        return;
    }
    if (scope_find_local(&c->globals, st->name)) {
        dup_error(c, st->name_loc, st->name, scope_find_local(&c->globals, st->name)->loc);
        return;
    }
    if (wf_registry_find(st->name) >= 0) {
        wf_diag(c->d, WF_SEV_ERROR, st->name_loc, "choose another name",
                "def '%s' would hide the built-in node of that name", st->name);
        return;
    }
    if (c->ndefs == c->capdefs) {
        c->capdefs = c->capdefs ? 2 * c->capdefs : 16;
        c->defs = wf_xrealloc(c->defs, sizeof *c->defs * (size_t)c->capdefs);
    }
    c->defs[c->ndefs++] = (def){st->name, st};
}

/* Statements of a used module: only defs and further uses. */
static void module_stmts(cc *c, const wf_file_ast *f, int is_module)
{
    for (const wf_stmt *st = f->stmts; st; st = st->next) {
        if (st->kind == WF_ST_USE)
            use_stmt(c, st);
        else if (st->kind == WF_ST_DEF)
            def_stmt(c, st);
        else if (is_module)
            wf_diag(c->d, WF_SEV_ERROR, st->loc, "move it into the patch that uses this module",
                    "a module may only contain 'def' and 'use' statements");
    }
}

/* ------------------------------------------------------------- the patch */

static void compile_patch(cc *c, const wf_file_ast *f)
{
    wf_graph *g = c->g;
    const wf_stmt *out = NULL;
    wf_loc rate_seen = {0}, frames_seen = {0}, length_seen = {0};
    module_stmts(c, f, 0);
    for (const wf_stmt *st = f->stmts; st; st = st->next) {
        switch (st->kind) {
        case WF_ST_RATE:
            setting(c, st, &rate_seen, "rate", DIM_FREQ, &g->rate);
            g->rate_loc = st->loc;
            break;
        case WF_ST_FRAMES:
            setting(c, st, &frames_seen, "frames", DIM_FREQ, &g->frame_rate);
            break;
        case WF_ST_LENGTH:
            setting(c, st, &length_seen, "length", DIM_TIME, &g->length);
            break;
        case WF_ST_PARAM:
            param_stmt(c, st);
            break;
        case WF_ST_INPUT:
            input_stmt(c, st);
            break;
        case WF_ST_BIND: {
            binding *b = bind(c, &c->globals, st->name, st->name_loc);
            if (b) {
                b->kind = B_LAZY;
                b->expr = st->expr;
            }
            break;
        }
        case WF_ST_OUT:
            if (out) {
                char hint[64];
                snprintf(hint, sizeof hint, "the first is at line %d", out->loc.line);
                wf_diag(c->d, WF_SEV_ERROR, st->loc, hint,
                        "a patch has one 'out' (make several channels with [a, b])");
            } else {
                out = st;
            }
            break;
        case WF_ST_RETURN:
            wf_diag(c->d, WF_SEV_ERROR, st->loc, NULL, "'return' outside a def");
            break;
        case WF_ST_DEF:
        case WF_ST_USE:
            break;
        }
    }
    if (!out) {
        const wf_source *src = c->patch->sources[0];
        int lines = 1;
        for (size_t i = 0; i + 1 < src->len; i++)
            lines += src->text[i] == '\n';
        wf_loc loc = {src, lines, 1, 0, 0};
        wf_diag(c->d, WF_SEV_ERROR, loc, "end the patch with `out EXPR`",
                "the patch has no 'out' statement");
    } else {
        val v = eval(c, &c->globals, out->expr);
        wf_loc loc = ast_span(out->expr);
        int id = v.kind == V_POISON ? -1 : as_node(c, &v, loc);
        if (id >= 0) {
            wf_shape sh = shape_of(c, id);
            if (sh.rate != WF_RATE_AUDIO) {
                int up = add_node(c, WF_NODE_upsample, 1, &id, loc);
                if (up >= 0)
                    c->g->nodes[up].shape = (wf_shape){WF_RATE_AUDIO, sh.chans};
                id = up;
            }
            g->out = id;
        }
    }
    for (int i = 0; i < c->globals.n; i++)
        if (c->globals.v[i].kind == B_LAZY)
            force(c, &c->globals.v[i], c->globals.v[i].loc);
}

wf_patch *wf_compile_source(wf_source *src, const wf_compile_opts *o, wf_diags *d)
{
    wf_patch *p = wf_xcalloc(1, sizeof *p);
    const char *slash = strrchr(src->path, '/');
    p->dir = slash ? wf_xstrndup(src->path, (size_t)(slash - src->path)) : wf_xstrdup(".");
    p->sources = wf_xmalloc(sizeof(void *));
    p->asts = wf_xmalloc(sizeof(void *));
    p->sources[0] = src;
    p->nsources = 1;
    int errors = d->errors;
    p->asts[0] = wf_parse(src, d);
    if (!p->asts[0]) {
        wf_patch_free(p);
        return NULL;
    }
    cc c = {0};
    c.patch = p;
    c.g = p->g = wf_graph_new();
    c.d = d;
    c.opts = o;
    compile_patch(&c, p->asts[0]);
    scope_free(&c.globals);
    free(c.defs);
    wf_arena_free(&c.arena);
    if (d->errors > errors) {
        wf_patch_free(p);
        return NULL;
    }
    wf_graph_prune(p->g);
    for (int i = 0; i < p->g->nparams; i++)
        if (p->g->params[i].node < 0)
            wf_diag(d, WF_SEV_WARNING, p->g->params[i].loc, "a fit leaves it unchanged",
                    "param '%s' does not reach the out", p->g->params[i].name);
    return p;
}

wf_patch *wf_compile_file(const char *path, const wf_compile_opts *o, wf_diags *d)
{
    wf_source *src = wf_source_load(path);
    if (!src) {
        wf_fail(d, "cannot read patch '%s': %s", path, strerror(errno));
        return NULL;
    }
    return wf_compile_source(src, o, d);
}

wf_patch *wf_compile_text(const char *name, const char *text, const wf_compile_opts *o,
                          wf_diags *d)
{
    return wf_compile_source(wf_source_from_string(name, text), o, d);
}

void wf_patch_free(wf_patch *p)
{
    if (!p)
        return;
    wf_graph_free(p->g);
    for (int i = 0; i < p->nsources; i++) {
        wf_file_ast_free(p->asts[i]);
        wf_source_free(p->sources[i]);
    }
    free(p->asts);
    free(p->sources);
    free(p->dir);
    free(p);
}

int wf_eval_constant(const char *what, const char *text, double **v, int *n, wf_diags *d)
{
    /* parsed as the binding `x = TEXT`; diagnostics are then moved back onto
     * the text alone, so that they show what the user wrote */
    static const char prefix[] = "x = ";
    const int plen = (int)sizeof prefix - 1;
    wf_str src = {0};
    wf_str_printf(&src, "%s%s\n", prefix, text);
    wf_source *s = wf_source_from_string(what, src.s);
    wf_str_free(&src);
    int first = d->n, rc = -1;
    wf_file_ast *f = wf_parse(s, d);
    if (f && f->stmts && f->stmts->kind == WF_ST_BIND && !f->stmts->next) {
        cc c = {0};
        wf_patch p = {0};
        c.patch = &p;
        c.g = wf_graph_new();
        c.d = d;
        int errors = d->errors;
        val r = eval(&c, &c.globals, f->stmts->expr);
        if (d->errors == errors) {
            if (r.kind == V_CONST) {
                *n = r.n;
                *v = wf_xmalloc(sizeof(double) * (size_t)r.n);
                memcpy(*v, r.v, sizeof(double) * (size_t)r.n);
                rc = 0;
            } else {
                wf_fail(d, "%s: '%s' is not a constant", what, text);
            }
        }
        wf_graph_free(c.g);
        wf_arena_free(&c.arena);
    } else if (f) {
        wf_fail(d, "%s: '%s' is not a value", what, text);
    }
    wf_file_ast_free(f);
    for (int i = first; i < d->n; i++) {
        wf_loc *l = &d->v[i].loc;
        if (l->src != s)
            continue;
        l->col = l->col > plen ? l->col - plen : 1;
        l->off = l->off > plen ? l->off - plen : 0;
    }
    memmove(s->text, s->text + plen, s->len - (size_t)plen + 1);
    s->len -= (size_t)plen;
    wf_source_free(s);
    return rc;
}

int wf_build_node(wf_graph *g, int kind, int nin, const int *in, wf_opt *opts, wf_loc loc,
                  wf_diags *d)
{
    cc c = {0};
    c.g = g;
    c.d = d;
    int *ins = wf_xmalloc(sizeof(int) * (size_t)(nin + 1));
    wf_loc *locs = wf_xmalloc(sizeof(wf_loc) * (size_t)(nin + 1));
    for (int i = 0; i < nin; i++) {
        ins[i] = in[i];
        locs[i] = loc;
    }
    if (!opts)
        opts = new_opts(kind);
    int id = make_node(&c, kind, nin, ins, locs, opts, loc);
    free(ins);
    free(locs);
    wf_arena_free(&c.arena);
    return id;
}

double wf_patch_rate(const wf_graph *g, double cli_rate, double fallback)
{
    if (cli_rate > 0)
        return cli_rate;
    if (g->rate > 0)
        return g->rate;
    return fallback;
}

wf_env wf_patch_env(const wf_graph *g, double cli_rate, double fallback, int64_t nsamples)
{
    wf_env e;
    e.sr = wf_patch_rate(g, cli_rate, fallback);
    double fr = g->frame_rate > 0 ? g->frame_rate : 250;
    int hop = (int)llround(e.sr / fr);
    e.hop = hop < 1 ? 1 : hop;
    e.frame_rate = e.sr / e.hop;
    e.nsamples = nsamples;
    e.nframes = (nsamples + e.hop - 1) / e.hop;
    e.seed = 0;
    return e;
}
