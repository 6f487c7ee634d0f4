/* The `weft` command line: option parsing and the run, graph and nodes
 * subcommands (fit and check live in lang/cli_fit.c). Every failure becomes a
 * diagnostic and a non-zero exit status; output files are written atomically. */
#include "lang/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/cli_common.h"
#include "runtime/audio.h"
#include "runtime/exec.h"
#include "runtime/fft.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

wf_diag_format wf_cli_diag_format = WF_DIAG_TEXT;

static volatile sig_atomic_t interrupted;
static void (*previous_handler)(int);

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

volatile sig_atomic_t *wf_cli_catch_sigint(void)
{
    interrupted = 0;
    previous_handler = signal(SIGINT, on_sigint);
    return &interrupted;
}

void wf_cli_release_sigint(void)
{
    signal(SIGINT, previous_handler == SIG_ERR ? SIG_DFL : previous_handler);
}

int wf_cli_finish(wf_diags *d, int status)
{
    /* JSON always prints an array (empty on a clean run), so tools can parse */
    if (d->n || wf_cli_diag_format == WF_DIAG_JSON)
        wf_diags_print(stderr, d, wf_cli_diag_format);
    wf_diags_free(d);
    return status;
}

static void usage_main(FILE *f)
{
    fputs("usage: weft [--diagnostics=text|json] COMMAND [ARGS]\n"
          "\n"
          "A differentiable patch language: render patches, fit them to recordings.\n"
          "\n"
          "commands:\n"
          "  run PATCH -o OUT      render a patch to an audio file\n"
          "  fit PATCH --target F  fit a patch's params to a recording\n"
          "  check PATCH           compare reverse-mode gradients with finite differences\n"
          "  graph PATCH           print the compiled graph as Graphviz DOT\n"
          "  nodes                 list every node with its signature\n"
          "\n"
          "options:\n"
          "  --diagnostics=json    print errors and warnings as JSON\n"
          "  -h, --help            this help; `weft COMMAND --help` for a command\n"
          "  -V, --version         version and the libraries in use\n",
          f);
}

static int version(void)
{
    printf("weft %s (%s samples; fft: %s; audio: %s)\n", WF_VERSION, WF_REAL_NAME,
           wf_fft_backends(), wf_audio_versions());
    return 0;
}

int wf_cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "weft %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see `weft %s --help`)\n", cmd);
    return 2;
}

int wf_parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------ shared set-up */

void wf_opts_add(wf_pairs *p, const char *text)
{
    p->v = wf_xrealloc(p->v, sizeof(char *) * (size_t)(p->n + 1));
    p->v[p->n++] = text;
}

int wf_pair_split(const char *text, char **name, const char **value)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || !eq[1])
        return -1;
    *name = wf_xstrndup(text, (size_t)(eq - text));
    *value = eq + 1;
    return 0;
}

void wf_setup_free(wf_setup *s)
{
    if (!s)
        return;
    if (s->patch) {
        for (int i = 0; i < s->patch->g->ninputs; i++) {
            if (s->readers)
                wf_audio_close(s->readers[i]);
            if (s->data)
                wf_afree(s->data[i]);
            if (s->paths)
                free(s->paths[i]);
        }
    }
    free(s->readers);
    free(s->data);
    free(s->frames);
    free(s->paths);
    if (s->params_ready)
        wf_params_free(&s->params);
    wf_patch_free(s->patch);
    memset(s, 0, sizeof *s);
}

/* Where each used input comes from: --input, the patch's own file name, or
 * the fit target. */
