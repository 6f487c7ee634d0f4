/* The executor: streaming gives the same signal as one whole pass for any
 * block size, a long stream needs memory for a block and not for the whole
 * signal, the memory plan of a gradient run reuses buffers, adjoints add up
 * over every consumer of a node, and nodes that do not depend on params are
 * computed once per program; kernels report faults, the first of a pass kept. */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "render.h"

#define PI 3.14159265358979323846

/* Patches with control-rate params (set per frame by fill_params), control-rate
 * nodes, interpolation to audio rate, delays, envelopes and noise. */
static const char *const stream_patches[] = {
    "rate 16000\nframes 250 hz\nparam x[3] = 0.1 per frame\n"
    "out mix(sine([220, 330, 440]) * x)\n",

    "rate 16000\nframes 250 hz\nparam f0 = 200 per frame\nparam amps[5] = 0.1 per frame\n"
    "out harmonic(f0, amps) + upsample(f0) / 1000\n",

    "rate 16000\nframes 250 hz\nparam x[2] = 0 per frame\n"
    "out saw(300 + 100 * tanh(x * x)) + square(db(x))\n",

    "rate 16000\nout delay(noise(seed: 3), line(from: 0, to: 0.02, time: 0.2), max: 0.05)"
    " + delay(triangle(300), 0.11, max: 0.2)\n",

    "rate 16000\nout noise(channels: 2) * adsr(attack: 5 ms, gate: 0.1, release: 0.05)"
    " + noise(seed: 9) * decay(0.03)\n",

    "rate 48000\nframes 100 hz\nparam g = 1 per frame\n"
    "out mix(sine(100 * pow(1.05, range(8)))) * g / 8\n",
};

/* Every param gets values that change from frame to frame. */
static void fill_params(wf_run *r)
{
    for (int i = 0; i < r->ps.n; i++) {
        wf_param *p = &r->ps.v[i];
        for (size_t j = 0; j < wf_param_len(p); j++)
            p->value[j] = (wf_real)(p->decl->init[j % (size_t)p->cols] *
                                    (1.5 + sin(0.37 * (double)j + i)));
    }
}

/* Streams a patch in blocks of about `block` samples and checks each block
 * is a whole number of control frames (but the last) and as close to the
 * request as whole frames allow. */
static wf_real *stream(const char *text, int64_t N, int block, wf_run *r)
{
    wf_run_open(r, text, N, WF_RUN_STREAM, block);
    fill_params(r);
    int hop = r->env.hop, C = r->chans;
    wf_real *all = wf_xmalloc(sizeof(wf_real) * (size_t)N * (size_t)C);
    int64_t at = 0;
    int n, size = -1;
    const wf_real *b;
    while ((b = wf_prog_next_block(r->prog, &n))) {
        assert_true(n > 0 && at + n <= N);
        if (at + n < N) {
            if (size < 0)
                size = n;
            assert_int_equal(n, size);
            assert_int_equal(n % hop, 0);
            assert_true(abs(n - block) <= hop / 2 || (block < hop && n == hop));
        }
        memcpy(all + at * C, b, sizeof(wf_real) * (size_t)n * (size_t)C);
        at += n;
    }
    assert_int_equal(at, N);
    assert_null(wf_prog_next_block(r->prog, &n));
    return all;
}

static void test_stream_equals_whole(void **state)
{
    (void)state;
    static const int blocks[] = {1, 64, 100, 777, 2048, 5000, 100000};
    const int64_t N = 5000 + 37; /* not a whole number of frames */
    for (size_t p = 0; p < sizeof stream_patches / sizeof stream_patches[0]; p++) {
        wf_run w;
        wf_run_open(&w, stream_patches[p], N, WF_RUN_WHOLE, 0);
        fill_params(&w);
        const wf_real *y = wf_prog_forward(w.prog);
        int C = w.chans;
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            wf_run s;
            wf_real *z = stream(stream_patches[p], N, blocks[b], &s);
            assert_int_equal(s.chans, C);
            for (int64_t i = 0; i < N * C; i++)
                if (z[i] != y[i])
                    fail_msg("patch %zu in blocks of %d: sample %lld channel %lld is %.9g "
                             "streamed, %.9g whole",
                             p, blocks[b], (long long)(i / C), (long long)(i % C), z[i], y[i]);
            free(z);
            wf_run_close(&s);
        }
        wf_run_close(&w);
    }
}

