/* Writing fitted values back into a patch's source text, with large values
 * in .npy files beside it, all or nothing. */
#include "lang/rewrite.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/npy.h"
#include "runtime/util.h"

void wf_format_real(char *buf, size_t size, double v)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if ((float)strtod(buf, NULL) == (float)v)
            break;
    }
}

/* The value in the unit the literal was written in. */
static double to_unit(int unit, double v, int *keep)
{
    *keep = 1;
    switch (unit) {
    case WF_UNIT_KHZ: return v / 1000;
    case WF_UNIT_MS: return v * 1000;
    case WF_UNIT_HZ:
    case WF_UNIT_S: return v;
    case WF_UNIT_DB:
        if (v > 0)
            return 20 * log10(v);
        *keep = 0;
        return v;
    default:
        *keep = 0;
        return v;
    }
}

static const char *unit_text(int unit)
{
    switch (unit) {
    case WF_UNIT_HZ: return "hz";
    case WF_UNIT_KHZ: return "khz";
    case WF_UNIT_MS: return "ms";
    case WF_UNIT_S: return "s";
    case WF_UNIT_DB: return "db";
    default: return "";
    }
}

static void put_value(wf_str *b, double v, int unit)
{
    int keep;
    double u = to_unit(unit, v, &keep);
    char num[40];
    wf_format_real(num, sizeof num, keep ? u : v);
    wf_str_puts(b, num);
    if (keep)
        wf_str_printf(b, " %s", unit_text(unit));
}

/* Folder and file stem of out_path: "dir/name.weft" -> "dir", "name". */
static void split_path(const char *path, char **dir, char **stem)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    *dir = slash ? wf_xstrndup(path, (size_t)(slash - path)) : wf_xstrdup(".");
    const char *dot = strrchr(base, '.');
    *stem = dot && dot != base ? wf_xstrndup(base, (size_t)(dot - base)) : wf_xstrdup(base);
}

typedef struct edit {
    int start, end;
    char *text;
} edit;

static int cmp_edits(const void *a, const void *b)
{
    return ((const edit *)b)->start - ((const edit *)a)->start;
}

/* Large values (more than WF_INLINE_VALUES, or a frame-wise param) go to a
 * .npy file beside the fitted patch: patch text is no place for weights. */
#define WF_INLINE_VALUES 256

typedef struct edits {
    edit *v;
    int n, cap;
} edits;

static void add_edit(edits *e, int start, int end, char *text)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 16;
        e->v = wf_xrealloc(e->v, sizeof *e->v * (size_t)e->cap);
    }
    e->v[e->n++] = (edit){start, end, text};
}

static void put_string(wf_str *b, const char *s)
{
    wf_str_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            wf_str_putc(b, '\\');
        wf_str_putc(b, *s);
    }
    wf_str_putc(b, '"');
}

/* A param's values as text, or in a .npy file staged beside the fitted
 * patch and named in the text. */
static int param_text(const wf_param *pa, const char *dir, const char *stem, wf_stage *files,
                      wf_str *b, wf_diags *d)
{
    const wf_param_decl *pd = pa->decl;
    if (pd->rate == WF_RATE_CONTROL || wf_param_len(pa) > WF_INLINE_VALUES) {
        int64_t shape[3];
        int nd = 0;
        if (pd->rate == WF_RATE_CONTROL)
            shape[nd++] = pa->rows;
        if (pd->ndims == 2) {
            shape[nd++] = pd->dims[0];
            shape[nd++] = pd->dims[1];
        } else {
            shape[nd++] = pd->size;
        }
        wf_str name = {0}, path = {0};
        wf_str_printf(&name, "%s.%s.npy", stem, pd->name);
        wf_str_printf(&path, "%s/%s", dir, name.s);
        unsigned char *bytes;
        size_t len;
        wf_npy_encode(pa->value, nd, shape, &bytes, &len);
        int rc = wf_stage_add(files, path.s, bytes, len);
        if (rc)
            wf_report_cannot_write_npy(d, WF_NOWHERE, NULL, path.s, strerror(errno));
        put_string(b, name.s);
        free(bytes);
        wf_str_free(&name);
        wf_str_free(&path);
        return rc;
    }
    int same = 1;
    for (int j = 1; j < pa->cols; j++)
        same &= pa->value[j] == pa->value[0];
    if (same) {
        put_value(b, pa->value[0], pd->init_unit);
        return 0;
    }
    wf_str_putc(b, '[');
    for (int j = 0; j < pa->cols; j++) {
        if (j)
            wf_str_puts(b, ", ");
        put_value(b, pa->value[j], pd->init_unit);
    }
    wf_str_putc(b, ']');
    return 0;
}

