/* The fit loop: gradient evaluation, optimizer step, best-so-far tracking,
 * clean stops and divergence reports. */
#include "runtime/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint.h"
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

static int rank0(const wf_fit_opts *o)
{
    return !o->dist || o->dist->rank == 0;
}

static int checkpoint(const wf_fit_opts *o, int step, const wf_fit_result *r, const wf_params *ps,
                      wf_optim *opt, wf_real *const *best, wf_diags *d)
{
    int failed = 0;
    if (rank0(o)) {
        wf_ckpt_state st = {step, r->best_step, r->first_loss, r->best_loss};
        char *path = wf_ckpt_path(o->checkpoint, step);
        failed = wf_ckpt_write(path, o->settings, &st, ps, opt, best, d) != 0;
        free(path);
    }
    return o->dist ? wf_dist_or(o->dist, failed) : failed;
}

enum { FAULTED = 1, STOPPING = 2 };

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
    r->validation = NAN;
    r->status = WF_FIT_DONE;
    int rc = 0, start = 0;
    if (o->resume) {
        wf_ckpt_state st;
        if (wf_ckpt_read(o->resume, o->settings, &st, ps, opt, best, d)) {
            r->refused = 1;
            rc = -1;
            goto out;
        }
        if (st.step > o->steps) {
            wf_report_checkpoint_past_end(d, WF_NOWHERE, "give --steps the length of the whole fit",
                                          o->resume, st.step, o->steps);
            r->refused = 1;
            rc = -1;
            goto out;
        }
        start = r->steps = r->start = st.step;
        r->first_loss = st.first_loss;
        r->best_loss = st.best;
        r->best_step = st.best_step;
    }
    double t0 = wf_now();
    for (int step = start;; step++) {
        double ts = wf_now();
        double l = wf_fit_grad(p, ps, b, step, dy);
        double when;
        const char *what;
        int unstable = wf_prog_fault(p, &when, &what);
        int flags = (unstable >= 0 ? FAULTED : 0) | (o->stop && *o->stop ? STOPPING : 0);
        if (o->dist) { /* every rank goes on with the same gradient, loss and decision */
            wf_dist_sum_grads(o->dist, ps);
            l = wf_dist_sum(o->dist, l);
            flags = wf_dist_or(o->dist, flags);
        }
        if (flags & FAULTED) {
            if (unstable >= 0) { /* the rank that saw it says where */
                const wf_gnode *n = &wf_prog_graph(p)->nodes[unstable];
                wf_report_unstable_node(d, n->loc,
                                        "bound the params that set its coefficients with `in [lo, "
                                        "hi]`, or use a form that is stable by construction; the "
                                        "patch written holds the last good values",
                                        step, n->kind->name, when, what);
            }
            r->status = WF_FIT_DIVERGED;
            rc = -1;
            break;
        }
        size_t at;
        if (!isfinite(l) || first_bad_grad(ps, &at)) {
            if (rank0(o))
                report_divergence(p, ps, step, l, d);
            r->status = WF_FIT_DIVERGED;
            rc = -1;
            break;
        }
        if (step == 0)
            r->first_loss = l;
        r->final_loss = l;
        int measured = o->validate_items > 0 &&
                       (step % (o->validate_every > 0 ? o->validate_every : 50) == 0 ||
                        step == o->steps);
        if (measured) {
            double v = o->validate(o->validate_ctx);
            r->validation = (o->dist ? wf_dist_sum(o->dist, v) : v) / o->validate_items;
        }
        /* the best params: of the lowest held-out loss when there is one */
        double key = o->validate_items > 0 ? (measured ? r->validation : INFINITY) : l;
        if (key < r->best_loss) {
            r->best_loss = key;
            r->best_step = step;
            snapshot(ps, best);
        }
        double dt = wf_now() - ts;
        if (o->log) {
            fprintf(o->log, "%d,%.9g,%.6f", step, l, dt);
            if (o->validate_items > 0 && measured)
                fprintf(o->log, ",%.9g", r->validation);
            else if (o->validate_items > 0)
                fputc(',', o->log);
            fputc('\n', o->log);
        }
        if (step == o->steps) /* the loss after the last update, measured */
            break;
        if (flags & STOPPING) {
            r->status = WF_FIT_STOPPED;
            break;
        }
        double lr = wf_optim_lr(opt, step);
        wf_optim_step(opt, ps);
        r->steps = step + 1;
        if (o->progress) {
            wf_fit_progress pr = {step + 1, o->steps, l, r->best_loss, wf_now() - t0, lr, start,
                                  r->validation};
            o->progress(o->progress_ctx, &pr);
        }
        if (o->checkpoint && o->checkpoint_every > 0 && r->steps % o->checkpoint_every == 0 &&
            r->steps < o->steps && checkpoint(o, r->steps, r, ps, opt, best, d)) {
            r->status = WF_FIT_STOPPED;
            rc = -1;
            break;
        }
    }
    r->seconds = wf_now() - t0;
    /* the last checkpoint: where the fit ended, or was stopped */
    if (rc == 0 && o->checkpoint && checkpoint(o, r->steps, r, ps, opt, best, d)) {
        r->status = WF_FIT_STOPPED;
        rc = -1;
    }
out:
    if (r->best_loss < INFINITY && !r->refused)
        restore(ps, best);
    for (int i = 0; i < ps->n; i++)
        wf_afree(best[i]);
    free(best);
    wf_afree(dy);
    wf_optim_free(opt);
    return rc;
}
