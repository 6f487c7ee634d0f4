/* Figures: a spectrogram with its axes and colour bar, and line plots (a
 * fit's loss curves) with axes, ticks, labels and a legend, as PNG
 * (runtime/image.h) or SVG text. */
#ifndef WF_PLOT_H
#define WF_PLOT_H

#include "runtime/image.h"
#include "runtime/spectrogram.h"

/* Where the data sit in a figure, in pixels (x, y the top-left corner). */
typedef struct wf_plot_area {
    int x, y, w, h;
} wf_plot_area;

/* The spectrogram as a w x h picture: time left to right, the axis of s
 * (Hz or mel) bottom to top, levels from s->peak - range_db (the colour
 * map's low end, and everything below it) to s->peak (its high end). Pixel
 * column i of the area shows the loudest frame centred in times
 * [i, i + 1) * seconds / area.w (the nearest frame if none), pixel row j
 * (0 at the top) the loudest row centred in its stretch of the axis, row j
 * standing for axis position hi - (j + 0.5) (hi - lo) / area.h. NULL when
 * w x h leaves no room for the data. */
wf_image *wf_plot_spectrogram(const wf_spectrogram *s, int w, int h, double range_db, wf_cmap m,
                              const char *title, wf_plot_area *area);

typedef struct wf_series {
    const char *name;
    const double *x, *y;
    int n;
} wf_series;

typedef struct wf_line_plot {
    int w, h;
    const char *title, *xlabel, *ylabel;
    int logy;              /* y on a log axis (values <= 0 are left out) */
    const wf_series *series;
    int nseries;
} wf_line_plot;

/* The colour of series i (Okabe and Ito's palette for colour-blind readers). */
wf_rgb wf_plot_colour(int i);

/* The plot as a PNG image, or as an SVG document (caller frees). NULL when
 * no series has a point to draw or w x h leaves no room. When not NULL,
 * area gets where the data sit and range the axes' spans: x at the area's
 * left and right pixel centres, y at its bottom and top ones. */
wf_image *wf_plot_lines_png(const wf_line_plot *p, wf_plot_area *area, double range[4]);
char *wf_plot_lines_svg(const wf_line_plot *p);

#endif
