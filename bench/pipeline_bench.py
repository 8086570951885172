"""Benchmark: N documents through three designs, on the same Azurite and the same CU emulator.

    .venv/bin/python -m bench.pipeline_bench [--counts 1,5,20] [--analysis-seconds 1.0]
        [--latency-ms 100] [--retry-after 1.0] [--repeat 1] [--output FILE]

Designs (see ``bench/pipeline_designs.py`` and ``bench/pipeline_durable.py``):

- ``sequential``: one document after another, in one process, with the app's services;
- ``gather``: all documents at once with ``asyncio.gather`` (the single-process design replaced);
- ``durable``: the real app on devhost, one multipart ``POST /api/analyses``, status polled.

The quality bar (docs/performance.md): N documents cost about one document's latency, not N.
So what to read is the ratio of each design's N-document time to its own one-document time, and
durable / gather at the same N, all measured within one run on one machine, not the absolute
seconds. The run starts its own Azurite and CU emulator (a separate process) on free loopback
ports, prints a table and writes every number as JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.cu_emulator_process import EmulatedService, EmulatorEndpoint, running_emulator_process
from bench.pipeline_designs import Design, DesignRun, Document, run_gather, run_sequential
from bench.pipeline_durable import running_app
from bench.rss import RssSampler
from core.settings import get_settings
from tests.support.azurite import REPO_ROOT, running_azurite

DESIGNS = ("sequential", "gather", "durable")
RESULTS_DIR = REPO_ROOT / "bench" / "results"
SAMPLE_DOCUMENTS = REPO_ROOT / "samples" / "documents"
EMULATOR_KEY = "bench-emulator-key"


@dataclass(frozen=True)
class BenchConfig:
    counts: tuple[int, ...] = (1, 5, 20)
    designs: tuple[str, ...] = DESIGNS
    service: EmulatedService = field(default_factory=EmulatedService)
    # The app's polling settings (POLL_*), used by the durable app and the baselines alike. With
    # CU's Retry-After on every poll (as the emulator sends) they only matter without one.
    poll_initial_seconds: float = 1.0
    poll_max_seconds: float = 15.0
    repeat: int = 1  # runs per design and N; the median wall time is reported
    status_poll_seconds: float = 0.05  # how often the durable design's client reads the status API
    warm_up: bool = True  # one untimed one-document job per design first (imports, connections)
    job_timeout_seconds: float = 900.0
    sequential_max: int = 20  # larger N would take N times a document's latency: not run


@dataclass
class Row:
    """One design at one N: the median run of ``repeat``, with the emulator's counts."""

    design: str
    count: int
    wall_seconds: float
    wall_samples: list[float]
    first_done_seconds: float | None
    first_progress_seconds: float | None
    succeeded: int
    failed: int
    cpu_seconds: float  # CPU time of this process (all its threads) during the run
    polls_per_operation: float | None
    max_polls: int | None
    # From the emulator's poll times: when every operation had been polled once (so had begun),
    # and how long the job took after CU's last answer (fan-in, result document, clean-up).
    all_polled_seconds: float | None
    tail_seconds: float | None
    peak_rss_mb: float | None
    rss_growth_mb: float | None
    ratio_to_one_document: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchResult:
    config: dict[str, Any]
    environment: dict[str, Any]
    rows: list[Row]
    durable_over_gather: dict[int, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "environment": self.environment,
            "rows": [asdict(row) for row in self.rows],
            "durableOverGather": {str(n): ratio for n, ratio in self.durable_over_gather.items()},
        }


def sample_documents(count: int) -> list[Document]:
    """``count`` documents cycling through samples/documents (text, Markdown, PDF), named uniquely."""
    files = sorted(path for path in SAMPLE_DOCUMENTS.iterdir() if path.is_file())
    return [
        Document(f"{index:02d}-{files[index % len(files)].name}", files[index % len(files)].read_bytes())
        for index in range(count)
    ]


def bench_settings(
    config: BenchConfig, storage_connection_string: str, emulator: EmulatorEndpoint
) -> dict[str, str]:
    """The committed example settings, pointed at this run's Azurite and emulator."""
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    values: dict[str, str] = example["Values"]
    return {
        **values,
        "AzureWebJobsStorage": storage_connection_string,
        "DocumentStorage": storage_connection_string,
        "CONTENT_UNDERSTANDING_ENDPOINT": emulator.endpoint,
        "CONTENT_UNDERSTANDING_KEY": emulator.key,
        "POLL_INITIAL_INTERVAL_SECONDS": f"{config.poll_initial_seconds:g}",
        "POLL_MAX_INTERVAL_SECONDS": f"{config.poll_max_seconds:g}",
        "TASKHUB_NAME": f"bench{uuid.uuid4().hex[:8]}",
        # The emulated service has no quota here and the baselines do not pace: neither does the
        # app (the quota run, bench/quota_bench.py, measures the pacing).
        "CU_OPERATIONS_PER_MINUTE": "0",
        "CU_PAGES_PER_MINUTE": "0",
    }


