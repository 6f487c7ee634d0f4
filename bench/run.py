#!/usr/bin/python3
"""Runs weft's benchmark programs and their peers (PyTorch, numpy, scipy,
Faust) for the workloads of bench/WORKLOADS.md, one after the other, and
prints each workload's figures with weft's speed-up over every peer, taken
from the medians of this same run.

    /usr/bin/python3 bench/run.py [--build build] [--only W1,W3,W6] [--json out.jsonl]
                                  [--recordings DIR] [--rounds K] [--w7-starts K]

With --rounds K every workload but W7 runs K times, its programs taking turns
(weft, peers, weft, peers, ...), and each speed-up is the median of the K
ratios taken round by round, which a machine whose speed drifts moves far
less than one round's ratio. With --w7-starts K each W7 fit runs from K
starts (W7's, then K-1 moved by one float32 ulp) and the runner compares
the two sides' mean final loss over them.

Every program prints one JSON object per figure on stdout; see bench/README.md."""

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PYTHON = "/usr/bin/python3"
WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")
RECORDINGS = os.path.join(os.path.dirname(ROOT), "shared", "data", "recordings")

# Timing metrics that get a weft-vs-peer ratio, and whether higher is faster
# (samples_per_s would repeat x_realtime's ratio, so it gets none).
RATIO_METRICS = {"ms_per_step": False, "forward_ms": False, "forward_loss_ms": False,
                 "forward_backward_ms": False, "x_realtime": True}


def child_env():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    # A first touch of a 4 KiB page is unusually slow on this VM, so PyTorch,
    # which maps fresh memory for every large temporary, spends most of W5a in
    # page faults. Transparent huge pages for malloc'd blocks (what numpy and
    # newer PyTorch request themselves) remove that cost; every program,
    # weft's included, runs with the same setting.
    tunables = [t for t in env.get("GLIBC_TUNABLES", "").split(":") if t]
    env["GLIBC_TUNABLES"] = ":".join(tunables + ["glibc.malloc.hugetlb=1"])
    return env


def build_faust(build_dir):
    """Builds the Faust peers; returns their folder, or None with a note."""
    missing = [tool for tool in ("faust", "gcc") if not shutil.which(tool)]
    if missing:
        print(f"note: {', '.join(missing)} not found, skipping the Faust peers", file=sys.stderr)
        return None
    out = os.path.join(build_dir, "bench-faust")
    subprocess.run(["sh", os.path.join(BENCH, "faust", "build.sh"), out], check=True)
    return out


def programs(workload, build_dir, faust_dir):
    """(label, command) pairs for one workload, weft's first; None = missing."""
    weft = os.path.join(build_dir, "bench", workload.lower())
    progs = [(f"weft {workload}", [weft] if os.access(weft, os.X_OK) else None),
             (f"peers {workload}", [PYTHON, os.path.join(BENCH, "torch", workload.lower() + ".py")])]
    if workload == "W5" and faust_dir:
        progs += [(f"faust {part}", [os.path.join(faust_dir, part)]) for part in ("w5a", "w5b")]
    return progs


def run(label, cmd, env):
    """Runs one program; returns its records, or None if it failed."""
    print(f"running {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    records = []
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            print(f"  {label}: {line}", file=sys.stderr)
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"error: {label} printed bad JSON ({e}): {line}", file=sys.stderr)
            return None
        if not {"workload", "impl", "metric"} <= rec.keys() or not ("value" in rec or "median" in rec):
            print(f"error: {label} printed an incomplete record: {line}", file=sys.stderr)
            return None
        records.append(rec)
    if proc.returncode != 0:
        print(f"error: {label} exited with status {proc.returncode}", file=sys.stderr)
        return None
    if not records:
        print(f"error: {label} printed no figures", file=sys.stderr)
        return None
    return records


def w7_programs(build_dir, recordings, work, starts):
    """W7's (label, command) pairs: per recording, the inputs (YIN f0, the
    padded target, the initial IR, the start values), then for each start
    each model on each side back to back, weft first; None = a missing weft."""
    weft = os.path.join(build_dir, "weft")
    weft_ok = os.access(weft, os.X_OK)
    peer = os.path.join(BENCH, "torch", "w7.py")
    progs = []
    for rec in sorted(glob.glob(os.path.join(recordings, "*_16k.wav"))):
        name = os.path.basename(rec)[:-len("_16k.wav")]
        d = os.path.join(work, name)
        progs.append((f"inputs W7 {name}", [PYTHON, peer, "prepare", rec, d]))
        for s in range(starts):
            if s > 0:
                progs.append((f"inputs W7 {name} start {s}", [PYTHON, peer, "start", d, str(s)]))
            for model in ("hn", "nr"):
                progs.append((f"weft W7 {name} {model} start {s}",
                              [PYTHON, os.path.join(BENCH, "w7", "fit.py"), weft, d, model]
                              if weft_ok else None))
                progs.append((f"peers W7 {name} {model} start {s}",
                              [PYTHON, peer, "fit", d, model]))
    return progs


