/* `weft fit`: fits a patch's params to a recording and writes the fitted
 * patch (and, with --render, its sound). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/fit.h"
#include "lang/rewrite.h"
#include "runtime/fit.h"
#include "runtime/util.h"

static void usage_fit(FILE *f)
{
    fputs("usage: weft fit PATCH --target REC [--target REC ...] [options]\n"
          "\n"
          "Fits PATCH's params so that its out sounds like the recording REC, then writes\n"
          "the fitted patch: the same text with each param's value replaced (large\n"
          "values in .npy files beside it).\n"
          "\n"
          "  --target FILE|DIR     a recording (any format libsndfile reads; mixed to mono\n"
          "                        and resampled to the patch's rate), or every recording\n"
          "                        in a folder; repeatable. Each recording is one item of\n"
          "                        the batch, its own lane of `input x = target`; the loss\n"
          "                        is their mean. Sets the length unless the patch does.\n"
          "  --excerpt S           each step fits excerpts of S seconds drawn at random from\n"
          "                        the recordings (seeded by --seed)\n"
          "  --batch N             excerpts per step (default 1)\n"
          "  --no-cache            analyses of the target (pitch) are computed once per\n"
          "                        recording and cached in .weft-cache/ beside it; this\n"
          "                        computes them without reading or writing the cache\n"
          "  --steps N             optimizer steps (default 500)\n"
          "  --lr X                learning rate (default 0.01)\n"
          "  --loss mss|mel|l1|l2  multi-scale spectral (default); mel: mean |difference|\n"
          "                        of log-mel power over FFT sizes; or waveform L1 / L2\n"
          "  --fft-sizes A,B,...   FFT sizes of the spectral loss (default 2048,...,64;\n"
          "                        mel: 2048,1024,512)\n"
          "  --loss-weights L,G    mss: weights of its linear and log terms (default 1,1;\n"
          "                        0,0 with --loudness-weight: the loudness term alone)\n"
          "  --mel-bands B         mel: bands per FFT size (default 64)\n"
          "  --loudness-weight W   adds DDSP's loudness term: W * mean |loudness(target) -\n"
          "                        loudness(out)| in dB, frames at the patch's frame rate\n"
          "                        (as the loudness() node, n_fft 2048; default 0: none)\n"
          "  --optimizer adam|sgd  (default adam); --momentum M for sgd (default 0.9)\n"
          "  --schedule const|exp|cosine  learning-rate schedule (default const)\n"
          "  --decay D             exp schedule: lr * D^(step/steps) (default 0.1)\n"
          "  --clip C              clip the gradient norm to C\n"
          "  -o, --output FILE     fitted patch (default: PATCH's name + .fitted.weft;\n"
          "                        required when PATCH is -, read from standard input)\n"
          "  --render FILE         also render the fitted patch to an audio file\n"
          "  --format F            its samples: pcm16, pcm24 or float (as for `weft run`)\n"
          "  --log FILE            CSV of step,loss,seconds per step, ending with the loss\n"
          "                        after the last update\n"
          "  --report FILE         also write an HTML page about the fit: the settings, the\n"
          "                        loss curve, target and fitted render to play, their\n"
          "                        log-mel spectrograms and difference, the waveforms and\n"
          "                        every param before and after; one self-contained file\n"
          "                        (nothing fetched), to open in a browser or send\n"
          "  --report-every N      rewrite the report every N steps while the fit runs\n"
          "                        (default 50; 0: at the start and the end only)\n"
          "  --seed S              offsets the default seeds of noise(), draws excerpts\n"
          "  --seconds S, --rate HZ, --set NAME=VALUE, --input NAME=FILE  as for `weft run`\n"
          "  -q, --quiet           no progress line\n"
          "\n"
          "Ctrl-C stops and writes the best patch so far. A loss that becomes NaN stops\n"
          "the fit with an error naming the param whose gradient diverged.\n",
          f);
}

void wf_fit_show_progress(void *ctx, const wf_fit_progress *p)
{
    wf_fit_progress_ctx *pc = ctx;
    if (pc->report)
        wf_fit_report_step(pc->report, p);
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

int wf_fit_options(int argc, char **argv, wf_fit_args *a)
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
        {"mel-bands", required_argument, NULL, OPT_MEL_BANDS},
        {"loudness-weight", required_argument, NULL, OPT_LOUDNESS_WEIGHT},
        {"seconds", required_argument, NULL, OPT_SECONDS}, {"rate", required_argument, NULL, OPT_RATE},
        {"set", required_argument, NULL, OPT_SET},       {"input", required_argument, NULL, OPT_INPUT},
        {"excerpt", required_argument, NULL, OPT_EXCERPT}, {"batch", required_argument, NULL, OPT_BATCH},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"report", required_argument, NULL, OPT_REPORT},
        {"report-every", required_argument, NULL, OPT_REPORT_EVERY},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    wf_fit_opts *fo = &a->fo;
    fo->steps = 500;
    fo->optim.kind = WF_OPTIM_ADAM;
    fo->optim.lr = 0.01;
    fo->optim.momentum = 0.9;
    a->fmt = WF_FMT_DEFAULT;
    a->report_every = 50;
    int report_every_given = 0;
    int c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        int h = wf_common_opt("fit", c, &a->co);
        if (h < 0)
            return -h;
        if (h)
            continue;
        switch (c) {
        case 'o': a->out = optarg; break;
        case 'q': a->quiet = a->co.quiet = 1; break;
        case 'h': usage_fit(stdout); return -1;
        case OPT_RENDER: a->render = optarg; break;
        case OPT_LOG: a->logpath = optarg; break;
        case OPT_REPORT: a->report = optarg; break;
        case OPT_REPORT_EVERY:
            if (wf_parse_number(optarg, &v) || v < 0 || v > 1e9 || v != floor(v))
                return wf_cli_usage_error("fit", "--report-every takes a whole number of steps, got '%s'", optarg);
            a->report_every = (int)v;
            report_every_given = 1;
            break;
        case OPT_STEPS:
            if (wf_parse_number(optarg, &v) || v < 0 || v > 1e9 || v != floor(v))
                return wf_cli_usage_error("fit", "--steps takes a whole number, got '%s'", optarg);
            fo->steps = (int)v;
            break;
        case OPT_LR:
            if (wf_parse_number(optarg, &fo->optim.lr) || fo->optim.lr <= 0)
                return wf_cli_usage_error("fit", "--lr takes a positive number, got '%s'", optarg);
            break;
        case OPT_OPTIM:
            if (wf_optim_parse(optarg, &fo->optim.kind))
                return wf_cli_usage_error("fit", "--optimizer is adam or sgd, not '%s'", optarg);
            break;
        case OPT_MOMENTUM:
            if (wf_parse_number(optarg, &fo->optim.momentum) || fo->optim.momentum < 0 ||
                fo->optim.momentum >= 1)
                return wf_cli_usage_error("fit", "--momentum takes a number in [0, 1), got '%s'", optarg);
            break;
        case OPT_SCHED:
            if (wf_sched_parse(optarg, &fo->optim.sched))
                return wf_cli_usage_error("fit", "--schedule is const, exp or cosine, not '%s'", optarg);
            break;
        case OPT_DECAY:
            if (wf_parse_number(optarg, &fo->optim.decay) || fo->optim.decay <= 0 || fo->optim.decay > 1)
                return wf_cli_usage_error("fit", "--decay takes a number in (0, 1], got '%s'", optarg);
            break;
        case OPT_CLIP:
            if (wf_parse_number(optarg, &fo->optim.clip) || fo->optim.clip <= 0)
                return wf_cli_usage_error("fit", "--clip takes a positive number, got '%s'", optarg);
            break;
        case OPT_EXCERPT:
            if (wf_parse_number(optarg, &a->co.excerpt) || a->co.excerpt <= 0)
                return wf_cli_usage_error("fit", "--excerpt takes a positive number of seconds, got '%s'", optarg);
            break;
        case OPT_BATCH:
            if (wf_parse_number(optarg, &v) || v < 1 || v > 4096 || v != floor(v))
                return wf_cli_usage_error("fit", "--batch takes a whole number from 1 to 4096, got '%s'", optarg);
            a->co.batch = (int)v;
            break;
        case OPT_FORMAT:
            if (wf_parse_sample_format(optarg, &a->fmt))
                return wf_cli_usage_error("fit", "--format is pcm16, pcm24 or float, not '%s'", optarg);
            break;
        default: usage_fit(stderr); return 2;
        }
    }
    if (optind != argc - 1)
        return wf_cli_usage_error("fit", "expects one PATCH%s", "");
    if (!a->co.targets.n)
        return wf_cli_usage_error("fit", "needs --target FILE (the recording to fit)%s", "");
    if (wf_common_done("fit", &a->co))
        return 2;
    if (report_every_given && !a->report)
        return wf_cli_usage_error("fit", "--report-every needs --report FILE%s", "");
    if (a->co.batch && a->co.excerpt <= 0)
        return wf_cli_usage_error("fit", "--batch draws excerpts: give --excerpt S too%s", "");
    if (strcmp(argv[optind], "-") == 0 && !a->out)
        return wf_cli_usage_error("fit", "a patch read from standard input (-) has no name to "
                                  "derive the fitted patch's from: give -o FILE%s", "");
    a->co.so.patch = argv[optind];
    return 0;
}

static FILE *open_log(const char *path, wf_diags *d)
{
    FILE *log = fopen(path, "w");
    if (!log) {
        wf_report_cannot_write_log(d, WF_NOWHERE, NULL, path, strerror(errno));
        return NULL;
    }
    /* a line per step, so that the log can be watched while a long fit runs */
    setvbuf(log, NULL, _IOLBF, 0);
    fputs("step,loss,seconds\n", log);
    return log;
}

