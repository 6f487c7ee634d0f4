/* The set-up every subcommand shares (setup.h): inputs resolved and opened,
 * the run's length and params, rendering to a file, Ctrl-C, and the final
 * report of diagnostics. */
#include "lang/cmd/setup.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/audio.h"
#include "runtime/exec.h"
#include "runtime/util.h"

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

int wf_cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "weft %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see `weft %s --help`)\n", cmd);
    return 2;
}

void wf_cli_print_wrapped(FILE *f, const char *head, const char *words, int indent)
{
    fputs(head, f);
    int col = (int)strlen(head);
    for (const char *p = words; *p;) {
        int n = (int)strcspn(p, " ");
        if (col + 1 + n > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > 0 && p != words) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", n, p);
        col += n;
        p += n + (p[n] == ' ');
    }
    fputc('\n', f);
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
            if (s->notes)
                wf_notes_free(&s->notes[i]);
        }
    }
    free(s->readers);
    free(s->data);
    free(s->frames);
    free(s->paths);
    free(s->notes);
    free(s->voices);
    if (s->params_ready)
        wf_params_free(&s->params);
    wf_patch_free(s->patch);
    memset(s, 0, sizeof *s);
}

/* A Standard MIDI File, by its name. */
static int is_midi(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0 ||
                   strcasecmp(dot, ".smf") == 0);
}

/* Where each used input comes from: --input, the patch's own file name (or
 * notes), or the fit's targets (fed by the caller). */
static int resolve_inputs(wf_setup *s, const wf_setup_opts *o, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    int n = g->ninputs;
    s->paths = wf_xcalloc((size_t)(n + 1), sizeof(char *));
    for (int i = 0; i < o->inputs.n; i++) {
        char *name;
        const char *file;
        if (wf_pair_split(o->inputs.v[i], &name, &file)) {
            wf_report_bad_input_option(d, WF_NOWHERE, NULL, o->inputs.v[i]);
            return -1;
        }
        int found = -1;
        for (int j = 0; j < n; j++)
            if (strcmp(g->inputs[j].name, name) == 0)
                found = j;
        if (found < 0) {
            wf_report_unknown_input(d, WF_NOWHERE, NULL, o->inputs.v[i], name);
            free(name);
            return -1;
        }
        free(name);
        const wf_input_decl *in = &g->inputs[found];
        if (in->space && !is_midi(file)) {
            wf_report_input_takes_notes(d, in->loc, "a notes input reads a MIDI file (.mid)",
                                        o->inputs.v[i], in->name);
            return -1;
        }
        if (!in->space && is_midi(file)) {
            wf_report_input_takes_audio(
                d, in->loc, "notes come from an input declared with a .mid file or notes",
                o->inputs.v[i], in->name);
            return -1;
        }
        free(s->paths[found]);
        s->paths[found] = wf_xstrdup(file);
    }
    for (int j = 0; j < n; j++) {
        const wf_input_decl *in = &g->inputs[j];
        if (s->paths[j] || in->node < 0 || (in->from_target && o->fed_target))
            continue;
        if (in->file) {
            s->paths[j] = wf_path_in(s->patch->dir, in->file);
        } else if (!in->space) {
            char hint[200];
            snprintf(hint, sizeof hint, "pass --input %s=FILE%s", in->name,
                     in->from_target ? ", or fit it with --target FILE" : "");
            wf_report_input_without_source(d, in->loc, hint, in->name);
            return -1;
        }
    }
    return 0;
}

int wf_setup_compile(wf_setup *s, const wf_setup_opts *o, wf_diags *d)
{
    wf_compile_opts co = {0};
    s->patch = o->text ? wf_compile_text(o->patch, o->text, &co, d)
                       : wf_compile_file(o->patch, &co, d);
    if (!s->patch)
        return -1;
    return resolve_inputs(s, o, d);
}

double wf_setup_rate(const wf_setup *s, const wf_setup_opts *o)
{
    return wf_patch_rate(s->patch->g, o->rate, o->fallback_rate > 0 ? o->fallback_rate : 48000);
}

/* Opens the audio inputs and reads the notes; the longest of them, in
 * samples at sr, for a patch without a length. */
