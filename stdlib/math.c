/* Elementwise maths nodes. Each forward is one expression inlined into the
 * block loop of stdlib/map.h; each backward is its derivative:
 *   exp' = exp        log' = 1/x           sqrt' = 1/(2 sqrt x)
 *   pow(x,p): d/dx = p x^(p-1), d/dp = x^p ln x
 *   tanh' = 1 - tanh^2   sigmoid' = s (1 - s)   softplus' = sigmoid
 *   exp_sigmoid(x) = m sigmoid(x)^ln(e) + t (DDSP, Engel et al. 2020, core.py):
 *       d/dx = m ln(e) sigmoid^ln(e) (1 - sigmoid)
 *   db(x) = 10^(x/20): d/dx = db(x) ln(10)/20;  todb(x) = 20 log10|x|: d/dx = 20/(ln(10) x)
 * min/max/clamp send the gradient to the operand that was chosen. */
#include <string.h>
#include <tgmath.h>

#include "runtime/vmath.h"
#include "stdlib/map.h"

#define LN10 2.302585092994045684
#define INV_2PI 0.159154943091895335768883763372514
#define PARALLEL_MAP 16384 /* elements of a costly map worth a second thread */

static const wf_arg_spec x_any[] = {{"x", WF_ARG_SIGNAL, NULL, "input", 0, NULL, -2, 2}};
static const wf_arg_spec x_pos[] = {{"x", WF_ARG_SIGNAL, NULL, "input (> 0)", 0, NULL, 0.2, 2}};
static const wf_arg_spec x_db[] = {{"x", WF_ARG_SIGNAL, NULL, "level in dB", 0, NULL, -40, 6}};
static const wf_arg_spec pow_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "base (> 0)", 0, NULL, 0.2, 2},
    {"p", WF_ARG_SIGNAL, NULL, "exponent", 0, NULL, -2, 2},
};
static const wf_arg_spec pair_args[] = {
    {"a", WF_ARG_SIGNAL, NULL, "first operand", 0, NULL, -1, 1},
    {"b", WF_ARG_SIGNAL, NULL, "second operand", 0, NULL, -1, 1},
};
static const wf_arg_spec clamp_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input", 0, NULL, -1, 1},
    {"lo", WF_ARG_SIGNAL, "0", "lower limit", 0, NULL, -0.6, -0.3},
    {"hi", WF_ARG_SIGNAL, "1", "upper limit", 0, NULL, 0.3, 0.6},
};
static const wf_arg_spec exps_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "input", 0, NULL, -3, 3},
    {"exponent", WF_ARG_NUMBER, "10", "exponent base e: the curve is sigmoid^ln(e)",
     WF_ARG_POSITIVE, NULL, 0, 0},
    {"max", WF_ARG_NUMBER, "2", "largest value", 0, NULL, 0, 0},
    {"threshold", WF_ARG_NUMBER, "1e-7", "smallest value", 0, NULL, 0, 0},
};

static wf_real sigm(wf_real x)
{
    return (wf_real)1 / ((wf_real)1 + exp(-x));
}

