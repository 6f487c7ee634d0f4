/* harmonic: an additive bank of partials of one fundamental (DDSP's harmonic
 * synthesizer; Engel et al. 2020, "DDSP: Differentiable Digital Signal
 * Processing", section 3.1):
 *
 *   y[n] = sum_k a_k[n] sin(2 pi phi_k[n]),   phi_k[n] = m_k S[n]
 *   S[n] = sum_{m<n} f0[m] / sr   (exclusive running sum, accumulated in double)
 *   m_k = k sqrt(1 + B k^2)       (stiff-string partials, B = inharmonicity;
 *                                  Fletcher, JASA 36, 1964)
 *
 * With B = 0, phi_k = k c[n] where c[n] = frac(S[n]) is cast to float, so
 * long renders do not drift (WORKLOADS.md 0.4). A partial at or above the
 * Nyquist (m_k |f0| >= sr/2) is silenced: per frame, before interpolation,
 * when f0 is control rate, else per sample. Control-rate amplitudes are
 * interpolated inside the kernel (WORKLOADS.md 0.3), so no [samples x K]
 * matrix is ever built.
 *
 * Backward: d/da_k = sum_n g sin(2 pi phi_k); d/dS[n] = g sum_k a_k 2 pi m_k
 * cos(2 pi phi_k), then d/df0[m] = (1/sr) sum_{n>m} d/dS[n] (a reverse
 * running sum); d/dB = sum_n g sum_k a_k 2 pi cos(2 pi phi_k) S[n] dm_k/dB,
 * dm_k/dB = k^3 / (2 sqrt(1 + B k^2)). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/vmath.h"
#include "stdlib/map.h"

#define MAX_PARTIALS 4096
#define CHUNK 1024
#define PARALLEL_WORK (1L << 17) /* sines per call worth a second thread */

enum { A_F0, A_AMPS, A_INH };

static const wf_arg_spec harmonic_args[] = {
    {"f0", WF_ARG_SIGNAL, NULL, "fundamental frequency in Hz (mono)", WF_ARG_KEEP_CONTROL, NULL,
     180, 260},
    {"amps", WF_ARG_SIGNAL, NULL, "amplitude of each partial: one channel per partial",
     WF_ARG_KEEP_CONTROL, NULL, -0.5, 0.5},
    {"inharmonicity", WF_ARG_SIGNAL, "0", "stiffness B: partial k at k f0 sqrt(1 + B k^2)",
     WF_ARG_CONST_ONLY, NULL, 1e-4, 1e-3},
};

typedef struct harm_state {
    double phase; /* frac(S) at the next sample */
    double whole; /* S - frac(S): whole cycles so far (inharmonic partials) */
} harm_state;

static int harmonic_infer(wf_infer *ic)
{
    if (ic->in[A_F0].chans != 1) {
        wf_diag(ic->d, WF_SEV_ERROR, ic->arg_loc[A_F0], "use one harmonic() per voice",
                "shape mismatch in 'harmonic': f0 must have 1 channel, it has %d",
                ic->in[A_F0].chans);
        return -1;
    }
    if (ic->in[A_INH].chans != 1) {
        wf_diag(ic->d, WF_SEV_ERROR, ic->arg_loc[A_INH], NULL,
                "shape mismatch in 'harmonic': inharmonicity must have 1 channel, it has %d",
                ic->in[A_INH].chans);
        return -1;
    }
    if (ic->in[A_AMPS].chans > MAX_PARTIALS) {
        wf_diag(ic->d, WF_SEV_ERROR, ic->arg_loc[A_AMPS], NULL,
                "'harmonic' takes at most %d partials, amps has %d channels", MAX_PARTIALS,
                ic->in[A_AMPS].chans);
        return -1;
    }
    ic->out = (wf_shape){WF_RATE_AUDIO, 1};
    return 0;
}

static void harmonic_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                          wf_sizes *s)
{
    (void)g;
    size_t n = (size_t)block, K = (size_t)in[A_AMPS].chans;
    size_t segs = n / CHUNK + (size_t)e->nframes + 2;
    s->state = sizeof(harm_state);
    s->work = n * sizeof(wf_phase) + n * sizeof(double) + 3 * 64;
    s->bwork = s->work + n * sizeof(double) + n * sizeof(wf_real) + segs * sizeof(double) +
               segs * K * sizeof(double) + ((size_t)e->nframes + 2) * K * sizeof(wf_real) + 6 * 64;
}

