/* The top-level statements of a patch: settings (rate, frames, length),
 * params, inputs, bindings and the out. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lang/compile_int.h"
#include "runtime/midi.h"
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
        wf_report_setting_not_constant(c->d, loc, NULL, what);
        return -1;
    }
    if (v.dim != DIM_NONE && v.dim != want) {
        wf_report_bad_unit(c->d, loc,
                           want == DIM_FREQ   ? "write it in hz or khz"
                           : want == DIM_TIME ? "write it in s or ms"
                                              : NULL,
                           what, wf_cc_dim_name(want), wf_cc_dim_name(v.dim));
        return -1;
    }
    if (!(v.v[0] > 0) || !isfinite(v.v[0])) {
        wf_report_setting_not_positive(c->d, loc, NULL, what, v.v[0]);
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
        wf_report_bad_count(c->d, wf_cc_span(e), NULL, what, limit, x);
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
        wf_report_setting_twice(c->d, st->loc, hint, what);
        return;
    }
    *seen = st->loc;
    double v;
    if (eval_scalar(c, st->expr, want, what, &v) == 0)
        *dst = v;
}

/* rate and frames: from 1 Hz to 1 MHz, the range --rate takes, so that
 * sample counts and periods stay within what the engine counts in. */
static void rate_setting(cc *c, const wf_stmt *st, wf_loc *seen, const char *what, double *dst)
{
    double v = 0;
    setting(c, st, seen, what, DIM_FREQ, &v);
    if (!(v > 0))
        return;
    if (v < 1 || v > 1e6) {
        wf_report_rate_out_of_range(c->d, wf_cc_span(st->expr), NULL, what, v);
        return;
    }
    *dst = v;
}

/* The counts of a `[N]` or `[R, C]` size: at most two, each a whole number
 * from 1 to limit. */
static int eval_dims(cc *c, const wf_ast *size, const char *what, int limit, int maxdims,
                     int *dims, int *ndims)
{
    *ndims = 0;
    for (const wf_item *it = size->u.items; it; it = it->next) {
        if (*ndims == maxdims) {
            wf_report_too_many_dimensions(c->d, wf_cc_span(it->value), NULL, what, maxdims,
                                          maxdims == 1 ? "" : "s");
            return -1;
        }
        int n;
        if (eval_count(c, it->value, what, limit, &n))
            return -1;
        if (n < 1) {
            wf_report_setting_not_positive(c->d, wf_cc_span(it->value), NULL, what, n);
            return -1;
        }
        dims[(*ndims)++] = n;
    }
    return 0;
}

/* The shape: `[N]` a vector, `[R, C]` a matrix (its values row-major, the
 * channels of the param); without a size, one value. */
static int param_shape(cc *c, const wf_stmt *st, wf_param_decl *pd)
{
    pd->ndims = 1;
    pd->dims[0] = pd->size = 1;
    if (!st->size)
        return 0;
    if (eval_dims(c, st->size, "a param's size", 1 << 30, 2, pd->dims, &pd->ndims))
        return -1;
    int64_t total = (int64_t)pd->dims[0] * (pd->ndims == 2 ? pd->dims[1] : 1);
    if (total > INT32_MAX) {
        wf_report_param_too_large(c->d, wf_cc_span(st->size), "split it into several params",
                                  st->name, (long long)total);
        return -1;
    }
    pd->size = (int)total;
    return 0;
}

