/* Forward tests of the neural layers (stdlib/nn.c, stdlib/gru.c) against
 * references computed here in double from their definitions (PyTorch's
 * Linear, LayerNorm, activations, Conv1d and GRU, written out). The patches
 * run at one frame per sample (frames = rate), so the out holds the layer's
 * frames exactly; inputs and weights are per-frame and matrix params set
 * here from seeded uniform draws. Outputs are float32 and each value is a
 * sum of a few products, so the tolerance is 2e-5 (relative to 1 + |y|);
 * the GRU's recursion over 64 frames gets 1e-4. */
#include <math.h>
#include <stdio.h>

#include "family_tests.h"
#include "render.h"
#include "runtime/rng.h"

#define NF 64 /* frames */
#define TOL 2e-5

static void fill(wf_param *p, uint64_t seed, double lo, double hi)
{
    for (size_t j = 0; j < wf_param_len(p); j++)
        p->value[j] = (wf_real)(lo + (hi - lo) * wf_uniform(seed, j));
}

/* The same values in double. */
static double *values(const wf_param *p)
{
    double *v = wf_xmalloc(sizeof(double) * wf_param_len(p));
    for (size_t j = 0; j < wf_param_len(p); j++)
        v[j] = p->value[j];
    return v;
}

static void expect_close(const wf_real *y, const double *ref, size_t len, double tol,
                         const char *what)
{
    for (size_t i = 0; i < len; i++)
        if (fabs(y[i] - ref[i]) > tol * (1 + fabs(ref[i])))
            fail_msg("%s: value %zu is %.9g, the reference %.9g", what, i, y[i], ref[i]);
}

/* dense and the per-frame layers of the DDSP stacks over a per-frame x of 3
 * channels: y = x W + b, layernorm over its 4 channels, then each activation. */
void test_nn_dense_layers(void **state)
{
    (void)state;
    static const char *const heads[] = {"y", "layernorm(y, g, c)", "relu(y)",
                                        "leaky_relu(y, slope: 0.2)", "gelu(y)", "softmax(y)"};
    for (int h = 0; h < 6; h++) {
        char text[512];
        snprintf(text, sizeof text,
                 "rate 8000\nframes 8000 hz\nparam x[3] = 0 per frame\nparam w[3, 4] = 0\n"
                 "param b[4] = 0\nparam g[4] = 0\nparam c[4] = 0\n"
                 "y = dense(x, w, b)\nout %s\n", heads[h]);
        wf_run r;
        wf_run_open(&r, text, NF, WF_RUN_WHOLE, 0);
        fill(wf_run_param(&r, "x"), 1, -2, 2);
        fill(wf_run_param(&r, "w"), 2, -1, 1);
        fill(wf_run_param(&r, "b"), 3, -0.5, 0.5);
        fill(wf_run_param(&r, "g"), 4, 0.5, 1.5);
        fill(wf_run_param(&r, "c"), 5, -0.5, 0.5);
        double *x = values(wf_run_param(&r, "x")), *w = values(wf_run_param(&r, "w"));
        double *b = values(wf_run_param(&r, "b")), *g = values(wf_run_param(&r, "g"));
        double *c = values(wf_run_param(&r, "c"));
        const wf_real *out = wf_prog_forward(r.prog);
        assert_int_equal(r.chans, 4);
        double ref[NF * 4];
        for (int t = 0; t < NF; t++) {
            double y[4], mu = 0, var = 0, m = -INFINITY, s = 0;
            for (int o = 0; o < 4; o++) {
                y[o] = b[o];
                for (int i = 0; i < 3; i++)
                    y[o] += x[t * 3 + i] * w[i * 4 + o];
                mu += y[o] / 4;
                m = fmax(m, y[o]);
            }
            for (int o = 0; o < 4; o++) {
                var += (y[o] - mu) * (y[o] - mu) / 4;
                s += exp(y[o] - m);
            }
            for (int o = 0; o < 4; o++) {
                double v = y[o];
                double *dst = &ref[t * 4 + o];
                switch (h) {
                case 0: *dst = v; break;
                case 1: *dst = (v - mu) / sqrt(var + 1e-5) * g[o] + c[o]; break;
                case 2: *dst = v > 0 ? v : 0; break;
                case 3: *dst = v > 0 ? v : 0.2 * v; break;
                case 4: *dst = 0.5 * v * (1 + erf(v / sqrt(2))); break;
                default: *dst = exp(v - m) / s; break;
                }
            }
        }
        expect_close(out, ref, NF * 4, TOL, heads[h]);
        free(x), free(w), free(b), free(g), free(c);
        wf_run_close(&r);
    }
}

/* leaky_relu's default slope is PyTorch's 0.01; a bias of one value
 * broadcasts over the outputs; softmax's frames sum to one even for inputs
 * whose exponentials overflow float32. */
