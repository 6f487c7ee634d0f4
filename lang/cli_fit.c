/* `weft fit` and `weft check`: fitting a patch's params to a recording, and
 * checking its reverse-mode gradients against finite differences. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/cli_common.h"
#include "lang/rewrite.h"
#include "runtime/exec.h"
#include "runtime/fit.h"
#include "runtime/gradcheck.h"
#include "runtime/util.h"

enum {
    OPT_TARGET = 300,
    OPT_STEPS,
    OPT_LR,
    OPT_LOSS,
    OPT_RENDER,
    OPT_LOG,
    OPT_SEED,
    OPT_OPTIM,
    OPT_MOMENTUM,
    OPT_SCHED,
    OPT_DECAY,
    OPT_CLIP,
    OPT_FFT,
    OPT_WEIGHTS,
    OPT_SECONDS,
    OPT_RATE,
    OPT_SET,
    OPT_INPUT,
    OPT_ELEMS,
    OPT_TOL,
    OPT_STEP,
    OPT_JITTER,
    OPT_F32,
};

/* Options shared by fit and check. */
typedef struct common {
    wf_setup_opts so;
    wf_loss_opts loss;
    int loss_given;
} common;

static int parse_sizes(const char *s, wf_loss_opts *lo)
{
    lo->nsizes = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 4 || v % 4 || v > (1 << 20) || lo->nsizes == WF_LOSS_MAX_SIZES)
            return -1;
        lo->sizes[lo->nsizes++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return lo->nsizes ? 0 : -1;
}

/* Handles an option both commands take; 1 if handled, -1 on a bad value. */
static int common_opt(const char *cmd, int c, common *co)
{
    double v;
    switch (c) {
    case OPT_TARGET: co->so.target = optarg; return 1;
    case OPT_SET: wf_opts_add(&co->so.sets, optarg); return 1;
    case OPT_INPUT: wf_opts_add(&co->so.inputs, optarg); return 1;
    case OPT_SECONDS:
        if (wf_parse_number(optarg, &co->so.seconds) || co->so.seconds <= 0)
            return -wf_cli_usage_error(cmd, "--seconds takes a positive number, got '%s'", optarg);
        return 1;
    case OPT_RATE:
        if (wf_parse_number(optarg, &co->so.rate) || co->so.rate < 1 || co->so.rate > 1e6)
            return -wf_cli_usage_error(cmd, "--rate takes a rate in Hz, got '%s'", optarg);
        return 1;
    case OPT_SEED:
        if (wf_parse_number(optarg, &v) || v < 0 || v != floor(v))
            return -wf_cli_usage_error(cmd, "--seed takes a whole number, got '%s'", optarg);
        co->so.seed = (uint64_t)v;
        return 1;
    case OPT_LOSS:
        if (wf_loss_parse(optarg, &co->loss.kind))
            return -wf_cli_usage_error(cmd, "--loss is mss, l1 or l2, not '%s'", optarg);
        co->loss_given = 1;
        return 1;
    case OPT_WEIGHTS: {
        char *end;
        double lin = strtod(optarg, &end), lg = *end == ',' ? strtod(end + 1, &end) : -1;
        if (*end || !(lin >= 0) || !(lg >= 0) || lin + lg <= 0)
            return -wf_cli_usage_error(cmd, "--loss-weights takes LIN,LOG (two non-negative numbers, not both 0), got '%s'", optarg);
        co->loss.lin_weight = lin;
        co->loss.log_weight = lg;
        co->loss.weights_given = 1;
        return 1;
    }
    case OPT_FFT:
        if (parse_sizes(optarg, &co->loss))
            return -wf_cli_usage_error(cmd, "--fft-sizes takes sizes like 2048,512,128 (multiples of 4), got '%s'", optarg);
        return 1;
    default:
        return 0;
    }
}

static void free_common(common *co)
{
    free(co->so.sets.v);
    free(co->so.inputs.v);
}

/* Opens the target to learn its rate (used when the patch sets none) and its
 * length at that rate. */
static int target_info(const char *path, double *rate, int64_t *frames, wf_diags *d)
{
    wf_audio_reader *r = wf_audio_open(path, 0, 1, d);
    if (!r)
        return -1;
    *rate = wf_audio_file_rate(r);
    *frames = wf_audio_frames(r);
    wf_audio_close(r);
    return 0;
}

