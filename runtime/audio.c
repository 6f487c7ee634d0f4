/* Audio file I/O on libsndfile, resampling on libsamplerate (its best sinc
 * converter, driven by a callback so inputs stream block by block). */
#define _POSIX_C_SOURCE 200809L
#include "runtime/audio.h"

#include <errno.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/util.h"

#define READ_CHUNK 4096

struct wf_audio_reader {
    SNDFILE *sf;
    SF_INFO info;
    int mono, chans;
    double rate, ratio;
    SRC_STATE *src;
    float *raw;      /* interleaved frames straight from the file */
    float *cooked;   /* after mixing, before resampling */
    float *out;      /* resampler output */
    int64_t total, delivered;
};

/* File frames mixed down as asked, for the resampler or the caller. */
static long pull(wf_audio_reader *r, float *dst, long n)
{
    if (n > READ_CHUNK)
        n = READ_CHUNK;
    sf_count_t got = sf_readf_float(r->sf, r->raw, n);
    int fc = r->info.channels;
    if (r->mono && fc > 1) {
        for (sf_count_t i = 0; i < got; i++) {
            float s = 0;
            for (int c = 0; c < fc; c++)
                s += r->raw[i * fc + c];
            dst[i] = s / (float)fc;
        }
    } else {
        memcpy(dst, r->raw, sizeof(float) * (size_t)got * (size_t)fc);
    }
    return (long)got;
}

static long src_feed(void *ctx, float **data)
{
    wf_audio_reader *r = ctx;
    long got = pull(r, r->cooked, READ_CHUNK);
    *data = r->cooked;
    return got;
}

wf_audio_reader *wf_audio_open(const char *path, double rate, int mono, wf_diags *d)
{
    wf_audio_reader *r = wf_xcalloc(1, sizeof *r);
    r->sf = sf_open(path, SFM_READ, &r->info);
    if (!r->sf) {
        wf_report_cannot_read_audio(d, WF_NOWHERE, NULL, path, sf_strerror(NULL));
        free(r);
        return NULL;
    }
    if (r->info.channels < 1 || r->info.samplerate < 1 || r->info.frames < 0) {
        wf_report_unusable_audio(d, WF_NOWHERE, NULL, path);
        sf_close(r->sf);
        free(r);
        return NULL;
    }
    r->mono = mono;
    r->chans = mono ? 1 : r->info.channels;
    r->rate = rate > 0 ? rate : r->info.samplerate;
    r->ratio = r->rate / r->info.samplerate;
    r->raw = wf_xmalloc(sizeof(float) * READ_CHUNK * (size_t)r->info.channels);
    r->cooked = wf_xmalloc(sizeof(float) * READ_CHUNK * (size_t)r->info.channels);
    r->out = wf_xmalloc(sizeof(float) * READ_CHUNK * (size_t)r->chans);
    r->total = (int64_t)llround((double)r->info.frames * r->ratio);
    if (fabs(r->ratio - 1) > 1e-12) {
        if (r->ratio > 256 || r->ratio < 1.0 / 256) {
            wf_report_resample_ratio(d, WF_NOWHERE, NULL, path, r->info.samplerate, r->rate);
            wf_audio_close(r);
            return NULL;
        }
        int err = 0;
        r->src = src_callback_new(src_feed, SRC_SINC_BEST_QUALITY, r->chans, &err, r);
        if (!r->src) {
            wf_report_resample_failed(d, WF_NOWHERE, NULL, path, src_strerror(err));
            wf_audio_close(r);
            return NULL;
        }
    }
    return r;
}

