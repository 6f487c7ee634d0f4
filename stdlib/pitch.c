/* pitch: fundamental frequency tracking, audio in, control-rate frames out
 * (channel 0 f0 in Hz, channel 1 voicing confidence in [0, 1]). An analysis
 * kind (WF_KIND_ANALYSIS): its output depends on its input but has no
 * gradient, so a fit refuses a param upstream of it, and computes it once
 * per recording when nothing upstream is learnt (docs/design.md "Analysis
 * computed once").
 *
 * Frame i is centred on sample i hop (the control rate's convention: frame
 * i's value sits at sample i hop when interpolated), and analyses the span
 * of L = W + T + 1 samples starting at i hop - floor(L/2), x = 0 outside the
 * run; W = window * sr is the integration window, T = ceil(sr / fmin) the
 * longest period and t0 = max(2, floor(sr / fmax)) the shortest.
 *
 * YIN (de Cheveigné & Kawahara 2002, "YIN, a fundamental frequency
 * estimator for speech and music", JASA 111(4)), steps 2 to 5:
 *   d(tau)  = sum_{j<W} (x_j - x_{j+tau})^2
 *           = e(0) + e(tau) - 2 r(tau),  e(tau) = sum_{j<W} x_{j+tau}^2,
 *             r(tau) = sum_{j<W} x_j x_{j+tau}        (difference function)
 *   d'(tau) = d(tau) tau / sum_{k=1..tau} d(k),  d'(0) = 1      (CMNDF)
 *   D(tau)  = d'(tau) - (d'(tau-1) - d'(tau+1))^2 /
 *             (8 (d'(tau-1) - 2 d'(tau) + d'(tau+1))), clipped at 0: the depth
 *             of the dip at a local minimum tau of d', the bottom of the
 *             parabola through it (step 5: "the ordinate of the interpolated
 *             minimum is used in the dip-selection process")
 *   tau*    = the dip of shortest period in [t0, T] with D(tau) < threshold;
 *             none: the deepest dip, unvoiced
 *   f0      = sr / (tau* + s),  s = (d(tau*-1) - d(tau*+1)) /
 *             (2 (d(tau*-1) - 2 d(tau*) + d(tau*+1)))  (parabola through
 *             the raw d, which d' would bias; |s| <= 1)
 * r(tau) is one correlation by FFT (runtime/fft.h) of the window against
 * the span, N = pow2 >= L points, so a frame costs O(N log N); e(tau) comes
 * from prefix sums in double. Confidence = 1 - D(tau*), clipped to [0, 1];
 * a frame is voiced when D(tau*) < threshold. Sampled d' (as librosa's yin
 * and pyin threshold it) fails where the period falls between two lags and
 * the spectrum reaches high: in a frame of a DDSP-like 492 Hz tone at
 * 16 kHz (tests/test_pitch.c) d'(32) = 0.108 and d'(33) = 0.119 about its
 * 32.52-sample period while d'(65) = 0.003, its double period landing on
 * a lag, so a threshold of 0.1 read 246 Hz; the depth D(32) = 0.046.
 *
 * pYIN (Mauch & Dixon 2014, "pYIN: a fundamental frequency estimator using
 * probabilistic threshold distributions", ICASSP), with the settings of the
 * official implementation as librosa.pyin has them: thresholds 0.01 ..
 * 1.00 in steps of 0.01 weighted by a Beta(2, 18) prior; for each, the dips
 * (local minima of d' on [t0, T]) whose depth D is below it (librosa and
 * the official pYIN compare the sampled d'), ordered by period, get a
 * Boltzmann(2) prior over their order, and when none is below, the lowest
 * dip gets 0.01 of the threshold's weight. A dip's probability is the sum
 * over thresholds; its parabola-refined f0 falls in one of the pitch bins
 * fmin 2^(b / 120) (10 cents). Observation: voiced state b has the mass of
 * the dips in bin b, p_v their sum (clipped to 1, channel 1), every
 * unvoiced state (1 - p_v) / bins. An HMM over bins x {voiced, unvoiced}:
 * within a voicing, a triangular transition of half-width
 * 35.92 * 12 / (2 frame rate) semitones (35.92 octaves per second, at least
 * a bin), rows normalised; a voicing switch with probability 0.01; start in an
 * unvoiced state, uniformly. Decoded by Viterbi in log probabilities.
 *
 * Streaming. Viterbi needs the whole signal; pYIN here decodes with a
 * fixed lag of K = round(lag * frame rate) frames: frame j's state is the
 * backtrace from the best state of frame min(j + K, last) (Viterbi's
 * path is the same once every survivor has merged, usually within a few
 * frames). A whole pass decodes the same way, so streams equal whole
 * passes exactly: the kind declares a lookahead of K frames plus half a
 * span, keeps the last K + 1 frames' backpointers, its Viterbi scores and
 * the half span of samples before its window as state.
 *
 * Unvoiced frames' f0, by `unvoiced`: hold (default) the last voiced
 * frame's f0, 0 before the first; zero; or guess, the frame's own best
 * estimate (YIN's tau*, pYIN's decoded unvoiced bin), as CREPE's f0 always
 * is in DDSP. Voiced pYIN frames give the f0 of the dip that fell in the
 * decoded bin (finer than the bin), or the bin's centre when none did.
 *
 * No backward: an estimate picked by thresholds and argmax is piecewise
 * constant in its input. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "runtime/fft.h"
#include "runtime/node.h"

enum { A_X, A_METHOD, A_FMIN, A_FMAX, A_THRESHOLD, A_WINDOW, A_LAG, A_UNVOICED };
enum { YIN, PYIN };
enum { HOLD, ZERO, GUESS };

#define CHUNK 16            /* frames per FFT batch */
#define NTHR 100            /* pYIN's thresholds 0.01 .. 1 */
#define BINS_PER_SEMITONE 10
#define SWITCH_PROB 0.01
#define NO_TROUGH_PROB 0.01
#define BOLTZMANN 2.0
#define MAX_RATE 35.92      /* octaves per second */
#define SILENCE 1e-10       /* mean square of a span below which it is silent */

