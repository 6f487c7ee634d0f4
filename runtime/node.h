/* The node record: what one kind of node is (name, signature, doc), how its
 * output shape follows from its inputs, and its kernels. Every kind is one
 * wf_node_kind in the registry (stdlib/registry.h); the compiler, `weft
 * nodes`, the docs and the gradient tests read the registry, and the
 * executor reads each graph node's record through its pointer, so the engine
 * needs no table of kinds.
 *
 * Kernels run over whole blocks: a forward call computes out.n frames of the
 * node's output from its inputs' blocks; a backward call (whole-signal runs
 * only) adds the node's contribution to the adjoints of its inputs. */
#ifndef WF_NODE_H
#define WF_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/graph.h"
#include "runtime/real.h"

typedef enum {
    WF_ARG_SIGNAL, /* any expression; becomes an input of the node */
    WF_ARG_NUMBER, /* a number or vector known when compiling */
    WF_ARG_ENUM,   /* one word out of `choices` */
} wf_arg_kind;

enum {
    WF_ARG_CONST_ONLY = 1 << 0, /* signal must be constant rate (params allowed) */
    WF_ARG_KEEP_CONTROL = 1 << 1, /* audio-rate node reads this control input itself */
    WF_ARG_NODIFF = 1 << 2,      /* no gradient flows into this input */
    WF_ARG_INT = 1 << 3,         /* NUMBER must be whole */
    WF_ARG_POSITIVE = 1 << 4,    /* NUMBER must be > 0 */
    WF_ARG_OPTIONAL = 1 << 5,    /* NUMBER may be left out (no default) */
    WF_ARG_GATE = 1 << 6,        /* a gate: voices of notes last as long as the kind's tail */
};

typedef struct wf_arg_spec {
    const char *name;
    wf_arg_kind kind;
    const char *dflt; /* default as a number, a vector "[a, b]" or a choice; NULL: required */
    const char *doc;
    unsigned flags;
    const char *const *choices; /* ENUM, NULL-terminated */
    double test_lo, test_hi;    /* range of random values in gradient tests */
} wf_arg_spec;

enum {
    WF_KIND_INTERNAL = 1 << 0, /* made by the compiler, not callable by name */
    WF_KIND_OPERATOR = 1 << 1, /* behind an operator (+ - * /); callable too */
    WF_KIND_VARIADIC = 1 << 2, /* the last SIGNAL argument repeats */
    WF_KIND_EXTERNAL = 1 << 3, /* output provided by the executor (param, input) */
    WF_KIND_LANES = 1 << 4,    /* reduces the lanes of its input (lanes_sum, lanes_mean) */
    /* May sit inside a feedback loop although it keeps state: it reads its
     * input's past from the views when k->past allows (a delay), and its
     * backward runs in steps (runtime/loop.c). Kinds without state need no
     * flag: their kernels are pointwise in time. */
    WF_KIND_STEPS = 1 << 5,
    /* An analysis (pitch): the output depends on the input but has no
     * gradient (backward is NULL), by contract rather than by omission.
     * Planning a GRAD program refuses a learnt param upstream of one
     * (`param-reaches-analysis`), instead of fitting with silently zero
     * gradients; and a fit computes a param-free analysis once per
     * recording, over the whole recording, and caches it (docs/design.md
     * "Analysis computed once"). */
    WF_KIND_ANALYSIS = 1 << 6,
};

#define WF_KEEP_OUT (1u << 31) /* backward reads the node's own output */
#define WF_KEEP_ALL 0x7fffffffu /* backward reads every input */

/* One signal as a kernel sees it: `n` frames of `chans` interleaved channels
 * from p (frame-major), starting at the call's first output frame. A CONST
 * signal has n = 1 and applies to every frame. Time-varying inputs may hold
 * more frames than the output: a control input of an audio-rate node
 * (WF_ARG_KEEP_CONTROL) starts at the frame holding the block's first sample
 * and has one frame of lookahead, and an input the kind declares a lookahead
 * on holds that many frames past the output's last (fewer at the end of a
 * run: a kernel treats frames past n as zero). */