/* A control-rate node that reads audio streams too: the audio it reads is
 * there when it runs, since what reads it back at audio rate runs a frame
 * late (here behind a streamed input, whose latency is forced). */
static void test_stream_control_reads_audio(void **state)
{
    (void)state;
    const char *texts[] = {
        "rate 16000\nout downsample(noise()) * sine(100)\n",
        "rate 16000\nframes 100 hz\ninput x\nout downsample(x * x) * x + delay(downsample(x), 20 ms)\n",
    };
    const int64_t N = 5000;
    wf_real *data = wf_xcalloc((size_t)N, sizeof(wf_real));
    for (int64_t i = 0; i < N; i++)
        data[i] = (wf_real)sin(0.003 * (double)i * (double)i);
    const int blocks[] = {320, 640, 4800};
    for (int t = 0; t < 2; t++) {
        wf_run w;
        wf_run_open(&w, texts[t], N, WF_RUN_WHOLE, 0);
        if (t == 1)
            wf_prog_set_input(w.prog, 0, 0, data);
        const wf_real *y = wf_prog_forward(w.prog);
        for (int b = 0; b < 3; b++) {
            wf_run s;
            wf_run_open(&s, texts[t], N, WF_RUN_STREAM, blocks[b]);
            if (t == 1) {
                assert_true(wf_prog_latency(s.prog) > 0);
                wf_prog_set_input(s.prog, 0, 0, data);
            }
            wf_real *z = wf_run_collect(&s, blocks[b]);
            for (int64_t i = 0; i < N; i++)
                if (fabs(z[i] - y[i]) > 1e-6 * (1 + fabs(y[i])))
                    fail_msg("patch %d, blocks of %d: sample %lld: %.9g streamed, %.9g whole", t,
                             blocks[b], (long long)i, z[i], y[i]);
            free(z);
            wf_run_close(&s);
        }
        wf_run_close(&w);
    }
    free(data);
}

/* An input read block by block through a reader equals the same data given
 * whole; a reader that runs dry leaves zeros. */
typedef struct reader {
    const wf_real *data;
    int64_t len, at;
} reader;

static int read_some(void *ctx, wf_real *dst, int n)
{
    reader *rd = ctx;
    int64_t left = rd->len - rd->at;
    int k = left < n ? (int)left : n;
    memcpy(dst, rd->data + rd->at * 2, sizeof(wf_real) * 2 * (size_t)k);
    rd->at += k;
    return k;
}

static void test_stream_input(void **state)
{
    (void)state;
    const char *text = "rate 16000\ninput x[2]\nout delay(x, 3 ms) * sine(200) + x\n";
    const int64_t N = 3000, have = 2500;
    wf_real *data = wf_xcalloc((size_t)N * 2, sizeof(wf_real));
    for (int64_t i = 0; i < have * 2; i++)
        data[i] = (wf_real)sin(0.01 * (double)i * (double)i);
    wf_run w;
    wf_run_open(&w, text, N, WF_RUN_WHOLE, 0);
    wf_prog_set_input(w.prog, 0, 0, data);
    const wf_real *y = wf_prog_forward(w.prog);

    wf_run s;
    wf_run_open(&s, text, N, WF_RUN_STREAM, 300);
    reader rd = {data, have, 0};
    wf_prog_set_reader(s.prog, 0, 0, read_some, &rd);
    int64_t at = 0;
    int n;
    const wf_real *b;
    while ((b = wf_prog_next_block(s.prog, &n))) {
        for (int64_t i = 0; i < (int64_t)n * 2; i++)
            if (b[i] != y[at * 2 + i])
                fail_msg("sample %lld: %.9g streamed, %.9g whole", (long long)(at + i / 2), b[i],
                         y[at * 2 + i]);
        at += n;
    }
    assert_int_equal(at, N);
    assert_int_equal(rd.at, have);
    wf_run_close(&s);
    wf_run_close(&w);
    free(data);
}

