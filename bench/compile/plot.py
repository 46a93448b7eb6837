#!/usr/bin/env python3
"""PNG of insync.py's results: change -> INSYNC latency (p50 and p99) against
hosted-zone size, log-log, one colour per zone (the big zone and the small
zone changed beside it), p50 solid and p99 dashed.

Several result files (e.g. a baseline and a branch) go on one plot, told
apart by marker and by --label (default: the git revision each was run at).
Sizes that timed out are marked at the top edge.  Needs matplotlib
(`pip install .[bench]`).

    python3 bench/compile/plot.py                       # out/insync.json -> insync.png
    python3 bench/compile/plot.py baseline.json out/insync.json --label before --label after

Prints the plotted points as a markdown table; --json writes them too.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import harness
from harness import peers

ZONES = (("big", "tab:red"), ("small", "tab:blue"))
MARKERS = "os^Dv*"


def points(doc: dict) -> list[dict]:
    """One row per size: record sets, status, and INSYNC p50/p99 per zone (s)."""
    out = []
    for r in doc.get("results", []):
        row = {"size": r.get("rrsets") or r["size"], "status": r["status"]}
        for zone, _ in ZONES:
            ins = r.get(zone, {}).get("insync", {})
            row[zone] = {"p50": ins.get("p50"), "p99": ins.get("p99"), "n": ins.get("n", 0)}
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    intro, _, rest = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=intro, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", default=[os.path.join(harness.HERE, "out", "insync.json")],
                    help="JSON files written by insync.py")
    ap.add_argument("--label", action="append", default=[],
                    help="legend label per input, in order (default: its git revision and date)")
    ap.add_argument("-o", "--output", default=os.path.join(harness.HERE, "insync.png"))
    ap.add_argument("--title", default="zonefront: one-record change -> INSYNC")
    ap.add_argument("--target-ms", type=float, default=100,
                    help="draw issue 13's goal (INSYNC p99 under this at 1M record sets); 0: none")
    ap.add_argument("--json", default=None, help="also write the plotted points here")
    opts = ap.parse_args(argv)
    if opts.label and len(opts.label) != len(opts.inputs):
        ap.error("give one --label per input, or none")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    rows, dump = [], []
    ymax = 0.0
    series = []
    for k, path in enumerate(opts.inputs):
        with open(path) as f:
            doc = json.load(f)
        label = opts.label[k] if opts.label else f"git {doc.get('git', '?')} {doc.get('date', '')}"
        pts = points(doc)
        dump.append({"input": path, "label": label, "loadavg_before": doc.get("loadavg_before"),
                     "points": pts})
        series.append((label, MARKERS[k % len(MARKERS)], pts))
        for p in pts:
            for zone, _ in ZONES:
                for q in ("p50", "p99"):
                    if p[zone][q]:
                        ymax = max(ymax, p[zone][q] * 1000)
            rows.append([label, f"{p['size']:,}", p["status"],
                         *(harness.ms(p[z][q]) for z, _ in ZONES for q in ("p50", "p99")),
                         f"{p['big']['n']}/{p['small']['n']}"])
    if not any(p[z]["p50"] for _, _, pts in series for p in pts for z, _ in ZONES):
        print("no INSYNC figures in the input", file=sys.stderr)
        return 1
    top = ymax * 3
    for label, marker, pts in series:
        for zone, colour in ZONES:
            for q, style in (("p50", "-"), ("p99", "--")):
                xs = [p["size"] for p in pts if p[zone][q]]
                ys = [p[zone][q] * 1000 for p in pts if p[zone][q]]
                ax.plot(xs, ys, style, marker=marker, color=colour,
                        label=f"{zone} zone {q}" + (f" ({label})" if len(series) > 1 else ""))
        lost = [p["size"] for p in pts if p["status"] in ("timed out", "skipped")]
        if lost:
            ax.plot(lost, [top] * len(lost), "x", color="black", markersize=9,
                    label="timed out / skipped" + (f" ({label})" if len(series) > 1 else ""))
    if opts.target_ms:
        ax.axhline(opts.target_ms, color="grey", linestyle=":", linewidth=1)
        ax.annotate(f"goal: p99 < {opts.target_ms:g} ms at 1M", (1_000_000, opts.target_ms),
                    xytext=(0, 4), textcoords="offset points", ha="right", fontsize=8,
                    color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # the same frame for every run (1k .. 1M record sets), so plots compare
    ax.set_xlim(600, 1_600_000)
    ax.set_xlabel("record sets in the big hosted zone")
    ax.set_ylabel("ChangeResourceRecordSets -> GetChange INSYNC (ms)")
    sub = series[0][0] if len(series) == 1 else "before/after"
    ax.set_title(f"{opts.title}\n{sub}; the small zone (10 record sets) changed at the same time",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(opts.output)
    harness.log(f"wrote {opts.output}")
    headers = ["run", "record sets", "status", "big p50 ms", "big p99 ms", "small p50 ms",
               "small p99 ms", "changes big/small"]
    print(peers.render_table(rows, headers, True))
    harness.write_json(opts.json, {"output": opts.output, "series": dump})
    return 0


if __name__ == "__main__":
    sys.exit(main())