typedef struct wf_sig {
    wf_real *p;
    int n;
    int chans;
    wf_rate rate;
    const double *exact; /* a compile-time constant: its values in double, else NULL */
} wf_sig;

struct wf_prog;

typedef struct wf_kctx {
    struct wf_prog *prog; /* the program running it, for wf_kernel_fault */
    const wf_gnode *node;
    const wf_env *env;
    int lane;      /* which lane of the node this call computes */
    int block;     /* frames a call covers at most (what size() was given) */
    void *state;   /* persists from block to block; set up by reset */
    void *saved;   /* tape: forward writes what backward needs (NULL if no backward) */
    void *work;    /* scratch for one call */
    int nin;
    const wf_sig *in;
    wf_sig out;
    int64_t t0;    /* index of out frame 0 since the start, in the output's rate */
    /* Inside a feedback loop (runtime/loop.c): frames before the call's
     * first that the views of in[], out and (backward) din[] and dout hold,
     * with the signals' past; 0 elsewhere. A WF_KIND_STEPS kind reads its
     * input's past there rather than from its own state, and its backward,
     * called on steps in reverse time order, adds adjoints into that past. */
    int past;
    /* Inside a loop, for a delay that closes it: the fewest samples it may
     * delay by (the loop's step). A shorter time (a param set outside its
     * bounds) is raised to it and reported through wf_kernel_fault. */
    int least;
    struct wf_kctx *parent; /* the loop's call, which kernel faults are reported through */
    /* backward only */
    const wf_sig *dout; /* adjoint of the output, laid out like out */
    const wf_sig *din;  /* adjoints to add into, laid out like in; p NULL: not wanted */
} wf_kctx;

/* Shape inference: the compiler fills in[] with the inputs' shapes; infer sets
 * out and may set want[i] to the rate input i must be converted to (control to
 * audio by linear interpolation). Errors go to d at loc, or at arg_loc[i] for
 * an argument. Return 0, or -1 after reporting. */
typedef struct wf_infer {
    const wf_gnode *node;
    int nin;
    const wf_shape *in;
    wf_rate *want;
    wf_shape out;
    wf_diags *d;
    wf_loc loc;
    const wf_loc *arg_loc; /* per signal input */
    const char *name;
} wf_infer;

/* Memory a node asks for, in bytes, given its block length (frames of its
 * output rate per call). */
typedef struct wf_sizes {
    size_t state, saved, work, bwork;
} wf_sizes;

typedef struct wf_node_kind {
    const char *name;
    const char *family; /* stdlib file it lives in, for the docs */
    const char *doc;
    const wf_arg_spec *args;
    int nargs;
    unsigned flags;
    unsigned keep; /* bit i: backward reads input i; WF_KEEP_OUT: reads output */
    int (*infer)(wf_infer *ic);
    void (*size)(const wf_gnode *g, const wf_shape *in, const wf_env *e, int block,
                 wf_sizes *s);
    void (*reset)(wf_kctx *k);
    void (*forward)(wf_kctx *k);
    void (*backward)(wf_kctx *k);
    /* Optional, for kinds with a WF_ARG_GATE input: seconds the node goes on
     * sounding after its gate falls (a release), from the values of its
     * constant inputs (NAN where not known when planning), so that a voice
     * of notes is not reused before. */
    double (*tail)(const wf_gnode *g, const double *in);
    /* Optional: how far the node reads input i ahead of its output, in the
     * input's frames (samples for audio, frames for control). The executor
     * gives a streaming node that much more of the input, delaying the node
     * and what follows it, so that streams equal whole passes. */
    int (*lookahead)(const wf_gnode *g, const wf_shape *in, const wf_env *e, int input);
    /* Optional: the value of channel `chan` from constant inputs x (one per
     * signal input), in double. The compiler folds a call whose inputs are
     * all constants into a constant with it, so constants stay exact (a
     * sine's frequency 100 * pow(1.05, 63) is not rounded to float32 before
     * the phase is accumulated in double). */
    double (*fold)(const double *x, const wf_opt *opt, int chan);
    /* Optional, for the registry's gradient tests: the random value of
     * channel `chan` (of `chans`) of signal input i from u uniform in [0, 1),
     * where the arguments' test_lo..test_hi ranges cannot say it (a filter's
     * denominator, whose a[0] is near 1 and whose other taps must keep the
     * poles inside the unit circle). */
    double (*test_value)(int input, int chan, int chans, double u);
    /* For WF_KIND_STEPS kinds: frames of its inputs' past it reads (a
     * delay's longest), which a feedback loop keeps before every step. */
    int (*past)(const wf_gnode *g, const wf_env *e);
} wf_node_kind;