/* What one call knows about its inputs. */
typedef struct harm {
    int n, K, hop;
    double sr, nyq;
    wf_rate f0_rate, amps_rate;
    const wf_real *f0, *amps;
    int f0_frames, amps_frames;
    double B;
    int Kconst;  /* partials below the Nyquist for a constant f0 */
    wf_phase *c; /* phase of each sample in cycles: frac(S) */
    double *W;   /* whole cycles of S at each sample (B != 0) */
    wf_phase mk[MAX_PARTIALS];  /* m_k, exact for whole k (B = 0) */
    double mkd[MAX_PARTIALS];   /* m_k in double (B != 0: not whole) */
    wf_phase dmk[MAX_PARTIALS]; /* dm_k / dB */
} harm;

static double f0_at(const harm *h, int n)
{
    if (h->f0_rate == WF_RATE_CONST)
        return h->f0[0];
    if (h->f0_rate == WF_RATE_AUDIO)
        return h->f0[n];
    int i = n / h->hop, last = h->f0_frames - 1;
    double t = (double)(n % h->hop) / h->hop;
    double a = h->f0[i < last ? i : last], b = h->f0[i + 1 < last ? i + 1 : last];
    return a * (1 - t) + b * t;
}

/* Number of partials strictly below the Nyquist at fundamental f (m_k grows
 * with k, so a binary search finds the cut). */
