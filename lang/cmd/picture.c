/* `weft spectrogram` and `weft plot`: the pictures a user would otherwise
 * make in matplotlib, a sound's spectrogram and a fit log's loss curves,
 * drawn by runtime/plot.c and written atomically as PNG (or SVG). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lang/cmd/cmds.h"
#include "lang/cmd/setup.h"
#include "runtime/plot.h"
#include "runtime/util.h"

/* "WxH" with both in range. */
static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return -1;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || *end || a < 1 || b < 1 || a > WF_IMAGE_MAX || b > WF_IMAGE_MAX)
        return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Writes the PNG, or reports why it could not. */
static int write_png(const wf_image *im, const char *out, const char *const *keys,
                     const char *const *values, int n, wf_diags *d)
{
    char why[256];
    if (wf_image_write_png(im, out, keys, values, n, why, sizeof why) == 0)
        return 0;
    wf_report_cannot_write(d, WF_NOWHERE, NULL, out, why);
    return -1;
}

/* ------------------------------------------------------------ spectrogram */

static void usage_spectrogram(FILE *f)
{
    fputs("usage: weft spectrogram FILE -o OUT.png [options]\n"
          "\n"
          "Draws the spectrogram of an audio file (any format libsndfile reads, channels\n"
          "mixed to mono): time left to right, frequency bottom to top, level in dB as\n"
          "colour (viridis: dark is quiet, light is loud, also in greyscale), with axes\n"
          "and a colour bar. Short-time Fourier transform with a Hann window; 0 dB is a\n"
          "full-scale sine.\n"
          "\n"
          "  -o, --output FILE     the PNG to write (required)\n"
          "  --mel                 log-mel: frequency on the mel scale, --bands bands\n"
          "  --bands N             mel bands (default 128)\n"
          "  --db-range D          levels shown below the peak, in dB (default 80)\n"
          "  --size WxH            the picture in pixels (default 1000x400)\n"
          "  --fft N               window and FFT size (default 2048)\n"
          "  --hop H               samples between frames (default FFT / 4)\n"
          "  --colormap NAME       viridis (default) or magma\n"
          "  --title TEXT          a title (default: the file's name)\n"
          "  -q, --quiet           no summary line\n"
          "\n"
          "The PNG records the layout in text chunks: weft:plot-area (x y w h of the data,\n"
          "in pixels), weft:x-axis (seconds, from and to), weft:y-axis (linear-hz or\n"
          "mel-hz, bottom and top in Hz) and weft:levels (dB at the colour map's ends).\n",
          f);
}

enum {
    OPT_MEL = 400,
    OPT_BANDS,
    OPT_RANGE,
    OPT_SIZE,
    OPT_FFTN,
    OPT_HOPN,
    OPT_CMAP,
    OPT_TITLE,
    OPT_LINEAR,
};

