/* The executor: plans a compiled graph for one length (buffers, per-node
 * state, tape) and runs it.
 *
 * - WF_RUN_STREAM renders block by block with per-node state, so memory does
 *   not grow with the length (weft run).
 * - WF_RUN_WHOLE computes the whole signal in one block (fits, checks, and
 *   graphs whose control-rate nodes read audio).
 * - WF_RUN_GRAD is WHOLE plus the tape and the reverse sweep.
 *
 * Buffers come from one arena laid out once from the lifetimes of every
 * output, adjoint, tape entry and scratch area, so a fit step allocates
 * nothing. Nodes that do not depend on any param are computed once per
 * program in WHOLE and GRAD runs. */
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

/* block: audio samples per block for STREAM (rounded to whole control
 * frames); ignored otherwise. */
wf_prog *wf_prog_new(const wf_graph *g, const wf_env *env, wf_params *params, wf_run_mode mode,
                     int block, wf_diags *d);
void wf_prog_free(wf_prog *p);

/* Input data: whole signal [nsamples x chans] for WHOLE/GRAD (kept by the
 * caller), or a reader for STREAM. */
void wf_prog_set_input(wf_prog *p, int input, const wf_real *data);
void wf_prog_set_reader(wf_prog *p, int input, wf_read_fn fn, void *ctx);

/* STREAM: the next block of output, *n frames of out_chans channels; returns
 * NULL at the end. */
const wf_real *wf_prog_next_block(wf_prog *p, int *n);
/* WHOLE/GRAD: runs forward over the whole length; returns the output,
 * [nsamples x chans] for a compiled patch (whose out is audio rate). */
const wf_real *wf_prog_forward(wf_prog *p);
/* GRAD, after wf_prog_forward: adds d loss / d param into every param's grad,
 * given dout = d loss / d output, laid out like the output. */
void wf_prog_backward(wf_prog *p, const wf_real *dout);

/* WHOLE/GRAD: runs forward again, watching every node's output; returns the
 * first node (in order) whose output or param value is not finite, or -1. */
int wf_prog_find_nonfinite(wf_prog *p);

int wf_prog_out_chans(const wf_prog *p);
const wf_graph *wf_prog_graph(const wf_prog *p);
/* Values in the whole output (frames x channels). */
size_t wf_prog_out_len(const wf_prog *p);
/* Bytes of the planned arena (signals, tape, adjoints, scratch). */
size_t wf_prog_arena_bytes(const wf_prog *p);
/* Forces static nodes to be recomputed (after inputs change). */
void wf_prog_invalidate(wf_prog *p);

#endif
