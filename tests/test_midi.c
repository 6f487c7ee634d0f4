/* Standard MIDI Files (runtime/midi.h): hand-built files for each feature of
 * the reader (running status, the tempo map, SMPTE time, the pedal, skipped
 * events and chunks), every error with its byte offset, truncated and
 * corrupted files, voice allocation, rendering to frames checked frame by
 * frame, note names, the writer, and the example file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/midi.h"
#include "runtime/util.h"

/* ---- building files by hand ---- */

typedef struct buf {
    unsigned char b[4096];
    size_t n, mark;
} buf;

static void put(buf *b, const unsigned char *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->b);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

#define B(b, ...)                                                                              \
    put((b), (const unsigned char[]){__VA_ARGS__}, sizeof((const unsigned char[]){__VA_ARGS__}))

static void header(buf *b, unsigned format, unsigned ntracks, unsigned div)
{
    B(b, 'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, format, ntracks >> 8, ntracks & 0xff, div >> 8,
      div & 0xff);
}

/* A chunk whose length is patched by end_chunk. */
static void begin_chunk(buf *b, const char *id)
{
    put(b, (const unsigned char *)id, 4);
    b->mark = b->n;
    B(b, 0, 0, 0, 0);
}

static void end_chunk(buf *b)
{
    size_t len = b->n - b->mark - 4;
    for (int i = 0; i < 4; i++)
        b->b[b->mark + i] = (unsigned char)(len >> (24 - 8 * i));
}

#define TRACK(b, ...)                                                                          \
    do {                                                                                       \
        begin_chunk((b), "MTrk");                                                              \
        B((b), __VA_ARGS__);                                                                   \
        end_chunk(b);                                                                          \
    } while (0)

#define EOT 0x00, 0xff, 0x2f, 0x00

static wf_midi parse_ok(const unsigned char *bytes, size_t len)
{
    wf_diags d = {0};
    wf_midi m;
    int rc = wf_midi_parse("t.mid", bytes, len, &m, &d);
    if (rc)
        print_error("unexpected error: %s\n", d.v[0].msg);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    wf_diags_free(&d);
    return m;
}

static void expect_error(const unsigned char *bytes, size_t len, const char *want)
{
    wf_diags d = {0};
    wf_midi m;
    assert_int_equal(wf_midi_parse("t.mid", bytes, len, &m, &d), -1);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].msg, want);
    assert_null(m.notes);
    assert_int_equal(m.n, 0);
    wf_diags_free(&d);
}

#define assert_exact(got, want) wf_assert_close((got), (want), 0, 0, #got, __FILE__, __LINE__)

static void check_note(const wf_note *n, double on, double off, int key, int vel, int chan,
                       int track)
{
    assert_exact(n->on, on);
    assert_exact(n->off, off);
    assert_int_equal(n->key, key);
    assert_int_equal(n->vel, vel);
    assert_int_equal(n->chan, chan);
    assert_int_equal(n->track, track);
}

/* ---- the reader ---- */

static void test_running_status(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 0, 1, 96);
    TRACK(&b, 0x00, 0x90, 60, 100, /* t0 C4 on */
          0x00, 64, 80,            /* running status: E4 on */
          0x60, 60, 0,             /* t96: a note-on of velocity 0 is a note-off */
          0x00, 0x80, 64, 0x7f,    /* note-off */
          0x00, 67, 0x7f,          /* running note-off with no note: ignored */
          0x30, 0x90, 67, 1,       /* t144 */
          0x30, 67, 0,             /* t192 */
          EOT);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 3);
    check_note(&m.notes[0], 0, 0.5, 60, 100, 0, 0);
    check_note(&m.notes[1], 0, 0.5, 64, 80, 0, 0);
    check_note(&m.notes[2], 0.75, 1.0, 67, 1, 0, 0);
    assert_exact(m.end, 1.0);
    wf_midi_free(&m);
}

static void test_tempo_changes(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 0, 1, 96);
    TRACK(&b, 0x00, 0xff, 0x51, 3, 0x07, 0xa1, 0x20, /* 500000 us a quarter: 120 bpm */
          0x30, 0x90, 60, 64,                        /* t48 = 0.25 s */
          0x30, 0xff, 0x51, 3, 0x03, 0xd0, 0x90,     /* t96 = 0.5 s: 240 bpm */
          0x30, 0x80, 60, 64,                        /* t144 = 0.5 + 48/96 x 0.25 */
          0x00, 0x90, 62, 64,                        /* t144 */
          0x60, 0xff, 0x51, 3, 0x0f, 0x42, 0x40,     /* t240 = 0.875 s: 60 bpm */
          0x60, 0x80, 62, 64,                        /* t336 = 0.875 + 1 */
          EOT);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 2);
    check_note(&m.notes[0], 0.25, 0.625, 60, 64, 0, 0);
    check_note(&m.notes[1], 0.625, 1.875, 62, 64, 0, 0);
    assert_exact(m.end, 1.875);
    wf_midi_free(&m);
}

