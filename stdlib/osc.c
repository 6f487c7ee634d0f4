/* Periodic oscillators: sine, and band-limited saw, square and triangle.
 *
 * Every oscillator runs from the phase c[n] = frac(sum_{m<n} f[m] / sr) in
 * cycles, accumulated in double per channel (phase 0 at the first sample).
 *   sine:     y = sin(2 pi c + phase)
 *   saw:      y = (2/pi) sum_k (-1)^(k+1) sin(2 pi k c) / k      (0 at c = 0, rising)
 *   square:   y = (4/pi) sum_{k odd} sin(2 pi k c) / k           (+1 on the first half)
 *   triangle: y = (8/pi^2) sum_{k odd} (-1)^((k-1)/2) sin(2 pi k c) / k^2
 * The three band-limited shapes sum their Fourier series up to the last
 * partial below the Nyquist at each sample (and at most MAX_PARTIALS), so
 * they have no aliasing by construction.
 *
 * Backward: with y = Y(c) and dY/dc computed alongside, d/df[m] = (1/sr)
 * sum_{n>m} g[n] dY/dc[n] (a reverse running sum); sine's phase gets
 * g cos(2 pi c + phase). */
#include <math.h>
#include <string.h>

#include "runtime/vmath.h"
#include "stdlib/map.h"

#define MAX_PARTIALS 2048
#define CHUNK 1024
#define PARALLEL_WORK (1L << 17) /* sines per call worth a second thread */
#define ANCHOR 8192 /* samples of a rotating phasor between anchors (sine_rotate) */
#define SUB 32      /* samples per step of the phasor; divides ANCHOR */
#define SUB_ACROSS 8 /* channels from which a run is a vector across channels */

enum { A_FREQ, A_PHASE };

static const wf_arg_spec sine_args[] = {
    {"freq", WF_ARG_SIGNAL, NULL, "frequency in Hz", 0, NULL, 100, 1000},
    {"phase", WF_ARG_SIGNAL, "0", "phase offset in radians", 0, NULL, -3, 3},
};

/* The shapes' count of partials is a step function of freq (a partial is in
 * while it is below the Nyquist), so the gradient check's frequencies stay
 * between two of its steps at the test's 8 kHz: 4000/4 and 4000/3 Hz. */
static const wf_arg_spec shape_args[] = {
    {"freq", WF_ARG_SIGNAL, NULL, "frequency in Hz", 0, NULL, 1010, 1320},
};

/* The phases of a block, [n x C], continuing from the per-channel state. */
static void osc_phases(const wf_kctx *k, double *state, wf_phase *ph)
{
    const wf_sig *f = &k->in[A_FREQ];
    int n = k->out.n, C = k->out.chans;
    wf_stride sf = wf_stride_of(f, &k->out);
    double inv = 1.0 / k->env->sr;
    if (f->exact) {
        /* a compile-time constant: its exact value, not the float32 copy */
        for (int t = 0; t < n; t++) {
            wf_phase *o = ph + (size_t)t * C;
            for (int c = 0; c < C; c++) {
                double p = state[c];
                o[c] = (wf_phase)p;
                p += f->exact[c * sf.c] * inv;
                state[c] = p - floor(p);
            }
        }
        return;
    }
    for (int t = 0; t < n; t++) {
        const wf_real *fr = f->p + (size_t)t * sf.t;
        wf_phase *o = ph + (size_t)t * C;
        for (int c = 0; c < C; c++) {
            double p = state[c];
            o[c] = (wf_phase)p;
            p += fr[c * sf.c] * inv;
            state[c] = p - floor(p);
        }
    }
}

/* d/df from h[n] = g[n] dY/dc[n] (scaled in place into a reverse running
 * sum), added to the frequency adjoint with the input's broadcasting. */
static void osc_freq_adjoint(const wf_kctx *k, double *h, wf_real *tmp)
{
    const wf_sig *d = &k->din[A_FREQ];
    int n = k->out.n, C = k->out.chans;
    double inv = 1.0 / k->env->sr;
    if (d->rate == WF_RATE_CONST) {
        for (int c = 0; c < C; c++) {
            double acc = 0;
            for (int t = 0; t < n; t++)
                acc += (double)t * h[(size_t)t * C + c];
            d->p[d->chans == 1 ? 0 : c] += (wf_real)(acc * inv);
        }
        return;
    }
    for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int t = n - 1; t >= 0; t--) {
            double v = h[(size_t)t * C + c];
            tmp[(size_t)t * C + c] = (wf_real)(acc * inv);
            acc += v;
        }
    }
    wf_reduce_into(d, tmp, n, C);
}

