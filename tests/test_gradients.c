/* Registry-driven gradient checks, built in double precision: for every node
 * kind, with random inputs of several rates and channel counts, the
 * reverse-mode gradient of L = sum(w * y) with respect to every input element
 * must match central finite differences. One cmocka test per registry entry,
 * so a node cannot be added without its backward kernel being checked. Each
 * kind's output is also rendered in small streaming blocks and compared with
 * one whole-signal pass. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lang/compile.h"
#include "runtime/exec.h"
#include "runtime/rng.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

#ifndef WF_REAL_DOUBLE
#error "the gradient checks need the float64 build"
#endif

#define SR 8000.0
#define HOP 16
#define NSAMP 256

static wf_env test_env(void)
{
    wf_env e = {SR, SR / HOP, HOP, NSAMP, NSAMP / HOP, 0, NSAMP};
    return e;
}

/* One arrangement of input rates and channels to try. */
typedef struct config {
    const char *name;
    wf_rate rate[8]; /* per signal input (CONST_ONLY inputs stay constant) */
    int chans[8];
} config;

static wf_rate pick_rate(const wf_arg_spec *as, wf_rate want)
{
    return (as->flags & WF_ARG_CONST_ONLY) ? WF_RATE_CONST : want;
}

static void make_configs(const wf_node_kind *k, int nin, config *cf, int *ncf)
{
    static const wf_rate all[] = {WF_RATE_CONST, WF_RATE_CONTROL, WF_RATE_AUDIO};
    int n = 0;
    for (int r = 0; r < 3; r++) {
        cf[n] = (config){0};
        cf[n].name = r == 0 ? "all constant" : r == 1 ? "all control" : "all audio";
        for (int i = 0; i < nin; i++) {
            cf[n].rate[i] = pick_rate(wf_kind_input_spec(k, i), all[r]);
            cf[n].chans[i] = 1;
        }
        n++;
    }
    /* mixed rates, multichannel first input with broadcast others */
    cf[n] = (config){0};
    cf[n].name = "audio x3 with constant x1";
    for (int i = 0; i < nin; i++) {
        cf[n].rate[i] = pick_rate(wf_kind_input_spec(k, i), i == 0 ? WF_RATE_AUDIO : WF_RATE_CONST);
        cf[n].chans[i] = i == 0 ? 3 : 1;
    }
    n++;
    cf[n] = (config){0};
    cf[n].name = "control x1 with audio x2";
    for (int i = 0; i < nin; i++) {
        cf[n].rate[i] = pick_rate(wf_kind_input_spec(k, i), i == 0 ? WF_RATE_CONTROL : WF_RATE_AUDIO);
        cf[n].chans[i] = i == 0 ? 1 : 2;
    }
    n++;
    cf[n] = (config){0};
    cf[n].name = "constant x4 with control x4";
    for (int i = 0; i < nin; i++) {
        cf[n].rate[i] = pick_rate(wf_kind_input_spec(k, i), i == 0 ? WF_RATE_CONST : WF_RATE_CONTROL);
        cf[n].chans[i] = 4;
    }
    n++;
    *ncf = n;
}

/* Options for a test call: defaults, else the spec's test value. */
static wf_opt *test_opts(const wf_node_kind *k)
{
    wf_opt *o = wf_xcalloc((size_t)k->nargs + 1, sizeof *o);
    for (int a = 0; a < k->nargs; a++) {
        const wf_arg_spec *as = &k->args[a];
        if (as->kind == WF_ARG_SIGNAL)
            continue;
        if (as->kind == WF_ARG_ENUM) {
            int idx = 0;
            for (int c = 0; as->dflt && as->choices[c]; c++)
                if (strcmp(as->choices[c], as->dflt) == 0)
                    idx = c;
            o[a].n = 1;
            o[a].v = wf_xmalloc(sizeof(double));
            o[a].v[0] = idx;
            continue;
        }
        if (!as->dflt && (as->flags & WF_ARG_OPTIONAL))
            continue;
        o[a].n = 1;
        o[a].v = wf_xmalloc(sizeof(double));
        o[a].v[0] = as->dflt ? strtod(as->dflt, NULL) : as->test_lo;
    }
    return o;
}

