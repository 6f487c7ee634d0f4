#!/usr/bin/python3
"""Pitch tracking time per second of audio beside bench/pitch.c: the same
10 s harmonic glide at 16 kHz through torchaudio.functional.
detect_pitch_frequency (normalised cross-correlation with median smoothing,
its defaults: 10 ms frames, 30-frame median window, 85-3400 Hz), and
librosa.yin / librosa.pyin when librosa is installed. 2 threads; median of 5
runs after a warm-up; JSON lines like bench.h's."""
import json
import math
import time

import numpy as np
import torch
import torchaudio.functional as AF

SR, SECONDS, RUNS = 16000, 10, 5
torch.set_num_threads(2)


def signal():
    t = np.arange(SR * SECONDS) / SR
    f = 200 * 2 ** (0.5 + 0.5 * np.sin(2 * math.pi * 0.2 * t))
    ph = np.concatenate([[0], np.cumsum(2 * math.pi * f / SR)[:-1]])
    return (0.3 * (np.sin(ph) + 0.5 * np.sin(2 * ph) + 0.25 * np.sin(3 * ph))).astype(np.float32)


def timing(impl, metric, fn):
    fn()
    t = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) / SECONDS)
    t.sort()
    print(json.dumps({"workload": "pitch", "impl": impl, "metric": metric, "median": t[RUNS // 2],
                      "min": t[0], "max": t[-1], "unit": "s/s"}), flush=True)


def main():
    x = signal()
    xt = torch.from_numpy(x)
    timing("torchaudio", "detect_pitch_frequency_100hz_s_per_audio_s",
           lambda: AF.detect_pitch_frequency(xt, SR))
    try:
        import librosa
    except ImportError:
        print(json.dumps({"workload": "pitch", "impl": "librosa", "note": "librosa is not installed"}))
        return
    timing("librosa", "yin_100hz_s_per_audio_s",
           lambda: librosa.yin(x, fmin=65, fmax=2100, sr=SR, frame_length=1024, hop_length=160))
    timing("librosa", "pyin_100hz_s_per_audio_s",
           lambda: librosa.pyin(x, fmin=65, fmax=2100, sr=SR, frame_length=1024, hop_length=160))


if __name__ == "__main__":
    main()
