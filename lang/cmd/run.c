/* `weft run`, `weft graph`, `weft nodes` and `weft errors`: rendering a patch
 * to a file, its compiled graph as Graphviz DOT, the node reference, and the
 * list of diagnostic codes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/setup.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

static void usage_run(FILE *f)
{
    fputs("usage: weft run PATCH -o OUT [options]\n"
          "\n"
          "Renders PATCH to the audio file OUT, in the format its extension names.\n"
          "Streams in blocks, so long renders need little memory.\n"
          "\n"
          "  -o, --output FILE     where to write (required)\n"
          "  --seconds S           length (default: the patch's `length`, else its inputs')\n"
          "  --rate HZ             audio rate (default: the patch's `rate`, else 48000)\n"
          "  --set NAME=VALUE      override a param, e.g. --set cutoff=2khz (repeatable)\n"
          "  --input NAME=FILE     feed an input from an audio file (repeatable); any\n"
          "                        format and rate, resampled to the patch's rate\n"
          "  --format F            pcm16 (the default where the format holds PCM), pcm24\n"
          "                        or float; not for mp3, ogg and opus, which are encoded\n"
          "                        (mp3: variable bitrate at LAME's -V2, about 190 kbit/s)\n"
          "  --block N             samples per block (default 2048)\n"
          "  -q, --quiet           no summary line\n"
          "\n"
          "Extensions libsndfile writes here (it reports them at run time):\n",
          f);
    wf_cli_print_wrapped(f, "  ", wf_audio_formats(), 2);
}

enum {
    OPT_SECONDS = 256,
    OPT_RATE,
    OPT_SET,
    OPT_INPUT,
    OPT_FORMAT,
    OPT_BLOCK,
};

int wf_cmd_run(int argc, char **argv)
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

int wf_cmd_graph(int argc, char **argv)
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
            wf_report_cannot_write(&d, WF_NOWHERE, NULL, out, strerror(errno));
            status = 1;
        }
    } else {
        fputs(dot, stdout);
    }
    free(dot);
    wf_patch_free(p);
    return wf_cli_finish(&d, status);
}

int wf_cmd_nodes(int argc, char **argv)
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

/* An unknown code, with the closest one. */
static int no_code(const char *name)
{
    const char *names[WF_DIAG_COUNT];
    for (int c = 0; c < WF_DIAG_COUNT; c++)
        names[c] = wf_diag_code_name(c);
    const char *close = wf_suggest(name, names, WF_DIAG_COUNT);
    fprintf(stderr, "weft errors: no code '%s'", name);
    if (close)
        fprintf(stderr, "; did you mean '%s'?", close);
    fputs("\n(see `weft errors` for the list)\n", stderr);
    return 2;
}

int wf_cmd_errors(int argc, char **argv)
{
    int markdown = 0, code = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            puts("usage: weft errors [CODE] [--markdown]\n\n"
                 "Lists the code of every error and warning weft reports (shown after the\n"
                 "message as [code], and as \"code\" with --diagnostics=json), with its\n"
                 "message and when it happens; CODE shows only that one. --markdown prints\n"
                 "the tables kept in docs/language.md.");
            return 0;
        }
        if (strcmp(a, "--markdown") == 0)
            markdown = 1;
        else if (a[0] == '-' || code >= 0)
            return wf_cli_usage_error("errors", "unknown argument '%s'", a);
        else if ((code = wf_diag_code_find(a)) < 0)
            return no_code(a);
    }
    char *text = markdown ? wf_diag_codes_markdown() : wf_diag_codes_listing(code);
    fputs(text, stdout);
    free(text);
    return 0;
}
