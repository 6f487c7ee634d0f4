/* `weft repl`: a live session (lang/session.h) typed line by line. Each
 * statement a patch accepts extends or redefines the session's patch; a
 * bare expression is rendered for a moment and summed up (shape, rate,
 * peak, RMS, sparklines of its envelope and spectrum); lines starting with
 * ':' are commands. The commands reuse what the weft command does: set-up
 * and rendering (setup.h), `weft fit`'s options and progress (fit.h,
 * runtime/fit.h), the rewriting of a patch with its values (rewrite.h), the
 * graph's DOT and the registry's docs. Each works on the session's text
 * compiled as one patch, with the session's current param values.
 *
 * On a terminal the line editor is libedit (repl_edit.c); otherwise lines
 * are read plainly, nothing is prompted, and the exit status says whether
 * any line failed, so that a session is a script. Ctrl-C drops the line
 * being typed, or stops a render or a fit (whose best values are kept),
 * never the REPL; Ctrl-D or :quit leaves. */
#define _POSIX_C_SOURCE 200809L
#include "lang/cmd/repl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/cmd/fit.h"
#include "lang/cmd/setup.h"
#include "lang/rewrite.h"
#include "runtime/fft.h"
#include "runtime/node.h"
#include "runtime/playback.h"
#include "runtime/util.h"
#include "stdlib/registry.h"

volatile sig_atomic_t wf_repl_interrupted;
int wf_repl_wake = -1;
static int wake_write = -1;

static void on_sigint(int sig)
{
    (void)sig;
    wf_repl_interrupted = 1;
    if (wake_write >= 0) {
        int keep = errno;
        ssize_t w = write(wake_write, "", 1); /* a full pipe already says it */
        (void)w;
        errno = keep;
    }
}

/* The wake pipe (repl.h), non-blocking at both ends and not inherited. */
static void open_wake(void)
{
    int fd[2];
    if (pipe(fd) != 0)
        return;
    for (int i = 0; i < 2; i++) {
        fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
        fcntl(fd[i], F_SETFD, FD_CLOEXEC);
    }
    wf_repl_wake = fd[0];
    wake_write = fd[1];
}

static void close_wake(void)
{
    if (wf_repl_wake < 0)
        return;
    close(wf_repl_wake);
    close(wake_write);
    wf_repl_wake = wake_write = -1;
}

const char *const wf_repl_commands[] = {"help", "load", "reload", "save", "render", "params",
                                        "set", "fit", "grad", "graph", "nodes", "play", "stop",
                                        "forget", "quit", NULL};

static const char *const command_help[] = {
    ":help [NODE|COMMAND]       this list, or a node's signature and doc",
    ":load FILE                 add a patch file's statements to the session",
    ":reload                    read the loaded file again (param values that still exist\n"
    "                           are kept; statements typed since are dropped)",
    ":save FILE                 write the session as a patch, with its current values",
    ":render [EXPR] [SECONDS] [FILE]  render the patch (or EXPR) for SECONDS (default: its\n"
    "                           length, else 5 s) to FILE, or sum it up without FILE",
    ":params                    every param with its value",
    ":set NAME VALUE            set a param (heard from the next block)",
    ":fit TARGET [STEPS] [OPTS] fit the params to a recording, with `weft fit`'s options\n"
    "                           (Ctrl-C stops it; the best values are kept)",
    ":grad                      the loss's gradient per param against the last :fit's target",
    ":graph [FILE]              the patch as a tree, or as Graphviz DOT into FILE",
    ":nodes [WORD]              the node kinds (those whose line holds WORD)",
    ":play [EXPR]               play the patch (its out set to EXPR first); edits swap in",
    ":stop                      stop playing",
    ":forget NAME               drop the statement defining NAME (\"out\" for the out)",
    ":quit                      leave (as does Ctrl-D)",
};

/* Seconds a bare expression is rendered for, to sum it up. */
#define GLANCE_SECONDS 1.0
/* A :render without SECONDS of a patch without a length. */
#define RENDER_SECONDS 5.0

typedef struct repl {
    wf_session *s;
    wf_session_opts so;
    int tty;
    const char *device;
    char *file;     /* the last :load, for :reload */
    char **fit_words; /* the last :fit's words, for :grad */
    int nfit_words;
    wf_player *player;
    wf_str warned; /* warnings shown, a line "path:line:col:code" each */
    int failed;
} repl;

enum { GO_ON, QUIT };

/* Prints and frees diagnostics; -1 if they hold an error. Each edit
 * compiles the whole session again, so a warning about an earlier line is
 * shown once, not at every edit after it. */
static int report(repl *r, wf_diags *d)
{
    int bad = d->errors > 0;
    wf_diags show = *d;
    show.v = wf_xmalloc(sizeof *show.v * (size_t)(d->n + 1));
    show.n = 0;
    for (int i = 0; i < d->n; i++) {
        const wf_diagnostic *g = &d->v[i];
        if (g->sev == WF_SEV_WARNING && g->loc.src) {
            wf_str key = {0};
            wf_str_printf(&key, "\n%s:%d:%d:%s\n", g->loc.src->path, g->loc.line, g->loc.col,
                          wf_diag_code_name(g->code));
            int seen = r->warned.s && strstr(r->warned.s, key.s);
            if (!seen)
                wf_str_puts(&r->warned, key.s + (r->warned.len ? 1 : 0));
            wf_str_free(&key);
            if (seen)
                continue;
        }
        show.v[show.n++] = *g;
    }
    if (show.n)
        wf_diags_print(stderr, &show, wf_cli_diag_format);
    free(show.v);
    wf_diags_free(d);
    if (bad)
        r->failed = 1;
    return bad ? -1 : 0;
}