static const char *const methods[] = {"yin", "pyin", NULL};
static const char *const unvoiceds[] = {"hold", "zero", "guess", NULL};

static const wf_arg_spec pitch_args[] = {
    {"x", WF_ARG_SIGNAL, NULL, "mono audio to track", WF_ARG_NODIFF, NULL, -1, 1},
    {"method", WF_ARG_ENUM, "pyin",
     "yin (one estimate per frame) or pyin (probabilistic, smoothed by an HMM)", 0, methods, 0, 0},
    {"fmin", WF_ARG_NUMBER, "65", "lowest f0 in Hz (10 or more)", WF_ARG_POSITIVE, NULL, 0, 0},
    {"fmax", WF_ARG_NUMBER, "2100", "highest f0 in Hz (at most 20000; limited to sr / 2)", WF_ARG_POSITIVE, NULL, 0, 0},
    {"threshold", WF_ARG_NUMBER, "0.1", "YIN's absolute threshold on the normalised difference",
     WF_ARG_POSITIVE, NULL, 0, 0},
    {"window", WF_ARG_NUMBER, "0.04", "integration window in seconds", WF_ARG_POSITIVE, NULL, 0, 0},
    {"lag", WF_ARG_NUMBER, "0.25", "pyin: seconds of the fixed-lag Viterbi decoding (its latency)",
     0, NULL, 0, 0},
    {"unvoiced", WF_ARG_ENUM, "hold",
     "f0 of unvoiced frames: hold the last voiced f0 (0 before), zero, or guess", 0, unvoiceds, 0,
     0},
};

/* The frame geometry and the HMM's size, from the options and the rates. */
typedef struct geo {
    int method, unvoiced;
    double sr, fmin, thr;
    int hop, W, tmin, tmax, L, half, N, bins;
    int nb, width, K, R;   /* pitch bins, transition half-width, lag, ring frames */
    int hist, ahead;       /* samples kept before a window, read past it */
} geo;

