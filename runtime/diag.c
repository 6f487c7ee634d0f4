/* Diagnostics: the table of codes made from runtime/diag_codes.h, collection,
 * human-readable printing with source line and caret, JSON output for tools,
 * and the list of codes for `weft errors` and docs/language.md. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/diag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

wf_source *wf_source_load(const char *path)
{
    size_t len;
    char *text = wf_read_file(path, &len);
    if (!text)
        return NULL;
    wf_source *s = wf_xcalloc(1, sizeof *s);
    s->path = wf_xstrdup(path);
    s->text = text;
    s->len = len;
    s->refs = 1;
    return s;
}

wf_source *wf_source_from_string(const char *path, const char *text)
{
    return wf_source_from_bytes(path, text, strlen(text));
}

wf_source *wf_source_from_bytes(const char *path, const char *text, size_t len)
{
    wf_source *s = wf_xcalloc(1, sizeof *s);
    s->path = wf_xstrdup(path);
    s->text = wf_xmalloc(len + 1);
    memcpy(s->text, text, len);
    s->text[len] = 0;
    s->len = len;
    s->refs = 1;
    return s;
}

void wf_source_free(wf_source *s)
{
    if (!s || --s->refs > 0)
        return;
    free(s->path);
    free(s->text);
    free(s);
}

static char *vformat(const char *fmt, va_list ap)
{
    if (!fmt) /* never passed; says so to gcc's format checks under sanitizers */
        return wf_xstrdup("");
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = wf_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    return s;
}

/* a category's STAGE as its at_run flag */
#define AT_RUN_COMPILE 0
#define AT_RUN_RUN 1
const wf_diag_category_info wf_diag_categories[WF_DIAG_CAT_COUNT] = {
#define WF_X(id, stage, title) {#id, title, AT_RUN_##stage},
    WF_DIAG_CATEGORIES(WF_X)
#undef WF_X
};

const wf_diag_info wf_diag_codes[WF_DIAG_COUNT] = {
#define WF_X(id, name, sev, cat, params, templ, doc)                                           \
    {name, WF_SEV_##sev, WF_DIAG_CAT_##cat, templ, {WF_DIAG_NAMES_##params NULL}, doc},
    WF_DIAG_CODES(WF_X)
#undef WF_X
};

int wf_diag_code_find(const char *name)
{
    for (int i = 0; i < WF_DIAG_COUNT; i++)
        if (strcmp(wf_diag_codes[i].name, name) == 0)
            return i;
    return -1;
}

static void add(wf_diags *d, wf_diag_code code, wf_severity sev, wf_loc loc, const char *hint,
                const char *fmt, va_list ap)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->v = wf_xrealloc(d->v, (size_t)d->cap * sizeof *d->v);
    }
    wf_diagnostic *g = &d->v[d->n++];
    g->code = code;
    g->sev = sev;
    g->loc = loc;
    g->msg = vformat(fmt, ap);
    g->hint = hint ? wf_xstrdup(hint) : NULL;
    /* The source is allocated mutable; only its count changes here. */
    if (loc.src)
        ((wf_source *)loc.src)->refs++;
    if (sev == WF_SEV_ERROR)
        d->errors++;
}

void wf_diag_emit(wf_diags *d, wf_diag_code code, wf_loc loc, const char *hint, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, code, wf_diag_codes[code].sev, loc, hint, fmt, ap);
    va_end(ap);
}

static const char *sev_name(wf_severity s)
{
    return s == WF_SEV_ERROR ? "error" : s == WF_SEV_WARNING ? "warning" : "note";
}

/* The text of line `line` (1-based) of src, without its newline. */
static const char *line_text(const wf_source *src, int line, int *len)
{
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < line && p < end; p++)
        if (*p == '\n')
            l++;
    const char *e = p;
    while (e < end && *e != '\n')
        e++;
    *len = (int)(e - p);
    return p;
}