static int resolve_inputs(wf_setup *s, const wf_pairs *inputs, const char *target, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    int n = g->ninputs;
    s->paths = wf_xcalloc((size_t)(n + 1), sizeof(char *));
    for (int i = 0; i < inputs->n; i++) {
        char *name;
        const char *file;
        if (wf_pair_split(inputs->v[i], &name, &file)) {
            wf_fail(d, "--input takes NAME=FILE, got '%s'", inputs->v[i]);
            return -1;
        }
        int found = -1;
        for (int j = 0; j < n; j++)
            if (strcmp(g->inputs[j].name, name) == 0)
                found = j;
        if (found < 0) {
            wf_fail(d, "--input %s: the patch has no input '%s'", inputs->v[i], name);
            free(name);
            return -1;
        }
        free(name);
        free(s->paths[found]);
        s->paths[found] = wf_xstrdup(file);
    }
    for (int j = 0; j < n; j++) {
        const wf_input_decl *in = &g->inputs[j];
        if (s->paths[j] || in->node < 0)
            continue;
        if (in->from_target && target) {
            s->paths[j] = wf_xstrdup(target);
        } else if (in->file) {
            wf_str p = {0};
            if (in->file[0] == '/')
                wf_str_puts(&p, in->file);
            else
                wf_str_printf(&p, "%s/%s", s->patch->dir, in->file);
            s->paths[j] = p.s;
        } else {
            char hint[200];
            snprintf(hint, sizeof hint, "pass --input %s=FILE%s", in->name,
                     in->from_target ? ", or fit it with --target FILE" : "");
            wf_diag(d, WF_SEV_ERROR, in->loc, hint, "input '%s' has no source", in->name);
            return -1;
        }
    }
    return 0;
}

int wf_setup_prepare(wf_setup *s, const wf_setup_opts *o, wf_diags *d)
{
    wf_compile_opts co = {0};
    s->patch = wf_compile_file(o->patch, &co, d);
    if (!s->patch)
        return -1;
    const wf_graph *g = s->patch->g;
    if (resolve_inputs(s, &o->inputs, o->target, d))
        return -1;
    double sr = wf_patch_rate(g, o->rate, o->fallback_rate > 0 ? o->fallback_rate : 48000);
    int n = g->ninputs;
    s->readers = wf_xcalloc((size_t)(n + 1), sizeof *s->readers);
    s->data = wf_xcalloc((size_t)(n + 1), sizeof *s->data);
    s->frames = wf_xcalloc((size_t)(n + 1), sizeof *s->frames);
    int64_t longest = 0;
    for (int j = 0; j < n; j++) {
        if (!s->paths[j])
            continue;
        const wf_input_decl *in = &g->inputs[j];
        s->readers[j] = wf_audio_open(s->paths[j], sr, in->chans == 1, d);
        if (!s->readers[j])
            return -1;
        if (wf_audio_chans(s->readers[j]) != in->chans) {
            wf_diag(d, WF_SEV_ERROR, in->loc, "declare `input NAME[C]` with the file's channels",
                    "shape mismatch: input '%s' has %d channels but '%s' has %d", in->name,
                    in->chans, s->paths[j], wf_audio_chans(s->readers[j]));
            return -1;
        }
        s->frames[j] = wf_audio_frames(s->readers[j]);
        if (s->frames[j] > longest)
            longest = s->frames[j];
    }
    /* in double until checked: llround of a huge --seconds is undefined */
    double want;
    if (o->seconds > 0)
        want = o->seconds * sr;
    else if (g->length > 0)
        want = g->length * sr;
    else if (o->length_frames > 0)
        want = (double)o->length_frames;
    else if (longest > 0)
        want = (double)longest;
    else {
        wf_fail(d, "%s: the patch has no length: add `length 2 s` to it, or pass --seconds",
                o->patch);
        return -1;
    }
    if (!(want >= 0.5 && want <= (double)((int64_t)1 << 31))) {
        wf_fail(d, "a run must be between 1 sample and 2^31 samples long (asked for %.10g)", want);
        return -1;
    }
    int64_t nsamples = llround(want);
    s->env = wf_patch_env(g, o->rate, o->fallback_rate > 0 ? o->fallback_rate : 48000, nsamples);
    s->env.seed = o->seed;
    if (wf_params_init(&s->params, g, &s->env, s->patch->dir, d))
        return -1;
    s->params_ready = 1;
    for (int i = 0; i < o->sets.n; i++) {
        char *name;
        const char *text;
        if (wf_pair_split(o->sets.v[i], &name, &text)) {
            wf_fail(d, "--set takes NAME=VALUE, got '%s'", o->sets.v[i]);
            return -1;
        }
        double *v = NULL;
        int nv = 0;
        char what[80];
        snprintf(what, sizeof what, "--set %.60s", name);
        int rc = wf_eval_constant(what, text, &v, &nv, d);
        if (rc == 0)
            rc = wf_params_set(&s->params, name, v, nv, d);
        free(v);
        free(name);
        if (rc)
            return -1;
    }
    return 0;
}