int wf_audio_read(void *reader, wf_real *dst, int n)
{
    wf_audio_reader *r = reader;
    int done = 0, C = r->chans;
    while (done < n && r->delivered < r->total) {
        long want = n - done;
        if (want > READ_CHUNK)
            want = READ_CHUNK;
        if (want > r->total - r->delivered)
            want = (long)(r->total - r->delivered);
        long got = r->src ? src_callback_read(r->src, r->ratio, want, r->out)
                          : pull(r, r->out, want);
        if (got <= 0)
            break;
        for (long i = 0; i < got * C; i++)
            dst[(size_t)done * C + (size_t)i] = (wf_real)r->out[i];
        done += (int)got;
        r->delivered += got;
    }
    /* The resampler may end a few frames short of the rounded length. */
    while (done < n && r->delivered < r->total) {
        for (int c = 0; c < C; c++)
            dst[(size_t)done * C + c] = 0;
        done++;
        r->delivered++;
    }
    return done;
}

int wf_audio_chans(const wf_audio_reader *r)
{
    return r->chans;
}

double wf_audio_file_rate(const wf_audio_reader *r)
{
    return r->info.samplerate;
}

int64_t wf_audio_frames(const wf_audio_reader *r)
{
    return r->total;
}

void wf_audio_close(wf_audio_reader *r)
{
    if (!r)
        return;
    if (r->src)
        src_delete(r->src);
    if (r->sf)
        sf_close(r->sf);
    free(r->raw);
    free(r->cooked);
    free(r->out);
    free(r);
}

int wf_audio_load(const char *path, double rate, int mono, wf_real **data, int64_t *frames,
                  int *chans, wf_diags *d)
{
    wf_audio_reader *r = wf_audio_open(path, rate, mono, d);
    if (!r)
        return -1;
    int64_t n = wf_audio_frames(r);
    if (n <= 0) {
        wf_report_empty_audio(d, WF_NOWHERE, NULL, path);
        wf_audio_close(r);
        return -1;
    }
    if (n > (int64_t)1 << 31) {
        wf_report_audio_too_long(d, WF_NOWHERE, NULL, path, n);
        wf_audio_close(r);
        return -1;
    }
    int C = r->chans;
    wf_real *buf = wf_aalloc(sizeof(wf_real) * (size_t)n * (size_t)C);
    int64_t got = 0;
    while (got < n) {
        int want = n - got > (1 << 20) ? (1 << 20) : (int)(n - got);
        int g = wf_audio_read(r, buf + (size_t)got * C, want);
        if (g <= 0)
            break;
        got += g;
    }
    wf_audio_close(r);
    *data = buf;
    *frames = n;
    *chans = C;
    return 0;
}

int wf_parse_sample_format(const char *s, wf_sample_format *f)
{
    if (strcmp(s, "pcm16") == 0 || strcmp(s, "16") == 0)
        *f = WF_FMT_PCM16;
    else if (strcmp(s, "pcm24") == 0 || strcmp(s, "24") == 0)
        *f = WF_FMT_PCM24;
    else if (strcmp(s, "float") == 0 || strcmp(s, "float32") == 0)
        *f = WF_FMT_FLOAT;
    else
        return -1;
    return 0;
}

struct wf_audio_writer {
    SNDFILE *sf;
    char *path, *tmp;
    int chans, pcm, coded; /* pcm: clips beyond 1 (so do decoders of coded ones) */
    int64_t clipped;
    float peak;
    float *buf;
    /* FLAC into a pipe (flac_to_pipe): libsndfile writes through these */
    int fd, nhead;
    int64_t pos, frames;
    unsigned char head[26];
};

/* The formats the library has, by file extension, as it reports them at run
 * time: its "simple" formats first (they name codecs in containers: mp3,
 * ogg, opus, aifc, each with its subtype), then its major formats under
 * their own extensions; the first entry of an extension wins (wav: WAV,
 * not NIST's). Besides: .oga holds Vorbis like .ogg (the library's first
 * Ogg codec is Opus), and .aif, a spelling the library does not list. */
typedef struct ext_format {
    char ext[16];
    int major;
    int simple; /* the full format the extension names, or 0 */
} ext_format;

static ext_format formats[96];
static int nformats;

