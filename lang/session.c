/* The live session (session.h): statements kept by what they define, the
 * whole patch recompiled from them on every edit, and the playing program
 * handed over to the new one at a block boundary with a crossfade. */
#include "lang/session.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/audio.h"
#include "runtime/exec.h"
#include "runtime/notes.h"
#include "runtime/util.h"

/* One text handed to the session, parsed. */
typedef struct chunk {
    wf_source *src;
    wf_file_ast *ast;
} chunk;

/* A statement of the patch and what it defines. */
typedef struct entry {
    char *key;
    const wf_stmt *st;
    int chunk;
} entry;

/* An audio input played from memory, from the position the stream is at. */
typedef struct memreader {
    wf_real *data;
    int64_t frames, pos;
    int chans;
} memreader;

/* A compiled patch, planned and ready to play. */
typedef struct playing {
    wf_patch *patch;
    entry *entries; /* the statements it was compiled from (borrowed from the session) */
    int nentries;
    wf_env env;
    wf_params ps;
    int ps_ready;
    wf_prog *prog;
    wf_notes *notes;     /* per input */
    wf_real **data;      /* per input: notes frames */
    memreader *readers;  /* per input: audio */
    int chans;
} playing;

struct wf_session {
    wf_session_opts o;
    chunk *chunks;
    int nchunks;
    chunk silent; /* `out 0`, the out of a session that has none yet */
    entry *entries;
    int n;
    playing *cur, *old; /* old fades out while cur fades in */
    int fade_len, fade_pos;
    wf_real *mix;
    size_t mix_cap;
    int kept;
    int texts; /* texts handed to the session, for their names */
    /* held by next_block and by the swap (session.h: threads) */
    pthread_mutex_t lock;
};

/* --------------------------------------------------------- statements */

/* What a statement defines, as a key: statements with the same key replace
 * each other. */
static char *stmt_key(const wf_stmt *st)
{
    wf_str k = {0};
    switch (st->kind) {
    case WF_ST_RATE: wf_str_puts(&k, "rate"); break;
    case WF_ST_FRAMES: wf_str_puts(&k, "frames"); break;
    case WF_ST_LENGTH: wf_str_puts(&k, "length"); break;
    case WF_ST_OUT: wf_str_puts(&k, "out"); break;
    case WF_ST_RETURN: wf_str_puts(&k, "return"); break;
    case WF_ST_USE: wf_str_printf(&k, "use %s", st->name); break;
    default: wf_str_puts(&k, st->name); break; /* one namespace for bindings, params, inputs, defs */
    }
    return k.s;
}

static void free_entries(entry *v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i].key);
    free(v);
}

static entry *copy_entries(const entry *v, int n)
{
    entry *c = wf_xmalloc(sizeof *c * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        c[i] = v[i];
        c[i].key = wf_xstrdup(v[i].key);
    }
    return c;
}

/* ------------------------------------------------------------- inputs */

static int read_memory(void *ctx, wf_real *dst, int n)
{
    memreader *r = ctx;
    int64_t left = r->frames - r->pos;
    int k = left <= 0 ? 0 : left < n ? (int)left : n;
    if (k > 0)
        memcpy(dst, r->data + (size_t)r->pos * (size_t)r->chans, sizeof(wf_real) * (size_t)k * (size_t)r->chans);
    r->pos += n;
    return k;
}

/* Notes read and voices assigned, and audio files loaded, before planning
 * (the voices are lanes). */
static int load_inputs(wf_session *s, playing *pl, int *voices, wf_diags *d)
{
    const wf_graph *g = pl->patch->g;
    int n = g->ninputs;
    pl->notes = wf_xcalloc((size_t)n + 1, sizeof *pl->notes);
    pl->data = wf_xcalloc((size_t)n + 1, sizeof *pl->data);
    pl->readers = wf_xcalloc((size_t)n + 1, sizeof *pl->readers);
    for (int j = 0; j < n; j++) {
        const wf_input_decl *in = &g->inputs[j];
        if (in->node < 0)
            continue;
        if (!in->file && !in->space) {
            wf_report_session_input_no_file(d, in->loc,
                                            "give it a file: input NAME = \"file.wav\"", in->name);
            return -1;
        }
        char *path = in->file ? wf_path_in(s->o.dir, in->file) : NULL;
        int rc;
        if (in->space) {
            rc = wf_notes_load(&pl->notes[j], g, j, path, d);
            if (rc == 0)
                voices[in->space - 1] = pl->notes[j].nvoices;
        } else {
            memreader *r = &pl->readers[j];
            rc = wf_audio_load(path, pl->env.sr, in->chans == 1, &r->data, &r->frames, &r->chans, d);
            if (rc == 0 && r->chans != in->chans) {
                wf_report_input_channels(d, in->loc,
                                         "declare `input NAME[C]` with the file's channels",
                                         in->name, in->chans, path, r->chans);
                rc = -1;
            }
        }
        free(path);
        if (rc)
            return -1;
    }
    return 0;
}