def report_w7(recs):
    """Per recording and model: MSS at init and after 400 updates on each
    side from start 0, the 400-step times and weft's speed-up; with more
    starts, each side's mean and spread of MSS@400 over them and the
    difference of the means with its standard error; then the summed times
    of all fits."""
    fits = {}
    for r in recs:
        key = (r["recording"], r["model"])
        fits.setdefault(key, {}).setdefault(r.get("start", 0), {})[(r["impl"], r["metric"])] = \
            r["value"]
    need = [(i, m) for i in ("weft", "pytorch") for m in ("mss_at_init", "mss_at_400", "fit_s")]
    complete = {key: {s: v for s, v in by_start.items() if all(k in v for k in need)}
                for key, by_start in fits.items()}
    print("\n== W7 ==")
    print(f"{'recording':<24} {'model':<5} {'mss0 weft':>10} {'mss0 torch':>10} "
          f"{'mss400 weft':>11} {'mss400 torch':>12} {'diff':>7} "
          f"{'weft s':>8} {'torch s':>8} {'speed-up':>8}")
    for (name, model), by_start in complete.items():
        if 0 not in by_start:
            print(f"{name:<24} {model:<5} (incomplete: one side failed)")
            continue
        v = by_start[0]
        w, t = v[("weft", "mss_at_400")], v[("pytorch", "mss_at_400")]
        tw, tt = v[("weft", "fit_s")], v[("pytorch", "fit_s")]
        print(f"{name:<24} {model:<5} {fmt(v[('weft', 'mss_at_init')]):>10} "
              f"{fmt(v[('pytorch', 'mss_at_init')]):>10} {fmt(w):>11} {fmt(t):>12} "
              f"{100 * (w - t) / t:>+6.2f}% {tw:>8.2f} {tt:>8.2f} {tt / tw:>7.2f}x")
    if any(len(by_start) > 1 for by_start in complete.values()):
        print(f"\nMSS@400 over starts (start 0 and starts moved by an ulp): mean and standard "
              f"deviation per side, difference of the means relative to pytorch's, and twice "
              f"its standard error")
        print(f"{'recording':<24} {'model':<5} {'starts':>6} {'weft mean':>10} {'weft sd':>8} "
              f"{'torch mean':>10} {'torch sd':>8} {'diff':>7} {'2 se':>6}")
        for (name, model), by_start in complete.items():
            if len(by_start) < 2:
                continue
            w = [v[("weft", "mss_at_400")] for v in by_start.values()]
            t = [v[("pytorch", "mss_at_400")] for v in by_start.values()]
            mw, mt = statistics.mean(w), statistics.mean(t)
            sw, st = statistics.stdev(w), statistics.stdev(t)
            se = (sw * sw / len(w) + st * st / len(t)) ** 0.5
            print(f"{name:<24} {model:<5} {len(w):>6} {fmt(mw):>10} {fmt(sw):>8} {fmt(mt):>10} "
                  f"{fmt(st):>8} {100 * (mw - mt) / mt:>+6.2f}% {200 * se / mt:>5.2f}%")
    total = {impl: sum(v[(impl, "fit_s")] for by_start in complete.values()
                       for v in by_start.values()) for impl in ("weft", "pytorch")}
    n = sum(len(by_start) for by_start in complete.values())
    if total["weft"] > 0:
        print(f"summed 400-step times of {n} fits: weft {total['weft']:.2f} s, "
              f"pytorch {total['pytorch']:.2f} s: "
              f"weft is {total['pytorch'] / total['weft']:.2f}x faster than pytorch")


def fmt(x):
    return f"{x:.4g}"


def speedups(recs, metric):
    """weft's speed-up over each peer on metric, from the medians of recs."""
    med = {r["impl"]: r["median"] for r in recs if r["metric"] == metric}
    if "weft" not in med:
        return {}
    return {impl: (med["weft"] / peer if RATIO_METRICS[metric] else peer / med["weft"])
            for impl, peer in med.items() if impl != "weft"}


def merge_rounds(recs):
    """One record per (impl, metric): the median over rounds of the medians
    (min of the minima, max of the maxima), or the first round's value."""
    groups = {}
    for r in recs:
        groups.setdefault((r["impl"], r["metric"]), []).append(r)
    out = []
    for group in groups.values():
        r = dict(group[0])
        if "median" in r and len(group) > 1:
            r["median"] = statistics.median(g["median"] for g in group)
            r["min"] = min(g["min"] for g in group)
            r["max"] = max(g["max"] for g in group)
        out.append(r)
    return out


