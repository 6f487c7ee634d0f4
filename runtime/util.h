/* Small shared helpers: checked allocation, growable strings, whole-file reads
 * and atomic file writes (temp file + rename), used by every subsystem. */
#ifndef WF_UTIL_H
#define WF_UTIL_H

#include <stddef.h>
#include <stdio.h>

void *wf_xmalloc(size_t n);
void *wf_xcalloc(size_t n, size_t size);
void *wf_xrealloc(void *p, size_t n);
char *wf_xstrdup(const char *s);
char *wf_xstrndup(const char *s, size_t n);
/* 64-byte aligned zeroed block for signal buffers; free with wf_afree. */
void *wf_aalloc(size_t n);
/* The same, or NULL when the memory is not there or n is more than the
 * machine has (for sizes users choose). */
void *wf_aalloc_try(size_t n);
void wf_afree(void *p);

typedef struct wf_str {
    char *s;
    size_t len, cap;
} wf_str;

void wf_str_putc(wf_str *b, char c);
void wf_str_puts(wf_str *b, const char *s);
void wf_str_putn(wf_str *b, const char *s, size_t n);
void wf_str_printf(wf_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* JSON string literal with quotes and escapes. */
void wf_str_json(wf_str *b, const char *s);
/* Text for HTML, in elements and quoted attributes (& < > " ' escaped). */
void wf_str_html(wf_str *b, const char *s);
/* n bytes as base64 (RFC 4648, padded), for data: URIs. */
void wf_str_base64(wf_str *b, const void *data, size_t n);
void wf_str_free(wf_str *b);

/* Reads a whole file, NUL-terminated. Returns NULL and sets errno on failure. */
char *wf_read_file(const char *path, size_t *len);
/* The same for an open stream, read to its end (standard input). */
char *wf_read_stream(FILE *f, size_t *len);

/* Writes data to path through a temporary file in the same folder and a
 * rename, so a reader never sees a half-written file. 0 on success, -1 with
 * errno set otherwise. */
int wf_write_file_atomic(const char *path, const void *data, size_t len);
/* Several files written all or nothing: each is first written to a
 * temporary file beside it (wf_stage_add; -1 with errno set when that
 * fails); wf_stage_commit renames them into place in the order they were
 * added (so add a file naming the others last), and when one cannot be put
 * in place sets *failed (if not NULL) to its path, which the caller frees;
 * wf_stage_abort removes the temporary files. Both leave the stage empty. */
typedef struct wf_staged {
    char *tmp, *dst;
    unsigned char *data; /* a device or pipe, written in place on commit */
    size_t len;
} wf_staged;

typedef struct wf_stage {
    wf_staged *v;
    int n;
} wf_stage;

int wf_stage_add(wf_stage *s, const char *path, const void *data, size_t len);
int wf_stage_commit(wf_stage *s, char **failed);
void wf_stage_abort(wf_stage *s);

/* Temporary name beside path for callers that write through another library
 * (libsndfile) before renaming; caller frees. */
char *wf_temp_path_for(const char *path);
/* Where an atomic write of path must land: a symlink's target (the link is
 * kept), or path itself. *direct is set for an existing device or pipe, which
 * must be written in place, never renamed over. Caller frees. */
char *wf_atomic_target(const char *path, int *direct);

/* A file a patch in folder dir names (absolute, or relative to dir) as a
 * path from the current folder; dir "" or "." leaves it as it is. Caller
 * frees. */
char *wf_path_in(const char *dir, const char *file);
/* path (absolute, or relative to the current folder) as a path relative to
 * the folder `from` (likewise), by the names alone. Caller frees. */
char *wf_path_relative(const char *from, const char *path);

/* Levenshtein distance, for "did you mean" suggestions. */
int wf_edit_distance(const char *a, const char *b);

/* Monotonic wall clock in seconds. */
double wf_now(void);

#endif
