/* Playback (playback.h): a render thread filling a ring buffer ahead of a
 * sink, the sink a PortAudio stream, a clock ("null") or a file written at
 * the clock's pace.
 *
 * The ring is single-producer single-consumer: the render thread alone
 * advances `wpos`, the sink alone `rpos`, both as monotonic frame counts
 * (the index in the ring is the count modulo its capacity), published with
 * release stores and read with acquire loads, so neither side takes a lock.
 * The sink posts a semaphore after each take to wake a render thread that
 * waits for room; sem_post is lock-free, so a device callback may call it.
 * Nothing in the sink's path allocates, blocks or renders. */
#include "runtime/playback.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runtime/audio.h"
#include "runtime/util.h"

#ifdef WF_HAVE_PORTAUDIO
#include <dlfcn.h>
#include <portaudio.h>
#ifdef WF_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif
#endif

enum { SINK_DEVICE, SINK_NULL, SINK_FILE };

struct wf_player {
    wf_play_pull pull;
    void *ctx;
    int kind, chans, block;
    double rate;
    char *name;

    float *ring; /* cap frames of chans, interleaved */
    int64_t cap;
    _Atomic int64_t wpos, rpos;
    atomic_int ended;   /* the pull returned NULL; set after the last frame is in */
    atomic_int started; /* the ring was full once (or ended): the sink plays */
    atomic_int done;    /* ended, and the sink took the last frame */
    atomic_int stop;
    atomic_long underruns;
    sem_t space, ready; /* sink -> render: room; render -> clock: started */

    pthread_t render, clock;
    int have_render, have_clock;

    wf_audio_writer *w; /* file sink */
    wf_real *scratch;   /* file sink: one block converted for the writer */
    atomic_int write_failed;

    double device_latency;
#ifdef WF_HAVE_PORTAUDIO
    PaStream *stream;
#endif
};

/* Takes up to n frames from the ring into dst (NULL: dropped); counts an
 * underrun when fewer were there and the pull has not ended, and marks the
 * player done once it has and the ring is empty. Called by the sink only. */
static int take(wf_player *p, float *dst, int n)
{
    int ended = atomic_load_explicit(&p->ended, memory_order_acquire);
    int64_t w = atomic_load_explicit(&p->wpos, memory_order_acquire);
    int64_t r = atomic_load_explicit(&p->rpos, memory_order_relaxed);
    int64_t avail = w - r;
    int got = avail < n ? (int)avail : n;
    if (dst) {
        size_t C = (size_t)p->chans;
        int64_t at = r % p->cap;
        int first = p->cap - at < got ? (int)(p->cap - at) : got;
        memcpy(dst, p->ring + (size_t)at * C, sizeof(float) * (size_t)first * C);
        memcpy(dst + (size_t)first * C, p->ring, sizeof(float) * (size_t)(got - first) * C);
    }
    atomic_store_explicit(&p->rpos, r + got, memory_order_release);
    if (got > 0)
        sem_post(&p->space);
    if (got < n) {
        if (ended)
            atomic_store(&p->done, 1);
        else
            atomic_fetch_add(&p->underruns, 1);
    }
    return got;
}

/* Marks the ring as primed (once): the sink starts playing. */
static void start(wf_player *p)
{
    if (!atomic_exchange(&p->started, 1))
        sem_post(&p->ready);
}

/* Waits for the sink to make room, at most 20 ms (so that a stop is seen). */
static void wait_room(wf_player *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(&p->space, &ts) != 0 && errno == EINTR)
        ;
}

/* The render thread: pulls blocks and copies them into the ring, mapping
 * their channels onto the sink's, waiting for room when it is full. */
