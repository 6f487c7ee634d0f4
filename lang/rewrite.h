/* A fitted patch is a patch: the source text with each param's initial value
 * replaced by its current value, every other byte (comments, layout) kept.
 * A literal's unit is kept (2 khz stays in khz). `per frame` params are too
 * big for the text: their frames go to a float WAV file beside the patch
 * (sample rate = frame rate, one channel per value), named in the text. */
#ifndef WF_REWRITE_H
#define WF_REWRITE_H

#include "lang/compile.h"
#include "runtime/params.h"

/* The new text of p's main source for params ps; frame files are written
 * (atomically) next to out_path. NULL with a diagnostic on failure. */
char *wf_rewrite_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                       const char *out_path, wf_diags *d);

/* Rewrites and writes the patch to out_path atomically; 0 on success. */
int wf_write_fitted_patch(const wf_patch *p, const wf_params *ps, const wf_env *env,
                          const char *out_path, wf_diags *d);

/* Shortest decimal that reads back as the same float32. */
void wf_format_real(char *buf, size_t size, double v);

#endif
