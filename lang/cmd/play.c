/* `weft play`: a patch heard through the audio device (or the null and file
 * sinks of runtime/playback.h), set up as `weft run` sets it up. It plays
 * once for its length, or again and again with --loop, or until Ctrl-C when
 * it has no length (then it streams the longest run weft plans, 2^31
 * samples, about 12 hours at 48 kHz, and starts it again). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/setup.h"
#include "runtime/playback.h"
#include "runtime/util.h"

static void usage_play(FILE *f)
{
    fputs("usage: weft play PATCH [options]\n"
          "\n"
          "Plays PATCH through the audio device while it renders: once for its length\n"
          "(the patch's `length`, --seconds, or its inputs'), or until Ctrl-C when it\n"
          "has none or with --loop. Underruns (the render falling behind the device)\n"
          "are counted and printed at the end.\n"
          "\n"
          "  --device D            default: the system's output device (PortAudio);\n"
          "                        a device's number or part of its name (see\n"
          "                        --list-devices); null: no sound, at real-time pace;\n"
          "                        file:PATH: what would be played, written to PATH\n"
          "  --list-devices        list the output devices and exit\n"
          "  --loop                start again at the end, until Ctrl-C\n"
          "  --seconds S           length (default: the patch's `length`, else its inputs')\n"
          "  --rate HZ             audio rate (default: the patch's `rate`, else 48000)\n"
          "  --set NAME=VALUE      override a param, e.g. --set cutoff=2khz (repeatable)\n"
          "  --input NAME=FILE     feed an input from an audio file (repeatable)\n"
          "  --block N             samples per block, the device's unit (default 512)\n"
          "  -q, --quiet           no summary line (underruns are still reported)\n",
          f);
}

enum {
    OPT_DEVICE = 256,
    OPT_LIST,
    OPT_LOOP,
    OPT_SECONDS,
    OPT_RATE,
    OPT_SET,
    OPT_INPUT,
    OPT_BLOCK,
};

/* What the player pulls from, on its render thread: the programs of the
 * passes in turn. The main thread touches none of it until the player is
 * closed. */
typedef struct play {
    wf_setup *s;
    wf_prog *prog;
    int block, again; /* again: plan a new pass at the end (--loop, no length) */
    volatile sig_atomic_t *stop;
    int64_t at, bad;  /* frames handed out; first non-finite frame, or -1 */
    int failed;       /* a new pass could not be planned */
    wf_diags *d;
} play;

static const wf_real *pull(void *ctx, int *n, int *chans)
{
    play *pl = ctx;
    if (*pl->stop || pl->bad >= 0 || pl->failed)
        return NULL;
    const wf_real *y = wf_prog_next_block(pl->prog, n);
    if (!y) {
        wf_report_prog_fault(pl->prog, pl->d);
        if (!pl->again)
            return NULL;
        wf_prog_free(pl->prog);
        pl->prog = wf_setup_plan(pl->s, WF_RUN_STREAM, pl->block, 1, NULL, pl->d);
        if (!pl->prog) {
            pl->failed = 1;
            return NULL;
        }
        y = wf_prog_next_block(pl->prog, n);
        if (!y)
            return NULL;
    }
    *chans = wf_prog_out_chans(pl->prog);
    int64_t b = wf_first_nonfinite(y, *n, *chans);
    if (b >= 0) {
        pl->bad = pl->at + b;
        return NULL;
    }
    pl->at += *n;
    return y;
}

static int list_devices(void)
{
    wf_diags d = {0};
    char *text = wf_player_devices(&d);
    if (!text)
        return wf_cli_finish(&d, 1);
    fputs(text[0] ? text : "no output devices\n", stdout);
    free(text);
    return wf_cli_finish(&d, 0);
}

/* Whether the patch has a length of its own or from its inputs. */
static int has_length(const wf_setup *s, const wf_setup_opts *o)
{
    const wf_graph *g = s->patch->g;
    if (o->seconds > 0 || g->length > 0)
        return 1;
    for (int j = 0; j < g->ninputs; j++)
        if (g->inputs[j].node >= 0 && (s->paths[j] || g->inputs[j].space))
            return 1;
    return 0;
}