/* Backward runs over the whole signal: the phases again, from phase 0. */
static wf_phase *osc_replay_phases(const wf_kctx *k, void **cur)
{
    size_t C = (size_t)k->out.chans, N = (size_t)k->out.n * C;
    wf_phase *ph = wf_carve(cur, N * sizeof(wf_phase));
    double *st = wf_carve(cur, C * sizeof(double));
    memset(st, 0, C * sizeof(double));
    osc_phases(k, st, ph);
    return ph;
}

static int osc_infer(wf_infer *ic)
{
    return wf_infer_generator(ic);
}

static void osc_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                     wf_sizes *s)
{
    (void)in;
    (void)e;
    size_t nc = (size_t)block * (size_t)g->shape.chans;
    s->state = (size_t)g->shape.chans * sizeof(double);
    s->work = nc * sizeof(wf_phase) + 64;
    s->bwork = nc * (sizeof(wf_phase) + sizeof(double) + 2 * sizeof(wf_real)) +
               (size_t)g->shape.chans * sizeof(double) + 5 * 64;
}

/* ---- sine ---- */

/* The state of a constant sine (sine_rotate), per channel side by side:
 * the phase at the last anchor, that anchor's sample, the increment and
 * offset it was made for; z (real, imaginary parts); w^SUB; the increment
 * the table of w^k was made for; then the sample z stands at (one for all
 * channels) and the table. */
typedef struct rotor {
    double *phase, *at, *inc, *off, *zr, *zi, *wr, *wi, *made, *base;
    wf_real *tr, *ti; /* w^k: [k][c] when channels are the vector, else [c][k] */
} rotor;

static size_t rotor_bytes(size_t C)
{
    return (9 * C + 1) * sizeof(double) + 2 * C * SUB * sizeof(wf_real);
}

static rotor rotor_at(double *st, size_t C)
{
    rotor r;
    double **f[] = {&r.phase, &r.at, &r.inc, &r.off, &r.zr, &r.zi, &r.wr, &r.wi, &r.made};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        *f[i] = st + i * C;
    r.base = st + 9 * C;
    r.tr = (wf_real *)(void *)(r.base + 1);
    r.ti = r.tr + C * SUB;
    return r;
}

/* Sets channel c's phasor at sample T for the increment inc and the offset
 * off, from the phase of the last anchor advanced to T with the increment
 * it had (a live edit may change the frequency between two anchors). A
 * phasor of zero has not started: the node's first sample is phase 0,
 * wherever a live session starts it (T is then not a multiple of ANCHOR). */
static void rotate_anchor(const rotor *r, int c, double inc, double off, int64_t T)
{
    if (r->zr[c] == 0 && r->zi[c] == 0)
        r->phase[c] = 0;
    else {
        double q = r->phase[c] + (double)(T - (int64_t)r->at[c]) * r->inc[c];
        r->phase[c] = q - floor(q);
    }
    r->at[c] = (double)T;
    r->inc[c] = inc;
    r->off[c] = off;
    double a = WF_TWO_PI * r->phase[c] + off;
    r->zr[c] = cos(a);
    r->zi[c] = sin(a);
}

/* Channel c of a constant input (one channel broadcast), exact when it is a
 * compile-time constant. */
static double const_of(const wf_sig *x, int c)
{
    size_t at = x->chans == 1 ? 0 : (size_t)c;
    return x->exact ? x->exact[at] : (double)x->p[at];
}

/* y[j] = sum_c Im(z_c t_jc) over C channels for cnt samples, with the
 * phasors t [cnt][C] (re ar, im ai) and the anchors z [C]: the mix of a
 * bank of constant sines (W5a). With AVX two accumulators of eight
 * channels and a horizontal sum per sample; the plain loop keeps eight
 * partial sums, which the compiler vectorises but reduces through memory. */