static int open_inputs(wf_setup *s, double sr, int64_t *longest, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    int n = g->ninputs;
    s->readers = wf_xcalloc((size_t)(n + 1), sizeof *s->readers);
    s->data = wf_xcalloc((size_t)(n + 1), sizeof *s->data);
    s->frames = wf_xcalloc((size_t)(n + 1), sizeof *s->frames);
    s->notes = wf_xcalloc((size_t)(n + 1), sizeof *s->notes);
    s->voices = wf_xcalloc((size_t)g->nspaces + 1, sizeof(int));
    *longest = 0;
    for (int j = 0; j < n; j++) {
        const wf_input_decl *in = &g->inputs[j];
        if (in->node < 0)
            continue;
        if (in->space) {
            if (wf_notes_load(&s->notes[j], g, j, s->paths[j], d)) {
                wf_report_reads_file(d, in->loc, NULL, "input", in->name, s->paths[j]);
                return -1;
            }
            s->voices[in->space - 1] = s->notes[j].nvoices;
            s->frames[j] = llround(wf_notes_end(&s->notes[j]) * sr);
        } else if (s->paths[j]) {
            s->readers[j] = wf_audio_open(s->paths[j], sr, in->chans == 1, d);
            if (!s->readers[j]) {
                wf_report_reads_file(d, in->loc, NULL, "input", in->name, s->paths[j]);
                return -1;
            }
            if (wf_audio_chans(s->readers[j]) != in->chans) {
                wf_report_input_channels(d, in->loc, "declare `input NAME[C]` with the file's channels",
                                         in->name, in->chans, s->paths[j],
                                         wf_audio_chans(s->readers[j]));
                return -1;
            }
            s->frames[j] = wf_audio_frames(s->readers[j]);
        }
        if (s->frames[j] > *longest)
            *longest = s->frames[j];
    }
    return 0;
}

