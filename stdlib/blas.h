/* Matrix products of the neural layers (stdlib/nn.c, stdlib/gru.c) through
 * CBLAS (OpenBLAS on Debian: libopenblas-dev). Signals are frame-major
 * [frames x channels], so a layer over F frames is one row-major product
 * with the frames as rows. The gemm and gemv names follow wf_real: single
 * precision normally, double in the float64 build of the gradient tests.
 *
 * Threads: the executor runs lanes (voices, batch items) in parallel with
 * OpenMP, so OpenBLAS is held to one thread (its pthread pool would
 * oversubscribe the cores beside OpenMP's) and a single large product is
 * split into row blocks over OpenMP threads instead (wf_gemm_rows): inside
 * the lanes' parallel region nested parallelism is off and the split runs
 * on the calling thread, so the cores are never asked for more threads
 * than they have. */
#ifndef WF_BLAS_H
#define WF_BLAS_H

#include <cblas.h>

#include "runtime/real.h"

#ifdef WF_REAL_DOUBLE
#define WF_GEMM cblas_dgemm
#define WF_GEMV cblas_dgemv
#else
#define WF_GEMM cblas_sgemm
#define WF_GEMV cblas_sgemv
#endif

/* Products worth splitting over threads: m n k above this many. */
#define WF_GEMM_SPLIT 2000000.0

/* Holds OpenBLAS to one thread; called when a node is sized (planning,
 * never inside a parallel region). */
static inline void wf_blas_single_thread(void)
{
#ifdef WF_HAVE_OPENBLAS
    static int done;
    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
#endif
}

/* C[m x n] = alpha op(A) op(B) + beta C, row-major, the rows of C (and of
 * op(A)) split into blocks over threads when the product is large. */
static inline void wf_gemm_rows(int transa, int transb, int m, int n, int k, wf_real alpha,
                                const wf_real *a, int lda, const wf_real *b, int ldb,
                                wf_real beta, wf_real *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    int parts = (double)m * n * k >= WF_GEMM_SPLIT && m >= 64 ? 2 : 1;
#pragma omp parallel for schedule(static) if (parts > 1)
    for (int p = 0; p < parts; p++) {
        int r0 = (int)((long)m * p / parts), r1 = (int)((long)m * (p + 1) / parts);
        const wf_real *ap = transa ? a + r0 : a + (size_t)r0 * lda;
        WF_GEMM(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                transb ? CblasTrans : CblasNoTrans, r1 - r0, n, k, alpha, ap, lda, b, ldb, beta,
                c + (size_t)r0 * ldc, ldc);
    }
}

#endif
