/* Param values and gradients, initialised from their declarations. A `per
 * frame` param may start from a float WAV whose sample rate is the frame rate
 * and whose channels are the param's size (what `weft fit` writes for it). */
#include "runtime/params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/audio.h"
#include "runtime/util.h"

size_t wf_param_len(const wf_param *p)
{
    return (size_t)p->rows * (size_t)p->cols;
}

static int load_frames(wf_param *p, const char *base_dir, wf_diags *d)
{
    const wf_param_decl *pd = p->decl;
    char *path;
    if (pd->init_file[0] == '/' || !base_dir || !base_dir[0]) {
        path = wf_xstrdup(pd->init_file);
    } else {
        wf_str b = {0};
        wf_str_printf(&b, "%s/%s", base_dir, pd->init_file);
        path = b.s;
    }
    wf_real *data;
    int64_t frames;
    int chans;
    int loaded = wf_audio_load(path, 0, 0, &data, &frames, &chans, d) == 0;
    int rc = loaded ? 0 : -1;
    if (loaded && chans != p->cols) {
        wf_diag(d, WF_SEV_ERROR, pd->loc, NULL,
                "param '%s' has %d values per frame but '%s' has %d channels", pd->name, p->cols,
                path, chans);
        rc = -1;
    }
    if (rc == 0) {
        /* Fewer frames than the run: the last frame is held. */
        for (int r = 0; r < p->rows; r++) {
            int64_t src = r < frames ? r : frames - 1;
            memcpy(p->value + (size_t)r * p->cols, data + (size_t)src * chans,
                   sizeof(wf_real) * (size_t)p->cols);
        }
    }
    if (loaded)
        wf_afree(data);
    free(path);
    return rc;
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
        size_t len = wf_param_len(p);
        p->value = wf_aalloc(len * sizeof(wf_real));
        p->grad = wf_aalloc(len * sizeof(wf_real));
        if (p->decl->init_file) {
            if (load_frames(p, base_dir, d))
                return -1;
            continue;
        }
        for (size_t j = 0; j < len; j++)
            p->value[j] = (wf_real)p->decl->init[j % (size_t)p->cols];
    }
    return 0;
}

void wf_params_free(wf_params *ps)
{
    for (int i = 0; i < ps->n; i++) {
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
        wf_diag(d, WF_SEV_ERROR, (wf_loc){0}, s ? hint : NULL, "--set: the patch has no param '%s'",
                name);
        free(names);
        return -1;
    }
    wf_param *p = &ps->v[i];
    if (n != 1 && n != p->cols) {
        wf_fail(d, "--set %s: the param has %d values, got %d", name, p->cols, n);
        return -1;
    }
    for (int j = 0; j < n; j++) {
        if (!isfinite(v[j]) || (p->decl->bounded && (v[j] < p->decl->lo || v[j] > p->decl->hi))) {
            wf_fail(d, "--set %s: %g is outside the param's range [%g, %g]", name, v[j],
                    p->decl->lo, p->decl->hi);
            return -1;
        }
        if (p->decl->log && v[j] <= 0) {
            wf_fail(d, "--set %s: a log param needs a positive value, got %g", name, v[j]);
            return -1;
        }
    }
    size_t len = wf_param_len(p);
    for (size_t j = 0; j < len; j++)
        p->value[j] = (wf_real)v[n == 1 ? 0 : j % (size_t)p->cols];
    return 0;
}
