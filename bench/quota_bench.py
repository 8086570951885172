"""Benchmark: one big job against a CU quota. Does the app keep to the quota, and how close to it?

    .venv/bin/python -m bench.quota_bench [--documents 1000] [--operations-per-minute 600]
        [--analysis-seconds 1.0] [--latency-ms 100] [--output FILE]

The emulated CU (its own process) enforces ``--operations-per-minute`` over a sliding minute and
answers 429 with ``Retry-After`` beyond it (``emulators/content_understanding/quotas.py``); the
app (devhost in this process, real clock) is told the same quota (``CU_OPERATIONS_PER_MINUTE``).
One multipart ``POST /api/analyses`` with N documents, then the status until it ends.

The quota's bound: every document costs at least two calls (start the analysis, poll it once it
is done), so the job cannot end sooner than ``2 N / (quota per second)``. Reported: the wall
time over that bound, the calls the emulator counted (over the same bound: calls beyond two per
document), and the 429s it answered (the app's own pace should cause none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.cu_emulator_process import EmulatedService, running_emulator_process
from bench.pipeline_bench import (
    EMULATOR_KEY,
    RESULTS_DIR,
    BenchConfig,
    app_environment,
    bench_settings,
    sample_documents,
)
from bench.pipeline_durable import running_app
from tests.support.azurite import running_azurite


async def quota_run(
    documents: int, per_minute: int, service: EmulatedService, work_dir: Path
) -> dict[str, Any]:
    with running_azurite() as azurite, running_emulator_process(EMULATOR_KEY) as emulator:
        settings = bench_settings(BenchConfig(service=service), azurite.connection_string, emulator)
        settings |= {"CU_OPERATIONS_PER_MINUTE": str(per_minute), "CU_PAGES_PER_MINUTE": str(10 * per_minute)}
        await emulator.reset(service)
        async with httpx.AsyncClient(
            base_url=emulator.endpoint, headers={"Ocp-Apim-Subscription-Key": emulator.key}
        ) as cu:
            with app_environment(settings):
                async with running_app(settings, work_dir / "devhost", status_poll_seconds=0.5) as app:
                    (
                        await cu.post("/_emulator/quotas", json={"operationsPerMinute": per_minute})
                    ).raise_for_status()
                    run = await app.run(sample_documents(documents), timeout=3600)
            quotas = (await cu.get("/_emulator/quotas")).json()
    bound = 2 * documents / (per_minute / 60)
    return {
        "documents": documents,
        "operationsPerMinute": per_minute,
        "wallSeconds": round(run.wall_seconds, 2),
        "boundSeconds": round(bound, 2),
        "overBound": round(run.wall_seconds / bound, 3),
        "callsCounted": quotas["counted"],
        "callsPerDocument": round(quotas["counted"] / documents, 3),
        "throttled429": quotas["refused"],
        "succeeded": run.succeeded,
        "details": run.details,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quota_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--operations-per-minute", type=int, default=600)
    parser.add_argument("--analysis-seconds", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    service = replace(EmulatedService(), analysis_seconds=args.analysis_seconds, latency_ms=args.latency_ms)
    print(
        f"Quota run: {args.documents} documents, {args.operations_per_minute} operations a minute "
        f"(bound {2 * args.documents / (args.operations_per_minute / 60):.0f} s)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="quota-bench-") as work_dir:
        row = asyncio.run(quota_run(args.documents, args.operations_per_minute, service, Path(work_dir)))
    result = {
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "finishedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "rows": [row],
    }
    output = args.output or RESULTS_DIR / f"quota-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in row.items() if k != "details"}, indent=2))
    print(f"Results: {output}")
    return 0 if row["succeeded"] == args.documents else 1


if __name__ == "__main__":
    raise SystemExit(main())
