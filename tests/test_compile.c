/* Tests of the compiler (lang/compile.c) through wf_compile_text: every
 * compile error with its code, line, column and composed hint, one error per
 * mistake, and a patch for every code the compiler reports; then what a good
 * patch compiles to: units, constant folding, def expansion, modules, the
 * rates and channels inferred for each node, pruning, warnings, and the
 * diagnostics printed as text and as JSON. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lang/compile.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

static wf_patch *compile(const char *text, wf_diags *d)
{
    return wf_compile_text("t.weft", text, NULL, d);
}

static const char *code_of(const wf_diagnostic *g)
{
    return wf_diag_code_name(g->code);
}

/* text must fail to compile with exactly this one error: its code, where it
 * points and, unless hint is NULL, its hint (only the hints the compiler
 * composes, such as "did you mean", are worth checking). */
static void expect_error(const char *text, const char *code, int line, int col, const char *hint)
{
    wf_diags d = {0};
    wf_patch *p = compile(text, &d);
    if (p || d.n != 1 || d.errors != 1) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        fail_msg("%s: want one error, got %d diagnostics and %s", text, d.n,
                 p ? "a patch" : "no patch");
    }
    assert_string_equal(code_of(&d.v[0]), code);
    assert_non_null(d.v[0].loc.src);
    assert_int_equal(d.v[0].loc.line, line);
    assert_int_equal(d.v[0].loc.col, col);
    if (hint)
        assert_string_equal(d.v[0].hint ? d.v[0].hint : "(no hint)", hint);
    wf_diags_free(&d);
}

/* text must compile with no diagnostics at all. */
static wf_patch *compile_ok(const char *text)
{
    wf_diags d = {0};
    wf_patch *p = compile(text, &d);
    if (!p || d.n) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        fail_msg("%s: did not compile cleanly", text);
    }
    wf_diags_free(&d);
    return p;
}

static int count_kind(const wf_graph *g, int kind)
{
    int n = 0;
    for (int i = 0; i < g->n; i++)
        n += g->nodes[i].kind == wf_registry[kind];
    return n;
}

static const wf_gnode *out_node(const wf_patch *p)
{
    assert_true(p->g->out >= 0 && p->g->out < p->g->n);
    return &p->g->nodes[p->g->out];
}

static const wf_gnode *input_of(const wf_patch *p, const wf_gnode *n, int i)
{
    assert_true(i < n->nin);
    return &p->g->nodes[n->in[i]];
}

/* The values of a patch whose out is a constant: out = upsample(const). */
static const wf_opt *out_constant(const wf_patch *p)
{
    const wf_gnode *o = out_node(p);
    assert_ptr_equal(o->kind, &wf_kind_upsample);
    const wf_gnode *k = input_of(p, o, 0);
    assert_ptr_equal(k->kind, &wf_kind_const);
    return &k->opt[0];
}

static void expect_shape(const wf_gnode *n, int kind, wf_rate rate, int chans)
{
    if (n->kind != wf_registry[kind])
        fail_msg("node is '%s', want '%s'", n->kind->name, wf_registry[kind]->name);
    assert_int_equal(n->shape.rate, rate);
    assert_int_equal(n->shape.chans, chans);
}

/* ------------------------------------------------------------- calls */

static void test_unknown_node(void **state)
{
    (void)state;
    expect_error("out sinee(440)\n", "unknown-node", 1, 5, "did you mean 'sine'?");
    expect_error("x = 1\nout zzzzzz(1)\n", "unknown-node", 2, 5, NULL);
    /* defs are candidates too */
    expect_error("def voice(f) { return sine(f) }\nout voise(220)\n",
                 "unknown-node", 2, 5, "did you mean 'voice'?");
    /* internal kinds are not callable by name */
    expect_error("out const(1)\n", "unknown-node", 1, 5, "did you mean 'cos'?");
}

static void test_too_many_arguments(void **state)
{
    (void)state;
    expect_error("out sine(440, 0, 3)\n", "too-many-arguments", 1, 18, NULL);
    expect_error("def f(x) { return x }\nout f(1, 2)\n", "too-many-arguments", 2, 10, NULL);
}

static void test_unknown_argument_name(void **state)
{
    (void)state;
    expect_error("out sine(440, phse: 1)\n", "unknown-argument", 1, 15, "did you mean 'phase'?");
    expect_error("out sine(440, colour: 1)\n", "unknown-argument", 1, 15, NULL);
    expect_error("def f(gain) { return gain }\nout f(gian: 1)\n",
                 "unknown-argument", 2, 7, "did you mean 'gain'?");
    /* a word out of a list: the nearest choice, else all of them */
    expect_error("out svf(noise(), 1000, mode: lpp)\n", "unknown-word", 1, 30, "did you mean 'lp'?");
    expect_error("out svf(noise(), 1000, mode: lowpass)\n", "unknown-word", 1, 30,
                 "one of: lp, bp, hp, notch, peak");
}

static void test_repeated_argument(void **state)
{
    (void)state;
    expect_error("out sine(440, freq: 1)\n", "repeated-argument", 1, 15, NULL);
    expect_error("out sine(phase: 1, freq: 2, phase: 3)\n", "repeated-argument", 1, 29, NULL);
}

static void test_missing_argument(void **state)
{
    (void)state;
    expect_error("out sine(phase: 1)\n", "missing-argument", 1, 5, NULL);
    expect_error("def f(x, y = 2) { return x * y }\nout f(y: 1)\n",
                 "missing-argument", 2, 5, NULL);
}

static void test_positional_after_named(void **state)
{
    (void)state;
    expect_error("out sine(phase: 1, 440)\n", "positional-after-named", 1, 20, NULL);
}

static void test_number_arguments(void **state)
{
    (void)state;
    expect_error("out noise(seed: sine(1))\n", "argument-not-constant", 1, 11, NULL);
    expect_error("out noise(channels: 1.5)\n", "argument-not-whole", 1, 11, NULL);
    expect_error("n = 0\nout noise(channels: n)\n", "argument-not-positive", 2, 11, NULL);
    expect_error("out biquad(noise(), kind: lowpas)\n", "unknown-word", 1, 27, "did you mean 'lowpass'?");
    expect_error("out biquad(noise(), kind: 3)\n", "argument-not-word", 1, 27, NULL);
}

static void test_value_or_node(void **state)
{
    (void)state;
    expect_error("out sine(440) + sine\n", "not-a-value", 1, 17, NULL);
    expect_error("x = 1\nout x(2)\n", "not-callable", 2, 5, NULL);
    expect_error("out \"a.wav\"\n", "string-not-signal", 1, 5, NULL);
}

/* ------------------------------------------------------ shapes and rates */

static void test_shape_mismatch_folded(void **state)
{
    (void)state;
    expect_error("out [1, 2] + [1, 2, 3]\n", "constant-shape-mismatch", 1, 12, NULL);
}

