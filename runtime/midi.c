/* Standard MIDI Files: the reader (chunks, events, the tempo map, pairing
 * note-ons with note-offs under the sustain pedal), voice allocation, the
 * rendering of voices to control frames, note names, and the writer.
 *
 * Our own reader rather than libsmf (Debian's libsmf-dev 1.3): libsmf is
 * orphaned upstream since 2010, pulls in glib, and reports a malformed file
 * through g_critical without a byte offset, while weft must name the file and
 * the byte of every error and never crash on a bad file. Reading SMF is a few
 * hundred lines, and libsmf would still leave us the note pairing, the pedal
 * and the voices, which are most of this file. */
#include "runtime/midi.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

/* ---- reading ---- */

enum { EV_ON, EV_OFF, EV_PEDAL, EV_TEMPO };

/* The events that matter, of every track, kept track after track in file
 * order, so an event's index orders events of the same tick. */
typedef struct event {
    uint64_t tick;
    uint32_t tempo; /* EV_TEMPO: microseconds per quarter note */
    unsigned char kind, chan, key, vel; /* EV_PEDAL: vel is 1 down, 0 up */
} event;

typedef struct track {
    size_t first, last; /* its events */
    uint64_t end;       /* tick of its end-of-track, or of its last event */
} track;

typedef struct reader {
    const char *name;
    const unsigned char *p;
    wf_diags *d;
    event *ev;
    size_t nev, evcap;
    track *tr;
    int ntr, trcap;
} reader;

/* Reports the error of code id at byte off of the file (the arguments after
 * off are the rest of the code's) and gives -1, for `return FAIL(...)`. */
#define FAIL(id, r, ...) (wf_report_##id((r)->d, WF_NOWHERE, NULL, (r)->name, __VA_ARGS__), -1)

static int truncated(reader *r, size_t at, const char *what, int tr, size_t end)
{
    return FAIL(midi_truncated_event, r, at, what, tr + 1, end);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static void push(reader *r, event e)
{
    if (r->nev == r->evcap) {
        r->evcap = r->evcap ? 2 * r->evcap : 256;
        r->ev = wf_xrealloc(r->ev, r->evcap * sizeof *r->ev);
    }
    r->ev[r->nev++] = e;
}

/* A variable-length quantity at *pos, which `what` is part of. */
static int read_vlq(reader *r, size_t *pos, size_t end, int tr, size_t at, const char *what,
                    uint32_t *v)
{
    size_t start = *pos;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= end)
            return truncated(r, at, what, tr, end);
        unsigned char b = r->p[(*pos)++];
        x = x << 7 | (b & 0x7f);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return FAIL(midi_long_number, r, start);
}

static const char *const channel_msg[] = {"note-off",       "note-on",      "key pressure",
                                          "control change", "program change", "channel pressure",
                                          "pitch bend"};

/* The events of the MTrk chunk whose data is [pos, end). Running status
 * survives sysex and meta events: the standard cancels it there, but files
 * relying on it exist and a conforming file never tells the difference. */