static void exp_fwd(wf_kctx *k) { WF_MAP1(k, y = exp(x0)); }
static void exp_bwd(wf_kctx *k) { WF_GRAD1(k, (d0 = g * y, (void)x0)); }
static void log_fwd(wf_kctx *k) { WF_MAP1(k, y = log(x0)); }
static void log_bwd(wf_kctx *k) { WF_GRAD1(k, d0 = g / x0); }
static void sqrt_fwd(wf_kctx *k) { WF_MAP1(k, y = sqrt(x0)); }
static void sqrt_bwd(wf_kctx *k) { WF_GRAD1(k, (d0 = y > 0 ? g * (wf_real)0.5 / y : 0, (void)x0)); }
static void pow_fwd(wf_kctx *k) { WF_MAP2(k, y = pow(x0, x1)); }
static void pow_bwd(wf_kctx *k)
{
    WF_GRAD2(k, (d0 = g * x1 * pow(x0, x1 - 1), d1 = x0 > 0 ? g * y * log(x0) : 0));
}
static void sin_fwd(wf_kctx *k) { WF_MAP1(k, y = wf_sin2pi(x0 * (wf_real)INV_2PI)); }
static void sin_bwd(wf_kctx *k) { WF_GRAD1(k, d0 = g * wf_cos2pi(x0 * (wf_real)INV_2PI)); }
static void cos_fwd(wf_kctx *k) { WF_MAP1(k, y = wf_cos2pi(x0 * (wf_real)INV_2PI)); }
static void cos_bwd(wf_kctx *k) { WF_GRAD1(k, d0 = -g * wf_sin2pi(x0 * (wf_real)INV_2PI)); }
static void tanh_fwd(wf_kctx *k) { WF_MAP1(k, y = tanh(x0)); }
static void tanh_bwd(wf_kctx *k) { WF_GRAD1(k, (d0 = g * (1 - y * y), (void)x0)); }
static void sigmoid_fwd(wf_kctx *k) { WF_MAP1(k, y = sigm(x0)); }
static void sigmoid_bwd(wf_kctx *k) { WF_GRAD1(k, (d0 = g * y * (1 - y), (void)x0)); }
static void softplus_fwd(wf_kctx *k)
{
    WF_MAP1(k, y = (x0 > 0 ? x0 : 0) + log1p(exp(-fabs(x0))));
}
static void softplus_bwd(wf_kctx *k) { WF_GRAD1(k, d0 = g * sigm(x0)); }

/* exp_sigmoid keeps sigmoid^ln(e) and 1 - sigmoid on its tape, so that its
 * backward is one product instead of a second powf per element. Both come
 * from u = e^-|x| in double, inlined so that the loop vectorises (libm's
 * expf and powf per element were the largest single cost of fitting DDSP's
 * models): -ln sigmoid(x) = max(-x, 0) + ln(1 + u), so
 *   sigmoid^l = e^(-l (max(-x, 0) + ln(1 + u))),
 *   1 - sigmoid = (x >= 0 ? u : 1) / (1 + u).
 * exp_le0 is e^d for d <= 0: d = n ln2 + r, |r| <= ln2 / 2 (ln2 in two parts,
 * Cody-Waite), e^r by its Taylor polynomial of degree 12 (the first term left
 * out is below 2e-16), 2^n through the exponent bits; d is floored at -700,
 * whose e^d is zero in float32. log1p_unit is ln(1 + u) for u in [0, 1] as
 * 2 atanh(z), z = u / (2 + u) <= 1/3, by its odd series to z^25 (relative
 * error below 1e-13). Rounded once to float32, the results are within an
 * ulp of the exact ones. The float64 build (gradient tests) calls libm. */