static void test_shape_mismatch_signal(void **state)
{
    (void)state;
    expect_error("out sine([1, 2]) * [1, 2, 3]\n", "shape-mismatch", 1, 20, NULL);
    expect_error("out harmonic(sine([1, 2]), [1, 0.5])\n", "not-mono", 1, 14, NULL);
    expect_error("out pick(sine([1, 2]), index: 5)\n", "index-out-of-range", 1, 5, NULL);
    expect_error("out sos(noise(), [1, 0, 0, 1, 0])\n", "bad-sections", 1, 18, NULL);
    expect_error("out fdn(noise(), [0.5, 0.1], [2 ms, 3 ms])\n", "bad-matrix", 1, 18, NULL);
    expect_error("param w[5] = 0\nout dense([1, 2], w)\n", "bad-weights", 2, 19, NULL);
    expect_error("param wi[2, 9] = 0\nparam wh[3, 6] = 0\nout gru(downsample([sine(1), sine(2)]), wi, wh)\n",
                 "bad-weights", 3, 45, NULL);
    expect_error("param w[5] = 0\nparam b[2] = 0\nout conv1d(sine(1), w, b)\n", "bad-weights", 3, 21, NULL);
    /* stereo nodes: at the argument with the wrong channel count */
    expect_error("out width(sine(1), width: 2)\n", "not-stereo", 1, 11,
                 "make it stereo first, with pan(x)");
    expect_error("out width(noise(channels: 3))\n", "not-stereo", 1, 11, NULL);
    expect_error("out width(pan(noise()), width: [1, 2])\n", "not-mono", 1, 25, NULL);
    expect_error("out pan(sine([1, 2]), pos: 0.5)\n", "not-mono", 1, 9,
                 "pan one channel at a time (pick(x, index: 0))");
    expect_error("out pan(noise(), pos: [-1, 1])\n", "not-mono", 1, 18, NULL);
    /* the modulated delays' limits, at the call */
    expect_error("out chorus(noise(), voices: 17)\n", "argument-out-of-range", 1, 5,
                 "a chorus has at most 16 voices");
    expect_error("out flanger(noise(), max: 11)\n", "argument-out-of-range", 1, 5,
                 "a modulated delay holds at most 10 s");
    /* the features' settings, and their audio-rate input */
    expect_error("out loudness(noise(), n_fft: 511)\n", "argument-out-of-range", 1, 5,
                 "an even size from 16 to 65536");
    expect_error("out mfcc(noise(), bands: 10, n: 12)\n", "argument-out-of-range", 1, 5,
                 "at most one coefficient per band");
    expect_error("out melspec(noise(), fmin: 500, fmax: 400)\n", "argument-out-of-range", 1, 5,
                 "fmax must lie above fmin (0: the Nyquist)");
    expect_error("out melspec(noise(), bands: 2000)\n", "argument-out-of-range", 1, 5,
                 "at most 1024 bands");
    expect_error("out rms(downsample(noise()))\n", "not-audio-rate", 1, 9,
                 "features are computed from audio");
}

static void test_rate_mismatch(void **state)
{
    (void)state;
    expect_error("param b = 0 per frame\nout harmonic(440, [1, 2], inharmonicity: b)\n",
                 "rate-mismatch", 2, 27, NULL);
    expect_error("out harmonic(220, [1], inharmonicity: sine(1) * 1e-4)\n",
                 "rate-mismatch", 1, 24, NULL);
    expect_error("out upsample(downsample(1))\n", "not-audio-rate", 1, 25, NULL);
    expect_error("out upsample(sine(1))\n", "already-audio", 1, 14, NULL);
}

/* ------------------------------------------------------------- names */

static void test_undefined_name(void **state)
{
    (void)state;
    expect_error("freq = 3\nout sine(freqq)\n", "undefined-name", 2, 10, "did you mean 'freq'?");
    expect_error("out sine(q)\n", "undefined-name", 1, 10, NULL);
    /* a def's locals are not visible outside it, and a def is no
     * suggestion for a value */
    expect_error("def f(x) {\n  y = x\n  return y\n}\nout f(1) + y\n",
                 "undefined-name", 5, 12, NULL);
    /* nor a value for a call */
    expect_error("voicing = 1\nout voicin(1)\n", "unknown-node", 2, 5, NULL);
}

static void test_duplicate_binding(void **state)
{
    (void)state;
    expect_error("a = 1\na = 2\nout a\n", "duplicate-name", 2, 1, "first defined at t.weft:1:1");
}

static void test_duplicate_binding_and_param(void **state)
{
    (void)state;
    expect_error("param gain = 1\ngain = 2\nout gain\n",
                 "duplicate-name", 2, 1, "first defined at t.weft:1:7");
    expect_error("input rec\nparam rec = 1\nout rec\n",
                 "duplicate-name", 2, 7, "first defined at t.weft:1:7");
}

static void test_duplicate_def_and_binding(void **state)
{
    (void)state;
    expect_error("def f(x) { return x }\nf = 2\nout f(1)\n",
                 "duplicate-name", 2, 1, "first defined at t.weft:1:5");
    expect_error("f = 2\ndef f(x) { return x }\nout f(1)\n",
                 "duplicate-name", 1, 1, "first defined at t.weft:2:5");
    expect_error("def f(x) { return x }\ndef f(y) { return y }\nout f(1)\n",
                 "duplicate-name", 2, 5, "first defined at t.weft:1:5");
    expect_error("def f(x) {\n  x = 2\n  return x\n}\nout f(1)\n",
                 "duplicate-name", 2, 3, "first defined at t.weft:1:7");
    expect_error("def sine(x) { return x }\nout 1\n", "def-hides-node", 1, 5, NULL);
}

static void test_missing_out(void **state)
{
    (void)state;
    expect_error("a = 1\n\nb = 2\n", "missing-out", 3, 1, NULL);
    expect_error("", "missing-out", 1, 1, NULL);
}

static void test_two_outs(void **state)
{
    (void)state;
    expect_error("out 1\nx = 2\nout x\n", "two-outs", 3, 1, "the first is at line 1");
}

static void test_return_outside_def(void **state)
{
    (void)state;
    expect_error("return 1\nout 1\n", "return-outside-def", 1, 1, NULL);
}

/* ------------------------------------------------------------- units */

static void test_bad_unit_setting(void **state)
{
    (void)state;
    expect_error("rate 2 s\nout 1\n", "bad-unit", 1, 6, NULL);
    expect_error("frames 10 ms\nout 1\n", "bad-unit", 1, 8, NULL);
    expect_error("length 3 hz\nout 1\n", "bad-unit", 1, 8, NULL);
    expect_error("rate -6 db\nout 1\n", "bad-unit", 1, 6, NULL);
}

static void test_bad_unit_param(void **state)
{
    (void)state;
    expect_error("param p = 1 in [1 hz, 2 s]\nout p\n", "mixed-units", 1, 23, NULL);
    expect_error("param p = 20 ms in [1 hz, 2 khz]\nout p\n", "mixed-units", 1, 21, NULL);
}

static void test_bad_unit_lexer(void **state)
{
    (void)state;
    expect_error("out sine(2mhz)\n", "unknown-unit", 1, 11, NULL);
}