/* A streamed input given whole is read where it lies once its history is
 * inside the data (before that through a copy that starts as silence): the
 * out as the input itself, and a delay longer than a block, equal the whole
 * pass sample for sample in blocks shorter and longer than the delay, and
 * the data is left as it was. */
static void test_stream_input_in_place(void **state)
{
    (void)state;
    const char *texts[] = {
        "rate 16000\ninput x[2]\nout x\n",
        "rate 16000\ninput x[2]\nout delay(x, 50 ms) * 0.5 + x * sine(300)\n",
    };
    const int64_t N = 6000;
    wf_real *data = wf_xmalloc(sizeof(wf_real) * (size_t)N * 2),
            *keep = wf_xmalloc(sizeof(wf_real) * (size_t)N * 2);
    for (int64_t i = 0; i < N * 2; i++)
        data[i] = keep[i] = (wf_real)sin(0.002 * (double)i * (double)(i % 977));
    const int blocks[] = {128, 320, 4096};
    for (int t = 0; t < 2; t++) {
        wf_run w;
        wf_run_open(&w, texts[t], N, WF_RUN_WHOLE, 0);
        wf_prog_set_input(w.prog, 0, 0, data);
        const wf_real *y = wf_prog_forward(w.prog);
        for (int b = 0; b < 3; b++) {
            wf_run s;
            wf_run_open(&s, texts[t], N, WF_RUN_STREAM, blocks[b]);
            wf_prog_set_input(s.prog, 0, 0, data);
            wf_real *z = wf_run_collect(&s, blocks[b]);
            for (int64_t i = 0; i < N * 2; i++)
                if (z[i] != y[i])
                    fail_msg("patch %d, blocks of %d: sample %lld channel %lld: %.9g streamed, "
                             "%.9g whole",
                             t, blocks[b], (long long)(i / 2), (long long)(i % 2), z[i], y[i]);
            free(z);
            wf_run_close(&s);
        }
        wf_run_close(&w);
    }
    assert_memory_equal(data, keep, sizeof(wf_real) * (size_t)N * 2);
    free(data);
    free(keep);
}

/* Ten minutes of 64 sines at 48 kHz streamed in a child process: its peak
 * resident memory stays small, far below the 115 MB that the mono output
 * alone would take as one buffer (and the 7 GB of the 64 channels). */
/* Streams a patch of `seconds` at `rate` in a child process; the child's
 * peak resident memory in MB. */
static double stream_peak_mb(const char *text, double rate, double seconds)
{
    const int64_t N = (int64_t)(seconds * rate);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wf_diags d = {0};
        wf_patch *pt = wf_compile_text("test.weft", text, NULL, &d);
        if (!pt)
            _exit(2);
        wf_env env = wf_patch_env(pt->g, 0, rate, N);
        wf_params ps;
        if (wf_params_init(&ps, pt->g, &env, NULL, &d))
            _exit(3);
        wf_prog *p = wf_prog_new(pt->g, &env, &ps, WF_RUN_STREAM, 2048, &d);
        if (!p)
            _exit(4);
        int64_t at = 0;
        int n;
        double peak = 0;
        const wf_real *b;
        while ((b = wf_prog_next_block(p, &n))) {
            for (int i = 0; i < n; i++)
                peak = fmax(peak, fabs(b[i]));
            at += n;
        }
        /* a signal within [-1, 1] that is not silence, all of it */
        _exit(at == N && peak > 0.05 && peak <= 1 ? 0 : 5);
    }
    int status;
    struct rusage ru;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* the largest of the waited-for children: this one is the only child */
    assert_int_equal(getrusage(RUSAGE_CHILDREN, &ru), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return ru.ru_maxrss / 1024.0; /* ru_maxrss is in kB on Linux */
}

/* Ten minutes streamed need memory for blocks, not for ten minutes: 64 sines
 * at 48 kHz, and a DDSP-like voice (harmonic, filtered noise that reads
 * ahead, a control signal computed from audio, and a 1 s reverb) at 16 kHz.
 * A second child's figure is the larger of the two (the first exits). */
