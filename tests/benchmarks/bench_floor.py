"""How close ``plan`` at 10,000 services can come to the minimal reader: the floor, in figures.

    python tests/benchmarks/bench_floor.py [--services 10000] [--runs 5] [--reader-runs 5]

Issue 19 asks ``plan`` at 10,000 services and no latency for at most 1.3x the time of
``minimal_reader.py``, which reads the same pages and decodes them, and does nothing
else. ``plan`` must also read the spec, type every service, plan and print, and the
reader pays none of that. This script asks how little any CPython program could spend
on that work, and so how near 1.3x anyone can get.

For each stage ``plan`` adds to the reader, it times two things on the same 10,000
services (CPU seconds in this process, the collector off as ``plan`` sets it, median of
``--runs``). **ours** is the product's own function (``bench_plan.measure_planner``).
**least** is the smallest plain-Python code that still gives the same result on this
workload. No validation, no positions, no typed values, no fail-closed checks: the
least plan must still match the workload's expected summary, so its floor cannot be
faked by skipping work.

- ``spec``: libyaml's C parser gives the events; the least composer makes dicts of them,
  and a wanted lifecycle is read off each entry.
- ``services``: one tuple per service (name, route, expiry as a datetime, what it will do
  at expiry).
- ``plan``: each spec entry looked up by name, the 24-hour rule checked, one tuple per
  action, the unmanaged counted.
- ``render``: one line per change.

It then runs ``minimal_reader.py`` against the replaying server (``--reader-runs``, whole
processes) and prints the floor's ratio, (reader + the least added CPU) / reader, beside
ours. This floor is a bound, not a target: only a program with no checks at all could
reach it. Pulling the decode into the least is not needed, since the reader pays it too.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_paths  # noqa: E402
import bench_plan  # noqa: E402
import workload  # noqa: E402

# What the least program needs of the account's wording: which routes reconciler may not
# change (telecom, MX Plan), and the one type that may be deleted now.
UNMANAGEABLE_PREFIXES = ("/xdsl/", "/email/domain/", "/telephony/", "/pack/xdsl/")
WEB_HOSTING_PREFIX = "/hosting/web/"
TERMINATING = "terminateAtExpirationDate"
CANCEL_WINDOW = timedelta(hours=24)


# --- the least program, stage by stage ---------------------------------------------------


def least_spec(text: str) -> dict[str, str]:
    """The wanted lifecycle of every named service: YAML events from libyaml's C parser,
    composed into plain dicts (no marks, no tags, no checks)."""
    import yaml

    stack: list[Any] = []
    keys: list[Any] = []
    root: Any = None

    def add(value: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        if isinstance(top, list):
            top.append(value)
        elif keys[-1] is _NO_KEY:
            keys[-1] = value
        else:
            top[keys[-1]] = value
            keys[-1] = _NO_KEY

    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        kind = type(event)
        if kind is yaml.ScalarEvent:
            add(event.value)
        elif kind is yaml.MappingStartEvent:
            mapping: dict[Any, Any] = {}
            add(mapping)
            stack.append(mapping)
            keys.append(_NO_KEY)
        elif kind is yaml.SequenceStartEvent:
            sequence: list[Any] = []
            add(sequence)
            stack.append(sequence)
            keys.append(_NO_KEY)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
            keys.pop()
    return {name: entry["lifecycle"] for name, entry in root["services"].items()}


_NO_KEY = object()


def least_services(pages: list[list[dict[str, Any]]]) -> dict[str, tuple[str, datetime, bool]]:
    """Each service's route, expiry and whether it terminates at expiry, by name."""
    services: dict[str, tuple[str, datetime, bool]] = {}
    for page in pages:
        for item in page:
            billing = item["billing"]
            services[item["resource"]["name"]] = (
                item["route"]["path"],
                datetime.fromisoformat(billing["expirationDate"]),
                TERMINATING in billing["lifecycle"]["current"]["pendingActions"],
            )
    return services


def least_plan(
    wanted: dict[str, str], live: dict[str, tuple[str, datetime, bool]], now: datetime
) -> tuple[list[tuple[str, str]], dict[str, int], int]:
    """The actions, the summary and the unmanaged count, as ``plan`` gives them here."""
    summary = dict.fromkeys(
        ("terminate_at_expiry", "terminate_at_commitment_end", "cancel_termination",
         "delete_now", "set_renew", "no_op", "refused"), 0,
    )  # fmt: skip
    actions: list[tuple[str, str]] = []
    for name, lifecycle in wanted.items():
        route, expires, terminating = live[name]
        if route.startswith(UNMANAGEABLE_PREFIXES):
            kind = "no_op"
        elif lifecycle == "delete_now" and route.startswith(WEB_HOSTING_PREFIX):
            kind = "delete_now"
        elif lifecycle == "terminate_at_expiry" and not terminating:
            kind = "terminate_at_expiry"
        elif lifecycle == "renew" and terminating:
            kind = "cancel_termination"
        else:
            kind = "no_op"
        if kind in ("terminate_at_expiry", "cancel_termination") and expires - now < CANCEL_WINDOW:
            kind = "refused"
        summary[kind] += 1
        if kind != "no_op":
            actions.append((kind, name))
    unmanaged = sum(1 for name in live if name not in wanted)
    return actions, summary, unmanaged


def least_render(actions: list[tuple[str, str]]) -> str:
    return "\n".join(f"  {kind} {name}" for kind, name in actions) + "\n"


# --- measuring ---------------------------------------------------------------------------


