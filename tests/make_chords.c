/* Writes examples/chords.mid, the example note file for polyphonic patches:
 * C major, A minor, F major, G major, 0.75 s each, with common tones held
 * across the changes and a top note or a bass note lingering into the next
 * chord, so three voices sound at a time and four at the overlaps.
 *     make_chords examples/chords.mid */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/midi.h"
#include "runtime/util.h"

static const wf_note notes[] = {
    /* on, off, key, vel, chan, track */
    {0.00, 2.25, 60, 80, 0, 0}, /* C4: C, Am, F */
    {0.00, 1.50, 64, 70, 0, 0}, /* E4: C, Am */
    {0.00, 1.00, 67, 92, 0, 0}, /* G4: C, into Am */
    {0.75, 2.25, 57, 74, 0, 0}, /* A3: Am, F */
    {1.50, 2.50, 53, 86, 0, 0}, /* F3: F, into G */
    {2.25, 3.00, 55, 98, 0, 0}, /* G3: G */
    {2.25, 3.00, 59, 64, 0, 0}, /* B3: G */
    {2.25, 3.00, 62, 78, 0, 0}, /* D4: G */
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_chords OUT.mid\n");
        return 2;
    }
    unsigned char *bytes;
    size_t len;
    if (wf_midi_encode(notes, (int)(sizeof notes / sizeof *notes), 480, 120, &bytes, &len)) {
        fprintf(stderr, "make_chords: cannot encode the notes\n");
        return 1;
    }
    int rc = wf_write_file_atomic(argv[1], bytes, len);
    if (rc)
        perror(argv[1]);
    free(bytes);
    return rc ? 1 : 0;
}
