"""The activity boundary: the one place where a payload from history becomes a typed request.

``activity_boundary(contract, work)`` wraps a plain typed function ``work(request) -> result``
into what the decorated activity runs: parse the payload into ``contract.request`` (a malformed
payload is a permanent ``InvalidActivityInput`` error), call ``work``, turn the result back into
JSON, and apply the error policy of ``activities.envelope`` (transient failures raise so that the
host retries, permanent ones return as data).

``refuses_after_cancel=True`` marks a step that starts billed or lasting work (a CU operation, a
grant blob, an ingested copy): it first checks its job's cancel marker and, once a cancel was
requested, refuses with ``JobCanceled`` without doing anything. In Azure a terminated or
canceled job's queued activities still run, so this check is what stops them
(``core/cancellation.py``).

Each run is one telemetry span carrying the job's ids (``telemetry.activity``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from activities.envelope import Envelope, envelope
from core.cancellation import JobCanceledError
from core.contracts.named import ActivityContract
from core.contracts.wire import ContractError, from_wire, to_wire
from core.errors import InputError
from storage.cancellation import cancel_requested
from telemetry.activity import activity_span

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")


class InvalidActivityInput(InputError):
    """An activity's payload does not match its contract: a bug upstream, never worth a retry."""

    code = "InvalidActivityInput"

    def __init__(self, problem: str) -> None:
        super().__init__(f"Activity input is malformed: {problem}")


def activity_boundary(
    contract: ActivityContract[RequestT, ResultT],
    work: Callable[[RequestT], Awaitable[ResultT]],
    *,
    refuses_after_cancel: bool = False,
) -> Callable[[Any], Awaitable[Envelope]]:
    """``work`` as an activity body: JSON payload in, result envelope out."""

    async def run(payload: Any) -> Envelope:
        async def typed() -> dict[str, Any]:
            try:
                request = from_wire(contract.request, payload)
            except ContractError as problem:
                raise InvalidActivityInput(str(problem)) from None
            job_id = getattr(request, "job_id", None)
            if refuses_after_cancel and isinstance(job_id, str) and await cancel_requested(job_id):
                raise JobCanceledError(f"Job {job_id} was canceled: {contract.name} did not start")
            return to_wire(await work(request))

        with activity_span(contract.name, payload) as span:  # telemetry: span + job context
            answer = await envelope(typed())
            span.finished(answer)
        if not answer["ok"] and isinstance(payload, Mapping):
            answer.update({key: payload[key] for key in contract.echoed_on_failure if key in payload})
        return answer

    return run
