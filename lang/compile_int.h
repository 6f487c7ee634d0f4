/* The compiler's internals, shared by its files (one job each):
 *   compile.c         entry points: a patch from a file, text or statements
 *   compile_stmts.c   top-level statements: settings, params, inputs, out
 *   compile_modules.c `use` (module search) and `def`
 *   compile_scope.c   scopes, bindings, cycles, "did you mean" suggestions
 *   compile_eval.c    expressions: literals, vectors, operators
 *   compile_calls.c   calls of nodes and defs, argument matching
 *   compile_units.c   units and physical dimensions of constants
 *   compile_build.c   the graph builder: shape inference, automatic upsampling,
 *                     constant folding, node identity (shared with
 *                     wf_build_node)
 *
 * Evaluation is by demand: `out` is evaluated first and pulls in the bindings
 * it names; bindings nobody uses are evaluated afterwards so that their errors
 * are still reported. A binding met again while it is being evaluated is a
 * cycle. Each error yields a "poison" value that later checks stay quiet
 * about, so one mistake gives one message. */
#ifndef WF_COMPILE_INT_H
#define WF_COMPILE_INT_H

#include <stdint.h>

#include "lang/ast.h"
#include "lang/compile.h"
#include "runtime/node.h"
#include "runtime/rng.h"

#define MAX_NODES 2000000
#define MAX_DEPTH 200
#define MAX_VECTOR 1000000
/* Recursion of eval through brackets, calls, unary minus, defs and bindings
 * together (operator chains are walked with a loop): bounded so that a
 * pathological patch gets an error rather than a stack overflow. */
#define MAX_EVAL_DEPTH 1000

/* Physical dimension of a constant, for unit checks in settings and params. */
typedef enum { DIM_NONE, DIM_FREQ, DIM_TIME, DIM_GAIN } dim;

typedef enum { V_POISON, V_CONST, V_NODE, V_STR } vkind;

typedef struct val {
    vkind kind;
    double *v; /* V_CONST: n numbers */
    int n;
    dim dim;
    int node;        /* V_NODE */
    const char *str; /* V_STR */
} val;

#define WF_POISON ((val){V_POISON, NULL, 0, DIM_NONE, -1, NULL})

typedef enum { B_LAZY, B_VALUE } bkind;

typedef struct binding {
    const char *name;
    wf_loc loc;
    bkind kind;
    const wf_ast *expr;
    struct scope *scope; /* where a lazy binding is evaluated */
    uint64_t path;       /* identity path of its expression (compile_build.c) */
    int state;           /* 0 new, 1 being evaluated, 2 done */
    val value;
    /* Feedback: the node standing for the binding's value inside its own
     * expression (node + 1; 0: none), the shape it was given, and where the
     * binding was first met again. */
    int fb;
    wf_shape fbshape;
    wf_loc fbat;
    const char *fbchain; /* the bindings on the way round, "a -> b -> a" */
} binding;

typedef struct scope {
    binding *v;
    int n, cap;
    struct scope *parent;
    uint64_t path; /* identity path its bindings are named under */
} scope;

typedef struct def {
    const char *name;
    const wf_stmt *st;
} def;

typedef struct frame {
    const char *name;
    wf_loc loc;
} frame;

/* A feedback loop met while compiling: node `ph` stands for node `ref`, the
 * value of binding `name`, which was met again at `at` through `chain`. */
typedef struct fbloop {
    int ph, ref;
    const char *name;
    const char *chain;
    wf_loc at;
} fbloop;

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
    int depth;     /* eval recursion */
    int too_deep;
    uint64_t path; /* identity path of the expression being evaluated */
    int seq;       /* nodes made at that path so far */
    fbloop *loops;
    int nloops, caploops;
    binding **forced; /* bindings in the order their values were found */
    int nforced, capforced;
} cc;

/* Where evaluation is, to come back to (wf_cc_enter, wf_cc_leave). */
typedef struct wf_mark {
    uint64_t path;
    int seq;
} wf_mark;

/* ---- compile_scope.c */
wf_loc wf_cc_span(const wf_ast *e);
binding *wf_cc_find_local(scope *s, const char *name);
binding *wf_cc_lookup(scope *s, const char *name);
void wf_cc_scope_free(scope *s);
def *wf_cc_find_def(cc *c, const char *name);
void wf_cc_dup_error(cc *c, wf_loc loc, const char *name, wf_loc first);
/* Adds a binding; reports a duplicate in the same scope, or a clash with a
 * def or, at top level, with a param or input. NULL after an error. */
