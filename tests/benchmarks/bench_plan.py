"""Benchmark ``reconciler plan`` against the sandbox with injected latency (docs/benchmarks.md).

    .venv/bin/python tests/benchmarks/bench_plan.py [--services 1000] [--latency-ms 50]
        [--runs 5] [--baseline-runs N] [--concurrency 10] [--strategies iceberg,per-id]
        [--format text] [--planner-services 10000] [--planner-runs N] [--check]

A script, not a test (pytest collects ``test_*.py`` only). It

1. writes the workload of ``workload.py`` (N services of eight types, a spec naming 90 %
   of them with no-ops, terminations, cancellations, deletions and unmanaged services);
2. starts ``reconciler sandbox serve --seed ... --port 0 --state ... --latency-ms L``
   as a separate process (every ``/1.0`` call is delayed by L ms, ``/auth/time`` too);
3. for each strategy, runs ``reconciler plan`` once untimed (JSON, ``RECONCILER_DEBUG=1``:
   checks the plan's summary against the workload's, counts the API calls, warms the
   server's caches and the bytecode cache), then ``--runs`` times as a whole process,
   timed from spawn to exit, each run's exit code checked (2: changes present). Iceberg
   is the default; the per-id fallback is forced with ``RECONCILER_READ_STRATEGY=per-id``.
   Once, after the first checking run, one more untimed run under ``-X importtime``
   stops the benchmark if ``plan`` imports Pulumi, starlette, uvicorn, rich or the
   sandbox, and reports its import time;
4. runs the baseline (``bench_baseline.py``: a sequential loop over the official ``ovh``
   client) ``--baseline-runs`` times (default: ``--runs``; 0 skips it);
5. measures the pure pipeline in-process on ``--planner-services`` services, no network:
   JSON decoding, parsing into ``LiveService``, reading the spec, ``make_plan``, rendering.

Times are medians. The physical limit of a strategy is the round trips on its critical
path at its concurrency, times the latency: Iceberg ``/auth/time``, the first page, then
the other pages ``concurrency`` at a time; per-id ``/auth/time``, ``GET /services``, then
the N reads ``concurrency`` at a time: ``2 + ceil(N / concurrency)``. Peak RSS is the
plan process's own ``ru_maxrss`` (``os.wait4``), in MB of 10^6 bytes.

Output: a table on stdout, then one JSON line (the last line of stdout) with the
machine, the parameters, ``baseline_s``, one object per strategy under ``strategies``
(``plan_s``, ``limit_s``, ``ratio_to_limit``, ``speedup_vs_baseline``, ``peak_rss_mb``,
...), ``planner`` (CPU seconds per stage) and ``targets``. ``--check`` exits 1 when a
target that applies to the parameters does not hold. docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402  (the benchmark's own module, beside this script)

DEMO_KEYS = {
    "OVH_APPLICATION_KEY": "demo-ak",
    "OVH_APPLICATION_SECRET": "demo-as",
    "OVH_CONSUMER_KEY": "demo-ck",
}
EXIT_CHANGES = 2
SERVER_START_TIMEOUT = 300.0  # seeding 10,000 services takes a few seconds
STRATEGIES = ("iceberg", "per-id")

# The conditions the targets are stated for, and the targets (docs/benchmarks.md,
# "Results": the project's own performance promises for plan).
STANDING_SERVICES, STANDING_LATENCY_MS, STANDING_CONCURRENCY = 1000, 50.0, 10
ICEBERG_PLAN_LIMIT_S = 1.0
ICEBERG_MIN_SPEEDUP = 50.0
PER_ID_MAX_RATIO = 1.5
RSS_LIMIT_MB, RSS_MAX_SERVICES = 200.0, 10_000

_CALL_LOG = re.compile(r"^reconciler\.ovh: (GET|PUT|POST|DELETE) (\S+) -> ")
_IMPORT_LOG = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$")
# What `plan` must never import (docs/architecture.md): start-up time counts.
FORBIDDEN_IMPORTS = ("pulumi", "starlette", "uvicorn", "rich", "reconciler.sandbox")


# --- processes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float  # wall clock, spawn to exit
    cpu_seconds: float  # user + system of the process
    peak_rss_mb: float
    exit_code: int


def run_process(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    stdout: IO[bytes] | int,
    stderr: IO[bytes] | int,
) -> Run:
    """Run ``argv`` to completion; wall time and the child's own resource usage (not
    that of the sandbox server, which ``RUSAGE_CHILDREN`` would mix in)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss * 1024 / 1e6,  # ru_maxrss is in KiB on Linux
        exit_code=process.returncode,
    )


