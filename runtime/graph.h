/* The compiled patch: a DAG of node instances in topological order, with every
 * signal's rate and channel count known, plus the patch's params, inputs and
 * settings. The compiler (lang/compile.c) builds it; the executor
 * (runtime/exec.c) plans and runs it for a given length. Frame counts are not
 * stored: they follow from the rate once the length is known. */
#ifndef WF_GRAPH_H
#define WF_GRAPH_H

#include <stdint.h>

#include "runtime/diag.h"

typedef enum { WF_RATE_CONST = 0, WF_RATE_CONTROL = 1, WF_RATE_AUDIO = 2 } wf_rate;

/* A signal's shape as the compiler knows it. Lanes are independent copies of
 * a signal (the voices of a polyphonic patch): lanes = 0 is one lane, shared
 * by every voice; lanes = k > 0 is one lane per voice of lane space k (the
 * k-th `input` of notes), a count that is known only when the notes are read,
 * so programs bind it when they are planned. */
typedef struct wf_shape {
    wf_rate rate;
    int chans;
    int lanes;
} wf_shape;

/* A shape of one lane. */
static inline wf_shape wf_shape_of(wf_rate rate, int chans)
{
    return (wf_shape){rate, chans, 0};
}

const char *wf_rate_name(wf_rate r);

/* Value of a NUMBER or ENUM argument: n numbers (n = 0: not given). An ENUM
 * stores the index of its choice in v[0]. */
typedef struct wf_opt {
    int n;
    double *v;
} wf_opt;

struct wf_node_kind;
struct wf_loop;

typedef struct wf_gnode {
    const struct wf_node_kind *kind; /* its record (runtime/node.h) */
    int nin;
    int *in;       /* producer node of each signal input, in signature order */
    wf_opt *opt;   /* one per signature argument (signals leave theirs empty) */
    wf_shape shape;
    int ref;       /* param or input index for those kinds */
    uint64_t id;   /* stable identity: from the binding and the place in its
                      expression, so that it survives edits elsewhere in the
                      patch (live editing keeps the state of nodes by id; a
                      noise() call takes its default seed from it) */
    wf_loc loc;
    char *label;   /* name it was bound to, for `weft graph` */
    struct wf_loop *loop; /* a feedback loop's nodes (kind wf_kind_loop), else NULL */
} wf_gnode;

/* A feedback loop: the nodes of a cycle of the patch (a strongly connected
 * part of its graph, every cycle through a delay), run as one node of the
 * graph. The loop's inputs are the signals from outside that its nodes read;
 * its output is the channels of the nodes read from outside, side by side.
 * Nodes are in the order they run within a step: an edge into a `cut`
 * delay's signal input comes from earlier steps (the delay is at least a
 * step long), so it may point forward. The executor runs the loop in steps
 * of `step` seconds times the rate, less `slack`, rounded down, samples
 * (runtime/loop.c). */
typedef struct wf_loop {
    int n;
    wf_gnode *nodes;  /* in[j] >= 0: node in[j] of the loop; < 0: loop input -1 - in[j] */
    char *cut;        /* per node: a delay whose input edge comes from the past */
    int nexports;
    int *exports;     /* nodes whose channels make the output, in order */
    double step;      /* seconds: the shortest delay among the cut ones (a lower bound) */
    double slack;     /* samples the step leaves to spare (an allpass read needs half) */
} wf_loop;

/* Timing context shared by every node of a run. */
typedef struct wf_env {
    double sr;          /* audio rate, Hz */
    double frame_rate;  /* control rate actually used: sr / hop */
    int hop;            /* audio samples per control frame */
    int64_t nsamples;   /* length of the run in samples */
    int64_t nframes;    /* control frames: ceil(nsamples / hop) */
    uint64_t seed;      /* offsets the default seeds of random nodes (--seed) */
    /* Set by the executor: every call but a run's last covers a multiple of
     * this many audio samples (a whole pass: nsamples), and starts at a
     * multiple of it, so block-wise algorithms can partition their input. */
    int granule;
} wf_env;