binding *wf_cc_bind(cc *c, scope *s, const char *name, wf_loc loc);
/* A failed declaration still defines its name (as poison). */
void wf_cc_bind_poison(cc *c, const wf_stmt *st);
val wf_cc_force(cc *c, binding *b, wf_loc at);
val wf_cc_name_ref(cc *c, scope *s, const wf_ast *e);
/* The hint for an unknown name: "did you mean" the closest among the values
 * visible from s or, with callables, among defs and nodes; written into buf,
 * or NULL when nothing is close. */
const char *wf_cc_did_you_mean(cc *c, scope *s, const char *name, int callables, char *buf,
                               size_t size);

/* ---- compile_loops.c */
/* The value of binding b met inside its own expression: a node standing for
 * it, closed into a loop once b's value is known. */
val wf_cc_feedback_ref(cc *c, binding *b, wf_loc at);
/* Evaluates lazy binding b, which may refer to itself. */
val wf_cc_eval_binding(cc *c, binding *b);
/* Turns every cycle of the graph into a loop node (wf_kind_loop), after
 * checking that a delay closes it; reports and returns -1 otherwise. */
int wf_cc_close_loops(cc *c);
void wf_cc_loops_free(cc *c);

/* ---- compile_units.c */
const char *wf_cc_dim_name(dim d);
val wf_cc_number(cc *c, double x, wf_unit u);
dim wf_cc_combine_dim(char op, dim a, dim b);
/* The unit of a single (possibly negated) literal, else WF_UNIT_NONE. */
int wf_cc_single_unit(const wf_ast *e);

/* ---- compile_build.c */
val wf_cc_const(cc *c, int n, dim dm);
val wf_cc_node(int node);
wf_shape wf_cc_shape(cc *c, int node);
int wf_cc_add_node(cc *c, const wf_node_kind *k, int nin, const int *in, wf_loc loc);
/* A value as a graph node (constants become const nodes); -1 on poison. */
int wf_cc_as_node(cc *c, const val *v, wf_loc loc);
/* Runs k's shape rule on the inputs, converts inputs to the rates it asks
 * for, folds constants, and adds the node. opts: one per signature argument
 * (taken over). Returns the node or -1. */
int wf_cc_make_node(cc *c, const wf_node_kind *k, int nin, int *in, const wf_loc *in_loc,
                    wf_opt *opts, wf_loc loc);
wf_opt *wf_cc_new_opts(const wf_node_kind *k);
/* Enters a child of the expression being evaluated: role names which child
 * (an argument index, a binding's name), so that every node's id follows
 * from where it is written and not from how many nodes came before it.
 * Returns where to come back to with wf_cc_leave. */
wf_mark wf_cc_enter(cc *c, uint64_t role);
wf_mark wf_cc_enter_name(cc *c, const char *what, const char *name);
void wf_cc_leave(cc *c, wf_mark m);

/* The notes input that made lane space k, for messages. */
const char *wf_cc_space_name(cc *c, int k);

/* ---- compile_eval.c */
val wf_cc_eval(cc *c, scope *s, const wf_ast *e);
/* wf_cc_eval of child `role` of the expression being evaluated. */
val wf_cc_eval_child(cc *c, scope *s, const wf_ast *e, uint64_t role);

/* ---- compile_calls.c */
val wf_cc_call(cc *c, scope *s, const wf_ast *e);
/* Matches a call's arguments to names; reports unknown, repeated and
 * missing ones. names[i] for i < nnames; variadic: the last repeats, into
 * *extra (malloc'd). */
int wf_cc_match_args(cc *c, const char *callee, const char *const *names, int nnames,
                     int variadic, const wf_arg *args, const wf_arg **slot, const wf_arg ***extra,
                     int *nextra);

/* ---- compile_stmts.c */
/* The patch's own statements, in order; a missing out is reported at the
 * end of `last`. */
void wf_cc_compile_patch(cc *c, const wf_stmt *const *stmts, int n, const wf_source *last);

/* ---- compile_modules.c */
/* The `use` and `def` statements of f (a used module may hold nothing else). */
void wf_cc_module_stmts(cc *c, const wf_file_ast *f, int is_module);
/* One statement of them (others are an error in a module). */
void wf_cc_module_stmt(cc *c, const wf_stmt *st, int is_module);

#endif