static void sum_rotated(const wf_real *ar, const wf_real *ai, const wf_real *restrict zr,
                        const wf_real *restrict zi, int C, int cnt, wf_real *restrict y)
{
    for (int j = 0; j < cnt; j++, ar += C, ai += C) {
        int c = 0;
#if WF_HAVE_AVX_FLOAT
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (; c + 16 <= C; c += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(zr + c), _mm256_loadu_ps(ai + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(zr + c + 8), _mm256_loadu_ps(ai + c + 8), a1);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(zi + c), _mm256_loadu_ps(ar + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(zi + c + 8), _mm256_loadu_ps(ar + c + 8), a1);
        }
        for (; c + 8 <= C; c += 8) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(zr + c), _mm256_loadu_ps(ai + c), a0);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(zi + c), _mm256_loadu_ps(ar + c), a0);
        }
        __m256 a = _mm256_add_ps(a0, a1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        wf_real acc = _mm_cvtss_f32(h);
#else
        wf_real part[8] = {0};
        for (; c + 8 <= C; c += 8)
            for (int q = 0; q < 8; q++)
                part[q] += zr[c + q] * ai[c + q] + zi[c + q] * ar[c + q];
        wf_real acc = ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
#endif
        for (; c < C; c++)
            acc += zr[c] * ai[c] + zi[c] * ar[c];
        y[j] = acc;
    }
}

/* Constant frequency and phase: the sine is the imaginary part of a rotating
 * phasor. The phasor z of each channel is kept in double at the start of
 * every run of SUB samples and stepped from run to run by w^SUB, w = exp(i 2
 * pi f / sr); inside a run, sample k is Im(z w^k) = Re z Im w^k + Im z Re
 * w^k, one multiply and one fused add in the output's precision per sample
 * against a table of w^k (k < SUB) made in double when the frequency is set.
 * z is re-anchored every ANCHOR samples (counted from the start, so that
 * streams equal whole passes bit for bit) from the double-precision phase.
 * There is no per-sample phase arithmetic or sine and no serial chain: the
 * samples of a run are independent, a vector across channels (or, with few
 * channels, along the run). The error is the rounding of z, w^k and the
 * product: about 1e-7 in float32. All channels share the runs, so any
 * channel's anchor (a changed frequency) re-anchors them all, each from its
 * own phase. */
static void sine_rotate(wf_kctx *k, int sum)
{
    const wf_sig *f = &k->in[A_FREQ], *po = &k->in[A_PHASE];
    int n = k->out.n, C = sum ? (f->chans > po->chans ? f->chans : po->chans) : k->out.chans;
    double inv = 1.0 / k->env->sr;
    wf_real *restrict y = k->out.p;
    rotor r = rotor_at(k->state, (size_t)C);
    int across = C >= SUB_ACROSS;
    wf_real *restrict zr = (wf_real *)k->work, *restrict zi = zr + C;
    for (int c = 0; c < C; c++) {
        double inc = const_of(f, c) * inv;
        if (r.made[c] == inc && (r.wr[c] != 0 || r.wi[c] != 0))
            continue;
        double step = inc - floor(inc), wr = cos(WF_TWO_PI * step), wi = sin(WF_TWO_PI * step);
        double pr = 1, pi = 0;
        for (int j = 0; j < SUB; j++) {
            size_t at = across ? (size_t)j * C + c : (size_t)c * SUB + j;
            r.tr[at] = (wf_real)pr;
            r.ti[at] = (wf_real)pi;
            double q = pr * wr - pi * wi;
            pi = pr * wi + pi * wr;
            pr = q;
        }
        r.wr[c] = pr;
        r.wi[c] = pi;
        r.made[c] = inc;
    }
    for (int t0 = 0; t0 < n;) {
        int64_t T = k->t0 + t0;
        int pos = (int)(T % ANCHOR), m = ANCHOR - pos < n - t0 ? ANCHOR - pos : n - t0;
        int anchor = pos == 0;
        for (int c = 0; c < C && !anchor; c++) {
            double inc = const_of(f, c) * inv;
            double off = const_of(po, c);
            anchor = (r.zr[c] == 0 && r.zi[c] == 0) || r.inc[c] != inc || r.off[c] != off;
        }
        for (int c = 0; c < C && anchor; c++) {
            double inc = const_of(f, c) * inv;
            double off = const_of(po, c);
            rotate_anchor(&r, c, inc, off, T);
        }
        if (anchor)
            *r.base = (double)T;
        /* runs of SUB samples from the sample z stands at */
        for (int left = m; left > 0;) {
            int k0 = (int)(T - (int64_t)*r.base), cnt = SUB - k0 < left ? SUB - k0 : left;
            for (int c = 0; c < C; c++) {
                zr[c] = (wf_real)r.zr[c];
                zi[c] = (wf_real)r.zi[c];
            }
            wf_real *yb = y + (size_t)t0 * (sum ? 1 : C);
            if (across && sum)
                sum_rotated(r.tr + (size_t)k0 * C, r.ti + (size_t)k0 * C, zr, zi, C, cnt, yb);
            else if (across)
                for (int j = 0; j < cnt; j++) {
                    const wf_real *ar = r.tr + (size_t)(k0 + j) * C, *ai = r.ti + (size_t)(k0 + j) * C;
                    wf_real *o = yb + (size_t)j * C;
                    for (int c = 0; c < C; c++)
                        o[c] = zr[c] * ai[c] + zi[c] * ar[c];
                }
            else
                for (int c = 0; c < C; c++) {
                    const wf_real *ar = r.tr + (size_t)c * SUB + k0, *ai = r.ti + (size_t)c * SUB + k0;
                    if (!sum)
                        for (int j = 0; j < cnt; j++)
                            yb[(size_t)j * C + c] = zr[c] * ai[j] + zi[c] * ar[j];
                    else
                        for (int j = 0; j < cnt; j++)
                            yb[j] = (c ? yb[j] : 0) + (zr[c] * ai[j] + zi[c] * ar[j]);
                }
            if (k0 + cnt == SUB) {
                double *restrict pr = r.zr, *restrict pi = r.zi;
                for (int c = 0; c < C; c++) {
                    double q = pr[c] * r.wr[c] - pi[c] * r.wi[c];
                    pi[c] = pr[c] * r.wi[c] + pi[c] * r.wr[c];
                    pr[c] = q;
                }
                *r.base += SUB;
            }
            T += cnt;
            t0 += cnt;
            left -= cnt;
        }
    }
}