static int pow2_at_least(int n)
{
    int p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static geo geometry(const wf_gnode *g, const wf_env *e)
{
    geo G;
    G.method = (int)wf_opt_num(g, A_METHOD, PYIN);
    G.unvoiced = (int)wf_opt_num(g, A_UNVOICED, HOLD);
    G.sr = e->sr;
    G.hop = e->hop;
    G.fmin = wf_opt_num(g, A_FMIN, 65);
    double fmax = wf_opt_num(g, A_FMAX, 2100);
    G.thr = wf_opt_num(g, A_THRESHOLD, 0.1);
    G.W = (int)lround(wf_opt_num(g, A_WINDOW, 0.04) * e->sr);
    if (G.W < 2)
        G.W = 2;
    G.tmin = (int)floor(e->sr / fmax);
    if (G.tmin < 2)
        G.tmin = 2;
    G.tmax = (int)ceil(e->sr / G.fmin);
    if (G.tmax < G.tmin + 2)
        G.tmax = G.tmin + 2;
    G.L = G.W + G.tmax + 2; /* d(tau) up to T + 1 for the parabola */
    G.half = G.L / 2;
    G.N = pow2_at_least(G.L);
    G.bins = G.N / 2 + 1;
    G.nb = (int)floor(12 * BINS_PER_SEMITONE * log2(fmax / G.fmin)) + 1;
    if (G.nb < 1)
        G.nb = 1;
    /* librosa's triangle of round(35.92 * 12 / frame rate) semitones across;
     * unrounded here, so that high frame rates still let the pitch move */
    G.width = (int)lround(MAX_RATE * 12 * BINS_PER_SEMITONE / (2 * e->frame_rate));
    if (G.width < 1)
        G.width = 1;
    G.K = G.method == PYIN ? (int)lround(wf_opt_num(g, A_LAG, 0.25) * e->frame_rate) : 0;
    if (G.K < 0)
        G.K = 0;
    G.R = G.K + 1;
    G.hist = G.half;
    G.ahead = (G.K - 1) * G.hop + (G.L - G.half);
    if (G.ahead < 0)
        G.ahead = 0;
    return G;
}

static int pitch_infer(wf_infer *ic)
{
    const wf_shape *x = &ic->in[A_X];
    if (x->rate != WF_RATE_AUDIO) {
        wf_report_not_audio_rate(ic->d, ic->arg_loc[A_X], NULL, ic->name, "x",
                                 wf_rate_name(x->rate));
        return -1;
    }
    if (x->chans != 1) {
        wf_report_not_mono(ic->d, ic->arg_loc[A_X], "track one channel: mix(...) or pick(...)",
                           ic->name, "x", x->chans);
        return -1;
    }
    /* the longest period and the HMM's bins follow from these: keep them
     * to what pitch is (and to what the state can hold) */
    double fmin = wf_opt_num(ic->node, A_FMIN, 65), fmax = wf_opt_num(ic->node, A_FMAX, 2100);
    if (fmin < 10) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "10 Hz or more", "fmin", ic->name, fmin);
        return -1;
    }
    if (fmax <= fmin || fmax > 20000) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "above fmin, at most 20 kHz", "fmax",
                                        ic->name, fmax);
        return -1;
    }
    double window = wf_opt_num(ic->node, A_WINDOW, 0.04);
    if (window > 1) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "at most 1 s", "window", ic->name, window);
        return -1;
    }
    double thr = wf_opt_num(ic->node, A_THRESHOLD, 0.1);
    if (thr >= 1) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "a threshold below 1", "threshold",
                                        ic->name, thr);
        return -1;
    }
    double lag = wf_opt_num(ic->node, A_LAG, 0.25);
    if (lag < 0 || lag > 10) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "0 to 10 seconds", "lag", ic->name, lag);
        return -1;
    }
    ic->out = wf_shape_of(WF_RATE_CONTROL, 2);
    return 0;
}

static int pitch_lookahead(const wf_gnode *g, const wf_shape *in, const wf_env *e, int input)
{
    (void)in;
    (void)input;
    return geometry(g, e).ahead;
}

/* The state, carved from k->state in this order every call (never pointers
 * kept in it: a live edit may copy a state to a new program). */
typedef struct pstate {
    int64_t next;  /* next frame to analyse */
    double held;   /* last voiced f0 */
    int started;   /* pyin: scores hold frame next - 1 */
} pstate;

typedef struct pview {
    pstate *s;
    wf_real *hist;  /* [hist] samples before the window */
    double *delta;  /* [2 nb] Viterbi scores of frame next - 1 */
    int16_t *psi;   /* [R][2 nb] backpointers */
    float *cand;    /* [R][nb] f0 of the dip in each bin, 0: none */
    float *vp;      /* [R] voiced probability */
} pview;

static size_t state_bytes(const geo *G)
{
    size_t b = 64 + sizeof(pstate) + 64 + sizeof(wf_real) * (size_t)G->hist;
    if (G->method == PYIN)
        b += 64 + sizeof(double) * 2 * (size_t)G->nb + 64 + sizeof(int16_t) * (size_t)G->R * 2 * G->nb +
             64 + sizeof(float) * (size_t)G->R * G->nb + 64 + sizeof(float) * (size_t)G->R;
    return b;
}

