/* A fitted patch is a patch: the source text with each param's initial value
 * replaced by its current value, every other byte (comments, layout) kept.
 * A literal's unit is kept (2 khz stays in khz). A param of more than 256
 * values, or one `per frame`, is too big for the text: its values go to a
 * .npy file beside the patch (named after the patch and the param), named
 * in the text. Files the patch names (inputs, fixed params' files) are
 * named from the fitted patch's folder, and a length that came from the
 * target is written in, so the fitted patch runs as it is. */
#ifndef WF_REWRITE_H
#define WF_REWRITE_H

#include "lang/compile.h"
#include "runtime/params.h"
#include "runtime/util.h"

/* The new text of p's main source for params ps, as a patch at out_path;
 * the .npy files it names are added to files (to commit with the patch).
 * carry_length: the run's length did not come from the patch, write it in.
 * NULL with a diagnostic on failure. */
char *wf_rewrite_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                       const char *out_path, int carry_length, wf_stage *files, wf_diags *d);

/* Rewrites the patch and writes it to out_path with its files, all or
 * nothing (a failure leaves every old file as it was); 0 on success. */
int wf_write_fitted_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                          const char *out_path, int carry_length, wf_diags *d);

/* Shortest decimal that reads back as the same float32. */
void wf_format_real(char *buf, size_t size, double v);

#endif