static void *render_main(void *arg)
{
    wf_player *p = arg;
    size_t C = (size_t)p->chans;
    while (!atomic_load(&p->stop)) {
        int n = 0, bc = 0;
        const wf_real *y = p->pull(p->ctx, &n, &bc);
        if (!y)
            break;
        for (int i = 0; i < n && !atomic_load(&p->stop);) {
            int64_t w = atomic_load_explicit(&p->wpos, memory_order_relaxed);
            int64_t room = p->cap - (w - atomic_load_explicit(&p->rpos, memory_order_acquire));
            if (room == 0) {
                start(p);
                wait_room(p);
                continue;
            }
            int k = n - i < room ? n - i : (int)room;
            for (int f = 0; f < k; f++) {
                float *dst = p->ring + (size_t)((w + f) % p->cap) * C;
                const wf_real *src = y + (size_t)(i + f) * (size_t)bc;
                for (size_t c = 0; c < C; c++)
                    dst[c] = bc == (int)C ? (float)src[c]
                             : bc == 1    ? (float)src[0]
                             : (int)c < bc ? (float)src[c]
                                           : 0.0f;
            }
            atomic_store_explicit(&p->wpos, w + k, memory_order_release);
            i += k;
        }
    }
    atomic_store_explicit(&p->ended, 1, memory_order_release);
    start(p);
    return NULL;
}

static void add_ns(struct timespec *t, double ns)
{
    long long s = (long long)(ns / 1e9);
    t->tv_sec += s;
    t->tv_nsec += (long)(ns - (double)s * 1e9);
    while (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static double ns_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* The clock of the null and file sinks: one block taken every block's
 * duration, on absolute deadlines of the monotonic clock (so the pace does
 * not drift with the time the writes take). After a stall of the thread
 * itself beyond a second the clock restarts rather than rushing to catch
 * up, as a device would have played silence meanwhile. */
static void *clock_main(void *arg)
{
    wf_player *p = arg;
    while (!atomic_load(&p->stop) && sem_trywait(&p->ready) != 0) {
        struct timespec nap = {0, 2000000L};
        nanosleep(&nap, NULL);
    }
    size_t C = (size_t)p->chans;
    float *buf = wf_xcalloc((size_t)p->block * C, sizeof *buf);
    double period = 1e9 * p->block / p->rate;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&p->stop) && !atomic_load(&p->done)) {
        int got = take(p, p->w ? buf : NULL, p->block);
        if (p->w && got > 0 && !atomic_load(&p->write_failed)) {
            for (size_t i = 0; i < (size_t)got * C; i++)
                p->scratch[i] = buf[i];
            if (wf_audio_write(p->w, p->scratch, got))
                atomic_store(&p->write_failed, 1);
        }
        add_ns(&next, period);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns_between(&next, &now) > 1e9)
            next = now;
        /* in naps of at most 50 ms, so that a stop is seen */
        while (!atomic_load(&p->stop)) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            double left = ns_between(&now, &next);
            if (left <= 0)
                break;
            struct timespec until = now;
            add_ns(&until, left < 5e7 ? left : 5e7);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
        }
    }
    free(buf);
    return NULL;
}

#ifdef WF_HAVE_PORTAUDIO
/* The device's callback, on PortAudio's real-time thread: copies from the
 * ring, silence for what is missing (and before the ring is primed). */
static int pa_callback(const void *in, void *out, unsigned long frames,
                       const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *ctx)
{
    (void)in;
    (void)time;
    wf_player *p = ctx;
    float *o = out;
    int got = 0;
    if (flags & paOutputUnderflow)
        atomic_fetch_add(&p->underruns, 1);
    if (atomic_load_explicit(&p->started, memory_order_acquire) && !atomic_load(&p->done))
        got = take(p, o, (int)frames);
    memset(o + (size_t)got * (size_t)p->chans, 0,
           sizeof(float) * ((size_t)frames - (size_t)got) * (size_t)p->chans);
    return paContinue;
}

#ifdef WF_HAVE_ALSA
/* ALSA prints its complaints (no sound card, an unusable PCM in its
 * configuration) on stderr while PortAudio probes devices; weft says in one
 * diagnostic what failed instead. */
static void alsa_quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
    (void)file;
    (void)line;
    (void)fn;
    (void)err;
    (void)fmt;
}
#endif

static void jack_quiet(const char *msg)
{
    (void)msg;
}

/* JACK, which PortAudio tries first when it was built with it, prints on
 * stderr that no JACK server runs. Its message hooks are set when libjack
 * is loaded (as PortAudio's dependency), found by name so that weft does
 * not link JACK itself. */
static void silence_jack(void)
{
    void *self = dlopen(NULL, RTLD_LAZY);
    if (!self)
        return;
    const char *setters[] = {"jack_set_error_function", "jack_set_info_function"};
    for (int i = 0; i < 2; i++) {
        void (*set)(void (*)(const char *));
        *(void **)&set = dlsym(self, setters[i]);
        if (set)
            set(jack_quiet);
    }
    dlclose(self);
}