/* A graph of one node fed by params; -1 when the node refuses the shapes. */
static int build(const wf_node_kind *k, int nin, const config *cf, wf_graph *g)
{
    int in[8];
    g->params = wf_xcalloc((size_t)nin + 1, sizeof *g->params);
    for (int i = 0; i < nin; i++) {
        wf_param_decl *pd = &g->params[g->nparams++];
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        pd->name = wf_xstrdup(name);
        pd->rate = cf->rate[i];
        pd->size = cf->chans[i];
        pd->init = wf_xcalloc((size_t)cf->chans[i], sizeof(double));
        int id = wf_graph_add(g, &wf_kind_param, 0, NULL, (wf_loc){0});
        g->nodes[id].ref = i;
        g->nodes[id].shape = wf_shape_of(cf->rate[i], cf->chans[i]);
        pd->node = id;
        in[i] = id;
    }
    wf_diags d = {0};
    int id = wf_build_node(g, k, nin, in, test_opts(k), (wf_loc){0}, &d);
    wf_diags_free(&d);
    g->out = id;
    return id;
}

static void randomize(wf_params *ps, const wf_node_kind *k, uint64_t seed)
{
    for (int i = 0; i < ps->n; i++) {
        const wf_arg_spec *as = wf_kind_input_spec(k, i);
        wf_param *p = &ps->v[i];
        size_t len = wf_param_len(p);
        int chans = p->decl->size;
        for (size_t j = 0; j < len; j++) {
            double u = 0.5 * (wf_uniform(seed + (uint64_t)i, j) + 1);
            p->value[j] = k->test_value ? k->test_value(i, (int)(j % (size_t)chans), chans, u)
                                        : as->test_lo + (as->test_hi - as->test_lo) * u;
        }
    }
}

static double loss(const wf_real *y, const wf_real *w, size_t len)
{
    double s = 0;
    for (size_t i = 0; i < len; i++)
        s += (double)w[i] * (double)y[i];
    return s;
}

/* Returns 1 when the config was checked, 0 when the node refused it. */
static int check_config(int kind, const config *cf, int nin)
{
    const wf_node_kind *k = wf_registry[kind];
    wf_graph *g = wf_graph_new();
    if (build(k, nin, cf, g) < 0) {
        wf_graph_free(g);
        return 0;
    }
    wf_env env = test_env();
    wf_params ps;
    wf_diags d = {0};
    assert_int_equal(wf_params_init(&ps, g, &env, NULL, &d), 0);
    randomize(&ps, k, wf_hash_str(1000, k->name)); /* by name: the registry's order may change */
    wf_prog *p = wf_prog_new(g, &env, &ps, WF_RUN_GRAD, 0, &d);
    assert_non_null(p);
    const wf_gnode *go = &g->nodes[g->out];
    size_t len = (size_t)wf_env_frames(&env, go->shape.rate) * (size_t)go->shape.chans;
    wf_real *w = wf_xmalloc(sizeof(wf_real) * len);
    for (size_t i = 0; i < len; i++)
        w[i] = wf_uniform(7, i);
    wf_params_zero_grad(&ps);
    wf_prog_forward(p);
    wf_prog_backward(p, w);
    int failures = 0;
    for (int i = 0; i < ps.n; i++) {
        wf_param *pa = &ps.v[i];
        size_t n = wf_param_len(pa);
        double scale = 0;
        for (size_t j = 0; j < n; j++)
            scale = fmax(scale, fabs(pa->grad[j]));
        /* the step follows the input's scale, so that it stays far below the
         * distance to the kinks of piecewise-linear nodes (delay taps) */
        const wf_arg_spec *as = wf_kind_input_spec(k, i);
        double h = 1e-6 * (as->test_hi > as->test_lo ? as->test_hi - as->test_lo : 1);
        for (size_t j = 0; j < n; j++) {
            double x = pa->value[j];
            pa->value[j] = x + h;
            double lp = loss(wf_prog_forward(p), w, len);
            pa->value[j] = x - h;
            double lm = loss(wf_prog_forward(p), w, len);
            pa->value[j] = x;
            double fd = (lp - lm) / (2 * h);
            double ad = pa->grad[j];
            double tol = 1e-5 * fmax(scale, fabs(fd)) + 1e-7;
            if (fabs(ad - fd) > tol && failures++ < 5)
                print_error("%s [%s]: d/d %s[%zu] reverse %.9g, finite differences %.9g\n",
                            k->name, cf->name, wf_kind_input_spec(k, i)->name, j, ad, fd);
        }
    }
    wf_prog_free(p);

    /* The same output in streaming blocks of 3 frames. */
    if (go->shape.rate == WF_RATE_AUDIO) {
        wf_prog *whole = wf_prog_new(g, &env, &ps, WF_RUN_WHOLE, 0, &d);
        const wf_real *y = wf_prog_forward(whole);
        wf_prog *st = wf_prog_new(g, &env, &ps, WF_RUN_STREAM, 3 * HOP, &d);
        int n, at = 0, C = go->shape.chans;
        const wf_real *b;
        while ((b = wf_prog_next_block(st, &n))) {
            for (int t = 0; t < n * C; t++)
                if (fabs(b[t] - y[(size_t)at * C + t]) > 1e-9 * (1 + fabs(y[(size_t)at * C + t])) &&
                    failures++ < 5)
                    print_error("%s [%s]: streamed sample %d is %.12g, whole pass %.12g\n",
                                k->name, cf->name, at + t / C, b[t], y[(size_t)at * C + t]);
            at += n;
        }
        assert_int_equal(at, NSAMP);
        wf_prog_free(st);
        wf_prog_free(whole);
    }
    free(w);
    wf_params_free(&ps);
    wf_graph_free(g);
    wf_diags_free(&d);
    if (failures)
        fail_msg("%s [%s]: %d mismatches", k->name, cf->name, failures);
    return 1;
}