static int read_track(reader *r, size_t pos, size_t end, int tr)
{
    uint64_t tick = 0;
    unsigned status = 0;
    size_t first = r->nev;
    while (pos < end) {
        size_t at = pos;
        uint32_t delta = 0, n = 0;
        if (read_vlq(r, &pos, end, tr, at, "event", &delta))
            return -1;
        tick += delta;
        if (pos >= end)
            return truncated(r, at, "event", tr, end);
        unsigned b = r->p[pos];
        if (b & 0x80)
            pos++;
        else if (!status)
            return FAIL(midi_no_running_status, r, pos);
        else
            b = status;

        if (b < 0xf0) {
            status = b;
            const char *what = channel_msg[(b >> 4) - 8];
            unsigned char data[2] = {0, 0};
            int ndata = (b & 0xe0) == 0xc0 ? 1 : 2; /* program change, channel pressure */
            for (int i = 0; i < ndata; i++) {
                if (pos >= end)
                    return truncated(r, at, what, tr, end);
                if (r->p[pos] & 0x80)
                    return FAIL(midi_status_in_data, r, pos, r->p[pos], what);
                data[i] = r->p[pos++];
            }
            event e = {.tick = tick, .chan = b & 0x0f, .key = data[0], .vel = data[1]};
            switch (b & 0xf0) {
            case 0x90:
                e.kind = data[1] ? EV_ON : EV_OFF;
                push(r, e);
                break;
            case 0x80:
                e.kind = EV_OFF;
                push(r, e);
                break;
            case 0xb0:
                if (data[0] == 64) {
                    e.kind = EV_PEDAL;
                    e.vel = data[1] >= 64;
                    push(r, e);
                }
                break;
            }
        } else if (b == 0xf0 || b == 0xf7) {
            if (read_vlq(r, &pos, end, tr, at, "sysex event", &n))
                return -1;
            if (n > end - pos)
                return truncated(r, at, "sysex event", tr, end);
            pos += n;
        } else if (b == 0xff) {
            if (pos >= end)
                return truncated(r, at, "meta event", tr, end);
            unsigned type = r->p[pos++];
            if (read_vlq(r, &pos, end, tr, at, "meta event", &n))
                return -1;
            if (n > end - pos)
                return truncated(r, at, "meta event", tr, end);
            if (type == 0x2f)
                break; /* what follows end-of-track in its chunk is ignored */
            if (type == 0x51) {
                if (n < 3)
                    return FAIL(midi_tempo_size, r, at, n);
                uint32_t us = (uint32_t)r->p[pos] << 16 | (uint32_t)r->p[pos + 1] << 8 |
                              r->p[pos + 2];
                if (!us)
                    return FAIL(midi_zero_tempo, r, at);
                push(r, (event){.tick = tick, .tempo = us, .kind = EV_TEMPO});
            }
            pos += n;
        } else {
            /* System common and real-time messages have no place in a file,
             * and their lengths are unknown there. */
            return FAIL(midi_bad_status, r, pos - 1, b);
        }
    }
    if (r->ntr == r->trcap) {
        r->trcap = r->trcap ? 2 * r->trcap : 16;
        r->tr = wf_xrealloc(r->tr, (size_t)r->trcap * sizeof *r->tr);
    }
    r->tr[r->ntr++] = (track){first, r->nev, tick};
    return 0;
}

/* ---- time ---- */

typedef struct segment {
    uint64_t tick;
    double sec;
    uint32_t tempo;
} segment;

/* Ticks to seconds: by the tempo map with a division in ticks per quarter
 * note, or at a fixed rate (num / den seconds a tick) with an SMPTE one. */
typedef struct clock {
    segment *seg;
    size_t nseg;
    unsigned ppq;
    double num, den;
} clock;

static double seconds(const clock *c, uint64_t tick)
{
    if (!c->ppq)
        return (double)tick * c->num / c->den;
    size_t lo = 0, hi = c->nseg; /* the last segment starting at or before tick */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->seg[mid].tick <= tick)
            lo = mid;
        else
            hi = mid;
    }
    const segment *s = &c->seg[lo];
    /* (ticks x microseconds) is exact in a double for any real file, so
     * times on the tick grid come out exact when they can be. */
    return s->sec + (double)(tick - s->tick) * s->tempo / (1e6 * c->ppq);
}

/* An event by its time (with the channel for grouping the pedal's). */
typedef struct ref {
    uint64_t tick;
    size_t idx;
    int chan;
} ref;

static int ref_cmp(uint64_t ta, size_t ia, uint64_t tb, size_t ib)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

static int by_ref(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    if (x->chan != y->chan)
        return x->chan - y->chan;
    return ref_cmp(x->tick, x->idx, y->tick, y->idx);
}