static void print_text(FILE *f, const wf_diagnostic *g)
{
    /* the code goes last, as gcc puts its [-Wflag], so that the line keeps
     * the shape editors parse */
    char code[64];
    snprintf(code, sizeof code, " [%s]", wf_diag_code_name(g->code));
    if (!g->loc.src) {
        fprintf(f, "weft: %s: %s%s\n", sev_name(g->sev), g->msg, code);
    } else {
        fprintf(f, "%s:%d:%d: %s: %s%s\n", g->loc.src->path, g->loc.line, g->loc.col,
                sev_name(g->sev), g->msg, code);
        int n;
        const char *t = line_text(g->loc.src, g->loc.line, &n);
        fprintf(f, "%5d | ", g->loc.line);
        for (int i = 0; i < n; i++)
            fputc(t[i] == '\t' ? ' ' : (t[i] == 0 ? ' ' : t[i]), f);
        fputs("\n      | ", f);
        for (int i = 1; i < g->loc.col && i <= n; i++)
            fputc(' ', f);
        int len = g->loc.len > 0 ? g->loc.len : 1;
        if (g->loc.col - 1 + len > n + 1)
            len = n + 1 - (g->loc.col - 1);
        if (len < 1)
            len = 1;
        fputc('^', f);
        for (int i = 1; i < len; i++)
            fputc('~', f);
        fputc('\n', f);
    }
    if (g->hint)
        fprintf(f, "      = hint: %s\n", g->hint);
}

static void print_json(wf_str *b, const wf_diagnostic *g)
{
    wf_str_puts(b, "{\"severity\":");
    wf_str_json(b, sev_name(g->sev));
    wf_str_puts(b, ",\"code\":");
    wf_str_json(b, wf_diag_code_name(g->code));
    if (g->loc.src) {
        wf_str_puts(b, ",\"file\":");
        wf_str_json(b, g->loc.src->path);
        wf_str_printf(b, ",\"line\":%d,\"column\":%d,\"offset\":%d,\"length\":%d", g->loc.line,
                      g->loc.col, g->loc.off, g->loc.len);
    }
    wf_str_puts(b, ",\"message\":");
    wf_str_json(b, g->msg);
    if (g->hint) {
        wf_str_puts(b, ",\"hint\":");
        wf_str_json(b, g->hint);
    }
    wf_str_putc(b, '}');
}

/* Printing order: the compiler reports errors as it evaluates (the out
 * first, then what it uses), so each run of located diagnostics is put in
 * source order; a diagnostic without a place keeps its position. */
static int before(const wf_diagnostic *a, int ia, const wf_diagnostic *b, int ib,
                  const wf_diags *d)
{
    if (a->loc.src != b->loc.src) {
        /* files in the order they first appear */
        for (int i = 0; i < d->n; i++) {
            if (d->v[i].loc.src == a->loc.src)
                return 1;
            if (d->v[i].loc.src == b->loc.src)
                return 0;
        }
    }
    if (a->loc.line != b->loc.line)
        return a->loc.line < b->loc.line;
    if (a->loc.col != b->loc.col)
        return a->loc.col < b->loc.col;
    return ia < ib;
}

static int *print_order(const wf_diags *d)
{
    int *ord = wf_xmalloc(sizeof(int) * (size_t)(d->n ? d->n : 1));
    for (int i = 0; i < d->n; i++)
        ord[i] = i;
    for (int start = 0; start < d->n;) {
        if (!d->v[start].loc.src) {
            start++;
            continue;
        }
        int end = start;
        while (end < d->n && d->v[end].loc.src)
            end++;
        /* insertion sort: stable, and diagnostics are few */
        for (int i = start + 1; i < end; i++) {
            int x = ord[i], j = i - 1;
            while (j >= start && before(&d->v[x], x, &d->v[ord[j]], ord[j], d)) {
                ord[j + 1] = ord[j];
                j--;
            }
            ord[j + 1] = x;
        }
        start = end;
    }
    return ord;
}

void wf_diags_print(FILE *f, const wf_diags *d, wf_diag_format fmt)
{
    int *ord = print_order(d);
    if (fmt == WF_DIAG_JSON) {
        wf_str b = {0};
        wf_str_putc(&b, '[');
        for (int i = 0; i < d->n; i++) {
            if (i)
                wf_str_putc(&b, ',');
            print_json(&b, &d->v[ord[i]]);
        }
        wf_str_puts(&b, "]\n");
        fputs(b.s, f);
        wf_str_free(&b);
    } else {
        for (int i = 0; i < d->n; i++)
            print_text(f, &d->v[ord[i]]);
    }
    free(ord);
}

