/* The compiler: from a patch file (and the modules it uses) to a graph.
 * It resolves names (bindings are declarative: their order does not matter,
 * and a binding that depends on itself is a cycle error), expands defs,
 * converts units, folds constant arithmetic, checks every node call against
 * its registry signature and infers every signal's rate and channels, so that
 * nothing runs before the whole patch is known to be well formed. */
#ifndef WF_COMPILE_H
#define WF_COMPILE_H

#include "lang/ast.h"
#include "runtime/diag.h"
#include "runtime/graph.h"
#include "runtime/node.h"

typedef struct wf_patch {
    wf_graph *g;
    wf_source **sources; /* the patch's own (nmain of them), then used modules */
    int nsources, nmain;
    int borrowed;        /* the own sources' syntax trees are the caller's (a session) */
    wf_file_ast **asts;
    char *dir; /* folder of the patch, for `use` and relative files */
} wf_patch;

typedef struct wf_compile_opts {
    const char *const *search; /* extra folders for `use`, NULL-terminated (may be NULL) */
} wf_compile_opts;

/* Compiles the patch at path ("-": read from standard input, named
 * WF_STDIN_NAME in messages, its files found from the current folder);
 * NULL (with diagnostics) on error. */
#define WF_STDIN_NAME "<stdin>"
wf_patch *wf_compile_file(const char *path, const wf_compile_opts *o, wf_diags *d);
/* Compiles source text as if it were a file named `name`. */
wf_patch *wf_compile_text(const char *name, const char *text, const wf_compile_opts *o,
                          wf_diags *d);
/* Compiles an already loaded source (taking over the caller's reference),
 * for text that may hold NUL bytes. */
wf_patch *wf_compile_source(wf_source *src, const wf_compile_opts *o, wf_diags *d);
/* Compiles a list of top-level statements parsed from srcs (a live session's
 * statements, from several texts): the patch keeps references to the
 * sources and borrows the statements, which the caller keeps alive while
 * the patch lives. dir: the folder for `use` and relative files. */
wf_patch *wf_compile_stmts(wf_source *const *srcs, int nsrc, const wf_stmt *const *stmts, int n,
                           const char *dir, const wf_compile_opts *o, wf_diags *d);
void wf_patch_free(wf_patch *p);

/* Evaluates a constant expression such as "2 khz" or "[0.1, 0.2]" (for
 * --set); *v is malloc'd. Diagnostics point into a source named `what`
 * holding just the text. */
int wf_eval_constant(const char *what, const char *text, double **v, int *n, wf_diags *d);

/* Adds a node of registry kind `kind` to g as a call would: checks and infers
 * its shape, converting inputs to the rates it asks for. opts (one per
 * signature argument, or NULL for none) is taken over. Returns the node, or
 * -1 with diagnostics. For programs that build graphs without source text. */
int wf_build_node(wf_graph *g, const wf_node_kind *kind, int nin, const int *in, wf_opt *opts,
                  wf_loc loc, wf_diags *d);

/* The run's timing for a patch: rate from (in order) the command line, the
 * patch, or `fallback`; the control hop is the rate over the frame rate,
 * rounded (at least 1). */
wf_env wf_patch_env(const wf_graph *g, double cli_rate, double fallback, int64_t nsamples);
double wf_patch_rate(const wf_graph *g, double cli_rate, double fallback);

#endif