static inline double exp_le0(double d)
{
    d = d < -700 ? -700 : d;
    double n = rint(d * 1.4426950408889634074);
    double r = (d - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600;
    p = p * r + 1.0 / 39916800;
    p = p * r + 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1;
    p = p * r + 1;
    double t = n + 6755399441055744.0; /* 1.5 2^52: n in the low bits */
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
static inline double log1p_unit(double u)
{
    double z = u / (2 + u), w = z * z;
    double q = 1.0 / 25;
    for (int k = 23; k >= 1; k -= 2)
        q = q * w + 1.0 / k;
    return 2 * z * q;
}
static inline void exp_sigmoid_parts(wf_real x, wf_real l, wf_real *pw, wf_real *om)
{
#ifdef WF_REAL_DOUBLE
    wf_real s = sigm(x);
    *pw = pow(s, l);
    *om = 1 - s;
#else
    double xd = x, u = exp_le0(-fabs(xd));
    *pw = (wf_real)exp_le0(-(double)l * ((xd < 0 ? -xd : 0) + log1p_unit(u)));
    *om = (wf_real)((xd >= 0 ? u : 1) / (1 + u));
#endif
}
static void exp_sigmoid_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                             wf_sizes *s)
{
    wf_map_size(g, in, e, block, s);
    s->saved = 2 * (size_t)block * (size_t)g->shape.chans * sizeof(wf_real);
}
static void exp_sigmoid_fwd(wf_kctx *k)
{
    const wf_real l = (wf_real)log(wf_opt_num(k->node, 1, 10.0));
    const wf_real m = (wf_real)wf_opt_num(k->node, 2, 2.0);
    const wf_real t = (wf_real)wf_opt_num(k->node, 3, 1e-7);
    if (!k->saved) {
        wf_real pw, om;
        WF_MAP1(k, (exp_sigmoid_parts(x0, l, &pw, &om), y = m * pw + t));
        return;
    }
    wf_real *pw = k->saved, *om = pw + (size_t)k->block * (size_t)k->out.chans;
    const wf_real *x = k->in[0].p;
    wf_real *o = k->out.p;
    long n = (long)k->out.n * k->out.chans;
    /* a fit's whole [frames x bands] block is worth both cores */
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MAP)
    for (long i = 0; i < n; i++) {
        exp_sigmoid_parts(x[i], l, &pw[i], &om[i]);
        o[i] = m * pw[i] + t;
    }
}
static void exp_sigmoid_bwd(wf_kctx *k)
{
    const wf_real l = (wf_real)log(wf_opt_num(k->node, 1, 10.0));
    const wf_real m = (wf_real)wf_opt_num(k->node, 2, 2.0);
    const wf_real *pw = k->saved, *om = pw + (size_t)k->block * (size_t)k->out.chans;
    size_t j = 0;
    WF_GRAD1(k, {
        (void)x0;
        d0 = g * m * l * pw[j] * om[j];
        j++;
    });
}

static void abs_fwd(wf_kctx *k) { WF_MAP1(k, y = fabs(x0)); }
static void abs_bwd(wf_kctx *k) { WF_GRAD1(k, d0 = x0 > 0 ? g : x0 < 0 ? -g : 0); }
static void clamp_fwd(wf_kctx *k) { WF_MAP3(k, y = x0 < x1 ? x1 : x0 > x2 ? x2 : x0); }
static void clamp_bwd(wf_kctx *k)
{
    WF_GRAD3(k, (d0 = (x0 >= x1 && x0 <= x2) ? g : 0, d1 = x0 < x1 ? g : 0,
                 d2 = (x0 >= x1 && x0 > x2) ? g : 0));
}
static void min_fwd(wf_kctx *k) { WF_MAP2(k, y = x0 <= x1 ? x0 : x1); }
static void min_bwd(wf_kctx *k) { WF_GRAD2(k, (d0 = x0 <= x1 ? g : 0, d1 = x0 <= x1 ? 0 : g)); }
static void max_fwd(wf_kctx *k) { WF_MAP2(k, y = x0 >= x1 ? x0 : x1); }
static void max_bwd(wf_kctx *k) { WF_GRAD2(k, (d0 = x0 >= x1 ? g : 0, d1 = x0 >= x1 ? 0 : g)); }
static void db_fwd(wf_kctx *k) { WF_MAP1(k, y = exp(x0 * (wf_real)(LN10 / 20))); }
static void db_bwd(wf_kctx *k) { WF_GRAD1(k, (d0 = g * y * (wf_real)(LN10 / 20), (void)x0)); }
static void todb_fwd(wf_kctx *k)
{
    WF_MAP1(k, y = (wf_real)(20 / LN10) * log(fabs(x0) > (wf_real)1e-7 ? fabs(x0) : (wf_real)1e-7));
}
static void todb_bwd(wf_kctx *k)
{
    WF_GRAD1(k, d0 = fabs(x0) > (wf_real)1e-7 ? g * (wf_real)(20 / LN10) / x0 : 0);
}

