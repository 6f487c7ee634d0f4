/* Data-parallel fits over MPI ranks (`mpirun -n N weft fit ...`): every rank
 * runs the same program on its share of each step's batch, and the ranks
 * agree after each step on the gradient (the sum of their shares), the loss
 * and whether to stop, so that every rank makes the same optimizer update
 * and the params stay identical everywhere.
 *
 * Sums over ranks are made in a fixed order (rank 0, 1, ..., in double, each
 * value by one rank that then hands the result to all), not by
 * MPI_Allreduce, whose order of operands the MPI standard leaves to the
 * implementation and may differ from rank to rank and with the number of
 * processes: here the result depends only on the values and the number of
 * ranks, and every rank holds the same bits.
 *
 * Without MPI (meson feature `mpi` not found) a run is one rank, and
 * wf_dist_start says how to enable it. */
#ifndef WF_DIST_H
#define WF_DIST_H

#include "runtime/params.h"

typedef struct wf_dist {
    int rank, size;
} wf_dist;

/* 1 when weft was built with MPI. */
int wf_dist_built(void);
/* The environment variable a launcher (mpirun, srun) sets for its ranks,
 * when this process is one of several, else NULL. */
const char *wf_dist_launched(void);
/* Joins the ranks (MPI_Init); without MPI, -1 (and d is one rank). */
int wf_dist_start(wf_dist *d);
/* Leaves them (MPI_Finalize) after wf_dist_start succeeded. */
void wf_dist_stop(const wf_dist *d);
/* The gradients of the learnt params summed over ranks into every rank's
 * params (each rank's share already weighs its items by 1 / the whole
 * batch, so the sum is the mean over the whole batch). */
void wf_dist_sum_grads(const wf_dist *d, const wf_params *ps);
/* x summed over ranks, in rank order. */
double wf_dist_sum(const wf_dist *d, double x);
/* The bits set on any rank (bitwise or), on every rank. */
int wf_dist_or(const wf_dist *d, int bits);
/* Rank r's share [*first, *first + *n) of `total` items. */
void wf_dist_share(const wf_dist *d, int total, int *first, int *n);

#endif
