#!/usr/bin/python3
"""W2 ddsp-synth, PyTorch peer: one forward (and backward) of a DDSP
harmonic-plus-noise synth with a learnable reverb, against a fixed target
(bench/WORKLOADS.md, W2)."""

import resource

import numpy as np
import torch

from common import (MSS, U, emit_times, emit_value, filtered_noise, harmonic_bank, interp,
                    nyquist_mask, phase_cycles, reverb, time_reps, two_pi_k)

SR, N, HOP, F, K, B, IR = 16000, 64000, 64, 1000, 100, 65, 16000
FRAME_RATE = SR / HOP

frames = np.arange(F)
f0 = (440.0 * 2.0 ** (0.02 * np.sin(2 * np.pi * 5 * frames / FRAME_RATE))).astype(np.float32)
c = phase_cycles(interp(torch.from_numpy(f0), HOP).numpy(), SR)
tpk = two_pi_k(K)
mask = nyquist_mask(f0, K, SR)
noise = torch.from_numpy(U(0, N))


def decaying_ir(seed, gain, tau):
    """gain * U(seed) * exp(-n/tau) with a unit first tap (float64, then float32)."""
    n = np.arange(IR)
    h = gain * U(seed, IR).astype(np.float64) * np.exp(-n / tau)
    h[0] = 1.0
    return torch.from_numpy(h.astype(np.float32))


def forward(A, Nm, h):
    harm = harmonic_bank(c, interp(A * mask, HOP), tpk)
    return reverb(harm + filtered_noise(noise, Nm, HOP), h)


k = np.arange(1, K + 1)
A_tgt = (0.1 / k[None, :]) * (0.75 + 0.25 * np.sin(2 * np.pi * frames[:, None] / FRAME_RATE))
Nm_tgt = 0.002 * (1.5 + 0.5 * U(2, F * B).astype(np.float64).reshape(F, B))
with torch.no_grad():
    mss = MSS(forward(torch.from_numpy(A_tgt.astype(np.float32)),
                      torch.from_numpy(Nm_tgt.astype(np.float32)), decaying_ir(3, 0.1, 1600)))

A = torch.full((F, K), 0.01, requires_grad=True)
Nm = torch.full((F, B), 0.001, requires_grad=True)
h = decaying_ir(1, 0.01, 3200).requires_grad_()


def run_forward():
    with torch.no_grad():
        forward(A, Nm, h)


def run_forward_loss():
    with torch.no_grad():
        mss(forward(A, Nm, h))


def run_forward_backward():
    A.grad = Nm.grad = h.grad = None
    mss(forward(A, Nm, h)).backward()


emit_times("W2", "pytorch", "forward_ms", time_reps(run_forward))
emit_times("W2", "pytorch", "forward_loss_ms", time_reps(run_forward_loss))
emit_times("W2", "pytorch", "forward_backward_ms", time_reps(run_forward_backward))
with torch.no_grad():
    emit_value("W2", "pytorch", "mss_at_init", mss(forward(A, Nm, h)).item())
emit_value("W2", "pytorch", "peak_rss_mb",
           resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
