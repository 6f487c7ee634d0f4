#!/usr/bin/python3
"""Runs weft's benchmark programs and their peers (PyTorch, numpy, scipy,
Faust) for the workloads of bench/WORKLOADS.md, one after the other, and
prints each workload's figures with weft's speed-up over every peer, taken
from the medians of this same run.

    /usr/bin/python3 bench/run.py [--build build] [--only W1,W3,W5] [--json out.jsonl]

Every program prints one JSON object per figure on stdout; see bench/README.md."""

import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PYTHON = "/usr/bin/python3"
WORKLOADS = ("W1", "W2", "W3", "W5")

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


def fmt(x):
    return f"{x:.4g}"


def report(records):
    by_workload = {}
    for rec in records:
        by_workload.setdefault(rec["workload"], []).append(rec)
    for workload, recs in by_workload.items():
        mw = max(len("metric"), *(len(r["metric"]) for r in recs))
        iw = max(len("impl"), *(len(r["impl"]) for r in recs))
        print(f"\n== {workload} ==")
        print(f"{'metric':<{mw}} {'impl':<{iw}} {'median':>11} {'min':>11} {'max':>11}  unit")
        metrics = list(dict.fromkeys(r["metric"] for r in recs))
        for metric in metrics:
            for r in (r for r in recs if r["metric"] == metric):
                if "median" in r:
                    nums = f"{fmt(r['median']):>11} {fmt(r['min']):>11} {fmt(r['max']):>11}"
                    print(f"{metric:<{mw}} {r['impl']:<{iw}} {nums}  {r.get('unit', '')}")
                else:
                    print(f"{metric:<{mw}} {r['impl']:<{iw}} {fmt(r['value']):>11}")
        for metric in (m for m in metrics if m in RATIO_METRICS):
            med = {r["impl"]: r["median"] for r in recs if r["metric"] == metric}
            if "weft" not in med:
                continue
            for impl, peer in med.items():
                if impl == "weft":
                    continue
                speedup = med["weft"] / peer if RATIO_METRICS[metric] else peer / med["weft"]
                if speedup >= 1:
                    print(f"weft is {speedup:.2f}x faster than {impl} on {metric}")
                else:
                    print(f"weft is {1 / speedup:.2f}x slower than {impl} on {metric}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="meson build folder (default: build)")
    ap.add_argument("--only", default=",".join(WORKLOADS),
                    help="comma-separated workloads to run (default: W1,W2,W3,W5)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON lines to FILE")
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
    for workload in selected:
        for label, cmd in programs(workload, build_dir, faust_dir):
            if cmd is None:
                print(f"note: {label} skipped: no {os.path.join(args.build, 'bench', workload.lower())}",
                      file=sys.stderr)
                continue
            recs = run(label, cmd, env)
            if recs is None:
                failed.append(label)
            else:
                records += recs

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
