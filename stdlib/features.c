/* features: audio features at control rate, one frame per hop of the patch,
 * for encoders, timbre descriptors (Lavault et al.) and losses. The maths
 * and its references are in runtime/features.h, which the losses share:
 *
 *   loudness(x)  DDSP's compute_loudness: A-weighted mean power in dB, 80 dB
 *                range, reference 0 dB, n_fft 512 (ddsp/spectral_ops.py)
 *   rms(x)       sqrt of the mean square over a frame (compute_rms_energy)
 *   centroid(x)  spectral centroid in Hz, of magnitudes (librosa)
 *   flatness(x)  geometric over arithmetic mean of the power (librosa)
 *   melspec(x)   log-mel power in dB (HTK mel, torchaudio's filters)
 *   mfcc(x)      orthonormal DCT-II of the log-mel (librosa, torchaudio)
 *
 * Framing: frame i of the output is centred on sample i hop (DDSP's
 * padding='center', librosa's center=True, with zeros): it reads samples
 * i hop - n/2 .. i hop + n/2 - 1. A call of F frames therefore reads n/2
 * samples before its first frame's hop, which the state keeps from the
 * call before (zeros before the start), and n/2 past its last hop, which it
 * declares as lookahead, so that streams equal whole passes. Per channel
 * the kernel lays out [the n/2 kept samples | the call's input and its
 * lookahead, zeros past the end] and runs the shared feature code over it.
 * Output channel c * D + d is value d (a band, a coefficient) of input
 * channel c.
 *
 * Backward (whole runs, so nothing before the start): the same layout, the
 * shared adjoint (recomputing the spectra: nothing is put on the tape), and
 * the adjoint of the padding, which keeps the middle. */
#include <stdlib.h>
#include <string.h>

#include "runtime/features.h"
#include "runtime/node.h"

typedef struct feat_state {
    wf_feat f;
    int ready; /* tables made */
} feat_state;

static const wf_feat_kind kinds_of[] = {WF_FEAT_LOUDNESS, WF_FEAT_RMS, WF_FEAT_CENTROID,
                                        WF_FEAT_FLATNESS, WF_FEAT_MELSPEC, WF_FEAT_MFCC};

enum { A_X };

static const wf_node_kind *const *kind_table(void);

static wf_feat_kind kind_of(const wf_gnode *g)
{
    const wf_node_kind *const *t = kind_table();
    for (int i = 0; i < 6; i++)
        if (t[i] == g->kind)
            return kinds_of[i];
    return WF_FEAT_RMS;
}

/* Option `name` of node g (the kinds order their options differently),
 * else its default; dflt for a kind without it. */
static double opt(const wf_gnode *g, const char *name, double dflt)
{
    for (int a = 0; a < g->kind->nargs; a++)
        if (strcmp(g->kind->args[a].name, name) == 0)
            return wf_opt_num(g, a, strtod(g->kind->args[a].dflt, NULL));
    return dflt;
}

/* The frame size: rms calls it frame, the spectral kinds n_fft. */
static int frame_of(const wf_gnode *g)
{
    return (int)(kind_of(g) == WF_FEAT_RMS ? opt(g, "frame", 0) : opt(g, "n_fft", 0));
}

/* The settings of node g at rate `rate`. */
static wf_feat_spec spec_of(const wf_gnode *g, double rate)
{
    wf_feat_spec s = {0};
    s.kind = kind_of(g);
    s.n = frame_of(g);
    s.rate = rate;
    s.range_db = opt(g, "range_db", 0);
    s.ref_db = opt(g, "ref_db", 0);
    s.bands = (int)opt(g, "bands", 0);
    s.fmin = opt(g, "fmin", 0);
    s.fmax = opt(g, "fmax", 0);
    s.coefs = (int)opt(g, "n", 0);
    return s;
}