static void test_kind(void **state)
{
    int kind = (int)(intptr_t)*state;
    const wf_node_kind *k = wf_registry[kind];
    if (k->flags & WF_KIND_EXTERNAL)
        skip(); /* params and inputs: the executor provides them */
    if (k->flags & WF_KIND_ANALYSIS) {
        /* no gradient by contract (runtime/node.h): a GRAD plan refuses a
         * param upstream of it (test_cli's param-reaches-analysis). Its
         * control-rate output's streams are checked against whole passes by
         * its family's tests (test_pitch_stream). */
        assert_null(k->backward);
        skip();
    }
    if ((k->flags & WF_KIND_INTERNAL) && !k->backward && wf_kind_signal_args(k) > 0) {
        /* made by the compiler from constants only (sines: lang/compile.c
         * folds mix(sine(constants))), so nothing upstream of it has a
         * gradient; its forward is test_nodes' test_sine_banks */
        assert_ptr_equal(k, &wf_kind_sines);
        skip();
    }
    int nin = wf_kind_signal_args(k);
    if (k->flags & WF_KIND_VARIADIC)
        nin = 2;
    if (nin == 0) {
        /* nothing differentiable; still a kernel, so it must run */
        assert_null(k->backward);
        return;
    }
    assert_non_null(k->backward);
    config cf[8];
    int ncf, checked = 0;
    make_configs(k, nin, cf, &ncf);
    for (int c = 0; c < ncf; c++)
        checked += check_config(kind, &cf[c], nin);
    if (checked == 0) {
        /* inputs that come in groups of 6 channels (sos's sections), or a
         * stereo first input (width's): the first input audio or control,
         * the others at each rate */
        static const struct {
            const char *name;
            wf_rate r0, r;
            int c0, c;
        } grouped[] = {
            {"audio x1 with constant x12", WF_RATE_AUDIO, WF_RATE_CONST, 1, 12},
            {"audio x3 with constant x30", WF_RATE_AUDIO, WF_RATE_CONST, 3, 30},
            {"audio x2 with control x12", WF_RATE_AUDIO, WF_RATE_CONTROL, 2, 12},
            {"control x1 with audio x6", WF_RATE_CONTROL, WF_RATE_AUDIO, 1, 6},
            {"audio x2 with constant x1", WF_RATE_AUDIO, WF_RATE_CONST, 2, 1},
            {"audio x2 with control x1", WF_RATE_AUDIO, WF_RATE_CONTROL, 2, 1},
            {"control x2 with audio x1", WF_RATE_CONTROL, WF_RATE_AUDIO, 2, 1},
            {"constant x2 with constant x1", WF_RATE_CONST, WF_RATE_CONST, 2, 1},
            /* a GRU of one hidden unit over one input channel (gate blocks of 1) */
            {"control x1 with constant x3", WF_RATE_CONTROL, WF_RATE_CONST, 1, 3},
        };
        for (size_t c = 0; c < sizeof grouped / sizeof grouped[0]; c++) {
            config g = {0};
            g.name = grouped[c].name;
            for (int i = 0; i < nin; i++) {
                g.rate[i] = pick_rate(wf_kind_input_spec(k, i), i ? grouped[c].r : grouped[c].r0);
                g.chans[i] = i ? grouped[c].c : grouped[c].c0;
            }
            checked += check_config(kind, &g, nin);
        }
    }
    if (checked == 0)
        fail_msg("'%s' accepted none of the test shapes", k->name);
}

