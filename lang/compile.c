/* The compiler's entry points (compile.h): a patch from a file or text, a
 * constant for --set, and the run timing of a compiled patch. */
#define _POSIX_C_SOURCE 200809L
#include "lang/compile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

/* mix(sine(freq, phase)) with freq and phase constants, the sine read by
 * nothing else, becomes one `sines` node (stdlib/osc.c) in the mix's place
 * (keeping its identity): the sum made as the sines are, instead of a
 * channel per sine written out and read back. The sine is then unread and
 * pruned. */
static void fold_sine_banks(wf_graph *g)
{
    int *readers = wf_xcalloc((size_t)g->n, sizeof(int));
    for (int i = 0; i < g->n; i++)
        for (int j = 0; j < g->nodes[i].nin; j++)
            readers[g->nodes[i].in[j]]++;
    for (int i = 0; i < g->n; i++) {
        wf_gnode *m = &g->nodes[i];
        if (m->kind != &wf_kind_mix || m->nin != 1)
            continue;
        int s = m->in[0];
        const wf_gnode *sn = &g->nodes[s];
        if (sn->kind != &wf_kind_sine || readers[s] != 1 || s == g->out ||
            g->nodes[sn->in[0]].kind != &wf_kind_const || g->nodes[sn->in[1]].kind != &wf_kind_const)
            continue;
        for (int a = 0; a < m->kind->nargs; a++)
            free(m->opt[a].v);
        free(m->opt);
        m->kind = &wf_kind_sines;
        m->opt = wf_xcalloc((size_t)wf_kind_sines.nargs, sizeof *m->opt);
        m->in = wf_xrealloc(m->in, 2 * sizeof *m->in);
        m->in[0] = sn->in[0];
        m->in[1] = sn->in[1];
        m->nin = 2;
        readers[s] = 0;
    }
    free(readers);
}

/* Compiles statements into p (whose main sources are set); NULL after
 * errors, p freed. */
static wf_patch *compile_into(wf_patch *p, const wf_stmt *const *stmts, int n,
                              const wf_compile_opts *o, wf_diags *d)
{
    int errors = d->errors;
    cc c = {0};
    c.patch = p;
    c.g = p->g = wf_graph_new();
    c.d = d;
    c.opts = o;
    wf_cc_compile_patch(&c, stmts, n, p->sources[p->nmain - 1]);
    if (d->errors == errors)
        wf_cc_close_loops(&c);
    wf_cc_loops_free(&c);
    wf_cc_scope_free(&c.globals);
    free(c.defs);
    wf_arena_free(&c.arena);
    if (d->errors > errors) {
        wf_patch_free(p);
        return NULL;
    }
    fold_sine_banks(p->g);
    wf_graph_prune(p->g);
    for (int i = 0; i < p->g->nparams; i++)
        if (p->g->params[i].node < 0)
            wf_report_unused_param(d, p->g->params[i].loc, "a fit leaves it unchanged",
                                   p->g->params[i].name);
    return p;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? wf_xstrndup(path, (size_t)(slash - path)) : wf_xstrdup(".");
}

wf_patch *wf_compile_source(wf_source *src, const wf_compile_opts *o, wf_diags *d)
{
    wf_patch *p = wf_xcalloc(1, sizeof *p);
    p->dir = dir_of(src->path);
    p->sources = wf_xmalloc(sizeof(void *));
    p->asts = wf_xmalloc(sizeof(void *));
    p->sources[0] = src;
    p->nsources = p->nmain = 1;
    p->asts[0] = wf_parse(src, d);
    if (!p->asts[0]) {
        wf_patch_free(p);
        return NULL;
    }
    int n = 0;
    for (const wf_stmt *st = p->asts[0]->stmts; st; st = st->next)
        n++;
    const wf_stmt **stmts = wf_xmalloc(sizeof *stmts * (size_t)(n + 1));
    n = 0;
    for (const wf_stmt *st = p->asts[0]->stmts; st; st = st->next)
        stmts[n++] = st;
    p = compile_into(p, stmts, n, o, d);
    free(stmts);
    return p;
}

wf_patch *wf_compile_stmts(wf_source *const *srcs, int nsrc, const wf_stmt *const *stmts, int n,
                           const char *dir, const wf_compile_opts *o, wf_diags *d)
{
    wf_patch *p = wf_xcalloc(1, sizeof *p);
    p->dir = wf_xstrdup(dir);
    p->sources = wf_xmalloc(sizeof(void *) * (size_t)(nsrc + 1));
    p->asts = wf_xcalloc((size_t)(nsrc + 1), sizeof(void *));
    for (int i = 0; i < nsrc; i++) {
        p->sources[i] = srcs[i];
        srcs[i]->refs++;
    }
    p->nsources = p->nmain = nsrc;
    p->borrowed = 1;
    return compile_into(p, stmts, n, o, d);
}

wf_patch *wf_compile_file(const char *path, const wf_compile_opts *o, wf_diags *d)
{
    wf_source *src;
    if (strcmp(path, "-") == 0) {
        /* the patch on standard input, as Unix tools read "-": named
         * <stdin> in messages; what it names resolves in the current folder */
        size_t len;
        char *text = wf_read_stream(stdin, &len);
        src = text ? wf_source_from_bytes(WF_STDIN_NAME, text, len) : NULL;
        free(text);
    } else {
        src = wf_source_load(path);
    }
    if (!src) {
        wf_report_cannot_read_patch(d, WF_NOWHERE, NULL, path, strerror(errno));
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
        if (!p->borrowed || i >= p->nmain)
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
        val r = wf_cc_eval(&c, &c.globals, f->stmts->expr);
        if (d->errors == errors) {
            if (r.kind == V_CONST) {
                *n = r.n;
                *v = wf_xmalloc(sizeof(double) * (size_t)r.n);
                memcpy(*v, r.v, sizeof(double) * (size_t)r.n);
                rc = 0;
            } else {
                wf_report_set_not_constant(d, WF_NOWHERE, NULL, what, text);
            }
        }
        wf_graph_free(c.g);
        wf_arena_free(&c.arena);
    } else if (f) {
        wf_report_set_not_value(d, WF_NOWHERE, NULL, what, text);
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
