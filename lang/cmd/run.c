/* `weft run`, `weft graph`, `weft nodes` and `weft errors`: rendering a patch
 * to a file, its compiled graph as Graphviz DOT (or drawn by Graphviz's dot
 * as SVG or PNG), the node reference, and the list of diagnostic codes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/setup.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

static void usage_run(FILE *f)
{
    fputs("usage: weft run PATCH -o OUT [options]\n"
          "\n"
          "Renders PATCH to the audio file OUT, in the format its extension names.\n"
          "Streams in blocks, so long renders need little memory. PATCH - reads the\n"
          "patch from standard input (the files it names are found from the current\n"
          "folder); -o - writes the audio to standard output, for pipes.\n"
          "\n"
          "  -o, --output FILE     where to write (required; - for standard output)\n"
          "  --type T              the format of -o -, which has no extension: wav (the\n"
          "                        default), raw (no header, little-endian), au, flac,\n"
          "                        ogg, mp3, opus; on a pipe, formats whose header is\n"
          "                        rewritten at the end (aiff, caf, w64) are refused\n"
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
    OPT_TYPE,
};

int wf_cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},  {"seconds", required_argument, NULL, OPT_SECONDS},
        {"rate", required_argument, NULL, OPT_RATE}, {"set", required_argument, NULL, OPT_SET},
        {"input", required_argument, NULL, OPT_INPUT}, {"format", required_argument, NULL, OPT_FORMAT},
        {"block", required_argument, NULL, OPT_BLOCK}, {"quiet", no_argument, NULL, 'q'},
        {"type", required_argument, NULL, OPT_TYPE}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    wf_setup_opts o = {0};
    const char *out = NULL, *type = NULL;
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
        case OPT_TYPE: type = optarg; break;
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
    if (type && strcmp(out, "-") != 0) {
        free(o.sets.v);
        free(o.inputs.v);
        return wf_cli_usage_error("run", "--type is the format of -o - (a file's is its extension)%s", "");
    }
    if (type) {
        char name[64];
        snprintf(name, sizeof name, "-.%.40s", type);
        if (!wf_audio_is_name(name)) {
            free(o.sets.v);
            free(o.inputs.v);
            fprintf(stderr, "weft run: --type names no audio format libsndfile has: '%s'\n", type);
            wf_cli_print_wrapped(stderr, "it writes: ", wf_audio_formats(), 2);
            return 2;
        }
    }
    o.patch = argv[optind];
    wf_diags d = {0};
    wf_setup s = {0};
    int status = 1;
    if (wf_setup_prepare(&s, &o, &d) == 0) {
        int rc = wf_render_as(&s, out, type, fmt, (int)block, quiet, &d);
        status = rc == 130 ? 130 : rc ? 1 : 0;
    }
    wf_setup_free(&s);
    free(o.sets.v);
    free(o.inputs.v);
    return wf_cli_finish(&d, status);
}

extern char **environ;

/* Reads what fd holds into b; 0 at its end, 1 when there may be more. */
static int drain(int fd, wf_str *b)
{
    char buf[65536];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got > 0) {
        wf_str_putn(b, buf, (size_t)got);
        return 1;
    }
    return got < 0 && errno == EINTR;
}

/* Runs Graphviz's `dot -T<format>` (found on PATH) on the DOT text through
 * pipes: the text into its stdin while its stdout and stderr are read, all
 * three polled so that no pipe fills up and stalls the other side. Returns
 * its wait status, or -1 with errno when it cannot start (ENOENT: no dot). */
static int run_dot(const char *format, const char *text, wf_str *out, wf_str *err)
{
    int p[3][2]; /* stdin, stdout, stderr */
    for (int i = 0; i < 3; i++) {
        if (pipe(p[i]) != 0) {
            int e = errno;
            while (i--) {
                close(p[i][0]);
                close(p[i][1]);
            }
            errno = e;
            return -1;
        }
        fcntl(p[i][0], F_SETFD, FD_CLOEXEC);
        fcntl(p[i][1], F_SETFD, FD_CLOEXEC);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
    posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
    char type[32];
    snprintf(type, sizeof type, "-T%s", format);
    char *argv[] = {"dot", type, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[0][0]);
    close(p[1][1]);
    close(p[2][1]);
    if (rc != 0) {
        close(p[0][1]);
        close(p[1][0]);
        close(p[2][0]);
        errno = rc;
        return -1;
    }
    /* a dot that dies early closes its stdin: writing gives EPIPE, not SIGPIPE */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    fcntl(p[0][1], F_SETFL, O_NONBLOCK);
    size_t len = strlen(text), off = 0;
    struct pollfd fds[3] = {{p[0][1], POLLOUT, 0}, {p[1][0], POLLIN, 0}, {p[2][0], POLLIN, 0}};
    if (len == 0) {
        close(fds[0].fd);
        fds[0].fd = -1;
    }
    while (fds[0].fd >= 0 || fds[1].fd >= 0 || fds[2].fd >= 0) {
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].fd >= 0 && fds[0].revents) {
            ssize_t n = write(fds[0].fd, text + off, len - off);
            if (n > 0)
                off += (size_t)n;
            if (off == len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                close(fds[0].fd);
                fds[0].fd = -1;
            }
        }
        for (int i = 1; i < 3; i++)
            if (fds[i].fd >= 0 && fds[i].revents && !drain(fds[i].fd, i == 1 ? out : err)) {
                close(fds[i].fd);
                fds[i].fd = -1;
            }
    }
    for (int i = 0; i < 3; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) {
            ws = -1;
            break;
        }
    sigaction(SIGPIPE, &old, NULL);
    return ws;
}

