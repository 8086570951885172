"""The durable design: the real app (function_app.py) on devhost, driven through its HTTP API.

A job is one multipart ``POST /api/analyses`` with the N documents; the client then polls
``GET /api/analyses/{id}`` until the job ends, as a user (or ``make demo``) does. Timed from just
before the POST (so staging the uploads counts, as it does in the baselines) to the first status
answer that shows the job ended. devhost runs in this process on a real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from bench.pipeline_designs import DesignRun, Document
from content_understanding import close_content_understanding_client
from core.settings import get_settings
from devhost import DevHost
from devhost.durable.store import InstanceQuery
from storage.client import close_blob_service_client
from tests.support.azurite import REPO_ROOT


class DurableApp:
    """A running devhost with the app, and an HTTP client for its API."""

    def __init__(self, host: DevHost, http: httpx.AsyncClient, status_poll_seconds: float) -> None:
        self.host = host
        self.http = http
        self.status_poll_seconds = status_poll_seconds

    async def run(self, documents: list[Document], *, timeout: float) -> DesignRun:  # noqa: ASYNC109
        files: list[Any] = [("files", (document.name, document.data)) for document in documents]
        files.append(("request", (None, json.dumps({"mode": "per-document"}), "application/json")))
        stats = self.host.engine.stats  # devhost's counters, for the episodes this job costs
        episodes_before, activities_before = stats.episodes, stats.activities
        replayed_before, replay_cpu_before = stats.events_replayed, stats.replay_cpu_seconds
        run = DesignRun("durable", len(documents))
        started = time.perf_counter()
        response = await self.http.post("/api/analyses", files=files)
        if response.status_code != 202:
            raise RuntimeError(f"POST /api/analyses answered {response.status_code}: {response.text}")
        job_id = str(response.json()["id"])
        status_reads = 0
        async with asyncio.timeout(timeout):
            while True:
                status = (await self.http.get(f"/api/analyses/{job_id}")).json()
                status_reads += 1
                elapsed = time.perf_counter() - started
                progress = status.get("progress") or {}
                if progress and run.first_progress_seconds is None:
                    run.first_progress_seconds = elapsed
                if progress.get("done", 0) > 0 and run.first_done_seconds is None:
                    run.first_done_seconds = elapsed
                if status["status"] not in ("pending", "running"):
                    break
                await asyncio.sleep(self.status_poll_seconds)
        run.wall_seconds = elapsed
        fates = (status.get("summary") or {}).get("inputs") or []
        run.succeeded = sum(1 for fate in fates if fate["status"] == "succeeded")
        run.failed = len(documents) - run.succeeded
        run.operation_ids = [fate["operationId"] for fate in fates if fate.get("operationId")]
        run.details = {
            "jobId": job_id,
            "jobStatus": status["status"],
            "statusReads": status_reads,
            "error": status.get("error"),
            # Why documents failed, if any did (the first few: enough to tell a pattern).
            "failures": [
                {"index": fate["index"], **(fate.get("error") or {})}
                for fate in fates
                if fate["status"] != "succeeded"
            ][:5],
            "episodes": stats.episodes - episodes_before,
            "activities": stats.activities - activities_before,
            "eventsReplayed": stats.events_replayed - replayed_before,
            "replayCpuSeconds": round(stats.replay_cpu_seconds - replay_cpu_before, 3),
            **self.history_sizes(job_id),
        }
        return run

    def history_sizes(self, job_id: str) -> dict[str, Any]:
        """The job's own history and the largest of its orchestrations' (the batches')."""
        engine = self.host.engine
        sizes = {
            instance.instance_id: len(engine.history(instance.instance_id))
            for instance in engine.instances(InstanceQuery(prefix=job_id))
        }
        return {
            "jobHistoryEvents": sizes.get(job_id, 0),
            "largestHistoryEvents": max(sizes.values(), default=0),
            "orchestrations": len(sizes),
        }


@contextlib.asynccontextmanager
async def running_app(
    settings: Mapping[str, str], state_dir: Path, *, status_poll_seconds: float
) -> AsyncIterator[DurableApp]:
    """devhost running function_app.py with ``settings``, on a free loopback port."""
    get_settings.cache_clear()
    await close_content_understanding_client()
    host = DevHost(REPO_ROOT, settings=settings, state_dir=state_dir, blob_poll_interval=None)
    try:
        async with host, httpx.AsyncClient(base_url=host.base_url, timeout=60) as http:
            yield DurableApp(host, http, status_poll_seconds)
    finally:
        await close_content_understanding_client()
        await close_blob_service_client()
        get_settings.cache_clear()