static int usage(repl *r, const char *cmd, const char *how)
{
    wf_diags d = {0};
    wf_report_repl_usage(&d, WF_NOWHERE, "see :help", cmd, how);
    return report(r, &d);
}

/* ---------------------------------------------------------------- words */

/* Words separated by spaces; "double quotes" hold spaces. */
static char **split_words(const char *s, int *n)
{
    char **v = wf_xmalloc(sizeof *v);
    *n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        wf_str w = {0};
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++)
                wf_str_putc(&w, *s);
            if (*s)
                s++;
        } else {
            for (; *s && *s != ' ' && *s != '\t' && *s != '\n'; s++)
                wf_str_putc(&w, *s);
        }
        v = wf_xrealloc(v, sizeof *v * (size_t)(*n + 2));
        v[(*n)++] = w.s ? w.s : wf_xstrdup("");
    }
    v[*n] = NULL;
    return v;
}

static void free_words(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    return s;
}

/* A number of seconds: "2", "2.5", "2s", "500ms". */
static int parse_seconds(const char *w, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(w, &end);
    if (end == w || errno || !isfinite(v) || v <= 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    *out = v;
    return 0;
}

/* Whether the entry is a statement (a keyword, or NAME = ...), not an
 * expression. */
static int is_statement(const char *t)
{
    static const char *const kw[] = {"rate", "frames", "length", "param", "input", "out",
                                     "def", "use", "return", NULL};
    const char *p = skip_space(t), *a = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_')
        p++;
    if (p == a)
        return 0;
    for (int i = 0; kw[i]; i++)
        if ((size_t)(p - a) == strlen(kw[i]) && strncmp(a, kw[i], (size_t)(p - a)) == 0)
            return 1;
    p = skip_space(p);
    return *p == '=';
}

/* -------------------------------------------------------- the patch as one */

static double session_rate(const repl *r)
{
    return wf_patch_rate(wf_session_patch(r->s)->g, 0, r->so.rate);
}

/* The values of params found by name in `from` copied into `to` where
 * their sizes agree. */
static void copy_params(wf_params *to, const wf_params *from)
{
    for (int i = 0; i < to->n; i++) {
        int j = wf_params_find(from, to->v[i].decl->name);
        if (j >= 0 && wf_param_len(&from->v[j]) == wf_param_len(&to->v[i]))
            memcpy(to->v[i].value, from->v[j].value, sizeof(wf_real) * wf_param_len(&to->v[i]));
    }
}

/* The session's text, its out replaced by expr when not NULL. */
static char *patch_text(repl *r, const char *expr)
{
    if (!expr)
        return wf_session_text(r->s);
    char *rest = wf_session_text_without(r->s, "out");
    wf_str t = {0};
    wf_str_printf(&t, "%sout %s\n", rest, expr);
    free(rest);
    return t.s;
}

/* Name of the session's text as one patch, in the session's folder. */
static char *patch_name(const repl *r)
{
    return wf_path_in(r->so.dir, "(repl)");
}

/* The session's patch (its out expr, if not NULL) ready to run for
 * `seconds` (0: its length), with the session's param values. */
static int prepare(repl *r, const char *expr, double seconds, int fed_target, wf_setup *st,
                   wf_diags *d)
{
    char *text = patch_text(r, expr), *name = patch_name(r);
    wf_setup_opts o = {0};
    o.patch = name;
    o.text = text;
    o.seconds = seconds;
    o.fallback_rate = r->so.rate;
    o.fed_target = fed_target;
    int before = d->n;
    int rc = wf_setup_prepare(st, &o, d);
    if (rc == 0) { /* its warnings were the session's, said when it was typed */
        wf_diags_truncate(d, before);
        copy_params(&st->params, wf_session_params(r->s));
    }
    free(text);
    free(name);
    return rc;
}

/* Checks expr as the session's out, with diagnostics in the line typed. */
static int try_expr(repl *r, const char *expr, wf_diags *d)
{
    wf_str t = {0};
    wf_str_printf(&t, "out %s\n", expr);
    int rc = wf_session_try(r->s, t.s, d);
    wf_str_free(&t);
    return rc;
}

/* ------------------------------------------------------------- summaries */

static const char *const bars[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584",
                                   "\u2585", "\u2586", "\u2587", "\u2588"};

/* levels in [0, 1] as a line of bars (0: blank, else at least the lowest). */
static void sparkline(FILE *f, const double *v, int n)
{
    for (int i = 0; i < n; i++) {
        int k = v[i] <= 0 ? 0 : 1 + (int)floor(v[i] * 7.999);
        fputs(bars[k > 8 ? 8 : k], f);
    }
}

#define COLUMNS 32

/* The envelope (peak per column, against the whole's peak) of the mix. */
static void envelope(const wf_real *y, int64_t frames, int chans, double peak, double *col)
{
    for (int c = 0; c < COLUMNS; c++) {
        int64_t a = frames * c / COLUMNS, b = frames * (c + 1) / COLUMNS;
        double m = 0;
        for (int64_t t = a; t < b; t++) {
            double x = 0;
            for (int k = 0; k < chans; k++)
                x += y[(size_t)t * chans + k];
            m = fmax(m, fabs(x / chans));
        }
        col[c] = peak > 0 ? m / peak : 0;
    }
}

/* The spectrum of the mix's first 8192 samples (Hann window), on COLUMNS
 * bands spaced logarithmically from 20 Hz to the Nyquist frequency, each
 * its loudest bin in dB over a 60 dB range below the loudest band. */
static void spectrum(const wf_real *y, int64_t frames, int chans, double sr, double *col)
{
    int n = 8192;
    while (n > 64 && n > frames)
        n /= 2;
    wf_real *x = wf_aalloc(sizeof(wf_real) * (size_t)n);
    wf_real *X = wf_aalloc(sizeof(wf_real) * (size_t)(n + 2));
    for (int t = 0; t < n; t++) {
        double v = 0;
        for (int k = 0; t < frames && k < chans; k++)
            v += y[(size_t)t * chans + k];
        x[t] = (wf_real)(v / chans * (0.5 - 0.5 * cos(2 * 3.14159265358979323846 * t / n)));
    }
    wf_fft_r2c(n, 1, x, X);
    double lo = log(20.0), hi = log(sr / 2), top = -1e300;
    for (int k = 0; k <= n / 2; k++) /* the loudest bin, below 20 Hz too: DC is silence here */
        top = fmax(top, hypot(X[2 * k], X[2 * k + 1]) > 0 ? 20 * log10(hypot(X[2 * k], X[2 * k + 1])) : -1e300);
    for (int c = 0; c < COLUMNS; c++) {
        int a = (int)floor(exp(lo + (hi - lo) * c / COLUMNS) * n / sr);
        int b = (int)ceil(exp(lo + (hi - lo) * (c + 1) / COLUMNS) * n / sr);
        double m = 0;
        for (int k = a; k <= b && k <= n / 2; k++)
            m = fmax(m, hypot(X[2 * k], X[2 * k + 1]));
        col[c] = m > 0 ? 20 * log10(m) : -1e300;
    }
    for (int c = 0; c < COLUMNS; c++)
        col[c] = top > -1e300 ? fmax(0, 1 + (col[c] - top) / 60) : 0;
    wf_afree(x);
    wf_afree(X);
}

static void print_shape(FILE *f, wf_shape sh)
{
    fprintf(f, "%s rate, %d channel%s", sh.rate == WF_RATE_AUDIO     ? "audio"
                                        : sh.rate == WF_RATE_CONTROL ? "control"
                                                                     : "constant",
            sh.chans, sh.chans == 1 ? "" : "s");
    if (sh.lanes)
        fputs(", a lane per voice", f);
}

static double db(double v)
{
    return v > 0 ? 20 * log10(v) : -INFINITY;
}

/* Renders the patch (or expr) for `seconds` (at most its length) and says
 * what it is: shape, rate, peak, RMS, its envelope and spectrum. */
static int summarize(repl *r, const char *expr, double seconds)
{
    wf_diags d = {0};
    if (expr && try_expr(r, expr, &d))
        return report(r, &d);
    wf_setup st = {0};
    const wf_graph *sg = wf_session_patch(r->s)->g;
    if (!expr && sg->length > 0 && sg->length < seconds)
        seconds = 0; /* the patch's own */
    int rc = prepare(r, expr, seconds, 1, &st, &d);
    wf_real *y = NULL;
    int64_t frames = 0;
    int chans = 1;
    if (rc == 0 && st.patch->g->length > 0 && st.patch->g->length < seconds)
        wf_setup_relength(&st, llround(st.patch->g->length * st.env.sr));
    if (rc == 0)
        rc = wf_render_memory(&st, 2048, &y, &frames, &chans, &d);
    if (rc == 0) {
        double peak = 0, sum = 0;
        size_t len = (size_t)frames * (size_t)chans;
        for (size_t i = 0; i < len; i++) {
            peak = fmax(peak, fabs(y[i]));
            sum += (double)y[i] * y[i];
        }
        double rms = len ? sqrt(sum / len) : 0;
        const wf_graph *g = st.patch->g;
        FILE *f = stdout;
        if (!r->tty) /* a script's output says what it is about */
            fprintf(f, "%s\n", expr ? expr : "the patch");
        fputs("  ", f);
        /* an out not at audio rate is upsampled by the compiler: say what was typed */
        const wf_gnode *o = &g->nodes[g->out];
        if (o->kind == &wf_kind_upsample)
            o = &g->nodes[o->in[0]];
        print_shape(f, o->shape);
        fprintf(f, "; over %.3g s: peak %.4g (%.1f dB), RMS %.4g (%.1f dB)\n",
                (double)frames / st.env.sr, peak, db(peak), rms, db(rms));
        double col[COLUMNS];
        envelope(y, frames, chans, peak, col);
        fputs("  envelope |", f);
        sparkline(f, col, COLUMNS);
        fputs("|\n  spectrum |", f);
        spectrum(y, frames, chans, st.env.sr, col);
        sparkline(f, col, COLUMNS);
        fprintf(f, "| 20 Hz to %.3g kHz\n", st.env.sr / 2000);
        fflush(f);
    }
    free(y);
    wf_setup_free(&st);
    return report(r, &d);
}

/* ------------------------------------------------------------- commands */

static int cmd_help(repl *r, char **w, int n)
{
    if (n == 0) {
        puts("Type statements to build the patch (a statement that defines a name again\n"
             "replaces it), or an expression to hear about it. Commands:");
        for (size_t i = 0; i < sizeof command_help / sizeof *command_help; i++)
            printf("  %s\n", command_help[i]);
        puts("Tab completes; Ctrl-R searches the history; Ctrl-C stops a render or a fit.");
        return 0;
    }
    const char *name = w[0][0] == ':' ? w[0] + 1 : w[0];
    int k = wf_registry_find(name);
    if (k >= 0 && !(wf_registry[k]->flags & WF_KIND_INTERNAL)) {
        char *h = wf_registry_help(k);
        fputs(h, stdout);
        free(h);
        return 0;
    }
    for (int i = 0; wf_repl_commands[i]; i++)
        if (strcmp(wf_repl_commands[i], name) == 0) {
            printf("  %s\n", command_help[i]);
            return 0;
        }
    for (int i = 0; i < wf_session_count(r->s); i++) {
        const wf_stmt *st = wf_session_stmt(r->s, i);
        if (st->kind == WF_ST_DEF && strcmp(st->name, name) == 0) {
            printf("%s(", st->name);
            for (const wf_formal *f = st->formals; f; f = f->next)
                printf("%s%s", f->name, f->next ? ", " : "");
            puts(")    [a def of the session]");
            return 0;
        }
    }
    const char *names[WF_NODE_COUNT];
    for (int i = 0; i < WF_NODE_COUNT; i++)
        names[i] = wf_registry[i]->name;
    const char *close = wf_suggest(name, names, WF_NODE_COUNT);
    char hint[128] = "a node or command; :nodes lists the nodes";
    if (close)
        snprintf(hint, sizeof hint, "a node or command (did you mean %s?)", close);
    return usage(r, "help", hint);
}

/* Reads a patch file into the session: added, or replacing everything. */
static int load(repl *r, const char *path, int replace)
{
    wf_diags d = {0};
    size_t len;
    char *text = wf_read_file(path, &len);
    if (!text) {
        wf_report_cannot_read_patch(&d, WF_NOWHERE, NULL, path, strerror(errno));
        return report(r, &d);
    }
    /* :reload keeps the values of the params that are still there */
    wf_params keep = {0};
    const wf_params *ps = wf_session_params(r->s);
    keep.n = ps->n;
    keep.v = wf_xcalloc((size_t)ps->n + 1, sizeof *keep.v);
    for (int i = 0; i < ps->n; i++) {
        keep.v[i] = ps->v[i];
        size_t l = wf_param_len(&ps->v[i]);
        keep.v[i].value = wf_xmalloc(sizeof(wf_real) * (l + 1));
        memcpy(keep.v[i].value, ps->v[i].value, sizeof(wf_real) * l);
        keep.v[i].decl = NULL;
    }
    /* the names outlive the old patch: copied with the values */
    char **names = wf_xcalloc((size_t)ps->n + 1, sizeof *names);
    for (int i = 0; i < ps->n; i++)
        names[i] = wf_xstrdup(ps->v[i].decl->name);
    int rc = wf_session_eval_as(r->s, path, text, replace, &d);
    free(text);
    if (rc == 0 && replace) {
        wf_params *now = wf_session_params(r->s);
        int kept = 0;
        wf_session_lock(r->s);
        for (int i = 0; i < now->n; i++)
            for (int j = 0; j < keep.n; j++)
                if (strcmp(names[j], now->v[i].decl->name) == 0 &&
                    (size_t)keep.v[j].rows * keep.v[j].cols == wf_param_len(&now->v[i])) {
                    memcpy(now->v[i].value, keep.v[j].value, sizeof(wf_real) * wf_param_len(&now->v[i]));
                    kept++;
                }
        wf_session_unlock(r->s);
        printf("reloaded %s (%d statement%s; %d param value%s kept)\n", path,
               wf_session_count(r->s), wf_session_count(r->s) == 1 ? "" : "s", kept,
               kept == 1 ? "" : "s");
    } else if (rc == 0) {
        printf("loaded %s (%d statement%s in the session)\n", path, wf_session_count(r->s),
               wf_session_count(r->s) == 1 ? "" : "s");
    }
    for (int i = 0; i < keep.n; i++) {
        free(keep.v[i].value);
        free(names[i]);
    }
    free(keep.v);
    free(names);
    if (rc == 0 && !replace) {
        free(r->file);
        r->file = wf_xstrdup(path);
    }
    return report(r, &d);
}

static int cmd_save(repl *r, char **w, int n)
{
    if (n != 1)
        return usage(r, "save", "FILE");
    wf_diags d = {0};
    wf_setup st = {0};
    const wf_graph *g = wf_session_patch(r->s)->g;
    if (prepare(r, NULL, g->length > 0 ? 0 : 1, 1, &st, &d) == 0 &&
        wf_write_fitted_patch(st.patch, &st.params, &st.env, w[0], 0, &d) == 0)
        printf("wrote %s\n", w[0]);
    wf_setup_free(&st);
    return report(r, &d);
}

/* :render [EXPR] [SECONDS] [FILE]: the words at the end that read as a
 * file and as seconds are those; the rest is the expression. */
static int cmd_render(repl *r, const char *rest)
{
    int n;
    char **w = split_words(rest, &n);
    const char *file = NULL;
    double seconds = 0;
    int used = n;
    if (used > 0 && wf_audio_is_name(w[used - 1]))
        file = w[--used];
    if (used > 1 && (strcmp(w[used - 1], "s") == 0 || strcmp(w[used - 1], "ms") == 0)) {
        wf_str both = {0}; /* "2 s" as "2s" */
        wf_str_printf(&both, "%s%s", w[used - 2], w[used - 1]);
        if (parse_seconds(both.s, &seconds) == 0)
            used -= 2;
        wf_str_free(&both);
    } else if (used > 0 && parse_seconds(w[used - 1], &seconds) == 0) {
        used--;
    }
    /* the expression is the text before those words, as typed */
    char *expr = NULL;
    if (used > 0) {
        const char *p = rest;
        for (int i = 0; i < used; i++) {
            p = skip_space(p);
            p = strstr(p, w[i]) + strlen(w[i]);
        }
        expr = wf_xstrndup(skip_space(rest), (size_t)(p - skip_space(rest)));
    }
    int rc;
    if (!file) {
        rc = summarize(r, expr, seconds > 0 ? seconds : RENDER_SECONDS);
    } else {
        wf_diags d = {0};
        wf_setup st = {0};
        const wf_graph *g = wf_session_patch(r->s)->g;
        if (seconds <= 0 && !(g->length > 0))
            seconds = RENDER_SECONDS;
        if ((!expr || try_expr(r, expr, &d) == 0) && prepare(r, expr, seconds, 1, &st, &d) == 0)
            wf_render(&st, file, WF_FMT_DEFAULT, 2048, 0, &d);
        wf_setup_free(&st);
        rc = report(r, &d);
    }
    free(expr);
    free_words(w, n);
    return rc;
}

static void print_values(const wf_param *p)
{
    size_t len = wf_param_len(p);
    char buf[40];
    if (len == 1) {
        wf_format_real(buf, sizeof buf, p->value[0]);
        fputs(buf, stdout);
        return;
    }
    fputc('[', stdout);
    for (size_t i = 0; i < len && i < 8; i++) {
        wf_format_real(buf, sizeof buf, p->value[i]);
        printf("%s%s", i ? ", " : "", buf);
    }
    if (len > 8)
        printf(", ... (%zu values)", len);
    fputc(']', stdout);
}

static int cmd_params(repl *r)
{
    const wf_params *ps = wf_session_params(r->s);
    if (ps->n == 0)
        puts("no params");
    for (int i = 0; i < ps->n; i++) {
        const wf_param *p = &ps->v[i];
        printf("  %s = ", p->decl->name);
        print_values(p);
        if (p->decl->bounded)
            printf("  in [%g, %g]", p->decl->lo, p->decl->hi);
        if (p->decl->log)
            fputs("  log", stdout);
        if (p->decl->fixed)
            fputs("  fixed", stdout);
        if (p->decl->rate == WF_RATE_CONTROL)
            fputs("  per frame", stdout);
        fputc('\n', stdout);
    }
    return 0;
}

static int cmd_set(repl *r, const char *rest)
{
    int n;
    char **w = split_words(rest, &n);
    int rc;
    if (n < 2) {
        rc = usage(r, "set", "NAME VALUE");
    } else {
        const char *value = strstr(rest, w[0]) + strlen(w[0]);
        wf_diags d = {0};
        double *v = NULL;
        int nv = 0;
        char what[96];
        snprintf(what, sizeof what, ":set %.60s", w[0]);
        if (wf_eval_constant(what, skip_space(value), &v, &nv, &d) == 0) {
            wf_session_lock(r->s);
            wf_params_set(wf_session_params(r->s), w[0], v, nv, &d);
            wf_session_unlock(r->s);
        }
        free(v);
        rc = report(r, &d);
    }
    free_words(w, n);
    return rc;
}

/* The objective of a :fit's words, for the session's patch: `weft fit`'s
 * command line with the session in place of the patch file. */
static int objective(repl *r, char **w, int n, wf_fit_args *a, wf_setup *st, wf_objective *ob,
                     wf_diags *d)
{
    char *name = patch_name(r);
    char **argv = wf_xcalloc((size_t)n + 8, sizeof *argv);
    int argc = 0;
    argv[argc++] = "weft fit";
    argv[argc++] = name;
    argv[argc++] = "--target";
    argv[argc++] = w[0];
    int from = 1;
    double steps;
    if (n > 1 && wf_parse_number(w[1], &steps) == 0) {
        argv[argc++] = "--steps";
        argv[argc++] = w[1];
        from = 2;
    }
    for (int i = from; i < n; i++)
        argv[argc++] = w[i];
    int rc = wf_fit_options(argc, argv, a);
    if (rc == 0) {
        char *text = patch_text(r, NULL);
        a->co.so.text = text;
        int before = d->n;
        rc = wf_objective_prepare(&a->co, st, ob, d) ? 1 : 0;
        free(text);
        a->co.so.text = NULL;
        if (rc == 0) { /* the compile's warnings were said when the session was typed */
            wf_diags_truncate(d, before);
            copy_params(&st->params, wf_session_params(r->s));
        }
    }
    free(argv);
    free(name);
    return rc;
}

/* weft fit's progress line, at most ten times a second: a small fit takes
 * thousands of steps a second, more than a terminal should draw. */
typedef struct throttle {
    wf_fit_progress_ctx pc;
    double last;
} throttle;

static void show_progress(void *ctx, const wf_fit_progress *p)
{
    throttle *t = ctx;
    double now = wf_now();
    if (p->step == p->steps || now - t->last >= 0.1) {
        t->last = now;
        wf_fit_show_progress(&t->pc, p);
    }
}

static int cmd_fit(repl *r, const char *rest)
{
    int n;
    char **w = split_words(rest, &n);
    if (n < 1 || w[0][0] == '-') {
        free_words(w, n);
        return usage(r, "fit", "TARGET [STEPS] [options as `weft fit`]");
    }
    wf_fit_args a = {0};
    wf_setup st = {0};
    wf_objective ob = {0};
    wf_diags d = {0};
    int rc = objective(r, w, n, &a, &st, &ob, &d);
    if (rc == 0) {
        int learnable = 0;
        for (int i = 0; i < st.params.n; i++)
            learnable += !st.params.v[i].decl->fixed;
        if (!learnable) {
            wf_report_nothing_to_fit(&d, WF_NOWHERE, NULL, "the session");
            rc = 1;
        }
    }
    if (rc == 0) {
        /* the target is remembered for :grad once it is known to work */
        free_words(r->fit_words, r->nfit_words);
        r->fit_words = w;
        r->nfit_words = n;
        w = NULL;
        throttle pc = {{!a.quiet && isatty(2), NULL}, 0};
        a.fo.progress = show_progress;
        a.fo.progress_ctx = &pc;
        a.fo.stop = wf_cli_catch_sigint();
        wf_fit_result res;
        int frc = wf_fit(ob.prog, &st.params, ob.batch, &a.fo, &res, &d);
        wf_cli_release_sigint();
        if (pc.pc.tty && res.steps < a.fo.steps)
            fputc('\n', stderr);
        /* the best values go into the session, heard from the next block */
        wf_session_lock(r->s);
        copy_params(wf_session_params(r->s), &st.params);
        wf_session_unlock(r->s);
        if (isfinite(res.best_loss))
            printf("%s %d steps in %.2f s; loss %.6g -> %.6g, best %.6g (kept)\n",
                   res.status == WF_FIT_STOPPED    ? "stopped after"
                   : res.status == WF_FIT_DIVERGED ? "diverged after"
                                                   : "fitted in",
                   res.steps, res.seconds, res.first_loss, res.final_loss, res.best_loss);
        if (frc == 0 && a.out && wf_write_fitted_patch(st.patch, &st.params, &st.env, a.out, 0, &d) == 0)
            printf("wrote %s\n", a.out);
        cmd_params(r);
    }
    free_words(w, n);
    wf_objective_free(&ob);
    wf_setup_free(&st);
    wf_common_free(&a.co);
    if (rc > 1) /* a usage error, printed */
        r->failed = 1;
    return report(r, &d) || rc ? -1 : 0;
}

static int cmd_grad(repl *r)
{
    if (!r->fit_words) {
        wf_diags d = {0};
        wf_report_repl_needs(&d, WF_NOWHERE, "give a recording with :fit TARGET", "grad",
                             "a target (:fit TARGET)");
        return report(r, &d);
    }
    wf_fit_args a = {0};
    wf_setup st = {0};
    wf_objective ob = {0};
    wf_diags d = {0};
    if (objective(r, r->fit_words, r->nfit_words, &a, &st, &ob, &d) == 0) {
        wf_real *dy = wf_aalloc(sizeof(wf_real) * wf_prog_out_len(ob.prog));
        double loss = wf_fit_grad(ob.prog, &st.params, ob.batch, 0, dy);
        wf_afree(dy);
        printf("loss %.6g against %s\n", loss, r->fit_words[0]);
        for (int i = 0; i < st.params.n; i++) {
            const wf_param *p = &st.params.v[i];
            if (p->decl->fixed)
                continue;
            wf_param g = *p;
            g.value = p->grad;
            printf("  d loss / d %s = ", p->decl->name);
            print_values(&g);
            fputc('\n', stdout);
        }
    }
    wf_objective_free(&ob);
    wf_setup_free(&st);
    wf_common_free(&a.co);
    return report(r, &d);
}

/* The graph as a tree from the out: each node with its bound name and
 * shape; a node met again is named, not drawn again. */
static void tree(const wf_graph *g, int i, wf_str *indent, int last, char *seen, int top)
{
    const wf_gnode *nd = &g->nodes[i];
    printf("%s%s", indent->s ? indent->s : "", top ? "" : last ? "\u2514\u2500 " : "\u251c\u2500 ");
    const char *what = nd->kind->name;
    if (nd->kind == &wf_kind_param)
        printf("param %s", g->params[nd->ref].name);
    else if (nd->kind == &wf_kind_input)
        printf("input %s", g->inputs[nd->ref].name);
    else if (nd->kind == &wf_kind_const && nd->opt && nd->nin == 0 && nd->opt[0].n == 1)
        printf("%g", nd->opt[0].v[0]);
    else
        fputs(what, stdout);
    if (nd->label)
        printf("  \"%s\"", nd->label);
    printf("  [");
    print_shape(stdout, nd->shape);
    printf("]");
    if (seen[i] && nd->nin) {
        puts("  (see above)");
        return;
    }
    fputc('\n', stdout);
    seen[i] = 1;
    size_t mark = indent->len;
    if (!top)
        wf_str_puts(indent, last ? "   " : "\u2502  ");
    for (int k = 0; k < nd->nin; k++)
        tree(g, nd->in[k], indent, k == nd->nin - 1, seen, 0);
    indent->len = mark;
    if (indent->s)
        indent->s[mark] = 0;
}

static int cmd_graph(repl *r, char **w, int n)
{
    const wf_graph *g = wf_session_patch(r->s)->g;
    if (n > 1)
        return usage(r, "graph", "[FILE]");
    if (n == 0) {
        char *seen = wf_xcalloc((size_t)g->n + 1, 1);
        wf_str indent = {0};
        fputs("out: ", stdout);
        tree(g, g->out, &indent, 1, seen, 1);
        wf_str_free(&indent);
        free(seen);
        return 0;
    }
    char *dot = wf_graph_dot(g);
    wf_diags d = {0};
    if (wf_write_file_atomic(w[0], dot, strlen(dot)))
        wf_report_cannot_write(&d, WF_NOWHERE, NULL, w[0], strerror(errno));
    else
        printf("wrote %s (Graphviz DOT)\n", w[0]);
    free(dot);
    return report(r, &d);
}

static int cmd_nodes(const char *word)
{
    char *text = wf_registry_listing();
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *l = wf_xstrndup(line, len);
        if (!word || (l[0] == ' ' && strstr(l, word)))
            puts(l);
        free(l);
        line += len + (end != NULL);
    }
    free(text);
    return 0;
}

