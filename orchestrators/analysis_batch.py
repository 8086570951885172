"""One batch of a per-document job: each document through its own pipeline, one poll per round.

The job (``orchestrators/analysis_job.py``) splits its inputs into batches of at most
``batchSize`` documents and runs each batch as this sub-orchestration, so that no history grows
with the job's size. Inside a batch there is no stage barrier:

- **prepare and begin**: ``prepare_inputs`` calls of at most ``DOCUMENTS_PER_PREPARE`` documents,
  all scheduled in the batch's first episode, take each document on its own: ingest it, sign its
  grant, start its analysis. A document's analysis starts as soon as its own ingest and grant are
  done, never waiting for its neighbours; a document whose preparation failed for now is prepared
  again alone, after a wait;
- **poll**: one ``poll_operations`` per round polls every operation that is due, each at its own
  time (CU's ``Retry-After``, else the backoff of ``core.jobs.next_poll_interval``); a durable
  timer wakes the batch at the next due time. A poll that cannot reach CU or storage is repeated
  after the backoff until the operation's deadline: the operation runs on at CU regardless;
- **begin later**: analyses the CU pacer put off, and (after the job's analyzer check) those of
  documents prepared earlier, start in one ``begin_analyses`` when their time comes.

**One live timer, cancelled before anything new is scheduled.** The Durable extension replays
the actions a Python orchestrator returns one yield at a time and waits for each before it issues
the next (``OutOfProcOrchestrationShim.ProcessAsyncActionsV2``); a ``task_any`` becomes a
``WhenAny`` over the tasks *new* in it only (the SDK leaves scheduled ones out). So a yield whose
only new task is a timer holds back everything scheduled after it until the timer fires. Every
yield that schedules something therefore carries the batch's one timer (the next poll, or an idle
one), and the next yield that schedules something cancels it first: a cancelled timer completes
the extension's ``WhenAny`` at once (``CreateTimer`` with a cancelled token), so nothing waits.
The fast tests' fake context checks exactly this (``tests/orchestrators/fake_context.py``).

Each episode does work proportional to the batch (at most ``batchSize`` documents), never to the
job. After ``ROUNDS_PER_EXECUTION`` poll rounds the batch continues as new with its documents'
states, so that a long wait keeps a short history. The CU pacer (``storage/pacing.py``) may defer
begins and polls: the activity says until when, and the batch waits on a timer.

**Cancel** (``core/cancellation.py``): the batch waits on the cancel event beside its work (its
own ``CancelSignal``, or the job's when it runs inline). The event's task is first yielded with
the batch's first work and its live timer, so it never holds back a yield (the timer's cancel
releases that yield as it releases any other). When the event comes, or a step refuses with
``JobCanceled`` (a batch the event missed), the batch cancels its timer, starts nothing more,
drains what is in flight (queued steps refuse at once), and ends: every document that had not
succeeded is ``skipped`` with ``JobCanceled``, an operation still running at CU is recorded
``Canceled`` (CU has no call to stop one), and no poll follows.

At the end ``save_batch`` stores the batch's per-input fates and operation records (one per
document, in input order; those never analysed ``Skipped``, or ``Failed`` with why) as a blob;
the job's history only receives counts and that blob's name. A batch run as a sub-orchestration
logs its failed inputs (telemetry ``input_failed``) after its last yield, so once. With
``prepare_only`` the batch stops once every document is prepared and returns them (the job's
``fail`` policy and its analyzer check need every input before any analysis).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import azure.durable_functions as df

from core import function_names as names
from core.cancellation import CANCELED_CODE, canceled_error
from core.contracts import activities as steps
from core.contracts.activities import (
    AnalysisItem,
    AnalysisTarget,
    BeginAnalysesRequest,
    BeginAnalysesResult,
    OperationRecord,
    PolledOperation,
    PollItem,
    PollOperationsRequest,
    PollOperationsResult,
    PreparedInput,
    PrepareInputsRequest,
    PrepareInputsResult,
    PrepareItem,
    SaveBatchRequest,
    StartedAnalysis,
)
from core.contracts.orchestrations import (
    BatchCounts,
    BatchDocument,
    BatchRequest,
    BatchResult,
    DocumentStatus,
)
from core.contracts.wire import from_wire, to_wire
from core.errors import ErrorInfo, InputError
from core.jobs import InputFate, from_iso, next_poll_interval, seconds, to_iso
from core.naming import display_name
from core.telemetry_fields import log_inputs_failed
from orchestrators.cancellation import CancelSignal, is_canceled
from orchestrators.context import DurableTask, DurableTimer, OrchestrationContext
from orchestrators.tasks import (
    Failed,
    Outcome,
    Pending,
    Succeeded,
    call_activity,
    raise_if_host_gave_up,
    wait,
)

bp = df.Blueprint()
logger = logging.getLogger(__name__)

# Poll rounds per execution before continue_as_new; with the default backoff (up to 15 s) an
# execution covers about 15 minutes of polling and its history stays under ~1,000 events.
ROUNDS_PER_EXECUTION = 60
TERMINAL = ("Succeeded", "Failed", "Canceled")
# A new timer is only set when it would fire this much earlier than the one waiting.
TIMER_SLACK_SECONDS = 0.05
# Operations due this soon are polled in the same round (CU's Retry-After is a hint, not a rule).
POLL_COALESCE_SECONDS = 0.5
# The timer a yield carries when nothing is due: cancelled by the next yield that schedules work.
IDLE_TIMER_SECONDS = 3600.0
# Documents per ``prepare_inputs`` call. Each call is an activity message, two history events and
# (as its answer comes) usually an episode that replays the batch's history: ten documents per call
# cut those tenfold, and a host runs ten times as many documents at once (each activity slot takes
# ten side by side), while each document still goes on to its analysis without its neighbours.
DOCUMENTS_PER_PREPARE = 10
# A document whose preparation failed for now is prepared again after this wait, as often as the
# host would retry an activity (``orchestrators.tasks.ACTIVITY_RETRY``: 10 attempts, 5 s apart).
PREPARE_RETRY_SECONDS = 5.0
PREPARE_ATTEMPTS = 10


@bp.function_name(names.ANALYSIS_BATCH)
@bp.orchestration_trigger(context_name="context")
def analysis_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    return (yield from run_analysis_batch(context))


def run_analysis_batch(context: OrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    """The batch; its output is a ``BatchResult`` as JSON (None when it continues as new)."""
    request = from_wire(BatchRequest, context.get_input())
    return (yield from _Batch(context, request).run())


@dataclass(frozen=True)
class InlineBatch:
    """How a batch run inline ended: its result, its record (``save_batch``'s, handed to the job's
    ``save_results`` instead of stored) and its failed inputs (index, error code) for telemetry."""

    result: BatchResult
    inputs: list[dict[str, Any]]
    operations: list[OperationRecord]
    failures: list[tuple[int, str]]


def run_batch_inline(
    context: OrchestrationContext, request: BatchRequest, status: dict[str, Any], cancel: CancelSignal
) -> Generator[Any, Any, InlineBatch]:
    """A job's only batch, run in the job's own orchestration (a small job needs no sub-orchestration).

    ``status``: the job's fields its custom status keeps; ``cancel``: the job's signal. It does not
    continue as new (that would restart the job): a batch's history is bounded by its size and the
    deadline's poll rounds. It saves no record of its own: the job hands it to ``save_results``
    (one activity fewer), and logs the failed inputs after its own last yield.
    """
    batch = _Batch(context, request, job_status=status, cancel=cancel)
    output = yield from batch.run()
    assert output is not None, "an inline batch never continues as new"
    inputs, operations = batch.record()
    return InlineBatch(from_wire(BatchResult, output), inputs, operations, batch.failures())


_DOCUMENT_FIELDS = tuple(field.name for field in dataclasses.fields(BatchDocument))


@dataclass
class _Doc:
    """A mutable ``BatchDocument``: one document's state inside this execution."""

    index: int
    name: str
    status: DocumentStatus
    source: dict[str, str] | None = None
    stored: Any = None  # StoredInput
    grant: str | None = None
    operation_id: str | None = None
    operation_location: str | None = None
    attempts: int = 1
    polls: int = 0
    next_poll_at: str | None = None
    deadline_at: str | None = None
    operation_status: str | None = None
    result_blob: str | None = None
    poll_error: str | None = None
    error: ErrorInfo | None = None
    prepare_attempts: int = 0
    prepare_after: str | None = None
    busy: bool = False  # an activity for it is in flight (not carried: nothing is in flight then)

    @classmethod
    def of(cls, document: BatchDocument) -> _Doc:
        return cls(**{name: getattr(document, name) for name in _DOCUMENT_FIELDS})

    def document(self) -> BatchDocument:
        return BatchDocument(**{name: getattr(self, name) for name in _DOCUMENT_FIELDS})

    @property
    def key(self) -> str:
        return str(self.index)

    def fail(self, error: ErrorInfo) -> None:
        self.status, self.error = "failed", error