static pview state_view(void *state, const geo *G)
{
    pview v = {0};
    void *cur = state;
    v.s = wf_carve(&cur, sizeof(pstate));
    v.hist = wf_carve(&cur, sizeof(wf_real) * (size_t)G->hist);
    if (G->method == PYIN) {
        v.delta = wf_carve(&cur, sizeof(double) * 2 * (size_t)G->nb);
        v.psi = wf_carve(&cur, sizeof(int16_t) * (size_t)G->R * 2 * G->nb);
        v.cand = wf_carve(&cur, sizeof(float) * (size_t)G->R * G->nb);
        v.vp = wf_carve(&cur, sizeof(float) * (size_t)G->R);
    }
    return v;
}

/* Scratch of one call. */
typedef struct pwork {
    wf_real *buf;            /* [hist | x], the samples the call's frames read */
    wf_real *a, *b, *fa, *fb; /* CHUNK windows, spans and their spectra */
    wf_real *r;              /* CHUNK correlations */
    double *pre, *dp, *shift, *depth; /* prefix energies [L + 1], d' [T + 2], parabola
                                       * shifts, dips' interpolated d' */
    double *obs, *nd, *logrow, *logwin; /* pyin */
    int *troughs;
    double *tprob;
} pwork;

static size_t work_bytes(const geo *G, int block)
{
    size_t nbuf = (size_t)G->hist + (size_t)block * G->hop + (size_t)G->ahead;
    size_t b = 64 + sizeof(wf_real) * nbuf;
    b += 5 * (64 + sizeof(wf_real) * (size_t)CHUNK * 2 * G->bins);
    b += 64 + sizeof(double) * (size_t)(G->L + 1) + 3 * (64 + sizeof(double) * (size_t)(G->tmax + 2));
    b += 4 * (64 + sizeof(double) * 2 * (size_t)(G->nb + 2 * G->width + 1));
    b += 2 * (64 + sizeof(double) * (size_t)(G->tmax + 2));
    return b;
}

static pwork work_view(void *work, const geo *G, int nbuf)
{
    pwork w;
    void *cur = work;
    size_t spec = (size_t)CHUNK * 2 * G->bins, ext = 2 * (size_t)(G->nb + 2 * G->width + 1);
    w.buf = wf_carve(&cur, sizeof(wf_real) * (size_t)nbuf);
    w.a = wf_carve(&cur, sizeof(wf_real) * spec);
    w.b = wf_carve(&cur, sizeof(wf_real) * spec);
    w.fa = wf_carve(&cur, sizeof(wf_real) * spec);
    w.fb = wf_carve(&cur, sizeof(wf_real) * spec);
    w.r = wf_carve(&cur, sizeof(wf_real) * spec);
    w.pre = wf_carve(&cur, sizeof(double) * (size_t)(G->L + 1));
    w.dp = wf_carve(&cur, sizeof(double) * (size_t)(G->tmax + 2));
    w.shift = wf_carve(&cur, sizeof(double) * (size_t)(G->tmax + 2));
    w.depth = wf_carve(&cur, sizeof(double) * (size_t)(G->tmax + 2));
    w.obs = wf_carve(&cur, sizeof(double) * ext);
    w.nd = wf_carve(&cur, sizeof(double) * ext);
    w.logrow = wf_carve(&cur, sizeof(double) * ext);
    w.logwin = wf_carve(&cur, sizeof(double) * ext);
    w.troughs = wf_carve(&cur, sizeof(double) * (size_t)(G->tmax + 2));
    w.tprob = wf_carve(&cur, sizeof(double) * (size_t)(G->tmax + 2));
    return w;
}

static void pitch_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                       wf_sizes *s)
{
    (void)in;
    geo G = geometry(g, e);
    s->state = state_bytes(&G);
    s->work = work_bytes(&G, block);
}

static void pitch_reset(wf_kctx *k)
{
    geo G = geometry(k->node, k->env);
    pview v = state_view(k->state, &G);
    v.s->next = k->t0;
}

/* What YIN makes of one frame. */
typedef struct est {
    double f0;  /* sr / (tau* + s) */
    double dmin; /* d'(tau*) */
    int voiced;
} est;

