/* Playback headroom (not one of the reference workloads; bench/README.md):
 * whether rendering for `weft play` and the REPL's :play keeps up in real
 * time for 64-voice patches, and by how much.
 *
 * Each patch is streamed in blocks of 512 samples at 48 kHz, as the player
 * pulls it, with nothing pacing it: reported are the real-time factor
 * (seconds of audio per second of rendering; the headroom is this minus 1)
 * over 5 s, the median of 3 renders after a warm-up, both by the wall clock
 * and by the CPU time of every thread (which a machine shared with other
 * work does not inflate: on a quiet machine the two agree), and the slowest
 * single block in CPU time as a fraction of its own duration (a device's
 * deadline). Then the patch plays for 3 s through the player's null sink
 * (runtime/playback.h), which takes blocks at the clock's pace, and the
 * underruns are counted: 0 wherever the render gets a core to itself.
 * Run it as bench/README.md says (OMP_WAIT_POLICY=passive, as the weft
 * command sets itself: spinning OpenMP threads would be counted).
 *
 * P64s: 64 voices of a band-limited saw (its Fourier series up to the
 *       Nyquist: weft's dearest oscillator) through a state-variable lowpass
 *       whose cutoff an LFO moves at audio rate, under an ADSR gated by a
 *       slow clipped sine per voice.
 * P64h: 64 voices of 8 harmonics each (sines at 1..8 times the voice's
 *       frequency, falling as 0.7^k) under an ADSR: 512 oscillators. */
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "runtime/exec.h"
#include "runtime/playback.h"
#include "runtime/util.h"

#define SR 48000
#define BLOCK 512
#define SECONDS 5

static const char *const names[2] = {"P64s", "P64h"};
static const char *const patches[2] = {
    "rate 48 khz\n"
    "k     = range(64)\n"
    "freq  = 55 hz * pow(1.0595, k)\n"
    "lfo   = sine(0.2 hz + 0.01 hz * k)\n"
    "gate  = clamp(100 * sine(0.5 hz + 0.05 hz * k), 0, 1)\n"
    "env   = adsr(attack: 5 ms, decay: 100 ms, sustain: 0.5, release: 200 ms, gate: gate)\n"
    "voice = svf(saw(freq * (1 + 0.002 * lfo)), 600 hz + 500 hz * lfo, q: 2) * env\n"
    "out 0.05 * mix(voice)\n",
    "rate 48 khz\n"
    "k     = range(64)\n"
    "freq  = 110 hz * pow(1.0595, k / 2)\n"
    "gate  = clamp(100 * sine(0.5 hz + 0.05 hz * k), 0, 1)\n"
    "env   = adsr(attack: 5 ms, decay: 100 ms, sustain: 0.5, release: 200 ms, gate: gate)\n"
    "tone  = (sine(freq) + 0.7 * sine(2 * freq) + 0.49 * sine(3 * freq) + 0.343 * sine(4 * freq)\n"
    "      + 0.24 * sine(5 * freq) + 0.168 * sine(6 * freq) + 0.118 * sine(7 * freq)\n"
    "      + 0.082 * sine(8 * freq))\n"
    "out 0.05 * mix(tone * env)\n",
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const wf_real *pull(void *ctx, int *n, int *chans)
{
    wf_prog *p = ctx;
    *chans = wf_prog_out_chans(p);
    return wf_prog_next_block(p, n);
}

int main(void)
{
    wf_diags d = {0};
    for (int w = 0; w < 2; w++) {
        wf_patch *p = wf_bench_compile(names[w], patches[w], &d);
        wf_env env = wf_patch_env(p->g, 0, SR, (int64_t)SECONDS * SR);
        wf_params ps;
        wf_params_init(&ps, p->g, &env, NULL, &d);
        enum { REPS = 3 };
        double rtf[REPS], cpu[REPS], worst[REPS];
        for (int rep = -1; rep < REPS; rep++) {
            wf_prog *prog = wf_prog_new(p->g, &env, &ps, WF_RUN_STREAM, BLOCK, &d);
            int n;
            double t0 = wf_now(), c0 = cpu_now(), slowest = 0, cb = c0;
            while (wf_prog_next_block(prog, &n)) {
                double c = cpu_now();
                if ((c - cb) / ((double)n / SR) > slowest)
                    slowest = (c - cb) / ((double)n / SR);
                cb = c;
            }
            if (rep >= 0) {
                rtf[rep] = SECONDS / (wf_now() - t0);
                cpu[rep] = SECONDS / (cpu_now() - c0);
                worst[rep] = slowest;
            }
            wf_prog_free(prog);
        }
        wf_bench_timing(names[w], "x_realtime", "x", rtf, REPS, 1.0);
        wf_bench_timing(names[w], "x_realtime_cpu", "x", cpu, REPS, 1.0);
        wf_bench_timing(names[w], "slowest_block_cpu", "of its duration", worst, REPS, 1.0);

        wf_prog *prog = wf_prog_new(p->g, &env, &ps, WF_RUN_STREAM, BLOCK, &d);
        wf_player_opts o = {"null", SR, 2, BLOCK};
        wf_player *pl = wf_player_open(&o, pull, prog, &d);
        nanosleep(&(struct timespec){3, 0}, NULL);
        wf_bench_value(names[w], "underruns_in_3s", (double)wf_player_underruns(pl));
        wf_player_close(pl);
        wf_prog_free(prog);
        wf_params_free(&ps);
        wf_patch_free(p);
    }
    wf_diags_free(&d);
    return 0;
}
