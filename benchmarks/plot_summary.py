#!/usr/bin/env python3
"""Draws the main job's summary (parex-bench-report --json) as two PNG charts.

speed-up.png      parex's speed-up over the sequential run of the same work, per benchmark,
                  with a line at the thread count (the ideal when the work is compute-bound);
parex-vs-peer.png parex's ratio to the fastest peer measured in the same run (> 1: parex is
                  faster), on a logarithmic axis, with a line at 1.

Usage: plot_summary.py SUMMARY.json OUT_DIR    (needs matplotlib: Debian's python3-matplotlib)
"""
import json
import os
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)


def bar_chart(rows, value_key, title, xlabel, path, reference, log=False):
    """One horizontal bar per row that has `value_key`, coloured and grouped by module."""
    rows = [r for r in rows if r.get(value_key) is not None]
    if not rows:
        return None
    modules = sorted({r["module"] for r in rows})
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(modules)}
    labels = [f'{r["module"]}: {r["input"]}' + (f' (vs {r["fastest_peer"]})' if value_key == "parex_vs_fastest_peer" else "")
              for r in rows]
    values = [r[value_key] for r in rows]
    fig, ax = plt.subplots(figsize=(12, 0.32 * len(rows) + 1.6))
    y = range(len(rows))
    ax.barh(y, values, color=[colours[r["module"]] for r in rows])
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()  # the first row on top, as in the printed table
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.axvline(reference[0], color="black", linewidth=1, linestyle="--", label=reference[1])
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {v:.2f}x", va="center", fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        summary = json.load(f)
    out = sys.argv[2]
    rows = summary["rows"]
    ctx = summary.get("context", {})
    machine = f'{ctx.get("parex_threads", "?")} threads on {ctx.get("num_cpus", "?")} CPUs, {ctx.get("date", "")[:10]}'
    threads = float(ctx.get("parex_threads", 0) or 0)
    written = [
        bar_chart(rows, "speedup", f"parex: speed-up over the sequential run\n{machine}",
                  "sequential time / parex time", os.path.join(out, "speed-up.png"),
                  (threads, f"{threads:g} threads (ideal for compute-bound work)")),
        bar_chart(rows, "parex_vs_fastest_peer", f"parex against the fastest peer of the same run\n{machine}",
                  "parex throughput / peer throughput (log scale; > 1: parex is faster)",
                  os.path.join(out, "parex-vs-peer.png"), (1.0, "level with the peer"), log=True),
    ]
    for path in written:
        if path:
            print(f"plot: {path}")


if __name__ == "__main__":
    main()
