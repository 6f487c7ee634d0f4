/* The player (runtime/playback.h) on its device-free sinks: the file sink
 * writes exactly what the patch renders, "null" consumes at the clock's
 * pace (a loose bound: timing figures belong in bench/), a pull slower than
 * real time counts underruns and never hangs, and a player closed while it
 * plays stops at once with a complete file. */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "render.h"
#include "runtime/audio.h"
#include "runtime/playback.h"

#define SR 48000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Waits for the player to finish, at most `limit` seconds; the time taken. */
static double wait_done(wf_player *p, double limit)
{
    double t0 = now();
    while (!wf_player_done(p)) {
        if (now() - t0 > limit)
            fail_msg("the player did not finish within %g s", limit);
        nap(0.002);
    }
    return now() - t0;
}

/* A streamed program as a pull. */
static const wf_real *pull_prog(void *ctx, int *n, int *chans)
{
    wf_run *r = ctx;
    *chans = r->chans;
    return wf_prog_next_block(r->prog, n);
}

static char *temp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "/tmp/test_playback_%d_%s", (int)getpid(), name);
    return b;
}

static const char *tone = "out 0.5 * sin(440 hz) + 0.25 * saw(97 hz)\n";

/* The file sink's output is the streamed render, sample for sample: the
 * reference goes through the same writer (16-bit WAV), so the two files
 * hold the same samples exactly. */
static void test_file_sink_equals_render(void **state)
{
    (void)state;
    int64_t N = SR / 4;
    wf_run r, ref;
    wf_run_open(&r, tone, N, WF_RUN_STREAM, 256);
    wf_run_open(&ref, tone, N, WF_RUN_STREAM, 1000);
    wf_real *want = wf_xcalloc((size_t)N, sizeof *want);
    int64_t at = 0;
    int n;
    const wf_real *y;
    while ((y = wf_prog_next_block(ref.prog, &n))) {
        memcpy(want + at, y, sizeof *y * (size_t)n);
        at += n;
    }
    assert_int_equal(at, N);
    char *wav = temp_path("play.wav"), *refwav = temp_path("ref.wav");
    wf_diags d = {0};
    assert_int_equal(wf_audio_save(refwav, SR, 1, want, N, WF_FMT_DEFAULT, &d), 0);

    char dev[300];
    snprintf(dev, sizeof dev, "file:%s", wav);
    wf_player_opts o = {dev, SR, 1, 256};
    wf_player *p = wf_player_open(&o, pull_prog, &r, &d);
    assert_non_null(p);
    assert_string_equal(wf_player_sink_name(p), dev);
    wait_done(p, 20);
    assert_int_equal(wf_player_position(p), N);
    assert_int_equal(wf_player_close_diags(p, &d), 0);
    assert_int_equal(d.n, 0);

    wf_real *got, *exp;
    int64_t gn, en;
    int gc, ec;
    assert_int_equal(wf_audio_load(wav, 0, 0, &got, &gn, &gc, &d), 0);
    assert_int_equal(wf_audio_load(refwav, 0, 0, &exp, &en, &ec, &d), 0);
    assert_int_equal(gc, 1);
    assert_int_equal(gn, en);
    for (int64_t i = 0; i < gn; i++)
        if (got[i] != exp[i])
            fail_msg("sample %lld: %g, the render has %g", (long long)i, (double)got[i],
                     (double)exp[i]);
    wf_afree(got);
    wf_afree(exp);
    free(want);
    unlink(wav);
    unlink(refwav);
    wf_run_close(&r);
    wf_run_close(&ref);
    wf_diags_free(&d);
}

/* A mono patch into a stereo sink: the same samples on both channels. */
static void test_mono_to_stereo(void **state)
{
    (void)state;
    int64_t N = SR / 20;
    wf_run r;
    wf_run_open(&r, tone, N, WF_RUN_STREAM, 512);
    char *wav = temp_path("stereo.wav");
    char dev[300];
    snprintf(dev, sizeof dev, "file:%s", wav);
    wf_diags d = {0};
    wf_player_opts o = {dev, SR, 2, 0};
    wf_player *p = wf_player_open(&o, pull_prog, &r, &d);
    assert_non_null(p);
    wait_done(p, 20);
    assert_int_equal(wf_player_close_diags(p, &d), 0);
    wf_real *got;
    int64_t gn;
    int gc;
    assert_int_equal(wf_audio_load(wav, 0, 0, &got, &gn, &gc, &d), 0);
    assert_int_equal(gc, 2);
    assert_int_equal(gn, N);
    double energy = 0;
    for (int64_t i = 0; i < gn; i++) {
        assert_true(got[2 * i] == got[2 * i + 1]);
        energy += got[2 * i] * got[2 * i];
    }
    assert_true(energy > 0.01 * (double)N);
    wf_afree(got);
    unlink(wav);
    wf_run_close(&r);
    wf_diags_free(&d);
}

/* "null" takes the audio at the clock's pace: 0.3 s of audio lasts about
 * 0.3 s (bounds loose enough for a loaded machine: not in much less than
 * its length, not in ten times it), and the position is never ahead of the
 * clock by more than the ring. */