/* dot's stderr as one line for a diagnostic: its lines joined by "; ". */
static char *one_line(const wf_str *b)
{
    wf_str m = {0};
    const char *s = b->s ? b->s : "";
    for (size_t i = 0; i < b->len; i++) {
        if (s[i] == '\n') {
            while (i + 1 < b->len && (s[i + 1] == '\n' || s[i + 1] == ' '))
                i++;
            if (i + 1 < b->len)
                wf_str_puts(&m, "; ");
        } else if (s[i] != '\r') {
            wf_str_putc(&m, s[i]);
        }
    }
    return m.s ? m.s : wf_xstrdup("");
}

/* The graph drawn by dot as format, into *pic; 0 when it worked. A missing
 * dot is an error: drawing asked for cannot quietly become DOT text. */
static int draw(const char *dot, const char *format, wf_str *pic, wf_diags *d)
{
    wf_str err = {0};
    int ws = run_dot(format, dot, pic, &err);
    int why = errno, rc = -1;
    char *msg = one_line(&err);
    if (ws == -1 && why == ENOENT) {
        wf_report_no_graphviz(d, WF_NOWHERE,
                              "install Graphviz (Debian: apt-get install graphviz), or use "
                              "--format dot and draw the DOT elsewhere",
                              format);
    } else if (ws == -1) {
        wf_report_graphviz_failed(d, WF_NOWHERE, NULL, "cannot be started", strerror(why));
    } else if (WIFSIGNALED(ws)) {
        wf_str how = {0};
        wf_str_printf(&how, "was killed by signal %d", WTERMSIG(ws));
        wf_report_graphviz_failed(d, WF_NOWHERE, NULL, how.s, msg[0] ? msg : "no message");
        wf_str_free(&how);
    } else if (WEXITSTATUS(ws) != 0) {
        wf_str how = {0};
        wf_str_printf(&how, "exited with status %d", WEXITSTATUS(ws));
        wf_report_graphviz_failed(d, WF_NOWHERE, NULL, how.s, msg[0] ? msg : "no message");
        wf_str_free(&how);
    } else if (pic->len == 0) {
        wf_report_graphviz_failed(d, WF_NOWHERE, NULL, "wrote nothing",
                                  msg[0] ? msg : "no message");
    } else {
        if (msg[0])
            wf_report_graphviz_warning(d, WF_NOWHERE, NULL, msg);
        rc = 0;
    }
    free(msg);
    wf_str_free(&err);
    return rc;
}

int wf_cmd_graph(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *format = "dot";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: weft graph PATCH [--format dot|svg|png] [-o FILE]\n\n"
                 "Prints the compiled graph as Graphviz DOT: every node with its rate and\n"
                 "channel count, edges labelled with argument names, each feedback loop as a\n"
                 "cluster of its nodes (dashed: the edges from earlier steps).\n\n"
                 "  --format dot          DOT text (the default)\n"
                 "  --format svg|png      the graph drawn by Graphviz's `dot`, which must be\n"
                 "                        on PATH (Debian: graphviz); without it, an error\n"
                 "                        [no-graphviz] and exit status 1, nothing written\n"
                 "  -o, --output FILE     where to write (default: stdout)");
            return 0;
        }
        if (c == 'o')
            out = optarg;
        else if (c == 'f') {
            if (strcmp(optarg, "dot") != 0 && strcmp(optarg, "svg") != 0 && strcmp(optarg, "png") != 0)
                return wf_cli_usage_error("graph", "--format is dot, svg or png, not '%s'", optarg);
            format = optarg;
        } else
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
    wf_patch_free(p);
    wf_str pic = {0};
    int status = 0;
    if (strcmp(format, "dot") == 0)
        wf_str_puts(&pic, dot);
    else if (draw(dot, format, &pic, &d))
        status = 1;
    if (status == 0 && out) {
        if (wf_write_file_atomic(out, pic.s, pic.len)) {
            wf_report_cannot_write(&d, WF_NOWHERE, NULL, out, strerror(errno));
            status = 1;
        }
    } else if (status == 0) {
        fwrite(pic.s, 1, pic.len, stdout);
    }
    wf_str_free(&pic);
    free(dot);
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