static void test_stream_memory(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* the sanitizer's shadow memory and quarantine dwarf the figure */
#endif
    double sines = stream_peak_mb("rate 48000\nout mix(sine(100 * pow(1.05, range(64)))) / 64\n",
                                  48000, 600);
    double whole_mb = 600.0 * 48000 * sizeof(wf_real) / (1024.0 * 1024.0);
    if (sines > 64 || sines > whole_mb / 4)
        fail_msg("streaming 10 minutes of sines peaked at %.1f MB (the output alone is %.1f MB)",
                 sines, whole_mb);
    double voice = stream_peak_mb(
        "rate 16000\nframes 250 hz\nparam ir[16000] = 0.00005\n"
        "f0 = 220 * (1 + 0.01 * sine(5))\n"
        "air = 0.05 * downsample(abs(sine(0.5))) * [1, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02]\n"
        "dry = 0.5 * harmonic(f0, 0.4 / (range(30) + 1)) + filtered_noise(noise(), air)\n"
        "out 0.5 * (dry + reverb(dry, ir))\n",
        16000, 600);
    if (voice > 50)
        fail_msg("streaming 10 minutes of a harmonic + filtered noise + reverb voice peaked at "
                 "%.1f MB (at most 50)", voice);
}

/* Gradient of sum(w * y) with respect to every param, w[n] = a cosine so
 * that every sample counts with its own weight. */
static void grad_of(wf_run *r, const wf_real *w)
{
    wf_params_zero_grad(&r->ps);
    wf_prog_forward(r->prog);
    wf_prog_backward(r->prog, w);
}

static wf_real *weights(int64_t N)
{
    wf_real *w = wf_xmalloc(sizeof(wf_real) * (size_t)N);
    for (int64_t n = 0; n < N; n++)
        w[n] = (wf_real)cos(0.05 * (double)n);
    return w;
}

static double sine_at(int64_t n, double f, double sr)
{
    return sin(2 * PI * fmod((double)n * f / sr, 1.0));
}

/* A chain of nodes in a gradient run: outputs and adjoints of the middle of
 * the chain are short-lived, so they share arena bytes; the gradient is
 * still right. y = tanh(s g + 10 g), s a sine. */
static void test_grad_memory_plan(void **state)
{
    (void)state;
    const int64_t N = 4000;
    const char *text = "rate 16000\nparam g = 0.1\n"
                       "out tanh(sine(440) * g + g + g + g + g + g + g + g + g + g + g)\n";
    wf_run r;
    wf_run_open(&r, text, N, WF_RUN_GRAD, 0);
    assert_int_equal(wf_run_uses(&r, "add"), 10);
    /* every audio-rate node but the sine (computed once, outside the arena)
     * has an output and an adjoint of N samples */
    int chain = 0;
    for (int i = 0; i < r.patch->g->n; i++)
        chain += r.patch->g->nodes[i].shape.rate == WF_RATE_AUDIO;
    chain -= wf_run_uses(&r, "sine");
    assert_int_equal(chain, 12);
    size_t buffer = (size_t)N * sizeof(wf_real);
    size_t arena = wf_prog_arena_bytes(r.prog);
    if (arena > 6 * buffer)
        fail_msg("the arena holds %.1f buffers for a chain of %d nodes (%d buffers unshared)",
                 (double)arena / (double)buffer, chain, 2 * chain);

    wf_real *w = weights(N);
    grad_of(&r, w);
    double g = r.ps.v[0].value[0], want = 0;
    for (int64_t n = 0; n < N; n++) {
        double s = (double)(float)sine_at(n, 440, 16000), y = tanh(s * g + 10 * g);
        want += w[n] * (1 - y * y) * (s + 10);
    }
    assert_close(r.ps.v[0].grad[0], want, 1e-4, 1e-4);
    free(w);
    wf_run_close(&r);
}

/* A node feeding two consumers (and both inputs of one) gets the sum of its
 * adjoints; a param feeding several nodes likewise; gradients add up over
 * backward calls and adjoints start from zero in each. */
