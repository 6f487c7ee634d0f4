/* The canvas, text, colour maps and PNG writer of runtime/image.h.
 *
 * Colour maps: matplotlib's viridis and magma (van der Walt and Smith, 2015,
 * https://bids.github.io/colormap/, CC0), as the degree-6 polynomials Matt
 * Zucker fitted to their published 256-entry tables to minimise the largest
 * error (https://www.shadertoy.com/view/WlfXRN, CC0); the fit is within
 * 4/255 of viridis's table in each channel and 5.5/255 of magma's (at its
 * light end; tests/test_image.c checks), shades hard to tell apart. Both
 * rise steadily in lightness, so a picture printed in grey still reads
 * from dark (low) to light (high).
 *
 * PNG: libpng encodes into memory (its write callback appends to a buffer),
 * and util.c's wf_write_file_atomic puts the bytes in place, so a reader
 * never sees half a picture. */
#include "runtime/image.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/font.h"
#include "runtime/util.h"

wf_image *wf_image_new(int w, int h, wf_rgb bg)
{
    if (w < 1 || h < 1 || w > WF_IMAGE_MAX || h > WF_IMAGE_MAX)
        return NULL;
    wf_image *im = wf_xcalloc(1, sizeof *im);
    im->w = w;
    im->h = h;
    im->px = wf_xmalloc((size_t)w * (size_t)h * 3);
    wf_image_fill(im, 0, 0, w, h, bg);
    return im;
}

void wf_image_free(wf_image *im)
{
    if (!im)
        return;
    free(im->px);
    free(im);
}

void wf_image_put(wf_image *im, int x, int y, wf_rgb c)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h)
        return;
    unsigned char *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
}

wf_rgb wf_image_get(const wf_image *im, int x, int y)
{
    const unsigned char *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    return (wf_rgb){p[0], p[1], p[2]};
}

void wf_image_fill(wf_image *im, int x, int y, int w, int h, wf_rgb c)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > im->w ? im->w : x + w, y1 = y + h > im->h ? im->h : y + h;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++)
            wf_image_put(im, i, j, c);
}

void wf_image_line(wf_image *im, double x0, double y0, double x1, double y1, double width, wf_rgb c)
{
    double len = hypot(x1 - x0, y1 - y0);
    int steps = (int)ceil(len * 4) + 1;
    double r = width / 2;
    for (int s = 0; s <= steps; s++) {
        double t = (double)s / steps, x = x0 + t * (x1 - x0), y = y0 + t * (y1 - y0);
        if (width <= 1) {
            wf_image_put(im, (int)lround(x), (int)lround(y), c);
            continue;
        }
        for (int j = (int)floor(y - r); j <= (int)ceil(y + r); j++)
            for (int i = (int)floor(x - r); i <= (int)ceil(x + r); i++)
                if ((i - x) * (i - x) + (j - y) * (j - y) <= r * r)
                    wf_image_put(im, i, j, c);
    }
}

int wf_text_width(const char *s, int scale)
{
    size_t n = strlen(s);
    return n ? (int)(n * WF_FONT_ADVANCE - 1) * scale : 0;
}

void wf_image_text(wf_image *im, int x, int y, const char *s, int scale, const char *anchor,
                   int vertical, wf_rgb c)
{
    int w = wf_text_width(s, scale), h = 7 * scale;
    int u0 = anchor[0] == 'c' ? -w / 2 : anchor[0] == 'r' ? -w : 0;
    int v0 = anchor[1] == 'm' ? -h / 2 : anchor[1] == 'b' ? -h : 0;
    for (size_t k = 0; s[k]; k++) {
        const char *g = wf_font_glyph((unsigned char)s[k]);
        for (int gy = 0; gy < WF_FONT_H; gy++)
            for (int gx = 0; gx < WF_FONT_W; gx++) {
                if (g[gy * WF_FONT_W + gx] != '#')
                    continue;
                for (int a = 0; a < scale; a++)
                    for (int b = 0; b < scale; b++) {
                        int u = u0 + ((int)k * WF_FONT_ADVANCE + gx) * scale + a;
                        int v = v0 + gy * scale + b;
                        if (vertical)
                            wf_image_put(im, x + v, y - u, c);
                        else
                            wf_image_put(im, x + u, y + v, c);
                    }
            }
    }
}