/* ---------------------------------------------------------------- lanes */

/* Lanes through whole patches: params shared by voices of notes and by the
 * items of a batch get the sum of every lane's adjoint (through the slots of
 * the executor), against finite differences of L = sum over the out's lanes
 * of <w, y>. The notes' frames and the items' inputs are made up here. */
static void check_lanes(const char *text, int items, int voices)
{
    wf_diags d = {0};
    wf_patch *pt = wf_compile_text("lanes.weft", text, NULL, &d);
    if (!pt) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        fail_msg("does not compile: %s", text);
    }
    const wf_graph *g = pt->g;
    wf_env env = test_env();
    wf_params ps;
    assert_int_equal(wf_params_init(&ps, g, &env, NULL, &d), 0);
    for (int i = 0; i < ps.n; i++)
        for (size_t j = 0; j < wf_param_len(&ps.v[i]); j++)
            ps.v[i].value[j] *= 1 + 0.3 * wf_uniform(40 + (uint64_t)i, j);
    char per_item[8] = {0};
    assert_true(g->ninputs <= 8);
    for (int j = 0; j < g->ninputs && j < 8; j++)
        per_item[j] = g->inputs[j].from_target;
    int vs[1] = {voices};
    wf_plan o = {WF_RUN_GRAD, 0, items, per_item, vs};
    wf_prog *p = wf_prog_plan(g, &env, &ps, &o, &d);
    assert_non_null(p);
    wf_real *data[8][8] = {{0}};
    for (int j = 0; j < g->ninputs; j++) {
        const wf_input_decl *in = &g->inputs[j];
        int lanes = wf_prog_input_lanes(p, j);
        assert_int_equal(lanes, in->space ? voices : items);
        for (int l = 0; l < lanes; l++) {
            size_t len = (size_t)wf_env_frames(&env, in->space ? WF_RATE_CONTROL : WF_RATE_AUDIO) * (size_t)in->chans;
            data[j][l] = wf_xmalloc(sizeof(wf_real) * len);
            for (size_t t = 0; t < len; t++) {
                if (!in->space) { /* audio: noise of its own per item */
                    data[j][l][t] = wf_uniform(90 + (uint64_t)l, t);
                    continue;
                }
                size_t f = t / 4; /* freq, gate (on for frames [l, 8 + 3 l)), vel, onset */
                double fields[4] = {150 + 60 * l + f, f >= (size_t)l && f < (size_t)(8 + 3 * l), 0.5 + 0.2 * l, f == (size_t)l};
                data[j][l][t] = fields[t % 4];
            }
            wf_prog_set_input(p, j, l, data[j][l]);
        }
    }
    size_t len = wf_prog_out_len(p);
    assert_int_equal(wf_prog_out_lanes(p), wf_prog_out_lanes(p) > 1 ? items : 1);
    wf_real *w = wf_xmalloc(sizeof(wf_real) * len);
    for (size_t i = 0; i < len; i++)
        w[i] = wf_uniform(8, i);
    wf_params_zero_grad(&ps);
    wf_prog_forward(p);
    wf_prog_backward(p, w);
    int lanes = wf_prog_out_lanes(p);
    size_t per = len / (size_t)lanes;
    int failures = 0;
    for (int i = 0; i < ps.n; i++) {
        wf_param *pa = &ps.v[i];
        double scale = 0;
        for (size_t j = 0; j < wf_param_len(pa); j++)
            scale = fmax(scale, fabs(pa->grad[j]));
        for (size_t j = 0; j < wf_param_len(pa); j++) {
            double x = pa->value[j], h = 1e-6 * fmax(fabs(x), 1e-3), l2[2];
            for (int side = 0; side < 2; side++) {
                pa->value[j] = x + (side ? -h : h);
                wf_prog_forward(p);
                l2[side] = 0;
                for (int l = 0; l < lanes; l++)
                    l2[side] += loss(wf_prog_out(p, l), w + (size_t)l * per, per);
            }
            pa->value[j] = x;
            double fd = (l2[0] - l2[1]) / (2 * h), ad = pa->grad[j];
            if (fabs(ad - fd) > 1e-5 * fmax(scale, fabs(fd)) + 1e-8 && failures++ < 5)
                print_error("d/d %s[%zu]: reverse %.9g, finite differences %.9g\n",
                            pa->decl->name, j, ad, fd);
        }
    }
    if (failures)
        fail_msg("%d gradients of %s disagree", failures, text);
    /* a second backward gives the same gradient: every adjoint and slot
     * starts again from zero, whichever node's backward runs first */
    wf_real *first[8];
    assert_true(ps.n <= 8);
    for (int i = 0; i < ps.n; i++) {
        size_t n = wf_param_len(&ps.v[i]);
        first[i] = wf_xmalloc(sizeof(wf_real) * n);
        memcpy(first[i], ps.v[i].grad, sizeof(wf_real) * n);
    }
    wf_params_zero_grad(&ps);
    wf_prog_forward(p);
    wf_prog_backward(p, w);
    for (int i = 0; i < ps.n; i++) {
        for (size_t j = 0; j < wf_param_len(&ps.v[i]); j++)
            if (ps.v[i].grad[j] != first[i][j])
                fail_msg("d/d %s[%zu]: %.9g from the first backward, %.9g from the second",
                         ps.v[i].decl->name, j, first[i][j], ps.v[i].grad[j]);
        free(first[i]);
    }
    for (int j = 0; j < 8; j++)
        for (int l = 0; l < 8; l++)
            free(data[j][l]);
    free(w);
    wf_prog_free(p);
    wf_params_free(&ps);
    wf_patch_free(pt);
    wf_diags_free(&d);
}

