/* Calls: a node's arguments matched to its registry signature (signals,
 * numbers known when compiling, enum words), and defs expanded in place with
 * their own scope. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

static wf_loc arg_loc(const wf_arg *a)
{
    return a->name ? a->name_loc : wf_cc_span(a->value);
}

int wf_cc_match_args(cc *c, const char *callee, const char *const *names, int nnames,
                     int variadic, const wf_arg *args, const wf_arg **slot, const wf_arg ***extra,
                     int *nextra)
{
    int pos = 0, rc = 0, nx = 0, capx = 0;
    const wf_arg **ex = NULL;
    int seen_named = 0;
    for (const wf_arg *a = args; a; a = a->next) {
        if (!a->name) {
            if (seen_named) {
                wf_report_positional_after_named(c->d, wf_cc_span(a->value), NULL, callee);
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
                wf_report_too_many_arguments(c->d, wf_cc_span(a->value), NULL, callee, nnames,
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
            wf_report_unknown_argument(c->d, a->name_loc, s ? hint : NULL, callee, a->name);
            rc = -1;
            continue;
        }
        if (slot[found]) {
            wf_report_repeated_argument(c->d, a->name_loc, NULL, a->name, callee);
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
            wf_report_argument_not_whole(c->d, loc, NULL, as->name, callee, v->v[i]);
            return -1;
        }
        if ((as->flags & WF_ARG_POSITIVE) && !(v->v[i] > 0)) {
            wf_report_argument_not_positive(c->d, loc, NULL, as->name, callee, v->v[i]);
            return -1;
        }
        if (!isfinite(v->v[i]) || fabs(v->v[i]) > 1e15) {
            wf_report_argument_out_of_range(c->d, loc, NULL, as->name, callee, v->v[i]);
            return -1;
        }
    }
    return 0;
}

/* An enum argument: the index of its word in opt. 0, or -1 after an error. */
static int enum_arg(cc *c, const wf_ast *e, const wf_node_kind *k, const wf_arg_spec *as,
                    const wf_arg *given, wf_opt *opt)
{
    const char *word = as->dflt;
    if (given) {
        if (given->value->kind != WF_AST_NAME) {
            wf_report_argument_not_word(c->d, wf_cc_span(given->value), NULL, as->name, k->name,
                                        as->choices[0]);
            return -1;
        }
        word = given->value->u.name;
    }
    if (!word) {
        wf_report_missing_argument(c->d, e->loc, NULL, k->name, as->name, "");
        return -1;
    }
    int found = -1, nch = 0;
    while (as->choices[nch])
        nch++;
    for (int i = 0; i < nch; i++)
        if (strcmp(as->choices[i], word) == 0)
            found = i;
    if (found < 0) {
        const char *sg = wf_suggest(word, as->choices, nch);
        wf_str hint = {0};
        if (sg)
            wf_str_printf(&hint, "did you mean '%s'?", sg);
        else
            for (int i = 0; i < nch; i++)
                wf_str_printf(&hint, "%s%s", i ? ", " : "one of: ", as->choices[i]);
        wf_report_unknown_word(c->d, wf_cc_span(given->value), hint.s, word, as->name, k->name);
        wf_str_free(&hint);
        return -1;
    }
    opt->n = 1;
    opt->v = wf_xmalloc(sizeof(double));
    opt->v[0] = found;
    return 0;
}

/* A default from a kind's record: a number, or a vector "[a, b, ...]". */
static val default_value(cc *c, const char *text)
{
    if (*text != '[')
        return wf_cc_number(c, strtod(text, NULL), WF_UNIT_NONE);
    int n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    val v = wf_cc_const(c, n, DIM_NONE);
    const char *p = text + 1;
    for (int i = 0; i < n; i++) {
        char *end;
        v.v[i] = strtod(p, &end);
        p = end + 1; /* past the comma */
    }
    return v;
}

/* A signal or number argument's value: given, its default, or none (*v
 * poison). Returns 1 when an optional number is left out. */
