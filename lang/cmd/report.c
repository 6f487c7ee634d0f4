/* The HTML report of a fit (report.h).
 *
 * Pictures are computed here and drawn by the page: log-mel spectrograms
 * (periodic Hann window of the power of two at or above 40 ms, hop an
 * eighth of it or longer to keep at most MAX_COLUMNS frames, HTK mel
 * triangles from 20 Hz to Nyquist, power in dB re a full-scale sine, the
 * top 80 dB) and param heat maps travel as bytes in base64 and are painted
 * on <canvas> through magma (whose lightness rises steadily, so it reads in
 * greyscale too), the spectrograms' difference through a diverging map
 * (blue: the fit lacks energy, red: it has too much); waveforms travel as
 * min/max pairs per pixel column; the loss curve and the params' plots are
 * inline SVG. The audio players hold 16-bit WAV files as data: URIs.
 *
 * The page checks itself: its script writes each player's duration into
 * data-duration once known, the share of painted pixels and the number of
 * distinct colours of each spectrogram into data-painted and data-colours
 * (and where it lies on the page into data-rect: x, y, width, height),
 * any script error into #js-errors and <html data-errors>, and sets <html
 * data-ready> when it has drawn everything (tests/test_cli.c reads these
 * back from headless Chromium). */
#include "lang/cmd/report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/audio.h"
#include "runtime/fft.h"
#include "runtime/util.h"

#define MAX_COLUMNS 1200      /* spectrogram frames */
#define WAVE_COLUMNS 760      /* waveform min/max pairs */
#define DB_RANGE 80.0         /* dB shown below the loudest cell */
#define DIFF_RANGE 30.0       /* dB of difference at the ends of its map */
#define MAX_AUDIO_SECONDS 30  /* the players hold at most this much */
#define HEAT_W 240            /* param heat maps: at most this many cells */
#define HEAT_H 64
#define PI 3.14159265358979323846

typedef struct loss_point {
    int step;
    double loss, best, seconds, lr;
} loss_point;

typedef struct setting {
    char *name, *value;
} setting;

struct wf_fit_report {
    char *path;
    int every;
    char *cmdline;
    wf_setup *s;
    int render_during;
    /* the target: the first recording, mono at the run's rate */
    char *target_name;
    wf_real *target;
    int64_t target_frames;
    double sr;
    wf_real **before; /* per param: its values when the report was made */
    setting *settings;
    int nsettings;
    loss_point *loss;
    int nloss, caploss;
    int steps_planned;
    double write_seconds; /* spent writing pages */
    double last_seconds;  /* the last page's */
    size_t last_bytes;
    int write_errno;      /* of the first page that could not be written during the fit */
};

/* ---------------------------------------------------------------- set-up */

static char *quoted_command(int argc, char *const *argv)
{
    wf_str b = {0};
    wf_str_puts(&b, argv[0]); /* "weft fit" */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *p = a; *p; p++)
            plain &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("_./=,:+-@%", *p);
        wf_str_putc(&b, ' ');
        if (plain) {
            wf_str_puts(&b, a);
            continue;
        }
        wf_str_putc(&b, '\'');
        for (const char *p = a; *p; p++)
            *p == '\'' ? wf_str_puts(&b, "'\\''") : wf_str_putc(&b, *p);
        wf_str_putc(&b, '\'');
    }
    return b.s;
}

wf_fit_report *wf_fit_report_new(const char *path, int every, int steps, int argc,
                                 char *const *argv, wf_setup *s, const wf_objective *ob,
                                 int render_during)
{
    wf_fit_report *r = wf_xcalloc(1, sizeof *r);
    r->steps_planned = steps;
    r->path = wf_xstrdup(path);
    r->every = every;
    r->cmdline = quoted_command(argc, argv);
    r->s = s;
    r->render_during = render_during;
    r->sr = s->env.sr;
    r->target_name = wf_xstrdup(ob->names[0]);
    r->target_frames = ob->frames[0];
    r->target = wf_xmalloc(sizeof(wf_real) * (size_t)(r->target_frames + 1));
    memcpy(r->target, ob->audio[0], sizeof(wf_real) * (size_t)r->target_frames);
    r->before = wf_xcalloc((size_t)s->params.n + 1, sizeof *r->before);
    for (int i = 0; i < s->params.n; i++) {
        size_t len = wf_param_len(&s->params.v[i]);
        r->before[i] = wf_xmalloc(sizeof(wf_real) * (len + 1));
        memcpy(r->before[i], s->params.v[i].value, sizeof(wf_real) * len);
    }
    return r;
}

void wf_fit_report_setting(wf_fit_report *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = wf_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->settings = wf_xrealloc(r->settings, sizeof *r->settings * (size_t)(r->nsettings + 1));
    r->settings[r->nsettings++] = (setting){wf_xstrdup(name), text};
}

void wf_fit_report_last(const wf_fit_report *r, size_t *bytes, double *seconds)
{
    *bytes = r->last_bytes;
    *seconds = r->last_seconds;
}

void wf_fit_report_free(wf_fit_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->s->params.n; i++)
        free(r->before[i]);
    free(r->before);
    for (int i = 0; i < r->nsettings; i++) {
        free(r->settings[i].name);
        free(r->settings[i].value);
    }
    free(r->settings);
    free(r->loss);
    free(r->target);
    free(r->target_name);
    free(r->cmdline);
    free(r->path);
    free(r);
}

/* ------------------------------------------------------------- analysis */

typedef struct mel_grid {
    int nfft, hop, mels;
    double fmin, fmax;
} mel_grid;

static double hz_to_mel(double f)
{
    return 2595 * log10(1 + f / 700);
}

static double mel_to_hz(double m)
{
    return 700 * (pow(10, m / 2595) - 1);
}

