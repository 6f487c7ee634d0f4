#!/usr/bin/python3
"""W7 real-recording fits, PyTorch peer (bench/WORKLOADS.md, W7).

    w7.py prepare REC.wav DIR    YIN f0, the padded target, the initial IR and
                                 the start values, written into DIR for both sides
    w7.py start DIR S            rewrite DIR's start values for start S
    w7.py fit DIR hn|nr          the 400-step fit of one model on DIR's inputs

`prepare` writes DIR/target.wav (the recording zero-padded to Np samples,
16-bit, so that int16/32768 reads back exactly), DIR/f0.npy ([F, 1] float32,
the per-frame f0 that weft's patch reads as a fixed param), DIR/h.npy (the
NR model's initial IR, [8000] float32) and the start values of A_raw and
M_raw, DIR/A0.npy [F, 60] and DIR/M0.npy [F, 65]. Start 0 is W7's (every
value -5); start S > 0 moves every value of A_raw and M_raw one float32 ulp
up or down, the direction from the sign of U(1000 + S) (A_raw, row-major)
and U(2000 + S) (M_raw): a perturbation far below anything a fit should
notice, which measures how much a fit's final loss depends on its roundings.
`fit` reads those same files, so both sides fit from identical values; it
prints the figures as JSON lines, each with the recording's name, the model
and the start."""

import os
import sys
import time
import wave

import numpy as np
import torch

from common import MSS, U, emit, filtered_noise, harmonic_bank, interp, nyquist_mask, \
    phase_cycles, reverb, two_pi_k

SR, HOP, K, B, IR, STEPS, LR = 16000, 64, 60, 65, 8000, 400, 0.05
RECORD_AT = (100, 200)


