/* Pitch tracking time per second of audio (bench/README.md "Pitch"):
 * pitch(x, method: yin | pyin) over 10 s of a harmonic tone gliding an
 * octave up and down at 16 kHz, at 250 and 100 frames per second (DDSP's
 * frame rate, and torchaudio's detect_pitch_frequency default frame time of
 * 10 ms), whole passes, one lane. Prints bench.h's JSON lines: seconds of
 * compute per second of audio, median of 5 runs after a warm-up. */
#include <math.h>
#include <string.h>

#include "bench.h"

#define PI 3.14159265358979323846

#define SR 16000
#define SECONDS 10
#define RUNS 5

int main(void)
{
    const int N = SR * SECONDS;
    wf_real *x = wf_aalloc(sizeof(wf_real) * (size_t)N);
    double ph = 0;
    for (int n = 0; n < N; n++) {
        double t = (double)n / SR, f = 200 * exp2(0.5 + 0.5 * sin(2 * PI * 0.2 * t));
        x[n] = (wf_real)(0.3 * (sin(ph) + 0.5 * sin(2 * ph) + 0.25 * sin(3 * ph)));
        ph += 2 * PI * f / SR;
    }
    wf_bench_value("pitch", "audio_seconds", SECONDS);
    static const char *const methods[] = {"yin", "pyin"};
    static const int rates[] = {250, 100};
    for (int r = 0; r < 2; r++)
        for (int m = 0; m < 2; m++) {
            char text[200], metric[64];
            snprintf(text, sizeof text,
                     "rate 16 khz\nframes %d hz\ninput x\nout upsample(pitch(x, method: %s))\n",
                     rates[r], methods[m]);
            wf_diags d = {0};
            wf_patch *patch = wf_bench_compile("pitch.weft", text, &d);
            wf_env env = wf_patch_env(patch->g, 0, SR, N);
            wf_params ps;
            if (wf_params_init(&ps, patch->g, &env, NULL, &d))
                return 1;
            wf_prog *p = wf_prog_new(patch->g, &env, &ps, WF_RUN_WHOLE, 0, &d);
            if (!p) {
                wf_diags_print(stderr, &d, WF_DIAG_TEXT);
                return 1;
            }
            wf_prog_set_input(p, 0, 0, x);
            wf_prog_forward(p);
            double t[RUNS];
            for (int i = 0; i < RUNS; i++) {
                wf_prog_invalidate(p);
                double t0 = wf_now();
                wf_prog_forward(p);
                t[i] = wf_now() - t0;
            }
            snprintf(metric, sizeof metric, "%s_%dhz_s_per_audio_s", methods[m], rates[r]);
            wf_bench_timing("pitch", metric, "s/s", t, RUNS, 1.0 / SECONDS);
            wf_prog_free(p);
            wf_params_free(&ps);
            wf_patch_free(patch);
            wf_diags_free(&d);
        }
    wf_afree(x);
    return 0;
}