static mel_grid grid_for(double sr, int64_t n)
{
    mel_grid g = {256, 0, sr >= 22050 ? 80 : 64, 20, sr / 2};
    while (g.nfft < sr * 0.04)
        g.nfft *= 2;
    g.hop = g.nfft / 8;
    if (n / g.hop + 1 > MAX_COLUMNS)
        g.hop = (int)((n + MAX_COLUMNS - 2) / (MAX_COLUMNS - 1));
    return g;
}

/* Triangular mel filters [mels x bins]; a filter narrower than a bin keeps
 * the bin nearest its centre, so that no band is empty. */
static double *mel_filters(const mel_grid *g, double sr)
{
    int bins = g->nfft / 2 + 1;
    double *w = wf_xcalloc((size_t)g->mels * (size_t)bins, sizeof *w);
    double m0 = hz_to_mel(g->fmin), m1 = hz_to_mel(g->fmax);
    for (int k = 0; k < g->mels; k++) {
        double fl = mel_to_hz(m0 + (m1 - m0) * k / (g->mels + 1));
        double fc = mel_to_hz(m0 + (m1 - m0) * (k + 1) / (g->mels + 1));
        double fr = mel_to_hz(m0 + (m1 - m0) * (k + 2) / (g->mels + 1));
        double sum = 0;
        for (int b = 0; b < bins; b++) {
            double f = b * sr / g->nfft;
            double v = fmin((f - fl) / (fc - fl), (fr - f) / (fr - fc));
            w[(size_t)k * bins + b] = v > 0 ? v : 0;
            sum += v > 0 ? v : 0;
        }
        if (sum == 0) {
            int b = (int)lround(fc * g->nfft / sr);
            w[(size_t)k * bins + (b < bins ? b : bins - 1)] = 1;
        }
    }
    return w;
}

/* Log-mel power of x [n] in dB, [frames x mels]; frame t is centred on
 * sample t hop (zeros beyond the ends). */
static float *log_mel(const mel_grid *g, const double *filters, const wf_real *x, int64_t n,
                      int *frames)
{
    enum { BATCH = 32 };
    int N = g->nfft, bins = N / 2 + 1;
    int F = *frames = (int)(n / g->hop) + 1;
    float *db = wf_xmalloc(sizeof *db * (size_t)F * (size_t)g->mels);
    wf_real *in = wf_aalloc(sizeof *in * (size_t)BATCH * (size_t)N);
    wf_real *spec = wf_aalloc(sizeof *spec * (size_t)BATCH * 2 * (size_t)bins);
    double *win = wf_xmalloc(sizeof *win * (size_t)N), *pw = wf_xmalloc(sizeof *pw * (size_t)bins);
    for (int j = 0; j < N; j++)
        win[j] = 0.5 - 0.5 * cos(2 * PI * j / N);
    /* a full-scale sine's peak bin: |X| = N / 4 */
    double ref = (double)N * N / 16;
    for (int f0 = 0; f0 < F; f0 += BATCH) {
        int count = F - f0 < BATCH ? F - f0 : BATCH;
        for (int m = 0; m < count; m++) {
            int64_t start = (int64_t)(f0 + m) * g->hop - N / 2;
            for (int j = 0; j < N; j++) {
                int64_t i = start + j;
                in[(size_t)m * N + j] = (wf_real)(i >= 0 && i < n ? win[j] * x[i] : 0);
            }
        }
        wf_fft_r2c(N, count, in, spec);
        for (int m = 0; m < count; m++) {
            const wf_real *s = spec + (size_t)m * 2 * bins;
            for (int b = 0; b < bins; b++)
                pw[b] = ((double)s[2 * b] * s[2 * b] + (double)s[2 * b + 1] * s[2 * b + 1]) / ref;
            for (int k = 0; k < g->mels; k++) {
                const double *w = filters + (size_t)k * bins;
                double e = 0;
                for (int b = 0; b < bins; b++)
                    e += w[b] * pw[b];
                db[(size_t)(f0 + m) * g->mels + k] = (float)(10 * log10(e + 1e-12));
            }
        }
    }
    wf_afree(in);
    wf_afree(spec);
    free(win);
    free(pw);
    return db;
}

static double peak_of(const wf_real *x, int64_t n)
{
    double p = 0;
    for (int64_t i = 0; i < n; i++)
        p = fmax(p, fabs((double)x[i]));
    return p;
}

/* ------------------------------------------------------------- encoding */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* x [n] at sr as a mono 16-bit WAV data: URI (clipped to [-1, 1]). */
static void put_wav_uri(wf_str *b, const wf_real *x, int64_t n, double sr)
{
    size_t bytes = 44 + 2 * (size_t)n;
    unsigned char *w = wf_xmalloc(bytes);
    memcpy(w, "RIFF", 4);
    put_u32(w + 4, (uint32_t)(bytes - 8));
    memcpy(w + 8, "WAVEfmt ", 8);
    put_u32(w + 16, 16);
    w[20] = 1, w[21] = 0; /* PCM */
    w[22] = 1, w[23] = 0; /* mono */
    uint32_t rate = (uint32_t)lround(sr);
    put_u32(w + 24, rate);
    put_u32(w + 28, rate * 2);
    w[32] = 2, w[33] = 0;  /* bytes per frame */
    w[34] = 16, w[35] = 0; /* bits */
    memcpy(w + 36, "data", 4);
    put_u32(w + 40, (uint32_t)(2 * n));
    for (int64_t i = 0; i < n; i++) {
        double v = fmax(-1, fmin(1, (double)x[i]));
        int16_t q = (int16_t)lrint(v * 32767);
        w[44 + 2 * i] = (unsigned char)(q & 0xff);
        w[45 + 2 * i] = (unsigned char)((uint16_t)q >> 8);
    }
    wf_str_puts(b, "data:audio/wav;base64,");
    wf_str_base64(b, w, bytes);
    free(w);
}

static unsigned char quantise(double v, double lo, double hi)
{
    double q = hi > lo ? 255 * (v - lo) / (hi - lo) : 128;
    return (unsigned char)lrint(fmax(0, fmin(255, q)));
}