/* The same functions in double, for constants folded when compiling. */
static double dsigm(double x)
{
    return 1 / (1 + exp(-x));
}
static double exp_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return exp(x[0]); }
static double log_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return log(x[0]); }
static double sqrt_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return sqrt(x[0]); }
static double pow_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return pow(x[0], x[1]); }
static double sin_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return sin(x[0]); }
static double cos_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return cos(x[0]); }
static double tanh_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return tanh(x[0]); }
static double sigmoid_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return dsigm(x[0]); }
static double softplus_fold(const double *x, const wf_opt *o, int c)
{
    (void)o;
    (void)c;
    return (x[0] > 0 ? x[0] : 0) + log1p(exp(-fabs(x[0])));
}
static double exp_sigmoid_fold(const double *x, const wf_opt *o, int c)
{
    (void)c;
    double e = o[1].n ? o[1].v[0] : 10, m = o[2].n ? o[2].v[0] : 2, t = o[3].n ? o[3].v[0] : 1e-7;
    return m * pow(dsigm(x[0]), log(e)) + t;
}
static double abs_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return fabs(x[0]); }
static double clamp_fold(const double *x, const wf_opt *o, int c)
{
    (void)o;
    (void)c;
    return x[0] < x[1] ? x[1] : x[0] > x[2] ? x[2] : x[0];
}
static double min_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] <= x[1] ? x[0] : x[1]; }
static double max_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return x[0] >= x[1] ? x[0] : x[1]; }
static double db_fold(const double *x, const wf_opt *o, int c) { (void)o; (void)c; return pow(10, x[0] / 20); }
static double todb_fold(const double *x, const wf_opt *o, int c)
{
    (void)o;
    (void)c;
    return 20 * log10(fabs(x[0]) > 1e-7 ? fabs(x[0]) : 1e-7);
}

#define MATH_SIZED(id, ARGS, NARGS, KEEP, SIZE, DOC)                                           \
    const wf_node_kind wf_kind_##id = {                                                        \
        .name = #id,                                                                           \
        .family = "math",                                                                      \
        .doc = DOC,                                                                            \
        .args = ARGS,                                                                          \
        .nargs = NARGS,                                                                        \
        .keep = KEEP,                                                                          \
        .infer = wf_infer_elementwise,                                                         \
        .size = SIZE,                                                                          \
        .forward = id##_fwd,                                                                   \
        .backward = id##_bwd,                                                                  \
        .fold = id##_fold,                                                                     \
    };
#define MATH(id, ARGS, NARGS, KEEP, DOC) MATH_SIZED(id, ARGS, NARGS, KEEP, wf_map_size, DOC)

MATH(exp, x_any, 1, WF_KEEP_OUT, "Exponential, e^x.")
MATH(log, x_pos, 1, 1, "Natural logarithm.")
MATH(sqrt, x_pos, 1, WF_KEEP_OUT, "Square root.")
MATH(pow, pow_args, 2, 3 | WF_KEEP_OUT, "x raised to the power p.")
MATH(sin, x_any, 1, 1, "Sine of x in radians.")
MATH(cos, x_any, 1, 1, "Cosine of x in radians.")
MATH(tanh, x_any, 1, WF_KEEP_OUT, "Hyperbolic tangent (soft clipping).")
MATH(sigmoid, x_any, 1, WF_KEEP_OUT, "Logistic sigmoid 1 / (1 + e^-x).")
MATH(softplus, x_any, 1, 1, "log(1 + e^x), computed without overflow.")
MATH_SIZED(exp_sigmoid, exps_args, 4, 1, exp_sigmoid_size,
     "DDSP's scaled sigmoid: max * sigmoid(x)^ln(exponent) + threshold.")
MATH(abs, x_any, 1, 1, "Absolute value.")
MATH(clamp, clamp_args, 3, 7, "x limited to [lo, hi].")
MATH(min, pair_args, 2, 3, "Smaller of a and b.")
MATH(max, pair_args, 2, 3, "Larger of a and b.")
MATH(db, x_db, 1, WF_KEEP_OUT, "Decibels to gain: 10^(x/20).")
MATH(todb, x_any, 1, 1, "Gain to decibels: 20 log10 |x| (floored at -140 dB).")
