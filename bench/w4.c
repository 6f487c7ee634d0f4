/* W4 decoder step (bench/WORKLOADS.md): one training step of DDSP's
 * RnnFcDecoder driving the harmonic + filtered-noise synth, batch 4 x 1000
 * frames at 250 Hz (16 kHz audio, 4 s), MSS over the batch, Adam (lr 1e-3).
 * The model is a weft patch compiled from text with stdlib/ddsp.weft's
 * defs (mlp3 with slope 0, i.e. ReLU; rnn_core's GRU; ddsp_synth), the
 * batch items its lanes: f0, loudness and the noise are per-item inputs
 * (f0 and loudness held over each hop, so downsample() gives the frames
 * back), the targets per item. The 166-wide output layer is three dense
 * heads (amplitude, 100 harmonics, 65 bands): the columns of one matrix,
 * so the same maths. Initial values as WORKLOADS.md numbers them
 * (PyTorch's named_parameters order; weft's matrices are PyTorch's
 * transposed). Timed: each whole step (zeroed gradients, forward, loss,
 * backward, Adam) separately, 2 warm-up steps then 10, one training run;
 * every step's loss is printed. */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench.h"
#include "runtime/exec.h"
#include "runtime/fit.h"
#include "runtime/rng.h"
#include "runtime/util.h"

#define SR 16000
#define N 64000
#define F 1000
#define HOP 64
#define K 100
#define B 65
#define H 256
#define BATCH 4
#define PI 3.14159265358979323846

#define STACK(p, in)                                                                           \
    "param " p "w1[" in ", 256] = 0\nparam " p "b1[256] = 0\nparam " p "g1[256] = 1\nparam " p  \
    "c1[256] = 0\n"                                                                            \
    "param " p "w2[256, 256] = 0\nparam " p "b2[256] = 0\nparam " p "g2[256] = 1\nparam " p     \
    "c2[256] = 0\n"                                                                            \
    "param " p "w3[256, 256] = 0\nparam " p "b3[256] = 0\nparam " p "g3[256] = 1\nparam " p     \
    "c3[256] = 0\n"
#define CALL(p, x)                                                                             \
    "mlp3(" x ", " p "w1, " p "b1, " p "g1, " p "c1, " p "w2, " p "b2, " p "g2, " p "c2, " p     \
    "w3, " p "b3, " p "g3, " p "c3, slope: 0)"

static const char *patch =
    "use ddsp\nrate 16 khz\nframes 250 hz\nlength 4 s\n"
    "input f0in\ninput ldin\ninput x\n"
    STACK("f", "1") STACK("l", "1")
    "param wi[512, 768] = 0\nparam wh[256, 768] = 0\nparam bi[768] = 0\nparam bh[768] = 0\n"
    STACK("o", "768")
    "param wa[256, 1] = 0\nparam ba[1] = 0\nparam wd[256, 100] = 0\nparam bd[100] = 0\n"
    "param wn[256, 65] = 0\nparam bn[65] = 0\n"
    "f0 = downsample(f0in)\n"
    "a = " CALL("f", "scale_f0(f0)") "\n"
    "l = " CALL("l", "scale_db(downsample(ldin))") "\n"
    "h = " CALL("o", "rnn_core(a, l, wi, wh, bi, bh)") "\n"
    "out ddsp_synth(f0, dense(h, wa, ba), dense(h, wd, bd), dense(h, wn, bn), x, harmonics: 100)\n";

static wf_real *param(wf_params *ps, const char *name, size_t len)
{
    int i = wf_params_find(ps, name);
    if (i < 0 || wf_param_len(&ps->v[i]) != len) {
        fprintf(stderr, "w4: param '%s' is missing or has the wrong size\n", name);
        exit(1);
    }
    return ps->v[i].value;
}

/* PyTorch's weight [out, in] = U(seed, out in) / sqrt(in), stored as weft's
 * w[in, cols] from column c0 (the transpose). */
static void weight(wf_real *w, int cols, int c0, uint64_t seed, int out, int in)
{
    double s = 1 / sqrt((double)in);
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            w[(size_t)i * cols + c0 + o] =
                (wf_real)(wf_uniform(seed, (uint64_t)o * in + (uint64_t)i) * s);
}

/* The 2-D weights by their index in named_parameters (biases stay 0 and
 * gains 1 from the patch). */