/* Every tempo event of every track, in time order; 120 bpm before the first. */
static void tempo_map(const reader *r, clock *c)
{
    ref *t = wf_xmalloc((r->nev + 1) * sizeof *t);
    size_t nt = 0;
    for (size_t i = 0; i < r->nev; i++)
        if (r->ev[i].kind == EV_TEMPO)
            t[nt++] = (ref){r->ev[i].tick, i, 0};
    qsort(t, nt, sizeof *t, by_ref);
    c->seg = wf_xmalloc((nt + 1) * sizeof *c->seg);
    c->seg[0] = (segment){0, 0, 500000};
    c->nseg = 1;
    for (size_t i = 0; i < nt; i++) {
        const event *e = &r->ev[t[i].idx];
        segment *last = &c->seg[c->nseg - 1];
        if (e->tick == last->tick) {
            last->tempo = e->tempo;
        } else {
            c->seg[c->nseg] = (segment){e->tick, seconds(c, e->tick), e->tempo};
            c->nseg++;
        }
    }
    free(t);
}

/* ---- the pedal ---- */

/* Where each channel's pedal goes down or up, across all tracks in time
 * order: at[first[c] .. first[c + 1]), alternately down and up. */
typedef struct pedals {
    ref *at;
    size_t first[17];
} pedals;

static void pedal_changes(const reader *r, pedals *pd)
{
    pd->at = wf_xmalloc((r->nev + 1) * sizeof *pd->at);
    size_t n = 0;
    for (size_t i = 0; i < r->nev; i++)
        if (r->ev[i].kind == EV_PEDAL)
            pd->at[n++] = (ref){r->ev[i].tick, i, r->ev[i].chan};
    qsort(pd->at, n, sizeof *pd->at, by_ref);
    /* keep the changes only */
    size_t k = 0, i = 0;
    for (int c = 0; c < 16; c++) {
        pd->first[c] = k;
        int down = 0;
        for (; i < n && pd->at[i].chan == c; i++)
            if (r->ev[pd->at[i].idx].vel != down) {
                down = !down;
                pd->at[k++] = pd->at[i];
            }
    }
    pd->first[16] = k;
}

/* Whether chan's pedal is down at event (tick, idx); if so *until is the
 * tick it is released at, UINT64_MAX if never. */
