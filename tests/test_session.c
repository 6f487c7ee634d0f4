/* The live session, driven as the REPL drives it: statements added one by
 * one while blocks render, redefinitions that keep untouched oscillators in
 * phase and fade from the old program to the new over the crossfade, edits
 * that do not compile and change nothing, params that keep their values, and
 * notes played by voices. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "lang/session.h"
#include "runtime/util.h"

#define SR 16000.0
#define BLOCK 256
#define PI 3.14159265358979323846

static wf_session *open_session(double crossfade)
{
    wf_session_opts o = {0};
    o.rate = SR;
    o.block = BLOCK;
    o.crossfade = crossfade;
    o.max_seconds = 2;
    return wf_session_new(&o);
}

static void eval_ok(wf_session *s, const char *text)
{
    wf_diags d = {0};
    if (wf_session_eval(s, text, &d)) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        fail_msg("the session refused: %s", text);
    }
    wf_diags_free(&d);
}

/* Renders `blocks` blocks into y (from sample at), checking their shape. */
static int64_t render(wf_session *s, wf_real *y, int64_t at, int blocks, int chans)
{
    for (int b = 0; b < blocks; b++) {
        int n, c;
        assert_int_equal(wf_session_position(s), at);
        const wf_real *x = wf_session_next_block(s, &n, &c);
        assert_non_null(x);
        assert_int_equal(n, BLOCK);
        assert_int_equal(c, chans);
        memcpy(y + (size_t)at * (size_t)c, x, sizeof(wf_real) * (size_t)n * (size_t)c);
        at += n;
    }
    return at;
}

/* The weight of the new program at sample t of a fade starting at p. */
static double fade_in(int64_t t, int64_t p, int len)
{
    return t < p ? 0 : t >= p + len ? 1 : (double)(t - p) / len;
}

/* Statements added one by one: silence until there is an out, then the out
 * fades in; redefining g fades from 0.5 a to 0.25 a, and the sine of a keeps
 * its phase throughout (it is the same node in both programs). */
static void test_redefine_keeps_phase(void **state)
{
    (void)state;
    const int F = 160; /* 10 ms */
    wf_session *s = open_session(F / SR);
    wf_real *y = wf_xcalloc(40 * BLOCK, sizeof(wf_real));
    eval_ok(s, "a = sine(220 hz)");
    eval_ok(s, "g = 0.5");
    int64_t at = render(s, y, 0, 2, 1);
    for (int64_t t = 0; t < at; t++)
        assert_true(y[t] == 0);
    int64_t p1 = at;
    eval_ok(s, "out a * g\n");
    at = render(s, y, at, 10, 1);
    int64_t p2 = at;
    eval_ok(s, "g = 0.25   # quieter\n");
    assert_true(wf_session_kept(s) >= 1);
    at = render(s, y, at, 10, 1);
    /* the sine started with the first out, at p1, phase 0 */
    for (int64_t t = p1; t < at; t++) {
        double sine = sin(2 * PI * 220 * (double)(t - p1) / SR);
        double w1 = fade_in(t, p1, F), w2 = fade_in(t, p2, F);
        double want = w1 * ((1 - w2) * 0.5 + w2 * 0.25) * sine;
        assert_close(y[t], want, 0, 2e-6);
    }
    char *text = wf_session_text(s);
    assert_string_equal(text, "a = sine(220 hz)\ng = 0.25   # quieter\nout a * g\n");
    free(text);
    free(y);
    wf_session_free(s);
}

/* A new part of the patch leaves the parts it does not touch in phase: the
 * out gains a channel and a saw; the sine of its first channel continues. */
static void test_structure_change(void **state)
{
    (void)state;
    wf_session *s = open_session(-1); /* no crossfade: the swap itself is seamless */
    wf_real *y = wf_xcalloc(2 * 20 * BLOCK, sizeof(wf_real));
    eval_ok(s, "rate 16000\na = sine(300)\nout [a, 0]\n");
    int64_t at = render(s, y, 0, 6, 2);
    eval_ok(s, "b = 0.1 * saw(110)\nout [a, b]\n");
    at = render(s, y, at, 6, 2);
    for (int64_t t = 0; t < at; t++)
        assert_close(y[2 * t], sin(2 * PI * 300 * (double)t / SR), 0, 2e-6);
    assert_true(fabs(y[2 * (at - 10) + 1]) > 0);
    free(y);
    wf_session_free(s);
}

/* A feedback loop is a node like any other: an edit elsewhere keeps its
 * state, so an echo's tail goes on through the swap (against the same
 * patch left alone). */