/* The target at the run's rate and length (zero-padded or cut). */
static wf_real *load_target(const char *path, const wf_env *env, wf_diags *d)
{
    wf_real *data;
    int64_t frames;
    int chans;
    if (wf_audio_load(path, env->sr, 1, &data, &frames, &chans, d))
        return NULL;
    if (frames == env->nsamples)
        return data;
    wf_real *t = wf_aalloc(sizeof(wf_real) * (size_t)env->nsamples);
    memcpy(t, data, sizeof(wf_real) * (size_t)(frames < env->nsamples ? frames : env->nsamples));
    if (frames < env->nsamples)
        wf_diag(d, WF_SEV_WARNING, (wf_loc){0}, NULL,
                "the target '%s' is shorter (%.3f s) than the patch (%.3f s): padded with silence",
                path, (double)frames / env->sr, (double)env->nsamples / env->sr);
    wf_afree(data);
    return t;
}

/* Compiles, sizes and prepares a GRAD program against a target (or none). */
static int prepare(common *co, wf_setup *s, wf_prog **prog, wf_real **target, wf_loss **loss,
                   wf_diags *d)
{
    double file_rate = 0;
    if (co->so.target) {
        int64_t frames;
        if (target_info(co->so.target, &file_rate, &frames, d))
            return -1;
        co->so.fallback_rate = file_rate;
        co->so.length_frames = frames;
    }
    if (wf_setup_prepare(s, &co->so, d))
        return -1;
    if (co->so.target && s->env.sr != file_rate) {
        /* the patch runs at another rate: the target's length at that rate */
        int64_t frames = llround((double)co->so.length_frames * s->env.sr / file_rate);
        if (frames != co->so.length_frames && co->so.seconds <= 0 && s->patch->g->length <= 0) {
            wf_setup_free(s);
            co->so.length_frames = frames;
            if (wf_setup_prepare(s, &co->so, d))
                return -1;
        }
    }
    const wf_graph *g = s->patch->g;
    if (g->nodes[g->out].shape.chans != 1 && co->so.target) {
        wf_fail(d, "a fit needs a mono out, and this patch's out has %d channels: mix them with "
                   "mix(...)",
                g->nodes[g->out].shape.chans);
        return -1;
    }
    wf_setup_load_inputs(s);
    *prog = wf_prog_new(g, &s->env, &s->params, WF_RUN_GRAD, 0, d);
    if (!*prog)
        return -1;
    for (int j = 0; j < g->ninputs; j++)
        if (s->data[j])
            wf_prog_set_input(*prog, j, s->data[j]);
    if (co->so.target) {
        *target = load_target(co->so.target, &s->env, d);
        if (!*target)
            return -1;
        *loss = wf_loss_new(&co->loss, *target, s->env.nsamples, d);
        if (!*loss)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ fit */

static void usage_fit(FILE *f)
{
    fputs("usage: weft fit PATCH --target REC [options]\n"
          "\n"
          "Fits PATCH's params so that its out sounds like the recording REC, then writes\n"
          "the fitted patch: the same text with each param's value replaced.\n"
          "\n"
          "  --target FILE         the recording (any format libsndfile reads; mixed to mono\n"
          "                        and resampled to the patch's rate); also feeds\n"
          "                        `input x = target`. Sets the length unless the patch does.\n"
          "  --steps N             optimizer steps (default 500)\n"
          "  --lr X                learning rate (default 0.01)\n"
          "  --loss mss|l1|l2      multi-scale spectral (default), or waveform L1 / L2\n"
          "  --fft-sizes A,B,...   FFT sizes of the spectral loss (default 2048,...,64)\n"
          "  --loss-weights L,G    weights of its linear and log terms (default 1,1)\n"
          "  --optimizer adam|sgd  (default adam); --momentum M for sgd (default 0.9)\n"
          "  --schedule const|exp|cosine  learning-rate schedule (default const)\n"
          "  --decay D             exp schedule: lr * D^(step/steps) (default 0.1)\n"
          "  --clip C              clip the gradient norm to C\n"
          "  -o, --output FILE     fitted patch (default: PATCH's name + .fitted.weft)\n"
          "  --render FILE         also render the fitted patch to an audio file\n"
          "  --log FILE            CSV of step,loss,seconds per step\n"
          "  --seed S              offsets the default seeds of noise() (default 0)\n"
          "  --seconds S, --rate HZ, --set NAME=VALUE, --input NAME=FILE  as for `weft run`\n"
          "  -q, --quiet           no progress line\n"
          "\n"
          "Ctrl-C stops and writes the best patch so far. A loss that becomes NaN stops\n"
          "the fit with an error naming the param whose gradient diverged.\n",
          f);
}

typedef struct progress_ctx {
    int tty;
} progress_ctx;

static void show_progress(void *ctx, const wf_fit_progress *p)
{
    progress_ctx *pc = ctx;
    if (!pc->tty)
        return;
    double rate = p->step / (p->seconds > 0 ? p->seconds : 1e-9);
    double eta = (p->steps - p->step) / (rate > 0 ? rate : 1);
    fprintf(stderr, "\rstep %d/%d  loss %.6g  best %.6g  %.1f steps/s  ETA %.0fs   ", p->step,
            p->steps, p->loss, p->best, rate, eta);
    if (p->step == p->steps)
        fputc('\n', stderr);
    fflush(stderr);
}

static char *default_output(const char *patch)
{
    wf_str b = {0};
    const char *dot = strrchr(patch, '.');
    const char *slash = strrchr(patch, '/');
    if (dot && (!slash || dot > slash))
        wf_str_putn(&b, patch, (size_t)(dot - patch));
    else
        wf_str_puts(&b, patch);
    wf_str_puts(&b, ".fitted.weft");
    return b.s;
}

int wf_cmd_fit(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, OPT_TARGET}, {"steps", required_argument, NULL, OPT_STEPS},
        {"lr", required_argument, NULL, OPT_LR},         {"loss", required_argument, NULL, OPT_LOSS},
        {"output", required_argument, NULL, 'o'},        {"render", required_argument, NULL, OPT_RENDER},
        {"log", required_argument, NULL, OPT_LOG},       {"seed", required_argument, NULL, OPT_SEED},
        {"optimizer", required_argument, NULL, OPT_OPTIM}, {"momentum", required_argument, NULL, OPT_MOMENTUM},
        {"schedule", required_argument, NULL, OPT_SCHED}, {"decay", required_argument, NULL, OPT_DECAY},
        {"clip", required_argument, NULL, OPT_CLIP},     {"fft-sizes", required_argument, NULL, OPT_FFT},
        {"loss-weights", required_argument, NULL, OPT_WEIGHTS},
        {"seconds", required_argument, NULL, OPT_SECONDS}, {"rate", required_argument, NULL, OPT_RATE},
        {"set", required_argument, NULL, OPT_SET},       {"input", required_argument, NULL, OPT_INPUT},
        {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    common co = {0};
    wf_fit_opts fo = {0};
    fo.steps = 500;
    fo.optim.kind = WF_OPTIM_ADAM;
    fo.optim.lr = 0.01;
    fo.optim.momentum = 0.9;
    const char *out = NULL, *render = NULL, *logpath = NULL;
    int quiet = 0, c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        int h = common_opt("fit", c, &co);
        if (h < 0) {
            free_common(&co);
            return -h;
        }
        if (h)
            continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage_fit(stdout); free_common(&co); return 0;
        case OPT_RENDER: render = optarg; break;
        case OPT_LOG: logpath = optarg; break;
        case OPT_STEPS:
            if (wf_parse_number(optarg, &v) || v < 0 || v > 1e9 || v != floor(v)) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--steps takes a whole number, got '%s'", optarg);
            }
            fo.steps = (int)v;
            break;
        case OPT_LR:
            if (wf_parse_number(optarg, &fo.optim.lr) || fo.optim.lr <= 0) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--lr takes a positive number, got '%s'", optarg);
            }
            break;
        case OPT_OPTIM:
            if (wf_optim_parse(optarg, &fo.optim.kind)) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--optimizer is adam or sgd, not '%s'", optarg);
            }
            break;
        case OPT_MOMENTUM:
            if (wf_parse_number(optarg, &fo.optim.momentum) || fo.optim.momentum < 0 || fo.optim.momentum >= 1) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--momentum takes a number in [0, 1), got '%s'", optarg);
            }
            break;
        case OPT_SCHED:
            if (wf_sched_parse(optarg, &fo.optim.sched)) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--schedule is const, exp or cosine, not '%s'", optarg);
            }
            break;
        case OPT_DECAY:
            if (wf_parse_number(optarg, &fo.optim.decay) || fo.optim.decay <= 0 || fo.optim.decay > 1) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--decay takes a number in (0, 1], got '%s'", optarg);
            }
            break;
        case OPT_CLIP:
            if (wf_parse_number(optarg, &fo.optim.clip) || fo.optim.clip <= 0) {
                free_common(&co);
                return wf_cli_usage_error("fit", "--clip takes a positive number, got '%s'", optarg);
            }
            break;
        default: usage_fit(stderr); free_common(&co); return 2;
        }
    }
    if (optind != argc - 1) {
        free_common(&co);
        return wf_cli_usage_error("fit", "expects one PATCH%s", "");
    }
    if (!co.so.target) {
        free_common(&co);
        return wf_cli_usage_error("fit", "needs --target FILE (the recording to fit)%s", "");
    }
    co.so.patch = argv[optind];
    char *outp = out ? wf_xstrdup(out) : default_output(co.so.patch);
    wf_diags d = {0};
    wf_setup s = {0};
    wf_prog *prog = NULL;
    wf_real *target = NULL;
    wf_loss *loss = NULL;
    FILE *log = NULL;
    int status = 1;
    if (prepare(&co, &s, &prog, &target, &loss, &d))
        goto done;
    int learnable = 0;
    for (int i = 0; i < s.params.n; i++)
        learnable += !s.params.v[i].decl->fixed;
    if (learnable == 0 || prog == NULL) {
        wf_fail(&d, "%s has no params to fit", co.so.patch);
        goto done;
    }
    if (logpath) {
        log = fopen(logpath, "w");
        if (!log) {
            wf_fail(&d, "cannot write the log '%s': %s", logpath, strerror(errno));
            goto done;
        }
        /* a line per step, so that the log can be watched while a long fit runs */
        setvbuf(log, NULL, _IOLBF, 0);
        fputs("step,loss,seconds\n", log);
    }
    progress_ctx pc = {!quiet && isatty(2)};
    fo.progress = show_progress;
    fo.progress_ctx = &pc;
    fo.log = log;
    fo.stop = wf_cli_catch_sigint();
    wf_fit_result r;
    int rc = wf_fit(prog, &s.params, loss, &fo, &r, &d);
    wf_cli_release_sigint();
    if (pc.tty && r.steps < fo.steps)
        fputc('\n', stderr);
    if (log) {
        fclose(log);
        log = NULL;
    }
    /* The best params are in place whatever happened: keep them. */
    if (wf_write_fitted_patch(s.patch, &s.params, &s.env, outp, &d)) {
        status = 1;
        goto done;
    }
    if ((!quiet || rc) && wf_cli_diag_format == WF_DIAG_TEXT) {
        char losses[128] = "no finite loss"; /* diverged at the first evaluation */
        if (isfinite(r.best_loss))
            snprintf(losses, sizeof losses, "loss %.6g -> %.6g, best %.6g", r.first_loss,
                     r.final_loss, r.best_loss);
        fprintf(stderr, "weft: %s %d steps in %.2f s (%.2f ms/step); %s; wrote %s\n",
                r.status == WF_FIT_STOPPED ? "stopped after" : r.status == WF_FIT_DIVERGED ? "diverged after" : "fitted in",
                r.steps, r.seconds, r.steps ? 1000 * r.seconds / r.steps : 0.0, losses, outp);
    }
    status = rc ? 1 : r.status == WF_FIT_STOPPED ? 130 : 0;
    if (render && rc == 0) {
        wf_prog_free(prog);
        prog = NULL;
        int rc2 = wf_render(&s, render, WF_FMT_DEFAULT, 2048, quiet, &d);
        if (rc2)
            status = rc2 == 130 ? 130 : 1;
    }