static void test_grad_shared_nodes(void **state)
{
    (void)state;
    const int64_t N = 2000;
    wf_real *w = weights(N);
    {
        /* y = x x + tanh(x), x = s a: dy/da = s (2 x + 1 - tanh(x)^2) */
        wf_run r;
        wf_run_open(&r, "rate 16000\nparam a = 0.7\nx = sine(440) * a\nout x * x + tanh(x)\n", N,
                    WF_RUN_GRAD, 0);
        grad_of(&r, w);
        double a = r.ps.v[0].value[0], want = 0;
        for (int64_t n = 0; n < N; n++) {
            double s = sine_at(n, 440, 16000), x = s * a, t = tanh(x);
            want += w[n] * s * (2 * x + 1 - t * t);
        }
        double g1 = r.ps.v[0].grad[0];
        assert_close(g1, want, 1e-4, 1e-4);
        /* a second run gives the same, and without zeroing adds to it */
        grad_of(&r, w);
        assert_close(r.ps.v[0].grad[0], g1, 1e-6, 0);
        wf_prog_forward(r.prog);
        wf_prog_backward(r.prog, w);
        assert_close(r.ps.v[0].grad[0], 2 * g1, 1e-6, 0);
        wf_run_close(&r);
    }
    {
        /* y = sum_c s_c up(a_c) + up(a_c a_c): a control-rate param read by
         * an interpolation and by a control-rate product */
        wf_run r;
        wf_run_open(&r,
                    "rate 16000\nframes 250 hz\nparam a[2] = 0.1 per frame\n"
                    "out mix(sine([200, 300]) * a + a * a)\n",
                    N, WF_RUN_GRAD, 0);
        fill_params(&r);
        grad_of(&r, w);
        wf_param *pa = &r.ps.v[0];
        int F = pa->rows, hop = r.env.hop;
        double *want = wf_xcalloc((size_t)F * 2, sizeof(double));
        for (int64_t n = 0; n < N; n++) {
            int64_t i = n / hop;
            double t = (double)(n % hop) / hop;
            int64_t f0 = i < F - 1 ? i : F - 1, f1 = i + 1 < F - 1 ? i + 1 : F - 1;
            for (int c = 0; c < 2; c++) {
                double s = sine_at(n, c ? 300 : 200, 16000);
                want[f0 * 2 + c] += w[n] * (1 - t) * (s + 2 * pa->value[f0 * 2 + c]);
                want[f1 * 2 + c] += w[n] * t * (s + 2 * pa->value[f1 * 2 + c]);
            }
        }
        for (int j = 0; j < F * 2; j++)
            assert_close(pa->grad[j], want[j], 1e-4, 1e-4);
        free(want);
        wf_run_close(&r);
    }
    free(w);
}

/* Nodes that do not depend on a param are computed on the first forward
 * only: a change of the input data shows after wf_prog_invalidate (or a new
 * wf_prog_set_input), while a change of a param shows at once. */
static void test_once_nodes(void **state)
{
    (void)state;
    static const wf_run_mode modes[2] = {WF_RUN_WHOLE, WF_RUN_GRAD};
    const int64_t N = 500;
    for (int m = 0; m < 2; m++) {
        wf_run r;
        wf_run_open(&r, "rate 16000\ninput x\nparam g = 1\nout (x * 2 + sine(100)) * g\n", N,
                    modes[m], 0);
        wf_real *x = wf_xmalloc(sizeof(wf_real) * (size_t)N);
        for (int64_t n = 0; n < N; n++)
            x[n] = 1;
        wf_prog_set_input(r.prog, 0, 0, x);
        const wf_real *y = wf_prog_forward(r.prog);
        for (int64_t n = 0; n < N; n++)
            assert_close(y[n], 2 + sine_at(n, 100, 16000), 0, 2e-6);
        for (int64_t n = 0; n < N; n++)
            x[n] = 3;
        r.ps.v[0].value[0] = 10;
        y = wf_prog_forward(r.prog);
        for (int64_t n = 0; n < N; n++)
            assert_close(y[n], 10 * (2 + sine_at(n, 100, 16000)), 0, 2e-5);
        wf_prog_invalidate(r.prog);
        y = wf_prog_forward(r.prog);
        for (int64_t n = 0; n < N; n++)
            assert_close(y[n], 10 * (6 + sine_at(n, 100, 16000)), 0, 2e-5);
        wf_real *x2 = wf_xmalloc(sizeof(wf_real) * (size_t)N);
        for (int64_t n = 0; n < N; n++)
            x2[n] = -1;
        wf_prog_set_input(r.prog, 0, 0, x2);
        y = wf_prog_forward(r.prog);
        for (int64_t n = 0; n < N; n++)
            assert_close(y[n], 10 * (-2 + sine_at(n, 100, 16000)), 0, 2e-5);
        free(x2);
        free(x);
        wf_run_close(&r);
    }
}