/* d' on [1, T + 1] and the parabola shifts on [t0, T] of the span whose
 * correlation is r; returns 0 for a silent span. */
static int cmndf(const geo *G, const wf_real *span, const wf_real *r, pwork *w)
{
    double *pre = w->pre, *dp = w->dp;
    pre[0] = 0;
    for (int j = 0; j < G->L; j++)
        pre[j + 1] = pre[j] + (double)span[j] * span[j];
    if (pre[G->L] < SILENCE * G->L)
        return 0;
    double e0 = pre[G->W], sum = 0, scale = 1.0 / G->N;
    dp[0] = 1;
    for (int tau = 1; tau <= G->tmax + 1; tau++) {
        double d = e0 + (pre[tau + G->W] - pre[tau]) - 2 * scale * r[tau];
        if (d < 0)
            d = 0;
        sum += d;
        dp[tau] = sum > 0 ? d * tau / sum : 1;
    }
    /* the parabola through the raw d: d' is biased by its normalisation
     * (de Cheveigné & Kawahara's step 5) */
    for (int tau = G->tmin; tau <= G->tmax; tau++) {
        double dm = e0 + (pre[tau - 1 + G->W] - pre[tau - 1]) - 2 * scale * r[tau - 1];
        double d0 = e0 + (pre[tau + G->W] - pre[tau]) - 2 * scale * r[tau];
        double dq = e0 + (pre[tau + 1 + G->W] - pre[tau + 1]) - 2 * scale * r[tau + 1];
        double a = dm - 2 * d0 + dq, b = dm - dq;
        double s = a > 0 ? b / (2 * a) : 0;
        w->shift[tau] = fabs(s) > 1 ? 0 : s;
        /* the dip's depth: the bottom of the parabola through d' (step 5:
         * "the ordinate of the interpolated minimum is used in the
         * dip-selection process"). A period between two lags leaves both
         * well above the dip's bottom when the spectrum reaches high (a
         * 492 Hz tone's 32.5 samples at 16 kHz), while twice it may fall
         * on a lag: sampled d', the sub-octave would win. Only at a local
         * minimum of d', where the vertex lies within half a lag. */
        double pm = dp[tau - 1], p0 = dp[tau], pq = dp[tau + 1], pa = pm - 2 * p0 + pq;
        double v = p0 <= pm && p0 <= pq && pa > 0 ? p0 - (pm - pq) * (pm - pq) / (8 * pa) : p0;
        w->depth[tau] = v < 0 ? 0 : v;
    }
    return 1;
}

/* The dips: local minima of d' on [t0, T] (an end counts when its one
 * neighbour is higher), in w->troughs by period; returns how many. */
static int find_troughs(const geo *G, pwork *w)
{
    const double *dp = w->dp;
    int nt = 0;
    for (int tau = G->tmin; tau <= G->tmax; tau++) {
        int lo;
        if (tau == G->tmin)
            lo = dp[tau] < dp[tau + 1];
        else if (tau == G->tmax)
            lo = dp[tau] < dp[tau - 1];
        else
            lo = dp[tau] < dp[tau - 1] && dp[tau] <= dp[tau + 1];
        if (lo)
            w->troughs[nt++] = tau;
    }
    return nt;
}

/* The shortest-period dip deeper than the threshold; none: the deepest
 * dip, unvoiced (the smallest d' when d' has no dip). */
static est yin_pick(const geo *G, pwork *w)
{
    const double *depth = w->depth;
    int nt = find_troughs(G, w), best = -1, voiced = 0;
    for (int i = 0; i < nt && !voiced; i++) {
        int tau = w->troughs[i];
        if (best < 0 || depth[tau] < depth[best])
            best = tau;
        voiced = depth[tau] < G->thr;
    }
    if (best < 0) {
        best = G->tmin;
        for (int tau = G->tmin + 1; tau <= G->tmax; tau++)
            if (depth[tau] < depth[best])
                best = tau;
    }
    est e = {G->sr / (best + w->shift[best]), depth[best], voiced};
    return e;
}

static int bin_of(const geo *G, double f0)
{
    double b = 12.0 * BINS_PER_SEMITONE * log2(f0 / G->fmin);
    int i = (int)lround(b);
    return i < 0 ? 0 : i >= G->nb ? G->nb - 1 : i;
}

static double bin_f0(const geo *G, int b)
{
    return G->fmin * exp2((double)b / (12.0 * BINS_PER_SEMITONE));
}

