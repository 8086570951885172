"""Benchmark: the app's peak memory for one per-document job of N documents (issue 13: "flat").

    .venv/bin/python -m bench.memory_bench [--counts 20,200,1000] [--analysis-seconds 1.0]
        [--latency-ms 100] [--tracemalloc FRAMES] [--output FILE]

What is measured is the process that runs the app, not this benchmark: for every N, a fresh
devhost **as a process** (``python -m devhost start``, what ``make serve`` runs) with the real
app, on its own Azurite and the emulated CU (its own process). The N inputs are staged as blobs
in the intake container (under ``_memory-bench/``, a folder the blob trigger ignores) before the
job, and the job is one JSON ``POST /api/analyses`` naming them, so neither this client nor the
app's HTTP function holds the documents. devhost first runs an untimed one-document job (imports,
connections, caches), then its peak is reset (``/proc/<pid>/clear_refs`` = 5, which resets
``VmHWM``) and the job of N runs while a thread samples ``VmRSS`` every 20 ms.

Rows (JSON under ``bench/results/``): ``count``, ``peak_rss_mb`` (``VmHWM`` over the job, else the
sampled peak), ``baseline_rss_mb`` (``VmRSS`` just before the job), ``growth_mb`` (peak minus
baseline), ``end_rss_mb``, ``wall_seconds``, ``cpu_seconds`` (devhost's), ``succeeded``,
``ratio_to_first`` (peak over the first count's peak). What to read is the ratio: flat memory is a
ratio near 1 whatever N.

``--tracemalloc FRAMES`` runs devhost under ``bench/memory_trace.py``: Python's allocations are
traced with FRAMES frames and the largest tracebacks at the traced peak are written next to the
results (tracing slows devhost several times and adds its own memory: use it to find what grows,
not for the numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from azure.storage.blob.aio import BlobServiceClient

from bench.cu_emulator_process import EmulatedService, EmulatorEndpoint, running_emulator_process
from bench.devhost_process import DEVHOST, DevhostProcess
from bench.load_bench import settings_for as load_settings
from bench.pipeline_bench import EMULATOR_KEY, RESULTS_DIR, sample_documents
from tests.support.azurite import running_azurite

MB = 1024 * 1024
STAGING_FOLDER = "_memory-bench"  # blobs under a folder starting with "_" start no job (blob trigger)


@dataclass(frozen=True)
class MemoryConfig:
    counts: tuple[int, ...] = (20, 200, 1000)
    service: EmulatedService = field(default_factory=EmulatedService)
    poll_initial_seconds: float = 1.0
    poll_max_seconds: float = 15.0
    status_poll_seconds: float = 0.5  # how often the client reads the job's status
    sample_seconds: float = 0.02  # how often VmRSS is read
    job_timeout_seconds: float = 900.0
    tracemalloc_frames: int = 0  # > 0: devhost runs under bench/memory_trace.py


@dataclass
class MemoryRow:
    count: int
    peak_rss_mb: float
    baseline_rss_mb: float
    growth_mb: float
    sampled_peak_rss_mb: float
    end_rss_mb: float
    wall_seconds: float
    cpu_seconds: float
    succeeded: int
    failed: int
    job_status: str
    rss_by_mapping: dict[str, float]  # at the job's end (RSS rarely shrinks: about the peak's)
    peak_at_seconds: float  # when the sampled peak was seen, from the job's start
    rss_timeline: list[tuple[float, float]]  # (seconds, MB) about every second
    max_threads: int  # devhost's threads (event loop, its pools): each may hold its own malloc arena
    hwm_reset: bool  # False: VmHWM could not be reset, peak_rss_mb is the sampled peak
    ratio_to_first: float | None = None
    trace_file: str | None = None


# /proc readers (Linux) ---------------------------------------------------------------------------


def status_field(pid: int, name: str) -> int:
    """A number field (``VmRSS``, ``VmHWM`` in kB; ``Threads``) of ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise KeyError(name)