static void free_playing(playing *pl)
{
    if (!pl)
        return;
    wf_prog_free(pl->prog);
    if (pl->patch) {
        for (int j = 0; j < pl->patch->g->ninputs; j++) {
            if (pl->notes)
                wf_notes_free(&pl->notes[j]);
            if (pl->data)
                wf_afree(pl->data[j]);
            if (pl->readers)
                free(pl->readers[j].data);
        }
    }
    free(pl->notes);
    free(pl->data);
    free(pl->readers);
    if (pl->ps_ready)
        wf_params_free(&pl->ps);
    wf_patch_free(pl->patch);
    free_entries(pl->entries, pl->nentries);
    free(pl);
}

/* ---------------------------------------------------------- programs */

/* Whether the statement that declared param `name` is the same in both. */
static int same_param_stmt(const playing *a, const playing *b, const wf_param_decl *pd)
{
    const wf_stmt *sa = NULL, *sb = NULL;
    for (int i = 0; i < a->nentries; i++)
        if (strcmp(a->entries[i].key, pd->name) == 0)
            sa = a->entries[i].st;
    for (int i = 0; i < b->nentries; i++)
        if (strcmp(b->entries[i].key, pd->name) == 0)
            sb = b->entries[i].st;
    return sa && sa == sb;
}

/* Plans the compiled patch of pl as a stream, keeping the values of the
 * params whose statements did not change since `prev`. */
static int plan(wf_session *s, playing *pl, const playing *prev, wf_diags *d)
{
    const wf_graph *g = pl->patch->g;
    double length = g->length > 0 ? g->length : s->o.max_seconds;
    double sr = wf_patch_rate(g, 0, s->o.rate);
    int64_t nsamples = llround(length * sr);
    if (nsamples < 1 || nsamples > ((int64_t)1 << 31) - 1) {
        wf_report_session_length(d, g->length > 0 ? g->length_loc : WF_NOWHERE, NULL, length);
        return -1;
    }
    pl->env = wf_patch_env(g, 0, s->o.rate, nsamples);
    int *voices = wf_xcalloc((size_t)g->nspaces + 1, sizeof(int));
    if (load_inputs(s, pl, voices, d) || wf_params_init(&pl->ps, g, &pl->env, s->o.dir, d)) {
        free(voices);
        return -1;
    }
    pl->ps_ready = 1;
    if (prev) {
        for (int i = 0; i < pl->ps.n; i++) {
            wf_param *p = &pl->ps.v[i];
            int q = wf_params_find(&prev->ps, p->decl->name);
            if (q < 0 || !same_param_stmt(pl, prev, p->decl))
                continue;
            const wf_param *o = &prev->ps.v[q];
            if (o->rows == p->rows && o->cols == p->cols)
                memcpy(p->value, o->value, wf_param_len(p) * sizeof(wf_real));
        }
    }
    wf_plan po = {WF_RUN_STREAM, s->o.block, 1, NULL, voices};
    pl->prog = wf_prog_plan(g, &pl->env, &pl->ps, &po, d);
    free(voices);
    if (!pl->prog)
        return -1;
    for (int j = 0; j < g->ninputs; j++) {
        const wf_input_decl *in = &g->inputs[j];
        if (in->node < 0)
            continue;
        if (in->space) {
            pl->data[j] = wf_notes_render(&pl->notes[j], &pl->env);
            size_t per = (size_t)pl->env.nframes * WF_MIDI_FIELDS;
            for (int l = 0; l < pl->notes[j].nvoices; l++)
                wf_prog_set_input(pl->prog, j, l, pl->data[j] + (size_t)l * per);
        } else {
            wf_prog_set_reader(pl->prog, j, 0, read_memory, &pl->readers[j]);
        }
    }
    pl->chans = wf_prog_out_chans(pl->prog);
    return 0;
}

