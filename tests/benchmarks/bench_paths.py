"""Every path users run, side by side with the least a program could do (docs/benchmarks.md).

    .venv/bin/python tests/benchmarks/bench_paths.py [--runs 5] [--quick] [--check]
        [--baseline-runs 1] [--big 50000] [--apply 500] [--max-read-age 0]

A script, not a test (pytest collects ``test_*.py`` only). Each row runs the product and
its yardstick as whole processes, alternately (paired runs), and reports medians and
their ratio; the ratios are the portable figures, the seconds are this machine's:

- ``startup``: ``reconciler plan`` from spawn to its first request, vs
  ``minimal_reader.py`` the same;
- ``plan_1k_50ms``: ``reconciler plan``, 1,000 services at 50 ms, vs
  ``minimal_reader.py`` (and the official client's sequential loop, ``bench_baseline.py``);
- ``plan_10k_0ms``: the same with 10,000 services and no latency;
- ``plan_big``: ``reconciler plan`` against the sandbox, ``--big`` services, vs the same
  plan against the replaying server (what is left is the sandbox's);
- ``services_10k``: ``reconciler services`` (the table), vs ``--format json``;
- ``apply_500_50ms``: ``reconciler apply --auto-approve``, ``--apply`` terminations at
  expiry at 50 ms, vs ``minimal_writer.py`` sending the plan's own calls, as concurrent.

The reads are served by ``replay_server.py`` (recorded answers, no work per call), so
that they measure the client; ``plan_big`` and ``apply`` use the sandbox server (the
sandbox's deep pages are measured there, and apply needs a real backend). Every run is
checked: ``plan`` must exit 2 with the workload's summary, the reader must count every
service, apply must exit 0 and the sandbox must then hold every termination.

``--quick``: small sizes, no latency, one run (what the smoke test runs). ``--check``:
exit 1 when a target of issue 19 that applies is missed. Output: one table on stdout,
then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_plan  # noqa: E402  (the helpers: processes, environment, the sandbox server)
import module_probe  # noqa: E402
import workload  # noqa: E402

# Issue 19's targets: (row, the ratio it must not pass, or the milliseconds for start-up).
TARGETS: dict[str, float] = {
    "startup_ms": 150.0,
    "plan_1k_50ms": 1.25,
    "plan_10k_0ms": 1.3,
    "services_10k": 1.2,
    "apply_500_50ms": 1.4,
    "plan_1k_50ms_vs_official": 150.0,  # a minimum: times faster than the official loop
    "plan_big_s": 8.0,
}
# What `plan` may import before its first request, in milliseconds under -X importtime
# on the development machine (docs/benchmarks.md): the budget the benchmark checks.
# Imports after it (the planner, the renderer) overlap nothing but are not start-up.
IMPORT_BUDGET_MS = 200.0
# The same budget as a ratio, portable across machines and loads: what `plan` imports
# before its first request against all the minimal reader imports (it imports everything
# before its first request), both under -X importtime in the same moment. The reader pays
# Python, asyncio and httpx; `plan` adds click, its command line and the service parser.
IMPORT_BUDGET_RATIO = 1.6
IMPORT_BREAKDOWN = 12  # the heaviest packages printed of what loads before the first request
# One line of -X importtime: self and cumulative microseconds, the indented module name.
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| +(\S+)$")


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    product: str
    yardstick: str
    product_s: list[float]
    yardstick_s: list[float]
    # Medians beside the wall times, where the row measures them (plan_big: CPU seconds
    # of the plan and of the sandbox server, peak RSS): what a loaded machine's wall
    # times hide.
    details: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return statistics.median(self.product_s) / statistics.median(self.yardstick_s)

    def figures(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "yardstick": self.yardstick,
            "product_s": round(statistics.median(self.product_s), 4),
            "yardstick_s": round(statistics.median(self.yardstick_s), 4),
            "ratio": round(self.ratio, 3),
            "runs": len(self.product_s),
            **{name: round(value, 4) for name, value in self.details.items()},
        }


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- servers ---------------------------------------------------------------------------


class Replay:
    """``replay_server.py`` in its own process, answering ``items``."""

    def __init__(self, workdir: Path, items: Path, latency_ms: float, name: str) -> None:
        self.events = workdir / f"{name}.events"
        self.events.write_text("")
        self._log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "replay_server.py"),
                str(items),
                "--latency-ms",
                f"{latency_ms:g}",
                "--events",
                str(self.events),
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("replay: serving "):
            self.stop()
            raise SystemExit(f"the replay server did not start: {line}")
        self.url = line.split()[-1]

    def first_request_after(self, started: float) -> float:
        """Seconds from ``started`` (CLOCK_MONOTONIC) to the first request logged since."""
        for line in self.events.read_text().splitlines():
            arrived = float(line.split()[0])
            if arrived >= started:
                return arrived - started
        raise SystemExit("no request reached the replay server")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def account_items(services: int, workdir: Path) -> tuple[Path, workload.Workload]:
    """The expanded JSON of ``services`` services as the sandbox answers them, and the
    workload (spec, expected summary) they belong to."""
    from reconciler.sandbox import open_state
    from reconciler.sandbox.seed import seed_from_mapping

    work = workload.build(services)
    backend = open_state(workdir / f"items-{services}.db", seed=seed_from_mapping(work.seed))
    items: list[Any] = []
    try:
        number = 1
        while True:
            page = backend.services_page(size=1000, number=number)
            if not page.items:
                break
            items.extend(page.items)
            number += 1
    finally:
        backend.close()
    path = workdir / f"items-{services}.json"
    path.write_text(json.dumps(items))
    (workdir / f"spec-{services}.yaml").write_text(work.spec_yaml)
    return path, work


# --- one timed process -----------------------------------------------------------------


def timed(argv: Sequence[str], env: dict[str, str], workdir: Path, expect: int = 0) -> float:
    return timed_run(argv, env, workdir, expect).seconds


def timed_run(
    argv: Sequence[str], env: dict[str, str], workdir: Path, expect: int = 0
) -> bench_plan.Run:
    with open(workdir / "run.out", "wb") as out, open(workdir / "run.err", "wb") as err:
        run = bench_plan.run_process(argv, env=env, cwd=workdir, stdout=out, stderr=err)
    if run.exit_code != expect:
        bench_plan.fail(f"{' '.join(argv[:4])}... exited {run.exit_code}", workdir / "run.err")
    return run


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a running process has used so far, from
    ``/proc/PID/stat`` (Linux); None elsewhere."""
    try:
        # The fields after the command's name, which is in parentheses and may hold spaces.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paired(
    runs: int,
    product: Callable[[], float],
    yardstick: Callable[[], float],
) -> tuple[list[float], list[float]]:
    """Alternate product and yardstick runs, so that a change of load hits both."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        mine.append(product())
        theirs.append(yardstick())
    return mine, theirs


# --- rows ------------------------------------------------------------------------------


def plan_argv(spec: Path, url: str) -> list[str]:
    return [*bench_plan.reconciler_command(), "plan", str(spec), "--endpoint", url,
            "--detailed-exitcode"]  # fmt: skip


def reader_argv(url: str) -> list[str]:
    return [sys.executable, str(HERE / "minimal_reader.py"), url]


def check_plan(
    spec: Path, url: str, work: workload.Workload, env: dict[str, str], workdir: Path
) -> None:
    """One untimed run: the plan must be the workload's (and warms the bytecode cache)."""
    argv = [*plan_argv(spec, url), "--format", "json"]
    timed(argv, env, workdir, expect=bench_plan.EXIT_CHANGES)
    plan = json.loads((workdir / "run.out").read_text())
    if plan["summary"] != work.expected_summary:
        raise SystemExit(f"plan summary {plan['summary']} is not {work.expected_summary}")
    output = subprocess.run(reader_argv(url), env=env, capture_output=True, text=True, check=True)
    if output.stdout.strip() != str(work.services):
        raise SystemExit(f"the minimal reader read {output.stdout.strip()} services")