static int arg_value(cc *c, scope *s, const wf_ast *e, const wf_node_kind *k, int a,
                     const wf_arg *given, val *v)
{
    const wf_arg_spec *as = &k->args[a];
    *v = WF_POISON;
    if (given) {
        *v = wf_cc_eval_child(c, s, given->value, (uint64_t)a);
    } else if (as->dflt) {
        *v = default_value(c, as->dflt);
    } else if (as->kind == WF_ARG_NUMBER && (as->flags & WF_ARG_OPTIONAL)) {
        return 1;
    } else {
        wf_str about = {0};
        wf_str_printf(&about, " (%s)", as->doc);
        wf_report_missing_argument(c->d, e->loc, NULL, k->name, as->name, about.s);
        wf_str_free(&about);
    }
    return 0;
}

/* A number argument into opt: known when compiling, and in its range. */
static int number_arg(cc *c, const wf_node_kind *k, const wf_arg_spec *as, const val *v,
                      wf_loc loc, wf_opt *opt)
{
    if (v->kind != V_CONST) {
        wf_report_argument_not_constant(c->d, loc, "write a number, or a binding of one", as->name,
                                        k->name);
        return -1;
    }
    if (check_number(c, as, v, k->name, loc))
        return -1;
    opt->n = v->n;
    opt->v = wf_xmalloc(sizeof(double) * (size_t)v->n);
    memcpy(opt->v, v->v, sizeof(double) * (size_t)v->n);
    return 0;
}

static val call_node(cc *c, scope *s, const wf_ast *e, const wf_node_kind *k)
{
    int nargs = k->nargs;
    const char **names = wf_xmalloc(sizeof *names * (size_t)(nargs + 1));
    for (int i = 0; i < nargs; i++)
        names[i] = k->args[i].name;
    const wf_arg **slot = wf_xcalloc((size_t)(nargs + 1), sizeof *slot);
    const wf_arg **extra = NULL;
    int nextra = 0;
    int variadic = (k->flags & WF_KIND_VARIADIC) != 0;
    int rc = wf_cc_match_args(c, k->name, names, nargs, variadic, e->u.call.args, slot, &extra, &nextra);
    free(names);
    if (rc) {
        free(slot);
        free(extra);
        return WF_POISON;
    }
    int nsig = wf_kind_signal_args(k) + nextra;
    int *in = wf_xmalloc(sizeof(int) * (size_t)(nsig + 1));
    wf_loc *in_loc = wf_xmalloc(sizeof(wf_loc) * (size_t)(nsig + 1));
    wf_opt *opts = wf_cc_new_opts(k);
    int ni = 0, bad = 0;
    for (int a = 0; a < nargs; a++) {
        const wf_arg_spec *as = &k->args[a];
        wf_loc loc = slot[a] ? arg_loc(slot[a]) : e->loc;
        if (as->kind == WF_ARG_ENUM) {
            bad |= enum_arg(c, e, k, as, slot[a], &opts[a]) != 0;
            continue;
        }
        val v;
        if (arg_value(c, s, e, k, a, slot[a], &v))
            continue;
        if (v.kind == V_POISON) {
            bad = 1;
        } else if (as->kind == WF_ARG_NUMBER) {
            bad |= number_arg(c, k, as, &v, loc, &opts[a]) != 0;
        } else {
            int id = wf_cc_as_node(c, &v, loc);
            if (id < 0) {
                bad = 1;
                continue;
            }
            in_loc[ni] = loc;
            in[ni++] = id;
        }
    }
    for (int x = 0; x < nextra && !bad; x++) {
        val v = wf_cc_eval_child(c, s, extra[x]->value, (uint64_t)(nargs + x));
        int id = v.kind == V_POISON ? -1 : wf_cc_as_node(c, &v, arg_loc(extra[x]));
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
        id = wf_cc_make_node(c, k, ni, in, in_loc, opts, e->loc);
    else {
        for (int a = 0; a < k->nargs; a++)
            free(opts[a].v);
        free(opts);
    }
    free(in);
    free(in_loc);
    return id < 0 ? WF_POISON : wf_cc_node(id);
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
            wf_report_recursive_def(c->d, e->loc,
                                    "defs are expanded when compiling, so they cannot call "
                                    "themselves",
                                    df->name, chain.s);
            wf_str_free(&chain);
            return WF_POISON;
        }
    }
    if (c->ncalls == MAX_DEPTH) {
        wf_report_defs_too_deep(c->d, e->loc, NULL, MAX_DEPTH);
        return WF_POISON;
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
    int rc = wf_cc_match_args(c, df->name, names, nf, 0, e->u.call.args, slot, &extra, &nextra);
    free(names);
    free(extra);
    if (rc) {
        free(slot);
        return WF_POISON;
    }
    /* the body's nodes are named under the call's place and the def's name */
    scope local = {NULL, 0, 0, &c->globals, wf_hash_str(wf_hash_str(c->path, "def"), df->name)};
    int i = 0, bad = 0;
    for (const wf_formal *f = df->st->formals; f; f = f->next, i++) {
        val v;
        if (slot[i]) {
            v = wf_cc_eval_child(c, s, slot[i]->value, (uint64_t)i);
        } else if (f->dflt) {
            v = wf_cc_eval_child(c, &c->globals, f->dflt, (uint64_t)i);
        } else {
            wf_report_missing_argument(c->d, e->loc, NULL, df->name, f->name, "");
            bad = 1;
            continue;
        }
        binding *b = wf_cc_bind(c, &local, f->name, f->loc);
        if (!b) {
            bad = 1;
            continue;
        }
        b->kind = B_VALUE;
        b->value = v;
    }
    free(slot);
    val r = WF_POISON;
    if (!bad) {
        c->calls[c->ncalls++] = (frame){df->name, e->loc};
        r = eval_body(c, &local, df);
        c->ncalls--;
    }
    wf_cc_scope_free(&local);
    return r;
}