/* Pa_Initialize, with the audio systems' own chatter silenced. */
static PaError pa_init(void)
{
#ifdef WF_HAVE_ALSA
    snd_lib_error_set_handler(alsa_quiet);
#endif
    silence_jack();
    return Pa_Initialize();
}

/* The output device a --device name picks: NULL or "default" the default
 * one, digits a device's number, else the first whose name contains it
 * (case-insensitively); paNoDevice when none. */
static PaDeviceIndex pa_find(const char *name)
{
    if (!name || strcmp(name, "default") == 0)
        return Pa_GetDefaultOutputDevice();
    int n = Pa_GetDeviceCount();
    char *end;
    long k = strtol(name, &end, 10);
    if (*name && !*end)
        return k >= 0 && k < n && Pa_GetDeviceInfo((PaDeviceIndex)k)->maxOutputChannels > 0
                   ? (PaDeviceIndex)k
                   : paNoDevice;
    for (PaDeviceIndex i = 0; i < n; i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        if (info->maxOutputChannels <= 0)
            continue;
        for (const char *s = info->name; *s; s++)
            if (strncasecmp(s, name, strlen(name)) == 0)
                return i;
    }
    return paNoDevice;
}

static int open_device(wf_player *p, const char *device, wf_diags *d)
{
    const char *shown = device ? device : "default";
    const char *hint = "play without one with --device null, or into a file with "
                       "--device file:out.wav; `weft play --list-devices` lists the devices";
    PaError err = pa_init();
    if (err != paNoError) {
        wf_report_no_audio_device(d, WF_NOWHERE, hint, shown, Pa_GetErrorText(err));
        return -1;
    }
    PaDeviceIndex dev = pa_find(device);
    if (dev == paNoDevice) {
        wf_report_no_audio_device(d, WF_NOWHERE, hint, shown,
                                  Pa_GetDeviceCount() > 0 ? "no output device of that name"
                                                          : "the audio system has no output device");
        Pa_Terminate();
        return -1;
    }
    const PaDeviceInfo *info = Pa_GetDeviceInfo(dev);
    PaStreamParameters out = {dev, p->chans, paFloat32, info->defaultLowOutputLatency, NULL};
    err = Pa_OpenStream(&p->stream, NULL, &out, p->rate, paFramesPerBufferUnspecified, paNoFlag,
                        pa_callback, p);
    if (err == paNoError && (err = Pa_StartStream(p->stream)) != paNoError) {
        Pa_CloseStream(p->stream);
        p->stream = NULL;
    }
    if (err != paNoError) {
        p->stream = NULL;
        wf_report_no_audio_device(d, WF_NOWHERE, hint, info->name, Pa_GetErrorText(err));
        Pa_Terminate();
        return -1;
    }
    const PaStreamInfo *si = Pa_GetStreamInfo(p->stream);
    p->device_latency = si ? si->outputLatency : info->defaultLowOutputLatency;
    p->name = wf_xstrdup(info->name);
    return 0;
}

static void close_device(wf_player *p)
{
    if (!p->stream)
        return;
    Pa_StopStream(p->stream);
    Pa_CloseStream(p->stream);
    p->stream = NULL;
    Pa_Terminate();
}

char *wf_player_devices(wf_diags *d)
{
    PaError err = pa_init();
    if (err != paNoError) {
        wf_report_no_audio_device(d, WF_NOWHERE, NULL, "default", Pa_GetErrorText(err));
        return NULL;
    }
    wf_str s = {0};
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        if (info->maxOutputChannels > 0)
            wf_str_printf(&s, "%c%d: %s (%d channels, %g Hz, %s)\n", i == def ? '*' : ' ', i,
                          info->name, info->maxOutputChannels, info->defaultSampleRate,
                          Pa_GetHostApiInfo(info->hostApi)->name);
    }
    Pa_Terminate();
    return s.s ? s.s : wf_xstrdup("");
}

int wf_player_have_devices(void)
{
    return 1;
}

