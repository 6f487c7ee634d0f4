/* The REPL's two halves: the loop and its commands (repl.c), and the line
 * editor (repl_edit.c: libedit with history, Ctrl-R and completion). */
#ifndef WF_CMD_REPL_H
#define WF_CMD_REPL_H

#include <signal.h>

#include "lang/session.h"

/* `weft repl [PATCH] [--device D]`, and `weft` alone. */
int wf_cmd_repl(int argc, char **argv);

/* ------------------------------------------------------------ editing */

/* Ctrl-C at the REPL (repl.c's handler): the flag, and the read end of a
 * non-blocking pipe the handler writes a byte to (-1 when there is none).
 * The editor waits on the pipe beside the terminal, so a Ctrl-C that lands
 * on another thread (an OpenMP worker, the audio thread) or just before a
 * read starts still ends the line. */
extern volatile sig_atomic_t wf_repl_interrupted;
extern int wf_repl_wake;

typedef struct wf_repl_edit wf_repl_edit;

/* A line editor on the terminal for a session (its names complete), with
 * the history at history_path (NULL: none), which is created as needed. */
wf_repl_edit *wf_repl_edit_open(wf_session *s, const char *history_path);
/* The next line, without its newline (caller frees); `pending` is what the
 * entry holds so far (continuation lines: the prompt says so, completion
 * reads it). NULL at the end of input; with *interrupted set when Ctrl-C
 * dropped the line. */
char *wf_repl_edit_line(wf_repl_edit *e, const char *pending, int *interrupted);
/* Adds a line to the history, saved at once. */
void wf_repl_edit_remember(wf_repl_edit *e, const char *line);
void wf_repl_edit_close(wf_repl_edit *e);

/* The history file: $XDG_DATA_HOME/weft/history, else
 * ~/.local/share/weft/history (NULL when neither is known). Caller frees. */
char *wf_repl_history_path(void);

/* What completes the word that ends `text` (the entry up to the cursor):
 * NULL-terminated candidates (each the whole word, plus what follows it: "("
 * after a node, ": " after an argument's name, "/" after a folder), and
 * *start the offset in text where the word begins. Caller frees with
 * wf_repl_free_words. */
char **wf_repl_complete(wf_session *s, const char *text, int *start);
void wf_repl_free_words(char **w);

/* How many brackets the text leaves open (outside strings and comments):
 * an entry goes on while it is above 0. */
int wf_repl_open_brackets(const char *text);

/* The REPL's commands, for :help and completion: NULL-terminated. */
extern const char *const wf_repl_commands[];

#endif