/* Compiles the statements `v` into a playing program; NULL with
 * diagnostics. */
static playing *build(wf_session *s, entry *v, int n, wf_diags *d)
{
    wf_source **srcs = wf_xmalloc(sizeof *srcs * (size_t)(s->nchunks + 1));
    for (int i = 0; i < s->nchunks; i++)
        srcs[i] = s->chunks[i].src;
    srcs[s->nchunks] = s->silent.src;
    const wf_stmt **stmts = wf_xmalloc(sizeof *stmts * (size_t)(n + 1));
    int has_out = 0;
    for (int i = 0; i < n; i++) {
        stmts[i] = v[i].st;
        has_out |= v[i].st->kind == WF_ST_OUT;
    }
    if (!has_out) /* silence until there is an out; the rest is checked already */
        stmts[n] = s->silent.ast->stmts;
    wf_compile_opts co = {0};
    wf_patch *patch = wf_compile_stmts(srcs, s->nchunks + 1, stmts, n + !has_out, s->o.dir, &co, d);
    free(srcs);
    free(stmts);
    if (!patch)
        return NULL;
    playing *pl = wf_xcalloc(1, sizeof *pl);
    pl->patch = patch;
    pl->entries = copy_entries(v, n);
    pl->nentries = n;
    if (plan(s, pl, s->cur, d)) {
        free_playing(pl);
        return NULL;
    }
    return pl;
}

/* The new program plays from the next block: it takes over the state of
 * the nodes it shares with the playing one, which fades out. Called under
 * the lock; the programs that no longer play go to gone[0..1], for the
 * caller to free once it has let the lock go. */
static void swap_in(wf_session *s, playing *pl, playing **gone)
{
    int fade = (int)llround(s->o.crossfade * pl->env.sr);
    gone[0] = gone[1] = NULL;
    if (s->cur && s->cur->env.sr == pl->env.sr) {
        s->kept = wf_prog_adopt(pl->prog, s->cur->prog);
        for (int j = 0; j < pl->patch->g->ninputs; j++)
            pl->readers[j].pos = wf_prog_input_position(pl->prog);
        gone[0] = s->old; /* a fade still running ends here */
        s->old = fade > 0 ? s->cur : NULL;
        if (!s->old)
            gone[1] = s->cur;
        s->fade_len = fade;
        s->fade_pos = 0;
    } else { /* the first program, or another rate: from the start */
        gone[0] = s->old;
        gone[1] = s->cur;
        s->old = NULL;
        s->kept = 0;
    }
    s->cur = pl;
}

static int recompile(wf_session *s, entry *v, int n, wf_diags *d)
{
    playing *pl = build(s, v, n, d); /* outside the lock: the player goes on meanwhile */
    if (!pl)
        return -1;
    playing *gone[2];
    pthread_mutex_lock(&s->lock);
    swap_in(s, pl, gone);
    pthread_mutex_unlock(&s->lock);
    free_playing(gone[0]);
    free_playing(gone[1]);
    free_entries(s->entries, s->n);
    s->entries = v;
    s->n = n;
    return 0;
}

/* ------------------------------------------------------------- the API */

wf_session *wf_session_new(const wf_session_opts *o)
{
    wf_session *s = wf_xcalloc(1, sizeof *s);
    if (o)
        s->o = *o;
    if (!s->o.name)
        s->o.name = "session";
    if (!s->o.dir)
        s->o.dir = ".";
    if (s->o.rate <= 0)
        s->o.rate = 48000;
    if (s->o.block <= 0)
        s->o.block = 512;
    if (s->o.crossfade == 0)
        s->o.crossfade = 0.05;
    if (s->o.max_seconds <= 0)
        s->o.max_seconds = 600;
    pthread_mutex_init(&s->lock, NULL);
    s->silent.src = wf_source_from_string("<silence>", "out 0\n");
    wf_diags d = {0};
    s->silent.ast = wf_parse(s->silent.src, &d);
    wf_diags_free(&d);
    /* playing silence from the start, so that the first out fades in */
    wf_diags ignored = {0};
    recompile(s, NULL, 0, &ignored);
    wf_diags_free(&ignored);
    return s;
}