def reconciler_command() -> list[str]:
    """The console script users run, beside this interpreter (else ``-m reconciler``)."""
    script = Path(sys.executable).with_name("reconciler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler"]


def clean_environment(workdir: Path) -> dict[str, str]:
    """The environment of every measured process: no OVH_* or ovh.conf of the user's
    (HOME is the work directory), the sandbox's demo keys, no colour, no CI summary.

    Bytecode is cached, as an installed package has it (pip compiles on install), but
    under the work directory (``PYTHONPYCACHEPREFIX``), never in the source tree: with
    ``PYTHONDONTWRITEBYTECODE`` set, every run would compile reconciler from source."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OVH_", "RECONCILER_"))
        and key not in ("GITHUB_STEP_SUMMARY", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(DEMO_KEYS)
    env.update(
        HOME=str(workdir),
        NO_COLOR="1",
        RECONCILER_STATE_DIR=str(workdir / "state"),
        PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
    )
    return env


class SandboxServer:
    """``reconciler sandbox serve`` in its own process, on a free port."""

    def __init__(self, workdir: Path, seed: Path, latency_ms: float) -> None:
        self._log = open(workdir / "sandbox.log", "wb")  # noqa: SIM115 (closed in stop)
        argv = [
            *reconciler_command(),
            "sandbox",
            "serve",
            "--seed",
            str(seed),
            "--port",
            "0",
            "--state",
            str(workdir / "sandbox.db"),
            "--latency-ms",
            f"{latency_ms:g}",
        ]
        self.process = subprocess.Popen(
            argv,
            env=clean_environment(workdir),
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.url = self._wait_for_url(workdir)

    def _wait_for_url(self, workdir: Path) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        line = ""
        while time.monotonic() < deadline and not line:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
        match = re.match(r"sandbox: serving (\S+)", line)
        if match is None:
            self.stop()
            log = (workdir / "sandbox.log").read_text(errors="replace")
            raise SystemExit(f"the sandbox server did not start:\n{line}{log}")
        return match.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # serve stops cleanly on SIGTERM
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


# --- the measures ----------------------------------------------------------------------


@dataclass(slots=True)
class StrategyResult:
    strategy: str
    runs: list[Run] = field(default_factory=list)
    calls: int = 0  # API calls of the untimed checking run
    expected_calls: int = 0
    round_trips: int = 0  # on the critical path
    limit_s: float = 0.0
    imports: Imports | None = None  # measured on the first strategy only

    @property
    def plan_s(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu_s(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(run.peak_rss_mb for run in self.runs)


def critical_path(strategy: str, services: int, concurrency: int) -> tuple[int, int]:
    """(round trips on the critical path, API calls in all) of reading ``services``."""
    from reconciler.ovh.client import DEFAULT_PAGE_SIZE

    if strategy == "per-id":
        return 2 + math.ceil(services / concurrency), 2 + services
    pages = max(1, math.ceil(services / DEFAULT_PAGE_SIZE))
    return 2 + math.ceil((pages - 1) / concurrency), 1 + pages


def measure_strategy(
    strategy: str,
    *,
    args: argparse.Namespace,
    work: workload.Workload,
    workdir: Path,
    url: str,
) -> StrategyResult:
    env = clean_environment(workdir)
    if strategy == "per-id":
        env["RECONCILER_READ_STRATEGY"] = "per-id"
    base = [
        *reconciler_command(),
        "plan",
        "spec.yaml",
        "--endpoint",
        url,
        "--concurrency",
        str(args.concurrency),
        "--detailed-exitcode",
    ]
    round_trips, expected_calls = critical_path(strategy, work.services, args.concurrency)
    result = StrategyResult(
        strategy=strategy,
        round_trips=round_trips,
        expected_calls=expected_calls,
        limit_s=round_trips * args.latency_ms / 1000,
    )
    result.calls = check_plan(base, env=env, workdir=workdir, work=work, strategy=strategy)
    if strategy == args.strategies[0]:
        result.imports = check_imports(base, env=env, workdir=workdir)
    output = workdir / f"plan-{strategy}.out"
    for number in range(args.runs):
        with open(output, "wb") as out, open(workdir / "plan.err", "wb") as err:
            run = run_process(
                [*base, "--format", args.format], env=env, cwd=workdir, stdout=out, stderr=err
            )
        if run.exit_code != EXIT_CHANGES:
            fail(f"{strategy} run {number + 1}: plan exited {run.exit_code}", workdir / "plan.err")
        result.runs.append(run)
        progress(f"  {strategy} run {number + 1}/{args.runs}: {run.seconds:.3f} s")
    return result


def check_plan(
    base: Sequence[str],
    *,
    env: dict[str, str],
    workdir: Path,
    work: workload.Workload,
    strategy: str,
) -> int:
    """One untimed run: the plan must be the workload's; returns the API calls made."""
    debug = {**env, "RECONCILER_DEBUG": "1"}  # logs every API call on stderr
    with open(workdir / "check.json", "wb") as out, open(workdir / "check.err", "wb") as err:
        run = run_process(
            [*base, "--format", "json"], env=debug, cwd=workdir, stdout=out, stderr=err
        )
    if run.exit_code != EXIT_CHANGES:
        fail(f"{strategy}: plan exited {run.exit_code}, not 2", workdir / "check.err")
    plan = json.loads((workdir / "check.json").read_text())
    if plan["summary"] != work.expected_summary:
        raise SystemExit(
            f"{strategy}: the plan's summary {plan['summary']} is not the workload's "
            f"{work.expected_summary}"
        )
    if len(plan["unmanaged"]) != work.expected_unmanaged:
        raise SystemExit(
            f"{strategy}: {len(plan['unmanaged'])} unmanaged services, expected "
            f"{work.expected_unmanaged}"
        )
    lines = (workdir / "check.err").read_text(errors="replace").splitlines()
    return sum(1 for line in lines if _CALL_LOG.match(line))