void wf_fit_summary(const wf_fit_result *r, const char *outp)
{
    char losses[128] = "no finite loss"; /* diverged at the first evaluation */
    if (isfinite(r->best_loss))
        snprintf(losses, sizeof losses, "loss %.6g -> %.6g, best %.6g", r->first_loss,
                 r->final_loss, r->best_loss);
    fprintf(stderr, "weft: %s %d steps in %.2f s (%.2f ms/step); %s; wrote %s\n",
            r->status == WF_FIT_STOPPED    ? "stopped after"
            : r->status == WF_FIT_DIVERGED ? "diverged after"
                                           : "fitted in",
            r->steps, r->seconds, r->steps ? 1000 * r->seconds / r->steps : 0.0, losses, outp);
}

/* The render after a fit hears the (first) recording in `input x = target`. */
static void feed_first_recording(wf_setup *s, const wf_objective *ob)
{
    const wf_graph *g = s->patch->g;
    for (int j = 0; j < g->ninputs; j++) {
        if (!g->inputs[j].from_target || g->inputs[j].node < 0 || s->data[j])
            continue;
        int64_t n = s->env.nsamples, have = ob->frames[0] < n ? ob->frames[0] : n;
        s->data[j] = wf_aalloc(sizeof(wf_real) * (size_t)n);
        memcpy(s->data[j], ob->audio[0], sizeof(wf_real) * (size_t)have);
    }
}

