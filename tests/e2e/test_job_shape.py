"""The job's shape, read from real histories on devhost: what the orchestrators' docstrings claim.

- Stage 1 is one wave: the analyzer check and every batch's ingest+grant are scheduled in the
  job's first episode, and each batch schedules ``prepare_inputs`` for every document in its first.
- A per-document pipeline: each document's analysis starts in the activity that ingests it (its
  item of the result holds the started operation); no stage waits for the others' documents.
- Bounded histories: a batch's history depends on its size, not on the job's.

devhost runs the real SDK replay and the extension's action replay (devhost/durable/replay.py),
so what is scheduled in which episode here is what the Durable extension would record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from core.jobs import batch_instance_id
from devhost.durable.wire import EventType
from tests.e2e.conftest import sample

ORCHESTRATOR_STARTED = EventType.ORCHESTRATOR_STARTED
TASK_SCHEDULED, TASK_COMPLETED = EventType.TASK_SCHEDULED, EventType.TASK_COMPLETED
SUB_ORCHESTRATION_CREATED = EventType.SUB_ORCHESTRATION_INSTANCE_CREATED

FILES = ["invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md"]


def episodes(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The events each episode added, from its OrchestratorStarted to its OrchestratorCompleted."""
    found: list[list[dict[str, Any]]] = []
    for event in history:
        if event["EventType"] == ORCHESTRATOR_STARTED:
            found.append([])
        if found:
            found[-1].append(event)
    return found


def scheduled(episode: list[dict[str, Any]]) -> list[str]:
    """What an episode scheduled: activity names, and sub-orchestrations as name:instance."""
    names = []
    for event in episode:
        if event["EventType"] == TASK_SCHEDULED:
            names.append(event["Name"])
        if event["EventType"] == SUB_ORCHESTRATION_CREATED:
            names.append(f"{event['Name']}:{event['InstanceId']}")
    return names


def prepared_indexes(episode: list[dict[str, Any]]) -> list[int]:
    """The documents an episode's ``prepare_inputs`` calls were given, in order."""
    return [
        item["index"]
        for event in episode
        if event["EventType"] == TASK_SCHEDULED and event["Name"] == "prepare_inputs"
        for item in json.loads(event["Input"])["items"]
    ]


async def test_stage_one_is_one_wave_and_each_batch_prepares_every_document_at_once(
    start_stack: Callable[..., Any],
) -> None:
    async with start_stack(JOB_BATCH_SIZE="2") as stack:
        await stack.register("invoice-fields")  # an analyzer to ensure: the job checks it first
        files = [("files", name, sample(name)) for name in FILES]
        job_id = await stack.submit(files, {"analyzerId": "invoice-fields"})
        status = await stack.wait(job_id)
        job = stack.host.history(job_id)
        prepare = [stack.host.history(batch_instance_id(job_id, n, prepare=True)) for n in range(2)]
        analyse = [stack.host.history(batch_instance_id(job_id, n)) for n in range(2)]

    assert status["status"] == "succeeded", status
    first = scheduled(episodes(job)[0])
    # One wave: the analyzer's sub-orchestration and both batches, in the job's first episode.
    assert len(first) == 3, first
    assert first[0].startswith("ensure_analyzer:")
    assert sorted(first[1:]) == sorted(
        f"analysis_batch:{batch_instance_id(job_id, n, prepare=True)}" for n in range(2)
    )
    # Each batch schedules all of its documents' ingest+grant in its first episode (2 and 1).
    assert [scheduled(episodes(history)[0]) for history in prepare] == [["prepare_inputs"]] * 2
    assert [prepared_indexes(episodes(history)[0]) for history in prepare] == [[0, 1], [2]]
    # The analysis batches run only after the wave: the job's second scheduling episode.
    later = [names for episode in episodes(job)[1:] if (names := scheduled(episode))]
    assert later[0] == [f"analysis_batch:{batch_instance_id(job_id, n)}" for n in range(2)]
    # ... and start every prepared document's analysis at once.
    assert [scheduled(episodes(history)[0])[0] for history in analyse] == ["begin_analyses"] * 2


async def test_a_documents_analysis_starts_with_its_own_ingest(start_stack: Callable[..., Any]) -> None:
    async with start_stack(JOB_BATCH_SIZE="2") as stack:
        files = [("files", name, sample(name)) for name in FILES]
        job_id = await stack.submit(files, {"analyzerId": "prebuilt-document"})
        status = await stack.wait(job_id)
        job = stack.host.history(job_id)
        batches = [stack.host.history(batch_instance_id(job_id, n)) for n in range(2)]

    assert status["status"] == "succeeded", status
    assert scheduled(episodes(job)[0]) == [f"analysis_batch:{batch_instance_id(job_id, n)}" for n in range(2)]
    for history, size in zip(batches, (2, 1), strict=True):
        assert scheduled(episodes(history)[0]) == ["prepare_inputs"]
        every = [name for episode in episodes(history) for name in scheduled(episode)]
        assert "begin_analyses" not in every  # nothing waited for a stage to end
        (answer,) = [
            json.loads(event["Result"])
            for event in history
            if event["EventType"] == TASK_COMPLETED and '"items"' in (event.get("Result") or "")
        ]
        # The activity that ingested and granted each document also started its analysis.
        assert len(answer["items"]) == size
        assert all(item["started"]["operationId"] for item in answer["items"])
    # Progress and the summary are whole although no per-document line passed through the job.
    assert status["progress"] == {"total": 3, "ingested": 3, "failed": 0, "analyzing": 0, "done": 3}
    assert [fate["name"] for fate in status["summary"]["inputs"]] == FILES
    assert all(fate["operationId"] for fate in status["summary"]["inputs"])
    assert len(status["summary"]["operations"]) == 3
    # The job's history holds one line per batch, not per document.
    assert sum(1 for event in job if event["EventType"] == SUB_ORCHESTRATION_CREATED) == 2