static int apply_sets(wf_setup *s, const wf_setup_opts *o, wf_diags *d)
{
    for (int i = 0; i < o->sets.n; i++) {
        char *name;
        const char *text;
        if (wf_pair_split(o->sets.v[i], &name, &text)) {
            wf_report_bad_set_option(d, WF_NOWHERE, NULL, o->sets.v[i]);
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

int wf_setup_ready(wf_setup *s, const wf_setup_opts *o, wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    double sr = wf_setup_rate(s, o);
    int64_t longest;
    if (open_inputs(s, sr, &longest, d))
        return -1;
    /* in double until checked: llround of a huge --seconds is undefined */
    double want;
    s->own_length = o->seconds > 0 || g->length > 0;
    if (o->seconds > 0)
        want = o->seconds * sr;
    else if (g->length > 0)
        want = g->length * sr;
    else if (o->length_frames > 0)
        want = (double)o->length_frames;
    else if (longest > 0)
        want = (double)longest;
    else {
        wf_report_no_length(d, WF_NOWHERE, NULL, o->patch);
        return -1;
    }
    if (!(want >= 0.5 && want <= (double)((int64_t)1 << 31))) {
        wf_report_bad_length(d, WF_NOWHERE, NULL, want);
        return -1;
    }
    s->env = wf_patch_env(g, o->rate, o->fallback_rate > 0 ? o->fallback_rate : 48000, llround(want));
    s->env.seed = o->seed;
    if (wf_params_init(&s->params, g, &s->env, s->patch->dir, d))
        return -1;
    s->params_ready = 1;
    for (int j = 0; j < g->ninputs; j++)
        if (g->inputs[j].space && g->inputs[j].node >= 0)
            s->data[j] = wf_notes_render(&s->notes[j], &s->env);
    return apply_sets(s, o, d);
}

int wf_setup_prepare(wf_setup *s, const wf_setup_opts *o, wf_diags *d)
{
    if (wf_setup_compile(s, o, d))
        return -1;
    return wf_setup_ready(s, o, d);
}

void wf_setup_load_inputs(wf_setup *s, int64_t frames)
{
    const wf_graph *g = s->patch->g;
    for (int j = 0; j < g->ninputs; j++) {
        if (!s->readers[j] || s->data[j])
            continue;
        int C = g->inputs[j].chans;
        size_t len = (size_t)frames * (size_t)C;
        s->data[j] = wf_aalloc(len * sizeof(wf_real));
        int64_t got = 0;
        while (got < frames) {
            int want = frames - got > (1 << 20) ? (1 << 20) : (int)(frames - got);
            int r = wf_audio_read(s->readers[j], s->data[j] + (size_t)got * C, want);
            if (r <= 0)
                break;
            got += r;
        }
    }
}

void wf_setup_relength(wf_setup *s, int64_t nsamples)
{
    s->env.nsamples = nsamples;
    s->env.nframes = (nsamples + s->env.hop - 1) / s->env.hop;
}

wf_prog *wf_setup_plan(wf_setup *s, wf_run_mode mode, int block, int items, const char *per_item,
                       wf_diags *d)
{
    const wf_graph *g = s->patch->g;
    wf_plan po = {mode, block, items, per_item, s->voices};
    wf_prog *p = wf_prog_plan(g, &s->env, &s->params, &po, d);
    if (!p)
        return NULL;
    for (int j = 0; j < g->ninputs; j++) {
        const wf_input_decl *in = &g->inputs[j];
        if (in->node < 0 || (per_item && per_item[j]))
            continue;
        if (in->space) {
            size_t per = (size_t)s->env.nframes * WF_MIDI_FIELDS;
            for (int l = 0; l < s->notes[j].nvoices; l++)
                wf_prog_set_input(p, j, l, s->data[j] + (size_t)l * per);
        } else if (s->data[j]) {
            wf_prog_set_input(p, j, 0, s->data[j]);
        } else if (s->readers[j]) {
            wf_prog_set_reader(p, j, 0, wf_audio_read, s->readers[j]);
        }
    }
    return p;
}

int64_t wf_first_nonfinite(const wf_real *y, int n, int chans)
{
    for (size_t i = 0; i < (size_t)n * (size_t)chans; i++)
        if (!isfinite((double)y[i]))
            return (int64_t)(i / (size_t)chans);
    return -1;
}

void wf_report_prog_fault(wf_prog *p, wf_diags *d)
{
    double when;
    const char *what;
    int unstable = wf_prog_fault(p, &when, &what);
    if (unstable >= 0) {
        const wf_gnode *un = &wf_prog_graph(p)->nodes[unstable];
        wf_report_unstable_run(d, un->loc, NULL, un->kind->name, when, what);
    }
}

/* The loop both renders share: p's output block by block to sink (whose
 * non-zero return stops it), until the end, a non-finite sample (*bad: its
 * frame, else -1) or *stop. Returns the sink's last return. */
static int render_loop(wf_prog *p, volatile sig_atomic_t *stop,
                       int (*sink)(void *ctx, const wf_real *y, int n), void *ctx, int64_t *bad,
                       wf_diags *d)
{
    int C = wf_prog_out_chans(p), rc = 0, n;
    int64_t at = 0;
    const wf_real *y;
    *bad = -1;
    while (rc == 0 && *bad < 0 && !(stop && *stop) && (y = wf_prog_next_block(p, &n))) {
        int64_t b = wf_first_nonfinite(y, n, C);
        if (b >= 0)
            *bad = at + b;
        else
            rc = sink(ctx, y, n);
        at += n;
    }
    wf_report_prog_fault(p, d);
    return rc;
}

static int to_writer(void *ctx, const wf_real *y, int n)
{
    return wf_audio_write(ctx, y, n);
}

int wf_render(wf_setup *s, const char *out, wf_sample_format fmt, int block, int quiet, wf_diags *d)
{
    return wf_render_as(s, out, NULL, fmt, block, quiet, d);
}

int wf_render_as(wf_setup *s, const char *out, const char *type, wf_sample_format fmt, int block,
                 int quiet, wf_diags *d)
{
    wf_prog *p = wf_setup_plan(s, WF_RUN_STREAM, block, 1, NULL, d);
    if (!p)
        return -1;
    int C = wf_prog_out_chans(p);
    int to_stdout = strcmp(out, "-") == 0;
    if (to_stdout)
        out = WF_STDOUT_NAME;
    wf_audio_writer *w =
        to_stdout ? wf_audio_create_fd(STDOUT_FILENO, out, type ? type : "wav", s->env.sr, C, fmt,
                                       s->env.nsamples, d)
                  : wf_audio_create(out, s->env.sr, C, fmt, d);
    if (!w) {
        wf_prog_free(p);
        return -1;
    }
    int64_t bad;
    volatile sig_atomic_t *stop = wf_cli_catch_sigint();
    int rc = render_loop(p, stop, to_writer, w, &bad, d);
    wf_prog_free(p);
    wf_cli_release_sigint();
    if (*stop) {
        wf_report_interrupted(d, WF_NOWHERE, NULL, out);
        wf_audio_abort(w);
        return 130;
    }
    if (bad >= 0) {
        wf_report_out_not_finite(d, WF_NOWHERE, NULL, bad, (double)bad / s->env.sr);
        wf_audio_abort(w);
        return -1;
    }
    if (rc) {
        wf_report_write_failed(d, WF_NOWHERE, NULL, out);
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

typedef struct mem_sink {
    wf_real *y;
    size_t len, cap; /* values */
    int chans;
} mem_sink;

static int to_memory(void *ctx, const wf_real *y, int n)
{
    mem_sink *m = ctx;
    size_t add = (size_t)n * (size_t)m->chans;
    if (m->len + add > m->cap) {
        m->cap = 2 * (m->len + add);
        m->y = wf_xrealloc(m->y, m->cap * sizeof *m->y);
    }
    memcpy(m->y + m->len, y, add * sizeof *y);
    m->len += add;
    return 0;
}

int wf_render_memory(wf_setup *s, int block, wf_real **y, int64_t *frames, int *chans, wf_diags *d)
{
    *y = NULL;
    wf_prog *p = wf_setup_plan(s, WF_RUN_STREAM, block, 1, NULL, d);
    if (!p)
        return -1;
    mem_sink m = {NULL, 0, 0, wf_prog_out_chans(p)};
    int64_t bad;
    render_loop(p, NULL, to_memory, &m, &bad, d);
    wf_prog_free(p);
    if (bad >= 0) {
        wf_report_out_not_finite(d, WF_NOWHERE, NULL, bad, (double)bad / s->env.sr);
        free(m.y);
        return -1;
    }
    *y = m.y;
    *chans = m.chans;
    *frames = (int64_t)(m.len / (size_t)m.chans);
    return 0;
}