static void test_edit_keeps_echo(void **state)
{
    (void)state;
    const char *patch = "x = noise(seed: 3) * line(from: 1, to: 0, time: 5 ms)\n"
                        "y = x + 0.9 * delay(y, 30 ms)\nout y\n";
    wf_session *a = open_session(-1), *b = open_session(-1);
    eval_ok(a, patch);
    eval_ok(b, patch);
    wf_real *ya = wf_xcalloc(20 * BLOCK, sizeof(wf_real)), *yb = wf_xcalloc(20 * BLOCK, sizeof(wf_real));
    int64_t at = render(a, ya, 0, 10, 1), p = at;
    eval_ok(a, "out 0.5 * y\n");
    assert_true(wf_session_kept(a) >= 1);
    render(a, ya, at, 10, 1);
    render(b, yb, 0, 20, 1);
    double tail = 0;
    for (int64_t t = 0; t < 20 * BLOCK; t++) {
        assert_close(ya[t], t < p ? yb[t] : 0.5 * yb[t], 0, 1e-6);
        if (t >= p)
            tail += fabs(yb[t]);
    }
    assert_true(tail > 1); /* the echo still sounds after the edit */
    free(ya);
    free(yb);
    wf_session_free(a);
    wf_session_free(b);
}

/* Edits that do not compile leave the running graph as it was, and say why
 * in the text they came from. */
