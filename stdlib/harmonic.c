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
 * long renders do not drift (bench/WORKLOADS.md 0.4). A partial at or above the
 * Nyquist (m_k |f0| >= sr/2) is silenced: per frame, before interpolation,
 * when f0 is control rate, else per sample. Control-rate amplitudes are
 * interpolated inside the kernel (bench/WORKLOADS.md 0.3), so no [samples x K]
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
    /* a constant f0: S at sample at, its fraction and whole cycles, and the
     * increment since then (anchored 0: not yet) */
    double a_phase, a_whole, at, inc, anchored;
} harm_state;

static int harmonic_infer(wf_infer *ic)
{
    if (ic->in[A_F0].chans != 1) {
        wf_report_not_mono(ic->d, ic->arg_loc[A_F0], "use one harmonic() per voice", ic->name,
                           "f0", ic->in[A_F0].chans);
        return -1;
    }
    if (ic->in[A_INH].chans != 1) {
        wf_report_not_mono(ic->d, ic->arg_loc[A_INH], NULL, ic->name, "inharmonicity",
                           ic->in[A_INH].chans);
        return -1;
    }
    if (ic->in[A_AMPS].chans > MAX_PARTIALS) {
        wf_report_too_many_partials(ic->d, ic->arg_loc[A_AMPS], NULL, ic->name, MAX_PARTIALS,
                                    ic->in[A_AMPS].chans);
        return -1;
    }
    ic->out = wf_shape_of(WF_RATE_AUDIO, 1);
    return 0;
}

static void harmonic_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                          wf_sizes *s)
{
    (void)g;
    size_t n = (size_t)block, K = (size_t)in[A_AMPS].chans;
    /* runs: at most one per sample (a prime hop), usually one per frame */
    size_t runs = n + 1;
    if (e->hop > 1 && (size_t)e->hop <= CHUNK)
        runs = n / (size_t)e->hop + 2;
    s->state = sizeof(harm_state);
    s->work = n * sizeof(wf_phase) + n * sizeof(double) + 3 * 64;
    s->bwork = s->work + n * sizeof(double) + n * sizeof(wf_real) + runs * sizeof(double) +
               2 * runs * K * sizeof(double) + 6 * 64;
}

/* What one call knows about its inputs. */
typedef struct harm {
    int n, K, hop;
    double sr, nyq;
    wf_rate f0_rate, amps_rate;
    const wf_real *f0, *amps;
    double f0_const; /* a constant f0, exact when it is a compile-time constant */
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
        return h->f0_const;
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
    h->f0_const = k->in[A_F0].exact ? k->in[A_F0].exact[0] : (double)h->f0[0];
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
    h->Kconst = h->f0_rate == WF_RATE_CONST ? below_nyquist(h, h->f0_const) : 0;
    h->c = wf_carve(cursor, (size_t)h->n * sizeof(wf_phase));
    h->W = wf_carve(cursor, (size_t)h->n * sizeof(double));
}

/* Phases of the block, continuing from st: a sequential running sum, or for
 * a constant f0 a product from the sample it was set at. S is kept as whole
 * cycles plus a fraction, so that inharmonic partials,
 * frac(m_k S) = frac(frac(m_k whole) + m_k frac), stay exact however long
 * the render. */
