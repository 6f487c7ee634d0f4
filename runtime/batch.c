/* The items of a fit (batch.h): whole recordings, or excerpts drawn per step
 * uniformly over every sample position that starts a whole excerpt, from the
 * counter stream of the seed at (step, item), so a step's batch depends on
 * nothing but the seed and the step. */
#include "runtime/batch.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/rng.h"
#include "runtime/util.h"

struct wf_batch {
    wf_batch_opts o;
    const wf_real *const *audio;
    const int64_t *frames;
    int count, items;
    int first, total;   /* this batch's share of the whole (batch.h) */
    int64_t n;          /* samples of every target */
    wf_real **target;   /* per item, [n] */
    int64_t *len;       /* per item: samples its loss measures */
    int *rec;           /* per item: which recording, and from where */
    int64_t *off;
    wf_loss **loss;     /* per item, on its own length */
    wf_real **grad;     /* per item: its loss's gradient */
    double *li;
    int64_t usable;     /* excerpt positions over all recordings */
    int naligned;       /* signals cut with the items (a dry take for wet recordings) */
    struct aligned {
        const wf_real *data;
        int64_t frames;
        const wf_real *const *each; /* per recording (wf_batch_align_each), else NULL */
        const int64_t *each_frames;
        int div;        /* samples per frame */
        int64_t len;    /* frames per item */
        int chans;
        wf_real **cut;  /* per item, [n x chans] */
    } *aligned;
    int step;           /* the step the excerpts are of, -1 before the first */
};

/* Item i's stretch of an aligned signal: from its offset, silence past the
 * signal's end. */
static void cut(const wf_batch *b, struct aligned *a, int i)
{
    const wf_real *data = a->each ? a->each[b->rec[i]] : a->data;
    int64_t frames = a->each ? a->each_frames[b->rec[i]] : a->frames;
    int64_t from = b->off[i] / a->div, have = frames - from;
    have = have < 0 ? 0 : have > a->len ? a->len : have;
    size_t C = (size_t)a->chans;
    memcpy(a->cut[i], data + (size_t)from * C, sizeof(wf_real) * (size_t)have * C);
    memset(a->cut[i] + (size_t)have * C, 0, sizeof(wf_real) * (size_t)(a->len - have) * C);
}

/* Samples from one tile's start to the next: the excerpt rounded up to a
 * multiple of align, so that every tile starts on a frame boundary. */
static int64_t tile_stride(const wf_batch *b)
{
    return (b->n + b->o.align - 1) / b->o.align * b->o.align;
}

/* Excerpt positions of a recording of `frames` samples. */
static int64_t positions(const wf_batch *b, int64_t frames)
{
    if (b->o.tiles) /* consecutive excerpts from the start */
        return frames >= b->n ? (frames - b->n) / tile_stride(b) + 1 : 0;
    return frames >= b->n ? (frames - b->n) / b->o.align + 1 : 0;
}

static void excerpt(wf_batch *b, int step, int i)
{
    uint64_t r = wf_splitmix64(b->o.seed ^ ((uint64_t)step * 0x9E3779B97F4A7C15ull),
                               (uint64_t)(b->first + i));
    /* tiles: the (first + i)th excerpt of the recordings laid end to end */
    int64_t at = b->o.tiles ? (int64_t)(b->first + i) : (int64_t)(r % (uint64_t)b->usable);
    int t = 0;
    for (; t < b->count; t++) {
        int64_t u = positions(b, b->frames[t]);
        if (u <= 0)
            continue;
        if (at < u)
            break;
        at -= u;
    }
    b->rec[i] = t;
    b->off[i] = at * (b->o.tiles ? tile_stride(b) : b->o.align);
    memcpy(b->target[i], b->audio[t] + b->off[i], sizeof(wf_real) * (size_t)b->n);
    for (int k = 0; k < b->naligned; k++)
        cut(b, &b->aligned[k], i);
}

wf_batch *wf_batch_new(const wf_real *const *audio, const int64_t *frames, const char *const *names,
                       int count, int64_t nsamples, const wf_batch_opts *o, wf_diags *d)
{
    wf_batch *b = wf_xcalloc(1, sizeof *b);
    b->o = *o;
    b->audio = audio;
    b->frames = frames;
    b->count = count;
    b->n = nsamples;
    b->step = -1;
    if (b->o.align < 1)
        b->o.align = 1;
    b->items = o->excerpt > 0 || o->total > 0 ? (o->items > 0 ? o->items : 1) : count;
    if (o->excerpt > 0) {
        for (int t = 0; t < count; t++)
            b->usable += positions(b, frames[t]);
        if (o->tiles) /* every tile, or this share of them */
            b->items = o->total > 0 ? o->items : (int)b->usable;
        if (b->usable == 0) {
            wf_report_excerpt_too_long(d, WF_NOWHERE, "draw shorter excerpts (--excerpt)",
                                       (long long)nsamples);
            free(b);
            return NULL;
        }
    }
    b->first = o->first;
    b->total = o->total > 0 ? o->total : b->items;
    size_t I = (size_t)b->items;
    b->target = wf_xcalloc(I, sizeof *b->target);
    b->len = wf_xcalloc(I, sizeof *b->len);
    b->rec = wf_xcalloc(I, sizeof *b->rec);
    b->off = wf_xcalloc(I, sizeof *b->off);
    b->loss = wf_xcalloc(I, sizeof *b->loss);
    b->grad = wf_xcalloc(I, sizeof *b->grad);
    b->li = wf_xcalloc(I, sizeof *b->li);
    for (int i = 0; i < b->items; i++) {
        b->target[i] = wf_aalloc(sizeof(wf_real) * (size_t)nsamples);
        b->grad[i] = wf_aalloc(sizeof(wf_real) * (size_t)nsamples);
        if (o->excerpt > 0) {
            excerpt(b, 0, i);
            b->len[i] = nsamples;
        } else {
            int t = b->first + i;
            b->rec[i] = t;
            b->len[i] = frames[t] < nsamples ? frames[t] : nsamples;
            memcpy(b->target[i], audio[t], sizeof(wf_real) * (size_t)b->len[i]);
        }
        b->loss[i] = wf_loss_new(&o->loss, b->target[i], b->len[i], d);
        if (!b->loss[i]) {
            if (names)
                wf_report_in_recording(d, WF_NOWHERE, NULL, names[b->rec[i]]);
            wf_batch_free(b);
            return NULL;
        }
    }
    b->step = 0;
    return b;
}