/* A constant sine keeps its phasors; the other paths their phases. The two
 * layouts differ in size, so a live edit that changes the path starts the
 * oscillator afresh rather than reading one as the other. */
static int sine_rotates(const wf_shape *in)
{
    return in[A_FREQ].rate == WF_RATE_CONST && in[A_PHASE].rate == WF_RATE_CONST;
}

static void sine_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                      wf_sizes *s)
{
    osc_size(g, in, e, block, s);
    if (sine_rotates(in)) {
        s->state = rotor_bytes((size_t)g->shape.chans);
        s->work += 2 * (size_t)g->shape.chans * sizeof(wf_real); /* z in wf_real */
    }
}

static void sine_forward(wf_kctx *k)
{
    void *cur = k->work;
    int n = k->out.n, C = k->out.chans;
    if (k->in[A_FREQ].rate == WF_RATE_CONST && k->in[A_PHASE].rate == WF_RATE_CONST) {
        sine_rotate(k, 0);
        return;
    }
    wf_phase *ph = wf_carve(&cur, (size_t)n * C * sizeof(wf_phase));
    osc_phases(k, k->state, ph);
    const wf_sig *po = &k->in[A_PHASE];
    wf_stride sp = wf_stride_of(po, &k->out);
    const wf_real inv2pi = (wf_real)(1 / WF_TWO_PI);
    wf_real *y = k->out.p;
    if (sp.kind == 0) {
        const wf_real off = po->p[0] * inv2pi;
        size_t N = (size_t)n * C;
        for (size_t i = 0; i < N; i++)
            y[i] = wf_sin2pi((wf_real)ph[i] + off);
        return;
    }
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++)
            y[(size_t)t * C + c] =
                wf_sin2pi((wf_real)ph[(size_t)t * C + c] + po->p[WF_AT(sp, t, c)] * inv2pi);
}

