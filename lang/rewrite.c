/* Writing fitted values back into a patch's source text. */
#include "lang/rewrite.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/audio.h"
#include "runtime/util.h"

void wf_format_real(char *buf, size_t size, double v)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if ((float)strtod(buf, NULL) == (float)v)
            break;
    }
}

/* The value in the unit the literal was written in. */
static double to_unit(int unit, double v, int *keep)
{
    *keep = 1;
    switch (unit) {
    case WF_UNIT_KHZ: return v / 1000;
    case WF_UNIT_MS: return v * 1000;
    case WF_UNIT_HZ:
    case WF_UNIT_S: return v;
    case WF_UNIT_DB:
        if (v > 0)
            return 20 * log10(v);
        *keep = 0;
        return v;
    default:
        *keep = 0;
        return v;
    }
}

static const char *unit_text(int unit)
{
    switch (unit) {
    case WF_UNIT_HZ: return "hz";
    case WF_UNIT_KHZ: return "khz";
    case WF_UNIT_MS: return "ms";
    case WF_UNIT_S: return "s";
    case WF_UNIT_DB: return "db";
    default: return "";
    }
}

static void put_value(wf_str *b, double v, int unit)
{
    int keep;
    double u = to_unit(unit, v, &keep);
    char num[40];
    wf_format_real(num, sizeof num, keep ? u : v);
    wf_str_puts(b, num);
    if (keep)
        wf_str_printf(b, " %s", unit_text(unit));
}

/* Folder and file stem of out_path: "dir/name.weft" -> "dir", "name". */
static void split_path(const char *path, char **dir, char **stem)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    *dir = slash ? wf_xstrndup(path, (size_t)(slash - path)) : wf_xstrdup(".");
    const char *dot = strrchr(base, '.');
    *stem = dot && dot != base ? wf_xstrndup(base, (size_t)(dot - base)) : wf_xstrdup(base);
}

typedef struct edit {
    int start, end;
    char *text;
} edit;

static int cmp_edits(const void *a, const void *b)
{
    return ((const edit *)b)->start - ((const edit *)a)->start;
}

char *wf_rewrite_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                       const char *out_path, wf_diags *d)
{
    const wf_source *src = p->sources[0];
    edit *edits = wf_xcalloc((size_t)ps->n + 1, sizeof *edits);
    int ne = 0, rc = 0;
    char *dir, *stem;
    split_path(out_path, &dir, &stem);
    for (int i = 0; i < ps->n && rc == 0; i++) {
        const wf_param *pa = &ps->v[i];
        const wf_param_decl *pd = pa->decl;
        if (pd->src != src || pd->fixed)
            continue;
        wf_str b = {0};
        if (pd->rate == WF_RATE_CONTROL) {
            wf_str name = {0}, path = {0};
            wf_str_printf(&name, "%s.%s.wav", stem, pd->name);
            wf_str_printf(&path, "%s/%s", dir, name.s);
            rc = wf_audio_save(path.s, env->frame_rate, pa->cols, pa->value, pa->rows,
                               WF_FMT_FLOAT, d);
            wf_str_putc(&b, '"');
            wf_str_puts(&b, name.s);
            wf_str_putc(&b, '"');
            wf_str_free(&name);
            wf_str_free(&path);
        } else {
            int same = 1;
            for (int j = 1; j < pa->cols; j++)
                same &= pa->value[j] == pa->value[0];
            if (same) {
                put_value(&b, pa->value[0], pd->init_unit);
            } else {
                wf_str_putc(&b, '[');
                for (int j = 0; j < pa->cols; j++) {
                    if (j)
                        wf_str_puts(&b, ", ");
                    put_value(&b, pa->value[j], pd->init_unit);
                }
                wf_str_putc(&b, ']');
            }
        }
        edits[ne++] = (edit){pd->init_start, pd->init_end, b.s};
    }
    char *out = NULL;
    if (rc == 0) {
        qsort(edits, (size_t)ne, sizeof *edits, cmp_edits);
        wf_str t = {0};
        wf_str_putn(&t, src->text, src->len);
        /* apply from the end so earlier offsets stay valid */
        for (int i = 0; i < ne; i++) {
            wf_str u = {0};
            wf_str_putn(&u, t.s, (size_t)edits[i].start);
            wf_str_puts(&u, edits[i].text);
            wf_str_puts(&u, t.s + edits[i].end);
            wf_str_free(&t);
            t = u;
        }
        out = t.s ? t.s : wf_xstrdup("");
    }
    for (int i = 0; i < ne; i++)
        free(edits[i].text);
    free(edits);
    free(dir);
    free(stem);
    return out;
}

int wf_write_fitted_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                          const char *out_path, wf_diags *d)
{
    char *text = wf_rewrite_patch(p, ps, env, out_path, d);
    if (!text)
        return -1;
    int rc = wf_write_file_atomic(out_path, text, strlen(text));
    if (rc)
        wf_report_cannot_write_patch(d, WF_NOWHERE, NULL, out_path, strerror(errno));
    free(text);
    return rc;
}