static void test_bad_edit_changes_nothing(void **state)
{
    (void)state;
    wf_session *a = open_session(0), *b = open_session(0);
    eval_ok(a, "out sine(440) * 0.3\n");
    eval_ok(b, "out sine(440) * 0.3\n");
    wf_real *ya = wf_xcalloc(20 * BLOCK, sizeof(wf_real)), *yb = wf_xcalloc(20 * BLOCK, sizeof(wf_real));
    int64_t at = render(a, ya, 0, 4, 1);
    render(b, yb, 0, 4, 1);
    static const struct {
        const char *text, *code;
    } bad[] = {
        {"out sine(", "unclosed-bracket"},
        {"out sinr(440)", "unknown-node"},
        {"x = y + 1", "undefined-name"},
        {"out [sine(1), sine(2)] * [1, 2, 3]", "shape-mismatch"},
        {"input x\nout x", "session-input-no-file"},
        {"length 200000 s", "session-length"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wf_diags d = {0};
        assert_int_equal(wf_session_eval(a, bad[i].text, &d), -1);
        assert_true(d.errors > 0);
        int found = 0;
        for (int k = 0; k < d.n; k++)
            found |= strcmp(wf_diag_code_name(d.v[k].code), bad[i].code) == 0;
        if (!found) {
            wf_diags_print(stderr, &d, WF_DIAG_TEXT);
            fail_msg("'%s': no %s", bad[i].text, bad[i].code);
        }
        assert_non_null(d.v[0].loc.src);
        assert_non_null(strstr(d.v[0].loc.src->path, "session["));
        wf_diags_free(&d);
        render(a, ya, at, 2, 1);
        at = render(b, yb, at, 2, 1);
    }
    for (int64_t t = 0; t < at; t++)
        assert_true(ya[t] == yb[t]);
    char *text = wf_session_text(a);
    assert_string_equal(text, "out sine(440) * 0.3\n");
    free(text);
    wf_diags d = {0};
    assert_int_equal(wf_session_forget(a, "nope", &d), -1);
    assert_int_equal(d.n, 1);
    assert_string_equal(wf_diag_code_name(d.v[0].code), "nothing-to-forget");
    wf_diags_free(&d);
    free(ya);
    free(yb);
    wf_session_free(a);
    wf_session_free(b);
}

/* Params keep the values they were given while other statements change; a
 * param whose own statement changes starts from its new value. */
static void test_params_kept(void **state)
{
    (void)state;
    wf_session *s = open_session(0);
    eval_ok(s, "param k = 0.5 in [0, 1]\nout sine(200) * k\n");
    wf_params *ps = wf_session_params(s);
    int i = wf_params_find(ps, "k");
    assert_true(i >= 0);
    ps->v[i].value[0] = (wf_real)0.125;
    eval_ok(s, "out sine(250) * k\n");
    ps = wf_session_params(s);
    assert_close(ps->v[wf_params_find(ps, "k")].value[0], 0.125, 0, 0);
    eval_ok(s, "param k = 0.75 in [0, 1]\n");
    ps = wf_session_params(s);
    assert_close(ps->v[wf_params_find(ps, "k")].value[0], 0.75, 0, 1e-7);
    wf_diags d = {0};
    assert_int_equal(wf_session_forget(s, "nope", &d), -1);
    wf_diags_free(&d);
    assert_int_equal(wf_session_forget(s, "out", &d), 0);
    wf_diags_free(&d);
    int n, c;
    const wf_real *y = NULL;
    for (int b = 0; b < 10; b++) /* past the fade, silence again */
        y = wf_session_next_block(s, &n, &c);
    for (int t = 0; t < n; t++)
        assert_true(y[t] == 0);
    wf_session_free(s);
}

/* Notes written in the session play on their own voices: two notes a fifth
 * apart, one after the other, overlapping. */
static void test_session_notes(void **state)
{
    (void)state;
    wf_session *s = open_session(-1);
    eval_ok(s, "input n = [a4 0 s 0.2 s, e5 0.1 s 0.2 s]\n"
               "out sine(n.freq) * adsr(attack: 1 ms, release: 5 ms, sustain: 1, gate: n.gate)\n");
    wf_real *y = wf_xcalloc(30 * BLOCK, sizeof(wf_real));
    render(s, y, 0, 30, 1);
    /* between 0.1 s and 0.2 s both sound: the peak exceeds one voice's */
    double peak1 = 0, peak2 = 0;
    for (int t = 400; t < 1600; t++)
        peak1 = fmax(peak1, fabs(y[t]));
    for (int t = 1700; t < 3100; t++)
        peak2 = fmax(peak2, fabs(y[t]));
    assert_close(peak1, 1, 0, 1e-3);
    assert_true(peak2 > 1.5);
    free(y);
    wf_session_free(s);
}

/* A player on its own thread, as the REPL's: it pulls blocks (about one
 * every 0.3 ms) while this thread edits the session 40 times, redefining g
 * between 0.5 and 0.25, trying edits and setting a param under the lock.
 * Without a crossfade every block is g * k * the sine, whole, for one of
 * the gains: each swap lands at a block boundary, no block is torn, and the
 * sine keeps its phase through every swap. */
typedef struct player {
    wf_session *s;
    wf_real *y;
    int blocks;
} player;

static void *play(void *ctx)
{
    player *p = ctx;
    struct timespec pause = {0, 300000};
    for (int b = 0; b < p->blocks; b++) {
        int n, c;
        const wf_real *x = wf_session_next_block(p->s, &n, &c);
        if (!x || n != BLOCK || c != 1)
            return "a block of another shape";
        memcpy(p->y + (size_t)b * BLOCK, x, sizeof(wf_real) * BLOCK);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void test_edits_while_playing(void **state)
{
    (void)state;
    wf_session *s = open_session(-1);
    eval_ok(s, "length 60 s\nparam k = 1 fixed\na = sine(100)\ng = 0.5\nout a * g * k\n");
    player p = {s, NULL, 3000};
    p.y = wf_xcalloc((size_t)p.blocks * BLOCK, sizeof(wf_real));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, play, &p), 0);
    struct timespec pause = {0, 5000000};
    for (int i = 0; i < 40; i++) {
        eval_ok(s, i % 2 ? "g = 0.5\n" : "g = 0.25\n");
        wf_diags d = {0};
        assert_int_equal(wf_session_try(s, "out a * nope\n", &d), -1);
        wf_diags_free(&d);
        wf_session_lock(s);
        wf_params *ps = wf_session_params(s);
        ps->v[wf_params_find(ps, "k")].value[0] = 1; /* the same value, written while it plays */
        wf_session_unlock(s);
        assert_true(wf_session_position(s) >= 0);
        nanosleep(&pause, NULL);
    }
    void *why;
    pthread_join(th, &why);
    if (why)
        fail_msg("the player: %s", (const char *)why);
    int count[2] = {0, 0};
    for (int b = 0; b < p.blocks; b++) {
        /* which gain: from the block's largest sample against the sine's */
        int at = 0;
        for (int t = 0; t < BLOCK; t++)
            if (fabs(sin(2 * PI * 100 * (double)(b * BLOCK + t) / SR)) >
                fabs(sin(2 * PI * 100 * (double)(b * BLOCK + at) / SR)))
                at = t;
        double sa = sin(2 * PI * 100 * (double)(b * BLOCK + at) / SR);
        double g = p.y[(size_t)b * BLOCK + at] / sa;
        int which = fabs(g - 0.25) < fabs(g - 0.5);
        count[which]++;
        for (int t = 0; t < BLOCK; t++) {
            int64_t i = (int64_t)b * BLOCK + t;
            assert_close(p.y[i], (which ? 0.25 : 0.5) * sin(2 * PI * 100 * (double)i / SR), 0, 2e-6);
        }
    }
    print_message("blocks at 0.5: %d, at 0.25: %d\n", count[0], count[1]);
    assert_true(count[0] > 0 && count[1] > 0);
    free(p.y);
    wf_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redefine_keeps_phase),
        cmocka_unit_test(test_structure_change),
        cmocka_unit_test(test_edit_keeps_echo),
        cmocka_unit_test(test_bad_edit_changes_nothing),
        cmocka_unit_test(test_params_kept),
        cmocka_unit_test(test_session_notes),
        cmocka_unit_test(test_edits_while_playing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