/* Loads every input whole (for WHOLE and GRAD runs). */
void wf_setup_load_inputs(wf_setup *s)
{
    const wf_graph *g = s->patch->g;
    for (int j = 0; j < g->ninputs; j++) {
        if (!s->readers[j])
            continue;
        int C = g->inputs[j].chans;
        size_t len = (size_t)s->env.nsamples * (size_t)C;
        s->data[j] = wf_aalloc(len * sizeof(wf_real));
        int64_t got = 0;
        while (got < s->env.nsamples) {
            int want = s->env.nsamples - got > (1 << 20) ? (1 << 20) : (int)(s->env.nsamples - got);
            int r = wf_audio_read(s->readers[j], s->data[j] + (size_t)got * C, want);
            if (r <= 0)
                break;
            got += r;
        }
    }
}

/* ------------------------------------------------------------------- run */

static void usage_run(FILE *f)
{
    fputs("usage: weft run PATCH -o OUT [options]\n"
          "\n"
          "Renders PATCH to the audio file OUT (format from its extension: wav, flac,\n"
          "ogg, aiff, au, caf, w64). Streams in blocks, so long renders need little memory.\n"
          "\n"
          "  -o, --output FILE     where to write (required)\n"
          "  --seconds S           length (default: the patch's `length`, else its inputs')\n"
          "  --rate HZ             audio rate (default: the patch's `rate`, else 48000)\n"
          "  --set NAME=VALUE      override a param, e.g. --set cutoff=2khz (repeatable)\n"
          "  --input NAME=FILE     feed an input from an audio file (repeatable); any\n"
          "                        format and rate, resampled to the patch's rate\n"
          "  --format F            pcm16 (default for wav/flac/aiff), pcm24 or float\n"
          "  --block N             samples per block (default 2048)\n"
          "  -q, --quiet           no summary line\n",
          f);
}

enum {
    OPT_SECONDS = 256,
    OPT_RATE,
    OPT_SET,
    OPT_INPUT,
    OPT_FORMAT,
    OPT_BLOCK,
};

static int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},  {"seconds", required_argument, NULL, OPT_SECONDS},
        {"rate", required_argument, NULL, OPT_RATE}, {"set", required_argument, NULL, OPT_SET},
        {"input", required_argument, NULL, OPT_INPUT}, {"format", required_argument, NULL, OPT_FORMAT},
        {"block", required_argument, NULL, OPT_BLOCK}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    wf_setup_opts o = {0};
    const char *out = NULL;
    wf_sample_format fmt = WF_FMT_DEFAULT;
    double block = 2048;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage_run(stdout); return 0;
        case OPT_SECONDS:
            if (wf_parse_number(optarg, &o.seconds) || o.seconds <= 0)
                return wf_cli_usage_error("run", "--seconds takes a positive number, got '%s'", optarg);
            break;
        case OPT_RATE:
            if (wf_parse_number(optarg, &o.rate) || o.rate < 1 || o.rate > 1e6)
                return wf_cli_usage_error("run", "--rate takes a rate in Hz, got '%s'", optarg);
            break;
        case OPT_SET: wf_opts_add(&o.sets, optarg); break;
        case OPT_INPUT: wf_opts_add(&o.inputs, optarg); break;
        case OPT_FORMAT:
            if (wf_parse_sample_format(optarg, &fmt))
                return wf_cli_usage_error("run", "--format is pcm16, pcm24 or float, not '%s'", optarg);
            break;
        case OPT_BLOCK:
            if (wf_parse_number(optarg, &block) || block < 1 || block > 1 << 20)
                return wf_cli_usage_error("run", "--block takes a sample count, got '%s'", optarg);
            break;
        default: usage_run(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        free(o.sets.v);
        free(o.inputs.v);
        return wf_cli_usage_error("run", "expects one PATCH%s", "");
    }
    if (!out) {
        free(o.sets.v);
        free(o.inputs.v);
        return wf_cli_usage_error("run", "needs -o OUT (the audio file to write)%s", "");
    }
    o.patch = argv[optind];
    wf_diags d = {0};
    wf_setup s = {0};
    int status = 1;
    if (wf_setup_prepare(&s, &o, &d) == 0) {
        int rc = wf_render(&s, out, fmt, (int)block, quiet, &d);
        status = rc == 130 ? 130 : rc ? 1 : 0;
    }
    wf_setup_free(&s);
    free(o.sets.v);
    free(o.inputs.v);
    return wf_cli_finish(&d, status);
}

