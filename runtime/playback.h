/* Playback: a patch (or a live session) heard while it renders.
 *
 * A player pulls blocks of audio from its caller on a render thread of its
 * own and keeps a ring buffer of them ahead of a sink, which consumes the
 * ring at the audio clock's pace:
 *
 *   "default" (or NULL)  the system's default output device, through
 *                        PortAudio; any other name picks a device by its
 *                        number or by a part of its name (wf_player_devices)
 *   "null"               no sound: a thread takes one block every block's
 *                        duration by the monotonic clock, so whoever pulls
 *                        (the REPL) sees the pace and latency of a device
 *   "file:PATH"          what would be played, written to PATH (format by
 *                        its extension, atomically: complete once
 *                        wf_player_close returns), paced like "null" so that
 *                        an edit made while playing lands at the time it
 *                        would on a device
 *
 * The render thread never renders inside a device callback: the callback,
 * and the null and file sinks likewise, only copy from the ring (lock-free,
 * one producer and one consumer) and post a semaphore that wakes the render
 * thread. When the ring holds less than a callback asks for, the missing
 * part is silence on a device and "null" (nothing is written for it by
 * "file:", so the file stays the patch's samples in order), and one underrun
 * is counted; playback goes on, it never waits for the renderer. Playing
 * starts once the ring is full (or the pull has ended), so a slow first
 * block is not an underrun.
 *
 * Channels: the sink has o->chans channels. A block with as many is copied;
 * a mono block goes to every channel; otherwise channel c plays the block's
 * channel c, or silence past its last (extra channels are dropped). */
#ifndef WF_PLAYBACK_H
#define WF_PLAYBACK_H

#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/real.h"

/* The next block, *n frames of *chans channels (interleaved), valid until
 * the next call; NULL at the end. Called on the player's render thread,
 * never on a device's callback: it may allocate and take locks. */
typedef const wf_real *(*wf_play_pull)(void *ctx, int *n, int *chans);

typedef struct wf_player_opts {
    const char *device; /* NULL or "default": the audio device; "null"; "file:PATH" */
    double rate;        /* Hz (0: 48000) */
    int chans;          /* channels of the sink (0: 2) */
    int block;          /* frames the sink takes at a time, and the ring's unit
                           (0: 512); the ring holds 4 blocks, at least 50 ms */
} wf_player_opts;

typedef struct wf_player wf_player;

/* Opens the sink and starts pulling on the player's own thread. NULL with
 * one diagnostic (no-audio-device, audio-device-failed, cannot-write...)
 * when the sink cannot be opened: no device, no such device, a file that
 * cannot be created. */
wf_player *wf_player_open(const wf_player_opts *o, wf_play_pull pull, void *ctx, wf_diags *d);
/* Stops (whatever is still in the ring is not played), joins the threads
 * and closes the sink: a file sink is then complete on disk. NULL is fine.
 * Returns 0, or -1 when a file sink could not be finished (its diagnostic
 * goes to d when d is not NULL). */
int wf_player_close_diags(wf_player *p, wf_diags *d);
void wf_player_close(wf_player *p);
/* 1 once the pull has returned NULL and the sink has played everything
 * before it. */
int wf_player_done(const wf_player *p);
/* Times the sink asked for audio the ring did not hold yet. */
long wf_player_underruns(const wf_player *p);
/* Frames the sink has played (taken from the ring) since it started. */
int64_t wf_player_position(const wf_player *p);
/* Seconds from a pull returning a block to its first frame being heard, at
 * most: the ring's length plus the device's own output latency. */
double wf_player_latency(const wf_player *p);
/* The sink's name: the device's name for a device, else o->device. */
const char *wf_player_sink_name(const wf_player *p);

/* The output devices PortAudio sees, one "N: name (C channels, R Hz)" per
 * line, the default marked with '*'. Caller frees; NULL with a diagnostic
 * when there is no audio system (or weft was built without PortAudio). */
char *wf_player_devices(wf_diags *d);
/* Whether weft was built with PortAudio (devices), else only null and file. */
int wf_player_have_devices(void);
/* PortAudio's version text, or "no PortAudio" (weft --version). */
const char *wf_player_version(void);

#endif
