"""Benchmark: many users at once. K concurrent jobs of M documents, per design, on one host.

    .venv/bin/python -m bench.load_bench [--scenarios 10x5,50x4] [--designs gather,durable]
        [--repeat 3] [--analysis-seconds 1.0] [--latency-ms 100] [--output FILE] [--keep DIR]

- ``durable``: devhost **as a process** (``python -m devhost start``, what ``make serve`` runs)
  with the real app; K clients each ``POST /api/analyses`` (multipart, M documents) at once, then
  read their job's status every 100 ms until it ends;
- ``gather``: the single-process design it replaces, K ``asyncio.gather`` jobs at once in this
  process (``bench/pipeline_designs.py``).

Per scenario and design: ``jobs_per_minute`` (K over the time from the first submission to the
last job's end), ``p50_seconds``/``p95_seconds`` of the jobs' latencies (submission to the end
seen), and ``cpu_seconds`` of the process doing the work (devhost's, or this one's for gather).
Both designs run on the same Azurite and the same emulated CU (its own process); neither paces
(the emulated service has no quota: the quota run is ``bench/quota_bench.py``). JSON rows go to
``--output`` (default ``bench/results/load-<time>.json``). ``--keep DIR`` keeps devhost's state and
log (``DIR/devhost.log``) instead of a temporary folder, to look into a slow run afterwards.

``--repeat R`` runs every scenario R times, the designs in turn first (gather first, then durable
first, ...), each row tagged with its ``repeat``: on a shared machine one run's ratio moves a lot
(0.7 to 1.1 at 50x4 here), so ``durableOverGather`` holds the median of the R paired ratios (each
from the two designs run back to back) and ``durableOverGatherRuns`` every one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.cu_emulator_process import EmulatedService, EmulatorEndpoint, running_emulator_process
from bench.devhost_process import DevhostProcess
from bench.pipeline_bench import EMULATOR_KEY, RESULTS_DIR, app_environment, sample_documents
from bench.pipeline_designs import run_gather
from content_understanding import close_content_understanding_client
from storage.client import close_blob_service_client
from tests.support.azurite import REPO_ROOT, running_azurite

DESIGNS = ("gather", "durable")


@dataclass
class LoadRow:
    scenario: str
    design: str
    jobs: int
    documents_per_job: int
    jobs_per_minute: float
    p50_seconds: float
    p95_seconds: float
    cpu_seconds: float
    makespan_seconds: float
    succeeded_jobs: int
    latencies: list[float] = field(default_factory=list)
    repeat: int = 0


def parse_scenarios(text: str) -> list[tuple[int, int]]:
    scenarios = []
    for part in text.split(","):
        jobs, _, documents = part.strip().partition("x")
        scenarios.append((int(jobs), int(documents)))
    return scenarios


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def settings_for(storage: str, emulator: EmulatorEndpoint) -> dict[str, str]:
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    values: dict[str, str] = example["Values"]
    return {
        **values,
        "AzureWebJobsStorage": storage,
        "DocumentStorage": storage,
        "CONTENT_UNDERSTANDING_ENDPOINT": emulator.endpoint,
        "CONTENT_UNDERSTANDING_KEY": emulator.key,
        "TASKHUB_NAME": f"load{uuid.uuid4().hex[:8]}",
        "CU_OPERATIONS_PER_MINUTE": "0",
        "CU_PAGES_PER_MINUTE": "0",
    }


def row(
    scenario: str,
    design: str,
    jobs: int,
    documents: int,
    ends: list[tuple[float, bool]],
    cpu: float,
) -> LoadRow:
    """One scenario's row; ``ends``: each job's end, in seconds from the scenario's start, and
    whether it succeeded (every job starts at the scenario's start: its end is its latency)."""
    latencies = [end for end, _ in ends]
    makespan = max(latencies)
    return LoadRow(
        scenario=scenario,
        design=design,
        jobs=jobs,
        documents_per_job=documents,
        jobs_per_minute=jobs / makespan * 60,
        p50_seconds=percentile(latencies, 0.5),
        p95_seconds=percentile(latencies, 0.95),
        cpu_seconds=round(cpu, 2),
        makespan_seconds=round(makespan, 2),
        succeeded_jobs=sum(1 for _, ok in ends if ok),
        latencies=[round(value, 3) for value in latencies],
    )


async def run_gather_scenario(
    jobs: int, documents: int, settings: dict[str, str]
) -> tuple[list[tuple[float, bool]], float]:
    with app_environment(settings):
        cpu = time.process_time()
        started = time.perf_counter()

        async def one() -> tuple[float, bool]:
            run = await run_gather(sample_documents(documents))
            return time.perf_counter() - started, run.failed == 0

        ends = list(await asyncio.gather(*(one() for _ in range(jobs))))
        used = time.process_time() - cpu
        await close_content_understanding_client()
        await close_blob_service_client()
    return ends, used


async def run_durable_scenario(
    jobs: int, documents: int, host: DevhostProcess
) -> tuple[list[tuple[float, bool]], float]:
    cpu = host.cpu_seconds()
    limits = httpx.Limits(max_connections=jobs + 10)
    async with httpx.AsyncClient(base_url=host.base_url, timeout=120, limits=limits) as http:
        started = time.perf_counter()

        async def one() -> tuple[float, bool]:
            files: list[Any] = [("files", (d.name, d.data)) for d in sample_documents(documents)]
            response = await http.post("/api/analyses", files=files)
            response.raise_for_status()
            job_id = response.json()["id"]
            while True:
                status = (await http.get(f"/api/analyses/{job_id}")).json()
                if status["status"] not in ("pending", "running"):
                    return time.perf_counter() - started, status["status"] == "succeeded"
                await asyncio.sleep(0.1)

        ends = list(await asyncio.gather(*(one() for _ in range(jobs))))
    return ends, host.cpu_seconds() - cpu


async def warm_up(host: DevhostProcess, settings: dict[str, str]) -> None:
    await run_durable_scenario(1, 1, host)
    await run_gather_scenario(1, 1, settings)


async def run_load(
    scenarios: list[tuple[int, int]],
    designs: tuple[str, ...],
    service: EmulatedService,
    work_dir: Path,
    repeat: int = 1,
) -> list[LoadRow]:
    rows: list[LoadRow] = []
    with running_azurite() as azurite, running_emulator_process(EMULATOR_KEY) as emulator:
        settings = settings_for(azurite.connection_string, emulator)
        await emulator.reset(service)
        with DevhostProcess(settings, work_dir) as host:
            await warm_up(host, settings)
            for turn, (jobs, documents) in itertools.product(range(repeat), scenarios):
                scenario = f"{jobs}x{documents}"
                for design in designs if turn % 2 == 0 else designs[::-1]:
                    await emulator.reset(service)
                    if design == "durable":
                        ends, cpu = await run_durable_scenario(jobs, documents, host)
                    else:
                        ends, cpu = await run_gather_scenario(jobs, documents, settings)
                    rows.append(replace(row(scenario, design, jobs, documents, ends, cpu), repeat=turn))
                    last = rows[-1]
                    print(
                        f"{scenario} {design}: {last.jobs_per_minute:.1f} jobs/min, "
                        f"p50 {last.p50_seconds:.2f} s, p95 {last.p95_seconds:.2f} s, "
                        f"CPU {last.cpu_seconds:.2f} s, "
                        f"{last.succeeded_jobs}/{jobs} succeeded",
                        flush=True,
                    )
    return rows


def paired_ratios(rows: list[LoadRow]) -> dict[str, list[dict[str, float]]]:
    """Per scenario, durable over gather in each repetition (the two designs run back to back)."""
    by = {(r.scenario, r.design, r.repeat): r for r in rows}
    out: dict[str, list[dict[str, float]]] = {}
    for scenario, turn in dict.fromkeys((r.scenario, r.repeat) for r in rows):
        durable, gather = by.get((scenario, "durable", turn)), by.get((scenario, "gather", turn))
        if durable and gather:
            out.setdefault(scenario, []).append(
                {
                    "jobsPerMinute": round(durable.jobs_per_minute / gather.jobs_per_minute, 3),
                    "p50": round(durable.p50_seconds / gather.p50_seconds, 3),
                    "p95": round(durable.p95_seconds / gather.p95_seconds, 3),
                    "cpu": round(durable.cpu_seconds / gather.cpu_seconds, 3) if gather.cpu_seconds else 0.0,
                }
            )
    return out


def ratios(rows: list[LoadRow]) -> dict[str, dict[str, float]]:
    """Per scenario, the median of each paired ratio over the repetitions."""
    return {
        scenario: {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}
        for scenario, runs in paired_ratios(rows).items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="10x5,50x4", help="KxM: K concurrent jobs of M documents")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="gather, durable or both")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every scenario (medians reported)")
    parser.add_argument("--analysis-seconds", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep devhost's state and log here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    scenarios = parse_scenarios(args.scenarios)
    designs = tuple(d.strip() for d in args.designs.split(","))
    if unknown := set(designs) - set(DESIGNS):
        parser.error(f"unknown design(s): {', '.join(sorted(unknown))}")
    service = EmulatedService(args.analysis_seconds, args.latency_ms, 1.0)
    with (
        contextlib.nullcontext(str(args.keep))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="load-bench-") as work_dir
    ):
        rows = asyncio.run(run_load(scenarios, designs, service, Path(work_dir), args.repeat))
    result = {
        "config": {
            "scenarios": args.scenarios,
            "designs": list(designs),
            "repeat": args.repeat,
            "service": service.faults_json(),
        },
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "rows": [asdict(r) for r in rows],
        "durableOverGather": ratios(rows),
        "durableOverGatherRuns": paired_ratios(rows),
    }
    output = args.output or RESULTS_DIR / f"load-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result["durableOverGather"], indent=2))
    print(f"Results: {output}")
    return 0 if all(r.succeeded_jobs == r.jobs for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