/* The Beta(2, 18) prior's mass on each threshold step ((t-1)/100, t/100]:
 * for integer a, b the CDF is 1 - sum_{j<a} C(a+b-1, j) x^j (1-x)^(a+b-1-j). */
static double beta_cdf(double x)
{
    return 1 - pow(1 - x, 19) - 19 * x * pow(1 - x, 18);
}

/* pYIN's observation of one frame: obs[b] for voiced bin b, obs[nb + b]
 * unvoiced, cand[b] the f0 of the dip in bin b; returns p_v. */
static double pyin_observe(const geo *G, pwork *w, int silent, double *obs, float *cand)
{
    int nb = G->nb;
    memset(obs, 0, sizeof(double) * 2 * (size_t)nb);
    for (int b = 0; b < nb; b++)
        cand[b] = 0;
    double pv = 0;
    int nt = silent ? 0 : find_troughs(G, w);
    for (int i = 0; i < nt; i++)
        w->tprob[i] = 0;
    if (nt) {
        const double *dp = w->depth; /* dips by their interpolated depth, as YIN's */
        int gmin = 0;
        for (int i = 1; i < nt; i++)
            if (dp[w->troughs[i]] < dp[w->troughs[gmin]])
                gmin = i;
        double lam = exp(-BOLTZMANN);
        for (int t = 1; t <= NTHR; t++) {
            double thr = (double)t / NTHR;
            double wt = beta_cdf(thr) - beta_cdf((double)(t - 1) / NTHR);
            int below = 0;
            for (int i = 0; i < nt; i++)
                below += dp[w->troughs[i]] < thr;
            if (!below) {
                w->tprob[gmin] += NO_TROUGH_PROB * wt;
                continue;
            }
            /* Boltzmann pmf over the order of the dips below, shortest
             * period first: (1 - e^-l) e^(-l k) / (1 - e^(-l n)) */
            double norm = (1 - lam) / (1 - pow(lam, below)), pk = norm;
            for (int i = 0; i < nt; i++)
                if (dp[w->troughs[i]] < thr) {
                    w->tprob[i] += pk * wt;
                    pk *= lam;
                }
        }
        for (int i = 0; i < nt; i++) {
            int tau = w->troughs[i];
            double f0 = G->sr / (tau + w->shift[tau]);
            int b = bin_of(G, f0);
            if (w->tprob[i] > obs[b]) /* the likelier dip names the bin's f0 */
                cand[b] = (float)f0;
            obs[b] += w->tprob[i];
            pv += w->tprob[i];
        }
    }
    if (pv > 1)
        pv = 1;
    for (int b = 0; b < nb; b++)
        obs[nb + b] = (1 - pv) / nb;
    return pv;
}

/* Log transition weights within a voicing: logwin[d + width] for a step of
 * d bins, logrow[i] the log of row i's sum (rows are normalised). */
static void transitions(const geo *G, pwork *w)
{
    int h = G->width, nb = G->nb;
    for (int d = -h; d <= h; d++)
        w->logwin[d + h] = log(1.0 - fabs((double)d) / (h + 1));
    for (int i = 0; i < nb; i++) {
        double s = 0;
        for (int d = -h; d <= h; d++)
            if (i + d >= 0 && i + d < nb)
                s += 1.0 - fabs((double)d) / (h + 1);
        w->logrow[i] = log(s);
    }
}

static double logp(double p)
{
    return log(p + 1e-300);
}

/* One Viterbi step into frame m's scores, backpointers in psi. */
static void viterbi_step(const geo *G, pwork *w, pview *v, const double *obs, int first,
                         int16_t *psi)
{
    int nb = G->nb, h = G->width;
    double *nd = w->nd;
    if (first) {
        for (int s = 0; s < 2 * nb; s++) {
            nd[s] = (s < nb ? logp(0) : logp(1.0 / nb)) + logp(obs[s]);
            psi[s] = (int16_t)s;
        }
    } else {
        double stay = log(1 - SWITCH_PROB), sw = log(SWITCH_PROB);
        for (int vo = 0; vo < 2; vo++)
            for (int j = 0; j < nb; j++) {
                double best = -INFINITY;
                int arg = 0;
                for (int from = 0; from < 2; from++) {
                    double base = from == vo ? stay : sw;
                    int lo = j - h < 0 ? 0 : j - h, hi = j + h >= nb ? nb - 1 : j + h;
                    const double *dl = v->delta + (size_t)from * nb;
                    for (int i = lo; i <= hi; i++) {
                        double c = dl[i] + base + w->logwin[j - i + h] - w->logrow[i];
                        if (c > best) {
                            best = c;
                            arg = from * nb + i;
                        }
                    }
                }
                int s = vo * nb + j;
                nd[s] = best + logp(obs[s]);
                psi[s] = (int16_t)arg;
            }
    }
    /* scores relative to the best, so that they never drift off */
    double top = nd[0];
    for (int s = 1; s < 2 * nb; s++)
        if (nd[s] > top)
            top = nd[s];
    for (int s = 0; s < 2 * nb; s++)
        v->delta[s] = nd[s] - top;
}

