/* Data-parallel fits over MPI (dist.h). The fixed-order sum of a gradient
 * of P values over R ranks is a reduce-scatter and an all-gather built from
 * MPI_Alltoallv and MPI_Allgatherv: rank r receives chunk r of every rank's
 * gradient, adds them in rank order in double, and all ranks gather the
 * summed chunks; the traffic is that of a ring all-reduce (2 P per rank),
 * and each value is summed once, by one rank, in one order. */
#include "runtime/dist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util.h"

#ifdef WF_HAVE_MPI
#include <mpi.h>
#ifdef WF_REAL_DOUBLE
#define WF_MPI_REAL MPI_DOUBLE
#else
#define WF_MPI_REAL MPI_FLOAT
#endif
#endif

const char *wf_dist_launched(void)
{
    /* Open MPI's mpirun, then PMI launchers (MPICH's hydra, Slurm's srun);
     * not a batch job's own variables, which a lone process sees too */
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1)
            return vars[i];
    }
    return NULL;
}

void wf_dist_share(const wf_dist *d, int total, int *first, int *n)
{
    int64_t a = (int64_t)total * d->rank / d->size, b = (int64_t)total * (d->rank + 1) / d->size;
    *first = (int)a;
    *n = (int)(b - a);
}

#ifdef WF_HAVE_MPI

int wf_dist_built(void)
{
    return 1;
}

int wf_dist_start(wf_dist *d)
{
    d->rank = 0;
    d->size = 1;
    /* the ranks' threads (OpenMP) never call MPI */
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    return 0;
}

void wf_dist_stop(const wf_dist *d)
{
    (void)d;
    MPI_Finalize();
}

void wf_dist_sum_grads(const wf_dist *d, const wf_params *ps)
{
    if (d->size <= 1)
        return;
    size_t total = 0;
    for (int i = 0; i < ps->n; i++)
        if (!ps->v[i].decl->fixed)
            total += wf_param_len(&ps->v[i]);
    int R = d->size;
    /* chunk r: [at[r], at[r] + cnt[r]) of the packed gradient */
    int *cnt = wf_xcalloc((size_t)R, sizeof *cnt), *at = wf_xcalloc((size_t)R, sizeof *at);
    int *rcnt = wf_xcalloc((size_t)R, sizeof *rcnt), *rat = wf_xcalloc((size_t)R, sizeof *rat);
    for (int r = 0; r < R; r++) {
        at[r] = (int)(total * (size_t)r / (size_t)R);
        cnt[r] = (int)(total * (size_t)(r + 1) / (size_t)R) - at[r];
    }
    int mine = cnt[d->rank];
    for (int r = 0; r < R; r++) {
        rcnt[r] = mine;
        rat[r] = r * mine;
    }
    wf_real *buf = wf_xmalloc(sizeof(wf_real) * (total + 1));
    wf_real *got = wf_xmalloc(sizeof(wf_real) * ((size_t)mine * (size_t)R + 1));
    wf_real *sum = wf_xmalloc(sizeof(wf_real) * ((size_t)mine + 1));
    size_t k = 0;
    for (int i = 0; i < ps->n; i++)
        if (!ps->v[i].decl->fixed)
            for (size_t j = 0, n = wf_param_len(&ps->v[i]); j < n; j++)
                buf[k++] = ps->v[i].grad[j];
    MPI_Alltoallv(buf, cnt, at, WF_MPI_REAL, got, rcnt, rat, WF_MPI_REAL, MPI_COMM_WORLD);
    for (int j = 0; j < mine; j++) {
        double s = 0;
        for (int r = 0; r < R; r++)
            s += got[(size_t)r * (size_t)mine + (size_t)j];
        sum[j] = (wf_real)s;
    }
    MPI_Allgatherv(sum, mine, WF_MPI_REAL, buf, cnt, at, WF_MPI_REAL, MPI_COMM_WORLD);
    k = 0;
    for (int i = 0; i < ps->n; i++)
        if (!ps->v[i].decl->fixed)
            for (size_t j = 0, n = wf_param_len(&ps->v[i]); j < n; j++)
                ps->v[i].grad[j] = buf[k++];
    free(buf);
    free(got);
    free(sum);
    free(cnt);
    free(at);
    free(rcnt);
    free(rat);
}

double wf_dist_sum(const wf_dist *d, double x)
{
    if (d->size <= 1)
        return x;
    double *all = wf_xmalloc(sizeof(double) * (size_t)d->size);
    MPI_Allgather(&x, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, MPI_COMM_WORLD);
    double s = 0;
    for (int r = 0; r < d->size; r++)
        s += all[r];
    free(all);
    return s;
}

int wf_dist_or(const wf_dist *d, int bits)
{
    if (d->size <= 1)
        return bits;
    int any = 0;
    MPI_Allreduce(&bits, &any, 1, MPI_INT, MPI_BOR, MPI_COMM_WORLD);
    return any;
}

#else /* one rank */

int wf_dist_built(void)
{
    return 0;
}

int wf_dist_start(wf_dist *d)
{
    d->rank = 0;
    d->size = 1;
    return -1;
}

void wf_dist_stop(const wf_dist *d)
{
    (void)d;
}

void wf_dist_sum_grads(const wf_dist *d, const wf_params *ps)
{
    (void)d;
    (void)ps;
}

double wf_dist_sum(const wf_dist *d, double x)
{
    (void)d;
    return x;
}

int wf_dist_or(const wf_dist *d, int bits)
{
    (void)d;
    return bits;
}

#endif
