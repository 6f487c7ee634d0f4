/* Unit tests of weft's pictures: the colour maps against matplotlib's
 * published tables, the font's glyphs, PNG writing (decoded back with
 * libpng), and spectrogram levels against closed forms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "png_read.h"
#include "runtime/font.h"
#include "runtime/image.h"
#include "runtime/plot.h"
#include "runtime/spectrogram.h"
#include "runtime/util.h"

#define PI 3.14159265358979323846

/* Entries 0, 64, 128, 192 and 255 of matplotlib's _cm_listed tables
 * (viridis, magma), which the polynomials fit to within 3.3/255 for
 * viridis and 5.2/255 for magma (largest at the ends), and half a level
 * more for the rounding to bytes. */
static const double viridis_table[5][4] = {
    {0, 0.267004, 0.004874, 0.329415},   {64, 0.229739, 0.322361, 0.545706},
    {128, 0.127568, 0.566949, 0.550556}, {192, 0.369214, 0.788888, 0.382914},
    {255, 0.993248, 0.906157, 0.143936},
};
static const double magma_table[3][4] = {
    {0, 0.001462, 0.000466, 0.013866},
    {128, 0.716387, 0.214982, 0.475290},
    {255, 0.987053, 0.991438, 0.749504},
};

static double luma(wf_rgb c)
{
    return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}

static void test_colour_maps(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++) {
        wf_rgb c = wf_cmap_at(WF_CMAP_VIRIDIS, viridis_table[i][0] / 255);
        assert_close(c.r, 255 * viridis_table[i][1], 0, 3.8);
        assert_close(c.g, 255 * viridis_table[i][2], 0, 3.8);
        assert_close(c.b, 255 * viridis_table[i][3], 0, 3.8);
    }
    for (int i = 0; i < 3; i++) {
        wf_rgb c = wf_cmap_at(WF_CMAP_MAGMA, magma_table[i][0] / 255);
        assert_close(c.r, 255 * magma_table[i][1], 0, 5.7);
        assert_close(c.g, 255 * magma_table[i][2], 0, 5.7);
        assert_close(c.b, 255 * magma_table[i][3], 0, 5.7);
    }
    /* lightness rises steadily: readable in greyscale */
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 32; k++)
            assert_true(luma(wf_cmap_at((wf_cmap)m, (k + 1) / 32.0)) >
                        luma(wf_cmap_at((wf_cmap)m, k / 32.0)));
    /* out of range and NaN go to the ends */
    wf_rgb lo = wf_cmap_at(WF_CMAP_VIRIDIS, 0), hi = wf_cmap_at(WF_CMAP_VIRIDIS, 1);
    wf_rgb below = wf_cmap_at(WF_CMAP_VIRIDIS, -3);
    assert_memory_equal(&lo, &below, 3);
    wf_rgb nan = wf_cmap_at(WF_CMAP_VIRIDIS, NAN), big = wf_cmap_at(WF_CMAP_VIRIDIS, 7);
    assert_memory_equal(&lo, &nan, 3);
    assert_memory_equal(&hi, &big, 3);
    wf_cmap m;
    assert_int_equal(wf_cmap_parse("magma", &m), 0);
    assert_int_equal(m, WF_CMAP_MAGMA);
    assert_int_equal(wf_cmap_parse("jet", &m), -1);
}

