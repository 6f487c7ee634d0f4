#!/usr/bin/python3
"""W7 real-recording fits, weft's side (bench/WORKLOADS.md, W7): runs
`weft fit` on the patch hn.weft or nr.weft of this folder, copied beside the
inputs that `bench/torch/w7.py prepare` (and `start`) wrote into DIR, and
prints the figures from its --log as JSON lines, as bench/torch/w7.py does.

    fit.py WEFT DIR hn|nr

The log holds, per step, the loss before that step's update and the step's
wall time (forward, loss, backward and the Adam update); its last line is
the loss after the 400th update. fit_s sums the 400 steps' times, which is
the 400-step loop that the PyTorch side times."""

import csv
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, LR = 400, 0.05
RECORD_AT = (100, 200)


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("hn", "nr"):
        sys.exit(__doc__)
    weft, work, model = sys.argv[1:]
    name = os.path.basename(os.path.normpath(work))
    patch = os.path.join(work, model + ".weft")
    shutil.copyfile(os.path.join(HERE, model + ".weft"), patch)
    log = os.path.join(work, model + ".csv")
    subprocess.run([weft, "fit", patch, "--target", os.path.join(work, "target.wav"),
                    "--steps", str(STEPS), "--lr", str(LR), "--log", log, "-q",
                    "-o", os.path.join(work, model + ".fitted.weft")], check=True)
    with open(log) as f:
        rows = {int(r["step"]): r for r in csv.DictReader(f)}
    if sorted(rows) != list(range(STEPS + 1)):
        sys.exit(f"w7: {log}: expected steps 0..{STEPS}")

    with open(os.path.join(work, "start")) as f:
        start = int(f.read())

    def value(metric, v):
        print(json.dumps({"workload": "W7", "impl": "weft", "metric": metric, "value": v,
                          "recording": name, "model": model.upper(), "start": start}),
              flush=True)
    value("mss_at_init", float(rows[0]["loss"]))
    for s in RECORD_AT + (STEPS,):
        value(f"mss_at_{s}", float(rows[s]["loss"]))
    value("fit_s", sum(float(rows[s]["seconds"]) for s in range(STEPS)))


if __name__ == "__main__":
    main()
