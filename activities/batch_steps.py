"""The batch activities' plain typed functions: prepare an input, begin and poll many analyses.

A batch (``orchestrators/analysis_batch.py``) calls these instead of one activity per step and
per document, so that a thousand-document job costs far fewer episodes:

- ``prepare_inputs``: for each of a few documents, side by side, ingest it and sign its grant
  (for the blob name the ingest writes, before the blob exists), then start its analysis: each
  document goes from its source to a running CU operation without waiting for its neighbours;
- ``begin_analyses``: start several prepared documents' analyses (those the pacer put off, or all
  of a batch after the job's analyzer check), each through ``cu_steps.begin_analysis``
  (so each keeps its own operation record and attempt count: a re-run starts nothing twice);
- ``poll_operations``: one poll of each due operation (``cu_steps.get_operation``);
- ``save_batch``: the batch's per-input fates and operation records, as one blob.

Begins and polls take their slots from the CU pacer (``storage/pacing.py``) first and send each
call at its slot's time; calls the pacer could not fit soon are returned ``deferred`` with a
``retry_at``, and the batch asks again then (on a durable timer, not in here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from activities.cu_steps import begin_analysis, get_operation
from content_understanding.client import THROTTLE_LISTENERS
from core.cancellation import JobCanceledError
from core.contracts.activities import (
    AnalysisInput,
    AnalysisItem,
    BeginAnalysesRequest,
    BeginAnalysesResult,
    BeginAnalysisRequest,
    GetOperationRequest,
    IssuedGrant,
    ItemFailure,
    PolledOperation,
    PollItem,
    PollOperationsRequest,
    PollOperationsResult,
    PreparedInput,
    PrepareInputsRequest,
    PrepareInputsResult,
    PrepareItem,
    SaveBatchRequest,
    SaveBatchResult,
    StartedAnalysis,
)
from core.contracts.wire import to_wire
from core.errors import ErrorInfo, PermanentError, TransientError, error_info
from core.jobs import to_iso
from core.layout import batch_record_key, input_blob
from core.naming import display_name
from core.pacing import Reservation
from core.redact import redact_text
from inputs.ingest import ingest_input, parse_source
from storage import grants, pacing
from storage.cancellation import SharedCancelCheck
from storage.results import save_result
from telemetry.activity import step_span
from telemetry.context import JobContext, job_scope, operation_id_from_location

logger = logging.getLogger(__name__)

THROTTLE_LISTENERS.append(pacing.note_throttled)

T = TypeVar("T")
# How long an item whose begin failed for now (CU or storage unavailable) waits before its next try.
TRANSIENT_RETRY_SECONDS = 5.0
# Items of one begin or poll call in flight at once. A batch hands such a call up to JOB_BATCH_SIZE
# (50) items and a host runs 20 activities at once: unbounded, a 1,000-document job had 1,000 CU
# calls and result uploads in flight in one worker. Ten at a time bounds that whatever N, and 50
# polls of about 100 ms still take half a second (bench/memory_bench.py measured the memory).
ITEM_CONCURRENCY = 10


async def prepare_inputs(request: PrepareInputsRequest) -> PrepareInputsResult:
    with pacing.paced_calls():
        return await _prepare_inputs(request)


async def _prepare_inputs(request: PrepareInputsRequest) -> PrepareInputsResult:
    """Each item through its own pipeline, side by side; one item's failure is its own result.

    An item whose ingest or grant failed for now comes back with a ``transient`` error: the batch
    prepares it again later (raising would make the host run every item again, and lose the
    operations its neighbours started). An item that finds the job canceled before its analysis
    starts comes back ``JobCanceled``.
    """

    canceled = SharedCancelCheck(request.job_id)

    async def prepare(item: PrepareItem) -> PreparedInput:
        with _item_scope(request.job_id, str(item.index)), step_span("prepare_input"):
            return await _prepare_one(request, item, canceled)

    outcomes = await _each(len(request.items), lambda index: prepare(request.items[index]))
    prepared: list[PreparedInput] = []
    for item, outcome in zip(request.items, outcomes, strict=True):
        if isinstance(outcome, BaseException):  # a cancel that came meanwhile is one item's JobCanceled
            error = error_info(outcome) if isinstance(outcome, PermanentError) else _transient(outcome)
            prepared.append(PreparedInput(index=item.index, error=error))
        else:
            prepared.append(outcome)
    return PrepareInputsResult(items=prepared)


async def _prepare_one(
    request: PrepareInputsRequest, item: PrepareItem, canceled: SharedCancelCheck
) -> PreparedInput:
    """Ingest and grant side by side; then, with ``analyze``, start the analysis at once."""
    source = parse_source(item.source)
    target = input_blob(request.job_id, item.index, display_name(source)).name
    ingested, granted = await asyncio.gather(
        ingest_input(request.job_id, item.index, source),
        grants.create_input_grant(request.job_id, target, must_exist=False),
        return_exceptions=True,
    )
    for outcome in (ingested, granted):  # the ingest's error first: it says what is wrong with the input
        if isinstance(outcome, BaseException):
            raise outcome
    assert not isinstance(ingested, BaseException)
    assert not isinstance(granted, BaseException)
    prepared = PreparedInput(
        index=item.index,
        input=ingested,
        grant=IssuedGrant(name=granted["grant"], expires_at=granted["expiresAt"]),
    )
    if request.analyze is None:
        return prepared
    target_analyzer = request.analyze
    # The boundary checked the cancel marker before the ingest; a cancel that came since must not
    # start a CU analysis (billed, and not stoppable at CU): the input stays ingested, unanalysed.
    if await canceled.requested():
        raise JobCanceledError(
            f"Job {request.job_id} was canceled: the analysis of input {item.index} did not start"
        )
    reservation = await pacing.reserve(request.job_id, [1])
    if not reservation.send_at:
        return replace(prepared, retry_at=_retry_at(reservation, ["deferred"]))
    await pacing.wait_until(reservation.send_at[0])
    try:
        started = await begin_analysis(
            BeginAnalysisRequest(
                job_id=request.job_id,
                key=str(item.index),
                analyzer_id=target_analyzer.analyzer_id,
                api_version=target_analyzer.api_version,
                inputs=[AnalysisInput(grant=granted["grant"], name=ingested.name)],
                model_deployments=target_analyzer.model_deployments,
            )
        )
    except PermanentError as error:  # the input made it; its analysis cannot start
        return replace(prepared, begin_error=error_info(error))
    except Exception:  # CU or storage unavailable for now: the batch begins it later
        logger.warning("Job %s: input %d: its analysis could not start now", request.job_id, item.index)
        return replace(prepared, retry_at=_iso(_now() + TRANSIENT_RETRY_SECONDS))
    return replace(
        prepared,
        started=StartedAnalysis(
            key=str(item.index),
            operation_location=started.operation_location,
            operation_id=started.operation_id,
            attempts=started.attempts,
        ),
    )


async def begin_analyses(request: BeginAnalysesRequest) -> BeginAnalysesResult:
    with pacing.paced_calls():
        return await _begin_analyses(request)


async def _begin_analyses(request: BeginAnalysesRequest) -> BeginAnalysesResult:
    """Start each item's analysis at its pacer slot; per item: started, failed, or deferred.

    A transient failure of one item does not fail the others: raising would make the host run the
    whole activity again, and an item whose operation started but could not be recorded would then
    be submitted twice. Such items are deferred instead (the batch begins them again shortly); only
    when every item failed transiently does the activity raise, for the host's retry policy.
    """
    reservation = await pacing.reserve(
        request.job_id, [1] * len(request.items), extra_pages=request.extra_pages
    )
    scheduled = request.items[: len(reservation.send_at)]

    async def begin(index: int) -> StartedAnalysis:
        item = scheduled[index]
        await pacing.wait_until(reservation.send_at[index])
        with _item_scope(request.job_id, item.key):
            return await _begin_one(request, item)

    outcomes = await _each(len(scheduled), begin)
    started = [outcome for outcome in outcomes if isinstance(outcome, StartedAnalysis)]
    failed, transient = _failures([item.key for item in scheduled], outcomes)
    deferred = [item.key for item in request.items[len(scheduled) :]]
    if transient and not started and not failed and not deferred:
        raise transient[0][1]  # nothing started: the host's retry policy may run it all again
    retry_at = reservation.retry_at if reservation.retry_at is not None else _now()
    if transient:
        logger.warning(
            "Job %s: %d analyses could not start now; trying again", request.job_id, len(transient)
        )
        deferred += [key for key, _ in transient]
        retry_at = max(retry_at, _now() + TRANSIENT_RETRY_SECONDS)
    return BeginAnalysesResult(
        started=started, failed=failed, deferred=deferred, retry_at=_iso(retry_at) if deferred else None
    )


async def _begin_one(request: BeginAnalysesRequest, item: AnalysisItem) -> StartedAnalysis:
    started = await begin_analysis(
        BeginAnalysisRequest(
            job_id=request.job_id,
            key=item.key,
            analyzer_id=request.analyzer_id,
            api_version=request.api_version,
            inputs=[AnalysisInput(grant=item.grant, name=item.name)],
            model_deployments=request.model_deployments,
        )
    )
    return StartedAnalysis(
        key=item.key,
        operation_location=started.operation_location,
        operation_id=started.operation_id,
        attempts=started.attempts,
    )


async def poll_operations(request: PollOperationsRequest) -> PollOperationsResult:
    with pacing.paced_calls():
        return await _poll_operations(request)


async def _poll_operations(request: PollOperationsRequest) -> PollOperationsResult:
    """Poll each item once, at its pacer slot; a poll that fails for now is reported, not raised."""
    reservation = await pacing.reserve(
        request.job_id, [0] * len(request.items), extra_pages=request.extra_pages
    )
    scheduled = request.items[: len(reservation.send_at)]

    async def poll(index: int) -> PolledOperation:
        item = scheduled[index]
        await pacing.wait_until(reservation.send_at[index])
        with _item_scope(request.job_id, item.key, item.operation_location), step_span("get_operation"):
            return await _poll_one(request, item)

    outcomes = await _each(len(scheduled), poll)
    polled: list[PolledOperation] = []
    for item, outcome in zip(scheduled, outcomes, strict=True):
        if isinstance(outcome, PolledOperation):
            polled.append(outcome)
        elif isinstance(outcome, PermanentError):
            polled.append(PolledOperation(key=item.key, status="Failed", error=error_info(outcome)))
        else:  # CU or storage unavailable: the operation runs on; the batch polls it again later
            polled.append(PolledOperation(key=item.key, status="Unknown", poll_error=_message(outcome)))
    deferred = [item.key for item in request.items[len(scheduled) :]]
    return PollOperationsResult(polled=polled, deferred=deferred, retry_at=_retry_at(reservation, deferred))


async def _poll_one(request: PollOperationsRequest, item: PollItem) -> PolledOperation:
    state = await get_operation(
        GetOperationRequest(
            job_id=request.job_id,
            key=item.key,
            kind="analysis",
            operation_location=item.operation_location,
        )
    )
    return PolledOperation(
        key=item.key,
        status=state.status,
        retry_after_seconds=state.retry_after_seconds,
        error=state.error,
        result_blob=state.result_blob,
        pages=state.pages,
    )


async def save_batch(request: SaveBatchRequest) -> SaveBatchResult:
    record = {
        "batch": request.batch,
        "inputs": request.inputs,
        "operations": [to_wire(operation) for operation in request.operations],
    }
    blob = await save_result(request.job_id, batch_record_key(request.batch), record)
    return SaveBatchResult(record_blob=blob)


@contextlib.contextmanager
def _item_scope(job_id: str, key: str, operation_location: str | None = None) -> Iterator[None]:
    """One item's telemetry context: its input index and CU operation, not its neighbours'.

    The items of one activity run side by side; each gets its own job context, so that the spans
    and log records of its CU calls name its own input (``telemetry/context.py``)."""
    index = int(key) if key.isdigit() else None
    operation = operation_id_from_location(operation_location)
    with job_scope(JobContext(job_id=job_id, input_index=index, cu_operation_id=operation)):
        yield


async def _each(count: int, work: Callable[[int], Awaitable[T]]) -> list[T | BaseException]:
    """``work(i)`` for every item, ``ITEM_CONCURRENCY`` at a time; each item's exception is its result."""
    limit = asyncio.Semaphore(ITEM_CONCURRENCY)

    async def bounded(index: int) -> T:
        async with limit:  # FIFO: items start in index order, as their pacer slots come
            return await work(index)

    return list(await asyncio.gather(*(bounded(index) for index in range(count)), return_exceptions=True))