/* ------------------------------------------------------------- playing */

/* The player's thread: the session's next block (the player spreads a
 * mono block over its channels). */
static const wf_real *pull(void *ctx, int *n, int *chans)
{
    repl *r = ctx;
    return wf_session_next_block(r->s, n, chans);
}

static void stop_playing(repl *r, const char *why)
{
    if (!r->player)
        return;
    long under = wf_player_underruns(r->player);
    wf_diags d = {0};
    wf_player_close_diags(r->player, &d);
    r->player = NULL;
    report(r, &d);
    printf("%s at %.2f s", why, (double)wf_session_position(r->s) / session_rate(r));
    if (under)
        printf("; %ld underrun%s (blocks not ready in time)", under, under == 1 ? "" : "s");
    fputc('\n', stdout);
}

static int cmd_play(repl *r, const char *expr)
{
    wf_diags d = {0};
    if (expr && *expr) {
        wf_str t = {0};
        wf_str_printf(&t, "out %s\n", expr);
        int rc = wf_session_eval(r->s, t.s, &d);
        wf_str_free(&t);
        if (rc)
            return report(r, &d);
    }
    if (r->player) {
        puts("playing (edits swap in at the next block)");
        return report(r, &d);
    }
    const wf_graph *g = wf_session_patch(r->s)->g;
    /* a file gets the out's channels; a device two, or more for an out of more */
    int chans = g->nodes[g->out].shape.chans;
    int to_file = r->device && strncmp(r->device, "file:", 5) == 0;
    wf_player_opts o = {r->device, session_rate(r), to_file || chans > 2 ? chans : 2, r->so.block};
    r->player = wf_player_open(&o, pull, r, &d);
    if (r->player)
        printf("playing through %s (%g Hz, %d channel%s); :stop stops\n",
               wf_player_sink_name(r->player), o.rate, o.chans, o.chans == 1 ? "" : "s");
    return report(r, &d);
}

