#!/usr/bin/python3
"""W6 effect-chain fit, PyTorch peer (bench/WORKLOADS.md, W6): one fit step
of a six-band parametric EQ into a compressor on 5 s of 44.1 kHz audio, with
the MSS loss and Adam (lr 0.01), all 24 params learnt at once, written as
dasp-pytorch (Steinmetz et al. 2022) writes these effects:

- the EQ is dasp's parametric_eq: six RBJ biquads (low shelf, four peaks,
  high shelf) whose coefficients are computed from the params with torch
  ops, run by frequency sampling (dasp's sosfilt_via_fsm): the product of
  the sections' responses rfft(b)/rfft(a) on an FFT grid of the next power
  of two >= 2N - 1, applied to rfft(x) and cropped to N samples;
- the compressor is dasp's compressor: the level 20 log10(max(|x|, 1e-8)),
  the soft-knee gain computer by masks, and the smoother a one-pole
  y[n] = a y[n-1] + (1 - a) gc[n] with the single attack coefficient
  a = exp(-ln 9 / (sr attack)) (dasp ignores the release time), run
  without a Python loop as dasp does, by frequency sampling too
  (lfilter_via_fsm on the same FFT grid); then the makeup and the gain.

torchcomp's switching smoother (a custom autograd recursion) is not in
Debian's PyTorch, so the peer keeps dasp's approximation: it computes less
than weft, whose smoother switches between attack and release per sample."""

import math
import time

import numpy as np
import torch

from common import MSS, U, emit_times, emit_value

SR, N = 44100, 5 * 44100
STEPS, RUNS, WARMUP_STEPS = 5, 3, 1
NFFT = 1 << (2 * N - 2).bit_length()  # next power of two >= 2N - 1

n = np.arange(N)
x = torch.from_numpy((0.5 * U(0, N).astype(np.float64)
                      * (0.55 + 0.45 * np.sin(2 * np.pi * 3 * n / SR))).astype(np.float32))
X = torch.fft.rfft(x, NFFT)


def rbj(kind, gain_db, freq, q):
    """dasp's biquad(): normalised (b, a) of one cookbook section."""
    A = 10 ** (gain_db / 40.0)
    w0 = 2 * math.pi * freq / SR
    alpha = torch.sin(w0) / (2 * q)
    c = torch.cos(w0)
    sA = torch.sqrt(A)
    if kind == "low_shelf":
        b = [A * ((A + 1) - (A - 1) * c + 2 * sA * alpha), 2 * A * ((A - 1) - (A + 1) * c),
             A * ((A + 1) - (A - 1) * c - 2 * sA * alpha)]
        a = [(A + 1) + (A - 1) * c + 2 * sA * alpha, -2 * ((A - 1) + (A + 1) * c),
             (A + 1) + (A - 1) * c - 2 * sA * alpha]
    elif kind == "high_shelf":
        b = [A * ((A + 1) + (A - 1) * c + 2 * sA * alpha), -2 * A * ((A - 1) + (A + 1) * c),
             A * ((A + 1) + (A - 1) * c - 2 * sA * alpha)]
        a = [(A + 1) - (A - 1) * c + 2 * sA * alpha, 2 * ((A - 1) - (A + 1) * c),
             (A + 1) - (A - 1) * c - 2 * sA * alpha]
    else:
        b = [1 + alpha * A, -2 * c, 1 - alpha * A]
        a = [1 + alpha / A, -2 * c, 1 - alpha / A]
    a0 = a[0]
    return torch.stack(b) / a0, torch.stack(a) / a0


def parametric_eq(g, f, q):
    """dasp's parametric_eq through sosfilt_via_fsm."""
    H = None
    for j in range(6):
        kind = "low_shelf" if j == 0 else "high_shelf" if j == 5 else "peaking"
        b, a = rbj(kind, g[j], f[j], q[j])
        Hj = torch.fft.rfft(b, NFFT) / torch.fft.rfft(a, NFFT)
        H = Hj if H is None else H * Hj
    return torch.fft.irfft(X * H, NFFT)[:N]


def compressor(x, thr, ratio, knee, att_ms, rel_ms, makeup):
    """dasp's compressor: soft knee by masks, attack-only smoothing by FSM."""
    del rel_ms  # dasp's smoother has no release
    x_db = 20 * torch.log10(torch.abs(x).clamp(1e-8))
    alpha = torch.exp(-math.log(9.0) / (SR * att_ms / 1e3))
    x_sc = x_db.clone()
    inside = (x_db >= thr - knee / 2) & (x_db <= thr + knee / 2)
    below = x_db + (1 / ratio - 1) * (x_db - thr + knee / 2) ** 2 / (2 * knee)
    x_sc = torch.where(inside, below, x_sc)
    above = x_db > thr + knee / 2
    x_sc = torch.where(above, thr + (x_db - thr) / ratio, x_sc)
    gc = x_sc - x_db
    b = torch.stack([1 - alpha, torch.zeros_like(alpha)])
    a = torch.stack([torch.ones_like(alpha), -alpha])
    H = torch.fft.rfft(b, NFFT) / torch.fft.rfft(a, NFFT)
    gs = torch.fft.irfft(torch.fft.rfft(gc, NFFT) * H, NFFT)[:N] + makeup
    return x * 10 ** (gs / 20.0)


def chain(p):
    return compressor(parametric_eq(p["g"], p["f"], p["q"]), p["thr"], p["ratio"], p["knee"],
                      p["att"], p["rel"], p["makeup"])


def params(g, f, q, thr, ratio, knee, att, rel, makeup, grad):
    t = lambda v: torch.tensor(v, dtype=torch.float32, requires_grad=grad)
    return {"g": t(g), "f": t(f), "q": t(q), "thr": t(thr), "ratio": t(ratio), "knee": t(knee),
            "att": t(att), "rel": t(rel), "makeup": t(makeup)}


with torch.no_grad():
    mss = MSS(chain(params([4, -3, 5, -6, 3, -4], [150, 600, 3000, 9000, 14000, 10000],
                           [0.9, 1.5, 2, 1, 0.8, 0.7], -24.0, 4.0, 6.0, 5.0, 60.0, 3.0, False)))


def fresh():
    p = params([0.0] * 6, [200, 400, 4000, 9800, 16000, 9200], [0.7071] * 6, -12.0, 2.0, 3.0,
               10.0, 100.0, 0.0, True)
    # the release gets no gradient (dasp ignores it); Adam skips it
    return p, torch.optim.Adam(list(p.values()), lr=0.01)


def fit(p, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = mss(chain(p))
        loss.backward()
        opt.step()


with torch.no_grad():
    emit_value("W6", "pytorch", "loss_at_init", mss(chain(fresh()[0])).item())
fit(*fresh(), WARMUP_STEPS)
totals = []
for _ in range(RUNS):
    p, opt = fresh()
    t0 = time.perf_counter()
    fit(p, opt, STEPS)
    totals.append(time.perf_counter() - t0)

with torch.no_grad():
    final_loss = mss(chain(p)).item()

emit_times("W6", "pytorch", "ms_per_step", [t / STEPS for t in totals])
emit_value("W6", "pytorch", "final_loss", final_loss)
