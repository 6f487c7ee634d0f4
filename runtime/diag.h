/* Diagnostics as data: every error or warning weft reports is a value with a
 * code (runtime/diag_codes.h), a severity, a source location and span, a
 * message and an optional hint. They are collected in a list and printed
 * either for people (`file:line:col: error: ... [code]`, the source line, a
 * caret under the token) or as JSON for tools (`--diagnostics=json`). */
#ifndef WF_DIAG_H
#define WF_DIAG_H

#include <stdarg.h>
#include <stdio.h>

#include "runtime/diag_codes.h"

/* A loaded source file. Diagnostics point into it and often outlive the
 * patch that loaded it (a failed compile frees the patch, then the caller
 * prints), so it is reference counted: the creator holds one reference, each
 * diagnostic located in it holds another, and wf_source_free drops one. The
 * text is len bytes, which may include NUL bytes, followed by a NUL. */
typedef struct wf_source {
    char *path;
    char *text;
    size_t len;
    int refs;
} wf_source;

wf_source *wf_source_load(const char *path);
wf_source *wf_source_from_string(const char *path, const char *text);
/* The first len bytes of text, NUL bytes included (fuzzers, editors). */
wf_source *wf_source_from_bytes(const char *path, const char *text, size_t len);
void wf_source_free(wf_source *s);

/* A place in a source: 1-based line and column, byte offset, and the length
 * in bytes of the token or expression to underline. src NULL means "no
 * place" (command-line and runtime errors). */
typedef struct wf_loc {
    const wf_source *src;
    int line, col;
    int off, len;
} wf_loc;

/* "No place": command-line and runtime errors. */
#define WF_NOWHERE ((wf_loc){0})

typedef enum { WF_SEV_ERROR, WF_SEV_WARNING, WF_SEV_NOTE } wf_severity;

typedef enum {
#define WF_X(id, stage, title) WF_DIAG_CAT_##id,
    WF_DIAG_CATEGORIES(WF_X)
#undef WF_X
        WF_DIAG_CAT_COUNT
} wf_diag_category;

typedef enum {
#define WF_X(id, name, sev, cat, params, templ, doc) WF_DIAG_##id,
    WF_DIAG_CODES(WF_X)
#undef WF_X
        WF_DIAG_COUNT
} wf_diag_code;

typedef struct wf_diag_category_info {
    const char *name, *title;
    int at_run; /* reported by the weft command and the runtime, not the compiler */
} wf_diag_category_info;

typedef struct wf_diag_info {
    const char *name; /* the stable code, kebab-case */
    wf_severity sev;
    wf_diag_category cat;
    const char *templ;     /* printf-style */
    const char *params[6]; /* the template's parameter names, NULL-terminated */
    const char *doc;
} wf_diag_info;

extern const wf_diag_category_info wf_diag_categories[WF_DIAG_CAT_COUNT];
extern const wf_diag_info wf_diag_codes[WF_DIAG_COUNT];

static inline const char *wf_diag_code_name(wf_diag_code c)
{
    return wf_diag_codes[c].name;
}

/* The code named name, or -1. */
int wf_diag_code_find(const char *name);

typedef struct wf_diagnostic {
    wf_diag_code code;
    wf_severity sev;
    wf_loc loc;
    char *msg;
    char *hint;
} wf_diagnostic;

typedef struct wf_diags {
    wf_diagnostic *v;
    int n, cap;
    int errors;
} wf_diags;

/* The printf-style core of the generated reporters below; nothing else calls
 * it, so that every template lives in the list and is checked there. */
void wf_diag_emit(wf_diags *d, wf_diag_code code, wf_loc loc, const char *hint, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* A code's parameters, P0() to P5(type, name, ...), spelled as a reporter's
 * parameters, as the arguments it passes on, and as names for the docs. */
#define WF_DIAG_DECL_P0()
#define WF_DIAG_DECL_P1(t, a) , t a
#define WF_DIAG_DECL_P2(t, a, ...) , t a WF_DIAG_DECL_P1(__VA_ARGS__)
#define WF_DIAG_DECL_P3(t, a, ...) , t a WF_DIAG_DECL_P2(__VA_ARGS__)
#define WF_DIAG_DECL_P4(t, a, ...) , t a WF_DIAG_DECL_P3(__VA_ARGS__)
#define WF_DIAG_DECL_P5(t, a, ...) , t a WF_DIAG_DECL_P4(__VA_ARGS__)
#define WF_DIAG_ARGS_P0()
#define WF_DIAG_ARGS_P1(t, a) , a
#define WF_DIAG_ARGS_P2(t, a, ...) , a WF_DIAG_ARGS_P1(__VA_ARGS__)
#define WF_DIAG_ARGS_P3(t, a, ...) , a WF_DIAG_ARGS_P2(__VA_ARGS__)
#define WF_DIAG_ARGS_P4(t, a, ...) , a WF_DIAG_ARGS_P3(__VA_ARGS__)
#define WF_DIAG_ARGS_P5(t, a, ...) , a WF_DIAG_ARGS_P4(__VA_ARGS__)
#define WF_DIAG_NAMES_P0()
#define WF_DIAG_NAMES_P1(t, a) #a,
#define WF_DIAG_NAMES_P2(t, a, ...) #a, WF_DIAG_NAMES_P1(__VA_ARGS__)
#define WF_DIAG_NAMES_P3(t, a, ...) #a, WF_DIAG_NAMES_P2(__VA_ARGS__)
#define WF_DIAG_NAMES_P4(t, a, ...) #a, WF_DIAG_NAMES_P3(__VA_ARGS__)
#define WF_DIAG_NAMES_P5(t, a, ...) #a, WF_DIAG_NAMES_P4(__VA_ARGS__)

/* wf_report_<id>(d, loc, hint, params...) for every code: loc WF_NOWHERE for
 * no place, hint NULL for none. Pasting WF_DIAG_DECL_ onto the entry's
 * P<n>(...) picks the spelling. */
#define WF_X(id, name, sev, cat, params, templ, doc)                                           \
    static inline void wf_report_##id(wf_diags *d, wf_loc loc,                                 \
                                      const char *hint WF_DIAG_DECL_##params)                  \
    {                                                                                          \
        wf_diag_emit(d, WF_DIAG_##id, loc, hint, templ WF_DIAG_ARGS_##params);                 \
    }
WF_DIAG_CODES(WF_X)
#undef WF_X

typedef enum { WF_DIAG_TEXT, WF_DIAG_JSON } wf_diag_format;

void wf_diags_print(FILE *f, const wf_diags *d, wf_diag_format fmt);
void wf_diags_clear(wf_diags *d);
/* Drops every diagnostic after the first n (a trial that is taken back). */
void wf_diags_truncate(wf_diags *d, int n);
void wf_diags_free(wf_diags *d);

/* Closest candidate within a small edit distance, or NULL. */
const char *wf_suggest(const char *name, const char *const *cands, int n);

/* Every code with its template and meaning, by category, for `weft errors`;
 * only `code` when it is not -1. */
char *wf_diag_codes_listing(int code);
/* The same as Markdown tables, between the markers that hold them in
 * docs/language.md. */
#define WF_DIAG_MD_BEGIN "<!-- generated by `weft errors --markdown` from runtime/diag_codes.h -->"
#define WF_DIAG_MD_END "<!-- end of the generated list -->"
char *wf_diag_codes_markdown(void);

#endif