/* -------------------------------------------------------------- the loop */

static int command(repl *r, const char *entry)
{
    const char *p = entry + 1, *a = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    char *cmd = wf_xstrndup(a, (size_t)(p - a));
    const char *rest = skip_space(p);
    char *trimmed = wf_xstrdup(rest);
    for (size_t l = strlen(trimmed); l > 0 && strchr(" \t\n", trimmed[l - 1]); l--)
        trimmed[l - 1] = 0;
    int n;
    char **w = split_words(trimmed, &n);
    int rc = GO_ON;
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "h") == 0 || strcmp(cmd, "?") == 0)
        cmd_help(r, w, n);
    else if (strcmp(cmd, "load") == 0)
        n == 1 ? load(r, w[0], 0) : usage(r, "load", "FILE");
    else if (strcmp(cmd, "reload") == 0) {
        if (n)
            usage(r, "reload", "nothing (it reads the file :load read)");
        else if (!r->file) {
            wf_diags d = {0};
            wf_report_repl_needs(&d, WF_NOWHERE, NULL, "reload", "a file (:load FILE)");
            report(r, &d);
        } else
            load(r, r->file, 1);
    } else if (strcmp(cmd, "save") == 0)
        cmd_save(r, w, n);
    else if (strcmp(cmd, "render") == 0)
        cmd_render(r, trimmed);
    else if (strcmp(cmd, "params") == 0)
        cmd_params(r);
    else if (strcmp(cmd, "set") == 0)
        cmd_set(r, trimmed);
    else if (strcmp(cmd, "fit") == 0)
        cmd_fit(r, trimmed);
    else if (strcmp(cmd, "grad") == 0)
        cmd_grad(r);
    else if (strcmp(cmd, "graph") == 0)
        cmd_graph(r, w, n);
    else if (strcmp(cmd, "nodes") == 0)
        cmd_nodes(n ? w[0] : NULL);
    else if (strcmp(cmd, "play") == 0)
        cmd_play(r, trimmed);
    else if (strcmp(cmd, "stop") == 0) {
        if (r->player)
            stop_playing(r, "stopped");
        else
            puts("not playing");
    } else if (strcmp(cmd, "forget") == 0) {
        wf_diags d = {0};
        if (n != 1)
            usage(r, "forget", "NAME");
        else {
            wf_session_forget(r->s, w[0], &d);
            report(r, &d);
        }
    } else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "q") == 0 || strcmp(cmd, "exit") == 0)
        rc = QUIT;
    else {
        wf_diags d = {0};
        const char *close = wf_suggest(cmd, (const char *const *)wf_repl_commands, 15);
        char hint[80] = ":help lists the commands";
        if (close)
            snprintf(hint, sizeof hint, "did you mean :%s?", close);
        wf_report_repl_unknown_command(&d, WF_NOWHERE, hint, cmd);
        report(r, &d);
    }
    free_words(w, n);
    free(trimmed);
    free(cmd);
    fflush(stdout);
    return rc;
}