static void test_lanes_gradients(void **state)
{
    (void)state;
    /* voices of notes sharing amplitudes and an envelope, summed by the out */
    check_lanes("frames 500 hz\ninput n = \"x.mid\"\nparam a[3] = [0.5, 0.3, 0.2]\n"
                "param rel = 0.004\nparam k = 0.7\n"
                "out harmonic(n.freq * k, a) * adsr(attack: 2 ms, release: rel, gate: n.gate) * n.vel\n",
                1, 3);
    /* batch items: a lane per item, params shared by every item */
    check_lanes("input x = target\nparam g = 0.5\nparam t = 0.002\n"
                "out delay(x, t, max: 0.01) * g + tanh(x * g)\n", 3, 1);
    /* items and voices: each item hears every voice, and lanes_mean in a patch */
    check_lanes("frames 500 hz\ninput x = target\ninput n = \"x.mid\"\nparam g = 0.4\nparam b[2] = [1, 0.5]\n"
                "v = mix(sine(n.freq * [1, 2]) * b) * n.gate\n"
                "out x * g + lanes_mean(v * g) + x * lanes_sum(n.vel) * 0.1\n", 2, 2);
}

/* Gradients through feedback loops (runtime/loop.c): exact, so finite
 * differences agree in float64, whether the loop's step is one sample or
 * many, with delays inside the loop that do not cut it, several channels,
 * a lane per batch item and per voice. */