@contextlib.contextmanager
def app_environment(settings: Mapping[str, str]) -> Iterator[None]:
    """The app's settings in ``os.environ`` (where the services read them) for the block only."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


async def run_benchmark(
    config: BenchConfig, storage_connection_string: str, emulator: EmulatorEndpoint, work_dir: Path
) -> BenchResult:
    """Every design at every N, on the given Azurite and emulator; devhost runs in this process."""
    settings = bench_settings(config, storage_connection_string, emulator)
    rows: list[Row] = []
    with app_environment(settings):
        async with running_app(
            settings, work_dir / "devhost", status_poll_seconds=config.status_poll_seconds
        ) as app:
            durable = partial(app.run, timeout=config.job_timeout_seconds)
            designs: dict[str, Design] = {
                "sequential": run_sequential,
                "gather": run_gather,
                "durable": durable,
            }
            if config.warm_up:
                for name in config.designs:
                    await emulator.reset(config.service)
                    await designs[name](sample_documents(1))
            for count in config.counts:
                for name in config.designs:
                    if name == "sequential" and count > config.sequential_max:
                        print(f"sequential at N={count}: skipped (--sequential-max {config.sequential_max})")
                        continue
                    rows.append(await _measure(designs[name], count, config, emulator))
                    print(f"  N={count} {name}: {rows[-1].wall_seconds:.2f} s", flush=True)
    _add_ratios(rows)
    return BenchResult(
        config=_config_json(config),
        environment={
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        rows=rows,
        durable_over_gather=_durable_over_gather(rows),
    )


async def _measure(
    design: Design,
    count: int,
    config: BenchConfig,
    emulator: EmulatorEndpoint,
) -> Row:
    samples: list[tuple[DesignRun, dict[str, Any], RssSampler, float]] = []
    for _ in range(config.repeat):
        await emulator.reset(config.service)
        cpu_started = time.process_time()
        with RssSampler() as rss:
            run = await design(sample_documents(count))
        samples.append((run, await emulator.stats(), rss, time.process_time() - cpu_started))
    walls = [sample[0].wall_seconds for sample in samples]
    run, stats, rss, cpu = sorted(samples, key=lambda sample: sample[0].wall_seconds)[(len(samples) - 1) // 2]
    polled = [stats["polls"][op]["times"] for op in run.operation_ids if op in stats["polls"]]
    polls = [len(times) for times in polled]
    phases = _poll_phases(run, polled)
    return Row(
        design=run.design,
        count=count,
        wall_seconds=run.wall_seconds,
        wall_samples=walls,
        first_done_seconds=run.first_done_seconds,
        first_progress_seconds=run.first_progress_seconds,
        succeeded=run.succeeded,
        failed=run.failed,
        cpu_seconds=cpu,
        polls_per_operation=statistics.fmean(polls) if polls else None,
        max_polls=max(polls) if polls else None,
        all_polled_seconds=phases[0],
        tail_seconds=phases[1],
        peak_rss_mb=_megabytes(rss.peak_bytes),
        rss_growth_mb=_megabytes(None if rss.peak_bytes is None else rss.peak_bytes - (rss.start_bytes or 0)),
        details=run.details,
    )


def _poll_phases(run: DesignRun, polled: list[list[float]]) -> tuple[float | None, float | None]:
    """(every operation polled once, job time after CU's last answer), from the poll times."""
    if not polled:
        return None, None
    all_polled = max(times[0] for times in polled) - run.started_at
    last_answer = max(times[-1] for times in polled) - run.started_at
    return all_polled, run.wall_seconds - last_answer


def _megabytes(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _add_ratios(rows: list[Row]) -> None:
    one = {row.design: row.wall_seconds for row in rows if row.count == 1}
    for row in rows:
        if row.design in one and one[row.design] > 0:
            row.ratio_to_one_document = row.wall_seconds / one[row.design]


def _durable_over_gather(rows: list[Row]) -> dict[int, float]:
    by_key = {(row.design, row.count): row.wall_seconds for row in rows}
    return {
        count: by_key[("durable", count)] / by_key[("gather", count)]
        for design, count in by_key
        if design == "durable" and by_key.get(("gather", count))
    }


def _config_json(config: BenchConfig) -> dict[str, Any]:
    data = asdict(config)
    data["service"] = config.service.faults_json()
    return data


def format_table(result: BenchResult) -> str:
    """The results as a Markdown table (readable in a terminal too)."""
    lines = [
        "| N | design | wall s | x 1-doc | first result s | all polled s | tail s | polls/op | CPU s "
        "| peak RSS MB | succeeded |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in result.rows:
        lines.append(
            f"| {row.count} | {row.design} | {row.wall_seconds:.2f} | {_number(row.ratio_to_one_document)} "
            f"| {_number(row.first_done_seconds)} | {_number(row.all_polled_seconds)} "
            f"| {_number(row.tail_seconds)} | {_number(row.polls_per_operation, 1)} | {row.cpu_seconds:.2f} "
            f"| {_number(row.peak_rss_mb, 0)} | {row.succeeded}/{row.count} |"
        )
    ratios = ", ".join(f"N={n}: {ratio:.2f}" for n, ratio in sorted(result.durable_over_gather.items()))
    if ratios:
        lines.append("")
        lines.append(f"durable / gather wall time: {ratios}")
    progress = [
        f"N={row.count}: {row.first_progress_seconds:.2f} s"
        for row in result.rows
        if row.design == "durable" and row.first_progress_seconds is not None
    ]
    if progress:
        lines.append(f"durable, first progress in the status API: {', '.join(progress)}")
    for row in result.rows:
        details = row.details
        if row.design == "durable" and "largestHistoryEvents" in details:
            lines.append(
                f"durable N={row.count}: largest history {details['largestHistoryEvents']} events "
                f"(job {details['jobHistoryEvents']}, {details['orchestrations']} orchestrations), "
                f"{details['episodes']} episodes, {details['activities']} activities, "
                f"replay CPU {details['replayCpuSeconds'] / row.count * 1000:.1f} ms/document, "
                f"{details['eventsReplayed'] / row.count:.0f} events replayed/document"
            )
    return "\n".join(lines)


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def write_results(result: BenchResult, output: Path | None = None) -> Path:
    """Write the JSON (default ``bench/results/pipeline-<UTC time>.json``); returns its path."""
    if output is None:
        output = RESULTS_DIR / f"pipeline-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return output


def parse_args(argv: list[str]) -> tuple[BenchConfig, Path | None]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--counts", default="1,5,20", help="document counts per job (default 1,5,20)")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="designs to run (default all three)")
    parser.add_argument("--analysis-seconds", type=float, default=1.0, help="emulated analysis duration")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="emulated CU response latency")
    parser.add_argument("--retry-after", type=float, default=1.0, help="CU Retry-After; 0: app backoff")
    parser.add_argument("--poll-initial", type=float, default=1.0, help="POLL_INITIAL_INTERVAL_SECONDS")
    parser.add_argument("--poll-max", type=float, default=15.0, help="POLL_MAX_INTERVAL_SECONDS")
    parser.add_argument("--repeat", type=int, default=1, help="runs per design and N (median reported)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default under bench/results/)")
    parser.add_argument(
        "--sequential-max", type=int, default=20, help="largest N the sequential design runs at (default 20)"
    )
    args = parser.parse_args(argv)
    try:
        counts = tuple(int(part) for part in args.counts.split(","))
    except ValueError:
        parser.error(f"--counts must be comma-separated whole numbers, got {args.counts!r}")
    designs = tuple(part.strip() for part in args.designs.split(","))
    if unknown := sorted(set(designs) - set(DESIGNS)):
        parser.error(f"unknown design(s) {', '.join(unknown)}; known: {', '.join(DESIGNS)}")
    if not counts or min(counts) < 1 or args.repeat < 1:
        parser.error("--counts and --repeat must be at least 1")
    if min(args.analysis_seconds, args.latency_ms, args.retry_after) < 0:
        parser.error("durations must not be negative")
    config = BenchConfig(
        counts=counts,
        designs=designs,
        service=EmulatedService(args.analysis_seconds, args.latency_ms, args.retry_after),
        poll_initial_seconds=args.poll_initial,
        poll_max_seconds=args.poll_max,
        repeat=args.repeat,
        sequential_max=args.sequential_max,
    )
    return config, args.output


def main(argv: list[str] | None = None) -> int:
    config, output = parse_args(sys.argv[1:] if argv is None else argv)
    print(
        f"Pipeline benchmark: N = {', '.join(map(str, config.counts))}; designs {', '.join(config.designs)}; "
        f"CU analysis {config.service.analysis_seconds:g} s, latency {config.service.latency_ms:g} ms, "
        f"Retry-After {config.service.retry_after:g} s; POLL_* {config.poll_initial_seconds:g}/"
        f"{config.poll_max_seconds:g} s",
        flush=True,
    )
    with (
        running_azurite() as azurite,
        running_emulator_process(EMULATOR_KEY) as emulator,
        tempfile.TemporaryDirectory(prefix="pipeline-bench-") as work_dir,
    ):
        result = asyncio.run(run_benchmark(config, azurite.connection_string, emulator, Path(work_dir)))
    print(format_table(result))
    path = write_results(result, output)
    print(f"Results: {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    failed = [row for row in result.rows if row.failed]
    if failed:
        print(f"{len(failed)} run(s) had failed documents: see the JSON's details", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
