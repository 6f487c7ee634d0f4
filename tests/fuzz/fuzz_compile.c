/* libFuzzer target for the front end and the engine: compiles arbitrary bytes
 * as a patch, prints the diagnostics in both formats (the caret and line code
 * reads the source too), and, when the patch compiles, plans and runs it: a
 * short render in blocks, a whole pass, and a forward and backward pass with
 * random params and inputs, with its notes inputs as two voices and batch
 * inputs as two items. Everything is freed, so ASan sees leaks and
 * overreads and UBSan undefined arithmetic anywhere from the lexer to the
 * kernels: a patch that compiles can never crash the engine.
 * tests/fuzz/replay.c runs the same entry point over the seed corpus in
 * ordinary builds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile.h"
#include "runtime/diag.h"
#include "runtime/exec.h"
#include "runtime/params.h"
#include "runtime/rng.h"
#include "runtime/util.h"

/* What a run may cost: the fuzzer is after crashes, not long runs. */
#define MAX_SAMPLES 600
#define MAX_PARAM_VALUES 100000
#define MAX_NODES 3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

/* Params at random in their bounds (positive for log params). */
static void random_params(wf_params *ps, uint64_t seed)
{
    for (int i = 0; i < ps->n; i++) {
        wf_param *pa = &ps->v[i];
        const wf_param_decl *pd = pa->decl;
        for (size_t j = 0; j < wf_param_len(pa); j++) {
            double u = 0.5 * (wf_uniform(seed + (uint64_t)i, j) + 1);
            double v = pd->bounded ? pd->lo + (pd->hi - pd->lo) * u : pa->value[j] * (0.5 + u);
            pa->value[j] = (wf_real)(pd->log && v <= 0 ? 1e-3 : v);
        }
    }
}

/* Inputs of every lane: noise for audio, two voices of notes for notes. */
static wf_real *feed(wf_prog *p, const wf_graph *g, const wf_env *env)
{
    size_t frames = (size_t)env->nsamples + 1, total = 0;
    for (int j = 0; j < g->ninputs; j++)
        total += (size_t)wf_prog_input_lanes(p, j) * frames * (size_t)g->inputs[j].chans;
    wf_real *data = wf_aalloc(sizeof(wf_real) * (total ? total : 1)), *at = data;
    for (int j = 0; j < g->ninputs; j++) {
        const wf_input_decl *in = &g->inputs[j];
        for (int l = 0; l < wf_prog_input_lanes(p, j); l++) {
            size_t len = frames * (size_t)in->chans;
            for (size_t t = 0; t < len; t++)
                at[t] = in->space ? (wf_real)((t % 4 == 0) ? 220 + 110 * l : (t / 4 + l) % 3 != 0)
                                  : (wf_real)wf_uniform(5 + (uint64_t)l, t);
            wf_prog_set_input(p, j, l, at);
            at += len;
        }
    }
    return data;
}

/* Plans and runs a compiled patch the three ways. */
static void run_engine(const wf_patch *pt)
{
    const wf_graph *g = pt->g;
    if (g->n > MAX_NODES)
        return;
    wf_env env = wf_patch_env(g, 0, 8000, MAX_SAMPLES);
    int64_t values = 0;
    for (int i = 0; i < g->nparams; i++)
        values += (int64_t)g->params[i].size * (g->params[i].rate == WF_RATE_CONST ? 1 : env.nframes);
    if (values > MAX_PARAM_VALUES)
        return;
    wf_diags d = {0};
    wf_params ps;
    if (wf_params_init(&ps, g, &env, pt->dir, &d) == 0) {
        random_params(&ps, 17);
        int voices[8] = {2, 2, 2, 2, 2, 2, 2, 2};
        char per_item[64] = {0};
        for (int j = 0; j < g->ninputs && j < 64; j++)
            per_item[j] = g->inputs[j].from_target;
        const wf_run_mode modes[3] = {WF_RUN_STREAM, WF_RUN_WHOLE, WF_RUN_GRAD};
        for (int m = 0; m < 3 && g->nspaces <= 8 && g->ninputs <= 64; m++) {
            wf_plan o = {modes[m], 64, modes[m] == WF_RUN_GRAD ? 2 : 1,
                         modes[m] == WF_RUN_GRAD ? per_item : NULL, voices};
            wf_prog *p = wf_prog_plan(g, &env, &ps, &o, &d);
            if (!p)
                continue;
            wf_real *in = feed(p, g, &env);
            if (modes[m] == WF_RUN_STREAM) {
                int n;
                while (wf_prog_next_block(p, &n))
                    ;
            } else {
                wf_prog_forward(p);
            }
            if (modes[m] == WF_RUN_GRAD) {
                size_t len = wf_prog_out_len(p);
                wf_real *dy = wf_aalloc(sizeof(wf_real) * len);
                for (size_t t = 0; t < len; t++)
                    dy[t] = (wf_real)wf_uniform(9, t);
                wf_params_zero_grad(&ps);
                wf_prog_backward(p, dy);
                wf_prog_find_nonfinite(p);
                wf_afree(dy);
            }
            wf_prog_free(p);
            wf_afree(in);
        }
        wf_params_free(&ps);
    }
    wf_diags_free(&d);
}

static void report(wf_patch *p, wf_diags *d)
{
    FILE *f = sink();
    if (f) {
        wf_diags_print(f, d, WF_DIAG_TEXT);
        wf_diags_print(f, d, WF_DIAG_JSON);
    }
    if (p)
        run_engine(p);
    /* The diagnostics outlive the patch, as in the weft command. */
    wf_patch_free(p);
    wf_diags_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As a C string (wf_compile_text): the bytes up to the first NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    wf_diags d = {0};
    report(wf_compile_text("fuzz.weft", text, NULL, &d), &d);
    free(text);
    /* Whole, as a file read from disk: NUL bytes reach the lexer. */
    if (memchr(data, 0, size)) {
        wf_source *src = wf_source_from_bytes("fuzz.weft", (const char *)data, size);
        report(wf_compile_source(src, NULL, &d), &d);
    }
    return 0;
}