static void test_feedback_gradients(void **state)
{
    (void)state;
    check_lanes("param g = 0.7 in [0, 0.95]\nparam t = 0.003 in [0.002, 0.004]\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * delay(y, t, max: 0.01)\nout y\n",
                1, 1);
    check_lanes("param g = 0.6 in [0, 0.95]\nparam c = 0.3\nparam a = 0.4\n"
                "param t = 0.003 in [0.002, 0.004]\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * tanh(delay(z, t, max: 0.01) + c * delay(y, 1 / 8000, max: 0.001))\n"
                "z = a * y + (1 - a) * delay(y, 0.5 / 8000, max: 0.001)\nout y\n",
                1, 1);
    check_lanes("param g[2] = [0.5, 0.7] in [0, 0.95]\n"
                "x = noise(seed: 4) * line(from: 1, to: 0, time: 0.002)\n"
                "y = [x, 0] + g * delay(pick(y, [1, 0]), [0.0021, 0.0034], max: 0.01)\nout y\n",
                1, 1);
    check_lanes("param g = 0.7 in [0, 0.95]\nparam f = 900\nparam t = 0.003 in [0.002, 0.004]\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * onepole(delay(y, t, max: 0.01, interp: allpass), f)\nout y\n",
                1, 1);
    check_lanes("param g = 0.7 in [0, 0.95]\nparam f = 900\nparam q = 3\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * svf(delay(y, 0.0031, max: 0.01), f, q: q, mode: bp)\nout y\n",
                1, 1);
    check_lanes("param g = 0.7 in [0, 0.95]\nparam f = 900\nparam q = 2\nparam v = 4\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * biquad(delay(y, 0.0031, max: 0.01), kind: peak,"
                " freq: f * (1 + 0.2 * sine(40 hz)), q: q, gain: v)\nout y\n",
                1, 1);
    check_lanes("param g = 0.6 in [0, 0.9]\nparam b[3] = [0.3, 0.2, 0.1]\n"
                "param a[3] = [1, -0.4, 0.1]\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * iir(delay(y, 0.0031, max: 0.01), b, a * [1, 1 + 0.2 * sine(40 hz), 1])"
                "\nout y\n",
                1, 1);
    check_lanes("param g = 0.6 in [0, 0.9]\n"
                "param s[12] = [0.3, 0.2, 0.1, 1, -0.4, 0.1, 0.5, -0.2, 0.3, 1, 0.3, 0.2]\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * sos(delay(y, 0.0031, max: 0.01), s)\nout y\n",
                1, 1);
    check_lanes("param g = 0.6 in [0, 0.9]\nparam v[3] = [3, -4, 2]\n"
                "param f[3] = [300, 1000, 2500]\nparam q[3] = [0.7, 1.5, 0.7]\n"
                "x = noise(seed: 2) * line(from: 1, to: 0, time: 0.003)\n"
                "y = x + g * eq(delay(y, 0.0031, max: 0.01), gain: v, freq: f * [1, 1 + 0.2 * "
                "sine(40 hz), 1], q: q)\nout y\n",
                1, 1);
    check_lanes("input x = target\nparam g = 0.5 in [0, 0.9]\nparam k = 0.8\n"
                "y = x * k + g * delay(y, 0.0025, max: 0.01)\nout y\n",
                3, 1);
    check_lanes("frames 500 hz\ninput n = \"x.mid\"\nparam g = 0.5 in [0, 0.9]\n"
                "param t = 0.003 in [0.002, 0.004]\n"
                "y = sine(n.freq) * n.gate + g * delay(y, t, max: 0.01)\nout y\n",
                1, 3);
}

/* The registry's check runs biquad's default kind only: every RBJ kind here,
 * with constant, per-frame and audio-rate freq, q and gain. */
