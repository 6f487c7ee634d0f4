/* Audio files: reading any format libsndfile knows, resampled to the patch's
 * rate with libsamplerate (whole, or streamed block by block for inputs), and
 * writing any format it can write, chosen by extension from the list the
 * library gives at run time (wav, flac, ogg, mp3, ...), atomically (a
 * temporary file renamed into place once complete). */
#ifndef WF_AUDIO_H
#define WF_AUDIO_H

#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/real.h"

typedef struct wf_audio_reader wf_audio_reader;

/* Opens path for reading at `rate` Hz (0: the file's own rate), mixing to
 * mono when mono is set. */
wf_audio_reader *wf_audio_open(const char *path, double rate, int mono, wf_diags *d);
/* Reads up to n frames (a wf_read_fn); returns frames read, 0 at the end. */
int wf_audio_read(void *reader, wf_real *dst, int n);
int wf_audio_chans(const wf_audio_reader *r);
double wf_audio_file_rate(const wf_audio_reader *r);
/* Frames the reader will deliver at its output rate. */
int64_t wf_audio_frames(const wf_audio_reader *r);
void wf_audio_close(wf_audio_reader *r);

/* Reads a whole file: *data is [frames x chans], caller frees. */
int wf_audio_load(const char *path, double rate, int mono, wf_real **data, int64_t *frames,
                  int *chans, wf_diags *d);

/* The extensions libsndfile writes, space-separated, as it reports them
 * (SFC_GET_SIMPLE_FORMAT, SFC_GET_FORMAT_MAJOR). */
const char *wf_audio_formats(void);
/* Whether path's extension names a format libsndfile has. */
int wf_audio_is_name(const char *path);

typedef enum {
    WF_FMT_DEFAULT, /* by extension: 16-bit PCM where the container takes it (wav, aiff,
                       flac, ...), else its codec (mp3: VBR at LAME's -V2; ogg: Vorbis) */
    WF_FMT_PCM16,
    WF_FMT_PCM24,
    WF_FMT_FLOAT,
} wf_sample_format;

int wf_parse_sample_format(const char *s, wf_sample_format *f);

typedef struct wf_audio_writer wf_audio_writer;

/* Starts writing path (through a temporary file beside it). */
wf_audio_writer *wf_audio_create(const char *path, double rate, int chans, wf_sample_format fmt,
                                 wf_diags *d);
/* Starts writing to the open fd (standard output), in the format the
 * extension `type` names (wav, raw, au, flac, ...); `name` names it in
 * messages. On a pipe, WAV is streamed with a header written first for
 * `frames` frames (libsndfile cannot stream WAV), and FLAC's header gets
 * that length on its way out (its encoder would leave it 0); formats whose header
 * libsndfile must rewrite at the end (aiff, caf, w64, ...) are refused
 * (pipe-format). The fd is left open; commit only flushes. */
wf_audio_writer *wf_audio_create_fd(int fd, const char *name, const char *type, double rate,
                                    int chans, wf_sample_format fmt, int64_t frames, wf_diags *d);
int wf_audio_write(wf_audio_writer *w, const wf_real *data, int frames);
/* Finishes and renames into place; 0 on success. Reports clipping. */
int wf_audio_commit(wf_audio_writer *w, wf_diags *d);
/* Drops the temporary file. */
void wf_audio_abort(wf_audio_writer *w);
int wf_audio_save(const char *path, double rate, int chans, const wf_real *data, int64_t frames,
                  wf_sample_format fmt, wf_diags *d);

/* libsndfile's and libsamplerate's version strings. */
const char *wf_audio_versions(void);

#endif
