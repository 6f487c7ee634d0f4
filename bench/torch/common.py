"""Shared pieces of the PyTorch peer benchmarks (bench/WORKLOADS.md section 0):
portable random numbers, the multi-scale spectral loss, frame-to-audio
interpolation, the harmonic bank, DDSP filtered noise, FFT reverb, timing and
the JSON-lines output that bench/run.py pairs with weft's programs."""

import json
import time

import numpy as np
import torch

torch.set_num_threads(2)

F32 = torch.float32


def splitmix_u64(seed, n):
    """Values 0..n-1 of splitmix64 stream `seed` in counter form (uint64 wraps)."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def U(seed, n):
    """n float32 uniforms in [-1, 1) from stream `seed` (exact: 24-bit mantissa)."""
    top = (splitmix_u64(seed, n) >> np.uint64(40)).astype(np.float64)
    return (top * 2.0**-23 - 1.0).astype(np.float32)


def _self_check():
    z = splitmix_u64(0, 2)
    assert int(z[0]) == 0xE220A8397B1DCDAF and int(z[1]) == 0x6E789E6AA1B965F4, z
    want = np.array([0.76662159, -0.13694406, -0.94713247, 0.94176388])
    assert np.allclose(U(0, 4), want, rtol=0, atol=1e-8), U(0, 4)


_self_check()

MSS_SIZES = (2048, 1024, 512, 256, 128, 64)


class MSS:
    """Multi-scale spectral loss against a fixed target whose spectra (and
    their logs) are computed here, once, outside any timed region."""

    def __init__(self, target):
        self.windows = {n: torch.hann_window(n, periodic=True, dtype=F32) for n in MSS_SIZES}
        with torch.no_grad():
            self.target = {}
            for n in MSS_SIZES:
                s = self.spectrum(target, n)
                self.target[n] = (s, torch.log(s + 1e-7))

    def spectrum(self, x, n):
        return torch.stft(x, n_fft=n, hop_length=n // 4, win_length=n,
                          window=self.windows[n], center=False, onesided=True,
                          return_complex=True).abs()

    def __call__(self, x):
        loss = 0.0
        for n in MSS_SIZES:
            s = self.spectrum(x, n)
            s_t, log_t = self.target[n]
            loss = loss + (s - s_t).abs().mean() + (torch.log(s + 1e-7) - log_t).abs().mean()
        return loss


def interp(v, hop):
    """Linear frame-to-audio interpolation (0.3) of v [F] or [F, K]; the last
    frame ramps toward itself."""
    t = torch.arange(hop, dtype=F32) / hop
    nxt = torch.cat([v[1:], v[-1:]])
    if v.dim() == 1:
        return (v[:, None] * (1 - t) + nxt[:, None] * t).reshape(-1)
    t = t[None, :, None]
    return (v[:, None, :] * (1 - t) + nxt[:, None, :] * t).reshape(-1, v.shape[1])


def phase_cycles(f0_audio, sr):
    """Exclusive running phase in cycles (0.4): summed in float64, wrapped to
    [0, 1) and only then rounded to float32, so long signals do not drift."""
    s = np.cumsum(np.asarray(f0_audio, dtype=np.float64) / sr)
    c = np.concatenate([[0.0], s[:-1]])
    return torch.from_numpy((c - np.floor(c)).astype(np.float32))


def two_pi_k(K):
    return torch.from_numpy((2 * np.pi * np.arange(1, K + 1)).astype(np.float32))


def nyquist_mask(f0_frames, K, sr):
    """1 where harmonic k of the frame's f0 lies below the Nyquist, else 0."""
    k = np.arange(1, K + 1)
    f0 = np.asarray(f0_frames, dtype=np.float64)
    return torch.from_numpy((k[None, :] * f0[:, None] < sr / 2).astype(np.float32))


def harmonic_bank(c, amps, tpk):
    """y[n] = sum_k amps[(n,) k] sin(2 pi k c[n]); amps is [K] (constant) or [N, K]."""
    sines = torch.sin(c[:, None] * tpk[None, :])
    if amps.dim() == 1:
        return sines @ amps
    return (sines * amps).sum(dim=1)


def filtered_noise(noise, mags, hop=64):
    """DDSP filtered noise (0.5): per-frame zero-phase FIR from the band
    magnitudes, windowed, FFT-convolved with the frame and overlap-added."""
    F, B = mags.shape
    L = 2 * (B - 1)
    nfft = 256
    H = torch.fft.irfft(mags, n=L)
    h = torch.roll(H, L // 2, dims=-1) * torch.hann_window(L, periodic=True, dtype=F32)
    frames = noise.reshape(F, hop)
    y = torch.fft.irfft(torch.fft.rfft(frames, n=nfft) * torch.fft.rfft(h, n=nfft), n=nfft)
    z = torch.nn.functional.fold(y.t()[None], output_size=(1, (F - 1) * hop + nfft),
                                 kernel_size=(1, nfft), stride=(1, hop)).reshape(-1)
    start = (L - 1) // 2 - 1
    return z[start:start + F * hop]


def reverb(x, ir):
    """Linear convolution truncated to len(x), through one real FFT (0.6)."""
    N = x.shape[0]
    nfft = 1 << (N + ir.shape[0] - 2).bit_length()
    return torch.fft.irfft(torch.fft.rfft(x, n=nfft) * torch.fft.rfft(ir, n=nfft), n=nfft)[:N]


def time_reps(fn, reps=7, warmup=2):
    """Wall-clock seconds of `reps` calls of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def emit(workload, impl, metric, **fields):
    print(json.dumps({"workload": workload, "impl": impl, "metric": metric, **fields}), flush=True)


def emit_value(workload, impl, metric, value):
    emit(workload, impl, metric, value=float(value))


def emit_times(workload, impl, metric, seconds, unit="ms", scale=1e3):
    s = sorted(x * scale for x in seconds)
    emit(workload, impl, metric, median=float(np.median(s)), min=s[0], max=s[-1], unit=unit)


def emit_render_rate(workload, impl, seconds, n_samples, duration_s):
    """samples/s and x-realtime; the median is 1/median time, min and max come
    from the slowest and fastest render."""
    med, lo, hi = float(np.median(seconds)), min(seconds), max(seconds)
    emit(workload, impl, "samples_per_s", median=n_samples / med, min=n_samples / hi,
         max=n_samples / lo, unit="samples/s")
    emit(workload, impl, "x_realtime", median=duration_s / med, min=duration_s / hi,
         max=duration_s / lo, unit="x")