static void test_font(void **state)
{
    (void)state;
    for (int c = 32; c < 127; c++) {
        const char *g = wf_font_glyph(c);
        assert_int_equal(strlen(g), WF_FONT_W * WF_FONT_H);
        int ink = 0;
        for (int i = 0; i < WF_FONT_W * WF_FONT_H; i++) {
            assert_true(g[i] == '#' || g[i] == '.');
            ink += g[i] == '#';
        }
        assert_true(c == ' ' ? ink == 0 : ink > 0);
        for (int d = 32; d < c; d++)
            if (strcmp(g, wf_font_glyph(d)) == 0)
                fail_msg("'%c' and '%c' have the same glyph", c, d);
    }
    assert_string_equal(wf_font_glyph(200), wf_font_glyph(1)); /* the box */
    assert_int_equal(wf_text_width("ab", 2), (2 * WF_FONT_ADVANCE - 1) * 2);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/weft-image-XXXXXX";
    assert_non_null(mkdtemp(dir));
    wf_str path = {0};
    wf_str_printf(&path, "%s/a.png", dir);
    wf_image *im = wf_image_new(37, 21, (wf_rgb){255, 255, 255});
    assert_non_null(im);
    assert_null(wf_image_new(0, 5, (wf_rgb){0, 0, 0}));
    for (int x = 0; x < 37; x++)
        wf_image_put(im, x, x % 21, wf_cmap_at(WF_CMAP_MAGMA, x / 36.0));
    wf_image_text(im, 2, 2, "Hz", 1, "lt", 0, (wf_rgb){0, 0, 0});
    wf_image_put(im, -1, 3, (wf_rgb){1, 2, 3}); /* clipped, no crash */
    const char *keys[] = {"weft:test"}, *vals[] = {"1 2 3"};
    char why[128];
    assert_int_equal(wf_image_write_png(im, path.s, keys, vals, 1, why, sizeof why), 0);
    png_picture p;
    assert_int_equal(png_picture_read(path.s, &p), 0);
    assert_int_equal(p.w, 37);
    assert_int_equal(p.h, 21);
    assert_memory_equal(p.rgb, im->px, 37 * 21 * 3);
    assert_string_equal(png_picture_text(&p, "weft:test"), "1 2 3");
    /* the 'H' of the text: its left stem is ink from the top row down */
    for (int y = 2; y < 9; y++)
        assert_int_equal(png_picture_at(&p, 2, y)[0], 0);
    free(p.rgb);
    /* a folder that is not there: a reason, no file */
    wf_str bad = {0};
    wf_str_printf(&bad, "%s/none/b.png", dir);
    assert_int_equal(wf_image_write_png(im, bad.s, NULL, NULL, 0, why, sizeof why), -1);
    assert_true(strlen(why) > 0);
    wf_image_free(im);
    unlink(path.s);
    rmdir(dir);
    wf_str_free(&path);
    wf_str_free(&bad);
}

/* A sine of amplitude 1 at a bin's centre reads 0 dB in that bin and a
 * Hann window's -6 dB in its neighbours; the mel band centred on it reads
 * the power under its triangle; silence is -inf. */