@dataclass(frozen=True, slots=True)
class Imports:
    seconds: float  # the top-level imports' cumulative time, under -X importtime
    modules: int
    forbidden: tuple[str, ...]


def check_imports(base: Sequence[str], *, env: dict[str, str], workdir: Path) -> Imports:
    """One untimed run under ``-X importtime`` (``PYTHONPROFILEIMPORTTIME``), after the
    checking run has compiled the bytecode: what ``plan`` imports, and how long it takes.
    Importing any of ``FORBIDDEN_IMPORTS`` stops the benchmark."""
    profiled = {**env, "PYTHONPROFILEIMPORTTIME": "1"}
    with open(workdir / "imports.err", "wb") as err:
        run = run_process(base, env=profiled, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err)
    if run.exit_code != EXIT_CHANGES:
        fail(f"plan under -X importtime exited {run.exit_code}", workdir / "imports.err")
    imports = read_import_log((workdir / "imports.err").read_text(errors="replace"))
    if imports.forbidden:
        raise SystemExit(f"plan imported what it does not use: {', '.join(imports.forbidden)}")
    return imports


def read_import_log(text: str) -> Imports:
    """The ``-X importtime`` lines of ``text`` (other lines are ignored): the top-level
    imports' cumulative time, the modules, and those of ``FORBIDDEN_IMPORTS``."""
    seconds, modules = 0.0, set()
    for line in text.splitlines():
        match = _IMPORT_LOG.match(line)
        if match is None:
            continue
        modules.add(match.group(3))
        if len(match.group(2)) == 1:  # a top-level import: its time includes its children
            seconds += int(match.group(1)) / 1e6
    forbidden = sorted(
        module
        for module in modules
        if any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IMPORTS)
    )
    return Imports(seconds=seconds, modules=len(modules), forbidden=tuple(forbidden))