static int feat_infer(wf_infer *ic)
{
    const wf_shape *x = &ic->in[A_X];
    if (x->rate != WF_RATE_AUDIO) {
        wf_report_not_audio_rate(ic->d, ic->arg_loc[A_X], "features are computed from audio",
                                 ic->name, "x", wf_rate_name(x->rate));
        return -1;
    }
    wf_feat_spec s = spec_of(ic->node, 1);
    if (s.n < 16 || s.n > 65536 || s.n % 2) {
        wf_report_argument_out_of_range(ic->d, ic->loc, "an even size from 16 to 65536",
                                        s.kind == WF_FEAT_RMS ? "frame" : "n_fft", ic->name, s.n);
        return -1;
    }
    if (s.kind == WF_FEAT_MELSPEC || s.kind == WF_FEAT_MFCC) {
        if (s.bands > 1024) {
            wf_report_argument_out_of_range(ic->d, ic->loc, "at most 1024 bands", "bands",
                                            ic->name, s.bands);
            return -1;
        }
        if (s.fmax > 0 && s.fmax <= s.fmin) {
            wf_report_argument_out_of_range(ic->d, ic->loc, "fmax must lie above fmin (0: the Nyquist)",
                                            "fmax", ic->name, s.fmax);
            return -1;
        }
        if (s.kind == WF_FEAT_MFCC && s.coefs > s.bands) {
            wf_report_argument_out_of_range(ic->d, ic->loc, "at most one coefficient per band", "n",
                                            ic->name, s.coefs);
            return -1;
        }
    }
    ic->out = wf_shape_of(WF_RATE_CONTROL, x->chans * wf_feat_dims(&s));
    return 0;
}

static int feat_lookahead(const wf_gnode *g, const wf_shape *in, const wf_env *e, int input)
{
    (void)in;
    (void)e;
    return input == A_X ? frame_of(g) / 2 : 0;
}

static size_t reals(size_t n)
{
    return n * sizeof(wf_real) + 64;
}

/* Samples of one channel's layout for a call of `frames` frames. */
static size_t span(int frames, int hop, int n)
{
    return (size_t)frames * (size_t)hop + (size_t)n;
}

static void feat_size(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                      wf_sizes *s)
{
    wf_feat_spec sp = spec_of(g, e->sr);
    wf_feat f;
    f.s = sp;
    f.bins = sp.n / 2 + 1;
    size_t C = (size_t)in[A_X].chans, L = span(block, e->hop, sp.n);
    size_t fw = wf_feat_work_bytes(&f);
    s->state = 64 + sizeof(feat_state) + reals(C * (size_t)sp.n / 2) + 64 + wf_feat_table_bytes(&sp);
    s->work = reals(L) + fw;
    s->bwork = 2 * reals(L) + fw;
}

/* The state's pieces: the record, the kept samples [C x n/2], the tables. */
static feat_state *state_of(wf_kctx *k, wf_real **kept)
{
    feat_state *st = k->state;
    if (!st->ready)
        st->f.s = spec_of(k->node, k->env->sr);
    int half = st->f.s.n / 2;
    void *cur = (char *)k->state + sizeof(feat_state);
    wf_real *h = wf_carve(&cur, sizeof(wf_real) * (size_t)k->in[A_X].chans * (size_t)half);
    if (kept)
        *kept = h;
    if (!st->ready) {
        wf_feat_spec sp = st->f.s;
        wf_feat_init(&st->f, &sp, wf_carve(&cur, wf_feat_table_bytes(&sp)));
        st->ready = 1;
    }
    return st;
}

static void feat_reset(wf_kctx *k)
{
    state_of(k, NULL); /* the kept samples start as zeros: silence before the start */
}

/* Channel c's layout into buf: kept samples (or zeros), the input, zeros
 * past its end. */
