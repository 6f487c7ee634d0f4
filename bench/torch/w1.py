#!/usr/bin/python3
"""W1 harmonic-fit, PyTorch peer: fit 50 harmonic amplitudes of a 220 Hz tone
with the MSS loss and Adam (bench/WORKLOADS.md, W1).

Target and model are the harmonic bank of section 0.4, Nyquist rule included
(as weft's harmonic node does): harmonics 37..50 of 220 Hz reach 8 kHz, so
they are silenced in both and their amplitudes get no gradient and stay at
0.1. max_amp_error is WORKLOADS' max over all 50 (so at least 0.0865);
max_amp_error_audible, over the 36 audible ones, says how well the fit went."""

import statistics
import time

import numpy as np
import torch

from common import MSS, emit_times, emit_value, harmonic_bank, nyquist_mask, phase_cycles, two_pi_k

SR, N, K, F0 = 16000, 16000, 50, 220.0
STEPS, RUNS, WARMUP_STEPS = 500, 5, 20

c = phase_cycles(np.full(N, F0, dtype=np.float32), SR)
tpk = two_pi_k(K)
mask = nyquist_mask([F0], K, SR)[0]
true_amps = torch.from_numpy((0.5 / np.arange(1, K + 1)).astype(np.float32))
with torch.no_grad():
    mss = MSS(harmonic_bank(c, true_amps * mask, tpk))


def fresh():
    a = torch.full((K,), 0.1, dtype=torch.float32, requires_grad=True)
    return a, torch.optim.Adam([a], lr=0.01)


def fit(a, opt, steps, losses=None):
    for _ in range(steps):
        opt.zero_grad()
        loss = mss(harmonic_bank(c, a * mask, tpk))
        loss.backward()
        opt.step()
        if losses is not None:
            losses.append(loss.item())


fit(*fresh(), WARMUP_STEPS)
totals = []
for _ in range(RUNS):
    a, opt = fresh()
    t0 = time.perf_counter()
    fit(a, opt, STEPS)
    totals.append(time.perf_counter() - t0)

with torch.no_grad():
    final_loss = mss(harmonic_bank(c, a * mask, tpk)).item()
    amp_error = (a - true_amps).abs()

emit_times("W1", "pytorch", "ms_per_step", [t / STEPS for t in totals])
emit_times("W1", "pytorch", "total_s", totals, unit="s", scale=1.0)
emit_value("W1", "pytorch", "final_loss", final_loss)
emit_value("W1", "pytorch", "max_amp_error", amp_error.max())
emit_value("W1", "pytorch", "max_amp_error_audible", amp_error[mask > 0].max())

# The fit once more, untimed, for the median loss of its last 100 steps
# (bench/WORKLOADS.md W1: the fit does not settle).
losses = []
fit(*fresh(), STEPS, losses)
emit_value("W1", "pytorch", "median_loss_last100", statistics.median(losses[-100:]))