/* Format 1: the tempo map in track 0 applies to the notes of the others. */
static void test_format1(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 1, 3, 192);
    TRACK(&b, 0x00, 0xff, 0x03, 4, 'c', 'o', 'n', 'd',     /* track name */
          0x00, 0xff, 0x58, 4, 4, 2, 24, 8,                /* time signature */
          0x00, 0xff, 0x51, 3, 0x0f, 0x42, 0x40,           /* 60 bpm */
          0x83, 0x00, 0xff, 0x51, 3, 0x07, 0xa1, 0x20,     /* t384 = 2 s: 120 bpm */
          EOT);
    TRACK(&b, 0x00, 0x93, 60, 100,                         /* channel 3 */
          0x81, 0x40, 0x83, 60, 0,                         /* t192 = 1 s */
          0x60, 0x93, 64, 80,                              /* t288 = 1.5 s */
          0x81, 0x40, 0x83, 64, 0,                         /* t480 = 2 + 96/192 x 0.5 */
          EOT);
    TRACK(&b, 0x00, 0xc5, 16,                              /* program change, channel 5 */
          0x83, 0x60, 0x95, 67, 112,                       /* t480 = 2.25 s */
          0x60, 0xe5, 0x00, 0x40,                          /* t576 = 2.5 s: pitch bend */
          0x00, 0x85, 67, 0,
          EOT);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 3);
    check_note(&m.notes[0], 0, 1, 60, 100, 3, 1);
    check_note(&m.notes[1], 1.5, 2.25, 64, 80, 3, 1);
    check_note(&m.notes[2], 2.25, 2.5, 67, 112, 5, 2);
    assert_exact(m.end, 2.5);
    wf_midi_free(&m);
}

static void test_smpte(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 0, 1, 0xe728); /* -25 frames a second x 40 ticks a frame = 1000 Hz */
    TRACK(&b, 0x00, 0xff, 0x51, 3, 0x0f, 0x42, 0x40, /* a tempo means nothing here */
          0x83, 0x74, 0x90, 60, 64,                  /* t500 */
          0x83, 0x74, 0x80, 60, 64,                  /* t1000 */
          EOT);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 1);
    check_note(&m.notes[0], 0.5, 1.0, 60, 64, 0, 0);
    wf_midi_free(&m);

    buf c = {0};
    header(&c, 0, 1, 0xe350); /* 29.97 (30 drop-frame) x 80 */
    TRACK(&c, 0x00, 0x90, 60, 64, 0x92, 0x5e, 0x80, 60, 64, EOT); /* t2398 */
    m = parse_ok(c.b, c.n);
    assert_int_equal(m.n, 1);
    assert_close(m.notes[0].off, 2398 * 1001 / 2400000.0, 1e-15, 0);
    wf_midi_free(&m);
}

/* A note-on while the key sounds ends the sounding note; each note-off ends
 * one note; notes left sounding end with their track. */
static void test_overlaps_and_held_notes(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 1, 3, 96);
    TRACK(&b, 0x00, 0x90, 60, 64,
          0x60, 0x90, 60, 80,  /* t96: ends the first C4 */
          0x60, 0x80, 60, 0,   /* t192: ends the second */
          0x60, 0x80, 60, 0,   /* t288: nothing to end */
          0x00, 0x90, 62, 64,  /* never released */
          0x60, 0xff, 0x2f, 0); /* t384: the track ends */
    TRACK(&b, 0x00, 0x91, 64, 64,
          0x60, 0xb1, 7, 100);  /* no end-of-track: ends with its last event, t96 */
    TRACK(&b, 0x00, 0x90, 72, 64,
          0x60, 0xff, 0x2f, 0,  /* t96 */
          0x00, 0xf3, 0x60);    /* after the end of the track: never read */
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 5);
    check_note(&m.notes[0], 0, 0.5, 60, 64, 0, 0);
    check_note(&m.notes[1], 0, 0.5, 64, 64, 1, 1);
    check_note(&m.notes[2], 0, 0.5, 72, 64, 0, 2);
    check_note(&m.notes[3], 0.5, 1.0, 60, 80, 0, 0);
    check_note(&m.notes[4], 1.5, 2.0, 62, 64, 0, 0);
    assert_exact(m.end, 2.0);
    wf_midi_free(&m);
}

static void test_sustain_pedal(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 0, 1, 96);
    TRACK(&b, 0x00, 0x90, 60, 64, /* C4 on channels 0 and 1, A4 on 2 */
          0x00, 0x91, 60, 64,
          0x00, 0x92, 69, 64,
          0x00, 0x93, 62, 64,     /* D4 on channel 3 */
          0x30, 0xb0, 64, 127,    /* t48: channel 0's pedal down */
          0x30, 0x80, 60, 0,      /* t96: held */
          0x00, 0x81, 60, 0,      /* another channel: ends */
          0x00, 0x82, 69, 0,      /* ends: its pedal goes down after it */
          0x00, 0xb2, 64, 127,
          0x00, 0xb3, 64, 127,    /* held: its pedal went down just before */
          0x00, 0x83, 62, 0,
          0x30, 0x90, 64, 64,     /* t144 E4 */
          0x30, 0x80, 64, 0,      /* t192: held */
          0x30, 0xb0, 64, 63,     /* t240: 63 is up: C4 and E4 end */
          0x00, 0xb2, 64, 0,
          0x00, 0xb3, 64, 0,
          0x00, 0x90, 67, 64,     /* t240 G4 */
          0x30, 0xb0, 64, 64,     /* t288: 64 is down */
          0x18, 0x80, 67, 0,      /* t312: held */
          0x18, 0x90, 67, 80,     /* t336: struck again, ends the held one */
          0x30, 0x80, 67, 0,      /* t384: held until the track ends */
          0x30, 0xff, 0x2f, 0);   /* t432 */
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 7);
    check_note(&m.notes[0], 0, 1.25, 60, 64, 0, 0);
    check_note(&m.notes[1], 0, 0.5, 60, 64, 1, 0);
    check_note(&m.notes[2], 0, 1.25, 62, 64, 3, 0);
    check_note(&m.notes[3], 0, 0.5, 69, 64, 2, 0);
    check_note(&m.notes[4], 0.75, 1.25, 64, 64, 0, 0);
    check_note(&m.notes[5], 1.25, 1.75, 67, 64, 0, 0);
    check_note(&m.notes[6], 1.75, 2.25, 67, 80, 0, 0);
    wf_midi_free(&m);

    /* the pedal of one track holds the notes of another on its channel */
    buf c = {0};
    header(&c, 1, 2, 96);
    TRACK(&c, 0x30, 0xb0, 64, 127, 0x81, 0x10, 0xb0, 64, 0, EOT); /* down t48, up t192 */
    TRACK(&c, 0x00, 0x90, 60, 64, 0x60, 0x80, 60, 0, 0x81, 0x40, 0xff, 0x2f, 0); /* off t96 */
    m = parse_ok(c.b, c.n);
    assert_int_equal(m.n, 1);
    check_note(&m.notes[0], 0, 1.0, 60, 64, 0, 1);
    wf_midi_free(&m);
}

