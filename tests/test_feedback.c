/* Feedback loops in patches (lang/compile_loops.c, runtime/loop.c): what the
 * compiler makes of a binding that refers to itself, the loop's samples
 * against recursions computed here in double and against the same loop
 * unrolled by hand, streams against whole passes, and loops of several
 * channels, bindings and outputs. Their gradients are checked in
 * test_gradients. */
#include <math.h>
#include <stdio.h>

#include "render.h"

#define N 4000

/* The noise burst every loop here is excited with, as its patch line and
 * rendered on its own. */
static const char *const burst = "x = noise(seed: 5) * line(from: 1, to: 0, time: 0.004)\n";

static wf_real *render_burst(void)
{
    char text[256];
    snprintf(text, sizeof text, "rate 8000\n%sout x\n", burst);
    wf_run r;
    const wf_real *y = wf_run_whole(&r, text, N);
    wf_real *x = wf_xmalloc(sizeof(wf_real) * N);
    memcpy(x, y, sizeof(wf_real) * N);
    wf_run_close(&r);
    return x;
}

static int count_kind(const wf_graph *g, const wf_node_kind *k)
{
    int n = 0;
    for (int i = 0; i < g->n; i++)
        n += g->nodes[i].kind == k;
    return n;
}

/* y[n] = x[n] + g y(n - D): a whole and a fractional delay, against the
 * recursion with the delay's linear interpolation. */
static void test_feedback_comb(void **state)
{
    (void)state;
    wf_real *x = render_burst();
    static const double delays[] = {25, 37.25, 1};
    for (size_t c = 0; c < sizeof delays / sizeof delays[0]; c++) {
        double D = delays[c], g = 0.7;
        char text[512];
        snprintf(text, sizeof text, "rate 8000\n%sy = x + %g * delay(y, %.17g / 8000)\nout y\n",
                 burst, g, D);
        wf_run r;
        const wf_real *y = wf_run_whole(&r, text, N);
        assert_int_equal(count_kind(r.patch->g, &wf_kind_loop), 1);
        double *ref = calloc(N, sizeof(double));
        int i = (int)floor(D);
        double u = D - i;
        for (int n = 0; n < N; n++) {
            double a = n - i >= 0 ? ref[n - i] : 0, b = n - i - 1 >= 0 ? ref[n - i - 1] : 0;
            ref[n] = x[n] + g * (a + (b - a) * u);
        }
        double err = 0;
        for (int n = 0; n < N; n++)
            err = fmax(err, fabs(y[n] - ref[n]));
        if (err > 1e-5)
            fail_msg("delay %g: largest difference from the recursion %g", D, err);
        free(ref);
        wf_run_close(&r);
    }
    free(x);
}

/* A damped echo, onepole inside the loop (its backward runs in steps) and
 * the allpass read: against the recursions in double (stdlib/onepole.c's
 * TPT one-pole, stdlib/delay.c's allpass). */
static void test_feedback_filters(void **state)
{
    (void)state;
    wf_real *x = render_burst();
    const double D = 37.3, g = 0.8, f = 900, sr = 8000;
    char text[512];
    snprintf(text, sizeof text,
             "rate 8000\n%sy = x + %g * onepole(delay(y, %.17g / 8000, interp: allpass), %g)\n"
             "out y\n",
             burst, g, D, f);
    wf_run r;
    const wf_real *y = wf_run_whole(&r, text, N);
    double *ref = calloc(N, sizeof(double)), ap = 0, s = 0;
    double tg = tan(3.14159265358979323846 * f / sr), G = tg / (1 + tg);
    int Ni = (int)floor(D - 0.5);
    double u = D - Ni, c = (1 - u) / (1 + u);
    for (int n = 0; n < N; n++) {
        double a = n - Ni >= 0 ? ref[n - Ni] : 0, b = n - Ni - 1 >= 0 ? ref[n - Ni - 1] : 0;
        ap = c * a + b - c * ap;
        double lp = G * ap + (1 - G) * s;
        s = 2 * lp - s;
        ref[n] = x[n] + g * lp;
    }
    double err = 0;
    for (int n = 0; n < N; n++)
        err = fmax(err, fabs(y[n] - ref[n]));
    if (err > 1e-5)
        fail_msg("largest difference from the recursion %g", err);
    free(ref);
    wf_run_close(&r);
    free(x);
}

