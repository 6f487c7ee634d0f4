/* Figures (runtime/plot.h). The line plot is laid out once and drawn
 * through a small surface interface, onto the raster canvas for PNG or as
 * SVG elements, so the two outputs match. Ticks are "nice" numbers: 1, 2
 * or 5 times a power of ten on linear axes, decades (with 2 and 5 between
 * when the range is short) on log axes. */
#include "runtime/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/font.h"
#include "runtime/util.h"

static const wf_rgb white = {255, 255, 255}, black = {0, 0, 0}, grid = {225, 225, 225},
                    grey = {90, 90, 90};

wf_rgb wf_plot_colour(int i)
{
    static const wf_rgb okabe_ito[] = {
        {0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167},
        {230, 159, 0}, {86, 180, 233}, {0, 0, 0},   {240, 228, 66},
    };
    return okabe_ito[i % 8];
}

/* ------------------------------------------------------------------ ticks */

#define MAX_TICKS 64

typedef struct ticks {
    double v[MAX_TICKS];
    int major[MAX_TICKS]; /* labelled */
    int n;
} ticks;

/* Ticks of a linear axis over [lo, hi], about `want` of them. */
static double nice_step(double lo, double hi, int want)
{
    double raw = (hi - lo) / (want > 1 ? want : 1);
    if (!(raw > 0))
        return 1;
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void linear_ticks(double lo, double hi, int want, ticks *t)
{
    double step = nice_step(lo, hi, want);
    t->n = 0;
    for (double k = ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && t->n < MAX_TICKS; k++) {
        t->v[t->n] = k * step == 0 ? 0 : k * step; /* no -0 */
        t->major[t->n++] = 1;
    }
}

/* Ticks of a log axis over [10^lo, 10^hi]: decades, or 1-2-5 or every
 * integer multiple when the range holds fewer than three of them; labels on
 * all when they are few, else on the 1-2-5 ones. */
static void log_ticks(double lo, double hi, ticks *t)
{
    static const double sets[3][9] = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    static const int sizes[3] = {1, 3, 9};
    for (int s = 0; s < 3; s++) {
        t->n = 0;
        for (double e = floor(lo); e <= ceil(hi); e++)
            for (int m = 0; m < sizes[s]; m++) {
                double v = sets[s][m] * pow(10, e), l = log10(v);
                if (l >= lo - 1e-9 && l <= hi + 1e-9 && t->n < MAX_TICKS) {
                    t->v[t->n] = v;
                    t->major[t->n++] = sets[s][m] == 1 || sets[s][m] == 2 || sets[s][m] == 5;
                }
            }
        if (t->n >= 3 || s == 2)
            break;
    }
    if (t->n <= 6)
        for (int k = 0; k < t->n; k++)
            t->major[k] = 1;
}

static void label_of(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%g", v);
}

/* ------------------------------------------------------------ spectrogram */

static int font_scale(int w, int h)
{
    return w >= 560 && h >= 280 ? 2 : 1;
}

/* For each of the area's n pixels along an axis, the data indices [a, b]
 * whose centres (c0 + i * step, i in 0..count) fall in its stretch [p0, p1)
 * of the axis, or the nearest one. */
static void spans(int n, double p_lo, double p_hi, int flip, double c0, double step, int count,
                  int *a, int *b)
{
    for (int j = 0; j < n; j++) {
        int jj = flip ? n - 1 - j : j;
        double p0 = p_lo + (p_hi - p_lo) * jj / n, p1 = p_lo + (p_hi - p_lo) * (jj + 1) / n;
        double i0 = ceil((p0 - c0) / step), i1 = ceil((p1 - c0) / step) - 1;
        if (i1 < i0) {
            i0 = i1 = floor(((p0 + p1) / 2 - c0) / step + 0.5);
        }
        i0 = i0 < 0 ? 0 : i0 > count - 1 ? count - 1 : i0;
        i1 = i1 < 0 ? 0 : i1 > count - 1 ? count - 1 : i1;
        a[j] = (int)i0;
        b[j] = (int)i1;
    }
}

static void format_hz(double hz, int khz, char *buf, size_t n)
{
    if (khz)
        snprintf(buf, n, "%g", hz / 1000);
    else
        snprintf(buf, n, "%g", hz);
}

wf_image *wf_plot_spectrogram(const wf_spectrogram *s, int w, int h, double range_db, wf_cmap m,
                              const char *title, wf_plot_area *area)
{
    int sc = font_scale(w, h), ch = 7 * sc, cw = WF_FONT_ADVANCE * sc, tick = 3 * sc;
    int left = 2 * sc + ch + 3 * sc + 6 * cw + tick + 2 * sc;
    int bar_w = 8 * sc;
    int right = 6 * sc + bar_w + tick + 2 * sc + 5 * cw + 3 * sc + ch + 4 * sc;
    int top = title ? ch + 8 * sc : 5 * sc;
    int bottom = tick + 3 * sc + ch + 4 * sc + ch + 4 * sc;
    wf_plot_area A = {left, top, w - left - right, h - top - bottom};
    if (A.w < 16 || A.h < 16)
        return NULL;
    wf_image *im = wf_image_new(w, h, white);
    if (!im)
        return NULL;
    if (area)
        *area = A;

    /* the heat map: each pixel the loudest value of its frames and rows */
    int *ca = wf_xmalloc(sizeof(int) * (size_t)A.w), *cb = wf_xmalloc(sizeof(int) * (size_t)A.w);
    int *ra = wf_xmalloc(sizeof(int) * (size_t)A.h), *rb = wf_xmalloc(sizeof(int) * (size_t)A.h);
    spans(A.w, 0, s->seconds, 0, 0, s->hop_seconds, s->frames, ca, cb);
    spans(A.h, s->lo, s->hi, 1, s->row0, s->step, s->rows, ra, rb);
    float *col = wf_xmalloc(sizeof(float) * (size_t)A.h);
    double floor_db = s->peak - range_db;
    for (int i = 0; i < A.w; i++) {
        for (int j = 0; j < A.h; j++)
            col[j] = -INFINITY;
        for (int f = ca[i]; f <= cb[i]; f++) {
            const float *row = s->db + (size_t)f * s->rows;
            for (int j = 0; j < A.h; j++)
                for (int r = ra[j]; r <= rb[j]; r++)
                    if (row[r] > col[j])
                        col[j] = row[r];
        }
        for (int j = 0; j < A.h; j++) {
            double t = isfinite(s->peak) ? (col[j] - floor_db) / range_db : 0;
            wf_image_put(im, A.x + i, A.y + j, wf_cmap_at(m, t));
        }
    }
    free(col);
    free(ca);
    free(cb);
    free(ra);
    free(rb);

    /* frame, time axis */
    wf_image_fill(im, A.x - 1, A.y - 1, A.w + 2, 1, black);
    wf_image_fill(im, A.x - 1, A.y + A.h, A.w + 2, 1, black);
    wf_image_fill(im, A.x - 1, A.y - 1, 1, A.h + 2, black);
    wf_image_fill(im, A.x + A.w, A.y - 1, 1, A.h + 2, black);
    char buf[64];
    ticks t;
    linear_ticks(0, s->seconds, A.w / (10 * cw) > 2 ? A.w / (10 * cw) : 2, &t);
    for (int k = 0; k < t.n; k++) {
        int x = A.x + (int)lround(t.v[k] / s->seconds * A.w);
        wf_image_fill(im, x, A.y + A.h + 1, sc, tick, black);
        label_of(t.v[k], buf, sizeof buf);
        wf_image_text(im, x, A.y + A.h + 1 + tick + 3 * sc, buf, sc, "ct", 0, black);
    }
    wf_image_text(im, A.x + A.w / 2, h - 4 * sc, "time (s)", sc, "cb", 0, black);

    /* frequency axis: Hz or kHz, at their places on the axis */
    double fmax = s->mel ? wf_hz_of_mel(s->hi) : s->hi, fmin = s->mel ? wf_hz_of_mel(s->lo) : s->lo;
    int khz = fmax >= 2000;
    if (s->mel) {
        static const double mants[] = {1, 2, 5};
        t.n = 0;
        for (double e = 1; e <= 5 && t.n < MAX_TICKS; e++)
            for (int k = 0; k < 3; k++) {
                double v = mants[k] * pow(10, e);
                if (v >= fmin && v <= fmax && t.n < MAX_TICKS)
                    t.v[t.n++] = v;
            }
        if (fmin <= 0 && t.n < MAX_TICKS) {
            memmove(t.v + 1, t.v, sizeof(double) * (size_t)t.n);
            t.v[0] = 0;
            t.n++;
        }
    } else {
        linear_ticks(fmin, fmax, A.h / (4 * ch) > 2 ? A.h / (4 * ch) : 2, &t);
    }
    int last_y = 1 << 30;
    for (int k = 0; k < t.n; k++) {
        double a = s->mel ? wf_mel_of_hz(t.v[k]) : t.v[k];
        int y = A.y + A.h - (int)lround((a - s->lo) / (s->hi - s->lo) * A.h);
        if (last_y - y < 2 * ch)
            continue; /* too close to the one below */
        last_y = y;
        wf_image_fill(im, A.x - 1 - tick, y, tick, sc, black);
        format_hz(t.v[k], khz, buf, sizeof buf);
        wf_image_text(im, A.x - 1 - tick - 2 * sc, y, buf, sc, "rm", 0, black);
    }
    snprintf(buf, sizeof buf, "%s (%s)", s->mel ? "mel frequency" : "frequency",
             khz ? "kHz" : "Hz");
    wf_image_text(im, 2 * sc, A.y + A.h / 2, buf, sc, "ct", 1, black);

    /* colour bar in dB */
    int bx = A.x + A.w + 6 * sc;
    for (int j = 0; j < A.h; j++)
        wf_image_fill(im, bx, A.y + j, bar_w, 1, wf_cmap_at(m, 1 - (j + 0.5) / A.h));
    wf_image_fill(im, bx - 1, A.y - 1, bar_w + 2, 1, black);
    wf_image_fill(im, bx - 1, A.y + A.h, bar_w + 2, 1, black);
    wf_image_fill(im, bx - 1, A.y - 1, 1, A.h + 2, black);
    wf_image_fill(im, bx + bar_w, A.y - 1, 1, A.h + 2, black);
    if (isfinite(s->peak)) {
        linear_ticks(floor_db, s->peak, A.h / (4 * ch) > 2 ? A.h / (4 * ch) : 2, &t);
        for (int k = 0; k < t.n; k++) {
            int y = A.y + A.h - (int)lround((t.v[k] - floor_db) / range_db * A.h);
            wf_image_fill(im, bx + bar_w + 1, y, tick, sc, black);
            label_of(t.v[k], buf, sizeof buf);
            wf_image_text(im, bx + bar_w + 1 + tick + 2 * sc, y, buf, sc, "lm", 0, black);
        }
    }
    wf_image_text(im, w - 2 * sc - ch, A.y + A.h / 2, "level (dB)", sc, "ct", 1, black);
    if (title)
        wf_image_text(im, A.x + A.w / 2, 4 * sc, title, sc, "ct", 0, black);
    return im;
}

/* ------------------------------------------------------------ line plots */

typedef struct surface surface;
struct surface {
    void (*line)(surface *S, double x0, double y0, double x1, double y1, double width, wf_rgb c);
    void (*polyline)(surface *S, const double *xs, const double *ys, int n, double width, wf_rgb c);
    /* a grey outline, filled with *fill unless it is NULL */
    void (*rect)(surface *S, double x, double y, double w, double h, const wf_rgb *fill);
    void (*text)(surface *S, double x, double y, const char *s, const char *anchor, int vertical,
                 wf_rgb c);
    int sc;
    wf_image *im; /* PNG */
    wf_str *svg;  /* SVG */
};

typedef struct layout {
    wf_plot_area A;
    double xlo, xhi, ylo, yhi; /* y in log10 on a log axis */
    int any;
} layout;

static double yval(const wf_line_plot *p, double y)
{
    return p->logy ? log10(y) : y;
}

static int usable(const wf_line_plot *p, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!p->logy || y > 0);
}