static void test_skipped_events(void **state)
{
    (void)state;
    buf b = {0};
    header(&b, 0, 1, 96);
    begin_chunk(&b, "MTrk");
    B(&b, 0x00, 0xf0, 5, 0x7e, 0x7f, 0x09, 0x01, 0xf7, /* sysex */
      0x00, 0x90, 60, 64,
      0x00, 0xf7, 3, 0x80, 0x90, 0xff);                /* escaped bytes with the top bit set */
    B(&b, 0x00, 0xff, 0x01, 0x81, 0x00);               /* a text of 128 bytes */
    for (int i = 0; i < 128; i++)
        B(&b, 0x90);
    B(&b, 0x00, 64, 64,                                /* running status survives the meta event */
      0x60, 0xff, 0x7f, 3, 0, 0, 0x41,                 /* sequencer-specific */
      0x00, 60, 0, 0x00, 64, 0,
      EOT);
    end_chunk(&b);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 2);
    check_note(&m.notes[0], 0, 0.5, 60, 64, 0, 0);
    check_note(&m.notes[1], 0, 0.5, 64, 64, 0, 0);
    wf_midi_free(&m);
}

static void test_unknown_chunks(void **state)
{
    (void)state;
    buf b = {0};
    /* an MThd of 8 bytes: the 2 it adds are skipped; it declares 1 track but 2 follow */
    B(&b, 'M', 'T', 'h', 'd', 0, 0, 0, 8, 0, 1, 0, 1, 0, 96, 0xaa, 0xbb);
    begin_chunk(&b, "XFIH");
    B(&b, 'M', 'T', 'r', 'k', 0, 0);
    end_chunk(&b);
    TRACK(&b, 0x00, 0x90, 60, 64, 0x60, 0x80, 60, 0, EOT);
    begin_chunk(&b, "junk");
    B(&b, 0x90, 0x90, 0x90);
    end_chunk(&b);
    TRACK(&b, 0x60, 0x90, 62, 64, 0x60, 0x80, 62, 0, EOT);
    /* trailing bytes that look like a chunk too long for the file, then padding */
    B(&b, 'M', 'T', 'r', 'x', 0x7f, 0xff, 0xff, 0xff, 0, 0);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 2);
    check_note(&m.notes[0], 0, 0.5, 60, 64, 0, 0);
    check_note(&m.notes[1], 0.5, 1.0, 62, 64, 0, 1);
    wf_midi_free(&m);

    buf c = {0}; /* fewer than 8 bytes after the last track */
    header(&c, 0, 1, 96);
    TRACK(&c, 0x00, 0x90, 60, 64, EOT);
    B(&c, 0, 0, 0);
    m = parse_ok(c.b, c.n);
    assert_int_equal(m.n, 1);
    wf_midi_free(&m);
}

/* ---- errors ---- */

/* A header for format 0 with one track, ppq 96, then one track of the given
 * events (its events start at byte 22). */
#define ONE_TRACK(b, ...)                                                                      \
    do {                                                                                       \
        header((b), 0, 1, 96);                                                                 \
        TRACK((b), __VA_ARGS__);                                                               \
    } while (0)

