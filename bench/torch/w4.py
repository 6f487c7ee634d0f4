#!/usr/bin/python3
"""W4 decoder step, PyTorch peer (bench/WORKLOADS.md, W4): one training step
of DDSP's RnnFcDecoder (3-layer Linear-LayerNorm-ReLU stacks on f0 and
loudness, a GRU of 256, the output stack and a 166-wide dense layer) driving
the harmonic + filtered-noise synth, batch 4 x 1000 frames, MSS loss over
the batch, Adam (lr 1e-3). Written as a PyTorch user writes it: nn.Linear,
nn.LayerNorm, nn.GRU(batch_first=True) over the whole batch, the synth of
common.py applied per item."""

import math
import resource
import time

import numpy as np
import torch
from torch import nn

from common import (MSS, U, emit, emit_times, emit_value, filtered_noise, harmonic_bank, interp,
                    nyquist_mask, phase_cycles, two_pi_k)

SR, N, HOP, F, K, B, H, BATCH = 16000, 64000, 64, 1000, 100, 65, 256, 4
WARMUP, TIMED = 2, 10

# inputs (float64 arithmetic, stored as float32)
r = U(4, 16).astype(np.float64)
t = np.arange(F) / 250.0
f0_hz = np.stack([220 * 2 ** (0.5 * r[4 * b]) * 2 ** (0.1 * np.sin(2 * np.pi * (1 + r[4 * b + 1]) * t))
                  for b in range(BATCH)]).astype(np.float32)
ld_db = np.stack([-30 + 15 * np.sin(2 * np.pi * 0.25 * (3 + r[4 * b + 2]) * t + np.pi * r[4 * b + 3])
                  for b in range(BATCH)]).astype(np.float32)
f0_scaled = torch.from_numpy(f0_hz / np.float32(2000))[..., None]
ld_scaled = torch.from_numpy(ld_db / np.float32(80) + np.float32(1))[..., None]
cycles = [phase_cycles(interp(torch.from_numpy(f0_hz[b]), HOP).numpy(), SR) for b in range(BATCH)]
masks = torch.stack([nyquist_mask(f0_hz[b], K, SR) for b in range(BATCH)])
tpk = two_pi_k(K)
noise = torch.from_numpy(U(6, BATCH * N).reshape(BATCH, N))
target = torch.from_numpy(np.float32(0.1) * U(5, BATCH * N).reshape(BATCH, N))
mss = MSS(target)


def mlp(n_in):
    layers = []
    for w_in in (n_in, H, H):
        layers += [nn.Linear(w_in, H), nn.LayerNorm(H, eps=1e-5), nn.ReLU()]
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.f0_mlp = mlp(1)
        self.ld_mlp = mlp(1)
        self.gru = nn.GRU(2 * H, H, batch_first=True)
        self.out_mlp = mlp(3 * H)
        self.dense = nn.Linear(H, 1 + K + B)

    def forward(self, f0s, lds):
        a, l = self.f0_mlp(f0s), self.ld_mlp(lds)
        rr = self.gru(torch.cat([a, l], dim=-1))[0]
        return self.dense(self.out_mlp(torch.cat([a, l, rr], dim=-1)))


def exp_sigmoid(x):
    return 2 * torch.sigmoid(x) ** math.log(10) + 1e-7


model = Decoder()
assert sum(p.numel() for p in model.parameters()) == 1231270
with torch.no_grad():
    for i, (name, p) in enumerate(model.named_parameters()):
        if p.dim() == 2:
            out, fan_in = p.shape
            p.copy_(torch.from_numpy(U(1000 + i, out * fan_in).reshape(out, fan_in)) / math.sqrt(fan_in))
        elif "bias" in name or "gru" in name:
            p.zero_()
        else:
            p.fill_(1.0)  # LayerNorm gains
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def synth(o):
    amp = exp_sigmoid(o[..., 0:1])
    hd = exp_sigmoid(o[..., 1:1 + K]) * masks
    hd = hd / hd.sum(dim=-1, keepdim=True)
    A = amp * hd
    mags = exp_sigmoid(o[..., 1 + K:] - 5)
    return torch.stack([harmonic_bank(cycles[b], interp(A[b], HOP), tpk)
                        + filtered_noise(noise[b], mags[b], HOP) for b in range(BATCH)])


def step():
    opt.zero_grad(set_to_none=True)
    loss = mss(synth(model(f0_scaled, ld_scaled)))
    loss.backward()
    opt.step()
    return loss.item()


losses, times = [], []
for s in range(WARMUP + TIMED):
    t0 = time.perf_counter()
    losses.append(step())
    if s >= WARMUP:
        times.append(time.perf_counter() - t0)
emit_times("W4", "pytorch", "ms_per_step", times)
emit("W4", "pytorch", "losses", value=losses[-1], values=losses)
emit_value("W4", "pytorch", "peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