static void test_bad_settings(void **state)
{
    (void)state;
    expect_error("rate 8000\nrate 16000\nout 1\n", "setting-twice", 2, 1, "first set at line 1");
    expect_error("length -1 s\nout 1\n", "setting-not-positive", 1, 8, NULL);
    expect_error("rate 8e106\nout 1\n", "rate-out-of-range", 1, 6, NULL);
    expect_error("frames 0.5 hz\nout 1\n", "rate-out-of-range", 1, 8, NULL);
    expect_error("rate sine(1)\nout 1\n", "setting-not-constant", 1, 6, NULL);
}

/* ------------------------------------------------------------ cycles */

static void test_cycle(void **state)
{
    (void)state;
    expect_error("a = b + 1; b = a * 2\nout a\n", "cycle", 1, 16, NULL);
    expect_error("out y\ny = sine(440) + 0.5 * y\n", "cycle", 2, 23, NULL);
    /* found from an unused binding too, and named from where it starts */
    expect_error("out 1\nu = v\nv = w\nw = v\n", "cycle", 4, 5, NULL);
}

/* ------------------------------------------------------------- defs */

static void test_recursive_def(void **state)
{
    (void)state;
    expect_error("def f(x) { return f(x) }\nout f(1)\n", "recursive-def", 1, 19, NULL);
    expect_error("def f(x) { return g(x) }\ndef g(x) { return f(x) + 1 }\nout f(1)\n",
                 "recursive-def", 2, 19, NULL);
}

static void test_def_without_return(void **state)
{
    (void)state;
    expect_error("def f(x) {\n  y = x\n}\nout f(1)\n", "missing-return", 1, 5, NULL);
    expect_error("def f(x) {\n  return x\n  return 2\n}\nout f(1)\n", "two-returns", 3, 3, NULL);
}

static void test_statements_in_def(void **state)
{
    (void)state;
    const char *msg = "statement-in-def";
    expect_error("def f(x) {\n  rate 8000\n  return x\n}\nout f(1)\n", msg, 2, 3, NULL);
    expect_error("def f(x) {\n  param p = 1\n  return x * p\n}\nout f(1)\n", msg, 2, 3, NULL);
    expect_error("def f(x) {\n  out x\n  return x\n}\nout f(1)\n", msg, 2, 3, NULL);
    expect_error("def f(x) {\n  def g(y) { return y }\n  return x\n}\nout f(1)\n",
                 msg, 2, 3, NULL);
    expect_error("def f(x) {\n  use ddsp\n  return x\n}\nout f(1)\n", msg, 2, 3, NULL);
}

/* ------------------------------------------------------------- modules */

/* A fresh folder under /tmp holding the given files (name, text pairs). */
static char *make_folder(const char *const *files, int n)
{
    char tmpl[] = "/tmp/weft-test-compile-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    for (int i = 0; i < n; i++) {
        wf_str path = {0};
        wf_str_printf(&path, "%s/%s", dir, files[2 * i]);
        assert_int_equal(wf_write_file_atomic(path.s, files[2 * i + 1], strlen(files[2 * i + 1])),
                         0);
        wf_str_free(&path);
    }
    return wf_xstrdup(dir);
}