static int lay_out(const wf_line_plot *p, layout *L)
{
    memset(L, 0, sizeof *L);
    L->xlo = L->ylo = INFINITY;
    L->xhi = L->yhi = -INFINITY;
    for (int s = 0; s < p->nseries; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!usable(p, x, y))
                continue;
            L->any = 1;
            y = yval(p, y);
            L->xlo = fmin(L->xlo, x);
            L->xhi = fmax(L->xhi, x);
            L->ylo = fmin(L->ylo, y);
            L->yhi = fmax(L->yhi, y);
        }
    if (!L->any)
        return -1;
    if (L->xhi <= L->xlo)
        L->xhi = L->xlo + 1;
    double span = L->yhi - L->ylo, least = p->logy ? 0.3 : fabs(L->yhi) * 0.1 + 1e-12;
    if (span < least) {
        double mid = (L->yhi + L->ylo) / 2;
        L->ylo = mid - least / 2;
        L->yhi = mid + least / 2;
        span = least;
    }
    L->ylo -= 0.05 * span;
    L->yhi += 0.05 * span;
    int sc = font_scale(p->w, p->h), ch = 7 * sc, cw = WF_FONT_ADVANCE * sc, tick = 3 * sc;
    int left = 3 * sc + ch + 4 * sc + 7 * cw + tick + 2 * sc;
    int top = (p->title ? ch + 6 * sc : 0) + ch + 10 * sc; /* title, legend */
    int bottom = tick + 3 * sc + ch + 5 * sc + ch + 4 * sc;
    L->A = (wf_plot_area){left, top, p->w - left - 8 * sc - cw, p->h - top - bottom};
    return L->A.w < 16 || L->A.h < 16 ? -1 : 0;
}