static int pedal_down(const pedals *pd, int chan, uint64_t tick, size_t idx, uint64_t *until)
{
    size_t lo = pd->first[chan], hi = pd->first[chan + 1], a = lo, b = hi;
    while (a < b) { /* the first change after the event */
        size_t mid = a + (b - a) / 2;
        if (ref_cmp(pd->at[mid].tick, pd->at[mid].idx, tick, idx) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    /* changes start with a press and alternate: an odd count before is down */
    if ((a - lo) % 2 == 0)
        return 0;
    *until = a < hi ? pd->at[a].tick : UINT64_MAX;
    return 1;
}

/* ---- notes ---- */

typedef struct tnote {
    uint64_t on, off;
    int key, vel, chan, track;
    int held; /* released under the pedal: off is already known */
} tnote;

/* Pairs note-ons with note-offs, track by track. */
static tnote *pair_notes(const reader *r, const pedals *pd, size_t *count)
{
    tnote *v = NULL;
    size_t n = 0, cap = 0;
    int open[16 * 128];
    for (int t = 0; t < r->ntr; t++) {
        const track *tr = &r->tr[t];
        for (int i = 0; i < 16 * 128; i++)
            open[i] = -1;
        for (size_t i = tr->first; i < tr->last; i++) {
            const event *e = &r->ev[i];
            if (e->kind != EV_ON && e->kind != EV_OFF)
                continue;
            int *slot = &open[e->chan * 128 + e->key];
            tnote *sounding = *slot >= 0 ? &v[*slot] : NULL;
            if (e->kind == EV_ON) {
                if (sounding && !(sounding->held && sounding->off < e->tick))
                    sounding->off = e->tick;
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    v = wf_xrealloc(v, cap * sizeof *v);
                }
                v[n] = (tnote){e->tick, tr->end, e->key, e->vel, e->chan, t, 0};
                *slot = (int)n++;
            } else if (sounding && !sounding->held) {
                uint64_t until;
                if (pedal_down(pd, e->chan, e->tick, i, &until)) {
                    sounding->off = until < tr->end ? until : tr->end;
                    sounding->held = 1;
                } else {
                    sounding->off = e->tick;
                    *slot = -1;
                }
            }
        }
        /* notes still sounding keep off = the track's end */
    }
    *count = n;
    return v;
}

static int by_onset(const void *a, const void *b)
{
    const wf_note *x = a, *y = b;
    if (x->on != y->on)
        return x->on < y->on ? -1 : 1;
    if (x->key != y->key)
        return x->key - y->key;
    if (x->chan != y->chan)
        return x->chan - y->chan;
    if (x->track != y->track)
        return x->track - y->track;
    return (x->off > y->off) - (x->off < y->off);
}

static int read_header(reader *r, size_t len, unsigned *ntracks, clock *c, size_t *pos)
{
    const unsigned char *p = r->p;
    if (len < 8 || memcmp(p, "MThd", 4))
        return FAIL(not_midi, r, 0);
    uint32_t hlen = be32(p + 4);
    if (hlen > len - 8)
        return FAIL(midi_truncated_header, r, 0, hlen, len - 8);
    if (hlen < 6)
        return FAIL(midi_short_header, r, 4, hlen);
    unsigned format = be16(p + 8), div = be16(p + 12);
    if (format == 2)
        return FAIL(midi_format_2, r, 8);
    if (format > 2)
        return FAIL(midi_unknown_format, r, 8, format);
    *ntracks = be16(p + 10);
    if (div & 0x8000) {
        int fps = -(int)(signed char)p[12], tpf = p[13];
        if (fps != 24 && fps != 25 && fps != 29 && fps != 30)
            return FAIL(midi_smpte_rate, r, 12, fps);
        if (!tpf)
            return FAIL(midi_smpte_ticks, r, 13);
        /* 29 stands for 30 drop-frame, 29.97 frames a second */
        c->num = fps == 29 ? 1001 : 1;
        c->den = fps == 29 ? 30000.0 * tpf : (double)fps * tpf;
    } else {
        if (!div)
            return FAIL(midi_zero_division, r, 12);
        c->ppq = div;
    }
    *pos = 8 + (size_t)hlen;
    return 0;
}

static int read_chunks(reader *r, size_t len, clock *c)
{
    unsigned ntracks = 0;
    size_t pos = 0;
    if (read_header(r, len, &ntracks, c, &pos))
        return -1;
    /* Chunks other than MTrk are skipped; so are bytes after the declared
     * tracks that do not make a whole chunk (padding, junk from transfers). */
    while (len - pos >= 8) {
        uint32_t clen = be32(r->p + pos + 4);
        int mtrk = !memcmp(r->p + pos, "MTrk", 4);
        if (clen > len - pos - 8) {
            if (mtrk)
                return FAIL(midi_truncated_track, r, pos, r->ntr + 1, clen, len - pos - 8);
            if ((unsigned)r->ntr >= ntracks)
                break;
            return FAIL(midi_truncated_chunk, r, pos, clen, len - pos - 8);
        }
        if (mtrk && read_track(r, pos + 8, pos + 8 + clen, r->ntr))
            return -1;
        pos += 8 + (size_t)clen;
    }
    if ((unsigned)r->ntr < ntracks)
        return FAIL(midi_missing_tracks, r, len, ntracks, r->ntr);
    return 0;
}

int wf_midi_parse(const char *name, const unsigned char *bytes, size_t len, wf_midi *m,
                  wf_diags *d)
{
    *m = (wf_midi){0};
    reader r = {.name = name, .p = bytes, .d = d};
    clock c = {0};
    int rc = read_chunks(&r, len, &c);
    if (!rc) {
        tempo_map(&r, &c);
        pedals pd;
        pedal_changes(&r, &pd);
        size_t n;
        tnote *tn = pair_notes(&r, &pd, &n);
        m->notes = wf_xmalloc((n ? n : 1) * sizeof *m->notes);
        for (size_t i = 0; i < n; i++)
            m->notes[i] = (wf_note){seconds(&c, tn[i].on), seconds(&c, tn[i].off), tn[i].key,
                                    tn[i].vel, tn[i].chan, tn[i].track};
        qsort(m->notes, n, sizeof *m->notes, by_onset);
        m->n = (int)n;
        for (int t = 0; t < r.ntr; t++) {
            double e = seconds(&c, r.tr[t].end);
            if (e > m->end)
                m->end = e;
        }
        free(tn);
        free(pd.at);
        free(c.seg);
    }
    free(r.ev);
    free(r.tr);
    return rc;
}

int wf_midi_load(const char *path, wf_midi *m, wf_diags *d)
{
    size_t len;
    char *bytes = wf_read_file(path, &len);
    if (!bytes) {
        *m = (wf_midi){0};
        wf_report_cannot_read_midi(d, WF_NOWHERE, NULL, path, strerror(errno));
        return -1;
    }
    int rc = wf_midi_parse(path, (const unsigned char *)bytes, len, m, d);
    free(bytes);
    return rc;
}

void wf_midi_free(wf_midi *m)
{
    free(m->notes);
    *m = (wf_midi){0};
}

/* ---- voices ---- */

typedef struct voice {
    double until; /* sounding before this time */
    int note;
    unsigned gen; /* counts assignments, so stale heap entries can be told */
} voice;

typedef struct entry {
    double until;
    int voice;
    unsigned gen;
} entry;

static int entry_less(const entry *a, const entry *b)
{
    return a->until < b->until || (a->until == b->until && a->voice < b->voice);
}

static void heap_push(entry *h, int *n, entry e)
{
    int i = (*n)++;
    while (i > 0 && entry_less(&e, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

static void heap_pop(entry *h, int *n)
{
    entry e = h[--*n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && entry_less(&h[c + 1], &h[c]))
            c++;
        if (!entry_less(&h[c], &e))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

/* The voice a note steals when all are sounding (see the header). */
static int victim(const wf_midi *m, const voice *v, int nv, double t)
{
    int best = 0;
    for (int i = 1; i < nv; i++) {
        const wf_note *a = &m->notes[v[i].note], *b = &m->notes[v[best].note];
        int a_tail = a->off <= t, b_tail = b->off <= t;
        if (a_tail != b_tail ? a_tail : a_tail ? a->off < b->off : a->on < b->on)
            best = i;
    }
    return best;
}

int wf_midi_voices(const wf_midi *m, double release, int max_voices, int *voice_of_note,
                   int *stolen)
{
    if (!(release > 0))
        release = 0;
    int cap = max_voices > 0 && max_voices < m->n ? max_voices : m->n;
    voice *v = wf_xmalloc((size_t)(cap ? cap : 1) * sizeof *v);
    entry *heap = wf_xmalloc((size_t)(m->n ? m->n : 1) * sizeof *heap);
    int nv = 0, nh = 0, steals = 0;
    for (int k = 0; k < m->n; k++) {
        const wf_note *note = &m->notes[k];
        while (nh && heap[0].gen != v[heap[0].voice].gen)
            heap_pop(heap, &nh);
        int i;
        if (nh && heap[0].until <= note->on) {
            i = heap[0].voice;
            heap_pop(heap, &nh);
        } else if (nv < cap) {
            i = nv++;
            v[i].gen = 0;
        } else {
            i = victim(m, v, nv, note->on);
            steals++;
        }
        v[i].note = k;
        v[i].until = fmax(note->off + release, nextafter(note->on, INFINITY));
        v[i].gen++;
        heap_push(heap, &nh, (entry){v[i].until, i, v[i].gen});
        voice_of_note[k] = i;
    }
    free(v);
    free(heap);
    if (stolen)
        *stolen = steals;
    return nv ? nv : 1;
}

/* ---- rendering ---- */

/* The first frame at or after time t, clamped to [0, nframes + 1]. Times
 * are off by an ulp or so (1.1 s x 100 Hz is 110.00000000000001), so a
 * millionth of a frame past a frame's time counts as on it. */
static int64_t frame_at(double t, double rate, int64_t nframes)
{
    double f = ceil(t * rate - 1e-6);
    if (!(f > 0))
        return 0;
    return f > (double)nframes + 1 ? nframes + 1 : (int64_t)f;
}

void wf_midi_render(const wf_midi *m, const int *voice_of_note, int nvoices, double frame_rate,
                    int64_t nframes, wf_real *out)
{
    memset(out, 0, (size_t)nvoices * (size_t)nframes * WF_MIDI_FIELDS * sizeof *out);
    int *next = wf_xmalloc((size_t)(m->n ? m->n : 1) * sizeof *next);
    int *first = wf_xmalloc((size_t)(nvoices ? nvoices : 1) * sizeof *first);
    for (int v = 0; v < nvoices; v++)
        first[v] = -1;
    for (int k = m->n - 1; k >= 0; k--) {
        next[k] = first[voice_of_note[k]];
        first[voice_of_note[k]] = k;
    }
    for (int k = 0; k < m->n; k++) {
        const wf_note *note = &m->notes[k];
        int v = voice_of_note[k];
        int64_t s = frame_at(note->on, frame_rate, nframes);
        int64_t e = frame_at(note->off, frame_rate, nframes);
        if (e < s + 1)
            e = s + 1;
        int64_t held = nframes; /* its freq and vel last until the next note */
        if (next[k] >= 0) {
            int64_t sn = frame_at(m->notes[next[k]].on, frame_rate, nframes);
            held = sn;
            if (e >= sn) /* the gap that retriggers the next note's envelope */
                e = sn - 1;
            if (e < s + 1) /* but a note keeps its onset frame if it can */
                e = s + 1 < sn ? s + 1 : sn;
        }
        if (held > nframes)
            held = nframes;
        if (e > nframes)
            e = nframes;
        wf_real freq = (wf_real)(440.0 * pow(2.0, (note->key - 69) / 12.0));
        wf_real vel = (wf_real)(note->vel / 127.0);
        wf_real *o = out + (size_t)v * (size_t)nframes * WF_MIDI_FIELDS;
        for (int64_t i = first[v] == k ? 0 : s; i < held; i++) {
            o[i * WF_MIDI_FIELDS + WF_MIDI_FREQ] = freq;
            o[i * WF_MIDI_FIELDS + WF_MIDI_VEL] = vel;
        }
        for (int64_t i = s; i < e; i++)
            o[i * WF_MIDI_FIELDS + WF_MIDI_GATE] = 1;
        if (s < nframes)
            o[s * WF_MIDI_FIELDS + WF_MIDI_ONSET] = 1;
    }
    free(next);
    free(first);
}

/* ---- note names ---- */

int wf_midi_key(const char *name)
{
    static const int pitch[7] = {9, 11, 0, 2, 4, 5, 7}; /* a..g */
    int c = name[0] | 0x20;
    if (c < 'a' || c > 'g')
        return -1;
    int key = pitch[c - 'a'];
    const char *p = name + 1;
    if (*p == '#' || (*p == 'b' && p[1])) /* "b" alone is no flat: "bb3", "b3" */
        key += *p++ == '#' ? 1 : -1;
    int octave;
    if (p[0] == '-' && p[1] == '1' && !p[2])
        octave = -1;
    else if (p[0] >= '0' && p[0] <= '9' && !p[1])
        octave = p[0] - '0';
    else
        return -1;
    key += 12 * (octave + 1);
    return key >= 0 && key <= 127 ? key : -1;
}

/* ---- writing ---- */

typedef struct wevent {
    uint32_t tick;
    int order; /* at a tick: note-offs, note-ons, then offs of zero-length notes */
    int note;
    unsigned char status, key, vel;
} wevent;

static int by_tick(const void *a, const void *b)
{
    const wevent *x = a, *y = b;
    if (x->tick != y->tick)
        return x->tick < y->tick ? -1 : 1;
    if (x->order != y->order)
        return x->order - y->order;
    return x->note - y->note;
}

static void put_vlq(wf_str *b, uint32_t v)
{
    unsigned char tmp[4];
    int n = 0;
    do
        tmp[n++] = v & 0x7f;
    while ((v >>= 7) && n < 4);
    while (n--)
        wf_str_putc(b, (char)(tmp[n] | (n ? 0x80 : 0)));
}

static void put_bytes(wf_str *b, const unsigned char *p, size_t n)
{
    wf_str_putn(b, (const char *)p, n);
}

static void put_track(wf_str *b, const wevent *ev, size_t n, uint32_t tempo, int with_tempo)
{
    put_bytes(b, (const unsigned char *)"MTrk\0\0\0\0", 8);
    size_t start = b->len;
    if (with_tempo)
        put_bytes(b, (const unsigned char[]){0, 0xff, 0x51, 3, tempo >> 16, tempo >> 8, tempo}, 7);
    uint32_t tick = 0;
    unsigned status = 0;
    for (size_t i = 0; i < n; i++) {
        put_vlq(b, ev[i].tick - tick);
        tick = ev[i].tick;
        if (ev[i].status != status)
            wf_str_putc(b, (char)ev[i].status);
        status = ev[i].status;
        put_bytes(b, (const unsigned char[]){ev[i].key, ev[i].vel}, 2);
    }
    put_bytes(b, (const unsigned char[]){0, 0xff, 0x2f, 0}, 4);
    size_t clen = b->len - start;
    for (int i = 0; i < 4; i++)
        b->s[start - 4 + i] = (char)(clen >> (24 - 8 * i));
}

int wf_midi_encode(const wf_note *notes, int n, int ppq, double bpm, unsigned char **bytes,
                   size_t *len)
{
    if (ppq < 1 || ppq > 0x7fff || !(bpm > 0) || n < 0)
        return -1;
    double us = round(60e6 / bpm);
    if (!(us >= 1 && us <= 0xffffff))
        return -1;
    uint32_t tempo = (uint32_t)us;
    double ticks_per_sec = ppq * 1e6 / tempo;
    int ntracks = 1;
    wevent *ev = wf_xmalloc((size_t)(n ? 2 * n : 1) * sizeof *ev);
    for (int i = 0; i < n; i++) {
        const wf_note *x = &notes[i];
        double on = round(x->on * ticks_per_sec), off = round(x->off * ticks_per_sec);
        if (x->key < 0 || x->key > 127 || x->vel < 1 || x->vel > 127 || x->chan < 0 ||
            x->chan > 15 || x->track < 0 || x->track > 0xfffe || !(on >= 0) ||
            !(off >= on) || !(off <= 0x0fffffff)) {
            free(ev);
            return -1;
        }
        if (x->track >= ntracks)
            ntracks = x->track + 1;
        ev[2 * i] = (wevent){(uint32_t)on, 1, i, (unsigned char)(0x90 | x->chan),
                             (unsigned char)x->key, (unsigned char)x->vel};
        ev[2 * i + 1] = (wevent){(uint32_t)off, off > on ? 0 : 2, i,
                                 (unsigned char)(0x80 | x->chan), (unsigned char)x->key, 64};
    }
    qsort(ev, 2 * (size_t)n, sizeof *ev, by_tick);
    wf_str b = {0};
    put_bytes(&b, (const unsigned char[]){'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, ntracks > 1,
                                          ntracks >> 8, ntracks, ppq >> 8, ppq},
              14);
    wevent *mine = wf_xmalloc((size_t)(n ? 2 * n : 1) * sizeof *mine);
    for (int t = 0; t < ntracks; t++) {
        size_t k = 0;
        for (size_t i = 0; i < 2 * (size_t)n; i++)
            if (notes[ev[i].note].track == t)
                mine[k++] = ev[i];
        put_track(&b, mine, k, tempo, t == 0);
    }
    free(mine);
    free(ev);
    *bytes = (unsigned char *)b.s;
    *len = b.len;
    return 0;
}