static void test_errors(void **state)
{
    (void)state;
    expect_error((const unsigned char *)"", 0, "t.mid: byte 0: not a Standard MIDI File (no MThd header)");
    expect_error((const unsigned char *)"RIFF\0\0\0\0RMID", 12,
                 "t.mid: byte 0: not a Standard MIDI File (no MThd header)");
    expect_error((const unsigned char *)"MThd\0\0\0\6\0\0\0", 11,
                 "t.mid: byte 0: truncated MThd header (it declares 6 bytes, 3 remain)");
    expect_error((const unsigned char *)"MThd\0\0\0\4\0\0\0\1", 12,
                 "t.mid: byte 4: an MThd header of 4 bytes (at least 6)");

    buf b = {0};
    header(&b, 2, 1, 96);
    expect_error(b.b, b.n,
                 "t.mid: byte 8: format 2 (independent sequences) is not supported, only formats 0 and 1");
    b = (buf){0};
    header(&b, 3, 1, 96);
    expect_error(b.b, b.n, "t.mid: byte 8: unknown SMF format 3");
    b = (buf){0};
    header(&b, 0, 1, 0);
    expect_error(b.b, b.n, "t.mid: byte 12: a division of 0 ticks per quarter note");
    b = (buf){0};
    header(&b, 0, 1, 0xe628);
    expect_error(b.b, b.n,
                 "t.mid: byte 12: an SMPTE division of 26 frames per second (24, 25, 29 or 30)");
    b = (buf){0};
    header(&b, 0, 1, 0xe700);
    expect_error(b.b, b.n, "t.mid: byte 13: an SMPTE division of 0 ticks per frame");

    /* the second track declares 500 bytes and 230 follow */
    b = (buf){0};
    header(&b, 1, 2, 96);
    TRACK(&b, 0x00, 0x90, 60, 64, EOT); /* bytes 14..29 */
    B(&b, 'M', 'T', 'r', 'k', 0, 0, 0x01, 0xf4);
    for (int i = 0; i < 230; i++)
        B(&b, 0);
    expect_error(b.b, b.n,
                 "t.mid: byte 30: truncated track 2 (the MTrk header declares 500 bytes, 230 remain)");
    b.n = 30 + 5;
    expect_error(b.b, b.n, "t.mid: byte 35: the MThd header declares 2 tracks, the file ends after 1");
    b.n = 30;
    expect_error(b.b, b.n, "t.mid: byte 30: the MThd header declares 2 tracks, the file ends after 1");

    b = (buf){0};
    header(&b, 0, 1, 96);
    B(&b, 'X', 'F', 'I', 'H', 0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    expect_error(b.b, b.n, "t.mid: byte 14: truncated chunk (its header declares 100 bytes, 10 remain)");

    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0x90, 60, 64, 0x81, 0x81, 0x81, 0x81, 0x00, 0x80, 60, 0);
    expect_error(b.b, b.n, "t.mid: byte 26: a variable-length number longer than 4 bytes");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0x7f);
    expect_error(b.b, b.n, "t.mid: byte 25: a variable-length number longer than 4 bytes");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 60, 64);
    expect_error(b.b, b.n, "t.mid: byte 23: running status with no previous status byte");
    b = (buf){0}; /* running status does not carry over from one track to the next */
    header(&b, 1, 2, 96);
    TRACK(&b, 0x00, 0x90, 60, 64, EOT);
    TRACK(&b, 0x00, 60, 0);
    expect_error(b.b, b.n, "t.mid: byte 39: running status with no previous status byte");

    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0x90, 60);
    expect_error(b.b, b.n, "t.mid: byte 22: truncated note-on in track 1 (its chunk ends at byte 25)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0x90, 60, 64, 0x81);
    expect_error(b.b, b.n, "t.mid: byte 26: truncated event in track 1 (its chunk ends at byte 27)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0x90, 60, 64, 0x10);
    expect_error(b.b, b.n, "t.mid: byte 26: truncated event in track 1 (its chunk ends at byte 27)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xff, 0x01, 5, 'a', 'b');
    expect_error(b.b, b.n, "t.mid: byte 22: truncated meta event in track 1 (its chunk ends at byte 28)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xff);
    expect_error(b.b, b.n, "t.mid: byte 22: truncated meta event in track 1 (its chunk ends at byte 24)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xf0, 0x10, 1, 2, 3);
    expect_error(b.b, b.n, "t.mid: byte 22: truncated sysex event in track 1 (its chunk ends at byte 28)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xc0);
    expect_error(b.b, b.n,
                 "t.mid: byte 22: truncated program change in track 1 (its chunk ends at byte 24)");

    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0x90, 60, 0x90, 60, 64);
    expect_error(b.b, b.n,
                 "t.mid: byte 25: status byte 0x90 inside a note-on (data bytes are below 0x80)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xf2, 0, 0);
    expect_error(b.b, b.n, "t.mid: byte 23: status byte 0xf2 is not allowed in a MIDI file");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xff, 0x51, 2, 0x07, 0xa1);
    expect_error(b.b, b.n, "t.mid: byte 22: a set-tempo event of 2 bytes (3 expected)");
    b = (buf){0};
    ONE_TRACK(&b, 0x00, 0xff, 0x51, 3, 0, 0, 0);
    expect_error(b.b, b.n, "t.mid: byte 22: a tempo of 0 microseconds per quarter note");

    wf_diags d = {0};
    wf_midi m;
    assert_int_equal(wf_midi_load("/nonexistent/song.mid", &m, &d), -1);
    assert_string_equal(d.v[0].msg, "/nonexistent/song.mid: No such file or directory");
    assert_null(m.notes);
    wf_diags_free(&d);
}

/* A file using every feature, for the robustness tests. */
static void rich_file(buf *b)
{
    header(b, 1, 2, 96);
    TRACK(b, 0x00, 0xff, 0x51, 3, 0x07, 0xa1, 0x20, 0x00, 0xf0, 3, 1, 2, 0xf7,
          0x60, 0xff, 0x51, 3, 0x03, 0xd0, 0x90, 0x00, 0xb0, 64, 127, 0x81, 0x00, 0xb0, 64, 0,
          EOT);
    TRACK(b, 0x00, 0x90, 60, 64, 0x00, 64, 70, 0x00, 0x91, 67, 90, 0x30, 0x80, 60, 0,
          0x10, 0xff, 0x01, 2, 'h', 'i', 0x20, 0x90, 64, 0, 0x00, 72, 100, 0x00, 0xc1, 3,
          0x83, 0x00, 0x81, 67, 0, 0x00, 0x90, 72, 0, EOT);
}

static int offset_of(const char *msg)
{
    const char *p = strstr(msg, ": byte ");
    assert_non_null(p);
    assert_true(p == msg + 5); /* right after "t.mid" */
    return atoi(p + 7);
}

/* What parses is well formed, and voices and frames can be made of it. */
static void use(const wf_midi *m)
{
    for (int i = 0; i < m->n; i++) {
        const wf_note *n = &m->notes[i];
        assert_true(n->on >= 0 && n->off >= n->on && n->off <= m->end);
        assert_true(n->key >= 0 && n->key <= 127 && n->vel >= 1 && n->vel <= 127);
        assert_true(n->chan >= 0 && n->chan <= 15);
        if (i)
            assert_true(m->notes[i - 1].on <= n->on);
    }
    int *voice = wf_xmalloc(sizeof(int) * (size_t)(m->n + 1));
    int nv = wf_midi_voices(m, 0.1, 3, voice, NULL);
    assert_true(nv >= 1 && nv <= 3);
    int64_t frames = 50;
    wf_real *out = wf_xmalloc(sizeof(wf_real) * (size_t)(nv * frames * WF_MIDI_FIELDS));
    wf_midi_render(m, voice, nv, 20, frames, out);
    free(out);
    free(voice);
}

static void test_truncations(void **state)
{
    (void)state;
    buf b = {0};
    rich_file(&b);
    wf_midi m = parse_ok(b.b, b.n);
    assert_int_equal(m.n, 4);
    use(&m);
    wf_midi_free(&m);
    for (size_t len = 0; len < b.n; len++) {
        wf_diags d = {0};
        unsigned char *copy = wf_xmalloc(len + 1); /* exactly len bytes for ASan */
        memcpy(copy, b.b, len);
        assert_int_equal(wf_midi_parse("t.mid", copy, len, &m, &d), -1);
        assert_int_equal(d.errors, 1);
        assert_true(offset_of(d.v[0].msg) <= (int)len);
        wf_diags_free(&d);
        free(copy);
    }
}

static void test_corruptions(void **state)
{
    (void)state;
    buf b = {0};
    rich_file(&b);
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 5000; iter++) {
        unsigned char *copy = wf_xmalloc(b.n);
        memcpy(copy, b.b, b.n);
        int flips = 1 + iter % 3;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = (seed >> 8) % b.n;
            seed = seed * 1664525u + 1013904223u;
            copy[at] ^= (unsigned char)(1 + (seed >> 24) % 255);
        }
        wf_diags d = {0};
        wf_midi m;
        if (wf_midi_parse("t.mid", copy, b.n, &m, &d) == 0) {
            use(&m);
            wf_midi_free(&m);
            ok++;
        } else {
            assert_true(offset_of(d.v[0].msg) <= (int)b.n);
            bad++;
        }
        wf_diags_free(&d);
        free(copy);
    }
    /* both outcomes are exercised */
    assert_true(ok > 500);
    assert_true(bad > 500);
}

/* ---- voices ---- */

static wf_midi make(const wf_note *notes, int n)
{
    wf_midi m = {wf_xmalloc(sizeof(wf_note) * (size_t)(n + 1)), n, 0};
    if (n)
        memcpy(m.notes, notes, sizeof(wf_note) * (size_t)n);
    for (int i = 0; i < n; i++)
        if (notes[i].off > m.end)
            m.end = notes[i].off;
    return m;
}

static void expect_voices(const wf_note *notes, int n, double release, int cap, int want_nv,
                          const int *want_voice, int want_stolen)
{
    wf_midi m = make(notes, n);
    int voice[16], stolen = -1;
    assert_int_equal(wf_midi_voices(&m, release, cap, voice, &stolen), want_nv);
    for (int i = 0; i < n; i++)
        assert_int_equal(voice[i], want_voice[i]);
    assert_int_equal(stolen, want_stolen);
    wf_midi_free(&m);
}

static void test_voices(void **state)
{
    (void)state;
    expect_voices(NULL, 0, 0, 0, 1, NULL, 0);

    const wf_note chord[] = {{0, 1, 60, 64, 0, 0}, {0, 1, 64, 64, 0, 0}, {0, 1, 67, 64, 0, 0}};
    expect_voices(chord, 3, 0, 0, 3, (int[]){0, 1, 2}, 0);
    expect_voices(chord, 3, 0, 8, 3, (int[]){0, 1, 2}, 0); /* a cap above the need */

    const wf_note blips[] = {{0, 0, 60, 64, 0, 0}, {0, 0, 64, 64, 0, 0}, {0.5, 0.5, 60, 64, 0, 0}};
    expect_voices(blips, 3, 0, 0, 2, (int[]){0, 1, 0}, 0); /* starting together: 2 voices */

    /* reused once the tail is over, not before */
    const wf_note seq[] = {{0, 1, 60, 64, 0, 0}, {1.25, 2, 62, 64, 0, 0}};
    expect_voices(seq, 2, 0.25, 0, 1, (int[]){0, 0}, 0);
    expect_voices(seq, 2, 0.5, 0, 2, (int[]){0, 1}, 0);

    /* the voice free longest is taken */
    const wf_note lru[] = {{0, 1, 60, 64, 0, 0}, {0, 2, 62, 64, 0, 0}, {0.5, 3, 64, 64, 0, 0},
                           {2.5, 3, 65, 64, 0, 0}, {2.6, 3, 67, 64, 0, 0}};
    expect_voices(lru, 5, 0, 0, 3, (int[]){0, 1, 2, 0, 1}, 0);

    /* the count is the most notes sounding at once, tails included */
    const wf_note tails[] = {{0, 1, 60, 64, 0, 0}, {0.5, 1.5, 62, 64, 0, 0}, {1.2, 2, 64, 64, 0, 0}};
    expect_voices(tails, 3, 0.3, 0, 3, (int[]){0, 1, 2}, 0);
    expect_voices(tails, 3, 0, 0, 2, (int[]){0, 1, 0}, 0);

    /* a capped chord: the fourth note steals the oldest (all equal: the lowest) */
    const wf_note four[] = {{0, 2, 60, 64, 0, 0}, {0, 2, 64, 64, 0, 0}, {0, 2, 67, 64, 0, 0},
                            {0, 2, 72, 64, 0, 0}};
    expect_voices(four, 4, 0, 3, 3, (int[]){0, 1, 2, 0}, 1);

    /* a voice only in its release tail goes first; then the oldest note's */
    const wf_note steal[] = {{0, 2, 48, 64, 0, 0}, {0.5, 2, 52, 64, 0, 0}, {1, 1.2, 55, 64, 0, 0},
                             {1.3, 2, 60, 64, 0, 0}, {1.5, 2, 64, 64, 0, 0}};
    expect_voices(steal, 5, 0.5, 3, 3, (int[]){0, 1, 2, 2, 0}, 2);
}

/* ---- rendering ---- */

typedef struct frames {
    int nv;
    int64_t n;
    wf_real *v;
} frames;

static frames render(const wf_note *notes, int n, const int *voice, int nv, double rate,
                     int64_t nframes)
{
    wf_midi m = make(notes, n);
    frames f = {nv, nframes, wf_xmalloc(sizeof(wf_real) * (size_t)(nv * nframes * WF_MIDI_FIELDS))};
    for (size_t i = 0; i < (size_t)(nv * nframes * WF_MIDI_FIELDS); i++)
        f.v[i] = -1; /* every value must be written */
    wf_midi_render(&m, voice, nv, rate, nframes, f.v);
    wf_midi_free(&m);
    return f;
}

static double at(const frames *f, int v, int64_t i, int field)
{
    return f->v[((size_t)v * (size_t)f->n + (size_t)i) * WF_MIDI_FIELDS + field];
}

/* One voice's frames against a gate and onset pattern ('1'/'0' a frame) and
 * the keys and velocities each frame should carry. */
static void expect_frames(const frames *f, int v, const char *gate, const char *onset,
                          const int *key, const int *vel)
{
    for (int64_t i = 0; i < f->n; i++) {
        double want_freq = 440 * pow(2, (key[i] - 69) / 12.0);
        if (at(f, v, i, WF_MIDI_GATE) != gate[i] - '0' || at(f, v, i, WF_MIDI_ONSET) != onset[i] - '0' ||
            fabs(at(f, v, i, WF_MIDI_FREQ) - want_freq) > 1e-4 * want_freq ||
            fabs(at(f, v, i, WF_MIDI_VEL) - vel[i] / 127.0) > 1e-6) {
            print_error("voice %d frame %d: gate %g onset %g freq %g vel %g; want %c %c %g %g\n", v,
                        (int)i, at(f, v, i, WF_MIDI_GATE), at(f, v, i, WF_MIDI_ONSET),
                        at(f, v, i, WF_MIDI_FREQ), at(f, v, i, WF_MIDI_VEL), gate[i], onset[i],
                        want_freq, vel[i] / 127.0);
            fail();
        }
    }
}

static void test_render(void **state)
{
    (void)state;
    /* frames of 1/8 s; back-to-back notes on one voice: a gap before the second */
    const wf_note two[] = {{0.25, 0.625, 69, 127, 0, 0}, {0.625, 1.0, 81, 64, 0, 0}};
    frames f = render(two, 2, (int[]){0, 0}, 1, 8, 12);
    expect_frames(&f, 0, "001101110000", "001001000000",
                  (int[]){69, 69, 69, 69, 69, 81, 81, 81, 81, 81, 81, 81},
                  (int[]){127, 127, 127, 127, 127, 64, 64, 64, 64, 64, 64, 64});
    free(f.v);

    /* a stolen voice: the held note is cut a frame before the new one */
    const wf_note stolen[] = {{0, 1, 60, 100, 0, 0}, {0.5, 0.75, 72, 50, 0, 0}};
    f = render(stolen, 2, (int[]){0, 0}, 2, 8, 8);
    expect_frames(&f, 0, "11101100", "10001000", (int[]){60, 60, 60, 60, 72, 72, 72, 72},
                  (int[]){100, 100, 100, 100, 50, 50, 50, 50});
    for (int64_t i = 0; i < 8; i++) /* a voice without notes */
        for (int k = 0; k < WF_MIDI_FIELDS; k++)
            assert_true(at(&f, 1, i, k) == 0);
    free(f.v);

    /* shorter than a frame: gate in its onset frame; the next starting in the
     * frame after: no gap, each keeps its frame */
    const wf_note blips[] = {{0.25, 0.26, 60, 10, 0, 0}, {0.375, 0.5, 62, 20, 0, 0}};
    f = render(blips, 2, (int[]){0, 0}, 1, 8, 6);
    expect_frames(&f, 0, "001100", "001100", (int[]){60, 60, 60, 62, 62, 62},
                  (int[]){10, 10, 10, 20, 20, 20});
    free(f.v);

    /* two notes starting in the same frame of a voice: the later one wins */
    const wf_note same[] = {{0.26, 0.27, 60, 10, 0, 0}, {0.3, 0.5, 72, 20, 0, 0}};
    f = render(same, 2, (int[]){0, 0}, 1, 8, 6);
    expect_frames(&f, 0, "000100", "000100", (int[]){60, 60, 60, 72, 72, 72},
                  (int[]){10, 10, 10, 20, 20, 20});
    free(f.v);

    /* a note after the last frame still sets the voice's freq */
    const wf_note late[] = {{2, 3, 57, 30, 0, 0}};
    f = render(late, 1, (int[]){0}, 1, 8, 4);
    expect_frames(&f, 0, "0000", "0000", (int[]){57, 57, 57, 57}, (int[]){30, 30, 30, 30});
    free(f.v);

    /* times an ulp past a frame's time fall on it: 1.1 x 100 is 110.00000000000001 */
    const wf_note ulp[] = {{1.1, 1.3, 60, 64, 0, 0}};
    f = render(ulp, 1, (int[]){0}, 1, 100, 150);
    assert_true(at(&f, 0, 109, WF_MIDI_GATE) == 0 && at(&f, 0, 110, WF_MIDI_GATE) == 1);
    assert_true(at(&f, 0, 110, WF_MIDI_ONSET) == 1 && at(&f, 0, 111, WF_MIDI_ONSET) == 0);
    assert_true(at(&f, 0, 129, WF_MIDI_GATE) == 1 && at(&f, 0, 130, WF_MIDI_GATE) == 0);
    free(f.v);
}

/* ---- names, the writer, the example ---- */

static void test_key_names(void **state)
{
    (void)state;
    assert_int_equal(wf_midi_key("c4"), 60);
    assert_int_equal(wf_midi_key("C4"), 60);
    assert_int_equal(wf_midi_key("a4"), 69);
    assert_int_equal(wf_midi_key("f#3"), 54);
    assert_int_equal(wf_midi_key("eb5"), 75);
    assert_int_equal(wf_midi_key("bb3"), 58);
    assert_int_equal(wf_midi_key("b3"), 59);
    assert_int_equal(wf_midi_key("C-1"), 0);
    assert_int_equal(wf_midi_key("g9"), 127);
    assert_int_equal(wf_midi_key("e#4"), 65);
    const char *bad[] = {"", "h4", "c", "cb-1", "g#9", "a9", "c10", "c-2", "c4 ", "c##4", "4", "cb"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (wf_midi_key(bad[i]) != -1) {
            print_error("\"%s\" read as %d\n", bad[i], wf_midi_key(bad[i]));
            fail();
        }
}

static void test_encode(void **state)
{
    (void)state;
    unsigned char *bytes;
    size_t len;
    /* the exact bytes of a small file: running status is not used across statuses */
    const wf_note one[] = {{0, 0.5, 60, 100, 0, 0}};
    assert_int_equal(wf_midi_encode(one, 1, 96, 120, &bytes, &len), 0);
    const unsigned char want[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0, 96,
                                  'M', 'T', 'r', 'k', 0, 0, 0, 19,
                                  0x00, 0xff, 0x51, 3, 0x07, 0xa1, 0x20,
                                  0x00, 0x90, 60, 100, 0x60, 0x80, 60, 64, EOT};
    assert_int_equal(len, sizeof want);
    assert_memory_equal(bytes, want, sizeof want);
    free(bytes);

    /* a chord uses running status */
    const wf_note chord[] = {{0, 0.5, 60, 100, 0, 0}, {0, 0.5, 64, 100, 0, 0}};
    assert_int_equal(wf_midi_encode(chord, 2, 96, 120, &bytes, &len), 0);
    const unsigned char chord_on[] = {0x00, 0x90, 60, 100, 0x00, 64, 100, 0x60, 0x80, 60, 64, 0x00, 64, 64};
    assert_memory_equal(bytes + 29, chord_on, sizeof chord_on);
    free(bytes);

    /* round trips: three tracks (format 1), back-to-back notes of one key, a
     * zero-length note, channels; times on the tick grid come back exact */
    const wf_note notes[] = {
        {0, 0.5, 60, 100, 0, 0},    {0, 0.25, 36, 1, 9, 2},      {0.5, 1, 60, 90, 0, 0},
        {0.5, 0.5, 62, 127, 1, 1},  {0.75, 1.5, 64, 50, 15, 1}, {1.125, 2, 127, 70, 0, 2},
    };
    int n = (int)(sizeof notes / sizeof *notes);
    assert_int_equal(wf_midi_encode(notes, n, 480, 120, &bytes, &len), 0);
    assert_int_equal(bytes[9], 1);  /* format 1 */
    assert_int_equal(bytes[11], 3); /* tracks */
    wf_midi m = parse_ok(bytes, len);
    free(bytes);
    assert_int_equal(m.n, n);
    const int order[] = {1, 0, 2, 3, 4, 5}; /* by onset, then key */
    for (int i = 0; i < n; i++) {
        const wf_note *w = &notes[order[i]];
        check_note(&m.notes[i], w->on, w->off, w->key, w->vel, w->chan, w->track);
    }
    assert_exact(m.end, 2);
    wf_midi_free(&m);

    /* at another tempo and resolution, times round to the nearest tick */
    const wf_note odd[] = {{0.1, 0.7, 69, 64, 0, 0}};
    assert_int_equal(wf_midi_encode(odd, 1, 96, 100, &bytes, &len), 0);
    m = parse_ok(bytes, len);
    free(bytes);
    assert_close(m.notes[0].on, 0.1, 0, 0.6 / 96 / 2);
    assert_close(m.notes[0].off, 0.7, 0, 0.6 / 96 / 2);
    wf_midi_free(&m);

    /* out of range */
    const wf_note bad[] = {{0, 1, 128, 64, 0, 0}, {0, 1, 60, 0, 0, 0}, {0, 1, 60, 128, 0, 0},
                           {0, 1, 60, 64, 16, 0}, {0, 1, 60, 64, 0, -1}, {1, 0.5, 60, 64, 0, 0},
                           {-1, 1, 60, 64, 0, 0}, {0, 1e9, 60, 64, 0, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(wf_midi_encode(&bad[i], 1, 96, 120, &bytes, &len), -1);
    assert_int_equal(wf_midi_encode(one, 1, 0, 120, &bytes, &len), -1);
    assert_int_equal(wf_midi_encode(one, 1, 0x8000, 120, &bytes, &len), -1);
    assert_int_equal(wf_midi_encode(one, 1, 96, 0, &bytes, &len), -1);
    assert_int_equal(wf_midi_encode(one, 1, 96, 3, &bytes, &len), -1); /* 20 s a quarter */

    /* no notes: a valid file with an empty track */
    assert_int_equal(wf_midi_encode(NULL, 0, 96, 120, &bytes, &len), 0);
    m = parse_ok(bytes, len);
    free(bytes);
    assert_int_equal(m.n, 0);
    wf_midi_free(&m);
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/weft-midi-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const wf_note notes[] = {{0.5, 1, 60, 100, 3, 0}};
    unsigned char *bytes;
    size_t len;
    assert_int_equal(wf_midi_encode(notes, 1, 96, 120, &bytes, &len), 0);
    assert_int_equal(wf_write_file_atomic(path, bytes, len), 0);
    free(bytes);
    wf_diags d = {0};
    wf_midi m;
    assert_int_equal(wf_midi_load(path, &m, &d), 0);
    assert_int_equal(m.n, 1);
    check_note(&m.notes[0], 0.5, 1, 60, 100, 3, 0);
    wf_midi_free(&m);
    /* errors name the file as given */
    assert_int_equal(wf_write_file_atomic(path, "MThd", 4), 0);
    assert_int_equal(wf_midi_load(path, &m, &d), -1);
    char want[128];
    snprintf(want, sizeof want, "%s: byte 0: not a Standard MIDI File (no MThd header)", path);
    assert_string_equal(d.v[0].msg, want);
    wf_diags_free(&d);
    unlink(path);
}

/* examples/chords.mid: four chords in 3 s, four voices at the overlaps. */
static void test_example(void **state)
{
    (void)state;
    wf_diags d = {0};
    wf_midi m;
    assert_int_equal(wf_midi_load(WF_SOURCE_DIR "/examples/chords.mid", &m, &d), 0);
    assert_int_equal(m.n, 8);
    assert_exact(m.end, 3);
    int voice[8], vels = 0;
    assert_int_equal(wf_midi_voices(&m, 0, 0, voice, NULL), 4);
    for (int i = 0; i < m.n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= m.notes[j].vel == m.notes[i].vel;
        vels += !seen;
    }
    assert_true(vels >= 6);
    /* at 100 frames a second, the gates add up to the notes sounding */
    int64_t nframes = 300;
    wf_real *out = wf_xmalloc(sizeof(wf_real) * 4 * (size_t)nframes * WF_MIDI_FIELDS);
    wf_midi_render(&m, voice, 4, 100, nframes, out);
    int most = 0;
    for (int64_t i = 0; i < nframes; i++) {
        int gates = 0;
        for (int v = 0; v < 4; v++)
            gates += out[((size_t)v * (size_t)nframes + (size_t)i) * WF_MIDI_FIELDS + WF_MIDI_GATE] == 1;
        most = gates > most ? gates : most;
    }
    assert_int_equal(most, 4);
    free(out);
    wf_midi_free(&m);
    wf_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_status),
        cmocka_unit_test(test_tempo_changes),
        cmocka_unit_test(test_format1),
        cmocka_unit_test(test_smpte),
        cmocka_unit_test(test_overlaps_and_held_notes),
        cmocka_unit_test(test_sustain_pedal),
        cmocka_unit_test(test_skipped_events),
        cmocka_unit_test(test_unknown_chunks),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_corruptions),
        cmocka_unit_test(test_voices),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
