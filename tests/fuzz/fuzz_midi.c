/* libFuzzer target for the MIDI reader (runtime/midi.h): parses arbitrary
 * bytes as a Standard MIDI File (and the first few as a note name). What
 * parses must be well formed (aborts otherwise, so the fuzzer reports it), is
 * given voices with and without a cap, rendered to a bounded number of
 * frames, and written back out, which must parse again. An error must name
 * the file and a byte inside it. tests/fuzz/replay.c runs the same entry
 * point over tests/fuzz/corpus_midi/ in ordinary builds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/midi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.mid"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_midi: %s\n", what);
        abort();
    }
}

static void check_notes(const wf_midi *m)
{
    for (int i = 0; i < m->n; i++) {
        const wf_note *n = &m->notes[i];
        check(n->on >= 0 && n->off >= n->on && n->off <= m->end, "note times out of order");
        check(n->key >= 0 && n->key <= 127 && n->vel >= 1 && n->vel <= 127 && n->chan >= 0 &&
                  n->chan <= 15 && n->track >= 0,
              "note fields out of range");
        check(!i || m->notes[i - 1].on <= n->on, "notes not sorted by onset");
    }
}

/* Voices with the given cap, rendered to at most 64 x 256 frames. */
static void render(const wf_midi *m, double release, int cap, int *voice)
{
    int stolen;
    int nv = wf_midi_voices(m, release, cap, voice, &stolen);
    check(nv >= 1 && nv <= (m->n > 1 ? m->n : 1) && (cap <= 0 || nv <= cap), "voice count");
    check(stolen >= 0 && stolen <= m->n && (cap > 0 || stolen == 0), "stolen count");
    for (int i = 0; i < m->n; i++)
        check(voice[i] >= 0 && voice[i] < nv, "voice out of range");
    if (nv > 64)
        return;
    double rate = 100;
    int64_t frames = (int64_t)(m->end * rate) + 2;
    if (frames > 256)
        frames = 256;
    wf_real *out = malloc(sizeof *out * (size_t)nv * (size_t)frames * WF_MIDI_FIELDS);
    if (!out)
        return;
    wf_midi_render(m, voice, nv, rate, frames, out);
    for (size_t i = 0; i < (size_t)nv * (size_t)frames; i++) {
        const wf_real *f = out + i * WF_MIDI_FIELDS;
        check((f[WF_MIDI_GATE] == 0 || f[WF_MIDI_GATE] == 1) &&
                  (f[WF_MIDI_ONSET] == 0 || f[WF_MIDI_ONSET] == 1) && f[WF_MIDI_FREQ] >= 0 &&
                  f[WF_MIDI_VEL] >= 0 && f[WF_MIDI_VEL] <= 1,
              "rendered frame out of range");
        check(!f[WF_MIDI_ONSET] || f[WF_MIDI_GATE], "an onset without a gate");
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first bytes as a note name, while we are here */
    char name[8] = {0};
    memcpy(name, data, size < sizeof name - 1 ? size : sizeof name - 1);
    int key = wf_midi_key(name);
    check(key >= -1 && key <= 127, "a note name out of range");

    wf_diags d = {0};
    wf_midi m;
    if (wf_midi_parse(NAME, data, size, &m, &d)) {
        check(d.n == 1 && !m.notes && !m.n, "an error leaves one diagnostic, no notes");
        const char *msg = d.v[0].msg;
        char *end;
        check(!strncmp(msg, NAME ": byte ", strlen(NAME ": byte ")), "error without an offset");
        unsigned long off = strtoul(msg + strlen(NAME ": byte "), &end, 10);
        check(off <= size && !strncmp(end, ": ", 2), "error offset outside the file");
        wf_diags_free(&d);
        return 0;
    }
    check(d.n == 0, "diagnostics without an error");
    check_notes(&m);
    int *voice = malloc(sizeof *voice * (size_t)(m.n ? m.n : 1));
    if (voice) {
        /* the last byte picks a cap and a release, so both paths are fuzzed */
        int cap = size ? data[size - 1] % 5 : 0;
        render(&m, 0, 0, voice);
        render(&m, cap * 0.05, cap, voice);
        free(voice);
    }
    unsigned char *bytes;
    size_t len;
    if (wf_midi_encode(m.notes, m.n, 480, 120, &bytes, &len) == 0) {
        wf_midi again;
        check(wf_midi_parse(NAME, bytes, len, &again, &d) == 0, "the writer's file does not parse");
        check_notes(&again);
        wf_midi_free(&again);
        free(bytes);
    }
    wf_midi_free(&m);
    wf_diags_free(&d);
    return 0;
}
