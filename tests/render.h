/* Helpers for cmocka tests that run patch texts: compile, plan for a length,
 * render whole or block by block. A patch that does not compile fails the
 * test with the compiler's diagnostics. */
#ifndef WF_TEST_RENDER_H
#define WF_TEST_RENDER_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lang/compile.h"
#include "runtime/exec.h"
#include "runtime/params.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

typedef struct wf_run {
    wf_patch *patch;
    wf_env env;
    wf_params ps;
    wf_prog *prog;
    int chans;
} wf_run;

static inline void wf_run_fail(wf_diags *d, const char *what, const char *text)
{
    wf_diags_print(stderr, d, WF_DIAG_TEXT);
    fail_msg("%s:\n%s", what, text);
}

/* Compiles text and plans it for nsamples with voices[k] lanes in lane space
 * k + 1 (voices NULL: one each); params keep their initial values until the
 * caller sets them (wf_run_param) before running. */
static inline void wf_run_open_voices(wf_run *r, const char *text, int64_t nsamples,
                                      wf_run_mode mode, int block, const int *voices)
{
    wf_diags d = {0};
    memset(r, 0, sizeof *r);
    r->patch = wf_compile_text("test.weft", text, NULL, &d);
    if (!r->patch)
        wf_run_fail(&d, "the patch does not compile", text);
    r->env = wf_patch_env(r->patch->g, 0, 48000, nsamples);
    if (wf_params_init(&r->ps, r->patch->g, &r->env, NULL, &d))
        wf_run_fail(&d, "the params cannot be set up", text);
    wf_plan o = {mode, block, 1, NULL, voices};
    r->prog = wf_prog_plan(r->patch->g, &r->env, &r->ps, &o, &d);
    if (!r->prog)
        wf_run_fail(&d, "the patch cannot be planned", text);
    r->chans = wf_prog_out_chans(r->prog);
    wf_diags_free(&d);
}

static inline void wf_run_open(wf_run *r, const char *text, int64_t nsamples, wf_run_mode mode,
                               int block)
{
    wf_run_open_voices(r, text, nsamples, mode, block, NULL);
}

static inline void wf_run_close(wf_run *r)
{
    wf_prog_free(r->prog);
    wf_params_free(&r->ps);
    wf_patch_free(r->patch);
    memset(r, 0, sizeof *r);
}

/* The value store of param `name`: rows x cols, row-major. */
static inline wf_param *wf_run_param(wf_run *r, const char *name)
{
    int i = wf_params_find(&r->ps, name);
    if (i < 0)
        fail_msg("the patch has no param '%s'", name);
    return &r->ps.v[i];
}

/* Renders the whole of text in one pass: [nsamples x r->chans]. */
static inline const wf_real *wf_run_whole(wf_run *r, const char *text, int64_t nsamples)
{
    wf_run_open(r, text, nsamples, WF_RUN_WHOLE, 0);
    return wf_prog_forward(r->prog);
}

/* Streams an opened STREAM run to its end into a new [nsamples x chans]
 * buffer, checking that every block but the last is `block` samples. */
static inline wf_real *wf_run_collect(wf_run *r, int block)
{
    size_t C = (size_t)r->chans;
    wf_real *all = wf_xmalloc(sizeof(wf_real) * (size_t)r->env.nsamples * C);
    int64_t at = 0;
    int n;
    const wf_real *b;
    while ((b = wf_prog_next_block(r->prog, &n))) {
        if (n != block && at + n != r->env.nsamples)
            fail_msg("block of %d samples at %lld; blocks are %d", n, (long long)at, block);
        assert_true(at + n <= r->env.nsamples);
        memcpy(all + (size_t)at * C, b, sizeof(wf_real) * (size_t)n * C);
        at += n;
    }
    assert_int_equal(at, r->env.nsamples);
    return all;
}

/* Nodes of kind `name` in the compiled graph. */
static inline int wf_run_uses(const wf_run *r, const char *name)
{
    int kind = wf_registry_find(name), count = 0;
    assert_true(kind >= 0);
    for (int i = 0; i < r->patch->g->n; i++)
        count += r->patch->g->nodes[i].kind == wf_registry[kind];
    return count;
}

/* The adjoint identity of a node linear in each param (a convolution, in
 * its signal and in its taps): with L = <w, y> over len output values,
 * <dL/dp, p> = L for every param p, to rtol. r's params hold their values. */
static inline void wf_run_check_linear(wf_run *r, const wf_real *w, size_t len, double rtol,
                                       const char *text)
{
    wf_params_zero_grad(&r->ps);
    const wf_real *y = wf_prog_forward(r->prog);
    double lw = 0;
    for (size_t j = 0; j < len; j++)
        lw += (double)w[j] * y[j];
    wf_prog_backward(r->prog, w);
    for (int i = 0; i < r->ps.n; i++) {
        wf_param *p = &r->ps.v[i];
        double s = 0;
        for (size_t j = 0; j < wf_param_len(p); j++)
            s += (double)p->grad[j] * p->value[j];
        if (fabs(s - lw) > rtol * fabs(lw))
            fail_msg("%s<dL/d%s, %s> = %.9g, <w, y> = %.9g", text, p->decl->name, p->decl->name,
                     s, lw);
    }
}

/* Streams of text (of `chans` channels) in blocks of each of the nblocks
 * lengths give the whole pass's n samples to within tol (relative to
 * 1 + |y|), with the per-frame param `param` set to value(f) at frame f in
 * both. */
static inline void wf_run_check_stream(const char *text, int64_t n, int chans, const char *param,
                                       double (*value)(int f), const int *blocks, int nblocks,
                                       double tol)
{
    wf_run w;
    wf_run_open(&w, text, n, WF_RUN_WHOLE, 0);
    wf_param *pw = wf_run_param(&w, param);
    int F = pw->rows * pw->cols;
    for (int f = 0; f < F; f++)
        pw->value[f] = (wf_real)value(f);
    const wf_real *y = wf_prog_forward(w.prog);
    assert_int_equal(w.chans, chans);
    size_t len = (size_t)n * (size_t)w.chans;
    for (int b = 0; b < nblocks; b++) {
        wf_run s;
        wf_run_open(&s, text, n, WF_RUN_STREAM, blocks[b]);
        memcpy(wf_run_param(&s, param)->value, pw->value, sizeof(wf_real) * (size_t)F);
        wf_real *z = wf_run_collect(&s, blocks[b]);
        for (size_t i = 0; i < len; i++)
            if (fabs(z[i] - y[i]) > tol * (1 + fabs(y[i])))
                fail_msg("blocks of %d: sample %zu channel %zu: %.9g streamed, %.9g whole",
                         blocks[b], i / (size_t)w.chans, i % (size_t)w.chans, z[i], y[i]);
        free(z);
        wf_run_close(&s);
    }
    wf_run_close(&w);
}

#endif