static int whole(const char *s, double lo, double hi, int *out)
{
    double v;
    if (wf_parse_number(s, &v) || v != floor(v) || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int wf_cmd_spectrogram(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},    {"mel", no_argument, NULL, OPT_MEL},
        {"bands", required_argument, NULL, OPT_BANDS}, {"db-range", required_argument, NULL, OPT_RANGE},
        {"size", required_argument, NULL, OPT_SIZE}, {"fft", required_argument, NULL, OPT_FFTN},
        {"hop", required_argument, NULL, OPT_HOPN},  {"colormap", required_argument, NULL, OPT_CMAP},
        {"title", required_argument, NULL, OPT_TITLE}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *title = NULL, *size_text = "1000x400";
    int w = 1000, h = 400, quiet = 0, mel = 0, bands = 128, c;
    double range = 80;
    wf_spec_opts so = {0};
    wf_cmap cmap = WF_CMAP_VIRIDIS;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage_spectrogram(stdout); return 0;
        case OPT_MEL: mel = 1; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_BANDS:
            if (whole(optarg, 1, 1024, &bands))
                return wf_cli_usage_error("spectrogram", "--bands takes a count from 1 to 1024, got '%s'",
                                          optarg);
            break;
        case OPT_RANGE:
            if (wf_parse_number(optarg, &range) || !(range > 0) || range > 1000)
                return wf_cli_usage_error("spectrogram", "--db-range takes a positive number of dB, got '%s'",
                                          optarg);
            break;
        case OPT_SIZE:
            if (parse_size(optarg, &w, &h))
                return wf_cli_usage_error("spectrogram", "--size takes WxH in pixels (e.g. 1000x400), got '%s'",
                                          optarg);
            size_text = optarg;
            break;
        case OPT_FFTN:
            if (whole(optarg, 16, 1 << 20, &so.fft) || so.fft % 2)
                return wf_cli_usage_error("spectrogram", "--fft takes an even size from 16 to 2^20, got '%s'",
                                          optarg);
            break;
        case OPT_HOPN:
            if (whole(optarg, 1, 1 << 20, &so.hop))
                return wf_cli_usage_error("spectrogram", "--hop takes a sample count, got '%s'", optarg);
            break;
        case OPT_CMAP:
            if (wf_cmap_parse(optarg, &cmap))
                return wf_cli_usage_error("spectrogram", "--colormap is viridis or magma, not '%s'", optarg);
            break;
        default: usage_spectrogram(stderr); return 2;
        }
    }
    if (optind != argc - 1)
        return wf_cli_usage_error("spectrogram", "expects one audio FILE%s", "");
    if (!out)
        return wf_cli_usage_error("spectrogram", "needs -o OUT.png (the picture to write)%s", "");
    if (!ends_with(out, ".png"))
        return wf_cli_usage_error("spectrogram", "writes PNG: OUT must end in .png, not '%s'", out);
    if (so.hop > (so.fft ? so.fft : 2048))
        return wf_cli_usage_error("spectrogram", "--hop must not exceed the FFT size%s", "");
    so.mel = mel ? bands : 0;
    const char *path = argv[optind];
    wf_diags d = {0};
    wf_real *x = NULL;
    int64_t n = 0;
    int chans = 0, status = 1;
    /* the file's own rate (wf_audio_load keeps it but does not say it) */
    wf_audio_reader *r = wf_audio_open(path, 0, 1, &d);
    if (!r)
        return wf_cli_finish(&d, 1);
    double rate = wf_audio_file_rate(r);
    wf_audio_close(r);
    if (wf_audio_load(path, 0, 1, &x, &n, &chans, &d))
        return wf_cli_finish(&d, 1);
    wf_spectrogram s;
    double t0 = wf_now();
    if (wf_spectrogram_compute(x, n, rate, &so, &s)) {
        wf_afree(x);
        return wf_cli_usage_error("spectrogram", "the FFT size, hop or bands do not suit this file%s", "");
    }
    wf_plot_area A;
    wf_image *im = wf_plot_spectrogram(&s, w, h, range, cmap, title ? title : base_name(path), &A);
    if (!im) {
        wf_spectrogram_free(&s);
        wf_afree(x);
        return wf_cli_usage_error("spectrogram", "--size %s leaves no room for the axes", size_text);
    }
    char area[64], xaxis[64], yaxis[96], levels[96], soft[64];
    snprintf(area, sizeof area, "%d %d %d %d", A.x, A.y, A.w, A.h);
    snprintf(xaxis, sizeof xaxis, "seconds 0 %.9g", s.seconds);
    snprintf(yaxis, sizeof yaxis, "%s %.9g %.9g", s.mel ? "mel-hz" : "linear-hz",
             s.mel ? wf_hz_of_mel(s.lo) : s.lo, s.mel ? wf_hz_of_mel(s.hi) : s.hi);
    snprintf(levels, sizeof levels, "dB %.9g %.9g %s", s.peak - range, (double)s.peak,
             wf_cmap_name(cmap));
    snprintf(soft, sizeof soft, "weft %s", WF_VERSION);
    const char *keys[] = {"Software", "weft:plot-area", "weft:x-axis", "weft:y-axis", "weft:levels"};
    const char *vals[] = {soft, area, xaxis, yaxis, levels};
    if (write_png(im, out, keys, vals, 5, &d) == 0) {
        status = 0;
        if (!quiet)
            fprintf(stderr, "weft: wrote %s (%dx%d; %.3g s at %g Hz, %d %s, peak %.1f dB, %g dB shown; %.2f s)\n",
                    out, w, h, s.seconds, rate, s.rows, s.mel ? "mel bands" : "bins",
                    (double)s.peak, range, wf_now() - t0);
    }
    wf_image_free(im);
    wf_spectrogram_free(&s);
    wf_afree(x);
    return wf_cli_finish(&d, status);
}

/* ------------------------------------------------------------------- plot */

