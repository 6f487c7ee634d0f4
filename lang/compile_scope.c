/* Scopes and bindings: lookup, duplicates, forcing lazy bindings, and the
 * "did you mean" suggestions of unknown names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

wf_loc wf_cc_span(const wf_ast *e)
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

binding *wf_cc_find_local(scope *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

binding *wf_cc_lookup(scope *s, const char *name)
{
    for (; s; s = s->parent) {
        binding *b = wf_cc_find_local(s, name);
        if (b)
            return b;
    }
    return NULL;
}

void wf_cc_scope_free(scope *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

def *wf_cc_find_def(cc *c, const char *name)
{
    for (int i = 0; i < c->ndefs; i++)
        if (strcmp(c->defs[i].name, name) == 0)
            return &c->defs[i];
    return NULL;
}

void wf_cc_dup_error(cc *c, wf_loc loc, const char *name, wf_loc first)
{
    char hint[256];
    if (first.src)
        snprintf(hint, sizeof hint, "first defined at %s:%d:%d", first.src->path, first.line,
                 first.col);
    else
        snprintf(hint, sizeof hint, "'%s' is a built-in node", name);
    wf_report_duplicate_name(c->d, loc, hint, name);
}

binding *wf_cc_bind(cc *c, scope *s, const char *name, wf_loc loc)
{
    binding *old = wf_cc_find_local(s, name);
    if (old) {
        wf_cc_dup_error(c, loc, name, old->loc);
        return NULL;
    }
    const def *df = wf_cc_find_def(c, name);
    if (df) {
        wf_cc_dup_error(c, loc, name, df->st->name_loc);
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
    b->path = wf_hash_str(s->path, name);
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

const char *wf_cc_did_you_mean(cc *c, scope *s, const char *name, int callables, char *buf,
                               size_t size)
{
    const char *sg = suggest_name(c, s, name, callables);
    if (!sg)
        return NULL;
    snprintf(buf, size, "did you mean '%s'?", sg);
    return buf;
}

val wf_cc_force(cc *c, binding *b, wf_loc at)
{
    if (b->kind == B_VALUE || b->state == 2)
        return b->value;
    if (b->state == 1)
        return wf_cc_feedback_ref(c, b, at);
    if (c->nevals == (int)(sizeof c->evals / sizeof c->evals[0])) {
        wf_report_bindings_too_deep(c->d, at, NULL);
        return WF_POISON;
    }
    val v = wf_cc_eval_binding(c, b);
    b->state = 2;
    b->value = v;
    if (c->nforced == c->capforced) {
        c->capforced = c->capforced ? 2 * c->capforced : 32;
        c->forced = wf_xrealloc(c->forced, sizeof *c->forced * (size_t)c->capforced);
    }
    c->forced[c->nforced++] = b;
    if (v.kind == V_NODE && !c->g->nodes[v.node].label)
        c->g->nodes[v.node].label = wf_xstrdup(b->name);
    return v;
}

/* The fields of a notes input, its channels in this order (runtime/midi.h). */
static const char *const note_fields[] = {"freq", "gate", "vel", "onset"};

/* name.field: a channel of a notes input, as pick(name, index). */
static val field_ref(cc *c, scope *s, const wf_ast *e, const char *dot)
{
    const char *name = e->u.name, *field = dot + 1;
    char *base = wf_arena_strndup(&c->arena, name, (size_t)(dot - name));
    binding *b = wf_cc_lookup(s, base);
    wf_loc loc = e->loc;
    if (!b) {
        wf_loc bl = loc;
        bl.len = (int)(dot - name);
        char hint[160];
        wf_report_undefined_name(c->d, bl, wf_cc_did_you_mean(c, s, base, 0, hint, sizeof hint),
                                 base);
        return WF_POISON;
    }
    val v = wf_cc_force(c, b, loc);
    if (v.kind == V_POISON)
        return v;
    const wf_gnode *n = v.kind == V_NODE ? &c->g->nodes[v.node] : NULL;
    if (!n || n->kind != &wf_kind_input || !c->g->inputs[n->ref].space || strchr(field, '.')) {
        wf_report_no_fields(c->d, loc,
                            "fields belong to notes inputs: notes.freq, notes.gate, notes.vel, "
                            "notes.onset",
                            base);
        return WF_POISON;
    }
    int idx = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(note_fields[i], field) == 0)
            idx = i;
    if (idx < 0) {
        const char *sg = wf_suggest(field, note_fields, 4);
        char hint[160];
        snprintf(hint, sizeof hint, sg ? "did you mean '%s'?" : "the fields are freq, gate, vel and onset",
                 sg);
        wf_report_unknown_field(c->d, loc, hint, base, field);
        return WF_POISON;
    }
    wf_opt *opts = wf_cc_new_opts(&wf_kind_pick);
    opts[1].n = 1;
    opts[1].v = wf_xmalloc(sizeof(double));
    opts[1].v[0] = idx;
    int in = v.node;
    int id = wf_cc_make_node(c, &wf_kind_pick, 1, &in, &loc, opts, loc);
    return id < 0 ? WF_POISON : wf_cc_node(id);
}

val wf_cc_name_ref(cc *c, scope *s, const wf_ast *e)
{
    const char *dot = strchr(e->u.name, '.');
    if (dot)
        return field_ref(c, s, e, dot);
    binding *b = wf_cc_lookup(s, e->u.name);
    if (b)
        return wf_cc_force(c, b, e->loc);
    if (wf_cc_find_def(c, e->u.name) || wf_registry_find(e->u.name) >= 0) {
        wf_report_not_a_value(c->d, e->loc, "call it with arguments in parentheses", e->u.name);
        return WF_POISON;
    }
    char hint[160];
    wf_report_undefined_name(c->d, e->loc,
                             wf_cc_did_you_mean(c, s, e->u.name, 0, hint, sizeof hint),
                             e->u.name);
    return WF_POISON;
}

/* A declaration that failed still defines its name, so that its uses do not
 * add "undefined name" errors to the one already given. */
void wf_cc_bind_poison(cc *c, const wf_stmt *st)
{
    binding *b = wf_cc_bind(c, &c->globals, st->name, st->name_loc);
    if (b) {
        b->kind = B_VALUE;
        b->value = WF_POISON;
    }
}
