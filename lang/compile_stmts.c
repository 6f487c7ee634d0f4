/* The top-level statements of a patch: settings (rate, frames, length),
 * params, inputs, bindings and the out. */
#include <math.h>
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

static void param_stmt(cc *c, const wf_stmt *st)
{
    wf_graph *g = c->g;
    int size = 1;
    if (st->size && eval_count(c, st->size, "a param's size", 65536, &size)) {
        wf_cc_bind_poison(c, st);
        return;
    }
    if (size < 1) {
        wf_report_setting_not_positive(c->d, wf_cc_span(st->size), NULL, "a param's size", size);
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
            wf_report_unknown_per(c->d, st->per_loc, "write 'per frame'", st->per);
            bad = 1;
        }
        pd.rate = WF_RATE_CONTROL;
    }
    if (st->scale) {
        if (strcmp(st->scale, "log") == 0)
            pd.log = 1;
        else if (strcmp(st->scale, "lin") != 0) {
            wf_report_unknown_param_option(c->d, st->scale_loc,
                                           "after a param's value come 'lin', 'log' or 'fixed'",
                                           st->scale);
            bad = 1;
        }
    }
    val init = wf_cc_eval(c, &c->globals, st->expr);
    wf_loc iloc = wf_cc_span(st->expr);
    if (init.kind == V_STR && pd.rate == WF_RATE_CONTROL) {
        pd.init_file = wf_xstrdup(init.str);
    } else if (init.kind == V_STR) {
        wf_report_param_string(c->d, iloc,
                               "add 'per frame' to start a frame-wise param from a file");
        bad = 1;
    } else if (init.kind == V_NODE) {
        wf_report_param_not_constant(c->d, iloc, NULL);
        bad = 1;
    } else if (init.kind == V_POISON) {
        bad = 1;
    } else if (init.n != 1 && init.n != size) {
        wf_report_param_size_mismatch(c->d, iloc, NULL, st->name, size, init.n);
        bad = 1;
    } else {
        pd.init = wf_xmalloc(sizeof(double) * (size_t)size);
        for (int i = 0; i < size; i++) {
            pd.init[i] = init.v[init.n == 1 ? 0 : i];
            if (!isfinite(pd.init[i])) {
                wf_report_param_not_finite(c->d, iloc, NULL, st->name);
                bad = 1;
                break;
            }
        }
    }
    if (!bad && st->lo) {
        val lo = wf_cc_eval(c, &c->globals, st->lo), hi = wf_cc_eval(c, &c->globals, st->hi);
        if (lo.kind != V_CONST || hi.kind != V_CONST || lo.n != 1 || hi.n != 1) {
            if (lo.kind != V_POISON && hi.kind != V_POISON)
                wf_report_bad_bounds(c->d, st->lo->loc, NULL);
            bad = 1;
        } else if (!(lo.v[0] < hi.v[0])) {
            wf_report_reversed_bounds(c->d, wf_cc_span(st->lo), NULL, st->name, lo.v[0], hi.v[0]);
            bad = 1;
        } else {
            dim di = init.kind == V_CONST ? init.dim : DIM_NONE;
            dim dims[3] = {di, lo.dim, hi.dim};
            dim first = DIM_NONE;
            for (int i = 0; i < 3; i++) {
                if (dims[i] == DIM_NONE)
                    continue;
                if (first != DIM_NONE && dims[i] != first) {
                    wf_report_mixed_units(c->d,
                                          wf_cc_span(i == 0 ? st->expr : i == 1 ? st->lo : st->hi),
                                          NULL, st->name, wf_cc_dim_name(first),
                                          wf_cc_dim_name(dims[i]));
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
                    wf_report_param_outside_bounds(c->d, iloc, NULL, st->name, pd.init[i], pd.lo,
                                                   pd.hi);
                    bad = 1;
                }
        }
    }
    if (!bad && pd.log) {
        int nonpos = (pd.bounded && pd.lo <= 0);
        for (int i = 0; pd.init && i < size; i++)
            nonpos |= pd.init[i] <= 0;
        if (nonpos) {
            wf_report_log_param_not_positive(c->d, st->scale_loc,
                                             "a log param is fitted as log(value)", st->name);
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
        wf_diag(c->d, WF_SEV_ERROR, t->loc, "write it in s or ms",
                "bad unit: a note's %s expects a time", what);
        return -1;
    }
    *out = t->unit == WF_UNIT_MS ? t->num / 1000 : t->num;
    if (!(*out >= 0) || *out > 1e6) {
        wf_diag(c->d, WF_SEV_ERROR, t->loc, NULL, "a note's %s must be between 0 and 1e6 s, got %g",
                what, *out);
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
                wf_diag(c->d, WF_SEV_ERROR, it->key.loc,
                        "a letter a-g, an optional # or b, an octave: c4 is middle C, f#3, eb5",
                        "'%s' is not a note name", it->key.text);
                bad = 1;
                continue;
            }
        } else if (it->key.unit != WF_UNIT_NONE || it->key.num != floor(it->key.num) ||
                   it->key.num < 0 || it->key.num > 127) {
            wf_diag(c->d, WF_SEV_ERROR, it->key.loc, "60 is middle C", "a MIDI key is a whole number from 0 to 127");
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
                wf_diag(c->d, WF_SEV_ERROR, it->vel.loc, "write a number from 0 to 1",
                        "a note's velocity must be between 0 and 1");
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
    if (st->size && eval_count(c, st->size, what, notes ? 4096 : 1024, &size))
        return;
    wf_input_decl in = {0};
    if (st->from && !st->from_is_file && strcmp(st->from, "target") != 0) {
        wf_report_bad_input_source(c->d, st->from_loc,
                                   "write `input NAME = target` or `input NAME = \"file.wav\"`",
                                   st->from);
        return;
    }
    if (size < 1) {
        wf_report_setting_not_positive(c->d, wf_cc_span(st->size), NULL, what, size);
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
