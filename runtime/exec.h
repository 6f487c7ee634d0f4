/* The executor: plans a compiled graph for one length (buffers, per-node
 * state, tape, lanes, latencies) and runs it.
 *
 * - WF_RUN_STREAM renders block by block with per-node state, so memory does
 *   not grow with the length (weft run, the live session).
 * - WF_RUN_WHOLE computes the whole signal in one block (fits, checks).
 * - WF_RUN_GRAD is WHOLE plus the tape and the reverse sweep.
 *
 * Lanes: a node runs once per lane of its signal: the voices of its lane
 * space (shape.lanes; counts bound here, from the notes that were read) times
 * the batch items when it depends on an input read per item. Nodes of one
 * lane run in one block of the schedule, and lanes run in parallel; a node
 * with fewer lanes than its reader broadcasts, and the adjoints its readers
 * send back are summed over their lanes.
 *
 * Streaming: a node that reads ahead of its output (a declared lookahead)
 * runs late by what it needs, and everything downstream with it; signals read
 * by nodes running later keep a history of that length, so a stream gives
 * the same samples as one whole pass and the out is delayed back into place.
 *
 * Buffers come from arenas laid out once from the lifetimes of every output,
 * adjoint, tape entry and scratch area, so a fit step allocates nothing.
 * Nodes that do not depend on any param are computed once per program in
 * WHOLE and GRAD runs. */
#ifndef WF_EXEC_H
#define WF_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/diag.h"
#include "runtime/graph.h"
#include "runtime/node.h"
#include "runtime/params.h"

typedef enum { WF_RUN_STREAM, WF_RUN_WHOLE, WF_RUN_GRAD } wf_run_mode;

/* A streaming source for an input: fills n frames of chans channels, returns
 * frames written (fewer at the end; the rest is zero-filled). */
typedef int (*wf_read_fn)(void *ctx, wf_real *dst, int n);

typedef struct wf_prog wf_prog;

typedef struct wf_plan {
    wf_run_mode mode;
    int block;            /* STREAM: audio samples per block (rounded to whole frames) */
    int items;            /* batch items (0 or 1: none) */
    const char *per_item; /* per input of the graph: 1 when it has one lane per item */
    const int *voices;    /* voices[k - 1]: lanes of lane space k (NULL: 1 each) */
} wf_plan;

wf_prog *wf_prog_plan(const wf_graph *g, const wf_env *env, wf_params *params, const wf_plan *o,
                      wf_diags *d);
/* One item, one voice per lane space. block: as in wf_plan. */
wf_prog *wf_prog_new(const wf_graph *g, const wf_env *env, wf_params *params, wf_run_mode mode,
                     int block, wf_diags *d);
void wf_prog_free(wf_prog *p);

/* Input data of one lane: the whole signal [frames x chans] (kept by the
 * caller; any mode, and control-rate inputs such as notes always), or an
 * audio reader (STREAM). Lanes of an input are its items times its voices,
 * item-major. */
void wf_prog_set_input(wf_prog *p, int input, int lane, const wf_real *data);
void wf_prog_set_reader(wf_prog *p, int input, int lane, wf_read_fn fn, void *ctx);
/* Lanes a program gives input `input` (0 when the input is unused). */
int wf_prog_input_lanes(const wf_prog *p, int input);

/* STREAM: the next block of output, *n frames of out_chans channels (block
 * samples, fewer at the end), valid until the next call; returns NULL at the
 * end. */
const wf_real *wf_prog_next_block(wf_prog *p, int *n);
/* WHOLE/GRAD: runs forward over the whole length; returns lane 0 of the
 * output, [nsamples x chans]. */
const wf_real *wf_prog_forward(wf_prog *p);
/* WHOLE/GRAD, after wf_prog_forward: lane `lane` of the output. */
const wf_real *wf_prog_out(const wf_prog *p, int lane);
/* GRAD, after wf_prog_forward: adds d loss / d param into every param's grad,
 * given dout = d loss / d output for every lane of the out, lane-major. */
void wf_prog_backward(wf_prog *p, const wf_real *dout);

/* WHOLE/GRAD: runs forward again, watching every node's output; returns the
 * first node (in order) whose output or param value is not finite, or -1. */
int wf_prog_find_nonfinite(wf_prog *p);
/* The first fault a kernel reported (wf_kernel_fault) since the last
 * forward pass began (STREAM: since the program began): its node, or -1
 * when none; *seconds the time of its output it happened at, *what its
 * phrase. The earliest node in the schedule wins, then the earliest time. */
int wf_prog_fault(const wf_prog *p, double *seconds, const char **what);

int wf_prog_out_chans(const wf_prog *p);
int wf_prog_out_lanes(const wf_prog *p);
const wf_graph *wf_prog_graph(const wf_prog *p);
/* Values in the whole output, every lane (lanes x frames x channels). */
size_t wf_prog_out_len(const wf_prog *p);
/* Bytes of the planned arenas (signals, tape, adjoints, scratch). */
size_t wf_prog_arena_bytes(const wf_prog *p);
/* STREAM: samples the out runs late inside the program (delayed back into
 * place before it is returned). */
int64_t wf_prog_latency(const wf_prog *p);
/* Forces static nodes to be recomputed (after inputs change). */
void wf_prog_invalidate(wf_prog *p);

/* STREAM, for live editing: the absolute sample the next block handed out
 * starts at, and the sample streamed inputs are read from next. */
int64_t wf_prog_position(const wf_prog *p);
int64_t wf_prog_input_position(const wf_prog *p);
/* STREAM: makes the fresh program p continue where `old` is: the same
 * position, and the streaming state (phases, delay lines, reverb tails,
 * histories) of every node whose id, kind, shape and latency are the same
 * in both. Returns how many nodes kept their state. */
int wf_prog_adopt(wf_prog *p, const wf_prog *old);

#endif