@dataclass
class _InFlight:
    kind: Literal["prepare", "begin", "poll", "timer"]
    task: DurableTask
    pending: Pending[Any] | None = None
    docs: tuple[_Doc, ...] = ()
    fire_at: datetime | None = None
    timer: DurableTimer | None = None
    sent_at: datetime | None = None  # when the activity was scheduled


class _Batch:
    def __init__(
        self,
        context: OrchestrationContext,
        request: BatchRequest,
        *,
        job_status: dict[str, Any] | None = None,
        cancel: CancelSignal | None = None,
    ) -> None:
        self.context = context
        self.request = request
        self.job_status = job_status  # run inline in the job: its status fields, and no continue-as-new
        # Before the first yield: its event is first yielded with the first work and the timer.
        self.cancel = cancel if cancel is not None else CancelSignal(context)
        self.canceled = False  # the cancel came (event or a refused step): nothing new starts
        self.docs = [_Doc.of(document) for document in request.documents]
        self.in_flight: list[_InFlight] = []
        self.timer: _InFlight | None = None  # the one live timer (neither fired nor cancelled)
        self.rounds = 0  # poll rounds in this execution
        self.begin_after: datetime | None = None  # the pacer put the begins off until then
        self.extra_pages = request.extra_pages  # pages the pacer has yet to be told about

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> Generator[Any, Any, dict[str, Any] | None]:
        while True:
            self._schedule()
            self._report()
            if self._should_continue_as_new():
                self._continue_as_new()
                return None
            if not any(flight.kind != "timer" for flight in self.in_flight) and not self._waiting():
                break
            tasks = [flight.task for flight in self.in_flight]
            if not self.canceled:
                # New only in an execution's first yield, which always carries the timer (docstring).
                tasks.append(self.cancel.task)
            finished = yield self.context.task_any(tasks)
            if self.cancel.requested and not self.canceled:
                self._stop_for_cancel()
            flight = next((f for f in self.in_flight if f.task is finished), None)
            if flight is not None:
                self.in_flight.remove(flight)
                self._settle(flight)
        self._cancel_timer()  # an open timer would keep the instance running until it fires
        if self.canceled:
            self._mark_canceled()
        if self.request.prepare_only:
            return to_wire(
                BatchResult(
                    self.request.batch, self._counts(), documents=self._documents(), canceled=self.canceled
                )
            )
        if self.job_status is not None:  # inline: the job saves the record with its results
            return to_wire(BatchResult(self.request.batch, self._counts(), canceled=self.canceled))
        inputs, operations = self.record()
        saved = yield from wait(
            self.context,
            call_activity(
                self.context,
                steps.SAVE_BATCH,
                SaveBatchRequest(
                    job_id=self.request.job_id, batch=self.request.batch, inputs=inputs, operations=operations
                ),
            ),
        )
        raise_if_host_gave_up(saved)  # without its record the job cannot report this batch
        record = saved.value.record_blob if isinstance(saved, Succeeded) else None
        log_inputs_failed(logger, self.request.job_id, self.failures())  # after the last yield: once
        return to_wire(
            BatchResult(self.request.batch, self._counts(), record_blob=record, canceled=self.canceled)
        )

    def record(self) -> tuple[list[dict[str, Any]], list[OperationRecord]]:
        """The batch's record: each document's fate (its summary line) and its operation entry."""
        return [dict(_fate(doc)) for doc in self.docs], [_operation(doc) for doc in self.docs]

    def failures(self) -> list[tuple[int, str]]:
        """The failed inputs: (index, error code), for telemetry."""
        return [
            (doc.index, doc.error["code"] if doc.error else "Unknown")
            for doc in self.docs
            if doc.status == "failed"
        ]

    def _stop_for_cancel(self) -> None:
        """The cancel came: nothing new starts, the timer goes; what is in flight drains."""
        self.canceled = True
        self.begin_after = None
        self._cancel_timer()

    def _mark_canceled(self) -> None:
        """How a canceled batch ends: what had not succeeded is skipped; running operations Canceled."""
        for doc in self.docs:
            if doc.status == "succeeded":
                continue
            if doc.operation_id is not None and doc.operation_status is None:
                doc.operation_status = "Canceled"  # left to end at CU, unmonitored
            doc.status, doc.error = "skipped", canceled_error("The job")
            doc.next_poll_at = doc.poll_error = None

    def _schedule(self) -> None:
        """Start what can start now, with the batch's timer set for what is due later."""
        if self.canceled:
            return
        now = self.context.current_utc_datetime
        new: list[tuple[Literal["prepare", "begin", "poll"], Pending[Any], list[_Doc]]] = []
        to_prepare = [
            doc
            for doc in self.docs
            if doc.status == "pending"
            and not doc.busy
            and (doc.prepare_after is None or _at(doc.prepare_after) <= now)
        ]
        for chunk in _chunks(to_prepare, DOCUMENTS_PER_PREPARE):
            new.append(("prepare", self._prepare_call(chunk), chunk))
        ready = [doc for doc in self.docs if doc.status == "prepared" and not doc.busy]
        if ready and not self.request.prepare_only and (self.begin_after is None or self.begin_after <= now):
            self.begin_after = None
            new.append(("begin", self._begin_call(ready), ready))
        polling = any(flight.kind == "poll" for flight in self.in_flight)
        soon = now + seconds(POLL_COALESCE_SECONDS)
        due = [doc for doc in self.docs if self._waiting_to_poll(doc) and _at(doc.next_poll_at) <= soon]
        if due and not polling:
            new.append(("poll", self._poll_call(due), due))
        # A poll in flight (or starting now) wakes the batch when it answers, and the next round
        # then takes whatever is due: no timer for polls meanwhile (each would be an idle episode).
        polling = polling or any(kind == "poll" for kind, _, _ in new)
        wake = self._next_wake(now, {id(doc) for _, _, docs in new for doc in docs}, polls=not polling)
        if new:
            self._cancel_timer()
            self._set_timer(wake or now + seconds(IDLE_TIMER_SECONDS))
            for kind, pending, docs in new:
                self._launch(kind, pending, docs)
        elif wake is not None and (
            self.timer is None or _fires(self.timer) > wake + seconds(TIMER_SLACK_SECONDS)
        ):
            self._cancel_timer()
            self._set_timer(wake)

    def _next_wake(self, now: datetime, starting: set[int], *, polls: bool = True) -> datetime | None:
        """When the batch must wake next: the next poll due (unless ``polls`` is False), the next
        preparation to try again, or the end of the pacer's delay."""
        wakes = [
            _at(doc.next_poll_at)
            for doc in self.docs
            if polls and self._waiting_to_poll(doc) and id(doc) not in starting
        ]
        wakes += [
            _at(doc.prepare_after)
            for doc in self.docs
            if self._waiting_to_prepare(doc) and id(doc) not in starting
        ]
        waiting_to_begin = any(
            doc.status == "prepared" and not doc.busy and id(doc) not in starting for doc in self.docs
        )
        if waiting_to_begin and self.begin_after is not None and not self.request.prepare_only:
            wakes.append(self.begin_after)
        later = [wake for wake in wakes if wake > now]
        return min(later) if later else None

    def _waiting(self) -> bool:
        """Whether any document still waits for a poll or a begin (none does after a cancel)."""
        return not self.canceled and any(
            self._waiting_to_poll(doc)
            or self._waiting_to_prepare(doc)
            or (doc.status == "prepared" and not self.request.prepare_only)
            for doc in self.docs
        )

    def _waiting_to_prepare(self, doc: _Doc) -> bool:
        return doc.status == "pending" and not doc.busy and doc.prepare_after is not None

    def _waiting_to_poll(self, doc: _Doc) -> bool:
        return doc.status == "analyzing" and not doc.busy and doc.next_poll_at is not None

    def _set_timer(self, fire_at: datetime) -> None:
        timer = self.context.create_timer(fire_at)
        self.timer = _InFlight("timer", timer, fire_at=fire_at, timer=timer)
        self.in_flight.append(self.timer)

    def _cancel_timer(self) -> None:
        timer, self.timer = self.timer, None
        if timer is not None and timer.timer is not None and not timer.timer.is_completed:
            timer.timer.cancel()
            self.in_flight.remove(timer)

    # -- starting work --------------------------------------------------------------------------

    def _prepare_call(self, docs: list[_Doc]) -> Pending[PrepareInputsResult]:
        items = []
        for doc in docs:
            assert doc.source is not None, f"document {doc.index} is pending without a source"
            items.append(PrepareItem(index=doc.index, source=doc.source))
        request = self.request
        analyze = None
        if not request.prepare_only:
            analyze = AnalysisTarget(
                analyzer_id=request.analyzer_id,
                api_version=request.api_version,
                model_deployments=request.model_deployments,
            )
        return call_activity(
            self.context,
            steps.PREPARE_INPUTS,
            PrepareInputsRequest(job_id=request.job_id, items=items, analyze=analyze),
        )

    def _begin_call(self, docs: list[_Doc]) -> Pending[BeginAnalysesResult]:
        request = self.request
        return call_activity(
            self.context,
            steps.BEGIN_ANALYSES,
            BeginAnalysesRequest(
                job_id=request.job_id,
                analyzer_id=request.analyzer_id,
                api_version=request.api_version,
                items=[AnalysisItem(key=doc.key, grant=str(doc.grant), name=doc.name) for doc in docs],
                model_deployments=request.model_deployments,
                extra_pages=self._take_extra_pages(),
            ),
        )

    def _poll_call(self, docs: list[_Doc]) -> Pending[PollOperationsResult]:
        # No retry policy: the next round is the retry, after the backoff (and the deadline check).
        self.rounds += 1
        return call_activity(
            self.context,
            steps.POLL_OPERATIONS,
            PollOperationsRequest(
                job_id=self.request.job_id,
                items=[PollItem(key=doc.key, operation_location=str(doc.operation_location)) for doc in docs],
                extra_pages=self._take_extra_pages(),
            ),
            retry=False,
        )

    def _launch(
        self, kind: Literal["prepare", "begin", "poll"], pending: Pending[Any], docs: list[_Doc]
    ) -> None:
        for doc in docs:
            doc.busy = True
        sent_at = self.context.current_utc_datetime
        self.in_flight.append(_InFlight(kind, pending.task, pending, tuple(docs), sent_at=sent_at))

    def _take_extra_pages(self) -> int:
        extra, self.extra_pages = self.extra_pages, 0
        return extra

    # -- what came back -------------------------------------------------------------------------

    def _settle(self, flight: _InFlight) -> None:
        for doc in flight.docs:
            doc.busy = False
        if flight.kind == "timer" or flight.pending is None:
            if flight is self.timer:
                self.timer = None
            return
        outcome = flight.pending.outcome()
        if is_canceled(outcome) and not self.canceled:
            self._stop_for_cancel()  # a step refused: the job was canceled (the event may come later)
        if flight.kind == "prepare":
            self._prepared(flight.docs, outcome)
        elif flight.kind == "begin":
            self._begun(flight.docs, outcome)
        else:
            self._polled(flight.docs, outcome, flight.sent_at or self.context.current_utc_datetime)

    def _prepared(self, docs: tuple[_Doc, ...], outcome: Outcome[PrepareInputsResult]) -> None:
        if isinstance(outcome, Failed):
            for doc in docs:
                doc.fail(outcome.error)
            return
        by_index = {doc.index: doc for doc in docs}
        for item in outcome.value.items:
            self._prepared_one(by_index.pop(item.index), item)
        for doc in by_index.values():  # not answered (a bug): it cannot be left pending forever
            doc.fail(
                {"code": "InvalidResult", "message": "prepare_inputs did not answer", "transient": False}
            )

    def _prepared_one(self, doc: _Doc, item: PreparedInput) -> None:
        if item.error is not None:
            if item.error["code"] == CANCELED_CODE and not self.canceled:
                self._stop_for_cancel()  # the job was canceled before this analysis could start
            self._prepare_failed(doc, item.error)
            return
        assert item.input is not None
        assert item.grant is not None
        stored = item.input
        doc.status, doc.stored, doc.grant, doc.name = "prepared", stored, item.grant.name, stored.name
        doc.source = doc.prepare_after = None  # history need not carry them any further
        if item.started is not None:
            self._start_polling(doc, item.started)
        elif item.begin_error is not None:
            doc.fail(item.begin_error)
        elif item.retry_at is not None:
            self._begin_later(item.retry_at)

    def _prepare_failed(self, doc: _Doc, error: ErrorInfo) -> None:
        """For good, or (a transient error, tries left) prepared again after a wait."""
        doc.prepare_attempts += 1
        if not error["transient"] or doc.prepare_attempts >= PREPARE_ATTEMPTS or self.canceled:
            doc.prepare_after = None
            doc.fail(error)
            return
        doc.prepare_after = to_iso(self.context.current_utc_datetime + seconds(PREPARE_RETRY_SECONDS))

    def _begun(self, docs: tuple[_Doc, ...], outcome: Outcome[BeginAnalysesResult]) -> None:
        if isinstance(outcome, Failed):
            for doc in docs:
                doc.fail(outcome.error)
            return
        result = outcome.value
        by_key = {doc.key: doc for doc in docs}
        for started in result.started:
            self._start_polling(by_key[started.key], started)
        for failure in result.failed:
            by_key[failure.key].fail(failure.error)
        if result.deferred and result.retry_at is not None:
            self._begin_later(result.retry_at)

    def _begin_later(self, retry_at: str) -> None:
        at = from_iso(retry_at)
        self.begin_after = at if self.begin_after is None else max(self.begin_after, at)

    def _start_polling(self, doc: _Doc, started: StartedAnalysis) -> None:
        now = self.context.current_utc_datetime
        policy = self.request.polling
        doc.status = "analyzing"
        doc.operation_id, doc.operation_location = started.operation_id, started.operation_location
        doc.attempts = started.attempts
        doc.deadline_at = to_iso(now + seconds(policy["deadlineSeconds"]))
        # The first poll waits for CU's Retry-After (or the first interval): an operation that has
        # only just started is not done yet, and every poll counts against CU's quota.
        first = next_poll_interval(policy, 0, started.retry_after_seconds)
        doc.next_poll_at = to_iso(now + seconds(first))

    def _polled(
        self, docs: tuple[_Doc, ...], outcome: Outcome[PollOperationsResult], sent_at: datetime
    ) -> None:
        now = self.context.current_utc_datetime
        if is_canceled(outcome):
            return  # refused after a cancel: the operations are left to end at CU
        if isinstance(outcome, Failed):
            if not outcome.host_gave_up:  # a permanent error reading the operations
                for doc in docs:
                    self._end(doc, "Failed", outcome.error)
                return
            # CU or storage is unavailable: the operations go on at CU; poll again after the backoff.
            for doc in docs:
                doc.polls += 1
                self._poll_again(doc, now, sent_at, None, outcome.error["message"])
            return
        result = outcome.value
        by_key = {doc.key: doc for doc in docs}
        for polled in result.polled:
            self._record_poll(by_key.pop(polled.key), polled, now, sent_at)
        retry_at = result.retry_at or to_iso(now)
        for doc in by_key.values():  # deferred by the pacer (or not answered): poll them then
            doc.next_poll_at = max(retry_at, doc.next_poll_at or retry_at)

    def _record_poll(self, doc: _Doc, polled: PolledOperation, now: datetime, sent_at: datetime) -> None:
        doc.polls += 1
        if polled.pages is not None:
            self.extra_pages += max(polled.pages - 1, 0)  # the pacer charged one page per document
        if polled.poll_error is None and polled.status in TERMINAL:
            doc.result_blob = polled.result_blob
            self._end(doc, polled.status, polled.error)
            return
        self._poll_again(doc, now, sent_at, polled.retry_after_seconds, polled.poll_error, polled.status)

    def _poll_again(
        self,
        doc: _Doc,
        now: datetime,
        sent_at: datetime,
        retry_after: float | None,
        poll_error: str | None,
        status: str = "Unknown",
    ) -> None:
        """Poll again after the wait; a poll sent after the deadline that still found no end ends it."""
        doc.poll_error = poll_error
        deadline = _at(doc.deadline_at)
        if sent_at >= deadline:
            self._end(doc, "TimedOut", _deadline_error(self.request, status, poll_error))
            return
        wait_seconds = next_poll_interval(self.request.polling, max(doc.polls, 1), retry_after)
        doc.next_poll_at = to_iso(max(min(now + seconds(wait_seconds), deadline), now))

    def _end(self, doc: _Doc, operation_status: str, error: ErrorInfo | None) -> None:
        doc.operation_status, doc.next_poll_at, doc.poll_error = operation_status, None, None
        if operation_status == "Succeeded":
            doc.status, doc.error = "succeeded", None
        else:
            doc.fail(error or _operation_error(operation_status))

    # -- status, continue-as-new, results -------------------------------------------------------

    def _counts(self) -> BatchCounts:
        statuses = [doc.status for doc in self.docs]
        ingested = sum(1 for status in statuses if status in ("prepared", "analyzing", "succeeded"))
        return BatchCounts(
            total=len(statuses),
            ingested=ingested,
            failed=statuses.count("failed"),
            done=statuses.count("succeeded"),
            polls=sum(doc.polls for doc in self.docs),
            started=sum(1 for doc in self.docs if doc.operation_id is not None),
        )

    def _report(self) -> None:
        """The batch's custom status: counts, the next poll and the last poll error (bounded size)."""
        counts = self._counts()
        status: dict[str, Any] = {
            "stage": "preparing" if self.request.prepare_only else "analyzing",
            "total": counts.total,
            "ingested": counts.ingested,
            "failed": counts.failed,
            "analyzing": sum(1 for doc in self.docs if doc.status == "analyzing"),
            "done": counts.done,
            "polls": counts.polls,
        }
        next_polls = [doc.next_poll_at for doc in self.docs if doc.status == "analyzing" and doc.next_poll_at]
        if next_polls:
            status["nextPollAt"] = min(next_polls)
        errors = [doc.poll_error for doc in self.docs if doc.poll_error]
        if errors:
            status["pollError"] = errors[0][:500]
        self.context.set_custom_status({**(self.job_status or {}), **status})

    def _should_continue_as_new(self) -> bool:
        if self.rounds < ROUNDS_PER_EXECUTION or self.job_status is not None or self.canceled:
            return False
        # Only while nothing but timers is in flight: activities' answers would be lost.
        return all(flight.kind == "timer" for flight in self.in_flight) and any(
            doc.status == "analyzing" for doc in self.docs
        )

    def _continue_as_new(self) -> None:
        # An open timer keeps nothing: the next execution sets its own from the documents' times.
        carried = dataclasses.replace(
            self.request,
            documents=self._documents(),
            rounds=self.request.rounds + self.rounds,
            extra_pages=self.extra_pages,
        )
        self.context.continue_as_new(to_wire(carried))

    def _documents(self) -> list[BatchDocument]:
        return [doc.document() for doc in self.docs]


