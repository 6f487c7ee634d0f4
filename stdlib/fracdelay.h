/* The fractional delay read shared by the delay lines kept in rings
 * (stdlib/comb.c, stdlib/modfx.c; stdlib/delay.c has its own reader, which
 * also serves feedback loops and allpass interpolation, with the same linear
 * maths): linear interpolation between the two
 * samples around the read position,
 *   v(now - D) = v[i] (1 - u) + v[i+1] u,  i + u = now - D,  0 <= u < 1,
 * with D in samples clamped to [lo, hi] (a NaN delay reads at lo, so a ring
 * is never read outside). Its gradients: the two weights scatter an adjoint
 * back to v[i] and v[i+1], and d/dD = -(v[i+1] - v[i]) where D is inside
 * its clamp (0 at the clamps, where the read does not move). */
#ifndef WF_FRACDELAY_H
#define WF_FRACDELAY_H

#include <math.h>
#include <stdint.h>

typedef struct wf_tap {
    int64_t i;  /* the earlier sample */
    double u;   /* weight of the later one */
    int inside; /* the delay was not clamped */
} wf_tap;

static inline wf_tap wf_tap_at(double D, double lo, double hi, double now)
{
    wf_tap r;
    r.inside = D > lo && D < hi;
    D = !(D > lo) ? lo : D < hi ? D : hi;
    double pos = now - D, fl = floor(pos);
    r.i = (int64_t)fl;
    r.u = pos - fl;
    return r;
}

/* v(i + u) from a ring of H slots in which slot m mod H holds sample m (0
 * before the start), for i >= m - H + 1 where m is the latest sample written.
 * With u = 0 the later slot is not read: it may be the sample being made. */
static inline double wf_ring_read(const double *ring, int64_t H, wf_tap p)
{
    int64_t a = (p.i + H) % H, b = a + 1 == H ? 0 : a + 1;
    return ring[a] + (p.u > 0 ? (ring[b] - ring[a]) * p.u : 0);
}

/* Adjoint of a read of a signal that starts at index 0: g into lam[i] and
 * lam[i+1] with the interpolation's weights (none before the start). */
static inline void wf_tap_scatter(double *lam, wf_tap p, double g)
{
    if (p.i >= 0)
        lam[p.i] += g * (1 - p.u);
    if (p.i + 1 >= 0 && p.u > 0)
        lam[p.i + 1] += g * p.u;
}

#endif