/* An image of w x h bytes (row-major, top row first) painted by the page
 * through colour map cmap; extra attributes (axes) in attrs. */
static void put_map(wf_str *b, const char *cls, int cw, int ch, const unsigned char *v, int w,
                    int h, const char *cmap, const char *attrs)
{
    wf_str_printf(b, "<canvas class=\"map %s\" width=\"%d\" height=\"%d\" data-w=\"%d\" data-h=\"%d\" "
                     "data-cmap=\"%s\" %s data-v=\"", cls, cw, ch, w, h, cmap, attrs);
    wf_str_base64(b, v, (size_t)w * (size_t)h);
    wf_str_puts(b, "\"></canvas>");
}

/* Spectrogram [frames x mels] in dB as an image: time across, low bands at
 * the bottom. */
static unsigned char *spectrogram_image(const float *db, int frames, int mels, double lo,
                                        double hi)
{
    unsigned char *img = wf_xmalloc((size_t)frames * (size_t)mels + 1);
    for (int t = 0; t < frames; t++)
        for (int k = 0; k < mels; k++)
            img[(size_t)(mels - 1 - k) * frames + t] = quantise(db[(size_t)t * mels + k], lo, hi);
    return img;
}

/* Min and max of x [n] per column, as signed bytes of peak (0: silence). */
static void put_wave(wf_str *b, const wf_real *x, int64_t n, double peak, const char *colour,
                     const char *label)
{
    signed char *v = wf_xcalloc(2 * WAVE_COLUMNS, 1);
    for (int c = 0; c < WAVE_COLUMNS && n > 0; c++) {
        int64_t a = n * c / WAVE_COLUMNS, e = n * (c + 1) / WAVE_COLUMNS;
        if (e <= a)
            e = a + 1;
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = a; i < e && i < n; i++) {
            lo = fmin(lo, (double)x[i]);
            hi = fmax(hi, (double)x[i]);
        }
        double s = peak > 0 ? 127 / peak : 0;
        v[2 * c] = (signed char)lrint(fmax(-127, fmin(127, lo * s)));
        v[2 * c + 1] = (signed char)lrint(fmax(-127, fmin(127, hi * s)));
    }
    wf_str_printf(b, "<canvas class=\"wave\" width=\"%d\" height=\"110\" data-colour=\"%s\" "
                     "aria-label=\"", WAVE_COLUMNS / 2, colour);
    wf_str_html(b, label);
    wf_str_printf(b, "\" data-peak=\"%.4g\" data-v=\"", peak);
    wf_str_base64(b, v, 2 * WAVE_COLUMNS);
    wf_str_puts(b, "\"></canvas>");
    free(v);
}

/* --------------------------------------------------------------- sections */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222;background:#fff}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:middle;"
    "border-bottom:1px solid #eee}th{background:#f6f6f6}"
    "code,.num{font-family:ui-monospace,monospace;font-size:13px}"
    ".grid{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:14px}"
    ".grid canvas{width:100%;height:auto;display:block}"
    ".grid h3{font-size:14px;margin:0 0 4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}audio,.noaudio{width:100%;height:40px;margin:4px 0;display:block}"
    ".note{color:#666;font-size:12px}.map.heat{width:180px;height:56px;image-rendering:pixelated}"
    ".heat-pair{white-space:nowrap}.heat-pair span{display:inline-block;margin-right:10px;font-size:12px;color:#666}"
    ".heat-pair canvas{vertical-align:middle}#js-errors{color:#b00;white-space:pre-wrap}.legend span{margin-right:14px}"
    ".sw{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}";

/* Installed first, so that errors of the page's own script are caught. */
static const char error_hook[] =
    "window.weftErrors=[];function weftError(m){weftErrors.push(String(m));"
    "document.documentElement.setAttribute('data-errors',weftErrors.length);"
    "var e=document.getElementById('js-errors');if(e){e.textContent=weftErrors.join('\\n');"
    "e.hidden=false;}}"
    "window.addEventListener('error',function(e){weftError(e.message||e);});"
    "(function(){var ce=console.error;console.error=function(){"
    "weftError(Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};})();";

