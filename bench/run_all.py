"""Run every benchmark, one after another (never two at once), and print the table
of their RESULT lines.

Each benchmark runs as a process of its own with its output shown as it comes; its
RESULT lines (`bench/common.Result`) are collected, and the table gives each figure
beside the machine's load average when its benchmark ended (absolute times depend on
the machine; the ratios, measured in one run, much less). A benchmark that exits
with anything but 0 (all met) or `common.EXIT_MISSED` (a target missed), or prints
no RESULT line, crashed.

Exit code: 0 when every target is met; with `--quick` (small sizes, a few minutes on
two cores: what CI runs to catch a benchmark that no longer runs, not to judge
figures) 0 unless a benchmark crashed; otherwise `EXIT_MISSED` for a missed target
and 1 for a crash.

    .venv/bin/python bench/run_all.py                 # full sizes: an hour or more
    .venv/bin/python bench/run_all.py --quick
    .venv/bin/python bench/run_all.py --only donor_import,duplicates
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import EXIT_MISSED  # noqa: E402

# In the order they run: the quick ones first, so a crash shows early.
BENCHES = ("donor_import", "duplicates", "bank_import", "sepa_batch", "webhooks", "donation_list",
           "campaign_report", "grant_report", "receipts")

_LINE = re.compile(
    r"^RESULT bench=(?P<bench>\S+) db=(?P<db>\S+) figure=(?P<figure>-?[\d.]+)(?P<unit>\S*) "
    r"baseline=(?P<baseline>-?[\d.]+)(?P<baseline_unit>\S*) ratio=(?P<ratio>\S+) "
    r"target=(?P<op>[<>]=?)(?P<target>[\d.]+) met=(?P<met>yes|no)\s*$"
)


@dataclass(frozen=True)
class Line:
    """One RESULT line as read back."""

    bench: str
    db: str
    figure: str  # number and unit, as printed
    baseline: str
    ratio: float
    target: str
    met: bool


def parse_line(text: str) -> Line | None:
    """A RESULT line read back; None for any other line. A line that starts with
    RESULT but does not follow the format is an error: a benchmark that prints it is
    broken."""
    if not text.startswith("RESULT "):
        return None
    match = _LINE.match(text.strip())
    if match is None:
        raise ValueError(f"not a RESULT line in the expected format: {text.strip()!r}")
    g = match.groupdict()
    return Line(g["bench"], g["db"], g["figure"] + g["unit"], g["baseline"] + g["baseline_unit"], float(g["ratio"]),
                g["op"] + g["target"], g["met"] == "yes")


@dataclass
class Run:
    """One benchmark's run: its exit code, RESULT lines, time and the load average after."""

    script: str
    returncode: int
    lines: list[Line] = field(default_factory=list)
    seconds: float = 0.0
    load: float = 0.0
    problem: str = ""  # why the run counts as crashed, if it does

    @property
    def crashed(self) -> bool:
        return bool(self.problem)


def judge(script: str, returncode: int, output: list[str], seconds: float = 0.0, load: float = 0.0) -> Run:
    """The run of `script` from its exit code and output lines."""
    run = Run(script, returncode, seconds=seconds, load=load)
    try:
        run.lines = [line for line in map(parse_line, output) if line is not None]
    except ValueError as exc:
        run.problem = str(exc)
        return run
    missed = any(not line.met for line in run.lines)
    if not run.lines:
        run.problem = f"exit code {returncode}, no RESULT line"
    elif returncode == EXIT_MISSED and not missed:
        run.problem = f"exit code {returncode} with every target met"
    elif returncode not in (0, EXIT_MISSED):
        run.problem = f"exit code {returncode}"
    elif returncode == 0 and missed:
        run.problem = "a target missed but exit code 0"
    return run


def table(runs: list[Run]) -> str:
    """The results as a fixed-width table, a row per figure, crashed benchmarks named."""
    header = ("bench", "db", "figure", "baseline", "ratio", "target", "met", "load")
    rows = [header]
    for run in runs:
        for line in run.lines:
            rows.append((line.bench, line.db, line.figure, line.baseline, f"{line.ratio:.3f}", line.target,
                         "yes" if line.met else "NO", f"{run.load:.2f}"))
        if run.crashed:
            rows.append((run.script, "-", "-", "-", "-", "-", "CRASHED", f"{run.load:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    out.insert(1, "  ".join("-" * width for width in widths))
    for run in runs:
        if run.crashed:
            out.append(f"{run.script}: CRASHED ({run.problem})")
    return "\n".join(out)


def exit_code(runs: list[Run], quick: bool) -> int:
    if any(run.crashed for run in runs):
        return 1
    if not quick and any(not line.met for run in runs for line in run.lines):
        return EXIT_MISSED
    return 0


def run_one(script: str, extra: list[str]) -> Run:
    """Run `bench/<script>.py`, echoing its output; the judged run."""
    command = [sys.executable, str(HERE / f"{script}.py"), *extra]
    print(f"\n=== {script}: {' '.join(command[1:])}  (load average {os.getloadavg()[0]:.2f})", flush=True)
    started = time.perf_counter()
    output = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent) as process:
        assert process.stdout is not None  # stdout=PIPE
        for text in process.stdout:
            print(text, end="", flush=True)
            output.append(text.rstrip("\n"))
    return judge(script, process.returncode, output, time.perf_counter() - started, os.getloadavg()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: catches a crashed benchmark, judges nothing")
    parser.add_argument("--only", help=f"comma-separated benchmarks to run (of {', '.join(BENCHES)})")
    parser.add_argument("--postgres-url", help="a server where throwaway databases may be made (ANBI_BENCH_POSTGRES_URL)")
    args = parser.parse_args(argv)
    chosen = BENCHES if not args.only else tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; there are {', '.join(BENCHES)}")
    if args.postgres_url:
        os.environ["ANBI_BENCH_POSTGRES_URL"] = args.postgres_url
    started = time.perf_counter()
    runs = [run_one(script, ["--quick"] if args.quick else []) for script in chosen]
    print(f"\n{len(runs)} benchmarks in {(time.perf_counter() - started) / 60:.1f} min"
          f"{' (--quick: sizes too small to judge the figures)' if args.quick else ''}\n")
    print(table(runs))
    return exit_code(runs, args.quick)


if __name__ == "__main__":
    sys.exit(main())