/* What the report's settings table says about the fit. */
static void describe(wf_fit_report *rp, const wf_fit_args *a, const wf_setup *s,
                     const wf_objective *ob, const char *outp)
{
    const wf_optim_opts *o = &a->fo.optim;
    const wf_loss_opts *lo = &a->co.loss;
    wf_fit_report_setting(rp, "patch", "%s", a->co.so.patch);
    wf_str t = {0};
    for (int i = 0; i < ob->count && i < 8; i++)
        wf_str_printf(&t, "%s%s", i ? ", " : "", ob->names[i]);
    if (ob->count > 8)
        wf_str_printf(&t, " and %d more", ob->count - 8);
    wf_fit_report_setting(rp, ob->count == 1 ? "target" : "targets", "%s", t.s);
    wf_str_free(&t);
    wf_fit_report_setting(rp, "fitted patch", "%s", outp);
    wf_fit_report_setting(rp, "run", "%.4g s at %g Hz, control rate %g Hz",
                          (double)ob->whole / s->env.sr, s->env.sr, s->env.frame_rate);
    wf_fit_report_setting(rp, "loss", "%s", wf_loss_name(lo->kind));
    if (lo->kind == WF_LOSS_MSS) {
        wf_str z = {0};
        for (int i = 0; i < lo->nsizes; i++)
            wf_str_printf(&z, "%s%d", i ? "," : "", lo->sizes[i]);
        wf_fit_report_setting(rp, "FFT sizes", "%s", lo->nsizes ? z.s : "2048,...,64 (default)");
        wf_str_free(&z);
        wf_fit_report_setting(rp, "loss weights", "linear %g, log %g",
                              lo->weights_given ? lo->lin_weight : 1,
                              lo->weights_given ? lo->log_weight : 1);
    }
    if (lo->kind == WF_LOSS_MEL) {
        wf_str z = {0};
        for (int i = 0; i < lo->nsizes; i++)
            wf_str_printf(&z, "%s%d", i ? "," : "", lo->sizes[i]);
        wf_fit_report_setting(rp, "FFT sizes", "%s", lo->nsizes ? z.s : "2048,1024,512 (default)");
        wf_str_free(&z);
        wf_fit_report_setting(rp, "mel bands", "%d", lo->mel_bands ? lo->mel_bands : 64);
    }
    if (lo->loudness_weight > 0)
        wf_fit_report_setting(rp, "loudness weight", "%g", lo->loudness_weight);
    wf_fit_report_setting(rp, "steps", "%d", a->fo.steps);
    wf_fit_report_setting(rp, "learning rate", "%g", o->lr);
    if (o->kind == WF_OPTIM_SGD)
        wf_fit_report_setting(rp, "optimizer", "sgd, momentum %g", o->momentum);
    else
        wf_fit_report_setting(rp, "optimizer", "adam");
    if (o->sched == WF_SCHED_EXP)
        wf_fit_report_setting(rp, "schedule", "exp, decay %g", o->decay ? o->decay : 0.1);
    else
        wf_fit_report_setting(rp, "schedule", "%s", o->sched == WF_SCHED_COSINE ? "cosine" : "const");
    if (o->clip > 0)
        wf_fit_report_setting(rp, "gradient clip", "%g", o->clip);
    else
        wf_fit_report_setting(rp, "gradient clip", "none");
    if (a->co.excerpt > 0)
        wf_fit_report_setting(rp, "batch", "%d excerpt%s of %g s per step", a->co.batch ? a->co.batch : 1,
                              a->co.batch > 1 ? "s" : "", a->co.excerpt);
    else
        wf_fit_report_setting(rp, "batch", "%s", ob->count == 1 ? "the whole recording each step"
                                                               : "every whole recording each step");
    wf_fit_report_setting(rp, "seed", "%llu", (unsigned long long)a->co.so.seed);
    for (int i = 0; i < a->co.so.sets.n; i++)
        wf_fit_report_setting(rp, "--set", "%s", a->co.so.sets.v[i]);
    for (int i = 0; i < a->co.so.inputs.n; i++)
        wf_fit_report_setting(rp, "--input", "%s", a->co.so.inputs.v[i]);
    if (a->report_every > 0)
        wf_fit_report_setting(rp, "report", "rewritten every %d steps", a->report_every);
    else
        wf_fit_report_setting(rp, "report", "written at the start and the end");
}