def read_wav16(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != SR:
            sys.exit(f"w7: {path}: need mono 16-bit {SR} Hz")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm


def yin(x):
    """Plain YIN per frame (W7 f0), in float64: frame f analyses
    x[64f - 512 + j], j < 1426, window 1024, lags 0..401."""
    W, TMAX, LO, HI, THRESH = 1024, 401, 8, 400, 0.15
    n = len(x)
    F = -(-n // HOP)
    pad = np.zeros(512 + F * HOP + W + TMAX + 1)
    pad[512:512 + n] = x
    idx = np.arange(F)[:, None] * HOP + np.arange(W + TMAX + 1)[None, :]
    s = pad[idx]                                   # [F, 1426]: s_f[j] = x[64f - 512 + j]
    d = np.empty((F, TMAX + 1))
    for tau in range(TMAX + 1):
        diff = s[:, :W] - s[:, tau:tau + W]
        d[:, tau] = np.einsum("ij,ij->i", diff, diff)
    csum = np.cumsum(d[:, 1:], axis=1)             # sum_{j=1..tau} d(j), tau = 1..401
    dn = np.ones_like(d)
    tau = np.arange(1, TMAX + 1)[None, :]
    ok = csum > 0
    dn[:, 1:] = np.where(ok, d[:, 1:] * tau / np.where(ok, csum, 1.0), 1.0)
    f0 = np.full(F, np.nan)
    for f in range(F):
        below = np.nonzero(dn[f, LO:HI + 1] < THRESH)[0]
        if len(below) == 0:
            continue
        t = LO + int(below[0])
        # walk down to the local minimum; the walk stops at 400 so that the
        # parabola's third point d'(t + 1) is always inside the lags 0..401
        while t < HI and dn[f, t + 1] < dn[f, t]:
            t += 1
        a, b, c = dn[f, t - 1], dn[f, t], dn[f, t + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den > 0 else 0.0
        f0[f] = min(max(SR / (t + shift), 40.0), 2000.0)
    voiced = np.nonzero(~np.isnan(f0))[0]
    if len(voiced) == 0:
        return np.full(F, 100.0)
    f0[:voiced[0]] = f0[voiced[0]]
    for f in range(voiced[0] + 1, F):              # unvoiced: the previous voiced f0
        if np.isnan(f0[f]):
            f0[f] = f0[f - 1]
    return f0


def initial_ir():
    """h[0] = 1, h[n] = (0.01f*u)*expf(-(float)n/1600.0f), in float32."""
    n = np.arange(IR, dtype=np.float32)
    arg = -n / np.float32(1600.0)                  # float32 division, as in C
    h = (np.float32(0.01) * U(1, IR)) * np.exp(arg.astype(np.float64)).astype(np.float32)
    h[0] = 1.0
    return h.astype(np.float32)


def start(work, s):
    F = np.load(os.path.join(work, "f0.npy")).shape[0]
    for name, width, stream in (("A0", K, 1000), ("M0", B, 2000)):
        v = np.full((F, width), -5.0, dtype=np.float32)
        if s > 0:
            up = U(stream + s, F * width).reshape(F, width) >= 0
            v = np.where(up, np.nextafter(v, np.float32(np.inf)),
                         np.nextafter(v, np.float32(-np.inf))).astype(np.float32)
        np.save(os.path.join(work, name + ".npy"), v)
    with open(os.path.join(work, "start"), "w") as f:
        f.write(f"{s}\n")


def prepare(rec, out):
    os.makedirs(out, exist_ok=True)
    pcm = read_wav16(rec)
    F = -(-len(pcm) // HOP)
    padded = np.zeros(F * HOP, dtype="<i2")
    padded[:len(pcm)] = pcm
    with wave.open(os.path.join(out, "target.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(padded.tobytes())
    f0 = yin(pcm.astype(np.float64) / 32768.0)
    np.save(os.path.join(out, "f0.npy"), f0.astype(np.float32)[:, None])
    np.save(os.path.join(out, "h.npy"), initial_ir())
    start(out, 0)


def exp_sigmoid(x):
    return 2.0 * torch.sigmoid(x) ** float(np.log(10.0)) + 1e-7


def fit(work, model):
    name = os.path.basename(os.path.normpath(work))
    t = torch.from_numpy(read_wav16(os.path.join(work, "target.wav")).astype(np.float32) / 32768)
    f0 = np.load(os.path.join(work, "f0.npy"))[:, 0]
    F, Np = len(f0), len(t)
    assert Np == F * HOP, (Np, F)
    noise = torch.from_numpy(U(0, Np))
    mss = MSS(t)
    with open(os.path.join(work, "start")) as f:
        start_no = int(f.read())
    M_raw = torch.from_numpy(np.load(os.path.join(work, "M0.npy"))).requires_grad_()
    if model == "hn":
        c = phase_cycles(interp(torch.from_numpy(f0), HOP).numpy(), SR)
        tpk, mask = two_pi_k(K), nyquist_mask(f0, K, SR)
        A_raw = torch.from_numpy(np.load(os.path.join(work, "A0.npy"))).requires_grad_()
        learn = [A_raw, M_raw]

        def forward():
            harm = harmonic_bank(c, interp(exp_sigmoid(A_raw) * mask, HOP), tpk)
            return harm + filtered_noise(noise, exp_sigmoid(M_raw), HOP)
    else:
        h = torch.from_numpy(np.load(os.path.join(work, "h.npy"))).requires_grad_()
        learn = [M_raw, h]

        def forward():
            return reverb(filtered_noise(noise, exp_sigmoid(M_raw), HOP), h)

    opt = torch.optim.Adam(learn, lr=LR)
    losses = {}
    t0 = time.perf_counter()
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = mss(forward())
        loss.backward()
        opt.step()
        if step == 0 or step in RECORD_AT:
            losses[step] = loss.item()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        losses[STEPS] = mss(forward()).item()

    def value(metric, v):
        emit("W7", "pytorch", metric, value=float(v), recording=name, model=model.upper(),
             start=start_no)
    value("mss_at_init", losses[0])
    for s in RECORD_AT + (STEPS,):
        value(f"mss_at_{s}", losses[s])
    value("fit_s", seconds)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "start" and sys.argv[3].isdigit():
        start(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "fit" and sys.argv[3] in ("hn", "nr"):
        fit(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