static const char script[] =
    "(function(){try{"
    "function bytes(s){var b=atob(s),a=new Uint8Array(b.length);for(var i=0;i<b.length;i++)"
    "a[i]=b.charCodeAt(i);return a;}"
    "var anchors={magma:['000004','1c1044','4f127b','812581','b5367a','e55064','fb8761',"
    "'fec287','fcfdbf'],diff:['2166ac','67a9cf','d1e5f0','f7f7f7','fddbc7','ef8a62','b2182b']};"
    "function lut(n){var a=anchors[n],t=new Uint8Array(768);for(var i=0;i<256;i++){"
    "var x=i/255*(a.length-1),k=Math.min(Math.floor(x),a.length-2),f=x-k;for(var c=0;c<3;c++){"
    "var p=parseInt(a[k].substr(2*c,2),16),q=parseInt(a[k+1].substr(2*c,2),16);"
    "t[3*i+c]=Math.round(p+(q-p)*f);}}return t;}"
    /* the share of painted (not page-white) pixels and the distinct colours
       of a canvas's picture area, for the tests */
    "function measure(g,x,y,w,h,cv){var d=g.getImageData(x,y,w,h).data,n=0,set={},k=0;"
    "for(var i=0;i<d.length;i+=4){if(d[i+3]>0&&!(d[i]==255&&d[i+1]==255&&d[i+2]==255))n++;"
    "var c=(d[i]<<16)|(d[i+1]<<8)|d[i+2];if(!set[c]&&k<100000){set[c]=1;k++;}}"
    "cv.setAttribute('data-painted',(n/(w*h)).toFixed(4));cv.setAttribute('data-colours',k);"
    "var r=cv.getBoundingClientRect();cv.setAttribute('data-rect',[r.left+scrollX,r.top+scrollY,"
    "r.width,r.height].map(Math.round).join(','));}"
    "function nice(span,most){var s=Math.pow(10,Math.floor(Math.log10(span/most)));"
    "var m=[1,2,5,10];for(var i=0;i<4;i++)if(span/(s*m[i])<=most)return s*m[i];return s*10;}"
    "function mel(f){return 2595*Math.log10(1+f/700);}"
    "document.querySelectorAll('canvas.map').forEach(function(cv){var d=cv.dataset,w=+d.w,h=+d.h,"
    "v=bytes(d.v),t=lut(d.cmap),off=document.createElement('canvas');off.width=w;off.height=h;"
    "var o=off.getContext('2d'),img=o.createImageData(w,h);for(var i=0;i<w*h;i++){"
    "img.data[4*i]=t[3*v[i]];img.data[4*i+1]=t[3*v[i]+1];img.data[4*i+2]=t[3*v[i]+2];"
    "img.data[4*i+3]=255;}o.putImageData(img,0,0);"
    "var g=cv.getContext('2d'),L=d.dur?40:0,B=d.dur?18:0,W=cv.width-L,H=cv.height-B;"
    "g.fillStyle='#fff';g.fillRect(0,0,cv.width,cv.height);g.imageSmoothingEnabled=!!d.dur;"
    "g.drawImage(off,L,0,W,H);"
    "if(d.dur){var dur=+d.dur,st=nice(dur,5);g.fillStyle='#333';g.font='11px sans-serif';"
    "g.textAlign='center';for(var s=0;s<=dur+1e-9;s+=st){var x=L+W*s/dur;g.fillRect(x,H,1,4);"
    "g.fillText((+s.toFixed(3))+' s',Math.min(Math.max(x,L+12),cv.width-14),H+15);}"
    "var m0=mel(+d.fmin),m1=mel(+d.fmax),last=1e9;g.textAlign='right';"
    "[50,100,200,500,1000,2000,5000,10000,20000].forEach(function(f){if(f<+d.fmin||f>+d.fmax)return;"
    "var y=H*(1-(mel(f)-m0)/(m1-m0));if(last-y<12)return;last=y;g.fillRect(L-4,y,4,1);"
    "g.fillText(f>=1000?f/1000+'k':''+f,L-6,Math.max(y+4,10));});"
    "measure(g,L,0,W,H,cv);}});"
    "document.querySelectorAll('canvas.wave').forEach(function(cv){"
    "var v=new Int8Array(bytes(cv.dataset.v).buffer),n=v.length/2,g=cv.getContext('2d'),"
    "W=cv.width,H=cv.height;g.fillStyle='#fff';g.fillRect(0,0,W,H);g.fillStyle='#ddd';"
    "g.fillRect(0,H/2,W,1);g.fillStyle=cv.dataset.colour;for(var c=0;c<n;c++){"
    "var x=c*W/n,a=H/2-v[2*c+1]/127*(H/2-2),b=H/2-v[2*c]/127*(H/2-2);"
    "g.fillRect(x,a,Math.max(W/n,1),Math.max(b-a,1));}});"
    "document.querySelectorAll('audio').forEach(function(a){function f(){"
    "a.setAttribute('data-duration',a.duration);}a.addEventListener('loadedmetadata',f);"
    "a.addEventListener('error',function(){weftError('audio '+a.id+' cannot be decoded');});"
    "if(a.readyState>=1)f();});"
    "document.documentElement.setAttribute('data-ready','1');"
    "}catch(e){weftError(e&&e.stack?e.stack:e);}})();";

static const char *status_text(const wf_fit_result *res)
{
    if (!res)
        return "running";
    return res->status == WF_FIT_STOPPED    ? "stopped (Ctrl-C)"
           : res->status == WF_FIT_DIVERGED ? "diverged"
                                            : "done";
}

static void put_row(wf_str *b, const char *name, const char *value)
{
    wf_str_puts(b, "<tr><th>");
    wf_str_html(b, name);
    wf_str_puts(b, "</th><td>");
    wf_str_html(b, value);
    wf_str_puts(b, "</td></tr>");
}

static void put_summary(wf_str *b, const wf_fit_report *r, const wf_fit_result *res)
{
    char line[256];
    int steps = r->nloss ? r->loss[r->nloss - 1].step + 1 : 0; /* updates made */
    double secs = r->nloss ? r->loss[r->nloss - 1].seconds : 0;
    if (res) {
        steps = res->steps;
        secs = res->seconds - r->write_seconds;
    }
    wf_str_puts(b, "<table id=\"summary\">");
    snprintf(line, sizeof line, "%s: %d of %d steps", status_text(res), steps, r->steps_planned);
    put_row(b, "status", line);
    if (r->nloss) {
        const loss_point *f = &r->loss[0], *l = &r->loss[r->nloss - 1];
        int best = 0;
        for (int i = 1; i < r->nloss; i++)
            if (r->loss[i].loss < r->loss[best].loss)
                best = i;
        snprintf(line, sizeof line, "first %.6g, last %.6g, best %.6g (step %d)", f->loss, l->loss,
                 r->loss[best].loss, r->loss[best].step);
        put_row(b, "loss", line);
    }
    snprintf(line, sizeof line, "%.3f s in all, %.3f ms per step (%.3f s more writing this report)",
             secs, steps ? 1000 * secs / steps : 0.0, r->write_seconds);
    put_row(b, "time", line);
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    put_row(b, "written", when);
    wf_str_puts(b, "</table>");
}

static void put_settings(wf_str *b, const wf_fit_report *r)
{
    wf_str_puts(b, "<h2 id=\"settings\">Command and settings</h2><p><code id=\"command\">");
    wf_str_html(b, r->cmdline);
    wf_str_puts(b, "</code></p><table>");
    for (int i = 0; i < r->nsettings; i++)
        put_row(b, r->settings[i].name, r->settings[i].value);
    char v[512];
    snprintf(v, sizeof v, "weft %s (%s samples)", WF_VERSION, WF_REAL_NAME);
    put_row(b, "version", v);
    put_row(b, "FFT", wf_fft_backends());
    put_row(b, "audio libraries", wf_audio_versions());
    wf_str_puts(b, "</table>");
}