int wf_render(wf_setup *s, const char *out, wf_sample_format fmt, int block, int quiet, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    int loaded = 0;
    for (int j = 0; j < g->ninputs; j++)
        loaded |= s->data[j] != NULL;
    int whole = loaded || wf_graph_needs_whole(g);
    if (whole && !loaded)
        wf_setup_load_inputs(s);
    wf_prog *p = wf_prog_new(g, &s->env, &s->params, whole ? WF_RUN_WHOLE : WF_RUN_STREAM, block, d);
    if (!p)
        return -1;
    for (int j = 0; j < g->ninputs; j++) {
        if (whole && s->data[j])
            wf_prog_set_input(p, j, s->data[j]);
        else if (s->readers[j])
            wf_prog_set_reader(p, j, wf_audio_read, s->readers[j]);
    }
    int C = wf_prog_out_chans(p);
    wf_audio_writer *w = wf_audio_create(out, s->env.sr, C, fmt, d);
    if (!w) {
        wf_prog_free(p);
        return -1;
    }
    int rc = 0;
    int64_t at = 0, bad = -1;
    const wf_real *y;
    int n;
    volatile sig_atomic_t *stop = wf_cli_catch_sigint();
    while (rc == 0 && bad < 0 && !*stop &&
           (y = whole ? (at ? NULL : wf_prog_forward(p)) : wf_prog_next_block(p, &n))) {
        if (whole)
            n = (int)s->env.nsamples;
        for (size_t i = 0; i < (size_t)n * (size_t)C && bad < 0; i++)
            if (!isfinite((double)y[i]))
                bad = at + (int64_t)(i / (size_t)C);
        if (bad < 0)
            rc = wf_audio_write(w, y, n);
        at += n;
    }
    wf_prog_free(p);
    wf_cli_release_sigint();
    if (*stop) {
        wf_fail(d, "interrupted: '%s' was not written", out);
        wf_audio_abort(w);
        return 130;
    }
    if (bad >= 0) {
        wf_fail(d, "the out is not finite from sample %lld (%.4f s): nothing was written",
                (long long)bad, (double)bad / s->env.sr);
        wf_audio_abort(w);
        return -1;
    }
    if (rc) {
        wf_fail(d, "cannot write '%s'", out);
        wf_audio_abort(w);
        return -1;
    }
    if (wf_audio_commit(w, d))
        return -1;
    /* with --diagnostics=json, stderr holds nothing but the JSON array */
    if (!quiet && wf_cli_diag_format == WF_DIAG_TEXT)
        fprintf(stderr, "weft: wrote %s (%.3f s, %d channel%s, %g Hz)\n", out,
                (double)s->env.nsamples / s->env.sr, C, C == 1 ? "" : "s", s->env.sr);
    return 0;
}

/* ----------------------------------------------------------------- graph */