/* One whole entry (a line, or the lines of an open bracket). */
static int handle(repl *r, const char *entry)
{
    const char *t = skip_space(entry);
    if (!*t || *t == '#')
        return GO_ON;
    if (*t == ':')
        return command(r, t);
    if (!is_statement(t)) {
        char *expr = wf_xstrdup(t);
        for (size_t l = strlen(expr); l > 0 && strchr(" \t\n", expr[l - 1]); l--)
            expr[l - 1] = 0;
        summarize(r, expr, GLANCE_SECONDS);
        free(expr);
        return GO_ON;
    }
    wf_diags d = {0};
    wf_session_eval(r->s, entry, &d);
    report(r, &d);
    return GO_ON;
}

static char *read_plain(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, f);
    if (got < 0) {
        free(line);
        return NULL;
    }
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
        line[--got] = 0;
    return line;
}

static void usage_repl(FILE *f)
{
    fputs("usage: weft repl [PATCH] [--device D] [--rate HZ] [--block N]\n"
          "\n"
          "A live session: type statements to build a patch line by line (one that\n"
          "defines a name again replaces it, and what plays changes at the next block\n"
          "with a short crossfade, unchanged nodes keeping their state), expressions to\n"
          "hear about them, and :commands (:help lists them) to render, play and fit.\n"
          "`weft` alone on a terminal is `weft repl`.\n"
          "\n"
          "  PATCH                 a patch file to start from (as :load PATCH)\n"
          "  --device D            where :play sounds: default (the audio device),\n"
          "                        null (nowhere), file:OUT.wav (a file, as it plays)\n"
          "  --rate HZ             audio rate when the patch sets none (default 48000)\n"
          "  --block N             samples per block while playing (default 512)\n"
          "\n"
          "On a terminal: history in $XDG_DATA_HOME/weft/history (else\n"
          "~/.local/share/weft/history), Ctrl-R searches it, Tab completes. Otherwise\n"
          "(weft repl < session.txt) lines are read without prompts, results printed,\n"
          "and the exit status is 1 if any line failed.\n",
          f);
}