def _failures(
    keys: list[str], outcomes: list[StartedAnalysis | BaseException]
) -> tuple[list[ItemFailure], list[tuple[str, BaseException]]]:
    failed: list[ItemFailure] = []
    transient: list[tuple[str, BaseException]] = []
    for key, outcome in zip(keys, outcomes, strict=True):
        if isinstance(outcome, PermanentError):
            failed.append(ItemFailure(key=key, error=error_info(outcome)))
        elif isinstance(outcome, BaseException):
            transient.append((key, outcome))
    return failed, transient


def _transient(error: BaseException) -> ErrorInfo:
    """A failure worth another try, as data (its message redacted, like every error in history)."""
    code = error.code if isinstance(error, TransientError) else type(error).__name__
    return {"code": code, "message": _message(error), "transient": True}


def _message(error: BaseException) -> str:
    text = str(error) if isinstance(error, TransientError) else f"{type(error).__name__}: {error}"
    return redact_text(text.split("\n", 1)[0])[:500]


def _retry_at(reservation: Reservation, deferred: list[str]) -> str | None:
    if not deferred:
        return None
    return _iso(reservation.retry_at if reservation.retry_at is not None else _now())


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _iso(moment: float) -> str:
    return to_iso(datetime.fromtimestamp(moment, UTC))