static int cmd_graph(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: weft graph PATCH [-o FILE.dot]\n\n"
                 "Prints the compiled graph as Graphviz DOT: every node with its rate and\n"
                 "channel count, edges labelled with argument names. Render it with\n"
                 "`dot -Tsvg`.");
            return 0;
        }
        if (c == 'o')
            out = optarg;
        else
            return wf_cli_usage_error("graph", "unknown option%s", "");
    }
    if (optind != argc - 1)
        return wf_cli_usage_error("graph", "expects one PATCH%s", "");
    wf_diags d = {0};
    wf_compile_opts co = {0};
    wf_patch *p = wf_compile_file(argv[optind], &co, &d);
    if (!p)
        return wf_cli_finish(&d, 1);
    char *dot = wf_graph_dot(p->g);
    int status = 0;
    if (out) {
        if (wf_write_file_atomic(out, dot, strlen(dot))) {
            wf_fail(&d, "cannot write '%s': %s", out, strerror(errno));
            status = 1;
        }
    } else {
        fputs(dot, stdout);
    }
    free(dot);
    wf_patch_free(p);
    return wf_cli_finish(&d, status);
}

/* ----------------------------------------------------------------- nodes */

static int cmd_nodes(int argc, char **argv)
{
    int markdown = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0)
            markdown = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: weft nodes [--markdown]\n\n"
                 "Lists every node with its signature, defaults and a one-line description.\n"
                 "--markdown prints the reference kept in docs/nodes.md.");
            return 0;
        } else
            return wf_cli_usage_error("nodes", "unknown argument '%s'", argv[i]);
    }
    char *text = markdown ? wf_registry_markdown() : wf_registry_listing();
    fputs(text, stdout);
    free(text);
    return 0;
}

/* ------------------------------------------------------------------ main */

/* `weft check` computes in float64: the float32 command hands it over to its
 * float64 twin, installed beside it (build tree) or in libexec. Returns only
 * when there is no twin to run (or --float32 asks to stay). */
void wf_exec_float64(int argc, char **argv)
{
#ifndef WF_REAL_DOUBLE
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--float32") == 0)
            return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    wf_str cands[2] = {{0}, {0}};
    wf_str_printf(&cands[0], "%.*s/weft64", (int)(slash - self), self);
    wf_str_printf(&cands[1], "%s/weft/weft64", WF_LIBEXEC_DIR);
    for (int c = 0; c < 2; c++) {
        if (access(cands[c].s, X_OK) == 0) {
            argv[0] = cands[c].s;
            execv(cands[c].s, argv);
        }
    }
    fprintf(stderr, "weft: warning: the float64 checker (weft64) is not installed: checking in "
                    "float32, where finite differences are less precise\n");
    wf_str_free(&cands[0]);
    wf_str_free(&cands[1]);
#else
    (void)argc;
    (void)argv;
#endif
}

int wf_cli_main(int argc, char **argv)
{
    int i = 1;
    wf_cli_diag_format = WF_DIAG_TEXT;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage_main(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)
            return version();
        if (strcmp(a, "--diagnostics=json") == 0)
            wf_cli_diag_format = WF_DIAG_JSON;
        else if (strcmp(a, "--diagnostics=text") == 0)
            wf_cli_diag_format = WF_DIAG_TEXT;
        else {
            fprintf(stderr, "weft: unknown option '%s'\n", a);
            usage_main(stderr);
            return 2;
        }
    }
    if (i == argc) {
        usage_main(stderr);
        return 2;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    /* getopt names the program after argv[0] in its messages */
    static char name[64];
    snprintf(name, sizeof name, "weft %.40s", cmd);
    char *saved = sub_argv[0];
    sub_argv[0] = name;
    if (strcmp(cmd, "run") == 0)
        return cmd_run(sub_argc, sub_argv);
    if (strcmp(cmd, "graph") == 0)
        return cmd_graph(sub_argc, sub_argv);
    if (strcmp(cmd, "nodes") == 0)
        return cmd_nodes(sub_argc, sub_argv);
    if (strcmp(cmd, "fit") == 0)
        return wf_cmd_fit(sub_argc, sub_argv);
    if (strcmp(cmd, "check") == 0) {
        sub_argv[0] = saved;
        wf_exec_float64(argc, argv);
        sub_argv[0] = name;
        return wf_cmd_check(sub_argc, sub_argv);
    }
    fprintf(stderr, "weft: unknown command '%s'\n", cmd);
    usage_main(stderr);
    return 2;
}