static double px(const layout *L, double x)
{
    return L->A.x + (x - L->xlo) / (L->xhi - L->xlo) * (L->A.w - 1);
}

static double py(const layout *L, double y)
{
    return L->A.y + (L->A.h - 1) - (y - L->ylo) / (L->yhi - L->ylo) * (L->A.h - 1);
}

static void draw_lines(const wf_line_plot *p, const layout *L, surface *S)
{
    const wf_plot_area *A = &L->A;
    int sc = S->sc, ch = 7 * sc, cw = WF_FONT_ADVANCE * sc, tick = 3 * sc;
    char buf[64];
    ticks t;
    /* grid and ticks */
    linear_ticks(L->xlo, L->xhi, A->w / (10 * cw) > 2 ? A->w / (10 * cw) : 2, &t);
    for (int k = 0; k < t.n; k++) {
        double x = px(L, t.v[k]);
        S->line(S, x, A->y, x, A->y + A->h - 1, 1, grid);
        S->line(S, x, A->y + A->h, x, A->y + A->h + tick, sc, black);
        label_of(t.v[k], buf, sizeof buf);
        S->text(S, x, A->y + A->h + tick + 3 * sc, buf, "ct", 0, black);
    }
    if (p->logy)
        log_ticks(L->ylo, L->yhi, &t);
    else
        linear_ticks(L->ylo, L->yhi, A->h / (4 * ch) > 2 ? A->h / (4 * ch) : 2, &t);
    for (int k = 0; k < t.n; k++) {
        double y = py(L, yval(p, t.v[k]));
        S->line(S, A->x, y, A->x + A->w - 1, y, 1, grid);
        S->line(S, A->x - tick, y, A->x - 1, y, sc, black);
        if (!t.major[k])
            continue;
        label_of(t.v[k], buf, sizeof buf);
        S->text(S, A->x - tick - 2 * sc, y, buf, "rm", 0, black);
    }
    S->rect(S, A->x - 1, A->y - 1, A->w + 2, A->h + 2, NULL);
    /* the curves, each a polyline through its usable points */
    for (int s = 0; s < p->nseries; s++) {
        const wf_series *se = &p->series[s];
        double *xs = wf_xmalloc(sizeof(double) * ((size_t)se->n + 1));
        double *ys = wf_xmalloc(sizeof(double) * ((size_t)se->n + 1));
        int n = 0;
        for (int i = 0; i < se->n; i++)
            if (usable(p, se->x[i], se->y[i])) {
                xs[n] = px(L, se->x[i]);
                ys[n++] = py(L, yval(p, se->y[i]));
            }
        S->polyline(S, xs, ys, n, 1.5 * sc, wf_plot_colour(s));
        free(xs);
        free(ys);
    }
    /* legend: one row above the area, right-aligned, where it hides no data */
    double x = A->x + A->w;
    for (int s = p->nseries - 1; s >= 0; s--) {
        double y = A->y - 4 * sc - ch / 2.0;
        x -= wf_text_width(p->series[s].name, sc);
        S->text(S, x, y, p->series[s].name, "lm", 0, black);
        x -= cw + 3 * cw;
        S->line(S, x, y, x + 3 * cw, y, 1.5 * sc, wf_plot_colour(s));
        x -= 4 * cw;
    }
    /* labels */
    if (p->xlabel)
        S->text(S, A->x + A->w / 2.0, p->h - 4 * sc, p->xlabel, "cb", 0, black);
    if (p->ylabel)
        S->text(S, 3 * sc, A->y + A->h / 2.0, p->ylabel, "ct", 1, black);
    if (p->title)
        S->text(S, A->x, 4 * sc, p->title, "lt", 0, black);
}

