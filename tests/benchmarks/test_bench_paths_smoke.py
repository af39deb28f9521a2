"""The side-by-side benchmark still runs and prints every row (``--quick``: small sizes,
no latency, one run). Times are never asserted; what is checked is that every row was
measured against its yardstick, that the script refused nothing it measured (it stops
on a wrong plan, a short read or an apply that left a service untouched), and the
JSON line docs/benchmarks.md describes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = {"startup", "plan_1k_50ms", "plan_10k_0ms", "services_10k", "plan_big", "apply_500_50ms"}


def test_every_row_is_measured_and_printed() -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_paths.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary["rows"]) == ROWS
    for name, row in summary["rows"].items():
        assert row["product_s"] > 0 and row["yardstick_s"] > 0, name
        assert (
            row["ratio"] == round(row["product_s"] / row["yardstick_s"], 3)
            or abs(row["ratio"] - row["product_s"] / row["yardstick_s"]) < 0.01
        )
        assert any(line.startswith(name) for line in lines), name
    assert summary["official_loop_s"] > 0
    big = summary["rows"]["plan_big"]  # its CPU beside its wall time, per process
    assert big["plan_cpu_s"] > 0 and big["peak_rss_mb"] > 0 and big["services"] > 0
    assert any(line.startswith("plan_big: plan ") for line in lines)
    assert summary["imports"]["forbidden"] == [] and summary["imports"]["modules"] > 100
    # What was loaded when the first request left: part of the run, and timed.
    imports = summary["imports"]
    assert 100 < imports["before_first_request_modules"] <= imports["modules"]
    assert 0 < imports["before_first_request_ms"] <= imports["ms"] + 1  # a part of it
    # The portable side of the budget: against the minimal reader's imports, same moment.
    assert imports["reader_ms"] > 0
    assert (
        imports["vs_reader"] == round(imports["before_first_request_ms"] / imports["reader_ms"], 3)
        or abs(imports["vs_reader"] - imports["before_first_request_ms"] / imports["reader_ms"])
        < 0.01
    )
    assert "budget 1.60x" in done.stdout  # printed beside the figures
    assert summary["machine"]["cores"] >= 1