def measure_baseline(
    *, args: argparse.Namespace, work: workload.Workload, workdir: Path, url: str
) -> list[Run]:
    env = clean_environment(workdir)
    runs: list[Run] = []
    for number in range(args.baseline_runs):
        output = workdir / "baseline.out"
        with open(output, "wb") as out, open(workdir / "baseline.err", "wb") as err:
            run = run_process(
                [sys.executable, str(HERE / "bench_baseline.py"), url],
                env=env,
                cwd=workdir,
                stdout=out,
                stderr=err,
            )
        if run.exit_code != 0 or output.read_text().strip() != str(work.services):
            fail(f"baseline run {number + 1} failed", workdir / "baseline.err")
        runs.append(run)
        progress(f"  baseline run {number + 1}/{args.baseline_runs}: {run.seconds:.2f} s")
    return runs


def measure_planner(services: int, runs: int, workdir: Path) -> dict[str, Any]:
    """CPU seconds (median of ``runs``) of each pure stage for ``services`` services,
    in this process, on the JSON the sandbox answers (taken from its backend, no HTTP),
    with the cyclic collector off, as ``plan`` runs these stages
    (``reconciler.cli.plan``)."""
    import gc

    from reconciler.core.live import LiveAccount, parse_service
    from reconciler.core.planfile import dump_plan
    from reconciler.core.planner import make_plan
    from reconciler.ovh.responses import decode_json
    from reconciler.render import json as json_render
    from reconciler.render import markdown, text
    from reconciler.sandbox import open_state
    from reconciler.sandbox.seed import seed_from_mapping

    work = workload.build(services)
    backend = open_state(workdir / "planner.db", seed=seed_from_mapping(work.seed))
    try:
        now = backend.now()
        pages: list[bytes] = []
        number = 1
        while True:
            page = backend.services_page(size=1000, number=number)
            if not page.items:
                break
            pages.append(json.dumps(page.items).encode())
            number += 1
    finally:
        backend.close()
    spec_bytes = work.spec_yaml.encode()

    from reconciler.core.spec import parse_spec

    state: dict[str, Any] = {}

    def decode() -> None:
        state["raw"] = [
            decode_json(page, status=200, method="GET", path="/services") for page in pages
        ]

    def parse() -> None:
        state["account"] = LiveAccount.from_services(
            parse_service(item) for page in state["raw"] for item in page
        )

    def spec() -> None:
        state["spec"] = parse_spec(spec_bytes, "spec.yaml")

    def plan() -> None:
        state["plan"] = make_plan(state["spec"], state["account"], now=now, endpoint="bench")

    stages: list[tuple[str, Callable[[], None]]] = [
        ("decode_json", decode),
        ("parse_services", parse),
        ("load_spec", spec),
        ("make_plan", plan),
        ("render_text", lambda: state.__setitem__("out", text.render(state["plan"]))),
        ("render_markdown", lambda: state.__setitem__("out", markdown.render(state["plan"]))),
        ("render_json", lambda: state.__setitem__("out", json_render.render(state["plan"]))),
        ("dump_plan", lambda: state.__setitem__("out", dump_plan(state["plan"]))),
    ]
    timings: dict[str, list[float]] = {name: [] for name, _ in stages}
    gc.disable()
    try:
        for _ in range(runs):
            for name, stage in stages:
                started = time.process_time()
                stage()
                timings[name].append(time.process_time() - started)
    finally:
        gc.enable()
    if state["plan"].summary != work.expected_summary:
        raise SystemExit(f"planner: summary {state['plan'].summary} is not the workload's")
    medians = {name: round(statistics.median(values), 4) for name, values in timings.items()}
    return {"services": services, "runs": runs, "cpu_s": medians}


# --- report ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "-C", str(REPOSITORY), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_1min": round(os.getloadavg()[0], 2),
        "commit": commit or None,
    }