static void usage_plot(FILE *f)
{
    fputs("usage: weft plot LOG.csv -o OUT.png|OUT.svg [options]\n"
          "\n"
          "Plots the loss curves of a fit's CSV log (`weft fit --log`): every column whose\n"
          "name holds \"loss\" (loss, and a validation loss when there is one) against the\n"
          "step column (or the row), on a log axis, with ticks, labels and a legend.\n"
          "Empty cells are gaps (a loss logged only every few steps). The format follows\n"
          "OUT's extension: PNG, or SVG written directly.\n"
          "\n"
          "  -o, --output FILE     the picture to write (required)\n"
          "  --size WxH            in pixels (default 800x500)\n"
          "  --linear              a linear loss axis instead of a log one\n"
          "  --title TEXT          a title (default: the log's name)\n"
          "  -q, --quiet           no summary line\n"
          "\n"
          "A PNG records the layout in text chunks: weft:plot-area (x y w h, in pixels),\n"
          "weft:x-axis and weft:y-axis (the values at the area's first and last pixel\n"
          "centres; y log or linear) and weft:series (the columns drawn).\n",
          f);
}

typedef struct csv {
    char **names;
    int ncols, nrows;
    double *v; /* [nrows x ncols], NaN for empty cells */
} csv;

static void csv_free(csv *t)
{
    for (int i = 0; i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->v);
}

static char *trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return wf_xstrndup(s, n);
}

/* Splits line [s, e) at commas into cells (caller frees each and the array). */
static char **cells_of(const char *s, const char *e, int *n)
{
    int cap = 8;
    char **v = wf_xmalloc(sizeof *v * (size_t)cap);
    *n = 0;
    for (;;) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        const char *end = c ? c : e;
        if (*n == cap)
            v = wf_xrealloc(v, sizeof *v * (size_t)(cap *= 2));
        v[(*n)++] = trimmed(s, (size_t)(end - s));
        if (!c)
            return v;
        s = c + 1;
    }
}

static void cells_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int read_csv(const char *path, csv *t, wf_diags *d)
{
    memset(t, 0, sizeof *t);
    size_t len;
    char *text = wf_read_file(path, &len);
    if (!text) {
        wf_report_cannot_read_log(d, WF_NOWHERE, NULL, path, strerror(errno));
        return -1;
    }
    int rc = -1, line = 0, cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        line++;
        int n;
        char **cells = cells_of(p, e, &n);
        int blank = n == 1 && !cells[0][0];
        p = e + 1;
        if (blank || cells[0][0] == '#') {
            cells_free(cells, n);
            continue;
        }
        if (!t->names) {
            t->names = cells;
            t->ncols = n;
            continue;
        }
        if (t->nrows == cap)
            t->v = wf_xrealloc(t->v, sizeof(double) * (size_t)t->ncols * (size_t)(cap = cap ? 2 * cap : 256));
        double *row = t->v + (size_t)t->nrows * (size_t)t->ncols;
        for (int k = 0; k < t->ncols; k++) {
            row[k] = NAN;
            if (k >= n || !cells[k][0])
                continue;
            char *stop;
            row[k] = strtod(cells[k], &stop);
            if (*stop) {
                wf_report_bad_log_value(d, WF_NOWHERE, NULL, path, line, cells[k], t->names[k]);
                cells_free(cells, n);
                goto done;
            }
        }
        t->nrows++;
        cells_free(cells, n);
    }
    rc = 0;
done:
    free(text);
    return rc;
}

static int lossy(const char *name)
{
    for (const char *p = name; *p; p++)
        if (strncasecmp(p, "loss", 4) == 0)
            return 1;
    return 0;
}