void wf_session_free(wf_session *s)
{
    if (!s)
        return;
    free_playing(s->old);
    free_playing(s->cur);
    free_entries(s->entries, s->n);
    for (int i = 0; i < s->nchunks; i++) {
        wf_file_ast_free(s->chunks[i].ast);
        wf_source_free(s->chunks[i].src);
    }
    free(s->chunks);
    wf_file_ast_free(s->silent.ast);
    wf_source_free(s->silent.src);
    wf_afree(s->mix);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

typedef enum { EVAL_ADD, EVAL_REPLACE, EVAL_TRY } eval_mode;

static int eval_text(wf_session *s, const char *as, const char *text, eval_mode mode, wf_diags *d)
{
    char name[160];
    snprintf(name, sizeof name, "%s[%d]", s->o.name, ++s->texts);
    wf_source *src = wf_source_from_string(as ? as : name, text);
    wf_file_ast *ast = wf_parse(src, d);
    if (!ast) {
        wf_source_free(src);
        return -1;
    }
    s->chunks = wf_xrealloc(s->chunks, sizeof *s->chunks * (size_t)(s->nchunks + 1));
    s->chunks[s->nchunks++] = (chunk){src, ast};
    int n = mode == EVAL_REPLACE ? 0 : s->n;
    entry *v = copy_entries(s->entries, n);
    for (const wf_stmt *st = ast->stmts; st; st = st->next) {
        char *key = stmt_key(st);
        int at = -1;
        for (int i = 0; i < n && at < 0; i++)
            if (strcmp(v[i].key, key) == 0 && v[i].st->kind != WF_ST_RETURN)
                at = i;
        if (at >= 0) {
            free(v[at].key);
            v[at] = (entry){key, st, s->nchunks - 1};
        } else {
            v = wf_xrealloc(v, sizeof *v * (size_t)(n + 1));
            v[n++] = (entry){key, st, s->nchunks - 1};
        }
    }
    if (mode == EVAL_TRY) {
        playing *pl = build(s, v, n, d);
        free_playing(pl);
        free_entries(v, n);
        return pl ? 0 : -1;
    }
    if (recompile(s, v, n, d)) {
        free_entries(v, n);
        /* the text stays parsed, unused, so that its diagnostics can point into it */
        return -1;
    }
    return 0;
}

int wf_session_eval(wf_session *s, const char *text, wf_diags *d)
{
    return eval_text(s, NULL, text, EVAL_ADD, d);
}

int wf_session_eval_as(wf_session *s, const char *name, const char *text, int replace,
                       wf_diags *d)
{
    return eval_text(s, name, text, replace ? EVAL_REPLACE : EVAL_ADD, d);
}

int wf_session_try(wf_session *s, const char *text, wf_diags *d)
{
    return eval_text(s, NULL, text, EVAL_TRY, d);
}

int wf_session_forget(wf_session *s, const char *name, wf_diags *d)
{
    int at = -1;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, name) == 0)
            at = i;
    if (at < 0) {
        wf_report_nothing_to_forget(d, WF_NOWHERE, NULL, name);
        return -1;
    }
    entry *v = wf_xmalloc(sizeof *v * (size_t)(s->n ? s->n : 1));
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (i != at) {
            v[n] = s->entries[i];
            v[n++].key = wf_xstrdup(s->entries[i].key);
        }
    if (recompile(s, v, n, d)) {
        free_entries(v, n);
        return -1;
    }
    return 0;
}

/* y += w * x over n frames; x has xc channels, y c (a mono x is spread). */
static void mix_into(wf_real *y, int c, const wf_real *x, int xc, int n, double w0, double dw)
{
    for (int t = 0; t < n; t++) {
        wf_real w = (wf_real)(w0 + dw * t);
        for (int k = 0; k < c; k++)
            y[(size_t)t * c + k] += w * x[(size_t)t * xc + (k < xc ? k : xc - 1)];
    }
}

/* The block goes out in s->mix, which only next_block touches: a program
 * that an edit swaps out may be freed as soon as the lock is let go. */
