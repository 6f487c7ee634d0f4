/* The fit loop: gradient evaluation, optimizer step, best-so-far tracking,
 * clean stops and divergence reports. */
#include "runtime/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

double wf_fit_grad(wf_prog *p, wf_params *ps, wf_batch *b, int step, wf_real *dy)
{
    if (wf_batch_draw(b, step))
        wf_prog_invalidate(p);
    wf_params_zero_grad(ps);
    wf_prog_forward(p);
    int lanes = wf_prog_out_lanes(p);
    const wf_real *ys[64], **y = lanes <= 64 ? ys : wf_xmalloc(sizeof *y * (size_t)lanes);
    for (int l = 0; l < lanes; l++)
        y[l] = wf_prog_out(p, l);
    double loss = wf_batch_loss(b, y, lanes, dy);
    if (y != ys)
        free(y);
    wf_prog_backward(p, dy);
    return loss;
}

static void snapshot(const wf_params *ps, wf_real **dst)
{
    for (int i = 0; i < ps->n; i++)
        memcpy(dst[i], ps->v[i].value, wf_param_len(&ps->v[i]) * sizeof(wf_real));
}

static void restore(wf_params *ps, wf_real *const *src)
{
    for (int i = 0; i < ps->n; i++)
        memcpy(ps->v[i].value, src[i], wf_param_len(&ps->v[i]) * sizeof(wf_real));
}

/* The first param (in declaration order) with a non-finite gradient. */
static const wf_param *first_bad_grad(const wf_params *ps, size_t *at)
{
    for (int i = 0; i < ps->n; i++) {
        const wf_param *p = &ps->v[i];
        size_t len = wf_param_len(p);
        for (size_t j = 0; j < len; j++)
            if (!isfinite((double)p->grad[j])) {
                *at = j;
                return p;
            }
    }
    return NULL;
}

/* The params a node depends on, as "'a', 'b'" (declaration order). */
static void params_behind(const wf_graph *g, int node, wf_str *out, int *first)
{
    char *seen = wf_xcalloc((size_t)g->n + 1, 1);
    seen[node] = 1;
    for (int i = node; i >= 0; i--)
        if (seen[i])
            for (int j = 0; j < g->nodes[i].nin; j++)
                seen[g->nodes[i].in[j]] = 1;
    *first = -1;
    for (int q = 0; q < g->nparams; q++) {
        int pn = g->params[q].node;
        if (pn < 0 || !seen[pn])
            continue;
        wf_str_printf(out, "%s'%s'", *first < 0 ? "" : ", ", g->params[q].name);
        if (*first < 0)
            *first = q;
    }
    free(seen);
}

/* Names what went wrong: the first node whose output stopped being finite
 * and the params behind it, else the first param whose gradient did. */
static void report_divergence(wf_prog *p, const wf_params *ps, int step, double loss,
                              wf_diags *d)
{
    const char *hint = "lower the learning rate (--lr), clip gradients (--clip), or bound the "
                       "params with `in [lo, hi]`; the patch written holds the last good values";
    const wf_graph *g = wf_prog_graph(p);
    int bad = isfinite(loss) ? -1 : wf_prog_find_nonfinite(p);
    if (bad >= 0) {
        const wf_gnode *n = &g->nodes[bad];
        wf_str who = {0};
        int first;
        params_behind(g, bad, &who, &first);
        if (n->kind == &wf_kind_param)
            wf_report_diverged_param(d, n->loc, hint, step, who.s);
        else
            wf_report_diverged_node(d, n->loc, hint, step, n->kind->name,
                                    isnan(loss) ? "NaN" : "non-finite values",
                                    strchr(who.s ? who.s : "", ',') ? "s" : "",
                                    who.s ? who.s : "(none)");
        wf_str_free(&who);
        return;
    }
    size_t at = 0;
    const wf_param *bp = first_bad_grad(ps, &at);
    if (bp && bp->decl->size > 1)
        wf_report_diverged_gradient_element(d, bp->decl->loc, hint, step, loss, bp->decl->name,
                                            at % (size_t)bp->cols);
    else if (bp)
        wf_report_diverged_gradient(d, bp->decl->loc, hint, step, loss, bp->decl->name);
    else
        wf_report_diverged_loss(d, WF_NOWHERE, hint, step, loss);
}

int wf_fit(wf_prog *p, wf_params *ps, wf_batch *b, const wf_fit_opts *o, wf_fit_result *r,
           wf_diags *d)
{
    memset(r, 0, sizeof *r);
    wf_optim_opts oo = o->optim;
    if (oo.total_steps == 0)
        oo.total_steps = o->steps;
    wf_optim *opt = wf_optim_new(ps, &oo);
    wf_real **best = wf_xcalloc((size_t)ps->n + 1, sizeof *best);
    for (int i = 0; i < ps->n; i++)
        best[i] = wf_aalloc(wf_param_len(&ps->v[i]) * sizeof(wf_real));
    wf_real *dy = wf_aalloc(wf_prog_out_len(p) * sizeof(wf_real));
    r->best_loss = INFINITY;
    r->status = WF_FIT_DONE;
    double t0 = wf_now();
    int rc = 0;
    for (int step = 0;; step++) {
        double ts = wf_now();
        double l = wf_fit_grad(p, ps, b, step, dy);
        double when;
        const char *what;
        int unstable = wf_prog_fault(p, &when, &what);
        if (unstable >= 0) {
            const wf_gnode *n = &wf_prog_graph(p)->nodes[unstable];
            wf_report_unstable_node(d, n->loc,
                                    "bound the params that set its coefficients with `in [lo, "
                                    "hi]`, or use a form that is stable by construction; the "
                                    "patch written holds the last good values",
                                    step, n->kind->name, when, what);
            r->status = WF_FIT_DIVERGED;
            rc = -1;
            break;
        }
        size_t at;
        if (!isfinite(l) || first_bad_grad(ps, &at)) {
            report_divergence(p, ps, step, l, d);
            r->status = WF_FIT_DIVERGED;
            rc = -1;
            break;
        }
        if (step == 0)
            r->first_loss = l;
        r->final_loss = l;
        if (l < r->best_loss) {
            r->best_loss = l;
            r->best_step = step;
            snapshot(ps, best);
        }
        if (step == o->steps) { /* the loss after the last update, measured */
            if (o->log)
                fprintf(o->log, "%d,%.9g,%.6f\n", step, l, wf_now() - ts);
            break;
        }
        if (o->stop && *o->stop) {
            r->status = WF_FIT_STOPPED;
            break;
        }
        double lr = wf_optim_lr(opt, step);
        wf_optim_step(opt, ps);
        r->steps = step + 1;
        double dt = wf_now() - ts;
        if (o->log)
            fprintf(o->log, "%d,%.9g,%.6f\n", step, l, dt);
        if (o->progress) {
            wf_fit_progress pr = {step + 1, o->steps, l, r->best_loss, wf_now() - t0, lr};
            o->progress(o->progress_ctx, &pr);
        }
    }
    r->seconds = wf_now() - t0;
    if (r->best_loss < INFINITY)
        restore(ps, best);
    for (int i = 0; i < ps->n; i++)
        wf_afree(best[i]);
    free(best);
    wf_afree(dy);
    wf_optim_free(opt);
    return rc;
}