def report(records):
    by_workload = {}
    for rec in records:
        by_workload.setdefault(rec["workload"], []).append(rec)
    for workload, recs in by_workload.items():
        if workload == "W7":
            report_w7(recs)
            continue
        rounds = sorted({r.get("round", 0) for r in recs})
        merged = merge_rounds(recs)
        mw = max(len("metric"), *(len(r["metric"]) for r in merged))
        iw = max(len("impl"), *(len(r["impl"]) for r in merged))
        print(f"\n== {workload} ==" + (f" ({len(rounds)} rounds: medians of the rounds' medians)"
                                         if len(rounds) > 1 else ""))
        print(f"{'metric':<{mw}} {'impl':<{iw}} {'median':>11} {'min':>11} {'max':>11}  unit")
        metrics = list(dict.fromkeys(r["metric"] for r in merged))
        for metric in metrics:
            for r in (r for r in merged if r["metric"] == metric):
                if "median" in r:
                    nums = f"{fmt(r['median']):>11} {fmt(r['min']):>11} {fmt(r['max']):>11}"
                    print(f"{metric:<{mw}} {r['impl']:<{iw}} {nums}  {r.get('unit', '')}")
                else:
                    print(f"{metric:<{mw}} {r['impl']:<{iw}} {fmt(r['value']):>11}")
        for metric in (m for m in metrics if m in RATIO_METRICS):
            per_round = [speedups([r for r in recs if r.get("round", 0) == k], metric)
                         for k in rounds]
            for impl in per_round[0]:
                ratios = [sp[impl] for sp in per_round if impl in sp]
                speedup = statistics.median(ratios)
                by_round = (" (rounds: " + " ".join(f"{x:.2f}" for x in ratios) + ")"
                            if len(ratios) > 1 else "")
                if speedup >= 1:
                    print(f"weft is {speedup:.2f}x faster than {impl} on {metric}{by_round}")
                else:
                    print(f"weft is {1 / speedup:.2f}x slower than {impl} on {metric}{by_round}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="meson build folder (default: build)")
    ap.add_argument("--only", default=",".join(WORKLOADS),
                    help="comma-separated workloads to run (default: W1,W2,W3,W4,W5,W6,W7)")
    ap.add_argument("--recordings", default=RECORDINGS,
                    help="W7's folder of *_16k.wav recordings (default: ../shared/data/recordings "
                         "beside the repository)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON lines to FILE")
    ap.add_argument("--rounds", type=int, default=1, metavar="K",
                    help="run every workload but W7 K times, its programs taking turns, and take "
                         "each speed-up as the median of the rounds' ratios (default: 1)")
    ap.add_argument("--w7-starts", type=int, default=1, metavar="K",
                    help="fit each W7 model from K starts: W7's, and K-1 with every start value "
                         "moved by one float32 ulp, and compare the sides' mean MSS@400 over them "
                         "(default: 1)")
    args = ap.parse_args()

    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown or not selected:
        ap.error(f"unknown workload {', '.join(unknown) or '(none)'}; choose from {', '.join(WORKLOADS)}")
    build_dir = os.path.abspath(args.build)
    env = child_env()

    failed, records = [], []
    faust_dir = None
    if "W5" in selected:
        try:
            faust_dir = build_faust(build_dir)
        except subprocess.CalledProcessError:
            failed.append("faust build")
    work = tempfile.TemporaryDirectory(prefix="weft-w7-")
    for workload in selected:
        if workload == "W7":
            if not glob.glob(os.path.join(args.recordings, "*_16k.wav")):
                print(f"note: W7 skipped: no *_16k.wav recordings in {args.recordings}",
                      file=sys.stderr)
                continue
            progs = w7_programs(build_dir, args.recordings, work.name, max(1, args.w7_starts))
        else:
            progs = programs(workload, build_dir, faust_dir)
        rounds = 1 if workload == "W7" else max(1, args.rounds)
        for k, (label, cmd) in ((k, p) for k in range(rounds) for p in progs):
            if cmd is None:
                missing = "weft" if workload == "W7" else os.path.join("bench", workload.lower())
                print(f"note: {label} skipped: no {os.path.join(args.build, missing)}",
                      file=sys.stderr)
                continue
            if label.startswith("inputs "):
                print(f"running {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
                if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
                    failed.append(label)
                continue
            recs = run(label, cmd, env)
            if recs is None:
                failed.append(label)
            else:
                for r in recs:
                    r["round"] = k
                records += recs
    work.cleanup()

    report(records)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        os.replace(tmp, args.json)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