/* Frame j's output from its state, given the frames' f0 and confidence. */
static void emit(const geo *G, pstate *s, wf_real *out, int voiced, double f0, double guess,
                 double conf)
{
    if (voiced)
        s->held = f0;
    else
        f0 = G->unvoiced == HOLD ? s->held : G->unvoiced == ZERO ? 0 : guess;
    out[0] = (wf_real)f0;
    out[1] = (wf_real)(conf < 0 ? 0 : conf > 1 ? 1 : conf);
}

/* pYIN: frame j decided by the backtrace from frame m's best state. */
static void pyin_decide(const geo *G, pview *v, int64_t j, int64_t m, wf_real *out)
{
    int nb = G->nb, s = 0;
    for (int i = 1; i < 2 * nb; i++)
        if (v->delta[i] > v->delta[s])
            s = i;
    for (int64_t f = m; f > j; f--)
        s = v->psi[(size_t)(f % G->R) * 2 * nb + s];
    size_t slot = (size_t)(j % G->R);
    int b = s % nb, voiced = s < nb;
    double c = v->cand[slot * nb + b], f0 = c > 0 ? c : bin_f0(G, b);
    emit(G, v->s, out, voiced, f0, f0, v->vp[slot]);
}

static void pitch_forward(wf_kctx *k)
{
    geo G = geometry(k->node, k->env);
    pview v = state_view(k->state, &G);
    const wf_sig *x = &k->in[A_X];
    int n = k->out.n, hop = G.hop;
    int64_t t0 = k->t0, last = k->env->nframes - 1;
    int nbuf = G.hist + n * hop + G.ahead;
    pwork w = work_view(k->work, &G, nbuf);
    /* [the half span before the window | x], silence past what x holds */
    memcpy(w.buf, v.hist, sizeof(wf_real) * (size_t)G.hist);
    int have = x->n < n * hop + G.ahead ? x->n : n * hop + G.ahead;
    memcpy(w.buf + G.hist, x->p, sizeof(wf_real) * (size_t)have);
    memset(w.buf + G.hist + have, 0, sizeof(wf_real) * (size_t)(nbuf - G.hist - have));
    if (G.method == PYIN)
        transitions(&G, &w);

    int64_t front = t0 + n - 1 + G.K;
    if (front > last)
        front = last;
    for (int64_t f0 = v.s->next; f0 <= front; f0 += CHUNK) {
        int cnt = front - f0 + 1 < CHUNK ? (int)(front - f0 + 1) : CHUNK;
        for (int c = 0; c < cnt; c++) {
            const wf_real *span = w.buf + (f0 + c - t0) * hop - G.half + G.hist;
            wf_real *a = w.a + (size_t)c * G.N, *b = w.b + (size_t)c * G.N;
            memcpy(a, span, sizeof(wf_real) * (size_t)G.W);
            memset(a + G.W, 0, sizeof(wf_real) * (size_t)(G.N - G.W));
            memcpy(b, span, sizeof(wf_real) * (size_t)G.L);
            memset(b + G.L, 0, sizeof(wf_real) * (size_t)(G.N - G.L));
        }
        /* always whole batches: one FFT plan, so that a frame's correlation
         * is the same bits in a stream's short calls as in a whole pass */
        memset(w.a + (size_t)cnt * G.N, 0, sizeof(wf_real) * (size_t)(CHUNK - cnt) * G.N);
        memset(w.b + (size_t)cnt * G.N, 0, sizeof(wf_real) * (size_t)(CHUNK - cnt) * G.N);
        wf_fft_r2c(G.N, CHUNK, w.a, w.fa);
        wf_fft_r2c(G.N, CHUNK, w.b, w.fb);
        /* r = IFFT(conj(A) B) */
        for (size_t q = 0; q < (size_t)CHUNK * G.bins; q++) {
            wf_real ar = w.fa[2 * q], ai = w.fa[2 * q + 1], br = w.fb[2 * q], bi = w.fb[2 * q + 1];
            w.fa[2 * q] = ar * br + ai * bi;
            w.fa[2 * q + 1] = ar * bi - ai * br;
        }
        wf_fft_c2r(G.N, CHUNK, w.fa, w.r);
        for (int c = 0; c < cnt; c++) {
            int64_t m = f0 + c;
            const wf_real *span = w.buf + (m - t0) * hop - G.half + G.hist;
            int voiced = cmndf(&G, span, w.r + (size_t)c * G.N, &w);
            if (G.method == YIN) {
                wf_real *o = k->out.p + (size_t)(m - t0) * 2;
                if (!voiced) {
                    emit(&G, v.s, o, 0, 0, 0, 0);
                    continue;
                }
                est e = yin_pick(&G, &w);
                emit(&G, v.s, o, e.voiced, e.f0, e.f0, 1 - e.dmin);
                continue;
            }
            size_t slot = (size_t)(m % G.R);
            float *cand = v.cand + slot * G.nb;
            double pv = pyin_observe(&G, &w, !voiced, w.obs, cand);
            v.vp[slot] = (float)pv;
            viterbi_step(&G, &w, &v, w.obs, !v.s->started, v.psi + slot * 2 * G.nb);
            v.s->started = 1;
            if (m - G.K >= t0)
                pyin_decide(&G, &v, m - G.K, m, k->out.p + (size_t)(m - G.K - t0) * 2);
        }
    }
    if (front + 1 > v.s->next)
        v.s->next = front + 1;
    /* the run's last frames: decided from the last one */
    if (G.method == PYIN && front == last)
        for (int64_t j = t0; j < t0 + n; j++)
            if (j + G.K > last)
                pyin_decide(&G, &v, j, last, k->out.p + (size_t)(j - t0) * 2);
    memcpy(v.hist, w.buf + (size_t)n * hop, sizeof(wf_real) * (size_t)G.hist);
}

