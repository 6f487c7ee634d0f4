/* Decoding PNGs with libpng for the tests of weft's pictures: the pixels as
 * RGB and the tEXt chunks, read back independently of the writer. */
#ifndef WF_TEST_PNG_READ_H
#define WF_TEST_PNG_READ_H

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_picture {
    int w, h;
    unsigned char *rgb; /* rows of w RGB triples */
    char keys[16][64], values[16][256];
    int ntext;
} png_picture;

/* 0 on success; -1 when the file is missing or not a PNG libpng decodes
 * to 8-bit RGB. */
static inline int png_picture_read(const char *path, png_picture *p)
{
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(p->rgb);
        p->rgb = NULL;
        return -1;
    }
    png_init_io(png, f);
    png_read_png(png, info, PNG_TRANSFORM_STRIP_16 | PNG_TRANSFORM_PACKING | PNG_TRANSFORM_STRIP_ALPHA,
                 NULL);
    p->w = (int)png_get_image_width(png, info);
    p->h = (int)png_get_image_height(png, info);
    int ok = png_get_color_type(png, info) == PNG_COLOR_TYPE_RGB && png_get_bit_depth(png, info) == 8;
    png_bytepp rows = png_get_rows(png, info);
    if (ok) {
        p->rgb = malloc((size_t)p->w * (size_t)p->h * 3);
        for (int y = 0; y < p->h; y++)
            memcpy(p->rgb + (size_t)y * p->w * 3, rows[y], (size_t)p->w * 3);
    }
    png_textp text;
    int n = 0;
    png_get_text(png, info, &text, &n);
    for (int i = 0; i < n && i < 16; i++) {
        snprintf(p->keys[i], sizeof p->keys[i], "%s", text[i].key);
        snprintf(p->values[i], sizeof p->values[i], "%s", text[i].text);
    }
    p->ntext = n < 16 ? n : 16;
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return ok ? 0 : -1;
}

static inline const char *png_picture_text(const png_picture *p, const char *key)
{
    for (int i = 0; i < p->ntext; i++)
        if (strcmp(p->keys[i], key) == 0)
            return p->values[i];
    return NULL;
}

static inline const unsigned char *png_picture_at(const png_picture *p, int x, int y)
{
    return p->rgb + ((size_t)y * (size_t)p->w + (size_t)x) * 3;
}

#endif
