/* Diagnostics as data: every error or warning weft reports is a value with a
 * severity, a source location and span, a message and an optional hint. They
 * are collected in a list and printed either for people
 * (`file:line:col: error: ...`, the source line, a caret under the token) or as
 * JSON for tools (`--diagnostics=json`). */
#ifndef WF_DIAG_H
#define WF_DIAG_H

#include <stdarg.h>
#include <stdio.h>

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

typedef enum { WF_SEV_ERROR, WF_SEV_WARNING, WF_SEV_NOTE } wf_severity;

typedef struct wf_diagnostic {
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

void wf_diag(wf_diags *d, wf_severity sev, wf_loc loc, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void wf_vdiag(wf_diags *d, wf_severity sev, wf_loc loc, const char *hint, const char *fmt,
              va_list ap);
#define wf_error(d, loc, ...) wf_diag((d), WF_SEV_ERROR, (loc), NULL, __VA_ARGS__)
#define wf_warning(d, loc, ...) wf_diag((d), WF_SEV_WARNING, (loc), NULL, __VA_ARGS__)

/* Location-free error for command-line and runtime failures. */
void wf_fail(wf_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef enum { WF_DIAG_TEXT, WF_DIAG_JSON } wf_diag_format;

void wf_diags_print(FILE *f, const wf_diags *d, wf_diag_format fmt);
void wf_diags_clear(wf_diags *d);
void wf_diags_free(wf_diags *d);

/* Closest candidate within a small edit distance, or NULL. */
const char *wf_suggest(const char *name, const char *const *cands, int n);

#endif