static void sine_backward(wf_kctx *k)
{
    void *cur = k->work;
    int n = k->out.n, C = k->out.chans;
    size_t N = (size_t)n * C;
    wf_phase *ph = osc_replay_phases(k, &cur);
    double *h = wf_carve(&cur, N * sizeof(double));
    wf_real *cs = wf_carve(&cur, N * sizeof(wf_real));
    wf_real *tmp = wf_carve(&cur, N * sizeof(wf_real));
    const wf_sig *po = &k->in[A_PHASE];
    wf_stride sp = wf_stride_of(po, &k->out);
    const wf_real *g = k->dout->p;
    const wf_real inv2pi = (wf_real)(1 / WF_TWO_PI);
    for (int t = 0; t < n; t++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)t * C + c;
            cs[i] = g[i] * wf_cos2pi((wf_real)ph[i] + po->p[WF_AT(sp, t, c)] * inv2pi);
            h[i] = WF_TWO_PI * (double)cs[i];
        }
    if (k->din[A_PHASE].p)
        wf_reduce_into(&k->din[A_PHASE], cs, n, C);
    if (k->din[A_FREQ].p)
        osc_freq_adjoint(k, h, tmp);
}

const wf_node_kind wf_kind_sine = {
    .name = "sine",
    .family = "oscillators",
    .doc = "Sine oscillator: sin(2 pi c + phase), c the running phase of freq in cycles.",
    .args = sine_args,
    .nargs = 2,
    .keep = 3,
    .infer = osc_infer,
    .size = sine_size,
    .forward = sine_forward,
    .backward = sine_backward,
};

/* ---- sines: the sum of constant sines ---- */

/* mix(sine(freq, phase)) with freq and phase compile-time constants, into
 * which the compiler folds that pair (lang/compile.c): one channel, the sum
 * of the sines made by sine_rotate as it goes instead of a channel per sine
 * written out and read back. Its inputs are constants, so no gradient ever
 * reaches it and it has no backward. */
static int sines_infer(wf_infer *ic)
{
    if (wf_infer_generator(ic))
        return -1;
    ic->out = wf_shape_of(WF_RATE_AUDIO, 1);
    return 0;
}

static void sines_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                       wf_sizes *s)
{
    (void)g;
    (void)e;
    (void)block;
    size_t C = (size_t)(in[A_FREQ].chans > in[A_PHASE].chans ? in[A_FREQ].chans : in[A_PHASE].chans);
    s->state = rotor_bytes(C);
    s->work = 2 * C * sizeof(wf_real) + 64;
}

static void sines_forward(wf_kctx *k)
{
    sine_rotate(k, 1);
}

const wf_node_kind wf_kind_sines = {
    .name = "sines",
    .family = "oscillators",
    .doc = "The sum of constant sines: mix(sine(freq, phase)) as the compiler folds it.",
    .args = sine_args,
    .nargs = 2,
    .flags = WF_KIND_INTERNAL,
    .infer = sines_infer,
    .size = sines_size,
    .forward = sines_forward,
};

/* ---- band-limited shapes ---- */

typedef enum { SHAPE_SAW, SHAPE_SQUARE, SHAPE_TRIANGLE } shape_kind;

/* Partial j of a shape: multiple m_j of the fundamental and weight w_j. */
static void shape_partial(shape_kind s, int j, double *m, double *w)
{
    const double pi = WF_TWO_PI / 2;
    if (s == SHAPE_SAW) {
        double k = j + 1;
        *m = k;
        *w = (2 / pi) * ((j % 2) ? -1 : 1) / k;
    } else {
        double k = 2 * j + 1;
        *m = k;
        *w = s == SHAPE_SQUARE ? (4 / pi) / k : (8 / (pi * pi)) * ((j % 2) ? -1 : 1) / (k * k);
    }
}

typedef struct shape_tab {
    wf_phase m[MAX_PARTIALS];
    wf_real w[MAX_PARTIALS];
} shape_tab;

static void shape_table(shape_kind s, shape_tab *tab)
{
    for (int j = 0; j < MAX_PARTIALS; j++) {
        double m, w;
        shape_partial(s, j, &m, &w);
        tab->m[j] = (wf_phase)m;
        tab->w[j] = (wf_real)w;
    }
}