def targets(
    args: argparse.Namespace,
    results: dict[str, StrategyResult],
    baseline_s: float | None,
) -> list[dict[str, Any]]:
    """Each target of docs/benchmarks.md that applies to these parameters, and whether it
    holds."""
    design = (
        args.services == STANDING_SERVICES
        and args.latency_ms == STANDING_LATENCY_MS
        and args.concurrency == STANDING_CONCURRENCY
    )
    found: list[dict[str, Any]] = []

    def add(name: str, value: float, limit: float, holds: bool) -> None:
        found.append({"target": name, "value": round(value, 3), "limit": limit, "holds": holds})

    iceberg, per_id = results.get("iceberg"), results.get("per-id")
    if design and iceberg is not None:
        holds = iceberg.plan_s < ICEBERG_PLAN_LIMIT_S
        add("iceberg plan_s < 1.0", iceberg.plan_s, ICEBERG_PLAN_LIMIT_S, holds)
        if baseline_s is not None:
            speedup = baseline_s / iceberg.plan_s
            holds = speedup >= ICEBERG_MIN_SPEEDUP
            add("iceberg speedup_vs_baseline >= 50", speedup, ICEBERG_MIN_SPEEDUP, holds)
    if design and per_id is not None:
        ratio = per_id.plan_s / per_id.limit_s
        add("per-id ratio_to_limit <= 1.5", ratio, PER_ID_MAX_RATIO, ratio <= PER_ID_MAX_RATIO)
    if args.services <= RSS_MAX_SERVICES:
        for result in results.values():
            holds = result.peak_rss_mb < RSS_LIMIT_MB
            add(f"{result.strategy} peak_rss_mb < 200", result.peak_rss_mb, RSS_LIMIT_MB, holds)
    return found


def report(
    args: argparse.Namespace,
    results: dict[str, StrategyResult],
    baseline: list[Run],
    planner: dict[str, Any] | None,
) -> dict[str, Any]:
    baseline_s = statistics.median(run.seconds for run in baseline) if baseline else None
    strategies: dict[str, Any] = {}
    imports: dict[str, Any] | None = None
    for name, result in results.items():
        if result.imports is not None:
            imports = {
                "seconds": round(result.imports.seconds, 3),
                "modules": result.imports.modules,
                "forbidden": list(result.imports.forbidden),
            }
        strategies[name] = {
            "plan_s": round(result.plan_s, 3),
            "plan_runs_s": [round(run.seconds, 3) for run in result.runs],
            "plan_cpu_s": round(result.cpu_s, 3),
            "round_trips": result.round_trips,
            "calls": result.calls,
            "limit_s": round(result.limit_s, 3),
            "ratio_to_limit": round(result.plan_s / result.limit_s, 2) if result.limit_s else None,
            "speedup_vs_baseline": round(baseline_s / result.plan_s, 1) if baseline_s else None,
            "peak_rss_mb": round(result.peak_rss_mb, 1),
        }
    return {
        "benchmark": "reconciler plan",
        "services": args.services,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "format": args.format,
        "runs": args.runs,
        "baseline_runs": len(baseline),
        "baseline_s": round(baseline_s, 3) if baseline_s is not None else None,
        "baseline_runs_s": [round(run.seconds, 3) for run in baseline],
        "strategies": strategies,
        "imports": imports,
        "planner": planner,
        "targets": targets(args, results, baseline_s),
        "machine": machine(),
    }