def row_startup(replay: Replay, spec: Path, env: dict[str, str], workdir: Path, runs: int) -> Row:
    def first(argv: list[str], expect: int) -> Callable[[], float]:
        def run() -> float:
            started = time.monotonic()
            timed(argv, env, workdir, expect=expect)
            return replay.first_request_after(started)

        return run

    mine, theirs = paired(
        runs, first(plan_argv(spec, replay.url), 2), first(reader_argv(replay.url), 0)
    )
    return Row("startup", "reconciler plan: spawn to first request",
               "minimal reader: spawn to first request", mine, theirs)  # fmt: skip


def row_plan(
    name: str, replay: Replay, spec: Path, env: dict[str, str], workdir: Path, runs: int
) -> Row:
    mine, theirs = paired(
        runs,
        lambda: timed(plan_argv(spec, replay.url), env, workdir, expect=2),
        lambda: timed(reader_argv(replay.url), env, workdir),
    )
    return Row(name, "reconciler plan", "minimal reader", mine, theirs)


def row_services(replay: Replay, env: dict[str, str], workdir: Path, runs: int) -> Row:
    base = [*bench_plan.reconciler_command(), "services", "--endpoint", replay.url]
    mine, theirs = paired(
        runs,
        lambda: timed(base, env, workdir),
        lambda: timed([*base, "--format", "json"], env, workdir),
    )
    return Row("services_10k", "reconciler services (table)", "reconciler services --format json",
               mine, theirs)  # fmt: skip