def cpu_median(stage: Callable[[], object], runs: int) -> float:
    times: list[float] = []
    for _ in range(runs):
        started = time.process_time()
        stage()
        times.append(time.process_time() - started)
    return statistics.median(times)


def import_cpu_s(module: str, runs: int) -> float:
    """CPU seconds a fresh interpreter spends importing ``module`` (median of ``runs``)."""
    code = (
        "import time; t = time.process_time(); import " + module
        + "; print(time.process_time() - t)"
    )  # fmt: skip
    import subprocess

    def once() -> float:
        argv = [sys.executable, "-c", code]
        return float(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)

    return statistics.median(once() for _ in range(runs))


def measure_least(services: int, runs: int, workdir: Path) -> dict[str, float]:
    work = workload.build(services)
    items, _ = bench_paths.account_items(services, workdir)
    everything = json.loads(items.read_text())
    pages = [everything[start : start + 1000] for start in range(0, len(everything), 1000)]
    now = datetime.now(UTC)
    state: dict[str, Any] = {}

    def spec() -> None:
        state["wanted"] = least_spec(work.spec_yaml)

    def parse() -> None:
        state["live"] = least_services(pages)

    def plan() -> None:
        state["plan"] = least_plan(state["wanted"], state["live"], now)

    def render() -> None:
        state["text"] = least_render(state["plan"][0])

    gc.disable()
    try:
        figures = {
            "spec": cpu_median(spec, runs),
            "services": cpu_median(parse, runs),
            "plan": cpu_median(plan, runs),
            "render": cpu_median(render, runs),
        }
    finally:
        gc.enable()
    _, summary, unmanaged = state["plan"]
    if summary != work.expected_summary or unmanaged != work.expected_unmanaged:
        raise SystemExit(f"the least plan is not the workload's: {summary}, {unmanaged} unmanaged")
    figures["import_yaml"] = import_cpu_s("yaml", runs)
    return figures


def measure_ours(services: int, runs: int, workdir: Path) -> dict[str, float]:
    cpu = bench_plan.measure_planner(services, runs, workdir)["cpu_s"]
    return {
        "decode": cpu["decode_json"],
        "spec": cpu["load_spec"],
        "services": cpu["parse_services"],
        "plan": cpu["make_plan"],
        "render": cpu["render_text"],
    }


def measure_reader(services: int, runs: int, workdir: Path) -> tuple[float, float]:
    """Whole-process seconds of the minimal reader and of ``reconciler plan`` (medians),
    paired, against the replaying server with no latency."""
    items, work = bench_paths.account_items(services, workdir)
    spec = workdir / f"spec-{services}.yaml"
    env = bench_plan.clean_environment(workdir)
    replay = bench_paths.Replay(workdir, items, 0.0, "floor")
    try:
        bench_paths.check_plan(spec, replay.url, work, env, workdir)
        mine, theirs = bench_paths.paired(
            runs,
            lambda: bench_paths.timed(bench_paths.plan_argv(spec, replay.url), env, workdir, 2),
            lambda: bench_paths.timed(bench_paths.reader_argv(replay.url), env, workdir),
        )
    finally:
        replay.stop()
    return statistics.median(theirs), statistics.median(mine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reader-runs", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as scratch:
        workdir = Path(scratch)
        least = measure_least(args.services, args.runs, workdir)
        ours = measure_ours(args.services, args.runs, workdir)
        reader_s, plan_s = measure_reader(args.services, args.reader_runs, workdir)

    stages = ("spec", "services", "plan", "render")
    least_added = sum(least[name] for name in stages) + least["import_yaml"]
    ours_added = sum(ours[name] for name in stages)
    print(f"plan at {args.services:,} services, no latency: CPU seconds each stage adds to "
          f"the reader (median of {args.runs})")  # fmt: skip
    print(f"{'stage':<10} {'least':>8} {'ours':>8} {'ours/least':>11}")
    for name in stages:
        print(f"{name:<10} {least[name]:>8.3f} {ours[name]:>8.3f} "
              f"{ours[name] / least[name]:>10.1f}x")  # fmt: skip
    print(f"{'import yaml':<10} {least['import_yaml']:>8.3f}")
    print(f"{'added':<10} {least_added:>8.3f} {ours_added:>8.3f}")
    # What the whole process adds beyond its stages: imports the reader does not make
    # (pydantic, click, the models), the spec's thread taking turns with the event loop.
    rest = plan_s - reader_s - ours_added
    print(f"{'the rest':<10} {'':>8} {rest:>8.3f}  (wall: imports, threads, exit)")
    floor_ratio = (reader_s + least_added) / reader_s
    floor_s = reader_s + least_added
    print(f"minimal reader {reader_s:.3f} s; reconciler plan {plan_s:.3f} s "
          f"({plan_s / reader_s:.2f}x); the floor, reader + least added: "
          f"{floor_s:.3f} s ({floor_ratio:.2f}x); issue 19's target 1.3x")  # fmt: skip
    summary = {
        "services": args.services,
        "runs": args.runs,
        "least_cpu_s": {name: round(value, 4) for name, value in least.items()},
        "ours_cpu_s": {name: round(value, 4) for name, value in ours.items()},
        "least_added_s": round(least_added, 4),
        "ours_added_s": round(ours_added, 4),
        "ours_rest_s": round(rest, 4),
        "reader_s": round(reader_s, 4),
        "plan_s": round(plan_s, 4),
        "plan_ratio": round(plan_s / reader_s, 3),
        "floor_ratio": round(floor_ratio, 3),
        "machine": bench_plan.machine(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