done:
    if (log)
        fclose(log);
    wf_prog_free(prog);
    wf_loss_free(loss);
    wf_afree(target);
    wf_setup_free(&s);
    free(outp);
    free_common(&co);
    return wf_cli_finish(&d, status);
}

/* ---------------------------------------------------------------- check */

static void usage_check(FILE *f)
{
    fputs("usage: weft check PATCH [--target REC] [options]\n"
          "\n"
          "Compares reverse-mode gradients of every param with central finite differences\n"
          "(Richardson-extrapolated) of the same loss, in float64, and prints a table.\n"
          "Without a target, the loss is a fixed random projection of the out. Exits 1\n"
          "when some param's relative error exceeds the tolerance.\n"
          "\n"
          "  --target FILE         check the fit loss against this recording\n"
          "  --loss mss|l1|l2      loss with --target (default mss)\n"
          "  --fft-sizes A,B,...   FFT sizes of the spectral loss\n"
          "  --loss-weights L,G    weights of its linear and log terms (default 1,1)\n"
          "  --elems N             elements checked per param (default 16; random sample)\n"
          "  --tol T               largest relative error that passes (default 0.02)\n"
          "  --step H              relative finite-difference step (default 1e-6)\n"
          "  --jitter J            check at params moved by a relative J at random (default\n"
          "                        1e-6; 0: exactly at the patch's values)\n"
          "  --float32             check in float32 instead of float64\n"
          "  --seed S              which elements, and the projection (default 0)\n"
          "  --seconds S, --rate HZ, --set NAME=VALUE, --input NAME=FILE  as for `weft run`\n",
          f);
}