/* One sample u through the cascade of second-order sections sec [ns][6]
 * (b0 b1 b2 a0 a1 a2), in transposed direct form II in double; st [ns][2]. */
static double sections(const double (*sec)[6], int ns, double u, double (*st)[2])
{
    for (int j = 0; j < ns; j++) {
        const double *q = sec[j];
        double y = q[0] / q[3] * u + st[j][0];
        st[j][0] = (q[1] * u - q[4] * y) / q[3] + st[j][1];
        st[j][1] = (q[2] * u - q[5] * y) / q[3];
        u = y;
    }
    return u;
}

/* iir, sos and eq inside a loop (their backward runs in steps like
 * biquad's): iir of order 2 and sos of two sections against the recursions
 * in double, eq against the same loop through three biquads. */
static void test_feedback_iir(void **state)
{
    (void)state;
    wf_real *x = render_burst();
    static const double sec[2][6] = {{0.3, 0.2, 0.1, 1.1, -0.4, 0.1}, {0.5, -0.2, 0.3, 1, 0.3, 0.2}};
    static const char *const loops[] = {
        "y = x + 0.6 * iir(delay(y, 29 / 8000), [0.3, 0.2, 0.1], [1.1, -0.4, 0.1])\nout y\n",
        "y = x + 0.6 * sos(delay(y, 29 / 8000), [0.3, 0.2, 0.1, 1.1, -0.4, 0.1, "
        "0.5, -0.2, 0.3, 1, 0.3, 0.2])\nout y\n",
    };
    for (int l = 0; l < 2; l++) {
        char text[512];
        snprintf(text, sizeof text, "rate 8000\n%s%s", burst, loops[l]);
        wf_run r;
        const wf_real *y = wf_run_whole(&r, text, N);
        assert_int_equal(count_kind(r.patch->g, &wf_kind_loop), 1);
        double *ref = calloc(N, sizeof(double)), st[2][2] = {{0}};
        double err = 0;
        for (int n = 0; n < N; n++) {
            ref[n] = x[n] + 0.6 * sections(sec, l + 1, n >= 29 ? ref[n - 29] : 0, st);
            err = fmax(err, fabs(y[n] - ref[n]));
        }
        if (err > 1e-5)
            fail_msg("%s: largest difference from the recursion %g", loops[l], err);
        free(ref);
        wf_run_close(&r);
    }
    char a[512], b[768];
    snprintf(a, sizeof a,
             "rate 8000\n%sy = x + 0.7 * eq(delay(y, 0.0041), gain: [3, -4, 2], "
             "freq: [300, 1000, 2500], q: [0.7, 1.5, 0.7])\nout y\n",
             burst);
    snprintf(b, sizeof b,
             "rate 8000\n%sy = x + 0.7 * biquad(biquad(biquad(delay(y, 0.0041), kind: lowshelf, "
             "freq: 300, q: 0.7, gain: 3), kind: peak, freq: 1000, q: 1.5, gain: -4), "
             "kind: highshelf, freq: 2500, q: 0.7, gain: 2)\nout y\n",
             burst);
    wf_run ra, rb;
    const wf_real *ya = wf_run_whole(&ra, a, N), *yb = wf_run_whole(&rb, b, N);
    double err = 0, e = 0;
    for (int n = 0; n < N; n++) {
        err = fmax(err, fabs(ya[n] - yb[n]));
        e += yb[n] * yb[n];
    }
    if (err > 1e-5 || !(e > 0.1))
        fail_msg("eq against three biquads: largest difference %g (energy %g)", err, e);
    wf_run_close(&ra);
    wf_run_close(&rb);
    free(x);
}

/* Within three round trips the loop is the sum of its first three echoes,
 * written out by hand. */
