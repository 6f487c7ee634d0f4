/* `weft fit --report FILE`: one self-contained HTML page about a fit, to
 * look at in a browser or send to someone. Everything is inline (CSS, JS,
 * SVG, data: URIs; nothing is fetched): the command and its settings, the
 * weft version and FFT backend, the loss curve, the target and the fitted
 * render as audio players, their log-mel spectrograms and their difference,
 * their waveforms, and every param before and after.
 *
 * The page is rewritten atomically (temporary file + rename) when the fit
 * starts, every `every` steps and at the end, so a long fit can be watched:
 * the pages written during the fit reload themselves every few seconds, the
 * last one does not. */
#ifndef WF_CMD_REPORT_H
#define WF_CMD_REPORT_H

#include "lang/cmd/objective.h"
#include "lang/cmd/setup.h"
#include "runtime/fit.h"

typedef struct wf_fit_report wf_fit_report;

/* A report on a fit of `steps` steps of s against ob's first recording, at
 * path; argv is the command line. The params' values now are the "before" column. When
 * render_during is set, the pages written during the fit play and show the
 * patch rendered with the params of that step (s must then be able to
 * render as it is, that is not for excerpt fits, whose render needs another
 * length). Nothing is written yet. */
wf_fit_report *wf_fit_report_new(const char *path, int every, int steps, int argc,
                                 char *const *argv, wf_setup *s, const wf_objective *ob,
                                 int render_during);
/* One line of the settings table (value as printf). */
void wf_fit_report_setting(wf_fit_report *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes the page as it is before the first step: 0, or -1 with a
 * diagnostic (cannot-write-report) when path cannot be written. */
int wf_fit_report_begin(wf_fit_report *r, wf_diags *d);
/* The fit's progress callback's part: records the step's loss, and every
 * `every` steps rewrites the page. */
void wf_fit_report_step(wf_fit_report *r, const wf_fit_progress *p);
/* The final page, once the fit has returned with the best params in place
 * in s (and s relengthed and fed as for --render): renders them and writes
 * the page. 0, or -1 with a diagnostic. */
int wf_fit_report_finish(wf_fit_report *r, const wf_fit_result *res, wf_diags *d);
/* The size of the last page written and the seconds its making took. */
void wf_fit_report_last(const wf_fit_report *r, size_t *bytes, double *seconds);
void wf_fit_report_free(wf_fit_report *r);

#endif