/* 1, 2 or 5 times a power of ten, at most `most` of which cover span. */
static double nice_step(double span, int most)
{
    double p = pow(10, floor(log10(span / most)));
    for (;; p *= 10)
        for (int m = 1; m <= 5; m += m == 1 ? 1 : 3)
            if (span / (m * p) <= most)
                return m * p;
}

/* The loss per step (and the best so far) on a log scale. */
static void put_loss_curve(wf_str *b, const wf_fit_report *r)
{
    wf_str_puts(b, "<h2 id=\"loss\">Loss</h2>");
    int n = r->nloss;
    if (n == 0) {
        wf_str_puts(b, "<p class=\"note\">No step yet.</p>");
        return;
    }
    const double W = 760, H = 260, L = 64, R = 12, T = 10, B = 36;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (r->loss[i].loss > 0 && isfinite(r->loss[i].loss)) {
            lo = fmin(lo, log10(r->loss[i].loss));
            hi = fmax(hi, log10(r->loss[i].loss));
        }
    if (!isfinite(lo))
        lo = -1, hi = 0;
    if (hi - lo < 0.3) {
        double c = (hi + lo) / 2;
        lo = c - 0.15, hi = c + 0.15;
    }
    double pad = (hi - lo) * 0.04;
    lo -= pad, hi += pad;
    int last = r->loss[n - 1].step, x1 = last > 0 ? last : 1;
#define X(s) (L + (W - L - R) * (double)(s) / x1)
#define Y(v) (T + (H - T - B) * (hi - log10(v)) / (hi - lo))
    wf_str_printf(b, "<svg id=\"loss-curve\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
                     "font-size=\"11\" font-family=\"sans-serif\">", W, H, W, H);
    wf_str_printf(b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
                     "stroke=\"#999\"/>", L, T, W - L - R, H - T - B);
    /* y ticks: decades; 1, 2 and 5 in each over fewer decades; over less
       than one, evenly spaced values */
    double span = hi - lo, labelled = INFINITY; /* the last label's y: none closer than 12 px */
    double ticks[64];
    int nt = 0;
    if (span >= 0.8) {
        for (int e = (int)floor(lo); e <= (int)ceil(hi) && nt < 60; e++)
            for (int m = 1; m <= 5; m += m == 1 ? 1 : 3)
                if (m == 1 || span < 2.5)
                    ticks[nt++] = m * pow(10, e);
    } else {
        double v0 = pow(10, lo), v1 = pow(10, hi), st = nice_step(v1 - v0, 6);
        for (double v = ceil(v0 / st) * st; v <= v1 && nt < 60; v += st)
            ticks[nt++] = v;
    }
    for (int i = 0; i < nt; i++) {
        double v = ticks[i], lv = log10(v);
        if (lv < lo || lv > hi)
            continue;
        double y = Y(v);
        if (labelled - y < 12)
            continue;
        labelled = y;
        wf_str_printf(b, "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                         "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" class=\"ytick\">%.4g</text>",
                      L, W - R, y, y, L - 5, y + 4, v);
    }
    /* x ticks: whole steps */
    double st = fmax(1, nice_step(x1, 8));
    for (double s = 0; s <= x1 + 1e-9; s += st)
        wf_str_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%g\" y2=\"%g\" stroke=\"#999\"/>"
                         "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" class=\"xtick\">%g</text>",
                      X(s), X(s), H - B, H - B + 4, X(s), H - B + 16, s);
    wf_str_printf(b, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">step</text>", (L + W - R) / 2,
                  H - 4);
    wf_str_printf(b, "<text transform=\"translate(14 %g) rotate(-90)\" text-anchor=\"middle\">"
                     "loss (log scale)</text>", (T + H - B) / 2);
    /* long fits: the min and max of each pixel column */
    const char *what[2] = {"#1f77b4", "#ff7f0e"};
    for (int k = 0; k < 2; k++) {
        wf_str_printf(b, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\"%s "
                         "points=\"", k ? "best" : "loss", what[k],
                      k ? " stroke-dasharray=\"5 3\"" : "");
        int cols = (int)(W - L - R);
        for (int i = 0; i < n;) {
            int j = i + 1;
            if (n > 2 * cols)
                while (j < n && (int)((double)r->loss[j].step * cols / x1) ==
                                    (int)((double)r->loss[i].step * cols / x1))
                    j++;
            double mn = INFINITY, mx = -INFINITY;
            for (int q = i; q < j; q++) {
                double v = k ? r->loss[q].best : r->loss[q].loss;
                if (v > 0 && isfinite(v))
                    mn = fmin(mn, v), mx = fmax(mx, v);
            }
            if (isfinite(mn)) {
                wf_str_printf(b, "%.1f,%.1f ", X(r->loss[i].step), Y(mx));
                if (mn != mx)
                    wf_str_printf(b, "%.1f,%.1f ", X(r->loss[i].step), Y(mn));
            }
            i = j;
        }
        wf_str_puts(b, "\"/>");
    }
#undef X
#undef Y
    wf_str_puts(b, "</svg><p class=\"legend note\"><span><i class=\"sw\" style=\"background:"
                   "#1f77b4\"></i>loss of each step (before its update)</span><span><i class=\"sw\" "
                   "style=\"background:#ff7f0e\"></i>best so far</span> The fit has no validation "
                   "set, so there is no validation loss. ");
    /* the numbers themselves, to plot elsewhere */
    wf_str csv = {0};
    wf_str_puts(&csv, "step,loss,best,seconds,lr\n");
    for (int i = 0; i < n; i++)
        wf_str_printf(&csv, "%d,%.9g,%.9g,%.6f,%.6g\n", r->loss[i].step, r->loss[i].loss,
                      r->loss[i].best, r->loss[i].seconds, r->loss[i].lr);
    wf_str_puts(b, "<a download=\"loss.csv\" href=\"data:text/csv;base64,");
    wf_str_base64(b, csv.s, csv.len);
    wf_str_puts(b, "\">loss.csv</a></p>");
    wf_str_free(&csv);
}

