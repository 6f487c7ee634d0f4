/* Param values and gradients, initialised from their declarations: numbers,
 * a seeded random draw (normal, uniform, xavier, he), or a file beside the
 * patch: a NumPy .npy of the values ([N], [R, C], or for `per frame`
 * [frames, N] or [frames, R, C]), or for `per frame` a float WAV whose sample
 * rate is the frame rate and whose channels are the param's values. */
#include "runtime/params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/audio.h"
#include "runtime/npy.h"
#include "runtime/rng.h"
#include "runtime/util.h"

size_t wf_param_len(const wf_param *p)
{
    return (size_t)p->rows * (size_t)p->cols;
}

/* Frames [frames x cols] into the param; a file with fewer frames than the
 * run holds its last one. */
static void hold_frames(wf_param *p, const wf_real *data, int64_t frames)
{
    for (int r = 0; r < p->rows; r++) {
        int64_t src = r < frames ? r : frames - 1;
        memcpy(p->value + (size_t)r * p->cols, data + (size_t)src * p->cols,
               sizeof(wf_real) * (size_t)p->cols);
    }
}

static int load_wav(wf_param *p, const char *path, wf_diags *d)
{
    const wf_param_decl *pd = p->decl;
    wf_real *data;
    int64_t frames;
    int chans;
    if (wf_audio_load(path, 0, 0, &data, &frames, &chans, d))
        return -1;
    int rc = 0;
    if (chans != p->cols) {
        wf_report_param_file_channels(d, pd->loc, NULL, pd->name, p->cols, path, chans);
        rc = -1;
    } else {
        hold_frames(p, data, frames);
    }
    wf_afree(data);
    return rc;
}

/* Whether the file's shape fits the param: its own shape for a constant
 * param; a frame axis first, then its own shape (or one value per frame)
 * for `per frame`, where a file of the param's own shape fills every frame. */
static int npy_fits(const wf_param_decl *pd, const wf_npy *f, int64_t *frames)
{
    int64_t own = pd->size;
    int matrix = pd->ndims == 2;
    int same = (f->ndim == 1 && f->shape[0] == own && !matrix) ||
               (f->ndim == 2 && matrix && f->shape[0] == pd->dims[0] && f->shape[1] == pd->dims[1]) ||
               (f->ndim == 0 && own == 1);
    *frames = 1;
    if (same)
        return 1;
    if (pd->rate != WF_RATE_CONTROL || f->ndim < 1 || f->shape[0] < 1)
        return 0;
    *frames = f->shape[0];
    if (f->ndim == 1)
        return own == 1;
    if (f->ndim == 2)
        return !matrix && f->shape[1] == own;
    return f->ndim == 3 && matrix && f->shape[1] == pd->dims[0] && f->shape[2] == pd->dims[1];
}

static int load_npy(wf_param *p, const char *path, wf_diags *d)
{
    const wf_param_decl *pd = p->decl;
    wf_npy info;
    wf_real *data;
    if (wf_npy_load(path, &info, &data, d))
        return -1;
    int64_t frames;
    int rc = 0;
    if (!npy_fits(pd, &info, &frames)) {
        char got[80], want[96];
        wf_npy_shape_text(&info, got, sizeof got);
        if (pd->ndims == 2)
            snprintf(want, sizeof want, "[%d, %d]%s", pd->dims[0], pd->dims[1],
                     pd->rate == WF_RATE_CONTROL ? " or [frames, ...] of it" : "");
        else
            snprintf(want, sizeof want, "[%d]%s", pd->size,
                     pd->rate == WF_RATE_CONTROL ? " or [frames, ...] of it" : "");
        wf_report_param_file_shape(d, pd->loc, NULL, path, got, pd->name, want);
        rc = -1;
    } else {
        hold_frames(p, data, frames);
    }
    wf_afree(data);
    return rc;
}

/* Uniform in [0, 1) from the counter stream of seed, in double. */
static double unit(uint64_t seed, uint64_t i)
{
    return (double)(wf_splitmix64(seed, i) >> 11) * (1.0 / 9007199254740992.0);
}

/* A standard normal from values 2i and 2i + 1 of the stream (Box-Muller). */
static double gauss(uint64_t seed, uint64_t i)
{
    double u1 = 1 - unit(seed, 2 * i), u2 = unit(seed, 2 * i + 1);
    return sqrt(-2 * log(u1)) * cos(2 * 3.14159265358979323846 * u2);
}

/* The draw's values, clamped to the bounds. Fan-in and fan-out are a
 * matrix's rows and columns (a vector's size, both). */
static void draw_values(wf_param *p)
{
    const wf_param_decl *pd = p->decl;
    const wf_param_draw *dw = &pd->draw;
    double fan_in = pd->ndims == 2 ? pd->dims[0] : pd->size;
    double fan_out = pd->ndims == 2 ? pd->dims[1] : pd->size;
    size_t len = wf_param_len(p);
    for (size_t j = 0; j < len; j++) {
        double v;
        switch (dw->kind) {
        case WF_DRAW_NORMAL: v = dw->a + dw->b * gauss(dw->seed, j); break;
        case WF_DRAW_UNIFORM: v = dw->a + (dw->b - dw->a) * unit(dw->seed, j); break;
        case WF_DRAW_XAVIER: { /* Glorot and Bengio 2010: uniform, limit sqrt(6 / (in + out)) */
            double lim = dw->a * sqrt(6 / (fan_in + fan_out));
            v = lim * (2 * unit(dw->seed, j) - 1);
            break;
        }
        default: /* he: He et al. 2015, normal with std sqrt(2 / fan_in) */
            v = dw->a * sqrt(2 / fan_in) * gauss(dw->seed, j);
            break;
        }
        if (pd->bounded)
            v = v < pd->lo ? pd->lo : v > pd->hi ? pd->hi : v;
        p->value[j] = (wf_real)v;
    }
}

