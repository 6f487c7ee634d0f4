/* The node registry: one list of every node kind (after Sporth's ugens.h). The
 * list below makes the enum of kinds and the registry table; the compiler, the
 * executor, `weft nodes`, docs/nodes.md and the per-node gradient tests all
 * read the table, so adding a node is one line here plus its record and
 * kernels in its family's file. */
#ifndef WF_REGISTRY_H
#define WF_REGISTRY_H

#include "runtime/node.h"

/* X(id): the record is wf_kind_<id>, defined in the family file (the sources
 * the executor provides itself are the engine's, in runtime/source.c). */
#define WF_NODES(X)                                                                            \
    /* runtime/source.c */                                                                     \
    X(const) X(param) X(input)                                                                 \
    /* stdlib/arith.c */                                                                       \
    X(add) X(sub) X(mul) X(div) X(neg)                                                         \
    /* stdlib/math.c */                                                                        \
    X(exp) X(log) X(sqrt) X(pow) X(sin) X(cos) X(tanh) X(sigmoid) X(softplus) X(exp_sigmoid)   \
    X(abs) X(clamp) X(min) X(max) X(db) X(todb)                                                \
    /* stdlib/osc.c */                                                                         \
    X(sine) X(saw) X(square) X(triangle)                                                       \
    /* stdlib/harmonic.c */                                                                    \
    X(harmonic)                                                                                \
    /* stdlib/noise.c */                                                                       \
    X(noise)                                                                                   \
    /* stdlib/env.c */                                                                         \
    X(adsr) X(line) X(decay)                                                                   \
    /* stdlib/delay.c */                                                                       \
    X(delay)                                                                                   \
    /* stdlib/fx.c */                                                                          \
    X(filtered_noise) X(reverb)                                                                \
    /* stdlib/fir.c */                                                                         \
    X(fir) X(fir_tv)                                                                           \
    /* stdlib/allpole.c */                                                                     \
    X(allpole) X(lpc)                                                                          \
    /* stdlib/onepole.c, stdlib/svf.c, stdlib/comb.c */                                        \
    X(onepole) X(smooth) X(svf) X(comb) X(allpass)                                             \
    /* stdlib/iir.c */                                                                         \
    X(iir) X(sos) X(biquad) X(eq)                                                              \
    /* stdlib/shaper.c */                                                                      \
    X(gain) X(distortion) X(waveshaper)                                                        \
    /* stdlib/dynamics.c */                                                                    \
    X(compressor) X(limiter) X(expander) X(gate)                                               \
    /* stdlib/fdn.c */                                                                         \
    X(fdn) X(room)                                                                             \
    /* stdlib/channels.c */                                                                    \
    X(mix) X(concat) X(pick) X(range)                                                          \
    /* stdlib/rate.c */                                                                        \
    X(upsample) X(downsample)                                                                  \
    /* stdlib/lanes.c */                                                                       \
    X(lanes_sum) X(lanes_mean)                                                                 \
    /* stdlib/modfx.c */                                                                       \
    X(vibrato) X(chorus) X(flanger) X(pan) X(width)                                            \
    /* stdlib/pitch.c */                                                                       \
    X(pitch)                                                                                   \
    /* stdlib/features.c */                                                                    \
    X(loudness) X(rms) X(centroid) X(flatness) X(melspec) X(mfcc)                              \
    /* stdlib/nn.c, stdlib/gru.c */                                                            \
    X(dense) X(layernorm) X(relu) X(leaky_relu) X(gelu) X(softmax) X(conv1d) X(gru)            \
    /* stdlib/osc.c, made by the compiler (lang/compile.c); last, so that                      \
     * the kinds before keep their indices (and test_gradients its seeds) */                   \
    X(sines)

enum {
#define WF_X(id) WF_NODE_##id,
    WF_NODES(WF_X)
#undef WF_X
        WF_NODE_COUNT
};

#define WF_X(id) extern const wf_node_kind wf_kind_##id;
WF_NODES(WF_X)
#undef WF_X

/* The kind's index in the registry, or -1. */
int wf_registry_index(const wf_node_kind *k);

extern const wf_node_kind *const wf_registry[WF_NODE_COUNT];

/* Kind index by name, or -1. */
int wf_registry_find(const char *name);
/* Markdown reference of every public node (docs/nodes.md). */
char *wf_registry_markdown(void);
/* Plain-text listing for `weft nodes`. */
char *wf_registry_listing(void);
/* One kind's signature, doc and arguments as plain text (the REPL's :help). */
char *wf_registry_help(int index);

#endif