static int play_patch(wf_setup_opts *o, const char *device, int loop, int block, int quiet,
                      wf_diags *d)
{
    wf_setup s = {0};
    if (wf_setup_compile(&s, o, d)) {
        wf_setup_free(&s);
        return 1;
    }
    int endless = !has_length(&s, o);
    if (endless)
        o->seconds = floor((double)((int64_t)1 << 31) / wf_setup_rate(&s, o));
    if (wf_setup_ready(&s, o, d)) {
        wf_setup_free(&s);
        return 1;
    }
    if (loop)
        wf_setup_load_inputs(&s, s.env.nsamples); /* every pass reads them from the start */
    play pl = {&s, NULL, block, loop || endless, NULL, 0, -1, 0, d};
    pl.prog = wf_setup_plan(&s, WF_RUN_STREAM, block, 1, NULL, d);
    if (!pl.prog) {
        wf_setup_free(&s);
        return 1;
    }
    pl.stop = wf_cli_catch_sigint();
    wf_player_opts po = {device, s.env.sr, wf_prog_out_chans(pl.prog), block};
    wf_player *p = wf_player_open(&po, pull, &pl, d);
    int status = 1;
    if (p) {
        while (!wf_player_done(p) && !*pl.stop)
            nanosleep(&(struct timespec){0, 10000000L}, NULL);
        int64_t played = wf_player_position(p);
        long under = wf_player_underruns(p);
        char *name = wf_xstrdup(wf_player_sink_name(p));
        int closed = wf_player_close_diags(p, d);
        status = closed || pl.failed || pl.bad >= 0 ? 1 : *pl.stop && !pl.again ? 130 : 0;
        if (pl.bad >= 0)
            wf_report_out_not_finite(d, WF_NOWHERE, NULL, pl.bad, (double)pl.bad / s.env.sr);
        if (wf_cli_diag_format == WF_DIAG_TEXT) {
            if (!quiet)
                fprintf(stderr, "weft: played %.3f s to %s (%d channel%s, %g Hz)%s\n",
                        (double)played / s.env.sr, name, po.chans, po.chans == 1 ? "" : "s",
                        s.env.sr, *pl.stop ? ", stopped by Ctrl-C" : "");
            if (under)
                fprintf(stderr, "weft: %ld underrun%s: the render fell behind the device "
                                "(a larger --block, or a lighter patch)\n",
                        under, under == 1 ? "" : "s");
        }
        free(name);
    }
    wf_cli_release_sigint();
    wf_prog_free(pl.prog);
    wf_setup_free(&s);
    return status;
}

int wf_cmd_play(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"device", required_argument, NULL, OPT_DEVICE}, {"list-devices", no_argument, NULL, OPT_LIST},
        {"loop", no_argument, NULL, OPT_LOOP},         {"seconds", required_argument, NULL, OPT_SECONDS},
        {"rate", required_argument, NULL, OPT_RATE},   {"set", required_argument, NULL, OPT_SET},
        {"input", required_argument, NULL, OPT_INPUT}, {"block", required_argument, NULL, OPT_BLOCK},
        {"quiet", no_argument, NULL, 'q'},             {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    wf_setup_opts o = {0};
    const char *device = NULL;
    double block = 512;
    int loop = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'h': usage_play(stdout); return 0;
        case OPT_DEVICE: device = optarg; break;
        case OPT_LIST: return list_devices();
        case OPT_LOOP: loop = 1; break;
        case OPT_SECONDS:
            if (wf_parse_number(optarg, &o.seconds) || o.seconds <= 0)
                return wf_cli_usage_error("play", "--seconds takes a positive number, got '%s'", optarg);
            break;
        case OPT_RATE:
            if (wf_parse_number(optarg, &o.rate) || o.rate < 1 || o.rate > 1e6)
                return wf_cli_usage_error("play", "--rate takes a rate in Hz, got '%s'", optarg);
            break;
        case OPT_SET: wf_opts_add(&o.sets, optarg); break;
        case OPT_INPUT: wf_opts_add(&o.inputs, optarg); break;
        case OPT_BLOCK:
            if (wf_parse_number(optarg, &block) || block < 16 || block > 1 << 16)
                return wf_cli_usage_error("play", "--block takes 16 to 65536 samples, got '%s'", optarg);
            break;
        default: usage_play(stderr); return 2;
        }
    }
    int status;
    if (optind != argc - 1) {
        status = wf_cli_usage_error("play", "expects one PATCH%s", "");
    } else {
        o.patch = argv[optind];
        wf_diags d = {0};
        status = wf_cli_finish(&d, play_patch(&o, device, loop, (int)block, quiet, &d));
    }
    free(o.sets.v);
    free(o.inputs.v);
    return status;
}
