#!/usr/bin/env python3
"""Draws parex-reservoir's prediction against the truth: the test segment one step ahead and, for
Mackey-Glass, the first free run.

usage: plot_prediction.py DATA.csv OUT.png SUMMARY_JSON
DATA.csv has the columns segment,step,truth,prediction (segment: one-step or free-run); SUMMARY_JSON is
the object parex-reservoir run --json prints. OUT.png is written as PNG whatever its name
(parex-reservoir passes its own temporary file, which it renames when this succeeds).
"""
import csv
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(data_csv, out_png, summary_json):
    summary = json.loads(summary_json)
    segments = {}
    with open(data_csv, newline="") as f:
        for row in csv.DictReader(f):
            s = segments.setdefault(row["segment"], ([], [], []))
            s[0].append(int(row["step"]))
            s[1].append(float(row["truth"]))
            s[2].append(float(row["prediction"]))
    panels = [name for name in ("one-step", "free-run") if name in segments]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.5 * len(panels)), constrained_layout=True, squeeze=False)
    title = f"{summary['model']} of {summary['units']} units on {summary['task']}: one-step NRMSE {summary['nrmse']:.3g}"
    if "nrmse_84" in summary:
        title += f", NRMSE at 84 steps {summary['nrmse_84']:.3g}"
    fig.suptitle(title + " (parex-reservoir)")
    for ax, name in zip(axes[:, 0], panels):
        steps, truth, prediction = segments[name]
        shown = min(len(steps), 500)  # the first 500 steps: a readable trace
        ax.plot(steps[:shown], truth[:shown], color="black", linewidth=1.2, label="truth")
        ax.plot(steps[:shown], prediction[:shown], color="tab:red", linewidth=0.9, linestyle="--", label="prediction")
        ax.set_xlabel("step ahead" if name == "free-run" else "test step")
        ax.set_ylabel("target")
        ax.set_title("free run, prediction fed back as input" if name == "free-run" else "one step ahead, teacher forced")
        ax.legend(loc="upper right")
    fig.savefig(out_png, format="png", dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