static void test_biquad_kinds_gradients(void **state)
{
    (void)state;
    static const char *const kinds[] = {"lowpass", "highpass",  "bandpass", "notch",
                                        "peak",    "lowshelf", "highshelf", "allpass"};
    static const char *const forms[] = {
        "param f = 900\nparam q = 0.9\nparam g = 4\n"
        "out biquad(noise(seed: 3), kind: %s, freq: f, q: q, gain: g)\n",
        "frames 500 hz\nparam f[1] = 900 per frame\nparam q[1] = 0.9 per frame\n"
        "param g[1] = 4 per frame\nout biquad(noise(seed: 3), kind: %s, freq: f, q: q, gain: g)\n",
        "param f = 900\nparam q = 0.9\nparam g = 4\n"
        "out biquad(noise(seed: 3, channels: 2), kind: %s, freq: f * (1 + [0.3, 0.2] * sine(50 hz)),"
        " q: q * (1 + 0.2 * sine(70 hz)), gain: g * sine(30 hz))\n",
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
            char text[512];
            snprintf(text, sizeof text, forms[f], kinds[k]);
            check_lanes(text, 1, 1);
        }
}

/* The registry's check runs the chorus with one voice: several here, and
 * the flanger on two channels, with constant, per-frame and audio-rate
 * params (the modulated delays of stdlib/modfx.c). */
static void test_modfx_gradients(void **state)
{
    (void)state;
    check_lanes("param r = 30\nparam dp = 0.001\nparam dl = 0.006\nparam m = 0.6\n"
                "out chorus(noise(seed: 3), rate: r, depth: dp, delay: dl, mix: m, voices: 3)\n",
                1, 1);
    check_lanes("frames 500 hz\nparam r[1] = 30 per frame\nparam dp[1] = 0.001 per frame\n"
                "param dl[1] = 0.006 per frame\nparam m[1] = 0.6 per frame\n"
                "out chorus(noise(seed: 3, channels: 2), rate: r, depth: dp, delay: dl, mix: m,"
                " voices: 4)\n",
                1, 1);
    check_lanes("param r = 25\nparam dp = 0.001\nparam dl = 0.005\nparam fb = 0.6\nparam m = 0.7\n"
                "out flanger(noise(seed: 4, channels: 2), rate: r * (1 + 0.2 * sine(40 hz)),"
                " depth: dp, delay: dl * [1, 1.3], feedback: fb * (1 + 0.1 * sine(70 hz)), mix: m)\n",
                1, 1);
}

/* The registry's check sees eq only with time-varying bands (a constant
 * one-channel band is refused: an eq needs two): here constant bands (the
 * SIMD cascade's backward) of 6 and 3 bands, and per-frame ones. */
static void test_eq_gradients(void **state)
{
    (void)state;
    check_lanes("param g[6] = [3, -4, 5, -2, 4, -3]\nparam f[6] = [150, 400, 900, 1500, 2500, 1800]\n"
                "param q[6] = [0.7, 1.2, 2, 0.8, 3, 0.9]\nout eq(noise(seed: 3, channels: 2), gain: g, freq: f, q: q)\n",
                1, 1);
    check_lanes("param g[3] = [3, -4, 5]\nparam f[3] = [150, 900, 2500]\nparam q = 0.8\n"
                "out eq(noise(seed: 3), gain: g, freq: f, q: q)\n",
                1, 1);
    check_lanes("frames 500 hz\nparam g[4] = [3, -4, 5, -2] per frame\nparam f[4] = [150, 900, 1500, 2500] per frame\n"
                "param q[4] = [0.7, 1.2, 2, 0.9]\nout eq(noise(seed: 3), gain: g, freq: f, q: q)\n",
                1, 1);
}

/* The registry's check runs distortion's default curve only: every curve,
 * with a constant and a per-frame drive, driven past the rails (|u| up to
 * 1.27, so the soft and hard curves' flat parts pass no gradient; no
 * sample lies within a finite-difference step of the corners at |u| = 1). */