static void test_null_sink_pace(void **state)
{
    (void)state;
    int64_t N = (int64_t)(0.3 * SR);
    wf_run r;
    wf_run_open(&r, tone, N, WF_RUN_STREAM, 480);
    wf_diags d = {0};
    wf_player_opts o = {"null", SR, 1, 480};
    double t0 = now();
    wf_player *p = wf_player_open(&o, pull_prog, &r, &d);
    assert_non_null(p);
    assert_string_equal(wf_player_sink_name(p), "null");
    double lat = wf_player_latency(p);
    assert_true(lat >= 0.05 && lat < 0.2);
    nap(0.1);
    double ahead = (double)wf_player_position(p) / SR - (now() - t0);
    assert_true(ahead < lat);
    double took = wait_done(p, 3.0) + 0.1;
    assert_true(took > 0.3 - 2 * 480.0 / SR);
    assert_int_equal(wf_player_position(p), N);
    wf_player_close(p);
    wf_run_close(&r);
    wf_diags_free(&d);
}

/* A pull four times slower than real time. */
typedef struct slow {
    wf_real buf[240];
    int left;
} slow;

static const wf_real *pull_slow(void *ctx, int *n, int *chans)
{
    slow *s = ctx;
    if (s->left-- <= 0)
        return NULL;
    nap(4 * 240.0 / SR);
    *n = 240;
    *chans = 1;
    return s->buf;
}

/* Underruns are counted, playback goes on, and the player finishes. */
static void test_underruns_counted(void **state)
{
    (void)state;
    slow s = {{0}, 40};
    wf_diags d = {0};
    wf_player_opts o = {"null", SR, 1, 240};
    wf_player *p = wf_player_open(&o, pull_slow, &s, &d);
    assert_non_null(p);
    wait_done(p, 10);
    long u = wf_player_underruns(p);
    assert_true(u > 0);
    assert_true(u <= 4 * 40 + 4);
    wf_player_close(p);
    wf_diags_free(&d);
}

/* A pull without end. */
typedef struct endless {
    wf_real buf[2 * 256];
    atomic_long blocks;
} endless;

static const wf_real *pull_endless(void *ctx, int *n, int *chans)
{
    endless *e = ctx;
    long b = atomic_fetch_add(&e->blocks, 1);
    for (int i = 0; i < 256; i++)
        e->buf[2 * i] = e->buf[2 * i + 1] = (wf_real)(0.25 * sin(0.01 * (double)(b * 256 + i)));
    *n = 256;
    *chans = 2;
    return e->buf;
}

/* Closing while playing stops at once; the file then holds what was played,
 * complete and readable; nothing more is pulled after the close. */
static void test_close_while_playing(void **state)
{
    (void)state;
    const char *devs[2] = {"null", NULL};
    char *wav = temp_path("endless.wav");
    char dev[300];
    snprintf(dev, sizeof dev, "file:%s", wav);
    devs[1] = dev;
    for (int k = 0; k < 2; k++) {
        endless e = {{0}, 0};
        wf_diags d = {0};
        wf_player_opts o = {devs[k], SR, 2, 256};
        wf_player *p = wf_player_open(&o, pull_endless, &e, &d);
        assert_non_null(p);
        nap(0.15);
        assert_false(wf_player_done(p));
        int64_t played = wf_player_position(p);
        assert_true(played > 0);
        double t0 = now();
        assert_int_equal(wf_player_close_diags(p, &d), 0);
        assert_true(now() - t0 < 1.0);
        long pulled = atomic_load(&e.blocks);
        nap(0.02);
        assert_int_equal(atomic_load(&e.blocks), pulled);
        if (k == 1) {
            wf_real *got;
            int64_t gn;
            int gc;
            assert_int_equal(wf_audio_load(wav, 0, 0, &got, &gn, &gc, &d), 0);
            assert_int_equal(gc, 2);
            assert_true(gn >= played && gn <= pulled * 256);
            assert_close(got[2 * 100], 0.25 * sin(0.01 * 100), 0, 1e-4);
            wf_afree(got);
            unlink(wav);
        }
        wf_diags_free(&d);
    }
}

/* A sink that cannot be opened: NULL and one diagnostic. */
static void test_open_failures(void **state)
{
    (void)state;
    endless e = {{0}, 0};
    wf_diags d = {0};
    wf_player_opts o = {"file:/nonexistent-folder/x.wav", SR, 2, 256};
    assert_null(wf_player_open(&o, pull_endless, &e, &d));
    assert_int_equal(d.errors, 1);
    assert_string_equal(wf_diag_code_name(d.v[0].code), "cannot-write");
    wf_diags_clear(&d);
    o.device = "no-such-device-anywhere";
    assert_null(wf_player_open(&o, pull_endless, &e, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(wf_diag_code_name(d.v[0].code), "no-audio-device");
    assert_non_null(strstr(d.v[0].msg, "no-such-device-anywhere"));
    assert_int_equal(atomic_load(&e.blocks), 0);
    wf_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_sink_equals_render),
        cmocka_unit_test(test_mono_to_stereo),
        cmocka_unit_test(test_null_sink_pace),
        cmocka_unit_test(test_underruns_counted),
        cmocka_unit_test(test_close_while_playing),
        cmocka_unit_test(test_open_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