void test_nn_defaults(void **state)
{
    (void)state;
    wf_run r;
    const wf_real *y = wf_run_whole(&r, "rate 8000\nframes 8000 hz\nparam w[1, 2] = [1, -1]\n"
                                        "out [leaky_relu(-3), dense(2, w, 0.5), softmax([200, 100, 0])]\n",
                                    4);
    assert_int_equal(r.chans, 6);
    double ref[6] = {-0.03, 2.5, -1.5, 1, exp(-100), 0};
    expect_close(y, ref, 6, TOL, "defaults");
    wf_run_close(&r);
}

/* conv1d, causal and centred, K = 3 taps of 2 -> 3 channels, against the
 * sum written out; then streams in blocks of 5, 16 and 48 frames equal
 * the whole pass (the history, and the centred kernel's lookahead). */
static double conv_x(int f)
{
    return sin(0.37 * f) + 0.3 * cos(1.3 * f);
}

void test_nn_conv1d(void **state)
{
    (void)state;
    static const char *const pads[] = {"causal", "centred"};
    for (int pd = 0; pd < 2; pd++) {
        char text[512];
        snprintf(text, sizeof text,
                 "rate 8000\nframes 8000 hz\nparam x[2] = 0 per frame\nparam w[6, 3] = uniform(seed: 9)\n"
                 "param b[3] = [0.1, -0.2, 0.3]\nout conv1d(x, w, b, padding: %s)\n", pads[pd]);
        wf_run r;
        wf_run_open(&r, text, NF, WF_RUN_WHOLE, 0);
        fill(wf_run_param(&r, "x"), 11, -1, 1);
        double *x = values(wf_run_param(&r, "x")), *w = values(wf_run_param(&r, "w"));
        const wf_real *y = wf_prog_forward(r.prog);
        assert_int_equal(r.chans, 3);
        int P = pd == 0 ? 2 : 1;
        double ref[NF * 3], b[3] = {0.1, -0.2, 0.3};
        for (int t = 0; t < NF; t++)
            for (int o = 0; o < 3; o++) {
                double s = b[o];
                for (int k = 0; k < 3; k++) {
                    int src = t + k - P;
                    if (src < 0 || src >= NF)
                        continue;
                    for (int i = 0; i < 2; i++)
                        s += x[src * 2 + i] * w[(k * 2 + i) * 3 + o];
                }
                ref[t * 3 + o] = s;
            }
        expect_close(y, ref, NF * 3, TOL, pads[pd]);
        free(x), free(w);
        wf_run_close(&r);
        static const int blocks[] = {5, 16, 48};
        wf_run_check_stream(text, 200, 3, "x", conv_x, blocks, 3, 1e-6);
    }
}

/* The GRU of 2 inputs and 3 units against PyTorch's equations in double,
 * over 64 frames of random input with random weights and biases; its
 * output stays within [-1, 1]; streams carry h across blocks. */
static double gru_x(int f)
{
    return 2 * sin(0.21 * f) + cos(0.9 * f);
}

static double sg(double v)
{
    return 1 / (1 + exp(-v));
}

void test_nn_gru(void **state)
{
    (void)state;
    const char *text = "rate 8000\nframes 8000 hz\nparam x[2] = 0 per frame\n"
                       "param wi[2, 9] = uniform(seed: 1)\nparam wh[3, 9] = uniform(seed: 2)\n"
                       "param bi[9] = uniform(lo: -0.5, hi: 0.5, seed: 3)\n"
                       "param bh[9] = uniform(lo: -0.5, hi: 0.5, seed: 4)\n"
                       "out gru(x, wi, wh, bi, bh)\n";
    wf_run r;
    wf_run_open(&r, text, NF, WF_RUN_WHOLE, 0);
    fill(wf_run_param(&r, "x"), 21, -3, 3);
    double *x = values(wf_run_param(&r, "x")), *wi = values(wf_run_param(&r, "wi"));
    double *wh = values(wf_run_param(&r, "wh")), *bi = values(wf_run_param(&r, "bi"));
    double *bh = values(wf_run_param(&r, "bh"));
    const wf_real *y = wf_prog_forward(r.prog);
    assert_int_equal(r.chans, 3);
    double h[3] = {0}, ref[NF * 3];
    for (int t = 0; t < NF; t++) {
        double a[9], c[9];
        for (int j = 0; j < 9; j++) {
            a[j] = bi[j];
            c[j] = bh[j];
            for (int i = 0; i < 2; i++)
                a[j] += x[t * 2 + i] * wi[i * 9 + j];
            for (int i = 0; i < 3; i++)
                c[j] += h[i] * wh[i * 9 + j];
        }
        for (int j = 0; j < 3; j++) {
            double rr = sg(a[j] + c[j]), z = sg(a[3 + j] + c[3 + j]);
            double n = tanh(a[6 + j] + rr * c[6 + j]);
            h[j] = (1 - z) * n + z * h[j];
            ref[t * 3 + j] = h[j];
        }
    }
    expect_close(y, ref, NF * 3, 1e-4, "gru");
    for (int i = 0; i < NF * 3; i++)
        assert_true(fabs(y[i]) <= 1);
    free(x), free(wi), free(wh), free(bi), free(bh);
    wf_run_close(&r);
    static const int blocks[] = {7, 48};
    wf_run_check_stream(text, 200, 3, "x", gru_x, blocks, 2, 1e-6);
}