/* PNG surface */
static void png_line(surface *S, double x0, double y0, double x1, double y1, double width, wf_rgb c)
{
    wf_image_line(S->im, x0, y0, x1, y1, width, c);
}

static void png_polyline(surface *S, const double *xs, const double *ys, int n, double width,
                         wf_rgb c)
{
    for (int i = 0; i + 1 < n; i++)
        wf_image_line(S->im, xs[i], ys[i], xs[i + 1], ys[i + 1], width, c);
    if (n == 1)
        wf_image_line(S->im, xs[0], ys[0], xs[0], ys[0], 2 * width, c);
}

static void png_rect(surface *S, double x, double y, double w, double h, const wf_rgb *fill)
{
    int X = (int)lround(x), Y = (int)lround(y), W = (int)lround(w), H = (int)lround(h);
    if (fill)
        wf_image_fill(S->im, X, Y, W, H, *fill);
    wf_image_fill(S->im, X, Y, W, 1, grey);
    wf_image_fill(S->im, X, Y + H - 1, W, 1, grey);
    wf_image_fill(S->im, X, Y, 1, H, grey);
    wf_image_fill(S->im, X + W - 1, Y, 1, H, grey);
}

static void png_text(surface *S, double x, double y, const char *s, const char *anchor, int vertical,
                     wf_rgb c)
{
    wf_image_text(S->im, (int)lround(x), (int)lround(y), s, S->sc, anchor, vertical, c);
}