/* Partials strictly below the Nyquist for frequency f. */
static int shape_count(const shape_tab *tab, double f, double nyq)
{
    double af = fabs(f);
    if (af == 0)
        return MAX_PARTIALS;
    double lim = nyq / af; /* m_j < lim */
    int lo = 0, hi = MAX_PARTIALS;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if ((double)tab->m[mid] < lim)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void shape_forward(wf_kctx *k, shape_kind kind)
{
    void *cur = k->work;
    int n = k->out.n, C = k->out.chans;
    wf_phase *ph = wf_carve(&cur, (size_t)n * C * sizeof(wf_phase));
    osc_phases(k, k->state, ph);
    shape_tab tab;
    shape_table(kind, &tab);
    const wf_sig *f = &k->in[A_FREQ];
    wf_stride sf = wf_stride_of(f, &k->out);
    double nyq = 0.5 * k->env->sr;
    wf_real *y = k->out.p;
    long work = (long)n * C * shape_count(&tab, f->p[0], nyq);
#pragma omp parallel for schedule(static) if (work >= PARALLEL_WORK)
    for (int t0 = 0; t0 < n; t0 += CHUNK) {
        int t1 = t0 + CHUNK < n ? t0 + CHUNK : n;
        for (int t = t0; t < t1; t++)
            for (int c = 0; c < C; c++) {
                int K = shape_count(&tab, f->p[WF_AT(sf, t, c)], nyq);
                wf_phase p = ph[(size_t)t * C + c];
                wf_real acc = 0;
                for (int j = 0; j < K; j++)
                    acc += tab.w[j] * wf_sin2pi((wf_real)(tab.m[j] * p));
                y[(size_t)t * C + c] = acc;
            }
    }
}

static void shape_backward(wf_kctx *k, shape_kind kind)
{
    if (!k->din[A_FREQ].p)
        return;
    void *cur = k->work;
    int n = k->out.n, C = k->out.chans;
    size_t N = (size_t)n * C;
    wf_phase *ph = osc_replay_phases(k, &cur);
    double *h = wf_carve(&cur, N * sizeof(double));
    wf_real *tmp = wf_carve(&cur, N * sizeof(wf_real));
    shape_tab tab;
    shape_table(kind, &tab);
    const wf_sig *f = &k->in[A_FREQ];
    wf_stride sf = wf_stride_of(f, &k->out);
    double nyq = 0.5 * k->env->sr;
    const wf_real *g = k->dout->p;
    long work = (long)n * C * shape_count(&tab, f->p[0], nyq);
#pragma omp parallel for schedule(static) if (work >= PARALLEL_WORK)
    for (int t0 = 0; t0 < n; t0 += CHUNK) {
        int t1 = t0 + CHUNK < n ? t0 + CHUNK : n;
        for (int t = t0; t < t1; t++)
            for (int c = 0; c < C; c++) {
                size_t i = (size_t)t * C + c;
                int K = shape_count(&tab, f->p[WF_AT(sf, t, c)], nyq);
                wf_phase p = ph[i];
                wf_real acc = 0;
                for (int j = 0; j < K; j++)
                    acc += tab.w[j] * (wf_real)tab.m[j] * wf_cos2pi((wf_real)(tab.m[j] * p));
                h[i] = WF_TWO_PI * (double)g[i] * (double)acc;
            }
    }
    osc_freq_adjoint(k, h, tmp);
}

static void saw_forward(wf_kctx *k) { shape_forward(k, SHAPE_SAW); }
static void saw_backward(wf_kctx *k) { shape_backward(k, SHAPE_SAW); }
static void square_forward(wf_kctx *k) { shape_forward(k, SHAPE_SQUARE); }
static void square_backward(wf_kctx *k) { shape_backward(k, SHAPE_SQUARE); }
static void triangle_forward(wf_kctx *k) { shape_forward(k, SHAPE_TRIANGLE); }
static void triangle_backward(wf_kctx *k) { shape_backward(k, SHAPE_TRIANGLE); }

#define SHAPE(id, DOC)                                                                         \
    const wf_node_kind wf_kind_##id = {                                                        \
        .name = #id,                                                                           \
        .family = "oscillators",                                                               \
        .doc = DOC,                                                                            \
        .args = shape_args,                                                                    \
        .nargs = 1,                                                                            \
        .keep = 1,                                                                             \
        .infer = osc_infer,                                                                    \
        .size = osc_size,                                                                      \
        .forward = id##_forward,                                                               \
        .backward = id##_backward,                                                             \
    };

SHAPE(saw, "Band-limited sawtooth in [-1, 1], rising, 0 at phase 0: its Fourier series up to "
           "the Nyquist (at most 2048 partials).")
SHAPE(square, "Band-limited square in [-1, 1], +1 on the first half-cycle: odd partials up to "
              "the Nyquist (at most 2048).")
SHAPE(triangle, "Band-limited triangle in [-1, 1], 0 at phase 0 and rising: odd partials up to "
                "the Nyquist (at most 2048).")