int wf_cmd_repl(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"device", required_argument, NULL, 'd'}, {"rate", required_argument, NULL, 'r'},
        {"block", required_argument, NULL, 'b'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    repl r = {0};
    r.so.name = "repl";
    r.so.dir = ".";
    r.so.rate = 48000;
    r.so.block = 512;
    double v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': r.device = optarg; break;
        case 'r':
            if (wf_parse_number(optarg, &r.so.rate) || r.so.rate < 1 || r.so.rate > 1e6)
                return wf_cli_usage_error("repl", "--rate takes a rate in Hz, got '%s'", optarg);
            break;
        case 'b':
            if (wf_parse_number(optarg, &v) || v < 16 || v > 65536 || v != floor(v))
                return wf_cli_usage_error("repl", "--block takes a sample count from 16 to 65536, got '%s'", optarg);
            r.so.block = (int)v;
            break;
        case 'h': usage_repl(stdout); return 0;
        default: usage_repl(stderr); return 2;
        }
    }
    if (optind < argc - 1)
        return wf_cli_usage_error("repl", "takes at most one PATCH%s", "");
    r.s = wf_session_new(&r.so);
    r.tty = isatty(0);
    /* Ctrl-C interrupts what runs (read included: no SA_RESTART), not the REPL */
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    open_wake();
    sigaction(SIGINT, &sa, &old);
    wf_repl_edit *e = NULL;
    if (r.tty) {
        char *hist = wf_repl_history_path();
        e = wf_repl_edit_open(r.s, hist);
        free(hist);
        printf("weft %s: :help lists the commands, Tab completes, Ctrl-D leaves\n", WF_VERSION);
    }
    if (optind == argc - 1)
        load(&r, argv[optind], 0);
    wf_str entry = {0};
    for (;;) {
        if (r.player && wf_player_done(r.player))
            stop_playing(&r, "played to the end");
        fflush(stdout);
        int intr = 0;
        char *line = e ? wf_repl_edit_line(e, entry.len ? entry.s : NULL, &intr) : read_plain(stdin);
        if (!line)
            break;
        if (intr) { /* Ctrl-C: the entry is dropped */
            free(line);
            wf_str_free(&entry);
            continue;
        }
        if (e)
            wf_repl_edit_remember(e, line);
        wf_str_puts(&entry, line);
        wf_str_putc(&entry, '\n');
        free(line);
        if (skip_space(entry.s)[0] != ':' && wf_repl_open_brackets(entry.s) > 0)
            continue;
        int rc = handle(&r, entry.s);
        wf_str_free(&entry);
        if (rc == QUIT)
            break;
    }
    if (entry.len) /* an entry the input ended inside: its diagnostics */
        handle(&r, entry.s);
    wf_str_free(&entry);
    if (r.tty)
        fputc('\n', stdout);
    stop_playing(&r, "stopped");
    wf_repl_edit_close(e);
    sigaction(SIGINT, &old, NULL);
    close_wake();
    wf_session_free(r.s);
    free(r.file);
    free_words(r.fit_words, r.nfit_words);
    wf_str_free(&r.warned);
    return !r.tty && r.failed ? 1 : 0;
}
