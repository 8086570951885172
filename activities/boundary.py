"""The activity boundary: the one place where a payload from history becomes a typed request.

``activity_boundary(contract, work)`` wraps a plain typed function ``work(request) -> result``
into what the decorated activity runs: parse the payload into ``contract.request`` (a malformed
payload is a permanent ``InvalidActivityInput`` error), call ``work``, turn the result back into
JSON, and apply the error policy of ``activities.envelope`` (transient failures raise so that the
host retries, permanent ones return as data). Each run is one telemetry span carrying the job's ids
(``telemetry.activity``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from activities.envelope import Envelope, envelope
from core.contracts.named import ActivityContract
from core.contracts.wire import ContractError, from_wire, to_wire
from core.errors import InputError
from telemetry.activity import activity_span

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")


class InvalidActivityInput(InputError):
    """An activity's payload does not match its contract: a bug upstream, never worth a retry."""

    code = "InvalidActivityInput"

    def __init__(self, problem: str) -> None:
        super().__init__(f"Activity input is malformed: {problem}")


def activity_boundary(
    contract: ActivityContract[RequestT, ResultT], work: Callable[[RequestT], Awaitable[ResultT]]
) -> Callable[[Any], Awaitable[Envelope]]:
    """``work`` as an activity body: JSON payload in, result envelope out."""

    async def run(payload: Any) -> Envelope:
        async def typed() -> dict[str, Any]:
            try:
                request = from_wire(contract.request, payload)
            except ContractError as problem:
                raise InvalidActivityInput(str(problem)) from None
            return to_wire(await work(request))

        with activity_span(contract.name, payload) as span:  # telemetry: span + job context
            answer = await envelope(typed())
            span.finished(answer)
        if not answer["ok"] and isinstance(payload, Mapping):
            answer.update({key: payload[key] for key in contract.echoed_on_failure if key in payload})
        return answer

    return run