static void lay_out(const wf_sig *x, int c, const wf_real *kept, int half, size_t len, wf_real *buf)
{
    int C = x->chans;
    if (kept)
        memcpy(buf, kept, sizeof(wf_real) * (size_t)half);
    else
        memset(buf, 0, sizeof(wf_real) * (size_t)half);
    for (size_t s = 0; s + half < len; s++)
        buf[half + s] = (int64_t)s < x->n ? x->p[s * C + c] : 0;
}

static void feat_forward(wf_kctx *k)
{
    const wf_sig *x = &k->in[A_X];
    wf_real *kept;
    feat_state *st = state_of(k, &kept);
    const wf_feat *f = &st->f;
    int C = x->chans, D = f->dims, hop = k->env->hop, F = k->out.n, half = f->s.n / 2;
    size_t len = span(F, hop, f->s.n);
    void *cur = k->work;
    wf_real *buf = wf_carve(&cur, sizeof(wf_real) * len);
    for (int c = 0; c < C; c++) {
        wf_real *kc = kept + (size_t)c * half;
        lay_out(x, c, kc, half, len, buf);
        wf_feat_forward(f, buf, 1, hop, F, k->out.p + (size_t)c * D, C * D, cur);
        memcpy(kc, buf + (size_t)F * hop, sizeof(wf_real) * (size_t)half);
    }
}

static void feat_backward(wf_kctx *k)
{
    const wf_sig *x = &k->in[A_X], *dx = &k->din[A_X];
    if (!dx->p)
        return;
    feat_state *st = state_of(k, NULL);
    const wf_feat *f = &st->f;
    int C = x->chans, D = f->dims, hop = k->env->hop, F = k->out.n, half = f->s.n / 2;
    size_t len = span(F, hop, f->s.n);
    void *cur = k->work;
    wf_real *buf = wf_carve(&cur, sizeof(wf_real) * len);
    wf_real *dbuf = wf_carve(&cur, sizeof(wf_real) * len);
    for (int c = 0; c < C; c++) {
        lay_out(x, c, NULL, half, len, buf);
        memset(dbuf, 0, sizeof(wf_real) * len);
        wf_feat_backward(f, buf, 1, hop, F, k->dout->p + (size_t)c * D, C * D, dbuf, cur);
        for (int s = 0; s < dx->n && (size_t)s + half < len; s++)
            dx->p[(size_t)s * C + c] += dbuf[half + s];
    }
}

#define X_ARG {"x", WF_ARG_SIGNAL, NULL, "audio-rate signal; each channel gets its own features", 0, NULL, -1, 1}
#define N_ARG(d, what) {"n_fft", WF_ARG_NUMBER, d, what, WF_ARG_INT | WF_ARG_POSITIVE, NULL, 0, 0}
#define BANDS_ARG(d) {"bands", WF_ARG_NUMBER, d, "mel bands", WF_ARG_INT | WF_ARG_POSITIVE, NULL, 0, 0}
#define RANGE_ARGS                                                                                 \
    {"fmin", WF_ARG_NUMBER, "0", "lowest edge of the mel bank, Hz", 0, NULL, 0, 0},                \
    {"fmax", WF_ARG_NUMBER, "0", "highest edge of the mel bank, Hz (0, or above the Nyquist: "     \
     "the Nyquist)", 0, NULL, 0, 0}

static const wf_arg_spec loud_args[] = {
    X_ARG,
    N_ARG("512", "FFT size (DDSP's default, 32 ms at 16 kHz), even"),
    {"range_db", WF_ARG_NUMBER, "80", "dynamic range: the output is at least -range_db",
     WF_ARG_POSITIVE, NULL, 0, 0},
    {"ref_db", WF_ARG_NUMBER, "0", "reference level subtracted, dB", 0, NULL, 0, 0},
};
static const wf_arg_spec rms_args[] = {
    X_ARG,
    {"frame", WF_ARG_NUMBER, "2048", "frame length in samples, even", WF_ARG_INT | WF_ARG_POSITIVE,
     NULL, 0, 0},
};
static const wf_arg_spec spec_args[] = {X_ARG, N_ARG("2048", "FFT size, even")};
static const wf_arg_spec mel_args[] = {X_ARG, BANDS_ARG("64"), N_ARG("2048", "FFT size, even"),
                                       RANGE_ARGS};