def import_budget(spec: Path, url: str, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """``plan`` under ``-X importtime``: what it imports at all, and its total; and what
    it had imported when its first request left (``module_probe``), and their time."""
    out = workdir / "imports.json"
    argv = module_probe.probe_argv(
        out, ["plan", str(spec), "--endpoint", url, "--detailed-exitcode"], importtime=True
    )
    with open(workdir / "imports.err", "wb") as err:
        run = bench_plan.run_process(
            argv, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err
        )
    if run.exit_code != 2:
        bench_plan.fail(f"plan under -X importtime exited {run.exit_code}", workdir / "imports.err")
    log = (workdir / "imports.err").read_text(errors="replace")
    imports = bench_plan.read_import_log(log)
    before = set(module_probe.snapshots(out)["first_request"])
    self_us = {m.group(2): int(m.group(1)) for m in map(_IMPORT_LINE.match, log.splitlines()) if m}
    # Where the start-up goes, by top-level package: what to make lazy next.
    by_package: dict[str, int] = {}
    for name in before:
        top = (
            name.split(".")[0]
            if not name.startswith("reconciler.")
            else ".".join(name.split(".")[:3])
        )
        by_package[top] = by_package.get(top, 0) + self_us.get(name, 0)
    heaviest = sorted(by_package.items(), key=lambda item: -item[1])[:IMPORT_BREAKDOWN]
    reader_ms = reader_imports_ms(url, env, workdir)
    before_ms = sum(self_us.get(name, 0) for name in before) / 1000
    return {
        "ms": round(imports.seconds * 1000, 1),
        "modules": imports.modules,
        "before_first_request_ms": round(sum(self_us.get(name, 0) for name in before) / 1000, 1),
        "before_first_request_modules": len(before),
        "forbidden": list(imports.forbidden),
        "budget_ms": IMPORT_BUDGET_MS,
        "reader_ms": round(reader_ms, 1),
        "vs_reader": round(before_ms / reader_ms, 3) if reader_ms else None,
        "budget_vs_reader": IMPORT_BUDGET_RATIO,
        "before_first_request_by_package_ms": {name: round(us / 1000, 1) for name, us in heaviest},
    }


def reader_imports_ms(url: str, env: dict[str, str], workdir: Path) -> float:
    """What the minimal reader imports, in milliseconds under ``-X importtime``."""
    with open(workdir / "reader-imports.err", "wb") as err:
        run = bench_plan.run_process(
            [sys.executable, "-X", "importtime", str(HERE / "minimal_reader.py"), url],
            env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    if run.exit_code != 0:
        bench_plan.fail(
            "the minimal reader under -X importtime failed", workdir / "reader-imports.err"
        )
    log = (workdir / "reader-imports.err").read_text(errors="replace")
    return bench_plan.read_import_log(log).seconds * 1000


def apply_workload(services: int) -> tuple[dict[str, Any], str]:
    """``services`` domains, all renewing; the spec terminates each at expiry."""
    seeded = [
        {"name": f"apply{i:05d}.example.com", "route": "/domain",
         "expires_in": f"{30 + i % 300}d", "termination": "none"}
        for i in range(services)
    ]  # fmt: skip
    lines = ["version: 1", "endpoint: sandbox", "unmanaged: report", "services:"]
    lines += [f"  {s['name']}: {{lifecycle: terminate_at_expiry}}" for s in seeded]
    return {"services": seeded}, "\n".join(lines) + "\n"


def row_apply(args: argparse.Namespace, workdir: Path, runs: int) -> Row:
    from reconciler.sandbox.admin import SandboxAdmin

    seed, spec_text = apply_workload(args.apply)
    (workdir / "apply-seed.json").write_text(json.dumps(seed))
    spec = workdir / "apply.yaml"
    spec.write_text(spec_text)
    home = workdir / "apply"  # a sandbox state of its own
    home.mkdir()
    server = bench_plan.SandboxServer(home, workdir / "apply-seed.json", args.latency_ms)
    env = bench_plan.clean_environment(workdir)
    admin = SandboxAdmin(server.url.removesuffix("/1.0"))
    try:
        plan_file = workdir / "apply-plan.json"
        argv = [*plan_argv(spec, server.url), "--out", str(plan_file)]
        timed(argv, env, workdir, expect=2)
        calls = [call for action in json.loads(plan_file.read_text())["actions"]
                 for call in action["calls"]]  # fmt: skip
        if len(calls) != args.apply:
            raise SystemExit(f"the apply plan has {len(calls)} calls, not {args.apply}")
        (workdir / "apply-calls.json").write_text(json.dumps(calls))
        # --max-read-age 0 measures apply as it was before the run's read stood for the
        # per-service re-reads (one GET /services/{id} beside each call).
        read_age = ["--max-read-age", args.max_read_age] if args.max_read_age else []

        def product() -> float:
            admin.reset()
            seconds = timed(
                [*bench_plan.reconciler_command(), "apply", str(spec), "--endpoint", server.url,
                 "--auto-approve", "--journal", str(workdir / "journal.jsonl"), *read_age],
                env, workdir,
            )  # fmt: skip
            terminated(admin, args.apply)
            return seconds

        def yardstick() -> float:
            admin.reset()
            seconds = timed(
                [sys.executable, str(HERE / "minimal_writer.py"), server.url,
                 str(workdir / "apply-calls.json")],
                env, workdir,
            )  # fmt: skip
            terminated(admin, args.apply)
            return seconds

        mine, theirs = paired(runs, product, yardstick)
    finally:
        server.stop()
    return Row("apply_500_50ms", "reconciler apply --auto-approve",
               "minimal writer: the plan's calls", mine, theirs)  # fmt: skip


def terminated(admin: Any, expected: int) -> None:
    services = admin.services()
    done = sum(1 for s in services if s.get("termination") == "at_expiry")
    if done != expected:
        raise SystemExit(f"after the run {done} of {expected} services terminate at expiry")


def row_big(args: argparse.Namespace, workdir: Path, runs: int) -> Row:
    work = workload.build(args.big)
    (workdir / "big-seed.json").write_text(json.dumps(work.seed))
    spec = workdir / f"spec-big-{args.big}.yaml"
    spec.write_text(work.spec_yaml)
    items, _ = account_items(args.big, workdir)
    progress(f"  seeding the sandbox with {args.big} services...")
    home = workdir / "big"
    home.mkdir()
    server = bench_plan.SandboxServer(home, workdir / "big-seed.json", 0.0)
    replay = Replay(workdir, items, 0.0, "big")
    env = bench_plan.clean_environment(workdir)
    measured: dict[str, list[float]] = {"plan_cpu_s": [], "sandbox_cpu_s": [], "peak_rss_mb": []}

    def product() -> float:
        before = process_cpu_s(server.process.pid)
        run = timed_run(plan_argv(spec, server.url), env, workdir, expect=2)
        after = process_cpu_s(server.process.pid)
        measured["plan_cpu_s"].append(run.cpu_seconds)
        measured["peak_rss_mb"].append(run.peak_rss_mb)
        if before is not None and after is not None:
            measured["sandbox_cpu_s"].append(after - before)
        return run.seconds

    try:
        timed(plan_argv(spec, server.url), env, workdir, expect=2)  # warms the sandbox
        mine, theirs = paired(
            runs, product, lambda: timed(plan_argv(spec, replay.url), env, workdir, expect=2)
        )
    finally:
        server.stop()
        replay.stop()
    details = {name: statistics.median(values) for name, values in measured.items() if values}
    details["services"] = args.big
    return Row("plan_big", f"reconciler plan, {args.big} services, sandbox",
               "the same plan, replaying server", mine, theirs, details)  # fmt: skip


# --- report ----------------------------------------------------------------------------


def verdicts(
    rows: dict[str, Row], baseline_s: float | None, imports: dict[str, Any]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(name: str, value: float, limit: float, holds: bool) -> None:
        found.append({"target": name, "value": round(value, 3), "limit": limit, "holds": holds})

    if "startup" in rows:
        ms = statistics.median(rows["startup"].product_s) * 1000
        add("startup_ms <= 150", ms, TARGETS["startup_ms"], ms <= TARGETS["startup_ms"])
    for name in ("plan_1k_50ms", "plan_10k_0ms", "services_10k", "apply_500_50ms"):
        if name in rows:
            ratio = rows[name].ratio
            add(f"{name} ratio <= {TARGETS[name]}", ratio, TARGETS[name], ratio <= TARGETS[name])
    if "plan_1k_50ms" in rows and baseline_s:
        speedup = baseline_s / statistics.median(rows["plan_1k_50ms"].product_s)
        limit = TARGETS["plan_1k_50ms_vs_official"]
        add("plan_1k_50ms speedup_vs_official >= 150", speedup, limit, speedup >= limit)
    if "plan_big" in rows:
        seconds = statistics.median(rows["plan_big"].product_s)
        add("plan_big_s < 8", seconds, TARGETS["plan_big_s"], seconds < TARGETS["plan_big_s"])
    if imports:
        ms = imports["before_first_request_ms"]
        add(
            "imports_before_first_request_ms <= budget",
            ms,
            IMPORT_BUDGET_MS,
            ms <= IMPORT_BUDGET_MS and not imports["forbidden"],
        )
        ratio = imports.get("vs_reader")
        if ratio is not None:
            add(
                f"imports_before_first_request vs_reader <= {IMPORT_BUDGET_RATIO}",
                ratio,
                IMPORT_BUDGET_RATIO,
                ratio <= IMPORT_BUDGET_RATIO and not imports["forbidden"],
            )
    return found


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"reconciler, every path side by side: median of {summary['runs']} paired runs",
        f"{'row':<16}{'product s':>11}{'yardstick s':>13}{'ratio':>8}  product / yardstick",
    ]
    for name, row in summary["rows"].items():
        lines.append(
            f"{name:<16}{row['product_s']:>11.4f}{row['yardstick_s']:>13.4f}{row['ratio']:>8.2f}"
            f"  {row['product']} / {row['yardstick']}"
        )
    big = summary["rows"].get("plan_big", {})
    if "plan_cpu_s" in big:
        per_service_ms = big["plan_cpu_s"] / big["services"] * 1000
        lines.append(
            f"plan_big: plan {big['plan_cpu_s']:.2f} s of CPU ({per_service_ms:.3f} ms a "
            f"service), the sandbox {big.get('sandbox_cpu_s', float('nan')):.2f} s, "
            f"peak RSS {big['peak_rss_mb']:.0f} MB"
        )
    if summary["official_loop_s"] is not None:
        lines.append(
            f"official client loop (1,000 services, sequential): {summary['official_loop_s']:.2f} s"
        )
    imports = summary["imports"]
    if imports:
        lines.append(
            f"plan imports: {imports['modules']} modules, {imports['ms']:.0f} ms under "
            f"-X importtime; before its first request {imports['before_first_request_modules']} "
            f"modules, {imports['before_first_request_ms']:.0f} ms "
            f"(budget {imports['budget_ms']:.0f} ms)"
        )
        if imports.get("vs_reader") is not None:
            lines.append(
                f"  the minimal reader imports {imports['reader_ms']:.0f} ms under -X importtime: "
                f"plan's imports before its first request are {imports['vs_reader']:.2f}x that "
                f"(budget {imports['budget_vs_reader']:.2f}x)"
            )
        heaviest = imports.get("before_first_request_by_package_ms", {})
        lines.append(
            "  before the first request, by package (ms, self times): "
            + ", ".join(f"{name} {ms:.0f}" for name, ms in heaviest.items())
        )
    for target in summary["targets"]:
        lines.append(f"target {target['target']}: {target['value']} -> "
                     f"{'holds' if target['holds'] else 'MISSED'}")  # fmt: skip
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, no latency, 1 run")
    parser.add_argument("--baseline-runs", type=int, default=1, help="official loop (0: skip)")
    parser.add_argument("--big", type=int, default=50_000, help="services of plan_big (0: skip)")
    parser.add_argument("--apply", type=int, default=500, help="terminations of apply (0: skip)")
    parser.add_argument(
        "--max-read-age", default="", help="apply's --max-read-age (default: apply's own)"
    )
    parser.add_argument("--rows", default="", help="comma-separated subset of the rows")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    args.latency_ms = 50.0
    args.small, args.large = 1000, 10_000
    if args.quick:
        args.runs, args.baseline_runs, args.latency_ms = 1, min(args.baseline_runs, 1), 0.0
        args.small, args.large = 20, 40
        args.big, args.apply = min(args.big, 60), min(args.apply, 10)
    args.rows = {r.strip() for r in args.rows.split(",") if r.strip()}
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = lambda name: not args.rows or name in args.rows  # noqa: E731
    rows: dict[str, Row] = {}
    baseline_s: float | None = None
    imports: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="reconciler-paths-") as folder:
        workdir = Path(folder)
        env = bench_plan.clean_environment(workdir)
        if wanted("startup") or wanted("plan_1k_50ms"):
            items, work = account_items(args.small, workdir)
            spec = workdir / f"spec-{args.small}.yaml"
            replay = Replay(workdir, items, args.latency_ms, "small")
            try:
                check_plan(spec, replay.url, work, env, workdir)
                imports = import_budget(spec, replay.url, env, workdir)
                progress("startup, plan_1k_50ms...")
                if wanted("startup"):
                    rows["startup"] = row_startup(replay, spec, env, workdir, args.runs)
                if wanted("plan_1k_50ms"):
                    rows["plan_1k_50ms"] = row_plan(
                        "plan_1k_50ms", replay, spec, env, workdir, args.runs
                    )
                    runs = [
                        timed(
                            [sys.executable, str(HERE / "bench_baseline.py"), replay.url],
                            env,
                            workdir,
                        )
                        for _ in range(args.baseline_runs)
                    ]
                    baseline_s = statistics.median(runs) if runs else None
            finally:
                replay.stop()
        if wanted("plan_10k_0ms") or wanted("services_10k"):
            items, work = account_items(args.large, workdir)
            spec = workdir / f"spec-{args.large}.yaml"
            replay = Replay(workdir, items, 0.0, "large")
            try:
                check_plan(spec, replay.url, work, env, workdir)
                progress("plan_10k_0ms, services_10k...")
                if wanted("plan_10k_0ms"):
                    rows["plan_10k_0ms"] = row_plan(
                        "plan_10k_0ms", replay, spec, env, workdir, args.runs
                    )
                if wanted("services_10k"):
                    rows["services_10k"] = row_services(replay, env, workdir, args.runs)
            finally:
                replay.stop()
        if args.big and wanted("plan_big"):
            progress("plan_big...")
            rows["plan_big"] = row_big(args, workdir, args.runs)
        if args.apply and wanted("apply_500_50ms"):
            progress("apply_500_50ms...")
            rows["apply_500_50ms"] = row_apply(args, workdir, args.runs)
    summary = {
        "benchmark": "reconciler paths",
        "runs": args.runs,
        "latency_ms": args.latency_ms,
        "rows": {name: row.figures() for name, row in rows.items()},
        "official_loop_s": round(baseline_s, 3) if baseline_s is not None else None,
        "imports": imports,
        "targets": verdicts(rows, baseline_s, imports) if not args.quick else [],
        "machine": bench_plan.machine(),
    }
    return bench_plan.emit(summary, table(summary), check=args.check)


if __name__ == "__main__":
    sys.exit(main())