/* The bytes of a param's value and gradient, or 0 when it would not fit. */
static wf_real *alloc_values(const wf_param *p, wf_diags *d)
{
    size_t len = wf_param_len(p);
    wf_real *v = len > SIZE_MAX / sizeof(wf_real) / 4 ? NULL : wf_aalloc_try(len * sizeof(wf_real));
    if (!v)
        wf_report_param_out_of_memory(d, p->decl->loc,
                                      "make it smaller, or give the run less length",
                                      p->decl->name, (double)len * sizeof(wf_real) / 1e9,
                                      p->rows, p->cols);
    return v;
}

int wf_params_init(wf_params *ps, const wf_graph *g, const wf_env *env, const char *base_dir,
                   wf_diags *d)
{
    ps->n = g->nparams;
    ps->v = wf_xcalloc((size_t)(g->nparams ? g->nparams : 1), sizeof *ps->v);
    for (int i = 0; i < g->nparams; i++) {
        wf_param *p = &ps->v[i];
        p->decl = &g->params[i];
        p->rows = (int)wf_env_frames(env, p->decl->rate);
        p->cols = p->decl->size;
        p->value = alloc_values(p, d);
        p->grad = p->value ? alloc_values(p, d) : NULL;
        if (!p->grad) {
            wf_params_free(ps);
            return -1;
        }
        const wf_param_decl *pd = p->decl;
        if (pd->init_file) {
            char *path = wf_path_in(base_dir, pd->init_file);
            const char *dot = strrchr(path, '.');
            int n0 = d->n;
            int rc = dot && strcasecmp(dot, ".npy") == 0 ? load_npy(p, path, d) : load_wav(p, path, d);
            free(path);
            /* a file's own errors name the file; the note names the param */
            if (rc && d->n > n0 && !d->v[d->n - 1].loc.src)
                wf_report_reads_file(d, pd->loc, NULL, "param", pd->name, pd->init_file);
            if (rc) {
                wf_params_free(ps);
                return -1;
            }
        } else if (pd->draw.kind != WF_DRAW_NONE) {
            draw_values(p);
        } else {
            size_t len = wf_param_len(p);
            for (size_t j = 0; j < len; j++)
                p->value[j] = (wf_real)pd->init[j % (size_t)p->cols];
        }
    }
    return 0;
}

void wf_params_free(wf_params *ps)
{
    for (int i = 0; ps->v && i < ps->n; i++) {
        wf_afree(ps->v[i].value);
        wf_afree(ps->v[i].grad);
    }
    free(ps->v);
    ps->v = NULL;
    ps->n = 0;
}

void wf_params_zero_grad(wf_params *ps)
{
    for (int i = 0; i < ps->n; i++)
        memset(ps->v[i].grad, 0, wf_param_len(&ps->v[i]) * sizeof(wf_real));
}

int wf_params_find(const wf_params *ps, const char *name)
{
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].decl->name, name) == 0)
            return i;
    return -1;
}

int wf_params_set(wf_params *ps, const char *name, const double *v, int n, wf_diags *d)
{
    int i = wf_params_find(ps, name);
    if (i < 0) {
        const char **names = wf_xmalloc(sizeof(char *) * (size_t)(ps->n + 1));
        for (int j = 0; j < ps->n; j++)
            names[j] = ps->v[j].decl->name;
        const char *s = wf_suggest(name, names, ps->n);
        char hint[128];
        if (s)
            snprintf(hint, sizeof hint, "did you mean '%s'?", s);
        wf_report_unknown_param(d, WF_NOWHERE, s ? hint : NULL, name);
        free(names);
        return -1;
    }
    wf_param *p = &ps->v[i];
    if (n != 1 && n != p->cols) {
        wf_report_set_size_mismatch(d, WF_NOWHERE, NULL, name, p->cols, n);
        return -1;
    }
    for (int j = 0; j < n; j++) {
        if (!isfinite(v[j])) {
            wf_report_set_not_finite(d, WF_NOWHERE, NULL, name, v[j]);
            return -1;
        }
        if (p->decl->bounded && (v[j] < p->decl->lo || v[j] > p->decl->hi)) {
            wf_report_set_out_of_range(d, WF_NOWHERE, NULL, name, v[j], p->decl->lo,
                                       p->decl->hi);
            return -1;
        }
        if (p->decl->log && v[j] <= 0) {
            wf_report_set_log_not_positive(d, WF_NOWHERE, NULL, name, v[j]);
            return -1;
        }
    }
    size_t len = wf_param_len(p);
    for (size_t j = 0; j < len; j++)
        p->value[j] = (wf_real)v[n == 1 ? 0 : j % (size_t)p->cols];
    return 0;
}