int64_t wf_env_frames(const wf_env *e, wf_rate r);

/* A seeded random draw of a param's initial values (normal(), uniform(),
 * xavier(), he()): value i is drawn from the counter stream `seed` at i, so
 * a draw is the same bit for bit on every run on the same machine. */
typedef enum { WF_DRAW_NONE, WF_DRAW_NORMAL, WF_DRAW_UNIFORM, WF_DRAW_XAVIER, WF_DRAW_HE } wf_draw_kind;

typedef struct wf_param_draw {
    wf_draw_kind kind;
    double a, b;   /* normal: mean, std; uniform: lo, hi; xavier, he: gain */
    uint64_t seed;
} wf_param_draw;

typedef struct wf_param_decl {
    char *name;
    wf_loc loc;
    wf_rate rate;   /* CONST: a vector or matrix; CONTROL: `per frame`; AUDIO: API only */
    int size;       /* channels: the values of one frame */
    int ndims;      /* 1: a vector of size; 2: a matrix dims[0] x dims[1] (row-major) */
    int dims[2];
    int log;        /* fitted in the log domain */
    int fixed;      /* `fixed`: settable and loadable, but never fitted */
    int bounded;
    double lo, hi;  /* bounds in value units */
    double *init;   /* `size` initial values (broadcast over frames), or NULL with init_file
                       or a draw */
    char *init_file; /* a .npy file (or, for `per frame`, a float WAV) of the values */
    wf_param_draw draw;
    /* Where the initial value is written, for `weft fit` to rewrite it. */
    const wf_source *src;
    int init_start, init_end;
    int init_unit;  /* wf_unit of a single literal, kept when rewriting */
    int node;       /* its graph node, -1 when unused */
} wf_param_decl;

typedef struct wf_note_decl {
    double on, off; /* seconds */
    int key;        /* MIDI key, 60 = C4 */
    double vel;     /* 0..1 */
} wf_note_decl;

typedef struct wf_input_decl {
    char *name;
    wf_loc loc;
    int chans;
    int from_target; /* `input x = target` */
    char *file;      /* `input x = "file.wav"` (or a MIDI file for notes) */
    int file_start, file_end; /* where the file's string is written */
    int node;        /* -1 when unused */
    /* Notes: a control-rate signal of the fields freq, gate, vel, onset
     * whose lanes are voices (lane space `space`), from a MIDI file or the
     * notes written in the patch. */
    int space;           /* 0: an audio input */
    int max_voices;      /* `input notes[8] = ...`: at most 8 voices (0: as many as needed) */
    wf_note_decl *notes; /* written in the patch (file NULL) */
    int nnotes;
} wf_input_decl;

typedef struct wf_graph {
    wf_gnode *nodes;
    int n, cap;
    int out;
    wf_param_decl *params;
    int nparams;
    wf_input_decl *inputs;
    int ninputs;
    int nspaces;        /* lane spaces: notes inputs, numbered from 1 */
    double rate;        /* 0: not set by the patch */
    double frame_rate;  /* requested control rate */
    double length;      /* seconds; 0: not set by the patch */
    wf_loc length_loc;  /* its statement's */
} wf_graph;

wf_graph *wf_graph_new(void);
void wf_graph_free(wf_graph *g);
/* Appends a node of kind `kind` with nin inputs and returns its index; the
 * caller fills opts, shape and id. */
int wf_graph_add(wf_graph *g, const struct wf_node_kind *kind, int nin, const int *in,
                 wf_loc loc);
/* Frees what a node owns (its inputs, options, label, loop). */
void wf_gnode_free(wf_gnode *n);
/* A deep copy of g (nodes, loops, params and inputs); params' `src` is
 * shared, as it belongs to the patch's source. */
wf_graph *wf_graph_copy(const wf_graph *g);
/* Drops nodes the output does not depend on and renumbers the rest, keeping
 * topological order; params and inputs left unused get node -1. */
void wf_graph_prune(wf_graph *g);
/* Graphviz DOT of the graph, with each node's shape and rate. */
char *wf_graph_dot(const wf_graph *g);

#endif