/* The options after the value: `per frame`, `lin` or `log`. */
static int param_options(cc *c, const wf_stmt *st, wf_param_decl *pd)
{
    int bad = 0;
    if (st->per) {
        if (strcmp(st->per, "frame") != 0) {
            wf_report_unknown_per(c->d, st->per_loc, "write 'per frame'", st->per);
            bad = 1;
        }
        pd->rate = WF_RATE_CONTROL;
    }
    if (st->scale) {
        if (strcmp(st->scale, "log") == 0)
            pd->log = 1;
        else if (strcmp(st->scale, "lin") != 0) {
            wf_report_unknown_param_option(c->d, st->scale_loc,
                                           "after a param's value come 'lin', 'log' or 'fixed'",
                                           st->scale);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

/* The initialisers a param's value may be, with their arguments' names and
 * defaults (positional in this order). */
static const struct {
    const char *name;
    wf_draw_kind kind;
    const char *args[3];
    double dflt[3];
} draws[] = {
    {"normal", WF_DRAW_NORMAL, {"mean", "std", "seed"}, {0, 1, 0}},
    {"uniform", WF_DRAW_UNIFORM, {"lo", "hi", "seed"}, {-1, 1, 0}},
    {"xavier", WF_DRAW_XAVIER, {"gain", "seed", NULL}, {1, 0, 0}},
    {"he", WF_DRAW_HE, {"gain", "seed", NULL}, {1, 0, 0}},
};

/* `normal(std: 0.02, seed: 1)` and the like: a seeded random draw. Returns 1
 * when the value is such a call, with *bad set on an error in it. */
static int param_draw(cc *c, const wf_ast *e, wf_param_decl *pd, int *bad)
{
    if (e->kind != WF_AST_CALL)
        return 0;
    int d = -1;
    for (size_t i = 0; i < sizeof draws / sizeof draws[0]; i++)
        if (strcmp(draws[i].name, e->u.call.name) == 0)
            d = (int)i;
    if (d < 0)
        return 0;
    int nargs = draws[d].args[2] ? 3 : 2;
    const wf_arg *slot[3] = {NULL, NULL, NULL};
    const wf_arg **extra = NULL;
    int nextra = 0;
    double v[3];
    if (wf_cc_match_args(c, draws[d].name, draws[d].args, nargs, 0, e->u.call.args, slot, &extra,
                         &nextra)) {
        *bad = 1;
        return 1;
    }
    free(extra);
    for (int a = 0; a < nargs; a++) {
        v[a] = draws[d].dflt[a];
        if (!slot[a])
            continue;
        val x = wf_cc_eval(c, &c->globals, slot[a]->value);
        wf_loc loc = wf_cc_span(slot[a]->value);
        int is_seed = strcmp(draws[d].args[a], "seed") == 0;
        if (x.kind == V_POISON) {
            *bad = 1;
        } else if (x.kind != V_CONST || x.n != 1 || !isfinite(x.v[0])) {
            wf_report_argument_not_constant(c->d, loc, NULL, draws[d].args[a], draws[d].name);
            *bad = 1;
        } else if (is_seed && (x.v[0] < 0 || x.v[0] != floor(x.v[0]) || x.v[0] > 9e15)) {
            wf_report_bad_seed(c->d, loc, NULL, x.v[0]);
            *bad = 1;
        } else {
            v[a] = x.v[0];
        }
    }
    pd->draw.kind = draws[d].kind;
    if (pd->draw.kind == WF_DRAW_NORMAL || pd->draw.kind == WF_DRAW_UNIFORM) {
        pd->draw.a = v[0];
        pd->draw.b = v[1];
        pd->draw.seed = (uint64_t)v[2];
    } else {
        pd->draw.a = v[0];
        pd->draw.seed = (uint64_t)v[1];
    }
    if (!*bad && pd->draw.kind == WF_DRAW_UNIFORM && !(pd->draw.a < pd->draw.b)) {
        wf_report_uniform_reversed(c->d, e->loc, NULL, pd->draw.a, pd->draw.b);
        *bad = 1;
    }
    if (!*bad && pd->draw.kind == WF_DRAW_NORMAL && !(pd->draw.b >= 0)) {
        wf_report_negative_std(c->d, e->loc, NULL, pd->draw.b);
        *bad = 1;
    }
    return 1;
}

/* The value: numbers (one fills every channel), a file, or a draw. */
static int param_value(cc *c, const wf_stmt *st, wf_param_decl *pd, dim *vdim)
{
    int bad = 0;
    *vdim = DIM_NONE;
    if (param_draw(c, st->expr, pd, &bad))
        return bad ? -1 : 0;
    val init = wf_cc_eval(c, &c->globals, st->expr);
    wf_loc iloc = wf_cc_span(st->expr);
    if (init.kind == V_STR) {
        const char *dot = strrchr(init.str, '.');
        int npy = dot && strcasecmp(dot, ".npy") == 0;
        if (!npy && pd->rate != WF_RATE_CONTROL) {
            wf_report_param_string(c->d, iloc,
                                   "a param's values come from a .npy file, or a float WAV for "
                                   "`per frame`");
            return -1;
        }
        pd->init_file = wf_xstrdup(init.str);
        return 0;
    }
    if (init.kind == V_NODE) {
        wf_report_param_not_constant(c->d, iloc, NULL);
        return -1;
    }
    if (init.kind == V_POISON)
        return -1;
    if (init.n != 1 && init.n != pd->size) {
        wf_report_param_size_mismatch(c->d, iloc, NULL, st->name, pd->size, init.n);
        return -1;
    }
    pd->init = wf_xmalloc(sizeof(double) * (size_t)pd->size);
    for (int i = 0; i < pd->size; i++) {
        pd->init[i] = init.v[init.n == 1 ? 0 : i];
        if (!isfinite(pd->init[i])) {
            wf_report_param_not_finite(c->d, iloc, NULL, st->name);
            return -1;
        }
    }
    *vdim = init.dim;
    return 0;
}

/* `in [lo, hi]`: two numbers of one dimension (the value's too), the value
 * inside them. */
static int param_bounds(cc *c, const wf_stmt *st, wf_param_decl *pd, dim vdim)
{
    val lo = wf_cc_eval(c, &c->globals, st->lo), hi = wf_cc_eval(c, &c->globals, st->hi);
    if (lo.kind != V_CONST || hi.kind != V_CONST || lo.n != 1 || hi.n != 1) {
        if (lo.kind != V_POISON && hi.kind != V_POISON)
            wf_report_bad_bounds(c->d, st->lo->loc, NULL);
        return -1;
    }
    if (!(lo.v[0] < hi.v[0])) {
        wf_report_reversed_bounds(c->d, wf_cc_span(st->lo), NULL, st->name, lo.v[0], hi.v[0]);
        return -1;
    }
    dim dims[3] = {vdim, lo.dim, hi.dim};
    dim first = DIM_NONE;
    for (int i = 0; i < 3; i++) {
        if (dims[i] == DIM_NONE)
            continue;
        if (first != DIM_NONE && dims[i] != first) {
            wf_report_mixed_units(c->d, wf_cc_span(i == 0 ? st->expr : i == 1 ? st->lo : st->hi),
                                  NULL, st->name, wf_cc_dim_name(first), wf_cc_dim_name(dims[i]));
            return -1;
        }
        first = dims[i];
    }
    pd->bounded = 1;
    pd->lo = lo.v[0];
    pd->hi = hi.v[0];
    for (int i = 0; pd->init && i < pd->size; i++)
        if (pd->init[i] < pd->lo || pd->init[i] > pd->hi) {
            wf_report_param_outside_bounds(c->d, wf_cc_span(st->expr), NULL, st->name,
                                           pd->init[i], pd->lo, pd->hi);
            return -1;
        }
    return 0;
}

/* A log param is fitted as log(value): its values must be positive, and so
 * must a draw's. */
static int param_log(cc *c, const wf_stmt *st, const wf_param_decl *pd)
{
    int nonpos = pd->bounded && pd->lo <= 0;
    for (int i = 0; pd->init && i < pd->size; i++)
        nonpos |= pd->init[i] <= 0;
    nonpos |= pd->draw.kind != WF_DRAW_NONE && !(pd->draw.kind == WF_DRAW_UNIFORM && pd->draw.a > 0);
    if (nonpos) {
        wf_report_log_param_not_positive(c->d, st->scale_loc, "a log param is fitted as log(value)",
                                         st->name);
        return -1;
    }
    return 0;
}

static void free_decl(wf_param_decl *pd)
{
    free(pd->name);
    free(pd->init);
    free(pd->init_file);
}

static void param_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    wf_param_decl pd = {0};
    pd.name = wf_xstrdup(st->name);
    pd.loc = st->name_loc;
    pd.node = -1;
    pd.src = st->loc.src;
    pd.init_start = st->expr->start;
    pd.init_end = st->expr->end;
    pd.init_unit = wf_cc_single_unit(st->expr);
    pd.rate = WF_RATE_CONST;
    pd.fixed = st->fixed;
    dim vdim = DIM_NONE;
    int bad = param_shape(c, st, &pd) || param_options(c, st, &pd) || param_value(c, st, &pd, &vdim);
    if (!bad && st->lo)
        bad = param_bounds(c, st, &pd, vdim) != 0;
    if (!bad && pd.log)
        bad = param_log(c, st, &pd) != 0;
    binding *b = wf_cc_bind(c, &c->globals, st->name, st->name_loc);
    if (bad || !b) {
        free_decl(&pd);
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
    g->nodes[id].shape = wf_shape_of(pd.rate, pd.size);
    g->nodes[id].label = wf_xstrdup(st->name);
    b->value = wf_cc_node(id);
}

/* A file of notes rather than audio: a Standard MIDI File, by its name. */
static int is_midi_name(const char *f)
{
    const char *dot = strrchr(f, '.');
    return dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0 ||
                   strcasecmp(dot, ".smf") == 0);
}

/* A time of a note written in the patch: seconds, with s, ms or no unit. */
static int note_time(cc *c, const wf_tok *t, const char *what, double *out)
{
    if (t->unit != WF_UNIT_NONE && t->unit != WF_UNIT_S && t->unit != WF_UNIT_MS) {
        wf_report_note_time_unit(c->d, t->loc, "write it in s or ms", what);
        return -1;
    }
    *out = t->unit == WF_UNIT_MS ? t->num / 1000 : t->num;
    if (!(*out >= 0) || *out > 1e6) {
        wf_report_note_time_out_of_range(c->d, t->loc, NULL, what, *out);
        return -1;
    }
    return 0;
}

/* The notes of `input NAME = [c4 0 s 1 s, ...]`: key, onset, duration and
 * velocity (0..1, default 0.8) each. */
static int note_items(cc *c, const wf_stmt *st, wf_input_decl *in)
{
    int n = 0, bad = 0;
    for (const wf_noteitem *it = st->notes; it; it = it->next)
        n++;
    in->notes = wf_xcalloc((size_t)n, sizeof *in->notes);
    for (const wf_noteitem *it = st->notes; it; it = it->next) {
        wf_note_decl nd = {0, 0, -1, 0.8};
        if (it->key.text) {
            nd.key = wf_midi_key(it->key.text);
            if (nd.key < 0) {
                wf_report_unknown_note_name(
                    c->d, it->key.loc,
                    "a letter a-g, an optional # or b, an octave: c4 is middle C, f#3, eb5",
                    it->key.text);
                bad = 1;
                continue;
            }
        } else if (it->key.unit != WF_UNIT_NONE || it->key.num != floor(it->key.num) ||
                   it->key.num < 0 || it->key.num > 127) {
            wf_report_bad_key(c->d, it->key.loc, "60 is middle C");
            bad = 1;
            continue;
        } else {
            nd.key = (int)it->key.num;
        }
        double dur;
        if (note_time(c, &it->on, "onset", &nd.on) || note_time(c, &it->dur, "duration", &dur)) {
            bad = 1;
            continue;
        }
        nd.off = nd.on + dur;
        if (it->has_vel) {
            if (it->vel.unit != WF_UNIT_NONE || !(it->vel.num >= 0 && it->vel.num <= 1)) {
                wf_report_bad_velocity(c->d, it->vel.loc, "write a number from 0 to 1");
                bad = 1;
                continue;
            }
            nd.vel = it->vel.num;
        }
        in->notes[in->nnotes++] = nd;
    }
    return bad ? -1 : 0;
}

static void input_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    int size = 1;
    binding *b = wf_cc_bind(c, &c->globals, st->name, st->name_loc);
    if (!b)
        return;
    b->kind = B_VALUE;
    b->value = WF_POISON;
    int notes = st->notes || (st->from_is_file && is_midi_name(st->from));
    const char *what = notes ? "a notes input's voice count" : "an input's channel count";
    int ndims = 0;
    if (st->size && eval_dims(c, st->size, what, notes ? 4096 : 1024, 1, &size, &ndims))
        return;
    wf_input_decl in = {0};
    if (st->from && !st->from_is_file && strcmp(st->from, "target") != 0) {
        wf_report_bad_input_source(c->d, st->from_loc,
                                   "write `input NAME = target` or `input NAME = \"file.wav\"`",
                                   st->from);
        return;
    }
    if (notes && st->notes && note_items(c, st, &in)) {
        free(in.notes);
        return;
    }
    in.name = wf_xstrdup(st->name);
    in.loc = st->name_loc;
    in.chans = notes ? WF_MIDI_FIELDS : size;
    in.from_target = st->from && !st->from_is_file;
    in.file = st->from && st->from_is_file ? wf_xstrdup(st->from) : NULL;
    in.file_start = st->from_loc.off;
    in.file_end = st->from_loc.off + st->from_loc.len;
    if (notes) {
        in.space = ++g->nspaces;
        in.max_voices = st->size ? size : 0;
    }
    int idx = g->ninputs++;
    g->inputs = wf_xrealloc(g->inputs, sizeof *g->inputs * (size_t)g->ninputs);
    int id = wf_cc_add_node(c, &wf_kind_input, 0, NULL, st->name_loc);
    in.node = id;
    g->inputs[idx] = in;
    if (id < 0)
        return;
    g->nodes[id].ref = idx;
    g->nodes[id].shape = wf_shape_of(notes ? WF_RATE_CONTROL : WF_RATE_AUDIO, in.chans);
    g->nodes[id].shape.lanes = in.space;
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
        rate_setting(c, st, &seen->rate, "rate", &g->rate);
        break;
    case WF_ST_FRAMES:
        rate_setting(c, st, &seen->frames, "frames", &g->frame_rate);
        break;
    case WF_ST_LENGTH:
        setting(c, st, &seen->length, "length", DIM_TIME, &g->length);
        g->length_loc = st->loc;
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
            wf_report_two_outs(c->d, st->loc, hint);
        } else {
            seen->out = st;
        }
        break;
    case WF_ST_RETURN:
        wf_report_return_outside_def(c->d, st->loc, NULL);
        break;
    case WF_ST_DEF:
    case WF_ST_USE:
        break;
    }
}