static void test_spectrogram_levels(void **state)
{
    (void)state;
    double rate = 16000;
    int n = 16000, fft = 1024, k = 64; /* bin 64: 1000 Hz */
    wf_real *x = wf_xcalloc((size_t)n * 2, sizeof *x);
    for (int t = 0; t < n; t++)
        x[t] = (wf_real)sin(2 * PI * k * t / fft);
    wf_spectrogram s;
    wf_spec_opts o = {.fft = fft};
    assert_int_equal(wf_spectrogram_compute(x, 2 * (int64_t)n, rate, &o, &s), 0);
    assert_int_equal(s.frames, 2 * n / (fft / 4) + 1);
    assert_int_equal(s.rows, fft / 2 + 1);
    assert_close(s.freq[k], 1000, 1e-12, 0);
    assert_close(s.hop_seconds, 256 / rate, 1e-12, 0);
    assert_close(s.seconds, 2, 1e-12, 0);
    const float *mid = s.db + (size_t)(s.frames / 4) * s.rows;
    assert_close(mid[k], 0, 0, 0.01);
    assert_close(mid[k + 1], 20 * log10(0.5), 0, 0.01);
    assert_close(mid[k - 1], 20 * log10(0.5), 0, 0.01);
    assert_true(mid[k + 5] < -60);
    assert_close(s.peak, 0, 0, 0.01);
    /* past the tone and the last frame that reaches it: silence */
    const float *late = s.db + (size_t)(s.frames - 3) * s.rows;
    for (int r = 0; r < s.rows; r++)
        assert_true(isinf(late[r]) && late[r] < 0);
    wf_spectrogram_free(&s);

    /* 40 mel bands over 0-8 kHz: the band nearest 1 kHz is the loudest;
     * its level is the power under its triangle at the bins 63, 64, 65 */
    o.mel = 40;
    assert_int_equal(wf_spectrogram_compute(x, n, rate, &o, &s), 0);
    assert_int_equal(s.rows, 40);
    assert_close(s.lo, 0, 0, 1e-9);
    assert_close(s.hi, wf_mel_of_hz(8000), 1e-12, 0);
    mid = s.db + (size_t)(s.frames / 2) * s.rows;
    int best = 0;
    for (int r = 1; r < s.rows; r++)
        if (mid[r] > mid[best])
            best = r;
    int nearest = 0;
    for (int r = 1; r < s.rows; r++)
        if (fabs(s.freq[r] - 1000) < fabs(s.freq[nearest] - 1000))
            nearest = r;
    assert_int_equal(best, nearest);
    double lo = wf_hz_of_mel(s.row0 + (best - 1) * s.step), hi = wf_hz_of_mel(s.row0 + (best + 1) * s.step);
    double c = s.freq[best], want = 0, df = rate / fft;
    for (int b = k - 1; b <= k + 1; b++) {
        double f = b * df, wt = f <= c ? (f - lo) / (c - lo) : (hi - f) / (hi - c);
        want += (wt > 0 ? wt : 0) * (b == k ? 1 : 0.25);
    }
    assert_close(mid[best], 10 * log10(want), 0, 0.05);
    /* every band has a level (none empty, even those narrower than a bin) */
    wf_spectrogram_free(&s);
    o.mel = 256;
    assert_int_equal(wf_spectrogram_compute(x, n, rate, &o, &s), 0);
    mid = s.db + (size_t)(s.frames / 2) * s.rows;
    for (int r = 0; r < s.rows; r++)
        assert_true(isfinite(mid[r]));
    wf_spectrogram_free(&s);

    wf_spec_opts bad = {.fft = 15};
    assert_int_equal(wf_spectrogram_compute(x, n, rate, &bad, &s), -1);
    bad = (wf_spec_opts){.fft = 64, .hop = 65};
    assert_int_equal(wf_spectrogram_compute(x, n, rate, &bad, &s), -1);
    free(x);
}

/* The figure puts the tone's row where the axis says, and shows silence
 * as the colour map's low end. */
static void test_spectrogram_figure(void **state)
{
    (void)state;
    double rate = 8000;
    int n = 8000;
    wf_real *x = wf_xcalloc((size_t)n, sizeof *x);
    for (int t = 0; t < n / 2; t++)
        x[t] = (wf_real)(0.5 * sin(2 * PI * 3000 * t / rate));
    wf_spectrogram s;
    wf_spec_opts o = {.fft = 512};
    assert_int_equal(wf_spectrogram_compute(x, n, rate, &o, &s), 0);
    wf_plot_area A;
    wf_image *im = wf_plot_spectrogram(&s, 600, 300, 80, WF_CMAP_VIRIDIS, "t", &A);
    assert_non_null(im);
    assert_true(A.x > 0 && A.y > 0 && A.x + A.w < 600 && A.y + A.h < 300);
    int col = A.x + A.w / 4, best = A.y;
    for (int y = A.y; y < A.y + A.h; y++)
        if (luma(wf_image_get(im, col, y)) > luma(wf_image_get(im, col, best)))
            best = y;
    double hz = s.hi - (best - A.y + 0.5) / A.h * (s.hi - s.lo);
    assert_close(hz, 3000, 0, 4000.0 / A.h + rate / 512);
    wf_rgb low = wf_cmap_at(WF_CMAP_VIRIDIS, 0);
    for (int y = A.y; y < A.y + A.h; y++) {
        wf_rgb c = wf_image_get(im, A.x + A.w - 3, y);
        assert_memory_equal(&c, &low, 3);
    }
    assert_null(wf_plot_spectrogram(&s, 60, 30, 80, WF_CMAP_VIRIDIS, NULL, NULL));
    wf_image_free(im);
    wf_spectrogram_free(&s);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colour_maps),
        cmocka_unit_test(test_font),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_spectrogram_levels),
        cmocka_unit_test(test_spectrogram_figure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
