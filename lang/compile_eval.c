/* Expressions: literals, names, vectors, unary minus and the four operators
 * (constant operands folded here, in double). */
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

static val fold(cc *c, char op, const val *a, const val *b, wf_loc loc)
{
    int n = a->n > b->n ? a->n : b->n;
    if (a->n != b->n && a->n != 1 && b->n != 1) {
        wf_report_constant_shape_mismatch(
            c->d, loc, "channels broadcast when they are equal or one side has 1", a->n, b->n);
        return WF_POISON;
    }
    val r = wf_cc_const(c, n, wf_cc_combine_dim(op, a->dim, b->dim));
    for (int i = 0; i < n; i++) {
        double x = a->v[a->n == 1 ? 0 : i], y = b->v[b->n == 1 ? 0 : i];
        r.v[i] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    }
    return r;
}

static val binop(cc *c, char op, val a, val b, wf_loc loc, wf_loc la, wf_loc lb)
{
    if (a.kind == V_POISON || b.kind == V_POISON)
        return WF_POISON;
    if (op == '/' && b.kind == V_CONST)
        for (int i = 0; i < b.n; i++)
            if (b.v[i] == 0) {
                wf_report_division_by_zero(c->d, lb, NULL);
                return WF_POISON;
            }
    if (a.kind == V_CONST && b.kind == V_CONST)
        return fold(c, op, &a, &b, loc);
    int in[2] = {wf_cc_as_node(c, &a, la), wf_cc_as_node(c, &b, lb)};
    if (in[0] < 0 || in[1] < 0)
        return WF_POISON;
    const wf_node_kind *k = op == '+'   ? &wf_kind_add
                            : op == '-' ? &wf_kind_sub
                            : op == '*' ? &wf_kind_mul
                                        : &wf_kind_div;
    wf_loc locs[2] = {la, lb};
    int id = wf_cc_make_node(c, k, 2, in, locs, wf_cc_new_opts(k), loc);
    return id < 0 ? WF_POISON : wf_cc_node(id);
}

static val vector(cc *c, scope *s, const wf_ast *e)
{
    int n = 0, all_const = 1, bad = 0;
    for (const wf_item *it = e->u.items; it; it = it->next)
        n++;
    val *vs = wf_xmalloc(sizeof(val) * (size_t)n);
    int i = 0, total = 0;
    for (const wf_item *it = e->u.items; it; it = it->next, i++) {
        vs[i] = wf_cc_eval_child(c, s, it->value, (uint64_t)i);
        if (vs[i].kind == V_POISON)
            bad = 1;
        else if (vs[i].kind != V_CONST)
            all_const = 0;
        else
            total += vs[i].n;
    }
    val r = WF_POISON;
    if (bad) {
    } else if (all_const) {
        if (total > MAX_VECTOR) {
            wf_report_vector_too_long(c->d, e->loc, NULL, MAX_VECTOR);
        } else {
            r = wf_cc_const(c, total, vs[0].dim);
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
            locs[i] = wf_cc_span(it->value);
            in[i] = wf_cc_as_node(c, &vs[i], locs[i]);
            if (in[i] < 0)
                bad = 1;
        }
        if (!bad) {
            int id = wf_cc_make_node(c, &wf_kind_concat, n, in, locs,
                                     wf_cc_new_opts(&wf_kind_concat), e->loc);
            if (id >= 0)
                r = wf_cc_node(id);
        }
        free(in);
        free(locs);
    }
    free(vs);
    return r;
}

/* Roles of a chain's operators beside its operands 0 .. n. */
#define ROLE_OPERATOR ((uint64_t)1 << 32)

/* A chain such as a + b - c + ... is a left-deep tree as tall as the chain
 * is long: its left spine is walked with a loop, evaluating in the same order
 * as recursion would, so long sums cost no stack. Operand j of the chain and
 * its operator i are children j and ROLE_OPERATOR + i of the chain. */
static val binary(cc *c, scope *s, const wf_ast *e)
{
    int n = 0;
    for (const wf_ast *x = e; x->kind == WF_AST_BIN; x = x->u.bin.l)
        n++;
    const wf_ast **spine = wf_xmalloc(sizeof *spine * (size_t)n);
    int i = n;
    for (const wf_ast *x = e; x->kind == WF_AST_BIN; x = x->u.bin.l)
        spine[--i] = x;
    val a = wf_cc_eval_child(c, s, spine[0]->u.bin.l, 0);
    for (i = 0; i < n; i++) {
        const wf_ast *b = spine[i];
        val r = wf_cc_eval_child(c, s, b->u.bin.r, (uint64_t)i + 1);
        wf_mark m = wf_cc_enter(c, ROLE_OPERATOR + (uint64_t)i);
        a = binop(c, b->u.bin.op, a, r, b->loc, wf_cc_span(b->u.bin.l), wf_cc_span(b->u.bin.r));
        wf_cc_leave(c, m);
    }
    free(spine);
    return a;
}

static val eval_node(cc *c, scope *s, const wf_ast *e);

val wf_cc_eval(cc *c, scope *s, const wf_ast *e)
{
    if (c->too_big || c->too_deep)
        return WF_POISON;
    if (c->depth == MAX_EVAL_DEPTH) {
        wf_report_patch_too_deep(c->d, e->loc, "split it into smaller expressions", MAX_EVAL_DEPTH);
        c->too_deep = 1;
        return WF_POISON;
    }
    c->depth++;
    val v = eval_node(c, s, e);
    c->depth--;
    return v;
}

val wf_cc_eval_child(cc *c, scope *s, const wf_ast *e, uint64_t role)
{
    wf_mark m = wf_cc_enter(c, role);
    val v = wf_cc_eval(c, s, e);
    wf_cc_leave(c, m);
    return v;
}

static val eval_node(cc *c, scope *s, const wf_ast *e)
{
    switch (e->kind) {
    case WF_AST_NUM:
        return wf_cc_number(c, e->u.num.value, e->u.num.unit);
    case WF_AST_STR: {
        val v = {V_STR, NULL, 0, DIM_NONE, -1, e->u.str};
        return v;
    }
    case WF_AST_NAME:
        return wf_cc_name_ref(c, s, e);
    case WF_AST_VEC:
        return vector(c, s, e);
    case WF_AST_NEG: {
        const wf_ast *x = e->u.operand;
        /* -30 db is a gain of -30 dB, not minus the gain of 30 dB;
         * -(30 db) is minus the gain */
        if (x->kind == WF_AST_NUM && !x->paren)
            return wf_cc_number(c, -x->u.num.value, x->u.num.unit);
        val v = wf_cc_eval_child(c, s, x, 0);
        if (v.kind == V_POISON)
            return v;
        if (v.kind == V_CONST) {
            val r = wf_cc_const(c, v.n, v.dim);
            for (int i = 0; i < v.n; i++)
                r.v[i] = -v.v[i];
            return r;
        }
        int in = wf_cc_as_node(c, &v, wf_cc_span(x));
        if (in < 0)
            return WF_POISON;
        wf_loc l = wf_cc_span(x);
        int id = wf_cc_make_node(c, &wf_kind_neg, 1, &in, &l, wf_cc_new_opts(&wf_kind_neg), e->loc);
        return id < 0 ? WF_POISON : wf_cc_node(id);
    }
    case WF_AST_BIN:
        return binary(c, s, e);
    case WF_AST_CALL:
        return wf_cc_call(c, s, e);
    }
    return WF_POISON;
}
