/* The prewarped integrator gain of Zavalishin's topology-preserving
 * transform (The Art of VA Filter Design, ch. 3.8), shared by the TPT
 * filters (onepole.c, svf.c): a trapezoidal integrator with cutoff f at
 * rate sr has gain g = tan(pi f / sr), so that the digital filter's response
 * at f equals the analogue prototype's at its cutoff.
 *
 * f is clamped to [0, WF_TPT_FMAX sr]: below 0 the filter would be unstable,
 * at the Nyquist g is infinite. At 0 the filter holds its state. Outside the
 * open range the gradient is 0 (the clamp is flat there). */
#ifndef WF_TPT_H
#define WF_TPT_H

#include <math.h>

#define WF_TPT_FMAX 0.4999 /* highest cutoff, as a fraction of the rate (g = 3183) */

/* g = tan(pi f / sr) of the clamped f; *dg = dg/df (0 at the clamps). */
static inline double wf_tpt_g(double f, double sr, double *dg)
{
    const double pi = 3.14159265358979323846;
    double fmax = WF_TPT_FMAX * sr;
    int inside = f > 0 && f < fmax;
    f = f < 0 ? 0 : f > fmax ? fmax : f;
    double g = tan(pi * f / sr);
    *dg = inside ? pi / sr * (1 + g * g) : 0;
    return g;
}

#endif
