"""bench/run_all.py's reading of RESULT lines, its verdicts and its table, on sample
lines (no benchmark runs); and, when ANBI_BENCH_QUICK=1, `bench/run_all.py --quick`:
every benchmark at small sizes, one after another, to catch one that no longer runs
(its figures are not judged: quick sizes on a CI machine say nothing about them)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import EXIT_MISSED, Result
from bench.run_all import Line, exit_code, judge, parse_line, table

ROOT = Path(__file__).resolve().parents[2]

MET = "RESULT bench=donor_import db=sqlite figure=7.120s baseline=1.900s ratio=3.747 target=<=4 met=yes"
MISSED = ("RESULT bench=webhooks db=postgresql figure=373.1events/cpu-s baseline=5000events/cpu-s ratio=0.075 "
          "target=>=0.4 met=no")


def test_a_result_line_is_read_back_with_its_units():
    assert parse_line(MET) == Line("donor_import", "sqlite", "7.120s", "1.900s", 3.747, "<=4", True)
    assert parse_line(MISSED) == Line("webhooks", "postgresql", "373.1events/cpu-s", "5000events/cpu-s", 0.075,
                                      ">=0.4", False)


def test_other_output_is_not_a_result_line():
    assert parse_line("sqlite     executemany   1.90 s") is None
    assert parse_line("") is None


def test_a_result_line_out_of_format_is_an_error():
    with pytest.raises(ValueError, match="not a RESULT line"):
        parse_line("RESULT bench=x db=sqlite figure=fast")


@pytest.mark.parametrize("result, expected", [
    (Result("donor_import", "sqlite", 7.12, 1.9, "s", "<=", 4),
     "RESULT bench=donor_import db=sqlite figure=7.120s baseline=1.900s ratio=3.747 target=<=4 met=yes"),
    (Result("duplicates-recall-100k", "sqlite", 994, 1000, "pairs", ">=", 0.9),
     "RESULT bench=duplicates-recall-100k db=sqlite figure=994pairs baseline=1000pairs ratio=0.994 target=>=0.9 met=yes"),
    (Result("receipts-memory", "postgresql", 1100.0, 1024, "MiB", "<", 1),
     "RESULT bench=receipts-memory db=postgresql figure=1100MiB baseline=1024MiB ratio=1.074 target=<1 met=no"),
])
def test_what_a_benchmark_prints_run_all_reads_back(result, expected):
    assert result.line() == expected
    line = parse_line(result.line())
    assert line is not None and result is not None
    assert (line.bench, line.db, line.met, line.ratio) == (result.bench, result.db, result.met, round(result.ratio, 3))


def test_met_is_judged_on_the_ratio_as_printed():
    assert Result("x", "sqlite", 4.0004, 1.0, "s", "<=", 4).met  # prints ratio=4.000
    assert not Result("x", "sqlite", 4.0006, 1.0, "s", "<=", 4).met


@pytest.mark.parametrize("returncode, output, crashed", [
    (0, [MET], False),
    (EXIT_MISSED, [MET, MISSED], False),
    (1, ["Traceback (most recent call last):"], True),  # no RESULT line
    (1, [MET], True),  # printed a line, then failed
    (EXIT_MISSED, [MET], True),  # says missed, but every line is met
    (0, [MISSED], True),  # a missed target must not exit 0
    (0, ["RESULT bench=x broken"], True),
])
def test_a_run_is_judged_by_its_exit_code_and_lines(returncode, output, crashed):
    assert judge("donor_import", returncode, output).crashed is crashed


def test_the_exit_code_fails_on_a_crash_always_and_on_a_missed_target_unless_quick():
    fine, missed = judge("a", 0, [MET]), judge("b", EXIT_MISSED, [MISSED])
    crashed = judge("c", 1, [])
    assert exit_code([fine], quick=False) == 0
    assert exit_code([fine, missed], quick=False) == EXIT_MISSED
    assert exit_code([fine, missed], quick=True) == 0
    assert exit_code([fine, crashed], quick=True) == 1


def test_the_table_has_a_row_per_figure_and_names_a_crash():
    runs = [judge("donor_import", 0, [MET], load=1.5), judge("webhooks", EXIT_MISSED, [MISSED], load=2.25),
            judge("receipts", 1, ["boom"], load=3.0)]
    lines = table(runs).splitlines()
    assert lines[0].split() == ["bench", "db", "figure", "baseline", "ratio", "target", "met", "load"]
    assert lines[2].split() == ["donor_import", "sqlite", "7.120s", "1.900s", "3.747", "<=4", "yes", "1.50"]
    assert lines[3].split() == ["webhooks", "postgresql", "373.1events/cpu-s", "5000events/cpu-s", "0.075", ">=0.4",
                                "NO", "2.25"]
    assert lines[4].split() == ["receipts", "-", "-", "-", "-", "-", "CRASHED", "3.00"]
    assert lines[-1] == "receipts: CRASHED (exit code 1, no RESULT line)"


@pytest.mark.skipif(os.environ.get("ANBI_BENCH_QUICK") != "1",
                    reason="runs every benchmark (a few minutes); set ANBI_BENCH_QUICK=1 (CI) to run it")
def test_every_benchmark_runs_quick():
    # One process running them one after another, as run_all does: never two benchmarks
    # at once, whatever pytest's workers do.
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert "CRASHED" not in result.stdout
    assert {line.split()[0] for line in result.stdout.splitlines() if line.startswith("RESULT ")}