static void test_feedback_unrolled(void **state)
{
    (void)state;
    const int n = 3 * 40;
    char loop[512], unrolled[512];
    snprintf(loop, sizeof loop, "rate 8000\n%sy = x + 0.6 * tanh(delay(y, 40 / 8000))\nout y\n",
             burst);
    snprintf(unrolled, sizeof unrolled,
             "rate 8000\n%sd1 = x + 0.6 * tanh(delay(x, 40 / 8000))\n"
             "d2 = x + 0.6 * tanh(delay(d1, 40 / 8000))\nout d2\n",
             burst);
    wf_run a, b;
    const wf_real *ya = wf_run_whole(&a, loop, n), *yb = wf_run_whole(&b, unrolled, n);
    for (int t = 0; t < n; t++)
        if (fabs(ya[t] - yb[t]) > 1e-6)
            fail_msg("sample %d: loop %.9g, unrolled %.9g", t, ya[t], yb[t]);
    wf_run_close(&a);
    wf_run_close(&b);
}

/* Streams of any block length give the whole pass's samples exactly: a
 * block edge only splits a step (delays alone, and filters inside). */
static void test_feedback_stream(void **state)
{
    (void)state;
    static const char *const loops[] = {
        "param g = 0.8 in [0, 0.95]\ny = x + g * delay(z, 0.0031, max: 0.01)\n"
        "z = 0.5 * y + 0.5 * delay(y, 1 / 8000)\nout y * 0.5\n",
        "y = x + 0.7 * svf(onepole(delay(y, 0.0043, interp: allpass), 2000), 700, q: 2)\nout y\n",
        "y = x + 0.8 * biquad(delay(y, 0.0051), kind: peak, freq: 900 * (1 + 0.3 * sine(5)),"
        " q: 2, gain: 4)\nout y\n",
        "y = x + 0.6 * iir(delay(y, 0.0036), [0.3, 0.2, 0.1], [1, -0.4 * (1 + 0.3 * sine(7)), 0.1])"
        "\nout y\n",
        "y = x + 0.7 * sos(delay(y, 0.0041), [0.2, 0.3, 0.2, 1, -0.3, 0.1, 1, -0.5, 0.3, 1, 0.2, "
        "0.05])\nout y\n",
        "y = x + 0.7 * eq(delay(y, 0.0047), gain: [3, -4, 2], freq: [300, 1000 * (1 + 0.2 * "
        "sine(5)), 2500], q: [0.7, 1.5, 0.7])\nout y\n",
    };
    for (size_t l = 0; l < sizeof loops / sizeof loops[0]; l++) {
        char text[768];
        snprintf(text, sizeof text, "rate 8000\n%s%s", burst, loops[l]);
        wf_run w;
        const wf_real *whole = wf_run_whole(&w, text, N);
        static const int blocks[] = {32, 96, 992, 4096};
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            wf_run s;
            wf_run_open(&s, text, N, WF_RUN_STREAM, blocks[b]);
            wf_real *y = wf_run_collect(&s, blocks[b]);
            for (int t = 0; t < N; t++)
                if (y[t] != whole[t])
                    fail_msg("loop %zu, block %d, sample %d: stream %.9g, whole %.9g", l,
                             blocks[b], t, y[t], whole[t]);
            free(y);
            wf_run_close(&s);
        }
        wf_run_close(&w);
    }
}

/* A stereo ping-pong (each side feeds the other): the loop's two channels
 * are found on a second look (the first assumes one), against the
 * recursion. */
static void test_feedback_stereo(void **state)
{
    (void)state;
    wf_real *x = render_burst();
    char text[512];
    snprintf(text, sizeof text,
             "rate 8000\n%sy = [x, 0] + [0.5, 0.6] * delay(pick(y, [1, 0]), [0.003, 0.005])\n"
             "out y\n",
             burst);
    wf_run r;
    const wf_real *y = wf_run_whole(&r, text, N);
    assert_int_equal(r.chans, 2);
    double *ref = calloc(2 * N, sizeof(double));
    for (int n = 0; n < N; n++) {
        ref[2 * n] = x[n] + (n >= 24 ? 0.5 * ref[2 * (n - 24) + 1] : 0);
        ref[2 * n + 1] = n >= 40 ? 0.6 * ref[2 * (n - 40)] : 0;
    }
    double err = 0;
    for (int n = 0; n < 2 * N; n++)
        err = fmax(err, fabs(y[n] - ref[n]));
    if (err > 1e-5)
        fail_msg("largest difference from the recursion %g", err);
    free(ref);
    wf_run_close(&r);
    free(x);
}