static int below_nyquist(const harm *h, double f)
{
    double af = fabs(f);
    if (h->mk[h->K - 1] * af < h->nyq)
        return h->K;
    if (h->mk[0] * af >= h->nyq)
        return 0;
    int lo = 1, hi = h->K;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (h->mk[mid - 1] * af < h->nyq)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void harm_setup(harm *h, const wf_kctx *k, void **cursor)
{
    h->n = k->out.n;
    h->K = k->in[A_AMPS].chans;
    h->hop = k->env->hop;
    h->sr = k->env->sr;
    h->nyq = 0.5 * k->env->sr;
    h->f0_rate = k->in[A_F0].rate;
    h->amps_rate = k->in[A_AMPS].rate;
    h->f0 = k->in[A_F0].p;
    h->amps = k->in[A_AMPS].p;
    h->f0_frames = k->in[A_F0].n;
    h->amps_frames = k->in[A_AMPS].n;
    h->B = k->in[A_INH].p[0];
    for (int j = 0; j < h->K; j++) {
        double kk = j + 1, r = sqrt(1 + h->B * kk * kk);
        h->mkd[j] = h->B != 0 ? kk * r : kk;
        h->mk[j] = (wf_phase)h->mkd[j];
        h->dmk[j] = (wf_phase)(kk * kk * kk / (2 * r));
    }
    h->Kconst = h->f0_rate == WF_RATE_CONST ? below_nyquist(h, h->f0[0]) : 0;
    h->c = wf_carve(cursor, (size_t)h->n * sizeof(wf_phase));
    h->W = wf_carve(cursor, (size_t)h->n * sizeof(double));
}

/* Phases of the block, continuing from st (a sequential pass, cheap). S is
 * kept as whole cycles plus a fraction, so that inharmonic partials,
 * frac(m_k S) = frac(frac(m_k whole) + m_k frac), stay exact however long
 * the render. */
static void harm_phases(harm *h, harm_state *st)
{
    double ph = st->phase, whole = st->whole;
    double inv = 1.0 / h->sr;
    for (int n = 0; n < h->n; n++) {
        h->c[n] = (wf_phase)ph;
        h->W[n] = whole;
        ph += f0_at(h, n) * inv;
        double fl = floor(ph);
        ph -= fl;
        whole += fl;
    }
    st->phase = ph;
    st->whole = whole;
}

/* Phase of partial j at sample n when partials are not whole multiples. */
static inline double inharmonic_phase(const harm *h, int n, int j)
{
    double w = h->mkd[j] * h->W[n];
    return wf_frac(w - floor(w) + h->mkd[j] * (double)h->c[n]);
}

/* s[k] = sin(2 pi phi_k[n]) (or cos, with quarter = 0.25) for k < K. */
static inline void harm_sines(const harm *h, int n, int K, wf_real quarter, wf_real *s)
{
    if (h->B != 0) {
        for (int j = 0; j < K; j++)
            s[j] = wf_sin2pi((wf_real)inharmonic_phase(h, n, j) + quarter);
    } else {
        wf_phase c = h->c[n];
        for (int j = 0; j < K; j++)
            s[j] = wf_sin2pi((wf_real)(h->mk[j] * c) + quarter);
    }
}

static inline wf_real dot(const wf_real *a, const wf_real *b, int K)
{
    wf_real acc = 0;
    for (int j = 0; j < K; j++)
        acc += a[j] * b[j];
    return acc;
}

/* The amplitudes at sample n: (1 - t) a0 over the first K0 partials plus
 * t a1 over the first K1 (t = 0 when nothing is interpolated). */
typedef struct rows {
    const wf_real *a0, *a1;
    int i0, i1;
    int K0, K1;
    wf_real t;
} rows;

static inline rows harm_rows(const harm *h, int n)
{
    rows r;
    int j = n % h->hop, i = n / h->hop;
    wf_real t = (wf_real)j / (wf_real)h->hop;
    r.t = 0;
    if (h->amps_rate == WF_RATE_CONTROL) {
        int last = h->amps_frames - 1;
        r.i0 = i < last ? i : last;
        r.i1 = i + 1 < last ? i + 1 : last;
        r.t = t;
    } else {
        r.i0 = r.i1 = h->amps_rate == WF_RATE_AUDIO ? n : 0;
    }
    r.a0 = h->amps + (size_t)r.i0 * h->K;
    r.a1 = h->amps + (size_t)r.i1 * h->K;
    if (h->f0_rate == WF_RATE_CONST) {
        r.K0 = r.K1 = h->Kconst;
    } else if (h->f0_rate == WF_RATE_AUDIO) {
        r.K0 = r.K1 = below_nyquist(h, h->f0[n]);
    } else {
        /* control f0: each frame's mask goes with that frame's amplitudes */
        int last = h->f0_frames - 1;
        r.K0 = below_nyquist(h, h->f0[i < last ? i : last]);
        r.K1 = below_nyquist(h, h->f0[i + 1 < last ? i + 1 : last]);
        r.t = t;
    }
    return r;
}

static void harmonic_forward(wf_kctx *k)
{
    harm h;
    void *cur = k->work;
    harm_setup(&h, k, &cur);
    harm_phases(&h, k->state);
    wf_real *y = k->out.p;
    int n = h.n;
    /* threads only pay off on big blocks: small streaming blocks stay on one */
#pragma omp parallel for schedule(static) if ((long)n * h.K >= PARALLEL_WORK)
    for (int c0 = 0; c0 < n; c0 += CHUNK) {
        wf_real s[MAX_PARTIALS];
        int c1 = c0 + CHUNK < n ? c0 + CHUNK : n;
        for (int j = c0; j < c1; j++) {
            rows r = harm_rows(&h, j);
            int Km = r.K0 > r.K1 ? r.K0 : r.K1;
            harm_sines(&h, j, Km, 0, s);
            wf_real v = dot(r.a0, s, r.K0);
            if (r.t != 0)
                v = v * (1 - r.t) + dot(r.a1, s, r.K1) * r.t;
            y[j] = v;
        }
    }
}

static void harmonic_backward(wf_kctx *k)
{
    harm h;
    void *cur = k->work;
    harm_setup(&h, k, &cur);
    harm_state st = {0, 0}; /* backward runs over whole signals from the start */
    harm_phases(&h, &st);
    const wf_real *g = k->dout->p;
    const wf_sig *dA = &k->din[A_AMPS], *dF = &k->din[A_F0], *dBs = &k->din[A_INH];
    int n = h.n, K = h.K, hop = h.hop;
    int want_phase = dF->p || dBs->p;
    /* Segments: one frame each when amps are control rate (so each segment
     * owns its rows), else CHUNK samples. Partial sums are kept per segment in
     * double and combined in order: the result does not depend on threads. */
    int seglen = h.amps_rate == WF_RATE_CONTROL ? hop : CHUNK;
    int nseg = (n + seglen - 1) / seglen;
    double *dS = wf_carve(&cur, (size_t)n * sizeof(double));
    wf_real *df = wf_carve(&cur, (size_t)n * sizeof(wf_real));
    double *dBseg = wf_carve(&cur, (size_t)nseg * sizeof(double));
    double *part = wf_carve(&cur, (size_t)nseg * (size_t)K * sizeof(double));
    wf_real *right = wf_carve(&cur, (size_t)(h.amps_frames + 1) * (size_t)K * sizeof(wf_real));
    if (dA->p && dA->rate == WF_RATE_CONTROL)
        memset(right, 0, (size_t)(h.amps_frames + 1) * (size_t)K * sizeof(wf_real));

#pragma omp parallel for schedule(static) if ((long)n * K >= PARALLEL_WORK)
    for (int sg = 0; sg < nseg; sg++) {
        wf_real s[MAX_PARTIALS], cs[MAX_PARTIALS];
        double accL[MAX_PARTIALS], accR[MAX_PARTIALS];
        int c0 = sg * seglen, c1 = c0 + seglen < n ? c0 + seglen : n;
        int Kacc = 0;
        double bsum = 0;
        if (dA->p && dA->rate != WF_RATE_AUDIO) {
            Kacc = K;
            memset(accL, 0, sizeof(double) * (size_t)K);
            memset(accR, 0, sizeof(double) * (size_t)K);
        }
        int i0 = 0, i1 = 0;
        for (int j = c0; j < c1; j++) {
            rows r = harm_rows(&h, j);
            int Km = r.K0 > r.K1 ? r.K0 : r.K1;
            wf_real gj = g[j];
            i0 = r.i0;
            i1 = r.i1;
            if (dA->p) {
                harm_sines(&h, j, Km, 0, s);
                wf_real w0 = gj * (1 - r.t), w1 = gj * r.t;
                if (dA->rate == WF_RATE_AUDIO) {
                    wf_real *row = dA->p + (size_t)j * K;
                    for (int q = 0; q < r.K0; q++)
                        row[q] += gj * s[q];
                } else {
                    for (int q = 0; q < r.K0; q++)
                        accL[q] += w0 * s[q];
                    for (int q = 0; q < r.K1; q++)
                        accR[q] += w1 * s[q];
                }
            }
            if (want_phase) {
                harm_sines(&h, j, Km, (wf_real)0.25, cs);
                double a = 0, b = 0;
                for (int q = 0; q < Km; q++) {
                    wf_real amp = (q < r.K0 ? r.a0[q] * (1 - r.t) : 0) +
                                  (q < r.K1 ? r.a1[q] * r.t : 0);
                    a += (double)(amp * h.mk[q] * cs[q]);
                    b += (double)(amp * h.dmk[q] * cs[q]);
                }
                dS[j] = WF_TWO_PI * (double)gj * a;
                bsum += WF_TWO_PI * (double)gj * b * (h.W[j] + (double)h.c[j]);
            }
        }
        dBseg[sg] = bsum;
        if (Kacc) {
            if (dA->rate == WF_RATE_CONTROL) {
                /* a segment is one frame: its left rows are its own, its right
                 * rows go to a separate buffer (added after the loop) */
                wf_real *l = dA->p + (size_t)i0 * K, *rr = right + (size_t)i1 * K;
                for (int q = 0; q < K; q++) {
                    l[q] += (wf_real)accL[q];
                    rr[q] += (wf_real)accR[q];
                }
            } else {
                double *pp = part + (size_t)sg * K;
                for (int q = 0; q < K; q++)
                    pp[q] = accL[q] + accR[q];
            }
        }
    }

    if (dA->p && dA->rate == WF_RATE_CONTROL) {
        size_t len = (size_t)h.amps_frames * (size_t)K;
        for (size_t q = 0; q < len; q++)
            dA->p[q] += right[q];
    } else if (dA->p && dA->rate == WF_RATE_CONST) {
        for (int q = 0; q < K; q++) {
            double acc = 0;
            for (int sg = 0; sg < nseg; sg++)
                acc += part[(size_t)sg * K + q];
            dA->p[q] += (wf_real)acc;
        }
    }
    if (dBs->p) {
        double acc = 0;
        for (int sg = 0; sg < nseg; sg++)
            acc += dBseg[sg];
        dBs->p[0] += (wf_real)acc;
    }
    if (dF->p) {
        double inv = 1.0 / h.sr;
        if (dF->rate == WF_RATE_CONST) {
            double acc = 0;
            for (int j = 0; j < n; j++)
                acc += (double)j * dS[j];
            dF->p[0] += (wf_real)(acc * inv);
        } else {
            double acc = 0;
            for (int j = n - 1; j >= 0; j--) {
                df[j] = (wf_real)(acc * inv);
                acc += dS[j];
            }
            if (dF->rate == WF_RATE_AUDIO) {
                for (int j = 0; j < n; j++)
                    dF->p[j] += df[j];
            } else {
                wf_interp_control_adjoint(dF, hop, df, n);
            }
        }
    }
}

const wf_node_kind wf_kind_harmonic = {
    .name = "harmonic",
    .family = "oscillators",
    .doc = "Additive bank of partials k = 1..K of f0 (K = channels of amps), each silenced "
           "at or above the Nyquist; inharmonicity B moves partial k to k f0 sqrt(1 + B k^2).",
    .args = harmonic_args,
    .nargs = 3,
    .keep = 7,
    .infer = harmonic_infer,
    .size = harmonic_size,
    .forward = harmonic_forward,
    .backward = harmonic_backward,
};