static void add_format(const char *ext, int major, int simple)
{
    /* Sound Designer II keeps its header in a resource fork, which
     * libsndfile writes off Mac OS as a second file ._NAME beside the data:
     * not atomic (named after the temporary file), and not read back. */
    if (major == SF_FORMAT_SD2 || !ext[0] || strlen(ext) >= sizeof formats[0].ext ||
        nformats == (int)(sizeof formats / sizeof formats[0]))
        return;
    for (int i = 0; i < nformats; i++)
        if (strcasecmp(formats[i].ext, ext) == 0)
            return;
    ext_format *e = &formats[nformats++];
    strcpy(e->ext, ext);
    e->major = major;
    e->simple = simple;
}

static void load_formats(void)
{
    if (nformats)
        return;
    int n = 0;
    sf_command(NULL, SFC_GET_SIMPLE_FORMAT_COUNT, &n, sizeof n);
    for (int i = 0; i < n; i++) {
        SF_FORMAT_INFO f = {.format = i};
        if (sf_command(NULL, SFC_GET_SIMPLE_FORMAT, &f, sizeof f) == 0 && f.extension)
            add_format(f.extension, f.format & SF_FORMAT_TYPEMASK, f.format);
    }
    add_format("oga", SF_FORMAT_OGG, SF_FORMAT_OGG | SF_FORMAT_VORBIS); /* as .ogg, not Opus */
    sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof n);
    for (int i = 0; i < n; i++) {
        SF_FORMAT_INFO f = {.format = i};
        if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &f, sizeof f) == 0 && f.extension)
            add_format(f.extension, f.format & SF_FORMAT_TYPEMASK, 0);
    }
    add_format("aif", SF_FORMAT_AIFF, 0);
}

static const ext_format *find_format(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && slash > dot))
        return NULL;
    load_formats();
    for (int i = 0; i < nformats; i++)
        if (strcasecmp(dot + 1, formats[i].ext) == 0)
            return &formats[i];
    return NULL;
}

static int check_format(int format, int chans, int rate)
{
    SF_INFO info = {.samplerate = rate, .channels = chans, .format = format};
    return sf_format_check(&info);
}

/* The subtype written when --format is not given: 16-bit PCM where the
 * container takes it (as weft always did), else the codec the extension
 * names (mp3, ogg, opus), else the library's first subtype that fits. */
static int default_subtype(const ext_format *e, int chans, int rate)
{
    if (check_format(e->major | SF_FORMAT_PCM_16, chans, rate))
        return SF_FORMAT_PCM_16;
    if (e->simple && check_format(e->simple, chans, rate))
        return e->simple & SF_FORMAT_SUBMASK;
    /* the library's own picks for the container first: sf_format_check
     * passes MPEG Layer I, which 1.2 cannot encode, where mp3 names III */
    int n = 0;
    sf_command(NULL, SFC_GET_SIMPLE_FORMAT_COUNT, &n, sizeof n);
    for (int i = 0; i < n; i++) {
        SF_FORMAT_INFO f = {.format = i};
        if (sf_command(NULL, SFC_GET_SIMPLE_FORMAT, &f, sizeof f) == 0 &&
            (f.format & SF_FORMAT_TYPEMASK) == e->major && check_format(f.format, chans, rate))
            return f.format & SF_FORMAT_SUBMASK;
    }
    sf_command(NULL, SFC_GET_FORMAT_SUBTYPE_COUNT, &n, sizeof n);
    for (int i = 0; i < n; i++) {
        SF_FORMAT_INFO f = {.format = i};
        if (sf_command(NULL, SFC_GET_FORMAT_SUBTYPE, &f, sizeof f) == 0 &&
            check_format(e->major | (f.format & SF_FORMAT_SUBMASK), chans, rate))
            return f.format & SF_FORMAT_SUBMASK;
    }
    return -1;
}

static const char *subtype_name(int sub)
{
    SF_FORMAT_INFO f = {.format = sub};
    return sf_command(NULL, SFC_GET_FORMAT_INFO, &f, sizeof f) == 0 && f.name ? f.name : "its codec";
}