/* Two bindings on the way round, a node of the loop read from outside
 * (the loop then has two outputs), and a second loop fed by the first: two
 * loop nodes, against the recursions. */
static void test_feedback_bindings(void **state)
{
    (void)state;
    wf_real *x = render_burst();
    char text[768];
    snprintf(text, sizeof text,
             "rate 8000\n%sa = x + 0.5 * b\nb = delay(a, 30 / 8000)\n"
             "c = b + 0.25 * delay(c, 11 / 8000)\nout [a, b, c]\n",
             burst);
    wf_run r;
    const wf_real *y = wf_run_whole(&r, text, N);
    assert_int_equal(count_kind(r.patch->g, &wf_kind_loop), 2);
    double *a = calloc(N, sizeof(double)), *b = calloc(N, sizeof(double)),
           *c = calloc(N, sizeof(double));
    for (int n = 0; n < N; n++) {
        b[n] = n >= 30 ? a[n - 30] : 0;
        a[n] = x[n] + 0.5 * b[n];
        c[n] = b[n] + (n >= 11 ? 0.25 * c[n - 11] : 0);
    }
    double err = 0;
    for (int n = 0; n < N; n++)
        err = fmax(err, fmax(fabs(y[3 * n] - a[n]),
                             fmax(fabs(y[3 * n + 1] - b[n]), fabs(y[3 * n + 2] - c[n]))));
    if (err > 1e-5)
        fail_msg("largest difference from the recursions %g", err);
    free(a);
    free(b);
    free(c);
    wf_run_close(&r);
    free(x);
}

/* Frames of one voice of notes (freq, gate, vel, onset at 250 Hz): a note
 * held for 20 frames. */
static wf_real *voice_frames(int v, int frames)
{
    wf_real *f = wf_xcalloc((size_t)frames * 4, sizeof(wf_real));
    for (int i = 0; i < frames; i++) {
        f[4 * i] = 200 + 90 * v;
        f[4 * i + 1] = i < 20;
        f[4 * i + 2] = 1;
        f[4 * i + 3] = i == 0;
    }
    return f;
}

/* A loop inside a def is a loop per call; a loop fed by notes runs a lane
 * per voice, so a chord is the sum of its voices played alone. */
static void test_feedback_defs_and_voices(void **state)
{
    (void)state;
    const char *text = "rate 8000\nframes 250 hz\n"
                       "def echo(s, t) {\n  y = s + 0.5 * delay(y, t)\n  return y\n}\n"
                       "input n = \"x.mid\"\n"
                       "out echo(sine(n.freq) * n.gate, 0.01) + echo(noise(seed: 1), 0.02) * 0.1\n";
    enum { V = 3 };
    int voices[1] = {V}, one[1] = {1}, frames = N / 32;
    wf_real *fr[V];
    for (int v = 0; v < V; v++)
        fr[v] = voice_frames(v, frames);
    wf_run r;
    wf_run_open_voices(&r, text, N, WF_RUN_WHOLE, 0, voices);
    const wf_graph *g = r.patch->g;
    int loops = 0, voiced = 0;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].kind == &wf_kind_loop) {
            loops++;
            voiced += g->nodes[i].shape.lanes != 0;
        }
    assert_int_equal(loops, 2);
    assert_int_equal(voiced, 1);
    for (int v = 0; v < V; v++)
        wf_prog_set_input(r.prog, 0, v, fr[v]);
    const wf_real *chord = wf_prog_forward(r.prog);
    double *sum = calloc(N, sizeof(double));
    for (int v = 0; v < V; v++) {
        wf_run s;
        wf_run_open_voices(&s, text, N, WF_RUN_WHOLE, 0, one);
        wf_prog_set_input(s.prog, 0, 0, fr[v]);
        const wf_real *y = wf_prog_forward(s.prog);
        for (int t = 0; t < N; t++)
            sum[t] += y[t];
        wf_run_close(&s);
    }
    /* the noise's echo is one lane that every voice adds to itself */
    double err = 0, e = 0;
    for (int t = 0; t < N; t++) {
        err = fmax(err, fabs(chord[t] - sum[t]));
        e += sum[t] * sum[t];
    }
    if (err > 1e-4 || !(e > 1))
        fail_msg("chord against its voices: largest difference %g (energy %g)", err, e);
    free(sum);
    for (int v = 0; v < V; v++)
        free(fr[v]);
    wf_run_close(&r);
}