def table(summary: dict[str, Any]) -> str:
    rows = [
        f"reconciler plan: {summary['services']} services, {summary['latency_ms']:g} ms latency, "
        f"concurrency {summary['concurrency']}, median of {summary['runs']} runs",
        f"{'':<22}{'plan s':>9}{'limit s':>9}{'ratio':>8}{'vs base':>9}{'RSS MB':>8}"
        f"{'CPU s':>7}{'calls':>7}",
    ]
    for name, figures in summary["strategies"].items():
        ratio, speedup = figures["ratio_to_limit"], figures["speedup_vs_baseline"]
        rows.append(
            f"{name:<22}{figures['plan_s']:>9.3f}{figures['limit_s']:>9.3f}"
            f"{(f'{ratio:.2f}' if ratio else '-'):>8}"
            f"{(f'{speedup:.0f}x' if speedup else '-'):>9}{figures['peak_rss_mb']:>8.1f}"
            f"{figures['plan_cpu_s']:>7.2f}{figures['calls']:>7}"
        )
    if summary["baseline_s"] is not None:
        rows.append(
            f"{'official client loop':<22}{summary['baseline_s']:>9.3f}"
            f"   (median of {summary['baseline_runs']})"
        )
    imports = summary["imports"]
    if imports:
        rows.append(
            f"plan start-up imports: {imports['modules']} modules, {imports['seconds']:.3f} s "
            f"under -X importtime; none of {', '.join(FORBIDDEN_IMPORTS)}"
        )
    planner = summary["planner"]
    if planner:
        stages = ", ".join(f"{k} {v:.3f}" for k, v in planner["cpu_s"].items())
        rows.append(f"pure pipeline, {planner['services']} services, CPU s: {stages}")
    for target in summary["targets"]:
        verdict = "holds" if target["holds"] else "MISSED"
        rows.append(f"target {target['target']}: {target['value']} -> {verdict}")
    return "\n".join(rows)


# --- main ------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fail(message: str, log: Path) -> None:
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise SystemExit(f"{message}\n{tail}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark `reconciler plan` against the sandbox (docs/benchmarks.md)."
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per strategy")
    parser.add_argument(
        "--baseline-runs",
        type=int,
        default=None,
        help="runs of the official-client loop (default: --runs; 0 skips it; it takes "
        "about services x latency each)",
    )
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--strategies",
        default=",".join(STRATEGIES),
        help="comma-separated: iceberg, per-id (default both)",
    )
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument(
        "--planner-services",
        type=int,
        default=10_000,
        help="services for the in-process pure pipeline measure (0 skips it)",
    )
    parser.add_argument("--planner-runs", type=int, default=None, help="default: --runs")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when an applicable target is missed"
    )
    args = parser.parse_args(argv)
    args.strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = set(args.strategies) - set(STRATEGIES)
    if unknown:
        parser.error(f"unknown strategies: {', '.join(sorted(unknown))}")
    if args.services < 1 or args.runs < 1 or args.concurrency < 1:
        parser.error("--services, --runs and --concurrency are at least 1")
    if args.baseline_runs is None:
        args.baseline_runs = args.runs
    if args.planner_runs is None:
        args.planner_runs = args.runs
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = workload.build(args.services)
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as folder:
        workdir = Path(folder)
        (workdir / "seed.json").write_text(json.dumps(work.seed))
        (workdir / "spec.yaml").write_text(work.spec_yaml)
        progress(f"seeding and starting the sandbox ({args.services} services)...")
        server = SandboxServer(workdir, workdir / "seed.json", args.latency_ms)
        try:
            results: dict[str, StrategyResult] = {}
            for strategy in args.strategies:
                progress(f"plan, {strategy}:")
                results[strategy] = measure_strategy(
                    strategy, args=args, work=work, workdir=workdir, url=server.url
                )
            progress("baseline (official client, sequential):" if args.baseline_runs else "")
            baseline = measure_baseline(args=args, work=work, workdir=workdir, url=server.url)
        finally:
            server.stop()
        planner = None
        if args.planner_services and args.planner_runs:
            progress(f"pure pipeline, {args.planner_services} services...")
            planner = measure_planner(args.planner_services, args.planner_runs, workdir)
    summary = report(args, results, baseline, planner)
    return emit(summary, table(summary), check=args.check)


def emit(summary: dict[str, Any], rendered: str, *, check: bool) -> int:
    """Print the table and the one-line JSON; the exit status is 1 when ``check`` is
    asked and a target was missed (both benchmarks end so)."""
    print(rendered)
    print(json.dumps(summary, separators=(",", ":")))
    missed = [t for t in summary["targets"] if not t["holds"]]
    return 1 if check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