/* A file the patch names, as the fitted patch in `dir` must name it. NULL
 * when the name stays as it is (an absolute path, or the same folder). */
static char *moved_file(const wf_patch *p, const char *file, const char *dir)
{
    if (file[0] == '/')
        return NULL;
    char *full = wf_path_in(p->dir, file);
    char *rel = wf_path_relative(dir, full);
    free(full);
    if (strcmp(rel, file) == 0) {
        free(rel);
        return NULL;
    }
    return rel;
}

/* Where a `length` line goes: before the patch's first statement. */
static int first_stmt_start(const wf_patch *p)
{
    const wf_stmt *st = p->asts[0] ? p->asts[0]->stmts : NULL;
    if (!st)
        return 0;
    int at = st->loc.off;
    while (at > 0 && p->sources[0]->text[at - 1] != '\n')
        at--;
    return at;
}

char *wf_rewrite_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                       const char *out_path, int carry_length, wf_stage *files, wf_diags *d)
{
    const wf_source *src = p->sources[0];
    edits ed = {0};
    int rc = 0;
    char *dir, *stem;
    split_path(out_path, &dir, &stem);
    for (int i = 0; i < ps->n && rc == 0; i++) {
        const wf_param *pa = &ps->v[i];
        const wf_param_decl *pd = pa->decl;
        if (pd->src != src)
            continue;
        wf_str b = {0};
        char *moved = pd->fixed && pd->init_file ? moved_file(p, pd->init_file, dir) : NULL;
        if (moved) {
            put_string(&b, moved);
            free(moved);
        } else if (!pd->fixed) {
            rc = param_text(pa, dir, stem, files, &b, d);
        }
        if (b.s)
            add_edit(&ed, pd->init_start, pd->init_end, b.s);
    }
    for (int i = 0; i < p->g->ninputs; i++) {
        const wf_input_decl *in = &p->g->inputs[i];
        char *moved = in->file && in->loc.src == src ? moved_file(p, in->file, dir) : NULL;
        if (!moved)
            continue;
        wf_str b = {0};
        put_string(&b, moved);
        add_edit(&ed, in->file_start, in->file_end, b.s);
        free(moved);
    }
    if (carry_length && p->g->length <= 0) {
        wf_str b = {0};
        char num[40];
        wf_format_real(num, sizeof num, (double)env->nsamples / env->sr);
        wf_str_printf(&b, "length %s s        # the length of the recording it was fitted to\n", num);
        int at = first_stmt_start(p);
        add_edit(&ed, at, at, b.s);
    }
    char *out = NULL;
    if (rc == 0) {
        qsort(ed.v, (size_t)ed.n, sizeof *ed.v, cmp_edits);
        wf_str t = {0};
        wf_str_putn(&t, src->text, src->len);
        /* apply from the end so earlier offsets stay valid */
        for (int i = 0; i < ed.n; i++) {
            wf_str u = {0};
            wf_str_putn(&u, t.s, (size_t)ed.v[i].start);
            wf_str_puts(&u, ed.v[i].text);
            wf_str_puts(&u, t.s + ed.v[i].end);
            wf_str_free(&t);
            t = u;
        }
        out = t.s ? t.s : wf_xstrdup("");
    }
    for (int i = 0; i < ed.n; i++)
        free(ed.v[i].text);
    free(ed.v);
    free(dir);
    free(stem);
    return out;
}

int wf_write_fitted_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                          const char *out_path, int carry_length, wf_diags *d)
{
    wf_stage files = {0};
    char *text = wf_rewrite_patch(p, ps, env, out_path, carry_length, &files, d);
    int rc = -1;
    if (!text) {
        wf_stage_abort(&files);
        return -1;
    }
    /* the patch last: it names the other files */
    char *failed = NULL;
    if (wf_stage_add(&files, out_path, text, strlen(text)) || wf_stage_commit(&files, &failed)) {
        if (failed && strcmp(failed, out_path) != 0)
            wf_report_cannot_write_npy(d, WF_NOWHERE, "the fitted patch was not written", failed,
                                       strerror(errno));
        else
            wf_report_cannot_write_patch(d, WF_NOWHERE, NULL, out_path, strerror(errno));
        wf_stage_abort(&files);
        free(failed);
    } else {
        rc = 0;
    }
    free(text);
    return rc;
}