static void remove_folder(char *dir, const char *const *files, int n)
{
    for (int i = 0; i < n; i++) {
        wf_str path = {0};
        wf_str_printf(&path, "%s/%s", dir, files[2 * i]);
        assert_int_equal(unlink(path.s), 0);
        wf_str_free(&path);
    }
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static char *path_in(const char *dir, const char *name)
{
    wf_str s = {0};
    wf_str_printf(&s, "%s/%s", dir, name);
    return s.s;
}

static void test_module_not_found(void **state)
{
    (void)state;
    wf_diags d = {0};
    assert_null(compile("use nowhere\nout 1\n", &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(code_of(&d.v[0]), "module-not-found");
    assert_int_equal(d.v[0].loc.line, 1);
    assert_int_equal(d.v[0].loc.col, 5);
    /* the hint lists the folders searched: the patch's, then the stdlib */
    assert_non_null(d.v[0].hint);
    assert_true(strncmp(d.v[0].hint, "looked for ./nowhere.weft, ", 27) == 0);
    assert_non_null(strstr(d.v[0].hint, WF_SOURCE_DIR "/stdlib/nowhere.weft"));
    wf_diags_free(&d);
}

static void test_use_module(void **state)
{
    (void)state;
    static const char *const files[] = {
        "mod.weft", "# a module\nuse mod2\ndef twice(x, k = 2) { return k * x }\n",
        "mod2.weft", "def thrice(x) { return 3 * x }\n",
    };
    char *dir = make_folder(files, 2);
    char *name = path_in(dir, "patch.weft");
    wf_diags d = {0};
    /* `use` twice is harmless; defs of modules used by modules are visible */
    wf_patch *p = wf_compile_text(name, "use mod\nuse mod\nout twice(4) + thrice(1, )\n", NULL, &d);
    assert_non_null(p);
    assert_int_equal(d.n, 0);
    const wf_opt *v = out_constant(p);
    assert_int_equal(v->n, 1);
    assert_true(v->v[0] == 11);
    assert_int_equal(p->nsources, 3);
    wf_patch_free(p);
    wf_diags_free(&d);
    free(name);
    remove_folder(dir, files, 2);
}

static void test_use_stdlib_module(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("use ddsp\nout note(220 hz, n: 4, rolloff: 2)\n");
    expect_shape(out_node(p), WF_NODE_mul, WF_RATE_AUDIO, 1);
    assert_int_equal(count_kind(p->g, WF_NODE_harmonic), 1);
    assert_int_equal(count_kind(p->g, WF_NODE_adsr), 1);
    wf_patch_free(p);
}

static void test_module_statements(void **state)
{
    (void)state;
    static const char *const files[] = {
        "bad.weft", "def ok(x) { return x }\nx = 1\nout x\n",
    };
    char *dir = make_folder(files, 1);
    char *name = path_in(dir, "patch.weft");
    char *mod = path_in(dir, "bad.weft");
    wf_diags d = {0};
    assert_null(wf_compile_text(name, "use bad\nout ok(1)\n", NULL, &d));
    /* one error per statement that does not belong, in the module's file */
    assert_int_equal(d.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(code_of(&d.v[i]), "statement-in-module");
        assert_string_equal(d.v[i].loc.src->path, mod);
        assert_int_equal(d.v[i].loc.line, i + 2);
        assert_int_equal(d.v[i].loc.col, 1);
    }
    wf_diags_free(&d);
    free(mod);
    free(name);
    remove_folder(dir, files, 1);
}

/* ------------------------------------------------------------- params */

static void test_param_bounds_reversed(void **state)
{
    (void)state;
    expect_error("param p = 1 in [2, 1]\nout p\n", "reversed-bounds", 1, 17, NULL);
    expect_error("param p = 1 in [1, 1]\nout p\n", "reversed-bounds", 1, 17, NULL);
}

static void test_param_init_outside_bounds(void **state)
{
    (void)state;
    expect_error("param p = 3 in [0, 1]\nout p\n", "param-outside-bounds", 1, 11, NULL);
    expect_error("param p[3] = [0.5, 2, 0.5] in [0, 1]\nout p\n",
                 "param-outside-bounds", 1, 14, NULL);
}

static void test_param_log_nonpositive(void **state)
{
    (void)state;
    expect_error("param p = 0 log\nout p\n", "log-param-not-positive", 1, 13, NULL);
    expect_error("param p = 1 in [0, 2] log\nout p\n", "log-param-not-positive", 1, 23, NULL);
    expect_error("param p = -0.5 log\nout p\n", "log-param-not-positive", 1, 16, NULL);
    /* -6 db is a positive gain */
    wf_patch *p = compile_ok("param p = -6 db log\nout p\n");
    assert_true(p->g->params[0].log);
    wf_patch_free(p);
}

static void test_param_size_mismatch(void **state)
{
    (void)state;
    expect_error("param p[3] = [1, 2]\nout p\n", "param-size-mismatch", 1, 14, NULL);
    /* one error, not a second one for every use of the param */
    expect_error("param p[0] = 1\nout p * 2\n", "setting-not-positive", 1, 9, NULL);
    expect_error("param p[2.5] = 1\nout p\n", "bad-count", 1, 9, NULL);
}

static void test_param_declarations(void **state)
{
    (void)state;
    expect_error("param p = 1 foo\nout p\n", "unknown-param-option", 1, 13, NULL);
    expect_error("param p = 1 per sample\nout p\n", "unknown-per", 1, 17, NULL);
    expect_error("param p = sine(1)\nout p\n", "param-not-constant", 1, 11, NULL);
    expect_error("param p = \"a.wav\"\nout p\n", "param-string", 1, 11, NULL);
    expect_error("param p = 1e308 * 10\nout p\n", "param-not-finite", 1, 11, NULL);
    expect_error("param p = 1 / 0\nout p\n", "division-by-zero", 1, 15, NULL);
    expect_error("param p = 1 fixed fixed\nout p\n", "repeated-fixed", 1, 19, NULL);
    expect_error("param p = 1 loud\nout p\n", "unknown-param-option", 1, 13, NULL);
    expect_error("length 1 s\nout range(3) / [1, 0, 2]\n", "division-by-zero", 2, 16, NULL);
    expect_error("input x = foo\nout x\n", "bad-input-source", 1, 11, NULL);
}

static void test_param_decl(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("param cutoff = 2 khz in [40 hz, 8 khz] log\n"
                             "param amps[3] = [0.1, 0.2, 0.3] in [0, 1]\n"
                             "param env[2] = \"env.wav\" per frame\n"
                             "out sine(cutoff) * mix(amps) * mix(env)\n");
    assert_int_equal(p->g->nparams, 3);
    const wf_param_decl *c = &p->g->params[0];
    assert_string_equal(c->name, "cutoff");
    assert_true(c->log && c->bounded);
    assert_true(c->init[0] == 2000 && c->lo == 40 && c->hi == 8000);
    assert_int_equal(c->init_unit, WF_UNIT_KHZ);
    assert_int_equal(c->rate, WF_RATE_CONST);
    /* the span `weft fit` rewrites */
    assert_int_equal(c->init_start, 15);
    assert_int_equal(c->init_end, 20);
    const wf_param_decl *a = &p->g->params[1];
    assert_int_equal(a->size, 3);
    assert_true(a->init[2] == 0.3);
    const wf_param_decl *e = &p->g->params[2];
    assert_int_equal(e->rate, WF_RATE_CONTROL);
    assert_null(e->init);
    assert_string_equal(e->init_file, "env.wav");
    for (int i = 0; i < 3; i++)
        assert_true(p->g->params[i].node >= 0);
    wf_patch_free(p);
}

/* ------------------------------------------------------------ values */

static void test_units_exact(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("out [440 hz, 2 khz, 20 ms, -6 db, 1.5 s, 0 db, 2kHz, 3]\n");
    const wf_opt *v = out_constant(p);
    assert_int_equal(v->n, 8);
    assert_true(v->v[0] == 440);
    assert_true(v->v[1] == 2000);
    assert_true(v->v[2] == 0.02);
    assert_true(v->v[3] == pow(10, -6.0 / 20));
    assert_true(v->v[4] == 1.5);
    assert_true(v->v[5] == 1);
    assert_true(v->v[6] == 2000);
    assert_true(v->v[7] == 3);
    wf_patch_free(p);
    /* -30 db is the gain of -30 dB; negating a computed gain negates it */
    p = compile_ok("g = 30 db\nout [-30 db, -g, -(30 db)]\n");
    v = out_constant(p);
    assert_close(v->v[0], pow(10, -1.5), 1e-15, 0);
    assert_close(v->v[1], -pow(10, 1.5), 1e-15, 0);
    assert_close(v->v[2], -pow(10, 1.5), 1e-15, 0);
    wf_patch_free(p);
}

static void test_settings(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("rate 16 khz; frames 250 hz\nlength 500 ms\nout 0\n");
    assert_true(p->g->rate == 16000);
    assert_true(p->g->frame_rate == 250);
    assert_true(p->g->length == 0.5);
    assert_int_equal(p->g->length_loc.line, 2);
    assert_int_equal(p->g->length_loc.col, 1);
    wf_patch_free(p);
}

static void test_constant_folding(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("a = [1, 2]\nb = (a + 2) * [3, 4] - 1 / 4\nout -b / 2\n");
    const wf_opt *v = out_constant(p);
    assert_int_equal(v->n, 2);
    assert_true(v->v[0] == -(3 * 3 - 0.25) / 2);
    assert_true(v->v[1] == -(4 * 4 - 0.25) / 2);
    /* nothing but the constant and the conversion to audio is left */
    assert_int_equal(p->g->n, 2);
    wf_patch_free(p);
    /* vectors of vectors flatten */
    p = compile_ok("v = [1, [2, 3]]\nout [v, 4]\n");
    v = out_constant(p);
    assert_int_equal(v->n, 4);
    for (int i = 0; i < 4; i++)
        assert_true(v->v[i] == i + 1);
    wf_patch_free(p);
}

/* A 100000-term sum is a tree as deep as it is long; it compiles without
 * exhausting the stack. */
static void test_long_sum(void **state)
{
    (void)state;
    int n = 100000;
    wf_str s = {0};
    wf_str_puts(&s, "out 0");
    for (int i = 1; i <= n; i++)
        wf_str_puts(&s, " + 1");
    wf_str_putc(&s, '\n');
    wf_patch *p = compile_ok(s.s);
    assert_true(out_constant(p)->v[0] == n);
    wf_patch_free(p);
    wf_str_free(&s);
}

static void test_def_expansion(void **state)
{
    (void)state;
    /* defaults, named arguments in any order, formals shadowing globals */
    wf_patch *p = compile_ok("k = 100\ndef f(a, b = 2, k = 10) {\n  s = a * b\n  return s + k\n}\n"
                             "out [f(1), f(1, k: 3), f(b: 5, a: 2), k]\n");
    const wf_opt *v = out_constant(p);
    assert_int_equal(v->n, 4);
    assert_true(v->v[0] == 12);
    assert_true(v->v[1] == 5);
    assert_true(v->v[2] == 20);
    assert_true(v->v[3] == 100);
    wf_patch_free(p);
    /* each call expands to its own nodes */
    p = compile_ok("def voice(f, n = 2) { return saw(f) * n }\n"
                   "out voice(440) + voice(220, n: 3)\n");
    assert_int_equal(count_kind(p->g, WF_NODE_saw), 2);
    assert_int_equal(count_kind(p->g, WF_NODE_mul), 2);
    expect_shape(out_node(p), WF_NODE_add, WF_RATE_AUDIO, 1);
    wf_patch_free(p);
}

/* A def may take more arguments than any fixed table would hold. */
static void test_def_many_formals(void **state)
{
    (void)state;
    wf_str s = {0};
    wf_str_puts(&s, "def f(");
    for (int i = 0; i < 300; i++)
        wf_str_printf(&s, "%sa%d = %d", i ? ", " : "", i, i);
    wf_str_puts(&s, ") { return a299 - a0 }\nout f(a0: 99)\n");
    wf_patch *p = compile_ok(s.s);
    assert_true(out_constant(p)->v[0] == 200);
    wf_patch_free(p);
    wf_str_free(&s);
}

/* ---------------------------------------------------- rates and channels */

static void test_control_times_audio(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("param env[3] = 0.5 per frame\nout env * sine(440)\n");
    const wf_gnode *o = out_node(p);
    expect_shape(o, WF_NODE_mul, WF_RATE_AUDIO, 3);
    /* the control-rate param meets audio through an inserted upsample */
    const wf_gnode *up = input_of(p, o, 0);
    expect_shape(up, WF_NODE_upsample, WF_RATE_AUDIO, 3);
    expect_shape(input_of(p, up, 0), WF_NODE_param, WF_RATE_CONTROL, 3);
    expect_shape(input_of(p, o, 1), WF_NODE_sine, WF_RATE_AUDIO, 1);
    expect_shape(input_of(p, input_of(p, o, 1), 0), WF_NODE_const, WF_RATE_CONST, 1);
    wf_patch_free(p);
}

static void test_rates_inferred(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("param e[2] = 1 per frame\nparam g = 0.5\nx = e * g\n"
                             "out sine(440) * x + downsample(noise()) * 0\n");
    /* control times constant stays control; audio plus control is audio */
    const wf_gnode *o = out_node(p);
    expect_shape(o, WF_NODE_add, WF_RATE_AUDIO, 2);
    const wf_gnode *m = input_of(p, o, 0);
    expect_shape(m, WF_NODE_mul, WF_RATE_AUDIO, 2);
    const wf_gnode *up = input_of(p, m, 1);
    expect_shape(up, WF_NODE_upsample, WF_RATE_AUDIO, 2);
    const wf_gnode *x = input_of(p, up, 0);
    expect_shape(x, WF_NODE_mul, WF_RATE_CONTROL, 2);
    assert_string_equal(x->label, "x");
    expect_shape(input_of(p, x, 1), WF_NODE_param, WF_RATE_CONST, 1);
    wf_patch_free(p);
}

static void test_broadcast_channels(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("out sine([100, 200, 300]) * [1, 0.5, 0.25] + noise()\n");
    const wf_gnode *o = out_node(p);
    expect_shape(o, WF_NODE_add, WF_RATE_AUDIO, 3);
    expect_shape(input_of(p, o, 0), WF_NODE_mul, WF_RATE_AUDIO, 3);
    expect_shape(input_of(p, o, 1), WF_NODE_noise, WF_RATE_AUDIO, 1);
    wf_patch_free(p);
    /* vectors of signals are concatenations */
    p = compile_ok("a = sine(1)\nb = noise(channels: 2)\nout [a, b, 0.5]\n");
    o = out_node(p);
    expect_shape(o, WF_NODE_concat, WF_RATE_AUDIO, 4);
    assert_int_equal(o->nin, 3);
    expect_shape(input_of(p, o, 2), WF_NODE_const, WF_RATE_CONST, 1);
    wf_patch_free(p);
}

static void test_out_coerced_to_audio(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("out 0.5\n");
    expect_shape(out_node(p), WF_NODE_upsample, WF_RATE_AUDIO, 1);
    wf_patch_free(p);
    p = compile_ok("param e[2] = 1 per frame\nout e\n");
    expect_shape(out_node(p), WF_NODE_upsample, WF_RATE_AUDIO, 2);
    expect_shape(input_of(p, out_node(p), 0), WF_NODE_param, WF_RATE_CONTROL, 2);
    wf_patch_free(p);
    /* an audio out is left as it is */
    p = compile_ok("out sine(1)\n");
    expect_shape(out_node(p), WF_NODE_sine, WF_RATE_AUDIO, 1);
    assert_int_equal(count_kind(p->g, WF_NODE_upsample), 0);
    wf_patch_free(p);
}

/* ---------------------------------------------------- pruning, warnings */

static void test_pruning(void **state)
{
    (void)state;
    wf_patch *p = compile_ok("input rec = target\nunused = sine(3) * rec\nalso = noise()\n"
                             "out saw(440)\n");
    assert_int_equal(count_kind(p->g, WF_NODE_sine), 0);
    assert_int_equal(count_kind(p->g, WF_NODE_noise), 0);
    assert_int_equal(count_kind(p->g, WF_NODE_saw), 1);
    assert_int_equal(p->g->n, 2);
    assert_int_equal(p->g->inputs[0].node, -1);
    wf_patch_free(p);
    /* but an unused binding's errors are still reported */
    expect_error("unused = sinee(3)\nout 1\n", "unknown-node", 1, 10, "did you mean 'sine'?");
}

static void test_param_unused_warning(void **state)
{
    (void)state;
    wf_diags d = {0};
    wf_patch *p = compile("param gain = 1\nparam used = 2\nout sine(440) * used\n", &d);
    assert_non_null(p);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].sev, WF_SEV_WARNING);
    assert_string_equal(code_of(&d.v[0]), "unused-param");
    assert_int_equal(d.v[0].loc.line, 1);
    assert_int_equal(d.v[0].loc.col, 7);
    assert_int_equal(p->g->params[0].node, -1);
    assert_true(p->g->params[1].node >= 0);
    wf_patch_free(p);
    /* the warning's source outlives the patch */
    assert_string_equal(d.v[0].loc.src->path, "t.weft");
    wf_diags_free(&d);
}

/* --------------------------------------------------------- diagnostics */

static char *print_diags(const wf_diags *d, wf_diag_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    wf_diags_print(f, d, fmt);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* The text of a failed compile's errors, printed after the compiler has
 * freed the patch: the diagnostics keep their source alive. */
static void test_text_diagnostics(void **state)
{
    (void)state;
    wf_diags d = {0};
    assert_null(compile("f = 3\nout sinee(f)\n", &d));
    char *text = print_diags(&d, WF_DIAG_TEXT);
    assert_string_equal(text, "t.weft:2:5: error: unknown node 'sinee' [unknown-node]\n"
                              "    2 | out sinee(f)\n"
                              "      |     ^~~~~\n"
                              "      = hint: did you mean 'sine'?\n");
    free(text);
    wf_diags_free(&d);
    /* the caret underlines a whole expression on one line */
    assert_null(compile("out [1, 2] * [1, 2, 3]\n", &d));
    text = print_diags(&d, WF_DIAG_TEXT);
    assert_non_null(strstr(text, "\n      |            ^\n"));
    free(text);
    wf_diags_free(&d);
    assert_null(compile("param p[3] = [1, 2]\nout p\n", &d));
    text = print_diags(&d, WF_DIAG_TEXT);
    assert_non_null(strstr(text, "\n      |              ^~~~~~\n"));
    free(text);
    wf_diags_free(&d);
    /* no place: no source line */
    wf_report_no_length(&d, WF_NOWHERE, NULL, "p.weft");
    text = print_diags(&d, WF_DIAG_TEXT);
    assert_string_equal(text, "weft: error: p.weft: the patch has no length: add `length 2 s` to "
                              "it, or pass --seconds [no-length]\n");
    free(text);
    wf_diags_free(&d);
}

static void test_json_diagnostics(void **state)
{
    (void)state;
    wf_diags d = {0};
    /* a file name that needs escaping */
    assert_null(wf_compile_text("dir/a\"b.weft", "param g = 1\nout sinee(440)\n", NULL, &d));
    wf_report_unknown_param(&d, WF_NOWHERE, NULL, "a\tb");
    char *json = print_diags(&d, WF_DIAG_JSON);
    assert_string_equal(json, "[{\"severity\":\"error\",\"code\":\"unknown-node\","
                              "\"file\":\"dir/a\\\"b.weft\",\"line\":2,"
                              "\"column\":5,\"offset\":16,\"length\":5,"
                              "\"message\":\"unknown node 'sinee'\","
                              "\"hint\":\"did you mean 'sine'?\"},"
                              "{\"severity\":\"error\",\"code\":\"unknown-param\","
                              "\"message\":\"--set: the patch has no param 'a\\u0009b'\"}]\n");
    free(json);
    wf_diags_free(&d);
    /* warnings, and an error at a place with no hint */
    wf_patch *p = compile("param g = 1\nout 1\n", &d);
    assert_non_null(p);
    wf_patch_free(p);
    wf_report_unknown_param(&d, d.v[0].loc, NULL, "up");
    json = print_diags(&d, WF_DIAG_JSON);
    assert_non_null(strstr(json, "[{\"severity\":\"warning\",\"code\":\"unused-param\","
                                 "\"file\":\"t.weft\",\"line\":1,"
                                 "\"column\":7,\"offset\":6,\"length\":1,"));
    assert_non_null(strstr(json, "{\"severity\":\"error\",\"code\":\"unknown-param\","
                                 "\"file\":\"t.weft\",\"line\":1,"
                                 "\"column\":7,\"offset\":6,\"length\":1,"
                                 "\"message\":\"--set: the patch has no param 'up'\"}]\n"));
    free(json);
    wf_diags_free(&d);
    /* nothing to say is an empty list */
    json = print_diags(&d, WF_DIAG_JSON);
    assert_string_equal(json, "[]\n");
    free(json);
}

/* ------------------------------------------------------------- NUL bytes */

static void test_nul_bytes(void **state)
{
    (void)state;
    static const char text[] = "out 1\0garbage\n";
    /* as a C string the text ends at the NUL and compiles */
    wf_patch *p = compile_ok(text);
    wf_patch_free(p);
    /* as a file's bytes the NUL is an error */
    wf_diags d = {0};
    wf_source *src = wf_source_from_bytes("t.weft", text, sizeof text - 1);
    assert_null(wf_compile_source(src, NULL, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(code_of(&d.v[0]), "nul-byte");
    assert_int_equal(d.v[0].loc.line, 1);
    assert_int_equal(d.v[0].loc.col, 6);
    char *out = print_diags(&d, WF_DIAG_TEXT);
    assert_non_null(strstr(out, "    1 | out 1 garbage\n"));
    free(out);
    wf_diags_free(&d);
}

/* --------------------------------------------------------- every code */

/* Patches past the compiler's limits, which get an error, not a crash. */
static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
    wf_str s = {0};
    wf_str_puts(&s, head);
    for (int i = 0; i < n; i++)
        wf_str_puts(&s, unit);
    wf_str_puts(&s, tail);
    return s.s;
}

static char *long_number(void)
{
    return repeat("out ", "1", 200, "\n");
}

static char *deep_brackets(void)
{
    return repeat("out ", "(", 300, "\n");
}

static char *deep_expression(void)
{
    return repeat("out ", "-", 5000, "1\n");
}

/* 60 bindings, each the one before inside 100 brackets and minus signs:
 * bindings and brackets together nest past the limit of evaluation */
static char *deep_patch(void)
{
    wf_str s = {0};
    wf_str_puts(&s, "a0 = 1\n");
    for (int i = 1; i <= 60; i++) {
        wf_str_printf(&s, "a%d = ", i);
        for (int k = 0; k < 100; k++)
            wf_str_puts(&s, "-(");
        wf_str_printf(&s, "a%d", i - 1);
        for (int k = 0; k < 100; k++)
            wf_str_putc(&s, ')');
        wf_str_putc(&s, '\n');
    }
    wf_str_puts(&s, "out a60\n");
    return s.s;
}

/* a chain of 900 bindings, each the one before */
static char *long_chain(void)
{
    wf_str s = {0};
    wf_str_puts(&s, "a0 = 1\n");
    for (int i = 1; i <= 900; i++)
        wf_str_printf(&s, "a%d = a%d\n", i, i - 1);
    wf_str_puts(&s, "out a900\n");
    return s.s;
}

/* 250 defs, each calling the one before */
static char *deep_defs(void)
{
    wf_str s = {0};
    wf_str_puts(&s, "def f0(x) { return x }\n");
    for (int i = 1; i <= 250; i++)
        wf_str_printf(&s, "def f%d(x) { return f%d(x) }\n", i, i - 1);
    wf_str_puts(&s, "out f250(1)\n");
    return s.s;
}

/* vectors of ten vectors, up to two million numbers */
static char *long_vector(void)
{
    wf_str s = {0};
    wf_str_puts(&s, "v0 = 1\n");
    for (int i = 1; i <= 6; i++)
        wf_str_printf(&s, "v%d = [v%d, v%d, v%d, v%d, v%d, v%d, v%d, v%d, v%d, v%d]\n", i, i - 1,
                      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    wf_str_puts(&s, "out [v6, v6]\n");
    return s.s;
}

/* defs doubling their nodes 22 times: four million noise() calls */
static char *many_nodes(void)
{
    wf_str s = {0};
    wf_str_puts(&s, "def d0() { return noise() }\n");
    for (int i = 1; i <= 22; i++)
        wf_str_printf(&s, "def d%d() { return d%d() + d%d() }\n", i, i - 1, i - 1);
    wf_str_puts(&s, "out d22()\n");
    return s.s;
}

/* One patch per code the compiler reports, each giving exactly that one
 * diagnostic; test_every_code checks that no code is missing. `use bad`
 * finds a module holding a binding; len counts text that holds NUL bytes. */
static const struct {
    const char *code, *text;
    size_t len;
    char *(*build)(void);
} patches[] = {
    {"number-too-long", NULL, 0, long_number},
    {"number-out-of-range", "out 1e400\n", 0, NULL},
    {"unknown-unit", "out 2mhz\n", 0, NULL},
    {"unknown-escape", "input x = \"a\\qb\"\nout x\n", 0, NULL},
    {"unterminated-string", "input x = \"a.wav\nout x\n", 0, NULL},
    {"unexpected-character", "out 1 $ 2\n", 0, NULL},
    {"nul-byte", "out 1\0 2\n", 9, NULL},
    {"unclosed-bracket", "out sine(1\n", 0, NULL},
    {"unexpected-token", "out 1 2\n", 0, NULL},
    {"undefined-name", "out q\n", 0, NULL},
    {"unknown-node", "out sinee(1)\n", 0, NULL},
    {"duplicate-name", "a = 1\na = 2\nout a\n", 0, NULL},
    {"not-a-value", "out sine\n", 0, NULL},
    {"not-callable", "x = 1\nout x(2)\n", 0, NULL},
    {"string-not-signal", "out \"a.wav\"\n", 0, NULL},
    {"cycle", "a = b\nb = a\nout a\n", 0, NULL},
    {"feedback-node", "y = noise() + 0.5 * sine(300 + 100 * delay(y, 0.01))\nout y\n", 0, NULL},
    {"feedback-rate", "frames 100 hz\ny = downsample(noise() + 0.5 * delay(y, 0.01))\nout y\n", 0,
     NULL},
    {"feedback-shape", "y = concat(noise(), delay(y, 0.01))\nout y\n", 0, NULL},
    {"too-many-arguments", "out sine(1, 2, 3)\n", 0, NULL},
    {"unknown-argument", "out sine(1, phse: 1)\n", 0, NULL},
    {"repeated-argument", "out sine(1, freq: 2)\n", 0, NULL},
    {"positional-after-named", "out sine(phase: 1, 440)\n", 0, NULL},
    {"missing-argument", "out sine()\n", 0, NULL},
    {"argument-not-constant", "out noise(seed: sine(1))\n", 0, NULL},
    {"argument-not-whole", "out noise(channels: 1.5)\n", 0, NULL},
    {"argument-not-positive", "out noise(channels: 0)\n", 0, NULL},
    {"argument-out-of-range", "out noise(seed: 1e16)\n", 0, NULL},
    {"argument-not-word", "out svf(noise(), 1000, mode: 1 + 1)\n", 0, NULL},
    {"unknown-word", "out svf(noise(), 1000, mode: lowpass)\n", 0, NULL},
    {"division-by-zero", "out 1 / 0\n", 0, NULL},
    {"fold-not-finite", "out sqrt(-1)\n", 0, NULL},
    {"shape-mismatch", "out sine([1, 2]) * [1, 2, 3]\n", 0, NULL},
    {"constant-shape-mismatch", "out [1, 2] + [1, 2, 3]\n", 0, NULL},
    {"param-size-mismatch", "param p[3] = [1, 2]\nout p\n", 0, NULL},
    {"not-mono", "out harmonic(sine([1, 2]), [1])\n", 0, NULL},
    {"not-stereo", "out width(noise())\n", 0, NULL},
    {"index-out-of-range", "out pick(sine(1), index: 1)\n", 0, NULL},
    {"too-few-bands", "out filtered_noise(noise(), 1)\n", 0, NULL},
    {"too-few-bands", "out eq(noise(), freq: 1000)\n", 0, NULL},
    {"shape-mismatch", "out eq(noise(), gain: [1, 2, 3], freq: [100, 1000])\n", 0, NULL},
    {"too-many-channels", "out noise(channels: 5000)\n", 0, NULL},
    {"too-many-values", "out range(70000)\n", 0, NULL},
    {"too-many-partials", "out harmonic(220, [range(4000), range(100)])\n", 0, NULL},
    {"rate-mismatch", "out harmonic(220, [1], inharmonicity: sine(1))\n", 0, NULL},
    {"constant-signal", "out delay(1, 0.1)\n", 0, NULL},
    {"already-audio", "out upsample(sine(1))\n", 0, NULL},
    {"not-audio-rate", "out upsample(downsample(1))\n", 0, NULL},
    {"audio-rate-filter", "out filtered_noise(noise(), sine([1, 2]))\n", 0, NULL},
    {"bad-unit", "rate 2 s\nout 1\n", 0, NULL},
    {"mixed-units", "param p = 1 hz in [1 s, 2 s]\nout p\n", 0, NULL},
    {"setting-twice", "rate 8000\nrate 8000\nout 1\n", 0, NULL},
    {"setting-not-constant", "rate sine(1)\nout 1\n", 0, NULL},
    {"setting-not-positive", "length -1 s\nout 1\n", 0, NULL},
    {"rate-out-of-range", "rate 2000 khz\nout 1\n", 0, NULL},
    {"bad-count", "param p[2.5] = 1\nout p\n", 0, NULL},
    {"missing-out", "x = 1\n", 0, NULL},
    {"two-outs", "out 1\nout 2\n", 0, NULL},
    {"unknown-param-option", "param p = 1 foo\nout p\n", 0, NULL},
    {"unknown-per", "param p = 1 per sample\nout p\n", 0, NULL},
    {"repeated-bounds", "param p = 1 in [0, 2] in [0, 3]\nout p\n", 0, NULL},
    {"repeated-fixed", "param p = 1 fixed fixed\nout p\n", 0, NULL},
    {"repeated-scale", "param p = 1 log lin\nout p\n", 0, NULL},
    {"repeated-per", "param p = 1 per frame per frame\nout p\n", 0, NULL},
    {"param-string", "param p = \"a.wav\"\nout p\n", 0, NULL},
    {"param-not-constant", "param p = sine(1)\nout p\n", 0, NULL},
    {"param-not-finite", "param p = 1e308 * 10\nout p\n", 0, NULL},
    {"bad-bounds", "param p = 1 in [sine(1), 2]\nout p\n", 0, NULL},
    {"reversed-bounds", "param p = 1 in [2, 1]\nout p\n", 0, NULL},
    {"param-outside-bounds", "param p = 3 in [0, 1]\nout p\n", 0, NULL},
    {"log-param-not-positive", "param p = 0 log\nout p\n", 0, NULL},
    {"too-many-dimensions", "param p[2, 3, 4] = 0\nout p\n", 0, NULL},
    {"bad-seed", "param p[4] = normal(0, 1, seed: 1.5)\nout p\n", 0, NULL},
    {"uniform-reversed", "param p[4] = uniform(1, 0)\nout p\n", 0, NULL},
    {"negative-std", "param p[4] = normal(0, -1)\nout p\n", 0, NULL},
    {"bad-input-source", "input x = foo\nout x\n", 0, NULL},
    {"unused-param", "param p = 1\nout 1\n", 0, NULL},
    {"lane-mismatch",
     "input a = [c4 0 s 1 s]\ninput b = [c4 0 s 1 s]\n"
     "out lanes_sum(sine(a.freq) * sine(b.freq))\n",
     0, NULL},
    {"no-fields", "x = 1\nout x.freq\n", 0, NULL},
    {"unknown-field", "input n = [c4 0 s 1 s]\nout lanes_sum(sine(n.frq))\n", 0, NULL},
    {"unknown-note-name", "input n = [h4 0 s 1 s]\nout lanes_sum(sine(n.freq))\n", 0, NULL},
    {"bad-key", "input n = [60.5 0 s 1 s]\nout lanes_sum(sine(n.freq))\n", 0, NULL},
    {"note-time-unit", "input n = [c4 0 hz 1 s]\nout lanes_sum(sine(n.freq))\n", 0, NULL},
    {"note-time-out-of-range", "input n = [c4 2e6 s 1 s]\nout lanes_sum(sine(n.freq))\n", 0, NULL},
    {"bad-velocity", "input n = [c4 0 s 1 s 2]\nout lanes_sum(sine(n.freq))\n", 0, NULL},
    {"recursive-def", "def f(x) { return f(x) }\nout f(1)\n", 0, NULL},
    {"missing-return", "def f(x) {\n  y = x\n}\nout f(1)\n", 0, NULL},
    {"two-returns", "def f(x) {\n  return x\n  return 2\n}\nout f(1)\n", 0, NULL},
    {"statement-in-def", "def f(x) {\n  rate 8000\n  return x\n}\nout f(1)\n", 0, NULL},
    {"return-outside-def", "return 1\nout 1\n", 0, NULL},
    {"def-hides-node", "def sine(x) { return x }\nout 1\n", 0, NULL},
    {"module-not-found", "use nowhere\nout 1\n", 0, NULL},
    {"statement-in-module", "use bad\nout 1\n", 0, NULL},
    {"brackets-too-deep", NULL, 0, deep_brackets},
    {"expression-too-deep", NULL, 0, deep_expression},
    {"patch-too-deep", NULL, 0, deep_patch},
    {"bindings-too-deep", NULL, 0, long_chain},
    {"defs-too-deep", NULL, 0, deep_defs},
    {"vector-too-long", NULL, 0, long_vector},
    {"param-too-large", "param p[1073741824, 4] = 0\nout p\n", 0, NULL},
    {"too-many-nodes", NULL, 0, many_nodes},
    {"bad-sections", "out sos(noise(), [1, 0, 0, 1, 0])\n", 0, NULL},
    {"bad-matrix", "out fdn(noise(), [0.5, 0.1], [2 ms, 3 ms])\n", 0, NULL},
    {"bad-weights", "param w[5] = 0\nout dense([1, 2], w)\n", 0, NULL},
};

static void test_every_code(void **state)
{
    (void)state;
    static const char *const files[] = {"bad.weft", "x = 1\n"};
    char *dir = make_folder(files, 1);
    const char *search[] = {dir, NULL};
    wf_compile_opts o = {search};
    int covered[WF_DIAG_COUNT] = {0};
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        int code = wf_diag_code_find(patches[i].code);
        if (code < 0)
            fail_msg("no code '%s'", patches[i].code);
        char *built = patches[i].build ? patches[i].build() : NULL;
        const char *text = built ? built : patches[i].text;
        size_t len = patches[i].len ? patches[i].len : strlen(text);
        wf_diags d = {0};
        wf_patch *p = wf_compile_source(wf_source_from_bytes("t.weft", text, len), &o, &d);
        int warning = wf_diag_codes[code].sev == WF_SEV_WARNING;
        if (d.n != 1 || d.v[0].code != (wf_diag_code)code || (p != NULL) != warning) {
            wf_diags_print(stderr, &d, WF_DIAG_TEXT);
            fail_msg("the patch for %s gives %d diagnostics (above)", patches[i].code, d.n);
        }
        covered[code] = 1;
        wf_patch_free(p);
        wf_diags_free(&d);
        free(built);
    }
    remove_folder(dir, files, 1);

    /* no patch makes a node of no channels, a program can */
    wf_graph *g = wf_graph_new();
    wf_diags d = {0};
    int x = wf_build_node(g, &wf_kind_sine, 0, NULL, NULL, WF_NOWHERE, &d);
    assert_true(x >= 0);
    wf_opt *none = wf_xcalloc(3, sizeof *none); /* pick's index: no values */
    assert_int_equal(wf_build_node(g, &wf_kind_pick, 1, &x, none, WF_NOWHERE, &d), -1);
    assert_int_equal(d.n, 1);
    assert_string_equal(code_of(&d.v[0]), "no-channels");
    covered[d.v[0].code] = 1;
    wf_diags_free(&d);
    wf_graph_free(g);

    for (int c = 0; c < WF_DIAG_COUNT; c++)
        if (!covered[c] && !wf_diag_categories[wf_diag_codes[c].cat].at_run)
            fail_msg("no patch gives %s", wf_diag_code_name(c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_node),
        cmocka_unit_test(test_too_many_arguments),
        cmocka_unit_test(test_unknown_argument_name),
        cmocka_unit_test(test_repeated_argument),
        cmocka_unit_test(test_missing_argument),
        cmocka_unit_test(test_positional_after_named),
        cmocka_unit_test(test_number_arguments),
        cmocka_unit_test(test_value_or_node),
        cmocka_unit_test(test_shape_mismatch_folded),
        cmocka_unit_test(test_shape_mismatch_signal),
        cmocka_unit_test(test_rate_mismatch),
        cmocka_unit_test(test_undefined_name),
        cmocka_unit_test(test_duplicate_binding),
        cmocka_unit_test(test_duplicate_binding_and_param),
        cmocka_unit_test(test_duplicate_def_and_binding),
        cmocka_unit_test(test_missing_out),
        cmocka_unit_test(test_two_outs),
        cmocka_unit_test(test_return_outside_def),
        cmocka_unit_test(test_bad_unit_setting),
        cmocka_unit_test(test_bad_unit_param),
        cmocka_unit_test(test_bad_unit_lexer),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_recursive_def),
        cmocka_unit_test(test_def_without_return),
        cmocka_unit_test(test_statements_in_def),
        cmocka_unit_test(test_module_not_found),
        cmocka_unit_test(test_use_module),
        cmocka_unit_test(test_use_stdlib_module),
        cmocka_unit_test(test_module_statements),
        cmocka_unit_test(test_param_bounds_reversed),
        cmocka_unit_test(test_param_init_outside_bounds),
        cmocka_unit_test(test_param_log_nonpositive),
        cmocka_unit_test(test_param_size_mismatch),
        cmocka_unit_test(test_param_declarations),
        cmocka_unit_test(test_param_decl),
        cmocka_unit_test(test_units_exact),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_constant_folding),
        cmocka_unit_test(test_long_sum),
        cmocka_unit_test(test_def_expansion),
        cmocka_unit_test(test_def_many_formals),
        cmocka_unit_test(test_control_times_audio),
        cmocka_unit_test(test_rates_inferred),
        cmocka_unit_test(test_broadcast_channels),
        cmocka_unit_test(test_out_coerced_to_audio),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_param_unused_warning),
        cmocka_unit_test(test_text_diagnostics),
        cmocka_unit_test(test_json_diagnostics),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