/* ------------------------------------------------------------ colour maps */

/* c[k][channel]: the coefficient of t^k (Zucker's fits, see the top). */
static const double viridis[7][3] = {
    {0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
    {0.1050930431085774, 1.404613529898575, 1.384590162594685},
    {-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
    {-4.634230498983486, -5.799100973351585, -19.33244095627987},
    {6.228269936347081, 14.17993336680509, 56.69055260068105},
    {4.776384997670288, -13.74514537774601, -65.35303263337234},
    {-5.435455855934631, 4.645852612178535, 26.3124352495832},
};

static const double magma[7][3] = {
    {-0.002136485053939582, -0.000749655052795221, -0.005386127855323933},
    {0.2516605407371642, 0.6775232436837668, 2.494026599312351},
    {8.353717279216625, -3.577719514958484, 0.3144679030132573},
    {-27.66873308576866, 14.26473078096533, -13.64921318813922},
    {52.17613981234068, -27.94360607168351, 12.94416944238394},
    {-50.76852536473588, 29.04658282127291, 4.23415299384598},
    {18.65570506591883, -11.48977351997711, -5.601961508734096},
};

int wf_cmap_parse(const char *name, wf_cmap *m)
{
    if (strcmp(name, "viridis") == 0)
        *m = WF_CMAP_VIRIDIS;
    else if (strcmp(name, "magma") == 0)
        *m = WF_CMAP_MAGMA;
    else
        return -1;
    return 0;
}

const char *wf_cmap_name(wf_cmap m)
{
    return m == WF_CMAP_MAGMA ? "magma" : "viridis";
}

static unsigned char byte_of(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (unsigned char)lround(v * 255);
}

wf_rgb wf_cmap_at(wf_cmap m, double t)
{
    const double(*c)[3] = m == WF_CMAP_MAGMA ? magma : viridis;
    t = !(t > 0) ? 0 : t > 1 ? 1 : t; /* NaN to the low end */
    double v[3];
    for (int ch = 0; ch < 3; ch++) {
        double acc = c[6][ch];
        for (int k = 5; k >= 0; k--)
            acc = acc * t + c[k][ch];
        v[ch] = acc;
    }
    return (wf_rgb){byte_of(v[0]), byte_of(v[1]), byte_of(v[2])};
}

/* -------------------------------------------------------------------- PNG */

typedef struct png_out {
    wf_str buf;
    char *why;
    size_t whylen;
} png_out;

static void png_append(png_structp png, png_bytep data, size_t n)
{
    png_out *o = png_get_io_ptr(png);
    wf_str_putn(&o->buf, (const char *)data, n);
}

static void png_flush_none(png_structp png)
{
    (void)png;
}

static void png_failed(png_structp png, png_const_charp msg)
{
    png_out *o = png_get_error_ptr(png);
    snprintf(o->why, o->whylen, "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void png_warned(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

int wf_image_write_png(const wf_image *im, const char *path, const char *const *keys,
                       const char *const *values, int n, char *why, size_t whylen)
{
    png_out o = {{0}, why, whylen};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &o, png_failed, png_warned);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_text *text = wf_xcalloc((size_t)n + 1, sizeof *text);
    png_bytep *rows = wf_xmalloc(sizeof *rows * (size_t)im->h);
    volatile int rc = -1; /* read after a longjmp from libpng */
    if (!png || !info) {
        snprintf(why, whylen, "libpng cannot start an image");
        goto done;
    }
    if (setjmp(png_jmpbuf(png)))
        goto done;
    png_set_write_fn(png, &o, png_append, png_flush_none);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (int i = 0; i < n; i++) {
        text[i].compression = PNG_TEXT_COMPRESSION_NONE;
        text[i].key = (png_charp)keys[i];
        text[i].text = (png_charp)values[i];
    }
    if (n)
        png_set_text(png, info, text, n);
    for (int y = 0; y < im->h; y++)
        rows[y] = im->px + (size_t)y * (size_t)im->w * 3;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    if (wf_write_file_atomic(path, o.buf.s, o.buf.len)) {
        snprintf(why, whylen, "%s", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    free(text);
    free(rows);
    wf_str_free(&o.buf);
    return rc;
}
