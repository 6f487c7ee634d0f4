/* NumPy .npy files (numpy/lib/format.py, versions 1.0, 2.0 and 3.0), so that
 * params holding matrices, such as a network's weights, load from and save to
 * the files np.save writes and np.load reads. Only plain float32 and float64
 * arrays in C order are read; what is written matches np.save byte for byte. */
#ifndef WF_NPY_H
#define WF_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/real.h"

#define WF_NPY_MAX_DIMS 8

typedef struct wf_npy {
    int ndim;                        /* 0 (a scalar) .. WF_NPY_MAX_DIMS */
    int64_t shape[WF_NPY_MAX_DIMS];
    int64_t count;                   /* product of shape (1 for a scalar) */
    int dtype_bytes;                 /* 4 or 8, as stored in the file */
} wf_npy;

/* Parses a whole .npy image held in memory. Accepts descr '<f4', '<f8',
 * '>f4', '>f8' and native order ('=', '|' or none, as numpy does), in C
 * order (or Fortran order where the two coincide: at most one dimension
 * above 1). The values are converted to wf_real into a new 64-byte aligned
 * buffer (wf_aalloc, free with wf_afree); non-finite values are kept, and
 * float64 values beyond float32's range become infinities in the float32
 * build. Bytes after the data are ignored. name starts every message.
 * Returns 0, or -1 with a diagnostic saying what is wrong, and leaves *info
 * and *data alone. */
int wf_npy_parse(const char *name, const unsigned char *bytes, size_t len, wf_npy *info,
                 wf_real **data, wf_diags *d);

/* Reads the file at path and parses it; path names it in messages. */
int wf_npy_load(const char *path, wf_npy *info, wf_real **data, wf_diags *d);

/* Encodes count = product(shape) values as a version 1.0 .npy image of dtype
 * '<f4' ('<f8' when WF_REAL_DOUBLE is defined), C order, laid out exactly as
 * np.save does (data at a multiple of 64 bytes). ndim is 0 ..
 * WF_NPY_MAX_DIMS and no dimension is negative. Caller frees *bytes. */
void wf_npy_encode(const wf_real *data, int ndim, const int64_t *shape, unsigned char **bytes,
                   size_t *len);

/* wf_npy_encode written atomically (temporary file and rename). 0, or -1 with
 * a diagnostic naming the path and the system's reason. */
int wf_npy_save(const char *path, const wf_real *data, int ndim, const int64_t *shape,
                wf_diags *d);

/* The shape as "[3, 4]" ("[]" for a scalar), for messages such as "'w.npy'
 * has shape [3, 4], the param needs [4, 3]"; cut to fit size. */
void wf_npy_shape_text(const wf_npy *info, char *buf, size_t size);

#endif