/* A codec with no sample format of its own: the file holds the encoder's
 * bitstream (mp3, Vorbis, Opus), not samples of a chosen width. */
static int is_coded(int sub)
{
    return sub == SF_FORMAT_VORBIS || sub == SF_FORMAT_OPUS || sub == SF_FORMAT_MPEG_LAYER_I ||
           sub == SF_FORMAT_MPEG_LAYER_II || sub == SF_FORMAT_MPEG_LAYER_III;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *wf_audio_formats(void)
{
    static char *list;
    if (!list) {
        load_formats();
        const char *names[sizeof formats / sizeof formats[0]];
        int n = 0;
        for (int i = 0; i < nformats; i++)
            if (default_subtype(&formats[i], 1, 44100) >= 0)
                names[n++] = formats[i].ext;
        qsort(names, (size_t)n, sizeof names[0], cmp_names);
        wf_str b = {0};
        for (int i = 0; i < n; i++)
            wf_str_printf(&b, "%s%s", i ? " " : "", names[i]);
        list = b.s ? b.s : wf_xstrdup("");
    }
    return list;
}

int wf_audio_is_name(const char *path)
{
    return find_format(path) != NULL;
}

/* The list of writable extensions as a hint: ".wav, .flac, ..." */
static char *formats_hint(void)
{
    wf_str b = {0};
    wf_str_puts(&b, "libsndfile writes");
    for (const char *p = wf_audio_formats(); *p;) {
        size_t n = strcspn(p, " ");
        wf_str_printf(&b, " .%.*s%s", (int)n, p, p[n] ? "," : "");
        p += n + (p[n] != 0);
    }
    return b.s;
}

/* MP3: variable bitrate at LAME's quality 2 (`lame -V2`, about 190 kbit/s
 * for music; libsndfile's compression level 0.2), which listeners cannot
 * tell from the source in blind tests; libsndfile's own default is 128
 * kbit/s constant. The level is set first: setting the mode re-applies it. */
static void set_mp3_quality(SNDFILE *sf)
{
    double level = 0.2;
    int mode = SF_BITRATE_MODE_VARIABLE;
    sf_command(sf, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level);
    sf_command(sf, SFC_SET_BITRATE_MODE, &mode, sizeof mode);
}

/* The format and sample format of a file named `name` (its extension), as
 * info; `shown` names it in messages. 0, or -1 with a diagnostic. */
static int pick_format(const char *name, const char *shown, double rate, int chans,
                       wf_sample_format fmt, SF_INFO *info, wf_diags *d)
{
    const ext_format *e = find_format(name);
    if (!e) {
        char *hint = formats_hint();
        wf_report_unknown_audio_format(d, WF_NOWHERE, hint, shown);
        free(hint);
        return -1;
    }
    int sr = (int)lround(rate);
    int sub = default_subtype(e, chans, sr);
    if (fmt != WF_FMT_DEFAULT) {
        int want = fmt == WF_FMT_FLOAT   ? SF_FORMAT_FLOAT
                   : fmt == WF_FMT_PCM24 ? SF_FORMAT_PCM_24
                                         : SF_FORMAT_PCM_16;
        if (sub >= 0 && is_coded(sub)) {
            wf_report_no_sample_format(d, WF_NOWHERE, "drop --format: the encoder takes float samples",
                                       shown, subtype_name(sub));
            return -1;
        }
        if (e->major == SF_FORMAT_FLAC && want == SF_FORMAT_FLOAT) {
            wf_report_flac_float(d, WF_NOWHERE, NULL, shown);
            return -1;
        }
        sub = want;
    }
    memset(info, 0, sizeof *info);
    info->samplerate = sr;
    info->channels = chans;
    info->format = e->major | (sub >= 0 ? sub : 0);
    if (sub < 0 || !sf_format_check(info)) {
        wf_report_unsupported_audio_format(d, WF_NOWHERE, NULL, chans, info->samplerate, shown);
        return -1;
    }
    return 0;
}

/* w (NULL: a new one) writing through the open sf, in the format of info. */
static wf_audio_writer *writer_for(wf_audio_writer *w, SNDFILE *sf, const SF_INFO *info,
                                   char *path, char *tmp)
{
    int sub = info->format & SF_FORMAT_SUBMASK;
    if (!w)
        w = wf_xcalloc(1, sizeof *w);
    w->sf = sf;
    w->path = path;
    w->tmp = tmp;
    w->chans = info->channels;
    w->pcm = sub != SF_FORMAT_FLOAT && sub != SF_FORMAT_DOUBLE;
    w->coded = is_coded(sub);
    if (w->pcm)
        sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    if (sub == SF_FORMAT_MPEG_LAYER_III)
        set_mp3_quality(w->sf);
    w->buf = wf_xmalloc(sizeof(float) * READ_CHUNK * (size_t)info->channels);
    return w;
}

wf_audio_writer *wf_audio_create(const char *path, double rate, int chans, wf_sample_format fmt,
                                 wf_diags *d)
{
    SF_INFO info;
    if (pick_format(path, path, rate, chans, fmt, &info, d))
        return NULL;
    int direct;
    char *target = wf_atomic_target(path, &direct);
    char *tmp = direct ? NULL : wf_temp_path_for(target);
    SNDFILE *sf = sf_open(tmp ? tmp : target, SFM_WRITE, &info);
    if (!sf) {
        wf_report_cannot_write(d, WF_NOWHERE, NULL, path, sf_strerror(NULL));
        free(target);
        free(tmp);
        return NULL;
    }
    return writer_for(NULL, sf, &info, target, tmp);
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The header of a WAV file holding `frames` frames in the format of info
 * (16- or 24-bit PCM, or float with its fact chunk), into h; its length,
 * or 0 for a sample format this does not write. Past 4 GiB the sizes are
 * 0xFFFFFFFF, which readers of streamed WAV take as "to the end". */
static int wav_header(unsigned char h[58], const SF_INFO *info, int64_t frames)
{
    int sub = info->format & SF_FORMAT_SUBMASK;
    int bytes = sub == SF_FORMAT_PCM_16 ? 2 : sub == SF_FORMAT_PCM_24 ? 3 : sub == SF_FORMAT_FLOAT ? 4 : 0;
    if (!bytes)
        return 0;
    int isfloat = sub == SF_FORMAT_FLOAT;
    int fmtlen = isfloat ? 18 : 16, len = 20 + fmtlen + (isfloat ? 12 : 0) + 8;
    uint64_t data = (uint64_t)frames * (uint64_t)info->channels * (uint64_t)bytes;
    uint64_t riff = (uint64_t)len - 8 + data;
    int big = riff > 0xFFFFFFFFu;
    unsigned char *p = h;
    memcpy(p, "RIFF", 4);
    put_le(p + 4, big ? 0xFFFFFFFFu : (uint32_t)riff, 4);
    memcpy(p + 8, "WAVEfmt ", 8);
    put_le(p + 16, (uint32_t)fmtlen, 4);
    put_le(p + 20, isfloat ? 3 : 1, 2); /* WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_PCM */
    put_le(p + 22, (uint32_t)info->channels, 2);
    put_le(p + 24, (uint32_t)info->samplerate, 4);
    put_le(p + 28, (uint32_t)(info->samplerate * info->channels * bytes), 4);
    put_le(p + 32, (uint32_t)(info->channels * bytes), 2);
    put_le(p + 34, (uint32_t)(8 * bytes), 2);
    p += 20 + fmtlen;
    if (isfloat) {
        put_le(p - 2, 0, 2); /* no extension of the fmt chunk */
        memcpy(p, "fact", 4);
        put_le(p + 4, 4, 4);
        put_le(p + 8, frames > 0xFFFFFFFF ? 0xFFFFFFFFu : (uint32_t)frames, 4);
        p += 12;
    }
    memcpy(p, "data", 4);
    put_le(p + 4, big ? 0xFFFFFFFFu : (uint32_t)data, 4);
    return len;
}

static int write_all(int fd, const unsigned char *b, size_t n)
{
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* FLAC into a pipe. libFLAC writes its STREAMINFO block first with the
 * length unknown (0) and seeks back at the end to fill it in, which a pipe
 * cannot do; the length is known, so the writer holds back the first 26
 * bytes (the "fLaC" mark, the block's header, its sizes and the 64 bits of
 * rate, channels, bits and total samples), puts the total in its low 36
 * bits and passes everything on. The seeks at the end fail, which libsndfile
 * takes in its stride (the MD5 sum stays 0: "not computed"). */
static sf_count_t flac_len(void *u)
{
    return ((wf_audio_writer *)u)->pos;
}

static sf_count_t flac_seek(sf_count_t off, int whence, void *u)
{
    wf_audio_writer *w = u;
    return (whence == SEEK_CUR && off == 0) || (whence == SEEK_SET && off == w->pos) ? w->pos : -1;
}

static sf_count_t flac_read(void *p, sf_count_t n, void *u)
{
    (void)p;
    (void)n;
    (void)u;
    return 0;
}

static sf_count_t flac_tell(void *u)
{
    return ((wf_audio_writer *)u)->pos;
}

static sf_count_t flac_write(const void *p, sf_count_t n, void *u)
{
    wf_audio_writer *w = u;
    const unsigned char *b = p;
    sf_count_t left = n;
    if (w->nhead < (int)sizeof w->head) {
        int k = (int)sizeof w->head - w->nhead < left ? (int)sizeof w->head - w->nhead : (int)left;
        memcpy(w->head + w->nhead, b, (size_t)k);
        w->nhead += k;
        b += k;
        left -= k;
        if (w->nhead < (int)sizeof w->head) {
            w->pos += n;
            return n;
        }
        unsigned char *h = w->head;
        if (memcmp(h, "fLaC", 4) == 0 && (h[4] & 0x7f) == 0 && w->frames < ((int64_t)1 << 36)) {
            uint64_t t = (uint64_t)w->frames;
            h[21] = (unsigned char)((h[21] & 0xf0) | (t >> 32));
            for (int i = 0; i < 4; i++)
                h[22 + i] = (unsigned char)(t >> (24 - 8 * i));
        }
        if (write_all(w->fd, h, sizeof w->head))
            return 0;
    }
    if (left && write_all(w->fd, b, (size_t)left))
        return 0;
    w->pos += n;
    return n;
}

static wf_audio_writer *flac_to_pipe(int fd, const char *name, SF_INFO *info, int64_t frames,
                                     wf_diags *d)
{
    static SF_VIRTUAL_IO io = {flac_len, flac_seek, flac_read, flac_write, flac_tell};
    wf_audio_writer *w = wf_xcalloc(1, sizeof *w);
    w->fd = fd;
    w->frames = frames;
    SNDFILE *sf = sf_open_virtual(&io, SFM_WRITE, info, w);
    if (!sf) {
        wf_report_cannot_write(d, WF_NOWHERE, NULL, name, sf_strerror(NULL));
        free(w);
        return NULL;
    }
    return writer_for(w, sf, info, wf_xstrdup(name), NULL);
}

wf_audio_writer *wf_audio_create_fd(int fd, const char *name, const char *type, double rate,
                                    int chans, wf_sample_format fmt, int64_t frames, wf_diags *d)
{
    char pick[40];
    snprintf(pick, sizeof pick, "stream.%.30s", type);
    SF_INFO info;
    if (pick_format(pick, name, rate, chans, fmt, &info, d))
        return NULL;
    /* a file can be sought in: libsndfile writes any format there and
     * rewrites the header at the end */
    int pipe = lseek(fd, 0, SEEK_CUR) < 0;
    if (pipe && (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV) {
        /* libsndfile will not stream a WAV (its header holds the length,
         * rewritten at the end); the length is known, so the header is
         * written first and libsndfile writes the samples after it */
        unsigned char h[58];
        int len = wav_header(h, &info, frames);
        if (len > 0) {
            if (write_all(fd, h, (size_t)len)) {
                wf_report_cannot_write(d, WF_NOWHERE, NULL, name, strerror(errno));
                return NULL;
            }
            info.format = SF_FORMAT_RAW | SF_ENDIAN_LITTLE | (info.format & SF_FORMAT_SUBMASK);
        }
    }
    if (pipe && (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC)
        return flac_to_pipe(fd, name, &info, frames, d);
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, 0);
    if (!sf) {
        if (pipe)
            wf_report_pipe_format(d, WF_NOWHERE,
                                  "choose --type wav, raw, au, flac, ogg, mp3 or opus, or "
                                  "redirect the output to a file",
                                  type, sf_strerror(NULL));
        else
            wf_report_cannot_write(d, WF_NOWHERE, NULL, name, sf_strerror(NULL));
        return NULL;
    }
    return writer_for(NULL, sf, &info, wf_xstrdup(name), NULL);
}

int wf_audio_write(wf_audio_writer *w, const wf_real *data, int frames)
{
    int C = w->chans;
    for (int done = 0; done < frames;) {
        int n = frames - done > READ_CHUNK ? READ_CHUNK : frames - done;
        for (int i = 0; i < n * C; i++) {
            float v = (float)data[(size_t)done * C + (size_t)i];
            float a = fabsf(v);
            if (a > w->peak)
                w->peak = a;
            if (a > 1)
                w->clipped++;
            w->buf[i] = v;
        }
        if (sf_writef_float(w->sf, w->buf, n) != n)
            return -1;
        done += n;
    }
    return 0;
}

int wf_audio_commit(wf_audio_writer *w, wf_diags *d)
{
    int err = sf_close(w->sf);
    w->sf = NULL;
    int rc = 0;
    if (err) {
        wf_report_cannot_finish_writing(d, WF_NOWHERE, NULL, w->path, sf_error_number(err));
        if (w->tmp)
            unlink(w->tmp);
        rc = -1;
    } else if (w->tmp && rename(w->tmp, w->path) != 0) {
        wf_report_cannot_rename(d, WF_NOWHERE, NULL, w->path);
        unlink(w->tmp);
        rc = -1;
    } else if (w->pcm && w->clipped) {
        wf_report_clipped(d, WF_NOWHERE,
                          w->coded ? "scale the out expression down: decoders clip at full scale"
                                   : "scale the out expression down, or use --format float",
                          w->clipped, w->path, 20 * log10(w->peak));
    }
    free(w->path);
    free(w->tmp);
    free(w->buf);
    free(w);
    return rc;
}

void wf_audio_abort(wf_audio_writer *w)
{
    if (!w)
        return;
    if (w->sf)
        sf_close(w->sf);
    if (w->tmp)
        unlink(w->tmp);
    free(w->path);
    free(w->tmp);
    free(w->buf);
    free(w);
}

int wf_audio_save(const char *path, double rate, int chans, const wf_real *data, int64_t frames,
                  wf_sample_format fmt, wf_diags *d)
{
    wf_audio_writer *w = wf_audio_create(path, rate, chans, fmt, d);
    if (!w)
        return -1;
    for (int64_t done = 0; done < frames;) {
        int n = frames - done > (1 << 20) ? (1 << 20) : (int)(frames - done);
        if (wf_audio_write(w, data + (size_t)done * chans, n)) {
            wf_report_write_failed(d, WF_NOWHERE, NULL, path);
            wf_audio_abort(w);
            return -1;
        }
        done += n;
    }
    return wf_audio_commit(w, d);
}

const char *wf_audio_versions(void)
{
    static char buf[160];
    if (!buf[0]) {
        char v[64];
        sf_command(NULL, SFC_GET_LIB_VERSION, v, sizeof v);
        snprintf(buf, sizeof buf, "%s, %s", v, src_get_name(SRC_SINC_BEST_QUALITY));
    }
    return buf;
}