def _chunks(docs: list[_Doc], most: int) -> list[list[_Doc]]:
    """``docs`` in as few calls of at most ``most`` as possible, of even sizes (23 -> 8, 8, 7)."""
    if not docs:
        return []
    size = -(-len(docs) // -(-len(docs) // most))  # ceil(len / number of calls)
    return [docs[start : start + size] for start in range(0, len(docs), size)]


def _at(moment: str | None) -> datetime:
    assert moment is not None
    return from_iso(moment)


def _fate(doc: _Doc) -> InputFate:
    """The document's line in the job's summary."""
    fate: InputFate = {"index": doc.index, "name": doc.name, "status": _public_status(doc)}
    if doc.stored is not None:
        fate["blob"] = doc.stored.blob
        fate["size"] = doc.stored.size
        fate["contentType"] = doc.stored.content_type
        fate["sha256"] = doc.stored.sha256
    if doc.operation_id is not None:
        fate["operationId"] = doc.operation_id
        if doc.attempts > 1:
            fate["analysisAttempts"] = doc.attempts
    if doc.error is not None:
        fate["error"] = doc.error
    return fate


def _public_status(
    doc: _Doc,
) -> Literal["pending", "ingested", "analyzing", "succeeded", "failed", "skipped"]:
    if doc.status == "prepared":
        return "ingested"
    return doc.status


def _operation(doc: _Doc) -> OperationRecord:
    """The document's entry in the result index: its operation as it ended, ``Failed`` with why if
    it never started, ``Skipped`` if the job stopped before analysing it."""
    if doc.status == "skipped" and doc.operation_id is None:
        status = "Skipped"
    else:
        status = doc.operation_status or ("Succeeded" if doc.status == "succeeded" else "Failed")
    return OperationRecord(
        key=doc.key,
        inputs=[doc.name],
        operation_id=doc.operation_id,
        status=status,
        result_blob=doc.result_blob,
        error=None if status == "Succeeded" else doc.error,
    )


def _operation_error(status: str) -> ErrorInfo:
    return {
        "code": f"Operation{status}",
        "message": f"The analysis operation ended {status}",
        "transient": False,
    }


def _deadline_error(request: BatchRequest, status: str, poll_error: str | None) -> ErrorInfo:
    waited = f"{request.polling['deadlineSeconds']:g} s (ANALYSIS_DEADLINE_SECONDS)"
    if poll_error is not None:
        message = (
            f"The analysis operation could not be polled until the deadline of {waited}; "
            f"the last poll failed: {poll_error}"
        )
    else:
        message = f"The analysis operation was still {status} after {waited}; it was abandoned."
    return {"code": "DeadlineExceeded", "message": message, "transient": False}


def placeholder_name(source: dict[str, str], index: int) -> str:
    """A document's display name before it is ingested (``input-<n>`` when it has none usable)."""
    try:
        return display_name(source)
    except InputError:  # ingest reports why
        return f"input-{index}"


def _fires(timer: _InFlight) -> datetime:
    assert timer.fire_at is not None
    return timer.fire_at