static val eval_body(cc *c, scope *local, const def *df)
{
    const wf_stmt *ret = NULL;
    int bad = 0;
    for (const wf_stmt *st = df->st->body; st; st = st->next) {
        if (st->kind == WF_ST_BIND) {
            binding *b = wf_cc_bind(c, local, st->name, st->name_loc);
            if (b) {
                b->kind = B_LAZY;
                b->expr = st->expr;
            }
        } else if (st->kind == WF_ST_RETURN) {
            if (ret) {
                wf_report_two_returns(c->d, st->loc, NULL, df->name);
                bad = 1;
            }
            ret = st;
        } else {
            wf_report_statement_in_def(c->d, st->loc,
                                       "declare params, inputs and settings at the top level");
            bad = 1;
        }
    }
    if (!ret) {
        wf_report_missing_return(c->d, df->st->name_loc, NULL, df->name);
        return WF_POISON;
    }
    if (bad)
        return WF_POISON;
    wf_mark m = {c->path, c->seq};
    c->path = wf_hash_str(local->path, "return");
    c->seq = 0;
    val r = wf_cc_eval(c, local, ret->expr);
    wf_cc_leave(c, m);
    for (int i = 0; i < local->n; i++)
        if (local->v[i].kind == B_LAZY)
            wf_cc_force(c, &local->v[i], local->v[i].loc);
    return r;
}

val wf_cc_call(cc *c, scope *s, const wf_ast *e)
{
    const def *df = wf_cc_find_def(c, e->u.call.name);
    if (df)
        return call_def(c, s, e, df);
    int kind = wf_registry_find(e->u.call.name);
    if (kind >= 0 && !(wf_registry[kind]->flags & WF_KIND_INTERNAL))
        return call_node(c, s, e, wf_registry[kind]);
    if (wf_cc_lookup(s, e->u.call.name)) {
        wf_report_not_callable(c->d, e->loc, NULL, e->u.call.name);
        return WF_POISON;
    }
    char hint[160];
    wf_report_unknown_node(c->d, e->loc,
                           wf_cc_did_you_mean(c, NULL, e->u.call.name, 1, hint, sizeof hint),
                           e->u.call.name);
    return WF_POISON;
}