static void harm_phases(harm *h, harm_state *st, int64_t t0)
{
    double inv = 1.0 / h->sr;
    if (h->f0_rate == WF_RATE_CONST) {
        /* S = S(at) + (t - at) f0 / sr from the sample the frequency was
         * set at: no serial sum, and a stream's blocks make the same sums
         * as a whole pass */
        double inc = h->f0_const * inv;
        if (!st->anchored || st->inc != inc) {
            st->a_phase = st->phase;
            st->a_whole = st->whole;
            st->at = (double)t0;
            st->inc = inc;
            st->anchored = 1;
        }
        double base = (double)t0 - st->at, a = st->a_phase, w = st->a_whole;
        for (int n = 0; n < h->n; n++) {
            double q = a + (base + n) * inc, fl = floor(q);
            h->c[n] = (wf_phase)(q - fl);
            h->W[n] = w + fl;
        }
        double q = a + (base + h->n) * inc, fl = floor(q);
        st->phase = q - fl;
        st->whole = w + fl;
        return;
    }
    double ph = st->phase, whole = st->whole;
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

/* The block is cut into runs of samples that share their amplitude rows:
 * one frame (or a divisor of it) when amps or f0 are control rate, else
 * CHUNK samples. Inside a run, loops go over samples for one partial at a
 * time, so every inner loop is long and vectorises. */
typedef struct run {
    int n0, L;   /* first sample, length */
    int i0, i1;  /* rows (frames) of the amplitudes around the run */
    int K0, K1;  /* partials below the Nyquist in those frames */
    int Km;      /* partials to visit */
} run;

static int run_length(const harm *h)
{
    if (h->amps_rate != WF_RATE_CONTROL && h->f0_rate != WF_RATE_CONTROL)
        return CHUNK;
    int L = h->hop <= CHUNK ? h->hop : CHUNK;
    while (h->hop % L)
        L--;
    return L;
}

static run run_at(const harm *h, int r, int RL)
{
    run u;
    u.n0 = r * RL;
    u.L = h->n - u.n0 < RL ? h->n - u.n0 : RL;
    int i = u.n0 / h->hop;
    if (h->amps_rate == WF_RATE_CONTROL) {
        int last = h->amps_frames - 1;
        u.i0 = i < last ? i : last;
        u.i1 = i + 1 < last ? i + 1 : last;
    } else {
        u.i0 = u.i1 = 0;
    }
    if (h->f0_rate == WF_RATE_CONST) {
        u.K0 = u.K1 = h->Kconst;
    } else if (h->f0_rate == WF_RATE_CONTROL) {
        int last = h->f0_frames - 1;
        u.K0 = below_nyquist(h, h->f0[i < last ? i : last]);
        u.K1 = below_nyquist(h, h->f0[i + 1 < last ? i + 1 : last]);
    } else {
        u.K0 = u.K1 = 0; /* per sample, below */
    }
    u.Km = u.K0 > u.K1 ? u.K0 : u.K1;
    return u;
}

/* Per-sample pieces of a run: interpolation weight, partial limit (audio-rate
 * f0), phase. */
typedef struct runbuf {
    wf_real t[CHUNK];
    int Kn[CHUNK];
} runbuf;

static void run_fill(const harm *h, run *u, runbuf *b)
{
    int interp = h->amps_rate == WF_RATE_CONTROL || h->f0_rate == WF_RATE_CONTROL;
    for (int n = 0; n < u->L; n++)
        b->t[n] = interp ? (wf_real)((u->n0 + n) % h->hop) / (wf_real)h->hop : 0;
    if (h->f0_rate == WF_RATE_AUDIO) {
        u->Km = 0;
        for (int n = 0; n < u->L; n++) {
            b->Kn[n] = below_nyquist(h, h->f0[u->n0 + n]);
            if (b->Kn[n] > u->Km)
                u->Km = b->Kn[n];
        }
    }
}

/* sin(2 pi phi_j) over the run (quarter = 0.25: the cosine). */
static void run_sines(const harm *h, const run *u, int j, wf_real quarter, wf_real *s)
{
    if (h->B != 0) {
        for (int n = 0; n < u->L; n++)
            s[n] = wf_sin2pi((wf_real)inharmonic_phase(h, u->n0 + n, j) + quarter);
    } else {
        const wf_phase m = h->mk[j], *c = h->c + u->n0;
        for (int n = 0; n < u->L; n++)
            s[n] = wf_sin2pi((wf_real)(m * c[n]) + quarter);
    }
}

/* Partial j's amplitude over a run whose amplitudes are not audio rate: a0
 * + d t[n], t the run's interpolation weights. */
static void run_amp_line(const harm *h, const run *u, int j, wf_real *a0, wf_real *d)
{
    wf_real v0 = j < u->K0 ? h->amps[(size_t)u->i0 * h->K + j] : 0;
    wf_real v1 = j < u->K1 ? h->amps[(size_t)u->i1 * h->K + j] : 0;
    if (h->f0_rate == WF_RATE_AUDIO)
        v0 = v1 = h->amps[(size_t)u->i0 * h->K + j];
    if (h->amps_rate == WF_RATE_CONST && h->f0_rate != WF_RATE_CONTROL)
        v1 = v0;
    *a0 = v0;
    *d = v1 - v0;
}

/* Amplitude of partial j at each sample of the run, masks applied. */
static void run_amps(const harm *h, const run *u, const runbuf *b, int j, wf_real *a)
{
    if (h->amps_rate == WF_RATE_AUDIO) {
        const wf_real *p = h->amps + (size_t)u->n0 * h->K + j;
        for (int n = 0; n < u->L; n++)
            a[n] = p[(size_t)n * h->K];
    } else {
        wf_real a0, d;
        run_amp_line(h, u, j, &a0, &d);
        for (int n = 0; n < u->L; n++)
            a[n] = a0 + d * b->t[n];
    }
    if (h->f0_rate == WF_RATE_AUDIO)
        for (int n = 0; n < u->L; n++)
            a[n] = j < b->Kn[n] ? a[n] : 0;
}

/* Whether partial j's sines of a run can be used as they are made, without
 * a buffer: a plain harmonic series (no inharmonicity), amplitudes and the
 * Nyquist limit not per sample. */
static int run_fused(const harm *h)
{
    return h->B == 0 && h->f0_rate != WF_RATE_AUDIO && h->amps_rate != WF_RATE_AUDIO;
}

/* A fused run's partials by rotation: with w[n] = exp(i 2 pi c[n]) the
 * phasor of partial j (m_j = j + 1, whole) is z_j = z_{j-1} w, so each
 * partial costs one complex multiply per sample instead of a sine
 * polynomial (six operations where the sine took about nineteen). The
 * float32 rounding of the product grows with the number of steps, so z is
 * made afresh from sin and cos of m_j c[n] every ANCHOR partials: against
 * float64 sines of the same float32 phases, 200 partials of 0.01 are off by
 * 1.3e-6 rms (the direct sine, whose argument m_j c[n] is itself rounded to
 * float32: 1.1e-6) and 2.8e-5 at worst (1.2e-5); anchors every 16 partials
 * gave 2.4e-5, so the anchors' own rounding dominates. Without AVX samples
 * go in tiles of TILE, so the tile's phasors, w and the sums stay in the
 * first-level cache while every partial passes. */
#define ANCHOR 32
#define TILE 256

typedef struct rotor {
    int n; /* samples in the tile */
    const wf_phase *c;
    wf_real wr[TILE], wi[TILE], zr[TILE], zi[TILE];
} rotor;

/* z = exp(i 2 pi m_j c) for partial j (w for j = 0) */
static void rotor_anchor(const harm *h, rotor *z, int j)
{
    const wf_phase m = h->mk[j];
    for (int n = 0; n < z->n; n++) {
        wf_real p = (wf_real)(m * z->c[n]);
        z->zr[n] = wf_cos2pi(p);
        z->zi[n] = wf_sin2pi(p);
    }
}

static void rotor_start(const harm *h, rotor *z, const wf_phase *c, int n)
{
    z->n = n;
    z->c = c;
    rotor_anchor(h, z, 0);
    memcpy(z->wr, z->zr, sizeof(wf_real) * (size_t)n);
    memcpy(z->wi, z->zi, sizeof(wf_real) * (size_t)n);
}

/* from partial j - 1 to partial j */
static void rotor_step(const harm *h, rotor *z, int j)
{
    if (j % ANCHOR == 0) {
        rotor_anchor(h, z, j);
        return;
    }
    wf_real *restrict zr = z->zr, *restrict zi = z->zi;
    const wf_real *restrict wr = z->wr, *restrict wi = z->wi;
    for (int n = 0; n < z->n; n++) {
        wf_real r = zr[n] * wr[n] - zi[n] * wi[n];
        zi[n] = zr[n] * wi[n] + zi[n] * wr[n];
        zr[n] = r;
    }
}

/* sum_n g[n] Im z[n], in wf_dot's order (WF_LANES running sums) */
static wf_real rotor_dot(const rotor *z, const wf_real *g)
{
    return wf_dot(g, z->zi, z->n);
}

#if WF_HAVE_AVX_FLOAT
/* With AVX the phasors of sixteen samples stay in registers while the
 * partials pass (the tiles above load and store them for every partial,
 * which left the rotation no faster than the sine): W1's bank 1.7 times
 * faster forward and 1.5 backward than the sine, a per-frame bank of 60
 * partials (W7) 1.2 and 2. A run's last samples go padded to sixteen, so
 * every sample takes the same operations wherever a block boundary falls
 * (streams equal whole passes bit for bit). */
#define RB 16

typedef struct block16 {
    __m256 wr[2], wi[2], zr[2], zi[2];
} block16;

/* w = exp(i 2 pi c) over the block, and z = w (partial 0); values, not
 * pointers, so that the phasors can stay in registers */
static block16 block_start(const wf_phase *c)
{
    wf_real r[RB], i[RB];
    for (int n = 0; n < RB; n++) {
        r[n] = wf_cos2pi(c[n]);
        i[n] = wf_sin2pi(c[n]);
    }
    block16 b;
    for (int h = 0; h < 2; h++) {
        b.zr[h] = b.wr[h] = _mm256_loadu_ps(r + 8 * h);
        b.zi[h] = b.wi[h] = _mm256_loadu_ps(i + 8 * h);
    }
    return b;
}

/* z = exp(i 2 pi m c) over the block, w kept */
static block16 block_anchor(const wf_phase *c, wf_phase m, block16 b)
{
    wf_real r[RB], i[RB];
    for (int n = 0; n < RB; n++) {
        wf_real p = (wf_real)(m * c[n]);
        r[n] = wf_cos2pi(p);
        i[n] = wf_sin2pi(p);
    }
    for (int h = 0; h < 2; h++) {
        b.zr[h] = _mm256_loadu_ps(r + 8 * h);
        b.zi[h] = _mm256_loadu_ps(i + 8 * h);
    }
    return b;
}

/* z times w: from one partial to the next */
static inline block16 block_step(block16 b)
{
    for (int k = 0; k < 2; k++) {
        __m256 r = _mm256_fmsub_ps(b.zr[k], b.wr[k], _mm256_mul_ps(b.zi[k], b.wi[k]));
        b.zi[k] = _mm256_fmadd_ps(b.zr[k], b.wi[k], _mm256_mul_ps(b.zi[k], b.wr[k]));
        b.zr[k] = r;
    }
    return b;
}

/* from partial j - 1 to partial j: a step, or every ANCHOR partials an
 * anchor */
static inline block16 block_next(const harm *h, const wf_phase *c, int j, block16 b)
{
    return j % ANCHOR ? block_step(b) : block_anchor(c, h->mk[j], b);
}

/* The run's samples from q, padded to RB (phase 0, weight 0) */
static int block_load(const wf_real *src, int q, int L, wf_real *dst)
{
    int m = L - q < RB ? L - q : RB;
    memcpy(dst, src + q, sizeof(wf_real) * (size_t)m);
    for (int n = m; n < RB; n++)
        dst[n] = 0;
    return m;
}

/* Partials go in spans of SPAN, the blocks of the run inside each, so that
 * a span's amplitudes and sums stay in the first-level cache. */
#define SPAN 256

/* acc[n] += sum_j (a0_j + d_j t[n]) sin(2 pi m_j c[n]) over a fused run */
static void fused_sum_avx(const harm *h, const run *u, const runbuf *b, wf_real *acc)
{
    wf_real A0[SPAN], D[SPAN];
    for (int j0 = 0; j0 < u->Km; j0 += SPAN) {
        int j1 = u->Km - j0 < SPAN ? u->Km : j0 + SPAN;
        for (int j = j0; j < j1; j++)
            run_amp_line(h, u, j, &A0[j - j0], &D[j - j0]);
        for (int q = 0; q < u->L; q += RB) {
            wf_real c[RB], t[RB], o[RB];
            int m = block_load(h->c + u->n0, q, u->L, c);
            block_load(b->t, q, u->L, t);
            block16 z = block_start(c);
            __m256 tt[2] = {_mm256_loadu_ps(t), _mm256_loadu_ps(t + 8)};
            __m256 s[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int j = j0; j < j1; j++) {
                if (j)
                    z = block_next(h, c, j, z);
                __m256 a = _mm256_set1_ps(A0[j - j0]), d = _mm256_set1_ps(D[j - j0]);
                for (int k = 0; k < 2; k++)
                    s[k] = _mm256_fmadd_ps(_mm256_fmadd_ps(d, tt[k], a), z.zi[k], s[k]);
            }
            _mm256_storeu_ps(o, s[0]);
            _mm256_storeu_ps(o + 8, s[1]);
            for (int n = 0; n < m; n++)
                acc[q + n] += o[n];
        }
    }
}

/* The amplitude gradients of a fused run: pl[j] += sum_n gl[n] sin(2 pi
 * m_j c[n]) for j < K0, pr[j] the same with gr for j < K1 (pr NULL: none) */
static void fused_dots_avx(const harm *h, const run *u, const wf_real *gl, const wf_real *gr,
                           double *pl, double *pr)
{
    __m256 sl[SPAN], sr[SPAN];
    for (int j0 = 0; j0 < u->Km; j0 += SPAN) {
        int j1 = u->Km - j0 < SPAN ? u->Km : j0 + SPAN;
        for (int j = 0; j < j1 - j0; j++)
            sl[j] = sr[j] = _mm256_setzero_ps();
        for (int q = 0; q < u->L; q += RB) {
            wf_real c[RB], g0[RB], g1[RB] = {0};
            block_load(h->c + u->n0, q, u->L, c);
            block_load(gl, q, u->L, g0);
            if (pr)
                block_load(gr, q, u->L, g1);
            __m256 l[2] = {_mm256_loadu_ps(g0), _mm256_loadu_ps(g0 + 8)};
            __m256 r[2] = {_mm256_loadu_ps(g1), _mm256_loadu_ps(g1 + 8)};
            block16 z = block_start(c);
            for (int j = j0; j < j1; j++) {
                if (j)
                    z = block_next(h, c, j, z);
                __m256 *a = &sl[j - j0], *b = &sr[j - j0];
                *a = _mm256_add_ps(*a, _mm256_fmadd_ps(l[1], z.zi[1], _mm256_mul_ps(l[0], z.zi[0])));
                if (pr)
                    *b = _mm256_add_ps(*b, _mm256_fmadd_ps(r[1], z.zi[1], _mm256_mul_ps(r[0], z.zi[0])));
            }
        }
        for (int j = j0; j < j1; j++) {
            float x[8], y[8];
            _mm256_storeu_ps(x, sl[j - j0]);
            _mm256_storeu_ps(y, sr[j - j0]);
            double a = 0, b = 0;
            for (int i = 0; i < 8; i++) {
                a += x[i];
                b += y[i];
            }
            if (j < u->K0)
                pl[j] += a;
            if (pr && j < u->K1)
                pr[j] += b;
        }
    }
}
#endif

static void harmonic_forward(wf_kctx *k)
{
    harm h;
    void *cur = k->work;
    harm_setup(&h, k, &cur);
    harm_phases(&h, k->state, k->t0);
    wf_real *y = k->out.p;
    int RL = run_length(&h), nruns = (h.n + RL - 1) / RL;
    /* threads only pay off on big blocks: small streaming blocks stay on one */
#pragma omp parallel for schedule(static) if ((long)h.n * h.K >= PARALLEL_WORK)
    for (int r = 0; r < nruns; r++) {
        runbuf b;
        wf_real acc[CHUNK], s[CHUNK], a[CHUNK];
        run u = run_at(&h, r, RL);
        run_fill(&h, &u, &b);
        for (int n = 0; n < u.L; n++)
            acc[n] = 0;
        if (run_fused(&h)) {
#if WF_HAVE_AVX_FLOAT
            fused_sum_avx(&h, &u, &b, acc);
#else
            rotor z;
            for (int q0 = 0; q0 < u.L; q0 += TILE) {
                int L = u.L - q0 < TILE ? u.L - q0 : TILE;
                wf_real *restrict o = acc + q0;
                const wf_real *restrict t = b.t + q0;
                rotor_start(&h, &z, h.c + u.n0 + q0, L);
                for (int j = 0; j < u.Km; j++) {
                    wf_real a0, d;
                    run_amp_line(&h, &u, j, &a0, &d);
                    if (j)
                        rotor_step(&h, &z, j);
                    if (d == 0)
                        for (int n = 0; n < L; n++)
                            o[n] += a0 * z.zi[n];
                    else
                        for (int n = 0; n < L; n++)
                            o[n] += (a0 + d * t[n]) * z.zi[n];
                }
            }
#endif
        } else {
            for (int j = 0; j < u.Km; j++) {
                run_sines(&h, &u, j, 0, s);
                run_amps(&h, &u, &b, j, a);
                for (int n = 0; n < u.L; n++)
                    acc[n] += a[n] * s[n];
            }
        }
        memcpy(y + u.n0, acc, sizeof(wf_real) * (size_t)u.L);
    }
}

/* A fused run's gradients by the tiles' rotors: pl[j] and pr[j] as
 * fused_dots_avx does (either may be NULL), and with ds the phase's
 * sums ds[n] += a_j[n] cos(2 pi m_j c[n]) m_j, db[n] the same with dm_j. */
static void fused_backward(const harm *h, const run *u, const runbuf *b, const wf_real *gl,
                           const wf_real *gr, double *pl, double *pr, double *ds, double *db)
{
    rotor z;
    for (int q0 = 0; q0 < u->L; q0 += TILE) {
        int L = u->L - q0 < TILE ? u->L - q0 : TILE;
        rotor_start(h, &z, h->c + u->n0 + q0, L);
        for (int j = 0; j < u->Km; j++) {
            if (j)
                rotor_step(h, &z, j);
            if (pl && j < u->K0)
                pl[j] += rotor_dot(&z, gl + q0);
            if (pr && j < u->K1)
                pr[j] += rotor_dot(&z, gr + q0);
            if (!ds)
                continue;
            wf_real a0, d;
            run_amp_line(h, u, j, &a0, &d);
            const double m = (double)h->mk[j], dm = (double)h->dmk[j];
            for (int q = 0; q < L; q++) {
                double v = (double)((a0 + d * b->t[q0 + q]) * z.zr[q]);
                ds[q0 + q] += v * m;
                db[q0 + q] += v * dm;
            }
        }
    }
}

static void harmonic_backward(wf_kctx *k)
{
    harm h;
    void *cur = k->work;
    harm_setup(&h, k, &cur);
    harm_state st = {0}; /* backward runs over whole signals from the start */
    harm_phases(&h, &st, 0);
    const wf_real *g = k->dout->p;
    const wf_sig *dA = &k->din[A_AMPS], *dF = &k->din[A_F0], *dBs = &k->din[A_INH];
    int n = h.n, K = h.K, hop = h.hop;
    int want_phase = dF->p || dBs->p;
    int rows_amps = dA->p && dA->rate != WF_RATE_AUDIO;
    int RL = run_length(&h), nruns = (n + RL - 1) / RL;
    double *dS = wf_carve(&cur, (size_t)n * sizeof(double));
    wf_real *df = wf_carve(&cur, (size_t)n * sizeof(wf_real));
    double *dBrun = wf_carve(&cur, (size_t)nruns * sizeof(double));
    /* per run, the sums going to its left and right amplitude rows: added
     * after the loop in run order, so the result does not depend on threads */
    double *partL = wf_carve(&cur, rows_amps ? (size_t)nruns * K * sizeof(double) : 0);
    double *partR = wf_carve(&cur, rows_amps ? (size_t)nruns * K * sizeof(double) : 0);

#pragma omp parallel for schedule(static) if ((long)n * K >= PARALLEL_WORK)
    for (int r = 0; r < nruns; r++) {
        runbuf b;
        wf_real s[CHUNK], cs[CHUNK], a[CHUNK], gl[CHUNK], gr[CHUNK];
        double ds[CHUNK], db[CHUNK];
        run u = run_at(&h, r, RL);
        run_fill(&h, &u, &b);
        const wf_real *gg = g + u.n0;
        for (int q = 0; q < u.L; q++) {
            gl[q] = gg[q] * (1 - b.t[q]);
            gr[q] = gg[q] * b.t[q];
            ds[q] = db[q] = 0;
        }
        if (rows_amps) {
            memset(partL + (size_t)r * K, 0, sizeof(double) * (size_t)K);
            memset(partR + (size_t)r * K, 0, sizeof(double) * (size_t)K);
        }
        if (run_fused(&h)) {
            int interp_rows = h.amps_rate == WF_RATE_CONTROL || h.f0_rate == WF_RATE_CONTROL;
            double *pl = rows_amps ? partL + (size_t)r * K : NULL;
            double *pr = rows_amps && interp_rows ? partR + (size_t)r * K : NULL;
#if WF_HAVE_AVX_FLOAT
            if (!want_phase) {
                if (pl)
                    fused_dots_avx(&h, &u, gl, gr, pl, pr);
            } else
#endif
                fused_backward(&h, &u, &b, gl, gr, pl, pr, want_phase ? ds : NULL, db);
        }
        for (int j = 0; j < u.Km && !run_fused(&h); j++) {
            if (dA->p) {
                run_sines(&h, &u, j, 0, s);
                if (h.f0_rate == WF_RATE_AUDIO)
                    for (int q = 0; q < u.L; q++)
                        s[q] = j < b.Kn[q] ? s[q] : 0;
                if (rows_amps) {
                    /* masks: each frame's partials stop at its own limit */
                    wf_real sl = wf_dot(gl, s, u.L), sr = wf_dot(gr, s, u.L);
                    int interp_rows = h.amps_rate == WF_RATE_CONTROL || h.f0_rate == WF_RATE_CONTROL;
                    if (!interp_rows) {
                        sl += sr;
                        sr = 0;
                    }
                    if (j < u.K0 || h.f0_rate == WF_RATE_AUDIO)
                        partL[(size_t)r * K + j] = sl;
                    if (j < u.K1 && interp_rows)
                        partR[(size_t)r * K + j] = sr;
                } else {
                    wf_real *row = dA->p + (size_t)u.n0 * K + j;
                    for (int q = 0; q < u.L; q++)
                        row[(size_t)q * K] += gg[q] * s[q];
                }
            }
            if (want_phase) {
                run_sines(&h, &u, j, (wf_real)0.25, cs);
                run_amps(&h, &u, &b, j, a);
                const double m = (double)h.mk[j], dm = (double)h.dmk[j];
                for (int q = 0; q < u.L; q++) {
                    double v = (double)(a[q] * cs[q]);
                    ds[q] += v * m;
                    db[q] += v * dm;
                }
            }
        }
        double bsum = 0;
        if (want_phase)
            for (int q = 0; q < u.L; q++) {
                dS[u.n0 + q] = WF_TWO_PI * (double)gg[q] * ds[q];
                bsum += WF_TWO_PI * (double)gg[q] * db[q] * (h.W[u.n0 + q] + (double)h.c[u.n0 + q]);
            }
        dBrun[r] = bsum;
    }

    if (rows_amps) {
        /* control amps: run r adds to rows i0 and i1; constant amps: row 0 */
        int interp_rows = h.amps_rate == WF_RATE_CONTROL || h.f0_rate == WF_RATE_CONTROL;
        if (dA->rate == WF_RATE_CONTROL) {
            for (int r = 0; r < nruns; r++) {
                run u = run_at(&h, r, RL);
                wf_real *l = dA->p + (size_t)u.i0 * K, *rr = dA->p + (size_t)u.i1 * K;
                for (int j = 0; j < K; j++) {
                    l[j] += (wf_real)partL[(size_t)r * K + j];
                    rr[j] += (wf_real)partR[(size_t)r * K + j];
                }
            }
        } else {
            for (int j = 0; j < K; j++) {
                double acc = 0;
                for (int r = 0; r < nruns; r++)
                    acc += partL[(size_t)r * K + j] + (interp_rows ? partR[(size_t)r * K + j] : 0);
                dA->p[j] += (wf_real)acc;
            }
        }
    }
    if (dBs->p) {
        double acc = 0;
        for (int r = 0; r < nruns; r++)
            acc += dBrun[r];
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
