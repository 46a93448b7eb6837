"""The long fuzzing campaign: every target until its execution goal.

    nice -n 19 python bench/fuzz/campaign.py [--scale 1.0] [--out build/fuzz/campaign] [TARGET ...]

Goals (tests/fuzz/catalog.py): 10 million executions for each target fed
DNS messages (engine, engine_diff, tcp), 1 million for the others (API
bodies, zone files, snapshots, transfers).  Each target starts from its
checked-in corpus and regression inputs and keeps what it finds in
OUT/<target>/corpus (not checked in), so a second campaign resumes.  Hangs
count as findings (-timeout=10 s per input).  At the end a Markdown table
(executions, coverage: libFuzzer's edges "cov" and features "ft", corpus
size, findings, wall time) is printed and written to OUT/results.md for
bench/RESULTS.md; findings are left in OUT/<target>/ as crash-*/timeout-*.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import catalog
import fuzzbuild


def run(name: str, exes: dict, out: Path, runs: int) -> dict:
    work = out / name
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in work.glob("fuzz-*.log"):
        old.unlink()
    cmd = catalog.command(name, exes) + [
        f"-runs={runs}", "-timeout=10", "-rss_limit_mb=3072", "-print_final_stats=1",
        f"-artifact_prefix={work}/", str(corpus),
    ] + [str(d) for d in catalog.corpus_dirs(name)]
    log = work / "fuzz.log"
    t0 = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=fuzzbuild.environment(),
                            cwd=work, check=False).returncode
    took = time.monotonic() - t0
    text = log.read_text(errors="replace")
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", text))
    last = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)/", text)
    cov, ft, corp = last[-1] if last else ("?", "?", "?")
    findings = sorted(p.name for p in work.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-")))
    return {"target": name, "goal": runs, "execs": int(stats.get("number_of_executed_units", 0)),
            "cov": cov, "ft": ft, "corpus": corp, "rc": rc, "findings": findings,
            "seconds": took, "rate": int(stats.get("average_exec_per_sec", 0))}


def table(rows: list[dict]) -> str:
    lines = ["| target | executions | goal | cov (edges) | ft (features) | corpus | findings | wall | exec/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in rows:
        found = ", ".join(r["findings"]) or ("none" if r["rc"] == 0 else f"exit {r['rc']}")
        lines.append(f"| {r['target']} | {r['execs']:,} | {r['goal']:,} | {r['cov']} | {r['ft']} | "
                     f"{r['corpus']} | {found} | {r['seconds']:.0f} s | {r['rate']:,} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", default=list(catalog.ALL))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every goal (a dry run: 0.01)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "fuzz" / "campaign")
    args = ap.parse_args()
    args.out = args.out.resolve()  # each fuzzer runs in its own directory
    exes = fuzzbuild.build()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.targets:
        goal = max(1, int(catalog.GOAL.get(name, catalog.DEFAULT_GOAL) * args.scale))
        rows.append(run(name, exes, args.out, goal))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = f"campaign {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{table(rows)}\n"
    (args.out / "results.md").write_text(text)
    print(text)
    sys.exit(1 if any(r["findings"] or r["rc"] for r in rows) else 0)


if __name__ == "__main__":
    main()
