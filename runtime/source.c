/* Sources the compiler makes: number and vector literals (const), learnable
 * params and external inputs. The executor provides param and input outputs
 * directly (views of the param store and of the input data), so those two
 * have no kernels; their gradient flows straight into the param store. */
#include <string.h>

#include "runtime/node.h"

/* const: a literal [1 x n] vector. */
static const wf_arg_spec const_args[] = {
    {"values", WF_ARG_NUMBER, NULL, "the numbers", 0, NULL, 0, 0},
};

static void const_forward(wf_kctx *k)
{
    const wf_opt *o = &k->node->opt[0];
    for (int c = 0; c < o->n; c++)
        k->out.p[c] = (wf_real)o->v[c];
}

const wf_node_kind wf_kind_const = {
    .name = "const",
    .family = "sources",
    .doc = "A number or vector literal.",
    .args = const_args,
    .nargs = 1,
    .flags = WF_KIND_INTERNAL,
    .forward = const_forward,
};

const wf_node_kind wf_kind_param = {
    .name = "param",
    .family = "sources",
    .doc = "A learnable value declared with `param`.",
    .flags = WF_KIND_INTERNAL | WF_KIND_EXTERNAL,
};

const wf_node_kind wf_kind_input = {
    .name = "input",
    .family = "sources",
    .doc = "An external signal declared with `input`.",
    .flags = WF_KIND_INTERNAL | WF_KIND_EXTERNAL,
};
