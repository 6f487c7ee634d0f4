/* Arithmetic behind the operators + - * / and unary minus. Shapes broadcast
 * (stdlib/map.h); the adjoints are the usual partial derivatives:
 * d(a*b) = b da + a db, d(a/b) = da / b - a db / b^2. */
#include <math.h>

#include "stdlib/map.h"

static const wf_arg_spec bin_args[] = {
    {"a", WF_ARG_SIGNAL, NULL, "left operand", 0, NULL, -1, 1},
    {"b", WF_ARG_SIGNAL, NULL, "right operand", 0, NULL, -1, 1},
};

static const wf_arg_spec div_args[] = {
    {"a", WF_ARG_SIGNAL, NULL, "numerator", 0, NULL, -1, 1},
    {"b", WF_ARG_SIGNAL, NULL, "denominator", 0, NULL, 0.5, 2},
};

static const wf_arg_spec neg_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "operand", 0, NULL, -1, 1},
};

static void add_forward(wf_kctx *k) { WF_MAP2(k, y = x0 + x1); }
static void add_backward(wf_kctx *k) { WF_GRAD2(k, (d0 = g, d1 = g, (void)x0, (void)x1)); }
static void sub_forward(wf_kctx *k) { WF_MAP2(k, y = x0 - x1); }
static void sub_backward(wf_kctx *k) { WF_GRAD2(k, (d0 = g, d1 = -g, (void)x0, (void)x1)); }
static void mul_forward(wf_kctx *k) { WF_MAP2(k, y = x0 * x1); }
static void mul_backward(wf_kctx *k) { WF_GRAD2(k, (d0 = g * x1, d1 = g * x0)); }
/* Division by one power of two (a gain such as / 64) is the multiply by its
 * reciprocal, which is exact and so gives the quotient's bits, at a
 * fraction of a divide's cost. */
static void div_forward(wf_kctx *k)
{
    const wf_sig *b = &k->in[1];
    if (b->n == 1 && b->chans == 1 && k->in[0].n == k->out.n && k->in[0].chans == k->out.chans) {
        wf_real r = 1 / b->p[0];
        int e;
        if (isfinite(r) && frexp(b->p[0], &e) == (wf_real)0.5) {
            const wf_real *x = k->in[0].p;
            size_t N = (size_t)k->out.n * (size_t)k->out.chans;
            for (size_t i = 0; i < N; i++)
                k->out.p[i] = x[i] * r;
            return;
        }
    }
    WF_MAP2(k, y = x0 / x1);
}
static void div_backward(wf_kctx *k) { WF_GRAD2(k, (d0 = g / x1, d1 = -g * x0 / (x1 * x1))); }
static void neg_forward(wf_kctx *k) { WF_MAP1(k, y = -x0); }
static void neg_backward(wf_kctx *k) { WF_GRAD1(k, (d0 = -g, (void)x0)); }

static double add_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] + x[1]; }
static double sub_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] - x[1]; }
static double mul_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] * x[1]; }
static double div_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] / x[1]; }
static double neg_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return -x[0]; }

#define BINARY(id, ARGS, DOC, KEEP)                                                            \
    const wf_node_kind wf_kind_##id = {                                                        \
        .name = #id,                                                                           \
        .family = "arithmetic",                                                                \
        .doc = DOC,                                                                            \
        .args = ARGS,                                                                          \
        .nargs = 2,                                                                            \
        .flags = WF_KIND_OPERATOR,                                                             \
        .keep = KEEP,                                                                          \
        .infer = wf_infer_elementwise,                                                         \
        .size = wf_map_size,                                                                   \
        .forward = id##_forward,                                                               \
        .backward = id##_backward,                                                             \
        .fold = id##_fold,                                                                     \
    };

BINARY(add, bin_args, "a + b, elementwise with broadcasting.", 0)
BINARY(sub, bin_args, "a - b, elementwise with broadcasting.", 0)
BINARY(mul, bin_args, "a * b, elementwise with broadcasting.", 3)
BINARY(div, div_args, "a / b, elementwise with broadcasting.", 3)

const wf_node_kind wf_kind_neg = {
    .name = "neg",
    .family = "arithmetic",
    .doc = "Negation, -x (unary minus).",
    .args = neg_args,
    .nargs = 1,
    .flags = WF_KIND_OPERATOR,
    .infer = wf_infer_elementwise,
    .size = wf_map_size,
    .forward = neg_forward,
    .backward = neg_backward,
    .fold = neg_fold,
};