/* A delay set shorter than the loop's step (a param outside its bounds)
 * would read what the loop has not computed: it is raised to the step and
 * reported as a fault of the loop. */
static void test_feedback_short_delay(void **state)
{
    (void)state;
    char text[512];
    snprintf(text, sizeof text,
             "rate 8000\n%sparam t = 0.003 in [0.002, 0.004]\ny = x + 0.6 * delay(y, t)\nout y\n",
             burst);
    wf_run a, b;
    wf_run_open(&a, text, N, WF_RUN_WHOLE, 0);
    wf_run_param(&a, "t")->value[0] = 0.001;
    const wf_real *ya = wf_prog_forward(a.prog);
    double when;
    const char *what;
    int node = wf_prog_fault(a.prog, &when, &what);
    assert_true(node >= 0);
    assert_ptr_equal(a.patch->g->nodes[node].kind, &wf_kind_loop);
    assert_non_null(strstr(what, "under its loop's step of 16"));
    wf_run_open(&b, text, N, WF_RUN_WHOLE, 0);
    wf_run_param(&b, "t")->value[0] = 0.002;
    const wf_real *yb = wf_prog_forward(b.prog);
    assert_true(wf_prog_fault(b.prog, &when, &what) < 0);
    for (int t = 0; t < N; t++)
        if (fabs(ya[t] - yb[t]) > 1e-5)
            fail_msg("sample %d: %.9g raised to the step, %.9g at it", t, ya[t], yb[t]);
    wf_run_close(&a);
    wf_run_close(&b);
}

/* What the compiler refuses, and where it says so. */
static void expect(const char *text, const char *code, int line, int col)
{
    wf_diags d = {0};
    wf_patch *p = wf_compile_text("t.weft", text, NULL, &d);
    if (p || d.n < 1 || strcmp(wf_diag_code_name(d.v[0].code), code) != 0 ||
        d.v[0].loc.line != line || d.v[0].loc.col != col) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        fail_msg("want %s at %d:%d for:\n%s", code, line, col, text);
    }
    wf_diags_free(&d);
}

static void test_feedback_refused(void **state)
{
    (void)state;
    /* no delay, a delay of unknown length (an unbounded param), a delay
     * inside the loop of an outside signal, an oscillator (its phase is
     * state that does not run in steps) */
    expect("y = noise() + 0.5 * y\nout y\n", "cycle", 1, 21);
    expect("param t = 0.01\ny = noise() + 0.5 * delay(y, t)\nout y\n", "cycle", 2, 27);
    expect("y = noise() + 0.5 * delay(noise(), y * 0.01 + 0.02)\nout y\n", "feedback-node",
           1, 21);
    expect("y = noise() + 0.5 * sine(300 + 100 * delay(y, 0.01))\nout y\n", "feedback-node", 1,
           21);
    /* a bounded param is a delay of known length */
    wf_diags d = {0};
    wf_patch *p = wf_compile_text(
        "t.weft", "param t = 0.01 in [0.005, 0.02]\ny = noise() + 0.5 * delay(y, t)\nout y\n", NULL,
        &d);
    if (!p)
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
    assert_non_null(p);
    wf_patch_free(p);
    wf_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feedback_comb),       cmocka_unit_test(test_feedback_filters),
        cmocka_unit_test(test_feedback_iir),        cmocka_unit_test(test_feedback_unrolled),
        cmocka_unit_test(test_feedback_stream),     cmocka_unit_test(test_feedback_stereo),
        cmocka_unit_test(test_feedback_bindings),   cmocka_unit_test(test_feedback_defs_and_voices),
        cmocka_unit_test(test_feedback_short_delay), cmocka_unit_test(test_feedback_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
