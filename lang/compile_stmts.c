/* The top-level statements of a patch: settings (rate, frames, length),
 * params, inputs, bindings and the out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

/* A constant scalar for a setting or size, checked for its dimension. */
static int eval_scalar(cc *c, const wf_ast *e, dim want, const char *what, double *out)
{
    val v = wf_cc_eval(c, &c->globals, e);
    if (v.kind == V_POISON)
        return -1;
    wf_loc loc = wf_cc_span(e);
    if (v.kind != V_CONST || v.n != 1) {
        wf_diag(c->d, WF_SEV_ERROR, loc, NULL, "%s must be a single number known when compiling",
                what);
        return -1;
    }
    if (v.dim != DIM_NONE && v.dim != want) {
        wf_diag(c->d, WF_SEV_ERROR, loc,
                want == DIM_FREQ ? "write it in hz or khz" : want == DIM_TIME ? "write it in s or ms" : NULL,
                "bad unit: %s expects %s, got %s", what, wf_cc_dim_name(want), wf_cc_dim_name(v.dim));
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
        wf_diag(c->d, WF_SEV_ERROR, wf_cc_span(e), NULL, "%s must be a whole number up to %d, got %g",
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

static void param_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    int size = 1;
    if (st->size && eval_count(c, st->size, "a param's size", 65536, &size)) {
        wf_cc_bind_poison(c, st);
        return;
    }
    if (size < 1) {
        wf_diag(c->d, WF_SEV_ERROR, wf_cc_span(st->size), NULL, "a param needs at least one value");
        wf_cc_bind_poison(c, st);
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
    pd.init_unit = wf_cc_single_unit(st->expr);
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
    val init = wf_cc_eval(c, &c->globals, st->expr);
    wf_loc iloc = wf_cc_span(st->expr);
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
        val lo = wf_cc_eval(c, &c->globals, st->lo), hi = wf_cc_eval(c, &c->globals, st->hi);
        if (lo.kind != V_CONST || hi.kind != V_CONST || lo.n != 1 || hi.n != 1) {
            if (lo.kind != V_POISON && hi.kind != V_POISON)
                wf_diag(c->d, WF_SEV_ERROR, st->lo->loc, NULL, "a param's bounds must be two numbers");
            bad = 1;
        } else if (!(lo.v[0] < hi.v[0])) {
            wf_diag(c->d, WF_SEV_ERROR, wf_cc_span(st->lo), NULL,
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
                    wf_diag(c->d, WF_SEV_ERROR, wf_cc_span(i == 0 ? st->expr : i == 1 ? st->lo : st->hi),
                            NULL, "bad unit: param '%s' mixes %s and %s", st->name,
                            wf_cc_dim_name(first), wf_cc_dim_name(dims[i]));
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
    binding *b = wf_cc_bind(c, &c->globals, st->name, st->name_loc);
    if (bad || !b) {
        free(pd.name);
        free(pd.init);
        free(pd.init_file);
        if (b) {
            b->kind = B_VALUE;
            b->value = WF_POISON;
        }
        return;
    }
    int idx = g->nparams++;
    g->params = wf_xrealloc(g->params, sizeof *g->params * (size_t)g->nparams);
    int id = wf_cc_add_node(c, &wf_kind_param, 0, NULL, st->name_loc);
    pd.node = id;
    g->params[idx] = pd;
    b->kind = B_VALUE;
    if (id < 0) {
        b->value = WF_POISON;
        return;
    }
    g->nodes[id].ref = idx;
    g->nodes[id].shape = wf_shape_of(pd.rate, size);
    g->nodes[id].label = wf_xstrdup(st->name);
    b->value = wf_cc_node(id);
}

static void input_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    int chans = 1;
    binding *b = wf_cc_bind(c, &c->globals, st->name, st->name_loc);
    if (!b)
        return;
    b->kind = B_VALUE;
    b->value = WF_POISON;
    if (st->size && eval_count(c, st->size, "an input's channel count", 1024, &chans))
        return;
    wf_input_decl in = {0};
    if (st->from && !st->from_is_file && strcmp(st->from, "target") != 0) {
        wf_diag(c->d, WF_SEV_ERROR, st->from_loc, "write `input NAME = target` or `input NAME = \"file.wav\"`",
                "an input comes from 'target' or a file name, not '%s'", st->from);
        return;
    }
    if (chans < 1) {
        wf_diag(c->d, WF_SEV_ERROR, wf_cc_span(st->size), NULL, "an input needs at least one channel");
        return;
    }
    in.name = wf_xstrdup(st->name);
    in.loc = st->name_loc;
    in.chans = chans;
    in.from_target = st->from && !st->from_is_file;
    in.file = st->from && st->from_is_file ? wf_xstrdup(st->from) : NULL;
    int idx = g->ninputs++;
    g->inputs = wf_xrealloc(g->inputs, sizeof *g->inputs * (size_t)g->ninputs);
    int id = wf_cc_add_node(c, &wf_kind_input, 0, NULL, st->name_loc);
    in.node = id;
    g->inputs[idx] = in;
    if (id < 0)
        return;
    g->nodes[id].ref = idx;
    g->nodes[id].shape = wf_shape_of(WF_RATE_AUDIO, chans);
    g->nodes[id].label = wf_xstrdup(st->name);
    b->value = wf_cc_node(id);
}

/* Settings seen so far, and the out, while declaring a patch's statements. */
typedef struct decls {
    wf_loc rate, frames, length;
    const wf_stmt *out;
} decls;

static void declare(cc *c, const wf_stmt *st, decls *seen)
{
    wf_graph *g = c->g;
    switch (st->kind) {
    case WF_ST_RATE:
        setting(c, st, &seen->rate, "rate", DIM_FREQ, &g->rate);
        g->rate_loc = st->loc;
        break;
    case WF_ST_FRAMES:
        setting(c, st, &seen->frames, "frames", DIM_FREQ, &g->frame_rate);
        break;
    case WF_ST_LENGTH:
        setting(c, st, &seen->length, "length", DIM_TIME, &g->length);
        break;
    case WF_ST_PARAM: {
        wf_mark m = wf_cc_enter_name(c, "param", st->name);
        param_stmt(c, st);
        wf_cc_leave(c, m);
        break;
    }
    case WF_ST_INPUT: {
        wf_mark m = wf_cc_enter_name(c, "input", st->name);
        input_stmt(c, st);
        wf_cc_leave(c, m);
        break;
    }
    case WF_ST_BIND: {
        binding *b = wf_cc_bind(c, &c->globals, st->name, st->name_loc);
        if (b) {
            b->kind = B_LAZY;
            b->expr = st->expr;
        }
        break;
    }
    case WF_ST_OUT:
        if (seen->out) {
            char hint[64];
            snprintf(hint, sizeof hint, "the first is at line %d", seen->out->loc.line);
            wf_diag(c->d, WF_SEV_ERROR, st->loc, hint,
                    "a patch has one 'out' (make several channels with [a, b])");
        } else {
            seen->out = st;
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

/* The out's expression, brought to audio rate. */
static void eval_out(cc *c, const wf_stmt *out)
{
    wf_mark m = wf_cc_enter_name(c, "out", "");
    val v = wf_cc_eval(c, &c->globals, out->expr);
    wf_loc loc = wf_cc_span(out->expr);
    int id = v.kind == V_POISON ? -1 : wf_cc_as_node(c, &v, loc);
    if (id >= 0) {
        wf_shape sh = wf_cc_shape(c, id);
        if (sh.rate != WF_RATE_AUDIO) {
            int up = wf_cc_add_node(c, &wf_kind_upsample, 1, &id, loc);
            if (up >= 0)
                c->g->nodes[up].shape = wf_shape_of(WF_RATE_AUDIO, sh.chans);
            id = up;
        }
        c->g->out = id;
    }
    wf_cc_leave(c, m);
}

void wf_cc_compile_patch(cc *c, int nmain)
{
    decls seen = {0};
    for (int i = 0; i < nmain; i++)
        if (c->patch->asts[i])
            wf_cc_module_stmts(c, c->patch->asts[i], 0);
    for (int i = 0; i < nmain; i++)
        for (const wf_stmt *st = c->patch->asts[i] ? c->patch->asts[i]->stmts : NULL; st;
             st = st->next)
            declare(c, st, &seen);
    if (!seen.out) {
        const wf_source *src = c->patch->sources[nmain - 1];
        int lines = 1;
        for (size_t i = 0; i + 1 < src->len; i++)
            lines += src->text[i] == '\n';
        wf_loc loc = {src, lines, 1, 0, 0};
        wf_diag(c->d, WF_SEV_ERROR, loc, "end the patch with `out EXPR`",
                "the patch has no 'out' statement");
    } else {
        eval_out(c, seen.out);
    }
    for (int i = 0; i < c->globals.n; i++)
        if (c->globals.v[i].kind == B_LAZY)
            wf_cc_force(c, &c->globals.v[i], c->globals.v[i].loc);
}
