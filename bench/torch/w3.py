#!/usr/bin/python3
"""W3 biquad fit, PyTorch peer (bench/WORKLOADS.md, W3): the cutoff and Q of
an RBJ lowpass, fc = exp(theta_f) and Q = exp(theta_q), learnt from ln 3000
and ln 2 against fc = 1000, Q = 0.7071 on 1 s of noise at 44.1 kHz, with the
MSS loss and Adam (lr 0.05), 200 steps. The coefficients are computed from
theta in every step and the filter is torchaudio's lfilter without its
clamp."""

import math
import time

import torch
import torchaudio.functional

from common import MSS, U, emit_times, emit_value

SR, N = 44100, 44100
STEPS, RUNS, WARMUP_STEPS = 200, 5, 5

x = torch.from_numpy(U(0, N))


def lowpass(tf, tq):
    """W3's RBJ lowpass (b, a) from theta, differentiably."""
    w0 = 2 * math.pi * torch.exp(tf) / SR
    alpha = torch.sin(w0) / (2 * torch.exp(tq))
    a0 = 1 + alpha
    cw = torch.cos(w0)
    b = torch.stack([(1 - cw) / 2, 1 - cw, (1 - cw) / 2]) / a0
    a = torch.stack([torch.ones_like(a0), -2 * cw / a0, (1 - alpha) / a0])
    return b, a


def render(tf, tq):
    b, a = lowpass(tf, tq)
    return torchaudio.functional.lfilter(x, a, b, clamp=False)


with torch.no_grad():
    mss = MSS(render(torch.tensor(math.log(1000.0)), torch.tensor(math.log(0.7071))))


def fresh():
    tf = torch.tensor(math.log(3000.0), dtype=torch.float32, requires_grad=True)
    tq = torch.tensor(math.log(2.0), dtype=torch.float32, requires_grad=True)
    return tf, tq, torch.optim.Adam([tf, tq], lr=0.05)


def fit(tf, tq, opt, steps, record=None):
    for _ in range(steps):
        opt.zero_grad()
        loss = mss(render(tf, tq))
        loss.backward()
        opt.step()
        if record is not None:
            record.append((math.exp(tf.item()), math.exp(tq.item())))


fit(*fresh(), WARMUP_STEPS)
totals = []
for _ in range(RUNS):
    tf, tq, opt = fresh()
    t0 = time.perf_counter()
    fit(tf, tq, opt, STEPS)
    totals.append(time.perf_counter() - t0)

with torch.no_grad():
    final_loss = mss(render(tf, tq)).item()

emit_times("W3", "pytorch", "ms_per_step", [t / STEPS for t in totals])
emit_value("W3", "pytorch", "final_fc", math.exp(tf.item()))
emit_value("W3", "pytorch", "final_q", math.exp(tq.item()))
emit_value("W3", "pytorch", "final_loss", final_loss)

# The fit once more, untimed, for the mean fc and Q over its last 50 steps
# (bench/WORKLOADS.md W3: Adam still swings them at step 200).
path = []
fit(*fresh(), STEPS, path)
emit_value("W3", "pytorch", "mean_fc_last50", sum(p[0] for p in path[-50:]) / 50)
emit_value("W3", "pytorch", "mean_q_last50", sum(p[1] for p in path[-50:]) / 50)
