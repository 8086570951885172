"""A durable function's name together with the types of its request and its result.

Decorators register a function under ``contract.name``; orchestrators call it through the same
object, so the name, what goes in and what comes out are declared once (the names themselves
stay in ``core.function_names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class ActivityContract(Generic[RequestT, ResultT]):
    """An activity: it returns ``{"ok": true, **result}`` or ``{"ok": false, "error": ...}``."""

    name: str
    request: type[RequestT]
    result: type[ResultT]
    # Request fields a failure envelope repeats, so that history shows which item failed.
    echoed_on_failure: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrchestratorContract(Generic[RequestT, ResultT]):
    """A sub-orchestration: its output is the result (or a failure envelope, ``"ok": false``)."""

    name: str
    request: type[RequestT]
    result: type[ResultT]