void wf_diags_truncate(wf_diags *d, int n)
{
    for (int i = n; i < d->n; i++) {
        if (d->v[i].sev == WF_SEV_ERROR)
            d->errors--;
        free(d->v[i].msg);
        free(d->v[i].hint);
        wf_source_free((wf_source *)d->v[i].loc.src);
    }
    if (n < d->n)
        d->n = n;
}

void wf_diags_clear(wf_diags *d)
{
    wf_diags_truncate(d, 0);
    d->errors = 0;
}

void wf_diags_free(wf_diags *d)
{
    wf_diags_clear(d);
    free(d->v);
    d->v = NULL;
    d->cap = 0;
}

const char *wf_suggest(const char *name, const char *const *cands, int n)
{
    const char *best = NULL;
    int bestd = 1000;
    size_t len = strlen(name);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int dist = wf_edit_distance(name, cands[i]);
        if (dist < bestd) {
            bestd = dist;
            best = cands[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

/* A template with each conversion shown as {parameter}: "unknown node
 * '{name}'". gcc has checked that each conversion has its parameter (a '*'
 * width or precision one of its own). */
static void put_template(wf_str *b, const wf_diag_info *c)
{
    const char *const *param = c->params;
    for (const char *p = c->templ; *p; p++) {
        if (*p != '%' || p[1] == '%') {
            wf_str_putc(b, *p);
            p += *p == '%';
            continue;
        }
        while (*++p && !strchr("diouxXeEfFgGaAcsp", *p))
            param += *p == '*';
        wf_str_printf(b, "{%s}", *param++);
        if (!*p)
            break;
    }
}

/* "(warning) " or "(note) " before the meaning of a code that is no error */
static const char *sev_mark(const wf_diag_info *c)
{
    return c->sev == WF_SEV_WARNING ? "(warning) " : c->sev == WF_SEV_NOTE ? "(note) " : "";
}

static void put_entry(wf_str *b, const wf_diag_info *c)
{
    wf_str_printf(b, "  %-26s ", c->name);
    put_template(b, c);
    wf_str_printf(b, "\n  %-26s %s%s\n", "", sev_mark(c), c->doc);
}

char *wf_diag_codes_listing(int code)
{
    wf_str b = {0};
    if (code >= 0) {
        const wf_diag_info *c = &wf_diag_codes[code];
        wf_str_printf(&b, "%s\n", wf_diag_categories[c->cat].title);
        put_entry(&b, c);
        return b.s;
    }
    for (int k = 0; k < WF_DIAG_CAT_COUNT; k++) {
        wf_str_printf(&b, "%s%s\n", k ? "\n" : "", wf_diag_categories[k].title);
        for (int i = 0; i < WF_DIAG_COUNT; i++)
            if (wf_diag_codes[i].cat == (wf_diag_category)k)
                put_entry(&b, &wf_diag_codes[i]);
    }
    return b.s;
}

char *wf_diag_codes_markdown(void)
{
    wf_str b = {0};
    wf_str_puts(&b, WF_DIAG_MD_BEGIN "\n");
    for (int k = 0; k < WF_DIAG_CAT_COUNT; k++) {
        wf_str_printf(&b, "\n### %s\n\n| code | message | when |\n|---|---|---|\n",
                      wf_diag_categories[k].title);
        for (int i = 0; i < WF_DIAG_COUNT; i++) {
            const wf_diag_info *c = &wf_diag_codes[i];
            if (c->cat != (wf_diag_category)k)
                continue;
            /* a template holding backticks needs a longer fence */
            int ticks = strchr(c->templ, '`') != NULL;
            wf_str_printf(&b, "| `%s` | %s", c->name, ticks ? "`` " : "`");
            put_template(&b, c);
            wf_str_printf(&b, "%s | %s%s |\n", ticks ? " ``" : "`", sev_mark(c), c->doc);
        }
    }
    wf_str_puts(&b, "\n" WF_DIAG_MD_END "\n");
    return b.s;
}