void wf_batch_free(wf_batch *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->items; i++) {
        wf_afree(b->target[i]);
        wf_afree(b->grad[i]);
        wf_loss_free(b->loss[i]);
        for (int k = 0; k < b->naligned; k++)
            wf_afree(b->aligned[k].cut[i]);
    }
    for (int k = 0; k < b->naligned; k++)
        free(b->aligned[k].cut);
    free(b->aligned);
    free(b->target);
    free(b->len);
    free(b->rec);
    free(b->off);
    free(b->loss);
    free(b->grad);
    free(b->li);
    free(b);
}

int wf_batch_items(const wf_batch *b)
{
    return b->items;
}

const wf_real *wf_batch_target(const wf_batch *b, int i)
{
    return b->target[i];
}

static int add_aligned(wf_batch *b, const struct aligned *from)
{
    b->aligned = wf_xrealloc(b->aligned, sizeof *b->aligned * (size_t)(b->naligned + 1));
    struct aligned *a = &b->aligned[b->naligned];
    *a = *from;
    a->len = (b->n + a->div - 1) / a->div;
    a->cut = wf_xcalloc((size_t)b->items, sizeof *a->cut);
    for (int i = 0; i < b->items; i++) {
        a->cut[i] = wf_aalloc(sizeof(wf_real) * (size_t)(a->len ? a->len : 1) * (size_t)a->chans);
        cut(b, a, i);
    }
    return b->naligned++;
}

int wf_batch_align(wf_batch *b, const wf_real *data, int64_t frames, int chans)
{
    struct aligned a = {.data = data, .frames = frames, .div = 1, .chans = chans};
    return add_aligned(b, &a);
}

int wf_batch_align_each(wf_batch *b, const wf_real *const *data, const int64_t *frames, int chans,
                        int div)
{
    struct aligned a = {.each = data, .each_frames = frames, .div = div, .chans = chans};
    return add_aligned(b, &a);
}

const wf_real *wf_batch_aligned(const wf_batch *b, int k, int i)
{
    return b->aligned[k].cut[i];
}

void wf_batch_source(const wf_batch *b, int i, int *recording, int64_t *offset)
{
    *recording = b->rec[i];
    *offset = b->off[i];
}

int wf_batch_draw(wf_batch *b, int step)
{
    if (b->o.excerpt <= 0 || b->o.tiles || step == b->step)
        return 0;
    for (int i = 0; i < b->items; i++) {
        excerpt(b, step, i);
        wf_diags d = {0}; /* the recordings were checked whole when loaded */
        wf_loss_set_target(b->loss[i], b->target[i], &d);
        wf_diags_free(&d);
    }
    b->step = step;
    return 1;
}

double wf_batch_loss(wf_batch *b, const wf_real *const *y, int out_lanes, wf_real *dy)
{
    int I = b->items;
    /* one item's loss runs in parallel inside; several run one per thread.
     * Not `if (I > 1)`: under an inactive region the loss's own parallel
     * region would be a nested one, whose threads are made anew each time. */
    if (I == 1) {
        b->li[0] = wf_loss_eval(b->loss[0], y[0], dy ? b->grad[0] : NULL);
    } else {
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < I; i++)
            b->li[i] = wf_loss_eval(b->loss[i], y[out_lanes > 1 ? i : 0], dy ? b->grad[i] : NULL);
    }
    double loss = 0;
    for (int i = 0; i < I; i++)
        loss += b->li[i];
    loss /= b->total;
    if (dy) {
        memset(dy, 0, sizeof(wf_real) * (size_t)out_lanes * (size_t)b->n);
        wf_real w = (wf_real)(1.0 / b->total);
        for (int i = 0; i < I; i++) {
            wf_real *o = dy + (size_t)(out_lanes > 1 ? i : 0) * (size_t)b->n;
            for (int64_t t = 0; t < b->len[i]; t++)
                o[t] += w * b->grad[i][t];
        }
    }
    return loss;
}

double wf_batch_item_loss(wf_batch *b, int i, const wf_real *y)
{
    return wf_loss_eval(b->loss[i], y, NULL);
}
