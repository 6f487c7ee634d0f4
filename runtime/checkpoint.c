/* Checkpoint files (checkpoint.h). */
#include "runtime/checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

#define MAGIC "weft-checkpoint\n"
#define VERSION 1u
#define PROBE 0x01020304u

char *wf_ckpt_path(const char *path, int step)
{
    const char *at = strstr(path, "{step}");
    if (!at)
        return wf_xstrdup(path);
    wf_str b = {0};
    wf_str_putn(&b, path, (size_t)(at - path));
    wf_str_printf(&b, "%d", step);
    wf_str_puts(&b, at + 6);
    return b.s;
}

static uint64_t fnv1a(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

/* The caller's settings and each param's shape: what must match. */
static char *full_settings(const char *settings, const wf_params *ps)
{
    wf_str b = {0};
    wf_str_puts(&b, settings ? settings : "");
    for (int i = 0; i < ps->n; i++)
        wf_str_printf(&b, "param %s: %d x %d%s\n", ps->v[i].decl->name, ps->v[i].rows,
                      ps->v[i].cols, ps->v[i].decl->fixed ? " fixed" : "");
    return b.s ? b.s : wf_xstrdup("");
}

static void put(wf_str *b, const void *p, size_t n)
{
    wf_str_putn(b, p, n);
}

static void put_u32(wf_str *b, uint32_t v)
{
    put(b, &v, sizeof v);
}

static void put_i32(wf_str *b, int v)
{
    int32_t x = v;
    put(b, &x, sizeof x);
}

static void put_f64(wf_str *b, double v)
{
    put(b, &v, sizeof v);
}

int wf_ckpt_write(const char *path, const char *settings, const wf_ckpt_state *st,
                  const wf_params *ps, wf_optim *opt, wf_real *const *best, wf_diags *d)
{
    wf_str b = {0};
    char *set = full_settings(settings, ps);
    put(&b, MAGIC, strlen(MAGIC));
    put_u32(&b, VERSION);
    put_u32(&b, (uint32_t)sizeof(wf_real));
    put_u32(&b, PROBE);
    put_u32(&b, (uint32_t)strlen(set));
    put(&b, set, strlen(set));
    free(set);
    put_i32(&b, st->step);
    put_i32(&b, wf_optim_updates(opt));
    put_i32(&b, st->best_step);
    put_f64(&b, st->first_loss);
    put_f64(&b, st->best);
    put_i32(&b, ps->n);
    for (int i = 0; i < ps->n; i++) {
        const wf_param *p = &ps->v[i];
        size_t len = wf_param_len(p) * sizeof(wf_real);
        put_u32(&b, (uint32_t)strlen(p->decl->name));
        put(&b, p->decl->name, strlen(p->decl->name));
        put_i32(&b, p->rows);
        put_i32(&b, p->cols);
        put(&b, p->value, len);
        put(&b, wf_optim_moment(opt, i, 0), len);
        put(&b, wf_optim_moment(opt, i, 1), len);
        put(&b, best[i], len);
    }
    uint64_t sum = fnv1a(b.s, b.len);
    put(&b, &sum, sizeof sum);
    int rc = wf_write_file_atomic(path, b.s, b.len);
    if (rc)
        wf_report_cannot_write_checkpoint(d, WF_NOWHERE, "the fit stopped; the patch written holds "
                                                         "the best values so far",
                                          path, strerror(errno));
    wf_str_free(&b);
    return rc;
}

/* A cursor over the file's bytes; reads past the end set `short_`. */
typedef struct reader {
    const unsigned char *p;
    size_t n, at;
    int short_;
} reader;

static const void *take(reader *r, size_t n)
{
    if (r->short_ || r->n - r->at < n) {
        r->short_ = 1;
        return NULL;
    }
    const void *p = r->p + r->at;
    r->at += n;
    return p;
}

static uint32_t get_u32(reader *r)
{
    uint32_t v = 0;
    const void *p = take(r, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}

static int get_i32(reader *r)
{
    int32_t v = 0;
    const void *p = take(r, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}

static double get_f64(reader *r)
{
    double v = 0;
    const void *p = take(r, sizeof v);
    if (p)
        memcpy(&v, p, sizeof v);
    return v;
}

static void get_into(reader *r, void *dst, size_t n)
{
    const void *p = take(r, n);
    if (p)
        memcpy(dst, p, n);
}

/* Line `key: value` of text whose key is key (up to ": "), or NULL. */
static const char *find_line(const char *text, const char *key, size_t klen)
{
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        if (strncmp(l, key, klen) == 0 && l[klen] == ':')
            return l;
    return NULL;
}

static char *value_of(const char *line)
{
    if (!line)
        return wf_xstrdup("not set");
    const char *v = strchr(line, ':') + 1;
    v += *v == ' ';
    size_t n = strcspn(v, "\n");
    return n ? wf_xstrndup(v, n) : wf_xstrdup("none");
}

/* Names the first setting that differs between the checkpoint's and ours;
 * 0 when they are the same. */
static int compare_settings(const char *path, const char *theirs, const char *ours, wf_diags *d)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *a = pass ? theirs : ours, *b = pass ? ours : theirs;
        for (const char *l = a; *l;) {
            size_t len = strcspn(l, "\n"), klen = strcspn(l, ":\n");
            const char *o = find_line(b, l, klen);
            if (!o || strncmp(o, l, len) != 0 || (o[len] != '\n' && o[len])) {
                char *key = wf_xstrndup(l, klen);
                const char *tl = pass ? l : o, *ol = pass ? o : l;
                char *tv = value_of(tl), *ov = value_of(ol);
                wf_report_checkpoint_mismatch(d, WF_NOWHERE,
                                              "resume with the settings it was written with, or "
                                              "start afresh without --resume",
                                              path, key, tv, ov);
                free(key);
                free(tv);
                free(ov);
                return -1;
            }
            l += len + (l[len] == '\n');
        }
    }
    return 0;
}

int wf_ckpt_read(const char *path, const char *settings, wf_ckpt_state *st, wf_params *ps,
                 wf_optim *opt, wf_real **best, wf_diags *d)
{
    size_t n;
    char *data = wf_read_file(path, &n);
    if (!data) {
        wf_report_cannot_read_checkpoint(d, WF_NOWHERE, NULL, path, strerror(errno));
        return -1;
    }
    reader r = {(const unsigned char *)data, n, 0, 0};
    const char *what = NULL;
    char *theirs = NULL, *ours = NULL;
    int rc = -1;
    uint64_t sum;
    const void *m = take(&r, strlen(MAGIC));
    if (!m || memcmp(m, MAGIC, strlen(MAGIC)) != 0) {
        what = "it does not begin as one";
        goto out;
    }
    if (n < r.at + sizeof sum || (memcpy(&sum, data + n - sizeof sum, sizeof sum),
                                  sum != fnv1a(data, n - sizeof sum))) {
        what = "its checksum does not match (cut short or damaged)";
        goto out;
    }
    r.n = n - sizeof sum;
    if (get_u32(&r) != VERSION) {
        what = "it is of another version of weft";
        goto out;
    }
    if (get_u32(&r) != sizeof(wf_real) || get_u32(&r) != PROBE) {
        what = "it was written by a weft of another precision or byte order";
        goto out;
    }
    uint32_t slen = get_u32(&r);
    const char *s = take(&r, slen);
    if (!s) {
        what = "it is cut short";
        goto out;
    }
    theirs = wf_xstrndup(s, slen);
    ours = full_settings(settings, ps);
    if (compare_settings(path, theirs, ours, d))
        goto out;
    st->step = get_i32(&r);
    int updates = get_i32(&r);
    st->best_step = get_i32(&r);
    st->first_loss = get_f64(&r);
    st->best = get_f64(&r);
    if (get_i32(&r) != ps->n) {
        what = "its params do not match its settings";
        goto out;
    }
    for (int i = 0; i < ps->n && !r.short_; i++) {
        wf_param *p = &ps->v[i];
        uint32_t nl = get_u32(&r);
        const char *name = take(&r, nl);
        int rows = get_i32(&r), cols = get_i32(&r);
        if (!name || nl != strlen(p->decl->name) || memcmp(name, p->decl->name, nl) != 0 ||
            rows != p->rows || cols != p->cols) {
            what = "its params do not match its settings";
            goto out;
        }
        size_t len = wf_param_len(p) * sizeof(wf_real);
        get_into(&r, p->value, len);
        get_into(&r, wf_optim_moment(opt, i, 0), len);
        get_into(&r, wf_optim_moment(opt, i, 1), len);
        get_into(&r, best[i], len);
    }
    if (r.short_ || r.at != r.n) {
        what = "its length does not match its contents";
        goto out;
    }
    wf_optim_set_updates(opt, updates);
    rc = 0;
out:
    if (what)
        wf_report_not_a_checkpoint(d, WF_NOWHERE, NULL, path, what);
    free(theirs);
    free(ours);
    free(data);
    return rc;
}
