/* Notes inputs made ready for a run: the notes of one (read from its MIDI
 * file, or written in the patch), the voices they need, and the control
 * frames of freq, gate, vel and onset of every voice, which are the lanes of
 * the input. The weft command and the live session both prepare notes this
 * way. */
#ifndef WF_NOTES_H
#define WF_NOTES_H

#include "runtime/diag.h"
#include "runtime/graph.h"
#include "runtime/midi.h"

typedef struct wf_notes {
    wf_midi midi;
    int *voice;   /* per note */
    int nvoices;
    int stolen;   /* notes that took a sounding voice (under a voice cap) */
    double tail;  /* seconds a voice sounds after its note ends */
} wf_notes;

/* Reads the notes of input `input` of g: from the MIDI file at path, or,
 * with path NULL, those written in the patch. Then assigns voices, with a
 * release tail long enough for the envelopes the input's gate drives. 0, or
 * -1 with a diagnostic naming the file. */
int wf_notes_load(wf_notes *n, const wf_graph *g, int input, const char *path, wf_diags *d);
void wf_notes_free(wf_notes *n);
/* When the last voice falls silent, in seconds (0 without notes). */
double wf_notes_end(const wf_notes *n);
/* Frames of every voice for a run of env's length: [nvoices][nframes][4],
 * 64-byte aligned (wf_afree). */
wf_real *wf_notes_render(const wf_notes *n, const wf_env *env);

#endif