wf_image *wf_plot_lines_png(const wf_line_plot *p, wf_plot_area *area, double range[4])
{
    layout L;
    if (lay_out(p, &L))
        return NULL;
    wf_image *im = wf_image_new(p->w, p->h, white);
    if (!im)
        return NULL;
    surface S = {png_line, png_polyline, png_rect, png_text, font_scale(p->w, p->h), im, NULL};
    draw_lines(p, &L, &S);
    if (area)
        *area = L.A;
    if (range) {
        range[0] = L.xlo;
        range[1] = L.xhi;
        range[2] = p->logy ? pow(10, L.ylo) : L.ylo;
        range[3] = p->logy ? pow(10, L.yhi) : L.yhi;
    }
    return im;
}

/* SVG surface: coordinates in the same pixels, text in a sans-serif face
 * about as wide as the bitmap font the layout measures with */
static void svg_colour(wf_str *b, const char *attr, wf_rgb c)
{
    wf_str_printf(b, " %s=\"#%02x%02x%02x\"", attr, c.r, c.g, c.b);
}

static void svg_line(surface *S, double x0, double y0, double x1, double y1, double width, wf_rgb c)
{
    wf_str_printf(S->svg, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke-width=\"%g\"",
                  x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5, width);
    svg_colour(S->svg, "stroke", c);
    wf_str_puts(S->svg, "/>\n");
}

