/* Adam and SGD with momentum over params, with schedules, clipping and the
 * projection onto bounds described in optim.h. Optimizer state is float32
 * like the params (bench/WORKLOADS.md: everything float32). */
#include "runtime/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

#define PI 3.14159265358979323846

struct wf_optim {
    wf_optim_opts o;
    int step;
    int n;
    wf_real **m, **v; /* first and second moments (v unused by SGD) */
    wf_real **g;      /* gradient in the fitting domain */
};

int wf_optim_parse(const char *s, wf_optim_kind *k)
{
    if (strcmp(s, "adam") == 0)
        *k = WF_OPTIM_ADAM;
    else if (strcmp(s, "sgd") == 0)
        *k = WF_OPTIM_SGD;
    else
        return -1;
    return 0;
}

int wf_sched_parse(const char *s, wf_sched_kind *k)
{
    if (strcmp(s, "const") == 0 || strcmp(s, "constant") == 0)
        *k = WF_SCHED_CONST;
    else if (strcmp(s, "exp") == 0 || strcmp(s, "exponential") == 0)
        *k = WF_SCHED_EXP;
    else if (strcmp(s, "cosine") == 0)
        *k = WF_SCHED_COSINE;
    else
        return -1;
    return 0;
}

wf_optim *wf_optim_new(const wf_params *ps, const wf_optim_opts *o)
{
    wf_optim *op = wf_xcalloc(1, sizeof *op);
    op->o = *o;
    if (op->o.beta1 == 0 && op->o.beta2 == 0) {
        op->o.beta1 = 0.9;
        op->o.beta2 = 0.999;
    }
    if (op->o.eps == 0)
        op->o.eps = 1e-8;
    op->n = ps->n;
    op->m = wf_xcalloc((size_t)ps->n + 1, sizeof *op->m);
    op->v = wf_xcalloc((size_t)ps->n + 1, sizeof *op->v);
    op->g = wf_xcalloc((size_t)ps->n + 1, sizeof *op->g);
    for (int i = 0; i < ps->n; i++) {
        size_t len = wf_param_len(&ps->v[i]);
        op->m[i] = wf_aalloc(len * sizeof(wf_real));
        op->v[i] = wf_aalloc(len * sizeof(wf_real));
        op->g[i] = wf_aalloc(len * sizeof(wf_real));
    }
    return op;
}

void wf_optim_free(wf_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n; i++) {
        wf_afree(o->m[i]);
        wf_afree(o->v[i]);
        wf_afree(o->g[i]);
    }
    free(o->m);
    free(o->v);
    free(o->g);
    free(o);
}

double wf_optim_lr(const wf_optim *o, int step)
{
    const wf_optim_opts *p = &o->o;
    switch (p->sched) {
    case WF_SCHED_EXP: {
        int ds = p->decay_steps > 0 ? p->decay_steps : (p->total_steps > 0 ? p->total_steps : 1);
        double decay = p->decay > 0 ? p->decay : 0.1;
        return p->lr * pow(decay, (double)step / ds);
    }
    case WF_SCHED_COSINE: {
        int T = p->total_steps > 0 ? p->total_steps : 1;
        double t = step < T ? (double)step / T : 1;
        return p->lr * 0.5 * (1 + cos(PI * t));
    }
    default:
        return p->lr;
    }
}

double wf_optim_step(wf_optim *o, wf_params *ps)
{
    /* gradients in the fitting domain, and their global norm */
    double norm2 = 0;
    for (int i = 0; i < ps->n; i++) {
        wf_param *p = &ps->v[i];
        if (p->decl->fixed)
            continue;
        size_t len = wf_param_len(p);
        int lg = p->decl->log;
        for (size_t j = 0; j < len; j++) {
            wf_real g = lg ? p->grad[j] * p->value[j] : p->grad[j];
            o->g[i][j] = g;
            norm2 += (double)g * g;
        }
    }
    double norm = sqrt(norm2);
    wf_real scale = 1;
    if (o->o.clip > 0 && norm > o->o.clip)
        scale = (wf_real)(o->o.clip / norm);
    double lr = wf_optim_lr(o, o->step);
    o->step++;
    const wf_real b1 = (wf_real)o->o.beta1, b2 = (wf_real)o->o.beta2, eps = (wf_real)o->o.eps;
    const wf_real c1 = (wf_real)(1 - pow(o->o.beta1, o->step));
    const wf_real c2 = (wf_real)(1 - pow(o->o.beta2, o->step));
    const wf_real mom = (wf_real)o->o.momentum;
    for (int i = 0; i < ps->n; i++) {
        wf_param *p = &ps->v[i];
        const wf_param_decl *d = p->decl;
        if (d->fixed)
            continue;
        size_t len = wf_param_len(p);
        int lg = d->log;
        double lo = -INFINITY, hi = INFINITY;
        if (d->bounded) {
            lo = lg ? log(d->lo) : d->lo;
            hi = lg ? log(d->hi) : d->hi;
        }
        wf_real *m = o->m[i], *v = o->v[i], *g = o->g[i], *val = p->value;
        /* each value's update is its own: a big param (a fit's per-frame
         * controls, an IR) is split over the cores, with the same results */
        if (!lg && o->o.kind == WF_OPTIM_ADAM) { /* the usual case, as a loop that vectorises */
#pragma omp parallel for schedule(static) if (len >= 16384)
            for (size_t j = 0; j < len; j++) {
                wf_real gj = g[j] * scale;
                m[j] = b1 * m[j] + (1 - b1) * gj;
                v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                wf_real mh = m[j] / c1, vh = v[j] / c2;
                double theta = (double)val[j] - lr * (double)(mh / ((wf_real)sqrt((double)vh) + eps));
                theta = theta < lo ? lo : theta;
                theta = theta > hi ? hi : theta;
                val[j] = (wf_real)theta;
            }
            continue;
        }
#pragma omp parallel for schedule(static) if (len >= 16384)
        for (size_t j = 0; j < len; j++) {
            wf_real gj = g[j] * scale;
            double theta = lg ? log((double)p->value[j]) : (double)p->value[j];
            if (o->o.kind == WF_OPTIM_ADAM) {
                m[j] = b1 * m[j] + (1 - b1) * gj;
                v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                wf_real mh = m[j] / c1, vh = v[j] / c2;
                theta -= lr * (double)(mh / ((wf_real)sqrt((double)vh) + eps));
            } else {
                m[j] = mom * m[j] + gj;
                theta -= lr * (double)m[j];
            }
            if (theta < lo)
                theta = lo;
            if (theta > hi)
                theta = hi;
            p->value[j] = (wf_real)(lg ? exp(theta) : theta);
        }
    }
    return norm;
}

int wf_optim_updates(const wf_optim *o)
{
    return o->step;
}

void wf_optim_set_updates(wf_optim *o, int updates)
{
    o->step = updates;
}

wf_real *wf_optim_moment(wf_optim *o, int param, int which)
{
    return which ? o->v[param] : o->m[param];
}