/* One column of the listening section: title, player, spectrogram, wave. */
static void put_column(wf_str *b, const char *id, const char *title, const wf_real *x, int64_t n,
                       double sr, int playable, const unsigned char *img, int frames,
                       const mel_grid *g, const char *cmap, double peak, const char *colour,
                       const char *caption)
{
    wf_str_printf(b, "<div id=\"col-%s\"><h3>", id);
    wf_str_html(b, title);
    wf_str_puts(b, "</h3>");
    if (playable) {
        int64_t m = n < (int64_t)(MAX_AUDIO_SECONDS * sr) ? n : (int64_t)(MAX_AUDIO_SECONDS * sr);
        wf_str_printf(b, "<audio id=\"audio-%s\" controls preload=\"auto\" src=\"", id);
        put_wav_uri(b, x, m, sr);
        wf_str_puts(b, "\"></audio>");
        if (m < n)
            wf_str_printf(b, "<p class=\"note\">The player holds the first %d s.</p>",
                          MAX_AUDIO_SECONDS);
    } else {
        wf_str_puts(b, "<p class=\"note noaudio\">(the difference is seen, not heard)</p>");
    }
    char attrs[160];
    snprintf(attrs, sizeof attrs, "data-dur=\"%.6g\" data-fmin=\"%g\" data-fmax=\"%g\"",
             (double)(frames - 1) * g->hop / sr, g->fmin, g->fmax);
    char cls[40];
    snprintf(cls, sizeof cls, "spectrogram spec-%s", id);
    put_map(b, cls, 380, 220, img, frames, g->mels, cmap, attrs);
    put_wave(b, x, n, peak, colour, title);
    wf_str_printf(b, "<p class=\"note\">%s</p></div>", caption);
}

static void put_listen(wf_str *b, const wf_fit_report *r, const wf_real *y, int64_t ny,
                       const char *why_not)
{
    wf_str_puts(b, "<h2 id=\"listen\">Target and fit</h2>");
    mel_grid g = grid_for(r->sr, r->target_frames > ny ? r->target_frames : ny);
    double *filters = mel_filters(&g, r->sr);
    int ft, fy = 0;
    float *dt = log_mel(&g, filters, r->target, r->target_frames, &ft), *dy = NULL;
    double top = -INFINITY;
    for (size_t i = 0; i < (size_t)ft * g.mels; i++)
        top = fmax(top, dt[i]);
    if (y) {
        dy = log_mel(&g, filters, y, ny, &fy);
        for (size_t i = 0; i < (size_t)fy * g.mels; i++)
            top = fmax(top, dy[i]);
    }
    double peak = peak_of(r->target, r->target_frames);
    if (y)
        peak = fmax(peak, peak_of(y, ny));
    char cap[256];
    snprintf(cap, sizeof cap, "log-mel power, %d bands; %d-point FFT, hop %d; %.0f dB (black) to "
             "%.0f dB (white) re a full-scale sine", g.mels, g.nfft, g.hop, top - DB_RANGE, top);
    wf_str_puts(b, "<div class=\"grid\">");
    unsigned char *img = spectrogram_image(dt, ft, g.mels, top - DB_RANGE, top);
    put_column(b, "target", r->target_name, r->target, r->target_frames, r->sr, 1, img, ft, &g,
               "magma", peak, "#1f77b4", cap);
    free(img);
    if (y) {
        img = spectrogram_image(dy, fy, g.mels, top - DB_RANGE, top);
        put_column(b, "fitted", "fitted render", y, ny, r->sr, 1, img, fy, &g, "magma", peak,
                   "#d62728", cap);
        free(img);
        /* the difference over the frames both have */
        int f = ft < fy ? ft : fy;
        float *dd = wf_xmalloc(sizeof *dd * (size_t)f * g.mels + 1);
        for (size_t i = 0; i < (size_t)f * g.mels; i++)
            dd[i] = fmaxf(dy[i], (float)(top - DB_RANGE)) - fmaxf(dt[i], (float)(top - DB_RANGE));
        img = spectrogram_image(dd, f, g.mels, -DIFF_RANGE, DIFF_RANGE);
        int64_t n = r->target_frames < ny ? r->target_frames : ny;
        wf_real *e = wf_xmalloc(sizeof *e * (size_t)(n + 1));
        for (int64_t i = 0; i < n; i++)
            e[i] = y[i] - r->target[i];
        snprintf(cap, sizeof cap, "fitted minus target in dB, from -%.0f (blue: too little) to "
                 "+%.0f (red: too much); the waveform of their difference", DIFF_RANGE, DIFF_RANGE);
        put_column(b, "diff", "difference", e, n, r->sr, 0, img, f, &g, "diff", peak, "#555", cap);
        free(e);
        free(img);
        free(dd);
    } else {
        wf_str_puts(b, "<div id=\"col-fitted\"><h3>fitted render</h3><p class=\"note\">");
        wf_str_html(b, why_not);
        wf_str_puts(b, "</p></div>");
    }
    wf_str_puts(b, "</div>");
    free(dt);
    free(dy);
    free(filters);
}

typedef struct stats {
    double min, max, mean, std;
} stats;

static stats stats_of(const wf_real *v, size_t n)
{
    stats s = {INFINITY, -INFINITY, 0, 0};
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        s.min = fmin(s.min, (double)v[i]);
        s.max = fmax(s.max, (double)v[i]);
        sum += v[i];
    }
    s.mean = n ? sum / (double)n : 0;
    for (size_t i = 0; i < n; i++)
        sq += ((double)v[i] - s.mean) * ((double)v[i] - s.mean);
    s.std = n ? sqrt(sq / (double)n) : 0;
    return s;
}