const char *wf_player_version(void)
{
    return Pa_GetVersionText();
}
#else
static int open_device(wf_player *p, const char *device, wf_diags *d)
{
    (void)p;
    wf_report_no_audio_device(d, WF_NOWHERE,
                              "rebuild with PortAudio (Debian: portaudio19-dev), or play with "
                              "--device null or --device file:out.wav",
                              device ? device : "default", "weft was built without PortAudio");
    return -1;
}

static void close_device(wf_player *p)
{
    (void)p;
}

char *wf_player_devices(wf_diags *d)
{
    return open_device(NULL, NULL, d), NULL;
}

int wf_player_have_devices(void)
{
    return 0;
}

const char *wf_player_version(void)
{
    return "no PortAudio";
}
#endif

/* A thread, or the end of the process: like memory, threads are not
 * something weft runs without. */
static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int err = pthread_create(t, NULL, fn, arg);
    if (err) {
        fprintf(stderr, "weft: error: cannot start a playback thread: %s\n", strerror(err));
        exit(70);
    }
}

static void player_free(wf_player *p)
{
    sem_destroy(&p->space);
    sem_destroy(&p->ready);
    free(p->ring);
    free(p->scratch);
    free(p->name);
    free(p);
}

wf_player *wf_player_open(const wf_player_opts *o, wf_play_pull pull, void *ctx, wf_diags *d)
{
    wf_player *p = wf_xcalloc(1, sizeof *p);
    p->pull = pull;
    p->ctx = ctx;
    p->rate = o->rate > 0 ? o->rate : 48000;
    p->chans = o->chans > 0 ? o->chans : 2;
    p->block = o->block > 0 ? o->block : 512;
    int64_t least = (int64_t)(0.05 * p->rate) + 1;
    p->cap = 4 * (int64_t)p->block > least ? 4 * (int64_t)p->block : least;
    p->ring = wf_xcalloc((size_t)p->cap * (size_t)p->chans, sizeof *p->ring);
    sem_init(&p->space, 0, 0);
    sem_init(&p->ready, 0, 0);
    const char *dev = o->device;
    if (dev && strcmp(dev, "null") == 0) {
        p->kind = SINK_NULL;
        p->name = wf_xstrdup("null");
    } else if (dev && strncmp(dev, "file:", 5) == 0) {
        p->kind = SINK_FILE;
        p->name = wf_xstrdup(dev);
        p->w = wf_audio_create(dev + 5, p->rate, p->chans, WF_FMT_DEFAULT, d);
        if (!p->w) {
            player_free(p);
            return NULL;
        }
        p->scratch = wf_xcalloc((size_t)p->block * (size_t)p->chans, sizeof *p->scratch);
    } else {
        p->kind = SINK_DEVICE;
        if (open_device(p, dev, d)) {
            player_free(p);
            return NULL;
        }
    }
    if (p->kind != SINK_DEVICE) {
        spawn(&p->clock, clock_main, p);
        p->have_clock = 1;
    }
    spawn(&p->render, render_main, p);
    p->have_render = 1;
    return p;
}

int wf_player_close_diags(wf_player *p, wf_diags *d)
{
    if (!p)
        return 0;
    atomic_store(&p->stop, 1);
    close_device(p);
    sem_post(&p->space);
    if (p->have_render)
        pthread_join(p->render, NULL);
    if (p->have_clock)
        pthread_join(p->clock, NULL);
    int rc = 0;
    if (p->w) {
        wf_diags mine = {0};
        if (atomic_load(&p->write_failed)) {
            wf_report_write_failed(d ? d : &mine, WF_NOWHERE, NULL, p->name + 5);
            wf_audio_abort(p->w);
            rc = -1;
        } else {
            rc = wf_audio_commit(p->w, d ? d : &mine);
        }
        wf_diags_free(&mine);
    }
    player_free(p);
    return rc;
}

void wf_player_close(wf_player *p)
{
    wf_player_close_diags(p, NULL);
}

int wf_player_done(const wf_player *p)
{
    return atomic_load(&((wf_player *)p)->done);
}

long wf_player_underruns(const wf_player *p)
{
    return atomic_load(&((wf_player *)p)->underruns);
}

int64_t wf_player_position(const wf_player *p)
{
    return atomic_load(&((wf_player *)p)->rpos);
}

double wf_player_latency(const wf_player *p)
{
    return (double)p->cap / p->rate + p->device_latency;
}

const char *wf_player_sink_name(const wf_player *p)
{
    return p->name;
}