const wf_node_kind wf_kind_pitch = {
    .name = "pitch",
    .family = "pitch",
    .doc = "Fundamental frequency of mono audio, at control rate: channel 0 f0 in Hz, channel 1 "
           "voicing confidence in [0, 1]. method yin: YIN (de Cheveigné & Kawahara 2002), "
           "difference function by FFT, cumulative mean normalised difference, absolute threshold, "
           "parabolic interpolation; dips are compared with the threshold by the bottom of the parabola "
           "through d' (YIN's step 5), not by d' at whole lags, so a period between two lags does "
           "not lose to its double; confidence 1 - that depth. method pyin: pYIN (Mauch & Dixon 2014) "
           "with librosa.pyin's settings (Beta(2, 18) thresholds, 10-cent bins, HMM over pitch x "
           "voicing, Viterbi); confidence is the voiced probability. Frame i is centred on sample "
           "i hop. pyin decodes with a fixed lag (`lag` seconds), so streams equal whole passes "
           "and a stream runs that much late. Unvoiced frames' f0: `unvoiced` (hold the last voiced "
           "f0, 0 before; zero; or the frame's own guess). Accuracy (tests/test_pitch.c): sines and "
           "harmonic tones 80-1000 Hz within 2 cents, a glide of an octave per second within 10 "
           "cents (frames average the pitch over their span), no octave error on a weak fundamental or on a DDSP-like tone of 492 Hz at 16 kHz (strong "
           "partials to 8 kHz, vibrato, noise); the shared flute, guitar and piano recordings' median f0 within 25 cents of "
           "their stated notes. An analysis node: no gradient (a fit refuses a param upstream of "
           "it) and computed once per recording in a fit when nothing upstream is learnt. Stable for "
           "any input; 10 <= fmin < fmax <= 20000 Hz, threshold below 1, window at most 1 s, lag "
           "0 to 10 s (argument-out-of-range otherwise).",
    .args = pitch_args,
    .nargs = sizeof pitch_args / sizeof pitch_args[0],
    .flags = WF_KIND_ANALYSIS,
    .infer = pitch_infer,
    .size = pitch_size,
    .reset = pitch_reset,
    .forward = pitch_forward,
    .lookahead = pitch_lookahead,
};
