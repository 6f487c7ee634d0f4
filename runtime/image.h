/* Raster pictures for weft's plots: an RGB canvas with lines, rectangles
 * and text in the built-in font (runtime/font.h), the viridis and magma
 * colour maps, and PNG output through libpng, written atomically. */
#ifndef WF_IMAGE_H
#define WF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wf_rgb {
    unsigned char r, g, b;
} wf_rgb;

typedef struct wf_image {
    int w, h;
    unsigned char *px; /* rows of w RGB triples, top row first */
} wf_image;

/* A w x h canvas filled with bg; NULL when w or h is not in 1..WF_IMAGE_MAX. */
#define WF_IMAGE_MAX 16384
wf_image *wf_image_new(int w, int h, wf_rgb bg);
void wf_image_free(wf_image *im);

/* Pixels outside the canvas are left out (clipped) by every drawing call. */
void wf_image_put(wf_image *im, int x, int y, wf_rgb c);
wf_rgb wf_image_get(const wf_image *im, int x, int y);
void wf_image_fill(wf_image *im, int x, int y, int w, int h, wf_rgb c);
/* A line between pixel centres, width pixels thick (>= 1). */
void wf_image_line(wf_image *im, double x0, double y0, double x1, double y1, double width, wf_rgb c);

/* Text in the built-in font at scale times its size. anchor says where
 * (x, y) is: the horizontal part is 'l', 'c' or 'r' (left, centre, right
 * end) and the vertical part 't', 'm' or 'b' (top, middle, bottom of the
 * capitals), e.g. "rm" for a tick label left of an axis. vertical turns
 * the text a quarter to read upwards (anchors then apply to it turned). */
void wf_image_text(wf_image *im, int x, int y, const char *s, int scale, const char *anchor,
                   int vertical, wf_rgb c);
/* Width in pixels of s at this scale. */
int wf_text_width(const char *s, int scale);

/* Colour maps that stay readable in greyscale (their lightness rises
 * steadily from 0 to 1). */
typedef enum { WF_CMAP_VIRIDIS, WF_CMAP_MAGMA } wf_cmap;
int wf_cmap_parse(const char *name, wf_cmap *m);
const char *wf_cmap_name(wf_cmap m);
/* The colour at t in [0, 1] (clamped). */
wf_rgb wf_cmap_at(wf_cmap m, double t);

/* Encodes im as PNG with tEXt chunks (keys[i], values[i]; n of them, the
 * arrays may be NULL when n is 0) and writes it to path through a temporary
 * file and a rename. 0 on success; -1 with a reason in why otherwise. */
int wf_image_write_png(const wf_image *im, const char *path, const char *const *keys,
                       const char *const *values, int n, char *why, size_t whylen);

#endif
