/* Notes inputs made ready for a run (notes.h): reading, voices with a release
 * tail taken from the envelopes the notes' gate drives, and rendering. */
#include "runtime/notes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/node.h"
#include "runtime/util.h"

/* The notes written in the patch, as a file would give them. */
static void patch_notes(wf_notes *n, const wf_input_decl *in)
{
    n->midi.n = in->nnotes;
    n->midi.notes = wf_xcalloc((size_t)(in->nnotes ? in->nnotes : 1), sizeof(wf_note));
    n->midi.end = 0;
    for (int i = 0; i < in->nnotes; i++) {
        const wf_note_decl *nd = &in->notes[i];
        int vel = (int)lround(nd->vel * 127);
        n->midi.notes[i] = (wf_note){nd->on, nd->off, nd->key, vel < 1 ? 1 : vel, 0, 0};
        if (nd->off > n->midi.end)
            n->midi.end = nd->off;
    }
    /* sorted by onset, then key, as files give them */
    for (int i = 1; i < n->midi.n; i++) {
        wf_note x = n->midi.notes[i];
        int j = i - 1;
        while (j >= 0 && (n->midi.notes[j].on > x.on ||
                          (n->midi.notes[j].on == x.on && n->midi.notes[j].key > x.key))) {
            n->midi.notes[j + 1] = n->midi.notes[j];
            j--;
        }
        n->midi.notes[j + 1] = x;
    }
}

/* The largest value of a node known when planning: a constant's, or a
 * constant param's initial value; NAN otherwise. */
static double known_value(const wf_graph *g, int node)
{
    const wf_gnode *n = &g->nodes[node];
    const double *v = NULL;
    int count = 0;
    if (n->kind == &wf_kind_const) {
        v = n->opt[0].v;
        count = n->opt[0].n;
    } else if (n->kind == &wf_kind_param && g->params[n->ref].rate == WF_RATE_CONST &&
               g->params[n->ref].init) {
        v = g->params[n->ref].init;
        count = g->params[n->ref].size;
    }
    if (!v)
        return NAN;
    double m = v[0];
    for (int i = 1; i < count; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

/* The longest tail of the nodes whose gate the input drives; a tail that is
 * not known when planning (a signal) counts as half a second. */
static double release_tail(const wf_graph *g, int input)
{
    int src = g->inputs[input].node;
    char *reach = wf_xcalloc((size_t)g->n + 1, 1);
    double tail = 0;
    for (int i = 0; i < g->n; i++) {
        const wf_gnode *n = &g->nodes[i];
        reach[i] = i == src;
        for (int j = 0; j < n->nin; j++)
            reach[i] |= reach[n->in[j]];
        if (!n->kind->tail)
            continue;
        int gated = 0;
        for (int j = 0; j < n->nin; j++) {
            const wf_arg_spec *as = wf_kind_input_spec(n->kind, j);
            gated |= as && (as->flags & WF_ARG_GATE) && reach[n->in[j]];
        }
        if (!gated)
            continue;
        double vals[16];
        for (int j = 0; j < n->nin && j < 16; j++)
            vals[j] = known_value(g, n->in[j]);
        double t = n->kind->tail(n, vals);
        if (!isfinite(t))
            t = 0.5;
        if (t > tail)
            tail = t;
    }
    free(reach);
    return tail;
}

int wf_notes_load(wf_notes *n, const wf_graph *g, int input, const char *path, wf_diags *d)
{
    memset(n, 0, sizeof *n);
    const wf_input_decl *in = &g->inputs[input];
    if (path) {
        if (wf_midi_load(path, &n->midi, d))
            return -1;
    } else {
        patch_notes(n, in);
    }
    n->tail = release_tail(g, input);
    n->voice = wf_xcalloc((size_t)(n->midi.n ? n->midi.n : 1), sizeof(int));
    n->nvoices = wf_midi_voices(&n->midi, n->tail, in->max_voices, n->voice, &n->stolen);
    return 0;
}

void wf_notes_free(wf_notes *n)
{
    wf_midi_free(&n->midi);
    free(n->voice);
    memset(n, 0, sizeof *n);
}

double wf_notes_end(const wf_notes *n)
{
    double end = 0;
    for (int i = 0; i < n->midi.n; i++)
        if (n->midi.notes[i].off > end)
            end = n->midi.notes[i].off;
    return n->midi.n ? end + n->tail : 0;
}

wf_real *wf_notes_render(const wf_notes *n, const wf_env *env)
{
    size_t len = (size_t)n->nvoices * (size_t)env->nframes * WF_MIDI_FIELDS;
    wf_real *out = wf_aalloc(sizeof(wf_real) * (len ? len : 1));
    wf_midi_render(&n->midi, n->voice, n->nvoices, env->frame_rate, env->nframes, out);
    return out;
}