int wf_cmd_plot(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"size", required_argument, NULL, OPT_SIZE},
        {"title", required_argument, NULL, OPT_TITLE}, {"linear", no_argument, NULL, OPT_LINEAR},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *title = NULL, *size_text = "800x500";
    int w = 800, h = 500, quiet = 0, linear = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage_plot(stdout); return 0;
        case OPT_TITLE: title = optarg; break;
        case OPT_LINEAR: linear = 1; break;
        case OPT_SIZE:
            if (parse_size(optarg, &w, &h))
                return wf_cli_usage_error("plot", "--size takes WxH in pixels (e.g. 800x500), got '%s'", optarg);
            size_text = optarg;
            break;
        default: usage_plot(stderr); return 2;
        }
    }
    if (optind != argc - 1)
        return wf_cli_usage_error("plot", "expects one LOG.csv%s", "");
    if (!out)
        return wf_cli_usage_error("plot", "needs -o OUT.png or OUT.svg (the picture to write)%s", "");
    int svg = ends_with(out, ".svg");
    if (!svg && !ends_with(out, ".png"))
        return wf_cli_usage_error("plot", "writes PNG or SVG: OUT must end in .png or .svg, not '%s'", out);
    const char *path = argv[optind];
    wf_diags d = {0};
    csv t;
    if (read_csv(path, &t, &d)) {
        csv_free(&t);
        return wf_cli_finish(&d, 1);
    }
    int xcol = -1, status = 1;
    wf_series *series = wf_xcalloc((size_t)t.ncols + 1, sizeof *series);
    double *xs = wf_xmalloc(sizeof(double) * ((size_t)t.nrows + 1));
    double *ys = wf_xmalloc(sizeof(double) * ((size_t)t.nrows + 1) * (size_t)(t.ncols + 1));
    wf_str names = {0}, ylabel = {0};
    int ns = 0;
    for (int k = 0; k < t.ncols; k++)
        if (strcasecmp(t.names[k], "step") == 0 && xcol < 0)
            xcol = k;
    for (int i = 0; i < t.nrows; i++)
        xs[i] = xcol >= 0 ? t.v[(size_t)i * t.ncols + xcol] : i;
    for (int k = 0; k < t.ncols; k++) {
        if (!lossy(t.names[k]))
            continue;
        double *y = ys + (size_t)ns * (size_t)t.nrows;
        for (int i = 0; i < t.nrows; i++)
            y[i] = t.v[(size_t)i * t.ncols + k];
        series[ns++] = (wf_series){t.names[k], xs, y, t.nrows};
        wf_str_printf(&names, "%s%s", ns > 1 ? ", " : "", t.names[k]);
    }
    if (ns == 0) {
        wf_str header = {0};
        for (int k = 0; k < t.ncols; k++)
            wf_str_printf(&header, "%s%s", k ? "," : "", t.names[k]);
        wf_report_no_loss_column(&d, WF_NOWHERE, NULL, path, header.s ? header.s : "");
        wf_str_free(&header);
        goto done;
    }
    wf_str_printf(&ylabel, "%s%s", ns > 1 ? "loss" : series[0].name, linear ? "" : " (log scale)");
    wf_line_plot p = {w, h, title ? title : base_name(path), xcol >= 0 ? "step" : "row",
                      ylabel.s, !linear, series, ns};
    int points = 0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < t.nrows; i++)
            points += isfinite(xs[i]) && isfinite(series[k].y[i]) && (linear || series[k].y[i] > 0);
    if (points == 0) {
        wf_report_nothing_to_plot(&d, WF_NOWHERE, NULL, path);
        goto done;
    }
    if (svg) {
        char *doc = wf_plot_lines_svg(&p);
        if (!doc) {
            status = wf_cli_usage_error("plot", "--size %s leaves no room for the axes", size_text);
            goto done;
        }
        if (wf_write_file_atomic(out, doc, strlen(doc)))
            wf_report_cannot_write(&d, WF_NOWHERE, NULL, out, strerror(errno));
        else
            status = 0;
        free(doc);
    } else {
        wf_plot_area A;
        double range[4];
        wf_image *im = wf_plot_lines_png(&p, &A, range);
        if (!im) {
            status = wf_cli_usage_error("plot", "--size %s leaves no room for the axes", size_text);
            goto done;
        }
        char area[64], xaxis[96], yaxis[96], soft[64];
        snprintf(area, sizeof area, "%d %d %d %d", A.x, A.y, A.w, A.h);
        snprintf(xaxis, sizeof xaxis, "%s %.9g %.9g", p.xlabel, range[0], range[1]);
        snprintf(yaxis, sizeof yaxis, "%s %.9g %.9g", linear ? "linear" : "log", range[2], range[3]);
        snprintf(soft, sizeof soft, "weft %s", WF_VERSION);
        const char *keys[] = {"Software", "weft:plot-area", "weft:x-axis", "weft:y-axis", "weft:series"};
        const char *vals[] = {soft, area, xaxis, yaxis, names.s};
        status = write_png(im, out, keys, vals, 5, &d) ? 1 : 0;
        wf_image_free(im);
    }
    if (status == 0 && !quiet)
        fprintf(stderr, "weft: plotted %s against %s (%d rows); wrote %s\n", names.s,
                xcol >= 0 ? "step" : "row", t.nrows, out);
done:
    wf_str_free(&names);
    wf_str_free(&ylabel);
    free(series);
    free(xs);
    free(ys);
    csv_free(&t);
    return wf_cli_finish(&d, status);
}