/* A small plot of before (grey, dashed) and after (blue) against the index
 * or frame; long series by the min and max of each pixel column. */
static void put_series(wf_str *b, const wf_real *before, const wf_real *after, size_t n)
{
    const double W = 260, H = 64;
    stats sb = stats_of(before, n), sa = stats_of(after, n);
    double lo = fmin(sb.min, sa.min), hi = fmax(sb.max, sa.max);
    if (hi - lo < 1e-12 * fmax(1, fabs(hi)))
        lo -= 0.5, hi += 0.5;
    wf_str_printf(b, "<svg class=\"series\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\">"
                     "<rect width=\"%g\" height=\"%g\" fill=\"#fafafa\" stroke=\"#ddd\"/>",
                  W, H, W, H, W, H);
    for (int k = 0; k < 2; k++) {
        const wf_real *v = k ? after : before;
        wf_str_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\"%s points=\"",
                      k ? "#1f77b4" : "#999", k ? "" : " stroke-dasharray=\"3 2\"");
        size_t cols = (size_t)W - 4;
        size_t step = n > 2 * cols ? (n + cols - 1) / cols : 1;
        for (size_t i = 0; i < n; i += step) {
            double mn = INFINITY, mx = -INFINITY;
            for (size_t j = i; j < i + step && j < n; j++)
                mn = fmin(mn, (double)v[j]), mx = fmax(mx, (double)v[j]);
            double x = 2 + (W - 4) * (n > 1 ? (double)i / (double)(n - 1) : 0.5);
            wf_str_printf(b, "%.1f,%.1f ", x, 2 + (H - 4) * (hi - mx) / (hi - lo));
            if (mn != mx)
                wf_str_printf(b, "%.1f,%.1f ", x, 2 + (H - 4) * (hi - mn) / (hi - lo));
        }
        wf_str_puts(b, "\"/>");
    }
    wf_str_printf(b, "<text x=\"3\" y=\"11\" font-size=\"10\" fill=\"#666\">%.4g</text>"
                     "<text x=\"3\" y=\"%g\" font-size=\"10\" fill=\"#666\">%.4g</text></svg>",
                  hi, H - 3, lo);
}

/* A matrix [rows x cols] as a heat map of at most HEAT_W x HEAT_H cells
 * (block means), rows across when across is set (frames), else down. */
static void put_heat(wf_str *b, const wf_real *v, int rows, int cols, int across, double lo,
                     double hi)
{
    int w = across ? rows : cols, h = across ? cols : rows;
    int iw = w < HEAT_W ? w : HEAT_W, ih = h < HEAT_H ? h : HEAT_H;
    unsigned char *img = wf_xmalloc((size_t)iw * ih);
    for (int y = 0; y < ih; y++)
        for (int x = 0; x < iw; x++) {
            int x0 = (int)((int64_t)x * w / iw), x1 = (int)((int64_t)(x + 1) * w / iw);
            int y0 = (int)((int64_t)y * h / ih), y1 = (int)((int64_t)(y + 1) * h / ih);
            double sum = 0;
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++) {
                    /* across: frames along x, the first channel at the bottom */
                    size_t at = across ? (size_t)xx * cols + (size_t)(h - 1 - yy)
                                       : (size_t)yy * cols + (size_t)xx;
                    sum += v[at];
                }
            img[(size_t)y * iw + x] = quantise(sum / ((x1 - x0) * (y1 - y0)), lo, hi);
        }
    put_map(b, "heat", iw, ih, img, iw, ih, "magma", "");
    free(img);
}

static void put_params(wf_str *b, const wf_fit_report *r, const char *when)
{
    const wf_params *ps = &r->s->params;
    wf_str_printf(b, "<h2 id=\"params\">Params</h2><p class=\"note\">Before the fit and %s. "
                     "Plots: before grey and dashed, after blue. Heat maps: magma from the "
                     "smallest value (black) to the largest (white) of both.</p>", when);
    wf_str_puts(b, "<table id=\"params-table\"><tr><th>param</th><th>shape</th><th>before</th>"
                   "<th>after</th><th>change, or before and after</th></tr>");
    for (int i = 0; i < ps->n; i++) {
        const wf_param *p = &ps->v[i];
        const wf_param_decl *dc = p->decl;
        size_t n = wf_param_len(p);
        const wf_real *a = p->value, *bf = r->before[i];
        wf_str_puts(b, "<tr class=\"param\" data-name=\"");
        wf_str_html(b, dc->name);
        wf_str_puts(b, "\"><td><code>");
        wf_str_html(b, dc->name);
        wf_str_puts(b, "</code>");
        if (dc->fixed)
            wf_str_puts(b, " <span class=\"note\">fixed</span>");
        if (dc->log)
            wf_str_puts(b, " <span class=\"note\">log</span>");
        if (dc->bounded)
            wf_str_printf(b, " <span class=\"note\">in [%g, %g]</span>", dc->lo, dc->hi);
        wf_str_puts(b, "</td><td class=\"num\">");
        int per_frame = dc->rate != WF_RATE_CONST;
        if (per_frame)
            wf_str_printf(b, "per frame, %d &times; %d", p->rows, p->cols);
        else if (dc->ndims == 2)
            wf_str_printf(b, "%d &times; %d", dc->dims[0], dc->dims[1]);
        else if (n == 1)
            wf_str_puts(b, "scalar");
        else
            wf_str_printf(b, "[%zu]", n);
        wf_str_puts(b, "</td>");
        stats sb = stats_of(bf, n), sa = stats_of(a, n);
        if (n == 1) {
            wf_str_printf(b, "<td class=\"num\">%.6g</td><td class=\"num\">%.6g</td><td "
                             "class=\"num\">%+.4g</td>", (double)bf[0], (double)a[0],
                          (double)a[0] - (double)bf[0]);
        } else {
            for (int k = 0; k < 2; k++) {
                const stats *s = k ? &sa : &sb;
                wf_str_printf(b, "<td class=\"num\">mean %.4g, std %.4g<br>%.4g to %.4g</td>",
                              s->mean, s->std, s->min, s->max);
            }
            wf_str_puts(b, "<td>");
            int matrix = dc->ndims == 2 || (per_frame && p->cols > 1);
            if (matrix) {
                double lo = fmin(sb.min, sa.min), hi = fmax(sb.max, sa.max);
                int rows = per_frame ? p->rows : dc->dims[0], cols = per_frame ? p->cols : dc->dims[1];
                wf_str_puts(b, "<span class=\"heat-pair\"><span>before ");
                put_heat(b, bf, rows, cols, per_frame, lo, hi);
                wf_str_puts(b, "</span><span>after ");
                put_heat(b, a, rows, cols, per_frame, lo, hi);
                wf_str_puts(b, "</span></span>");
            } else {
                put_series(b, bf, a, n);
            }
            wf_str_puts(b, "</td>");
        }
        wf_str_puts(b, "</tr>");
    }
    wf_str_puts(b, "</table>");
}