def reset_peak(pid: int) -> bool:
    """Reset the process's ``VmHWM`` to its current RSS (Linux 4.0+); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_by_mapping(pid: int) -> dict[str, float]:
    """The process's RSS in MB by kind of mapping (``/proc/<pid>/smaps``), to tell what holds it.

    ``heap``: the main arena of malloc (brk); ``anon``: anonymous mappings (CPython's 1 MiB
    small-object arenas, other threads' malloc arenas, large allocations, thread stacks: the kernel
    merges neighbours, so their sizes do not tell them apart); ``files``: code and data mapped
    from files (the interpreter, extension modules, SQLite's shared memory).
    """
    kinds: dict[str, float] = {}
    kind = "files"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):  # a mapping's first line: range perms ... name
            name = head[5] if len(head) > 5 else ""
            kind = "heap" if name == "[heap]" else "files" if name.startswith("/") else "anon"
        elif head[0] == "Rss:":
            kinds[kind] = kinds.get(kind, 0.0) + int(head[1]) / 1024
    return {name: round(value, 1) for name, value in sorted(kinds.items())}


class RssWatch:
    """Samples another process's ``VmRSS`` on a thread: ``with RssWatch(pid) as w: ...; w.peak_kb``."""

    def __init__(self, pid: int, interval_seconds: float) -> None:
        self.pid = pid
        self.interval_seconds = interval_seconds
        self.peak_kb = 0
        self.peak_at_seconds = 0.0  # from the start of the watch
        self.max_threads = 0
        self.timeline: list[tuple[float, float]] = []  # (seconds, MB), about one a second
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-watch", daemon=True)

    def __enter__(self) -> RssWatch:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._sample()

    def _sample(self) -> None:
        try:
            rss_kb = status_field(self.pid, "VmRSS")
            self.max_threads = max(self.max_threads, status_field(self.pid, "Threads"))
        except (OSError, KeyError):
            return
        elapsed = time.perf_counter() - self._started
        if rss_kb > self.peak_kb:
            self.peak_kb, self.peak_at_seconds = rss_kb, elapsed
        if not self.timeline or elapsed - self.timeline[-1][0] >= 1.0:
            self.timeline.append((round(elapsed, 1), round(rss_kb / 1024, 1)))


# The run -----------------------------------------------------------------------------------------


def settings_for(config: MemoryConfig, storage: str, emulator: EmulatorEndpoint) -> dict[str, str]:
    """The load benchmark's app settings (no pacing: the emulated service has no quota), polling as
    configured here."""
    return {
        **load_settings(storage, emulator),
        "POLL_INITIAL_INTERVAL_SECONDS": f"{config.poll_initial_seconds:g}",
        "POLL_MAX_INTERVAL_SECONDS": f"{config.poll_max_seconds:g}",
    }


async def stage_inputs(storage: str, container: str, count: int) -> list[dict[str, str]]:
    """Upload ``count`` sample documents to the intake container; their blob references."""
    folder = f"{STAGING_FOLDER}/{uuid.uuid4().hex[:8]}"
    documents = sample_documents(min(count, 4))  # the samples cycle: four distinct files
    async with BlobServiceClient.from_connection_string(storage) as service:
        client = service.get_container_client(container)
        if not await client.exists():
            await client.create_container()
        limit = asyncio.Semaphore(32)

        async def upload(index: int) -> str:
            document = documents[index % len(documents)]
            name = f"{folder}/{index:05d}-{document.name[3:]}"
            async with limit:
                await client.upload_blob(name, document.data, overwrite=True)
            return name

        names = await asyncio.gather(*(upload(index) for index in range(count)))
    return [{"blob": f"{container}/{name}"} for name in names]


async def run_job(
    http: httpx.AsyncClient,
    inputs: list[dict[str, str]],
    *,
    poll_seconds: float,
    timeout: float,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Start one per-document job naming ``inputs``; its last status once it ended."""
    response = await http.post("/api/analyses", json={"mode": "per-document", "inputs": inputs})
    if response.status_code != 202:
        raise RuntimeError(f"POST /api/analyses answered {response.status_code}: {response.text}")
    job_id = response.json()["id"]
    async with asyncio.timeout(timeout):
        while True:
            status: dict[str, Any] = (await http.get(f"/api/analyses/{job_id}")).json()
            if status["status"] not in ("pending", "running"):
                return status
            await asyncio.sleep(poll_seconds)


async def measure(
    config: MemoryConfig, count: int, settings: dict[str, str], emulator: EmulatorEndpoint, work_dir: Path
) -> MemoryRow:
    """One fresh devhost: a one-document warm-up, then the job of ``count`` with its RSS watched."""
    await emulator.reset(config.service)
    container = settings.get("INTAKE_CONTAINER", "intake")
    storage = settings["DocumentStorage"]
    warm_inputs = await stage_inputs(storage, container, 1)
    inputs = await stage_inputs(storage, container, count)
    trace_file = work_dir / f"trace-{count}.txt" if config.tracemalloc_frames > 0 else None
    launcher = (
        DEVHOST
        if trace_file is None
        else ("-m", "bench.memory_trace", str(trace_file), str(config.tracemalloc_frames))
    )
    # The tracer writes its report on the way out: that takes a while at a large peak.
    stop_timeout = 60 if trace_file is None else 600
    with DevhostProcess(
        settings, work_dir / f"n{count}", launcher=launcher, stop_timeout=stop_timeout
    ) as host:
        base_url = f"http://127.0.0.1:{host.port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
            poll, timeout = config.status_poll_seconds, config.job_timeout_seconds
            await run_job(http, warm_inputs, poll_seconds=poll, timeout=timeout)
            await emulator.reset(config.service)
            baseline_kb = status_field(host.pid, "VmRSS")
            hwm_reset = reset_peak(host.pid)
            cpu_before = host.cpu_seconds()
            started = time.perf_counter()
            with RssWatch(host.pid, config.sample_seconds) as watch:
                status = await run_job(http, inputs, poll_seconds=poll, timeout=timeout)
            wall = time.perf_counter() - started
            used = host.cpu_seconds() - cpu_before
            hwm_kb = status_field(host.pid, "VmHWM")
            end_kb = status_field(host.pid, "VmRSS")
            mappings = rss_by_mapping(host.pid)
    fates = (status.get("summary") or {}).get("inputs") or []
    succeeded = sum(1 for fate in fates if fate.get("status") == "succeeded")
    peak_kb = max(hwm_kb, watch.peak_kb) if hwm_reset else watch.peak_kb
    return MemoryRow(
        count=count,
        peak_rss_mb=round(peak_kb / 1024, 1),
        baseline_rss_mb=round(baseline_kb / 1024, 1),
        growth_mb=round((peak_kb - baseline_kb) / 1024, 1),
        sampled_peak_rss_mb=round(watch.peak_kb / 1024, 1),
        end_rss_mb=round(end_kb / 1024, 1),
        wall_seconds=round(wall, 2),
        cpu_seconds=round(used, 2),
        succeeded=succeeded,
        failed=count - succeeded,
        job_status=str(status["status"]),
        rss_by_mapping=mappings,
        peak_at_seconds=round(watch.peak_at_seconds, 1),
        rss_timeline=watch.timeline,
        max_threads=watch.max_threads,
        hwm_reset=hwm_reset,
        trace_file=str(trace_file) if trace_file is not None else None,
    )


async def run_memory_benchmark(
    config: MemoryConfig, storage: str, emulator: EmulatorEndpoint, work_dir: Path
) -> list[MemoryRow]:
    """Every count on a fresh devhost against the given Azurite and emulator."""
    rows: list[MemoryRow] = []
    for count in config.counts:
        # One task hub per count: no count's instances are left for the next to list or purge.
        settings = settings_for(config, storage, emulator)
        rows.append(await measure(config, count, settings, emulator, work_dir))
        row = rows[-1]
        row.ratio_to_first = round(row.peak_rss_mb / rows[0].peak_rss_mb, 2)
        print(
            f"N={count}: peak {row.peak_rss_mb:.1f} MB (x{row.ratio_to_first:.2f}), "
            f"before {row.baseline_rss_mb:.1f} MB, +{row.growth_mb:.1f} MB, end {row.end_rss_mb:.1f} MB, "
            f"peak at {row.peak_at_seconds:.1f} s of {row.wall_seconds:.1f} s, "
            f"CPU {row.cpu_seconds:.1f} s, {row.succeeded}/{count} succeeded",
            flush=True,
        )
    return rows


def format_table(rows: list[MemoryRow]) -> str:
    lines = [
        "| N | peak RSS MB | x first | before job MB | growth MB | end MB | wall s | CPU s | succeeded |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.count} | {r.peak_rss_mb:.1f} | {r.ratio_to_first or 0:.2f} | {r.baseline_rss_mb:.1f} | "
            f"{r.growth_mb:.1f} | {r.end_rss_mb:.1f} | {r.wall_seconds:.1f} | {r.cpu_seconds:.1f} | "
            f"{r.succeeded}/{r.count} |"
        )
    return "\n".join(lines)


def write_results(config: MemoryConfig, rows: list[MemoryRow], output: Path | None = None) -> Path:
    result = {
        "config": {
            "counts": list(config.counts),
            "service": config.service.faults_json(),
            "pollInitialSeconds": config.poll_initial_seconds,
            "pollMaxSeconds": config.poll_max_seconds,
            "tracemallocFrames": config.tracemalloc_frames,
        },
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "rows": [asdict(row) for row in rows],
    }
    output = output or RESULTS_DIR / f"memory-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="20,200,1000", help="documents per job, comma-separated")
    parser.add_argument("--analysis-seconds", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument(
        "--tracemalloc", type=int, default=0, metavar="FRAMES", help="trace devhost's allocations"
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config = MemoryConfig(
        counts=tuple(int(n) for n in args.counts.split(",")),
        service=EmulatedService(args.analysis_seconds, args.latency_ms, args.retry_after),
        tracemalloc_frames=args.tracemalloc,
    )
    with (
        tempfile.TemporaryDirectory(prefix="memory-bench-") as work_dir,
        running_azurite() as azurite,
        running_emulator_process(EMULATOR_KEY) as emulator,
    ):
        rows = asyncio.run(run_memory_benchmark(config, azurite.connection_string, emulator, Path(work_dir)))
        output = write_results(config, rows, args.output)
        for row in rows:  # the traces live in the temporary folder: keep them beside the results
            if row.trace_file is not None:
                kept = output.with_name(f"{output.stem}-trace-{row.count}.txt")
                kept.write_text(Path(row.trace_file).read_text(encoding="utf-8"), encoding="utf-8")
                row.trace_file = str(kept)
        if config.tracemalloc_frames > 0:
            write_results(config, rows, output)
    print(format_table(rows))
    print(f"Results: {output}")
    return 0 if all(row.failed == 0 for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
