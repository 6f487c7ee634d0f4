/* A live session: a patch built one statement at a time (the REPL's input)
 * and rendered while it is edited, the way SuperCollider's Ndef or Glicol
 * play a sketch that changes.
 *
 * Each text handed to the session is parsed once and its statements kept;
 * a statement that defines a name already defined (a binding, param, input
 * or def), sets a setting already set, or gives the out again replaces the
 * earlier one, in place. The session's statements are then compiled as one
 * patch and planned as a stream. Nodes keep their identity across edits (a
 * node's id comes from its binding and its place in the expression), so the
 * new program takes over the streaming state of every node it shares with
 * the playing one (oscillator phases, delay lines, reverb tails) and the
 * values of every param whose statement did not change; it takes over at
 * the next block boundary, with a short crossfade from the old program to
 * the new. An edit that does not compile changes nothing and returns its
 * diagnostics. */
#ifndef WF_SESSION_H
#define WF_SESSION_H

#include <stdint.h>

#include "lang/compile.h"
#include "runtime/diag.h"
#include "runtime/params.h"

typedef struct wf_session_opts {
    const char *name;   /* texts are named NAME[1], NAME[2], ... in messages (default "session") */
    const char *dir;    /* folder for `use` and the files patches name (default ".") */
    double rate;        /* audio rate when the patch sets none (default 48000) */
    int block;          /* samples per block (default 512) */
    double crossfade;   /* seconds from the old program to the new (0: 0.05; < 0: none) */
    double max_seconds; /* how long a patch without `length` plays (default 600) */
} wf_session_opts;

typedef struct wf_session wf_session;

wf_session *wf_session_new(const wf_session_opts *o);
void wf_session_free(wf_session *s);

/* Adds the statements of text (one or more lines). Returns 0 when the whole
 * patch compiles and the new program will play from the next block; -1 with
 * diagnostics (located in this text) when it does not, changing nothing. */
int wf_session_eval(wf_session *s, const char *text, wf_diags *d);
/* Removes the statement that defines `name` ("out", "rate", ... for those);
 * 0, or -1 with diagnostics when nothing defines it or the rest does not
 * compile. */
int wf_session_forget(wf_session *s, const char *name, wf_diags *d);
/* wf_session_eval of a text named `name` in messages (a file loaded; NULL:
 * the next NAME[k]); replace: its statements replace every other (the file
 * read again), the nodes it shares with the playing patch keeping their
 * state as for an edit. */
int wf_session_eval_as(wf_session *s, const char *name, const char *text, int replace,
                       wf_diags *d);
/* Whether the patch with text's statements added would compile and plan,
 * changing nothing: 0, or -1 with diagnostics located in the text. */
int wf_session_try(wf_session *s, const char *text, wf_diags *d);

/* The next block: *n frames of *chans channels (silence before there is an
 * out); NULL when the patch has played its length. */
const wf_real *wf_session_next_block(wf_session *s, int *n, int *chans);
/* Absolute sample of the next block's start. */
int64_t wf_session_position(const wf_session *s);

/* The playing patch (`out 0` before there is an out) and its params.
 * Setting a param's values changes the sound from the next block. */
const wf_patch *wf_session_patch(const wf_session *s);
wf_params *wf_session_params(wf_session *s);
/* Taken around writes of param values from the editing thread. */
void wf_session_lock(wf_session *s);
void wf_session_unlock(wf_session *s);
/* Nodes whose state the last swap kept. */
int wf_session_kept(const wf_session *s);
/* The session's statements as patch text, one per line. Caller frees. */
char *wf_session_text(const wf_session *s);
/* The same without the statement defining `key` ("out", a name, ...). */
char *wf_session_text_without(const wf_session *s, const char *key);
/* The session's statements in order, for listings and completion. */
int wf_session_count(const wf_session *s);
const wf_stmt *wf_session_stmt(const wf_session *s, int i);

#endif