static const wf_real *next_block(wf_session *s, int *n, int *chans)
{
    int m;
    const wf_real *y = wf_prog_next_block(s->cur->prog, &m);
    if (!y)
        return NULL;
    int C = s->cur->chans;
    *chans = C;
    *n = m;
    size_t need = (size_t)m * (size_t)C;
    if (s->mix_cap < need) {
        wf_afree(s->mix);
        s->mix = wf_aalloc(sizeof(wf_real) * need);
        s->mix_cap = need;
    }
    if (!s->old) {
        memcpy(s->mix, y, sizeof(wf_real) * need);
        return s->mix;
    }
    /* linear crossfade: the old program's weight falls from 1 to 0 */
    double w0 = (double)s->fade_pos / s->fade_len, dw = 1.0 / s->fade_len;
    memset(s->mix, 0, sizeof(wf_real) * need);
    int mo;
    const wf_real *yo = wf_prog_next_block(s->old->prog, &mo);
    int fade_n = m < s->fade_len - s->fade_pos ? m : s->fade_len - s->fade_pos;
    if (yo)
        mix_into(s->mix, C, yo, s->old->chans, fade_n < mo ? fade_n : mo, 1 - w0, -dw);
    mix_into(s->mix, C, y, C, fade_n, w0, dw);
    if (m > fade_n)
        memcpy(s->mix + (size_t)fade_n * C, y + (size_t)fade_n * C, sizeof(wf_real) * (size_t)(m - fade_n) * C);
    s->fade_pos += fade_n;
    if (s->fade_pos >= s->fade_len) {
        free_playing(s->old);
        s->old = NULL;
    }
    return s->mix;
}

const wf_real *wf_session_next_block(wf_session *s, int *n, int *chans)
{
    pthread_mutex_lock(&s->lock);
    const wf_real *y = next_block(s, n, chans);
    pthread_mutex_unlock(&s->lock);
    return y;
}

int64_t wf_session_position(const wf_session *s)
{
    wf_session *w = (wf_session *)s; /* the lock is not part of the session's value */
    pthread_mutex_lock(&w->lock);
    int64_t at = wf_prog_position(s->cur->prog);
    pthread_mutex_unlock(&w->lock);
    return at;
}

void wf_session_lock(wf_session *s)
{
    pthread_mutex_lock(&s->lock);
}

void wf_session_unlock(wf_session *s)
{
    pthread_mutex_unlock(&s->lock);
}

const wf_patch *wf_session_patch(const wf_session *s)
{
    return s->cur->patch;
}

wf_params *wf_session_params(wf_session *s)
{
    return &s->cur->ps;
}

int wf_session_kept(const wf_session *s)
{
    return s->kept;
}

char *wf_session_text_without(const wf_session *s, const char *key)
{
    wf_str out = {0};
    for (int i = 0; i < s->n; i++) {
        if (key && strcmp(s->entries[i].key, key) == 0)
            continue;
        const chunk *ch = &s->chunks[s->entries[i].chunk];
        const wf_stmt *st = s->entries[i].st;
        /* from the statement to the next one of its text (or the text's end) */
        size_t a = (size_t)st->loc.off, b = ch->src->len;
        if (st->kind == WF_ST_BIND || st->kind == WF_ST_PARAM || st->kind == WF_ST_INPUT ||
            st->kind == WF_ST_DEF || st->kind == WF_ST_USE) {
            /* the keyword (param, input, def, use) comes before the name */
            while (a > 0 && ch->src->text[a - 1] != '\n')
                a--;
        }
        if (st->next && st->next->loc.line == st->loc.line) /* a; b on one line */
            b = (size_t)st->next->loc.off;
        else if (st->next)
            for (b = (size_t)st->next->loc.off; b > a && ch->src->text[b - 1] != '\n'; b--)
                ;
        while (b > a && strchr("\n ;\t", ch->src->text[b - 1]))
            b--;
        wf_str_putn(&out, ch->src->text + a, b - a);
        wf_str_putc(&out, '\n');
    }
    return out.s ? out.s : wf_xstrdup("");
}

char *wf_session_text(const wf_session *s)
{
    return wf_session_text_without(s, NULL);
}

int wf_session_count(const wf_session *s)
{
    return s->n;
}

const wf_stmt *wf_session_stmt(const wf_session *s, int i)
{
    return s->entries[i].st;
}