/* Kernel faults: a kind of the test's own passes its input through and
 * reports a fault at every sample from 0.01 s on while its input is above
 * 1. The first report of a pass is the one kept, at its time, in whole and
 * streamed runs alike; a pass without one clears it. */
static void faulty_forward(wf_kctx *k)
{
    for (int t = 0; t < k->out.n; t++) {
        k->out.p[t] = k->in[0].p[0];
        if (k->in[0].p[0] > 1 && k->t0 + t >= (int64_t)(0.01 * k->env->sr))
            wf_kernel_fault(k, t, t % 2 ? "odd" : "even");
    }
}

static void faulty_backward(wf_kctx *k)
{
    (void)k;
}

static const wf_arg_spec faulty_args[] = {{"x", WF_ARG_SIGNAL, NULL, "", 0, NULL, 0, 1}};
static const wf_node_kind faulty = {
    .name = "faulty", .family = "test", .doc = "", .args = faulty_args, .nargs = 1,
    .infer = wf_infer_generator, .forward = faulty_forward, .backward = faulty_backward,
};

static void test_kernel_faults(void **state)
{
    (void)state;
    wf_graph *g = wf_graph_new();
    g->params = wf_xcalloc(1, sizeof *g->params);
    wf_param_decl *pd = &g->params[g->nparams++];
    pd->name = wf_xstrdup("x");
    pd->rate = WF_RATE_CONST;
    pd->size = 1;
    pd->init = wf_xcalloc(1, sizeof(double));
    pd->init[0] = 2;
    int x = wf_graph_add(g, &wf_kind_param, 0, NULL, (wf_loc){0});
    g->nodes[x].ref = 0;
    g->nodes[x].shape = wf_shape_of(WF_RATE_CONST, 1);
    pd->node = x;
    wf_diags d = {0};
    int f = wf_build_node(g, &faulty, 1, &x, NULL, (wf_loc){0}, &d);
    assert_true(f >= 0);
    g->out = f;
    wf_env env = wf_patch_env(g, 0, 16000, 1600);
    wf_params ps;
    assert_int_equal(wf_params_init(&ps, g, &env, NULL, &d), 0);
    double when;
    const char *what;
    wf_prog *p = wf_prog_new(g, &env, &ps, WF_RUN_WHOLE, 0, &d);
    assert_int_equal(wf_prog_fault(p, &when, &what), -1);
    assert_true(wf_prog_forward(p)[0] == 2);
    assert_int_equal(wf_prog_fault(p, &when, &what), f);
    assert_close(when, 0.01, 0, 1e-12);
    assert_string_equal(what, "even");
    ps.v[0].value[0] = 0.5;
    wf_prog_forward(p);
    assert_int_equal(wf_prog_fault(p, &when, &what), -1);
    wf_prog_free(p);
    ps.v[0].value[0] = 2;
    p = wf_prog_new(g, &env, &ps, WF_RUN_STREAM, 64, &d);
    int n;
    while (wf_prog_next_block(p, &n))
        ;
    assert_int_equal(wf_prog_fault(p, &when, &what), f);
    assert_close(when, 0.01, 0, 1e-12);
    wf_prog_free(p);
    wf_params_free(&ps);
    wf_graph_free(g);
    wf_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_memory),
        cmocka_unit_test(test_stream_equals_whole),
        cmocka_unit_test(test_stream_control_reads_audio),
        cmocka_unit_test(test_stream_input),
        cmocka_unit_test(test_stream_input_in_place),
        cmocka_unit_test(test_grad_memory_plan),
        cmocka_unit_test(test_grad_shared_nodes),
        cmocka_unit_test(test_once_nodes),
        cmocka_unit_test(test_kernel_faults),
    };
    return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
