/* A small built-in bitmap font for the labels of weft's pictures
 * (runtime/image.c): printable ASCII in cells of WF_FONT_W x WF_FONT_H
 * pixels, capitals and digits 7 pixels high, descenders 2 below. */
#ifndef WF_RUNTIME_FONT_H
#define WF_RUNTIME_FONT_H

#define WF_FONT_W 5
#define WF_FONT_H 9
#define WF_FONT_ADVANCE 6 /* pixels from one glyph's left edge to the next */

/* The glyph of c as WF_FONT_H rows of WF_FONT_W characters, '#' for ink;
 * a box for characters outside printable ASCII. */
const char *wf_font_glyph(int c);

#endif