/* ---------------------------------------------------------------- writing */

/* The page as things are, with the render y [ny] of the params in place
 * (NULL: why_not says why there is none). */
static void build(wf_str *b, const wf_fit_report *r, const wf_fit_result *res, const wf_real *y,
                  int64_t ny, const char *why_not)
{
    wf_str_puts(b, "<!DOCTYPE html>\n<html lang=\"en\" data-errors=\"0\"><head><meta charset=\"utf-8\">");
    if (!res)
        wf_str_puts(b, "<meta http-equiv=\"refresh\" content=\"5\">");
    wf_str_puts(b, "<title>weft fit: ");
    wf_str_html(b, r->cmdline);
    wf_str_printf(b, "</title><style>%s</style><script>%s</script></head><body>", style, error_hook);
    wf_str_puts(b, "<pre id=\"js-errors\" hidden></pre><h1>weft fit</h1>");
    if (!res)
        wf_str_puts(b, "<p class=\"note\">The fit is running: this page reloads every 5 s.</p>");
    put_summary(b, r, res);
    put_listen(b, r, y, ny, why_not);
    put_loss_curve(b, r);
    put_params(b, r, res ? "after it (the best params, which the fitted patch holds)"
                         : "now (the params of the latest step, not yet the best)");
    put_settings(b, r);
    wf_str_printf(b, "<script>%s</script></body></html>\n", script);
}

/* Renders the params in place (mono), or NULL with the reason in why. */
static wf_real *render(wf_fit_report *r, int64_t *n, char *why, size_t whylen)
{
    wf_diags d = {0};
    wf_real *y;
    int chans;
    wf_real *mono = NULL;
    if (wf_render_memory(r->s, 2048, &y, n, &chans, &d) == 0) {
        mono = wf_xmalloc(sizeof *mono * (size_t)(*n + 1));
        for (int64_t i = 0; i < *n; i++) {
            double s = 0;
            for (int c = 0; c < chans; c++)
                s += y[i * chans + c];
            mono[i] = (wf_real)(s / chans);
        }
        free(y);
    } else {
        snprintf(why, whylen, "the fitted patch does not render: %s",
                 d.n ? d.v[0].msg : "(no reason given)");
    }
    wf_diags_free(&d);
    return mono;
}

static int write_page(wf_fit_report *r, const wf_fit_result *res, int with_render)
{
    double t0 = wf_now();
    char why[512] = "The pages written during a fit of excerpts have no render: the render "
                    "is of the whole run, made at the end.";
    int64_t ny = 0;
    wf_real *y = with_render ? render(r, &ny, why, sizeof why) : NULL;
    wf_str b = {0};
    build(&b, r, res, y, ny, why);
    free(y);
    int rc = wf_write_file_atomic(r->path, b.s, b.len);
    int err = errno;
    r->last_bytes = b.len;
    wf_str_free(&b);
    r->last_seconds = wf_now() - t0;
    r->write_seconds += r->last_seconds;
    errno = err;
    return rc;
}

int wf_fit_report_begin(wf_fit_report *r, wf_diags *d)
{
    if (write_page(r, NULL, r->render_during)) {
        wf_report_cannot_write_report(d, WF_NOWHERE, NULL, r->path, strerror(errno));
        return -1;
    }
    return 0;
}

void wf_fit_report_step(wf_fit_report *r, const wf_fit_progress *p)
{
    if (r->nloss == r->caploss) {
        r->caploss = r->caploss ? 2 * r->caploss : 256;
        r->loss = wf_xrealloc(r->loss, sizeof *r->loss * (size_t)r->caploss);
    }
    r->loss[r->nloss++] = (loss_point){p->step - 1, p->loss, p->best, p->seconds - r->write_seconds,
                                       p->lr};
    if (r->every > 0 && p->step % r->every == 0 && p->step < p->steps && !r->write_errno &&
        write_page(r, NULL, r->render_during))
        r->write_errno = errno;
}

int wf_fit_report_finish(wf_fit_report *r, const wf_fit_result *res, wf_diags *d)
{
    /* the loss after the last update, which no progress call carries */
    if (res->status == WF_FIT_DONE && isfinite(res->final_loss) &&
        (r->nloss == 0 || r->loss[r->nloss - 1].step < res->steps)) {
        wf_fit_progress p = {res->steps + 1, res->steps, res->final_loss,
                             fmin(res->best_loss, res->final_loss), res->seconds, 0,
                             res->start, res->validation};
        int every = r->every;
        r->every = 0;
        wf_fit_report_step(r, &p);
        r->every = every;
    }
    if (write_page(r, res, 1)) {
        wf_report_cannot_write_report(d, WF_NOWHERE, NULL, r->path, strerror(errno));
        return -1;
    }
    return 0;
}