static void svg_polyline(surface *S, const double *xs, const double *ys, int n, double width,
                         wf_rgb c)
{
    wf_str_puts(S->svg, "<polyline fill=\"none\" stroke-linejoin=\"round\"");
    svg_colour(S->svg, "stroke", c);
    wf_str_printf(S->svg, " stroke-width=\"%g\" points=\"", width);
    for (int i = 0; i < n; i++)
        wf_str_printf(S->svg, "%s%.2f,%.2f", i ? " " : "", xs[i] + 0.5, ys[i] + 0.5);
    wf_str_puts(S->svg, "\"/>\n");
}

static void svg_rect(surface *S, double x, double y, double w, double h, const wf_rgb *fill)
{
    wf_str_printf(S->svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"", x + 0.5,
                  y + 0.5, w - 1, h - 1);
    if (fill)
        svg_colour(S->svg, "fill", *fill);
    else
        wf_str_puts(S->svg, " fill=\"none\"");
    svg_colour(S->svg, "stroke", grey);
    wf_str_puts(S->svg, "/>\n");
}

static void svg_escaped(wf_str *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            wf_str_puts(b, "&lt;");
        else if (*s == '>')
            wf_str_puts(b, "&gt;");
        else if (*s == '&')
            wf_str_puts(b, "&amp;");
        else if (*s == '"')
            wf_str_puts(b, "&quot;");
        else if ((unsigned char)*s >= 32)
            wf_str_putc(b, *s);
    }
}

static void svg_text(surface *S, double x, double y, const char *s, const char *anchor, int vertical,
                     wf_rgb c)
{
    int sc = S->sc;
    const char *ta = anchor[0] == 'c' ? "middle" : anchor[0] == 'r' ? "end" : "start";
    /* the baseline from the anchor's top, middle or bottom of the capitals */
    double shift = anchor[1] == 't' ? 7 * sc : anchor[1] == 'm' ? 3.5 * sc : 0;
    wf_str_printf(S->svg, "<text text-anchor=\"%s\"", ta);
    if (vertical)
        wf_str_printf(S->svg, " transform=\"translate(%.2f,%.2f) rotate(-90)\" x=\"0\" y=\"%.2f\"", x,
                      y, shift);
    else
        wf_str_printf(S->svg, " x=\"%.2f\" y=\"%.2f\"", x, y + shift);
    svg_colour(S->svg, "fill", c);
    wf_str_puts(S->svg, ">");
    svg_escaped(S->svg, s);
    wf_str_puts(S->svg, "</text>\n");
}

char *wf_plot_lines_svg(const wf_line_plot *p)
{
    layout L;
    if (lay_out(p, &L))
        return NULL;
    wf_str b = {0};
    int sc = font_scale(p->w, p->h);
    wf_str_printf(&b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                  "font-size=\"%d\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
                  p->w, p->h, p->w, p->h, 9 * sc);
    surface S = {svg_line, svg_polyline, svg_rect, svg_text, sc, NULL, &b};
    draw_lines(p, &L, &S);
    wf_str_puts(&b, "</svg>\n");
    return b.s;
}