int wf_cmd_fit(int argc, char **argv)
{
    wf_fit_args a = {0};
    /* as typed, for the report: getopt reorders argv */
    char **typed = wf_xmalloc(sizeof *typed * (size_t)(argc + 1));
    memcpy(typed, argv, sizeof *typed * (size_t)(argc + 1));
    int status = wf_fit_options(argc, argv, &a);
    if (status) {
        free(typed);
        wf_common_free(&a.co);
        return status < 0 ? 0 : status;
    }
    char *outp = a.out ? wf_xstrdup(a.out) : default_output(a.co.so.patch);
    wf_diags d = {0};
    wf_setup s = {0};
    wf_objective ob = {0};
    FILE *log = NULL;
    wf_fit_report *report = NULL;
    status = 1;
    if (wf_objective_prepare(&a.co, &s, &ob, &d))
        goto done;
    int learnable = 0;
    for (int i = 0; i < s.params.n; i++)
        learnable += !s.params.v[i].decl->fixed;
    if (learnable == 0) {
        wf_report_nothing_to_fit(&d, WF_NOWHERE, NULL, a.co.so.patch);
        goto done;
    }
    if (a.logpath && !(log = open_log(a.logpath, &d)))
        goto done;
    if (a.report) {
        /* the pages written during a fit of whole recordings play the
           render of their step; an excerpt fit's render needs another length */
        int during = a.co.excerpt <= 0;
        if (during)
            feed_first_recording(&s, &ob);
        report = wf_fit_report_new(a.report, a.report_every, a.fo.steps, argc, typed, &s, &ob,
                                   during);
        describe(report, &a, &s, &ob, outp);
        if (wf_fit_report_begin(report, &d))
            goto done;
    }
    wf_fit_progress_ctx pc = {!a.quiet && isatty(2), report};
    a.fo.progress = wf_fit_show_progress;
    a.fo.progress_ctx = &pc;
    a.fo.log = log;
    a.fo.stop = wf_cli_catch_sigint();
    wf_fit_result r;
    int rc = wf_fit(ob.prog, &s.params, ob.batch, &a.fo, &r, &d);
    wf_cli_release_sigint();
    if (pc.tty && r.steps < a.fo.steps)
        fputc('\n', stderr);
    if (log)
        fclose(log);
    log = NULL;
    /* The best params are in place whatever happened: keep them. A length
     * that came from the one target goes into the patch. */
    int carry = !s.own_length && ob.count == 1;
    if (wf_write_fitted_patch(s.patch, &s.params, &s.env, outp, carry, &d))
        goto done;
    if ((!a.quiet || rc) && wf_cli_diag_format == WF_DIAG_TEXT)
        wf_fit_summary(&r, outp);
    status = rc ? 1 : r.status == WF_FIT_STOPPED ? 130 : 0;
    if ((a.render && rc == 0) || report) {
        if (a.co.excerpt > 0) /* the render is the whole run, not an excerpt */
            wf_setup_relength(&s, ob.whole);
        feed_first_recording(&s, &ob);
        wf_objective_free(&ob);
    }
    if (report) {
        size_t bytes;
        double secs;
        if (wf_fit_report_finish(report, &r, &d))
            status = 1;
        else if (!a.quiet && wf_cli_diag_format == WF_DIAG_TEXT) {
            wf_fit_report_last(report, &bytes, &secs);
            fprintf(stderr, "weft: wrote the report %s (%.0f kB in %.2f s)\n", a.report,
                    (double)bytes / 1e3, secs);
        }
    }
    if (a.render && rc == 0) {
        int rc2 = wf_render(&s, a.render, a.fmt, 2048, a.quiet, &d);
        if (rc2)
            status = rc2 == 130 ? 130 : 1;
    }
done:
    wf_fit_report_free(report);
    free(typed);
    if (log)
        fclose(log);
    wf_objective_free(&ob);
    wf_setup_free(&s);
    free(outp);
    wf_common_free(&a.co);
    return wf_cli_finish(&d, status);
}
