/* The weft command's entry (lang/cli.h): global options, --version, and the
 * dispatch to the subcommands of lang/cmd/cmds.h. Every failure becomes a
 * diagnostic and a non-zero exit status. */
#define _POSIX_C_SOURCE 200809L
#include "lang/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/setup.h"
#include "runtime/audio.h"
#include "runtime/fft.h"
#include "runtime/playback.h"

static void usage_main(FILE *f)
{
    fputs("usage: weft [--diagnostics=text|json] COMMAND [ARGS]\n"
          "\n"
          "A differentiable patch language: render patches, fit them to recordings.\n"
          "\n"
          "commands:\n"
          "  run PATCH -o OUT      render a patch to an audio file (-o -: to stdout)\n"
          "  play PATCH            play a patch through the audio device\n"
          "  fit PATCH --target F  fit a patch's params to a recording\n"
          "  check PATCH           compare reverse-mode gradients with finite differences\n"
          "  graph PATCH           print the compiled graph as Graphviz DOT, or draw it\n"
          "                        as SVG or PNG through Graphviz\n"
          "  spectrogram FILE -o OUT.png  draw an audio file's spectrogram\n"
          "  plot LOG.csv -o OUT   plot a fit log's loss curves (PNG or SVG)\n"
          "  repl [PATCH]          a live session: build a patch line by line, play it\n"
          "                        while editing, fit it (`weft` alone on a terminal)\n"
          "  nodes                 list every node with its signature\n"
          "  errors [CODE]         list the codes of errors and warnings, or explain one\n"
          "\n"
          "options:\n"
          "  --diagnostics=json    print errors and warnings as JSON\n"
          "  -h, --help            this help; `weft COMMAND --help` for a command\n"
          "  -V, --version         version and the libraries in use\n"
          "\n"
          "audio files: inputs and targets in any format libsndfile reads (by content);\n"
          "outputs in the format their extension names, among those it writes here:\n",
          f);
    wf_cli_print_wrapped(f, "  ", wf_audio_formats(), 2);
}

static int version(void)
{
    printf("weft %s (%s samples; fft: %s; audio: %s; playback: %s)\n", WF_VERSION, WF_REAL_NAME,
           wf_fft_backends(), wf_audio_versions(), wf_player_version());
    return 0;
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
        if (isatty(0) && isatty(1)) { /* a person at a terminal: the REPL */
            char *repl_argv[] = {"weft repl", NULL};
            return wf_cmd_repl(1, repl_argv);
        }
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
        return wf_cmd_run(sub_argc, sub_argv);
    if (strcmp(cmd, "play") == 0)
        return wf_cmd_play(sub_argc, sub_argv);
    if (strcmp(cmd, "graph") == 0)
        return wf_cmd_graph(sub_argc, sub_argv);
    if (strcmp(cmd, "nodes") == 0)
        return wf_cmd_nodes(sub_argc, sub_argv);
    if (strcmp(cmd, "errors") == 0)
        return wf_cmd_errors(sub_argc, sub_argv);
    if (strcmp(cmd, "fit") == 0)
        return wf_cmd_fit(sub_argc, sub_argv);
    if (strcmp(cmd, "spectrogram") == 0)
        return wf_cmd_spectrogram(sub_argc, sub_argv);
    if (strcmp(cmd, "plot") == 0)
        return wf_cmd_plot(sub_argc, sub_argv);
    if (strcmp(cmd, "repl") == 0)
        return wf_cmd_repl(sub_argc, sub_argv);
    if (strcmp(cmd, "check") == 0) {
        sub_argv[0] = saved;
        wf_cmd_exec_float64(argc, argv);
        sub_argv[0] = name;
        return wf_cmd_check(sub_argc, sub_argv);
    }
    fprintf(stderr, "weft: unknown command '%s'\n", cmd);
    usage_main(stderr);
    return 2;
}

void wf_cli_wait_policy(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("GOMP_SPINCOUNT", "0", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: run as we are */
}
