/* The sample type. weft runs in float32; the gradient tests build the same
 * sources a second time with WF_REAL_DOUBLE so that reverse-mode gradients can
 * be compared with finite differences in double precision. Kernels include
 * <tgmath.h> so exp(), sin(), ... follow the type. */
#ifndef WF_REAL_H
#define WF_REAL_H

#ifdef WF_REAL_DOUBLE
typedef double wf_real;
#define WF_REAL_NAME "float64"
#else
typedef float wf_real;
#define WF_REAL_NAME "float32"
#endif

#endif
