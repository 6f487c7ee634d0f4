/* Units of number literals and the physical dimension of constants: a
 * frequency, a time or a gain, checked where settings and params need one. */
#include <math.h>

#include "lang/compile_int.h"

const char *wf_cc_dim_name(dim d)
{
    return d == DIM_FREQ ? "a frequency" : d == DIM_TIME ? "a time" : d == DIM_GAIN ? "a gain (db)" : "a plain number";
}

static double unit_scale(wf_unit u, double x)
{
    switch (u) {
    case WF_UNIT_KHZ: return x * 1000;
    case WF_UNIT_MS: return x / 1000;
    case WF_UNIT_DB: return pow(10, x / 20);
    default: return x;
    }
}

static dim unit_dim(wf_unit u)
{
    switch (u) {
    case WF_UNIT_HZ:
    case WF_UNIT_KHZ: return DIM_FREQ;
    case WF_UNIT_MS:
    case WF_UNIT_S: return DIM_TIME;
    case WF_UNIT_DB: return DIM_GAIN;
    default: return DIM_NONE;
    }
}

val wf_cc_number(cc *c, double x, wf_unit u)
{
    val v = wf_cc_const(c, 1, unit_dim(u));
    v.v[0] = unit_scale(u, x);
    return v;
}

dim wf_cc_combine_dim(char op, dim a, dim b)
{
    if (a == DIM_NONE)
        return (op == '/' && b != DIM_NONE) ? DIM_NONE : b;
    if (b == DIM_NONE)
        return a;
    if (op == '+' || op == '-')
        return a == b ? a : DIM_NONE;
    return DIM_NONE;
}

int wf_cc_single_unit(const wf_ast *e)
{
    if (e->kind == WF_AST_NUM)
        return e->u.num.unit;
    if (e->kind == WF_AST_NEG && e->u.operand->kind == WF_AST_NUM && !e->u.operand->paren)
        return e->u.operand->u.num.unit;
    return WF_UNIT_NONE;
}