static void test_distortion_kinds_gradients(void **state)
{
    (void)state;
    static const char *const kinds[] = {"tanh", "soft", "hard", "asym"};
    static const char *const forms[] = {
        "param d = 3\nparam a = 0.9\nout distortion(a * sine(100 hz), drive: d, kind: %s)\n",
        "frames 500 hz\nparam d[1] = 3 per frame\nparam a = 0.9\n"
        "out distortion(a * sine(100 hz), drive: d, kind: %s)\n",
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
            char text[512];
            snprintf(text, sizeof text, forms[f], kinds[k]);
            check_lanes(text, 1, 1);
        }
}

/* The registry's check sees the neural layers at their smallest (a GRU of
 * one unit, dense and conv1d of one input channel): here real widths, a
 * stack as the DDSP decoder builds it, conv1d's two paddings with three
 * taps, and a GRU over two batch items whose frames come from the target. */
static void test_nn_gradients(void **state)
{
    (void)state;
    check_lanes("param x[3] = [0.3, -0.5, 0.8] per frame\nparam w[3, 4] = uniform(seed: 1)\n"
                "param b[4] = [0.1, -0.2, 0.3, 0]\nparam g[4] = [1.2, 0.8, 1, 0.9]\n"
                "param c[4] = [0.1, 0, -0.1, 0.2]\nparam v[4, 2] = xavier(seed: 2)\n"
                "h = layernorm(dense(x * (1 + 0.5 * downsample(sine(300 hz))), w, b), g, c)\n"
                "out mix(softmax(dense(gelu(h) + leaky_relu(h, slope: 0.2) + relu(h), v)) * [1, -2])\n",
                1, 1);
    static const char *const pads[] = {"causal", "centred"};
    for (int i = 0; i < 2; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "param w[6, 3] = uniform(seed: 3)\nparam b[3] = [0.1, -0.2, 0.3]\n"
                 "x = downsample([sine(300 hz), sine(170 hz) * 0.5])\n"
                 "out mix(tanh(conv1d(x, w, b, padding: %s)))\n", pads[i]);
        check_lanes(text, 1, 1);
    }
    check_lanes("input x = target\nparam wi[2, 9] = uniform(seed: 4)\nparam wh[3, 9] = uniform(seed: 5)\n"
                "param bi[9] = uniform(lo: -0.5, hi: 0.5, seed: 6)\nparam bh[9] = uniform(lo: -0.5, hi: 0.5, seed: 7)\n"
                "f = downsample([x, x * x]) * 4\nout mix(gru(f, wi, wh, bi, bh) * [1, 0.5, -1])\n",
                2, 1);
}

int main(void)
{
    struct CMUnitTest tests[WF_NODE_COUNT + 7];
    static char names[WF_NODE_COUNT][64];
    for (int i = 0; i < WF_NODE_COUNT; i++) {
        snprintf(names[i], sizeof names[i], "gradient of %s", wf_registry[i]->name);
        tests[i] = (struct CMUnitTest){names[i], test_kind, NULL, NULL, (void *)(intptr_t)i};
    }
    tests[WF_NODE_COUNT] = (struct CMUnitTest){"gradients through lanes", test_lanes_gradients, NULL, NULL, NULL};
    tests[WF_NODE_COUNT + 1] = (struct CMUnitTest){"gradients of every biquad kind", test_biquad_kinds_gradients, NULL, NULL, NULL};
    tests[WF_NODE_COUNT + 2] = (struct CMUnitTest){"gradients through feedback loops", test_feedback_gradients, NULL, NULL, NULL};
    tests[WF_NODE_COUNT + 3] = (struct CMUnitTest){"gradients of modulated delays", test_modfx_gradients, NULL, NULL, NULL};
    tests[WF_NODE_COUNT + 4] = (struct CMUnitTest){"gradients of eq's constant and per-frame bands", test_eq_gradients, NULL, NULL, NULL};
    tests[WF_NODE_COUNT + 5] = (struct CMUnitTest){"gradients of every distortion curve", test_distortion_kinds_gradients, NULL, NULL, NULL};
    tests[WF_NODE_COUNT + 6] = (struct CMUnitTest){"gradients of the neural layers at real widths", test_nn_gradients, NULL, NULL, NULL};
    return _cmocka_run_group_tests("gradients", tests, WF_NODE_COUNT + 7, NULL, NULL);
}