static const wf_arg_spec mfcc_args[] = {
    X_ARG,
    {"n", WF_ARG_NUMBER, "13", "coefficients kept (c0 first), at most bands",
     WF_ARG_INT | WF_ARG_POSITIVE, NULL, 0, 0},
    BANDS_ARG("128"),
    N_ARG("2048", "FFT size, even"),
    RANGE_ARGS,
};

#define FEATURE(id, args_, doc_)                                                                 \
    const wf_node_kind wf_kind_##id = {                                                          \
        .name = #id,                                                                             \
        .family = "features",                                                                    \
        .doc = doc_,                                                                             \
        .args = args_,                                                                           \
        .nargs = (int)(sizeof args_ / sizeof args_[0]),                                          \
        .keep = 1u << A_X,                                                                       \
        .infer = feat_infer,                                                                     \
        .size = feat_size,                                                                       \
        .reset = feat_reset,                                                                     \
        .forward = feat_forward,                                                                 \
        .backward = feat_backward,                                                               \
        .lookahead = feat_lookahead,                                                             \
    };

#define FRAMING                                                                                    \
    " Control rate: frame i is centred on sample i hop (zeros outside the run), so a stream "    \
    "runs late by half a frame and equals the whole pass."

FEATURE(loudness, loud_args,
        "DDSP's compute_loudness: 10 log10 of the mean over the bins of the periodic-Hann power "
        "spectrum |X_k|^2 weighted by 10^(A(f_k)/10) (librosa's A-weighting, floored at -80 dB), "
        "minus ref_db, at least -range_db. Differentiable (exactly 0 where the floor holds)." FRAMING)
FEATURE(rms, rms_args,
        "Root mean square over a rectangular frame of `frame` samples (DDSP's "
        "compute_rms_energy, librosa's rms). Differentiable (0 for a silent frame)." FRAMING)
FEATURE(centroid, spec_args,
        "Spectral centroid in Hz: sum f_k |X_k| / sum |X_k| of the periodic-Hann spectrum "
        "(librosa's spectral_centroid); 0 for a silent frame. Differentiable, with d|X_k| = 0 "
        "where X_k = 0." FRAMING)
FEATURE(flatness, spec_args,
        "Spectral flatness: the geometric over the arithmetic mean of max(|X_k|^2, 1e-10) "
        "(librosa's spectral_flatness): near 0 for a sine, about exp(-0.5772) = 0.56 for white "
        "noise (a periodogram's bins are exponentially distributed). Differentiable, 0 through "
        "bins under the floor." FRAMING)
FEATURE(melspec, mel_args,
        "Log-mel power spectrogram in dB: 10 log10(16/n^2 M_b + 1e-10), M_b the power under "
        "HTK mel triangles of peak 1 from fmin to fmax (torchaudio's MelSpectrogram filters; "
        "a full-scale sine reads about 0 dB in its band). One channel per band, band 0 lowest, "
        "bands of input channel c at c bands. Differentiable everywhere." FRAMING)
FEATURE(mfcc, mfcc_args,
        "Mel-frequency cepstral coefficients: the orthonormal DCT-II of melspec's dB values "
        "(c_q = sqrt(2/B) sum_b v_b cos(pi q (b + 1/2) / B), c_0 times 1/sqrt 2, as "
        "librosa.feature.mfcc and torchaudio's MFCC, without their top_db clamp). n channels "
        "per input channel. Differentiable everywhere." FRAMING)

static const wf_node_kind *const *kind_table(void)
{
    static const wf_node_kind *const t[] = {&wf_kind_loudness, &wf_kind_rms, &wf_kind_centroid,
                                            &wf_kind_flatness, &wf_kind_melspec, &wf_kind_mfcc};
    return t;
}
