"""The floor benchmark still runs: 40 services, one run. Times are never asserted; what is
checked is that the least program planned what the workload says (the script stops
otherwise), that every stage was measured for both programs and that the ratios printed
are those of the figures in the JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = {"spec", "services", "plan", "render"}


def test_the_floor_is_measured_and_printed() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "bench_floor.py"),
            *"--services 40 --runs 1".split(),
            *"--reader-runs 1".split(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["services"] == 40
    assert STAGES <= set(summary["least_cpu_s"]) and STAGES <= set(summary["ours_cpu_s"])
    assert summary["least_cpu_s"]["import_yaml"] > 0
    for stage in STAGES:
        assert summary["ours_cpu_s"][stage] >= 0 and summary["least_cpu_s"][stage] >= 0
        assert any(line.startswith(stage) for line in lines), stage
    assert summary["reader_s"] > 0 and summary["plan_s"] > 0
    added = sum(summary["least_cpu_s"][stage] for stage in STAGES)
    added += summary["least_cpu_s"]["import_yaml"]
    assert abs(summary["least_added_s"] - added) < 0.001  # each figure rounded to 0.0001
    floor = (summary["reader_s"] + summary["least_added_s"]) / summary["reader_s"]
    assert abs(summary["floor_ratio"] - floor) < 0.01
    assert abs(summary["plan_ratio"] - summary["plan_s"] / summary["reader_s"]) < 0.01
    assert "the floor, reader + least added" in lines[-2]