/* The out's expression, summed over its lanes and brought to audio rate. */
static void eval_out(cc *c, const wf_stmt *out)
{
    wf_mark m = wf_cc_enter_name(c, "out", "");
    val v = wf_cc_eval(c, &c->globals, out->expr);
    wf_loc loc = wf_cc_span(out->expr);
    int id = v.kind == V_POISON ? -1 : wf_cc_as_node(c, &v, loc);
    if (id >= 0 && wf_cc_shape(c, id).lanes) /* a chord: the voices summed */
        id = wf_cc_make_node(c, &wf_kind_lanes_sum, 1, &id, &loc, wf_cc_new_opts(&wf_kind_lanes_sum),
                             loc);
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

void wf_cc_compile_patch(cc *c, const wf_stmt *const *stmts, int n, const wf_source *last)
{
    decls seen = {0};
    for (int i = 0; i < n; i++)
        wf_cc_module_stmt(c, stmts[i], 0);
    for (int i = 0; i < n; i++)
        declare(c, stmts[i], &seen);
    if (!seen.out) {
        int lines = 1;
        for (size_t i = 0; i + 1 < last->len; i++)
            lines += last->text[i] == '\n';
        wf_loc loc = {last, lines, 1, 0, 0};
        wf_report_missing_out(c->d, loc, "end the patch with `out EXPR`");
    } else {
        eval_out(c, seen.out);
    }
    for (int i = 0; i < c->globals.n; i++)
        if (c->globals.v[i].kind == B_LAZY)
            wf_cc_force(c, &c->globals.v[i], c->globals.v[i].loc);
}
