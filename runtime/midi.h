/* Standard MIDI Files for polyphonic patches: reading a file into notes timed
 * in seconds, assigning the notes to voices (the lanes of a note signal), and
 * rendering the voices to control frames of freq, gate, vel and onset; plus a
 * small writer, for tests and for the example file. */
#ifndef WF_MIDI_H
#define WF_MIDI_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/real.h"

typedef struct wf_note {
    double on, off; /* seconds from the start; off >= on (equal for a zero-length note) */
    int key;        /* 0..127, 60 = C4 */
    int vel;        /* 1..127 */
    int chan;       /* 0..15 */
    int track;      /* index of the file's MTrk chunk, from 0 */
} wf_note;

typedef struct wf_midi {
    wf_note *notes; /* sorted by onset, then key, channel, track */
    int n;
    double end;     /* seconds of the last event (end-of-track included) */
} wf_midi;

/* Reads an SMF of format 0 or 1 (format 2 is refused) with every track
 * merged: tempo changes from any track apply to all of them by tick; SMPTE
 * divisions are read as real time. A note-off ends the note of its track,
 * channel and key; a note-on while that key sounds ends the sounding note
 * first; the sustain pedal (CC64 >= 64, from any track) holds the note-offs of
 * its channel until it is released; a note still sounding when its track ends
 * ends there. Errors name the file and a byte offset ("song.mid: byte 40:
 * ...", tracks counted from 1 in messages). 0 on success; -1 with an error in
 * d and *m empty otherwise. */
int wf_midi_parse(const char *name, const unsigned char *bytes, size_t len, wf_midi *m,
                  wf_diags *d);
int wf_midi_load(const char *path, wf_midi *m, wf_diags *d);
void wf_midi_free(wf_midi *m);

/* Assigns each note a voice. A note sounds on its voice from its onset until
 * `release` seconds after its note-off (at least at its onset: two notes
 * starting together never share a voice); a note takes the voice that has
 * been free longest, or a new one. With max_voices > 0, a note that finds
 * all max_voices voices sounding steals one: the voice whose note has ended
 * earliest (it is only in its release tail), else the one whose note started
 * earliest; ties go to the lowest voice. Fills voice_of_note[m->n] and, when
 * stolen is not NULL, *stolen with how many notes took a sounding voice.
 * Returns the number of voices used, at least 1 (also for no notes); without
 * a cap it is the largest number of notes sounding at once. */
int wf_midi_voices(const wf_midi *m, double release, int max_voices, int *voice_of_note,
                   int *stolen);

/* The fields of a rendered frame. */
enum { WF_MIDI_FREQ, WF_MIDI_GATE, WF_MIDI_VEL, WF_MIDI_ONSET, WF_MIDI_FIELDS };

/* Renders voices to control frames: frame i is at time i / frame_rate, and
 * out is [nvoices][nframes][WF_MIDI_FIELDS]. A note starts in the first frame
 * at or after its onset and its gate is 1 in the frames before the first one
 * at or after its note-off, at least in its onset frame; onset is 1 in that
 * frame. freq (440 * 2^((key - 69) / 12) Hz) and vel (vel / 127) are those
 * of the voice's latest note, held after its note-off; before its first note
 * a voice has the values of that note, so oscillators never glide from 0. A
 * voice without notes is all zeros. When a note starts on a voice whose gate
 * is 1 in the frame before (stealing, back-to-back notes), that frame's gate
 * is 0 so envelopes retrigger, unless it is the onset frame of the note
 * before; of notes starting in the same frame of a voice, the last wins. */
void wf_midi_render(const wf_midi *m, const int *voice_of_note, int nvoices, double frame_rate,
                    int64_t nframes, wf_real *out);

/* Key of a note name: a letter a-g in either case, an optional '#' or 'b',
 * an octave -1..9: "c4" = 60, "a4" = 69, "f#3", "eb5", "C-1" = 0, "g9" = 127.
 * -1 if name is not a note name or is outside 0..127. */
int wf_midi_key(const char *name);

/* Writes notes as an SMF with ppq ticks per quarter note and one tempo event
 * (format 0 if every note is in track 0, else format 1 with the tempo in
 * track 0), times rounded to ticks. *bytes is malloc'd, caller frees. 0 on
 * success, -1 if a note, ppq or bpm is out of range. */
int wf_midi_encode(const wf_note *notes, int n, int ppq, double bpm, unsigned char **bytes,
                   size_t *len);

#endif