static void init(wf_params *ps)
{
    static const char *const stacks[3] = {"f", "l", "o"};
    static const int first[3] = {0, 12, 28}, in0[3] = {1, 1, 768};
    for (int s = 0; s < 3; s++)
        for (int j = 0; j < 3; j++) {
            char name[8];
            snprintf(name, sizeof name, "%sw%d", stacks[s], j + 1);
            int in = j ? H : in0[s];
            weight(param(ps, name, (size_t)in * H), H, 0, 1000 + (uint64_t)(first[s] + 4 * j), H, in);
        }
    weight(param(ps, "wi", 512 * 768), 768, 0, 1024, 768, 512);
    weight(param(ps, "wh", 256 * 768), 768, 0, 1025, 768, 256);
    /* dense.weight [166, 256]: rows 0, 1..100 and 101..165 are the heads */
    static wf_real full[256 * 166];
    weight(full, 166, 0, 1040, 166, 256);
    wf_real *wa = param(ps, "wa", 256), *wd = param(ps, "wd", 256 * 100), *wn = param(ps, "wn", 256 * 65);
    for (int i = 0; i < 256; i++) {
        wa[i] = full[i * 166];
        for (int k = 0; k < K; k++)
            wd[i * K + k] = full[i * 166 + 1 + k];
        for (int b = 0; b < B; b++)
            wn[i * B + b] = full[i * 166 + 1 + K + b];
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    wf_cli_wait_policy(argv); /* as the weft command runs */
    wf_diags d = {0};
    wf_patch *pt = wf_bench_compile("w4", patch, &d);
    wf_env env = wf_patch_env(pt->g, 0, SR, N);
    if (env.hop != HOP || env.nframes != F) {
        fprintf(stderr, "w4: expected 1000 frames of 64 samples\n");
        return 1;
    }
    /* inputs and targets, in float64 then float32 */
    static wf_real f0[BATCH][N], ld[BATCH][N], x[BATCH][N], tgt[BATCH][N];
    double r[16];
    for (int i = 0; i < 16; i++)
        r[i] = wf_uniform(4, (uint64_t)i);
    for (int b = 0; b < BATCH; b++) {
        for (int f = 0; f < F; f++) {
            double t = f / 250.0;
            wf_real fv = (wf_real)(220 * pow(2, 0.5 * r[4 * b]) *
                                   pow(2, 0.1 * sin(2 * PI * (1 + r[4 * b + 1]) * t)));
            wf_real lv = (wf_real)(-30 + 15 * sin(2 * PI * 0.25 * (3 + r[4 * b + 2]) * t + PI * r[4 * b + 3]));
            for (int j = 0; j < HOP; j++) {
                f0[b][f * HOP + j] = fv;
                ld[b][f * HOP + j] = lv;
            }
        }
        for (int n = 0; n < N; n++) {
            x[b][n] = wf_uniform(6, (uint64_t)b * N + (uint64_t)n);
            tgt[b][n] = (wf_real)(0.1 * wf_uniform(5, (uint64_t)b * N + (uint64_t)n));
        }
    }
    wf_params ps;
    if (wf_params_init(&ps, pt->g, &env, NULL, &d)) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        return 1;
    }
    init(&ps);
    size_t count = 0;
    for (int i = 0; i < ps.n; i++)
        count += wf_param_len(&ps.v[i]);
    if (count != 1231270) {
        fprintf(stderr, "w4: %zu parameters, WORKLOADS.md says 1231270\n", count);
        return 1;
    }
    const char per_item[3] = {1, 1, 1};
    wf_plan o = {WF_RUN_GRAD, 0, BATCH, per_item, NULL};
    wf_prog *p = wf_prog_plan(pt->g, &env, &ps, &o, &d);
    wf_batch_opts bo = {0};
    bo.loss.kind = WF_LOSS_MSS;
    const wf_real *targets[BATCH] = {tgt[0], tgt[1], tgt[2], tgt[3]};
    const int64_t frames[BATCH] = {N, N, N, N};
    wf_batch *batch = wf_batch_new(targets, frames, NULL, BATCH, N, &bo, &d);
    if (!p || !batch) {
        wf_diags_print(stderr, &d, WF_DIAG_TEXT);
        return 1;
    }
    for (int b = 0; b < BATCH; b++) {
        wf_prog_set_input(p, 0, b, f0[b]);
        wf_prog_set_input(p, 1, b, ld[b]);
        wf_prog_set_input(p, 2, b, x[b]);
    }
    wf_optim_opts oo = {0};
    oo.kind = WF_OPTIM_ADAM;
    oo.lr = 1e-3;
    wf_optim *opt = wf_optim_new(&ps, &oo);
    wf_real *dy = wf_aalloc(sizeof(wf_real) * BATCH * N);
    enum { WARMUP = 2, TIMED = 10 };
    double times[TIMED], losses[WARMUP + TIMED];
    for (int s = 0; s < WARMUP + TIMED; s++) {
        double t0 = wf_now();
        losses[s] = wf_fit_grad(p, &ps, batch, s, dy);
        wf_optim_step(opt, &ps);
        double dt = wf_now() - t0;
        if (s >= WARMUP)
            times[s - WARMUP] = dt;
    }
    wf_bench_timing("W4", "ms_per_step", "ms", times, TIMED, 1000.0);
    printf("{\"workload\": \"W4\", \"impl\": \"weft\", \"metric\": \"losses\", \"value\": %.9g, "
           "\"values\": [", losses[WARMUP + TIMED - 1]);
    for (int s = 0; s < WARMUP + TIMED; s++)
        printf("%s%.9g", s ? ", " : "", losses[s]);
    printf("]}\n");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    wf_bench_value("W4", "peak_rss_mb", ru.ru_maxrss / 1024.0);
    wf_bench_value("W4", "arena_mb", (double)wf_prog_arena_bytes(p) / (1024.0 * 1024.0));

    wf_afree(dy);
    wf_optim_free(opt);
    wf_batch_free(batch);
    wf_prog_free(p);
    wf_params_free(&ps);
    wf_patch_free(pt);
    wf_diags_free(&d);
    return 0;
}
