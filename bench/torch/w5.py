#!/usr/bin/python3
"""W5 render, PyTorch / numpy / scipy peers (bench/WORKLOADS.md, W5):
(a) 64 summed sines at 48 kHz for 10 s, (b) 8 cascaded RBJ lowpass biquads
over 10 s of noise. Forward only; each timed call turns precomputed inputs
into the 480000-sample float32 output."""

import numpy as np
import scipy.signal
import torch
import torchaudio.functional

from common import U, emit_render_rate, emit_value, time_reps

SR, N = 48000, 480000
DURATION = N / SR

# (a) The oscillators get their audio-rate frequencies as a [N, 64] float64
# input, as a DDSP synth would, so the float64 running phase sum is timed.
freqs = 100.0 * 1.05 ** np.arange(64)
inc64 = np.ascontiguousarray(np.broadcast_to(freqs / SR, (N, 64)))
gains = np.full(64, 1 / 64, dtype=np.float32)
inc64_t, inc32_t, gains_t = (torch.from_numpy(inc64), torch.from_numpy(inc64.astype(np.float32)),
                             torch.from_numpy(gains))


def sines_torch():
    cs = torch.cumsum(inc64_t, 0) - inc64_t
    c = (cs - torch.floor(cs)).float()
    return torch.sin(c * np.float32(2 * np.pi)) @ gains_t


def sines_torch_naive():
    c = torch.cumsum(inc32_t, 0) - inc32_t
    return torch.sin(c * np.float32(2 * np.pi)) @ gains_t


def sines_numpy():
    cs = np.cumsum(inc64, axis=0) - inc64
    c = (cs - np.floor(cs)).astype(np.float32)
    return np.sin(c * np.float32(2 * np.pi)) @ gains


def sines_f64():
    """The exact signal, phase from n*f/sr rather than a running sum."""
    y = np.empty(N)
    for start in range(0, N, 48000):
        n = np.arange(start, min(start + 48000, N), dtype=np.float64)
        c = np.outer(n, freqs / SR)
        y[start:start + len(n)] = np.sin(2 * np.pi * (c - np.floor(c))).sum(axis=1) / 64
    return y


y_ref = sines_f64()
for impl, fn in (("pytorch", sines_torch), ("pytorch-naive", sines_torch_naive),
                 ("numpy", sines_numpy)):
    y = np.asarray(fn())
    assert y.dtype == np.float32 and y.shape == (N,)
    emit_render_rate("W5a", impl, time_reps(fn), N, DURATION)
    emit_value("W5a", impl, "max_abs_error", np.abs(y - y_ref).max())


def rbj_lowpass(fc, q=0.7071):
    """W3's RBJ lowpass (b, a), computed in float64, rounded to float32."""
    w0 = 2 * np.pi * fc / SR
    alpha = np.sin(w0) / (2 * q)
    a0 = 1 + alpha
    cw = np.cos(w0)
    b = np.array([(1 - cw) / 2, 1 - cw, (1 - cw) / 2]) / a0
    a = np.array([1.0, -2 * cw / a0, (1 - alpha) / a0])
    return b.astype(np.float32), a.astype(np.float32)


coefs = [rbj_lowpass(fc) for fc in range(500, 4001, 500)]
sos = np.array([np.concatenate([b, a]) for b, a in coefs], dtype=np.float32)
x = U(0, N)
x_t = torch.from_numpy(x)
coefs_t = [(torch.from_numpy(b), torch.from_numpy(a)) for b, a in coefs]


def biquads_torch():
    y = x_t
    for b, a in coefs_t:
        y = torchaudio.functional.lfilter(y, a, b, clamp=False)
    return y


def biquads_lfilter():
    y = x
    for b, a in coefs:
        y = scipy.signal.lfilter(b, a, y)
    return y


def biquads_sosfilt():
    return scipy.signal.sosfilt(sos, x)


# The float32 coefficients filtered in float64: measures only the float32
# arithmetic of each implementation, not the coefficient rounding.
y_ref = scipy.signal.sosfilt(sos.astype(np.float64), x.astype(np.float64))
for impl, fn in (("pytorch", biquads_torch), ("scipy-lfilter", biquads_lfilter),
                 ("scipy-sosfilt", biquads_sosfilt)):
    y = np.asarray(fn())
    assert y.dtype == np.float32 and y.shape == (N,)
    emit_render_rate("W5b", impl, time_reps(fn), N, DURATION)
    emit_value("W5b", impl, "max_abs_error", np.abs(y - y_ref).max())
