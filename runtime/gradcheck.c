/* Gradient check: reverse mode against Richardson-extrapolated central
 * differences, D = D(h/2) + (D(h/2) - D(h)) / 3. */
#include "runtime/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rng.h"
#include "runtime/util.h"

typedef struct objective {
    wf_prog *p;
    wf_batch *batch;
    const wf_real *w; /* projection weights without a batch */
    size_t len;
} objective;

static double value(const objective *ob, wf_real *dy)
{
    const wf_real *y = wf_prog_forward(ob->p);
    if (ob->batch) {
        int lanes = wf_prog_out_lanes(ob->p);
        const wf_real *ys[64], **yl = lanes <= 64 ? ys : wf_xmalloc(sizeof *yl * (size_t)lanes);
        for (int l = 0; l < lanes; l++)
            yl[l] = wf_prog_out(ob->p, l);
        double v = wf_batch_loss(ob->batch, yl, lanes, dy);
        if (yl != ys)
            free(yl);
        return v;
    }
    double s = 0;
    for (size_t i = 0; i < ob->len; i++)
        s += (double)ob->w[i] * (double)y[i];
    if (dy)
        for (size_t i = 0; i < ob->len; i++)
            dy[i] = (wf_real)((double)ob->w[i] / (double)ob->len);
    return s / (double)ob->len;
}

static double central(const objective *ob, wf_real *x, double h)
{
    wf_real x0 = *x;
    *x = (wf_real)(x0 + h);
    double hp = (double)*x - (double)x0; /* the step actually taken in wf_real */
    double lp = value(ob, NULL);
    *x = (wf_real)(x0 - h);
    double hm = (double)x0 - (double)*x;
    double lm = value(ob, NULL);
    *x = x0;
    return (lp - lm) / (hp + hm);
}

int wf_gradcheck(wf_prog *p, wf_params *ps, wf_batch *batch, const wf_gradcheck_opts *o,
                 wf_gradcheck_row *rows)
{
    int max_elems = o->max_elems > 0 ? o->max_elems : 16;
    double tol = o->tol > 0 ? o->tol : 2e-2;
#ifdef WF_REAL_DOUBLE
    double step = o->step > 0 ? o->step : 1e-6;
#else
    double step = o->step > 0 ? o->step : 1e-4;
#endif
    objective ob = {p, batch, NULL, wf_prog_out_len(p)};
    wf_real *w = NULL;
    if (!batch) {
        w = wf_aalloc(ob.len * sizeof(wf_real));
        for (size_t i = 0; i < ob.len; i++)
            w[i] = (wf_real)wf_uniform(o->seed, i);
        ob.w = w;
    }
    double jitter = o->jitter_given ? o->jitter : 1e-6;
    for (int i = 0; i < ps->n && jitter > 0; i++) {
        wf_param *pa = &ps->v[i];
        for (size_t j = 0; j < wf_param_len(pa); j++)
            pa->value[j] *= (wf_real)(1 + jitter * wf_uniform(o->seed + 77, j + 100000 * (uint64_t)i));
    }
    wf_real *dy = wf_aalloc(ob.len * sizeof(wf_real));
    wf_params_zero_grad(ps);
    value(&ob, dy);
    wf_prog_backward(p, dy);
    /* the scale of the patch's gradients, for the floor of small ones */
    double gscale = 0;
    for (int i = 0; i < ps->n; i++)
        for (size_t j = 0; j < wf_param_len(&ps->v[i]); j++)
            gscale = fmax(gscale, fabs((double)ps->v[i].grad[j]));
    int failures = 0;
    for (int i = 0; i < ps->n; i++) {
        wf_param *pa = &ps->v[i];
        wf_gradcheck_row *r = &rows[i];
        memset(r, 0, sizeof *r);
        r->param = pa->decl->name;
        size_t len = wf_param_len(pa);
        r->size = (int)len;
        r->ok = 1;
        r->fixed = pa->decl->fixed;
        if (pa->decl->node < 0 || pa->decl->fixed)
            continue;
        /* which elements: all, or a seeded sample without repeats */
        size_t count = len < (size_t)max_elems ? len : (size_t)max_elems;
        size_t *idx = wf_xmalloc(sizeof(size_t) * count);
        if (count == len) {
            for (size_t j = 0; j < len; j++)
                idx[j] = j;
        } else {
            for (size_t j = 0; j < count; j++) {
                size_t pick;
                int fresh;
                uint64_t tries = 0;
                do {
                    pick = (size_t)(wf_splitmix64(o->seed + 1 + (uint64_t)i, j * 1000 + tries++) % len);
                    fresh = 1;
                    for (size_t q = 0; q < j; q++)
                        fresh &= idx[q] != pick;
                } while (!fresh);
                idx[j] = pick;
            }
        }
        double rms = 0;
        for (size_t j = 0; j < len; j++)
            rms += (double)pa->value[j] * pa->value[j];
        rms = sqrt(rms / (double)len);
        int bad = 0;
        for (size_t j = 0; j < count; j++) {
            wf_real *x = &pa->value[idx[j]];
            double h = step * fmax(fmax(fabs((double)*x), rms), 1e-3);
            double d1 = central(&ob, x, h), d2 = central(&ob, x, h / 2);
            double fd = d2 + (d2 - d1) / 3;
            double ad = pa->grad[idx[j]];
            double err = fabs(ad - fd);
            /* |d2 - d1| estimates the finite differences' own error (rounding
             * of the float32 forward pass, truncation); gradients far below
             * the largest one in the patch are judged against that floor */
            double allowed = tol * fmax(fabs(ad), fabs(fd)) + 2 * fabs(d2 - d1) + 1e-4 * gscale;
            double denom = fmax(fmax(fabs(ad), fabs(fd)), 1e-4 * gscale + 1e-30);
            r->max_abs = fmax(r->max_abs, err);
            r->max_rel = fmax(r->max_rel, err / denom);
            bad |= err > allowed;
            r->checked++;
        }
        free(idx);
        r->ok = !bad;
        failures += !r->ok;
    }
    wf_afree(dy);
    wf_afree(w);
    return failures;
}