int wf_cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, OPT_TARGET}, {"loss", required_argument, NULL, OPT_LOSS},
        {"fft-sizes", required_argument, NULL, OPT_FFT}, {"elems", required_argument, NULL, OPT_ELEMS},
        {"loss-weights", required_argument, NULL, OPT_WEIGHTS},
        {"tol", required_argument, NULL, OPT_TOL},       {"seed", required_argument, NULL, OPT_SEED},
        {"step", required_argument, NULL, OPT_STEP},     {"jitter", required_argument, NULL, OPT_JITTER},
        {"float32", no_argument, NULL, OPT_F32},
        {"seconds", required_argument, NULL, OPT_SECONDS}, {"rate", required_argument, NULL, OPT_RATE},
        {"set", required_argument, NULL, OPT_SET},       {"input", required_argument, NULL, OPT_INPUT},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
    };
    common co = {0};
    wf_gradcheck_opts go = {0};
    int c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int h = common_opt("check", c, &co);
        if (h < 0) {
            free_common(&co);
            return -h;
        }
        if (h)
            continue;
        switch (c) {
        case 'h': usage_check(stdout); free_common(&co); return 0;
        case OPT_ELEMS:
            if (wf_parse_number(optarg, &v) || v < 1 || v != floor(v) || v > 1e6) {
                free_common(&co);
                return wf_cli_usage_error("check", "--elems takes a whole number, got '%s'", optarg);
            }
            go.max_elems = (int)v;
            break;
        case OPT_TOL:
            if (wf_parse_number(optarg, &go.tol) || go.tol <= 0) {
                free_common(&co);
                return wf_cli_usage_error("check", "--tol takes a positive number, got '%s'", optarg);
            }
            break;
        case OPT_F32:
            break; /* handled before: stay in this build's precision */
        case OPT_JITTER:
            if (wf_parse_number(optarg, &go.jitter) || go.jitter < 0 || go.jitter > 0.01) {
                free_common(&co);
                return wf_cli_usage_error("check", "--jitter takes a relative size in [0, 0.01], got '%s'", optarg);
            }
            go.jitter_given = 1;
            break;
        case OPT_STEP:
            if (wf_parse_number(optarg, &go.step) || go.step <= 0 || go.step > 0.1) {
                free_common(&co);
                return wf_cli_usage_error("check", "--step takes a relative step in (0, 0.1], got '%s'", optarg);
            }
            break;
        default: usage_check(stderr); free_common(&co); return 2;
        }
    }
    if (optind != argc - 1) {
        free_common(&co);
        return wf_cli_usage_error("check", "expects one PATCH%s", "");
    }
    co.so.patch = argv[optind];
    go.seed = co.so.seed;
    wf_diags d = {0};
    wf_setup s = {0};
    wf_prog *prog = NULL;
    wf_real *target = NULL;
    wf_loss *loss = NULL;
    int status = 1;
    if (prepare(&co, &s, &prog, &target, &loss, &d) == 0) {
        wf_gradcheck_row *rows = wf_xcalloc((size_t)s.params.n + 1, sizeof *rows);
        int fails = wf_gradcheck(prog, &s.params, loss, &go, rows);
        printf("%-20s %9s %14s %14s  %s\n", "param", "checked", "max abs err", "max rel err", "");
        for (int i = 0; i < s.params.n; i++) {
            const wf_gradcheck_row *r = &rows[i];
            if (s.params.v[i].decl->node < 0 || r->fixed) {
                printf("%-20s %9s %14s %14s  %s\n", r->param, "-", "-", "-",
                       r->fixed ? "fixed" : "unused");
                continue;
            }
            printf("%-20s %4d/%-4d %14.3g %14.3g  %s\n", r->param, r->checked, r->size, r->max_abs,
                   r->max_rel, r->ok ? "ok" : "FAIL");
        }
        printf("loss: %s; tolerance %.3g; %s\n",
               loss ? wf_loss_name(co.loss.kind) : "random projection of the out",
               go.tol > 0 ? go.tol : 2e-2, fails ? "FAILED" : "all gradients agree");
        status = fails ? 1 : 0;
        if (s.params.n == 0)
            printf("(the patch has no params)\n");
        free(rows);
    }
    wf_prog_free(prog);
    wf_loss_free(loss);
    wf_afree(target);
    wf_setup_free(&s);
    free_common(&co);
    return wf_cli_finish(&d, status);
}
