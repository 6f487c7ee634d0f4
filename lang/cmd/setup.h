/* What every subcommand of the weft command shares: turning a patch plus
 * command-line options into a ready run (params, inputs, length), rendering,
 * Ctrl-C, option parsing helpers and the reporting of diagnostics. */
#ifndef WF_CMD_SETUP_H
#define WF_CMD_SETUP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "lang/compile.h"
#include "runtime/diag.h"
#include "runtime/audio.h"
#include "runtime/exec.h"
#include "runtime/notes.h"
#include "runtime/params.h"

extern wf_diag_format wf_cli_diag_format;

/* Repeatable NAME=VALUE options. */
typedef struct wf_pairs {
    const char **v;
    int n;
} wf_pairs;

void wf_opts_add(wf_pairs *p, const char *text);
int wf_pair_split(const char *text, char **name, const char **value);
int wf_parse_number(const char *s, double *out);

typedef struct wf_setup_opts {
    const char *patch;
    const char *text;      /* the patch's source when it is not read from the file `patch`
                              (the REPL's session; `patch` then names it, and its folder
                              is the patch's) */
    double seconds;        /* > 0: length from --seconds (wins) */
    int64_t length_frames; /* > 0: length in samples when the patch sets none (a fit's targets) */
    double rate;           /* > 0: --rate */
    double fallback_rate;  /* rate when neither --rate nor the patch sets one */
    int fed_target;        /* the caller feeds `input x = target` (a fit), not a file */
    uint64_t seed;         /* offsets the default seeds of noise() calls */
    wf_pairs sets, inputs;
} wf_setup_opts;

/* A compiled patch with its run length, params and open inputs. */
typedef struct wf_setup {
    wf_patch *patch;
    wf_env env;
    wf_params params;
    int params_ready;
    int own_length;              /* the length is the patch's or --seconds's */
    char **paths;                /* per input: file, or NULL when unused or fed */
    struct wf_audio_reader **readers;
    wf_real **data;              /* per input: the whole signal once loaded; notes' frames */
    int64_t *frames;
    wf_notes *notes;             /* per input: the notes of a notes input */
    int *voices;                 /* per lane space: voices of its notes */
} wf_setup;

/* wf_setup_compile then wf_setup_ready. */
int wf_setup_prepare(wf_setup *s, const wf_setup_opts *o, wf_diags *d);
/* Compiles the patch and finds each input's source. */
int wf_setup_compile(wf_setup *s, const wf_setup_opts *o, wf_diags *d);
/* Opens the inputs (reads notes), sets the length, the run's timing and the
 * params (with --set). */
int wf_setup_ready(wf_setup *s, const wf_setup_opts *o, wf_diags *d);
/* The patch's audio rate under o (its own, --rate, or the fallback). */
double wf_setup_rate(const wf_setup *s, const wf_setup_opts *o);
/* Loads every audio input whole, frames samples of each (silence past a
 * file's end): the run's length, or for excerpts the recordings'. */
void wf_setup_load_inputs(wf_setup *s, int64_t frames);
/* Gives the run another length in samples (a render after an excerpt fit),
 * for a patch without per-frame params, whose sizes follow the length. */
void wf_setup_relength(wf_setup *s, int64_t nsamples);
/* Plans the patch with its notes' voices as lanes, items batch items (the
 * inputs flagged in per_item with one lane each, which the caller feeds),
 * and every other input fed: notes, loaded audio, or readers (STREAM). */
wf_prog *wf_setup_plan(wf_setup *s, wf_run_mode mode, int block, int items, const char *per_item,
                       wf_diags *d);
void wf_setup_free(wf_setup *s);

/* Renders s to out, streaming block by block. Returns 0, -1 on error, or
 * 130 when Ctrl-C stopped it (nothing is written then). */
int wf_render(wf_setup *s, const char *out, wf_sample_format fmt, int block, int quiet,
              wf_diags *d);
/* The same, OUT "-" writing to standard output (named WF_STDOUT_NAME in
 * messages) in the format the extension `type` names (NULL: wav). */
#define WF_STDOUT_NAME "<stdout>"
int wf_render_as(wf_setup *s, const char *out, const char *type, wf_sample_format fmt, int block,
                 int quiet, wf_diags *d);
/* The same render into memory: *y [frames x chans], caller frees. 0, or -1
 * with a diagnostic (the patch cannot be planned, a non-finite sample). It
 * leaves Ctrl-C to the caller, so it can run inside a fit. */
int wf_render_memory(wf_setup *s, int block, wf_real **y, int64_t *frames, int *chans,
                     wf_diags *d);

/* The first frame of y [n x chans] holding a non-finite sample, or -1. */
int64_t wf_first_nonfinite(const wf_real *y, int n, int chans);
/* Reports the first fault a kernel of p reported (unstable-run), if any. */
void wf_report_prog_fault(wf_prog *p, wf_diags *d);

/* Ctrl-C sets the returned flag instead of killing the process, so that
 * long work can stop cleanly; a second Ctrl-C kills as usual. */
volatile sig_atomic_t *wf_cli_catch_sigint(void);
void wf_cli_release_sigint(void);

/* Prints diagnostics (text or JSON), frees them, returns status. */
int wf_cli_finish(wf_diags *d, int status);
int wf_cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/* Prints `head` then the words of `words` (space-separated), wrapped at 80
 * columns with following lines indented by `indent` spaces. For lists known
 * only at run time: the audio formats of the library. */
void wf_cli_print_wrapped(FILE *f, const char *head, const char *words, int indent);

#endif