/* The sources the executor provides itself (runtime/source.c): literals,
 * params (views of the param store) and inputs (the caller's data). */
extern const wf_node_kind wf_kind_const;
/* A feedback loop: the nodes of a cycle run in steps (runtime/loop.c). */
extern const wf_node_kind wf_kind_loop;
extern const wf_node_kind wf_kind_param;
extern const wf_node_kind wf_kind_input;

/* Number of SIGNAL arguments in k's signature. */
int wf_kind_signal_args(const wf_node_kind *k);
/* Signature argument of signal input i (the last repeats for variadics), or
 * NULL. */
const wf_arg_spec *wf_kind_input_spec(const wf_node_kind *k, int i);

/* Shape rules shared by many kinds. */
/* Output at the highest input rate, channels broadcast (equal, or 1); a
 * control input of an audio-rate output is interpolated. */
int wf_infer_elementwise(wf_infer *ic);
/* Audio-rate output, channels broadcast over the inputs (a generator). */
int wf_infer_generator(wf_infer *ic);
/* An audio-rate filter of signal input x: as a generator, and x must change
 * over time (a constant x is reported at its argument). */
int wf_infer_filter(wf_infer *ic, int x);

/* Carves an aligned piece of `bytes` out of a scratch area; size requests
 * add 64 bytes per piece for the alignment. */
static inline void *wf_carve(void **cursor, size_t bytes)
{
    uintptr_t p = ((uintptr_t)*cursor + 63) & ~(uintptr_t)63;
    *cursor = (void *)(p + bytes);
    return (void *)p;
}

/* A kernel's report that its inputs have left the region where it is
 * stable (a filter whose poles reached the unit circle): at output frame
 * `frame` of this call, `what` a short phrase ("pole radius 1.02"). The
 * kernel still computes what it was asked to; the executor keeps the first
 * report of a pass for the caller (wf_prog_fault), which tells the user
 * instead of letting the output grow into a NaN unexplained. Safe to call
 * from lanes running in parallel. */
void wf_kernel_fault(wf_kctx *k, int frame, const char *what);

/* Option helpers for kernels. */
static inline double wf_opt_num(const wf_gnode *g, int arg, double dflt)
{
    return g->opt[arg].n > 0 ? g->opt[arg].v[0] : dflt;
}

/* Sum of a broadcast adjoint: adds the [n x c] block g into d, which is laid
 * out like the input (CONST: 1 frame; 1 channel: summed over channels). */
void wf_reduce_into(const wf_sig *d, const wf_real *g, int n, int c);

/* Linear interpolation of a control signal to audio samples (docs/design.md
 * "Values"; bench/WORKLOADS.md 0.3): sample j of the block, frame i = j / hop,
 * v = v[i] (1 - t) + v[min(i + 1, last)] t with t = (j mod hop) / hop. */
void wf_interp_control(const wf_sig *ctl, int hop, wf_real *dst, int n);
/* Adjoint of wf_interp_control: adds into the control adjoint. */
void wf_interp_control_adjoint(const wf_sig *dctl, int hop, const wf_real *g, int n);

#endif
